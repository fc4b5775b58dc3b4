//! Idempotency keys kept by the store, written in the command's own
//! transaction (issue 16).
//!
//! A command sent with an `Idempotency-Key` carries a [`CommandKey`] in its
//! [`PreparedCommit`](super::PreparedCommit); the store inserts the key's row
//! in the same transaction as the events (on SQLite inside the writer's
//! batch, so it is group-committed with it). A committed command and its key
//! are therefore durable together: a retry finds both or neither, and there
//! is no "pending" state to resolve after a crash. The answer to a committed
//! command is rebuilt from the events carrying its `command_id`; a row keeps
//! an answer of its own ([`KeyRecord::answer`]) only where no event carries
//! one: a refusal by a business rule, or a command that changed nothing
//! ([`EventStore::keep_key`](super::EventStore::keep_key), its own
//! small transaction).
//!
//! A commit whose key is already taken is refused with [`KeyTaken`] and
//! writes nothing (the primary key on SQLite's savepoint path and on
//! PostgreSQL; a check under the write lock on the writer's one-row path).

use cqrs_es::persist::PersistenceError;
use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Pool, Row, Type};
use uuid::Uuid;

use super::sql::{persistence_error, Dialect, Sql};
use super::StoreError;

/// A keyed command's key, committed with its events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandKey {
    /// The user the key belongs to (keys are per user).
    pub user_id: String,
    /// The key as the client sent it.
    pub idem_key: String,
    /// SHA-256 (hex) of what was asked: a retry must ask the same.
    pub request_sha256: String,
    /// The command id the command's events carry.
    pub command_id: Uuid,
    /// The stream the command is for.
    pub aggregate_type: String,
    /// See `aggregate_type`.
    pub aggregate_id: String,
    /// When the key was first used (RFC 3339, UTC).
    pub created_at: String,
}

/// What the store holds for a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRecord {
    /// SHA-256 (hex) of the request that took the key.
    pub request_sha256: String,
    /// The command id the key's command ran (or runs) with.
    pub command_id: Uuid,
    /// `(status, body)` kept where no event carries the answer; `None`: the
    /// command committed, rebuild its answer from its events.
    pub answer: Option<(u16, String)>,
}

/// The commit was refused: another commit already holds its key. Nothing was
/// written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("this idempotency key is already taken by another command")]
pub struct KeyTaken;

impl KeyTaken {
    /// As the commit's error.
    pub fn into_persistence(self) -> PersistenceError {
        PersistenceError::UnknownError(Box::new(self))
    }
}

const SELECT_KEY: &str = "SELECT request_sha256, command_id, status, response
                            FROM command_keys WHERE user_id = ? AND idem_key = ?";

/// The columns of a key row, in INSERT order.
pub(super) const KEY_COLUMNS: &str = "user_id, idem_key, request_sha256, command_id, \
                                      aggregate_type, aggregate_id, created_at, status, response";

impl<DB> Sql<DB>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB>,
    for<'q> Option<&'q str>: Encode<'q, DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
    for<'r> String: Decode<'r, DB> + Type<DB>,
    for<'r> Option<String>: Decode<'r, DB>,
    for<'r> i64: Decode<'r, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
{
    /// The row kept for `(user, key)`.
    pub async fn command_key(
        pool: &Pool<DB>,
        user: &str,
        key: &str,
    ) -> Result<Option<KeyRecord>, StoreError> {
        let row = sqlx::query(&DB::sql(SELECT_KEY))
            .bind(user)
            .bind(key)
            .fetch_optional(pool)
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let command_id: String = row.try_get(1)?;
        let command_id = Uuid::parse_str(&command_id)
            .map_err(|e| StoreError::Corrupt(format!("command_keys.command_id: {e}")))?;
        let status: Option<i64> = row.try_get(2)?;
        let response: Option<String> = row.try_get(3)?;
        let answer = match (status, response) {
            (Some(status), Some(body)) => Some((
                u16::try_from(status)
                    .map_err(|e| StoreError::Corrupt(format!("command_keys.status: {e}")))?,
                body,
            )),
            _ => None,
        };
        Ok(Some(KeyRecord {
            request_sha256: row.try_get(0)?,
            command_id,
            answer,
        }))
    }

    /// Inserts `key` with its `answer` (if any) in a transaction of its
    /// own: `false` if the key is already held (the row there stands).
    pub async fn keep_key(
        pool: &Pool<DB>,
        key: &CommandKey,
        answer: Option<(u16, &str)>,
    ) -> Result<bool, StoreError> {
        let sql = format!(
            "INSERT INTO command_keys ({KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (user_id, idem_key) DO NOTHING RETURNING user_id"
        );
        let inserted = bind_key(sqlx::query(&DB::sql(&sql)), key, answer)
            .fetch_optional(pool)
            .await?;
        Ok(inserted.is_some())
    }
}

impl<DB> Sql<DB>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB>,
    for<'q> Option<&'q str>: Encode<'q, DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
    for<'r> String: Type<DB>,
    for<'r> i64: Type<DB>,
{
    /// Inserts `key` inside the caller's transaction (with `answer` when no
    /// event will carry it); [`KeyTaken`] if the key is held.
    pub async fn insert_key(
        conn: &mut DB::Connection,
        key: &CommandKey,
        answer: Option<(u16, &str)>,
    ) -> Result<(), PersistenceError> {
        let sql =
            format!("INSERT INTO command_keys ({KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
        let done = bind_key(sqlx::query(&DB::sql(&sql)), key, answer)
            .execute(&mut *conn)
            .await;
        match done {
            Ok(_) => Ok(()),
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                Err(KeyTaken.into_persistence())
            }
            Err(error) => Err(persistence_error(error)),
        }
    }
}

/// Binds a key row's nine columns, in [`KEY_COLUMNS`] order.
pub(super) fn bind_key<'q, DB>(
    query: sqlx::query::Query<'q, DB, DB::Arguments<'q>>,
    key: &'q CommandKey,
    answer: Option<(u16, &'q str)>,
) -> sqlx::query::Query<'q, DB, DB::Arguments<'q>>
where
    DB: Database,
    &'q str: Encode<'q, DB> + Type<DB>,
    String: Encode<'q, DB> + Type<DB>,
    Option<i64>: Encode<'q, DB>,
    i64: Type<DB>,
    Option<&'q str>: Encode<'q, DB>,
{
    query
        .bind(key.user_id.as_str())
        .bind(key.idem_key.as_str())
        .bind(key.request_sha256.as_str())
        .bind(key.command_id.to_string())
        .bind(key.aggregate_type.as_str())
        .bind(key.aggregate_id.as_str())
        .bind(key.created_at.as_str())
        .bind(answer.map(|(status, _)| i64::from(status)))
        .bind(answer.map(|(_, body)| body))
}
