//! `taskbridge`: parse the command line, set up logging, run the subcommand.

use clap::Parser;
use server::config::{AdminCommand, BenchCommand, Cli, Command};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    dotenvy::dotenv().ok();
    server::telemetry::init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => server::startup::serve(args).await,
        Command::Bench { command: BenchCommand::Discover { companies, contacts, latency_ms } } => server::bench::discover(companies, contacts, latency_ms).await,
        Command::Bench { command: BenchCommand::Map { customers, companies, database_url } } => server::bench::map(customers, companies, database_url).await,
        Command::Bench { command: BenchCommand::Events { events, incidents, latency_ms, note_interval_minutes, database_url } } => server::bench::events(events, incidents, latency_ms, note_interval_minutes, database_url).await,
        Command::Bench { command: BenchCommand::Billing { customers, changed_pct, latency_ms } } => server::bench::billing(customers, changed_pct, latency_ms).await,
        Command::Sandbox(args) => server::startup::run_sandbox(args).await,
        Command::Admin { command: AdminCommand::CreatePartner(args) } => server::admin::create_partner_command(args).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
