//! The Customer Map page: Taskbridge customers beside their Autotask companies (and the
//! reverse view), suggestions to confirm, manual matches through a searchable picker or a
//! typed Autotask ID, customers created from companies, billing contracts, and an explicit
//! Save of staged changes (with a warning before leaving unsaved work).

use crate::api::map::{get_contracts, map_companies, map_customers, map_history, save_customer_map};
use crate::components::badge::{Badge, Tone};
use crate::components::dialog::Modal;
use crate::components::layout::Me;
use crate::components::panel::{EmptyState, ErrorPanel, Loading, PageHeader};
use crate::components::time::Time;
use crate::error::AppError;
use crate::format::{encode_query_value, thousands};
use crate::regions::{region_label, region_short};
use crate::types::map::{
    CompanyFilter, CompanyMapPage, CompanyRow, ContractOption, CustomerFilter, CustomerMapPage, CustomerRow, Flag, MapChange, MapCounts, MapQuery,
    Suggestion,
};
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::NavigateOptions;
use std::collections::BTreeSet;

/// A staged change and how it reads in the unsaved-changes list.
#[derive(Debug, Clone, PartialEq)]
struct Staged {
    change: MapChange,
    label: String,
}

/// What the page shares with its parts.
#[derive(Clone, Copy)]
struct MapCtx {
    staged: RwSignal<Vec<Staged>>,
    is_admin: Signal<bool>,
    /// Opens the company picker for a customer.
    pick_company: RwSignal<Option<(i64, String)>>,
    /// Opens the customer picker for a company.
    pick_customer: RwSignal<Option<(i64, String)>>,
    /// Opens the contracts dialog for a customer.
    contracts_for: RwSignal<Option<(i64, String)>>,
}

impl MapCtx {
    fn stage(&self, change: MapChange, label: String) {
        self.staged.update(|s| {
            if !s.iter().any(|x| x.change == change) {
                s.push(Staged { change, label });
            }
        });
    }
    fn pending_for_customer(&self, id: i64) -> Vec<String> {
        self.staged.with(|s| {
            s.iter()
                .filter(|x| match &x.change {
                    MapChange::Link { customer_id, .. } | MapChange::Unlink { customer_id, .. } | MapChange::SetContract { customer_id, .. } => {
                        *customer_id == id
                    }
                    MapChange::CreateCustomer { .. } => false,
                })
                .map(|x| x.label.clone())
                .collect()
        })
    }
    fn pending_for_company(&self, id: i64) -> Vec<String> {
        self.staged.with(|s| {
            s.iter()
                .filter(|x| match &x.change {
                    MapChange::Link { company_id, .. } | MapChange::Unlink { company_id, .. } | MapChange::CreateCustomer { company_id } => {
                        *company_id == id
                    }
                    MapChange::SetContract { .. } => false,
                })
                .map(|x| x.label.clone())
                .collect()
        })
    }
}

/// Keeps a dialog's `open` flag and the value it was opened for in step, setting each only
/// when it differs (setting an unchanged signal would wake the other effect forever).
fn sync_open<T: Clone + Send + Sync + 'static>(open: RwSignal<bool>, target: RwSignal<Option<T>>) {
    Effect::new(move |_| {
        let wanted = target.with(Option::is_some);
        if open.get_untracked() != wanted {
            open.set(wanted);
        }
    });
    Effect::new(move |_| {
        if !open.get() && target.with_untracked(Option::is_some) {
            target.set(None);
        }
    });
}

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
            let (label, tone) = match f.code.as_str() {
                "renamed" => ("Renamed", Tone::Warn),
                "missing" => ("Missing", Tone::Bad),
                "inactive" => ("Inactive", Tone::Warn),
                "not_customer" => ("Not a Customer", Tone::Warn),
                _ => ("Check", Tone::Warn),
            };
            view! { " " <Badge label=label tone=tone reason=f.message.clone() /> }
        })
        .collect_view()
        .into_any()
}

fn pending_note(lines: Vec<String>) -> Option<AnyView> {
    (!lines.is_empty())
        .then(|| view! { <div class="pending-note" title=lines.join("\n")>{format!("Unsaved: {}", lines.join("; "))}</div> }.into_any())
}

/// The page.
#[component]
pub fn CustomerMapPage() -> impl IntoView {
    let me = expect_context::<Me>().0;
    let is_admin = RwSignal::new(false);
    Effect::new(move |_| {
        if let Some(Ok(m)) = me.get() {
            is_admin.set(m.is_admin());
        }
    });
    let params = use_query_map();
    let view_companies = Memo::new(move |_| params.with(|p| p.get("view").as_deref() == Some("companies")));
    let query = Memo::new(move |_| {
        params.with(|p| MapQuery {
            search: p.get("q").unwrap_or_default(),
            customers: match p.get("f").as_deref() {
                Some("matched") => CustomerFilter::Matched,
                Some("all") => CustomerFilter::All,
                _ => CustomerFilter::Unmatched,
            },
            companies: match p.get("f").as_deref() {
                Some("suggested") => CompanyFilter::Suggested,
                Some("unmatched") => CompanyFilter::Unmatched,
                Some("matched") => CompanyFilter::Matched,
                _ => CompanyFilter::All,
            },
            page: p.get("page").and_then(|v| v.parse().ok()).unwrap_or(1),
            per_page: 50,
        })
    });
    let navigate = use_navigate();
    let go = StoredValue::new(move |view: &str, filter: &str, search: &str, page: u32| {
        let mut parts = vec![format!("view={view}")];
        if !filter.is_empty() {
            parts.push(format!("f={filter}"));
        }
        if !search.trim().is_empty() {
            parts.push(format!("q={}", encode_query_value(search.trim())));
        }
        if page > 1 {
            parts.push(format!("page={page}"));
        }
        navigate(&format!("/map?{}", parts.join("&")), NavigateOptions { replace: true, scroll: false, ..Default::default() });
    });
    let current_filter = move || -> String { params.with(|p| p.get("f").unwrap_or_default()) };
    let view_name = move || if view_companies.get() { "companies" } else { "customers" };

    let ctx = MapCtx {
        staged: RwSignal::new(Vec::new()),
        is_admin: is_admin.into(),
        pick_company: RwSignal::new(None),
        pick_customer: RwSignal::new(None),
        contracts_for: RwSignal::new(None),
    };
    provide_context(ctx);
    let reload = RwSignal::new(0u32);
    let customers = Resource::new(
        move || (view_companies.get(), query.get(), reload.get()),
        |(companies, q, _)| async move {
            if companies {
                Ok(None)
            } else {
                map_customers(q).await.map(Some)
            }
        },
    );
    let companies = Resource::new(
        move || (view_companies.get(), query.get(), reload.get()),
        |(companies, q, _)| async move {
            if companies {
                map_companies(q).await.map(Some)
            } else {
                Ok(None)
            }
        },
    );
    let history = Resource::new(move || reload.get(), |_| map_history());
    let counts = RwSignal::new(None::<MapCounts>);

    // Warn before leaving with unsaved changes.
    #[cfg(feature = "hydrate")]
    {
        let staged = ctx.staged;
        let handle = window_event_listener(leptos::ev::beforeunload, move |ev| {
            if staged.with_untracked(|s| !s.is_empty()) {
                ev.prevent_default();
                ev.set_return_value("unsaved");
            }
        });
        on_cleanup(move || handle.remove());
    }

    let saving = RwSignal::new(false);
    let save_error = RwSignal::new(None::<AppError>);
    let saved_note = RwSignal::new(None::<String>);
    let save = move |_| {
        let changes: Vec<MapChange> = ctx.staged.get_untracked().into_iter().map(|s| s.change).collect();
        saving.set(true);
        save_error.set(None);
        leptos::task::spawn_local(async move {
            match save_customer_map(changes).await {
                Ok(done) => {
                    ctx.staged.set(Vec::new());
                    saved_note.set(Some(format!("Saved {} change{}.", done.applied, if done.applied == 1 { "" } else { "s" })));
                    reload.update(|n| *n += 1);
                }
                Err(e) => save_error.set(Some(e)),
            }
            saving.set(false);
        });
    };

    let search = RwSignal::new(query.get_untracked().search);
    let tab = move |name: &'static str, label: &'static str| {
        let selected = move || view_name() == name;
        view! {
            <button type="button" role="tab" class="tab" aria-selected=move || selected().to_string() tabindex=move || if selected() { "0" } else { "-1" }
                on:click=move |_| { search.set(String::new()); go.with_value(|go| go(name, "", "", 1)); }>
                {label}
            </button>
        }
    };
    let filter_options = move || -> Vec<(&'static str, &'static str)> {
        if view_companies.get() {
            vec![("", "All"), ("suggested", "Suggested"), ("unmatched", "Unmatched"), ("matched", "Matched")]
        } else {
            vec![("", "Unmatched"), ("matched", "Matched"), ("all", "All")]
        }
    };

    view! {
        <PageHeader title="Customer Map" lead="Every Taskbridge customer beside its Autotask company. Links hold by Autotask ID, so renames never break them; Save applies your changes together.">
            <a class="btn" href="/exports/customer-map.csv" download rel="external">"Export CSV"</a>
        </PageHeader>
        {move || counts.get().map(|c| view! {
            <p class="map-counts" data-testid="map-counts">
                {format!("{} customers, {} matched \u{00b7} {} suggested ({} exact) \u{00b7} {} Autotask companies, {} matched",
                    thousands(c.customers), thousands(c.customers_matched), thousands(c.suggested), thousands(c.exact), thousands(c.companies), thousands(c.companies_matched))}
            </p>
        })}
        <UnsavedBar saving save_error saved_note on_save=Callback::new(save) />
        <div class="tabs" role="tablist" aria-label="Side of the map">
            {tab("customers", "Taskbridge customers")}
            {tab("companies", "Autotask companies")}
        </div>
        <form class="toolbar" role="search" aria-label="Filter the map" on:submit=move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let text = search.get_untracked();
            go.with_value(|go| go(view_name(), &current_filter(), &text, 1));
        }>
            <div class="field grow">
                <label for="map-search">"Search"</label>
                <input id="map-search" type="search" placeholder="Name or ID, then Enter" prop:value=search on:input=move |ev| search.set(event_target_value(&ev)) />
            </div>
            <div class="field">
                <label for="map-filter">"Match status"</label>
                <select id="map-filter" on:change=move |ev| {
                    let f = event_target_value(&ev);
                    go.with_value(|go| go(view_name(), &f, &search.get_untracked(), 1));
                }>
                    {move || filter_options().into_iter().map(|(value, label)| view! {
                        <option value=value selected=move || current_filter() == value>{label}</option>
                    }).collect_view()}
                </select>
            </div>
            <button type="submit" class="btn">"Search"</button>
        </form>
        <Show when=move || !view_companies.get()>
            <Transition fallback=|| view! { <Loading what="customers" /> }>
                {move || Suspend::new(async move {
                    let set_page = Callback::new(move |p: u32| go.with_value(|go| go("customers", &current_filter(), &search.get_untracked(), p)));
                    match customers.await {
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                        Ok(None) => ().into_any(),
                        Ok(Some(page)) => {
                            counts.set(Some(page.counts.clone()));
                            view! { <CustomerTable page set_page /> }.into_any()
                        }
                    }
                })}
            </Transition>
        </Show>
        <Show when=move || view_companies.get()>
            <Transition fallback=|| view! { <Loading what="Autotask companies" /> }>
                {move || Suspend::new(async move {
                    let set_page = Callback::new(move |p: u32| go.with_value(|go| go("companies", &current_filter(), &search.get_untracked(), p)));
                    match companies.await {
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                        Ok(None) => ().into_any(),
                        Ok(Some(page)) => {
                            counts.set(Some(page.counts.clone()));
                            view! { <CompanyTable page set_page /> }.into_any()
                        }
                    }
                })}
            </Transition>
        </Show>
        <CompanyPicker />
        <CustomerPicker />
        <ContractsDialog />
        <section class="card history" aria-label="Map history">
            <h2>"History"</h2>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match history.await {
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                        Ok(list) if list.is_empty() => view! { <p class="muted">"No changes yet. Links, contracts and created customers are recorded here with who made them."</p> }.into_any(),
                        Ok(list) => view! {
                            <ul class="history-list" data-testid="map-history">
                                {list.into_iter().map(|h| view! { <li><Time ms=Some(h.at) />" \u{00b7} "<span class="muted">{h.actor}</span>" \u{00b7} "{h.summary}</li> }).collect_view()}
                            </ul>
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn UnsavedBar(
    saving: RwSignal<bool>,
    save_error: RwSignal<Option<AppError>>,
    saved_note: RwSignal<Option<String>>,
    on_save: Callback<()>,
) -> impl IntoView {
    let ctx = expect_context::<MapCtx>();
    let count = move || ctx.staged.with(|s| s.len());
    view! {
        {move || (count() == 0).then(|| saved_note.get().map(|n| view! { <div class="panel panel-success" role="status">{n}</div> })).flatten()}
        <Show when=move || { count() > 0 }>
            <div class="unsaved-bar" role="region" aria-label="Unsaved changes" data-testid="unsaved">
                <div class="grow">
                    <strong>{move || format!("{} unsaved change{}", count(), if count() == 1 { "" } else { "s" })}</strong>
                    <ul>
                        {move || ctx.staged.get().into_iter().enumerate().map(|(i, s)| view! {
                            <li>{s.label}" "<button type="button" class="btn btn-quiet btn-small" aria-label="Undo this change" on:click=move |_| ctx.staged.update(|v| { v.remove(i); })>"Undo"</button></li>
                        }).collect_view()}
                    </ul>
                    {move || save_error.get().map(|error| view! { <ErrorPanel error /> })}
                </div>
                <div class="unsaved-actions">
                    <button type="button" class="btn" on:click=move |_| { ctx.staged.set(Vec::new()); save_error.set(None); }>"Discard"</button>
                    <button type="button" class="btn btn-primary" data-testid="save-map" disabled=move || saving.get() on:click=move |_| on_save.run(())>
                        {move || if saving.get() { "Saving\u{2026}" } else { "Save changes" }}
                    </button>
                </div>
            </div>
        </Show>
    }
}

fn pager(total: i64, page: u32, per_page: u32, set_page: Callback<u32>) -> AnyView {
    let pages = ((total + per_page as i64 - 1) / per_page as i64).max(1) as u32;
    let first = (page as i64 - 1) * per_page as i64 + 1;
    let last = (page as i64 * per_page as i64).min(total);
    view! {
        <nav class="pager" aria-label="Pages">
            <span class="table-count">{format!("{}\u{2013}{} of {}", thousands(first.min(total)), thousands(last), thousands(total))}</span>
            <button type="button" class="btn btn-small" disabled={page <= 1} on:click=move |_| set_page.run(page - 1)>"\u{2039} Previous"</button>
            <span>{format!("Page {page} of {pages}")}</span>
            <button type="button" class="btn btn-small" disabled={page >= pages} on:click=move |_| set_page.run(page + 1)>"Next \u{203a}"</button>
        </nav>
    }
    .into_any()
}

#[component]
fn CustomerTable(page: CustomerMapPage, set_page: Callback<u32>) -> impl IntoView {
    let ctx = expect_context::<MapCtx>();
    if page.total == 0 {
        return view! {
            <EmptyState title="No customers here">
                "Customers come from importing companies (" <a href="/companies">"Companies"</a> ") or from the backup platform's API. Change the match status filter to see others."
            </EmptyState>
        }
        .into_any();
    }
    let selected = RwSignal::new(BTreeSet::<i64>::new());
    let suggestions: Vec<(i64, String, Suggestion)> =
        page.rows.iter().filter_map(|r| r.suggestion.clone().map(|s| (r.customer_id, r.name.clone(), s))).collect();
    let suggestions = StoredValue::new(suggestions);
    let confirm = move |_| {
        suggestions.with_value(|all| {
            for (customer_id, name, s) in all.iter().filter(|x| selected.with(|sel| sel.contains(&x.0))) {
                ctx.stage(
                    MapChange::Link { customer_id: *customer_id, company_id: s.id },
                    format!("Link \u{201c}{name}\u{201d} to \u{201c}{}\u{201d} ({})", s.name, s.id),
                );
            }
        });
        selected.set(BTreeSet::new());
    };
    let select_exact = move |_| {
        suggestions.with_value(|all| selected.update(|sel| sel.extend(all.iter().filter(|x| x.2.exact()).map(|x| x.0))));
    };
    let has_suggestions = suggestions.with_value(|s| !s.is_empty());
    view! {
        {move || (ctx.is_admin.get() && has_suggestions).then(|| view! {
            <div class="table-actions">
                <button type="button" class="btn btn-small" on:click=select_exact>"Select exact matches (\u{2605}\u{2605}\u{2605})"</button>
                <button type="button" class="btn btn-small btn-primary" data-testid="confirm-matches" disabled=move || selected.with(|s| s.is_empty()) on:click=confirm>
                    {move || format!("Confirm matches ({})", selected.with(|s| s.len()))}
                </button>
            </div>
        })}
        <div class="table-wrap">
            <table class="table" aria-label="Taskbridge customers and their Autotask companies">
                <thead><tr>
                    <th scope="col" class="col-check"><span class="sr-only">"Select suggestion"</span></th>
                    <th scope="col">"Customer"</th>
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
        {pager(page.total, page.page, page.per_page, set_page)}
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
    view! {
        <tr data-customer-id=id.to_string()>
            <td class="col-check">{suggestion.as_ref().map(|s| {
                let label = format!("Select the suggested match {} for {}", s.name, name);
                view! { <input type="checkbox" aria-label=label prop:checked=move || selected.with(|sel| sel.contains(&id))
                    on:change=move |ev| { let on = event_target_checked(&ev); selected.update(|sel| { if on { sel.insert(id); } else { sel.remove(&id); } }); } /> }
            })}</td>
            <td class="cell-name">{row.name.clone()}{move || pending_note(ctx.pending_for_customer(id))}</td>
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
                {linked.then(|| view! {
                    <button type="button" class="btn btn-small" on:click=move |_| ctx.contracts_for.set(Some((id, name_for_contracts.clone())))>"Get contracts"</button>
                })}
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
fn CompanyTable(page: CompanyMapPage, set_page: Callback<u32>) -> impl IntoView {
    let ctx = expect_context::<MapCtx>();
    if page.total == 0 {
        return view! {
            <EmptyState title="No Autotask companies here">
                "Discover your companies on the " <a href="/companies">"Companies"</a> " page, or change the match status filter."
            </EmptyState>
        }
        .into_any();
    }
    view! {
        <div class="table-wrap">
            <table class="table" aria-label="Autotask companies and their Taskbridge customers">
                <thead><tr>
                    <th scope="col">"Autotask company"</th>
                    <th scope="col">"Autotask ID"</th>
                    <th scope="col">"Type"</th>
                    <th scope="col">"Taskbridge customer"</th>
                    <th scope="col"><span class="sr-only">"Actions"</span></th>
                </tr></thead>
                <tbody>
                    {page.rows.into_iter().map(|row| company_row(ctx, row)).collect_view()}
                </tbody>
            </table>
        </div>
        {pager(page.total, page.page, page.per_page, set_page)}
    }
    .into_any()
}

fn company_row(ctx: MapCtx, row: CompanyRow) -> AnyView {
    let id = row.company_id;
    let name = row.name.clone();
    let matched = !row.customers.is_empty();
    let one_to_many = row.customers.len() > 1 || row.customers.iter().any(|c| c.companies > 1);
    let customers = row
        .customers
        .iter()
        .map(|c| {
            let (cid, cname, kname) = (c.customer_id, c.name.clone(), name.clone());
            view! {
                <div class="linked">
                    <span>{c.name.clone()}</span>
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
            <td class="cell-name">
                {row.name.clone()}
                {(!row.active).then(|| view! { " " <Badge label="Inactive" tone=Tone::Muted /> })}
                {row.missing.then(|| view! { " " <Badge label="Missing" tone=Tone::Bad reason="No longer in Autotask (not seen by the latest discovery)." /> })}
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
            <td class="actions">
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

/// Search Autotask companies (or type an ID) and stage a link for the chosen customer.
#[component]
fn CompanyPicker() -> impl IntoView {
    let ctx = expect_context::<MapCtx>();
    let open = RwSignal::new(false);
    sync_open(open, ctx.pick_company);
    let search = RwSignal::new(String::new());
    let typed = RwSignal::new(String::new());
    let typed_error = RwSignal::new(None::<String>);
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
                    Ok(id) if id > 0 => { typed_error.set(None); typed.set(String::new()); choose(id, format!("Autotask company {id}")); }
                    _ => typed_error.set(Some("Type the company's Autotask ID (a number, e.g. 29683512).".into())),
                }
            }>
                <div class="field">
                    <label for="pick-company-id">"Or type an Autotask company ID"</label>
                    <input id="pick-company-id" type="text" inputmode="numeric" prop:value=typed on:input=move |ev| typed.set(event_target_value(&ev)) aria-invalid=move || typed_error.get().is_some().to_string() aria-describedby="pick-company-id-error" />
                    <p id="pick-company-id-error" class="field-error">{move || typed_error.get()}</p>
                </div>
                <button type="submit" class="btn">"Use this ID"</button>
            </form>
        </Modal>
    }
}

/// Search Taskbridge customers and stage a link to the chosen company.
#[component]
fn CustomerPicker() -> impl IntoView {
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
                                    }><span>{c.name.clone()}</span><span class="muted">{taken}</span></button></li> }
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                    }
                })}
            </Transition>
        </Modal>
    }
}

/// "Get contracts": the customer's Autotask contracts, flagged ones needing a confirmation.
#[component]
fn ContractsDialog() -> impl IntoView {
    let ctx = expect_context::<MapCtx>();
    let open = RwSignal::new(false);
    sync_open(open, ctx.contracts_for);
    let list = Resource::new(
        move || ctx.contracts_for.get().map(|c| c.0),
        |id| async move {
            match id {
                Some(id) => get_contracts(id).await.map(Some),
                None => Ok(None),
            }
        },
    );
    let chosen = RwSignal::new(None::<ContractOption>);
    let confirm = RwSignal::new(false);
    let title = Signal::derive(move || ctx.contracts_for.get().map(|(_, n)| format!("Billing contract for \u{201c}{n}\u{201d}")).unwrap_or_default());
    let blocking = move |c: &ContractOption| c.flags.iter().any(|f| f.code != "no_services");
    let apply = move |_| {
        let (Some((customer_id, customer_name)), Some(c)) = (ctx.contracts_for.get_untracked(), chosen.get_untracked()) else { return };
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
