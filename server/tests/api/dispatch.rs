//! The dispatcher under faults and crashes, beyond one ticket per incident: every repeat
//! counted in exactly one note whatever fails when, work taken over in seconds, lanes in
//! parallel within the thread limit, and notes written while a backlog waits.

use crate::helpers::{both_databases, set_faults, Backend};
use crate::tickets::world;
use crate::world::World;
use serde_json::{json, Value};
use server::workers::dispatcher::{DispatchOptions, Dispatcher};
use std::sync::Arc;
use std::time::Duration;

both_databases!(
    a_note_whose_answer_was_lost_is_counted_once_after_an_outage,
    a_note_written_just_before_a_sigkill_is_counted_once,
    a_recovery_whose_answer_was_lost_is_not_taken_for_a_note_or_a_technicians_close,
    another_instance_takes_over_a_killed_ones_work_within_10_s,
    independent_incidents_go_in_parallel_within_the_thread_limit,
    notes_fall_due_while_a_backlog_waits,
    a_customer_whose_company_is_gone_does_not_hold_up_the_others,
    a_held_customer_waits_alone_and_goes_again_when_its_hold_lapses,
    dispatch_resumes_within_seconds_of_autotask_answering_again,
);

fn event_query() -> Value {
    json!({"query": {"search": "", "event_type": "", "severity": "", "outcome": "", "page": 1, "per_page": 50}})
}

/// The sum of the "Repeated N×" notes on a ticket.
fn counted(notes: &[Value]) -> i64 {
    notes.iter().filter_map(|n| n["title"].as_str()?.strip_prefix("Repeated ")?.trim_end_matches('\u{00d7}').parse::<i64>().ok()).sum()
}

/// A dispatcher of the test's own (a fresh name), driven with `try_run_once`.
fn dispatcher(w: &World) -> Arc<Dispatcher> {
    dispatcher_with(w, DispatchOptions::default())
}

fn dispatcher_with(w: &World, opts: DispatchOptions) -> Arc<Dispatcher> {
    let s = &w.app.state;
    Dispatcher::new(s.db.clone(), s.connections.clone(), s.dispatch_wake.clone(), opts)
}

async fn count(w: &World, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&w.app.state.db.pool).await.unwrap()
}

async fn handled(w: &World) -> i64 {
    count(w, "select count(*) from event where dispatch_state <> 'pending'").await
}

/// The sandbox's call statistics, read over HTTP as any client would.
async fn sandbox_stats(w: &World) -> Value {
    reqwest::Client::new().get(format!("{}/_sandbox/stats", w.sandbox_running().base_url())).send().await.unwrap().json().await.unwrap()
}

/// Runs passes until nothing is left (at most 20).
async fn drain(d: &Dispatcher) {
    for _ in 0..20 {
        if d.try_run_once().await.unwrap() == 0 {
            return;
        }
    }
    panic!("the dispatcher still had work after 20 passes");
}

/// Waits until the sandbox holds a "Repeated" note on the ticket (read in-process, so
/// the sandbox's faults do not apply to the test).
async fn note_lands(w: &World, ticket_id: i64) {
    note_lands_when(w, ticket_id, "repeat", |notes| counted(notes) > 0).await;
}

/// Waits until the ticket's notes in the sandbox satisfy `landed` (`what` names it).
async fn note_lands_when(w: &World, ticket_id: i64, what: &str, landed: impl Fn(&[Value]) -> bool) {
    for _ in 0..2_000 {
        if landed(&w.notes_in_sandbox(ticket_id)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    panic!("no {what} note reached Autotask");
}

/// A partner whose one customer has an open ticket (notes due at once), dispatched by a
/// dispatcher of the test's own: the world, the dispatcher and the ticket.
async fn with_open_ticket(backend: Backend) -> (World, Arc<Dispatcher>, i64) {
    let mut w = world(backend).await;
    w.app.stop_dispatcher();
    w.mapped_customer("c1", "Acme Dental").await;
    w.rule(json!({})).await;
    w.settings(json!({"note_interval_minutes": 0})).await;
    let d = dispatcher(&w);
    w.post(&[("c1", "FS01", "backup_failed")]).await;
    drain(&d).await;
    let ticket_id = w.tickets().await[0]["id"].as_i64().unwrap();
    (w, d, ticket_id)
}

async fn states(w: &World) -> Vec<String> {
    crate::tickets::states(&w.outcomes().await).into_iter().map(str::to_string).collect()
}

/// 5 repeats → "Repeated 5×" is written but its answer is lost → Autotask then answers
/// 5xx and dispatch pauses → 3 more repeats arrive → after the outage Autotask shows
/// exactly 8 repeats (the lost note is found, the 3 get a note of their own).
async fn a_note_whose_answer_was_lost_is_counted_once_after_an_outage(backend: Backend) {
    let (w, d, ticket_id) = with_open_ticket(backend).await;

    w.post(&[("c1", "FS01", "backup_failed"); 5]).await;
    set_faults(w.sandbox_running(), json!({"rate_lost_write": 1.0}));
    let run = tokio::spawn({
        let d = d.clone();
        async move { d.try_run_once().await }
    });
    note_lands(&w, ticket_id).await;
    set_faults(w.sandbox_running(), json!({"rate_5xx": 1.0}));
    run.await.unwrap().unwrap();
    assert_eq!(counted(&w.notes_in_sandbox(ticket_id)), 5, "the note is in Autotask");
    assert_eq!(states(&w).await[1..], ["coalesced"; 5], "but not recorded: its answer was lost and the retries failed");

    w.post(&[("c1", "FS01", "backup_failed"); 3]).await;
    set_faults(w.sandbox_running(), json!({}));
    w.app.sql("update dispatch_pause set retry_at = null").await;
    drain(&d).await;
    let notes = w.notes(ticket_id).await;
    assert_eq!(counted(&notes), 8, "8 repeats sent, 8 counted: {notes:?}");
    assert_eq!(w.tickets().await.len(), 1);
    assert!(states(&w).await[1..].iter().all(|s| s == "noted"), "{:?}", states(&w).await);
}

/// A `taskbridge serve` killed with SIGKILL right after Autotask saved a repeat note and
/// before it was recorded; 3 more repeats arrive while it is down. After a restart
/// Autotask shows exactly the 8 repeats.
async fn a_note_written_just_before_a_sigkill_is_counted_once(backend: Backend) {
    let mut w = world(backend).await;
    // The in-process server takes the events; the child process dispatches them.
    w.app.stop_dispatcher();
    w.mapped_customer("c1", "Acme Dental").await;
    w.rule(json!({})).await;
    w.settings(json!({"note_interval_minutes": 0})).await;
    let (mut child, _) = w.app.spawn_serve().await;
    w.post(&[("c1", "FS01", "backup_failed")]).await;
    let db = &w.app.state.db;
    let mut ticket_id = None;
    for _ in 0..600 {
        ticket_id = sqlx::query_scalar::<_, Option<i64>>("select ticket_id from incident").fetch_optional(&db.pool).await.unwrap().flatten();
        if ticket_id.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ticket_id = ticket_id.expect("the child process opened the ticket");

    // Every write's answer is lost: the note lands, the process hears a failure and waits
    // before it looks; it dies in that window.
    set_faults(w.sandbox_running(), json!({"rate_lost_write": 1.0}));
    w.post(&[("c1", "FS01", "backup_failed"); 5]).await;
    note_lands(&w, ticket_id).await;
    child.kill().unwrap();
    let _ = child.wait();
    set_faults(w.sandbox_running(), json!({}));
    let marker: Option<String> = sqlx::query_scalar("select write_marker from incident").fetch_one(&db.pool).await.unwrap();
    assert!(marker.is_some_and(|m| m.starts_with("taskbridge-note-")), "killed between the write and its record");
    assert_eq!(counted(&w.notes_in_sandbox(ticket_id)), 5);

    w.post(&[("c1", "FS01", "backup_failed"); 3]).await;
    // The dead process's successor on its data directory: its lease is ours at once.
    drain(&dispatcher_with(&w, DispatchOptions { instance_dir: Some(w.app.data_dir().to_path_buf()), ..Default::default() })).await;
    let notes = w.notes(ticket_id).await;
    assert_eq!(counted(&notes), 8, "8 repeats sent, 8 counted: {notes:?}");
    assert!(states(&w).await[1..].iter().all(|s| s == "noted"), "{:?}", states(&w).await);
}

/// A recovery writes its note, the answer is lost and Autotask then fails: the incident
/// keeps its counted repeats (their note is due) and the recovery's marker. The notes
/// phase must leave it to the recovery — writing "Repeated N×" over it counted the
/// repeats twice, and a completion landed but unheard looked like a technician's close,
/// which opened a second ticket for the same incident (the chaos run's 110 tickets).
async fn a_recovery_whose_answer_was_lost_is_not_taken_for_a_note_or_a_technicians_close(backend: Backend) {
    let (w, d, ticket_id) = with_open_ticket(backend).await;

    let mut events = vec![("c1", "FS01", "backup_failed"); 3];
    events.push(("c1", "FS01", "backup_ok"));
    w.post(&events).await;
    set_faults(w.sandbox_running(), json!({"rate_lost_write": 1.0}));
    let run = tokio::spawn({
        let d = d.clone();
        async move { d.try_run_once().await }
    });
    note_lands_when(&w, ticket_id, "recovery", |notes| notes.iter().any(|n| n["title"] == "Resolved by Taskbridge")).await;
    set_faults(w.sandbox_running(), json!({"rate_5xx": 1.0}));
    run.await.unwrap().unwrap();
    let marker: Option<String> = sqlx::query_scalar("select write_marker from incident").fetch_one(&w.app.state.db.pool).await.unwrap();
    assert!(marker.is_some_and(|m| m.starts_with("taskbridge-recovery-")), "the recovery was attempted and not recorded");
    let db = &w.app.state.db;
    let far = server::db::now_ms() + 3_600_000;
    assert!(
        server::db::dispatch::notes_due(db, w.partner.partner_id, "test", far).await.unwrap().is_empty(),
        "a recovery in flight is no note's business"
    );
    assert!(!server::db::dispatch::any_note_due(db, w.partner.partner_id, "test", far).await.unwrap());

    set_faults(w.sandbox_running(), json!({}));
    w.app.sql("update dispatch_pause set retry_at = null").await;
    w.app.sql("delete from dispatch_hold").await;
    drain(&d).await;
    let notes = w.notes(ticket_id).await;
    let resolved: Vec<&Value> = notes.iter().filter(|n| n["title"] == "Resolved by Taskbridge").collect();
    assert_eq!(resolved.len(), 1, "one recovery note: {notes:?}");
    assert!(resolved[0]["description"].as_str().unwrap().contains("It had failed 3 more times"), "{}", resolved[0]);
    assert_eq!(counted(&notes), 0, "the 3 repeats are counted in the recovery note only: {notes:?}");
    let tickets = w.tickets().await;
    assert_eq!(tickets.len(), 1, "no second ticket: {tickets:?}");
    assert_eq!(tickets[0]["status"], 5);
    assert_eq!(states(&w).await, ["opened", "noted", "noted", "noted", "completed"]);
}

/// Three customers' incidents (12 devices, 3 events each) and a `taskbridge serve`
/// killed with SIGKILL in the middle of them: a second instance (another name) takes the
/// work over within 10 s, and every incident still has exactly one ticket.
async fn another_instance_takes_over_a_killed_ones_work_within_10_s(backend: Backend) {
    let mut w = world(backend).await;
    w.app.stop_dispatcher();
    for c in 0..3 {
        w.mapped_customer(&format!("c{c}"), &format!("Customer {c}")).await;
    }
    w.rule(json!({})).await;
    w.settings(json!({"note_interval_minutes": 0})).await;
    set_faults(w.sandbox_running(), json!({"latency_ms": 150}));
    let (mut child, _) = w.app.spawn_serve().await;
    let mut events = Vec::new();
    for _ in 0..3 {
        for c in ["c0", "c1", "c2"] {
            for d in ["FS01", "FS02", "FS03", "FS04"] {
                events.push((c, d, "backup_failed"));
            }
        }
    }
    w.post(&events).await;
    for _ in 0..400 {
        if handled(&w).await >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    child.kill().unwrap();
    let killed = std::time::Instant::now();
    let _ = child.wait();
    let before = handled(&w).await;
    assert!((4..36).contains(&before), "killed mid-work: {before} of 36 handled");

    let second = dispatcher(&w).spawn();
    let mut took_over = None;
    for _ in 0..1_500 {
        if handled(&w).await > before {
            took_over = Some(killed.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let took_over = took_over.expect("the second instance never took over");
    eprintln!("takeover_ms: {}", took_over.as_millis());
    assert!(took_over <= Duration::from_secs(10), "took over after {took_over:?}");
    w.settle().await;
    second.stop();
    let tickets = w.tickets().await;
    let mut externals: Vec<&str> = tickets.iter().map(|t| t["externalID"].as_str().unwrap()).collect();
    externals.sort_unstable();
    externals.dedup();
    assert_eq!((tickets.len(), externals.len()), (12, 12), "exactly one ticket per incident");
    assert_eq!(handled(&w).await, 36);
}

/// 24 new incidents at once: they are opened several at a time, never more than
/// Autotask's 3 per entity, and the sandbox refuses nothing.
async fn independent_incidents_go_in_parallel_within_the_thread_limit(backend: Backend) {
    let mut w = world(backend).await;
    w.app.stop_dispatcher();
    for c in 0..4 {
        w.mapped_customer(&format!("c{c}"), &format!("Customer {c}")).await;
    }
    w.rule(json!({})).await;
    let refs = ["c0", "c1", "c2", "c3"];
    let devices = ["FS01", "FS02", "FS03", "FS04", "FS05", "FS06"];
    let events: Vec<(&str, &str, &str)> = refs.iter().flat_map(|c| devices.iter().map(move |d| (*c, *d, "backup_failed"))).collect();
    w.post(&events).await;
    set_faults(w.sandbox_running(), json!({"latency_ms": 100}));
    reqwest::Client::new().post(format!("{}/_sandbox/stats/reset", w.sandbox_running().base_url())).send().await.unwrap();
    let started = std::time::Instant::now();
    drain(&dispatcher(&w)).await;
    let took = started.elapsed();
    let stats = sandbox_stats(&w).await;
    assert_eq!(w.tickets().await.len(), 24);
    let peak = stats["peak_concurrency"]["Tickets"].as_u64().unwrap_or_else(|| panic!("{stats}"));
    assert!((2..=3).contains(&peak), "tickets written {peak} at a time: {stats}");
    assert!(stats["peak_concurrency"].as_object().unwrap().values().all(|p| p.as_u64() <= Some(3)), "{stats}");
    assert_eq!(stats["thread_limit_rejections"], 0, "{stats}");
    // One at a time, 24 creates of 100 ms would take 2.4 s on their own.
    assert!(took < Duration::from_millis(2_000), "24 tickets took {took:?}");
}

/// With a backlog of new incidents waiting (rounds of 5 events, 100 ms per call), an
/// open incident's repeats are noted when they fall due, not once the backlog is gone.
async fn notes_fall_due_while_a_backlog_waits(backend: Backend) {
    let mut w = world(backend).await;
    w.app.stop_dispatcher();
    w.mapped_customer("c1", "Acme Dental").await;
    w.mapped_customer("c2", "Birch Logistics").await;
    w.rule(json!({})).await;
    w.settings(json!({"note_interval_minutes": 0})).await;
    let d = dispatcher_with(&w, DispatchOptions { batch: 5, ..Default::default() });
    w.post(&[("c1", "FS01", "backup_failed")]).await;
    drain(&d).await;
    let ticket_id = w.tickets().await[0]["id"].as_i64().unwrap();
    w.post(&[("c1", "FS01", "backup_failed"); 3]).await;
    let devices: Vec<String> = (0..40).map(|i| format!("WS{i:02}")).collect();
    let backlog: Vec<(&str, &str, &str)> = devices.iter().map(|d| ("c2", d.as_str(), "backup_failed")).collect();
    w.post(&backlog).await;
    set_faults(w.sandbox_running(), json!({"latency_ms": 100}));
    let run = tokio::spawn({
        let d = d.clone();
        async move { d.try_run_once().await }
    });
    note_lands(&w, ticket_id).await;
    let waiting = count(&w, "select count(*) from event where dispatch_state = 'pending'").await;
    assert!(waiting > 0, "the note came only after the backlog");
    run.await.unwrap().unwrap();
    assert_eq!(counted(&w.notes(ticket_id).await), 3);
    assert_eq!(w.tickets().await.len(), 41);
}

/// A customer whose Autotask company was deactivated: its events fail with the reason,
/// and the other customer's tickets, queued behind them, open as usual.
async fn a_customer_whose_company_is_gone_does_not_hold_up_the_others(backend: Backend) {
    let mut w = world(backend).await;
    w.app.stop_dispatcher();
    let (_, gone) = w.mapped_customer("c1", "Acme Dental").await;
    w.mapped_customer("c2", "Birch Logistics").await;
    w.rule(json!({})).await;
    w.autotask().patch("Companies", &json!({"id": gone, "isActive": false})).await.unwrap();
    let mut events = vec![("c1", "FS01", "backup_failed"), ("c1", "FS02", "backup_failed")];
    events.extend([("c2", "FS01", "backup_failed"), ("c2", "FS02", "backup_failed")]);
    w.post(&events).await;
    drain(&dispatcher(&w)).await;
    let notes: Vec<String> = sqlx::query_scalar("select dispatch_note from event order by event_id").fetch_all(&w.app.state.db.pool).await.unwrap();
    assert_eq!(states(&w).await, ["failed", "failed", "opened", "opened"], "{notes:?}");
    assert!(notes[0].contains("companyID of type: Company does not exist or is invalid"), "{notes:?}");
    assert_eq!(w.tickets().await.len(), 2);

    // The round is a run with the two refused events as its failed lines.
    let run = w.admin.ok_json("list_runs", &json!({"query": {"kind": "tickets"}})).await["rows"][0].clone();
    assert_eq!((run["done"].as_i64(), run["failed"].as_i64(), run["outcome"].as_str()), (Some(2), Some(2), Some("Partial")), "{run}");
    let id = run["run_id"].to_string();
    let detail = w.admin.ok("get_run", &[("run_id", &id)]).await;
    assert_eq!(detail["lines"].as_array().unwrap().len(), 2, "{detail}");
    assert!(detail["lines"][0]["reason"].as_str().unwrap().contains("Autotask refused the ticket"), "{detail}");
    assert_eq!(detail["retryable"], true);

    // The company active again, Retry failed sends just those events back: the next round
    // opens their tickets, as a run linked to the first.
    w.autotask().patch("Companies", &json!({"id": gone, "isActive": true})).await.unwrap();
    let started = w.admin.ok("retry_run", &[("run_id", &id)]).await;
    assert_eq!(started["requeued"], 2, "{started}");
    drain(&dispatcher(&w)).await;
    assert_eq!(states(&w).await, ["opened", "opened", "opened", "opened"]);
    assert_eq!(w.tickets().await.len(), 4);
    let retry = w.admin.ok_json("list_runs", &json!({"query": {"kind": "tickets"}})).await["rows"][0].clone();
    assert_eq!((retry["retry_of"].to_string(), retry["done"].as_i64(), retry["outcome"].as_str()), (id.clone(), Some(2), Some("Ok")), "{retry}");
    let detail = w.admin.ok("get_run", &[("run_id", &id)]).await;
    assert_eq!((detail["retried_by"].clone(), detail["retryable"].clone()), (retry["run_id"].clone(), json!(false)), "{detail}");
    let again = w.admin.err("retry_run", &[("run_id", &id)]).await.1;
    assert!(again.to_string().contains("already retried"), "{again:?}");
}

/// A customer held back (its work kept failing while others went through): its events
/// wait, the other customer's go, the Event log and the Overview say who and why, and
/// once the hold lapses its events go too and the hold is gone.
async fn a_held_customer_waits_alone_and_goes_again_when_its_hold_lapses(backend: Backend) {
    let mut w = world(backend).await;
    w.app.stop_dispatcher();
    let (held, _) = w.mapped_customer("c1", "Acme Dental").await;
    w.mapped_customer("c2", "Birch Logistics").await;
    w.rule(json!({})).await;
    let far = server::db::now_ms() + 3_600_000;
    w.app.sql(&format!("insert into dispatch_hold (partner_id, customer_id, retry_at, failures, last_error, since) select partner_id, customer_id, {far}, 3, 'Autotask refused the data: a test reason', 1 from customer where customer_id = {held}")).await;
    w.post(&[("c1", "FS01", "backup_failed"), ("c2", "FS01", "backup_failed")]).await;
    let d = dispatcher(&w);
    drain(&d).await;
    assert_eq!(states(&w).await, ["pending", "opened"]);
    let page = w.admin.ok_json("list_events", &event_query()).await;
    assert_eq!(page["held"][0]["customer"], "Acme Dental", "{page}");
    assert_eq!(page["held"][0]["reason"], "Autotask refused the data: a test reason");
    assert_eq!(page["pending"], 1);
    let overview = w.admin.ok("get_overview", &[]).await;
    assert_eq!(overview["dispatch"]["held"], 1, "{overview}");

    w.app.sql("update dispatch_hold set retry_at = 0").await;
    drain(&d).await;
    assert_eq!(states(&w).await, ["opened", "opened"]);
    assert_eq!(count(&w, "select count(*) from dispatch_hold").await, 0, "the hold is let go once its work went through");
}

/// An outage pauses dispatch with a long backoff (60 s here); Autotask is probed every
/// few seconds meanwhile, so the ticket opens within seconds of the recovery. While
/// paused, the Event log and the Overview say so, why, and since when.
async fn dispatch_resumes_within_seconds_of_autotask_answering_again(backend: Backend) {
    let mut w = world(backend).await;
    w.app.stop_dispatcher();
    w.mapped_customer("c1", "Acme Dental").await;
    w.rule(json!({})).await;
    let running = dispatcher_with(&w, DispatchOptions { first_backoff: Duration::from_secs(60), ..Default::default() }).spawn();
    set_faults(w.sandbox_running(), json!({"rate_5xx": 1.0}));
    w.post(&[("c1", "FS01", "backup_failed")]).await;
    let mut page = Value::Null;
    for _ in 0..300 {
        page = w.admin.ok_json("list_events", &event_query()).await;
        if page["problem"].is_string() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(page["problem"].as_str().is_some_and(|p| p.contains("Autotask is unavailable")), "{page}");
    let now = server::db::now_ms();
    assert!(page["paused_since"].as_i64().is_some_and(|t| t <= now && t > now - 60_000), "{page}");
    assert!(page["retry_at"].as_i64().is_some_and(|t| t > now + 30_000), "a long backoff: {page}");
    let overview = w.admin.ok("get_overview", &[]).await;
    assert!(overview["dispatch"]["problem"].is_string(), "{overview}");
    assert_eq!(overview["dispatch"]["pending"], 1);

    set_faults(w.sandbox_running(), json!({}));
    let recovered = std::time::Instant::now();
    for _ in 0..300 {
        if states(&w).await == ["opened"] {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let took = recovered.elapsed();
    eprintln!("resumed_after_outage_ms: {}", took.as_millis());
    assert_eq!(states(&w).await, ["opened"]);
    assert!(took < Duration::from_secs(10), "resumed {took:?} after Autotask answered again");
    // The round that went through clears the pause once it ends.
    let mut overview = Value::Null;
    for _ in 0..100 {
        overview = w.admin.ok("get_overview", &[]).await;
        if overview["dispatch"]["problem"].is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    running.stop();
    assert_eq!(overview["dispatch"]["problem"], Value::Null, "{overview}");
}

impl World {
    /// A ticket's notes read from the sandbox in-process (faults do not apply).
    fn notes_in_sandbox(&self, ticket_id: i64) -> Vec<Value> {
        let tenant = self.sandbox_running().sandbox.read();
        tenant
            .rows("TicketNotes")
            .map(|rows| rows.values().filter(|n| n.get("ticketID") == Some(&json!(ticket_id))).map(|n| json!(n)).collect())
            .unwrap_or_default()
    }
}
