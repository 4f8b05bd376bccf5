//! The active customer and contract sync from Autotask (seed 004), one way: a round reads
//! what changed since the high-water marks (`companies.rs`, `contracts.rs`) and writes
//! the followed companies, their customers and contracts under the rules in `rules.rs`.
//! Rounds run as jobs (Sync now, or `workers::sync` on the polling schedule), so one
//! round per partner runs at a time, on any number of instances.

pub mod callouts;
mod companies;
mod contracts;
pub mod instant;
mod page;
pub mod rules;
pub mod signature;

use crate::autotask::AutotaskClient;
use crate::db::sync::{self as store, Stored};
use crate::db::{now_ms, Db};
use crate::error::SqlxResultExt;
use crate::services::connection::SqlAutotaskSettings;
use crate::workers::jobs::{Jobs, Outcome, Progress};
use app::error::AppError;
use app::services::SyncService;
use app::types::companies::{JobKind, JobView};
use app::types::sync::{ClientPage, ClientQuery, ClientRow, InstantUpdates, RoundOutcome, SyncSettings, SyncSettingsInput, SyncTrigger};
use app::types::CurrentUser;
use std::collections::HashSet;
use std::sync::Arc;

/// A round is skipped while more than this share of the hourly budget is used.
pub const BUDGET_SHARE: f64 = 0.5;

/// `SyncService` over the database and the partner's Autotask.
#[derive(Clone)]
pub struct SqlSync {
    db: Db,
    settings: SqlAutotaskSettings,
    jobs: Jobs,
    instant: WebhookConfig,
    history: crate::services::history::History,
}

/// What instant updates (the Autotask webhook) need.
#[derive(Clone)]
pub struct WebhookConfig {
    /// `TASKBRIDGE_PUBLIC_URL`: callouts go to its `/hooks/autotask/`.
    pub public_url: Option<String>,
    /// Seals the webhook secrets.
    pub key: Arc<crate::crypto::MasterKey>,
    /// Wakes the callout worker when a callout is stored.
    pub wake: Arc<tokio::sync::Notify>,
}

impl SqlSync {
    /// The sync on this database, through the partner's saved connection.
    pub fn new(db: Db, settings: SqlAutotaskSettings, jobs: Jobs, instant: WebhookConfig) -> Self {
        Self { history: crate::services::history::History::new(db.clone()), db, settings, jobs, instant }
    }

    /// Waits until a callout is stored (or `most` passes).
    pub async fn callout_stored(&self, most: std::time::Duration) {
        let _ = tokio::time::timeout(most, self.instant.wake.notified()).await;
    }

    /// Starts a round as a job (`actor` says who or what started it).
    pub async fn start_round(&self, partner_id: i64, actor: &str, trigger: SyncTrigger) -> Result<JobView, AppError> {
        let this = self.clone();
        self.jobs
            .spawn(partner_id, JobKind::Sync, actor, "Reading changes from Autotask", move |progress: Arc<Progress>| async move {
                this.round(partner_id, trigger, &progress).await
            })
            .await
    }

    /// One round: the job's work. Its outcome is also kept with the settings.
    async fn round(&self, partner_id: i64, trigger: SyncTrigger, progress: &Progress) -> Outcome {
        let stored = store::get(&self.db, partner_id).await.map_err(|e| format!("database: {e}"))?;
        let client = match self.settings.client(partner_id).await {
            Ok(c) => c,
            Err(p) => return self.finish(partner_id, RoundOutcome::Failed, p.message, (None, None)).await,
        };
        match run(&self.db, &client, partner_id, &stored, trigger, progress).await {
            Ok(r) => self.finish(partner_id, r.outcome, r.message, r.marks).await,
            Err(message) => self.finish(partner_id, RoundOutcome::Failed, message, (None, None)).await,
        }
    }

    async fn finish(&self, partner_id: i64, outcome: RoundOutcome, message: String, marks: (Option<String>, Option<String>)) -> Outcome {
        store::finish_round(&self.db, partner_id, outcome, &message, (marks.0.as_deref(), marks.1.as_deref()), now_ms())
            .await
            .map_err(|e| format!("database: {e}"))?;
        match outcome {
            RoundOutcome::Failed => Err(message),
            _ => Ok(message),
        }
    }
}

/// How a round went.
struct Round {
    outcome: RoundOutcome,
    message: String,
    /// The marks reached (companies, contracts).
    marks: (Option<String>, Option<String>),
}

/// [`run_for`] just `companies`, through the partner's saved connection (History's Retry
/// failed, webhook callouts).
async fn run_companies(
    db: &Db,
    settings: &SqlAutotaskSettings,
    partner_id: i64,
    trigger: SyncTrigger,
    progress: &Progress,
    companies: &[i64],
) -> Result<Round, String> {
    let stored = store::get(db, partner_id).await.map_err(|e| format!("database: {e}"))?;
    let client = settings.client(partner_id).await.map_err(|p| p.message)?;
    run_for(db, &client, partner_id, &stored, trigger, progress, Some(companies)).await
}

/// A round's reads and writes.
async fn run(db: &Db, client: &AutotaskClient, partner_id: i64, stored: &Stored, trigger: SyncTrigger, progress: &Progress) -> Result<Round, String> {
    run_for(db, client, partner_id, stored, trigger, progress, None).await
}

/// [`run`], or with `only` just those companies (Retry, webhook callouts), leaving the
/// marks. A callout re-reads its companies; their contracts are read when they start to
/// qualify (contract changes themselves have no webhooks: polling brings them).
async fn run_for(
    db: &Db,
    client: &AutotaskClient,
    partner_id: i64,
    stored: &Stored,
    trigger: SyncTrigger,
    progress: &Progress,
    only: Option<&[i64]>,
) -> Result<Round, String> {
    let input = &stored.settings.input;
    if !input.customers && !input.contracts {
        return Ok(Round {
            outcome: RoundOutcome::Skipped,
            message: "Sync is off: switch on a sync type on the Setup page.".into(),
            marks: (None, None),
        });
    }
    let autotask = |e: crate::autotask::AutotaskError| format!("Autotask: {e}");
    if only.is_none() {
        let budget = client.threshold().await.map_err(autotask)?;
        let used = budget.current_timeframe_request_count as f64 / budget.external_request_threshold.max(1) as f64;
        if used > BUDGET_SHARE {
            return Ok(Round {
                outcome: RoundOutcome::Skipped,
                message: format!(
                    "Skipped: {} of the {} calls Autotask allows an hour are used (over half); the next round tries again.",
                    app::format::thousands(budget.current_timeframe_request_count),
                    app::format::thousands(budget.external_request_threshold)
                ),
                marks: (None, None),
            });
        }
    }
    let now = now_ms();
    progress.stage("Reading changed companies", 0);
    // A round's changed contracts do not depend on its companies: read them alongside.
    let early_contracts = async {
        match (input.contracts, only) {
            (true, None) => contracts::changed(client, stored.contracts_mark.as_deref(), None).await.map(Some).map_err(autotask),
            _ => Ok(None),
        }
    };
    let companies_part = async {
        let ((customer_type, labels), read) = match only {
            Some(ids) => tokio::try_join!(companies::company_types(client), companies::read_these(client, ids, input.customers)).map_err(autotask)?,
            None => {
                let (customer_type, labels) = companies::company_types(client).await.map_err(autotask)?;
                let read = companies::read(client, stored.companies_mark.as_deref(), customer_type, input.customers).await.map_err(autotask)?;
                ((customer_type, labels), read)
            }
        };
        let cx = companies::Context { db, partner_id, customer_type, labels: &labels, customers_on: input.customers, trigger, now };
        let applied = companies::apply(&cx, &read, progress).await.map_err(|e| format!("database: {e}"))?;
        Ok::<_, String>((applied, read.mark))
    };
    let ((applied, companies_seen), early) = tokio::try_join!(companies_part, early_contracts)?;
    let mut message = companies::summary(&applied.counts);
    let (failed, mut contracts_mark) = (applied.counts.failed + applied.counts.skipped, None);
    let contracts_of = match (only, trigger) {
        (Some(_), SyncTrigger::Webhook) => Some(applied.newly_qualifying.as_slice()),
        (only, _) => only,
    };
    if input.contracts && contracts_of.is_none_or(|ids| !ids.is_empty()) {
        progress.stage("Reading changed contracts", 0);
        let qualifying: HashSet<i64> =
            crate::db::sync::clients::qualifying_ids(db, partner_id).await.map_err(|e| format!("database: {e}"))?.into_iter().collect();
        let found = match early {
            Some(found) => found,
            None => contracts::changed(client, stored.contracts_mark.as_deref(), contracts_of).await.map_err(autotask)?,
        };
        let add_newly = only.is_none() && stored.contracts_mark.is_some();
        let read = contracts::read(client, found, add_newly, &applied.newly_qualifying, &qualifying, now).await.map_err(autotask)?;
        let counts = contracts::apply(db, partner_id, &read, trigger, now, progress).await.map_err(|e| format!("database: {e}"))?;
        message.push_str(&format!("; {}", contracts::summary(&counts)));
        contracts_mark = mark_after(stored.contracts_mark.as_deref(), read.mark, now);
    }
    message.push('.');
    let companies_mark = mark_after(stored.companies_mark.as_deref(), companies_seen, now);
    let marks = if only.is_some() { (None, None) } else { (companies_mark, if input.contracts { contracts_mark } else { None }) };
    Ok(Round { outcome: if failed > 0 { RoundOutcome::Partial } else { RoundOutcome::Ok }, message, marks })
}

/// The mark after a round: the newest change seen, never earlier than the old mark. A first
/// (full) read saw everything older than its start, so its mark is at least `now`, when the
/// read began (the overlap covers the skew between this server's clock and Autotask's).
fn mark_after(old: Option<&str>, seen: Option<String>, now: i64) -> Option<String> {
    let started = old.is_none().then(|| rules::normal_time(&app::format::iso_utc(now))).flatten();
    rules::later(rules::later(old.map(str::to_string), seen), started)
}

#[async_trait::async_trait]
impl SyncService for SqlSync {
    async fn settings(&self, partner_id: i64) -> Result<SyncSettings, AppError> {
        Ok(store::get(&self.db, partner_id).await.internal()?.settings)
    }

    async fn save_settings(&self, actor: &CurrentUser, input: SyncSettingsInput) -> Result<SyncSettings, AppError> {
        input.validate().map_err(|m| AppError::invalid("every_minutes", m))?;
        let shown = |customers: bool, contracts: bool, every: i64| serde_json::json!({"Active customers": customers, "Active customer contracts": contracts, "Every (minutes)": every});
        let was = self.settings(actor.partner_id).await?;
        let changes = app::types::history::diff(
            &shown(was.input.customers, was.input.contracts, was.input.every_minutes),
            &shown(input.customers, input.contracts, input.every_minutes),
        );
        store::save(&self.db, actor, &input, now_ms()).await.internal()?;
        let what = format!(
            "Sync settings: Active customers {}, Active customer contracts {}, every {} min",
            if input.customers { "on" } else { "off" },
            if input.contracts { "on" } else { "off" },
            input.every_minutes
        );
        let change = crate::db::audit::Change { customer_id: None, changes: &changes };
        let _ = crate::db::audit::record_change(&self.db.pool, actor.partner_id, &actor.email, "sync_settings", &what, &change).await;
        self.settings(actor.partner_id).await
    }

    async fn clients(&self, partner_id: i64, query: ClientQuery) -> Result<ClientPage, AppError> {
        page::clients(&self.db, partner_id, query).await
    }

    async fn sync_now(&self, actor: &CurrentUser) -> Result<JobView, AppError> {
        let input = store::get(&self.db, actor.partner_id).await.internal()?.settings.input;
        if !input.customers && !input.contracts {
            return Err(AppError::invalid("sync", "Switch on Active customers or Active customer contracts on the Setup page first."));
        }
        self.settings.client(actor.partner_id).await.map_err(|p| AppError::invalid("connection", p.message))?;
        match self.start_round(actor.partner_id, &actor.email, SyncTrigger::Manual).await {
            // A round already running (the schedule's, or another admin's) is the one to follow.
            Err(AppError::Conflict(m)) => match self.jobs.latest(actor.partner_id, JobKind::Sync).await? {
                Some(job) if job.state == app::types::companies::JobState::Running => Ok(job),
                _ => Err(AppError::Conflict(m)),
            },
            other => other,
        }
    }

    async fn retry(&self, actor: &CurrentUser, company_id: i64) -> Result<ClientRow, AppError> {
        let stored = store::get(&self.db, actor.partner_id).await.internal()?;
        if crate::db::sync::clients::companies(&self.db, actor.partner_id, &[company_id]).await.internal()?.is_empty() {
            return Err(AppError::NotFound);
        }
        let client = self.settings.client(actor.partner_id).await.map_err(|p| AppError::invalid("connection", p.message))?;
        let progress = Progress::default();
        run_for(&self.db, &client, actor.partner_id, &stored, SyncTrigger::Manual, &progress, Some(&[company_id]))
            .await
            .map_err(|m| AppError::invalid("retry", m))?;
        page::one(&self.db, actor.partner_id, company_id).await?.ok_or(AppError::NotFound)
    }

    async fn retry_companies(&self, actor: &CurrentUser, company_ids: Vec<i64>, retry_of: Option<i64>) -> Result<JobView, AppError> {
        self.settings.client(actor.partner_id).await.map_err(|p| AppError::invalid("connection", p.message))?;
        let (db, settings, partner_id) = (self.db.clone(), self.settings.clone(), actor.partner_id);
        let stage = "Reading the companies again";
        self.jobs
            .retrying(retry_of)
            .spawn(partner_id, JobKind::Sync, &actor.email, stage, move |progress: Arc<Progress>| async move {
                run_companies(&db, &settings, partner_id, SyncTrigger::Manual, &progress, &company_ids).await.map(|r| r.message)
            })
            .await
    }

    async fn instant_updates(&self, partner_id: i64) -> Result<InstantUpdates, AppError> {
        self.instant_status(partner_id).await
    }

    async fn enable_instant_updates(&self, actor: &CurrentUser, callout_base: String) -> Result<InstantUpdates, AppError> {
        self.register(actor, &callout_base).await
    }

    async fn disable_instant_updates(&self, actor: &CurrentUser) -> Result<InstantUpdates, AppError> {
        self.unregister(actor).await
    }
}
