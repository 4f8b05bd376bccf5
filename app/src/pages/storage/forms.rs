//! The add/edit dialogs of the Storage page, checking every field as the server does.

use crate::api::storage::{save_destination, save_package};
use crate::components::dialog::Modal;
use crate::components::field::field_message;
use crate::error::AppError;
use crate::types::storage::{Destination, DestinationInput, DestinationKind, Package, PackageInput, Provider};
use leptos::prelude::*;

/// A Modal open while `editing` is Some; closing it clears `editing`.
fn modal_open<T: Clone + Send + Sync + 'static>(editing: RwSignal<Option<T>>) -> RwSignal<bool> {
    let open = RwSignal::new(false);
    Effect::new(move |_| open.set(editing.with(Option::is_some)));
    Effect::new(move |_| {
        if !open.get() && editing.with_untracked(Option::is_some) {
            editing.set(None);
        }
    });
    open
}

/// Add or change a destination.
#[component]
pub fn DestinationForm(editing: RwSignal<Option<Option<Destination>>>, on_saved: Callback<()>) -> impl IntoView {
    let open = modal_open(editing);
    let name = RwSignal::new(String::new());
    let provider = RwSignal::new(Provider::AmazonS3.as_str().to_string());
    let location = RwSignal::new(String::new());
    let region = RwSignal::new(String::new());
    let touched = RwSignal::new(false);
    let server_error = RwSignal::new(None::<AppError>);
    let saving = RwSignal::new(false);
    Effect::new(move |_| {
        if let Some(current) = editing.get() {
            name.set(current.as_ref().map(|d| d.name.clone()).unwrap_or_default());
            provider.set(current.as_ref().map(|d| d.provider).unwrap_or(Provider::AmazonS3).as_str().to_string());
            location.set(current.as_ref().map(|d| d.location.clone()).unwrap_or_default());
            region.set(current.as_ref().and_then(|d| d.region.clone()).unwrap_or_default());
            touched.set(false);
            server_error.set(None);
        }
    });
    let input = move || DestinationInput { name: name.get(), provider: provider.get(), location: location.get(), region: region.get() };
    let check = move |field: &'static str| field_message(server_error.get(), input().errors(), field, touched.get());
    let chosen = move || Provider::parse(&provider.get()).unwrap_or(Provider::AmazonS3);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        touched.set(true);
        server_error.set(None);
        if input().validate().is_err() {
            return;
        }
        let id = editing.get_untracked().flatten().map(|d| d.destination_id);
        saving.set(true);
        leptos::task::spawn_local(async move {
            let result = save_destination(id, input()).await;
            saving.set(false);
            match result {
                Ok(_) => {
                    editing.set(None);
                    on_saved.run(());
                }
                Err(e) => server_error.set(Some(e)),
            }
        });
    };
    let general = move || server_error.get().filter(|e| !matches!(e, AppError::Invalid { .. }));
    let title =
        Signal::derive(
            move || if editing.with(|e| matches!(e, Some(Some(_)))) { "Edit destination".to_string() } else { "Add destination".to_string() },
        );
    view! {
        <Modal open title>
            <form class="form" on:submit=submit novalidate aria-label="Destination">
                <div class="field">
                    <label for="dest-name">"Name"</label>
                    <input id="dest-name" type="text" autocomplete="off" placeholder="e.g. US backups" prop:value=name on:input=move |ev| name.set(event_target_value(&ev))
                        aria-invalid=move || check("name").is_some().to_string() aria-describedby="dest-name-error" />
                    <p id="dest-name-error" class="field-error">{move || check("name")}</p>
                </div>
                <div class="field">
                    <label for="dest-provider">"Provider"</label>
                    <select id="dest-provider" prop:value=provider on:change=move |ev| provider.set(event_target_value(&ev)) aria-describedby="dest-provider-error">
                        {Provider::ALL.into_iter().map(|p| view! { <option value=p.as_str()>{p.label()}</option> }).collect_view()}
                    </select>
                    <p id="dest-provider-error" class="field-error">{move || check("provider")}</p>
                </div>
                <div class="field">
                    <label for="dest-location">{move || match chosen().kind() {
                        DestinationKind::Bucket => "Bucket name",
                        DestinationKind::Container => "Container name",
                        DestinationKind::RootFolder => "Root folder (absolute path)",
                    }}</label>
                    <input id="dest-location" type="text" autocomplete="off" class="mono" prop:value=location on:input=move |ev| location.set(event_target_value(&ev))
                        placeholder=move || match chosen().kind() { DestinationKind::Bucket => "msp-backups-us", DestinationKind::Container => "msp-backups", DestinationKind::RootFolder => "/srv/backups" }
                        aria-invalid=move || check("location").is_some().to_string() aria-describedby="dest-location-error" />
                    <p id="dest-location-error" class="field-error">{move || check("location")}</p>
                </div>
                <Show when=move || chosen().has_regions()>
                    <div class="field">
                        <label for="dest-region">"Region"</label>
                        <input id="dest-region" type="text" autocomplete="off" class="mono" list="dest-regions" prop:value=region on:input=move |ev| region.set(event_target_value(&ev))
                            aria-invalid=move || check("region").is_some().to_string() aria-describedby="dest-region-hint dest-region-error" />
                        <datalist id="dest-regions">
                            {move || chosen().suggested_regions().iter().map(|r| view! { <option value=*r></option> }).collect_view()}
                        </datalist>
                        <p id="dest-region-hint" class="field-hint">{move || format!("The {} region code, e.g. {}.", chosen().label(), chosen().suggested_regions().first().copied().unwrap_or(""))}</p>
                        <p id="dest-region-error" class="field-error">{move || check("region")}</p>
                    </div>
                </Show>
                <div class="form-actions">
                    {move || general().map(|e| view! { <p class="form-alert" role="alert">{e.to_string()}</p> })}
                    <button type="button" class="btn" on:click=move |_| editing.set(None)>"Cancel"</button>
                    <button type="submit" class="btn btn-primary" disabled=move || saving.get()>{move || if saving.get() { "Saving\u{2026}" } else { "Save destination" }}</button>
                </div>
            </form>
        </Modal>
    }
}

/// Add or change a package.
#[component]
pub fn PackageForm(editing: RwSignal<Option<Option<Package>>>, on_saved: Callback<()>) -> impl IntoView {
    let open = modal_open(editing);
    let name = RwSignal::new(String::new());
    let limit = RwSignal::new(String::new());
    let unlimited = RwSignal::new(false);
    let touched = RwSignal::new(false);
    let server_error = RwSignal::new(None::<AppError>);
    let saving = RwSignal::new(false);
    Effect::new(move |_| {
        if let Some(current) = editing.get() {
            name.set(current.as_ref().map(|p| p.name.clone()).unwrap_or_default());
            limit.set(current.as_ref().and_then(|p| p.limit_gb).map(|gb| gb.to_string()).unwrap_or_default());
            unlimited.set(current.as_ref().is_some_and(|p| p.limit_gb.is_none()));
            touched.set(false);
            server_error.set(None);
        }
    });
    let input = move || PackageInput { name: name.get(), limit_gb: limit.get(), unlimited: unlimited.get() };
    let check = move |field: &'static str| field_message(server_error.get(), input().errors(), field, touched.get());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        touched.set(true);
        server_error.set(None);
        if input().validate().is_err() {
            return;
        }
        let id = editing.get_untracked().flatten().map(|p| p.package_id);
        saving.set(true);
        leptos::task::spawn_local(async move {
            let result = save_package(id, input()).await;
            saving.set(false);
            match result {
                Ok(_) => {
                    editing.set(None);
                    on_saved.run(());
                }
                Err(e) => server_error.set(Some(e)),
            }
        });
    };
    let general = move || server_error.get().filter(|e| !matches!(e, AppError::Invalid { .. }));
    let title =
        Signal::derive(move || if editing.with(|e| matches!(e, Some(Some(_)))) { "Edit package".to_string() } else { "Add package".to_string() });
    view! {
        <Modal open title>
            <form class="form" on:submit=submit novalidate aria-label="Package">
                <div class="field">
                    <label for="pkg-name">"Name"</label>
                    <input id="pkg-name" type="text" autocomplete="off" placeholder="e.g. Standard 500 GB" prop:value=name on:input=move |ev| name.set(event_target_value(&ev))
                        aria-invalid=move || check("name").is_some().to_string() aria-describedby="pkg-name-error" />
                    <p id="pkg-name-error" class="field-error">{move || check("name")}</p>
                </div>
                <div class="field">
                    <label for="pkg-limit">"Storage limit (GB)"</label>
                    <input id="pkg-limit" type="text" inputmode="numeric" autocomplete="off" class="input-narrow" prop:value=limit disabled=move || unlimited.get()
                        on:input=move |ev| limit.set(event_target_value(&ev)) aria-invalid=move || check("limit_gb").is_some().to_string() aria-describedby="pkg-limit-error" />
                    <p id="pkg-limit-error" class="field-error">{move || check("limit_gb")}</p>
                </div>
                <label class="check">
                    <input type="checkbox" prop:checked=unlimited on:change=move |ev| unlimited.set(event_target_checked(&ev)) />
                    " Unlimited (no storage limit)"
                </label>
                <div class="form-actions">
                    {move || general().map(|e| view! { <p class="form-alert" role="alert">{e.to_string()}</p> })}
                    <button type="button" class="btn" on:click=move |_| editing.set(None)>"Cancel"</button>
                    <button type="submit" class="btn btn-primary" disabled=move || saving.get()>{move || if saving.get() { "Saving\u{2026}" } else { "Save package" }}</button>
                </div>
            </form>
        </Modal>
    }
}
