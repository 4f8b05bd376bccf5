//! Wire types shared by the server and the browser, with the validation both sides run.
//!
//! Serde only: no database types here. Secret-bearing types live in `server` and never
//! derive `Serialize`.

pub mod billing;
pub mod companies;
pub mod connection;
pub mod contacts;
pub mod history;
pub mod map;
pub mod money;
pub mod storage;
pub mod sync;
pub mod tickets;

use crate::error::AppError;
pub use connection::{ConnectionInput, ConnectionTest, ConnectionView, ZoneView};
use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch, UTC. Used for every timestamp on the wire.
pub type UnixMillis = i64;

/// What a user may do within its partner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, including users, API tokens and Autotask settings.
    Admin,
    /// Notifications and events; read-only elsewhere.
    #[default]
    Technician,
}

impl Role {
    /// The stored and wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Technician => "technician",
        }
    }

    /// The label shown to people.
    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "Admin",
            Role::Technician => "Technician",
        }
    }

    /// Parses the stored form; anything else is a validation error on `role`.
    pub fn parse(s: &str) -> Result<Self, AppError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "admin" => Ok(Role::Admin),
            "technician" => Ok(Role::Technician),
            _ => Err(AppError::invalid("role", "Choose a role: Admin or Technician.")),
        }
    }
}

/// The signed-in user, as the browser sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    /// The user's id.
    pub user_id: i64,
    /// The partner (tenant) the user belongs to.
    pub partner_id: i64,
    /// The partner's display name.
    pub partner_name: String,
    /// Sign-in email (lower case).
    pub email: String,
    /// Display name.
    pub name: String,
    /// Role within the partner.
    pub role: Role,
}

impl CurrentUser {
    /// True for admins.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// One user row on the Users page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    /// The user's id.
    pub user_id: i64,
    /// Sign-in email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Role within the partner.
    pub role: Role,
    /// Disabled users cannot sign in and their sessions are ended.
    pub disabled: bool,
    /// When the user was added.
    pub created_at: UnixMillis,
    /// The last successful sign-in, if any.
    pub last_sign_in_at: Option<UnixMillis>,
}

/// A validated request to add a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// Lower-cased email.
    pub email: String,
    /// Trimmed display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// The initial password (validated, not yet hashed).
    pub password: String,
}

impl NewUser {
    /// Validates every field with the same rules the browser form shows.
    pub fn parse(email: &str, name: &str, role: &str, password: &str) -> Result<Self, AppError> {
        Ok(Self { email: parse_email(email)?, name: parse_name(name)?, role: Role::parse(role)?, password: parse_password(password)? })
    }
}

/// Minimum password length. Long passphrases beat composition rules (NIST SP 800-63B).
pub const MIN_PASSWORD_LEN: usize = 12;

/// Validates and normalises an email address (trimmed, lower-cased).
pub fn parse_email(raw: &str) -> Result<String, AppError> {
    let email = raw.trim().to_lowercase();
    if email.is_empty() {
        return Err(AppError::invalid("email", "Enter an email address."));
    }
    let valid = email.len() <= 254
        && !email.chars().any(char::is_whitespace)
        && match email.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty() && !domain.contains('@') && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
            }
            None => false,
        };
    if valid {
        Ok(email)
    } else {
        Err(AppError::invalid("email", format!("\u{201c}{}\u{201d} is not an email address (expected name@example.com).", raw.trim())))
    }
}

/// Validates a display name (1–100 characters after trimming).
pub fn parse_name(raw: &str) -> Result<String, AppError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(AppError::invalid("name", "Enter a name."));
    }
    if name.chars().count() > 100 {
        return Err(AppError::invalid("name", "Use at most 100 characters."));
    }
    Ok(name.to_string())
}

/// Validates a new password.
pub fn parse_password(raw: &str) -> Result<String, AppError> {
    let n = raw.chars().count();
    if n < MIN_PASSWORD_LEN {
        return Err(AppError::invalid("password", format!("Use at least {MIN_PASSWORD_LEN} characters ({n} given).")));
    }
    if n > 256 {
        return Err(AppError::invalid("password", "Use at most 256 characters."));
    }
    Ok(raw.to_string())
}

/// Only a same-origin path is followed after sign-in (no open redirect): it starts with
/// one `/` (not `//`, which a browser reads as another host), holds no backslash (read as
/// `/`), no control character (a tab or CR/LF is dropped or splits the header) and no
/// space, is at most 2,000 characters and is not the sign-in page itself. Anything else
/// goes to `/`.
pub fn safe_next_path(next: &str) -> String {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && next.len() <= 2_000
        && !next.chars().any(|c| c == '\\' || c.is_control() || c.is_whitespace())
        && !next.starts_with("/signin");
    if ok {
        next.to_string()
    } else {
        "/".to_string()
    }
}

/// An API token as listed (the secret itself is shown once, at creation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiTokenSummary {
    /// The token's id.
    pub token_id: i64,
    /// What the admin called it (e.g. "Backup platform EU").
    pub name: String,
    /// The first characters of the token, to recognise it.
    pub prefix: String,
    /// Who created it (email).
    pub created_by: String,
    /// When it was created.
    pub created_at: UnixMillis,
    /// Last time it authenticated a request.
    pub last_used_at: Option<UnixMillis>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<UnixMillis>,
}

/// A freshly created API token: the only time the secret is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedApiToken {
    /// The listed form.
    pub summary: ApiTokenSummary,
    /// The full token, to be copied now.
    pub token: String,
}

/// Validates an API token name.
pub fn parse_token_name(raw: &str) -> Result<String, AppError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(AppError::invalid("name", "Name the token after what will use it, e.g. \u{201c}Backup platform\u{201d}."));
    }
    if name.chars().count() > 80 {
        return Err(AppError::invalid("name", "Use at most 80 characters."));
    }
    Ok(name.to_string())
}

/// Facts about this deployment the sign-in page may show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SiteInfo {
    /// Demo credentials: present only when the server runs in demo mode.
    pub demo: Option<DemoCredentials>,
}

/// The demo admin's credentials, shown on the sign-in page in demo mode only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoCredentials {
    /// Demo admin email.
    pub email: String,
    /// Demo admin password.
    pub password: String,
}

/// The partner overview shown on the home page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overview {
    /// Active users of the partner.
    pub active_users: i64,
    /// Active (unrevoked) API tokens.
    pub active_tokens: i64,
    /// Ticket dispatch: waiting events, a pause, customers held back.
    pub dispatch: tickets::DispatchSummary,
    /// Recent history entries, newest first.
    pub recent: Vec<AuditEntry>,
    /// The latest runs that failed or partly failed, newest first.
    pub problem_runs: Vec<history::RunRow>,
    /// Customers not linked to an Autotask company (tickets and billing pass them by).
    pub unmapped_customers: i64,
    /// Incidents open now.
    pub open_incidents: i64,
    /// Of those, how many have their Autotask ticket.
    pub open_tickets: i64,
    /// The latest billing push, if any.
    pub last_push: Option<history::RunRow>,
    /// The latest customer sync round, if any.
    pub last_sync: Option<history::RunRow>,
}

/// One entry of the partner's history (who did what, when).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// When it happened.
    pub at: UnixMillis,
    /// Who or what did it ("alice@example.com", "api token Backup platform", "system").
    pub actor: String,
    /// What was done, in words.
    pub summary: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(parse_email("  Alice@Example.COM ").unwrap(), "alice@example.com");
    }

    #[test]
    fn malformed_emails_name_the_email_field() {
        for bad in ["", "alice", "alice@", "@example.com", "a b@example.com", "alice@example", "a@b@c.com"] {
            let err = parse_email(bad).unwrap_err();
            assert!(err.field_message("email").is_some(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn short_passwords_say_how_long_they_must_be() {
        let err = parse_password("short").unwrap_err();
        assert_eq!(err.field_message("password").unwrap(), "Use at least 12 characters (5 given).");
        assert!(parse_password("correct horse battery").is_ok());
    }

    #[test]
    fn roles_parse_only_known_values() {
        assert_eq!(Role::parse("Admin").unwrap(), Role::Admin);
        assert_eq!(Role::parse("technician").unwrap(), Role::Technician);
        assert!(Role::parse("owner").is_err());
    }

    #[test]
    fn next_paths_never_leave_the_site() {
        assert_eq!(safe_next_path("/users?x=1"), "/users?x=1");
        assert_eq!(safe_next_path("//evil.example"), "/");
        assert_eq!(safe_next_path("https://evil.example"), "/");
        assert_eq!(safe_next_path("/\\evil.example"), "/");
        assert_eq!(safe_next_path("/signin?next=/x"), "/");
        for hostile in
            ["/\t/evil.example", "/\t\t//evil.example", "\t//evil.example", "/\r\nSet-Cookie: x=1", "/%0d%0a\n", "javascript:alert(1)", "/ /evil"]
        {
            assert_eq!(safe_next_path(hostile), "/", "{hostile:?}");
        }
        assert_eq!(safe_next_path("/%2F%2Fevil.example"), "/%2F%2Fevil.example", "an encoded slash stays a path on this site");
    }
}
