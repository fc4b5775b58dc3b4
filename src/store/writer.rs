//! Group commit: the one task that writes to the SQLite file, and the batches
//! it commits.
//!
//! With `synchronous=FULL` every COMMIT waits for an fsync of the WAL (about
//! 4 ms on the benchmark machine), so one commit per command caps a store at a
//! few hundred commands a second however many clients it serves. Here every
//! commit of a [`SqliteStore`](super::SqliteStore) hands its prepared
//! commit to one writer task over a bounded channel and waits on a oneshot
//! reply. The writer takes the write lock (`BEGIN IMMEDIATE`), drains whatever
//! else is queued (up to [`MAX_BATCH`]), reads the heads of all the batch's
//! streams in one query, and runs each command with exactly the checks it
//! would have alone — optimistic concurrency against its stream head,
//! hash-chain link, reservations, snapshot number — against the batch's
//! earlier commands too. A command refused by the head check has written
//! nothing; one that can be refused after writing (several events,
//! reservations, a snapshot) runs inside its own `SAVEPOINT` and is rolled
//! back to it, so one command's refusal never touches the others. A
//! one-row command needs no savepoint: its only write is one INSERT, and a
//! failure there is unexpected (I/O, a broken schema) and fails the whole
//! batch. That includes one that moves money: it is checked against the
//! batch's balances before its row is written (`batch_money`), and the
//! balances the batch changed are written once, before the COMMIT. Then one COMMIT, one fsync, and only after COMMIT returns does any
//! command of the batch get its `Ok`. If the COMMIT (or a savepoint rollback)
//! fails, every command of the batch gets an error: nothing is acknowledged
//! that is not durable. A batch of one is a plain transaction.
//!
//! Positions still follow commit order: one writer, commands inserted in batch
//! order, each batch committed atomically after the previous one.
//!
//! What the callers do before queueing (validate sequences, assign event ids,
//! serialize JSON, canonicalize for the hash, read reservations) runs on their
//! own tasks, in parallel; the writer does only what needs the database's
//! current state: the stream head, the SHA-256 link, the statements.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use cqrs_es::persist::PersistenceError;
use sqlx::sqlite::{SqliteConnection, SqlitePool};
use sqlx::Sqlite;
use tokio::sync::{mpsc, oneshot};

use super::batch_money::BatchMoney;
use super::commit::Head;
use super::commit::PreparedCommit;
use super::keys::{CommandKey, KeyTaken, KEY_COLUMNS};
use super::sql::{persistence_error, to_i64, to_u64, to_usize, Sql};
use super::Appended;

/// Most commands committed in one transaction. A bound on how long one batch
/// holds the write lock and on how many callers one failed COMMIT answers.
pub const MAX_BATCH: usize = 128;
/// Commands that may wait for the writer before `append` itself waits for room.
pub const QUEUE_CAPACITY: usize = 1_024;

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
    /// Time spent in the batches' final round trip — the last statements
    /// and `COMMIT`, whose fsync dominates it — in microseconds, summed.
    pub commit_micros: u64,
}

#[derive(Default)]
pub(super) struct Counters {
    batches: AtomicU64,
    commands: AtomicU64,
    commit_micros: AtomicU64,
    /// Appends submitted to the writer and not yet answered.
    pub pending: AtomicU64,
}

impl Counters {
    pub fn read(&self) -> WriteStats {
        WriteStats {
            batches: self.batches.load(Ordering::Relaxed),
            commands: self.commands.load(Ordering::Relaxed),
            commit_micros: self.commit_micros.load(Ordering::Relaxed),
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
        // Drain the queue, then take the write lock and read the heads of the
        // batch's streams in the same round trip. Inside the lock only the
        // batch's own commands move those heads (tracked in `heads`).
        let mut batch = vec![first];
        drain(&mut queue, &mut batch);
        let mut heads = match read_heads(&mut conn, &batch, true).await {
            Ok(heads) => heads,
            Err(error) => {
                let reason = error.to_string();
                for request in batch {
                    counters.pending.fetch_sub(1, Ordering::Relaxed);
                    let _ = request.reply.send(Err(not_committed(&reason)));
                }
                continue;
            }
        };
        let mut broken: Option<String> = None;
        // Commands that arrived while BEGIN waited for the lock (another
        // process held it) join this batch too.
        let early = batch.len();
        drain(&mut queue, &mut batch);
        if batch.len() > early {
            match read_heads(&mut conn, &batch[early..], false).await {
                Ok(more) => {
                    for (stream, head) in more {
                        heads.entry(stream).or_insert(head);
                    }
                }
                Err(error) => broken = Some(error.to_string()),
            }
        }

        // One-row commands (one event, no reservation, no snapshot) can only
        // be refused by the head check, before they write: they are collected
        // and inserted together, one statement for the lot. Any failure of
        // that statement is unexpected (I/O, a broken schema) and ends the
        // batch. Other commands can be refused after they wrote: each runs in
        // its own SAVEPOINT and is rolled back to it alone (a batch of one
        // needs none: its transaction is rolled back).
        let single = batch.len() == 1;
        let mut results: Vec<Option<AppendResult>> = (0..batch.len()).map(|_| None).collect();
        // Idempotency keys held before this batch, read under the write lock.
        let mut keys = match held_keys(&mut conn, &batch).await {
            Ok(keys) => keys,
            Err(error) => {
                broken.get_or_insert(error.to_string());
                HashSet::new()
            }
        };
        let mut group: Vec<Pending> = Vec::new();
        let mut release_pending = false;
        let mut money = BatchMoney::default();
        for (index, request) in batch.iter().enumerate() {
            if broken.is_some() {
                break;
            }
            let commit = &request.commit;
            let stream = (commit.aggregate_type.clone(), commit.aggregate_id.clone());
            let start = match commit.check_head(heads.get(&stream).cloned()) {
                Ok(start) => start,
                Err(refused) => {
                    results[index] = Some(Err(refused));
                    continue;
                }
            };
            if let Some(key) = &commit.key {
                // Taken before, or by an earlier command of this batch.
                if !keys.insert((key.user_id.clone(), key.idem_key.clone())) {
                    results[index] = Some(Err(KeyTaken.into_persistence()));
                    continue;
                }
            }
            if let [event] = commit.events.as_slice() {
                if commit.snapshot.is_none() && event.reservations.is_empty() {
                    // Money is decided before the row is written: a refusal
                    // writes nothing (see `batch_money`).
                    if !event.movements.is_empty() {
                        if let Err(refused) = money.check(&mut conn, &event.movements).await {
                            results[index] = Some(Err(refused.into_persistence(persistence_error)));
                            continue;
                        }
                    }
                    let hash = event.hash_after(&start.1);
                    heads.insert(stream, (event.sequence, hash.clone()));
                    group.push(Pending {
                        index,
                        prev_hash: start.1,
                        hash,
                    });
                    continue;
                }
            }
            // Positions follow batch order: the collected rows go in first.
            if let Err(error) = flush(&mut conn, &batch, &mut group, &mut results, "").await {
                broken = Some(error);
                break;
            }
            // This command reads and writes the balances directly.
            if let Err(error) = money.write_back(&mut conn).await {
                broken = Some(error.to_string());
                break;
            }
            if !single {
                // One round trip: the previous command's release and this savepoint.
                let sql = if release_pending {
                    "RELEASE command; SAVEPOINT command"
                } else {
                    "SAVEPOINT command"
                };
                if let Err(error) = run_sql(&mut conn, sql).await {
                    broken = Some(error.to_string());
                    break;
                }
                release_pending = false;
            }
            match Sql::<Sqlite>::write_commit(&mut conn, commit, start).await {
                Ok((appended, new_head)) => {
                    heads.insert(stream, new_head);
                    release_pending = !single;
                    results[index] = Some(Ok(appended));
                }
                Err(refused) => {
                    if !single {
                        // Undo this command only; the batch's other commands stand.
                        let undone =
                            run_sql(&mut conn, "ROLLBACK TO command; RELEASE command").await;
                        if let Err(error) = undone {
                            // Some errors (disk full, I/O) end the whole transaction.
                            broken = Some(error.to_string());
                        }
                    }
                    results[index] = Some(Err(refused));
                }
            }
        }

        let nothing_written = group.is_empty() && !results.iter().any(|r| matches!(r, Some(Ok(_))));
        let (started, mut commit_micros) = (std::time::Instant::now(), 0);
        let outcome: Result<(), String> = match broken {
            Some(reason) => Err(reason),
            // Every command was refused: nothing to make durable.
            None if nothing_written => {
                if let Err(error) = sqlx::query("ROLLBACK").execute(&mut *conn).await {
                    tracing::warn!(%error, "rollback of a refused batch failed");
                    conn.close_on_drop();
                }
                Ok(())
            }
            None => match money.write_back(&mut conn).await {
                Err(error) => Err(error.to_string()),
                Ok(()) => {
                    let tail = if release_pending {
                        "RELEASE command; COMMIT"
                    } else {
                        "COMMIT"
                    };
                    let flushed = flush(&mut conn, &batch, &mut group, &mut results, tail).await;
                    commit_micros =
                        u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
                    flushed
                }
            },
        };
        match &outcome {
            Ok(()) if nothing_written => {}
            Ok(()) => {
                let committed = results.iter().filter(|r| matches!(r, Some(Ok(_)))).count() as u64;
                counters.batches.fetch_add(1, Ordering::Relaxed);
                counters.commands.fetch_add(committed, Ordering::Relaxed);
                counters
                    .commit_micros
                    .fetch_add(commit_micros, Ordering::Relaxed);
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
            let result = match (&outcome, results.next().flatten()) {
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

type AppendResult = Result<Vec<Appended>, PersistenceError>;

/// A one-row command waiting to be inserted with the others of its batch.
struct Pending {
    /// Its place in the batch.
    index: usize,
    prev_hash: String,
    hash: String,
}

/// Takes what is queued, up to [`MAX_BATCH`] in all.
fn drain(queue: &mut mpsc::Receiver<WriteRequest>, batch: &mut Vec<WriteRequest>) {
    while batch.len() < MAX_BATCH {
        match queue.try_recv() {
            Ok(request) => batch.push(request),
            Err(_) => break,
        }
    }
}

/// Inserts the collected one-row commands in one statement, followed by
/// `tail` (e.g. `COMMIT`) in the same round trip, and records their results.
async fn flush(
    conn: &mut SqliteConnection,
    batch: &[WriteRequest],
    group: &mut Vec<Pending>,
    results: &mut [Option<AppendResult>],
    tail: &'static str,
) -> Result<(), String> {
    if group.is_empty() {
        if !tail.is_empty() {
            run_sql(conn, tail).await.map_err(|e| e.to_string())?;
        }
        return Ok(());
    }
    let mut sql = String::from(
        "INSERT INTO events (event_id, aggregate_type, aggregate_id, sequence, event_type,
                             event_version, payload, metadata, recorded_at, prev_hash, hash)
         VALUES ",
    );
    for i in 0..group.len() {
        sql.push_str(if i == 0 { "" } else { ", " });
        sql.push_str("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    }
    sql.push_str(" RETURNING event_id, position");
    let keyed: Vec<&CommandKey> = group
        .iter()
        .filter_map(|p| batch[p.index].commit.key.as_ref())
        .collect();
    if !keyed.is_empty() {
        // The keys of the group's keyed commands, in the same transaction
        // (checked free by `held_keys` under the write lock).
        sql.push_str("; INSERT INTO command_keys (");
        sql.push_str(KEY_COLUMNS);
        sql.push_str(") VALUES ");
        for i in 0..keyed.len() {
            sql.push_str(if i == 0 { "" } else { ", " });
            sql.push_str("(?, ?, ?, ?, ?, ?, ?, NULL, NULL)");
        }
    }
    if !tail.is_empty() {
        sql.push_str("; ");
        sql.push_str(tail);
    }
    let mut query = sqlx::query_as::<_, (String, i64)>(&sql);
    for pending in group.iter() {
        let commit = &batch[pending.index].commit;
        let event = &commit.events[0];
        query = query
            .bind(event.event_id.to_string())
            .bind(&commit.aggregate_type)
            .bind(&commit.aggregate_id)
            .bind(to_i64(event.sequence).map_err(|e| e.to_string())?)
            .bind(&event.event_type)
            .bind(&event.event_version)
            .bind(&event.payload)
            .bind(&event.metadata)
            .bind(&event.recorded_at)
            .bind(&pending.prev_hash)
            .bind(&pending.hash);
    }
    for key in keyed {
        query = query
            .bind(&key.user_id)
            .bind(&key.idem_key)
            .bind(&key.request_sha256)
            .bind(key.command_id.to_string())
            .bind(&key.aggregate_type)
            .bind(&key.aggregate_id)
            .bind(&key.created_at);
    }
    let rows = query
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| e.to_string())?;
    // RETURNING's row order is not specified; match rows by event id.
    let positions: HashMap<String, i64> = rows.into_iter().collect();
    for pending in group.drain(..) {
        let event = &batch[pending.index].commit.events[0];
        let position = positions
            .get(&event.event_id.to_string())
            .copied()
            .ok_or_else(|| "an inserted row was not returned".to_string())?;
        let position = to_u64(position).map_err(|e| e.to_string())?;
        results[pending.index] = Some(Ok(vec![Appended {
            sequence: event.sequence,
            position,
            event_id: event.event_id,
            log_position: super::LogPosition::at(position),
        }]));
    }
    Ok(())
}

/// Runs `sql` (one or more statements, no parameters) as it is: the
/// savepoint and transaction statements, several per round trip.
async fn run_sql(conn: &mut SqliteConnection, sql: &'static str) -> Result<(), sqlx::Error> {
    use sqlx::Executor;
    conn.execute(sql).await.map(drop)
}

/// The idempotency keys of the batch's keyed commands that are already
/// held, in one query (none without keyed commands). Read under the write
/// lock, so no other writer can take one before the batch commits.
async fn held_keys(
    conn: &mut SqliteConnection,
    batch: &[WriteRequest],
) -> Result<HashSet<(String, String)>, sqlx::Error> {
    let keys: Vec<&CommandKey> = batch.iter().filter_map(|r| r.commit.key.as_ref()).collect();
    if keys.is_empty() {
        return Ok(HashSet::new());
    }
    let sql = format!(
        "SELECT user_id, idem_key FROM command_keys WHERE {}",
        vec!["(user_id = ? AND idem_key = ?)"; keys.len()].join(" OR ")
    );
    let mut query = sqlx::query_as::<_, (String, String)>(&sql);
    for key in keys {
        query = query.bind(&key.user_id).bind(&key.idem_key);
    }
    Ok(query.fetch_all(&mut *conn).await?.into_iter().collect())
}

/// The heads of every stream the batch writes, in one query (after `BEGIN
/// IMMEDIATE` in the same round trip if `begin`). Streams absent from the map
/// are new.
async fn read_heads(
    conn: &mut SqliteConnection,
    batch: &[WriteRequest],
    begin: bool,
) -> Result<HashMap<(String, String), Head>, PersistenceError> {
    let mut streams: Vec<(&str, &str)> = batch
        .iter()
        .map(|r| {
            (
                r.commit.aggregate_type.as_str(),
                r.commit.aggregate_id.as_str(),
            )
        })
        .collect();
    streams.sort_unstable();
    streams.dedup();
    // One indexed "last row" lookup per stream, glued with UNION ALL
    // (at most MAX_BATCH of them, under SQLite's compound-select limit).
    let sql = (0..streams.len())
        .map(|i| {
            format!(
                "SELECT {i} AS stream, sequence, hash FROM
                   (SELECT sequence, hash FROM events
                     WHERE aggregate_type = ? AND aggregate_id = ?
                     ORDER BY sequence DESC LIMIT 1)"
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    let sql = if begin {
        format!("BEGIN IMMEDIATE; {sql}")
    } else {
        sql
    };
    let mut query = sqlx::query_as::<_, (i64, i64, String)>(&sql);
    for (aggregate_type, aggregate_id) in &streams {
        query = query.bind(*aggregate_type).bind(*aggregate_id);
    }
    let rows = query
        .fetch_all(&mut *conn)
        .await
        .map_err(persistence_error)?;
    let mut heads = HashMap::with_capacity(rows.len());
    for (stream, sequence, hash) in rows {
        let Some((aggregate_type, aggregate_id)) =
            usize::try_from(stream).ok().and_then(|i| streams.get(i))
        else {
            return Err(PersistenceError::UnknownError(
                "unexpected stream index".into(),
            ));
        };
        heads.insert(
            (aggregate_type.to_string(), aggregate_id.to_string()),
            (to_usize(sequence)?, hash),
        );
    }
    Ok(heads)
}
