//! Background jobs (`job`): a row per job with its live progress. A partial unique index
//! allows one running job per partner and kind.

use super::Db;
use app::types::companies::{JobKind, JobState, JobView};

/// A job row, as stored.
#[derive(Debug, sqlx::FromRow)]
pub struct JobRow {
    job_id: i64,
    kind: String,
    state: String,
    stage: String,
    done: i64,
    total: i64,
    succeeded: i64,
    failed: i64,
    message: String,
    started_by: String,
    started_at: i64,
    /// When the job's process was last heard from.
    pub heartbeat_at: i64,
    finished_at: Option<i64>,
}

impl JobRow {
    /// The job as the pages show it (a kind no longer known reads as a decode error).
    pub fn view(self) -> Result<JobView, sqlx::Error> {
        let kind = JobKind::parse(&self.kind).ok_or_else(|| sqlx::Error::Decode(format!("unknown job kind {}", self.kind).into()))?;
        Ok(JobView {
            job_id: self.job_id,
            kind,
            state: JobState::parse(&self.state),
            stage: self.stage,
            done: self.done,
            total: self.total,
            succeeded: self.succeeded,
            failed: self.failed,
            message: self.message,
            started_by: self.started_by,
            started_at: self.started_at,
            finished_at: self.finished_at,
        })
    }
}

const COLUMNS: &str = "job_id, kind, state, stage, done, total, succeeded, failed, message, started_by, started_at, heartbeat_at, finished_at";

/// One job of the partner.
pub async fn get(db: &Db, partner_id: i64, job_id: i64) -> Result<Option<JobRow>, sqlx::Error> {
    sqlx::query_as(&format!("select {COLUMNS} from job where partner_id = $1 and job_id = $2"))
        .bind(partner_id)
        .bind(job_id)
        .fetch_optional(&db.pool)
        .await
}

/// The partner's latest job of a kind.
pub async fn latest(db: &Db, partner_id: i64, kind: JobKind) -> Result<Option<JobRow>, sqlx::Error> {
    sqlx::query_as(&format!("select {COLUMNS} from job where partner_id = $1 and kind = $2 order by job_id desc limit 1"))
        .bind(partner_id)
        .bind(kind.as_str())
        .fetch_optional(&db.pool)
        .await
}

/// When the partner's latest successful job of a kind finished.
pub async fn last_success_at(db: &Db, partner_id: i64, kind: JobKind) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("select max(finished_at) from job where partner_id = $1 and kind = $2 and state = 'done'")
        .bind(partner_id)
        .bind(kind.as_str())
        .fetch_one(&db.pool)
        .await
}

/// A job failed because its process died while it ran.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Interrupted {
    /// The job.
    pub job_id: i64,
    /// Whose.
    pub partner_id: i64,
    /// Its kind (stored form).
    pub kind: String,
    /// Who started it.
    pub started_by: String,
    /// When.
    pub started_at: i64,
    /// Records it had handled.
    pub succeeded: i64,
    /// Records that had failed.
    pub failed: i64,
}

/// What an interrupted job says.
pub const INTERRUPTED: &str = "Interrupted: the server stopped while this was running.";

/// Fails the running jobs not heard from since `stale_before` (their process died): one
/// partner's of one kind, or every partner's (`None`). Returns them, for the History.
pub async fn fail_stale(db: &Db, scope: Option<(i64, JobKind)>, stale_before: i64, now: i64) -> Result<Vec<Interrupted>, sqlx::Error> {
    let (partner, kind) = scope.map_or((-1, ""), |(p, k)| (p, k.as_str()));
    sqlx::query_as(
        "update job set state = 'failed', message = $5, finished_at = $1 \
         where ($2 < 0 or (partner_id = $2 and kind = $3)) and state = 'running' and heartbeat_at < $4 \
         returning job_id, partner_id, kind, started_by, started_at, succeeded, failed",
    )
    .bind(now)
    .bind(partner)
    .bind(kind)
    .bind(stale_before)
    .bind(INTERRUPTED)
    .fetch_all(&db.pool)
    .await
}

/// Records a new running job; a unique violation means one of its kind is running.
pub async fn insert(db: &Db, partner_id: i64, kind: JobKind, stage: &str, actor: &str, now: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "insert into job (partner_id, kind, state, stage, started_by, started_at, heartbeat_at) values ($1, $2, 'running', $3, $4, $5, $5) returning job_id",
    )
    .bind(partner_id)
    .bind(kind.as_str())
    .bind(stage)
    .bind(actor)
    .bind(now)
    .fetch_one(&db.pool)
    .await
}

/// A running job's counters.
#[derive(Debug, Clone)]
pub struct Counters<'a> {
    /// The current stage.
    pub stage: &'a str,
    /// Units done in it.
    pub done: i64,
    /// Units in it.
    pub total: i64,
    /// Rows that worked.
    pub succeeded: i64,
    /// Rows that failed.
    pub failed: i64,
}

/// Writes a running job's progress and heartbeat.
pub async fn progress(db: &Db, job_id: i64, c: &Counters<'_>, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update job set stage = $1, done = $2, total = $3, succeeded = $4, failed = $5, heartbeat_at = $6 where job_id = $7 and state = 'running'",
    )
    .bind(c.stage)
    .bind(c.done)
    .bind(c.total)
    .bind(c.succeeded)
    .bind(c.failed)
    .bind(now)
    .bind(job_id)
    .execute(&db.pool)
    .await
    .map(|_| ())
}

/// Ends a job with its state and message.
pub async fn finish(db: &Db, job_id: i64, state: JobState, message: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("update job set state = $1, message = $2, finished_at = $3, heartbeat_at = $3 where job_id = $4")
        .bind(state.as_str())
        .bind(message)
        .bind(now)
        .bind(job_id)
        .execute(&db.pool)
        .await
        .map(|_| ())
}
