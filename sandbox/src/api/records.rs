//! Reading and writing records as the routes answer them: a page with Autotask's
//! pageDetails, counts, create, update (PATCH or PUT) and delete, children included.

use super::*;
use crate::webhooks::Change;

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

    pub(super) fn create(self: &Arc<Self>, entity: &str, body: Value, parent: Option<(&str, i64)>, by: i64) -> Result<Response, ApiError> {
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
        if let (Some(webhook), "CompanyWebhookFields" | "CompanyWebhookUdfFields") = (parent.map(|(_, p)| p), entity) {
            writes::refresh_webhook_ready(&mut tenant, webhook);
        }
        let created = (entity == "Companies").then(|| tenant.get(entity, id).cloned()).flatten();
        drop(tenant);
        self.mark_dirty();
        if let Some(after) = created {
            self.call_out(&Change { action: "Create", before: None, after: &after, person: by });
        }
        Ok(Json(json!({"itemId": id})).into_response())
    }

    /// A PATCH for tests and demos, outside the API: no credentials, budget, latency or
    /// faults, but the same checks and the same computed fields (`lastTrackedModifiedDateTime`,
    /// `lastModifiedDateTime`) as an API update. `entity` is matched case-insensitively.
    pub fn control_update(self: &Arc<Self>, entity: &str, body: Value) -> Result<Response, ApiError> {
        let Some(entity) = crate::surface::ENTITIES.iter().map(|(e, _)| *e).find(|e| e.eq_ignore_ascii_case(entity)) else {
            return Err(ApiError::status(http::StatusCode::NOT_FOUND, format!("There is no entity {entity}.")));
        };
        self.update(entity, body, None, false, CONTROL_RESOURCE_ID)
    }

    pub(super) fn update(
        self: &Arc<Self>,
        entity: &str,
        body: Value,
        parent: Option<(&str, i64)>,
        replace: bool,
        by: i64,
    ) -> Result<Response, ApiError> {
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
        let after = (entity == "Companies").then(|| merged.clone());
        tenant.replace(entity, id, merged);
        if let (Some(webhook), "CompanyWebhookFields" | "CompanyWebhookUdfFields") = (parent.map(|(_, p)| p), entity) {
            writes::refresh_webhook_ready(&mut tenant, webhook);
        }
        drop(tenant);
        self.mark_dirty();
        if let Some(after) = after {
            self.call_out(&Change { action: "Update", before: Some(&before), after: &after, person: by });
        }
        Ok(Json(json!({"itemId": id})).into_response())
    }

    pub(super) fn delete(&self, entity: &str, id: i64, parent: Option<(&str, i64)>) -> Result<Response, ApiError> {
        let mut tenant = self.write();
        let belongs = tenant.get(entity, id).is_some_and(|r| parent.is_none_or(|(f, p)| r.get(f).and_then(Value::as_i64) == Some(p)));
        if !belongs {
            return Err(ApiError::server(
                "No matching records found. The logged in Resource may not have the required permissions to delete the data.",
            ));
        }
        tenant.remove(entity, id);
        if entity == "CompanyWebhooks" {
            // A webhook's fields and excluded resources go with it.
            for child in ["CompanyWebhookFields", "CompanyWebhookUdfFields", "CompanyWebhookExcludedResources"] {
                for child_id in tenant.children(child, "webhookID", id) {
                    tenant.remove(child, child_id);
                }
            }
        }
        if let (Some((_, webhook)), "CompanyWebhookFields" | "CompanyWebhookUdfFields") = (parent, entity) {
            writes::refresh_webhook_ready(&mut tenant, webhook);
        }
        drop(tenant);
        self.mark_dirty();
        Ok(Json(json!({"itemId": id})).into_response())
    }
}
