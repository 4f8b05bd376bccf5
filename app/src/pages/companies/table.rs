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
    sel: RowSelection,
    query: Memo<CompanyQuery>,
    set_page: Callback<u32>,
    set_sort: Callback<CompanySort>,
) -> impl IntoView {
    let ids = StoredValue::new(page.rows.iter().map(|r| r.company_id).collect::<Vec<_>>());
    let total = page.total;
    let shown = page.rows.len();
    let (current, per_page) = (i64::from(page.page), i64::from(page.per_page));
    let discovered_at = page.discovered_at;
    let web_url = page.autotask_web_url.clone();
    let sorted_by = Memo::new(move |_| query.with(|q| q.sort));
    let sort = move |label: &'static str, asc: CompanySort, desc: Option<CompanySort>| sort_header(label, sorted_by, asc, desc, set_sort);
    view! {
        <SelectionBar sel page=ids total noun="companies" />
        <div class="table-wrap table-sticky">
            <table class="table" aria-label="Autotask companies">
                <thead><tr>
                    {is_admin.then(|| select_page_header(sel, ids, "Select every company on this page"))}
                    {sort("Company", CompanySort::Name, Some(CompanySort::NameDesc))}
                    {sort("Autotask ID", CompanySort::Id, None)}
                    <th scope="col">"Type"</th>
                    {sort("Location", CompanySort::Country, None)}
                    <th scope="col">"Region"</th>
                    <th scope="col">"Primary contact"</th>
                    {sort("Status", CompanySort::Status, None)}
                </tr></thead>
                <tbody>
                    {page.rows.into_iter().map(|row| {
                        let id = row.company_id;
                        let name = row.name.clone();
                        let link = autotask_link(&web_url, id);
                        let badge = status_badge(&row);
                        view! {
                            <tr data-company-id=id.to_string() class:row-selected=move || sel.has(id)>
                                {is_admin.then(|| select_row_cell(sel, id, format!("Select {name}")))}
                                <td class="cell-name">
                                    {match link {
                                        Some(href) => view! { <a href=href target="_blank" rel="noopener noreferrer">{row.name.clone()}</a> }.into_any(),
                                        None => view! { <span>{row.name.clone()}</span> }.into_any(),
                                    }}
                                    {(!row.active).then(|| view! { " " <Badge label="Inactive" tone=Tone::Muted /> })}
                                    {row.missing.then(|| view! { " " <Badge label="Gone" tone=Tone::Muted reason="The latest discovery no longer saw this company in Autotask." /> })}
                                    {crate::components::reach::company_reach(row.phone.clone(), row.web.clone())}
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
    .into_any()
}
