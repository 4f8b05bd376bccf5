//! Import: discovered companies become customers under the import rules, in batches;
//! each company records its outcome (imported, or failed with the reason).

use super::rules::{check, CustomerDraft, Discovered};
use super::SqlCompanies;
use crate::db::{companies as store, customers, links, now_ms};
use crate::workers::jobs::{Outcome, Progress};
use sqlx::{Any, Transaction};
use std::sync::atomic::Ordering;

/// Companies imported per transaction.
const IMPORT_BATCH: usize = 200;

enum Upsert {
    Created,
    Updated,
}

impl SqlCompanies {
    /// Imports the companies (already resolved); the job's work.
    pub async fn import(&self, partner_id: i64, actor: &str, ids: &[i64], progress: &Progress) -> Outcome {
        progress.stage("Importing", ids.len() as i64);
        let mut done = 0i64;
        let (mut created, mut updated) = (0i64, 0i64);
        for chunk in ids.chunks(IMPORT_BATCH) {
            let (c, u) =
                self.import_batch(partner_id, actor, chunk, progress).await.map_err(|e| format!("database error after {done} companies: {e}"))?;
            created += c;
            updated += u;
            done += chunk.len() as i64;
            progress.set(done, ids.len() as i64);
        }
        crate::services::map::rematch(&self.db, partner_id).await.map_err(|e| format!("matching: {e}"))?;
        crate::services::contacts::links_changed(&self.db, partner_id).await.map_err(|e| format!("contacts: {e}"))?;
        let failed = progress.failed.load(Ordering::Relaxed);
        let mut summary = format!("Imported {} of {} companies as customers ({created} new, {updated} updated)", done - failed, ids.len());
        if failed > 0 {
            summary.push_str(&format!("; {failed} failed \u{2014} see the reasons on the Companies page"));
        }
        summary.push('.');
        Ok(summary)
    }

    async fn import_batch(&self, partner_id: i64, actor: &str, ids: &[i64], progress: &Progress) -> Result<(i64, i64), sqlx::Error> {
        let rows = store::import_sources(&self.db, partner_id, ids).await?;
        let now = now_ms();
        let (mut created, mut updated) = (0, 0);
        let mut tx = self.db.begin().await?;
        for r in &rows {
            let outcome = if r.missing != 0 {
                Err("This company is no longer in Autotask (the latest discovery did not see it).".to_string())
            } else {
                check(&Discovered::from(r))
            };
            let (status, message) = match outcome {
                Ok(draft) => {
                    match upsert_customer(&mut tx, partner_id, actor, r.company_id, &draft, now).await? {
                        Upsert::Created => created += 1,
                        Upsert::Updated => updated += 1,
                    }
                    progress.succeeded.fetch_add(1, Ordering::Relaxed);
                    ("imported", None)
                }
                Err(reason) => {
                    progress.failed.fetch_add(1, Ordering::Relaxed);
                    ("failed", Some(reason))
                }
            };
            store::set_import_status(&mut tx, partner_id, r.company_id, status, message.as_deref(), now).await?;
        }
        tx.commit().await?;
        Ok((created, updated))
    }
}

/// Creates the customer of a company, or refreshes the customers an earlier import made
/// from it (customers matched by hand keep their own details).
async fn upsert_customer(
    tx: &mut Transaction<'static, Any>,
    partner_id: i64,
    actor: &str,
    company_id: i64,
    d: &CustomerDraft,
    now: i64,
) -> Result<Upsert, sqlx::Error> {
    let linked = links::customers_of_company(tx, partner_id, company_id).await?;
    if linked.is_empty() {
        let customer_id = customers::insert_draft(tx, partner_id, d, "autotask_import", now).await?;
        links::insert(tx, partner_id, customer_id, company_id, &d.name, &d.name, actor, now).await?;
        return Ok(Upsert::Created);
    }
    for l in linked.iter().filter(|l| l.source == "autotask_import") {
        customers::update_draft(tx, partner_id, l.customer_id, d, now).await?;
        links::refresh_names(tx, l.customer_id, company_id, &d.name).await?;
    }
    Ok(Upsert::Updated)
}
