//! The Billing page: a dry-run preview of what a push would write (Autotask's quantity,
//! Taskbridge's, the change and its money effect), applying all or a selection (holding
//! large changes for approval), and the history of pushes with their lines, CSV and undo.

use crate::api::billing::{apply_push, preview_push, push_history, push_lines, undo_push};
use crate::components::badge::{Badge, Tone};
use crate::components::dialog::ConfirmDialog;
use crate::components::layout::Me;
use crate::components::pager::Pager;
use crate::components::panel::{EmptyState, ErrorPanel, Loading, PageHeader};
use crate::components::time::Time;
use crate::components::url_query::use_url_query;
use crate::error::AppError;
use crate::format::{encode_query_value, money_change, page_url, thousands};
use crate::types::billing::{product, LineStatus, PreviewQuery, PreviewShow, PushLine, PushPreview, PushResult, PushRun, PushSelection};
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
    page_url("/billing", &parts)
}

/// What an "apply" writes: the chosen lines, or every change matching the search.
#[derive(Debug, Clone, PartialEq)]
enum Target {
    Selected(Vec<(i64, String)>),
    Matching(String),
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
    let hold = RwSignal::new(String::new());
    let applying = RwSignal::new(false);
    let result = RwSignal::new(None::<Result<PushResult, AppError>>);
    let confirm = RwSignal::new(None::<(Target, usize)>);
    let confirm_open = RwSignal::new(false);
    let run = Callback::new(move |target: Target| {
        let hold_above = hold.get_untracked().trim().parse::<i64>().ok();
        let (lines, search) = match target {
            Target::Selected(lines) => (Some(lines), None),
            Target::Matching(search) => (None, Some(search).filter(|s| !s.trim().is_empty())),
        };
        applying.set(true);
        result.set(None);
        leptos::task::spawn_local(async move {
            let r = apply_push(PushSelection { lines, hold_above, search }).await;
            if r.is_ok() {
                selected.set(BTreeSet::new());
            }
            result.set(Some(r));
            applying.set(false);
            reload.update(|n| *n += 1);
        });
    });
    let ask = Callback::new(move |t: (Target, usize)| {
        confirm.set(Some(t));
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
                    Ok(p) => view! { <PreviewTable preview=p is_admin query set_query selected hold applying run ask /> }.into_any(),
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
    let confirm_body = move || {
        let held =
            hold.get().trim().parse::<i64>().ok().map(|t| format!(", except changes of more than {t} units, which are held")).unwrap_or_default();
        let what = match confirm.get() {
            Some((Target::Matching(s), n)) if !s.trim().is_empty() => {
                format!("{} change(s) for customers and products matching \u{201c}{}\u{201d}", thousands(n as i64), s.trim())
            }
            Some((_, n)) => format!("{} change(s)", thousands(n as i64)),
            None => String::new(),
        };
        format!("Writes {what} as contract service adjustments effective today{held}. Autotask is read again first, so a quantity already right is left alone. A push can be undone from the history.")
    };
    view! {
        {header}
        {outcome}
        {preview_view}
        {history_view}
        <ConfirmDialog
            open=confirm_open
            title=Signal::derive(|| "Sync these changes to Autotask?".to_string())
            body=Signal::derive(confirm_body)
            confirm_label="Sync now"
            on_confirm=Callback::new(move |_| if let Some((t, _)) = confirm.get_untracked() { run.run(t) })
        />
    }
    .into_any()
}

fn reported(line: &PushLine) -> String {
    let Some(q) = line.quantity else { return String::new() };
    let unit = product(&line.product).map_or("", |p| p.unit);
    let amount = if q.fract() == 0.0 && q.abs() < 1e15 { thousands(q as i64) } else { format!("{q:.2}") };
    if unit == "GB" {
        format!("reported {amount} GB")
    } else {
        format!("reported {amount}")
    }
}

#[component]
fn PreviewTable(
    preview: PushPreview,
    is_admin: bool,
    query: Memo<PreviewQuery>,
    set_query: Callback<PreviewQuery>,
    selected: RwSignal<BTreeSet<(i64, String)>>,
    hold: RwSignal<String>,
    applying: RwSignal<bool>,
    run: Callback<Target>,
    ask: Callback<(Target, usize)>,
) -> impl IntoView {
    let search = query.with_untracked(|q| q.search.trim().to_string());
    let filtered = !search.is_empty();
    let apply_count = if filtered { preview.matching_changes } else { preview.changes };
    let page_keys: Vec<(i64, String)> =
        preview.lines.iter().filter(|l| l.status == LineStatus::Change).map(|l| (l.customer_id, l.product.clone())).collect();
    let page_keys = StoredValue::new(page_keys);
    let all_on_page = move || page_keys.with_value(|k| !k.is_empty() && selected.with(|s| k.iter().all(|key| s.contains(key))));
    let target_search = search.clone();
    let controls = is_admin.then(|| {
        view! {
            <div class="toolbar">
                <div class="field">
                    <label for="hold-above">"Hold changes larger than (units)"</label>
                    <input id="hold-above" type="number" min="0" step="1" placeholder="No limit" prop:value=hold on:input=move |ev| hold.set(event_target_value(&ev)) />
                </div>
                <div class="field grow"></div>
                <button type="button" class="btn" data-testid="apply-selected" disabled=move || applying.get() || selected.with(BTreeSet::is_empty)
                    on:click=move |_| run.run(Target::Selected(selected.get_untracked().into_iter().collect()))>
                    {move || format!("Apply selected ({})", selected.with(BTreeSet::len))}
                </button>
                <button type="button" class="btn btn-primary" data-testid="apply-all" disabled=move || applying.get() || apply_count == 0
                    on:click=move |_| ask.run((Target::Matching(target_search.clone()), apply_count))>
                    {move || {
                        let n = format!("{} change{}", thousands(apply_count as i64), if apply_count == 1 { "" } else { "s" });
                        if applying.get() { "Syncing\u{2026}".to_string() } else if filtered { format!("Sync matching ({n})") } else { format!("Sync now ({n})") }
                    }}
                </button>
            </div>
        }
    });
    let on_page = Callback::new(move |n: i64| {
        let mut q = query.get_untracked();
        q.page = n;
        set_query.run(q);
    });
    let (matching, page, per_page, shown) = (preview.matching as i64, preview.page, preview.per_page, preview.lines.len());
    let currency = preview.currency.clone();
    view! {
        <p class="lead preview-summary" data-testid="preview-summary">
            {format!("Preview for {}: {} change(s), {} per month; {} up to date; {} cannot be pushed. Read from Autotask ", preview.period, thousands(preview.changes as i64), money_change(preview.money, &preview.currency), thousands(preview.unchanged as i64), thousands(preview.skipped as i64))}
            <Time ms=Some(preview.computed_at) />"."
        </p>
        <PreviewFilters query set_query />
        {controls}
        {if preview.matching == 0 {
            view! {
                <EmptyState title="No line matches these filters">
                    <button type="button" class="btn btn-small" on:click=move |_| set_query.run(PreviewQuery { per_page: query.get_untracked().per_page, ..PreviewQuery::default() })>"Clear the filters"</button>
                </EmptyState>
            }.into_any()
        } else {
            view! {
                <div class="table-wrap table-sticky">
                    <table class="table" aria-label="Preview">
                        <thead>
                            <tr>
                                {is_admin.then(|| view! {
                                    <th scope="col" class="col-check">
                                        <input type="checkbox" aria-label="Select every change on this page" disabled=move || page_keys.with_value(Vec::is_empty)
                                            prop:checked=all_on_page
                                            on:change=move |ev| {
                                                let on = event_target_checked(&ev);
                                                page_keys.with_value(|keys| selected.update(|s| for k in keys { if on { s.insert(k.clone()); } else { s.remove(k); } }));
                                            } />
                                    </th>
                                })}
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
                                        <td>{label.clone()}<br /><span class="muted small">{reported(&line)}</span></td>
                                        <td class="num">{units(line.autotask_units)}</td>
                                        <td class="num">{units(line.taskbridge_units)}</td>
                                        <td class="num"><strong>{if line.status == LineStatus::Change { format!("{:+}", line.change) } else { "\u{2014}".into() }}</strong></td>
                                        <td class="num">{if line.status == LineStatus::Change { money_change(line.money, &currency) } else { "\u{2014}".into() }}</td>
                                        <td>{status_badge(&line)}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
                <Pager total=matching page per_page shown on_page />
            }.into_any()
        }}
    }
    .into_any()
}

#[component]
fn PreviewFilters(query: Memo<PreviewQuery>, set_query: Callback<PreviewQuery>) -> impl IntoView {
    let search = RwSignal::new(query.get_untracked().search);
    let apply = move |f: &dyn Fn(&mut PreviewQuery)| {
        let mut q = query.get_untracked();
        f(&mut q);
        q.page = 1;
        set_query.run(q);
    };
    view! {
        <form class="toolbar" role="search" aria-label="Filter the preview" on:submit=move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let text = search.get_untracked();
            apply(&|q| q.search = text.clone());
        }>
            <div class="field grow">
                <label for="preview-search">"Customer or product"</label>
                <input id="preview-search" type="search" placeholder="Part of a customer's name, or a product" prop:value=search on:input=move |ev| search.set(event_target_value(&ev)) on:change=move |ev| {
                    let text = event_target_value(&ev);
                    apply(&|q| q.search = text.clone());
                } autocomplete="off" />
            </div>
            <div class="field">
                <label for="preview-show">"Show"</label>
                <select id="preview-show" on:change=move |ev| { let v = PreviewShow::parse(&event_target_value(&ev)).unwrap_or_default(); apply(&|q| q.show = v); }>
                    {PreviewShow::ALL.into_iter().map(|s| view! { <option value=s.as_str() selected=move || query.with(|q| q.show == s)>{s.label()}</option> }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="preview-per">"Rows"</label>
                <select id="preview-per" on:change=move |ev| { let v: i64 = event_target_value(&ev).parse().unwrap_or(100); apply(&|q| q.per_page = v); }>
                    {PAGE_SIZES.iter().map(|n| { let n = *n; view! { <option value=n.to_string() selected=move || query.with(|q| q.per_page == n)>{n.to_string()}</option> } }).collect_view()}
                </select>
            </div>
            <button type="submit" class="sr-only">"Search"</button>
        </form>
    }
    .into_any()
}

#[component]
fn HistoryTable(runs: Vec<PushRun>, is_admin: bool, reload: RwSignal<u32>) -> impl IntoView {
    let open = RwSignal::new(None::<i64>);
    let lines = Resource::new(
        move || open.get(),
        |id| async move {
            match id {
                Some(id) => push_lines(id).await.map(Some),
                None => Ok(None),
            }
        },
    );
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
                                            <td class="num">{money_change(l.money, "")}</td>
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
