//! The home page: where the partner stands and what happened lately.

use crate::api::overview::get_overview;
use crate::components::panel::{EmptyState, ErrorPanel, Loading, PageHeader};
use crate::components::time::Time;
use crate::format::{count_of, thousands};
use crate::pages::history::outcome_badge;
use crate::types::history::RunRow;
use crate::types::tickets::DispatchSummary;
use crate::types::Overview;
use leptos::prelude::*;
use leptos_router::components::A;

/// Counts, the Autotask connection state and recent history.
#[component]
pub fn OverviewPage() -> impl IntoView {
    let me = expect_context::<crate::components::layout::Me>().0;
    let overview = Resource::new(|| (), |_| get_overview());
    let connection = Resource::new(|| (), |_| crate::api::connection::get_autotask_connection());
    view! {
        <PageHeader title="Overview" lead="Your Taskbridge account at a glance." />
        <Suspense fallback=|| view! { <Loading what="the overview" /> }>
            {move || Suspend::new(async move {
                let is_admin = me.await.is_ok_and(|m| m.is_admin());
                match overview.await {
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                    Ok(o) => view! {
                        <section class="cards" aria-label="Summary">
                            <div class="card stat">
                                <span class="stat-label">"Autotask connection"</span>
                                <Suspense fallback=|| view! { <span class="stat-value stat-text">"\u{2026}"</span> }>
                                    {move || Suspend::new(async move {
                                        let (value, note) = match connection.await {
                                            Ok(c) if !c.configured => ("Not set up".to_string(), "No Autotask database is connected to this account yet.".to_string()),
                                            Ok(c) => match c.last_test {
                                                Some(t) if t.ok => ("Connected".to_string(), t.message),
                                                Some(t) => ("Error".to_string(), t.message),
                                                None => ("Not tested".to_string(), format!("Saved for API user {}; test it on the Setup page.", c.username)),
                                            },
                                            Err(e) => ("Unknown".to_string(), e.to_string()),
                                        };
                                        view! {
                                            <span class="stat-value stat-text" data-testid="overview-connection">{value}</span>
                                            <span class="stat-note">{note}</span>
                                        }
                                    })}
                                </Suspense>
                                <A href="/setup" attr:class="stat-link">"Open Setup"</A>
                            </div>
                            <div class="card stat">
                                <span class="stat-label">"Active users"</span>
                                <span class="stat-value" data-testid="active-users">{o.active_users}</span>
                                {is_admin.then(|| view! { <A href="/users" attr:class="stat-link">"Manage users"</A> })}
                            </div>
                            <div class="card stat">
                                <span class="stat-label">"Active API tokens"</span>
                                <span class="stat-value">{o.active_tokens}</span>
                                {is_admin.then(|| view! { <A href="/tokens" attr:class="stat-link">"Manage API tokens"</A> })}
                            </div>
                        </section>
                        <MorningChecks overview=o.clone() />
                        <DispatchNotice dispatch=o.dispatch.clone() />
                        <ProblemRuns runs=o.problem_runs.clone() />
                        <section class="card">
                            <h2>"Recent activity"</h2>
                            {if o.recent.is_empty() {
                                view! { <EmptyState title="Nothing has happened yet">"Changes to users and API tokens will be listed here."</EmptyState> }.into_any()
                            } else {
                                view! {
                                    <div class="table-scroll" tabindex="0" role="region" aria-label="Recent activity"><table class="table">
                                        <thead><tr><th scope="col">"When"</th><th scope="col">"Who"</th><th scope="col">"What"</th></tr></thead>
                                        <tbody>
                                            {o.recent.into_iter().map(|e| view! {
                                                <tr><td class="nowrap"><Time ms=e.at /></td><td>{e.actor}</td><td>{e.summary}</td></tr>
                                            }).collect_view()}
                                        </tbody>
                                    </table></div>
                                }.into_any()
                            }}
                        </section>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The latest runs that failed or partly failed, each one click from its lines.
#[component]
fn ProblemRuns(runs: Vec<RunRow>) -> impl IntoView {
    (!runs.is_empty()).then(|| {
        view! {
            <section class="card" aria-labelledby="problem-runs-title" data-testid="overview-problem-runs">
                <h2 id="problem-runs-title">"Runs that need a look"</h2>
                <div class="table-scroll"><table class="table">
                    <thead><tr><th scope="col">"Started"</th><th scope="col">"Run"</th><th scope="col">"Outcome"</th><th scope="col">"Summary"</th></tr></thead>
                    <tbody>
                        {runs.into_iter().map(|r| view! {
                            <tr>
                                <td class="nowrap"><Time ms=Some(r.started_at) /></td>
                                <td class="nowrap"><A href=format!("/history/{}", r.run_id)>{r.kind.label()}</A></td>
                                <td>{outcome_badge(r.outcome)}</td>
                                <td>{r.summary}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table></div>
                <A href="/history?outcome=failed">"Every failed run"</A>
            </section>
        }
    })
}

/// What a partner checks each morning: customers billing and tickets pass by, incidents
/// open, and how the latest push and sync ended; each leads to its page.
#[component]
fn MorningChecks(overview: Overview) -> impl IntoView {
    let unmapped = overview.unmapped_customers;
    let incidents = overview.open_incidents;
    let without_ticket = incidents - overview.open_tickets;
    view! {
        <section class="cards" aria-label="Daily checks">
            <div class="card stat" data-testid="overview-unmapped">
                <span class="stat-label">"Unmapped customers"</span>
                <span class="stat-value">{thousands(unmapped)}</span>
                <span class="stat-note">{if unmapped == 0 {
                    "Every customer is linked to its Autotask company.".to_string()
                } else {
                    format!("{} no Autotask company: no tickets, no billing.", count_of(unmapped, "has", "have"))
                }}</span>
                <A href="/map" attr:class="stat-link">"Open the Customer Map"</A>
            </div>
            <div class="card stat" data-testid="overview-incidents">
                <span class="stat-label">"Open incidents"</span>
                <span class="stat-value">{thousands(incidents)}</span>
                <span class="stat-note">{match (incidents, without_ticket) {
                    (0, _) => "No backup problem is open.".to_string(),
                    (_, 0) => format!("{} open in Autotask.", count_of(overview.open_tickets, "ticket", "tickets")),
                    (_, w) => format!("{} open in Autotask; {} not yet.", count_of(overview.open_tickets, "ticket", "tickets"), thousands(w)),
                }}</span>
                <A href="/events" attr:class="stat-link">"Open the Event log"</A>
            </div>
            {latest_run("Last billing push", "overview-last-push", overview.last_push, "No push yet.", ("/billing", "Open Billing"))}
            {latest_run("Last customer sync", "overview-last-sync", overview.last_sync, "No sync round yet.", ("/setup#sync-settings-title", "Set up the sync"))}
        </section>
    }
}

/// How the latest run of a kind ended, linking to it (or to its page when none ran).
fn latest_run(
    label: &'static str,
    testid: &'static str,
    run: Option<RunRow>,
    none: &'static str,
    page: (&'static str, &'static str),
) -> impl IntoView {
    view! {
        <div class="card stat" data-testid=testid>
            <span class="stat-label">{label}</span>
            {match run {
                Some(r) => view! {
                    <span class="stat-value stat-text">{outcome_badge(r.outcome)}</span>
                    <span class="stat-note"><Time ms=Some(r.started_at) />" \u{b7} "{r.summary}</span>
                    <A href=format!("/history/{}", r.run_id) attr:class="stat-link">"See the run"</A>
                }.into_any(),
                None => view! {
                    <span class="stat-value stat-text">"\u{2014}"</span>
                    <span class="stat-note">{none}</span>
                    <A href=page.0 attr:class="stat-link">{page.1}</A>
                }.into_any(),
            }}
        </div>
    }
}

/// Says when ticket dispatch is paused (why, and since when) or customers are held back.
#[component]
fn DispatchNotice(dispatch: DispatchSummary) -> impl IntoView {
    let held = (dispatch.held > 0).then(|| count_of(dispatch.held, "customer is", "customers are"));
    (dispatch.problem.is_some() || held.is_some()).then(|| {
        view! {
            <section class="panel panel-warn" role="status" data-testid="overview-dispatch">
                {match dispatch.problem {
                    Some(problem) => view! {
                        <strong>"Ticket dispatch is paused"</strong>
                        <p>{problem}</p>
                        <p class="muted">
                            {dispatch.paused_since.map(|at| view! { "Since " <Time ms=Some(at) /> ". " })}
                            {format!("{} waiting.", count_of(dispatch.pending, "event is", "events are"))}
                        </p>
                    }.into_any(),
                    None => view! { <strong>"Some tickets are held back"</strong> }.into_any(),
                }}
                {held.map(|h| view! { <p>{format!("{h} held back after repeated failures; the others\u{2019} tickets go through.")}</p> })}
                <A href="/events">"Open the Event log"</A>
            </section>
        }
    })
}
