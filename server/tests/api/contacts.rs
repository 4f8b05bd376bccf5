//! Contacts → backup users against the sandbox, on both databases: storage destinations
//! and packages, "Get Autotask contacts", the integration status through every seed
//! transition (blank → Equal → Modified → Equal, email change → blank, delete → blank),
//! the import's per-row failures, and the machine API's feeds.

use crate::helpers::{both_databases, Backend, Browser};
use crate::world::World;
use app::error::AppError;
use serde_json::{json, Value};
use std::time::Duration;

both_databases!(
    destinations_and_packages_are_checked_renamed_retired_and_deleted_only_when_unused,
    imported_contacts_go_through_every_integration_status,
    an_import_fails_only_the_rows_that_break_a_rule_and_never_duplicates,
    the_machine_api_feeds_backup_users_destinations_and_packages,
    many_contacts_are_fetched_in_parallel_listed_by_search_filter_sort_and_page_and_marked_gone,
);

/// The Autotask side of a test: one mapped company, one unmapped, their contacts.
struct Tenant {
    w: World,
    mapped: i64,
    unmapped: i64,
    /// Contact ids by first name.
    contacts: std::collections::HashMap<&'static str, i64>,
    destination: i64,
    package: i64,
}

async fn destination(admin: &Browser, name: &str) -> Value {
    admin
        .ok_json(
            "save_destination",
            &json!({"destination_id": null, "input": {"name": name, "provider": "amazon_s3", "location": "msp-backups-us", "region": "us-east-1"}}),
        )
        .await
}

async fn package(admin: &Browser, name: &str, limit: &str) -> Value {
    admin.ok_json("save_package", &json!({"package_id": null, "input": {"name": name, "limit_gb": limit, "unlimited": limit.is_empty()}})).await
}

async fn list(admin: &Browser, filter: Value) -> Value {
    admin.ok_json("list_contacts", &json!({"query": {"filter": filter, "sort": "name", "page": 1, "per_page": 200}})).await
}

fn row(page: &Value, id: i64) -> Value {
    page["rows"].as_array().unwrap().iter().find(|r| r["contact_id"] == id).cloned().unwrap_or_else(|| panic!("contact {id} not listed: {page}"))
}

async fn fetch(admin: &Browser) -> Value {
    let job = admin.ok("start_contact_fetch", &[]).await;
    assert_eq!(job["kind"], "contact_fetch");
    let done = admin.finished_job(&job).await;
    assert_eq!(done["state"], "done", "{done}");
    recorded(admin, "contact_fetch", &done).await;
    done
}

async fn import(admin: &Browser, ids: &[i64]) -> Value {
    let job = admin.ok_json("import_contacts", &json!({"selection": {"ids": ids}})).await;
    assert_eq!(job["kind"], "contact_import");
    let done = admin.finished_job(&job).await;
    assert_eq!(done["state"], "done", "{done}");
    recorded(admin, "contact_import", &done).await;
    done
}

/// The job's run in the History: its summary, counts and server log key.
async fn recorded(admin: &Browser, kind: &str, job: &Value) {
    let run = admin.ok_json("list_runs", &json!({"query": {"kind": kind}})).await["rows"][0].clone();
    assert_eq!(run["summary"], job["message"], "{run} {job}");
    assert_eq!(run["log_key"], format!("job_id={}", job["job_id"]), "{run}");
    assert_eq!((&run["done"], &run["failed"]), (&job["succeeded"], &job["failed"]), "{run} {job}");
}

async fn choose(admin: &Browser, ids: &[i64], destination: Option<i64>, package: Option<i64>) -> Value {
    admin.ok_json("set_contact_choices", &json!({"selection": {"ids": ids}, "destination_id": destination, "package_id": package})).await
}

async fn users(admin: &Browser, filter: Value) -> Value {
    admin.ok_json("list_backup_users", &json!({"query": {"filter": filter, "page": 1, "per_page": 200}})).await
}

impl Tenant {
    async fn new(backend: Backend) -> Tenant {
        let w = World::new(backend, "Contacts", World::sandbox(41, 12)).await;
        let at = w.autotask();
        let company = |name: &str| json!({"companyName": name, "companyType": 1, "ownerResourceID": 29_682_885, "isActive": true, "address1": "1 Main St", "city": "Austin", "state": "TX", "postalCode": "78701", "countryID": 237});
        let mapped = at.create("Companies", &company("Contact Test Dental Inc")).await.unwrap();
        let unmapped = at.create("Companies", &company("Contact Test Unmapped LLC")).await.unwrap();
        let mut contacts = std::collections::HashMap::new();
        for (company, first, last, email, primary) in [
            (mapped, "Ann", "Lee", "Ann.Lee@dental.example", true),
            (mapped, "Bob", "Ray", "bob@dental.example", false),
            (mapped, "Cy", "Dupe", "shared@dental.example", false),
            (mapped, "Dot", "Dupe", "shared@dental.example", false),
            (mapped, "Ed", "Nomail", "", false),
            (unmapped, "Fay", "Far", "fay@unmapped.example", true),
        ] {
            let mut body = json!({"firstName": first, "lastName": last, "isActive": 1, "primaryContact": primary});
            if !email.is_empty() {
                body["emailAddress"] = json!(email);
            }
            contacts.insert(first, at.create_child("Companies", company, "Contacts", "Contacts", &body).await.unwrap());
        }
        // Map the first company: discover and import it.
        let admin = &w.admin;
        let job = admin.ok("start_discovery", &[]).await;
        assert_eq!(admin.finished_job(&job).await["state"], "done");
        let job = admin.ok_json("import_companies", &json!({"selection": {"ids": [mapped]}})).await;
        let done = admin.finished_job(&job).await;
        assert_eq!(done["succeeded"], 1, "{done}");
        let destination = destination(admin, "US backups").await["destination_id"].as_i64().unwrap();
        let package = package(admin, "Standard", "500").await["package_id"].as_i64().unwrap();
        Tenant { w, mapped, unmapped, contacts, destination, package }
    }

    fn id(&self, first: &str) -> i64 {
        self.contacts[first]
    }
}

async fn destinations_and_packages_are_checked_renamed_retired_and_deleted_only_when_unused(backend: Backend) {
    let w = World::new(backend, "Storage", None).await;
    let admin = &w.admin;
    let empty = admin.ok("list_storage", &[]).await;
    assert_eq!(empty, json!({"destinations": [], "packages": []}));

    // Every field is checked, with the field named.
    for (input, field) in [
        (json!({"name": "", "provider": "amazon_s3", "location": "msp-backups", "region": "us-east-1"}), "name"),
        (json!({"name": "X", "provider": "dropbox", "location": "msp-backups", "region": ""}), "provider"),
        (json!({"name": "X", "provider": "amazon_s3", "location": "MSP_Backups", "region": "us-east-1"}), "location"),
        (json!({"name": "X", "provider": "wasabi", "location": "msp-backups", "region": ""}), "region"),
        (json!({"name": "X", "provider": "local_nas", "location": "relative/path", "region": ""}), "location"),
    ] {
        let error = admin.err_json("save_destination", &json!({"destination_id": null, "input": input})).await;
        assert!(error.field_message(field).is_some(), "{input} should be refused on {field}: {error:?}");
    }
    let us = destination(admin, "US backups").await;
    assert_eq!((us["provider"].as_str(), us["kind"].as_str(), us["region"].as_str()), (Some("amazon_s3"), Some("bucket"), Some("us-east-1")));
    let nas = admin
        .ok_json(
            "save_destination",
            &json!({"destination_id": null, "input": {"name": "Office NAS", "provider": "local_nas", "location": "\\\\nas01\\backups", "region": "eu-west-1"}}),
        )
        .await;
    assert_eq!((nas["kind"].as_str(), &nas["region"]), (Some("root_folder"), &Value::Null), "a NAS has no region: {nas}");
    let error = admin
        .err_json(
            "save_destination",
            &json!({"destination_id": null, "input": {"name": "us BACKUPS", "provider": "azure_blob", "location": "backups", "region": "eastus"}}),
        )
        .await;
    assert!(error.field_message("name").is_some_and(|m| m.contains("already a destination named")), "{error:?}");

    // Rename.
    let id = us["destination_id"].as_i64().unwrap();
    let renamed = admin
        .ok_json(
            "save_destination",
            &json!({"destination_id": id, "input": {"name": "US East backups", "provider": "amazon_s3", "location": "msp-backups-us", "region": "us-east-1"}}),
        )
        .await;
    assert_eq!(renamed["name"], "US East backups");

    // Packages: a limit or unlimited.
    let error = admin.err_json("save_package", &json!({"package_id": null, "input": {"name": "Big", "limit_gb": "0", "unlimited": false}})).await;
    assert!(error.field_message("limit_gb").is_some(), "{error:?}");
    let standard = package(admin, "Standard", "1,000").await;
    assert_eq!(standard["limit_gb"], 1000);
    let unlimited = package(admin, "Unlimited", "").await;
    assert_eq!(unlimited["limit_gb"], Value::Null);

    // Retire hides nothing from the list (flagged), reactivate brings it back.
    let pkg = unlimited["package_id"].as_i64().unwrap();
    admin.ok_json("set_storage_retired", &json!({"item": "package", "id": pkg, "retired": true})).await;
    let lists = admin.ok("list_storage", &[]).await;
    let listed = lists["packages"].as_array().unwrap().iter().find(|p| p["package_id"] == pkg).unwrap().clone();
    assert_eq!(listed["retired"], true);
    admin.ok_json("set_storage_retired", &json!({"item": "package", "id": pkg, "retired": false})).await;
    // An unused one can be deleted.
    admin.ok_json("delete_storage_item", &json!({"item": "destination", "id": nas["destination_id"]})).await;
    let lists = admin.ok("list_storage", &[]).await;
    assert_eq!(lists["destinations"].as_array().unwrap().len(), 1);
    assert_eq!(admin.err_json("delete_storage_item", &json!({"item": "destination", "id": 999_999})).await, AppError::NotFound);
}

async fn imported_contacts_go_through_every_integration_status(backend: Backend) {
    let t = Tenant::new(backend).await;
    let (admin, at) = (&t.w.admin, t.w.autotask());
    let done = fetch(admin).await;
    assert!(done["message"].as_str().unwrap().starts_with("Got "), "{done}");
    let page = list(admin, json!({"company_id": t.mapped})).await;
    assert_eq!(page["total"], 5, "{page}");
    let ann = t.id("Ann");
    let blank = row(&page, ann);
    assert_eq!((blank["status"].as_str(), &blank["reason"]), (Some("blank"), &Value::Null), "{blank}");
    assert_eq!(blank["company_name"], "Contact Test Dental Inc");
    assert_eq!(blank["customer"][1], "Contact Test Dental Inc", "the company's mapped customer is shown: {blank}");

    // Choose destination and package, import: Equal.
    let set = choose(admin, &[ann, t.id("Bob")], Some(t.destination), Some(t.package)).await;
    assert_eq!(set["changed"], 2);
    let job = import(admin, &[ann, t.id("Bob")]).await;
    assert_eq!((job["succeeded"].as_i64(), job["failed"].as_i64()), (Some(2), Some(0)), "{job}");
    let page = list(admin, json!({"company_id": t.mapped})).await;
    let equal = row(&page, ann);
    assert_eq!(equal["status"], "equal", "{equal}");
    let user_id = equal["backup_user_id"].as_i64().unwrap();
    let listed = users(admin, json!({})).await;
    assert_eq!(listed["total"], 2);
    let user = listed["rows"].as_array().unwrap().iter().find(|u| u["backup_user_id"] == user_id).unwrap().clone();
    assert_eq!(
        (user["email"].as_str(), user["first_name"].as_str(), user["contact_status"].as_str()),
        (Some("ann.lee@dental.example"), Some("Ann"), Some("equal"))
    );

    // Renamed in Taskbridge: Modified, saying what differs; Keep Taskbridge's: Equal again.
    let edit = |first: &str, email: &str| json!({"backup_user_id": user_id, "input": {"first_name": first, "last_name": "Lee", "email": email, "customer_id": user["customer_id"], "destination_id": t.destination, "package_id": t.package}});
    let saved = admin.ok_json("save_backup_user", &edit("Annie", "ann.lee@dental.example")).await;
    assert!(saved["message"].as_str().unwrap().contains("Modified"), "{saved}");
    let modified = row(&list(admin, json!({"company_id": t.mapped})).await, ann);
    assert_eq!(modified["status"], "modified");
    assert_eq!(modified["reason"], "Name: \u{201c}Annie Lee\u{201d} in Taskbridge, \u{201c}Ann Lee\u{201d} in Autotask.", "{modified}");
    assert_eq!(list(admin, json!({"status": "modified"})).await["total"], 1, "the status filter finds it");
    admin.ok_json("resolve_backup_user", &json!({"backup_user_id": user_id, "resolution": "keep_taskbridge"})).await;
    let kept = row(&list(admin, json!({"company_id": t.mapped})).await, ann);
    assert_eq!(kept["status"], "equal", "{kept}");
    assert!(kept["reason"].as_str().unwrap().starts_with("Differences kept"), "{kept}");

    // Renamed in Autotask, then get contacts again: Modified; Update from Autotask: Equal with Autotask's name.
    at.patch_child("Companies", t.mapped, "Contacts", "Contacts", &json!({"id": ann, "firstName": "Anna"})).await.unwrap();
    fetch(admin).await;
    let modified = row(&list(admin, json!({"company_id": t.mapped})).await, ann);
    assert_eq!(modified["status"], "modified", "{modified}");
    assert!(modified["reason"].as_str().unwrap().contains("\u{201c}Anna Lee\u{201d} in Autotask"), "{modified}");
    admin.ok_json("resolve_backup_user", &json!({"backup_user_id": user_id, "resolution": "take_autotask"})).await;
    let equal = row(&list(admin, json!({"company_id": t.mapped})).await, ann);
    assert_eq!((equal["status"].as_str(), &equal["reason"]), (Some("equal"), &Value::Null), "{equal}");
    let listed = users(admin, json!({"search": "ann.lee"})).await;
    assert_eq!(listed["rows"][0]["first_name"], "Anna");

    // The company unlinked from the user's customer on the Customer Map: Modified (company),
    // linked again: Equal.
    let unlink = json!({"changes": [{"op": "unlink", "customer_id": user["customer_id"], "company_id": t.mapped}]});
    admin.ok_json("save_customer_map", &unlink).await;
    let moved = row(&list(admin, json!({"company_id": t.mapped})).await, ann);
    assert_eq!(moved["status"], "modified", "{moved}");
    assert!(moved["reason"].as_str().unwrap().starts_with("Company: customer \u{201c}Contact Test Dental Inc\u{201d} in Taskbridge"), "{moved}");
    let link = json!({"changes": [{"op": "link", "customer_id": user["customer_id"], "company_id": t.mapped}]});
    admin.ok_json("save_customer_map", &link).await;
    assert_eq!(row(&list(admin, json!({"company_id": t.mapped})).await, ann)["status"], "equal");

    // A new email is a new user (the seed): the contact goes blank, the user stays, unlinked.
    let saved = admin.ok_json("save_backup_user", &edit("Anna", "anna.new@dental.example")).await;
    assert!(saved["message"].as_str().unwrap().contains("no longer linked"), "{saved}");
    assert_eq!(saved["user"]["contact_id"], Value::Null);
    let reset = row(&list(admin, json!({"company_id": t.mapped})).await, ann);
    assert_eq!((reset["status"].as_str(), &reset["backup_user_id"]), (Some("blank"), &Value::Null), "{reset}");
    assert_eq!(users(admin, json!({"linked": false})).await["total"], 1, "the user stays, no longer linked");

    // Deleting a user: its contact shows blank again.
    let bob_user = row(&list(admin, json!({"company_id": t.mapped})).await, t.id("Bob"))["backup_user_id"].as_i64().unwrap();
    admin.ok("delete_backup_user", &[("backup_user_id", &bob_user.to_string())]).await;
    let bob = row(&list(admin, json!({"company_id": t.mapped})).await, t.id("Bob"));
    assert_eq!(bob["status"], "blank", "{bob}");
    assert_eq!(users(admin, json!({})).await["total"], 1);
    // Both contacts can be imported again (Bob's email is free again; Ann's contact is blank).
    let job = import(admin, &[ann, t.id("Bob")]).await;
    assert_eq!(job["succeeded"], 2, "{job}");
    assert_eq!(users(admin, json!({})).await["total"], 3);
}

async fn an_import_fails_only_the_rows_that_break_a_rule_and_never_duplicates(backend: Backend) {
    let t = Tenant::new(backend).await;
    let admin = &t.w.admin;
    fetch(admin).await;
    let all = [t.id("Ann"), t.id("Cy"), t.id("Dot"), t.id("Ed"), t.id("Fay")];
    // Nothing is sent while a selected row lacks its destination or package.
    choose(admin, &all, Some(t.destination), None).await;
    let error = admin.err_json("import_contacts", &json!({"selection": {"ids": all}})).await;
    assert!(error.field_message("selection").is_some_and(|m| m.contains("5 contacts have no package")), "{error:?}");
    assert_eq!(users(admin, json!({})).await["total"], 0);
    // A retired package cannot be chosen.
    let old = package(admin, "Old", "10").await["package_id"].as_i64().unwrap();
    admin.ok_json("set_storage_retired", &json!({"item": "package", "id": old, "retired": true})).await;
    let error = admin.err_json("set_contact_choices", &json!({"selection": {"ids": all}, "destination_id": null, "package_id": old})).await;
    assert!(error.field_message("package_id").is_some(), "{error:?}");
    // Set for all matching the company filter, then import: failures are per row.
    let set = admin
        .ok_json(
            "set_contact_choices",
            &json!({"selection": {"matching": {"company_id": t.unmapped}}, "destination_id": null, "package_id": t.package}),
        )
        .await;
    assert_eq!(set["changed"], 1);
    choose(admin, &all, None, Some(t.package)).await;
    let job = import(admin, &all).await;
    assert_eq!((job["succeeded"].as_i64(), job["failed"].as_i64()), (Some(2), Some(3)), "{job}");
    let page = list(admin, json!({})).await;
    let reason = |first: &str| row(&page, t.id(first))["reason"].as_str().unwrap_or_default().to_string();
    assert_eq!(row(&page, t.id("Ann"))["status"], "equal");
    assert_eq!(row(&page, t.id("Cy"))["status"], "equal", "the first of two contacts with one email is imported");
    assert_eq!(row(&page, t.id("Dot"))["status"], "failed");
    assert!(reason("Dot").contains("already has the email shared@dental.example"), "{}", reason("Dot"));
    assert!(reason("Ed").contains("no email address in Autotask"), "{}", reason("Ed"));
    assert!(
        reason("Fay").contains("\u{201c}Contact Test Unmapped LLC\u{201d}") && reason("Fay").contains("not mapped to a Taskbridge customer"),
        "{}",
        reason("Fay")
    );
    assert_eq!(list(admin, json!({"status": "failed"})).await["total"], 3);
    // Importing again never duplicates: imported rows are left alone, failed ones fail again.
    let again = import(admin, &all).await;
    assert!(again["message"].as_str().unwrap().contains("2 already imported"), "{again}");
    assert_eq!(users(admin, json!({})).await["total"], 2);
    // A destination in use cannot be deleted, and says by how many users.
    let error = admin.err_json("delete_storage_item", &json!({"item": "destination", "id": t.destination})).await;
    assert!(matches!(&error, AppError::Conflict(m) if m.contains("used by 2 backup users")), "{error:?}");
}

async fn the_machine_api_feeds_backup_users_destinations_and_packages(backend: Backend) {
    let t = Tenant::new(backend).await;
    let (w, admin) = (&t.w, &t.w.admin);
    fetch(admin).await;
    choose(admin, &[t.id("Ann"), t.id("Bob")], Some(t.destination), Some(t.package)).await;
    import(admin, &[t.id("Ann"), t.id("Bob")]).await;
    let (status, body) = w.api_get("/api/v1/destinations").await;
    assert_eq!(status, 200);
    assert_eq!(body["destinations"][0]["location"], "msp-backups-us");
    let (_, body) = w.api_get("/api/v1/packages").await;
    assert_eq!(body["packages"][0]["limit_gb"], 500);
    // The feed shows a change once it has settled, then nothing more from its cursor.
    let settle = Duration::from_millis(server::machine_api::feed::SETTLE_MS as u64 + 200);
    tokio::time::sleep(settle).await;
    let (status, first) = w.api_get("/api/v1/backup-users?limit=1").await;
    assert_eq!(status, 200, "{first}");
    assert_eq!((first["backup_users"].as_array().unwrap().len(), &first["has_more"]), (1, &json!(true)), "{first}");
    let cursor = first["next_cursor"].as_str().unwrap().to_string();
    let (_, second) = w.api_get(&format!("/api/v1/backup-users?changed_since={cursor}")).await;
    assert_eq!((second["backup_users"].as_array().unwrap().len(), &second["has_more"]), (1, &json!(false)), "{second}");
    let emails: Vec<&str> = [&first, &second].iter().map(|b| b["backup_users"][0]["email"].as_str().unwrap()).collect();
    assert!(emails.contains(&"ann.lee@dental.example") && emails.contains(&"bob@dental.example"), "{emails:?}");
    assert_eq!(second["backup_users"][0]["destination_id"], t.destination);
    let cursor = second["next_cursor"].as_str().unwrap().to_string();
    let (_, none) = w.api_get(&format!("/api/v1/backup-users?changed_since={cursor}")).await;
    assert_eq!((none["backup_users"].as_array().unwrap().len(), none["next_cursor"].as_str()), (0, Some(cursor.as_str())));
    // A deletion comes through the feed.
    let bob_user = row(&list(admin, json!({"company_id": t.mapped})).await, t.id("Bob"))["backup_user_id"].as_i64().unwrap();
    admin.ok("delete_backup_user", &[("backup_user_id", &bob_user.to_string())]).await;
    tokio::time::sleep(settle).await;
    let (_, deleted) = w.api_get(&format!("/api/v1/backup-users?changed_since={cursor}")).await;
    assert_eq!(deleted["backup_users"][0]["backup_user_id"], bob_user, "{deleted}");
    assert_eq!(deleted["backup_users"][0]["deleted"], true);
    // A bad cursor or limit names the parameter.
    let (status, body) = w.api_get("/api/v1/backup-users?changed_since=yesterday").await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("changed_since")), "{body}");
    let (status, body) = w.api_get("/api/v1/backup-users?limit=5000").await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("limit")), "{body}");
}

async fn many_contacts_are_fetched_in_parallel_listed_by_search_filter_sort_and_page_and_marked_gone(backend: Backend) {
    // Over two pages of 500, so the parallel id-range reader streams several pages.
    let w =
        World::new(backend, "Many contacts", Some(sandbox::SandboxConfig { seed: 43, companies: 300, contacts: 1_240, ..Default::default() })).await;
    let admin = &w.admin;
    let job = admin.ok("start_discovery", &[]).await;
    assert_eq!(admin.finished_job(&job).await["state"], "done");
    let done = fetch(admin).await;
    let expected = w.autotask().count("Contacts", &server::autotask::Query::new([])).await.unwrap();
    assert_eq!(done["succeeded"], expected, "{done}");
    assert!(done["message"].as_str().unwrap().contains(&format!("({} new)", app::format::thousands(expected))), "{done}");
    let page = |query: Value| async move { admin.ok_json("list_contacts", &json!({ "query": query })).await };
    let all = page(json!({"filter": {}, "sort": "name", "page": 1, "per_page": 100})).await;
    assert_eq!(all["total"], expected);
    let names: Vec<String> = all["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| format!("{} {}", r["first_name"].as_str().unwrap(), r["last_name"].as_str().unwrap()).to_lowercase())
        .collect();
    assert!(names.windows(2).all(|p| p[0] <= p[1]), "sorted by name: {names:?}");
    // Search by part of a name, an email, a company name or an id; pages past the last clamp.
    let first = all["rows"][0].clone();
    let last_name = first["last_name"].as_str().unwrap().to_string();
    let by_name = page(json!({"filter": {"search": last_name.to_uppercase()}, "sort": "name", "page": 1, "per_page": 25})).await;
    let total = by_name["total"].as_i64().unwrap();
    assert!(
        total >= 1
            && by_name["rows"].as_array().unwrap().iter().all(|r| r["last_name"].as_str().unwrap().eq_ignore_ascii_case(&last_name)
                || r["first_name"].as_str().unwrap().to_lowercase().contains(&last_name.to_lowercase())
                || r["email"].as_str().unwrap().contains(&last_name.to_lowercase())
                || r["company_name"].as_str().unwrap_or_default().to_lowercase().contains(&last_name.to_lowercase())),
        "{by_name}"
    );
    let beyond = page(json!({"filter": {"search": last_name}, "sort": "name", "page": 999, "per_page": 25})).await;
    assert_eq!((beyond["total"].as_i64(), beyond["page"].as_i64()), (Some(total), Some((total + 24) / 25)), "{beyond}");
    let company = first["company_name"].as_str().unwrap().to_string();
    let by_company = page(json!({"filter": {"search": company}, "sort": "company", "page": 1, "per_page": 200})).await;
    assert!(by_company["rows"].as_array().unwrap().iter().any(|r| r["contact_id"] == first["contact_id"]), "{by_company}");
    let by_id = page(json!({"filter": {"search": first["contact_id"].to_string()}, "sort": "name", "page": 1, "per_page": 25})).await;
    assert_eq!(by_id["rows"][0]["contact_id"], first["contact_id"]);
    let none = page(json!({"filter": {"search": "zzz-no-such-contact"}, "sort": "name", "page": 3, "per_page": 25})).await;
    assert_eq!((none["total"].as_i64(), none["rows"].as_array().unwrap().len(), none["any_fetched"].as_bool()), (Some(0), 0, Some(true)));
    // Filters: one company, inactive contacts.
    let company_id = first["company_id"].as_i64().unwrap();
    let of_company = page(json!({"filter": {"company_id": company_id}, "sort": "name", "page": 1, "per_page": 200})).await;
    assert!(of_company["rows"].as_array().unwrap().iter().all(|r| r["company_id"] == company_id));
    assert!(of_company["company_filter_name"].as_str().is_some());
    let inactive = page(json!({"filter": {"active": false}, "sort": "name", "page": 1, "per_page": 200})).await;
    assert!(inactive["total"].as_i64().unwrap() > 0 && inactive["rows"].as_array().unwrap().iter().all(|r| r["active"] == false));
    // A contact deleted in Autotask is shown as gone after the next fetch.
    let gone = first["contact_id"].as_i64().unwrap();
    let deleted = reqwest::Client::new()
        .delete(format!("{}/ATServicesRest/V1.0/Companies/{company_id}/Contacts/{gone}", w.sandbox_running().base_url()))
        .header("ApiIntegrationCode", sandbox::api::INTEGRATION_CODE)
        .header("UserName", sandbox::api::USERNAME)
        .header("Secret", sandbox::api::SECRET)
        .send()
        .await
        .unwrap();
    assert!(deleted.status().is_success(), "{}", deleted.text().await.unwrap());
    let again = fetch(admin).await;
    assert!(again["message"].as_str().unwrap().contains("1 no longer in Autotask"), "{again}");
    assert_eq!(row(&list(admin, json!({"company_id": company_id})).await, gone)["missing"], true);
}
