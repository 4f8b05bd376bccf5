//! A local Autotask PSA: the REST API v1.0 (`/ATServicesRest/V1.0/...`) as documented and
//! as real zones behave, over a deterministic generated tenant. Used by the demo, every
//! test, and the benchmarks. Not a mock: existing Autotask clients work against it with
//! only the base URL changed.
//!
//! Control endpoint (outside the API): `GET|PUT /_sandbox/faults`, `GET /_sandbox/stats`,
//! `POST /_sandbox/stats/reset`, `POST /_sandbox/budget/reset`, `GET /_sandbox`,
//! `PATCH /_sandbox/records/{entity}` (an edit by an Autotask user), `GET|PUT /_sandbox/webhooks`.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod api;
pub mod billing;
pub mod error;
pub mod faults;
pub mod generate;
pub mod limits;
pub mod query;
pub mod schema;
pub mod store;
pub mod surface;
pub mod webhooks;
pub mod writes;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use faults::{Dice, Faults};
use http::StatusCode;
use limits::Limits;
use serde_json::json;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use store::Tenant;

/// How to start a sandbox.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Generator seed.
    pub seed: u64,
    /// Companies to generate.
    pub companies: usize,
    /// Contacts to generate.
    pub contacts: usize,
    /// Keep state in this file (loaded if it exists, saved after changes).
    pub data_file: Option<PathBuf>,
    /// Initial faults (e.g. fixed latency).
    pub faults: Faults,
    /// Requests per rolling hour (Autotask's default is 10,000).
    pub hourly_threshold: usize,
    /// Listen on an address other machines can reach (its credentials are public).
    pub allow_remote: bool,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        let spec = generate::Spec::demo(1);
        Self {
            seed: spec.seed,
            companies: spec.companies,
            contacts: spec.contacts,
            data_file: None,
            faults: Faults::default(),
            hourly_threshold: 10_000,
            allow_remote: false,
        }
    }
}

/// The running sandbox's state.
pub struct Sandbox {
    tenant: RwLock<Tenant>,
    /// Thread limit, hourly budget, counters.
    pub limits: Limits,
    faults: Mutex<Faults>,
    /// Randomness for faults.
    pub dice: Dice,
    /// "Zone moved" latch: set by the fault, cleared by ZoneInformation.
    pub zone_moved: AtomicBool,
    data_file: Option<PathBuf>,
    dirty: AtomicBool,
    /// Webhook callouts: queues, timings, counters.
    pub hooks: webhooks::Hooks,
}

impl Sandbox {
    /// Builds the tenant (from the data file when it exists, otherwise generated).
    pub fn new(config: &SandboxConfig) -> anyhow::Result<Arc<Self>> {
        let tenant = match &config.data_file {
            Some(path) if path.exists() => Tenant::load(path).map_err(|e| anyhow::anyhow!("loading sandbox data {}: {e}", path.display()))?,
            _ => generate::generate(generate::Spec {
                seed: config.seed,
                companies: config.companies,
                contacts: config.contacts,
                anchor_month: generate::current_month(),
            }),
        };
        config.faults.validate().map_err(|e| anyhow::anyhow!(e))?;
        let sandbox = Arc::new(Self {
            tenant: RwLock::new(tenant),
            limits: Limits::new(config.hourly_threshold.max(1)),
            zone_moved: AtomicBool::new(config.faults.zone_moved),
            faults: Mutex::new(config.faults.clone()),
            dice: Dice::new(config.seed),
            data_file: config.data_file.clone(),
            dirty: AtomicBool::new(config.data_file.as_ref().is_some_and(|p| !p.exists())),
            hooks: webhooks::Hooks::default(),
        });
        sandbox.flush();
        Ok(sandbox)
    }

    /// Read access to the tenant.
    pub fn read(&self) -> std::sync::RwLockReadGuard<'_, Tenant> {
        self.tenant.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Write access to the tenant.
    pub fn write(&self) -> std::sync::RwLockWriteGuard<'_, Tenant> {
        self.tenant.write().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The current faults.
    pub fn faults(&self) -> Faults {
        self.faults.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Replaces the faults.
    pub fn set_faults(&self, faults: Faults) {
        self.zone_moved.store(faults.zone_moved, Ordering::SeqCst);
        *self.faults.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = faults;
    }

    fn mark_dirty(&self) {
        self.dirty.store(true, Ordering::SeqCst);
    }

    /// Saves the tenant if it changed and a data file is configured.
    pub fn flush(&self) {
        if let Some(path) = &self.data_file {
            if self.dirty.swap(false, Ordering::SeqCst) {
                let snapshot = self.read().clone();
                if let Err(e) = snapshot.save(path) {
                    tracing::error!(error = %e, path = %path.display(), "saving sandbox data failed");
                    self.dirty.store(true, Ordering::SeqCst);
                }
            }
        }
    }
}

/// The sandbox's routes: the API and the control endpoint (loopback callers only).
pub fn router(sandbox: Arc<Sandbox>) -> Router {
    let control = Router::new()
        .route("/_sandbox", get(overview))
        .route("/_sandbox/faults", get(get_faults).put(put_faults))
        .route("/_sandbox/stats", get(stats))
        .route("/_sandbox/stats/reset", post(reset_stats))
        .route("/_sandbox/budget/reset", post(reset_budget))
        .route("/_sandbox/records/{entity}", axum::routing::patch(control_update))
        .route("/_sandbox/webhooks", get(get_webhooks).put(put_webhooks))
        .route_layer(axum::middleware::from_fn(loopback_only));
    Router::new().merge(control).fallback(any(dispatch)).with_state(sandbox)
}

/// The control endpoint (which shows the credentials and switches faults) answers only a
/// caller on this machine that names this machine in `Host` (so a web page cannot reach
/// it through DNS rebinding).
async fn loopback_only(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let peer_local = req.extensions().get::<axum::extract::ConnectInfo<SocketAddr>>().is_some_and(|c| c.0.ip().is_loopback());
    let host = req.headers().get(http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    let name = if host.starts_with('[') {
        host.split(']').next().map(|h| format!("{h}]")).unwrap_or_default()
    } else {
        host.split(':').next().unwrap_or("").to_string()
    };
    let host_local = ["localhost", "127.0.0.1", "[::1]"].contains(&name.to_ascii_lowercase().as_str());
    if peer_local && host_local {
        next.run(req).await
    } else {
        (
            StatusCode::FORBIDDEN,
            Json(json!({"error": "the sandbox's control endpoint answers only callers on this machine (Host localhost or 127.0.0.1)"})),
        )
            .into_response()
    }
}

/// Whether the sandbox may listen on `listen`: loopback only, unless allowed (its
/// credentials are published, so another machine reaching it reaches a known login).
pub fn check_listen(listen: SocketAddr, allow_remote: bool) -> anyhow::Result<()> {
    if !listen.ip().is_loopback() && !allow_remote {
        anyhow::bail!(
            "the sandbox listens only on a loopback address (127.0.0.1 or ::1), not {listen}: its credentials are public. Allow it with --allow-remote (TASKBRIDGE_SANDBOX_ALLOW_REMOTE=true)"
        );
    }
    Ok(())
}

async fn dispatch(state: State<Arc<Sandbox>>, method: http::Method, uri: http::Uri, headers: http::HeaderMap, body: axum::body::Bytes) -> Response {
    if uri.path().to_ascii_lowercase().starts_with("/atservicesrest/") {
        api::handle(state, method, uri, headers, body).await
    } else {
        error::ApiError::no_route(&uri.to_string()).into_response()
    }
}

async fn overview(State(sb): State<Arc<Sandbox>>) -> Json<serde_json::Value> {
    let tenant = sb.read();
    let counts: serde_json::Map<String, serde_json::Value> =
        surface::ENTITIES.iter().map(|(e, _)| (e.to_string(), json!(tenant.rows(e).map_or(0, |r| r.len())))).collect();
    Json(json!({
        "credentials": {"UserName": api::USERNAME, "Secret": api::SECRET, "ApiIntegrationCode": api::INTEGRATION_CODE},
        "zoneInformation": "/ATServicesRest/V1.0/ZoneInformation?user=sandbox-api@taskbridge.local",
        "records": counts,
        "faults": sb.faults(),
    }))
}

async fn get_faults(State(sb): State<Arc<Sandbox>>) -> Json<Faults> {
    Json(sb.faults())
}

async fn put_faults(State(sb): State<Arc<Sandbox>>, body: axum::body::Bytes) -> Response {
    match serde_json::from_slice::<Faults>(&body).map_err(|e| e.to_string()).and_then(|f| f.validate().map(|()| f)) {
        Ok(faults) => {
            sb.set_faults(faults.clone());
            Json(faults).into_response()
        }
        Err(e) => (StatusCode::BAD_REQUEST, Json(json!({"error": e}))).into_response(),
    }
}

async fn stats(State(sb): State<Arc<Sandbox>>) -> Json<serde_json::Value> {
    let mut value = serde_json::to_value(sb.limits.stats()).unwrap_or_default();
    value["hourly_count"] = json!(sb.limits.hourly_count());
    Json(value)
}

/// `PATCH /_sandbox/records/{entity}`: changes a record as an Autotask user would (tests
/// and demos: an edit that Taskbridge's sync then picks up), with the API's PATCH body.
async fn control_update(
    State(sb): State<Arc<Sandbox>>,
    axum::extract::Path(entity): axum::extract::Path<String>,
    body: axum::body::Bytes,
) -> Response {
    match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(value) => sb.control_update(&entity, value).unwrap_or_else(|e| e.into_response()),
        Err(e) => (StatusCode::BAD_REQUEST, Json(json!({"error": format!("the body is not JSON: {e}")}))).into_response(),
    }
}

async fn get_webhooks(State(sb): State<Arc<Sandbox>>) -> Json<webhooks::HookStatus> {
    Json(sb.hooks.status())
}

/// `PUT /_sandbox/webhooks {"time_scale": 0.01, "dotnet_escaped_signatures": true}`.
async fn put_webhooks(State(sb): State<Arc<Sandbox>>, body: axum::body::Bytes) -> Response {
    match serde_json::from_slice::<webhooks::HookStatus>(&body).map_err(|e| e.to_string()).and_then(|s| sb.hooks.configure(&s)) {
        Ok(()) => Json(sb.hooks.status()).into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, Json(json!({"error": e}))).into_response(),
    }
}

async fn reset_stats(State(sb): State<Arc<Sandbox>>) -> StatusCode {
    sb.limits.reset_stats();
    StatusCode::NO_CONTENT
}

async fn reset_budget(State(sb): State<Arc<Sandbox>>) -> StatusCode {
    sb.limits.reset_budget();
    StatusCode::NO_CONTENT
}

/// A sandbox serving on a port until dropped or shut down.
pub struct RunningSandbox {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its state (for tests that inspect the tenant).
    pub sandbox: Arc<Sandbox>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl RunningSandbox {
    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops serving and saves the data file.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        self.sandbox.flush();
    }
}

impl Drop for RunningSandbox {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.sandbox.flush();
    }
}

/// Starts a sandbox on `listen` (port 0 picks a free port).
pub async fn start(config: SandboxConfig, listen: SocketAddr) -> anyhow::Result<RunningSandbox> {
    check_listen(listen, config.allow_remote)?;
    let sandbox = Sandbox::new(&config)?;
    let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| anyhow::anyhow!("binding the sandbox to {listen}: {e}"))?;
    let addr = listener.local_addr()?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let app = router(sandbox.clone());
    let saver = sandbox.clone();
    let task = tokio::spawn(async move {
        let flusher = tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                saver.flush();
            }
        });
        let _ = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
        flusher.abort();
    });
    Ok(RunningSandbox { addr, sandbox, shutdown: Some(tx), task: Some(task) })
}
