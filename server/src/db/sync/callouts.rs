//! Callouts from the partner's Autotask webhook (`sync_callout`), stored before they are
//! answered: once per GUID and sequence number (a replay is a duplicate), superseded by a
//! later sequence of the same company, claimed by one instance at a time with a lease,
//! and marked applied when the company was re-read and written.

use crate::db::dynamic::{bind_all, Arg};
use crate::db::Db;

/// A callout as received.
#[derive(Debug, Clone)]
pub struct NewCallout {
    pub partner_id: i64,
    pub guid: String,
    pub sequence: i64,
    pub company_id: i64,
    pub action: String,
    pub received_at: i64,
}

/// What storing a callout did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// New: to be applied.
    Pending,
    /// The same GUID and sequence number arrived before: nothing to do.
    Duplicate,
    /// A later sequence of the same company is already stored: nothing to do.
    Superseded,
}

/// Stores a callout once. A superseded one is counted on the webhook here; a pending one
/// when it is applied ([`counted`]), so a storm does not queue on the webhook's row.
pub async fn store(db: &Db, c: &NewCallout) -> Result<Stored, sqlx::Error> {
    let mut tx = db.pool.begin().await?;
    let inserted = sqlx::query(
        "insert into sync_callout (partner_id, webhook_guid, sequence_number, company_id, action, received_at) values ($1, $2, $3, $4, $5, $6) \
         on conflict (partner_id, webhook_guid, sequence_number) do nothing",
    )
    .bind(c.partner_id)
    .bind(&c.guid)
    .bind(c.sequence)
    .bind(c.company_id)
    .bind(&c.action)
    .bind(c.received_at)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        tx.commit().await?;
        return Ok(Stored::Duplicate);
    }
    let later: Option<(i64,)> = sqlx::query_as(
        "select sequence_number from sync_callout where partner_id = $1 and company_id = $2 and webhook_guid = $3 and sequence_number > $4 limit 1",
    )
    .bind(c.partner_id)
    .bind(c.company_id)
    .bind(&c.guid)
    .bind(c.sequence)
    .fetch_optional(&mut *tx)
    .await?;
    let stored = if later.is_some() {
        sqlx::query(
            "update sync_callout set applied_at = $4, outcome = 'superseded' where partner_id = $1 and webhook_guid = $2 and sequence_number = $3",
        )
        .bind(c.partner_id)
        .bind(&c.guid)
        .bind(c.sequence)
        .bind(c.received_at)
        .execute(&mut *tx)
        .await?;
        counted(&mut *tx, c.partner_id, 1, c.received_at).await?;
        Stored::Superseded
    } else {
        Stored::Pending
    };
    tx.commit().await?;
    Ok(stored)
}

/// Counts `n` callouts received (the last at `last`) on the partner's webhook.
pub async fn counted<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(executor: E, partner_id: i64, n: i64, last: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update sync_webhook set callouts = callouts + $2, \
         last_callout_at = case when last_callout_at is null or last_callout_at < $3 then $3 else last_callout_at end where partner_id = $1",
    )
    .bind(partner_id)
    .bind(n)
    .bind(last)
    .execute(executor)
    .await
    .map(|_| ())
}

/// A claimed callout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct Claimed {
    pub callout_id: i64,
    pub partner_id: i64,
    pub company_id: i64,
    pub received_at: i64,
}

/// Claims up to `limit` pending callouts not held by another instance, until `lease_until`.
/// The condition is checked again on the row itself, so two instances never both win one.
pub async fn claim(db: &Db, now: i64, lease_until: i64, limit: i64) -> Result<Vec<Claimed>, sqlx::Error> {
    sqlx::query_as(
        "update sync_callout set claimed_until = $2 where callout_id in \
         (select callout_id from sync_callout where applied_at is null and (claimed_until is null or claimed_until < $1) order by callout_id limit $3) \
         and applied_at is null and (claimed_until is null or claimed_until < $1) returning callout_id, partner_id, company_id, received_at",
    )
    .bind(now)
    .bind(lease_until)
    .bind(limit)
    .fetch_all(&db.pool)
    .await
}

/// Marks claimed callouts done (`applied`, or `failed` when the company could not be
/// read or written: the next poll covers it).
pub async fn finish(db: &Db, ids: &[i64], outcome: &str, now: i64) -> Result<(), sqlx::Error> {
    set_where_ids(db, "applied_at = $1, outcome = $2", vec![Arg::Int(now), Arg::Text(outcome.to_string())], ids).await
}

/// Hands claimed callouts back, to be tried again after `retry_at` (Autotask was away).
pub async fn release(db: &Db, ids: &[i64], retry_at: i64) -> Result<(), sqlx::Error> {
    set_where_ids(db, "claimed_until = $1", vec![Arg::Int(retry_at)], ids).await
}

/// `update sync_callout set <set> where callout_id in (ids)`, 500 ids at a time.
async fn set_where_ids(db: &Db, set: &str, leading: Vec<Arg>, ids: &[i64]) -> Result<(), sqlx::Error> {
    for chunk in ids.chunks(500) {
        let params: Vec<String> = (0..chunk.len()).map(|i| format!("${}", leading.len() + i + 1)).collect();
        let sql = format!("update sync_callout set {set} where callout_id in ({})", params.join(", "));
        let mut args = leading.clone();
        args.extend(chunk.iter().map(|id| Arg::Int(*id)));
        bind_all(sqlx::query(&sql), &args).execute(&db.pool).await?;
    }
    Ok(())
}

/// Callouts of the partner still to apply.
pub async fn pending(db: &Db, partner_id: i64) -> Result<i64, sqlx::Error> {
    let (n,): (i64,) =
        sqlx::query_as("select count(*) from sync_callout where partner_id = $1 and applied_at is null").bind(partner_id).fetch_one(&db.pool).await?;
    Ok(n)
}

/// Deletes up to `limit` callouts applied before `before` (kept a while so a late replay
/// is still recognised as a duplicate). Returns how many went.
pub async fn prune(db: &Db, before: i64, limit: i64) -> Result<u64, sqlx::Error> {
    sqlx::query(
        "delete from sync_callout where callout_id in (select callout_id from sync_callout where applied_at is not null and applied_at < $1 \
         order by callout_id limit $2)",
    )
    .bind(before)
    .bind(limit)
    .execute(&db.pool)
    .await
    .map(|r| r.rows_affected())
}
