//! Several instances working one large partner at once: each takes its own customers for
//! a round, all of them together within Autotask's thread limit, and every incident
//! still gets exactly one ticket.

use crate::helpers::{both_databases, set_faults, Backend};
use crate::tickets::world;
use serde_json::json;
use server::workers::dispatcher::{DispatchOptions, Dispatcher};
use std::time::Duration;

both_databases!(two_instances_work_one_partner_at_once_within_the_thread_limit);

/// Two dispatchers (two holders, as two processes would be) on one partner while backup
/// events keep arriving for 8 customers: both handle events, the sandbox never sees more
/// than 3 concurrent calls per entity nor refuses one, and each of the 160 incidents has
/// one ticket.
async fn two_instances_work_one_partner_at_once_within_the_thread_limit(backend: Backend) {
    let mut w = world(backend).await;
    w.app.stop_dispatcher();
    let customers: Vec<String> = (0..8).map(|c| format!("c{c}")).collect();
    for c in &customers {
        w.mapped_customer(c, &format!("Customer {c}")).await;
    }
    w.rule(json!({})).await;
    w.settings(json!({"note_interval_minutes": 0})).await;
    set_faults(w.sandbox_running(), json!({"latency_ms": 100}));
    let base = w.sandbox_running().base_url().to_string();
    reqwest::Client::new().post(format!("{base}/_sandbox/stats/reset")).send().await.unwrap();
    let s = &w.app.state;
    let opts = DispatchOptions { lanes: 4, ..Default::default() };
    let first = Dispatcher::new(s.db.clone(), s.connections.clone(), s.dispatch_wake.clone(), opts.clone());
    let second = Dispatcher::new(s.db.clone(), s.connections.clone(), s.dispatch_wake.clone(), opts);
    let (a, b) = (first.spawn(), second.spawn());

    // 20 waves, 300 ms apart: each a new device for every customer, and a repeat of the
    // previous wave's.
    let mut posted = 0;
    for wave in 0..20 {
        let device = format!("WS{wave:02}");
        let previous = format!("WS{:02}", wave.max(1) - 1);
        let mut events: Vec<(&str, &str, &str)> = customers.iter().map(|c| (c.as_str(), device.as_str(), "backup_failed")).collect();
        if wave > 0 {
            events.extend(customers.iter().map(|c| (c.as_str(), previous.as_str(), "backup_failed")));
        }
        posted += events.len() as u64;
        w.post(&events).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    for _ in 0..3_000 {
        if first.handled() + second.handled() >= posted {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    w.settle().await;
    let mut claims = -1;
    for _ in 0..300 {
        claims = sqlx::query_scalar("select count(*) from dispatch_claim").fetch_one(&w.app.state.db.pool).await.unwrap();
        if claims == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(claims, 0, "idle instances give their customers back");
    a.stop();
    b.stop();
    let (by_first, by_second) = (first.handled(), second.handled());
    eprintln!("shared_partner_handled: {by_first} + {by_second} of {posted}");
    assert_eq!(by_first + by_second, posted, "every event handled once");
    assert!(by_first > 0 && by_second > 0, "both instances worked the partner: {by_first} and {by_second}");

    let tickets = w.tickets().await;
    let mut externals: Vec<&str> = tickets.iter().map(|t| t["externalID"].as_str().unwrap()).collect();
    externals.sort_unstable();
    externals.dedup();
    assert_eq!((tickets.len(), externals.len()), (160, 160), "exactly one ticket per incident");
    let stats: serde_json::Value = reqwest::get(format!("{base}/_sandbox/stats")).await.unwrap().json().await.unwrap();
    assert!(stats["peak_concurrency"].as_object().unwrap().values().all(|p| p.as_u64() <= Some(3)), "{stats}");
    assert_eq!(stats["thread_limit_rejections"], 0, "{stats}");
}
