//! A benchmark's own server (on a fresh data dir, SQLite unless a PostgreSQL URL is given)
//! and a signed-in admin calling its server functions over HTTP, as the browser does.

use anyhow::Context;
use serde_json::Value;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// A running server with a partner and its signed-in admin.
pub struct Session {
    /// The server's state (its database, for seeding).
    pub db: server::db::Db,
    /// The partner.
    pub partner_id: i64,
    /// The admin's password (Setup asks for it again with a new secret).
    pub password: String,
    http: reqwest::Client,
    /// `http://127.0.0.1:PORT`, the server's address (and its public URL).
    pub origin: String,
    cookie: String,
    dir: PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl Session {
    /// Starts the sandbox of `config`, and a server whose partner is connected to it.
    pub async fn with_sandbox(
        label: &str,
        config: sandbox::SandboxConfig,
        database_url: Option<String>,
    ) -> anyhow::Result<(sandbox::RunningSandbox, Session)> {
        let generated = Instant::now();
        let (companies, contacts) = (config.companies, config.contacts);
        let sb = sandbox::start(config, "127.0.0.1:0".parse()?).await?;
        eprintln!("sandbox with {companies} companies and {contacts} contacts ready in {:.1} s", generated.elapsed().as_secs_f64());
        let s = Session::start(label, database_url, Some(format!("{}/ATServicesRest/", sb.base_url()))).await?;
        s.form(
            "save_autotask_connection",
            &[
                ("username", sandbox::api::USERNAME),
                ("secret", sandbox::api::SECRET),
                ("integration_code", sandbox::api::INTEGRATION_CODE),
                ("zone_override", ""),
                ("password", s.password.as_str()),
            ],
        )
        .await?;
        Ok((sb, s))
    }

    /// Starts a server (Autotask discovery at `discovery_url`, when given) with a new partner,
    /// and signs its admin in.
    pub async fn start(label: &str, database_url: Option<String>, discovery_url: Option<String>) -> anyhow::Result<Session> {
        use server::config::{ServeArgs, StoreArgs};
        let dir = std::env::temp_dir().join(format!("taskbridge-bench-{label}-{}", server::crypto::random_token(6).to_lowercase()));
        std::fs::create_dir_all(&dir)?;
        // Its own address is its public one: the sandbox's webhook callouts come back to it.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let args = ServeArgs {
            store: StoreArgs { data_dir: dir.clone(), database_url, master_key: None, master_key_file: None },
            listen: "127.0.0.1:0".parse()?,
            site_root: "target/site".into(),
            demo: false,
            public_url: Some(format!("http://{addr}")),
            trust_proxy: false,
            session_idle_minutes: 480,
            session_max_hours: 168,
            metrics_token: None,
            embedded_sandbox: None,
            autotask_discovery_url: discovery_url,
            request_timeout_secs: 120,
            autotask_allowed_hosts: Vec::new(),
            metrics_public: false,
        };
        let state = server::startup::build_state(&args).await?;
        let db = state.db.clone();
        let password = format!("bench-{}", server::crypto::random_token(12));
        let email = format!("bench-{}@bench.example", server::crypto::random_token(6).to_lowercase().replace(['-', '_'], "x"));
        let admin =
            app::types::NewUser { email: email.clone(), name: "Bench Admin".into(), role: app::types::Role::Admin, password: password.clone() };
        let partner_id =
            server::db::partners::create_partner(&db, &format!("Bench MSP {}", server::crypto::random_token(4)), admin).await?.partner_id;
        let callouts = server::workers::callouts::spawn(state.sync.clone());
        let (stop, rx) = tokio::sync::oneshot::channel::<()>();
        let served = tokio::spawn(async move {
            let served = server::startup::serve_on(listener, state, Duration::from_secs(120), async {
                let _ = rx.await;
            })
            .await;
            callouts.abort();
            served
        });
        let origin = format!("http://{addr}");
        let http = reqwest::Client::new();
        let signed = http
            .post(format!("{origin}/rpc/sign_in"))
            .header("origin", &origin)
            .header("accept", "application/json")
            .form(&[("email", email.as_str()), ("password", password.as_str()), ("next", "/")])
            .send()
            .await?;
        let cookie = signed
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("tb_session="))
            .map(|c| c.split(';').next().unwrap_or_default().to_string())
            .context("no session cookie")?;
        Ok(Session { db, partner_id, password, http, origin, cookie, dir, stop: Some(stop), served: Some(served) })
    }

    /// Calls a JSON-bodied server function; the answer, or an error with the server's body.
    pub async fn rpc(&self, endpoint: &str, body: &Value) -> anyhow::Result<Value> {
        let r = self
            .http
            .post(format!("{}/rpc/{endpoint}", self.origin))
            .header("origin", &self.origin)
            .header("cookie", &self.cookie)
            .json(body)
            .send()
            .await?;
        let status = r.status();
        let text = r.text().await?;
        anyhow::ensure!(status.is_success(), "{endpoint} answered {status}: {text}");
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Calls a form-bodied server function.
    pub async fn form(&self, endpoint: &str, args: &[(&str, &str)]) -> anyhow::Result<Value> {
        let r = self
            .http
            .post(format!("{}/rpc/{endpoint}", self.origin))
            .header("origin", &self.origin)
            .header("accept", "application/json")
            .header("cookie", &self.cookie)
            .form(args)
            .send()
            .await?;
        let status = r.status();
        let text = r.text().await?;
        anyhow::ensure!(status.is_success(), "{endpoint} answered {status}: {text}");
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Waits for a background job to end; its final state and how long it ran here.
    pub async fn job(&self, job: &Value, limit: Duration) -> anyhow::Result<(Value, Duration)> {
        let started = Instant::now();
        let id = job["job_id"].to_string();
        loop {
            let now = self.form("get_job", &[("job_id", &id)]).await?;
            if now["state"] != "running" {
                anyhow::ensure!(now["state"] == "done", "job {id} ended {}: {}", now["state"], now["message"]);
                return Ok((now, started.elapsed()));
            }
            anyhow::ensure!(started.elapsed() < limit, "job {id} still running after {limit:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Fresh planner statistics, as autovacuum/analyze keeps them in production.
    pub async fn analyze(&self) -> anyhow::Result<()> {
        let sql = match self.db.kind {
            server::db::DbKind::Postgres => "vacuum analyze",
            server::db::DbKind::Sqlite => "analyze",
        };
        sqlx::query(sql).execute(&self.db.pool).await?;
        Ok(())
    }

    /// Stops the server and removes its data dir (kept with `TASKBRIDGE_BENCH_KEEP`).
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(served) = self.served.take() {
            let _ = served.await;
        }
        if std::env::var_os("TASKBRIDGE_BENCH_KEEP").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        } else {
            eprintln!("kept {}", self.dir.display());
        }
    }
}

/// The value at percentile `p` (0..=1) of sorted times.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}
