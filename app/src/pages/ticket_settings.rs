//! "Ticket settings" on the Setup page: subject prefix, queue (or Do not map), priority,
//! and the statuses for new and completed tickets, each list retrieved live from the
//! partner's Autotask picklists (inactive values left out).

use crate::api::tickets::{get_ticket_settings, retrieve_ticket_picklists, SaveTicketSettings};
use crate::components::panel::{ErrorPanel, Loading};
use crate::components::time::Time;
use crate::error::AppError;
use crate::types::tickets::{Choice, PickOption, TicketPicklists, TicketSettings};
use leptos::prelude::*;

const DO_NOT_MAP: &str = "none";

/// The select's value for a choice: `id:<n>`, or `label:<text>` for a default by name.
fn choice_value(c: &Choice) -> String {
    match c.id {
        Some(id) => format!("id:{id}"),
        None => format!("label:{}", c.label),
    }
}

/// The choice a select value stands for.
fn choice_from(value: &str, list: Option<&[PickOption]>, current: &Choice) -> Choice {
    if let Some(id) = value.strip_prefix("id:").and_then(|v| v.parse::<i64>().ok()) {
        let label = list.and_then(|l| l.iter().find(|o| o.id == id)).map(|o| o.label.clone()).unwrap_or_else(|| current.label.clone());
        return Choice { id: Some(id), label };
    }
    Choice { id: None, label: value.strip_prefix("label:").unwrap_or(value).to_string() }
}

/// Once lists are retrieved, a default-by-name becomes the matching value.
fn pin(choice: &Choice, list: &[PickOption]) -> Choice {
    match choice.id {
        Some(_) => choice.clone(),
        None => list
            .iter()
            .find(|o| o.label.eq_ignore_ascii_case(choice.label.trim()))
            .map(|o| Choice { id: Some(o.id), label: o.label.clone() })
            .unwrap_or_else(|| choice.clone()),
    }
}

/// The settings card.
#[component]
pub fn TicketSettingsCard() -> impl IntoView {
    let save = ServerAction::<SaveTicketSettings>::new();
    let saved = crate::components::saved::saves(save);
    let current = Resource::new(move || saved.get(), |_| get_ticket_settings());
    // Kept here so the retrieved lists survive the form's refresh after a save.
    let lists = RwSignal::new(None::<TicketPicklists>);
    view! {
        <section class="card form ticket-settings" aria-labelledby="ticket-settings-title">
            <h2 id="ticket-settings-title">"Ticket settings"</h2>
            <p class="muted">"How backup alerts appear in Autotask. Changes apply to new tickets; tickets already open keep theirs."</p>
            <Transition fallback=|| view! { <Loading what="the ticket settings" /> }>
                {move || Suspend::new(async move {
                    match current.await {
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                        Ok(s) => view! { <TicketSettingsForm initial=s save lists /> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
    .into_any()
}

#[component]
fn TicketSettingsForm(initial: TicketSettings, save: ServerAction<SaveTicketSettings>, lists: RwSignal<Option<TicketPicklists>>) -> impl IntoView {
    let settings = RwSignal::new(initial.clone());
    let retrieving = RwSignal::new(false);
    let retrieve_error = RwSignal::new(None::<AppError>);
    let saved_note = RwSignal::new(false);
    let baseline = StoredValue::new(initial.clone());
    let dirty = Memo::new(move |_| settings.with(|s| baseline.with_value(|b| s != b)));
    let retrieve = move |_| {
        retrieving.set(true);
        retrieve_error.set(None);
        leptos::task::spawn_local(async move {
            match retrieve_ticket_picklists().await {
                Ok(l) => {
                    settings.update(|s| {
                        s.queue = pin(&s.queue, &l.queues);
                        s.priority = pin(&s.priority, &l.priorities);
                        s.status_new = pin(&s.status_new, &l.statuses);
                        s.status_complete = pin(&s.status_complete, &l.statuses);
                    });
                    lists.set(Some(l));
                }
                Err(e) => retrieve_error.set(Some(e)),
            }
            retrieving.set(false);
        });
    };
    let server_error = move || save.value().get().and_then(Result::err);
    let field_error = move |f: &'static str| server_error().and_then(|e| e.field_message(f));
    Effect::new(move |_| {
        if let Some(Ok(s)) = save.value().get() {
            baseline.set_value(s);
            saved_note.set(true);
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        saved_note.set(false);
        save.dispatch(SaveTicketSettings { settings: settings.get_untracked() });
    };

    // One drop-down per picklist; `pick` selects the list, `get`/`set` the setting.
    let select = move |id: &'static str,
                       label: &'static str,
                       pick: fn(&TicketPicklists) -> &[PickOption],
                       get: fn(&TicketSettings) -> &Choice,
                       set: fn(&mut TicketSettings, Choice),
                       with_do_not_map: bool| {
        let on_change = move |ev: leptos::ev::Event| {
            let v = event_target_value(&ev);
            saved_note.set(false);
            if with_do_not_map && v == DO_NOT_MAP {
                settings.update(|s| s.do_not_map = true);
                return;
            }
            let choice = lists.with(|l| settings.with(|s| choice_from(&v, l.as_ref().map(pick), get(s))));
            settings.update(|s| {
                if with_do_not_map {
                    s.do_not_map = false;
                }
                set(s, choice);
            });
        };
        let options = move || {
            let (current, off) = settings.with(|s| (get(s).clone(), with_do_not_map && s.do_not_map));
            let selected_value = if off { DO_NOT_MAP.to_string() } else { choice_value(&current) };
            let mut opts: Vec<(String, String)> = Vec::new();
            match lists.with(|l| l.as_ref().map(|l| pick(l).to_vec())) {
                Some(list) => {
                    if !list.iter().any(|o| Some(o.id) == current.id) {
                        let note = if current.id.is_some() { " (not active in Autotask)" } else { " (not found in Autotask)" };
                        opts.push((choice_value(&current), format!("{}{note}", current.label)));
                    }
                    opts.extend(list.into_iter().map(|o| (format!("id:{}", o.id), o.label)));
                }
                None => opts.push((
                    choice_value(&current),
                    if current.id.is_none() { format!("{} (default)", current.label) } else { current.label.clone() },
                )),
            }
            let mut views = Vec::new();
            if with_do_not_map {
                views.push(view! { <option value=DO_NOT_MAP selected=selected_value == DO_NOT_MAP>"Do not map (no tickets)"</option> }.into_any());
            }
            for (value, text) in opts {
                let selected = value == selected_value;
                views.push(view! { <option value=value selected=selected>{text}</option> }.into_any());
            }
            views
        };
        view! {
            <div class="field">
                <label for=id>{label}</label>
                <select id=id on:change=on_change aria-describedby=format!("{id}-error")>{options}</select>
                <p id=format!("{id}-error") class="field-error">{move || field_error(match id { "ts-queue" => "queue", "ts-priority" => "priority", "ts-new" => "status_new", _ => "status_complete" })}</p>
            </div>
        }
    };

    view! {
        <form on:submit=submit novalidate aria-label="Ticket settings">
            <div class="form-grid">
                <div class="field">
                    <label for="ts-prefix">"Ticket subject prefix (optional)"</label>
                    <input id="ts-prefix" type="text" maxlength="40" placeholder="e.g. [Backup]" prop:value=move || settings.with(|s| s.subject_prefix.clone())
                        on:input=move |ev| { saved_note.set(false); settings.update(|s| s.subject_prefix = event_target_value(&ev)); }
                        aria-describedby="ts-prefix-error" />
                    <p id="ts-prefix-error" class="field-error">{move || field_error("subject_prefix")}</p>
                </div>
                {select("ts-queue", "Autotask queue", |l| &l.queues, |s| &s.queue, |s, c| s.queue = c, true)}
                {select("ts-priority", "Priority", |l| &l.priorities, |s| &s.priority, |s, c| s.priority = c, false)}
                {select("ts-new", "Status for new tickets", |l| &l.statuses, |s| &s.status_new, |s, c| s.status_new = c, false)}
                {select("ts-complete", "Status for completed tickets", |l| &l.statuses, |s| &s.status_complete, |s, c| s.status_complete = c, false)}
                <div class="field">
                    <label for="ts-interval">"Repeat notes at most every (minutes)"</label>
                    <input id="ts-interval" type="number" min="0" max="1440" step="1" prop:value=move || settings.with(|s| s.note_interval_minutes.to_string())
                        on:input=move |ev| { saved_note.set(false); let v = event_target_value(&ev).trim().parse::<i64>().unwrap_or(-1); settings.update(|s| s.note_interval_minutes = v); }
                        aria-describedby="ts-interval-hint ts-interval-error" />
                    <p id="ts-interval-hint" class="field-hint">"Repeats of an open incident are counted into one note per interval, never a second ticket."</p>
                    <p id="ts-interval-error" class="field-error">{move || field_error("note_interval_minutes")}</p>
                </div>
            </div>
            <Show when=move || settings.with(|s| s.do_not_map)>
                <div class="panel panel-warn" role="status">"Ticketing is off: with the queue set to \u{201c}Do not map\u{201d} no tickets are opened, even when notifications ask for them. Events are still logged."</div>
            </Show>
            {move || retrieve_error.get().map(|error| view! { <ErrorPanel error /> })}
            {move || server_error().filter(|e| !matches!(e, AppError::Invalid { .. })).map(|error| view! { <ErrorPanel error /> })}
            <div class="form-actions">
                <span class="muted" role="status">
                    {move || if saved_note.get() && !dirty.get() { "Saved.".to_string() } else if dirty.get() { "Unsaved changes".to_string() } else { String::new() }}
                </span>
                <span class="muted small">{initial.updated_at.map(|at| view! { "Last saved " <Time ms=Some(at) /> {initial.updated_by.clone().map(|b| format!(" by {b}"))} })}</span>
                <button type="button" class="btn" data-testid="retrieve-picklists" disabled=move || retrieving.get() on:click=retrieve>
                    {move || if retrieving.get() { "Retrieving\u{2026}" } else if lists.with(Option::is_some) { "Retrieve again" } else { "Retrieve from Autotask" }}
                </button>
                <button type="submit" class="btn btn-primary" disabled=move || save.pending().get() || !dirty.get()>
                    {move || if save.pending().get() { "Saving\u{2026}" } else { "Save ticket settings" }}
                </button>
            </div>
        </form>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_round_trip_through_select_values() {
        let list = vec![PickOption { id: 7, label: "Level I Support".into(), is_default: false }];
        let def = Choice { id: None, label: "Managed Services Alerts".into() };
        assert_eq!(choice_from(&choice_value(&def), Some(&list), &def), def);
        assert_eq!(choice_from("id:7", Some(&list), &def), Choice { id: Some(7), label: "Level I Support".into() });
        assert_eq!(pin(&Choice { id: None, label: "level i support".into() }, &list).id, Some(7));
        assert_eq!(pin(&def, &list), def, "a default the tenant lacks stays as it is");
    }
}
