//! Several instances working one large partner at once: each takes its own customers for
//! a round, all of them together within Autotask's thread limit, and every incident
//! still gets exactly one ticket.

use crate::helpers::{both_databases, set_faults, Backend};
use crate::tickets::world;
use serde_json::json;
use server::workers::dispatcher::{DispatchOptions, Dispatcher};
use std::time::Duration;

both_databases!(two_instances_work_one_partner_at_once_within_the_thread_limit, four_instances_share_three_slots_and_none_stalls);

/// Two dispatchers (two holders, as two processes would be) on one partner while backup
/// events keep arriving for 8 customers: both handle events, the sandbox never sees more
/// than 3 concurrent calls per entity nor refuses one, and each of the 160 incidents has
/// one ticket.
async fn two_instances_work_one_partner_at_once_within_the_thread_limit(backend: Backend) {
    let handled = instances_share_one_partner(backend, 2).await;
    assert!(handled.iter().all(|h| *h > 0), "both instances worked the partner: {handled:?}");
}

/// Four instances for three slots of the thread limit, the fourth joining mid-storm ahead
/// of the others in rank: it waits for a slot, and a member already working keeps one
/// when the others rebalance (its calls never wait forever), so the storm drains with
/// every event handled once.
async fn four_instances_share_three_slots_and_none_stalls(backend: Backend) {
    let handled = instances_share_one_partner(backend, 4).await;
    assert!(handled.iter().filter(|h| **h > 0).count() >= 3, "three slots, three instances working: {handled:?}");
}

/// `count` dispatchers on one partner (4 customers each) through 20 waves of events; checks every event
/// handled once, one ticket per incident, the thread limit kept and no claim left, and
/// returns how many events each instance handled.
async fn instances_share_one_partner(backend: Backend, count: usize) -> Vec<u64> {
    let mut w = world(backend).await;
    w.app.stop_dispatcher();
    // Four customers per instance: more than one instance's lanes, so each has work.
    let customers: Vec<String> = (0..4 * count).map(|c| format!("c{c}")).collect();
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
    let dispatchers: Vec<_> =
        (0..count).map(|_| Dispatcher::new(s.db.clone(), s.connections.clone(), s.dispatch_wake.clone(), opts.clone())).collect();
    // With more instances than slots, the one named first (ranked first when the slots
    // are shared out) joins mid-storm, as a restarted instance would: the others' ranks
    // shift while they work.
    let late = count > 3;
    let mut running: Vec<_> = dispatchers.iter().skip(usize::from(late)).map(|d| d.spawn()).collect();
    let handled = || dispatchers.iter().map(|d| d.handled()).collect::<Vec<u64>>();

    // 20 waves, 300 ms apart: each a new device for every customer, and a repeat of the
    // previous wave's.
    let mut posted = 0;
    for wave in 0..20 {
        if late && wave == 5 {
            running.push(dispatchers[0].spawn());
        }
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
        if handled().iter().sum::<u64>() >= posted {
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
    running.iter().for_each(|r| r.stop());
    let handled = handled();
    eprintln!("shared_partner_handled: {handled:?} of {posted}");
    assert_eq!(handled.iter().sum::<u64>(), posted, "every event handled once: {handled:?}");

    let tickets = w.tickets().await;
    let mut externals: Vec<&str> = tickets.iter().map(|t| t["externalID"].as_str().unwrap()).collect();
    externals.sort_unstable();
    externals.dedup();
    let incidents = 20 * customers.len();
    assert_eq!((tickets.len(), externals.len()), (incidents, incidents), "exactly one ticket per incident");
    let stats: serde_json::Value = reqwest::get(format!("{base}/_sandbox/stats")).await.unwrap().json().await.unwrap();
    assert!(stats["peak_concurrency"].as_object().unwrap().values().all(|p| p.as_u64() <= Some(3)), "{stats}");
    assert_eq!(stats["thread_limit_rejections"], 0, "{stats}");
    handled
}
