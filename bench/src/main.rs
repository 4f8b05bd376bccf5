//! `taskbridge-bench`: Taskbridge's benchmarks, each against a real server and the Autotask
//! sandbox on this machine, printing its figures as `name: value` lines. Build with
//! `--release`: `cargo build --release -p bench && target/release/taskbridge-bench events`.
//! It lives outside the server crate so the server library carries no benchmark code.

mod benches;
mod contacts;
mod history;
mod session;
mod sync;
mod sync_webhooks;

use clap::{Parser, Subcommand};

/// `taskbridge-bench` — benchmarks that print `name: value` lines.
#[derive(Debug, Parser)]
#[command(name = "taskbridge-bench", version, about)]
struct Cli {
    /// Which benchmark.
    #[command(subcommand)]
    command: BenchCommand,
}

/// Benchmarks.
#[derive(Debug, Subcommand)]
enum BenchCommand {
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
    /// "Get Autotask contacts" against the thread limit, Contacts pages (p50/p95 over HTTP),
    /// and importing 5,000 contacts as backup users.
    Contacts {
        /// Companies in the sandbox (each mapped to a customer).
        #[arg(long, default_value_t = 25_000)]
        companies: usize,
        /// Contacts in the sandbox.
        #[arg(long, default_value_t = 60_000)]
        contacts: usize,
        /// Latency of every sandbox call.
        #[arg(long, default_value_t = 150)]
        latency_ms: u64,
        /// PostgreSQL to run on instead of a temporary SQLite file.
        #[arg(long)]
        database_url: Option<String>,
    },
    /// The customer and contract sync: a first full round, then a polling round after 1%
    /// of the companies and contracts changed, with the calls each made.
    Sync {
        /// Companies in the sandbox.
        #[arg(long, default_value_t = 25_000)]
        companies: usize,
        /// Share of followed companies and contracts that change between rounds, in percent.
        #[arg(long, default_value_t = 1.0)]
        changed_pct: f64,
        /// Latency of every sandbox call.
        #[arg(long, default_value_t = 150)]
        latency_ms: u64,
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
    /// The History at scale: filtered pages (p50/p95 over HTTP) over a million run lines
    /// of 50 partners, and what recording a run costs.
    History {
        /// Run lines to seed (5 a run).
        #[arg(long, default_value_t = 1_000_000)]
        lines: i64,
        /// PostgreSQL to run on instead of a temporary SQLite file.
        #[arg(long)]
        database_url: Option<String>,
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

#[tokio::main]
async fn main() -> std::process::ExitCode {
    server::telemetry::init();
    let result = match Cli::parse().command {
        BenchCommand::Discover { companies, contacts, latency_ms } => benches::discover(companies, contacts, latency_ms).await,
        BenchCommand::Map { customers, companies, database_url } => benches::map(customers, companies, database_url).await,
        BenchCommand::Events { events, incidents, latency_ms, note_interval_minutes, database_url } => {
            benches::events(events, incidents, latency_ms, note_interval_minutes, database_url).await
        }
        BenchCommand::Sync { companies, changed_pct, latency_ms, database_url } => sync::sync(companies, changed_pct, latency_ms, database_url).await,
        BenchCommand::Billing { customers, changed_pct, latency_ms } => benches::billing(customers, changed_pct, latency_ms).await,
        BenchCommand::History { lines, database_url } => history::history(lines, database_url).await,
        BenchCommand::Contacts { companies, contacts, latency_ms, database_url } => {
            contacts::contacts(companies, contacts, latency_ms, database_url).await
        }
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
