//! The production Autotask REST client.
//!
//! - Zone discovery from the username, cached, re-discovered once on a 401 (zone moves).
//! - The three auth headers on every call; timeouts on every call.
//! - Never more than `max_threads_per_entity` concurrent calls per entity (Autotask allows 3
//!   per integration code and entity), queued locally instead of being refused remotely.
//! - Retries with exponential backoff and full jitter, only for idempotent calls (reads,
//!   PATCH/PUT), honouring `Retry-After`. Creates are never retried blindly.
//! - The hourly budget is read from ThresholdInformation every so often; the client paces
//!   itself from 50% of it, before Autotask starts slowing or refusing.
//! - Queries are POSTed and paged by id-walk (the documented, stateless way); large reads
//!   can be split into id ranges fetched in parallel within the thread limit.
//!
//! This file is the transport (zone, auth, slots, budget, retries); `client/read.rs` the
//! queries and paging, `client/write.rs` creates and updates.

mod options;
mod read;
mod write;

pub use options::{ClientOptions, PRODUCTION_DISCOVERY_URL};

pub use read::{PageSink, Row};

use super::endpoint::Destinations;
use super::entities::{ThresholdInfo, ZoneInfo};
use super::error::AutotaskError;
use super::http::{http_client, read_body, transport_error, MAX_BODY_BYTES};
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{RwLock, Semaphore};

/// An API user's credentials. The secret is a `secrecy` string: never printed, wiped on
/// drop, and read only where the header is written.
#[derive(Clone, Debug)]
pub struct Credentials {
    /// API username (the API-only user's email).
    pub username: String,
    /// API secret.
    pub secret: SecretString,
    /// API integration code (tracking identifier).
    pub integration_code: String,
}

impl Credentials {
    /// Credentials from plain strings (tests, the CLI, the embedded sandbox).
    pub fn new(username: impl Into<String>, secret: impl Into<String>, integration_code: impl Into<String>) -> Self {
        Self { username: username.into(), secret: SecretString::from(secret.into()), integration_code: integration_code.into() }
    }
}

/// Counters, for benchmarks and the sync history.
#[derive(Debug, Default)]
pub struct ClientStats {
    /// HTTP calls made to Autotask (including retries and zone discovery).
    pub calls: AtomicU64,
    /// Retries after a transient failure.
    pub retries: AtomicU64,
    /// Zone discoveries.
    pub discoveries: AtomicU64,
}

#[derive(Debug, Default)]
struct Budget {
    since_check: u64,
    usage: f64,
}

/// Live counts of a long fetch, readable while it runs (for progress bars).
#[derive(Debug, Default)]
pub struct FetchProgress {
    /// Records received so far.
    pub fetched: AtomicU64,
    /// Records expected (from `query/count`; 0 until known).
    pub expected: AtomicU64,
}

impl FetchProgress {
    fn add(progress: Option<&FetchProgress>, n: usize) {
        if let Some(p) = progress {
            p.fetched.fetch_add(n as u64, Ordering::Relaxed);
        }
    }
}

/// A page of results.
#[derive(Debug, Clone)]
pub struct Page {
    /// Items in id order.
    pub items: Vec<Value>,
}

/// The client for one Autotask API user.
pub struct AutotaskClient {
    http: reqwest::Client,
    creds: Credentials,
    opts: ClientOptions,
    destinations: Destinations,
    zone: RwLock<Option<ZoneInfo>>,
    slots: Mutex<HashMap<String, Arc<Semaphore>>>,
    budget: Mutex<Budget>,
    /// Counters.
    pub stats: ClientStats,
}

impl std::fmt::Debug for AutotaskClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AutotaskClient").field("creds", &self.creds).finish()
    }
}

impl AutotaskClient {
    /// A client with an HTTP client of its own; nothing is called until the first request.
    /// The server uses [`super::clients::AutotaskClients`] instead (one client per partner).
    pub fn new(creds: Credentials, opts: ClientOptions) -> Result<Self, AutotaskError> {
        Ok(Self::with_http(http_client(&opts.destinations())?, creds, opts, None))
    }

    /// A client over a shared HTTP client, starting from a zone already known (stored at
    /// the last discovery), so its first call needs no ZoneInformation round trip.
    pub fn with_http(http: reqwest::Client, creds: Credentials, opts: ClientOptions, known_zone: Option<ZoneInfo>) -> Self {
        let configured = opts.zone_override.as_ref().map(|url| ZoneInfo {
            zone_name: "Configured zone".into(),
            url: normalise_base(url),
            web_url: String::new(),
            ci: 0,
        });
        let zone = configured.or_else(|| known_zone.filter(|z| !z.url.is_empty()).map(|z| ZoneInfo { url: normalise_base(&z.url), ..z }));
        let destinations = opts.destinations();
        Self {
            http,
            creds,
            opts,
            destinations,
            zone: RwLock::new(zone),
            slots: Mutex::default(),
            budget: Mutex::default(),
            stats: ClientStats::default(),
        }
    }

    /// The API username this client uses.
    pub fn username(&self) -> &str {
        &self.creds.username
    }

    fn slot(&self, entity: &str) -> Arc<Semaphore> {
        let mut slots = self.slots.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        slots.entry(entity.to_ascii_lowercase()).or_insert_with(|| Arc::new(Semaphore::new(self.opts.max_threads_per_entity.max(1)))).clone()
    }

    fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        super::retry::backoff(self.opts.backoff_base, self.opts.backoff_cap, attempt, retry_after)
    }

    /// The zone, discovering it on first use. A zone whose address the allow-list refuses
    /// (an override or a stored zone from before the rule) is an error, never called.
    pub async fn zone(&self) -> Result<ZoneInfo, AutotaskError> {
        let known = self.zone.read().await.clone();
        let zone = match known {
            Some(zone) => zone,
            None => self.discover_zone().await?,
        };
        self.allowed(&zone.url)?;
        Ok(zone)
    }

    fn allowed(&self, url: &str) -> Result<(), AutotaskError> {
        self.destinations.check(url).map(drop).map_err(AutotaskError::Refused)
    }

    /// Asks ZoneInformation where this API user lives (no auth, not thread-limited).
    pub async fn discover_zone(&self) -> Result<ZoneInfo, AutotaskError> {
        if let Some(url) = &self.opts.zone_override {
            let zone = ZoneInfo { zone_name: "Configured zone".into(), url: normalise_base(url), web_url: String::new(), ci: 0 };
            *self.zone.write().await = Some(zone.clone());
            return Ok(zone);
        }
        self.stats.discoveries.fetch_add(1, Ordering::Relaxed);
        self.stats.calls.fetch_add(1, Ordering::Relaxed);
        let url = format!("{}V1.0/ZoneInformation", normalise_base(&self.opts.discovery_url));
        let response = self
            .http
            .get(&url)
            .timeout(self.opts.timeout)
            .query(&[("user", self.creds.username.as_str())])
            .send()
            .await
            .map_err(|e| self.transport_error(e))?;
        let status = response.status().as_u16();
        let body = read_body(response, MAX_BODY_BYTES, self.opts.timeout).await?;
        if status != 200 {
            return Err(AutotaskError::from_response(status, &body, &self.creds.username, None));
        }
        let zone: ZoneInfo = serde_json::from_str(&body).map_err(|e| AutotaskError::Malformed(format!("zone information: {e}")))?;
        if zone.url.is_empty() {
            return Err(AutotaskError::Malformed("zone information without a url".into()));
        }
        let zone = ZoneInfo { url: normalise_base(&zone.url), ..zone };
        self.allowed(&zone.url)?;
        *self.zone.write().await = Some(zone.clone());
        Ok(zone)
    }

    fn transport_error(&self, e: reqwest::Error) -> AutotaskError {
        transport_error(&e, self.opts.timeout)
    }

    async fn pace(&self) {
        let (check, usage) = {
            let mut b = self.budget.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            b.since_check += 1;
            let check = b.since_check == 1 || b.since_check > self.opts.threshold_check_every;
            if check {
                b.since_check = 1;
            }
            (check, b.usage)
        };
        let usage = if check {
            match self.raw_json(Method::GET, "ThresholdInformation", "ThresholdInformation", None, true).await {
                Ok(v) => {
                    let t: ThresholdInfo = serde_json::from_value(v).unwrap_or_default();
                    let u = if t.external_request_threshold > 0 {
                        t.current_timeframe_request_count as f64 / t.external_request_threshold as f64
                    } else {
                        0.0
                    };
                    self.budget.lock().unwrap_or_else(std::sync::PoisonError::into_inner).usage = u;
                    super::usage::budget_used(self.opts.partner_id, u);
                    if let (Some(ledger), Some(p)) = (&self.opts.ledger, self.opts.partner_id) {
                        ledger.budget(p, t.current_timeframe_request_count, t.external_request_threshold, crate::db::now_ms());
                    }
                    u
                }
                Err(_) => usage,
            }
        } else {
            usage
        };
        let delay = if usage >= 0.9 {
            Duration::from_secs(2)
        } else if usage >= 0.75 {
            Duration::from_millis(1_000)
        } else if usage >= 0.5 {
            Duration::from_millis(250)
        } else {
            Duration::ZERO
        };
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
    }

    /// One logical call: pacing, thread slot, retries, zone re-discovery.
    pub(super) async fn call(
        &self,
        method: Method,
        bucket: &str,
        path: &str,
        body: Option<&Value>,
        idempotent: bool,
    ) -> Result<Value, AutotaskError> {
        let text = self.call_text(method, bucket, path, body, idempotent).await?;
        serde_json::from_str::<Value>(&text).map_err(|e| AutotaskError::Malformed(format!("{e} in {} bytes", text.len())))
    }

    /// [`AutotaskClient::call`], returning the body unparsed (200 only).
    pub(super) async fn call_text(
        &self,
        method: Method,
        bucket: &str,
        path: &str,
        body: Option<&Value>,
        idempotent: bool,
    ) -> Result<String, AutotaskError> {
        self.pace().await;
        self.raw(method, bucket, path, body, idempotent).await
    }

    async fn raw_json(&self, method: Method, bucket: &str, path: &str, body: Option<&Value>, idempotent: bool) -> Result<Value, AutotaskError> {
        let text = self.raw(method, bucket, path, body, idempotent).await?;
        serde_json::from_str::<Value>(&text).map_err(|e| AutotaskError::Malformed(format!("{e} in {} bytes", text.len())))
    }

    async fn raw(&self, method: Method, bucket: &str, path: &str, body: Option<&Value>, idempotent: bool) -> Result<String, AutotaskError> {
        let mut rediscovered = false;
        let mut attempt = 0u32;
        loop {
            let zone = self.zone().await?;
            let url = format!("{}V1.0/{path}", zone.url);
            let result = {
                // Within this process's share of the thread limit when several instances
                // work the partner, then within the client's own.
                let _place = match super::share::Share::current() {
                    Some(share) => Some(share.enter(bucket).await),
                    None => None,
                };
                let slot = self.slot(bucket);
                let _permit = slot.acquire().await.map_err(|_| AutotaskError::Unavailable("client is shutting down".into()))?;
                self.stats.calls.fetch_add(1, Ordering::Relaxed);
                let started = std::time::Instant::now();
                let mut request = self
                    .http
                    .request(method.clone(), &url)
                    .timeout(self.opts.timeout)
                    .header("ApiIntegrationCode", &self.creds.integration_code)
                    .header("UserName", &self.creds.username)
                    .header("Secret", self.creds.secret.expose_secret())
                    .header("Content-Type", "application/json");
                if let Some(b) = body {
                    request = request.body(b.to_string());
                }
                let result = match request.send().await {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        let retry_after = response
                            .headers()
                            .get("retry-after")
                            .and_then(|v| v.to_str().ok())
                            .and_then(|s| s.parse::<u64>().ok())
                            .map(Duration::from_secs);
                        match read_body(response, MAX_BODY_BYTES, self.opts.timeout).await {
                            Ok(text) if status == 200 => Ok(text),
                            Ok(text) => Err(AutotaskError::from_response(status, &text, &self.creds.username, retry_after)),
                            Err(e) => Err(e),
                        }
                    }
                    Err(e) => Err(self.transport_error(e)),
                };
                let (outcome, elapsed) = (super::usage::outcome(&result), started.elapsed());
                super::usage::record(bucket, method.as_str(), outcome, elapsed.as_secs_f64());
                if let (Some(ledger), Some(p)) = (&self.opts.ledger, self.opts.partner_id) {
                    ledger.call(p, super::usage::current(), outcome, elapsed.as_millis() as i64, crate::db::now_ms());
                }
                result
            };
            match result {
                Ok(v) => return Ok(v),
                Err(AutotaskError::WrongSecret) if !rediscovered && self.opts.zone_override.is_none() => {
                    // The tenant may have moved zones: ask again once, then retry.
                    rediscovered = true;
                    tracing::info!(user = %self.creds.username, "401 from Autotask: re-discovering the zone");
                    self.discover_zone().await?;
                }
                Err(e) if e.is_transient() && idempotent && attempt + 1 < self.opts.max_attempts => {
                    let retry_after = match &e {
                        AutotaskError::Throttled { retry_after, .. } => *retry_after,
                        _ => None,
                    };
                    let wait = self.backoff(attempt, retry_after);
                    tracing::debug!(cause = e.cause(), attempt, ?wait, path, "transient Autotask failure; retrying");
                    self.stats.retries.fetch_add(1, Ordering::Relaxed);
                    attempt += 1;
                    tokio::time::sleep(wait).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// ThresholdInformation: the hourly budget and its use.
    pub async fn threshold(&self) -> Result<ThresholdInfo, AutotaskError> {
        let v = self.raw_json(Method::GET, "ThresholdInformation", "ThresholdInformation", None, true).await?;
        serde_json::from_value(v).map_err(|e| AutotaskError::Malformed(e.to_string()))
    }

    /// Counters snapshot: (calls, retries, discoveries).
    pub fn counters(&self) -> (u64, u64, u64) {
        (self.stats.calls.load(Ordering::Relaxed), self.stats.retries.load(Ordering::Relaxed), self.stats.discoveries.load(Ordering::Relaxed))
    }
}

fn normalise_base(url: &str) -> String {
    let trimmed = url.trim().trim_end_matches('/');
    let base = if trimmed.to_ascii_lowercase().ends_with("/atservicesrest") { trimmed.to_string() } else { format!("{trimmed}/ATServicesRest") };
    format!("{base}/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bases_end_in_atservicesrest_slash() {
        assert_eq!(normalise_base("https://webservices3.autotask.net/ATServicesRest/"), "https://webservices3.autotask.net/ATServicesRest/");
        assert_eq!(normalise_base("https://webservices3.autotask.net"), "https://webservices3.autotask.net/ATServicesRest/");
        assert_eq!(normalise_base("http://127.0.0.1:9/atservicesrest"), "http://127.0.0.1:9/atservicesrest/");
    }

    #[test]
    fn secrets_are_not_printed() {
        let c = Credentials::new("u", "hunter2", "c");
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
