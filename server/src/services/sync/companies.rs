//! A round's company part: read what changed in Autotask since the mark (everything
//! qualifying the first time), then write each company's row and, with Active customers
//! on, its Taskbridge customer: linked by Autotask id, never a duplicate.

use super::rules::{self, company_changes, details, no_longer, normal_time, qualifies};
use crate::autotask::entities::{Company, Contact, Country};
use crate::autotask::query::in_batches;
use crate::autotask::{AutotaskClient, AutotaskError, Filter, Query};
use crate::db::sync::clients::{self as store, SyncedCompany};
use crate::db::{customers, links, Db};
use crate::services::companies::rules::{address, Discovered};
use crate::workers::jobs::Progress;
use app::types::history::RunLine;
use app::types::sync::{ClientState, SyncTrigger};
use std::collections::HashMap;
use std::sync::atomic::Ordering;

/// Companies written per transaction.
const BATCH: usize = 200;
/// Above this many companies, every primary contact is read at once (in parallel) rather
/// than by `in` lists of the companies.
const CONTACTS_IN_FULL_ABOVE: usize = 2_000;

/// What Autotask says about the companies of one round.
pub struct Read {
    /// The changed companies (all qualifying ones on a first round).
    pub companies: Vec<Company>,
    /// Primary contacts' emails by company.
    pub emails: HashMap<i64, String>,
    /// Country code and name by country id.
    pub countries: HashMap<i64, (String, String)>,
    /// The newest change seen.
    pub mark: Option<String>,
}

/// The company-type value labelled Customer, and every type's label.
pub async fn company_types(client: &AutotaskClient) -> Result<(i64, HashMap<i64, String>), AutotaskError> {
    let labels: HashMap<i64, String> =
        client.picklist("Companies", "companyType").await?.into_iter().filter_map(|v| Some((v.value.parse().ok()?, v.label))).collect();
    let customer = labels
        .iter()
        .find(|(_, l)| l.eq_ignore_ascii_case("Customer"))
        .map(|(v, _)| *v)
        .ok_or_else(|| AutotaskError::Malformed("the companyType picklist has no value labelled Customer".into()))?;
    Ok((customer, labels))
}

/// Reads the companies changed since `mark` (or, without one, every active Customer), and
/// for the qualifying ones their primary contact's email and the countries.
pub async fn read(client: &AutotaskClient, mark: Option<&str>, customer_type: i64, with_details: bool) -> Result<Read, AutotaskError> {
    let companies: Vec<Company> = match mark {
        None => client.fetch_all(vec![Filter::eq("companyType", customer_type), Filter::eq("isActive", true)]).await?,
        Some(m) => client.query(&Query::new([Filter::gte("lastTrackedModifiedDateTime", rules::read_from(m))])).await?,
    };
    let ids: Vec<i64> = companies.iter().filter(|c| qualifies(c, customer_type)).map(|c| c.id).collect();
    let (emails, countries) = if with_details && !ids.is_empty() {
        let contacts: Vec<Contact> = if ids.len() > CONTACTS_IN_FULL_ABOVE {
            client.fetch_all(vec![Filter::eq("primaryContact", true)]).await?
        } else {
            primary_contacts(client, &ids).await?
        };
        (primary_emails(contacts), countries(client).await?)
    } else {
        (HashMap::new(), HashMap::new())
    };
    Ok(Read { mark: newest(&companies), companies, emails, countries })
}

/// Reads the companies `ids` (Retry, callouts), their primary contacts and the countries
/// at once: a callout's few companies cost one call's latency, not three.
pub async fn read_these(client: &AutotaskClient, ids: &[i64], with_details: bool) -> Result<Read, AutotaskError> {
    let companies = async {
        if let [id] = ids {
            return Ok(client.get::<Company>(*id).await?.into_iter().collect::<Vec<_>>());
        }
        let mut all = Vec::new();
        for batch in in_batches("id", ids) {
            all.extend(client.query::<Company>(&Query::new([batch])).await?);
        }
        Ok(all)
    };
    let details = async {
        if with_details {
            tokio::try_join!(primary_contacts(client, ids), countries(client))
        } else {
            Ok((Vec::new(), HashMap::new()))
        }
    };
    let (companies, (contacts, countries)) = tokio::try_join!(companies, details)?;
    Ok(Read { mark: newest(&companies), companies, emails: primary_emails(contacts), countries })
}

fn newest(companies: &[Company]) -> Option<String> {
    companies.iter().filter_map(|c| c.last_tracked_modified_date_time.as_deref().and_then(normal_time)).max()
}

async fn primary_contacts(client: &AutotaskClient, company_ids: &[i64]) -> Result<Vec<Contact>, AutotaskError> {
    let mut all = Vec::new();
    for batch in in_batches("companyID", company_ids) {
        all.extend(client.query::<Contact>(&Query::new([batch, Filter::eq("primaryContact", true)])).await?);
    }
    Ok(all)
}

/// Each company's primary contact's email (an active primary contact wins over an inactive one).
fn primary_emails(contacts: Vec<Contact>) -> HashMap<i64, String> {
    let mut emails = HashMap::new();
    for c in contacts {
        let (Some(company), Some(email)) = (c.company_id, c.email_address.filter(|e| !e.trim().is_empty())) else { continue };
        if c.is_active.unwrap_or(1) != 0 || !emails.contains_key(&company) {
            emails.insert(company, email);
        }
    }
    emails
}

/// Country code and name by country id.
async fn countries(client: &AutotaskClient) -> Result<HashMap<i64, (String, String)>, AutotaskError> {
    Ok(client
        .query::<Country>(&Query::new([Filter::all()]))
        .await?
        .into_iter()
        .filter_map(|c| Some((c.id, (c.country_code?, c.display_name.or(c.name).unwrap_or_default()))))
        .collect())
}

/// How a round's companies went.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub failed: i64,
    pub skipped: i64,
    pub stopped: i64,
}

/// What the caller of [`apply`] needs next: the counts, and the companies that qualify
/// again or for the first time (their contracts are read even if unchanged).
pub struct Applied {
    pub counts: Counts,
    pub newly_qualifying: Vec<i64>,
}

/// Everything [`apply`] needs besides the companies.
pub struct Context<'a> {
    pub db: &'a Db,
    pub partner_id: i64,
    pub customer_type: i64,
    pub labels: &'a HashMap<i64, String>,
    /// Active customers is on: customers are created and updated.
    pub customers_on: bool,
    pub trigger: SyncTrigger,
    pub now: i64,
}

/// Writes the companies' rows and customers, in batches.
pub async fn apply(cx: &Context<'_>, read: &Read, progress: &Progress) -> Result<Applied, sqlx::Error> {
    let mut counts = Counts::default();
    let mut newly_qualifying = Vec::new();
    let mut relinked = false;
    progress.stage("Writing customers", read.companies.len() as i64);
    for (n, chunk) in read.companies.chunks(BATCH).enumerate() {
        let ids: Vec<i64> = chunk.iter().map(|c| c.id).collect();
        let prior = store::companies(cx.db, cx.partner_id, &ids).await?;
        let mut tx = cx.db.begin().await?;
        for company in chunk {
            let before = prior.get(&company.id);
            let Some(row) = next_row(cx, read, company, before) else {
                counts.unchanged += 1;
                continue;
            };
            let row = if row.qualifies == 1 && cx.customers_on && row.sync_state == ClientState::Synced.as_str() {
                if before.is_none_or(|b| b.qualifies == 0) {
                    newly_qualifying.push(company.id);
                }
                write_customer(&mut tx, cx, read, company, row, &mut counts, &mut relinked).await?
            } else {
                if row.qualifies == 1 && before.is_none_or(|b| b.qualifies == 0) {
                    newly_qualifying.push(company.id);
                }
                match before {
                    _ if row.qualifies == 0 => counts.stopped += 1,
                    Some(_) => counts.updated += 1,
                    None => counts.created += 1,
                }
                row
            };
            keep_line(progress, &row);
            store::save_company(&mut tx, cx.partner_id, &row).await?;
        }
        tx.commit().await?;
        progress.set(((n * BATCH) + chunk.len()) as i64, read.companies.len() as i64);
    }
    progress.succeeded.fetch_add(counts.created + counts.updated, Ordering::Relaxed);
    if relinked {
        crate::services::map::rematch(cx.db, cx.partner_id).await.map_err(|e| sqlx::Error::Protocol(format!("matching: {e}")))?;
        crate::services::contacts::links_changed(cx.db, cx.partner_id).await?;
    }
    Ok(Applied { counts, newly_qualifying })
}

/// Counts a company whose customer failed or was skipped, with why, for the History (a
/// retry of the run re-reads it by its id).
fn keep_line(progress: &Progress, row: &SyncedCompany) {
    let failed = row.sync_state == ClientState::Failed.as_str();
    if !failed && row.sync_state != ClientState::Skipped.as_str() {
        return;
    }
    let reason = row.reason.clone().unwrap_or_default();
    let record = format!("Company {}", row.company_id);
    let line = if failed {
        RunLine::failed(row.customer_id, row.name.clone(), record, reason)
    } else {
        RunLine::skipped(row.customer_id, row.name.clone(), record, reason)
    };
    let line = RunLine { record_id: Some(row.company_id), ..line };
    if failed {
        progress.fail(line);
    } else {
        progress.skip(line);
    }
}

/// The row a company gets now, or `None` when nothing changed (a change seen twice, by
/// the overlap or by two triggers, is applied once).
fn next_row(cx: &Context<'_>, read: &Read, company: &Company, before: Option<&SyncedCompany>) -> Option<SyncedCompany> {
    let bookkeeping = |mut row: SyncedCompany| {
        row.sync_trigger = cx.trigger.as_str().into();
        row.synced_at = cx.now;
        row.modified_at = company.last_tracked_modified_date_time.clone();
        row.contracts = before.map_or(0, |b| b.contracts);
        row.customer_id = before.and_then(|b| b.customer_id);
        row
    };
    if !qualifies(company, cx.customer_type) {
        // A company that never qualified is not followed; one that did is kept, marked.
        let b = before.filter(|b| b.qualifies == 1)?;
        let label = company.company_type.and_then(|t| cx.labels.get(&t)).map(String::as_str).unwrap_or("another type");
        let mut row = bookkeeping(b.clone());
        row.qualifies = 0;
        row.changes = Some(no_longer(company, cx.customer_type, label));
        return Some(row);
    }
    let country = company.country_id.and_then(|id| read.countries.get(&id));
    let mut row = details(company, country.map(|c| c.0.as_str()), read.emails.get(&company.id).map(String::as_str));
    if !cx.customers_on {
        // Contracts only: the customer record is the company's name (seed 004).
        row = SyncedCompany { company_id: row.company_id, name: row.name, qualifies: 1, ..SyncedCompany::default() };
    }
    let changes = company_changes(before, &row);
    if changes.is_none() && before.is_some_and(|b| b.sync_state == ClientState::Synced.as_str()) {
        return None;
    }
    let mut row = bookkeeping(row);
    row.changes = changes.or_else(|| before.and_then(|b| b.changes.clone()));
    row.sync_state = ClientState::Synced.as_str().into();
    Some(row)
}

/// Creates or updates the company's customer: the one linked to it, or an unlinked one of
/// the same name (linked now), or a new one. A company linked to several is skipped.
async fn write_customer(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    cx: &Context<'_>,
    read: &Read,
    company: &Company,
    mut row: SyncedCompany,
    counts: &mut Counts,
    relinked: &mut bool,
) -> Result<SyncedCompany, sqlx::Error> {
    // The import's address rules (ISO country and state), without its primary-contact rule.
    let country = company.country_id.and_then(|id| read.countries.get(&id));
    let draft = match address(&Discovered {
        name: row.name.clone(),
        is_active: true,
        address1: company.address1.clone(),
        address2: company.address2.clone(),
        city: company.city.clone(),
        state: company.state.clone(),
        postal_code: company.postal_code.clone(),
        country_code: country.map(|c| c.0.clone()),
        country_name: country.map(|c| c.1.clone()),
        contact: None,
        contact_inactive: false,
    }) {
        Ok(draft) => draft,
        Err(reason) => {
            counts.failed += 1;
            row.sync_state = ClientState::Failed.as_str().into();
            row.reason = Some(reason);
            return Ok(row);
        }
    };
    let linked = links::customers_of_company(tx, cx.partner_id, row.company_id).await?;
    let customer_id = match linked.as_slice() {
        [one] => {
            customers::update_synced(tx, cx.partner_id, one.customer_id, &draft, cx.now).await?;
            counts.updated += 1;
            one.customer_id
        }
        [] => {
            let named = customers::unlinked_named(tx, cx.partner_id, &row.name).await?;
            let id = match named.as_slice() {
                [one] => {
                    customers::update_synced(tx, cx.partner_id, *one, &draft, cx.now).await?;
                    counts.updated += 1;
                    *one
                }
                [] => {
                    counts.created += 1;
                    customers::insert_draft(tx, cx.partner_id, &draft, "autotask_sync", cx.now).await?
                }
                several => {
                    counts.skipped += 1;
                    row.sync_state = ClientState::Skipped.as_str().into();
                    row.reason = Some(format!(
                        "{} Taskbridge customers are named \u{201c}{}\u{201d}; link the right one on the Customer Map, then Retry.",
                        several.len(),
                        row.name
                    ));
                    return Ok(row);
                }
            };
            links::insert(tx, cx.partner_id, id, row.company_id, &row.name, &row.name, "sync", cx.now).await?;
            *relinked = true;
            id
        }
        several => {
            counts.skipped += 1;
            row.sync_state = ClientState::Skipped.as_str().into();
            row.reason = Some(format!(
                "Linked to {} customers on the Customer Map; the sync keeps a company linked to one customer up to date.",
                several.len()
            ));
            return Ok(row);
        }
    };
    row.customer_id = Some(customer_id);
    row.reason = None;
    Ok(row)
}

/// The words for a round's company counts.
pub fn summary(c: &Counts) -> String {
    use app::format::{count_of, thousands};
    let mut parts = vec![format!(
        "{} ({} new, {} updated)",
        count_of(c.created + c.updated, "customer synced", "customers synced"),
        thousands(c.created),
        thousands(c.updated)
    )];
    if c.stopped > 0 {
        parts.push(format!("{} no longer active", count_of(c.stopped, "customer", "customers")));
    }
    if c.failed > 0 {
        parts.push(format!("{} failed", thousands(c.failed)));
    }
    if c.skipped > 0 {
        parts.push(format!("{} skipped", thousands(c.skipped)));
    }
    parts.join(", ")
}
