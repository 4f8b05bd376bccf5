//! The dispatcher's Autotask writes, each exactly once: an incident's ticket (found by
//! its `externalID` on a retry), a repeat note and a recovery (found by their marker).
//! The incident records the attempt before the call, and the outcome after it.

use super::round::Lane;
use super::tally::Action;
use super::Pause;
use crate::autotask::entities::Ticket;
use crate::autotask::error::AutotaskError;
use crate::autotask::query::{Filter, Query};
use crate::db::dispatch::{self, Incident, Opened, NOTE_MARKER_PREFIX};
use crate::db::now_ms;
use crate::services::tickets::{self, TicketFacts};
use app::types::tickets::{event_label, EventRow, Outcome};

impl Lane<'_> {
    /// Opens the incident's ticket exactly once.
    pub(super) async fn ensure_ticket(&mut self, mut inc: Incident, ev: &EventRow) -> Result<(), Pause> {
        let resolved = self.s.resolved().await?;
        let client = self.s.client().await?;
        let external = tickets::external_id(inc.id);
        let mut found: Option<(i64, Option<String>)> = None;
        if inc.create_attempted != 0 {
            let hits: Vec<Ticket> =
                client.query(&Query::new([Filter::eq("externalID", external.clone())]).include(&["id", "ticketNumber", "status"])).await?;
            found = hits.into_iter().min_by_key(|t| t.id).map(|t| (t.id, t.ticket_number));
        }
        let (ticket_id, number) = match found {
            Some(hit) => hit,
            None => {
                dispatch::mark_create_attempted(&self.s.d.db, inc.id).await?;
                inc.create_attempted = 1;
                if let Some(i) = self.open.get_mut(&inc.key) {
                    i.create_attempted = 1;
                }
                let facts = TicketFacts {
                    customer: &ev.customer_name,
                    device: &ev.device,
                    job: &ev.job,
                    event_type: &ev.event_type,
                    severity: &ev.severity,
                    message: &ev.message,
                    occurred_at: ev.occurred_at,
                    event_ref: &ev.external_id,
                };
                let body = tickets::ticket_body(
                    &resolved,
                    inc.company_id.unwrap_or_default(),
                    inc.id,
                    &facts,
                    self.s.settings.note_interval_minutes,
                    self.now,
                );
                match client.create("Tickets", &body).await {
                    // The number is read for many tickets at once after the batch.
                    Ok(id) => (id, None),
                    Err(AutotaskError::InvalidData(reason)) => {
                        // Autotask refused this ticket's data: record why; later failures try again.
                        dispatch::mark_failed(&self.s.d.db, inc.id, &reason, now_ms()).await?;
                        self.s.tally.acted(Action::Refused);
                        self.open.remove(&inc.key);
                        self.s.finish(ev, Outcome::Failed, &format!("Autotask refused the ticket: {reason}"), None).await?;
                        return Ok(());
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        };
        let created_at = now_ms();
        let opened = Opened { incident_id: inc.id, event_id: ev.event_id, ticket_id, ticket_number: number.as_deref(), status: resolved.status_new };
        dispatch::record_ticket(&self.s.d.db, &opened, "Opened a ticket for this incident.", created_at).await?;
        self.s.tally.acted(Action::Opened);
        inc.ticket_id = Some(ticket_id);
        inc.ticket_number = number;
        inc.created_status = Some(resolved.status_new);
        inc.last_note_at = Some(created_at);
        self.open.insert(inc.key.clone(), inc);
        Ok(())
    }

    /// Writes the note that counts an incident's repeats since the last one.
    ///
    /// A note's set of repeats is fixed when it is first attempted: its marker names the
    /// last repeat it counts and is stored before the call. Until that note is recorded,
    /// every retry (after a lost answer, an outage or a crash) writes or finds that same
    /// note, and repeats arriving meanwhile wait for the next one — so each repeat is
    /// counted in exactly one note.
    pub(super) async fn repeat_note(&mut self, inc: Incident) -> Result<(), Pause> {
        let Some(ticket_id) = inc.ticket_id else { return Ok(()) };
        let resolved = self.s.resolved().await?;
        let client = self.s.client().await?;
        let ticket = client.get::<Ticket>(ticket_id).await?;
        if ticket.as_ref().is_none_or(|t| tickets::completed_in_autotask(t, &resolved)) {
            // Someone completed it in Autotask: this incident is over, and its unnoted
            // repeats are new failures: they go back to the queue and open a new ticket.
            if ticket.is_some() {
                self.settle_note(&inc, ticket_id).await?;
            }
            dispatch::close_in_autotask(&self.s.d.db, inc.id, now_ms()).await?;
            self.open.remove(&inc.key);
            self.s.d.wake.notify_one();
            return Ok(());
        }
        let pending = dispatch::marker(&self.s.d.db, inc.id).await?.as_deref().and_then(|m| note_upto(m, inc.id));
        let u = dispatch::unnoted(&self.s.d.db, inc.id, pending.unwrap_or(i64::MAX)).await?;
        let n = u.count;
        let upto = pending.unwrap_or(u.last_event_id);
        if n > 0 {
            let marker = note_marker(inc.id, upto);
            if pending.is_none() {
                dispatch::set_marker(&self.s.d.db, inc.id, &marker).await?;
            }
            let times = if n == 1 { "once more".to_string() } else { format!("{n} more times") };
            let text = format!(
                "The failure happened {times} between {} and {}.\nLatest message: {}",
                app::format::utc_minutes(u.first_at),
                app::format::utc_minutes(u.last_at),
                if u.message.is_empty() { "(none)" } else { &u.message }
            );
            tickets::note_once(&client, ticket_id, &marker, pending.is_some(), &format!("Repeated {n}\u{00d7}"), &text).await?;
        }
        let now = now_ms();
        let note = format!(
            "Added to ticket {} in a note ({n} {}).",
            inc.ticket_number.clone().unwrap_or_else(|| ticket_id.to_string()),
            if n == 1 { "repeat" } else { "repeats" }
        );
        let next_due = now + self.s.settings.note_interval_minutes * 60_000;
        dispatch::record_note(&self.s.d.db, inc.id, upto, &note, now, next_due).await?;
        if n > 0 {
            self.s.tally.acted(Action::Noted);
        }
        if let Some(i) = self.open.get_mut(&inc.key) {
            i.last_note_at = Some(now);
        }
        Ok(())
    }

    /// A repeat note attempted earlier and not recorded (its answer lost, or the process
    /// died): if Autotask has it, it is recorded now; otherwise the attempt is dropped and
    /// its repeats count in whatever is written next. Called before a different write
    /// (a recovery, a close) would take the incident's marker.
    async fn settle_note(&mut self, inc: &Incident, ticket_id: i64) -> Result<(), Pause> {
        let Some(upto) = dispatch::marker(&self.s.d.db, inc.id).await?.as_deref().and_then(|m| note_upto(m, inc.id)) else { return Ok(()) };
        let client = self.s.client().await?;
        let marker = note_marker(inc.id, upto);
        if !tickets::note_exists(&client, ticket_id, &marker).await? {
            dispatch::clear_marker(&self.s.d.db, inc.id).await?;
        } else {
            let now = now_ms();
            dispatch::record_note(&self.s.d.db, inc.id, upto, "Added to the ticket in a note.", now, now).await?;
            self.s.tally.acted(Action::Noted);
        }
        Ok(())
    }

    /// The recovery of an open incident: complete the ticket, unless a technician took
    /// it over or completed it, or the rule keeps tickets open.
    pub(super) async fn recover(&mut self, inc: Incident, ev: &EventRow) -> Result<(Outcome, String, Incident), Pause> {
        let now = now_ms();
        let Some(ticket_id) = inc.ticket_id else {
            dispatch::complete_without_ticket(&self.s.d.db, inc.id, ev.event_id, now).await?;
            return Ok((Outcome::Ignored, "Recovered before a ticket was opened.".into(), inc));
        };
        let number = inc.ticket_number.clone().unwrap_or_else(|| ticket_id.to_string());
        let complete_on_recovery = inc.complete_on_recovery != 0;
        let resolved = self.s.resolved().await?;
        let client = self.s.client().await?;
        let ticket = client.get::<Ticket>(ticket_id).await?;
        if ticket.is_some() {
            // A repeat note in flight counts its repeats; the recovery note counts the rest.
            self.settle_note(&inc, ticket_id).await?;
        }
        let marker = format!("taskbridge-recovery-{}-{}", inc.id, ev.event_id);
        let retrying = dispatch::marker(&self.s.d.db, inc.id).await?.as_deref() == Some(marker.as_str());
        let (state, outcome, note) = match &ticket {
            None => ("closed_in_autotask", Outcome::NotSent, format!("Ticket {number} no longer exists in Autotask; nothing to complete.")),
            // This recovery was attempted before and the ticket is complete now: our own
            // completing write landed, though its answer was lost on the way back.
            Some(t) if retrying && complete_on_recovery && tickets::completed_in_autotask(t, &resolved) => {
                ("completed", Outcome::Completed, format!("Completed ticket {number}."))
            }
            Some(t) if tickets::completed_in_autotask(t, &resolved) => {
                ("closed_in_autotask", Outcome::NotSent, format!("Ticket {number} was already completed in Autotask; left as it is."))
            }
            Some(t) => {
                let n = dispatch::unnoted(&self.s.d.db, inc.id, i64::MAX).await?.count;
                let repeats = match n {
                    0 => String::new(),
                    1 => " It had failed once more since the last note.".to_string(),
                    n => format!(" It had failed {n} more times since the last note."),
                };
                let text = format!(
                    "{}{repeats}",
                    tickets::sentence(&format!(
                        "{} reported at {}: {}",
                        event_label(&ev.event_type),
                        app::format::utc_minutes(ev.occurred_at),
                        if ev.message.is_empty() { "no message" } else { &ev.message }
                    ))
                );
                if !retrying {
                    dispatch::set_marker(&self.s.d.db, inc.id, &marker).await?;
                }
                if tickets::taken_over(t, inc.created_status) || !complete_on_recovery {
                    tickets::note_once(&client, ticket_id, &marker, retrying, "Recovered", &text).await?;
                    let why = if complete_on_recovery { "a technician took it over" } else { "the notification leaves tickets open on recovery" };
                    ("handed_off", Outcome::Noted, format!("Recovery noted on ticket {number}; not completed: {why}."))
                } else {
                    tickets::note_once(&client, ticket_id, &marker, retrying, "Resolved by Taskbridge", &text).await?;
                    client.patch("Tickets", &serde_json::json!({"id": ticket_id, "status": resolved.status_complete, "resolution": text})).await?;
                    ("completed", Outcome::Completed, format!("Completed ticket {number}."))
                }
            }
        };
        dispatch::record_recovery(&self.s.d.db, inc.id, state, ev.event_id, &format!("Counted in the recovery note on ticket {number}."), now)
            .await?;
        self.s.tally.acted(if state == "completed" { Action::Completed } else { Action::RecoveryNoted });
        Ok((outcome, note, inc))
    }
}

/// The marker of a repeat note counting an incident's repeats up to `upto` (an event id).
fn note_marker(incident_id: i64, upto: i64) -> String {
    format!("{NOTE_MARKER_PREFIX}{incident_id}-{upto}")
}

/// The last event a stored repeat-note marker counts, if `marker` is one of this incident's.
fn note_upto(marker: &str, incident_id: i64) -> Option<i64> {
    marker.strip_prefix(NOTE_MARKER_PREFIX)?.strip_prefix(&format!("{incident_id}-"))?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_note_marker_names_its_incident_and_last_repeat() {
        assert_eq!(note_upto(&note_marker(12, 345), 12), Some(345));
        assert_eq!(note_upto(&note_marker(12, 345), 1), None, "another incident's marker");
        assert_eq!(note_upto("taskbridge-recovery-12-345", 12), None, "a recovery is not a note");
    }
}
