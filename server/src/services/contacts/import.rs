//! Import: selected contacts become backup users of the customer their Autotask company is
//! mapped to, with their name, email (the login), destination and package. Each contact
//! records its outcome; one failure never stops the others, and a contact already
//! imported is left alone, so importing again never duplicates.

use super::SqlContacts;
use crate::db::backup_users::{self, NewBackupUser};
use crate::db::contacts::{self as store, ImportSource};
use crate::db::{links, now_ms};
use crate::workers::jobs::{Outcome, Progress};
use app::format::{count_of, thousands};
use app::types::history::RunLine;
use app::types::parse_email;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;

/// Contacts imported per transaction.
const IMPORT_BATCH: usize = 200;

/// What import knows besides the contact: its company's customers and the usable
/// destinations and packages.
pub struct Context<'a> {
    /// Customers linked to each company: (customer id, name), by name.
    pub customers: &'a HashMap<i64, Vec<(i64, String)>>,
    /// Destinations that exist and are not retired.
    pub destinations: &'a HashSet<i64>,
    /// Packages that exist and are not retired.
    pub packages: &'a HashSet<i64>,
}

/// A contact ready to become a backup user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ready {
    /// The customer it joins.
    pub customer_id: i64,
    /// Its email, lower-cased.
    pub email: String,
    /// Destination.
    pub destination_id: i64,
    /// Package.
    pub package_id: i64,
}

/// The import rules for one contact: the customer it joins, or why it cannot be imported.
pub fn check(c: &ImportSource, ctx: &Context<'_>) -> Result<Ready, String> {
    if c.missing != 0 {
        return Err("This contact is no longer in Autotask (the latest \u{201c}Get Autotask contacts\u{201d} did not see it).".into());
    }
    let destination_id = c.destination_id.filter(|d| ctx.destinations.contains(d)).ok_or_else(|| {
        if c.destination_id.is_some() {
            "The destination chosen for it was retired or deleted: choose another."
        } else {
            "Choose a destination for it."
        }
        .to_string()
    })?;
    let package_id = c.package_id.filter(|p| ctx.packages.contains(p)).ok_or_else(|| {
        if c.package_id.is_some() { "The package chosen for it was retired or deleted: choose another." } else { "Choose a package for it." }
            .to_string()
    })?;
    if c.email.trim().is_empty() {
        return Err(
            "It has no email address in Autotask, and the email is the backup user's login. Add one in Autotask, then get contacts again.".into()
        );
    }
    let email = parse_email(&c.email).map_err(|_| {
        format!(
            "Its email in Autotask, \u{201c}{}\u{201d}, is not a valid address, and the email is the backup user's login. Fix it in Autotask, then get contacts again.",
            app::format::excerpt(&c.email, 80)
        )
    })?;
    if c.first_name.is_empty() || c.last_name.is_empty() {
        let missing = if c.first_name.is_empty() { "first" } else { "last" };
        return Err(format!("It has no {missing} name in Autotask. Add it in Autotask, then get contacts again."));
    }
    let Some(company_id) = c.company_id else {
        return Err("It belongs to no company in Autotask, so it has no customer to join.".into());
    };
    let company = c.company_name.clone().unwrap_or_else(|| format!("company {company_id}"));
    let customer_id = match ctx.customers.get(&company_id).map(Vec::as_slice) {
        None | Some([]) => {
            return Err(format!(
                "Its company \u{201c}{company}\u{201d} (Autotask ID {company_id}) is not mapped to a Taskbridge customer. Link it on the Customer Map, then import again."
            ))
        }
        Some([(customer_id, _)]) => *customer_id,
        Some(many) => {
            let names: Vec<&str> = many.iter().map(|(_, n)| n.as_str()).collect();
            return Err(format!(
                "Its company \u{201c}{company}\u{201d} is mapped to {} ({}), and a backup user belongs to one. Keep one link on the Customer Map, then import again.",
                count_of(many.len() as i64, "customer", "customers"),
                names.join(", ")
            ));
        }
    };
    Ok(Ready { customer_id, email, destination_id, package_id })
}

#[derive(Default)]
struct Tally {
    imported: i64,
    already: i64,
}

impl SqlContacts {
    /// Imports the contacts (already resolved); the job's work.
    pub async fn import(&self, partner_id: i64, actor: &str, ids: &[i64], progress: &Progress) -> Outcome {
        progress.stage("Importing", ids.len() as i64);
        let lists = crate::db::storage::destinations(&self.db, partner_id).await.map_err(|e| format!("database: {e}"))?;
        let destinations: HashSet<i64> = lists.iter().filter(|d| !d.retired).map(|d| d.destination_id).collect();
        let packages = crate::db::storage::packages(&self.db, partner_id).await.map_err(|e| format!("database: {e}"))?;
        let packages: HashSet<i64> = packages.iter().filter(|p| !p.retired).map(|p| p.package_id).collect();
        let mut tally = Tally::default();
        let mut done = 0i64;
        for chunk in ids.chunks(IMPORT_BATCH) {
            self.import_batch(partner_id, actor, chunk, (&destinations, &packages), progress, &mut tally)
                .await
                .map_err(|e| format!("database error after {done} contacts: {e}"))?;
            done += chunk.len() as i64;
            progress.set(done, ids.len() as i64);
        }
        let failed = progress.failed.load(Ordering::Relaxed);
        let mut summary = format!("Imported {} as backup users", count_of(tally.imported, "contact", "contacts"));
        if tally.already > 0 {
            summary.push_str(&format!("; {} already imported", thousands(tally.already)));
        }
        if failed > 0 {
            summary.push_str(&format!("; {} failed \u{2014} see the reasons in the Integration status column", thousands(failed)));
        }
        summary.push('.');
        Ok(summary)
    }

    async fn import_batch(
        &self,
        partner_id: i64,
        actor: &str,
        ids: &[i64],
        (destinations, packages): (&HashSet<i64>, &HashSet<i64>),
        progress: &Progress,
        tally: &mut Tally,
    ) -> Result<(), sqlx::Error> {
        let rows = store::import_sources(&self.db, partner_id, ids).await?;
        let companies: Vec<i64> = rows.iter().filter_map(|r| r.company_id).collect::<HashSet<_>>().into_iter().collect();
        let mut customers: HashMap<i64, Vec<(i64, String)>> = HashMap::new();
        for (company, customer, name) in links::customers_of_companies(&self.db, partner_id, &companies).await? {
            customers.entry(company).or_default().push((customer, name));
        }
        let ctx = Context { customers: &customers, destinations, packages };
        let now = now_ms();
        let mut tx = self.db.begin().await?;
        for r in &rows {
            if r.backup_user_id.is_some() {
                tally.already += 1;
                continue;
            }
            let outcome = match check(r, &ctx) {
                Ok(ready) => match backup_users::with_email(&mut tx, partner_id, &ready.email, 0).await? {
                    Some(other) => Err(format!(
                        "Another backup user (ID {other}) already has the email {}. Change that user's email, or this contact's in Autotask.",
                        ready.email
                    )),
                    None => {
                        let user = NewBackupUser {
                            customer_id: ready.customer_id,
                            first_name: &r.first_name,
                            last_name: &r.last_name,
                            email: &ready.email,
                            destination_id: ready.destination_id,
                            package_id: ready.package_id,
                            contact_id: Some(r.contact_id),
                        };
                        backup_users::insert(&mut tx, partner_id, &user, actor, now).await?;
                        Ok(())
                    }
                },
                Err(reason) => Err(reason),
            };
            match outcome {
                Ok(()) => {
                    tally.imported += 1;
                    progress.succeeded.fetch_add(1, Ordering::Relaxed);
                    store::set_import_outcome(&mut tx, partner_id, r.contact_id, None, now).await?;
                }
                Err(reason) => {
                    let record = format!("Contact {} ({} {})", r.contact_id, r.first_name, r.last_name);
                    progress
                        .fail(RunLine::failed(None, r.company_name.clone().unwrap_or_default(), record, reason.clone()).for_retry(r.contact_id, ""));
                    store::set_import_outcome(&mut tx, partner_id, r.contact_id, Some(&reason), now).await?;
                }
            }
        }
        store::refresh_status(&mut *tx, partner_id, Some(ids)).await?;
        tx.commit().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact() -> ImportSource {
        ImportSource {
            contact_id: 7,
            company_id: Some(100),
            company_name: Some("Acme Dental".into()),
            first_name: "Ann".into(),
            last_name: "Lee".into(),
            email: "Ann.Lee@acme.example".into(),
            missing: 0,
            destination_id: Some(1),
            package_id: Some(2),
            backup_user_id: None,
        }
    }

    fn with<T>(customers: Vec<(i64, String)>, f: impl FnOnce(&Context<'_>) -> T) -> T {
        let customers = HashMap::from([(100, customers)]);
        let (d, p) = (HashSet::from([1]), HashSet::from([2]));
        f(&Context { customers: &customers, destinations: &d, packages: &p })
    }

    #[test]
    fn a_contact_of_a_mapped_company_joins_its_customer() {
        let ready = with(vec![(55, "Acme".into())], |ctx| check(&contact(), ctx)).unwrap();
        assert_eq!(ready, Ready { customer_id: 55, email: "ann.lee@acme.example".into(), destination_id: 1, package_id: 2 });
    }

    #[test]
    fn every_rule_says_what_to_fix() {
        type Change = fn(&mut ImportSource);
        let cases: [(Change, &str); 7] = [
            (|c| c.missing = 1, "no longer in Autotask"),
            (|c| c.destination_id = None, "Choose a destination"),
            (|c| c.package_id = Some(9), "package chosen for it was retired"),
            (|c| c.email = String::new(), "no email address"),
            (|c| c.email = "ann at acme".into(), "is not a valid address"),
            (|c| c.last_name = String::new(), "no last name"),
            (|c| c.company_id = None, "belongs to no company"),
        ];
        for (change, expected) in cases {
            let mut c = contact();
            change(&mut c);
            let err = with(vec![(55, "Acme".into())], |ctx| check(&c, ctx)).unwrap_err();
            assert!(err.contains(expected), "{err:?} should say {expected:?}");
        }
        let unmapped = with(vec![], |ctx| check(&contact(), ctx)).unwrap_err();
        assert!(unmapped.contains("\u{201c}Acme Dental\u{201d} (Autotask ID 100) is not mapped"), "{unmapped}");
        let two = with(vec![(1, "A".into()), (2, "B".into())], |ctx| check(&contact(), ctx)).unwrap_err();
        assert!(two.contains("mapped to 2 customers (A, B)"), "{two}");
    }
}
