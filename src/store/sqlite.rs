//! [`SqliteStore`]: the event store in one SQLite file, and the only code in
//! bangfu that writes to it.
//!
//! Built on sqlite-es: the tables keep sqlite-es's column names and
//! `get_events`, `get_last_events` and `get_snapshot` delegate to
//! `sqlite_es::SqliteEventRepository` on the reader pool. bangfu replaces the
//! rest:
//!
//! - `persist` commits events with their global position, event id and
//!   hash-chain link, the reservations the events declare, and the snapshot
//!   with its optimistic check, all or nothing. sqlite-es commits the events
//!   and only then reports a snapshot conflict. Concurrent commits are grouped
//!   into one durable transaction, each in its own savepoint (see `writer`).
//! - `stream_events` and `stream_all_events` report a database error to the
//!   consumer; sqlite-es's stream task `unwrap()`s it, so a replay would end
//!   early looking complete. `stream_all_events` also runs in commit
//!   (position) order, where sqlite-es orders by per-stream sequence.
//!
//! Writes are serialised through one writer task on one connection so that
//! commit order is position order; readers use a small pool of read-only connections, which
//! WAL lets run beside the writer.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use cqrs_es::persist::{
    PersistedEventRepository, PersistenceError, ReplayStream, SerializedEvent, SerializedSnapshot,
};
use cqrs_es::Aggregate;
use domain::command::metadata_keys;
use domain::reservation::{Reservation, Scope};
use futures::TryStreamExt;
use serde_json::Value;
use sqlite_es::SqliteEventRepository;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::ConnectOptions;
use sqlx::Row;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use uuid::Uuid;

use tokio::sync::{mpsc, oneshot};

use super::hash::{canonical_event, HashedEvent, GENESIS_HASH};
use super::writer::{self, Counters, PreparedCommit, PreparedEvent, WriteRequest, WriteStats};
use super::{
    Appended, ChainReport, ChainRow, ChainVerifier, Durability, LogEvent, LogPosition, StoreError,
    StoredEvent, StreamHead, MAX_READ_PAGE,
};

/// Where the database lives unless told otherwise.
pub const DEFAULT_DB_PATH: &str = "./bangfu-data/bangfu.db";

/// Enough for a few concurrent queries beside the writer; SQLite readers are cheap.
const READER_CONNECTIONS: u32 = 4;
/// How long a connection waits for a lock held by another process (a CLI
/// beside the server) before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Events buffered between a replay stream's reader task and its consumer.
const STREAM_CHANNEL_SIZE: usize = 200;

/// The keys an event takes or releases, given its aggregate type, event type
/// and JSON payload. The domain provides one for its aggregates; an `Err`
/// (the payload is not an event of that type) fails the commit.
pub type ReservationExtractor = fn(&str, &str, &Value) -> Result<Vec<Reservation>, String>;

/// A [`ReservationExtractor`] for stores whose events reserve nothing.
pub fn no_reservations(
    _aggregate_type: &str,
    _event_type: &str,
    _payload: &Value,
) -> Result<Vec<Reservation>, String> {
    Ok(Vec::new())
}

/// The event store. Cheap to clone: clones share the connection pools.
#[derive(Clone)]
pub struct SqliteStore {
    path: PathBuf,
    /// Exactly one connection, used by the writer task (and `durability`):
    /// commits, and therefore positions, are totally ordered.
    writer: SqlitePool,
    /// The writer task's queue (see `writer`): every append goes through it.
    writes: mpsc::Sender<WriteRequest>,
    counters: Arc<Counters>,
    /// Read-only connections for everything else.
    reader: SqlitePool,
    /// sqlite-es on the reader pool, for the reads it gets right.
    sqlite_es: Arc<SqliteEventRepository>,
    reservations: ReservationExtractor,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if missing, with its directory) the database at `path`
    /// and brings its schema up to date. `reservations` reads the keys events
    /// take and release ([`no_reservations`] if none do).
    ///
    /// Every connection uses WAL with `synchronous=FULL`, so a commit that
    /// returned survives a power cut, and enforces foreign keys.
    ///
    /// Must be called inside a Tokio runtime: it starts the writer task, which
    /// lives as long as a clone of the store does (and the runtime).
    pub async fn open(
        path: impl AsRef<Path>,
        reservations: ReservationExtractor,
    ) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true)
            // sqlx warns about statements over a second on stderr; a user of
            // `bangfu verify` is no audience for that (RUST_LOG=debug is).
            .log_slow_statements(log::LevelFilter::Debug, std::time::Duration::from_secs(1));
        // No ping before each use: these are local files, and a ping is one
        // more round trip to the connection's thread per query.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .test_before_acquire(false)
            .connect_with(options.clone().create_if_missing(true))
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&writer).await?;
        // Opened after the writer so the file exists and is already in WAL mode.
        let reader = SqlitePoolOptions::new()
            .max_connections(READER_CONNECTIONS)
            .test_before_acquire(false)
            .connect_with(options.read_only(true))
            .await?;
        tracing::debug!(path = %path.display(), "event store opened");
        let counters = Arc::new(Counters::default());
        Ok(Self {
            path,
            writes: writer::spawn(writer.clone(), Arc::clone(&counters)),
            counters,
            sqlite_es: Arc::new(SqliteEventRepository::new(reader.clone())),
            writer,
            reader,
            reservations,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Closes both pools, waiting for connections in use to be returned. The
    /// last connection to close checkpoints the WAL into the main file.
    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }

    /// The journal mode and synchronous level of the writer connection, the
    /// one whose settings decide durability.
    pub async fn durability(&self) -> Result<Durability, StoreError> {
        let mut conn = self.writer.acquire().await?;
        let journal_mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&mut *conn)
            .await?;
        let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&mut *conn)
            .await?;
        Ok(Durability {
            journal_mode,
            synchronous,
        })
    }

    /// Appends one stream's events (consecutive sequences, continuing the
    /// stream) and, if given, replaces its snapshot, in one transaction.
    ///
    /// `snapshot` is `(aggregate_id, aggregate state, snapshot number)`; the
    /// state must include every event of this call, as its `last_sequence` is
    /// the last event's sequence. The snapshot is written only if the stored
    /// one is number − 1 (or, for number 1, absent).
    ///
    /// Errors: `OptimisticLockError` if a sequence is taken or the snapshot
    /// check fails; `UnknownError(Box<ReservationConflict>)` if another
    /// aggregate holds a key an event takes; `DeserializationError` if the
    /// reservation extractor cannot read an event. Any error writes nothing.
    ///
    /// Concurrent calls are group-committed: the store's writer task commits
    /// whatever is queued in one transaction, each call in its own savepoint
    /// with all of the checks above, and answers each call only after that
    /// transaction's COMMIT returned. One call's error does not affect the
    /// others of its batch; a failed COMMIT fails them all. Dropping the
    /// returned future once the call is queued does not withdraw it: the
    /// commit may still happen, unacknowledged.
    pub async fn append(
        &self,
        aggregate_type: &str,
        events: &[SerializedEvent],
        snapshot: Option<(String, Value, usize)>,
    ) -> Result<Vec<Appended>, PersistenceError> {
        if events.is_empty() {
            return match snapshot {
                None => Ok(Vec::new()),
                Some(_) => Err(unknown("a snapshot must come with the events it includes")),
            };
        }
        let commit = self.prepare(aggregate_type, events, snapshot)?;
        let aggregate_id = commit.aggregate_id.clone();
        let (reply, answer) = oneshot::channel();
        self.counters.pending.fetch_add(1, Ordering::Relaxed);
        if self
            .writes
            .send(WriteRequest { commit, reply })
            .await
            .is_err()
        {
            self.counters.pending.fetch_sub(1, Ordering::Relaxed);
            return Err(unknown("the store's writer has stopped"));
        }
        // The writer answers only after the batch's COMMIT returned (or failed).
        let appended = answer
            .await
            .map_err(|_| unknown("the store's writer stopped before answering"))??;
        tracing::debug!(
            aggregate_type,
            aggregate_id = %aggregate_id,
            events = appended.len(),
            last_position = appended.last().map(|a| a.position),
            "events committed"
        );
        Ok(appended)
    }

    /// Everything about a commit that does not depend on what else is
    /// committed: the checks that need only the call's own events, event ids,
    /// JSON text, the canonical form the hash covers, the reservations. Runs
    /// on the caller's task, so the single writer does only the rest.
    fn prepare(
        &self,
        aggregate_type: &str,
        events: &[SerializedEvent],
        snapshot: Option<(String, Value, usize)>,
    ) -> Result<PreparedCommit, PersistenceError> {
        let aggregate_id = events[0].aggregate_id.as_str();
        let first_sequence = events[0].sequence;
        let mut prepared = Vec::with_capacity(events.len());
        for (event, expected_sequence) in events.iter().zip(first_sequence..) {
            if event.aggregate_id != aggregate_id
                || event.aggregate_type != aggregate_type
                || event.sequence != expected_sequence
                || event.sequence == 0
            {
                return Err(unknown(
                    "a commit must continue one stream with consecutive sequences",
                ));
            }
            let event_id = Uuid::now_v7();
            let mut metadata = event.metadata.clone();
            let Some(fields) = metadata.as_object_mut() else {
                return Err(unknown("event metadata must be a JSON object"));
            };
            fields.insert(
                metadata_keys::EVENT_ID.to_string(),
                Value::String(event_id.to_string()),
            );
            let recorded_at = fields
                .get(metadata_keys::RECORDED_AT)
                .and_then(Value::as_str)
                .map(str::to_owned);
            let canonical = canonical_event(&HashedEvent {
                aggregate_type,
                aggregate_id,
                sequence: event.sequence as u64,
                event_type: &event.event_type,
                event_version: &event.event_version,
                payload: &event.payload,
                metadata: &metadata,
            });
            let reservations =
                (self.reservations)(aggregate_type, &event.event_type, &event.payload).map_err(
                    |reason| {
                        PersistenceError::DeserializationError(
                            format!(
                                "cannot read reservations of {aggregate_type} event {}: {reason}",
                                event.event_type
                            )
                            .into(),
                        )
                    },
                )?;
            prepared.push(PreparedEvent {
                event_id,
                sequence: event.sequence,
                event_type: event.event_type.clone(),
                event_version: event.event_version.clone(),
                payload: event.payload.to_string(),
                metadata: metadata.to_string(),
                recorded_at,
                canonical,
                reservations,
            });
        }
        let snapshot = match snapshot {
            None => None,
            Some((snapshot_id, _, _)) if snapshot_id != aggregate_id => {
                return Err(unknown("a snapshot must be of the stream being appended"));
            }
            Some((_, state, number)) => Some((state.to_string(), number)),
        };
        Ok(PreparedCommit {
            aggregate_type: aggregate_type.to_string(),
            aggregate_id: aggregate_id.to_string(),
            events: prepared,
            snapshot,
        })
    }

    /// Appends submitted to the writer and not yet answered (queued, or in
    /// the batch being committed).
    pub fn pending_writes(&self) -> u64 {
        self.counters.pending.load(Ordering::Relaxed)
    }

    /// Batches and commands the writer has committed since the store opened.
    pub fn write_stats(&self) -> WriteStats {
        self.counters.read()
    }

    /// The id of the aggregate holding `key` in `scope`, if any. For the
    /// domain's `Services`: a command can be refused with a clear error before
    /// the commit would be.
    pub async fn reservation_holder(
        &self,
        scope: Scope,
        key: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT aggregate_id FROM reservations WHERE scope = ? AND key = ?")
                .bind(scope.as_str())
                .bind(key)
                .fetch_optional(&self.reader)
                .await?,
        )
    }

    /// Every event of one stream, all columns, in sequence order.
    pub async fn history(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT position, event_id, aggregate_type, aggregate_id, sequence, event_type,
                    event_version, payload, metadata, recorded_at, prev_hash, hash
               FROM events
              WHERE aggregate_type = ? AND aggregate_id = ?
              ORDER BY sequence",
        )
        .bind(aggregate_type)
        .bind(aggregate_id)
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(stored_event).collect()
    }

    /// The position of the newest committed event (0 for an empty log).
    pub async fn head_position(&self) -> Result<u64, StoreError> {
        let head: Option<i64> = sqlx::query_scalar("SELECT MAX(position) FROM events")
            .fetch_one(&self.reader)
            .await?;
        u64::try_from(head.unwrap_or(0))
            .map_err(|_| StoreError::Corrupt("negative position".into()))
    }

    /// The single writer connection's pool, for other tables in the same
    /// file (the views) whose writes must queue with the events'.
    pub(crate) fn writer_pool(&self) -> &SqlitePool {
        &self.writer
    }

    /// The read-only pool.
    pub(crate) fn reader_pool(&self) -> &SqlitePool {
        &self.reader
    }

    /// How many events the log holds.
    pub async fn count_events(&self) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events")
            .fetch_one(&self.reader)
            .await?;
        u64::try_from(count).map_err(|_| StoreError::Corrupt("negative count".into()))
    }

    /// The ids of the streams of one aggregate type, oldest first.
    pub async fn streams(&self, aggregate_type: &str) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT aggregate_id FROM events
              WHERE aggregate_type = ? AND sequence = 1
              ORDER BY position",
        )
        .bind(aggregate_type)
        .fetch_all(&self.reader)
        .await?)
    }

    /// The ids of the streams of `aggregate_type` that hold an `event_type`
    /// event whose top-level payload fields equal the given strings, oldest
    /// first. For `Services` lookups such as "the claims of this member in this
    /// plan period" (a linear scan of that event type: a few hundred claims a
    /// period; the projections of issue 3 replace it with an indexed view).
    pub async fn streams_with_event(
        &self,
        aggregate_type: &str,
        event_type: &str,
        fields: &[(&str, &str)],
    ) -> Result<Vec<String>, StoreError> {
        let mut sql = String::from(
            "SELECT aggregate_id FROM events WHERE aggregate_type = ? AND event_type = ?",
        );
        for _ in fields {
            sql.push_str(" AND json_extract(payload, ?) = ?");
        }
        sql.push_str(" GROUP BY aggregate_id ORDER BY MIN(position)");
        let mut query = sqlx::query_scalar(&sql)
            .bind(aggregate_type)
            .bind(event_type);
        for (field, value) in fields {
            query = query
                .bind(format!("$.\"{event_type}\".\"{field}\""))
                .bind(*value);
        }
        Ok(query.fetch_all(&self.reader).await?)
    }

    /// Up to `limit` (at most [`MAX_READ_PAGE`]) events after `after`, in log
    /// order: a page of the global log (`store copy` and, as
    /// [`SqliteStore::read_log_events`], projectors). SQLite's log positions
    /// are `(0, position)`; a position with another commit part came from
    /// another store and is refused.
    ///
    /// Positions follow commit order (one writer at a time, the position is
    /// taken inside the commit), and a reader sees whole commits only, so a
    /// page never skips an event that commits later with a lower position.
    pub async fn read_log(
        &self,
        after: LogPosition,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        if after.commit != 0 {
            return Err(StoreError::ForeignPosition(after));
        }
        let after =
            i64::try_from(after.position).map_err(|_| StoreError::ForeignPosition(after))?;
        let limit = limit.min(MAX_READ_PAGE) as i64;
        let rows = sqlx::query(
            "SELECT position, event_id, aggregate_type, aggregate_id, sequence, event_type,
                    event_version, payload, metadata, recorded_at, prev_hash, hash
               FROM events
              WHERE position > ?
              ORDER BY position
              LIMIT ?",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(stored_event).collect()
    }

    /// [`SqliteStore::read_log`] for projectors: the same page as
    /// [`LogEvent`]s (payload text, `actor_id` picked out of the metadata),
    /// without decoding what projections do not read.
    ///
    /// The page comes back from SQLite as ONE text value rather than a row
    /// per event: sqlx's SQLite driver runs the database on its own thread
    /// and hands each row over with a copy of every column and a thread
    /// wake-up, which cost more than reading the events (profiled: half the
    /// CPU of a rebuild). Each event is framed by a header of its position,
    /// sequence and the byte lengths of its text columns, then the columns
    /// themselves ([`parse_log_page`]): nothing is escaped or parsed on
    /// either side, and a payload holding any byte sequence cannot be
    /// misread as a frame boundary.
    pub async fn read_log_events(
        &self,
        after: LogPosition,
        limit: usize,
    ) -> Result<Vec<LogEvent>, StoreError> {
        if after.commit != 0 {
            return Err(StoreError::ForeignPosition(after));
        }
        let after =
            i64::try_from(after.position).map_err(|_| StoreError::ForeignPosition(after))?;
        let limit = limit.min(MAX_READ_PAGE) as i64;
        let page: Option<String> = sqlx::query_scalar(
            "SELECT group_concat(
                      printf('%d,%d,%d,%d,%d,%d,%d,%d,%d;', position, sequence,
                             octet_length(aggregate_type), octet_length(aggregate_id),
                             octet_length(event_type), octet_length(event_version),
                             octet_length(payload), coalesce(octet_length(actor), -1),
                             coalesce(octet_length(recorded_at), -1))
                      || aggregate_type || aggregate_id || event_type || event_version
                      || payload || coalesce(actor, '') || coalesce(recorded_at, ''),
                      '' ORDER BY position)
               FROM (SELECT position, sequence, aggregate_type, aggregate_id, event_type,
                            event_version, payload,
                            CAST(json_extract(metadata, '$.actor_id') AS TEXT) AS actor,
                            recorded_at
                       FROM events WHERE position > ? ORDER BY position LIMIT ?)",
        )
        .bind(after)
        .bind(limit)
        .fetch_one(&self.reader)
        .await?;
        match page {
            None => Ok(Vec::new()),
            Some(page) => parse_log_page(&page),
        }
    }

    /// The newest event in log order, if any.
    pub async fn last_event(&self) -> Result<Option<StoredEvent>, StoreError> {
        let row = sqlx::query(
            "SELECT position, event_id, aggregate_type, aggregate_id, sequence, event_type,
                    event_version, payload, metadata, recorded_at, prev_hash, hash
               FROM events
              ORDER BY position DESC
              LIMIT 1",
        )
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(stored_event).transpose()
    }

    /// Every stream's last sequence and hash, by aggregate type and id.
    pub async fn stream_heads(&self) -> Result<Vec<StreamHead>, StoreError> {
        // SQLite returns the bare `hash` of the row holding MAX(sequence).
        let rows: Vec<(String, String, i64, String)> = sqlx::query_as(
            "SELECT aggregate_type, aggregate_id, MAX(sequence), hash
               FROM events
              GROUP BY aggregate_type, aggregate_id
              ORDER BY aggregate_type, aggregate_id",
        )
        .fetch_all(&self.reader)
        .await?;
        rows.into_iter()
            .map(|(aggregate_type, aggregate_id, sequence, hash)| {
                Ok(StreamHead {
                    aggregate_type,
                    aggregate_id,
                    sequence: u64::try_from(sequence)
                        .map_err(|e| StoreError::Corrupt(format!("events.sequence: {e}")))?,
                    hash,
                })
            })
            .collect()
    }

    /// Inserts events exactly as another store holds them — event ids,
    /// metadata, hashes — in one transaction, after the target's own
    /// events (`store copy`). Each must continue its stream: the next
    /// sequence, and `prev_hash` equal to the stream's current head hash;
    /// anything else (a duplicate, a gap, a fork) refuses the whole batch.
    /// Reservations are taken and released as the events declare. The
    /// stored hashes are kept as they are: `verify_chains` afterwards tells
    /// whether they are right.
    pub async fn import(&self, events: &[StoredEvent]) -> Result<(), StoreError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let mut heads: HashMap<(String, String), (u64, String)> = HashMap::new();
        for event in events {
            let stream = (event.aggregate_type.clone(), event.aggregate_id.clone());
            let head = match heads.get(&stream) {
                Some(head) => head.clone(),
                None => {
                    let head: Option<(i64, String)> = sqlx::query_as(
                        "SELECT sequence, hash FROM events
                          WHERE aggregate_type = ? AND aggregate_id = ?
                          ORDER BY sequence DESC LIMIT 1",
                    )
                    .bind(&event.aggregate_type)
                    .bind(&event.aggregate_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                    match head {
                        Some((sequence, hash)) => (
                            u64::try_from(sequence).map_err(|e| {
                                StoreError::Corrupt(format!("events.sequence: {e}"))
                            })?,
                            hash,
                        ),
                        None => (0, GENESIS_HASH.to_string()),
                    }
                }
            };
            super::check_continues(event, &head)?;
            let metadata = serde_json::to_value(&event.metadata)
                .map_err(|e| StoreError::Import(e.to_string()))?;
            let position: i64 = sqlx::query_scalar(
                "INSERT INTO events (event_id, aggregate_type, aggregate_id, sequence, event_type,
                                     event_version, payload, metadata, recorded_at, prev_hash, hash)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                 RETURNING position",
            )
            .bind(event.event_id.to_string())
            .bind(&event.aggregate_type)
            .bind(&event.aggregate_id)
            .bind(event.sequence as i64)
            .bind(&event.event_type)
            .bind(&event.event_version)
            .bind(event.payload.to_string())
            .bind(metadata.to_string())
            .bind(&event.recorded_at)
            .bind(&event.prev_hash)
            .bind(&event.hash)
            .fetch_one(&mut *tx)
            .await?;
            let declared =
                (self.reservations)(&event.aggregate_type, &event.event_type, &event.payload)
                    .map_err(StoreError::Import)?;
            for reservation in declared {
                writer::apply_reservation(
                    &mut tx,
                    &event.aggregate_type,
                    &event.aggregate_id,
                    position,
                    &reservation,
                )
                .await
                .map_err(|e| StoreError::Import(e.to_string()))?;
            }
            heads.insert(stream, (event.sequence as u64, event.hash.clone()));
        }
        tx.commit().await?;
        Ok(())
    }

    /// Recomputes every stream's hash chain from the stored columns.
    pub async fn verify_chains(&self) -> Result<ChainReport, StoreError> {
        self.verify(None).await
    }

    /// Recomputes one stream's hash chain from the stored columns.
    pub async fn verify_chain(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
    ) -> Result<ChainReport, StoreError> {
        self.verify(Some((aggregate_type, aggregate_id))).await
    }

    async fn verify(&self, stream: Option<(&str, &str)>) -> Result<ChainReport, StoreError> {
        const COLUMNS: &str = "SELECT aggregate_type, aggregate_id, sequence, event_type,
                                      event_version, payload, metadata, prev_hash, hash
                                 FROM events";
        let sql = match stream {
            Some(_) => {
                format!("{COLUMNS} WHERE aggregate_type = ? AND aggregate_id = ? ORDER BY sequence")
            }
            None => format!("{COLUMNS} ORDER BY aggregate_type, aggregate_id, sequence"),
        };
        let mut query = sqlx::query(&sql);
        if let Some((aggregate_type, aggregate_id)) = stream {
            query = query.bind(aggregate_type).bind(aggregate_id);
        }
        // One statement is one read snapshot under WAL, so commits running
        // meanwhile cannot make a consistent chain look broken.
        let mut rows = query.fetch(&self.reader);
        let mut verifier = ChainVerifier::default();
        while let Some(row) = rows.try_next().await? {
            verifier.check(ChainRow::from_row(&row)?);
        }
        Ok(verifier.finish())
    }

    /// Streams the rows of `sql` (bound to `binds`) into a [`ReplayStream`]
    /// from a task on the reader pool. Unlike sqlite-es's, the task forwards a
    /// database or decoding error to the consumer and stops, so a failed
    /// replay never looks like a complete one.
    fn replay(&self, sql: &'static str, binds: Vec<String>) -> ReplayStream {
        let (mut feed, stream) = ReplayStream::new(STREAM_CHANNEL_SIZE);
        let pool = self.reader.clone();
        tokio::spawn(async move {
            let mut query = sqlx::query(sql);
            for value in binds {
                query = query.bind(value);
            }
            let mut rows = query.fetch(&pool);
            loop {
                let item = match rows.try_next().await {
                    Ok(None) => return,
                    Ok(Some(row)) => serialized_event(&row),
                    Err(error) => Err(persistence_error(error)),
                };
                let failed = item.is_err();
                if feed.push(item).await.is_err() {
                    // The consumer dropped the stream; nobody is waiting for the rest.
                    return;
                }
                if failed {
                    return;
                }
            }
        });
        stream
    }
}

/// Reads delegate to sqlite-es on the reader pool; `persist` is [`SqliteStore::append`]
/// (see there for its contract); streams are bangfu's (see the module docs).
impl PersistedEventRepository for SqliteStore {
    async fn get_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        self.sqlite_es.get_events::<A>(aggregate_id).await
    }

    /// bangfu's own: sqlite-es writes `last_sequence` into the SQL text, so
    /// every call is a new statement to prepare, and this is the query every
    /// cached or snapshotted load runs.
    async fn get_last_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
        last_sequence: usize,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        let rows = sqlx::query(
            "SELECT aggregate_type, aggregate_id, sequence, event_type, event_version,
                    payload, metadata
               FROM events
              WHERE aggregate_type = ? AND aggregate_id = ? AND sequence > ?
              ORDER BY sequence",
        )
        .bind(A::TYPE)
        .bind(aggregate_id)
        .bind(to_i64(last_sequence)?)
        .fetch_all(&self.reader)
        .await
        .map_err(persistence_error)?;
        rows.iter().map(serialized_event).collect()
    }

    async fn get_snapshot<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<Option<SerializedSnapshot>, PersistenceError> {
        self.sqlite_es.get_snapshot::<A>(aggregate_id).await
    }

    async fn persist<A: Aggregate>(
        &self,
        events: &[SerializedEvent],
        snapshot_update: Option<(String, Value, usize)>,
    ) -> Result<(), PersistenceError> {
        self.append(A::TYPE, events, snapshot_update)
            .await
            .map(drop)
    }

    async fn stream_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<ReplayStream, PersistenceError> {
        Ok(self.replay(
            "SELECT aggregate_type, aggregate_id, sequence, event_type, event_version,
                    payload, metadata
               FROM events
              WHERE aggregate_type = ? AND aggregate_id = ?
              ORDER BY sequence",
            vec![A::TYPE.to_string(), aggregate_id.to_string()],
        ))
    }

    async fn stream_all_events<A: Aggregate>(&self) -> Result<ReplayStream, PersistenceError> {
        Ok(self.replay(
            "SELECT aggregate_type, aggregate_id, sequence, event_type, event_version,
                    payload, metadata
               FROM events
              WHERE aggregate_type = ?
              ORDER BY position",
            vec![A::TYPE.to_string()],
        ))
    }
}

fn serialized_event(row: &SqliteRow) -> Result<SerializedEvent, PersistenceError> {
    let text = |column: &str| -> Result<String, PersistenceError> {
        row.try_get(column)
            .map_err(|e| PersistenceError::DeserializationError(Box::new(e)))
    };
    let sequence: i64 = row
        .try_get("sequence")
        .map_err(|e| PersistenceError::DeserializationError(Box::new(e)))?;
    Ok(SerializedEvent {
        aggregate_type: text("aggregate_type")?,
        aggregate_id: text("aggregate_id")?,
        sequence: to_usize(sequence)?,
        event_type: text("event_type")?,
        event_version: text("event_version")?,
        payload: serde_json::from_str(&text("payload")?)?,
        metadata: serde_json::from_str(&text("metadata")?)?,
    })
}

/// Splits a page built by [`SqliteStore::read_log_events`]: per event a
/// header `position,sequence,len,len,len,len,len,len,len;` (byte lengths of
/// aggregate type, aggregate id, event type, event version, payload, actor
/// and recorded-at; -1 for NULL), then those columns back to back. Anything
/// else is reported as corrupt, never guessed at.
fn parse_log_page(page: &str) -> Result<Vec<LogEvent>, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("a page of the log: {what}"));
    let mut events = Vec::new();
    let mut rest = page;
    while !rest.is_empty() {
        let (header, body) = rest.split_once(';').ok_or_else(|| corrupt("no header"))?;
        let mut numbers = [0i64; 9];
        let mut fields = header.split(',');
        for n in &mut numbers {
            *n = fields
                .next()
                .and_then(|f| f.parse().ok())
                .ok_or_else(|| corrupt("a bad header"))?;
        }
        if fields.next().is_some() {
            return Err(corrupt("a bad header"));
        }
        let [position, sequence, lengths @ ..] = numbers;
        let mut body = body;
        let mut take = |length: i64| -> Result<Option<String>, StoreError> {
            if length < 0 {
                return Ok(None);
            }
            let length = usize::try_from(length).map_err(|_| corrupt("a bad length"))?;
            let text = body
                .get(..length)
                .ok_or_else(|| corrupt("a column beyond the page"))?;
            body = &body[length..];
            Ok(Some(text.to_owned()))
        };
        let mut columns = Vec::with_capacity(lengths.len());
        for length in lengths {
            columns.push(take(length)?);
        }
        let mut columns = columns.into_iter();
        let mut required = |what: &str| {
            columns
                .next()
                .flatten()
                .ok_or_else(|| corrupt(&format!("{what} is NULL")))
        };
        let aggregate_type = required("aggregate_type")?;
        let aggregate_id = required("aggregate_id")?;
        let event_type = required("event_type")?;
        let event_version = required("event_version")?;
        let payload = required("payload")?;
        let actor = columns.next().flatten();
        let recorded_at = columns.next().flatten();
        events.push(LogEvent {
            log_position: LogPosition::at(
                u64::try_from(position).map_err(|_| corrupt("a negative position"))?,
            ),
            aggregate_type,
            aggregate_id,
            sequence: u64::try_from(sequence).map_err(|_| corrupt("a negative sequence"))?,
            event_type,
            event_version,
            payload,
            actor,
            recorded_at,
        });
        rest = body;
    }
    Ok(events)
}

fn stored_event(row: &SqliteRow) -> Result<StoredEvent, StoreError> {
    let corrupt =
        |what: &str, e: &dyn std::fmt::Display| StoreError::Corrupt(format!("events.{what}: {e}"));
    let position: i64 = row.try_get("position")?;
    let sequence: i64 = row.try_get("sequence")?;
    let event_id: String = row.try_get("event_id")?;
    let payload: String = row.try_get("payload")?;
    let metadata: String = row.try_get("metadata")?;
    let position = u64::try_from(position).map_err(|e| corrupt("position", &e))?;
    Ok(StoredEvent {
        position,
        log_position: LogPosition::at(position),
        event_id: Uuid::parse_str(&event_id).map_err(|e| corrupt("event_id", &e))?,
        aggregate_type: row.try_get("aggregate_type")?,
        aggregate_id: row.try_get("aggregate_id")?,
        sequence: usize::try_from(sequence).map_err(|e| corrupt("sequence", &e))?,
        event_type: row.try_get("event_type")?,
        event_version: row.try_get("event_version")?,
        payload: serde_json::from_str(&payload).map_err(|e| corrupt("payload", &e))?,
        metadata: serde_json::from_str::<HashMap<String, String>>(&metadata)
            .map_err(|e| corrupt("metadata", &e))?,
        recorded_at: row.try_get("recorded_at")?,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

pub(super) fn persistence_error(error: sqlx::Error) -> PersistenceError {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => PersistenceError::ConnectionError(Box::new(error)),
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => {
            PersistenceError::DeserializationError(Box::new(error))
        }
        _ => PersistenceError::UnknownError(Box::new(error)),
    }
}

fn unknown(message: &'static str) -> PersistenceError {
    PersistenceError::UnknownError(message.into())
}

pub(super) fn to_i64(n: usize) -> Result<i64, PersistenceError> {
    i64::try_from(n).map_err(|e| PersistenceError::UnknownError(Box::new(e)))
}

pub(super) fn to_u64(n: i64) -> Result<u64, PersistenceError> {
    u64::try_from(n).map_err(|e| PersistenceError::DeserializationError(Box::new(e)))
}

pub(super) fn to_usize(n: i64) -> Result<usize, PersistenceError> {
    usize::try_from(n).map_err(|e| PersistenceError::DeserializationError(Box::new(e)))
}

#[cfg(test)]
mod tests {
    use super::parse_log_page;

    #[test]
    fn a_log_page_splits_by_its_byte_lengths_whatever_the_payload_holds() {
        // A payload holding the header's own separators and Chinese text.
        let payload = r#"{"VisitLogged":{"findings":"家中3人;1,2,3;"}}"#;
        let page = format!(
            "7,2,13,4,11,3,{},-1,27;hardship_fileHF-1VisitLogged1.0{payload}2026-03-01T09:00:00.000000Z\
             8,1,13,4,10,3,2,2,-1;hardship_fileHF-2FileOpened1.0{{}}wu",
            payload.len()
        );
        let events = parse_log_page(&page).unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].log_position.position, 7);
        assert_eq!(events[0].sequence, 2);
        assert_eq!(events[0].aggregate_id, "HF-1");
        assert_eq!(events[0].payload, payload);
        assert_eq!(events[0].actor, None);
        assert_eq!(
            events[0].recorded_at.as_deref(),
            Some("2026-03-01T09:00:00.000000Z")
        );
        assert_eq!(events[1].event_type, "FileOpened");
        assert_eq!(events[1].payload, "{}");
        assert_eq!(events[1].actor.as_deref(), Some("wu"));
        assert_eq!(events[1].recorded_at, None);
        assert!(parse_log_page("").unwrap().is_empty());
    }

    #[test]
    fn a_damaged_log_page_is_corrupt_not_guessed_at() {
        for page in [
            "7,2,13,4,11,3,2,-1,-1",                               // no end of header
            "7,2,13,4,11,3,2,-1;hardship_fileHF-1",                // a number missing
            "7,2,13,4,11,3,2,-1,-1,9;x",                           // one too many
            "7,2,13,4,11,3,99,-1,-1;hardship_fileHF-1Ev1.0{}",     // beyond the page
            "7,2,13,-1,11,3,2,-1,-1;hardship_fileEvent_Type1.0{}", // required NULL
            "-7,2,1,1,1,1,2,-1,-1;abcd{}",                         // negative position
            "7,2,1,1,1,1,1,-1,-1;abcd家",                          // splits a character
        ] {
            assert!(
                matches!(
                    parse_log_page(page),
                    Err(crate::store::StoreError::Corrupt(_))
                ),
                "{page}"
            );
        }
    }
}
