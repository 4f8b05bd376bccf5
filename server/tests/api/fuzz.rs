//! The machine API under malformed input: 1,000 generated bodies to each `/api/v1` route
//! (wrong types in every field, huge and control-character strings, impossible times,
//! deep nesting, invalid UTF-8, 10 MB bodies, 1,001-item batches, other shapes). Every
//! answer is a 4xx JSON error with a code and a message naming the problem (the field,
//! for an item), the server never fails, and nothing already stored changes.

use crate::helpers::{both_databases, Backend};
use crate::world::World;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

both_databases!(malformed_bodies_are_refused_naming_the_problem_and_change_nothing, one_bad_item_of_a_batch_is_reported_as_that_item,);

/// A route, a valid item for it, and each field with a value of the wrong type.
struct Route {
    path: &'static str,
    key: &'static str,
    valid: Value,
    /// (field, a value that is not of its type)
    wrong: Vec<(&'static str, Value)>,
    /// (field, a value of the right type that is refused)
    refused: Vec<(&'static str, Value)>,
}

fn routes() -> Vec<Route> {
    let text_wrong = |f: &'static str| [(f, json!(5)), (f, json!(true)), (f, json!(["a"])), (f, json!({"a": 1}))];
    let events = Route {
        path: "/api/v1/events",
        key: "events",
        valid: json!({"id": "e-1", "customer_ref": "fz-1", "device": "FS01", "job": "Nightly", "type": "backup_failed", "severity": "error", "message": "failed", "occurred_at": "2026-11-22T03:12:00Z"}),
        wrong: ["id", "customer_ref", "device", "job", "type", "severity", "message", "occurred_at"]
            .into_iter()
            .flat_map(text_wrong)
            .chain([("customer_id", json!("12")), ("customer_id", json!(1.5)), ("customer_id", json!(false))])
            .collect(),
        refused: vec![
            ("id", json!("")),
            ("id", json!("x".repeat(100_000))),
            ("device", json!("FS\u{0}01")),
            ("message", json!("x".repeat(5_000))),
            ("message", json!("nul \u{0} inside")),
            ("type", json!("backup_exploded")),
            ("severity", json!("fatal")),
            ("occurred_at", json!("9999-12-31T00:00:00Z")),
            ("occurred_at", json!("1970-01-01T00:00:00Z")),
            ("occurred_at", json!("yesterday")),
        ],
    };
    let usage = Route {
        path: "/api/v1/usage",
        key: "usage",
        valid: json!({"customer_ref": "fz-1", "product": "cloud_storage_gb", "period": "2026-11", "quantity": 10.5, "measured_at": "2026-11-22T02:00:00Z"}),
        wrong: ["customer_ref", "product", "period", "measured_at"]
            .into_iter()
            .flat_map(text_wrong)
            .chain([("quantity", json!("3")), ("quantity", json!(true)), ("quantity", json!([3])), ("customer_id", json!("x"))])
            .collect(),
        refused: vec![
            ("product", json!("gold_bars")),
            ("period", json!("2026-13")),
            ("period", json!("x".repeat(50_000))),
            ("quantity", json!(-1)),
            ("quantity", json!(1e12)),
            ("measured_at", json!("9999-12-31T00:00:00Z")),
            ("measured_at", json!("1999-12-31T23:59:59Z")),
            ("customer_ref", json!("fz\u{1}1")),
        ],
    };
    let customers = Route {
        path: "/api/v1/customers",
        key: "customers",
        valid: json!({"ref": "fz-new", "name": "Fuzz Ltd", "country": "GB"}),
        wrong: ["ref", "name", "country"].into_iter().flat_map(text_wrong).collect(),
        refused: vec![
            ("ref", json!("")),
            ("ref", json!("r".repeat(300))),
            ("name", json!("x".repeat(100_000))),
            ("name", json!("Null\u{0}Corp")),
            ("country", json!("Narnia")),
            ("country", json!("ZZ")),
        ],
    };
    vec![events, usage, customers]
}

fn nested(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

/// One malformed body for `route` and what must be said about it: (bytes, status, field).
fn generate(route: &Route, rng: &mut StdRng) -> (Vec<u8>, u16, Option<String>) {
    let with = |field: &str, value: &Value| {
        let mut item = route.valid.clone();
        item[field] = value.clone();
        item
    };
    match rng.gen_range(0..100) {
        0..=39 => {
            let (field, value) = &route.wrong[rng.gen_range(0..route.wrong.len())];
            (with(field, value).to_string().into_bytes(), 422, Some((*field).to_string()))
        }
        40..=69 => {
            let (field, value) = &route.refused[rng.gen_range(0..route.refused.len())];
            (with(field, value).to_string().into_bytes(), 422, Some((*field).to_string()))
        }
        70..=74 => (nested(rng.gen_range(200..5_000)).into_bytes(), 400, None),
        75..=79 => {
            let mut bytes = route.valid.to_string().into_bytes();
            let at = rng.gen_range(1..bytes.len() - 1);
            bytes.insert(at, 0xff);
            bytes.insert(at, 0xc3);
            (bytes, 400, None)
        }
        80..=84 => {
            let many: Vec<Value> = (0..1_001).map(|_| route.valid.clone()).collect();
            (json!({ route.key: many }).to_string().into_bytes(), 400, None)
        }
        85..=89 => {
            let shape = [json!([route.valid]), json!("events"), json!(42), json!(null), json!({ route.key: "x" }), json!({ route.key: [] })];
            (shape[rng.gen_range(0..shape.len())].to_string().into_bytes(), 400, None)
        }
        90..=94 => {
            let cut = route.valid.to_string();
            (cut.as_bytes()[..rng.gen_range(1..cut.len())].to_vec(), 400, None)
        }
        95..=96 => {
            let mut item = route.valid.clone();
            item["customer_ref"] = json!("fz-1");
            item["customer_id"] = json!(999_999_999);
            if route.key == "customers" {
                (with("country", &json!({"deep": nested(50)})).to_string().into_bytes(), 422, Some("country".into()))
            } else {
                (item.to_string().into_bytes(), 422, Some("customer_id".into()))
            }
        }
        97 => {
            let huge = format!(r#"{{"{}": [{{"name": "{}"}}]}}"#, route.key, "x".repeat(10 * 1024 * 1024));
            (huge.into_bytes(), 413, None)
        }
        _ => {
            let (field, value) = &route.wrong[rng.gen_range(0..route.wrong.len())];
            let batch = json!({ route.key: [route.valid.clone(), with(field, value)] });
            // A batch answers per item (200); this body is refused as a whole instead:
            // the items sit under a key of the wrong type.
            (json!({ route.key: batch[route.key].to_string() }).to_string().into_bytes(), 400, None)
        }
    }
}

async fn post(client: &reqwest::Client, w: &World, path: &str, bytes: Vec<u8>) -> (u16, String) {
    let response = client.post(w.app.url(path)).bearer_auth(&w.token).header("content-type", "application/json").body(bytes).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// POSTs an over-size body over a plain socket: the server answers 413 before reading it
/// all and closes, so an HTTP client sees a broken pipe while this still reads the answer.
async fn raw_post(w: &World, path: &str, bytes: Vec<u8>) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let stream = tokio::net::TcpStream::connect(w.app.addr).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: {}\r\nauthorization: Bearer {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        w.app.addr,
        w.token,
        bytes.len()
    );
    let writer = tokio::spawn(async move {
        let _ = write.write_all(head.as_bytes()).await;
        let _ = write.write_all(&bytes).await;
    });
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), read.read_to_end(&mut answer)).await;
    writer.abort();
    let answer = String::from_utf8_lossy(&answer).to_string();
    let status = answer.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

async fn counts(w: &World) -> (i64, i64, i64) {
    let count = |table: &'static str| async move {
        sqlx::query_scalar::<_, i64>(&format!("select count(*) from {table}")).fetch_one(&w.app.state.db.pool).await.unwrap()
    };
    (count("event").await, count("usage_report").await, count("customer").await)
}

async fn malformed_bodies_are_refused_naming_the_problem_and_change_nothing(backend: Backend) {
    let w = World::new(backend, "Fuzz", None).await;
    w.register(&[("fz-1", "Fuzz Customer")]).await;
    let (status, body) = w.api("/api/v1/events", &routes()[0].valid).await;
    assert_eq!(status, 200, "{body}");
    let before = counts(&w).await;
    let client = reqwest::Client::new();
    let mut rng = StdRng::seed_from_u64(20261202);
    for route in routes() {
        for n in 0..1_000 {
            let (bytes, status, field) = generate(&route, &mut rng);
            let shown = String::from_utf8_lossy(&bytes[..bytes.len().min(120)]).to_string();
            let (got, text) = if status == 413 { raw_post(&w, route.path, bytes).await } else { post(&client, &w, route.path, bytes).await };
            assert_eq!(got, status, "{} #{n}: {shown}", route.path);
            assert!(text.len() < 2_000, "{} #{n}: an error echoes no more than a short prefix: {} bytes", route.path, text.len());
            let answer: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} #{n}: not JSON ({e}): {text}", route.path));
            let code = answer["error"]["code"].as_str().unwrap_or_default();
            assert!(!code.is_empty() && !answer["error"]["message"].as_str().unwrap_or_default().is_empty(), "{answer}");
            if let Some(field) = field {
                assert_eq!(answer["error"]["field"], field.as_str(), "{} #{n}: {shown} → {answer}", route.path);
            }
        }
    }
    assert_eq!(counts(&w).await, before, "nothing stored changed");
    // Unknown routes under /api/v1 answer JSON too.
    let (status, body) = w.api("/api/v1/no-such-route", &json!({})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")));
}

/// In a 1,000-item batch, one item of the wrong shape is that item's answer (naming its
/// position and field); the other 999 are stored.
async fn one_bad_item_of_a_batch_is_reported_as_that_item(backend: Backend) {
    let w = World::new(backend, "Batch", None).await;
    w.register(&[("fz-1", "Fuzz Customer")]).await;
    let mut events: Vec<Value> = (0..1_000)
        .map(|i| json!({"id": format!("b-{i}"), "customer_ref": "fz-1", "device": "FS01", "type": "backup_failed", "severity": "error", "occurred_at": "2026-11-22T03:12:00Z"}))
        .collect();
    events[3]["severity"] = json!(5);
    let (status, body) = w.api("/api/v1/events", &json!({ "events": events })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["accepted"], 999);
    let results = body["results"].as_array().unwrap();
    assert_eq!(results[3]["status"], "invalid");
    assert_eq!(results[3]["error"]["field"], "events[3].severity", "{}", results[3]);
    assert!(results[3]["error"]["message"].as_str().unwrap().contains("expected a string"), "{}", results[3]);
}
