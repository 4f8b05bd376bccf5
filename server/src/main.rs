//! `taskbridge`: parse the command line, set up logging, run the subcommand.

use clap::Parser;
use server::config::{AdminCommand, Cli, Command};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    dotenvy::dotenv().ok();
    server::telemetry::init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => server::startup::serve(args).await,
        #[cfg(feature = "sandbox")]
        Command::Sandbox(args) => server::embedded_sandbox::run(args).await,
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
