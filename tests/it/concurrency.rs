//! Group commit and the engine's aggregate cache under concurrency.
//!
//! Batches are made deterministic by holding SQLite's write lock from a second
//! connection (as another process would): the store's writer blocks in
//! `BEGIN IMMEDIATE`, the test queues its appends and waits until the store
//! reports them queued, then releases the lock, so every queued append lands
//! in one batch. Nothing here sleeps or measures time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bangfu::app::engine::{Engine, ExecError};
use bangfu::store::{EventStore, ReservationConflict, SqliteStore};
use cqrs_es::event_sink::EventSink;
use cqrs_es::persist::{PersistenceError, SerializedEvent};
use cqrs_es::{Aggregate, DomainEvent};
use domain::reservation::{Reservation, Scope};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::{Connection, Executor, SqliteConnection};
use tokio::sync::Barrier;

use crate::support::{metadata, raw_connection, temp_store, TestStore};

// ---------------------------------------------------------------- raw events

/// Events of type "Reserved" take the key in their payload.
fn key_reservations(
    _aggregate_type: &str,
    _aggregate_id: &str,
    event_type: &str,
    _event_version: &str,
    payload: &Value,
) -> Result<Vec<Reservation>, String> {
    Ok(match (event_type, payload["key"].as_str()) {
        ("Reserved", Some(key)) => vec![Reservation::Take {
            scope: Scope::OpenFileByResident,
            key: key.to_string(),
        }],
        _ => Vec::new(),
    })
}

fn event(id: &str, sequence: usize, event_type: &str, payload: Value) -> SerializedEvent {
    SerializedEvent {
        aggregate_id: id.to_string(),
        sequence,
        aggregate_type: "tally".to_string(),
        event_type: event_type.to_string(),
        event_version: "1.0".to_string(),
        payload,
        metadata: json!(metadata()),
    }
}

fn added(id: &str, sequence: usize) -> SerializedEvent {
    event(id, sequence, "Added", json!({"Added": {"by": 1}}))
}

type AppendResult = Result<Vec<bangfu::store::Appended>, PersistenceError>;

/// One `append` call's arguments: the events and the optional snapshot.
type Append = (Vec<SerializedEvent>, Option<(String, Value, usize)>);

/// Holds the database's write lock from another connection until released.
struct WriteLock(SqliteConnection);

impl WriteLock {
    async fn take(t: &TestStore) -> WriteLock {
        let mut conn = raw_connection(&t.path).await;
        conn.execute("BEGIN IMMEDIATE").await.expect("write lock");
        WriteLock(conn)
    }

    async fn release(mut self) {
        self.0.execute("COMMIT").await.expect("release");
        self.0.close().await.expect("close");
    }
}

/// Submits every append, in order, while `lock` holds the writer off (each
/// once the store reports the previous one pending), then releases the lock
/// and collects the answers.
async fn one_batch(
    store: &SqliteStore,
    lock: WriteLock,
    appends: Vec<Append>,
) -> Vec<AppendResult> {
    let pending = store.pending_writes();
    let mut tasks = Vec::new();
    for (events, snapshot) in appends {
        let submitter = store.clone();
        tasks.push(tokio::spawn(async move {
            submitter.append("tally", &events, snapshot).await
        }));
        // Queue order is batch order: this one must be in before the next.
        let expected = pending + tasks.len() as u64;
        wait_until(|| store.pending_writes() == expected).await;
    }
    lock.release().await;
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.expect("append task"));
    }
    results
}

/// Polls a condition the store reports; fails the test if it never holds.
async fn wait_until(mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !condition() {
        assert!(Instant::now() < deadline, "condition never held");
        tokio::task::yield_now().await;
    }
}

fn positions(results: &[AppendResult]) -> Vec<u64> {
    results
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .flat_map(|a| a.iter().map(|e| e.position))
        .collect()
}

// ---------------------------------------------------------------- group commit

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appends_to_different_streams_commit_in_one_batch_with_gapless_positions() {
    let t = temp_store(key_reservations).await;
    let before = t.store.write_stats();
    let lock = WriteLock::take(&t).await;
    let appends = (0..10)
        .map(|i| {
            let id = format!("s{i}");
            // Stream s3 gets three events in one command.
            let n = if i == 3 { 3 } else { 1 };
            ((1..=n).map(|s| added(&id, s)).collect(), None)
        })
        .collect();
    let results = one_batch(&t.store, lock, appends).await;

    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let stats = t.store.write_stats();
    assert_eq!(stats.batches - before.batches, 1, "one transaction");
    assert_eq!(stats.commands - before.commands, 10);
    // Positions are gapless and follow submission (= batch) order.
    assert_eq!(positions(&results), (1..=12).collect::<Vec<u64>>());
    assert_eq!(t.store.count_events().await.unwrap(), 12);
    let report = t.store.verify_chains().await.unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!((report.streams, report.events), (10, 12));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failing_command_in_a_batch_fails_alone() {
    let t = temp_store(key_reservations).await;
    t.store
        .append("tally", &[added("a", 1)], None)
        .await
        .unwrap();
    t.store
        .append(
            "tally",
            &[added("snap", 1)],
            Some(("snap".into(), json!({"count": 1}), 1)),
        )
        .await
        .unwrap();
    let before = t.store.write_stats();

    let lock = WriteLock::take(&t).await;
    let reserve = |id: &str| event(id, 1, "Reserved", json!({"key": "K"}));
    let results = one_batch(
        &t.store,
        lock,
        vec![
            (vec![added("a", 2)], None), // 0: ok
            (vec![added("a", 2)], None), // 1: sequence 2 taken by 0 in this batch
            (vec![added("b", 1)], None), // 2: ok
            (vec![reserve("r1")], None), // 3: takes K
            (vec![reserve("r2")], None), // 4: K held by r1, in this batch
            (
                vec![added("snap", 2)],
                Some(("snap".into(), json!({"count": 2}), 1)),
            ), // 5: stale snapshot number
            (vec![added("a", 3), added("a", 4)], None), // 6: continues a after 0
            (vec![added("c", 1)], None), // 7: ok
        ],
    )
    .await;

    assert!(results[0].is_ok());
    assert!(matches!(
        results[1],
        Err(PersistenceError::OptimisticLockError)
    ));
    assert!(results[2].is_ok());
    assert!(results[3].is_ok());
    match &results[4] {
        Err(PersistenceError::UnknownError(e)) => {
            let conflict = e
                .downcast_ref::<ReservationConflict>()
                .expect("reservation conflict");
            assert_eq!(conflict.held_by, "r1");
        }
        other => panic!("expected a reservation conflict, got {other:?}"),
    }
    assert!(matches!(
        results[5],
        Err(PersistenceError::OptimisticLockError)
    ));
    assert!(results[6].is_ok());
    assert!(results[7].is_ok());

    let stats = t.store.write_stats();
    assert_eq!(stats.batches - before.batches, 1);
    assert_eq!(stats.commands - before.commands, 5);
    // Refused commands left no trace: positions stay gapless, in batch order.
    assert_eq!(positions(&results), (3..=8).collect::<Vec<u64>>());
    assert_eq!(t.store.count_events().await.unwrap(), 8);
    let a: Vec<usize> = t
        .store
        .history("tally", "a")
        .await
        .unwrap()
        .iter()
        .map(|e| e.sequence)
        .collect();
    assert_eq!(a, [1, 2, 3, 4]);
    assert!(t.store.history("tally", "r2").await.unwrap().is_empty());
    assert_eq!(
        t.store.history("tally", "snap").await.unwrap().len(),
        1,
        "the snapshot conflict rolled back its event"
    );
    assert_eq!(
        t.store
            .reservation_holder(Scope::OpenFileByResident, "K")
            .await
            .unwrap()
            .as_deref(),
        Some("r1")
    );
    assert!(t.store.verify_chains().await.unwrap().is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_command_is_acknowledged_when_its_batch_does_not_commit() {
    let t = temp_store(key_reservations).await;
    t.store
        .append("tally", &[added("x", 1)], None)
        .await
        .unwrap();
    let before = t.store.write_stats();

    // A real COMMIT failure: a deferred foreign key that an insert of stream
    // "poison" violates is checked only at COMMIT, after every savepoint of the
    // batch was released.
    let mut raw = raw_connection(&t.path).await;
    raw.execute(
        "CREATE TABLE parent (id INTEGER PRIMARY KEY);
         CREATE TABLE poison (ref INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);
         CREATE TRIGGER poison_commit AFTER INSERT ON events WHEN NEW.aggregate_id = 'poison'
         BEGIN INSERT INTO poison (ref) VALUES (42); END;",
    )
    .await
    .unwrap();
    raw.close().await.unwrap();

    let lock = WriteLock::take(&t).await;
    let results = one_batch(
        &t.store,
        lock,
        vec![
            (vec![added("x", 2)], None),
            (vec![added("poison", 1)], None),
            (vec![added("y", 1)], None),
        ],
    )
    .await;
    for result in &results {
        match result {
            Err(PersistenceError::UnknownError(e)) => {
                assert!(e.to_string().contains("did not commit"), "{e}")
            }
            other => panic!("expected the batch to fail, got {other:?}"),
        }
    }
    assert_eq!(
        t.store.count_events().await.unwrap(),
        1,
        "nothing was committed"
    );
    assert_eq!(t.store.write_stats(), before);

    // The writer rolled back and goes on; positions continue without a gap.
    let again = t
        .store
        .append("tally", &[added("x", 2)], None)
        .await
        .unwrap();
    assert_eq!(again[0].position, 2);
    assert!(t.store.history("tally", "y").await.unwrap().is_empty());
    assert!(t.store.verify_chains().await.unwrap().is_ok());
}

// ---------------------------------------------------------------- the cache

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Tally {
    count: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
enum TallyEvent {
    Added { by: u64 },
}

impl DomainEvent for TallyEvent {
    fn event_type(&self) -> String {
        "Added".to_string()
    }

    fn event_version(&self) -> String {
        "1.0".to_string()
    }
}

#[derive(Clone)]
enum TallyCommand {
    Add,
    /// Adds one, refused while the count is below `at_least`.
    AddIfAtLeast {
        at_least: u64,
    },
    /// Meets the services' barrier after loading, then adds one.
    AddTogether,
    /// Writes an event, then refuses: the handled state is dirty.
    AddThenRefuse,
}

#[derive(Debug, thiserror::Error)]
#[error("refused")]
struct Refused;

#[derive(Default)]
struct TallyServices {
    barrier: Option<Arc<Barrier>>,
}

impl Aggregate for Tally {
    const TYPE: &'static str = "tally";
    type Command = TallyCommand;
    type Event = TallyEvent;
    type Error = Refused;
    type Services = TallyServices;

    async fn handle(
        &mut self,
        command: TallyCommand,
        services: &TallyServices,
        sink: &EventSink<Self>,
    ) -> Result<(), Refused> {
        match command {
            TallyCommand::Add => sink.write(TallyEvent::Added { by: 1 }, self).await,
            TallyCommand::AddIfAtLeast { at_least } => {
                if self.count < at_least {
                    return Err(Refused);
                }
                sink.write(TallyEvent::Added { by: 1 }, self).await;
            }
            TallyCommand::AddTogether => {
                services.barrier.as_ref().expect("a barrier").wait().await;
                sink.write(TallyEvent::Added { by: 1 }, self).await;
            }
            TallyCommand::AddThenRefuse => {
                sink.write(TallyEvent::Added { by: 100 }, self).await;
                return Err(Refused);
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: TallyEvent) {
        match event {
            TallyEvent::Added { by } => self.count += by,
        }
    }
}

fn cached(store: &SqliteStore, barrier: Option<Arc<Barrier>>) -> Engine<Tally> {
    Engine::new(store.clone(), TallyServices { barrier }, None).with_cache(16)
}

async fn add(engine: &Engine<Tally>, id: &str) -> usize {
    engine
        .execute(id, TallyCommand::Add, metadata())
        .await
        .expect("add commits")
        .version
}

#[tokio::test]
async fn a_cached_state_catches_up_with_commits_made_elsewhere() {
    let t = temp_store(key_reservations).await;
    let one = cached(&t.store, None);
    let other = cached(&t.store, None);
    assert_eq!(add(&one, "s").await, 1);
    assert_eq!(one.cached_streams(), 1);

    // Another engine (another process, as far as `one` knows) moves the stream on.
    assert_eq!(add(&other, "s").await, 2);
    t.store
        .append("tally", &[added("s", 3)], None)
        .await
        .unwrap();

    let loaded = one.load_shared("s").await.unwrap();
    assert_eq!((loaded.version, loaded.aggregate.count), (3, 3));
    // The command runs on the caught-up state, at the current version.
    assert_eq!(add(&one, "s").await, 4);
    assert_eq!(other.load("s").await.unwrap().aggregate.count, 4);
    let uncached = Engine::<Tally>::new(t.store.clone(), TallyServices::default(), None);
    assert_eq!(
        uncached.load("s").await.unwrap().aggregate,
        Tally { count: 4 }
    );
}

#[tokio::test]
async fn a_stale_cache_never_commits_against_an_old_version() {
    let t = temp_store(key_reservations).await;
    let one = cached(&t.store, None);
    let other = cached(&t.store, None);
    add(&one, "s").await;
    // `one` now holds version 1; the stream moves on behind its back.
    add(&other, "s").await;

    // Decided first on the stale state, refused by the store's sequence
    // check, decided again on the stored state: it lands after version 2.
    let committed = one
        .execute("s", TallyCommand::Add, metadata())
        .await
        .unwrap();
    assert_eq!(committed.version, 3);
    assert_eq!(committed.events[0].sequence, 3);
    let history = t.store.history("tally", "s").await.unwrap();
    assert_eq!(
        history.iter().map(|e| e.sequence).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(one.load("s").await.unwrap().aggregate.count, 3);

    // A refusal decided on a stale state is decided again: `other` still holds
    // version 2 (count 2), refuses there, re-reads (count 3) and accepts.
    other
        .execute("s", TallyCommand::AddIfAtLeast { at_least: 3 }, metadata())
        .await
        .unwrap();
    // A refusal that holds on the stored state stands, and writes nothing.
    let refused = one
        .execute("s", TallyCommand::AddIfAtLeast { at_least: 10 }, metadata())
        .await;
    assert!(matches!(refused, Err(ExecError::Rejected(Refused))));
    assert_eq!(t.store.count_events().await.unwrap(), 4);
    assert!(t.store.verify_chains().await.unwrap().is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_commands_on_uncached_engines_still_conflict() {
    // Without a cache every command is decided on a fresh load, and a race
    // is the caller's to retry, as before.
    let t = temp_store(key_reservations).await;
    let barrier = Arc::new(Barrier::new(2));
    let services = || TallyServices {
        barrier: Some(Arc::clone(&barrier)),
    };
    let one = Engine::<Tally>::new(t.store.clone(), services(), None);
    let two = Engine::<Tally>::new(t.store.clone(), services(), None);
    add(&one, "s").await;
    let (a, b) = tokio::join!(
        one.execute("s", TallyCommand::AddTogether, metadata()),
        two.execute("s", TallyCommand::AddTogether, metadata()),
    );
    assert!(
        matches!(
            (&a, &b),
            (Ok(_), Err(ExecError::Conflict)) | (Err(ExecError::Conflict), Ok(_))
        ),
        "{a:?} / {b:?}"
    );
    assert_eq!(t.store.history("tally", "s").await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_refused_command_leaves_no_trace_in_the_cache() {
    let t = temp_store(key_reservations).await;
    let engine = cached(&t.store, None);
    add(&engine, "s").await;
    let refused = engine
        .execute("s", TallyCommand::AddThenRefuse, metadata())
        .await;
    assert!(matches!(refused, Err(ExecError::Rejected(Refused))));
    // The handler applied an event it never committed; that state is gone.
    let loaded = engine.load("s").await.unwrap();
    assert_eq!((loaded.version, loaded.aggregate.count), (1, 1));
    assert_eq!(add(&engine, "s").await, 2);
    assert_eq!(engine.load("s").await.unwrap().aggregate.count, 2);
}

#[tokio::test]
async fn the_cache_holds_at_most_its_capacity() {
    let t = temp_store(key_reservations).await;
    let engine =
        Engine::<Tally>::new(t.store.clone(), TallyServices::default(), None).with_cache(2);
    for id in ["a", "b", "c"] {
        add(&engine, id).await;
    }
    assert_eq!(engine.cached_streams(), 2);
    // The evicted stream still loads, from the store.
    for id in ["a", "b", "c"] {
        assert_eq!(engine.load(id).await.unwrap().aggregate.count, 1);
    }
    assert_eq!(engine.cached_streams(), 2);
    // Capacity 0 keeps nothing.
    let uncached = Engine::<Tally>::new(t.store.clone(), TallyServices::default(), None);
    add(&uncached, "d").await;
    assert_eq!(uncached.cached_streams(), 0);
}
