//! Autotask PSA: the REST client, its typed entities, query builder and error causes, the
//! shared backoff rule, the per-partner client registry, and where calls may go (the
//! allow-list, the guarded resolver, the shared HTTP client).

pub mod client;
pub mod clients;
pub mod endpoint;
pub mod entities;
pub mod error;
pub mod http;
pub mod ledger;
pub mod query;
pub mod retry;
pub mod share;
pub mod usage;

pub use client::{AutotaskClient, ClientOptions, Credentials, FetchProgress, PageSink};
pub use clients::{AutotaskClients, PartnerConnection};
pub use error::AutotaskError;
pub use query::{Filter, Query};
