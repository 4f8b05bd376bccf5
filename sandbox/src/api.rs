//! The HTTP face of the sandbox: `/ATServicesRest/...` exactly as a real zone answers it,
//! in this order: zone discovery (no auth), authentication, hourly budget, routing
//! (404/405 from the Swagger surface), the per-entity thread limit, injected faults, then
//! the operation itself.

mod info;
mod records;

use crate::error::ApiError;
use crate::faults::Injected;
use crate::limits::Budget;
use crate::query::{self, Query};
use crate::store::Record;
use crate::surface::{match_route, surface, RouteMatch, ENTITIES};
use crate::{schema, writes, Sandbox};
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::{HeaderMap, Method, StatusCode, Uri};
use info::{entity_information, field_information, udf_information};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// The fixed sandbox API user.
pub const USERNAME: &str = "sandbox-api@taskbridge.local";
/// Its secret.
pub const SECRET: &str = "sandbox-secret";
/// The accepted API integration code (tracking identifier).
pub const INTEGRATION_CODE: &str = "TASKBRIDGE-SANDBOX";
/// The Resource of the API user (its writes carry it as the webhook `PersonID`).
pub const API_RESOURCE_ID: i64 = crate::generate::RESOURCES[0].0;
/// The Resource an edit through the control endpoint is made by (a person in Autotask).
pub const CONTROL_RESOURCE_ID: i64 = crate::generate::RESOURCES[1].0;
/// A second API user whose security level grants no entity access (403 on everything).
pub const NO_ACCESS_USERNAME: &str = "noaccess-api@taskbridge.local";

fn singular(entity: &str) -> &'static str {
    ENTITIES.iter().find(|(e, _)| *e == entity).map(|(_, s)| *s).unwrap_or("Entity")
}

fn parent_field(entity: &str) -> &'static str {
    match entity {
        "Contacts" => "companyID",
        "ContractServices" | "ContractServiceAdjustments" | "ContractServiceUnits" | "ContractServiceBundles" => "contractID",
        "ServiceBundleServices" => "serviceBundleID",
        "TicketNotes" => "ticketID",
        "CompanyWebhookFields" | "CompanyWebhookUdfFields" | "CompanyWebhookExcludedResources" => "webhookID",
        _ => "id",
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim)
}

fn query_params(uri: &Uri) -> HashMap<String, String> {
    uri.query()
        .map(|q| {
            q.split('&')
                .map(|pair| {
                    let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                    (decode(k).to_ascii_lowercase(), decode(v))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"), 16) {
                Ok(b) => {
                    out.push(b);
                    i += 2;
                }
                Err(_) => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encodes a query-string value.
pub fn encode(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len() * 3);
    for b in raw.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Entry point for everything under `/ATServicesRest/`.
pub async fn handle(State(sb): State<Arc<Sandbox>>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    match handle_inner(&sb, &method, &uri, &headers, &body).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn handle_inner(sb: &Arc<Sandbox>, method: &Method, uri: &Uri, headers: &HeaderMap, body: &Bytes) -> Result<Response, ApiError> {
    let path = uri.path();
    let full_uri = uri.to_string();
    // Long GET URLs are refused by IIS before the API sees them.
    if full_uri.len() > 2048 {
        return Err(ApiError::no_route(&full_uri));
    }
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).skip(1).collect();
    if segments.first().is_some_and(|s| s.eq_ignore_ascii_case("versioninformation")) {
        return Ok(Json(json!({"apiVersions": ["1.0"]})).into_response());
    }
    if !segments.first().is_some_and(|s| s.eq_ignore_ascii_case("v1.0")) {
        return Err(ApiError::no_route(&full_uri));
    }
    let segments = &segments[1..];
    let base = base_url(headers);
    if segments.len() == 1 && segments[0].eq_ignore_ascii_case("zoneinformation") {
        if method != Method::GET {
            return Err(ApiError::method(method.as_str()));
        }
        let user = query_params(uri).get("user").cloned().unwrap_or_default();
        if !user.eq_ignore_ascii_case(USERNAME) && !user.eq_ignore_ascii_case(NO_ACCESS_USERNAME) {
            return Err(ApiError::server("Zone information could not be determined"));
        }
        sb.zone_moved.store(false, std::sync::atomic::Ordering::SeqCst);
        return Ok(Json(
            json!({"zoneName": "Taskbridge Sandbox", "url": format!("{base}/ATServicesRest/"), "webUrl": format!("{base}/"), "ci": 1_000_001}),
        )
        .into_response());
    }

    // Authentication (header names are case-insensitive in HeaderMap).
    let user = header(headers, "username").unwrap_or_default();
    let known_user = user.eq_ignore_ascii_case(USERNAME) || user.eq_ignore_ascii_case(NO_ACCESS_USERNAME);
    if !known_user {
        return Err(ApiError::server("Zone information could not be determined"));
    }
    if header(headers, "secret") != Some(SECRET) {
        return Err(ApiError::unauthorized());
    }
    let code = header(headers, "apiintegrationcode").unwrap_or_default().to_string();
    if !code.eq_ignore_ascii_case(INTEGRATION_CODE) {
        return Err(ApiError::server("IntegrationCode is invalid."));
    }
    if sb.zone_moved.load(std::sync::atomic::Ordering::SeqCst) {
        return Err(ApiError::unauthorized());
    }

    // Which thread bucket (entity) the call belongs to.
    let bucket = bucket_of(segments);
    match sb.limits.count_request(&bucket) {
        Budget::Exceeded => {
            return Err(ApiError::status(
                StatusCode::TOO_MANY_REQUESTS,
                format!("The request threshold of {} requests per 60 minutes has been exceeded for this database. API access is suspended until usage falls below the threshold.", sb.limits.hourly_threshold),
            ))
        }
        Budget::Slow(delay) => tokio::time::sleep(delay).await,
        Budget::Fine => {}
    }

    let is_threshold = segments.len() == 1 && segments[0].eq_ignore_ascii_case("thresholdinformation");
    let is_next = segments.len() == 3 && segments[1].eq_ignore_ascii_case("query") && segments[2].eq_ignore_ascii_case("next");
    let route = if is_threshold || is_next {
        None
    } else {
        match match_route(surface(), method.as_str(), segments) {
            RouteMatch::Found(route, params) => Some((route, params)),
            RouteMatch::MethodNotAllowed => return Err(ApiError::method(method.as_str())),
            RouteMatch::NotFound => return Err(ApiError::no_route(&full_uri)),
        }
    };
    if is_threshold && method != Method::GET {
        return Err(ApiError::method(method.as_str()));
    }

    let Some(_permit) = sb.limits.acquire(&code, &bucket) else {
        return Err(ApiError::status(
            StatusCode::TOO_MANY_REQUESTS,
            "Thread Threshold Exceeded — The Autotask API thread threshold of 3 threads has been exceeded for this integration and entity. (Itgenatr005)",
        ));
    };
    let faults = sb.faults().for_entity(&bucket);
    let latency = faults.latency(&sb.dice);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    match faults.decide(&sb.dice) {
        Injected::None => {}
        Injected::Throttle => {
            return Err(ApiError::status(
                StatusCode::TOO_MANY_REQUESTS,
                "Thread Threshold Exceeded — The Autotask API thread threshold of 3 threads has been exceeded. (Itgenatr005)",
            ))
        }
        Injected::ServerError(503) => return Err(ApiError::status(StatusCode::SERVICE_UNAVAILABLE, "The service is unavailable.")),
        Injected::ServerError(_) => {
            let id = 50_000 + (sb.dice.roll() * 9_999.0) as i64;
            return Ok((StatusCode::INTERNAL_SERVER_ERROR, Json(json!({"errors": [format!("An unexpected error has occurred.  If the problem persists, please contact Autotask Support and reference Error ID: {id}.")], "errorId": id}))).into_response());
        }
        Injected::Malformed => {
            return Ok(
                (StatusCode::OK, [(http::header::CONTENT_TYPE, "application/json")], r#"{"items":[{"id":1,"companyName":"Trunc"#).into_response()
            );
        }
        Injected::Timeout(d) => {
            tokio::time::sleep(d).await;
            return Err(ApiError::server("The operation has timed out."));
        }
    }
    if user.eq_ignore_ascii_case(NO_ACCESS_USERNAME) && !is_threshold {
        return Err(ApiError::status(
            StatusCode::FORBIDDEN,
            format!("The logged in Resource does not have the adequate permissions to access the {} entity.", singular(&bucket)),
        ));
    }

    if is_threshold {
        return Ok(Json(json!({
            "externalRequestThreshold": sb.limits.hourly_threshold,
            "requestThresholdTimeframe": 60,
            "currentTimeframeRequestCount": sb.limits.hourly_count(),
        }))
        .into_response());
    }
    let body_json = || -> Result<Value, ApiError> {
        if body.is_empty() {
            return Err(ApiError::server("The request body is empty."));
        }
        serde_json::from_slice(body).map_err(|e| ApiError::server(format!("Unexpected character encountered while parsing the request body: {e}")))
    };
    if is_next {
        let entity = entity_named(segments[0]).ok_or_else(|| ApiError::no_route(&full_uri))?;
        let params = query_params(uri);
        let paging: Value = serde_json::from_str(params.get("paging").map(String::as_str).unwrap_or("{}")).unwrap_or(Value::Null);
        let (query_body, via_get) = match method {
            &Method::GET => match params.get("search") {
                Some(search) => {
                    (serde_json::from_str(search).map_err(|e| ApiError::server(format!("The search parameter is not valid JSON: {e}")))?, true)
                }
                // A POST query's next page must be POSTed with the same body.
                None => return Err(ApiError::method("GET")),
            },
            &Method::POST => (body_json()?, false),
            other => return Err(ApiError::method(other.as_str())),
        };
        let q = query::parse(entity, &query_body)?;
        return Ok(json_response(sb.page(entity, &q, &paging, &base, via_get.then_some(&query_body))));
    }

    let Some((route, params)) = route else {
        return Err(ApiError::no_route(&full_uri));
    };
    let entity = route.entity;
    let param = |name: &str| params.iter().find(|(k, _)| k == name).and_then(|(_, v)| v.parse::<i64>().ok());
    let parent = param("parentId");
    let last = segments.last().map(|s| s.to_ascii_lowercase()).unwrap_or_default();
    let template_tail: Vec<&str> = route.segments.iter().map(String::as_str).collect();

    // entityInformation family.
    if let Some(pos) = route.segments.iter().position(|s| s == "entityinformation") {
        let rest = &route.segments[pos + 1..];
        return Ok(Json(match rest.first().map(String::as_str) {
            None => entity_information(entity),
            Some("fields") => field_information(entity),
            _ => udf_information(entity),
        })
        .into_response());
    }
    // Queries and counts.
    if last == "query" || (last == "count" && template_tail.len() >= 2 && template_tail[template_tail.len() - 2] == "query") {
        let (q_body, via_get) = if method == Method::GET {
            let search =
                query_params(uri).get("search").cloned().ok_or_else(|| ApiError::server("The search parameter is required for a GET query."))?;
            (serde_json::from_str::<Value>(&search).map_err(|e| ApiError::server(format!("The search parameter is not valid JSON: {e}")))?, true)
        } else {
            (body_json()?, false)
        };
        let q = query::parse(entity, &q_body)?;
        if last == "count" {
            return Ok(Json(json!({"queryCount": sb.count(entity, &q)})).into_response());
        }
        return Ok(json_response(sb.page(entity, &q, &Value::Null, &base, via_get.then_some(&q_body))));
    }
    let is_child = parent.is_some();
    let id = param("id");
    // Who makes a write: the impersonated resource, or the API user's own.
    let by = header(headers, "impersonationresourceid").and_then(|v| v.parse::<i64>().ok()).unwrap_or(API_RESOURCE_ID);
    let answer = match (method, id) {
        (&Method::GET, Some(id)) => {
            let tenant = sb.read();
            let item = tenant.get(entity, id).filter(|r| !is_child || r.get(parent_field(entity)).and_then(Value::as_i64) == parent);
            match item {
                Some(r) => Ok(Json(json!({"item": r})).into_response()),
                None if sb.faults().missing_item_404 => Err(ApiError::status(StatusCode::NOT_FOUND, "No matching records found.")),
                None => Ok(Json(json!({"item": null})).into_response()),
            }
        }
        (&Method::GET, None) => {
            // Child collection list: everything under the parent, paged like a query.
            let parent_id = parent.unwrap_or_default();
            let q_body = json!({"filter": [{"op": "eq", "field": parent_field(entity), "value": parent_id}]});
            let q = query::parse(entity, &q_body)?;
            Ok(json_response(sb.page(entity, &q, &Value::Null, &base, Some(&q_body))))
        }
        (&Method::DELETE, Some(id)) => sb.delete(entity, id, parent.map(|p| (parent_field(entity), p))),
        (&Method::POST, None) => sb.create(entity, body_json()?, parent.map(|p| (parent_field(entity), p)), by),
        (&Method::PATCH, None) => sb.update(entity, body_json()?, parent.map(|p| (parent_field(entity), p)), false, by),
        (&Method::PUT, None) => sb.update(entity, body_json()?, parent.map(|p| (parent_field(entity), p)), true, by),
        _ => Err(ApiError::method(method.as_str())),
    };
    let is_write = matches!(*method, Method::POST | Method::PATCH | Method::PUT);
    if answer.is_ok() && is_write && faults.lose_write(&sb.dice) {
        // Applied, but the caller hears a timeout (the record exists all the same).
        return Err(ApiError::server("The operation has timed out."));
    }
    answer
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct PageBody<'a, T: serde::Serialize> {
    items: &'a [T],
    page_details: &'a Value,
}

fn json_response(body: String) -> Response {
    (StatusCode::OK, [(http::header::CONTENT_TYPE, "application/json; charset=utf-8")], body).into_response()
}

fn base_url(headers: &HeaderMap) -> String {
    let host = header(headers, "host").unwrap_or("127.0.0.1");
    let scheme = header(headers, "x-forwarded-proto").unwrap_or("http");
    format!("{scheme}://{host}")
}

fn entity_named(segment: &str) -> Option<&'static str> {
    ENTITIES.iter().map(|(e, _)| *e).find(|e| e.eq_ignore_ascii_case(segment))
}

/// The thread-limit bucket of a path: its entity (child routes count for the child).
fn bucket_of(segments: &[&str]) -> String {
    if segments.len() >= 3 && segments[1].parse::<i64>().is_ok() {
        let parent = segments[0];
        let child = segments[2];
        for route in &surface().routes {
            if route.segments.len() >= 3
                && route.segments[0].eq_ignore_ascii_case(parent)
                && route.segments[1] == "{parentId}"
                && route.segments[2].eq_ignore_ascii_case(child)
            {
                return route.entity.to_string();
            }
        }
    }
    segments.first().and_then(|s| entity_named(s)).map(str::to_string).unwrap_or_else(|| segments.first().copied().unwrap_or("").to_string())
}
