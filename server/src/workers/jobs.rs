//! Background jobs (discover, import, ...): a row per job with live progress, written by
//! the task doing the work and polled by the pages. At most one running job of a kind
//! per partner; a job whose process died stops blocking once its heartbeat is stale.

use crate::db::{audit, jobs as store, now_ms, Db};
use crate::error::SqlxResultExt;
use app::error::AppError;
use app::types::companies::{JobKind, JobState, JobView};
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

/// The job table.
#[derive(Clone)]
pub struct Jobs {
    db: Db,
}

impl Jobs {
    /// Jobs on this database.
    pub fn new(db: Db) -> Self {
        Self { db }
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
        store::fail_stale(&self.db, partner_id, kind, now - STALE_AFTER_MS, now).await.internal()?;
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

    async fn finish(
        &self,
        partner_id: i64,
        job_id: i64,
        kind: JobKind,
        actor: &str,
        progress: &Progress,
        outcome: &Outcome,
    ) -> Result<(), sqlx::Error> {
        self.flush(job_id, progress).await?;
        let (state, message) = match outcome {
            Ok(summary) => (JobState::Done, summary.as_str()),
            Err(error) => (JobState::Failed, error.as_str()),
        };
        store::finish(&self.db, job_id, state, message, now_ms()).await?;
        let summary = match outcome {
            Ok(summary) => summary.clone(),
            Err(error) => format!("{} failed: {error}", kind.label()),
        };
        let _ = audit::record(&self.db.pool, partner_id, actor, kind.as_str(), &summary).await;
        Ok(())
    }

    /// Starts `work` in the background as a new job and returns it at once. Progress is
    /// written every few hundred milliseconds until the work ends.
    pub async fn spawn<F, Fut>(&self, partner_id: i64, kind: JobKind, actor: &str, first_stage: &str, work: F) -> Result<JobView, AppError>
    where
        F: FnOnce(Arc<Progress>) -> Fut + Send + 'static,
        Fut: Future<Output = Outcome> + Send + 'static,
    {
        let job_id = self.create(partner_id, kind, actor, first_stage).await?;
        let progress = Arc::new(Progress::default());
        progress.stage(first_stage, 0);
        let jobs = self.clone();
        let actor = actor.to_string();
        tokio::spawn(async move {
            let work = tokio::spawn(work(progress.clone()));
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
            if let Err(e) = jobs.finish(partner_id, job_id, kind, &actor, &progress, &outcome).await {
                tracing::error!(job_id, error = %e, "could not record the end of a job");
            }
        });
        self.get(partner_id, job_id).await
    }
}
