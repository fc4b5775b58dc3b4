//! bangfu's embedded event store: one SQLite file holding the event log, the
//! aggregate snapshots and the cross-aggregate reservations.
//!
//! [`SqliteStore`] is a `cqrs_es::persist::PersistedEventRepository`, built on
//! sqlite-es: reads delegate to `sqlite_es::SqliteEventRepository`, while
//! writing is bangfu's own, because bangfu needs more from a commit than
//! sqlite-es gives (a global position, event ids, a hash chain, reservations,
//! and events and snapshot in one transaction). The types here are what that
//! store returns besides cqrs-es's own.

pub mod hash;
mod sqlite;
mod writer;

use std::collections::HashMap;
use std::path::PathBuf;

use domain::reservation::Scope;
use serde_json::Value;
use uuid::Uuid;

pub use sqlite::{no_reservations, ReservationExtractor, SqliteStore, DEFAULT_DB_PATH};
pub use writer::{WriteStats, MAX_BATCH, QUEUE_CAPACITY};

/// Errors of the store's own reads (history, audits, lookups) and of opening it.
/// Writes and cqrs-es reads return `cqrs_es::persist::PersistenceError`, as the
/// trait requires.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The directory for the database file could not be created.
    #[error("cannot create the data directory {path}: {source}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// SQLite or the connection pool failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// The schema could not be brought up to date.
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored row does not decode (it was written by something else).
    #[error("corrupt row: {0}")]
    Corrupt(String),
}

/// A commit was refused because another aggregate holds a key one of its events
/// takes. Nothing of the commit was written.
///
/// Travels through cqrs-es as `PersistenceError::UnknownError(Box<ReservationConflict>)`;
/// `Engine` downcasts it back. `Display` leaves the key out: keys are resident
/// IDs and the like, and errors end up in logs.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a key in scope {} is already held by aggregate {held_by}", scope.as_str())]
pub struct ReservationConflict {
    /// What the key is unique within.
    pub scope: Scope,
    /// The key (personal data: do not log).
    pub key: String,
    /// The id of the aggregate that holds it.
    pub held_by: String,
}

/// What the store assigned to one persisted event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Appended {
    /// Sequence in the stream.
    pub sequence: usize,
    /// Global position in commit order.
    pub position: u64,
    /// The event's id (also in its stored metadata).
    pub event_id: Uuid,
}

/// One row of the event log, every column.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredEvent {
    /// Global position in commit order, from 1.
    pub position: u64,
    /// UUID v7 assigned at persist.
    pub event_id: Uuid,
    /// `A::TYPE`.
    pub aggregate_type: String,
    /// The stream.
    pub aggregate_id: String,
    /// Position in the stream, from 1.
    pub sequence: usize,
    /// Stable event type name.
    pub event_type: String,
    /// Event schema version.
    pub event_version: String,
    /// The event.
    pub payload: Value,
    /// Who, when, which command; includes `event_id`.
    pub metadata: HashMap<String, String>,
    /// `metadata.recorded_at`, if the command carried it.
    pub recorded_at: Option<String>,
    /// The previous event's hash in this stream (64 zeros for the first).
    pub prev_hash: String,
    /// This event's hash.
    pub hash: String,
}

/// The durability settings in force on the writer connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Durability {
    /// `PRAGMA journal_mode` (bangfu uses `wal`).
    pub journal_mode: String,
    /// `PRAGMA synchronous` (bangfu uses 2, FULL: a commit survives power loss).
    pub synchronous: i64,
}

/// Result of recomputing hash chains.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChainReport {
    /// Streams looked at.
    pub streams: u64,
    /// Events looked at.
    pub events: u64,
    /// Broken links, in stream and sequence order; at most
    /// [`ChainReport::MAX_BREAKS`] are kept.
    pub breaks: Vec<ChainBreak>,
    /// Breaks found beyond those kept in `breaks`.
    pub breaks_omitted: u64,
}

impl ChainReport {
    /// A tampered database could otherwise produce a report as large as itself.
    pub const MAX_BREAKS: usize = 1_000;

    /// True when every recomputed hash and link matched.
    pub fn is_ok(&self) -> bool {
        self.breaks.is_empty() && self.breaks_omitted == 0
    }

    fn record(&mut self, found: ChainBreak) {
        if self.breaks.len() < Self::MAX_BREAKS {
            self.breaks.push(found);
        } else {
            self.breaks_omitted += 1;
        }
    }
}

/// One place where a stream's stored chain disagrees with its recomputation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainBreak {
    /// The stream's aggregate type.
    pub aggregate_type: String,
    /// The stream.
    pub aggregate_id: String,
    /// The event where the disagreement shows.
    pub sequence: u64,
    /// What disagrees.
    pub problem: ChainProblem,
    /// What the chain says it should be.
    pub expected: String,
    /// What is stored.
    pub stored: String,
}

/// The kinds of [`ChainBreak`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChainProblem {
    /// The event's columns do not hash to its stored `hash` (the event was edited).
    Hash,
    /// `prev_hash` is not the previous event's `hash` (an event was removed,
    /// inserted or rewritten together with its hash).
    PrevHash,
    /// Sequences do not run 1, 2, 3… (an event is missing).
    Sequence,
    /// `payload` or `metadata` is not JSON, so the hash cannot be recomputed.
    Unreadable,
}
