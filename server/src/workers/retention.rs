//! Prunes history older than each partner's retention, and records jobs a crash
//! interrupted, once an hour (the first a minute after start, so start-up work goes first).

use crate::db::{now_ms, Db};
use crate::services::history::retention::prune_once;
use std::time::Duration;

/// Prunes every hour until aborted.
pub fn spawn(db: Db) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(60)).await;
        loop {
            if let Err(e) = prune_once(&db, now_ms()).await {
                tracing::warn!(error = %e, "could not prune old history");
            }
            if let Err(e) = crate::workers::jobs::Jobs::new(db.clone()).sweep_stale(now_ms()).await {
                tracing::warn!(error = %e, "could not look for interrupted jobs");
            }
            tokio::time::sleep(Duration::from_secs(3_600)).await;
        }
    })
}
