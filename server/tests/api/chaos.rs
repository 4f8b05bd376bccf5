//! The dispatcher's chaos run: 5,000 events over 100 incidents in five waves, Autotask
//! failing in every way it can (5xx, 429, timeouts, writes applied but answered as
//! failed), and the `taskbridge serve` doing the work killed with SIGKILL mid-way and
//! started again. Afterwards: exactly one ticket per incident, every repeat counted in
//! exactly one note, every recovery completing its ticket once.

use crate::helpers::{both_databases, set_faults, Backend};
use crate::tickets::world;
use crate::world::World;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant};

both_databases!(five_thousand_events_under_faults_and_a_sigkill_give_exactly_once_tickets_notes_and_completions,);

const CUSTOMERS: usize = 10;
const DEVICES: usize = 10;
const WAVES: usize = 5;
const PER_WAVE: usize = 10;

/// The repeats a note counts: "Repeated N×" notes, and the recovery note's "It had
/// failed N more times" / "once more".
fn repeats_counted(note: &Value) -> i64 {
    let title = note["title"].as_str().unwrap_or_default();
    if let Some(n) = title.strip_prefix("Repeated ") {
        return n.trim_end_matches('\u{00d7}').parse().unwrap_or_else(|_| panic!("{note}"));
    }
    let text = note["description"].as_str().unwrap_or_default();
    if text.contains("It had failed once more") {
        return 1;
    }
    text.split("It had failed ").nth(1).and_then(|rest| rest.split(' ').next()).and_then(|n| n.parse().ok()).unwrap_or(0)
}

async fn pending(w: &World) -> i64 {
    sqlx::query_scalar("select count(*) from event where dispatch_state = 'pending'").fetch_one(&w.app.state.db.pool).await.unwrap()
}

async fn wait_until_idle(w: &World, started: Instant) {
    while pending(w).await > 0 {
        assert!(started.elapsed() < Duration::from_secs(110), "still {} pending after {:?}", pending(w).await, started.elapsed());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn five_thousand_events_under_faults_and_a_sigkill_give_exactly_once_tickets_notes_and_completions(backend: Backend) {
    let mut w = world(backend).await;
    // The in-process server takes the events; a child process dispatches them.
    w.app.stop_dispatcher();
    for c in 0..CUSTOMERS {
        w.mapped_customer(&format!("c{c}"), &format!("Chaos Customer {c}")).await;
    }
    w.rule(json!({})).await;
    w.settings(json!({"note_interval_minutes": 0})).await;
    set_faults(
        w.sandbox_running(),
        json!({"latency_ms": 10, "rate_5xx": 0.1, "rate_429": 0.05, "rate_timeout": 0.03, "timeout_ms": 300, "rate_lost_write": 0.05}),
    );
    let refs: Vec<String> = (0..CUSTOMERS).map(|c| format!("c{c}")).collect();
    let devices: Vec<String> = (0..DEVICES).map(|d| format!("DEV{d}")).collect();
    let started = Instant::now();
    let (mut child, _) = w.app.spawn_serve().await;
    let mut killed = false;
    for wave in 0..WAVES {
        let mut events = Vec::new();
        for _ in 0..PER_WAVE {
            for c in &refs {
                for d in &devices {
                    events.push((c.as_str(), d.as_str(), "backup_failed"));
                }
            }
        }
        if wave == WAVES - 1 {
            // The last event of every incident is its recovery.
            let tail = events.len() - refs.len() * devices.len();
            for e in &mut events[tail..] {
                e.2 = "backup_ok";
            }
        }
        for chunk in events.chunks(1_000) {
            w.post(chunk).await;
        }
        if wave == 2 {
            // SIGKILL mid-wave, then start again while the wave is still waiting.
            let wave_size = (PER_WAVE * refs.len() * devices.len()) as i64;
            while pending(&w).await > wave_size * 2 / 3 {
                assert!(started.elapsed() < Duration::from_secs(100), "no progress before the kill");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            child.kill().unwrap();
            let _ = child.wait();
            killed = true;
            child = w.app.spawn_serve().await.0;
        }
        wait_until_idle(&w, started).await;
    }
    assert!(killed);
    w.settle().await;
    child.kill().unwrap();
    let _ = child.wait();
    let took = started.elapsed();
    set_faults(w.sandbox_running(), json!({}));

    let tickets = w.tickets().await;
    let mut externals: Vec<&str> = tickets.iter().map(|t| t["externalID"].as_str().unwrap()).collect();
    externals.sort_unstable();
    externals.dedup();
    let incidents = CUSTOMERS * DEVICES;
    let reopened: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "select incident_key, state, problem from incident where incident_key in \
         (select incident_key from incident group by incident_key having count(*) > 1) order by incident_key, incident_id",
    )
    .fetch_all(&w.app.state.db.pool)
    .await
    .unwrap();
    assert_eq!((tickets.len(), externals.len()), (incidents, incidents), "exactly one ticket per incident; incidents opened again: {reopened:?}");
    let mut by_ticket: HashMap<i64, Vec<Value>> = HashMap::new();
    {
        let tenant = w.sandbox_running().sandbox.read();
        for n in tenant.rows("TicketNotes").into_iter().flat_map(|rows| rows.values()) {
            by_ticket.entry(n["ticketID"].as_i64().unwrap()).or_default().push(json!(n));
        }
    }
    let mut counted = 0;
    for t in &tickets {
        let notes = by_ticket.remove(&t["id"].as_i64().unwrap()).unwrap_or_default();
        let resolved = notes.iter().filter(|n| n["title"] == "Resolved by Taskbridge").count();
        assert_eq!(resolved, 1, "one recovery note per ticket: {notes:?}");
        assert_eq!(t["status"], 5, "every ticket completed: {t}");
        counted += notes.iter().map(repeats_counted).sum::<i64>();
    }
    let repeats = (WAVES * PER_WAVE - 2) * incidents;
    assert_eq!(counted, repeats as i64, "every repeat counted in exactly one note");
    let states: Vec<(String, i64)> = sqlx::query_as("select dispatch_state, count(*) from event group by dispatch_state order by dispatch_state")
        .fetch_all(&w.app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(states, [("completed".to_string(), 100), ("noted".to_string(), repeats as i64), ("opened".to_string(), 100)]);
    eprintln!("chaos_events: {}", WAVES * PER_WAVE * incidents);
    eprintln!("chaos_s: {:.1}", took.as_secs_f64());
    assert!(took < Duration::from_secs(120), "the chaos run took {took:?}");
}
