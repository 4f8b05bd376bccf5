//! What can go wrong talking to Autotask, classified into causes a partner can act on.

use std::time::Duration;

/// A failed Autotask call.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AutotaskError {
    /// 401: the API user exists but the secret is wrong (after re-discovering the zone).
    #[error("Autotask rejected the API secret. Check the secret of this API user (Autotask answered 401).")]
    WrongSecret,
    /// 500 "Zone information could not be determined": no such API user.
    #[error("Autotask does not know the API user \u{201c}{0}\u{201d}. Check the API username (an API-only user's email).")]
    UnknownUser(String),
    /// 500 "IntegrationCode is invalid.".
    #[error("Autotask rejected the API integration code (tracking identifier). Check it in Autotask under the API user's settings.")]
    BadIntegrationCode,
    /// 403, or a 500 about inadequate permissions.
    #[error("The API user lacks permission: {0}")]
    MissingPermission(String),
    /// 429, the thread limit (Itgenatr005) or the hourly request threshold.
    #[error("Autotask is throttling requests: {message}")]
    Throttled {
        /// Autotask's message.
        message: String,
        /// How long Autotask asked to wait, if it said.
        retry_after: Option<Duration>,
    },
    /// 5xx other than validation, or a refused connection.
    #[error("Autotask is unavailable: {0}")]
    Unavailable(String),
    /// No answer in time.
    #[error("Autotask did not answer within {0:?}.")]
    Timeout(Duration),
    /// 500 with a validation message: the data sent was refused (not retryable).
    #[error("Autotask refused the data: {0}")]
    InvalidData(String),
    /// 404 for a route (a wrong zone or entity), or a record that does not exist.
    #[error("Not found in Autotask: {0}")]
    NotFound(String),
    /// The answer could not be read (not JSON, or not the documented shape).
    #[error("Autotask sent an answer that could not be read: {0}")]
    Malformed(String),
    /// A method/route mismatch (405): a bug in this client, reported as such.
    #[error("Autotask refused the request method: {0}")]
    Protocol(String),
    /// The address is not one the credentials may be sent to (see `endpoint.rs`).
    #[error("Taskbridge did not send the API credentials: {0}")]
    Refused(String),
}

impl AutotaskError {
    /// Whether repeating the same (idempotent) request may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Throttled { .. } | Self::Unavailable(_) | Self::Timeout(_))
    }

    /// A short machine-readable cause, for logs, metrics and the UI.
    pub fn cause(&self) -> &'static str {
        match self {
            Self::WrongSecret => "wrong_secret",
            Self::UnknownUser(_) => "unknown_user",
            Self::BadIntegrationCode => "bad_integration_code",
            Self::MissingPermission(_) => "missing_permission",
            Self::Throttled { .. } => "throttled",
            Self::Unavailable(_) => "unavailable",
            Self::Timeout(_) => "timeout",
            Self::InvalidData(_) => "invalid_data",
            Self::NotFound(_) => "not_found",
            Self::Malformed(_) => "malformed",
            Self::Protocol(_) => "protocol",
            Self::Refused(_) => "refused_destination",
        }
    }

    /// Classifies an HTTP answer that was not a success. Only the messages of Autotask's
    /// documented error shape (`{"errors": [...]}`, or `{"Message": ...}`) are kept, without
    /// control characters and at most 300 characters; any other body is never quoted (it
    /// goes to the debug log, truncated).
    pub fn from_response(status: u16, body: &str, username: &str, retry_after: Option<Duration>) -> Self {
        let parsed: Option<serde_json::Value> = serde_json::from_str(body).ok();
        let documented = parsed.as_ref().and_then(|v| {
            v.get("errors")
                .and_then(|e| e.as_array())
                .map(|list| list.iter().filter_map(|m| m.as_str()).collect::<Vec<_>>().join(" "))
                .or_else(|| v.get("Message").and_then(|m| m.as_str()).map(str::to_string))
        });
        if documented.is_none() && !body.is_empty() {
            let head: String = body.chars().take(500).collect();
            tracing::debug!(status, body = %head, "Autotask answered with a body that is not its error shape");
        }
        let documented = documented.map(|m| app::format::excerpt(&m, 300)).filter(|m| !m.is_empty());
        let or = |default: &str| documented.clone().unwrap_or_else(|| default.to_string());
        let lower = documented.as_deref().unwrap_or("").to_lowercase();
        match status {
            401 => Self::WrongSecret,
            403 => Self::MissingPermission(or("Autotask answered 403 Forbidden.")),
            404 => Self::NotFound(or("the route does not exist (check the zone)")),
            405 => Self::Protocol(or("HTTP 405")),
            429 => Self::Throttled { message: or("HTTP 429 Too Many Requests"), retry_after },
            _ if lower.contains("zone information could not be determined") => Self::UnknownUser(username.to_string()),
            _ if lower.contains("integrationcode is invalid") => Self::BadIntegrationCode,
            _ if lower.contains("itgenatr005") || lower.contains("thread threshold") || lower.contains("threshold") && lower.contains("exceeded") => {
                Self::Throttled { message: or(""), retry_after }
            }
            _ if lower.contains("adequate permissions") => Self::MissingPermission(or("")),
            500 => match documented {
                Some(m) if !lower.contains("an unexpected error has occurred") && !lower.contains("timed out") => Self::InvalidData(m),
                Some(m) => Self::Unavailable(m),
                None => Self::Unavailable("HTTP 500 without Autotask's error details".into()),
            },
            _ => Self::Unavailable(match documented {
                Some(m) => format!("HTTP {status}: {m}"),
                None => format!("HTTP {status} without Autotask's error details"),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_classified_into_causes() {
        let c = |status, body: &str| AutotaskError::from_response(status, body, "api@x.example", None).cause();
        assert_eq!(c(401, ""), "wrong_secret");
        assert_eq!(c(500, r#"{"errors":["Zone information could not be determined"]}"#), "unknown_user");
        assert_eq!(c(500, r#"{"errors":["IntegrationCode is invalid."]}"#), "bad_integration_code");
        assert_eq!(c(403, ""), "missing_permission");
        assert_eq!(c(500, r#"{"errors":["The logged in Resource does not have the adequate permissions"]}"#), "missing_permission");
        assert_eq!(c(429, r#"{"errors":["Thread Threshold Exceeded (Itgenatr005)"]}"#), "throttled");
        assert_eq!(c(500, r#"{"errors":["Thread Threshold Exceeded (Itgenatr005)"]}"#), "throttled");
        assert_eq!(c(500, r#"{"errors":["dueDateTime is required.; on record number [0]."]}"#), "invalid_data");
        assert_eq!(c(500, r#"{"errors":["An unexpected error has occurred. Error ID: 54634."],"errorId":54634}"#), "unavailable");
        assert_eq!(c(503, "Service Unavailable"), "unavailable");
        assert_eq!(c(500, "<html>oops</html>"), "unavailable");
        assert_eq!(c(405, r#"{"Message":"The requested resource does not support http method 'GET'."}"#), "protocol");
        assert!(AutotaskError::Throttled { message: String::new(), retry_after: None }.is_transient());
        assert!(!AutotaskError::Refused(String::new()).is_transient());
    }

    #[test]
    fn a_remote_body_is_never_quoted_only_autotask_messages_cleaned() {
        let m = |status, body: &str| AutotaskError::from_response(status, body, "api@x.example", None).to_string();
        for (status, body) in [(500, "<html>secret page</html>"), (503, "secret page"), (302, "secret page"), (404, "secret page")] {
            assert!(!m(status, body).contains("secret page"), "{status}: {}", m(status, body));
        }
        let long = format!(r#"{{"errors":["bad\u0000value {}"]}}"#, "x".repeat(1_000));
        let shown = m(500, &long);
        assert!(!shown.contains('\0') && shown.chars().count() < 360, "{shown}");
        assert!(!AutotaskError::InvalidData(String::new()).is_transient());
    }
}
