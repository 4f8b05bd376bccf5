//! Name matching between Taskbridge customers and Autotask companies: the exact match
//! (the seed's "3 star") and near matches, each with a score and the reason, found with
//! one hash lookup per normalisation level (linear in the number of names).

use std::collections::HashMap;

/// The normalisation levels, strictest first: (score, reason).
pub const LEVELS: [(u8, &str); 5] = [
    (100, "Exact name"),
    (95, "Same name apart from letter case"),
    (90, "Same name apart from punctuation, spacing or accents"),
    (85, "Same name with \u{201c}&\u{201d} written as \u{201c}and\u{201d}"),
    (80, "Same name apart from the legal suffix (Inc, LLC, Ltd, GmbH\u{2026})"),
];

/// Legal-form words dropped at the last level (compared after punctuation is removed).
const LEGAL_SUFFIXES: &[&str] = &[
    "inc",
    "incorporated",
    "llc",
    "llp",
    "lp",
    "ltd",
    "limited",
    "plc",
    "corp",
    "corporation",
    "co",
    "company",
    "gmbh",
    "ag",
    "kg",
    "sa",
    "sas",
    "sarl",
    "bv",
    "nv",
    "pty",
    "pte",
    "srl",
    "spa",
    "oy",
    "ab",
    "as",
    "aps",
];

/// The keys of a name at each level (index = level).
pub fn keys(name: &str) -> [String; 5] {
    let exact = name.trim().to_string();
    let lower = exact.to_lowercase();
    // Accents and ligatures folded to ASCII by `deunicode` ("Straße" → "strasse",
    // "Ærø" → "aero"); then words of letters, digits and `&`, everything else separating.
    // Most names are ASCII already: fold only the others (it allocates).
    let folded = if lower.is_ascii() { lower.clone() } else { deunicode::deunicode(&lower).to_lowercase() };
    let words: Vec<String> = folded
        .chars()
        .map(|c| if c.is_alphanumeric() || c == '&' { c } else { ' ' })
        .collect::<String>()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let plain = words.join(" ");
    let and_words: Vec<String> = plain.replace('&', " and ").split_whitespace().map(str::to_string).collect();
    let with_and = and_words.join(" ");
    let mut core = and_words;
    while core.len() > 1 && core.last().is_some_and(|w| LEGAL_SUFFIXES.contains(&w.as_str())) {
        core.pop();
    }
    // Joined without spaces so "Blue Ridge" and "BlueRidge" meet too.
    [exact, lower, plain.replace(' ', ""), with_and.replace(' ', ""), core.join("")]
}

/// A suggested pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    pub customer_id: i64,
    pub company_id: i64,
    pub score: u8,
    pub reason: String,
}

/// The best company for each customer, if any name level matches. Ties at a level go to
/// the lowest company id, and the reason says how many candidates there were.
pub fn suggest(customers: &[(i64, String)], companies: &[(i64, String)]) -> Vec<Suggestion> {
    let mut index: [HashMap<String, Vec<i64>>; 5] = Default::default();
    let mut sorted: Vec<&(i64, String)> = companies.iter().collect();
    sorted.sort_by_key(|c| c.0);
    for (id, name) in sorted {
        for (level, key) in keys(name).into_iter().enumerate() {
            if !key.is_empty() {
                index[level].entry(key).or_default().push(*id);
            }
        }
    }
    let mut out = Vec::new();
    for (customer_id, name) in customers {
        for (level, key) in keys(name).iter().enumerate() {
            if let Some(ids) = index[level].get(key) {
                let (score, reason) = LEVELS[level];
                let reason = if ids.len() > 1 { format!("{reason} (1 of {} companies with this name)", ids.len()) } else { reason.to_string() };
                out.push(Suggestion { customer_id: *customer_id, company_id: ids[0], score, reason });
                break;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accents_and_ligatures_fold_to_their_ascii_spelling() {
        assert_eq!(best("Gebrüder Straße GmbH", &["Gebruder Strasse GmbH"]), Some((1, 90)));
        assert_eq!(best("Ærøskøbing IT", &["Aeroskobing IT"]), Some((1, 90)));
        assert_eq!(best("Straße IT", &["Strase IT"]), None, "ß is ss, not s");
    }

    fn best(customer: &str, companies: &[&str]) -> Option<(i64, u8)> {
        let companies: Vec<(i64, String)> = companies.iter().enumerate().map(|(i, n)| (i as i64 + 1, n.to_string())).collect();
        suggest(&[(1, customer.to_string())], &companies).first().map(|s| (s.company_id, s.score))
    }

    #[test]
    fn each_level_matches_what_it_promises() {
        assert_eq!(best("Acme Dental Inc", &["Acme Dental", "Acme Dental Inc"]), Some((2, 100)));
        assert_eq!(best("ACME dental inc", &["Acme Dental Inc"]), Some((1, 95)));
        assert_eq!(best("Acme Dental, Inc.", &["Acme Dental Inc"]), Some((1, 90)));
        assert_eq!(best("Café Étoile", &["Cafe Etoile"]), Some((1, 90)));
        assert_eq!(best("Smith & Jones Legal", &["Smith and Jones Legal"]), Some((1, 85)));
        assert_eq!(best("Smith&Jones Legal", &["Smith and Jones Legal"]), Some((1, 85)));
        assert_eq!(best("Northwind Traders LLC", &["Northwind Traders Ltd."]), Some((1, 80)));
        assert_eq!(best("Northwind Traders", &["Northwind Traders Pty Ltd"]), Some((1, 80)));
        assert_eq!(best("Northwind", &["Southwind"]), None);
        // A suffix alone is not a name.
        assert_eq!(best("Inc", &["LLC"]), None);
    }

    #[test]
    fn ties_go_to_the_lowest_id_and_say_so() {
        let s = suggest(&[(7, "Summit IT".into())], &[(30, "Summit IT".into()), (20, "Summit IT".into())]);
        assert_eq!(s[0].company_id, 20);
        assert!(s[0].reason.contains("1 of 2"), "{}", s[0].reason);
    }
}
