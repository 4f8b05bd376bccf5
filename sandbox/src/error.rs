//! Errors in the shapes the real API uses: `{"errors":[...]}` for API errors, ASP.NET's
//! `{"Message": ...}` for routing errors.

use axum::response::{IntoResponse, Response};
use axum::Json;
use http::StatusCode;
use serde_json::json;

/// An API error response.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// The `errors` strings.
    pub errors: Vec<String>,
    /// ASP.NET-style routing error (uses `{"Message": ...}` instead).
    pub message_style: bool,
}

impl ApiError {
    /// HTTP 500 `{"errors":[message]}`: how Autotask reports validation and query errors.
    pub fn server(message: impl Into<String>) -> Self {
        Self { status: StatusCode::INTERNAL_SERVER_ERROR, errors: vec![message.into()], message_style: false }
    }

    /// Any status with `{"errors":[message]}`.
    pub fn status(status: StatusCode, message: impl Into<String>) -> Self {
        Self { status, errors: vec![message.into()], message_style: false }
    }

    /// 404 for a route that does not exist.
    pub fn no_route(uri: &str) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            errors: vec![format!("No HTTP resource was found that matches the request URI '{uri}'.")],
            message_style: true,
        }
    }

    /// 405 for a wrong method on an existing route.
    pub fn method(method: &str) -> Self {
        Self {
            status: StatusCode::METHOD_NOT_ALLOWED,
            errors: vec![format!("The requested resource does not support http method '{method}'.")],
            message_style: true,
        }
    }

    /// 401 for a wrong secret (or a moved zone).
    pub fn unauthorized() -> Self {
        Self { status: StatusCode::UNAUTHORIZED, errors: vec!["Authorization has been denied for this request.".into()], message_style: true }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = if self.message_style { json!({"Message": self.errors.join(" ")}) } else { json!({"errors": self.errors}) };
        (self.status, Json(body)).into_response()
    }
}
