//! What the store-generic tests share: a tiny counter aggregate (so they do
//! not depend on the real aggregates, which evolve on their own) and a
//! [`Fixture`] — a fresh store of one backend, plus what a test needs to
//! reach behind it (reopen it, tamper with it).
//!
//! A KurrentDB server cannot be emptied per test, so every fixture hands out
//! aggregate ids in a namespace of its own ([`Fixture::id`]) and counts and
//! reads the log relative to where it stood when the fixture was made.

use std::path::PathBuf;

use bangfu::app::engine::Engine;
use bangfu::store::{AnyStore, LogPosition, StoredEvent};
use cqrs_es::event_sink::EventSink;
use cqrs_es::persist::SerializedEvent;
use cqrs_es::{Aggregate, DomainEvent};
use domain::reservation::{Reservation, Scope};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::Connection;
use tempfile::TempDir;
use tokio::sync::Barrier;

use crate::support::metadata;

// ---------------------------------------------------------------- the counter

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Counter {
    pub count: u64,
    pub held: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum CounterEvent {
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
pub enum CounterCommand {
    /// Emits `times` events in one commit.
    Add {
        times: u32,
    },
    /// Waits at the services' barrier after loading, then adds one.
    AddTogether,
    Reserve {
        key: String,
    },
    Release {
        key: String,
    },
}

#[derive(Debug, thiserror::Error)]
#[error("refused")]
pub struct Refused;

#[derive(Default)]
pub struct CounterServices {
    pub barrier: Option<Barrier>,
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

/// The counter's reservation extractor.
pub fn counter_reservations(
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

/// How long a reader waits for events it knows were committed.
pub const CATCH_UP_DEADLINE: std::time::Duration = std::time::Duration::from_secs(30);

/// See [`Fixture::read_until`].
pub async fn read_until(
    store: &AnyStore,
    mut after: LogPosition,
    n: usize,
    page: usize,
) -> Vec<StoredEvent> {
    let deadline = tokio::time::Instant::now() + CATCH_UP_DEADLINE;
    let mut all = Vec::new();
    while all.len() < n {
        let events = store
            .read_all(after, page.min(n - all.len()))
            .await
            .expect("read_all");
        match events.last() {
            Some(last) => {
                after = last.log_position;
                all.extend(events);
            }
            None => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "only {} of {n} committed events became readable",
                    all.len()
                );
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        }
    }
    all
}

/// A raw `Incremented` event as cqrs-es hands it to `persist`.
pub fn serialized(id: &str, sequence: usize) -> SerializedEvent {
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

pub type Outcome =
    Result<bangfu::app::engine::Committed<Counter>, bangfu::app::engine::ExecError<Refused>>;

pub async fn reserve(engine: &Engine<Counter>, id: &str, key: &str) -> Outcome {
    let key = key.to_string();
    engine
        .execute(id, CounterCommand::Reserve { key }, metadata())
        .await
}

pub async fn release(engine: &Engine<Counter>, id: &str, key: &str) -> Outcome {
    let key = key.to_string();
    engine
        .execute(id, CounterCommand::Release { key }, metadata())
        .await
}

pub async fn add(engine: &Engine<Counter>, id: &str, times: u32) {
    engine
        .execute(id, CounterCommand::Add { times }, metadata())
        .await
        .expect("add commits");
}

// ---------------------------------------------------------------- fixtures

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    Kurrent,
}

/// A fresh store of one backend.
pub struct Fixture {
    pub store: AnyStore,
    pub backend: Backend,
    /// The URL it was opened from (to reopen it).
    pub url: String,
    /// Ids from [`Fixture::id`] start with this.
    namespace: String,
    /// Events the store held before this fixture (KurrentDB only).
    baseline: u64,
    /// The log position before this fixture's first event.
    pub start: LogPosition,
    _dir: Option<TempDir>,
}

impl Fixture {
    pub async fn sqlite() -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let path: PathBuf = dir.path().join("bangfu.db");
        let url = format!("sqlite://{}", path.display());
        let mut fixture = Fixture::open(Backend::Sqlite, url).await;
        fixture._dir = Some(dir);
        fixture
    }

    /// `None` when PostgreSQL is unavailable (see `pg::fresh_database`).
    pub async fn postgres(test: &str) -> Option<Fixture> {
        let url = crate::pg::fresh_database(test).await?;
        Some(Fixture::open(Backend::Postgres, url).await)
    }

    /// `None` unless `KURRENTDB_URL` names a server.
    pub async fn kurrent() -> Option<Fixture> {
        let url = std::env::var("KURRENTDB_URL").ok()?;
        Some(Fixture::open(Backend::Kurrent, url).await)
    }

    async fn open(backend: Backend, url: String) -> Fixture {
        let store = AnyStore::open(&url, counter_reservations)
            .await
            .expect("open the store");
        let (baseline, start) = match backend {
            Backend::Kurrent => (
                store.count_events().await.expect("count"),
                store
                    .last_event()
                    .await
                    .expect("last event")
                    .map_or(LogPosition::START, |e| e.log_position),
            ),
            _ => (0, LogPosition::START),
        };
        Fixture {
            store,
            backend,
            url,
            namespace: format!("t{}", uuid::Uuid::now_v7().simple()),
            baseline,
            start,
            _dir: None,
        }
    }

    /// An aggregate id in this fixture's own namespace.
    pub fn id(&self, name: &str) -> String {
        format!("{}-{name}", self.namespace)
    }

    /// The fixture's name for an id it handed out.
    pub fn name<'a>(&self, id: &'a str) -> &'a str {
        let prefix = format!("{}-", self.namespace);
        id.strip_prefix(prefix.as_str()).unwrap_or(id)
    }

    /// Events written since the fixture was made.
    pub async fn count(&self) -> u64 {
        self.store.count_events().await.expect("count") - self.baseline
    }

    /// The counter streams made by this fixture, oldest first, by name.
    pub async fn streams(&self) -> Vec<String> {
        let prefix = format!("{}-", self.namespace);
        self.store
            .streams(Counter::TYPE)
            .await
            .expect("streams")
            .into_iter()
            .filter(|id| id.starts_with(&prefix))
            .map(|id| id[prefix.len()..].to_string())
            .collect()
    }

    pub fn engine(&self, snapshot_every: Option<usize>) -> Engine<Counter> {
        Engine::new(
            self.store.clone(),
            CounterServices::default(),
            snapshot_every,
        )
    }

    /// Opens the same store again, as a restarted process would.
    pub async fn reopen(&self) -> AnyStore {
        AnyStore::open(&self.url, counter_reservations)
            .await
            .expect("reopen the store")
    }

    /// The next `n` events after `after`, following the log `page` at a
    /// time. On PostgreSQL the log is readable only below the oldest
    /// transaction running anywhere in the cluster, and other tests write to
    /// the same cluster, so the events may become readable a moment later:
    /// this waits for them (up to [`CATCH_UP_DEADLINE`]) rather than assuming.
    pub async fn read_until(&self, after: LogPosition, n: usize, page: usize) -> Vec<StoredEvent> {
        read_until(&self.store, after, n, page).await
    }

    /// Rewrites one event's payload behind the store's back, as someone with
    /// database access would (dropping the append-only guard first). `false`
    /// where that is impossible (KurrentDB's log is immutable).
    pub async fn tamper(&self, aggregate_id: &str, sequence: i64, payload: &str) -> bool {
        match self.backend {
            Backend::Sqlite => {
                let mut raw = sqlx::SqliteConnection::connect(&self.url)
                    .await
                    .expect("raw connection");
                sqlx::query("DROP TRIGGER events_no_update")
                    .execute(&mut raw)
                    .await
                    .expect("drop the guard");
                sqlx::query(
                    "UPDATE events SET payload = ? WHERE aggregate_id = ? AND sequence = ?",
                )
                .bind(payload)
                .bind(aggregate_id)
                .bind(sequence)
                .execute(&mut raw)
                .await
                .expect("tamper");
                true
            }
            Backend::Postgres => {
                let mut raw = sqlx::PgConnection::connect(&self.url)
                    .await
                    .expect("raw connection");
                sqlx::query("ALTER TABLE events DISABLE TRIGGER events_no_update_or_delete")
                    .execute(&mut raw)
                    .await
                    .expect("drop the guard");
                sqlx::query(
                    "UPDATE events SET payload = CAST($1 AS json)
                      WHERE aggregate_id = $2 AND sequence = $3",
                )
                .bind(payload)
                .bind(aggregate_id)
                .bind(sequence)
                .execute(&mut raw)
                .await
                .expect("tamper");
                true
            }
            Backend::Kurrent => false,
        }
    }

    /// Tries an UPDATE with the guard in place; the error message, if refused.
    pub async fn try_update(&self) -> Option<String> {
        match self.backend {
            Backend::Sqlite => {
                let mut raw = sqlx::SqliteConnection::connect(&self.url).await.ok()?;
                sqlx::query("UPDATE events SET payload = '{}'")
                    .execute(&mut raw)
                    .await
                    .err()
                    .map(|e| e.to_string())
            }
            Backend::Postgres => {
                let mut raw = sqlx::PgConnection::connect(&self.url).await.ok()?;
                sqlx::query("UPDATE events SET payload = '{}'")
                    .execute(&mut raw)
                    .await
                    .err()
                    .map(|e| e.to_string())
            }
            Backend::Kurrent => None,
        }
    }
}
