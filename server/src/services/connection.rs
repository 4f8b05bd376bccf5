//! Each partner's Autotask connection: the secret sealed by the master key before it is
//! stored, the zone discovered on save, the partner's one client handed to every feature,
//! and "Test connection" that says exactly what is wrong.

use super::user_calls::{UserCall, UserCalls};
use crate::autotask::{AutotaskClient, AutotaskClients, AutotaskError, Credentials, Filter, PartnerConnection, Query};
use crate::crypto::MasterKey;
use crate::db::connection::{self as store, NewConnection};
use crate::db::{now_ms, Db};
use crate::error::SqlxResultExt;
use app::error::AppError;
use app::services::AutotaskSettings;
use app::types::{ConnectionInput, ConnectionTest, ConnectionView, CurrentUser};
use std::sync::Arc;

/// `AutotaskSettings` over the database.
#[derive(Clone)]
pub struct SqlAutotaskSettings {
    db: Db,
    key: Arc<MasterKey>,
    clients: Arc<AutotaskClients>,
    user_calls: UserCalls,
}

fn secret_context(partner_id: i64) -> String {
    format!("partner:{partner_id}:autotask_secret")
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

impl SqlAutotaskSettings {
    /// Settings on this database; secrets sealed with `key`; clients from the registry.
    pub fn new(db: Db, key: Arc<MasterKey>, clients: Arc<AutotaskClients>) -> Self {
        Self { db, key, clients, user_calls: UserCalls::default() }
    }

    /// Counts a user's on-demand Autotask action for the partner (see `user_calls.rs`).
    pub fn spend(&self, partner_id: i64, call: UserCall) -> Result<(), AppError> {
        self.user_calls.spend(partner_id, call)
    }

    /// The partner's client (for imports, billing, tickets and the pages): the one client
    /// the registry keeps for this version of the saved connection.
    pub async fn client(&self, partner_id: i64) -> Result<Arc<AutotaskClient>, ConnectionProblem> {
        let stored = store::stored(&self.db, partner_id)
            .await
            .map_err(|_| ConnectionProblem::new("internal", "The connection settings could not be read."))?;
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
        let known_zone = stored.zone();
        let connection = PartnerConnection {
            version: stored.updated_at,
            credentials: Credentials::new(stored.username, secret, stored.integration_code),
            zone_override: stored.zone_override,
            known_zone,
        };
        Ok(self.clients.client(partner_id, connection))
    }

    async fn record_test(&self, partner_id: i64, test: &ConnectionTest) -> Result<(), AppError> {
        store::record_test(&self.db, partner_id, test).await.internal()
    }

    async fn record_zone(&self, partner_id: i64, client: &AutotaskClient) -> Result<(), AutotaskError> {
        let zone = client.zone().await?;
        store::record_zone(&self.db, partner_id, &zone).await.map_err(|e| AutotaskError::Unavailable(format!("storing the zone: {e}")))
    }
}

#[async_trait::async_trait]
impl AutotaskSettings for SqlAutotaskSettings {
    async fn get(&self, partner_id: i64) -> Result<ConnectionView, AppError> {
        store::view(&self.db, partner_id).await.internal()
    }

    async fn save(&self, actor: &CurrentUser, input: ConnectionInput) -> Result<ConnectionView, AppError> {
        self.check_zone(&input)?;
        let existing = store::stored(&self.db, actor.partner_id).await.internal()?;
        let sealed = match (&input.secret, saved_secret_for(&input, existing.as_ref())?) {
            (Some(secret), _) => self.key.encrypt(secret, &secret_context(actor.partner_id)),
            (None, Some(sealed)) => sealed.to_string(),
            (None, None) => return Err(AppError::invalid("secret", "Enter the API user's secret.")),
        };
        let what = if input.secret.is_some() { "with a new secret" } else { "keeping the saved secret" };
        let summary = format!("Saved the Autotask connection for API user {} ({what})", input.username);
        // The History keeps what changed, and of the secret only that it changed.
        let shown = |username: &str, code: &str, zone: Option<&str>| serde_json::json!({"API username": username, "Integration code": code, "Zone override": zone});
        let before = existing.as_ref().map(|s| shown(&s.username, &s.integration_code, s.zone_override.as_deref()));
        let mut changes =
            app::types::history::diff(&before.unwrap_or_default(), &shown(&input.username, &input.integration_code, input.zone_override.as_deref()));
        if input.secret.is_some() {
            let was = if existing.is_some() { "saved" } else { app::types::history::NONE };
            changes.push(app::types::history::SettingChange { field: "Secret".into(), before: was.into(), after: "changed".into() });
        }
        let new = NewConnection {
            username: &input.username,
            integration_code: &input.integration_code,
            secret_sealed: &sealed,
            zone_override: input.zone_override.as_deref(),
            summary: &summary,
            changes: &changes,
        };
        store::save(&self.db, actor, new).await?;
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
        self.spend(actor.partner_id, UserCall::TestConnection)?;
        let at = now_ms();
        let (key, span) = crate::services::history::log_span(app::types::history::RunKind::ConnectionTest);
        let client = match self.client(actor.partner_id).await {
            Ok(c) => c,
            Err(p) if p.cause == "not_set_up" => return Err(AppError::Conflict(p.message)),
            Err(p) => {
                let test = failed(at, &p.cause, p.message);
                self.record_test(actor.partner_id, &test).await?;
                self.record_test_run(actor, &test, "", &key).await;
                return Ok(test);
            }
        };
        let probe = async {
            if let Err(e) = self.record_zone(actor.partner_id, &client).await {
                return failed(at, e.cause(), e.to_string());
            }
            probe(&client, at).await
        };
        let test = tracing::Instrument::instrument(probe, span).await;
        self.record_test(actor.partner_id, &test).await?;
        self.record_test_run(actor, &test, "", &key).await;
        Ok(test)
    }

    async fn test_typed(&self, actor: &CurrentUser, input: ConnectionInput) -> Result<ConnectionTest, AppError> {
        self.check_zone(&input)?;
        let existing = store::stored(&self.db, actor.partner_id).await.internal()?;
        let unchanged = existing.as_ref().is_some_and(|s| {
            input.secret.is_none()
                && s.username == input.username
                && s.integration_code == input.integration_code
                && s.zone_override == input.zone_override
        });
        if unchanged {
            return self.test(actor).await;
        }
        let secret = match (&input.secret, saved_secret_for(&input, existing.as_ref())?) {
            (Some(secret), _) => secret.clone(),
            (None, Some(sealed)) => self
                .key
                .decrypt(sealed, &secret_context(actor.partner_id))
                .map_err(|e| AppError::invalid("secret", format!("The saved secret cannot be used ({e}): enter it again.")))?,
            (None, None) => return Err(AppError::invalid("secret", "Enter the API user's secret.")),
        };
        self.spend(actor.partner_id, UserCall::TestConnection)?;
        let at = now_ms();
        let (key, span) = crate::services::history::log_span(app::types::history::RunKind::ConnectionTest);
        let credentials = Credentials::new(input.username, secret, input.integration_code);
        let client = self.clients.trial(actor.partner_id, credentials, input.zone_override);
        let test = tracing::Instrument::instrument(probe(&client, at), span).await;
        // The header's connection state is the saved settings', so only the History
        // keeps this one.
        self.record_test_run(actor, &test, "Settings not saved yet: ", &key).await;
        Ok(test)
    }
}

/// What a connection test asks Autotask: the zone, and how many companies, contacts and
/// contracts the API user may see.
async fn probe(client: &AutotaskClient, at: i64) -> ConnectionTest {
    let outcome = async {
        let zone = client.zone().await?.zone_name;
        let all = Query::new([Filter::all()]);
        let (companies, contacts, contracts) =
            tokio::join!(client.count("Companies", &all), client.count("Contacts", &all), client.count("Contracts", &all));
        Ok::<_, AutotaskError>((zone, companies?, contacts?, contracts?))
    };
    match outcome.await {
        Ok((zone, companies, contacts, contracts)) => ConnectionTest {
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
    }
}

/// The saved (sealed) secret when `input` may use it: the saved secret is only ever sent
/// for the user and the zone it was entered with, so changing either needs it again.
fn saved_secret_for<'a>(input: &ConnectionInput, saved: Option<&'a store::Stored>) -> Result<Option<&'a str>, AppError> {
    match saved {
        Some(s) if input.secret.is_none() && (s.username != input.username || s.zone_override != input.zone_override) => {
            Err(AppError::invalid("secret", "Enter the secret again: the username or the zone changed."))
        }
        Some(s) => Ok(Some(&s.secret_sealed)),
        None => Ok(None),
    }
}

impl SqlAutotaskSettings {
    /// A zone override must be an Autotask address this server may send credentials to.
    fn check_zone(&self, input: &ConnectionInput) -> Result<(), AppError> {
        match &input.zone_override {
            Some(zone) => self.clients.destinations().check(zone).map_err(|m| AppError::invalid("zone_override", m)).map(drop),
            None => Ok(()),
        }
    }

    /// A connection test in the History: its message (after `prefix`) says what Autotask answered.
    async fn record_test_run(&self, actor: &CurrentUser, test: &ConnectionTest, prefix: &str, log_key: &str) {
        let summary = format!("{prefix}{}", test.message);
        let run = crate::services::history::Finished {
            kind: app::types::history::RunKind::ConnectionTest,
            started_by: &actor.email,
            started_at: test.at,
            stopped: !test.ok,
            done: 0,
            skipped: 0,
            failed: 0,
            summary: &summary,
            retry_of: None,
            log_key,
        };
        crate::services::history::History::new(self.db.clone()).record(actor.partner_id, run, &[]).await;
    }
}

/// Connects the demo partner to the embedded sandbox, once.
pub async fn preconnect(db: &Db, key: &MasterKey, partner_id: i64, username: &str, secret: &str, code: &str) -> anyhow::Result<()> {
    if store::stored(db, partner_id).await?.is_none() {
        store::insert_if_missing(db, partner_id, username, &key.encrypt(secret, &secret_context(partner_id)), code).await?;
    }
    Ok(())
}
