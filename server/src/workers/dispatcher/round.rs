//! One round of a partner's dispatch: a batch of pending events in lanes (one per
//! customer and device, in order within a lane, several lanes at once), each event
//! opening an incident's ticket, counting as a repeat, or completing on recovery; then
//! the repeat notes that are due, also several at once.
//!
//! A lane that fails while others go through holds back its customer alone; when
//! nothing goes through, the partner pauses.

use super::{Dispatcher, Lease, PartnerCache, Pause, Rule};
use crate::autotask::client::AutotaskClient;
use crate::autotask::entities::Ticket;
use crate::autotask::query::{Filter, Query};
use crate::db::dispatch::{self, Incident, RepeatBatch};
use crate::db::now_ms;
use crate::services::tickets::{self, ResolveError, Resolved};
use app::types::tickets::{EventRow, EventType, Outcome, TicketSettings};
use futures_util::stream::{self, StreamExt};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The lane of a customer's device: its events are handled in order.
fn lane_key(customer_id: i64, device: &str) -> String {
    format!("{customer_id}|{}", device.trim().to_lowercase())
}

pub(super) fn incident_key(customer_id: i64, device: &str, event_type: EventType) -> String {
    format!("{}|{}", lane_key(customer_id, device), event_type.code())
}

/// The lane and the customer of an incident, from its key.
fn lane_of(key: &str) -> (&str, i64) {
    let lane = key.rsplit_once('|').map_or(key, |(lane, _)| lane);
    (lane, lane.split_once('|').and_then(|(c, _)| c.parse().ok()).unwrap_or_default())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Buffered repeats of one incident (written in one statement per incident).
#[derive(Debug, Default)]
pub(super) struct Repeats {
    pub(super) event_ids: Vec<i64>,
    pub(super) last_event_at: i64,
    pub(super) ticket_id: Option<i64>,
    pub(super) ticket_number: Option<String>,
    pub(super) due_at: i64,
}

/// What a round's lanes share.
pub(super) struct Shared<'a> {
    pub(super) d: &'a Dispatcher,
    pub(super) partner_id: i64,
    pub(super) settings: TicketSettings,
    pub(super) rules: Vec<Rule>,
    cache: Arc<tokio::sync::Mutex<PartnerCache>>,
    resolved: tokio::sync::Mutex<Option<Resolved>>,
    companies: Mutex<HashMap<i64, Option<i64>>>,
    /// Repeats the lanes counted, written once at the end of the round.
    repeats: Mutex<HashMap<i64, Repeats>>,
    lease: &'a Lease,
}

/// One lane's work in a round: its open incidents and the repeats it counted.
pub(super) struct Lane<'r> {
    pub(super) s: &'r Shared<'r>,
    pub(super) open: HashMap<String, Incident>,
    pub(super) repeats: HashMap<i64, Repeats>,
    pub(super) now: i64,
}

/// How a lane or a note went: its customer, and whether it failed.
type Done = (i64, Result<bool, Pause>);

impl<'a> Shared<'a> {
    pub(super) fn new(
        d: &'a Dispatcher,
        partner_id: i64,
        settings: TicketSettings,
        rules: Vec<Rule>,
        cache: Arc<tokio::sync::Mutex<PartnerCache>>,
        lease: &'a Lease,
    ) -> Self {
        Shared {
            d,
            partner_id,
            settings,
            rules,
            cache,
            resolved: tokio::sync::Mutex::new(None),
            companies: Mutex::default(),
            repeats: Mutex::default(),
            lease,
        }
    }

    /// The round: a batch of events in lanes, then the notes due. Ok(true) = more to do.
    pub(super) async fn run(&self) -> Result<bool, Pause> {
        let now = now_ms();
        // Customers with a hold, and when each may go again.
        let held: HashMap<i64, i64> = dispatch::holds(&self.d.db, self.partner_id).await?.into_iter().map(|h| (h.customer_id, h.retry_at)).collect();
        let events = crate::db::events::pending(&self.d.db, self.partner_id, self.d.opts.batch, now).await?;
        let more = events.len() as i64 == self.d.opts.batch;
        let mut open = self.load_open(&events).await?;
        let mut lanes: Vec<(String, i64, Vec<EventRow>)> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        for ev in events {
            let key = lane_key(ev.customer_id, &ev.device);
            let at = *index.entry(key.clone()).or_insert_with(|| {
                lanes.push((key, ev.customer_id, Vec::new()));
                lanes.len() - 1
            });
            lanes[at].2.push(ev);
        }
        let lanes: Vec<(HashMap<String, Incident>, i64, Vec<EventRow>)> = lanes
            .into_iter()
            .map(|(key, customer, events)| {
                let mine: Vec<String> = open.keys().filter(|k| lane_of(k).0 == key).cloned().collect();
                (mine.into_iter().filter_map(|k| open.remove_entry(&k)).collect(), customer, events)
            })
            .collect();
        let done: Vec<Done> = stream::iter(lanes)
            .map(|(open, customer, events)| async move { (customer, self.run_lane(open, events).await) })
            .buffer_unordered(self.d.opts.lanes.max(1))
            .collect()
            .await;
        self.flush_repeats().await?;
        self.fill_numbers().await;
        self.settle(done, &held).await?;
        let notes_left = self.notes_due(&held).await?;
        Ok(more || notes_left)
    }

    /// One lane's events, in order; an event that keeps failing stops the lane (its
    /// events stay pending). Ok(true) = all handled.
    async fn run_lane(&self, open: HashMap<String, Incident>, events: Vec<EventRow>) -> Result<bool, Pause> {
        let mut lane = Lane { s: self, open, repeats: HashMap::new(), now: now_ms() };
        let mut outcome = Ok(true);
        'events: for ev in &events {
            if self.d.is_stopped() || !self.lease.valid() {
                outcome = Ok(false);
                break;
            }
            let mut attempt = 0u32;
            loop {
                lane.now = now_ms();
                match lane.handle(ev).await {
                    Ok(()) => break,
                    // A blip: try this event again shortly (every step is safe to repeat).
                    Err(p) if !p.config && attempt < 3 => {
                        attempt += 1;
                        tracing::debug!(error = %p.message, attempt, "retrying an event");
                        tokio::time::sleep(Duration::from_millis(150 << attempt)).await;
                    }
                    Err(p) => {
                        outcome = Err(p);
                        break 'events;
                    }
                }
            }
        }
        lock(&self.repeats).extend(lane.repeats);
        outcome
    }

    /// After the lanes (or the notes): when nothing went through, the partner pauses;
    /// otherwise a customer whose work failed is held back on its own, and one that
    /// went through again is let go.
    async fn settle(&self, done: Vec<Done>, held: &HashMap<i64, i64>) -> Result<(), Pause> {
        let went_through = done.iter().any(|(_, r)| r.is_ok());
        let mut freed: Vec<i64> = done.iter().filter(|(c, r)| matches!(r, Ok(true)) && held.contains_key(c)).map(|(c, _)| *c).collect();
        let mut failed: HashMap<i64, Pause> = HashMap::new();
        for (customer, r) in done {
            if let Err(p) = r {
                failed.entry(customer).or_insert(p);
            }
        }
        freed.retain(|c| !failed.contains_key(c));
        freed.sort_unstable();
        freed.dedup();
        if !freed.is_empty() {
            dispatch::release_holds(&self.d.db, self.partner_id, &freed).await?;
        }
        if failed.is_empty() {
            return Ok(());
        }
        if !went_through {
            return Err(failed.into_values().next().expect("one failure"));
        }
        let holds: HashMap<i64, i64> = dispatch::holds(&self.d.db, self.partner_id).await?.into_iter().map(|h| (h.customer_id, h.failures)).collect();
        let now = now_ms();
        for (customer, p) in failed {
            let failures = holds.get(&customer).copied().unwrap_or_default() + 1;
            let base = if p.config { Duration::from_secs(30) } else { self.d.opts.first_backoff };
            let wait = crate::autotask::retry::exponential(base, self.d.opts.max_backoff, (failures - 1).clamp(0, 10) as u32);
            tracing::warn!(partner_id = self.partner_id, customer, error = %p.message, retry_in = ?wait, "one customer's tickets held back");
            dispatch::hold(&self.d.db, self.partner_id, customer, failures, now + wait.as_millis() as i64, &p.message, now).await?;
        }
        Ok(())
    }

    /// Loads the open incidents any of these events could touch.
    async fn load_open(&self, events: &[EventRow]) -> Result<HashMap<String, Incident>, sqlx::Error> {
        let mut keys: HashSet<String> = HashSet::new();
        for e in events {
            let Some(ty) = EventType::parse(&e.event_type) else { continue };
            for f in ty.recovers() {
                keys.insert(incident_key(e.customer_id, &e.device, *f));
            }
            keys.insert(incident_key(e.customer_id, &e.device, ty));
        }
        let keys: Vec<String> = keys.into_iter().collect();
        let mut open = HashMap::new();
        for chunk in keys.chunks(400) {
            for inc in dispatch::open_incidents(&self.d.db, self.partner_id, chunk).await? {
                open.insert(inc.key.clone(), inc);
            }
        }
        Ok(open)
    }

    /// The partner's client from the registry (the one every feature shares). A new one
    /// (the connection was saved) drops the cached picklists, which may have changed.
    pub(super) async fn client(&self) -> Result<Arc<AutotaskClient>, Pause> {
        let client = self.d.connections.client(self.partner_id).await.map_err(|p| Pause { message: p.message, config: true })?;
        let mut cache = self.cache.lock().await;
        let same = cache.client.as_ref().is_some_and(|c| Arc::ptr_eq(c, &client));
        if !same {
            cache.client = Some(client.clone());
            cache.picklists = None;
        }
        Ok(client)
    }

    /// The ticket values of the partner's settings (picklists cached for a while; lanes
    /// wanting them at once wait for one read).
    pub(super) async fn resolved(&self) -> Result<Resolved, Pause> {
        let mut resolved = self.resolved.lock().await;
        if let Some(r) = &*resolved {
            return Ok(r.clone());
        }
        let ttl = self.d.opts.picklist_ttl;
        let cached = self.cache.lock().await.picklists.clone();
        let lists = match cached {
            Some((at, lists)) if at.elapsed() < ttl => lists,
            _ => {
                let client = self.client().await?;
                let lists = tickets::fetch_picklists(&client).await?;
                self.cache.lock().await.picklists = Some((std::time::Instant::now(), lists.clone()));
                lists
            }
        };
        match tickets::resolve(&self.settings, &lists) {
            Ok(r) => {
                *resolved = Some(r.clone());
                Ok(r)
            }
            Err(ResolveError::Missing(m)) => Err(Pause { message: m, config: true }),
            Err(ResolveError::DoNotMap) => Err(Pause { message: "Ticketing is off (queue: Do not map).".into(), config: true }),
        }
    }

    pub(super) async fn company(&self, customer_id: i64) -> Result<Option<i64>, sqlx::Error> {
        if let Some(c) = lock(&self.companies).get(&customer_id) {
            return Ok(*c);
        }
        let c = crate::db::tickets::company_of(&self.d.db, self.partner_id, customer_id).await?;
        lock(&self.companies).insert(customer_id, c);
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

    /// Writes the repeats the lanes counted.
    async fn flush_repeats(&self) -> Result<(), sqlx::Error> {
        let repeats = std::mem::take(&mut *lock(&self.repeats));
        write_repeats(self.d, repeats).await
    }

    /// Reads the numbers of new tickets in one query (people search and link by them).
    /// A failure only delays the numbers: they are read again after the next batch.
    async fn fill_numbers(&self) {
        if let Err(e) = self.try_fill_numbers().await {
            tracing::debug!(error = %e.message, "ticket numbers not read yet");
        }
    }

    async fn try_fill_numbers(&self) -> Result<(), Pause> {
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
        Ok(())
    }

    /// The notes whose interval has passed (customers held back wait), several at
    /// once, also while events wait (at most 100 a round, so a batch of events follows). Returns true when more
    /// may be due.
    async fn notes_due(&self, held: &HashMap<i64, i64>) -> Result<bool, Pause> {
        let due = dispatch::notes_due(&self.d.db, self.partner_id, now_ms()).await?;
        let more = due.len() >= 100;
        if due.is_empty() {
            return Ok(more);
        }
        let done: Vec<Done> = stream::iter(due)
            .map(|inc| async move { (lane_of(&inc.key).1, self.note(inc).await) })
            .buffer_unordered(self.d.opts.lanes.max(1))
            .collect()
            .await;
        self.settle(done, held).await?;
        Ok(more)
    }

    /// One incident's repeat note, retried through a blip.
    async fn note(&self, inc: Incident) -> Result<bool, Pause> {
        if self.d.is_stopped() || !self.lease.valid() {
            return Ok(false);
        }
        let mut lane = Lane { s: self, open: HashMap::new(), repeats: HashMap::new(), now: now_ms() };
        let mut attempt = 0u32;
        loop {
            match lane.repeat_note(inc.clone()).await {
                Ok(()) => return Ok(true),
                Err(p) if !p.config && attempt < 3 => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(150 << attempt)).await;
                }
                Err(p) => return Err(p),
            }
        }
    }
}

/// Writes buffered repeats: counts on the incident, outcome on each event.
pub(super) async fn write_repeats(d: &Dispatcher, repeats: HashMap<i64, Repeats>) -> Result<(), sqlx::Error> {
    if repeats.is_empty() {
        return Ok(());
    }
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
    dispatch::record_repeats(&d.db, &batches, now_ms()).await
}
