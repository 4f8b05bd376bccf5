//! Each partner's Autotask connection: stored with the secret sealed by the master key,
//! zone discovered on save, and "Test connection" that says exactly what is wrong.

use super::{audit, now_ms, Db};
use crate::autotask::entities::ZoneInfo;
use crate::autotask::{AutotaskClient, AutotaskClients, AutotaskError, Credentials, Filter, PartnerConnection, Query};
use crate::crypto::MasterKey;
use crate::error::SqlxResultExt;
use app::error::AppError;
use app::services::AutotaskSettings;
use app::types::{ConnectionInput, ConnectionTest, ConnectionView, CurrentUser, ZoneView};
use sqlx::any::AnyRow;
use sqlx::Row;
use std::sync::Arc;

/// `AutotaskSettings` over the database.
#[derive(Clone)]
pub struct SqlAutotaskSettings {
    db: Db,
    key: Arc<MasterKey>,
    clients: Arc<AutotaskClients>,
}

/// The stored settings, secret still sealed.
struct Stored {
    username: String,
    integration_code: String,
    secret_sealed: String,
    zone_override: Option<String>,
    updated_at: i64,
    zone: Option<ZoneInfo>,
}

fn secret_context(partner_id: i64) -> String {
    format!("partner:{partner_id}:autotask_secret")
}

fn view(row: &AnyRow) -> Result<ConnectionView, sqlx::Error> {
    let zone_url: Option<String> = row.try_get("zone_url")?;
    let test_at: Option<i64> = row.try_get("last_test_at")?;
    Ok(ConnectionView {
        configured: true,
        username: row.try_get("username")?,
        integration_code: row.try_get("integration_code")?,
        secret_set: !row.try_get::<String, _>("secret_sealed")?.is_empty(),
        zone_override: row.try_get("zone_override")?,
        zone: zone_url
            .map(|url| -> Result<ZoneView, sqlx::Error> {
                Ok(ZoneView {
                    name: row.try_get::<Option<String>, _>("zone_name")?.unwrap_or_default(),
                    url,
                    web_url: row.try_get::<Option<String>, _>("zone_web_url")?.unwrap_or_default(),
                })
            })
            .transpose()?,
        last_test: test_at
            .map(|at| -> Result<ConnectionTest, sqlx::Error> {
                Ok(ConnectionTest {
                    at,
                    ok: row.try_get::<Option<i64>, _>("last_test_ok")?.unwrap_or(0) != 0,
                    cause: row.try_get("last_test_cause")?,
                    message: row.try_get::<Option<String>, _>("last_test_message")?.unwrap_or_default(),
                    companies: row.try_get("last_test_companies")?,
                    contacts: row.try_get("last_test_contacts")?,
                    contracts: row.try_get("last_test_contracts")?,
                })
            })
            .transpose()?,
        updated_at: row.try_get("updated_at")?,
        updated_by: row.try_get("updated_by")?,
    })
}

impl SqlAutotaskSettings {
    /// Settings on this database; secrets sealed with `key`; clients from the registry.
    pub fn new(db: Db, key: Arc<MasterKey>, clients: Arc<AutotaskClients>) -> Self {
        Self { db, key, clients }
    }

    async fn stored(&self, partner_id: i64) -> Result<Option<Stored>, AppError> {
        let row = sqlx::query(
            "select username, integration_code, secret_sealed, zone_override, updated_at, zone_name, zone_url, zone_web_url \
             from autotask_connection where partner_id = $1",
        )
        .bind(partner_id)
        .fetch_optional(&self.db.pool)
        .await
        .internal()?;
        row.map(|r| -> Result<Stored, sqlx::Error> {
            let zone_url: Option<String> = r.try_get("zone_url")?;
            let zone = match zone_url {
                Some(url) if !url.is_empty() => Some(ZoneInfo {
                    zone_name: r.try_get::<Option<String>, _>("zone_name")?.unwrap_or_default(),
                    url,
                    web_url: r.try_get::<Option<String>, _>("zone_web_url")?.unwrap_or_default(),
                    ci: 0,
                }),
                _ => None,
            };
            Ok(Stored {
                username: r.try_get("username")?,
                integration_code: r.try_get("integration_code")?,
                secret_sealed: r.try_get("secret_sealed")?,
                zone_override: r.try_get("zone_override")?,
                updated_at: r.try_get("updated_at")?,
                zone,
            })
        })
        .transpose()
        .internal()
    }

    /// The partner's client (for imports, billing, tickets and the pages): the one client
    /// the registry keeps for this version of the saved connection.
    pub async fn client(&self, partner_id: i64) -> Result<Arc<AutotaskClient>, ConnectionProblem> {
        let stored = self.stored(partner_id).await.map_err(|_| ConnectionProblem::new("internal", "The connection settings could not be read."))?;
        let Some(stored) = stored else {
            return Err(ConnectionProblem::new("not_set_up", "Autotask is not connected yet. Enter the API user on the Setup page."));
        };
        if let Some(client) = self.clients.cached(partner_id, stored.updated_at) {
            return Ok(client);
        }
        let secret = self
            .key
            .decrypt(&stored.secret_sealed, &secret_context(partner_id))
            .map_err(|e| ConnectionProblem::new("secret_unreadable", &format!("The saved secret cannot be used: {e}")))?;
        let connection = PartnerConnection {
            version: stored.updated_at,
            credentials: Credentials::new(stored.username, secret, stored.integration_code),
            zone_override: stored.zone_override,
            known_zone: stored.zone,
        };
        Ok(self.clients.client(partner_id, connection))
    }

    async fn record_test(&self, partner_id: i64, test: &ConnectionTest) -> Result<(), AppError> {
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
        .execute(&self.db.pool)
        .await
        .internal()?;
        Ok(())
    }

    async fn record_zone(&self, partner_id: i64, client: &AutotaskClient) -> Result<(), AutotaskError> {
        let zone = client.zone().await?;
        sqlx::query("update autotask_connection set zone_name = $1, zone_url = $2, zone_web_url = $3 where partner_id = $4")
            .bind(&zone.zone_name)
            .bind(&zone.url)
            .bind(&zone.web_url)
            .bind(partner_id)
            .execute(&self.db.pool)
            .await
            .map_err(|e| AutotaskError::Unavailable(format!("storing the zone: {e}")))?;
        Ok(())
    }
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

/// Why no client could be built for a partner.
#[derive(Debug, Clone)]
pub struct ConnectionProblem {
    /// Cause code.
    pub cause: String,
    /// Plain words.
    pub message: String,
}

impl ConnectionProblem {
    fn new(cause: &str, message: &str) -> Self {
        Self { cause: cause.into(), message: message.into() }
    }
}

fn failed(at: i64, cause: &str, message: String) -> ConnectionTest {
    ConnectionTest { at, ok: false, cause: Some(cause.to_string()), message, companies: None, contacts: None, contracts: None }
}

#[async_trait::async_trait]
impl AutotaskSettings for SqlAutotaskSettings {
    async fn get(&self, partner_id: i64) -> Result<ConnectionView, AppError> {
        let row =
            sqlx::query("select * from autotask_connection where partner_id = $1").bind(partner_id).fetch_optional(&self.db.pool).await.internal()?;
        match row {
            Some(r) => view(&r).internal(),
            None => Ok(ConnectionView::default()),
        }
    }

    async fn save(&self, actor: &CurrentUser, input: ConnectionInput) -> Result<ConnectionView, AppError> {
        let existing = self.stored(actor.partner_id).await?;
        let sealed = match (&input.secret, &existing) {
            (Some(secret), _) => self.key.encrypt(secret, &secret_context(actor.partner_id)),
            (None, Some(stored)) => stored.secret_sealed.clone(),
            (None, None) => return Err(AppError::invalid("secret", "Enter the API user's secret.")),
        };
        let now = now_ms();
        let mut tx = self.db.begin().await.internal()?;
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
        .bind(&input.username)
        .bind(&input.integration_code)
        .bind(&sealed)
        .bind(&input.zone_override)
        .bind(now)
        .bind(&actor.email)
        .execute(&mut *tx)
        .await
        .internal()?;
        let what = if input.secret.is_some() { "with a new secret" } else { "keeping the saved secret" };
        audit::record(
            &mut *tx,
            actor.partner_id,
            &actor.email,
            "autotask.save",
            &format!("Saved the Autotask connection for API user {} ({what})", input.username),
        )
        .await?;
        tx.commit().await.internal()?;
        self.clients.forget(actor.partner_id);
        // Find the zone right away so the page can show it; a failure is shown as the
        // connection's state, the settings stay saved.
        if let Ok(client) = self.client(actor.partner_id).await {
            if let Err(e) = self.record_zone(actor.partner_id, &client).await {
                self.record_test(actor.partner_id, &failed(now_ms(), e.cause(), e.to_string())).await?;
            }
        }
        self.get(actor.partner_id).await
    }

    async fn test(&self, actor: &CurrentUser) -> Result<ConnectionTest, AppError> {
        let at = now_ms();
        let client = match self.client(actor.partner_id).await {
            Ok(c) => c,
            Err(p) if p.cause == "not_set_up" => return Err(AppError::Conflict(p.message)),
            Err(p) => {
                let test = failed(at, &p.cause, p.message);
                self.record_test(actor.partner_id, &test).await?;
                return Ok(test);
            }
        };
        let outcome = async {
            self.record_zone(actor.partner_id, &client).await?;
            let all = Query::new([Filter::all()]);
            let (companies, contacts, contracts) =
                tokio::join!(client.count("Companies", &all), client.count("Contacts", &all), client.count("Contracts", &all));
            Ok::<_, AutotaskError>((companies?, contacts?, contracts?))
        }
        .await;
        let zone = client.zone().await.map(|z| z.zone_name).unwrap_or_default();
        let test = match outcome {
            Ok((companies, contacts, contracts)) => ConnectionTest {
                at,
                ok: true,
                cause: None,
                message: format!(
                    "Connected to {zone} as {}. Autotask lets Taskbridge see {companies} companies, {contacts} contacts and {contracts} contracts.",
                    client.username()
                ),
                companies: Some(companies),
                contacts: Some(contacts),
                contracts: Some(contracts),
            },
            Err(e) => failed(at, e.cause(), e.to_string()),
        };
        self.record_test(actor.partner_id, &test).await?;
        let summary = if test.ok {
            "Tested the Autotask connection: connected".to_string()
        } else {
            format!("Tested the Autotask connection: failed ({})", test.cause.as_deref().unwrap_or("unknown"))
        };
        audit::record(&self.db.pool, actor.partner_id, &actor.email, "autotask.test", &summary).await?;
        Ok(test)
    }
}

/// Connects the demo partner to the embedded sandbox, once.
pub async fn preconnect(db: &Db, key: &MasterKey, partner_id: i64, username: &str, secret: &str, code: &str) -> anyhow::Result<()> {
    let exists =
        sqlx::query("select 1 as x from autotask_connection where partner_id = $1").bind(partner_id).fetch_optional(&db.pool).await?.is_some();
    if !exists {
        sqlx::query("insert into autotask_connection (partner_id, username, integration_code, secret_sealed, updated_at, updated_by) values ($1, $2, $3, $4, $5, 'system')")
            .bind(partner_id)
            .bind(username)
            .bind(code)
            .bind(key.encrypt(secret, &secret_context(partner_id)))
            .bind(now_ms())
            .execute(&db.pool)
            .await?;
    }
    Ok(())
}
