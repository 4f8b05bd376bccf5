//! Building the application (state + router) and serving it until a shutdown signal.
//! Tests call [`build_state`] and [`serve_on`] directly.

use crate::config::ServeArgs;
use crate::crypto::MasterKey;
use crate::db::overview::SqlOverview;
use crate::db::tokens::SqlTokenStore;
use crate::db::users::SqlUserStore;
use crate::db::Db;
use crate::metrics::Metrics;
use crate::services::auth::{AuthPolicy, SqlAuth};
use crate::state::{AppState, WebSettings};
use anyhow::Context;
use app::services::Services;
use app::types::SiteInfo;
use app::{shell, App};
use axum::middleware::from_fn_with_state;
use axum::routing::get;
use axum::Router;
use http::{header, HeaderValue};
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{file_and_error_handler_with_context, generate_route_list, LeptosRoutes};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

/// Connects and migrates the database, loads the master key, and wires the services.
pub async fn build_state(args: &ServeArgs) -> anyhow::Result<AppState> {
    let db = Db::connect(&args.store.database_url()).await?;
    db.migrate().await?;
    let master_key =
        MasterKey::load_or_create(args.store.configured_master_key()?.as_deref(), &args.store.data_dir).context("loading the master key")?;
    let policy = AuthPolicy {
        // Over https the cookie is `__Host-` prefixed: the browser then accepts it only with
        // Secure, Path=/ and no Domain, so no sibling host can set or shadow it.
        cookie_name: if args.secure_cookies() { "__Host-tb_session".into() } else { "tb_session".into() },
        idle_ms: args.session_idle_minutes.max(1) * 60_000,
        absolute_ms: args.session_max_hours.max(1) * 3_600_000,
        ..AuthPolicy::default()
    };
    let auth = Arc::new(SqlAuth::new(db.clone(), policy)?);
    let tokens = Arc::new(SqlTokenStore::new(db.clone()));
    let master_key = Arc::new(master_key);
    let discovery_url = match (&args.autotask_discovery_url, args.embedded_sandbox) {
        (Some(url), _) => url.clone(),
        (None, Some(addr)) => format!("http://{addr}/ATServicesRest/"),
        (None, None) => crate::autotask::client::PRODUCTION_DISCOVERY_URL.to_string(),
    };
    let site = if args.demo {
        let demo = crate::admin::ensure_demo_partner(&db).await?;
        #[cfg(feature = "sandbox")]
        if args.embedded_sandbox.is_some() {
            crate::embedded_sandbox::preconnect_demo(&db, &master_key).await?;
        }
        SiteInfo { demo: Some(demo) }
    } else {
        crate::admin::retire_demo_admin(&db).await?;
        SiteInfo::default()
    };
    // One Autotask client per partner for the whole process (see autotask/clients.rs).
    let api_ledger = Arc::new(crate::autotask::ledger::Ledger::default());
    let autotask_clients = Arc::new(
        crate::autotask::AutotaskClients::new(crate::autotask::ClientOptions {
            discovery_url,
            extra_hosts: args.autotask_allowed_hosts.clone(),
            timeout: Duration::from_secs(20),
            max_attempts: 3,
            ledger: Some(api_ledger.clone()),
            ..crate::autotask::ClientOptions::default()
        })
        .context("building the Autotask HTTP client")?,
    );
    let settings = crate::services::connection::SqlAutotaskSettings::new(db.clone(), master_key.clone(), autotask_clients.clone());
    let companies = crate::services::companies::SqlCompanies::new(db.clone(), settings.clone(), crate::workers::jobs::Jobs::new(db.clone()));
    let map = crate::services::map::SqlCustomerMap::new(db.clone(), settings.clone());
    let dispatch_wake = Arc::new(tokio::sync::Notify::new());
    let sync = crate::services::sync::SqlSync::new(
        db.clone(),
        settings.clone(),
        crate::workers::jobs::Jobs::new(db.clone()),
        crate::services::sync::WebhookConfig {
            public_url: args.public_url.clone(),
            key: master_key.clone(),
            wake: Arc::new(tokio::sync::Notify::new()),
        },
    );
    let tickets = crate::services::tickets::SqlTickets::new(db.clone(), settings.clone(), dispatch_wake.clone());
    let services = Services {
        auth: auth.clone(),
        users: Arc::new(SqlUserStore::new(db.clone())),
        tokens: tokens.clone(),
        overview: Arc::new(SqlOverview::new(db.clone())),
        autotask: Arc::new(settings.clone()),
        companies: Arc::new(companies),
        map: Arc::new(map),
        tickets: Arc::new(tickets),
        billing: Arc::new(crate::services::billing::SqlBilling::new(db.clone(), settings.clone())),
        storage: Arc::new(crate::services::storage::SqlStorage::new(db.clone())),
        contacts: Arc::new(crate::services::contacts::SqlContacts::new(db.clone(), settings.clone(), crate::workers::jobs::Jobs::new(db.clone()))),
        backup_users: Arc::new(crate::services::backup_users::SqlBackupUsers::new(db.clone())),
        sync: Arc::new(sync.clone()),
        history: Arc::new(crate::services::history::History::new(db.clone())),
        site,
    };
    let leptos_options =
        LeptosOptions::builder().output_name("taskbridge").site_root(args.site_root.as_str()).site_pkg_dir("pkg").site_addr(args.listen).build();
    let public_origin = args.public_url.as_deref().map(|u| {
        let u = u.trim_end_matches('/');
        match u.find("://").map(|i| i + 3) {
            Some(start) => u[..start + u[start..].find('/').unwrap_or(u.len() - start)].to_string(),
            None => u.to_string(),
        }
    });
    Ok(AppState {
        leptos_options,
        services,
        db,
        auth,
        tokens,
        metrics: Arc::new(Metrics::default()),
        master_key,
        web: WebSettings {
            secure_cookies: args.secure_cookies(),
            trust_proxy: args.trust_proxy,
            public_origin,
            metrics_token: args.metrics_token.clone().filter(|t| !t.trim().is_empty()),
            metrics_public: args.metrics_public,
        },
        dispatch_wake,
        sync,
        connections: settings,
        autotask_clients,
        api_ledger,
    })
}

/// The whole HTTP surface: pages, server functions, the machine API, `/metrics`.
pub fn router(state: AppState, request_timeout: Duration) -> Router {
    let services = state.services.clone();
    let context = move || provide_context(services.clone());
    let options = state.leptos_options.clone();
    let routes = generate_route_list(App);
    let hsts = state.web.secure_cookies.then(|| {
        SetResponseHeaderLayer::if_not_present(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000; includeSubDomains"))
    });
    Router::new()
        .route("/metrics", get(crate::metrics::endpoint))
        .route("/exports/customer-map.csv", get(crate::services::map::export))
        .route("/exports/billing-history.csv", get(crate::services::billing::history::export))
        .route("/exports/runs/{file}", get(crate::services::history::export))
        .merge(crate::machine_api::router(state.clone()))
        .merge(crate::hooks::router(state.clone()))
        .leptos_routes_with_context(&state, routes, context.clone(), move || shell(options.clone()))
        .fallback(file_and_error_handler_with_context::<AppState, _>(context, shell))
        .layer(from_fn_with_state(state.clone(), crate::session::gate))
        .layer(from_fn_with_state(state.metrics.clone(), crate::metrics::track))
        .layer(axum::middleware::from_fn(crate::autotask::usage::tag_requests))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(TraceLayer::new_for_http().make_span_with(|req: &http::Request<axum::body::Body>| {
                    let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
                    tracing::info_span!("request", id = %id, method = %req.method(), path = %req.uri().path())
                }))
                .layer(PropagateRequestIdLayer::x_request_id())
                // Every response: no MIME sniffing, no framing, no referrer to other sites,
                // and a policy that allows nothing (pages set their own, with a nonce).
                .layer(SetResponseHeaderLayer::if_not_present(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
                .layer(SetResponseHeaderLayer::if_not_present(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
                .layer(SetResponseHeaderLayer::if_not_present(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
                ))
                .option_layer(hsts)
                .layer(tower_http::timeout::TimeoutLayer::with_status_code(http::StatusCode::REQUEST_TIMEOUT, request_timeout)),
        )
        .with_state(state)
}

/// Serves on `listener` until `shutdown` completes, then drains open requests.
pub async fn serve_on(
    listener: TcpListener,
    state: AppState,
    request_timeout: Duration,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let app = router(state, request_timeout);
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).with_graceful_shutdown(shutdown).await.context("serving HTTP")
}

/// `taskbridge serve`.
pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let state = build_state(&args).await?;
    if let Some(demo) = &state.services.site.demo {
        tracing::info!(email = %demo.email, "demo mode: the demo admin's credentials are shown on the sign-in page");
    }
    #[cfg(feature = "sandbox")]
    let embedded = crate::embedded_sandbox::start(args.embedded_sandbox, &args.store.data_dir, args.demo, &state).await?;
    #[cfg(not(feature = "sandbox"))]
    if args.embedded_sandbox.is_some() {
        anyhow::bail!("--embedded-sandbox needs a build with the `sandbox` feature (scripts/build.sh enables it)");
    }
    let dispatcher = start_dispatcher(&state, &args.store.data_dir);
    let scheduler = crate::workers::billing_schedule::spawn(state.db.clone(), state.connections.clone());
    let sync = crate::workers::sync::spawn(state.db.clone(), sync_service(&state));
    let callouts = crate::workers::callouts::spawn(sync_service(&state));
    let pruner = crate::workers::retention::spawn(state.db.clone());
    let api_usage = crate::workers::api_usage::spawn(state.db.clone(), state.api_ledger.clone());
    let (db, ledger) = (state.db.clone(), state.api_ledger.clone());
    let listener = TcpListener::bind(args.listen).await.with_context(|| format!("binding {}", args.listen))?;
    tracing::info!("Taskbridge is listening on http://{}", listener.local_addr()?);
    serve_on(listener, state, Duration::from_secs(args.request_timeout_secs), shutdown_signal()).await?;
    dispatcher.stop();
    scheduler.abort();
    sync.abort();
    callouts.abort();
    pruner.abort();
    api_usage.abort();
    // What gathered since the last flush.
    if let Err(e) = crate::workers::api_usage::try_run_once(&db, &ledger).await {
        tracing::warn!(error = %e, "could not write the last Autotask API usage");
    }
    #[cfg(feature = "sandbox")]
    if let Some(running) = embedded {
        running.stop().await;
    }
    tracing::info!("stopped");
    Ok(())
}

/// The customer sync over this state's database (for its polling worker).
pub fn sync_service(state: &AppState) -> crate::services::sync::SqlSync {
    state.sync.clone()
}

/// Starts the ticket dispatcher for this state's database (see `workers/dispatcher.rs`);
/// it keeps its name as a holder of dispatch claims in `data_dir`, so a restart resumes its work at once.
pub fn start_dispatcher(state: &AppState, data_dir: &std::path::Path) -> crate::workers::dispatcher::DispatchHandle {
    let opts = crate::workers::dispatcher::DispatchOptions { instance_dir: Some(data_dir.to_path_buf()), ..Default::default() };
    crate::workers::dispatcher::Dispatcher::new(state.db.clone(), state.connections.clone(), state.dispatch_wake.clone(), opts).spawn()
}

/// Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutdown signal received; finishing open requests");
}
