//! Spawning a real Taskbridge per test, and a small browser-like client for it.

use reqwest::header::{ACCEPT, ORIGIN};
use reqwest::{Client, Response, StatusCode};
use serde_json::Value;
use server::config::{ServeArgs, StoreArgs};
use server::state::AppState;
use std::net::SocketAddr;
use std::time::Duration;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Generates one `#[tokio::test]` per backend for an `async fn(Backend)`.
macro_rules! both_databases {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name($crate::helpers::Backend::Sqlite).await }
            )*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name($crate::helpers::Backend::Postgres).await }
            )*
        }
    };
}
pub(crate) use both_databases;

/// A running server with its own database.
pub struct TestApp {
    pub addr: SocketAddr,
    pub state: AppState,
    pub backend: Backend,
    args: ServeArgs,
    _dir: std::sync::Arc<tempfile::TempDir>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    dispatcher: Option<server::workers::dispatcher::DispatchHandle>,
    /// The webhook callout worker.
    callouts: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(d) = self.dispatcher.take() {
            d.stop();
        }
        if let Some(c) = self.callouts.take() {
            c.abort();
        }
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A fresh PostgreSQL database on the machine's server; returns its URL.
async fn fresh_postgres_database() -> String {
    let admin_url = std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    sqlx::any::install_default_drivers();
    let admin =
        sqlx::AnyPool::connect(&admin_url).await.unwrap_or_else(|e| panic!("PostgreSQL must be reachable at {admin_url} for the store tests: {e}"));
    let name = format!("tb_test_{}", server::crypto::random_token(9).to_lowercase().replace(['-', '_'], "x"));
    sqlx::query(&format!("create database {name}")).execute(&admin).await.unwrap();
    admin.close().await;
    let base = admin_url.rsplit_once('/').map(|(b, _)| b.to_string()).unwrap();
    format!("{base}/{name}")
}

/// Options a test may change.
#[derive(Default)]
pub struct Options {
    pub demo: bool,
    pub public_url: Option<String>,
    pub metrics_token: Option<String>,
    pub metrics_public: bool,
    pub autotask_discovery_url: Option<String>,
}

pub async fn spawn(backend: Backend) -> TestApp {
    spawn_with(backend, Options::default()).await
}

pub async fn spawn_with(backend: Backend, options: Options) -> TestApp {
    server::telemetry::init();
    let dir = tempfile::tempdir().unwrap();
    let database_url = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(fresh_postgres_database().await),
    };
    let args = ServeArgs {
        store: StoreArgs { data_dir: dir.path().to_path_buf(), database_url, master_key: None, master_key_file: None },
        listen: "127.0.0.1:0".parse().unwrap(),
        site_root: "target/site".into(),
        demo: options.demo,
        public_url: options.public_url,
        trust_proxy: false,
        session_idle_minutes: 480,
        session_max_hours: 168,
        metrics_token: options.metrics_token,
        embedded_sandbox: None,
        autotask_discovery_url: options.autotask_discovery_url,
        request_timeout_secs: 30,
        autotask_allowed_hosts: Vec::new(),
        metrics_public: options.metrics_public,
    };
    start_app(backend, args, std::sync::Arc::new(dir)).await
}

async fn start_app(backend: Backend, args: ServeArgs, dir: std::sync::Arc<tempfile::TempDir>) -> TestApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // Without a public URL of its own, the app is reached (by Autotask's callouts too) at its address.
    let mut own = args.clone();
    own.public_url = own.public_url.or_else(|| Some(format!("http://{addr}")));
    let state = server::startup::build_state(&own).await.unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let serve_state = state.clone();
    tokio::spawn(async move {
        server::startup::serve_on(listener, serve_state, Duration::from_secs(30), async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    let dispatcher = Some(server::startup::start_dispatcher(&state, &args.store.data_dir));
    let callouts = Some(server::workers::callouts::spawn(state.sync.clone()));
    TestApp { addr, state, backend, args, _dir: dir, shutdown: Some(tx), dispatcher, callouts }
}

/// A partner with an admin, created the way the CLI does.
pub struct Partner {
    pub partner_id: i64,
    pub name: String,
    pub email: String,
    pub password: String,
}

impl TestApp {
    /// Stops the background dispatcher (a test then drives it with `try_run_once`).
    pub fn stop_dispatcher(&mut self) {
        if let Some(d) = self.dispatcher.take() {
            d.stop();
        }
    }

    /// Stops the webhook callout worker (callouts are then stored, not applied).
    pub fn stop_callouts(&mut self) {
        if let Some(c) = self.callouts.take() {
            c.abort();
        }
    }

    /// Stops this server and starts a new one on the same data (database, master key).
    pub async fn restart(self) -> TestApp {
        self.restart_with(|_| ()).await
    }

    /// [`TestApp::restart`] with changed settings.
    pub async fn restart_with(mut self, change: impl FnOnce(&mut ServeArgs)) -> TestApp {
        if let Some(d) = self.dispatcher.take() {
            d.stop();
        }
        if let Some(c) = self.callouts.take() {
            c.abort();
        }
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.state.db.pool.close().await;
        let mut args = self.args.clone();
        change(&mut args);
        start_app(self.backend, args, self._dir.clone()).await
    }

    /// Where this app keeps its files (master key, the dispatcher's name).
    pub fn data_dir(&self) -> &std::path::Path {
        &self.args.store.data_dir
    }

    /// Starts `taskbridge serve` on this app's data in a child process and waits until it answers.
    pub async fn spawn_serve(&self) -> (std::process::Child, SocketAddr) {
        let addr: SocketAddr =
            format!("127.0.0.1:{}", std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()).parse().unwrap();
        let mut child = self.serve_command(addr).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).spawn().unwrap();
        let http = reqwest::Client::new();
        for _ in 0..400 {
            if http.get(format!("http://{addr}/api/v1/health")).send().await.is_ok() {
                return (child, addr);
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("taskbridge serve did not start on {addr}");
    }

    pub fn state_database_url(&self) -> String {
        self.args.store.database_url()
    }

    /// A second server on the same database (as a second instance behind a balancer).
    pub async fn twin(&self) -> TestApp {
        start_app(self.backend, self.args.clone(), self._dir.clone()).await
    }

    /// The command line that serves this app's data from the real binary.
    pub fn serve_command(&self, listen: SocketAddr) -> std::process::Command {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_taskbridge"));
        cmd.arg("serve").arg("--data-dir").arg(&self.args.store.data_dir).arg("--listen").arg(listen.to_string());
        if let Some(url) = &self.args.store.database_url {
            cmd.env("DATABASE_URL", url);
        }
        if let Some(url) = &self.args.autotask_discovery_url {
            cmd.arg("--autotask-discovery-url").arg(url);
        }
        cmd
    }

    /// Stops this app's server and dispatcher but keeps its data for another process.
    pub async fn stop(mut self) -> (ServeArgs, std::sync::Arc<tempfile::TempDir>) {
        if let Some(d) = self.dispatcher.take() {
            d.stop();
        }
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.state.db.pool.close().await;
        (self.args.clone(), self._dir.clone())
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn partner(&self, label: &str) -> Partner {
        let suffix = server::crypto::random_token(6).to_lowercase();
        let name = format!("{label} {suffix}");
        let email = format!("admin-{}@{}.example", suffix.replace(['-', '_'], "x"), label.to_lowercase());
        let password = format!("password-{suffix}-long");
        let admin =
            app::types::NewUser { email: email.clone(), name: format!("{label} Admin"), role: app::types::Role::Admin, password: password.clone() };
        let created = server::db::partners::create_partner(&self.state.db, &name, admin).await.unwrap();
        Partner { partner_id: created.partner_id, name, email, password }
    }

    /// A client with its own cookie jar, like a browser profile.
    pub fn browser(&self) -> Browser {
        Browser {
            client: Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap(),
            origin: self.origin(),
            password: None,
        }
    }

    pub async fn signed_in(&self, email: &str, password: &str) -> Browser {
        let mut b = self.browser();
        let r = b.call("sign_in", &[("email", email), ("password", password), ("next", "/")]).await;
        assert!(r.status().is_success(), "sign-in as {email} failed: {}", r.status());
        b.password = Some(password.to_string());
        b
    }

    /// Runs SQL against the test's database (to move time, inspect rows).
    pub async fn sql(&self, sql: &str) {
        sqlx::query(sql).execute(&self.state.db.pool).await.unwrap();
    }
}

/// A cookie-keeping HTTP client that calls server functions as the hydrated page does.
pub struct Browser {
    pub client: Client,
    pub origin: String,
    /// The password this browser signed in with: like the user at the keyboard, it types
    /// it again where the page asks for it (a new Autotask secret, a new API token).
    pub password: Option<String>,
}

/// Server functions that ask for the signed-in user's password again.
const ASK_PASSWORD: [&str; 2] = ["save_autotask_connection", "create_api_token"];

impl Browser {
    /// POSTs a server function with form-encoded arguments (adding the signed-in user's
    /// password where the page would ask for it and the test did not pass one).
    pub async fn call(&self, endpoint: &str, args: &[(&str, &str)]) -> Response {
        let mut args = args.to_vec();
        if let Some(password) = self.password.as_deref().filter(|_| ASK_PASSWORD.contains(&endpoint)) {
            if !args.iter().any(|(k, _)| *k == "password") {
                args.push(("password", password));
            }
        }
        self.client
            .post(format!("{}/rpc/{endpoint}", self.origin))
            .header(ORIGIN, &self.origin)
            .header(ACCEPT, "application/json")
            .form(&args)
            .send()
            .await
            .unwrap()
    }

    /// Calls and decodes a successful JSON result.
    pub async fn ok(&self, endpoint: &str, args: &[(&str, &str)]) -> Value {
        let r = self.call(endpoint, args).await;
        let status = r.status();
        let body = r.text().await.unwrap();
        assert!(status.is_success(), "{endpoint} failed with {status}: {body}");
        serde_json::from_str(&body).unwrap_or(Value::Null)
    }

    /// Calls and decodes the `AppError` of a failed call.
    pub async fn err(&self, endpoint: &str, args: &[(&str, &str)]) -> (StatusCode, app::error::AppError) {
        let r = self.call(endpoint, args).await;
        let status = r.status();
        let body = r.text().await.unwrap();
        assert!(!status.is_success(), "{endpoint} should have failed, got {status}: {body}");
        (status, serde_json::from_str(&body).unwrap_or_else(|e| panic!("{endpoint}: undecodable error {body:?}: {e}")))
    }

    /// POSTs a server function that takes a JSON body.
    pub async fn call_json(&self, endpoint: &str, body: &Value) -> Response {
        self.client
            .post(format!("{}/rpc/{endpoint}", self.origin))
            .header(ORIGIN, &self.origin)
            .header(ACCEPT, "application/json")
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Calls a JSON-bodied server function and decodes its successful result.
    pub async fn ok_json(&self, endpoint: &str, body: &Value) -> Value {
        let r = self.call_json(endpoint, body).await;
        let status = r.status();
        let text = r.text().await.unwrap();
        assert!(status.is_success(), "{endpoint} failed with {status}: {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// Calls a JSON-bodied server function and decodes its `AppError`.
    pub async fn err_json(&self, endpoint: &str, body: &Value) -> app::error::AppError {
        let r = self.call_json(endpoint, body).await;
        let status = r.status();
        let text = r.text().await.unwrap();
        assert!(!status.is_success(), "{endpoint} should have failed, got {status}: {text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{endpoint}: undecodable error {text:?}: {e}"))
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(format!("{}{path}", self.origin)).send().await.unwrap()
    }

    /// Polls a background job (as `start_discovery` answers it) until it stops running.
    pub async fn finished_job(&self, job: &Value) -> Value {
        let id = job["job_id"].to_string();
        for _ in 0..1_200 {
            let now = self.ok("get_job", &[("job_id", &id)]).await;
            if now["state"] != "running" {
                return now;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("job {id} did not finish in 30 s");
    }
}

/// Sets the sandbox's fault injection in process (the sandbox's own tests cover the
/// `/_sandbox/faults` control endpoint); `faults` is the JSON that endpoint takes.
pub fn set_faults(sb: &sandbox::RunningSandbox, faults: Value) {
    let faults: sandbox::faults::Faults = serde_json::from_value(faults).unwrap_or_else(|e| panic!("bad fault settings: {e}"));
    faults.validate().unwrap_or_else(|e| panic!("bad fault settings: {e}"));
    sb.sandbox.set_faults(faults);
}
