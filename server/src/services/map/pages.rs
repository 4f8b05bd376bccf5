//! The map's two tables: a page of customers with their companies (or the best
//! suggestion), and a page of companies with their customers, each link flagged when a
//! side was renamed, is gone, inactive or not of type Customer.

use super::{flag, SqlCustomerMap, COMPANY_TYPE_CUSTOMER};
use crate::db::map::{self as store, LinkEntry, Side, SuggestionEntry};
use crate::error::SqlxResultExt;
use app::error::AppError;
use app::types::map::{
    ChosenContract, CompanyMapPage, CompanyRow, CustomerMapPage, CustomerRow, Flag, FlagCode, LinkedCompany, LinkedCustomer, MapQuery, Suggestion,
};
use std::collections::HashMap;

/// Flags of a linked pair.
fn link_flags(l: &LinkEntry) -> Vec<Flag> {
    let mut flags = Vec::new();
    let missing = l.company_name.is_none() || l.company_missing.unwrap_or(0) != 0;
    if l.customer_name != l.customer_name_at_link {
        flags.push(flag(
            FlagCode::Renamed,
            format!("Customer renamed in Taskbridge since it was linked (was \u{201c}{}\u{201d}); the link holds by ID.", l.customer_name_at_link),
        ));
    }
    if let Some(now) = &l.company_name {
        if *now != l.company_name_at_link {
            flags.push(flag(
                FlagCode::Renamed,
                format!("Company renamed in Autotask since it was linked (was \u{201c}{}\u{201d}); the link holds by ID.", l.company_name_at_link),
            ));
        }
    }
    if missing {
        flags.push(flag(FlagCode::Missing, "This company is no longer in Autotask (not seen by the latest discovery)."));
    } else {
        if l.company_active.unwrap_or(1) == 0 {
            flags.push(flag(FlagCode::Inactive, "The company is inactive in Autotask."));
        }
        if l.company_type != Some(COMPANY_TYPE_CUSTOMER) {
            flags.push(flag(
                FlagCode::NotCustomer,
                format!(
                    "Autotask type is {}, not Customer: billing and tickets may not behave as expected.",
                    l.type_label.clone().unwrap_or_else(|| "not set".into())
                ),
            ));
        }
    }
    flags
}

fn suggestion(s: SuggestionEntry, id: i64) -> Suggestion {
    Suggestion { id, name: s.name, score: s.score.clamp(0, 100) as u8, reason: s.reason }
}

impl SqlCustomerMap {
    pub(super) async fn customer_page(&self, partner_id: i64, query: MapQuery) -> Result<CustomerMapPage, AppError> {
        let (total, page, per_page, entries) = store::customers(&self.db, partner_id, &query).await.internal()?;
        let ids: Vec<i64> = entries.iter().map(|e| e.customer_id).collect();
        let mut links: HashMap<i64, Vec<LinkedCompany>> = HashMap::new();
        for l in store::links_of(&self.db, partner_id, Side::Customers, &ids).await.internal()? {
            let flags = link_flags(&l);
            links.entry(l.customer_id).or_default().push(LinkedCompany {
                company_id: l.company_id,
                name: l.company_name.unwrap_or(l.company_name_at_link),
                flags,
                customers: l.company_sharers,
            });
        }
        let mut suggestions: HashMap<i64, Suggestion> = HashMap::new();
        for s in store::suggestions_for(&self.db, partner_id, Side::Customers, &ids).await.internal()? {
            let (customer_id, company_id) = (s.customer_id, s.company_id);
            suggestions.entry(customer_id).or_insert_with(|| suggestion(s, company_id));
        }
        let rows = entries
            .into_iter()
            .map(|e| {
                let companies = links.remove(&e.customer_id).unwrap_or_default();
                CustomerRow {
                    customer_id: e.customer_id,
                    name: e.name,
                    region: e.region,
                    suggestion: if companies.is_empty() { suggestions.remove(&e.customer_id) } else { None },
                    companies,
                    contract: e.contract_id.map(|contract_id| ChosenContract {
                        contract_id,
                        name: e.contract_name.unwrap_or_default(),
                        flags: e.contract_flags,
                    }),
                }
            })
            .collect();
        Ok(CustomerMapPage { rows, total, page, per_page, counts: store::counts(&self.db, partner_id).await.internal()? })
    }

    pub(super) async fn company_page(&self, partner_id: i64, query: MapQuery) -> Result<CompanyMapPage, AppError> {
        let (total, page, per_page, entries) = store::companies(&self.db, partner_id, &query).await.internal()?;
        let ids: Vec<i64> = entries.iter().map(|e| e.company_id).collect();
        let mut links: HashMap<i64, Vec<LinkedCustomer>> = HashMap::new();
        for l in store::links_of(&self.db, partner_id, Side::Companies, &ids).await.internal()? {
            let flags = link_flags(&l).into_iter().filter(|f| f.code == FlagCode::Renamed).collect();
            links.entry(l.company_id).or_default().push(LinkedCustomer {
                customer_id: l.customer_id,
                name: l.customer_name,
                companies: l.customer_companies,
                flags,
            });
        }
        // Best first: the first suggestion of each company wins.
        let mut suggestions: HashMap<i64, Suggestion> = HashMap::new();
        for s in store::suggestions_for(&self.db, partner_id, Side::Companies, &ids).await.internal()? {
            let (company_id, customer_id) = (s.company_id, s.customer_id);
            suggestions.entry(company_id).or_insert_with(|| suggestion(s, customer_id));
        }
        let rows = entries
            .into_iter()
            .map(|e| {
                let customers = links.remove(&e.company_id).unwrap_or_default();
                CompanyRow {
                    company_id: e.company_id,
                    name: e.name,
                    type_label: e.type_label,
                    active: e.is_active != 0,
                    is_customer_type: e.company_type == Some(COMPANY_TYPE_CUSTOMER),
                    missing: e.missing != 0,
                    phone: e.phone.filter(|p| !p.trim().is_empty()),
                    web: e.web_address.filter(|w| !w.trim().is_empty()),
                    suggestion: if customers.is_empty() { suggestions.remove(&e.company_id) } else { None },
                    customers,
                }
            })
            .collect();
        Ok(CompanyMapPage { rows, total, page, per_page, counts: store::counts(&self.db, partner_id).await.internal()? })
    }
}
