//! The sandbox over real HTTP, checked against the documented Autotask behaviour and the
//! official Swagger definitions.
#![allow(clippy::unwrap_used)]

mod common;

use common::{all, sandbox, At};
use reqwest::{Client, Method, StatusCode};
use sandbox::api::{INTEGRATION_CODE, SECRET, USERNAME};
use sandbox::faults::Faults;
use sandbox::{start, SandboxConfig};
use serde_json::{json, Value};

#[tokio::test]
async fn zone_information_needs_no_auth_and_points_back_at_the_sandbox() {
    let sb = sandbox(20).await;
    let client = Client::new();
    let zone: Value =
        client.get(format!("{}/atservicesrest/v1.0/zoneInformation?user={USERNAME}", sb.base_url())).send().await.unwrap().json().await.unwrap();
    assert_eq!(zone["url"], format!("{}/ATServicesRest/", sb.base_url()));
    assert!(zone["url"].as_str().unwrap().ends_with('/'));
    assert!(zone["webUrl"].is_string() && zone["ci"].is_i64() && zone["zoneName"].is_string());
    let unknown = client.get(format!("{}/ATServicesRest/V1.0/ZoneInformation?user=nobody@x.example", sb.base_url())).send().await.unwrap();
    assert_eq!(unknown.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(unknown.json::<Value>().await.unwrap(), json!({"errors": ["Zone information could not be determined"]}));
    let versions: Value = client.get(format!("{}/atservicesrest/versioninformation", sb.base_url())).send().await.unwrap().json().await.unwrap();
    assert_eq!(versions, json!({"apiVersions": ["1.0"]}));
}

#[tokio::test]
async fn bad_credentials_fail_the_way_autotask_fails() {
    let sb = sandbox(20).await;
    let client = Client::new();
    let url = format!("{}/ATServicesRest/V1.0/Companies/0", sb.base_url());
    let send = |user: &str, secret: &str, code: &str| {
        client.get(&url).header("UserName", user).header("Secret", secret).header("ApiIntegrationCode", code).send()
    };
    let wrong_secret = send(USERNAME, "nope", INTEGRATION_CODE).await.unwrap();
    assert_eq!(wrong_secret.status(), StatusCode::UNAUTHORIZED);
    let unknown_user = send("who@x.example", SECRET, INTEGRATION_CODE).await.unwrap();
    assert_eq!(unknown_user.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(unknown_user.json::<Value>().await.unwrap()["errors"][0], "Zone information could not be determined");
    let bad_code = send(USERNAME, SECRET, "WRONG").await.unwrap();
    assert_eq!(bad_code.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(bad_code.json::<Value>().await.unwrap(), json!({"errors": ["IntegrationCode is invalid."]}));
    // Header names are case-insensitive.
    let ok =
        client.get(&url).header("username", USERNAME).header("SECRET", SECRET).header("apiintegrationcode", INTEGRATION_CODE).send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    // An API user without permission gets 403.
    let limited = send(sandbox::api::NO_ACCESS_USERNAME, SECRET, INTEGRATION_CODE).await.unwrap();
    assert_eq!(limited.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn routes_answer_404_and_405_like_the_real_api() {
    let sb = sandbox(20).await;
    let at = At::new(&sb);
    let (s, b) = at.post("/TicketNotes", json!({"ticketID": 1})).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
    let (s, b) = at.call(Method::PATCH, "/Contracts/30131266", Some(json!({}))).await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(b["Message"], "The requested resource does not support http method 'PATCH'.");
    let (s, _) = at.call(Method::DELETE, "/Companies/0", None).await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
    let (s, _) = at.get("/NoSuchEntity/query?search={}").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = at.post("/ContractServiceAdjustments/query", all()).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "adjustments cannot be queried");
    // Casing of the path does not matter.
    let (s, _) = at.get("/companies/0").await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn queries_page_by_the_documented_rules() {
    let sb = sandbox(1_200).await;
    let at = At::new(&sb);
    let (s, count) = at.post("/Companies/query/count", all()).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(count["queryCount"], 1_201);
    // POST query: next page must be POSTed with the same body; GET is refused with 405.
    let (_, first) = at.post("/Companies/query", all()).await;
    assert_eq!(first["items"].as_array().unwrap().len(), 500);
    assert_eq!(first["pageDetails"]["requestCount"], 500);
    assert!(first["pageDetails"]["prevPageUrl"].is_null());
    let next = first["pageDetails"]["nextPageUrl"].as_str().unwrap().to_string();
    assert!(next.starts_with(&format!("{}/ATServicesRest/V1.0/Companies/query/next?paging=", sb.base_url())), "{next}");
    let (s, _) = at.get(&next).await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
    let mut ids: Vec<i64> = first["items"].as_array().unwrap().iter().map(|i| i["id"].as_i64().unwrap()).collect();
    let mut url = Some(next);
    while let Some(u) = url {
        let (s, page) = at.post(&u, all()).await;
        assert_eq!(s, StatusCode::OK);
        ids.extend(page["items"].as_array().unwrap().iter().map(|i| i["id"].as_i64().unwrap()));
        url = page["pageDetails"]["nextPageUrl"].as_str().map(str::to_string);
    }
    assert_eq!(ids.len(), 1_201);
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ordered by id, no repeats");
    // GET query: next page by GET.
    let search = json!({"filter": [{"op": "eq", "field": "isactive", "value": true}], "MaxRecords": 100});
    let (s, page) = at.get(&format!("/Companies/query?search={}", sandbox::api::encode(&search.to_string()))).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(page["items"].as_array().unwrap().len(), 100);
    let (s, page2) = at.get(page["pageDetails"]["nextPageUrl"].as_str().unwrap()).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page2["items"][0]["id"].as_i64() > page["items"][99]["id"].as_i64());
    assert!(page2["pageDetails"]["prevPageUrl"].is_string());
    let (_, back) = at.get(page2["pageDetails"]["prevPageUrl"].as_str().unwrap()).await;
    assert_eq!(back["items"][0]["id"], page["items"][0]["id"]);
    // IncludeFields returns only those fields.
    let (_, slim) =
        at.post("/Companies/query", json!({"filter": [{"op": "eq", "field": "id", "value": 0}], "IncludeFields": ["id", "CompanyName"]})).await;
    let keys: Vec<&String> = slim["items"][0].as_object().unwrap().keys().collect();
    assert_eq!(keys, vec!["id", "companyName", "userDefinedFields"]);
    // Limits.
    let (s, e) = at.post("/Companies/query", json!({"filter": [{"op": "exist", "field": "id"}], "MaxRecords": 1000})).await;
    assert_eq!((s, e["errors"][0].as_str().unwrap()), (StatusCode::INTERNAL_SERVER_ERROR, "maxCountOfRecordsToReturn must be between 1 and 500"));
    let (s, _) = at.get(&format!("/Companies/query?search={}", "x".repeat(2100))).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "over-long GET URLs fail like IIS");
}

#[tokio::test]
async fn get_by_id_returns_item_or_null() {
    let sb = sandbox(20).await;
    let at = At::new(&sb);
    let (s, b) = at.get("/Companies/0").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["item"]["id"], 0);
    let (s, b) = at.get("/Companies/999999999").await;
    assert_eq!((s, b), (StatusCode::OK, json!({"item": null})));
}

#[tokio::test]
async fn tickets_and_notes_are_written_through_the_documented_routes() {
    let sb = sandbox(40).await;
    let at = At::new(&sb);
    let (_, customers) = at
        .post(
            "/Companies/query",
            json!({"filter": [{"op": "eq", "field": "companyType", "value": 1}, {"op": "eq", "field": "isActive", "value": true}], "MaxRecords": 1}),
        )
        .await;
    let company = customers["items"][0]["id"].as_i64().unwrap();
    // Validation errors arrive as 500 with Autotask's messages.
    let (s, e) = at.post("/Tickets", json!({"companyID": company, "title": "Backup failed", "status": 1, "priority": 2, "queueID": 29683354})).await;
    assert_eq!((s, e["errors"][0].as_str().unwrap()), (StatusCode::INTERNAL_SERVER_ERROR, "dueDateTime is required.; on record number [0]."));
    let (s, e) = at.post("/Tickets", json!({"companyID": company, "title": "x", "status": 1, "priority": 2, "dueDateTime": "2030-03-21T00:00:00", "assignedResourceID": 29682886})).await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(e["errors"][0].as_str().unwrap().starts_with("When assigning a Resource"));
    let (s, e) = at
        .post(
            "/Tickets",
            json!({"companyID": 424242, "title": "x", "status": 1, "priority": 2, "dueDateTime": "2030-03-21T00:00:00", "queueID": 29683354}),
        )
        .await;
    assert_eq!(e["errors"][0], "Reference value on field: companyID of type: Company does not exist or is invalid.", "{s}");
    let (s, e) = at
        .post(
            "/Tickets",
            json!({"companyID": company, "title": "x", "status": 1, "priority": 2, "dueDateTime": "2030-03-21T00:00:00", "queueID": 29683357}),
        )
        .await;
    assert!(e["errors"][0].as_str().unwrap().contains("inactive"), "{s} {e}");
    // A good ticket, with field names in any casing.
    let (s, created) = at.post("/Tickets", json!({"CompanyID": company, "Title": "Backup failed on FS01", "Status": 1, "Priority": 2, "QueueID": 29683354, "DueDateTime": "2030-03-21T00:00:00", "externalID": "inc-1"})).await;
    assert_eq!(s, StatusCode::OK, "{created}");
    let ticket = created["itemId"].as_i64().unwrap();
    let (_, got) = at.get(&format!("/Tickets/{ticket}")).await;
    assert!(got["item"]["ticketNumber"].as_str().unwrap().starts_with('T'));
    assert_eq!(got["item"]["dueDateTime"], "2030-03-21T00:00:00Z");
    // Notes go through the parent.
    let (s, note) = at
        .post(&format!("/Tickets/{ticket}/Notes"), json!({"Title": "Repeat", "Description": "Failed again (3 times)", "NoteType": 1, "Publish": 1}))
        .await;
    assert_eq!(s, StatusCode::OK, "{note}");
    let (_, notes) = at.get(&format!("/Tickets/{ticket}/Notes")).await;
    assert_eq!(notes["items"].as_array().unwrap().len(), 1);
    assert_eq!(notes["items"][0]["ticketID"], ticket);
    // PATCH is sparse and goes to the collection with the id in the body.
    let (s, _) = at.call(Method::PATCH, "/Tickets", Some(json!({"id": ticket, "status": 5}))).await;
    assert_eq!(s, StatusCode::OK);
    let (_, done) = at.get(&format!("/Tickets/{ticket}")).await;
    assert_eq!(done["item"]["status"], 5);
    assert!(done["item"]["completedDate"].is_string());
    assert_eq!(done["item"]["title"], "Backup failed on FS01");
    // Found again by externalID.
    let (_, found) = at.post("/Tickets/query", json!({"filter": [{"op": "eq", "field": "externalid", "value": "inc-1"}]})).await;
    assert_eq!(found["items"][0]["id"], ticket);
}

#[tokio::test]
async fn service_adjustments_change_billed_units() {
    let sb = sandbox(60).await;
    let at = At::new(&sb);
    let (y, m) = sandbox::generate::current_month();
    let month_start = format!("{y:04}-{m:02}-01T00:00:00Z");
    let (_, units) =
        at.post("/ContractServiceUnits/query", json!({"filter": [{"op": "eq", "field": "startDate", "value": month_start}], "MaxRecords": 1})).await;
    let row = &units["items"][0];
    let (contract, cs, before) = (row["contractID"].as_i64().unwrap(), row["contractServiceID"].as_i64().unwrap(), row["units"].as_i64().unwrap());
    let (s, r) = at.post(&format!("/Contracts/{contract}/ServiceAdjustments"), json!({"contractID": contract, "contractServiceID": cs, "effectiveDate": format!("{y:04}-{m:02}-01T02:00:00"), "unitChange": 3, "adjustedUnitPrice": 10.0})).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let (_, after) = at.get(&format!("/ContractServiceUnits/{}", row["id"])).await;
    assert_eq!(after["item"]["units"], before + 3);
    let (s, e) = at
        .post(
            "/ContractServiceAdjustments",
            json!({"contractID": contract, "contractServiceID": cs, "effectiveDate": format!("{y:04}-{m:02}-01"), "unitChange": -(before + 100)}),
        )
        .await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(e["errors"][0].as_str().unwrap().contains("negative"));
}

#[tokio::test]
async fn a_fourth_concurrent_call_on_one_entity_is_refused() {
    let config =
        SandboxConfig { seed: 7, companies: 30, contacts: 60, faults: Faults { latency_ms: 400, ..Faults::default() }, ..SandboxConfig::default() };
    let sb = start(config, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let at = std::sync::Arc::new(At::new(&sb));
    let calls: Vec<_> = (0..4)
        .map(|i| {
            let at = at.clone();
            tokio::spawn(async move {
                tokio::time::sleep(std::time::Duration::from_millis(i * 30)).await;
                at.get("/Companies/0").await
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for c in calls {
        statuses.push(c.await.unwrap());
    }
    let refused: Vec<_> = statuses.iter().filter(|(s, _)| *s == StatusCode::TOO_MANY_REQUESTS).collect();
    assert_eq!(refused.len(), 1, "{statuses:?}");
    assert!(refused[0].1["errors"][0].as_str().unwrap().contains("Itgenatr005"));
    // Another entity is unaffected meanwhile, and the control endpoint saw a peak of 3.
    let stats: Value = Client::new().get(format!("{}/_sandbox/stats", sb.base_url())).send().await.unwrap().json().await.unwrap();
    assert_eq!(stats["peak_concurrency"]["Companies"], 3);
    assert_eq!(stats["thread_limit_rejections"], 1);
}

#[tokio::test]
async fn the_hourly_budget_is_reported_and_enforced() {
    let config = SandboxConfig { seed: 7, companies: 10, contacts: 10, hourly_threshold: 4, ..SandboxConfig::default() };
    let sb = start(config, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let at = At::new(&sb);
    let (_, t) = at.get("/ThresholdInformation").await;
    assert_eq!(t, json!({"externalRequestThreshold": 4, "requestThresholdTimeframe": 60, "currentTimeframeRequestCount": 1}));
    for _ in 0..3 {
        at.get("/Companies/0").await;
    }
    let (s, e) = at.get("/Companies/0").await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    assert!(e["errors"][0].as_str().unwrap().contains("threshold"));
}

#[tokio::test]
async fn faults_switch_at_run_time_and_zone_moves_heal_on_rediscovery() {
    let sb = sandbox(10).await;
    let at = At::new(&sb);
    let control = format!("{}/_sandbox/faults", sb.base_url());
    let client = Client::new();
    let bad = client.put(&control).body(r#"{"rate_5xx": 2}"#).send().await.unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    client.put(&control).body(r#"{"rate_5xx": 1.0}"#).send().await.unwrap();
    let (s, _) = at.get("/Companies/0").await;
    assert!(s == StatusCode::INTERNAL_SERVER_ERROR || s == StatusCode::SERVICE_UNAVAILABLE);
    client.put(&control).body(r#"{"rate_429": 1.0}"#).send().await.unwrap();
    assert_eq!(at.get("/Companies/0").await.0, StatusCode::TOO_MANY_REQUESTS);
    client.put(&control).body(r#"{"zone_moved": true}"#).send().await.unwrap();
    assert_eq!(at.get("/Companies/0").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(at.get("/Companies/0").await.0, StatusCode::UNAUTHORIZED);
    client.get(format!("{}/ATServicesRest/V1.0/ZoneInformation?user={USERNAME}", sb.base_url())).send().await.unwrap();
    assert_eq!(at.get("/Companies/0").await.0, StatusCode::OK);
    client.put(&control).body(r#"{"timeout_ms": 300, "rate_timeout": 1.0}"#).send().await.unwrap();
    let started = std::time::Instant::now();
    let (s, _) = at.get("/Companies/0").await;
    assert!(started.elapsed().as_millis() >= 300 && s == StatusCode::INTERNAL_SERVER_ERROR);
}

#[tokio::test]
async fn state_survives_a_restart_with_a_data_file() {
    let dir = std::env::temp_dir().join(format!("tb-sandbox-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("tenant.json");
    let _ = std::fs::remove_file(&file);
    let config = SandboxConfig { seed: 3, companies: 15, contacts: 20, data_file: Some(file.clone()), ..SandboxConfig::default() };
    let sb = start(config.clone(), "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let at = At::new(&sb);
    let (s, r) = at.post("/Companies", json!({"companyName": "Persisted & Co.", "companyType": 1, "ownerResourceID": 29682886})).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let id = r["itemId"].as_i64().unwrap();
    sb.stop().await;
    let again = start(config, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let (_, got) = At::new(&again).get(&format!("/Companies/{id}")).await;
    assert_eq!(got["item"]["companyName"], "Persisted & Co.");
    again.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every entity's responses use exactly the Swagger model's field names and types.
#[tokio::test]
async fn responses_match_the_swagger_definitions() {
    // A verbatim excerpt of the official Swagger (tools/extract_surface.py writes it).
    let spec_path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/swagger-definitions.json");
    let spec: Value = serde_json::from_slice(&std::fs::read(&spec_path).unwrap_or_else(|e| panic!("{}: {e}", spec_path.display()))).unwrap();
    let sb = sandbox(80).await;
    let at = At::new(&sb);
    let models = [
        ("Companies", "CompanyModel"),
        ("Contacts", "ContactModel"),
        ("Countries", "CountryModel"),
        ("Contracts", "ContractModel"),
        ("ContractServices", "ContractServiceModel"),
        ("ContractServiceUnits", "ContractServiceUnitModel"),
        ("Services", "ServiceModel"),
        ("ServiceBundles", "ServiceBundleModel"),
        ("ServiceBundleServices", "ServiceBundleServiceModel"),
        ("Tickets", "TicketModel"),
        ("TicketNotes", "TicketNoteModel"),
        ("Resources", "ResourceModel"),
    ];
    for (entity, model) in models {
        let props = spec["definitions"][model]["properties"].as_object().unwrap();
        let (s, page) = at.post(&format!("/{entity}/query"), json!({"filter": [{"op": "gte", "field": "id", "value": 0}], "MaxRecords": 25})).await;
        assert_eq!(s, StatusCode::OK, "{entity}: {page}");
        let items = page["items"].as_array().unwrap();
        assert!(!items.is_empty(), "{entity} has no data");
        for item in items {
            for (key, value) in item.as_object().unwrap() {
                let prop = props.get(key).unwrap_or_else(|| panic!("{entity}.{key} is not in {model}"));
                let kind = prop["type"].as_str().unwrap_or("object");
                let ok = value.is_null()
                    || match kind {
                        "integer" => value.is_i64(),
                        "number" => value.is_number(),
                        "boolean" => value.is_boolean(),
                        "string" if prop["format"] == "date-time" => {
                            value.as_str().is_some_and(|s| s.ends_with('Z') && sandbox::store::parse_datetime(s).is_some())
                        }
                        "string" => value.is_string(),
                        "array" => {
                            value.as_array().unwrap().iter().all(|u| u["name"].is_string() && (u["value"].is_string() || u["value"].is_null()))
                        }
                        _ => true,
                    };
                assert!(ok, "{entity}.{key} = {value} does not fit {kind}");
            }
        }
        // Field information has the FieldInformationModel shape.
        let (_, fields) = at.get(&format!("/{entity}/entityInformation/fields")).await;
        let info_props = spec["definitions"]["FieldInformationModel"]["properties"].as_object().unwrap();
        for f in fields["fields"].as_array().unwrap() {
            for key in f.as_object().unwrap().keys() {
                assert!(info_props.contains_key(key), "{entity} field info key {key}");
            }
        }
        let (_, info) = at.get(&format!("/{entity}/entityInformation")).await;
        assert_eq!(info["info"]["canQuery"], true, "{entity}");
    }
}

#[tokio::test]
async fn picklists_carry_the_values_the_product_relies_on() {
    let sb = sandbox(10).await;
    let at = At::new(&sb);
    let (_, fields) = at.get("/Tickets/entityInformation/fields").await;
    let field = |name: &str| fields["fields"].as_array().unwrap().iter().find(|f| f["name"] == name).unwrap().clone();
    let label = |f: &Value, v: &str| {
        f["picklistValues"].as_array().unwrap().iter().find(|p| p["value"] == v).map(|p| p["label"].as_str().unwrap().to_string())
    };
    assert_eq!(label(&field("status"), "1").as_deref(), Some("New"));
    assert_eq!(label(&field("status"), "5").as_deref(), Some("Complete"));
    assert!(field("queueID")["picklistValues"].as_array().unwrap().iter().any(|p| p["label"] == "Managed Services Alerts"));
    assert!(field("priority")["picklistValues"].as_array().unwrap().iter().any(|p| p["label"] == "Medium"));
    assert!(field("queueID")["picklistValues"].as_array().unwrap().iter().any(|p| p["isActive"] == false), "inactive values are listed");
    assert_eq!(field("subIssueType")["picklistParentValueField"], "issueType");
    let (_, udfs) = at.get("/Companies/entityInformation/userDefinedFields").await;
    assert!(udfs["fields"].as_array().unwrap().iter().any(|u| u["name"] == "Customer Ranking"));
}

/// The control endpoint shows the credentials and switches faults: it answers only callers
/// on this machine that name this machine in `Host` (a page reaching it through DNS
/// rebinding names its own host), and the sandbox refuses to listen beyond loopback
/// unless allowed.
#[tokio::test]
async fn the_control_endpoint_is_for_this_machine_only() {
    let sb = sandbox(5).await;
    let client = Client::new();
    let overview = client.get(format!("{}/_sandbox", sb.base_url())).send().await.unwrap();
    assert_eq!(overview.status(), StatusCode::OK);
    assert!(overview.text().await.unwrap().contains(SECRET));
    for host in ["evil.example", "evil.example:3300", "10.0.0.5"] {
        let rebound = client.get(format!("{}/_sandbox", sb.base_url())).header("host", host).send().await.unwrap();
        assert_eq!(rebound.status(), StatusCode::FORBIDDEN, "{host}");
        assert!(!rebound.text().await.unwrap().contains(SECRET));
        let faults = client.put(format!("{}/_sandbox/faults", sb.base_url())).header("host", host).body(r#"{"rate_5xx": 1.0}"#).send().await.unwrap();
        assert_eq!(faults.status(), StatusCode::FORBIDDEN, "{host}");
    }
    assert_eq!(sb.sandbox.faults().rate_5xx, 0.0, "no fault was switched on");
    let refused = start(SandboxConfig { companies: 1, contacts: 1, ..SandboxConfig::default() }, "0.0.0.0:0".parse().unwrap()).await;
    assert!(refused.is_err_and(|e| e.to_string().contains("loopback")));
}

/// Tests and demos edit records as an Autotask user would, through the control endpoint:
/// the API's checks apply and the change times move, so a sync sees the edit.
#[tokio::test]
async fn the_control_endpoint_edits_companies_and_contracts_with_their_change_times() {
    let sb = sandbox(10).await;
    let at = At::new(&sb);
    let client = Client::new();
    let (_, company) = at.post("/Companies/query", all()).await;
    let first = company["items"][0].clone();
    let id = first["id"].as_i64().unwrap();
    let control = |entity: &str| format!("{}/_sandbox/records/{entity}", sb.base_url());
    let edited = client.patch(control("companies")).json(&json!({"id": id, "phone": "+1 512 555 0100"})).send().await.unwrap();
    assert_eq!(edited.status(), StatusCode::OK);
    let (_, now) = at.get(&format!("/Companies/{id}")).await;
    assert_eq!(now["item"]["phone"], "+1 512 555 0100");
    assert!(
        first["lastTrackedModifiedDateTime"].is_string()
            && now["item"]["lastTrackedModifiedDateTime"].as_str() > first["lastTrackedModifiedDateTime"].as_str(),
        "{now} {first}"
    );
    let (_, contracts) = at.post("/Contracts/query", all()).await;
    let contract = contracts["items"][0].clone();
    let renamed = client.patch(control("Contracts")).json(&json!({"id": contract["id"], "contractName": "Renamed in a demo"})).send().await.unwrap();
    assert_eq!(renamed.status(), StatusCode::OK);
    let (_, now) = at.get(&format!("/Contracts/{}", contract["id"])).await;
    assert_eq!(now["item"]["contractName"], "Renamed in a demo");
    assert!(now["item"]["lastModifiedDateTime"].as_str().unwrap() > contract["lastModifiedDateTime"].as_str().unwrap(), "{now}");
    // The API's own checks apply; an unknown entity is a 404.
    let bad = client.patch(control("companies")).json(&json!({"id": id, "companyType": 99})).send().await.unwrap();
    assert_eq!(bad.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let unknown = client.patch(control("Widgets")).json(&json!({"id": 1})).send().await.unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}
