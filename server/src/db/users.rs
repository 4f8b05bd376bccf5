//! The partner's users. Every query is filtered by the acting user's partner.

use super::{audit, now_ms, Db, DbKind};
use crate::crypto::hash_password;
use crate::error::{internal, SqlxResultExt};
use app::error::AppError;
use app::services::UserStore;
use app::types::history::SettingChange;
use app::types::{CurrentUser, NewUser, Role, UserSummary};

const COLUMNS: &str = "user_id, email, name, role, disabled, created_at, last_sign_in_at";

/// `UserStore` over the database.
#[derive(Debug, Clone)]
pub struct SqlUserStore {
    db: Db,
}

impl SqlUserStore {
    /// A store on this database.
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    async fn get(&self, partner_id: i64, user_id: i64) -> Result<UserSummary, AppError> {
        let row: UserRow = sqlx::query_as(&format!("select {COLUMNS} from app_user where partner_id = $1 and user_id = $2"))
            .bind(partner_id)
            .bind(user_id)
            .fetch_optional(&self.db.pool)
            .await
            .internal()?
            .ok_or(AppError::NotFound)?;
        row.summary()
    }

    /// Refuses, inside the transaction that changes `user_id`, a change that would leave the
    /// partner without an enabled admin. The partner's row is locked first (`for update`
    /// on PostgreSQL; SQLite's `begin immediate` already holds the only write lock), so two
    /// admins demoting or disabling each other at once are decided one after the other:
    /// the second sees the first's change and is refused.
    async fn ensure_other_admin(&self, tx: &mut sqlx::Transaction<'static, sqlx::Any>, partner_id: i64, user_id: i64) -> Result<(), AppError> {
        if self.db.kind == DbKind::Postgres {
            sqlx::query("select partner_id from partner where partner_id = $1 for update")
                .bind(partner_id)
                .fetch_optional(&mut **tx)
                .await
                .internal()?;
        }
        let others: i64 =
            sqlx::query_scalar("select count(*) from app_user where partner_id = $1 and role = 'admin' and disabled = 0 and user_id <> $2")
                .bind(partner_id)
                .bind(user_id)
                .fetch_one(&mut **tx)
                .await
                .internal()?;
        if others == 0 {
            return Err(AppError::Conflict("This is the last active admin. Make another user an admin first.".into()));
        }
        Ok(())
    }
}

/// Disables (or enables) the demo partner's demo admin; true when that changed anything.
pub async fn set_demo_admin_disabled(db: &Db, partner_name: &str, email: &str, disabled: bool) -> Result<bool, sqlx::Error> {
    let flag = i64::from(disabled);
    let done = sqlx::query(
        "update app_user set disabled = $1 where email = $2 and disabled <> $1 \
         and partner_id in (select partner_id from partner where name = $3)",
    )
    .bind(flag)
    .bind(email)
    .bind(partner_name)
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// A user row, as [`COLUMNS`] reads it.
#[derive(sqlx::FromRow)]
struct UserRow {
    user_id: i64,
    email: String,
    name: String,
    role: String,
    disabled: i64,
    created_at: i64,
    last_sign_in_at: Option<i64>,
}

impl UserRow {
    fn summary(self) -> Result<UserSummary, AppError> {
        Ok(UserSummary {
            user_id: self.user_id,
            email: self.email,
            name: self.name,
            role: Role::parse(&self.role).map_err(internal_role)?,
            disabled: self.disabled != 0,
            created_at: self.created_at,
            last_sign_in_at: self.last_sign_in_at,
        })
    }
}

fn internal_role(_: AppError) -> AppError {
    internal(anyhow::anyhow!("unknown role stored in app_user"))
}

#[async_trait::async_trait]
impl UserStore for SqlUserStore {
    async fn list(&self, partner_id: i64) -> Result<Vec<UserSummary>, AppError> {
        let rows: Vec<UserRow> = sqlx::query_as(&format!("select {COLUMNS} from app_user where partner_id = $1 order by email"))
            .bind(partner_id)
            .fetch_all(&self.db.pool)
            .await
            .internal()?;
        rows.into_iter().map(UserRow::summary).collect()
    }

    async fn create(&self, actor: &CurrentUser, user: NewUser) -> Result<UserSummary, AppError> {
        let password = user.password.clone();
        let hash = tokio::task::spawn_blocking(move || hash_password(&password)).await.map_err(internal)?.map_err(internal)?;
        let now = now_ms();
        let mut tx = self.db.begin().await.internal()?;
        let here: Option<i64> = sqlx::query_scalar("select user_id from app_user where partner_id = $1 and email = $2")
            .bind(actor.partner_id)
            .bind(&user.email)
            .fetch_optional(&mut *tx)
            .await
            .internal()?;
        if here.is_some() {
            return Err(AppError::invalid("email", format!("{} is already a user of this account.", user.email)));
        }
        let user_id: i64 = sqlx::query_scalar(
            "insert into app_user (partner_id, email, name, role, password_hash, disabled, created_at, updated_at) \
             values ($1, $2, $3, $4, $5, 0, $6, $6) returning user_id",
        )
        .bind(actor.partner_id)
        .bind(&user.email)
        .bind(&user.name)
        .bind(user.role.as_str())
        .bind(&hash)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        // Taken under another partner: say so without revealing it.
        .on_unique(|| AppError::invalid("email", "This email address cannot be added. Use another address for this person."))?;
        let summary = format!("Added {} ({}) as {}", user.name, user.email, user.role.label());
        let made = serde_json::json!({"Email": user.email, "Name": user.name, "Role": user.role.label()});
        let change = audit::Change { customer_id: None, changes: &audit::values(&(), &made) };
        audit::record_change(&mut *tx, actor.partner_id, &actor.email, "user.create", &summary, &change).await?;
        tx.commit().await.internal()?;
        self.get(actor.partner_id, user_id).await
    }

    async fn set_role(&self, actor: &CurrentUser, user_id: i64, role: Role) -> Result<UserSummary, AppError> {
        let before = self.get(actor.partner_id, user_id).await?;
        if before.role == role {
            return Ok(before);
        }
        let mut tx = self.db.begin().await.internal()?;
        if before.role == Role::Admin && !before.disabled {
            self.ensure_other_admin(&mut tx, actor.partner_id, user_id).await?;
        }
        sqlx::query("update app_user set role = $1, updated_at = $2 where partner_id = $3 and user_id = $4")
            .bind(role.as_str())
            .bind(now_ms())
            .bind(actor.partner_id)
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .internal()?;
        let summary = format!("Changed the role of {} from {} to {}", before.email, before.role.label(), role.label());
        let changes = [SettingChange { field: format!("Role of {}", before.email), before: before.role.label().into(), after: role.label().into() }];
        audit::record_change(
            &mut *tx,
            actor.partner_id,
            &actor.email,
            "user.role",
            &summary,
            &audit::Change { customer_id: None, changes: &changes },
        )
        .await?;
        tx.commit().await.internal()?;
        self.get(actor.partner_id, user_id).await
    }

    async fn set_disabled(&self, actor: &CurrentUser, user_id: i64, disabled: bool) -> Result<UserSummary, AppError> {
        if disabled && user_id == actor.user_id {
            return Err(AppError::Conflict("You cannot disable your own account.".into()));
        }
        let before = self.get(actor.partner_id, user_id).await?;
        if before.disabled == disabled {
            return Ok(before);
        }
        let mut tx = self.db.begin().await.internal()?;
        if disabled && before.role == Role::Admin {
            self.ensure_other_admin(&mut tx, actor.partner_id, user_id).await?;
        }
        sqlx::query("update app_user set disabled = $1, updated_at = $2 where partner_id = $3 and user_id = $4")
            .bind(i64::from(disabled))
            .bind(now_ms())
            .bind(actor.partner_id)
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .internal()?;
        if disabled {
            // A disabled user is signed out everywhere at once.
            sqlx::query("delete from session where partner_id = $1 and user_id = $2")
                .bind(actor.partner_id)
                .bind(user_id)
                .execute(&mut *tx)
                .await
                .internal()?;
        }
        let verb = if disabled { "Disabled" } else { "Enabled" };
        let state = |off: bool| if off { "disabled" } else { "enabled" }.to_string();
        let changes = [SettingChange { field: format!("Account of {}", before.email), before: state(before.disabled), after: state(disabled) }];
        let change = audit::Change { customer_id: None, changes: &changes };
        audit::record_change(&mut *tx, actor.partner_id, &actor.email, "user.disable", &format!("{verb} {}", before.email), &change).await?;
        tx.commit().await.internal()?;
        self.get(actor.partner_id, user_id).await
    }
}
