//! [`SqliteStore`]: the event store in one SQLite file, and the only code in
//! bangfu that writes to it.
//!
//! The tables keep sqlite-es's column names (its schema is where bangfu
//! started); what bangfu needs beyond sqlite-es is bangfu's own, and shared
//! with PostgreSQL where the SQL is the same (`super::sql`):
//!
//! - a commit writes events with their global position, event id and
//!   hash-chain link, the reservations the events declare, and the snapshot
//!   with its optimistic check, all or nothing. sqlite-es commits the events
//!   and only then reports a snapshot conflict. Concurrent commits are grouped
//!   into one durable transaction, each in its own savepoint (see `writer`).
//! - replays report a database error to the consumer; sqlite-es's stream
//!   task `unwrap()`s it, so a replay would end early looking complete. A
//!   replay of an aggregate type runs in commit (position) order, where
//!   sqlite-es orders by per-stream sequence; its reads `get()` columns and
//!   panic on a bad row, bangfu's report it.
//! - SQLite's own: the writer task (group commit) and the log page read as
//!   one length-framed text value (`read_log_events`).
//!
//! Writes are serialised through one writer task on one connection so that
//! commit order is position order; readers use a small pool of read-only connections, which
//! WAL lets run beside the writer.

use std::any::Any;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use cqrs_es::persist::{PersistenceError, ReplayStream, SerializedEvent, SerializedSnapshot};
use domain::reservation::Scope;
use sqlite_es::SqliteEventRepository;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::ConnectOptions;
use sqlx::Sqlite;
use tokio::sync::{mpsc, oneshot};

use super::commit::{unknown, PreparedCommit, ReservationExtractor};
use super::sql::{stored_event, Sql};
use super::writer::{self, Counters, WriteRequest, WriteStats};
use super::{
    Appended, ChainReport, Durability, EventStore, LogEvent, LogPosition, StoreError, StoredEvent,
    StreamHead, MAX_READ_PAGE,
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
    /// sqlite-es on the reader pool: the loads cqrs-es asks for by
    /// aggregate type (`AnyStore`'s `PersistedEventRepository`).
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
        // Before the writer starts: balances of a store made by an earlier version.
        let replayed = super::money::backfill_sqlite(&writer).await?;
        if replayed > 0 {
            tracing::info!(events = replayed, "money balances backfilled from the log");
        }
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
            writer,
            sqlite_es: Arc::new(SqliteEventRepository::new(reader.clone())),
            reader,
            reservations,
        })
    }

    /// sqlite-es on the reader pool, for cqrs-es's loads (see `AnyStore`).
    pub(crate) fn sqlite_es(&self) -> &SqliteEventRepository {
        &self.sqlite_es
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
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

    /// Appends submitted to the writer and not yet answered (queued, or in
    /// the batch being committed).
    pub fn pending_writes(&self) -> u64 {
        self.counters.pending.load(Ordering::Relaxed)
    }

    /// Batches and commands the writer has committed since the store opened.
    pub fn write_stats(&self) -> WriteStats {
        self.counters.read()
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

    /// The ids of the streams of `aggregate_type` that hold an `event_type`
    /// event whose top-level payload fields equal the given strings, oldest
    /// first. For `Services` lookups such as "the claims of this member in this
    /// plan period" (a linear scan of that event type: a few hundred claims a
    /// period; the projections of issue 3 replace it with an indexed view).
    async fn scan_streams_with_event(
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
    /// `read_log_events`, projectors). SQLite's log positions
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
        let sql = format!(
            "SELECT {} FROM events WHERE position > ? ORDER BY position LIMIT ?",
            <Sqlite as super::sql::Dialect>::EVENT_COLUMNS
        );
        let rows = sqlx::query(&sql)
            .bind(after)
            .bind(limit)
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(stored_event).collect()
    }

    /// [`SqliteStore::read_log`] for projectors (`read_log_events`): the same page as
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
    async fn log_page(
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

    /// Recomputes hash chains (one stream's, or every one) on the reader
    /// pool: one statement is one read snapshot under WAL.
    async fn verify(&self, stream: Option<(&str, &str)>) -> Result<ChainReport, StoreError> {
        Sql::<Sqlite>::verify(&self.reader, stream).await
    }
}

/// Reads on the read-only pool, commits through the writer task, the rest
/// shared with PostgreSQL (`super::sql`).
#[async_trait::async_trait]
impl EventStore for SqliteStore {
    async fn command_key(
        &self,
        user: &str,
        key: &str,
    ) -> Result<Option<super::KeyRecord>, StoreError> {
        Sql::<Sqlite>::command_key(&self.reader, user, key).await
    }

    /// On the writer's connection (between two of its batches), like seals.
    async fn keep_key(
        &self,
        key: &super::CommandKey,
        answer: Option<(u16, &str)>,
    ) -> Result<bool, StoreError> {
        Sql::<Sqlite>::keep_key(&self.writer, key, answer).await
    }

    async fn add_seal(&self, seal: &super::SealRecord) -> Result<(), StoreError> {
        super::seals::add_sqlite(&self.writer, seal).await
    }

    async fn seals(&self) -> Result<Vec<super::SealRecord>, StoreError> {
        super::seals::all_sqlite(&self.reader).await
    }

    fn location(&self) -> &Path {
        &self.path
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn reservations(&self) -> ReservationExtractor {
        self.reservations
    }

    /// Closes both pools, waiting for connections in use to be returned. The
    /// last connection to close checkpoints the WAL into the main file.
    async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }

    /// Concurrent commits are group-committed: the store's writer task
    /// commits whatever is queued in one transaction, each commit in its own
    /// savepoint with all of its checks, and answers each only after that
    /// transaction's COMMIT returned. One commit's error does not affect the
    /// others of its batch; a failed COMMIT fails them all. Dropping the
    /// returned future once the commit is queued does not withdraw it: it
    /// may still happen, unacknowledged.
    async fn commit(&self, commit: PreparedCommit) -> Result<Vec<Appended>, PersistenceError> {
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
            aggregate_id = %aggregate_id,
            events = appended.len(),
            last_position = appended.last().map(|a| a.position),
            "events committed"
        );
        Ok(appended)
    }

    async fn reservation_holder(
        &self,
        scope: Scope,
        key: &str,
    ) -> Result<Option<String>, StoreError> {
        Sql::<Sqlite>::reservation_holder(&self.reader, scope.as_str(), key).await
    }

    async fn money_balances(&self) -> Result<Vec<(String, String, i64)>, StoreError> {
        Ok(sqlx::query_as(super::money::BALANCES)
            .fetch_all(&self.reader)
            .await?)
    }

    async fn stream_events_after(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
        after: usize,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        Sql::<Sqlite>::events_after(&self.reader, aggregate_type, aggregate_id, after).await
    }

    async fn snapshot(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
    ) -> Result<Option<SerializedSnapshot>, PersistenceError> {
        Sql::<Sqlite>::snapshot(&self.reader, aggregate_type, aggregate_id).await
    }

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
        let sql = Sql::<Sqlite>::replay_sql(aggregate_id.is_some());
        tokio::spawn(Sql::<Sqlite>::feed_replay(
            self.reader.clone(),
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
        Sql::<Sqlite>::history(&self.reader, aggregate_type, aggregate_id).await
    }

    async fn read_all(
        &self,
        after: LogPosition,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        self.read_log(after, limit).await
    }

    async fn read_log_events(
        &self,
        after: LogPosition,
        limit: usize,
    ) -> Result<Vec<LogEvent>, StoreError> {
        self.log_page(after, limit).await
    }

    async fn log_head(&self) -> Result<LogPosition, StoreError> {
        self.head_position().await.map(LogPosition::at)
    }

    async fn last_event(&self) -> Result<Option<StoredEvent>, StoreError> {
        Sql::<Sqlite>::last_event(&self.reader).await
    }

    async fn count_events(&self) -> Result<u64, StoreError> {
        Sql::<Sqlite>::count_events(&self.reader).await
    }

    async fn count_through(&self, upto: LogPosition) -> Result<Option<u64>, StoreError> {
        // Positions ≤ 0 sort before START: the log read (`position > after`)
        // never returns them, and this counts them.
        let upto = i64::try_from(upto.position).map_err(|_| StoreError::ForeignPosition(upto))?;
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE position <= ?")
            .bind(upto)
            .fetch_one(&self.reader)
            .await?;
        Ok(Some(u64::try_from(count).unwrap_or(0)))
    }

    async fn streams(&self, aggregate_type: &str) -> Result<Vec<String>, StoreError> {
        Sql::<Sqlite>::streams(&self.reader, aggregate_type).await
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
        Sql::<Sqlite>::stream_heads(&self.reader).await
    }

    /// On the writer connection, under `BEGIN IMMEDIATE`.
    async fn import(&self, events: &[StoredEvent]) -> Result<(), StoreError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        Sql::<Sqlite>::import(&mut tx, events, self.reservations).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn verify_chains(&self) -> Result<ChainReport, StoreError> {
        self.verify(None).await
    }

    async fn verify_chain(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
    ) -> Result<ChainReport, StoreError> {
        self.verify(Some((aggregate_type, aggregate_id))).await
    }
}

/// Splits a page built by [`SqliteStore::log_page`]: per event a
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
