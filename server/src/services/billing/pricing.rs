//! Pricing one line of a push, as a pure function: a month's usage of one product, the
//! product's mapping, and what Autotask bills on the customer's contract give the line
//! the Billing page shows — the change to write and its money, or why it is skipped.

use crate::autotask::entities::{Contract, ContractService};
use crate::db::billing::MonthUsage;
use crate::services::map::CONTRACT_TYPE_RECURRING;
use app::types::billing::{billable_units, product, LineStatus, PushLine, Rounding};
use app::types::money::Money;
use std::collections::{HashMap, HashSet};

/// A product's mapping, as a push reads it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mapping {
    /// The Autotask service the product bills through.
    pub service_id: i64,
    /// How quantities round to units.
    pub rounding: Rounding,
    /// Quantity per unit.
    pub unit_size: f64,
}

/// What Autotask bills, read for a set of contracts.
#[derive(Debug, Clone, Default)]
pub struct Billed {
    /// contract id → contract.
    pub contracts: HashMap<i64, Contract>,
    /// (contract, service) → contract service.
    pub services: HashMap<(i64, i64), ContractService>,
    /// (contract, service) pairs sold only inside a bundle.
    pub in_bundle: HashSet<(i64, i64)>,
    /// contract service → units this period.
    pub units: HashMap<i64, i64>,
    /// service → list price.
    pub prices: HashMap<i64, Money>,
}

/// The line for one customer's usage of one product.
pub fn price_line(u: &MonthUsage, mapping: Option<&Mapping>, billed: &Billed, allow_add: bool) -> PushLine {
    let label = product(&u.product).map_or(u.product.as_str(), |p| p.label);
    let mut line = PushLine {
        customer_id: u.customer_id,
        customer_name: u.name.clone(),
        product: u.product.clone(),
        contract_id: u.contract_id,
        service_id: None,
        autotask_units: None,
        quantity: Some(u.quantity),
        taskbridge_units: None,
        change: 0,
        unit_price: Money::ZERO,
        money: Money::ZERO,
        status: LineStatus::Skipped,
        reason: None,
    };
    let skip = |mut line: PushLine, why: String| {
        line.reason = Some(why);
        line
    };
    let Some(m) = mapping else {
        return skip(line, format!("{label} is not mapped to an Autotask service (Setup \u{203a} Billing)."));
    };
    line.service_id = Some(m.service_id);
    line.taskbridge_units = Some(billable_units(u.quantity, m.rounding, m.unit_size));
    let Some(contract_id) = u.contract_id else {
        if u.linked == 0 {
            return skip(
                line,
                "The customer is not mapped to an Autotask company: link it on the Customer Map, then choose its billing contract.".into(),
            );
        }
        return skip(line, "No billing contract: choose one with Get contracts on the Customer Map.".into());
    };
    let Some(contract) = billed.contracts.get(&contract_id) else {
        return skip(line, format!("Contract {contract_id} is no longer in Autotask: choose another on the Customer Map."));
    };
    if contract.contract_type != Some(CONTRACT_TYPE_RECURRING) {
        return skip(line, "The billing contract is not a Recurring Service contract; Autotask takes service adjustments only on those.".into());
    }
    let cs = billed.services.get(&(contract_id, m.service_id));
    if cs.is_none() {
        if billed.in_bundle.contains(&(contract_id, m.service_id)) {
            return skip(line, "The service is sold only inside a service bundle on this contract; adjust the bundle in Autotask.".into());
        }
        if !allow_add {
            return skip(
                line,
                "The service is not on the billing contract; add it in Autotask, or allow pushes to add it (Setup \u{203a} Billing).".into(),
            );
        }
        line.reason = Some("Adds the service to the contract (allowed in Billing settings).".into());
    }
    let current = cs.and_then(|cs| billed.units.get(&cs.id).copied()).unwrap_or(0);
    let target = line.taskbridge_units.unwrap_or_default();
    line.autotask_units = Some(current);
    line.change = target - current;
    // In the internal currency, so that every amount and the total are in one currency.
    line.unit_price = cs
        .and_then(|cs| cs.internal_currency_unit_price.or(cs.unit_price))
        .map(Money::from_f64)
        .or_else(|| billed.prices.get(&m.service_id).copied())
        .unwrap_or_default();
    line.money = line.unit_price.times(line.change);
    line.status = if line.change == 0 { LineStatus::Unchanged } else { LineStatus::Change };
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONTRACT: i64 = 70;
    const SERVICE: i64 = 9;
    const CS: i64 = 500;

    fn usage(quantity: f64, contract_id: Option<i64>) -> MonthUsage {
        MonthUsage { customer_id: 1, name: "Acme".into(), contract_id, linked: 1, product: "server".into(), quantity }
    }

    fn mapping() -> Mapping {
        Mapping { service_id: SERVICE, rounding: Rounding::Up, unit_size: 1.0 }
    }

    /// A recurring contract billing `units` of the service at 12.5 (internal 10).
    fn billed(units: i64) -> Billed {
        let mut b = Billed::default();
        b.contracts.insert(CONTRACT, Contract { id: CONTRACT, contract_type: Some(CONTRACT_TYPE_RECURRING), ..Contract::default() });
        b.services.insert(
            (CONTRACT, SERVICE),
            ContractService {
                id: CS,
                contract_id: Some(CONTRACT),
                service_id: Some(SERVICE),
                unit_price: Some(12.5),
                internal_currency_unit_price: Some(10.0),
                ..ContractService::default()
            },
        );
        b.units.insert(CS, units);
        b.prices.insert(SERVICE, Money::from_f64(99.0));
        b
    }

    #[test]
    fn a_difference_is_a_change_priced_in_the_internal_currency() {
        let line = price_line(&usage(4.2, Some(CONTRACT)), Some(&mapping()), &billed(3), false);
        assert_eq!(line.status, LineStatus::Change);
        assert_eq!((line.autotask_units, line.taskbridge_units, line.change), (Some(3), Some(5), 2));
        assert_eq!((line.unit_price, line.money), (Money::from_f64(10.0), Money::from_f64(20.0)));
        assert_eq!(line.reason, None);
    }

    #[test]
    fn the_same_units_are_unchanged_and_a_drop_is_negative() {
        let same = price_line(&usage(3.0, Some(CONTRACT)), Some(&mapping()), &billed(3), false);
        assert_eq!((same.status, same.change, same.money), (LineStatus::Unchanged, 0, Money::ZERO));
        let down = price_line(&usage(1.0, Some(CONTRACT)), Some(&mapping()), &billed(3), false);
        assert_eq!((down.status, down.change, down.money), (LineStatus::Change, -2, Money::from_f64(-20.0)));
    }

    #[test]
    fn each_reason_to_skip_is_given() {
        let reason = |line: PushLine| {
            assert_eq!(line.status, LineStatus::Skipped);
            line.reason.unwrap_or_default()
        };
        assert!(reason(price_line(&usage(1.0, Some(CONTRACT)), None, &billed(0), false)).contains("not mapped"));
        assert!(reason(price_line(&usage(1.0, None), Some(&mapping()), &billed(0), false)).contains("No billing contract"));
        let unlinked = MonthUsage { linked: 0, ..usage(1.0, None) };
        assert!(reason(price_line(&unlinked, Some(&mapping()), &billed(0), false)).contains("not mapped to an Autotask company"));
        assert!(reason(price_line(&usage(1.0, Some(71)), Some(&mapping()), &billed(0), false)).contains("no longer in Autotask"));
        let mut fixed_price = billed(0);
        fixed_price.contracts.insert(CONTRACT, Contract { id: CONTRACT, contract_type: Some(1), ..Contract::default() });
        assert!(reason(price_line(&usage(1.0, Some(CONTRACT)), Some(&mapping()), &fixed_price, false)).contains("not a Recurring Service"));
        let mut bundled = billed(0);
        bundled.services.clear();
        bundled.in_bundle.insert((CONTRACT, SERVICE));
        assert!(reason(price_line(&usage(1.0, Some(CONTRACT)), Some(&mapping()), &bundled, true)).contains("service bundle"));
        let mut absent = billed(0);
        absent.services.clear();
        assert!(reason(price_line(&usage(1.0, Some(CONTRACT)), Some(&mapping()), &absent, false)).contains("not on the billing contract"));
    }

    #[test]
    fn a_missing_service_is_added_at_list_price_when_allowed() {
        let mut absent = billed(0);
        absent.services.clear();
        let line = price_line(&usage(2.0, Some(CONTRACT)), Some(&mapping()), &absent, true);
        assert_eq!((line.status, line.autotask_units, line.change), (LineStatus::Change, Some(0), 2));
        assert_eq!((line.unit_price, line.money), (Money::from_f64(99.0), Money::from_f64(198.0)));
        assert!(line.reason.unwrap_or_default().contains("Adds the service"));
    }
}
