//! Request middleware for the console: who is calling (session cookie), where from, and
//! the gatekeeping that applies to every page and server function.
//!
//! - Server functions (`/rpc/*`) must come from this site (Origin check) and, apart from
//!   `app::api::PUBLIC_ENDPOINTS`, from a signed-in user. Role checks stay in each function.
//! - Pages redirect anonymous visitors to `/signin?next=…`.

use crate::state::AppState;
use app::error::AppError;
use app::services::RequestMeta;
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use http::{header, HeaderMap, Method, StatusCode};
use std::net::SocketAddr;

/// Resolves the session and enforces sign-in and same-origin rules.
pub async fn gate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if path.starts_with("/pkg/") || path.starts_with("/api/v1/") || path.starts_with("/hooks/") || path == "/metrics" || path == "/favicon.svg" {
        return next.run(req).await;
    }
    let headers = req.headers();
    let token = session_cookie(headers, state.auth.policy().cookie_name.as_str());
    let meta = RequestMeta {
        client_ip: client_ip(&req, state.web.trust_proxy),
        user_agent: headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("").to_string(),
        session_token: token.clone(),
        secure_cookies: state.web.secure_cookies,
    };
    let user = match token {
        Some(t) => match state.auth.resolve(&t).await {
            Ok(user) => user,
            Err(_) => return (StatusCode::SERVICE_UNAVAILABLE, "The database is unavailable; try again shortly.").into_response(),
        },
        None => None,
    };
    let signed_in = user.is_some();
    if path.starts_with(app::api::PREFIX) && path[app::api::PREFIX.len()..].starts_with('/') {
        if req.method() != Method::GET && !same_origin(req.headers(), state.web.public_origin.as_deref()) {
            tracing::warn!(path, "refused a cross-site server function call");
            return server_fn_error(StatusCode::FORBIDDEN, &AppError::CrossSite);
        }
        if !signed_in && !app::api::PUBLIC_ENDPOINTS.contains(&path.as_str()) {
            return server_fn_error(StatusCode::UNAUTHORIZED, &AppError::Unauthorized);
        }
    } else if req.method() == Method::GET {
        if !signed_in && path != "/signin" {
            let target = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
            return Redirect::to(&format!("/signin?next={}", app::format::encode_query_value(target))).into_response();
        }
        if signed_in && path == "/signin" {
            return Redirect::to("/").into_response();
        }
    }
    req.extensions_mut().insert(meta);
    if let Some(user) = user {
        req.extensions_mut().insert(user);
    }
    let is_server_fn = path.starts_with(app::api::PREFIX);
    let response = next.run(req).await;
    if is_server_fn && response.status() == StatusCode::INTERNAL_SERVER_ERROR {
        return with_error_status(response).await;
    }
    response
}

/// Server functions answer every `Err` with 500; give expected errors (bad input, not
/// allowed, conflict...) their own status so logs and proxies tell them from real faults.
/// The body is unchanged, and the browser decodes any 4xx/5xx the same way.
async fn with_error_status(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 1 << 20).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "The answer could not be read.").into_response();
    };
    if let Ok(error) = serde_json::from_slice::<AppError>(&bytes) {
        parts.status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// An error in the encoding server functions use, so the browser decodes it as `AppError`.
fn server_fn_error(status: StatusCode, error: &AppError) -> Response {
    let body = serde_json::to_string(error).unwrap_or_else(|_| "\"Internal\"".into());
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// The value of the named cookie.
pub fn session_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name && !c.value().is_empty())
        .map(|c| c.value().to_string())
}

fn client_ip(req: &Request, trust_proxy: bool) -> String {
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip());
    let forwarded = if trust_proxy {
        req.headers().get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).collect::<Vec<_>>().join(",")
    } else {
        String::new()
    };
    forwarded_client(&forwarded, peer).map_or_else(|| "unknown".into(), |ip| ip.to_string())
}

/// The client behind trusted proxies: the right-most `X-Forwarded-For` hop that is not an
/// internal address (each proxy appends the address it saw, so the left-most entries are
/// whatever the client chose to send, and internal hops are our own load balancers); the
/// peer when there is none.
fn forwarded_client(forwarded: &str, peer: Option<std::net::IpAddr>) -> Option<std::net::IpAddr> {
    let hops: Vec<std::net::IpAddr> = forwarded.split(',').filter_map(|h| h.trim().parse().ok()).collect();
    hops.iter().rev().find(|ip| !crate::autotask::endpoint::is_internal(**ip)).copied().or_else(|| hops.last().copied()).or(peer)
}

/// A state-changing request is accepted only from this site. Browsers send `Origin` on
/// every cross-origin POST; without it we fall back to `Sec-Fetch-Site`.
pub fn same_origin(headers: &HeaderMap, public_origin: Option<&str>) -> bool {
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        Some(origin) => {
            if let Some(expected) = public_origin {
                return origin.eq_ignore_ascii_case(expected.trim_end_matches('/'));
            }
            let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
                return false;
            };
            origin.eq_ignore_ascii_case(&format!("http://{host}")) || origin.eq_ignore_ascii_case(&format!("https://{host}"))
        }
        None => headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()).is_none_or(|site| site != "cross-site"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_client_is_the_right_most_hop_our_proxies_saw() {
        let peer = Some("10.0.0.2".parse().unwrap_or_else(|e| panic!("{e}")));
        let ip = |s: &str| super::forwarded_client(s, peer).map(|i| i.to_string());
        assert_eq!(ip("1.2.3.4, 81.2.69.160").as_deref(), Some("81.2.69.160"), "a spoofed left-most entry is ignored");
        assert_eq!(ip("1.2.3.4, 81.2.69.161, 10.0.0.9").as_deref(), Some("81.2.69.161"), "internal load balancers are skipped");
        assert_eq!(ip("10.0.0.9").as_deref(), Some("10.0.0.9"));
        assert_eq!(ip("not an address").as_deref(), Some("10.0.0.2"));
        assert_eq!(ip("").as_deref(), Some("10.0.0.2"));
    }

    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let h = headers(&[("cookie", "a=1; tb_session=abc; b=2")]);
        assert_eq!(session_cookie(&h, "tb_session").as_deref(), Some("abc"));
        assert_eq!(session_cookie(&headers(&[("cookie", "tb_session=")]), "tb_session"), None);
    }

    #[test]
    fn same_origin_requests_pass_and_cross_site_ones_do_not() {
        assert!(same_origin(&headers(&[("host", "127.0.0.1:3000"), ("origin", "http://127.0.0.1:3000")]), None));
        assert!(!same_origin(&headers(&[("host", "127.0.0.1:3000"), ("origin", "http://evil.example")]), None));
        assert!(!same_origin(&headers(&[("host", "127.0.0.1:3000"), ("origin", "null")]), None));
        assert!(!same_origin(&headers(&[("sec-fetch-site", "cross-site")]), None));
        assert!(same_origin(&headers(&[]), None));
        assert!(same_origin(&headers(&[("origin", "https://tb.example.com")]), Some("https://tb.example.com/")));
        assert!(!same_origin(&headers(&[("host", "tb.example.com"), ("origin", "http://tb.example.com")]), Some("https://tb.example.com")));
    }
}
