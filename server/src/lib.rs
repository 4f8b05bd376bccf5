//! The Taskbridge server: configuration, storage, authentication, the machine API and
//! the axum router that serves the Leptos app. `main.rs` only parses the command line.

pub mod admin;
pub mod api;
pub mod billing;
pub mod autotask;
pub mod bench;
pub mod companies;
pub mod config;
pub mod crypto;
pub mod customers;
pub mod db;
pub mod dispatch;
pub mod error;
pub mod events;
pub mod exports;
pub mod jobs;
pub mod map;
pub mod push;
pub mod metrics;
pub mod session;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod tickets;
pub mod usage;
