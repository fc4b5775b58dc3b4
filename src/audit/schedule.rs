//! The seals `bangfu serve` takes by itself: daily at a time of day (in the
//! business time zone; default 00:05, sealing the day before) and, if
//! asked, every N events added since the last seal kept in the store. A seal is taken only if the history verifies
//! (`super::seal_now`); otherwise the failure is logged as an error and the
//! server keeps serving.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use chrono::{NaiveTime, TimeZone};

use super::key::SealKey;
use crate::app::App;

/// `bangfu serve`'s seal settings.
#[derive(Clone, Debug, PartialEq, Eq, clap::Args)]
pub struct SealSchedule {
    /// The installation's seal key (see `bangfu audit --key`).
    #[arg(long = "seal-key", env = "BANGFU_SEAL_KEY")]
    pub key: Option<PathBuf>,
    /// Seal every day at this time (HH:MM, business time zone), or `off`.
    #[arg(long = "seal-daily-at", env = "BANGFU_SEAL_DAILY_AT", default_value = "00:05", value_parser = parse_daily)]
    pub daily_at: Daily,
    /// Also seal whenever this many events were added since the last seal (0: never).
    #[arg(
        long = "seal-every-events",
        env = "BANGFU_SEAL_EVERY_EVENTS",
        default_value_t = 0
    )]
    pub every_events: u64,
    /// How often (seconds) the clock and the event count are looked at.
    #[arg(
        long = "seal-check-every",
        env = "BANGFU_SEAL_CHECK_EVERY",
        default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(1..=3600)
    )]
    pub check_every: u64,
}

impl Default for SealSchedule {
    fn default() -> Self {
        SealSchedule {
            key: None,
            daily_at: Daily(NaiveTime::from_hms_opt(0, 5, 0)),
            every_events: 0,
            check_every: 30,
        }
    }
}

/// A daily time, or none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Daily(pub Option<NaiveTime>);

fn parse_daily(s: &str) -> Result<Daily, String> {
    if s.eq_ignore_ascii_case("off") {
        return Ok(Daily(None));
    }
    NaiveTime::parse_from_str(s, "%H:%M")
        .map(|t| Daily(Some(t)))
        .map_err(|_| format!("`{s}` is not a time of day HH:MM (or `off`)"))
}

static KEY_PATH: OnceLock<PathBuf> = OnceLock::new();

/// The key path the server was given, for the HTTP handlers; else the
/// default for the store.
pub fn key_path(app: &App) -> PathBuf {
    KEY_PATH
        .get()
        .cloned()
        .unwrap_or_else(|| super::key::default_path(&app.store))
}

/// Loads (or creates) the key and starts sealing in the background; the
/// task ends when the returned handle is aborted.
pub fn start(
    app: Arc<App>,
    settings: &SealSchedule,
) -> Result<tokio::task::JoinHandle<()>, String> {
    if let Some(path) = &settings.key {
        let _ = KEY_PATH.set(path.clone());
    }
    let path = key_path(&app);
    let key = SealKey::load_or_create(&path).map_err(|e| e.to_string())?;
    let settings = settings.clone();
    Ok(tokio::spawn(async move { run(app, key, settings).await }))
}

async fn run(app: Arc<App>, key: SealKey, settings: SealSchedule) {
    let mut next_daily = settings.daily_at.0.map(|t| next_at(&app, t));
    // Counted from the last seal kept in the store (none: from the start),
    // so a restart neither resets the count nor waits for N more events.
    let mut sealed_count = match app.store.seals().await {
        Ok(seals) => seals.last().map_or(0, |s| s.events),
        Err(_) => app.store.count_events().await.unwrap_or(0),
    };
    loop {
        tokio::time::sleep(Duration::from_secs(settings.check_every)).await;
        let now = app.clock.now();
        let due_daily = next_daily.is_some_and(|at| now >= at);
        let count = app.store.count_events().await.unwrap_or(sealed_count);
        let due_count = settings.every_events > 0 && count >= sealed_count + settings.every_events;
        if !(due_daily || due_count) {
            continue;
        }
        match super::seal_now(&app.store, &key, now).await {
            Ok(seal) => {
                sealed_count = seal.snapshot.events;
                tracing::info!(events = seal.snapshot.events, position = %seal.log_position, "sealed the log");
            }
            Err(e) => tracing::error!(error = %e, "scheduled seal not taken"),
        }
        if due_daily {
            next_daily = settings.daily_at.0.map(|t| next_at(&app, t));
        }
    }
}

/// The next instant after now at time of day `t` in the business time zone.
fn next_at(app: &App, t: NaiveTime) -> chrono::DateTime<chrono::Utc> {
    next_after(app.clock.now(), app.clock.tz(), t)
}

/// The first instant after `now` at time of day `t` in `tz`.
fn next_after(
    now: chrono::DateTime<chrono::Utc>,
    tz: chrono_tz::Tz,
    t: NaiveTime,
) -> chrono::DateTime<chrono::Utc> {
    let today = now.with_timezone(&tz).date_naive();
    [today, today.succ_opt().unwrap_or(today)]
        .into_iter()
        .filter_map(|d| tz.from_local_datetime(&d.and_time(t)).earliest())
        .map(|at| at.with_timezone(&chrono::Utc))
        .find(|at| *at > now)
        .unwrap_or(now + chrono::Duration::days(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daily_parses_times_and_off() {
        assert_eq!(parse_daily("off"), Ok(Daily(None)));
        assert_eq!(
            parse_daily("23:30"),
            Ok(Daily(NaiveTime::from_hms_opt(23, 30, 0)))
        );
        assert!(parse_daily("25:00").is_err());
        assert!(parse_daily("noon").is_err());
    }

    #[test]
    fn the_next_daily_seal_is_at_the_time_in_the_business_zone() {
        let at = |s: &str| {
            chrono::DateTime::parse_from_rfc3339(s)
                .unwrap()
                .with_timezone(&chrono::Utc)
        };
        let five_past = NaiveTime::from_hms_opt(0, 5, 0).unwrap();
        let tz = chrono_tz::Asia::Shanghai;
        // 15:00 UTC is 23:00 in Beijing: the seal is at 00:05 Beijing, 16:05 UTC.
        assert_eq!(
            next_after(at("2026-06-30T15:00:00Z"), tz, five_past),
            at("2026-06-30T16:05:00Z")
        );
        // Just after it: the next day's.
        assert_eq!(
            next_after(at("2026-06-30T16:05:01Z"), tz, five_past),
            at("2026-07-01T16:05:00Z")
        );
    }
}
