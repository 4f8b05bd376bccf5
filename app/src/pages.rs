//! One module per route.

pub mod account;
pub mod backup_users;
pub mod billing;
pub mod billing_settings;
pub mod clients;
pub mod companies;
pub mod contacts;
pub mod events;
pub mod history;
pub mod map;
pub mod not_found;
pub mod notifications;
pub mod overview;
pub mod setup;
pub mod signin;
pub mod storage;
pub mod sync_instant;
pub mod sync_settings;
pub mod ticket_settings;
pub mod tokens;
pub mod users;
