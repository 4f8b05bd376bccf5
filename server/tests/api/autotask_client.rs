//! The production Autotask client against the sandbox over real HTTP, through every
//! fault the sandbox can inject.

use sandbox::api::{INTEGRATION_CODE, NO_ACCESS_USERNAME, SECRET, USERNAME};
use sandbox::faults::Faults;
use sandbox::{start, RunningSandbox, SandboxConfig};
use serde_json::{json, Value};
use server::autotask::entities::{Company, Contact, Ticket, TicketNote};
use server::autotask::{AutotaskClient, AutotaskError, ClientOptions, Credentials, Filter, Query};
use std::time::Duration;

async fn sandbox(companies: usize, faults: Faults) -> RunningSandbox {
    let config = SandboxConfig { seed: 11, companies, contacts: companies * 2, faults, ..SandboxConfig::default() };
    start(config, "127.0.0.1:0".parse().unwrap()).await.unwrap()
}

fn client_as(sb: &RunningSandbox, username: &str, secret: &str, code: &str) -> AutotaskClient {
    let opts = ClientOptions {
        discovery_url: format!("{}/ATServicesRest/", sb.base_url()),
        timeout: Duration::from_secs(5),
        backoff_base: Duration::from_millis(10),
        backoff_cap: Duration::from_millis(100),
        ..ClientOptions::default()
    };
    AutotaskClient::new(Credentials::new(username, secret, code), opts).unwrap()
}

fn client(sb: &RunningSandbox) -> AutotaskClient {
    client_as(sb, USERNAME, SECRET, INTEGRATION_CODE)
}

async fn set_faults(sb: &RunningSandbox, faults: Value) {
    crate::helpers::set_faults(sb, faults);
}

async fn sandbox_stats(sb: &RunningSandbox) -> Value {
    reqwest::Client::new().get(format!("{}/_sandbox/stats", sb.base_url())).send().await.unwrap().json().await.unwrap()
}

#[tokio::test]
async fn discovers_the_zone_and_reads_typed_entities() {
    let sb = sandbox(1_300, Faults::default()).await;
    let c = client(&sb);
    let zone = c.zone().await.unwrap();
    assert_eq!(zone.url, format!("{}/ATServicesRest/", sb.base_url()));
    let customers: Vec<Company> = c.query(&Query::new([Filter::eq("companyType", 1), Filter::eq("isActive", true)])).await.unwrap();
    assert!(customers.len() > 800, "{}", customers.len());
    assert!(customers.iter().all(|co| co.company_type == Some(1) && co.is_active == Some(true)));
    assert!(customers.windows(2).all(|w| w[0].id < w[1].id));
    let total = c.count("Companies", &Query::new([])).await.unwrap();
    let everything: Vec<Company> = c.query(&Query::new([])).await.unwrap();
    assert_eq!(everything.len() as i64, total, "id-walk paging loses nothing");
    let contacts: Vec<Contact> = c.fetch_all(vec![Filter::eq("isActive", 1)]).await.unwrap();
    assert!(contacts.iter().all(|ct| ct.is_active == Some(1)));
    // UDFs are read by name.
    let ranked: Vec<Company> = c.query(&Query::new([Filter::exist("Customer Ranking").udf()])).await.unwrap();
    assert!(!ranked.is_empty());
    assert!(ranked.iter().all(|co| server::autotask::entities::udf(&co.user_defined_fields, "customer ranking").is_some()));
    // Long `in` lists are batched at 500.
    let ids: Vec<i64> = everything.iter().map(|co| co.id).take(1_200).collect();
    let mut found = 0;
    for f in server::autotask::query::in_batches("id", &ids) {
        found += c.query::<Company>(&Query::new([f])).await.unwrap().len();
    }
    assert_eq!(found, 1_200);
    // Missing records are None; IncludeFields trims the answer.
    assert!(c.get::<Company>(987_654_321).await.unwrap().is_none());
    let page = c.query_page("Companies", &Query::new([Filter::eq("id", 0)]).include(&["companyName"])).await.unwrap();
    assert_eq!(page.items[0].as_object().unwrap().len(), 3, "{:?}", page.items[0]);
}

#[tokio::test]
async fn every_credential_failure_has_its_own_cause() {
    let sb = sandbox(20, Faults::default()).await;
    let cause = |r: Result<i64, AutotaskError>| r.unwrap_err();
    let q = Query::new([]);
    assert_eq!(cause(client_as(&sb, USERNAME, "wrong", INTEGRATION_CODE).count("Companies", &q).await), AutotaskError::WrongSecret);
    assert!(
        matches!(cause(client_as(&sb, "nobody@x.example", SECRET, INTEGRATION_CODE).count("Companies", &q).await), AutotaskError::UnknownUser(u) if u == "nobody@x.example")
    );
    assert_eq!(cause(client_as(&sb, USERNAME, SECRET, "NOT-OURS").count("Companies", &q).await), AutotaskError::BadIntegrationCode);
    assert!(matches!(
        cause(client_as(&sb, NO_ACCESS_USERNAME, SECRET, INTEGRATION_CODE).count("Companies", &q).await),
        AutotaskError::MissingPermission(_)
    ));
    // Nothing listening: unavailable, with the reason.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let opts = ClientOptions {
        discovery_url: format!("http://{addr}/ATServicesRest/"),
        max_attempts: 2,
        backoff_base: Duration::from_millis(5),
        ..ClientOptions::default()
    };
    let unreachable = AutotaskClient::new(Credentials::new(USERNAME, SECRET, INTEGRATION_CODE), opts).unwrap();
    assert!(matches!(unreachable.count("Companies", &q).await.unwrap_err(), AutotaskError::Unavailable(m) if m.contains("could not reach")));
}

#[tokio::test]
async fn transient_failures_are_retried_and_lasting_ones_reported() {
    let sb = sandbox(30, Faults::default()).await;
    let c = client(&sb);
    set_faults(&sb, json!({"rate_5xx": 0.5, "rate_429": 0.2})).await;
    for _ in 0..10 {
        c.count("Companies", &Query::new([])).await.unwrap();
    }
    let (_, retries, _) = c.counters();
    assert!(retries > 0, "the faults must have caused retries");
    set_faults(&sb, json!({"rate_5xx": 1.0})).await;
    assert!(matches!(c.count("Companies", &Query::new([])).await.unwrap_err(), AutotaskError::Unavailable(_)));
    set_faults(&sb, json!({"rate_429": 1.0})).await;
    assert!(matches!(c.count("Companies", &Query::new([])).await.unwrap_err(), AutotaskError::Throttled { .. }));
    set_faults(&sb, json!({"rate_malformed": 1.0})).await;
    assert!(matches!(c.query_page("Companies", &Query::new([])).await.unwrap_err(), AutotaskError::Malformed(_)));
    // A hung call times out (the client's own timeout) rather than waiting forever.
    set_faults(&sb, json!({"rate_timeout": 1.0, "timeout_ms": 5_000})).await;
    let impatient = AutotaskClient::new(
        Credentials::new(USERNAME, SECRET, INTEGRATION_CODE),
        ClientOptions {
            discovery_url: format!("{}/ATServicesRest/", sb.base_url()),
            timeout: Duration::from_millis(300),
            max_attempts: 2,
            backoff_base: Duration::from_millis(5),
            ..ClientOptions::default()
        },
    )
    .unwrap();
    assert!(matches!(impatient.count("Companies", &Query::new([])).await.unwrap_err(), AutotaskError::Timeout(_)));
}

#[tokio::test]
async fn creates_are_never_retried_blindly() {
    let sb = sandbox(30, Faults::default()).await;
    let c = client(&sb);
    let company = c.query::<Company>(&Query::new([Filter::eq("companyType", 1), Filter::eq("isActive", true)]).max_records(1)).await.unwrap()[0].id;
    c.zone().await.unwrap();
    reqwest::Client::new().post(format!("{}/_sandbox/stats/reset", sb.base_url())).send().await.unwrap();
    set_faults(&sb, json!({"rate_5xx": 1.0})).await;
    let body = json!({"companyID": company, "title": "Backup failed", "status": 1, "priority": 2, "queueID": 29683354, "dueDateTime": "2030-01-01T00:00:00Z"});
    assert!(c.create("Tickets", &body).await.is_err());
    assert_eq!(sandbox_stats(&sb).await["requests"]["Tickets"], 1, "one POST, no blind retry");
}

#[tokio::test]
async fn a_moved_zone_is_rediscovered_once() {
    let sb = sandbox(20, Faults::default()).await;
    let c = client(&sb);
    c.count("Companies", &Query::new([])).await.unwrap();
    set_faults(&sb, json!({"zone_moved": true})).await;
    c.count("Companies", &Query::new([])).await.unwrap();
    let (_, _, discoveries) = c.counters();
    assert_eq!(discoveries, 2);
}

#[tokio::test]
async fn parallel_fetches_stay_within_the_thread_limit() {
    let sb = sandbox(3_000, Faults { latency_ms: 20, ..Faults::default() }).await;
    let c = client(&sb);
    let all: Vec<Company> = c.fetch_all(vec![]).await.unwrap();
    let count = c.count("Companies", &Query::new([])).await.unwrap();
    assert_eq!(all.len() as i64, count);
    let mut ids: Vec<i64> = all.iter().map(|co| co.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), all.len(), "no record twice");
    let stats = sandbox_stats(&sb).await;
    assert_eq!(stats["peak_concurrency"]["Companies"], 3, "{stats}");
    assert_eq!(stats["thread_limit_rejections"], 0);
}

#[tokio::test]
async fn tickets_notes_and_picklists_round_trip() {
    let sb = sandbox(30, Faults::default()).await;
    let c = client(&sb);
    let queues = c.picklist("Tickets", "queueID").await.unwrap();
    let alerts = queues.iter().find(|q| q.label == "Managed Services Alerts").unwrap();
    assert!(queues.iter().any(|q| !q.is_active));
    let statuses = c.picklist("Tickets", "status").await.unwrap();
    assert!(statuses.iter().any(|s| s.value == "1" && s.label == "New") && statuses.iter().any(|s| s.value == "5" && s.label == "Complete"));
    let company = c.query::<Company>(&Query::new([Filter::eq("companyType", 1), Filter::eq("isActive", true)]).max_records(1)).await.unwrap()[0].id;
    let ticket_id = c
        .create("Tickets", &json!({"companyID": company, "title": "Backup failed: FS01", "status": 1, "priority": 2, "queueID": alerts.value.parse::<i64>().unwrap(), "dueDateTime": "2030-01-01T00:00:00Z", "externalID": "tb:1:fs01:backup_failed", "contactID": null}))
        .await
        .unwrap();
    c.create_child(
        "Tickets",
        ticket_id,
        "Notes",
        "TicketNotes",
        &json!({"title": "Repeated", "description": "Failed 3 more times", "noteType": 1, "publish": 1}),
    )
    .await
    .unwrap();
    c.patch("Tickets", &json!({"id": ticket_id, "status": 5})).await.unwrap();
    let ticket: Ticket = c.get(ticket_id).await.unwrap().unwrap();
    assert_eq!(ticket.status, Some(5));
    assert!(ticket.completed_date.is_some());
    let notes: Vec<TicketNote> = c.query(&Query::new([Filter::eq("ticketID", ticket_id)])).await.unwrap();
    assert_eq!(notes.len(), 1);
    let by_external: Vec<Ticket> = c.query(&Query::new([Filter::eq("externalID", "tb:1:fs01:backup_failed")])).await.unwrap();
    assert_eq!(by_external[0].id, ticket_id);
    // Refused data says why.
    let refused = c
        .create(
            "Tickets",
            &json!({"companyID": company, "title": "x", "status": 1, "priority": 2, "queueID": 29683357, "dueDateTime": "2030-01-01T00:00:00Z"}),
        )
        .await
        .unwrap_err();
    assert!(matches!(refused, AutotaskError::InvalidData(ref m) if m.contains("inactive")), "{refused:?}");
    let t = c.threshold().await.unwrap();
    assert_eq!(t.external_request_threshold, 10_000);
    assert!(t.current_timeframe_request_count > 0);
}

#[tokio::test]
async fn the_client_slows_down_as_the_hourly_budget_fills() {
    let config = SandboxConfig { seed: 11, companies: 10, contacts: 10, hourly_threshold: 24, ..SandboxConfig::default() };
    let sb = start(config, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let opts = ClientOptions { discovery_url: format!("{}/ATServicesRest/", sb.base_url()), threshold_check_every: 1, ..ClientOptions::default() };
    let c = AutotaskClient::new(Credentials::new(USERNAME, SECRET, INTEGRATION_CODE), opts).unwrap();
    async fn timed(c: &AutotaskClient) -> Duration {
        let started = std::time::Instant::now();
        c.count("Companies", &Query::new([])).await.unwrap();
        started.elapsed()
    }
    // Under half the budget: no pacing.
    assert!(timed(&c).await < Duration::from_millis(200));
    for _ in 0..5 {
        c.count("Companies", &Query::new([])).await.unwrap();
    }
    // Past half of it (each count also reads ThresholdInformation): the client waits
    // before calling, so Autotask never has to refuse it.
    let t = c.threshold().await.unwrap();
    assert!(t.current_timeframe_request_count * 2 >= t.external_request_threshold, "{t:?}");
    assert!(timed(&c).await >= Duration::from_millis(250));
}
