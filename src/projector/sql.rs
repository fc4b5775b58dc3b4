//! The views' SQL that SQLite and PostgreSQL share, written once, generic
//! over `sqlx::Database`: checkpoints (read, moved from the value read, set),
//! one row, a page of rows, `reset`, `promote` and the live/scratch
//! comparison `projections verify` runs.
//!
//! Statements use `?` placeholders, numbered for PostgreSQL by the store's
//! [`Dialect`]; a list of view kinds is bound as one JSON array
//! ([`ViewDialect::KINDS_IN`]). What stays in [`super::sqlite`] and
//! [`super::postgres`] is really theirs: loading and writing rows in bulk
//! (SQLite's `IN` lists and multi-row `VALUES`, PostgreSQL's arrays and
//! `unnest`), how a transaction begins (SQLite's `BEGIN IMMEDIATE` on the one
//! writer connection, PostgreSQL's snapshot isolation for the comparison)
//! and PostgreSQL's lost races (a deadlock or serialization failure).

use std::collections::BTreeMap;
use std::marker::PhantomData;

use projections::rows::RowKind;
use projections::{LogPosition, StoredRow, ViewName};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Pool, Row, Type};

use super::{CheckpointMove, Diff, ProjectorError, RowDiff, RowFilter, Space};
use crate::store::Dialect;

/// Most rows one `list` returns.
const MAX_LIST: usize = 10_000;

/// The view statements' dialect: how a list of kinds is matched.
pub(crate) trait ViewDialect: Dialect {
    /// `IN (…)` over the elements of one JSON array parameter.
    const KINDS_IN: &'static str;
}

impl ViewDialect for sqlx::Sqlite {
    const KINDS_IN: &'static str = "IN (SELECT value FROM json_each(?))";
}

impl ViewDialect for sqlx::Postgres {
    const KINDS_IN: &'static str = "IN (SELECT json_array_elements_text(CAST(? AS json)))";
}

/// The live or scratch table.
pub(crate) fn table(space: Space) -> &'static str {
    match space {
        Space::Live => "view_rows",
        Space::Scratch => "view_rows_scratch",
    }
}

pub(crate) fn storage(e: sqlx::Error) -> ProjectorError {
    ProjectorError::Storage(e.to_string())
}

/// The row kinds of `views`.
pub(crate) fn kinds_of(views: &[ViewName]) -> Vec<&'static str> {
    views
        .iter()
        .flat_map(|v| v.kinds().iter().map(|k| k.as_str()))
        .collect()
}

/// The row kinds of `views` as the JSON array [`ViewDialect::KINDS_IN`] binds.
fn kinds_json(views: &[ViewName]) -> String {
    serde_json::Value::from(kinds_of(views)).to_string()
}

/// The columns of a view row, in [`stored_row`]'s order.
pub(crate) const ROW_COLUMNS: &str = "kind, key, parent, tag, doc, log_commit, position";

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
        commit: u64::try_from(commit).unwrap_or(0),
        position: u64::try_from(position).unwrap_or(0),
    }
}

/// A row of [`ROW_COLUMNS`].
pub(crate) fn stored_row<'r, R>(row: &'r R) -> Result<StoredRow, ProjectorError>
where
    R: Row,
    &'r str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
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

/// What a commit's checkpoint moves ended in.
pub(crate) enum Moved {
    /// Every checkpoint moved.
    Done,
    /// One had moved on: another projector committed first.
    Conflict,
    /// A position that does not fit the columns.
    Failed(ProjectorError),
}

/// The shared view statements, for one database `DB` (`Views::<Sqlite>::…`).
pub(crate) struct Views<DB>(PhantomData<DB>);

impl<DB> Views<DB>
where
    DB: ViewDialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB>,
    for<'q> i64: Encode<'q, DB>,
    for<'r> String: Decode<'r, DB> + Type<DB>,
    for<'r> Option<String>: Decode<'r, DB>,
    for<'r> Option<i64>: Decode<'r, DB>,
    for<'r> i64: Decode<'r, DB> + Type<DB>,
    for<'a> &'a str: ColumnIndex<DB::Row>,
    usize: ColumnIndex<DB::Row>,
{
    /// Every view's checkpoint in `space` ([`LogPosition::START`] for a view
    /// never projected; a checkpoint of a view this code does not know is
    /// left alone).
    pub async fn checkpoints(
        conn: &mut DB::Connection,
        space: Space,
    ) -> Result<BTreeMap<ViewName, LogPosition>, ProjectorError> {
        let rows = sqlx::query(&DB::sql(
            "SELECT view, log_commit, position FROM projection_checkpoints WHERE space = ?",
        ))
        .bind(space.as_str())
        .fetch_all(&mut *conn)
        .await
        .map_err(storage)?;
        let mut out: BTreeMap<ViewName, LogPosition> = ViewName::ALL
            .into_iter()
            .map(|v| (v, LogPosition::START))
            .collect();
        for row in rows {
            let view: String = row.try_get(0).map_err(storage)?;
            if let Some(v) = ViewName::parse(&view) {
                let commit = row.try_get(1).map_err(storage)?;
                out.insert(v, log_position(commit, row.try_get(2).map_err(storage)?));
            }
        }
        Ok(out)
    }

    /// Moves each checkpoint from the value read to the batch's end: inserts
    /// the first, or updates one still at `from`. On PostgreSQL a second
    /// projector blocks on the first's row lock, then finds the row moved.
    pub async fn move_checkpoints(
        conn: &mut DB::Connection,
        space: Space,
        moves: &[CheckpointMove],
    ) -> Result<Moved, sqlx::Error> {
        for m in moves {
            let ((to_commit, to), (from_commit, from)) =
                match (position_columns(m.to), position_columns(m.from)) {
                    (Ok(to), Ok(from)) => (to, from),
                    (Err(e), _) | (_, Err(e)) => return Ok(Moved::Failed(e)),
                };
            let moved = sqlx::query(&DB::sql(
                "INSERT INTO projection_checkpoints (space, view, log_commit, position)
                 VALUES (?, ?, ?, ?)
                 ON CONFLICT (space, view) DO UPDATE
                    SET log_commit = excluded.log_commit, position = excluded.position
                  WHERE projection_checkpoints.log_commit = ?
                    AND projection_checkpoints.position = ?
                 RETURNING 1",
            ))
            .bind(space.as_str())
            .bind(m.view.as_str())
            .bind(to_commit)
            .bind(to)
            .bind(from_commit)
            .bind(from)
            .fetch_optional(&mut *conn)
            .await?;
            if moved.is_none() {
                return Ok(Moved::Conflict);
            }
        }
        Ok(Moved::Done)
    }

    /// Sets a checkpoint whatever its value (reset, promote).
    async fn set_checkpoint(
        conn: &mut DB::Connection,
        space: Space,
        view: ViewName,
        to: LogPosition,
    ) -> Result<(), ProjectorError> {
        let (commit, position) = position_columns(to)?;
        sqlx::query(&DB::sql(
            "INSERT INTO projection_checkpoints (space, view, log_commit, position)
             VALUES (?, ?, ?, ?)
             ON CONFLICT (space, view) DO UPDATE
                SET log_commit = excluded.log_commit, position = excluded.position",
        ))
        .bind(space.as_str())
        .bind(view.as_str())
        .bind(commit)
        .bind(position)
        .execute(&mut *conn)
        .await
        .map_err(storage)?;
        Ok(())
    }

    /// Deletes the views' rows in `space` and sets their checkpoints to
    /// [`LogPosition::START`], inside `conn`'s transaction. Checkpoints
    /// first: the lock order every transaction here keeps (PostgreSQL).
    pub async fn reset(
        conn: &mut DB::Connection,
        space: Space,
        views: &[ViewName],
    ) -> Result<(), ProjectorError> {
        for v in views {
            Self::set_checkpoint(conn, space, *v, LogPosition::START).await?;
        }
        let sql = format!("DELETE FROM {} WHERE kind {}", table(space), DB::KINDS_IN);
        sqlx::query(&DB::sql(&sql))
            .bind(kinds_json(views))
            .execute(&mut *conn)
            .await
            .map_err(storage)?;
        Ok(())
    }

    /// Replaces the views' live rows and checkpoints with the scratch ones
    /// and empties scratch, inside `conn`'s transaction. Checkpoints first
    /// (lock order): a live projector that read the old live checkpoint
    /// finds it moved when it commits, and retries on top of the promoted rows.
    pub async fn promote(
        conn: &mut DB::Connection,
        views: &[ViewName],
    ) -> Result<(), ProjectorError> {
        let scratch = Self::checkpoints(conn, Space::Scratch).await?;
        for v in views {
            let built = scratch.get(v).copied().unwrap_or_default();
            Self::set_checkpoint(conn, Space::Live, *v, built).await?;
            Self::set_checkpoint(conn, Space::Scratch, *v, LogPosition::START).await?;
        }
        let kinds = DB::KINDS_IN;
        for sql in [
            format!("DELETE FROM view_rows WHERE kind {kinds}"),
            format!(
                "INSERT INTO view_rows ({ROW_COLUMNS})
                 SELECT {ROW_COLUMNS} FROM view_rows_scratch WHERE kind {kinds}"
            ),
            format!("DELETE FROM view_rows_scratch WHERE kind {kinds}"),
        ] {
            sqlx::query(&DB::sql(&sql))
                .bind(kinds_json(views))
                .execute(&mut *conn)
                .await
                .map_err(storage)?;
        }
        Ok(())
    }

    /// One row.
    pub async fn row(
        pool: &Pool<DB>,
        space: Space,
        kind: RowKind,
        key: &str,
    ) -> Result<Option<StoredRow>, ProjectorError> {
        let sql = format!(
            "SELECT {ROW_COLUMNS} FROM {} WHERE kind = ? AND key = ?",
            table(space)
        );
        let row = sqlx::query(&DB::sql(&sql))
            .bind(kind.as_str())
            .bind(key)
            .fetch_optional(pool)
            .await
            .map_err(storage)?;
        row.as_ref().map(stored_row).transpose()
    }

    /// Up to `limit` rows of `kind` matching `filter`, keys above `after_key`.
    pub async fn list(
        pool: &Pool<DB>,
        space: Space,
        kind: RowKind,
        filter: &RowFilter,
        after_key: Option<&str>,
        limit: usize,
    ) -> Result<Vec<StoredRow>, ProjectorError> {
        let mut sql = format!("SELECT {ROW_COLUMNS} FROM {} WHERE kind = ?", table(space));
        let mut binds = vec![kind.as_str()];
        for (column, value) in [
            ("parent =", filter.parent.as_deref()),
            ("tag =", filter.tag.as_deref()),
            ("key >", after_key),
        ] {
            if let Some(value) = value {
                sql.push_str(&format!(" AND {column} ?"));
                binds.push(value);
            }
        }
        sql.push_str(" ORDER BY key LIMIT ?");
        let sql = DB::sql(&sql);
        let mut query = sqlx::query(&sql);
        for value in binds {
            query = query.bind(value);
        }
        let limit = i64::try_from(limit.clamp(1, MAX_LIST)).unwrap_or(1);
        let rows = query.bind(limit).fetch_all(pool).await.map_err(storage)?;
        rows.iter().map(stored_row).collect()
    }

    /// Live and scratch compared inside `conn`'s read transaction (one
    /// snapshot): checkpoints, and up to `limit` differing rows in kind and
    /// key order.
    pub async fn diff(
        conn: &mut DB::Connection,
        views: &[ViewName],
        limit: usize,
    ) -> Result<Diff, ProjectorError> {
        let live = Self::checkpoints(conn, Space::Live).await?;
        let scratch = Self::checkpoints(conn, Space::Scratch).await?;
        let kinds = DB::KINDS_IN;
        let differing = format!(
            "SELECT l.kind AS kind, l.key AS key, l.doc AS live_doc,
                    l.log_commit AS live_commit, l.position AS live_position,
                    s.doc AS scratch_doc, s.log_commit AS scratch_commit,
                    s.position AS scratch_position
               FROM view_rows l
               LEFT JOIN view_rows_scratch s ON s.kind = l.kind AND s.key = l.key
              WHERE l.kind {kinds}
                AND (s.key IS NULL OR s.doc <> l.doc OR s.parent <> l.parent
                     OR s.tag <> l.tag OR s.log_commit <> l.log_commit
                     OR s.position <> l.position)
             UNION ALL
             SELECT s.kind, s.key, NULL, NULL, NULL, s.doc, s.log_commit, s.position
               FROM view_rows_scratch s
               LEFT JOIN view_rows l ON l.kind = s.kind AND l.key = s.key
              WHERE s.kind {kinds} AND l.key IS NULL"
        );
        let kinds = kinds_json(views);
        let total: i64 = sqlx::query(&DB::sql(&format!(
            "SELECT COUNT(*) AS n FROM ({differing}) d"
        )))
        .bind(kinds.as_str())
        .bind(kinds.as_str())
        .fetch_one(&mut *conn)
        .await
        .and_then(|row| row.try_get(0))
        .map_err(storage)?;
        let found = sqlx::query(&DB::sql(&format!("{differing} ORDER BY 1, 2 LIMIT ?")))
            .bind(kinds.as_str())
            .bind(kinds.as_str())
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&mut *conn)
            .await
            .map_err(storage)?;
        let mut named = Vec::with_capacity(found.len());
        for r in &found {
            let side = |d: &str, c: &str, p: &str| -> Result<_, ProjectorError> {
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
