//! History: every run of the partner's integrations, newest first, filtered by kind,
//! outcome, who started it, customer, dates and words; a run opens on its own page with
//! the records it skipped or failed and why (`run.rs`). Filters and the page cursor live
//! in the URL. Settings changes (`changes.rs`) and a customer's timeline (`timeline.rs`)
//! sit beside it.

mod api_usage;
mod changes;
mod run;
mod timeline;

pub use api_usage::ApiUsagePage;
pub use changes::ChangesPage;
pub use run::RunDetailPage;
pub use timeline::CustomerTimelinePage;

use crate::api::history::list_runs;
use crate::components::badge::{Badge, Tone};
use crate::components::panel::{EmptyState, ErrorPanel, Loading, PageHeader};
use crate::components::time::Time;
use crate::components::url_query::use_url_query;
use crate::format::{encode_query_value, page_url, thousands};
use crate::types::history::{RunKind, RunOutcome, RunPage, RunQuery, RunRow, Trigger};
use leptos::prelude::*;
use leptos_router::components::A;

fn query_from_params(get: impl Fn(&str) -> Option<String>) -> RunQuery {
    RunQuery {
        kind: get("kind").filter(|k| RunKind::parse(k).is_some()).unwrap_or_default(),
        outcome: get("outcome").filter(|o| RunOutcome::parse(o).is_some()).unwrap_or_default(),
        trigger: get("by").filter(|t| Trigger::parse(t).is_some()).unwrap_or_default(),
        customer_id: get("customer").and_then(|c| c.parse().ok()),
        from: get("from").unwrap_or_default(),
        to: get("to").unwrap_or_default(),
        search: get("q").unwrap_or_default(),
        before: get("before").and_then(|v| v.parse().ok()),
        after: get("after").and_then(|v| v.parse().ok()),
    }
}

fn query_string(q: &RunQuery) -> String {
    let mut parts = Vec::new();
    let customer = q.customer_id.map(|c| c.to_string()).unwrap_or_default();
    let (before, after) = (q.before.map(|v| v.to_string()).unwrap_or_default(), q.after.map(|v| v.to_string()).unwrap_or_default());
    for (k, v) in [
        ("q", q.search.trim()),
        ("kind", q.kind.as_str()),
        ("outcome", q.outcome.as_str()),
        ("by", q.trigger.as_str()),
        ("customer", customer.as_str()),
        ("from", q.from.as_str()),
        ("to", q.to.as_str()),
        ("before", before.as_str()),
        ("after", after.as_str()),
    ] {
        if !v.is_empty() {
            parts.push(format!("{k}={}", encode_query_value(v)));
        }
    }
    page_url("/history", &parts)
}

/// The coloured word for a run's outcome.
pub fn outcome_badge(outcome: RunOutcome) -> AnyView {
    let tone = match outcome {
        RunOutcome::Ok => Tone::Good,
        RunOutcome::Partial => Tone::Warn,
        RunOutcome::Failed => Tone::Bad,
    };
    view! { <Badge label=outcome.label() tone /> }.into_any()
}

pub(super) fn counts(run: &RunRow) -> String {
    let mut parts = vec![format!("{} done", thousands(run.done))];
    if run.skipped > 0 {
        parts.push(format!("{} skipped", thousands(run.skipped)));
    }
    if run.failed > 0 {
        parts.push(format!("{} failed", thousands(run.failed)));
    }
    parts.join(" \u{b7} ")
}

pub(super) fn duration(run: &RunRow) -> String {
    let ms = (run.finished_at - run.started_at).max(0);
    match ms {
        0..=999 => format!("{ms} ms"),
        1_000..=59_999 => format!("{:.1} s", ms as f64 / 1000.0),
        _ => format!("{} min {} s", ms / 60_000, (ms % 60_000) / 1000),
    }
}

/// The text of a filter's search box, following the URL's (a cleared filter empties it).
pub(super) fn search_text<Q: Clone + PartialEq + Send + Sync + 'static>(query: Memo<Q>, of: fn(&Q) -> String) -> RwSignal<String> {
    let search = RwSignal::new(query.with_untracked(of));
    Effect::new(move |_| {
        let s = query.with(of);
        if s.trim() != search.get_untracked().trim() {
            search.set(s);
        }
    });
    search
}

/// The search box of a History filter: applied on Enter (the form's submit) and on change.
pub(super) fn search_field(id: &'static str, placeholder: &'static str, search: RwSignal<String>, apply: Callback<String>) -> impl IntoView {
    view! {
        <div class="field grow">
            <label for=id>"Search"</label>
            <input id=id type="search" placeholder=placeholder prop:value=search on:input=move |ev| search.set(event_target_value(&ev))
                on:change=move |ev| apply.run(event_target_value(&ev)) autocomplete="off" />
        </div>
    }
}

/// The From and To days of a History filter (`{prefix}-from`, `{prefix}-to`).
pub(super) fn day_fields(prefix: &'static str, from: Signal<String>, to: Signal<String>, set: Callback<(bool, String)>) -> impl IntoView {
    let (from_id, to_id) = (format!("{prefix}-from"), format!("{prefix}-to"));
    view! {
        <div class="field">
            <label for=from_id.clone()>"From"</label>
            <input id=from_id type="date" prop:value=from on:change=move |ev| set.run((true, event_target_value(&ev))) />
        </div>
        <div class="field">
            <label for=to_id.clone()>"To"</label>
            <input id=to_id type="date" prop:value=to on:change=move |ev| set.run((false, event_target_value(&ev))) />
        </div>
    }
}

/// Newest / Newer / Older over a list paged by cursor; `go(before, after)` opens a page.
pub(super) fn cursor_pager(label: &'static str, newer: Option<i64>, older: Option<i64>, go: Callback<(Option<i64>, Option<i64>)>) -> impl IntoView {
    view! {
        <nav class="pager" aria-label=label>
            <button type="button" class="btn btn-small" disabled=newer.is_none() on:click=move |_| go.run((None, None))>"Newest"</button>
            <button type="button" class="btn btn-small" disabled=newer.is_none() on:click=move |_| go.run((None, newer))>"\u{2190} Newer"</button>
            <button type="button" class="btn btn-small" disabled=older.is_none() on:click=move |_| go.run((older, None))>"Older \u{2192}"</button>
        </nav>
    }
}

/// The History's two lists; `current` is "runs", "changes" or "" (neither).
#[component]
pub fn HistoryTabs(current: &'static str) -> impl IntoView {
    let tab = move |key: &'static str, href: &'static str, label: &'static str| {
        // A plain link: the router's would mark "/history" current on every page under it.
        view! { <a href=href class="tab" aria-current=(current == key).then_some("page")>{label}</a> }
    };
    view! {
        <nav class="tabs" aria-label="History lists">
            {tab("runs", "/history", "Runs")}
            {tab("changes", "/history/changes", "Settings changes")}
            {tab("usage", "/history/usage", "Autotask API usage")}
        </nav>
    }
}

/// The list.
#[component]
pub fn HistoryPage() -> impl IntoView {
    let (query, set_query) = use_url_query(|get| query_from_params(get), query_string);
    let list = Resource::new(move || query.get(), list_runs);
    view! {
        <PageHeader title="History" lead="Every import, sync, billing push and test: who or what started it, how it ended, and each record it skipped or failed, with why." />
        <HistoryTabs current="runs" />
        <RunFilters query set_query />
        <Transition fallback=|| view! { <Loading what="the history" /> }>
            {move || Suspend::new(async move {
                match list.await {
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                    Ok(page) => view! { <RunTable page query set_query /> }.into_any(),
                }
            })}
        </Transition>
    }
    .into_any()
}

#[component]
fn RunFilters(query: Memo<RunQuery>, set_query: Callback<RunQuery>) -> impl IntoView {
    let search = search_text(query, |q: &RunQuery| q.search.clone());
    // Any change of filter starts again from the newest run.
    let apply = move |f: &dyn Fn(&mut RunQuery)| {
        let mut q = query.get_untracked();
        f(&mut q);
        q.before = None;
        q.after = None;
        set_query.run(q);
    };
    view! {
        <form class="toolbar" role="search" aria-label="Filter the history" on:submit=move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let text = search.get_untracked();
            apply(&|q| q.search = text.clone());
        }>
            {search_field("run-search", "Customer, reason, user or summary", search, Callback::new(move |text: String| apply(&|q| q.search = text.clone())))}
            <div class="field">
                <label for="run-kind">"Kind"</label>
                <select id="run-kind" on:change=move |ev| { let v = event_target_value(&ev); apply(&|q| q.kind = v.clone()); }>
                    <option value="" selected=move || query.with(|q| q.kind.is_empty())>"All kinds"</option>
                    {RunKind::ALL.into_iter().map(|k| view! { <option value=k.as_str() selected=move || query.with(|q| q.kind == k.as_str())>{k.label()}</option> }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="run-outcome">"Outcome"</label>
                <select id="run-outcome" on:change=move |ev| { let v = event_target_value(&ev); apply(&|q| q.outcome = v.clone()); }>
                    <option value="" selected=move || query.with(|q| q.outcome.is_empty())>"Any outcome"</option>
                    {RunOutcome::ALL.into_iter().map(|o| view! { <option value=o.as_str() selected=move || query.with(|q| q.outcome == o.as_str())>{o.label()}</option> }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="run-by">"Started by"</label>
                <select id="run-by" on:change=move |ev| { let v = event_target_value(&ev); apply(&|q| q.trigger = v.clone()); }>
                    <option value="" selected=move || query.with(|q| q.trigger.is_empty())>"Anyone"</option>
                    {Trigger::ALL.into_iter().map(|t| view! { <option value=t.as_str() selected=move || query.with(|q| q.trigger == t.as_str())>{t.label()}</option> }).collect_view()}
                </select>
            </div>
            {day_fields(
                "run",
                Signal::derive(move || query.with(|q| q.from.clone())),
                Signal::derive(move || query.with(|q| q.to.clone())),
                Callback::new(move |(from, day): (bool, String)| apply(&|q| if from { q.from = day.clone() } else { q.to = day.clone() })),
            )}
            <button type="submit" class="sr-only">"Search"</button>
        </form>
    }
    .into_any()
}

#[component]
fn RunTable(page: RunPage, query: Memo<RunQuery>, set_query: Callback<RunQuery>) -> impl IntoView {
    let customer = page.customer_name.clone().map(|name| {
        view! {
            <p class="muted" role="status" data-testid="history-customer">
                {format!("Runs that concern {name}. ")}
                {query.with_untracked(|q| q.customer_id).map(|id| view! { <A href=format!("/history/customer/{id}")>"Open the customer's timeline"</A> " " })}
                <button type="button" class="btn btn-small btn-quiet" on:click=move |_| set_query.run(RunQuery { customer_id: None, ..query.get_untracked() })>"Show every customer"</button>
            </p>
        }
    });
    if page.rows.is_empty() {
        let filtered = query.with_untracked(RunQuery::filtered);
        let empty = if filtered {
            view! {
                <EmptyState title="No run matches these filters">
                    <button type="button" class="btn btn-small" on:click=move |_| set_query.run(RunQuery::default())>"Clear the filters"</button>
                </EmptyState>
            }
            .into_any()
        } else {
            view! {
                <EmptyState title="Nothing has run yet">
                    "Imports, syncs, billing pushes, connection tests and test tickets are listed here as they finish, with every record they skipped or failed. Start with "
                    <a href="/setup">"Setup"</a> "."
                </EmptyState>
            }
            .into_any()
        };
        return view! { {customer} {empty} }.into_any();
    }
    let go = move |before: Option<i64>, after: Option<i64>| {
        let q = RunQuery { before, after, ..query.get_untracked() };
        set_query.run(q);
    };
    let (older, newer) = (page.older, page.newer);
    view! {
        {customer}
        <div class="table-wrap table-sticky">
            <table class="table" aria-label="Runs">
                <thead>
                    <tr>
                        <th scope="col">"Started"</th>
                        <th scope="col">"Kind"</th>
                        <th scope="col">"Started by"</th>
                        <th scope="col">"Outcome"</th>
                        <th scope="col">"Records"</th>
                        <th scope="col">"Summary"</th>
                    </tr>
                </thead>
                <tbody>
                    {page.rows.into_iter().map(|run| {
                        let href = format!("/history/{}", run.run_id);
                        let label = run.kind.label();
                        view! {
                            <tr data-run-id=run.run_id.to_string()>
                                <td class="nowrap"><Time ms=Some(run.started_at) /><br /><span class="muted small">{duration(&run)}</span></td>
                                <td class="nowrap"><A href=href attr:aria-label=format!("Open run {}: {label}", run.run_id)>{label}</A></td>
                                <td>{run.started_by.clone()}</td>
                                <td data-testid="run-outcome">{outcome_badge(run.outcome)}</td>
                                <td class="nowrap">{counts(&run)}</td>
                                <td>{run.summary.clone()}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
        {cursor_pager("History pages", newer, older, Callback::new(move |(before, after)| go(before, after)))}
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_round_trips_the_query() {
        let q = RunQuery {
            kind: "push".into(),
            outcome: "partial".into(),
            trigger: "schedule".into(),
            customer_id: Some(42),
            from: "2026-12-01".into(),
            to: "2026-12-03".into(),
            search: "Acme & Co".into(),
            before: Some(900),
            after: None,
        };
        let url = query_string(&q);
        let params = crate::format::query_params(&url);
        assert_eq!(query_from_params(|k| params.get(k).cloned()), q);
        assert_eq!(query_string(&RunQuery::default()), "/history");
    }

    #[test]
    fn durations_read_naturally() {
        let run = |ms: i64| RunRow {
            run_id: 1,
            kind: RunKind::Push,
            trigger: Trigger::User,
            started_by: "a@b.example".into(),
            started_at: 0,
            finished_at: ms,
            outcome: RunOutcome::Ok,
            done: 1,
            skipped: 0,
            failed: 2,
            summary: String::new(),
            retry_of: None,
            log_key: String::new(),
        };
        assert_eq!(duration(&run(420)), "420 ms");
        assert_eq!(duration(&run(12_340)), "12.3 s");
        assert_eq!(duration(&run(125_000)), "2 min 5 s");
        assert_eq!(counts(&run(0)), "1 done \u{b7} 2 failed");
    }
}
