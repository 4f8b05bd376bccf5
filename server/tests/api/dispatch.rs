//! The dispatcher under faults and crashes, beyond one ticket per incident: every repeat
//! counted in exactly one note whatever fails when.

use crate::helpers::{both_databases, set_faults, Backend};
use crate::tickets::world;
use crate::world::World;
use serde_json::{json, Value};
use server::workers::dispatcher::{DispatchOptions, Dispatcher};
use std::sync::Arc;
use std::time::Duration;

both_databases!(a_note_whose_answer_was_lost_is_counted_once_after_an_outage, a_note_written_just_before_a_sigkill_is_counted_once,);

/// The sum of the "Repeated N×" notes on a ticket.
fn counted(notes: &[Value]) -> i64 {
    notes.iter().filter_map(|n| n["title"].as_str()?.strip_prefix("Repeated ")?.trim_end_matches('\u{00d7}').parse::<i64>().ok()).sum()
}

/// A dispatcher of the test's own, driven with `try_run_once`.
fn dispatcher(w: &World) -> Arc<Dispatcher> {
    let s = &w.app.state;
    Dispatcher::new(s.db.clone(), s.connections.clone(), s.dispatch_wake.clone(), DispatchOptions::default())
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
    for _ in 0..2_000 {
        if counted(&w.notes_in_sandbox(ticket_id)) > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    panic!("no repeat note reached Autotask");
}

async fn states(w: &World) -> Vec<String> {
    crate::tickets::states(&w.outcomes().await).into_iter().map(str::to_string).collect()
}

/// 5 repeats → "Repeated 5×" is written but its answer is lost → Autotask then answers
/// 5xx and dispatch pauses → 3 more repeats arrive → after the outage Autotask shows
/// exactly 8 repeats (the lost note is found, the 3 get a note of their own).
async fn a_note_whose_answer_was_lost_is_counted_once_after_an_outage(backend: Backend) {
    let mut w = world(backend).await;
    w.app.stop_dispatcher();
    w.mapped_customer("c1", "Acme Dental").await;
    w.rule(json!({})).await;
    w.settings(json!({"note_interval_minutes": 0})).await;
    let d = dispatcher(&w);
    w.post(&[("c1", "FS01", "backup_failed")]).await;
    drain(&d).await;
    let ticket_id = w.tickets().await[0]["id"].as_i64().unwrap();

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
    w.app.sql("update dispatch_lease set retry_at = null").await;
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
    let addr: std::net::SocketAddr =
        format!("127.0.0.1:{}", std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()).parse().unwrap();
    let mut child = w.app.serve_command(addr).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).spawn().unwrap();
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
    // The dead process's lease has not run out yet; this test is about the notes.
    w.app.sql("update dispatch_lease set expires_at = 0").await;
    drain(&dispatcher(&w)).await;
    let notes = w.notes(ticket_id).await;
    assert_eq!(counted(&notes), 8, "8 repeats sent, 8 counted: {notes:?}");
    assert!(states(&w).await[1..].iter().all(|s| s == "noted"), "{:?}", states(&w).await);
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
