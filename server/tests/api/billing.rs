//! Billing, first part: `POST /api/v1/usage` (validation naming the field, one row per
//! customer, product and month, stale measurements ignored, tenancy) and the billing
//! settings against the sandbox (monthly services only, checked on save).

use crate::helpers::{both_databases, Backend};
use crate::world::World;
use app::error::AppError;
use sandbox::SandboxConfig;
use serde_json::{json, Value};

both_databases!(
    usage_is_one_row_per_customer_product_and_month,
    billing_settings_offer_monthly_services_and_check_them_on_save,
    a_push_previews_writes_only_differences_and_never_applies_twice,
    scheduled_pushes_need_a_sync_notification_and_run_once_per_interval,
    throttling_and_outages_mid_push_never_apply_twice_and_missing_services_are_added_when_allowed,
    writes_run_side_by_side_within_the_thread_limit_and_a_failed_undo_can_be_repeated,
    the_preview_is_paged_filtered_and_reused_until_refreshed_and_applies_what_matches,
);

async fn world(backend: Backend) -> World {
    let w = World::new(backend, "Billing", Some(SandboxConfig { seed: 4, companies: 5, contacts: 5, ..SandboxConfig::default() })).await;
    w.register(&[("c1", "Acme Dental")]).await;
    w
}

impl World {
    async fn usage(&self, body: Value) -> (u16, Value) {
        self.api("/api/v1/usage", &body).await
    }
}

impl World {
    /// `n` customers (`{prefix} Customer {i}`, ref `{prefix}{i}`), each linked to its own
    /// company with a Recurring Service contract (with the server licence when
    /// `with_service(i)`), and `quantity(i)` server licences reported this month.
    /// Returns each contract with its quantity.
    pub(crate) async fn contracted(
        &self,
        at: &server::autotask::AutotaskClient,
        prefix: &str,
        n: i64,
        with_service: impl Fn(i64) -> bool,
        quantity: impl Fn(i64) -> i64,
    ) -> Vec<(i64, i64)> {
        let period = app::format::iso_utc(server::db::now_ms())[..7].to_string();
        let mut contracts = Vec::new();
        for i in 0..n {
            let reference = format!("{prefix}{i}");
            let company = at.create("Companies", &json!({"companyName": format!("{prefix} Co {i}"), "companyType": 1, "ownerResourceID": 29_682_885, "isActive": true, "countryID": 237})).await.unwrap();
            let contract = at
                .create("Contracts", &json!({"companyID": company, "contractName": format!("Backup {i}"), "contractType": 7, "status": 1, "startDate": "2025-01-01T00:00:00Z", "endDate": "2030-12-31T00:00:00Z"}))
                .await
                .unwrap();
            if with_service(i) {
                at.create_child("Contracts", contract, "Services", "ContractServices", &json!({"serviceID": SERVER_LICENCE, "unitPrice": 45.0}))
                    .await
                    .unwrap();
            }
            let r = reqwest::Client::new()
                .post(self.app.url("/api/v1/customers"))
                .bearer_auth(&self.token)
                .json(&json!({"customers": [{"ref": reference, "name": format!("{prefix} Customer {i}")}]}))
                .send()
                .await
                .unwrap();
            let customer = r.json::<Value>().await.unwrap()["results"][0]["customer_id"].as_i64().unwrap();
            self.admin.ok_json("save_customer_map", &json!({"changes": [{"op": "link", "customer_id": customer, "company_id": company}, {"op": "set_contract", "customer_id": customer, "contract_id": contract, "confirm_flags": true}]})).await;
            self.usage(json!({"customer_ref": reference, "product": "server_backup", "period": period, "quantity": quantity(i)})).await;
            contracts.push((contract, quantity(i)));
        }
        contracts
    }

    /// Maps the server licence product to its Autotask service.
    pub(crate) async fn map_server_licence(&self) {
        let mut mappings = self.admin.ok("get_billing_settings", &[]).await["mappings"].as_array().unwrap().clone();
        mappings[0]["service_id"] = json!(SERVER_LICENCE);
        self.admin.ok_json("save_billing_settings", &json!({ "mappings": mappings })).await;
    }

    /// Units Autotask bills today on a contract, over all its services.
    pub(crate) async fn billed(&self, at: &server::autotask::AutotaskClient, contract: i64) -> i64 {
        use server::autotask::{Filter, Query};
        let today = app::format::iso_utc(server::db::now_ms());
        let rows = at
            .query_all_raw(
                "ContractServiceUnits",
                &Query::new([Filter::eq("contractID", contract), Filter::lte("startDate", today.clone()), Filter::gt("endDate", today)]),
            )
            .await
            .unwrap();
        rows.iter().map(|r| r["units"].as_i64().unwrap()).sum::<i64>()
    }

    /// Sets the sandbox's fault injection.
    pub(crate) async fn faults(&self, faults: Value) {
        crate::helpers::set_faults(self.sandbox_running(), faults);
    }
}

fn statuses(body: &Value) -> Vec<String> {
    body["results"].as_array().unwrap().iter().map(|r| r["status"].as_str().unwrap().to_string()).collect()
}

async fn usage_is_one_row_per_customer_product_and_month(backend: Backend) {
    let w = world(backend).await;
    let lic = |q: f64| json!({"customer_ref": "c1", "product": "server_backup", "period": "2026-11", "quantity": q});
    let gb = |q: f64, at: &str| json!({"customer_ref": "c1", "product": "cloud_storage_gb", "period": "2026-11", "quantity": q, "measured_at": at});
    let (status, body) = w.usage(json!({"usage": [lic(3.0), gb(1234.5, "2026-11-22T02:00:00Z")]})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(statuses(&body), ["created", "created"]);
    let (_, again) = w.usage(json!({"usage": [lic(3.0), gb(1300.0, "2026-11-22T03:00:00Z"), gb(1250.0, "2026-11-22T01:00:00Z")]})).await;
    assert_eq!(statuses(&again), ["unchanged", "updated", "stale"], "a repeat is one row; an older measurement is ignored");
    let rows: Vec<(String, f64)> =
        sqlx::query_as("select product, quantity from usage_report order by product").fetch_all(&w.app.state.db.pool).await.unwrap();
    assert_eq!(rows, vec![("cloud_storage_gb".to_string(), 1300.0), ("server_backup".to_string(), 3.0)]);
    // Another month is another row.
    let mut december = lic(4.0);
    december["period"] = json!("2026-12");
    assert_eq!(statuses(&w.usage(december).await.1), ["created"]);

    // Each mistake names its field.
    let (status, bad) = w
        .usage(json!({"usage": [
            {"customer_ref": "c1", "product": "tape", "period": "2026-11", "quantity": 1},
            {"customer_ref": "c1", "product": "server_backup", "period": "Nov 2026", "quantity": 1},
            {"customer_ref": "c1", "product": "server_backup", "period": "2026-11", "quantity": 2.5},
            {"customer_ref": "c1", "product": "cloud_storage_gb", "period": "2026-11", "quantity": 10},
            {"customer_ref": "nobody", "product": "server_backup", "period": "2026-11", "quantity": 1},
            {"customer_ref": "c1", "product": "server_backup", "period": "2026-13", "quantity": -1}
        ]}))
        .await;
    assert_eq!(status, 200);
    let fields: Vec<&str> = bad["results"].as_array().unwrap().iter().map(|r| r["error"]["field"].as_str().unwrap()).collect();
    assert_eq!(
        fields,
        ["usage[0].product", "usage[1].period", "usage[2].quantity", "usage[3].measured_at", "usage[4].customer_ref", "usage[5].period"]
    );
    let (status, one) = w.usage(json!({"customer_ref": "c1", "product": "server_backup", "period": "2026-11"})).await;
    assert_eq!((status, one["error"]["field"].as_str()), (422, Some("quantity")));

    // Another partner's token cannot report for this partner's customers.
    let other = w.app.partner("Other").await;
    let other_admin = w.app.signed_in(&other.email, &other.password).await;
    let other_token = other_admin.ok("create_api_token", &[("name", "x")]).await["token"].as_str().unwrap().to_string();
    let customer_id: i64 =
        sqlx::query_scalar("select customer_id from customer where external_ref = 'c1'").fetch_one(&w.app.state.db.pool).await.unwrap();
    let r = reqwest::Client::new()
        .post(w.app.url("/api/v1/usage"))
        .bearer_auth(&other_token)
        .json(&json!({"customer_id": customer_id, "product": "server_backup", "period": "2026-11", "quantity": 99}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let kept: f64 = sqlx::query_scalar("select quantity from usage_report where product = 'server_backup' and period = '2026-11'")
        .fetch_one(&w.app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(kept, 3.0);
}

async fn billing_settings_offer_monthly_services_and_check_them_on_save(backend: Backend) {
    let w = world(backend).await;
    let initial = w.admin.ok("get_billing_settings", &[]).await;
    let mappings = initial["mappings"].as_array().unwrap().clone();
    assert_eq!(mappings.len(), 6, "every product, unmapped until saved");
    assert!(mappings.iter().all(|m| m["service_id"].is_null()));

    let services = w.admin.ok("retrieve_services", &[]).await;
    let find =
        |name: &str| services.as_array().unwrap().iter().find(|s| s["name"] == name).cloned().unwrap_or_else(|| panic!("{name} in {services}"));
    assert_eq!(find("Server Backup Licence")["eligible"], true);
    assert!(find("Annual DR Test")["reason"].as_str().unwrap().contains("yearly"), "non-monthly services are shown with the reason");
    assert!(find("Legacy Tape Rotation")["reason"].as_str().unwrap().contains("Inactive"));
    assert_eq!(services[0]["eligible"], true, "eligible ones first");

    let mut changed = mappings.clone();
    changed[0]["service_id"] = json!(29_683_101);
    changed[4]["service_id"] = json!(29_683_103);
    changed[4]["rounding"] = json!("nearest");
    changed[4]["unit_size"] = json!(100.0);
    let saved = w.admin.ok_json("save_billing_settings", &json!({ "mappings": changed })).await;
    assert_eq!(saved["mappings"][0]["service_name"], "Server Backup Licence");
    assert_eq!((saved["mappings"][4]["rounding"].as_str(), saved["mappings"][4]["unit_size"].as_f64()), (Some("nearest"), Some(100.0)));

    // A yearly service, an unknown one, and rounding on a count are refused, naming the row.
    let mut yearly = changed.clone();
    yearly[1]["service_id"] = json!(29_683_106);
    let e = w.admin.err_json("save_billing_settings", &json!({ "mappings": yearly })).await;
    assert!(matches!(&e, AppError::Invalid { field, message } if field == "mappings[1].service_id" && message.contains("monthly")), "{e:?}");
    let mut unknown = changed.clone();
    unknown[2]["service_id"] = json!(1);
    assert!(
        matches!(w.admin.err_json("save_billing_settings", &json!({ "mappings": unknown })).await, AppError::Invalid { ref field, .. } if field == "mappings[2].service_id")
    );
    let mut rounded = changed.clone();
    rounded[0]["rounding"] = json!("down");
    assert!(
        matches!(w.admin.err_json("save_billing_settings", &json!({ "mappings": rounded })).await, AppError::Invalid { ref field, .. } if field == "mappings[0].rounding")
    );
    // Nothing of the refused saves was kept.
    let now = w.admin.ok("get_billing_settings", &[]).await;
    assert_eq!(now["mappings"][1]["service_id"], Value::Null);
    assert_eq!(now["mappings"][0]["service_id"], 29_683_101);
}

const SERVER_LICENCE: i64 = 29_683_101;
const CLOUD_GB: i64 = 29_683_103;

async fn a_push_previews_writes_only_differences_and_never_applies_twice(backend: Backend) {
    use server::autotask::{Filter, Query};
    let w = world(backend).await;
    let at = w.autotask();
    let month_start = format!("{}-01T00:00:00Z", &app::format::iso_utc(server::db::now_ms())[..7]);
    // Customers: c1 on a recurring contract (licences billed 2 now, storage on it at 0),
    // c2 without a contract, c3 on a Time & Materials contract, c4 whose licence is only
    // inside a bundle on its contract.
    let mut contracts = Vec::new();
    for (i, (reference, kind)) in [("c1", 7), ("c2", 0), ("c3", 1), ("c4", 7)].into_iter().enumerate() {
        let company = at.create("Companies", &json!({"companyName": format!("Billing Co {i}"), "companyType": 1, "ownerResourceID": 29_682_885, "isActive": true, "countryID": 237})).await.unwrap();
        let r = reqwest::Client::new()
            .post(w.app.url("/api/v1/customers"))
            .bearer_auth(&w.token)
            .json(&json!({"customers": [{"ref": reference, "name": format!("Billing Customer {i}")}]}))
            .send()
            .await
            .unwrap();
        let customer = r.json::<Value>().await.unwrap()["results"][0]["customer_id"].as_i64().unwrap();
        let mut changes = vec![json!({"op": "link", "customer_id": customer, "company_id": company})];
        if kind != 0 {
            let contract = at
                .create("Contracts", &json!({"companyID": company, "contractName": format!("Managed Backup {i}"), "contractType": kind, "status": 1, "startDate": "2025-01-01T00:00:00Z", "endDate": "2030-12-31T00:00:00Z"}))
                .await
                .unwrap();
            changes.push(json!({"op": "set_contract", "customer_id": customer, "contract_id": contract, "confirm_flags": true}));
            contracts.push(contract);
        }
        w.admin.ok_json("save_customer_map", &json!({ "changes": changes })).await;
    }
    let (c1, c4) = (contracts[0], contracts[2]);
    at.create_child("Contracts", c1, "Services", "ContractServices", &json!({"serviceID": SERVER_LICENCE, "unitPrice": 45.0})).await.unwrap();
    at.create_child("Contracts", c1, "Services", "ContractServices", &json!({"serviceID": CLOUD_GB, "unitPrice": 8.0})).await.unwrap();
    at.create("ContractServiceAdjustments", &json!({"contractID": c1, "serviceID": SERVER_LICENCE, "effectiveDate": month_start, "unitChange": 2}))
        .await
        .unwrap();
    at.create_child("Contracts", c4, "ServiceBundles", "ContractServiceBundles", &json!({"serviceBundleID": 29_683_201, "unitPrice": 95.0}))
        .await
        .unwrap();
    let mut mappings = w.admin.ok("get_billing_settings", &[]).await["mappings"].as_array().unwrap().clone();
    mappings[0]["service_id"] = json!(SERVER_LICENCE);
    mappings[4]["service_id"] = json!(CLOUD_GB);
    mappings[4]["rounding"] = json!("nearest");
    mappings[4]["unit_size"] = json!(100.0);
    w.admin.ok_json("save_billing_settings", &json!({ "mappings": mappings })).await;
    let period = &app::format::iso_utc(server::db::now_ms())[..7];
    let usage =
        |c: &str, p: &str, q: f64| json!({"customer_ref": c, "product": p, "period": period, "quantity": q, "measured_at": "2026-01-01T00:00:00Z"});
    let (status, body) = w
        .usage(json!({"usage": [usage("c1", "server_backup", 5.0), usage("c1", "cloud_storage_gb", 1234.0), usage("c1", "workstation_backup", 3.0), usage("c2", "server_backup", 1.0), usage("c3", "server_backup", 1.0), usage("c4", "server_backup", 4.0)]}))
        .await;
    assert_eq!(status, 200, "{body}");

    // The preview: only differences change, each skip says why, nothing is written.
    let preview = w.admin.ok_json("preview_push", &json!({"query": {}})).await;
    let line = |p: &Value, name: &str, product: &str| {
        p["lines"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["customer_name"] == name && l["product"] == product)
            .cloned()
            .unwrap_or_else(|| panic!("{name} {product} in {p}"))
    };
    let lic = line(&preview, "Billing Customer 0", "server_backup");
    assert_eq!(
        (lic["autotask_units"].as_i64(), lic["taskbridge_units"].as_i64(), lic["change"].as_i64(), lic["money"].as_f64()),
        (Some(2), Some(5), Some(3), Some(135.0))
    );
    let gb = line(&preview, "Billing Customer 0", "cloud_storage_gb");
    assert_eq!(
        (gb["autotask_units"].as_i64(), gb["taskbridge_units"].as_i64(), gb["change"].as_i64()),
        (Some(0), Some(12), Some(12)),
        "1,234 GB to the nearest 100 GB is 12 units"
    );
    let reason = |name: &str, product: &str| line(&preview, name, product)["reason"].as_str().unwrap().to_string();
    assert!(reason("Billing Customer 0", "workstation_backup").contains("not mapped"));
    assert!(reason("Billing Customer 1", "server_backup").contains("No billing contract"));
    assert!(reason("Billing Customer 2", "server_backup").contains("Recurring Service"));
    assert!(reason("Billing Customer 3", "server_backup").contains("bundle"));
    assert_eq!(preview["changes"], 2);
    assert_eq!(preview["currency"], "USD", "money is in the partner's internal currency");
    let billed = |contract: i64, service: i64| {
        let at = &at;
        async move {
            let today = app::format::iso_utc(server::db::now_ms());
            let rows = at
                .query_all_raw(
                    "ContractServiceUnits",
                    &Query::new([
                        Filter::eq("contractID", contract),
                        Filter::eq("serviceID", service),
                        Filter::lte("startDate", today.clone()),
                        Filter::gt("endDate", today),
                    ]),
                )
                .await
                .unwrap();
            rows.first().map_or(0, |r| r["units"].as_i64().unwrap())
        }
    };
    assert_eq!(billed(c1, SERVER_LICENCE).await, 2, "a preview writes nothing");

    // Apply, holding changes above 10 units for approval.
    let result = w.admin.ok_json("apply_push", &json!({"selection": {"lines": null, "hold_above": 10}})).await;
    assert_eq!((result["applied"].as_i64(), result["held"].as_i64()), (Some(1), Some(1)), "{result}");
    assert_eq!(billed(c1, SERVER_LICENCE).await, 5);
    assert_eq!(billed(c1, CLOUD_GB).await, 0, "held");

    // A push that wrote an adjustment and died before recording it: Autotask already
    // bills the target, so the next push finds nothing to write for that line.
    at.create("ContractServiceAdjustments", &json!({"contractID": c1, "serviceID": CLOUD_GB, "effectiveDate": month_start, "unitChange": 12}))
        .await
        .unwrap();
    let again = w.admin.ok_json("apply_push", &json!({"selection": {"lines": null, "hold_above": null}})).await;
    assert_eq!((again["applied"].as_i64(), again["unchanged"].as_i64()), (Some(0), Some(2)), "{again}");
    assert_eq!(billed(c1, CLOUD_GB).await, 12, "not applied twice");

    // An answer lost after Autotask wrote the adjustment is recognised, not repeated.
    w.usage(usage("c1", "server_backup", 7.0)).await;
    w.faults(json!({"rate_lost_write": 1.0})).await;
    let lost = w.admin.ok_json("apply_push", &json!({"selection": {"lines": [[lic["customer_id"], "server_backup"]], "hold_above": null}})).await;
    w.faults(json!({})).await;
    assert_eq!(lost["applied"], 1, "{lost}");
    assert_eq!(billed(c1, SERVER_LICENCE).await, 7, "written once");
    let history = w.admin.ok("push_history", &[]).await;
    let runs: Vec<(i64, &str, i64)> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["push_id"].as_i64().unwrap(), r["kind"].as_str().unwrap(), r["applied"].as_i64().unwrap()))
        .collect();
    assert_eq!(runs.iter().map(|r| (r.1, r.2)).collect::<Vec<_>>(), [("apply", 1), ("apply", 0), ("apply", 1)], "newest first");
    let (latest, first) = (runs[0].0, runs[2].0);

    // Undo writes the opposite adjustments, newest push first, and is itself recorded.
    let undone = w.admin.ok("undo_push", &[("push_id", &latest.to_string())]).await;
    assert_eq!(undone["applied"], 1, "{undone}");
    assert_eq!(billed(c1, SERVER_LICENCE).await, 5);
    let undone = w.admin.ok("undo_push", &[("push_id", &first.to_string())]).await;
    assert_eq!(undone["applied"], 1, "{undone}");
    assert_eq!(billed(c1, SERVER_LICENCE).await, 2, "back where it started");
    let (_, again) = w.admin.err("undo_push", &[("push_id", &latest.to_string())]).await;
    assert!(matches!(&again, AppError::Conflict(m) if m.contains("already undone")), "{again:?}");
    let history = w.admin.ok("push_history", &[]).await;
    assert_eq!(history[0]["kind"], "undo");
    assert_eq!(history[0]["undo_of"], first);
    assert_eq!(history.as_array().unwrap().iter().find(|r| r["push_id"] == latest).unwrap()["undone_by"], history[1]["push_id"]);
    let lines = w.admin.ok("push_lines", &[("push_id", &first.to_string())]).await;
    let by_product = |p: &str| lines.as_array().unwrap().iter().find(|l| l["product"] == p).cloned().unwrap();
    let applied = by_product("server_backup");
    assert_eq!(
        (applied["autotask_units"].as_i64(), applied["taskbridge_units"].as_i64(), applied["status"].as_str()),
        (Some(2), Some(5), Some("applied"))
    );
    assert_eq!(by_product("cloud_storage_gb")["status"], "held");
    // The history exports as CSV for the partner only.
    let csv = w.admin.get("/exports/billing-history.csv").await.text().await.unwrap();
    assert!(csv.starts_with("push_id,kind,undo_of,period"), "{csv}");
    assert!(csv.contains(",undo,") && csv.contains("Billing Customer 0,server_backup"), "{csv}");
    let anonymous = w.app.browser().get("/exports/billing-history.csv").await;
    assert!(anonymous.status().is_redirection(), "anonymous visitors are sent to sign in: {}", anonymous.status());

    // Held changes: the preview counts what a threshold holds (Setup's unless the query
    // names one), and approving writes those and only those, whatever their size.
    w.usage(json!({"usage": [usage("c1", "cloud_storage_gb", 3456.0)]})).await;
    let held = w.admin.ok_json("preview_push", &json!({"query": {"hold": {"above": 10}}})).await;
    assert_eq!((held["hold_above"].as_i64(), held["matching_held"].as_i64(), held["changes"].as_i64()), (Some(10), Some(1), Some(2)), "{held}");
    let none = w.admin.ok_json("preview_push", &json!({"query": {}})).await;
    assert_eq!((none["hold_above"].as_i64(), none["matching_held"].as_i64()), (None, Some(0)), "nothing saved on Setup holds nothing");
    w.admin.ok_json("save_billing_schedule", &json!({"schedule": {"every_hours": 24, "hold_above": 4, "enabled": true, "next_run_at": null}})).await;
    let saved = w.admin.ok_json("preview_push", &json!({"query": {}})).await;
    assert_eq!((saved["hold_above"].as_i64(), saved["matching_held"].as_i64()), (Some(4), Some(2)), "Setup's threshold by default: {saved}");
    let unheld = w.admin.ok_json("preview_push", &json!({"query": {"hold": "no_limit"}})).await;
    assert_eq!(unheld["matching_held"], 0, "the page may hold nothing");
    let refused = w.admin.err_json("apply_push", &json!({"selection": {"lines": null, "hold_above": null, "held_only": true}})).await;
    assert!(matches!(&refused, AppError::Invalid { field, .. } if field == "hold_above"), "{refused:?}");
    let approved = w.admin.ok_json("apply_push", &json!({"selection": {"lines": null, "hold_above": 10, "held_only": true}})).await;
    assert_eq!(
        (approved["applied"].as_i64(), approved["held"].as_i64(), approved["lines"].as_array().map(Vec::len)),
        (Some(1), Some(0), Some(1)),
        "{approved}"
    );
    assert_eq!((billed(c1, CLOUD_GB).await, billed(c1, SERVER_LICENCE).await), (35, 2), "3,456 GB is 35 units; the licences' +5 is not above 10");

    // The Overview shows how the latest push ended, and that every customer is linked
    // until one arrives without a company.
    let overview = w.admin.ok("get_overview", &[]).await;
    let runs = w.admin.ok_json("list_runs", &json!({"query": {"kind": "push"}})).await;
    assert_eq!(overview["last_push"]["run_id"], runs["rows"][0]["run_id"], "{overview}");
    assert_eq!(overview["last_push"]["outcome"], "Ok");
    assert!(overview["last_sync"].is_null());
    assert_eq!(overview["unmapped_customers"], 0, "{overview}");
    w.register(&[("c9", "Not Yet Linked Ltd")]).await;
    assert_eq!(w.admin.ok("get_overview", &[]).await["unmapped_customers"], 1);
}

async fn scheduled_pushes_need_a_sync_notification_and_run_once_per_interval(backend: Backend) {
    let w = world(backend).await;
    let at = w.autotask();
    let company = at
        .create(
            "Companies",
            &json!({"companyName": "Scheduled Co", "companyType": 1, "ownerResourceID": 29_682_885, "isActive": true, "countryID": 237}),
        )
        .await
        .unwrap();
    let contract = at
        .create("Contracts", &json!({"companyID": company, "contractName": "Managed Backup", "contractType": 7, "status": 1, "startDate": "2025-01-01T00:00:00Z", "endDate": "2030-12-31T00:00:00Z"}))
        .await
        .unwrap();
    at.create_child("Contracts", contract, "Services", "ContractServices", &json!({"serviceID": SERVER_LICENCE, "unitPrice": 45.0})).await.unwrap();
    let customer: i64 =
        sqlx::query_scalar("select customer_id from customer where external_ref = 'c1'").fetch_one(&w.app.state.db.pool).await.unwrap();
    w.admin.ok_json("save_customer_map", &json!({"changes": [{"op": "link", "customer_id": customer, "company_id": company}, {"op": "set_contract", "customer_id": customer, "contract_id": contract, "confirm_flags": true}]})).await;
    let mut mappings = w.admin.ok("get_billing_settings", &[]).await["mappings"].as_array().unwrap().clone();
    mappings[0]["service_id"] = json!(SERVER_LICENCE);
    w.admin.ok_json("save_billing_settings", &json!({ "mappings": mappings })).await;
    let period = &app::format::iso_utc(server::db::now_ms())[..7];
    w.usage(json!({"customer_ref": "c1", "product": "server_backup", "period": period, "quantity": 4})).await;

    let db = &w.app.state.db;
    let connections = &w.app.state.connections;
    let now = server::db::now_ms();
    assert_eq!(
        server::workers::billing_schedule::try_run_once(db, connections, now).await.unwrap(),
        0,
        "no Synchronize with Autotask notification, no push"
    );
    assert_eq!(w.admin.ok("get_billing_schedule", &[]).await["enabled"], false);
    w.admin.ok_json("save_rule", &json!({"rule_id": null, "rule": {"action": "sync", "subscribe_ok": false, "all_types": true, "event_types": [], "customer_ids": [], "complete_on_recovery": true}})).await;
    assert_eq!(server::workers::billing_schedule::try_run_once(db, connections, now).await.unwrap(), 1, "the first push runs right away");
    let history = w.admin.ok("push_history", &[]).await;
    assert_eq!((history[0]["started_by"].as_str(), history[0]["applied"].as_i64()), (Some("schedule"), Some(1)));
    assert_eq!(server::workers::billing_schedule::try_run_once(db, connections, now + 60_000).await.unwrap(), 0, "not again within the interval");
    assert_eq!(server::workers::billing_schedule::try_run_once(db, connections, now + 25 * 3_600_000).await.unwrap(), 1, "daily by default");
    assert_eq!(w.admin.ok("push_history", &[]).await[0]["applied"], 0, "nothing changed, nothing written");
    // A scheduled push that fails (Autotask down) is tried again in 15 minutes, not a day later.
    w.usage(json!({"customer_ref": "c1", "product": "server_backup", "period": period, "quantity": 6})).await;
    w.faults(json!({"rate_5xx": 1.0})).await;
    let down = now + 50 * 3_600_000;
    assert_eq!(server::workers::billing_schedule::try_run_once(db, connections, down).await.unwrap(), 1);
    w.faults(json!({})).await;
    let failed = w.admin.ok("push_history", &[]).await;
    assert_eq!(failed[0]["state"], "failed", "{failed}");
    assert_eq!(server::workers::billing_schedule::try_run_once(db, connections, down + 60_000).await.unwrap(), 0, "not at once");
    assert_eq!(
        server::workers::billing_schedule::try_run_once(db, connections, down + server::workers::billing_schedule::RETRY_FAILED_AFTER_MS)
            .await
            .unwrap(),
        1,
        "retried soon"
    );
    assert_eq!(w.admin.ok("push_history", &[]).await[0]["applied"], 1, "the retry wrote the change");
    assert_eq!(
        server::workers::billing_schedule::try_run_once(db, connections, down + server::workers::billing_schedule::RETRY_FAILED_AFTER_MS + 3_600_000)
            .await
            .unwrap(),
        0,
        "then back to the interval"
    );
    let schedule = w.admin.ok("get_billing_schedule", &[]).await;
    assert_eq!((schedule["enabled"].as_bool(), schedule["every_hours"].as_i64()), (Some(true), Some(24)));
    let e = w
        .admin
        .err_json(
            "save_billing_schedule",
            &json!({"schedule": {"every_hours": 0, "hold_above": null, "enabled": true, "next_run_at": null, "allow_add_service": false}}),
        )
        .await;
    assert!(matches!(e, AppError::Invalid { ref field, .. } if field == "every_hours"), "{e:?}");
    let saved = w
        .admin
        .ok_json("save_billing_schedule", &json!({"schedule": {"every_hours": 6, "hold_above": 50, "enabled": true, "next_run_at": null}}))
        .await;
    assert_eq!((saved["every_hours"].as_i64(), saved["hold_above"].as_i64()), (Some(6), Some(50)));
}

async fn throttling_and_outages_mid_push_never_apply_twice_and_missing_services_are_added_when_allowed(backend: Backend) {
    let w = world(backend).await;
    let at = w.autotask();
    // The last contract lacks the service.
    let contracts = w.contracted(at, "Fault", 7, |i| i < 6, |i| 3 + i).await;
    w.map_server_licence().await;
    let billed = |contract: i64| w.billed(at, contract);

    // Throttling, outages and lost answers mid-push: pushes are repeated until every line
    // went through; no quantity ever goes past its target (nothing applied twice).
    w.faults(json!({"rate_429": 0.15, "rate_5xx": 0.15, "rate_lost_write": 0.2})).await;
    let mut settled = false;
    for _ in 0..15 {
        let r = w.admin.call_json("apply_push", &json!({"selection": {"lines": null, "hold_above": null}})).await;
        let ok = r.status().is_success();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        for (contract, target) in &contracts[..6] {
            assert!(billed(*contract).await <= *target, "contract {contract} went past its target: applied twice");
        }
        if ok && body["failed"] == 0 && body["applied"] == 0 {
            settled = true;
            break;
        }
    }
    w.faults(json!({})).await;
    assert!(settled, "pushes kept failing under the injected faults");
    for (contract, target) in &contracts[..6] {
        assert_eq!(billed(*contract).await, *target);
    }
    let failed: i64 = sqlx::query_scalar("select count(*) from push_line where outcome = 'failed'").fetch_one(&w.app.state.db.pool).await.unwrap();
    eprintln!("{failed} line failures were recorded on the way");

    // The contract without the service: skipped with the reason until adding is allowed.
    let preview = w.admin.ok_json("preview_push", &json!({"query": {}})).await;
    let missing = preview["lines"].as_array().unwrap().iter().find(|l| l["customer_name"] == "Fault Customer 6").unwrap().clone();
    assert!(missing["reason"].as_str().unwrap().contains("not on the billing contract"), "{missing}");
    w.admin
        .ok_json(
            "save_billing_schedule",
            &json!({"schedule": {"every_hours": 24, "hold_above": null, "enabled": false, "next_run_at": null, "allow_add_service": true}}),
        )
        .await;
    let preview = w.admin.ok_json("preview_push", &json!({"query": {}})).await;
    let adding = preview["lines"].as_array().unwrap().iter().find(|l| l["customer_name"] == "Fault Customer 6").unwrap().clone();
    assert_eq!((adding["status"].as_str(), adding["change"].as_i64()), (Some("change"), Some(9)), "{adding}");
    let r = w.admin.ok_json("apply_push", &json!({"selection": {"lines": null, "hold_above": null}})).await;
    assert_eq!(r["applied"], 1, "{r}");
    assert_eq!(billed(contracts[6].0).await, 9);
}

async fn writes_run_side_by_side_within_the_thread_limit_and_a_failed_undo_can_be_repeated(backend: Backend) {
    let w = world(backend).await;
    let at = w.autotask();
    let contracts = w.contracted(at, "Undo", 8, |_| true, |i| 2 + i).await;
    w.map_server_licence().await;
    let billed = |contract: i64| w.billed(at, contract);

    // With latency on every call the writes overlap, but never past Autotask's 3 threads.
    w.faults(json!({"latency_ms": 80})).await;
    reqwest::Client::new().post(format!("{}/_sandbox/stats/reset", w.sandbox_running().base_url())).send().await.unwrap().error_for_status().unwrap();
    let pushed = w.admin.ok_json("apply_push", &json!({"selection": {"lines": null, "hold_above": null}})).await;
    assert_eq!(pushed["applied"], 8, "{pushed}");
    let stats: Value =
        reqwest::Client::new().get(format!("{}/_sandbox/stats", w.sandbox_running().base_url())).send().await.unwrap().json().await.unwrap();
    let peak = stats["peak_concurrency"]["ContractServiceAdjustments"].as_u64().unwrap_or_else(|| panic!("{stats}"));
    assert!((2..=3).contains(&peak), "adjustments written {peak} at a time: {stats}");
    assert_eq!(stats["thread_limit_rejections"], 0, "{stats}");
    for (contract, target) in &contracts {
        assert_eq!(billed(*contract).await, *target);
    }
    let lines = w.admin.ok("push_lines", &[("push_id", &pushed["push_id"].to_string())]).await;
    let names: Vec<&str> = lines.as_array().unwrap().iter().map(|l| l["customer_name"].as_str().unwrap()).collect();
    assert_eq!(names, (0..8).map(|i| format!("Undo Customer {i}")).collect::<Vec<_>>(), "recorded in preview order");

    // An undo while Autotask is down fails line by line and leaves the push undoable.
    w.faults(json!({"rate_5xx": 1.0})).await;
    let failed = w.admin.ok("undo_push", &[("push_id", &pushed["push_id"].to_string())]).await;
    w.faults(json!({})).await;
    assert_eq!((failed["applied"].as_i64(), failed["failed"].as_i64()), (Some(0), Some(8)), "{failed}");
    assert!(failed["lines"][0]["reason"].as_str().unwrap().contains("undo again"), "{failed}");
    let history = w.admin.ok("push_history", &[]).await;
    assert_eq!(history[1]["undone_by"], Value::Null, "a failed undo does not count: {history}");
    for (contract, target) in &contracts {
        assert_eq!(billed(*contract).await, *target, "nothing was changed");
    }
    let again = w.admin.ok("undo_push", &[("push_id", &pushed["push_id"].to_string())]).await;
    assert_eq!((again["applied"].as_i64(), again["failed"].as_i64()), (Some(8), Some(0)), "{again}");
    for (contract, _) in &contracts {
        assert_eq!(billed(*contract).await, 0, "back where it started");
    }
    let (_, refused) = w.admin.err("undo_push", &[("push_id", &pushed["push_id"].to_string())]).await;
    assert!(matches!(&refused, AppError::Conflict(m) if m.contains("already undone")), "{refused:?}");
}

async fn the_preview_is_paged_filtered_and_reused_until_refreshed_and_applies_what_matches(backend: Backend) {
    let w = world(backend).await;
    let at = w.autotask();
    // 30 customers: "Page 0..29", all changing; customers 0, 10 and 20 have no service.
    let contracts = w.contracted(at, "Page", 30, |i| i % 10 != 0, |i| 1 + i).await;
    w.map_server_licence().await;
    let preview = |query: Value| {
        let admin = &w.admin;
        async move { admin.ok_json("preview_push", &json!({ "query": query })).await }
    };

    let first = preview(json!({"per_page": 25})).await;
    assert_eq!((first["total"].as_i64(), first["changes"].as_i64(), first["skipped"].as_i64()), (Some(30), Some(27), Some(3)), "{first}");
    assert_eq!((first["lines"].as_array().unwrap().len(), first["page"].as_i64()), (25, Some(1)));
    let second = preview(json!({"per_page": 25, "page": 2})).await;
    assert_eq!(second["lines"].as_array().unwrap().len(), 5);
    assert_eq!(second["computed_at"], first["computed_at"], "paging reuses the reading");
    let skipped = preview(json!({"show": "skipped"})).await;
    assert_eq!(skipped["matching"], 3);
    let one = preview(json!({"search": "page customer 1", "show": "changes"})).await;
    let names: Vec<&str> = one["lines"].as_array().unwrap().iter().map(|l| l["customer_name"].as_str().unwrap()).collect();
    let expected: Vec<String> = std::iter::once(1).chain(11..20).map(|i| format!("Page Customer {i}")).collect();
    assert_eq!(names, expected, "by name, the skipped Page Customer 10 left out");
    assert_eq!(one["matching"], 10, "{one}");

    // A change in Autotask shows after Refresh (or once the reading is old), not while paging.
    at.create("ContractServiceAdjustments", &json!({"contractID": contracts[1].0, "serviceID": SERVER_LICENCE, "effectiveDate": format!("{}-01T00:00:00Z", &app::format::iso_utc(server::db::now_ms())[..7]), "unitChange": contracts[1].1})).await.unwrap();
    assert_eq!(preview(json!({})).await["changes"], 27, "still the earlier reading");
    let fresh = preview(json!({"refresh": true})).await;
    assert_eq!(fresh["changes"], 26, "{fresh}");
    assert!(fresh["computed_at"].as_i64() >= first["computed_at"].as_i64());

    // Apply only what matches a search.
    let applied = w.admin.ok_json("apply_push", &json!({"selection": {"lines": null, "hold_above": null, "search": "Page Customer 2"}})).await;
    assert_eq!(applied["applied"], 10, "2 and 21-29 (20 has no service): {applied}");
    for (i, (contract, target)) in contracts.iter().enumerate() {
        let expected = if i == 1 || (i == 2 || i >= 21) { *target } else { 0 };
        assert_eq!(w.billed(at, *contract).await, expected, "Page Customer {i}");
    }
    assert_eq!(preview(json!({})).await["changes"], 16, "the push dropped the old reading: 26 - 10");
}
