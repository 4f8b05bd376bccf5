//! Import: discovered companies become customers under the import rules, in batches;
//! each company records its outcome (imported, or failed with the reason). A company
//! whose name an unlinked customer already has is linked to that customer rather than
//! duplicated; [`verdict`] decides each company for the import and for its preview alike.

use super::rules::{check, CustomerDraft, Discovered};
use super::SqlCompanies;
use crate::db::companies::{self as store, ImportSource};
use crate::db::{customers, links, now_ms};
use crate::workers::jobs::{Outcome, Progress};
use app::types::companies::ImportPlan;
use app::types::history::RunLine;
use sqlx::{Any, Transaction};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;

/// Companies imported per transaction.
const IMPORT_BATCH: usize = 200;

/// What importing one company does to the customers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    /// A new customer, linked to the company.
    Create,
    /// The customers an earlier import made from it are refreshed.
    Update,
    /// The one unlinked customer of the same name is linked to it (its details kept).
    Link(i64),
}

/// One company's import: the rules' verdict, then what it does given whether a customer
/// is linked to it already and the unlinked customers that bear its name. Several of
/// those are a question only the partner can answer, so the row fails saying so.
fn verdict(r: &ImportSource, linked: bool, same_name: &[i64]) -> Result<(CustomerDraft, Plan), String> {
    if r.missing != 0 {
        return Err("This company is no longer in Autotask (the latest discovery did not see it).".to_string());
    }
    let draft = check(&Discovered::from(r))?;
    let plan = match (linked, same_name) {
        (true, _) => Plan::Update,
        (false, []) => Plan::Create,
        (false, [one]) => Plan::Link(*one),
        (false, several) => {
            return Err(format!(
                "{} Taskbridge customers without a link are named \u{201c}{}\u{201d}: link the right one on the Customer Map, or rename the others, then import again.",
                several.len(),
                draft.name
            ))
        }
    };
    Ok((draft, plan))
}

/// The key customers are matched on by name (as `customer.name_key` stores it).
fn name_key(name: &str) -> String {
    name.trim().to_lowercase()
}

impl SqlCompanies {
    /// Imports the companies (already resolved); the job's work.
    pub async fn import(&self, partner_id: i64, actor: &str, ids: &[i64], progress: &Progress) -> Outcome {
        progress.stage("Importing", ids.len() as i64);
        let mut done = 0i64;
        let mut counts = Counts::default();
        for chunk in ids.chunks(IMPORT_BATCH) {
            let c = self.import_batch(partner_id, actor, chunk, progress).await.map_err(|e| format!("database error after {done} companies: {e}"))?;
            counts.created += c.created;
            counts.updated += c.updated;
            counts.linked += c.linked;
            done += chunk.len() as i64;
            progress.set(done, ids.len() as i64);
        }
        crate::services::map::rematch(&self.db, partner_id).await.map_err(|e| format!("matching: {e}"))?;
        crate::services::contacts::links_changed(&self.db, partner_id).await.map_err(|e| format!("contacts: {e}"))?;
        let failed = progress.failed.load(Ordering::Relaxed);
        let linked = match counts.linked {
            0 => String::new(),
            n => format!(", {n} linked to an existing customer of the same name"),
        };
        let mut summary = format!(
            "Imported {} of {} companies as customers ({} new, {} updated{linked})",
            done - failed,
            ids.len(),
            counts.created,
            counts.updated
        );
        if failed > 0 {
            summary.push_str(&format!("; {failed} failed \u{2014} see the reasons on the Companies page"));
        }
        summary.push('.');
        Ok(summary)
    }

    async fn import_batch(&self, partner_id: i64, actor: &str, ids: &[i64], progress: &Progress) -> Result<Counts, sqlx::Error> {
        let rows = store::import_sources(&self.db, partner_id, ids).await?;
        let now = now_ms();
        let mut counts = Counts::default();
        let mut tx = self.db.begin().await?;
        for r in &rows {
            let linked = links::customers_of_company(&mut tx, partner_id, r.company_id).await?;
            let same_name = if linked.is_empty() { customers::unlinked_named(&mut tx, partner_id, &r.name).await? } else { Vec::new() };
            let (status, message) = match verdict(r, !linked.is_empty(), &same_name) {
                Ok((draft, plan)) => {
                    apply(&mut tx, partner_id, actor, r.company_id, &draft, plan, &linked, now).await?;
                    counts.add(plan);
                    progress.succeeded.fetch_add(1, Ordering::Relaxed);
                    ("imported", None)
                }
                Err(reason) => {
                    progress
                        .fail(RunLine::failed(None, r.name.clone(), format!("Company {}", r.company_id), reason.clone()).for_retry(r.company_id, ""));
                    ("failed", Some(reason))
                }
            };
            store::set_import_status(&mut tx, partner_id, r.company_id, status, message.as_deref(), now).await?;
        }
        tx.commit().await?;
        Ok(counts)
    }
}

/// What an import did, by [`Plan`].
#[derive(Debug, Default)]
struct Counts {
    created: i64,
    updated: i64,
    linked: i64,
}

impl Counts {
    fn add(&mut self, plan: Plan) {
        match plan {
            Plan::Create => self.created += 1,
            Plan::Update => self.updated += 1,
            Plan::Link(_) => self.linked += 1,
        }
    }
}

/// Carries out a company's plan: creates its customer, links the existing one, or
/// refreshes the customers an earlier import made from it (customers matched by hand
/// keep their own details).
#[allow(clippy::too_many_arguments)]
async fn apply(
    tx: &mut Transaction<'static, Any>,
    partner_id: i64,
    actor: &str,
    company_id: i64,
    d: &CustomerDraft,
    plan: Plan,
    linked: &[links::LinkedCustomer],
    now: i64,
) -> Result<(), sqlx::Error> {
    match plan {
        Plan::Create => {
            let customer_id = customers::insert_draft(tx, partner_id, d, "autotask_import", now).await?;
            links::insert(tx, partner_id, customer_id, company_id, &d.name, &d.name, actor, now).await
        }
        Plan::Link(customer_id) => links::insert(tx, partner_id, customer_id, company_id, &d.name, &d.name, actor, now).await,
        Plan::Update => {
            for l in linked.iter().filter(|l| l.source == "autotask_import") {
                customers::update_draft(tx, partner_id, l.customer_id, d, now).await?;
                links::refresh_names(tx, l.customer_id, company_id, &d.name).await?;
            }
            Ok(())
        }
    }
}

impl SqlCompanies {
    /// What importing these companies would do, decided as the import decides (no write).
    pub(super) async fn plan_ids(&self, partner_id: i64, ids: &[i64]) -> Result<ImportPlan, sqlx::Error> {
        let mut unlinked: HashMap<String, Vec<i64>> = HashMap::new();
        for (id, key) in customers::unlinked(&self.db, partner_id).await? {
            unlinked.entry(key).or_default().push(id);
        }
        let mut plan = ImportPlan { total: ids.len() as i64, ..ImportPlan::default() };
        // In the import's batches and order, so a link made early takes the customer
        // from the companies after it here too.
        for chunk in ids.chunks(IMPORT_BATCH) {
            let linked: HashSet<i64> =
                links::customers_of_companies(&self.db, partner_id, chunk).await?.into_iter().map(|(company, _, _)| company).collect();
            let rows = store::import_sources(&self.db, partner_id, chunk).await?;
            for r in &rows {
                let linked = linked.contains(&r.company_id);
                let key = name_key(&r.name);
                let same_name = if linked { &[][..] } else { unlinked.get(&key).map(Vec::as_slice).unwrap_or_default() };
                match verdict(r, linked, same_name) {
                    Ok((_, Plan::Create)) => plan.create += 1,
                    Ok((_, Plan::Update)) => plan.update += 1,
                    Ok((_, Plan::Link(id))) => {
                        plan.link += 1;
                        if let Some(v) = unlinked.get_mut(&key) {
                            v.retain(|c| *c != id);
                        }
                    }
                    Err(_) => plan.fail += 1,
                }
            }
        }
        Ok(plan)
    }
}
