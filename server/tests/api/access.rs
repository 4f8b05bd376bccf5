//! Every server function and machine API route checks who is calling, and nothing
//! crosses partners. The lists are enumerated from the running code, so a new route
//! or server function without a check fails here.

use crate::helpers::{both_databases, spawn, spawn_with, Backend, Options};
use app::error::AppError;
use reqwest::StatusCode;
use server::machine_api::{routes, Access};

both_databases!(
    every_server_function_refuses_anonymous_callers,
    every_token_route_refuses_missing_and_unknown_tokens,
    no_server_function_or_route_returns_another_partners_data,
    technicians_are_refused_every_admin_function,
    cross_site_server_function_calls_are_refused,
    pages_send_anonymous_visitors_to_sign_in,
    metrics_can_require_a_token,
);

/// Server functions registered in this binary, minus the public ones.
fn protected_server_functions() -> Vec<String> {
    let all: Vec<String> = server_fn::axum::server_fn_paths().map(|(path, _)| path.to_string()).collect();
    for known in ["/rpc/list_users", "/rpc/create_user", "/rpc/list_api_tokens", "/rpc/get_current_user", "/rpc/sign_in"] {
        assert!(all.iter().any(|p| p == known), "{known} is not registered; enumeration is broken");
    }
    all.into_iter().filter(|p| !app::api::PUBLIC_ENDPOINTS.contains(&p.as_str())).collect()
}

async fn every_server_function_refuses_anonymous_callers(backend: Backend) {
    let app = spawn(backend).await;
    let anonymous = app.browser();
    let paths = protected_server_functions();
    assert!(paths.len() >= 8, "expected the protected server functions, found {paths:?}");
    for path in paths {
        let endpoint = path.trim_start_matches("/rpc/");
        let (status, error) = anonymous.err(endpoint, &[]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(error, AppError::Unauthorized, "{path}");
    }
}

async fn every_token_route_refuses_missing_and_unknown_tokens(backend: Backend) {
    let app = spawn(backend).await;
    let client = reqwest::Client::new();
    let token_routes: Vec<_> = routes().into_iter().filter(|r| r.access == Access::Token).collect();
    assert!(!token_routes.is_empty());
    for route in token_routes {
        for auth in [None, Some("Bearer tbk_not-a-real-token"), Some("Bearer "), Some("Basic dXNlcjpwYXNz")] {
            let mut request = client.request(route.method.clone(), app.url(route.path));
            if let Some(value) = auth {
                request = request.header("authorization", value);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{} {} with {auth:?}", route.method, route.path);
            assert_eq!(response.headers()["www-authenticate"], "Bearer");
            let body: serde_json::Value = response.json().await.unwrap();
            assert_eq!(body["error"]["code"], "unauthorized");
        }
    }
    // The public ones answer without a token.
    assert_eq!(client.get(app.url("/api/v1/health")).send().await.unwrap().status(), StatusCode::OK);
    let doc: serde_json::Value = client.get(app.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    for route in routes() {
        assert!(doc["paths"][route.path][route.method.as_str().to_lowercase()].is_object(), "{} is missing from the OpenAPI document", route.path);
    }
}

async fn no_server_function_or_route_returns_another_partners_data(backend: Backend) {
    let app = spawn(backend).await;
    let a = app.partner("Alpha").await;
    let b = app.partner("Bravo").await;
    let a_browser = app.signed_in(&a.email, &a.password).await;
    let b_browser = app.signed_in(&b.email, &b.password).await;
    // Give B data of every kind.
    b_browser
        .ok(
            "create_user",
            &[("email", "bravo-tech@bravo.example"), ("name", "Bravo Tech"), ("role", "technician"), ("password", "bravo-tech-password")],
        )
        .await;
    let b_token = b_browser.ok("create_api_token", &[("name", "Bravo platform")]).await;
    let b_token_id = b_token["summary"]["token_id"].as_i64().unwrap().to_string();
    let b_users = b_browser.ok("list_users", &[]).await;
    let b_user_id = b_users[0]["user_id"].as_i64().unwrap().to_string();
    let a_token = a_browser.ok("create_api_token", &[("name", "Alpha platform")]).await;
    b_browser
        .ok(
            "save_autotask_connection",
            &[
                ("username", "bravo-api@bravo.example"),
                ("secret", "bravo-secret-value"),
                ("integration_code", "BRAVOCODE"),
                ("zone_override", "https://webservices9.autotask.net/ATServicesRest/"),
            ],
        )
        .await;

    // B's storage and a backup user (made directly: the import path is covered in contacts.rs).
    let b_destination = b_browser
        .ok_json(
            "save_destination",
            &serde_json::json!({"destination_id": null, "input": {"name": "Bravo bucket", "provider": "wasabi", "location": "bravo-backups", "region": "us-east-1"}}),
        )
        .await["destination_id"]
        .as_i64()
        .unwrap();
    let b_package = b_browser
        .ok_json("save_package", &serde_json::json!({"package_id": null, "input": {"name": "Bravo plan", "limit_gb": "50"}}))
        .await["package_id"]
        .as_i64()
        .unwrap();
    let b_customer: i64 = sqlx::query_scalar(
        "insert into customer (partner_id, name, name_key, country_code, region, source, created_at, updated_at) \
         values ($1, 'Bravo customer', 'bravo customer', 'US', 'us', 'api', 0, 0) returning customer_id",
    )
    .bind(partner_id_of(&app, &b.email).await)
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap();
    let b_user: i64 = sqlx::query_scalar(
        "insert into backup_user (partner_id, customer_id, first_name, last_name, email, email_key, destination_id, package_id, created_at, created_by, updated_at) \
         values ($1, $2, 'Bravo', 'User', 'bravo-user@bravo.example', 'bravo-user@bravo.example', $3, $4, 0, 'test', 0) returning backup_user_id",
    )
    .bind(partner_id_of(&app, &b.email).await)
    .bind(b_customer)
    .bind(b_destination)
    .bind(b_package)
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap();
    let b_markers = [
        "Bravo bucket",
        "Bravo plan",
        "bravo-user@bravo.example",
        b.name.as_str(),
        b.email.as_str(),
        "bravo-tech@bravo.example",
        "Bravo platform",
        "bravo-api@bravo.example",
        "bravo-secret-value",
        "BRAVOCODE",
    ];
    // Every argument-free server function, called by A, shows nothing of B.
    for path in protected_server_functions() {
        let endpoint = path.trim_start_matches("/rpc/");
        let response = a_browser.call(endpoint, &[]).await;
        let body = response.text().await.unwrap();
        for marker in b_markers {
            assert!(!body.contains(marker), "{path} leaked {marker:?} to another partner: {body}");
        }
    }
    // Functions that take an id refuse B's ids as if they did not exist.
    for (endpoint, args) in [
        ("set_user_role", vec![("user_id", b_user_id.as_str()), ("role", "technician")]),
        ("set_user_disabled", vec![("user_id", b_user_id.as_str()), ("disabled", "true")]),
        ("revoke_api_token", vec![("token_id", b_token_id.as_str())]),
    ] {
        let (_, error) = a_browser.err(endpoint, &args).await;
        assert_eq!(error, AppError::NotFound, "{endpoint} with another partner's id");
    }
    // The same for JSON-bodied functions.
    for (endpoint, body) in [
        (
            "save_destination",
            serde_json::json!({"destination_id": b_destination, "input": {"name": "Stolen", "provider": "wasabi", "location": "stolen-bucket", "region": "us-east-1"}}),
        ),
        ("save_package", serde_json::json!({"package_id": b_package, "input": {"name": "Stolen", "limit_gb": "1"}})),
        ("set_storage_retired", serde_json::json!({"item": "destination", "id": b_destination, "retired": true})),
        ("delete_storage_item", serde_json::json!({"item": "package", "id": b_package})),
        (
            "save_backup_user",
            serde_json::json!({"backup_user_id": b_user, "input": {"first_name": "X", "last_name": "Y", "email": "x@alpha.example", "customer_id": b_customer, "destination_id": b_destination, "package_id": b_package}}),
        ),
        ("resolve_backup_user", serde_json::json!({"backup_user_id": b_user, "resolution": "keep_taskbridge"})),
    ] {
        let error = a_browser.err_json(endpoint, &body).await;
        assert!(matches!(error, AppError::NotFound | AppError::Invalid { .. }), "{endpoint} with another partner's ids: {error:?}");
    }
    let (_, error) = a_browser.err("delete_backup_user", &[("backup_user_id", &b_user.to_string())]).await;
    assert_eq!(error, AppError::NotFound, "delete_backup_user with another partner's id");
    for endpoint in ["list_contacts", "list_backup_users"] {
        let body =
            a_browser.call_json(endpoint, &serde_json::json!({"query": {"filter": {}, "page": 1, "per_page": 50}})).await.text().await.unwrap();
        for marker in ["Bravo customer", "bravo-user@bravo.example", "Bravo bucket"] {
            assert!(!body.contains(marker), "{endpoint} leaked {marker:?}: {body}");
        }
    }
    // B's storage and user are untouched.
    let lists = b_browser.ok("list_storage", &[]).await;
    assert_eq!((lists["destinations"][0]["name"].as_str(), lists["destinations"][0]["retired"].as_bool()), (Some("Bravo bucket"), Some(false)));
    assert_eq!(lists["packages"][0]["users"], 1);
    // B's token still works: nothing above touched it.
    let client = reqwest::Client::new();
    let me = |token: String| {
        let client = client.clone();
        let url = app.url("/api/v1/partner");
        async move { client.get(url).bearer_auth(token).send().await.unwrap() }
    };
    let b_view: serde_json::Value = me(b_token["token"].as_str().unwrap().to_string()).await.json().await.unwrap();
    assert_eq!(b_view["name"], b.name.as_str());
    // Every token route, called with A's token, shows nothing of B.
    for route in routes().into_iter().filter(|r| r.access == Access::Token) {
        let body = client
            .request(route.method.clone(), app.url(route.path))
            .bearer_auth(a_token["token"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        for marker in b_markers {
            assert!(!body.contains(marker), "{} leaked {marker:?}: {body}", route.path);
        }
        assert!(body.contains(&a.name) || route.path != "/api/v1/partner");
    }
}

/// The partner id of a user, by email.
async fn partner_id_of(app: &crate::helpers::TestApp, email: &str) -> i64 {
    sqlx::query_scalar("select partner_id from app_user where email = $1").bind(email).fetch_one(&app.state.db.pool).await.unwrap()
}

async fn technicians_are_refused_every_admin_function(backend: Backend) {
    let app = spawn(backend).await;
    let a = app.partner("Techs").await;
    let admin = app.signed_in(&a.email, &a.password).await;
    admin.ok("create_user", &[("email", "tech@techs.example"), ("name", "Tech"), ("role", "technician"), ("password", "tech-password-long")]).await;
    let users = admin.ok("list_users", &[]).await;
    let admin_id = users.as_array().unwrap().iter().find(|u| u["email"] == a.email.as_str()).unwrap()["user_id"].to_string();
    let tech = app.signed_in("tech@techs.example", "tech-password-long").await;
    for (endpoint, args) in [
        ("list_users", vec![]),
        ("create_user", vec![("email", "x@techs.example"), ("name", "X"), ("role", "admin"), ("password", "long-enough-password")]),
        ("set_user_role", vec![("user_id", admin_id.as_str()), ("role", "technician")]),
        ("set_user_disabled", vec![("user_id", admin_id.as_str()), ("disabled", "true")]),
        ("list_api_tokens", vec![]),
        ("create_api_token", vec![("name", "sneaky")]),
        ("revoke_api_token", vec![("token_id", "1")]),
        ("start_contact_fetch", vec![]),
        ("delete_backup_user", vec![("backup_user_id", "1")]),
        ("enable_instant_updates", vec![("callout_base", "http://127.0.0.1/hooks/autotask/")]),
        ("disable_instant_updates", vec![]),
        ("retry_run", vec![("run_id", "1")]),
        ("save_history_retention", vec![("days", "90")]),
    ] {
        let (_, error) = tech.err(endpoint, &args).await;
        assert_eq!(error, AppError::Forbidden, "{endpoint}");
    }
    for (endpoint, body) in [
        (
            "save_destination",
            serde_json::json!({"destination_id": null, "input": {"name": "T", "provider": "wasabi", "location": "tech-bucket", "region": "us-east-1"}}),
        ),
        ("save_package", serde_json::json!({"package_id": null, "input": {"name": "T", "limit_gb": "1"}})),
        ("set_storage_retired", serde_json::json!({"item": "package", "id": 1, "retired": true})),
        ("delete_storage_item", serde_json::json!({"item": "package", "id": 1})),
        ("set_contact_choices", serde_json::json!({"selection": {"ids": [1]}, "destination_id": 1, "package_id": null})),
        ("import_contacts", serde_json::json!({"selection": {"ids": [1]}})),
        ("plan_import", serde_json::json!({"selection": {"ids": [1]}})),
        ("exact_matches", serde_json::json!({"query": {"page": 1, "per_page": 50}})),
        (
            "save_backup_user",
            serde_json::json!({"backup_user_id": 1, "input": {"first_name": "X", "last_name": "Y", "email": "x@techs.example", "customer_id": 1, "destination_id": 1, "package_id": 1}}),
        ),
        ("resolve_backup_user", serde_json::json!({"backup_user_id": 1, "resolution": "take_autotask"})),
    ] {
        assert_eq!(tech.err_json(endpoint, &body).await, AppError::Forbidden, "{endpoint}");
    }
    // Technicians read storage, contacts, backup users and the sync's instant updates.
    tech.ok("list_storage", &[]).await;
    tech.ok("get_instant_updates", &[]).await;
    tech.ok_json("list_backup_users", &serde_json::json!({"query": {"filter": {}, "page": 1, "per_page": 50}})).await;
    // What a technician may do still works.
    let me = tech.ok("get_current_user", &[]).await;
    assert_eq!(me["role"], "technician");
    tech.ok("get_overview", &[]).await;
}

async fn cross_site_server_function_calls_are_refused(backend: Backend) {
    let app = spawn(backend).await;
    let a = app.partner("Xsite").await;
    let browser = app.signed_in(&a.email, &a.password).await;
    let response = browser
        .client
        .post(app.url("/rpc/create_api_token"))
        .header("origin", "http://evil.example")
        .form(&[("name", "stolen")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(response.json::<AppError>().await.unwrap(), AppError::CrossSite);
    let listed = browser.ok("list_api_tokens", &[]).await;
    assert_eq!(listed.as_array().unwrap().len(), 0, "the cross-site call must not have created a token");
}

async fn pages_send_anonymous_visitors_to_sign_in(backend: Backend) {
    let app = spawn(backend).await;
    let anonymous = app.browser();
    for path in ["/", "/users", "/tokens?x=1", "/account", "/no-such-page"] {
        let response = anonymous.get(path).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        let location = response.headers()["location"].to_str().unwrap().to_string();
        assert_eq!(location, format!("/signin?next={}", app::format::encode_query_value(path)));
    }
    let sign_in_page = anonymous.get("/signin").await;
    assert_eq!(sign_in_page.status(), StatusCode::OK);
    assert!(sign_in_page.headers().contains_key("x-request-id"));
    let a = app.partner("Pages").await;
    let browser = app.signed_in(&a.email, &a.password).await;
    let home = browser.get("/").await;
    assert_eq!(home.status(), StatusCode::OK);
    assert_eq!(browser.get("/no-such-page").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(browser.get("/metrics").await.status(), StatusCode::FORBIDDEN, "metrics are off without a token");
    let public = spawn_with(backend, Options { metrics_public: true, ..Options::default() }).await;
    public.browser().get("/signin").await;
    let metrics = public.browser().get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("taskbridge_http_requests_total"), "{metrics}");
}

async fn metrics_can_require_a_token(backend: Backend) {
    let app = spawn_with(backend, Options { metrics_token: Some("scrape-secret".into()), ..Options::default() }).await;
    let client = reqwest::Client::new();
    assert_eq!(client.get(app.url("/metrics")).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let wrong = client.get(app.url("/metrics")).bearer_auth("guess").send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let right = client.get(app.url("/metrics")).bearer_auth("scrape-secret").send().await.unwrap();
    assert_eq!(right.status(), StatusCode::OK);
    assert!(right.text().await.unwrap().contains("taskbridge_http_requests_total"));
}
