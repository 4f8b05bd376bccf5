//! Billing contracts on the map: the contracts of a customer's companies with the
//! reasons not to bill through each (its flags), and the contracts a save chooses, read
//! from Autotask before the save's transaction opens.

use super::{flag, SqlCustomerMap, CONTRACT_TYPE_RECURRING};
use crate::autotask::entities::Contract;
use crate::autotask::Query;
use crate::db::now_ms;
use crate::error::autotask_problem;
use crate::error::SqlxResultExt;
use app::error::AppError;
use app::types::map::{ContractOption, Flag, FlagCode};
use std::collections::{BTreeSet, HashMap};

/// A contract's reasons not to bill through it (empty: fit).
pub fn contract_flags(contract: &Contract, type_label: &str, services: i64, bundles: i64, today: &str) -> Vec<Flag> {
    let mut flags = Vec::new();
    if contract.contract_type != Some(CONTRACT_TYPE_RECURRING) {
        flags.push(flag(FlagCode::NotRecurring, format!("Not a Recurring Service contract (it is {type_label}).")));
    }
    if contract.status != Some(1) {
        flags.push(flag(FlagCode::Inactive, "Inactive in Autotask."));
    }
    if let Some(end) = contract.end_date.as_deref().map(|d| d.get(..10).unwrap_or(d)) {
        if end < today {
            flags.push(flag(FlagCode::Expired, format!("Expired on {end}.")));
        }
    }
    if services == 0 && bundles > 0 {
        flags.push(flag(FlagCode::BundleOnly, "Its services sit only inside a service bundle; billing needs services attached directly."));
    } else if services == 0 {
        flags.push(flag(FlagCode::NoServices, "No services are attached to it yet."));
    }
    flags
}

/// The most companies one customer's contracts are fetched for.
const MAX_STAGED_COMPANIES: usize = 50;

fn today() -> String {
    app::format::iso_utc(now_ms())[..10].to_string()
}

impl SqlCustomerMap {
    /// The contracts of the customer's linked companies, or of the companies its staged
    /// changes link it to (each checked in Autotask when it was never discovered), fit
    /// ones first, then by name.
    pub(super) async fn customer_contracts(
        &self,
        partner_id: i64,
        customer_id: i64,
        staged: Option<Vec<i64>>,
    ) -> Result<Vec<ContractOption>, AppError> {
        let linked = crate::db::map::companies_of_customer(&self.db, partner_id, customer_id).await.internal()?.ok_or(AppError::NotFound)?;
        let companies = match staged {
            None => linked,
            Some(ids) => {
                let ids: BTreeSet<i64> = ids.into_iter().collect();
                if ids.len() > MAX_STAGED_COMPANIES {
                    return Err(AppError::invalid("companies", format!("Get contracts for at most {MAX_STAGED_COMPANIES} companies at a time.")));
                }
                self.ensure_companies(partner_id, &ids).await?;
                ids.into_iter().collect()
            }
        };
        if companies.is_empty() {
            return Err(AppError::Conflict("Link this customer to its Autotask company first; contracts belong to companies.".into()));
        }
        let client = self.settings.client(partner_id).await?;
        let mut contracts: Vec<Contract> = Vec::new();
        for filter in crate::autotask::query::in_batches("companyID", &companies) {
            contracts.extend(client.query::<Contract>(&Query::new([filter])).await.map_err(autotask_problem)?);
        }
        let mut options = self.contract_options(&client, &contracts).await?;
        let blocking = |o: &ContractOption| o.flags.iter().filter(|f| f.code.blocks_billing()).count();
        options.sort_by(|a, b| blocking(a).cmp(&blocking(b)).then(a.name.cmp(&b.name)));
        Ok(options)
    }

    /// Fetches the contracts a save chooses, with their flags, before the save's transaction
    /// opens (no database lock is held while Autotask answers). Whether each belongs to a
    /// company its customer ends up linked to is checked inside the transaction.
    pub(super) async fn chosen_contracts(&self, partner_id: i64, ids: &BTreeSet<i64>) -> Result<HashMap<i64, (Contract, Vec<Flag>)>, AppError> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let client = self.settings.client(partner_id).await?;
        let fetched = futures_util::future::join_all(ids.iter().map(|id| client.get::<Contract>(*id))).await;
        let mut contracts = Vec::with_capacity(ids.len());
        for (id, contract) in ids.iter().zip(fetched) {
            let Some(contract) = contract.map_err(autotask_problem)? else {
                return Err(AppError::invalid("changes", format!("Autotask has no contract with ID {id}.")));
            };
            contracts.push(contract);
        }
        let options = self.contract_options(&client, &contracts).await?;
        let mut flags: HashMap<i64, Vec<Flag>> = options.into_iter().map(|o| (o.contract_id, o.flags)).collect();
        Ok(contracts
            .into_iter()
            .map(|c| {
                let f = flags.remove(&c.id).unwrap_or_default();
                (c.id, (c, f))
            })
            .collect())
    }

    async fn contract_options(&self, client: &crate::autotask::AutotaskClient, contracts: &[Contract]) -> Result<Vec<ContractOption>, AppError> {
        let ids: Vec<i64> = contracts.iter().map(|c| c.id).collect();
        let mut services: HashMap<i64, i64> = HashMap::new();
        let mut bundles: HashMap<i64, i64> = HashMap::new();
        for filter in crate::autotask::query::in_batches("contractID", &ids) {
            let query = Query::new([filter]).include(&["id", "contractID"]);
            let (s, b) = tokio::join!(client.query_all_raw("ContractServices", &query), client.query_all_raw("ContractServiceBundles", &query));
            for row in s.map_err(autotask_problem)? {
                *services.entry(row["contractID"].as_i64().unwrap_or_default()).or_default() += 1;
            }
            for row in b.map_err(autotask_problem)? {
                *bundles.entry(row["contractID"].as_i64().unwrap_or_default()).or_default() += 1;
            }
        }
        let types: HashMap<i64, String> = client
            .picklist("Contracts", "contractType")
            .await
            .map_err(autotask_problem)?
            .into_iter()
            .filter_map(|v| Some((v.value.parse().ok()?, v.label)))
            .collect();
        let today = today();
        Ok(contracts
            .iter()
            .map(|c| {
                let type_label = c.contract_type.and_then(|t| types.get(&t).cloned()).unwrap_or_else(|| "unknown type".into());
                let (s, b) = (services.get(&c.id).copied().unwrap_or(0), bundles.get(&c.id).copied().unwrap_or(0));
                ContractOption {
                    contract_id: c.id,
                    company_id: c.company_id.unwrap_or_default(),
                    name: c.contract_name.clone().unwrap_or_default(),
                    number: c.contract_number.clone().unwrap_or_default(),
                    flags: contract_flags(c, &type_label, s, b, &today),
                    type_label,
                    start: c.start_date.as_deref().map(|d| d.chars().take(10).collect()).unwrap_or_default(),
                    end: c.end_date.as_deref().map(|d| d.chars().take(10).collect()).unwrap_or_default(),
                    services: s,
                    bundles: b,
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contracts_are_flagged_with_each_reason() {
        let fine = Contract { id: 1, contract_type: Some(7), status: Some(1), end_date: Some("2030-12-31T00:00:00Z".into()), ..Contract::default() };
        assert!(contract_flags(&fine, "Recurring Service", 2, 0, "2026-11-22").is_empty());
        let codes = |c: &Contract, s, b| contract_flags(c, "Time & Materials", s, b, "2026-11-22").into_iter().map(|f| f.code).collect::<Vec<_>>();
        assert_eq!(codes(&Contract { contract_type: Some(1), ..fine.clone() }, 1, 0), [FlagCode::NotRecurring]);
        assert_eq!(
            codes(&Contract { status: Some(0), end_date: Some("2025-12-31T00:00:00Z".into()), ..fine.clone() }, 1, 0),
            [FlagCode::Inactive, FlagCode::Expired]
        );
        assert_eq!(codes(&fine, 0, 1), [FlagCode::BundleOnly]);
        assert_eq!(codes(&fine, 0, 0), [FlagCode::NoServices]);
    }
}
