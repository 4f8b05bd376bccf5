//! The Billing page: a dry-run preview of what a push would write (Autotask's quantity,
//! Taskbridge's, the change and its money effect), applying all or a selection (holding
//! large changes for approval), and the history of pushes with their lines, CSV and undo.

use crate::api::billing::{apply_push, preview_push, push_history, push_lines, undo_push};
use crate::components::badge::{Badge, Tone};
use crate::components::dialog::ConfirmDialog;
use crate::components::layout::Me;
use crate::components::panel::{EmptyState, ErrorPanel, Loading, PageHeader};
use crate::components::time::Time;
use crate::error::AppError;
use crate::types::billing::{product, LineStatus, PushLine, PushPreview, PushResult, PushRun, PushSelection};
use leptos::prelude::*;
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

fn money(v: f64) -> String {
    let sign = if v < 0.0 { "\u{2212}" } else if v > 0.0 { "+" } else { "" };
    format!("{sign}{:.2}", v.abs())
}

fn units(v: Option<i64>) -> String {
    v.map(crate::format::thousands).unwrap_or_else(|| "\u{2014}".into())
}

/// Preview, apply, history.
#[component]
pub fn BillingPage() -> impl IntoView {
    let me = expect_context::<Me>().0;
    let reload = RwSignal::new(0u32);
    let preview = Resource::new(move || reload.get(), |_| preview_push());
    let history = Resource::new(move || reload.get(), |_| push_history());
    let selected = RwSignal::new(BTreeSet::<(i64, String)>::new());
    let hold = RwSignal::new(String::new());
    let applying = RwSignal::new(false);
    let result = RwSignal::new(None::<Result<PushResult, AppError>>);
    let confirm_all = RwSignal::new(false);
    let run = Callback::new(move |lines: Option<Vec<(i64, String)>>| {
        let hold_above = hold.get_untracked().trim().parse::<i64>().ok();
        applying.set(true);
        result.set(None);
        leptos::task::spawn_local(async move {
            let r = apply_push(PushSelection { lines, hold_above }).await;
            if r.is_ok() {
                selected.set(BTreeSet::new());
            }
            result.set(Some(r));
            applying.set(false);
            reload.update(|n| *n += 1);
        });
    });
    let header = view! {
        <PageHeader title="Billing" lead="Usage reported by the backup platform, pushed to each mapped customer's Autotask contract. Preview first: nothing is written until you apply.">
            <a class="btn" href="/exports/billing-history.csv" download>"Export history (CSV)"</a>
            <button type="button" class="btn" on:click=move |_| reload.update(|n| *n += 1)>"Refresh preview"</button>
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
        <Transition fallback=|| view! { <Loading what="the preview" /> }>
            {move || Suspend::new(async move {
                let is_admin = me.await.is_ok_and(|m| m.is_admin());
                match preview.await {
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                    Ok(p) if p.lines.is_empty() => view! {
                        <EmptyState title="No usage for this month yet">
                            "The backup platform reports usage with " <code>"POST /api/v1/usage"</code> ". Map products to Autotask services on " <a href="/setup">"Setup"</a> " and choose each customer's billing contract on the " <a href="/map">"Customer Map"</a> "."
                        </EmptyState>
                    }.into_any(),
                    Ok(p) => view! { <PreviewTable preview=p is_admin selected hold applying run confirm_all /> }.into_any(),
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
            open=confirm_all
            title=Signal::derive(|| "Apply every change to Autotask?".to_string())
            body=Signal::derive(move || format!("Each change is written as a contract service adjustment effective today{}. Autotask is read again first, so a quantity already right is left alone. A push can be undone from the history.", hold.get().trim().parse::<i64>().ok().map(|t| format!(", except changes of more than {t} units, which are held")).unwrap_or_default()))
            confirm_label="Apply"
            on_confirm=Callback::new(move |_| run.run(None))
        />
    }
    .into_any()
}

#[component]
fn PreviewTable(
    preview: PushPreview,
    is_admin: bool,
    selected: RwSignal<BTreeSet<(i64, String)>>,
    hold: RwSignal<String>,
    applying: RwSignal<bool>,
    run: Callback<Option<Vec<(i64, String)>>>,
    confirm_all: RwSignal<bool>,
) -> impl IntoView {
    let changes = preview.changes;
    let controls = is_admin.then(|| {
        view! {
            <div class="toolbar">
                <div class="field">
                    <label for="hold-above">"Hold changes larger than (units)"</label>
                    <input id="hold-above" type="number" min="0" step="1" placeholder="No limit" prop:value=hold on:input=move |ev| hold.set(event_target_value(&ev)) />
                </div>
                <div class="field grow"></div>
                <button type="button" class="btn" data-testid="apply-selected" disabled=move || applying.get() || selected.with(BTreeSet::is_empty)
                    on:click=move |_| run.run(Some(selected.get_untracked().into_iter().collect()))>
                    {move || format!("Apply selected ({})", selected.with(BTreeSet::len))}
                </button>
                <button type="button" class="btn btn-primary" data-testid="apply-all" disabled=move || applying.get() || changes == 0 on:click=move |_| confirm_all.set(true)>
                    {move || if applying.get() { "Applying\u{2026}".to_string() } else { format!("Apply all changes ({changes})") }}
                </button>
            </div>
        }
    });
    view! {
        <p class="lead" data-testid="preview-summary">
            {format!("{} for {}: {} change(s), {} per month.", "Preview", preview.period, preview.changes, money(preview.money))}
        </p>
        {controls}
        <div class="table-wrap">
            <table class="table" aria-label="Preview">
                <thead>
                    <tr>
                        {is_admin.then(|| view! { <th scope="col" class="col-check"><span class="sr-only">"Select"</span></th> })}
                        <th scope="col">"Customer"</th>
                        <th scope="col">"Product"</th>
                        <th scope="col" class="num">"Autotask bills"</th>
                        <th scope="col" class="num">"Taskbridge"</th>
                        <th scope="col" class="num">"Change"</th>
                        <th scope="col" class="num">"Per month"</th>
                        <th scope="col">"Status"</th>
                    </tr>
                </thead>
                <tbody>
                    {preview.lines.into_iter().map(|line| {
                        let key = (line.customer_id, line.product.clone());
                        let k2 = key.clone();
                        let label = product(&line.product).map_or(line.product.clone(), |p| p.label.to_string());
                        let reported = line.quantity.map(|q| format!("reported {q}")).unwrap_or_default();
                        let can_select = line.status == LineStatus::Change;
                        view! {
                            <tr data-product=line.product.clone()>
                                {is_admin.then(|| view! {
                                    <td class="col-check">{can_select.then(|| view! {
                                        <input type="checkbox" aria-label=format!("Select {} {}", line.customer_name, label)
                                            prop:checked=move || selected.with(|s| s.contains(&k2))
                                            on:change=move |ev| { let on = event_target_checked(&ev); let k = key.clone(); selected.update(|s| { if on { s.insert(k); } else { s.remove(&k); } }); } />
                                    })}</td>
                                })}
                                <td>{line.customer_name.clone()}</td>
                                <td>{label.clone()}<br /><span class="muted small">{reported}</span></td>
                                <td class="num">{units(line.autotask_units)}</td>
                                <td class="num">{units(line.taskbridge_units)}</td>
                                <td class="num"><strong>{if line.status == LineStatus::Change { format!("{:+}", line.change) } else { "\u{2014}".into() }}</strong></td>
                                <td class="num">{if line.status == LineStatus::Change { money(line.money) } else { "\u{2014}".into() }}</td>
                                <td>{status_badge(&line)}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

#[component]
fn HistoryTable(runs: Vec<PushRun>, is_admin: bool, reload: RwSignal<u32>) -> impl IntoView {
    let open = RwSignal::new(None::<i64>);
    let lines = Resource::new(move || open.get(), |id| async move {
        match id {
            Some(id) => push_lines(id).await.map(Some),
            None => Ok(None),
        }
    });
    let undo_target = RwSignal::new(None::<i64>);
    let undo_open = RwSignal::new(false);
    let undo_error = RwSignal::new(None::<AppError>);
    let do_undo = Callback::new(move |_| {
        if let Some(id) = undo_target.get_untracked() {
            leptos::task::spawn_local(async move {
                match undo_push(id).await {
                    Ok(_) => reload.update(|n| *n += 1),
                    Err(e) => undo_error.set(Some(e)),
                }
            });
        }
    });
    view! {
        {move || undo_error.get().map(|error| view! { <ErrorPanel error /> })}
        <div class="table-wrap">
            <table class="table" aria-label="Push history">
                <thead><tr><th scope="col">"Push"</th><th scope="col">"When"</th><th scope="col">"By"</th><th scope="col">"What"</th><th scope="col">"Outcome"</th><th scope="col"><span class="sr-only">"Actions"</span></th></tr></thead>
                <tbody>
                    {runs.into_iter().map(|r| {
                        let id = r.push_id;
                        let what = match (r.kind.as_str(), r.undo_of) {
                            ("undo", Some(of)) => format!("Undo of push {of}"),
                            _ => format!("Push for {}", r.period),
                        };
                        let can_undo = is_admin && r.kind == "apply" && r.applied > 0 && r.undone_by.is_none() && r.state != "running";
                        view! {
                            <tr data-push-id=id.to_string()>
                                <td class="nowrap">{format!("#{id}")}</td>
                                <td class="nowrap"><Time ms=Some(r.started_at) /></td>
                                <td>{r.started_by.clone()}</td>
                                <td>{what}{r.undone_by.map(|by| view! { " " <Badge label="Undone" tone=Tone::Muted reason=format!("Reversed by push {by}") /> })}</td>
                                <td>{match r.state.as_str() {
                                    "running" => view! { <Badge label="Running" tone=Tone::Warn /> }.into_any(),
                                    "failed" => view! { <Badge label="Failed" tone=Tone::Bad reason=r.summary.clone().unwrap_or_default() /> }.into_any(),
                                    _ => view! { <span>{r.summary.clone().unwrap_or_default()}</span> }.into_any(),
                                }}</td>
                                <td class="actions">
                                    <button type="button" class="btn btn-small" aria-expanded=move || (open.get() == Some(id)).to_string()
                                        on:click=move |_| open.update(|o| *o = if *o == Some(id) { None } else { Some(id) })>
                                        {move || if open.get() == Some(id) { "Hide lines" } else { "Lines" }}
                                    </button>
                                    {can_undo.then(|| view! {
                                        <button type="button" class="btn btn-small btn-danger-quiet" on:click=move |_| { undo_target.set(Some(id)); undo_open.set(true); }>"Undo"</button>
                                    })}
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match lines.await {
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                    Ok(None) => ().into_any(),
                    Ok(Some(list)) => view! {
                        <div class="table-wrap push-lines">
                            <table class="table" aria-label="Push lines">
                                <thead><tr><th scope="col">"Customer"</th><th scope="col">"Product"</th><th scope="col" class="num">"Before"</th><th scope="col" class="num">"After"</th><th scope="col" class="num">"Change"</th><th scope="col" class="num">"Per month"</th><th scope="col">"Outcome"</th></tr></thead>
                                <tbody>
                                    {list.into_iter().map(|l| view! {
                                        <tr>
                                            <td>{l.customer_name.clone()}</td>
                                            <td>{product(&l.product).map_or(l.product.clone(), |p| p.label.to_string())}</td>
                                            <td class="num">{units(l.autotask_units)}</td>
                                            <td class="num">{units(l.taskbridge_units)}</td>
                                            <td class="num">{format!("{:+}", l.change)}</td>
                                            <td class="num">{money(l.money)}</td>
                                            <td>{status_badge(&l)}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any(),
                }
            })}
        </Transition>
        <ConfirmDialog
            open=undo_open
            title=Signal::derive(move || format!("Undo push {}?", undo_target.get().unwrap_or_default()))
            body=Signal::derive(|| "Autotask cannot delete adjustments, so each line this push applied gets the opposite adjustment, effective today, if Autotask still bills what the push set. Lines changed since are left alone. The undo is recorded as a push of its own.".to_string())
            confirm_label="Undo"
            on_confirm=do_undo
        />
    }
    .into_any()
}
