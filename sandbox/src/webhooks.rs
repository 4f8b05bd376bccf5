//! Company webhooks as Autotask delivers them: a change to a company made by anyone not
//! excluded is called out to every active, ready webhook subscribed to it, as
//! `{Action, Guid, EntityType, Id, Fields, EventTime, SequenceNumber, PersonID}` signed
//! with `X-Hook-Signature: sha1=Base64(HMAC-SHA1(secretKey, body))`. Each webhook has its
//! own queue, delivered in order: a delivery times out after 10 s and is retried after
//! 30 s, at most 5 attempts; then it goes to `WebhookEventErrorLogs`, and after 25
//! consecutive failed deliveries the webhook is switched off and its deactivation URL is
//! told. Two webhooks of the same URL subscribed to the same event get one callout.
//! The timings are scaled by [`Hooks::set_time_scale`] for tests (the timeout never below
//! [`MIN_TIMEOUT`]).

pub mod payload;

use crate::store::{format_datetime, Record};
use crate::Sandbox;
use payload::Callout;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// A delivery times out after this long.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// However the timings are scaled, a delivery waits at least this long for an answer (a
/// scaled-down 10 ms would time out a busy test machine's answer, not test a timeout).
pub const MIN_TIMEOUT: Duration = Duration::from_secs(2);
/// A failed delivery is tried again after this long.
pub const RETRY_AFTER: Duration = Duration::from_secs(30);
/// Attempts per callout.
pub const ATTEMPTS: u32 = 5;
/// Consecutive failed callouts after which the webhook is switched off.
pub const DISABLE_AFTER: u32 = 25;

/// What a write did to a company, for the callouts it causes.
pub struct Change<'a> {
    /// `Create`, `Update` or `Delete`.
    pub action: &'static str,
    /// The record before (None on create).
    pub before: Option<&'a Record>,
    /// The record after (the deleted one on delete).
    pub after: &'a Record,
    /// The resource who made the change.
    pub person: i64,
}

/// Delivery counters and settings (`GET|PUT /_sandbox/webhooks`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HookStatus {
    /// Multiplies every delivery timing (1 = Autotask's 10 s / 30 s).
    pub time_scale: f64,
    /// Sign the .NET-escaped form of bodies whose strings .NET escapes (as real zones
    /// were seen to do), rather than the bytes sent.
    pub dotnet_escaped_signatures: bool,
    /// Callouts answered 2xx.
    pub delivered: u64,
    /// Attempts that failed (each retry counts).
    pub failed_attempts: u64,
    /// Callouts that failed every attempt.
    pub failed_callouts: u64,
    /// Callouts waiting in queues.
    pub queued: u64,
}

/// The delivery machinery of one sandbox.
pub struct Hooks {
    http: reqwest::Client,
    queues: Mutex<HashMap<i64, mpsc::UnboundedSender<Callout>>>,
    sequences: Mutex<HashMap<i64, i64>>,
    consecutive_failures: Mutex<HashMap<i64, u32>>,
    time_scale_bits: AtomicU64,
    escaped: std::sync::atomic::AtomicBool,
    delivered: AtomicU64,
    failed_attempts: AtomicU64,
    failed_callouts: AtomicU64,
    queued: AtomicU64,
}

impl Default for Hooks {
    fn default() -> Self {
        Self {
            http: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap_or_default(),
            queues: Mutex::default(),
            sequences: Mutex::default(),
            consecutive_failures: Mutex::default(),
            time_scale_bits: AtomicU64::new(1f64.to_bits()),
            escaped: std::sync::atomic::AtomicBool::new(true),
            delivered: AtomicU64::new(0),
            failed_attempts: AtomicU64::new(0),
            failed_callouts: AtomicU64::new(0),
            queued: AtomicU64::new(0),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Hooks {
    /// Counters and settings.
    pub fn status(&self) -> HookStatus {
        HookStatus {
            time_scale: self.time_scale(),
            dotnet_escaped_signatures: self.escaped.load(Ordering::SeqCst),
            delivered: self.delivered.load(Ordering::SeqCst),
            failed_attempts: self.failed_attempts.load(Ordering::SeqCst),
            failed_callouts: self.failed_callouts.load(Ordering::SeqCst),
            queued: self.queued.load(Ordering::SeqCst),
        }
    }

    /// Applies the settings of a `PUT /_sandbox/webhooks` (counters are ignored).
    pub fn configure(&self, status: &HookStatus) -> Result<(), String> {
        self.set_time_scale(status.time_scale)?;
        self.escaped.store(status.dotnet_escaped_signatures, Ordering::SeqCst);
        Ok(())
    }

    /// Scales every delivery timing (0.001 makes the 30 s retry 30 ms).
    pub fn set_time_scale(&self, scale: f64) -> Result<(), String> {
        if !(0.0001..=10.0).contains(&scale) {
            return Err(format!("time_scale must be between 0.0001 and 10, got {scale}"));
        }
        self.time_scale_bits.store(scale.to_bits(), Ordering::SeqCst);
        Ok(())
    }

    fn time_scale(&self) -> f64 {
        f64::from_bits(self.time_scale_bits.load(Ordering::SeqCst))
    }

    fn scaled(&self, d: Duration) -> Duration {
        d.mul_f64(self.time_scale())
    }

    fn next_sequence(&self, webhook_id: i64) -> i64 {
        let mut map = lock(&self.sequences);
        let n = map.entry(webhook_id).or_insert(0);
        *n += 1;
        *n
    }
}

impl Sandbox {
    /// Queues the callouts a company change causes (call with no tenant lock held).
    pub fn call_out(self: &Arc<Self>, change: &Change<'_>) {
        let callouts = {
            let tenant = self.read();
            payload::callouts(&tenant, change, &self.hooks, &format_datetime(chrono::Utc::now()))
        };
        for callout in callouts {
            self.enqueue(callout);
        }
    }

    fn enqueue(self: &Arc<Self>, callout: Callout) {
        let mut queues = lock(&self.hooks.queues);
        let webhook_id = callout.webhook_id;
        self.hooks.queued.fetch_add(1, Ordering::SeqCst);
        let sender = queues.entry(webhook_id).or_insert_with(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(deliver_queue(self.clone(), rx));
            tx
        });
        if let Err(mpsc::error::SendError(callout)) = sender.send(callout) {
            // The queue's task ended (a runtime shut down): start a new one.
            let (tx, rx) = mpsc::unbounded_channel();
            let _ = tx.send(callout);
            tokio::spawn(deliver_queue(self.clone(), rx));
            queues.insert(webhook_id, tx);
        }
    }

    fn webhook_active(&self, webhook_id: i64) -> bool {
        self.read().get("CompanyWebhooks", webhook_id).is_some_and(|w| w.get("isActive") == Some(&Value::Bool(true)))
    }
}

/// One webhook's queue, in order, until the sandbox goes away.
async fn deliver_queue(sb: Arc<Sandbox>, mut rx: mpsc::UnboundedReceiver<Callout>) {
    while let Some(callout) = rx.recv().await {
        sb.hooks.queued.fetch_sub(1, Ordering::SeqCst);
        // A webhook switched off (or deleted) since the change drops what is queued.
        if !sb.webhook_active(callout.webhook_id) {
            continue;
        }
        let mut error = String::new();
        let mut delivered = false;
        for attempt in 1..=ATTEMPTS {
            match post(&sb.hooks, &callout.url, &callout.body, &callout.signature).await {
                Ok(()) => {
                    delivered = true;
                    break;
                }
                Err(e) => {
                    sb.hooks.failed_attempts.fetch_add(1, Ordering::SeqCst);
                    error = e;
                }
            }
            if attempt < ATTEMPTS {
                tokio::time::sleep(sb.hooks.scaled(RETRY_AFTER)).await;
            }
        }
        if delivered {
            sb.hooks.delivered.fetch_add(1, Ordering::SeqCst);
            lock(&sb.hooks.consecutive_failures).insert(callout.webhook_id, 0);
            continue;
        }
        sb.hooks.failed_callouts.fetch_add(1, Ordering::SeqCst);
        sb.log_failure(&callout, &error);
        let failures = {
            let mut map = lock(&sb.hooks.consecutive_failures);
            let n = map.entry(callout.webhook_id).or_insert(0);
            *n += 1;
            *n
        };
        if failures >= DISABLE_AFTER {
            lock(&sb.hooks.consecutive_failures).insert(callout.webhook_id, 0);
            if let Some(notice) = sb.deactivate(callout.webhook_id) {
                let _ = post(&sb.hooks, &notice.url, &notice.body, &notice.signature).await;
            }
        }
    }
}

async fn post(hooks: &Hooks, url: &str, body: &str, signature: &str) -> Result<(), String> {
    let sent = hooks
        .http
        .post(url)
        .timeout(hooks.scaled(TIMEOUT).max(MIN_TIMEOUT))
        .header(http::header::CONTENT_TYPE, "application/json")
        .header("X-Hook-Signature", signature)
        .body(body.to_string())
        .send()
        .await;
    match sent {
        Ok(r) if r.status().is_success() => Ok(()),
        Ok(r) => Err(format!("The remote server returned an error: ({}) {}.", r.status().as_u16(), r.status().canonical_reason().unwrap_or(""))),
        Err(e) if e.is_timeout() => Err("The operation has timed out.".into()),
        Err(e) => Err(format!("Unable to connect to the remote server: {e}")),
    }
}

impl Sandbox {
    fn log_failure(&self, callout: &Callout, error: &str) {
        let mut entry = Record::new();
        entry.insert("accountWebhookID".into(), Value::from(callout.webhook_id));
        entry.insert("createDateTime".into(), Value::from(format_datetime(chrono::Utc::now())));
        entry.insert("errorMessage".into(), Value::from(error));
        entry.insert("payload".into(), Value::from(callout.body.as_str()));
        entry.insert("sequenceNumber".into(), Value::from(callout.sequence));
        self.write().insert("WebhookEventErrorLogs", entry);
        self.mark_dirty();
    }

    /// Switches a webhook off after too many failures; the notice for its deactivation URL.
    fn deactivate(&self, webhook_id: i64) -> Option<Callout> {
        let mut tenant = self.write();
        let mut hook = tenant.get("CompanyWebhooks", webhook_id).cloned()?;
        hook.insert("isActive".into(), Value::Bool(false));
        tenant.replace("CompanyWebhooks", webhook_id, hook.clone());
        drop(tenant);
        self.mark_dirty();
        tracing::info!(webhook_id, "webhook switched off after {DISABLE_AFTER} consecutive failed callouts");
        Some(payload::deactivation(&hook, &self.hooks, &format_datetime(chrono::Utc::now())))
    }
}
