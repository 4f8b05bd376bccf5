//! Autotask API usage per partner, hour and feature (`api_usage`), and the budget Autotask
//! reported each hour (`api_budget`). Instances add their gathered counts; nothing is
//! ever overwritten but the threshold.

use super::super::Db;
use crate::autotask::ledger::{Budget, Calls, Pending};

/// One stored hour of one feature.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UsageRow {
    pub hour_start: i64,
    pub feature: String,
    pub calls: i64,
    pub throttled: i64,
    pub failed: i64,
    pub latency_ms: i64,
    pub slowest_ms: i64,
}

/// One stored hour's budget.
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
pub struct BudgetRow {
    pub hour_start: i64,
    pub used: i64,
    pub threshold: i64,
}

/// Adds what an instance gathered, in one short transaction.
pub async fn add(db: &Db, pending: &Pending) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    for (&(partner_id, hour, feature), c) in &pending.calls {
        add_calls(&mut tx, partner_id, hour, feature.as_str(), c).await?;
    }
    for (&(partner_id, hour), b) in &pending.budgets {
        add_budget(&mut tx, partner_id, hour, b).await?;
    }
    tx.commit().await
}

async fn add_calls(tx: &mut sqlx::Transaction<'static, sqlx::Any>, partner_id: i64, hour: i64, feature: &str, c: &Calls) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into api_usage (partner_id, hour_start, feature, calls, throttled, failed, latency_ms, slowest_ms) \
         values ($1, $2, $3, $4, $5, $6, $7, $8) \
         on conflict (partner_id, hour_start, feature) do update set calls = api_usage.calls + excluded.calls, \
         throttled = api_usage.throttled + excluded.throttled, failed = api_usage.failed + excluded.failed, \
         latency_ms = api_usage.latency_ms + excluded.latency_ms, \
         slowest_ms = case when excluded.slowest_ms > api_usage.slowest_ms then excluded.slowest_ms else api_usage.slowest_ms end",
    )
    .bind(partner_id)
    .bind(hour)
    .bind(feature)
    .bind(c.calls)
    .bind(c.throttled)
    .bind(c.failed)
    .bind(c.latency_ms)
    .bind(c.slowest_ms)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn add_budget(tx: &mut sqlx::Transaction<'static, sqlx::Any>, partner_id: i64, hour: i64, b: &Budget) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into api_budget (partner_id, hour_start, used, threshold) values ($1, $2, $3, $4) \
         on conflict (partner_id, hour_start) do update set threshold = excluded.threshold, \
         used = case when excluded.used > api_budget.used then excluded.used else api_budget.used end",
    )
    .bind(partner_id)
    .bind(hour)
    .bind(b.used)
    .bind(b.threshold)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The partner's hours from `from_hour` on, by feature.
pub async fn calls(db: &Db, partner_id: i64, from_hour: i64) -> Result<Vec<UsageRow>, sqlx::Error> {
    sqlx::query_as(
        "select hour_start, feature, calls, throttled, failed, latency_ms, slowest_ms from api_usage \
         where partner_id = $1 and hour_start >= $2 order by hour_start desc, feature",
    )
    .bind(partner_id)
    .bind(from_hour)
    .fetch_all(&db.pool)
    .await
}

/// The partner's budgets from `from_hour` on.
pub async fn budgets(db: &Db, partner_id: i64, from_hour: i64) -> Result<Vec<BudgetRow>, sqlx::Error> {
    sqlx::query_as("select hour_start, used, threshold from api_budget where partner_id = $1 and hour_start >= $2 order by hour_start desc")
        .bind(partner_id)
        .bind(from_hour)
        .fetch_all(&db.pool)
        .await
}

/// The threshold Autotask last reported for the partner.
pub async fn latest_threshold(db: &Db, partner_id: i64) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("select threshold from api_budget where partner_id = $1 order by hour_start desc limit 1")
        .bind(partner_id)
        .fetch_optional(&db.pool)
        .await
}

/// Deletes the partner's hours before `before_ms`; how many rows went.
pub async fn prune(db: &Db, partner_id: i64, before_ms: i64) -> Result<u64, sqlx::Error> {
    let calls =
        sqlx::query("delete from api_usage where partner_id = $1 and hour_start < $2").bind(partner_id).bind(before_ms).execute(&db.pool).await?;
    let budgets =
        sqlx::query("delete from api_budget where partner_id = $1 and hour_start < $2").bind(partner_id).bind(before_ms).execute(&db.pool).await?;
    Ok(calls.rows_affected() + budgets.rows_affected())
}
