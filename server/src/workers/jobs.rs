//! Background jobs (discover, import, ...): a row per job with live progress, written by
//! the task doing the work and polled by the pages. At most one running job of a kind
//! per partner; a job whose process died stops blocking once its heartbeat is stale.

use crate::db::{jobs as store, now_ms, Db};
use crate::error::SqlxResultExt;
use crate::services::history::{Finished, History, MAX_LINES};
use app::error::AppError;
use app::types::companies::{JobKind, JobState, JobView};
use app::types::history::{RunKind, RunLine};
use std::future::Future;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A running job's heartbeat is refreshed this often (with its progress).
const FLUSH_EVERY: Duration = Duration::from_millis(400);
/// A running job not heard from for this long is taken as dead (its process stopped).
pub const STALE_AFTER_MS: i64 = 30_000;

/// Progress shared between the work and the flusher.
#[derive(Debug, Default)]
pub struct Progress {
    stage: Mutex<String>,
    /// Units done in the current stage.
    pub done: AtomicI64,
    /// Units in the current stage (0: unknown).
    pub total: AtomicI64,
    /// Rows that worked.
    pub succeeded: AtomicI64,
    /// Rows that failed.
    pub failed: AtomicI64,
    /// Rows that failed or were skipped, with why (for the History).
    lines: Mutex<Vec<RunLine>>,
    /// Rows left alone on purpose.
    skipped: AtomicI64,
}

impl Progress {
    /// Starts a new stage with its size (0 when unknown).
    pub fn stage(&self, name: &str, total: i64) {
        if let Ok(mut s) = self.stage.lock() {
            *s = name.to_string();
        }
        self.done.store(0, Ordering::Relaxed);
        self.total.store(total, Ordering::Relaxed);
    }

    /// Sets the current stage's counts.
    pub fn set(&self, done: i64, total: i64) {
        self.done.store(done, Ordering::Relaxed);
        self.total.store(total, Ordering::Relaxed);
    }

    /// Copies an Autotask fetch's counters into this progress while `fut` runs.
    pub async fn mirror<T>(&self, fetch: &crate::autotask::FetchProgress, fut: impl Future<Output = T>) -> T {
        let copy = || self.set(fetch.fetched.load(Ordering::Relaxed) as i64, fetch.expected.load(Ordering::Relaxed) as i64);
        tokio::pin!(fut);
        loop {
            tokio::select! {
                out = &mut fut => {
                    copy();
                    return out;
                }
                _ = tokio::time::sleep(Duration::from_millis(150)) => copy(),
            }
        }
    }

    /// Counts a row that failed, and keeps why for the History.
    pub fn fail(&self, line: RunLine) {
        self.failed.fetch_add(1, Ordering::Relaxed);
        self.keep(line);
    }

    /// Counts a row left alone on purpose, and keeps why for the History.
    pub fn skip(&self, line: RunLine) {
        self.skipped.fetch_add(1, Ordering::Relaxed);
        self.keep(line);
    }

    fn keep(&self, line: RunLine) {
        if let Ok(mut lines) = self.lines.lock() {
            if lines.len() < MAX_LINES {
                lines.push(line);
            }
        }
    }

    /// Rows handled, left alone and failed so far.
    pub fn counts(&self) -> (i64, i64, i64) {
        (self.succeeded.load(Ordering::Relaxed), self.skipped.load(Ordering::Relaxed), self.failed.load(Ordering::Relaxed))
    }

    /// The lines kept for the History, taken.
    pub fn take_lines(&self) -> Vec<RunLine> {
        self.lines.lock().map(|mut l| std::mem::take(&mut *l)).unwrap_or_default()
    }

    fn stage_name(&self) -> String {
        self.stage.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

/// How a job ended: its summary, or the error that stopped it.
pub type Outcome = Result<String, String>;

/// The job as shown: a running job not heard from for a while has died.
fn view(row: store::JobRow) -> Result<JobView, sqlx::Error> {
    let heartbeat = row.heartbeat_at;
    let mut view = row.view()?;
    if view.state == JobState::Running && now_ms() - heartbeat > STALE_AFTER_MS {
        view.state = JobState::Failed;
        view.message = "Interrupted: the server stopped while this was running. Start it again.".into();
    }
    Ok(view)
}

/// A job that started: what its end records.
struct Running {
    partner_id: i64,
    job_id: i64,
    kind: JobKind,
    actor: String,
    started_at: i64,
    retry_of: Option<i64>,
}

/// The job table.
#[derive(Clone)]
pub struct Jobs {
    db: Db,
    history: History,
    /// The run whose failed records the next job retries.
    retry_of: Option<i64>,
}

impl Jobs {
    /// Jobs on this database.
    pub fn new(db: Db) -> Self {
        Self { history: History::new(db.clone()), db, retry_of: None }
    }

    /// The same table, for a job that retries the failed records of run `retry_of`.
    pub fn retrying(&self, retry_of: Option<i64>) -> Self {
        Self { retry_of, ..self.clone() }
    }

    /// One job of the partner.
    pub async fn get(&self, partner_id: i64, job_id: i64) -> Result<JobView, AppError> {
        store::get(&self.db, partner_id, job_id).await.internal()?.map(view).transpose().internal()?.ok_or(AppError::NotFound)
    }

    /// The partner's latest job of a kind.
    pub async fn latest(&self, partner_id: i64, kind: JobKind) -> Result<Option<JobView>, AppError> {
        store::latest(&self.db, partner_id, kind).await.internal()?.map(view).transpose().internal()
    }

    /// When the partner's latest successful job of a kind finished.
    pub async fn last_success_at(&self, partner_id: i64, kind: JobKind) -> Result<Option<i64>, AppError> {
        store::last_success_at(&self.db, partner_id, kind).await.internal()
    }

    /// Records a new running job, or says which one is already running.
    async fn create(&self, partner_id: i64, kind: JobKind, actor: &str, stage: &str) -> Result<i64, AppError> {
        let now = now_ms();
        // A job whose process died no longer blocks new ones.
        let interrupted = store::fail_stale(&self.db, Some((partner_id, kind)), now - STALE_AFTER_MS, now).await.internal()?;
        self.record_interrupted(interrupted).await;
        let inserted = store::insert(&self.db, partner_id, kind, stage, actor, now).await;
        match inserted {
            Ok(id) => Ok(id),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                let running = self.latest(partner_id, kind).await?;
                let by = running.map(|j| format!(" (started by {})", j.started_by)).unwrap_or_default();
                Err(AppError::Conflict(format!("{} is already running{by}. Wait for it to finish.", kind.label())))
            }
            Err(e) => Err(crate::error::internal(e)),
        }
    }

    /// Fails every partner's jobs whose process died, each recorded as a failed run
    /// (the hourly pruning pass calls it, so one left by a crash shows without waiting
    /// for the next job of its kind).
    pub async fn sweep_stale(&self, now: i64) -> Result<usize, sqlx::Error> {
        let interrupted = store::fail_stale(&self.db, None, now - STALE_AFTER_MS, now).await?;
        let n = interrupted.len();
        self.record_interrupted(interrupted).await;
        Ok(n)
    }

    async fn record_interrupted(&self, jobs: Vec<store::Interrupted>) {
        for job in jobs {
            let Some(kind) = JobKind::parse(&job.kind) else { continue };
            let summary = format!("{} failed: {}", kind.label(), store::INTERRUPTED);
            let run = Finished {
                kind: RunKind::from(kind),
                started_by: &job.started_by,
                started_at: job.started_at,
                stopped: true,
                done: job.succeeded,
                skipped: 0,
                failed: job.failed,
                summary: &summary,
                retry_of: None,
                log_key: &format!("job_id={}", job.job_id),
            };
            self.history.record(job.partner_id, run, &[]).await;
        }
    }

    async fn flush(&self, job_id: i64, progress: &Progress) -> Result<(), sqlx::Error> {
        let stage = progress.stage_name();
        let counters = store::Counters {
            stage: &stage,
            done: progress.done.load(Ordering::Relaxed),
            total: progress.total.load(Ordering::Relaxed),
            succeeded: progress.succeeded.load(Ordering::Relaxed),
            failed: progress.failed.load(Ordering::Relaxed),
        };
        store::progress(&self.db, job_id, &counters, now_ms()).await
    }

    async fn finish(&self, job: &Running, progress: &Progress, outcome: &Outcome) -> Result<(), sqlx::Error> {
        let Running { partner_id, job_id, kind, ref actor, started_at, retry_of } = *job;
        self.flush(job_id, progress).await?;
        let (state, message) = match outcome {
            Ok(summary) => (JobState::Done, summary.as_str()),
            Err(error) => (JobState::Failed, error.as_str()),
        };
        let summary = match outcome {
            Ok(summary) => summary.clone(),
            Err(error) => format!("{} failed: {error}", kind.label()),
        };
        let run = Finished {
            kind: RunKind::from(kind),
            started_by: actor,
            started_at,
            stopped: outcome.is_err(),
            done: progress.succeeded.load(Ordering::Relaxed),
            skipped: progress.skipped.load(Ordering::Relaxed),
            failed: progress.failed.load(Ordering::Relaxed),
            summary: &summary,
            retry_of,
            log_key: &format!("job_id={job_id}"),
        };
        // In the History before the job reads as ended, so whoever saw it end finds it there.
        self.history.record(partner_id, run, &progress.take_lines()).await;
        store::finish(&self.db, job_id, state, message, now_ms()).await?;
        Ok(())
    }

    /// Starts `work` in the background as a new job and returns it at once. Progress is
    /// written every few hundred milliseconds until the work ends.
    pub async fn spawn<F, Fut>(&self, partner_id: i64, kind: JobKind, actor: &str, first_stage: &str, work: F) -> Result<JobView, AppError>
    where
        F: FnOnce(Arc<Progress>) -> Fut + Send + 'static,
        Fut: Future<Output = Outcome> + Send + 'static,
    {
        let started_at = now_ms();
        let job_id = self.create(partner_id, kind, actor, first_stage).await?;
        let progress = Arc::new(Progress::default());
        progress.stage(first_stage, 0);
        let jobs = self.clone();
        let running = Running { partner_id, job_id, kind, actor: actor.to_string(), started_at, retry_of: self.retry_of };
        tokio::spawn(async move {
            let feature = match kind {
                JobKind::Discover | JobKind::Import => crate::autotask::usage::Feature::Discovery,
                JobKind::ContactFetch | JobKind::ContactImport => crate::autotask::usage::Feature::Contacts,
                JobKind::Sync => crate::autotask::usage::Feature::Sync,
            };
            // Every log line of the work carries the job's id: its run's page names it.
            let span = tracing::info_span!("job", job_id, kind = kind.as_str(), partner_id);
            let work = tokio::spawn(tracing::Instrument::instrument(crate::autotask::usage::for_feature(feature, work(progress.clone())), span));
            tokio::pin!(work);
            let outcome = loop {
                tokio::select! {
                    result = &mut work => break result.unwrap_or_else(|e| Err(format!("internal error: {e}"))),
                    _ = tokio::time::sleep(FLUSH_EVERY) => {
                        if let Err(e) = jobs.flush(job_id, &progress).await {
                            tracing::warn!(job_id, error = %e, "could not record job progress");
                        }
                    }
                }
            };
            if let Err(e) = jobs.finish(&running, &progress, &outcome).await {
                tracing::error!(job_id, error = %e, "could not record the end of a job");
            }
        });
        self.get(partner_id, job_id).await
    }
}
