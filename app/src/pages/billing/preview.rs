//! The preview's table and filters: each line's quantities, change and money, and why
//! a line is skipped, held or failed.

use super::*;

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
pub(super) fn PreviewTable(
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
            {format!("Preview for {}: {}, {} per month; {} up to date; {} cannot be pushed. Read from Autotask ", preview.period, crate::format::count_of(preview.changes as i64, "change", "changes"), money_change(preview.money, &preview.currency), thousands(preview.unchanged as i64), thousands(preview.skipped as i64))}
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
                                        <td><a href=format!("/history/customer/{}", line.customer_id) class="name-link" title="Open this customer's timeline">{line.customer_name.clone()}</a></td>
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
