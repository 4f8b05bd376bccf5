//! Integration tests: the real server over HTTP, on a fresh SQLite file and a fresh
//! PostgreSQL database for every test (see `helpers::both_databases!`).
#![expect(clippy::unwrap_used)]

mod access;
mod api_usage;
mod auth;
mod autotask_client;
mod billing;
mod chaos;
mod companies;
mod connection;
mod contacts;
mod dispatch;
mod dispatch_shared;
mod events;
mod fuzz;
mod helpers;
mod history;
mod history_changes;
mod map;
mod metrics;
mod security;
mod store;
mod sync;
mod sync_recovery;
mod sync_webhooks;
mod tickets;
mod tokens;
mod world;
