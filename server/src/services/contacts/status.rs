//! What differs between a backup user and the Autotask contact it was imported from, in
//! words (the reason a Modified status shows on hover and focus). Pure, unit-tested.

/// Both sides of an imported contact.
#[derive(Debug, Clone, Copy)]
pub struct Sides<'a> {
    /// The backup user's first name.
    pub user_first: &'a str,
    /// The backup user's last name.
    pub user_last: &'a str,
    /// The backup user's customer (name).
    pub user_customer: &'a str,
    /// The contact's first name in Autotask.
    pub contact_first: &'a str,
    /// The contact's last name in Autotask.
    pub contact_last: &'a str,
    /// The contact's company in Autotask (name, or "company N" when not discovered).
    pub contact_company: &'a str,
    /// The user's customer is linked to the contact's company on the Customer Map.
    pub same_company: bool,
}

fn full(first: &str, last: &str) -> String {
    format!("{first} {last}").trim().to_string()
}

/// The differences, or None when name and company match.
pub fn differences(s: Sides<'_>) -> Option<String> {
    let mut parts = Vec::new();
    if s.user_first != s.contact_first || s.user_last != s.contact_last {
        parts.push(format!(
            "Name: \u{201c}{}\u{201d} in Taskbridge, \u{201c}{}\u{201d} in Autotask.",
            full(s.user_first, s.user_last),
            full(s.contact_first, s.contact_last)
        ));
    }
    if !s.same_company {
        parts.push(format!(
            "Company: customer \u{201c}{}\u{201d} in Taskbridge, \u{201c}{}\u{201d} in Autotask (not linked to that customer on the Customer Map).",
            s.user_customer, s.contact_company
        ));
    }
    (!parts.is_empty()).then(|| parts.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sides<'a>(user_first: &'a str, same_company: bool) -> Sides<'a> {
        Sides {
            user_first,
            user_last: "Smith",
            user_customer: "Acme Dental",
            contact_first: "John",
            contact_last: "Smith",
            contact_company: "Acme Dental Inc",
            same_company,
        }
    }

    #[test]
    fn equal_sides_have_no_differences() {
        assert_eq!(differences(sides("John", true)), None);
    }

    #[test]
    fn each_difference_is_named_with_both_values() {
        let name = differences(sides("Jon", true)).unwrap();
        assert_eq!(name, "Name: \u{201c}Jon Smith\u{201d} in Taskbridge, \u{201c}John Smith\u{201d} in Autotask.");
        let both = differences(sides("Jon", false)).unwrap();
        assert!(both.contains("Name:") && both.contains("Company: customer \u{201c}Acme Dental\u{201d} in Taskbridge"), "{both}");
    }
}
