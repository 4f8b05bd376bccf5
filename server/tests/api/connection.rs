//! The Autotask connection settings: stored encrypted, never returned, and "Test
//! connection" naming the exact cause against the sandbox.

use crate::helpers::{both_databases, spawn_with, Backend, Options};
use app::error::AppError;
use sandbox::api::{INTEGRATION_CODE, NO_ACCESS_USERNAME, SECRET, USERNAME};
use sandbox::{start, RunningSandbox, SandboxConfig};

both_databases!(
    the_secret_is_stored_encrypted_and_never_returned,
    test_connection_names_each_cause,
    invalid_settings_name_the_field_and_keep_what_was_saved,
    one_client_per_partner_keeps_every_feature_within_the_thread_limit,
    typed_settings_are_tested_without_touching_the_saved_ones,
);

async fn sandbox() -> RunningSandbox {
    start(SandboxConfig { seed: 5, companies: 40, contacts: 80, ..SandboxConfig::default() }, "127.0.0.1:0".parse().unwrap()).await.unwrap()
}

fn discovery(sb: &RunningSandbox) -> Options {
    Options { autotask_discovery_url: Some(format!("{}/ATServicesRest/", sb.base_url())), ..Options::default() }
}

async fn the_secret_is_stored_encrypted_and_never_returned(backend: Backend) {
    let sb = sandbox().await;
    let app = spawn_with(backend, discovery(&sb)).await;
    let a = app.partner("Conn").await;
    let admin = app.signed_in(&a.email, &a.password).await;
    let saved = admin
        .ok("save_autotask_connection", &[("username", USERNAME), ("secret", SECRET), ("integration_code", INTEGRATION_CODE), ("zone_override", "")])
        .await;
    assert_eq!(saved["secret_set"], true);
    assert!(!saved.to_string().contains(SECRET));
    assert_eq!(saved["zone"]["url"], format!("{}/ATServicesRest/", sb.base_url()), "the zone is discovered on save: {saved}");
    let sealed: String = sqlx::query_scalar("select secret_sealed from autotask_connection").fetch_one(&app.state.db.pool).await.unwrap();
    assert!(!sealed.contains(SECRET) && sealed.starts_with("v1."));
    assert_eq!(app.state.master_key.decrypt(&sealed, &format!("partner:{}:autotask_secret", a.partner_id)).unwrap(), SECRET);
    // Saving again without a secret keeps it.
    admin
        .ok("save_autotask_connection", &[("username", USERNAME), ("secret", ""), ("integration_code", INTEGRATION_CODE), ("zone_override", "")])
        .await;
    let test = admin.ok("test_autotask_connection", &[]).await;
    assert_eq!(test["ok"], true, "{test}");
    assert_eq!(test["companies"], 41);
    assert!(test["message"].as_str().unwrap().contains("41 companies"));
    // Technicians read the settings but cannot change or test them.
    admin.ok("create_user", &[("email", "t@conn.example"), ("name", "T"), ("role", "technician"), ("password", "tech-password-long")]).await;
    let tech = app.signed_in("t@conn.example", "tech-password-long").await;
    let seen = tech.ok("get_autotask_connection", &[]).await;
    assert_eq!(seen["username"], USERNAME);
    assert!(!seen.to_string().contains(SECRET));
    assert_eq!(
        tech.err("save_autotask_connection", &[("username", "x@y.example"), ("secret", "s"), ("integration_code", "C"), ("zone_override", "")])
            .await
            .1,
        AppError::Forbidden
    );
    assert_eq!(tech.err("test_autotask_connection", &[]).await.1, AppError::Forbidden);
}

async fn test_connection_names_each_cause(backend: Backend) {
    let sb = sandbox().await;
    let app = spawn_with(backend, discovery(&sb)).await;
    let a = app.partner("Causes").await;
    let admin = app.signed_in(&a.email, &a.password).await;
    let (_, not_set_up) = admin.err("test_autotask_connection", &[]).await;
    assert!(matches!(not_set_up, AppError::Conflict(ref m) if m.contains("not connected")), "{not_set_up:?}");
    for (user, secret, code, cause) in [
        (USERNAME, "wrong-secret", INTEGRATION_CODE, "wrong_secret"),
        ("nobody@nowhere.example", SECRET, INTEGRATION_CODE, "unknown_user"),
        (USERNAME, SECRET, "NOT-OUR-CODE", "bad_integration_code"),
        (NO_ACCESS_USERNAME, SECRET, INTEGRATION_CODE, "missing_permission"),
        (USERNAME, SECRET, INTEGRATION_CODE, "unavailable"),
    ] {
        if cause == "unavailable" {
            crate::helpers::set_faults(&sb, serde_json::json!({"rate_5xx": 1.0}));
        }
        admin.ok("save_autotask_connection", &[("username", user), ("secret", secret), ("integration_code", code), ("zone_override", "")]).await;
        let test = admin.ok("test_autotask_connection", &[]).await;
        assert_eq!(test["ok"], false, "{cause}: {test}");
        assert_eq!(test["cause"], cause, "{test}");
        assert!(!test["message"].as_str().unwrap().is_empty());
    }
    let view = admin.ok("get_autotask_connection", &[]).await;
    assert_eq!(view["last_test"]["cause"], "unavailable");
}

async fn invalid_settings_name_the_field_and_keep_what_was_saved(backend: Backend) {
    let sb = sandbox().await;
    let app = spawn_with(backend, discovery(&sb)).await;
    let a = app.partner("Fields").await;
    let admin = app.signed_in(&a.email, &a.password).await;
    let (_, e) = admin
        .err("save_autotask_connection", &[("username", USERNAME), ("secret", ""), ("integration_code", INTEGRATION_CODE), ("zone_override", "")])
        .await;
    assert!(e.field_message("secret").is_some(), "a first save needs the secret: {e:?}");
    admin
        .ok("save_autotask_connection", &[("username", USERNAME), ("secret", SECRET), ("integration_code", INTEGRATION_CODE), ("zone_override", "")])
        .await;
    for (field, args) in [
        ("username", [("username", "not an email"), ("secret", ""), ("integration_code", INTEGRATION_CODE), ("zone_override", "")]),
        ("integration_code", [("username", USERNAME), ("secret", ""), ("integration_code", "  "), ("zone_override", "")]),
        ("zone_override", [("username", USERNAME), ("secret", ""), ("integration_code", INTEGRATION_CODE), ("zone_override", "webservices3")]),
    ] {
        let (_, e) = admin.err("save_autotask_connection", &args).await;
        assert!(e.field_message(field).is_some(), "{field}: {e:?}");
    }
    let view = admin.ok("get_autotask_connection", &[]).await;
    assert_eq!(view["username"], USERNAME);
    assert_eq!(view["integration_code"], INTEGRATION_CODE);
    assert_eq!(admin.ok("test_autotask_connection", &[]).await["ok"], true);
}

/// Everything one instance does for a partner at once — a discovery (three parallel id
/// ranges of Companies and Contacts) beside six Test connection calls (each counting
/// Companies, Contacts and Contracts) — goes through the partner's one client, so Autotask
/// never sees more than 3 calls per entity and refuses none. (A client per request gave
/// each caller its own 3 slots.) The zone found at save is reused, not asked again.
async fn one_client_per_partner_keeps_every_feature_within_the_thread_limit(backend: Backend) {
    let sb = start(SandboxConfig { seed: 6, companies: 1_500, contacts: 3_000, ..SandboxConfig::default() }, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let app = spawn_with(backend, discovery(&sb)).await;
    let a = app.partner("Threads").await;
    let admin = app.signed_in(&a.email, &a.password).await;
    admin
        .ok("save_autotask_connection", &[("username", USERNAME), ("secret", SECRET), ("integration_code", INTEGRATION_CODE), ("zone_override", "")])
        .await;
    sb.sandbox.set_faults(sandbox::faults::Faults { latency_ms: 40, ..Default::default() });
    sb.sandbox.limits.reset_stats();
    let job = admin.ok("start_discovery", &[]).await;
    let tests = futures_util::future::join_all((0..6).map(|_| admin.ok("test_autotask_connection", &[]))).await;
    for test in &tests {
        assert_eq!(test["ok"], true, "{test}");
    }
    let state = admin.finished_job(&job).await;
    assert_eq!(state["state"], "done", "{state}");
    let stats = sb.sandbox.limits.stats();
    assert_eq!(stats.thread_limit_rejections, 0, "{stats:?}");
    for (entity, peak) in &stats.peak_concurrency {
        assert!(*peak <= 3, "{peak} calls at once to {entity}: {stats:?}");
    }
    assert!(stats.peak_concurrency.get("Companies").copied().unwrap_or(0) >= 2, "the features did overlap: {stats:?}");
}

async fn typed_settings_are_tested_without_touching_the_saved_ones(backend: Backend) {
    let sb = sandbox().await;
    let app = spawn_with(backend, discovery(&sb)).await;
    let a = app.partner("Typed").await;
    let admin = app.signed_in(&a.email, &a.password).await;
    let typed = |user: &'static str, secret: &'static str, code: &'static str, zone: &'static str| {
        [("username", user), ("secret", secret), ("integration_code", code), ("zone_override", zone)]
    };
    // Before anything is saved, typed settings can be tried; nothing is stored.
    let first = admin.ok("test_autotask_settings", &typed(USERNAME, SECRET, INTEGRATION_CODE, "")).await;
    assert_eq!(first["ok"], true, "{first}");
    assert_eq!(first["companies"], 41);
    assert_eq!(admin.ok("get_autotask_connection", &[]).await["configured"], false);
    let (_, empty) = admin.err("test_autotask_settings", &typed(USERNAME, "", INTEGRATION_CODE, "")).await;
    assert_eq!(empty.field_message("secret").as_deref(), Some("Enter the API user's secret."));

    admin.ok("save_autotask_connection", &typed(USERNAME, SECRET, INTEGRATION_CODE, "")).await;
    let saved = admin.ok("test_autotask_connection", &[]).await;
    assert_eq!(saved["ok"], true, "{saved}");
    // A wrong secret typed over a working connection fails its test, and the saved
    // connection and its state stay as they were.
    let wrong = admin.ok("test_autotask_settings", &typed(USERNAME, "wrong-secret", INTEGRATION_CODE, "")).await;
    assert_eq!((wrong["ok"].clone(), wrong["cause"].clone()), (false.into(), "wrong_secret".into()), "{wrong}");
    let state = admin.ok("get_autotask_connection", &[]).await;
    assert_eq!(state["last_test"]["ok"], true, "the saved connection's state is kept: {state}");
    assert_eq!(state["last_test"]["at"], saved["at"]);
    // No secret typed: the saved one is tried with a new integration code...
    let code = admin.ok("test_autotask_settings", &typed(USERNAME, "", "NOT-OUR-CODE", "")).await;
    assert_eq!(code["cause"], "bad_integration_code", "{code}");
    // ...but never for another user or zone, nor sent to a host that is not Autotask's.
    let (_, other_user) = admin.err("test_autotask_settings", &typed(NO_ACCESS_USERNAME, "", INTEGRATION_CODE, "")).await;
    assert_eq!(other_user.field_message("secret").as_deref(), Some("Enter the secret again: the username or the zone changed."));
    let (_, host) = admin.err("test_autotask_settings", &typed(USERNAME, SECRET, INTEGRATION_CODE, "https://attacker.example/ATServicesRest/")).await;
    assert!(host.field_message("zone_override").is_some_and(|m| m.contains("not an Autotask host")), "{host:?}");
    // The saved settings as they are: the saved test, which the page's state follows.
    let same = admin.ok("test_autotask_settings", &typed(USERNAME, "", INTEGRATION_CODE, "")).await;
    assert_eq!(same["ok"], true);
    assert_eq!(admin.ok("get_autotask_connection", &[]).await["last_test"]["at"], same["at"]);
    // The History keeps each test, saying which were of settings not saved yet.
    let runs = admin.ok_json("list_runs", &serde_json::json!({ "query": {} })).await;
    let summaries: Vec<&str> = runs["rows"].as_array().unwrap().iter().filter_map(|r| r["summary"].as_str()).collect();
    assert!(summaries.iter().any(|s| s.starts_with("Settings not saved yet: ") && s.contains("rejected")), "{summaries:?}");
    // Technicians cannot test.
    admin.ok("create_user", &[("email", "t@typed.example"), ("name", "T"), ("role", "technician"), ("password", "tech-password-long")]).await;
    let tech = app.signed_in("t@typed.example", "tech-password-long").await;
    assert_eq!(tech.err("test_autotask_settings", &typed(USERNAME, SECRET, INTEGRATION_CODE, "")).await.1, AppError::Forbidden);
}
