//! The edit dialog of a backup user: names, email (a new one makes a new user), customer
//! (searched, shown with its ID), destination and package, checked as the server does.

use crate::api::backup_users::save_backup_user;
use crate::api::tickets::customer_choices;
use crate::components::dialog::Modal;
use crate::error::AppError;
use crate::types::contacts::{BackupUserInput, BackupUserRow};
use crate::types::storage::StorageLists;
use leptos::prelude::*;

#[component]
pub(super) fn EditUser(editing: RwSignal<Option<BackupUserRow>>, storage: StorageLists, on_saved: Callback<String>) -> impl IntoView {
    let open = RwSignal::new(false);
    Effect::new(move |_| open.set(editing.with(Option::is_some)));
    Effect::new(move |_| {
        if !open.get() && editing.with_untracked(Option::is_some) {
            editing.set(None);
        }
    });
    let first = RwSignal::new(String::new());
    let last = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let customer = RwSignal::new((0i64, String::new()));
    let destination = RwSignal::new(0i64);
    let package = RwSignal::new(0i64);
    let search = RwSignal::new(String::new());
    let touched = RwSignal::new(false);
    let server_error = RwSignal::new(None::<AppError>);
    let saving = RwSignal::new(false);
    Effect::new(move |_| {
        if let Some(u) = editing.get() {
            first.set(u.first_name.clone());
            last.set(u.last_name.clone());
            email.set(u.email.clone());
            customer.set((u.customer_id, u.customer_name.clone()));
            destination.set(u.destination_id);
            package.set(u.package_id);
            search.set(String::new());
            touched.set(false);
            server_error.set(None);
        }
    });
    let results = Resource::new(
        move || search.get(),
        |s| async move {
            if s.trim().is_empty() {
                Ok(Vec::new())
            } else {
                customer_choices(s).await
            }
        },
    );
    let input = move || BackupUserInput {
        first_name: first.get(),
        last_name: last.get(),
        email: email.get(),
        customer_id: customer.get().0,
        destination_id: destination.get(),
        package_id: package.get(),
    };
    let check = move |field: &'static str| crate::components::field::field_message(server_error.get(), input().errors(), field, touched.get());
    let email_changes =
        move || editing.with(|u| u.as_ref().is_some_and(|u| u.contact_id.is_some() && u.email.to_lowercase() != email.get().trim().to_lowercase()));
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        touched.set(true);
        server_error.set(None);
        if input().validate().is_err() {
            return;
        }
        let Some(id) = editing.get_untracked().map(|u| u.backup_user_id) else { return };
        saving.set(true);
        leptos::task::spawn_local(async move {
            let result = save_backup_user(id, input()).await;
            saving.set(false);
            match result {
                Ok(saved) => {
                    editing.set(None);
                    on_saved.run(saved.message);
                }
                Err(e) => server_error.set(Some(e)),
            }
        });
    };
    let general = move || server_error.get().filter(|e| !matches!(e, AppError::Invalid { .. }));
    let storage = StoredValue::new(storage);
    let field = move |id: &'static str, label: &'static str, value: RwSignal<String>, name: &'static str, kind: &'static str| {
        let error_id = format!("{id}-error");
        view! {
            <div class="field">
                <label for=id>{label}</label>
                <input id=id type=kind autocomplete="off" prop:value=value on:input=move |ev| value.set(event_target_value(&ev))
                    aria-invalid=move || check(name).is_some().to_string() aria-describedby=error_id.clone() />
                <p id=error_id class="field-error">{move || check(name)}</p>
            </div>
        }
    };
    view! {
        <Modal open title=Signal::derive(move || editing.with(|u| u.as_ref().map(|u| format!("Edit {}", u.email)).unwrap_or_default()))>
            <form class="form" on:submit=submit novalidate aria-label="Edit backup user">
                {field("user-first", "First name", first, "first_name", "text")}
                {field("user-last", "Last name", last, "last_name", "text")}
                {field("user-email", "Email (the login)", email, "email", "email")}
                <Show when=email_changes>
                    <p class="panel panel-warn" role="status">"A new email makes this a new user: it will no longer be linked to its Autotask contact, which will show a blank status again."</p>
                </Show>
                <div class="field">
                    <label for="user-customer-search">"Customer"</label>
                    <p class="field-hint">{move || { let (id, name) = customer.get(); format!("Now: {name} (#{id}). Search to choose another.") }}</p>
                    <input id="user-customer-search" type="search" placeholder="Customer name" autocomplete="off" prop:value=search on:input=move |ev| search.set(event_target_value(&ev)) />
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            let list = results.await.unwrap_or_default();
                            (!list.is_empty()).then(|| view! {
                                <ul class="pick-list" aria-label="Matching customers">
                                    {list.into_iter().map(|c| {
                                        let (id, name) = (c.customer_id, c.name.clone());
                                        view! {
                                            <li><button type="button" class="btn btn-small" on:click=move |_| { customer.set((id, name.clone())); search.set(String::new()); }>"Choose"</button>
                                            {format!(" {} (#{})", c.name, c.customer_id)}</li>
                                        }
                                    }).collect_view()}
                                </ul>
                            })
                        })}
                    </Transition>
                    <p class="field-error">{move || check("customer_id")}</p>
                </div>
                <div class="field">
                    <label for="user-destination-edit">"Destination"</label>
                    <select id="user-destination-edit" on:change=move |ev| { if let Ok(v) = event_target_value(&ev).parse() { destination.set(v); } } aria-describedby="user-destination-error">
                        {move || storage.with_value(|s| s.destinations.iter().filter(|d| !d.retired || d.destination_id == destination.get_untracked()).map(|d| {
                            let id = d.destination_id;
                            view! { <option value=id.to_string() selected=move || destination.get() == id>{d.option_label()}</option> }
                        }).collect_view())}
                    </select>
                    <p id="user-destination-error" class="field-error">{move || check("destination_id")}</p>
                </div>
                <div class="field">
                    <label for="user-package-edit">"Package"</label>
                    <select id="user-package-edit" on:change=move |ev| { if let Ok(v) = event_target_value(&ev).parse() { package.set(v); } } aria-describedby="user-package-error">
                        {move || storage.with_value(|s| s.packages.iter().filter(|p| !p.retired || p.package_id == package.get_untracked()).map(|p| {
                            let id = p.package_id;
                            view! { <option value=id.to_string() selected=move || package.get() == id>{p.option_label()}</option> }
                        }).collect_view())}
                    </select>
                    <p id="user-package-error" class="field-error">{move || check("package_id")}</p>
                </div>
                <div class="form-actions">
                    {move || general().map(|e| view! { <p class="form-alert" role="alert">{e.to_string()}</p> })}
                    <button type="button" class="btn" on:click=move |_| editing.set(None)>"Cancel"</button>
                    <button type="submit" class="btn btn-primary" disabled=move || saving.get()>{move || if saving.get() { "Saving\u{2026}" } else { "Save user" }}</button>
                </div>
            </form>
        </Modal>
    }
}
