//! History's store (`run`, `run_line`): a run is written once, when it ends, with the
//! records it skipped or failed; the History page reads it newest first by cursor, so a
//! page costs the same at a million runs as at ten.

pub mod api_calls;
pub mod retention;
pub mod timeline;

use super::dynamic::{bind_all, bind_all_as, like_escape, Arg, Keyset};
use super::Db;
use app::types::history::{RunKind, RunLine, RunOutcome, RunRow, Trigger};

/// A finished run, ready to record.
#[derive(Debug, Clone)]
pub struct NewRun<'a> {
    /// Whose.
    pub partner_id: i64,
    /// What it did.
    pub kind: RunKind,
    /// Who or what started it ("alice@example.com", "schedule", "api token NAME").
    pub started_by: &'a str,
    /// When it started.
    pub started_at: i64,
    /// When it ended.
    pub finished_at: i64,
    /// How it ended.
    pub outcome: RunOutcome,
    /// Records handled.
    pub done: i64,
    /// Records left alone on purpose.
    pub skipped: i64,
    /// Records that failed.
    pub failed: i64,
    /// What happened, in words.
    pub summary: &'a str,
    /// The run it retried.
    pub retry_of: Option<i64>,
    /// What its server log lines carry ("job_id=42"), or empty.
    pub log_key: &'a str,
}

/// Lines written per statement (5 binds each).
const LINE_BATCH: usize = 200;

/// The most of a run's words kept for search.
pub const SEARCH_CHARS: usize = 8_000;

/// A run's searchable words, lower-case: its summary, who started it, and each distinct
/// customer, record and reason of its lines, up to [`SEARCH_CHARS`] characters.
pub fn search_text(summary: &str, started_by: &str, lines: &[RunLine]) -> String {
    let mut text = format!("{summary} {started_by}");
    let mut seen = std::collections::HashSet::new();
    for line in lines {
        if text.len() >= SEARCH_CHARS * 4 {
            break;
        }
        let words = format!("{} {} {}", line.customer_name, line.record, line.reason);
        if seen.insert(words.clone()) {
            text.push(' ');
            text.push_str(&words);
        }
    }
    text.to_lowercase().chars().take(SEARCH_CHARS).collect()
}

/// Records a run and its lines in one transaction; returns its id.
pub async fn insert(db: &Db, run: &NewRun<'_>, lines: &[RunLine]) -> Result<i64, sqlx::Error> {
    let mut tx = db.begin().await?;
    let run_id: i64 = sqlx::query_scalar(
        "insert into run (partner_id, kind, trigger_kind, started_by, started_at, finished_at, outcome, done, skipped, failed, summary, retry_of, log_key, search_text) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) returning run_id",
    )
    .bind(run.partner_id)
    .bind(run.kind.as_str())
    .bind(Trigger::of_actor(run.started_by).as_str())
    .bind(run.started_by)
    .bind(run.started_at)
    .bind(run.finished_at)
    .bind(run.outcome.as_str())
    .bind(run.done)
    .bind(run.skipped)
    .bind(run.failed)
    .bind(run.summary)
    .bind(run.retry_of)
    .bind(run.log_key)
    .bind(search_text(run.summary, run.started_by, lines))
    .fetch_one(&mut *tx)
    .await?;
    for chunk in lines.chunks(LINE_BATCH) {
        let mut args = Vec::with_capacity(chunk.len() * 5);
        let mut values = Vec::with_capacity(chunk.len());
        for line in chunk {
            let n = args.len();
            // Ids are integers written as literals; only the text is bound.
            let id = |v: Option<i64>| v.map_or_else(|| "null".to_string(), |id| id.to_string());
            let (customer, record_id) = (id(line.customer_id), id(line.record_id));
            values.push(format!(
                "({run_id}, {}, ${}, {customer}, ${}, ${}, ${}, {record_id}, ${})",
                run.partner_id,
                n + 1,
                n + 2,
                n + 3,
                n + 4,
                n + 5
            ));
            for text in [&line.outcome, &line.customer_name, &line.record, &line.reason, &line.record_key] {
                args.push(Arg::Text(text.clone()));
            }
        }
        let sql = format!(
            "insert into run_line (run_id, partner_id, outcome, customer_id, customer_name, record, reason, record_id, record_key) values {}",
            values.join(", ")
        );
        bind_all(sqlx::query(&sql), &args).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(run_id)
}

/// A run as stored.
#[derive(Debug, sqlx::FromRow)]
struct Row {
    run_id: i64,
    kind: String,
    trigger_kind: String,
    started_by: String,
    started_at: i64,
    finished_at: i64,
    outcome: String,
    done: i64,
    skipped: i64,
    failed: i64,
    summary: String,
    retry_of: Option<i64>,
    log_key: String,
}

impl Row {
    fn view(self) -> Result<RunRow, sqlx::Error> {
        let bad = |what: &str, v: &str| sqlx::Error::Decode(format!("unknown run {what} {v}").into());
        Ok(RunRow {
            run_id: self.run_id,
            kind: RunKind::parse(&self.kind).ok_or_else(|| bad("kind", &self.kind))?,
            trigger: Trigger::parse(&self.trigger_kind).ok_or_else(|| bad("trigger", &self.trigger_kind))?,
            started_by: self.started_by,
            started_at: self.started_at,
            finished_at: self.finished_at,
            outcome: RunOutcome::parse(&self.outcome).ok_or_else(|| bad("outcome", &self.outcome))?,
            done: self.done,
            skipped: self.skipped,
            failed: self.failed,
            summary: self.summary,
            retry_of: self.retry_of,
            log_key: self.log_key,
        })
    }
}

const COLUMNS: &str =
    "r.run_id, r.kind, r.trigger_kind, r.started_by, r.started_at, r.finished_at, r.outcome, r.done, r.skipped, r.failed, r.summary, r.retry_of, r.log_key";

/// What to list, already checked (dates as milliseconds).
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// One kind.
    pub kind: Option<RunKind>,
    /// One outcome.
    pub outcome: Option<RunOutcome>,
    /// One trigger.
    pub trigger: Option<Trigger>,
    /// Runs with a line about this customer.
    pub customer_id: Option<i64>,
    /// Started at or after.
    pub from_ms: Option<i64>,
    /// Started before.
    pub until_ms: Option<i64>,
    /// Lower-case words.
    pub search: String,
    /// Older than this run.
    pub before: Option<i64>,
    /// Newer than this run.
    pub after: Option<i64>,
}

/// Up to `limit` runs of the partner, newest first (with `after`: the `limit` just newer
/// than it, still returned newest first).
pub async fn list(db: &Db, partner_id: i64, f: &Filter, limit: i64) -> Result<Vec<RunRow>, sqlx::Error> {
    let mut q = Keyset::new(&format!("select {COLUMNS} from run r where r.partner_id = $1"), partner_id);
    let text = |v: Option<&str>| v.map(|v| Arg::Text(v.to_string()));
    q.and("r.started_at >= ?", f.from_ms.map(Arg::Int))
        .and("r.started_at < ?", f.until_ms.map(Arg::Int))
        .and("r.run_id < ?", f.before.map(Arg::Int))
        .and("r.run_id > ?", f.after.map(Arg::Int))
        .and(
            "exists (select 1 from run_line l where l.partner_id = r.partner_id and l.customer_id = ? and l.run_id = r.run_id)",
            f.customer_id.map(Arg::Int),
        )
        .and("r.kind = ?", text(f.kind.map(|k| k.as_str())))
        .and("r.outcome = ?", text(f.outcome.map(|o| o.as_str())))
        .and("r.trigger_kind = ?", text(f.trigger.map(|t| t.as_str())));
    let words = (!f.search.is_empty()).then(|| Arg::Text(format!("%{}%", like_escape(&f.search))));
    q.and("r.search_text like ? escape '\\'", words);
    let newer = f.after.is_some() && f.before.is_none();
    let (sql, args) = q.finish("r.run_id", newer, limit);
    let rows: Vec<Row> = bind_all_as(sqlx::query_as(&sql), &args).fetch_all(&db.pool).await?;
    let mut runs = rows.into_iter().map(Row::view).collect::<Result<Vec<_>, _>>()?;
    if newer {
        runs.reverse();
    }
    Ok(runs)
}

/// The partner's latest runs that failed or partly failed, newest first.
pub async fn problems(db: &Db, partner_id: i64, limit: i64) -> Result<Vec<RunRow>, sqlx::Error> {
    let rows: Vec<Row> =
        sqlx::query_as(&format!("select {COLUMNS} from run r where r.partner_id = $1 and r.outcome <> 'ok' order by r.run_id desc limit $2"))
            .bind(partner_id)
            .bind(limit)
            .fetch_all(&db.pool)
            .await?;
    rows.into_iter().map(Row::view).collect()
}

/// The partner's latest run of one kind.
pub async fn latest(db: &Db, partner_id: i64, kind: RunKind) -> Result<Option<RunRow>, sqlx::Error> {
    let row: Option<Row> =
        sqlx::query_as(&format!("select {COLUMNS} from run r where r.partner_id = $1 and r.kind = $2 order by r.run_id desc limit 1"))
            .bind(partner_id)
            .bind(kind.as_str())
            .fetch_optional(&db.pool)
            .await?;
    row.map(Row::view).transpose()
}

/// One run of the partner.
pub async fn get(db: &Db, partner_id: i64, run_id: i64) -> Result<Option<RunRow>, sqlx::Error> {
    let row: Option<Row> = sqlx::query_as(&format!("select {COLUMNS} from run r where r.partner_id = $1 and r.run_id = $2"))
        .bind(partner_id)
        .bind(run_id)
        .fetch_optional(&db.pool)
        .await?;
    row.map(Row::view).transpose()
}

/// A line as stored.
#[derive(Debug, sqlx::FromRow)]
struct LineRow {
    outcome: String,
    customer_id: Option<i64>,
    customer_name: String,
    record: String,
    reason: String,
    record_id: Option<i64>,
    record_key: String,
}

/// A run's lines in order (up to `limit`), and how many it has.
pub async fn lines(db: &Db, partner_id: i64, run_id: i64, limit: i64) -> Result<(Vec<RunLine>, i64), sqlx::Error> {
    let rows: Vec<LineRow> = sqlx::query_as(
        "select outcome, customer_id, customer_name, record, reason, record_id, record_key from run_line \
         where partner_id = $1 and run_id = $2 order by line_id limit $3",
    )
    .bind(partner_id)
    .bind(run_id)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    let total: i64 = sqlx::query_scalar("select count(*) from run_line where partner_id = $1 and run_id = $2")
        .bind(partner_id)
        .bind(run_id)
        .fetch_one(&db.pool)
        .await?;
    let lines = rows
        .into_iter()
        .map(|r| RunLine {
            outcome: r.outcome,
            customer_id: r.customer_id,
            customer_name: r.customer_name,
            record: r.record,
            reason: r.reason,
            record_id: r.record_id,
            record_key: r.record_key,
        })
        .collect();
    Ok((lines, total))
}

/// Whether any later run of the partner retried this one.
pub async fn retried_by(db: &Db, partner_id: i64, run_id: i64) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("select max(run_id) from run where partner_id = $1 and retry_of = $2").bind(partner_id).bind(run_id).fetch_one(&db.pool).await
}

/// The partner's runs that ended after the position `after` (`(finished_at, run_id)`)
/// and before `until_ms`, in the order they ended: the machine API's feed.
pub async fn since(db: &Db, partner_id: i64, after: (i64, i64), until_ms: i64, limit: i64) -> Result<Vec<RunRow>, sqlx::Error> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "select {COLUMNS} from run r where r.partner_id = $1 and r.finished_at < $4 \
         and (r.finished_at > $2 or (r.finished_at = $2 and r.run_id > $3)) order by r.finished_at, r.run_id limit $5"
    ))
    .bind(partner_id)
    .bind(after.0)
    .bind(after.1)
    .bind(until_ms)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    rows.into_iter().map(Row::view).collect()
}

/// Per partner, whether its latest billing push and latest sync round failed (`/metrics`):
/// `(partner, kind, failed)`.
pub async fn latest_failures(db: &Db) -> Result<Vec<(i64, String, bool)>, sqlx::Error> {
    let rows: Vec<(i64, String, String)> = sqlx::query_as(
        "select r.partner_id, r.kind, r.outcome from run r where r.kind in ('push', 'sync') \
         and r.run_id = (select max(x.run_id) from run x where x.partner_id = r.partner_id and x.kind = r.kind)",
    )
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.into_iter().map(|(p, kind, outcome)| (p, kind, outcome == RunOutcome::Failed.as_str())).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_text_keeps_each_lines_words_once_lower_case_and_bounded() {
        let line = |reason: &str| RunLine::failed(Some(1), "Zürich Dental", "Contract 9", reason);
        let text = search_text("Push 4: 1 failed", "Alice@Example.com", &[line("No Such Contract"), line("No Such Contract"), line("Other")]);
        assert_eq!(text, "push 4: 1 failed alice@example.com zürich dental contract 9 no such contract zürich dental contract 9 other");
        let many: Vec<RunLine> = (0..20_000).map(|i| line(&format!("reason {i}"))).collect();
        assert_eq!(search_text("s", "b", &many).chars().count(), SEARCH_CHARS);
    }
}
