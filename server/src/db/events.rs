//! Backup events as the machine API stores them: inserted in batches, a repeat of the
//! sender's id (per partner) stored once. The dispatcher's own queries are in
//! `workers/dispatcher.rs` until they move here.

use sqlx::{Any, Transaction};
use std::collections::HashMap;

/// One event to store.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    /// The sender's id (unique per partner).
    pub external_id: &'a str,
    /// The customer it belongs to.
    pub customer_id: i64,
    /// Device name.
    pub device: &'a str,
    /// Backup job, if any.
    pub job: &'a str,
    /// Event type code.
    pub event_type: &'a str,
    /// Severity code.
    pub severity: &'a str,
    /// The sender's message.
    pub message: &'a str,
    /// When it happened (Unix ms).
    pub occurred_at: i64,
}

/// Inserts up to 100 events in one statement; returns external id → event id for the
/// rows it inserted (a sender's id already stored inserts nothing).
pub async fn insert_batch(
    tx: &mut Transaction<'static, Any>,
    partner_id: i64,
    received_at: i64,
    events: &[NewEvent<'_>],
) -> Result<HashMap<String, i64>, sqlx::Error> {
    if events.is_empty() {
        return Ok(HashMap::new());
    }
    let values: Vec<String> = (0..events.len())
        .map(|n| {
            let b = n * 8;
            format!("($1, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, $2)", b + 3, b + 4, b + 5, b + 6, b + 7, b + 8, b + 9, b + 10)
        })
        .collect();
    let sql = format!(
        "insert into event (partner_id, external_id, customer_id, device, job, event_type, severity, message, occurred_at, received_at) values {} \
         on conflict (partner_id, external_id) do nothing returning external_id, event_id",
        values.join(", ")
    );
    let mut q = sqlx::query_as::<_, (String, i64)>(&sql).bind(partner_id).bind(received_at);
    for e in events {
        q = q
            .bind(e.external_id)
            .bind(e.customer_id)
            .bind(e.device)
            .bind(e.job)
            .bind(e.event_type)
            .bind(e.severity)
            .bind(e.message)
            .bind(e.occurred_at);
    }
    Ok(q.fetch_all(&mut **tx).await?.into_iter().collect())
}
