//! The contracts dialog: Get contracts for a customer, pick the billing contract (flagged
//! ones need a confirmation).

use super::*;

/// "Get contracts": the customer's Autotask contracts, flagged ones needing a confirmation.
#[component]
pub(super) fn ContractsDialog() -> impl IntoView {
    let ctx = expect_context::<MapCtx>();
    let open = RwSignal::new(false);
    sync_open(open, ctx.contracts_for);
    let list = Resource::new(
        move || ctx.contracts_for.get().map(|c| (c.0, c.2)),
        |target| async move {
            match target {
                Some((id, companies)) => get_contracts(id, Some(companies)).await.map(Some),
                None => Ok(None),
            }
        },
    );
    let chosen = RwSignal::new(None::<ContractOption>);
    let confirm = RwSignal::new(false);
    let title =
        Signal::derive(move || ctx.contracts_for.get().map(|(_, n, _)| format!("Billing contract for \u{201c}{n}\u{201d}")).unwrap_or_default());
    let blocking = move |c: &ContractOption| c.flags.iter().any(|f| f.code.blocks_billing());
    let apply = move |_| {
        let (Some((customer_id, customer_name, _)), Some(c)) = (ctx.contracts_for.get_untracked(), chosen.get_untracked()) else { return };
        let flagged = blocking(&c);
        ctx.stage(
            MapChange::SetContract { customer_id, contract_id: Some(c.contract_id), confirm_flags: flagged && confirm.get_untracked() },
            format!(
                "Bill \u{201c}{customer_name}\u{201d} through contract \u{201c}{}\u{201d} ({}){}",
                c.name,
                c.contract_id,
                if flagged { " \u{2014} flagged, confirmed" } else { "" }
            ),
        );
        chosen.set(None);
        confirm.set(false);
        open.set(false);
    };
    view! {
        <Modal open title>
            <Transition fallback=|| view! { <Loading what="contracts from Autotask" /> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                        Ok(None) => ().into_any(),
                        Ok(Some(options)) if options.is_empty() => view! { <p class="muted">"This customer's Autotask companies have no contracts. Create a Recurring Service contract in Autotask, then Get contracts again."</p> }.into_any(),
                        Ok(Some(options)) => view! {
                            <fieldset class="contract-list" data-testid="contracts">
                                <legend class="sr-only">"Contracts"</legend>
                                {options.into_iter().map(|c| {
                                    let id = c.contract_id;
                                    let option = c.clone();
                                    let flagged = blocking(&c);
                                    view! {
                                        <label class="contract" class:contract-flagged=flagged data-contract-id=id.to_string()>
                                            <input type="radio" name="contract" prop:checked=move || chosen.with(|x| x.as_ref().is_some_and(|x| x.contract_id == id)) on:change=move |_| { chosen.set(Some(option.clone())); confirm.set(false); } />
                                            <span class="contract-body">
                                                <strong>{c.name.clone()}</strong>" "<span class="mono muted">{format!("#{} \u{00b7} {}", c.contract_id, c.number)}</span>
                                                <span class="muted small">{format!("{} \u{00b7} {} to {} \u{00b7} {} service{}, {} bundle{}", c.type_label, c.start, c.end, c.services, if c.services == 1 { "" } else { "s" }, c.bundles, if c.bundles == 1 { "" } else { "s" })}</span>
                                                {(!c.flags.is_empty()).then(|| view! {
                                                    <ul class="contract-flags">{c.flags.iter().map(|f| view! { <li>{f.message.clone()}</li> }).collect_view()}</ul>
                                                })}
                                            </span>
                                        </label>
                                    }
                                }).collect_view()}
                            </fieldset>
                        }.into_any(),
                    }
                })}
            </Transition>
            {move || chosen.get().filter(|c| blocking(c)).map(|c| view! {
                <label class="check confirm-flagged"><input type="checkbox" prop:checked=confirm on:change=move |ev| confirm.set(event_target_checked(&ev)) />
                    {format!(" Use \u{201c}{}\u{201d} anyway, knowing it is flagged", c.name)}</label>
            })}
            <div class="modal-actions">
                <button type="button" class="btn" on:click=move |_| open.set(false)>"Cancel"</button>
                <button type="button" class="btn btn-primary" data-testid="choose-contract"
                    disabled=move || chosen.with(|c| c.as_ref().is_none_or(|c| blocking(c) && !confirm.get()))
                    on:click=apply>"Choose contract"</button>
            </div>
        </Modal>
    }
}
