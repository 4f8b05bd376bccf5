//! API tokens: shown once, stored hashed, authenticate the machine API until revoked.

use crate::helpers::{both_databases, spawn, Backend};
use reqwest::StatusCode;

both_databases!(a_token_works_until_it_is_revoked, token_names_are_validated);

async fn a_token_works_until_it_is_revoked(backend: Backend) {
    let app = spawn(backend).await;
    let a = app.partner("Tokens").await;
    let admin = app.signed_in(&a.email, &a.password).await;
    let created = admin.ok("create_api_token", &[("name", "  EU platform ")]).await;
    let token = created["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("tbk_") && token.len() > 40, "{token}");
    assert_eq!(created["summary"]["name"], "EU platform");
    assert!(token.starts_with(created["summary"]["prefix"].as_str().unwrap()));
    // The secret is never listed again, nor stored in clear.
    let listed = admin.ok("list_api_tokens", &[]).await;
    assert!(!listed.to_string().contains(&token));
    let clear: i64 =
        sqlx::query_scalar(&format!("select count(*) from api_token where token_hash = '{token}'")).fetch_one(&app.state.db.pool).await.unwrap();
    assert_eq!(clear, 0);

    let client = reqwest::Client::new();
    let call = || client.get(app.url("/api/v1/partner")).bearer_auth(&token).send();
    let body: serde_json::Value = call().await.unwrap().json().await.unwrap();
    assert_eq!(body["partner_id"], a.partner_id);
    assert_eq!(body["token_name"], "EU platform");
    let used = admin.ok("list_api_tokens", &[]).await;
    assert!(used[0]["last_used_at"].is_i64(), "last use is recorded: {used}");

    let id = created["summary"]["token_id"].to_string();
    let revoked = admin.ok("revoke_api_token", &[("token_id", &id)]).await;
    assert!(revoked["revoked_at"].is_i64());
    assert_eq!(call().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    // The history says who did it.
    let overview = admin.ok("get_overview", &[]).await;
    let history = overview["recent"].to_string();
    assert!(history.contains("Revoked API token \u{201c}EU platform\u{201d}"), "{history}");
    assert_eq!(overview["active_tokens"], 0);
}

async fn token_names_are_validated(backend: Backend) {
    let app = spawn(backend).await;
    let a = app.partner("Names").await;
    let admin = app.signed_in(&a.email, &a.password).await;
    let (_, error) = admin.err("create_api_token", &[("name", "   ")]).await;
    assert!(error.field_message("name").is_some(), "{error:?}");
    assert_eq!(admin.ok("list_api_tokens", &[]).await.as_array().unwrap().len(), 0);
}
