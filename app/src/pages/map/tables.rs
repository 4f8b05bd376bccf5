//! The map's two tables: customers with their companies (or a suggestion to confirm),
//! and companies with their customers, each row with its staged changes.

use super::*;
use crate::components::customer::{CustomerId, CustomerLink};
use std::collections::HashMap;

fn stars(s: &Suggestion) -> &'static str {
    if s.exact() {
        "\u{2605}\u{2605}\u{2605}"
    } else if s.score >= 90 {
        "\u{2605}\u{2605}"
    } else {
        "\u{2605}"
    }
}

fn flag_badges(flags: &[Flag]) -> AnyView {
    flags
        .iter()
        .map(|f| {
            let tone = if f.code == FlagCode::Missing { Tone::Bad } else { Tone::Warn };
            let label = f.code.label();
            view! { " " <Badge label=label tone=tone reason=f.message.clone() /> }
        })
        .collect_view()
        .into_any()
}

fn pending_note(lines: Vec<String>) -> Option<AnyView> {
    (!lines.is_empty())
        .then(|| view! { <div class="pending-note" title=lines.join("\n")>{format!("Unsaved: {}", lines.join("; "))}</div> }.into_any())
}

#[component]
pub(super) fn CustomerTable(page: CustomerMapPage, set_page: Callback<u32>, query: MapQuery) -> impl IntoView {
    let ctx = expect_context::<MapCtx>();
    if page.total == 0 {
        return view! {
            <EmptyState title="No customers here">
                "Customers come from importing companies (" <a href="/companies">"Companies"</a> ") or from the backup platform's API. Change the match status filter to see others."
            </EmptyState>
        }
        .into_any();
    }
    let shown = page.rows.len();
    let selected = RwSignal::new(BTreeSet::<i64>::new());
    // Suggestions by customer: this page's, and the exact ones of every page once
    // "Select exact matches" has fetched them.
    let suggestions: HashMap<i64, (String, i64, String)> =
        page.rows.iter().filter_map(|r| r.suggestion.as_ref().map(|s| (r.customer_id, (r.name.clone(), s.id, s.name.clone())))).collect();
    let known = RwSignal::new(suggestions);
    let exact_note = RwSignal::new(None::<String>);
    let confirm = move |_| {
        known.with(|all| {
            for (customer_id, (name, company_id, company)) in all.iter().filter(|x| selected.with(|sel| sel.contains(x.0))) {
                ctx.stage(
                    MapChange::Link { customer_id: *customer_id, company_id: *company_id },
                    format!("Link \u{201c}{name}\u{201d} to \u{201c}{company}\u{201d} ({company_id})"),
                );
            }
        });
        selected.set(BTreeSet::new());
        exact_note.set(None);
    };
    let query = StoredValue::new(query);
    let select_exact = move |_| {
        exact_note.set(Some("Finding every exact match\u{2026}".into()));
        leptos::task::spawn_local(async move {
            match find_exact_matches(query.get_value()).await {
                Ok(found) => {
                    let n = found.matches.len();
                    known.update(|k| {
                        k.extend(found.matches.iter().map(|m| (m.customer_id, (m.customer_name.clone(), m.company_id, m.company_name.clone()))))
                    });
                    selected.update(|sel| sel.extend(found.matches.iter().map(|m| m.customer_id)));
                    exact_note.set(Some(match (n, found.total) {
                        (0, _) => "No exact match in this filter.".to_string(),
                        (n, total) if (n as i64) < total => format!(
                            "Selected the first {} of {} exact matches (one save takes {}).",
                            thousands(n as i64),
                            thousands(total),
                            thousands(n as i64)
                        ),
                        (1, _) => "Selected the 1 exact match of this filter.".to_string(),
                        (n, _) => format!("Selected all {} exact matches of this filter, on every page.", thousands(n as i64)),
                    }));
                }
                Err(e) => exact_note.set(Some(e.to_string())),
            }
        });
    };
    let has_suggestions = known.with_untracked(|s| !s.is_empty()) || page.counts.exact > 0;
    view! {
        {move || (ctx.is_admin.get() && has_suggestions).then(|| view! {
            <div class="table-actions">
                <button type="button" class="btn btn-small" on:click=select_exact>"Select exact matches (\u{2605}\u{2605}\u{2605})"</button>
                <button type="button" class="btn btn-small btn-primary" data-testid="confirm-matches" disabled=move || selected.with(|s| s.is_empty()) on:click=confirm>
                    {move || format!("Confirm matches ({})", thousands(selected.with(|s| s.len()) as i64))}
                </button>
                <span class="muted small" role="status" data-testid="exact-note">{move || exact_note.get()}</span>
            </div>
        })}
        <div class="table-wrap">
            <table class="table" aria-label="Taskbridge customers and their Autotask companies">
                <thead><tr>
                    <th scope="col" class="col-check"><span class="sr-only">"Select suggestion"</span></th>
                    <th scope="col">"Customer"</th>
                    <th scope="col">"Customer ID"</th>
                    <th scope="col">"Region"</th>
                    <th scope="col">"Autotask company"</th>
                    <th scope="col">"Billing contract"</th>
                    <th scope="col"><span class="sr-only">"Actions"</span></th>
                </tr></thead>
                <tbody>
                    {page.rows.into_iter().map(|row| customer_row(ctx, row, selected)).collect_view()}
                </tbody>
            </table>
        </div>
        <Pager total=page.total page=i64::from(page.page) per_page=i64::from(page.per_page) shown on_page=Callback::new(move |p: i64| set_page.run(p.max(1) as u32)) />
    }
    .into_any()
}

fn customer_row(ctx: MapCtx, row: CustomerRow, selected: RwSignal<BTreeSet<i64>>) -> AnyView {
    let id = row.customer_id;
    let name = row.name.clone();
    let linked = !row.companies.is_empty();
    let one_to_many = row.companies.len() > 1;
    let companies = row
        .companies
        .iter()
        .map(|k| {
            let (kid, kname, cname) = (k.company_id, k.name.clone(), name.clone());
            let shared = k.customers > 1;
            view! {
                <div class="linked">
                    <span>{k.name.clone()}</span>" "<span class="mono muted">{format!("({})", k.company_id)}</span>
                    {shared.then(|| view! { " " <Badge label=format!("1 of {} customers", k.customers) tone=Tone::Muted reason="This company is shared by several customers (a 1-to-many match)." /> })}
                    {flag_badges(&k.flags)}
                    {move || ctx.is_admin.get().then(|| {
                        let (kname, cname) = (kname.clone(), cname.clone());
                        view! { " " <button type="button" class="btn btn-quiet btn-small" aria-label=format!("Unlink {kname} from {cname}")
                            on:click=move |_| ctx.stage(MapChange::Unlink { customer_id: id, company_id: kid }, format!("Unlink \u{201c}{cname}\u{201d} from \u{201c}{kname}\u{201d} ({kid})"))>"Unlink"</button> }
                    })}
                </div>
            }
        })
        .collect_view();
    let suggestion = row.suggestion.clone();
    let contract = row.contract.clone();
    let name_for_pick = name.clone();
    let name_for_contracts = name.clone();
    let saved_companies: Vec<i64> = row.companies.iter().map(|k| k.company_id).collect();
    view! {
        <tr data-customer-id=id.to_string()>
            <td class="col-check">{suggestion.as_ref().map(|s| {
                let label = format!("Select the suggested match {} for {}", s.name, name);
                view! { <input type="checkbox" aria-label=label prop:checked=move || selected.with(|sel| sel.contains(&id))
                    on:change=move |ev| { let on = event_target_checked(&ev); selected.update(|sel| { if on { sel.insert(id); } else { sel.remove(&id); } }); } /> }
            })}</td>
            <td class="cell-name"><CustomerLink id name=row.name.clone() />{move || pending_note(ctx.pending_for_customer(id))}</td>
            <td class="mono nowrap" data-testid="customer-id">{id.to_string()}</td>
            <td class="nowrap"><abbr title=region_label(&row.region)>{region_short(&row.region)}</abbr></td>
            <td>
                {linked.then(|| view! { <Badge label=if one_to_many { "Matched (1-to-many)" } else { "Matched" } tone=Tone::Good /> })}
                {companies}
                {match (&suggestion, linked) {
                    (Some(s), false) => view! {
                        <div class="suggestion">
                            <Badge label="Suggested" tone=Tone::Warn reason=s.reason.clone() />
                            " "<span class="stars" aria-label=format!("score {}", s.score)>{stars(s)}</span>" "
                            {s.name.clone()}" "<span class="mono muted">{format!("({})", s.id)}</span>
                            <div class="muted small">{format!("{} \u{00b7} score {}", s.reason, s.score)}</div>
                        </div>
                    }.into_any(),
                    (None, false) => view! { <Badge label="Unmatched" tone=Tone::Muted /> }.into_any(),
                    _ => ().into_any(),
                }}
            </td>
            <td>
                {contract.map(|c| view! {
                    <div data-testid="contract">{c.name.clone()}" "<span class="mono muted">{format!("({})", c.contract_id)}</span>
                        {c.flags.clone().map(|f| view! { " " <Badge label="Flagged" tone=Tone::Warn reason=f /> })}
                    </div>
                })}
                {move || {
                    // Offered as soon as a link is staged (a typed Autotask ID included), so
                    // the link and its contract are saved together.
                    let companies = ctx.staged.with(|s| staging::companies_after(s, id, &saved_companies));
                    let name = name_for_contracts.clone();
                    (!companies.is_empty()).then(move || view! {
                        <button type="button" class="btn btn-small" data-testid="get-contracts"
                            on:click=move |_| ctx.contracts_for.set(Some((id, name.clone(), companies.clone())))>"Get contracts"</button>
                    })
                }}
            </td>
            <td class="actions">
                {move || ctx.is_admin.get().then(|| {
                    let n = name_for_pick.clone();
                    view! { <button type="button" class="btn btn-small" on:click=move |_| ctx.pick_company.set(Some((id, n.clone())))>{if linked { "Add company\u{2026}" } else { "Match\u{2026}" }}</button> }
                })}
            </td>
        </tr>
    }
    .into_any()
}

#[component]
pub(super) fn CompanyTable(page: CompanyMapPage, set_page: Callback<u32>) -> impl IntoView {
    let ctx = expect_context::<MapCtx>();
    if page.total == 0 {
        return view! {
            <EmptyState title="No Autotask companies here">
                "Discover your companies on the " <a href="/companies">"Companies"</a> " page, or change the match status filter."
            </EmptyState>
        }
        .into_any();
    }
    let shown = page.rows.len();
    let chosen: Chosen = RwSignal::new(Default::default());
    let unmatched: Vec<(i64, String)> = page.rows.iter().filter(|r| r.customers.is_empty()).map(|r| (r.company_id, r.name.clone())).collect();
    let unmatched = StoredValue::new(unmatched);
    let create_chosen = move |_| {
        for (id, name) in chosen.get_untracked() {
            ctx.stage(MapChange::CreateCustomer { company_id: id }, format!("Create a customer from \u{201c}{name}\u{201d} ({id})"));
        }
        chosen.set(Default::default());
    };
    view! {
        {move || ctx.is_admin.get().then(|| view! {
            <div class="toolbar">
                <button type="button" class="btn" data-testid="create-selected" disabled=move || chosen.with(|c| c.is_empty()) on:click=create_chosen>
                    {move || match chosen.with(|c| c.len()) {
                        0 => "Create customers from selected companies".to_string(),
                        n => format!("Create {} from the selected companies", crate::format::count_of(n as i64, "customer", "customers")),
                    }}
                </button>
                <span class="muted small">"Check unmatched companies, then stage a new customer for each; Save changes creates and links them all."</span>
            </div>
        })}
        <div class="table-wrap">
            <table class="table" aria-label="Autotask companies and their Taskbridge customers">
                <thead><tr>
                    {move || ctx.is_admin.get().then(|| view! {
                        <th scope="col" class="col-check">
                            <input type="checkbox" aria-label="Select every unmatched company on this page" disabled=move || unmatched.with_value(Vec::is_empty)
                                prop:checked=move || unmatched.with_value(|u| !u.is_empty() && chosen.with(|c| u.iter().all(|(id, _)| c.contains_key(id))))
                                on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    unmatched.with_value(|u| chosen.update(|c| for (id, name) in u { if on { c.insert(*id, name.clone()); } else { c.remove(id); } }));
                                } />
                        </th>
                    })}
                    <th scope="col">"Autotask company"</th>
                    <th scope="col">"Autotask ID"</th>
                    <th scope="col">"Type"</th>
                    <th scope="col">"Taskbridge customer"</th>
                    <th scope="col"><span class="sr-only">"Actions"</span></th>
                </tr></thead>
                <tbody>
                    {page.rows.into_iter().map(|row| company_row(ctx, row, chosen)).collect_view()}
                </tbody>
            </table>
        </div>
        <Pager total=page.total page=i64::from(page.page) per_page=i64::from(page.per_page) shown on_page=Callback::new(move |p: i64| set_page.run(p.max(1) as u32)) />
    }
    .into_any()
}

/// Unmatched companies checked for "Create customers from selected", by id with name.
type Chosen = RwSignal<std::collections::BTreeMap<i64, String>>;

fn company_row(ctx: MapCtx, row: CompanyRow, chosen: Chosen) -> AnyView {
    let id = row.company_id;
    let name = row.name.clone();
    let matched = !row.customers.is_empty();
    let name_for_check = name.clone();
    let one_to_many = row.customers.len() > 1 || row.customers.iter().any(|c| c.companies > 1);
    let customers = row
        .customers
        .iter()
        .map(|c| {
            let (cid, cname, kname) = (c.customer_id, c.name.clone(), name.clone());
            view! {
                <div class="linked">
                    <span>{c.name.clone()}</span><CustomerId id=cid />
                    {(c.companies > 1).then(|| view! { " " <Badge label=format!("has {} companies", c.companies) tone=Tone::Muted reason="This customer is matched to several Autotask companies (1-to-many)." /> })}
                    {flag_badges(&c.flags)}
                    {move || ctx.is_admin.get().then(|| {
                        let (cname, kname) = (cname.clone(), kname.clone());
                        view! { " " <button type="button" class="btn btn-quiet btn-small" aria-label=format!("Unlink {cname} from {kname}")
                            on:click=move |_| ctx.stage(MapChange::Unlink { customer_id: cid, company_id: id }, format!("Unlink \u{201c}{cname}\u{201d} from \u{201c}{kname}\u{201d} ({id})"))>"Unlink"</button> }
                    })}
                </div>
            }
        })
        .collect_view();
    let suggestion = row.suggestion.clone();
    let name_for_pick = name.clone();
    let name_for_create = name.clone();
    view! {
        <tr data-company-id=id.to_string()>
            {move || ctx.is_admin.get().then(|| {
                let name = name_for_check.clone();
                view! { <td class="col-check">{(!matched).then(|| view! {
                    <input type="checkbox" aria-label=format!("Select {name} to create a customer from it")
                        prop:checked=move || chosen.with(|c| c.contains_key(&id))
                        on:change=move |ev| { let on = event_target_checked(&ev); let n = name.clone(); chosen.update(|c| { if on { c.insert(id, n); } else { c.remove(&id); } }); } />
                })}</td> }
            })}
            <td class="cell-name">
                {row.name.clone()}
                {(!row.active).then(|| view! { " " <Badge label="Inactive" tone=Tone::Muted /> })}
                {row.missing.then(|| view! { " " <Badge label="Missing" tone=Tone::Bad reason="No longer in Autotask (not seen by the latest discovery)." /> })}
                {crate::components::reach::company_reach(row.phone.clone(), row.web.clone())}
                {move || pending_note(ctx.pending_for_company(id))}
            </td>
            <td class="mono nowrap">{id.to_string()}</td>
            <td class="nowrap">{row.type_label.clone()}{(!row.is_customer_type).then(|| view! { " " <Badge label="Not a Customer" tone=Tone::Warn reason="Autotask account types other than Customer may not behave as expected for billing and tickets." /> })}</td>
            <td>
                {matched.then(|| view! { <Badge label=if one_to_many { "Matched (1-to-many)" } else { "Matched" } tone=Tone::Good /> })}
                {customers}
                {match (&suggestion, matched) {
                    (Some(s), false) => {
                        let (sid, sname, kname) = (s.id, s.name.clone(), name.clone());
                        view! {
                            <div class="suggestion">
                                <Badge label="Suggested" tone=Tone::Warn reason=s.reason.clone() />" "
                                <span class="stars" aria-label=format!("score {}", s.score)>{stars(s)}</span>" "{s.name.clone()}
                                <div class="muted small">{format!("{} \u{00b7} score {}", s.reason, s.score)}</div>
                                {move || ctx.is_admin.get().then(|| {
                                    let (sname, kname) = (sname.clone(), kname.clone());
                                    view! { <button type="button" class="btn btn-small" on:click=move |_| ctx.stage(MapChange::Link { customer_id: sid, company_id: id }, format!("Link \u{201c}{sname}\u{201d} to \u{201c}{kname}\u{201d} ({id})"))>"Confirm match"</button> }
                                })}
                            </div>
                        }.into_any()
                    }
                    (None, false) => view! { <Badge label="Unmatched" tone=Tone::Muted /> }.into_any(),
                    _ => ().into_any(),
                }}
            </td>
            <td class="actions actions-stack">
                {move || ctx.is_admin.get().then(|| {
                    let (n1, n2) = (name_for_pick.clone(), name_for_create.clone());
                    view! {
                        <button type="button" class="btn btn-small" on:click=move |_| ctx.pick_customer.set(Some((id, n1.clone())))>"Match with customer\u{2026}"</button>
                        {(!matched).then(|| view! { " " <button type="button" class="btn btn-small" on:click=move |_| ctx.stage(MapChange::CreateCustomer { company_id: id }, format!("Create a customer from \u{201c}{n2}\u{201d} ({id})"))>"Create customer"</button> })}
                    }
                })}
            </td>
        </tr>
    }
    .into_any()
}
