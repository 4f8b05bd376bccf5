//! The Storage accounts page (seed 001): storage destinations (where a backup user's data goes) and packages
//! (how much it may store). Admins add, change, retire and delete them; a destination or
//! package in use cannot be deleted, and says by how many users.

mod forms;

use crate::api::storage::{delete_storage_item, list_storage, set_storage_retired};
use crate::components::badge::{Badge, Tone};
use crate::components::dialog::ConfirmDialog;
use crate::components::layout::Me;
use crate::components::panel::{EmptyState, ErrorPanel, Loading, PageHeader};
use crate::error::AppError;
use crate::format::count_of;
use crate::types::storage::{limit_label, Destination, Package, StorageItem};
use forms::{DestinationForm, PackageForm};
use leptos::prelude::*;

/// What a confirmation is about: (item, id, name, retire / delete).
#[derive(Debug, Clone, PartialEq)]
struct Pending {
    item: StorageItem,
    id: i64,
    name: String,
    delete: bool,
}

/// Destinations and packages.
#[component]
pub fn StoragePage() -> impl IntoView {
    let me = expect_context::<Me>().0;
    let version = RwSignal::new(0u32);
    let lists = Resource::new(move || version.get(), |_| list_storage());
    let changed = Callback::new(move |_: ()| version.update(|v| *v += 1));
    let editing_destination = RwSignal::new(None::<Option<Destination>>);
    let editing_package = RwSignal::new(None::<Option<Package>>);
    let pending = RwSignal::new(None::<Pending>);
    let confirm_open = RwSignal::new(false);
    let action_error = RwSignal::new(None::<AppError>);
    let notice = RwSignal::new(None::<String>);

    let act = move |p: Pending| {
        action_error.set(None);
        notice.set(None);
        leptos::task::spawn_local(async move {
            let result = if p.delete { delete_storage_item(p.item, p.id).await } else { set_storage_retired(p.item, p.id, true).await };
            match result {
                Ok(()) => {
                    notice.set(Some(format!("\u{201c}{}\u{201d} {}.", p.name, if p.delete { "deleted" } else { "retired" })));
                    changed.run(());
                }
                Err(e) => action_error.set(Some(e)),
            }
        });
    };
    let reactivate = Callback::new(move |(item, id, name): (StorageItem, i64, String)| {
        action_error.set(None);
        leptos::task::spawn_local(async move {
            match set_storage_retired(item, id, false).await {
                Ok(()) => {
                    notice.set(Some(format!("\u{201c}{name}\u{201d} is offered again.")));
                    changed.run(());
                }
                Err(e) => action_error.set(Some(e)),
            }
        });
    });
    let controls = Controls { pending, confirm_open, reactivate };

    view! {
        <PageHeader title="Storage accounts" lead="Where backup users\u{2019} data goes (destinations) and how much each may store (packages). Every backup user needs one of each." />
        {move || action_error.get().map(|error| view! { <ErrorPanel error /> })}
        {move || notice.get().map(|text| view! { <div class="panel panel-success" role="status">{text}</div> })}
        <Transition fallback=|| view! { <Loading what="storage" /> }>
            {move || Suspend::new(async move {
                let is_admin = me.await.is_ok_and(|m| m.is_admin());
                match lists.await {
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                    Ok(lists) => view! {
                        <section class="card" aria-labelledby="destinations-title">
                            <div class="card-head">
                                <h2 id="destinations-title">"Destinations"</h2>
                                {is_admin.then(|| view! {
                                    <button type="button" class="btn btn-primary" data-testid="add-destination" on:click=move |_| editing_destination.set(Some(None))>"Add destination"</button>
                                })}
                            </div>
                            {destinations_table(lists.destinations, is_admin, editing_destination, controls)}
                        </section>
                        <section class="card" aria-labelledby="packages-title">
                            <div class="card-head">
                                <h2 id="packages-title">"Packages"</h2>
                                {is_admin.then(|| view! {
                                    <button type="button" class="btn btn-primary" data-testid="add-package" on:click=move |_| editing_package.set(Some(None))>"Add package"</button>
                                })}
                            </div>
                            {packages_table(lists.packages, is_admin, editing_package, controls)}
                        </section>
                    }.into_any(),
                }
            })}
        </Transition>
        <DestinationForm editing=editing_destination on_saved=changed />
        <PackageForm editing=editing_package on_saved=changed />
        <ConfirmDialog
            open=confirm_open
            title=Signal::derive(move || pending.get().map(|p| format!("{} the {} \u{201c}{}\u{201d}?", if p.delete { "Delete" } else { "Retire" }, p.item.noun(), p.name)).unwrap_or_default())
            body=Signal::derive(move || match pending.get() {
                Some(p) if p.delete => format!("The {} is removed for good. Contacts that had it chosen for import lose the choice.", p.item.noun()),
                Some(_) => "Backup users on it keep it; it is no longer offered for new users or imports. You can reactivate it later.".to_string(),
                None => String::new(),
            })
            confirm_label="Confirm"
            on_confirm=Callback::new(move |_| {
                if let Some(p) = pending.get_untracked() {
                    act(p);
                }
            })
        />
    }
}

fn status_badge(retired: bool) -> AnyView {
    if retired {
        view! { <Badge label="Retired" tone=Tone::Muted /> }.into_any()
    } else {
        view! { <Badge label="Offered" tone=Tone::Good /> }.into_any()
    }
}

/// What the row buttons act through.
#[derive(Clone, Copy)]
struct Controls {
    pending: RwSignal<Option<Pending>>,
    confirm_open: RwSignal<bool>,
    reactivate: Callback<(StorageItem, i64, String)>,
}

/// One listed destination or package, as its buttons see it.
struct Entry {
    item: StorageItem,
    id: i64,
    name: String,
    retired: bool,
    users: i64,
}

fn row_actions(e: Entry, on_edit: impl Fn() + 'static, c: Controls) -> impl IntoView {
    let Entry { item, id, name, retired, users } = e;
    let ask = move |delete: bool, name: String| {
        c.pending.set(Some(Pending { item, id, name, delete }));
        c.confirm_open.set(true);
    };
    let (n1, n2, n3) = (name.clone(), name.clone(), name.clone());
    view! {
        <td class="actions">
            <button type="button" class="btn btn-small" aria-label=format!("Edit {name}") on:click=move |_| on_edit()>"Edit"</button>
            {if retired {
                view! { <button type="button" class="btn btn-small" aria-label=format!("Reactivate {n1}") on:click=move |_| c.reactivate.run((item, id, n2.clone()))>"Reactivate"</button> }.into_any()
            } else {
                let n = n1.clone();
                view! { <button type="button" class="btn btn-small" aria-label=format!("Retire {n1}") on:click=move |_| ask(false, n.clone())>"Retire"</button> }.into_any()
            }}
            <button type="button" class="btn btn-small btn-danger-quiet" aria-label=format!("Delete {n3}")
                title=(users > 0).then(|| format!("In use by {}: retire it instead, or move them first.", count_of(users, "backup user", "backup users")))
                on:click=move |_| ask(true, n3.clone())>"Delete"</button>
        </td>
    }
}

fn destinations_table(list: Vec<Destination>, is_admin: bool, editing: RwSignal<Option<Option<Destination>>>, controls: Controls) -> AnyView {
    if list.is_empty() {
        return view! {
            <EmptyState title="No destinations yet">
                {if is_admin { "Add the bucket, container or folder backups go to: every backup user needs one." } else { "An admin adds the buckets, containers or folders backups go to." }}
            </EmptyState>
        }
        .into_any();
    }
    let count = list.len() as i64;
    view! {
        <div class="table-wrap">
            <table class="table" aria-label="Storage destinations">
                <thead><tr>
                    <th scope="col">"Name"</th><th scope="col">"Provider"</th><th scope="col">"Location"</th>
                    <th scope="col">"Region"</th><th scope="col" class="num">"Users"</th><th scope="col">"Status"</th>
                    {is_admin.then(|| view! { <th scope="col"><span class="sr-only">"Actions"</span></th> })}
                </tr></thead>
                <tbody>
                    {list.into_iter().map(|d| {
                        let row = d.clone();
                        view! {
                            <tr data-destination=d.name.clone()>
                                <td class="cell-name">{d.name.clone()}</td>
                                <td class="nowrap">{d.provider.label()}<br /><span class="muted small">{d.kind.label()}</span></td>
                                <td class="mono nowrap">{d.location.clone()}</td>
                                <td class="mono nowrap">{d.region.clone().unwrap_or_else(|| "\u{2014}".into())}</td>
                                <td class="num">{crate::format::thousands(d.users)}</td>
                                <td>{status_badge(d.retired)}</td>
                                {is_admin.then(|| row_actions(
                                    Entry { item: StorageItem::Destination, id: d.destination_id, name: d.name.clone(), retired: d.retired, users: d.users },
                                    move || editing.set(Some(Some(row.clone()))),
                                    controls,
                                ))}
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            <p class="table-count">{count_of(count, "destination", "destinations")}</p>
        </div>
    }
    .into_any()
}

fn packages_table(list: Vec<Package>, is_admin: bool, editing: RwSignal<Option<Option<Package>>>, controls: Controls) -> AnyView {
    if list.is_empty() {
        return view! {
            <EmptyState title="No packages yet">
                {if is_admin { "Add a package for each storage limit you sell, e.g. \u{201c}Standard 500 GB\u{201d}: every backup user needs one." } else { "An admin adds the packages (storage limits) backup users get." }}
            </EmptyState>
        }
        .into_any();
    }
    let count = list.len() as i64;
    view! {
        <div class="table-wrap">
            <table class="table" aria-label="Packages">
                <thead><tr>
                    <th scope="col">"Name"</th><th scope="col" class="num">"Storage limit"</th><th scope="col" class="num">"Users"</th><th scope="col">"Status"</th>
                    {is_admin.then(|| view! { <th scope="col"><span class="sr-only">"Actions"</span></th> })}
                </tr></thead>
                <tbody>
                    {list.into_iter().map(|p| {
                        let row = p.clone();
                        view! {
                            <tr data-package=p.name.clone()>
                                <td class="cell-name">{p.name.clone()}</td>
                                <td class="num nowrap">{limit_label(p.limit_gb)}</td>
                                <td class="num">{crate::format::thousands(p.users)}</td>
                                <td>{status_badge(p.retired)}</td>
                                {is_admin.then(|| row_actions(
                                    Entry { item: StorageItem::Package, id: p.package_id, name: p.name.clone(), retired: p.retired, users: p.users },
                                    move || editing.set(Some(Some(row.clone()))),
                                    controls,
                                ))}
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            <p class="table-count">{count_of(count, "package", "packages")}</p>
        </div>
    }
    .into_any()
}
