//! The read-access log: every read of unmasked personal data — who, which
//! record, when, through which route — kept append-only beside the events
//! (`migrations/sqlite/0017_access_log.sql`,
//! `migrations/postgres/0008_access_log.sql`, with triggers refusing
//! updates and deletes like the event store's) and listed for auditors
//! (`bangfu audit access-log`, `GET /v1/audit/access-log`).
//!
//! What is recorded: over HTTP, an aggregate's state or history read in a
//! role that sees personal data unmasked (caseworker, approver, finance;
//! auditors read masked data and are not logged); on the command line,
//! `bangfu show` and `bangfu history`, which print everything (the actor is
//! the operating-system user). A read whose record cannot be written is
//! refused. KurrentDB has no SQL table to keep it in: reads there are not
//! logged (README, "Read-access log").

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::store::AnyStore;

/// Most entries one listing returns.
pub const MAX_ENTRIES: usize = 10_000;

/// One read to record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessRecord<'a> {
    /// When.
    pub read_at: DateTime<Utc>,
    /// Who (a user id, or the operating-system user on the command line).
    pub actor_id: &'a str,
    /// In which role (`cli` on the command line).
    pub actor_role: &'a str,
    /// Through which route: `GET /v1/hardship-files/{id}/state`, `cli show`.
    pub route: &'a str,
    /// The record's aggregate type.
    pub aggregate_type: &'a str,
    /// The record.
    pub aggregate_id: &'a str,
    /// The point of the past read, if any (`as_of` / `as_of_position`).
    pub as_of: Option<&'a str>,
}

/// One recorded read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AccessEntry {
    /// Its number, in recording order.
    pub id: i64,
    /// When (RFC 3339, UTC).
    pub read_at: String,
    /// Who.
    pub actor_id: String,
    /// In which role.
    pub actor_role: String,
    /// Through which route.
    pub route: String,
    /// The record's aggregate type.
    pub aggregate_type: String,
    /// The record.
    pub aggregate_id: String,
    /// The point of the past read, if any.
    pub as_of: Option<String>,
}

/// Which entries to list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccessFilter {
    /// Only reads of this aggregate type.
    pub aggregate_type: Option<String>,
    /// Only reads of this record.
    pub aggregate_id: Option<String>,
    /// Only reads by this actor.
    pub actor_id: Option<String>,
    /// Only entries after this number.
    pub after: i64,
    /// At most this many (capped at [`MAX_ENTRIES`]).
    pub limit: usize,
}

/// Why the access log could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum AccessLogError {
    /// The database failed.
    #[error("access log: {0}")]
    Storage(#[from] sqlx::Error),
    /// This store keeps no access log (KurrentDB).
    #[error("this store keeps no access log (it needs SQLite or PostgreSQL)")]
    Unavailable,
}

const INSERT_SQLITE: &str = "INSERT INTO access_log (read_at, actor_id, actor_role, route, \
     aggregate_type, aggregate_id, as_of) VALUES (?, ?, ?, ?, ?, ?, ?)";
const INSERT_PG: &str = "INSERT INTO access_log (read_at, actor_id, actor_role, route, \
     aggregate_type, aggregate_id, as_of) VALUES ($1, $2, $3, $4, $5, $6, $7)";
const SELECT_SQLITE: &str = "SELECT id, read_at, actor_id, actor_role, route, aggregate_type, \
     aggregate_id, as_of FROM access_log WHERE id > ? AND (? IS NULL OR aggregate_type = ?) \
     AND (? IS NULL OR aggregate_id = ?) AND (? IS NULL OR actor_id = ?) ORDER BY id LIMIT ?";
const SELECT_PG: &str = "SELECT id, read_at, actor_id, actor_role, route, aggregate_type, \
     aggregate_id, as_of FROM access_log WHERE id > $1 AND ($2::text IS NULL OR aggregate_type = $2) \
     AND ($3::text IS NULL OR aggregate_id = $3) AND ($4::text IS NULL OR actor_id = $4) \
     ORDER BY id LIMIT $5";

type Row = (
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
);

/// Records one read. `Unavailable` on a store without SQL tables.
pub async fn record(store: &AnyStore, r: &AccessRecord<'_>) -> Result<(), AccessLogError> {
    let read_at = r.read_at.to_rfc3339_opts(SecondsFormat::Micros, true);
    if let Some(sqlite) = store.as_sqlite() {
        sqlx::query(INSERT_SQLITE)
            .bind(&read_at)
            .bind(r.actor_id)
            .bind(r.actor_role)
            .bind(r.route)
            .bind(r.aggregate_type)
            .bind(r.aggregate_id)
            .bind(r.as_of)
            .execute(sqlite.writer_pool())
            .await?;
        return Ok(());
    }
    if let Some(pg) = store.as_postgres() {
        sqlx::query(INSERT_PG)
            .bind(&read_at)
            .bind(r.actor_id)
            .bind(r.actor_role)
            .bind(r.route)
            .bind(r.aggregate_type)
            .bind(r.aggregate_id)
            .bind(r.as_of)
            .execute(pg.pool())
            .await?;
        return Ok(());
    }
    Err(AccessLogError::Unavailable)
}

/// The entries matching `filter`, oldest first.
pub async fn list(
    store: &AnyStore,
    filter: &AccessFilter,
) -> Result<Vec<AccessEntry>, AccessLogError> {
    let limit = i64::try_from(filter.limit.clamp(1, MAX_ENTRIES)).unwrap_or(1);
    let (t, i, a) = (
        filter.aggregate_type.as_deref(),
        filter.aggregate_id.as_deref(),
        filter.actor_id.as_deref(),
    );
    let rows: Vec<Row> = if let Some(sqlite) = store.as_sqlite() {
        sqlx::query_as(SELECT_SQLITE)
            .bind(filter.after)
            .bind(t)
            .bind(t)
            .bind(i)
            .bind(i)
            .bind(a)
            .bind(a)
            .bind(limit)
            .fetch_all(sqlite.reader_pool())
            .await?
    } else if let Some(pg) = store.as_postgres() {
        sqlx::query_as(SELECT_PG)
            .bind(filter.after)
            .bind(t)
            .bind(i)
            .bind(a)
            .bind(limit)
            .fetch_all(pg.pool())
            .await?
    } else {
        return Err(AccessLogError::Unavailable);
    };
    Ok(rows.into_iter().map(entry).collect())
}

fn entry(r: Row) -> AccessEntry {
    AccessEntry {
        id: r.0,
        read_at: r.1,
        actor_id: r.2,
        actor_role: r.3,
        route: r.4,
        aggregate_type: r.5,
        aggregate_id: r.6,
        as_of: r.7,
    }
}

/// Who runs the command line: the operating-system user, as the access
/// log's actor for `bangfu show` and `bangfu history`.
pub fn os_user() -> String {
    ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "unknown".to_string())
}
