//! [`PgViews`]: the views' rows and checkpoints in the PostgreSQL database
//! that holds the events (migration `postgres/0002_projections.sql`), so a
//! view's rows and its checkpoint commit in one transaction — issue 4's
//! "events, snapshots, views and checkpoints in PostgreSQL".
//!
//! The same tables and statements as [`super::SqliteViews`], with
//! PostgreSQL's placeholders, arrays instead of long `IN` lists, and these
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
//!   log is ordered by `(transaction id, position)` (see `PgStore::read_all`).
//! - **The comparison reads one snapshot** (`REPEATABLE READ, READ ONLY`),
//!   as SQLite's read transaction does.

use std::collections::BTreeMap;

use projections::rows::{RowKey, RowKind};
use projections::{LogPosition, StoredRow, ViewName};
use sqlx::postgres::{PgConnection, PgRow};
use sqlx::Row;

use super::sqlite::{log_position, position_columns};
use super::{
    CommitBatch, Committed, Diff, Failpoint, ProjectorError, RowDiff, RowFilter, Space, ViewStore,
};
use crate::store::PgStore;

/// Keys per `= ANY($n)` array: bounds one statement's size.
const KEYS_PER_QUERY: usize = 1_000;
/// Rows per `INSERT … SELECT FROM unnest(…)`.
const ROWS_PER_INSERT: usize = 1_000;
/// Most rows one `list` returns.
const MAX_LIST: usize = 10_000;

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

fn table(space: Space) -> &'static str {
    match space {
        Space::Live => "view_rows",
        Space::Scratch => "view_rows_scratch",
    }
}

fn storage(e: sqlx::Error) -> ProjectorError {
    ProjectorError::Storage(e.to_string())
}

/// A deadlock or serialization failure: another transaction won; retry.
fn lost_race(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.code())
        .is_some_and(|code| code == "40P01" || code == "40001")
}

fn kinds_of(views: &[ViewName]) -> Vec<String> {
    views
        .iter()
        .flat_map(|v| v.kinds().iter().map(|k| k.as_str().to_string()))
        .collect()
}

const ROW_COLUMNS: &str = "kind, key, parent, tag, doc, log_commit, position";

fn stored_row(row: &PgRow) -> Result<StoredRow, ProjectorError> {
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
    conn: &mut PgConnection,
    space: Space,
) -> Result<BTreeMap<ViewName, LogPosition>, ProjectorError> {
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT view, log_commit, position FROM projection_checkpoints WHERE space = $1",
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

/// Sets a checkpoint whatever its value (reset, promote).
async fn set_checkpoint(
    conn: &mut PgConnection,
    space: Space,
    view: ViewName,
    to: LogPosition,
) -> Result<(), ProjectorError> {
    let (commit, position) = position_columns(to)?;
    sqlx::query(
        "INSERT INTO projection_checkpoints (space, view, log_commit, position)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (space, view) DO UPDATE
            SET log_commit = excluded.log_commit, position = excluded.position",
    )
    .bind(space.as_str())
    .bind(view.as_str())
    .bind(commit)
    .bind(position)
    .execute(&mut *conn)
    .await
    .map_err(storage)?;
    Ok(())
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
        for m in &batch.checkpoints {
            let ((to_commit, to), (from_commit, from)) =
                match (position_columns(m.to), position_columns(m.from)) {
                    (Ok(to), Ok(from)) => (to, from),
                    (Err(e), _) | (_, Err(e)) => return Ok(Outcome::Failed(e)),
                };
            // Insert the first checkpoint, or move it from the value read;
            // anything else means another projector committed first.
            let moved = sqlx::query(
                "INSERT INTO projection_checkpoints (space, view, log_commit, position)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (space, view) DO UPDATE
                    SET log_commit = excluded.log_commit, position = excluded.position
                  WHERE projection_checkpoints.log_commit = $5
                    AND projection_checkpoints.position = $6",
            )
            .bind(space.as_str())
            .bind(m.view.as_str())
            .bind(to_commit)
            .bind(to)
            .bind(from_commit)
            .bind(from)
            .execute(&mut *conn)
            .await?;
            if moved.rows_affected() != 1 {
                return Ok(Outcome::Conflict);
            }
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
        read_checkpoints(&mut conn, space).await
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
        // Checkpoints first: the lock order every transaction here keeps.
        for v in views {
            set_checkpoint(&mut tx, space, *v, LogPosition::START).await?;
        }
        sqlx::query(&format!(
            "DELETE FROM {} WHERE kind = ANY($1::text[])",
            table(space)
        ))
        .bind(kinds_of(views))
        .execute(&mut *tx)
        .await
        .map_err(storage)?;
        tx.commit().await.map_err(storage)
    }

    async fn promote(&self, views: &[ViewName]) -> Result<(), ProjectorError> {
        if views.is_empty() {
            return Ok(());
        }
        let kinds = kinds_of(views);
        let mut tx = self.store.pool().begin().await.map_err(storage)?;
        let scratch = read_checkpoints(&mut tx, Space::Scratch).await?;
        // Checkpoints first (lock order). A live projector that read the old
        // live checkpoint finds it moved when it commits, and retries on top
        // of the promoted rows.
        for v in views {
            let built = scratch.get(v).copied().unwrap_or_default();
            set_checkpoint(&mut tx, Space::Live, *v, built).await?;
            set_checkpoint(&mut tx, Space::Scratch, *v, LogPosition::START).await?;
        }
        for sql in [
            "DELETE FROM view_rows WHERE kind = ANY($1::text[])".to_string(),
            format!(
                "INSERT INTO view_rows ({ROW_COLUMNS})
                 SELECT {ROW_COLUMNS} FROM view_rows_scratch WHERE kind = ANY($1::text[])"
            ),
            "DELETE FROM view_rows_scratch WHERE kind = ANY($1::text[])".to_string(),
        ] {
            sqlx::query(&sql)
                .bind(&kinds)
                .execute(&mut *tx)
                .await
                .map_err(storage)?;
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
            "SELECT {ROW_COLUMNS} FROM {} WHERE kind = $1 AND key = $2",
            table(space)
        );
        let row = sqlx::query(&sql)
            .bind(kind.as_str())
            .bind(key)
            .fetch_optional(self.store.pool())
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
        let mut sql = format!("SELECT {ROW_COLUMNS} FROM {} WHERE kind = $1", table(space));
        let mut n = 1;
        let mut next = || {
            n += 1;
            n
        };
        if filter.parent.is_some() {
            sql.push_str(&format!(" AND parent = ${}", next()));
        }
        if filter.tag.is_some() {
            sql.push_str(&format!(" AND tag = ${}", next()));
        }
        if after_key.is_some() {
            sql.push_str(&format!(" AND key > ${}", next()));
        }
        sql.push_str(&format!(" ORDER BY key LIMIT ${}", next()));
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
        let limit = i64::try_from(limit.clamp(1, MAX_LIST)).unwrap_or(1);
        let rows = query
            .bind(limit)
            .fetch_all(self.store.pool())
            .await
            .map_err(storage)?;
        rows.iter().map(stored_row).collect()
    }

    async fn diff(&self, views: &[ViewName], limit: usize) -> Result<Diff, ProjectorError> {
        let kinds = kinds_of(views);
        // One snapshot: checkpoints and rows as of the same moment.
        let mut tx = self.store.pool().begin().await.map_err(storage)?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await
            .map_err(storage)?;
        let live = read_checkpoints(&mut tx, Space::Live).await?;
        let scratch = read_checkpoints(&mut tx, Space::Scratch).await?;
        let differing = "SELECT l.kind AS kind, l.key AS key, l.doc AS live_doc,
                    l.log_commit AS live_commit, l.position AS live_position,
                    s.doc AS scratch_doc, s.log_commit AS scratch_commit,
                    s.position AS scratch_position
               FROM view_rows l
               LEFT JOIN view_rows_scratch s ON s.kind = l.kind AND s.key = l.key
              WHERE l.kind = ANY($1::text[])
                AND (s.key IS NULL OR s.doc <> l.doc OR s.parent <> l.parent
                     OR s.tag <> l.tag OR s.log_commit <> l.log_commit
                     OR s.position <> l.position)
             UNION ALL
             SELECT s.kind, s.key, NULL, NULL, NULL, s.doc, s.log_commit, s.position
               FROM view_rows_scratch s
               LEFT JOIN view_rows l ON l.kind = s.kind AND l.key = s.key
              WHERE s.kind = ANY($1::text[]) AND l.key IS NULL";
        let total: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM ({differing}) d"))
            .bind(&kinds)
            .fetch_one(&mut *tx)
            .await
            .map_err(storage)?;
        let found = sqlx::query(&format!("{differing} ORDER BY 1, 2 LIMIT $2"))
            .bind(&kinds)
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
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
        let pick = |m: BTreeMap<ViewName, LogPosition>| -> BTreeMap<ViewName, LogPosition> {
            m.into_iter().filter(|(v, _)| views.contains(v)).collect()
        };
        Ok(Diff {
            live: pick(live),
            scratch: pick(scratch),
            omitted: u64::try_from(total)
                .unwrap_or(0)
                .saturating_sub(u64::try_from(named.len()).unwrap_or(0)),
            rows: named,
        })
    }
}
