//! [`PgStore`]: the event store on PostgreSQL, for a deployment that outgrew
//! one SQLite file — several application servers, one database.
//!
//! Built on postgres-es: the tables keep its column names and `get_events`,
//! `get_last_events` and `get_snapshot` delegate to
//! `postgres_es::PostgresEventRepository`. Three things in postgres-es 0.5
//! are wrong for bangfu, and this module does them itself:
//!
//! - **32-bit sequences.** postgres-es binds sequences and snapshot numbers
//!   `as i32`, so sequence 2³² + 1 is written as 1 (and 2³¹ as a negative
//!   number). bangfu binds `i64` throughout.
//! - **Replays that end silently.** postgres-es's replay task `unwrap()`s each
//!   row; a database error panics the task and the stream simply ends, looking
//!   complete. bangfu's streams forward the error to the consumer.
//! - **Snapshot conflicts after the commit.** postgres-es commits the events
//!   and only then checks whether its snapshot UPDATE matched a row, reporting
//!   an optimistic-lock error for a command whose events were written. bangfu
//!   checks the snapshot inside the transaction and rolls everything back.
//!
//! Beyond postgres-es: event ids, the hash chain, reservations, and a
//! gap-safe global order (see [`PgStore::read_all`] and the migration).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use cqrs_es::persist::{
    PersistedEventRepository, PersistenceError, ReplayStream, SerializedEvent, SerializedSnapshot,
};
use cqrs_es::Aggregate;
use domain::command::metadata_keys;
use domain::reservation::{Reservation, Scope};
use futures::TryStreamExt;
use postgres_es::PostgresEventRepository;
use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgRow};
use sqlx::ConnectOptions;
use sqlx::Row;
use uuid::Uuid;

use super::hash::{event_hash, HashedEvent, GENESIS_HASH};
use super::sqlite::ReservationExtractor;
use super::{
    Appended, ChainReport, ChainRow, ChainVerifier, LogEvent, LogPosition, ReservationConflict,
    StoreError, StoredEvent, StreamHead, MAX_READ_PAGE,
};

/// Connections per process: commits run concurrently on PostgreSQL.
const MAX_CONNECTIONS: u32 = 10;
/// How long a caller waits for a free connection before it is a storage error.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);
/// Events buffered between a replay stream's reader task and its consumer.
const STREAM_CHANNEL_SIZE: usize = 200;
/// A reservation freed by a concurrent commit between our INSERT and SELECT
/// is retried this often before giving up.
const RESERVATION_ATTEMPTS: usize = 3;

/// Every column of `events` as [`stored_event`] reads it.
///
/// The transaction id comes out as text (sqlx has no `xid8` type) under a
/// name of its own: a plain `ORDER BY transaction_id` names the SELECT list's
/// column before the table's, so an alias `transaction_id` would make the log
/// order textual — "10000" before "9999" — and readers would skip events once
/// the cluster's transaction ids gain a digit.
const EVENT_COLUMNS: &str = "position, transaction_id::text AS transaction_id_text,
    event_id::text AS event_id, aggregate_type, aggregate_id, sequence, event_type,
    event_version, payload::text AS payload, metadata::text AS metadata, recorded_at,
    prev_hash, hash";

/// A page of the global log after `($1 commit, $2 position)`, at most `$3`
/// events: gap-safe (only below the oldest transaction still running; see
/// [`PgStore::read_all`]) and in log order. Shared by both log reads so the
/// rule lives in one place.
const LOG_PAGE: &str = "WHERE (transaction_id, position) > (CAST($1 AS text)::xid8, $2)
    AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
  ORDER BY events.transaction_id, events.position
  LIMIT $3";

/// The event store on PostgreSQL. Cheap to clone: clones share the pool.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    /// postgres-es on the same pool, for the reads it gets right.
    postgres_es: Arc<PostgresEventRepository>,
    reservations: ReservationExtractor,
    /// The URL without its password, for messages.
    location: PathBuf,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://user:pass@host/db`,
    /// `?host=/socket/dir` for a Unix socket) and brings its schema up to
    /// date. `reservations` reads the keys events take and release.
    pub async fn open(url: &str, reservations: ReservationExtractor) -> Result<Self, StoreError> {
        // Slow statements at debug, not warn: see `SqliteStore::open`.
        let options = PgConnectOptions::from_str(url)?
            .log_slow_statements(log::LevelFilter::Debug, std::time::Duration::from_secs(1));
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        let location = PathBuf::from(redact(url));
        tracing::debug!(location = %location.display(), "event store opened");
        Ok(Self {
            postgres_es: Arc::new(PostgresEventRepository::new(pool.clone())),
            pool,
            reservations,
            location,
        })
    }

    /// The database URL without its password.
    pub fn location(&self) -> &Path {
        &self.location
    }

    /// The connection pool (for projections that keep their views beside
    /// the events, and for tests).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Closes the pool, waiting for connections in use to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Appends one stream's events (consecutive sequences, continuing the
    /// stream) and, if given, replaces its snapshot, in one transaction —
    /// the same contract as [`super::SqliteStore::append`].
    ///
    /// Errors: `OptimisticLockError` if a sequence is taken or the snapshot
    /// check fails; `UnknownError(Box<ReservationConflict>)` if another
    /// aggregate holds a key an event takes; `DeserializationError` if the
    /// reservation extractor cannot read an event. Any error writes nothing.
    pub async fn append(
        &self,
        aggregate_type: &str,
        events: &[SerializedEvent],
        snapshot: Option<(String, Value, usize)>,
    ) -> Result<Vec<Appended>, PersistenceError> {
        let Some(first) = events.first() else {
            return match snapshot {
                None => Ok(Vec::new()),
                Some(_) => Err(unknown("a snapshot must come with the events it includes")),
            };
        };
        let mut tx = self.pool.begin().await.map_err(persistence_error)?;
        // Dropping an uncommitted transaction rolls it back.
        let appended = self
            .append_in(&mut tx, aggregate_type, events, snapshot)
            .await?;
        tx.commit().await.map_err(persistence_error)?;
        tracing::debug!(
            aggregate_type,
            aggregate_id = %first.aggregate_id,
            events = appended.len(),
            "events committed"
        );
        Ok(appended)
    }

    async fn append_in(
        &self,
        conn: &mut PgConnection,
        aggregate_type: &str,
        events: &[SerializedEvent],
        snapshot: Option<(String, Value, usize)>,
    ) -> Result<Vec<Appended>, PersistenceError> {
        let aggregate_id = events[0].aggregate_id.as_str();
        let head: Option<(i64, String)> = sqlx::query_as(
            "SELECT sequence, hash FROM events
              WHERE aggregate_type = $1 AND aggregate_id = $2
              ORDER BY sequence DESC LIMIT 1",
        )
        .bind(aggregate_type)
        .bind(aggregate_id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(persistence_error)?;
        let (last_sequence, mut prev_hash) = match head {
            Some((sequence, hash)) => (to_usize(sequence)?, hash),
            None => (0, GENESIS_HASH.to_string()),
        };
        if events[0].sequence <= last_sequence {
            return Err(PersistenceError::OptimisticLockError);
        }

        let mut appended = Vec::with_capacity(events.len());
        for (event, expected_sequence) in events.iter().zip(last_sequence + 1..) {
            if event.aggregate_id != aggregate_id
                || event.aggregate_type != aggregate_type
                || event.sequence != expected_sequence
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
            let hash = event_hash(
                &prev_hash,
                &HashedEvent {
                    aggregate_type,
                    aggregate_id,
                    sequence: event.sequence as u64,
                    event_type: &event.event_type,
                    event_version: &event.event_version,
                    payload: &event.payload,
                    metadata: &metadata,
                },
            );
            let (position, transaction_id) = insert_event(
                conn,
                &NewRow {
                    event_id,
                    aggregate_type,
                    aggregate_id,
                    // i64, never `as i32` (postgres-es's 32-bit binding).
                    sequence: to_i64(event.sequence)?,
                    event_type: &event.event_type,
                    event_version: &event.event_version,
                    payload: event.payload.to_string(),
                    metadata: metadata.to_string(),
                    recorded_at: recorded_at.as_deref(),
                    prev_hash: &prev_hash,
                    hash: &hash,
                },
            )
            .await
            .map_err(insert_error)?;

            let declared = (self.reservations)(aggregate_type, &event.event_type, &event.payload)
                .map_err(|reason| {
                PersistenceError::DeserializationError(
                    format!(
                        "cannot read reservations of {aggregate_type} event {}: {reason}",
                        event.event_type
                    )
                    .into(),
                )
            })?;
            for reservation in declared {
                apply_reservation(conn, aggregate_type, aggregate_id, position, reservation)
                    .await?;
            }
            let position = to_u64(position)?;
            appended.push(Appended {
                sequence: event.sequence,
                position,
                event_id,
                log_position: LogPosition {
                    commit: transaction_id,
                    position,
                },
            });
            prev_hash = hash;
        }

        if let Some((snapshot_id, state, number)) = snapshot {
            if snapshot_id != aggregate_id {
                return Err(unknown("a snapshot must be of the stream being appended"));
            }
            let last_sequence = to_i64(events[events.len() - 1].sequence)?;
            // Insert the first snapshot, or replace number - 1, inside the
            // events' transaction: a conflict here rolls the events back too
            // (postgres-es commits first and reports the conflict after).
            let written = sqlx::query(
                "INSERT INTO snapshots (aggregate_type, aggregate_id, last_sequence,
                                        current_snapshot, payload)
                 VALUES ($1, $2, $3, $4, CAST($5 AS json))
                 ON CONFLICT (aggregate_type, aggregate_id) DO UPDATE
                    SET last_sequence = excluded.last_sequence,
                        current_snapshot = excluded.current_snapshot,
                        payload = excluded.payload
                  WHERE snapshots.current_snapshot = excluded.current_snapshot - 1",
            )
            .bind(aggregate_type)
            .bind(aggregate_id)
            .bind(last_sequence)
            .bind(to_i64(number)?)
            .bind(state.to_string())
            .execute(&mut *conn)
            .await
            .map_err(persistence_error)?;
            if written.rows_affected() != 1 {
                return Err(PersistenceError::OptimisticLockError);
            }
        }
        Ok(appended)
    }

    /// The id of the aggregate holding `key` in `scope`, if any.
    pub async fn reservation_holder(
        &self,
        scope: Scope,
        key: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT aggregate_id FROM reservations WHERE scope = $1 AND key = $2",
        )
        .bind(scope.as_str())
        .bind(key)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Every event of one stream, all columns, in sequence order.
    pub async fn history(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {EVENT_COLUMNS} FROM events
              WHERE aggregate_type = $1 AND aggregate_id = $2
              ORDER BY sequence"
        ))
        .bind(aggregate_type)
        .bind(aggregate_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(stored_event).collect()
    }

    /// Up to `limit` (at most [`MAX_READ_PAGE`]) events after `after`, in
    /// log order — what a projector reads from its checkpoint.
    ///
    /// Gap-safe: only rows written by transactions older than the oldest one
    /// still running are returned (`transaction_id <
    /// pg_snapshot_xmin(pg_current_snapshot())`). Every transaction below
    /// that bound has committed or aborted, so no event can later appear
    /// before a position already read; a reader that follows the returned
    /// positions sees every event exactly once. The price: a long
    /// transaction holds readers back until it ends.
    pub async fn read_all(
        &self,
        after: LogPosition,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let position =
            i64::try_from(after.position).map_err(|_| StoreError::ForeignPosition(after))?;
        let rows = sqlx::query(&format!("SELECT {EVENT_COLUMNS} FROM events {LOG_PAGE}"))
            .bind(after.commit.to_string())
            .bind(position)
            .bind(limit.min(MAX_READ_PAGE) as i64)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(stored_event).collect()
    }

    /// [`PgStore::read_all`] for projectors (the same gap-safe page) as
    /// [`LogEvent`]s: payload text, `actor_id` picked out of the metadata by
    /// PostgreSQL, nothing projections do not read.
    pub async fn read_log_events(
        &self,
        after: LogPosition,
        limit: usize,
    ) -> Result<Vec<LogEvent>, StoreError> {
        let position =
            i64::try_from(after.position).map_err(|_| StoreError::ForeignPosition(after))?;
        type Columns = (
            String,
            i64,
            String,
            String,
            i64,
            String,
            String,
            String,
            Option<String>,
            Option<String>,
        );
        let rows: Vec<Columns> = sqlx::query_as(&format!(
            "SELECT transaction_id::text, position, aggregate_type, aggregate_id, sequence,
                    event_type, event_version, payload::text, metadata->>'actor_id', recorded_at
               FROM events {LOG_PAGE}"
        ))
        .bind(after.commit.to_string())
        .bind(position)
        .bind(limit.min(MAX_READ_PAGE) as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(
                |(
                    commit,
                    position,
                    aggregate_type,
                    aggregate_id,
                    sequence,
                    event_type,
                    event_version,
                    payload,
                    actor,
                    recorded_at,
                )| {
                    let corrupt = |what: &str, e: &dyn std::fmt::Display| {
                        StoreError::Corrupt(format!("events.{what}: {e}"))
                    };
                    Ok(LogEvent {
                        log_position: LogPosition {
                            commit: commit
                                .parse::<u64>()
                                .map_err(|e| corrupt("transaction_id", &e))?,
                            position: u64::try_from(position)
                                .map_err(|e| corrupt("position", &e))?,
                        },
                        aggregate_type,
                        aggregate_id,
                        sequence: u64::try_from(sequence).map_err(|e| corrupt("sequence", &e))?,
                        event_type,
                        event_version,
                        payload,
                        actor,
                        recorded_at,
                    })
                },
            )
            .collect()
    }

    /// The position of the last event [`PgStore::read_all`] would return
    /// now: the newest below the oldest transaction still running
    /// ([`LogPosition::START`] if none). What a rebuild reads up to.
    pub async fn log_head(&self) -> Result<LogPosition, StoreError> {
        let row: Option<(String, i64)> = sqlx::query_as(
            "SELECT transaction_id::text AS transaction_text, position FROM events
              WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot())
              ORDER BY transaction_id DESC, position DESC
              LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        let Some((commit, position)) = row else {
            return Ok(LogPosition::START);
        };
        Ok(LogPosition {
            commit: commit
                .parse()
                .map_err(|e| StoreError::Corrupt(format!("transaction_id `{commit}`: {e}")))?,
            position: u64::try_from(position)
                .map_err(|_| StoreError::Corrupt(format!("position {position}")))?,
        })
    }

    /// The newest event in log order, visible or not yet safe to read.
    pub async fn last_event(&self) -> Result<Option<StoredEvent>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {EVENT_COLUMNS} FROM events
              ORDER BY events.transaction_id DESC, events.position DESC
              LIMIT 1"
        ))
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(stored_event).transpose()
    }

    /// How many events the log holds.
    pub async fn count_events(&self) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
            .fetch_one(&self.pool)
            .await?;
        u64::try_from(count).map_err(|_| StoreError::Corrupt("negative count".into()))
    }

    /// The ids of the streams of one aggregate type, oldest first.
    pub async fn streams(&self, aggregate_type: &str) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT aggregate_id FROM events
              WHERE aggregate_type = $1 AND sequence = 1
              ORDER BY transaction_id, position",
        )
        .bind(aggregate_type)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The ids of the streams of `aggregate_type` holding an `event_type`
    /// event whose top-level payload fields equal the given strings, oldest
    /// first (see [`super::SqliteStore::streams_with_event`]).
    pub async fn streams_with_event(
        &self,
        aggregate_type: &str,
        event_type: &str,
        fields: &[(&str, &str)],
    ) -> Result<Vec<String>, StoreError> {
        let mut filter = String::new();
        for i in 0..fields.len() {
            let n = 3 + 2 * i;
            filter.push_str(&format!(
                " AND (payload -> $2 ->> CAST(${n} AS text)) = ${}",
                n + 1
            ));
        }
        let sql = format!(
            "SELECT aggregate_id FROM (
                 SELECT DISTINCT ON (aggregate_id) aggregate_id, transaction_id, position
                   FROM events
                  WHERE aggregate_type = $1 AND event_type = $2{filter}
                  ORDER BY aggregate_id, transaction_id, position) AS first
              ORDER BY transaction_id, position"
        );
        let mut query = sqlx::query_scalar(&sql)
            .bind(aggregate_type)
            .bind(event_type);
        for (field, value) in fields {
            query = query.bind(*field).bind(*value);
        }
        Ok(query.fetch_all(&self.pool).await?)
    }

    /// Every stream's last sequence and hash, by aggregate type and id.
    pub async fn stream_heads(&self) -> Result<Vec<StreamHead>, StoreError> {
        let rows: Vec<(String, String, i64, String)> = sqlx::query_as(
            "SELECT DISTINCT ON (aggregate_type, aggregate_id)
                    aggregate_type, aggregate_id, sequence, hash
               FROM events
              ORDER BY aggregate_type, aggregate_id, sequence DESC",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut heads = rows
            .into_iter()
            .map(|(aggregate_type, aggregate_id, sequence, hash)| {
                Ok(StreamHead {
                    aggregate_type,
                    aggregate_id,
                    sequence: u64::try_from(sequence)
                        .map_err(|e| StoreError::Corrupt(format!("events.sequence: {e}")))?,
                    hash,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        // Byte order, whatever the database's collation, as on SQLite.
        heads.sort_unstable();
        Ok(heads)
    }

    /// Inserts events exactly as another store holds them, in one
    /// transaction (`store copy`); see [`super::SqliteStore::import`].
    pub async fn import(&self, events: &[StoredEvent]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut heads: HashMap<(String, String), (u64, String)> = HashMap::new();
        for event in events {
            let stream = (event.aggregate_type.clone(), event.aggregate_id.clone());
            let head = match heads.get(&stream) {
                Some(head) => head.clone(),
                None => {
                    let head: Option<(i64, String)> = sqlx::query_as(
                        "SELECT sequence, hash FROM events
                          WHERE aggregate_type = $1 AND aggregate_id = $2
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
            let sequence = i64::try_from(event.sequence)
                .map_err(|e| StoreError::Import(format!("sequence: {e}")))?;
            let (position, _) = insert_event(
                &mut tx,
                &NewRow {
                    event_id: event.event_id,
                    aggregate_type: &event.aggregate_type,
                    aggregate_id: &event.aggregate_id,
                    sequence,
                    event_type: &event.event_type,
                    event_version: &event.event_version,
                    payload: event.payload.to_string(),
                    metadata: metadata.to_string(),
                    recorded_at: event.recorded_at.as_deref(),
                    prev_hash: &event.prev_hash,
                    hash: &event.hash,
                },
            )
            .await?;
            let declared =
                (self.reservations)(&event.aggregate_type, &event.event_type, &event.payload)
                    .map_err(StoreError::Import)?;
            for reservation in declared {
                apply_reservation(
                    &mut tx,
                    &event.aggregate_type,
                    &event.aggregate_id,
                    position,
                    reservation,
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
                                      event_version, payload::text AS payload,
                                      metadata::text AS metadata, prev_hash, hash
                                 FROM events";
        // COLLATE "C": streams in byte order, as SQLite reports them.
        let sql = match stream {
            Some(_) => format!(
                "{COLUMNS} WHERE aggregate_type = $1 AND aggregate_id = $2 ORDER BY sequence"
            ),
            None => format!(
                "{COLUMNS} ORDER BY aggregate_type COLLATE \"C\", aggregate_id COLLATE \"C\", sequence"
            ),
        };
        let mut query = sqlx::query(&sql);
        if let Some((aggregate_type, aggregate_id)) = stream {
            query = query.bind(aggregate_type).bind(aggregate_id);
        }
        // One statement reads one snapshot, so commits running meanwhile
        // cannot make a consistent chain look broken.
        let mut rows = query.fetch(&self.pool);
        let mut verifier = ChainVerifier::default();
        while let Some(row) = rows.try_next().await? {
            verifier.check(ChainRow::from_row(&row)?);
        }
        Ok(verifier.finish())
    }

    /// Streams the rows of `sql` (bound to `binds`) into a [`ReplayStream`]
    /// from a task on the pool. Unlike postgres-es's, the task forwards a
    /// database or decoding error to the consumer and stops, so a failed
    /// replay never looks like a complete one.
    fn replay(&self, sql: &'static str, binds: Vec<String>) -> ReplayStream {
        let (mut feed, stream) = ReplayStream::new(STREAM_CHANNEL_SIZE);
        let pool = self.pool.clone();
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
                if feed.push(item).await.is_err() || failed {
                    return;
                }
            }
        });
        stream
    }
}

/// Reads delegate to postgres-es; `persist` is [`PgStore::append`]; streams
/// are bangfu's (see the module docs).
impl PersistedEventRepository for PgStore {
    async fn get_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        self.postgres_es.get_events::<A>(aggregate_id).await
    }

    async fn get_last_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
        last_sequence: usize,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        self.postgres_es
            .get_last_events::<A>(aggregate_id, last_sequence)
            .await
    }

    async fn get_snapshot<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<Option<SerializedSnapshot>, PersistenceError> {
        self.postgres_es.get_snapshot::<A>(aggregate_id).await
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
              WHERE aggregate_type = $1 AND aggregate_id = $2
              ORDER BY sequence",
            vec![A::TYPE.to_string(), aggregate_id.to_string()],
        ))
    }

    async fn stream_all_events<A: Aggregate>(&self) -> Result<ReplayStream, PersistenceError> {
        // Log order (postgres-es orders by per-stream sequence).
        Ok(self.replay(
            "SELECT aggregate_type, aggregate_id, sequence, event_type, event_version,
                    payload, metadata
               FROM events
              WHERE aggregate_type = $1
              ORDER BY transaction_id, position",
            vec![A::TYPE.to_string()],
        ))
    }
}

/// One row for the events INSERT.
struct NewRow<'a> {
    event_id: Uuid,
    aggregate_type: &'a str,
    aggregate_id: &'a str,
    sequence: i64,
    event_type: &'a str,
    event_version: &'a str,
    payload: String,
    metadata: String,
    recorded_at: Option<&'a str>,
    prev_hash: &'a str,
    hash: &'a str,
}

/// Inserts one event, returning its position and transaction id. JSON goes
/// in as text cast to `json`, so the stored text is exactly what was hashed
/// and what another store holds (a `serde_json::Value` parameter is sent as
/// `jsonb`, whose text form reorders and re-spaces).
async fn insert_event(
    conn: &mut PgConnection,
    row: &NewRow<'_>,
) -> Result<(i64, u64), sqlx::Error> {
    let (position, transaction_id): (i64, String) = sqlx::query_as(
        "INSERT INTO events (event_id, aggregate_type, aggregate_id, sequence, event_type,
                             event_version, payload, metadata, recorded_at, prev_hash, hash)
         VALUES (CAST($1 AS uuid), $2, $3, $4, $5, $6, CAST($7 AS json), CAST($8 AS json),
                 $9, $10, $11)
         RETURNING position, transaction_id::text",
    )
    .bind(row.event_id.to_string())
    .bind(row.aggregate_type)
    .bind(row.aggregate_id)
    .bind(row.sequence)
    .bind(row.event_type)
    .bind(row.event_version)
    .bind(&row.payload)
    .bind(&row.metadata)
    .bind(row.recorded_at)
    .bind(row.prev_hash)
    .bind(row.hash)
    .fetch_one(&mut *conn)
    .await?;
    let transaction_id = transaction_id
        .parse::<u64>()
        .map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    Ok((position, transaction_id))
}

/// Applies one declared reservation of the event at `position`.
async fn apply_reservation(
    conn: &mut PgConnection,
    aggregate_type: &str,
    aggregate_id: &str,
    position: i64,
    reservation: Reservation,
) -> Result<(), PersistenceError> {
    match reservation {
        Reservation::Take { scope, key } => {
            for _ in 0..RESERVATION_ATTEMPTS {
                // ON CONFLICT DO NOTHING waits for a concurrent taker to
                // finish, so two commits racing for one key cannot both win.
                let inserted = sqlx::query(
                    "INSERT INTO reservations (scope, key, aggregate_type, aggregate_id, position)
                     VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (scope, key) DO NOTHING",
                )
                .bind(scope.as_str())
                .bind(&key)
                .bind(aggregate_type)
                .bind(aggregate_id)
                .bind(position)
                .execute(&mut *conn)
                .await
                .map_err(persistence_error)?;
                if inserted.rows_affected() == 1 {
                    return Ok(());
                }
                let holder: Option<(String, String)> = sqlx::query_as(
                    "SELECT aggregate_type, aggregate_id FROM reservations
                      WHERE scope = $1 AND key = $2",
                )
                .bind(scope.as_str())
                .bind(&key)
                .fetch_optional(&mut *conn)
                .await
                .map_err(persistence_error)?;
                match holder {
                    // Taking a key one already holds changes nothing.
                    Some((t, i)) if t == aggregate_type && i == aggregate_id => return Ok(()),
                    Some((_, held_by)) => {
                        tracing::debug!(
                            scope = scope.as_str(),
                            aggregate_type,
                            "commit refused: key reserved by another aggregate"
                        );
                        return Err(PersistenceError::UnknownError(Box::new(
                            ReservationConflict {
                                scope,
                                key,
                                held_by,
                            },
                        )));
                    }
                    // Released between our INSERT and SELECT: try again.
                    None => continue,
                }
            }
            Err(PersistenceError::OptimisticLockError)
        }
        Reservation::Release { scope, key } => {
            sqlx::query(
                "DELETE FROM reservations
                  WHERE scope = $1 AND key = $2 AND aggregate_type = $3 AND aggregate_id = $4",
            )
            .bind(scope.as_str())
            .bind(&key)
            .bind(aggregate_type)
            .bind(aggregate_id)
            .execute(&mut *conn)
            .await
            .map_err(persistence_error)?;
            Ok(())
        }
    }
}

fn serialized_event(row: &PgRow) -> Result<SerializedEvent, PersistenceError> {
    let decode = |e: sqlx::Error| PersistenceError::DeserializationError(Box::new(e));
    let sequence: i64 = row.try_get("sequence").map_err(decode)?;
    Ok(SerializedEvent {
        aggregate_type: row.try_get("aggregate_type").map_err(decode)?,
        aggregate_id: row.try_get("aggregate_id").map_err(decode)?,
        sequence: to_usize(sequence)?,
        event_type: row.try_get("event_type").map_err(decode)?,
        event_version: row.try_get("event_version").map_err(decode)?,
        payload: row.try_get("payload").map_err(decode)?,
        metadata: row.try_get("metadata").map_err(decode)?,
    })
}

fn stored_event(row: &PgRow) -> Result<StoredEvent, StoreError> {
    let corrupt =
        |what: &str, e: &dyn std::fmt::Display| StoreError::Corrupt(format!("events.{what}: {e}"));
    let position: i64 = row.try_get("position")?;
    let transaction_id: String = row.try_get("transaction_id_text")?;
    let sequence: i64 = row.try_get("sequence")?;
    let event_id: String = row.try_get("event_id")?;
    let payload: String = row.try_get("payload")?;
    let metadata: String = row.try_get("metadata")?;
    let position = u64::try_from(position).map_err(|e| corrupt("position", &e))?;
    let commit = transaction_id
        .parse::<u64>()
        .map_err(|e| corrupt("transaction_id", &e))?;
    Ok(StoredEvent {
        position,
        log_position: LogPosition { commit, position },
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

/// `url` with any password replaced by `***`, for messages and logs.
pub(super) fn redact(url: &str) -> String {
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

/// Maps an error of the events INSERT: a taken (aggregate_type, aggregate_id,
/// sequence) is an optimistic-lock conflict, whatever else failed is not.
fn insert_error(error: sqlx::Error) -> PersistenceError {
    if let sqlx::Error::Database(db) = &error {
        if db.code().as_deref() == Some("23505")
            && db.constraint() == Some("events_stream_sequence")
        {
            return PersistenceError::OptimisticLockError;
        }
    }
    persistence_error(error)
}

fn persistence_error(error: sqlx::Error) -> PersistenceError {
    match &error {
        // serialization_failure, deadlock_detected: nothing was written and
        // a retry from a fresh load is safe — what a conflict means.
        sqlx::Error::Database(db) if matches!(db.code().as_deref(), Some("40001" | "40P01")) => {
            PersistenceError::OptimisticLockError
        }
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
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

fn to_i64(n: usize) -> Result<i64, PersistenceError> {
    i64::try_from(n).map_err(|e| PersistenceError::UnknownError(Box::new(e)))
}

fn to_u64(n: i64) -> Result<u64, PersistenceError> {
    u64::try_from(n).map_err(|e| PersistenceError::DeserializationError(Box::new(e)))
}

fn to_usize(n: i64) -> Result<usize, PersistenceError> {
    usize::try_from(n).map_err(|e| PersistenceError::DeserializationError(Box::new(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_hides_the_password_only() {
        assert_eq!(
            redact("postgres://bangfu:s3cret@db.example:5432/bangfu"),
            "postgres://bangfu:***@db.example:5432/bangfu"
        );
        assert_eq!(
            redact("postgres://bangfu@db/bangfu?sslmode=require"),
            "postgres://bangfu@db/bangfu?sslmode=require"
        );
        assert_eq!(redact("not a url"), "(unparsable URL)");
    }
}
