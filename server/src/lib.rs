//! The Taskbridge server: configuration, the storage layer, the Autotask client, feature
//! services, the machine API, background workers and the axum router that serves the
//! Leptos app. `main.rs` only parses the command line. The layout is explained in the
//! README's "Project layout" section.

pub mod admin;
pub mod autotask;
pub mod config;
pub mod crypto;
pub mod db;
#[cfg(feature = "sandbox")]
pub mod embedded_sandbox;
pub mod error;
pub mod exports;
pub mod hooks;
pub mod machine_api;
pub mod metrics;
pub mod services;
pub mod session;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod workers;
