//! The ticket dispatcher: turns stored events into Autotask tickets, notes and
//! completions. Runs inside `taskbridge serve`.
//!
//! - Work is per partner, in event order, by whichever instance holds the partner's
//!   lease (`dispatch_lease`), so with several instances on PostgreSQL each event is
//!   handled once and an incident's events never race.
//! - An incident (customer + device + event type) has one ticket. Before the create call
//!   the incident is marked `create_attempted`; a retry (after a crash, a timeout or a
//!   lost answer) first looks the ticket up by its `externalID`, so it is never created
//!   twice. Notes and completions carry a marker for the same reason.
//! - Repeats are counted, not sent: one note per incident per interval says how many.
//! - Autotask failures pause the partner with backoff; events wait, none are lost.
//!
//! This file is the loop and the lease; `round.rs` handles one batch of events, and
//! `writes.rs` the Autotask writes (ticket, notes, recovery) each exactly once.

mod round;
mod writes;

use crate::autotask::client::AutotaskClient;
use crate::autotask::error::AutotaskError;
use crate::db::{dispatch, now_ms, Db};
use crate::services::connection::SqlAutotaskSettings;
use app::types::tickets::{EventType, RuleAction, TicketPicklists};
use round::Round;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// Tuning.
#[derive(Debug, Clone)]
pub struct DispatchOptions {
    /// How often to look for work without being woken.
    pub poll: Duration,
    /// How long a partner's lease lasts without renewal.
    pub lease: Duration,
    /// Events per round.
    pub batch: i64,
    /// Longest pause after repeated Autotask failures.
    pub max_backoff: Duration,
    /// First pause.
    pub first_backoff: Duration,
    /// How long picklists are reused.
    pub picklist_ttl: Duration,
}

impl Default for DispatchOptions {
    fn default() -> Self {
        Self {
            poll: Duration::from_secs(1),
            lease: Duration::from_secs(120),
            batch: 500,
            max_backoff: Duration::from_secs(300),
            first_backoff: Duration::from_secs(1),
            picklist_ttl: Duration::from_secs(600),
        }
    }
}

/// Why a round stopped early: the partner pauses and tries again later.
#[derive(Debug)]
struct Pause {
    message: String,
    /// Configuration problems wait longer than outages.
    config: bool,
}

impl From<AutotaskError> for Pause {
    fn from(e: AutotaskError) -> Self {
        let config = !e.is_transient() && !matches!(e, AutotaskError::Malformed(_));
        Pause { message: e.to_string(), config }
    }
}

impl From<sqlx::Error> for Pause {
    fn from(e: sqlx::Error) -> Self {
        tracing::error!(error = %e, "dispatcher database error");
        Pause { message: "Taskbridge could not read or write its database; retrying.".into(), config: false }
    }
}

/// A notification rule, as the dispatcher reads it.
#[derive(Debug, Clone)]
struct Rule {
    subscribe_ok: bool,
    all_types: bool,
    event_types: HashSet<EventType>,
    customers: HashSet<i64>,
    complete_on_recovery: bool,
}

impl Rule {
    fn applies_to(&self, customer_id: i64) -> bool {
        self.customers.is_empty() || self.customers.contains(&customer_id)
    }

    fn covers(&self, event_type: EventType) -> bool {
        self.all_types || self.event_types.contains(&event_type) || event_type.recovers().iter().any(|f| self.event_types.contains(f))
    }
}

/// Per-partner state cached between rounds.
struct PartnerCache {
    client: Option<Arc<AutotaskClient>>,
    picklists: Option<(std::time::Instant, TicketPicklists)>,
    failures: u32,
}

/// The dispatcher. One per process; cheap to clone through `Arc`.
pub struct Dispatcher {
    db: Db,
    connections: SqlAutotaskSettings,
    wake: Arc<Notify>,
    holder: String,
    opts: DispatchOptions,
    cache: Mutex<HashMap<i64, Arc<tokio::sync::Mutex<PartnerCache>>>>,
    running: Mutex<HashSet<i64>>,
    stopped: std::sync::atomic::AtomicBool,
}

/// Stops a dispatcher: no new event is started; the one in hand finishes or is resumed
/// by the next holder of the partner's lease.
pub struct DispatchHandle {
    dispatcher: Arc<Dispatcher>,
    task: tokio::task::JoinHandle<()>,
}

impl DispatchHandle {
    /// Stops the loop and the partners' rounds.
    pub fn stop(&self) {
        self.dispatcher.stopped.store(true, std::sync::atomic::Ordering::SeqCst);
        self.task.abort();
    }
}

impl Drop for DispatchHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Dispatcher {
    /// A dispatcher on this database; `wake` is notified when events arrive.
    pub fn new(db: Db, connections: SqlAutotaskSettings, wake: Arc<Notify>, opts: DispatchOptions) -> Arc<Self> {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or_default();
        let holder = format!("{}-{}-{nanos}", std::process::id(), now_ms());
        Arc::new(Self { db, connections, wake, holder, opts, cache: Mutex::default(), running: Mutex::default(), stopped: Default::default() })
    }

    /// Runs until the handle is stopped or dropped.
    pub fn spawn(self: &Arc<Self>) -> DispatchHandle {
        let this = self.clone();
        DispatchHandle { dispatcher: self.clone(), task: tokio::spawn(async move { this.run().await }) }
    }

    /// One pass, awaited: every partner with work (and not leased elsewhere) is dispatched
    /// until it has none left or pauses. Returns how many partners were dispatched.
    pub async fn try_run_once(&self) -> Result<usize, sqlx::Error> {
        let partners = dispatch::partners_with_work(&self.db, &self.holder, now_ms()).await?;
        for partner_id in &partners {
            self.run_partner(*partner_id).await;
        }
        Ok(partners.len())
    }

    fn is_stopped(&self) -> bool {
        self.stopped.load(std::sync::atomic::Ordering::SeqCst)
    }

    async fn run(self: Arc<Self>) {
        loop {
            match dispatch::partners_with_work(&self.db, &self.holder, now_ms()).await {
                Ok(partners) => {
                    for partner_id in partners {
                        let fresh = self.running.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(partner_id);
                        if fresh {
                            let this = self.clone();
                            tokio::spawn(async move {
                                this.run_partner(partner_id).await;
                                this.running.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&partner_id);
                                // More may have arrived while this partner was busy.
                                this.wake.notify_one();
                            });
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "dispatcher could not look for work"),
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(self.opts.poll) => {}
            }
        }
    }

    async fn acquire(&self, partner_id: i64) -> Result<bool, sqlx::Error> {
        let now = now_ms();
        dispatch::acquire(&self.db, partner_id, &self.holder, now, now + self.opts.lease.as_millis() as i64).await
    }

    async fn release(&self, partner_id: i64, outcome: Result<(), &Pause>, failures: u32) {
        let result = match outcome {
            Ok(()) => dispatch::release(&self.db, partner_id, &self.holder).await,
            Err(p) => {
                let base = if p.config { Duration::from_secs(60) } else { self.opts.first_backoff };
                let wait = crate::autotask::retry::exponential(base, self.opts.max_backoff, failures.saturating_sub(1).min(10));
                tracing::warn!(partner_id, error = %p.message, retry_in = ?wait, "ticket dispatch paused");
                let now = now_ms();
                dispatch::release_paused(&self.db, partner_id, &self.holder, now + wait.as_millis() as i64, &p.message, now).await
            }
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, partner_id, "could not release the dispatch lease");
        }
    }

    async fn run_partner(&self, partner_id: i64) {
        match self.acquire(partner_id).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => {
                tracing::warn!(error = %e, partner_id, "could not take the dispatch lease");
                return;
            }
        }
        let cache = {
            let mut all = self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            all.entry(partner_id)
                .or_insert_with(|| Arc::new(tokio::sync::Mutex::new(PartnerCache { client: None, picklists: None, failures: 0 })))
                .clone()
        };
        let mut guard = cache.lock().await;
        let mut outcome = Ok(());
        while !self.is_stopped() {
            match self.round(partner_id, &mut guard).await {
                Ok(true) => {
                    // Renew the lease between rounds.
                    if !matches!(self.acquire(partner_id).await, Ok(true)) {
                        return;
                    }
                }
                Ok(false) => break,
                Err(p) => {
                    outcome = Err(p);
                    break;
                }
            }
        }
        match &outcome {
            Ok(()) => guard.failures = 0,
            Err(_) => guard.failures += 1,
        }
        let failures = guard.failures;
        if let Err(p) = &outcome {
            if p.config {
                // A settings or connection problem: read everything afresh next time.
                guard.client = None;
                guard.picklists = None;
            }
        }
        drop(guard);
        self.release(partner_id, outcome.as_ref().map(|_| ()), failures).await;
    }

    /// One round: a batch of events, then the notes that are due. Ok(true) = more to do.
    async fn round(&self, partner_id: i64, cache: &mut PartnerCache) -> Result<bool, Pause> {
        let settings = crate::db::tickets::settings(&self.db, partner_id).await?;
        let rules = self.rules(partner_id).await?;
        let mut round = Round::new(self, partner_id, settings, rules, cache);
        let events = crate::db::events::pending(&self.db, partner_id, self.opts.batch).await?;
        let more = events.len() as i64 == self.opts.batch;
        round.load_open(&events).await?;
        for ev in &events {
            if self.is_stopped() || !round.keep_lease().await? {
                round.flush_repeats().await?;
                return Ok(false);
            }
            let mut attempt = 0u32;
            loop {
                round.now = now_ms();
                match round.handle(ev).await {
                    Ok(()) => break,
                    // A blip: try this event again shortly (every step is safe to repeat).
                    Err(p) if !p.config && attempt < 3 => {
                        attempt += 1;
                        tracing::debug!(error = %p.message, attempt, "retrying an event");
                        tokio::time::sleep(Duration::from_millis(150 << attempt)).await;
                    }
                    Err(p) => {
                        round.flush_repeats().await?;
                        return Err(p);
                    }
                }
            }
            // Progress: a later pause starts from the shortest wait again.
            round.cache.failures = 0;
        }
        round.flush_repeats().await?;
        round.fill_numbers().await;
        let notes_left = round.notes_due().await?;
        Ok(more || notes_left)
    }

    async fn rules(&self, partner_id: i64) -> Result<Vec<Rule>, sqlx::Error> {
        let rows = crate::db::tickets::rules(&self.db, partner_id, Some(RuleAction::Ticket)).await?;
        Ok(rows
            .iter()
            .map(|r| {
                let input = r.input();
                Rule {
                    subscribe_ok: input.subscribe_ok,
                    all_types: input.all_types,
                    event_types: input.event_types.into_iter().collect(),
                    customers: input.customer_ids.into_iter().collect(),
                    complete_on_recovery: input.complete_on_recovery,
                }
            })
            .collect())
    }
}
