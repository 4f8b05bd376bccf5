//! The clients table: each followed company with its customer, synced details, contracts
//! and sync state. Reasons and changes are written out in the row, not only on hover.

use super::*;
use crate::api::sync::retry_client_sync;
use crate::components::badge::{Badge, Tone};
use crate::components::pager::Pager;
use crate::components::time::Time;
use crate::format::money_change;
use crate::types::sync::{ClientContract, ClientPage, ClientRow};

fn state_badge(row: &ClientRow) -> AnyView {
    let tone = match row.state {
        ClientState::Synced => Tone::Good,
        ClientState::Failed => Tone::Bad,
        ClientState::Skipped => Tone::Warn,
        ClientState::NotQualifying => Tone::Muted,
    };
    view! { <Badge label=row.state.label() tone /> }.into_any()
}

/// `1,234.50 USD`: an amount with its currency, unsigned.
fn amount(c: &ClientContract) -> String {
    money_change(c.overall_cost, &c.currency).trim_start_matches('+').to_string()
}

fn contracts_cell(contracts: &[ClientContract]) -> AnyView {
    if contracts.is_empty() {
        return view! { <span class="muted">"None"</span> }.into_any();
    }
    view! {
        <ul class="plain-list">
            {contracts.iter().map(|c| {
                // A contract's first sync is said once, on its company's row.
                let changes = c.changes.clone().filter(|t| !t.starts_with("New"));
                view! {
                    <li data-contract-id=c.contract_id.to_string()>
                        <span>{c.name.clone()}</span>
                        {(!c.active).then(|| view! { " " <Badge label="Inactive" tone=Tone::Muted /> })}
                        <br />
                        <span class="muted small">{format!("{} \u{00b7} {}", c.vendor, amount(c))}</span>
                        {changes.map(|t| view! { <br /><span class="small">{t}</span> })}
                    </li>
                }
            }).collect_view()}
        </ul>
    }
    .into_any()
}

#[component]
pub(super) fn ClientTable(page: ClientPage, is_admin: bool, reload: RwSignal<u32>, set_page: Callback<u32>) -> impl IntoView {
    let total = page.total;
    let shown = page.rows.len();
    let (current, per_page) = (i64::from(page.page), i64::from(page.per_page));
    let retrying = RwSignal::new(None::<i64>);
    let retry_error = RwSignal::new(None::<(i64, AppError)>);
    let retry = move |company_id: i64| {
        retrying.set(Some(company_id));
        retry_error.set(None);
        leptos::task::spawn_local(async move {
            match retry_client_sync(company_id).await {
                Ok(_) => reload.update(|n| *n += 1),
                Err(e) => retry_error.set(Some((company_id, e))),
            }
            retrying.set(None);
        });
    };
    view! {
        <div class="table-wrap table-sticky">
            <table class="table clients-table" aria-label="Synced clients">
                <colgroup>
                    <col class="w-company" /><col class="w-customer" /><col class="w-address" /><col class="w-phone" /><col class="w-contracts" /><col class="w-sync" />
                </colgroup>
                <thead><tr>
                    <th scope="col">"Company"</th>
                    <th scope="col">"Customer"</th>
                    <th scope="col">"Address"</th>
                    <th scope="col">"Phone and email"</th>
                    <th scope="col">"Contracts"</th>
                    <th scope="col">"Sync"</th>
                </tr></thead>
                <tbody>
                    {page.rows.into_iter().map(|row| {
                        let id = row.company_id;
                        let badge = state_badge(&row);
                        let can_retry = is_admin && matches!(row.state, ClientState::Failed | ClientState::Skipped);
                        let note = row.reason.clone().or_else(|| row.changes.clone());
                        view! {
                            <tr data-company-id=id.to_string()>
                                <td>
                                    <span>{row.name.clone()}</span><br />
                                    <span class="muted small">{format!("Autotask ID {id}")}</span>
                                    {(!row.web_address.is_empty()).then(|| view! { <br /><span class="small">{row.web_address.clone()}</span> })}
                                </td>
                                <td>
                                    {match row.customer_id {
                                        Some(cid) => view! { <a href=format!("/map?view=companies&q={id}") title="Open on the Customer Map" aria-label=format!("Customer #{cid} on the Customer Map")>{format!("#{cid}")}</a> }.into_any(),
                                        None => view! { <span class="muted">"\u{2014}"</span> }.into_any(),
                                    }}
                                    {row.overwrites.clone().map(|text| view! { <br /><span class="small text-warn" data-testid="overwrites">{text}</span> })}
                                </td>
                                <td class="small">{if row.address.is_empty() { "\u{2014}".to_string() } else { row.address.clone() }}</td>
                                <td class="small">
                                    {row.phones.iter().map(|p| view! { <span class="nowrap">{p.clone()}</span><br /> }).collect_view()}
                                    {if row.email.is_empty() { view! { <span class="muted">"No email"</span> }.into_any() } else { view! { <span>{row.email.clone()}</span> }.into_any() }}
                                </td>
                                <td class="small" data-testid="contracts">{contracts_cell(&row.contracts)}</td>
                                <td data-testid="sync-state">
                                    {badge}
                                    <br /><span class="muted small">{row.trigger.label()} " \u{00b7} " <Time ms=Some(row.synced_at) /></span>
                                    {note.map(|t| view! { <br /><span class="small" data-testid="sync-note">{t}</span> })}
                                    {can_retry.then(|| view! {
                                        <br />
                                        <button type="button" class="btn btn-small" aria-label=format!("Retry {}", row.name) disabled=move || retrying.get().is_some() on:click=move |_| retry(id)>
                                            {move || if retrying.get() == Some(id) { "Retrying\u{2026}" } else { "Retry" }}
                                        </button>
                                    })}
                                    {move || retry_error.get().filter(|(c, _)| *c == id).map(|(_, error)| view! { <ErrorPanel error /> })}
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
        <Pager total page=current per_page shown on_page=Callback::new(move |p: i64| set_page.run(p.max(1) as u32)) />
    }
    .into_any()
}
