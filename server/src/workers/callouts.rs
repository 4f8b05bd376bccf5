//! Applies webhook callouts as they arrive. Woken when one is stored, it waits a short
//! window so a burst coalesces (one re-read per changed company, however many callouts
//! named it), then applies everything it can claim. It also looks every few seconds, for
//! callouts another instance left behind or handed back to retry, and prunes old ones.

use crate::db::now_ms;
use crate::services::sync::SqlSync;
use std::time::Duration;

/// How long a burst is gathered before it is applied.
pub const WINDOW: Duration = Duration::from_millis(50);
/// How often pending callouts are looked for without a wake-up.
const LOOK_EVERY: Duration = Duration::from_secs(5);
/// How often applied callouts are pruned.
const PRUNE_EVERY_MS: i64 = 3_600_000;

/// Applies what is pending until nothing more can be claimed; how many were settled.
pub async fn try_run_once(sync: &SqlSync) -> Result<usize, sqlx::Error> {
    let mut settled = 0;
    loop {
        match sync.apply_callouts(now_ms()).await? {
            0 => return Ok(settled),
            n => settled += n,
        }
    }
}

/// Runs until aborted.
pub fn spawn(sync: SqlSync) -> tokio::task::JoinHandle<()> {
    tokio::spawn(crate::autotask::usage::for_feature(crate::autotask::usage::Feature::Sync, async move {
        let mut pruned_at = 0;
        loop {
            // First what is already pending (stored before a restart), then each burst.
            if let Err(e) = try_run_once(&sync).await {
                tracing::warn!(error = %e, "webhook callouts could not be applied");
            }
            if now_ms() - pruned_at > PRUNE_EVERY_MS {
                pruned_at = now_ms();
                if let Err(e) = sync.prune_callouts(pruned_at).await {
                    tracing::warn!(error = %e, "old webhook callouts could not be pruned");
                }
            }
            sync.callout_stored(LOOK_EVERY).await;
            tokio::time::sleep(WINDOW).await;
        }
    }))
}
