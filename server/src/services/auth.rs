//! Sign-in and sessions: database sessions with idle and absolute expiry, and throttling
//! that slows guessing down without ever locking the right password out for long.
//!
//! Throttling, per account (the email) and per client address:
//! - each attempt first claims a slot by a conditional update of its throttle row, before
//!   any password is checked, so parallel guesses cannot all pass;
//! - the first `free` attempts in a window (5 per account, 100 per address) go straight
//!   through; after that each attempt waits 1 s, 2 s, 4 s … (at most 60 s) after the one
//!   before, and an attempt inside that wait is answered 429 with the seconds left;
//! - a successful sign-in clears the account's count and gives its attempt back to the
//!   address, so people behind one address do not slow each other down.
//!
//! Password checks (argon2id, 19 MiB each) run on a bounded number of permits (two per
//! core); a sign-in that cannot get one within 5 s is answered 429 instead of queueing
//! unbounded memory.

use crate::crypto::{random_token, sha256_hex, verify_password};
use crate::db::auth::{self as store, NewSessionRow, ThrottleRow, UserRow};
use crate::db::{now_ms, Db};
use crate::error::{internal, SqlxResultExt};
use app::error::AppError;
use app::services::{AuthService, NewSession, RequestMeta};
use app::types::{CurrentUser, Role};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// Session and throttling policy.
#[derive(Debug, Clone)]
pub struct AuthPolicy {
    /// Cookie name.
    pub cookie_name: String,
    /// A session ends after this long without a request.
    pub idle_ms: i64,
    /// A session ends this long after sign-in.
    pub absolute_ms: i64,
    /// Attempts per account in a window before each next one waits.
    pub account_free_attempts: i64,
    /// Attempts per client address in a window before each next one waits.
    pub address_free_attempts: i64,
    /// The longest wait between two attempts.
    pub max_delay_ms: i64,
    /// A count older than this starts over.
    pub window_ms: i64,
    /// Password checks at once.
    pub hashing_permits: usize,
}

impl Default for AuthPolicy {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        Self {
            cookie_name: "tb_session".into(),
            idle_ms: 8 * 3600 * 1000,
            absolute_ms: 7 * 24 * 3600 * 1000,
            account_free_attempts: 5,
            address_free_attempts: 100,
            max_delay_ms: 60_000,
            window_ms: 15 * 60 * 1000,
            hashing_permits: (cores * 2).clamp(2, 16),
        }
    }
}

impl AuthPolicy {
    /// How long the attempt after the `attempts`-th must wait.
    pub fn delay_ms(&self, attempts: i64, free: i64) -> i64 {
        if attempts < free {
            0
        } else {
            (1_000i64 << (attempts - free).min(16)).min(self.max_delay_ms)
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
    hashing: Arc<Semaphore>,
    checking: Arc<AtomicUsize>,
    peak_checking: Arc<AtomicUsize>,
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

impl SqlAuth {
    /// Builds the service (hashes a throwaway password once for constant-time refusals).
    pub fn new(db: Db, policy: AuthPolicy) -> anyhow::Result<Self> {
        let dummy_hash = crate::crypto::hash_password(&random_token(16))?;
        let hashing = Arc::new(Semaphore::new(policy.hashing_permits.max(1)));
        Ok(Self { db, policy, dummy_hash, hashing, checking: Arc::default(), peak_checking: Arc::default() })
    }

    /// The policy in force.
    pub fn policy(&self) -> &AuthPolicy {
        &self.policy
    }

    /// The most password checks that ran at once since start.
    pub fn peak_password_checks(&self) -> usize {
        self.peak_checking.load(Ordering::Relaxed)
    }

    /// The user behind a session cookie, if the session is valid; refreshes its idle timer.
    pub async fn resolve(&self, token: &str) -> Result<Option<CurrentUser>, AppError> {
        let Some(row) = store::session(&self.db, &sha256_hex(token)).await.internal()? else {
            return Ok(None);
        };
        let now = now_ms();
        if now >= row.expires_at || now - row.last_seen_at >= self.policy.idle_ms || row.user.disabled != 0 {
            store::end_session(&self.db, row.session_id).await.internal()?;
            return Ok(None);
        }
        if now - row.last_seen_at >= TOUCH_EVERY_MS {
            store::touch_session(&self.db, row.session_id, now).await.internal()?;
        }
        current_user(&row.user).map(Some)
    }

    /// Claims the next attempt of `scope`/`key`, or says how long to wait.
    async fn claim(&self, scope: &str, key: &str, free: i64, now: i64) -> Result<(), AppError> {
        for _ in 0..20 {
            let seen = store::throttle(&self.db, scope, key).await.internal()?;
            let current = seen.filter(|r| r.updated_at > now - self.policy.window_ms);
            if let Some(r) = current.filter(|r| r.next_at > now) {
                let secs = ((r.next_at - now) as f64 / 1000.0).ceil().max(1.0) as i64;
                let whom = if scope == "account" { "this account" } else { "your network address" };
                return Err(AppError::TooManyAttempts(format!(
                    "Too many password attempts for {whom}. Try again in {secs} second{}.",
                    if secs == 1 { "" } else { "s" }
                )));
            }
            let attempts = current.map_or(0, |r| r.attempts) + 1;
            let version = seen.map_or(now, |r| now.max(r.updated_at + 1));
            // No wait owed: no earliest time either. (`now + 0` made a concurrent sign-in that
            // read the clock a millisecond earlier wait "1 second" for nothing.)
            let delay = self.policy.delay_ms(attempts, free);
            let next = ThrottleRow { attempts, next_at: if delay == 0 { 0 } else { now + delay }, updated_at: version };
            if store::claim_throttle(&self.db, scope, key, seen, next).await.internal()? {
                return Ok(());
            }
        }
        Err(AppError::TooManyAttempts("Too many password attempts at once. Try again in a few seconds.".into()))
    }

    /// Checks a password on a bounded pool of permits.
    async fn check_password(&self, password: &str, hash: String) -> Result<bool, AppError> {
        let busy = || AppError::TooManyAttempts("Sign-in is busy right now. Try again in a few seconds.".into());
        let permit =
            tokio::time::timeout(Duration::from_secs(5), self.hashing.clone().acquire_owned()).await.map_err(|_| busy())?.map_err(|_| busy())?;
        let now_checking = self.checking.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak_checking.fetch_max(now_checking, Ordering::SeqCst);
        let candidate = password.to_string();
        let verified = tokio::task::spawn_blocking(move || verify_password(&candidate, &hash)).await;
        self.checking.fetch_sub(1, Ordering::SeqCst);
        drop(permit);
        verified.map_err(internal)
    }

    /// Checks the signed-in user's own password, throttled per account like a sign-in
    /// (a stolen session cannot guess it faster than a sign-in could).
    async fn verify_own(&self, user: &CurrentUser, password: &str, field: &str, missing: &str, wrong: &str) -> Result<(), AppError> {
        if password.is_empty() {
            return Err(AppError::invalid(field, missing));
        }
        self.claim("account", &user.email, self.policy.account_free_attempts, now_ms()).await?;
        let row = store::sign_in_user(&self.db, &user.email).await.internal()?.ok_or(AppError::Unauthorized)?;
        if row.user.user_id != user.user_id || !self.check_password(password, row.password_hash.clone()).await? {
            tracing::info!(email = %user.email, "wrong password confirmation");
            return Err(AppError::invalid(field, wrong));
        }
        Ok(())
    }
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
        self.claim("account", &email, self.policy.account_free_attempts, now).await?;
        self.claim("address", &meta.client_ip, self.policy.address_free_attempts, now).await?;
        let row = store::sign_in_user(&self.db, &email).await.internal()?;
        let hash = row.as_ref().map_or_else(|| self.dummy_hash.clone(), |r| r.password_hash.clone());
        let verified = self.check_password(password, hash).await?;
        let Some(row) = row.filter(|_| verified) else {
            tracing::info!(email = %email, ip = %meta.client_ip, "failed sign-in");
            store::prune_throttle(&self.db, now - 2 * self.policy.window_ms).await.internal()?;
            return Err(wrong_credentials());
        };
        if row.user.disabled != 0 {
            return Err(AppError::invalid("credentials", "This account is disabled. Ask an admin of your partner to enable it."));
        }
        let user = current_user(&row.user)?;
        let token = random_token(32);
        let user_agent: String = meta.user_agent.chars().take(300).collect();
        store::start_session(
            &self.db,
            NewSessionRow {
                token_hash: &sha256_hex(&token),
                user_id: user.user_id,
                partner_id: user.partner_id,
                email: &user.email,
                now,
                expires_at: now + self.policy.absolute_ms,
                client_ip: &meta.client_ip,
                user_agent: &user_agent,
            },
        )
        .await?;
        store::refund_address(&self.db, &meta.client_ip).await.internal()?;
        Ok(NewSession { token, user })
    }

    async fn sign_out(&self, token: &str) -> Result<(), AppError> {
        store::end_session_by_token(&self.db, &sha256_hex(token)).await.internal()
    }

    fn cookie_name(&self) -> &str {
        &self.policy.cookie_name
    }

    async fn change_password(&self, user: &CurrentUser, current: &str, new: &str, meta: &RequestMeta) -> Result<(), AppError> {
        if current.is_empty() {
            return Err(AppError::invalid("current_password", "Enter your current password."));
        }
        let new = app::types::parse_password(new).map_err(|e| AppError::invalid("new_password", e.field_message("password").unwrap_or_default()))?;
        self.verify_own(user, current, "current_password", "Enter your current password.", "That is not your current password.").await?;
        if new == current {
            return Err(AppError::invalid("new_password", "Choose a password different from the current one."));
        }
        let hash = tokio::task::spawn_blocking(move || crate::crypto::hash_password(&new)).await.map_err(internal)?.map_err(internal)?;
        let keep = meta.session_token.as_deref().map(sha256_hex).unwrap_or_default();
        store::change_password(&self.db, user.user_id, user.partner_id, &user.email, &hash, &keep, now_ms()).await?;
        store::clear_account_throttle(&self.db, &user.email).await.internal()
    }

    async fn confirm_password(&self, user: &CurrentUser, password: &str) -> Result<(), AppError> {
        self.verify_own(user, password, "password", "Enter your Taskbridge password to confirm.", "That is not your password.").await?;
        store::clear_account_throttle(&self.db, &user.email).await.internal()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_after_the_free_attempts_and_stop_at_the_cap() {
        let p = AuthPolicy::default();
        let waits: Vec<i64> = (1..=14).map(|n| p.delay_ms(n, 5)).collect();
        assert_eq!(waits, [0, 0, 0, 0, 1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000, 60_000]);
    }
}
