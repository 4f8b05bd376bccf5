//! The companies table: every discovered company with its address, region, primary
//! contact and import status (with the reason when it failed), selectable for import.

use super::*;

fn status_badge(row: &CompanyRow) -> AnyView {
    match (row.status, &row.reason) {
        (ImportStatus::Imported, Some(note)) => view! { <Badge label="Imported" tone=Tone::Good reason=note.clone() /> }.into_any(),
        (ImportStatus::Imported, None) => view! { <Badge label="Imported" tone=Tone::Good /> }.into_any(),
        (ImportStatus::Failed, reason) => {
            view! { <Badge label="FAILED" tone=Tone::Bad reason=reason.clone().unwrap_or_else(|| "No reason was recorded.".into()) /> }.into_any()
        }
        (ImportStatus::NotImported, Some(problem)) => view! { <Badge label="Would fail" tone=Tone::Warn reason=problem.clone() /> }.into_any(),
        (ImportStatus::NotImported, None) => view! { <span class="muted">"Not imported"</span> }.into_any(),
    }
}

fn autotask_link(web_url: &Option<String>, id: i64) -> Option<String> {
    web_url.as_ref().map(|base| format!("{}/Autotask/AutotaskExtend/ExecuteCommand.aspx?Code=OpenAccount&AccountID={id}", base.trim_end_matches('/')))
}

#[component]
pub(super) fn CompanyTable(
    page: CompanyPage,
    is_admin: bool,
    selected: RwSignal<BTreeSet<i64>>,
    all_matching: RwSignal<bool>,
    query: Memo<CompanyQuery>,
    set_page: Callback<u32>,
    set_sort: Callback<CompanySort>,
) -> impl IntoView {
    let ids: Vec<i64> = page.rows.iter().map(|r| r.company_id).collect();
    let ids = StoredValue::new(ids);
    let page_all = move || all_matching.get() || ids.with_value(|ids| !ids.is_empty() && selected.with(|s| ids.iter().all(|id| s.contains(id))));
    let toggle_page = move |ev: leptos::ev::Event| {
        let on = event_target_checked(&ev);
        all_matching.set(false);
        ids.with_value(|ids| {
            selected.update(|s| {
                for id in ids {
                    if on {
                        s.insert(*id);
                    } else {
                        s.remove(id);
                    }
                }
            })
        });
    };
    let total = page.total;
    let shown = page.rows.len();
    let (current, per_page) = (i64::from(page.page), i64::from(page.per_page));
    let discovered_at = page.discovered_at;
    let web_url = page.autotask_web_url.clone();
    let sort_header = move |label: &'static str, asc: CompanySort, desc: Option<CompanySort>| {
        let state = move || {
            let s = query.with(|q| q.sort);
            if s == asc {
                "ascending"
            } else if Some(s) == desc {
                "descending"
            } else {
                "none"
            }
        };
        view! {
            <th scope="col" aria-sort=state>
                <button type="button" class="th-sort" on:click=move |_| set_sort.run(if query.with_untracked(|q| q.sort == asc) { desc.unwrap_or(asc) } else { asc })>
                    {label}
                    <span aria-hidden="true">{move || match state() { "ascending" => " \u{25b2}", "descending" => " \u{25bc}", _ => "" }}</span>
                </button>
            </th>
        }
        .into_any()
    };
    let selection_bar = move || {
        let count = selected.with(|s| s.len());
        if all_matching.get() {
            Some(view! {
                <div class="selection-bar" role="status">
                    <span>{format!("All {} matching companies are selected.", thousands(total))}</span>
                    <button type="button" class="btn btn-small btn-quiet" on:click=move |_| { all_matching.set(false); selected.set(BTreeSet::new()); }>"Clear selection"</button>
                </div>
            }.into_any())
        } else if count > 0 {
            let whole_page = page_all();
            Some(view! {
                <div class="selection-bar" role="status">
                    <span>{format!("{} selected.", thousands(count as i64))}</span>
                    {(whole_page && total > count as i64).then(|| view! {
                        <button type="button" class="btn btn-small btn-quiet" data-testid="select-all-matching" on:click=move |_| all_matching.set(true)>
                            {format!("Select all {} matching", thousands(total))}
                        </button>
                    })}
                    <button type="button" class="btn btn-small btn-quiet" on:click=move |_| selected.set(BTreeSet::new())>"Clear selection"</button>
                </div>
            }.into_any())
        } else {
            None
        }
    };
    view! {
        {move || selection_bar()}
        <div class="table-wrap table-sticky">
            <table class="table" aria-label="Autotask companies">
                <thead><tr>
                    {is_admin.then(|| view! {
                        <th scope="col" class="col-check"><input type="checkbox" aria-label="Select every company on this page" prop:checked=page_all on:change=toggle_page /></th>
                    })}
                    {sort_header("Company", CompanySort::Name, Some(CompanySort::NameDesc))}
                    {sort_header("Autotask ID", CompanySort::Id, None)}
                    <th scope="col">"Type"</th>
                    {sort_header("Location", CompanySort::Country, None)}
                    <th scope="col">"Region"</th>
                    <th scope="col">"Primary contact"</th>
                    {sort_header("Status", CompanySort::Status, None)}
                </tr></thead>
                <tbody>
                    {page.rows.into_iter().map(|row| {
                        let id = row.company_id;
                        let name = row.name.clone();
                        let link = autotask_link(&web_url, id);
                        let badge = status_badge(&row);
                        view! {
                            <tr data-company-id=id.to_string() class:row-selected=move || all_matching.get() || selected.with(|s| s.contains(&id))>
                                {is_admin.then(|| view! {
                                    <td class="col-check"><input type="checkbox" aria-label=format!("Select {name}") prop:checked=move || all_matching.get() || selected.with(|s| s.contains(&id)) on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        if all_matching.get_untracked() {
                                            all_matching.set(false);
                                        }
                                        selected.update(|s| { if on { s.insert(id); } else { s.remove(&id); } });
                                    } /></td>
                                })}
                                <td class="cell-name">
                                    {match link {
                                        Some(href) => view! { <a href=href target="_blank" rel="noopener noreferrer">{row.name.clone()}</a> }.into_any(),
                                        None => view! { <span>{row.name.clone()}</span> }.into_any(),
                                    }}
                                    {(!row.active).then(|| view! { " " <Badge label="Inactive" tone=Tone::Muted /> })}
                                    {row.missing.then(|| view! { " " <Badge label="Gone" tone=Tone::Muted reason="The latest discovery no longer saw this company in Autotask." /> })}
                                </td>
                                <td class="mono nowrap">{id.to_string()}</td>
                                <td class="nowrap">{row.type_label.clone()}</td>
                                <td class="cell-place">
                                    {if row.place.is_empty() { view! { <span class="muted">"No address"</span> }.into_any() } else { view! { <span>{row.place.clone()}</span> }.into_any() }}
                                    <br />
                                    {match (&row.country_name, &row.country_code) {
                                        (Some(name), _) => view! { <span class="muted small">{name.clone()}</span> }.into_any(),
                                        (None, Some(code)) => view! { <span class="muted small">{code.clone()}</span> }.into_any(),
                                        (None, None) => view! { <span class="muted small" title="No country in Autotask: imported as the United States">"No country (imports as US)"</span> }.into_any(),
                                    }}
                                </td>
                                <td class="nowrap"><abbr title=region_label(&row.region)>{region_short(&row.region)}</abbr></td>
                                <td class="cell-contact">{match &row.contact {
                                    Some((name, email)) => view! { <span>{name.clone()}</span><br /><span class="muted small">{if email.is_empty() { "no email".to_string() } else { email.clone() }}</span> }.into_any(),
                                    None => view! { <span class="muted">"None"</span> }.into_any(),
                                }}</td>
                                <td class="nowrap" data-testid="status">{badge}</td>
                            </tr>
                        }
                        .into_any()
                    }).collect_view()}
                </tbody>
            </table>
        </div>
        <Pager total page=current per_page shown on_page=Callback::new(move |p: i64| set_page.run(p.max(1) as u32))>
            {discovered_at.map(|at| view! { " \u{00b7} discovered " <Time ms=Some(at) /> })}
        </Pager>
    }
}
