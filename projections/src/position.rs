//! [`LogPosition`]: a place in the global event log — what an event is
//! recorded at, what a row remembers as its last change, and what a view's
//! checkpoint is.
//!
//! Defined here, not by the event stores, because the per-view "apply only
//! the events after this view's checkpoint" rule is pure logic of this crate
//! and must compare positions exactly as the log orders them. The stores
//! (in the `bangfu` crate) issue these values; this crate only compares them.

use serde::{Deserialize, Serialize};

/// A place in the global event log. Events are read in ascending order of
/// it; a projector's checkpoint is the last one it applied, and it reads on
/// from there.
///
/// Two parts, compared in order, because the stores order their logs
/// differently:
///
/// - SQLite: `(0, position)` — writes are serialised, positions follow commits.
/// - PostgreSQL: `(transaction id, position)` — concurrent transactions take
///   positions out of commit order, so the log is ordered by the writing
///   transaction's `xid8` first and read only below the oldest transaction
///   still running.
/// - KurrentDB: `(commit position, prepare position)` of `$all`.
///
/// A checkpoint belongs to the store that issued it: copying a history to
/// another store gives its events new log positions.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogPosition {
    /// The commit group: 0 on SQLite, the transaction id on PostgreSQL, the
    /// commit position on KurrentDB.
    pub commit: u64,
    /// The position within the store's log.
    pub position: u64,
}

impl LogPosition {
    /// Before the first event: where a new projector starts.
    pub const START: LogPosition = LogPosition {
        commit: 0,
        position: 0,
    };

    /// A SQLite log position.
    pub const fn at(position: u64) -> LogPosition {
        LogPosition {
            commit: 0,
            position,
        }
    }
}

/// `commit/position`; a position without a commit part (SQLite's) shows as
/// the bare number people know from `bangfu history`.
impl std::fmt::Display for LogPosition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.commit == 0 {
            write!(f, "{}", self.position)
        } else {
            write!(f, "{}/{}", self.commit, self.position)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::LogPosition;

    #[test]
    fn the_commit_part_orders_first() {
        let early_tx_late_row = LogPosition {
            commit: 10,
            position: 9,
        };
        let late_tx_early_row = LogPosition {
            commit: 11,
            position: 2,
        };
        assert!(early_tx_late_row < late_tx_early_row);
        assert!(LogPosition::START < LogPosition::at(1));
        assert_eq!(LogPosition::at(7).to_string(), "7");
        assert_eq!(late_tx_early_row.to_string(), "11/2");
    }
}
