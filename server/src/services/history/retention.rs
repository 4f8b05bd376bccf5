//! How long the partner keeps its history (a setting, 400 days unless changed) and the
//! pruning that holds to it, in small batches.

use crate::db::audit::{self, Change};
use crate::db::history::retention as store;
use crate::db::Db;
use crate::error::SqlxResultExt;
use app::error::AppError;
use app::types::history::SettingChange;
use app::types::CurrentUser;

/// The retention a partner may choose, in days.
pub const DAYS: std::ops::RangeInclusive<i64> = 30..=3_650;

/// Rows deleted per batch.
pub const BATCH: i64 = 500;

/// Sets the partner's retention, recording the change.
pub async fn set(db: &Db, actor: &CurrentUser, days: i64) -> Result<i64, AppError> {
    if !DAYS.contains(&days) {
        return Err(AppError::invalid(
            "days",
            format!("Keep the history for {} to {} days (about ten years).", DAYS.start(), app::format::thousands(*DAYS.end())),
        ));
    }
    let was = store::days(db, actor.partner_id).await.internal()?;
    if was == days {
        return Ok(days);
    }
    let mut tx = db.begin().await.internal()?;
    store::set_days(&mut tx, actor.partner_id, days).await.internal()?;
    let changes = [SettingChange { field: "Keep history for (days)".into(), before: was.to_string(), after: days.to_string() }];
    let summary = format!("History is kept for {days} days (was {was})");
    audit::record_change(&mut *tx, actor.partner_id, &actor.email, "history.retention", &summary, &Change { customer_id: None, changes: &changes })
        .await?;
    tx.commit().await.internal()?;
    Ok(days)
}

/// What one pruning pass removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Runs (with their lines).
    pub runs: u64,
    /// Settings changes and sign-ins.
    pub changes: u64,
    /// Hours of Autotask API usage.
    pub usage_hours: u64,
}

/// Removes every partner's history older than its retention, `BATCH` rows at a time,
/// yielding between batches so other work goes first.
pub async fn prune_once(db: &Db, now_ms: i64) -> Result<Pruned, sqlx::Error> {
    let mut pruned = Pruned::default();
    for (partner_id, days) in store::all(db).await? {
        let before = now_ms - days.max(1) * 86_400_000;
        pruned.usage_hours += crate::db::history::api_calls::prune(db, partner_id, before).await?;
        loop {
            let runs = store::prune_runs(db, partner_id, before, BATCH / 5).await?;
            let changes = store::prune_changes(db, partner_id, before, BATCH).await?;
            pruned.runs += runs;
            pruned.changes += changes;
            if runs == 0 && changes == 0 {
                break;
            }
            tokio::task::yield_now().await;
        }
    }
    if pruned != Pruned::default() {
        tracing::info!(runs = pruned.runs, changes = pruned.changes, usage_hours = pruned.usage_hours, "old history pruned");
    }
    Ok(pruned)
}
