//! bangfu's event stores: the event log, the aggregate snapshots and the
//! cross-aggregate reservations, in one of three places.
//!
//! - [`SqliteStore`]: one SQLite file, the embedded default (`sqlite://PATH`),
//!   built on sqlite-es.
//! - [`PgStore`]: PostgreSQL (`postgres://…`), built on postgres-es, with a
//!   gap-safe global order under concurrent writers.
//! - [`KurrentStore`]: a KurrentDB cluster (`esdb://…`, `kurrentdb://…`)
//!   through the official `kurrentdb` client.
//!
//! Each implements [`EventStore`] (`kernel.rs`), the one contract: bangfu
//! needs more from a commit than the cqrs-es repositories give (a global
//! position, event ids, a hash chain, reservations, and events and snapshot
//! in one transaction). A commit is prepared once for every store
//! (`commit.rs`); the SQL both SQL stores run is written once (`sql.rs`).
//! [`AnyStore`] is the trait object chosen by URL, and cqrs-es's
//! `PersistedEventRepository` over it; the engine, the services and the CLI
//! work on it. The types here are what the stores return besides cqrs-es's
//! own.

mod any;
mod batch_money;
#[cfg(test)]
mod batch_money_tests;
mod commit;
pub mod copy;
pub mod hash;
mod kernel;
mod keys;
mod kurrent;
mod money;
mod postgres;
mod seals;
mod sql;
mod sqlite;
mod writer;

use std::collections::HashMap;
use std::path::PathBuf;

use domain::reservation::Scope;
use serde_json::Value;
use uuid::Uuid;

pub use any::{AnyStore, StoreUrl, UrlError};
pub use commit::{no_reservations, Head, PreparedCommit, PreparedEvent, ReservationExtractor};
pub use kernel::EventStore;
pub use keys::{CommandKey, KeyRecord, KeyTaken};
pub use kurrent::{KurrentStore, KurrentUrl};
pub use postgres::PgStore;
pub use seals::SealRecord;
pub(crate) use sql::Dialect;
pub use sqlite::{SqliteStore, DEFAULT_DB_PATH};

/// Most events one `read_all` page returns, whatever the caller asks for.
pub const MAX_READ_PAGE: usize = 10_000;

/// A place in the global event log (see [`projections::LogPosition`], where
/// it is defined because the views compare positions as the log orders them).
///
/// What each store issues:
///
/// - SQLite: `(0, position)` — writes are serialised, positions follow commits.
/// - PostgreSQL: `(transaction id, position)`, read only below the oldest
///   transaction still running (see ARCHITECTURE.md, "Stores").
/// - KurrentDB: `(commit position, prepare position)` of `$all`.
pub use projections::LogPosition;

/// One event of the global log as a projector reads it: the payload as the
/// stored JSON text and only the metadata the views use. Leaner than
/// [`StoredEvent`] on purpose — a rebuild reads every event of the log, and
/// parsing each payload into a `serde_json::Value` and each metadata object
/// into a map, only to convert them again, cost more than the projection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEvent {
    /// Place in the global log.
    pub log_position: LogPosition,
    /// `A::TYPE`.
    pub aggregate_type: String,
    /// The stream.
    pub aggregate_id: String,
    /// Position in the stream, from 1.
    pub sequence: u64,
    /// Stable event type name.
    pub event_type: String,
    /// Event schema version.
    pub event_version: String,
    /// The event's JSON text, as stored.
    pub payload: String,
    /// `metadata.actor_id`, if present.
    pub actor: Option<String>,
    /// `metadata.recorded_at`, if the command carried it.
    pub recorded_at: Option<String>,
}

impl From<StoredEvent> for LogEvent {
    fn from(e: StoredEvent) -> LogEvent {
        LogEvent {
            log_position: e.log_position,
            payload: e.payload.to_string(),
            actor: e
                .metadata
                .get(domain::command::metadata_keys::ACTOR_ID)
                .cloned(),
            aggregate_type: e.aggregate_type,
            aggregate_id: e.aggregate_id,
            sequence: u64::try_from(e.sequence).unwrap_or(u64::MAX),
            event_type: e.event_type,
            event_version: e.event_version,
            recorded_at: e.recorded_at,
        }
    }
}

/// The last event of one stream: what `store copy` compares between source
/// and target.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct StreamHead {
    /// `A::TYPE`.
    pub aggregate_type: String,
    /// The stream.
    pub aggregate_id: String,
    /// Its last sequence.
    pub sequence: u64,
    /// Its last event's hash: the head of its chain.
    pub hash: String,
}
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
    /// The store URL is not one bangfu understands.
    #[error(transparent)]
    Url(#[from] UrlError),
    /// KurrentDB refused or failed a request.
    #[error("kurrentdb: {0}")]
    Kurrent(String),
    /// Imported events do not continue the target's streams (see `import`).
    #[error("import refused: {0}")]
    Import(String),
    /// The money balances of an older store could not be computed from its log.
    #[error(transparent)]
    Backfill(#[from] money::BackfillError),
    /// The store cannot do what was asked (KurrentDB and audit seals).
    #[error("{0}")]
    Unsupported(String),
    /// A log position that this store did not issue.
    #[error("log position {0} was not issued by this store")]
    ForeignPosition(LogPosition),
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
    /// Place in the global log (`position` is its second part).
    pub log_position: LogPosition,
}

/// One row of the event log, every column.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredEvent {
    /// Global position, from 1: commit order on SQLite; on PostgreSQL the
    /// order in which rows were inserted, which `log_position` refines into a
    /// gap-safe order.
    pub position: u64,
    /// Place in the global log; read the log in this order.
    pub log_position: LogPosition,
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

/// Refuses an imported event that does not continue its stream, whose head
/// in the target is `(sequence, hash)` (`(0, GENESIS_HASH)` for a new stream).
fn check_continues(event: &StoredEvent, head: &(u64, String)) -> Result<(), StoreError> {
    let (sequence, hash) = head;
    if event.sequence as u64 != sequence + 1 {
        return Err(StoreError::Import(format!(
            "{} {} #{} does not follow #{sequence} in the target",
            event.aggregate_type, event.aggregate_id, event.sequence
        )));
    }
    if event.prev_hash != *hash {
        return Err(StoreError::Import(format!(
            "{} {} #{} does not chain onto the target's head",
            event.aggregate_type, event.aggregate_id, event.sequence
        )));
    }
    Ok(())
}

/// One event's columns as a chain check needs them, the JSON still as text
/// so that an unreadable row is reported rather than skipped.
struct ChainRow {
    aggregate_type: String,
    aggregate_id: String,
    sequence: i64,
    event_type: String,
    event_version: String,
    payload: String,
    metadata: String,
    prev_hash: String,
    hash: String,
}

impl ChainRow {
    /// Reads the chain columns of an `events` row, on either SQL store.
    fn from_row<'r, R>(row: &'r R) -> Result<ChainRow, sqlx::Error>
    where
        R: sqlx::Row,
        &'r str: sqlx::ColumnIndex<R>,
        String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
        i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    {
        Ok(ChainRow {
            aggregate_type: row.try_get("aggregate_type")?,
            aggregate_id: row.try_get("aggregate_id")?,
            sequence: row.try_get("sequence")?,
            event_type: row.try_get("event_type")?,
            event_version: row.try_get("event_version")?,
            payload: row.try_get("payload")?,
            metadata: row.try_get("metadata")?,
            prev_hash: row.try_get("prev_hash")?,
            hash: row.try_get("hash")?,
        })
    }
}

/// Recomputes hash chains from rows fed in stream and sequence order; every
/// store's `verify_chains` feeds it.
#[derive(Default)]
struct ChainVerifier {
    report: ChainReport,
    /// (aggregate_type, aggregate_id, sequence, hash) of the previous row.
    previous: Option<(String, String, i64, String)>,
}

impl ChainVerifier {
    fn check(&mut self, row: ChainRow) {
        use hash::{hash_matches, HashedEvent, GENESIS_HASH};
        self.report.events += 1;
        let same_stream = matches!(&self.previous,
            Some((t, i, _, _)) if *t == row.aggregate_type && *i == row.aggregate_id);
        let (expected_sequence, expected_prev) = match self.previous.take() {
            Some((_, _, s, h)) if same_stream => (s + 1, h),
            _ => {
                self.report.streams += 1;
                (1, GENESIS_HASH.to_string())
            }
        };
        let sequence = u64::try_from(row.sequence).unwrap_or(0);
        let at = |problem, expected: String, stored: String| ChainBreak {
            aggregate_type: row.aggregate_type.clone(),
            aggregate_id: row.aggregate_id.clone(),
            sequence,
            problem,
            expected,
            stored,
        };
        let mut found = Vec::new();
        if row.sequence != expected_sequence {
            found.push(at(
                ChainProblem::Sequence,
                expected_sequence.to_string(),
                row.sequence.to_string(),
            ));
        }
        if row.prev_hash != expected_prev {
            found.push(at(
                ChainProblem::PrevHash,
                expected_prev,
                row.prev_hash.clone(),
            ));
        }
        match (
            serde_json::from_str::<Value>(&row.payload),
            serde_json::from_str::<Value>(&row.metadata),
        ) {
            (Ok(payload), Ok(metadata)) => {
                let event = HashedEvent {
                    aggregate_type: &row.aggregate_type,
                    aggregate_id: &row.aggregate_id,
                    sequence,
                    event_type: &row.event_type,
                    event_version: &row.event_version,
                    payload: &payload,
                    metadata: &metadata,
                };
                if let Err(recomputed) = hash_matches(&row.prev_hash, &event, &row.hash) {
                    found.push(at(ChainProblem::Hash, recomputed, row.hash.clone()));
                }
            }
            (Err(e), _) | (_, Err(e)) => {
                found.push(at(ChainProblem::Unreadable, "JSON".into(), e.to_string()));
            }
        }
        for found in found {
            self.report.record(found);
        }
        self.previous = Some((row.aggregate_type, row.aggregate_id, row.sequence, row.hash));
    }

    fn finish(self) -> ChainReport {
        if !self.report.is_ok() {
            tracing::warn!(
                breaks = self.report.breaks.len() as u64 + self.report.breaks_omitted,
                "hash chain verification found breaks"
            );
        }
        self.report
    }
}

/// A store URL fit for messages: any password replaced by `***`. A bare
/// path is shown as it is; a URL too malformed to parse is not shown at all.
pub fn redact_url(url: &str) -> String {
    if url.contains("://") {
        redact(url)
    } else {
        url.to_string()
    }
}

/// `url` with any password replaced by `***`, for messages and logs.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            // Only fails for URLs that cannot have a password, and this one has one.
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(parsed) => parsed.to_string(),
        Err(_) => "(unparsable URL)".to_string(),
    }
}
