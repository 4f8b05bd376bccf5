//! Storage of sign-in: sessions (by the SHA-256 of their cookie value), the user a sign-in
//! checks, and the throttle rows. The policy (expiry, throttling, hashing) lives in
//! `services::auth`.

use super::{audit, Db};
use crate::error::SqlxResultExt;
use app::error::AppError;

/// A user of `app_user` joined with its `partner` (as `partner_name`).
#[derive(sqlx::FromRow)]
pub struct UserRow {
    /// The user.
    pub user_id: i64,
    /// Its partner.
    pub partner_id: i64,
    /// The partner's name.
    pub partner_name: String,
    /// Sign-in email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Stored role.
    pub role: String,
    /// 1 when disabled.
    pub disabled: i64,
}

/// A session with its user.
#[derive(sqlx::FromRow)]
pub struct SessionRow {
    /// The session.
    pub session_id: i64,
    /// Last request.
    pub last_seen_at: i64,
    /// Absolute end.
    pub expires_at: i64,
    /// Its user.
    #[sqlx(flatten)]
    pub user: UserRow,
}

/// A user signing in, with the stored password hash.
#[derive(sqlx::FromRow)]
pub struct SignInRow {
    /// argon2id hash.
    pub password_hash: String,
    /// The user.
    #[sqlx(flatten)]
    pub user: UserRow,
}

/// The session whose cookie hashes to `token_hash`.
pub async fn session(db: &Db, token_hash: &str) -> Result<Option<SessionRow>, sqlx::Error> {
    sqlx::query_as(
        "select s.session_id, s.last_seen_at, s.expires_at, u.user_id, u.partner_id, u.email, u.name, u.role, u.disabled, p.name as partner_name \
         from session s join app_user u on u.user_id = s.user_id join partner p on p.partner_id = u.partner_id \
         where s.token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(&db.pool)
    .await
}

/// Ends a session by id.
pub async fn end_session(db: &Db, session_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("delete from session where session_id = $1").bind(session_id).execute(&db.pool).await?;
    Ok(())
}

/// Ends the session whose cookie hashes to `token_hash`.
pub async fn end_session_by_token(db: &Db, token_hash: &str) -> Result<(), sqlx::Error> {
    sqlx::query("delete from session where token_hash = $1").bind(token_hash).execute(&db.pool).await?;
    Ok(())
}

/// Refreshes a session's idle timer.
pub async fn touch_session(db: &Db, session_id: i64, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("update session set last_seen_at = $1 where session_id = $2").bind(now).bind(session_id).execute(&db.pool).await?;
    Ok(())
}

/// The user signing in with `email` (lower case).
pub async fn sign_in_user(db: &Db, email: &str) -> Result<Option<SignInRow>, sqlx::Error> {
    sqlx::query_as(
        "select u.user_id, u.partner_id, u.email, u.name, u.role, u.disabled, u.password_hash, p.name as partner_name \
         from app_user u join partner p on p.partner_id = u.partner_id where u.email = $1",
    )
    .bind(email)
    .fetch_optional(&db.pool)
    .await
}

/// A session to start.
pub struct NewSessionRow<'a> {
    /// SHA-256 of the cookie value.
    pub token_hash: &'a str,
    /// The user.
    pub user_id: i64,
    /// Its partner.
    pub partner_id: i64,
    /// The user's email (the audit line's actor, the throttle key cleared).
    pub email: &'a str,
    /// Now.
    pub now: i64,
    /// Absolute end.
    pub expires_at: i64,
    /// Client address.
    pub client_ip: &'a str,
    /// Client user agent (truncated).
    pub user_agent: &'a str,
}

/// Starts a session: stores it, notes the sign-in, clears the account's throttle, drops
/// the user's expired sessions and writes the audit line, in one transaction.
pub async fn start_session(db: &Db, s: NewSessionRow<'_>) -> Result<(), AppError> {
    let mut tx = db.begin().await.internal()?;
    sqlx::query(
        "insert into session (token_hash, user_id, partner_id, created_at, last_seen_at, expires_at, client_ip, user_agent) \
         values ($1, $2, $3, $4, $4, $5, $6, $7)",
    )
    .bind(s.token_hash)
    .bind(s.user_id)
    .bind(s.partner_id)
    .bind(s.now)
    .bind(s.expires_at)
    .bind(s.client_ip)
    .bind(s.user_agent)
    .execute(&mut *tx)
    .await
    .internal()?;
    sqlx::query("update app_user set last_sign_in_at = $1 where user_id = $2").bind(s.now).bind(s.user_id).execute(&mut *tx).await.internal()?;
    sqlx::query("delete from sign_in_throttle where scope = 'account' and key = $1").bind(s.email).execute(&mut *tx).await.internal()?;
    sqlx::query("delete from session where user_id = $1 and expires_at < $2").bind(s.user_id).bind(s.now).execute(&mut *tx).await.internal()?;
    audit::record(&mut *tx, s.partner_id, s.email, "session.sign_in", &format!("Signed in from {}", s.client_ip)).await?;
    tx.commit().await.internal()
}

/// Stores a user's new password hash, ends the user's other sessions (all but the one whose
/// cookie hashes to `keep`) and writes the audit line, in one transaction.
pub async fn change_password(db: &Db, user_id: i64, partner_id: i64, email: &str, hash: &str, keep: &str, now: i64) -> Result<(), AppError> {
    let mut tx = db.begin().await.internal()?;
    sqlx::query("update app_user set password_hash = $1, updated_at = $2 where user_id = $3")
        .bind(hash)
        .bind(now)
        .bind(user_id)
        .execute(&mut *tx)
        .await
        .internal()?;
    let ended =
        sqlx::query("delete from session where user_id = $1 and token_hash <> $2").bind(user_id).bind(keep).execute(&mut *tx).await.internal()?;
    let summary =
        format!("Changed their password (ended {} other session{})", ended.rows_affected(), if ended.rows_affected() == 1 { "" } else { "s" });
    audit::record(&mut *tx, partner_id, email, "user.password", &summary).await?;
    tx.commit().await.internal()
}

/// A throttle row: attempts in the window, when the next may check a password, and the
/// row's version (its last update).
#[derive(sqlx::FromRow, Debug, Clone, Copy)]
pub struct ThrottleRow {
    /// Attempts counted.
    pub attempts: i64,
    /// The earliest time the next attempt may check a password.
    pub next_at: i64,
    /// Last update (also the row's version for [`claim_throttle`]).
    pub updated_at: i64,
}

/// The throttle row of `scope` ('account' or 'address') and `key`.
pub async fn throttle(db: &Db, scope: &str, key: &str) -> Result<Option<ThrottleRow>, sqlx::Error> {
    sqlx::query_as("select attempts, next_at, updated_at from sign_in_throttle where scope = $1 and key = $2")
        .bind(scope)
        .bind(key)
        .fetch_optional(&db.pool)
        .await
}

/// Moves the throttle row from `seen` (None: no row yet) to `next`, only if nobody else
/// changed it meanwhile; false when another attempt won the slot.
pub async fn claim_throttle(db: &Db, scope: &str, key: &str, seen: Option<ThrottleRow>, next: ThrottleRow) -> Result<bool, sqlx::Error> {
    let done = match seen {
        None => {
            sqlx::query(
                "insert into sign_in_throttle (scope, key, attempts, next_at, updated_at) values ($1, $2, $3, $4, $5) \
             on conflict (scope, key) do nothing",
            )
            .bind(scope)
            .bind(key)
            .bind(next.attempts)
            .bind(next.next_at)
            .bind(next.updated_at)
            .execute(&db.pool)
            .await?
        }
        Some(old) => {
            sqlx::query(
                "update sign_in_throttle set attempts = $1, next_at = $2, updated_at = $3 \
             where scope = $4 and key = $5 and attempts = $6 and updated_at = $7",
            )
            .bind(next.attempts)
            .bind(next.next_at)
            .bind(next.updated_at)
            .bind(scope)
            .bind(key)
            .bind(old.attempts)
            .bind(old.updated_at)
            .execute(&db.pool)
            .await?
        }
    };
    Ok(done.rows_affected() == 1)
}

/// Forgets an account's attempts (its password was just proven).
pub async fn clear_account_throttle(db: &Db, email: &str) -> Result<(), sqlx::Error> {
    sqlx::query("delete from sign_in_throttle where scope = 'account' and key = $1").bind(email).execute(&db.pool).await?;
    Ok(())
}

/// Gives back one attempt of a client address (its sign-in succeeded), so the people
/// behind one address are not slowed down by each other's successful sign-ins.
pub async fn refund_address(db: &Db, ip: &str) -> Result<(), sqlx::Error> {
    sqlx::query("update sign_in_throttle set attempts = attempts - 1 where scope = 'address' and key = $1 and attempts > 0")
        .bind(ip)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Drops throttle rows not touched since `before`.
pub async fn prune_throttle(db: &Db, before: i64) -> Result<(), sqlx::Error> {
    sqlx::query("delete from sign_in_throttle where updated_at < $1").bind(before).execute(&db.pool).await?;
    Ok(())
}
