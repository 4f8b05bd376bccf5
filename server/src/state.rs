//! The state every handler can reach. Built once in `startup::build`.

use crate::crypto::MasterKey;
use crate::db::tokens::SqlTokenStore;
use crate::db::Db;
use crate::metrics::Metrics;
use crate::services::auth::SqlAuth;
use app::services::Services;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use std::sync::Arc;

/// Router state.
#[derive(Clone, FromRef)]
pub struct AppState {
    /// Leptos' site options (output name, site root).
    pub leptos_options: LeptosOptions,
    /// What server functions may call.
    pub services: Services,
    /// The database.
    pub db: Db,
    /// Sessions (resolved by the middleware).
    pub auth: Arc<SqlAuth>,
    /// API tokens (checked by the machine API).
    pub tokens: Arc<SqlTokenStore>,
    /// Prometheus registry.
    pub metrics: Arc<Metrics>,
    /// Encrypts partner secrets.
    pub master_key: Arc<MasterKey>,
    /// Request-level settings.
    pub web: WebSettings,
    /// Partners' Autotask connections (clients for workers).
    pub connections: crate::services::connection::SqlAutotaskSettings,
    /// One Autotask client per partner, shared by every feature of this instance.
    pub autotask_clients: Arc<crate::autotask::AutotaskClients>,
    /// Those clients' calls per partner and hour, until `workers::api_usage` writes them.
    pub api_ledger: Arc<crate::autotask::ledger::Ledger>,
    /// Wakes the ticket dispatcher when events arrive.
    pub dispatch_wake: Arc<tokio::sync::Notify>,
    /// The customer sync (its webhook callouts arrive at `/hooks/autotask/`).
    pub sync: crate::services::sync::SqlSync,
}

/// Settings the middleware needs on every request.
#[derive(Debug, Clone)]
pub struct WebSettings {
    /// Mark cookies Secure.
    pub secure_cookies: bool,
    /// Trust X-Forwarded-For.
    pub trust_proxy: bool,
    /// The public origin (scheme://host[:port]) server functions must be called from,
    /// when configured; otherwise the request's own Host is the reference.
    pub public_origin: Option<String>,
    /// Bearer token required by `/metrics`, if configured.
    pub metrics_token: Option<String>,
    /// `/metrics` without a token (the operator's explicit choice).
    pub metrics_public: bool,
}
