//! The `audit_seals` table (migrations `0016_audit_seals.sql` on SQLite,
//! `0007_audit_seals.sql` on PostgreSQL): signed seals kept beside the log
//! they seal. What a seal says and how it is checked is `crate::audit`'s;
//! the store only keeps the text exactly as signed.

use sqlx::{PgPool, Row, SqlitePool};

use super::StoreError;

/// One seal as the store keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealRecord {
    /// When it was sealed (RFC 3339, UTC), as the seal says.
    pub sealed_at: String,
    /// The log position it seals, as the seal writes it.
    pub log_position: String,
    /// How many events the log held up to that position.
    pub events: u64,
    /// The seal exactly as signed and published.
    pub text: String,
}

const INSERT_SQLITE: &str =
    "INSERT INTO audit_seals (sealed_at, log_position, events, text) VALUES (?, ?, ?, ?)
     ON CONFLICT (text) DO NOTHING";
const INSERT_PG: &str =
    "INSERT INTO audit_seals (sealed_at, log_position, events, text) VALUES ($1, $2, $3, $4)
     ON CONFLICT (text) DO NOTHING";
const SELECT: &str = "SELECT sealed_at, log_position, events, text FROM audit_seals ORDER BY id";

fn events_i64(record: &SealRecord) -> Result<i64, StoreError> {
    i64::try_from(record.events).map_err(|_| StoreError::Corrupt("seal event count".into()))
}

fn decode<'r, R>(row: &'r R) -> Result<SealRecord, StoreError>
where
    R: Row,
    &'r str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let events: i64 = row.try_get("events")?;
    Ok(SealRecord {
        sealed_at: row.try_get("sealed_at")?,
        log_position: row.try_get("log_position")?,
        events: u64::try_from(events)
            .map_err(|_| StoreError::Corrupt("negative seal event count".into()))?,
        text: row.try_get("text")?,
    })
}

/// Adds a seal on SQLite (through the writer's connection); the same
/// seal twice (same second, same log: Ed25519 signs deterministically) is
/// kept once.
pub(super) async fn add_sqlite(pool: &SqlitePool, record: &SealRecord) -> Result<(), StoreError> {
    sqlx::query(INSERT_SQLITE)
        .bind(&record.sealed_at)
        .bind(&record.log_position)
        .bind(events_i64(record)?)
        .bind(&record.text)
        .execute(pool)
        .await?;
    Ok(())
}

/// Every seal on SQLite, oldest first.
pub(super) async fn all_sqlite(pool: &SqlitePool) -> Result<Vec<SealRecord>, StoreError> {
    let rows = sqlx::query(SELECT).fetch_all(pool).await?;
    rows.iter().map(decode).collect()
}

/// Adds a seal on PostgreSQL.
pub(super) async fn add_pg(pool: &PgPool, record: &SealRecord) -> Result<(), StoreError> {
    sqlx::query(INSERT_PG)
        .bind(&record.sealed_at)
        .bind(&record.log_position)
        .bind(events_i64(record)?)
        .bind(&record.text)
        .execute(pool)
        .await?;
    Ok(())
}

/// Every seal on PostgreSQL, oldest first.
pub(super) async fn all_pg(pool: &PgPool) -> Result<Vec<SealRecord>, StoreError> {
    let rows = sqlx::query(SELECT).fetch_all(pool).await?;
    rows.iter().map(decode).collect()
}
