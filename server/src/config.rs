//! Command line and environment configuration, parsed once in `main`.
//!
//! Every flag has an environment variable; `.env.example` documents them all.

use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

/// `taskbridge` — the Autotask PSA integration of the backup partner portal.
#[derive(Debug, Parser)]
#[command(name = "taskbridge", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web console, the server functions and the machine API.
    Serve(ServeArgs),
    /// Run the local Autotask REST API (the sandbox) on its own.
    Sandbox(SandboxArgs),
    /// Benchmarks that print their figures (`name: value` lines). Build with --release.
    Bench {
        /// Which benchmark.
        #[command(subcommand)]
        command: BenchCommand,
    },
    /// Administrative tasks run from a shell.
    Admin {
        /// The task.
        #[command(subcommand)]
        command: AdminCommand,
    },
}

/// Benchmarks.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Fetch every company and contact from a sandbox with per-call latency.
    Discover {
        /// Companies in the sandbox.
        #[arg(long, default_value_t = 25_000)]
        companies: usize,
        /// Contacts in the sandbox.
        #[arg(long, default_value_t = 60_000)]
        contacts: usize,
        /// Latency of every sandbox call.
        #[arg(long, default_value_t = 150)]
        latency_ms: u64,
    },
    /// Customer Map pages (p50/p95 over HTTP) and the matching pass at scale.
    Map {
        /// Taskbridge customers.
        #[arg(long, default_value_t = 10_000)]
        customers: usize,
        /// Discovered Autotask companies.
        #[arg(long, default_value_t = 25_000)]
        companies: usize,
        /// PostgreSQL to run on instead of a temporary SQLite file.
        #[arg(long)]
        database_url: Option<String>,
    },
    /// A billing push: reads, writes per changed quantity, wall time.
    Billing {
        /// Mapped customers (each with 4 products on a recurring contract).
        #[arg(long, default_value_t = 5_000)]
        customers: usize,
        /// Share of quantities that differ from what Autotask bills, in percent.
        #[arg(long, default_value_t = 10)]
        changed_pct: usize,
        /// Latency of every sandbox call.
        #[arg(long, default_value_t = 0)]
        latency_ms: u64,
    },
    /// Backup events in, tickets out: accepted events/s, tickets, notes, API calls, and
    /// event-to-ticket latency against a sandbox with per-call latency.
    Events {
        /// Events to post.
        #[arg(long, default_value_t = 100_000)]
        events: usize,
        /// Incidents (customer + device + type) they fall into.
        #[arg(long, default_value_t = 500)]
        incidents: usize,
        /// Latency of every sandbox call.
        #[arg(long, default_value_t = 50)]
        latency_ms: u64,
        /// Repeat-note interval of the partner's ticket settings.
        #[arg(long, default_value_t = 1)]
        note_interval_minutes: i64,
        /// PostgreSQL to run on instead of a temporary SQLite file.
        #[arg(long)]
        database_url: Option<String>,
    },
}

/// Administrative subcommands.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create a partner and its first admin.
    CreatePartner(CreatePartnerArgs),
}

/// Where data lives.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// Directory for the SQLite database and the generated master key.
    #[arg(long, env = "TASKBRIDGE_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// `postgres://...` to use PostgreSQL (several instances); default: SQLite in the data directory.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Base64 of 32 bytes that encrypts partner secrets; generated into the data directory if unset.
    #[arg(long, env = "TASKBRIDGE_MASTER_KEY", hide_env_values = true, hide = true)]
    pub master_key: Option<String>,
}

impl StoreArgs {
    /// The database URL: the configured one, or the SQLite file in the data directory.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) if !url.trim().is_empty() => url.trim().to_string(),
            _ => format!("sqlite://{}?mode=rwc", self.data_dir.join("taskbridge.db").display()),
        }
    }
}

/// `taskbridge serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Storage.
    #[command(flatten)]
    pub store: StoreArgs,
    /// Address to listen on.
    #[arg(long, env = "TASKBRIDGE_LISTEN", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,
    /// Directory holding the built site (`pkg/` with the wasm, the CSS, public files).
    #[arg(long, env = "TASKBRIDGE_SITE_ROOT", default_value = "target/site")]
    pub site_root: String,
    /// Demo mode: create the "Demo MSP" partner and show its admin's credentials on the sign-in page.
    #[arg(long, env = "TASKBRIDGE_DEMO", default_value_t = false)]
    pub demo: bool,
    /// The URL people use to reach Taskbridge. With https, cookies are marked Secure.
    #[arg(long, env = "TASKBRIDGE_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Trust X-Forwarded-For / X-Forwarded-Proto (only behind your own load balancer).
    #[arg(long, env = "TASKBRIDGE_TRUST_PROXY", default_value_t = false)]
    pub trust_proxy: bool,
    /// Sessions end after this many minutes without a request.
    #[arg(long, env = "TASKBRIDGE_SESSION_IDLE_MINUTES", default_value_t = 480)]
    pub session_idle_minutes: i64,
    /// Sessions end this many hours after sign-in, however active.
    #[arg(long, env = "TASKBRIDGE_SESSION_MAX_HOURS", default_value_t = 168)]
    pub session_max_hours: i64,
    /// Also run the sandbox Autotask on this address (the demo's Autotask), keeping its
    /// data in `<data dir>/sandbox.json`.
    #[arg(long, env = "TASKBRIDGE_EMBEDDED_SANDBOX")]
    pub embedded_sandbox: Option<SocketAddr>,
    /// Where Autotask zone discovery is asked (default: Autotask's own; the embedded
    /// sandbox's when one runs and this is unset).
    #[arg(long, env = "TASKBRIDGE_AUTOTASK_DISCOVERY_URL")]
    pub autotask_discovery_url: Option<String>,
    /// When set, `/metrics` requires `Authorization: Bearer <this>`.
    #[arg(long, env = "TASKBRIDGE_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Requests taking longer than this are answered 408.
    #[arg(long, env = "TASKBRIDGE_REQUEST_TIMEOUT_SECS", default_value_t = 60)]
    pub request_timeout_secs: u64,
}

impl ServeArgs {
    /// Whether cookies must be `Secure` (the public URL is https).
    pub fn secure_cookies(&self) -> bool {
        self.public_url.as_deref().is_some_and(|u| u.starts_with("https://"))
    }
}

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
        })
    }
}

/// `taskbridge admin create-partner`.
#[derive(Debug, Clone, Args)]
pub struct CreatePartnerArgs {
    /// Storage.
    #[command(flatten)]
    pub store: StoreArgs,
    /// The partner's name (unique).
    #[arg(long)]
    pub name: String,
    /// The first admin's email.
    #[arg(long)]
    pub admin_email: String,
    /// The first admin's display name (default: the part of the email before @).
    #[arg(long)]
    pub admin_name: Option<String>,
    /// Read the password from this file (first line) instead of prompting.
    #[arg(long)]
    pub password_file: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let config = sandbox_args(&["--latency-ms", "150", "--faults", r#"{"rate_429": 0.25, "jitter_ms": 20}"#]).config().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.faults.latency_ms, 150);
        assert_eq!(config.faults.jitter_ms, 20);
        assert!((config.faults.rate_429 - 0.25).abs() < f64::EPSILON);
        assert!(sandbox_args(&["--faults", r#"{"rate_5xx": 3}"#]).config().is_err());
        assert!(sandbox_args(&["--faults", r#"{"no_such_fault": 1}"#]).config().is_err());
        assert_eq!(sandbox_args(&["--companies", "100"]).config().map(|c| c.contacts).unwrap_or_default(), 240);
    }
}
