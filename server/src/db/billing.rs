//! Billing: the product → Autotask service mappings, the month's usage a push reads,
//! and the push history (`push_run`, one per push or undo, and `push_line`, one per
//! line written, held or failed). Every query is filtered by partner.

use super::Db;
use app::types::billing::{LineStatus, ProductMapping, PushLine, PushRun, Rounding};
use app::types::money::Money;
use sqlx::{Any, Transaction};

/// A stored mapping, with who saved it when.
#[derive(Debug, sqlx::FromRow)]
pub struct MappingRow {
    product: String,
    service_id: Option<i64>,
    service_name: Option<String>,
    rounding: String,
    unit_size: f64,
    /// When it was saved.
    pub updated_at: i64,
    /// By whom.
    pub updated_by: String,
}

impl MappingRow {
    /// The mapping.
    pub fn mapping(self) -> ProductMapping {
        ProductMapping {
            product: self.product,
            service_id: self.service_id,
            service_name: self.service_name,
            rounding: Rounding::parse(&self.rounding).unwrap_or_default(),
            unit_size: self.unit_size,
        }
    }
}

/// The partner's saved mappings (mapped or not), in no order.
pub async fn mappings(db: &Db, partner_id: i64) -> Result<Vec<MappingRow>, sqlx::Error> {
    sqlx::query_as("select product, service_id, service_name, rounding, unit_size, updated_at, updated_by from product_mapping where partner_id = $1")
        .bind(partner_id)
        .fetch_all(&db.pool)
        .await
}

/// Saves one mapping (`service_name` as Autotask named the service).
pub async fn save_mapping(
    tx: &mut Transaction<'static, Any>,
    partner_id: i64,
    m: &ProductMapping,
    service_name: Option<&str>,
    by: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into product_mapping (partner_id, product, service_id, service_name, rounding, unit_size, updated_at, updated_by) \
         values ($1, $2, $3, $4, $5, $6, $7, $8) \
         on conflict (partner_id, product) do update set service_id = excluded.service_id, service_name = excluded.service_name, rounding = excluded.rounding, \
         unit_size = excluded.unit_size, updated_at = excluded.updated_at, updated_by = excluded.updated_by",
    )
    .bind(partner_id)
    .bind(&m.product)
    .bind(m.service_id)
    .bind(service_name)
    .bind(m.rounding.as_str())
    .bind(m.unit_size)
    .bind(now)
    .bind(by)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// A month's usage of one customer and product, with the customer's billing contract.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MonthUsage {
    /// The customer.
    pub customer_id: i64,
    /// Its name.
    pub name: String,
    /// Its billing contract.
    pub contract_id: Option<i64>,
    /// 1 when it is linked to an Autotask company on the Customer Map, else 0.
    pub linked: i64,
    /// Product code.
    pub product: String,
    /// The reported quantity.
    pub quantity: f64,
}

/// The partner's usage in a billing month, by customer name then product.
pub async fn month_usage(db: &Db, partner_id: i64, period: &str) -> Result<Vec<MonthUsage>, sqlx::Error> {
    sqlx::query_as(
        "select u.customer_id, c.name, c.contract_id, case when exists (select 1 from customer_link l where l.customer_id = u.customer_id) then 1 else 0 end as linked, \
         u.product, u.quantity from usage_report u join customer c on c.customer_id = u.customer_id \
         where u.partner_id = $1 and u.period = $2 order by c.name_key, u.customer_id, u.product",
    )
    .bind(partner_id)
    .bind(period)
    .fetch_all(&db.pool)
    .await
}

/// A run left 'running' by a dead process for this long stops blocking new ones.
const STALE_RUN_MS: i64 = 15 * 60_000;

/// Starts a push or undo run; Ok(None) when another run of the partner is going.
pub async fn start_run(
    db: &Db,
    partner_id: i64,
    period: &str,
    kind: &str,
    actor: &str,
    undo_of: Option<i64>,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query(
        "update push_run set state = 'failed', finished_at = $1, summary = 'Interrupted (the process stopped)' \
         where partner_id = $2 and state = 'running' and started_at < $3",
    )
    .bind(now)
    .bind(partner_id)
    .bind(now - STALE_RUN_MS)
    .execute(&db.pool)
    .await?;
    let inserted = sqlx::query_scalar(
        "insert into push_run (partner_id, period, kind, state, started_at, started_by, undo_of) values ($1, $2, $3, 'running', $4, $5, $6) returning push_id",
    )
    .bind(partner_id)
    .bind(period)
    .bind(kind)
    .bind(now)
    .bind(actor)
    .bind(undo_of)
    .fetch_one(&db.pool)
    .await;
    match inserted {
        Ok(id) => Ok(Some(id)),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(None),
        Err(e) => Err(e),
    }
}

/// Ends a run (`state`: done or failed) with its summary.
pub async fn finish_run(db: &Db, push_id: i64, state: &str, summary: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("update push_run set state = $1, finished_at = $2, summary = $3 where push_id = $4")
        .bind(state)
        .bind(now)
        .bind(summary)
        .bind(push_id)
        .execute(&db.pool)
        .await
        .map(|_| ())
}

fn outcome_code(status: LineStatus) -> &'static str {
    match status {
        LineStatus::Applied => "applied",
        LineStatus::Held => "held",
        LineStatus::Failed => "failed",
        _ => "skipped",
    }
}

fn outcome_status(code: &str) -> LineStatus {
    match code {
        "applied" => LineStatus::Applied,
        "held" => LineStatus::Held,
        "failed" => LineStatus::Failed,
        _ => LineStatus::Skipped,
    }
}

/// Records one line of a run.
pub async fn record_line(db: &Db, push_id: i64, partner_id: i64, line: &PushLine, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into push_line (push_id, partner_id, customer_id, product, contract_id, service_id, before_units, after_units, unit_change, unit_price, \
         outcome, reason, written_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(push_id)
    .bind(partner_id)
    .bind(line.customer_id)
    .bind(&line.product)
    .bind(line.contract_id)
    .bind(line.service_id)
    .bind(line.autotask_units)
    .bind(line.taskbridge_units)
    .bind(line.change)
    .bind(line.unit_price.to_f64())
    .bind(outcome_code(line.status))
    .bind(&line.reason)
    .bind(now)
    .execute(&db.pool)
    .await
    .map(|_| ())
}

/// An undo run `u` that is over with no failed line; one with failures leaves the push
/// open to be undone again (its lines already undone then answer "already back").
const COMPLETE_UNDO: &str = "u.state = 'done' and not exists (select 1 from push_line f where f.push_id = u.push_id and f.outcome = 'failed')";

/// A run's kind (apply or undo), if the partner has it.
pub async fn run_kind(db: &Db, partner_id: i64, push_id: i64) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("select kind from push_run where push_id = $1 and partner_id = $2")
        .bind(push_id)
        .bind(partner_id)
        .fetch_optional(&db.pool)
        .await
}

/// The complete undo of a push, if there is one.
pub async fn undone_by(db: &Db, push_id: i64) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(&format!("select u.push_id from push_run u where u.undo_of = $1 and {COMPLETE_UNDO}"))
        .bind(push_id)
        .fetch_optional(&db.pool)
        .await
}

/// A recorded line, with its customer's name.
#[derive(Debug, sqlx::FromRow)]
pub struct LineRow {
    /// The customer.
    pub customer_id: i64,
    /// Its name.
    pub name: String,
    /// Product code.
    pub product: String,
    /// The contract written to.
    pub contract_id: Option<i64>,
    /// The service.
    pub service_id: Option<i64>,
    /// Units Autotask billed before.
    pub before_units: Option<i64>,
    /// Units after.
    pub after_units: Option<i64>,
    /// The adjustment.
    pub unit_change: i64,
    /// The unit price (internal currency).
    pub unit_price: f64,
    /// applied, held, failed or skipped.
    pub outcome: String,
    /// Why (skipped, held, failed).
    pub reason: Option<String>,
}

impl LineRow {
    /// The unit price (stored in currency units).
    pub fn price(&self) -> Money {
        Money::from_f64(self.unit_price)
    }

    /// The line as the Billing page shows it.
    pub fn line(self) -> PushLine {
        let price = self.price();
        PushLine {
            customer_id: self.customer_id,
            customer_name: self.name,
            product: self.product,
            contract_id: self.contract_id,
            service_id: self.service_id,
            autotask_units: self.before_units,
            quantity: None,
            taskbridge_units: self.after_units,
            change: self.unit_change,
            unit_price: price,
            money: price.times(self.unit_change),
            status: outcome_status(&self.outcome),
            reason: self.reason,
        }
    }
}

const LINE_COLUMNS: &str =
    "l.customer_id, c.name, l.product, l.contract_id, l.service_id, l.before_units, l.after_units, l.unit_change, l.unit_price, l.outcome, l.reason";

/// The lines a push applied, in order (what its undo reverses).
pub async fn applied_lines(db: &Db, push_id: i64) -> Result<Vec<LineRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "select {LINE_COLUMNS} from push_line l join customer c on c.customer_id = l.customer_id where l.push_id = $1 and l.outcome = 'applied' order by l.line_id"
    ))
    .bind(push_id)
    .fetch_all(&db.pool)
    .await
}

/// The lines of a push of the partner, in order.
pub async fn lines(db: &Db, partner_id: i64, push_id: i64) -> Result<Vec<LineRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "select {LINE_COLUMNS} from push_line l join customer c on c.customer_id = l.customer_id where l.push_id = $1 and l.partner_id = $2 order by l.line_id"
    ))
    .bind(push_id)
    .bind(partner_id)
    .fetch_all(&db.pool)
    .await
}

#[derive(sqlx::FromRow)]
struct RunRow {
    push_id: i64,
    kind: String,
    state: String,
    period: String,
    started_at: i64,
    started_by: String,
    finished_at: Option<i64>,
    summary: Option<String>,
    undo_of: Option<i64>,
    undone_by: Option<i64>,
    applied: i64,
}

/// The partner's latest 100 runs, newest first.
pub async fn runs(db: &Db, partner_id: i64) -> Result<Vec<PushRun>, sqlx::Error> {
    let rows: Vec<RunRow> = sqlx::query_as(&format!(
        "select r.push_id, r.kind, r.state, r.period, r.started_at, r.started_by, r.finished_at, r.summary, r.undo_of, \
         (select min(u.push_id) from push_run u where u.undo_of = r.push_id and {COMPLETE_UNDO}) as undone_by, \
         (select count(*) from push_line l where l.push_id = r.push_id and l.outcome = 'applied') as applied \
         from push_run r where r.partner_id = $1 order by r.push_id desc limit 100"
    ))
    .bind(partner_id)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| PushRun {
            push_id: r.push_id,
            kind: r.kind,
            state: r.state,
            period: r.period,
            started_at: r.started_at,
            started_by: r.started_by,
            finished_at: r.finished_at,
            summary: r.summary,
            undo_of: r.undo_of,
            undone_by: r.undone_by,
            applied: r.applied,
        })
        .collect())
}

/// One line of the history export: the run's facts beside the line's.
#[derive(Debug, sqlx::FromRow)]
pub struct HistoryLine {
    /// The run.
    pub push_id: i64,
    /// apply or undo.
    pub kind: String,
    /// The run it undid.
    pub undo_of: Option<i64>,
    /// Billing month.
    pub period: String,
    /// When the run started.
    pub started_at: i64,
    /// Who started it.
    pub started_by: String,
    /// The line.
    #[sqlx(flatten)]
    pub line: LineRow,
}

/// Every recorded line of the partner, by run then line.
pub async fn history_lines(db: &Db, partner_id: i64) -> Result<Vec<HistoryLine>, sqlx::Error> {
    sqlx::query_as(&format!(
        "select r.push_id, r.kind, r.period, r.started_at, r.started_by, r.undo_of, {LINE_COLUMNS} \
         from push_line l join push_run r on r.push_id = l.push_id join customer c on c.customer_id = l.customer_id \
         where r.partner_id = $1 order by r.push_id, l.line_id"
    ))
    .bind(partner_id)
    .fetch_all(&db.pool)
    .await
}
