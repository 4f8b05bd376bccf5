//! The sign-in page. Shows the demo credentials only when the server runs in demo mode.

use crate::api::auth::{get_site_info, SignIn};
use crate::error::AppError;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// Email + password form; on success goes to `?next=` (a same-site path) or the overview.
#[component]
pub fn SignInPage() -> impl IntoView {
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    let action = ServerAction::<SignIn>::new();
    let info = Resource::new(|| (), |_| get_site_info());
    let pending = action.pending();
    let error = move || match action.value().get() {
        Some(Err(e)) => Some(e),
        _ => None,
    };
    let field_error = move |field: &'static str| error().and_then(|e| e.field_message(field));
    let general_error = move || error().filter(|e| !matches!(e, AppError::Invalid { field, .. } if field == "email" || field == "password"));
    view! {
        <leptos_meta::Title text="Sign in" />
        <main class="standalone">
            <div class="card narrow signin-card">
                <div class="brand brand-large">
                    <span class="logo" aria-hidden="true">"TB"</span>
                    <span>"Taskbridge"</span>
                </div>
                <h1>"Sign in"</h1>
                <p class="lead">"Connect your Autotask PSA to your backup service."</p>
                <ActionForm action attr:class="form" attr:novalidate=true>
                    <input type="hidden" name="next" prop:value=next />
                    <div class="field">
                        <label for="email">"Email"</label>
                        <input
                            id="email"
                            name="email"
                            type="email"
                            autocomplete="username"
                            required
                            autofocus
                            aria-invalid=move || field_error("email").is_some().to_string()
                            aria-describedby="email-error"
                        />
                        <p id="email-error" class="field-error">{move || field_error("email")}</p>
                    </div>
                    <div class="field">
                        <label for="password">"Password"</label>
                        <input
                            id="password"
                            name="password"
                            type="password"
                            autocomplete="current-password"
                            required
                            aria-invalid=move || field_error("password").is_some().to_string()
                            aria-describedby="password-error"
                        />
                        <p id="password-error" class="field-error">{move || field_error("password")}</p>
                    </div>
                    <div role="alert" class="form-alert-slot">
                        {move || general_error().map(|e| view! { <p class="form-alert">{e.to_string()}</p> })}
                    </div>
                    <button type="submit" class="btn btn-primary btn-block" disabled=move || pending.get()>
                        {move || if pending.get() { "Signing in\u{2026}" } else { "Sign in" }}
                    </button>
                </ActionForm>
                <Suspense>
                    {move || Suspend::new(async move {
                        info.await.ok().and_then(|i| i.demo).map(|demo| view! {
                            <aside class="demo-box" aria-label="Demo credentials" data-testid="demo-credentials">
                                <strong>"Demo mode"</strong>
                                <p>"Sign in with the demo admin:"</p>
                                <dl>
                                    <dt>"Email"</dt><dd><code>{demo.email}</code></dd>
                                    <dt>"Password"</dt><dd><code>{demo.password}</code></dd>
                                </dl>
                            </aside>
                        })
                    })}
                </Suspense>
            </div>
        </main>
    }
}
