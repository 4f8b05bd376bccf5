//! The ticket dispatcher: turns stored events into Autotask tickets, notes and
//! completions. Runs inside `taskbridge serve`.
//!
//! - Several instances (on PostgreSQL) can work one partner at once: each claims the
//!   customers it works for a round (`dispatch_claim`), so each event is handled once and
//!   an incident's events never race, and holds a share of the partner's thread limit
//!   (`dispatch_slot`), so all of them together stay within Autotask's 3 calls per
//!   entity (`membership.rs`). The claims are short and renewed in the background while
//!   a run lasts, so another instance takes over a dead one's work within seconds; a
//!   restarted instance knows its previous name (`instance.rs`) and resumes its own work
//!   at once.
//! - Within a partner, events are handled in lanes, one per customer and device, in
//!   order within a lane and several lanes at once; the partner's Autotask client keeps
//!   every entity within Autotask's thread limit. A lane that keeps failing while others
//!   go through holds back only its customer (`dispatch_hold`), with its own backoff.
//! - An incident (customer + device + event type) has one ticket. Before the create call
//!   the incident is marked `create_attempted`; a retry (after a crash, a timeout or a
//!   lost answer) first looks the ticket up by its `externalID`, so it is never created
//!   twice. Notes and completions carry a marker for the same reason.
//! - Repeats are counted, not sent: one note per incident per interval says how many,
//!   written when due even while a backlog of events waits.
//! - When nothing goes through, the partner pauses with backoff; events wait, none are lost.
//!
//! This file is the loop, a partner's run and the outage probe; `round.rs` is one round
//! (the reader and the runner of lanes, holds), `notes.rs` the notes due, `board.rs` a
//! round's bookkeeping,
//! `lane.rs` one lane's events, `writes.rs` the Autotask writes (ticket, notes, recovery)
//! each exactly once, `tally.rs` what a round did (its run in the History), and
//! `instance.rs` the name kept in the data directory.

mod board;
mod instance;
mod lane;
mod membership;
mod notes;
mod round;
mod tally;
mod writes;

use crate::autotask::client::AutotaskClient;
use crate::autotask::error::AutotaskError;
use crate::db::{dispatch, now_ms, Db};
use crate::services::connection::SqlAutotaskSettings;
use app::types::tickets::{EventType, RuleAction, TicketPicklists};
use membership::Membership;
use round::Shared;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// Tuning.
#[derive(Debug, Clone)]
pub struct DispatchOptions {
    /// How often to look for work without being woken.
    pub poll: Duration,
    /// How long an instance's claims on a partner's work last without renewal (renewed
    /// every quarter of it): the longest another instance waits to take over a dead
    /// one's work.
    pub lease: Duration,
    /// Events read at a time (a round reads on while lanes work, up to 3 batches ahead).
    pub batch: i64,
    /// Lanes (customer + device) worked on at once; the client keeps each entity within
    /// Autotask's thread limit whatever this is. With other instances on the partner, also
    /// the most customers claimed at once.
    pub lanes: usize,
    /// Where this instance keeps its name as a holder of claims (`None`: a fresh name).
    pub instance_dir: Option<PathBuf>,
    /// Longest pause after repeated Autotask failures.
    pub max_backoff: Duration,
    /// First pause.
    pub first_backoff: Duration,
    /// How long picklists are reused.
    pub picklist_ttl: Duration,
    /// How often Autotask is asked, cheaply, whether it answers again while an outage
    /// pauses a partner (work resumes then, not at the end of the backoff).
    pub probe: Duration,
}

impl Default for DispatchOptions {
    fn default() -> Self {
        Self {
            poll: Duration::from_secs(1),
            lease: Duration::from_secs(6),
            batch: 20_000,
            lanes: 16,
            instance_dir: None,
            max_backoff: Duration::from_secs(300),
            first_backoff: Duration::from_secs(1),
            picklist_ttl: Duration::from_secs(600),
            probe: Duration::from_secs(5),
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
#[derive(Default)]
struct PartnerCache {
    client: Option<Arc<AutotaskClient>>,
    picklists: Option<(std::time::Instant, TicketPicklists)>,
    failures: u32,
    /// Paused by an outage (not a settings problem): Autotask is probed meanwhile.
    outage: bool,
    probed: Option<Instant>,
}

/// The dispatcher. One per process; cheap to clone through `Arc`.
pub struct Dispatcher {
    db: Db,
    connections: SqlAutotaskSettings,
    wake: Arc<Notify>,
    holder: String,
    /// Keeps this instance's name ours while it runs.
    _instance: Option<instance::Instance>,
    opts: DispatchOptions,
    cache: Mutex<HashMap<i64, Arc<tokio::sync::Mutex<PartnerCache>>>>,
    running: Mutex<HashSet<i64>>,
    stopped: std::sync::atomic::AtomicBool,
    /// Events this instance has handled.
    handled: std::sync::atomic::AtomicU64,
}

/// Stops a dispatcher: no new event is started; the one in hand finishes or is resumed
/// by the next instance to claim its customer.
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
        let claimed = opts.instance_dir.as_deref().map(instance::claim);
        let holder = claimed.as_ref().map_or_else(instance::fresh_holder, |c| c.holder.clone());
        Arc::new(Self {
            db,
            connections,
            wake,
            holder,
            _instance: claimed,
            opts,
            cache: Mutex::default(),
            running: Mutex::default(),
            stopped: Default::default(),
            handled: Default::default(),
        })
    }

    /// Runs until the handle is stopped or dropped.
    pub fn spawn(self: &Arc<Self>) -> DispatchHandle {
        let this = self.clone();
        let work = async move { this.run().await };
        DispatchHandle {
            dispatcher: self.clone(),
            task: tokio::spawn(crate::autotask::usage::for_feature(crate::autotask::usage::Feature::Tickets, work)),
        }
    }

    /// One pass, awaited: every partner with work (not claimed elsewhere) is dispatched
    /// until it has none left or pauses. Returns how many partners were dispatched (a
    /// partner whose thread limit other instances hold entirely waits for another pass).
    pub async fn try_run_once(&self) -> Result<usize, sqlx::Error> {
        let mut worked = 0;
        for partner_id in dispatch::partners_with_work(&self.db, &self.holder, now_ms()).await? {
            worked += usize::from(self.run_partner(partner_id).await);
        }
        Ok(worked)
    }

    /// How many events this instance has handled since it started.
    pub fn handled(&self) -> u64 {
        self.handled.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn is_stopped(&self) -> bool {
        self.stopped.load(std::sync::atomic::Ordering::SeqCst)
    }

    async fn run(self: Arc<Self>) {
        loop {
            self.probe_outages();
            if let Err(e) = self.announce().await {
                tracing::warn!(error = %e, "dispatcher could not say it is ready to share work");
            }
            match dispatch::partners_with_work(&self.db, &self.holder, now_ms()).await {
                Ok(partners) => {
                    for partner_id in partners {
                        let fresh = self.running.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(partner_id);
                        if fresh {
                            let this = self.clone();
                            tokio::spawn(crate::autotask::usage::for_feature(crate::autotask::usage::Feature::Tickets, async move {
                                let worked = this.run_partner(partner_id).await;
                                this.running.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&partner_id);
                                if worked {
                                    // More may have arrived while this partner was busy.
                                    this.wake.notify_one();
                                }
                            }));
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

    /// Asks Autotask whether it answers again (one ThresholdInformation call every
    /// `probe`: no data, one thread slot) for each partner an outage paused; the first
    /// answer ends the pause, so work resumes within seconds of a recovery.
    fn probe_outages(self: &Arc<Self>) {
        let partners: Vec<(i64, Arc<tokio::sync::Mutex<PartnerCache>>)> =
            self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner).iter().map(|(id, c)| (*id, c.clone())).collect();
        for (partner_id, cache) in partners {
            let Ok(mut c) = cache.try_lock() else { continue };
            let due = c.outage && c.probed.is_none_or(|t| t.elapsed() >= self.opts.probe);
            let Some(client) = c.client.clone().filter(|_| due) else { continue };
            c.probed = Some(Instant::now());
            drop(c);
            let this = self.clone();
            tokio::spawn(crate::autotask::usage::for_feature(crate::autotask::usage::Feature::Tickets, async move {
                if let Err(e) = client.threshold().await {
                    tracing::debug!(partner_id, error = %e, "Autotask still not answering");
                    return;
                }
                cache.lock().await.outage = false;
                match dispatch::end_pause(&this.db, partner_id).await {
                    Ok(()) => {
                        tracing::info!(partner_id, "Autotask answers again: ticket dispatch resumes");
                        this.wake.notify_one();
                    }
                    Err(e) => tracing::warn!(partner_id, error = %e, "could not end the dispatch pause"),
                }
            }));
        }
    }

    /// Ends or sets the partner's pause after a run.
    async fn settle_pause(&self, partner_id: i64, outcome: Result<(), &Pause>, failures: u32) {
        let result = match outcome {
            Ok(()) => dispatch::clear_pause(&self.db, partner_id).await,
            Err(p) => {
                let base = if p.config { Duration::from_secs(60) } else { self.opts.first_backoff };
                let wait = crate::autotask::retry::exponential(base, self.opts.max_backoff, failures.saturating_sub(1).min(10));
                tracing::warn!(partner_id, error = %p.message, retry_in = ?wait, "ticket dispatch paused");
                let now = now_ms();
                dispatch::pause(&self.db, partner_id, now + wait.as_millis() as i64, &p.message, now).await
            }
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, partner_id, "could not record the partner's dispatch pause");
        }
    }

    /// Works the partner until it has no work left or pauses; false when it could not
    /// join (no share of the thread limit free yet, or the database failed).
    async fn run_partner(&self, partner_id: i64) -> bool {
        let membership = match self.join(partner_id).await {
            Ok(Some(m)) => m,
            Ok(None) => return false,
            Err(e) => {
                tracing::warn!(error = %e, partner_id, "could not join the partner's dispatch");
                return false;
            }
        };
        let cache = {
            let mut all = self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            all.entry(partner_id).or_default().clone()
        };
        let done = Notify::new();
        let work = async {
            let outcome = membership.share.clone().scope(self.rounds(partner_id, &cache, &membership)).await;
            done.notify_one();
            outcome
        };
        let (outcome, ()) = tokio::join!(work, self.keep(partner_id, &membership, &done));
        self.leave(partner_id).await;
        let failures = {
            let mut cache = cache.lock().await;
            cache.outage = matches!(&outcome, Err(p) if !p.config);
            cache.probed = Some(Instant::now());
            match &outcome {
                Ok(()) => cache.failures = 0,
                Err(p) => {
                    cache.failures += 1;
                    if p.config {
                        // A settings or connection problem: read everything afresh next time.
                        cache.client = None;
                        cache.picklists = None;
                    }
                }
            }
            cache.failures
        };
        self.settle_pause(partner_id, outcome.as_ref().map(|_| ()), failures).await;
        true
    }

    /// Rounds until the partner has no work left, pauses, or the claims may have lapsed.
    async fn rounds(&self, partner_id: i64, cache: &Arc<tokio::sync::Mutex<PartnerCache>>, m: &Membership) -> Result<(), Pause> {
        while !self.is_stopped() && m.valid() {
            if !self.round(partner_id, cache, m).await? {
                break;
            }
        }
        Ok(())
    }

    /// One round: a batch of events, then the notes that are due. Ok(true) = more to do.
    async fn round(&self, partner_id: i64, cache: &Arc<tokio::sync::Mutex<PartnerCache>>, m: &Membership) -> Result<bool, Pause> {
        let settings = crate::db::tickets::settings(&self.db, partner_id).await?;
        let rules = self.rules(partner_id).await?;
        let shared = Shared::new(self, partner_id, settings, rules, cache.clone(), m);
        let started_at = now_ms();
        let (key, span) = crate::services::history::log_span(app::types::history::RunKind::Tickets);
        let outcome = tracing::Instrument::instrument(shared.run(), span).await;
        let history = crate::services::history::History::new(self.db.clone());
        shared.tally.record(&history, partner_id, (started_at, &key), outcome.as_ref().map(|_| ())).await;
        // Every write of the round is done and recorded: its customers go back for the
        // next round or another instance.
        if let Err(e) = self.unclaim(partner_id, m).await {
            tracing::warn!(error = %e, partner_id, "could not give back the round's customers (they go at the end of the run)");
        }
        outcome
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
