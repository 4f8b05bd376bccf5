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
    #[cfg(feature = "sandbox")]
    Sandbox(crate::embedded_sandbox::SandboxArgs),
    /// Administrative tasks run from a shell.
    Admin {
        /// The task.
        #[command(subcommand)]
        command: AdminCommand,
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
    /// Base64 of 32 bytes that encrypts partner secrets, from the environment only
    /// (`TASKBRIDGE_MASTER_KEY`: a command-line flag would show it in the process list).
    #[arg(skip = std::env::var("TASKBRIDGE_MASTER_KEY").ok())]
    pub master_key: Option<String>,
    /// A file holding the master key (base64 of 32 bytes), e.g. a mounted secret.
    /// Without it or TASKBRIDGE_MASTER_KEY, a key is generated into the data directory.
    #[arg(long, env = "TASKBRIDGE_MASTER_KEY_FILE")]
    pub master_key_file: Option<PathBuf>,
}

impl StoreArgs {
    /// The configured master key: the environment's, else the key file's, else none.
    pub fn configured_master_key(&self) -> anyhow::Result<Option<String>> {
        if let Some(key) = self.master_key.clone().filter(|k| !k.trim().is_empty()) {
            return Ok(Some(key));
        }
        match &self.master_key_file {
            Some(path) => {
                Ok(Some(std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("reading the master key file {}: {e}", path.display()))?))
            }
            None => Ok(None),
        }
    }

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
    /// The URL people use to reach Taskbridge. With https, cookies are marked Secure;
    /// Autotask's webhook callouts (instant updates) go to its `/hooks/autotask/`.
    #[arg(long, env = "TASKBRIDGE_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Trust X-Forwarded-For / X-Forwarded-Proto (only behind your own load balancer).
    #[arg(long, env = "TASKBRIDGE_TRUST_PROXY", default_value_t = false)]
    pub trust_proxy: bool,
    /// Sessions end after this many minutes without a request.
    #[arg(long, env = "TASKBRIDGE_SESSION_IDLE_MINUTES", default_value_t = 30)]
    pub session_idle_minutes: i64,
    /// Sessions end this many hours after sign-in, however active.
    #[arg(long, env = "TASKBRIDGE_SESSION_MAX_HOURS", default_value_t = 12)]
    pub session_max_hours: i64,
    /// Also run the sandbox Autotask on this address (the demo's Autotask), keeping its
    /// data in `<data dir>/sandbox.json`.
    #[arg(long, env = "TASKBRIDGE_EMBEDDED_SANDBOX")]
    pub embedded_sandbox: Option<SocketAddr>,
    /// Where Autotask zone discovery is asked (default: Autotask's own; the embedded
    /// sandbox's when one runs and this is unset).
    #[arg(long, env = "TASKBRIDGE_AUTOTASK_DISCOVERY_URL")]
    pub autotask_discovery_url: Option<String>,
    /// Host names besides *.autotask.net that partners' zone overrides may name (https
    /// only, comma-separated): a private Autotask host. The credentials go nowhere else.
    #[arg(long, env = "TASKBRIDGE_AUTOTASK_ALLOWED_HOSTS", value_delimiter = ',')]
    pub autotask_allowed_hosts: Vec<String>,
    /// `/metrics` requires `Authorization: Bearer <this>`; without it (and without
    /// `--metrics-public`) `/metrics` is off.
    #[arg(long, env = "TASKBRIDGE_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Serve `/metrics` to anyone, without a token (only on a private network).
    #[arg(long, env = "TASKBRIDGE_METRICS_PUBLIC", default_value_t = false)]
    pub metrics_public: bool,
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
    use clap::Parser;

    #[test]
    fn the_master_key_never_comes_from_a_flag() {
        assert!(Cli::try_parse_from(["taskbridge", "serve", "--master-key", "c2VjcmV0"]).is_err(), "a flag would show the key in the process list");
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let file = dir.path().join("key");
        std::fs::write(&file, "a2V5LWZyb20tZmlsZQ==").unwrap_or_else(|e| panic!("{e}"));
        let store = StoreArgs { data_dir: dir.path().into(), database_url: None, master_key: None, master_key_file: Some(file) };
        assert_eq!(store.configured_master_key().unwrap_or_else(|e| panic!("{e}")).as_deref(), Some("a2V5LWZyb20tZmlsZQ=="));
    }
}
