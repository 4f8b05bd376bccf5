//! A round's contract part (Active customer contracts): the contracts of qualifying
//! companies changed since the mark, plus every contract of a company that qualifies
//! again, with the vendor and overall cost read from their current service units.
//!
//! Overall cost: the sum of `price` over the contract's ContractServiceUnits whose period
//! contains today (each row is one service's units times its price for the period), in
//! the partner's internal currency. Vendor: the name of the Company referenced by those
//! units' `vendorCompanyID` (several are joined by commas), otherwise "MSP Managed Services".

use super::rules::{contract_changes, normal_time, read_from};
use crate::autotask::entities::{Company, Contract, ContractServiceUnit};
use crate::autotask::query::in_batches;
use crate::autotask::{AutotaskClient, AutotaskError, Filter, Query};
use crate::db::sync::clients::{self as store, SyncedContract};
use crate::db::Db;
use crate::workers::jobs::Progress;
use app::types::money::Money;
use app::types::sync::{ClientState, SyncTrigger, DEFAULT_VENDOR};
use futures_util::stream::{self, StreamExt, TryStreamExt};
use std::collections::{BTreeSet, HashMap, HashSet};

/// Contracts written per transaction.
const BATCH: usize = 200;
/// Unit batches read at once: Autotask's thread limit per entity.
const READ_THREADS: usize = 3;

/// What Autotask says about one round's contracts.
pub struct Read {
    /// The contracts of qualifying companies, with (overall cost, vendor).
    pub contracts: Vec<(Contract, Money, String)>,
    /// The newest change seen.
    pub mark: Option<String>,
    /// The internal currency's ISO code (empty when Autotask does not say).
    pub currency: String,
}

/// The contracts changed since `mark` (all of them, without one; with `only_companies`,
/// theirs). Independent of the round's companies, so a round reads them alongside.
pub async fn changed(client: &AutotaskClient, mark: Option<&str>, only_companies: Option<&[i64]>) -> Result<Vec<Contract>, AutotaskError> {
    Ok(match (only_companies, mark) {
        (Some(ids), _) => {
            let mut all = Vec::new();
            for batch in in_batches("companyID", ids) {
                all.extend(client.query::<Contract>(&Query::new([batch])).await?);
            }
            all
        }
        (None, None) => client.fetch_all(vec![Filter::all()]).await?,
        (None, Some(m)) => client.query(&Query::new([Filter::gte("lastModifiedDateTime", read_from(m))])).await?,
    })
}

/// Completes what [`changed`] found: with `add_newly`, every contract of the `newly`
/// qualifying companies; keeps the ones of `qualifying` companies, and reads their current
/// service units (three batches at a time, the thread limit), vendors and currency.
pub async fn read(
    client: &AutotaskClient,
    mut found: Vec<Contract>,
    add_newly: bool,
    newly: &[i64],
    qualifying: &HashSet<i64>,
    now: i64,
) -> Result<Read, AutotaskError> {
    if add_newly {
        for batch in in_batches("companyID", newly) {
            found.extend(client.query::<Contract>(&Query::new([batch])).await?);
        }
    }
    let mark = found.iter().filter_map(|c| c.last_modified_date_time.as_deref().and_then(normal_time)).max();
    let mut seen = HashSet::new();
    found.retain(|c| c.company_id.is_some_and(|id| qualifying.contains(&id)) && seen.insert(c.id));
    let ids: Vec<i64> = found.iter().map(|c| c.id).collect();
    let today = app::format::iso_utc(now);
    let units: Vec<ContractServiceUnit> = stream::iter(in_batches("contractID", &ids))
        .map(|batch| {
            let query = Query::new([batch, Filter::lte("startDate", today.clone()), Filter::gt("endDate", today.clone())]);
            async move { client.query::<ContractServiceUnit>(&query).await }
        })
        .buffered(READ_THREADS)
        .try_concat()
        .await?;
    let vendor_ids: Vec<i64> = units.iter().filter_map(|u| u.vendor_company_id).collect::<BTreeSet<_>>().into_iter().collect();
    let mut vendors: HashMap<i64, String> = HashMap::new();
    for batch in in_batches("id", &vendor_ids) {
        for c in client.query::<Company>(&Query::new([batch]).include(&["id", "companyName"])).await? {
            vendors.insert(c.id, c.company_name.unwrap_or_default());
        }
    }
    let mut cost: HashMap<i64, Money> = HashMap::new();
    let mut vendor_names: HashMap<i64, BTreeSet<String>> = HashMap::new();
    for u in &units {
        let Some(contract) = u.contract_id else { continue };
        *cost.entry(contract).or_default() = cost.get(&contract).copied().unwrap_or_default() + Money::from_f64(u.price.unwrap_or_default());
        if let Some(name) = u.vendor_company_id.and_then(|v| vendors.get(&v)).filter(|n| !n.trim().is_empty()) {
            vendor_names.entry(contract).or_default().insert(name.trim().to_string());
        }
    }
    let contracts: Vec<(Contract, Money, String)> = found
        .into_iter()
        .map(|c| {
            let vendor = vendor_names.get(&c.id).map(|v| v.iter().cloned().collect::<Vec<_>>().join(", ")).unwrap_or_else(|| DEFAULT_VENDOR.into());
            let money = cost.get(&c.id).copied().unwrap_or_default();
            (c, money, vendor)
        })
        .collect();
    let currency = if contracts.is_empty() { String::new() } else { crate::services::billing::push::internal_currency(client).await };
    Ok(Read { contracts, mark, currency })
}

/// How a round's contracts went.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
}

/// Writes the contracts' rows, and each touched company's contract count.
pub async fn apply(db: &Db, partner_id: i64, read: &Read, trigger: SyncTrigger, now: i64, progress: &Progress) -> Result<Counts, sqlx::Error> {
    let mut counts = Counts::default();
    progress.stage("Writing contracts", read.contracts.len() as i64);
    for (n, chunk) in read.contracts.chunks(BATCH).enumerate() {
        let ids: Vec<i64> = chunk.iter().map(|(c, _, _)| c.id).collect();
        let prior = store::contracts(db, partner_id, &ids).await?;
        let mut touched = BTreeSet::new();
        let mut tx = db.begin().await?;
        for (contract, money, vendor) in chunk {
            let Some(company_id) = contract.company_id else { continue };
            let before = prior.get(&contract.id);
            let mut row = SyncedContract {
                contract_id: contract.id,
                company_id,
                contract_name: contract.contract_name.as_deref().map(str::trim).unwrap_or_default().to_string(),
                vendor_name: vendor.clone(),
                overall_cost: money.minor(),
                currency: read.currency.clone(),
                is_active: i64::from(contract.status == Some(1)),
                sync_state: ClientState::Synced.as_str().into(),
                sync_trigger: trigger.as_str().into(),
                modified_at: contract.last_modified_date_time.clone(),
                synced_at: now,
                ..SyncedContract::default()
            };
            let changes = contract_changes(before, &row);
            if changes.is_none() && before.is_some_and(|b| b.company_id == company_id) {
                counts.unchanged += 1;
                continue;
            }
            row.changes = changes.or_else(|| before.and_then(|b| b.changes.clone()));
            if before.is_some() {
                counts.updated += 1;
            } else {
                counts.created += 1;
            }
            touched.insert(company_id);
            if let Some(b) = before.filter(|b| b.company_id != company_id) {
                touched.insert(b.company_id);
            }
            store::save_contract(&mut tx, partner_id, &row).await?;
        }
        store::recount_contracts(&mut tx, partner_id, &touched.into_iter().collect::<Vec<_>>()).await?;
        tx.commit().await?;
        progress.set(((n * BATCH) + chunk.len()) as i64, read.contracts.len() as i64);
    }
    Ok(counts)
}

/// The words for a round's contract counts.
pub fn summary(c: &Counts) -> String {
    format!(
        "{} ({} new, {} updated)",
        app::format::count_of(c.created + c.updated, "contract synced", "contracts synced"),
        app::format::thousands(c.created),
        app::format::thousands(c.updated)
    )
}
