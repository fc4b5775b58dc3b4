//! [`PgViews`]: the views' rows and checkpoints in the PostgreSQL database
//! that holds the events (migration `postgres/0002_projections.sql`), so a
//! view's rows and its checkpoint commit in one transaction — issue 4's
//! "events, snapshots, views and checkpoints in PostgreSQL".
//!
//! The same tables as [`super::SqliteViews`], and the same statements where
//! they can be ([`super::sql`]); PostgreSQL's own are rows loaded and written
//! through arrays (`= ANY`, `unnest`) instead of long `IN` lists, and these
//! differences, each for a reason:
//!
//! - **Checkpoints move under a row lock.** SQLite has one writer; here two
//!   projectors (two processes) commit concurrently. Each commit first moves
//!   its checkpoints with `INSERT … ON CONFLICT DO UPDATE … WHERE (log_commit,
//!   position) = <value read>`: the second projector blocks on the first's
//!   row lock, then PostgreSQL re-checks the `WHERE` against the committed
//!   row, finds it moved, updates nothing, and the commit is a
//!   [`Committed::Conflict`] — nothing applied twice. Checkpoints are
//!   written *before* rows (in every transaction here, `reset` and `promote`
//!   included) so that transactions touching the same views always lock in
//!   the same order and never deadlock on rows; a deadlock or serialization
//!   failure reported anyway is treated as a lost race, not an error.
//! - **Positions have a commit part**: the writing transaction's id
//!   (`xid8`), kept in `log_commit` beside `position`, because PostgreSQL's
//!   log is ordered by `(transaction id, position)` (see `EventStore::read_all` on `PgStore`).
//! - **The comparison reads one snapshot** (`REPEATABLE READ, READ ONLY`),
//!   as SQLite's read transaction does.

use std::collections::BTreeMap;

use projections::rows::{RowKey, RowKind};
use projections::{LogPosition, StoredRow, ViewName};
use sqlx::postgres::PgConnection;
use sqlx::Postgres;

use super::sql::{position_columns, storage, stored_row, table, Moved, Views, ROW_COLUMNS};
use super::{CommitBatch, Committed, Diff, Failpoint, ProjectorError, RowFilter, Space, ViewStore};
use crate::store::PgStore;

/// Keys per `= ANY($n)` array: bounds one statement's size.
const KEYS_PER_QUERY: usize = 1_000;
/// Rows per `INSERT … SELECT FROM unnest(…)`.
const ROWS_PER_INSERT: usize = 1_000;

/// The views of one PostgreSQL event store, in its database.
#[derive(Clone)]
pub struct PgViews {
    store: PgStore,
    failpoint: Option<Failpoint>,
}

impl std::fmt::Debug for PgViews {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgViews")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl PgViews {
    /// The views stored in `store`'s database.
    pub fn new(store: PgStore) -> PgViews {
        PgViews {
            store,
            failpoint: None,
        }
    }

    /// Injects `failpoint` into every commit (tests of crash safety only).
    pub fn with_failpoint(self, failpoint: Failpoint) -> PgViews {
        PgViews {
            failpoint: Some(failpoint),
            ..self
        }
    }
}

/// A deadlock or serialization failure: another transaction won; retry.
fn lost_race(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.code())
        .is_some_and(|code| code == "40P01" || code == "40001")
}

/// What a commit's statements ended in.
enum Outcome {
    Done,
    Conflict,
    Failed(ProjectorError),
}

impl PgViews {
    async fn write(
        &self,
        conn: &mut PgConnection,
        space: Space,
        batch: &CommitBatch,
    ) -> Result<Outcome, sqlx::Error> {
        match Views::<Postgres>::move_checkpoints(conn, space, &batch.checkpoints).await? {
            Moved::Done => {}
            Moved::Conflict => return Ok(Outcome::Conflict),
            Moved::Failed(e) => return Ok(Outcome::Failed(e)),
        }
        let sql = format!(
            "INSERT INTO {} ({ROW_COLUMNS})
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[],
                                  $5::text[], $6::bigint[], $7::bigint[])
             ON CONFLICT (kind, key) DO UPDATE
                SET parent = excluded.parent, tag = excluded.tag, doc = excluded.doc,
                    log_commit = excluded.log_commit, position = excluded.position",
            table(space)
        );
        for chunk in batch.rows.chunks(ROWS_PER_INSERT) {
            let mut commits = Vec::with_capacity(chunk.len());
            let mut positions = Vec::with_capacity(chunk.len());
            for r in chunk {
                match position_columns(r.position) {
                    Ok((c, p)) => {
                        commits.push(c);
                        positions.push(p);
                    }
                    Err(e) => return Ok(Outcome::Failed(e)),
                }
            }
            sqlx::query(&sql)
                .bind(chunk.iter().map(|r| r.kind.as_str()).collect::<Vec<_>>())
                .bind(chunk.iter().map(|r| r.key.as_str()).collect::<Vec<_>>())
                .bind(chunk.iter().map(|r| r.parent.as_str()).collect::<Vec<_>>())
                .bind(chunk.iter().map(|r| r.tag.as_str()).collect::<Vec<_>>())
                .bind(chunk.iter().map(|r| r.doc.as_str()).collect::<Vec<_>>())
                .bind(commits)
                .bind(positions)
                .execute(&mut *conn)
                .await?;
        }
        if let Some(fail) = &self.failpoint {
            if let Err(e) = fail(batch) {
                return Ok(Outcome::Failed(ProjectorError::Injected(e)));
            }
        }
        Ok(Outcome::Done)
    }
}

#[async_trait::async_trait]
impl ViewStore for PgViews {
    async fn checkpoints(
        &self,
        space: Space,
    ) -> Result<BTreeMap<ViewName, LogPosition>, ProjectorError> {
        let mut conn = self.store.pool().acquire().await.map_err(storage)?;
        Views::<Postgres>::checkpoints(&mut conn, space).await
    }

    async fn load(&self, space: Space, keys: &[RowKey]) -> Result<Vec<StoredRow>, ProjectorError> {
        let mut by_kind: BTreeMap<RowKind, Vec<&str>> = BTreeMap::new();
        for k in keys {
            by_kind.entry(k.kind).or_default().push(k.key.as_str());
        }
        let sql = format!(
            "SELECT {ROW_COLUMNS} FROM {} WHERE kind = $1 AND key = ANY($2::text[])",
            table(space)
        );
        let mut out = Vec::with_capacity(keys.len());
        let mut conn = self.store.pool().acquire().await.map_err(storage)?;
        for (kind, keys) in by_kind {
            for chunk in keys.chunks(KEYS_PER_QUERY) {
                let rows = sqlx::query(&sql)
                    .bind(kind.as_str())
                    .bind(chunk)
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(storage)?;
                for row in &rows {
                    out.push(stored_row(row)?);
                }
            }
        }
        Ok(out)
    }

    async fn commit(&self, space: Space, batch: &CommitBatch) -> Result<Committed, ProjectorError> {
        let mut tx = self.store.pool().begin().await.map_err(storage)?;
        let outcome = match self.write(&mut tx, space, batch).await {
            Ok(outcome) => outcome,
            Err(e) if lost_race(&e) => Outcome::Conflict,
            Err(e) => Outcome::Failed(storage(e)),
        };
        match outcome {
            Outcome::Done => match tx.commit().await {
                Ok(()) => Ok(Committed::Done),
                Err(e) if lost_race(&e) => Ok(Committed::Conflict),
                Err(e) => Err(storage(e)),
            },
            other => {
                if let Err(e) = tx.rollback().await {
                    tracing::warn!(error = %e, "view rollback failed");
                }
                match other {
                    Outcome::Failed(e) => Err(e),
                    _ => Ok(Committed::Conflict),
                }
            }
        }
    }

    async fn reset(&self, space: Space, views: &[ViewName]) -> Result<(), ProjectorError> {
        if views.is_empty() {
            return Ok(());
        }
        let mut tx = self.store.pool().begin().await.map_err(storage)?;
        Views::<Postgres>::reset(&mut tx, space, views).await?;
        tx.commit().await.map_err(storage)
    }

    async fn promote(&self, views: &[ViewName]) -> Result<(), ProjectorError> {
        if views.is_empty() {
            return Ok(());
        }
        let mut tx = self.store.pool().begin().await.map_err(storage)?;
        Views::<Postgres>::promote(&mut tx, views).await?;
        tx.commit().await.map_err(storage)
    }

    async fn row(
        &self,
        space: Space,
        kind: RowKind,
        key: &str,
    ) -> Result<Option<StoredRow>, ProjectorError> {
        Views::<Postgres>::row(self.store.pool(), space, kind, key).await
    }

    async fn list(
        &self,
        space: Space,
        kind: RowKind,
        filter: &RowFilter,
        after_key: Option<&str>,
        limit: usize,
    ) -> Result<Vec<StoredRow>, ProjectorError> {
        let pool = self.store.pool();
        Views::<Postgres>::list(pool, space, kind, filter, after_key, limit).await
    }

    /// One snapshot (`REPEATABLE READ`): checkpoints and rows as of the
    /// same moment.
    async fn diff(&self, views: &[ViewName], limit: usize) -> Result<Diff, ProjectorError> {
        let mut tx = self.store.pool().begin().await.map_err(storage)?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await
            .map_err(storage)?;
        let diff = Views::<Postgres>::diff(&mut tx, views, limit).await?;
        tx.rollback().await.map_err(storage)?;
        Ok(diff)
    }
}
