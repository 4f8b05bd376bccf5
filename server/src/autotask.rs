//! Autotask PSA: the REST client, its typed entities, query builder and error causes.

pub mod client;
pub mod entities;
pub mod error;
pub mod query;

pub use client::{AutotaskClient, ClientOptions, Credentials, FetchProgress};
pub use error::AutotaskError;
pub use query::{Filter, Query};
