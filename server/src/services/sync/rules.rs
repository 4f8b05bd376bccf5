//! The sync's rules as pure functions: which company qualifies, what its row holds, what
//! changed since the last sync (in words), what a hand edit in Taskbridge will lose, and
//! the high-water marks (Autotask's times in one format, so they compare as text).

use crate::autotask::entities::Company;
use crate::db::sync::clients::{SyncedCompany, SyncedContract};
use app::types::money::Money;

/// How far back of the mark a poll reads again, for clocks that disagree and changes
/// committed late (re-reading a record that did not change writes nothing).
pub const OVERLAP_SECONDS: i64 = 120;

/// An Autotask time (`2026-03-17T10:32:29.52Z`, with or without the zone) in one fixed
/// format with milliseconds, so marks compare as text; `None` when it is not a time.
pub fn normal_time(raw: &str) -> Option<String> {
    let t = chrono::DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&chrono::Utc))
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.f").map(|t| t.and_utc()))
        .ok()?;
    Some(t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
}

/// The time a poll reads from: the mark less the overlap.
pub fn read_from(mark: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(mark) {
        Ok(t) => (t.with_timezone(&chrono::Utc) - chrono::Duration::seconds(OVERLAP_SECONDS)).format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        Err(_) => mark.to_string(),
    }
}

/// The later of two marks.
pub fn later(a: Option<String>, b: Option<String>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// Whether a company is synced: its type is Customer and it is active (seed 004).
pub fn qualifies(company: &Company, customer_type: i64) -> bool {
    company.company_type == Some(customer_type) && company.is_active.unwrap_or(false)
}

fn text(v: &Option<String>) -> String {
    v.as_deref().map(str::trim).unwrap_or_default().to_string()
}

/// The synced details of a company (state, reason and bookkeeping are the caller's).
pub fn details(company: &Company, country_code: Option<&str>, email: Option<&str>) -> SyncedCompany {
    SyncedCompany {
        company_id: company.id,
        name: text(&company.company_name),
        address1: text(&company.address1),
        address2: text(&company.address2),
        city: text(&company.city),
        state: text(&company.state),
        postal_code: text(&company.postal_code),
        country_code: country_code.unwrap_or_default().to_string(),
        phone: text(&company.phone),
        alternate_phone1: text(&company.alternate_phone1),
        alternate_phone2: text(&company.alternate_phone2),
        fax: text(&company.fax),
        email: email.map(str::trim).unwrap_or_default().to_string(),
        web_address: text(&company.web_address),
        qualifies: 1,
        ..SyncedCompany::default()
    }
}

fn quoted(v: &str) -> String {
    if v.is_empty() {
        "(none)".into()
    } else {
        format!("\u{201c}{v}\u{201d}")
    }
}

/// What differs between the last sync and now, in words ("name “A” → “B”; phone
/// (none) → “+1 555”"); `None` when nothing does. A company seen for the first time is "new".
pub fn company_changes(before: Option<&SyncedCompany>, after: &SyncedCompany) -> Option<String> {
    let Some(b) = before else { return Some("New: first synced.".into()) };
    let fields: [(&str, &str, &str); 11] = [
        ("name", &b.name, &after.name),
        ("address", &b.address1, &after.address1),
        ("address line 2", &b.address2, &after.address2),
        ("city", &b.city, &after.city),
        ("state", &b.state, &after.state),
        ("postal code", &b.postal_code, &after.postal_code),
        ("phone", &b.phone, &after.phone),
        ("alternate phone 1", &b.alternate_phone1, &after.alternate_phone1),
        ("alternate phone 2", &b.alternate_phone2, &after.alternate_phone2),
        ("fax", &b.fax, &after.fax),
        ("web site", &b.web_address, &after.web_address),
    ];
    let mut parts: Vec<String> =
        fields.iter().filter(|(_, x, y)| x != y).map(|(label, x, y)| format!("{label} {} \u{2192} {}", quoted(x), quoted(y))).collect();
    if b.email != after.email {
        parts.push(format!("email {} \u{2192} {}", quoted(&b.email), quoted(&after.email)));
    }
    if b.country_code != after.country_code {
        parts.push(format!("country {} \u{2192} {}", quoted(&b.country_code), quoted(&after.country_code)));
    }
    if b.qualifies == 0 && after.qualifies == 1 {
        parts.insert(0, "an active Customer again".into());
    }
    (!parts.is_empty()).then(|| capitalise(&parts.join("; ")))
}

/// Why a company no longer qualifies, in words.
pub fn no_longer(company: &Company, customer_type: i64, type_label: &str) -> String {
    match (company.is_active.unwrap_or(false), company.company_type == Some(customer_type)) {
        (false, false) => format!("Inactive and no longer a Customer (now {type_label}) in Autotask; kept, not deleted."),
        (false, true) => "Inactive in Autotask; kept, not deleted.".into(),
        _ => format!("No longer a Customer (now {type_label}) in Autotask; kept, not deleted."),
    }
}

/// The customer's fields edited in Taskbridge since the sync wrote them, which the next
/// sync puts back: (label, Taskbridge's value, Autotask's value).
pub fn overwrites(synced: &SyncedCompany, name: &str, address1: &str, city: &str, postal_code: &str) -> Option<String> {
    let fields = [
        ("name", name, &synced.name),
        ("address", address1, &synced.address1),
        ("city", city, &synced.city),
        ("postal code", postal_code, &synced.postal_code),
    ];
    let parts: Vec<String> = fields
        .iter()
        .filter(|(_, here, there)| here != &there.as_str())
        .map(|(l, here, there)| format!("{l} {} \u{2192} {}", quoted(here), quoted(there)))
        .collect();
    (!parts.is_empty()).then(|| format!("Edited in Taskbridge; the next sync sets back: {}.", parts.join("; ")))
}

/// What differs between a contract's last sync and now; "New" the first time.
pub fn contract_changes(before: Option<&SyncedContract>, after: &SyncedContract) -> Option<String> {
    let Some(b) = before else { return Some("New: first synced.".into()) };
    let mut parts = Vec::new();
    if b.contract_name != after.contract_name {
        parts.push(format!("name {} \u{2192} {}", quoted(&b.contract_name), quoted(&after.contract_name)));
    }
    if b.vendor_name != after.vendor_name {
        parts.push(format!("vendor {} \u{2192} {}", quoted(&b.vendor_name), quoted(&after.vendor_name)));
    }
    if b.overall_cost != after.overall_cost {
        let money = |v: i64| format!("{:.2}", Money::from_minor(v).to_f64());
        parts.push(format!("overall cost {} \u{2192} {}", money(b.overall_cost), money(after.overall_cost)));
    }
    if b.is_active != after.is_active {
        parts.push(if after.is_active == 1 { "active again".into() } else { "now inactive".to_string() });
    }
    (!parts.is_empty()).then(|| capitalise(&parts.join("; ")))
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect::<String>() + if s.ends_with('.') { "" } else { "." },
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn company(kind: i64, active: bool) -> Company {
        Company {
            id: 7,
            company_name: Some(" Acme ".into()),
            company_type: Some(kind),
            is_active: Some(active),
            phone: Some("+1 555 0100".into()),
            ..Company::default()
        }
    }

    #[test]
    fn times_are_normalised_so_marks_compare_as_text() {
        assert_eq!(normal_time("2023-03-17T10:32:29.52Z").as_deref(), Some("2023-03-17T10:32:29.520Z"));
        assert_eq!(normal_time("2023-03-17T10:32:29.5Z").as_deref(), Some("2023-03-17T10:32:29.500Z"));
        assert_eq!(normal_time("2023-03-17T10:32:29").as_deref(), Some("2023-03-17T10:32:29.000Z"));
        assert_eq!(normal_time("yesterday"), None);
        assert!(normal_time("2023-03-17T10:32:29.5Z") < normal_time("2023-03-17T10:32:29.52Z"));
        assert_eq!(read_from("2023-03-17T10:32:29.520Z"), "2023-03-17T10:30:29.520Z");
        assert_eq!(later(Some("a".into()), Some("b".into())).as_deref(), Some("b"));
        assert_eq!(later(None, Some("b".into())).as_deref(), Some("b"));
    }

    #[test]
    fn only_active_customers_qualify_and_the_reason_says_which_rule_failed() {
        assert!(qualifies(&company(1, true), 1));
        assert!(!qualifies(&company(1, false), 1));
        assert!(!qualifies(&company(2, true), 1));
        assert_eq!(no_longer(&company(1, false), 1, "Customer"), "Inactive in Autotask; kept, not deleted.");
        assert_eq!(no_longer(&company(2, true), 1, "Lead"), "No longer a Customer (now Lead) in Autotask; kept, not deleted.");
    }

    #[test]
    fn changes_are_worded_field_by_field() {
        let before = details(&company(1, true), Some("US"), Some("a@acme.example"));
        assert_eq!(before.name, "Acme");
        assert_eq!(company_changes(None, &before).as_deref(), Some("New: first synced."));
        assert_eq!(company_changes(Some(&before), &before), None);
        let mut after = before.clone();
        after.name = "Acme Ltd".into();
        after.web_address = "https://acme.example".into();
        after.email = String::new();
        assert_eq!(
            company_changes(Some(&before), &after).as_deref(),
            Some("Name \u{201c}Acme\u{201d} \u{2192} \u{201c}Acme Ltd\u{201d}; web site (none) \u{2192} \u{201c}https://acme.example\u{201d}; email \u{201c}a@acme.example\u{201d} \u{2192} (none).")
        );
        assert_eq!(overwrites(&after, "Acme Ltd", "", "", ""), None);
        assert_eq!(
            overwrites(&after, "ACME (ours)", "", "", "").as_deref(),
            Some("Edited in Taskbridge; the next sync sets back: name \u{201c}ACME (ours)\u{201d} \u{2192} \u{201c}Acme Ltd\u{201d}.")
        );
    }

    #[test]
    fn contract_changes_name_the_cost_in_currency_units() {
        let before = SyncedContract {
            contract_name: "Backup".into(),
            vendor_name: "MSP Managed Services".into(),
            overall_cost: 1_000_000,
            is_active: 1,
            ..Default::default()
        };
        let after = SyncedContract { overall_cost: 1_250_000, ..before.clone() };
        assert_eq!(contract_changes(Some(&before), &after).as_deref(), Some("Overall cost 100.00 \u{2192} 125.00."));
        assert_eq!(contract_changes(Some(&before), &before), None);
    }
}
