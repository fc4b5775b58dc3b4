//! Money in fen (分, 1/100 yuan) and rates in basis points.
//!
//! Amounts are non-negative integers: a debt, a reversal or a refund is its own
//! event with a positive amount, never a negative one. Every operation is
//! checked; overflow is an error, never a wrap. The one rounding rule of the
//! system lives in [`Fen::apply_bp`]: half up (half away from zero) to the fen.
//!
//! # Upper bounds: why no sum can overflow
//!
//! Every single amount a person enters (a command's amount, a policy's
//! tier, threshold or cap) is at most [`MAX_AMOUNT_FEN`] = 10¹⁰ fen
//! (100,000,000.00 yuan, 一亿元), refused at parse otherwise
//! ([`Fen::amount`], [`amount`], [`Fen::from_yuan_str`]), with the field
//! named. A sum adds at most one amount per event, and a store holds at most
//! [`MAX_EVENTS`] = 10⁸ events (a nation's hardship casework for decades is
//! well below: the province-scale benchmark is 1.4 × 10⁶), so any sum —
//! a fund's balance, a ledger's total, a campaign's receipts — is at most
//! 10⁸ × 10¹⁰ = 10¹⁸ fen < `i64::MAX` ≈ 9.22 × 10¹⁸. Derived amounts stay
//! inside too: an uplift is at most 100× ([`BasisPoints::MAX`]) of a bounded
//! tier (≤ 10¹² fen). So arithmetic on money is checked everywhere, and a
//! check that fails in `apply` or a view is a broken invariant: an
//! assertion, never a clamped (wrong) number.

use std::fmt;
use std::iter::Sum;

use serde::{Deserialize, Deserializer, Serialize};

use super::ValueError;

/// The largest single amount accepted as input: 10¹⁰ fen = 100,000,000.00
/// yuan. See the module docs for why this keeps every sum inside `i64`.
pub const MAX_AMOUNT_FEN: i64 = 10_000_000_000;

/// The number of events the bound [`MAX_AMOUNT_FEN`] is sized for: any sum
/// of up to this many single amounts fits in `i64` (10⁸ × 10¹⁰ = 10¹⁸).
pub const MAX_EVENTS: i64 = 100_000_000;

const _: () = assert!(MAX_AMOUNT_FEN.checked_mul(MAX_EVENTS).is_some());

/// A non-negative amount of money in fen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Fen(i64);

/// An arithmetic result that is not a valid amount.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// The result exceeds `i64::MAX` fen.
    #[error("amount overflow")]
    Overflow,
    /// A subtraction would go below zero.
    #[error("amount would become negative")]
    Underflow,
}

impl Fen {
    /// Zero fen.
    pub const ZERO: Fen = Fen(0);
    /// The largest amount.
    pub const MAX: Fen = Fen(i64::MAX);
    /// The largest single amount accepted as input ([`MAX_AMOUNT_FEN`]).
    pub const MAX_AMOUNT: Fen = Fen(MAX_AMOUNT_FEN);

    /// A single input amount of `fen`: refuses negatives and anything above
    /// [`MAX_AMOUNT_FEN`].
    pub fn amount(fen: i64) -> Result<Fen, ValueError> {
        let fen = Fen::new(fen)?;
        if fen > Fen::MAX_AMOUNT {
            Err(ValueError::AmountTooLarge)
        } else {
            Ok(fen)
        }
    }

    /// An amount of `fen`; refuses negatives.
    pub fn new(fen: i64) -> Result<Fen, ValueError> {
        if fen < 0 {
            Err(ValueError::NegativeAmount)
        } else {
            Ok(Fen(fen))
        }
    }

    /// Whole yuan, for literals in tests and fixtures.
    pub fn from_yuan(yuan: i64) -> Result<Fen, ValueError> {
        yuan.checked_mul(100)
            .ok_or(ValueError::OutOfRange { what: "amount" })
            .and_then(Fen::new)
    }

    /// Parses a yuan string: `58917.86`, `5000`, `0.5`. At most two decimals,
    /// no sign, no exponent, no separators; at most [`MAX_AMOUNT_FEN`] fen.
    pub fn from_yuan_str(s: &str) -> Result<Fen, ValueError> {
        let s = s.trim();
        if s.starts_with('-') {
            return Err(ValueError::NegativeAmount);
        }
        let (int, frac) = match s.split_once('.') {
            Some((i, f)) => (i, f),
            None => (s, ""),
        };
        let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
        if int.is_empty() || !digits(int) || !digits(frac) || frac.len() > 2 {
            return Err(ValueError::BadYuan);
        }
        if s.contains('.') && frac.is_empty() {
            return Err(ValueError::BadYuan);
        }
        let yuan: i64 = int.parse().map_err(|_| ValueError::AmountTooLarge)?;
        let mut cents: i64 = if frac.is_empty() {
            0
        } else {
            frac.parse().map_err(|_| ValueError::BadYuan)?
        };
        if frac.len() == 1 {
            cents *= 10;
        }
        let fen = yuan
            .checked_mul(100)
            .and_then(|f| f.checked_add(cents))
            .ok_or(ValueError::AmountTooLarge)?;
        Fen::amount(fen)
    }

    /// The amount in fen.
    pub fn fen(self) -> i64 {
        self.0
    }

    /// True for zero.
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// `self + rhs`, or `Overflow`.
    pub fn checked_add(self, rhs: Fen) -> Result<Fen, MoneyError> {
        self.0
            .checked_add(rhs.0)
            .map(Fen)
            .ok_or(MoneyError::Overflow)
    }

    /// `self - rhs`, or `Underflow` when `rhs > self`.
    pub fn checked_sub(self, rhs: Fen) -> Result<Fen, MoneyError> {
        if rhs.0 > self.0 {
            Err(MoneyError::Underflow)
        } else {
            Ok(Fen(self.0 - rhs.0))
        }
    }

    /// `self + rhs` where a handler has already refused every command whose
    /// effect could overflow: for `apply` and views (TigerBeetle style).
    /// Overflow means `invariant` is broken: a panic naming it, never a
    /// clamped (wrong) amount.
    #[track_caller]
    pub fn add_asserted(self, rhs: Fen, invariant: &str) -> Fen {
        match self.checked_add(rhs) {
            Ok(sum) => sum,
            Err(_) => panic!("invariant broken: {invariant} ({self} + {rhs} overflows)"),
        }
    }

    /// `self - rhs` where `rhs ≤ self` is an invariant (reversals never
    /// exceed what they reverse, …); see [`Fen::add_asserted`].
    #[track_caller]
    pub fn sub_asserted(self, rhs: Fen, invariant: &str) -> Fen {
        match self.checked_sub(rhs) {
            Ok(difference) => difference,
            Err(_) => panic!("invariant broken: {invariant} ({self} - {rhs} is negative)"),
        }
    }

    /// What is left of `self` after `used`: zero once `used` reaches it (a
    /// cap's remaining room, a threshold not reached). Not arithmetic that
    /// could lose money, so not an error.
    pub fn room_after(self, used: Fen) -> Fen {
        self.checked_sub(used).unwrap_or(Fen::ZERO)
    }

    /// `self × n`, or `Overflow`.
    pub fn checked_mul(self, n: u32) -> Result<Fen, MoneyError> {
        self.0
            .checked_mul(i64::from(n))
            .map(Fen)
            .ok_or(MoneyError::Overflow)
    }

    /// `self × bp / 10 000`, rounded half up to the fen. **The** rounding rule
    /// of bangfu: every percentage applied to money goes through here.
    pub fn apply_bp(self, bp: BasisPoints) -> Result<Fen, MoneyError> {
        let product = i128::from(self.0) * i128::from(bp.0);
        let rounded = (product + 5_000) / 10_000;
        i64::try_from(rounded)
            .map(Fen)
            .map_err(|_| MoneyError::Overflow)
    }

    /// `self` raised by `uplift` (e.g. 3 000 bp = +30%): `self × (10 000 + uplift) / 10 000`,
    /// rounded by [`Fen::apply_bp`].
    pub fn uplifted(self, uplift: BasisPoints) -> Result<Fen, MoneyError> {
        let factor = BasisPoints(
            10_000u32
                .checked_add(uplift.0)
                .ok_or(MoneyError::Overflow)?,
        );
        self.apply_bp(factor)
    }

    /// Sums amounts with overflow checking.
    pub fn checked_sum<I: IntoIterator<Item = Fen>>(iter: I) -> Result<Fen, MoneyError> {
        iter.into_iter().try_fold(Fen::ZERO, Fen::checked_add)
    }

    /// Yuan with two decimals and thousands separators: `58,917.86`.
    pub fn to_yuan_grouped(self) -> String {
        let int = (self.0 / 100).to_string();
        let mut grouped = String::with_capacity(int.len() + int.len() / 3);
        for (i, c) in int.chars().enumerate() {
            if i > 0 && (int.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(c);
        }
        format!("{grouped}.{:02}", self.0 % 100)
    }
}

/// Yuan with two decimals: `58917.86`. Round-trips through [`Fen::from_yuan_str`].
impl fmt::Display for Fen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

impl TryFrom<i64> for Fen {
    type Error = ValueError;
    fn try_from(v: i64) -> Result<Self, Self::Error> {
        Fen::new(v)
    }
}

/// Integer fen only: `123456`. A float (`12.5`) or a negative number is an error.
impl<'de> Deserialize<'de> for Fen {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = i64::deserialize(d)?;
        Fen::new(v).map_err(serde::de::Error::custom)
    }
}

/// A single input amount in JSON: integer fen, `0..=`[`MAX_AMOUNT_FEN`].
/// For `#[serde(deserialize_with = "crate::values::amount")]` on every
/// amount a command (or a policy) carries; stored sums deserialize as plain
/// [`Fen`], which has no upper bound below `i64::MAX`.
pub fn amount<'de, D: Deserializer<'de>>(d: D) -> Result<Fen, D::Error> {
    let v = i64::deserialize(d)?;
    Fen::amount(v).map_err(serde::de::Error::custom)
}

impl Sum<Fen> for Option<Fen> {
    fn sum<I: Iterator<Item = Fen>>(iter: I) -> Self {
        Fen::checked_sum(iter).ok()
    }
}

/// A rate in basis points: 10 000 bp = 100%. Bounded to 0..=1 000 000 (100×).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct BasisPoints(u32);

impl BasisPoints {
    /// The largest rate accepted: 1 000 000 bp = 10 000%.
    pub const MAX: u32 = 1_000_000;
    /// Zero.
    pub const ZERO: BasisPoints = BasisPoints(0);

    /// A rate of `bp` basis points.
    pub fn new(bp: u32) -> Result<BasisPoints, ValueError> {
        if bp > Self::MAX {
            Err(ValueError::OutOfRange {
                what: "basis points",
            })
        } else {
            Ok(BasisPoints(bp))
        }
    }

    /// The rate in basis points.
    pub fn bp(self) -> u32 {
        self.0
    }

    /// `numerator ÷ denominator` as a rate, rounded half up to the basis point
    /// (the same half-up rule as [`Fen::apply_bp`]): 1 of 3 is 3 333 bp, 2 of 3
    /// is 6 667 bp. Used for ratios of counts such as a participation rate
    /// (donors ÷ headcount). A zero denominator or a rate above [`Self::MAX`]
    /// is `OutOfRange`.
    pub fn from_ratio(numerator: u64, denominator: u64) -> Result<BasisPoints, ValueError> {
        const WHAT: &str = "basis points";
        if denominator == 0 {
            return Err(ValueError::OutOfRange { what: WHAT });
        }
        // Half up: (n × 10 000 + d / 2) ÷ d, exact in u128 for any u64 inputs.
        let n = u128::from(numerator) * 10_000;
        let d = u128::from(denominator);
        let rounded = (n + d / 2) / d;
        u32::try_from(rounded)
            .map_err(|_| ValueError::OutOfRange { what: WHAT })
            .and_then(BasisPoints::new)
    }
}

/// `30.00%`.
impl fmt::Display for BasisPoints {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}%", self.0 / 100, self.0 % 100)
    }
}

impl<'de> Deserialize<'de> for BasisPoints {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = u32::deserialize(d)?;
        BasisPoints::new(v).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn yuan_strings_parse_and_print() {
        assert_eq!(Fen::from_yuan_str("58917.86").unwrap().fen(), 5_891_786);
        assert_eq!(Fen::from_yuan_str("5000").unwrap().fen(), 500_000);
        assert_eq!(Fen::from_yuan_str("0.5").unwrap().fen(), 50);
        assert_eq!(
            Fen::from_yuan_str("596436.00").unwrap().to_string(),
            "596436.00"
        );
        assert_eq!(Fen::new(5_891_786).unwrap().to_yuan_grouped(), "58,917.86");
        assert_eq!(Fen::new(5).unwrap().to_string(), "0.05");
        for bad in ["", "-1", "1.234", "1.", ".5", "1e3", "1,000", "abc", "１２"] {
            assert!(
                Fen::from_yuan_str(bad).is_err(),
                "{bad:?} should be refused"
            );
        }
        assert_eq!(Fen::from_yuan_str("-3"), Err(ValueError::NegativeAmount));
        assert!(Fen::from_yuan_str("99999999999999999999").is_err());
        // The bound: 100,000,000.00 yuan is accepted, a fen more is not.
        assert_eq!(
            Fen::from_yuan_str("100000000.00").unwrap().fen(),
            MAX_AMOUNT_FEN
        );
        assert_eq!(
            Fen::from_yuan_str("100000000.01"),
            Err(ValueError::AmountTooLarge)
        );
        assert_eq!(
            Fen::from_yuan_str("92233720368547758.07"),
            Err(ValueError::AmountTooLarge)
        );
    }

    #[test]
    fn input_amounts_are_bounded() {
        #[derive(serde::Deserialize, Debug)]
        struct Input {
            #[serde(deserialize_with = "amount")]
            amount_fen: Fen,
        }
        let read = |n: &str| serde_json::from_str::<Input>(&format!("{{\"amount_fen\": {n}}}"));
        assert_eq!(read("10000000000").unwrap().amount_fen, Fen::MAX_AMOUNT);
        let err = read("10000000001").unwrap_err().to_string();
        assert!(err.contains("100,000,000.00"), "{err}");
        assert!(read("9223372036854775807").is_err());
        assert!(read("-1").is_err());
        // Stored sums are plain Fen: no bound below i64::MAX.
        assert_eq!(
            serde_json::from_str::<Fen>("9223372036854775807").unwrap(),
            Fen::MAX
        );
    }

    #[test]
    fn json_refuses_negative_and_fractional_fen() {
        assert_eq!(serde_json::from_str::<Fen>("1234").unwrap().fen(), 1234);
        assert!(serde_json::from_str::<Fen>("-1").is_err());
        assert!(serde_json::from_str::<Fen>("12.5").is_err());
        assert!(serde_json::from_str::<Fen>("\"12\"").is_err());
    }

    #[test]
    fn rounding_is_half_up() {
        let f = |v| Fen::new(v).unwrap();
        // 0.5 fen rounds up
        assert_eq!(f(1).apply_bp(BasisPoints(5_000)).unwrap(), f(1));
        // just below half rounds down
        assert_eq!(f(1).apply_bp(BasisPoints(4_999)).unwrap(), f(0));
        // +30% uplift on 3000 yuan
        assert_eq!(f(300_000).uplifted(BasisPoints(3_000)).unwrap(), f(390_000));
    }

    #[test]
    fn ratios_round_half_up() {
        let r = |n, d| BasisPoints::from_ratio(n, d).map(BasisPoints::bp);
        assert_eq!(r(1, 3), Ok(3_333));
        assert_eq!(r(2, 3), Ok(6_667));
        // exactly half a basis point rounds up, just below rounds down
        assert_eq!(r(1, 20_000), Ok(1));
        assert_eq!(r(1, 20_001), Ok(0));
        assert_eq!(r(45, 48), Ok(9_375));
        assert_eq!(r(0, 7), Ok(0));
        assert_eq!(r(100, 1), Ok(BasisPoints::MAX));
        assert!(r(101, 1).is_err());
        assert!(r(1, 0).is_err());
        assert!(r(u64::MAX, 1).is_err());
    }

    proptest! {
        #[test]
        fn ratio_is_within_half_a_basis_point(n in 0u64..=1_000_000_000, d in 1u64..=1_000_000_000) {
            let exact = u128::from(n) * 10_000;
            match BasisPoints::from_ratio(n, d) {
                Ok(bp) => {
                    // |bp × d − n × 10 000| ≤ d / 2, and ties go up
                    let scaled = u128::from(bp.bp()) * u128::from(d);
                    prop_assert!(scaled * 2 + u128::from(d) > exact * 2);
                    prop_assert!(scaled * 2 <= exact * 2 + u128::from(d));
                }
                Err(_) => prop_assert!(exact > u128::from(BasisPoints::MAX) * u128::from(d)),
            }
        }

        #[test]
        fn add_is_checked(a in 0i64..=i64::MAX, b in 0i64..=i64::MAX) {
            let (fa, fb) = (Fen::new(a).unwrap(), Fen::new(b).unwrap());
            match a.checked_add(b) {
                Some(s) => prop_assert_eq!(fa.checked_add(fb).unwrap().fen(), s),
                None => prop_assert_eq!(fa.checked_add(fb), Err(MoneyError::Overflow)),
            }
        }

        #[test]
        fn sub_never_goes_negative(a in 0i64..=i64::MAX, b in 0i64..=i64::MAX) {
            let (fa, fb) = (Fen::new(a).unwrap(), Fen::new(b).unwrap());
            match fa.checked_sub(fb) {
                Ok(d) => { prop_assert!(b <= a); prop_assert_eq!(d.fen(), a - b); }
                Err(e) => { prop_assert!(b > a); prop_assert_eq!(e, MoneyError::Underflow); }
            }
        }

        #[test]
        fn mul_and_bp_are_checked(a in 0i64..=i64::MAX, n in 0u32..=u32::MAX, bp in 0u32..=BasisPoints::MAX) {
            let fa = Fen::new(a).unwrap();
            match a.checked_mul(i64::from(n)) {
                Some(p) => prop_assert_eq!(fa.checked_mul(n).unwrap().fen(), p),
                None => prop_assert_eq!(fa.checked_mul(n), Err(MoneyError::Overflow)),
            }
            let exact = i128::from(a) * i128::from(bp);
            match fa.apply_bp(BasisPoints(bp)) {
                Ok(r) => {
                    // within half a fen of the exact value
                    let diff = i128::from(r.fen()) * 10_000 - exact;
                    prop_assert!((-5_000..5_000).contains(&diff));
                }
                Err(e) => {
                    prop_assert_eq!(e, MoneyError::Overflow);
                    prop_assert!((exact + 5_000) / 10_000 > i128::from(i64::MAX));
                }
            }
        }

        #[test]
        fn yuan_string_round_trips(a in 0i64..=MAX_AMOUNT_FEN) {
            let f = Fen::new(a).unwrap();
            prop_assert_eq!(Fen::from_yuan_str(&f.to_string()).unwrap(), f);
        }
    }
}
