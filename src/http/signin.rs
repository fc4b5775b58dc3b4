//! Failed sign-ins: counted per client address, throttled, logged.
//!
//! Every request with a bearer token that matches no active user is a failed
//! sign-in. Each costs the client address one cell of a GCRA quota
//! (`governor`, `Limits::sign_in_failures_per_minute` a minute, as a burst);
//! once it is spent the address is refused with 429 and `Retry-After` —
//! before its token is even looked at, right or wrong, so guessing gains
//! nothing — until a cell is back. A request without any token is a plain
//! 401 and costs nothing (a misconfigured client is not an attacker).
//!
//! Each failure and each refusal is a security event: `tracing` target
//! `bangfu::security` at WARN, with the client address, the route and the
//! reason — never the token — and the counter
//! `bangfu_http_sign_in_failures_total{reason}`.
//!
//! The address is the TCP peer's. Behind a reverse proxy every client shares
//! the proxy's address: the proxy must then throttle sign-ins itself (README).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, MatchedPath};
use axum::http::request::Parts;
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Most addresses remembered as throttled before expired ones are dropped.
const MAX_BLOCKED: usize = 10_000;

/// The failed sign-ins of every client address.
pub struct SignIns {
    failures: DefaultKeyedRateLimiter<IpAddr>,
    /// Addresses whose quota is spent, and until when.
    blocked: Mutex<HashMap<IpAddr, Instant>>,
}

impl std::fmt::Debug for SignIns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignIns").finish_non_exhaustive()
    }
}

impl SignIns {
    /// `per_minute` failures allowed a minute per address (at least 1).
    pub fn new(per_minute: u32) -> SignIns {
        let per_minute = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
        SignIns {
            failures: RateLimiter::keyed(Quota::per_minute(per_minute)),
            blocked: Mutex::new(HashMap::new()),
        }
    }

    /// How long `client` must still wait, if it is throttled.
    pub fn throttled(&self, client: IpAddr) -> Option<Duration> {
        let mut blocked = self.blocked.lock().unwrap_or_else(|p| p.into_inner());
        let until = *blocked.get(&client)?;
        let now = Instant::now();
        if until <= now {
            blocked.remove(&client);
            return None;
        }
        Some(until - now)
    }

    /// Records a failed sign-in from `client`; returns how long it is now
    /// throttled for, if this failure spent its quota.
    pub fn failed(&self, client: IpAddr) -> Option<Duration> {
        let not_until = self.failures.check_key(&client).err()?;
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        let mut blocked = self.blocked.lock().unwrap_or_else(|p| p.into_inner());
        if blocked.len() >= MAX_BLOCKED {
            let now = Instant::now();
            blocked.retain(|_, until| *until > now);
            self.failures.retain_recent();
        }
        blocked.insert(client, Instant::now() + wait);
        Some(wait)
    }
}

/// The request's client address: the TCP peer, or unspecified when the
/// router is driven without a connection (tests).
pub fn client(parts: &Parts) -> IpAddr {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip())
}

/// Logs a security event (never the token).
pub fn log(client: IpAddr, parts: &Parts, reason: &'static str) {
    metrics::counter!("bangfu_http_sign_in_failures_total", "reason" => reason).increment(1);
    tracing::warn!(
        target: "bangfu::security",
        %client,
        method = %parts.method,
        route = parts
            .extensions
            .get::<MatchedPath>()
            .map_or("unmatched", MatchedPath::as_str),
        reason,
        "sign-in refused"
    );
}
