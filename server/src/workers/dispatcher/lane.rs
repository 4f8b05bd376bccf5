//! One lane of a round: a customer's device, its events in order. Each event opens its
//! incident's ticket, counts as a repeat for the next note, or completes the ticket on
//! recovery.

use super::board::{merge_repeats, write_repeats, Repeats};
use super::round::{incident_key, lock, Lane};
use super::{Pause, Rule};
use crate::db::dispatch::{self, Incident, NewIncident};
use app::types::tickets::{EventRow, EventType, Outcome};
use std::collections::HashMap;

impl Lane<'_> {
    /// Handles one event; every step is safe to repeat after a failure.
    pub(super) async fn handle(&mut self, ev: &EventRow) -> Result<(), Pause> {
        self.s.tally.handling(ev);
        let Some(ty) = EventType::parse(&ev.event_type) else {
            // The machine API stores only known types; a type a later version dropped ends here.
            self.s.finish(ev, Outcome::Ignored, &format!("Unknown event type \u{201c}{}\u{201d}.", ev.event_type), None).await?;
            return Ok(());
        };
        let rules: Vec<Rule> = self.s.rules.iter().filter(|r| r.applies_to(ev.customer_id)).cloned().collect();
        if ty.is_recovery() {
            let keys: Vec<String> =
                ty.recovers().iter().map(|f| incident_key(ev.customer_id, &ev.device, *f)).filter(|k| self.open.contains_key(k)).collect();
            if !keys.is_empty() {
                self.flush_repeats().await?;
                let mut last = None;
                for key in keys {
                    if let Some(inc) = self.open.get(&key).cloned() {
                        // Removed only once done, so a retry of this event finds it again.
                        last = Some(self.recover(inc, ev).await?);
                        self.open.remove(&key);
                    }
                }
                if let Some((outcome, note, inc)) = last {
                    self.s.finish(ev, outcome, &note, Some(&inc)).await?;
                }
                return Ok(());
            }
            let informational = rules.iter().any(|r| r.subscribe_ok && r.covers(ty));
            if !informational {
                let why = if rules.is_empty() {
                    "No \u{201c}Open an Autotask ticket\u{201d} notification applies to this customer."
                } else {
                    "An OK event with no open ticket to complete (OK events are not subscribed)."
                };
                self.s.finish(ev, Outcome::Ignored, why, None).await?;
                return Ok(());
            }
        } else if !rules.iter().any(|r| r.covers(ty)) {
            let why = if rules.is_empty() {
                "No \u{201c}Open an Autotask ticket\u{201d} notification applies to this customer.".to_string()
            } else {
                format!("No notification subscribes to \u{201c}{}\u{201d} events.", ty.label())
            };
            self.s.finish(ev, Outcome::Ignored, &why, None).await?;
            return Ok(());
        }
        let key = incident_key(ev.customer_id, &ev.device, ty);
        if let Some(inc) = self.open.get(&key).cloned() {
            if inc.opening_event_id == ev.event_id || inc.ticket_id.is_none() {
                // Resuming after a crash or a pause: this incident's ticket is not recorded yet.
                return self.ensure_ticket(inc, ev).await;
            }
            let interval = self.s.settings.note_interval_minutes * 60_000;
            let due = inc.last_note_at.map_or(self.now, |t| (t + interval).max(self.now));
            let r = self.repeats.entry(inc.id).or_default();
            r.event_ids.push(ev.event_id);
            r.last_event_at = self.now;
            r.ticket_id = inc.ticket_id;
            r.ticket_number = inc.ticket_number.clone();
            r.due_at = due;
            if r.event_ids.len() >= 500 {
                self.flush_repeats().await?;
            }
            return Ok(());
        }
        if self.s.settings.do_not_map {
            self.s
                .finish(ev, Outcome::NotSent, "Not sent: ticketing is off (the queue is set to \u{201c}Do not map\u{201d} on the Setup page).", None)
                .await?;
            return Ok(());
        }
        let Some(company_id) = self.s.company(ev.customer_id).await? else {
            self.s
                .finish(
                    ev,
                    Outcome::NotSent,
                    "Not sent: customer not mapped. Link it to an Autotask company on the Customer Map; later events will open tickets.",
                    None,
                )
                .await?;
            return Ok(());
        };
        let complete = rules.iter().filter(|r| r.covers(ty)).any(|r| r.complete_on_recovery);
        let new = NewIncident {
            partner_id: self.s.partner_id,
            customer_id: ev.customer_id,
            device: &ev.device,
            event_type: &ev.event_type,
            key: &key,
            company_id,
            opening_event_id: ev.event_id,
            complete_on_recovery: complete,
        };
        let id = dispatch::insert_incident(&self.s.d.db, &new, self.now).await?;
        let inc = Incident {
            id,
            key: key.clone(),
            ticket_id: None,
            ticket_number: None,
            created_status: None,
            create_attempted: 0,
            opening_event_id: ev.event_id,
            company_id: Some(company_id),
            complete_on_recovery: i64::from(complete),
            last_note_at: None,
        };
        self.open.insert(key, inc.clone());
        self.ensure_ticket(inc, ev).await
    }

    /// Writes this lane's counted repeats now (before a recovery counts the rest),
    /// with those an earlier run of the lane left in the round's buffer.
    async fn flush_repeats(&mut self) -> Result<(), sqlx::Error> {
        let _writing = self.s.writing.lock().await;
        let mut mine = std::mem::take(&mut self.repeats);
        let earlier: HashMap<i64, Repeats> = {
            let ids: Vec<i64> = self.open.values().map(|i| i.id).collect();
            let mut shared = lock(&self.s.repeats);
            ids.iter().filter_map(|id| shared.remove_entry(id)).collect()
        };
        merge_repeats(&mut mine, earlier);
        write_repeats(self.s.d, mine).await
    }
}
