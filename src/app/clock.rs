//! The clock, and the time zone business dates are taken in.
//!
//! A command's `recorded_at` is an instant (UTC); its `business_date` is the
//! day that instant falls on where the union works — Beijing time unless
//! configured otherwise (`--tz`/`BANGFU_TZ`, an IANA name). Rules such as "a
//! visit may not be dated after today" compare with the business date, so a
//! visit dated today is accepted from midnight Beijing time, not from 08:00
//! (midnight UTC). The clock is a value so tests can fix "now".

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use domain::command::{Actor, CommandContext};
use uuid::Uuid;

/// The time zone when none is configured: China Standard Time.
pub const DEFAULT_TZ: Tz = chrono_tz::Asia::Shanghai;

/// Parses an IANA time-zone name (`Asia/Shanghai`, `Asia/Urumqi`, `UTC`).
pub fn parse_tz(name: &str) -> Result<Tz, String> {
    name.parse::<Tz>()
        .map_err(|_| format!("unknown time zone `{name}` (an IANA name such as Asia/Shanghai)"))
}

type Now = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// Where "now" comes from and which time zone dates are in.
#[derive(Clone)]
pub struct BusinessClock {
    tz: Tz,
    now: Now,
}

impl std::fmt::Debug for BusinessClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BusinessClock")
            .field("tz", &self.tz)
            .finish()
    }
}

impl Default for BusinessClock {
    fn default() -> Self {
        BusinessClock::system(DEFAULT_TZ)
    }
}

impl BusinessClock {
    /// The system clock, dates in `tz`.
    pub fn system(tz: Tz) -> BusinessClock {
        BusinessClock {
            tz,
            now: Arc::new(Utc::now),
        }
    }

    /// A clock that always answers `at` (tests).
    pub fn fixed(tz: Tz, at: DateTime<Utc>) -> BusinessClock {
        BusinessClock {
            tz,
            now: Arc::new(move || at),
        }
    }

    /// The configured time zone.
    pub fn tz(&self) -> Tz {
        self.tz
    }

    /// Now.
    pub fn now(&self) -> DateTime<Utc> {
        (self.now)()
    }

    /// The business date of the instant `at`.
    pub fn date_of(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.tz).date_naive()
    }

    /// The time zone's offset from UTC at `at`, in seconds.
    pub fn offset_at(&self, at: DateTime<Utc>) -> i32 {
        self.tz
            .offset_from_utc_datetime(&at.naive_utc())
            .fix()
            .local_minus_utc()
    }

    /// A command context for `actor` now, with the given command id (or a
    /// fresh UUID v7) and correlation id (or the command id).
    pub fn context(
        &self,
        actor: Actor,
        command_id: Option<Uuid>,
        correlation_id: Option<Uuid>,
    ) -> CommandContext {
        let recorded_at = self.now();
        let command_id = command_id.unwrap_or_else(Uuid::now_v7);
        CommandContext {
            actor,
            recorded_at,
            utc_offset_seconds: self.offset_at(recorded_at),
            command_id,
            correlation_id: correlation_id.unwrap_or(command_id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn business_dates_are_beijing_dates_by_default() {
        let at = DateTime::parse_from_rfc3339("2026-03-09T23:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let clock = BusinessClock::fixed(DEFAULT_TZ, at);
        assert_eq!(
            clock.date_of(at),
            NaiveDate::from_ymd_opt(2026, 3, 10).unwrap()
        );
        let utc = BusinessClock::fixed(parse_tz("UTC").unwrap(), at);
        assert_eq!(
            utc.date_of(at),
            NaiveDate::from_ymd_opt(2026, 3, 9).unwrap()
        );
        assert!(parse_tz("Mars/Olympus").is_err());
        assert!(parse_tz("+08:00").is_err());
    }
}
