//! Background jobs (discover, import, ...): a row per job with live progress, written by
//! the task doing the work and polled by the pages. At most one running job of a kind
//! per partner; a job whose process died stops blocking once its heartbeat is stale.

use crate::db::{audit, now_ms, Db};
use crate::error::SqlxResultExt;
use app::error::AppError;
use app::types::companies::{JobKind, JobState, JobView};
use sqlx::any::AnyRow;
use sqlx::Row;
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

    fn stage_name(&self) -> String {
        self.stage.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

/// How a job ended: its summary, or the error that stopped it.
pub type Outcome = Result<String, String>;

const COLUMNS: &str = "job_id, kind, state, stage, done, total, succeeded, failed, message, started_by, started_at, heartbeat_at, finished_at";

fn view(row: &AnyRow) -> Result<JobView, sqlx::Error> {
    let kind: String = row.try_get("kind")?;
    let mut state = JobState::parse(&row.try_get::<String, _>("state")?);
    let mut message: String = row.try_get("message")?;
    let heartbeat: i64 = row.try_get("heartbeat_at")?;
    if state == JobState::Running && now_ms() - heartbeat > STALE_AFTER_MS {
        state = JobState::Failed;
        message = "Interrupted: the server stopped while this was running. Start it again.".into();
    }
    Ok(JobView {
        job_id: row.try_get("job_id")?,
        kind: JobKind::parse(&kind).ok_or_else(|| sqlx::Error::Decode(format!("unknown job kind {kind}").into()))?,
        state,
        stage: row.try_get("stage")?,
        done: row.try_get("done")?,
        total: row.try_get("total")?,
        succeeded: row.try_get("succeeded")?,
        failed: row.try_get("failed")?,
        message,
        started_by: row.try_get("started_by")?,
        started_at: row.try_get("started_at")?,
        finished_at: row.try_get("finished_at")?,
    })
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
        let row = sqlx::query(&format!("select {COLUMNS} from job where partner_id = $1 and job_id = $2"))
            .bind(partner_id)
            .bind(job_id)
            .fetch_optional(&self.db.pool)
            .await
            .internal()?;
        row.map(|r| view(&r)).transpose().internal()?.ok_or(AppError::NotFound)
    }

    /// The partner's latest job of a kind.
    pub async fn latest(&self, partner_id: i64, kind: JobKind) -> Result<Option<JobView>, AppError> {
        let row = sqlx::query(&format!("select {COLUMNS} from job where partner_id = $1 and kind = $2 order by job_id desc limit 1"))
            .bind(partner_id)
            .bind(kind.as_str())
            .fetch_optional(&self.db.pool)
            .await
            .internal()?;
        row.map(|r| view(&r)).transpose().internal()
    }

    /// When the partner's latest successful job of a kind finished.
    pub async fn last_success_at(&self, partner_id: i64, kind: JobKind) -> Result<Option<i64>, AppError> {
        sqlx::query_scalar::<_, Option<i64>>("select max(finished_at) from job where partner_id = $1 and kind = $2 and state = 'done'")
            .bind(partner_id)
            .bind(kind.as_str())
            .fetch_one(&self.db.pool)
            .await
            .internal()
    }

    /// Records a new running job, or says which one is already running.
    async fn create(&self, partner_id: i64, kind: JobKind, actor: &str, stage: &str) -> Result<i64, AppError> {
        let now = now_ms();
        // A job whose process died no longer blocks new ones.
        sqlx::query("update job set state = 'failed', message = 'Interrupted: the server stopped while this was running.', finished_at = $1 where partner_id = $2 and kind = $3 and state = 'running' and heartbeat_at < $4")
            .bind(now)
            .bind(partner_id)
            .bind(kind.as_str())
            .bind(now - STALE_AFTER_MS)
            .execute(&self.db.pool)
            .await
            .internal()?;
        let inserted = sqlx::query_scalar::<_, i64>(
            "insert into job (partner_id, kind, state, stage, started_by, started_at, heartbeat_at) values ($1, $2, 'running', $3, $4, $5, $5) returning job_id",
        )
        .bind(partner_id)
        .bind(kind.as_str())
        .bind(stage)
        .bind(actor)
        .bind(now)
        .fetch_one(&self.db.pool)
        .await;
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
        sqlx::query("update job set stage = $1, done = $2, total = $3, succeeded = $4, failed = $5, heartbeat_at = $6 where job_id = $7 and state = 'running'")
            .bind(progress.stage_name())
            .bind(progress.done.load(Ordering::Relaxed))
            .bind(progress.total.load(Ordering::Relaxed))
            .bind(progress.succeeded.load(Ordering::Relaxed))
            .bind(progress.failed.load(Ordering::Relaxed))
            .bind(now_ms())
            .bind(job_id)
            .execute(&self.db.pool)
            .await
            .map(|_| ())
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
        sqlx::query("update job set state = $1, message = $2, finished_at = $3, heartbeat_at = $3 where job_id = $4")
            .bind(state.as_str())
            .bind(message)
            .bind(now_ms())
            .bind(job_id)
            .execute(&self.db.pool)
            .await?;
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
