//! The HTTP face of the sandbox: `/ATServicesRest/...` exactly as a real zone answers it,
//! in this order: zone discovery (no auth), authentication, hourly budget, routing
//! (404/405 from the Swagger surface), the per-entity thread limit, injected faults, then
//! the operation itself.

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
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// The fixed sandbox API user.
pub const USERNAME: &str = "sandbox-api@taskbridge.local";
/// Its secret.
pub const SECRET: &str = "sandbox-secret";
/// The accepted API integration code (tracking identifier).
pub const INTEGRATION_CODE: &str = "TASKBRIDGE-SANDBOX";
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

async fn handle_inner(sb: &Sandbox, method: &Method, uri: &Uri, headers: &HeaderMap, body: &Bytes) -> Result<Response, ApiError> {
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
    let faults = sb.faults();
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
        (&Method::POST, None) => sb.create(entity, body_json()?, parent.map(|p| (parent_field(entity), p))),
        (&Method::PATCH, None) => sb.update(entity, body_json()?, parent.map(|p| (parent_field(entity), p)), false),
        (&Method::PUT, None) => sb.update(entity, body_json()?, parent.map(|p| (parent_field(entity), p)), true),
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

fn entity_information(entity: &str) -> Value {
    let s = surface();
    let any = |m: &str| {
        s.routes
            .iter()
            .any(|r| r.entity == entity && r.methods.iter().any(|x| x == m) && !r.segments.last().is_some_and(|l| l == "query" || l == "count"))
    };
    json!({"info": {
        "name": singular(entity),
        "canCreate": any("POST"),
        "canDelete": any("DELETE"),
        "canQuery": s.routes.iter().any(|r| r.entity == entity && r.segments.last().is_some_and(|l| l == "query")),
        "canUpdate": any("PATCH"),
        "userAccessForCreate": "All",
        "userAccessForDelete": "All",
        "userAccessForQuery": "All",
        "userAccessForUpdate": "All",
        "hasUserDefinedFields": !schema::udfs(entity).is_empty(),
        "supportsWebhookCallouts": schema::supports_webhooks(entity),
    }})
}

fn field_information(entity: &str) -> Value {
    let fields: Vec<Value> = surface()
        .fields(entity)
        .iter()
        .filter(|f| f.name != "userDefinedFields")
        .map(|f| {
            let picklist = schema::picklist(entity, &f.name).is_some();
            let reference = schema::reference(entity, &f.name);
            json!({
                "name": f.name,
                "dataType": f.data_type(),
                "length": if f.data_type() == "string" { 100 } else { 0 },
                "isRequired": schema::required(entity).contains(&f.name.as_str()),
                "isReadOnly": schema::read_only(entity, &f.name),
                "isQueryable": schema::queryable(entity, &f.name),
                "isReference": reference.is_some(),
                "referenceEntityType": reference.map(singular).unwrap_or(""),
                "isPickList": picklist,
                "picklistValues": schema::picklist_json(entity, &f.name),
                "picklistParentValueField": schema::picklist_parent(entity, &f.name).unwrap_or(""),
                "isSupportedWebhookField": schema::supports_webhooks(entity),
            })
        })
        .collect();
    json!({"fields": fields})
}

fn udf_information(entity: &str) -> Value {
    let fields: Vec<Value> = schema::udfs(entity)
        .iter()
        .map(|(name, kind)| {
            json!({
                "name": name, "label": name, "type": kind, "length": 8000, "description": format!("{name} (sandbox UDF)"),
                "isRequired": false, "isReadOnly": false, "isQueryable": true, "isReference": false, "referenceEntityType": "",
                "isPickList": false, "picklistValues": null, "picklistParentValueField": "", "defaultValue": null, "isSupportedWebhookField": false,
            })
        })
        .collect();
    json!({"fields": fields})
}

impl Sandbox {
    /// One page of results with Autotask's pageDetails. `get_search` is the original
    /// query when it came by GET (so the next page can be fetched by GET too).
    /// Serialised while the read lock is held, so records are never copied.
    pub fn page(&self, entity: &str, q: &Query, paging: &Value, base: &str, get_search: Option<&Value>) -> String {
        let tenant = self.read();
        let empty = std::collections::BTreeMap::new();
        let rows = tenant.rows(entity).unwrap_or(&empty);
        let next_from = paging.get("nextIds").and_then(Value::as_array).and_then(|a| a.first()).and_then(Value::as_i64);
        let prev_before =
            paging.get("previousIds").and_then(Value::as_array).and_then(|a| a.first()).and_then(Value::as_i64).filter(|_| next_from.is_none());
        let keep = |r: &&Record| q.filter.iter().all(|f| query::matches(f, r));
        let n = q.max_records;
        let (page, more): (Vec<&Record>, Option<i64>) = if let Some(before) = prev_before {
            let mut back: Vec<&Record> = rows.range(..before).rev().map(|(_, r)| r).filter(keep).take(n).collect();
            back.reverse();
            (back, Some(before))
        } else {
            let start = query::min_id(&q.filter).max(next_from.unwrap_or(i64::MIN));
            let mut matching = rows.range(start..).map(|(_, r)| r).filter(keep);
            let found: Vec<&Record> = matching.by_ref().take(n).collect();
            // The first id of the next page: one look past the page.
            let next_id = matching.next().and_then(|r| r.get("id")).and_then(Value::as_i64);
            (found, next_id)
        };
        let first_id = page.first().and_then(|r| r.get("id")).and_then(Value::as_i64);
        let url = |paging: Value| {
            let mut u = format!("{base}/ATServicesRest/V1.0/{entity}/query/next?paging={}", encode(&paging.to_string()));
            if let Some(search) = get_search {
                u.push_str(&format!("&search={}", encode(&search.to_string())));
            }
            u
        };
        let next_page_url = match (prev_before, more) {
            (None, Some(next_id)) => Value::from(url(json!({"pageSize": n, "previousIds": [first_id], "nextIds": [next_id]}))),
            (Some(before), _) => Value::from(url(json!({"pageSize": n, "previousIds": [first_id], "nextIds": [before]}))),
            _ => Value::Null,
        };
        // Only rows at or above the filter's own lower id bound can precede the page.
        let floor = query::min_id(&q.filter);
        let is_first = first_id.is_none_or(|f| f <= floor || !rows.range(floor..f).map(|(_, r)| r).any(|r| keep(&r)));
        let prev_page_url = if is_first || first_id.is_none() {
            Value::Null
        } else {
            Value::from(url(json!({"pageSize": n, "previousIds": [first_id], "nextIds": []})))
        };
        let details = json!({"count": page.len(), "requestCount": n, "prevPageUrl": prev_page_url, "nextPageUrl": next_page_url});
        let body = match &q.include_fields {
            None => serde_json::to_string(&PageBody { items: &page, page_details: &details }),
            Some(_) => {
                let items: Vec<Value> = page.iter().map(|r| query::project(r, &q.include_fields)).collect();
                serde_json::to_string(&PageBody { items: &items, page_details: &details })
            }
        };
        body.unwrap_or_else(|e| json!({"errors": [e.to_string()]}).to_string())
    }

    /// `query/count`.
    pub fn count(&self, entity: &str, q: &Query) -> usize {
        let tenant = self.read();
        let start = query::min_id(&q.filter);
        tenant.rows(entity).map_or(0, |rows| rows.range(start..).filter(|(_, r)| q.filter.iter().all(|f| query::matches(f, r))).count())
    }

    fn create(&self, entity: &str, body: Value, parent: Option<(&str, i64)>) -> Result<Response, ApiError> {
        let mut values = writes::normalise(entity, &body, true)?;
        if let Some((field, id)) = parent {
            values.insert(field.to_string(), Value::from(id));
        }
        let mut tenant = self.write();
        if let Some((field, id)) = parent {
            let parent_entity = schema::reference(entity, field).unwrap_or("Companies");
            if tenant.get(parent_entity, id).is_none() {
                return Err(ApiError::server(format!(
                    "Reference value on field: {field} of type: {} does not exist or is invalid.",
                    singular(parent_entity)
                )));
            }
        }
        writes::validate(&tenant, entity, &values, &values, true)?;
        if entity == "ContractServiceAdjustments" {
            crate::billing::apply_adjustment(&mut tenant, &mut values)?;
        }
        writes::on_create(&mut tenant, entity, &mut values);
        let id = tenant.insert(entity, values);
        drop(tenant);
        self.mark_dirty();
        Ok(Json(json!({"itemId": id})).into_response())
    }

    fn update(&self, entity: &str, body: Value, parent: Option<(&str, i64)>, replace: bool) -> Result<Response, ApiError> {
        let changed = writes::normalise(entity, &body, false)?;
        let Some(id) = changed.get("id").and_then(|v| v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok()))) else {
            return Err(ApiError::server("id is required for an update. Send it in the body; PATCH and PUT go to the collection URL."));
        };
        let mut tenant = self.write();
        let Some(before) = tenant.get(entity, id).cloned() else {
            return Err(ApiError::server(
                "No matching records found. The logged in Resource may not have the required permissions to update the data.",
            ));
        };
        if let Some((field, pid)) = parent {
            if before.get(field).and_then(Value::as_i64) != Some(pid) {
                return Err(ApiError::server(
                    "No matching records found. The logged in Resource may not have the required permissions to update the data.",
                ));
            }
        }
        let mut merged = before.clone();
        if replace {
            for field in surface().fields(entity) {
                if !schema::read_only(entity, &field.name) && field.name != "userDefinedFields" && parent.is_none_or(|(f, _)| f != field.name) {
                    merged.insert(field.name.clone(), Value::Null);
                }
            }
        }
        for (k, v) in &changed {
            if k == "userDefinedFields" {
                let mut list = merged.get("userDefinedFields").and_then(Value::as_array).cloned().unwrap_or_default();
                for u in v.as_array().into_iter().flatten() {
                    let name = u.get("name").or_else(|| u.get("Name")).and_then(Value::as_str).unwrap_or_default();
                    let value = u.get("value").or_else(|| u.get("Value")).cloned().unwrap_or(Value::Null);
                    if let Some(slot) = list.iter_mut().find(|x| x.get("name").and_then(Value::as_str).is_some_and(|n| n.eq_ignore_ascii_case(name)))
                    {
                        slot["value"] = value;
                    }
                }
                merged.insert(k.clone(), Value::Array(list));
            } else {
                merged.insert(k.clone(), v.clone());
            }
        }
        writes::validate(&tenant, entity, &merged, &changed, replace)?;
        writes::on_update(entity, &before, &mut merged);
        tenant.replace(entity, id, merged);
        drop(tenant);
        self.mark_dirty();
        Ok(Json(json!({"itemId": id})).into_response())
    }

    fn delete(&self, entity: &str, id: i64, parent: Option<(&str, i64)>) -> Result<Response, ApiError> {
        let mut tenant = self.write();
        let belongs = tenant.get(entity, id).is_some_and(|r| parent.is_none_or(|(f, p)| r.get(f).and_then(Value::as_i64) == Some(p)));
        if !belongs {
            return Err(ApiError::server(
                "No matching records found. The logged in Resource may not have the required permissions to delete the data.",
            ));
        }
        tenant.remove(entity, id);
        drop(tenant);
        self.mark_dirty();
        Ok(Json(json!({"itemId": id})).into_response())
    }
}
