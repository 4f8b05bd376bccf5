//! Server functions, one module per feature. Each is thin: authorize, parse, delegate.
//!
//! All live under the `/rpc/` prefix (the machine API owns `/api/v1/`). The server's
//! middleware refuses anonymous calls to every path here except [`PUBLIC_ENDPOINTS`].

pub mod auth;
pub mod backup_users;
pub mod billing;
pub mod companies;
pub mod connection;
pub mod contacts;
pub mod history;
pub mod map;
pub mod overview;
pub mod storage;
pub mod sync;
pub mod tickets;
pub mod tokens;
pub mod users;

/// The prefix of every server function URL.
pub const PREFIX: &str = "/rpc";

/// Server functions that anonymous visitors may call.
pub const PUBLIC_ENDPOINTS: &[&str] = &["/rpc/sign_in", "/rpc/sign_out", "/rpc/get_site_info"];
