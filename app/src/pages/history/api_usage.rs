//! Autotask API usage (`/history/usage`): what Taskbridge spent of the partner's Autotask
//! per hour and by feature, against the hourly budget Autotask reports (shared with every
//! other integration of the partner's Autotask), with 429 refusals and the time Autotask
//! took. The window lives in the URL.

use super::HistoryTabs;
use crate::api::history::api_usage;
use crate::components::panel::{EmptyState, ErrorPanel, Loading, PageHeader};
use crate::components::time::Time;
use crate::components::url_query::use_url_query;
use crate::format::{page_url, thousands};
use crate::types::history::{feature_label, ApiUsage, CallCounts, HourUsage, BUDGET_WARN, USAGE_WINDOWS};
use leptos::prelude::*;

fn window_url(hours: &i64) -> String {
    let parts = if *hours == USAGE_WINDOWS[0].0 { Vec::new() } else { vec![format!("hours={hours}")] };
    page_url("/history/usage", &parts)
}

/// The page.
#[component]
pub fn ApiUsagePage() -> impl IntoView {
    let (hours, set_hours) = use_url_query(|get| ApiUsage::window(get("hours").and_then(|h| h.parse().ok()).unwrap_or(0)), window_url);
    let usage = Resource::new(move || hours.get(), api_usage);
    view! {
        <PageHeader
            title="History"
            lead="What Taskbridge spends of your Autotask: calls per hour by feature, against the hourly budget Autotask shares between all your integrations."
        />
        <HistoryTabs current="usage" />
        <form class="toolbar" aria-label="Usage window" on:submit=|ev: leptos::ev::SubmitEvent| ev.prevent_default()>
            <div class="field">
                <label for="usage-window">"Period"</label>
                <select id="usage-window" on:change=move |ev| set_hours.run(ApiUsage::window(event_target_value(&ev).parse().unwrap_or(0)))>
                    {USAGE_WINDOWS
                        .iter()
                        .map(|(h, label)| {
                            let h = *h;
                            view! { <option value=h.to_string() selected=move || hours.get() == h>{*label}</option> }
                        })
                        .collect_view()}
                </select>
            </div>
        </form>
        <Transition fallback=|| view! { <Loading what="the API usage" /> }>
            {move || Suspend::new(async move {
                match usage.await {
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                    Ok(u) if u.total.calls == 0 && u.rows.is_empty() => view! {
                        <EmptyState title="No Autotask calls in this period">
                            "Calls appear here within a minute of being made: test the connection on the Setup page, discover companies or push billing."
                        </EmptyState>
                    }
                    .into_any(),
                    Ok(u) => view! { <UsageView usage=u /> }.into_any(),
                }
            })}
        </Transition>
    }
}

fn window_label(hours: i64) -> &'static str {
    USAGE_WINDOWS.iter().find(|(h, _)| *h == hours).map_or("", |(_, l)| l)
}

fn percent(share: f64) -> String {
    format!("{:.0}%", share * 100.0)
}

#[component]
fn UsageView(usage: ApiUsage) -> impl IntoView {
    let peak = match (&usage.peak, usage.peak.as_ref().and_then(HourUsage::budget_share)) {
        (Some(p), Some(share)) => {
            let (used, threshold) = p.budget.unwrap_or_default();
            view! {
                <span class="stat-value" data-testid="usage-peak">{percent(share)}</span>
                <span class="stat-note">{format!("{} of {} calls", thousands(used), thousands(threshold))}", hour of "<Time ms=Some(p.hour_start) /></span>
            }
            .into_any()
        }
        _ => view! {
            <span class="stat-value stat-text">"Not read yet"</span>
            <span class="stat-note">"Taskbridge reads it from Autotask every few hundred calls."</span>
        }
        .into_any(),
    };
    let total = usage.total.clone();
    let cards = view! {
        <section class="cards" aria-label="Summary">
            <div class="card stat">
                <span class="stat-label">"Calls to Autotask"</span>
                <span class="stat-value" data-testid="usage-calls">{thousands(total.calls)}</span>
                <span class="stat-note">{window_label(usage.hours)}</span>
            </div>
            <div class="card stat">
                <span class="stat-label">"Most of the budget used"</span>
                {peak}
            </div>
            <div class="card stat">
                <span class="stat-label">"Refused (429)"</span>
                <span class="stat-value" data-testid="usage-throttled">{thousands(total.throttled)}</span>
                <span class="stat-note">"Thread limit or hourly threshold; each is retried after a wait."</span>
            </div>
            <div class="card stat">
                <span class="stat-label">"Average answer"</span>
                <span class="stat-value">{format!("{} ms", thousands(total.average_ms))}</span>
                <span class="stat-note">{format!("Slowest {} ms; {} failed (5xx, timeout)", thousands(total.slowest_ms), thousands(total.failed))}</span>
            </div>
        </section>
    }
    .into_any();
    view! {
        {cards}
        <FeatureTable usage=usage.clone() />
        <HourTable rows=usage.rows />
    }
    .into_any()
}

#[component]
fn FeatureTable(usage: ApiUsage) -> impl IntoView {
    let total = usage.total.calls;
    view! {
        <section class="card" aria-labelledby="usage-features">
            <h2 id="usage-features">"By feature"</h2>
            <div class="table-wrap" tabindex="0" role="region" aria-labelledby="usage-features">
                <table class="table" aria-labelledby="usage-features" data-testid="usage-features">
                    <thead>
                        <tr>
                            <th scope="col">"Feature"</th>
                            <th scope="col" class="num">"Calls"</th>
                            <th scope="col">"Share"</th>
                            {count_heads()}
                        </tr>
                    </thead>
                    <tbody>
                        {usage.features.iter().map(|f| {
                            let share = if total > 0 { f.counts.calls as f64 / total as f64 } else { 0.0 };
                            view! {
                                <tr data-feature=f.feature.clone()>
                                    <td class="nowrap">{feature_label(&f.feature).to_string()}</td>
                                    <td class="num">{thousands(f.counts.calls)}</td>
                                    <td><Meter share label=percent(share) warn=false /></td>
                                    {count_cells(&f.counts)}
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
    .into_any()
}

#[component]
fn HourTable(rows: Vec<HourUsage>) -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="usage-hours">
            <h2 id="usage-hours">"By hour"</h2>
            <p class="muted small">"Budget used counts every integration of your Autotask, as Autotask reported it during the hour; above 50% Autotask starts slowing calls down."</p>
            <div class="table-wrap table-sticky" tabindex="0" role="region" aria-labelledby="usage-hours">
                <table class="table" aria-labelledby="usage-hours" data-testid="usage-hours">
                    <thead>
                        <tr>
                            <th scope="col">"Hour"</th>
                            <th scope="col" class="num">"Calls"</th>
                            <th scope="col">"By feature"</th>
                            {count_heads()}
                            <th scope="col">"Budget used"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {rows.into_iter().map(|h| view! { <HourRow hour=h /> }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
    .into_any()
}

fn count_heads() -> AnyView {
    view! {
        <th scope="col" class="num">"429"</th>
        <th scope="col" class="num">"Failed"</th>
        <th scope="col" class="num">"Average"</th>
        <th scope="col" class="num">"Slowest"</th>
    }
    .into_any()
}

fn count_cells(c: &CallCounts) -> AnyView {
    let ms = |v: i64| if v > 0 { format!("{} ms", thousands(v)) } else { "\u{2014}".to_string() };
    view! {
        <td class="num" class:text-warn={c.throttled > 0}>{thousands(c.throttled)}</td>
        <td class="num" class:text-warn={c.failed > 0}>{thousands(c.failed)}</td>
        <td class="num">{ms(c.average_ms)}</td>
        <td class="num">{ms(c.slowest_ms)}</td>
    }
    .into_any()
}

#[component]
fn HourRow(hour: HourUsage) -> impl IntoView {
    let features = hour.features.iter().map(|(f, n)| format!("{} {}", feature_label(f), thousands(*n))).collect::<Vec<_>>().join(" \u{b7} ");
    let budget = match (hour.budget, hour.budget_share()) {
        (Some((used, threshold)), Some(share)) => {
            let label = format!("{} of {} ({})", thousands(used), thousands(threshold), percent(share));
            view! { <Meter share label warn={share > BUDGET_WARN} /> }.into_any()
        }
        _ => view! { <span class="muted">"Not read this hour"</span> }.into_any(),
    };
    view! {
        <tr>
            <td class="nowrap"><Time ms=Some(hour.hour_start) /></td>
            <td class="num">{thousands(hour.counts.calls)}</td>
            <td class="small">{features}</td>
            {count_cells(&hour.counts)}
            <td>{budget}</td>
        </tr>
    }
    .into_any()
}

/// A share as a bar with its words beside it (the words carry the value for everyone).
#[component]
fn Meter(share: f64, #[prop(into)] label: String, warn: bool) -> impl IntoView {
    let width = format!("width: {:.1}%", (share * 100.0).clamp(0.0, 100.0));
    view! {
        <span class="meter" class:meter-warn=warn>
            <span class="meter-track" aria-hidden="true"><span class="meter-fill" style=width></span></span>
            <span class="meter-label">{label}</span>
        </span>
    }
    .into_any()
}
