//! The Autotask sandbox inside the `taskbridge` binary (feature `sandbox`, which the
//! scripts enable and a production build can leave out): `taskbridge sandbox` on its own,
//! and `serve --embedded-sandbox` for the demo, whose partner is pre-connected to it.

use crate::crypto::MasterKey;
use crate::db::Db;
use crate::state::AppState;
use clap::Args;
use sandbox::RunningSandbox;
use std::net::SocketAddr;
use std::path::PathBuf;

/// `taskbridge sandbox`: a local Autotask for demos, tests and benchmarks.
#[derive(Debug, Clone, Args)]
pub struct SandboxArgs {
    /// Address to listen on.
    #[arg(long, env = "TASKBRIDGE_SANDBOX_LISTEN", default_value = "127.0.0.1:3300")]
    pub listen: SocketAddr,
    /// Generator seed: the same seed gives the same tenant.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Companies to generate.
    #[arg(long, default_value_t = 250)]
    pub companies: usize,
    /// Contacts to generate (default: 2.4 per company).
    #[arg(long)]
    pub contacts: Option<usize>,
    /// Latency added to every API call, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Keep the tenant in this JSON file (loaded at start if present, saved after changes).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Requests allowed per rolling hour (Autotask's default: 10,000).
    #[arg(long, default_value_t = 10_000)]
    pub hourly_limit: usize,
    /// Listen on a non-loopback address (its credentials are public: only on a private network).
    #[arg(long, env = "TASKBRIDGE_SANDBOX_ALLOW_REMOTE", default_value_t = false)]
    pub allow_remote: bool,
    /// Faults from the start, as the JSON the control endpoint takes, e.g.
    /// '{"rate_429":0.1,"jitter_ms":50}' (overrides --latency-ms when it sets latency_ms).
    #[arg(long)]
    pub faults: Option<String>,
}

impl SandboxArgs {
    /// The sandbox configuration these flags describe.
    pub fn config(&self) -> anyhow::Result<sandbox::SandboxConfig> {
        let faults = match &self.faults {
            Some(json) => {
                let mut value: serde_json::Value = serde_json::from_str(json).map_err(|e| anyhow::anyhow!("--faults is not JSON: {e}"))?;
                if value.get("latency_ms").is_none() {
                    value["latency_ms"] = self.latency_ms.into();
                }
                let faults: sandbox::faults::Faults = serde_json::from_value(value).map_err(|e| anyhow::anyhow!("--faults: {e}"))?;
                faults.validate().map_err(|e| anyhow::anyhow!("--faults: {e}"))?;
                faults
            }
            None => sandbox::faults::Faults { latency_ms: self.latency_ms, ..Default::default() },
        };
        Ok(sandbox::SandboxConfig {
            seed: self.seed,
            companies: self.companies,
            contacts: self.contacts.unwrap_or(self.companies * 12 / 5),
            data_file: self.data.clone(),
            faults,
            hourly_threshold: self.hourly_limit,
            allow_remote: self.allow_remote,
        })
    }
}

/// Connects the demo partner to the embedded sandbox, once.
pub async fn preconnect_demo(db: &Db, master_key: &MasterKey) -> anyhow::Result<()> {
    if let Some(partner_id) = crate::db::partners::find_by_name(db, crate::admin::DEMO_PARTNER).await.map_err(|e| anyhow::anyhow!("{e}"))? {
        crate::services::connection::preconnect(
            db,
            master_key,
            partner_id,
            sandbox::api::USERNAME,
            sandbox::api::SECRET,
            sandbox::api::INTEGRATION_CODE,
        )
        .await?;
    }
    Ok(())
}

/// Starts the embedded sandbox when `--embedded-sandbox` asks for one; in demo mode, also
/// tests the demo partner's connection once (so the console opens "connected") and gives
/// it some backup-platform customers so the Customer Map has work to show.
pub async fn start(addr: Option<SocketAddr>, data_dir: &std::path::Path, demo: bool, state: &AppState) -> anyhow::Result<Option<RunningSandbox>> {
    let Some(addr) = addr else {
        return Ok(None);
    };
    let allow_remote = std::env::var("TASKBRIDGE_SANDBOX_ALLOW_REMOTE").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
    let config = sandbox::SandboxConfig { data_file: Some(data_dir.join("sandbox.json")), allow_remote, ..sandbox::SandboxConfig::default() };
    let running = sandbox::start(config, addr).await?;
    tracing::info!(
        url = %format!("{}/ATServicesRest/", running.base_url()),
        user = sandbox::api::USERNAME,
        integration_code = sandbox::api::INTEGRATION_CODE,
        "embedded Autotask sandbox is listening"
    );
    if demo {
        let settings = state.services.autotask.clone();
        let db = state.db.clone();
        let names: Vec<String> = running
            .sandbox
            .read()
            .rows("Companies")
            .map(|rows| {
                rows.values()
                    .filter(|r| r.get("companyType").and_then(|v| v.as_i64()) == Some(1))
                    .filter_map(|r| r.get("companyName")?.as_str().map(str::to_string))
                    .take(40)
                    .collect()
            })
            .unwrap_or_default();
        tokio::spawn(async move {
            if let Ok(Some(partner_id)) = crate::db::partners::find_by_name(&db, crate::admin::DEMO_PARTNER).await {
                if let Err(e) = crate::machine_api::customers::seed_demo(&db, partner_id, &names).await {
                    tracing::warn!(error = %e, "could not add the demo customers");
                }
                let system = app::types::CurrentUser {
                    user_id: 0,
                    partner_id,
                    partner_name: crate::admin::DEMO_PARTNER.into(),
                    email: "system".into(),
                    name: "System".into(),
                    role: app::types::Role::Admin,
                };
                match settings.test(&system).await {
                    Ok(t) => tracing::info!(ok = t.ok, message = %t.message, "tested the demo partner's Autotask connection"),
                    Err(e) => tracing::warn!(error = %e, "could not test the demo partner's Autotask connection"),
                }
            }
        });
    }
    Ok(Some(running))
}

/// `taskbridge sandbox`.
pub async fn run(args: SandboxArgs) -> anyhow::Result<()> {
    let running = sandbox::start(args.config()?, args.listen).await?;
    tracing::info!(
        url = %format!("{}/ATServicesRest/", running.base_url()),
        user = sandbox::api::USERNAME,
        integration_code = sandbox::api::INTEGRATION_CODE,
        control = %format!("{}/_sandbox", running.base_url()),
        "Autotask sandbox is listening"
    );
    crate::startup::shutdown_signal().await;
    running.stop().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Cli, Command};
    use clap::Parser;

    fn sandbox_args(extra: &[&str]) -> SandboxArgs {
        let mut argv = vec!["taskbridge", "sandbox"];
        argv.extend_from_slice(extra);
        match Cli::try_parse_from(argv).map(|c| c.command) {
            Ok(Command::Sandbox(args)) => args,
            other => panic!("unexpected parse: {other:?}"),
        }
    }

    #[test]
    fn sandbox_faults_can_be_set_at_start() {
        let config =
            sandbox_args(&["--latency-ms", "150", "--faults", r#"{"rate_429": 0.25, "jitter_ms": 20}"#]).config().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.faults.latency_ms, 150);
        assert_eq!(config.faults.jitter_ms, 20);
        assert!((config.faults.rate_429 - 0.25).abs() < f64::EPSILON);
        assert!(sandbox_args(&["--faults", r#"{"rate_5xx": 3}"#]).config().is_err());
        assert!(sandbox_args(&["--faults", r#"{"no_such_fault": 1}"#]).config().is_err());
        assert_eq!(sandbox_args(&["--companies", "100"]).config().map(|c| c.contacts).unwrap_or_default(), 240);
    }
}
