//! The Billing page: a dry-run preview of what a push would write (Autotask's quantity,
//! Taskbridge's, the change and its money effect), applying all or a selection (holding
//! large changes for approval, at the threshold saved on Setup unless changed here, and
//! approving them one by one or all), and the history of pushes with their lines, CSV
//! and undo.

mod history;
mod preview;

use crate::api::billing::{apply_push, preview_push, push_history, push_lines, undo_push};
use crate::components::badge::{Badge, Tone};
use crate::components::dialog::ConfirmDialog;
use crate::components::layout::Me;
use crate::components::pager::Pager;
use crate::components::panel::{EmptyState, ErrorPanel, Loading, PageHeader};
use crate::components::time::Time;
use crate::components::url_query::use_url_query;
use crate::error::AppError;
use crate::format::{count_of, encode_query_value, money_change, page_url, signed_thousands, thousands};
use crate::types::billing::{product, Hold, LineStatus, PreviewQuery, PreviewShow, PushLine, PushPreview, PushResult, PushRun, PushSelection};
use history::HistoryTable;
use leptos::prelude::*;
use preview::PreviewTable;
use std::collections::BTreeSet;

fn status_badge(line: &PushLine) -> AnyView {
    let (label, tone) = match line.status {
        LineStatus::Change => ("Will change", Tone::Warn),
        LineStatus::Unchanged => ("Up to date", Tone::Good),
        LineStatus::Skipped => ("Skipped", Tone::Muted),
        LineStatus::Applied => ("Applied", Tone::Good),
        LineStatus::Held => ("Held", Tone::Warn),
        LineStatus::Failed => ("Failed", Tone::Bad),
    };
    match &line.reason {
        Some(r) => view! { <Badge label tone reason=r.clone() /> }.into_any(),
        None => view! { <Badge label tone /> }.into_any(),
    }
}

/// What every confirmation of a write ends with: why writing again is safe.
const WRITE_NOTE: &str = "Autotask is read again first, so a quantity already right is left alone. A push can be undone from the history.";

fn units(v: Option<i64>) -> String {
    v.map(crate::format::thousands).unwrap_or_else(|| "\u{2014}".into())
}

const PAGE_SIZES: &[i64] = &[25, 100, 250, 500];

fn query_from_params(get: impl Fn(&str) -> Option<String>) -> PreviewQuery {
    PreviewQuery {
        search: get("q").unwrap_or_default(),
        show: get("show").and_then(|s| PreviewShow::parse(&s)).unwrap_or_default(),
        page: get("page").and_then(|v| v.parse().ok()).filter(|p| *p >= 1).unwrap_or(1),
        per_page: get("per").and_then(|v| v.parse().ok()).filter(|n| PAGE_SIZES.contains(n)).unwrap_or(100),
        refresh: false,
        hold: get("hold").and_then(|h| Hold::parse(&h)).unwrap_or_default(),
    }
}

fn query_string(q: &PreviewQuery) -> String {
    let mut parts = Vec::new();
    if !q.search.trim().is_empty() {
        parts.push(format!("q={}", encode_query_value(q.search.trim())));
    }
    if q.show != PreviewShow::All {
        parts.push(format!("show={}", q.show.as_str()));
    }
    if q.page > 1 {
        parts.push(format!("page={}", q.page));
    }
    if q.per_page != 100 {
        parts.push(format!("per={}", q.per_page));
    }
    if let Some(hold) = q.hold.as_param() {
        parts.push(format!("hold={hold}"));
    }
    page_url("/billing", &parts)
}

/// What an "apply" writes: the chosen lines, or every change matching the search (both
/// holding changes above the threshold), or held changes approved.
#[derive(Debug, Clone, PartialEq)]
enum Target {
    Selected(Vec<(i64, String)>, Option<i64>),
    Matching(String, Option<i64>),
    /// These held lines, written whatever their size.
    Approve(Vec<(i64, String)>),
    /// Every change above the threshold matching the search.
    ApproveHeld(String, i64),
}

impl Target {
    fn selection(self) -> PushSelection {
        let search = |s: String| Some(s).filter(|s| !s.trim().is_empty());
        match self {
            Target::Selected(lines, hold_above) => PushSelection { lines: Some(lines), hold_above, ..Default::default() },
            Target::Matching(s, hold_above) => PushSelection { search: search(s), hold_above, ..Default::default() },
            Target::Approve(lines) => PushSelection { lines: Some(lines), ..Default::default() },
            Target::ApproveHeld(s, t) => PushSelection { search: search(s), hold_above: Some(t), held_only: true, ..Default::default() },
        }
    }
}

/// A write waiting for confirmation: what, and what the dialog says of it.
#[derive(Debug, Clone, PartialEq)]
struct Ask {
    target: Target,
    title: String,
    body: String,
}

/// Preview, apply, history.
#[component]
pub fn BillingPage() -> impl IntoView {
    let me = expect_context::<Me>().0;
    let (query, set_query) = use_url_query(|get| query_from_params(get), query_string);
    let reload = RwSignal::new(0u32);
    // "Refresh preview" reads Autotask again; paging and filtering reuse the last reading.
    let forced = RwSignal::new(0u32);
    let last_forced = StoredValue::new(0u32);
    let preview = Resource::new(
        move || (query.get(), reload.get(), forced.get()),
        move |(q, _, f)| {
            let refresh = f != last_forced.get_value();
            last_forced.set_value(f);
            preview_push(PreviewQuery { refresh, ..q })
        },
    );
    let history = Resource::new(move || reload.get(), |_| push_history());
    let selected = RwSignal::new(BTreeSet::<(i64, String)>::new());
    let applying = RwSignal::new(false);
    let result = RwSignal::new(None::<Result<PushResult, AppError>>);
    let confirm = RwSignal::new(None::<Ask>);
    let confirm_open = RwSignal::new(false);
    let run = Callback::new(move |target: Target| {
        applying.set(true);
        result.set(None);
        leptos::task::spawn_local(async move {
            let r = apply_push(target.selection()).await;
            if r.is_ok() {
                selected.set(BTreeSet::new());
            }
            result.set(Some(r));
            applying.set(false);
            reload.update(|n| *n += 1);
        });
    });
    let ask = Callback::new(move |a: Ask| {
        confirm.set(Some(a));
        confirm_open.set(true);
    });
    let header = view! {
        <PageHeader title="Billing" lead="Usage reported by the backup platform, pushed to each mapped customer's Autotask contract. Preview first: nothing is written until you apply.">
            <a class="btn" href="/exports/billing-history.csv" download>"Export history (CSV)"</a>
            <button type="button" class="btn" data-testid="refresh-preview" on:click=move |_| forced.update(|n| *n += 1)>"Refresh preview"</button>
        </PageHeader>
    }
    .into_any();
    let outcome = move || {
        result.get().map(|r| match r {
            Err(error) => view! { <ErrorPanel error /> }.into_any(),
            Ok(r) => {
                let class = if r.failed > 0 { "panel panel-warn" } else { "panel panel-success" };
                view! {
                <div class=class role="status" data-testid="push-result">
                    <strong>{format!("Push {}: {} applied, {} already up to date, {} held, {} failed.", r.push_id, r.applied, r.unchanged, r.held, r.failed)}</strong>
                    {(r.failed > 0).then(|| view! { <p>"Failed lines changed nothing; their reasons are in the history. Sync again to retry."</p> })}
                </div>
                }
                .into_any()
            }
        })
    };
    let preview_view = view! {
        <Transition fallback=|| view! { <Loading what="the preview (reading Autotask)" /> }>
            {move || Suspend::new(async move {
                let is_admin = me.await.is_ok_and(|m| m.is_admin());
                match preview.await {
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                    Ok(p) if p.total == 0 => view! {
                        <EmptyState title="No usage for this month yet">
                            "The backup platform reports usage with " <code>"POST /api/v1/usage"</code> ". Map products to Autotask services on " <a href="/setup">"Setup"</a> " and choose each customer's billing contract on the " <a href="/map">"Customer Map"</a> "."
                        </EmptyState>
                    }.into_any(),
                    Ok(p) => view! { <PreviewTable preview=p is_admin query set_query selected applying run ask /> }.into_any(),
                }
            })}
        </Transition>
    }
    .into_any();
    let history_view = view! {
        <section aria-labelledby="push-history-title">
            <h2 id="push-history-title">"History"</h2>
            <Transition fallback=|| view! { <Loading what="the history" /> }>
                {move || Suspend::new(async move {
                    let is_admin = me.await.is_ok_and(|m| m.is_admin());
                    match history.await {
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                        Ok(runs) if runs.is_empty() => view! { <p class="muted">"Nothing has been pushed yet."</p> }.into_any(),
                        Ok(runs) => view! { <HistoryTable runs is_admin reload /> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
    .into_any();
    view! {
        {header}
        {outcome}
        {preview_view}
        {history_view}
        <ConfirmDialog
            open=confirm_open
            title=Signal::derive(move || confirm.with(|a| a.as_ref().map(|a| a.title.clone()).unwrap_or_default()))
            body=Signal::derive(move || confirm.with(|a| a.as_ref().map(|a| a.body.clone()).unwrap_or_default()))
            confirm_label="Write to Autotask"
            constructive=true
            on_confirm=Callback::new(move |_| if let Some(a) = confirm.get_untracked() { run.run(a.target) })
        />
    }
    .into_any()
}
