//! Dates a person can mean, and the business date a command is checked on.
//!
//! Every date in a command (an opening, a visit, a payment, a hospital stay,
//! a campaign's days, a measure's due date) must lie in
//! [`EARLIEST_DATE`]`..=`[`LATEST_DATE`] (1900-01-01 to 2199-12-31): year 0,
//! negative years and year 9999 are typing errors, not records. Command
//! fields take it with `#[serde(deserialize_with = "crate::values::plausible_date")]`,
//! so the refusal names the field like any other value error.
//!
//! Some value rules need "today": a resident ID whose holder is not born yet
//! is no resident ID. The domain never reads the clock; the boundary parses a
//! command body inside [`with_business_date`] (the command's business date),
//! and the value types consult [`business_date`]. Outside it — replaying
//! stored events — there is no today and no such check.

use std::cell::Cell;

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer};

use super::ValueError;

/// The earliest date accepted in a command.
pub const EARLIEST_DATE: NaiveDate = match NaiveDate::from_ymd_opt(1900, 1, 1) {
    Some(d) => d,
    None => panic!("a valid date"),
};
/// The latest date accepted in a command.
pub const LATEST_DATE: NaiveDate = match NaiveDate::from_ymd_opt(2199, 12, 31) {
    Some(d) => d,
    None => panic!("a valid date"),
};

/// `date` if it lies in [`EARLIEST_DATE`]`..=`[`LATEST_DATE`].
pub fn check_date(date: NaiveDate) -> Result<NaiveDate, ValueError> {
    if (EARLIEST_DATE..=LATEST_DATE).contains(&date) {
        Ok(date)
    } else {
        Err(ValueError::DateOutOfRange { date })
    }
}

/// Deserializes a `YYYY-MM-DD` date and checks it with [`check_date`].
pub fn plausible_date<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
    let date = NaiveDate::deserialize(d)?;
    check_date(date).map_err(serde::de::Error::custom)
}

thread_local! {
    static BUSINESS_DATE: Cell<Option<NaiveDate>> = const { Cell::new(None) };
}

/// The business date set by an enclosing [`with_business_date`] on this thread.
pub fn business_date() -> Option<NaiveDate> {
    BUSINESS_DATE.with(Cell::get)
}

/// Runs `f` (synchronous: the setting is per thread) with [`business_date`]
/// answering `today`. The boundary parses each command body inside it.
pub fn with_business_date<R>(today: NaiveDate, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<NaiveDate>);
    impl Drop for Restore {
        fn drop(&mut self) {
            BUSINESS_DATE.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(BUSINESS_DATE.with(|c| c.replace(Some(today))));
    f()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_plausible_range_is_inclusive() {
        for ok in ["1900-01-01", "2026-03-10", "2199-12-31"] {
            assert_eq!(check_date(date(ok)), Ok(date(ok)));
        }
        for bad in ["1899-12-31", "2200-01-01", "0000-01-01", "9999-12-31"] {
            assert!(check_date(date(bad)).is_err(), "{bad}");
        }
        let neg = NaiveDate::from_ymd_opt(-1, 1, 1).unwrap();
        assert!(check_date(neg).is_err());
    }

    #[test]
    fn the_business_date_is_scoped() {
        assert_eq!(business_date(), None);
        let d = date("2026-03-10");
        assert_eq!(with_business_date(d, business_date), Some(d));
        assert_eq!(business_date(), None);
    }
}
