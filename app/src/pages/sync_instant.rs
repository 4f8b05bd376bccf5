//! "Instant updates" in Setup's Customer sync card: the Autotask company webhook that
//! calls Taskbridge when a customer's details change. An admin confirms the public address
//! Autotask will call and switches it on (Taskbridge registers the webhook) or off (it is
//! deleted in Autotask); everyone sees what arrived, refused signatures, and a webhook
//! Autotask switched off after failed deliveries.

use crate::api::sync::{get_instant_updates, DisableInstantUpdates, EnableInstantUpdates};
use crate::components::badge::{Badge, Tone};
use crate::components::panel::{ErrorPanel, Loading};
use crate::components::time::Time;
use crate::format::{count_of, thousands};
use crate::types::sync::{InstantUpdates, RegisteredWebhook};
use leptos::prelude::*;

/// The instant-updates section.
#[component]
pub fn InstantUpdatesSection(is_admin: bool) -> impl IntoView {
    let enable = ServerAction::<EnableInstantUpdates>::new();
    let disable = ServerAction::<DisableInstantUpdates>::new();
    let changed = (crate::components::saved::saves(enable), crate::components::saved::saves(disable));
    let current = Resource::new(move || (changed.0.get(), changed.1.get()), |_| get_instant_updates());
    let error = move || enable.value().get().and_then(Result::err).or_else(|| disable.value().get().and_then(Result::err));
    view! {
        <section class="instant-updates" aria-labelledby="instant-title" data-testid="instant-updates">
            <h3 id="instant-title">"Instant updates"</h3>
            <p class="muted small">
                "Autotask calls Taskbridge the moment a customer\u{2019}s details change, instead of waiting for the next round. "
                "Contracts still arrive by polling: Autotask has no contract webhooks."
            </p>
            <Transition fallback=|| view! { <Loading what="instant updates" /> }>
                {move || Suspend::new(async move {
                    match current.await {
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                        Ok(state) => view! { <InstantState state is_admin enable disable /> }.into_any(),
                    }
                })}
            </Transition>
            {move || error().map(|error| view! { <ErrorPanel error /> })}
        </section>
    }
    .into_any()
}

#[component]
fn InstantState(
    state: InstantUpdates,
    is_admin: bool,
    enable: ServerAction<EnableInstantUpdates>,
    disable: ServerAction<DisableInstantUpdates>,
) -> impl IntoView {
    let Some(base) = state.callout_base.clone() else {
        return view! {
            <p class="panel panel-warn" role="status" data-testid="instant-no-url">
                "Needs a public address: set " <code>"TASKBRIDGE_PUBLIC_URL"</code>
                " to the https address Autotask can reach (for example https://taskbridge.example.com) and restart Taskbridge."
            </p>
        }
        .into_any();
    };
    match state.webhook.clone() {
        None => view! { <TurnOn base is_admin enable /> }.into_any(),
        Some(hook) => {
            let deactivated = hook.deactivated_at.is_some();
            view! {
                <WebhookDetails hook pending=state.pending />
                {is_admin.then(|| view! {
                    <div class="form-actions">
                        {deactivated.then(|| {
                            let base = base.clone();
                            view! {
                                <button type="button" class="btn btn-primary" data-testid="instant-register-again" disabled=move || enable.pending().get()
                                    on:click=move |_| { enable.dispatch(EnableInstantUpdates { callout_base: base.clone() }); }>
                                    "Register again"
                                </button>
                            }
                        })}
                        <button type="button" class="btn btn-danger-quiet" data-testid="instant-off" disabled=move || disable.pending().get()
                            on:click=move |_| { disable.dispatch(DisableInstantUpdates {}); }>
                            {move || if disable.pending().get() { "Turning off\u{2026}" } else { "Turn off instant updates" }}
                        </button>
                    </div>
                })}
            }
            .into_any()
        }
    }
}

#[component]
fn TurnOn(base: String, is_admin: bool, enable: ServerAction<EnableInstantUpdates>) -> impl IntoView {
    if !is_admin {
        return view! { <p class="small" data-testid="instant-state">"Off. An admin can switch them on."</p> }.into_any();
    }
    let confirmed = RwSignal::new(false);
    let shown = format!("{base}\u{2026}");
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        enable.dispatch(EnableInstantUpdates { callout_base: base.clone() });
    };
    view! {
        <form on:submit=submit aria-label="Turn on instant updates">
            <p class="small" data-testid="instant-state">"Off."</p>
            <label class="check">
                <input type="checkbox" data-testid="instant-confirm" prop:checked=confirmed on:change=move |ev| confirmed.set(event_target_checked(&ev)) />
                " Autotask can reach Taskbridge at " <code>{shown}</code>
            </label>
            <p class="field-hint">"Taskbridge registers a company webhook in Autotask with the fields the sync uses, and excludes its own API user so its writes do not call back."</p>
            <div class="form-actions">
                <button type="submit" class="btn btn-primary" data-testid="instant-on" disabled=move || !confirmed.get() || enable.pending().get()>
                    {move || if enable.pending().get() { "Registering\u{2026}" } else { "Turn on instant updates" }}
                </button>
            </div>
        </form>
    }
    .into_any()
}

#[component]
fn WebhookDetails(hook: RegisteredWebhook, pending: i64) -> impl IntoView {
    let status = match hook.deactivated_at {
        Some(at) => view! {
            <p class="panel panel-error" role="status" data-testid="instant-deactivated">
                <strong>"Switched off by Autotask "</strong><Time ms=Some(at) />
                ". Autotask stops a webhook after 25 deliveries in a row fail (Taskbridge unreachable at its public address). "
                "Polling goes on; register again once Autotask can reach Taskbridge."
            </p>
        }
        .into_any(),
        None => view! { <p class="small" data-testid="instant-state"><Badge label="On" tone=Tone::Good />" Autotask calls Taskbridge when a customer changes."</p> }.into_any(),
    };
    let received = match hook.last_callout_at {
        Some(at) => view! { {count_of(hook.callouts, "callout", "callouts")} " received, the last " <Time ms=Some(at) /> }.into_any(),
        None => view! { "No callout received yet." }.into_any(),
    };
    let bad = (hook.bad_signatures > 0).then(|| {
        view! {
            <p class="panel panel-warn" role="status" data-testid="instant-bad-signatures">
                {format!("{} refused: the signature did not match the webhook\u{2019}s secret", count_of(hook.bad_signatures, "callout was", "callouts were"))}
                {hook.last_bad_signature_at.map(|at| view! { " (the last " <Time ms=Some(at) /> ")" })}
                ". If Autotask\u{2019}s webhook was changed by hand, register again."
            </p>
        }
    });
    view! {
        {status}
        <dl class="facts small" data-testid="instant-details">
            <dt>"Webhook"</dt><dd>{format!("Autotask company webhook {}", hook.webhook_id)}</dd>
            <dt>"Calls"</dt><dd><code>{hook.url.clone()}</code></dd>
            <dt>"Registered"</dt><dd><Time ms=Some(hook.registered_at) />{format!(" by {}", hook.registered_by)}</dd>
            <dt>"Received"</dt><dd data-testid="instant-received">{received}{(pending > 0).then(|| format!(" ({} being applied)", thousands(pending)))}</dd>
        </dl>
        {bad}
    }
    .into_any()
}
