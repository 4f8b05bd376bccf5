//! A customer's timeline, read from where each kind of thing is kept: runs with a line
//! about the customer, changes made to it, its incidents, and billing writes. Each source
//! gives its newest `limit` before a time; the service merges them.

use super::super::audit::{self, Filter as ChangeFilter};
use super::super::dynamic::{bind_all_as, Arg};
use super::super::Db;
use super::{Row, COLUMNS};
use app::types::billing::product;
use app::types::history::{BilledLine, ChangeEntry, RunLine, RunRow, TicketStory};
use app::types::tickets::EventType;

/// The customer's runs that ended before `before_ms`, newest first, each with its lines
/// about the customer.
pub async fn runs(db: &Db, partner_id: i64, customer_id: i64, before_ms: i64, limit: i64) -> Result<Vec<(RunRow, Vec<RunLine>)>, sqlx::Error> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "select {COLUMNS} from run r where r.partner_id = $1 and r.finished_at < $3 and r.run_id in \
         (select l.run_id from run_line l where l.partner_id = $1 and l.customer_id = $2) \
         order by r.finished_at desc, r.run_id desc limit $4"
    ))
    .bind(partner_id)
    .bind(customer_id)
    .bind(before_ms)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    let runs = rows.into_iter().map(Row::view).collect::<Result<Vec<_>, _>>()?;
    if runs.is_empty() {
        return Ok(Vec::new());
    }
    let mut args = vec![Arg::Int(partner_id), Arg::Int(customer_id)];
    let marks: Vec<String> = runs
        .iter()
        .map(|r| {
            args.push(Arg::Int(r.run_id));
            format!("${}", args.len())
        })
        .collect();
    let sql = format!(
        "select run_id, outcome, customer_id, customer_name, record, reason, record_id, record_key from run_line \
         where partner_id = $1 and customer_id = $2 and run_id in ({}) order by line_id",
        marks.join(", ")
    );
    type LineRow = (i64, String, Option<i64>, String, String, String, Option<i64>, String);
    let lines: Vec<LineRow> = bind_all_as(sqlx::query_as(&sql), &args).fetch_all(&db.pool).await?;
    Ok(runs
        .into_iter()
        .map(|run| {
            let mine = lines
                .iter()
                .filter(|l| l.0 == run.run_id)
                .map(|l| RunLine {
                    outcome: l.1.clone(),
                    customer_id: l.2,
                    customer_name: l.3.clone(),
                    record: l.4.clone(),
                    reason: l.5.clone(),
                    record_id: l.6,
                    record_key: l.7.clone(),
                })
                .collect();
            (run, mine)
        })
        .collect())
}

/// Changes made to the customer before `before_ms`, newest first.
pub async fn changes(db: &Db, partner_id: i64, customer_id: i64, before_ms: i64, limit: i64) -> Result<Vec<ChangeEntry>, sqlx::Error> {
    let f = ChangeFilter { customer_id: Some(customer_id), until_ms: Some(before_ms), ..ChangeFilter::default() };
    audit::list(db, partner_id, &f, limit).await
}

/// The customer's incidents opened before `before_ms`, newest first.
pub async fn tickets(db: &Db, partner_id: i64, customer_id: i64, before_ms: i64, limit: i64) -> Result<Vec<TicketStory>, sqlx::Error> {
    type Incident = (i64, String, String, String, Option<String>, i64, i64, Option<i64>, Option<String>);
    let rows: Vec<Incident> = sqlx::query_as(
        "select incident_id, device, event_type, state, ticket_number, opened_at, repeats, closed_at, problem from incident \
         where partner_id = $1 and customer_id = $2 and opened_at < $3 order by opened_at desc, incident_id desc limit $4",
    )
    .bind(partner_id)
    .bind(customer_id)
    .bind(before_ms)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(incident_id, device, event, state, ticket_number, opened_at, repeats, closed_at, problem)| TicketStory {
            incident_id,
            device,
            event: EventType::parse(&event).map_or(event, |e| e.label().to_string()),
            state,
            ticket_number,
            opened_at,
            repeats,
            closed_at,
            problem,
        })
        .collect())
}

/// Quantities written to the customer's contracts before `before_ms`, newest first
/// (lines a push held, skipped or failed are in its run instead).
pub async fn billed(db: &Db, partner_id: i64, customer_id: i64, before_ms: i64, limit: i64) -> Result<Vec<BilledLine>, sqlx::Error> {
    type Written = (i64, i64, String, Option<i64>, Option<i64>);
    let rows: Vec<Written> = sqlx::query_as(
        "select push_id, written_at, product, before_units, after_units from push_line \
         where partner_id = $1 and customer_id = $2 and written_at < $3 and outcome = 'applied' \
         order by written_at desc, line_id desc limit $4",
    )
    .bind(partner_id)
    .bind(customer_id)
    .bind(before_ms)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(push_id, at, code, before_units, after_units)| BilledLine {
            push_id,
            at,
            product: product(&code).map_or(code, |p| p.label.to_string()),
            before_units,
            after_units,
        })
        .collect())
}
