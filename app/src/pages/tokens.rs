//! The API tokens page (admins): tokens the backup platform uses to post events and usage.

use crate::api::tokens::{list_api_tokens, CreateApiToken, RevokeApiToken};
use crate::components::badge::{Badge, Tone};
use crate::components::dialog::ConfirmDialog;
use crate::components::panel::{EmptyState, ErrorPanel, Loading, PageHeader};
use crate::components::time::Time;
use crate::error::AppError;
use crate::types::{parse_token_name, ApiTokenSummary};
use leptos::prelude::*;

/// Create (shown once), list and revoke machine API tokens.
#[component]
pub fn TokensPage() -> impl IntoView {
    let me = expect_context::<crate::components::layout::Me>().0;
    let create = ServerAction::<CreateApiToken>::new();
    let revoke = ServerAction::<RevokeApiToken>::new();
    let tokens = Resource::new(move || (create.version().get(), revoke.version().get()), |_| list_api_tokens());
    let to_revoke = RwSignal::new(None::<ApiTokenSummary>);
    let confirm_open = RwSignal::new(false);
    let name = RwSignal::new(String::new());
    // What Copy did: None before, Some(true) copied, Some(false) the browser refused.
    let copied = RwSignal::new(None::<bool>);
    let password = RwSignal::new(String::new());
    let touched = RwSignal::new(false);
    let name_error = move || {
        if let Some(Some(Err(e))) = Some(create.value().get()) {
            if let Some(m) = e.field_message("name") {
                return Some(m);
            }
        }
        touched.get().then(|| parse_token_name(&name.get()).err().map(|e| e.to_string())).flatten()
    };
    let password_error = move || {
        if let Some(Some(Err(e))) = Some(create.value().get()) {
            if let Some(m) = e.field_message("password") {
                return Some(m);
            }
        }
        (touched.get() && password.get().is_empty()).then(|| "Enter your Taskbridge password to confirm.".to_string())
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        touched.set(true);
        if parse_token_name(&name.get()).is_ok() && !password.get().is_empty() {
            create.dispatch(CreateApiToken { name: name.get(), password: password.get() });
        }
    };
    Effect::new(move |_| {
        if let Some(Ok(_)) = create.value().get() {
            name.set(String::new());
            password.set(String::new());
            touched.set(false);
        }
    });
    let revoke_error = move || revoke.value().get().and_then(Result::err);
    let create_error = move || create.value().get().and_then(Result::err).filter(|e| !matches!(e, AppError::Invalid { .. }));
    view! {
        <PageHeader title="API tokens" lead="Tokens the backup platform uses to post backup events and usage to Taskbridge's API. Each token acts for this partner only." />
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                me.await.ok().filter(|m| m.is_admin()).map(|_| view! {
        <form class="card form form-inline" on:submit=submit novalidate aria-label="Create API token">
            <div class="field grow">
                <label for="token-name">"Token name"</label>
                <input id="token-name" type="text" placeholder="e.g. Backup platform EU" prop:value=name on:input=move |ev| name.set(event_target_value(&ev)) aria-invalid=move || name_error().is_some().to_string() aria-describedby="token-name-error" />
                <p id="token-name-error" class="field-error">{name_error}</p>
            </div>
            <div class="field">
                <label for="token-password">"Your Taskbridge password"</label>
                <input id="token-password" type="password" autocomplete="current-password" prop:value=password on:input=move |ev| password.set(event_target_value(&ev)) aria-invalid=move || password_error().is_some().to_string() aria-describedby="token-password-error" />
                <p id="token-password-error" class="field-error">{password_error}</p>
            </div>
            <button type="submit" class="btn btn-primary" disabled=move || create.pending().get()>"Create token"</button>
        </form>
                })
            })}
        </Transition>
        {move || create_error().or_else(revoke_error).map(|error| view! { <ErrorPanel error /> })}
        {move || create.value().get().and_then(Result::ok).map(|created| view! {
            <div class="panel panel-success" role="status" data-testid="new-token">
                <strong>{format!("Token \u{201c}{}\u{201d} created", created.summary.name)}</strong>
                <p>"Copy it now: it is shown only once. Send it as " <code>"Authorization: Bearer <token>"</code> "."</p>
                <div class="copy-row">
                    <input type="text" readonly aria-label="New API token" value=created.token.clone() class="mono grow" on:focus=move |ev| {
                        #[cfg(feature = "hydrate")]
                        {
                            use wasm_bindgen::JsCast;
                            if let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) { input.select(); }
                        }
                        #[cfg(not(feature = "hydrate"))]
                        let _ = ev;
                    } />
                    <button type="button" class="btn" on:click={
                        let token = created.token.clone();
                        move |_| copy_to_clipboard(token.clone(), copied)
                    }>"Copy"</button>
                </div>
                <p class="small" role="status" data-testid="copy-status">{move || match copied.get() {
                    Some(true) => "Copied to the clipboard.",
                    Some(false) => "The browser did not allow copying: select the token and press Ctrl+C (\u{2318}C on a Mac).",
                    None => "",
                }}</p>
            </div>
        })}
        <Transition fallback=|| view! { <Loading what="API tokens" /> }>
            {move || Suspend::new(async move {
                match tokens.await {
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                    Ok(list) if list.is_empty() => view! {
                        <EmptyState title="No API tokens yet">"Create one above and give it to the backup platform so it can send events and usage."</EmptyState>
                    }.into_any(),
                    Ok(list) => {
                        let count = list.len();
                        view! {
                            <div class="table-wrap">
                                <table class="table">
                                    <thead><tr>
                                        <th scope="col">"Name"</th><th scope="col">"Token"</th><th scope="col">"Created by"</th>
                                        <th scope="col">"Created"</th><th scope="col">"Last used"</th><th scope="col">"Status"</th>
                                        <th scope="col"><span class="sr-only">"Actions"</span></th>
                                    </tr></thead>
                                    <tbody>
                                        {list.into_iter().map(|t| {
                                            let revoked = t.revoked_at.is_some();
                                            let row = t.clone();
                                            view! {
                                                <tr data-token-name=t.name.clone()>
                                                    <td>{t.name.clone()}</td>
                                                    <td class="mono">{format!("{}\u{2026}", t.prefix)}</td>
                                                    <td>{t.created_by.clone()}</td>
                                                    <td class="nowrap"><Time ms=Some(t.created_at) /></td>
                                                    <td class="nowrap"><Time ms=t.last_used_at /></td>
                                                    <td>{if revoked { view! { <Badge label="Revoked" tone=Tone::Muted /> } } else { view! { <Badge label="Active" tone=Tone::Good /> } }}</td>
                                                    <td class="actions">{(!revoked).then(|| view! {
                                                        <button type="button" class="btn btn-small btn-danger-quiet" aria-label=format!("Revoke {}", t.name)
                                                            on:click=move |_| { to_revoke.set(Some(row.clone())); confirm_open.set(true); }>"Revoke"</button>
                                                    })}</td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                                <p class="table-count">{format!("{count} token{}", if count == 1 { "" } else { "s" })}</p>
                            </div>
                        }.into_any()
                    }
                }
            })}
        </Transition>
        <ConfirmDialog
            open=confirm_open
            title=Signal::derive(move || format!("Revoke token \u{201c}{}\u{201d}?", to_revoke.get().map(|t| t.name).unwrap_or_default()))
            body=Signal::derive(|| "Anything using this token gets \u{201c}401 Unauthorized\u{201d} from now on. This cannot be undone; create a new token to restore access.".to_string())
            confirm_label="Revoke token"
            on_confirm=Callback::new(move |_| {
                if let Some(t) = to_revoke.get_untracked() {
                    revoke.dispatch(RevokeApiToken { token_id: t.token_id });
                }
            })
        />
    }
}

/// Puts `text` on the clipboard and says whether it worked.
fn copy_to_clipboard(text: String, copied: RwSignal<Option<bool>>) {
    #[cfg(feature = "hydrate")]
    {
        let Some(window) = web_sys::window() else { return copied.set(Some(false)) };
        let promise = window.navigator().clipboard().write_text(&text);
        leptos::task::spawn_local(async move {
            copied.set(Some(wasm_bindgen_futures::JsFuture::from(promise).await.is_ok()));
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (text, copied);
}
