//! Instant updates: Taskbridge registers an Autotask company webhook that calls
//! `{TASKBRIDGE_PUBLIC_URL}/hooks/autotask/{route key}` when a company's synced details
//! change, following Autotask's documented steps one call at a time (the thread limit):
//! the webhook with a fresh secret, the fields the sync needs (their ids read from the
//! `fieldID` picklist), and Taskbridge's own API user as an excluded resource so its own
//! writes do not echo back. The secret is sealed by the master key; switching off deletes
//! the webhook in Autotask. Polling goes on either way (contracts have no webhooks).

use super::SqlSync;
use crate::autotask::entities::{CompanyWebhook, Resource};
use crate::autotask::{AutotaskClient, AutotaskError, Filter, Query};
use crate::crypto::random_token;
use crate::db::now_ms;
use crate::db::sync::{callouts, webhooks as store};
use crate::error::{autotask_problem, SqlxResultExt};
use app::error::AppError;
use app::types::sync::{InstantUpdates, RegisteredWebhook};
use app::types::CurrentUser;
use serde_json::json;

/// The webhook's name in Autotask.
pub const WEBHOOK_NAME: &str = "Taskbridge customer sync";
/// The company fields a callout is made for: those the sync writes (labels of Autotask's
/// `CompanyWebhookFields.fieldID` picklist).
pub const FIELDS: &[&str] = &[
    "Company Name",
    "Company Type",
    "Active",
    "Address 1",
    "Address 2",
    "City",
    "State",
    "Postal Code",
    "Country",
    "Phone",
    "Alternate Phone 1",
    "Alternate Phone 2",
    "Fax",
    "Web Address",
];

/// The sealing context of a partner's webhook secret.
pub fn secret_context(partner_id: i64) -> String {
    format!("partner:{partner_id}:webhook_secret")
}

impl SqlSync {
    /// Where callouts go: the public address's `/hooks/autotask/` (None without one).
    pub fn callout_base(&self) -> Option<String> {
        self.instant.public_url.as_deref().map(|u| format!("{}/hooks/autotask/", u.trim_end_matches('/')))
    }

    pub(super) async fn instant_status(&self, partner_id: i64) -> Result<InstantUpdates, AppError> {
        let webhook = store::get(&self.db, partner_id).await.internal()?.map(|w| RegisteredWebhook {
            webhook_id: w.webhook_id,
            url: w.url,
            registered_at: w.registered_at,
            registered_by: w.registered_by,
            deactivated_at: w.deactivated_at,
            callouts: w.callouts,
            last_callout_at: w.last_callout_at,
            bad_signatures: w.bad_signatures,
            last_bad_signature_at: w.last_bad_signature_at,
        });
        let pending = callouts::pending(&self.db, partner_id).await.internal()?;
        Ok(InstantUpdates { callout_base: self.callout_base(), webhook, pending })
    }

    pub(super) async fn register(&self, actor: &CurrentUser, confirmed: &str) -> Result<InstantUpdates, AppError> {
        let Some(base) = self.callout_base() else {
            return Err(AppError::invalid(
                "instant",
                "Taskbridge has no public address: set TASKBRIDGE_PUBLIC_URL to the https address Autotask can reach, and restart.",
            ));
        };
        if confirmed.trim() != base {
            return Err(AppError::invalid("instant", format!("Confirm the address Autotask will call: {base}")));
        }
        let input = super::store::get(&self.db, actor.partner_id).await.internal()?.settings.input;
        if !input.customers && !input.contracts {
            return Err(AppError::invalid("instant", "Switch on Active customers or Active customer contracts first."));
        }
        let client = self.settings.client(actor.partner_id).await.map_err(|p| AppError::invalid("connection", p.message))?;
        // One webhook per partner: an earlier one goes first, so no change is called out twice.
        if let Some(old) = store::get(&self.db, actor.partner_id).await.internal()? {
            delete_webhook(&client, old.webhook_id).await.map_err(autotask_problem)?;
            store::remove(&self.db, actor.partner_id).await.internal()?;
        }
        let route_key = random_token(24);
        let secret = random_token(36);
        let url = format!("{base}{route_key}");
        let created = create_webhook(&client, &url, &secret).await;
        let (webhook_id, guid) = match created {
            Ok(done) => done,
            Err((id, e)) => {
                if let Some(id) = id {
                    // Half made: take it away again rather than leave a callout nobody reads.
                    let _ = delete_webhook(&client, id).await;
                }
                return Err(autotask_problem(e));
            }
        };
        let now = now_ms();
        let row = store::Webhook {
            partner_id: actor.partner_id,
            route_key,
            webhook_id,
            webhook_guid: guid,
            secret_sealed: self.instant.key.encrypt(&secret, &secret_context(actor.partner_id)),
            url: url.clone(),
            registered_at: now,
            registered_by: actor.email.clone(),
            deactivated_at: None,
            callouts: 0,
            last_callout_at: None,
            bad_signatures: 0,
            last_bad_signature_at: None,
        };
        store::save(&self.db, &row).await.internal()?;
        let what = format!("Instant updates on: Autotask company webhook {webhook_id} calls {url}");
        let _ = crate::db::audit::record(&self.db.pool, actor.partner_id, &actor.email, "sync_settings", &what).await;
        self.instant_status(actor.partner_id).await
    }

    pub(super) async fn unregister(&self, actor: &CurrentUser) -> Result<InstantUpdates, AppError> {
        let Some(old) = store::get(&self.db, actor.partner_id).await.internal()? else {
            return self.instant_status(actor.partner_id).await;
        };
        let client = self.settings.client(actor.partner_id).await.map_err(|p| AppError::invalid("connection", p.message))?;
        delete_webhook(&client, old.webhook_id).await.map_err(autotask_problem)?;
        store::remove(&self.db, actor.partner_id).await.internal()?;
        let what = format!("Instant updates off: Autotask company webhook {} deleted", old.webhook_id);
        let _ = crate::db::audit::record(&self.db.pool, actor.partner_id, &actor.email, "sync_settings", &what).await;
        self.instant_status(actor.partner_id).await
    }
}

/// Autotask's four steps, one call at a time. On failure, the webhook's id if it was made.
async fn create_webhook(client: &AutotaskClient, url: &str, secret: &str) -> Result<(i64, String), (Option<i64>, AutotaskError)> {
    let field_ids = client.picklist("CompanyWebhookFields", "fieldID").await.map_err(|e| (None, e))?;
    let wanted: Vec<i64> =
        FIELDS.iter().filter_map(|label| field_ids.iter().find(|v| v.label.eq_ignore_ascii_case(label)).and_then(|v| v.value.parse().ok())).collect();
    if wanted.is_empty() {
        return Err((None, AutotaskError::Malformed("Autotask lists none of the company fields the sync needs as webhook fields".into())));
    }
    let id = client
        .create(
            "CompanyWebhooks",
            &json!({"name": WEBHOOK_NAME, "webhookUrl": url, "deactivationUrl": format!("{url}/deactivated"), "secretKey": secret,
                    "isActive": true, "isSubscribedToCreateEvents": true, "isSubscribedToUpdateEvents": true,
                    "isSubscribedToDeleteEvents": false, "sendThresholdExceededNotification": true}),
        )
        .await
        .map_err(|e| (None, e))?;
    let steps = async {
        for field in &wanted {
            let body = json!({"webhookID": id, "fieldID": field, "isSubscribedField": true, "isDisplayAlwaysField": false});
            client.create_child("CompanyWebhooks", id, "Fields", "CompanyWebhookFields", &body).await?;
        }
        let me: Vec<Resource> = client.query(&Query::new([Filter::eq("userName", client.username())])).await?;
        if let Some(me) = me.first() {
            let body = json!({"webhookID": id, "resourceID": me.id});
            client.create_child("CompanyWebhooks", id, "ExcludedResources", "CompanyWebhookExcludedResources", &body).await?;
        }
        let made = client.get::<CompanyWebhook>(id).await?.ok_or_else(|| AutotaskError::Malformed("the new webhook cannot be read back".into()))?;
        made.webhook_guid.filter(|g| !g.is_empty()).ok_or_else(|| AutotaskError::Malformed("the new webhook has no webhookGUID".into()))
    };
    steps.await.map(|guid| (id, guid)).map_err(|e| (Some(id), e))
}

/// Deletes the webhook; one already gone counts as deleted.
async fn delete_webhook(client: &AutotaskClient, id: i64) -> Result<(), AutotaskError> {
    match client.delete("CompanyWebhooks", &format!("CompanyWebhooks/{id}")).await {
        Ok(_) => Ok(()),
        Err(e) if e.to_string().contains("No matching records") => Ok(()),
        Err(e) => Err(e),
    }
}
