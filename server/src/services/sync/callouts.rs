//! Callouts from the partner's Autotask webhook: verified (`signature.rs`), stored once before
//! they are answered, then applied by re-reading the companies from Autotask (a callout's
//! fields are not trusted) in coalesced batches: one read for every company that changed
//! in the window, however many callouts named it.

use super::signature::verify;
use super::SqlSync;
use crate::db::now_ms;
use crate::db::sync::callouts::{self as store, Claimed, NewCallout, Stored};
use crate::db::sync::webhooks;
use crate::services::history::Finished;
use crate::workers::jobs::Progress;
use app::types::history::RunKind;
use app::types::sync::SyncTrigger;
use serde::Deserialize;
use std::collections::BTreeMap;

/// How long an instance holds the callouts it is applying.
const LEASE_MS: i64 = 60_000;
/// A batch that could not be applied (Autotask away) is tried again after this long.
const RETRY_MS: i64 = 30_000;
/// After this long a callout that still cannot be applied is given up (the next polling
/// round reads the company anyway).
const GIVE_UP_MS: i64 = 6 * 3_600_000;
/// Callouts claimed at a time.
const CLAIM: i64 = 5_000;

/// What a callout got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Receipt {
    /// Stored, to be applied.
    Accepted,
    /// Seen before (a replay, or superseded by a later sequence): nothing to do.
    AlreadyHad,
    /// The deactivation notice was recorded.
    Deactivated,
    /// No webhook has this URL.
    Unknown,
    /// The signature does not match the secret.
    BadSignature,
    /// Not a callout Taskbridge can read.
    Malformed,
    /// The database could not take it (Autotask retries).
    Unavailable,
}

/// A batch of callouts being applied.
struct Delivery {
    callouts: usize,
    companies: usize,
    started_at: i64,
    /// What its server log lines carry.
    log_key: String,
}

/// The callout's envelope (Autotask's casing; Nango spells it `PersonId`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Payload {
    action: String,
    guid: String,
    id: i64,
    #[serde(default)]
    sequence_number: i64,
}

impl SqlSync {
    /// Takes one callout (or, with `deactivation`, the notice that Autotask switched the
    /// webhook off) for the webhook at `route_key`.
    pub async fn receive(&self, route_key: &str, body: &[u8], signature: Option<&str>, deactivation: bool) -> Receipt {
        let now = now_ms();
        let webhook = match webhooks::by_route(&self.db, route_key).await {
            Ok(Some(w)) => w,
            Ok(None) => return Receipt::Unknown,
            Err(e) => {
                tracing::warn!(error = %e, "a webhook callout could not be looked up");
                return Receipt::Unavailable;
            }
        };
        let Ok(secret) = self.instant.key.decrypt(&webhook.secret_sealed, &super::instant::secret_context(webhook.partner_id)) else {
            tracing::error!(partner_id = webhook.partner_id, "the webhook secret cannot be unsealed (master key changed?)");
            return Receipt::Unavailable;
        };
        if !verify(&secret, body, signature) {
            tracing::warn!(partner_id = webhook.partner_id, "a webhook callout with a wrong signature was refused");
            let _ = webhooks::bad_signature(&self.db, route_key, now).await;
            return Receipt::BadSignature;
        }
        if deactivation {
            return match webhooks::deactivated(&self.db, route_key, now).await {
                Ok(()) => Receipt::Deactivated,
                Err(_) => Receipt::Unavailable,
            };
        }
        let Ok(payload) = serde_json::from_slice::<Payload>(body) else { return Receipt::Malformed };
        if !payload.guid.eq_ignore_ascii_case(&webhook.webhook_guid) {
            return Receipt::Unknown;
        }
        let callout = NewCallout {
            partner_id: webhook.partner_id,
            guid: webhook.webhook_guid,
            sequence: payload.sequence_number,
            company_id: payload.id,
            action: payload.action,
            received_at: now,
        };
        match store::store(&self.db, &callout).await {
            Ok(Stored::Pending) => {
                self.instant.wake.notify_one();
                Receipt::Accepted
            }
            Ok(Stored::Duplicate | Stored::Superseded) => Receipt::AlreadyHad,
            Err(e) => {
                tracing::warn!(error = %e, "a webhook callout could not be stored");
                Receipt::Unavailable
            }
        }
    }

    /// Applies the pending callouts this instance can claim: per partner, one re-read of
    /// the companies they name. Returns how many callouts were settled.
    pub async fn apply_callouts(&self, now: i64) -> Result<usize, sqlx::Error> {
        let claimed = store::claim(&self.db, now, now + LEASE_MS, CLAIM).await?;
        let mut by_partner: BTreeMap<i64, Vec<Claimed>> = BTreeMap::new();
        for c in claimed {
            by_partner.entry(c.partner_id).or_default().push(c);
        }
        let mut settled = 0;
        for (partner_id, callouts) in by_partner {
            let ids: Vec<i64> = callouts.iter().map(|c| c.callout_id).collect();
            let mut companies: Vec<i64> = callouts.iter().map(|c| c.company_id).collect();
            companies.sort_unstable();
            companies.dedup();
            let last = callouts.iter().map(|c| c.received_at).max().unwrap_or(now);
            let (started_at, progress) = (now_ms(), Progress::default());
            let (log_key, span) = crate::services::history::log_span(RunKind::Webhook);
            let delivery = Delivery { callouts: ids.len(), companies: companies.len(), started_at, log_key };
            match tracing::Instrument::instrument(self.apply_companies(partner_id, &companies, &progress), span).await {
                Ok(message) => {
                    store::finish(&self.db, &ids, "applied", now_ms()).await?;
                    store::counted(&self.db.pool, partner_id, ids.len() as i64, last).await?;
                    self.record_delivery(partner_id, &delivery, &progress, Ok(message)).await;
                }
                Err(reason) if callouts.iter().all(|c| now - c.received_at > GIVE_UP_MS) => {
                    tracing::warn!(partner_id, %reason, "webhook callouts given up; the polling round reads these companies");
                    store::finish(&self.db, &ids, "failed", now_ms()).await?;
                    store::counted(&self.db.pool, partner_id, ids.len() as i64, last).await?;
                    self.record_delivery(partner_id, &delivery, &progress, Err(reason)).await;
                }
                Err(reason) => {
                    // Not a run yet: it is tried again, and recorded once it is settled.
                    tracing::info!(partner_id, %reason, "webhook callouts wait for another try");
                    store::release(&self.db, &ids, now + RETRY_MS).await?;
                    continue;
                }
            }
            settled += ids.len();
        }
        Ok(settled)
    }

    async fn apply_companies(&self, partner_id: i64, companies: &[i64], progress: &Progress) -> Result<String, String> {
        super::run_companies(&self.db, &self.settings, partner_id, SyncTrigger::Webhook, progress, companies).await.map(|r| r.message)
    }

    /// A settled batch of callouts as a run in the History, with its companies' lines.
    async fn record_delivery(&self, partner_id: i64, delivery: &Delivery, progress: &Progress, outcome: Result<String, String>) {
        use app::format::count_of;
        let (done, skipped, failed) = progress.counts();
        let what = format!(
            "{} about {}",
            count_of(delivery.callouts as i64, "callout", "callouts"),
            count_of(delivery.companies as i64, "company", "companies")
        );
        let summary = match &outcome {
            Ok(message) => format!("{what}: {message}"),
            Err(reason) => format!("{what} given up after 6 hours (the next polling round reads these companies): {reason}"),
        };
        let run = Finished {
            kind: RunKind::Webhook,
            started_by: "webhook",
            started_at: delivery.started_at,
            stopped: outcome.is_err(),
            done,
            skipped,
            failed,
            summary: &summary,
            retry_of: None,
            log_key: &delivery.log_key,
        };
        self.history.record(partner_id, run, &progress.take_lines()).await;
    }

    /// Deletes callouts applied more than a week ago, a batch at a time.
    pub async fn prune_callouts(&self, now: i64) -> Result<u64, sqlx::Error> {
        store::prune(&self.db, now - 7 * 86_400_000, 10_000).await
    }
}
