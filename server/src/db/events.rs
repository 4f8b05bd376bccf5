//! Backup events: inserted in batches by the machine API (a repeat of the sender's id,
//! per partner, stored once), read by the dispatcher in order, and listed by the Event
//! log with its filters. What the dispatcher writes back is in `dispatch.rs`.

use super::dynamic::{bind_all, bind_all_as, like_escape, page_bounds, Arg};
use super::Db;
use app::types::tickets::{EventQuery, EventRow, Outcome};
use sqlx::{Any, Transaction};
use std::collections::HashMap;

/// The columns of an event as the log and the dispatcher read it.
const EVENT_SELECT: &str = "select e.event_id, e.external_id, e.customer_id, c.name as customer_name, e.device, e.job, e.event_type, e.severity, \
     e.message, e.occurred_at, e.received_at, e.dispatch_state, e.dispatch_note, e.ticket_id, e.ticket_number, e.retry_of_run from event e join customer c on c.customer_id = e.customer_id";

/// One row of [`EVENT_SELECT`].
#[derive(Debug, sqlx::FromRow)]
struct EventRecord {
    event_id: i64,
    external_id: String,
    customer_id: i64,
    customer_name: String,
    device: String,
    job: String,
    event_type: String,
    severity: String,
    message: String,
    occurred_at: i64,
    received_at: i64,
    dispatch_state: String,
    dispatch_note: Option<String>,
    ticket_id: Option<i64>,
    ticket_number: Option<String>,
    retry_of_run: Option<i64>,
}

impl From<EventRecord> for EventRow {
    fn from(r: EventRecord) -> Self {
        EventRow {
            event_id: r.event_id,
            external_id: r.external_id,
            customer_id: r.customer_id,
            customer_name: r.customer_name,
            device: r.device,
            job: r.job,
            event_type: r.event_type,
            severity: r.severity,
            message: r.message,
            occurred_at: r.occurred_at,
            received_at: r.received_at,
            outcome: Outcome::parse(&r.dispatch_state).unwrap_or_default(),
            note: r.dispatch_note,
            ticket_id: r.ticket_id,
            ticket_number: r.ticket_number,
            retry_of: r.retry_of_run,
        }
    }
}

/// The partner's oldest pending events after the event `after`, at most `limit`, in
/// arrival order, leaving out those of customers held back at `now` or claimed by an
/// instance other than `holder`.
pub async fn pending(db: &Db, partner_id: i64, holder: &str, after: i64, limit: i64, now: i64) -> Result<Vec<EventRow>, sqlx::Error> {
    let sql = format!(
        "{EVENT_SELECT} where e.partner_id = $1 and e.dispatch_state = 'pending' and e.event_id > $4 and {} order by e.event_id limit $2",
        super::dispatch::free_for("e", 3, 5)
    );
    let rows: Vec<EventRecord> = sqlx::query_as(&sql).bind(partner_id).bind(limit).bind(now).bind(after).bind(holder).fetch_all(&db.pool).await?;
    Ok(rows.into_iter().map(EventRow::from).collect())
}

/// How many of the partner's events wait for the dispatcher.
pub async fn pending_count(db: &Db, partner_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("select count(*) from event where partner_id = $1 and dispatch_state = 'pending'").bind(partner_id).fetch_one(&db.pool).await
}

/// One page of the Event log, newest first: (rows, total, page, per page).
pub async fn page(db: &Db, partner_id: i64, q: &EventQuery) -> Result<(Vec<EventRow>, i64, u32, u32), sqlx::Error> {
    let mut args = vec![Arg::Int(partner_id)];
    let mut filter = String::new();
    let search = q.search.trim();
    if !search.is_empty() {
        args.push(Arg::Text(format!("%{}%", like_escape(&search.to_lowercase()))));
        let like = args.len();
        args.push(Arg::Text(search.to_string()));
        let exact = args.len();
        filter.push_str(&format!(
            " and (c.name_key like ${like} escape '\\' or lower(e.device) like ${like} escape '\\' or e.external_id = ${exact} or e.ticket_number = ${exact})"
        ));
    }
    if !q.event_type.is_empty() {
        args.push(Arg::Text(q.event_type.clone()));
        filter.push_str(&format!(" and e.event_type = ${}", args.len()));
    }
    if !q.severity.is_empty() {
        args.push(Arg::Text(q.severity.clone()));
        filter.push_str(&format!(" and e.severity = ${}", args.len()));
    }
    if let Some(o) = Outcome::parse(&q.outcome) {
        args.push(Arg::Text(o.as_str().to_string()));
        filter.push_str(&format!(" and e.dispatch_state = ${}", args.len()));
    }
    let count = format!("select count(*) from event e join customer c on c.customer_id = e.customer_id where e.partner_id = $1{filter}");
    let total: i64 = bind_all(sqlx::query(&count), &args).fetch_one(&db.pool).await.and_then(|r| sqlx::Row::try_get(&r, 0))?;
    let (page, per_page, offset) = page_bounds(total, q.page, q.per_page, 200);
    let sql = format!("{EVENT_SELECT} where e.partner_id = $1{filter} order by e.event_id desc limit {per_page} offset {offset}");
    let rows: Vec<EventRecord> = bind_all_as(sqlx::query_as(&sql), &args).fetch_all(&db.pool).await?;
    Ok((rows.into_iter().map(EventRow::from).collect(), total, page, per_page))
}

/// One event to store.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    /// The sender's id (unique per partner).
    pub external_id: &'a str,
    /// The customer it belongs to.
    pub customer_id: i64,
    /// Device name.
    pub device: &'a str,
    /// Backup job, if any.
    pub job: &'a str,
    /// Event type code.
    pub event_type: &'a str,
    /// Severity code.
    pub severity: &'a str,
    /// The sender's message.
    pub message: &'a str,
    /// When it happened (Unix ms).
    pub occurred_at: i64,
}

/// Inserts up to 100 events in one statement; returns external id → event id for the
/// rows it inserted (a sender's id already stored inserts nothing).
pub async fn insert_batch(
    tx: &mut Transaction<'static, Any>,
    partner_id: i64,
    received_at: i64,
    events: &[NewEvent<'_>],
) -> Result<HashMap<String, i64>, sqlx::Error> {
    if events.is_empty() {
        return Ok(HashMap::new());
    }
    let values: Vec<String> = (0..events.len())
        .map(|n| {
            let b = n * 8;
            format!("($1, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, $2)", b + 3, b + 4, b + 5, b + 6, b + 7, b + 8, b + 9, b + 10)
        })
        .collect();
    let sql = format!(
        "insert into event (partner_id, external_id, customer_id, device, job, event_type, severity, message, occurred_at, received_at) values {} \
         on conflict (partner_id, external_id) do nothing returning external_id, event_id",
        values.join(", ")
    );
    let mut q = sqlx::query_as::<_, (String, i64)>(&sql).bind(partner_id).bind(received_at);
    for e in events {
        q = q
            .bind(e.external_id)
            .bind(e.customer_id)
            .bind(e.device)
            .bind(e.job)
            .bind(e.event_type)
            .bind(e.severity)
            .bind(e.message)
            .bind(e.occurred_at);
    }
    Ok(q.fetch_all(&mut **tx).await?.into_iter().collect())
}

/// Per partner, the events waiting for dispatch and when the oldest arrived (`/metrics`).
pub async fn backlog(db: &Db) -> Result<Vec<(i64, i64, i64)>, sqlx::Error> {
    sqlx::query_as("select partner_id, count(*), min(received_at) from event where dispatch_state = 'pending' group by partner_id")
        .fetch_all(&db.pool)
        .await
}
