//! `AppError`: the only error type that crosses the wire between server and browser.
//!
//! Variants are the things the UI reacts to. `Internal` deliberately carries no text:
//! the server logs the cause chain where it erases detail (see `server::error::internal`).

use serde::{Deserialize, Serialize};
use server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};

/// An error a page can show to a person and branch on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum AppError {
    /// No valid session (never signed in, signed out, or expired).
    #[error("Your session has ended. Please sign in again.")]
    Unauthorized,
    /// Signed in, but the role does not allow this.
    #[error("You need the admin role to do this.")]
    Forbidden,
    /// The thing asked for does not exist for this partner.
    #[error("Not found.")]
    NotFound,
    /// Bad input: `field` names the form field, `message` says what to fix.
    #[error("{message}")]
    Invalid {
        /// The form field (or API field) that is wrong.
        field: String,
        /// What to fix, in plain words.
        message: String,
    },
    /// The request clashes with existing data (e.g. an email already in use).
    #[error("{0}")]
    Conflict(String),
    /// Sign-in is throttled after repeated failures.
    #[error("{0}")]
    TooManyAttempts(String),
    /// The request came from another site (failed Origin check).
    #[error("This request came from another site and was refused.")]
    CrossSite,
    /// Something failed on the server; the cause is in the server log.
    #[error("Something went wrong on our side. It has been logged; please try again.")]
    Internal,
    /// The browser could not reach the server or could not read its answer.
    #[error("Could not reach Taskbridge: {0}")]
    Transport(String),
}

impl AppError {
    /// Shorthand for [`AppError::Invalid`].
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid { field: field.to_string(), message: message.into() }
    }

    /// The HTTP status this error stands for (used by the SSR error page and the machine API).
    pub fn status(&self) -> u16 {
        match self {
            Self::Unauthorized => 401,
            Self::Forbidden | Self::CrossSite => 403,
            Self::NotFound => 404,
            Self::Invalid { .. } => 422,
            Self::Conflict(_) => 409,
            Self::TooManyAttempts(_) => 429,
            Self::Internal => 500,
            Self::Transport(_) => 502,
        }
    }

    /// The message for a given form field, if this error is about it.
    pub fn field_message(&self, name: &str) -> Option<String> {
        match self {
            Self::Invalid { field, message } if field == name => Some(message.clone()),
            _ => None,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(m) | ServerFnErrorErr::MissingArg(m) => Self::invalid("request", format!("The request was malformed: {m}")),
            other => Self::Transport(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_errors_name_their_field() {
        let e = AppError::invalid("email", "Enter an email address.");
        assert_eq!(e.field_message("email").as_deref(), Some("Enter an email address."));
        assert_eq!(e.field_message("name"), None);
        assert_eq!(e.status(), 422);
    }

    #[test]
    fn internal_errors_carry_no_detail_over_the_wire() {
        let json = serde_json::to_string(&AppError::Internal).unwrap();
        assert_eq!(json, "\"Internal\"");
    }
}
