//! A customer's timeline (`/history/customer/ID`): everything that happened to one
//! customer, newest first — runs that skipped or failed its records (with why), its
//! tickets, the quantities billed to its contract, and changes to its link and contract.

use super::changes::values_table;
use super::{outcome_badge, HistoryTabs};
use crate::api::history::customer_timeline;
use crate::components::badge::{Badge, Tone};
use crate::components::panel::{EmptyState, ErrorPanel, Loading, PageHeader};
use crate::components::time::Time;
use crate::format::{count_of, thousands};
use crate::types::history::{Timeline, TimelineItem};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_params_map, use_query_map};

/// One customer's timeline.
#[component]
pub fn CustomerTimelinePage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let customer = Memo::new(move |_| params.with(|p| p.get("id").and_then(|id| id.parse::<i64>().ok())));
    let before = Memo::new(move |_| query.with(|q| q.get("before").and_then(|v| v.parse::<i64>().ok())));
    let page = Resource::new(
        move || (customer.get(), before.get()),
        |(id, before)| async move {
            match id {
                Some(id) => customer_timeline(id, before).await,
                None => Err(crate::error::AppError::NotFound),
            }
        },
    );
    view! {
        <Transition fallback=|| view! { <Loading what="the timeline" /> }>
            {move || Suspend::new(async move {
                match page.await {
                    Err(error) => view! {
                        <PageHeader title="Customer timeline" lead="This customer's timeline could not be shown." />
                        <ErrorPanel error />
                        <p><A href="/history">"Back to the History"</A></p>
                    }.into_any(),
                    Ok(t) => view! { <TimelineView timeline=t first_page=before.get_untracked().is_none() /> }.into_any(),
                }
            })}
        </Transition>
    }
    .into_any()
}

#[component]
fn TimelineView(timeline: Timeline, first_page: bool) -> impl IntoView {
    let id = timeline.customer_id;
    let lead = format!("Everything that happened to {} (customer ID {id}), newest first.", timeline.customer_name);
    let older = timeline.older.map(|t| format!("/history/customer/{id}?before={t}"));
    let body = if timeline.items.is_empty() {
        view! {
            <EmptyState title=if first_page { "Nothing has happened to this customer yet" } else { "Nothing older" }>
                "Runs that skip or fail its records, its tickets, billing writes and changes to its link show here."
            </EmptyState>
        }
        .into_any()
    } else {
        view! {
            <ol class="timeline" aria-label="Timeline">
                {timeline.items.into_iter().map(item).collect_view()}
            </ol>
        }
        .into_any()
    };
    view! {
        <PageHeader title=format!("Timeline: {}", timeline.customer_name) lead />
        <HistoryTabs current="" />
        <p class="toolbar-links">
            <A href=format!("/history?customer={id}")>"Runs about this customer"</A>
            " \u{b7} "
            <A href=format!("/history/changes?customer={id}")>"Changes to this customer"</A>
            " \u{b7} "
            <A href=format!("/map?q={id}")>"Customer Map"</A>
        </p>
        {body}
        <nav class="pager" aria-label="Timeline pages">
            {(!first_page).then(|| view! { <A href=format!("/history/customer/{id}") attr:class="btn btn-small">"Newest"</A> })}
            {older.map(|href| view! { <A href=href attr:class="btn btn-small">"Older \u{2192}"</A> })}
        </nav>
    }
    .into_any()
}

fn item(it: TimelineItem) -> impl IntoView {
    let at = it.at();
    let (what, body): (&str, AnyView) = match it {
        TimelineItem::Run { run, lines } => {
            let href = format!("/history/{}", run.run_id);
            let label = run.kind.label();
            let body = view! {
                <div><A href=href>{format!("{label} (run {})", run.run_id)}</A> " " {outcome_badge(run.outcome)} " " {run.summary.clone()}</div>
                <ul class="timeline-lines">
                    {lines.into_iter().map(|l| view! {
                        <li><strong>{if l.is_failed() { "Failed" } else { "Skipped" }}</strong>{format!(": {} \u{2014} {}", if l.record.is_empty() { "the customer" } else { l.record.as_str() }, l.reason)}</li>
                    }).collect_view()}
                </ul>
            };
            ("Run", body.into_any())
        }
        TimelineItem::Change(c) => {
            let body = view! { <div>{format!("{} by {}", c.summary, c.actor)}</div> {values_table(&c)} };
            ("Change", body.into_any())
        }
        TimelineItem::Ticket(t) => {
            let (label, tone) = match t.state.as_str() {
                "open" => ("Open", Tone::Warn),
                "completed" => ("Completed", Tone::Good),
                "closed_in_autotask" => ("Closed in Autotask", Tone::Good),
                "handed_off" => ("Handed off", Tone::Muted),
                _ => ("Not sent", Tone::Bad),
            };
            let ticket = t.ticket_number.clone().map_or_else(|| "no ticket".to_string(), |n| format!("ticket {n}"));
            let repeats = if t.repeats > 0 { format!(", {} after the first", count_of(t.repeats, "repeat", "repeats")) } else { String::new() };
            let body = view! {
                <div>{format!("{} on {}: {ticket}{repeats}", t.event, t.device)} " " <Badge label tone /></div>
                {t.problem.clone().map(|p| view! { <div class="muted small">{p}</div> })}
                {t.closed_at.map(|c| view! { <div class="muted small">"Ended " <Time ms=Some(c) /></div> })}
            };
            ("Ticket", body.into_any())
        }
        TimelineItem::Billed(b) => {
            let units = |u: Option<i64>| u.map_or_else(|| "none".to_string(), thousands);
            let body = view! {
                <div>{format!("{}: {} \u{2192} {} units", b.product, units(b.before_units), units(b.after_units))} " "
                    <A href="/billing" attr:class="small">{format!("push {}", b.push_id)}</A></div>
            };
            ("Billed", body.into_any())
        }
    };
    view! {
        <li class="timeline-item">
            <div class="timeline-when"><Time ms=Some(at) /><br /><span class="muted small">{what}</span></div>
            <div class="timeline-what">{body}</div>
        </li>
    }
}
