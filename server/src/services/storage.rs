//! Storage destinations and packages: the lists the Contacts and Backup users pages offer,
//! add, change, retire and delete (only when unused), each change in the partner's history.

use crate::db::storage::{self as store};
use crate::db::{audit, now_ms, Db};
use crate::error::SqlxResultExt;
use app::error::AppError;
use app::format::count_of;
use app::services::StorageService;
use app::types::storage::{limit_label, Destination, DestinationInput, Package, PackageInput, StorageItem, StorageLists};
use app::types::CurrentUser;

/// `StorageService` over the database.
#[derive(Clone)]
pub struct SqlStorage {
    db: Db,
}

impl SqlStorage {
    /// Destinations and packages on this database.
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

fn name_taken(what: &str, name: &str) -> AppError {
    AppError::invalid("name", format!("There is already a {what} named \u{201c}{name}\u{201d}. Choose another name."))
}

#[async_trait::async_trait]
impl StorageService for SqlStorage {
    async fn lists(&self, partner_id: i64) -> Result<StorageLists, AppError> {
        Ok(StorageLists {
            destinations: store::destinations(&self.db, partner_id).await.internal()?,
            packages: store::packages(&self.db, partner_id).await.internal()?,
        })
    }

    async fn save_destination(&self, actor: &CurrentUser, id: Option<i64>, input: DestinationInput) -> Result<Destination, AppError> {
        let d = input.validate()?;
        let now = now_ms();
        let mut tx = self.db.begin().await.internal()?;
        let (id, summary) = match id {
            None => {
                let id = store::insert_destination(&mut tx, actor.partner_id, &d, now).await.on_unique(|| name_taken("destination", &d.name))?;
                (
                    id,
                    format!(
                        "Storage destination added: {} ({} {} {})",
                        d.name,
                        d.provider.label(),
                        d.provider.kind().label().to_lowercase(),
                        d.location
                    ),
                )
            }
            Some(id) => {
                if !store::update_destination(&mut tx, actor.partner_id, id, &d, now).await.on_unique(|| name_taken("destination", &d.name))? {
                    return Err(AppError::NotFound);
                }
                (
                    id,
                    format!(
                        "Storage destination changed: {} ({} {} {})",
                        d.name,
                        d.provider.label(),
                        d.provider.kind().label().to_lowercase(),
                        d.location
                    ),
                )
            }
        };
        audit::record(&mut *tx, actor.partner_id, &actor.email, "storage.change", &summary).await?;
        tx.commit().await.internal()?;
        store::destination(&self.db, actor.partner_id, id).await.internal()?.ok_or(AppError::NotFound)
    }

    async fn save_package(&self, actor: &CurrentUser, id: Option<i64>, input: PackageInput) -> Result<Package, AppError> {
        let p = input.validate()?;
        let now = now_ms();
        let mut tx = self.db.begin().await.internal()?;
        let id = match id {
            None => store::insert_package(&mut tx, actor.partner_id, &p, now).await.on_unique(|| name_taken("package", &p.name))?,
            Some(id) => {
                if !store::update_package(&mut tx, actor.partner_id, id, &p, now).await.on_unique(|| name_taken("package", &p.name))? {
                    return Err(AppError::NotFound);
                }
                id
            }
        };
        let summary = format!("Package saved: {} ({})", p.name, limit_label(p.limit_gb));
        audit::record(&mut *tx, actor.partner_id, &actor.email, "storage.change", &summary).await?;
        tx.commit().await.internal()?;
        store::package(&self.db, actor.partner_id, id).await.internal()?.ok_or(AppError::NotFound)
    }

    async fn set_retired(&self, actor: &CurrentUser, item: StorageItem, id: i64, retired: bool) -> Result<(), AppError> {
        let mut tx = self.db.begin().await.internal()?;
        let name = store::name_of(&mut tx, item, actor.partner_id, id).await.internal()?.ok_or(AppError::NotFound)?;
        store::set_retired(&mut tx, item, actor.partner_id, id, retired, now_ms()).await.internal()?;
        let summary = format!("{} {name} {}", capitalised(item.noun()), if retired { "retired" } else { "reactivated" });
        audit::record(&mut *tx, actor.partner_id, &actor.email, "storage.change", &summary).await?;
        tx.commit().await.internal()
    }

    async fn delete(&self, actor: &CurrentUser, item: StorageItem, id: i64) -> Result<(), AppError> {
        let mut tx = self.db.begin().await.internal()?;
        let name = store::name_of(&mut tx, item, actor.partner_id, id).await.internal()?.ok_or(AppError::NotFound)?;
        let users = store::users_of(&mut tx, item, actor.partner_id, id).await.internal()?;
        if users > 0 {
            return Err(AppError::Conflict(format!(
                "The {} \u{201c}{name}\u{201d} is used by {}, so it cannot be deleted. Move them to another {} on the Backup users page, or retire it: its users keep it and it is no longer offered.",
                item.noun(),
                count_of(users, "backup user", "backup users"),
                item.noun()
            )));
        }
        store::delete(&mut tx, item, actor.partner_id, id).await.internal()?;
        audit::record(&mut *tx, actor.partner_id, &actor.email, "storage.change", &format!("{} {name} deleted", capitalised(item.noun()))).await?;
        tx.commit().await.internal()
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}
