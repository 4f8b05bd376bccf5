//! "Customer sync" on the Setup page (seed 004): the two sync types, each switched on on
//! its own, the seed's recommendation, how often Autotask is polled, the last round, and
//! instant updates (`sync_instant.rs`).

use crate::api::sync::{get_sync_settings, SaveSyncSettings};
use crate::components::badge::{Badge, Tone};
use crate::components::panel::{ErrorPanel, Loading};
use crate::components::time::Time;
use crate::types::sync::{RoundOutcome, SyncSettings, SyncSettingsInput, EVERY_MINUTES};
use leptos::prelude::*;

/// The outcome of a round as a badge, with its summary as the reason.
pub fn outcome_badge(outcome: RoundOutcome, message: Option<String>) -> AnyView {
    let (label, tone) = match outcome {
        RoundOutcome::Ok => ("Synced", Tone::Good),
        RoundOutcome::Partial => ("Partly synced", Tone::Warn),
        RoundOutcome::Skipped => ("Skipped", Tone::Muted),
        RoundOutcome::Failed => ("Failed", Tone::Bad),
    };
    match message {
        Some(reason) => view! { <Badge label tone reason /> }.into_any(),
        None => view! { <Badge label tone /> }.into_any(),
    }
}

/// The last round and the next, in one line.
pub fn last_round(s: &SyncSettings) -> AnyView {
    let on = s.input.customers || s.input.contracts;
    let last = match (s.last_round_at, s.last_outcome) {
        (Some(at), Some(outcome)) => view! {
            <span>"Last round " <Time ms=Some(at) /> " " {outcome_badge(outcome, None)}</span>
            <span class="muted">{s.last_message.clone().map(|m| format!(" {m}"))}</span>
        }
        .into_any(),
        _ => view! { <span class="muted">"No round has run yet."</span> }.into_any(),
    };
    let next = match (on, s.next_round_at) {
        (false, _) => view! { <span class="muted">" Off: switch on a sync type to poll Autotask."</span> }.into_any(),
        (true, Some(at)) => view! { <span>" Next round " <Time ms=Some(at) /> "."</span> }.into_any(),
        (true, None) => view! { <span>" The next round starts within a minute."</span> }.into_any(),
    };
    view! { <p class="small" role="status" data-testid="sync-last-round">{last}{next}</p> }.into_any()
}

/// The sync card.
#[component]
pub fn SyncSettingsCard(is_admin: bool) -> impl IntoView {
    let save = ServerAction::<SaveSyncSettings>::new();
    let saved = crate::components::saved::saves(save);
    let current = Resource::new(move || saved.get(), |_| get_sync_settings());
    view! {
        <section class="card form sync-settings" aria-labelledby="sync-settings-title">
            <h2 id="sync-settings-title">"Customer sync"</h2>
            <p class="muted">"Keep customers and their contracts up to date from Autotask, one way. Taskbridge reads only what changed since the last round."</p>
            <Transition fallback=|| view! { <Loading what="the sync settings" /> }>
                {move || Suspend::new(async move {
                    match current.await {
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                        Ok(s) => view! { <SyncForm initial=s save is_admin /> }.into_any(),
                    }
                })}
            </Transition>
            <crate::pages::sync_instant::InstantUpdatesSection is_admin />
        </section>
    }
    .into_any()
}

#[component]
fn SyncForm(initial: SyncSettings, save: ServerAction<SaveSyncSettings>, is_admin: bool) -> impl IntoView {
    let customers = RwSignal::new(initial.input.customers);
    let contracts = RwSignal::new(initial.input.contracts);
    let every = RwSignal::new(initial.input.every_minutes.to_string());
    let baseline = initial.input.clone();
    let input =
        move || SyncSettingsInput { customers: customers.get(), contracts: contracts.get(), every_minutes: every.get().trim().parse().unwrap_or(0) };
    let dirty = Memo::new(move |_| input() != baseline);
    let advice = move || input().advice();
    let field_error = move || save.value().get().and_then(Result::err).and_then(|e| e.field_message("every_minutes"));
    let other_error = move || save.value().get().and_then(Result::err).filter(|e| e.field_message("every_minutes").is_none());
    let saved = move || matches!(save.value().get(), Some(Ok(_))) && !dirty.get();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        save.dispatch(SaveSyncSettings { input: input() });
    };
    let disabled = !is_admin;
    view! {
        <form on:submit=submit novalidate aria-label="Customer sync settings">
            {(!is_admin).then(|| view! { <p class="muted">"Only admins can change these settings."</p> })}
            <fieldset class="field">
                <legend>"Sync types"</legend>
                <label class="check">
                    <input type="checkbox" data-testid="sync-customers" disabled=disabled prop:checked=customers on:change=move |ev| customers.set(event_target_checked(&ev)) />
                    " Active customers"
                    <span class="field-hint">" \u{2014} companies of type Customer that are active: name, address, phones, email, web site."</span>
                </label>
                <label class="check">
                    <input type="checkbox" data-testid="sync-contracts" disabled=disabled prop:checked=contracts on:change=move |ev| contracts.set(event_target_checked(&ev)) />
                    " Active customer contracts"
                    <span class="field-hint">" \u{2014} for those customers: contract name, vendor and overall cost."</span>
                </label>
            </fieldset>
            {move || advice().map(|text| view! { <p class="panel panel-warn" role="status" data-testid="sync-advice">{text}</p> })}
            <div class="field">
                <label for="sync-every">"Look for changes every (minutes)"</label>
                <input id="sync-every" type="number" class="input-narrow" min=EVERY_MINUTES.start().to_string() max=EVERY_MINUTES.end().to_string() step="1"
                    disabled=disabled prop:value=every on:input=move |ev| every.set(event_target_value(&ev))
                    aria-invalid=move || field_error().is_some().to_string() aria-describedby="sync-every-hint sync-every-error" />
                <p id="sync-every-hint" class="field-hint">"Each round reads only what changed, with a two-minute overlap, and is skipped while more than half of Autotask\u{2019}s hourly budget is used."</p>
                <p id="sync-every-error" class="field-error">{field_error}</p>
            </div>
            {move || other_error().map(|error| view! { <ErrorPanel error /> })}
            {is_admin.then(|| view! {
                <div class="form-actions">
                    <span class="muted" role="status">{move || if dirty.get() { "Unsaved changes" } else if saved() { "Saved." } else { "" }}</span>
                    <button type="submit" class="btn btn-primary" data-testid="save-sync" disabled=move || save.pending().get()>
                        {move || if save.pending().get() { "Saving\u{2026}" } else { "Save" }}
                    </button>
                </div>
            })}
            {last_round(&initial)}
            <p class="small"><a href="/clients">"See the synced customers and contracts on Clients"</a></p>
        </form>
    }
    .into_any()
}
