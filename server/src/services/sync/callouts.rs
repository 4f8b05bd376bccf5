//! Callouts from the partner's Autotask webhook: verified (`X-Hook-Signature`, HMAC-SHA1
//! of the raw body, or of its .NET-escaped form as some zones sign), stored once before
//! they are answered, then applied by re-reading the companies from Autotask (a callout's
//! fields are not trusted) in coalesced batches: one read for every company that changed
//! in the window, however many callouts named it.

use super::SqlSync;
use crate::db::now_ms;
use crate::db::sync::callouts::{self as store, Claimed, NewCallout, Stored};
use crate::db::sync::webhooks;
use crate::workers::jobs::Progress;
use app::types::sync::SyncTrigger;
use base64::Engine;
use hmac::{Hmac, Mac};
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

/// Whether `signature` (`sha1=<base64>`) signs `body` with `secret`: the raw bytes first,
/// then the .NET-escaped text. Compared in constant time.
pub fn verify(secret: &str, body: &[u8], signature: Option<&str>) -> bool {
    let Some(given) = signature.and_then(|s| s.trim().strip_prefix("sha1=")) else { return false };
    let Ok(given) = base64::engine::general_purpose::STANDARD.decode(given) else { return false };
    let matches = |bytes: &[u8]| {
        Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).is_ok_and(|mut mac| {
            mac.update(bytes);
            mac.verify_slice(&given).is_ok()
        })
    };
    matches(body) || std::str::from_utf8(body).is_ok_and(|text| matches(escape_like_dotnet(text).as_bytes()))
}

/// The characters .NET's default JSON encoder writes as `\uXXXX` inside strings.
fn dotnet_escapes(c: char) -> bool {
    matches!(c, '&' | '<' | '>' | '\'' | '"' | '`' | '+') || !c.is_ascii()
}

/// JSON text re-escaped as .NET writes it: inside strings, the HTML-sensitive characters
/// and everything outside ASCII become `\uXXXX` (uppercase hex, UTF-16 units).
pub fn escape_like_dotnet(json: &str) -> String {
    let mut out = String::with_capacity(json.len() + json.len() / 8);
    let (mut in_string, mut escaped) = (false, false);
    for c in json.chars() {
        if !in_string {
            in_string = c == '"';
            out.push(c);
        } else if escaped {
            escaped = false;
            // An escaped quote is one of the characters .NET spells out.
            if c == '"' {
                out.pop();
                out.push_str("\\u0022");
            } else {
                out.push(c);
            }
        } else if c == '\\' {
            escaped = true;
            out.push(c);
        } else if c == '"' {
            in_string = false;
            out.push(c);
        } else if dotnet_escapes(c) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units).iter() {
                out.push_str(&format!("\\u{unit:04X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
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
            match self.apply_companies(partner_id, &companies).await {
                Ok(()) => {
                    store::finish(&self.db, &ids, "applied", now_ms()).await?;
                    store::counted(&self.db.pool, partner_id, ids.len() as i64, last).await?;
                }
                Err(reason) if callouts.iter().all(|c| now - c.received_at > GIVE_UP_MS) => {
                    tracing::warn!(partner_id, %reason, "webhook callouts given up; the polling round reads these companies");
                    store::finish(&self.db, &ids, "failed", now_ms()).await?;
                    store::counted(&self.db.pool, partner_id, ids.len() as i64, last).await?;
                }
                Err(reason) => {
                    tracing::info!(partner_id, %reason, "webhook callouts wait for another try");
                    store::release(&self.db, &ids, now + RETRY_MS).await?;
                    continue;
                }
            }
            settled += ids.len();
        }
        Ok(settled)
    }

    async fn apply_companies(&self, partner_id: i64, companies: &[i64]) -> Result<(), String> {
        let stored = super::store::get(&self.db, partner_id).await.map_err(|e| format!("database: {e}"))?;
        let client = self.settings.client(partner_id).await.map_err(|p| p.message)?;
        super::run_for(&self.db, &client, partner_id, &stored, SyncTrigger::Webhook, &Progress::default(), Some(companies)).await.map(|_| ())
    }

    /// Deletes callouts applied more than a week ago, a batch at a time.
    pub async fn prune_callouts(&self, now: i64) -> Result<u64, sqlx::Error> {
        store::prune(&self.db, now - 7 * 86_400_000, 10_000).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &str, text: &str) -> String {
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable!());
        mac.update(text.as_bytes());
        format!("sha1={}", base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()))
    }

    #[test]
    fn a_signature_over_the_raw_or_the_dotnet_escaped_body_verifies_and_nothing_else() {
        let body = r#"{"Action":"Update","Fields":{"CompanyName":"Müller & Söhne \"GmbH\""},"Id":7}"#;
        let escaped = r#"{"Action":"Update","Fields":{"CompanyName":"M\u00FCller \u0026 S\u00F6hne \u0022GmbH\u0022"},"Id":7}"#;
        assert_eq!(escape_like_dotnet(body), escaped);
        assert!(verify("s3cret", body.as_bytes(), Some(&sign("s3cret", body))));
        assert!(verify("s3cret", body.as_bytes(), Some(&sign("s3cret", escaped))));
        assert!(!verify("other", body.as_bytes(), Some(&sign("s3cret", body))), "wrong secret");
        assert!(!verify("s3cret", body.as_bytes(), None), "no header");
        assert!(!verify("s3cret", body.as_bytes(), Some(sign("s3cret", body).trim_start_matches("sha1="))), "no prefix");
        assert!(!verify("s3cret", b"{}", Some(&sign("s3cret", body))), "another body");
    }
}
