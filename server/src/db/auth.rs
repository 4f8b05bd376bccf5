//! Sign-in with throttling, database sessions with idle and absolute expiry, sign-out.

use super::{audit, now_ms, Db};
use crate::crypto::{random_token, sha256_hex, verify_password};
use crate::error::{internal, SqlxResultExt};
use app::error::AppError;
use app::services::{AuthService, NewSession, RequestMeta};
use app::types::{CurrentUser, Role};

/// Session and throttling policy.
#[derive(Debug, Clone)]
pub struct AuthPolicy {
    /// Cookie name.
    pub cookie_name: String,
    /// A session ends after this long without a request.
    pub idle_ms: i64,
    /// A session ends this long after sign-in.
    pub absolute_ms: i64,
    /// Failures per account within `window_ms` before the account is throttled.
    pub max_account_failures: i64,
    /// Failures per client address within `window_ms` before the address is throttled.
    pub max_address_failures: i64,
    /// The throttling window.
    pub window_ms: i64,
}

impl Default for AuthPolicy {
    fn default() -> Self {
        Self {
            cookie_name: "tb_session".into(),
            idle_ms: 8 * 3600 * 1000,
            absolute_ms: 7 * 24 * 3600 * 1000,
            max_account_failures: 5,
            max_address_failures: 30,
            window_ms: 15 * 60 * 1000,
        }
    }
}

/// `last_seen_at` is written at most this often per session (keeps reads read-only).
const TOUCH_EVERY_MS: i64 = 60_000;

/// `AuthService` over the database.
#[derive(Debug, Clone)]
pub struct SqlAuth {
    db: Db,
    policy: AuthPolicy,
    /// Verified against when the email is unknown, so timing does not reveal accounts.
    dummy_hash: String,
}

impl SqlAuth {
    /// Builds the service (hashes a throwaway password once for constant-time refusals).
    pub fn new(db: Db, policy: AuthPolicy) -> anyhow::Result<Self> {
        let dummy_hash = crate::crypto::hash_password(&random_token(16))?;
        Ok(Self { db, policy, dummy_hash })
    }

    /// The policy in force.
    pub fn policy(&self) -> &AuthPolicy {
        &self.policy
    }

    /// The user behind a session cookie, if the session is valid; refreshes its idle timer.
    pub async fn resolve(&self, token: &str) -> Result<Option<CurrentUser>, AppError> {
        let hash = sha256_hex(token);
        let Some(row): Option<SessionRow> = sqlx::query_as(
            "select s.session_id, s.last_seen_at, s.expires_at, u.user_id, u.partner_id, u.email, u.name, u.role, u.disabled, p.name as partner_name \
             from session s join app_user u on u.user_id = s.user_id join partner p on p.partner_id = u.partner_id \
             where s.token_hash = $1",
        )
        .bind(&hash)
        .fetch_optional(&self.db.pool)
        .await
        .internal()?
        else {
            return Ok(None);
        };
        let now = now_ms();
        let (session_id, last_seen, expires) = (row.session_id, row.last_seen_at, row.expires_at);
        if now >= expires || now - last_seen >= self.policy.idle_ms || row.user.disabled != 0 {
            sqlx::query("delete from session where session_id = $1").bind(session_id).execute(&self.db.pool).await.internal()?;
            return Ok(None);
        }
        if now - last_seen >= TOUCH_EVERY_MS {
            sqlx::query("update session set last_seen_at = $1 where session_id = $2")
                .bind(now)
                .bind(session_id)
                .execute(&self.db.pool)
                .await
                .internal()?;
        }
        current_user(&row.user).map(Some)
    }

    async fn recent_failures(&self, scope: &str, key: &str, now: i64) -> Result<(i64, i64), AppError> {
        let (n, oldest): (i64, Option<i64>) =
            sqlx::query_as("select count(*), min(failed_at) from sign_in_failure where scope = $1 and key = $2 and failed_at > $3")
                .bind(scope)
                .bind(key)
                .bind(now - self.policy.window_ms)
                .fetch_one(&self.db.pool)
                .await
                .internal()?;
        Ok((n, oldest.unwrap_or(now)))
    }

    async fn throttled(&self, email: &str, ip: &str, now: i64) -> Result<(), AppError> {
        for (scope, key, max, whom) in [
            ("account", email, self.policy.max_account_failures, "this account"),
            ("address", ip, self.policy.max_address_failures, "your network address"),
        ] {
            let (n, oldest) = self.recent_failures(scope, key, now).await?;
            if n >= max {
                let wait_min = ((oldest + self.policy.window_ms - now) as f64 / 60_000.0).ceil().max(1.0) as i64;
                return Err(AppError::TooManyAttempts(format!(
                    "Too many failed sign-ins for {whom}. Wait {wait_min} minute{} and try again.",
                    if wait_min == 1 { "" } else { "s" }
                )));
            }
        }
        Ok(())
    }

    async fn record_failure(&self, email: &str, ip: &str, now: i64) -> Result<(), AppError> {
        let mut tx = self.db.begin().await.internal()?;
        for (scope, key) in [("account", email), ("address", ip)] {
            sqlx::query("insert into sign_in_failure (scope, key, failed_at) values ($1, $2, $3)")
                .bind(scope)
                .bind(key)
                .bind(now)
                .execute(&mut *tx)
                .await
                .internal()?;
        }
        // Old rows are useless once outside the window.
        sqlx::query("delete from sign_in_failure where failed_at < $1").bind(now - 2 * self.policy.window_ms).execute(&mut *tx).await.internal()?;
        tx.commit().await.internal()
    }
}

/// A user of `app_user` joined with its `partner` (as `partner_name`).
#[derive(sqlx::FromRow)]
struct UserRow {
    user_id: i64,
    partner_id: i64,
    partner_name: String,
    email: String,
    name: String,
    role: String,
    disabled: i64,
}

/// A session with its user.
#[derive(sqlx::FromRow)]
struct SessionRow {
    session_id: i64,
    last_seen_at: i64,
    expires_at: i64,
    #[sqlx(flatten)]
    user: UserRow,
}

/// A user signing in, with the stored password hash.
#[derive(sqlx::FromRow)]
struct SignInRow {
    password_hash: String,
    #[sqlx(flatten)]
    user: UserRow,
}

/// The signed-in user.
fn current_user(row: &UserRow) -> Result<CurrentUser, AppError> {
    Ok(CurrentUser {
        user_id: row.user_id,
        partner_id: row.partner_id,
        partner_name: row.partner_name.clone(),
        email: row.email.clone(),
        name: row.name.clone(),
        role: Role::parse(&row.role).map_err(|_| internal(anyhow::anyhow!("unknown role {:?}", row.role)))?,
    })
}

fn wrong_credentials() -> AppError {
    AppError::invalid("credentials", "The email or password is incorrect.")
}

#[async_trait::async_trait]
impl AuthService for SqlAuth {
    async fn sign_in(&self, email: &str, password: &str, meta: &RequestMeta) -> Result<NewSession, AppError> {
        let email = email.trim().to_lowercase();
        if email.is_empty() {
            return Err(AppError::invalid("email", "Enter your email address."));
        }
        if password.is_empty() {
            return Err(AppError::invalid("password", "Enter your password."));
        }
        let now = now_ms();
        self.throttled(&email, &meta.client_ip, now).await?;
        let row: Option<SignInRow> = sqlx::query_as(
            "select u.user_id, u.partner_id, u.email, u.name, u.role, u.disabled, u.password_hash, p.name as partner_name \
             from app_user u join partner p on p.partner_id = u.partner_id where u.email = $1",
        )
        .bind(&email)
        .fetch_optional(&self.db.pool)
        .await
        .internal()?;
        let hash = match &row {
            Some(r) => r.password_hash.clone(),
            None => self.dummy_hash.clone(),
        };
        let candidate = password.to_string();
        let verified = tokio::task::spawn_blocking(move || verify_password(&candidate, &hash)).await.map_err(internal)?;
        let Some(row) = row.filter(|_| verified) else {
            self.record_failure(&email, &meta.client_ip, now).await?;
            tracing::info!(email = %email, ip = %meta.client_ip, "failed sign-in");
            return Err(wrong_credentials());
        };
        if row.user.disabled != 0 {
            return Err(AppError::invalid("credentials", "This account is disabled. Ask an admin of your partner to enable it."));
        }
        let user = current_user(&row.user)?;
        let token = random_token(32);
        let mut tx = self.db.begin().await.internal()?;
        sqlx::query(
            "insert into session (token_hash, user_id, partner_id, created_at, last_seen_at, expires_at, client_ip, user_agent) \
             values ($1, $2, $3, $4, $4, $5, $6, $7)",
        )
        .bind(sha256_hex(&token))
        .bind(user.user_id)
        .bind(user.partner_id)
        .bind(now)
        .bind(now + self.policy.absolute_ms)
        .bind(&meta.client_ip)
        .bind(meta.user_agent.chars().take(300).collect::<String>())
        .execute(&mut *tx)
        .await
        .internal()?;
        sqlx::query("update app_user set last_sign_in_at = $1 where user_id = $2").bind(now).bind(user.user_id).execute(&mut *tx).await.internal()?;
        sqlx::query("delete from sign_in_failure where scope = 'account' and key = $1").bind(&email).execute(&mut *tx).await.internal()?;
        sqlx::query("delete from session where user_id = $1 and expires_at < $2").bind(user.user_id).bind(now).execute(&mut *tx).await.internal()?;
        audit::record(&mut *tx, user.partner_id, &user.email, "session.sign_in", &format!("Signed in from {}", meta.client_ip)).await?;
        tx.commit().await.internal()?;
        Ok(NewSession { token, user, max_age_secs: self.policy.absolute_ms / 1000 })
    }

    async fn sign_out(&self, token: &str) -> Result<(), AppError> {
        sqlx::query("delete from session where token_hash = $1").bind(sha256_hex(token)).execute(&self.db.pool).await.internal()?;
        Ok(())
    }

    fn cookie_name(&self) -> &str {
        &self.policy.cookie_name
    }
}
