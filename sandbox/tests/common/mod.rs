//! What the sandbox's HTTP tests share: a small sandbox and a client that signs in as the
//! sandbox's API user.
#![allow(dead_code, clippy::unwrap_used)]

use reqwest::{Client, Method, StatusCode};
use sandbox::api::{INTEGRATION_CODE, SECRET, USERNAME};
use sandbox::{start, RunningSandbox, SandboxConfig};
use serde_json::{json, Value};

pub async fn sandbox(companies: usize) -> RunningSandbox {
    let config = SandboxConfig { seed: 7, companies, contacts: companies * 2, ..SandboxConfig::default() };
    start(config, "127.0.0.1:0".parse().unwrap()).await.unwrap()
}

pub struct At {
    pub client: Client,
    pub base: String,
}

impl At {
    pub fn new(sb: &RunningSandbox) -> Self {
        Self { client: Client::new(), base: format!("{}/ATServicesRest/V1.0", sb.base_url()) }
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let url = if path.starts_with("http") { path.to_string() } else { format!("{}{path}", self.base) };
        let mut req =
            self.client.request(method, url).header("ApiIntegrationCode", INTEGRATION_CODE).header("UserName", USERNAME).header("Secret", SECRET);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(body)).await
    }
}

pub fn all() -> Value {
    json!({"filter": [{"op": "gte", "field": "id", "value": 0}]})
}
