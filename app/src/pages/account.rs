//! Your account: who you are signed in as, and changing your own password.

use crate::api::auth::ChangePassword;
use crate::components::panel::{ErrorPanel, PageHeader};
use crate::error::AppError;
use crate::types::parse_password;
use leptos::prelude::*;

/// The signed-in user's own settings.
#[component]
pub fn AccountPage() -> impl IntoView {
    let me = expect_context::<crate::components::layout::Me>().0;
    view! {
        <PageHeader title="Your account" lead="The account you are signed in with, and its password." />
        <div class="setup-grid">
            <section class="card" aria-labelledby="account-who">
                <h2 id="account-who">"Signed in as"</h2>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        me.await.ok().map(|me| view! {
                            <dl class="facts">
                                <dt>"Name"</dt><dd>{me.name.clone()}</dd>
                                <dt>"Email"</dt><dd>{me.email.clone()}</dd>
                                <dt>"Role"</dt><dd>{me.role.label()}</dd>
                                <dt>"Partner"</dt><dd>{me.partner_name.clone()}</dd>
                            </dl>
                        })
                    })}
                </Transition>
            </section>
            <ChangePasswordForm />
        </div>
    }
}

#[component]
fn ChangePasswordForm() -> impl IntoView {
    let change = ServerAction::<ChangePassword>::new();
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let confirm = RwSignal::new(String::new());
    let touched = RwSignal::new(false);
    let server_error = move || change.value().get().and_then(Result::err);
    // What the browser can tell before sending; the server's answer is shown until the
    // next attempt.
    let local = move |field: &'static str| -> Option<String> {
        match field {
            "current_password" if current.get().is_empty() => Some("Enter your current password.".into()),
            "new_password" => parse_password(&new.get()).err().and_then(|e| e.field_message("password")),
            "confirm_password" if confirm.get() != new.get() => Some("The two new passwords differ.".into()),
            _ => None,
        }
    };
    let check = move |field: &'static str| -> Option<String> {
        if let Some(m) = server_error().and_then(|e| e.field_message(field)) {
            return Some(m);
        }
        touched.get().then(|| local(field)).flatten()
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        touched.set(true);
        if ["current_password", "new_password", "confirm_password"].iter().all(|f| local(f).is_none()) {
            change.dispatch(ChangePassword { current_password: current.get(), new_password: new.get() });
        }
    };
    Effect::new(move |_| {
        if let Some(Ok(())) = change.value().get() {
            current.set(String::new());
            new.set(String::new());
            confirm.set(String::new());
            touched.set(false);
        }
    });
    let general = move || server_error().filter(|e| !matches!(e, AppError::Invalid { .. }));
    let field = move |id: &'static str, label: &'static str, value: RwSignal<String>, autocomplete: &'static str| {
        view! {
            <div class="field">
                <label for=id>{label}</label>
                <input id=id type="password" autocomplete=autocomplete prop:value=value on:input=move |ev| value.set(event_target_value(&ev)) aria-invalid=move || check(id).is_some().to_string() aria-describedby=format!("{id}-error") />
                <p id=format!("{id}-error") class="field-error">{move || check(id)}</p>
            </div>
        }
    };
    view! {
        <form class="card form" on:submit=submit novalidate aria-label="Change password">
            <h2>"Change password"</h2>
            {field("current_password", "Current password", current, "current-password")}
            {field("new_password", "New password", new, "new-password")}
            {field("confirm_password", "New password again", confirm, "new-password")}
            <p class="field-hint">"At least 12 characters. Your other sessions are signed out; this one stays."</p>
            {move || general().map(|error| view! { <ErrorPanel error /> })}
            {move || matches!(change.value().get(), Some(Ok(()))).then(|| view! { <p class="panel panel-success" role="status">"Password changed. Your other sessions were signed out."</p> })}
            <div class="form-actions">
                <button type="submit" class="btn btn-primary" disabled=move || change.pending().get()>
                    {move || if change.pending().get() { "Changing\u{2026}" } else { "Change password" }}
                </button>
            </div>
        </form>
    }
}
