//! Who dispatches a partner: the lease (`dispatch_lease`) an instance takes and renews,
//! and the pause after Autotask failures, with why.

use crate::db::Db;

/// Partners with pending events or notes due, not paused, and not leased by another holder.
pub async fn partners_with_work(db: &Db, holder: &str, now: i64) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "select p.partner_id from partner p where (exists (select 1 from event e where e.partner_id = p.partner_id and e.dispatch_state = 'pending') \
           or exists (select 1 from incident i where i.partner_id = p.partner_id and i.note_due_at <= $1 and i.state = 'open')) \
         and not exists (select 1 from dispatch_lease l where l.partner_id = p.partner_id and (l.retry_at > $1 or (l.expires_at > $1 and l.holder <> $2)))",
    )
    .bind(now)
    .bind(holder)
    .fetch_all(&db.pool)
    .await
}

/// Takes or renews the partner's lease until `until`; false when another holder has it.
pub async fn acquire(db: &Db, partner_id: i64, holder: &str, now: i64, until: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "insert into dispatch_lease (partner_id, holder, expires_at) values ($1, $2, $3) \
         on conflict (partner_id) do update set holder = excluded.holder, expires_at = excluded.expires_at \
         where dispatch_lease.holder = excluded.holder or dispatch_lease.expires_at < $4",
    )
    .bind(partner_id)
    .bind(holder)
    .bind(until)
    .bind(now)
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives the lease back after a round that went well.
pub async fn release(db: &Db, partner_id: i64, holder: &str) -> Result<(), sqlx::Error> {
    sqlx::query("update dispatch_lease set expires_at = 0, retry_at = null, last_error = null where partner_id = $1 and holder = $2")
        .bind(partner_id)
        .bind(holder)
        .execute(&db.pool)
        .await
        .map(|_| ())
}

/// Gives the lease back and pauses the partner until `retry_at`, saying why.
pub async fn release_paused(db: &Db, partner_id: i64, holder: &str, retry_at: i64, error: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("update dispatch_lease set expires_at = 0, retry_at = $1, last_error = $2, last_error_at = $3 where partner_id = $4 and holder = $5")
        .bind(retry_at)
        .bind(error)
        .bind(now)
        .bind(partner_id)
        .bind(holder)
        .execute(&db.pool)
        .await
        .map(|_| ())
}

/// Ends the partner's pause at once (after its settings or rules change).
pub async fn resume(db: &Db, partner_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("update dispatch_lease set retry_at = null where partner_id = $1").bind(partner_id).execute(&db.pool).await.map(|_| ())
}

/// The partner's pause: (retry at, why), when it is paused or was.
pub async fn health(db: &Db, partner_id: i64) -> Result<(Option<i64>, Option<String>), sqlx::Error> {
    let row: Option<(Option<i64>, Option<String>)> =
        sqlx::query_as("select retry_at, last_error from dispatch_lease where partner_id = $1").bind(partner_id).fetch_optional(&db.pool).await?;
    Ok(row.unwrap_or_default())
}
