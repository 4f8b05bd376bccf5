//! The billing schedule's rows: each partner's interval and hold threshold, and the due
//! runs claimed with one conditional write so that, with several instances, one runs each.

use super::Db;
use app::types::billing::BillingSchedule;
use app::types::CurrentUser;
use sqlx::{Any, Transaction};

/// A stored schedule.
#[derive(sqlx::FromRow)]
struct ScheduleRow {
    every_hours: i64,
    hold_above: Option<i64>,
    next_run_at: Option<i64>,
    allow_add_service: i64,
}

/// The partner's schedule (defaults: daily, no threshold).
pub async fn get(db: &Db, partner_id: i64) -> Result<BillingSchedule, sqlx::Error> {
    let row: Option<ScheduleRow> =
        sqlx::query_as("select every_hours, hold_above, next_run_at, allow_add_service from billing_schedule where partner_id = $1")
            .bind(partner_id)
            .fetch_optional(&db.pool)
            .await?;
    let enabled = sqlx::query("select rule_id from notification_rule where partner_id = $1 and action = 'sync' limit 1")
        .bind(partner_id)
        .fetch_optional(&db.pool)
        .await?
        .is_some();
    Ok(match row {
        Some(r) => BillingSchedule {
            every_hours: r.every_hours,
            hold_above: r.hold_above,
            enabled,
            next_run_at: r.next_run_at,
            allow_add_service: r.allow_add_service != 0,
        },
        None => BillingSchedule { every_hours: 24, hold_above: None, enabled, next_run_at: None, allow_add_service: false },
    })
}

/// Saves the partner's schedule (the next run is worked out again).
pub async fn save(tx: &mut Transaction<'static, Any>, actor: &CurrentUser, schedule: &BillingSchedule, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into billing_schedule (partner_id, every_hours, hold_above, allow_add_service, next_run_at, updated_at, updated_by) values ($1, $2, $3, $6, null, $4, $5) \
         on conflict (partner_id) do update set every_hours = excluded.every_hours, hold_above = excluded.hold_above, allow_add_service = excluded.allow_add_service, \
         updated_at = excluded.updated_at, updated_by = excluded.updated_by",
    )
    .bind(actor.partner_id)
    .bind(schedule.every_hours)
    .bind(schedule.hold_above)
    .bind(now)
    .bind(&actor.email)
    .bind(i64::from(schedule.allow_add_service))
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// Partners with a "Synchronize with Autotask" notification.
pub async fn sync_partners(db: &Db) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar("select distinct partner_id from notification_rule where action = 'sync'").fetch_all(&db.pool).await
}

/// Claims the partner's run if it is due at `now`, moving its next run to `next`; false
/// when it is not due or another instance claimed it first.
pub async fn claim(db: &Db, partner_id: i64, next: i64, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "insert into billing_schedule (partner_id, every_hours, next_run_at, updated_at, updated_by) values ($1, 24, $2, $3, 'schedule') \
         on conflict (partner_id) do update set next_run_at = $2 where billing_schedule.next_run_at is null or billing_schedule.next_run_at <= $3",
    )
    .bind(partner_id)
    .bind(next)
    .bind(now)
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Brings this instance's claimed run (next run `claimed`) forward to `soon`.
pub async fn run_again_at(db: &Db, partner_id: i64, claimed: i64, soon: i64) -> Result<(), sqlx::Error> {
    sqlx::query("update billing_schedule set next_run_at = $1 where partner_id = $2 and next_run_at = $3")
        .bind(soon)
        .bind(partner_id)
        .bind(claimed)
        .execute(&db.pool)
        .await
        .map(|_| ())
}
