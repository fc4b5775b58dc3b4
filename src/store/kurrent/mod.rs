//! [`KurrentStore`]: the event store on a KurrentDB (formerly EventStoreDB)
//! cluster, through the official `kurrentdb` client — for a national
//! deployment that runs one.
//!
//! How bangfu's model maps onto KurrentDB:
//!
//! - A stream per aggregate, named `{aggregate_type}-{aggregate_id}` (the
//!   category convention, so `$ce-hardship_file` works). A stream's revision
//!   is bangfu's sequence − 1; appends carry the expected revision, so a
//!   concurrent commit is refused by the server (optimistic concurrency).
//! - The event's KurrentDB id is bangfu's event id, its type is the event
//!   type, its data is the payload JSON, and its custom metadata holds the
//!   rest (aggregate type and id, sequence, event version, bangfu's metadata,
//!   `recorded_at`, `prev_hash`, `hash`) — see [`KurrentRecord`]. The hash
//!   chain is computed by bangfu before the append, exactly as on SQLite.
//! - The global log is `$all`; a [`LogPosition`] is its (commit, prepare)
//!   position. bangfu's own bookkeeping streams (`bangfu-…`) and system
//!   streams (`$…`) are skipped.
//!
//! What KurrentDB cannot do that SQL can, and what bangfu does instead:
//!
//! - **Reservations are not transactional with the events.** Each key has
//!   a stream `bangfu-reservation-{scope}-{SHA-256 of the key}` (hashed: keys
//!   are resident IDs). A commit first takes its keys, each by an append
//!   with the expected revision the holder check saw (so two racing commits
//!   cannot both take a key), then appends its events, then releases the
//!   keys its events release. If the events are refused, the keys just
//!   taken are released again. A crash between the two leaves a key held by
//!   an aggregate whose event was never written: the conflict names that
//!   aggregate, and an operator can see it has no such event.
//! - **Snapshots are written after the events.** They live in
//!   `bangfu-snapshot-{aggregate_type}-{aggregate_id}`; a snapshot that
//!   loses a race is dropped (logged), because the events are already
//!   committed and a snapshot is only a cache. (postgres-es reports such a
//!   conflict as a failed command; bangfu's SQL stores roll both back.)
//! - **Scans.** Counting events, listing streams and the lookups of
//!   `streams_with_event` read `$all` (filtered on the server by stream
//!   prefix); fine for tests and audits, not for hot paths.
//!
//! Verified here only offline (record mapping, URLs, errors); the conformance
//! suite runs against a real server when `KURRENTDB_URL` is set.

use std::any::Any;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use cqrs_es::persist::{PersistenceError, ReplayStream, SerializedEvent, SerializedSnapshot};
use domain::reservation::{Reservation, Scope};
use kurrentdb::{
    AppendToStreamOptions, Client, ClientSettings, EventData, Position, ReadAllOptions,
    ReadStreamOptions, StreamPosition, StreamState, SubscriptionFilter,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

mod keys;
mod record;

use record::BangfuMetadata;
pub use record::KurrentRecord;

use super::commit::{PreparedCommit, ReservationExtractor};
use super::hash::GENESIS_HASH;
use super::{
    Appended, ChainReport, ChainRow, ChainVerifier, EventStore, LogEvent, LogPosition,
    ReservationConflict, StoreError, StoredEvent, StreamHead, MAX_READ_PAGE,
};

/// Prefix of the streams bangfu keeps for itself (reservations, snapshots).
const OWN_PREFIX: &str = "bangfu-";
/// How long `open` waits for the cluster to answer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts at taking a key whose reservation stream moved under us.
const RESERVATION_ATTEMPTS: usize = 3;
/// Events buffered between a replay stream's reader task and its consumer.
const STREAM_CHANNEL_SIZE: usize = 200;
/// Events read per `$all` request while scanning.
const SCAN_PAGE: usize = 1_000;

/// A KurrentDB connection string, checked.
#[derive(Clone, Debug)]
pub struct KurrentUrl {
    settings: ClientSettings,
    redacted: String,
}

impl KurrentUrl {
    /// Parses `esdb://`, `esdb+discover://`, `kurrentdb://`,
    /// `kurrentdb+discover://`, `kurrent://` and `kurrent+discover://` URLs
    /// (hosts, credentials, `?tls=false` and the client's other options).
    pub fn parse(url: &str) -> Result<Self, StoreError> {
        let settings = url
            .parse::<ClientSettings>()
            .map_err(|e| StoreError::Kurrent(format!("invalid connection string: {e}")))?;
        Ok(KurrentUrl {
            settings,
            redacted: super::redact(url),
        })
    }

    /// The client settings the URL describes.
    pub fn settings(&self) -> &ClientSettings {
        &self.settings
    }
}

/// The event store on KurrentDB. Cheap to clone: clones share the client.
#[derive(Clone)]
pub struct KurrentStore {
    /// Shared: the client is large, and clones of the store are many.
    client: std::sync::Arc<Client>,
    reservations: ReservationExtractor,
    location: PathBuf,
}

impl std::fmt::Debug for KurrentStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KurrentStore")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

/// The stream of one aggregate.
pub fn stream_name(aggregate_type: &str, aggregate_id: &str) -> String {
    format!("{aggregate_type}-{aggregate_id}")
}

/// The stream of one reservation key. The key is hashed: it is personal data
/// (a resident ID) and stream names show up in the server's UI and logs.
fn reservation_stream(scope: Scope, key: &str) -> String {
    let digest = hex::encode(Sha256::digest(key.as_bytes()));
    format!("{OWN_PREFIX}reservation-{}-{digest}", scope.as_str())
}

fn snapshot_stream(aggregate_type: &str, aggregate_id: &str) -> String {
    format!("{OWN_PREFIX}snapshot-{aggregate_type}-{aggregate_id}")
}

/// The state a stream was in for an append to continue it.
fn expected_state(last_revision: Option<u64>) -> StreamState {
    match last_revision {
        None => StreamState::NoStream,
        Some(revision) => StreamState::StreamRevision(revision),
    }
}

/// Maps a client error to cqrs-es's kinds: a wrong expected revision is an
/// optimistic-lock conflict; losing the connection is a connection error.
pub fn persistence_error(error: kurrentdb::Error) -> PersistenceError {
    use kurrentdb::Error as E;
    match error {
        E::WrongExpectedVersion { .. } => PersistenceError::OptimisticLockError,
        E::ConnectionClosed
        | E::GrpcConnectionError(_)
        | E::DeadlineExceeded
        | E::NotLeaderException(_) => PersistenceError::ConnectionError(Box::new(error)),
        E::InternalParsingError(_) => PersistenceError::DeserializationError(Box::new(error)),
        _ => PersistenceError::UnknownError(Box::new(error)),
    }
}

fn store_error(error: kurrentdb::Error) -> StoreError {
    StoreError::Kurrent(error.to_string())
}

fn corrupt_to_persistence(error: StoreError) -> PersistenceError {
    match error {
        StoreError::Corrupt(_) => PersistenceError::DeserializationError(Box::new(error)),
        other => PersistenceError::UnknownError(Box::new(other)),
    }
}

/// A reservation stream's state: who holds the key, and the revision to
/// expect when appending to it.
#[derive(Debug, Deserialize, Serialize)]
struct ReservationEvent {
    aggregate_type: String,
    aggregate_id: String,
}

impl KurrentStore {
    /// Connects to the cluster at `url` and checks that it answers.
    pub async fn open(url: &str, reservations: ReservationExtractor) -> Result<Self, StoreError> {
        let parsed = KurrentUrl::parse(url)?;
        let client =
            Client::new(parsed.settings.clone()).map_err(|e| StoreError::Kurrent(e.to_string()))?;
        let store = KurrentStore {
            client: std::sync::Arc::new(client),
            reservations,
            location: PathBuf::from(parsed.redacted),
        };
        let options = ReadAllOptions::default()
            .position(StreamPosition::End)
            .max_count(1);
        let probe = store.client.read_all(&options);
        match tokio::time::timeout(CONNECT_TIMEOUT, probe).await {
            Ok(Ok(_)) => Ok(store),
            Ok(Err(e)) => Err(store_error(e)),
            Err(_) => Err(StoreError::Kurrent(format!(
                "no answer from {} within {CONNECT_TIMEOUT:?}",
                store.location.display()
            ))),
        }
    }

    /// The records of one stream from `from_revision` on, oldest first
    /// (empty if the stream does not exist).
    async fn read_records(
        &self,
        stream: &str,
        from_revision: u64,
    ) -> Result<Vec<KurrentRecord>, kurrentdb::Error> {
        let options = ReadStreamOptions::default()
            .position(StreamPosition::Position(from_revision))
            .forwards();
        let mut read = self.client.read_stream(stream, &options).await?;
        let mut records = Vec::new();
        loop {
            match read.next().await {
                Ok(Some(event)) => records.extend(KurrentRecord::from_resolved(&event)),
                Ok(None) | Err(kurrentdb::Error::ResourceNotFound) => return Ok(records),
                Err(e) => return Err(e),
            }
        }
    }

    /// The last record of one stream, if it exists.
    async fn last_record(&self, stream: &str) -> Result<Option<KurrentRecord>, kurrentdb::Error> {
        let options = ReadStreamOptions::default()
            .position(StreamPosition::End)
            .max_count(1);
        let mut read = self.client.read_stream(stream, &options).await?;
        match read.next().await {
            Ok(Some(event)) => Ok(KurrentRecord::from_resolved(&event)),
            Ok(None) | Err(kurrentdb::Error::ResourceNotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Takes the keys `reservations` take, appends `events` to their stream
    /// expecting `last_revision`, then releases the keys they release.
    /// Returns the append's position in `$all`.
    async fn write_with_reservations(
        &self,
        events: &[StoredEvent],
        reservations: Vec<Reservation>,
        last_revision: Option<u64>,
    ) -> Result<Position, PersistenceError> {
        let Some(first) = events.first() else {
            return Ok(Position::start());
        };
        let (aggregate_type, aggregate_id) = (&first.aggregate_type, &first.aggregate_id);
        let mut takes = Vec::new();
        let mut releases = Vec::new();
        for reservation in reservations {
            match reservation {
                Reservation::Take { scope, key } => takes.push((scope, key)),
                Reservation::Release { scope, key } => releases.push((scope, key)),
            }
        }
        let mut taken = Vec::new();
        for (scope, key) in takes {
            match self.take(scope, &key, aggregate_type, aggregate_id).await {
                Ok(newly) => {
                    if newly {
                        taken.push((scope, key));
                    }
                }
                Err(error) => {
                    self.release_all(&taken, aggregate_type, aggregate_id).await;
                    return Err(error);
                }
            }
        }
        let data = events
            .iter()
            .map(|e| KurrentRecord::from_stored(e).and_then(|r| r.event_data()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(corrupt_to_persistence)?;
        let options = AppendToStreamOptions::default().stream_state(expected_state(last_revision));
        let written = self
            .client
            .append_to_stream(stream_name(aggregate_type, aggregate_id), &options, data)
            .await;
        let written = match written {
            Ok(written) => written,
            Err(error) => {
                self.release_all(&taken, aggregate_type, aggregate_id).await;
                return Err(persistence_error(error));
            }
        };
        // The events are committed: a release that fails now leaves the key
        // held a while longer, which refuses too much rather than too little.
        self.release_all(&releases, aggregate_type, aggregate_id)
            .await;
        Ok(written.position)
    }

    /// Takes `key` for the aggregate; `Ok(true)` if it was free, `Ok(false)`
    /// if the aggregate already held it.
    async fn take(
        &self,
        scope: Scope,
        key: &str,
        aggregate_type: &str,
        aggregate_id: &str,
    ) -> Result<bool, PersistenceError> {
        let stream = reservation_stream(scope, key);
        for _ in 0..RESERVATION_ATTEMPTS {
            let last = self.last_record(&stream).await.map_err(persistence_error)?;
            if let Some(record) = &last {
                if record.event_type == "ReservationTaken" {
                    let holder: ReservationEvent = serde_json::from_slice(&record.data)
                        .map_err(|e| PersistenceError::DeserializationError(Box::new(e)))?;
                    if holder.aggregate_type == aggregate_type
                        && holder.aggregate_id == aggregate_id
                    {
                        return Ok(false);
                    }
                    return Err(PersistenceError::UnknownError(Box::new(
                        ReservationConflict {
                            scope,
                            key: key.to_string(),
                            held_by: holder.aggregate_id,
                        },
                    )));
                }
            }
            let event = reservation_event("ReservationTaken", aggregate_type, aggregate_id)?;
            let options = AppendToStreamOptions::default()
                .stream_state(expected_state(last.map(|r| r.revision)));
            match self
                .client
                .append_to_stream(stream.as_str(), &options, event)
                .await
            {
                Ok(_) => return Ok(true),
                // Someone took or released it meanwhile: look again.
                Err(kurrentdb::Error::WrongExpectedVersion { .. }) => continue,
                Err(e) => return Err(persistence_error(e)),
            }
        }
        Err(PersistenceError::OptimisticLockError)
    }

    /// Releases keys the aggregate holds; failures are logged (see callers).
    async fn release_all(
        &self,
        keys: &[(Scope, String)],
        aggregate_type: &str,
        aggregate_id: &str,
    ) {
        for (scope, key) in keys {
            if let Err(error) = self
                .release(*scope, key, aggregate_type, aggregate_id)
                .await
            {
                tracing::warn!(scope = scope.as_str(), %error, "could not release a reservation");
            }
        }
    }

    async fn release(
        &self,
        scope: Scope,
        key: &str,
        aggregate_type: &str,
        aggregate_id: &str,
    ) -> Result<(), PersistenceError> {
        let stream = reservation_stream(scope, key);
        let Some(last) = self.last_record(&stream).await.map_err(persistence_error)? else {
            return Ok(());
        };
        let holder: ReservationEvent = serde_json::from_slice(&last.data)
            .map_err(|e| PersistenceError::DeserializationError(Box::new(e)))?;
        // Only the holder gives a key back.
        if last.event_type != "ReservationTaken"
            || holder.aggregate_type != aggregate_type
            || holder.aggregate_id != aggregate_id
        {
            return Ok(());
        }
        let event = reservation_event("ReservationReleased", aggregate_type, aggregate_id)?;
        let options = AppendToStreamOptions::default()
            .stream_state(StreamState::StreamRevision(last.revision));
        self.client
            .append_to_stream(stream.as_str(), &options, event)
            .await
            .map_err(persistence_error)?;
        Ok(())
    }

    async fn write_snapshot(
        &self,
        commit: &PreparedCommit,
        state: &str,
        number: usize,
        last_sequence: usize,
    ) {
        let aggregate_type = commit.aggregate_type.as_str();
        let payload: Value = match serde_json::from_str(state) {
            Ok(payload) => payload,
            Err(error) => {
                tracing::warn!(aggregate_type, %error, "snapshot dropped; the events are committed");
                return;
            }
        };
        let body = serde_json::json!({
            "last_sequence": last_sequence,
            "current_snapshot": number,
            "payload": payload,
        });
        let expected = match number {
            0 | 1 => StreamState::NoStream,
            n => StreamState::StreamRevision(n as u64 - 2),
        };
        let result = match EventData::json("Snapshot", &body) {
            Ok(event) => self
                .client
                .append_to_stream(
                    snapshot_stream(aggregate_type, &commit.aggregate_id),
                    &AppendToStreamOptions::default().stream_state(expected),
                    event,
                )
                .await
                .map(drop)
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(error) = result {
            tracing::warn!(aggregate_type, %error, "snapshot dropped; the events are committed");
        }
    }

    /// Reads `$all` after `after`, keeping bangfu events (of one aggregate
    /// type if given) until `limit` are found or the log ends.
    async fn scan(
        &self,
        after: LogPosition,
        limit: usize,
        aggregate_type: Option<&str>,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let mut found = Vec::new();
        let mut from = Position {
            commit: after.commit,
            prepare: after.position,
        };
        let filter = match aggregate_type {
            Some(t) => SubscriptionFilter::on_stream_name().add_prefix(format!("{t}-")),
            None => SubscriptionFilter::on_stream_name().exclude_system_events(),
        };
        loop {
            let options = ReadAllOptions::default()
                .position(if from == Position::start() {
                    StreamPosition::Start
                } else {
                    StreamPosition::Position(from)
                })
                .forwards()
                .filter(filter.clone())
                .max_count(SCAN_PAGE);
            let mut read = self.client.read_all(&options).await.map_err(store_error)?;
            let mut seen = 0;
            while let Some(event) = read.next().await.map_err(store_error)? {
                seen += 1;
                let Some(record) = KurrentRecord::from_resolved(&event) else {
                    continue;
                };
                // The read starts at `from` inclusive.
                if record.position <= from && from != Position::start() {
                    continue;
                }
                from = record.position;
                if record.stream_id.starts_with(OWN_PREFIX) || record.stream_id.starts_with('$') {
                    continue;
                }
                found.push(record.to_stored()?);
                if found.len() >= limit {
                    return Ok(found);
                }
            }
            if seen < SCAN_PAGE {
                return Ok(found);
            }
        }
    }

    /// Calls `each` on every bangfu event in `$all` order (of one aggregate
    /// type if given), a page at a time.
    async fn for_each_event(
        &self,
        aggregate_type: Option<&str>,
        mut each: impl FnMut(StoredEvent),
    ) -> Result<(), StoreError> {
        let mut after = LogPosition::START;
        loop {
            let page = self.scan(after, SCAN_PAGE, aggregate_type).await?;
            let Some(last) = page.last() else {
                return Ok(());
            };
            after = last.log_position;
            let full = page.len() >= SCAN_PAGE;
            page.into_iter().for_each(&mut each);
            if !full {
                return Ok(());
            }
        }
    }

    async fn verify_into(
        &self,
        verifier: &mut ChainVerifier,
        aggregate_type: &str,
        aggregate_id: &str,
    ) -> Result<(), StoreError> {
        let records = self
            .read_records(&stream_name(aggregate_type, aggregate_id), 0)
            .await
            .map_err(store_error)?;
        for record in records {
            let own: Option<BangfuMetadata> = serde_json::from_slice(&record.custom_metadata).ok();
            verifier.check(ChainRow {
                aggregate_type: aggregate_type.to_string(),
                aggregate_id: aggregate_id.to_string(),
                sequence: i64::try_from(record.revision + 1).unwrap_or(i64::MAX),
                event_type: record.event_type.clone(),
                event_version: own
                    .as_ref()
                    .map(|o| o.event_version.clone())
                    .unwrap_or_default(),
                payload: String::from_utf8_lossy(&record.data).into_owned(),
                metadata: own
                    .as_ref()
                    .map(|o| o.metadata.to_string())
                    .unwrap_or_default(),
                prev_hash: own
                    .as_ref()
                    .map(|o| o.prev_hash.clone())
                    .unwrap_or_default(),
                hash: own.map(|o| o.hash).unwrap_or_default(),
            });
        }
        Ok(())
    }

    /// A replay from a task: events of `events` (read whole: one stream, or
    /// one aggregate type's scan) or the error that stopped the read.
    fn replay_from(result: Result<Vec<SerializedEvent>, PersistenceError>) -> ReplayStream {
        let (mut feed, stream) = ReplayStream::new(STREAM_CHANNEL_SIZE);
        tokio::spawn(async move {
            match result {
                Ok(events) => {
                    for event in events {
                        if feed.push(Ok(event)).await.is_err() {
                            return;
                        }
                    }
                }
                Err(error) => {
                    let _ = feed.push(Err(error)).await;
                }
            }
        });
        stream
    }
}

/// A stored event as cqrs-es's.
fn serialized(e: StoredEvent) -> Result<SerializedEvent, PersistenceError> {
    Ok(SerializedEvent {
        aggregate_id: e.aggregate_id,
        sequence: e.sequence,
        aggregate_type: e.aggregate_type,
        event_type: e.event_type,
        event_version: e.event_version,
        payload: e.payload,
        metadata: serde_json::to_value(e.metadata)
            .map_err(|e| PersistenceError::UnknownError(Box::new(e)))?,
    })
}

fn reservation_event(
    event_type: &str,
    aggregate_type: &str,
    aggregate_id: &str,
) -> Result<EventData, PersistenceError> {
    EventData::json(
        event_type,
        &ReservationEvent {
            aggregate_type: aggregate_type.to_string(),
            aggregate_id: aggregate_id.to_string(),
        },
    )
    .map_err(|e| PersistenceError::UnknownError(Box::new(e)))
}

/// KurrentDB's own: a stream per aggregate, `$all` for the global log and
/// for every scan (filtered by stream prefix on the server).
#[async_trait::async_trait]
impl EventStore for KurrentStore {
    fn location(&self) -> &Path {
        &self.location
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn reservations(&self) -> ReservationExtractor {
        self.reservations
    }

    /// Nothing to close: the client's connections end when it is dropped.
    async fn close(&self) {}

    async fn command_key(
        &self,
        user: &str,
        key: &str,
    ) -> Result<Option<super::KeyRecord>, StoreError> {
        self.read_key(user, key).await
    }

    async fn keep_key(
        &self,
        key: &super::CommandKey,
        answer: Option<(u16, &str)>,
    ) -> Result<bool, StoreError> {
        self.answer_key(key, answer).await
    }

    /// The same contract as the SQL stores' except that a snapshot
    /// conflict drops the snapshot instead of the events, and that keys are
    /// taken before and released after the append (see the module docs).
    /// KurrentDB reports one `$all` position per append, so every
    /// [`Appended`] of a commit carries that one: at or before each event's
    /// own position, which is what a caller waiting for a projection needs.
    async fn commit(&self, commit: PreparedCommit) -> Result<Vec<Appended>, PersistenceError> {
        let stream = stream_name(&commit.aggregate_type, &commit.aggregate_id);
        let head = self.last_record(&stream).await.map_err(persistence_error)?;
        let head_event = match &head {
            Some(record) => Some(record.to_stored().map_err(corrupt_to_persistence)?),
            None => None,
        };
        let (_, prev_hash) = commit.check_head(head_event.map(|e| (e.sequence, e.hash)))?;
        refuse_debits(&commit)?;
        let stored = commit.stored_events(&prev_hash)?;
        if let Some(key) = &commit.key {
            self.take_key(key).await?;
        }
        let reservations = commit
            .events
            .iter()
            .flat_map(|e| e.reservations.iter().cloned())
            .collect();
        let position = self
            .write_with_reservations(&stored, reservations, head.map(|r| r.revision))
            .await?;
        if let (Some((state, number)), Some(last)) = (&commit.snapshot, commit.events.last()) {
            self.write_snapshot(&commit, state, *number, last.sequence)
                .await;
        }
        Ok(stored
            .iter()
            .map(|event| Appended {
                sequence: event.sequence,
                position: position.prepare,
                event_id: event.event_id,
                log_position: LogPosition {
                    commit: position.commit,
                    position: position.prepare,
                },
            })
            .collect())
    }

    /// Balances kept for the money check: none on KurrentDB (see [`refuse_debits`]).
    async fn money_balances(&self) -> Result<Vec<(String, String, i64)>, StoreError> {
        Ok(Vec::new())
    }

    /// The id of the aggregate holding `key` in `scope`, if any.
    async fn reservation_holder(
        &self,
        scope: Scope,
        key: &str,
    ) -> Result<Option<String>, StoreError> {
        let last = self
            .last_record(&reservation_stream(scope, key))
            .await
            .map_err(store_error)?;
        match last {
            Some(record) if record.event_type == "ReservationTaken" => {
                let holder: ReservationEvent = serde_json::from_slice(&record.data)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                Ok(Some(holder.aggregate_id))
            }
            _ => Ok(None),
        }
    }

    async fn stream_events_after(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
        after: usize,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        // Sequence n is revision n - 1, so the events after it start at revision n.
        let records = self
            .read_records(&stream_name(aggregate_type, aggregate_id), after as u64)
            .await
            .map_err(persistence_error)?;
        records
            .iter()
            .map(|r| serialized(r.to_stored().map_err(corrupt_to_persistence)?))
            .collect()
    }

    async fn snapshot(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
    ) -> Result<Option<SerializedSnapshot>, PersistenceError> {
        let Some(record) = self
            .last_record(&snapshot_stream(aggregate_type, aggregate_id))
            .await
            .map_err(persistence_error)?
        else {
            return Ok(None);
        };
        #[derive(Deserialize)]
        struct Body {
            last_sequence: usize,
            current_snapshot: usize,
            payload: Value,
        }
        let body: Body = serde_json::from_slice(&record.data)
            .map_err(|e| PersistenceError::DeserializationError(Box::new(e)))?;
        Ok(Some(SerializedSnapshot {
            aggregate_id: aggregate_id.to_string(),
            aggregate: body.payload,
            current_sequence: body.last_sequence,
            current_snapshot: body.current_snapshot,
        }))
    }

    /// Read whole (one stream, or one aggregate type's scan of `$all`), then
    /// fed from a task.
    async fn replay(
        &self,
        aggregate_type: &str,
        aggregate_id: Option<&str>,
    ) -> Result<ReplayStream, PersistenceError> {
        let events = match aggregate_id {
            Some(id) => self.stream_events_after(aggregate_type, id, 0).await,
            None => {
                let mut events = Vec::new();
                let scanned = self
                    .for_each_event(Some(aggregate_type), |e| {
                        if e.aggregate_type == aggregate_type {
                            events.push(e);
                        }
                    })
                    .await;
                scanned
                    .map_err(|e| PersistenceError::ConnectionError(Box::new(e)))
                    .and_then(|()| events.into_iter().map(serialized).collect())
            }
        };
        Ok(Self::replay_from(events))
    }

    /// Every event of one stream, all columns, in sequence order.
    async fn history(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        self.read_records(&stream_name(aggregate_type, aggregate_id), 0)
            .await
            .map_err(store_error)?
            .iter()
            .map(KurrentRecord::to_stored)
            .collect()
    }

    /// Up to `limit` (at most [`MAX_READ_PAGE`]) events after `after` in
    /// `$all` order, bangfu's aggregate streams only.
    async fn read_all(
        &self,
        after: LogPosition,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        self.scan(after, limit.min(MAX_READ_PAGE), None).await
    }

    async fn read_log_events(
        &self,
        after: LogPosition,
        limit: usize,
    ) -> Result<Vec<LogEvent>, StoreError> {
        Ok(self
            .read_all(after, limit)
            .await?
            .into_iter()
            .map(LogEvent::from)
            .collect())
    }

    async fn log_head(&self) -> Result<LogPosition, StoreError> {
        Ok(self
            .last_event()
            .await?
            .map_or(LogPosition::START, |e| e.log_position))
    }

    /// The newest bangfu event in `$all`, if any (a full scan).
    async fn last_event(&self) -> Result<Option<StoredEvent>, StoreError> {
        let mut last = None;
        self.for_each_event(None, |e| last = Some(e)).await?;
        Ok(last)
    }

    /// How many bangfu events `$all` holds (a full scan).
    async fn count_events(&self) -> Result<u64, StoreError> {
        let mut count = 0;
        self.for_each_event(None, |_| count += 1).await?;
        Ok(count)
    }

    /// The ids of the streams of one aggregate type, oldest first.
    async fn streams(&self, aggregate_type: &str) -> Result<Vec<String>, StoreError> {
        let mut ids = Vec::new();
        self.for_each_event(Some(aggregate_type), |e| {
            if e.sequence == 1 && e.aggregate_type == aggregate_type {
                ids.push(e.aggregate_id);
            }
        })
        .await?;
        Ok(ids)
    }

    /// A scan here.
    async fn streams_with_event(
        &self,
        aggregate_type: &str,
        event_type: &str,
        fields: &[(&str, &str)],
    ) -> Result<Vec<String>, StoreError> {
        let mut ids: Vec<String> = Vec::new();
        self.for_each_event(Some(aggregate_type), |e| {
            let matches = e.aggregate_type == aggregate_type
                && e.event_type == event_type
                && fields.iter().all(|(field, value)| {
                    e.payload
                        .get(event_type)
                        .and_then(|body| body.get(*field))
                        .and_then(Value::as_str)
                        == Some(*value)
                });
            if matches && !ids.contains(&e.aggregate_id) {
                ids.push(e.aggregate_id);
            }
        })
        .await?;
        Ok(ids)
    }

    /// Every stream's last sequence and hash (a full scan).
    async fn stream_heads(&self) -> Result<Vec<StreamHead>, StoreError> {
        let mut heads: BTreeMap<(String, String), (u64, String)> = BTreeMap::new();
        self.for_each_event(None, |e| {
            heads.insert(
                (e.aggregate_type, e.aggregate_id),
                (e.sequence as u64, e.hash),
            );
        })
        .await?;
        Ok(heads
            .into_iter()
            .map(
                |((aggregate_type, aggregate_id), (sequence, hash))| StreamHead {
                    aggregate_type,
                    aggregate_id,
                    sequence,
                    hash,
                },
            )
            .collect())
    }

    /// Appends events exactly as another store holds them (`store copy`),
    /// one append per run of same-stream events. Each must continue its
    /// stream; KurrentDB's expected revision refuses a duplicate.
    async fn import(&self, events: &[StoredEvent]) -> Result<(), StoreError> {
        let mut start = 0;
        while start < events.len() {
            let first = &events[start];
            let end = events[start..]
                .iter()
                .position(|e| {
                    e.aggregate_type != first.aggregate_type || e.aggregate_id != first.aggregate_id
                })
                .map_or(events.len(), |n| start + n);
            let run = &events[start..end];
            let head = self
                .last_record(&stream_name(&first.aggregate_type, &first.aggregate_id))
                .await
                .map_err(store_error)?;
            let head_event = head.as_ref().map(KurrentRecord::to_stored).transpose()?;
            let mut at = match &head_event {
                Some(e) => (e.sequence as u64, e.hash.clone()),
                None => (0, GENESIS_HASH.to_string()),
            };
            for event in run {
                super::check_continues(event, &at)?;
                at = (event.sequence as u64, event.hash.clone());
            }
            let mut reservations = Vec::new();
            for event in run {
                reservations.extend(
                    (self.reservations)(
                        &event.aggregate_type,
                        &event.aggregate_id,
                        &event.event_type,
                        &event.event_version,
                        &event.payload,
                    )
                    .map_err(StoreError::Import)?,
                );
            }
            self.write_with_reservations(run, reservations, head.map(|r| r.revision))
                .await
                .map_err(|e| StoreError::Import(e.to_string()))?;
            start = end;
        }
        Ok(())
    }

    /// Recomputes every stream's hash chain from the stored records.
    async fn verify_chains(&self) -> Result<ChainReport, StoreError> {
        let mut streams: Vec<(String, String)> = Vec::new();
        self.for_each_event(None, |e| {
            if e.sequence == 1 {
                streams.push((e.aggregate_type, e.aggregate_id));
            }
        })
        .await?;
        streams.sort_unstable();
        let mut verifier = ChainVerifier::default();
        for (aggregate_type, aggregate_id) in streams {
            self.verify_into(&mut verifier, &aggregate_type, &aggregate_id)
                .await?;
        }
        Ok(verifier.finish())
    }

    /// Recomputes one stream's hash chain from the stored records.
    async fn verify_chain(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
    ) -> Result<ChainReport, StoreError> {
        let mut verifier = ChainVerifier::default();
        self.verify_into(&mut verifier, aggregate_type, aggregate_id)
            .await?;
        Ok(verifier.finish())
    }
}

/// KurrentDB has no transaction across streams, so no balance can be
/// checked and moved atomically with the events that spend it (a check
/// before the append races; a balance stream appended after it can be lost
/// to a crash in between). Rather than let money rules go unenforced, a
/// command whose events debit a fund, a member's cap or a campaign is
/// refused on this store; credits (contributions, donations,
/// appropriations) and everything else are written. `store copy` from
/// KurrentDB to a SQL store replays the movements there.
fn refuse_debits(commit: &PreparedCommit) -> Result<(), PersistenceError> {
    // The movements were read once, when the commit was prepared.
    let spends = commit.events.iter().find(|event| {
        event.movements.iter().any(|m| {
            matches!(
                m,
                domain::money::Movement::Debit { .. } | domain::money::Movement::ClosePeriod { .. }
            )
        })
    });
    match spends {
        None => Ok(()),
        Some(event) => Err(PersistenceError::UnknownError(
            format!(
                "KurrentDB cannot enforce money limits in the commit: {} {} is refused \
                 on this store (it spends money); use SQLite or PostgreSQL",
                commit.aggregate_type, event.event_type
            )
            .into(),
        )),
    }
}

#[cfg(test)]
mod tests;
