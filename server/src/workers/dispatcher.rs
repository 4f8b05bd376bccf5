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

use crate::autotask::client::AutotaskClient;
use crate::autotask::entities::Ticket;
use crate::autotask::error::AutotaskError;
use crate::autotask::query::{Filter, Query};
use crate::db::connection::SqlAutotaskSettings;
use crate::db::dynamic::{bind_all, Arg};
use crate::db::{now_ms, Db};
use crate::services::tickets::{self, ResolveError, Resolved, TicketFacts};
use app::types::tickets::{event_label, is_recovery, recovers, Outcome, TicketPicklists, TicketSettings};
use sqlx::Row;
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
    event_types: HashSet<String>,
    customers: HashSet<i64>,
    complete_on_recovery: bool,
}

impl Rule {
    fn applies_to(&self, customer_id: i64) -> bool {
        self.customers.is_empty() || self.customers.contains(&customer_id)
    }

    fn covers(&self, event_type: &str) -> bool {
        self.all_types || self.event_types.contains(event_type) || recovers(event_type).iter().any(|f| self.event_types.contains(*f))
    }
}

/// An event waiting for dispatch (the log's row).
type Ev = app::types::tickets::EventRow;

/// An open incident in memory during a round.
#[derive(Debug, Clone)]
struct Inc {
    id: i64,
    key: String,
    ticket_id: Option<i64>,
    ticket_number: Option<String>,
    created_status: Option<i64>,
    create_attempted: bool,
    opening_event_id: i64,
    company_id: Option<i64>,
    complete_on_recovery: bool,
    last_note_at: Option<i64>,
}

fn incident_key(customer_id: i64, device: &str, event_type: &str) -> String {
    format!("{customer_id}|{}|{event_type}", device.trim().to_lowercase())
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

/// A round's context for one partner.
struct Round<'a> {
    d: &'a Dispatcher,
    partner_id: i64,
    settings: TicketSettings,
    rules: Vec<Rule>,
    cache: &'a mut PartnerCache,
    resolved: Option<Resolved>,
    open: HashMap<String, Inc>,
    repeats: HashMap<i64, Repeats>,
    companies: HashMap<i64, Option<i64>>,
    now: i64,
    lease_renewed: std::time::Instant,
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

    fn is_stopped(&self) -> bool {
        self.stopped.load(std::sync::atomic::Ordering::SeqCst)
    }

    async fn run(self: Arc<Self>) {
        loop {
            match self.partners_with_work().await {
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

    /// Partners with pending events or notes due, not paused, and not leased elsewhere.
    async fn partners_with_work(&self) -> Result<Vec<i64>, sqlx::Error> {
        let now = now_ms();
        let rows = sqlx::query(
            "select p.partner_id from partner p where (exists (select 1 from event e where e.partner_id = p.partner_id and e.dispatch_state = 'pending') \
               or exists (select 1 from incident i where i.partner_id = p.partner_id and i.note_due_at <= $1 and i.state = 'open')) \
             and not exists (select 1 from dispatch_lease l where l.partner_id = p.partner_id and (l.retry_at > $1 or (l.expires_at > $1 and l.holder <> $2)))",
        )
        .bind(now)
        .bind(&self.holder)
        .fetch_all(&self.db.pool)
        .await?;
        rows.iter().map(|r| r.try_get("partner_id")).collect()
    }

    async fn acquire(&self, partner_id: i64) -> Result<bool, sqlx::Error> {
        let now = now_ms();
        let until = now + self.opts.lease.as_millis() as i64;
        let done = sqlx::query(
            "insert into dispatch_lease (partner_id, holder, expires_at) values ($1, $2, $3) \
             on conflict (partner_id) do update set holder = excluded.holder, expires_at = excluded.expires_at \
             where dispatch_lease.holder = excluded.holder or dispatch_lease.expires_at < $4",
        )
        .bind(partner_id)
        .bind(&self.holder)
        .bind(until)
        .bind(now)
        .execute(&self.db.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn release(&self, partner_id: i64, outcome: Result<(), &Pause>, failures: u32) {
        let now = now_ms();
        let result = match outcome {
            Ok(()) => {
                sqlx::query("update dispatch_lease set expires_at = 0, retry_at = null, last_error = null where partner_id = $1 and holder = $2")
                    .bind(partner_id)
                    .bind(&self.holder)
                    .execute(&self.db.pool)
                    .await
            }
            Err(p) => {
                let base = if p.config { Duration::from_secs(60) } else { self.opts.first_backoff };
                let wait = crate::autotask::retry::exponential(base, self.opts.max_backoff, failures.saturating_sub(1).min(10));
                tracing::warn!(partner_id, error = %p.message, retry_in = ?wait, "ticket dispatch paused");
                sqlx::query("update dispatch_lease set expires_at = 0, retry_at = $1, last_error = $2, last_error_at = $3 where partner_id = $4 and holder = $5")
                    .bind(now + wait.as_millis() as i64)
                    .bind(&p.message)
                    .bind(now)
                    .bind(partner_id)
                    .bind(&self.holder)
                    .execute(&self.db.pool)
                    .await
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
        let settings = tickets::load_settings(&self.db, partner_id).await?;
        let rules = self.rules(partner_id).await?;
        let mut round = Round {
            d: self,
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
        };
        let events = round.pending().await?;
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
        let rows = sqlx::query("select subscribe_ok, all_types, event_types, customer_ids, complete_on_recovery from notification_rule where partner_id = $1 and action = 'ticket'")
            .bind(partner_id)
            .fetch_all(&self.db.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Rule {
                    subscribe_ok: r.try_get::<i64, _>("subscribe_ok")? != 0,
                    all_types: r.try_get::<i64, _>("all_types")? != 0,
                    event_types: r.try_get::<String, _>("event_types")?.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect(),
                    customers: r.try_get::<String, _>("customer_ids")?.split(',').filter_map(|s| s.trim().parse().ok()).collect(),
                    complete_on_recovery: r.try_get::<i64, _>("complete_on_recovery")? != 0,
                })
            })
            .collect()
    }
}

impl<'a> Round<'a> {
    async fn pending(&self) -> Result<Vec<Ev>, sqlx::Error> {
        let sql = format!("{} where e.partner_id = $1 and e.dispatch_state = 'pending' order by e.event_id limit $2", tickets::EVENT_SELECT);
        let rows = sqlx::query(&sql).bind(self.partner_id).bind(self.d.opts.batch).fetch_all(&self.d.db.pool).await?;
        rows.iter().map(tickets::event_row).collect()
    }

    /// Loads the open incidents any of these events could touch.
    async fn load_open(&mut self, events: &[Ev]) -> Result<(), sqlx::Error> {
        let mut keys: HashSet<String> = HashSet::new();
        for e in events {
            if is_recovery(&e.event_type) {
                for f in recovers(&e.event_type) {
                    keys.insert(incident_key(e.customer_id, &e.device, f));
                }
            }
            keys.insert(incident_key(e.customer_id, &e.device, &e.event_type));
        }
        let keys: Vec<String> = keys.into_iter().collect();
        for chunk in keys.chunks(400) {
            let mut args = vec![Arg::Int(self.partner_id)];
            args.extend(chunk.iter().map(|k| Arg::Text(k.clone())));
            let params: Vec<String> = (2..=args.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "select incident_id, incident_key, ticket_id, ticket_number, created_status, create_attempted, opening_event_id, company_id, write_marker, \
                 complete_on_recovery, last_note_at from incident where partner_id = $1 and state = 'open' and incident_key in ({})",
                params.join(", ")
            );
            for r in bind_all(sqlx::query(&sql), &args).fetch_all(&self.d.db.pool).await? {
                let inc = inc_from_row(&r)?;
                self.open.insert(inc.key.clone(), inc);
            }
        }
        Ok(())
    }

    fn cache(&mut self) -> &mut PartnerCache {
        self.cache
    }

    /// The partner's client from the registry (the one every feature shares). A new one
    /// (the connection was saved) drops the cached picklists, which may have changed.
    async fn client(&mut self) -> Result<Arc<AutotaskClient>, Pause> {
        let client = self.d.connections.client(self.partner_id).await.map_err(|p| Pause { message: p.message, config: true })?;
        let same = self.cache().client.as_ref().is_some_and(|c| Arc::ptr_eq(c, &client));
        if !same {
            self.cache().client = Some(client.clone());
            self.cache().picklists = None;
        }
        Ok(client)
    }

    async fn resolved(&mut self) -> Result<Resolved, Pause> {
        if let Some(r) = &self.resolved {
            return Ok(r.clone());
        }
        let ttl = self.d.opts.picklist_ttl;
        let lists = match &self.cache().picklists {
            Some((at, lists)) if at.elapsed() < ttl => lists.clone(),
            _ => {
                let client = self.client().await?;
                let lists = tickets::fetch_picklists(&client).await?;
                self.cache().picklists = Some((std::time::Instant::now(), lists.clone()));
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
        let c = tickets::company_of(&self.d.db, self.partner_id, customer_id).await?;
        self.companies.insert(customer_id, c);
        Ok(c)
    }

    /// Records an event's outcome.
    async fn finish(&self, ev: &Ev, outcome: Outcome, note: &str, inc: Option<&Inc>) -> Result<(), sqlx::Error> {
        sqlx::query("update event set dispatch_state = $1, dispatch_note = $2, incident_id = $3, ticket_id = $4, ticket_number = $5, dispatched_at = $6 where event_id = $7")
            .bind(outcome.as_str())
            .bind(note)
            .bind(inc.map(|i| i.id))
            .bind(inc.and_then(|i| i.ticket_id))
            .bind(inc.and_then(|i| i.ticket_number.clone()))
            .bind(now_ms())
            .bind(ev.event_id)
            .execute(&self.d.db.pool)
            .await?;
        Ok(())
    }

    async fn handle(&mut self, ev: &Ev) -> Result<(), Pause> {
        let rules: Vec<Rule> = self.rules.iter().filter(|r| r.applies_to(ev.customer_id)).cloned().collect();
        if is_recovery(&ev.event_type) {
            let keys: Vec<String> =
                recovers(&ev.event_type).iter().map(|f| incident_key(ev.customer_id, &ev.device, f)).filter(|k| self.open.contains_key(k)).collect();
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
            let informational = rules.iter().any(|r| r.subscribe_ok && r.covers(&ev.event_type));
            if !informational {
                let why = if rules.is_empty() {
                    "No \u{201c}Open an Autotask ticket\u{201d} notification applies to this customer."
                } else {
                    "An OK event with no open ticket to complete (OK events are not subscribed)."
                };
                self.finish(ev, Outcome::Ignored, why, None).await?;
                return Ok(());
            }
        } else if !rules.iter().any(|r| r.covers(&ev.event_type)) {
            let why = if rules.is_empty() {
                "No \u{201c}Open an Autotask ticket\u{201d} notification applies to this customer.".to_string()
            } else {
                format!("No notification subscribes to \u{201c}{}\u{201d} events.", event_label(&ev.event_type))
            };
            self.finish(ev, Outcome::Ignored, &why, None).await?;
            return Ok(());
        }
        let key = incident_key(ev.customer_id, &ev.device, &ev.event_type);
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
        let complete = rules.iter().filter(|r| r.covers(&ev.event_type)).any(|r| r.complete_on_recovery);
        let now = self.now;
        let id: i64 = sqlx::query(
            "insert into incident (partner_id, customer_id, device, event_type, incident_key, state, company_id, opening_event_id, opened_at, last_event_at, complete_on_recovery) \
             values ($1, $2, $3, $4, $5, 'open', $6, $7, $8, $8, $9) returning incident_id",
        )
        .bind(self.partner_id)
        .bind(ev.customer_id)
        .bind(&ev.device)
        .bind(&ev.event_type)
        .bind(&key)
        .bind(company_id)
        .bind(ev.event_id)
        .bind(now)
        .bind(i64::from(complete))
        .fetch_one(&self.d.db.pool)
        .await?
        .try_get("incident_id")?;
        let inc = Inc {
            id,
            key: key.clone(),
            ticket_id: None,
            ticket_number: None,
            created_status: None,
            create_attempted: false,
            opening_event_id: ev.event_id,
            company_id: Some(company_id),
            complete_on_recovery: complete,
            last_note_at: None,
        };
        self.open.insert(key, inc.clone());
        self.ensure_ticket(inc, ev).await
    }

    /// Opens the incident's ticket exactly once.
    async fn ensure_ticket(&mut self, mut inc: Inc, ev: &Ev) -> Result<(), Pause> {
        let resolved = self.resolved().await?;
        let client = self.client().await?;
        let external = tickets::external_id(inc.id);
        let mut found: Option<(i64, Option<String>)> = None;
        if inc.create_attempted {
            let hits: Vec<Ticket> =
                client.query(&Query::new([Filter::eq("externalID", external.clone())]).include(&["id", "ticketNumber", "status"])).await?;
            found = hits.into_iter().min_by_key(|t| t.id).map(|t| (t.id, t.ticket_number));
        }
        let (ticket_id, number) = match found {
            Some(hit) => hit,
            None => {
                sqlx::query("update incident set create_attempted = 1 where incident_id = $1").bind(inc.id).execute(&self.d.db.pool).await?;
                inc.create_attempted = true;
                if let Some(i) = self.open.get_mut(&inc.key) {
                    i.create_attempted = true;
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
                    self.settings.note_interval_minutes,
                    self.now,
                );
                match client.create("Tickets", &body).await {
                    // The number is read for many tickets at once after the batch.
                    Ok(id) => (id, None),
                    Err(AutotaskError::InvalidData(reason)) => {
                        // Autotask refused this ticket's data: record why; later failures try again.
                        sqlx::query("update incident set state = 'failed', problem = $1, closed_at = $2 where incident_id = $3")
                            .bind(&reason)
                            .bind(now_ms())
                            .bind(inc.id)
                            .execute(&self.d.db.pool)
                            .await?;
                        self.open.remove(&inc.key);
                        self.finish(ev, Outcome::Failed, &format!("Autotask refused the ticket: {reason}"), None).await?;
                        return Ok(());
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        };
        let created_at = now_ms();
        inc.ticket_id = Some(ticket_id);
        inc.ticket_number = number.clone();
        inc.created_status = Some(resolved.status_new);
        inc.last_note_at = Some(created_at);
        let mut tx = self.d.db.begin().await?;
        sqlx::query("update incident set ticket_id = $1, ticket_number = $2, created_status = $3, ticket_created_at = $4, last_note_at = $4 where incident_id = $5")
            .bind(ticket_id)
            .bind(&number)
            .bind(resolved.status_new)
            .bind(created_at)
            .bind(inc.id)
            .execute(&mut *tx)
            .await?;
        let note = "Opened a ticket for this incident.".to_string();
        sqlx::query("update event set dispatch_state = 'opened', dispatch_note = $1, incident_id = $2, ticket_id = $3, ticket_number = $4, dispatched_at = $5 where event_id = $6")
            .bind(&note)
            .bind(inc.id)
            .bind(ticket_id)
            .bind(&number)
            .bind(created_at)
            .bind(ev.event_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.open.insert(inc.key.clone(), inc);
        Ok(())
    }

    /// Writes the buffered repeats: counts on the incident, outcome on each event.
    async fn flush_repeats(&mut self) -> Result<(), sqlx::Error> {
        if self.repeats.is_empty() {
            return Ok(());
        }
        let repeats = std::mem::take(&mut self.repeats);
        let mut tx = self.d.db.begin().await?;
        let now = now_ms();
        for (incident_id, r) in repeats {
            let n = r.event_ids.len() as i64;
            sqlx::query(
                "update incident set repeats = repeats + $1, pending_repeats = pending_repeats + $1, last_event_at = $2, \
                 note_due_at = coalesce(note_due_at, $3) where incident_id = $4",
            )
            .bind(n)
            .bind(r.last_event_at)
            .bind(r.due_at)
            .bind(incident_id)
            .execute(&mut *tx)
            .await?;
            let note = format!(
                "Repeat of the open incident: counted for the next note on ticket {}.",
                r.ticket_number.clone().or(r.ticket_id.map(|t| t.to_string())).unwrap_or_default()
            );
            for chunk in r.event_ids.chunks(400) {
                let params: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 6)).collect();
                let sql = format!(
                    "update event set dispatch_state = 'coalesced', dispatch_note = $1, incident_id = $2, ticket_id = $3, ticket_number = $4, dispatched_at = $5 where event_id in ({})",
                    params.join(", ")
                );
                let mut q = sqlx::query(&sql).bind(&note).bind(incident_id).bind(r.ticket_id).bind(r.ticket_number.clone()).bind(now);
                for id in chunk {
                    q = q.bind(*id);
                }
                q.execute(&mut *tx).await?;
            }
        }
        tx.commit().await
    }

    /// The repeats not yet noted on an incident: (count, first and last time, latest message).
    async fn unnoted(&self, incident_id: i64) -> Result<(i64, i64, i64, String, i64), sqlx::Error> {
        let r = sqlx::query(
            "select count(*) as n, min(occurred_at) as first_at, max(occurred_at) as last_at, max(event_id) as last_id from event where incident_id = $1 and dispatch_state = 'coalesced'",
        )
        .bind(incident_id)
        .fetch_one(&self.d.db.pool)
        .await?;
        let n: i64 = r.try_get("n")?;
        if n == 0 {
            return Ok((0, 0, 0, String::new(), 0));
        }
        let last_id: i64 = r.try_get("last_id")?;
        let message: String =
            sqlx::query("select message from event where event_id = $1").bind(last_id).fetch_one(&self.d.db.pool).await?.try_get("message")?;
        Ok((n, r.try_get("first_at")?, r.try_get("last_at")?, message, last_id))
    }

    /// The marker of a note being written (the stored one: a retry within the round
    /// must see what the failed attempt recorded).
    async fn marker(&self, incident_id: i64) -> Result<Option<String>, sqlx::Error> {
        sqlx::query("select write_marker from incident where incident_id = $1")
            .bind(incident_id)
            .fetch_one(&self.d.db.pool)
            .await?
            .try_get("write_marker")
    }

    /// Reads the numbers of new tickets in one query (people search and link by them).
    /// A failure only delays the numbers: they are read again after the next batch.
    async fn fill_numbers(&mut self) {
        if let Err(e) = self.try_fill_numbers().await {
            tracing::debug!(error = %e.message, "ticket numbers not read yet");
        }
    }

    async fn try_fill_numbers(&mut self) -> Result<(), Pause> {
        let rows = sqlx::query("select incident_id, ticket_id from incident where partner_id = $1 and ticket_id is not null and ticket_number is null order by incident_id limit 500")
            .bind(self.partner_id)
            .fetch_all(&self.d.db.pool)
            .await?;
        if rows.is_empty() {
            return Ok(());
        }
        let mut by_ticket: HashMap<i64, i64> = HashMap::new();
        for r in &rows {
            by_ticket.insert(r.try_get("ticket_id")?, r.try_get("incident_id")?);
        }
        let client = self.client().await?;
        let ids: Vec<i64> = by_ticket.keys().copied().collect();
        let tickets: Vec<Ticket> = client.query(&Query::new([Filter::is_in("id", ids)]).include(&["id", "ticketNumber"])).await?;
        let mut tx = self.d.db.begin().await?;
        for t in tickets {
            let (Some(number), Some(incident_id)) = (t.ticket_number, by_ticket.get(&t.id)) else { continue };
            sqlx::query("update incident set ticket_number = $1 where incident_id = $2").bind(&number).bind(incident_id).execute(&mut *tx).await?;
            sqlx::query("update event set ticket_number = $1 where incident_id = $2 and ticket_number is null")
                .bind(&number)
                .bind(incident_id)
                .execute(&mut *tx)
                .await?;
            if let Some(inc) = self.open.values_mut().find(|i| i.id == *incident_id) {
                inc.ticket_number = Some(number);
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Renews the partner's lease well before it lapses (a slow Autotask can make a
    /// batch outlast it); false when another instance has taken the partner over.
    async fn keep_lease(&mut self) -> Result<bool, sqlx::Error> {
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

    async fn has_pending_events(&self) -> Result<bool, sqlx::Error> {
        Ok(sqlx::query("select event_id from event where partner_id = $1 and dispatch_state = 'pending' limit 1")
            .bind(self.partner_id)
            .fetch_optional(&self.d.db.pool)
            .await?
            .is_some())
    }

    /// Notes whose interval has passed. New events go first: returns true when it
    /// stopped early for them (more work is left).
    async fn notes_due(&mut self) -> Result<bool, Pause> {
        let rows = sqlx::query(
            "select incident_id, incident_key, ticket_id, ticket_number, created_status, create_attempted, opening_event_id, company_id, write_marker, \
             complete_on_recovery, last_note_at from incident where partner_id = $1 and state = 'open' and note_due_at <= $2 and ticket_id is not null order by note_due_at limit 100",
        )
        .bind(self.partner_id)
        .bind(now_ms())
        .fetch_all(&self.d.db.pool)
        .await?;
        for r in rows {
            if self.has_pending_events().await? || self.d.is_stopped() || !self.keep_lease().await? {
                return Ok(true);
            }
            let inc = inc_from_row(&r)?;
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

    async fn repeat_note(&mut self, inc: Inc) -> Result<(), Pause> {
        let Some(ticket_id) = inc.ticket_id else { return Ok(()) };
        let resolved = self.resolved().await?;
        let client = self.client().await?;
        let ticket = client.get::<Ticket>(ticket_id).await?;
        if ticket.as_ref().is_none_or(|t| tickets::completed_in_autotask(t, &resolved)) {
            // Someone completed it in Autotask: this incident is over, and its unnoted
            // repeats are new failures: they go back to the queue and open a new ticket.
            let mut tx = self.d.db.begin().await?;
            sqlx::query(
                "update incident set state = 'closed_in_autotask', closed_at = $1, note_due_at = null, pending_repeats = 0 where incident_id = $2",
            )
            .bind(now_ms())
            .bind(inc.id)
            .execute(&mut *tx)
            .await?;
            sqlx::query("update event set dispatch_state = 'pending', dispatch_note = null, incident_id = null, ticket_id = null, ticket_number = null where incident_id = $1 and dispatch_state = 'coalesced'")
                .bind(inc.id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            self.open.remove(&inc.key);
            self.d.wake.notify_one();
            return Ok(());
        }
        let (n, first_at, last_at, message, last_id) = self.unnoted(inc.id).await?;
        if n > 0 {
            let marker = format!("taskbridge-note-{}-{last_id}", inc.id);
            let retrying = self.marker(inc.id).await?.as_deref() == Some(marker.as_str());
            if !retrying {
                sqlx::query("update incident set write_marker = $1 where incident_id = $2")
                    .bind(&marker)
                    .bind(inc.id)
                    .execute(&self.d.db.pool)
                    .await?;
            }
            let times = if n == 1 { "once more".to_string() } else { format!("{n} more times") };
            let text = format!(
                "The failure happened {times} between {} and {}.\nLatest message: {}",
                app::format::utc_minutes(first_at),
                app::format::utc_minutes(last_at),
                if message.is_empty() { "(none)" } else { &message }
            );
            tickets::note_once(&client, ticket_id, &marker, retrying, &format!("Repeated {n}\u{00d7}"), &text).await?;
        }
        let now = now_ms();
        let mut tx = self.d.db.begin().await?;
        sqlx::query("update incident set pending_repeats = 0, note_due_at = null, last_note_at = $1, write_marker = null where incident_id = $2")
            .bind(now)
            .bind(inc.id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("update event set dispatch_state = 'noted', dispatch_note = $1 where incident_id = $2 and dispatch_state = 'coalesced' and event_id <= $3")
            .bind(format!("Added to ticket {} in a note ({n} {}).", inc.ticket_number.clone().unwrap_or_else(|| ticket_id.to_string()), if n == 1 { "repeat" } else { "repeats" }))
            .bind(inc.id)
            .bind(last_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        if let Some(i) = self.open.get_mut(&inc.key) {
            i.last_note_at = Some(now);
        }
        Ok(())
    }

    /// The recovery of an open incident: complete the ticket, unless a technician took
    /// it over or completed it, or the rule keeps tickets open.
    async fn recover(&mut self, inc: Inc, ev: &Ev) -> Result<(Outcome, String, Inc), Pause> {
        let now = now_ms();
        let Some(ticket_id) = inc.ticket_id else {
            sqlx::query("update incident set state = 'completed', closed_at = $1, close_event_id = $2 where incident_id = $3")
                .bind(now)
                .bind(ev.event_id)
                .bind(inc.id)
                .execute(&self.d.db.pool)
                .await?;
            return Ok((Outcome::Ignored, "Recovered before a ticket was opened.".into(), inc));
        };
        let number = inc.ticket_number.clone().unwrap_or_else(|| ticket_id.to_string());
        let resolved = self.resolved().await?;
        let client = self.client().await?;
        let ticket = client.get::<Ticket>(ticket_id).await?;
        let marker = format!("taskbridge-recovery-{}-{}", inc.id, ev.event_id);
        let retrying = self.marker(inc.id).await?.as_deref() == Some(marker.as_str());
        let (state, outcome, note) = match &ticket {
            None => ("closed_in_autotask", Outcome::NotSent, format!("Ticket {number} no longer exists in Autotask; nothing to complete.")),
            // This recovery was attempted before and the ticket is complete now: our own
            // completing write landed, though its answer was lost on the way back.
            Some(t) if retrying && inc.complete_on_recovery && tickets::completed_in_autotask(t, &resolved) => {
                ("completed", Outcome::Completed, format!("Completed ticket {number}."))
            }
            Some(t) if tickets::completed_in_autotask(t, &resolved) => {
                ("closed_in_autotask", Outcome::NotSent, format!("Ticket {number} was already completed in Autotask; left as it is."))
            }
            Some(t) => {
                let (n, _, _, _, _) = self.unnoted(inc.id).await?;
                let repeats = if n > 0 { format!(" It had failed {n} more time(s) since the last note.") } else { String::new() };
                let text = format!(
                    "{} reported at {}: {}.{repeats}",
                    event_label(&ev.event_type),
                    app::format::utc_minutes(ev.occurred_at),
                    if ev.message.is_empty() { "no message" } else { &ev.message }
                );
                if !retrying {
                    sqlx::query("update incident set write_marker = $1 where incident_id = $2")
                        .bind(&marker)
                        .bind(inc.id)
                        .execute(&self.d.db.pool)
                        .await?;
                }
                if tickets::taken_over(t, inc.created_status) || !inc.complete_on_recovery {
                    tickets::note_once(&client, ticket_id, &marker, retrying, "Recovered", &text).await?;
                    let why = if inc.complete_on_recovery { "a technician took it over" } else { "the notification leaves tickets open on recovery" };
                    ("handed_off", Outcome::Noted, format!("Recovery noted on ticket {number}; not completed: {why}."))
                } else {
                    tickets::note_once(&client, ticket_id, &marker, retrying, "Resolved by Taskbridge", &text).await?;
                    client.patch("Tickets", &serde_json::json!({"id": ticket_id, "status": resolved.status_complete, "resolution": text})).await?;
                    ("completed", Outcome::Completed, format!("Completed ticket {number}."))
                }
            }
        };
        let mut tx = self.d.db.begin().await?;
        sqlx::query("update incident set state = $1, closed_at = $2, close_event_id = $3, note_due_at = null, pending_repeats = 0, write_marker = null where incident_id = $4")
            .bind(state)
            .bind(now)
            .bind(ev.event_id)
            .bind(inc.id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("update event set dispatch_state = 'noted', dispatch_note = $1 where incident_id = $2 and dispatch_state = 'coalesced'")
            .bind(format!("Counted in the recovery note on ticket {number}."))
            .bind(inc.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok((outcome, note, inc))
    }
}

fn inc_from_row(r: &sqlx::any::AnyRow) -> Result<Inc, sqlx::Error> {
    Ok(Inc {
        id: r.try_get("incident_id")?,
        key: r.try_get("incident_key")?,
        ticket_id: r.try_get("ticket_id")?,
        ticket_number: r.try_get("ticket_number")?,
        created_status: r.try_get("created_status")?,
        create_attempted: r.try_get::<i64, _>("create_attempted")? != 0,
        opening_event_id: r.try_get("opening_event_id")?,
        company_id: r.try_get("company_id")?,
        complete_on_recovery: r.try_get::<i64, _>("complete_on_recovery")? != 0,
        last_note_at: r.try_get("last_note_at")?,
    })
}
