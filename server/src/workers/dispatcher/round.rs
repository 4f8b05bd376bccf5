//! One round of a partner's dispatch. A reader hands pending events to their lanes
//! (one per customer and device) as it reads them, and goes on reading while lanes wait
//! for Autotask; a runner works several lanes at once, each lane's events in order.
//! Each event opens an incident's ticket, counts as a repeat, or completes on recovery.
//! Then the repeat notes that are due, also several at once.
//!
//! A lane that fails while others go through holds back its customer alone; when
//! nothing goes through, the partner pauses.

use super::board::{merge_repeats, write_repeats, Board, Job, Repeats, FLUSH_AT, ROUND_FOR};
use super::membership::Membership;
use super::{Dispatcher, PartnerCache, Pause, Rule};
use crate::autotask::client::AutotaskClient;
use crate::autotask::entities::Ticket;
use crate::autotask::query::{Filter, Query};
use crate::db::dispatch::{self, Incident};
use crate::db::now_ms;
use crate::services::tickets::{self, ResolveError, Resolved};
use app::types::tickets::{EventRow, EventType, Outcome, TicketSettings};
use futures_util::stream::StreamExt;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The lane of a customer's device: its events are handled in order.
pub(super) fn lane_key(customer_id: i64, device: &str) -> String {
    format!("{customer_id}|{}", device.trim().to_lowercase())
}

pub(super) fn incident_key(customer_id: i64, device: &str, event_type: EventType) -> String {
    format!("{}|{}", lane_key(customer_id, device), event_type.code())
}

/// The lane and the customer of an incident, from its key.
pub(super) fn lane_of(key: &str) -> (&str, i64) {
    let lane = key.rsplit_once('|').map_or(key, |(lane, _)| lane);
    (lane, lane.split_once('|').and_then(|(c, _)| c.parse().ok()).unwrap_or_default())
}

/// A std mutex's guard, even after a panic elsewhere (the data stays usable).
pub(super) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
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
    /// Repeats the lanes counted, written now and then and at the end of the round.
    pub(super) repeats: Mutex<HashMap<i64, Repeats>>,
    /// Held while repeats are written: a recovery counting its incident's repeats waits
    /// for a write in progress, so none is in neither place.
    pub(super) writing: tokio::sync::Mutex<()>,
    pub(super) membership: &'a Membership,
    pub(super) tally: super::tally::Tally,
}

/// One lane's work in a round: its open incidents and the repeats it counted.
pub(super) struct Lane<'r> {
    pub(super) s: &'r Shared<'r>,
    pub(super) open: HashMap<String, Incident>,
    pub(super) repeats: HashMap<i64, Repeats>,
    pub(super) now: i64,
}

/// How a lane or a note went: its customer, and whether it failed.
pub(super) type Done = (i64, Result<bool, Pause>);

impl<'a> Shared<'a> {
    pub(super) fn new(
        d: &'a Dispatcher,
        partner_id: i64,
        settings: TicketSettings,
        rules: Vec<Rule>,
        cache: Arc<tokio::sync::Mutex<PartnerCache>>,
        membership: &'a Membership,
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
            writing: tokio::sync::Mutex::new(()),
            membership,
            tally: Default::default(),
        }
    }

    /// The round: pending events fed to their lanes as they are read, several lanes at
    /// once, then the notes due. Reading goes on while lanes wait for Autotask, until
    /// the partner is caught up, a note falls due, or [`ROUND_FOR`] has passed.
    /// Ok(true) = more to do.
    pub(super) async fn run(&self) -> Result<bool, Pause> {
        // Customers with a hold, and when each may go again.
        let held: HashMap<i64, i64> = dispatch::holds(&self.d.db, self.partner_id).await?.into_iter().map(|h| (h.customer_id, h.retry_at)).collect();
        let board = &Mutex::new(Board::default());
        let (jobs, mut next_job) = tokio::sync::mpsc::unbounded_channel::<Job>();
        let feeder = async move {
            let outcome = self.feed(board, &jobs).await;
            drop(jobs);
            outcome
        };
        let runner = async {
            let mut waiting: std::collections::VecDeque<Job> = Default::default();
            let mut running = futures_util::stream::FuturesUnordered::new();
            let mut done: Vec<Done> = Vec::new();
            let mut open_channel = true;
            loop {
                while running.len() < self.d.opts.lanes.max(1) {
                    let Some(job) = waiting.pop_front() else { break };
                    running.push(async move {
                        let ran = job.events.len();
                        let (open, result) = self.run_lane(job.open, job.events).await;
                        (job.key, job.customer, open, ran, result)
                    });
                }
                tokio::select! {
                    job = next_job.recv(), if open_channel => match job {
                        Some(job) => waiting.push_back(job),
                        None => open_channel = false,
                    },
                    Some((key, customer, open, ran, result)) = running.next(), if !running.is_empty() => {
                        if let Some(job) = lock(board).finished(&key, open, ran, result.is_err()) {
                            // A lane going on goes first: its ticket is open, so its next
                            // events are mostly repeats, counted at once.
                            waiting.push_front(job);
                        }
                        done.push((customer, result));
                    },
                    else => break,
                }
            }
            done
        };
        let (fed, done) = tokio::join!(feeder, runner);
        self.flush_repeats().await?;
        self.fill_numbers().await;
        let more = fed? || done.iter().any(|(_, r)| matches!(r, Ok(false)));
        self.settle(done, &held).await?;
        let notes_left = self.notes_due(&held).await?;
        Ok(more || notes_left)
    }

    /// Reads pending events and hands them to their lanes; writes the counted repeats
    /// now and then meanwhile. Ok(true) = it stopped before the partner was caught up.
    async fn feed(&self, board: &Mutex<Board>, jobs: &tokio::sync::mpsc::UnboundedSender<Job>) -> Result<bool, Pause> {
        let started = std::time::Instant::now();
        let members = self.membership.members();
        // With other instances on the partner, rounds are short, so customers change hands.
        let round_for = if members > 1 { ROUND_FOR / 6 } else { ROUND_FOR };
        let batch = self.d.opts.batch.max(1);
        let mut after = 0;
        // Events left for the next round (customers beyond this instance's room).
        let mut left = false;
        loop {
            if self.d.is_stopped() || !self.membership.valid() || started.elapsed() > round_for || self.membership.members() > members {
                // Out of time, or another instance joined: the next round shares the work.
                return Ok(true);
            }
            if lock(board).in_hand >= 3 * batch {
                // Far enough ahead of the lanes: let them catch up.
                self.flush_if_many().await?;
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
            let mut events = self.pending(after, batch).await?;
            if events.is_empty() {
                // Caught up: the round ends with its lanes; until then, events that arrive
                // meanwhile join it.
                if lock(board).in_hand == 0 {
                    return Ok(left);
                }
                self.flush_if_many().await?;
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            if self.d.claim(self.partner_id, self.membership, events.iter().map(|e| e.customer_id)).await? {
                // Another instance may have handled some of these since they were read.
                events = self.pending(after, batch).await?;
            }
            let Some(last) = events.last() else { continue };
            after = last.event_id;
            let before = events.len();
            events.retain(|e| self.membership.holds(e.customer_id));
            left |= events.len() < before;
            let fresh: Vec<EventRow> = {
                let b = lock(board);
                events.iter().filter(|e| !b.knows(&lane_key(e.customer_id, &e.device))).cloned().collect()
            };
            let mut open = self.load_open(&fresh).await?;
            {
                let mut b = lock(board);
                for ev in events {
                    let key = lane_key(ev.customer_id, &ev.device);
                    if let Some(job) = b.add(key, ev, &mut open) {
                        // The runner outlives the feeder: a send cannot fail while it runs.
                        let _ = jobs.send(job);
                    }
                }
            }
            self.flush_if_many().await?;
            // Notes fall due on their interval, also during a storm: end the round for them.
            let now = now_ms();
            let counted_due = lock(&self.repeats).values().any(|r| r.due_at <= now);
            if counted_due || dispatch::any_note_due(&self.d.db, self.partner_id, &self.d.holder, now).await? {
                return Ok(true);
            }
        }
    }

    /// Pending events after `after` free for this instance.
    async fn pending(&self, after: i64, batch: i64) -> Result<Vec<EventRow>, sqlx::Error> {
        crate::db::events::pending(&self.d.db, self.partner_id, &self.d.holder, after, batch, now_ms()).await
    }

    /// Writes the counted repeats once there are many (the lanes go on meanwhile).
    async fn flush_if_many(&self) -> Result<(), sqlx::Error> {
        let many = lock(&self.repeats).values().map(|r| r.event_ids.len()).sum::<usize>() >= FLUSH_AT;
        if many {
            self.flush_repeats().await?;
        }
        Ok(())
    }

    /// One lane's events, in order; an event that keeps failing stops the lane (its
    /// events stay pending). Ok(true) = all handled.
    async fn run_lane(&self, open: HashMap<String, Incident>, events: Vec<EventRow>) -> (HashMap<String, Incident>, Result<bool, Pause>) {
        let mut lane = Lane { s: self, open, repeats: HashMap::new(), now: now_ms() };
        let mut outcome = Ok(true);
        'events: for ev in &events {
            if self.d.is_stopped() || !self.membership.valid() {
                outcome = Ok(false);
                break;
            }
            let mut attempt = 0u32;
            loop {
                lane.now = now_ms();
                match lane.handle(ev).await {
                    Ok(()) => {
                        self.d.handled.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        break;
                    }
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
        merge_repeats(&mut lock(&self.repeats), lane.repeats);
        (lane.open, outcome)
    }

    /// After the lanes (or the notes): when nothing went through, the partner pauses;
    /// otherwise a customer whose work failed is held back on its own, and one that
    /// went through again is let go.
    pub(super) async fn settle(&self, done: Vec<Done>, held: &HashMap<i64, i64>) -> Result<(), Pause> {
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
        dispatch::finish_event(&self.d.db, ev.event_id, outcome, note, incident_id, ticket_id, number, now_ms()).await?;
        self.tally.finished(ev, outcome, note);
        Ok(())
    }

    /// Writes the repeats the lanes counted.
    async fn flush_repeats(&self) -> Result<(), sqlx::Error> {
        let _writing = self.writing.lock().await;
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
}
