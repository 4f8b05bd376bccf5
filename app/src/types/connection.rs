//! The partner's Autotask connection as the Setup page sees and saves it.

use super::parse_email;
use super::UnixMillis;
use crate::error::AppError;
use serde::{Deserialize, Serialize};

/// The partner's Autotask connection as the browser sees it (never the secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ConnectionView {
    /// Whether settings were saved at all.
    pub configured: bool,
    /// API username (the API-only user's email).
    pub username: String,
    /// API integration code (tracking identifier).
    pub integration_code: String,
    /// Whether a secret is stored (it is never sent back).
    pub secret_set: bool,
    /// A REST base URL replacing zone discovery.
    pub zone_override: Option<String>,
    /// The zone in use, once known.
    pub zone: Option<ZoneView>,
    /// The last "Test connection".
    pub last_test: Option<ConnectionTest>,
    /// Last saved.
    pub updated_at: Option<UnixMillis>,
    /// Saved by.
    pub updated_by: Option<String>,
}

/// Autotask's zones by name, with their REST addresses (Autotask's API_Zones list), for
/// the region choice on Setup.
pub const AUTOTASK_ZONES: &[(&str, &str)] = &[
    ("America East", "https://webservices3.autotask.net/ATServicesRest/"),
    ("America East 2", "https://webservices14.autotask.net/ATServicesRest/"),
    ("America East 3", "https://webservices22.autotask.net/ATServicesRest/"),
    ("America West", "https://webservices5.autotask.net/ATServicesRest/"),
    ("America West 2", "https://webservices15.autotask.net/ATServicesRest/"),
    ("America West 3", "https://webservices24.autotask.net/ATServicesRest/"),
    ("America West 4", "https://webservices25.autotask.net/ATServicesRest/"),
    ("UK", "https://webservices4.autotask.net/ATServicesRest/"),
    ("UK2", "https://webservices16.autotask.net/ATServicesRest/"),
    ("UK3", "https://webservices28.autotask.net/ATServicesRest/"),
    ("EU1", "https://webservices19.autotask.net/ATServicesRest/"),
    ("German (DE1)", "https://webservices18.autotask.net/ATServicesRest/"),
    ("Spanish", "https://webservices12.autotask.net/ATServicesRest/"),
    ("Australia / New Zealand", "https://webservices29.autotask.net/ATServicesRest/"),
    ("Australia 2", "https://webservices26.autotask.net/ATServicesRest/"),
    ("Australia (old)", "https://webservices6.autotask.net/ATServicesRest/"),
    ("Limited Release", "https://webservices1.autotask.net/ATServicesRest/"),
    ("Limited Release (UK)", "https://webservices17.autotask.net/ATServicesRest/"),
    ("Pre-release", "https://webservices2.autotask.net/ATServicesRest/"),
    ("Pre-release (UK)", "https://webservices11.autotask.net/ATServicesRest/"),
    ("Pre-release DE", "https://prde.autotask.net/ATServicesRest/"),
    ("Pre-release ES", "https://pres.autotask.net/ATServicesRest/"),
];

/// The named zone whose REST address `url` is (case and a missing final slash aside).
pub fn zone_named_by(url: &str) -> Option<&'static str> {
    let wanted = url.trim().trim_end_matches('/').to_ascii_lowercase();
    AUTOTASK_ZONES.iter().find(|(_, u)| u.trim_end_matches('/').to_ascii_lowercase() == wanted).map(|(name, _)| *name)
}

/// An Autotask zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneView {
    /// Zone name, e.g. "America East".
    pub name: String,
    /// REST base URL.
    pub url: String,
    /// Web UI base URL.
    pub web_url: String,
}

/// The outcome of "Test connection".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionTest {
    /// When it ran.
    pub at: UnixMillis,
    /// Whether Autotask accepted the credentials and answered.
    pub ok: bool,
    /// Machine cause when it failed (wrong_secret, unknown_user, bad_integration_code,
    /// missing_permission, unavailable, timeout, throttled...).
    pub cause: Option<String>,
    /// What happened, in plain words.
    pub message: String,
    /// Companies Autotask let it see.
    pub companies: Option<i64>,
    /// Contacts it could see.
    pub contacts: Option<i64>,
    /// Contracts it could see.
    pub contracts: Option<i64>,
}

/// Validated connection settings to save. `Debug` never prints the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct ConnectionInput {
    /// API username.
    pub username: String,
    /// New secret, or None to keep the stored one.
    pub secret: Option<String>,
    /// Integration code.
    pub integration_code: String,
    /// Zone override URL.
    pub zone_override: Option<String>,
}

impl std::fmt::Debug for ConnectionInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionInput")
            .field("username", &self.username)
            .field("secret", &self.secret.as_ref().map(|_| "[redacted]"))
            .field("integration_code", &self.integration_code)
            .field("zone_override", &self.zone_override)
            .finish()
    }
}

impl ConnectionInput {
    /// Validates each field with the message the form shows next to it.
    pub fn parse(username: &str, secret: &str, integration_code: &str, zone_override: &str) -> Result<Self, AppError> {
        let username = parse_email(username).map_err(|_| {
            AppError::invalid(
                "username",
                "Enter the API user's username: the email of an API-only user in Autotask (Admin \u{203a} Resources/Users).",
            )
        })?;
        let secret = secret.trim();
        if secret.chars().count() > 200 {
            return Err(AppError::invalid("secret", "The secret is too long; paste only the API user's secret."));
        }
        let code = integration_code.trim();
        if code.is_empty() {
            return Err(AppError::invalid(
                "integration_code",
                "Enter the API integration code (tracking identifier) shown on the API user's settings in Autotask.",
            ));
        }
        if code.chars().count() > 100 || code.chars().any(char::is_whitespace) {
            return Err(AppError::invalid(
                "integration_code",
                "The integration code has no spaces and is at most 100 characters (Autotask's are 27).",
            ));
        }
        let zone = zone_override.trim();
        let zone_override = if zone.is_empty() {
            None
        } else if (zone.starts_with("https://") || zone.starts_with("http://")) && zone.len() > 10 && !zone.contains(char::is_whitespace) {
            Some(zone.to_string())
        } else {
            return Err(AppError::invalid(
                "zone_override",
                "Enter the zone's REST address, e.g. https://webservices3.autotask.net/ATServicesRest/, or leave it empty to discover it.",
            ));
        };
        Ok(Self { username, secret: (!secret.is_empty()).then(|| secret.to_string()), integration_code: code.to_string(), zone_override })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_is_never_printed() {
        let input = ConnectionInput::parse("api@example.com", "hunter2-secret", "CODE", "").unwrap_or_else(|e| panic!("{e:?}"));
        let printed = format!("{input:?}");
        assert!(!printed.contains("hunter2") && printed.contains("[redacted]"), "{printed}");
    }
}
