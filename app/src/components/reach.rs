//! How to reach an Autotask company, as shown under its name on the Companies page and
//! the Customer Map.

use leptos::prelude::*;

/// A company's phone and web site under its name, as Autotask has them. The web site is
/// a link only when it is http(s) or a bare host (given https://); anything else is text.
pub fn company_reach(phone: Option<String>, web: Option<String>) -> Option<AnyView> {
    if phone.is_none() && web.is_none() {
        return None;
    }
    let both = phone.is_some() && web.is_some();
    let site = web.map(|w| {
        match site_href(&w) {
            Some(href) => {
                // The host is what a reader needs; the scheme only takes room.
                let shown = w.split_once("://").map_or(w.as_str(), |(_, rest)| rest).trim_end_matches('/').to_string();
                view! { <a href=href target="_blank" rel="noopener noreferrer">{shown}</a> }.into_any()
            }
            None => view! { <span>{w}</span> }.into_any(),
        }
    });
    Some(
        view! {
            <div class="muted small" data-testid="company-reach">
                {phone.map(|p| view! { <span>{p}</span> })}
                {both.then_some(" \u{00b7} ")}
                {site}
            </div>
        }
        .into_any(),
    )
}

/// Where a company's web site links: http(s) as it is, a bare host with https://, and
/// nothing for any other scheme (a `javascript:` address must never become a link).
pub fn site_href(web: &str) -> Option<String> {
    let web = web.trim();
    let lower = web.to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") {
        Some(web.to_string())
    } else if lower.contains(':') || web.is_empty() {
        None
    } else {
        Some(format!("https://{web}"))
    }
}

#[cfg(test)]
mod tests {
    use super::site_href;

    #[test]
    fn only_web_addresses_become_links() {
        assert_eq!(site_href("https://acme.example").as_deref(), Some("https://acme.example"));
        assert_eq!(site_href("HTTP://acme.example").as_deref(), Some("HTTP://acme.example"));
        assert_eq!(site_href(" www.acme.example ").as_deref(), Some("https://www.acme.example"));
        assert_eq!(site_href("javascript:alert(1)"), None);
        assert_eq!(site_href("JavaScript://%0aalert(1)"), None);
        assert_eq!(site_href("data:text/html,x"), None);
        assert_eq!(site_href(""), None);
    }
}
