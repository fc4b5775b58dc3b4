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
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use cqrs_es::persist::{PersistenceError, ReplayStream, SerializedEvent, SerializedSnapshot};
use domain::reservation::{Reservation, Scope};
use kurrentdb::{
    AppendToStreamOptions, Client, ClientSettings, EventData, Position, ReadAllOptions,
    ReadStreamOptions, ResolvedEvent, StreamPosition, StreamState, SubscriptionFilter,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

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

/// What bangfu keeps in a KurrentDB event's custom metadata.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct BangfuMetadata {
    aggregate_type: String,
    aggregate_id: String,
    sequence: u64,
    event_version: String,
    metadata: Value,
    recorded_at: Option<String>,
    prev_hash: String,
    hash: String,
}

/// One KurrentDB event as bangfu reads or writes it: the client's own types
/// are opaque outside the crate, so the mapping is defined (and tested) on
/// this.
#[derive(Clone, Debug, PartialEq)]
pub struct KurrentRecord {
    /// The stream.
    pub stream_id: String,
    /// Revision in the stream, from 0.
    pub revision: u64,
    /// Event id.
    pub id: Uuid,
    /// Event type.
    pub event_type: String,
    /// The payload, JSON bytes.
    pub data: Vec<u8>,
    /// The custom metadata, JSON bytes.
    pub custom_metadata: Vec<u8>,
    /// Place in `$all`.
    pub position: Position,
}

impl KurrentRecord {
    /// The record that stores `event`.
    pub fn from_stored(event: &StoredEvent) -> Result<KurrentRecord, StoreError> {
        let metadata = serde_json::to_value(&event.metadata)
            .map_err(|e| StoreError::Corrupt(format!("metadata: {e}")))?;
        let own = BangfuMetadata {
            aggregate_type: event.aggregate_type.clone(),
            aggregate_id: event.aggregate_id.clone(),
            sequence: event.sequence as u64,
            event_version: event.event_version.clone(),
            metadata,
            recorded_at: event.recorded_at.clone(),
            prev_hash: event.prev_hash.clone(),
            hash: event.hash.clone(),
        };
        Ok(KurrentRecord {
            stream_id: stream_name(&event.aggregate_type, &event.aggregate_id),
            revision: (event.sequence as u64).saturating_sub(1),
            id: event.event_id,
            event_type: event.event_type.clone(),
            data: event.payload.to_string().into_bytes(),
            custom_metadata: serde_json::to_vec(&own)
                .map_err(|e| StoreError::Corrupt(format!("metadata: {e}")))?,
            position: Position {
                commit: event.log_position.commit,
                prepare: event.log_position.position,
            },
        })
    }

    /// The bangfu event this record stores. Refuses records bangfu did not
    /// write, and records whose stream or revision disagree with what their
    /// metadata says (a moved or hand-written event).
    pub fn to_stored(&self) -> Result<StoredEvent, StoreError> {
        let corrupt = |what: &str, e: &dyn std::fmt::Display| {
            StoreError::Corrupt(format!(
                "{} revision {}: {what}: {e}",
                self.stream_id, self.revision
            ))
        };
        let own: BangfuMetadata = serde_json::from_slice(&self.custom_metadata)
            .map_err(|e| corrupt("not a bangfu event", &e))?;
        if stream_name(&own.aggregate_type, &own.aggregate_id) != self.stream_id
            || own.sequence != self.revision + 1
        {
            return Err(corrupt(
                "metadata",
                &"does not match the stream and revision",
            ));
        }
        let payload: Value =
            serde_json::from_slice(&self.data).map_err(|e| corrupt("payload", &e))?;
        let metadata: HashMap<String, String> =
            serde_json::from_value(own.metadata).map_err(|e| corrupt("metadata", &e))?;
        Ok(StoredEvent {
            position: self.position.prepare,
            log_position: LogPosition {
                commit: self.position.commit,
                position: self.position.prepare,
            },
            event_id: self.id,
            aggregate_type: own.aggregate_type,
            aggregate_id: own.aggregate_id,
            sequence: usize::try_from(own.sequence).map_err(|e| corrupt("sequence", &e))?,
            event_type: self.event_type.clone(),
            event_version: own.event_version,
            payload,
            metadata,
            recorded_at: own.recorded_at,
            prev_hash: own.prev_hash,
            hash: own.hash,
        })
    }

    fn event_data(&self) -> Result<EventData, StoreError> {
        let payload: Value = serde_json::from_slice(&self.data)
            .map_err(|e| StoreError::Corrupt(format!("payload: {e}")))?;
        let custom: Value = serde_json::from_slice(&self.custom_metadata)
            .map_err(|e| StoreError::Corrupt(format!("metadata: {e}")))?;
        EventData::json(&self.event_type, &payload)
            .and_then(|data| data.metadata_as_json(&custom))
            .map(|data| data.id(self.id))
            .map_err(|e| StoreError::Corrupt(e.to_string()))
    }

    fn from_resolved(event: &ResolvedEvent) -> Option<KurrentRecord> {
        let recorded = event.event.as_ref()?;
        Some(KurrentRecord {
            stream_id: recorded.stream_id().to_string(),
            revision: recorded.revision,
            id: recorded.id,
            event_type: recorded.event_type.clone(),
            data: recorded.data.to_vec(),
            custom_metadata: recorded.custom_metadata.to_vec(),
            position: recorded.position,
        })
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
mod tests {
    use super::*;
    use crate::store::hash::{event_hash, HashedEvent};
    use kurrentdb::CurrentRevision;
    use serde_json::json;

    #[test]
    fn money_that_is_spent_is_refused_and_money_that_comes_in_is_not() {
        let prepared = |aggregate_type: &str, event_type: &str, payload: Value| {
            let event = SerializedEvent::new(
                "S-1".to_string(),
                1,
                aggregate_type.to_string(),
                event_type.to_string(),
                "1.0".to_string(),
                payload,
                json!({"actor_id": "a"}),
            );
            PreparedCommit::prepare(aggregate_type, &[event], None, domain::reservations_of)
                .expect("prepares")
                .expect("one event")
        };
        let approved = prepared(
            "hardship_file",
            "GrantApproved",
            json!({"GrantApproved": {
            "grant_id": "g1", "measure_id": "m1", "amount_fen": 500, "fund": "festival",
            "approved_by": "a", "approved_at": "2026-01-01T00:00:00Z"}}),
        );
        let refused = refuse_debits(&approved).unwrap_err();
        assert!(refused.to_string().contains("GrantApproved"), "{refused}");

        let appropriated = prepared(
            "fund_account",
            "Appropriated",
            json!({"Appropriated": {
            "appropriation_id": "a1", "fund": "festival", "amount_fen": 500,
            "source": "市总工会", "received_on": "2026-01-01", "note": null,
            "recorded_by": "a", "recorded_at": "2026-01-01T00:00:00Z"}}),
        );
        assert!(refuse_debits(&appropriated).is_ok());
    }

    fn sample() -> StoredEvent {
        let event_id = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001);
        let mut metadata = HashMap::new();
        metadata.insert("actor_id".to_string(), "zhang.wei".to_string());
        metadata.insert("event_id".to_string(), event_id.to_string());
        metadata.insert(
            "recorded_at".to_string(),
            "2026-03-01T09:00:00.000000Z".to_string(),
        );
        let payload = json!({"FileOpened": {"file_id": "HF-1", "amount_fen": 150000}});
        let metadata_value = serde_json::to_value(&metadata).unwrap();
        let hash = event_hash(
            GENESIS_HASH,
            &HashedEvent {
                aggregate_type: "hardship_file",
                aggregate_id: "HF-2026-0001",
                sequence: 3,
                event_type: "FileOpened",
                event_version: "1.0",
                payload: &payload,
                metadata: &metadata_value,
            },
        );
        StoredEvent {
            position: 4_096,
            log_position: LogPosition {
                commit: 4_200,
                position: 4_096,
            },
            event_id,
            aggregate_type: "hardship_file".into(),
            aggregate_id: "HF-2026-0001".into(),
            sequence: 3,
            event_type: "FileOpened".into(),
            event_version: "1.0".into(),
            payload,
            metadata,
            recorded_at: Some("2026-03-01T09:00:00.000000Z".into()),
            prev_hash: GENESIS_HASH.into(),
            hash,
        }
    }

    #[test]
    fn an_event_maps_to_a_record_and_back_unchanged() {
        let event = sample();
        let record = KurrentRecord::from_stored(&event).unwrap();
        assert_eq!(record.stream_id, "hardship_file-HF-2026-0001");
        assert_eq!(record.revision, 2, "sequence 3 is revision 2");
        assert_eq!(record.id, event.event_id);
        assert_eq!(record.event_type, "FileOpened");
        assert_eq!(record.data, event.payload.to_string().into_bytes());
        assert_eq!(
            record.position,
            Position {
                commit: 4_200,
                prepare: 4_096
            }
        );
        let metadata: Value = serde_json::from_slice(&record.custom_metadata).unwrap();
        assert_eq!(metadata["hash"], json!(event.hash));
        assert_eq!(metadata["metadata"]["actor_id"], json!("zhang.wei"));
        assert_eq!(record.to_stored().unwrap(), event);
        // And the event data for the client builds from it.
        assert!(record.event_data().is_ok());
    }

    #[test]
    fn records_that_bangfu_did_not_write_or_that_moved_are_refused() {
        let mut foreign = KurrentRecord::from_stored(&sample()).unwrap();
        foreign.custom_metadata = b"{\"$correlationId\":\"x\"}".to_vec();
        assert!(matches!(foreign.to_stored(), Err(StoreError::Corrupt(_))));

        let mut moved = KurrentRecord::from_stored(&sample()).unwrap();
        moved.stream_id = "hardship_file-HF-2026-0002".into();
        assert!(matches!(moved.to_stored(), Err(StoreError::Corrupt(_))));

        let mut renumbered = KurrentRecord::from_stored(&sample()).unwrap();
        renumbered.revision = 7;
        assert!(matches!(
            renumbered.to_stored(),
            Err(StoreError::Corrupt(_))
        ));

        let mut garbled = KurrentRecord::from_stored(&sample()).unwrap();
        garbled.data = b"not json".to_vec();
        assert!(matches!(garbled.to_stored(), Err(StoreError::Corrupt(_))));
    }

    #[test]
    fn reservation_streams_do_not_contain_the_key() {
        let stream = reservation_stream(Scope::OpenFileByResident, "110101199003071234");
        assert!(stream.starts_with("bangfu-reservation-"));
        assert!(!stream.contains("110101199003071234"));
        assert_ne!(
            stream,
            reservation_stream(Scope::OpenFileByResident, "110101199003071235")
        );
        assert_ne!(
            stream,
            reservation_stream(Scope::ClaimedStay, "110101199003071234")
        );
    }

    #[test]
    fn expected_revision_continues_the_stream() {
        assert_eq!(expected_state(None), StreamState::NoStream);
        assert_eq!(expected_state(Some(4)), StreamState::StreamRevision(4));
    }

    #[test]
    fn connection_strings_in_both_schemes_parse_and_garbage_does_not() {
        for url in [
            "esdb://localhost:2113?tls=false",
            "kurrentdb://admin:changeit@localhost:2113",
            "esdb+discover://cluster.example:2113",
            "kurrentdb://node1:2113,node2:2113,node3:2113?tls=false",
        ] {
            assert!(KurrentUrl::parse(url).is_ok(), "{url}");
        }
        for url in [
            "postgres://localhost/x",
            "esdb://",
            "kurrentdb://host:notaport",
        ] {
            assert!(
                matches!(KurrentUrl::parse(url), Err(StoreError::Kurrent(_))),
                "{url}"
            );
        }
        let parsed = KurrentUrl::parse("kurrentdb://admin:changeit@localhost:2113").unwrap();
        assert!(!parsed.redacted.contains("changeit"));
    }

    #[test]
    fn client_errors_map_to_cqrs_kinds() {
        let wrong = kurrentdb::Error::WrongExpectedVersion {
            expected: StreamState::StreamRevision(3),
            current: CurrentRevision::Current(4),
        };
        assert!(matches!(
            persistence_error(wrong),
            PersistenceError::OptimisticLockError
        ));
        assert!(matches!(
            persistence_error(kurrentdb::Error::ConnectionClosed),
            PersistenceError::ConnectionError(_)
        ));
        assert!(matches!(
            persistence_error(kurrentdb::Error::DeadlineExceeded),
            PersistenceError::ConnectionError(_)
        ));
        assert!(matches!(
            persistence_error(kurrentdb::Error::AccessDenied),
            PersistenceError::UnknownError(_)
        ));
        assert!(matches!(
            persistence_error(kurrentdb::Error::InternalParsingError("x".into())),
            PersistenceError::DeserializationError(_)
        ));
    }
}
