//! The metadata answers: entityInformation, its fields (with picklists) and UDFs, read
//! from the Swagger surface and the tenant's schema.

use super::*;

pub(super) fn entity_information(entity: &str) -> Value {
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

pub(super) fn field_information(entity: &str) -> Value {
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

pub(super) fn udf_information(entity: &str) -> Value {
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
