//! How long each partner keeps its history, and pruning what is older in small batches
//! (each batch is one short transaction, so pruning never holds up the work it records).

use super::super::dynamic::{bind_all, in_list};
use super::super::Db;

/// The partner's history retention in days.
pub async fn days(db: &Db, partner_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("select history_days from partner where partner_id = $1").bind(partner_id).fetch_one(&db.pool).await
}

/// Sets it (inside the caller's transaction, beside the change it records).
pub async fn set_days(tx: &mut sqlx::Transaction<'static, sqlx::Any>, partner_id: i64, days: i64) -> Result<(), sqlx::Error> {
    sqlx::query("update partner set history_days = $2 where partner_id = $1").bind(partner_id).bind(days).execute(&mut **tx).await?;
    Ok(())
}

/// Every partner with its retention.
pub async fn all(db: &Db) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    sqlx::query_as("select partner_id, history_days from partner order by partner_id").fetch_all(&db.pool).await
}

/// Deletes up to `batch` of the partner's runs that ended before `before_ms`, with their
/// lines; a later run that retried one keeps its place but no longer links to it.
/// Returns how many runs went.
pub async fn prune_runs(db: &Db, partner_id: i64, before_ms: i64, batch: i64) -> Result<u64, sqlx::Error> {
    let ids: Vec<i64> = sqlx::query_scalar("select run_id from run where partner_id = $1 and finished_at < $2 order by run_id limit $3")
        .bind(partner_id)
        .bind(before_ms)
        .bind(batch)
        .fetch_all(&db.pool)
        .await?;
    if ids.is_empty() {
        return Ok(0);
    }
    let mut tx = db.begin().await?;
    let (sql, args) = in_list("update run set retry_of = null where partner_id = $1 and retry_of in", partner_id, &ids);
    bind_all(sqlx::query(&sql), &args).execute(&mut *tx).await?;
    let (sql, args) = in_list("delete from run_line where partner_id = $1 and run_id in", partner_id, &ids);
    bind_all(sqlx::query(&sql), &args).execute(&mut *tx).await?;
    let (sql, args) = in_list("delete from run where partner_id = $1 and run_id in", partner_id, &ids);
    let gone = bind_all(sqlx::query(&sql), &args).execute(&mut *tx).await?.rows_affected();
    tx.commit().await?;
    Ok(gone)
}

/// Deletes up to `batch` of the partner's settings changes and sign-ins made before
/// `before_ms`. Returns how many went.
pub async fn prune_changes(db: &Db, partner_id: i64, before_ms: i64, batch: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "delete from audit_event where audit_id in \
         (select audit_id from audit_event where partner_id = $1 and created_at < $2 order by audit_id limit $3)",
    )
    .bind(partner_id)
    .bind(before_ms)
    .bind(batch)
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected())
}
