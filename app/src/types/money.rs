//! Money as an exact amount: ten-thousandths of the currency unit in an `i64` (Autotask
//! prices carry up to four decimals), so a change times a price, and the sum of a
//! thousand lines, is exact. On the wire it is a JSON number in currency units
//! (`135.5`), as Autotask writes prices.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::iter::Sum;
use std::ops::{Add, Neg};

/// An amount of money in the partner's internal currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(i64);

impl Money {
    /// Minor units per currency unit.
    pub const SCALE: i64 = 10_000;
    /// Nothing.
    pub const ZERO: Money = Money(0);

    /// From a price as Autotask sends it (rounded to the nearest ten-thousandth; a value
    /// that is not finite is zero).
    pub fn from_f64(v: f64) -> Self {
        if v.is_finite() {
            Self((v * Self::SCALE as f64).round() as i64)
        } else {
            Self::ZERO
        }
    }

    /// From ten-thousandths, as stored.
    pub const fn from_minor(minor: i64) -> Self {
        Self(minor)
    }

    /// In ten-thousandths, for storing exactly.
    pub const fn minor(self) -> i64 {
        self.0
    }

    /// In currency units, for the wire and the database.
    pub fn to_f64(self) -> f64 {
        self.0 as f64 / Self::SCALE as f64
    }

    /// This price times a number of units.
    pub fn times(self, units: i64) -> Self {
        Self(self.0.saturating_mul(units))
    }

    /// Rounded to cents, half away from zero.
    pub fn cents(self) -> i64 {
        let per_cent = Self::SCALE / 100;
        let rounded = (self.0.abs() + per_cent / 2) / per_cent;
        if self.0 < 0 {
            -rounded
        } else {
            rounded
        }
    }
}

impl Add for Money {
    type Output = Money;
    fn add(self, other: Money) -> Money {
        Money(self.0.saturating_add(other.0))
    }
}

impl Neg for Money {
    type Output = Money;
    fn neg(self) -> Money {
        Money(-self.0)
    }
}

impl Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, Add::add)
    }
}

impl std::fmt::Display for Money {
    /// `1234.50`: two decimals, a minus sign when negative.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cents = self.cents();
        let sign = if cents < 0 { "-" } else { "" };
        write!(f, "{sign}{}.{:02}", cents.abs() / 100, cents.abs() % 100)
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.to_f64())
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        f64::deserialize(d).map(Money::from_f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_and_products_are_exact() {
        let price = Money::from_f64(0.1);
        let total: Money = (0..1000).map(|_| price).sum();
        assert_eq!(total, Money::from_f64(100.0), "a thousand times 0.1 is 100, not 99.9999");
        assert_eq!(Money::from_f64(45.0).times(3), Money::from_f64(135.0));
        assert_eq!(-Money::from_f64(12.3456).times(2), Money::from_f64(-24.6912));
    }

    #[test]
    fn cents_round_half_away_from_zero_and_print_with_two_decimals() {
        assert_eq!(Money::from_f64(1.005).cents(), 101);
        assert_eq!(Money::from_f64(-1.005).cents(), -101);
        assert_eq!(Money::from_f64(1234.5).to_string(), "1234.50");
        assert_eq!(Money::from_f64(-0.004).to_string(), "0.00");
        assert_eq!(Money::from_f64(-45.0).to_string(), "-45.00");
        assert_eq!(Money::from_f64(f64::NAN), Money::ZERO);
    }

    #[test]
    fn the_wire_carries_currency_units() {
        assert_eq!(serde_json::to_string(&Money::from_f64(135.5)).unwrap(), "135.5");
        assert_eq!(serde_json::from_str::<Money>("12.25").unwrap(), Money::from_f64(12.25));
    }
}
