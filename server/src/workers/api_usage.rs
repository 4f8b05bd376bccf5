//! Writes the Autotask calls the process's clients gathered (`autotask::ledger`) to the
//! database every few seconds, adding to what other instances wrote; what cannot be
//! written now goes with the next flush.

use crate::autotask::ledger::Ledger;
use crate::db::Db;
use std::sync::Arc;
use std::time::Duration;

/// How often gathered calls are written.
const FLUSH_EVERY: Duration = Duration::from_secs(10);

/// Writes what gathered; how many partner-hour-feature rows it added to.
pub async fn try_run_once(db: &Db, ledger: &Ledger) -> Result<usize, sqlx::Error> {
    let pending = ledger.take();
    if pending.is_empty() {
        return Ok(0);
    }
    let rows = pending.calls.len();
    match crate::db::history::api_calls::add(db, &pending).await {
        Ok(()) => Ok(rows),
        Err(e) => {
            ledger.put_back(pending);
            Err(e)
        }
    }
}

/// Flushes every few seconds until aborted.
pub fn spawn(db: Db, ledger: Arc<Ledger>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(FLUSH_EVERY).await;
            if let Err(e) = try_run_once(&db, &ledger).await {
                tracing::warn!(error = %e, "could not write the Autotask API usage (kept for the next try)");
            }
        }
    })
}
