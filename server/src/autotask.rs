//! Autotask PSA: the REST client, its typed entities, query builder and error causes, the
//! shared backoff rule, and the per-partner client registry.

pub mod client;
pub mod clients;
pub mod entities;
pub mod error;
pub mod query;
pub mod retry;

pub use client::{AutotaskClient, ClientOptions, Credentials, FetchProgress};
pub use clients::{AutotaskClients, PartnerConnection};
pub use error::AutotaskError;
pub use query::{Filter, Query};
