//! The customer and contract sync's polling schedule: every few seconds, start a round
//! (a job) for each partner whose round is due. [`try_run_once`] is one look, which the
//! tests call directly with the clock they want.

use crate::db::{self, now_ms, Db};
use crate::services::sync::SqlSync;
use app::types::sync::SyncTrigger;
use std::time::Duration;

/// How often due rounds are looked for.
const LOOK_EVERY: Duration = Duration::from_secs(10);

/// Starts the due rounds: each is claimed with one conditional write (moving the next
/// round an interval on), so with several instances exactly one starts it; a round
/// already running (Sync now) is left to finish. Returns how many were started.
pub async fn try_run_once(db: &Db, sync: &SqlSync, now: i64) -> Result<usize, sqlx::Error> {
    let mut started = 0;
    for (partner_id, every_minutes) in db::sync::due_partners(db, now).await? {
        if !db::sync::claim(db, partner_id, now + every_minutes.max(1) * 60_000, now).await? {
            continue;
        }
        match sync.start_round(partner_id, "schedule", SyncTrigger::Poll).await {
            Ok(_) => started += 1,
            Err(e) => tracing::info!(partner_id, reason = %e, "sync round not started"),
        }
    }
    Ok(started)
}

/// Looks for due rounds every few seconds until aborted.
pub fn spawn(db: Db, sync: SqlSync) -> tokio::task::JoinHandle<()> {
    tokio::spawn(crate::autotask::usage::for_feature(crate::autotask::usage::Feature::Sync, async move {
        loop {
            if let Err(e) = try_run_once(&db, &sync, now_ms()).await {
                tracing::warn!(error = %e, "could not look for due sync rounds");
            }
            tokio::time::sleep(LOOK_EVERY).await;
        }
    }))
}
