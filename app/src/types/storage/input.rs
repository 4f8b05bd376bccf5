//! Destinations and packages as typed into the Storage page's forms, with the checks the
//! browser and the server both run: the providers' naming rules for buckets, containers
//! and folders, region codes, storage limits.

use super::{DestinationKind, Provider};
use crate::error::AppError;
use serde::{Deserialize, Serialize};

/// A destination as entered (add or rename/edit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DestinationInput {
    /// Name.
    pub name: String,
    /// Provider (stored form).
    pub provider: String,
    /// Bucket or container name, or folder path.
    pub location: String,
    /// Region (ignored where the provider has none).
    #[serde(default)]
    pub region: String,
}

/// A destination input that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidDestination {
    /// Name, trimmed.
    pub name: String,
    /// Provider.
    pub provider: Provider,
    /// Location, trimmed.
    pub location: String,
    /// Region, lower-cased (None where the provider has none).
    pub region: Option<String>,
}

/// Longest name of a destination or package.
pub const MAX_NAME: usize = 80;

fn parse_label(raw: &str, what: &str) -> Result<String, AppError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(AppError::invalid(
            "name",
            format!("Name the {what}, e.g. \u{201c}{}\u{201d}.", if what == "package" { "Standard 500 GB" } else { "US backups" }),
        ));
    }
    if name.chars().count() > MAX_NAME {
        return Err(AppError::invalid("name", format!("Use at most {MAX_NAME} characters.")));
    }
    if name.chars().any(char::is_control) {
        return Err(AppError::invalid("name", "Use letters, digits and punctuation only (no tabs or line breaks)."));
    }
    Ok(name.to_string())
}

/// S3-style bucket names: 3–63 characters of lower-case letters, digits, dots and hyphens,
/// starting and ending with a letter or digit, no two dots in a row, not an IP address.
fn check_bucket(name: &str) -> Result<(), String> {
    let n = name.len();
    if !(3..=63).contains(&n) {
        return Err(format!("A bucket name has 3 to 63 characters ({n} given)."));
    }
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '.' || *c == '-')) {
        return Err(format!("A bucket name uses lower-case letters, digits, dots and hyphens only (not \u{201c}{c}\u{201d})."));
    }
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    if !edge(name.chars().next()) || !edge(name.chars().last()) {
        return Err("A bucket name starts and ends with a letter or digit.".into());
    }
    if name.contains("..") {
        return Err("A bucket name cannot have two dots in a row.".into());
    }
    if name.parse::<std::net::Ipv4Addr>().is_ok() {
        return Err("A bucket name cannot be an IP address.".into());
    }
    Ok(())
}

/// Azure container names: 3–63 lower-case letters, digits and single hyphens, starting
/// and ending with a letter or digit.
fn check_container(name: &str) -> Result<(), String> {
    let n = name.len();
    if !(3..=63).contains(&n) {
        return Err(format!("A container name has 3 to 63 characters ({n} given)."));
    }
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')) {
        return Err(format!("A container name uses lower-case letters, digits and hyphens only (not \u{201c}{c}\u{201d})."));
    }
    if name.starts_with('-') || name.ends_with('-') || name.contains("--") {
        return Err("A container name starts and ends with a letter or digit and has no two hyphens in a row.".into());
    }
    Ok(())
}

/// A root folder: an absolute path (`/backups`, `D:\Backups` or `\\nas\backups`).
fn check_folder(path: &str) -> Result<(), String> {
    if path.chars().count() > 260 {
        return Err("Use a path of at most 260 characters.".into());
    }
    if path.chars().any(char::is_control) {
        return Err("A path cannot hold tabs or line breaks.".into());
    }
    let b = path.as_bytes();
    let windows_drive = b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && (b[2] == b'\\' || b[2] == b'/');
    if path.starts_with('/') || path.starts_with("\\\\") || windows_drive {
        Ok(())
    } else {
        Err("Give the folder as an absolute path, e.g. /srv/backups, D:\\Backups or \\\\nas01\\backups.".into())
    }
}

/// A region code: 2–40 lower-case letters, digits and hyphens.
fn check_region(region: &str) -> Result<(), String> {
    let ok = (2..=40).contains(&region.len()) && region.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(format!("\u{201c}{region}\u{201d} is not a region code (lower-case letters, digits and hyphens, e.g. us-east-1)."))
    }
}

impl DestinationInput {
    /// The location, checked against the provider's naming rules.
    fn location(&self, provider: Provider) -> Result<String, AppError> {
        let location = self.location.trim().to_string();
        let what = provider.kind().label().to_lowercase();
        if location.is_empty() {
            let example = match provider.kind() {
                DestinationKind::Bucket => "msp-backups-us",
                DestinationKind::Container => "msp-backups",
                DestinationKind::RootFolder => "/srv/backups",
            };
            return Err(AppError::invalid("location", format!("Enter the {what}, e.g. {example}.")));
        }
        let checked = match provider.kind() {
            DestinationKind::Bucket => check_bucket(&location),
            DestinationKind::Container => check_container(&location),
            DestinationKind::RootFolder => check_folder(&location),
        };
        checked.map(|()| location).map_err(|m| AppError::invalid("location", m))
    }

    /// The region, where the provider has regions.
    fn region(&self, provider: Provider) -> Result<Option<String>, AppError> {
        if !provider.has_regions() {
            return Ok(None);
        }
        let region = self.region.trim().to_lowercase();
        if region.is_empty() {
            let what = provider.kind().label().to_lowercase();
            return Err(AppError::invalid(
                "region",
                format!("{} needs the region of the {what}, e.g. {}.", provider.label(), provider.suggested_regions()[0]),
            ));
        }
        check_region(&region).map(|()| Some(region)).map_err(|m| AppError::invalid("region", m))
    }

    /// Checks every field; the error names the first field to fix.
    pub fn validate(&self) -> Result<ValidDestination, AppError> {
        let name = parse_label(&self.name, "destination")?;
        let provider = Provider::parse(self.provider.trim()).ok_or_else(|| AppError::invalid("provider", "Choose the storage provider."))?;
        Ok(ValidDestination { name, provider, location: self.location(provider)?, region: self.region(provider)? })
    }

    /// Every field's problem at once, for a form to show beside each field.
    pub fn errors(&self) -> Vec<AppError> {
        let mut errors: Vec<AppError> = parse_label(&self.name, "destination").err().into_iter().collect();
        match Provider::parse(self.provider.trim()) {
            None => errors.push(AppError::invalid("provider", "Choose the storage provider.")),
            Some(provider) => errors.extend(self.location(provider).err().into_iter().chain(self.region(provider).err())),
        }
        errors
    }
}

/// A package as entered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageInput {
    /// Name.
    pub name: String,
    /// Storage limit in GB as typed; ignored when `unlimited`.
    #[serde(default)]
    pub limit_gb: String,
    /// No storage limit.
    #[serde(default)]
    pub unlimited: bool,
}

/// A package input that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidPackage {
    /// Name, trimmed.
    pub name: String,
    /// Limit in GB (None: unlimited).
    pub limit_gb: Option<i64>,
}

/// Largest storage limit a package may set (1 PB).
pub const MAX_LIMIT_GB: i64 = 1_000_000;

impl PackageInput {
    /// Every field's problem at once, for a form to show beside each field.
    pub fn errors(&self) -> Vec<AppError> {
        let name = parse_label(&self.name, "package").err();
        let limit = PackageInput { name: "n".into(), ..self.clone() }.validate().err();
        name.into_iter().chain(limit).collect()
    }

    /// Checks every field; the error names the field to fix.
    pub fn validate(&self) -> Result<ValidPackage, AppError> {
        let name = parse_label(&self.name, "package")?;
        if self.unlimited {
            return Ok(ValidPackage { name, limit_gb: None });
        }
        let typed = self.limit_gb.trim().replace([',', '_', ' '], "");
        if typed.is_empty() {
            return Err(AppError::invalid("limit_gb", "Enter the storage limit in GB, or tick Unlimited."));
        }
        let gb: i64 = typed.parse().map_err(|_| AppError::invalid("limit_gb", "Enter the limit as a whole number of GB, e.g. 500."))?;
        if !(1..=MAX_LIMIT_GB).contains(&gb) {
            return Err(AppError::invalid("limit_gb", format!("Use a limit from 1 to {} GB.", crate::format::thousands(MAX_LIMIT_GB))));
        }
        Ok(ValidPackage { name, limit_gb: Some(gb) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dest(provider: &str, location: &str, region: &str) -> Result<ValidDestination, AppError> {
        DestinationInput { name: "US backups".into(), provider: provider.into(), location: location.into(), region: region.into() }.validate()
    }

    #[test]
    fn a_destination_follows_its_providers_naming_rules() {
        let ok = dest("amazon_s3", "msp-backups-us", "US-East-1").unwrap();
        assert_eq!(ok.region.as_deref(), Some("us-east-1"));
        assert_eq!(ok.provider.kind(), DestinationKind::Bucket);
        assert_eq!(dest("azure_blob", "msp-backups", "westeurope").unwrap().provider.kind(), DestinationKind::Container);
        assert_eq!(dest("local_nas", "\\\\nas01\\backups", "ignored").unwrap().region, None);
        assert!(dest("local_nas", "D:\\Backups", "").is_ok());
        for (provider, location, region, field) in [
            ("amazon_s3", "Msp_Backups", "us-east-1", "location"),
            ("amazon_s3", "ab", "us-east-1", "location"),
            ("amazon_s3", "192.168.1.10", "us-east-1", "location"),
            ("amazon_s3", "msp..backups", "us-east-1", "location"),
            ("amazon_s3", "msp-backups", "", "region"),
            ("wasabi", "msp-backups", "us east", "region"),
            ("azure_blob", "msp.backups", "eastus", "location"),
            ("local_nas", "backups", "", "location"),
            ("dropbox", "x", "", "provider"),
        ] {
            let err = dest(provider, location, region).unwrap_err();
            assert!(err.field_message(field).is_some(), "{provider} {location:?} {region:?} should fail on {field}: {err:?}");
        }
    }

    #[test]
    fn a_package_has_a_limit_or_is_unlimited() {
        let p = |limit: &str, unlimited| PackageInput { name: " Standard ".into(), limit_gb: limit.into(), unlimited }.validate();
        assert_eq!(p("1,000", false).unwrap(), ValidPackage { name: "Standard".into(), limit_gb: Some(1000) });
        assert_eq!(p("", true).unwrap().limit_gb, None);
        for bad in ["", "0", "-5", "12.5", "2000000", "lots"] {
            assert!(p(bad, false).unwrap_err().field_message("limit_gb").is_some(), "{bad:?}");
        }
        assert!(PackageInput { name: "  ".into(), limit_gb: "5".into(), unlimited: false }.validate().unwrap_err().field_message("name").is_some());
    }
}
