//! The pickers: a company for a customer (search, or an Autotask ID typed by hand), and
//! a customer for a company.

use super::*;

/// Search Autotask companies (or type an ID) and stage a link for the chosen customer.
#[component]
pub(super) fn CompanyPicker() -> impl IntoView {
    let ctx = expect_context::<MapCtx>();
    let open = RwSignal::new(false);
    sync_open(open, ctx.pick_company);
    let search = RwSignal::new(String::new());
    let typed = RwSignal::new(String::new());
    let typed_error = RwSignal::new(None::<String>);
    let checking = RwSignal::new(false);
    let results = Resource::new(
        move || (open.get(), search.get()),
        |(open, q)| async move {
            if !open {
                return Ok(None);
            }
            map_companies(MapQuery { search: q, companies: CompanyFilter::All, page: 1, per_page: 20, ..MapQuery::default() }).await.map(Some)
        },
    );
    let choose = move |company_id: i64, company_name: String| {
        if let Some((customer_id, customer_name)) = ctx.pick_company.get_untracked() {
            ctx.stage(
                MapChange::Link { customer_id, company_id },
                format!("Link \u{201c}{customer_name}\u{201d} to \u{201c}{company_name}\u{201d} ({company_id})"),
            );
        }
        open.set(false);
    };
    let title = Signal::derive(move || {
        ctx.pick_company.get().map(|(_, n)| format!("Match \u{201c}{n}\u{201d} with an Autotask company")).unwrap_or_default()
    });
    view! {
        <Modal open title>
            <div class="field">
                <label for="pick-company-search">"Search Autotask companies"</label>
                <input id="pick-company-search" type="search" autocomplete="off" prop:value=search on:input=move |ev| search.set(event_target_value(&ev)) />
            </div>
            <Transition fallback=|| view! { <Loading what="companies" /> }>
                {move || Suspend::new(async move {
                    match results.await {
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                        Ok(None) => ().into_any(),
                        Ok(Some(page)) if page.rows.is_empty() => view! { <p class="muted">"No company matches. Type its Autotask ID below."</p> }.into_any(),
                        Ok(Some(page)) => view! {
                            <ul class="pick-list">
                                {page.rows.into_iter().map(|k| {
                                    let (id, name) = (k.company_id, k.name.clone());
                                    let taken = if k.customers.is_empty() { String::new() } else { format!(" \u{00b7} matched to {}", k.customers.iter().map(|c| c.name.clone()).collect::<Vec<_>>().join(", ")) };
                                    view! { <li><button type="button" class="pick" on:click=move |_| choose(id, name.clone())>
                                        <span>{k.name.clone()}</span><span class="mono muted">{format!(" ({id}) \u{00b7} {}{taken}", k.type_label)}</span>
                                    </button></li> }
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                    }
                })}
            </Transition>
            <form class="form-inline" on:submit=move |ev: leptos::ev::SubmitEvent| {
                ev.prevent_default();
                match typed.get_untracked().trim().parse::<i64>() {
                    Ok(id) if id > 0 => {
                        // Checked now, not at Save: the company's name goes into the change.
                        typed_error.set(None);
                        checking.set(true);
                        leptos::task::spawn_local(async move {
                            let found = find_company(id).await;
                            checking.set(false);
                            match found {
                                Ok(c) => {
                                    typed.set(String::new());
                                    let state = if c.is_active { String::new() } else { ", inactive".to_string() };
                                    choose(c.company_id, format!("{} \u{2014} {}{state}", c.name, c.type_label));
                                }
                                Err(AppError::NotFound) => typed_error.set(Some(format!("Autotask has no company with ID {id}. Check the number in Autotask."))),
                                Err(e) => typed_error.set(Some(e.to_string())),
                            }
                        });
                    }
                    _ => typed_error.set(Some("Type the company's Autotask ID (a number, e.g. 29683512).".into())),
                }
            }>
                <div class="field">
                    <label for="pick-company-id">"Or type an Autotask company ID"</label>
                    <input id="pick-company-id" type="text" inputmode="numeric" prop:value=typed on:input=move |ev| typed.set(event_target_value(&ev)) aria-invalid=move || typed_error.get().is_some().to_string() aria-describedby="pick-company-id-error" />
                    <p id="pick-company-id-error" class="field-error">{move || typed_error.get()}</p>
                </div>
                <button type="submit" class="btn" disabled=move || checking.get()>{move || if checking.get() { "Checking\u{2026}" } else { "Use this ID" }}</button>
            </form>
        </Modal>
    }
}

/// Search Taskbridge customers and stage a link to the chosen company.
#[component]
pub(super) fn CustomerPicker() -> impl IntoView {
    let ctx = expect_context::<MapCtx>();
    let open = RwSignal::new(false);
    sync_open(open, ctx.pick_customer);
    let search = RwSignal::new(String::new());
    let results = Resource::new(
        move || (open.get(), search.get()),
        |(open, q)| async move {
            if !open {
                return Ok(None);
            }
            map_customers(MapQuery { search: q, customers: CustomerFilter::All, page: 1, per_page: 20, ..MapQuery::default() }).await.map(Some)
        },
    );
    let title = Signal::derive(move || {
        ctx.pick_customer.get().map(|(_, n)| format!("Match Autotask company \u{201c}{n}\u{201d} with a customer")).unwrap_or_default()
    });
    view! {
        <Modal open title>
            <div class="field">
                <label for="pick-customer-search">"Search Taskbridge customers"</label>
                <input id="pick-customer-search" type="search" autocomplete="off" prop:value=search on:input=move |ev| search.set(event_target_value(&ev)) />
            </div>
            <Transition fallback=|| view! { <Loading what="customers" /> }>
                {move || Suspend::new(async move {
                    match results.await {
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                        Ok(None) => ().into_any(),
                        Ok(Some(page)) if page.rows.is_empty() => view! { <p class="muted">"No customer matches."</p> }.into_any(),
                        Ok(Some(page)) => view! {
                            <ul class="pick-list">
                                {page.rows.into_iter().map(|c| {
                                    let (cid, cname) = (c.customer_id, c.name.clone());
                                    let taken = if c.companies.is_empty() { String::new() } else { format!(" \u{00b7} matched to {}", c.companies.iter().map(|k| k.name.clone()).collect::<Vec<_>>().join(", ")) };
                                    view! { <li><button type="button" class="pick" on:click=move |_| {
                                        if let Some((company_id, company_name)) = ctx.pick_customer.get_untracked() {
                                            ctx.stage(MapChange::Link { customer_id: cid, company_id }, format!("Link \u{201c}{cname}\u{201d} to \u{201c}{company_name}\u{201d} ({company_id})"));
                                        }
                                        open.set(false);
                                    }><span>{c.name.clone()}</span><span class="mono muted">{format!(" #{cid}")}</span><span class="muted">{taken}</span></button></li> }
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                    }
                })}
            </Transition>
        </Modal>
    }
}
