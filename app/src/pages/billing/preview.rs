//! The preview's table and filters: each line's quantities, change and money, why a
//! line is skipped, held or failed, and the approval of held changes.

use super::*;
use crate::components::customer::{CustomerId, CustomerLink};
use crate::types::billing::parse_threshold;

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

/// What approving one held line writes, as its confirmation says it.
fn approve_one(line: &PushLine, label: &str, currency: &str) -> Ask {
    let contract = match (line.contract_id, line.service_id) {
        (Some(c), Some(s)) => format!(" (contract {c}, service {s})"),
        _ => String::new(),
    };
    Ask {
        target: Target::Approve(vec![(line.customer_id, line.product.clone())]),
        title: format!("Approve the {label} change for {}?", line.customer_name),
        body: format!(
            "Writes an adjustment of {} units to {}\u{2019}s {label}{contract}, effective today: Autotask will bill {} instead of {}, {} per month. {WRITE_NOTE}",
            signed_thousands(line.change),
            line.customer_name,
            units(line.taskbridge_units),
            units(line.autotask_units),
            money_change(line.money, currency),
        ),
    }
}

/// The line's status, and for a held change (to an admin) its Approve button.
fn status_cell(line: &PushLine, preview: &PushPreview, is_admin: bool, label: &str, ask: Callback<Ask>) -> AnyView {
    if !preview.is_held(line) {
        return status_badge(line);
    }
    let threshold = thousands(preview.hold_above.unwrap_or_default());
    let reason = format!("A change of {} units is above the approval threshold of {threshold}.", signed_thousands(line.change));
    let approval = approve_one(line, label, &preview.currency);
    view! {
        <span class="held">
            <Badge label="Held" tone=Tone::Warn reason=reason.clone() />
            <span class="sr-only">{reason}</span>
            {is_admin.then(|| view! {
                <button type="button" class="btn btn-small" aria-label=format!("Approve the {label} change for {}", line.customer_name)
                    on:click=move |_| ask.run(approval.clone())>"Approve"</button>
            })}
        </span>
    }
    .into_any()
}

/// The approval threshold: what the page holds back (Setup's unless changed here).
#[component]
fn HoldField(preview_hold: Option<i64>, query: Memo<PreviewQuery>, set_query: Callback<PreviewQuery>) -> impl IntoView {
    let text = RwSignal::new(preview_hold.map(|h| h.to_string()).unwrap_or_default());
    let error = RwSignal::new(None::<&'static str>);
    let choose = move |hold: Hold| {
        let mut q = query.get_untracked();
        q.hold = hold;
        q.page = 1;
        set_query.run(q);
    };
    let from_setup = query.with_untracked(|q| q.hold == Hold::Saved);
    view! {
        <div class="field">
            <label for="hold-above">"Hold changes larger than (units)"</label>
            <input id="hold-above" type="number" min="0" step="1" placeholder="No limit" class="input-narrow" prop:value=text
                aria-describedby="hold-above-hint" aria-invalid=move || error.get().is_some().then_some("true")
                on:input=move |ev| text.set(event_target_value(&ev))
                on:change=move |ev| {
                    let raw = event_target_value(&ev);
                    match parse_threshold(&raw) {
                        Ok(h) => { error.set(None); choose(h.map_or(Hold::NoLimit, Hold::Above)) }
                        Err(e) => error.set(Some(e)),
                    }
                } />
            <p class="field-hint small muted" id="hold-above-hint">
                {if from_setup {
                    let what = if preview_hold.is_some() { "As saved on " } else { "None saved on " };
                    view! { {what} <a href="/setup#billing-settings-title">"Setup"</a> }.into_any()
                } else {
                    view! { <button type="button" class="btn-link" on:click=move |_| choose(Hold::Saved)>"Use Setup\u{2019}s threshold"</button> }.into_any()
                }}
            </p>
            <p class="field-error" role="alert">{move || error.get()}</p>
        </div>
    }
}

#[component]
pub(super) fn PreviewTable(
    preview: PushPreview,
    is_admin: bool,
    query: Memo<PreviewQuery>,
    set_query: Callback<PreviewQuery>,
    selected: RwSignal<BTreeSet<(i64, String)>>,
    applying: RwSignal<bool>,
    run: Callback<Target>,
    ask: Callback<Ask>,
) -> impl IntoView {
    let search = query.with_untracked(|q| q.search.trim().to_string());
    let filtered = !search.is_empty();
    let apply_count = if filtered { preview.matching_changes } else { preview.changes };
    let page_keys: Vec<(i64, String)> =
        preview.lines.iter().filter(|l| l.status == LineStatus::Change).map(|l| (l.customer_id, l.product.clone())).collect();
    let page_keys = StoredValue::new(page_keys);
    let all_on_page = move || page_keys.with_value(|k| !k.is_empty() && selected.with(|s| k.iter().all(|key| s.contains(key))));
    let hold_above = preview.hold_above;
    let held = preview.matching_held;
    let sync_all = {
        let held_note =
            hold_above.map(|t| format!(", except changes of more than {} units, which are held for approval", thousands(t))).unwrap_or_default();
        let what = match filtered {
            true => format!("{} for customers and products matching \u{201c}{search}\u{201d}", count_of(apply_count as i64, "change", "changes")),
            false => count_of(apply_count as i64, "change", "changes"),
        };
        Ask {
            target: Target::Matching(search.clone(), hold_above),
            title: "Sync these changes to Autotask?".into(),
            body: format!("Writes {what} as contract service adjustments effective today{held_note}. {WRITE_NOTE}"),
        }
    };
    let approve_all = hold_above.filter(|_| held > 0).map(|t| Ask {
        target: Target::ApproveHeld(search.clone(), t),
        title: format!("Approve {}?", count_of(held as i64, "held change", "held changes")),
        body: format!(
            "Writes {} of more than {} units{} as contract service adjustments effective today, {} per month in all. {WRITE_NOTE}",
            count_of(held as i64, "change", "changes"),
            thousands(t),
            if filtered { format!(" for customers and products matching \u{201c}{search}\u{201d}") } else { String::new() },
            money_change(preview.held_money, &preview.currency),
        ),
    });
    let controls = is_admin.then(|| {
        view! {
            <div class="toolbar">
                <HoldField preview_hold=hold_above query set_query />
                <div class="field grow"></div>
                {approve_all.map(|a| view! {
                    <button type="button" class="btn" data-testid="approve-held" disabled=move || applying.get() on:click=move |_| ask.run(a.clone())>
                        {format!("Approve held ({})", thousands(held as i64))}
                    </button>
                })}
                <button type="button" class="btn" data-testid="apply-selected" disabled=move || applying.get() || selected.with(BTreeSet::is_empty)
                    on:click=move |_| run.run(Target::Selected(selected.get_untracked().into_iter().collect(), hold_above))>
                    {move || format!("Apply selected ({})", selected.with(BTreeSet::len))}
                </button>
                <button type="button" class="btn btn-primary" data-testid="apply-all" disabled=move || applying.get() || apply_count == 0
                    on:click=move |_| ask.run(sync_all.clone())>
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
    let held_summary = match (hold_above, held) {
        (Some(t), n) if n > 0 => format!(" {} of more than {} units held for approval.", count_of(n as i64, "change", "changes"), thousands(t)),
        _ => String::new(),
    };
    let summary = format!(
        "Preview for {}: {}, {} per month; {} up to date; {} cannot be pushed.{held_summary} Read from Autotask ",
        preview.period,
        count_of(preview.changes as i64, "change", "changes"),
        money_change(preview.money, &preview.currency),
        thousands(preview.unchanged as i64),
        thousands(preview.skipped as i64)
    );
    let mut preview = preview;
    let lines = std::mem::take(&mut preview.lines);
    view! {
        <p class="lead preview-summary" data-testid="preview-summary">
            {summary}
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
                            {lines.into_iter().map(|line| {
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
                                        <td><CustomerLink id=line.customer_id name=line.customer_name.clone() /><CustomerId id=line.customer_id /></td>
                                        <td>{label.clone()}<br /><span class="muted small">{reported(&line)}</span></td>
                                        <td class="num">{units(line.autotask_units)}</td>
                                        <td class="num">{units(line.taskbridge_units)}</td>
                                        <td class="num"><strong>{if line.status == LineStatus::Change { signed_thousands(line.change) } else { "\u{2014}".into() }}</strong></td>
                                        <td class="num">{if line.status == LineStatus::Change { money_change(line.money, &currency) } else { "\u{2014}".into() }}</td>
                                        <td>{status_cell(&line, &preview, is_admin, &label, ask)}</td>
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
pub(super) fn PreviewFilters(query: Memo<PreviewQuery>, set_query: Callback<PreviewQuery>) -> impl IntoView {
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
