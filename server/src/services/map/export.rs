//! The Customer Map as CSV: one line per link, and one per unmatched customer.

use crate::db::Db;
use crate::error::{internal, SqlxResultExt};
use crate::exports::{Cell, CsvBuilder};
use app::error::AppError;
use app::types::CurrentUser;

/// The whole map as CSV.
pub async fn csv(db: &Db, partner_id: i64) -> Result<String, AppError> {
    let lines = crate::db::map::export_lines(db, partner_id).await.internal()?;
    let mut out = CsvBuilder::new(&[
        "customer_id",
        "customer_name",
        "region",
        "autotask_company_id",
        "autotask_company_name",
        "company_type",
        "company_active",
        "mapping",
        "billing_contract_id",
        "billing_contract_name",
        "contract_flags",
        "linked_by",
        "linked_at",
    ])
    .map_err(internal)?;
    for l in lines {
        let mapping = match (l.company_id, l.links, l.sharers) {
            (None, _, _) => "unmatched",
            (Some(_), 1, 1) => "1-to-1",
            _ => "1-to-many",
        };
        let active = match (l.company_id, l.missing, l.is_active) {
            (None, _, _) => "",
            (Some(_), Some(1) | None, _) => "missing",
            (Some(_), _, Some(0)) => "no",
            _ => "yes",
        };
        out.row([
            Cell::number(Some(l.customer_id)),
            Cell::text(l.customer_name),
            Cell::text(l.region),
            Cell::number(l.company_id),
            Cell::text(l.company_name.unwrap_or_default()),
            Cell::text(l.type_label.unwrap_or_default()),
            Cell::text(active),
            Cell::text(mapping),
            Cell::number(l.contract_id),
            Cell::text(l.contract_name.unwrap_or_default()),
            Cell::text(l.contract_flags.unwrap_or_default()),
            Cell::text(l.linked_by.unwrap_or_default()),
            Cell::text(l.linked_at.map(app::format::iso_utc).unwrap_or_default()),
        ])
        .map_err(internal)?;
    }
    out.finish().map_err(internal)
}

/// The CSV download of the map, for the signed-in user's partner.
pub async fn export(
    axum::extract::State(state): axum::extract::State<crate::state::AppState>,
    user: Option<axum::Extension<CurrentUser>>,
) -> axum::response::Response {
    let Some(axum::Extension(user)) = user else {
        return crate::exports::sign_in_first("the Customer Map");
    };
    crate::exports::download("customer-map", csv(&state.db, user.partner_id).await.map_err(|_| anyhow::anyhow!("the Customer Map export failed")))
}
