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
//! snapshot, remaining events, upcasters — the domain's chain,
//! [`DomainUpcaster`]) and commits itself through
//! [`EventStore::append`](crate::store::EventStore::append), snapshotting the handled aggregate as it is.
//!
//! # The aggregate cache
//!
//! A snapshot saves replaying events, not deserializing state: a plan period
//! with 14,000 members is a 14,000-entry roster to parse on every load, and a
//! campaign with 30,000 donations (not snapshotted) is 30,000 events to
//! replay. With [`Engine::with_cache`] the engine keeps, per stream, the last
//! state it saw and its version, in memory, for at most `capacity` streams
//! (least recently used out first). A load then reads only the events newer
//! than the cached version (usually none: one indexed query) and applies them.
//!
//! The cache never decides whether a command may commit. Every entry is the
//! exact state after its version's events (stored only after a commit
//! returned, or after a load). Reads (`load`, `load_shared`) catch the entry
//! up with the store first. A command is decided on the cached state as it
//! is, without a read; the store's sequence check then refuses its commit if
//! the stream moved on (another engine, another process), and the command is
//! decided once more on the state loaded from the store, as if it had arrived
//! a moment later. A refusal by the aggregate on the cached state is likewise
//! re-decided if newer events exist. Any failure drops the state instead of
//! caching it. While a command runs, its stream's entry is taken out of the
//! cache (so the state is handled in place, not copied); concurrent loads of
//! that stream read the store meanwhile.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tracing::Instrument;

use cqrs_es::event_sink::EventSink;
use cqrs_es::persist::{
    EventUpcaster, PersistedEventRepository, PersistedEventStore, PersistenceError, SerializedEvent,
};
use cqrs_es::{Aggregate, AggregateError, EventEnvelope, EventStore};
use domain::command::metadata_keys;
use domain::money::InsufficientFunds;

use crate::store::{AnyStore, CommandKey, KeyTaken, LogPosition, ReservationConflict};

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
    /// The command would take a fund, a member's cap or a campaign's
    /// unallocated money below zero (checked by the store). Nothing was written.
    #[error(transparent)]
    InsufficientFunds(InsufficientFunds),
    /// The command's idempotency key is held by another command (committed
    /// meanwhile, e.g. by another process). Nothing was written.
    #[error("the idempotency key is held by another command")]
    KeyTaken,
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

/// An aggregate as currently stored, shared with the engine's cache (no copy).
#[derive(Debug)]
pub struct Shared<A> {
    /// Its state.
    pub aggregate: Arc<A>,
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
    /// The same upcasters the loader has, for catching a cached state up.
    upcasters: Arc<[Box<dyn EventUpcaster>]>,
    cache: Mutex<Cache<A>>,
}

/// One cached stream: the exact state after `version` events.
struct Cached<A> {
    state: Arc<A>,
    version: usize,
    /// The stored snapshot's number as this engine last knew it; `None` if
    /// unknown (then the store is asked before writing the next one).
    snapshot: Option<usize>,
    last_used: u64,
}

/// Last-known states by stream id, at most `capacity` of them.
struct Cache<A> {
    entries: HashMap<String, Cached<A>>,
    capacity: usize,
    clock: u64,
    /// Lookups that found the stream / did not (see [`CacheStats`]).
    hits: u64,
    misses: u64,
}

/// How often the engine's cache held the stream a command or load asked
/// for, since the engine was built (the benchmark reports the hit rate).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Lookups that found the stream in the cache.
    pub hits: u64,
    /// Lookups that did not (a new stream, or one evicted or never loaded).
    pub misses: u64,
}

impl<A> Cache<A> {
    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    fn count(&mut self, hit: bool) {
        if hit {
            self.hits += 1;
        } else {
            self.misses += 1;
        }
    }

    fn get(&mut self, id: &str) -> Option<(Arc<A>, usize, Option<usize>)> {
        let now = self.tick();
        let found = self.entries.get_mut(id).map(|entry| {
            entry.last_used = now;
            (Arc::clone(&entry.state), entry.version, entry.snapshot)
        });
        self.count(found.is_some());
        found
    }

    fn take(&mut self, id: &str) -> Option<Cached<A>> {
        let found = self.entries.remove(id);
        self.count(found.is_some());
        found
    }

    /// Keeps `state` unless the cache already holds a newer version.
    fn put(&mut self, id: &str, state: Arc<A>, version: usize, snapshot: Option<usize>) {
        // Version 0 is a stream that does not exist (yet): nothing to keep.
        if self.capacity == 0 || version == 0 {
            return;
        }
        if matches!(self.entries.get(id), Some(held) if held.version > version) {
            return;
        }
        if self.entries.len() >= self.capacity && !self.entries.contains_key(id) {
            // O(capacity), only when full: capacities are in the hundreds or
            // thousands, and a scan costs less than the load that filled it.
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, e)| e.last_used)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                self.entries.remove(&oldest);
            }
        }
        let last_used = self.tick();
        self.entries.insert(
            id.to_string(),
            Cached {
                state,
                version,
                snapshot,
                last_used,
            },
        );
    }
}

/// The domain's upcaster chain ([`domain::upcast`]) for one aggregate type,
/// as cqrs-es's `EventUpcaster`: every event not at its type's current
/// version is brought to it, so loading, folding and the engine's cache all
/// read one shape. Installed by [`Engine::new`] for `A::TYPE`.
///
/// `EventUpcaster::upcast` cannot fail, yet a version the chain cannot reach
/// (written by a newer build) must not be read as if it were current. Such
/// an event's payload is replaced by a string naming the problem, which no
/// event enum deserializes: the load fails as `ExecError::Corrupt` with that
/// message instead of folding a guess.
pub struct DomainUpcaster {
    aggregate_type: &'static str,
}

impl DomainUpcaster {
    /// The chain for `aggregate_type`.
    pub fn new(aggregate_type: &'static str) -> Self {
        Self { aggregate_type }
    }
}

impl EventUpcaster for DomainUpcaster {
    fn can_upcast(&self, event_type: &str, event_version: &str) -> bool {
        !domain::upcast::is_current(self.aggregate_type, event_type, event_version)
    }

    fn upcast(&self, event: SerializedEvent) -> SerializedEvent {
        let current = domain::upcast::current_version(self.aggregate_type, &event.event_type);
        let payload = domain::upcast::upcast(
            self.aggregate_type,
            &event.event_type,
            &event.event_version,
            event.payload,
        )
        .unwrap_or_else(|e| serde_json::Value::String(format!("unreadable event: {e}")));
        SerializedEvent {
            event_version: current.to_string(),
            payload,
            ..event
        }
    }
}

/// cqrs-es's loader for `A` on `store` with the domain's upcaster chain: for
/// reads outside an [`Engine`] (the aggregates' services), so they read the
/// same shape the engine does.
pub fn loader<A: Aggregate>(store: AnyStore) -> PersistedEventStore<AnyStore, A> {
    PersistedEventStore::new_event_store(store)
        .with_upcasters(vec![Box::new(DomainUpcaster::new(A::TYPE))])
}

/// One stored event of `A`, upcast to its current shape and deserialized:
/// for showing a stream's history (labels, summaries). `None` if it cannot
/// be read (then the caller shows the stored type and payload).
pub fn read_event<A: Aggregate>(
    event_type: &str,
    event_version: &str,
    payload: &serde_json::Value,
) -> Option<A::Event> {
    let current = domain::upcast::upcast(A::TYPE, event_type, event_version, payload.clone());
    serde_json::from_value(current.ok()?).ok()
}

/// Lets the loader and the engine share upcasters (`EventUpcaster` is not `Clone`).
struct SharedUpcaster(Arc<[Box<dyn EventUpcaster>]>, usize);

impl EventUpcaster for SharedUpcaster {
    fn can_upcast(&self, event_type: &str, event_version: &str) -> bool {
        self.0[self.1].can_upcast(event_type, event_version)
    }

    fn upcast(&self, event: SerializedEvent) -> SerializedEvent {
        self.0[self.1].upcast(event)
    }
}

impl<A: Aggregate + Clone> Engine<A> {
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
            upcasters: Arc::from(Vec::new()),
            cache: Mutex::new(Cache {
                entries: HashMap::new(),
                capacity: 0,
                clock: 0,
                hits: 0,
                misses: 0,
            }),
        }
        .install(Vec::new())
    }

    /// Upcasters applied to stored events before they are deserialized, in
    /// order, ahead of the domain's chain (which [`Engine::new`] installs
    /// and every production event type relies on: [`domain::upcast`]).
    pub fn with_upcasters(self, upcasters: Vec<Box<dyn EventUpcaster>>) -> Self {
        self.install(upcasters)
    }

    /// `upcasters`, then the domain's chain for `A::TYPE`, for the loader
    /// and for catching cached states up.
    fn install(self, mut upcasters: Vec<Box<dyn EventUpcaster>>) -> Self {
        upcasters.push(Box::new(DomainUpcaster::new(A::TYPE)));
        let upcasters: Arc<[Box<dyn EventUpcaster>]> = Arc::from(upcasters);
        let for_loader = (0..upcasters.len())
            .map(|i| Box::new(SharedUpcaster(Arc::clone(&upcasters), i)) as Box<dyn EventUpcaster>)
            .collect();
        Self {
            loader: self.loader.with_upcasters(for_loader),
            upcasters,
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

    /// Keeps the last-known state of up to `capacity` streams in memory (see
    /// the module docs); 0, the default, keeps none. Memory is bounded by
    /// `capacity` times the largest state of `A`, which the domain's limits
    /// bound in turn (roster, donations, visits…).
    pub fn with_cache(self, capacity: usize) -> Self {
        self.cache_lock().capacity = capacity;
        self
    }

    /// How many streams the cache holds now.
    pub fn cached_streams(&self) -> usize {
        self.cache_lock().entries.len()
    }

    /// The cache's hits and misses so far.
    pub fn cache_stats(&self) -> CacheStats {
        let cache = self.cache_lock();
        CacheStats {
            hits: cache.hits,
            misses: cache.misses,
        }
    }

    fn cache_lock(&self) -> MutexGuard<'_, Cache<A>> {
        // The cache holds only complete entries (no await or panic while it is
        // locked mid-update), so a poisoned lock still guards a valid map.
        self.cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The stream's events after `version`, upcast and deserialized.
    async fn events_after(
        &self,
        aggregate_id: &str,
        version: usize,
    ) -> Result<Vec<EventEnvelope<A>>, ExecError<A::Error>> {
        let stored = self
            .store
            .get_last_events::<A>(aggregate_id, version)
            .await
            .map_err(from_persistence_error)?;
        stored
            .into_iter()
            .map(|event| {
                let event = self.upcasters.iter().fold(event, |event, upcaster| {
                    if upcaster.can_upcast(&event.event_type, &event.event_version) {
                        upcaster.upcast(event)
                    } else {
                        event
                    }
                });
                EventEnvelope::<A>::try_from(event).map_err(from_persistence_error)
            })
            .collect()
    }

    /// The current state: from the cache caught up with newer events, or
    /// loaded from the store (and then cached).
    async fn current(
        &self,
        aggregate_id: &str,
    ) -> Result<(Arc<A>, usize, Option<usize>), ExecError<A::Error>> {
        let hit = self.cache_lock().get(aggregate_id);
        if let Some((mut state, version, snapshot)) = hit {
            let newer = self.events_after(aggregate_id, version).await?;
            let Some(last) = newer.last().map(|e| e.sequence) else {
                return Ok((state, version, snapshot));
            };
            let target = Arc::make_mut(&mut state);
            for envelope in newer {
                target.apply(envelope.payload);
            }
            // Another writer added these events and may have snapshotted.
            self.cache_lock()
                .put(aggregate_id, Arc::clone(&state), last, None);
            return Ok((state, last, None));
        }
        let context = self
            .loader
            .load_aggregate(aggregate_id)
            .await
            .map_err(from_aggregate_error)?;
        let state = Arc::new(context.aggregate);
        if context.current_sequence > 0 {
            self.cache_lock().put(
                aggregate_id,
                Arc::clone(&state),
                context.current_sequence,
                context.current_snapshot,
            );
        }
        Ok((state, context.current_sequence, context.current_snapshot))
    }

    /// The aggregate's current state and version, as an owned copy.
    pub async fn load(&self, aggregate_id: &str) -> Result<Loaded<A>, ExecError<A::Error>> {
        let (state, version, _) = self.current(aggregate_id).await?;
        Ok(Loaded {
            aggregate: Arc::unwrap_or_clone(state),
            version,
        })
    }

    /// The aggregate's current state and version, shared with the cache: no
    /// copy of the state, whatever its size. For reads.
    pub async fn load_shared(&self, aggregate_id: &str) -> Result<Shared<A>, ExecError<A::Error>> {
        let (aggregate, version, _) = self.current(aggregate_id).await?;
        Ok(Shared { aggregate, version })
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
    ///
    /// With the cache on, the command is first decided on the cached state
    /// without reading the store (the store's sequence check refuses the
    /// commit if that state was stale). If it was refused as a conflict, or
    /// rejected while newer events exist, it is decided once more on the
    /// state loaded from the store, as if it had arrived a moment later; only
    /// that second decision is returned.
    pub async fn execute(
        &self,
        aggregate_id: &str,
        command: A::Command,
        metadata: HashMap<String, String>,
    ) -> Result<Committed<A>, ExecError<A::Error>>
    where
        A::Command: Clone,
    {
        self.execute_expecting(aggregate_id, command, metadata, None)
            .await
    }

    /// [`Engine::execute`], but only if the stream is at `expected_version`
    /// (`If-Match` in the API): otherwise `Conflict`, nothing handled. A
    /// cached state at another version is not trusted for this: the stream is
    /// loaded from the store and compared. The commit's own optimistic check
    /// covers the time after the load.
    pub async fn execute_expecting(
        &self,
        aggregate_id: &str,
        command: A::Command,
        metadata: HashMap<String, String>,
        expected_version: Option<usize>,
    ) -> Result<Committed<A>, ExecError<A::Error>>
    where
        A::Command: Clone,
    {
        self.execute_keyed(aggregate_id, command, metadata, expected_version, None)
            .await
    }

    /// [`Engine::execute_expecting`] for a command sent with an idempotency
    /// key: `key` is committed in the events' transaction (`store::keys`),
    /// and a key another commit holds refuses the command
    /// ([`ExecError::KeyTaken`]), nothing written. A command that commits no
    /// event writes no key: the caller keeps its answer
    /// (`EventStore::keep_key`).
    pub async fn execute_keyed(
        &self,
        aggregate_id: &str,
        command: A::Command,
        metadata: HashMap<String, String>,
        expected_version: Option<usize>,
        key: Option<&CommandKey>,
    ) -> Result<Committed<A>, ExecError<A::Error>>
    where
        A::Command: Clone,
    {
        let cached = self.cache_lock().take(aggregate_id);
        if let Some(entry) =
            cached.filter(|entry| expected_version.is_none_or(|v| v == entry.version))
        {
            // Not copied unless a reader still holds this state.
            let state = Arc::try_unwrap(entry.state).unwrap_or_else(|shared| (*shared).clone());
            let first = self
                .decide(
                    aggregate_id,
                    command.clone(),
                    (&metadata, key),
                    state,
                    entry.version,
                    entry.snapshot,
                )
                .await;
            match first {
                // Stale, or another command committed meanwhile: decide again.
                Err(ExecError::Conflict) => {}
                Err(ExecError::Rejected(error)) => {
                    // A refusal stands if the state it was decided on was current.
                    if self
                        .events_after(aggregate_id, entry.version)
                        .await?
                        .is_empty()
                    {
                        return Err(ExecError::Rejected(error));
                    }
                }
                decided => return decided,
            }
        }
        let context = self
            .loader
            .load_aggregate(aggregate_id)
            .instrument(tracing::debug_span!("bf.load"))
            .await
            .map_err(from_aggregate_error)?;
        if expected_version.is_some_and(|expected| expected != context.current_sequence) {
            return Err(ExecError::Conflict);
        }
        self.decide(
            aggregate_id,
            command,
            (&metadata, key),
            context.aggregate,
            context.current_sequence,
            context.current_snapshot,
        )
        .await
    }

    /// Handles `command` on `aggregate` (the state after `loaded_version`
    /// events) and commits what it produced; on success the new state goes
    /// into the cache.
    async fn decide(
        &self,
        aggregate_id: &str,
        command: A::Command,
        (metadata, key): (&HashMap<String, String>, Option<&CommandKey>),
        mut aggregate: A,
        loaded_version: usize,
        current_snapshot: Option<usize>,
    ) -> Result<Committed<A>, ExecError<A::Error>> {
        // `EventSink::write(event, self)` applies each event to the aggregate
        // as the handler writes it, so afterwards `aggregate` is the state
        // after the command: the snapshot and the cache rely on this. On any
        // error below the state is dropped, not cached: it may hold events
        // that were not committed.
        let sink = EventSink::default();
        aggregate
            .handle(command, &self.services, &sink)
            .instrument(tracing::debug_span!("bf.handle"))
            .await
            .map_err(ExecError::Rejected)?;
        let events = sink.collect().await;
        if events.is_empty() {
            self.cache_lock().put(
                aggregate_id,
                Arc::new(aggregate),
                loaded_version,
                current_snapshot,
            );
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
        let serializing = tracing::debug_span!("bf.serialize").entered();
        let serialized = envelopes
            .iter()
            .map(SerializedEvent::try_from)
            .collect::<Result<Vec<_>, _>>()
            .map_err(from_persistence_error)?;
        drop(serializing);
        let version = loaded_version + envelopes.len();

        let snapshot = match self.snapshot_every {
            Some(every) if version / every > loaded_version / every => {
                let state = serde_json::to_value(&aggregate).map_err(|e| {
                    ExecError::Corrupt(format!("cannot serialize {}: {e}", A::TYPE))
                })?;
                let number = match current_snapshot {
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

        let snapshot_number = snapshot.as_ref().map(|(_, _, n)| *n);
        let appended = self
            .store
            .append_keyed(A::TYPE, &serialized, snapshot, key.cloned())
            .instrument(tracing::debug_span!("bf.append"))
            .await
            .map_err(from_persistence_error)?;
        self.cache_lock().put(
            aggregate_id,
            Arc::new(aggregate),
            version,
            snapshot_number.or(current_snapshot),
        );
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
            Err(e) => match e.downcast::<InsufficientFunds>() {
                Ok(refused) => ExecError::InsufficientFunds(*refused),
                Err(e) => match e.downcast::<KeyTaken>() {
                    Ok(_) => ExecError::KeyTaken,
                    Err(e) => ExecError::Storage(e.to_string()),
                },
            },
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
