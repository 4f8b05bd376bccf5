//! Storage of each partner's Autotask connection: the API user, the secret as sealed by
//! the master key (this module never sees it in the clear), the zone last discovered and
//! the last "Test connection". The rules (sealing, re-entering the secret, testing) live
//! in `services::connection`.

use super::{audit, now_ms, Db};
use crate::autotask::entities::ZoneInfo;
use crate::error::SqlxResultExt;
use app::error::AppError;
use app::types::{ConnectionTest, ConnectionView, CurrentUser, ZoneView};

/// The settings a client is built from, secret still sealed.
#[derive(sqlx::FromRow)]
pub struct Stored {
    /// API username.
    pub username: String,
    /// API integration code.
    pub integration_code: String,
    /// The secret, sealed with the master key.
    pub secret_sealed: String,
    /// A fixed zone REST base instead of discovery.
    pub zone_override: Option<String>,
    /// The saved settings' version.
    pub updated_at: i64,
    zone_name: Option<String>,
    zone_url: Option<String>,
    zone_web_url: Option<String>,
}

impl Stored {
    /// The zone found at the last discovery, if any.
    pub fn zone(&self) -> Option<ZoneInfo> {
        let url = self.zone_url.clone().filter(|u| !u.is_empty())?;
        Some(ZoneInfo { zone_name: self.zone_name.clone().unwrap_or_default(), url, web_url: self.zone_web_url.clone().unwrap_or_default(), ci: 0 })
    }
}

/// Everything the Setup page shows.
#[derive(sqlx::FromRow)]
struct ViewRow {
    username: String,
    integration_code: String,
    secret_sealed: String,
    zone_override: Option<String>,
    zone_name: Option<String>,
    zone_url: Option<String>,
    zone_web_url: Option<String>,
    last_test_at: Option<i64>,
    last_test_ok: Option<i64>,
    last_test_cause: Option<String>,
    last_test_message: Option<String>,
    last_test_companies: Option<i64>,
    last_test_contacts: Option<i64>,
    last_test_contracts: Option<i64>,
    updated_at: i64,
    updated_by: String,
}

impl ViewRow {
    fn view(self) -> ConnectionView {
        ConnectionView {
            configured: true,
            username: self.username,
            integration_code: self.integration_code,
            secret_set: !self.secret_sealed.is_empty(),
            zone_override: self.zone_override,
            zone: self.zone_url.map(|url| ZoneView { name: self.zone_name.unwrap_or_default(), url, web_url: self.zone_web_url.unwrap_or_default() }),
            last_test: self.last_test_at.map(|at| ConnectionTest {
                at,
                ok: self.last_test_ok.unwrap_or(0) != 0,
                cause: self.last_test_cause,
                message: self.last_test_message.unwrap_or_default(),
                companies: self.last_test_companies,
                contacts: self.last_test_contacts,
                contracts: self.last_test_contracts,
            }),
            updated_at: Some(self.updated_at),
            updated_by: Some(self.updated_by),
        }
    }
}

/// The partner's stored settings.
pub async fn stored(db: &Db, partner_id: i64) -> Result<Option<Stored>, sqlx::Error> {
    sqlx::query_as(
        "select username, integration_code, secret_sealed, zone_override, updated_at, zone_name, zone_url, zone_web_url \
         from autotask_connection where partner_id = $1",
    )
    .bind(partner_id)
    .fetch_optional(&db.pool)
    .await
}

/// What the Setup page shows (the default view when nothing is saved).
pub async fn view(db: &Db, partner_id: i64) -> Result<ConnectionView, sqlx::Error> {
    let row: Option<ViewRow> = sqlx::query_as(
        "select username, integration_code, secret_sealed, zone_override, zone_name, zone_url, zone_web_url, last_test_at, \
         last_test_ok, last_test_cause, last_test_message, last_test_companies, last_test_contacts, last_test_contracts, \
         updated_at, updated_by from autotask_connection where partner_id = $1",
    )
    .bind(partner_id)
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.map(ViewRow::view).unwrap_or_default())
}

/// What a save writes.
pub struct NewConnection<'a> {
    /// API username.
    pub username: &'a str,
    /// API integration code.
    pub integration_code: &'a str,
    /// The secret, sealed.
    pub secret_sealed: &'a str,
    /// The zone override, if any.
    pub zone_override: Option<&'a str>,
    /// The audit line.
    pub summary: &'a str,
    /// What changed (of the secret, only that it changed).
    pub changes: &'a [app::types::history::SettingChange],
}

/// Saves the connection (forgetting the zone and the last test, which belonged to the
/// old settings) and its audit line, in one transaction.
pub async fn save(db: &Db, actor: &CurrentUser, new: NewConnection<'_>) -> Result<(), AppError> {
    let mut tx = db.begin().await.internal()?;
    sqlx::query(
        "insert into autotask_connection (partner_id, username, integration_code, secret_sealed, zone_override, updated_at, updated_by) \
         values ($1, $2, $3, $4, $5, $6, $7) \
         on conflict (partner_id) do update set username = excluded.username, integration_code = excluded.integration_code, \
         secret_sealed = excluded.secret_sealed, zone_override = excluded.zone_override, updated_at = excluded.updated_at, \
         updated_by = excluded.updated_by, zone_name = null, zone_url = null, zone_web_url = null, last_test_at = null, \
         last_test_ok = null, last_test_cause = null, last_test_message = null, last_test_companies = null, \
         last_test_contacts = null, last_test_contracts = null",
    )
    .bind(actor.partner_id)
    .bind(new.username)
    .bind(new.integration_code)
    .bind(new.secret_sealed)
    .bind(new.zone_override)
    .bind(now_ms())
    .bind(&actor.email)
    .execute(&mut *tx)
    .await
    .internal()?;
    let change = audit::Change { customer_id: None, changes: new.changes };
    audit::record_change(&mut *tx, actor.partner_id, &actor.email, "autotask.save", new.summary, &change).await?;
    tx.commit().await.internal()
}

/// Records the outcome of a connection test.
pub async fn record_test(db: &Db, partner_id: i64, test: &ConnectionTest) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update autotask_connection set last_test_at = $1, last_test_ok = $2, last_test_cause = $3, last_test_message = $4, \
         last_test_companies = $5, last_test_contacts = $6, last_test_contracts = $7 where partner_id = $8",
    )
    .bind(test.at)
    .bind(i64::from(test.ok))
    .bind(&test.cause)
    .bind(&test.message)
    .bind(test.companies)
    .bind(test.contacts)
    .bind(test.contracts)
    .bind(partner_id)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Records the zone a discovery found.
pub async fn record_zone(db: &Db, partner_id: i64, zone: &ZoneInfo) -> Result<(), sqlx::Error> {
    sqlx::query("update autotask_connection set zone_name = $1, zone_url = $2, zone_web_url = $3 where partner_id = $4")
        .bind(&zone.zone_name)
        .bind(&zone.url)
        .bind(&zone.web_url)
        .bind(partner_id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// The partner's Autotask web UI base (for links), once its zone is known.
pub async fn web_url(db: &Db, partner_id: i64) -> Result<Option<String>, sqlx::Error> {
    Ok(sqlx::query_scalar::<_, Option<String>>("select zone_web_url from autotask_connection where partner_id = $1")
        .bind(partner_id)
        .fetch_optional(&db.pool)
        .await?
        .flatten()
        .filter(|u| !u.is_empty()))
}

/// Stores a connection for a partner that has none (the demo partner's, at start).
pub async fn insert_if_missing(db: &Db, partner_id: i64, username: &str, secret_sealed: &str, code: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into autotask_connection (partner_id, username, integration_code, secret_sealed, updated_at, updated_by) \
         values ($1, $2, $3, $4, $5, 'system') on conflict (partner_id) do nothing",
    )
    .bind(partner_id)
    .bind(username)
    .bind(code)
    .bind(secret_sealed)
    .bind(now_ms())
    .execute(&db.pool)
    .await?;
    Ok(())
}
