//! A push's shapes: its lines (preview and written), the preview's paging and filters,
//! the selection to apply, the result and the history.

use super::product;
use crate::types::money::Money;
use serde::{Deserialize, Serialize};

/// What a push line is (or did).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineStatus {
    /// Autotask bills a different quantity: an adjustment would be written.
    Change,
    /// Autotask already bills this quantity: no call.
    Unchanged,
    /// Cannot be pushed (the reason says why).
    Skipped,
    /// Written to Autotask.
    Applied,
    /// Larger than the approval threshold: not written.
    Held,
    /// Autotask refused it (the reason is Autotask's).
    Failed,
}

/// One customer and product in a preview or a push.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushLine {
    /// Customer.
    pub customer_id: i64,
    /// Its name.
    pub customer_name: String,
    /// Product code.
    pub product: String,
    /// The billing contract.
    pub contract_id: Option<i64>,
    /// The mapped service.
    pub service_id: Option<i64>,
    /// Units Autotask bills now.
    pub autotask_units: Option<i64>,
    /// The reported quantity.
    pub quantity: Option<f64>,
    /// Billable units from it (after rounding).
    pub taskbridge_units: Option<i64>,
    /// taskbridge − autotask.
    pub change: i64,
    /// Price per unit on the contract.
    pub unit_price: Money,
    /// change × unit price.
    pub money: Money,
    /// What it is.
    pub status: LineStatus,
    /// Why (skipped, held, failed).
    pub reason: Option<String>,
}

/// A dry run: what a push would write, before anything is written. The counts are of
/// every line; `lines` is one page of those matching the query (all of them when the
/// push engine computes it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct PushPreview {
    /// The billing month (YYYY-MM).
    pub period: String,
    /// The lines (of this page).
    pub lines: Vec<PushLine>,
    /// Lines that would change.
    pub changes: usize,
    /// Their money effect per month.
    pub money: Money,
    /// Lines in all.
    pub total: usize,
    /// Lines that cannot be pushed.
    pub skipped: usize,
    /// Lines Autotask already bills right.
    pub unchanged: usize,
    /// When Autotask was read for it (Unix ms).
    pub computed_at: i64,
    /// Lines matching the query.
    pub matching: usize,
    /// Changes among them.
    pub matching_changes: usize,
    /// This page (from 1).
    pub page: i64,
    /// Rows per page.
    pub per_page: i64,
    /// The ISO code of the currency every amount is in (Autotask's internal currency;
    /// empty when Autotask does not say).
    pub currency: String,
    /// Changes of more than this many units are held for approval (the query's choice,
    /// or the threshold saved on Setup); None: nothing is held.
    #[serde(default)]
    pub hold_above: Option<i64>,
    /// Changes among the matching lines that are held (above `hold_above`).
    #[serde(default)]
    pub matching_held: usize,
    /// Their money effect per month.
    #[serde(default)]
    pub held_money: Money,
}

impl PushPreview {
    /// Whether a line is a change held for approval at this preview's threshold.
    pub fn is_held(&self, line: &PushLine) -> bool {
        is_held(line, self.hold_above)
    }
}

/// Whether a line is a change of more than `hold_above` units (held for approval).
pub fn is_held(line: &PushLine, hold_above: Option<i64>) -> bool {
    line.status == LineStatus::Change && hold_above.is_some_and(|t| line.change.abs() > t)
}

/// The approval threshold a preview applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Hold {
    /// The threshold saved on Setup (the scheduled pushes' own).
    #[default]
    Saved,
    /// Nothing held.
    NoLimit,
    /// Changes of more than this many units.
    Above(i64),
}

impl Hold {
    /// The threshold, given the one saved on Setup.
    pub fn resolve(self, saved: Option<i64>) -> Option<i64> {
        match self {
            Hold::Saved => saved,
            Hold::NoLimit => None,
            Hold::Above(t) => Some(t),
        }
    }

    /// From a URL value ("none", or a number of units).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "none" => Some(Hold::NoLimit),
            n => n.parse().ok().filter(|t: &i64| *t >= 0).map(Hold::Above),
        }
    }

    /// The URL value (None for the default).
    pub fn as_param(self) -> Option<String> {
        match self {
            Hold::Saved => None,
            Hold::NoLimit => Some("none".into()),
            Hold::Above(t) => Some(t.to_string()),
        }
    }
}

/// Which preview lines to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PreviewShow {
    /// Every line.
    #[default]
    All,
    /// Lines a push would write.
    Changes,
    /// Lines that cannot be pushed.
    Skipped,
    /// Lines already right.
    Unchanged,
}

impl PreviewShow {
    /// Every choice, in the order the filter lists them.
    pub const ALL: [PreviewShow; 4] = [PreviewShow::All, PreviewShow::Changes, PreviewShow::Skipped, PreviewShow::Unchanged];

    /// The URL value.
    pub fn as_str(self) -> &'static str {
        match self {
            PreviewShow::All => "all",
            PreviewShow::Changes => "changes",
            PreviewShow::Skipped => "skipped",
            PreviewShow::Unchanged => "unchanged",
        }
    }

    /// From a URL value.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// What the filter says.
    pub fn label(self) -> &'static str {
        match self {
            PreviewShow::All => "Every line",
            PreviewShow::Changes => "Changes",
            PreviewShow::Skipped => "Cannot be pushed",
            PreviewShow::Unchanged => "Up to date",
        }
    }
}

/// Which page of the preview, and whether to read Autotask again first (every field may
/// be left out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PreviewQuery {
    /// Part of a customer's name (any case), or a product.
    pub search: String,
    /// Which lines.
    pub show: PreviewShow,
    /// Page, from 1.
    pub page: i64,
    /// Rows per page (25–500).
    pub per_page: i64,
    /// Read Autotask again rather than reuse a preview made in the last minutes.
    pub refresh: bool,
    /// Which changes are held for approval.
    pub hold: Hold,
}

impl Default for PreviewQuery {
    fn default() -> Self {
        Self { search: String::new(), show: PreviewShow::All, page: 1, per_page: 100, refresh: false, hold: Hold::Saved }
    }
}

/// Whether a line's customer or product matches a search (any case; empty matches all).
pub fn line_matches_search(line: &PushLine, search: &str) -> bool {
    let search = search.trim().to_lowercase();
    search.is_empty()
        || line.customer_name.to_lowercase().contains(&search)
        || line.product.contains(&search)
        || product(&line.product).is_some_and(|p| p.label.to_lowercase().contains(&search))
}

impl PreviewQuery {
    /// Whether a line is shown.
    pub fn matches(&self, line: &PushLine) -> bool {
        let shown = match self.show {
            PreviewShow::All => true,
            PreviewShow::Changes => line.status == LineStatus::Change,
            PreviewShow::Skipped => line.status == LineStatus::Skipped,
            PreviewShow::Unchanged => line.status == LineStatus::Unchanged,
        };
        shown && line_matches_search(line, &self.search)
    }

    /// The page of a whole preview this query asks for (a page past the end shows the
    /// last), with changes above `hold_above` counted as held.
    pub fn page_of(&self, full: &PushPreview, hold_above: Option<i64>) -> PushPreview {
        let per_page = self.per_page.clamp(25, 500);
        let matching: Vec<&PushLine> = full.lines.iter().filter(|l| self.matches(l)).collect();
        let pages = (matching.len() as i64 + per_page - 1) / per_page;
        let page = self.page.clamp(1, pages.max(1));
        let lines = matching.iter().skip(((page - 1) * per_page) as usize).take(per_page as usize).map(|l| (*l).clone()).collect();
        let held: Vec<&&PushLine> = matching.iter().filter(|l| is_held(l, hold_above)).collect();
        PushPreview {
            period: full.period.clone(),
            lines,
            changes: full.changes,
            money: full.money,
            total: full.total,
            skipped: full.skipped,
            unchanged: full.unchanged,
            computed_at: full.computed_at,
            matching: matching.len(),
            matching_changes: matching.iter().filter(|l| l.status == LineStatus::Change).count(),
            page,
            per_page,
            currency: full.currency.clone(),
            hold_above,
            matching_held: held.len(),
            held_money: held.iter().map(|l| l.money).sum(),
        }
    }
}

/// What to apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PushSelection {
    /// Only these (customer, product) lines; None: every change.
    pub lines: Option<Vec<(i64, String)>>,
    /// Hold (do not write) changes of more than this many units, for approval.
    pub hold_above: Option<i64>,
    /// Only changes whose customer or product matches this search (as the preview's).
    #[serde(default)]
    pub search: Option<String>,
    /// Approve what `hold_above` holds: write only the changes above it (a number is
    /// needed), none below.
    #[serde(default)]
    pub held_only: bool,
}

/// What a push did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushResult {
    /// The run's id (in the history).
    pub push_id: i64,
    /// Adjustments written.
    pub applied: usize,
    /// Lines already right (no call).
    pub unchanged: usize,
    /// Held for approval.
    pub held: usize,
    /// Refused by Autotask.
    pub failed: usize,
    /// Every selected line with its outcome.
    pub lines: Vec<PushLine>,
}

/// One push in the history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushRun {
    /// Id.
    pub push_id: i64,
    /// 'apply' or 'undo'.
    pub kind: String,
    /// 'running', 'done' or 'failed'.
    pub state: String,
    /// Billing month.
    pub period: String,
    /// Started.
    pub started_at: i64,
    /// By whom ("schedule" for scheduled runs).
    pub started_by: String,
    /// Finished.
    pub finished_at: Option<i64>,
    /// Counts or the failure.
    pub summary: Option<String>,
    /// For an undo: the push it undid.
    pub undo_of: Option<i64>,
    /// The undo that reversed this push, if any.
    pub undone_by: Option<i64>,
    /// Adjustments it wrote.
    pub applied: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(customer: &str, product: &str, status: LineStatus) -> PushLine {
        PushLine {
            customer_id: 1,
            customer_name: customer.into(),
            product: product.into(),
            contract_id: None,
            service_id: None,
            autotask_units: None,
            quantity: None,
            taskbridge_units: None,
            change: 0,
            unit_price: Money::ZERO,
            money: Money::ZERO,
            status,
            reason: None,
        }
    }

    #[test]
    fn a_preview_page_filters_by_customer_product_and_status_and_keeps_the_totals() {
        let mut lines = Vec::new();
        for i in 0..60 {
            let mut acme = line(&format!("Acme Dental {i:02}"), "server_backup", if i % 3 == 0 { LineStatus::Change } else { LineStatus::Unchanged });
            acme.change = if i % 3 == 0 { -i } else { 0 };
            acme.money = Money::from_f64(acme.change as f64);
            lines.push(acme);
            lines.push(line(&format!("Zeta Bakery {i:02}"), "cloud_storage_gb", LineStatus::Skipped));
        }
        let full = PushPreview {
            period: "2026-12".into(),
            lines,
            changes: 20,
            money: Money::from_f64(90.0),
            total: 120,
            skipped: 60,
            unchanged: 40,
            computed_at: 7,
            ..PushPreview::default()
        };
        let q = |search: &str, show: PreviewShow, page: i64| {
            PreviewQuery { search: search.into(), show, page, per_page: 25, ..PreviewQuery::default() }.page_of(&full, None)
        };

        let first = q("", PreviewShow::All, 1);
        assert_eq!((first.lines.len(), first.matching, first.page, first.total, first.changes, first.computed_at), (25, 120, 1, 120, 20, 7));
        let acme = q("acme", PreviewShow::All, 1);
        assert_eq!((acme.matching, acme.matching_changes), (60, 20));
        assert_eq!(q("ACME dental 0", PreviewShow::Changes, 1).matching, 4, "00, 03, 06, 09");
        assert_eq!(q("cloud storage", PreviewShow::All, 1).matching, 60, "by product label");
        assert_eq!(q("", PreviewShow::Skipped, 1).matching, 60);
        let past_the_end = q("", PreviewShow::Changes, 9);
        assert_eq!((past_the_end.page, past_the_end.lines.len()), (1, 20), "20 changes fit on one page");
        assert_eq!(q("nobody", PreviewShow::All, 3).page, 1);
        let clamped = PreviewQuery { per_page: 100_000, ..PreviewQuery::default() }.page_of(&full, None);
        assert_eq!(clamped.per_page, 500);
        assert_eq!(PreviewShow::parse("skipped"), Some(PreviewShow::Skipped));
    }

    #[test]
    fn changes_above_the_threshold_are_counted_held_whatever_their_sign() {
        let lines: Vec<PushLine> = [(40, LineStatus::Change), (-41, LineStatus::Change), (30, LineStatus::Change), (90, LineStatus::Skipped)]
            .into_iter()
            .map(|(change, status)| PushLine { change, money: Money::from_f64(change as f64), ..line("Acme", "server_backup", status) })
            .collect();
        let full = PushPreview { lines, ..PushPreview::default() };
        let page = PreviewQuery::default().page_of(&full, Some(30));
        assert_eq!((page.hold_above, page.matching_held, page.held_money), (Some(30), 2, Money::from_f64(-1.0)));
        assert!(page.is_held(&page.lines[1]) && !page.is_held(&page.lines[2]), "30 is not above 30");
        assert_eq!(PreviewQuery::default().page_of(&full, None).matching_held, 0);
        assert_eq!(Hold::Saved.resolve(Some(5)), Some(5));
        assert_eq!(Hold::NoLimit.resolve(Some(5)), None);
        assert_eq!(Hold::parse("none"), Some(Hold::NoLimit));
        assert_eq!(Hold::parse("12").map(|h| h.resolve(None)), Some(Some(12)));
        assert_eq!(Hold::parse("-1"), None);
        assert_eq!(Hold::Saved.as_param(), None);
    }
}
