//! What every command carries besides its own fields: who acts, in which role,
//! when, and the ids that tie it to a request.
//!
//! Handlers are deterministic: they never read the clock or a random source.
//! The time (`recorded_at`) and all ids come in here, set by the caller
//! (CLI, API) at the boundary, and the store copies them into every event's
//! metadata.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::values::Code;

/// The roles of ../shared/DOMAIN.md. Authorisation by role is the service's
/// job; aggregates enforce the rules that hold for every role (four-eyes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 工会专干: opens files, logs visits, proposes plans, submits claims, records donations.
    Caseworker,
    /// 审批人: verifies files, approves plans, grants, claims, payouts.
    Approver,
    /// 财务: payout batches, reconciliation, fund periods.
    Finance,
    /// 审计: reads everything, changes nothing.
    Auditor,
    /// 管理员: users and configuration.
    Admin,
}

impl Role {
    /// Stable name, as stored in event metadata.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Caseworker => "caseworker",
            Role::Approver => "approver",
            Role::Finance => "finance",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }

    /// Parses the stable name.
    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "caseworker" => Role::Caseworker,
            "approver" => Role::Approver,
            "finance" => Role::Finance,
            "auditor" => Role::Auditor,
            "admin" => Role::Admin,
            _ => return None,
        })
    }

    /// The role's name for people.
    pub fn label(self, lang: crate::i18n::Lang) -> &'static str {
        let (zh, en) = match self {
            Role::Caseworker => ("工会专干", "caseworker"),
            Role::Approver => ("审批人", "approver"),
            Role::Finance => ("财务", "finance"),
            Role::Auditor => ("审计", "auditor"),
            Role::Admin => ("管理员", "admin"),
        };
        lang.pick(zh, en)
    }
}

/// A user acting in a role. `id` is the user's stable login id.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Actor {
    /// Stable user id (e.g. `zhang.wei`).
    pub id: Code,
    /// The role the user acts in for this command.
    pub role: Role,
}

/// Everything a command carries besides its own fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandContext {
    /// Who acts.
    pub actor: Actor,
    /// When the command was accepted at the boundary. The only "now" a handler sees.
    pub recorded_at: DateTime<Utc>,
    /// The offset from UTC, in seconds, of the time zone the union works in
    /// (Beijing time, +28,800, unless configured otherwise) at `recorded_at`.
    /// Business dates — the "today" of rules such as "not dated after today",
    /// the day an approval was given — are taken in it ([`Self::business_date`]).
    /// Set at the boundary, which knows the time zone.
    pub utc_offset_seconds: i32,
    /// Unique per command (the API's idempotency key maps to it).
    pub command_id: Uuid,
    /// Ties together the commands of one piece of work.
    pub correlation_id: Uuid,
}

/// A command with its context: the `Aggregate::Command` of every aggregate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cmd<C> {
    /// Who, when, which request.
    pub ctx: CommandContext,
    /// What to do.
    pub body: C,
}

/// Event-metadata keys written by the store for every event.
pub mod metadata_keys {
    /// UUID v7 of the event, assigned when it is persisted.
    pub const EVENT_ID: &str = "event_id";
    /// The acting user's id.
    pub const ACTOR_ID: &str = "actor_id";
    /// The acting user's role.
    pub const ACTOR_ROLE: &str = "actor_role";
    /// The command that produced the event.
    pub const COMMAND_ID: &str = "command_id";
    /// The correlation id of the command.
    pub const CORRELATION_ID: &str = "correlation_id";
    /// RFC 3339 time the command was recorded.
    pub const RECORDED_AT: &str = "recorded_at";
}

impl CommandContext {
    /// The business date of this command: the day `recorded_at` falls on in
    /// the union's time zone.
    pub fn business_date(&self) -> NaiveDate {
        self.date_of(self.recorded_at)
    }

    /// The business date of an earlier instant (an approval's `approved_at`),
    /// in this command's time zone. An offset out of range counts as UTC.
    pub fn date_of(&self, at: DateTime<Utc>) -> NaiveDate {
        let offset = FixedOffset::east_opt(self.utc_offset_seconds)
            .unwrap_or_else(|| FixedOffset::east_opt(0).expect("zero offset"));
        at.with_timezone(&offset).date_naive()
    }

    /// The metadata every event of this command carries (the store adds `event_id`).
    pub fn metadata(&self) -> std::collections::HashMap<String, String> {
        use metadata_keys::*;
        [
            (ACTOR_ID, self.actor.id.as_str().to_string()),
            (ACTOR_ROLE, self.actor.role.as_str().to_string()),
            (COMMAND_ID, self.command_id.to_string()),
            (CORRELATION_ID, self.correlation_id.to_string()),
            (
                RECORDED_AT,
                self.recorded_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }
}
