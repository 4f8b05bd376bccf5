//! `taskbridge bench ...`: benchmarks that print their figures as `name: value` lines.

use crate::autotask::entities::{Company, Contact};
use crate::autotask::{AutotaskClient, ClientOptions, Credentials, Query};
use anyhow::Context;
use std::time::{Duration, Instant};

/// `taskbridge bench discover`: fetch every company and contact from a sandbox with
/// per-call latency, and compare the wall time with the thread-limit bound
/// `ceil(pages / 3) × latency`.
pub async fn discover(companies: usize, contacts: usize, latency_ms: u64) -> anyhow::Result<()> {
    let generated = Instant::now();
    let config = sandbox::SandboxConfig {
        seed: 1,
        companies,
        contacts,
        faults: sandbox::faults::Faults { latency_ms, ..Default::default() },
        ..sandbox::SandboxConfig::default()
    };
    let sb = sandbox::start(config, "127.0.0.1:0".parse()?).await?;
    eprintln!("sandbox with {companies} companies and {contacts} contacts ready in {:.1} s", generated.elapsed().as_secs_f64());
    let client = AutotaskClient::new(
        Credentials { username: sandbox::api::USERNAME.into(), secret: sandbox::api::SECRET.into(), integration_code: sandbox::api::INTEGRATION_CODE.into() },
        ClientOptions { discovery_url: format!("{}/ATServicesRest/", sb.base_url()), timeout: Duration::from_secs(60), ..ClientOptions::default() },
    )?;
    let started = Instant::now();
    // Companies and contacts are separate thread-limit buckets, so they run side by side.
    let (all_companies, all_contacts) = tokio::join!(client.fetch_all::<Company>(vec![]), client.fetch_all::<Contact>(vec![]));
    let wall = started.elapsed();
    let all_companies = all_companies.context("fetching companies")?;
    let all_contacts = all_contacts.context("fetching contacts")?;
    let expected_companies = client.count("Companies", &Query::new([])).await?;
    let expected_contacts = client.count("Contacts", &Query::new([])).await?;
    anyhow::ensure!(all_companies.len() as i64 == expected_companies, "fetched {} companies of {expected_companies}", all_companies.len());
    anyhow::ensure!(all_contacts.len() as i64 == expected_contacts, "fetched {} contacts of {expected_contacts}", all_contacts.len());
    let (calls, retries, _) = client.counters();
    let calls = calls - 2; // the two verification counts above are not part of the fetch
    let stats = sb.sandbox.limits.stats();
    let peak = stats.peak_concurrency.values().copied().max().unwrap_or(0);
    let pages = all_companies.len().div_ceil(500) + all_contacts.len().div_ceil(500);
    let limit = Duration::from_millis(latency_ms) * pages.div_ceil(3) as u32;
    println!("companies: {}", all_companies.len());
    println!("contacts: {}", all_contacts.len());
    println!("pages: {pages}");
    println!("wall_s: {:.3}", wall.as_secs_f64());
    println!("calls: {calls}");
    println!("retries: {retries}");
    println!("peak_concurrency: {peak}");
    println!("peak_concurrency_all_entities: {}", stats.peak_concurrency_overall);
    println!("thread_limit_rejections: {}", stats.thread_limit_rejections);
    println!("limit_s: {:.3}", limit.as_secs_f64());
    println!("ratio_to_limit: {:.3}", wall.as_secs_f64() / limit.as_secs_f64().max(1e-9));
    sb.stop().await;
    Ok(())
}
