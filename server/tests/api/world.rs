//! The one test world every feature's tests start from: a server on a fresh database,
//! a partner with a signed-in admin and a machine-API token, and (when asked) the
//! Autotask sandbox with the partner's connection saved and a client of its own for
//! arranging and checking Autotask data. Feature tests add their own methods to it.

use crate::helpers::{spawn_with, Backend, Browser, Options, Partner, TestApp};
use sandbox::api::{INTEGRATION_CODE, SECRET, USERNAME};
use sandbox::{start, RunningSandbox, SandboxConfig};
use serde_json::{json, Value};
use server::autotask::{AutotaskClient, ClientOptions, Credentials};

/// A running server, its partner, and optionally the sandbox.
pub struct World {
    /// The sandbox, when the world has one.
    pub sb: Option<RunningSandbox>,
    /// The server.
    pub app: TestApp,
    /// The partner.
    pub partner: Partner,
    /// Its admin, signed in.
    pub admin: Browser,
    /// A machine-API token of the partner.
    pub token: String,
    /// A client of the sandbox of the test's own (None without a sandbox).
    pub at: Option<AutotaskClient>,
    /// A counter for ids unique within the test.
    pub seq: std::sync::atomic::AtomicU64,
}

impl World {
    /// A world for `label`'s tests; with `sandbox`, Autotask is connected.
    pub async fn new(backend: Backend, label: &str, sandbox: Option<SandboxConfig>) -> World {
        Self::with_options(backend, label, sandbox, Options::default()).await
    }

    /// [`World::new`] with the server's options (the Autotask discovery URL is the sandbox's).
    pub async fn with_options(backend: Backend, label: &str, sandbox: Option<SandboxConfig>, options: Options) -> World {
        let sb = match sandbox {
            Some(config) => Some(start(config, "127.0.0.1:0".parse().unwrap()).await.unwrap()),
            None => None,
        };
        let discovery = sb.as_ref().map(|sb| format!("{}/ATServicesRest/", sb.base_url()));
        let app = spawn_with(backend, Options { autotask_discovery_url: discovery.clone(), ..options }).await;
        let partner = app.partner(label).await;
        let admin = app.signed_in(&partner.email, &partner.password).await;
        if sb.is_some() {
            admin
                .ok(
                    "save_autotask_connection",
                    &[("username", USERNAME), ("secret", SECRET), ("integration_code", INTEGRATION_CODE), ("zone_override", "")],
                )
                .await;
        }
        let token = admin.ok("create_api_token", &[("name", "Backup platform")]).await["token"].as_str().unwrap().to_string();
        let at = discovery.map(|discovery_url| {
            AutotaskClient::new(Credentials::new(USERNAME, SECRET, INTEGRATION_CODE), ClientOptions { discovery_url, ..ClientOptions::default() })
                .unwrap()
        });
        World { sb, app, partner, admin, token, at, seq: Default::default() }
    }

    /// A small sandbox of `seed` with `companies` companies (two contacts each).
    pub fn sandbox(seed: u64, companies: usize) -> Option<SandboxConfig> {
        Some(SandboxConfig { seed, companies, contacts: companies * 2, ..SandboxConfig::default() })
    }

    /// The test's own Autotask client (the world must have a sandbox).
    pub fn autotask(&self) -> &AutotaskClient {
        self.at.as_ref().expect("this world has a sandbox")
    }

    /// The sandbox (the world must have one).
    pub fn sandbox_running(&self) -> &RunningSandbox {
        self.sb.as_ref().expect("this world has a sandbox")
    }

    /// Edits `entity` as a person in Autotask would (the sandbox's control call).
    pub async fn edit_in_autotask(&self, entity: &str, body: Value) {
        let url = format!("{}/_sandbox/records/{entity}", self.sandbox_running().base_url());
        let r = reqwest::Client::new().patch(url).json(&body).send().await.unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    }

    /// POSTs to the machine API with the partner's token: (status, body).
    pub async fn api(&self, path: &str, body: &Value) -> (u16, Value) {
        let r = reqwest::Client::new().post(self.app.url(path)).bearer_auth(&self.token).json(body).send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    /// GETs from the machine API with the partner's token: (status, body).
    pub async fn api_get(&self, path: &str) -> (u16, Value) {
        let r = reqwest::Client::new().get(self.app.url(path)).bearer_auth(&self.token).send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    /// Registers backup-platform customers `(ref, name)`; returns their ids in order.
    pub async fn register(&self, customers: &[(&str, &str)]) -> Vec<i64> {
        let list: Vec<Value> = customers.iter().map(|(r, n)| json!({"ref": r, "name": n})).collect();
        let (status, body) = self.api("/api/v1/customers", &json!({ "customers": list })).await;
        assert_eq!(status, 200, "{body}");
        body["results"].as_array().unwrap().iter().map(|r| r["customer_id"].as_i64().unwrap()).collect()
    }
}
