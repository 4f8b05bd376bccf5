//! Machine API tokens: created by admins, shown once, stored as SHA-256, revocable.

use super::{audit, now_ms, Db};
use crate::crypto::{random_token, sha256_hex};
use crate::error::SqlxResultExt;
use app::error::AppError;
use app::services::TokenStore;
use app::types::{ApiTokenSummary, CreatedApiToken, CurrentUser};

/// Every token starts with this, so secret scanners and people recognise it.
pub const TOKEN_PREFIX: &str = "tbk_";

/// Who is calling the machine API.
#[derive(Debug, Clone)]
pub struct ApiCaller {
    /// The partner the token belongs to.
    pub partner_id: i64,
    /// The token.
    pub token_id: i64,
    /// The token's name (for the history: "api token NAME").
    pub token_name: String,
}

/// `TokenStore` over the database.
#[derive(Debug, Clone)]
pub struct SqlTokenStore {
    db: Db,
}

const SELECT: &str = "select t.token_id, t.name, t.prefix, t.created_at, t.last_used_at, t.revoked_at, u.email as created_by \
                      from api_token t join app_user u on u.user_id = t.created_by";

/// A row of [`SELECT`].
#[derive(sqlx::FromRow)]
struct TokenRow {
    token_id: i64,
    name: String,
    prefix: String,
    created_by: String,
    created_at: i64,
    last_used_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl From<TokenRow> for ApiTokenSummary {
    fn from(r: TokenRow) -> Self {
        ApiTokenSummary {
            token_id: r.token_id,
            name: r.name,
            prefix: r.prefix,
            created_by: r.created_by,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
            revoked_at: r.revoked_at,
        }
    }
}

/// The token behind a bearer, as authentication reads it.
#[derive(sqlx::FromRow)]
struct Bearer {
    token_id: i64,
    partner_id: i64,
    name: String,
    last_used_at: Option<i64>,
}

impl SqlTokenStore {
    /// A store on this database.
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    async fn get(&self, partner_id: i64, token_id: i64) -> Result<ApiTokenSummary, AppError> {
        let row: TokenRow = sqlx::query_as(&format!("{SELECT} where t.partner_id = $1 and t.token_id = $2"))
            .bind(partner_id)
            .bind(token_id)
            .fetch_optional(&self.db.pool)
            .await
            .internal()?
            .ok_or(AppError::NotFound)?;
        Ok(row.into())
    }

    /// The caller behind a bearer token, if the token exists and is not revoked.
    pub async fn authenticate(&self, token: &str) -> Result<Option<ApiCaller>, AppError> {
        if !token.starts_with(TOKEN_PREFIX) {
            return Ok(None);
        }
        let Some(row): Option<Bearer> =
            sqlx::query_as("select token_id, partner_id, name, last_used_at from api_token where token_hash = $1 and revoked_at is null")
                .bind(sha256_hex(token))
                .fetch_optional(&self.db.pool)
                .await
                .internal()?
        else {
            return Ok(None);
        };
        let caller = ApiCaller { partner_id: row.partner_id, token_id: row.token_id, token_name: row.name };
        let last_used = row.last_used_at;
        let now = now_ms();
        if last_used.is_none_or(|t| now - t > 60_000) {
            sqlx::query("update api_token set last_used_at = $1 where token_id = $2")
                .bind(now)
                .bind(caller.token_id)
                .execute(&self.db.pool)
                .await
                .internal()?;
        }
        Ok(Some(caller))
    }
}

#[async_trait::async_trait]
impl TokenStore for SqlTokenStore {
    async fn list(&self, partner_id: i64) -> Result<Vec<ApiTokenSummary>, AppError> {
        let rows: Vec<TokenRow> = sqlx::query_as(&format!("{SELECT} where t.partner_id = $1 order by t.created_at desc, t.token_id desc"))
            .bind(partner_id)
            .fetch_all(&self.db.pool)
            .await
            .internal()?;
        Ok(rows.into_iter().map(ApiTokenSummary::from).collect())
    }

    async fn create(&self, actor: &CurrentUser, name: String) -> Result<CreatedApiToken, AppError> {
        let token = format!("{TOKEN_PREFIX}{}", random_token(32));
        let prefix: String = token.chars().take(TOKEN_PREFIX.len() + 6).collect();
        let mut tx = self.db.begin().await.internal()?;
        let token_id: i64 = sqlx::query_scalar(
            "insert into api_token (partner_id, name, prefix, token_hash, created_by, created_at) values ($1, $2, $3, $4, $5, $6) returning token_id",
        )
        .bind(actor.partner_id)
        .bind(&name)
        .bind(&prefix)
        .bind(sha256_hex(&token))
        .bind(actor.user_id)
        .bind(now_ms())
        .fetch_one(&mut *tx)
        .await
        .internal()?;
        // Only the token's name and its visible prefix: never the token.
        let made = serde_json::json!({"Token": format!("{name} ({prefix}\u{2026})"), "State": "active"});
        let change = audit::Change { customer_id: None, changes: &audit::values(&(), &made) };
        let summary = format!("Created API token \u{201c}{name}\u{201d} ({prefix}\u{2026})");
        audit::record_change(&mut *tx, actor.partner_id, &actor.email, "token.create", &summary, &change).await?;
        tx.commit().await.internal()?;
        Ok(CreatedApiToken { summary: self.get(actor.partner_id, token_id).await?, token })
    }

    async fn revoke(&self, actor: &CurrentUser, token_id: i64) -> Result<ApiTokenSummary, AppError> {
        let before = self.get(actor.partner_id, token_id).await?;
        if before.revoked_at.is_some() {
            return Ok(before);
        }
        let mut tx = self.db.begin().await.internal()?;
        sqlx::query("update api_token set revoked_at = $1, revoked_by = $2 where partner_id = $3 and token_id = $4")
            .bind(now_ms())
            .bind(actor.user_id)
            .bind(actor.partner_id)
            .bind(token_id)
            .execute(&mut *tx)
            .await
            .internal()?;
        let changes = [app::types::history::SettingChange {
            field: format!("Token \u{201c}{}\u{201d}", before.name),
            before: "active".into(),
            after: "revoked".into(),
        }];
        let summary = format!("Revoked API token \u{201c}{}\u{201d}", before.name);
        audit::record_change(
            &mut *tx,
            actor.partner_id,
            &actor.email,
            "token.revoke",
            &summary,
            &audit::Change { customer_id: None, changes: &changes },
        )
        .await?;
        tx.commit().await.internal()?;
        self.get(actor.partner_id, token_id).await
    }
}
