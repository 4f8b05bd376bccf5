//! The Customer Map against the sandbox: suggestions (exact and near), confirming them,
//! the 1-to-many rules, typed Autotask IDs, rename/inactive/type flags, contracts with
//! their flags, creating customers from companies, CSV, history and tenancy.

use crate::helpers::{both_databases, Backend, Browser};
use crate::world::World;
use app::error::AppError;
use sandbox::api::{INTEGRATION_CODE, SECRET, USERNAME};
use serde_json::{json, Value};
use std::time::Duration;

both_databases!(
    suggestions_rank_exact_and_near_names_and_confirming_links_them,
    groups_stay_one_to_many_and_typed_ids_are_looked_up,
    links_hold_by_id_and_flag_renames_inactive_and_type,
    contracts_are_flagged_and_a_flagged_one_needs_confirming,
    customers_are_created_from_companies_and_the_map_exports_as_csv,
    the_map_is_the_partners_own,
    the_map_survives_a_server_restart,
    partners_saving_at_the_same_time_all_succeed,
    a_save_waiting_on_autotask_holds_up_no_other_save,
);

const OWNER: i64 = 29_682_885;

async fn world(backend: Backend) -> World {
    World::new(backend, "Map", World::sandbox(8, 20)).await
}

impl World {
    async fn company(&self, name: &str, extra: Value) -> i64 {
        let mut body = json!({"companyName": name, "companyType": 1, "ownerResourceID": OWNER, "isActive": true, "countryID": 237, "address1": "1 Main St", "city": "Austin", "state": "TX"});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let id = self.autotask().create("Companies", &body).await.unwrap();
        self.autotask().create_child("Companies", id, "Contacts", "Contacts", &json!({"firstName": "Pat", "lastName": "Lee", "emailAddress": format!("pat{id}@example.com"), "isActive": 1, "primaryContact": true})).await.unwrap();
        id
    }

    async fn customers(&self, list: Value) -> Vec<i64> {
        let r = reqwest::Client::new()
            .post(self.app.url("/api/v1/customers"))
            .bearer_auth(&self.token)
            .json(&json!({"customers": list}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.unwrap();
        body["results"].as_array().unwrap().iter().map(|r| r["customer_id"].as_i64().unwrap_or(-1)).collect()
    }

    async fn discover(&self) {
        discover_as(&self.admin).await;
    }

    async fn customer_page(&self, browser: &Browser, filter: &str, search: &str) -> Value {
        browser.ok_json("map_customers", &json!({"query": {"search": search, "customers": filter, "page": 1, "per_page": 200}})).await
    }

    async fn company_page(&self, filter: &str, search: &str) -> Value {
        self.admin.ok_json("map_companies", &json!({"query": {"search": search, "companies": filter, "page": 1, "per_page": 200}})).await
    }

    async fn save(&self, changes: Value) -> Value {
        self.admin.ok_json("save_customer_map", &json!({ "changes": changes })).await
    }

    async fn refuse(&self, changes: Value) -> String {
        match self.admin.err_json("save_customer_map", &json!({ "changes": changes })).await {
            AppError::Invalid { message, .. } => message,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }
}

/// Runs a discovery as `browser`'s partner and waits for it to finish.
async fn discover_as(browser: &Browser) {
    let state = browser.finished_job(&browser.ok("start_discovery", &[]).await).await;
    assert_eq!(state["state"], "done", "{state}");
}

fn row_of(page: &Value, key: &str, id: i64) -> Value {
    page["rows"].as_array().unwrap().iter().find(|r| r[key] == id).cloned().unwrap_or_else(|| panic!("{key} {id} not in {page}"))
}

async fn suggestions_rank_exact_and_near_names_and_confirming_links_them(backend: Backend) {
    let w = world(backend).await;
    let exact = w.company("Qwyx Harbor Dental Inc", json!({})).await;
    let and = w.company("Qwyx Smith and Jones Legal", json!({})).await;
    let suffix = w.company("Qwyx Northwind Traders Ltd.", json!({})).await;
    let lonely = w.company("Qwyx Lonely Company", json!({"phone": "+44 20 7946 0000", "webAddress": "https://lonely.example"})).await;
    w.discover().await;
    let ids = w
        .customers(json!([
            {"ref": "c1", "name": "Qwyx Harbor Dental Inc"},
            {"ref": "c2", "name": "qwyx smith & jones legal"},
            {"ref": "c3", "name": "Qwyx Northwind Traders LLC", "country": "GB"},
            {"ref": "c4", "name": "Qwyx Zeta Bakery"},
        ]))
        .await;
    let page = w.customer_page(&w.admin, "unmatched", "qwyx").await;
    assert_eq!(page["total"], 4);
    let s = |id: i64| row_of(&page, "customer_id", id)["suggestion"].clone();
    assert_eq!((s(ids[0])["id"].as_i64(), s(ids[0])["score"].as_i64(), s(ids[0])["reason"].as_str()), (Some(exact), Some(100), Some("Exact name")));
    assert_eq!((s(ids[1])["id"].as_i64(), s(ids[1])["score"].as_i64()), (Some(and), Some(85)));
    assert!(s(ids[1])["reason"].as_str().unwrap().contains("and"));
    assert_eq!((s(ids[2])["id"].as_i64(), s(ids[2])["score"].as_i64()), (Some(suffix), Some(80)));
    assert!(s(ids[2])["reason"].as_str().unwrap().contains("legal suffix"));
    assert_eq!(s(ids[3]), Value::Null);
    assert_eq!(row_of(&page, "customer_id", ids[2])["region"], "uk");
    // The Autotask side: suggested vs unmatched.
    let suggested = w.company_page("suggested", "qwyx").await;
    assert_eq!(suggested["total"], 3);
    assert_eq!(row_of(&suggested, "company_id", exact)["suggestion"]["id"], ids[0]);
    let unmatched = w.company_page("unmatched", "qwyx").await;
    assert_eq!(unmatched["total"], 1);
    assert_eq!(unmatched["rows"][0]["company_id"], lonely);
    assert_eq!(
        (unmatched["rows"][0]["phone"].as_str(), unmatched["rows"][0]["web"].as_str()),
        (Some("+44 20 7946 0000"), Some("https://lonely.example"))
    );
    assert_eq!(page["counts"]["exact"].as_i64().map(|n| n >= 1), Some(true));
    // "Select exact matches" takes every exact match of the filter, not one page's: with
    // one row a page, the exact match is found from page 4.
    let query = json!({"search": "qwyx", "customers": "unmatched", "companies": "all", "page": 4, "per_page": 1});
    let found = w.admin.ok_json("exact_matches", &json!({ "query": query })).await;
    assert_eq!(
        found,
        json!({"matches": [{"customer_id": ids[0], "customer_name": "Qwyx Harbor Dental Inc", "company_id": exact, "company_name": "Qwyx Harbor Dental Inc"}], "total": 1})
    );
    let elsewhere = json!({"search": "zeta", "customers": "unmatched", "companies": "all", "page": 1, "per_page": 50});
    assert_eq!(w.admin.ok_json("exact_matches", &json!({ "query": elsewhere })).await["total"], 0, "the filter applies");

    // Confirm the three suggestions.
    let saved = w
        .save(json!([
            {"op": "link", "customer_id": ids[0], "company_id": exact},
            {"op": "link", "customer_id": ids[1], "company_id": and},
            {"op": "link", "customer_id": ids[2], "company_id": suffix},
        ]))
        .await;
    assert_eq!(saved["applied"], 3);
    let matched = w.customer_page(&w.admin, "matched", "qwyx").await;
    assert_eq!(matched["total"], 3);
    assert_eq!(row_of(&matched, "customer_id", ids[0])["companies"][0]["company_id"], exact);
    assert_eq!(row_of(&matched, "customer_id", ids[0])["companies"][0]["flags"], json!([]));
    assert_eq!(w.company_page("matched", "qwyx").await["total"], 3);
    assert_eq!(w.company_page("suggested", "qwyx").await["total"], 0, "matched companies are no longer suggested");
    let history = w.admin.ok("map_history", &[]).await;
    let lines: Vec<&str> = history.as_array().unwrap().iter().map(|h| h["summary"].as_str().unwrap()).collect();
    assert!(lines.iter().any(|l| l.contains("Linked \u{201c}Qwyx Harbor Dental Inc\u{201d} to Autotask company")), "{lines:?}");
    assert_eq!(history[0]["actor"], w.partner.email.as_str());
}

async fn the_map_survives_a_server_restart(backend: Backend) {
    let w = world(backend).await;
    let k = w.company("Restart Co", json!({})).await;
    w.discover().await;
    let c = w.customers(json!([{"ref": "r", "name": "Restart Customer"}])).await[0];
    w.save(json!([{"op": "link", "customer_id": c, "company_id": k}])).await;
    let World { app, partner, .. } = w;
    let app = app.restart().await;
    let admin = app.signed_in(&partner.email, &partner.password).await;
    let page = admin.ok_json("map_customers", &json!({"query": {"search": "restart", "customers": "matched", "page": 1, "per_page": 10}})).await;
    assert_eq!(page["total"], 1, "{page}");
    assert_eq!(page["rows"][0]["companies"][0]["company_id"], k);
}

async fn groups_stay_one_to_many_and_typed_ids_are_looked_up(backend: Backend) {
    let w = world(backend).await;
    let k1 = w.company("Grp One", json!({})).await;
    let k2 = w.company("Grp Two", json!({})).await;
    let k3 = w.company("Grp Three", json!({})).await;
    w.discover().await;
    let c = w
        .customers(json!([{"ref": "a", "name": "Grp Customer A"}, {"ref": "b", "name": "Grp Customer B"}, {"ref": "c", "name": "Grp Customer C"}]))
        .await;
    // A ↔ K1 and K2 (one customer, many companies); B and C ↔ K3 (one company, many customers).
    w.save(json!([
        {"op": "link", "customer_id": c[0], "company_id": k1},
        {"op": "link", "customer_id": c[0], "company_id": k2},
        {"op": "link", "customer_id": c[1], "company_id": k3},
        {"op": "link", "customer_id": c[2], "company_id": k3},
    ]))
    .await;
    let page = w.customer_page(&w.admin, "matched", "grp").await;
    assert_eq!(row_of(&page, "customer_id", c[0])["companies"].as_array().unwrap().len(), 2);
    assert_eq!(row_of(&page, "customer_id", c[1])["companies"][0]["customers"], 2);
    // A company in a 1-to-many match cannot be linked elsewhere, from either side.
    let refused = w.refuse(json!([{"op": "link", "customer_id": c[1], "company_id": k1}])).await;
    assert!(refused.contains("1-to-many"), "{refused}");
    let refused = w.refuse(json!([{"op": "link", "customer_id": c[0], "company_id": k3}])).await;
    assert!(refused.contains("1-to-many"), "{refused}");
    // All or nothing: a good change beside a bad one is not saved either.
    let k4 = w.company("Grp Four", json!({})).await;
    w.refuse(json!([{"op": "unlink", "customer_id": c[0], "company_id": k2}, {"op": "link", "customer_id": c[2], "company_id": 987_654_321}])).await;
    assert_eq!(row_of(&w.customer_page(&w.admin, "matched", "grp").await, "customer_id", c[0])["companies"].as_array().unwrap().len(), 2);
    // Editing a group: move K2 from A to C's side is refused (C shares K3), but to a new
    // customer it is fine; K4 was created after the discovery and is found by its typed ID.
    let d = w.customers(json!([{"ref": "d", "name": "Grp Customer D"}])).await[0];
    // A typed ID is checked as it is typed: the company's name, or a clear "no such company".
    let found = w.admin.ok("find_company", &[("company_id", &k4.to_string())]).await;
    assert_eq!(
        (found["company_id"].as_i64(), found["type_label"].as_str(), found["is_active"].as_bool()),
        (Some(k4), Some("Customer"), Some(true)),
        "{found}"
    );
    assert!(found["name"].as_str().is_some_and(|n| !n.is_empty()), "{found}");
    let (_, missing) = w.admin.err("find_company", &[("company_id", "987654321")]).await;
    assert!(missing.to_string().contains("Autotask has no company with ID 987654321"), "{missing:?}");
    let (_, zero) = w.admin.err("find_company", &[("company_id", "0")]).await;
    assert!(zero.to_string().contains("a number"), "{zero:?}");
    w.save(json!([{"op": "unlink", "customer_id": c[0], "company_id": k2}, {"op": "link", "customer_id": d, "company_id": k2}, {"op": "link", "customer_id": d, "company_id": k4}])).await;
    let page = w.customer_page(&w.admin, "matched", "grp").await;
    let d_companies: Vec<i64> =
        row_of(&page, "customer_id", d)["companies"].as_array().unwrap().iter().map(|k| k["company_id"].as_i64().unwrap()).collect();
    assert_eq!(d_companies.len(), 2);
    assert!(d_companies.contains(&k2) && d_companies.contains(&k4));
    let unknown = w.refuse(json!([{"op": "link", "customer_id": d, "company_id": 987_654_321}])).await;
    assert!(unknown.contains("Autotask has no company with ID 987654321"), "{unknown}");
    let twice = w.refuse(json!([{"op": "link", "customer_id": d, "company_id": k4}])).await;
    assert!(twice.contains("already linked"), "{twice}");
    // Each save is a run in the History: what it applied, or why nothing was.
    let runs = w.admin.ok_json("list_runs", &json!({"query": {"kind": "map_save"}})).await;
    let rows = runs["rows"].as_array().unwrap();
    assert_eq!((rows[0]["outcome"].as_str(), rows[0]["failed"].as_i64()), (Some("Failed"), Some(1)), "{runs}");
    assert!(
        rows[0]["summary"].as_str().unwrap().starts_with("1 change not saved: ") && rows[0]["summary"].as_str().unwrap().contains("already linked"),
        "{runs}"
    );
    let saved = rows.iter().find(|r| r["summary"] == "3 changes saved").unwrap_or_else(|| panic!("the three-change save: {runs}"));
    assert_eq!(
        (saved["done"].as_i64(), saved["outcome"].as_str(), saved["started_by"].as_str()),
        (Some(3), Some("Ok"), Some(w.partner.email.as_str())),
        "{saved}"
    );
    assert!(saved["log_key"].as_str().unwrap().starts_with("run_key="), "{saved}");
}

async fn links_hold_by_id_and_flag_renames_inactive_and_type(backend: Backend) {
    let w = world(backend).await;
    let k = w.company("Flag Original Name", json!({})).await;
    w.discover().await;
    let c = w.customers(json!([{"ref": "f", "name": "Flag Customer"}])).await[0];
    w.save(json!([{"op": "link", "customer_id": c, "company_id": k}])).await;
    w.autotask().patch("Companies", &json!({"id": k, "companyName": "Flag New Name", "isActive": false, "companyType": 3})).await.unwrap();
    w.discover().await;
    w.customers(json!([{"ref": "f", "name": "Flag Customer Renamed"}])).await;
    let page = w.customer_page(&w.admin, "matched", "flag").await;
    let row = row_of(&page, "customer_id", c);
    assert_eq!(row["companies"][0]["company_id"], k, "the link holds by ID");
    assert_eq!(row["companies"][0]["name"], "Flag New Name");
    let codes: Vec<&str> = row["companies"][0]["flags"].as_array().unwrap().iter().map(|f| f["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["renamed", "renamed", "inactive", "not_customer"], "{row}");
    let messages = row["companies"][0]["flags"].to_string();
    assert!(messages.contains("Flag Original Name") && messages.contains("Prospect"), "{messages}");
}

async fn contracts_are_flagged_and_a_flagged_one_needs_confirming(backend: Backend) {
    let w = world(backend).await;
    let k = w.company("Contract Co", json!({})).await;
    let other = w.company("Contract Other Co", json!({})).await;
    let contract = |name: &str, kind: i64, status: i64, end: &str| json!({"companyID": k, "contractName": name, "contractType": kind, "status": status, "startDate": "2025-01-01T00:00:00Z", "endDate": end, "contractCategory": 3});
    let fit = w.autotask().create("Contracts", &contract("Managed Backup", 7, 1, "2029-12-31T00:00:00Z")).await.unwrap();
    w.autotask().create_child("Contracts", fit, "Services", "ContractServices", &json!({"serviceID": 29_683_101, "unitPrice": 45.0})).await.unwrap();
    let tm = w.autotask().create("Contracts", &contract("Support T&M", 1, 1, "2029-12-31T00:00:00Z")).await.unwrap();
    let expired = w.autotask().create("Contracts", &contract("Old Backup", 7, 1, "2025-06-30T00:00:00Z")).await.unwrap();
    w.autotask()
        .create_child("Contracts", expired, "Services", "ContractServices", &json!({"serviceID": 29_683_101, "unitPrice": 45.0}))
        .await
        .unwrap();
    let bundled = w.autotask().create("Contracts", &contract("Bundle Only", 7, 1, "2029-12-31T00:00:00Z")).await.unwrap();
    w.autotask()
        .create_child("Contracts", bundled, "ServiceBundles", "ContractServiceBundles", &json!({"serviceBundleID": 29_683_201, "unitPrice": 95.0}))
        .await
        .unwrap();
    let elsewhere = w.autotask().create("Contracts", &json!({"companyID": other, "contractName": "Not yours", "contractType": 7, "status": 1, "startDate": "2025-01-01T00:00:00Z", "endDate": "2029-12-31T00:00:00Z"})).await.unwrap();
    w.discover().await;
    let c = w.customers(json!([{"ref": "k", "name": "Contract Customer"}])).await[0];
    // Contracts belong to companies: an unmatched customer has none to get.
    let not_linked = w.admin.err_json("get_contracts", &json!({"customer_id": c, "companies": null})).await;
    assert!(matches!(not_linked, AppError::Conflict(ref m) if m.contains("Link this customer")), "{not_linked:?}");
    // Axcient's flow: type the company's Autotask ID, Get contracts, pick one, Save once.
    let list = w.admin.ok_json("get_contracts", &json!({"customer_id": c, "companies": [k]})).await;
    let by_id = |id: i64| list.as_array().unwrap().iter().find(|o| o["contract_id"] == id).cloned().unwrap();
    let codes = |id: i64| by_id(id)["flags"].as_array().unwrap().iter().map(|f| f["code"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    assert_eq!(list.as_array().unwrap().len(), 4);
    assert_eq!(list[0]["contract_id"], fit, "fit contracts come first");
    assert!(codes(fit).is_empty());
    assert_eq!(by_id(fit)["type_label"], "Recurring Service");
    assert_eq!(codes(tm), ["not_recurring", "no_services"]);
    assert_eq!(codes(expired), ["expired"]);
    assert_eq!(codes(bundled), ["bundle_only"]);
    let typo = w.admin.err_json("get_contracts", &json!({"customer_id": c, "companies": [987_654]})).await;
    assert!(typo.to_string().contains("Autotask has no company with ID 987654"), "{typo:?}");
    w.save(json!([{"op": "link", "customer_id": c, "company_id": k}, {"op": "set_contract", "customer_id": c, "contract_id": fit, "confirm_flags": false}])).await;
    let row = row_of(&w.customer_page(&w.admin, "matched", "contract customer").await, "customer_id", c);
    assert_eq!(row["contract"]["contract_id"], fit, "the link and its contract in one save: {row}");
    assert_eq!(w.admin.ok_json("get_contracts", &json!({"customer_id": c, "companies": null})).await, list, "the saved link gives the same list");
    // A flagged contract is never chosen silently.
    let refused = w.refuse(json!([{"op": "set_contract", "customer_id": c, "contract_id": tm, "confirm_flags": false}])).await;
    assert!(refused.contains("Not a Recurring Service contract") && refused.contains("Confirm"), "{refused}");
    w.save(json!([{"op": "set_contract", "customer_id": c, "contract_id": tm, "confirm_flags": true}])).await;
    let row = row_of(&w.customer_page(&w.admin, "matched", "contract customer").await, "customer_id", c);
    assert_eq!(row["contract"]["contract_id"], tm);
    assert!(row["contract"]["flags"].as_str().unwrap().contains("Not a Recurring Service"));
    w.save(json!([{"op": "set_contract", "customer_id": c, "contract_id": fit, "confirm_flags": false}])).await;
    let row = row_of(&w.customer_page(&w.admin, "matched", "contract customer").await, "customer_id", c);
    assert_eq!(
        (row["contract"]["contract_id"].as_i64(), row["contract"]["name"].as_str(), &row["contract"]["flags"]),
        (Some(fit), Some("Managed Backup"), &Value::Null)
    );
    let foreign = w.refuse(json!([{"op": "set_contract", "customer_id": c, "contract_id": elsewhere, "confirm_flags": true}])).await;
    assert!(foreign.contains("does not belong"), "{foreign}");
    // Unlinking the company clears its contract.
    w.save(json!([{"op": "unlink", "customer_id": c, "company_id": k}])).await;
    let row = row_of(&w.customer_page(&w.admin, "all", "contract customer").await, "customer_id", c);
    assert_eq!(row["contract"], Value::Null);
}

async fn customers_are_created_from_companies_and_the_map_exports_as_csv(backend: Backend) {
    let w = world(backend).await;
    let good = w.company("Create Good GmbH", json!({"countryID": 84, "state": "BY", "city": "München"})).await;
    let bad = w.company("Create Bad State", json!({"state": "Texas"})).await;
    w.discover().await;
    let saved = w.save(json!([{"op": "create_customer", "company_id": good}])).await;
    let customer_id = saved["created"][0][1].as_i64().unwrap();
    let row = row_of(&w.customer_page(&w.admin, "matched", "create").await, "customer_id", customer_id);
    assert_eq!(
        (row["name"].as_str(), row["region"].as_str(), row["companies"][0]["company_id"].as_i64()),
        (Some("Create Good GmbH"), Some("eu"), Some(good))
    );
    let refused = w.refuse(json!([{"op": "create_customer", "company_id": bad}])).await;
    assert!(refused.contains("ISO 3166-2"), "{refused}");

    let csv = w.admin.get("/exports/customer-map.csv").await;
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    assert!(csv.headers()["content-disposition"].to_str().unwrap().contains("customer-map-"));
    let body = csv.text().await.unwrap();
    assert!(body.starts_with("customer_id,customer_name,region,autotask_company_id"));
    assert!(body.contains(&format!("{customer_id},Create Good GmbH,eu,{good},Create Good GmbH,Customer,yes,1-to-1,")), "{body}");
    let anonymous = w.app.browser().get("/exports/customer-map.csv").await;
    assert!(anonymous.status().is_redirection(), "{}", anonymous.status());
}

async fn the_map_is_the_partners_own(backend: Backend) {
    let w = world(backend).await;
    let k = w.company("Tenant Co", json!({})).await;
    w.discover().await;
    let c = w.customers(json!([{"ref": "t", "name": "Tenant Customer"}])).await[0];
    w.save(json!([{"op": "link", "customer_id": c, "company_id": k}])).await;
    // A technician reads but cannot change the map.
    w.admin.ok("create_user", &[("email", "tech@map.example"), ("name", "Tech"), ("role", "technician"), ("password", "tech-password-long")]).await;
    let tech = w.app.signed_in("tech@map.example", "tech-password-long").await;
    assert_eq!(w.customer_page(&tech, "matched", "").await["total"], 1);
    assert_eq!(
        tech.err_json("save_customer_map", &json!({"changes": [{"op": "unlink", "customer_id": c, "company_id": k}]})).await,
        AppError::Forbidden
    );
    // Another partner sees nothing and cannot touch the first partner's customers.
    let b = w.app.partner("Other").await;
    let other = w.app.signed_in(&b.email, &b.password).await;
    let page = w.customer_page(&other, "all", "").await;
    assert_eq!((page["total"].as_i64(), page["counts"]["customers"].as_i64()), (Some(0), Some(0)));
    assert_eq!(other.err_json("get_contracts", &json!({"customer_id": c, "companies": null})).await, AppError::NotFound);
    assert_eq!(other.err_json("get_contracts", &json!({"customer_id": c, "companies": [k]})).await, AppError::NotFound);
    match other
        .err_json("save_customer_map", &json!({"changes": [{"op": "set_contract", "customer_id": c, "contract_id": null, "confirm_flags": false}]}))
        .await
    {
        AppError::Invalid { message, .. } => assert!(message.contains("does not exist"), "{message}"),
        e => panic!("{e:?}"),
    }
    assert_eq!(other.ok("map_history", &[]).await, json!([]));
    // Both partners use the same Autotask: the same company IDs exist for each, and each
    // still sees only its own rows and links.
    other
        .ok("save_autotask_connection", &[("username", USERNAME), ("secret", SECRET), ("integration_code", INTEGRATION_CODE), ("zone_override", "")])
        .await;
    let job = other.ok("start_discovery", &[]).await;
    for _ in 0..400 {
        if other.ok("get_job", &[("job_id", &job["job_id"].to_string())]).await["state"] != "running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let theirs = other.ok_json("map_companies", &json!({"query": {"search": "Tenant Co", "companies": "all", "page": 1, "per_page": 50}})).await;
    assert_eq!(theirs["total"], 1);
    assert_eq!(theirs["rows"].as_array().unwrap().len(), 1, "{theirs}");
    assert_eq!(theirs["rows"][0]["customers"], json!([]), "another partner's link must not show");
    let ours = w.company_page("all", "Tenant Co").await;
    assert_eq!(ours["rows"].as_array().unwrap().len(), 1, "{ours}");
    let csv = other.get("/exports/customer-map.csv").await.text().await.unwrap();
    assert_eq!(csv.lines().count(), 1, "only the header: {csv}");
    // Invalid API input names the field.
    let r = reqwest::Client::new()
        .post(w.app.url("/api/v1/customers"))
        .bearer_auth(&w.token)
        .json(&json!({"customers": [{"ref": "x", "name": "X", "country": "Narnia"}, {"name": "no ref"}]}))
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["results"][0]["error"]["field"], "customers[0].country");
    assert_eq!(body["results"][1]["error"]["field"], "customers[1].ref");
}

/// Several partners save their maps at the same moment, on one database. Each Save reads
/// the partner's links and then writes; on SQLite a deferred transaction doing that fails
/// with SQLITE_BUSY when another connection wrote in between (seen in a CI run of the
/// Playwright suite), so every one of these saves must succeed.
async fn partners_saving_at_the_same_time_all_succeed(backend: Backend) {
    const PARTNERS: usize = 6;
    const ROUNDS: usize = 4;
    let w = world(backend).await;
    let mut companies = Vec::new();
    for i in 0..PARTNERS {
        companies.push(w.company(&format!("Qwyx Busy Partner Co {i}"), json!({})).await);
    }
    let mut partners = Vec::new();
    for (i, company_id) in companies.into_iter().enumerate() {
        let p = w.app.partner("Busy").await;
        let b = w.app.signed_in(&p.email, &p.password).await;
        b.ok(
            "save_autotask_connection",
            &[("username", USERNAME), ("secret", SECRET), ("integration_code", INTEGRATION_CODE), ("zone_override", "")],
        )
        .await;
        let token = b.ok("create_api_token", &[("name", "Backup platform")]).await["token"].as_str().unwrap().to_string();
        let r = reqwest::Client::new()
            .post(w.app.url("/api/v1/customers"))
            .bearer_auth(&token)
            .json(&json!({"customers": [{"ref": format!("busy-{i}"), "name": format!("Busy Customer {i}")}]}))
            .send()
            .await
            .unwrap();
        let customer_id = r.json::<Value>().await.unwrap()["results"][0]["customer_id"].as_i64().unwrap();
        partners.push((b, customer_id, company_id));
    }
    let mut saves = tokio::task::JoinSet::new();
    for (b, customer_id, company_id) in partners {
        saves.spawn(async move {
            let mut failures = Vec::new();
            for round in 0..ROUNDS {
                let op = if round % 2 == 0 { "link" } else { "unlink" };
                let r =
                    b.call_json("save_customer_map", &json!({"changes": [{"op": op, "customer_id": customer_id, "company_id": company_id}]})).await;
                if !r.status().is_success() {
                    failures.push(format!("round {round} ({op}): {} {}", r.status(), r.text().await.unwrap()));
                }
            }
            failures
        });
    }
    let mut failures = Vec::new();
    while let Some(done) = saves.join_next().await {
        failures.extend(done.unwrap());
    }
    assert!(failures.is_empty(), "concurrent saves failed: {failures:#?}");
}

/// No database lock is held while Autotask answers: a save that chooses a contract on a
/// slow Autotask (1.5 s a call) does not hold up another partner's save, which finishes
/// first. (The contract is read before the save's transaction opens; SQLite's write lock
/// is global, so a read inside it made every other writer wait.)
async fn a_save_waiting_on_autotask_holds_up_no_other_save(backend: Backend) {
    let w = world(backend).await;
    let slow_company = w.company("Slow Contract Co", json!({})).await;
    let contract = w
        .autotask()
        .create("Contracts", &json!({"companyID": slow_company, "contractName": "Managed Backup", "contractType": 7, "status": 1, "startDate": "2025-01-01T00:00:00Z", "endDate": "2029-12-31T00:00:00Z", "contractCategory": 3}))
        .await
        .unwrap();
    w.autotask()
        .create_child("Contracts", contract, "Services", "ContractServices", &json!({"serviceID": 29_683_101, "unitPrice": 45.0}))
        .await
        .unwrap();
    let quick_company = w.company("Quick Partner Co", json!({})).await;
    w.discover().await;
    let slow_customer = w.customers(json!([{"ref": "slow", "name": "Slow Customer"}])).await[0];
    w.save(json!([{"op": "link", "customer_id": slow_customer, "company_id": slow_company}])).await;
    // A second partner with a discovered company: its save needs no Autotask call.
    let p = w.app.partner("Quick").await;
    let quick = w.app.signed_in(&p.email, &p.password).await;
    quick
        .ok("save_autotask_connection", &[("username", USERNAME), ("secret", SECRET), ("integration_code", INTEGRATION_CODE), ("zone_override", "")])
        .await;
    discover_as(&quick).await;
    let token = quick.ok("create_api_token", &[("name", "Backup platform")]).await["token"].as_str().unwrap().to_string();
    let r = reqwest::Client::new()
        .post(w.app.url("/api/v1/customers"))
        .bearer_auth(&token)
        .json(&json!({"customers": [{"ref": "q", "name": "Quick Customer"}]}))
        .send()
        .await
        .unwrap();
    let quick_customer = r.json::<Value>().await.unwrap()["results"][0]["customer_id"].as_i64().unwrap();

    w.sandbox_running().sandbox.set_faults(sandbox::faults::Faults { latency_ms: 1_500, ..Default::default() });
    w.sandbox_running().sandbox.limits.reset_stats();
    let slow_admin = w.admin.client.clone();
    let origin = w.admin.origin.clone();
    let slow = tokio::spawn(async move {
        let r = slow_admin
            .post(format!("{origin}/rpc/save_customer_map"))
            .header("origin", &origin)
            .header("accept", "application/json")
            .json(&json!({"changes": [{"op": "set_contract", "customer_id": slow_customer, "contract_id": contract, "confirm_flags": false}]}))
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap(), std::time::Instant::now())
    });
    // Wait until the slow save is waiting on Autotask for the contract.
    for _ in 0..500 {
        if w.sandbox_running().sandbox.limits.stats().requests.get("Contracts").copied().unwrap_or(0) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        w.sandbox_running().sandbox.limits.stats().requests.get("Contracts").copied().unwrap_or(0) > 0,
        "the slow save never asked Autotask for the contract"
    );
    quick.ok_json("save_customer_map", &json!({"changes": [{"op": "link", "customer_id": quick_customer, "company_id": quick_company}]})).await;
    let quick_done = std::time::Instant::now();
    let (status, body, slow_done) = slow.await.unwrap();
    assert!(status.is_success(), "the slow save failed: {status} {body}");
    assert!(quick_done < slow_done, "the quick save waited for the slow one's Autotask calls");
    let row = row_of(&w.customer_page(&w.admin, "matched", "slow customer").await, "customer_id", slow_customer);
    assert_eq!(row["contract"]["contract_id"], contract);
}
