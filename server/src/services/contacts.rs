//! Autotask contacts in Taskbridge: "Get Autotask contacts" (`fetch.rs`, a background
//! job), the Contacts page's list with each contact's integration status (`status.rs`
//! words what differs), the destination and package chosen per contact, and import as
//! backup users (`import.rs`, with its rules).

mod fetch;
mod import;
pub mod status;

use crate::db::contacts::{self as store, status_of, ListRow};
use crate::db::Db;
use crate::error::SqlxResultExt;
use crate::services::connection::SqlAutotaskSettings;
use crate::workers::jobs::{Jobs, Progress};
use app::error::AppError;
use app::format::count_of;
use app::services::ContactService;
use app::types::companies::{JobKind, JobView};
use app::types::contacts::{ChoicesSet, ContactPage, ContactQuery, ContactRow, ContactSelection, IntegrationStatus, MAX_SELECTED_CONTACTS};
use app::types::CurrentUser;
use status::{differences, Sides};
use std::sync::Arc;

/// `ContactService` over the database and the partner's Autotask.
#[derive(Clone)]
pub struct SqlContacts {
    db: Db,
    settings: SqlAutotaskSettings,
    jobs: Jobs,
}

/// The words of a row's status: the failure, or what differs (also when a difference
/// was kept).
fn reason(r: &ListRow, status: IntegrationStatus) -> Option<String> {
    match status {
        IntegrationStatus::Failed => r.import_message.clone(),
        IntegrationStatus::Blank => None,
        IntegrationStatus::Equal | IntegrationStatus::Modified => {
            let company = r.company_name.clone().or_else(|| r.company_id.map(|id| format!("company {id}"))).unwrap_or_else(|| "no company".into());
            let found = differences(Sides {
                user_first: r.user_first.as_deref().unwrap_or_default(),
                user_last: r.user_last.as_deref().unwrap_or_default(),
                user_customer: r.user_customer_name.as_deref().unwrap_or_default(),
                contact_first: &r.first_name,
                contact_last: &r.last_name,
                contact_company: &company,
                same_company: r.same_company != 0,
            })?;
            Some(if status == IntegrationStatus::Equal { format!("Differences kept (Keep Taskbridge\u{2019}s): {found}") } else { found })
        }
    }
}

impl From<ListRow> for ContactRow {
    fn from(r: ListRow) -> Self {
        let status = status_of(r.status);
        let reason = reason(&r, status);
        let imported = r.backup_user_id.is_some();
        ContactRow {
            contact_id: r.contact_id,
            first_name: r.first_name,
            last_name: r.last_name,
            email: r.email,
            company_id: r.company_id,
            company_name: r.company_name,
            customer: r.mapped_customer_id.zip(r.mapped_customer_name),
            active: r.is_active != 0,
            missing: r.missing != 0,
            status,
            reason,
            backup_user_id: r.backup_user_id,
            destination_id: if imported { r.user_destination_id } else { r.destination_id },
            package_id: if imported { r.user_package_id } else { r.package_id },
        }
    }
}

/// After the Customer Map's links change (a map save, a company import): a contact's
/// status depends on whether its user's customer is linked to its company.
pub async fn links_changed(db: &Db, partner_id: i64) -> Result<(), sqlx::Error> {
    store::refresh_status(&db.pool, partner_id, None).await
}

/// After a company discovery: contacts are searched and sorted by their company's name.
pub async fn companies_changed(db: &Db, partner_id: i64) -> Result<(), sqlx::Error> {
    store::refresh_company_keys(db, partner_id).await
}

impl SqlContacts {
    /// Contacts on this database, fetched through the partner's saved connection.
    pub fn new(db: Db, settings: SqlAutotaskSettings, jobs: Jobs) -> Self {
        Self { db, settings, jobs }
    }

    /// The ids a selection stands for, checked against what was fetched.
    async fn resolve(&self, partner_id: i64, selection: ContactSelection) -> Result<Vec<i64>, AppError> {
        match selection {
            ContactSelection::Matching(filter) => {
                let ids = store::ids_matching(&self.db, partner_id, &filter).await.internal()?;
                if ids.is_empty() {
                    return Err(AppError::invalid("selection", "No contact matches this filter. Change the filter or get contacts again."));
                }
                Ok(ids)
            }
            ContactSelection::Ids(mut ids) => {
                ids.sort_unstable();
                ids.dedup();
                if ids.is_empty() {
                    return Err(AppError::invalid("selection", "Select at least one contact."));
                }
                if ids.len() > MAX_SELECTED_CONTACTS {
                    return Err(AppError::invalid(
                        "selection",
                        format!("Select at most {MAX_SELECTED_CONTACTS} contacts one by one, or use \u{201c}select all matching\u{201d}."),
                    ));
                }
                let known = store::known_ids(&self.db, partner_id, &ids).await.internal()?;
                if let Some(unknown) = ids.iter().find(|id| !known.contains(id)) {
                    return Err(AppError::invalid(
                        "selection",
                        format!("Contact {unknown} is not in the list. Get Autotask contacts, then select it again."),
                    ));
                }
                Ok(ids)
            }
        }
    }
}

#[async_trait::async_trait]
impl ContactService for SqlContacts {
    async fn list(&self, partner_id: i64, query: ContactQuery) -> Result<ContactPage, AppError> {
        let (rows, total, page, per_page) = store::page(&self.db, partner_id, &query).await.internal()?;
        // Rows matching means rows were fetched; only an empty list needs to ask.
        let any_fetched = total > 0 || store::count(&self.db, partner_id).await.internal()? > 0;
        let company_filter_name = match query.filter.company_id {
            Some(id) => store::company_name(&self.db, partner_id, id).await.internal()?.or_else(|| Some(format!("Company {id}"))),
            None => None,
        };
        let customer_filter_name = match query.filter.customer_id {
            Some(id) => crate::db::customers::name(&self.db, partner_id, id).await.internal()?,
            None => None,
        };
        Ok(ContactPage {
            rows: rows.into_iter().map(ContactRow::from).collect(),
            total,
            any_fetched,
            page,
            per_page,
            fetched_at: self.jobs.last_success_at(partner_id, JobKind::ContactFetch).await?,
            autotask_web_url: crate::db::connection::web_url(&self.db, partner_id).await.internal()?,
            company_filter_name,
            customer_filter_name,
        })
    }

    async fn start_fetch(&self, actor: &CurrentUser) -> Result<JobView, AppError> {
        // Refuse at once when there is nothing to connect with.
        self.settings.client(actor.partner_id).await?;
        let this = self.clone();
        let partner_id = actor.partner_id;
        self.jobs
            .spawn(partner_id, JobKind::ContactFetch, &actor.email, "Starting", move |progress: Arc<Progress>| async move {
                this.fetch(partner_id, &progress).await
            })
            .await
    }

    async fn set_choices(
        &self,
        actor: &CurrentUser,
        selection: ContactSelection,
        destination_id: Option<i64>,
        package_id: Option<i64>,
    ) -> Result<ChoicesSet, AppError> {
        if destination_id.is_none() && package_id.is_none() {
            return Err(AppError::invalid("destination_id", "Choose a destination or a package to set."));
        }
        let (d, p) =
            crate::db::storage::usable(&self.db, actor.partner_id, destination_id.unwrap_or(-1), package_id.unwrap_or(-1)).await.internal()?;
        if destination_id.is_some() && !d {
            return Err(AppError::invalid("destination_id", "That destination no longer exists or was retired. Reload the page and choose another."));
        }
        if package_id.is_some() && !p {
            return Err(AppError::invalid("package_id", "That package no longer exists or was retired. Reload the page and choose another."));
        }
        let ids = self.resolve(actor.partner_id, selection).await?;
        let changed = store::set_choices(&self.db, actor.partner_id, &ids, destination_id, package_id).await.internal()?;
        let (_, _, imported_skipped) = store::missing_choices(&self.db, actor.partner_id, &ids).await.internal()?;
        Ok(ChoicesSet { changed, imported_skipped })
    }

    async fn start_import(&self, actor: &CurrentUser, selection: ContactSelection, retry_of: Option<i64>) -> Result<JobView, AppError> {
        let ids = self.resolve(actor.partner_id, selection).await?;
        let (no_destination, no_package, imported) = store::missing_choices(&self.db, actor.partner_id, &ids).await.internal()?;
        if imported == ids.len() as i64 {
            return Err(AppError::invalid(
                "selection",
                "Every selected contact is imported already. Change imported users on the Backup users page.",
            ));
        }
        if no_destination > 0 || no_package > 0 {
            let mut missing = Vec::new();
            if no_destination > 0 {
                missing.push(format!("{} no destination", count_of(no_destination, "contact has", "contacts have")));
            }
            if no_package > 0 {
                missing.push(format!("{} no package", count_of(no_package, "contact has", "contacts have")));
            }
            return Err(AppError::invalid(
                "selection",
                format!(
                    "Nothing was imported: of the selected, {}. Both are required for a backup user: choose them in the Destination and Package columns, or with \u{201c}Set for selected\u{201d}.",
                    missing.join(" and ")
                ),
            ));
        }
        let this = self.clone();
        let partner_id = actor.partner_id;
        let email = actor.email.clone();
        self.jobs
            .retrying(retry_of)
            .spawn(partner_id, JobKind::ContactImport, &actor.email, "Importing", move |progress: Arc<Progress>| async move {
                this.import(partner_id, &email, &ids, &progress).await
            })
            .await
    }
}
