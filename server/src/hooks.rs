//! Where Autotask delivers the partner's webhook callouts: `POST /hooks/autotask/{key}`
//! and its deactivation notices at `POST /hooks/autotask/{key}/deactivated`. No session:
//! the random key names the webhook and the `X-Hook-Signature` proves the sender. A
//! callout is stored before it is answered 200; a wrong signature gets 401 (and is counted
//! on Setup), an unknown key 404, a database that cannot take it 503 (Autotask retries).

use crate::services::sync::callouts::Receipt;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::routing::post;
use axum::Router;
use http::{HeaderMap, StatusCode};

/// Callouts are small; anything larger is not one.
const BODY_LIMIT: usize = 256 * 1024;

/// The webhook routes.
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/hooks/autotask/{key}", post(callout))
        .route("/hooks/autotask/{key}/deactivated", post(deactivated))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}

async fn callout(State(state): State<AppState>, Path(key): Path<String>, headers: HeaderMap, body: Bytes) -> StatusCode {
    answer(state.sync.receive(&key, &body, signature(&headers), false).await)
}

async fn deactivated(State(state): State<AppState>, Path(key): Path<String>, headers: HeaderMap, body: Bytes) -> StatusCode {
    answer(state.sync.receive(&key, &body, signature(&headers), true).await)
}

fn signature(headers: &HeaderMap) -> Option<&str> {
    headers.get("x-hook-signature").and_then(|v| v.to_str().ok())
}

fn answer(receipt: Receipt) -> StatusCode {
    match receipt {
        Receipt::Accepted | Receipt::AlreadyHad | Receipt::Deactivated => StatusCode::OK,
        Receipt::Unknown => StatusCode::NOT_FOUND,
        Receipt::BadSignature => StatusCode::UNAUTHORIZED,
        Receipt::Malformed => StatusCode::BAD_REQUEST,
        Receipt::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
    }
}
