//! [`SqliteViews`]: the views' rows and checkpoints in the event store's
//! SQLite file (migrations `0002_projections.sql`, `0011_view_log_positions.sql`).
//! With [`super::postgres`], the only code that knows the views' SQL.
//!
//! Writes go through the store's single writer connection, so a view commit
//! queues with event commits (SQLite has one writer anyway) and `BEGIN
//! IMMEDIATE` keeps another process out for the transaction. Reads use the
//! store's read-only pool. The SQL itself is portable (upserts with `ON
//! CONFLICT`, `IN` lists, `LEFT JOIN`/`UNION ALL`): [`super::PgViews`] runs
//! the same statements with PostgreSQL's placeholders.
//!
//! A log position is stored as two columns, `log_commit` (always 0 here:
//! SQLite's log is ordered by `position` alone) and `position`.

use std::collections::BTreeMap;

use projections::rows::{RowKey, RowKind};
use projections::{LogPosition, StoredRow, ViewName};
use sqlx::sqlite::{SqliteConnection, SqliteRow};
use sqlx::Row;

pub use super::Failpoint;
use super::{CommitBatch, Committed, Diff, ProjectorError, RowDiff, RowFilter, Space, ViewStore};
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

fn table(space: Space) -> &'static str {
    match space {
        Space::Live => "view_rows",
        Space::Scratch => "view_rows_scratch",
    }
}

fn storage(e: sqlx::Error) -> ProjectorError {
    ProjectorError::Storage(e.to_string())
}

fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

fn kinds_of(views: &[ViewName]) -> Vec<&'static str> {
    views
        .iter()
        .flat_map(|v| v.kinds().iter().map(|k| k.as_str()))
        .collect()
}

fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// A log position as the two BIGINT columns; one beyond `i64` is refused
/// rather than stored wrongly (no store issues one).
pub(crate) fn position_columns(p: LogPosition) -> Result<(i64, i64), ProjectorError> {
    match (i64::try_from(p.commit), i64::try_from(p.position)) {
        (Ok(commit), Ok(position)) => Ok((commit, position)),
        _ => Err(ProjectorError::Storage(format!(
            "log position {p} does not fit the views' BIGINT columns"
        ))),
    }
}

/// The two columns back as a log position.
pub(crate) fn log_position(commit: i64, position: i64) -> LogPosition {
    LogPosition {
        commit: to_u64(commit),
        position: to_u64(position),
    }
}

fn stored_row(row: &SqliteRow) -> Result<StoredRow, ProjectorError> {
    let kind: String = row.try_get("kind").map_err(storage)?;
    let kind = RowKind::parse(&kind)
        .ok_or_else(|| ProjectorError::Storage(format!("unknown view row kind `{kind}`")))?;
    Ok(StoredRow {
        kind,
        key: row.try_get("key").map_err(storage)?,
        parent: row.try_get("parent").map_err(storage)?,
        tag: row.try_get("tag").map_err(storage)?,
        doc: row.try_get("doc").map_err(storage)?,
        position: log_position(
            row.try_get("log_commit").map_err(storage)?,
            row.try_get("position").map_err(storage)?,
        ),
    })
}

async fn read_checkpoints(
    conn: &mut SqliteConnection,
    space: Space,
) -> Result<BTreeMap<ViewName, LogPosition>, ProjectorError> {
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT view, log_commit, position FROM projection_checkpoints WHERE space = ?",
    )
    .bind(space.as_str())
    .fetch_all(&mut *conn)
    .await
    .map_err(storage)?;
    let mut out: BTreeMap<ViewName, LogPosition> = ViewName::ALL
        .into_iter()
        .map(|v| (v, LogPosition::START))
        .collect();
    for (view, commit, position) in rows {
        // A checkpoint of a view this code does not know is left alone.
        if let Some(v) = ViewName::parse(&view) {
            out.insert(v, log_position(commit, position));
        }
    }
    Ok(out)
}

impl SqliteViews {
    async fn write(
        &self,
        conn: &mut SqliteConnection,
        space: Space,
        batch: &CommitBatch,
    ) -> Result<Committed, ProjectorError> {
        for m in &batch.checkpoints {
            let (to_commit, to) = position_columns(m.to)?;
            let (from_commit, from) = position_columns(m.from)?;
            // Insert the first checkpoint, or move it from the value read;
            // anything else means another projector committed first.
            let moved = sqlx::query(
                "INSERT INTO projection_checkpoints (space, view, log_commit, position)
                 VALUES (?, ?, ?, ?)
                 ON CONFLICT (space, view) DO UPDATE
                    SET log_commit = excluded.log_commit, position = excluded.position
                  WHERE projection_checkpoints.log_commit = ?
                    AND projection_checkpoints.position = ?",
            )
            .bind(space.as_str())
            .bind(m.view.as_str())
            .bind(to_commit)
            .bind(to)
            .bind(from_commit)
            .bind(from)
            .execute(&mut *conn)
            .await
            .map_err(storage)?;
            if moved.rows_affected() != 1 {
                return Ok(Committed::Conflict);
            }
        }
        let sql_head = format!(
            "INSERT INTO {} (kind, key, parent, tag, doc, log_commit, position) VALUES ",
            table(space)
        );
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
                let (commit, position) = position_columns(r.position)?;
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
        read_checkpoints(&mut conn, space).await
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
                    "SELECT kind, key, parent, tag, doc, log_commit, position FROM {}
                      WHERE kind = ? AND key IN ({})",
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
        let mut tx = self
            .store
            .writer_pool()
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(storage)?;
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
        let kinds = kinds_of(views);
        let mut tx = self
            .store
            .writer_pool()
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(storage)?;
        let sql = format!(
            "DELETE FROM {} WHERE kind IN ({})",
            table(space),
            placeholders(kinds.len())
        );
        let mut query = sqlx::query(&sql);
        for k in &kinds {
            query = query.bind(*k);
        }
        query.execute(&mut *tx).await.map_err(storage)?;
        for v in views {
            sqlx::query(
                "INSERT INTO projection_checkpoints (space, view, log_commit, position)
                 VALUES (?, ?, 0, 0)
                 ON CONFLICT (space, view) DO UPDATE SET log_commit = 0, position = 0",
            )
            .bind(space.as_str())
            .bind(v.as_str())
            .execute(&mut *tx)
            .await
            .map_err(storage)?;
        }
        tx.commit().await.map_err(storage)
    }

    async fn promote(&self, views: &[ViewName]) -> Result<(), ProjectorError> {
        if views.is_empty() {
            return Ok(());
        }
        let kinds = kinds_of(views);
        let list = placeholders(kinds.len());
        let mut tx = self
            .store
            .writer_pool()
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(storage)?;
        for sql in [
            format!("DELETE FROM view_rows WHERE kind IN ({list})"),
            format!(
                "INSERT INTO view_rows (kind, key, parent, tag, doc, log_commit, position)
                 SELECT kind, key, parent, tag, doc, log_commit, position FROM view_rows_scratch
                  WHERE kind IN ({list})"
            ),
            format!("DELETE FROM view_rows_scratch WHERE kind IN ({list})"),
        ] {
            let mut query = sqlx::query(&sql);
            for k in &kinds {
                query = query.bind(*k);
            }
            query.execute(&mut *tx).await.map_err(storage)?;
        }
        let scratch = read_checkpoints(&mut tx, Space::Scratch).await?;
        for v in views {
            for (space, position) in [
                (Space::Live, scratch.get(v).copied().unwrap_or_default()),
                (Space::Scratch, LogPosition::START),
            ] {
                let (commit, position) = position_columns(position)?;
                sqlx::query(
                    "INSERT INTO projection_checkpoints (space, view, log_commit, position)
                     VALUES (?, ?, ?, ?)
                     ON CONFLICT (space, view) DO UPDATE
                        SET log_commit = excluded.log_commit, position = excluded.position",
                )
                .bind(space.as_str())
                .bind(v.as_str())
                .bind(commit)
                .bind(position)
                .execute(&mut *tx)
                .await
                .map_err(storage)?;
            }
        }
        tx.commit().await.map_err(storage)
    }

    async fn row(
        &self,
        space: Space,
        kind: RowKind,
        key: &str,
    ) -> Result<Option<StoredRow>, ProjectorError> {
        let sql = format!(
            "SELECT kind, key, parent, tag, doc, log_commit, position FROM {}
              WHERE kind = ? AND key = ?",
            table(space)
        );
        let row = sqlx::query(&sql)
            .bind(kind.as_str())
            .bind(key)
            .fetch_optional(self.store.reader_pool())
            .await
            .map_err(storage)?;
        row.as_ref().map(stored_row).transpose()
    }

    async fn list(
        &self,
        space: Space,
        kind: RowKind,
        filter: &RowFilter,
        after_key: Option<&str>,
        limit: usize,
    ) -> Result<Vec<StoredRow>, ProjectorError> {
        let mut sql = format!(
            "SELECT kind, key, parent, tag, doc, log_commit, position FROM {} WHERE kind = ?",
            table(space)
        );
        if filter.parent.is_some() {
            sql.push_str(" AND parent = ?");
        }
        if filter.tag.is_some() {
            sql.push_str(" AND tag = ?");
        }
        if after_key.is_some() {
            sql.push_str(" AND key > ?");
        }
        sql.push_str(" ORDER BY key LIMIT ?");
        let mut query = sqlx::query(&sql).bind(kind.as_str());
        if let Some(p) = &filter.parent {
            query = query.bind(p);
        }
        if let Some(t) = &filter.tag {
            query = query.bind(t);
        }
        if let Some(k) = after_key {
            query = query.bind(k);
        }
        let limit = i64::try_from(limit.clamp(1, 10_000)).unwrap_or(1);
        let rows = query
            .bind(limit)
            .fetch_all(self.store.reader_pool())
            .await
            .map_err(storage)?;
        rows.iter().map(stored_row).collect()
    }

    async fn diff(&self, views: &[ViewName], limit: usize) -> Result<Diff, ProjectorError> {
        let kinds = kinds_of(views);
        let list = placeholders(kinds.len());
        // One read transaction: checkpoints and rows from the same snapshot.
        let mut tx = self.store.reader_pool().begin().await.map_err(storage)?;
        let live = read_checkpoints(&mut tx, Space::Live).await?;
        let scratch = read_checkpoints(&mut tx, Space::Scratch).await?;
        let differing = format!(
            "SELECT l.kind AS kind, l.key AS key, l.doc AS live_doc,
                    l.log_commit AS live_commit, l.position AS live_position,
                    s.doc AS scratch_doc, s.log_commit AS scratch_commit,
                    s.position AS scratch_position
               FROM view_rows l
               LEFT JOIN view_rows_scratch s ON s.kind = l.kind AND s.key = l.key
              WHERE l.kind IN ({list})
                AND (s.key IS NULL OR s.doc <> l.doc OR s.parent <> l.parent
                     OR s.tag <> l.tag OR s.log_commit <> l.log_commit
                     OR s.position <> l.position)
             UNION ALL
             SELECT s.kind, s.key, NULL, NULL, NULL, s.doc, s.log_commit, s.position
               FROM view_rows_scratch s
               LEFT JOIN view_rows l ON l.kind = s.kind AND l.key = s.key
              WHERE s.kind IN ({list}) AND l.key IS NULL"
        );
        let count_sql = format!("SELECT COUNT(*) AS n FROM ({differing}) d");
        let mut count = sqlx::query(&count_sql);
        for _ in 0..2 {
            for k in &kinds {
                count = count.bind(*k);
            }
        }
        let total: i64 = count
            .fetch_one(&mut *tx)
            .await
            .map_err(storage)?
            .try_get("n")
            .map_err(storage)?;
        let rows_sql = format!("{differing} ORDER BY 1, 2 LIMIT ?");
        let mut rows = sqlx::query(&rows_sql);
        for _ in 0..2 {
            for k in &kinds {
                rows = rows.bind(*k);
            }
        }
        let limit_i = i64::try_from(limit).unwrap_or(i64::MAX);
        let found = rows
            .bind(limit_i)
            .fetch_all(&mut *tx)
            .await
            .map_err(storage)?;
        tx.rollback().await.map_err(storage)?;
        let mut named = Vec::with_capacity(found.len());
        for r in &found {
            let side = |d: &str,
                        c: &str,
                        p: &str|
             -> Result<Option<(String, LogPosition)>, ProjectorError> {
                let doc: Option<String> = r.try_get(d).map_err(storage)?;
                let commit: Option<i64> = r.try_get(c).map_err(storage)?;
                let position: Option<i64> = r.try_get(p).map_err(storage)?;
                Ok(doc.map(|d| (d, log_position(commit.unwrap_or(0), position.unwrap_or(0)))))
            };
            named.push(RowDiff {
                kind: r.try_get("kind").map_err(storage)?,
                key: r.try_get("key").map_err(storage)?,
                live: side("live_doc", "live_commit", "live_position")?,
                rebuilt: side("scratch_doc", "scratch_commit", "scratch_position")?,
            });
        }
        let views_set: Vec<ViewName> = views.to_vec();
        let pick = |m: BTreeMap<ViewName, LogPosition>| -> BTreeMap<ViewName, LogPosition> {
            m.into_iter()
                .filter(|(v, _)| views_set.contains(v))
                .collect()
        };
        Ok(Diff {
            live: pick(live),
            scratch: pick(scratch),
            omitted: to_u64(total).saturating_sub(u64::try_from(named.len()).unwrap_or(0)),
            rows: named,
        })
    }
}
