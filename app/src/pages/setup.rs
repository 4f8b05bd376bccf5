//! The Integration setup page: connect the partner's Autotask (API user, secret,
//! integration code, zone) and test the connection.

use crate::api::connection::{get_autotask_connection, SaveAutotaskConnection, TestAutotaskSettings};
use crate::components::badge::{Badge, Tone};
use crate::components::dialog::ConfirmDialog;
use crate::components::panel::{ErrorPanel, Loading, PageHeader};
use crate::components::time::Time;
use crate::error::AppError;
use crate::types::connection::{zone_named_by, AUTOTASK_ZONES};
use crate::types::{ConnectionInput, ConnectionTest, ConnectionView};
use leptos::prelude::*;

/// Settings form (admins) or read-only view (technicians), with the connection state.
#[component]
pub fn SetupPage() -> impl IntoView {
    let me = expect_context::<crate::components::layout::Me>().0;
    let save = ServerAction::<SaveAutotaskConnection>::new();
    let test = ServerAction::<TestAutotaskSettings>::new();
    let saved = crate::components::saved::saves(save);
    // Bumped by a test of the saved settings (their state changed); a test of typed
    // settings leaves the form, and what is typed in it, as it is.
    let tested_saved = RwSignal::new(0u32);
    let connection = Resource::new(move || (saved.get(), tested_saved.get()), |_| get_autotask_connection());
    if let Some(changed) = use_context::<crate::components::layout::ConnectionChanged>() {
        Effect::new(move |_| {
            let versions = (saved.get(), test.version().get());
            if versions != (0, 0) {
                changed.0.update(|n| *n += 1);
            }
        });
    }
    view! {
        <PageHeader title="Integration setup" lead="Connect Taskbridge to your Autotask PSA with an API-only user. The secret is stored encrypted and never shown again." />
        <Suspense fallback=|| view! { <Loading what="the connection settings" /> }>
            {move || Suspend::new(async move {
                let is_admin = me.await.is_ok_and(|m| m.is_admin());
                match connection.await {
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                    Ok(current) => view! { <SetupForm current is_admin save test tested_saved /> }.into_any(),
                }
            })}
        </Suspense>
        <crate::pages::ticket_settings::TicketSettingsCard />
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let is_admin = me.await.is_ok_and(|m| m.is_admin());
                view! {
                    <crate::pages::billing_settings::BillingSettingsCard is_admin />
                    <crate::pages::sync_settings::SyncSettingsCard is_admin />
                }
            })}
        </Suspense>
    }
}

/// A test's outcome; `unsaved`: of the settings as typed, not the saved ones.
fn test_panel(t: &ConnectionTest, unsaved: bool) -> impl IntoView {
    let (class, title) = match (t.ok, unsaved) {
        (true, false) => ("panel panel-success", "Connected"),
        (false, false) => ("panel panel-error", "Connection failed"),
        (true, true) => ("panel panel-success", "These settings work (not saved yet)"),
        (false, true) => ("panel panel-error", "These settings failed (not saved)"),
    };
    view! {
        <div class=class role="status" data-testid="connection-test">
            <strong>{title}</strong>
            <p>{t.message.clone()}</p>
            <p class="muted">"Tested " <Time ms=Some(t.at) /></p>
        </div>
    }
}

/// The region select's value for "found from the username".
const REGION_DISCOVERED: &str = "discovered";
/// Its value for "another address" (typed in).
const REGION_OTHER: &str = "other";

#[component]
fn SetupForm(
    current: ConnectionView,
    is_admin: bool,
    save: ServerAction<SaveAutotaskConnection>,
    test: ServerAction<TestAutotaskSettings>,
    tested_saved: RwSignal<u32>,
) -> impl IntoView {
    let username = RwSignal::new(current.username.clone());
    let secret = RwSignal::new(String::new());
    // A new secret is saved only with the admin's own password, asked again.
    let password = RwSignal::new(String::new());
    let code = RwSignal::new(current.integration_code.clone());
    let override_on = RwSignal::new(current.zone_override.is_some());
    let zone_override = RwSignal::new(current.zone_override.clone().unwrap_or_default());
    // The region: discovered from the username, a named zone (its address), or another address.
    let region = RwSignal::new(match current.zone_override.as_deref() {
        None => REGION_DISCOVERED.to_string(),
        Some(url) => match AUTOTASK_ZONES.iter().find(|(name, _)| zone_named_by(url) == Some(*name)) {
            Some((_, known)) => known.to_string(),
            None => REGION_OTHER.to_string(),
        },
    });
    let discovered_label = match (&current.zone, &current.zone_override) {
        (Some(z), None) => format!("Found from the username \u{2014} {}", z.name),
        _ => "Found from the username (recommended)".to_string(),
    };
    let touched = RwSignal::new(false);
    let initial = (current.username.clone(), current.integration_code.clone(), current.zone_override.clone().unwrap_or_default());
    let dirty = Memo::new(move |_| {
        username.get() != initial.0
            || code.get() != initial.1
            || !secret.get().is_empty()
            || zone_override.get() != initial.2
            || override_on.get() == initial.2.is_empty()
    });
    // Warn before leaving with unsaved changes.
    #[cfg(feature = "hydrate")]
    {
        let handle = window_event_listener(leptos::ev::beforeunload, move |ev| {
            if dirty.get_untracked() {
                ev.prevent_default();
                ev.set_return_value("unsaved");
            }
        });
        on_cleanup(move || handle.remove());
    }
    let secret_set = current.secret_set;
    let saved = StoredValue::new((current.username.to_lowercase(), current.zone_override.clone()));
    // What is typed, as the server functions take it.
    let typed = move || TestAutotaskSettings {
        username: username.get(),
        secret: secret.get(),
        integration_code: code.get(),
        zone_override: if override_on.get() { zone_override.get() } else { String::new() },
    };
    // The typed settings can be tested: the browser's share of the server's checks.
    let testable = move || {
        let t = typed();
        ConnectionInput::parse(&t.username, &t.secret, &t.integration_code, &t.zone_override).and_then(|input| {
            if input.secret.is_none() && !secret_set {
                Err(AppError::invalid("secret", "Enter the API user's secret."))
            } else if input.secret.is_none() && saved.with_value(|(user, zone)| input.username != *user || input.zone_override != *zone) {
                // The saved secret is only sent for the user and zone it was entered with.
                Err(AppError::invalid("secret", "Enter the secret again: the username or the zone changed."))
            } else {
                Ok(input)
            }
        })
    };
    // ...and saved: a new secret also needs the admin's own password.
    let parsed = move || {
        testable().and_then(|input| {
            if input.secret.is_some() && password.get().is_empty() {
                Err(AppError::invalid("password", "Enter your Taskbridge password to confirm."))
            } else {
                Ok(input)
            }
        })
    };
    let server_error = move || save.value().get().and_then(Result::err).or_else(|| test.value().get().and_then(Result::err));
    let field_error = move |field: &'static str| -> Option<String> {
        if let Some(m) = server_error().and_then(|e| e.field_message(field)) {
            return Some(m);
        }
        if !touched.get() {
            return None;
        }
        parsed().err().and_then(|e| e.field_message(field))
    };
    // Test and Save both try what is typed; Save of settings that fail asks first.
    let tested_unsaved = RwSignal::new(false);
    // The settings of the latest test, to know whether it vouches for what is typed now.
    let tested = RwSignal::new(None::<[String; 4]>);
    let key = |t: &TestAutotaskSettings| [t.username.clone(), t.secret.clone(), t.integration_code.clone(), t.zone_override.clone()];
    let save_after_test = RwSignal::new(false);
    let confirm_failed = RwSignal::new(false);
    let failed_reason = RwSignal::new(String::new());
    let run_test = move || {
        save.clear();
        let values = typed();
        tested_unsaved.set(dirty.get_untracked());
        tested.set(Some(key(&values)));
        test.dispatch(values);
    };
    let save_typed = move || {
        let t = typed();
        save.dispatch(SaveAutotaskConnection {
            username: t.username,
            secret: t.secret,
            integration_code: t.integration_code,
            zone_override: t.zone_override,
            password: password.get_untracked(),
        });
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        touched.set(true);
        if parsed().is_err() {
            return;
        }
        let passed_as_typed = tested.get() == Some(key(&typed())) && matches!(test.value().get(), Some(Ok(t)) if t.ok);
        if !dirty.get() || passed_as_typed {
            save_typed();
        } else {
            save_after_test.set(true);
            run_test();
        }
    };
    // Each test that ends (not one that ended before this form was drawn).
    Effect::new(move |seen: Option<usize>| {
        let version = test.version().get();
        let Some(result) = test.value().get_untracked().filter(|_| seen.is_some_and(|s| s != version)) else { return version };
        if !tested_unsaved.get_untracked() && result.is_ok() {
            tested_saved.update(|n| *n += 1);
        }
        if !save_after_test.get_untracked() {
            return version;
        }
        save_after_test.set(false);
        match result {
            Ok(t) if t.ok => save_typed(),
            Ok(t) => {
                failed_reason.set(t.message);
                confirm_failed.set(true);
            }
            // A field to fix is shown beside the field; nothing is saved.
            Err(AppError::Invalid { .. }) => {}
            Err(e) => {
                failed_reason.set(e.to_string());
                confirm_failed.set(true);
            }
        }
        version
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = save.value().get() {
            secret.set(String::new());
            password.set(String::new());
            touched.set(false);
        }
    });
    let general_error = move || server_error().filter(|e| !matches!(e, AppError::Invalid { .. }));
    let test_error = move || test.value().get().and_then(Result::err);
    let status = match (&current.configured, &current.last_test) {
        (false, _) => view! { <Badge label="Not set up" tone=Tone::Muted /> }.into_any(),
        (true, Some(t)) if t.ok => view! { <Badge label="Connected" tone=Tone::Good /> }.into_any(),
        (true, Some(t)) => view! { <Badge label="Error" tone=Tone::Bad reason=t.message.clone() /> }.into_any(),
        (true, None) => view! { <Badge label="Not tested" tone=Tone::Warn reason="Press Test connection to check the settings." /> }.into_any(),
    };
    let zone = current.zone.clone();
    let last_test = current.last_test.clone();
    let disabled = !is_admin;
    view! {
        <div class="setup-grid">
            <form class="card form" on:submit=submit novalidate aria-label="Autotask connection">
                <h2>"Autotask PSA"</h2>
                {(!is_admin).then(|| view! { <p class="muted">"Only admins can change these settings."</p> })}
                <div class="field">
                    <label for="at-username">"API username"</label>
                    <input id="at-username" type="email" autocomplete="off" disabled=disabled prop:value=username on:input=move |ev| username.set(event_target_value(&ev)) aria-invalid=move || field_error("username").is_some().to_string() aria-describedby="at-username-hint at-username-error" />
                    <p id="at-username-hint" class="field-hint">"The email of an API-only user (Autotask: Admin \u{203a} Resources/Users, security level API User)."</p>
                    <p id="at-username-error" class="field-error">{move || field_error("username")}</p>
                </div>
                <div class="field">
                    <label for="at-secret">"Secret"</label>
                    <input id="at-secret" type="password" autocomplete="new-password" disabled=disabled placeholder=if secret_set { "Saved \u{2014} leave empty to keep it" } else { "" } prop:value=secret on:input=move |ev| secret.set(event_target_value(&ev)) aria-invalid=move || field_error("secret").is_some().to_string() aria-describedby="at-secret-error" />
                    <p id="at-secret-error" class="field-error">{move || field_error("secret")}</p>
                </div>
                <Show when=move || !secret.get().is_empty()>
                    <div class="field">
                        <label for="at-password">"Your Taskbridge password"</label>
                        <input id="at-password" type="password" autocomplete="current-password" prop:value=password on:input=move |ev| password.set(event_target_value(&ev)) aria-invalid=move || field_error("password").is_some().to_string() aria-describedby="at-password-hint at-password-error" />
                        <p id="at-password-hint" class="field-hint">"A new secret is saved only after you confirm it is you."</p>
                        <p id="at-password-error" class="field-error">{move || field_error("password")}</p>
                    </div>
                </Show>
                <div class="field">
                    <label for="at-code">"API integration code (tracking identifier)"</label>
                    <input id="at-code" type="text" autocomplete="off" disabled=disabled prop:value=code on:input=move |ev| code.set(event_target_value(&ev)) aria-invalid=move || field_error("integration_code").is_some().to_string() aria-describedby="at-code-error" />
                    <p id="at-code-error" class="field-error">{move || field_error("integration_code")}</p>
                </div>
                <div class="field">
                    <label for="at-region">"Region (Autotask zone)"</label>
                    <select id="at-region" data-testid="at-region" disabled=disabled prop:value=move || region.get()
                        on:change=move |ev| {
                            let value = event_target_value(&ev);
                            match value.as_str() {
                                REGION_DISCOVERED => override_on.set(false),
                                REGION_OTHER => {
                                    override_on.set(true);
                                    if zone_named_by(&zone_override.get_untracked()).is_some() {
                                        zone_override.set(String::new());
                                    }
                                }
                                url => {
                                    override_on.set(true);
                                    zone_override.set(url.to_string());
                                }
                            }
                            region.set(value);
                        }
                        aria-describedby="at-region-hint">
                        <option value=REGION_DISCOVERED>{discovered_label}</option>
                        {AUTOTASK_ZONES.iter().map(|(name, url)| view! { <option value=*url>{*name}</option> }).collect_view()}
                        <option value=REGION_OTHER>"Another address\u{2026}"</option>
                    </select>
                    <p id="at-region-hint" class="field-hint">"Autotask tells Taskbridge the API user\u{2019}s zone; choose one only when your Autotask administrator says so."</p>
                    <Show when=move || region.get() == REGION_OTHER>
                        <label for="at-zone">"Zone REST address"</label>
                        <input id="at-zone" type="text" disabled=disabled placeholder="https://webservices3.autotask.net/ATServicesRest/" prop:value=zone_override on:input=move |ev| zone_override.set(event_target_value(&ev)) aria-invalid=move || field_error("zone_override").is_some().to_string() aria-describedby="at-zone-error" />
                    </Show>
                    <p id="at-zone-error" class="field-error">{move || field_error("zone_override")}</p>
                </div>
                {move || general_error().map(|error| view! { <ErrorPanel error /> })}
                {is_admin.then(|| view! {
                    <div class="form-actions">
                        <span class="muted">{move || if dirty.get() { "Unsaved changes" } else { "" }}</span>
                        <button type="button" class="btn" disabled=move || test.pending().get()
                            title=move || if dirty.get() { "Tests the settings as typed; the saved ones stay until you save" } else { "Tests the saved settings" }
                            on:click=move |_| { touched.set(true); if testable().is_ok() { run_test(); } }>
                            {move || if test.pending().get() && !save_after_test.get() { "Testing\u{2026}" } else { "Test connection" }}
                        </button>
                        <button type="submit" class="btn btn-primary" disabled=move || save.pending().get() || save_after_test.get()>
                            {move || if save_after_test.get() { "Testing\u{2026}" } else if save.pending().get() { "Saving\u{2026}" } else { "Save" }}
                        </button>
                    </div>
                })}
                <ConfirmDialog
                    open=confirm_failed
                    title="Save settings that failed the test?"
                    body=Signal::derive(move || format!(
                        "Autotask answered: {} If you save them anyway, tickets, billing and sync use them and fail until the connection works.",
                        failed_reason.get()
                    ))
                    confirm_label="Save anyway"
                    on_confirm=Callback::new(move |_| save_typed())
                />
            </form>
            <aside class="card" aria-label="Connection state">
                <h2>"Connection"</h2>
                <dl class="facts">
                    <dt>"Status"</dt><dd data-testid="connection-status">{status}</dd>
                    <dt>"Zone"</dt>
                    <dd data-testid="zone">{match zone {
                        Some(z) => view! { <span>{z.name}</span><br /><code>{z.url}</code> }.into_any(),
                        None => view! { <span class="muted">"Found from the username when saved or tested"</span> }.into_any(),
                    }}</dd>
                    <dt>"Last saved"</dt>
                    <dd><Time ms=current.updated_at />{current.updated_by.map(|by| format!(" by {by}"))}</dd>
                </dl>
                {move || match test.value().get() {
                    Some(Ok(t)) => Some(test_panel(&t, tested_unsaved.get()).into_any()),
                    _ => last_test.as_ref().map(|t| test_panel(t, false).into_any()),
                }}
                {move || test_error().filter(|e| !matches!(e, AppError::Invalid { .. })).map(|error| view! { <ErrorPanel error /> })}
            </aside>
        </div>
    }
}
