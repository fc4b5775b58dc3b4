//! Helpers for tests of aggregates: fixed command contexts and valid IDs.
//! Compiled for this crate's tests and, with the `testing` feature, for others'.

use chrono::{DateTime, TimeZone, Utc};
use uuid::Uuid;

use crate::command::{Actor, Cmd, CommandContext, Role};
use crate::values::{Code, ResidentId};

/// 2026-03-01 09:00:00 UTC, plus `minutes`.
pub fn at(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap() + chrono::Duration::minutes(minutes)
}

/// A context for `user` acting as `role` at [`at(0)`].
pub fn ctx(user: &str, role: Role) -> CommandContext {
    CommandContext {
        actor: Actor {
            id: Code::parse(user).expect("valid user id"),
            role,
        },
        recorded_at: at(0),
        utc_offset_seconds: 0,
        command_id: Uuid::from_u128(1),
        correlation_id: Uuid::from_u128(2),
    }
}

/// Wraps `body` in a context for `user` as `role`.
pub fn cmd<C>(user: &str, role: Role, body: C) -> Cmd<C> {
    Cmd {
        ctx: ctx(user, role),
        body,
    }
}

/// A valid resident ID from 17 leading digits (adds the check character).
pub fn resident_id(first17: &str) -> ResidentId {
    let c = ResidentId::check_char(first17.as_bytes()) as char;
    ResidentId::parse(&format!("{first17}{c}")).expect("valid test resident id")
}

/// The `n`th distinct valid resident ID (region 350102, born 1980-05-01, sequence `n`).
/// Distinct for `n < 336,000` (sequence, day and month vary).
pub fn nth_resident_id(n: u32) -> ResidentId {
    let day = 1 + (n / 1000) % 28;
    let month = 1 + (n / 28_000) % 12;
    resident_id(&format!("3501021980{month:02}{day:02}{:03}", n % 1000))
}
