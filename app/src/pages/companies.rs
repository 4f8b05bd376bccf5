//! The Companies page: discover the partner's Autotask companies, search and filter them
//! (server-side, state in the URL), select some, a page, or all matching, and import them
//! as Taskbridge customers, each row showing its status and, when FAILED, why.

mod table;

use crate::api::companies::{import_companies, latest_company_jobs, list_companies, plan_import, start_discovery};
use crate::components::badge::{Badge, Tone};
use crate::components::dialog::ConfirmDialog;
use crate::components::job::JobProgress;
use crate::components::layout::Me;
use crate::components::pager::Pager;
use crate::components::panel::{EmptyState, ErrorPanel, Loading, PageHeader};
use crate::components::table::{select_page_header, select_row_cell, sort_header, RowSelection, SelectionBar};
use crate::components::time::Time;
use crate::components::url_query::use_url_query;
use crate::error::AppError;
use crate::format::{encode_query_value, page_url, thousands};
use crate::regions::{region_label, region_short};
use crate::types::companies::{
    CompanyFilter, CompanyPage, CompanyQuery, CompanyRow, CompanySort, ImportPlan, ImportSelection, ImportStatus, JobView, StatusFilter, TypeOption,
};
use leptos::prelude::*;
use table::CompanyTable;

/// The list's state, read from and written to the URL.
fn query_from_params(get: impl Fn(&str) -> Option<String>) -> CompanyQuery {
    CompanyQuery {
        filter: CompanyFilter {
            search: get("q").unwrap_or_default(),
            company_type: get("type").and_then(|v| v.parse().ok()),
            active: get("active").and_then(|v| match v.as_str() {
                "yes" => Some(true),
                "no" => Some(false),
                _ => None,
            }),
            status: get("status").and_then(|v| StatusFilter::parse(&v)),
        },
        sort: CompanySort::parse(&get("sort").unwrap_or_default()),
        page: get("page").and_then(|v| v.parse().ok()).unwrap_or(1),
        per_page: crate::components::pager::per_page_param(get("per")),
    }
}

fn query_string(q: &CompanyQuery) -> String {
    let mut parts = Vec::new();
    if !q.filter.search.trim().is_empty() {
        parts.push(format!("q={}", encode_query_value(q.filter.search.trim())));
    }
    if let Some(t) = q.filter.company_type {
        parts.push(format!("type={t}"));
    }
    if let Some(a) = q.filter.active {
        parts.push(format!("active={}", if a { "yes" } else { "no" }));
    }
    if let Some(s) = q.filter.status {
        parts.push(format!("status={}", s.as_str()));
    }
    if q.sort != CompanySort::Name {
        parts.push(format!("sort={}", encode_query_value(q.sort.as_str())));
    }
    if q.page > 1 {
        parts.push(format!("page={}", q.page));
    }
    if q.per_page != 50 {
        parts.push(format!("per={}", q.per_page));
    }
    page_url("/companies", &parts)
}

/// Discover, filter, select, import.
#[component]
pub fn CompaniesPage() -> impl IntoView {
    let me = expect_context::<Me>().0;
    let (query, put_query) = use_url_query(|get| query_from_params(get), query_string);
    let set_query = move |f: &dyn Fn(&mut CompanyQuery)| {
        let mut q = query.get_untracked();
        f(&mut q);
        put_query.run(q);
    };

    let reload = RwSignal::new(0u32);
    let list = Resource::new(move || (query.get(), reload.get()), |(q, _)| list_companies(q));
    let discover_job = RwSignal::new(None::<JobView>);
    let import_job = RwSignal::new(None::<JobView>);
    let start_error = RwSignal::new(None::<AppError>);
    // Show work already under way when the page is (re)visited.
    let latest = Resource::new(|| (), |_| latest_company_jobs());
    Effect::new(move |_| {
        if let Some(Ok((d, i))) = latest.get() {
            discover_job.set(d);
            import_job.set(i);
        }
    });
    let on_finish = Callback::new(move |_: JobView| reload.update(|n| *n += 1));

    // Selection: explicit ids, or "all matching" the current filter.
    let sel = RowSelection::new();
    let (selected, all_matching) = (sel.selected, sel.all_matching);
    Effect::new(move |prev: Option<CompanyFilter>| {
        let filter = query.with(|q| q.filter.clone());
        if prev.is_some_and(|p| p != filter) {
            sel.clear();
        }
        filter
    });

    let discover = move |_| {
        start_error.set(None);
        leptos::task::spawn_local(async move {
            match start_discovery().await {
                Ok(job) => discover_job.set(Some(job)),
                Err(e) => start_error.set(Some(e)),
            }
        });
    };
    let confirm_open = RwSignal::new(false);
    let total_matching = RwSignal::new(0i64);
    let types = RwSignal::new(Vec::<TypeOption>::new());
    let selection_count = move || if all_matching.get() { total_matching.get() } else { selected.with(|s| s.len() as i64) };
    let selection = move || {
        if all_matching.get_untracked() {
            ImportSelection::Matching(query.get_untracked().filter)
        } else {
            ImportSelection::Ids(selected.get_untracked().into_iter().collect())
        }
    };
    // What the import will do, worked out when the confirmation opens.
    let plan = RwSignal::new(None::<Result<ImportPlan, AppError>>);
    let ask_to_import = move |_| {
        plan.set(None);
        confirm_open.set(true);
        let selection = selection();
        leptos::task::spawn_local(async move { plan.set(Some(plan_import(selection).await)) });
    };
    let do_import = Callback::new(move |_| {
        let selection = selection();
        start_error.set(None);
        leptos::task::spawn_local(async move {
            match import_companies(selection).await {
                Ok(job) => {
                    import_job.set(Some(job));
                    sel.clear();
                }
                Err(e) => start_error.set(Some(e)),
            }
        });
    });
    let running =
        move |job: RwSignal<Option<JobView>>| job.with(|j| j.as_ref().is_some_and(|j| j.state == crate::types::companies::JobState::Running));

    view! {
        <PageHeader title="Companies" lead="Your Autotask companies. Discover them, then import the ones that should become Taskbridge customers.">
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let is_admin = me.await.is_ok_and(|m| m.is_admin());
                    is_admin.then(|| view! {
                        <button type="button" class="btn" data-testid="discover" disabled=move || running(discover_job) on:click=discover>
                            {move || if running(discover_job) { "Discovering\u{2026}" } else { "Discover" }}
                        </button>
                        <button type="button" class="btn btn-primary" data-testid="import" disabled=move || selection_count() == 0 || running(import_job) on:click=ask_to_import>
                            {move || match selection_count() { 0 => "Import".to_string(), n => format!("Import {}", thousands(n)) }}
                        </button>
                    })
                })}
            </Suspense>
        </PageHeader>
        {move || start_error.get().map(|error| view! { <ErrorPanel error /> })}
        <JobProgress job=discover_job on_finish />
        <JobProgress job=import_job on_finish />
        <Filters query set_query=Callback::new(move |q: CompanyQuery| set_query(&|cur| *cur = q.clone())) types />
        <Transition fallback=|| view! { <Loading what="companies" /> }>
            {move || Suspend::new(async move {
                let is_admin = me.await.is_ok_and(|m| m.is_admin());
                let page = list.await;
                if let Ok(p) = &page {
                    types.set(p.types.clone());
                }
                match page {
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                    Ok(page) if page.discovered == 0 => view! {
                        <EmptyState title="No companies discovered yet">
                            {if is_admin { "Press Discover to bring in your Autotask companies. " } else { "An admin can press Discover to bring in your Autotask companies. " }}
                            "Autotask must be connected first: " <a href="/setup">"Setup"</a> "."
                        </EmptyState>
                    }.into_any(),
                    Ok(page) if page.total == 0 => view! {
                        <EmptyState title="No company matches these filters">
                            <button type="button" class="btn btn-small" on:click=move |_| set_query(&|q| *q = CompanyQuery { per_page: q.per_page, ..CompanyQuery::default() })>"Clear the filters"</button>
                        </EmptyState>
                    }.into_any(),
                    Ok(page) => {
                        total_matching.set(page.total);
                        view! { <CompanyTable page is_admin sel query set_page=Callback::new(move |n: u32| set_query(&|q| q.page = n)) set_sort=Callback::new(move |s: CompanySort| set_query(&|q| { q.sort = s; q.page = 1; })) /> }.into_any()
                    }
                }
            })}
        </Transition>
        <ConfirmDialog
            open=confirm_open
            title=Signal::derive(move || format!("Import {} {} as Taskbridge customers?", thousands(selection_count()), if selection_count() == 1 { "company" } else { "companies" }))
            body=Signal::derive(|| "Each becomes a customer with its name, Autotask ID, address and country, and its primary contact as the customer's admin. A row that breaks an import rule is marked FAILED with the reason; the others still import.".to_string())
            confirm_label="Import"
            constructive=true
            on_confirm=do_import
        >
            <ImportPlanSummary plan confirm_open />
        </ConfirmDialog>
    }
}

/// What the import will do: counts by outcome, with a way to the rows that would fail.
#[component]
fn ImportPlanSummary(plan: RwSignal<Option<Result<ImportPlan, AppError>>>, confirm_open: RwSignal<bool>) -> impl IntoView {
    let companies = |n: i64| format!("{} {}", thousands(n), if n == 1 { "company" } else { "companies" });
    view! {
        <div class="import-plan" data-testid="import-plan" role="status">
            {move || match plan.get() {
                None => view! { <p class="muted">"Working out what will happen\u{2026}"</p> }.into_any(),
                Some(Err(error)) => view! { <p class="field-error">{error.to_string()}</p> }.into_any(),
                Some(Ok(p)) => view! {
                    <ul class="plan-list">
                        <li data-testid="plan-create"><strong>{thousands(p.create)}</strong>{if p.create == 1 { " new customer" } else { " new customers" }}</li>
                        {(p.update > 0).then(|| view! {
                            <li data-testid="plan-update"><strong>{thousands(p.update)}</strong>{if p.update == 1 { " customer imported before, updated" } else { " customers imported before, updated" }}</li>
                        })}
                        {(p.link > 0).then(|| view! {
                            <li data-testid="plan-link">
                                <strong>{companies(p.link)}</strong>
                                " linked to the existing customer of the same name (its details kept)"
                            </li>
                        })}
                        {(p.fail > 0).then(|| view! {
                            <li data-testid="plan-fail">
                                <strong>{companies(p.fail)}</strong>
                                " would fail and stay as they are \u{2014} "
                                <a href="/companies?status=problem" on:click=move |_| confirm_open.set(false)>"show the companies with a problem"</a>
                            </li>
                        })}
                    </ul>
                }.into_any(),
            }}
        </div>
    }
}

/// Search box and filters; changes go to the URL (page back to 1).
#[component]
fn Filters(query: Memo<CompanyQuery>, set_query: Callback<CompanyQuery>, types: RwSignal<Vec<TypeOption>>) -> impl IntoView {
    let apply = move |f: &dyn Fn(&mut CompanyQuery)| {
        let mut q = query.get_untracked();
        f(&mut q);
        q.page = 1;
        set_query.run(q);
    };
    // Search as you type, after a short pause.
    let (search, on_input) = crate::components::search::use_search(
        Memo::new(move |_| query.with(|q| q.filter.search.clone())),
        Callback::new(move |text: String| apply(&|q| q.filter.search = text.clone())),
    );
    view! {
        <form class="toolbar" role="search" aria-label="Filter companies" on:submit=move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let text = search.get_untracked();
            apply(&|q| q.filter.search = text.clone());
        }>
            <div class="field grow">
                <label for="company-search">"Search"</label>
                <input id="company-search" type="search" placeholder="Name or Autotask ID" prop:value=search on:input=on_input autocomplete="off" />
            </div>
            <div class="field">
                <label for="company-type">"Type"</label>
                <select id="company-type" on:change=move |ev| {
                    let v = event_target_value(&ev);
                    apply(&|q| q.filter.company_type = v.parse().ok());
                }>
                    <option value="" selected=move || query.with(|q| q.filter.company_type.is_none())>"All types"</option>
                    {move || types.get().into_iter().map(|t: TypeOption| {
                        let value = t.value;
                        view! { <option value=value.to_string() selected=move || query.with(|q| q.filter.company_type == Some(value))>{format!("{} ({})", t.label, thousands(t.count))}</option> }
                    }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="company-active">"Active"</label>
                <select id="company-active" on:change=move |ev| {
                    let v = event_target_value(&ev);
                    apply(&|q| q.filter.active = match v.as_str() { "yes" => Some(true), "no" => Some(false), _ => None });
                }>
                    <option value="" selected=move || query.with(|q| q.filter.active.is_none())>"Active and inactive"</option>
                    <option value="yes" selected=move || query.with(|q| q.filter.active == Some(true))>"Active"</option>
                    <option value="no" selected=move || query.with(|q| q.filter.active == Some(false))>"Inactive"</option>
                </select>
            </div>
            <div class="field">
                <label for="company-status">"Import status"</label>
                <select id="company-status" on:change=move |ev| {
                    let v = event_target_value(&ev);
                    apply(&|q| q.filter.status = StatusFilter::parse(&v));
                }>
                    <option value="" selected=move || query.with(|q| q.filter.status.is_none())>"Any status"</option>
                    {[(StatusFilter::NotImported, "Not imported"), (StatusFilter::Problem, "Not imported, would fail"), (StatusFilter::Imported, "Imported"), (StatusFilter::Failed, "Failed")]
                        .into_iter()
                        .map(|(s, label)| view! { <option value=s.as_str() selected=move || query.with(|q| q.filter.status == Some(s))>{label}</option> })
                        .collect_view()}
                </select>
            </div>
            <crate::components::pager::RowsPerPage id="company-per" current=Signal::derive(move || query.with(|q| q.per_page)) on_change=Callback::new(move |v: u32| apply(&|q| q.per_page = v)) />
            <button type="submit" class="sr-only">"Search"</button>
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_round_trips_the_query() {
        let q = CompanyQuery {
            filter: CompanyFilter { search: "Acme & Co".into(), company_type: Some(1), active: Some(false), status: Some(StatusFilter::Failed) },
            sort: CompanySort::NameDesc,
            page: 3,
            per_page: 100,
        };
        let url = query_string(&q);
        let params = crate::format::query_params(&url);
        assert_eq!(query_from_params(|k| params.get(k).cloned()), q);
        assert_eq!(query_string(&CompanyQuery::default()), "/companies");
    }
}
