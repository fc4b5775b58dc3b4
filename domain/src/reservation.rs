//! Uniqueness across aggregates, enforced by the store.
//!
//! Some rules need facts outside one aggregate: one open hardship file per
//! resident ID, one claim per hospital stay. An aggregate's `Services` answer
//! "is this key taken?" so the command can be refused with a clear error, but
//! a check-then-act is racy. So events also *declare* the keys they take and
//! release; the store applies those declarations in the same transaction as
//! the events, under a unique constraint. A race therefore ends in a refused
//! commit, never in two open files for one person.

use serde::{Deserialize, Serialize};

/// What a key is unique within.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Key: resident ID of a head of household with an open hardship file.
    OpenFileByResident,
    /// Key: `{member resident ID}/{admission date}` of a live (not finally rejected) claim.
    ClaimedStay,
    /// Key: a payout id in a payout batch (released only by discarding the
    /// batch): a payout sits in one batch.
    PayoutBatched,
    /// Key: a payout id reported paid by the bank: paid once, ever.
    PayoutPaid,
}

impl Scope {
    /// Stable name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::OpenFileByResident => "open_file_by_resident",
            Scope::ClaimedStay => "claimed_stay",
            Scope::PayoutBatched => "payout_batched",
            Scope::PayoutPaid => "payout_paid",
        }
    }
}

/// A key an event takes or gives back.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Reservation {
    /// Take `key` in `scope` for the event's aggregate; fails if another holds it.
    Take {
        /// Unique within.
        scope: Scope,
        /// The key.
        key: String,
    },
    /// Give `key` back (only if the event's aggregate holds it).
    Release {
        /// Unique within.
        scope: Scope,
        /// The key.
        key: String,
    },
}

/// Events that take or release keys implement this.
pub trait Reserves {
    /// The keys this event takes or releases, in order.
    fn reservations(&self) -> Vec<Reservation>;
}
