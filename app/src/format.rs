//! Formatting helpers shared by server rendering and the browser.

use crate::types::money::Money;
use crate::types::UnixMillis;

/// `2026-11-22 14:05 UTC` — the server-rendered form of a timestamp. The browser replaces
/// it with the user's local time (see `components::time`).
pub fn utc_minutes(ms: UnixMillis) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02} UTC", rem / 3600, (rem % 3600) / 60)
}

/// ISO-8601 with seconds, for tooltips.
pub fn iso_utc(ms: UnixMillis) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, (rem % 3600) / 60, rem % 60)
}

/// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian calendar).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Text from elsewhere fit to quote in a message: control characters become spaces, and
/// at most `max` characters are kept (an ellipsis says more followed).
pub fn excerpt(text: &str, max: usize) -> String {
    let mut out: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).take(max).collect();
    if text.chars().count() > max {
        out.push('\u{2026}');
    }
    out.trim().to_string()
}

/// `25,000`: an integer with thousands separators.
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// `+1,234`, `−3,667`, `0`: a signed change with thousands separators (a minus sign,
/// as money changes have; no sign for zero).
pub fn signed_thousands(n: i64) -> String {
    match n.signum() {
        1 => format!("+{}", thousands(n)),
        -1 => format!("\u{2212}{}", thousands(n.abs())),
        _ => "0".into(),
    }
}

/// `1 event`, `2,500 events`: a count with its noun in the right number.
pub fn count_of(n: i64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

/// `+1,234.50 USD`: a signed change of money with thousands separators and, when known,
/// the ISO code of its currency (a minus sign, never a hyphen; no sign for zero).
pub fn money_change(v: Money, currency: &str) -> String {
    let cents = v.cents();
    let sign = match cents.signum() {
        0 => "",
        -1 => "\u{2212}",
        _ => "+",
    };
    let amount = format!("{sign}{}.{:02}", thousands(cents.abs() / 100), cents.abs() % 100);
    if currency.is_empty() {
        amount
    } else {
        format!("{amount} {currency}")
    }
}

/// `path?a=1&b=2`, or just `path` when there are no parameters (already encoded).
pub fn page_url(path: &str, parts: &[String]) -> String {
    if parts.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", parts.join("&"))
    }
}

/// Decodes a percent-encoded query-string value (`+` is a space).
pub fn decode_query_value(raw: &str) -> String {
    percent_encoding::percent_decode_str(&raw.replace('+', " ")).decode_utf8_lossy().into_owned()
}

/// The decoded `key=value` pairs of a URL's query string (the last of a repeated key).
pub fn query_params(url: &str) -> std::collections::HashMap<String, String> {
    url.split_once('?')
        .map(|(_, qs)| qs.split('&').filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k.to_string(), decode_query_value(v))).collect())
        .unwrap_or_default()
}

/// What a query value keeps unencoded: RFC 3986's unreserved characters and `/`.
const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~').remove(b'/');

/// Percent-encodes a query-string value.
pub fn encode_query_value(raw: &str) -> String {
    percent_encoding::utf8_percent_encode(raw, QUERY_VALUE).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_are_short_and_plain() {
        assert_eq!(excerpt("a\u{0}b\nc", 10), "a b c");
        assert_eq!(excerpt(&"x".repeat(20), 5), "xxxxx\u{2026}");
        assert_eq!(excerpt("  padded  ", 20), "padded");
    }

    #[test]
    fn page_urls_carry_their_parameters_only_when_there_are_some() {
        assert_eq!(page_url("/events", &[]), "/events");
        assert_eq!(page_url("/events", &["q=a".into(), "page=2".into()]), "/events?q=a&page=2");
    }

    #[test]
    fn money_changes_are_signed_grouped_and_carry_their_currency() {
        let m = Money::from_f64;
        assert_eq!(money_change(m(1234.5), "USD"), "+1,234.50 USD");
        assert_eq!(money_change(m(-45.0), "EUR"), "\u{2212}45.00 EUR");
        assert_eq!(money_change(m(0.001), "USD"), "0.00 USD");
        assert_eq!(money_change(m(135.0), ""), "+135.00");
        assert_eq!(money_change(m(2_000_000.006), "GBP"), "+2,000,000.01 GBP");
    }

    #[test]
    fn timestamps_render_in_utc() {
        assert_eq!(utc_minutes(0), "1970-01-01 00:00 UTC");
        // 2026-11-22T00:29:01Z
        assert_eq!(iso_utc(1_795_307_341_000), "2026-11-22T00:29:01Z");
        assert_eq!(utc_minutes(951_782_400_000), "2000-02-29 00:00 UTC");
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(encode_query_value("/users?a=b&c"), "/users%3Fa%3Db%26c");
        assert_eq!(encode_query_value("Müller & Co"), "M%C3%BCller%20%26%20Co");
        assert_eq!(decode_query_value("M%C3%BCller+%26+Co%2B"), "Müller & Co+");
        assert_eq!(decode_query_value("100%"), "100%", "a stray percent sign is kept");
    }

    #[test]
    fn signed_changes_are_grouped_with_a_minus_sign() {
        assert_eq!(signed_thousands(3_679), "+3,679");
        assert_eq!(signed_thousands(-3_667), "\u{2212}3,667");
        assert_eq!(signed_thousands(0), "0");
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(25_000), "25,000");
        assert_eq!(thousands(-1_234_567), "-1,234,567");
    }
}
