//! Saving the map's staged changes all-or-nothing: companies typed by ID and chosen
//! contracts are read from Autotask first, then one transaction checks every change and
//! the 1-to-many rule, writes the link differences and contracts, and records history.

use super::{SqlCustomerMap, COMPANY_TYPE_CUSTOMER, MAX_CHANGES};
use crate::autotask::entities::Company;
use crate::db::companies::DiscoveredCompany;
use crate::db::map::{self as store, ContractChoice};
use crate::db::{audit, now_ms};
use crate::error::autotask_problem;
use crate::error::SqlxResultExt;
use crate::services::companies::rules::{check, Discovered};
use app::error::AppError;
use app::types::history::{SettingChange, NONE};
use app::types::map::{Flag, MapChange, MapSaved};
use app::types::CurrentUser;
use std::collections::{BTreeSet, HashMap, HashSet};

/// Checks that every linked group is 1-to-1 or 1-to-many: no link may join a customer
/// with several companies to a company with several customers.
fn check_groups(edges: &BTreeSet<(i64, i64)>, names: &HashMap<i64, String>, company_names: &HashMap<i64, String>) -> Result<(), AppError> {
    let mut customer_degree: HashMap<i64, usize> = HashMap::new();
    let mut company_degree: HashMap<i64, usize> = HashMap::new();
    for (c, k) in edges {
        *customer_degree.entry(*c).or_default() += 1;
        *company_degree.entry(*k).or_default() += 1;
    }
    for (c, k) in edges {
        if customer_degree[c] > 1 && company_degree[k] > 1 {
            let customer = names.get(c).cloned().unwrap_or_else(|| format!("#{c}"));
            let company = company_names.get(k).cloned().unwrap_or_else(|| format!("#{k}"));
            return Err(AppError::invalid(
                "changes",
                format!(
                    "\u{201c}{customer}\u{201d} would be linked to {} companies while Autotask company \u{201c}{company}\u{201d} ({k}) is linked to {} customers. \
                     A company already part of a 1-to-many match cannot be linked elsewhere: keep each group 1-to-1 or 1-to-many.",
                    customer_degree[c], company_degree[k]
                ),
            ));
        }
    }
    Ok(())
}

impl SqlCustomerMap {
    /// Companies referenced by changes but not discovered yet: fetched from Autotask (an
    /// Autotask ID typed by hand) and stored, or refused when Autotask has no such company.
    pub(super) async fn ensure_companies(&self, partner_id: i64, ids: &BTreeSet<i64>) -> Result<(), AppError> {
        let ids: Vec<i64> = ids.iter().copied().collect();
        let known = crate::db::companies::discovered_ids(&self.db, partner_id, &ids).await.internal()?;
        let unknown: Vec<i64> = ids.into_iter().filter(|id| !known.contains(id)).collect();
        if unknown.is_empty() {
            return Ok(());
        }
        let client = self.settings.client(partner_id).await?;
        for id in unknown {
            let Some(company) = client.get::<Company>(id).await.map_err(autotask_problem)? else {
                return Err(AppError::invalid("changes", format!("Autotask has no company with ID {id}. Check the number in Autotask.")));
            };
            let type_label = match company.company_type {
                Some(COMPANY_TYPE_CUSTOMER) => "Customer".to_string(),
                Some(t) => format!("Type {t}"),
                None => "\u{2014}".into(),
            };
            let fetched = DiscoveredCompany {
                company_id: id,
                name: company.company_name.unwrap_or_default(),
                company_type: company.company_type,
                type_label,
                is_active: company.is_active.unwrap_or(true),
                address1: company.address1,
                city: company.city,
                state: company.state,
                postal_code: company.postal_code,
                country_id: company.country_id,
                ..DiscoveredCompany::default()
            };
            crate::db::companies::insert_if_absent(&self.db, partner_id, &fetched, now_ms()).await.internal()?;
        }
        Ok(())
    }

    pub(super) async fn save_changes(&self, actor: &CurrentUser, changes: Vec<MapChange>) -> Result<MapSaved, AppError> {
        let partner_id = actor.partner_id;
        if changes.is_empty() {
            return Err(AppError::invalid("changes", "There are no changes to save."));
        }
        if changes.len() > MAX_CHANGES {
            return Err(AppError::invalid("changes", format!("Save at most {MAX_CHANGES} changes at a time.")));
        }
        // Companies typed by ID are looked up in Autotask first (outside the transaction).
        let referenced: BTreeSet<i64> = changes
            .iter()
            .filter_map(|c| match c {
                MapChange::Link { company_id, .. } | MapChange::CreateCustomer { company_id } => Some(*company_id),
                _ => None,
            })
            .collect();
        self.ensure_companies(partner_id, &referenced).await?;
        // Chosen contracts are read from Autotask before the transaction, too.
        let chosen: BTreeSet<i64> = changes
            .iter()
            .filter_map(|c| match c {
                MapChange::SetContract { contract_id, .. } => *contract_id,
                _ => None,
            })
            .collect();
        let fetched = self.chosen_contracts(partner_id, &chosen).await?;

        let mut tx = self.db.begin().await.internal()?;
        let current = store::all_links(&mut tx, partner_id).await.internal()?;
        let customer_names = store::all_customer_names(&mut tx, partner_id).await.internal()?;
        let company_ids: Vec<i64> = referenced.iter().copied().chain(current.iter().map(|e| e.1)).collect::<BTreeSet<_>>().into_iter().collect();
        let company_names = store::company_names(&mut tx, partner_id, &company_ids).await.internal()?;
        let customer_label = |id: i64| customer_names.get(&id).cloned().unwrap_or_else(|| format!("#{id}"));
        let mut edges = current.clone();
        let mut names = customer_names.clone();
        let mut created = Vec::new();
        let mut contracts: Vec<(i64, Option<i64>, bool)> = Vec::new();
        // What the History keeps: per customer, the summary and the value before and after.
        let mut history: Vec<(i64, String, SettingChange)> = Vec::new();
        let value_of = |field: &str, before: String, after: String| SettingChange { field: field.into(), before, after };
        let now = now_ms();
        for change in &changes {
            match *change {
                MapChange::Link { customer_id, company_id } => {
                    if !names.contains_key(&customer_id) {
                        return Err(AppError::invalid("changes", format!("Customer {customer_id} does not exist.")));
                    }
                    if !edges.insert((customer_id, company_id)) {
                        return Err(AppError::invalid(
                            "changes",
                            format!("\u{201c}{}\u{201d} is already linked to Autotask company {company_id}.", customer_label(customer_id)),
                        ));
                    }
                }
                MapChange::Unlink { customer_id, company_id } => {
                    if !edges.remove(&(customer_id, company_id)) {
                        return Err(AppError::invalid(
                            "changes",
                            format!("\u{201c}{}\u{201d} is not linked to Autotask company {company_id}.", customer_label(customer_id)),
                        ));
                    }
                }
                MapChange::CreateCustomer { company_id } => {
                    let source = crate::db::companies::import_source(&mut tx, partner_id, company_id).await.internal()?;
                    let company = Discovered::from(&source);
                    let draft = check(&company).map_err(|reason| {
                        AppError::invalid("changes", format!("\u{201c}{}\u{201d} cannot become a customer: {reason}", company.name))
                    })?;
                    let customer_id = crate::db::customers::insert_draft(&mut tx, partner_id, &draft, "customer_map", now).await.internal()?;
                    names.insert(customer_id, draft.name.clone());
                    edges.insert((customer_id, company_id));
                    created.push((company_id, customer_id));
                    history.push((
                        customer_id,
                        format!("Created customer \u{201c}{}\u{201d} from Autotask company {company_id}", draft.name),
                        value_of("Customer", NONE.into(), format!("{} (from Autotask company {company_id})", draft.name)),
                    ));
                }
                MapChange::SetContract { customer_id, contract_id, confirm_flags } => {
                    if !names.contains_key(&customer_id) {
                        return Err(AppError::invalid("changes", format!("Customer {customer_id} does not exist.")));
                    }
                    contracts.push((customer_id, contract_id, confirm_flags));
                }
            }
        }
        check_groups(&edges, &names, &company_names)?;
        // Write the link differences.
        for (customer_id, company_id) in current.difference(&edges) {
            store::unlink(&mut tx, partner_id, *customer_id, *company_id, &actor.email, now).await.internal()?;
            let company = format!("{} ({company_id})", company_names.get(company_id).cloned().unwrap_or_default());
            history.push((
                *customer_id,
                format!("Unlinked \u{201c}{}\u{201d} from Autotask company \u{201c}{company}\u{201d}", customer_label(*customer_id)),
                value_of("Autotask company", company, NONE.into()),
            ));
        }
        let created_ids: HashSet<i64> = created.iter().map(|c| c.1).collect();
        for (customer_id, company_id) in edges.difference(&current) {
            let customer_name = names.get(customer_id).cloned().unwrap_or_default();
            let company_name = company_names.get(company_id).cloned().unwrap_or_default();
            crate::db::links::insert(&mut tx, partner_id, *customer_id, *company_id, &customer_name, &company_name, &actor.email, now)
                .await
                .internal()?;
            if !created_ids.contains(customer_id) {
                history.push((
                    *customer_id,
                    format!("Linked \u{201c}{customer_name}\u{201d} to Autotask company \u{201c}{company_name}\u{201d} ({company_id})"),
                    value_of("Autotask company", NONE.into(), format!("{company_name} ({company_id})")),
                ));
            }
        }
        // Contracts last: they must belong to a company the customer ends up linked to.
        for (customer_id, contract_id, confirm) in contracts {
            let companies: BTreeSet<i64> = edges.iter().filter(|e| e.0 == customer_id).map(|e| e.1).collect();
            let was =
                store::contract_of(&mut tx, customer_id).await.internal()?.map_or_else(|| NONE.to_string(), |(id, name)| format!("{name} ({id})"));
            match contract_id {
                None => {
                    store::set_contract(&mut tx, customer_id, None, &actor.email, now).await.internal()?;
                    history.push((
                        customer_id,
                        format!("Cleared the billing contract of \u{201c}{}\u{201d}", customer_label(customer_id)),
                        value_of("Billing contract", was, NONE.into()),
                    ));
                }
                Some(contract_id) => {
                    let Some((contract, flags)) = fetched.get(&contract_id).cloned() else {
                        return Err(AppError::invalid("changes", format!("Autotask has no contract with ID {contract_id}.")));
                    };
                    if !contract.company_id.is_some_and(|c| companies.contains(&c)) {
                        return Err(AppError::invalid(
                            "changes",
                            format!("Contract {contract_id} does not belong to a company linked to this customer. Link the company first, or use Get contracts."),
                        ));
                    }
                    let name = contract.contract_name.clone().unwrap_or_default();
                    let blocking: Vec<&Flag> = flags.iter().filter(|f| f.code.blocks_billing()).collect();
                    if !blocking.is_empty() && !confirm {
                        return Err(AppError::invalid(
                            "changes",
                            format!(
                                "Contract \u{201c}{name}\u{201d} is flagged: {} Confirm to use it anyway.",
                                blocking.iter().map(|f| f.message.as_str()).collect::<Vec<_>>().join(" ")
                            ),
                        ));
                    }
                    let flag_text = (!blocking.is_empty()).then(|| blocking.iter().map(|f| f.message.as_str()).collect::<Vec<_>>().join(" "));
                    let choice = ContractChoice { contract_id, company_id: contract.company_id, name: &name, flags: flag_text.as_deref() };
                    store::set_contract(&mut tx, customer_id, Some(&choice), &actor.email, now).await.internal()?;
                    let confirmed = if flag_text.is_some() { " (flagged; confirmed)" } else { "" };
                    history.push((
                        customer_id,
                        format!(
                            "Chose billing contract \u{201c}{name}\u{201d} ({contract_id}) for \u{201c}{}\u{201d}{confirmed}",
                            customer_label(customer_id)
                        ),
                        value_of("Billing contract", was, format!("{name} ({contract_id})")),
                    ));
                }
            }
        }
        for (customer_id, line, value) in &history {
            let what = audit::Change { customer_id: Some(*customer_id), changes: std::slice::from_ref(value) };
            audit::record_change(&mut *tx, partner_id, &actor.email, "map.change", line, &what).await?;
        }
        tx.commit().await.internal()?;
        super::rematch(&self.db, partner_id).await?;
        crate::services::contacts::links_changed(&self.db, partner_id).await.internal()?;
        Ok(MapSaved { applied: changes.len(), created })
    }
}

/// A save as a run in the History: the changes applied, or the reason none were (a save
/// is all or nothing). An empty save is not a run.
pub(super) async fn record_run(
    db: &crate::db::Db,
    actor: &CurrentUser,
    (started_at, log_key): (i64, &str),
    asked: i64,
    saved: &Result<MapSaved, AppError>,
) {
    use app::format::count_of;
    let (done, failed, summary) = match saved {
        Ok(s) if s.created.is_empty() => (s.applied as i64, 0, format!("{} saved", count_of(s.applied as i64, "change", "changes"))),
        Ok(s) => (
            s.applied as i64,
            0,
            format!(
                "{} saved ({} created)",
                count_of(s.applied as i64, "change", "changes"),
                count_of(s.created.len() as i64, "customer", "customers")
            ),
        ),
        Err(AppError::Invalid { field, .. }) if field == "changes" && asked == 0 => return,
        Err(e) => (0, asked, format!("{} not saved: {e}", count_of(asked, "change", "changes"))),
    };
    let run = crate::services::history::Finished {
        kind: app::types::history::RunKind::MapSave,
        started_by: &actor.email,
        started_at,
        stopped: saved.is_err(),
        done,
        skipped: 0,
        failed,
        summary: &summary,
        retry_of: None,
        log_key,
    };
    crate::services::history::History::new(db.clone()).record(actor.partner_id, run, &[]).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_stay_one_to_one_or_one_to_many() {
        let names = HashMap::new();
        let ok: BTreeSet<(i64, i64)> = [(1, 10), (1, 11), (2, 12), (3, 12)].into_iter().collect();
        assert!(check_groups(&ok, &names, &names).is_ok());
        // Customer 1 has two companies; company 10 gets a second customer: many-to-many.
        let bad: BTreeSet<(i64, i64)> = [(1, 10), (1, 11), (2, 10)].into_iter().collect();
        let err = check_groups(&bad, &names, &names).unwrap_err();
        assert!(err.to_string().contains("1-to-many"), "{err}");
    }
}
