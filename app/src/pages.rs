//! One module per route.

pub mod companies;
pub mod map;
pub mod not_found;
pub mod overview;
pub mod setup;
pub mod signin;
pub mod tokens;
pub mod users;
