//! The contacts table: each contact with its company (and the customer it maps to), its
//! integration status with the reason, and its destination and package drop-downs.

use super::*;
use crate::components::badge::{Badge, Tone};
use crate::components::pager::Pager;
use crate::components::table::{select_page_header, select_row_cell, sort_header, SelectionBar};
use crate::components::time::Time;
use crate::types::contacts::ContactPage;

fn status_cell(row: &ContactRow) -> AnyView {
    let reason = row.reason.clone();
    match (row.status, reason) {
        (IntegrationStatus::Blank, _) => view! { <span class="sr-only">"Not in Taskbridge"</span> }.into_any(),
        (IntegrationStatus::Equal, Some(note)) => view! { <Badge label="Equal" tone=Tone::Good reason=note /> }.into_any(),
        (IntegrationStatus::Equal, None) => view! { <Badge label="Equal" tone=Tone::Good /> }.into_any(),
        (IntegrationStatus::Modified, reason) => {
            view! { <Badge label="Modified" tone=Tone::Warn reason=reason.unwrap_or_else(|| "Name or company differ from Autotask.".into()) /> }
                .into_any()
        }
        (IntegrationStatus::Failed, reason) => {
            view! { <Badge label="Failed" tone=Tone::Bad reason=reason.unwrap_or_else(|| "No reason was recorded.".into()) /> }.into_any()
        }
    }
}

fn autotask_contact_link(web_url: &Option<String>, id: i64) -> Option<String> {
    web_url.as_ref().map(|base| format!("{}/Autotask/AutotaskExtend/ExecuteCommand.aspx?Code=OpenContact&ContactID={id}", base.trim_end_matches('/')))
}

/// A destination or package to choose: its name, and its name with the details.
#[derive(Clone)]
struct Choice {
    id: i64,
    short: String,
    long: String,
    retired: bool,
}

/// A destination or package drop-down of one row (imported rows show the user's, read-only).
fn choice_cell(
    row: &ContactRow,
    options: Vec<Choice>,
    chosen: Option<i64>,
    what: &'static str,
    is_admin: bool,
    on_pick: impl Fn(i64) + 'static,
) -> AnyView {
    let found = |id: i64| options.iter().find(|o| o.id == id).cloned();
    if row.backup_user_id.is_some() || !is_admin {
        return match chosen {
            Some(id) => match found(id) {
                Some(o) => view! { <span title=o.long>{o.short}</span> }.into_any(),
                None => view! { <span>{format!("#{id}")}</span> }.into_any(),
            },
            None => view! { <span class="muted">"\u{2014}"</span> }.into_any(),
        };
    }
    let name = format!("{} {}", row.first_name, row.last_name).trim().to_string();
    let missing = chosen.is_none();
    view! {
        <select class="select-cell" aria-label=format!("{} for {name}", if what == "destination" { "Destination" } else { "Package" }) aria-invalid=missing.to_string()
            on:change=move |ev| { if let Ok(id) = event_target_value(&ev).parse::<i64>() { on_pick(id); } }>
            <option value="" selected=missing disabled=true>{format!("Choose a {what}\u{2026}")}</option>
            {options.into_iter().filter(|o| !o.retired || Some(o.id) == chosen).map(|o| {
                view! { <option value=o.id.to_string() selected=Some(o.id) == chosen>{o.long}</option> }
            }).collect_view()}
        </select>
    }
    .into_any()
}

#[component]
pub(super) fn ContactTable(
    page: ContactPage,
    storage: StorageLists,
    is_admin: bool,
    sel: RowSelection,
    query: Memo<ContactQuery>,
    set_choice: Callback<(ContactSelection, Option<i64>, Option<i64>)>,
    set_page: Callback<u32>,
    set_sort: Callback<ContactSort>,
) -> impl IntoView {
    let ids = StoredValue::new(page.rows.iter().map(|r| r.contact_id).collect::<Vec<_>>());
    let total = page.total;
    let shown = page.rows.len();
    let (current, per_page) = (i64::from(page.page), i64::from(page.per_page));
    let fetched_at = page.fetched_at;
    let web_url = page.autotask_web_url.clone();
    let destinations: Vec<Choice> = storage
        .destinations
        .iter()
        .map(|d| Choice { id: d.destination_id, short: d.name.clone(), long: d.option_label(), retired: d.retired })
        .collect();
    let packages: Vec<Choice> =
        storage.packages.iter().map(|p| Choice { id: p.package_id, short: p.name.clone(), long: p.option_label(), retired: p.retired }).collect();
    let sorted_by = Memo::new(move |_| query.with(|q| q.sort));
    let sort = move |label: &'static str, asc: ContactSort, desc: Option<ContactSort>| sort_header(label, sorted_by, asc, desc, set_sort);
    view! {
        <SelectionBar sel page=ids total noun="contacts" />
        <div class="table-wrap table-sticky">
            <table class="table" aria-label="Autotask contacts">
                <thead><tr>
                    {is_admin.then(|| select_page_header(sel, ids, "Select every contact on this page"))}
                    {sort("Contact", ContactSort::Name, Some(ContactSort::NameDesc))}
                    {sort("Company", ContactSort::Company, None)}
                    {sort("Integration status", ContactSort::Status, None)}
                    <th scope="col">"Destination"</th>
                    <th scope="col">"Package"</th>
                </tr></thead>
                <tbody>
                    {page.rows.into_iter().map(|row| {
                        let id = row.contact_id;
                        let name = format!("{} {}", row.first_name, row.last_name).trim().to_string();
                        let shown_name = if name.is_empty() { format!("Contact {id}") } else { name.clone() };
                        let link = autotask_contact_link(&web_url, id);
                        let status = status_cell(&row);
                        let destination = choice_cell(&row, destinations.clone(), row.destination_id, "destination", is_admin, move |d| set_choice.run((ContactSelection::Ids(vec![id]), Some(d), None)));
                        let package = choice_cell(&row, packages.clone(), row.package_id, "package", is_admin, move |p| set_choice.run((ContactSelection::Ids(vec![id]), None, Some(p))));
                        let company = match (row.company_id, row.company_name.clone()) {
                            (Some(_), Some(n)) => n,
                            (Some(cid), None) => format!("Company {cid} (not discovered)"),
                            (None, _) => "No company".into(),
                        };
                        view! {
                            <tr data-contact-id=id.to_string() class:row-selected=move || sel.has(id)>
                                {is_admin.then(|| select_row_cell(sel, id, format!("Select {shown_name}")))}
                                <td class="cell-name">
                                    {match link {
                                        Some(href) => view! { <a href=href target="_blank" rel="noopener noreferrer">{shown_name.clone()}</a> }.into_any(),
                                        None => view! { <span>{shown_name.clone()}</span> }.into_any(),
                                    }}
                                    {(!row.active).then(|| view! { " " <Badge label="Inactive" tone=Tone::Muted /> })}
                                    {row.missing.then(|| view! { " " <Badge label="Gone" tone=Tone::Muted reason="The latest \u{201c}Get Autotask contacts\u{201d} no longer saw this contact in Autotask." /> })}
                                    <br />
                                    {if row.email.is_empty() { view! { <span class="muted small">"No email"</span> }.into_any() } else { view! { <span class="muted small">{row.email.clone()}</span> }.into_any() }}
                                </td>
                                <td class="cell-contact">
                                    {match row.company_id {
                                        Some(cid) => view! { <a href=format!("/contacts?company={cid}") title="Show only this company\u{2019}s contacts">{company}</a> }.into_any(),
                                        None => view! { <span>{company}</span> }.into_any(),
                                    }}<br />
                                    {match (&row.customer, row.company_id) {
                                        // The customer's name when it differs from the company's (it mostly does not).
                                        (Some((id, customer)), _) if row.company_name.as_deref() == Some(customer.as_str()) => {
                                            view! { <span class="muted small" title=format!("Customer {customer} (#{id})")>{format!("Mapped to its customer #{id}")}</span> }.into_any()
                                        }
                                        (Some((id, customer)), _) => view! { <span class="muted small">{format!("Customer: {customer} (#{id})")}</span> }.into_any(),
                                        (None, Some(cid)) => view! { <a class="small" href=format!("/map?view=companies&q={cid}")>"Not mapped \u{2014} map it"</a> }.into_any(),
                                        (None, None) => view! { <span class="muted small">"\u{2014}"</span> }.into_any(),
                                    }}
                                </td>
                                <td class="nowrap" data-testid="status">{status}</td>
                                <td data-testid="destination">{destination}</td>
                                <td data-testid="package">{package}</td>
                            </tr>
                        }
                        .into_any()
                    }).collect_view()}
                </tbody>
            </table>
        </div>
        <Pager total page=current per_page shown on_page=Callback::new(move |p: i64| set_page.run(p.max(1) as u32))>
            {fetched_at.map(|at| view! { " \u{00b7} got from Autotask " <Time ms=Some(at) /> })}
        </Pager>
    }
    .into_any()
}
