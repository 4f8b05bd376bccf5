//! Billing: the products the backup platform reports usage for, how each maps to an
//! Autotask service, and how quantities are rounded to billable units.

use crate::error::AppError;
use serde::{Deserialize, Serialize};

/// A product Taskbridge bills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Product {
    /// The code the usage API takes.
    pub code: &'static str,
    /// Label.
    pub label: &'static str,
    /// What one unit is.
    pub unit: &'static str,
    /// Storage (a measured amount that may be fractional), not a count.
    pub storage: bool,
}

/// The documented product list.
pub const PRODUCTS: &[Product] = &[
    Product { code: "server_backup", label: "Server backup licence", unit: "licence", storage: false },
    Product { code: "workstation_backup", label: "Workstation backup licence", unit: "licence", storage: false },
    Product { code: "m365_backup", label: "Microsoft 365 backup seat", unit: "seat", storage: false },
    Product { code: "bdr_appliance", label: "BDR appliance", unit: "appliance", storage: false },
    Product { code: "cloud_storage_gb", label: "Cloud storage", unit: "GB", storage: true },
    Product { code: "appliance_storage_gb", label: "Appliance storage", unit: "GB", storage: true },
];

/// The product with this code.
pub fn product(code: &str) -> Option<&'static Product> {
    PRODUCTS.iter().find(|p| p.code == code)
}

/// How a quantity becomes whole units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Rounding {
    /// Up to the next multiple (never bill less than used).
    #[default]
    Up,
    /// To the nearest multiple (halves up).
    Nearest,
    /// Down to the multiple below.
    Down,
}

impl Rounding {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Up => "up",
            Self::Nearest => "nearest",
            Self::Down => "down",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "up" => Some(Self::Up),
            "nearest" => Some(Self::Nearest),
            "down" => Some(Self::Down),
            _ => None,
        }
    }

    /// Label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Up => "Round up",
            Self::Nearest => "Round to nearest",
            Self::Down => "Round down",
        }
    }
}

/// Billable units for `quantity`: a multiple of `unit_size`, rounded as chosen, then
/// expressed in units of `unit_size` (e.g. 1,234 GB with 100 GB units, up → 13).
pub fn billable_units(quantity: f64, rounding: Rounding, unit_size: f64) -> i64 {
    let size = if unit_size > 0.0 { unit_size } else { 1.0 };
    // Guard against float noise: 3.0000000001 units is 3 units.
    let units = (quantity.max(0.0) / size * 1e6).round() / 1e6;
    (match rounding {
        Rounding::Up => units.ceil(),
        Rounding::Nearest => units.round(),
        Rounding::Down => units.floor(),
    }) as i64
}

/// One product's billing choice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductMapping {
    /// Product code.
    pub product: String,
    /// The Autotask service (None: "Do not map").
    pub service_id: Option<i64>,
    /// Its name when mapped.
    pub service_name: Option<String>,
    /// Rounding (storage products).
    pub rounding: Rounding,
    /// Unit size (storage products; 1 for counts).
    pub unit_size: f64,
}

impl ProductMapping {
    /// The default: not mapped, round up to whole units.
    pub fn unmapped(product: &str) -> Self {
        Self { product: product.to_string(), service_id: None, service_name: None, rounding: Rounding::Up, unit_size: 1.0 }
    }

    /// Checks one mapping; the error names the field (`mappings[2].unit_size`).
    pub fn validate(&self, index: usize) -> Result<(), AppError> {
        let field = |f: &str| format!("mappings[{index}].{f}");
        let Some(p) = product(&self.product) else {
            return Err(AppError::invalid(&field("product"), format!("Unknown product \u{201c}{}\u{201d}.", self.product)));
        };
        if !self.unit_size.is_finite() || self.unit_size <= 0.0 || self.unit_size > 100_000.0 {
            return Err(AppError::invalid(
                &field("unit_size"),
                format!("The unit size of {} must be more than 0 and at most 100,000 {}.", p.label, p.unit),
            ));
        }
        if !p.storage && (self.unit_size != 1.0 || self.rounding != Rounding::Up) {
            return Err(AppError::invalid(&field("rounding"), format!("{} is a count: it is billed as reported, without rounding.", p.label)));
        }
        Ok(())
    }
}

/// The partner's billing settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct BillingSettings {
    /// One per product, in [`PRODUCTS`] order.
    pub mappings: Vec<ProductMapping>,
    /// Last saved.
    pub updated_at: Option<i64>,
    /// By whom.
    pub updated_by: Option<String>,
}

/// An Autotask service as "Retrieve services" lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceOption {
    /// Service id.
    pub service_id: i64,
    /// Name.
    pub name: String,
    /// Period label (Monthly, Yearly, ...).
    pub period: String,
    /// Unit price.
    pub unit_price: f64,
    /// Whether a product may be mapped to it.
    pub eligible: bool,
    /// Why not, when not.
    pub reason: Option<String>,
}

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
    pub unit_price: f64,
    /// change × unit price.
    pub money: f64,
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
    pub money: f64,
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
}

impl Default for PreviewQuery {
    fn default() -> Self {
        Self { search: String::new(), show: PreviewShow::All, page: 1, per_page: 100, refresh: false }
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

    /// The page of a whole preview this query asks for (a page past the end shows the last).
    pub fn page_of(&self, full: &PushPreview) -> PushPreview {
        let per_page = self.per_page.clamp(25, 500);
        let matching: Vec<&PushLine> = full.lines.iter().filter(|l| self.matches(l)).collect();
        let pages = (matching.len() as i64 + per_page - 1) / per_page;
        let page = self.page.clamp(1, pages.max(1));
        let lines = matching.iter().skip(((page - 1) * per_page) as usize).take(per_page as usize).map(|l| (*l).clone()).collect();
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

/// When pushes run by themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingSchedule {
    /// Hours between scheduled pushes (default 24: daily).
    pub every_hours: i64,
    /// Scheduled pushes hold changes of more units than this for approval.
    pub hold_above: Option<i64>,
    /// Whether a "Synchronize with Autotask" notification exists (else nothing runs).
    pub enabled: bool,
    /// When the next scheduled push is due.
    pub next_run_at: Option<i64>,
    /// A push may add a mapped service to a billing contract that lacks it.
    #[serde(default)]
    pub allow_add_service: bool,
}

impl BillingSchedule {
    /// Checks the choices; the error names the field.
    pub fn validate(&self) -> Result<(), AppError> {
        if !(1..=24 * 31).contains(&self.every_hours) {
            return Err(AppError::invalid("every_hours", "Push every 1 to 744 hours (31 days)."));
        }
        if self.hold_above.is_some_and(|h| h < 0) {
            return Err(AppError::invalid("hold_above", "The approval threshold is a number of units, 0 or more."));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_rounds_to_units() {
        assert_eq!(billable_units(1234.0, Rounding::Up, 100.0), 13);
        assert_eq!(billable_units(1234.0, Rounding::Nearest, 100.0), 12);
        assert_eq!(billable_units(1250.0, Rounding::Nearest, 100.0), 13);
        assert_eq!(billable_units(1299.9, Rounding::Down, 100.0), 12);
        assert_eq!(billable_units(300.0000001, Rounding::Up, 100.0), 3, "float noise is not a unit");
        assert_eq!(billable_units(0.0, Rounding::Up, 1.0), 0);
        assert_eq!(billable_units(-5.0, Rounding::Up, 1.0), 0);
        assert_eq!(billable_units(7.0, Rounding::Up, 1.0), 7);
    }

    #[test]
    fn mappings_are_checked() {
        ProductMapping::unmapped("server_backup").validate(0).unwrap();
        let mut m = ProductMapping::unmapped("cloud_storage_gb");
        m.unit_size = 0.0;
        assert!(m.validate(4).unwrap_err().field_message("mappings[4].unit_size").is_some());
        let mut c = ProductMapping::unmapped("server_backup");
        c.rounding = Rounding::Down;
        assert!(c.validate(0).is_err());
        assert!(ProductMapping::unmapped("nope").validate(1).is_err());
    }

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
            unit_price: 0.0,
            money: 0.0,
            status,
            reason: None,
        }
    }

    #[test]
    fn a_preview_page_filters_by_customer_product_and_status_and_keeps_the_totals() {
        let mut lines = Vec::new();
        for i in 0..60 {
            lines.push(line(&format!("Acme Dental {i:02}"), "server_backup", if i % 3 == 0 { LineStatus::Change } else { LineStatus::Unchanged }));
            lines.push(line(&format!("Zeta Bakery {i:02}"), "cloud_storage_gb", LineStatus::Skipped));
        }
        let full = PushPreview {
            period: "2026-12".into(),
            lines,
            changes: 20,
            money: 90.0,
            total: 120,
            skipped: 60,
            unchanged: 40,
            computed_at: 7,
            ..PushPreview::default()
        };
        let q = |search: &str, show: PreviewShow, page: i64| {
            PreviewQuery { search: search.into(), show, page, per_page: 25, refresh: false }.page_of(&full)
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
        let clamped = PreviewQuery { per_page: 100_000, ..PreviewQuery::default() }.page_of(&full);
        assert_eq!(clamped.per_page, 500);
        assert_eq!(PreviewShow::parse("skipped"), Some(PreviewShow::Skipped));
    }
}
