//! Partners (tenants) and their first admin.

use super::{now_ms, Db};
use crate::crypto::hash_password;
use crate::error::{internal, SqlxResultExt};
use app::error::AppError;
use app::types::{NewUser, Role};

/// The ids of a newly created partner and its admin.
#[derive(Debug, Clone, Copy)]
pub struct CreatedPartner {
    /// The partner.
    pub partner_id: i64,
    /// Its first admin.
    pub user_id: i64,
}

/// Creates a partner and its first admin in one transaction.
pub async fn create_partner(db: &Db, name: &str, admin: NewUser) -> Result<CreatedPartner, AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 120 {
        return Err(AppError::invalid("name", "Give the partner a name of 1 to 120 characters."));
    }
    if admin.role != Role::Admin {
        return Err(AppError::invalid("role", "A partner's first user must be an admin."));
    }
    let hash = tokio::task::spawn_blocking(move || hash_password(&admin.password).map(|h| (admin, h))).await.map_err(internal)?.map_err(internal)?;
    let (admin, hash) = hash;
    let now = now_ms();
    let mut tx = db.begin().await.internal()?;
    let partner_id: i64 = sqlx::query_scalar("insert into partner (name, created_at) values ($1, $2) returning partner_id")
        .bind(name)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .on_unique(|| AppError::Conflict(format!("A partner named \u{201c}{name}\u{201d} already exists.")))?;
    let user_id: i64 = sqlx::query_scalar(
        "insert into app_user (partner_id, email, name, role, password_hash, disabled, created_at, updated_at) \
         values ($1, $2, $3, 'admin', $4, 0, $5, $5) returning user_id",
    )
    .bind(partner_id)
    .bind(&admin.email)
    .bind(&admin.name)
    .bind(&hash)
    .bind(now)
    .fetch_one(&mut *tx)
    .await
    .on_unique(|| AppError::invalid("email", format!("{} is already a user of Taskbridge.", admin.email)))?;
    super::audit::record(&mut *tx, partner_id, "system", "partner.create", &format!("Partner created with admin {}", admin.email)).await?;
    tx.commit().await.internal()?;
    Ok(CreatedPartner { partner_id, user_id })
}

/// The id of the partner with this name, if any.
pub async fn find_by_name(db: &Db, name: &str) -> Result<Option<i64>, AppError> {
    sqlx::query_scalar("select partner_id from partner where name = $1").bind(name).fetch_optional(&db.pool).await.internal()
}

/// The partner's name (`None` when there is no such partner).
pub async fn name(db: &Db, partner_id: i64) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("select name from partner where partner_id = $1").bind(partner_id).fetch_optional(&db.pool).await
}
