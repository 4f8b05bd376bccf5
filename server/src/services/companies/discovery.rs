//! Discovery: a background job pulling every company of the partner's Autotask, the
//! country table, the company types and the primary contacts, saved in batches; the
//! companies it did not see are marked gone, then names are matched again.

use super::rules::{check, Discovered};
use super::SqlCompanies;
use crate::autotask::entities::{Company, Contact, Country};
use crate::autotask::{AutotaskError, FetchProgress, Filter, Query};
use crate::db::companies::{self as store, DiscoveredCompany};
use crate::db::now_ms;
use crate::workers::jobs::{Outcome, Progress};
use std::collections::HashMap;
use std::sync::atomic::Ordering;

/// Rows written per statement when saving a discovery.
const SAVE_BATCH: usize = 100;

fn describe(e: AutotaskError) -> String {
    e.to_string()
}

/// One primary contact per company; an active one wins over an inactive one.
fn primary_contacts(contacts: Vec<Contact>) -> HashMap<i64, Contact> {
    let mut primary: HashMap<i64, Contact> = HashMap::new();
    for c in contacts {
        let Some(company_id) = c.company_id else { continue };
        let active = c.is_active.unwrap_or(1) != 0;
        match primary.get(&company_id) {
            Some(existing) if existing.is_active.unwrap_or(1) != 0 || !active => {}
            _ => {
                primary.insert(company_id, c);
            }
        }
    }
    primary
}

/// What discovery saves of a company, with the import rules' verdict.
fn discovered(company: Company, type_label: String, country: Option<(String, String)>, contact: Option<Contact>) -> DiscoveredCompany {
    let rule_input = Discovered {
        name: company.company_name.clone().unwrap_or_default(),
        is_active: company.is_active.unwrap_or(true),
        address1: company.address1.clone(),
        address2: company.address2.clone(),
        city: company.city.clone(),
        state: company.state.clone(),
        postal_code: company.postal_code.clone(),
        country_code: country.as_ref().map(|c| c.0.clone()),
        country_name: country.as_ref().map(|c| c.1.clone()),
        contact: contact.as_ref().map(|c| (c.first_name.clone(), c.last_name.clone(), c.email_address.clone())),
        contact_inactive: contact.as_ref().is_some_and(|c| c.is_active == Some(0)),
    };
    let problem = check(&rule_input).err();
    let (country_code, country_name) = country.unzip();
    DiscoveredCompany {
        company_id: company.id,
        name: rule_input.name,
        company_type: company.company_type,
        type_label,
        is_active: rule_input.is_active,
        address1: company.address1,
        address2: company.address2,
        city: company.city,
        state: company.state,
        postal_code: company.postal_code,
        country_id: company.country_id,
        country_code,
        country_name,
        phone: company.phone,
        web_address: company.web_address,
        contact_id: contact.as_ref().map(|c| c.id),
        contact_first: contact.as_ref().and_then(|c| c.first_name.clone()),
        contact_last: contact.as_ref().and_then(|c| c.last_name.clone()),
        contact_inactive: rule_input.contact_inactive,
        contact_email: contact.and_then(|c| c.email_address),
        problem,
    }
}

impl SqlCompanies {
    /// Fetches everything from Autotask and saves it; the job's work.
    pub async fn discover(&self, partner_id: i64, progress: &Progress) -> Outcome {
        let client = self.settings.client(partner_id).await.map_err(|p| p.message)?;
        progress.stage("Reading countries and company types", 0);
        let every_country = Query::new([Filter::all()]);
        let (countries, types) = tokio::join!(client.query::<Country>(&every_country), client.picklist("Companies", "companyType"));
        let countries: HashMap<i64, (String, String)> = countries
            .map_err(describe)?
            .into_iter()
            .filter_map(|c| Some((c.id, (c.country_code?, c.display_name.or(c.name).unwrap_or_default()))))
            .collect();
        let types: HashMap<i64, String> = types.map_err(describe)?.into_iter().filter_map(|v| Some((v.value.parse().ok()?, v.label))).collect();

        progress.stage("Fetching companies", 0);
        let fetch = FetchProgress::default();
        let companies = progress.mirror(&fetch, client.fetch_all_counted::<Company>(vec![Filter::all()], &fetch)).await.map_err(describe)?;
        progress.stage("Fetching primary contacts", 0);
        let fetch = FetchProgress::default();
        let contacts =
            progress.mirror(&fetch, client.fetch_all_counted::<Contact>(vec![Filter::eq("primaryContact", true)], &fetch)).await.map_err(describe)?;
        let mut primary = primary_contacts(contacts);

        let fetched: Vec<DiscoveredCompany> = companies
            .into_iter()
            .map(|company| {
                let country = company.country_id.and_then(|id| countries.get(&id).cloned());
                let contact = primary.remove(&company.id);
                let type_label =
                    company.company_type.map(|t| types.get(&t).cloned().unwrap_or_else(|| format!("Type {t}"))).unwrap_or_else(|| "\u{2014}".into());
                discovered(company, type_label, country, contact)
            })
            .collect();

        progress.stage("Saving", fetched.len() as i64);
        let started = now_ms();
        let before = store::count_present(&self.db, partner_id).await.map_err(|e| format!("database: {e}"))?;
        let mut saved = 0i64;
        for chunk in fetched.chunks(SAVE_BATCH) {
            store::save_batch(&self.db, partner_id, chunk, started).await.map_err(|e| format!("saving companies: {e}"))?;
            saved += chunk.len() as i64;
            progress.set(saved, fetched.len() as i64);
        }
        let gone = store::mark_missing(&self.db, partner_id, started).await.map_err(|e| format!("database: {e}"))?;
        let problems = fetched.iter().filter(|f| f.problem.is_some()).count();
        progress.stage("Matching names", 0);
        crate::services::map::rematch(&self.db, partner_id).await.map_err(|e| format!("matching: {e}"))?;
        crate::services::contacts::companies_changed(&self.db, partner_id).await.map_err(|e| format!("contacts: {e}"))?;
        progress.succeeded.store(saved, Ordering::Relaxed);
        let new = (saved - before + gone as i64).max(0);
        Ok(format!(
            "Discovered {saved} companies in Autotask ({new} new{}); {problems} would fail to import as they are.",
            if gone > 0 { format!(", {gone} no longer in Autotask") } else { String::new() }
        ))
    }
}
