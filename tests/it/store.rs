//! The event store and the engine on a real SQLite file: round trips,
//! optimistic concurrency, snapshots, the hash chain, reservations,
//! durability settings and concurrent writers.
//!
//! A tiny counter aggregate defined here keeps these tests independent of the
//! real aggregates, which evolve on their own.

use std::sync::Arc;

use bangfu::app::engine::{Engine, ExecError};
use bangfu::store::hash::GENESIS_HASH;
use bangfu::store::{ChainProblem, EventStore, ReservationConflict, SqliteStore};
use cqrs_es::event_sink::EventSink;
use cqrs_es::persist::{PersistedEventRepository, PersistenceError, SerializedEvent};
use cqrs_es::{Aggregate, DomainEvent};
use domain::reservation::{Reservation, Scope};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use sqlx::Executor;
use tokio::sync::Barrier;
use uuid::Uuid;

use crate::support::{metadata, raw_connection, temp_store, TestStore};

// ---------------------------------------------------------------- the counter

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Counter {
    count: u64,
    held: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
enum CounterEvent {
    Incremented { by: u64 },
    Reserved { key: String },
    Released { key: String },
}

impl DomainEvent for CounterEvent {
    fn event_type(&self) -> String {
        match self {
            CounterEvent::Incremented { .. } => "Incremented",
            CounterEvent::Reserved { .. } => "Reserved",
            CounterEvent::Released { .. } => "Released",
        }
        .to_string()
    }

    fn event_version(&self) -> String {
        "1.0".to_string()
    }
}

#[derive(Clone)]
enum CounterCommand {
    /// Emits `times` events in one commit.
    Add {
        times: u32,
    },
    /// Waits at the services' barrier after loading, then adds one: two of
    /// these run together have both loaded before either commits.
    AddTogether,
    Reserve {
        key: String,
    },
    Release {
        key: String,
    },
    Refuse,
}

#[derive(Debug, thiserror::Error)]
#[error("refused")]
struct Refused;

#[derive(Default)]
struct CounterServices {
    barrier: Option<Barrier>,
}

impl Aggregate for Counter {
    const TYPE: &'static str = "counter";
    type Command = CounterCommand;
    type Event = CounterEvent;
    type Error = Refused;
    type Services = CounterServices;

    async fn handle(
        &mut self,
        command: CounterCommand,
        services: &CounterServices,
        sink: &EventSink<Self>,
    ) -> Result<(), Refused> {
        match command {
            CounterCommand::Add { times } => {
                for _ in 0..times {
                    sink.write(CounterEvent::Incremented { by: 1 }, self).await;
                }
            }
            CounterCommand::AddTogether => {
                services.barrier.as_ref().expect("a barrier").wait().await;
                sink.write(CounterEvent::Incremented { by: 1 }, self).await;
            }
            CounterCommand::Reserve { key } => {
                sink.write(CounterEvent::Reserved { key }, self).await;
            }
            CounterCommand::Release { key } => {
                sink.write(CounterEvent::Released { key }, self).await;
            }
            CounterCommand::Refuse => return Err(Refused),
        }
        Ok(())
    }

    fn apply(&mut self, event: CounterEvent) {
        match event {
            CounterEvent::Incremented { by } => self.count += by,
            CounterEvent::Reserved { key } => self.held.push(key),
            CounterEvent::Released { key } => self.held.retain(|k| *k != key),
        }
    }
}

/// The counter's reservation extractor, as the domain's will be for real aggregates.
fn counter_reservations(
    aggregate_type: &str,
    _aggregate_id: &str,
    _event_type: &str,
    _event_version: &str,
    payload: &Value,
) -> Result<Vec<Reservation>, String> {
    if aggregate_type != Counter::TYPE {
        return Ok(Vec::new());
    }
    let event: CounterEvent = serde_json::from_value(payload.clone()).map_err(|e| e.to_string())?;
    Ok(match event {
        CounterEvent::Incremented { .. } => Vec::new(),
        CounterEvent::Reserved { key } => vec![Reservation::Take {
            scope: Scope::OpenFileByResident,
            key,
        }],
        CounterEvent::Released { key } => vec![Reservation::Release {
            scope: Scope::OpenFileByResident,
            key,
        }],
    })
}

async fn counter_store() -> TestStore {
    temp_store(counter_reservations).await
}

fn engine(store: &SqliteStore, snapshot_every: Option<usize>) -> Engine<Counter> {
    Engine::new(store.clone(), CounterServices::default(), snapshot_every)
}

async fn add(engine: &Engine<Counter>, id: &str, times: u32) {
    engine
        .execute(id, CounterCommand::Add { times }, metadata())
        .await
        .expect("add commits");
}

fn serialized(id: &str, sequence: usize) -> SerializedEvent {
    SerializedEvent {
        aggregate_id: id.to_string(),
        sequence,
        aggregate_type: Counter::TYPE.to_string(),
        event_type: "Incremented".to_string(),
        event_version: "1.0".to_string(),
        payload: json!({"Incremented": {"by": 1}}),
        metadata: json!(metadata()),
    }
}

// ---------------------------------------------------------------- round trip

#[tokio::test]
async fn append_then_load_round_trips_events_and_metadata() {
    let t = counter_store().await;
    let engine = engine(&t.store, None);

    let first = engine
        .execute("a", CounterCommand::Add { times: 2 }, metadata())
        .await
        .unwrap();
    assert_eq!(first.version, 2);
    assert_eq!(first.events.len(), 2);
    assert_eq!(first.last_position, Some(2));
    let b = engine
        .execute("b", CounterCommand::Add { times: 1 }, metadata())
        .await
        .unwrap();
    assert_eq!((b.version, b.last_position), (1, Some(3)));
    let again = engine
        .execute("a", CounterCommand::Add { times: 1 }, metadata())
        .await
        .unwrap();
    assert_eq!((again.version, again.last_position), (3, Some(4)));

    let loaded = engine.load("a").await.unwrap();
    assert_eq!(loaded.version, 3);
    assert_eq!(loaded.aggregate.count, 3);

    // Metadata comes back as given, plus the event id the store assigned,
    // which is also what `execute` returned.
    let events = engine.events("a").await.unwrap();
    assert_eq!(events.len(), 3);
    let committed: Vec<_> = first.events.iter().chain(&again.events).collect();
    for (event, committed) in events.iter().zip(committed) {
        assert_eq!(event.payload, CounterEvent::Incremented { by: 1 });
        let event_id = Uuid::parse_str(&event.metadata["event_id"]).unwrap();
        assert_eq!(event_id.get_version_num(), 7);
        let mut without_id = event.metadata.clone();
        without_id.remove("event_id");
        assert_eq!(without_id, metadata());
        assert_eq!(event.metadata, committed.metadata);
        assert_eq!(event.sequence, committed.sequence);
    }

    // Every column, with positions in commit order across streams.
    let history_a = t.store.history("counter", "a").await.unwrap();
    let history_b = t.store.history("counter", "b").await.unwrap();
    let positions_a: Vec<u64> = history_a.iter().map(|e| e.position).collect();
    assert_eq!(positions_a, [1, 2, 4]);
    assert_eq!(history_b[0].position, 3);
    let mut ids = std::collections::HashSet::new();
    for event in history_a.iter().chain(&history_b) {
        assert_eq!(event.event_id.get_version_num(), 7);
        assert_eq!(event.metadata["event_id"], event.event_id.to_string());
        assert_eq!(
            event.recorded_at.as_deref(),
            Some("2026-03-01T09:00:00.000000Z")
        );
        assert!(ids.insert(event.event_id), "event ids are unique");
    }
    assert_eq!(t.store.streams("counter").await.unwrap(), ["a", "b"]);
    assert_eq!(t.store.count_events().await.unwrap(), 4);

    // The all-events replay runs in commit order, not per-stream sequence order.
    let mut stream = t.any().stream_all_events::<Counter>().await.unwrap();
    let mut order = Vec::new();
    while let Some(event) = stream.next::<Counter>(&[]).await {
        let event = event.unwrap();
        order.push((event.aggregate_id, event.sequence));
    }
    let expected = [("a", 1), ("a", 2), ("b", 1), ("a", 3)].map(|(id, s)| (id.to_string(), s));
    assert_eq!(order, expected);
}

#[tokio::test]
async fn a_command_without_events_or_refused_writes_nothing() {
    let t = counter_store().await;
    let engine = engine(&t.store, None);
    add(&engine, "a", 1).await;

    let nothing = engine
        .execute("a", CounterCommand::Add { times: 0 }, metadata())
        .await
        .unwrap();
    assert_eq!((nothing.version, nothing.last_position), (1, None));
    assert!(nothing.events.is_empty());

    let refused = engine
        .execute("a", CounterCommand::Refuse, metadata())
        .await;
    assert!(matches!(refused, Err(ExecError::Rejected(Refused))));
    assert_eq!(t.store.count_events().await.unwrap(), 1);
}

// ---------------------------------------------------------------- concurrency control

#[tokio::test]
async fn second_commit_from_the_same_version_is_a_conflict() {
    let t = counter_store().await;
    let engine = Engine::<Counter>::new(
        t.store.clone(),
        CounterServices {
            barrier: Some(Barrier::new(2)),
        },
        None,
    );
    add(&engine, "a", 1).await;

    // Both load version 1 and meet at the barrier before either commits.
    let (one, two) = tokio::join!(
        engine.execute("a", CounterCommand::AddTogether, metadata()),
        engine.execute("a", CounterCommand::AddTogether, metadata()),
    );
    let (winner, loser) = match (one, two) {
        (Ok(w), Err(l)) | (Err(l), Ok(w)) => (w, l),
        (one, two) => panic!("expected one commit and one conflict, got {one:?} / {two:?}"),
    };
    assert!(matches!(loser, ExecError::Conflict), "got {loser:?}");
    assert_eq!(winner.version, 2);

    // Only the winner's event was added.
    let history = t.store.history("counter", "a").await.unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(
        history[1].event_id.to_string(),
        winner.events[0].metadata["event_id"]
    );
    assert_eq!(engine.load("a").await.unwrap().aggregate.count, 2);
}

#[tokio::test]
async fn persist_with_a_taken_sequence_is_an_optimistic_lock_error() {
    let t = counter_store().await;
    add(&engine(&t.store, None), "a", 2).await;
    let before = t.store.history("counter", "a").await.unwrap();

    // Sequence 3 is free but 2 is taken: the whole batch is refused.
    let result = t
        .any()
        .persist::<Counter>(&[serialized("a", 2), serialized("a", 3)], None)
        .await;
    assert!(matches!(result, Err(PersistenceError::OptimisticLockError)));

    // A gap is refused too, and is not mistaken for a conflict.
    let gap = t
        .any()
        .persist::<Counter>(&[serialized("a", 5)], None)
        .await;
    assert!(matches!(gap, Err(PersistenceError::UnknownError(_))));

    assert_eq!(t.store.history("counter", "a").await.unwrap(), before);
    assert_eq!(t.store.count_events().await.unwrap(), 2);
}

// ---------------------------------------------------------------- snapshots

#[tokio::test]
async fn snapshots_are_taken_every_n_events_and_load_like_a_replay() {
    let t = counter_store().await;
    let snapshotting = engine(&t.store, Some(2));
    let replaying = engine(&t.store, None);
    let snapshot = || async {
        t.any()
            .get_snapshot::<Counter>("s")
            .await
            .unwrap()
            .map(|s| {
                (
                    s.current_sequence,
                    s.current_snapshot,
                    s.aggregate["count"].clone(),
                )
            })
    };

    add(&snapshotting, "s", 1).await;
    assert_eq!(snapshot().await, None);
    add(&snapshotting, "s", 1).await;
    assert_eq!(snapshot().await, Some((2, 1, json!(2))));
    add(&snapshotting, "s", 1).await;
    assert_eq!(
        snapshot().await,
        Some((2, 1, json!(2))),
        "no boundary crossed"
    );
    // One command crossing two boundaries (4 and 6) snapshots all its events.
    add(&snapshotting, "s", 3).await;
    assert_eq!(snapshot().await, Some((6, 2, json!(6))));
    snapshotting
        .execute("s", CounterCommand::Reserve { key: "k".into() }, metadata())
        .await
        .unwrap();
    // Crossing 8 with a batch ending at 9: the snapshot covers 9.
    add(&snapshotting, "s", 2).await;
    assert_eq!(snapshot().await, Some((9, 3, json!(8))));

    let from_snapshot = snapshotting.load("s").await.unwrap();
    let from_replay = replaying.load("s").await.unwrap();
    assert_eq!(from_snapshot.version, 9);
    assert_eq!(from_replay.version, 9);
    assert_eq!(from_snapshot.aggregate, from_replay.aggregate);
    assert_eq!(
        from_replay.aggregate,
        Counter {
            count: 8,
            held: vec!["k".into()]
        }
    );
}

#[tokio::test]
async fn a_snapshot_conflict_rolls_back_the_events_too() {
    let t = counter_store().await;
    add(&engine(&t.store, Some(2)), "s", 4).await; // snapshot number 1 at 4
    let snapshot_before = t.any().get_snapshot::<Counter>("s").await.unwrap();
    assert_eq!(
        snapshot_before.as_ref().map(|s| s.current_snapshot),
        Some(1)
    );

    // A writer that believes there is no snapshot yet (number 1) loses, and its
    // events — valid on their own — are not written either.
    let result = t
        .any()
        .persist::<Counter>(
            &[serialized("s", 5)],
            Some(("s".to_string(), json!({"count": 5, "held": []}), 1)),
        )
        .await;
    assert!(matches!(result, Err(PersistenceError::OptimisticLockError)));
    assert_eq!(t.store.count_events().await.unwrap(), 4);
    assert_eq!(
        t.any().get_snapshot::<Counter>("s").await.unwrap(),
        snapshot_before
    );

    // The right number goes through.
    t.any()
        .persist::<Counter>(
            &[serialized("s", 5)],
            Some(("s".to_string(), json!({"count": 5, "held": []}), 2)),
        )
        .await
        .unwrap();
    let after = t.any().get_snapshot::<Counter>("s").await.unwrap().unwrap();
    assert_eq!((after.current_sequence, after.current_snapshot), (5, 2));
}

#[tokio::test]
async fn a_snapshot_that_no_longer_deserializes_is_replayed_then_replaced() {
    let t = counter_store().await;
    let engine = engine(&t.store, Some(2));
    add(&engine, "s", 2).await;

    // As if the aggregate's shape had changed since the snapshot was taken.
    let mut raw = raw_connection(&t.path).await;
    raw.execute(r#"UPDATE snapshots SET payload = '{"old_shape":true}'"#)
        .await
        .unwrap();

    let loaded = engine.load("s").await.unwrap();
    assert_eq!((loaded.version, loaded.aggregate.count), (2, 2));
    add(&engine, "s", 2).await;
    let snapshot = t.any().get_snapshot::<Counter>("s").await.unwrap().unwrap();
    assert_eq!(
        (snapshot.current_sequence, snapshot.current_snapshot),
        (4, 2)
    );
    assert_eq!(snapshot.aggregate["count"], json!(4));
}

// ---------------------------------------------------------------- hash chain

/// The hash as the design states it, computed here without the store's code:
/// SHA-256 over prev_hash and the event's canonical JSON, written by hand.
fn expected_hash(prev_hash: &str, id: &str, sequence: usize, event_id: Uuid) -> String {
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

#[tokio::test]
async fn hash_chain_is_stored_and_recomputable() {
    let t = counter_store().await;
    let engine = engine(&t.store, None);
    add(&engine, "h", 2).await;
    add(&engine, "other", 1).await;
    add(&engine, "h", 1).await;

    let history = t.store.history("counter", "h").await.unwrap();
    let mut prev = GENESIS_HASH.to_string();
    assert_eq!(prev, "0".repeat(64));
    for event in &history {
        assert_eq!(event.prev_hash, prev);
        assert_eq!(
            event.hash,
            expected_hash(&prev, "h", event.sequence, event.event_id)
        );
        prev = event.hash.clone();
    }

    let report = t.store.verify_chains().await.unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!((report.streams, report.events), (2, 4));
}

#[tokio::test]
async fn verify_chains_names_a_tampered_event() {
    let t = counter_store().await;
    let engine = engine(&t.store, None);
    add(&engine, "h", 3).await;
    add(&engine, "other", 2).await;

    let mut raw = raw_connection(&t.path).await;
    // The schema refuses edits outright…
    let refused = raw
        .execute("UPDATE events SET payload = '{}' WHERE aggregate_id = 'h'")
        .await;
    assert!(refused.unwrap_err().to_string().contains("append-only"));
    // …so a tamperer drops the guard first; the chain still gives them away.
    raw.execute("DROP TRIGGER events_no_update").await.unwrap();
    raw.execute(
        r#"UPDATE events SET payload = '{"Incremented":{"by":1000}}'
            WHERE aggregate_id = 'h' AND sequence = 2"#,
    )
    .await
    .unwrap();

    let report = t.store.verify_chains().await.unwrap();
    assert!(!report.is_ok());
    assert_eq!(report.breaks.len(), 1, "{report:?}");
    let found = &report.breaks[0];
    assert_eq!(
        (
            found.aggregate_type.as_str(),
            found.aggregate_id.as_str(),
            found.sequence,
            found.problem
        ),
        ("counter", "h", 2, ChainProblem::Hash)
    );
    let stored = t.store.history("counter", "h").await.unwrap();
    assert_eq!(found.stored, stored[1].hash);
    assert_ne!(found.expected, found.stored);

    assert!(t
        .store
        .verify_chain("counter", "other")
        .await
        .unwrap()
        .is_ok());
    assert!(!t.store.verify_chain("counter", "h").await.unwrap().is_ok());
}

#[tokio::test]
async fn verify_chains_notices_a_removed_event() {
    let t = counter_store().await;
    add(&engine(&t.store, None), "h", 3).await;

    let mut raw = raw_connection(&t.path).await;
    raw.execute("DROP TRIGGER events_no_delete").await.unwrap();
    raw.execute("DELETE FROM events WHERE aggregate_id = 'h' AND sequence = 2")
        .await
        .unwrap();

    let report = t.store.verify_chain("counter", "h").await.unwrap();
    let problems: Vec<_> = report
        .breaks
        .iter()
        .map(|b| (b.sequence, b.problem))
        .collect();
    assert_eq!(
        problems,
        [(3, ChainProblem::Sequence), (3, ChainProblem::PrevHash)]
    );
}

// ---------------------------------------------------------------- reservations

#[tokio::test]
async fn a_key_held_by_another_aggregate_refuses_the_whole_commit() {
    let t = counter_store().await;
    let engine = engine(&t.store, None);
    let reserve = |id: &'static str| {
        engine.execute(
            id,
            CounterCommand::Reserve {
                key: "110101199003071234".into(),
            },
            metadata(),
        )
    };
    let release = |id: &'static str| {
        engine.execute(
            id,
            CounterCommand::Release {
                key: "110101199003071234".into(),
            },
            metadata(),
        )
    };
    let holder = || {
        t.store
            .reservation_holder(Scope::OpenFileByResident, "110101199003071234")
    };

    reserve("a").await.unwrap();
    assert_eq!(holder().await.unwrap().as_deref(), Some("a"));
    add(&engine, "b", 1).await;
    let count_before = t.store.count_events().await.unwrap();

    match reserve("b").await {
        Err(ExecError::Reservation(ReservationConflict {
            scope,
            key,
            held_by,
        })) => {
            assert_eq!(scope, Scope::OpenFileByResident);
            assert_eq!(key, "110101199003071234");
            assert_eq!(held_by, "a");
        }
        other => panic!("expected a reservation conflict, got {other:?}"),
    }
    assert_eq!(t.store.count_events().await.unwrap(), count_before);
    assert_eq!(engine.load("b").await.unwrap().version, 1);

    // Taking a key one already holds is fine; releasing one held by another does nothing.
    reserve("a").await.unwrap();
    release("b").await.unwrap();
    assert_eq!(holder().await.unwrap().as_deref(), Some("a"));

    release("a").await.unwrap();
    assert_eq!(holder().await.unwrap(), None);
    reserve("b").await.unwrap();
    assert_eq!(holder().await.unwrap().as_deref(), Some("b"));
}

// ---------------------------------------------------------------- durability

#[tokio::test]
async fn the_writer_uses_wal_and_synchronous_full() {
    let t = counter_store().await;
    assert!(t.path.exists(), "open created the directory and the file");
    let durability = t.store.durability().await.unwrap();
    assert_eq!(durability.journal_mode, "wal");
    assert_eq!(durability.synchronous, 2, "FULL");
}

#[tokio::test]
async fn reopening_keeps_the_events() {
    let t = counter_store().await;
    add(&engine(&t.store, None), "a", 2).await;
    t.store.close().await;

    let reopened = SqliteStore::open(&t.path, counter_reservations)
        .await
        .unwrap();
    assert_eq!(reopened.count_events().await.unwrap(), 2);
    assert!(reopened.verify_chains().await.unwrap().is_ok());
}

// ---------------------------------------------------------------- concurrent writers

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_commands_on_different_streams_all_land_in_order() {
    const TASKS: usize = 8;
    const COMMANDS: usize = 5;
    let t = counter_store().await;
    let engine = Arc::new(engine(&t.store, None));

    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let engine = Arc::clone(&engine);
        tasks.push(tokio::spawn(async move {
            let id = format!("c{task}");
            for _ in 0..COMMANDS {
                add(&engine, &id, 1).await;
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }

    let total = TASKS * COMMANDS;
    assert_eq!(t.store.count_events().await.unwrap(), total as u64);
    let mut positions = Vec::new();
    for task in 0..TASKS {
        let history = t
            .store
            .history("counter", &format!("c{task}"))
            .await
            .unwrap();
        assert_eq!(history.len(), COMMANDS);
        // Within a stream, sequence order is commit order.
        assert!(history.windows(2).all(|w| w[0].position < w[1].position));
        positions.extend(history.iter().map(|e| e.position));
    }
    positions.sort_unstable();
    assert_eq!(positions, (1..=total as u64).collect::<Vec<_>>());
    assert!(t.store.verify_chains().await.unwrap().is_ok());
}

// ---------------------------------------------------------------- replay streams

#[tokio::test]
async fn a_replay_stream_reports_errors_instead_of_ending_early() {
    let t = counter_store().await;
    add(&engine(&t.store, None), "a", 2).await;

    // A row that does not decode, slipped past the CHECK constraints.
    let mut raw = raw_connection(&t.path).await;
    raw.execute("PRAGMA ignore_check_constraints = ON")
        .await
        .unwrap();
    raw.execute(
        format!(
            "INSERT INTO events (event_id, aggregate_type, aggregate_id, sequence, event_type,
                             event_version, payload, metadata, prev_hash, hash)
         VALUES ('{}', 'counter', 'a', 3, 'Incremented', '1.0', 'not json', '{{}}',
                 '{zeros}', '{zeros}')",
            Uuid::now_v7(),
            zeros = "0".repeat(64)
        )
        .as_str(),
    )
    .await
    .unwrap();

    let mut stream = t.any().stream_events::<Counter>("a").await.unwrap();
    let mut results: Vec<Result<usize, PersistenceError>> = Vec::new();
    while let Some(item) = stream.next::<Counter>(&[]).await {
        results.push(item.map(|e| e.sequence));
    }
    assert_eq!(results.len(), 3);
    assert!(matches!(results[0], Ok(1)));
    assert!(matches!(results[1], Ok(2)));
    assert!(matches!(
        results[2],
        Err(PersistenceError::DeserializationError(_))
    ));

    let report = t.store.verify_chain("counter", "a").await.unwrap();
    assert!(report
        .breaks
        .iter()
        .any(|b| b.sequence == 3 && b.problem == ChainProblem::Unreadable));

    // And a database error (here: the store is closed) reaches the consumer too.
    t.store.close().await;
    let mut stream = t.any().stream_all_events::<Counter>().await.unwrap();
    assert!(matches!(stream.next::<Counter>(&[]).await, Some(Err(_))));
}

#[tokio::test]
async fn history_of_an_unknown_stream_is_empty() {
    let t = counter_store().await;
    assert!(t
        .store
        .history("counter", "nobody")
        .await
        .unwrap()
        .is_empty());
    assert!(t.store.verify_chains().await.unwrap().is_ok());
    assert_eq!(
        t.store
            .reservation_holder(Scope::ClaimedStay, "x")
            .await
            .unwrap(),
        None
    );
}
