//! The Clients page (seed 004): the Autotask companies the customer sync follows, with
//! their customer, synced details and contracts, what each last round changed, what a
//! hand edit will lose at the next round, Sync now and Retry. Filters live in the URL.

mod table;

use crate::api::sync::{latest_sync_job, list_clients, sync_now};
use crate::components::job::JobProgress;
use crate::components::layout::Me;
use crate::components::panel::{EmptyState, ErrorPanel, Loading, PageHeader};
use crate::error::AppError;
use crate::format::{encode_query_value, page_url};
use crate::pages::sync_settings::last_round;
use crate::types::companies::{JobState, JobView};
use crate::types::sync::{ClientFilter, ClientQuery, ClientState};
use leptos::prelude::*;
use table::ClientTable;

const STATES: &[ClientState] = &[ClientState::Synced, ClientState::Failed, ClientState::Skipped, ClientState::NotQualifying];

fn query_from_params(get: impl Fn(&str) -> Option<String>) -> ClientQuery {
    ClientQuery {
        filter: ClientFilter {
            q: get("q").unwrap_or_default(),
            state: get("state").and_then(|v| ClientState::parse(&v)),
            has_contracts: get("contracts").and_then(|v| match v.as_str() {
                "yes" => Some(true),
                "no" => Some(false),
                _ => None,
            }),
        },
        page: get("page").and_then(|v| v.parse().ok()).filter(|n| *n >= 1).unwrap_or(1),
        per_page: crate::components::pager::per_page_param(get("per")),
    }
}

fn query_string(q: &ClientQuery) -> String {
    let mut parts = Vec::new();
    if !q.filter.q.trim().is_empty() {
        parts.push(format!("q={}", encode_query_value(q.filter.q.trim())));
    }
    if let Some(s) = q.filter.state {
        parts.push(format!("state={}", s.as_str()));
    }
    if let Some(c) = q.filter.has_contracts {
        parts.push(format!("contracts={}", if c { "yes" } else { "no" }));
    }
    if q.page > 1 {
        parts.push(format!("page={}", q.page));
    }
    if q.per_page != 50 {
        parts.push(format!("per={}", q.per_page));
    }
    page_url("/clients", &parts)
}

/// The followed companies, Sync now and Retry.
#[component]
pub fn ClientsPage() -> impl IntoView {
    let me = expect_context::<Me>().0;
    let (query, put_query) = crate::components::url_query::use_url_query(|get| query_from_params(get), query_string);
    let set_query = move |f: &dyn Fn(&mut ClientQuery)| {
        let mut q = query.get_untracked();
        f(&mut q);
        put_query.run(q);
    };
    let reload = RwSignal::new(0u32);
    let list = Resource::new(move || (query.get(), reload.get()), |(q, _)| list_clients(q));
    let job = RwSignal::new(None::<JobView>);
    let error = RwSignal::new(None::<AppError>);
    let latest = Resource::new(|| (), |_| latest_sync_job());
    Effect::new(move |_| {
        if let Some(Ok(j)) = latest.get() {
            job.set(j);
        }
    });
    let on_finish = Callback::new(move |_: JobView| reload.update(|n| *n += 1));
    let running = move || job.with(|j| j.as_ref().is_some_and(|j| j.state == JobState::Running));
    // Whether a sync type is on, as the last page said (None until it loaded).
    let sync_on = RwSignal::new(None::<bool>);
    let start = move |_| {
        error.set(None);
        leptos::task::spawn_local(async move {
            match sync_now().await {
                Ok(j) => job.set(Some(j)),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <PageHeader title="Clients" lead="Your active Autotask customers and their contracts, kept up to date by the customer sync. Autotask is the source: edits made here are put back at the next round.">
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let is_admin = me.await.is_ok_and(|m| m.is_admin());
                    is_admin.then(|| view! {
                        <button type="button" class="btn btn-primary" data-testid="sync-now" disabled=move || running() || sync_on.get() == Some(false)
                            title=move || (sync_on.get() == Some(false)).then_some("Switch on a sync type under Customer sync on the Setup page first.") on:click=start>
                            {move || if running() { "Syncing\u{2026}" } else { "Sync now" }}
                        </button>
                    })
                })}
            </Suspense>
        </PageHeader>
        {move || error.get().map(|error| view! { <ErrorPanel error /> })}
        <JobProgress job on_finish />
        <Filters query set_query=Callback::new(move |q: ClientQuery| set_query(&|cur| *cur = q.clone())) />
        <Transition fallback=|| view! { <Loading what="clients" /> }>
            {move || Suspend::new(async move {
                let is_admin = me.await.is_ok_and(|m| m.is_admin());
                let page = list.await;
                if let Ok(p) = &page {
                    sync_on.set(Some(p.settings.input.customers || p.settings.input.contracts));
                }
                match page {
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                    Ok(page) if page.followed == 0 => {
                        let on = page.settings.input.customers || page.settings.input.contracts;
                        view! {
                            {last_round(&page.settings)}
                            <EmptyState title="No synced customers yet">
                                {if on {
                                    view! { "The first round brings in every active Customer of your Autotask. " {if is_admin { "Press Sync now to run it at once." } else { "It runs within minutes." }} }.into_any()
                                } else {
                                    view! { "Switch on Active customers or Active customer contracts under Customer sync on the " <a href="/setup#sync-settings-title">"Setup"</a> " page." }.into_any()
                                }}
                            </EmptyState>
                        }.into_any()
                    }
                    Ok(page) if page.total == 0 => view! {
                        {last_round(&page.settings)}
                        <EmptyState title="No client matches these filters">
                            <button type="button" class="btn btn-small" on:click=move |_| set_query(&|q| *q = ClientQuery { filter: ClientFilter::default(), page: 1, per_page: q.per_page })>"Clear the filters"</button>
                        </EmptyState>
                    }.into_any(),
                    Ok(page) => view! {
                        {last_round(&page.settings)}
                        <ClientTable page is_admin reload set_page=Callback::new(move |n: u32| set_query(&|q| q.page = n)) />
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

/// Search, state and contracts filters; changes go to the URL (page back to 1).
#[component]
fn Filters(query: Memo<ClientQuery>, set_query: Callback<ClientQuery>) -> impl IntoView {
    let apply = move |f: &dyn Fn(&mut ClientQuery)| {
        let mut q = query.get_untracked();
        f(&mut q);
        q.page = 1;
        set_query.run(q);
    };
    let (search, on_input) = crate::components::search::use_search(
        Memo::new(move |_| query.with(|q| q.filter.q.clone())),
        Callback::new(move |text: String| apply(&|q| q.filter.q = text.clone())),
    );
    view! {
        <form class="toolbar" role="search" aria-label="Filter clients" on:submit=move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let text = search.get_untracked();
            apply(&|q| q.filter.q = text.clone());
        }>
            <div class="field grow">
                <label for="client-search">"Search"</label>
                <input id="client-search" type="search" placeholder="Name, email, phone, web site or Autotask ID" prop:value=search on:input=on_input autocomplete="off" />
            </div>
            <div class="field">
                <label for="client-state">"Sync state"</label>
                <select id="client-state" on:change=move |ev| {
                    let v = event_target_value(&ev);
                    apply(&|q| q.filter.state = ClientState::parse(&v));
                }>
                    <option value="" selected=move || query.with(|q| q.filter.state.is_none())>"Any state"</option>
                    {STATES.iter().map(|s| {
                        let s = *s;
                        view! { <option value=s.as_str() selected=move || query.with(|q| q.filter.state == Some(s))>{s.label()}</option> }
                    }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="client-contracts">"Contracts"</label>
                <select id="client-contracts" on:change=move |ev| {
                    let v = event_target_value(&ev);
                    apply(&|q| q.filter.has_contracts = match v.as_str() { "yes" => Some(true), "no" => Some(false), _ => None });
                }>
                    <option value="" selected=move || query.with(|q| q.filter.has_contracts.is_none())>"With or without"</option>
                    <option value="yes" selected=move || query.with(|q| q.filter.has_contracts == Some(true))>"With contracts"</option>
                    <option value="no" selected=move || query.with(|q| q.filter.has_contracts == Some(false))>"Without contracts"</option>
                </select>
            </div>
            <crate::components::pager::RowsPerPage id="client-per" current=Signal::derive(move || query.with(|q| q.per_page)) on_change=Callback::new(move |v: u32| apply(&|q| q.per_page = v)) />
            <button type="submit" class="sr-only">"Search"</button>
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_round_trips_the_query() {
        let q = ClientQuery {
            filter: ClientFilter { q: "Harbor & Sons".into(), state: Some(ClientState::NotQualifying), has_contracts: Some(false) },
            page: 3,
            per_page: 100,
        };
        let url = query_string(&q);
        let params = crate::format::query_params(&url);
        assert_eq!(query_from_params(|k| params.get(k).cloned()), q);
        assert_eq!(query_string(&ClientQuery { filter: ClientFilter::default(), page: 1, per_page: 50 }), "/clients");
    }
}
