//! The registry of Autotask clients: one per partner for the whole process, held in
//! `AppState`. Every feature (the dispatcher, billing pushes, discovery, the pages' calls)
//! gets the same client for a partner, so the client's per-entity slots (Autotask's three
//! threads per integration code and entity), its budget pacing and its known zone hold per
//! partner, not per request. All clients share one `reqwest::Client` (one connection pool).
//!
//! A client is keyed by the version of the partner's saved connection (its `updated_at`):
//! saving the connection, on this instance or another one sharing the database, makes the
//! next lookup build a new client from the new settings. This module knows nothing of the
//! database; `services::connection` reads the stored settings and asks here.

use super::client::{AutotaskClient, ClientOptions, Credentials};
use super::endpoint::Destinations;
use super::entities::ZoneInfo;
use super::error::AutotaskError;
use super::http::http_client;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// What a partner's client is built from.
pub struct PartnerConnection {
    /// The saved connection's version (`updated_at`); a different one rebuilds the client.
    pub version: i64,
    /// The API user.
    pub credentials: Credentials,
    /// The partner's zone override, if any.
    pub zone_override: Option<String>,
    /// The zone found at the last discovery, if any.
    pub known_zone: Option<ZoneInfo>,
}

/// One client per partner (see the module comment).
pub struct AutotaskClients {
    http: reqwest::Client,
    options: ClientOptions,
    clients: Mutex<HashMap<i64, (i64, Arc<AutotaskClient>)>>,
}

impl std::fmt::Debug for AutotaskClients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AutotaskClients").field("discovery_url", &self.options.discovery_url).finish_non_exhaustive()
    }
}

impl AutotaskClients {
    /// A registry whose clients use `options` (discovery URL, timeouts, attempts).
    pub fn new(options: ClientOptions) -> Result<Self, AutotaskError> {
        Ok(Self { http: http_client(&options.destinations())?, options, clients: Mutex::default() })
    }

    /// Where the clients may send credentials (what a saved zone override must pass).
    pub fn destinations(&self) -> Destinations {
        self.options.destinations()
    }

    /// The partner's client if one exists for this version of its connection.
    pub fn cached(&self, partner_id: i64, version: i64) -> Option<Arc<AutotaskClient>> {
        let clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        clients.get(&partner_id).filter(|(v, _)| *v == version).map(|(_, c)| c.clone())
    }

    /// The partner's client for `connection`: the existing one when its version matches
    /// (another caller may have built it meanwhile), else a new one replacing it.
    pub fn client(&self, partner_id: i64, connection: PartnerConnection) -> Arc<AutotaskClient> {
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((v, c)) = clients.get(&partner_id) {
            if *v == connection.version {
                return c.clone();
            }
        }
        let options = ClientOptions { zone_override: connection.zone_override, partner_id: Some(partner_id), ..self.options.clone() };
        let client = Arc::new(AutotaskClient::with_http(self.http.clone(), connection.credentials, options, connection.known_zone));
        clients.insert(partner_id, (connection.version, client.clone()));
        client
    }

    /// A client for settings not saved yet (Setup's test before saving): built like the
    /// partner's, but never kept, so the saved connection's client is left as it is.
    pub fn trial(&self, partner_id: i64, credentials: Credentials, zone_override: Option<String>) -> AutotaskClient {
        let options = ClientOptions { zone_override, partner_id: Some(partner_id), ..self.options.clone() };
        AutotaskClient::with_http(self.http.clone(), credentials, options, None)
    }

    /// Drops the partner's client (its connection changed or was removed).
    pub fn forget(&self, partner_id: i64) {
        self.clients.lock().unwrap_or_else(PoisonError::into_inner).remove(&partner_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connection(version: i64) -> PartnerConnection {
        PartnerConnection { version, credentials: Credentials::new("api@example.com", "s", "code"), zone_override: None, known_zone: None }
    }

    #[test]
    fn one_client_per_partner_until_its_connection_changes() {
        let clients = AutotaskClients::new(ClientOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        let first = clients.client(1, connection(10));
        assert!(Arc::ptr_eq(&first, &clients.client(1, connection(10))));
        assert!(Arc::ptr_eq(&first, &clients.cached(1, 10).unwrap_or_else(|| panic!("cached"))));
        assert!(!Arc::ptr_eq(&first, &clients.client(2, connection(10))), "partners never share a client");
        let saved_again = clients.client(1, connection(11));
        assert!(!Arc::ptr_eq(&first, &saved_again));
        assert!(clients.cached(1, 10).is_none());
        clients.forget(1);
        assert!(clients.cached(1, 11).is_none());
    }
}
