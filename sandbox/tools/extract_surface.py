#!/usr/bin/env python3
"""Extracts, from Autotask's official Swagger 2.0 document, the part of the REST API the
sandbox serves: every route (path template + methods) of the entities below, and each
entity's model (field names and types). Output: src/surface.json (committed).

It also copies the served entities' model definitions (and FieldInformationModel)
verbatim into tests/swagger-definitions.json, which the conformance test reads, so a
clean clone tests the sandbox against the official definitions without the 3 MB document.

Usage: python3 sandbox/tools/extract_surface.py ../shared/reference/autotask-swagger-v1.json
"""
import json, sys

ENTITIES = {
    "Companies": "CompanyModel",
    "Contacts": "ContactModel",
    "Countries": "CountryModel",
    "Currencies": "CurrencyModel",
    "Contracts": "ContractModel",
    "ContractServices": "ContractServiceModel",
    "ContractServiceAdjustments": "ContractServiceAdjustmentModel",
    "ContractServiceBundles": "ContractServiceBundleModel",
    "ContractServiceUnits": "ContractServiceUnitModel",
    "Services": "ServiceModel",
    "ServiceBundles": "ServiceBundleModel",
    "ServiceBundleServices": "ServiceBundleServiceModel",
    "Tickets": "TicketModel",
    "TicketNotes": "TicketNoteModel",
    "Resources": "ResourceModel",
    "CompanyWebhooks": "CompanyWebhookModel",
    "CompanyWebhookFields": "CompanyWebhookFieldModel",
    "CompanyWebhookUdfFields": "CompanyWebhookUdfFieldModel",
    "CompanyWebhookExcludedResources": "CompanyWebhookExcludedResourceModel",
    "WebhookEventErrorLogs": "WebhookEventErrorLogModel",
}
# Child collections: (parent, child segment) -> entity.
CHILDREN = {
    ("Companies", "Contacts"): "Contacts",
    ("Contracts", "Services"): "ContractServices",
    ("Contracts", "ServiceAdjustments"): "ContractServiceAdjustments",
    ("Contracts", "ServiceBundles"): "ContractServiceBundles",
    ("Contracts", "ServiceUnits"): "ContractServiceUnits",
    ("ServiceBundles", "Services"): "ServiceBundleServices",
    ("Tickets", "Notes"): "TicketNotes",
    ("CompanyWebhooks", "Fields"): "CompanyWebhookFields",
    ("CompanyWebhooks", "UdfFields"): "CompanyWebhookUdfFields",
    ("CompanyWebhooks", "ExcludedResources"): "CompanyWebhookExcludedResources",
}

def main(path):
    spec = json.load(open(path))
    routes = []
    for p, ops in spec["paths"].items():
        parts = p.split("/")[2:]  # drop '' and 'V1.0'
        if not parts:
            continue
        entity = None
        if parts[0] in ENTITIES and (len(parts) < 3 or parts[1] != "{parentId}"):
            entity = ENTITIES.get(parts[0]) and parts[0]
        if len(parts) >= 3 and parts[1] == "{parentId}" and (parts[0], parts[2]) in CHILDREN:
            entity = CHILDREN[(parts[0], parts[2])]
        if entity is None or "invoiceSettings" in p:
            continue
        methods = sorted(m.upper() for m in ops if m in ("get", "post", "put", "patch", "delete"))
        routes.append({"path": p, "entity": entity, "methods": methods})
    models = {}
    for entity, model in ENTITIES.items():
        props = spec["definitions"][model]["properties"]
        fields = []
        for name, prop in props.items():
            if name == "soapParentPropertyId":
                continue
            fields.append({"name": name, "type": prop.get("type", "object"), "format": prop.get("format")})
        models[entity] = {"model": model, "fields": fields}
    routes.sort(key=lambda r: r["path"].lower())
    out = {"source": "Autotask REST API Swagger 2.0 (autotask-swagger-v1.json)", "routes": routes, "models": models}
    json.dump(out, open("sandbox/src/surface.json", "w"), indent=1, sort_keys=False)
    names = sorted(set(ENTITIES.values()) | {"FieldInformationModel"})
    excerpt = {"source": out["source"], "definitions": {n: spec["definitions"][n] for n in names}}
    json.dump(excerpt, open("sandbox/tests/swagger-definitions.json", "w"), indent=1, sort_keys=True)
    print(f"{len(routes)} routes, {len(models)} models, {len(names)} definitions for the conformance test")

main(sys.argv[1] if len(sys.argv) > 1 else "../shared/reference/autotask-swagger-v1.json")
