//! The machine HTTP API under `/api/v1`, used by the backup platform with per-partner
//! bearer tokens. Every route is declared in [`routes`]: the router, the OpenAPI document
//! and the access tests all read that one list, so a route cannot skip its check.

pub mod backup_users;
pub mod body;
pub mod customers;
pub mod error;
pub mod events;
pub mod feed;
pub mod runs;
mod schema;
pub mod synced;
pub mod usage;

pub use body::MAX_BATCH;
pub use error::{ApiError, FieldError};

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
    /// Query parameters: (name, description), all optional strings.
    pub query: &'static [(&'static str, &'static str)],
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
            query: &[],
            request_schema: None,
            response_schema: schema::of::<HealthAnswer>,
            handler: get(health),
        },
        ApiRoute {
            method: Method::GET,
            path: "/api/v1/openapi.json",
            access: Access::Public,
            summary: "This API's OpenAPI 3.1 description.",
            query: &[],
            request_schema: None,
            response_schema: || json!({"type": "object"}),
            handler: get(openapi),
        },
        ApiRoute {
            method: Method::GET,
            path: "/api/v1/partner",
            access: Access::Token,
            summary: "The partner the token belongs to (use it to check a token).",
            query: &[],
            request_schema: None,
            response_schema: schema::of::<PartnerAnswer>,
            handler: get(partner),
        },
        ApiRoute {
            method: Method::POST,
            path: "/api/v1/customers",
            access: Access::Token,
            summary: "Registers or updates the backup platform's customers, one or up to 1,000 per call, keyed by your own reference; they then appear on the Customer Map. A batch answers per customer; a single invalid customer answers 422 naming the field.",
            query: &[],
            request_schema: Some(crate::machine_api::customers::request_schema),
            response_schema: crate::machine_api::customers::response_schema,
            handler: axum::routing::post(crate::machine_api::customers::upsert),
        },
        ApiRoute {
            method: Method::POST,
            path: "/api/v1/events",
            access: Access::Token,
            summary: "Backup events, one or up to 1,000 per call. Each is stored before the answer; the same id twice is one event. A batch answers per event; a single invalid event answers 422 naming the field.",
            query: &[],
            request_schema: Some(crate::machine_api::events::request_schema),
            response_schema: crate::machine_api::events::response_schema,
            handler: axum::routing::post(crate::machine_api::events::receive),
        },
        ApiRoute {
            method: Method::POST,
            path: "/api/v1/usage",
            access: Access::Token,
            summary: "Usage per customer, product and billing month (the current quantity), one or up to 1,000 per call; the same customer, product and month again replaces it. A single invalid report answers 422 naming the field.",
            query: &[],
            request_schema: Some(crate::machine_api::usage::request_schema),
            response_schema: crate::machine_api::usage::response_schema,
            handler: axum::routing::post(crate::machine_api::usage::receive),
        },
        ApiRoute {
            method: Method::GET,
            path: "/api/v1/backup-users",
            access: Access::Token,
            summary: "Backup users to provision, as a change feed: every change after `changed_since`, oldest first, deleted users included (`deleted: true`). Store `next_cursor` and send it as `changed_since` on the next call; while `has_more`, ask again at once. A change appears a few seconds after it is made.",
            query: &[
                ("changed_since", "The `next_cursor` of the previous answer, or an RFC 3339 time; absent: from the beginning."),
                ("limit", "Users per page, 1 to 1,000 (default 500)."),
            ],
            request_schema: None,
            response_schema: backup_users::feed_schema,
            handler: get(backup_users::feed),
        },
        ApiRoute {
            method: Method::GET,
            path: "/api/v1/customers",
            access: Access::Token,
            summary: "The customers the customer sync keeps up to date from Autotask, with their synced details (address, phones, email, web site) and contracts (vendor, overall cost), as a change feed: every change after `changed_since`, oldest first; a company that stopped being an active Customer comes with `active: false`. Store `next_cursor` and send it as `changed_since` next time; while `has_more`, ask again at once.",
            query: &[
                ("changed_since", "The `next_cursor` of the previous answer, or an RFC 3339 time; absent: from the beginning."),
                ("limit", "Customers per page, 1 to 1,000 (default 500)."),
            ],
            request_schema: None,
            response_schema: synced::feed_schema,
            handler: get(synced::feed),
        },
        ApiRoute {
            method: Method::GET,
            path: "/api/v1/runs",
            access: Access::Token,
            summary: "The partner's runs (imports, contact imports, sync rounds, billing pushes and undos, connection tests, test tickets) with their outcome and counts, as a feed in the order they ended. Store `next_cursor` and send it as `changed_since` next time; while `has_more`, ask again at once. A run appears a few seconds after it ends and never changes.",
            query: &[
                ("changed_since", "The `next_cursor` of the previous answer, or an RFC 3339 time; absent: from the beginning."),
                ("limit", "Runs per page, 1 to 1,000 (default 500)."),
            ],
            request_schema: None,
            response_schema: runs::feed_schema,
            handler: get(runs::feed),
        },
        ApiRoute {
            method: Method::GET,
            path: "/api/v1/destinations",
            access: Access::Token,
            summary: "The partner's storage destinations (bucket, container or root folder at a provider), retired ones flagged.",
            query: &[],
            request_schema: None,
            response_schema: backup_users::destinations_schema,
            handler: get(backup_users::destinations),
        },
        ApiRoute {
            method: Method::GET,
            path: "/api/v1/packages",
            access: Access::Token,
            summary: "The partner's packages (storage quotas in GB; null is unlimited), retired ones flagged.",
            query: &[],
            request_schema: None,
            response_schema: backup_users::packages_schema,
            handler: get(backup_users::packages),
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
    // Unknown paths under /api/v1 answer the API's JSON 404, not the console's HTML page
    // (the site's fallback handles everything else).
    let no_route = || async { ApiError::NotFound("There is no such API route. See /api/v1/openapi.json.".into()) };
    router
        .route("/api/v1", axum::routing::any(no_route))
        .route("/api/v1/{*rest}", axum::routing::any(no_route))
        .layer(axum::extract::DefaultBodyLimit::max(crate::machine_api::body::MAX_BODY_BYTES))
}

async fn require_token(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim);
    let Some(token) = bearer else {
        return ApiError::Unauthorized("Send the partner API token as `Authorization: Bearer <token>`.".into()).into_response();
    };
    match state.tokens.authenticate(token).await {
        Ok(Some(caller)) => {
            req.extensions_mut().insert(caller);
            next.run(req).await
        }
        Ok(None) => {
            ApiError::Unauthorized("The API token is unknown or was revoked. Create a new one on the API tokens page.".into()).into_response()
        }
        Err(_) => ApiError::Unavailable("Taskbridge cannot check tokens right now; retry shortly.".into()).into_response(),
    }
}

async fn health(State(state): State<AppState>) -> Response {
    let db_ok = state.db.ping().await;
    let status = if db_ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let answer = HealthAnswer { status: if db_ok { "ok" } else { "degraded" }.into(), database: if db_ok { "ok" } else { "unreachable" }.into() };
    (status, Json(answer)).into_response()
}

/// The partner a token belongs to.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct PartnerAnswer {
    /// Taskbridge's id of the partner.
    pub partner_id: i64,
    /// Its name.
    pub name: String,
    /// The token's name (API tokens page).
    pub token_name: String,
}

/// Liveness, and whether the database answers.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct HealthAnswer {
    /// ok, or degraded when the database does not answer.
    pub status: String,
    /// ok or unreachable.
    pub database: String,
}

async fn partner(State(state): State<AppState>, Extension(caller): Extension<ApiCaller>) -> Result<Json<PartnerAnswer>, ApiError> {
    match crate::db::partners::name(&state.db, caller.partner_id).await {
        Ok(Some(name)) => Ok(Json(PartnerAnswer { partner_id: caller.partner_id, name, token_name: caller.token_name })),
        Ok(None) => Err(ApiError::Unauthorized("The partner of this token no longer exists.".into())),
        Err(e) => {
            crate::error::internal(e);
            Err(ApiError::Internal("Something went wrong on our side; it has been logged.".into()))
        }
    }
}

async fn openapi() -> Json<Value> {
    Json(openapi_document())
}

/// The OpenAPI 3.1 description of every route in [`routes`].
pub fn openapi_document() -> Value {
    let error_schema = schema::of::<error::ErrorBody>();
    let mut paths = serde_json::Map::new();
    for route in routes() {
        let mut responses = serde_json::Map::new();
        responses.insert("200".into(), json!({"description": "OK", "content": {"application/json": {"schema": (route.response_schema)()}}}));
        if route.access == Access::Token {
            responses.insert("401".into(), json!({"description": "Missing, unknown or revoked token", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}));
        }
        let mut operation = json!({"summary": route.summary, "responses": responses});
        if !route.query.is_empty() {
            let parameters: Vec<Value> = route
                .query
                .iter()
                .map(|(name, description)| json!({"name": name, "in": "query", "required": false, "description": description, "schema": {"type": "string"}}))
                .collect();
            operation["parameters"] = json!(parameters);
            operation["responses"]["422"] = json!({"description": "A query parameter is invalid; `error.field` names it", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
        }
        if let Some(schema) = route.request_schema {
            operation["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": schema()}}});
            operation["responses"]["400"] = json!({"description": "The body is not valid JSON or not of this shape, or holds no items or too many", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
            operation["responses"]["422"] = json!({"description": "The one item sent alone is invalid; `error.field` names the field (a batch answers per item with 200)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
            operation["responses"]["503"] = json!({"description": "Taskbridge could not store the call; nothing of it was; retrying is safe", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
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

#[cfg(test)]
mod tests {
    use super::*;

    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    out.push(r.clone());
                }
                map.values().for_each(|v| refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }

    #[test]
    fn every_reference_in_the_document_resolves() {
        let doc = openapi_document();
        let mut found = Vec::new();
        refs(&doc, &mut found);
        assert!(!found.is_empty());
        for r in found {
            let name = r.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("unexpected reference {r}"));
            assert!(doc["components"]["schemas"][name].is_object(), "{r} points nowhere");
        }
    }

    #[test]
    fn the_document_is_built_from_the_types() {
        let doc = openapi_document();
        let events = &doc["paths"]["/api/v1/events"]["post"];
        let event = &events["requestBody"]["content"]["application/json"]["schema"]["oneOf"][0];
        assert_eq!(event["title"], "Event");
        assert!(event["properties"]["type"]["enum"].as_array().unwrap().iter().any(|t| t == "backup_failed"), "{event}");
        assert!(event["properties"]["device"]["description"].as_str().unwrap().contains("FS01"), "doc comments become descriptions");
        assert_eq!(event["properties"]["id"]["maxLength"], 200);
        let answer = &events["responses"]["200"]["content"]["application/json"]["schema"];
        let status = &answer["properties"]["results"]["items"]["properties"]["status"]["oneOf"][0];
        assert_eq!(status["enum"], json!(["accepted", "duplicate", "invalid"]), "{answer}");
        assert!(events["responses"]["422"].is_object());
        let usage = &doc["paths"]["/api/v1/usage"]["post"]["requestBody"]["content"]["application/json"]["schema"];
        assert!(usage["oneOf"][1]["properties"]["usage"]["items"]["properties"]["product"]["enum"].as_array().is_some_and(|p| !p.is_empty()));
        let error = &doc["components"]["schemas"]["Error"];
        assert!(error["properties"]["error"]["oneOf"][0]["properties"]["code"].is_object(), "{error}");
    }
}
