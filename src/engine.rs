//! [`Engine`]: runs one aggregate type's commands against the event store —
//! load, handle, commit — and says precisely what happened.
//!
//! # Why not `cqrs_es::CqrsFramework`
//!
//! `CqrsFramework::execute_with_metadata` does the same three steps, but:
//!
//! - it returns `()`, so the caller cannot learn the committed events, their
//!   ids and positions, or the stream's new version (the API returns the
//!   version; the CLI waits for projections to reach the position);
//! - it folds every failure into `AggregateError`, where a reservation
//!   conflict is an opaque `UnexpectedError` and storage and corrupt data are
//!   hard to tell apart; bangfu's callers must map each to its own status;
//! - its commit path (`PersistedEventStore::commit`) computes a snapshot by
//!   applying the new events to the loaded aggregate — but in cqrs-es 0.5
//!   `EventSink::write` has already applied them while handling, so snapshots
//!   would count every event twice; and when one command's events cross a
//!   snapshot boundary it snapshots only part of them while sqlite-es records
//!   the last event's sequence, so a load from that snapshot would skip events;
//! - it dispatches to in-process queries; bangfu's projections read the global
//!   log by position instead, so they survive restarts and never miss a commit.
//!
//! So the engine keeps cqrs-es's loading (`PersistedEventStore::load_aggregate`:
//! snapshot, remaining events, upcasters) and commits itself through
//! [`AnyStore::append`], snapshotting the handled aggregate as it is.

use std::collections::HashMap;

use cqrs_es::event_sink::EventSink;
use cqrs_es::persist::{
    EventUpcaster, PersistedEventRepository, PersistedEventStore, PersistenceError, SerializedEvent,
};
use cqrs_es::{Aggregate, AggregateError, EventEnvelope, EventStore};
use domain::command::metadata_keys;

use crate::store::{AnyStore, LogPosition, ReservationConflict};

/// Why a command did not commit. Closed, so every caller maps every case.
#[derive(Debug, thiserror::Error)]
pub enum ExecError<E: std::error::Error> {
    /// The aggregate refused the command (a business rule). Nothing was written.
    #[error("{0}")]
    Rejected(E),
    /// The stream changed between load and commit (optimistic concurrency).
    /// Nothing was written; reloading and retrying is safe.
    #[error("the aggregate was changed by another command; reload and retry")]
    Conflict,
    /// An event would take a key another aggregate holds. Nothing was written.
    #[error(transparent)]
    Reservation(ReservationConflict),
    /// The database could not be read or written.
    #[error("storage: {0}")]
    Storage(String),
    /// Stored data, or an event or aggregate, could not be (de)serialized.
    #[error("corrupt data: {0}")]
    Corrupt(String),
}

/// A command's outcome once committed.
#[derive(Debug)]
pub struct Committed<A: Aggregate> {
    /// The stream.
    pub aggregate_id: String,
    /// The stream's version (last sequence) after the command; unchanged if the
    /// command produced no events.
    pub version: usize,
    /// The events written, with the metadata as stored (including `event_id`).
    pub events: Vec<EventEnvelope<A>>,
    /// Global position of the last event written, `None` if there were none.
    pub last_position: Option<u64>,
    /// Log position of the last event written (what a caller waits for a
    /// projection to reach), `None` if there were none.
    pub last_log_position: Option<LogPosition>,
}

/// An aggregate as currently stored.
#[derive(Debug)]
pub struct Loaded<A> {
    /// Its state.
    pub aggregate: A,
    /// Its version (last sequence; 0 for a new stream).
    pub version: usize,
}

/// Runs commands for aggregate type `A`. One per aggregate type; share it
/// (e.g. in an `Arc`) between tasks — the store refuses a second commit to a
/// stream from the same version (optimistic concurrency).
pub struct Engine<A: Aggregate> {
    loader: PersistedEventStore<AnyStore, A>,
    store: AnyStore,
    services: A::Services,
    snapshot_every: Option<usize>,
}

impl<A: Aggregate> Engine<A> {
    /// An engine on `store`. With `snapshot_every: Some(n)` the aggregate is
    /// snapshotted whenever its version crosses a multiple of `n`, and loaded
    /// from the snapshot plus later events; with `None` (or `Some(0)`) it is
    /// always replayed from its events. `store` is any of bangfu's stores.
    pub fn new(
        store: impl Into<AnyStore>,
        services: A::Services,
        snapshot_every: Option<usize>,
    ) -> Self {
        let store = store.into();
        let snapshot_every = snapshot_every.filter(|&n| n > 0);
        let loader = match snapshot_every {
            Some(n) => PersistedEventStore::new_snapshot_store(store.clone(), n),
            None => PersistedEventStore::new_event_store(store.clone()),
        };
        Self {
            loader,
            store,
            services,
            snapshot_every,
        }
    }

    /// Upcasters applied to stored events before they are deserialized
    /// (an event type's schema changed: its version was bumped).
    pub fn with_upcasters(self, upcasters: Vec<Box<dyn EventUpcaster>>) -> Self {
        Self {
            loader: self.loader.with_upcasters(upcasters),
            ..self
        }
    }

    /// The store commits go to.
    pub fn store(&self) -> &AnyStore {
        &self.store
    }

    /// The services handlers are given.
    pub fn services(&self) -> &A::Services {
        &self.services
    }

    /// The aggregate's current state and version.
    pub async fn load(&self, aggregate_id: &str) -> Result<Loaded<A>, ExecError<A::Error>> {
        let context = self
            .loader
            .load_aggregate(aggregate_id)
            .await
            .map_err(from_aggregate_error)?;
        Ok(Loaded {
            aggregate: context.aggregate,
            version: context.current_sequence,
        })
    }

    /// The stream's events, oldest first (upcast).
    pub async fn events(
        &self,
        aggregate_id: &str,
    ) -> Result<Vec<EventEnvelope<A>>, ExecError<A::Error>> {
        self.loader
            .load_events(aggregate_id)
            .await
            .map_err(from_aggregate_error)
    }

    /// Loads the aggregate, lets it handle `command`, and commits the events it
    /// produced with `metadata` (build it with `CommandContext::metadata()`;
    /// the store adds `event_id`). All or nothing: on any error nothing is written.
    pub async fn execute(
        &self,
        aggregate_id: &str,
        command: A::Command,
        metadata: HashMap<String, String>,
    ) -> Result<Committed<A>, ExecError<A::Error>> {
        self.execute_expecting(aggregate_id, command, metadata, None)
            .await
    }

    /// [`Engine::execute`], but only if the stream is at `expected_version`
    /// when loaded (`If-Match` in the API): otherwise `Conflict`, nothing
    /// handled. The commit's own optimistic check covers the time after the load.
    pub async fn execute_expecting(
        &self,
        aggregate_id: &str,
        command: A::Command,
        metadata: HashMap<String, String>,
        expected_version: Option<usize>,
    ) -> Result<Committed<A>, ExecError<A::Error>> {
        let mut context = self
            .loader
            .load_aggregate(aggregate_id)
            .await
            .map_err(from_aggregate_error)?;
        let loaded_version = context.current_sequence;
        if expected_version.is_some_and(|expected| expected != loaded_version) {
            return Err(ExecError::Conflict);
        }

        // `EventSink::write(event, self)` applies each event to the aggregate
        // as the handler writes it, so afterwards `context.aggregate` is the
        // state after the command: the snapshot below relies on this.
        let sink = EventSink::default();
        context
            .aggregate
            .handle(command, &self.services, &sink)
            .await
            .map_err(ExecError::Rejected)?;
        let events = sink.collect().await;
        if events.is_empty() {
            return Ok(Committed {
                aggregate_id: aggregate_id.to_string(),
                version: loaded_version,
                events: Vec::new(),
                last_position: None,
                last_log_position: None,
            });
        }

        let mut envelopes: Vec<EventEnvelope<A>> = events
            .into_iter()
            .zip(loaded_version + 1..)
            .map(|(payload, sequence)| EventEnvelope {
                aggregate_id: aggregate_id.to_string(),
                sequence,
                payload,
                metadata: metadata.clone(),
            })
            .collect();
        let serialized = envelopes
            .iter()
            .map(SerializedEvent::try_from)
            .collect::<Result<Vec<_>, _>>()
            .map_err(from_persistence_error)?;
        let version = loaded_version + envelopes.len();

        let snapshot = match self.snapshot_every {
            Some(every) if version / every > loaded_version / every => {
                let state = serde_json::to_value(&context.aggregate).map_err(|e| {
                    ExecError::Corrupt(format!("cannot serialize {}: {e}", A::TYPE))
                })?;
                let number = match context.current_snapshot {
                    Some(n) => n + 1,
                    // No snapshot was loaded: there is none, or the stored one no
                    // longer deserializes (the aggregate's shape changed) and the
                    // load replayed every event. Replace it rather than conflict
                    // with it on every boundary from now on.
                    None => self
                        .store
                        .get_snapshot::<A>(aggregate_id)
                        .await
                        .map_err(from_persistence_error)?
                        .map_or(1, |stored| stored.current_snapshot + 1),
                };
                Some((aggregate_id.to_string(), state, number))
            }
            _ => None,
        };

        let appended = self
            .store
            .append(A::TYPE, &serialized, snapshot)
            .await
            .map_err(from_persistence_error)?;
        for (envelope, stored) in envelopes.iter_mut().zip(&appended) {
            envelope.metadata.insert(
                metadata_keys::EVENT_ID.to_string(),
                stored.event_id.to_string(),
            );
        }
        Ok(Committed {
            aggregate_id: aggregate_id.to_string(),
            version,
            events: envelopes,
            last_position: appended.last().map(|a| a.position),
            last_log_position: appended.last().map(|a| a.log_position),
        })
    }
}

fn from_persistence_error<E: std::error::Error>(error: PersistenceError) -> ExecError<E> {
    match error {
        PersistenceError::OptimisticLockError => ExecError::Conflict,
        PersistenceError::ConnectionError(e) => ExecError::Storage(e.to_string()),
        PersistenceError::DeserializationError(e) => ExecError::Corrupt(e.to_string()),
        PersistenceError::UnknownError(e) => match e.downcast::<ReservationConflict>() {
            Ok(conflict) => ExecError::Reservation(*conflict),
            Err(e) => ExecError::Storage(e.to_string()),
        },
    }
}

fn from_aggregate_error<E: std::error::Error>(error: AggregateError<E>) -> ExecError<E> {
    match error {
        AggregateError::UserError(e) => ExecError::Rejected(e),
        AggregateError::AggregateConflict => ExecError::Conflict,
        AggregateError::DeserializationError(e) => ExecError::Corrupt(e.to_string()),
        AggregateError::DatabaseConnectionError(e) | AggregateError::UnexpectedError(e) => {
            ExecError::Storage(e.to_string())
        }
    }
}
