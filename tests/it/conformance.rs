//! The store conformance suite: the specification of the `EventStore`
//! contract (`bangfu::store::EventStore`), the same test code for every
//! store. Each case is one async fn over a [`Fixture`], whose store is an
//! `AnyStore` — the `Arc<dyn EventStore>` the engine and the services use; the
//! macro at the bottom runs every case on SQLite and on PostgreSQL in every
//! `cargo test`, and on KurrentDB when `KURRENTDB_URL` names a server.
//!
//! Where a store cannot do what a case checks, the case says so in code
//! (`match f.backend`) with the reason, rather than silently passing.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use bangfu::app::engine::{Engine, ExecError};
use bangfu::store::hash::GENESIS_HASH;
use bangfu::store::{
    ChainProblem, CommandKey, KeyTaken, LogPosition, PreparedCommit, ReservationConflict,
    SealRecord, StoreError, StoredEvent,
};
use cqrs_es::persist::{PersistedEventRepository, PersistenceError};
use domain::reservation::Scope;
use serde_json::json;
use tokio::sync::{Barrier, Notify};
use uuid::Uuid;

use crate::backends::{
    add, read_until, release, reserve, serialized, Backend, Counter, CounterCommand, CounterEvent,
    CounterServices, Fixture,
};
use crate::support::metadata;

// ---------------------------------------------------------------- cases

/// Commands commit, load back, and the log holds every column as written,
/// in commit order across streams.
async fn append_and_load(f: Fixture) {
    let engine = f.engine(None);
    let (a, b) = (f.id("a"), f.id("b"));

    let first = engine
        .execute(&a, CounterCommand::Add { times: 2 }, metadata())
        .await
        .unwrap();
    assert_eq!((first.version, first.events.len()), (2, 2));
    let second = engine
        .execute(&b, CounterCommand::Add { times: 1 }, metadata())
        .await
        .unwrap();
    let third = engine
        .execute(&a, CounterCommand::Add { times: 1 }, metadata())
        .await
        .unwrap();
    assert_eq!(third.version, 3);
    // Each commit's log position is after the previous one's.
    let positions: Vec<LogPosition> = [&first, &second, &third]
        .iter()
        .map(|c| c.last_log_position.expect("a position"))
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");

    let loaded = engine.load(&a).await.unwrap();
    assert_eq!((loaded.version, loaded.aggregate.count), (3, 3));

    let events = engine.events(&a).await.unwrap();
    let committed: Vec<_> = first.events.iter().chain(&third.events).collect();
    assert_eq!(events.len(), 3);
    for (event, committed) in events.iter().zip(committed) {
        assert_eq!(event.payload, CounterEvent::Incremented { by: 1 });
        let event_id = Uuid::parse_str(&event.metadata["event_id"]).unwrap();
        assert_eq!(event_id.get_version_num(), 7);
        let mut without_id = event.metadata.clone();
        without_id.remove("event_id");
        assert_eq!(without_id, metadata());
        assert_eq!(event.metadata, committed.metadata);
    }

    let history = f.store.history("counter", &a).await.unwrap();
    assert_eq!(history.len(), 3);
    let mut ids = HashSet::new();
    for (event, sequence) in history.iter().zip(1..) {
        assert_eq!(event.sequence, sequence);
        assert_eq!(event.aggregate_type, "counter");
        assert_eq!(event.event_type, "Incremented");
        assert_eq!(event.event_version, "1.0");
        assert_eq!(event.payload, json!({"Incremented": {"by": 1}}));
        assert_eq!(event.metadata["event_id"], event.event_id.to_string());
        assert_eq!(
            event.recorded_at.as_deref(),
            Some("2026-03-01T09:00:00.000000Z")
        );
        assert!(ids.insert(event.event_id));
    }
    assert_eq!(f.streams().await, ["a", "b"]);
    assert_eq!(f.count().await, 4);

    // The log runs in commit order: a1 a2 b1 a3.
    let log: Vec<(String, usize)> = f
        .read_until(f.start, 4, 2)
        .await
        .into_iter()
        .map(|e| (f.name(&e.aggregate_id).to_string(), e.sequence))
        .collect();
    let expected = [("a", 1), ("a", 2), ("b", 1), ("a", 3)].map(|(i, s)| (i.to_string(), s));
    assert_eq!(log, expected);

    // cqrs-es's all-events replay also runs in log order.
    let mut stream = f.store.stream_all_events::<Counter>().await.unwrap();
    let mut replayed = Vec::new();
    while let Some(event) = stream.next::<Counter>(&[]).await {
        let event = event.unwrap();
        if event.aggregate_id == a || event.aggregate_id == b {
            replayed.push((f.name(&event.aggregate_id).to_string(), event.sequence));
        }
    }
    assert_eq!(replayed, expected);
}

/// Two commands from the same version: one commits, the other is a
/// conflict, and nothing of the loser is written.
async fn optimistic_concurrency(f: Fixture) {
    let engine = Engine::<Counter>::new(
        f.store.clone(),
        CounterServices {
            barrier: Some(Barrier::new(2)),
        },
        None,
    );
    let a = f.id("a");
    add(&engine, &a, 1).await;
    let (one, two) = tokio::join!(
        engine.execute(&a, CounterCommand::AddTogether, metadata()),
        engine.execute(&a, CounterCommand::AddTogether, metadata()),
    );
    let (winner, loser) = match (one, two) {
        (Ok(w), Err(l)) | (Err(l), Ok(w)) => (w, l),
        (one, two) => panic!("expected one commit and one conflict, got {one:?} / {two:?}"),
    };
    assert!(matches!(loser, ExecError::Conflict), "got {loser:?}");
    assert_eq!(winner.version, 2);
    let history = f.store.history("counter", &a).await.unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(
        history[1].event_id.to_string(),
        winner.events[0].metadata["event_id"]
    );

    // A batch reusing a taken sequence is refused whole; a gap is refused
    // and not mistaken for a conflict.
    let taken = f
        .store
        .persist::<Counter>(&[serialized(&a, 2), serialized(&a, 3)], None)
        .await;
    assert!(matches!(taken, Err(PersistenceError::OptimisticLockError)));
    let gap = f.store.persist::<Counter>(&[serialized(&a, 5)], None).await;
    assert!(matches!(gap, Err(PersistenceError::UnknownError(_))));
    assert_eq!(f.store.history("counter", &a).await.unwrap(), history);
    assert_eq!(f.count().await, 2);
}

/// Snapshots every n events load like a replay; a snapshot conflict rolls
/// the events back too.
async fn snapshots(f: Fixture) {
    let s = f.id("s");
    let snapshotting = f.engine(Some(2));
    let replaying = f.engine(None);
    let snapshot = || async {
        f.store.get_snapshot::<Counter>(&s).await.unwrap().map(|s| {
            (
                s.current_sequence,
                s.current_snapshot,
                s.aggregate["count"].clone(),
            )
        })
    };

    add(&snapshotting, &s, 1).await;
    assert_eq!(snapshot().await, None);
    add(&snapshotting, &s, 1).await;
    assert_eq!(snapshot().await, Some((2, 1, json!(2))));
    add(&snapshotting, &s, 1).await;
    assert_eq!(snapshot().await, Some((2, 1, json!(2))));
    add(&snapshotting, &s, 3).await;
    assert_eq!(snapshot().await, Some((6, 2, json!(6))));
    let from_snapshot = snapshotting.load(&s).await.unwrap();
    let from_replay = replaying.load(&s).await.unwrap();
    assert_eq!(from_snapshot.version, 6);
    assert_eq!(from_snapshot.aggregate, from_replay.aggregate);

    // A writer that believes the snapshot number is still 2 loses.
    let stale = f
        .store
        .persist::<Counter>(
            &[serialized(&s, 7)],
            Some((s.clone(), json!({"count": 7, "held": []}), 2)),
        )
        .await;
    match f.backend {
        Backend::Sqlite | Backend::Postgres => {
            assert!(matches!(stale, Err(PersistenceError::OptimisticLockError)));
            assert_eq!(f.count().await, 6, "the events were rolled back with it");
            assert_eq!(snapshot().await, Some((6, 2, json!(6))));
        }
        Backend::Kurrent => {
            // KurrentDB cannot write a snapshot and events atomically: the
            // events stand and the stale snapshot is dropped (module docs).
            assert!(stale.is_ok(), "{stale:?}");
            assert_eq!(snapshot().await, Some((6, 2, json!(6))));
        }
    }
}

/// The hash as the design states it, computed here without the store's code.
fn expected_hash(prev_hash: &str, id: &str, sequence: usize, event_id: Uuid) -> String {
    use sha2::{Digest, Sha256};
    let canonical = format!(
        concat!(
            r#"{{"aggregate_id":"{id}","aggregate_type":"counter","event_type":"Incremented","#,
            r#""event_version":"1.0","metadata":{{"actor_id":"zhang.wei","actor_role":"caseworker","#,
            r#""command_id":"00000000-0000-0000-0000-000000000001","#,
            r#""correlation_id":"00000000-0000-0000-0000-000000000002","event_id":"{event_id}","#,
            r#""recorded_at":"2026-03-01T09:00:00.000000Z"}},"payload":{{"Incremented":{{"by":1}}}},"#,
            r#""sequence":{sequence}}}"#
        ),
        id = id,
        event_id = event_id,
        sequence = sequence
    );
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(canonical.as_bytes());
    hex::encode(hasher.finalize())
}

/// Every event is chained; `verify` recomputes the chains and names an
/// event changed behind the store's back.
async fn hash_chains(f: Fixture) {
    let engine = f.engine(None);
    let (h, other) = (f.id("h"), f.id("other"));
    add(&engine, &h, 2).await;
    add(&engine, &other, 2).await;
    add(&engine, &h, 1).await;

    let history = f.store.history("counter", &h).await.unwrap();
    let mut prev = GENESIS_HASH.to_string();
    for event in &history {
        assert_eq!(event.prev_hash, prev);
        assert_eq!(
            event.hash,
            expected_hash(&prev, &h, event.sequence, event.event_id)
        );
        prev = event.hash.clone();
    }
    let report = f.store.verify_chain("counter", &h).await.unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!((report.streams, report.events), (1, 3));
    if f.backend != Backend::Kurrent {
        let all = f.store.verify_chains().await.unwrap();
        assert!(all.is_ok(), "{all:?}");
        assert_eq!((all.streams, all.events), (2, 5));
        // The schema refuses edits outright.
        let refused = f.try_update().await.expect("the UPDATE is refused");
        assert!(refused.contains("append-only"), "{refused}");
    }

    if !f.tamper(&h, 2, r#"{"Incremented":{"by":1000}}"#).await {
        // KurrentDB's log cannot be edited, so there is nothing to detect.
        return;
    }
    let report = f.store.verify_chains().await.unwrap();
    assert_eq!(report.breaks.len(), 1, "{report:?}");
    let found = &report.breaks[0];
    assert_eq!(
        (
            found.aggregate_type.as_str(),
            found.aggregate_id.as_str(),
            found.sequence,
            found.problem
        ),
        ("counter", h.as_str(), 2, ChainProblem::Hash)
    );
    assert_eq!(found.stored, history[1].hash);
    assert_ne!(found.expected, found.stored);
    assert!(f
        .store
        .verify_chain("counter", &other)
        .await
        .unwrap()
        .is_ok());
    assert!(!f.store.verify_chain("counter", &h).await.unwrap().is_ok());
}

/// A key held by one aggregate refuses another's whole commit until released.
async fn reservations(f: Fixture) {
    let engine = f.engine(None);
    // Unique per fixture: a KurrentDB server keeps reservations between runs.
    let key = format!("110101199003071234-{}", f.id("k"));
    let (a, b) = (f.id("a"), f.id("b"));
    let holder = || f.store.reservation_holder(Scope::OpenFileByResident, &key);

    reserve(&engine, &a, &key).await.unwrap();
    assert_eq!(holder().await.unwrap(), Some(a.clone()));
    add(&engine, &b, 1).await;
    let before = f.count().await;
    match reserve(&engine, &b, &key).await {
        Err(ExecError::Reservation(ReservationConflict {
            scope,
            key: held,
            held_by,
        })) => {
            assert_eq!(scope, Scope::OpenFileByResident);
            assert_eq!(held, key);
            assert_eq!(held_by, a);
        }
        other => panic!("expected a reservation conflict, got {other:?}"),
    }
    assert_eq!(f.count().await, before);
    assert_eq!(engine.load(&b).await.unwrap().version, 1);

    reserve(&engine, &a, &key).await.unwrap();
    release(&engine, &b, &key).await.unwrap();
    assert_eq!(holder().await.unwrap(), Some(a.clone()));
    release(&engine, &a, &key).await.unwrap();
    assert_eq!(holder().await.unwrap(), None);
    reserve(&engine, &b, &key).await.unwrap();
    assert_eq!(holder().await.unwrap(), Some(b.clone()));
}

/// Many tasks commit to many streams while a reader follows the log: the
/// reader sees every event exactly once, each stream in sequence order.
async fn global_order_under_concurrent_writers(f: Fixture) {
    const TASKS: usize = 8;
    const COMMITS: usize = 6;
    let engine = Arc::new(f.engine(None));
    let committed = Arc::new(Notify::new());
    let total = TASKS * COMMITS * 2;

    let store = f.store.clone();
    let start = f.start;
    let wake = Arc::clone(&committed);
    let reader = tokio::spawn(async move {
        let mut seen: Vec<StoredEvent> = Vec::new();
        let mut checkpoint = start;
        while seen.len() < total {
            // Registered before reading, so a commit between the read and
            // the wait still wakes us.
            let notified = wake.notified();
            let page = store.read_all(checkpoint, 7).await.expect("read_all");
            match page.last() {
                Some(last) => {
                    assert!(last.log_position > checkpoint);
                    checkpoint = last.log_position;
                    seen.extend(page);
                }
                // Woken by the next commit; the timeout only covers commits
                // that become readable later (another transaction in the
                // cluster was running), which no one will announce.
                None => {
                    let _ = tokio::time::timeout(Duration::from_millis(20), notified).await;
                }
            }
        }
        seen
    });

    let mut writers = Vec::new();
    for task in 0..TASKS {
        let engine = Arc::clone(&engine);
        let committed = Arc::clone(&committed);
        let ids = [f.id(&format!("w{task}")), f.id(&format!("x{task}"))];
        writers.push(tokio::spawn(async move {
            for _ in 0..COMMITS {
                for id in &ids {
                    add(&engine, id, 1).await;
                    committed.notify_one();
                }
            }
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    // Wake the reader for whatever became readable after the last commit.
    committed.notify_one();
    let seen = reader.await.unwrap();

    assert_eq!(seen.len(), total);
    let unique: HashSet<Uuid> = seen.iter().map(|e| e.event_id).collect();
    assert_eq!(unique.len(), total, "no event seen twice");
    let mut next: HashMap<&str, usize> = HashMap::new();
    for event in &seen {
        let expected = next.entry(event.aggregate_id.as_str()).or_insert(1);
        assert_eq!(event.sequence, *expected, "streams read in sequence order");
        *expected += 1;
    }
    assert!(seen
        .windows(2)
        .all(|w| w[0].log_position < w[1].log_position));
    assert_eq!(f.count().await, total as u64);
}

/// A reader that stops (a projector's process exits) and starts again from
/// its checkpoint on a reopened store sees each event once: the rest of the
/// old ones, then the new ones.
///
/// Hook for the projections: a projector keeps this checkpoint in its own
/// table, in the transaction that writes its rows; this case drives only the
/// `read_all` API it stands on. A projector-level restart case belongs here
/// too once projectors take an `AnyStore`.
async fn catch_up_after_restart(f: Fixture) {
    let engine = f.engine(None);
    for i in 0..5 {
        add(&engine, &f.id(&format!("r{i}")), 2).await;
    }
    // Read 4 of 10, remember the checkpoint, and "crash".
    let first = f.read_until(f.start, 4, 4).await;
    let checkpoint = first[3].log_position;
    f.store.close().await;

    let store = f.reopen().await;
    let engine = Engine::<Counter>::new(store.clone(), CounterServices::default(), None);
    add(&engine, &f.id("after"), 3).await;
    let rest = read_until(&store, checkpoint, 6 + 3, 3).await;
    let end = rest.last().expect("events").log_position;
    assert!(
        store.read_all(end, 10).await.unwrap().is_empty(),
        "nothing more"
    );
    let ids: HashSet<Uuid> = first.iter().chain(&rest).map(|e| e.event_id).collect();
    assert_eq!(ids.len(), 13, "nothing missed, nothing twice");
    assert_eq!(
        rest.iter()
            .filter(|e| e.aggregate_id == f.id("after"))
            .count(),
        3
    );
    store.close().await;
}

/// An empty store: no history, a clean verification, no holders.
async fn empty_reads(f: Fixture) {
    assert!(f
        .store
        .history("counter", &f.id("nobody"))
        .await
        .unwrap()
        .is_empty());
    assert!(f
        .store
        .verify_chain("counter", &f.id("nobody"))
        .await
        .unwrap()
        .is_ok());
    assert_eq!(
        f.store
            .reservation_holder(Scope::ClaimedStay, &f.id("x"))
            .await
            .unwrap(),
        None
    );
    assert!(f.store.read_all(f.start, 10).await.unwrap().is_empty());
    if f.backend != Backend::Kurrent {
        assert_eq!(f.store.last_event().await.unwrap(), None);
        assert!(f.store.stream_heads().await.unwrap().is_empty());
    }
}

/// What projectors read (`read_log_events`: payload text, the actor picked
/// out of the metadata by the database) is the full log's events, page for
/// page: same positions, streams, types, actor and time, same payload.
async fn log_events_match_the_full_log(f: Fixture) {
    let engine = f.engine(None);
    for (i, times) in [3, 1, 2].into_iter().enumerate() {
        add(&engine, &f.id(&format!("l{i}")), times).await;
    }
    let full = f.read_until(f.start, 6, 6).await;
    let lean = f.store.read_log_events(f.start, 6).await.unwrap();
    assert_eq!(lean.len(), full.len());
    for (lean, full) in lean.iter().zip(&full) {
        assert_eq!(lean.log_position, full.log_position);
        assert_eq!(lean.aggregate_type, full.aggregate_type);
        assert_eq!(lean.aggregate_id, full.aggregate_id);
        assert_eq!(lean.sequence, full.sequence as u64);
        assert_eq!(lean.event_type, full.event_type);
        assert_eq!(lean.event_version, full.event_version);
        assert_eq!(lean.actor.as_ref(), full.metadata.get("actor_id"));
        assert!(
            lean.actor.is_some(),
            "the fixture's metadata names an actor"
        );
        assert_eq!(lean.recorded_at, full.recorded_at);
        let payload: serde_json::Value = serde_json::from_str(&lean.payload).unwrap();
        assert_eq!(payload, full.payload);
    }
    // A page after any position is the rest of the log, in order.
    let rest = f
        .store
        .read_log_events(full[2].log_position, 2)
        .await
        .unwrap();
    assert_eq!(
        rest.iter().map(|e| e.log_position).collect::<Vec<_>>(),
        [full[3].log_position, full[4].log_position]
    );
}

/// A checkpoint is only meaningful on the store that issued it: SQLite's
/// are `(0, position)`, and one with a transaction id (from PostgreSQL) is
/// refused rather than silently misread.
#[tokio::test]
async fn sqlite_refuses_a_checkpoint_from_another_store() {
    let f = Fixture::sqlite().await;
    add(&f.engine(None), &f.id("a"), 3).await;
    let page = f.store.read_all(LogPosition::at(1), 10).await.unwrap();
    assert_eq!(page.iter().map(|e| e.sequence).collect::<Vec<_>>(), [2, 3]);
    assert_eq!(page[0].log_position, LogPosition::at(2));
    let foreign = LogPosition {
        commit: 745,
        position: 1,
    };
    assert!(matches!(
        f.store.read_all(foreign, 10).await,
        Err(bangfu::store::StoreError::ForeignPosition(p)) if p == foreign
    ));
}

/// The trait's commit: what `PreparedCommit::prepare` assigned (event ids,
/// the hash input) is what the store holds, chained from the stream's head;
/// a stale or non-continuing commit writes nothing.
async fn a_prepared_commit_is_what_is_stored(f: Fixture) {
    let a = f.id("a");
    let prepare = |from: usize, to: usize| {
        let events: Vec<_> = (from..=to).map(|s| serialized(&a, s)).collect();
        PreparedCommit::prepare("counter", &events, None, f.store.reservations())
            .unwrap()
            .expect("events to commit")
    };
    let first = prepare(1, 2);
    let appended = f.store.commit(first.clone()).await.unwrap();
    assert_eq!(appended.len(), 2);
    let history = f.store.history("counter", &a).await.unwrap();
    let mut prev_hash = GENESIS_HASH.to_string();
    for ((stored, prepared), appended) in history.iter().zip(&first.events).zip(&appended) {
        assert_eq!(stored.event_id, prepared.event_id);
        assert_eq!(appended.event_id, prepared.event_id);
        assert_eq!(stored.sequence, prepared.sequence);
        assert_eq!(stored.prev_hash, prev_hash);
        assert_eq!(stored.hash, prepared.hash_after(&prev_hash));
        prev_hash = stored.hash.clone();
    }
    // The same commit again: the stream moved on.
    let stale = f.store.commit(first).await;
    assert!(
        matches!(stale, Err(PersistenceError::OptimisticLockError)),
        "{stale:?}"
    );
    // One that skips sequence 3.
    let gap = f.store.commit(prepare(4, 4)).await;
    assert!(
        matches!(gap, Err(PersistenceError::UnknownError(_))),
        "{gap:?}"
    );
    assert_eq!(f.store.history("counter", &a).await.unwrap().len(), 2);
    assert!(f.store.verify_chains().await.unwrap().is_ok());
}

/// An idempotency key committed with its events (`store::keys`): kept in
/// the same commit, found by user and key, and a second commit with the same
/// key — concurrent or later, by another stream — is refused with
/// `KeyTaken` and writes nothing; an answer kept beside a key no event
/// carries is read back, and a held key keeps its first row.
async fn idempotency_keys(f: Fixture) {
    let (a, b) = (f.id("a"), f.id("b"));
    let user = format!("user-{}", f.id("u"));
    let key = |id: &str, stream: &str| CommandKey {
        user_id: user.clone(),
        idem_key: id.to_string(),
        request_sha256: "ab".repeat(32),
        command_id: Uuid::now_v7(),
        aggregate_type: "counter".into(),
        aggregate_id: stream.to_string(),
        created_at: "2026-12-02T00:00:00.000000Z".into(),
    };
    let keyed = |stream: &str, sequence: usize, k: &CommandKey| {
        let mut commit = PreparedCommit::prepare(
            "counter",
            &[serialized(stream, sequence)],
            None,
            f.store.reservations(),
        )
        .unwrap()
        .expect("events to commit");
        commit.key = Some(k.clone());
        commit
    };
    assert_eq!(f.store.command_key(&user, "k1").await.unwrap(), None);
    let first = key("k1", &a);
    f.store.commit(keyed(&a, 1, &first)).await.unwrap();
    let held = f
        .store
        .command_key(&user, "k1")
        .await
        .unwrap()
        .expect("kept");
    assert_eq!(held.command_id, first.command_id);
    assert_eq!(held.request_sha256, first.request_sha256);
    assert_eq!(held.answer, None);
    // Racing commits with one key on two streams: exactly one lands.
    let before = f.count().await;
    let (x, y) = (key("k2", &a), key("k2", &b));
    let (rx, ry) = tokio::join!(
        f.store.commit(keyed(&a, 2, &x)),
        f.store.commit(keyed(&b, 1, &y))
    );
    let taken = |r: &Result<_, PersistenceError>| match r {
        Err(PersistenceError::UnknownError(e)) => e.downcast_ref::<KeyTaken>().is_some(),
        _ => false,
    };
    assert_eq!(
        [rx.is_ok(), ry.is_ok()].iter().filter(|ok| **ok).count(),
        1,
        "{rx:?} {ry:?}"
    );
    assert!(taken(&rx) || taken(&ry), "{rx:?} {ry:?}");
    assert_eq!(f.count().await, before + 1);
    let winner = if rx.is_ok() { &x } else { &y };
    let held = f
        .store
        .command_key(&user, "k2")
        .await
        .unwrap()
        .expect("kept");
    assert_eq!(held.command_id, winner.command_id);
    // The same key later, in a batch of its own: refused, nothing written.
    let later = f
        .store
        .commit(keyed(&b, if rx.is_ok() { 1 } else { 2 }, &key("k1", &b)))
        .await;
    assert!(taken(&later), "{later:?}");
    assert_eq!(f.count().await, before + 1);
    // An answer kept beside a key no event carries.
    let refused = key("k3", &a);
    assert!(f
        .store
        .keep_key(&refused, Some((422, "{\"code\":\"x\"}")))
        .await
        .unwrap());
    assert!(!f
        .store
        .keep_key(&key("k3", &b), Some((200, "{}")))
        .await
        .unwrap());
    let held = f
        .store
        .command_key(&user, "k3")
        .await
        .unwrap()
        .expect("kept");
    assert_eq!(held.command_id, refused.command_id);
    assert_eq!(held.answer, Some((422, "{\"code\":\"x\"}".to_string())));
    assert!(f.store.verify_chains().await.unwrap().is_ok());
}

/// Audit seals are kept as given, oldest first, the same one once (sealing
/// twice in one second); KurrentDB keeps none and says so.
async fn audit_seals(f: Fixture) {
    let tag = Uuid::now_v7();
    let record = |n: u64| SealRecord {
        sealed_at: format!("2026-12-0{n}T00:00:00Z"),
        log_position: n.to_string(),
        events: n,
        text: format!("seal {n} {tag}\n"),
    };
    let ours = |all: Vec<SealRecord>| -> Vec<SealRecord> {
        all.into_iter()
            .filter(|r| r.text.contains(&tag.to_string()))
            .collect()
    };
    match f.backend {
        // No table beside an immutable log: publish the seal files instead.
        Backend::Kurrent => {
            let refused = f.store.add_seal(&record(1)).await;
            assert!(
                matches!(refused, Err(StoreError::Unsupported(_))),
                "{refused:?}"
            );
            assert!(f.store.seals().await.unwrap().is_empty());
        }
        Backend::Sqlite | Backend::Postgres => {
            f.store.add_seal(&record(1)).await.unwrap();
            f.store.add_seal(&record(2)).await.unwrap();
            f.store.add_seal(&record(1)).await.unwrap();
            let kept = ours(f.store.seals().await.unwrap());
            assert_eq!(kept, vec![record(1), record(2)]);
        }
    }
}

// ---------------------------------------------------------------- the matrix

macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(crate::backends::Fixture::sqlite().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let Some(f) = crate::backends::Fixture::postgres(concat!(
                        "conformance::postgres::",
                        stringify!($case)
                    ))
                    .await
                    else {
                        return;
                    };
                    super::$case(f).await;
                }
            )*
        }
        mod kurrentdb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    // Runs against a real server only; without KURRENTDB_URL
                    // this is reported, not passed silently.
                    let Some(f) = crate::backends::Fixture::kurrent().await else {
                        crate::pg::loud(concat!(
                            "SKIPPED conformance::kurrentdb::",
                            stringify!($case),
                            ": set KURRENTDB_URL (e.g. esdb://localhost:2113?tls=false) to run it"
                        ));
                        return;
                    };
                    super::$case(f).await;
                }
            )*
        }
    };
}

conformance!(
    append_and_load,
    optimistic_concurrency,
    snapshots,
    hash_chains,
    reservations,
    global_order_under_concurrent_writers,
    catch_up_after_restart,
    empty_reads,
    log_events_match_the_full_log,
    a_prepared_commit_is_what_is_stored,
    audit_seals,
    idempotency_keys,
);
