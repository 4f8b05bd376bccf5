//! Where Autotask calls may go. The partner's API username and secret are sent only to:
//!
//! - `https://` hosts under `autotask.net` (every Autotask zone's REST API is served from
//!   `webservicesN.autotask.net`, which is where ZoneInformation points), on the default
//!   port, with no user name, password, query or fragment in the address;
//! - host names the operator adds with `TASKBRIDGE_AUTOTASK_ALLOWED_HOSTS` (https only);
//! - exactly the origin (scheme, host and port) of the discovery URL the server's own
//!   configuration names: the embedded or a local sandbox, or a test server.
//!
//! The check runs when a partner saves a zone override and again before every request
//! (so a zone stored before, or one ZoneInformation answers, passes the same rule). The
//! resolver below then refuses to connect an allowed name to a loopback, private,
//! link-local, shared or metadata address, unless the name is the configured origin's.

use app::format::excerpt;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::Url;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The domain Autotask serves its zones from.
pub const AUTOTASK_DOMAIN: &str = "autotask.net";

/// The allow-list (see the module comment).
#[derive(Debug, Clone, Default)]
pub struct Destinations {
    configured: Option<(String, String, u16)>,
    extra_hosts: Vec<String>,
}

fn origin(url: &Url) -> Option<(String, String, u16)> {
    Some((url.scheme().to_string(), url.host_str()?.to_ascii_lowercase(), url.port_or_known_default()?))
}

impl Destinations {
    /// The allow-list for a server whose discovery URL is `discovery_url`, plus the
    /// operator's `extra_hosts`.
    pub fn new(discovery_url: &str, extra_hosts: &[String]) -> Self {
        let configured = Url::parse(discovery_url.trim()).ok().as_ref().and_then(origin);
        let extra_hosts = extra_hosts.iter().map(|h| h.trim().trim_end_matches('.').to_ascii_lowercase()).filter(|h| !h.is_empty()).collect();
        Self { configured, extra_hosts }
    }

    /// The configured origin's host, whose addresses may be private (a local sandbox).
    pub fn configured_host(&self) -> Option<&str> {
        self.configured.as_ref().map(|(_, host, _)| host.as_str())
    }

    /// Whether the credentials may be sent to `address`; the reason, in words a partner
    /// admin can act on, when not.
    pub fn check(&self, address: &str) -> Result<Url, String> {
        let url = Url::parse(address.trim()).map_err(|_| format!("\u{201c}{}\u{201d} is not a web address.", excerpt(address, 80)))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err("The zone address must not contain a user name or password.".into());
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err("The zone address must not contain \u{201c}?\u{201d} or \u{201c}#\u{201d}.".into());
        }
        if self.configured.is_some() && origin(&url) == self.configured {
            return Ok(url);
        }
        if url.scheme() != "https" {
            return Err("The zone address must start with https://.".into());
        }
        let Some(host) = url.domain().map(|d| d.trim_end_matches('.').to_ascii_lowercase()) else {
            return Err(not_autotask(url.host_str().unwrap_or("")));
        };
        let autotask = host.len() > AUTOTASK_DOMAIN.len() + 1 && host.ends_with(&format!(".{AUTOTASK_DOMAIN}"));
        if !autotask && !self.extra_hosts.contains(&host) {
            return Err(not_autotask(&host));
        }
        if url.port().is_some() {
            return Err("The zone address must not name a port: Autotask zones are served on https's own.".into());
        }
        Ok(url)
    }
}

fn not_autotask(host: &str) -> String {
    format!(
        "{} is not an Autotask host. Zone addresses are on *.{AUTOTASK_DOMAIN}, e.g. https://webservices3.{AUTOTASK_DOMAIN}/ATServicesRest/; \
         a private Autotask host must be allowed by your Taskbridge operator.",
        excerpt(host, 80)
    )
}

/// Whether an address is one Autotask calls must never reach: loopback, private,
/// link-local (which holds the cloud metadata address 169.254.169.254), shared (CGNAT),
/// unspecified, broadcast, multicast, documentation, benchmarking or reserved, and their
/// IPv6 counterparts (unique local, link-local, IPv4-mapped and NAT64 forms).
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_internal_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal_v4(v4);
            }
            let s = v6.segments();
            if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
                return is_internal_v4(Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8));
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || v6.is_unique_local()
                || v6.is_unicast_link_local()
                || (s[0] == 0x2001 && s[1] == 0x0db8)
                || s[0..7] == [0, 0, 0, 0, 0, 0, 0]
        }
    }
}

fn is_internal_v4(v4: Ipv4Addr) -> bool {
    let [a, b, ..] = v4.octets();
    v4.is_loopback()
        || v4.is_private()
        || v4.is_link_local()
        || v4.is_unspecified()
        || v4.is_broadcast()
        || v4.is_multicast()
        || v4.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && v4.octets()[2] == 0)
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240
}

/// The DNS resolver of the Autotask HTTP client: the system's, minus internal addresses
/// (see [`is_internal`]) for every name but the configured origin's.
#[derive(Debug, Clone, Default)]
pub struct GuardedResolver {
    trusted_host: Option<String>,
}

impl GuardedResolver {
    /// A resolver that lets `trusted_host` (the configured sandbox's) resolve anywhere.
    pub fn new(trusted_host: Option<&str>) -> Self {
        Self { trusted_host: trusted_host.map(str::to_ascii_lowercase) }
    }

    /// The addresses `host` may be reached on.
    pub async fn lookup(&self, host: &str) -> Result<Vec<SocketAddr>, std::io::Error> {
        let all: Vec<SocketAddr> = tokio::net::lookup_host((host, 0)).await?.collect();
        if self.trusted_host.as_deref() == Some(host.to_ascii_lowercase().as_str()) {
            return Ok(all);
        }
        let public: Vec<SocketAddr> = all.into_iter().filter(|a| !is_internal(a.ip())).collect();
        if public.is_empty() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                format!("{host} {}; Autotask calls never go there", super::http::INTERNAL_ONLY),
            ));
        }
        Ok(public)
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let resolver = self.clone();
        Box::pin(async move {
            let addrs = resolver.lookup(name.as_str()).await?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(d: &Destinations, url: &str) -> bool {
        d.check(url).is_ok()
    }

    #[test]
    fn only_autotask_hosts_and_the_configured_origin_pass() {
        let d = Destinations::new("http://127.0.0.1:7000/ATServicesRest/", &["autotask.example.internal".into()]);
        for ok in [
            "https://webservices3.autotask.net/ATServicesRest/",
            "https://webservices24.autotask.net",
            "https://WEBSERVICES5.AUTOTASK.NET/atservicesrest",
            "http://127.0.0.1:7000/ATServicesRest/",
            "https://autotask.example.internal/ATServicesRest/",
        ] {
            assert!(allowed(&d, ok), "{ok}: {:?}", d.check(ok));
        }
        for bad in [
            "http://webservices3.autotask.net/ATServicesRest/",
            "https://autotask.net/",
            "https://evilautotask.net/",
            "https://webservices3.autotask.net.evil.example/",
            "https://webservices3.autotask.net@evil.example/",
            "https://user:pw@webservices3.autotask.net/",
            "https://evil.example/?webservices3.autotask.net",
            "https://evil.example/#.autotask.net",
            "https://webservices3.autotask.net/ATServicesRest/?",
            "https://webservices3.autotask.net/#",
            "https://webservices3.autotask.net:8443/",
            "http://127.0.0.1:7001/ATServicesRest/",
            "https://127.0.0.1:7000/ATServicesRest/",
            "http://localhost:7000/",
            "http://2130706433:7001/",
            "http://[::1]:7000/",
            "https://169.254.169.254/latest/meta-data/",
            "file:///etc/passwd",
            "webservices3.autotask.net",
        ] {
            assert!(!allowed(&d, bad), "{bad} must be refused");
        }
    }

    #[test]
    fn internal_addresses_are_recognised() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "::",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
        ] {
            assert!(is_internal(ip.parse().unwrap_or_else(|e| panic!("{ip}: {e}"))), "{ip}");
        }
        for ip in ["52.165.10.20", "20.62.0.1", "2603:1030::1"] {
            assert!(!is_internal(ip.parse().unwrap_or_else(|e| panic!("{ip}: {e}"))), "{ip}");
        }
    }

    #[tokio::test]
    async fn the_resolver_refuses_names_that_point_inside() {
        let guarded = GuardedResolver::new(Some("127.0.0.1"));
        let refused = guarded.lookup("localhost").await;
        assert!(refused.is_err(), "localhost resolves to loopback only: {refused:?}");
        let trusted = GuardedResolver::new(Some("localhost"));
        assert!(!trusted.lookup("localhost").await.unwrap_or_default().is_empty(), "the configured sandbox's name resolves");
    }
}
