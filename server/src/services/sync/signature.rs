//! Autotask's webhook signature: `X-Hook-Signature: sha1=<Base64(HMAC-SHA1(secret, body))>`,
//! over the raw body or, as some zones sign, over its .NET-escaped form.

use base64::Engine;
use hmac::{Hmac, Mac};

/// Whether `signature` (`sha1=<base64>`) signs `body` with `secret`: the raw bytes first,
/// then the .NET-escaped text. Compared in constant time.
pub fn verify(secret: &str, body: &[u8], signature: Option<&str>) -> bool {
    let Some(given) = signature.and_then(|s| s.trim().strip_prefix("sha1=")) else { return false };
    let Ok(given) = base64::engine::general_purpose::STANDARD.decode(given) else { return false };
    let matches = |bytes: &[u8]| {
        Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).is_ok_and(|mut mac| {
            mac.update(bytes);
            mac.verify_slice(&given).is_ok()
        })
    };
    matches(body) || std::str::from_utf8(body).is_ok_and(|text| matches(escape_like_dotnet(text).as_bytes()))
}

/// The characters .NET's default JSON encoder writes as `\uXXXX` inside strings.
fn dotnet_escapes(c: char) -> bool {
    matches!(c, '&' | '<' | '>' | '\'' | '"' | '`' | '+') || !c.is_ascii()
}

/// JSON text re-escaped as .NET writes it: inside strings, the HTML-sensitive characters
/// and everything outside ASCII become `\uXXXX` (uppercase hex, UTF-16 units).
pub fn escape_like_dotnet(json: &str) -> String {
    let mut out = String::with_capacity(json.len() + json.len() / 8);
    let (mut in_string, mut escaped) = (false, false);
    for c in json.chars() {
        if !in_string {
            in_string = c == '"';
            out.push(c);
        } else if escaped {
            escaped = false;
            // An escaped quote is one of the characters .NET spells out.
            if c == '"' {
                out.pop();
                out.push_str("\\u0022");
            } else {
                out.push(c);
            }
        } else if c == '\\' {
            escaped = true;
            out.push(c);
        } else if c == '"' {
            in_string = false;
            out.push(c);
        } else if dotnet_escapes(c) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units).iter() {
                out.push_str(&format!("\\u{unit:04X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &str, text: &str) -> String {
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable!());
        mac.update(text.as_bytes());
        format!("sha1={}", base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()))
    }

    #[test]
    fn a_signature_over_the_raw_or_the_dotnet_escaped_body_verifies_and_nothing_else() {
        let body = r#"{"Action":"Update","Fields":{"CompanyName":"Müller & Söhne \"GmbH\""},"Id":7}"#;
        let escaped = r#"{"Action":"Update","Fields":{"CompanyName":"M\u00FCller \u0026 S\u00F6hne \u0022GmbH\u0022"},"Id":7}"#;
        assert_eq!(escape_like_dotnet(body), escaped);
        assert!(verify("s3cret", body.as_bytes(), Some(&sign("s3cret", body))));
        assert!(verify("s3cret", body.as_bytes(), Some(&sign("s3cret", escaped))));
        assert!(!verify("other", body.as_bytes(), Some(&sign("s3cret", body))), "wrong secret");
        assert!(!verify("s3cret", body.as_bytes(), None), "no header");
        assert!(!verify("s3cret", body.as_bytes(), Some(sign("s3cret", body).trim_start_matches("sha1="))), "no prefix");
        assert!(!verify("s3cret", b"{}", Some(&sign("s3cret", body))), "another body");
    }
}
