//! The billing schedule: automatic pushes for partners with a "Synchronize with Autotask"
//! notification, every N hours. [`spawn`] checks every minute; [`try_run_once`] is one
//! check, which the tests call directly with the clock they want.

use crate::db::{self, now_ms, Db};
use crate::services::billing::push;
use crate::services::connection::SqlAutotaskSettings;
use app::types::billing::PushSelection;

/// How soon a scheduled push that had failures runs again.
pub const RETRY_FAILED_AFTER_MS: i64 = 15 * 60_000;

/// Runs the scheduled pushes that are due: partners with a "Synchronize with Autotask"
/// notification whose next run has come (the first right away). Each due run is claimed
/// with one conditional write, so with several instances exactly one runs it. A run with
/// failures is due again after [`RETRY_FAILED_AFTER_MS`].
pub async fn try_run_once(db: &Db, connections: &SqlAutotaskSettings, now: i64) -> Result<usize, sqlx::Error> {
    let partners = db::billing_schedule::sync_partners(db).await?;
    let mut ran = 0;
    for partner_id in partners {
        let plan = db::billing_schedule::get(db, partner_id).await?;
        let next = now + plan.every_hours * 3_600_000;
        let claimed = db::billing_schedule::claim(db, partner_id, next, now).await?;
        if !claimed {
            continue;
        }
        let client = match connections.client(partner_id).await {
            Ok(c) => c,
            Err(p) => {
                tracing::warn!(partner_id, problem = %p.message, "scheduled push skipped");
                continue;
            }
        };
        let complete = match push::apply(
            db,
            &client,
            partner_id,
            "schedule",
            &PushSelection { hold_above: plan.hold_above, ..Default::default() },
            None,
        )
        .await
        {
            Ok(r) => {
                tracing::info!(partner_id, applied = r.applied, held = r.held, failed = r.failed, "scheduled push");
                r.failed == 0
            }
            Err(e) => {
                tracing::warn!(partner_id, error = %e, "scheduled push failed");
                false
            }
        };
        if !complete {
            // A push that failed (wholly or for some lines) is tried again soon rather than
            // a whole interval later; only this instance's claim is moved.
            let soon = now + RETRY_FAILED_AFTER_MS.min(plan.every_hours * 3_600_000);
            db::billing_schedule::run_again_at(db, partner_id, next, soon).await?;
        }
        ran += 1;
    }
    Ok(ran)
}

/// Checks for due scheduled pushes every minute until aborted.
pub fn spawn(db: Db, connections: SqlAutotaskSettings) -> tokio::task::JoinHandle<()> {
    tokio::spawn(crate::autotask::usage::for_feature(crate::autotask::usage::Feature::Billing, async move {
        loop {
            if let Err(e) = try_run_once(&db, &connections, now_ms()).await {
                tracing::warn!(error = %e, "could not look for scheduled pushes");
            }
            tokio::time::sleep(std::time::Duration::from_secs(60)).await;
        }
    }))
}
