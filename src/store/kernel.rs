//! [`EventStore`]: the one contract every store implements — SQLite,
//! PostgreSQL, KurrentDB. The engine, the services, the projector, the CLI
//! and HTTP work on it (through [`super::AnyStore`], a cheap handle on an
//! `Arc<dyn EventStore>`); `tests/it/conformance.rs` is its specification.
//!
//! Object-safe on purpose: cqrs-es's `PersistedEventRepository` has generic
//! methods, so the aggregate type travels here as its `A::TYPE` string and
//! `AnyStore` implements cqrs-es's trait as a thin wrapper.

use std::any::Any;
use std::path::Path;

use cqrs_es::persist::{PersistenceError, ReplayStream, SerializedEvent, SerializedSnapshot};
use domain::reservation::Scope;
use serde_json::Value;

use super::commit::{PreparedCommit, ReservationExtractor};
use super::keys::{CommandKey, KeyRecord};
use super::seals::SealRecord;
use super::{Appended, ChainReport, LogEvent, LogPosition, StoreError, StoredEvent, StreamHead};

/// The storage kernel: the event log with its hash chains and global order,
/// snapshots, reservations. Every write is one [`PreparedCommit`], all or
/// nothing.
#[async_trait::async_trait]
pub trait EventStore: Send + Sync + std::fmt::Debug + 'static {
    /// Where the store is: the SQLite file, or the server's URL without its
    /// password.
    fn location(&self) -> &Path;

    /// The store itself, for what only one kind of store has (the views
    /// beside the events in a SQL database).
    fn as_any(&self) -> &dyn Any;

    /// How this store reads the keys events take and release.
    fn reservations(&self) -> ReservationExtractor;

    /// Closes the store's connections, waiting for those in use.
    async fn close(&self);

    /// Commits one prepared commit: its events continue their stream (else
    /// `OptimisticLockError`), chained from the stream's head; the keys they
    /// take and release; the snapshot, written only if the stored one is
    /// number − 1 (or, for number 1, absent). Errors:
    /// `OptimisticLockError` (a sequence is taken, or the snapshot check
    /// fails), `UnknownError(Box<ReservationConflict>)` (another aggregate
    /// holds a key). Any error writes nothing — except on KurrentDB, which
    /// has no transactions (ARCHITECTURE.md, "Stores").
    async fn commit(&self, commit: PreparedCommit) -> Result<Vec<Appended>, PersistenceError>;

    /// Appends one stream's events (consecutive sequences, continuing the
    /// stream) and, if given, replaces its snapshot, in one transaction:
    /// [`PreparedCommit::prepare`] then [`EventStore::commit`].
    ///
    /// `snapshot` is `(aggregate_id, aggregate state, snapshot number)`; the
    /// state must include every event of this call. `DeserializationError`
    /// if the reservation extractor cannot read an event.
    async fn append(
        &self,
        aggregate_type: &str,
        events: &[SerializedEvent],
        snapshot: Option<(String, Value, usize)>,
    ) -> Result<Vec<Appended>, PersistenceError> {
        match PreparedCommit::prepare(aggregate_type, events, snapshot, self.reservations())? {
            None => Ok(Vec::new()),
            Some(commit) => self.commit(commit).await,
        }
    }

    /// [`EventStore::append`] for a command sent with an idempotency key:
    /// the key's row is inserted in the events' transaction, and a key
    /// another commit holds refuses the commit (`UnknownError(KeyTaken)`).
    /// Stores that keep no keys refuse (`UnknownError`).
    async fn append_keyed(
        &self,
        aggregate_type: &str,
        events: &[SerializedEvent],
        snapshot: Option<(String, Value, usize)>,
        key: Option<CommandKey>,
    ) -> Result<Vec<Appended>, PersistenceError> {
        match PreparedCommit::prepare(aggregate_type, events, snapshot, self.reservations())? {
            None => Ok(Vec::new()),
            Some(mut commit) => {
                commit.key = key;
                self.commit(commit).await
            }
        }
    }

    /// The row kept for the idempotency key `(user, key)`, if any
    /// (`store::keys`). Stores that keep no keys answer `Unsupported`.
    async fn command_key(&self, user: &str, key: &str) -> Result<Option<KeyRecord>, StoreError> {
        let _ = (user, key);
        Err(StoreError::Unsupported(
            "this store keeps no idempotency keys".into(),
        ))
    }

    /// Keeps a key in its own transaction, with the `answer` to a keyed
    /// command that committed no event (a refusal by a business rule, a
    /// command that changed nothing) or none (a key carried over from before
    /// the store kept keys): `false` if the key is already held.
    async fn keep_key(
        &self,
        key: &CommandKey,
        answer: Option<(u16, &str)>,
    ) -> Result<bool, StoreError> {
        let _ = (key, answer);
        Err(StoreError::Unsupported(
            "this store keeps no idempotency keys".into(),
        ))
    }

    /// The id of the aggregate holding `key` in `scope`, if any: a command
    /// can be refused with a clear error before the commit would be.
    async fn reservation_holder(
        &self,
        scope: Scope,
        key: &str,
    ) -> Result<Option<String>, StoreError>;

    /// Every balance the money check keeps, `(kind, key, fen)` in key order
    /// (`store::money`; none on a store that keeps none).
    async fn money_balances(&self) -> Result<Vec<(String, String, i64)>, StoreError>;

    /// One stream's events after sequence `after` (0: all), in sequence
    /// order, as cqrs-es loads them.
    async fn stream_events_after(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
        after: usize,
    ) -> Result<Vec<SerializedEvent>, PersistenceError>;

    /// One stream's snapshot, if it has one.
    async fn snapshot(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
    ) -> Result<Option<SerializedSnapshot>, PersistenceError>;

    /// A replay of one stream (`Some(id)`, in sequence order) or of one
    /// aggregate type (`None`, in log order). A read error reaches the
    /// consumer and ends the replay.
    async fn replay(
        &self,
        aggregate_type: &str,
        aggregate_id: Option<&str>,
    ) -> Result<ReplayStream, PersistenceError>;

    /// Every event of one stream, all columns, in sequence order.
    async fn history(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
    ) -> Result<Vec<StoredEvent>, StoreError>;

    /// Up to `limit` (at most [`super::MAX_READ_PAGE`]) events after
    /// `after`, in log order, every column: gap-safe (no event can later
    /// commit before a position returned). `store copy` reads this.
    async fn read_all(
        &self,
        after: LogPosition,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError>;

    /// [`EventStore::read_all`]'s page as lean [`LogEvent`]s: what
    /// projectors read.
    async fn read_log_events(
        &self,
        after: LogPosition,
        limit: usize,
    ) -> Result<Vec<LogEvent>, StoreError>;

    /// The position of the last event [`EventStore::read_all`] can return
    /// now ([`LogPosition::START`] for an empty log).
    async fn log_head(&self) -> Result<LogPosition, StoreError>;

    /// The newest event in log order (on PostgreSQL, visible or not yet safe
    /// to read).
    async fn last_event(&self) -> Result<Option<StoredEvent>, StoreError>;

    /// How many events the log holds.
    async fn count_events(&self) -> Result<u64, StoreError>;

    /// How many stored events a complete read of the log up to `upto`
    /// ([`EventStore::read_all`] from [`LogPosition::START`]) must have
    /// returned: the rows at or before `upto` in log order, plus any row the
    /// log read can never return (SQLite: a position ≤ 0; PostgreSQL: a
    /// transaction id not yet issued). `audit verify` compares it with what
    /// it read, so a row placed where the reader does not look is found.
    /// `None` where the store cannot tell (KurrentDB, whose log is the read).
    async fn count_through(&self, upto: LogPosition) -> Result<Option<u64>, StoreError> {
        let _ = upto;
        Ok(None)
    }

    /// The ids of the streams of one aggregate type, oldest first.
    async fn streams(&self, aggregate_type: &str) -> Result<Vec<String>, StoreError>;

    /// The ids of the streams of `aggregate_type` that hold an `event_type`
    /// event whose top-level payload fields equal the given strings, oldest
    /// first.
    async fn streams_with_event(
        &self,
        aggregate_type: &str,
        event_type: &str,
        fields: &[(&str, &str)],
    ) -> Result<Vec<String>, StoreError>;

    /// Every stream's head, sorted by aggregate type and id (byte order).
    async fn stream_heads(&self) -> Result<Vec<StreamHead>, StoreError>;

    /// Inserts events exactly as another store holds them — event ids,
    /// metadata, hashes — in one transaction, after the target's own events
    /// (`store copy`). Each must continue its stream (next sequence,
    /// `prev_hash` its head's hash); anything else refuses the whole batch.
    /// The events' reservations are replayed. `verify_chains` afterwards
    /// tells whether the hashes are right.
    async fn import(&self, events: &[StoredEvent]) -> Result<(), StoreError>;

    /// Recomputes every stream's hash chain from the stored columns.
    async fn verify_chains(&self) -> Result<ChainReport, StoreError>;

    /// Recomputes one stream's hash chain from the stored columns.
    async fn verify_chain(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
    ) -> Result<ChainReport, StoreError>;

    /// Keeps an audit seal (`crate::audit`) beside the log, append-only.
    /// Stores without a table for them refuse (KurrentDB: publish the seal
    /// file instead).
    async fn add_seal(&self, _seal: &SealRecord) -> Result<(), StoreError> {
        Err(StoreError::Unsupported(
            "this store keeps no audit seals; keep the seal files (--out)".into(),
        ))
    }

    /// Every seal the store keeps, oldest first (none where it keeps none).
    async fn seals(&self) -> Result<Vec<SealRecord>, StoreError> {
        Ok(Vec::new())
    }
}
