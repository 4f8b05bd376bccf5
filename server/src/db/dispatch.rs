//! The ticket dispatcher's state: who works which part of a partner (claims), the
//! pause after failures, incidents (one per customer + device + event type, with its ticket),
//! and the outcome written back on each event.

use super::dynamic::{bind_all, bind_all_as, Arg};
use super::Db;
use app::types::tickets::Outcome;
use sqlx::{Any, Transaction};

pub mod claims;
mod pause;

pub use claims::free_for;
pub use pause::{clear_pause, end_pause, health, hold, holds, not_held, partners_with_work, pause, release_holds, resume, Health, Hold};

/// An open incident as the dispatcher works with it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Incident {
    /// Id.
    #[sqlx(rename = "incident_id")]
    pub id: i64,
    /// Customer + device + event type.
    #[sqlx(rename = "incident_key")]
    pub key: String,
    /// Its ticket, once created.
    pub ticket_id: Option<i64>,
    /// The ticket's number, once read.
    pub ticket_number: Option<String>,
    /// The status the ticket was created with (a change means a technician took over).
    pub created_status: Option<i64>,
    /// 1 once the create call was made: a retry looks the ticket up first.
    pub create_attempted: i64,
    /// The event that opened it.
    pub opening_event_id: i64,
    /// The Autotask company its ticket belongs to.
    pub company_id: Option<i64>,
    /// 1 when the recovery completes the ticket.
    pub complete_on_recovery: i64,
    /// When the last note (or the ticket) was written.
    pub last_note_at: Option<i64>,
}

const INCIDENT_COLUMNS: &str =
    "incident_id, incident_key, ticket_id, ticket_number, created_status, create_attempted, opening_event_id, company_id, \
     complete_on_recovery, last_note_at";

/// The partner's open incidents with these keys (at most 400 at a time).
pub async fn open_incidents(db: &Db, partner_id: i64, keys: &[String]) -> Result<Vec<Incident>, sqlx::Error> {
    let mut args = vec![Arg::Int(partner_id)];
    args.extend(keys.iter().map(|k| Arg::Text(k.clone())));
    let params: Vec<String> = (2..=args.len()).map(|i| format!("${i}")).collect();
    let sql = format!("select {INCIDENT_COLUMNS} from incident where partner_id = $1 and state = 'open' and incident_key in ({})", params.join(", "));
    bind_all_as(sqlx::query_as(&sql), &args).fetch_all(&db.pool).await
}

/// How the marker of a repeat note begins (`taskbridge-note-{incident}-{last repeat}`);
/// any other marker is a recovery's.
pub const NOTE_MARKER_PREFIX: &str = "taskbridge-note-";

/// The condition of an incident (alias `i`) of partner `$1` whose repeat note is due at
/// `$2`: open, with a ticket, its customer free for the holder `$3`, and no recovery in flight (a
/// recovery that was attempted and not recorded counts the repeats itself when it is
/// retried; a note beside it would count them twice, and its completion, landed but
/// unheard, would look like a technician's).
fn note_due() -> String {
    format!(
        "i.partner_id = $1 and i.state = 'open' and i.note_due_at <= $2 and i.ticket_id is not null \
         and (i.write_marker is null or i.write_marker like '{NOTE_MARKER_PREFIX}%') and {}",
        free_for("i", 2, 3)
    )
}

/// Open incidents with a ticket whose note is due, earliest first (at most 100), leaving
/// out those of customers held back at `now`.
pub async fn notes_due(db: &Db, partner_id: i64, holder: &str, now: i64) -> Result<Vec<Incident>, sqlx::Error> {
    let sql = format!("select {INCIDENT_COLUMNS} from incident i where {} order by i.note_due_at limit 100", note_due());
    sqlx::query_as(&sql).bind(partner_id).bind(now).bind(holder).fetch_all(&db.pool).await
}

/// Whether any of the partner's notes is due (customers held back aside).
pub async fn any_note_due(db: &Db, partner_id: i64, holder: &str, now: i64) -> Result<bool, sqlx::Error> {
    let sql = format!("select i.incident_id from incident i where {} limit 1", note_due());
    let hit: Option<i64> = sqlx::query_scalar(&sql).bind(partner_id).bind(now).bind(holder).fetch_optional(&db.pool).await?;
    Ok(hit.is_some())
}

/// What opens an incident.
#[derive(Debug, Clone)]
pub struct NewIncident<'a> {
    /// The partner.
    pub partner_id: i64,
    /// The customer.
    pub customer_id: i64,
    /// The device.
    pub device: &'a str,
    /// The event type.
    pub event_type: &'a str,
    /// Customer + device + event type.
    pub key: &'a str,
    /// Where its ticket goes.
    pub company_id: i64,
    /// The event that opens it.
    pub opening_event_id: i64,
    /// Complete the ticket on recovery.
    pub complete_on_recovery: bool,
}

/// Opens an incident; returns its id.
pub async fn insert_incident(db: &Db, i: &NewIncident<'_>, now: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "insert into incident (partner_id, customer_id, device, event_type, incident_key, state, company_id, opening_event_id, opened_at, last_event_at, complete_on_recovery) \
         values ($1, $2, $3, $4, $5, 'open', $6, $7, $8, $8, $9) returning incident_id",
    )
    .bind(i.partner_id)
    .bind(i.customer_id)
    .bind(i.device)
    .bind(i.event_type)
    .bind(i.key)
    .bind(i.company_id)
    .bind(i.opening_event_id)
    .bind(now)
    .bind(i64::from(i.complete_on_recovery))
    .fetch_one(&db.pool)
    .await
}

/// Records that the ticket's create call is about to be made.
pub async fn mark_create_attempted(db: &Db, incident_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("update incident set create_attempted = 1 where incident_id = $1").bind(incident_id).execute(&db.pool).await.map(|_| ())
}

/// Autotask refused the incident's ticket: the incident ends, saying why.
pub async fn mark_failed(db: &Db, incident_id: i64, reason: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("update incident set state = 'failed', problem = $1, closed_at = $2 where incident_id = $3")
        .bind(reason)
        .bind(now)
        .bind(incident_id)
        .execute(&db.pool)
        .await
        .map(|_| ())
}

/// The marker of the write in progress on an incident (a note or a recovery).
pub async fn marker(db: &Db, incident_id: i64) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("select write_marker from incident where incident_id = $1").bind(incident_id).fetch_one(&db.pool).await
}

/// Records the marker of a write about to be made, so a retry can look for it.
pub async fn set_marker(db: &Db, incident_id: i64, marker: &str) -> Result<(), sqlx::Error> {
    sqlx::query("update incident set write_marker = $1 where incident_id = $2").bind(marker).bind(incident_id).execute(&db.pool).await.map(|_| ())
}

/// Records an event's outcome, with the incident and ticket it went to.
#[allow(clippy::too_many_arguments)]
pub async fn finish_event(
    db: &Db,
    event_id: i64,
    outcome: Outcome,
    note: &str,
    incident_id: Option<i64>,
    ticket_id: Option<i64>,
    ticket_number: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("update event set dispatch_state = $1, dispatch_note = $2, incident_id = $3, ticket_id = $4, ticket_number = $5, dispatched_at = $6 where event_id = $7")
        .bind(outcome.as_str())
        .bind(note)
        .bind(incident_id)
        .bind(ticket_id)
        .bind(ticket_number)
        .bind(now)
        .bind(event_id)
        .execute(&db.pool)
        .await
        .map(|_| ())
}

/// The ticket an incident opened, recorded on the incident and on its opening event.
#[derive(Debug, Clone)]
pub struct Opened<'a> {
    /// The incident.
    pub incident_id: i64,
    /// The event that opened it.
    pub event_id: i64,
    /// The ticket.
    pub ticket_id: i64,
    /// Its number, when known.
    pub ticket_number: Option<&'a str>,
    /// The status it was created with.
    pub status: i64,
}

/// Records an incident's new ticket, in one transaction.
pub async fn record_ticket(db: &Db, o: &Opened<'_>, note: &str, now: i64) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    sqlx::query("update incident set ticket_id = $1, ticket_number = $2, created_status = $3, ticket_created_at = $4, last_note_at = $4 where incident_id = $5")
        .bind(o.ticket_id)
        .bind(o.ticket_number)
        .bind(o.status)
        .bind(now)
        .bind(o.incident_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("update event set dispatch_state = 'opened', dispatch_note = $1, incident_id = $2, ticket_id = $3, ticket_number = $4, dispatched_at = $5 where event_id = $6")
        .bind(note)
        .bind(o.incident_id)
        .bind(o.ticket_id)
        .bind(o.ticket_number)
        .bind(now)
        .bind(o.event_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// Repeats of one open incident, counted for its next note.
#[derive(Debug, Clone)]
pub struct RepeatBatch<'a> {
    /// The incident.
    pub incident_id: i64,
    /// The repeating events.
    pub event_ids: &'a [i64],
    /// When the latest arrived.
    pub last_event_at: i64,
    /// When the next note is due (unless one is due earlier).
    pub due_at: i64,
    /// The ticket.
    pub ticket_id: Option<i64>,
    /// Its number.
    pub ticket_number: Option<&'a str>,
    /// What the events' outcome says.
    pub note: &'a str,
}

/// Counts repeats on their incidents and marks the events coalesced, in one transaction.
pub async fn record_repeats(db: &Db, batches: &[RepeatBatch<'_>], now: i64) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    for r in batches {
        sqlx::query(
            "update incident set repeats = repeats + $1, pending_repeats = pending_repeats + $1, last_event_at = $2, \
             note_due_at = coalesce(note_due_at, $3) where incident_id = $4",
        )
        .bind(r.event_ids.len() as i64)
        .bind(r.last_event_at)
        .bind(r.due_at)
        .bind(r.incident_id)
        .execute(&mut *tx)
        .await?;
        for chunk in r.event_ids.chunks(400) {
            let params: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 6)).collect();
            let sql = format!(
                "update event set dispatch_state = 'coalesced', dispatch_note = $1, incident_id = $2, ticket_id = $3, ticket_number = $4, dispatched_at = $5 \
                 where event_id in ({})",
                params.join(", ")
            );
            let ids: Vec<Arg> = chunk.iter().map(|id| Arg::Int(*id)).collect();
            let q = sqlx::query(&sql).bind(r.note).bind(r.incident_id).bind(r.ticket_id).bind(r.ticket_number).bind(now);
            bind_all(q, &ids).execute(&mut *tx).await?;
        }
    }
    tx.commit().await
}

/// The repeats not yet noted on an incident.
#[derive(Debug, Clone, Default)]
pub struct Unnoted {
    /// How many.
    pub count: i64,
    /// When the first happened.
    pub first_at: i64,
    /// When the last happened.
    pub last_at: i64,
    /// The latest one's message.
    pub message: String,
    /// The latest one's id.
    pub last_event_id: i64,
}

/// The repeats counted on an incident and not yet noted, up to the event `upto`.
pub async fn unnoted(db: &Db, incident_id: i64, upto: i64) -> Result<Unnoted, sqlx::Error> {
    let (count, first_at, last_at, last_id): (i64, Option<i64>, Option<i64>, Option<i64>) = sqlx::query_as(
        "select count(*), min(occurred_at), max(occurred_at), max(event_id) from event \
         where incident_id = $1 and dispatch_state = 'coalesced' and event_id <= $2",
    )
    .bind(incident_id)
    .bind(upto)
    .fetch_one(&db.pool)
    .await?;
    let Some(last_event_id) = last_id.filter(|_| count > 0) else { return Ok(Unnoted::default()) };
    let message: String = sqlx::query_scalar("select message from event where event_id = $1").bind(last_event_id).fetch_one(&db.pool).await?;
    Ok(Unnoted { count, first_at: first_at.unwrap_or_default(), last_at: last_at.unwrap_or_default(), message, last_event_id })
}

/// A repeat note was written: the repeats up to `last_event_id` are noted, and the ones
/// counted since (while the note was in flight) wait for the next note, due at
/// `next_due`. One transaction.
pub async fn record_note(db: &Db, incident_id: i64, last_event_id: i64, note: &str, now: i64, next_due: i64) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    sqlx::query(
        "update event set dispatch_state = 'noted', dispatch_note = $1 where incident_id = $2 and dispatch_state = 'coalesced' and event_id <= $3",
    )
    .bind(note)
    .bind(incident_id)
    .bind(last_event_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "update incident set pending_repeats = (select count(*) from event where incident_id = $1 and dispatch_state = 'coalesced'), \
         last_note_at = $2, write_marker = null where incident_id = $1",
    )
    .bind(incident_id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query("update incident set note_due_at = case when pending_repeats > 0 then $1 else null end where incident_id = $2")
        .bind(next_due)
        .bind(incident_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// Drops the marker of a write that never reached Autotask.
pub async fn clear_marker(db: &Db, incident_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("update incident set write_marker = null where incident_id = $1").bind(incident_id).execute(&db.pool).await.map(|_| ())
}

/// Someone completed the ticket in Autotask: the incident ends, and its unnoted repeats
/// go back to the queue (they are new failures), in one transaction.
pub async fn close_in_autotask(db: &Db, incident_id: i64, now: i64) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    sqlx::query(
        "update incident set state = 'closed_in_autotask', closed_at = $1, note_due_at = null, pending_repeats = 0, write_marker = null where incident_id = $2",
    )
        .bind(now)
        .bind(incident_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "update event set dispatch_state = 'pending', dispatch_note = null, incident_id = null, ticket_id = null, ticket_number = null \
         where incident_id = $1 and dispatch_state = 'coalesced'",
    )
    .bind(incident_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// The incident recovered before its ticket was opened.
pub async fn complete_without_ticket(db: &Db, incident_id: i64, event_id: i64, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("update incident set state = 'completed', closed_at = $1, close_event_id = $2 where incident_id = $3")
        .bind(now)
        .bind(event_id)
        .bind(incident_id)
        .execute(&db.pool)
        .await
        .map(|_| ())
}

/// The incident ended with a recovery event (`state`: completed, handed_off or
/// closed_in_autotask); its unnoted repeats count in the recovery note. One transaction.
pub async fn record_recovery(db: &Db, incident_id: i64, state: &str, event_id: i64, note: &str, now: i64) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    sqlx::query("update incident set state = $1, closed_at = $2, close_event_id = $3, note_due_at = null, pending_repeats = 0, write_marker = null where incident_id = $4")
        .bind(state)
        .bind(now)
        .bind(event_id)
        .bind(incident_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("update event set dispatch_state = 'noted', dispatch_note = $1 where incident_id = $2 and dispatch_state = 'coalesced'")
        .bind(note)
        .bind(incident_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// Incidents with a ticket whose number is not read yet: (incident, ticket), at most 500.
pub async fn missing_numbers(db: &Db, partner_id: i64) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    sqlx::query_as("select incident_id, ticket_id from incident where partner_id = $1 and ticket_id is not null and ticket_number is null order by incident_id limit 500")
        .bind(partner_id)
        .fetch_all(&db.pool)
        .await
}

/// Records ticket numbers on their incidents and events: (incident, number), one transaction.
pub async fn set_numbers(db: &Db, numbers: &[(i64, String)]) -> Result<(), sqlx::Error> {
    let mut tx: Transaction<'static, Any> = db.begin().await?;
    for (incident_id, number) in numbers {
        sqlx::query("update incident set ticket_number = $1 where incident_id = $2").bind(number).bind(incident_id).execute(&mut *tx).await?;
        sqlx::query("update event set ticket_number = $1 where incident_id = $2 and ticket_number is null")
            .bind(number)
            .bind(incident_id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await
}

/// Sends the partner's failed events among `event_ids` back to the queue as a retry of run
/// `retry_of` (events handled since are left alone); how many went back.
pub async fn requeue_failed(db: &Db, partner_id: i64, event_ids: &[i64], retry_of: i64) -> Result<u64, sqlx::Error> {
    let mut requeued = 0;
    for chunk in event_ids.chunks(500) {
        let (list, mut args) = super::dynamic::in_list(" and event_id in", partner_id, chunk);
        args.push(Arg::Int(retry_of));
        let sql = format!(
            "update event set dispatch_state = 'pending', dispatch_note = null, incident_id = null, ticket_id = null, ticket_number = null, \
             retry_of_run = ${} where partner_id = $1 and dispatch_state = 'failed'{list}",
            args.len()
        );
        requeued += bind_all(sqlx::query(&sql), &args).execute(&db.pool).await?.rows_affected();
    }
    Ok(requeued)
}
