//! The Clients page: followed companies with their contracts and what a hand edit of
//! their customer will lose at the next sync.

use super::rules::overwrites;
use crate::db::sync::clients::{self as store, ClientListRow, SyncedContract};
use crate::db::Db;
use crate::error::SqlxResultExt;
use app::error::AppError;
use app::types::money::Money;
use app::types::sync::{ClientContract, ClientFilter, ClientPage, ClientQuery, ClientRow, ClientState, SyncTrigger};
use std::collections::HashMap;

fn contract(c: SyncedContract) -> ClientContract {
    ClientContract {
        contract_id: c.contract_id,
        name: c.contract_name,
        vendor: c.vendor_name,
        overall_cost: Money::from_minor(c.overall_cost),
        currency: c.currency,
        active: c.is_active != 0,
        changes: c.changes,
        synced_at: c.synced_at,
    }
}

fn row(r: ClientListRow, contracts: Vec<ClientContract>, customers_on: bool) -> ClientRow {
    let s = r.company;
    // Only what the sync writes can be overwritten: customers on, and this one synced.
    let overwrites = match &r.customer_name {
        Some(name) if customers_on && s.qualifies == 1 && s.sync_state == ClientState::Synced.as_str() => overwrites(
            &s,
            name,
            r.customer_address1.as_deref().unwrap_or_default(),
            r.customer_city.as_deref().unwrap_or_default(),
            r.customer_postal_code.as_deref().unwrap_or_default(),
        ),
        _ => None,
    };
    let address =
        [s.address1.as_str(), s.address2.as_str(), s.city.as_str(), format!("{} {}", s.state, s.postal_code).trim(), s.country_code.as_str()]
            .iter()
            .filter(|p| !p.is_empty())
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
    let phones = [("", &s.phone), ("Alt: ", &s.alternate_phone1), ("Alt: ", &s.alternate_phone2), ("Fax: ", &s.fax)]
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(label, v)| format!("{label}{v}"))
        .collect();
    let state = if s.qualifies == 0 { ClientState::NotQualifying } else { ClientState::parse(&s.sync_state).unwrap_or(ClientState::Synced) };
    ClientRow {
        company_id: s.company_id,
        customer_id: s.customer_id,
        name: s.name,
        address,
        phones,
        email: s.email,
        web_address: s.web_address,
        state,
        reason: s.reason,
        changes: s.changes,
        overwrites,
        trigger: SyncTrigger::parse(&s.sync_trigger).unwrap_or(SyncTrigger::Poll),
        synced_at: s.synced_at,
        contracts,
    }
}

async fn rows(db: &Db, partner_id: i64, list: Vec<ClientListRow>, customers_on: bool) -> Result<Vec<ClientRow>, AppError> {
    let ids: Vec<i64> = list.iter().map(|r| r.company.company_id).collect();
    let mut by_company: HashMap<i64, Vec<ClientContract>> = HashMap::new();
    for c in store::contracts_of(db, partner_id, &ids).await.internal()? {
        by_company.entry(c.company_id).or_default().push(contract(c));
    }
    Ok(list
        .into_iter()
        .map(|r| {
            let contracts = by_company.remove(&r.company.company_id).unwrap_or_default();
            row(r, contracts, customers_on)
        })
        .collect())
}

/// A page of the Clients list.
pub async fn clients(db: &Db, partner_id: i64, query: ClientQuery) -> Result<ClientPage, AppError> {
    let (list, total, page, per_page) = store::page(db, partner_id, &query.filter, query.page, query.per_page).await.internal()?;
    let followed = if total > 0 && query.filter == ClientFilter::default() { total } else { store::followed(db, partner_id).await.internal()? };
    let settings = crate::db::sync::get(db, partner_id).await.internal()?.settings;
    Ok(ClientPage { rows: rows(db, partner_id, list, settings.input.customers).await?, total, followed, page, per_page, settings })
}

/// One followed company as the Clients page shows it.
pub async fn one(db: &Db, partner_id: i64, company_id: i64) -> Result<Option<ClientRow>, AppError> {
    let filter = ClientFilter { q: company_id.to_string(), ..ClientFilter::default() };
    let (list, _, _, _) = store::page(db, partner_id, &filter, 1, 200).await.internal()?;
    let list: Vec<ClientListRow> = list.into_iter().filter(|r| r.company.company_id == company_id).collect();
    let customers_on = crate::db::sync::get(db, partner_id).await.internal()?.settings.input.customers;
    Ok(rows(db, partner_id, list, customers_on).await?.into_iter().next())
}
