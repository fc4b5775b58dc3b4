//! [`PgStore`]: the event store on PostgreSQL, for a deployment that outgrew
//! one SQLite file — several application servers, one database.
//!
//! The tables keep postgres-es's column names, so its statements run on
//! them (`tests/it/postgres.rs` runs raw postgres-es beside this store).
//! Three things in postgres-es 0.5 are wrong for bangfu, and bangfu does
//! them itself, with SQLite in `super::sql` where the statement is the same:
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
//! gap-safe global order (see `read_all` below and the migration) — this
//! file holds what is PostgreSQL's own: that order (`xid8`) and the JSON
//! operators of `streams_with_event`.

use std::any::Any;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use cqrs_es::persist::{PersistenceError, ReplayStream, SerializedEvent, SerializedSnapshot};
use domain::reservation::Scope;
use postgres_es::PostgresEventRepository;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::ConnectOptions;
use sqlx::Postgres;
use std::sync::Arc;

use super::commit::{PreparedCommit, ReservationExtractor};
use super::sql::{persistence_error, stored_event, Dialect, Sql};
use super::{
    Appended, ChainReport, EventStore, LogEvent, LogPosition, StoreError, StoredEvent, StreamHead,
    MAX_READ_PAGE,
};

/// Connections per process: commits run concurrently on PostgreSQL.
const MAX_CONNECTIONS: u32 = 10;
/// How long a caller waits for a free connection before it is a storage error.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);
/// Events buffered between a replay stream's reader task and its consumer.
const STREAM_CHANNEL_SIZE: usize = 200;

/// A page of the global log after `($1 commit, $2 position)`, at most `$3`
/// events: gap-safe (only below the oldest transaction still running; see
/// [`PgStore::log_rows`]) and in log order. Shared by both log reads so the
/// rule lives in one place.
const LOG_PAGE: &str = "WHERE (transaction_id, position) > (CAST($1 AS text)::xid8, $2)
    AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
  ORDER BY events.transaction_id, events.position
  LIMIT $3";

/// The event store on PostgreSQL. Cheap to clone: clones share the pool.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    /// postgres-es on the same pool: the loads cqrs-es asks for by
    /// aggregate type (`AnyStore`'s `PersistedEventRepository`).
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
        let replayed = super::money::backfill_pg(&pool).await?;
        if replayed > 0 {
            tracing::info!(events = replayed, "money balances backfilled from the log");
        }
        let location = PathBuf::from(super::redact(url));
        tracing::debug!(location = %location.display(), "event store opened");
        Ok(Self {
            postgres_es: Arc::new(PostgresEventRepository::new(pool.clone())),
            pool,
            reservations,
            location,
        })
    }

    /// postgres-es on the store's pool, for cqrs-es's loads (see `AnyStore`).
    pub(crate) fn postgres_es(&self) -> &PostgresEventRepository {
        &self.postgres_es
    }

    /// The connection pool (for projections that keep their views beside
    /// the events, and for tests).
    pub fn pool(&self) -> &PgPool {
        &self.pool
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
    async fn log_rows(
        &self,
        after: LogPosition,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let position =
            i64::try_from(after.position).map_err(|_| StoreError::ForeignPosition(after))?;
        let rows = sqlx::query(&format!(
            "SELECT {} FROM events {LOG_PAGE}",
            Postgres::EVENT_COLUMNS
        ))
        .bind(after.commit.to_string())
        .bind(position)
        .bind(limit.min(MAX_READ_PAGE) as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(stored_event).collect()
    }

    /// [`PgStore::log_rows`] for projectors (the same gap-safe page) as
    /// [`LogEvent`]s: payload text, `actor_id` picked out of the metadata by
    /// PostgreSQL, nothing projections do not read.
    async fn log_page(
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

    /// The position of the last event [`PgStore::log_rows`] would return
    /// now: the newest below the oldest transaction still running
    /// ([`LogPosition::START`] if none). What a rebuild reads up to.
    async fn readable_head(&self) -> Result<LogPosition, StoreError> {
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

    /// The ids of the streams of `aggregate_type` holding an `event_type`
    /// event whose top-level payload fields equal the given strings, oldest
    /// first (`EventStore::streams_with_event`).
    async fn scan_streams_with_event(
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
}

/// Commits run concurrently, each in its own transaction; reads on the same
/// pool. The gap-safe log is this file's; the rest is shared (`super::sql`).
#[async_trait::async_trait]
impl EventStore for PgStore {
    async fn add_seal(&self, seal: &super::SealRecord) -> Result<(), StoreError> {
        super::seals::add_pg(&self.pool, seal).await
    }

    async fn seals(&self) -> Result<Vec<super::SealRecord>, StoreError> {
        super::seals::all_pg(&self.pool).await
    }

    fn location(&self) -> &Path {
        &self.location
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn reservations(&self) -> ReservationExtractor {
        self.reservations
    }

    async fn close(&self) {
        self.pool.close().await;
    }

    /// The stream's head is read inside the transaction; a concurrent commit
    /// to the same stream fails on the primary key (`OptimisticLockError`).
    async fn commit(&self, commit: PreparedCommit) -> Result<Vec<Appended>, PersistenceError> {
        let mut tx = self.pool.begin().await.map_err(persistence_error)?;
        // Dropping an uncommitted transaction rolls it back.
        let head =
            Sql::<Postgres>::stream_head(&mut tx, &commit.aggregate_type, &commit.aggregate_id)
                .await?;
        let start = commit.check_head(head)?;
        let (appended, _) = Sql::<Postgres>::write_commit(&mut tx, &commit, start).await?;
        tx.commit().await.map_err(persistence_error)?;
        tracing::debug!(
            aggregate_type = commit.aggregate_type,
            aggregate_id = %commit.aggregate_id,
            events = appended.len(),
            "events committed"
        );
        Ok(appended)
    }

    async fn command_key(
        &self,
        user: &str,
        key: &str,
    ) -> Result<Option<super::KeyRecord>, StoreError> {
        Sql::<Postgres>::command_key(&self.pool, user, key).await
    }

    async fn keep_key(
        &self,
        key: &super::CommandKey,
        answer: Option<(u16, &str)>,
    ) -> Result<bool, StoreError> {
        Sql::<Postgres>::keep_key(&self.pool, key, answer).await
    }

    async fn reservation_holder(
        &self,
        scope: Scope,
        key: &str,
    ) -> Result<Option<String>, StoreError> {
        Sql::<Postgres>::reservation_holder(&self.pool, scope.as_str(), key).await
    }

    async fn money_balances(&self) -> Result<Vec<(String, String, i64)>, StoreError> {
        Ok(sqlx::query_as(super::money::BALANCES)
            .fetch_all(&self.pool)
            .await?)
    }

    async fn stream_events_after(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
        after: usize,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        Sql::<Postgres>::events_after(&self.pool, aggregate_type, aggregate_id, after).await
    }

    async fn snapshot(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
    ) -> Result<Option<SerializedSnapshot>, PersistenceError> {
        Sql::<Postgres>::snapshot(&self.pool, aggregate_type, aggregate_id).await
    }

    /// An aggregate type's replay runs in log order (postgres-es orders by
    /// per-stream sequence).
    async fn replay(
        &self,
        aggregate_type: &str,
        aggregate_id: Option<&str>,
    ) -> Result<ReplayStream, PersistenceError> {
        let (feed, stream) = ReplayStream::new(STREAM_CHANNEL_SIZE);
        let binds = std::iter::once(aggregate_type)
            .chain(aggregate_id)
            .map(str::to_string)
            .collect();
        let sql = Sql::<Postgres>::replay_sql(aggregate_id.is_some());
        tokio::spawn(Sql::<Postgres>::feed_replay(
            self.pool.clone(),
            sql,
            binds,
            feed,
        ));
        Ok(stream)
    }

    async fn history(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        Sql::<Postgres>::history(&self.pool, aggregate_type, aggregate_id).await
    }

    async fn read_all(
        &self,
        after: LogPosition,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        self.log_rows(after, limit).await
    }

    async fn read_log_events(
        &self,
        after: LogPosition,
        limit: usize,
    ) -> Result<Vec<LogEvent>, StoreError> {
        self.log_page(after, limit).await
    }

    async fn log_head(&self) -> Result<LogPosition, StoreError> {
        self.readable_head().await
    }

    async fn last_event(&self) -> Result<Option<StoredEvent>, StoreError> {
        Sql::<Postgres>::last_event(&self.pool).await
    }

    async fn count_events(&self) -> Result<u64, StoreError> {
        Sql::<Postgres>::count_events(&self.pool).await
    }

    async fn count_through(&self, upto: LogPosition) -> Result<Option<u64>, StoreError> {
        // A transaction id at or beyond the snapshot's xmax was never issued
        // when this runs: such a row is never below the oldest running
        // transaction, so the gap-safe read never returns it.
        let position =
            i64::try_from(upto.position).map_err(|_| StoreError::ForeignPosition(upto))?;
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM events
              WHERE (transaction_id, position) <= (CAST($1 AS text)::xid8, $2)
                 OR transaction_id >= pg_snapshot_xmax(pg_current_snapshot())",
        )
        .bind(upto.commit.to_string())
        .bind(position)
        .fetch_one(&self.pool)
        .await?;
        Ok(Some(u64::try_from(count).unwrap_or(0)))
    }

    async fn streams(&self, aggregate_type: &str) -> Result<Vec<String>, StoreError> {
        Sql::<Postgres>::streams(&self.pool, aggregate_type).await
    }

    async fn streams_with_event(
        &self,
        aggregate_type: &str,
        event_type: &str,
        fields: &[(&str, &str)],
    ) -> Result<Vec<String>, StoreError> {
        self.scan_streams_with_event(aggregate_type, event_type, fields)
            .await
    }

    async fn stream_heads(&self) -> Result<Vec<StreamHead>, StoreError> {
        Sql::<Postgres>::stream_heads(&self.pool).await
    }

    async fn import(&self, events: &[StoredEvent]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        Sql::<Postgres>::import(&mut tx, events, self.reservations).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn verify_chains(&self) -> Result<ChainReport, StoreError> {
        Sql::<Postgres>::verify(&self.pool, None).await
    }

    async fn verify_chain(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
    ) -> Result<ChainReport, StoreError> {
        Sql::<Postgres>::verify(&self.pool, Some((aggregate_type, aggregate_id))).await
    }
}

#[cfg(test)]
mod tests {
    use crate::store::redact;

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
