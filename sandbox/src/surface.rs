//! The API surface, taken from Autotask's own Swagger document (`surface.json`, produced by
//! `tools/extract_surface.py`): which routes exist, with which methods, for which entity,
//! and each entity's fields. Routing by this table gives the real API's 404 vs 405.

use serde::Deserialize;
use std::sync::OnceLock;

/// One field of an entity model.
#[derive(Debug, Clone, Deserialize)]
pub struct ModelField {
    /// camelCase name, as responses use it.
    pub name: String,
    /// Swagger type: integer, number, string, boolean, array.
    #[serde(rename = "type")]
    pub kind: String,
    /// Swagger format: int32, int64, double, date-time.
    pub format: Option<String>,
}

impl ModelField {
    /// The `dataType` reported by `entityInformation/fields`.
    pub fn data_type(&self) -> &'static str {
        match (self.kind.as_str(), self.format.as_deref()) {
            ("integer", Some("int64")) => "long",
            ("integer", _) => "integer",
            ("number", _) => "double",
            ("boolean", _) => "boolean",
            ("string", Some("date-time")) => "datetime",
            _ => "string",
        }
    }
}

#[derive(Debug, Deserialize)]
struct RawModel {
    fields: Vec<ModelField>,
}

#[derive(Debug, Deserialize)]
struct RawRoute {
    path: String,
    entity: String,
    methods: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct RawSurface {
    routes: Vec<RawRoute>,
    models: std::collections::BTreeMap<String, RawModel>,
}

/// A route template such as `/V1.0/Companies/{parentId}/Contacts/{id}`.
#[derive(Debug, Clone)]
pub struct Route {
    /// Segments after `V1.0`, lower-cased literals or `{param}`.
    pub segments: Vec<String>,
    /// The entity served.
    pub entity: &'static str,
    /// Allowed methods.
    pub methods: Vec<String>,
}

/// The whole surface.
#[derive(Debug)]
pub struct Surface {
    /// Routes in Swagger order.
    pub routes: Vec<Route>,
    /// Entity name → fields.
    pub models: Vec<(&'static str, Vec<ModelField>)>,
}

/// The entities the sandbox serves, with their singular names (entityInformation `name`).
pub const ENTITIES: &[(&str, &str)] = &[
    ("Companies", "Company"),
    ("Contacts", "Contact"),
    ("Countries", "Country"),
    ("Currencies", "Currency"),
    ("Contracts", "Contract"),
    ("ContractServices", "ContractService"),
    ("ContractServiceAdjustments", "ContractServiceAdjustment"),
    ("ContractServiceBundles", "ContractServiceBundle"),
    ("ContractServiceUnits", "ContractServiceUnit"),
    ("Services", "Service"),
    ("ServiceBundles", "ServiceBundle"),
    ("ServiceBundleServices", "ServiceBundleService"),
    ("Tickets", "Ticket"),
    ("TicketNotes", "TicketNote"),
    ("Resources", "Resource"),
    ("CompanyWebhooks", "CompanyWebhook"),
    ("CompanyWebhookFields", "CompanyWebhookField"),
    ("CompanyWebhookUdfFields", "CompanyWebhookUdfField"),
    ("CompanyWebhookExcludedResources", "CompanyWebhookExcludedResource"),
    ("WebhookEventErrorLogs", "WebhookEventErrorLog"),
];

fn intern(name: &str) -> &'static str {
    ENTITIES.iter().map(|(e, _)| *e).find(|e| *e == name).unwrap_or("Unknown")
}

/// The parsed surface (parsed once).
pub fn surface() -> &'static Surface {
    static SURFACE: OnceLock<Surface> = OnceLock::new();
    SURFACE.get_or_init(|| {
        let raw: RawSurface = serde_json::from_str(include_str!("surface.json")).unwrap_or_else(|e| panic!("surface.json is invalid: {e}"));
        let routes = raw
            .routes
            .into_iter()
            .map(|r| Route {
                segments: r.path.split('/').skip(2).map(|s| if s.starts_with('{') { s.to_string() } else { s.to_ascii_lowercase() }).collect(),
                entity: intern(&r.entity),
                methods: r.methods,
            })
            .collect();
        let models = raw.models.into_iter().map(|(k, v)| (intern(&k), v.fields)).collect();
        Surface { routes, models }
    })
}

impl Surface {
    /// The fields of an entity.
    pub fn fields(&self, entity: &str) -> &[ModelField] {
        self.models.iter().find(|(e, _)| *e == entity).map(|(_, f)| f.as_slice()).unwrap_or(&[])
    }

    /// The canonical (camelCase) name of a field, matched case-insensitively.
    pub fn field<'a>(&'a self, entity: &str, name: &str) -> Option<&'a ModelField> {
        self.fields(entity).iter().find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// Whether a method is allowed on a route template of this entity.
    pub fn allows(&self, entity: &str, template: &str, method: &str) -> bool {
        let segments: Vec<String> =
            template.split('/').filter(|s| !s.is_empty()).map(|s| if s.starts_with('{') { s.to_string() } else { s.to_ascii_lowercase() }).collect();
        self.routes.iter().any(|r| r.entity == entity && r.segments == segments && r.methods.iter().any(|m| m == method))
    }
}

/// The result of matching a request path.
#[derive(Debug)]
pub enum RouteMatch<'a> {
    /// A route exists and allows the method; path parameters by name.
    Found(&'a Route, Vec<(String, String)>),
    /// The path exists, the method does not.
    MethodNotAllowed,
    /// No such path.
    NotFound,
}

/// Matches `segments` (after `V1.0`) case-insensitively against the templates.
pub fn match_route<'a>(surface: &'a Surface, method: &str, segments: &[&str]) -> RouteMatch<'a> {
    let mut path_exists = false;
    for route in &surface.routes {
        if route.segments.len() != segments.len() {
            continue;
        }
        let mut params = Vec::new();
        let ok = route.segments.iter().zip(segments).all(|(t, s)| {
            if t.starts_with('{') {
                // Ids are integers; anything else does not match the template.
                if s.parse::<i64>().is_ok() {
                    params.push((t.trim_matches(|c| c == '{' || c == '}').to_string(), s.to_string()));
                    true
                } else {
                    false
                }
            } else {
                t.eq_ignore_ascii_case(s)
            }
        });
        if ok {
            path_exists = true;
            if route.methods.iter().any(|m| m == method) {
                return RouteMatch::Found(route, params);
            }
        }
    }
    if path_exists {
        RouteMatch::MethodNotAllowed
    } else {
        RouteMatch::NotFound
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_case_insensitively_with_integer_ids() {
        let s = surface();
        assert!(matches!(match_route(s, "GET", &["companies", "query"]), RouteMatch::Found(r, _) if r.entity == "Companies"));
        match match_route(s, "POST", &["Tickets", "42", "notes"]) {
            RouteMatch::Found(r, params) => {
                assert_eq!(r.entity, "TicketNotes");
                assert_eq!(params, vec![("parentId".to_string(), "42".to_string())]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn wrong_methods_and_unknown_paths_are_told_apart() {
        let s = surface();
        assert!(matches!(match_route(s, "PATCH", &["Contracts", "30131266"]), RouteMatch::MethodNotAllowed));
        assert!(matches!(match_route(s, "POST", &["TicketNotes"]), RouteMatch::NotFound));
        assert!(matches!(match_route(s, "DELETE", &["Companies", "5"]), RouteMatch::MethodNotAllowed));
        assert!(matches!(match_route(s, "GET", &["Nonsense", "query"]), RouteMatch::NotFound));
    }

    #[test]
    fn contacts_have_integer_is_active_and_primary_contact() {
        let s = surface();
        assert_eq!(s.field("Contacts", "ISACTIVE").map(|f| f.kind.as_str()), Some("integer"));
        assert!(s.field("Contacts", "primaryContact").is_some());
        assert!(s.field("Contacts", "isPrimaryContact").is_none());
    }
}
