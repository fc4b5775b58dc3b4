//! PostgreSQL-only tests: the three postgres-es 0.5 defects bangfu works
//! around (each test runs raw postgres-es beside `PgStore` and shows the
//! difference), and the gap-safe global order against transactions that
//! commit out of order.
//!
//! Raw postgres-es runs on its own tables (its `db/init.sql`, in schema
//! `raw_es`) in the test's database, so it can be shown misbehaving without
//! touching bangfu's.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use bangfu::store::hash::{event_hash, HashedEvent, GENESIS_HASH};
use bangfu::store::{AnyStore, LogPosition, StoredEvent};
use cqrs_es::persist::{PersistedEventRepository, PersistenceError};
use postgres_es::PostgresEventRepository;
use serde_json::json;
use sqlx::{Connection, PgPool};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::backends::{add, counter_reservations, read_until, serialized, Counter, Fixture};

/// A PgStore on a fresh database, or `None` (skipped, loudly).
async fn pg(test: &str) -> Option<(Fixture, AnyStore)> {
    let f = Fixture::postgres(test).await?;
    assert!(f.store.as_postgres().is_some(), "a PgStore");
    let store = f.store.clone();
    Some((f, store))
}

/// postgres-es on its own copy of its own schema, in the same database.
async fn raw_postgres_es(pool: &PgPool) -> PostgresEventRepository {
    for statement in [
        "CREATE SCHEMA raw_es",
        // postgres-es 0.5's db/init.sql, verbatim but for the schema.
        "CREATE TABLE raw_es.events (
            aggregate_type text NOT NULL, aggregate_id text NOT NULL,
            sequence bigint CHECK (sequence >= 0) NOT NULL,
            event_type text NOT NULL, event_version text NOT NULL,
            payload json NOT NULL, metadata json NOT NULL,
            PRIMARY KEY (aggregate_type, aggregate_id, sequence))",
        "CREATE TABLE raw_es.snapshots (
            aggregate_type text NOT NULL, aggregate_id text NOT NULL,
            last_sequence bigint CHECK (last_sequence >= 0) NOT NULL,
            current_snapshot bigint CHECK (current_snapshot >= 0) NOT NULL,
            payload json NOT NULL,
            PRIMARY KEY (aggregate_type, aggregate_id, last_sequence))",
    ] {
        sqlx::query(statement).execute(pool).await.unwrap();
    }
    PostgresEventRepository::new(pool.clone()).with_tables("raw_es.events", "raw_es.snapshots")
}

/// Writes one event row of a new stream directly, with a valid hash, as a
/// raw writer inside `conn`'s open transaction would.
async fn insert_raw(
    conn: &mut sqlx::PgConnection,
    aggregate_id: &str,
    sequence: i64,
    prev: &str,
) -> String {
    insert_raw_as(conn, aggregate_id, sequence, prev, None).await
}

/// [`insert_raw`], recording `transaction_id` instead of the writing
/// transaction's id if given.
async fn insert_raw_as(
    conn: &mut sqlx::PgConnection,
    aggregate_id: &str,
    sequence: i64,
    prev: &str,
    transaction_id: Option<u64>,
) -> String {
    let event_id = Uuid::now_v7();
    let payload = json!({"Incremented": {"by": 1}});
    let metadata = json!({"event_id": event_id.to_string()});
    let hash = event_hash(
        prev,
        &HashedEvent {
            aggregate_type: "counter",
            aggregate_id,
            sequence: sequence as u64,
            event_type: "Incremented",
            event_version: "1.0",
            payload: &payload,
            metadata: &metadata,
        },
    );
    sqlx::query(
        "INSERT INTO events (event_id, aggregate_type, aggregate_id, sequence, event_type,
                             event_version, payload, metadata, prev_hash, hash, transaction_id)
         VALUES (CAST($1 AS uuid), 'counter', $2, $3, 'Incremented', '1.0',
                 CAST($4 AS json), CAST($5 AS json), $6, $7,
                 COALESCE(CAST($8 AS text)::xid8, pg_current_xact_id()))",
    )
    .bind(event_id.to_string())
    .bind(aggregate_id)
    .bind(sequence)
    .bind(payload.to_string())
    .bind(metadata.to_string())
    .bind(prev)
    .bind(&hash)
    .bind(transaction_id.map(|id| id.to_string()))
    .execute(&mut *conn)
    .await
    .unwrap();
    hash
}

// ---------------------------------------------------------------- postgres-es defects

/// postgres-es binds sequences `as i32`: 2³² + 1 is written as 1. bangfu
/// binds i64.
#[tokio::test]
async fn sequences_beyond_32_bits_are_stored_as_they_are() {
    let Some((f, store)) = pg("postgres::sequences_beyond_32_bits_are_stored_as_they_are").await
    else {
        return;
    };
    const BIG: usize = (1 << 32) + 1;

    // Raw postgres-es: the event is persisted "successfully" as sequence 1.
    let raw = raw_postgres_es(store.as_postgres().unwrap().pool()).await;
    raw.persist::<Counter>(&[serialized("big", BIG)], None)
        .await
        .expect("postgres-es accepts it");
    let stored: Vec<usize> = raw
        .get_events::<Counter>("big")
        .await
        .unwrap()
        .iter()
        .map(|e| e.sequence)
        .collect();
    assert_eq!(stored, [1], "postgres-es truncated 4294967297 to 1");

    // bangfu: a stream whose head is at 2³² (written directly: nobody
    // commits four billion events in a test) continues at 2³² + 1.
    let mut raw_conn = sqlx::PgConnection::connect(&f.url).await.unwrap();
    insert_raw(&mut raw_conn, "big", BIG as i64 - 1, GENESIS_HASH).await;
    store
        .persist::<Counter>(&[serialized("big", BIG)], None)
        .await
        .expect("bangfu appends");
    // Read back through postgres-es's own (correct, i64) read path.
    let sequences: Vec<usize> = store
        .get_events::<Counter>("big")
        .await
        .unwrap()
        .iter()
        .map(|e| e.sequence)
        .collect();
    assert_eq!(sequences, [BIG - 1, BIG]);
    let history = store.history("counter", "big").await.unwrap();
    assert_eq!(history[1].sequence, BIG);
    // A snapshot at that sequence keeps it too (postgres-es: `as i32` again).
    store
        .persist::<Counter>(
            &[serialized("big", BIG + 1)],
            Some(("big".into(), json!({"count": 3, "held": []}), 1)),
        )
        .await
        .unwrap();
    let snapshot = store.get_snapshot::<Counter>("big").await.unwrap().unwrap();
    assert_eq!(snapshot.current_sequence, BIG + 1);
}

/// postgres-es's replay task `unwrap()`s each row: on a database error the
/// task panics and the stream just ends, indistinguishable from a complete
/// replay. bangfu's stream yields the error.
#[tokio::test]
async fn a_replay_reports_a_database_error() {
    let Some((f, store)) = pg("postgres::a_replay_reports_a_database_error").await else {
        return;
    };
    add(&f.engine(None), "a", 2).await;

    // A pool that fails every query (closed), for both.
    let broken = PgPool::connect(&f.url).await.unwrap();
    broken.close().await;
    let raw = PostgresEventRepository::new(broken.clone());
    // postgres-es: its task panics ("called `Result::unwrap()` on an `Err`
    // value: PoolClosed", printed to this test's output) and the consumer
    // sees a clean, empty end.
    let mut stream = raw.stream_events::<Counter>("a").await.unwrap();
    assert!(
        stream.next::<Counter>(&[]).await.is_none(),
        "postgres-es ends silently"
    );

    // bangfu, on the same failure: the error reaches the consumer.
    store.close().await;
    let mut stream = store.stream_events::<Counter>("a").await.unwrap();
    assert!(matches!(
        stream.next::<Counter>(&[]).await,
        Some(Err(PersistenceError::ConnectionError(_)))
    ));
    let mut stream = store.stream_all_events::<Counter>().await.unwrap();
    assert!(matches!(stream.next::<Counter>(&[]).await, Some(Err(_))));
}

/// postgres-es commits the events, then finds its snapshot UPDATE matched
/// nothing and reports an optimistic-lock error: the command "failed" but
/// its events are in the log. bangfu checks inside the transaction.
#[tokio::test]
async fn a_snapshot_conflict_writes_nothing() {
    let Some((_f, store)) = pg("postgres::a_snapshot_conflict_writes_nothing").await else {
        return;
    };
    let snapshot = |n| Some(("s".to_string(), json!({"count": 1, "held": []}), n));

    // Raw postgres-es: snapshot 1 with event 1, then a stale writer that
    // believes the next snapshot is number 3.
    let raw = raw_postgres_es(store.as_postgres().unwrap().pool()).await;
    raw.persist::<Counter>(&[serialized("s", 1)], snapshot(1))
        .await
        .unwrap();
    let stale = raw
        .persist::<Counter>(&[serialized("s", 2)], snapshot(3))
        .await;
    assert!(matches!(stale, Err(PersistenceError::OptimisticLockError)));
    assert_eq!(
        raw.get_events::<Counter>("s").await.unwrap().len(),
        2,
        "postgres-es reported a conflict yet committed the event"
    );

    // bangfu, the same two calls: the conflict leaves no trace.
    store
        .persist::<Counter>(&[serialized("s", 1)], snapshot(1))
        .await
        .unwrap();
    let stale = store
        .persist::<Counter>(&[serialized("s", 2)], snapshot(3))
        .await;
    assert!(matches!(stale, Err(PersistenceError::OptimisticLockError)));
    assert_eq!(store.get_events::<Counter>("s").await.unwrap().len(), 1);
    assert_eq!(store.count_events().await.unwrap(), 1);
}

// ---------------------------------------------------------------- gap-safe order

/// The gap a position-only reader falls into, and why bangfu's reader does
/// not: a transaction that took its position early commits after later
/// positions were read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_commit_is_not_skipped() {
    let Some((f, store)) = pg("postgres::a_late_commit_is_not_skipped").await else {
        return;
    };
    // The slow writer takes position 1 and holds its transaction open.
    let mut slow = sqlx::PgConnection::connect(&f.url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut slow).await.unwrap();
    insert_raw(&mut slow, "slow", 1, GENESIS_HASH).await;
    // Meanwhile others commit positions 2, 3, 4.
    add(&f.engine(None), "fast", 3).await;

    // A reader that follows `position` alone reads 2..4 and moves past 1.
    let naive: Vec<i64> =
        sqlx::query_scalar("SELECT position FROM events WHERE position > 0 ORDER BY position")
            .fetch_all(store.as_postgres().unwrap().pool())
            .await
            .unwrap();
    assert_eq!(naive, [2, 3, 4]);
    // bangfu's reader returns nothing yet: the oldest running transaction
    // (the slow one) bounds what is safe to read.
    assert!(store
        .read_all(LogPosition::START, 10)
        .await
        .unwrap()
        .is_empty());

    sqlx::query("COMMIT").execute(&mut slow).await.unwrap();
    let naive_after: Vec<i64> =
        sqlx::query_scalar("SELECT position FROM events WHERE position > 4 ORDER BY position")
            .fetch_all(store.as_postgres().unwrap().pool())
            .await
            .unwrap();
    assert!(
        naive_after.is_empty(),
        "the position-only reader never sees 1"
    );

    let read = read_until(&f.store, LogPosition::START, 4, 10).await;
    let order: Vec<(&str, usize)> = read
        .iter()
        .map(|e| (e.aggregate_id.as_str(), e.sequence))
        .collect();
    assert_eq!(
        order,
        [("slow", 1), ("fast", 1), ("fast", 2), ("fast", 3)],
        "the slow transaction's event comes first: it began first"
    );
    assert_eq!(read[0].position, 1);
}

/// The log is ordered by transaction id as a number. Ordered as text, "10"
/// comes before "9": a reader takes the id-10 event first, its checkpoint
/// passes the id-9 one for good, and `last_event` names the wrong event (so
/// `store copy` refused to resume). A cluster's ids gain a digit now and then
/// — 999 → 1000 under the parallel test suite — but burning thousands of
/// transactions to get there is too slow for a test, so these rows carry the
/// small ids of transactions that finished long ago.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_is_ordered_by_transaction_id_as_a_number() {
    let Some((f, store)) = pg("postgres::the_log_is_ordered_by_transaction_id_as_a_number").await
    else {
        return;
    };
    let mut conn = sqlx::PgConnection::connect(&f.url).await.unwrap();
    let xmin: String = sqlx::query_scalar("SELECT pg_snapshot_xmin(pg_current_snapshot())::text")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert!(
        xmin.parse::<u64>().unwrap() > 100,
        "ids 9, 10 and 100 must be finished transactions; the oldest running is {xmin}"
    );
    for (id, transaction_id) in [("nine", 9), ("ten", 10), ("hundred", 100)] {
        insert_raw_as(&mut conn, id, 1, GENESIS_HASH, Some(transaction_id)).await;
    }
    let expected = [("nine", 9), ("ten", 10), ("hundred", 100)];

    // One event a page: every checkpoint must stay behind the unread events.
    let mut read = Vec::new();
    let mut after = LogPosition::START;
    loop {
        let page = store.read_all(after, 1).await.unwrap();
        let Some(last) = page.last() else {
            break;
        };
        after = last.log_position;
        read.extend(
            page.iter()
                .map(|e| (e.aggregate_id.clone(), e.log_position.commit)),
        );
    }
    let read: Vec<(&str, u64)> = read.iter().map(|(id, c)| (id.as_str(), *c)).collect();
    assert_eq!(read, expected, "read page by page");

    let last = store.last_event().await.unwrap().expect("events");
    assert_eq!(
        (last.aggregate_id.as_str(), last.log_position.commit),
        ("hundred", 100)
    );

    let mut stream = store.stream_all_events::<Counter>().await.unwrap();
    let mut replayed = Vec::new();
    while let Some(event) = stream.next::<Counter>(&[]).await {
        replayed.push(event.unwrap().aggregate_id);
    }
    assert_eq!(replayed, ["nine", "ten", "hundred"], "replayed");
}

/// Many writers on many streams while a reader follows the log, with long
/// transactions that take their transaction id early, write late and commit
/// after others (out of both id and position order): the reader sees every
/// event exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_with_out_of_order_commits() {
    let Some((f, _store)) = pg("postgres::concurrent_writers_with_out_of_order_commits").await
    else {
        return;
    };
    const WRITERS: usize = 6;
    const ROUNDS: usize = 4;
    const COMMITS_PER_ROUND: usize = 3;
    let total = WRITERS * ROUNDS * COMMITS_PER_ROUND + ROUNDS;
    let committed = Arc::new(Notify::new());

    let store = f.store.clone();
    let wake = Arc::clone(&committed);
    let reader = tokio::spawn(async move {
        let mut seen: Vec<StoredEvent> = Vec::new();
        let mut checkpoint = LogPosition::START;
        while seen.len() < total {
            let notified = wake.notified();
            let page = store.read_all(checkpoint, 5).await.expect("read_all");
            match page.last() {
                Some(last) => {
                    checkpoint = last.log_position;
                    seen.extend(page);
                }
                None => {
                    let _ = tokio::time::timeout(Duration::from_millis(20), notified).await;
                }
            }
        }
        seen
    });

    let engine = Arc::new(f.engine(None));
    let mut held: Option<(usize, sqlx::PgConnection)> = None;
    for round in 0..ROUNDS {
        // A slow transaction takes its id now…
        let mut slow = sqlx::PgConnection::connect(&f.url).await.unwrap();
        sqlx::query("BEGIN").execute(&mut slow).await.unwrap();
        sqlx::query("SELECT pg_current_xact_id()")
            .execute(&mut slow)
            .await
            .unwrap();
        // …fast writers commit around it…
        let mut writers = Vec::new();
        for w in 0..WRITERS {
            let engine = Arc::clone(&engine);
            let committed = Arc::clone(&committed);
            writers.push(tokio::spawn(async move {
                for c in 0..COMMITS_PER_ROUND {
                    add(&engine, &format!("w{w}-{}", c % 2), 1).await;
                    committed.notify_one();
                }
            }));
        }
        for writer in writers {
            writer.await.unwrap();
        }
        // …and the previous round's slow transaction writes its event only
        // now (a position above this round's) and commits.
        if let Some((r, mut conn)) = held.take() {
            insert_raw(&mut conn, &format!("slow{r}"), 1, GENESIS_HASH).await;
            sqlx::query("COMMIT").execute(&mut conn).await.unwrap();
            committed.notify_one();
        }
        held = Some((round, slow));
    }
    if let Some((r, mut conn)) = held.take() {
        insert_raw(&mut conn, &format!("slow{r}"), 1, GENESIS_HASH).await;
        sqlx::query("COMMIT").execute(&mut conn).await.unwrap();
        committed.notify_one();
    }
    let seen = reader.await.unwrap();

    assert_eq!(seen.len(), total);
    let ids: HashSet<Uuid> = seen.iter().map(|e| e.event_id).collect();
    assert_eq!(ids.len(), total, "every event exactly once");
    for r in 0..ROUNDS {
        assert!(seen.iter().any(|e| e.aggregate_id == format!("slow{r}")));
    }
    assert!(seen
        .windows(2)
        .all(|w| w[0].log_position < w[1].log_position));
    // The slow events sit early in the log with late positions: a reader
    // ordering by position alone would have passed them before they committed.
    let positions: Vec<u64> = seen.iter().map(|e| e.position).collect();
    assert!(
        positions.windows(2).any(|w| w[0] > w[1]),
        "log order differs from position order: {positions:?}"
    );
    assert!(f.store.verify_chains().await.unwrap().is_ok());
}

/// Consumes transaction ids until the next one assigned is at least
/// `target`: one transaction per loop turn (a DO block may COMMIT), without
/// waiting for the disk. `false` if that would take more than `cap`.
async fn burn_transaction_ids_to(url: &str, target: u64, cap: u64) -> bool {
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    let now: String = sqlx::query_scalar("SELECT pg_current_xact_id()::text")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let now: u64 = now.parse().unwrap();
    if now >= target {
        return true;
    }
    if target - now > cap {
        return false;
    }
    sqlx::raw_sql("SET synchronous_commit = off")
        .execute(&mut conn)
        .await
        .unwrap();
    // One statement alone (several in one simple query share a transaction,
    // where COMMIT is not allowed).
    sqlx::raw_sql(&format!(
        "DO $$ BEGIN
           WHILE pg_current_xact_id() < '{}'::xid8 LOOP COMMIT; END LOOP;
         END $$",
        target - 1
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    true
}

/// The log is ordered by transaction id as a number. Reading it as text
/// (an `ORDER BY` that resolved to a `::text` output column did) puts
/// "1000" before "999": a reader paging across a power of ten skipped the
/// events just below it, and `last_event` named the wrong one. Transaction
/// ids are consumed here up to just below the next power of ten, events
/// committed on both sides, and the log read a page of one at a time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_crossing_a_power_of_ten_in_transaction_ids_skips_nothing() {
    let Some((f, store)) = pg("postgres::the_log_is_ordered_by_transaction_id_as_a_number").await
    else {
        return;
    };
    let engine = f.engine(None);
    add(&engine, "first", 1).await;
    let first = store
        .last_event()
        .await
        .unwrap()
        .unwrap()
        .log_position
        .commit;
    let boundary = 10u64.pow(first.ilog10() + 1);
    // A fresh throwaway cluster is at a few thousand; a long-lived server
    // (DATABASE_URL) may be too far from its next power of ten to walk there.
    if !burn_transaction_ids_to(&f.url, boundary - 40, 500_000).await {
        crate::pg::loud(&format!(
            "NOT RUN postgres::the_log_is_ordered_by_transaction_id_as_a_number: transaction \
             ids at {first}, too far below {boundary} to walk there"
        ));
        return;
    }
    add(&engine, "below-a", 1).await;
    add(&engine, "below-b", 1).await;
    assert!(burn_transaction_ids_to(&f.url, boundary + 1, 1_000).await);
    add(&engine, "above", 1).await;

    let log = read_until(&f.store, LogPosition::START, 4, 1).await;
    let commits: Vec<u64> = log.iter().map(|e| e.log_position.commit).collect();
    let names: Vec<&str> = log.iter().map(|e| e.aggregate_id.as_str()).collect();
    assert_eq!(
        names,
        ["first", "below-a", "below-b", "above"],
        "{commits:?}"
    );
    // Other tests share the cluster and its transaction ids: make sure the
    // events really straddle the power of ten.
    assert!(
        commits[2] < boundary && commits[3] >= boundary,
        "{commits:?}"
    );
    assert!(store
        .read_all(log[3].log_position, 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store.last_event().await.unwrap().unwrap().aggregate_id,
        "above"
    );
    assert_eq!(store.log_head().await.unwrap(), log[3].log_position);
}

/// Reservations race across connections: of two commits taking one key at
/// once, exactly one wins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_reservations_have_one_winner() {
    let Some((f, _)) = pg("postgres::racing_reservations_have_one_winner").await else {
        return;
    };
    let other = bangfu::store::AnyStore::open(&f.url, counter_reservations)
        .await
        .unwrap();
    let one = f.engine(None);
    let two = bangfu::app::engine::Engine::<Counter>::new(other, Default::default(), None);
    let (a, b) = tokio::join!(
        crate::backends::reserve(&one, "a", "k"),
        crate::backends::reserve(&two, "b", "k")
    );
    assert!(a.is_ok() != b.is_ok(), "{a:?} / {b:?}");
    let loser = a.err().or(b.err()).unwrap();
    assert!(
        matches!(loser, bangfu::app::engine::ExecError::Reservation(_)),
        "{loser:?}"
    );
    assert_eq!(f.count().await, 1);
}

// ---------------------------------------------------------------- same results

/// The same commands give the same events on each store: the demo run on
/// SQLite and on PostgreSQL writes the same streams, with the same events
/// and payloads (ids, hashes and timestamps aside), and reads back the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_writes_the_same_history_on_postgres_as_on_sqlite() {
    use assert_cmd::Command;
    let Some(pg) = Fixture::postgres("postgres::the_demo_writes_the_same_history").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}", dir.path().join("city.db").display());
    let bangfu = |store: &str, args: &[&str]| {
        let output = Command::cargo_bin("bangfu")
            .unwrap()
            .args(["--lang", "en", "--store", store])
            .args(args)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    };
    bangfu(&sqlite, &["demo"]);
    bangfu(&pg.url, &["demo"]);

    let mut streams = 0;
    for kind in [
        "hardship-file",
        "mutual-aid-plan",
        "mutual-aid-claim",
        "donation-campaign",
    ] {
        let ids = bangfu(&sqlite, &["streams", kind]);
        assert_eq!(ids, bangfu(&pg.url, &["streams", kind]), "{kind}");
        for id in ids.lines() {
            streams += 1;
            let events = |store: &str| -> Vec<serde_json::Value> {
                let history: serde_json::Value =
                    serde_json::from_str(&bangfu(store, &["history", kind, id, "--json"])).unwrap();
                history
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| {
                        json!([
                            e["sequence"],
                            e["event_type"],
                            e["event_version"],
                            e["payload"]
                        ])
                    })
                    .collect()
            };
            assert_eq!(events(&sqlite), events(&pg.url), "{kind} {id}");
            assert_eq!(
                bangfu(&sqlite, &["show", kind, id]),
                bangfu(&pg.url, &["show", kind, id]),
                "{kind} {id}: the same state"
            );
        }
    }
    assert!(streams >= 4, "the demo wrote {streams} streams");
    assert!(bangfu(&pg.url, &["verify"]).contains("streams"));

    // The same views: every view's JSON, row for row and figure for figure,
    // but for the log position each reflects (positions are the store's own).
    let view = |store: &str, args: &[&str]| -> serde_json::Value {
        let mut doc: serde_json::Value =
            serde_json::from_str(&bangfu(store, &[&["view"], args, &["--json"]].concat())).unwrap();
        let position = doc["views_position"].take();
        assert!(position["position"].as_u64().unwrap() > 0, "{position}");
        doc
    };
    let mut compared = 0;
    for (kind, view_name) in [
        ("hardship-file", "household-file"),
        ("mutual-aid-plan", "plan-period"),
        ("donation-campaign", "campaign"),
    ] {
        for id in bangfu(&sqlite, &["streams", kind]).lines() {
            let on_sqlite = view(&sqlite, &[view_name, id]);
            assert_eq!(
                on_sqlite,
                view(&pg.url, &[view_name, id]),
                "{view_name} {id}"
            );
            compared += 1;
        }
    }
    for args in [
        &["payout-ledger", "--limit", "1000"][..],
        &["fund-balances"],
    ] {
        let on_sqlite = view(&sqlite, args);
        assert_ne!(on_sqlite, json!({}));
        assert_eq!(on_sqlite, view(&pg.url, args), "{args:?}");
        compared += 1;
    }
    assert!(compared >= 5, "compared {compared} views");
    // And the views on PostgreSQL equal a rebuild there.
    assert!(bangfu(&pg.url, &["projections", "verify"]).contains('✓'));
}

/// With the events on PostgreSQL, the users (and the service's idempotency
/// keys) live in the `--db` SQLite file — which need not exist yet: the
/// first `users` command (or `serve`) creates and migrates it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_of_a_postgres_store_live_in_a_db_file_created_on_first_use() {
    use assert_cmd::Command;
    let Some(pg) = Fixture::postgres("postgres::users_of_a_postgres_store").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("not-yet").join("users.db");
    let bangfu = |args: &[&str]| {
        Command::cargo_bin("bangfu")
            .unwrap()
            .args(["--lang", "en", "--store", &pg.url, "--db"])
            .arg(&db)
            .args(args)
            .output()
            .unwrap()
    };
    let added = bangfu(&["users", "add", "lin.xiaomei", "--role", "caseworker"]);
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    assert!(String::from_utf8_lossy(&added.stdout).contains("bf_"));
    assert!(db.exists());
    let listed = bangfu(&["users", "list"]);
    assert!(listed.status.success());
    assert!(String::from_utf8_lossy(&listed.stdout).contains("lin.xiaomei"));
}
