//! The SQL that SQLite and PostgreSQL share, written once: the writes of a
//! prepared commit (events, reservations, snapshot), `import`, and the reads
//! that are the same statement on both (a stream, snapshots, stream lists,
//! counts, chain verification), generic over `sqlx::Database`.
//!
//! Statements are written with `?` placeholders; [`Dialect::sql`] numbers
//! them for PostgreSQL. What really differs between the two databases is a
//! [`Dialect`] constant (how JSON and the transaction id are read as text,
//! how a UUID and JSON are bound, the log's order) or stays in the store's
//! own file: PostgreSQL's gap-safe log page (`xid8`), SQLite's writer task
//! and its length-framed log page.

use std::borrow::Cow;
use std::collections::HashMap;
use std::marker::PhantomData;

use cqrs_es::persist::{PersistenceError, SerializedEvent, SerializedSnapshot};
use domain::reservation::Reservation;
use futures::TryStreamExt;
use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Pool, Row, Type};
use uuid::Uuid;

use super::commit::{Head, PreparedCommit, PreparedEvent, ReservationExtractor};
use super::hash::GENESIS_HASH;
use super::money::{self, MoneyConn};
use super::{
    check_continues, Appended, ChainReport, ChainRow, ChainVerifier, LogPosition,
    ReservationConflict, StoreError, StoredEvent, StreamHead,
};
use domain::money::Movement;

/// A reservation freed by a concurrent commit between our INSERT and SELECT
/// is retried this often before giving up (PostgreSQL; SQLite has one writer).
const RESERVATION_ATTEMPTS: usize = 3;

/// What differs between the SQL databases in the statements of this module.
pub(crate) trait Dialect: Database {
    /// `text` with its `?` placeholders as this database writes them.
    fn sql(text: &str) -> Cow<'_, str>;
    /// Every column of `events` as [`stored_event`] reads them (the commit
    /// part of the log position as text, `log_commit_text`).
    const EVENT_COLUMNS: &'static str;
    /// The columns of a cqrs-es `SerializedEvent`, JSON as text.
    const SERIALIZED_COLUMNS: &'static str;
    /// The columns a chain check reads, JSON as text.
    const CHAIN_COLUMNS: &'static str;
    /// `snapshots.payload` as text.
    const SNAPSHOT_PAYLOAD: &'static str;
    /// `ORDER BY` terms of the global log, and the same descending.
    const LOG_ORDER: &'static str;
    /// See [`Dialect::LOG_ORDER`].
    const LOG_ORDER_DESC: &'static str;
    /// `ORDER BY` terms that put streams in byte order.
    const STREAM_ORDER: &'static str;
    /// A parameter holding JSON text.
    const JSON_PARAM: &'static str;
    /// The events INSERT, returning the position and the commit part (text).
    const INSERT_EVENT: &'static str;
}

impl Dialect for sqlx::Sqlite {
    fn sql(text: &str) -> Cow<'_, str> {
        Cow::Borrowed(text)
    }
    const EVENT_COLUMNS: &'static str = "position, '0' AS log_commit_text, event_id,
        aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata,
        recorded_at, prev_hash, hash";
    const SERIALIZED_COLUMNS: &'static str =
        "aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata";
    const CHAIN_COLUMNS: &'static str = "aggregate_type, aggregate_id, sequence, event_type,
        event_version, payload, metadata, prev_hash, hash";
    const SNAPSHOT_PAYLOAD: &'static str = "payload";
    const LOG_ORDER: &'static str = "position";
    const LOG_ORDER_DESC: &'static str = "position DESC";
    const STREAM_ORDER: &'static str = "aggregate_type, aggregate_id";
    const JSON_PARAM: &'static str = "?";
    const INSERT_EVENT: &'static str =
        "INSERT INTO events (event_id, aggregate_type, aggregate_id, sequence, event_type,
                             event_version, payload, metadata, recorded_at, prev_hash, hash)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         RETURNING position, '0'";
}

/// The transaction id comes out as text (sqlx has no `xid8` type) under a
/// name of its own: a plain `ORDER BY transaction_id` names the SELECT list's
/// column before the table's, so an alias `transaction_id` would make the log
/// order textual — "10000" before "9999" — and readers would skip events once
/// the cluster's transaction ids gain a digit. JSON goes in as text cast to
/// `json`, so the stored text is exactly what was hashed (a
/// `serde_json::Value` parameter is sent as `jsonb`, re-spaced and reordered).
impl Dialect for sqlx::Postgres {
    fn sql(text: &str) -> Cow<'_, str> {
        let mut out = String::with_capacity(text.len() + 16);
        let mut n = 0;
        for c in text.chars() {
            if c == '?' {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
            } else {
                out.push(c);
            }
        }
        Cow::Owned(out)
    }
    const EVENT_COLUMNS: &'static str = "position, transaction_id::text AS log_commit_text,
        event_id::text AS event_id, aggregate_type, aggregate_id, sequence, event_type,
        event_version, payload::text AS payload, metadata::text AS metadata, recorded_at,
        prev_hash, hash";
    const SERIALIZED_COLUMNS: &'static str = "aggregate_type, aggregate_id, sequence, event_type,
        event_version, payload::text AS payload, metadata::text AS metadata";
    const CHAIN_COLUMNS: &'static str = "aggregate_type, aggregate_id, sequence, event_type,
        event_version, payload::text AS payload, metadata::text AS metadata, prev_hash, hash";
    const SNAPSHOT_PAYLOAD: &'static str = "payload::text";
    const LOG_ORDER: &'static str = "events.transaction_id, events.position";
    const LOG_ORDER_DESC: &'static str = "events.transaction_id DESC, events.position DESC";
    const STREAM_ORDER: &'static str = "aggregate_type COLLATE \"C\", aggregate_id COLLATE \"C\"";
    const JSON_PARAM: &'static str = "CAST(? AS json)";
    const INSERT_EVENT: &'static str =
        "INSERT INTO events (event_id, aggregate_type, aggregate_id, sequence, event_type,
                             event_version, payload, metadata, recorded_at, prev_hash, hash)
         VALUES (CAST($1 AS uuid), $2, $3, $4, $5, $6, CAST($7 AS json), CAST($8 AS json),
                 $9, $10, $11)
         RETURNING position, transaction_id::text";
}

/// One row for the events INSERT.
pub(super) struct NewRow<'a> {
    pub event_id: Uuid,
    pub aggregate_type: &'a str,
    pub aggregate_id: &'a str,
    pub sequence: i64,
    pub event_type: &'a str,
    pub event_version: &'a str,
    pub payload: &'a str,
    pub metadata: &'a str,
    pub recorded_at: Option<&'a str>,
    pub prev_hash: &'a str,
    pub hash: &'a str,
}

/// The shared statements, for one database `DB` (`Sql::<Sqlite>::…`).
pub(crate) struct Sql<DB>(PhantomData<DB>);

impl<DB> Sql<DB>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
    for<'q> String: Encode<'q, DB>,
    for<'q> i64: Encode<'q, DB>,
    for<'r> String: Decode<'r, DB> + Type<DB>,
    for<'r> Option<String>: Decode<'r, DB>,
    for<'r> i64: Decode<'r, DB> + Type<DB>,
    for<'a> &'a str: ColumnIndex<DB::Row>,
    usize: ColumnIndex<DB::Row>,
    DB::Connection: MoneyConn,
{
    /// Writes one prepared commit from its stream's head `start` (checked
    /// with [`PreparedCommit::check_head`]) inside the caller's transaction: each event with
    /// its hash link, then the event's reservations; then the snapshot. An
    /// error may leave writes behind: roll the transaction (or savepoint) back.
    pub async fn write_commit(
        conn: &mut DB::Connection,
        commit: &PreparedCommit,
        start: Head,
    ) -> Result<(Vec<Appended>, Head), PersistenceError> {
        let (last_sequence, mut prev_hash) = start;
        let mut appended = Vec::with_capacity(commit.events.len());
        for event in &commit.events {
            let hash = event.hash_after(&prev_hash);
            let (position, log_commit) =
                Self::insert_event(conn, &new_row(commit, event, &prev_hash, &hash)?)
                    .await
                    .map_err(insert_error)?;
            Self::apply_reservations(conn, commit, event, position).await?;
            let position = to_u64(position)?;
            appended.push(Appended {
                sequence: event.sequence,
                position,
                event_id: event.event_id,
                log_position: LogPosition {
                    commit: log_commit,
                    position,
                },
            });
            prev_hash = hash;
        }
        Self::apply_movements(conn, commit).await?;
        if let (Some((state, number)), Some(last)) = (&commit.snapshot, commit.events.last()) {
            Self::write_snapshot(conn, commit, last.sequence, *number, state).await?;
        }
        if let Some(key) = &commit.key {
            Self::insert_key(conn, key, None).await?;
        }
        let sequence = appended.last().map_or(last_sequence, |a| a.sequence);
        Ok((appended, (sequence, prev_hash)))
    }

    /// The reservations `event` (at `position`) declares, in its commit's
    /// transaction: one step of the commit, beside the others.
    async fn apply_reservations(
        conn: &mut DB::Connection,
        commit: &PreparedCommit,
        event: &PreparedEvent,
        position: i64,
    ) -> Result<(), PersistenceError> {
        for reservation in &event.reservations {
            Self::apply_reservation(
                conn,
                &commit.aggregate_type,
                &commit.aggregate_id,
                position,
                reservation,
            )
            .await?;
        }
        Ok(())
    }

    /// The money the commit's events move, once for the whole commit (its
    /// net effect per account is what is checked), in its transaction: a
    /// debit an account cannot cover refuses the commit (`store::money`).
    async fn apply_movements(
        conn: &mut DB::Connection,
        commit: &PreparedCommit,
    ) -> Result<(), PersistenceError> {
        let movements: Vec<Movement> = commit
            .events
            .iter()
            .flat_map(|e| e.movements.iter().cloned())
            .collect();
        if movements.is_empty() {
            return Ok(());
        }
        money::apply(conn, &movements, true)
            .await
            .map_err(|e| e.into_persistence(persistence_error))
    }

    /// Inserts the first snapshot, or replaces number − 1, inside the events'
    /// transaction: anything else means another writer snapshotted first,
    /// and the whole commit is refused (postgres-es and sqlite-es commit the
    /// events first and report the conflict after).
    async fn write_snapshot(
        conn: &mut DB::Connection,
        commit: &PreparedCommit,
        last_sequence: usize,
        number: usize,
        state: &str,
    ) -> Result<(), PersistenceError> {
        let sql = format!(
            "INSERT INTO snapshots (aggregate_type, aggregate_id, last_sequence,
                                    current_snapshot, payload)
             VALUES (?, ?, ?, ?, {})
             ON CONFLICT (aggregate_type, aggregate_id) DO UPDATE
                SET last_sequence = excluded.last_sequence,
                    current_snapshot = excluded.current_snapshot,
                    payload = excluded.payload
              WHERE snapshots.current_snapshot = excluded.current_snapshot - 1
             RETURNING 1",
            DB::JSON_PARAM
        );
        let written = sqlx::query(&DB::sql(&sql))
            .bind(commit.aggregate_type.as_str())
            .bind(commit.aggregate_id.as_str())
            .bind(to_i64(last_sequence)?)
            .bind(to_i64(number)?)
            .bind(state)
            .fetch_optional(&mut *conn)
            .await
            .map_err(persistence_error)?;
        match written {
            Some(_) => Ok(()),
            None => Err(PersistenceError::OptimisticLockError),
        }
    }

    /// Inserts one event, returning its position and the commit part of its
    /// log position.
    pub async fn insert_event(
        conn: &mut DB::Connection,
        row: &NewRow<'_>,
    ) -> Result<(i64, u64), sqlx::Error> {
        let returned = sqlx::query(DB::INSERT_EVENT)
            .bind(row.event_id.to_string())
            .bind(row.aggregate_type)
            .bind(row.aggregate_id)
            .bind(row.sequence)
            .bind(row.event_type)
            .bind(row.event_version)
            .bind(row.payload)
            .bind(row.metadata)
            .bind(row.recorded_at)
            .bind(row.prev_hash)
            .bind(row.hash)
            .fetch_one(&mut *conn)
            .await?;
        let position: i64 = returned.try_get(0)?;
        let commit: String = returned.try_get(1)?;
        let commit = commit
            .parse::<u64>()
            .map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
        Ok((position, commit))
    }

    /// Applies one declared reservation of the event at `position`.
    ///
    /// `ON CONFLICT DO NOTHING` waits (PostgreSQL) for a concurrent taker to
    /// finish, so two commits racing for one key cannot both win; then the
    /// holder is read. Taking a key one already holds, or releasing one it
    /// does not, changes nothing.
    pub async fn apply_reservation(
        conn: &mut DB::Connection,
        aggregate_type: &str,
        aggregate_id: &str,
        position: i64,
        reservation: &Reservation,
    ) -> Result<(), PersistenceError> {
        let (scope, key) = match reservation {
            Reservation::Take { scope, key } => (scope, key),
            Reservation::Release { scope, key } => {
                sqlx::query(&DB::sql(
                    "DELETE FROM reservations
                      WHERE scope = ? AND key = ? AND aggregate_type = ? AND aggregate_id = ?",
                ))
                .bind(scope.as_str())
                .bind(key.as_str())
                .bind(aggregate_type)
                .bind(aggregate_id)
                .execute(&mut *conn)
                .await
                .map_err(persistence_error)?;
                return Ok(());
            }
        };
        for _ in 0..RESERVATION_ATTEMPTS {
            let inserted = sqlx::query(&DB::sql(
                "INSERT INTO reservations (scope, key, aggregate_type, aggregate_id, position)
                 VALUES (?, ?, ?, ?, ?)
                 ON CONFLICT (scope, key) DO NOTHING
                 RETURNING 1",
            ))
            .bind(scope.as_str())
            .bind(key.as_str())
            .bind(aggregate_type)
            .bind(aggregate_id)
            .bind(position)
            .fetch_optional(&mut *conn)
            .await
            .map_err(persistence_error)?;
            if inserted.is_some() {
                return Ok(());
            }
            let holder = sqlx::query(&DB::sql(
                "SELECT aggregate_type, aggregate_id FROM reservations
                  WHERE scope = ? AND key = ?",
            ))
            .bind(scope.as_str())
            .bind(key.as_str())
            .fetch_optional(&mut *conn)
            .await
            .map_err(persistence_error)?;
            let Some(holder) = holder else {
                // Released between our INSERT and SELECT: try again.
                continue;
            };
            let held_type: String = holder.try_get(0).map_err(persistence_error)?;
            let held_by: String = holder.try_get(1).map_err(persistence_error)?;
            if held_type == aggregate_type && held_by == aggregate_id {
                return Ok(());
            }
            tracing::debug!(
                scope = scope.as_str(),
                aggregate_type,
                "commit refused: key reserved by another aggregate"
            );
            return Err(PersistenceError::UnknownError(Box::new(
                ReservationConflict {
                    scope: *scope,
                    key: key.clone(),
                    held_by,
                },
            )));
        }
        Err(PersistenceError::OptimisticLockError)
    }

    /// The last sequence and hash of one stream, inside `conn`'s transaction.
    pub async fn stream_head(
        conn: &mut DB::Connection,
        aggregate_type: &str,
        aggregate_id: &str,
    ) -> Result<Option<Head>, PersistenceError> {
        let row = sqlx::query(&DB::sql(
            "SELECT sequence, hash FROM events
              WHERE aggregate_type = ? AND aggregate_id = ?
              ORDER BY sequence DESC LIMIT 1",
        ))
        .bind(aggregate_type)
        .bind(aggregate_id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(persistence_error)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let sequence: i64 = row.try_get(0).map_err(persistence_error)?;
        Ok(Some((
            to_usize(sequence)?,
            row.try_get(1).map_err(persistence_error)?,
        )))
    }

    /// Inserts events exactly as another store holds them inside `conn`'s
    /// transaction (see [`super::EventStore::import`]): each must continue
    /// its stream; the reservations they declare are applied.
    pub async fn import(
        conn: &mut DB::Connection,
        events: &[StoredEvent],
        reservations: ReservationExtractor,
    ) -> Result<(), StoreError> {
        let mut heads: HashMap<(String, String), (u64, String)> = HashMap::new();
        for event in events {
            let stream = (event.aggregate_type.clone(), event.aggregate_id.clone());
            let head = match heads.get(&stream) {
                Some(head) => head.clone(),
                None => Self::stream_head(conn, &event.aggregate_type, &event.aggregate_id)
                    .await
                    .map_err(|e| StoreError::Import(e.to_string()))?
                    .map_or_else(|| (0, GENESIS_HASH.to_string()), |(s, h)| (s as u64, h)),
            };
            check_continues(event, &head)?;
            // Through a `Value`: its object's keys are sorted, as the source
            // stored them, where a `HashMap`'s order is arbitrary.
            let metadata = serde_json::to_value(&event.metadata)
                .map_err(|e| StoreError::Import(e.to_string()))?
                .to_string();
            let row = NewRow {
                event_id: event.event_id,
                aggregate_type: &event.aggregate_type,
                aggregate_id: &event.aggregate_id,
                sequence: i64::try_from(event.sequence)
                    .map_err(|e| StoreError::Import(format!("sequence: {e}")))?,
                event_type: &event.event_type,
                event_version: &event.event_version,
                payload: &event.payload.to_string(),
                metadata: &metadata,
                recorded_at: event.recorded_at.as_deref(),
                prev_hash: &event.prev_hash,
                hash: &event.hash,
            };
            let (position, _) = Self::insert_event(conn, &row).await?;
            let declared = reservations(
                &event.aggregate_type,
                &event.aggregate_id,
                &event.event_type,
                &event.event_version,
                &event.payload,
            )
            .map_err(StoreError::Import)?;
            for reservation in &declared {
                Self::apply_reservation(
                    conn,
                    &event.aggregate_type,
                    &event.aggregate_id,
                    position,
                    reservation,
                )
                .await
                .map_err(|e| StoreError::Import(e.to_string()))?;
            }
            money::import_event(conn, event).await?;
            heads.insert(stream, (event.sequence as u64, event.hash.clone()));
        }
        Ok(())
    }

    /// The id of the aggregate holding `key` in `scope`, if any.
    pub async fn reservation_holder(
        pool: &Pool<DB>,
        scope: &str,
        key: &str,
    ) -> Result<Option<String>, StoreError> {
        let row = sqlx::query(&DB::sql(
            "SELECT aggregate_id FROM reservations WHERE scope = ? AND key = ?",
        ))
        .bind(scope)
        .bind(key)
        .fetch_optional(pool)
        .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    /// Every event of one stream, all columns, in sequence order.
    pub async fn history(
        pool: &Pool<DB>,
        aggregate_type: &str,
        aggregate_id: &str,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let sql = format!(
            "SELECT {} FROM events WHERE aggregate_type = ? AND aggregate_id = ? ORDER BY sequence",
            DB::EVENT_COLUMNS
        );
        let rows = sqlx::query(&DB::sql(&sql))
            .bind(aggregate_type)
            .bind(aggregate_id)
            .fetch_all(pool)
            .await?;
        rows.iter().map(stored_event).collect()
    }

    /// The newest event in log order, if any.
    pub async fn last_event(pool: &Pool<DB>) -> Result<Option<StoredEvent>, StoreError> {
        let sql = format!(
            "SELECT {} FROM events ORDER BY {} LIMIT 1",
            DB::EVENT_COLUMNS,
            DB::LOG_ORDER_DESC
        );
        let row = sqlx::query(&sql).fetch_optional(pool).await?;
        row.as_ref().map(stored_event).transpose()
    }

    /// How many events the log holds.
    pub async fn count_events(pool: &Pool<DB>) -> Result<u64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) FROM events")
            .fetch_one(pool)
            .await?;
        let count: i64 = row.try_get(0)?;
        u64::try_from(count).map_err(|_| StoreError::Corrupt("negative count".into()))
    }

    /// The ids of the streams of one aggregate type, oldest first.
    pub async fn streams(pool: &Pool<DB>, aggregate_type: &str) -> Result<Vec<String>, StoreError> {
        let sql = format!(
            "SELECT aggregate_id FROM events WHERE aggregate_type = ? AND sequence = 1
              ORDER BY {}",
            DB::LOG_ORDER
        );
        let rows = sqlx::query(&DB::sql(&sql))
            .bind(aggregate_type)
            .fetch_all(pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?)
    }

    /// Every stream's last sequence and hash, in byte order of aggregate type
    /// and id whatever the database's collation.
    pub async fn stream_heads(pool: &Pool<DB>) -> Result<Vec<StreamHead>, StoreError> {
        let rows = sqlx::query(
            "SELECT e.aggregate_type, e.aggregate_id, e.sequence, e.hash
               FROM events e
               JOIN (SELECT aggregate_type, aggregate_id, MAX(sequence) AS sequence
                       FROM events GROUP BY aggregate_type, aggregate_id) last
              USING (aggregate_type, aggregate_id, sequence)",
        )
        .fetch_all(pool)
        .await?;
        let mut heads = rows
            .iter()
            .map(|row| {
                let sequence: i64 = row.try_get(2)?;
                Ok(StreamHead {
                    aggregate_type: row.try_get(0)?,
                    aggregate_id: row.try_get(1)?,
                    sequence: u64::try_from(sequence)
                        .map_err(|e| StoreError::Corrupt(format!("events.sequence: {e}")))?,
                    hash: row.try_get(3)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        heads.sort_unstable();
        Ok(heads)
    }

    /// One stream's events after sequence `after`, as cqrs-es reads them
    /// (sequences bound as `i64`, never `as i32`).
    pub async fn events_after(
        pool: &Pool<DB>,
        aggregate_type: &str,
        aggregate_id: &str,
        after: usize,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        let sql = format!(
            "SELECT {} FROM events
              WHERE aggregate_type = ? AND aggregate_id = ? AND sequence > ?
              ORDER BY sequence",
            DB::SERIALIZED_COLUMNS
        );
        let rows = sqlx::query(&DB::sql(&sql))
            .bind(aggregate_type)
            .bind(aggregate_id)
            .bind(to_i64(after)?)
            .fetch_all(pool)
            .await
            .map_err(persistence_error)?;
        rows.iter().map(serialized_event).collect()
    }

    /// One stream's snapshot, as cqrs-es reads it.
    pub async fn snapshot(
        pool: &Pool<DB>,
        aggregate_type: &str,
        aggregate_id: &str,
    ) -> Result<Option<SerializedSnapshot>, PersistenceError> {
        let sql = format!(
            "SELECT last_sequence, current_snapshot, {} AS payload FROM snapshots
              WHERE aggregate_type = ? AND aggregate_id = ?",
            DB::SNAPSHOT_PAYLOAD
        );
        let row = sqlx::query(&DB::sql(&sql))
            .bind(aggregate_type)
            .bind(aggregate_id)
            .fetch_optional(pool)
            .await
            .map_err(persistence_error)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let decode = |e: sqlx::Error| PersistenceError::DeserializationError(Box::new(e));
        let last_sequence: i64 = row.try_get(0).map_err(decode)?;
        let number: i64 = row.try_get(1).map_err(decode)?;
        let payload: String = row.try_get(2).map_err(decode)?;
        Ok(Some(SerializedSnapshot {
            aggregate_id: aggregate_id.to_string(),
            aggregate: serde_json::from_str(&payload)?,
            current_sequence: to_usize(last_sequence)?,
            current_snapshot: to_usize(number)?,
        }))
    }

    /// The statement a replay runs: one stream in sequence order, or one
    /// aggregate type's events in log order.
    pub fn replay_sql(one_stream: bool) -> String {
        let sql = if one_stream {
            format!(
                "SELECT {} FROM events WHERE aggregate_type = ? AND aggregate_id = ?
                  ORDER BY sequence",
                DB::SERIALIZED_COLUMNS
            )
        } else {
            format!(
                "SELECT {} FROM events WHERE aggregate_type = ? ORDER BY {}",
                DB::SERIALIZED_COLUMNS,
                DB::LOG_ORDER
            )
        };
        DB::sql(&sql).into_owned()
    }

    /// Feeds the rows of `sql` (bound to `binds`) to a replay. Unlike
    /// sqlite-es's and postgres-es's replay tasks, a database or decoding
    /// error is forwarded to the consumer and ends the replay, so a failed
    /// replay never looks like a complete one.
    pub async fn feed_replay(
        pool: Pool<DB>,
        sql: String,
        binds: Vec<String>,
        mut feed: cqrs_es::persist::ReplayFeed,
    ) {
        let mut query = sqlx::query(&sql);
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
            // A consumer that dropped the stream waits for nothing more.
            if feed.push(item).await.is_err() || failed {
                return;
            }
        }
    }

    /// Recomputes hash chains from the stored columns: every stream's, or
    /// one. One statement reads one snapshot, so commits running meanwhile
    /// cannot make a consistent chain look broken.
    pub async fn verify(
        pool: &Pool<DB>,
        stream: Option<(&str, &str)>,
    ) -> Result<ChainReport, StoreError> {
        let sql = match stream {
            Some(_) => format!(
                "SELECT {} FROM events WHERE aggregate_type = ? AND aggregate_id = ?
                  ORDER BY sequence",
                DB::CHAIN_COLUMNS
            ),
            None => format!(
                "SELECT {} FROM events ORDER BY {}, sequence",
                DB::CHAIN_COLUMNS,
                DB::STREAM_ORDER
            ),
        };
        let sql = DB::sql(&sql);
        let mut query = sqlx::query(&sql);
        if let Some((aggregate_type, aggregate_id)) = stream {
            query = query.bind(aggregate_type).bind(aggregate_id);
        }
        let mut rows = query.fetch(pool);
        let mut verifier = ChainVerifier::default();
        while let Some(row) = rows.try_next().await? {
            verifier.check(ChainRow::from_row(&row)?);
        }
        Ok(verifier.finish())
    }
}

/// The INSERT row of one prepared event.
fn new_row<'a>(
    commit: &'a PreparedCommit,
    event: &'a PreparedEvent,
    prev_hash: &'a str,
    hash: &'a str,
) -> Result<NewRow<'a>, PersistenceError> {
    Ok(NewRow {
        event_id: event.event_id,
        aggregate_type: &commit.aggregate_type,
        aggregate_id: &commit.aggregate_id,
        sequence: to_i64(event.sequence)?,
        event_type: &event.event_type,
        event_version: &event.event_version,
        payload: &event.payload,
        metadata: &event.metadata,
        recorded_at: event.recorded_at.as_deref(),
        prev_hash,
        hash,
    })
}

/// A row of [`Dialect::SERIALIZED_COLUMNS`] as cqrs-es's event.
pub(super) fn serialized_event<'r, R>(row: &'r R) -> Result<SerializedEvent, PersistenceError>
where
    R: Row,
    &'r str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    let decode = |e: sqlx::Error| PersistenceError::DeserializationError(Box::new(e));
    let text = |column: &'r str| -> Result<String, PersistenceError> {
        row.try_get(column).map_err(decode)
    };
    let sequence: i64 = row.try_get("sequence").map_err(decode)?;
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

/// A row of [`Dialect::EVENT_COLUMNS`] as a [`StoredEvent`].
pub(super) fn stored_event<'r, R>(row: &'r R) -> Result<StoredEvent, StoreError>
where
    R: Row,
    &'r str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    Option<String>: Decode<'r, R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    let corrupt =
        |what: &str, e: &dyn std::fmt::Display| StoreError::Corrupt(format!("events.{what}: {e}"));
    let position: i64 = row.try_get("position")?;
    let commit: String = row.try_get("log_commit_text")?;
    let sequence: i64 = row.try_get("sequence")?;
    let event_id: String = row.try_get("event_id")?;
    let payload: String = row.try_get("payload")?;
    let metadata: String = row.try_get("metadata")?;
    let position = u64::try_from(position).map_err(|e| corrupt("position", &e))?;
    let commit = commit
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

/// Maps an error of the events INSERT: a taken (aggregate_type, aggregate_id,
/// sequence) is an optimistic-lock conflict, whatever else failed is not.
pub(super) fn insert_error(error: sqlx::Error) -> PersistenceError {
    if let sqlx::Error::Database(db) = &error {
        let code = db.code();
        // SQLite: SQLITE_CONSTRAINT_PRIMARYKEY (1555) or _UNIQUE (2067), on
        // the stream's sequence rather than on event_id.
        let sqlite = matches!(code.as_deref(), Some("1555" | "2067"))
            && db.message().contains("events.sequence");
        // PostgreSQL: unique_violation of the stream's primary key.
        let postgres =
            code.as_deref() == Some("23505") && db.constraint() == Some("events_stream_sequence");
        if sqlite || postgres {
            return PersistenceError::OptimisticLockError;
        }
    }
    persistence_error(error)
}

/// A database error as cqrs-es's kinds.
pub(super) fn persistence_error(error: sqlx::Error) -> PersistenceError {
    match &error {
        // PostgreSQL's serialization_failure, deadlock_detected: nothing was
        // written and a retry from a fresh load is safe — what a conflict means.
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

pub(super) fn to_i64(n: usize) -> Result<i64, PersistenceError> {
    i64::try_from(n).map_err(|e| PersistenceError::UnknownError(Box::new(e)))
}

pub(super) fn to_u64(n: i64) -> Result<u64, PersistenceError> {
    u64::try_from(n).map_err(|e| PersistenceError::DeserializationError(Box::new(e)))
}

pub(super) fn to_usize(n: i64) -> Result<usize, PersistenceError> {
    usize::try_from(n).map_err(|e| PersistenceError::DeserializationError(Box::new(e)))
}
