//! One round of a partner's dispatch: its pending events in order, each opening an
//! incident's ticket, counting as a repeat, or completing on recovery; then the repeat
//! notes that are due.

use super::{Dispatcher, PartnerCache, Pause, Rule};
use crate::autotask::client::AutotaskClient;
use crate::autotask::entities::Ticket;
use crate::autotask::query::{Filter, Query};
use crate::db::dispatch::{self, Incident, NewIncident, RepeatBatch};
use crate::db::now_ms;
use crate::services::tickets::{self, ResolveError, Resolved};
use app::types::tickets::{EventRow, EventType, Outcome, TicketSettings};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

pub(super) fn incident_key(customer_id: i64, device: &str, event_type: EventType) -> String {
    format!("{customer_id}|{}|{}", device.trim().to_lowercase(), event_type.code())
}

/// Buffered repeats of one incident (written in one statement per incident).
#[derive(Debug, Default)]
struct Repeats {
    event_ids: Vec<i64>,
    last_event_at: i64,
    ticket_id: Option<i64>,
    ticket_number: Option<String>,
    due_at: i64,
}

/// A round's context for one partner.
pub(super) struct Round<'a> {
    pub(super) d: &'a Dispatcher,
    pub(super) partner_id: i64,
    pub(super) settings: TicketSettings,
    rules: Vec<Rule>,
    pub(super) cache: &'a mut PartnerCache,
    resolved: Option<Resolved>,
    pub(super) open: HashMap<String, Incident>,
    repeats: HashMap<i64, Repeats>,
    companies: HashMap<i64, Option<i64>>,
    pub(super) now: i64,
    lease_renewed: std::time::Instant,
}

impl<'a> Round<'a> {
    pub(super) fn new(d: &'a Dispatcher, partner_id: i64, settings: TicketSettings, rules: Vec<Rule>, cache: &'a mut PartnerCache) -> Self {
        Round {
            d,
            partner_id,
            settings,
            rules,
            cache,
            resolved: None,
            open: HashMap::new(),
            repeats: HashMap::new(),
            companies: HashMap::new(),
            now: now_ms(),
            lease_renewed: std::time::Instant::now(),
        }
    }

    /// Loads the open incidents any of these events could touch.
    pub(super) async fn load_open(&mut self, events: &[EventRow]) -> Result<(), sqlx::Error> {
        let mut keys: HashSet<String> = HashSet::new();
        for e in events {
            let Some(ty) = EventType::parse(&e.event_type) else { continue };
            for f in ty.recovers() {
                keys.insert(incident_key(e.customer_id, &e.device, *f));
            }
            keys.insert(incident_key(e.customer_id, &e.device, ty));
        }
        let keys: Vec<String> = keys.into_iter().collect();
        for chunk in keys.chunks(400) {
            for inc in dispatch::open_incidents(&self.d.db, self.partner_id, chunk).await? {
                self.open.insert(inc.key.clone(), inc);
            }
        }
        Ok(())
    }

    /// The partner's client from the registry (the one every feature shares). A new one
    /// (the connection was saved) drops the cached picklists, which may have changed.
    pub(super) async fn client(&mut self) -> Result<Arc<AutotaskClient>, Pause> {
        let client = self.d.connections.client(self.partner_id).await.map_err(|p| Pause { message: p.message, config: true })?;
        let same = self.cache.client.as_ref().is_some_and(|c| Arc::ptr_eq(c, &client));
        if !same {
            self.cache.client = Some(client.clone());
            self.cache.picklists = None;
        }
        Ok(client)
    }

    /// The ticket values of the partner's settings (picklists cached for a while).
    pub(super) async fn resolved(&mut self) -> Result<Resolved, Pause> {
        if let Some(r) = &self.resolved {
            return Ok(r.clone());
        }
        let ttl = self.d.opts.picklist_ttl;
        let lists = match &self.cache.picklists {
            Some((at, lists)) if at.elapsed() < ttl => lists.clone(),
            _ => {
                let client = self.client().await?;
                let lists = tickets::fetch_picklists(&client).await?;
                self.cache.picklists = Some((std::time::Instant::now(), lists.clone()));
                lists
            }
        };
        match tickets::resolve(&self.settings, &lists) {
            Ok(r) => {
                self.resolved = Some(r.clone());
                Ok(r)
            }
            Err(ResolveError::Missing(m)) => Err(Pause { message: m, config: true }),
            Err(ResolveError::DoNotMap) => Err(Pause { message: "Ticketing is off (queue: Do not map).".into(), config: true }),
        }
    }

    async fn company(&mut self, customer_id: i64) -> Result<Option<i64>, sqlx::Error> {
        if let Some(c) = self.companies.get(&customer_id) {
            return Ok(*c);
        }
        let c = crate::db::tickets::company_of(&self.d.db, self.partner_id, customer_id).await?;
        self.companies.insert(customer_id, c);
        Ok(c)
    }

    /// Records an event's outcome.
    pub(super) async fn finish(&self, ev: &EventRow, outcome: Outcome, note: &str, inc: Option<&Incident>) -> Result<(), sqlx::Error> {
        let (incident_id, ticket_id, number) = match inc {
            Some(i) => (Some(i.id), i.ticket_id, i.ticket_number.as_deref()),
            None => (None, None, None),
        };
        dispatch::finish_event(&self.d.db, ev.event_id, outcome, note, incident_id, ticket_id, number, now_ms()).await
    }

    /// Handles one event; every step is safe to repeat after a failure.
    pub(super) async fn handle(&mut self, ev: &EventRow) -> Result<(), Pause> {
        let Some(ty) = EventType::parse(&ev.event_type) else {
            // The machine API stores only known types; a type a later version dropped ends here.
            self.finish(ev, Outcome::Ignored, &format!("Unknown event type \u{201c}{}\u{201d}.", ev.event_type), None).await?;
            return Ok(());
        };
        let rules: Vec<Rule> = self.rules.iter().filter(|r| r.applies_to(ev.customer_id)).cloned().collect();
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
                    self.finish(ev, outcome, &note, Some(&inc)).await?;
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
                self.finish(ev, Outcome::Ignored, why, None).await?;
                return Ok(());
            }
        } else if !rules.iter().any(|r| r.covers(ty)) {
            let why = if rules.is_empty() {
                "No \u{201c}Open an Autotask ticket\u{201d} notification applies to this customer.".to_string()
            } else {
                format!("No notification subscribes to \u{201c}{}\u{201d} events.", ty.label())
            };
            self.finish(ev, Outcome::Ignored, &why, None).await?;
            return Ok(());
        }
        let key = incident_key(ev.customer_id, &ev.device, ty);
        if let Some(inc) = self.open.get(&key).cloned() {
            if inc.opening_event_id == ev.event_id || inc.ticket_id.is_none() {
                // Resuming after a crash or a pause: this incident's ticket is not recorded yet.
                return self.ensure_ticket(inc, ev).await;
            }
            let interval = self.settings.note_interval_minutes * 60_000;
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
        if self.settings.do_not_map {
            self.finish(ev, Outcome::NotSent, "Not sent: ticketing is off (the queue is set to \u{201c}Do not map\u{201d} on the Setup page).", None)
                .await?;
            return Ok(());
        }
        let Some(company_id) = self.company(ev.customer_id).await? else {
            self.finish(
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
            partner_id: self.partner_id,
            customer_id: ev.customer_id,
            device: &ev.device,
            event_type: &ev.event_type,
            key: &key,
            company_id,
            opening_event_id: ev.event_id,
            complete_on_recovery: complete,
        };
        let id = dispatch::insert_incident(&self.d.db, &new, self.now).await?;
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

    /// Writes the buffered repeats: counts on the incident, outcome on each event.
    pub(super) async fn flush_repeats(&mut self) -> Result<(), sqlx::Error> {
        if self.repeats.is_empty() {
            return Ok(());
        }
        let repeats = std::mem::take(&mut self.repeats);
        let notes: Vec<String> = repeats
            .values()
            .map(|r| {
                format!(
                    "Repeat of the open incident: counted for the next note on ticket {}.",
                    r.ticket_number.clone().or(r.ticket_id.map(|t| t.to_string())).unwrap_or_default()
                )
            })
            .collect();
        let batches: Vec<RepeatBatch<'_>> = repeats
            .iter()
            .zip(&notes)
            .map(|((incident_id, r), note)| RepeatBatch {
                incident_id: *incident_id,
                event_ids: &r.event_ids,
                last_event_at: r.last_event_at,
                due_at: r.due_at,
                ticket_id: r.ticket_id,
                ticket_number: r.ticket_number.as_deref(),
                note,
            })
            .collect();
        dispatch::record_repeats(&self.d.db, &batches, now_ms()).await
    }

    /// Reads the numbers of new tickets in one query (people search and link by them).
    /// A failure only delays the numbers: they are read again after the next batch.
    pub(super) async fn fill_numbers(&mut self) {
        if let Err(e) = self.try_fill_numbers().await {
            tracing::debug!(error = %e.message, "ticket numbers not read yet");
        }
    }

    async fn try_fill_numbers(&mut self) -> Result<(), Pause> {
        let missing = dispatch::missing_numbers(&self.d.db, self.partner_id).await?;
        if missing.is_empty() {
            return Ok(());
        }
        let by_ticket: HashMap<i64, i64> = missing.into_iter().map(|(incident, ticket)| (ticket, incident)).collect();
        let client = self.client().await?;
        let ids: Vec<i64> = by_ticket.keys().copied().collect();
        let found: Vec<Ticket> = client.query(&Query::new([Filter::is_in("id", ids)]).include(&["id", "ticketNumber"])).await?;
        let numbers: Vec<(i64, String)> = found.into_iter().filter_map(|t| Some((*by_ticket.get(&t.id)?, t.ticket_number?))).collect();
        dispatch::set_numbers(&self.d.db, &numbers).await?;
        for (incident_id, number) in numbers {
            if let Some(inc) = self.open.values_mut().find(|i| i.id == incident_id) {
                inc.ticket_number = Some(number);
            }
        }
        Ok(())
    }

    /// Renews the partner's lease well before it lapses (a slow Autotask can make a
    /// batch outlast it); false when another instance has taken the partner over.
    pub(super) async fn keep_lease(&mut self) -> Result<bool, sqlx::Error> {
        if self.lease_renewed.elapsed() < self.d.opts.lease / 4 {
            return Ok(true);
        }
        let kept = self.d.acquire(self.partner_id).await?;
        self.lease_renewed = std::time::Instant::now();
        if !kept {
            tracing::warn!(partner_id = self.partner_id, "another instance took over this partner's dispatch");
        }
        Ok(kept)
    }

    /// Notes whose interval has passed. New events go first: returns true when it
    /// stopped early for them (more work is left).
    pub(super) async fn notes_due(&mut self) -> Result<bool, Pause> {
        for inc in dispatch::notes_due(&self.d.db, self.partner_id, now_ms()).await? {
            if crate::db::events::has_pending(&self.d.db, self.partner_id).await? || self.d.is_stopped() || !self.keep_lease().await? {
                return Ok(true);
            }
            let mut attempt = 0u32;
            loop {
                match self.repeat_note(inc.clone()).await {
                    Ok(()) => break,
                    Err(p) if !p.config && attempt < 3 => {
                        attempt += 1;
                        tokio::time::sleep(Duration::from_millis(150 << attempt)).await;
                    }
                    Err(p) => return Err(p),
                }
            }
            self.cache.failures = 0;
        }
        Ok(false)
    }
}
