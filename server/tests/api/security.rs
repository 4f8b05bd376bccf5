//! The security review's findings, each written as an attack that must fail.
//!
//! Where the Autotask credentials may go: a recording listener on 127.0.0.1 stands in for
//! an attacker's host; whatever zone an admin saves (or a discovery answers, or a redirect
//! points to), it must receive nothing.

use crate::helpers::{both_databases, spawn_with, Backend, Options};
use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use sandbox::api::{INTEGRATION_CODE, SECRET, USERNAME};
use sandbox::{start, RunningSandbox, SandboxConfig};
use serde_json::json;
use server::autotask::{AutotaskClient, AutotaskError, ClientOptions, Credentials, Filter, Query};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

both_databases!(
    no_zone_override_sends_the_secret_anywhere_but_autotask,
    a_remote_body_is_never_shown_to_users,
    technicians_cannot_switch_billing_pushes,
    sign_in_only_redirects_to_a_path_on_this_site,
    parallel_guesses_check_few_passwords_with_bounded_memory,
    the_demo_login_stops_working_when_demo_mode_is_off,
    made_up_methods_do_not_grow_the_metrics,
    buttons_that_spend_the_autotask_budget_are_rate_limited,
    every_response_carries_the_security_headers,
);

/// What a fake host answers besides ZoneInformation.
#[derive(Clone)]
enum Answer {
    /// 302 to another address.
    RedirectTo(String),
    /// 200 with this many bytes, announced in Content-Length or streamed without it.
    Huge { bytes: usize, announced: bool },
    /// 500 with a body that is not Autotask's error shape.
    HtmlError(&'static str),
}

/// A fake host on 127.0.0.1 that records every request (and whether it carried a
/// `Secret` header). It answers ZoneInformation with `zone_url`, anything else with
/// `answer`.
struct Recorder {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<(String, bool)>>>,
}

impl Recorder {
    async fn start(zone_url: Option<String>, answer: Answer) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen: Arc<Mutex<Vec<(String, bool)>>> = Arc::default();
        let zone_url = zone_url.unwrap_or_else(|| format!("http://{addr}/ATServicesRest/"));
        let log = seen.clone();
        let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap| {
            let (log, zone_url, answer) = (log.clone(), zone_url.clone(), answer.clone());
            async move {
                log.lock().unwrap().push((uri.to_string(), headers.contains_key("secret")));
                if uri.path().ends_with("/ZoneInformation") {
                    return axum::Json(json!({"zoneName": "Fake", "url": zone_url, "webUrl": "", "ci": 1})).into_response();
                }
                respond(answer)
            }
        });
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { addr, seen }
    }

    fn base(&self) -> String {
        format!("http://{}/ATServicesRest/", self.addr)
    }

    fn requests(&self) -> Vec<(String, bool)> {
        self.seen.lock().unwrap().clone()
    }

    fn secrets_received(&self) -> usize {
        self.requests().iter().filter(|(_, secret)| *secret).count()
    }
}

fn respond(answer: Answer) -> Response {
    match answer {
        Answer::RedirectTo(to) => (StatusCode::FOUND, [("location", to)]).into_response(),
        Answer::HtmlError(body) => (StatusCode::INTERNAL_SERVER_ERROR, [("content-type", "text/html")], body).into_response(),
        Answer::Huge { bytes, announced: true } => (StatusCode::OK, vec![b' '; bytes]).into_response(),
        Answer::Huge { bytes, announced: false } => {
            let chunks = (0..bytes / 65_536).map(|_| Ok::<_, std::io::Error>(axum::body::Bytes::from(vec![b' '; 65_536])));
            Response::new(Body::from_stream(futures_util::stream::iter(chunks)))
        }
    }
}

fn client(discovery_url: String, zone_override: Option<String>) -> AutotaskClient {
    let opts = ClientOptions { discovery_url, zone_override, timeout: Duration::from_secs(10), max_attempts: 1, ..ClientOptions::default() };
    AutotaskClient::new(Credentials::new(USERNAME, SECRET, INTEGRATION_CODE), opts).unwrap()
}

async fn sandbox() -> RunningSandbox {
    start(SandboxConfig { seed: 5, companies: 20, contacts: 40, ..SandboxConfig::default() }, "127.0.0.1:0".parse().unwrap()).await.unwrap()
}

fn connection<'a>(username: &'a str, secret: &'a str, zone: &'a str) -> [(&'a str, &'a str); 4] {
    [("username", username), ("secret", secret), ("integration_code", INTEGRATION_CODE), ("zone_override", zone)]
}

/// An admin saves every hostile zone override there is (a query or fragment swallowing
/// the path, userinfo, loopback in every spelling, a look-alike domain, another port):
/// each is refused with a message at the field, and the listener never hears from
/// Taskbridge — not on save, not on Test connection, not from a discovery job. A hostile
/// override stored before the rule existed is refused at call time. Changing the zone or
/// the username needs the secret again.
async fn no_zone_override_sends_the_secret_anywhere_but_autotask(backend: Backend) {
    let sb = sandbox().await;
    let listener = Recorder::start(None, Answer::HtmlError("<html>attacker</html>")).await;
    let app = spawn_with(backend, Options { autotask_discovery_url: Some(format!("{}/ATServicesRest/", sb.base_url())), ..Options::default() }).await;
    let a = app.partner("Ssrf").await;
    let admin = app.signed_in(&a.email, &a.password).await;
    admin.ok("save_autotask_connection", &connection(USERNAME, SECRET, "")).await;
    let port = listener.addr.port();
    let hostile = [
        format!("http://127.0.0.1:{port}/ATServicesRest/"),
        format!("http://127.0.0.1:{port}/?"),
        format!("https://127.0.0.1:{port}/#"),
        format!("http://localhost:{port}/"),
        format!("https://localhost:{port}/"),
        format!("https://webservices1.autotask.net@127.0.0.1:{port}/"),
        format!("http://[::1]:{port}/"),
        format!("http://2130706433:{port}/"),
        format!("http://0x7f.1:{port}/"),
        format!("https://webservices3.autotask.net:{port}/"),
        "https://evil.example/?x=.autotask.net".to_string(),
        "https://webservices3.autotask.net.evil.example/ATServicesRest/".to_string(),
        "https://169.254.169.254/latest/meta-data/".to_string(),
        format!("{}/ATServicesRest/?", sb.base_url()),
    ];
    for zone in &hostile {
        let (_, e) = admin.err("save_autotask_connection", &connection(USERNAME, SECRET, zone)).await;
        assert!(e.field_message("zone_override").is_some(), "{zone} must be refused at the field: {e:?}");
    }
    // The saved, working connection was kept through all of that.
    assert_eq!(admin.ok("test_autotask_connection", &[]).await["ok"], true);
    // The saved secret is never carried to a new zone or user without being entered again.
    let (_, e) = admin.err("save_autotask_connection", &connection(USERNAME, "", "https://webservices3.autotask.net/ATServicesRest/")).await;
    assert!(e.field_message("secret").is_some(), "{e:?}");
    let (_, e) = admin.err("save_autotask_connection", &connection("other-api@example.com", "", "")).await;
    assert!(e.field_message("secret").is_some(), "{e:?}");
    // A hostile override stored before the rule existed is refused when used.
    app.sql(&format!("update autotask_connection set zone_override = 'http://127.0.0.1:{port}/?', updated_at = updated_at + 1")).await;
    let test = admin.ok("test_autotask_connection", &[]).await;
    assert_eq!(test["ok"], false, "{test}");
    assert_eq!(test["cause"], "refused_destination", "{test}");
    let state = admin.finished_job(&admin.ok("start_discovery", &[]).await).await;
    assert_eq!(state["state"], "failed", "{state}");
    assert_eq!(listener.requests(), Vec::<(String, bool)>::new(), "the attacker's listener heard from Taskbridge");
}

/// ZoneInformation (asked at the configured, trusted discovery URL) answers with a zone
/// on another host: the client refuses to call it.
#[tokio::test]
async fn a_discovered_zone_outside_the_allow_list_is_never_called() {
    let attacker = Recorder::start(None, Answer::HtmlError("<html>attacker</html>")).await;
    let discovery = Recorder::start(Some(attacker.base()), Answer::HtmlError("unused")).await;
    let c = client(discovery.base(), None);
    let e = c.count("Companies", &Query::new([Filter::all()])).await.unwrap_err();
    assert!(matches!(e, AutotaskError::Refused(_)), "{e:?}");
    assert_eq!(attacker.requests(), Vec::<(String, bool)>::new());
    assert_eq!(discovery.secrets_received(), 0, "ZoneInformation is asked without credentials");
}

/// A redirect from the zone is never followed with the credentials.
#[tokio::test]
async fn redirects_are_not_followed() {
    let attacker = Recorder::start(None, Answer::HtmlError("<html>attacker</html>")).await;
    let zone = Recorder::start(None, Answer::RedirectTo(format!("{}V1.0/Companies/query/count", attacker.base()))).await;
    let c = client(zone.base(), None);
    let e = c.count("Companies", &Query::new([Filter::all()])).await.unwrap_err();
    assert_eq!(e.cause(), "unavailable", "{e:?}");
    assert!(!e.to_string().contains("attacker"), "{e}");
    assert_eq!(attacker.requests(), Vec::<(String, bool)>::new(), "the redirect was followed");
}

/// An answer larger than the cap is an error, announced or streamed, not an out-of-memory.
#[tokio::test]
async fn an_oversize_answer_is_refused() {
    for announced in [true, false] {
        let zone = Recorder::start(None, Answer::Huge { bytes: 40 * 1024 * 1024, announced }).await;
        let c = client(zone.base(), None);
        let e = c.count("Companies", &Query::new([Filter::all()])).await.unwrap_err();
        assert!(matches!(&e, AutotaskError::Malformed(m) if m.contains("larger than 32 MiB")), "announced {announced}: {e:?}");
    }
}

/// What a failing zone sends back is never quoted to the partner's users.
async fn a_remote_body_is_never_shown_to_users(backend: Backend) {
    let zone = Recorder::start(None, Answer::HtmlError("<html>INTERNAL-DETAILS token=abc123</html>")).await;
    let app = spawn_with(backend, Options { autotask_discovery_url: Some(zone.base()), ..Options::default() }).await;
    let a = app.partner("Bodies").await;
    let admin = app.signed_in(&a.email, &a.password).await;
    admin.ok("save_autotask_connection", &connection(USERNAME, SECRET, "")).await;
    let test = admin.ok("test_autotask_connection", &[]).await;
    assert_eq!(test["ok"], false, "{test}");
    let shown = admin.ok("get_autotask_connection", &[]).await.to_string() + &test.to_string();
    assert!(!shown.contains("INTERNAL-DETAILS") && !shown.contains("abc123"), "{shown}");
}

fn rule(action: &str) -> serde_json::Value {
    json!({"action": action, "subscribe_ok": false, "all_types": true, "event_types": [], "customer_ids": [], "complete_on_recovery": true})
}

/// "Synchronize with Autotask" rules turn automatic billing pushes on and off, which is an
/// admin's decision: a technician can neither create one, nor change or delete an admin's,
/// nor turn a ticket rule into one; ticket rules stay open to technicians.
async fn technicians_cannot_switch_billing_pushes(backend: Backend) {
    let app = crate::helpers::spawn(backend).await;
    let a = app.partner("Rules").await;
    let admin = app.signed_in(&a.email, &a.password).await;
    admin.ok("create_user", &[("email", "tech@rules.example"), ("name", "Tech"), ("role", "technician"), ("password", "tech-password-long")]).await;
    let tech = app.signed_in("tech@rules.example", "tech-password-long").await;
    let forbidden = |e: app::error::AppError| assert_eq!(e, app::error::AppError::Forbidden);
    forbidden(tech.err_json("save_rule", &json!({"rule_id": null, "rule": rule("sync")})).await);
    let sync = admin.ok_json("save_rule", &json!({"rule_id": null, "rule": rule("sync")})).await;
    let sync_id = sync["rule_id"].as_i64().unwrap();
    forbidden(tech.err_json("save_rule", &json!({"rule_id": sync_id, "rule": rule("ticket")})).await);
    forbidden(tech.err("delete_rule", &[("rule_id", &sync_id.to_string())]).await.1);
    let ticket = tech.ok_json("save_rule", &json!({"rule_id": null, "rule": rule("ticket")})).await;
    let ticket_id = ticket["rule_id"].as_i64().unwrap();
    forbidden(tech.err_json("save_rule", &json!({"rule_id": ticket_id, "rule": rule("sync")})).await);
    let rules = admin.ok("list_rules", &[]).await;
    let actions: Vec<&str> = rules.as_array().unwrap().iter().map(|r| r["input"]["action"].as_str().unwrap()).collect();
    assert_eq!(actions.iter().filter(|a| **a == "sync").count(), 1, "{rules}");
    tech.ok("delete_rule", &[("rule_id", &ticket_id.to_string())]).await;
}

/// After sign-in the browser goes only to a path on this site, whatever `next` says, and
/// no `next` makes the server fail.
async fn sign_in_only_redirects_to_a_path_on_this_site(backend: Backend) {
    let app = crate::helpers::spawn(backend).await;
    let a = app.partner("Next").await;
    for next in [
        "/\t/evil.example",
        "/\\evil.example",
        "//evil.example",
        "%2F%2Fevil.example",
        "/\r\nSet-Cookie: owned=1",
        "\r\n",
        "javascript:alert(1)",
        "https://evil.example/",
        " //evil.example",
        "/\u{0}x",
    ] {
        let response = app.browser().call("sign_in", &[("email", &a.email), ("password", &a.password), ("next", next)]).await;
        assert!(response.status().is_success() || response.status().is_redirection(), "{next:?}: {}", response.status());
        let location = response.headers()["location"].to_str().unwrap().to_string();
        assert_eq!(location, "/", "{next:?} led to {location}");
        assert!(
            response.headers().get("owned").is_none()
                && !response.headers().get_all("set-cookie").iter().any(|c| c.to_str().unwrap_or("").contains("owned"))
        );
    }
    let response = app.browser().call("sign_in", &[("email", &a.email), ("password", &a.password), ("next", "/billing?month=2026-11")]).await;
    assert_eq!(response.headers()["location"], "/billing?month=2026-11");
}

/// 300 wrong passwords for one account at once: every attempt claims its slot before any
/// password is checked, so only the free attempts (5) reach argon2 and the rest are told to
/// wait; password checks never run on more than the permits (each takes 19 MiB).
async fn parallel_guesses_check_few_passwords_with_bounded_memory(backend: Backend) {
    let app = crate::helpers::spawn(backend).await;
    let a = app.partner("Storm").await;
    let browser = app.browser();
    let answers = futures_util::future::join_all((0..300).map(|i| {
        let browser = &browser;
        let email = a.email.clone();
        async move { browser.call("sign_in", &[("email", &email), ("password", &format!("guess number {i}"))]).await.status() }
    }))
    .await;
    let checked = answers.iter().filter(|s| **s == StatusCode::UNPROCESSABLE_ENTITY || **s == StatusCode::BAD_REQUEST).count();
    let throttled = answers.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!(checked + throttled, 300, "only wrong-password and wait answers: {answers:?}");
    assert!((1..=8).contains(&checked), "{checked} passwords were checked for 300 parallel guesses");
    let permits = app.state.auth.policy().hashing_permits;
    assert!(app.state.auth.peak_password_checks() <= permits, "{} checks at once, {permits} permits", app.state.auth.peak_password_checks());
}

/// The demo admin's password is public (it is on the sign-in page in demo mode): once the
/// server runs without demo mode, that login and its sessions open nothing; turning demo
/// mode on again brings it back.
async fn the_demo_login_stops_working_when_demo_mode_is_off(backend: Backend) {
    let demo = spawn_with(backend, Options { demo: true, ..Options::default() }).await;
    let (email, password) = (server::admin::DEMO_EMAIL, server::admin::DEMO_PASSWORD);
    let session = demo.signed_in(email, password).await;
    let plain = demo.restart_with(|args| args.demo = false).await;
    let (_, e) = plain.browser().err("sign_in", &[("email", email), ("password", password)]).await;
    assert!(matches!(&e, app::error::AppError::Invalid { field, .. } if field == "credentials"), "{e:?}");
    // The old session's cookie (the jar sends it to any port of 127.0.0.1).
    let replay = session.client.post(plain.url("/rpc/get_current_user")).header("origin", plain.origin()).send().await.unwrap();
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED, "the demo session ended");
    let again = plain.restart_with(|args| args.demo = true).await;
    again.signed_in(email, password).await;
}

/// Each HTTP method a client makes up would be a new metrics series; they share "other".
async fn made_up_methods_do_not_grow_the_metrics(backend: Backend) {
    let app = spawn_with(backend, Options { metrics_token: Some("scrape".into()), ..Options::default() }).await;
    let client = reqwest::Client::new();
    for i in 0..20 {
        let method = reqwest::Method::from_bytes(format!("BREW{i}").as_bytes()).unwrap();
        client.request(method, app.url("/")).send().await.unwrap();
    }
    let metrics = client.get(app.url("/metrics")).bearer_auth("scrape").send().await.unwrap().text().await.unwrap();
    assert!(!metrics.contains("BREW"), "{metrics}");
    assert!(metrics.contains("method=\"other\""), "{metrics}");
}

/// Test connection, Get contracts and the other on-demand Autotask calls may be pressed 20
/// times in a row per partner; then they say to wait, and another partner is unaffected.
async fn buttons_that_spend_the_autotask_budget_are_rate_limited(backend: Backend) {
    let sb = sandbox().await;
    let app = spawn_with(backend, Options { autotask_discovery_url: Some(format!("{}/ATServicesRest/", sb.base_url())), ..Options::default() }).await;
    let (a, b) = (app.partner("Budget A").await, app.partner("Budget B").await);
    let (admin_a, admin_b) = (app.signed_in(&a.email, &a.password).await, app.signed_in(&b.email, &b.password).await);
    admin_a.ok("save_autotask_connection", &connection(USERNAME, SECRET, "")).await;
    admin_b.ok("save_autotask_connection", &connection(USERNAME, SECRET, "")).await;
    for _ in 0..20 {
        assert_eq!(admin_a.ok("test_autotask_connection", &[]).await["ok"], true);
    }
    let (status, e) = admin_a.err("test_autotask_connection", &[]).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(matches!(&e, app::error::AppError::TooManyAttempts(m) if m.contains("Test connection") && m.contains("Try again in")), "{e:?}");
    assert_eq!(admin_b.ok("test_autotask_connection", &[]).await["ok"], true, "partner B has its own allowance");
}

/// Pages carry a Content-Security-Policy whose nonce is on every inline script (and no
/// other inline script runs); every response says nosniff, no framing and same-origin
/// referrers; HSTS is sent when the site is served over https.
async fn every_response_carries_the_security_headers(backend: Backend) {
    let app = crate::helpers::spawn(backend).await;
    let page = app.browser().get("/signin").await;
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_string();
    for part in ["script-src 'self' 'nonce-", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'"] {
        assert!(csp.contains(part), "{csp} lacks {part}");
    }
    let nonce = csp.split("'nonce-").nth(1).and_then(|rest| rest.split('\'').next()).unwrap().to_string();
    for (name, value) in [("x-content-type-options", "nosniff"), ("x-frame-options", "DENY"), ("referrer-policy", "same-origin")] {
        assert_eq!(page.headers()[name], value, "{name}");
    }
    assert!(page.headers().get("strict-transport-security").is_none(), "no HSTS over plain http");
    let html = page.text().await.unwrap();
    let scripts: Vec<&str> = html.split("<script").skip(1).map(|s| s.split('>').next().unwrap_or("")).collect();
    assert!(!scripts.is_empty(), "the page hydrates with scripts");
    for attributes in scripts {
        assert!(attributes.contains(&format!("nonce=\"{nonce}\"")), "an inline script without this response's nonce: <script{attributes}>");
    }
    let again = app.browser().get("/signin").await.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert_ne!(again, csp, "a new nonce per response");
    let (status, api) = {
        let r = reqwest::Client::new().get(app.url("/api/v1/health")).send().await.unwrap();
        (r.status(), r.headers().clone())
    };
    assert!(status.is_success(), "{status}");
    assert_eq!(api["x-content-type-options"], "nosniff");
    assert_eq!(api["content-security-policy"], "default-src 'none'; frame-ancestors 'none'");
    let https = spawn_with(backend, Options { public_url: Some("https://taskbridge.example".into()), ..Options::default() }).await;
    let page = https.browser().get("/signin").await;
    assert!(page.headers()["strict-transport-security"].to_str().unwrap().starts_with("max-age="));
}
