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
    let saved = admin.ok("save_autotask_connection", &[("username", USERNAME), ("secret", SECRET), ("integration_code", INTEGRATION_CODE), ("zone_override", "")]).await;
    assert_eq!(saved["secret_set"], true);
    assert!(!saved.to_string().contains(SECRET));
    assert_eq!(saved["zone"]["url"], format!("{}/ATServicesRest/", sb.base_url()), "the zone is discovered on save: {saved}");
    let sealed: String = sqlx::query_scalar("select secret_sealed from autotask_connection").fetch_one(&app.state.db.pool).await.unwrap();
    assert!(!sealed.contains(SECRET) && sealed.starts_with("v1."));
    assert_eq!(app.state.master_key.decrypt(&sealed, &format!("partner:{}:autotask_secret", a.partner_id)).unwrap(), SECRET);
    // Saving again without a secret keeps it.
    admin.ok("save_autotask_connection", &[("username", USERNAME), ("secret", ""), ("integration_code", INTEGRATION_CODE), ("zone_override", "")]).await;
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
    assert_eq!(tech.err("save_autotask_connection", &[("username", "x@y.example"), ("secret", "s"), ("integration_code", "C"), ("zone_override", "")]).await.1, AppError::Forbidden);
    assert_eq!(tech.err("test_autotask_connection", &[]).await.1, AppError::Forbidden);
}

async fn test_connection_names_each_cause(backend: Backend) {
    let sb = sandbox().await;
    let app = spawn_with(backend, discovery(&sb)).await;
    let a = app.partner("Causes").await;
    let admin = app.signed_in(&a.email, &a.password).await;
    let (_, not_set_up) = admin.err("test_autotask_connection", &[]).await;
    assert!(matches!(not_set_up, AppError::Conflict(ref m) if m.contains("not connected")), "{not_set_up:?}");
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let unreachable = format!("http://{closed}/ATServicesRest/");
    for (user, secret, code, zone, cause) in [
        (USERNAME, "wrong-secret", INTEGRATION_CODE, "", "wrong_secret"),
        ("nobody@nowhere.example", SECRET, INTEGRATION_CODE, "", "unknown_user"),
        (USERNAME, SECRET, "NOT-OUR-CODE", "", "bad_integration_code"),
        (NO_ACCESS_USERNAME, SECRET, INTEGRATION_CODE, "", "missing_permission"),
        (USERNAME, SECRET, INTEGRATION_CODE, unreachable.as_str(), "unavailable"),
    ] {
        admin.ok("save_autotask_connection", &[("username", user), ("secret", secret), ("integration_code", code), ("zone_override", zone)]).await;
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
    let (_, e) = admin.err("save_autotask_connection", &[("username", USERNAME), ("secret", ""), ("integration_code", INTEGRATION_CODE), ("zone_override", "")]).await;
    assert!(e.field_message("secret").is_some(), "a first save needs the secret: {e:?}");
    admin.ok("save_autotask_connection", &[("username", USERNAME), ("secret", SECRET), ("integration_code", INTEGRATION_CODE), ("zone_override", "")]).await;
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
