//! The Contacts page (seed 001): get the partner's Autotask contacts, search and filter
//! them (server-side, state in the URL), choose each one's destination and package, and
//! import the selected ones as backup users. The Integration status column says blank,
//! Equal, Modified (what differs) or Failed (why).

mod filters;
mod table;

use crate::api::contacts::{import_contacts, latest_contact_jobs, list_contacts, set_contact_choices, start_contact_fetch};
use crate::api::storage::list_storage;
use crate::components::dialog::ConfirmDialog;
use crate::components::job::JobProgress;
use crate::components::layout::Me;
use crate::components::panel::{EmptyState, ErrorPanel, Loading, PageHeader};
use crate::components::table::RowSelection;
use crate::error::AppError;
use crate::format::{count_of, encode_query_value, page_url};
use crate::types::companies::{JobState, JobView};
use crate::types::contacts::{ContactFilter, ContactQuery, ContactRow, ContactSelection, ContactSort, IntegrationStatus};
use crate::types::storage::StorageLists;
use filters::{storage_notice, Filters, SetForSelected};
use leptos::prelude::*;
use std::collections::BTreeMap;
use table::ContactTable;

fn query_from_params(get: impl Fn(&str) -> Option<String>) -> ContactQuery {
    ContactQuery {
        filter: ContactFilter {
            search: get("q").unwrap_or_default(),
            status: get("status").and_then(|v| IntegrationStatus::parse(&v)),
            company_id: get("company").and_then(|v| v.parse().ok()),
            customer_id: get("customer").and_then(|v| v.parse().ok()),
            active: get("active").and_then(|v| match v.as_str() {
                "yes" => Some(true),
                "no" => Some(false),
                _ => None,
            }),
        },
        sort: ContactSort::parse(&get("sort").unwrap_or_default()),
        page: get("page").and_then(|v| v.parse().ok()).unwrap_or(1),
        per_page: crate::components::pager::per_page_param(get("per")),
    }
}

fn query_string(q: &ContactQuery) -> String {
    let mut parts = Vec::new();
    if !q.filter.search.trim().is_empty() {
        parts.push(format!("q={}", encode_query_value(q.filter.search.trim())));
    }
    if let Some(s) = q.filter.status {
        parts.push(format!("status={}", s.as_str()));
    }
    if let Some(c) = q.filter.company_id {
        parts.push(format!("company={c}"));
    }
    if let Some(c) = q.filter.customer_id {
        parts.push(format!("customer={c}"));
    }
    if let Some(a) = q.filter.active {
        parts.push(format!("active={}", if a { "yes" } else { "no" }));
    }
    if q.sort != ContactSort::Name {
        parts.push(format!("sort={}", encode_query_value(q.sort.as_str())));
    }
    if q.page > 1 {
        parts.push(format!("page={}", q.page));
    }
    if q.per_page != 50 {
        parts.push(format!("per={}", q.per_page));
    }
    page_url("/contacts", &parts)
}

/// "Ann Lee, Bob Ray and 3 more".
fn names(rows: &[&ContactRow]) -> String {
    let shown: Vec<String> = rows.iter().take(3).map(|r| format!("{} {}", r.first_name, r.last_name).trim().to_string()).collect();
    match rows.len() {
        n if n > 3 => format!("{} and {} more", shown.join(", "), n - 3),
        _ => shown.join(", "),
    }
}

/// Get contacts, filter, choose destinations and packages, import.
#[component]
pub fn ContactsPage() -> impl IntoView {
    let me = expect_context::<Me>().0;
    let (query, put_query) = use_url_query_contacts();
    let set_query = move |f: &dyn Fn(&mut ContactQuery)| {
        let mut q = query.get_untracked();
        f(&mut q);
        put_query.run(q);
    };
    let reload = RwSignal::new(0u32);
    let list = Resource::new(move || (query.get(), reload.get()), |(q, _)| list_contacts(q));
    let storage = Resource::new(|| (), |_| list_storage());
    let fetch_job = RwSignal::new(None::<JobView>);
    let import_job = RwSignal::new(None::<JobView>);
    let error = RwSignal::new(None::<AppError>);
    let notice = RwSignal::new(None::<String>);
    let latest = Resource::new(|| (), |_| latest_contact_jobs());
    Effect::new(move |_| {
        if let Some(Ok((f, i))) = latest.get() {
            fetch_job.set(f);
            import_job.set(i);
        }
    });
    let on_finish = Callback::new(move |_: JobView| reload.update(|n| *n += 1));
    let sel = RowSelection::new();
    // The rows last shown, by id: what the page knows of their choices.
    let shown = RwSignal::new(BTreeMap::<i64, ContactRow>::new());
    Effect::new(move |prev: Option<ContactFilter>| {
        let filter = query.with(|q| q.filter.clone());
        if prev.is_some_and(|p| p != filter) {
            sel.clear();
        }
        filter
    });
    let total_matching = RwSignal::new(0i64);
    // The names of the company or customer the list is narrowed to, as the last page said.
    let scope_names = RwSignal::new((None::<String>, None::<String>));
    let selection_count = move || if sel.all_matching.get() { total_matching.get() } else { sel.selected.with(|s| s.len() as i64) };
    let selection = move || {
        if sel.all_matching.get_untracked() {
            ContactSelection::Matching(query.get_untracked().filter)
        } else {
            ContactSelection::Ids(sel.selected.get_untracked().into_iter().collect())
        }
    };
    let running = move |job: RwSignal<Option<JobView>>| job.with(|j| j.as_ref().is_some_and(|j| j.state == JobState::Running));

    let get_contacts = move |_| {
        error.set(None);
        leptos::task::spawn_local(async move {
            match start_contact_fetch().await {
                Ok(job) => fetch_job.set(Some(job)),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    // Choices for one row or for the selection.
    let set_choice = Callback::new(move |(target, destination, package): (ContactSelection, Option<i64>, Option<i64>)| {
        error.set(None);
        notice.set(None);
        leptos::task::spawn_local(async move {
            let many = !matches!(&target, ContactSelection::Ids(ids) if ids.len() == 1);
            match set_contact_choices(target, destination, package).await {
                Ok(done) => {
                    if many {
                        let mut text = format!("Set for {}.", count_of(done.changed, "contact", "contacts"));
                        if done.imported_skipped > 0 {
                            text.push_str(&format!(
                                " {} imported already: change {} on the Backup users page.",
                                count_of(done.imported_skipped, "contact was", "contacts were"),
                                if done.imported_skipped == 1 { "it" } else { "them" }
                            ));
                        }
                        notice.set(Some(text));
                    }
                    reload.update(|n| *n += 1);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    });
    let confirm_open = RwSignal::new(false);
    // Rows on screen that are selected, not imported, and lack a choice: said before anything is sent.
    let missing_choices = move || -> Option<String> {
        if sel.all_matching.get_untracked() {
            return None;
        }
        let selected = sel.selected.get_untracked();
        let shown = shown.get_untracked();
        let rows: Vec<&ContactRow> = selected.iter().filter_map(|id| shown.get(id)).filter(|r| r.backup_user_id.is_none()).collect();
        let no_dest: Vec<&ContactRow> = rows.iter().copied().filter(|r| r.destination_id.is_none()).collect();
        let no_pkg: Vec<&ContactRow> = rows.iter().copied().filter(|r| r.package_id.is_none()).collect();
        let mut parts = Vec::new();
        if !no_dest.is_empty() {
            parts.push(format!("choose a destination for {}", names(&no_dest)));
        }
        if !no_pkg.is_empty() {
            parts.push(format!("choose a package for {}", names(&no_pkg)));
        }
        (!parts.is_empty()).then(|| format!("Before importing, {}. Both are required for a backup user.", parts.join(", and ")))
    };
    let ask_import = move |_| {
        error.set(None);
        notice.set(None);
        match missing_choices() {
            Some(problem) => error.set(Some(AppError::invalid("selection", problem))),
            None => confirm_open.set(true),
        }
    };
    let do_import = Callback::new(move |_| {
        let target = selection();
        leptos::task::spawn_local(async move {
            match import_contacts(target).await {
                Ok(job) => {
                    import_job.set(Some(job));
                    sel.clear();
                }
                Err(e) => error.set(Some(e)),
            }
        });
    });

    view! {
        <PageHeader title="Contacts" lead="Your Autotask contacts. Get them, choose where each one\u{2019}s backups go and its package, then import them as backup users.">
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let is_admin = me.await.is_ok_and(|m| m.is_admin());
                    is_admin.then(|| view! {
                        <button type="button" class="btn" data-testid="get-contacts" disabled=move || running(fetch_job) on:click=get_contacts>
                            {move || if running(fetch_job) { "Getting contacts\u{2026}" } else { "Get Autotask contacts" }}
                        </button>
                        <button type="button" class="btn btn-primary" data-testid="import-contacts" disabled=move || selection_count() == 0 || running(import_job) on:click=ask_import>
                            {move || match selection_count() { 0 => "Import contacts".to_string(), n => format!("Import {}", count_of(n, "contact", "contacts")) }}
                        </button>
                    })
                })}
            </Suspense>
        </PageHeader>
        {move || error.get().map(|error| view! { <ErrorPanel error /> })}
        {move || notice.get().map(|text| view! { <div class="panel panel-success" role="status">{text}</div> })}
        <JobProgress job=fetch_job on_finish />
        <JobProgress job=import_job on_finish />
        <Filters query set_query=Callback::new(move |q: ContactQuery| set_query(&|cur| *cur = q.clone())) scope_names />
        <Transition fallback=|| view! { <Loading what="contacts" /> }>
            {move || Suspend::new(async move {
                let is_admin = me.await.is_ok_and(|m| m.is_admin());
                let storage = storage.await.unwrap_or_default();
                let page = list.await;
                if let Ok(p) = &page {
                    scope_names.set((p.company_filter_name.clone(), p.customer_filter_name.clone()));
                }
                match page {
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                    Ok(page) if !page.any_fetched => view! {
                        <EmptyState title="No contacts yet">
                            {if is_admin { "Press Get Autotask contacts to bring in every contact of your Autotask. " } else { "An admin can press Get Autotask contacts to bring them in. " }}
                            "Autotask must be connected first (" <a href="/setup">"Setup"</a> "), and each contact\u{2019}s company mapped to a customer (" <a href="/map">"Customer Map"</a> ")."
                        </EmptyState>
                    }.into_any(),
                    Ok(page) if page.total == 0 => view! {
                        <EmptyState title="No contact matches these filters">
                            <button type="button" class="btn btn-small" on:click=move |_| set_query(&|q| *q = ContactQuery { per_page: q.per_page, ..ContactQuery::default() })>"Clear the filters"</button>
                        </EmptyState>
                    }.into_any(),
                    Ok(page) => {
                        total_matching.set(page.total);
                        shown.set(page.rows.iter().map(|r| (r.contact_id, r.clone())).collect());
                        view! {
                            {storage_notice(&storage, is_admin)}
                            {is_admin.then(|| view! { <SetForSelected storage=storage.clone() selection_count set_choice selection=Callback::new(move |_: ()| selection()) /> }.into_any())}
                            <ContactTable page storage is_admin sel query set_choice
                                set_page=Callback::new(move |n: u32| set_query(&|q| q.page = n))
                                set_sort=Callback::new(move |s: ContactSort| set_query(&|q| { q.sort = s; q.page = 1; })) />
                        }.into_any()
                    }
                }
            })}
        </Transition>
        <ConfirmDialog
            open=confirm_open
            title=Signal::derive(move || format!("Import {} as backup users?", count_of(selection_count(), "contact", "contacts")))
            body=Signal::derive(|| "Each becomes a backup user of the customer its Autotask company is mapped to, with its name, its email as the login, and the destination and package chosen. Contacts imported before are left as they are. A contact that breaks a rule (company not mapped, no valid email, an email another user has) is marked Failed with the reason; the others still import.".to_string())
            confirm_label="Import"
            constructive=true
            on_confirm=do_import
        />
    }
}

fn use_url_query_contacts() -> (Memo<ContactQuery>, Callback<ContactQuery>) {
    crate::components::url_query::use_url_query(|get| query_from_params(get), query_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_round_trips_the_query() {
        let q = ContactQuery {
            filter: ContactFilter {
                search: "Lee & Co".into(),
                status: Some(IntegrationStatus::Modified),
                company_id: Some(42),
                customer_id: Some(7),
                active: Some(true),
            },
            sort: ContactSort::Company,
            page: 2,
            per_page: 100,
        };
        let url = query_string(&q);
        let params = crate::format::query_params(&url);
        assert_eq!(query_from_params(|k| params.get(k).cloned()), q);
        assert_eq!(query_string(&ContactQuery::default()), "/contacts");
    }
}
