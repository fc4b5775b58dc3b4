//! Group commit: the one task that writes to the SQLite file, and the batches
//! it commits.
//!
//! With `synchronous=FULL` every COMMIT waits for an fsync of the WAL (about
//! 4 ms on the benchmark machine), so one commit per command caps a store at a
//! few hundred commands a second however many clients it serves. Here every
//! [`SqliteStore::append`](super::SqliteStore::append) hands its prepared
//! commit to one writer task over a bounded channel and waits on a oneshot
//! reply. The writer takes the write lock (`BEGIN IMMEDIATE`), drains whatever
//! else is queued (up to [`MAX_BATCH`]) and runs each command inside its own
//! `SAVEPOINT`: the command's optimistic-concurrency check, hash-chain link,
//! reservations and snapshot check run exactly as they would alone, against
//! the batch's earlier commands too, and a command that fails is rolled back to
//! its savepoint without touching the others. Then one COMMIT, one fsync, and
//! only after COMMIT returns does any command of the batch get its `Ok`. If the
//! COMMIT (or a savepoint rollback) fails, every command of the batch gets an
//! error: nothing is acknowledged that is not durable.
//!
//! Positions still follow commit order: one writer, commands inserted in batch
//! order, each batch committed atomically after the previous one.
//!
//! What the callers do before queueing (validate sequences, assign event ids,
//! serialize JSON, canonicalize for the hash, read reservations) runs on their
//! own tasks, in parallel; the writer does only what needs the database's
//! current state: the stream head, the SHA-256 link, the statements.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use cqrs_es::persist::PersistenceError;
use domain::reservation::Reservation;
use sqlx::sqlite::{SqliteConnection, SqlitePool};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::hash::{chain_hash, GENESIS_HASH};
use super::sqlite::{persistence_error, to_i64, to_u64, to_usize};
use super::{Appended, ReservationConflict};

/// Most commands committed in one transaction. A bound on how long one batch
/// holds the write lock and on how many callers one failed COMMIT answers.
pub const MAX_BATCH: usize = 128;
/// Commands that may wait for the writer before `append` itself waits for room.
pub const QUEUE_CAPACITY: usize = 1_024;

/// One event, ready to insert: everything but `prev_hash`, `hash` and the
/// position, which depend on what is committed before it.
pub(super) struct PreparedEvent {
    pub event_id: Uuid,
    pub sequence: usize,
    pub event_type: String,
    pub event_version: String,
    pub payload: String,
    pub metadata: String,
    pub recorded_at: Option<String>,
    /// The event's canonical JSON, the second half of its hash input.
    pub canonical: String,
    pub reservations: Vec<Reservation>,
}

/// One `append` call: one stream's consecutive events and its snapshot.
pub(super) struct PreparedCommit {
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub events: Vec<PreparedEvent>,
    /// `(state JSON, snapshot number)`; the state includes every event here.
    pub snapshot: Option<(String, usize)>,
}

pub(super) type Reply = oneshot::Sender<Result<Vec<Appended>, PersistenceError>>;

pub(super) struct WriteRequest {
    pub commit: PreparedCommit,
    pub reply: Reply,
}

/// Counts kept by the writer, for monitoring and the benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteStats {
    /// Transactions committed.
    pub batches: u64,
    /// Commands those transactions committed (refused ones not counted).
    pub commands: u64,
}

#[derive(Default)]
pub(super) struct Counters {
    batches: AtomicU64,
    commands: AtomicU64,
    /// Appends submitted to the writer and not yet answered.
    pub pending: AtomicU64,
}

impl Counters {
    pub fn read(&self) -> WriteStats {
        WriteStats {
            batches: self.batches.load(Ordering::Relaxed),
            commands: self.commands.load(Ordering::Relaxed),
        }
    }
}

/// Starts the writer on `pool` (a pool of exactly one connection). It runs
/// until every sender is dropped.
pub(super) fn spawn(pool: SqlitePool, counters: Arc<Counters>) -> mpsc::Sender<WriteRequest> {
    let (sender, receiver) = mpsc::channel(QUEUE_CAPACITY);
    tokio::spawn(run(pool, receiver, counters));
    sender
}

async fn run(pool: SqlitePool, mut queue: mpsc::Receiver<WriteRequest>, counters: Arc<Counters>) {
    while let Some(first) = queue.recv().await {
        let mut conn = match pool.acquire().await {
            Ok(conn) => conn,
            Err(error) => {
                counters.pending.fetch_sub(1, Ordering::Relaxed);
                let _ = first.reply.send(Err(persistence_error(error)));
                continue;
            }
        };
        // Take the write lock before draining the queue: commands that arrive
        // while another process holds the lock (busy_timeout) join this batch.
        if let Err(error) = sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await {
            counters.pending.fetch_sub(1, Ordering::Relaxed);
            let _ = first.reply.send(Err(persistence_error(error)));
            continue;
        }
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(request) => batch.push(request),
                Err(_) => break,
            }
        }

        let mut results = Vec::with_capacity(batch.len());
        let mut broken: Option<String> = None;
        for request in &batch {
            if broken.is_some() {
                break;
            }
            if let Err(error) = sqlx::query("SAVEPOINT command").execute(&mut *conn).await {
                broken = Some(error.to_string());
                break;
            }
            match commit_one(&mut conn, &request.commit).await {
                Ok(appended) => {
                    if let Err(error) = sqlx::query("RELEASE command").execute(&mut *conn).await {
                        broken = Some(error.to_string());
                    }
                    results.push(Ok(appended));
                }
                Err(refused) => {
                    // Undo this command only; the batch's other commands stand.
                    let mut undone = sqlx::query("ROLLBACK TO command").execute(&mut *conn).await;
                    if undone.is_ok() {
                        undone = sqlx::query("RELEASE command").execute(&mut *conn).await;
                    }
                    if let Err(error) = undone {
                        // Some errors (disk full, I/O) end the whole transaction.
                        broken = Some(error.to_string());
                    }
                    results.push(Err(refused));
                }
            }
        }

        let outcome = match broken {
            Some(reason) => Err(reason),
            None => sqlx::query("COMMIT")
                .execute(&mut *conn)
                .await
                .map(drop)
                .map_err(|e| e.to_string()),
        };
        match &outcome {
            Ok(()) => {
                let committed = results.iter().filter(|r| r.is_ok()).count() as u64;
                counters.batches.fetch_add(1, Ordering::Relaxed);
                counters.commands.fetch_add(committed, Ordering::Relaxed);
                tracing::debug!(commands = batch.len(), committed, "batch committed");
            }
            Err(reason) => {
                // A failed COMMIT (a deferred constraint, I/O) leaves the
                // transaction open; end it so the next batch starts clean.
                if let Err(error) = sqlx::query("ROLLBACK").execute(&mut *conn).await {
                    tracing::warn!(%error, "rollback of a failed batch failed");
                    conn.close_on_drop();
                }
                tracing::warn!(commands = batch.len(), %reason, "batch did not commit");
            }
        }
        drop(conn);

        let mut results = results.into_iter();
        for request in batch {
            let result = match (&outcome, results.next()) {
                (Ok(()), Some(result)) => result,
                // Refused on its own: the refusal stands whatever the batch did.
                (Err(_), Some(Err(refused))) => Err(refused),
                (Err(reason), _) => Err(not_committed(reason)),
                (Ok(()), None) => Err(not_committed("not reached")),
            };
            counters.pending.fetch_sub(1, Ordering::Relaxed);
            // A caller that stopped waiting has nothing to tell.
            let _ = request.reply.send(result);
        }
    }
}

fn not_committed(reason: &str) -> PersistenceError {
    PersistenceError::UnknownError(
        format!("the transaction this command was batched in did not commit: {reason}").into(),
    )
}

/// One command inside the batch transaction: the stream-head check, the hash
/// links, the inserts, reservations and snapshot. Any error leaves its
/// savepoint to be rolled back.
async fn commit_one(
    conn: &mut SqliteConnection,
    commit: &PreparedCommit,
) -> Result<Vec<Appended>, PersistenceError> {
    let aggregate_type = commit.aggregate_type.as_str();
    let aggregate_id = commit.aggregate_id.as_str();
    let head: Option<(i64, String)> = sqlx::query_as(
        "SELECT sequence, hash FROM events
          WHERE aggregate_type = ? AND aggregate_id = ?
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
    match commit.events.first() {
        // Someone committed to this stream since the caller loaded it.
        Some(first) if first.sequence <= last_sequence => {
            return Err(PersistenceError::OptimisticLockError)
        }
        Some(first) if first.sequence != last_sequence + 1 => {
            return Err(PersistenceError::UnknownError(
                "a commit must continue one stream with consecutive sequences".into(),
            ))
        }
        _ => {}
    }

    let mut appended = Vec::with_capacity(commit.events.len());
    for event in &commit.events {
        let hash = chain_hash(&prev_hash, &event.canonical);
        let position: i64 = sqlx::query_scalar(
            "INSERT INTO events (event_id, aggregate_type, aggregate_id, sequence, event_type,
                                 event_version, payload, metadata, recorded_at, prev_hash, hash)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             RETURNING position",
        )
        .bind(event.event_id.to_string())
        .bind(aggregate_type)
        .bind(aggregate_id)
        .bind(to_i64(event.sequence)?)
        .bind(&event.event_type)
        .bind(&event.event_version)
        .bind(&event.payload)
        .bind(&event.metadata)
        .bind(&event.recorded_at)
        .bind(&prev_hash)
        .bind(&hash)
        .fetch_one(&mut *conn)
        .await
        .map_err(insert_error)?;
        for reservation in &event.reservations {
            apply_reservation(conn, aggregate_type, aggregate_id, position, reservation).await?;
        }
        appended.push(Appended {
            sequence: event.sequence,
            position: to_u64(position)?,
            event_id: event.event_id,
        });
        prev_hash = hash;
    }

    if let (Some((state, number)), Some(last)) = (&commit.snapshot, commit.events.last()) {
        // Insert the first snapshot, or replace number - 1; anything else
        // means another writer snapshotted first.
        let written = sqlx::query(
            "INSERT INTO snapshots (aggregate_type, aggregate_id, last_sequence,
                                    current_snapshot, payload)
             VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (aggregate_type, aggregate_id) DO UPDATE
                SET last_sequence = excluded.last_sequence,
                    current_snapshot = excluded.current_snapshot,
                    payload = excluded.payload
              WHERE snapshots.current_snapshot = excluded.current_snapshot - 1",
        )
        .bind(aggregate_type)
        .bind(aggregate_id)
        .bind(to_i64(last.sequence)?)
        .bind(to_i64(*number)?)
        .bind(state)
        .execute(&mut *conn)
        .await
        .map_err(persistence_error)?;
        if written.rows_affected() != 1 {
            return Err(PersistenceError::OptimisticLockError);
        }
    }
    Ok(appended)
}

/// Applies one declared reservation of the event at `position`.
async fn apply_reservation(
    conn: &mut SqliteConnection,
    aggregate_type: &str,
    aggregate_id: &str,
    position: i64,
    reservation: &Reservation,
) -> Result<(), PersistenceError> {
    match reservation {
        Reservation::Take { scope, key } => {
            let holder: Option<(String, String)> = sqlx::query_as(
                "SELECT aggregate_type, aggregate_id FROM reservations
                  WHERE scope = ? AND key = ?",
            )
            .bind(scope.as_str())
            .bind(key)
            .fetch_optional(&mut *conn)
            .await
            .map_err(persistence_error)?;
            match holder {
                None => {
                    sqlx::query(
                        "INSERT INTO reservations (scope, key, aggregate_type, aggregate_id, position)
                         VALUES (?, ?, ?, ?, ?)",
                    )
                    .bind(scope.as_str())
                    .bind(key)
                    .bind(aggregate_type)
                    .bind(aggregate_id)
                    .bind(position)
                    .execute(&mut *conn)
                    .await
                    .map_err(persistence_error)?;
                }
                // Taking a key one already holds changes nothing.
                Some((t, i)) if t == aggregate_type && i == aggregate_id => {}
                Some((_, held_by)) => {
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
            }
        }
        Reservation::Release { scope, key } => {
            // Only the holder can give a key back; releasing a key one does not
            // hold is a no-op, like taking one it does.
            sqlx::query(
                "DELETE FROM reservations
                  WHERE scope = ? AND key = ? AND aggregate_type = ? AND aggregate_id = ?",
            )
            .bind(scope.as_str())
            .bind(key)
            .bind(aggregate_type)
            .bind(aggregate_id)
            .execute(&mut *conn)
            .await
            .map_err(persistence_error)?;
        }
    }
    Ok(())
}

/// Maps an error of the events INSERT: a taken (aggregate_type, aggregate_id,
/// sequence) is an optimistic-lock conflict, whatever else failed is not.
fn insert_error(error: sqlx::Error) -> PersistenceError {
    if let sqlx::Error::Database(db) = &error {
        // SQLITE_CONSTRAINT_PRIMARYKEY (1555) or SQLITE_CONSTRAINT_UNIQUE (2067),
        // on the stream's sequence rather than on event_id.
        let unique = matches!(db.code().as_deref(), Some("1555" | "2067"));
        if unique && db.message().contains("events.sequence") {
            return PersistenceError::OptimisticLockError;
        }
    }
    persistence_error(error)
}
