//! The machine HTTP API under `/api/v1`, used by the backup platform with per-partner
//! bearer tokens. Every route is declared in [`routes`]: the router, the OpenAPI document
//! and the access tests all read that one list, so a route cannot skip its check.

pub mod customers;
pub mod events;
pub mod usage;

use crate::db::tokens::ApiCaller;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, MethodRouter};
use axum::{Extension, Json, Router};
use http::{header, Method, StatusCode};
use serde_json::{json, Value};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (health, the API description).
    Public,
    /// A valid, unrevoked partner API token.
    Token,
}

/// One route of the machine API.
pub struct ApiRoute {
    /// HTTP method.
    pub method: Method,
    /// Path (axum syntax).
    pub path: &'static str,
    /// Who may call it.
    pub access: Access,
    /// One line for the OpenAPI document.
    pub summary: &'static str,
    /// The OpenAPI request body schema, for routes that take one.
    pub request_schema: Option<fn() -> Value>,
    /// The OpenAPI response schema (a JSON Schema object).
    pub response_schema: fn() -> Value,
    /// The handler.
    pub handler: MethodRouter<AppState>,
}

/// Every route of the machine API.
pub fn routes() -> Vec<ApiRoute> {
    vec![
        ApiRoute {
            method: Method::GET,
            path: "/api/v1/health",
            access: Access::Public,
            summary: "Liveness and database reachability (for load balancers).",
            request_schema: None,
            response_schema: || json!({"type": "object", "required": ["status", "database"], "properties": {"status": {"type": "string", "enum": ["ok", "degraded"]}, "database": {"type": "string", "enum": ["ok", "unreachable"]}}}),
            handler: get(health),
        },
        ApiRoute {
            method: Method::GET,
            path: "/api/v1/openapi.json",
            access: Access::Public,
            summary: "This API's OpenAPI 3.1 description.",
            request_schema: None,
            response_schema: || json!({"type": "object"}),
            handler: get(openapi),
        },
        ApiRoute {
            method: Method::GET,
            path: "/api/v1/partner",
            access: Access::Token,
            summary: "The partner the token belongs to (use it to check a token).",
            request_schema: None,
            response_schema: || json!({"type": "object", "required": ["partner_id", "name", "token_name"], "properties": {"partner_id": {"type": "integer"}, "name": {"type": "string"}, "token_name": {"type": "string"}}}),
            handler: get(partner),
        },
        ApiRoute {
            method: Method::POST,
            path: "/api/v1/customers",
            access: Access::Token,
            summary: "Registers or updates the backup platform's customers (up to 1,000 per call), keyed by your own reference; they then appear on the Customer Map.",
            request_schema: Some(crate::machine_api::customers::request_schema),
            response_schema: crate::machine_api::customers::response_schema,
            handler: axum::routing::post(crate::machine_api::customers::upsert),
        },
        ApiRoute {
            method: Method::POST,
            path: "/api/v1/events",
            access: Access::Token,
            summary: "Backup events, one or up to 1,000 per call. Each is stored before the answer; the same id twice is one event. A batch answers per event; a single invalid event answers 422 naming the field.",
            request_schema: Some(crate::machine_api::events::request_schema),
            response_schema: crate::machine_api::events::response_schema,
            handler: axum::routing::post(crate::machine_api::events::receive),
        },
        ApiRoute {
            method: Method::POST,
            path: "/api/v1/usage",
            access: Access::Token,
            summary: "Usage per customer, product and billing month (the current quantity), one or up to 1,000 per call; the same customer, product and month again replaces it. A single invalid report answers 422 naming the field.",
            request_schema: Some(crate::machine_api::usage::request_schema),
            response_schema: crate::machine_api::usage::response_schema,
            handler: axum::routing::post(crate::machine_api::usage::receive),
        },
    ]
}

/// The `/api/v1` router: token checks applied from the route list.
pub fn router(state: AppState) -> Router<AppState> {
    let mut router = Router::new();
    for route in routes() {
        let handler = match route.access {
            Access::Public => route.handler,
            Access::Token => route.handler.route_layer(from_fn_with_state(state.clone(), require_token)),
        };
        router = router.route(route.path, handler);
    }
    router.fallback(|| async { api_error(StatusCode::NOT_FOUND, "not_found", "There is no such API route. See /api/v1/openapi.json.") })
}

/// A JSON error body: `{"error": {"code": "...", "message": "..."}}`.
pub fn api_error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({"error": {"code": code, "message": message}}))).into_response()
}

async fn require_token(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim);
    let Some(token) = bearer else {
        return unauthorized("Send the partner API token as `Authorization: Bearer <token>`.");
    };
    match state.tokens.authenticate(token).await {
        Ok(Some(caller)) => {
            req.extensions_mut().insert(caller);
            next.run(req).await
        }
        Ok(None) => unauthorized("The API token is unknown or was revoked. Create a new one on the API tokens page."),
        Err(_) => api_error(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "Taskbridge cannot check tokens right now; retry shortly."),
    }
}

fn unauthorized(message: &str) -> Response {
    let mut response = api_error(StatusCode::UNAUTHORIZED, "unauthorized", message);
    response.headers_mut().insert(header::WWW_AUTHENTICATE, http::HeaderValue::from_static("Bearer"));
    response
}

async fn health(State(state): State<AppState>) -> Response {
    let db_ok = state.db.ping().await;
    let status = if db_ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(json!({"status": if db_ok { "ok" } else { "degraded" }, "database": if db_ok { "ok" } else { "unreachable" }}))).into_response()
}

async fn partner(State(state): State<AppState>, Extension(caller): Extension<ApiCaller>) -> Response {
    match crate::db::partners::name(&state.db, caller.partner_id).await {
        Ok(Some(name)) => Json(json!({"partner_id": caller.partner_id, "name": name, "token_name": caller.token_name})).into_response(),
        Ok(None) => api_error(StatusCode::UNAUTHORIZED, "unauthorized", "The partner of this token no longer exists."),
        Err(e) => {
            crate::error::internal(e);
            api_error(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Something went wrong on our side; it has been logged.")
        }
    }
}

async fn openapi() -> Json<Value> {
    Json(openapi_document())
}

/// The OpenAPI 3.1 description of every route in [`routes`].
pub fn openapi_document() -> Value {
    let error_schema = json!({"type": "object", "required": ["error"], "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}});
    let mut paths = serde_json::Map::new();
    for route in routes() {
        let mut responses = serde_json::Map::new();
        responses.insert("200".into(), json!({"description": "OK", "content": {"application/json": {"schema": (route.response_schema)()}}}));
        if route.access == Access::Token {
            responses.insert("401".into(), json!({"description": "Missing, unknown or revoked token", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}));
        }
        let mut operation = json!({"summary": route.summary, "responses": responses});
        if let Some(schema) = route.request_schema {
            operation["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": schema()}}});
            operation["responses"]["400"] = json!({"description": "The body is not valid JSON or not of this shape; the message names the field", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
        }
        if route.access == Access::Public {
            operation["security"] = json!([]);
        }
        let entry = paths.entry(route.path.to_string()).or_insert_with(|| json!({}));
        entry[route.method.as_str().to_lowercase()] = operation;
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Taskbridge machine API", "version": env!("CARGO_PKG_VERSION"), "description": "Used by the backup platform to reach Taskbridge on behalf of one partner. Authenticate with a partner API token (API tokens page) as `Authorization: Bearer <token>`."},
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
        "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}, "schemas": {"Error": error_schema}},
        "paths": paths,
    })
}
