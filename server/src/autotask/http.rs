//! The HTTP client every Autotask call of the process shares (one connection pool), and
//! how an answer's body is read.
//!
//! - Redirects are never followed: a redirect would carry the credentials headers to an
//!   address nobody checked. Autotask's API does not redirect; a 3xx is an error.
//! - No proxy from the environment: the allow-list and the resolver decide where calls go.
//! - The DNS resolver refuses internal addresses ([`super::endpoint::GuardedResolver`]).
//! - A body is read up to [`MAX_BODY_BYTES`]; a larger one is an error, not an
//!   out-of-memory.

use super::endpoint::{Destinations, GuardedResolver};
use super::error::AutotaskError;
use std::sync::Arc;
use std::time::Duration;

/// The largest answer read from Autotask (a 500-record page of wide records is ~2 MiB).
pub const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// The shared HTTP client for calls allowed by `destinations`. Timeouts are set per
/// request, from each Autotask client's options.
pub fn http_client(destinations: &Destinations) -> Result<reqwest::Client, AutotaskError> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .user_agent(concat!("Taskbridge/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(Arc::new(GuardedResolver::new(destinations.configured_host())))
        .build()
        .map_err(|e| AutotaskError::Unavailable(format!("could not build the HTTP client: {e}")))
}

/// Reads a body as text, refusing one over `cap` bytes (announced or streamed).
pub async fn read_body(mut response: reqwest::Response, cap: usize, timeout: Duration) -> Result<String, AutotaskError> {
    let too_big = || AutotaskError::Malformed(format!("the answer is larger than {} MiB", cap / (1024 * 1024)));
    if response.content_length().is_some_and(|n| n > cap as u64) {
        return Err(too_big());
    }
    let mut bytes: Vec<u8> = Vec::with_capacity(response.content_length().map_or(8 * 1024, |n| n as usize));
    while let Some(chunk) = response.chunk().await.map_err(|e| transport_error(&e, timeout))? {
        if bytes.len() + chunk.len() > cap {
            return Err(too_big());
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes).map_err(|_| AutotaskError::Malformed("the answer is not UTF-8 text".into()))
}

/// What a failed request means to a partner. The address is not repeated (it is the
/// partner's zone, shown on the Setup page); the whole error chain goes to the debug log.
pub fn transport_error(e: &reqwest::Error, timeout: Duration) -> AutotaskError {
    if e.is_timeout() {
        return AutotaskError::Timeout(timeout);
    }
    if e.is_decode() || e.is_body() {
        return AutotaskError::Malformed("the answer was cut off".into());
    }
    let mut chain = Vec::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        chain.push(s.to_string());
        source = s.source();
    }
    tracing::debug!(error = %e, chain = ?chain, "Autotask request failed");
    if chain.iter().any(|c| c.contains(INTERNAL_ONLY)) {
        AutotaskError::Refused("the zone's name resolves to an internal address".into())
    } else if e.is_connect() {
        AutotaskError::Unavailable("could not reach Autotask (the connection failed)".into())
    } else {
        AutotaskError::Unavailable("could not reach Autotask (the request failed)".into())
    }
}

/// What the resolver says when it refuses a name (recognised in the error chain).
pub const INTERNAL_ONLY: &str = "resolves only to internal addresses";
