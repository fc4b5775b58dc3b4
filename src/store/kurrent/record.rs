//! One KurrentDB event as bangfu reads and writes it, and what bangfu keeps
//! in its custom metadata.

use std::collections::HashMap;

use kurrentdb::{EventData, Position, ResolvedEvent};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::stream_name;
use crate::store::{LogPosition, StoreError, StoredEvent};

/// What bangfu keeps in a KurrentDB event's custom metadata.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct BangfuMetadata {
    pub(super) aggregate_type: String,
    pub(super) aggregate_id: String,
    pub(super) sequence: u64,
    pub(super) event_version: String,
    pub(super) metadata: Value,
    pub(super) recorded_at: Option<String>,
    pub(super) prev_hash: String,
    pub(super) hash: String,
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

    pub(super) fn event_data(&self) -> Result<EventData, StoreError> {
        let payload: Value = serde_json::from_slice(&self.data)
            .map_err(|e| StoreError::Corrupt(format!("payload: {e}")))?;
        let custom: Value = serde_json::from_slice(&self.custom_metadata)
            .map_err(|e| StoreError::Corrupt(format!("metadata: {e}")))?;
        EventData::json(&self.event_type, &payload)
            .and_then(|data| data.metadata_as_json(&custom))
            .map(|data| data.id(self.id))
            .map_err(|e| StoreError::Corrupt(e.to_string()))
    }

    pub(super) fn from_resolved(event: &ResolvedEvent) -> Option<KurrentRecord> {
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
