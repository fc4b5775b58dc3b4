//! Commit preparation, written once for every store: what a commit is before
//! any database sees it.
//!
//! [`PreparedCommit::prepare`] checks what needs only the call's own events
//! (one stream, consecutive sequences, metadata an object), assigns event
//! ids, writes the JSON text, the canonical form the hash covers and the
//! reservations each event declares. A store then does only what depends on
//! its current state: the stream head (optimistic concurrency), the hash
//! link ([`PreparedEvent::hash_after`]), the statements — and the
//! per-commit constraints, each applied as its own step in the commit's
//! transaction (reservations today: `sql::apply_reservation`; more
//! constraints get a field here and a step beside that one).

use std::collections::HashMap;

use cqrs_es::persist::{PersistenceError, SerializedEvent};
use domain::command::metadata_keys;
use domain::reservation::Reservation;
use serde_json::Value;
use uuid::Uuid;

use super::hash::{canonical_event, chain_hash, HashedEvent, GENESIS_HASH};
use super::{LogPosition, StoredEvent};
use domain::money::Movement;

/// The keys an event takes or releases, given its aggregate type, aggregate
/// id, event type, event version and JSON payload as stored (the version lets the domain
/// upcast an older event, e.g. one imported by `store copy`). The domain
/// provides one for its aggregates; an `Err` (the payload is not an event of
/// that type) fails the commit.
pub type ReservationExtractor =
    fn(&str, &str, &str, &str, &Value) -> Result<Vec<Reservation>, String>;

/// A [`ReservationExtractor`] for stores whose events reserve nothing.
pub fn no_reservations(
    _aggregate_type: &str,
    _aggregate_id: &str,
    _event_type: &str,
    _event_version: &str,
    _payload: &Value,
) -> Result<Vec<Reservation>, String> {
    Ok(Vec::new())
}

/// A stream's last sequence and hash.
pub type Head = (usize, String);

/// One event, ready to insert: everything but `prev_hash`, `hash` and the
/// position, which depend on what is committed before it.
#[derive(Clone, Debug)]
pub struct PreparedEvent {
    /// UUID v7, also in `metadata`.
    pub event_id: Uuid,
    /// Position in the stream.
    pub sequence: usize,
    /// Stable event type name.
    pub event_type: String,
    /// Event schema version.
    pub event_version: String,
    /// The payload's JSON text.
    pub payload: String,
    /// The metadata (with `event_id`) as JSON text.
    pub metadata: String,
    /// `metadata.recorded_at`, if the command carried it.
    pub recorded_at: Option<String>,
    /// The event's canonical JSON, the second half of its hash input.
    pub canonical: String,
    /// The keys this event takes and releases, applied in the commit's
    /// transaction after the event's row.
    pub reservations: Vec<Reservation>,
    /// The money it moves (`store::money`), checked once per commit after
    /// its events' rows.
    pub movements: Vec<Movement>,
}

impl PreparedEvent {
    /// This event's hash when it follows `prev_hash` in its stream.
    pub fn hash_after(&self, prev_hash: &str) -> String {
        chain_hash(prev_hash, &self.canonical)
    }
}

/// One `append` call, prepared: one stream's consecutive events and its
/// snapshot, with every per-commit constraint the store must check in the
/// same transaction.
#[derive(Clone, Debug)]
pub struct PreparedCommit {
    /// `A::TYPE`.
    pub aggregate_type: String,
    /// The stream.
    pub aggregate_id: String,
    /// At least one; sequences consecutive from the first, which is ≥ 1.
    pub events: Vec<PreparedEvent>,
    /// `(state JSON, snapshot number)`; the state includes every event here.
    pub snapshot: Option<(String, usize)>,
    /// The command's idempotency key, inserted in the same transaction as
    /// its events (`store::keys`); a held key refuses the commit.
    pub key: Option<super::CommandKey>,
}

impl PreparedCommit {
    /// Prepares one stream's `events` (and the snapshot taken after them) for
    /// a store; `Ok(None)` when there is nothing to commit. Runs on the
    /// caller's task, before the store is involved.
    ///
    /// Errors: `UnknownError` for events that are not one stream's
    /// consecutive sequences, metadata that is not an object, or a snapshot
    /// without events or of another stream; `DeserializationError` if
    /// `reservations` cannot read an event.
    pub fn prepare(
        aggregate_type: &str,
        events: &[SerializedEvent],
        snapshot: Option<(String, Value, usize)>,
        reservations: ReservationExtractor,
    ) -> Result<Option<PreparedCommit>, PersistenceError> {
        let Some(first) = events.first() else {
            return match snapshot {
                None => Ok(None),
                Some(_) => Err(unknown("a snapshot must come with the events it includes")),
            };
        };
        let aggregate_id = first.aggregate_id.as_str();
        let mut prepared = Vec::with_capacity(events.len());
        for (event, expected_sequence) in events.iter().zip(first.sequence..) {
            if event.aggregate_id != aggregate_id
                || event.aggregate_type != aggregate_type
                || event.sequence != expected_sequence
                || event.sequence == 0
            {
                return Err(unknown(
                    "a commit must continue one stream with consecutive sequences",
                ));
            }
            prepared.push(prepare_event(aggregate_type, event, reservations)?);
        }
        let snapshot = match snapshot {
            None => None,
            Some((snapshot_id, _, _)) if snapshot_id != aggregate_id => {
                return Err(unknown("a snapshot must be of the stream being appended"));
            }
            Some((_, state, number)) => Some((state.to_string(), number)),
        };
        Ok(Some(PreparedCommit {
            aggregate_type: aggregate_type.to_string(),
            aggregate_id: aggregate_id.to_string(),
            events: prepared,
            snapshot,
            key: None,
        }))
    }

    /// Where this commit starts given its stream's `head`: the head's
    /// sequence and hash (genesis for a new stream), or the refusal if the
    /// stream moved on since the caller loaded it.
    pub fn check_head(&self, head: Option<Head>) -> Result<Head, PersistenceError> {
        let (last_sequence, prev_hash) = head.unwrap_or_else(|| (0, GENESIS_HASH.to_string()));
        match self.events.first() {
            // Someone committed to this stream since the caller loaded it.
            Some(first) if first.sequence <= last_sequence => {
                Err(PersistenceError::OptimisticLockError)
            }
            Some(first) if first.sequence != last_sequence + 1 => Err(unknown(
                "a commit must continue one stream with consecutive sequences",
            )),
            _ => Ok((last_sequence, prev_hash)),
        }
    }

    /// The commit's events as stored rows, chained from `prev_hash` (the
    /// stream's head); positions are left at zero for the store to fill in.
    pub fn stored_events(&self, prev_hash: &str) -> Result<Vec<StoredEvent>, PersistenceError> {
        let mut prev_hash = prev_hash.to_string();
        let mut stored = Vec::with_capacity(self.events.len());
        for event in &self.events {
            let hash = event.hash_after(&prev_hash);
            let metadata: HashMap<String, String> = serde_json::from_str(&event.metadata)
                .map_err(|e| PersistenceError::UnknownError(Box::new(e)))?;
            let payload = serde_json::from_str(&event.payload)
                .map_err(|e| PersistenceError::UnknownError(Box::new(e)))?;
            stored.push(StoredEvent {
                position: 0,
                log_position: LogPosition::START,
                event_id: event.event_id,
                aggregate_type: self.aggregate_type.clone(),
                aggregate_id: self.aggregate_id.clone(),
                sequence: event.sequence,
                event_type: event.event_type.clone(),
                event_version: event.event_version.clone(),
                payload,
                metadata,
                recorded_at: event.recorded_at.clone(),
                prev_hash: std::mem::replace(&mut prev_hash, hash.clone()),
                hash,
            });
        }
        Ok(stored)
    }
}

/// Event id, metadata with the id, JSON text, canonical form, reservations.
fn prepare_event(
    aggregate_type: &str,
    event: &SerializedEvent,
    reservations: ReservationExtractor,
) -> Result<PreparedEvent, PersistenceError> {
    let event_id = Uuid::now_v7();
    let mut metadata = event.metadata.clone();
    let Some(fields) = metadata.as_object_mut() else {
        return Err(unknown("event metadata must be a JSON object"));
    };
    fields.insert(
        metadata_keys::EVENT_ID.to_string(),
        Value::String(event_id.to_string()),
    );
    let recorded_at = fields
        .get(metadata_keys::RECORDED_AT)
        .and_then(Value::as_str)
        .map(str::to_owned);
    let canonical = canonical_event(&HashedEvent {
        aggregate_type,
        aggregate_id: &event.aggregate_id,
        sequence: event.sequence as u64,
        event_type: &event.event_type,
        event_version: &event.event_version,
        payload: &event.payload,
        metadata: &metadata,
    });
    let reservations = reservations(
        aggregate_type,
        &event.aggregate_id,
        &event.event_type,
        &event.event_version,
        &event.payload,
    )
    .map_err(|reason| {
        PersistenceError::DeserializationError(
            format!(
                "cannot read reservations of {aggregate_type} event {}: {reason}",
                event.event_type
            )
            .into(),
        )
    })?;
    let movements = super::money::movements_of(
        aggregate_type,
        &event.aggregate_id,
        &event.event_type,
        &event.event_version,
        &event.payload,
    )
    .map_err(|reason| PersistenceError::DeserializationError(reason.into()))?;
    Ok(PreparedEvent {
        event_id,
        sequence: event.sequence,
        event_type: event.event_type.clone(),
        event_version: event.event_version.clone(),
        payload: event.payload.to_string(),
        metadata: metadata.to_string(),
        recorded_at,
        canonical,
        reservations,
        movements,
    })
}

pub(super) fn unknown(message: &'static str) -> PersistenceError {
    PersistenceError::UnknownError(message.into())
}
