//! `Idempotency-Key`: a request retried with the same key gets the first
//! response back and applies nothing twice — also after a restart, and also
//! when both requests arrive at once.
//!
//! Commands keep their keys in the event store, in the command's own
//! transaction (`store::keys`, used by `http::commands`); this module's
//! table in the users' database keeps the keys of bank-file exports, and
//! [`carry_over`] brings the command keys it held before into the store.
//! What follows describes that table.
//!
//! The key is scoped to the user. Before the command runs, a row is taken
//! (`pending`, with the command id the command's events will carry); when it
//! has an outcome, the row is completed with the response. Requests with the
//! same key meet on an in-process lock, so the second waits for the first and
//! then replays its response. A `pending` row found later (the process died
//! between commit and completing the row) is resolved from the event log: if
//! events carry its command id the command was applied and its response is
//! rebuilt from them; if not, it runs now, with the same command id.
//!
//! Outcomes kept: success, and refusals by a business rule (the same command
//! would be refused the same way). Not kept: version conflicts and storage
//! failures — the row is released so a retry runs the command again.

use axum::http::HeaderMap;
use chrono::{SecondsFormat, Utc};
use domain::i18n::Lang;
use sha2::{Digest, Sha256};
use sqlx::SqlitePool;
use uuid::Uuid;

use super::error::ApiError;
use crate::store::{AnyStore, CommandKey};

/// The request header.
pub const HEADER: &str = "idempotency-key";
/// Longest key accepted, in bytes.
pub const MAX_KEY_BYTES: usize = 200;

/// A stored key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRow {
    /// SHA-256 of what was asked (method, path, role, If-Match, body).
    pub request_sha256: String,
    /// The command id the command runs with.
    pub command_id: Uuid,
    /// `true` once the response is stored.
    pub done: bool,
    /// The stored status.
    pub status: Option<u16>,
    /// The stored response body (JSON).
    pub response: Option<String>,
}

/// The key of a request, if it sent one; 400 if it is not 1–200 visible ASCII characters.
pub fn key_of(headers: &HeaderMap, lang: Lang) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(HEADER) else {
        return Ok(None);
    };
    let bad = || {
        ApiError::bad_value(
            "Idempotency-Key",
            lang,
            "Idempotency-Key 须为 1 至 200 个可见 ASCII 字符",
            "Idempotency-Key must be 1 to 200 visible ASCII characters",
        )
    };
    let key = value.to_str().map_err(|_| bad())?.trim();
    if key.is_empty() || key.len() > MAX_KEY_BYTES || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad());
    }
    Ok(Some(key.to_string()))
}

/// SHA-256 over everything that makes two requests "the same command".
pub fn fingerprint(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        // Length-prefixed, so ("ab","c") and ("a","bc") differ.
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// The stored row for `(user, key)`.
pub async fn lookup(
    pool: &SqlitePool,
    user: &str,
    key: &str,
) -> Result<Option<KeyRow>, sqlx::Error> {
    type Row = (String, String, String, Option<i64>, Option<String>);
    let row: Option<Row> = sqlx::query_as(
        "SELECT request_sha256, command_id, state, status, response
           FROM idempotency_keys WHERE user_id = ? AND idem_key = ?",
    )
    .bind(user)
    .bind(key)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(
        |(request_sha256, command_id, state, status, response)| KeyRow {
            request_sha256,
            command_id: Uuid::parse_str(&command_id).unwrap_or_else(|_| Uuid::nil()),
            done: state == "done",
            status: status.and_then(|s| u16::try_from(s).ok()),
            response,
        },
    ))
}

/// Takes the key for a command about to run. `false` if it is already taken.
pub async fn reserve(
    pool: &SqlitePool,
    user: &str,
    key: &str,
    request_sha256: &str,
    command_id: Uuid,
    aggregate: (&str, &str),
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO idempotency_keys (user_id, idem_key, request_sha256, command_id,
                                       aggregate_type, aggregate_id, state, created_at)
         VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)
         ON CONFLICT (user_id, idem_key) DO NOTHING",
    )
    .bind(user)
    .bind(key)
    .bind(request_sha256)
    .bind(command_id.to_string())
    .bind(aggregate.0)
    .bind(aggregate.1)
    .bind(Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true))
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Stores the outcome for replay.
pub async fn complete(
    pool: &SqlitePool,
    user: &str,
    key: &str,
    status: u16,
    response: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE idempotency_keys SET state = 'done', status = ?, response = ?
          WHERE user_id = ? AND idem_key = ?",
    )
    .bind(i64::from(status))
    .bind(response)
    .bind(user)
    .bind(key)
    .execute(pool)
    .await?;
    Ok(())
}

/// Gives a pending key back (the command had no lasting outcome).
pub async fn release(pool: &SqlitePool, user: &str, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "DELETE FROM idempotency_keys WHERE user_id = ? AND idem_key = ? AND state = 'pending'",
    )
    .bind(user)
    .bind(key)
    .execute(pool)
    .await?;
    Ok(())
}

/// How far back [`carry_over`] reaches: a client retries within a day (the
/// window Stripe's keys keep, too); older keys are not carried over.
pub const CARRY_OVER_HOURS: i64 = 24;

/// Copies the command keys of the last [`CARRY_OVER_HOURS`] from the users'
/// `idempotency_keys` table, where they lived before the store kept them,
/// into the store (`store::keys`), so a retry across the upgrade is still
/// answered from the first run. Run when the server starts; a key already in
/// the store stays as it is. Returns how many were copied.
pub async fn carry_over(pool: &SqlitePool, store: &AnyStore) -> Result<usize, String> {
    type Row = (
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        Option<i64>,
        Option<String>,
    );
    let since = (Utc::now() - chrono::Duration::hours(CARRY_OVER_HOURS))
        .to_rfc3339_opts(SecondsFormat::Micros, true);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT user_id, idem_key, request_sha256, command_id, aggregate_type, aggregate_id,
                created_at, state, status, response
           FROM idempotency_keys WHERE created_at >= ?",
    )
    .bind(since)
    .fetch_all(pool)
    .await
    .map_err(|e| e.to_string())?;
    let mut copied = 0;
    for (
        user_id,
        idem_key,
        request_sha256,
        command_id,
        aggregate_type,
        aggregate_id,
        created_at,
        state,
        status,
        response,
    ) in rows
    {
        let Ok(command_id) = Uuid::parse_str(&command_id) else {
            continue;
        };
        let key = CommandKey {
            user_id,
            idem_key,
            request_sha256,
            command_id,
            aggregate_type,
            aggregate_id,
            created_at,
        };
        let answer = match (
            state.as_str(),
            status.and_then(|s| u16::try_from(s).ok()),
            &response,
        ) {
            ("done", Some(status), Some(body)) => Some((status, body.as_str())),
            _ => None,
        };
        if store
            .keep_key(&key, answer)
            .await
            .map_err(|e| e.to_string())?
        {
            copied += 1;
        }
    }
    Ok(copied)
}
