//! The Customer Map's staged changes, kept in the page until Save: each change once, in
//! the order made, with the words the unsaved-changes list shows, and the lines a row
//! shows under itself.

use crate::types::map::MapChange;

/// A staged change and how it reads in the unsaved-changes list.
#[derive(Debug, Clone, PartialEq)]
pub struct Staged {
    /// The change, as Save sends it.
    pub change: MapChange,
    /// How it reads.
    pub label: String,
}

/// Stages a change unless the same one is staged already; true when it was added.
pub fn stage(staged: &mut Vec<Staged>, change: MapChange, label: String) -> bool {
    if staged.iter().any(|x| x.change == change) {
        return false;
    }
    staged.push(Staged { change, label });
    true
}

/// The labels of the staged changes that concern a customer.
pub fn pending_for_customer(staged: &[Staged], id: i64) -> Vec<String> {
    staged
        .iter()
        .filter(|x| match &x.change {
            MapChange::Link { customer_id, .. } | MapChange::Unlink { customer_id, .. } | MapChange::SetContract { customer_id, .. } => {
                *customer_id == id
            }
            MapChange::CreateCustomer { .. } => false,
        })
        .map(|x| x.label.clone())
        .collect()
}

/// The labels of the staged changes that concern a company.
pub fn pending_for_company(staged: &[Staged], id: i64) -> Vec<String> {
    staged
        .iter()
        .filter(|x| match &x.change {
            MapChange::Link { company_id, .. } | MapChange::Unlink { company_id, .. } | MapChange::CreateCustomer { company_id } => *company_id == id,
            MapChange::SetContract { .. } => false,
        })
        .map(|x| x.label.clone())
        .collect()
}

/// The companies a customer will be linked to once the staged changes are saved: its
/// saved links, plus staged links, less staged unlinks, in id order.
pub fn companies_after(staged: &[Staged], customer: i64, saved: &[i64]) -> Vec<i64> {
    let mut ids: std::collections::BTreeSet<i64> = saved.iter().copied().collect();
    for x in staged {
        match x.change {
            MapChange::Link { customer_id, company_id } if customer_id == customer => {
                ids.insert(company_id);
            }
            MapChange::Unlink { customer_id, company_id } if customer_id == customer => {
                ids.remove(&company_id);
            }
            _ => {}
        }
    }
    ids.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn staged() -> Vec<Staged> {
        let mut s = Vec::new();
        assert!(stage(&mut s, MapChange::Link { customer_id: 1, company_id: 10 }, "link 1-10".into()));
        assert!(stage(&mut s, MapChange::Unlink { customer_id: 2, company_id: 10 }, "unlink 2-10".into()));
        assert!(stage(&mut s, MapChange::CreateCustomer { company_id: 11 }, "create from 11".into()));
        assert!(stage(&mut s, MapChange::SetContract { customer_id: 1, contract_id: Some(7), confirm_flags: false }, "contract 7 for 1".into()));
        s
    }

    #[test]
    fn a_change_is_staged_once_in_order() {
        let mut s = staged();
        assert!(!stage(&mut s, MapChange::Link { customer_id: 1, company_id: 10 }, "again".into()));
        let labels: Vec<&str> = s.iter().map(|x| x.label.as_str()).collect();
        assert_eq!(labels, ["link 1-10", "unlink 2-10", "create from 11", "contract 7 for 1"]);
    }

    #[test]
    fn each_row_sees_the_changes_that_concern_it() {
        let s = staged();
        assert_eq!(pending_for_customer(&s, 1), ["link 1-10", "contract 7 for 1"]);
        assert_eq!(pending_for_customer(&s, 2), ["unlink 2-10"]);
        assert!(pending_for_customer(&s, 3).is_empty());
        assert_eq!(pending_for_company(&s, 10), ["link 1-10", "unlink 2-10"]);
        assert_eq!(pending_for_company(&s, 11), ["create from 11"]);
        assert!(pending_for_company(&s, 12).is_empty());
    }

    #[test]
    fn a_customer_will_have_its_saved_links_with_the_staged_ones_applied() {
        let s = staged();
        assert_eq!(companies_after(&s, 1, &[]), [10], "a typed link counts before Save");
        assert_eq!(companies_after(&s, 2, &[10, 12]), [12], "a staged unlink drops the company");
        assert_eq!(companies_after(&s, 3, &[5]), [5]);
    }
}
