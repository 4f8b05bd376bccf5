//! Sign-in, cookies, throttling, expiry, sign-out and disabling.

use crate::helpers::{both_databases, spawn, spawn_with, Backend, Options};
use app::error::AppError;
use reqwest::StatusCode;

both_databases!(
    signing_in_sets_an_http_only_same_site_cookie,
    a_wrong_password_is_refused_with_a_clear_message,
    repeated_failures_slow_the_account_down_without_locking_it_out,
    signing_out_ends_the_session,
    idle_and_expired_sessions_are_refused,
    disabling_a_user_ends_its_sessions_and_blocks_sign_in,
    demo_credentials_are_shown_only_in_demo_mode,
    cookies_are_secure_behind_https,
    users_change_their_own_password,
    a_new_secret_or_token_needs_the_password_again,
);

async fn signing_in_sets_an_http_only_same_site_cookie(backend: Backend) {
    let app = spawn(backend).await;
    let a = app.partner("Cookie").await;
    let browser = app.browser();
    let response = browser.call("sign_in", &[("email", &a.email.to_uppercase()), ("password", &a.password), ("next", "/users")]).await;
    assert!(response.status().is_success());
    assert_eq!(response.headers()["location"], "/users");
    let cookie = response.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("tb_session="), "{cookie}");
    for part in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(part), "{cookie} lacks {part}");
    }
    assert!(!cookie.contains("Secure"), "plain http must not set Secure: {cookie}");
    assert!(!cookie.contains("Max-Age"), "a session cookie ends with the browser: {cookie}");
    let me = browser.ok("get_current_user", &[]).await;
    assert_eq!(me["email"], a.email.as_str());
    assert_eq!(me["partner_name"], a.name.as_str());
    assert_eq!(me["role"], "admin");
    // Only the hash of the cookie value is stored.
    let value = cookie.trim_start_matches("tb_session=").split(';').next().unwrap();
    let stored: i64 = sqlx::query_scalar::<_, i64>(&format!("select count(*) from session where token_hash = '{value}'"))
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(stored, 0);
    // An offsite `next` is ignored.
    let other = app.browser();
    let response = other.call("sign_in", &[("email", &a.email), ("password", &a.password), ("next", "//evil.example/")]).await;
    assert_eq!(response.headers()["location"], "/");
}

async fn a_wrong_password_is_refused_with_a_clear_message(backend: Backend) {
    let app = spawn(backend).await;
    let a = app.partner("Wrong").await;
    let browser = app.browser();
    for (email, password) in [(a.email.as_str(), "wrong password"), ("nobody@nowhere.example", "wrong password")] {
        let (_, error) = browser.err("sign_in", &[("email", email), ("password", password)]).await;
        assert_eq!(error, AppError::invalid("credentials", "The email or password is incorrect."));
    }
    let (_, error) = browser.err("sign_in", &[("email", ""), ("password", "x")]).await;
    assert_eq!(error.field_message("email").as_deref(), Some("Enter your email address."));
    let (status, error) = browser.err("get_current_user", &[]).await;
    assert_eq!((status, error), (StatusCode::UNAUTHORIZED, AppError::Unauthorized));
}

/// Five wrong guesses cost nothing; after that each attempt waits longer (1 s, 2 s, 4 s …)
/// and one inside the wait is answered 429 with the seconds left — the right password too,
/// but only until the wait is over: nobody can lock a user out. Other accounts behind the
/// same address are not slowed.
async fn repeated_failures_slow_the_account_down_without_locking_it_out(backend: Backend) {
    let app = spawn(backend).await;
    let a = app.partner("Throttle").await;
    let b = app.partner("Neighbour").await;
    let browser = app.browser();
    for _ in 0..5 {
        let (_, e) = browser.err("sign_in", &[("email", &a.email), ("password", "guess guess guess")]).await;
        assert_eq!(e, AppError::invalid("credentials", "The email or password is incorrect."));
    }
    let (status, error) = browser.err("sign_in", &[("email", &a.email), ("password", &a.password)]).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    match error {
        AppError::TooManyAttempts(message) => assert!(message.contains("Try again in 1 second"), "{message}"),
        other => panic!("expected a short wait, got {other:?}"),
    }
    app.signed_in(&b.email, &b.password).await;
    let started = std::time::Instant::now();
    loop {
        let response = browser.call("sign_in", &[("email", &a.email), ("password", &a.password)]).await;
        if response.status() != StatusCode::TOO_MANY_REQUESTS {
            assert!(response.headers().get("set-cookie").is_some(), "the right password signs in once the wait is over");
            break;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(3), "the wait was 1 s");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

async fn signing_out_ends_the_session(backend: Backend) {
    let app = spawn(backend).await;
    let a = app.partner("Out").await;
    let browser = app.signed_in(&a.email, &a.password).await;
    let cookie_jar_copy = app.browser();
    // Steal the cookie value before signing out, to prove the server forgot it.
    let response = cookie_jar_copy.call("sign_in", &[("email", &a.email), ("password", &a.password)]).await;
    let value = response.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    let out = cookie_jar_copy.call("sign_out", &[]).await;
    assert!(out.status().is_success());
    assert!(out.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
    let replay =
        reqwest::Client::new().post(app.url("/rpc/get_current_user")).header("cookie", value).header("origin", app.origin()).send().await.unwrap();
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
    // The other session of the same user is unaffected.
    browser.ok("get_current_user", &[]).await;
}

async fn idle_and_expired_sessions_are_refused(backend: Backend) {
    let app = spawn(backend).await;
    let a = app.partner("Expiry").await;
    let idle = app.signed_in(&a.email, &a.password).await;
    // Eight hours and a minute without a request.
    app.sql("update session set last_seen_at = last_seen_at - (8 * 60 + 1) * 60 * 1000").await;
    assert_eq!(idle.err("get_current_user", &[]).await.1, AppError::Unauthorized);
    let fresh = app.signed_in(&a.email, &a.password).await;
    fresh.ok("get_current_user", &[]).await;
    // Past the absolute lifetime, however active.
    app.sql("update session set expires_at = expires_at - 8 * 24 * 60 * 60 * 1000").await;
    assert_eq!(fresh.err("get_current_user", &[]).await.1, AppError::Unauthorized);
    let count: i64 = sqlx::query_scalar("select count(*) from session").fetch_one(&app.state.db.pool).await.unwrap();
    assert_eq!(count, 0, "expired sessions are deleted when seen");
}

async fn disabling_a_user_ends_its_sessions_and_blocks_sign_in(backend: Backend) {
    let app = spawn(backend).await;
    let a = app.partner("Disable").await;
    let admin = app.signed_in(&a.email, &a.password).await;
    let created =
        admin.ok("create_user", &[("email", "t@disable.example"), ("name", "T"), ("role", "technician"), ("password", "tech-password-long")]).await;
    let tech = app.signed_in("t@disable.example", "tech-password-long").await;
    let id = created["user_id"].to_string();
    admin.ok("set_user_disabled", &[("user_id", &id), ("disabled", "true")]).await;
    assert_eq!(tech.err("get_overview", &[]).await.1, AppError::Unauthorized);
    let (_, error) = app.browser().err("sign_in", &[("email", "t@disable.example"), ("password", "tech-password-long")]).await;
    assert!(error.to_string().contains("disabled"), "{error}");
    admin.ok("set_user_disabled", &[("user_id", &id), ("disabled", "false")]).await;
    app.signed_in("t@disable.example", "tech-password-long").await;
}

async fn demo_credentials_are_shown_only_in_demo_mode(backend: Backend) {
    let plain = spawn(backend).await;
    let info = plain.browser().ok("get_site_info", &[]).await;
    assert!(info["demo"].is_null(), "{info}");
    drop(plain);
    let demo = spawn_with(backend, Options { demo: true, ..Options::default() }).await;
    let info = demo.browser().ok("get_site_info", &[]).await;
    assert_eq!(info["demo"]["email"], server::admin::DEMO_EMAIL);
    let browser = demo.signed_in(server::admin::DEMO_EMAIL, server::admin::DEMO_PASSWORD).await;
    assert_eq!(browser.ok("get_current_user", &[]).await["partner_name"], "Demo MSP");
    // A second start finds the demo partner instead of failing or duplicating it.
    server::admin::ensure_demo_partner(&demo.state.db).await.unwrap();
}

async fn cookies_are_secure_behind_https(backend: Backend) {
    let app = spawn_with(backend, Options { public_url: Some("https://taskbridge.example.com".into()), ..Options::default() }).await;
    let a = app.partner("Secure").await;
    let response = app
        .browser()
        .client
        .post(app.url("/rpc/sign_in"))
        .header("origin", "https://taskbridge.example.com")
        .header("accept", "application/json")
        .form(&[("email", a.email.as_str()), ("password", a.password.as_str())])
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    let cookie = response.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("__Host-tb_session=") && cookie.contains("; Secure") && cookie.contains("Path=/"), "{cookie}");
    assert!(!cookie.contains("Domain"), "{cookie}");
    // With a public URL configured, the request's own origin is no longer accepted.
    let (status, _) = app.browser().err("sign_in", &[("email", &a.email), ("password", &a.password)]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// Anyone signed in changes their own password by giving the current one: a wrong current
/// password or a weak new one is refused at its field; afterwards only the new password
/// signs in, the user's other sessions have ended and this one goes on.
async fn users_change_their_own_password(backend: Backend) {
    let app = spawn(backend).await;
    let a = app.partner("Password").await;
    let here = app.signed_in(&a.email, &a.password).await;
    let elsewhere = app.signed_in(&a.email, &a.password).await;
    let (_, e) = here.err("change_password", &[("current_password", "not it at all"), ("new_password", "a brand new passphrase")]).await;
    assert!(e.field_message("current_password").is_some(), "{e:?}");
    let (_, e) = here.err("change_password", &[("current_password", &a.password), ("new_password", "short")]).await;
    assert!(e.field_message("new_password").is_some_and(|m| m.contains("12")), "{e:?}");
    here.ok("change_password", &[("current_password", &a.password), ("new_password", "a brand new passphrase")]).await;
    here.ok("get_current_user", &[]).await;
    assert_eq!(elsewhere.err("get_current_user", &[]).await.0, StatusCode::UNAUTHORIZED, "the other session ended");
    let (_, old) = app.browser().err("sign_in", &[("email", &a.email), ("password", &a.password)]).await;
    assert!(old.field_message("credentials").is_some(), "{old:?}");
    app.signed_in(&a.email, "a brand new passphrase").await;
    assert_eq!(app.browser().err("change_password", &[("current_password", "x"), ("new_password", "y")]).await.0, StatusCode::UNAUTHORIZED);
}

/// The Setup form as the page sends it, with the password typed to confirm.
fn connection_form<'a>(secret: &'a str, code: &'a str, password: &'a str) -> [(&'a str, &'a str); 5] {
    [("username", "api@confirm.example"), ("secret", secret), ("integration_code", code), ("zone_override", ""), ("password", password)]
}

/// A session alone (a borrowed laptop, a stolen cookie) cannot swap the Autotask secret or
/// mint an API token: both ask for the signed-in user's own password, a wrong one is
/// refused at the field without changing anything, and guessing it is throttled like a
/// sign-in. Keeping the saved secret needs no password.
async fn a_new_secret_or_token_needs_the_password_again(backend: Backend) {
    let app = spawn(backend).await;
    let a = app.partner("Confirm").await;
    let admin = app.signed_in(&a.email, &a.password).await;
    let (_, e) = admin.err("save_autotask_connection", &connection_form("first-secret", "CODE", "")).await;
    assert!(e.field_message("password").is_some_and(|m| m.contains("password to confirm")), "{e:?}");
    let (_, e) = admin.err("save_autotask_connection", &connection_form("first-secret", "CODE", "not my password")).await;
    assert_eq!(e.field_message("password").as_deref(), Some("That is not your password."), "{e:?}");
    assert_eq!(admin.ok("get_autotask_connection", &[]).await["configured"], false, "nothing was saved");
    admin.ok("save_autotask_connection", &connection_form("first-secret", "CODE", &a.password)).await;
    // Keeping the saved secret (here with a new integration code) needs no password.
    let kept = admin.ok("save_autotask_connection", &connection_form("", "CODE2", "")).await;
    assert_eq!((kept["integration_code"].as_str(), kept["secret_set"].as_bool()), (Some("CODE2"), Some(true)), "{kept}");

    let (_, e) = admin.err("create_api_token", &[("name", "Platform"), ("password", "")]).await;
    assert!(e.field_message("password").is_some(), "{e:?}");
    // Five guesses in a row are answered at the field; the sixth has to wait.
    for _ in 0..5 {
        let (_, e) = admin.err("create_api_token", &[("name", "Platform"), ("password", "guess")]).await;
        assert_eq!(e.field_message("password").as_deref(), Some("That is not your password."), "{e:?}");
    }
    let (status, e) = admin.err("create_api_token", &[("name", "Platform"), ("password", "guess")]).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{e:?}");
    assert_eq!(admin.ok("list_api_tokens", &[]).await.as_array().map(Vec::len), Some(0), "no token was made");
    // Once the wait is over (moved along here), the right password makes the token.
    app.sql("update sign_in_throttle set next_at = 0").await;
    let created = admin.ok("create_api_token", &[("name", "Platform"), ("password", &a.password)]).await;
    assert!(created["token"].as_str().is_some_and(|t| t.starts_with("tbk_")), "{created}");
}
