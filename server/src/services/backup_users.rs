//! Backup users: the Backup users page's list, edits and deletion under the seed's rules
//! (a new name or customer marks the Autotask contact Modified; a new email makes it a new
//! user, unlinked from the contact, which shows blank again; deleting shows it blank
//! too), and settling a Modified contact either way.

use crate::db::backup_users::{self as store, UserPatch, UserRow};
use crate::db::contacts::status_of;
use crate::db::{audit, customers, links, now_ms, storage, Db};
use crate::error::SqlxResultExt;
use crate::services::contacts::status::{differences, Sides};
use app::error::AppError;
use app::services::BackupUserService;
use app::types::contacts::{BackupUserInput, BackupUserPage, BackupUserQuery, BackupUserRow, BackupUserSaved, IntegrationStatus, Resolution};
use app::types::CurrentUser;

/// `BackupUserService` over the database.
#[derive(Clone)]
pub struct SqlBackupUsers {
    db: Db,
}

impl From<UserRow> for BackupUserRow {
    fn from(r: UserRow) -> Self {
        let contact_status = r.status.map(status_of);
        let differences = match (r.contact_id, contact_status) {
            (Some(_), Some(IntegrationStatus::Modified)) => {
                let company = r
                    .contact_company_name
                    .clone()
                    .or_else(|| r.contact_company_id.map(|id| format!("company {id}")))
                    .unwrap_or_else(|| "no company".into());
                differences(Sides {
                    user_first: &r.first_name,
                    user_last: &r.last_name,
                    user_customer: &r.customer_name,
                    contact_first: r.contact_first.as_deref().unwrap_or_default(),
                    contact_last: r.contact_last.as_deref().unwrap_or_default(),
                    contact_company: &company,
                    same_company: r.same_company != 0,
                })
            }
            _ => None,
        };
        BackupUserRow {
            backup_user_id: r.backup_user_id,
            first_name: r.first_name,
            last_name: r.last_name,
            email: r.email,
            customer_id: r.customer_id,
            customer_name: r.customer_name,
            customer_ref: r.customer_ref,
            destination_id: r.destination_id,
            destination_name: r.destination_name.unwrap_or_else(|| format!("Destination {} (deleted)", r.destination_id)),
            package_id: r.package_id,
            package_name: r.package_name.unwrap_or_else(|| format!("Package {} (deleted)", r.package_id)),
            package_limit_gb: r.limit_gb,
            contact_id: r.contact_id,
            contact_status,
            differences,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

impl SqlBackupUsers {
    /// Backup users on this database.
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    async fn row(&self, partner_id: i64, id: i64) -> Result<BackupUserRow, AppError> {
        store::get(&self.db, partner_id, id).await.internal()?.map(BackupUserRow::from).ok_or(AppError::NotFound)
    }
}

#[async_trait::async_trait]
impl BackupUserService for SqlBackupUsers {
    async fn list(&self, partner_id: i64, query: BackupUserQuery) -> Result<BackupUserPage, AppError> {
        let (rows, total, page, per_page) = store::page(&self.db, partner_id, &query.filter, query.page, query.per_page).await.internal()?;
        Ok(BackupUserPage {
            rows: rows.into_iter().map(BackupUserRow::from).collect(),
            total,
            all: store::count(&self.db, partner_id).await.internal()?,
            page,
            per_page,
        })
    }

    async fn save(&self, actor: &CurrentUser, id: i64, input: BackupUserInput) -> Result<BackupUserSaved, AppError> {
        let valid = input.validate()?;
        let partner_id = actor.partner_id;
        let customer = customers::name(&self.db, partner_id, input.customer_id)
            .await
            .internal()?
            .ok_or_else(|| AppError::invalid("customer_id", "Choose the customer this user belongs to."))?;
        let (destination_ok, package_ok) = storage::usable(&self.db, partner_id, input.destination_id, input.package_id).await.internal()?;
        let mut tx = self.db.begin().await.internal()?;
        let before = store::current(&mut tx, partner_id, id).await.internal()?.ok_or(AppError::NotFound)?;
        // A retired destination or package may stay on a user that has it; it cannot be newly chosen.
        if !destination_ok && input.destination_id != before.destination_id {
            return Err(AppError::invalid("destination_id", "Choose a destination that exists and is not retired."));
        }
        if !package_ok && input.package_id != before.package_id {
            return Err(AppError::invalid("package_id", "Choose a package that exists and is not retired."));
        }
        if store::with_email(&mut tx, partner_id, &valid.email, id).await.internal()?.is_some() {
            return Err(AppError::invalid("email", format!("Another backup user already has the email {}.", valid.email)));
        }
        let new_email = valid.email != before.email.to_lowercase();
        let unlink = new_email && before.contact_id.is_some();
        let patch = UserPatch {
            first_name: &valid.first_name,
            last_name: &valid.last_name,
            email: &valid.email,
            customer_id: input.customer_id,
            destination_id: input.destination_id,
            package_id: input.package_id,
            unlink,
        };
        store::update(&mut tx, partner_id, id, &patch, now_ms())
            .await
            .on_unique(|| AppError::invalid("email", "Another backup user already has this email."))?;
        let mut summary = format!("Backup user {} {} <{}> of {customer} changed", valid.first_name, valid.last_name, valid.email);
        if unlink {
            summary.push_str(&format!("; new email, unlinked from Autotask contact {}", before.contact_id.unwrap_or_default()));
        }
        audit::record(&mut *tx, partner_id, &actor.email, "backup_users.change", &summary).await?;
        refresh(&mut tx, partner_id, before.contact_id).await?;
        tx.commit().await.internal()?;
        let user = self.row(partner_id, id).await?;
        let message = if unlink {
            format!(
                "Saved. A new email makes this a new user: it is no longer linked to Autotask contact {}, which shows a blank status again.",
                before.contact_id.unwrap_or_default()
            )
        } else if user.contact_status == Some(IntegrationStatus::Modified) {
            "Saved. Its name or customer now differs from Autotask, so its contact shows Modified.".to_string()
        } else {
            "Saved.".to_string()
        };
        Ok(BackupUserSaved { user, message })
    }

    async fn delete(&self, actor: &CurrentUser, id: i64) -> Result<(), AppError> {
        let mut tx = self.db.begin().await.internal()?;
        let before = store::current(&mut tx, actor.partner_id, id).await.internal()?.ok_or(AppError::NotFound)?;
        store::delete(&mut tx, actor.partner_id, id, now_ms()).await.internal()?;
        let summary = format!("Backup user {} {} <{}> deleted", before.first_name, before.last_name, before.email);
        audit::record(&mut *tx, actor.partner_id, &actor.email, "backup_users.change", &summary).await?;
        refresh(&mut tx, actor.partner_id, before.contact_id).await?;
        tx.commit().await.internal()
    }

    async fn resolve(&self, actor: &CurrentUser, id: i64, resolution: Resolution) -> Result<(), AppError> {
        let partner_id = actor.partner_id;
        let mut tx = self.db.begin().await.internal()?;
        let before = store::current(&mut tx, partner_id, id).await.internal()?.ok_or(AppError::NotFound)?;
        let Some(contact_id) = before.contact_id else {
            return Err(AppError::Conflict("This user is not linked to an Autotask contact, so there is nothing to compare.".into()));
        };
        let summary = match resolution {
            Resolution::KeepTaskbridge => {
                store::keep_difference(&mut tx, partner_id, id, now_ms()).await.internal()?;
                format!("Backup user {}: Taskbridge's name and customer kept over Autotask contact {contact_id}", before.email)
            }
            Resolution::TakeAutotask => {
                let (first, last, company) =
                    crate::db::contacts::autotask_values(&mut tx, partner_id, contact_id).await.internal()?.ok_or(AppError::NotFound)?;
                let company = company
                    .ok_or_else(|| AppError::Conflict("The contact belongs to no company in Autotask, so there is no customer to take.".into()))?;
                let linked = links::customers_of_companies(&self.db, partner_id, &[company]).await.internal()?;
                let customer_id = if linked.iter().any(|(_, c, _)| *c == before.customer_id) {
                    before.customer_id
                } else {
                    match linked.as_slice() {
                        [(_, only, _)] => *only,
                        [] => {
                            return Err(AppError::Conflict(format!(
                                "The contact's Autotask company (ID {company}) is not mapped to a customer. Link it on the Customer Map first."
                            )))
                        }
                        many => {
                            let names: Vec<&str> = many.iter().map(|(_, _, n)| n.as_str()).collect();
                            return Err(AppError::Conflict(format!(
                                "The contact's Autotask company is mapped to several customers ({}). Choose the customer by editing the user.",
                                names.join(", ")
                            )));
                        }
                    }
                };
                store::take_autotask(&mut tx, partner_id, id, &first, &last, customer_id, now_ms()).await.internal()?;
                format!("Backup user {}: name and customer updated from Autotask contact {contact_id} ({first} {last})", before.email)
            }
        };
        audit::record(&mut *tx, partner_id, &actor.email, "backup_users.change", &summary).await?;
        refresh(&mut tx, partner_id, Some(contact_id)).await?;
        tx.commit().await.internal()
    }
}

/// The status of the contact a change touched, computed again in the same transaction.
async fn refresh(tx: &mut sqlx::Transaction<'static, sqlx::Any>, partner_id: i64, contact_id: Option<i64>) -> Result<(), AppError> {
    match contact_id {
        Some(id) => crate::db::contacts::refresh_status(&mut **tx, partner_id, Some(&[id])).await.internal(),
        None => Ok(()),
    }
}
