//! History: features record each run here when it ends (`History::record`), and the
//! History page reads runs and their lines, settings changes and a customer's timeline
//! (`HistoryService`). Recording never fails the work it records: a run that could not be
//! written is logged instead. Old history is pruned by `retention`.

mod api_usage;
mod export;
pub mod retention;
mod timeline;

pub use export::{export, run_csv};

use crate::db::audit::{self, Filter as ChangeFilter};
use crate::db::history::{self as store, Filter, NewRun};
use crate::db::{customers, now_ms, Db};
use crate::error::SqlxResultExt;
use app::error::AppError;
use app::services::HistoryService;
use app::types::history::{
    ChangeArea, ChangePage, ChangeQuery, RetryPlan, RunDetail, RunKind, RunLine, RunOutcome, RunPage, RunQuery, Timeline, Trigger, CHANGES_PER_PAGE,
    RUNS_PER_PAGE, RUN_LINES_SHOWN,
};
use app::types::CurrentUser;
use std::sync::atomic::{AtomicU64, Ordering};

/// Lines kept per run: enough for any partner's import, bounded for a runaway one.
pub const MAX_LINES: usize = 20_000;

/// Runs recorded by this process, and the time recording them took (what the History
/// adds to the work it records: `bench events` and `bench billing` print it).
static RECORDED: AtomicU64 = AtomicU64::new(0);
static RECORDING_MICROS: AtomicU64 = AtomicU64::new(0);

/// How many runs this process recorded, and how long that took altogether.
pub fn recording_spent() -> (u64, std::time::Duration) {
    (RECORDED.load(Ordering::Relaxed), std::time::Duration::from_micros(RECORDING_MICROS.load(Ordering::Relaxed)))
}

/// A fresh key for the server log lines of a run that is not a job or a push: the span
/// that carries it, and the words its run's page shows ("run_key=Qm9vdHM").
pub fn log_span(kind: RunKind) -> (String, tracing::Span) {
    let key = crate::crypto::random_token(6);
    let span = tracing::info_span!("run", run_key = %key, kind = kind.as_str());
    (format!("run_key={key}"), span)
}

/// The History store.
#[derive(Debug, Clone)]
pub struct History {
    db: Db,
}

/// A run that ended, as the feature that ran it describes it.
#[derive(Debug, Clone)]
pub struct Finished<'a> {
    /// What it did.
    pub kind: RunKind,
    /// Who or what started it.
    pub started_by: &'a str,
    /// When it started.
    pub started_at: i64,
    /// It stopped early with an error (the summary says which).
    pub stopped: bool,
    /// Records handled.
    pub done: i64,
    /// Records left alone on purpose.
    pub skipped: i64,
    /// Records that failed.
    pub failed: i64,
    /// What happened, in words.
    pub summary: &'a str,
    /// The run whose failed records this one retried.
    pub retry_of: Option<i64>,
    /// What its server log lines carry ("job_id=42"), or empty.
    pub log_key: &'a str,
}

impl History {
    /// History on this database.
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// The name of the customer a page is filtered on (another partner's is not found).
    async fn customer_name(&self, partner_id: i64, customer_id: Option<i64>) -> Result<Option<String>, AppError> {
        match customer_id {
            Some(id) => Ok(Some(customers::name(&self.db, partner_id, id).await.internal()?.ok_or(AppError::NotFound)?)),
            None => Ok(None),
        }
    }

    /// Records a run that ended now, with the records it skipped or failed (the first
    /// [`MAX_LINES`] of them). Returns its id, or None when it could not be written.
    pub async fn record(&self, partner_id: i64, run: Finished<'_>, lines: &[RunLine]) -> Option<i64> {
        let started = std::time::Instant::now();
        let recorded = self.write(partner_id, run, lines).await;
        RECORDED.fetch_add(1, Ordering::Relaxed);
        RECORDING_MICROS.fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        recorded
    }

    async fn write(&self, partner_id: i64, run: Finished<'_>, lines: &[RunLine]) -> Option<i64> {
        let new = NewRun {
            partner_id,
            kind: run.kind,
            started_by: run.started_by,
            started_at: run.started_at,
            finished_at: now_ms(),
            outcome: RunOutcome::of(run.stopped, run.done, run.failed),
            done: run.done,
            skipped: run.skipped,
            failed: run.failed,
            summary: run.summary,
            retry_of: run.retry_of,
            log_key: run.log_key,
        };
        match store::insert(&self.db, &new, &lines[..lines.len().min(MAX_LINES)]).await {
            Ok(id) => {
                let seconds = (new.finished_at - new.started_at).max(0) as f64 / 1000.0;
                crate::metrics::run_finished(run.kind.as_str(), new.outcome.as_str(), seconds);
                tracing::info!(run_id = id, partner_id, kind = run.kind.as_str(), outcome = new.outcome.as_str(), "run recorded");
                Some(id)
            }
            Err(e) => {
                tracing::error!(partner_id, kind = run.kind.as_str(), error = %e, "could not record a run in the history");
                None
            }
        }
    }
}

/// Milliseconds at the start of a `YYYY-MM-DD` day (UTC), or why it is not a date.
fn day_start(field: &str, day: &str) -> Result<Option<i64>, AppError> {
    let day = day.trim();
    if day.is_empty() {
        return Ok(None);
    }
    let date = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .map_err(|_| AppError::invalid(field, format!("\u{201c}{day}\u{201d} is not a date: use YYYY-MM-DD, for example 2026-12-03.")))?;
    Ok(date.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp_millis()))
}

/// A From/To pair of days as the start of the first and the end of the last, checked.
fn days(from: &str, to: &str) -> Result<(Option<i64>, Option<i64>), AppError> {
    let from_ms = day_start("from", from)?;
    let until_ms = day_start("to", to)?.map(|ms| ms + 86_400_000);
    if let (Some(from), Some(until)) = (from_ms, until_ms) {
        if until <= from {
            return Err(AppError::invalid("to", "The end date is before the start date: swap them."));
        }
    }
    Ok((from_ms, until_ms))
}

/// Trims a page read one row long (newest first) to `per_page` and says where the older
/// and newer pages start.
fn cut<T>(rows: &mut Vec<T>, per_page: i64, before: Option<i64>, after: Option<i64>, id: impl Fn(&T) -> i64) -> (Option<i64>, Option<i64>) {
    let more = rows.len() as i64 > per_page;
    let going_newer = after.is_some() && before.is_none();
    if more {
        if going_newer {
            rows.remove(0);
        } else {
            rows.pop();
        }
    }
    let (first, last) = (rows.first().map(&id), rows.last().map(&id));
    // Older: beyond the last row, if this page was cut short or came from a newer page.
    let older = if (!going_newer && more) || (going_newer && last.is_some()) { last } else { None };
    // Newer: before the first row, if this page is not the newest.
    let newer = if (going_newer && more) || (!going_newer && before.is_some() && first.is_some()) { first } else { None };
    (older, newer)
}

/// The query as a store filter, or the first field to fix.
fn filter(q: &RunQuery) -> Result<Filter, AppError> {
    let pick = |field: &str, v: &str, what: &str, ok: bool| -> Result<(), AppError> {
        if v.is_empty() || ok {
            Ok(())
        } else {
            Err(AppError::invalid(field, format!("\u{201c}{v}\u{201d} is not a {what}.")))
        }
    };
    pick("kind", &q.kind, "kind of run", RunKind::parse(&q.kind).is_some())?;
    pick("outcome", &q.outcome, "run outcome (ok, partial or failed)", RunOutcome::parse(&q.outcome).is_some())?;
    pick("trigger", &q.trigger, "way a run starts", Trigger::parse(&q.trigger).is_some())?;
    let (from_ms, until_ms) = days(&q.from, &q.to)?;
    Ok(Filter {
        kind: RunKind::parse(&q.kind),
        outcome: RunOutcome::parse(&q.outcome),
        trigger: Trigger::parse(&q.trigger),
        customer_id: q.customer_id,
        from_ms,
        until_ms,
        search: q.search.trim().to_lowercase(),
        before: q.before,
        after: q.after,
    })
}

#[async_trait::async_trait]
impl HistoryService for History {
    async fn runs(&self, partner_id: i64, query: RunQuery) -> Result<RunPage, AppError> {
        let f = filter(&query)?;
        // One more than a page says whether there is another page beyond it.
        let mut rows = store::list(&self.db, partner_id, &f, RUNS_PER_PAGE + 1).await.internal()?;
        let (older, newer) = cut(&mut rows, RUNS_PER_PAGE, f.before, f.after, |r| r.run_id);
        let customer_name = self.customer_name(partner_id, query.customer_id).await?;
        Ok(RunPage { rows, older, newer, customer_name })
    }

    async fn changes(&self, partner_id: i64, query: ChangeQuery) -> Result<ChangePage, AppError> {
        if !query.area.is_empty() && ChangeArea::parse(&query.area).is_none() {
            return Err(AppError::invalid("area", format!("\u{201c}{}\u{201d} is not a part of the settings.", query.area)));
        }
        let (from_ms, until_ms) = days(&query.from, &query.to)?;
        let f = ChangeFilter {
            area: ChangeArea::parse(&query.area),
            customer_id: query.customer_id,
            from_ms,
            until_ms,
            search: query.search.trim().to_lowercase(),
            before: query.before,
            after: query.after,
        };
        let mut rows = audit::list(&self.db, partner_id, &f, CHANGES_PER_PAGE + 1).await.internal()?;
        let (older, newer) = cut(&mut rows, CHANGES_PER_PAGE, f.before, f.after, |r| r.change_id);
        let customer_name = self.customer_name(partner_id, query.customer_id).await?;
        Ok(ChangePage { rows, older, newer, customer_name })
    }

    async fn timeline(&self, partner_id: i64, customer_id: i64, before: Option<i64>) -> Result<Timeline, AppError> {
        let customer_name = customers::name(&self.db, partner_id, customer_id).await.internal()?.ok_or(AppError::NotFound)?;
        timeline::page(&self.db, partner_id, customer_id, customer_name, before).await.internal()
    }

    async fn retention_days(&self, partner_id: i64) -> Result<i64, AppError> {
        store::retention::days(&self.db, partner_id).await.internal()
    }

    async fn set_retention_days(&self, actor: &CurrentUser, days: i64) -> Result<i64, AppError> {
        retention::set(&self.db, actor, days).await
    }

    async fn api_usage(&self, partner_id: i64, hours: i64) -> Result<app::types::history::ApiUsage, AppError> {
        api_usage::page(&self.db, partner_id, hours, now_ms()).await.internal()
    }

    async fn run(&self, partner_id: i64, run_id: i64) -> Result<RunDetail, AppError> {
        let run = store::get(&self.db, partner_id, run_id).await.internal()?.ok_or(AppError::NotFound)?;
        let (lines, lines_total) = store::lines(&self.db, partner_id, run_id, RUN_LINES_SHOWN).await.internal()?;
        let retried_by = store::retried_by(&self.db, partner_id, run_id).await.internal()?;
        let retryable = run.kind.retryable() && run.to_retry() > 0 && retried_by.is_none();
        Ok(RunDetail { run, retried_by, retryable, lines, lines_total })
    }

    async fn retry_plan(&self, partner_id: i64, run_id: i64) -> Result<RetryPlan, AppError> {
        let run = store::get(&self.db, partner_id, run_id).await.internal()?.ok_or(AppError::NotFound)?;
        if !run.kind.retryable() {
            return Err(AppError::Conflict(format!(
                "A {} cannot be retried record by record: run it again from the {} page.",
                run.kind.label().to_lowercase(),
                run.kind.page().1
            )));
        }
        if let Some(by) = store::retried_by(&self.db, partner_id, run_id).await.internal()? {
            return Err(AppError::Conflict(format!(
                "Run {by} already retried this run's failed records: open it, and retry that one if it failed too."
            )));
        }
        let (lines, _) = store::lines(&self.db, partner_id, run_id, MAX_LINES as i64).await.internal()?;
        let failed: Vec<&RunLine> = lines.iter().filter(|l| l.is_failed() || run.kind.retries_skipped()).collect();
        let ids: Vec<i64> = failed.iter().filter_map(|l| l.record_id).collect();
        if ids.is_empty() {
            return Err(AppError::Conflict("Nothing failed in this run, so there is nothing to retry.".into()));
        }
        // A push names its lines by customer and product; imports by company or contact.
        let (ids, lines) = match run.kind {
            RunKind::Push => (Vec::new(), failed.iter().filter_map(|l| Some((l.record_id?, l.record_key.clone()))).collect()),
            _ => (ids, Vec::new()),
        };
        Ok(RetryPlan { run_id, kind: run.kind, ids, lines })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_checked_and_the_end_day_is_included() {
        let q = RunQuery { from: "2026-12-03".into(), to: "2026-12-03".into(), ..RunQuery::default() };
        let f = filter(&q).expect("valid");
        assert_eq!(f.until_ms.zip(f.from_ms).map(|(u, f)| u - f), Some(86_400_000));
        let bad = filter(&RunQuery { from: "3/12/2026".into(), ..RunQuery::default() }).expect_err("not a date");
        assert!(bad.field_message("from").is_some_and(|m| m.contains("YYYY-MM-DD")), "{bad:?}");
        let swapped = filter(&RunQuery { from: "2026-12-04".into(), to: "2026-12-03".into(), ..RunQuery::default() }).expect_err("swapped");
        assert!(swapped.field_message("to").is_some(), "{swapped:?}");
        assert!(filter(&RunQuery { kind: "nope".into(), ..RunQuery::default() }).is_err());
    }
}
