//! Idempotency keys on KurrentDB: one stream per key
//! (`bangfu-command-key-{SHA-256 of user and key}`), whose last record is the
//! key's row. KurrentDB has no transaction across streams, so the key is
//! taken *before* the command's events are appended (expecting no stream: a
//! key already held refuses the commit); if the append then fails, the key
//! stays held with no event carrying its command id — the HTTP layer runs
//! the command again with that command id (as for a key whose events were
//! never written), so nothing is applied twice.

use cqrs_es::persist::PersistenceError;
use kurrentdb::{AppendToStreamOptions, EventData, StreamState};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{persistence_error, store_error, KurrentStore, OWN_PREFIX};
use crate::store::{CommandKey, KeyRecord, KeyTaken, StoreError};

/// A key stream's record.
#[derive(Debug, Serialize, Deserialize)]
struct KeyEvent {
    user_id: String,
    request_sha256: String,
    command_id: Uuid,
    aggregate_type: String,
    aggregate_id: String,
    created_at: String,
    status: Option<u16>,
    response: Option<String>,
}

fn key_stream(user: &str, key: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update((user.len() as u64).to_be_bytes());
    hasher.update(user.as_bytes());
    hasher.update(key.as_bytes());
    format!("{OWN_PREFIX}command-key-{}", hex::encode(hasher.finalize()))
}

fn key_event(
    key: &CommandKey,
    answer: Option<(u16, &str)>,
) -> Result<EventData, serde_json::Error> {
    EventData::json(
        "CommandKey",
        &KeyEvent {
            user_id: key.user_id.clone(),
            request_sha256: key.request_sha256.clone(),
            command_id: key.command_id,
            aggregate_type: key.aggregate_type.clone(),
            aggregate_id: key.aggregate_id.clone(),
            created_at: key.created_at.clone(),
            status: answer.map(|(status, _)| status),
            response: answer.map(|(_, body)| body.to_string()),
        },
    )
}

impl KurrentStore {
    /// The key's row: its stream's last record.
    pub(super) async fn read_key(
        &self,
        user: &str,
        key: &str,
    ) -> Result<Option<KeyRecord>, StoreError> {
        let Some(record) = self
            .last_record(&key_stream(user, key))
            .await
            .map_err(store_error)?
        else {
            return Ok(None);
        };
        let event: KeyEvent = serde_json::from_slice(&record.data)
            .map_err(|e| StoreError::Corrupt(format!("command key record: {e}")))?;
        Ok(Some(KeyRecord {
            request_sha256: event.request_sha256,
            command_id: event.command_id,
            answer: event.status.zip(event.response),
        }))
    }

    /// Takes `key` (no answer), expecting its stream not to exist.
    pub(super) async fn take_key(&self, key: &CommandKey) -> Result<(), PersistenceError> {
        let event =
            key_event(key, None).map_err(|e| PersistenceError::UnknownError(Box::new(e)))?;
        let options = AppendToStreamOptions::default().stream_state(StreamState::NoStream);
        match self
            .client
            .append_to_stream(key_stream(&key.user_id, &key.idem_key), &options, event)
            .await
        {
            Ok(_) => Ok(()),
            Err(kurrentdb::Error::WrongExpectedVersion { .. }) => Err(KeyTaken.into_persistence()),
            Err(e) => Err(persistence_error(e)),
        }
    }

    /// Keeps a key (with its answer, if any): a new key, or one taken by the
    /// same command whose events were never written.
    pub(super) async fn answer_key(
        &self,
        key: &CommandKey,
        answer: Option<(u16, &str)>,
    ) -> Result<bool, StoreError> {
        let stream = key_stream(&key.user_id, &key.idem_key);
        let expected = match self.read_key(&key.user_id, &key.idem_key).await? {
            None => StreamState::NoStream,
            Some(held) if held.command_id == key.command_id && held.answer.is_none() => {
                StreamState::StreamExists
            }
            Some(_) => return Ok(false),
        };
        let event = key_event(key, answer)
            .map_err(|e| StoreError::Corrupt(format!("command key record: {e}")))?;
        let options = AppendToStreamOptions::default().stream_state(expected);
        match self.client.append_to_stream(stream, &options, event).await {
            Ok(_) => Ok(true),
            Err(kurrentdb::Error::WrongExpectedVersion { .. }) => Ok(false),
            Err(e) => Err(store_error(e)),
        }
    }
}
