//! [`SqliteViews`]: the views' rows and checkpoints in the event store's
//! SQLite file (migrations `0002_projections.sql`, `0011_view_log_positions.sql`).
//! With [`super::postgres`], the only code that knows the views' SQL.
//!
//! Writes go through the store's single writer connection, so a view commit
//! queues with event commits (SQLite has one writer anyway) and `BEGIN
//! IMMEDIATE` keeps another process out for the transaction. Reads use the
//! store's read-only pool. The statements SQLite shares with
//! [`super::PgViews`] are in [`super::sql`]; here are SQLite's own: rows
//! loaded with `IN` lists and written with multi-row `VALUES`.
//!
//! A log position is stored as two columns, `log_commit` (always 0 here:
//! SQLite's log is ordered by `position` alone) and `position`.

use std::collections::BTreeMap;

use projections::rows::{RowKey, RowKind};
use projections::{LogPosition, StoredRow, ViewName};
use sqlx::sqlite::SqliteConnection;
use sqlx::Sqlite;

use super::sql::{storage, stored_row, table, Moved, Views, ROW_COLUMNS};
pub use super::Failpoint;
use super::{CommitBatch, Committed, Diff, ProjectorError, RowFilter, Space, ViewStore};
use crate::store::SqliteStore;

/// Keys per `IN (…)` list, well under SQLite's bound-parameter limit.
const KEYS_PER_QUERY: usize = 400;
/// Rows per multi-row `INSERT` (7 parameters each).
const ROWS_PER_INSERT: usize = 100;

/// The views of one SQLite event store.
#[derive(Clone)]
pub struct SqliteViews {
    store: SqliteStore,
    failpoint: Option<Failpoint>,
}

impl std::fmt::Debug for SqliteViews {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteViews")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl SqliteViews {
    /// The views stored in `store`'s file.
    pub fn new(store: SqliteStore) -> SqliteViews {
        SqliteViews {
            store,
            failpoint: None,
        }
    }

    /// Injects `failpoint` into every commit (tests of crash safety only).
    pub fn with_failpoint(self, failpoint: Failpoint) -> SqliteViews {
        SqliteViews {
            failpoint: Some(failpoint),
            ..self
        }
    }
}

fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

impl SqliteViews {
    /// A write transaction on the store's writer connection: it queues with
    /// event commits, and `BEGIN IMMEDIATE` keeps other processes out.
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, Sqlite>, ProjectorError> {
        self.store
            .writer_pool()
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(storage)
    }

    async fn write(
        &self,
        conn: &mut SqliteConnection,
        space: Space,
        batch: &CommitBatch,
    ) -> Result<Committed, ProjectorError> {
        match Views::<Sqlite>::move_checkpoints(conn, space, &batch.checkpoints)
            .await
            .map_err(storage)?
        {
            Moved::Done => {}
            Moved::Conflict => return Ok(Committed::Conflict),
            Moved::Failed(e) => return Err(e),
        }
        let sql_head = format!("INSERT INTO {} ({ROW_COLUMNS}) VALUES ", table(space));
        for chunk in batch.rows.chunks(ROWS_PER_INSERT) {
            let values = vec!["(?, ?, ?, ?, ?, ?, ?)"; chunk.len()].join(", ");
            let sql = format!(
                "{sql_head}{values}
                 ON CONFLICT (kind, key) DO UPDATE
                    SET parent = excluded.parent, tag = excluded.tag, doc = excluded.doc,
                        log_commit = excluded.log_commit, position = excluded.position"
            );
            let mut query = sqlx::query(&sql);
            for r in chunk {
                let (commit, position) = super::sql::position_columns(r.position)?;
                query = query
                    .bind(r.kind.as_str())
                    .bind(&r.key)
                    .bind(&r.parent)
                    .bind(&r.tag)
                    .bind(&r.doc)
                    .bind(commit)
                    .bind(position);
            }
            query.execute(&mut *conn).await.map_err(storage)?;
        }
        if let Some(fail) = &self.failpoint {
            fail(batch).map_err(ProjectorError::Injected)?;
        }
        Ok(Committed::Done)
    }
}

#[async_trait::async_trait]
impl ViewStore for SqliteViews {
    async fn checkpoints(
        &self,
        space: Space,
    ) -> Result<BTreeMap<ViewName, LogPosition>, ProjectorError> {
        let mut conn = self.store.reader_pool().acquire().await.map_err(storage)?;
        Views::<Sqlite>::checkpoints(&mut conn, space).await
    }

    async fn load(&self, space: Space, keys: &[RowKey]) -> Result<Vec<StoredRow>, ProjectorError> {
        let mut by_kind: BTreeMap<RowKind, Vec<&str>> = BTreeMap::new();
        for k in keys {
            by_kind.entry(k.kind).or_default().push(k.key.as_str());
        }
        let mut out = Vec::with_capacity(keys.len());
        let mut conn = self.store.reader_pool().acquire().await.map_err(storage)?;
        for (kind, keys) in by_kind {
            for chunk in keys.chunks(KEYS_PER_QUERY) {
                let sql = format!(
                    "SELECT {ROW_COLUMNS} FROM {} WHERE kind = ? AND key IN ({})",
                    table(space),
                    placeholders(chunk.len())
                );
                let mut query = sqlx::query(&sql).bind(kind.as_str());
                for key in chunk {
                    query = query.bind(*key);
                }
                for row in query.fetch_all(&mut *conn).await.map_err(storage)? {
                    out.push(stored_row(&row)?);
                }
            }
        }
        Ok(out)
    }

    async fn commit(&self, space: Space, batch: &CommitBatch) -> Result<Committed, ProjectorError> {
        let mut tx = self.begin_write().await?;
        match self.write(&mut tx, space, batch).await {
            Ok(Committed::Done) => {
                tx.commit().await.map_err(storage)?;
                Ok(Committed::Done)
            }
            other => {
                if let Err(e) = tx.rollback().await {
                    tracing::warn!(error = %e, "view rollback failed");
                }
                other
            }
        }
    }

    async fn reset(&self, space: Space, views: &[ViewName]) -> Result<(), ProjectorError> {
        if views.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        Views::<Sqlite>::reset(&mut tx, space, views).await?;
        tx.commit().await.map_err(storage)
    }

    async fn promote(&self, views: &[ViewName]) -> Result<(), ProjectorError> {
        if views.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        Views::<Sqlite>::promote(&mut tx, views).await?;
        tx.commit().await.map_err(storage)
    }

    async fn row(
        &self,
        space: Space,
        kind: RowKind,
        key: &str,
    ) -> Result<Option<StoredRow>, ProjectorError> {
        Views::<Sqlite>::row(self.store.reader_pool(), space, kind, key).await
    }

    async fn list(
        &self,
        space: Space,
        kind: RowKind,
        filter: &RowFilter,
        after_key: Option<&str>,
        limit: usize,
    ) -> Result<Vec<StoredRow>, ProjectorError> {
        let pool = self.store.reader_pool();
        Views::<Sqlite>::list(pool, space, kind, filter, after_key, limit).await
    }

    /// In one read transaction: checkpoints and rows from the same snapshot.
    async fn diff(&self, views: &[ViewName], limit: usize) -> Result<Diff, ProjectorError> {
        let mut tx = self.store.reader_pool().begin().await.map_err(storage)?;
        let diff = Views::<Sqlite>::diff(&mut tx, views, limit).await?;
        tx.rollback().await.map_err(storage)?;
        Ok(diff)
    }
}
