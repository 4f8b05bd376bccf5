//! The Customer Map: Taskbridge customers beside Autotask companies by Autotask ID (names
//! at link time are kept, so a rename on either side is flagged, never breaking a link),
//! name suggestions from the matching pass, staged changes saved all-or-nothing under the
//! 1-to-many rules, and the billing contract per customer with its flags.
//!
//! `pages.rs` reads the two tables, `save.rs` applies a save, `contracts.rs` reads and
//! flags contracts, `matching.rs` suggests names, `export.rs` writes the CSV.

mod contracts;
mod export;
pub mod matching;
mod pages;
mod save;

pub use contracts::contract_flags;
pub use export::{csv, export};

use crate::db::{audit, Db};
use crate::error::SqlxResultExt;
use crate::services::connection::SqlAutotaskSettings;
use crate::services::user_calls::UserCall;
use app::error::AppError;
use app::services::CustomerMapService;
use app::types::map::{
    CompanyMapPage, CompanyRef, ContractOption, CustomerMapPage, ExactMatches, Flag, FlagCode, MapChange, MapHistoryEntry, MapQuery, MapSaved,
};
use app::types::CurrentUser;

/// How many of the latest changes the map shows; the History's Settings changes pages
/// through all of them.
const MAP_HISTORY_SHOWN: i64 = 10;

/// Autotask's system value for company type Customer.
pub const COMPANY_TYPE_CUSTOMER: i64 = 1;
/// Autotask's system value for contract type Recurring Service.
pub const CONTRACT_TYPE_RECURRING: i64 = 7;
/// Largest Save.
pub const MAX_CHANGES: usize = 2_000;

fn flag(code: FlagCode, message: impl Into<String>) -> Flag {
    Flag { code, message: message.into() }
}

/// `CustomerMapService` over the database and the partner's Autotask.
#[derive(Clone)]
pub struct SqlCustomerMap {
    db: Db,
    settings: SqlAutotaskSettings,
}

impl SqlCustomerMap {
    /// The map on this database, reading contracts through the partner's connection.
    pub fn new(db: Db, settings: SqlAutotaskSettings) -> Self {
        Self { db, settings }
    }

    /// Re-runs the matching pass for the partner: the best suggestion for every unmatched
    /// customer among unmatched companies still in Autotask. Returns how many it found.
    pub async fn rematch(&self, partner_id: i64) -> Result<usize, AppError> {
        rematch(&self.db, partner_id).await
    }
}

/// The matching pass (see [`SqlCustomerMap::rematch`]).
pub async fn rematch(db: &Db, partner_id: i64) -> Result<usize, AppError> {
    let (customers, companies) = crate::db::map::unmatched(db, partner_id).await.internal()?;
    let found = matching::suggest(&customers, &companies);
    let rows: Vec<crate::db::map::NewSuggestion<'_>> =
        found.iter().map(|s| (s.customer_id, s.company_id, i64::from(s.score), s.reason.as_str())).collect();
    crate::db::map::replace_suggestions(db, partner_id, &rows).await.internal()?;
    Ok(found.len())
}

#[async_trait::async_trait]
impl CustomerMapService for SqlCustomerMap {
    async fn customers(&self, partner_id: i64, query: MapQuery) -> Result<CustomerMapPage, AppError> {
        self.customer_page(partner_id, query).await
    }

    async fn companies(&self, partner_id: i64, query: MapQuery) -> Result<CompanyMapPage, AppError> {
        self.company_page(partner_id, query).await
    }

    async fn save(&self, actor: &CurrentUser, changes: Vec<MapChange>) -> Result<MapSaved, AppError> {
        let (started_at, asked) = (crate::db::now_ms(), changes.len() as i64);
        let (key, span) = crate::services::history::log_span(app::types::history::RunKind::MapSave);
        let saved = tracing::Instrument::instrument(self.save_changes(actor, changes), span).await;
        save::record_run(&self.db, actor, (started_at, &key), asked, &saved).await;
        saved
    }

    async fn contracts(&self, partner_id: i64, customer_id: i64, companies: Option<Vec<i64>>) -> Result<Vec<ContractOption>, AppError> {
        self.settings.spend(partner_id, UserCall::Contracts)?;
        self.customer_contracts(partner_id, customer_id, companies).await
    }

    async fn exact_matches(&self, partner_id: i64, query: MapQuery) -> Result<ExactMatches, AppError> {
        let (matches, total) = crate::db::map::exact_suggestions(&self.db, partner_id, &query, MAX_CHANGES).await.internal()?;
        Ok(ExactMatches { matches, total })
    }

    async fn company(&self, partner_id: i64, company_id: i64) -> Result<CompanyRef, AppError> {
        if company_id <= 0 {
            return Err(AppError::invalid("company_id", "Type the company's Autotask ID (a number, e.g. 29683512)."));
        }
        // A typed ID may go to Autotask: the same burst limit as the map's other presses.
        self.settings.spend(partner_id, UserCall::FindCompany)?;
        self.ensure_companies(partner_id, &std::collections::BTreeSet::from([company_id])).await?;
        let (name, type_label, active) = crate::db::map::company_ref(&self.db, partner_id, company_id).await.internal()?.ok_or(AppError::NotFound)?;
        Ok(CompanyRef { company_id, name, type_label, is_active: active != 0 })
    }

    async fn history(&self, partner_id: i64) -> Result<Vec<MapHistoryEntry>, AppError> {
        let entries = audit::recent(&self.db, partner_id, Some("map.change"), MAP_HISTORY_SHOWN).await?;
        Ok(entries.into_iter().map(|e| MapHistoryEntry { at: e.at, actor: e.actor, summary: e.summary }).collect())
    }
}
