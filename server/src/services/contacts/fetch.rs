//! "Get Autotask contacts": a background job pulling every contact of the partner's
//! Autotask with the parallel id-range reader (within the thread limit). Pages are saved
//! as they arrive, while the other ranges are still being read; contacts the fetch did
//! not see are marked gone, and statuses are computed again.

use super::SqlContacts;
use crate::autotask::entities::Contact;
use crate::autotask::{FetchProgress, Filter};
use crate::db::contacts::{self as store, FetchedContact};
use crate::db::now_ms;
use crate::workers::jobs::{Outcome, Progress};
use app::format::{count_of, thousands};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::Instant;
use tokio::sync::mpsc;

/// Rows written per statement.
const SAVE_BATCH: usize = 100;

fn fetched(c: Contact, companies: &HashMap<i64, String>) -> FetchedContact {
    let text = |v: Option<String>| v.map(|s| s.trim().to_string()).unwrap_or_default();
    FetchedContact {
        contact_id: c.id,
        company_key: c.company_id.and_then(|id| companies.get(&id).cloned()).unwrap_or_default(),
        company_id: c.company_id,
        first_name: text(c.first_name),
        last_name: text(c.last_name),
        email: text(c.email_address),
        is_active: c.is_active.unwrap_or(1) != 0,
    }
}

impl SqlContacts {
    /// Fetches every contact and saves it; the job's work.
    pub async fn fetch(&self, partner_id: i64, progress: &Progress) -> Outcome {
        let client = self.settings.client(partner_id).await.map_err(|p| p.message)?;
        let database = |e: sqlx::Error| format!("database: {e}");
        let companies = store::company_keys(&self.db, partner_id).await.map_err(database)?;
        let before = store::count_present(&self.db, partner_id).await.map_err(database)?;
        progress.stage("Fetching contacts", 0);
        let clock = Instant::now();
        let started = now_ms();
        let fetch = FetchProgress::default();
        let (pages, mut arriving) = mpsc::unbounded_channel::<Vec<Contact>>();
        let sink = move |page: Vec<Contact>| {
            // The receiver lives until the read ends, so a send cannot fail before then.
            let _ = pages.send(page);
        };
        let read = async {
            let read = client.fetch_all_streamed::<Contact>(vec![Filter::all()], &fetch, &sink).await;
            drop(sink);
            read
        };
        let save = async {
            let mut saved = 0i64;
            while let Some(page) = arriving.recv().await {
                let rows: Vec<FetchedContact> = page.into_iter().map(|c| fetched(c, &companies)).collect();
                for chunk in rows.chunks(SAVE_BATCH) {
                    store::save_batch(&self.db, partner_id, chunk, started).await?;
                }
                saved += rows.len() as i64;
            }
            Ok::<i64, sqlx::Error>(saved)
        };
        let (read, saved) = progress.mirror(&fetch, async { tokio::join!(read, save) }).await;
        read.map_err(|e| e.to_string())?;
        let saved = saved.map_err(|e| format!("saving contacts: {e}"))?;
        let read_ms = clock.elapsed().as_millis();
        progress.stage("Comparing with backup users", 0);
        let gone = store::mark_missing(&self.db, partner_id, started).await.map_err(database)? as i64;
        store::refresh_status(&self.db.pool, partner_id, None).await.map_err(database)?;
        progress.succeeded.store(saved, Ordering::Relaxed);
        tracing::info!(partner_id, contacts = saved, gone, read_ms, total_ms = clock.elapsed().as_millis(), "contacts fetched from Autotask");
        let new = (saved - before + gone).max(0);
        let mut summary = format!("Got {} from Autotask ({} new", count_of(saved, "contact", "contacts"), thousands(new));
        if gone > 0 {
            summary.push_str(&format!(", {} no longer in Autotask", thousands(gone)));
        }
        summary.push_str(").");
        Ok(summary)
    }
}
