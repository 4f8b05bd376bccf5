//! Billing settings: "Retrieve services" (monthly ones eligible, the rest shown with the
//! reason) and each product's service and rounding, the cached preview, and the push
//! engine's entry points (`push.rs` with `pricing.rs`, `undo.rs`, `history.rs`).

pub mod history;
mod pricing;
pub mod push;
pub mod undo;

use crate::autotask::entities::Service;
use crate::autotask::{AutotaskClient, AutotaskError, Filter, Query};
use crate::db::audit::{self, Change};
use crate::db::{now_ms, Db};
use crate::error::{autotask_problem, SqlxResultExt};
use crate::services::connection::SqlAutotaskSettings;
use crate::services::user_calls::UserCall;
use app::error::AppError;
use app::services::BillingService;
use app::types::billing::{
    product, BillingSchedule, BillingSettings, PreviewQuery, ProductMapping, PushLine, PushPreview, PushResult, PushRun, PushSelection,
    ServiceOption, PRODUCTS,
};
use app::types::history::diff;
use app::types::money::Money;
use app::types::CurrentUser;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The label of the only period type usage can be billed on.
const MONTHLY: &str = "Monthly";

/// Billing settings on SQL, checked against the partner's Autotask.
#[derive(Clone)]
pub struct SqlBilling {
    db: Db,
    settings: SqlAutotaskSettings,
    /// The last preview per partner, so paging and filtering do not read Autotask again
    /// (a large partner's preview is hundreds of calls). Dropped by anything that
    /// changes what a push would do here; other changes show within [`PREVIEW_FRESH_MS`].
    previews: Arc<Mutex<HashMap<i64, Arc<PushPreview>>>>,
}

/// How long a preview is reused for paging and filtering.
pub const PREVIEW_FRESH_MS: i64 = 2 * 60_000;

/// Every service of the partner's Autotask with its eligibility, eligible ones first.
pub async fn service_options(client: &AutotaskClient, only: Option<&[i64]>) -> Result<Vec<ServiceOption>, AutotaskError> {
    let periods = client.picklist("Services", "periodType").await?;
    let period_label = |v: Option<i64>| -> String {
        v.and_then(|v| periods.iter().find(|p| p.value.trim().parse::<i64>().ok() == Some(v)))
            .map_or_else(|| "Unknown period".to_string(), |p| p.label.clone())
    };
    let filter = match only {
        Some(ids) => Filter::is_in("id", ids.iter().copied()),
        None => Filter::all(),
    };
    let services: Vec<Service> = client.query(&Query::new([filter])).await?;
    let mut out: Vec<ServiceOption> = services
        .into_iter()
        .map(|s| {
            let period = period_label(s.period_type);
            let reason = if s.is_active == Some(false) {
                Some("Inactive in Autotask.".to_string())
            } else if !period.eq_ignore_ascii_case(MONTHLY) {
                Some(format!("Billed {}: usage is monthly, so only monthly services can carry it.", period.to_lowercase()))
            } else {
                None
            };
            ServiceOption {
                service_id: s.id,
                name: s.name.unwrap_or_else(|| format!("Service {}", s.id)),
                period,
                unit_price: Money::from_f64(s.unit_price.unwrap_or_default()),
                eligible: reason.is_none(),
                reason,
            }
        })
        .collect();
    out.sort_by(|a, b| b.eligible.cmp(&a.eligible).then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase())));
    Ok(out)
}

impl SqlBilling {
    /// On this database, reading services through the partner's connection.
    pub fn new(db: Db, settings: SqlAutotaskSettings) -> Self {
        Self { db, settings, previews: Arc::default() }
    }

    /// The cache (a panic elsewhere while holding it leaves nothing half-written in it).
    fn previews(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Arc<PushPreview>>> {
        self.previews.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn cached_preview(&self, partner_id: i64, now: i64) -> Option<Arc<PushPreview>> {
        self.previews().get(&partner_id).filter(|p| now - p.computed_at < PREVIEW_FRESH_MS).cloned()
    }

    fn forget_preview(&self, partner_id: i64) {
        self.previews().remove(&partner_id);
    }

    async fn client(&self, partner_id: i64) -> Result<Arc<AutotaskClient>, AppError> {
        Ok(self.settings.client(partner_id).await?)
    }
}

#[async_trait::async_trait]
impl BillingService for SqlBilling {
    async fn settings(&self, partner_id: i64) -> Result<BillingSettings, AppError> {
        let mut saved: HashMap<String, ProductMapping> = HashMap::new();
        let mut updated: Option<(i64, String)> = None;
        for r in crate::db::billing::mappings(&self.db, partner_id).await.internal()? {
            if updated.as_ref().is_none_or(|(t, _)| r.updated_at > *t) {
                updated = Some((r.updated_at, r.updated_by.clone()));
            }
            let m = r.mapping();
            saved.insert(m.product.clone(), m);
        }
        Ok(BillingSettings {
            mappings: PRODUCTS.iter().map(|p| saved.remove(p.code).unwrap_or_else(|| ProductMapping::unmapped(p.code))).collect(),
            updated_at: updated.as_ref().map(|u| u.0),
            updated_by: updated.map(|u| u.1),
        })
    }

    async fn services(&self, partner_id: i64) -> Result<Vec<ServiceOption>, AppError> {
        self.settings.spend(partner_id, UserCall::Services)?;
        let client = self.client(partner_id).await?;
        service_options(&client, None).await.map_err(autotask_problem)
    }

    async fn save_settings(&self, actor: &CurrentUser, mappings: Vec<ProductMapping>) -> Result<BillingSettings, AppError> {
        self.forget_preview(actor.partner_id);
        for (i, m) in mappings.iter().enumerate() {
            m.validate(i)?;
            if mappings[..i].iter().any(|o| o.product == m.product) {
                return Err(AppError::invalid(
                    &format!("mappings[{i}].product"),
                    format!("{} is listed twice.", product(&m.product).map_or(m.product.as_str(), |p| p.label)),
                ));
            }
        }
        // Mapped services must exist, be active and monthly in the partner's Autotask.
        let ids: Vec<i64> = mappings.iter().filter_map(|m| m.service_id).collect();
        let mut names: HashMap<i64, String> = HashMap::new();
        if !ids.is_empty() {
            let client = self.client(actor.partner_id).await?;
            let found = service_options(&client, Some(&ids)).await.map_err(autotask_problem)?;
            for (i, m) in mappings.iter().enumerate() {
                let Some(id) = m.service_id else { continue };
                let label = product(&m.product).map_or(m.product.as_str(), |p| p.label);
                match found.iter().find(|s| s.service_id == id) {
                    None => {
                        return Err(AppError::invalid(
                            &format!("mappings[{i}].service_id"),
                            format!("Autotask has no service {id} for {label}. Retrieve services and choose again."),
                        ))
                    }
                    Some(s) if !s.eligible => {
                        return Err(AppError::invalid(
                            &format!("mappings[{i}].service_id"),
                            format!("{} cannot bill {label}: {}", s.name, s.reason.clone().unwrap_or_default()),
                        ))
                    }
                    Some(s) => {
                        names.insert(id, s.name.clone());
                    }
                }
            }
        }
        let before = self.settings(actor.partner_id).await?.mappings;
        let after: Vec<ProductMapping> =
            mappings.iter().map(|m| ProductMapping { service_name: m.service_id.and_then(|id| names.get(&id).cloned()), ..m.clone() }).collect();
        let changes = mapping_changes(&before, &after);
        let now = now_ms();
        let mut tx = self.db.begin().await.internal()?;
        for m in &mappings {
            let name = m.service_id.and_then(|id| names.get(&id).map(String::as_str));
            crate::db::billing::save_mapping(&mut tx, actor.partner_id, m, name, &actor.email, now).await.internal()?;
        }
        let summary: Vec<String> = mappings
            .iter()
            .map(|m| {
                format!(
                    "{} \u{2192} {}",
                    product(&m.product).map_or(m.product.as_str(), |p| p.label),
                    m.service_id.and_then(|id| names.get(&id).cloned()).unwrap_or_else(|| "Do not map".into())
                )
            })
            .collect();
        let summary = format!("Billing settings saved: {}", summary.join("; "));
        audit::record_change(
            &mut *tx,
            actor.partner_id,
            &actor.email,
            "billing.settings",
            &summary,
            &Change { customer_id: None, changes: &changes },
        )
        .await?;
        tx.commit().await.internal()?;
        self.settings(actor.partner_id).await
    }

    async fn preview(&self, partner_id: i64, query: PreviewQuery) -> Result<PushPreview, AppError> {
        let full = match self.cached_preview(partner_id, now_ms()).filter(|_| !query.refresh) {
            Some(full) => full,
            None => {
                if query.refresh {
                    self.settings.spend(partner_id, UserCall::RefreshPreview)?;
                }
                let client = self.client(partner_id).await?;
                let mut full = push::preview(&self.db, &client, partner_id, None).await.map_err(push_problem)?;
                full.currency = push::internal_currency(&client).await;
                let full = Arc::new(full);
                self.previews().insert(partner_id, full.clone());
                full
            }
        };
        let hold_above = query.hold.resolve(self.schedule(partner_id).await?.hold_above);
        Ok(query.page_of(&full, hold_above))
    }

    async fn apply(&self, actor: &CurrentUser, selection: PushSelection, retry_of: Option<i64>) -> Result<PushResult, AppError> {
        if selection.held_only && selection.hold_above.is_none() {
            return Err(AppError::invalid("hold_above", "Say which changes to approve: those of more than how many units."));
        }
        let client = self.client(actor.partner_id).await?;
        self.forget_preview(actor.partner_id);
        // The History records the push (push.rs); nothing is written twice here.
        push::apply(&self.db, &client, actor.partner_id, &actor.email, &selection, retry_of).await.map_err(push_problem)
    }

    async fn history(&self, partner_id: i64) -> Result<Vec<PushRun>, AppError> {
        history::history(&self.db, partner_id).await.internal()
    }

    async fn push_lines(&self, partner_id: i64, push_id: i64) -> Result<Vec<PushLine>, AppError> {
        history::lines(&self.db, partner_id, push_id).await.internal()
    }

    async fn undo(&self, actor: &CurrentUser, push_id: i64) -> Result<PushResult, AppError> {
        let client = self.client(actor.partner_id).await?;
        self.forget_preview(actor.partner_id);
        undo::undo(&self.db, &client, actor.partner_id, &actor.email, push_id).await.map_err(push_problem)
    }

    async fn schedule(&self, partner_id: i64) -> Result<BillingSchedule, AppError> {
        crate::db::billing_schedule::get(&self.db, partner_id).await.internal()
    }

    async fn save_schedule(&self, actor: &CurrentUser, schedule: BillingSchedule) -> Result<BillingSchedule, AppError> {
        schedule.validate()?;
        self.forget_preview(actor.partner_id);
        let shown = |s: &BillingSchedule| serde_json::json!({"Push every (hours)": s.every_hours, "Hold changes above (units)": s.hold_above, "Add missing services": s.allow_add_service});
        let changes = diff(&shown(&self.schedule(actor.partner_id).await?), &shown(&schedule));
        let now = now_ms();
        let mut tx = self.db.begin().await.internal()?;
        crate::db::billing_schedule::save(&mut tx, actor, &schedule, now).await.internal()?;
        let hold = schedule.hold_above.map(|h| format!(", holding changes above {h} units")).unwrap_or_default();
        let summary = format!(
            "Automatic pushes every {} hours{hold}; adding missing services {}",
            schedule.every_hours,
            if schedule.allow_add_service { "allowed" } else { "not allowed" }
        );
        audit::record_change(
            &mut *tx,
            actor.partner_id,
            &actor.email,
            "billing.schedule",
            &summary,
            &Change { customer_id: None, changes: &changes },
        )
        .await?;
        tx.commit().await.internal()?;
        self.schedule(actor.partner_id).await
    }
}

/// What changed in the product mappings, product by product.
fn mapping_changes(before: &[ProductMapping], after: &[ProductMapping]) -> Vec<app::types::history::SettingChange> {
    let shown = |ms: &[ProductMapping]| {
        let by_product: serde_json::Map<String, serde_json::Value> = ms
            .iter()
            .map(|m| {
                let label = product(&m.product).map_or(m.product.clone(), |p| p.label.to_string());
                let service = m.service_name.clone().unwrap_or_else(|| if m.service_id.is_some() { "?".into() } else { "Do not map".into() });
                (label, serde_json::json!({"Service": service, "Rounding": m.rounding, "Unit size": m.unit_size}))
            })
            .collect();
        serde_json::Value::Object(by_product)
    };
    diff(&shown(before), &shown(after))
}

fn push_problem(e: push::PushError) -> AppError {
    match e {
        push::PushError::Db(e) => crate::error::internal(e),
        other => AppError::Conflict(other.to_string()),
    }
}
