//! Settings changes (`/history/changes`): who changed which setting when, each with its
//! values before and after, filtered by part of the settings, customer, dates and words;
//! and how long the partner keeps its history (admins change it).

use super::{cursor_pager, day_fields, search_field, search_text, HistoryTabs};
use crate::api::history::{history_retention, list_changes, SaveHistoryRetention};
use crate::components::badge::{Badge, Tone};
use crate::components::panel::{EmptyState, ErrorPanel, Loading, PageHeader};
use crate::components::time::Time;
use crate::components::url_query::use_url_query;
use crate::format::{encode_query_value, page_url};
use crate::types::history::{ChangeArea, ChangeEntry, ChangePage, ChangeQuery};
use leptos::prelude::*;
use leptos_router::components::A;

fn query_from_params(get: impl Fn(&str) -> Option<String>) -> ChangeQuery {
    ChangeQuery {
        area: get("area").filter(|a| ChangeArea::parse(a).is_some()).unwrap_or_default(),
        customer_id: get("customer").and_then(|c| c.parse().ok()),
        from: get("from").unwrap_or_default(),
        to: get("to").unwrap_or_default(),
        search: get("q").unwrap_or_default(),
        before: get("before").and_then(|v| v.parse().ok()),
        after: get("after").and_then(|v| v.parse().ok()),
    }
}

fn query_string(q: &ChangeQuery) -> String {
    let num = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
    let (customer, before, after) = (num(q.customer_id), num(q.before), num(q.after));
    let parts: Vec<String> = [
        ("q", q.search.trim()),
        ("area", q.area.as_str()),
        ("customer", customer.as_str()),
        ("from", q.from.as_str()),
        ("to", q.to.as_str()),
        ("before", before.as_str()),
        ("after", after.as_str()),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .map(|(k, v)| format!("{k}={}", encode_query_value(v)))
    .collect();
    page_url("/history/changes", &parts)
}

/// The list of settings changes.
#[component]
pub fn ChangesPage() -> impl IntoView {
    let (query, set_query) = use_url_query(|get| query_from_params(get), query_string);
    let list = Resource::new(move || query.get(), list_changes);
    view! {
        <PageHeader title="History" lead="Who changed which setting, when, and what it was before." />
        <HistoryTabs current="changes" />
        <ChangeFilters query set_query />
        <Transition fallback=|| view! { <Loading what="the settings changes" /> }>
            {move || Suspend::new(async move {
                match list.await {
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                    Ok(page) => view! { <ChangeTable page query set_query /> }.into_any(),
                }
            })}
        </Transition>
        <Retention />
    }
    .into_any()
}

#[component]
fn ChangeFilters(query: Memo<ChangeQuery>, set_query: Callback<ChangeQuery>) -> impl IntoView {
    let search = search_text(query, |q: &ChangeQuery| q.search.clone());
    let apply = move |f: &dyn Fn(&mut ChangeQuery)| {
        let mut q = query.get_untracked();
        f(&mut q);
        q.before = None;
        q.after = None;
        set_query.run(q);
    };
    view! {
        <form class="toolbar" role="search" aria-label="Filter the settings changes" on:submit=move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let text = search.get_untracked();
            apply(&|q| q.search = text.clone());
        }>
            {search_field("change-search", "User, setting or value", search, Callback::new(move |text: String| apply(&|q| q.search = text.clone())))}
            <div class="field">
                <label for="change-area">"Settings"</label>
                <select id="change-area" on:change=move |ev| { let v = event_target_value(&ev); apply(&|q| q.area = v.clone()); }>
                    <option value="" selected=move || query.with(|q| q.area.is_empty())>"All settings"</option>
                    {ChangeArea::ALL.into_iter().map(|a| view! { <option value=a.as_str() selected=move || query.with(|q| q.area == a.as_str())>{a.label()}</option> }).collect_view()}
                </select>
            </div>
            {day_fields(
                "change",
                Signal::derive(move || query.with(|q| q.from.clone())),
                Signal::derive(move || query.with(|q| q.to.clone())),
                Callback::new(move |(from, day): (bool, String)| apply(&|q| if from { q.from = day.clone() } else { q.to = day.clone() })),
            )}
            <button type="submit" class="sr-only">"Search"</button>
        </form>
    }
    .into_any()
}

/// The values before and after, as a small table (nothing for entries without values).
pub fn values_table(entry: &ChangeEntry) -> AnyView {
    if entry.changes.is_empty() {
        return ().into_any();
    }
    view! {
        <table class="table table-compact values" aria-label="Values before and after">
            <thead><tr><th scope="col">"Setting"</th><th scope="col">"Before"</th><th scope="col">"After"</th></tr></thead>
            <tbody>
                {entry.changes.iter().map(|c| view! {
                    <tr><td>{c.field.clone()}</td><td class="was">{c.before.clone()}</td><td>{c.after.clone()}</td></tr>
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

#[component]
fn ChangeTable(page: ChangePage, query: Memo<ChangeQuery>, set_query: Callback<ChangeQuery>) -> impl IntoView {
    let customer = page.customer_name.clone().map(|name| {
        view! {
            <p class="muted" role="status">
                {format!("Changes to {name}. ")}
                <button type="button" class="btn btn-small btn-quiet" on:click=move |_| set_query.run(ChangeQuery { customer_id: None, ..query.get_untracked() })>"Show every change"</button>
            </p>
        }
    });
    if page.rows.is_empty() {
        let empty = if query.with_untracked(ChangeQuery::filtered) {
            view! {
                <EmptyState title="No change matches these filters">
                    <button type="button" class="btn btn-small" on:click=move |_| set_query.run(ChangeQuery::default())>"Clear the filters"</button>
                </EmptyState>
            }
            .into_any()
        } else {
            view! { <EmptyState title="No settings have changed yet">"Changes to the connection, tickets, notifications, billing, sync, the Customer Map, users and API tokens are listed here with their values before and after."</EmptyState> }.into_any()
        };
        return view! { {customer} {empty} }.into_any();
    }
    let go = move |before: Option<i64>, after: Option<i64>| set_query.run(ChangeQuery { before, after, ..query.get_untracked() });
    let (older, newer) = (page.older, page.newer);
    view! {
        {customer}
        <div class="table-wrap table-sticky" tabindex="0" role="region" aria-label="Settings changes">
            <table class="table" aria-label="Settings changes">
                <thead>
                    <tr>
                        <th scope="col">"When"</th>
                        <th scope="col">"Who"</th>
                        <th scope="col">"Settings"</th>
                        <th scope="col">"What changed"</th>
                    </tr>
                </thead>
                <tbody>
                    {page.rows.into_iter().map(|c| {
                        let customer = c.customer_id.map(|id| view! { <A href=format!("/history/customer/{id}") attr:class="small">"Customer timeline"</A> });
                        view! {
                            <tr data-change-id=c.change_id.to_string()>
                                <td class="nowrap"><Time ms=Some(c.at) /></td>
                                <td>{c.actor.clone()}</td>
                                <td class="nowrap"><Badge label=c.area.label() tone=Tone::Muted /></td>
                                <td>
                                    <div>{c.summary.clone()} " " {customer}</div>
                                    {values_table(&c)}
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
        {cursor_pager("Settings change pages", newer, older, Callback::new(move |(before, after)| go(before, after)))}
    }
    .into_any()
}

/// How long the history is kept; admins change it here.
#[component]
fn Retention() -> impl IntoView {
    let me = expect_context::<crate::components::layout::Me>().0;
    let save = ServerAction::<SaveHistoryRetention>::new();
    let saved = crate::components::saved::saves(save);
    let days = Resource::new(move || saved.get(), |_| history_retention());
    let typed = RwSignal::new(String::new());
    view! {
        <section class="card retention" aria-labelledby="retention-title">
            <h2 id="retention-title">"Keeping the history"</h2>
            <Transition fallback=|| view! { <Loading what="the retention" /> }>
                {move || Suspend::new(async move {
                    let is_admin = me.await.is_ok_and(|m| m.is_admin());
                    match days.await {
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                        Ok(d) if !is_admin => view! { <p>{format!("Runs and settings changes are kept for {d} days, then removed. An admin can change this.")}</p> }.into_any(),
                        Ok(d) => {
                            typed.set(d.to_string());
                            view! {
                                <ActionForm action=save attr:class="inline-form">
                                    <div class="field">
                                        <label for="retention-days">"Keep runs and settings changes for (days)"</label>
                                        <input id="retention-days" name="days" type="number" min="30" max="3650" required prop:value=typed on:input=move |ev| typed.set(event_target_value(&ev)) />
                                    </div>
                                    <button type="submit" class="btn" disabled=move || save.pending().get()>"Save"</button>
                                </ActionForm>
                                <p class="muted small">"Older entries are removed in the background, a few hundred at a time."</p>
                            }.into_any()
                        }
                    }
                })}
            </Transition>
            {move || match save.value().get() {
                Some(Ok(d)) => view! { <p class="muted" role="status">{format!("Saved. History is kept for {d} days.")}</p> }.into_any(),
                Some(Err(error)) => view! { <ErrorPanel error /> }.into_any(),
                None => ().into_any(),
            }}
        </section>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_round_trips_the_query() {
        let q = ChangeQuery {
            area: "billing".into(),
            customer_id: Some(7),
            from: "2026-12-01".into(),
            to: String::new(),
            search: "queue & co".into(),
            before: None,
            after: Some(31),
        };
        let params = crate::format::query_params(&query_string(&q));
        assert_eq!(query_from_params(|k| params.get(k).cloned()), q);
        assert_eq!(query_string(&ChangeQuery::default()), "/history/changes");
    }
}
