//! Feature services: each implements one of `app::services`' traits (what the server
//! functions call) over the storage layer and the partner's Autotask client.

pub mod auth;
pub mod backup_users;
pub mod billing;
pub mod companies;
pub mod connection;
pub mod contacts;
pub mod history;
pub mod map;
pub mod storage;
pub mod sync;
pub mod tickets;
pub mod user_calls;
