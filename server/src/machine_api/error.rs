//! The machine API's errors: one type every handler and extractor returns, answered as
//! `{"error": {"code": "...", "message": "..."}}` with the matching status, so no route
//! builds an error body by hand.

use axum::response::{IntoResponse, Response};
use axum::Json;
use http::{header, HeaderValue, StatusCode};
use serde::Serialize;
use utoipa::ToSchema;

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// 400: the body is not JSON of the route's shape; the message says what to send.
    BadBody(String),
    /// 401: the token is missing, unknown or revoked.
    Unauthorized(String),
    /// 404: no such route.
    NotFound(String),
    /// 413: the body is over the size limit.
    TooLarge(String),
    /// 422: the one item sent is invalid (a batch answers per item instead).
    Invalid {
        /// invalid_event, invalid_usage, ...
        code: &'static str,
        /// What is wrong and where.
        error: FieldError,
    },
    /// 503: a dependency (the database) failed; retrying is safe.
    Unavailable(String),
    /// 500: a bug; logged, nothing detailed leaves.
    Internal(String),
}

/// A field at fault and what to do about it (`events[3].severity`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// The field, with its position in a batch.
    pub field: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl FieldError {
    /// A field error.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

/// The error body every failure has.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    #[schema(inline)]
    pub error: ErrorDetail,
}

/// Code, message, and the field when one is at fault.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Machine-readable: invalid_body, unauthorized, not_found, too_large,
    /// invalid_event, invalid_usage, invalid_customer, unavailable, internal.
    pub code: String,
    /// For people.
    pub message: String,
    /// The field at fault (422 only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &str, &str, Option<&str>) {
        match self {
            Self::BadBody(m) => (StatusCode::BAD_REQUEST, "invalid_body", m, None),
            Self::Unauthorized(m) => (StatusCode::UNAUTHORIZED, "unauthorized", m, None),
            Self::NotFound(m) => (StatusCode::NOT_FOUND, "not_found", m, None),
            Self::TooLarge(m) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large", m, None),
            Self::Invalid { code, error } => (StatusCode::UNPROCESSABLE_ENTITY, code, &error.message, Some(&error.field)),
            Self::Unavailable(m) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable", m, None),
            Self::Internal(m) => (StatusCode::INTERNAL_SERVER_ERROR, "internal", m, None),
        }
    }

    /// The body of this error.
    pub fn body(&self) -> ErrorBody {
        let (_, code, message, field) = self.parts();
        ErrorBody { error: ErrorDetail { code: code.into(), message: message.into(), field: field.map(str::to_string) } }
    }

    /// The status of this error.
    pub fn status(&self) -> StatusCode {
        self.parts().0
    }

    /// Logs a database failure and says the call can be retried.
    pub fn unavailable(e: impl Into<anyhow::Error>, message: &str) -> Self {
        crate::error::internal(e);
        Self::Unavailable(message.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status(), Json(self.body())).into_response();
        if matches!(self, Self::Unauthorized(_)) {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_has_its_status_and_code() {
        let cases = [
            (ApiError::BadBody("x".into()), 400, "invalid_body"),
            (ApiError::Unauthorized("x".into()), 401, "unauthorized"),
            (ApiError::NotFound("x".into()), 404, "not_found"),
            (ApiError::TooLarge("x".into()), 413, "too_large"),
            (ApiError::Invalid { code: "invalid_event", error: FieldError::new("type", "x") }, 422, "invalid_event"),
            (ApiError::Unavailable("x".into()), 503, "unavailable"),
            (ApiError::Internal("x".into()), 500, "internal"),
        ];
        for (e, status, code) in cases {
            assert_eq!(e.status().as_u16(), status);
            let body = serde_json::to_value(e.body()).unwrap();
            assert_eq!(body["error"]["code"], code);
            assert_eq!(body["error"]["message"], "x");
        }
        let invalid = serde_json::to_value(ApiError::Invalid { code: "invalid_usage", error: FieldError::new("period", "x") }.body()).unwrap();
        assert_eq!(invalid["error"]["field"], "period");
    }
}
