//! The event log: every backup event with what Taskbridge did with it (ticket opened,
//! note added, completed, not sent and why) and a link to its ticket in Autotask.
//! Filters and page live in the URL; the first page refreshes itself.

use crate::api::tickets::list_events;
use crate::components::badge::{Badge, Tone};
use crate::components::customer::{CustomerId, CustomerLink};
use crate::components::pager::Pager;
use crate::components::panel::{EmptyState, ErrorPanel, Loading, PageHeader};
use crate::components::time::Time;
use crate::components::url_query::use_url_query;
use crate::format::{count_of, encode_query_value, page_url};
use crate::types::tickets::{event_label, ticket_link, EventPage, EventQuery, EventRow, EventType, HeldCustomer, Outcome, EVENT_TYPES};
use leptos::prelude::*;

fn query_from_params(get: impl Fn(&str) -> Option<String>) -> EventQuery {
    EventQuery {
        search: get("q").unwrap_or_default(),
        event_type: get("type").filter(|t| EventType::parse(t).is_some()).unwrap_or_default(),
        severity: get("severity").filter(|s| ["ok", "warning", "error"].contains(&s.as_str())).unwrap_or_default(),
        outcome: get("outcome").filter(|o| Outcome::parse(o).is_some()).unwrap_or_default(),
        page: get("page").and_then(|v| v.parse().ok()).unwrap_or(1),
        per_page: crate::components::pager::per_page_param(get("per")),
    }
}

fn query_string(q: &EventQuery) -> String {
    let mut parts = Vec::new();
    for (k, v) in [("q", q.search.trim()), ("type", q.event_type.as_str()), ("severity", q.severity.as_str()), ("outcome", q.outcome.as_str())] {
        if !v.is_empty() {
            parts.push(format!("{k}={}", encode_query_value(v)));
        }
    }
    if q.page > 1 {
        parts.push(format!("page={}", q.page));
    }
    if q.per_page != 50 {
        parts.push(format!("per={}", q.per_page));
    }
    page_url("/events", &parts)
}

fn outcome_badge(row: &EventRow) -> AnyView {
    let tone = match row.outcome {
        Outcome::Opened | Outcome::Completed => Tone::Good,
        Outcome::Noted | Outcome::Coalesced => Tone::Muted,
        Outcome::Pending => Tone::Warn,
        Outcome::NotSent | Outcome::Failed => Tone::Bad,
        Outcome::Ignored => Tone::Muted,
    };
    match &row.note {
        Some(note) => view! { <Badge label=row.outcome.label() tone reason=note.clone() /> }.into_any(),
        None => view! { <Badge label=row.outcome.label() tone /> }.into_any(),
    }
}

fn severity_badge(severity: &str) -> AnyView {
    let tone = match severity {
        "error" => Tone::Bad,
        "warning" => Tone::Warn,
        _ => Tone::Good,
    };
    let label = match severity {
        "error" => "Error",
        "warning" => "Warning",
        _ => "OK",
    };
    view! { <Badge label tone /> }.into_any()
}

/// The log.
#[component]
pub fn EventLogPage() -> impl IntoView {
    let (query, set_query) = use_url_query(|get| query_from_params(get), query_string);
    // Live: the first page refreshes every 5 seconds.
    let tick = RwSignal::new(0u32);
    #[cfg(feature = "hydrate")]
    {
        if let Ok(handle) = set_interval_with_handle(
            move || {
                if query.get_untracked().page <= 1 {
                    tick.update(|n| *n += 1);
                }
            },
            std::time::Duration::from_secs(5),
        ) {
            on_cleanup(move || handle.clear());
        }
    }
    let list = Resource::new(move || (query.get(), tick.get()), |(q, _)| list_events(q));
    view! {
        <PageHeader title="Event log" lead="Every backup event the platform sent, and what Taskbridge did with it in Autotask. The first page updates itself.">
            <button type="button" class="btn" on:click=move |_| tick.update(|n| *n += 1)>"Refresh"</button>
        </PageHeader>
        <EventFilters query set_query />
        <Transition fallback=|| view! { <Loading what="the event log" /> }>
            {move || Suspend::new(async move {
                match list.await {
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                    Ok(page) => view! { <DispatchState page=page.clone() /> <EventTable page query set_query /> }.into_any(),
                }
            })}
        </Transition>
    }
    .into_any()
}

#[component]
fn DispatchState(page: EventPage) -> impl IntoView {
    let waiting = count_of(page.pending, "event is", "events are");
    view! {
        {page.problem.clone().map(|problem| view! {
            <div class="panel panel-warn" role="status" data-testid="dispatch-problem">
                <strong>"Ticket dispatch is paused"</strong>
                <p>{problem}</p>
                <p class="muted">
                    {page.paused_since.map(|at| view! { "Paused since " <Time ms=Some(at) /> ". " })}
                    {format!("{waiting} waiting; nothing is lost. ")}
                    {page.retry_at.map(|at| view! { "Next try " <Time ms=Some(at) /> " (sooner if Autotask answers again)." })}
                </p>
            </div>
        })}
        {(page.problem.is_none() && page.pending > 0).then(|| view! {
            <p class="muted" role="status">{format!("{} waiting to be sent\u{2026}", count_of(page.pending, "event", "events"))}</p>
        })}
        {(!page.held.is_empty()).then(|| view! { <HeldCustomers held=page.held.clone() /> })}
    }
    .into_any()
}

/// Customers held back on their own: their events wait, the others' go through.
#[component]
fn HeldCustomers(held: Vec<HeldCustomer>) -> impl IntoView {
    let title = format!("{} held back", count_of(held.len() as i64, "customer", "customers"));
    view! {
        <section class="panel panel-warn" aria-labelledby="held-title" data-testid="dispatch-held">
            <strong id="held-title">{title}</strong>
            <p class="muted">"Their tickets keep failing, so Taskbridge retries them on their own schedule while every other customer\u{2019}s tickets go through. Their events wait; nothing is lost."</p>
            <div class="table-wrap" tabindex="0" role="region" aria-labelledby="held-title"><table class="table">
                <thead><tr><th scope="col">"Customer"</th><th scope="col">"Why"</th><th scope="col">"Since"</th><th scope="col">"Next try"</th></tr></thead>
                <tbody>
                    {held.into_iter().map(|h| view! {
                        <tr>
                            <td>{h.customer}<span class="muted">{format!(" (ID {})", h.customer_id)}</span></td>
                            <td>{h.reason}</td>
                            <td class="nowrap"><Time ms=Some(h.since) /></td>
                            <td class="nowrap"><Time ms=Some(h.retry_at) /></td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table></div>
        </section>
    }
}

#[component]
fn EventFilters(query: Memo<EventQuery>, set_query: Callback<EventQuery>) -> impl IntoView {
    let search = RwSignal::new(query.get_untracked().search);
    Effect::new(move |_| {
        let s = query.with(|q| q.search.clone());
        if s.trim() != search.get_untracked().trim() {
            search.set(s);
        }
    });
    let apply = move |f: &dyn Fn(&mut EventQuery)| {
        let mut q = query.get_untracked();
        f(&mut q);
        q.page = 1;
        set_query.run(q);
    };
    view! {
        <form class="toolbar" role="search" aria-label="Filter events" on:submit=move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let text = search.get_untracked();
            apply(&|q| q.search = text.clone());
        }>
            <div class="field grow">
                <label for="event-search">"Search"</label>
                <input id="event-search" type="search" placeholder="Customer, device, event id or ticket number" prop:value=search on:input=move |ev| search.set(event_target_value(&ev)) on:change=move |ev| {
                    let text = event_target_value(&ev);
                    apply(&|q| q.search = text.clone());
                } autocomplete="off" />
            </div>
            <div class="field">
                <label for="event-type">"Event type"</label>
                <select id="event-type" on:change=move |ev| { let v = event_target_value(&ev); apply(&|q| q.event_type = v.clone()); }>
                    <option value="" selected=move || query.with(|q| q.event_type.is_empty())>"All types"</option>
                    {EVENT_TYPES.iter().map(|(_, code, label)| view! { <option value=*code selected=move || query.with(|q| q.event_type == *code)>{*label}</option> }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="event-severity">"Severity"</label>
                <select id="event-severity" on:change=move |ev| { let v = event_target_value(&ev); apply(&|q| q.severity = v.clone()); }>
                    {[("", "Any severity"), ("error", "Error"), ("warning", "Warning"), ("ok", "OK")].into_iter().map(|(v, l)| view! { <option value=v selected=move || query.with(|q| q.severity == v)>{l}</option> }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="event-outcome">"What was done"</label>
                <select id="event-outcome" on:change=move |ev| { let v = event_target_value(&ev); apply(&|q| q.outcome = v.clone()); }>
                    <option value="" selected=move || query.with(|q| q.outcome.is_empty())>"Anything"</option>
                    {Outcome::ALL.into_iter().map(|o| view! { <option value=o.as_str() selected=move || query.with(|q| q.outcome == o.as_str())>{o.label()}</option> }).collect_view()}
                </select>
            </div>
            <crate::components::pager::RowsPerPage id="event-per" current=Signal::derive(move || query.with(|q| q.per_page)) on_change=Callback::new(move |v: u32| apply(&|q| q.per_page = v)) />
            <button type="submit" class="sr-only">"Search"</button>
        </form>
    }
    .into_any()
}

#[component]
fn EventTable(page: EventPage, query: Memo<EventQuery>, set_query: Callback<EventQuery>) -> impl IntoView {
    if page.total == 0 {
        let filtered = query.with_untracked(|q| !q.search.is_empty() || !q.event_type.is_empty() || !q.severity.is_empty() || !q.outcome.is_empty());
        return if filtered {
            view! {
                <EmptyState title="No event matches these filters">
                    <button type="button" class="btn btn-small" on:click=move |_| set_query.run(EventQuery { per_page: query.get_untracked().per_page, ..EventQuery::default() })>"Clear the filters"</button>
                </EmptyState>
            }
            .into_any()
        } else {
            view! {
                <EmptyState title="No events yet">
                    "The backup platform posts events to " <code>"POST /api/v1/events"</code> " with an API token (see " <a href="/tokens">"API tokens"</a> "). Each one shows up here with what was done in Autotask."
                </EmptyState>
            }
            .into_any()
        };
    }
    let web_url = page.autotask_web_url.clone();
    let (total, current, per_page, shown) = (page.total, i64::from(page.page), i64::from(page.per_page), page.rows.len());
    let on_page = Callback::new(move |n: i64| {
        let mut q = query.get_untracked();
        q.page = u32::try_from(n).unwrap_or(1);
        set_query.run(q);
    });
    view! {
        <div class="table-wrap table-sticky">
            <table class="table" aria-label="Events">
                <thead>
                    <tr>
                        <th scope="col">"Received"</th>
                        <th scope="col">"Customer"</th>
                        <th scope="col">"Device"</th>
                        <th scope="col">"Event"</th>
                        <th scope="col">"What was done"</th>
                        <th scope="col">"Ticket"</th>
                    </tr>
                </thead>
                <tbody>
                    {page.rows.into_iter().map(|row| {
                        let link = row.ticket_id.and_then(|id| ticket_link(&web_url, id));
                        let ticket = row.ticket_number.clone().or(row.ticket_id.map(|id| id.to_string()));
                        let badge = outcome_badge(&row);
                        view! {
                            <tr data-event-id=row.event_id.to_string()>
                                <td class="nowrap"><Time ms=Some(row.received_at) /><br /><span class="muted small" title="When it happened">"occurred " <Time ms=Some(row.occurred_at) /></span></td>
                                <td><CustomerLink id=row.customer_id name=row.customer_name.clone() /><CustomerId id=row.customer_id /></td>
                                <td class="nowrap">{row.device.clone()}{(!row.job.is_empty()).then(|| view! { <br /><span class="muted small">{row.job.clone()}</span> })}</td>
                                <td>
                                    <span class="nowrap">{severity_badge(&row.severity)} " " {event_label(&row.event_type).to_string()}</span>
                                    {(!row.message.is_empty()).then(|| view! { <br /><span class="muted small">{row.message.clone()}</span> })}
                                    <br /><span class="muted small">{format!("id {}", row.external_id)}</span>
                                </td>
                                <td data-testid="outcome">{badge}{row.note.clone().map(|n| view! { <br /><span class="muted small">{n}</span> })}</td>
                                <td class="nowrap" data-testid="ticket">{match (ticket, link) {
                                    (Some(t), Some(href)) => view! { <a href=href target="_blank" rel="noopener" title="Open in Autotask">{t}</a> }.into_any(),
                                    (Some(t), None) => view! { <span>{t}</span> }.into_any(),
                                    (None, _) => view! { <span class="muted">"\u{2014}"</span> }.into_any(),
                                }}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
        <Pager total page=current per_page shown on_page />
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_round_trips_the_query() {
        let q = EventQuery {
            search: "Acme & Co".into(),
            event_type: "backup_failed".into(),
            severity: "error".into(),
            outcome: "not_sent".into(),
            page: 2,
            per_page: 100,
        };
        let url = query_string(&q);
        let params = crate::format::query_params(&url);
        assert_eq!(query_from_params(|k| params.get(k).cloned()), q);
        assert_eq!(query_string(&EventQuery::default()), "/events");
    }
}
