//! What an Autotask client is configured with: where discovery is asked, timeouts, the
//! thread limit, retries and budget checks, and the hosts its credentials may go to.

use crate::autotask::endpoint::Destinations;
use std::time::Duration;

/// Where Autotask's zone discovery lives (any zone answers it).
pub const PRODUCTION_DISCOVERY_URL: &str = "https://webservices2.autotask.net/ATServicesRest/";

/// Client behaviour.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Zone discovery base, ending in `/ATServicesRest/`.
    pub discovery_url: String,
    /// A fixed zone REST base (ending in `/ATServicesRest/`) instead of discovery.
    pub zone_override: Option<String>,
    /// Per-call timeout.
    pub timeout: Duration,
    /// Concurrent calls per entity (Autotask allows 3).
    pub max_threads_per_entity: usize,
    /// Attempts for an idempotent call.
    pub max_attempts: u32,
    /// First backoff.
    pub backoff_base: Duration,
    /// Longest backoff.
    pub backoff_cap: Duration,
    /// Read ThresholdInformation after this many calls.
    pub threshold_check_every: u64,
    /// Hosts besides `*.autotask.net` (and the discovery URL's origin) that the
    /// credentials may be sent to (see `endpoint.rs`).
    pub extra_hosts: Vec<String>,
    /// The partner whose connection this is (labels its budget in the metrics).
    pub partner_id: Option<i64>,
    /// Where the partner's calls are counted per hour for the History (with `partner_id`).
    pub ledger: Option<std::sync::Arc<crate::autotask::ledger::Ledger>>,
}

impl ClientOptions {
    /// Where these options let the credentials go.
    pub fn destinations(&self) -> Destinations {
        Destinations::new(&self.discovery_url, &self.extra_hosts)
    }
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            discovery_url: PRODUCTION_DISCOVERY_URL.into(),
            zone_override: None,
            timeout: Duration::from_secs(30),
            max_threads_per_entity: 3,
            max_attempts: 5,
            backoff_base: Duration::from_millis(250),
            backoff_cap: Duration::from_secs(20),
            threshold_check_every: 250,
            extra_hosts: Vec::new(),
            partner_id: None,
            ledger: None,
        }
    }
}
