//! Billing: the products the backup platform reports usage for, how each maps to an
//! Autotask service, how quantities are rounded to billable units, and when pushes run.
//! What a push previews, writes and records is in `push.rs`.

mod push;

pub use push::*;

use crate::error::AppError;
use crate::types::money::Money;
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
    pub unit_price: Money,
    /// Whether a product may be mapped to it.
    pub eligible: bool,
    /// Why not, when not.
    pub reason: Option<String>,
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

/// What Setup warns about a storage product's rounding before it is saved: units that do
/// not match what the mapped service is priced per, or steps so large that customers are
/// billed far from their use. `unit` is the product's unit ("GB").
pub fn rounding_warning(mapping: &ProductMapping, unit: &str) -> Option<String> {
    let size = mapping.unit_size;
    if size <= 0.0 {
        return None;
    }
    let shown = size.to_string();
    if let Some(name) = &mapping.service_name {
        let per = |u: &str| {
            let n = name.to_lowercase();
            let u = u.to_lowercase();
            n.contains(&format!("per {u}")) || n.contains(&format!("({u})")) || n.contains(&format!("/{u}"))
        };
        if per(unit) && size != 1.0 {
            return Some(format!(
                "{name} is priced per {unit}, but one unit here is {shown} {unit}: Autotask would bill 1 unit for every {shown} {unit} used. Use 1 {unit} steps, or a service priced per {shown} {unit}."
            ));
        }
    }
    let far = match mapping.rounding {
        Rounding::Up => "more",
        Rounding::Down => "less",
        Rounding::Nearest => "more or less",
    };
    (size >= 100.0).then(|| format!("Steps of {shown} {unit} bill each customer up to {shown} {unit} {far} than they use."))
}

/// What a typed approval threshold is wrong about.
pub const THRESHOLD_HINT: &str = "A whole number of units, 0 or more; empty for no limit.";

/// Reads an approval threshold as typed: empty is no limit, else whole units, 0 or more.
pub fn parse_threshold(text: &str) -> Result<Option<i64>, &'static str> {
    match text.trim() {
        "" => Ok(None),
        t => t.parse::<i64>().ok().filter(|n| *n >= 0).map(Some).ok_or(THRESHOLD_HINT),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_warns_of_units_unlike_the_service_and_of_large_steps() {
        let mapping = |name: &str, rounding, unit_size| ProductMapping {
            product: "cloud_storage_gb".into(),
            service_id: Some(1),
            service_name: Some(name.into()),
            rounding,
            unit_size,
        };
        let per_gb = rounding_warning(&mapping("Cloud Storage (per GB)", Rounding::Nearest, 100.0), "GB").unwrap_or_default();
        assert!(per_gb.contains("priced per GB, but one unit here is 100 GB"), "{per_gb}");
        assert_eq!(rounding_warning(&mapping("Cloud Storage (per GB)", Rounding::Up, 1.0), "GB"), None);
        let up = rounding_warning(&mapping("Storage block", Rounding::Up, 500.0), "GB").unwrap_or_default();
        assert_eq!(up, "Steps of 500 GB bill each customer up to 500 GB more than they use.");
        assert!(rounding_warning(&mapping("Storage block", Rounding::Down, 250.5), "GB").is_some_and(|w| w.contains("250.5 GB less")));
        assert_eq!(rounding_warning(&mapping("Storage block", Rounding::Up, 50.0), "GB"), None);
    }

    #[test]
    fn a_threshold_is_empty_or_whole_units() {
        assert_eq!(parse_threshold(" "), Ok(None));
        assert_eq!(parse_threshold("250"), Ok(Some(250)));
        assert_eq!(parse_threshold("0"), Ok(Some(0)));
        assert_eq!(parse_threshold("-1"), Err(THRESHOLD_HINT));
        assert_eq!(parse_threshold("2.5"), Err(THRESHOLD_HINT));
    }

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
}
