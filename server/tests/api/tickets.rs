//! Tickets from events against the sandbox: one ticket per incident, repeats as notes,
//! completion on recovery, rules (types, OK events, customers), Do not map, unmapped
//! customers, technicians taking over, faults (429, 5xx, timeouts, lost answers) with
//! exactly one ticket per incident, SIGKILL mid-dispatch, and two instances.

use crate::helpers::{both_databases, Backend};
use crate::world::World;
use app::error::AppError;
use sandbox::SandboxConfig;
use serde_json::{json, Value};
use server::autotask::query::{Filter, Query};
use std::time::Duration;

both_databases!(
    an_incident_opens_one_ticket_notes_repeats_and_completes_on_recovery,
    rules_choose_types_ok_events_and_customers,
    do_not_map_and_unmapped_customers_keep_events_as_not_sent,
    a_technicians_ticket_is_not_overwritten,
    settings_come_from_the_partners_picklists_and_a_test_ticket_round_trips,
    faults_delay_tickets_but_never_duplicate_or_lose_them,
    a_process_killed_mid_dispatch_loses_and_duplicates_nothing,
    one_pass_of_the_dispatcher_handles_everything_waiting,
);

mod shared_database {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_instances_share_the_work_and_handle_each_event_once() {
        super::two_instances_share_the_work_and_handle_each_event_once(crate::helpers::Backend::Postgres).await
    }
}

const OWNER: i64 = 29_682_885;
const MSA_QUEUE: i64 = 29_683_354;

pub(crate) async fn world(backend: Backend) -> World {
    World::new(backend, "Tickets", Some(SandboxConfig { seed: 5, companies: 5, contacts: 5, ..SandboxConfig::default() })).await
}

impl World {
    /// A customer registered by the platform (`ref`), linked to a new Autotask company.
    pub(crate) async fn mapped_customer(&self, reference: &str, name: &str) -> (i64, i64) {
        let company = self
            .autotask()
            .create("Companies", &json!({"companyName": name, "companyType": 1, "ownerResourceID": OWNER, "isActive": true, "countryID": 237}))
            .await
            .unwrap();
        let customer = self.customer(reference, name).await;
        self.admin.ok_json("save_customer_map", &json!({"changes": [{"op": "link", "customer_id": customer, "company_id": company}]})).await;
        (customer, company)
    }

    pub(crate) async fn customer(&self, reference: &str, name: &str) -> i64 {
        let r = reqwest::Client::new()
            .post(self.app.url("/api/v1/customers"))
            .bearer_auth(&self.token)
            .json(&json!({"customers": [{"ref": reference, "name": name}]}))
            .send()
            .await
            .unwrap();
        let body: Value = r.json().await.unwrap();
        body["results"][0]["customer_id"].as_i64().unwrap()
    }

    pub(crate) async fn rule(&self, rule: Value) -> Value {
        let mut full = json!({"action": "ticket", "subscribe_ok": false, "all_types": true, "event_types": [], "customer_ids": [], "complete_on_recovery": true});
        for (k, v) in rule.as_object().unwrap() {
            full[k] = v.clone();
        }
        self.admin.ok_json("save_rule", &json!({"rule_id": null, "rule": full})).await
    }

    pub(crate) async fn settings(&self, change: Value) -> Value {
        let mut s = self.admin.ok("get_ticket_settings", &[]).await;
        for (k, v) in change.as_object().unwrap() {
            s[k] = v.clone();
        }
        self.admin.ok_json("save_ticket_settings", &json!({ "settings": s })).await
    }

    /// Posts events `(customer ref, device, type)`; ids are unique per call.
    pub(crate) async fn post(&self, events: &[(&str, &str, &str)]) -> Value {
        let list: Vec<Value> = events
            .iter()
            .map(|(c, d, t)| {
                let n = self.seq.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let severity = if t.ends_with("_ok") || *t == "agent_online" { "ok" } else { "error" };
                json!({"id": format!("e{n}"), "customer_ref": c, "device": d, "type": t, "severity": severity, "message": format!("message {n}"), "occurred_at": "2026-11-22T03:00:00Z"})
            })
            .collect();
        let r = reqwest::Client::new()
            .post(self.app.url("/api/v1/events"))
            .bearer_auth(&self.token)
            .json(&json!({ "events": list }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }

    /// Waits until every event is handled, no note is due and no round is in progress
    /// (a round holds its customers until its run is recorded).
    pub(crate) async fn settle(&self) {
        for _ in 0..600 {
            let busy: i64 = sqlx::query_scalar(
                "select (select count(*) from event where dispatch_state = 'pending') + (select count(*) from incident where state = 'open' and note_due_at is not null) \
                 + (select count(*) from incident where ticket_id is not null and ticket_number is null) + (select count(*) from dispatch_claim)",
            )
            .fetch_one(&self.app.state.db.pool)
            .await
            .unwrap();
            if busy == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let problem: Option<String> =
            sqlx::query_scalar("select last_error from dispatch_pause").fetch_optional(&self.app.state.db.pool).await.unwrap().flatten();
        let left: (i64, i64, i64, i64, i64) = sqlx::query_as(
            "select (select count(*) from event where dispatch_state = 'pending'), (select count(*) from incident where state = 'open' and note_due_at is not null), \
             (select count(*) from incident where ticket_id is not null and ticket_number is null), (select count(*) from dispatch_claim), \
             (select count(*) from dispatch_hold)",
        )
        .fetch_one(&self.app.state.db.pool)
        .await
        .unwrap();
        panic!("events were not dispatched within 60 s (pending, notes due, numbers missing, customers claimed, customers held: {left:?}); last problem: {problem:?}");
    }

    /// (sender's id, outcome, ticket number) of every event, in order.
    pub(crate) async fn outcomes(&self) -> Vec<(String, String, Option<String>)> {
        sqlx::query_as("select external_id, dispatch_state, ticket_number from event order by event_id")
            .fetch_all(&self.app.state.db.pool)
            .await
            .unwrap()
    }

    pub(crate) async fn tickets(&self) -> Vec<Value> {
        self.autotask().query_all_raw("Tickets", &Query::new([Filter::begins_with("externalID", "taskbridge-incident-")])).await.unwrap()
    }

    pub(crate) async fn notes(&self, ticket_id: i64) -> Vec<Value> {
        self.autotask().query_all_raw("TicketNotes", &Query::new([Filter::eq("ticketID", ticket_id)])).await.unwrap()
    }
}

pub(crate) fn states(outcomes: &[(String, String, Option<String>)]) -> Vec<&str> {
    outcomes.iter().map(|o| o.1.as_str()).collect()
}

async fn an_incident_opens_one_ticket_notes_repeats_and_completes_on_recovery(backend: Backend) {
    let w = world(backend).await;
    let (_, company) = w.mapped_customer("c1", "Acme Dental").await;
    w.rule(json!({})).await;
    w.settings(json!({"subject_prefix": "[Backup]", "note_interval_minutes": 0})).await;

    w.post(&[("c1", "FS01", "backup_failed")]).await;
    w.settle().await;
    let tickets = w.tickets().await;
    assert_eq!(tickets.len(), 1);
    let t = &tickets[0];
    assert_eq!(t["companyID"], company);
    assert_eq!(t["title"], "[Backup] Acme Dental: Backup failed on FS01");
    assert_eq!(
        (t["queueID"].as_i64(), t["priority"].as_i64(), t["status"].as_i64()),
        (Some(MSA_QUEUE), Some(2), Some(1)),
        "defaults: Managed Services Alerts, Medium, New"
    );
    assert!(t["description"].as_str().unwrap().contains("message 0"));
    let number = t["ticketNumber"].as_str().unwrap().to_string();
    assert_eq!(w.outcomes().await[0], ("e0".into(), "opened".into(), Some(number.clone())));

    // Repeats (and the same device in other letter case) become notes, never a second ticket.
    w.post(&[("c1", "FS01", "backup_failed"), ("c1", "fs01", "backup_failed"), ("c1", "FS01", "backup_failed")]).await;
    w.settle().await;
    assert_eq!(w.tickets().await.len(), 1);
    let notes = w.notes(t["id"].as_i64().unwrap()).await;
    let repeats: i64 =
        notes.iter().filter_map(|n| n["title"].as_str()?.strip_prefix("Repeated ")?.trim_end_matches('\u{00d7}').parse::<i64>().ok()).sum();
    assert_eq!(repeats, 3, "every repeat is counted in a note: {notes:?}");
    assert!(states(&w.outcomes().await)[1..].iter().all(|s| *s == "noted"));

    // Another device's failure is another incident.
    w.post(&[("c1", "FS02", "backup_failed")]).await;
    w.settle().await;
    assert_eq!(w.tickets().await.len(), 2);

    // Recovery completes FS01's ticket with a resolution note; FS02 stays open.
    w.post(&[("c1", "FS01", "backup_ok")]).await;
    w.settle().await;
    let fs01 = w.autotask().query_all_raw("Tickets", &Query::new([Filter::eq("id", t["id"].clone())])).await.unwrap().remove(0);
    assert_eq!(fs01["status"], 5, "completed");
    assert!(w.notes(t["id"].as_i64().unwrap()).await.iter().any(|n| n["title"] == "Resolved by Taskbridge"));
    assert_eq!(w.outcomes().await.last().unwrap().1, "completed");
    let open: Vec<i64> = w.tickets().await.iter().filter(|t| t["status"] != 5).map(|t| t["id"].as_i64().unwrap()).collect();
    assert_eq!(open.len(), 1);

    // A new failure after completion opens a new ticket.
    w.post(&[("c1", "FS01", "backup_failed")]).await;
    w.settle().await;
    assert_eq!(w.tickets().await.len(), 3);
    // The Overview counts the incidents open now (FS02 and the new FS01), each with its ticket.
    let overview = w.admin.ok("get_overview", &[]).await;
    assert_eq!((overview["open_incidents"].as_i64(), overview["open_tickets"].as_i64()), (Some(2), Some(2)), "{overview}");

    // The event log shows it all, newest first, filterable.
    let page = w
        .admin
        .ok_json("list_events", &json!({"query": {"search": "", "event_type": "", "severity": "", "outcome": "", "page": 1, "per_page": 50}}))
        .await;
    assert_eq!(page["total"], 7);
    assert_eq!(page["rows"][0]["outcome"], "opened");
    assert_eq!(page["pending"], 0);
    let completed = w
        .admin
        .ok_json(
            "list_events",
            &json!({"query": {"search": number, "event_type": "", "severity": "", "outcome": "completed", "page": 1, "per_page": 50}}),
        )
        .await;
    assert_eq!(completed["total"], 1);

    // Each round that did something in Autotask is a "Ticket actions" run: together they
    // count every ticket opened, note written and ticket completed.
    let runs = w.admin.ok_json("list_runs", &json!({"query": {"kind": "tickets"}})).await;
    let rows = runs["rows"].as_array().unwrap();
    let done: i64 = rows.iter().map(|r| r["done"].as_i64().unwrap()).sum();
    let repeat_notes =
        w.notes(t["id"].as_i64().unwrap()).await.iter().filter(|n| n["title"].as_str().is_some_and(|t| t.starts_with("Repeated"))).count();
    assert_eq!(done, 3 + 1 + repeat_notes as i64, "{runs}");
    assert!(rows.iter().all(|r| r["outcome"] == "Ok" && r["started_by"] == "system"), "{runs}");
    // Each names the key its server log lines carry, a different one per round.
    let keys: std::collections::HashSet<&str> = rows.iter().filter_map(|r| r["log_key"].as_str()?.strip_prefix("run_key=")).collect();
    assert_eq!(keys.len(), rows.len(), "{runs}");
    assert!(rows.iter().any(|r| r["summary"] == "1 ticket completed"), "{runs}");
}

/// The worker's `try_run_once`, awaited, with no background loop: what a test (or a
/// one-shot run) calls instead of waiting for the loop to notice the work.
async fn one_pass_of_the_dispatcher_handles_everything_waiting(backend: Backend) {
    let mut w = world(backend).await;
    w.app.stop_dispatcher();
    w.mapped_customer("c1", "Acme Dental").await;
    w.rule(json!({})).await;
    w.post(&[("c1", "FS01", "backup_failed"), ("c1", "FS02", "backup_failed"), ("c1", "FS01", "backup_failed")]).await;
    assert!(states(&w.outcomes().await).iter().all(|s| *s == "pending"), "nothing runs without the loop");

    let state = &w.app.state;
    let dispatcher = server::workers::dispatcher::Dispatcher::new(
        state.db.clone(),
        state.connections.clone(),
        state.dispatch_wake.clone(),
        server::workers::dispatcher::DispatchOptions::default(),
    );
    assert_eq!(dispatcher.try_run_once().await.unwrap(), 1, "one partner had work");
    // The repeat waits for its note: the interval (15 minutes) runs from the ticket's creation.
    assert_eq!(states(&w.outcomes().await), ["opened", "opened", "coalesced"]);
    assert!(w.outcomes().await.iter().take(2).all(|o| o.2.is_some()), "ticket numbers are read in the same pass");
    assert_eq!(w.tickets().await.len(), 2);
    assert_eq!(dispatcher.try_run_once().await.unwrap(), 0, "nothing is left");
}

async fn rules_choose_types_ok_events_and_customers(backend: Backend) {
    let w = world(backend).await;
    let (c1, _) = w.mapped_customer("c1", "Acme Dental").await;
    w.mapped_customer("c2", "Bravo Law").await;
    // Without any rule nothing is sent.
    w.post(&[("c1", "FS01", "backup_failed")]).await;
    w.settle().await;
    assert_eq!(states(&w.outcomes().await), ["ignored"]);
    // Only archiving failures, only for c1; OK events subscribed.
    w.rule(json!({"all_types": false, "event_types": ["archiving_failed"], "customer_ids": [c1], "subscribe_ok": true})).await;
    w.post(&[("c1", "FS01", "backup_failed"), ("c1", "FS01", "archiving_failed"), ("c2", "FS01", "archiving_failed"), ("c1", "NAS", "archiving_ok")])
        .await;
    w.settle().await;
    assert_eq!(
        states(&w.outcomes().await),
        ["ignored", "ignored", "opened", "ignored", "opened"],
        "the OK event of a subscribed type opens an informational ticket"
    );
    assert_eq!(w.tickets().await.len(), 2);
    // A rule that leaves tickets open on recovery: the recovery is noted, not completed.
    w.rule(json!({"all_types": false, "event_types": ["agent_offline"], "complete_on_recovery": false})).await;
    w.post(&[("c2", "PC7", "agent_offline")]).await;
    w.settle().await;
    w.post(&[("c2", "PC7", "agent_online")]).await;
    w.settle().await;
    let last = w.outcomes().await;
    assert_eq!(states(&last[last.len() - 2..]), ["opened", "noted"]);
    let agent = w.tickets().await.into_iter().find(|t| t["title"].as_str().unwrap().contains("Agent offline")).unwrap();
    assert_eq!(agent["status"], 1, "still open");
    // Rules are validated and listed.
    let e = w.admin.err_json("save_rule", &json!({"rule_id": null, "rule": {"action": "ticket", "subscribe_ok": false, "all_types": false, "event_types": [], "customer_ids": [], "complete_on_recovery": true}})).await;
    assert!(matches!(e, AppError::Invalid { ref field, .. } if field == "event_types"), "{e:?}");
    // A second rule that does exactly what one does is refused; so is a second sync rule,
    // which keeps none of the ticket choices sent with it.
    let twin = json!({"action": "ticket", "subscribe_ok": false, "all_types": false, "event_types": ["agent_offline"], "customer_ids": [], "complete_on_recovery": false});
    let e = w.admin.err_json("save_rule", &json!({"rule_id": null, "rule": twin})).await;
    assert!(matches!(&e, AppError::Conflict(m) if m.contains("already does exactly this")), "{e:?}");
    let sync = |customers: Vec<i64>| json!({"rule_id": null, "rule": {"action": "sync", "subscribe_ok": false, "all_types": false, "event_types": ["backup_failed"], "customer_ids": customers, "complete_on_recovery": true}});
    let saved = w.admin.ok_json("save_rule", &sync(vec![c1])).await;
    assert_eq!(
        (saved["input"]["subscribe_ok"].as_bool(), saved["input"]["all_types"].as_bool(), saved["input"]["customer_ids"].as_array().map(Vec::len)),
        (Some(true), Some(true), Some(0)),
        "a sync rule is stored at the seed's Yes, for every customer: {saved}"
    );
    let e = w.admin.err_json("save_rule", &sync(Vec::new())).await;
    assert!(matches!(&e, AppError::Conflict(m) if m.contains("billing pushes are already on")), "{e:?}");
    let rules = w.admin.ok("list_rules", &[]).await;
    assert_eq!(rules.as_array().unwrap().len(), 3);
    assert_eq!(rules[0]["customer_names"], json!(["Acme Dental"]));
}

async fn do_not_map_and_unmapped_customers_keep_events_as_not_sent(backend: Backend) {
    let w = world(backend).await;
    w.mapped_customer("c1", "Acme Dental").await;
    w.customer("c9", "Unmapped Ltd").await;
    w.rule(json!({})).await;
    w.post(&[("c9", "FS01", "backup_failed")]).await;
    w.settle().await;
    let o = w.outcomes().await;
    assert_eq!(o[0].1, "not_sent");
    let note: String = sqlx::query_scalar("select dispatch_note from event where external_id = 'e0'").fetch_one(&w.app.state.db.pool).await.unwrap();
    assert!(note.contains("customer not mapped"), "{note}");
    // The round's run keeps the event back with the reason.
    let run = w.admin.ok_json("list_runs", &json!({"query": {"kind": "tickets"}})).await["rows"][0].clone();
    assert_eq!((run["done"].as_i64(), run["skipped"].as_i64(), run["summary"].as_str()), (Some(0), Some(1), Some("1 event not sent")), "{run}");
    let detail = w.admin.ok("get_run", &[("run_id", &run["run_id"].to_string())]).await;
    let line = &detail["lines"][0];
    assert_eq!((line["customer_name"].as_str(), line["outcome"].as_str()), (Some("Unmapped Ltd"), Some("skipped")), "{detail}");
    assert!(line["reason"].as_str().unwrap().contains("customer not mapped") && line["record"].as_str().unwrap().ends_with("(FS01)"), "{line}");
    assert_eq!(detail["retryable"], false);
    w.settings(json!({"do_not_map": true})).await;
    w.post(&[("c1", "FS01", "backup_failed")]).await;
    w.settle().await;
    assert_eq!(w.outcomes().await[1].1, "not_sent");
    assert!(w.tickets().await.is_empty());
    let e = w.admin.err("send_test_ticket", &[]).await.1;
    assert!(matches!(e, AppError::Invalid { ref field, .. } if field == "queue"), "{e:?}");
    // Back on: the next failure opens a ticket.
    w.settings(json!({"do_not_map": false})).await;
    w.post(&[("c1", "FS01", "backup_failed")]).await;
    w.settle().await;
    assert_eq!(w.tickets().await.len(), 1);
}

async fn a_technicians_ticket_is_not_overwritten(backend: Backend) {
    let w = world(backend).await;
    w.mapped_customer("c1", "Acme Dental").await;
    w.rule(json!({})).await;
    w.settings(json!({"note_interval_minutes": 0})).await;
    w.post(&[("c1", "FS01", "backup_failed"), ("c1", "FS02", "backup_failed")]).await;
    w.settle().await;
    let tickets = w.tickets().await;
    let id = |device: &str| tickets.iter().find(|t| t["title"].as_str().unwrap().ends_with(device)).unwrap()["id"].as_i64().unwrap();
    let (fs01, fs02) = (id("FS01"), id("FS02"));
    // A technician takes FS01 over (In Progress) and completes FS02.
    w.autotask().patch("Tickets", &json!({"id": fs01, "status": 8})).await.unwrap();
    w.autotask().patch("Tickets", &json!({"id": fs02, "status": 5})).await.unwrap();
    w.post(&[("c1", "FS01", "backup_ok")]).await;
    w.settle().await;
    let t = w.autotask().query_all_raw("Tickets", &Query::new([Filter::eq("id", fs01)])).await.unwrap().remove(0);
    assert_eq!(t["status"], 8, "not completed over the technician's status");
    assert!(w.notes(fs01).await.iter().any(|n| n["title"] == "Recovered"));
    // FS02 fails again: its ticket was completed by hand, so a new ticket opens.
    w.post(&[("c1", "FS02", "backup_failed")]).await;
    w.settle().await;
    assert_eq!(w.tickets().await.len(), 3);
    assert_eq!(w.outcomes().await.last().unwrap().1, "opened");
}

async fn settings_come_from_the_partners_picklists_and_a_test_ticket_round_trips(backend: Backend) {
    let w = world(backend).await;
    let defaults = w.admin.ok("get_ticket_settings", &[]).await;
    assert_eq!((defaults["queue"]["label"].as_str(), defaults["priority"]["label"].as_str()), (Some("Managed Services Alerts"), Some("Medium")));
    assert_eq!(
        (defaults["status_new"]["label"].as_str(), defaults["status_complete"]["label"].as_str(), defaults["do_not_map"].as_bool()),
        (Some("New"), Some("Complete"), Some(false))
    );
    let lists = w.admin.ok("retrieve_ticket_picklists", &[]).await;
    let labels = |k: &str| lists[k].as_array().unwrap().iter().map(|o| o["label"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    assert!(labels("queues").contains(&"Level I Support".to_string()));
    assert!(!labels("queues").contains(&"Old Backup Queue".to_string()), "inactive values are left out");
    assert!(!labels("priorities").contains(&"Planning".to_string()));
    assert!(!labels("statuses").contains(&"On Hold (retired)".to_string()));
    // Bad input names the field and keeps what was saved.
    let mut bad = defaults.clone();
    bad["note_interval_minutes"] = json!(5000);
    let e = w.admin.err_json("save_ticket_settings", &json!({ "settings": bad })).await;
    assert!(matches!(e, AppError::Invalid { ref field, .. } if field == "note_interval_minutes"), "{e:?}");
    // A chosen queue and priority are used; the test ticket opens, notes and completes.
    w.settings(json!({"queue": {"id": 29_683_355, "label": "Level I Support"}, "priority": {"id": 1, "label": "High"}})).await;
    let e = w.admin.err("send_test_ticket", &[]).await.1;
    assert!(matches!(e, AppError::Invalid { ref field, .. } if field == "customer_id"), "no mapped customer yet: {e:?}");
    w.mapped_customer("c1", "Acme Dental").await;
    let test = w.admin.ok("send_test_ticket", &[]).await;
    assert_eq!(test["ok"], true, "{test}");
    let ticket = w.autotask().query_all_raw("Tickets", &Query::new([Filter::eq("id", test["ticket_id"].clone())])).await.unwrap().remove(0);
    assert_eq!((ticket["queueID"].as_i64(), ticket["priority"].as_i64(), ticket["status"].as_i64()), (Some(29_683_355), Some(1), Some(5)));
    assert_eq!(w.notes(test["ticket_id"].as_i64().unwrap()).await.len(), 1);
    let run = w.admin.ok_json("list_runs", &json!({"query": {"kind": "test_ticket"}})).await["rows"][0].clone();
    assert_eq!((run["outcome"].as_str(), run["done"].as_i64()), (Some("Ok"), Some(1)), "{run}");
    // A default label the tenant lacks pauses dispatch with the reason; nothing is lost.
    w.settings(json!({"queue": {"id": null, "label": "No Such Queue"}})).await;
    w.rule(json!({})).await;
    w.post(&[("c1", "FS01", "backup_failed")]).await;
    let mut problem = None;
    for _ in 0..100 {
        problem = sqlx::query_scalar::<_, Option<String>>("select last_error from dispatch_pause")
            .fetch_optional(&w.app.state.db.pool)
            .await
            .unwrap()
            .flatten();
        if problem.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(problem.unwrap_or_default().contains("No Such Queue"));
    assert_eq!(states(&w.outcomes().await), ["pending"]);
    let page = w
        .admin
        .ok_json("list_events", &json!({"query": {"search": "", "event_type": "", "severity": "", "outcome": "", "page": 1, "per_page": 50}}))
        .await;
    assert!(page["problem"].as_str().unwrap().contains("No Such Queue"));
    // Fixing the settings resumes at once.
    w.settings(json!({"queue": {"id": MSA_QUEUE, "label": "Managed Services Alerts"}})).await;
    w.settle().await;
    assert_eq!(states(&w.outcomes().await), ["opened"]);
}

async fn faults_delay_tickets_but_never_duplicate_or_lose_them(backend: Backend) {
    let w = world(backend).await;
    for i in 0..4 {
        w.mapped_customer(&format!("c{i}"), &format!("Customer {i}")).await;
    }
    w.rule(json!({})).await;
    w.settings(json!({"note_interval_minutes": 0})).await;
    let faults = json!({"rate_429": 0.15, "rate_5xx": 0.1, "rate_timeout": 0.05, "timeout_ms": 300, "rate_lost_write": 0.3});
    crate::helpers::set_faults(w.sandbox_running(), faults);
    let mut events = Vec::new();
    let refs: Vec<String> = (0..4).map(|i| format!("c{i}")).collect();
    let devices = ["FS01", "FS02", "SQL1"];
    for round in 0..3 {
        for c in &refs {
            for d in devices {
                events.push((c.as_str(), d, if round == 2 && d == "SQL1" { "backup_ok" } else { "backup_failed" }));
            }
        }
    }
    w.post(&events).await;
    w.settle().await;
    crate::helpers::set_faults(w.sandbox_running(), json!({}));
    // 12 incidents, exactly one ticket each; the SQL1 ones completed.
    let tickets = w.tickets().await;
    let mut externals: Vec<String> = tickets.iter().map(|t| t["externalID"].as_str().unwrap().to_string()).collect();
    externals.sort();
    externals.dedup();
    assert_eq!((tickets.len(), externals.len()), (12, 12), "one ticket per incident");
    assert_eq!(tickets.iter().filter(|t| t["status"] == 5).count(), 4);
    let o = w.outcomes().await;
    assert_eq!(o.len(), 36);
    assert!(o.iter().all(|e| ["opened", "noted", "completed"].contains(&e.1.as_str())), "{o:?}");
    // Notes: each incident's repeats counted exactly once, whatever answers were lost.
    for t in &tickets {
        let notes = w.notes(t["id"].as_i64().unwrap()).await;
        let counted: i64 =
            notes.iter().filter_map(|n| n["title"].as_str()?.strip_prefix("Repeated ")?.trim_end_matches('\u{00d7}').parse::<i64>().ok()).sum();
        let resolved = notes.iter().filter(|n| n["title"] == "Resolved by Taskbridge").count();
        if t["title"].as_str().unwrap().ends_with("SQL1") {
            assert_eq!((counted, resolved), (0, 1), "the repeat is counted in the one resolution note: {notes:?}");
        } else {
            assert_eq!((counted, resolved), (2, 0), "both repeats counted, once: {notes:?}");
        }
    }
}

/// A `taskbridge serve` process killed with SIGKILL in the middle of dispatching (some
/// creates answered as lost, some cut off) and started again: every event is handled,
/// every incident has exactly one ticket.
async fn a_process_killed_mid_dispatch_loses_and_duplicates_nothing(backend: Backend) {
    let w = world(backend).await;
    let customers = 3;
    for i in 0..customers {
        w.mapped_customer(&format!("c{i}"), &format!("Customer {i}")).await;
    }
    w.rule(json!({})).await;
    w.settings(json!({"note_interval_minutes": 0})).await;
    let World { sb, app, token, at, .. } = w;
    let (sb, at) = (sb.unwrap(), at.unwrap());
    let faults = json!({"latency_ms": 120, "rate_lost_write": 0.4});
    crate::helpers::set_faults(&sb, faults);
    let database_url = app.state_database_url();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut command = app.serve_command(addr);
    let (_args, _dir) = app.stop().await;
    let db = server::db::Db::connect(&database_url).await.unwrap();
    let mut child = command.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).spawn().unwrap();
    let http = reqwest::Client::new();
    for _ in 0..200 {
        if http.get(format!("http://{addr}/api/v1/health")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut events = Vec::new();
    for round in 0..3 {
        for c in 0..customers {
            for d in ["FS01", "FS02", "FS03"] {
                let (t, severity) = if round == 2 && d == "FS03" { ("backup_ok", "ok") } else { ("backup_failed", "error") };
                events.push(json!({"id": format!("k{round}-{c}-{d}"), "customer_ref": format!("c{c}"), "device": d, "type": t, "severity": severity, "occurred_at": "2026-11-22T03:00:00Z"}));
            }
        }
    }
    let r = http.post(format!("http://{addr}/api/v1/events")).bearer_auth(&token).json(&json!({ "events": events })).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // Kill it while a create is in flight or its answer was lost.
    let mut killed = false;
    for _ in 0..400 {
        let mid: i64 =
            sqlx::query_scalar("select count(*) from incident where create_attempted = 1 and ticket_id is null").fetch_one(&db.pool).await.unwrap();
        let opened: i64 = sqlx::query_scalar("select count(*) from incident where ticket_id is not null").fetch_one(&db.pool).await.unwrap();
        if mid > 0 && opened >= 2 {
            child.kill().unwrap();
            killed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let _ = child.wait();
    assert!(killed, "the dispatcher was never caught mid-create");
    let handled_before: i64 = sqlx::query_scalar("select count(*) from event where dispatch_state <> 'pending'").fetch_one(&db.pool).await.unwrap();
    assert!(handled_before < 27, "killed before the end");
    // Start again: the new process is the dead one's successor (its name is kept in the
    // data directory), so it resumes at once, not after the lease; its incidents resume
    // by externalID.
    let restarted = std::time::Instant::now();
    let mut child = command.spawn().unwrap();
    let mut resumed = None;
    let mut settled = false;
    for _ in 0..600 {
        if resumed.is_none() {
            let handled: i64 = sqlx::query_scalar("select count(*) from event where dispatch_state <> 'pending'").fetch_one(&db.pool).await.unwrap();
            if handled > handled_before {
                resumed = Some(restarted.elapsed());
            }
        }
        let busy: i64 = sqlx::query_scalar("select (select count(*) from event where dispatch_state = 'pending') + (select count(*) from incident where state = 'open' and note_due_at is not null)")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        if busy == 0 {
            settled = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    child.kill().unwrap();
    let _ = child.wait();
    assert!(settled, "the restarted process finished the work");
    let resumed = resumed.expect("work resumed");
    eprintln!("restart_resumed_ms: {}", resumed.as_millis());
    assert!(resumed < Duration::from_secs(4), "the restarted process resumed its own work at once, not after its lease: {resumed:?}");
    let tickets = at.query_all_raw("Tickets", &Query::new([Filter::begins_with("externalID", "taskbridge-incident-")])).await.unwrap();
    let mut externals: Vec<&str> = tickets.iter().map(|t| t["externalID"].as_str().unwrap()).collect();
    externals.sort_unstable();
    externals.dedup();
    assert_eq!((tickets.len(), externals.len()), (9, 9), "exactly one ticket per incident");
    let states: Vec<String> = sqlx::query_scalar("select dispatch_state from event order by event_id").fetch_all(&db.pool).await.unwrap();
    assert_eq!(states.len(), 27);
    assert!(states.iter().all(|s| ["opened", "noted", "completed"].contains(&s.as_str())), "{states:?}");
    assert_eq!(states.iter().filter(|s| *s == "opened").count(), 9);
}

/// Two instances on one PostgreSQL database share the work: each event handled once.
async fn two_instances_share_the_work_and_handle_each_event_once(backend: Backend) {
    let w = world(backend).await;
    for i in 0..4 {
        w.mapped_customer(&format!("c{i}"), &format!("Customer {i}")).await;
    }
    w.rule(json!({})).await;
    w.settings(json!({"note_interval_minutes": 0})).await;
    crate::helpers::set_faults(w.sandbox_running(), json!({"latency_ms": 20}));
    let twin = w.app.twin().await;
    let http = reqwest::Client::new();
    for batch in 0..6 {
        let target = if batch % 2 == 0 { &w.app } else { &twin };
        let events: Vec<Value> = (0..4)
            .flat_map(|c| ["FS01", "FS02"].map(move |d| json!({"id": format!("t{batch}-{c}-{d}"), "customer_ref": format!("c{c}"), "device": d, "type": "backup_failed", "severity": "error", "occurred_at": "2026-11-22T03:00:00Z"})))
            .collect();
        let r = http.post(target.url("/api/v1/events")).bearer_auth(&w.token).json(&json!({ "events": events })).send().await.unwrap();
        assert_eq!(r.status(), 200);
    }
    w.settle().await;
    let tickets = w.tickets().await;
    assert_eq!(tickets.len(), 8, "one ticket per incident across both instances");
    let o = w.outcomes().await;
    assert_eq!(o.len(), 48);
    assert_eq!(o.iter().filter(|e| e.1 == "opened").count(), 8);
    assert!(o.iter().all(|e| e.1 == "opened" || e.1 == "noted"));
    let mut counted = 0;
    for t in &tickets {
        counted += w
            .notes(t["id"].as_i64().unwrap())
            .await
            .iter()
            .filter_map(|n| n["title"].as_str()?.strip_prefix("Repeated ")?.trim_end_matches('\u{00d7}').parse::<i64>().ok())
            .sum::<i64>();
    }
    assert_eq!(counted, 40, "every repeat noted exactly once");
}
