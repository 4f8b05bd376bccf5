//! The Backup users page: every backup user (search and filters in the URL, server-side
//! paging), edited and deleted here. A changed name or customer shows its Autotask
//! contact as Modified (settled here with "Update from Autotask" or "Keep Taskbridge's");
//! a new email makes a new user, no longer linked to the contact (the seed's rules).

mod edit;

use crate::api::backup_users::{delete_backup_user, list_backup_users, resolve_backup_user};
use crate::api::storage::list_storage;
use crate::components::badge::{Badge, Tone};
use crate::components::dialog::ConfirmDialog;
use crate::components::layout::Me;
use crate::components::pager::Pager;
use crate::components::panel::{EmptyState, ErrorPanel, Loading, PageHeader};
use crate::components::time::Time;
use crate::components::url_query::use_url_query;
use crate::error::AppError;
use crate::format::{encode_query_value, page_url};
use crate::types::contacts::{BackupUserFilter, BackupUserQuery, BackupUserRow, IntegrationStatus, Resolution};
use crate::types::storage::{limit_label, StorageLists};
use edit::EditUser;
use leptos::prelude::*;

fn query_from_params(get: impl Fn(&str) -> Option<String>) -> BackupUserQuery {
    BackupUserQuery {
        filter: BackupUserFilter {
            search: get("q").unwrap_or_default(),
            customer_id: get("customer").and_then(|v| v.parse().ok()),
            destination_id: get("destination").and_then(|v| v.parse().ok()),
            package_id: get("package").and_then(|v| v.parse().ok()),
            linked: get("linked").and_then(|v| match v.as_str() {
                "yes" => Some(true),
                "no" => Some(false),
                _ => None,
            }),
        },
        page: get("page").and_then(|v| v.parse().ok()).unwrap_or(1),
        per_page: crate::components::pager::per_page_param(get("per")),
    }
}

fn query_string(q: &BackupUserQuery) -> String {
    let mut parts = Vec::new();
    if !q.filter.search.trim().is_empty() {
        parts.push(format!("q={}", encode_query_value(q.filter.search.trim())));
    }
    for (key, value) in [("customer", q.filter.customer_id), ("destination", q.filter.destination_id), ("package", q.filter.package_id)] {
        if let Some(v) = value {
            parts.push(format!("{key}={v}"));
        }
    }
    if let Some(l) = q.filter.linked {
        parts.push(format!("linked={}", if l { "yes" } else { "no" }));
    }
    if q.page > 1 {
        parts.push(format!("page={}", q.page));
    }
    if q.per_page != 50 {
        parts.push(format!("per={}", q.per_page));
    }
    page_url("/backup-users", &parts)
}

/// List, filter, edit, delete.
#[component]
pub fn BackupUsersPage() -> impl IntoView {
    let me = expect_context::<Me>().0;
    let (query, put_query) = use_url_query(|get| query_from_params(get), query_string);
    let apply = move |f: &dyn Fn(&mut BackupUserQuery)| {
        let mut q = query.get_untracked();
        f(&mut q);
        put_query.run(q);
    };
    let reload = RwSignal::new(0u32);
    let list = Resource::new(move || (query.get(), reload.get()), |(q, _)| list_backup_users(q));
    let storage = Resource::new(|| (), |_| list_storage());
    let editing = RwSignal::new(None::<BackupUserRow>);
    let to_delete = RwSignal::new(None::<BackupUserRow>);
    let confirm_open = RwSignal::new(false);
    let error = RwSignal::new(None::<AppError>);
    let notice = RwSignal::new(None::<String>);
    let on_saved = Callback::new(move |message: String| {
        notice.set(Some(message));
        reload.update(|n| *n += 1);
    });
    let resolve = Callback::new(move |(user, resolution): (BackupUserRow, Resolution)| {
        error.set(None);
        notice.set(None);
        leptos::task::spawn_local(async move {
            match resolve_backup_user(user.backup_user_id, resolution).await {
                Ok(()) => on_saved.run(match resolution {
                    Resolution::TakeAutotask => format!("{} now has Autotask\u{2019}s name and company.", user.email),
                    Resolution::KeepTaskbridge => format!("{} keeps Taskbridge\u{2019}s details; the difference is no longer flagged.", user.email),
                }),
                Err(e) => error.set(Some(e)),
            }
        });
    });
    let delete = Callback::new(move |_| {
        let Some(user) = to_delete.get_untracked() else { return };
        error.set(None);
        leptos::task::spawn_local(async move {
            match delete_backup_user(user.backup_user_id).await {
                Ok(()) => on_saved.run(format!(
                    "{} deleted.{}",
                    user.email,
                    if user.contact_id.is_some() { " Its Autotask contact shows a blank status again." } else { "" }
                )),
                Err(e) => error.set(Some(e)),
            }
        });
    });

    view! {
        <PageHeader title="Backup users" lead="Every backup user, most imported from Autotask contacts. Edit or delete them here: a new name or customer shows the contact as Modified; a new email makes a new user." />
        {move || error.get().map(|error| view! { <ErrorPanel error /> })}
        {move || notice.get().map(|text| view! { <div class="panel panel-success" role="status" data-testid="notice">{text}</div> })}
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let storage = storage.await.unwrap_or_default();
                view! { <Filters query apply=Callback::new(move |q: BackupUserQuery| apply(&|cur| { *cur = q.clone(); cur.page = 1; })) storage /> }
            })}
        </Transition>
        <Transition fallback=|| view! { <Loading what="backup users" /> }>
            {move || Suspend::new(async move {
                let is_admin = me.await.is_ok_and(|m| m.is_admin());
                match list.await {
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                    Ok(page) if page.all == 0 => view! {
                        <EmptyState title="No backup users yet">
                            "Import them from your Autotask contacts on " <a href="/contacts">"Contacts"</a> "."
                        </EmptyState>
                    }.into_any(),
                    Ok(page) if page.total == 0 => view! {
                        <EmptyState title="No backup user matches these filters">
                            <button type="button" class="btn btn-small" on:click=move |_| apply(&|q| *q = BackupUserQuery { per_page: q.per_page, ..BackupUserQuery::default() })>"Clear the filters"</button>
                        </EmptyState>
                    }.into_any(),
                    Ok(page) => {
                        let (total, shown, current, per_page) = (page.total, page.rows.len(), i64::from(page.page), i64::from(page.per_page));
                        view! {
                            <div class="table-wrap table-sticky">
                                <table class="table" aria-label="Backup users">
                                    <thead><tr>
                                        <th scope="col">"User (login)"</th><th scope="col">"Customer"</th>
                                        <th scope="col">"Destination and package"</th><th scope="col">"Autotask contact"</th>
                                        {is_admin.then(|| view! { <th scope="col"><span class="sr-only">"Actions"</span></th> })}
                                    </tr></thead>
                                    <tbody>
                                        {page.rows.into_iter().map(|u| user_row(u, is_admin, editing, to_delete, confirm_open, resolve)).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                            <Pager total page=current per_page shown on_page=Callback::new(move |p: i64| apply(&|q| q.page = p.max(1) as u32)) />
                        }.into_any()
                    }
                }
            })}
        </Transition>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let storage = storage.await.unwrap_or_default();
                view! { <EditUser editing storage on_saved /> }
            })}
        </Transition>
        <ConfirmDialog
            open=confirm_open
            title=Signal::derive(move || format!("Delete the backup user {}?", to_delete.get().map(|u| u.email).unwrap_or_default()))
            body=Signal::derive(move || match to_delete.get() {
                Some(u) if u.contact_id.is_some() => "The backup platform is told to remove the account. Its Autotask contact shows a blank status again and can be imported anew.".to_string(),
                _ => "The backup platform is told to remove the account. This cannot be undone.".to_string(),
            })
            confirm_label="Delete user"
            on_confirm=delete
        />
    }
}

fn user_row(
    u: BackupUserRow,
    is_admin: bool,
    editing: RwSignal<Option<BackupUserRow>>,
    to_delete: RwSignal<Option<BackupUserRow>>,
    confirm_open: RwSignal<bool>,
    resolve: Callback<(BackupUserRow, Resolution)>,
) -> impl IntoView {
    let name = format!("{} {}", u.first_name, u.last_name);
    let modified = u.contact_status == Some(IntegrationStatus::Modified);
    let (take_row, keep_row) = (u.clone(), u.clone());
    let contact = match (u.contact_id, u.contact_status) {
        (Some(id), Some(IntegrationStatus::Modified)) => view! {
            <Badge label="Modified" tone=Tone::Warn reason=u.differences.clone().unwrap_or_else(|| "Name or company differ from Autotask.".into()) />
            <span class="muted small">{format!(" #{id}")}</span>
            {(is_admin && modified).then(|| view! {
                <div class="cell-actions">
                    <button type="button" class="btn btn-small" on:click=move |_| resolve.run((take_row.clone(), Resolution::TakeAutotask))>"Update from Autotask"</button>
                    <button type="button" class="btn btn-small" on:click=move |_| resolve.run((keep_row.clone(), Resolution::KeepTaskbridge))>"Keep Taskbridge\u{2019}s"</button>
                </div>
            })}
        }
        .into_any(),
        (Some(id), _) => view! { <Badge label="Equal" tone=Tone::Good /> <span class="muted small">{format!(" #{id}")}</span> }.into_any(),
        (None, _) => view! { <span class="muted">"Not linked"</span> }.into_any(),
    };
    let (edit_row, delete_row) = (u.clone(), u.clone());
    let customer_id = match &u.customer_ref {
        Some(r) => format!("ref {r}"),
        None => format!("#{}", u.customer_id),
    };
    let customer = view! {
        <a href=format!("/backup-users?customer={}", u.customer_id) title="Show only this customer\u{2019}s users">{u.customer_name.clone()}</a>
        <br /> <span class="muted small">{customer_id}</span>
    };
    view! {
        <tr data-backup-user=u.email.clone()>
            <td class="cell-name">{name.clone()}<br /><span class="muted small">{u.email.clone()}</span><br /><span class="muted small">"changed " <Time ms=Some(u.updated_at) /></span></td>
            <td>{customer}</td>
            <td>{u.destination_name.clone()}<br /><span class="muted small">{format!("{} \u{b7} {}", u.package_name, limit_label(u.package_limit_gb))}</span></td>
            <td data-testid="contact-status">{contact}</td>
            {is_admin.then(|| view! {
                <td class="actions">
                    <button type="button" class="btn btn-small" aria-label=format!("Edit {name}") on:click=move |_| editing.set(Some(edit_row.clone()))>"Edit"</button>
                    <button type="button" class="btn btn-small btn-danger-quiet" aria-label=format!("Delete {name}") on:click=move |_| { to_delete.set(Some(delete_row.clone())); confirm_open.set(true); }>"Delete"</button>
                </td>
            })}
        </tr>
    }
}

/// Search and filters; changes go to the URL.
#[component]
fn Filters(query: Memo<BackupUserQuery>, apply: Callback<BackupUserQuery>, storage: StorageLists) -> impl IntoView {
    let search = RwSignal::new(query.get_untracked().filter.search);
    let with = move |f: &dyn Fn(&mut BackupUserQuery)| {
        let mut q = query.get_untracked();
        f(&mut q);
        apply.run(q);
    };
    view! {
        <form class="toolbar" role="search" aria-label="Filter backup users" on:submit=move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let text = search.get_untracked();
            with(&|q| q.filter.search = text.clone());
        }>
            <div class="field grow">
                <label for="user-search">"Search"</label>
                <input id="user-search" type="search" placeholder="Name or email" prop:value=search on:input=move |ev| search.set(event_target_value(&ev)) on:change=move |ev| {
                    let text = event_target_value(&ev);
                    with(&|q| q.filter.search = text.clone());
                } autocomplete="off" />
            </div>
            <div class="field">
                <label for="user-destination">"Destination"</label>
                <select id="user-destination" on:change=move |ev| { let v = event_target_value(&ev).parse().ok(); with(&|q| q.filter.destination_id = v); }>
                    <option value="" selected=move || query.with(|q| q.filter.destination_id.is_none())>"Any destination"</option>
                    {storage.destinations.iter().map(|d| {
                        let id = d.destination_id;
                        view! { <option value=id.to_string() selected=move || query.with(|q| q.filter.destination_id == Some(id))>{d.name.clone()}</option> }
                    }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="user-package">"Package"</label>
                <select id="user-package" on:change=move |ev| { let v = event_target_value(&ev).parse().ok(); with(&|q| q.filter.package_id = v); }>
                    <option value="" selected=move || query.with(|q| q.filter.package_id.is_none())>"Any package"</option>
                    {storage.packages.iter().map(|p| {
                        let id = p.package_id;
                        view! { <option value=id.to_string() selected=move || query.with(|q| q.filter.package_id == Some(id))>{p.name.clone()}</option> }
                    }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="user-linked">"Autotask contact"</label>
                <select id="user-linked" on:change=move |ev| {
                    let v = event_target_value(&ev);
                    with(&|q| q.filter.linked = match v.as_str() { "yes" => Some(true), "no" => Some(false), _ => None });
                }>
                    <option value="" selected=move || query.with(|q| q.filter.linked.is_none())>"Linked or not"</option>
                    <option value="yes" selected=move || query.with(|q| q.filter.linked == Some(true))>"Linked to a contact"</option>
                    <option value="no" selected=move || query.with(|q| q.filter.linked == Some(false))>"Not linked"</option>
                </select>
            </div>
            {move || query.with(|q| q.filter.customer_id).map(|id| view! {
                <div class="field">
                    <span class="chip">{format!("Customer #{id}")}
                        <button type="button" class="btn btn-quiet btn-small" aria-label="Remove the customer filter" on:click=move |_| with(&|q| q.filter.customer_id = None)>"\u{2715}"</button>
                    </span>
                </div>
            })}
            <button type="submit" class="sr-only">"Search"</button>
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_round_trips_the_query() {
        let q = BackupUserQuery {
            filter: BackupUserFilter {
                search: "ann".into(),
                customer_id: Some(3),
                destination_id: Some(4),
                package_id: Some(5),
                linked: Some(false),
            },
            page: 2,
            per_page: 25,
        };
        let url = query_string(&q);
        let params = crate::format::query_params(&url);
        assert_eq!(query_from_params(|k| params.get(k).cloned()), q);
        assert_eq!(query_string(&BackupUserQuery::default()), "/backup-users");
    }
}
