//! The projector: builds bangfu's views from the global event log, so that a
//! crash at any point loses nothing and applies nothing twice.
//!
//! cqrs-es updates its views in-process after the commit; a crash between the
//! two loses the update for good. Here each view has a *checkpoint* — the last
//! global position its rows include — stored in the same database as its
//! rows. A projector run reads a page of the log after the checkpoints,
//! applies it with the pure code of the `projections` crate, and writes the
//! changed rows and the new checkpoints in one transaction. The checkpoint
//! only moves from the value that was read (optimistic), so a second
//! projector on the same file (another process) makes the loser retry rather
//! than apply a batch twice. On start nothing is needed: the next run catches
//! up from wherever the checkpoints are.
//!
//! - [`LogReader`]: pages of the global log in log order, after a
//!   [`LogPosition`] (implemented by the event stores, gap-safe);
//! - [`ViewStore`]: rows and checkpoints, live and scratch, in the same
//!   database as the events (SQLite: [`sqlite`]; PostgreSQL: [`postgres`];
//!   the only files here that know SQL);
//! - [`Projector`]: catch up, rebuild (into scratch, then swap in), verify
//!   (rebuild into scratch and compare), read rows.
//!
//! Memory stays flat however long the log: a run holds one page of events
//! and the rows that page touches, never more.

pub mod postgres;
mod sql;
pub mod sqlite;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use projections::batch::{apply, declare, Cursor};
use projections::rows::{ProjectionError, Row, RowKey, RowKind, RowSet, ViewRow};
use projections::{decode, Recorded, StoredRow, ViewName};

use crate::store::{AnyStore, LogEvent, LogPosition, SqliteStore};

mod types;
mod unavailable;

pub use postgres::PgViews;
pub use sqlite::SqliteViews;
pub use types::*;
pub use unavailable::{Unavailable, NO_VIEWS_ON_KURRENTDB};

/// Events per page (and per transaction) unless told otherwise. Small enough
/// that a page of the largest events (a 20,000-member enrolment) stays a few
/// hundred megabytes at worst, large enough to amortise the commit.
pub const DEFAULT_BATCH_EVENTS: usize = 256;
/// Events per page (and per transaction) when rebuilding into scratch:
/// larger than [`DEFAULT_BATCH_EVENTS`] because nobody waits for a
/// rebuild's first page, and every commit writes each row the page touched
/// (a household's 14 events span one or two pages of this size instead of
/// five or six). Reads still go in sub-pages of [`READ_SUB_PAGE`] events
/// and stop at [`PAGE_BYTES`] of payload, so memory stays bounded however
/// large the events.
pub const REBUILD_BATCH_EVENTS: usize = 2048;
/// Events per log query within a page.
const READ_SUB_PAGE: usize = 512;
/// A page stops growing once its payloads reach this many bytes.
const PAGE_BYTES: usize = 16 << 20;
/// Rows a run keeps between its pages, per generation of its row cache.
const CACHED_ROWS: usize = 4096;
/// Most differing rows a verification names.
pub const MAX_NAMED_DIFFERENCES: usize = 200;
/// Times in a row a run may lose the checkpoint race before giving up.
const MAX_CONFLICTS: u32 = 50;
/// How long [`Projector::catch_up_to`] waits for a committed position to
/// become readable. SQLite: never needed. PostgreSQL: the log is readable
/// only below the oldest transaction still running anywhere in the cluster,
/// so a command's events may become readable a moment after it returns.
pub const READ_YOUR_WRITES_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Builds and reads the views. Share it (`Arc`); runs within one process
/// are serialised, runs in other processes are kept apart by the checkpoints.
pub struct Projector {
    log: Arc<dyn LogReader>,
    views: Arc<dyn ViewStore>,
    /// Events per page when catching the live views up.
    batch_events: usize,
    /// Events per page when building into scratch (rebuild, verify).
    rebuild_batch_events: usize,
    running: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Projector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Projector")
            .field("batch_events", &self.batch_events)
            .field("rebuild_batch_events", &self.rebuild_batch_events)
            .finish_non_exhaustive()
    }
}

impl Projector {
    /// A projector reading `log` into `views`.
    pub fn new(log: Arc<dyn LogReader>, views: Arc<dyn ViewStore>) -> Projector {
        Projector {
            log,
            views,
            batch_events: DEFAULT_BATCH_EVENTS,
            rebuild_batch_events: REBUILD_BATCH_EVENTS,
            running: tokio::sync::Mutex::new(()),
        }
    }

    /// The projector of the embedded store: its log, views in the same file.
    pub fn sqlite(store: &SqliteStore) -> Projector {
        Projector::new(
            Arc::new(AnyStore::from(store.clone())),
            Arc::new(SqliteViews::new(store.clone())),
        )
    }

    /// The projector of a PostgreSQL store: its gap-safe log, views in the
    /// same database.
    pub fn postgres(store: &crate::store::PgStore) -> Projector {
        Projector::new(
            Arc::new(AnyStore::from(store.clone())),
            Arc::new(PgViews::new(store.clone())),
        )
    }

    /// Events per page and transaction, for catching up and for rebuilding
    /// alike (at least 1, at most the store's page cap).
    pub fn with_batch_events(self, batch_events: usize) -> Projector {
        let batch_events = batch_events.clamp(1, crate::store::MAX_READ_PAGE);
        Projector {
            batch_events,
            rebuild_batch_events: batch_events,
            ..self
        }
    }

    /// The view store (for reading rows).
    pub fn views(&self) -> &dyn ViewStore {
        self.views.as_ref()
    }

    /// The position every live view reflects: the lowest live checkpoint.
    pub async fn position(&self) -> Result<LogPosition, ProjectorError> {
        Ok(lowest(
            &self.views.checkpoints(Space::Live).await?,
            &ViewName::ALL,
        ))
    }

    /// Brings every live view up to the head of the log. Returns the run.
    pub async fn catch_up(&self) -> Result<RunStats, ProjectorError> {
        let _running = self.running.lock().await;
        self.run(Space::Live, &ViewName::ALL, None, &no_progress, 0)
            .await
    }

    /// Brings every live view up to the last committed event — what a reader
    /// who did not write expects ("everything committed so far") — waiting
    /// as [`Projector::catch_up_to`] does. Returns the position reached.
    pub async fn catch_up_committed(&self) -> Result<LogPosition, ProjectorError> {
        let committed = self.log.committed_head().await?;
        self.catch_up_to(committed).await
    }

    /// Brings every live view up to at least `position` (a command's last
    /// log position: read-your-writes). Returns the position the views
    /// reflect, which is below `position` only if the event did not become
    /// readable within [`READ_YOUR_WRITES_WAIT`] (on PostgreSQL, a
    /// transaction elsewhere in the cluster that began earlier and is still
    /// running holds readers back); callers report what they got.
    pub async fn catch_up_to(&self, position: LogPosition) -> Result<LogPosition, ProjectorError> {
        let current = self.position().await?;
        if current >= position {
            return Ok(current);
        }
        let deadline = tokio::time::Instant::now() + READ_YOUR_WRITES_WAIT;
        let mut pause = std::time::Duration::from_millis(2);
        loop {
            let reached = self.catch_up().await?.position;
            if reached >= position || tokio::time::Instant::now() >= deadline {
                return Ok(reached);
            }
            // Back off: the event is committed and becomes readable as soon
            // as the older transactions end; polling is all PostgreSQL offers.
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(std::time::Duration::from_millis(100));
        }
    }

    /// Rebuilds `views` from position zero: into scratch (with `progress`),
    /// then swapped in for the live rows in one transaction, then caught up.
    /// Readers never see a half-built view.
    pub async fn rebuild(
        &self,
        views: &[ViewName],
        progress: Progress<'_>,
    ) -> Result<RunStats, ProjectorError> {
        let _running = self.running.lock().await;
        let head = self.log.head().await?;
        let total = self.log.count().await?;
        self.views.reset(Space::Scratch, views).await?;
        let built = self
            .run(Space::Scratch, views, Some(head), progress, total)
            .await?;
        self.views.promote(views).await?;
        let after = self
            .run(Space::Live, &ViewName::ALL, None, &no_progress, 0)
            .await?;
        Ok(RunStats {
            events: built.events,
            batches: built.batches,
            rows: built.rows,
            position: after.position,
        })
    }

    /// Rebuilds every view into scratch and compares it with the live views
    /// (caught up first), at the same positions. Also reports overdrawn funds.
    pub async fn verify(&self, progress: Progress<'_>) -> Result<VerifyReport, ProjectorError> {
        let _running = self.running.lock().await;
        self.run(Space::Live, &ViewName::ALL, None, &no_progress, 0)
            .await?;
        self.views.reset(Space::Scratch, &ViewName::ALL).await?;
        let total = self.log.count().await?;
        let mut events = 0;
        let mut diff = Diff::default();
        // Another process may move the live views meanwhile; rebuilding up to
        // each view's live checkpoint and comparing again settles it.
        for _ in 0..3 {
            let live = self.views.checkpoints(Space::Live).await?;
            for (target, views) in group_by_checkpoint(&live) {
                events += self
                    .run(Space::Scratch, &views, Some(target), progress, total)
                    .await?
                    .events;
            }
            diff = self
                .views
                .diff(&ViewName::ALL, MAX_NAMED_DIFFERENCES)
                .await?;
            if diff.live == diff.scratch {
                break;
            }
        }
        self.views.reset(Space::Scratch, &ViewName::ALL).await?;
        let overdrawn = self
            .funds()
            .await?
            .into_iter()
            .filter(|f| f.overdrawn)
            .collect();
        Ok(VerifyReport {
            position: lowest(&diff.live, &ViewName::ALL),
            events,
            same_position: diff.live == diff.scratch,
            diff,
            overdrawn,
        })
    }

    /// Rebuilds every view into scratch from position zero and discards the
    /// result: the rebuild-throughput hook for benchmarks. Returns the run
    /// (`events` is the number of events processed).
    pub async fn rebuild_scratch(
        &self,
        progress: Progress<'_>,
    ) -> Result<RunStats, ProjectorError> {
        let _running = self.running.lock().await;
        let head = self.log.head().await?;
        let total = self.log.count().await?;
        self.views.reset(Space::Scratch, &ViewName::ALL).await?;
        let stats = self
            .run(Space::Scratch, &ViewName::ALL, Some(head), progress, total)
            .await?;
        self.views.reset(Space::Scratch, &ViewName::ALL).await?;
        Ok(stats)
    }

    /// One run: pages of the log after the views' checkpoints in `space`, up
    /// to `until` (or as far as the log is readable), each page one
    /// transaction. `total` is only passed on to `progress`.
    ///
    /// Three things keep a long run (a rebuild) fast without giving up the
    /// one-transaction-per-page rule:
    /// - the next page is read and decoded by its own task while this page
    ///   is applied (a read of the log is always valid: the log is
    ///   append-only and read gap-safe; the page is thrown away unless the
    ///   run continues from exactly where it starts);
    /// - the rows a page left behind are kept ([`RowCache`]) for the pages
    ///   after it, so a row touched again is neither read back nor decoded;
    /// - a page's commit runs in its own task while the next page is
    ///   applied to the rows it left behind; the next page commits only
    ///   after it, and from the checkpoints it set. If it fails, the next
    ///   page is thrown away with the cache, and the run starts again from
    ///   the checkpoints in the database (a conflict) or stops (an error).
    ///   Rows the next page needs that are not in the cache were not
    ///   touched by the page being committed, so reading them meanwhile
    ///   gives the same row before or after that commit.
    async fn run(
        &self,
        space: Space,
        views: &[ViewName],
        until: Option<LogPosition>,
        progress: Progress<'_>,
        total: u64,
    ) -> Result<RunStats, ProjectorError> {
        let page_events = match space {
            Space::Live => self.batch_events,
            Space::Scratch => self.rebuild_batch_events,
        };
        let mut stats = RunStats::default();
        let mut conflicts = 0u32;
        // The lowest checkpoint after the last successful commit: it must
        // have moved, or the run would read the same page forever.
        let mut committed_from: Option<LogPosition> = None;
        let mut cache = RowCache::default();
        let mut ahead: Option<ReadAhead> = None;
        let mut pending: Option<PendingCommit> = None;
        loop {
            // While a commit is in flight, the next page starts from the
            // checkpoints it will set; otherwise from the database's.
            let cursors: Vec<Cursor> = match &pending {
                Some(p) => p.after.clone(),
                None => {
                    let checkpoints = self.views.checkpoints(space).await?;
                    let cursors: Vec<Cursor> = views
                        .iter()
                        .map(|v| Cursor {
                            view: *v,
                            checkpoint: checkpoints.get(v).copied().unwrap_or_default(),
                        })
                        .collect();
                    let from = lowest_cursor(&cursors);
                    if committed_from.is_some_and(|before| from <= before) {
                        return Err(ProjectorError::Storage(format!(
                            "the checkpoints did not move past position {from} after a commit"
                        )));
                    }
                    stats.position = from;
                    if !cache.valid_for(&cursors) {
                        cache.clear();
                    }
                    cursors
                }
            };
            let prepared = self
                .prepare(space, &cursors, until, page_events, &mut ahead, &mut cache)
                .await;
            let (last, applied, batch, rows) = match prepared {
                Ok(Some(page)) => page,
                Ok(None) => {
                    // Nothing more to read after what the commit in flight
                    // sets: once it is in, the run is done; if it lost the
                    // race, look again from the database.
                    match pending.take() {
                        Some(p) => {
                            if self
                                .settle(p, space, &mut stats, &mut conflicts, progress, total)
                                .await?
                            {
                                break;
                            }
                            cache.clear();
                            ahead = None;
                            continue;
                        }
                        None => break,
                    }
                }
                Err(e) => {
                    // The views stop after the last page that could be
                    // applied: let its commit finish first.
                    if let Some(p) = pending.take() {
                        // Its own failure, if any, matters less than this one.
                        let _ = self
                            .settle(p, space, &mut stats, &mut conflicts, progress, total)
                            .await;
                    }
                    return Err(e);
                }
            };
            // This page commits only after the one before it did.
            if let Some(p) = pending.take() {
                let before = lowest_cursor(&p.before);
                if self
                    .settle(p, space, &mut stats, &mut conflicts, progress, total)
                    .await?
                {
                    committed_from = Some(before);
                } else {
                    // The page was applied to rows that are not there.
                    cache.clear();
                    ahead = None;
                    continue;
                }
            }
            let after: Vec<Cursor> = cursors
                .iter()
                .map(|c| Cursor {
                    view: c.view,
                    checkpoint: c.checkpoint.max(last),
                })
                .collect();
            cache.keep(rows.into_slots(), after.clone());
            let views = Arc::clone(&self.views);
            pending = Some(PendingCommit {
                before: cursors,
                after,
                events: applied,
                rows: u64::try_from(batch.rows.len()).unwrap_or(u64::MAX),
                task: tokio_util::task::AbortOnDropHandle::new(tokio::spawn(async move {
                    views.commit(space, &batch).await
                })),
            });
        }
        Ok(stats)
    }

    /// Reads the page after `cursors` (or takes the one read ahead), starts
    /// reading the next one, and applies the page to its rows: the page's
    /// last position, its number of events, the rows and checkpoints to
    /// commit, and the rows as they now stand (for the cache). `None` when
    /// there is nothing to apply.
    async fn prepare(
        &self,
        space: Space,
        cursors: &[Cursor],
        until: Option<LogPosition>,
        page_events: usize,
        ahead: &mut Option<ReadAhead>,
        cache: &mut RowCache,
    ) -> Result<Option<(LogPosition, u64, CommitBatch, RowSet)>, ProjectorError> {
        let from = lowest_cursor(cursors);
        if until.is_some_and(|u| from >= u) {
            return Ok(None);
        }
        let mut events = match ahead.take() {
            Some(read) if read.after == from => read
                .task
                .await
                .map_err(|e| ProjectorError::Storage(format!("log reader task: {e}")))??,
            _ => read_decoded(self.log.as_ref(), from, page_events).await?,
        };
        if let Some(u) = until {
            events.retain(|e| e.position <= u);
        }
        let Some(last) = events.last().map(|e| e.position) else {
            return Ok(None);
        };
        // A short page is the head of the log (or the byte cap, rarely):
        // reading ahead would only read an empty page.
        if events.len() >= page_events && until.is_none_or(|u| last < u) {
            let log = Arc::clone(&self.log);
            *ahead = Some(ReadAhead {
                after: last,
                task: tokio_util::task::AbortOnDropHandle::new(tokio::spawn(async move {
                    read_decoded(log.as_ref(), last, page_events).await
                })),
            });
        }

        let mut rows = RowSet::new();
        declare(cursors, &events, &mut rows);
        let declared: Vec<RowKey> = rows.keys().cloned().collect();
        let mut missing = Vec::new();
        for key in declared {
            match cache.take(&key) {
                Some(Some((row, position))) => rows.load(key, row, position),
                // Known to be absent: stays declared and empty.
                Some(None) => {}
                None => missing.push(key),
            }
        }
        for stored in self.views.load(space, &missing).await? {
            let key = RowKey::new(stored.kind, stored.key);
            let row = Row::from_doc(stored.kind, &stored.doc).map_err(ProjectorError::Row)?;
            rows.load(key, row, stored.position);
        }
        for ev in &events {
            apply(cursors, std::slice::from_ref(ev), &mut rows).map_err(|source| {
                ProjectorError::Projection {
                    position: ev.position,
                    source,
                }
            })?;
        }
        let batch = CommitBatch {
            rows: rows
                .changed()
                .map(|(key, row, position)| StoredRow::of(key, row, position))
                .collect::<Result<Vec<_>, ProjectionError>>()
                .map_err(ProjectorError::Row)?,
            checkpoints: cursors
                .iter()
                .filter(|c| c.checkpoint < last)
                .map(|c| CheckpointMove {
                    view: c.view,
                    from: c.checkpoint,
                    to: last,
                })
                .collect(),
        };
        let applied = u64::try_from(events.len()).unwrap_or(u64::MAX);
        Ok(Some((last, applied, batch, rows)))
    }

    /// Waits for a page's commit: `true` when it went through (the run's
    /// figures count it), `false` when another projector moved the
    /// checkpoints first (nothing was written; the caller starts again from
    /// the database). An error stops the run.
    async fn settle(
        &self,
        pending: PendingCommit,
        space: Space,
        stats: &mut RunStats,
        conflicts: &mut u32,
        progress: Progress<'_>,
        total: u64,
    ) -> Result<bool, ProjectorError> {
        let outcome = pending
            .task
            .await
            .map_err(|e| ProjectorError::Storage(format!("view commit task: {e}")))??;
        match outcome {
            Committed::Done => {
                *conflicts = 0;
                stats.events += pending.events;
                stats.batches += 1;
                stats.rows += pending.rows;
                stats.position = lowest_cursor(&pending.after);
                progress(stats.events, total);
                tracing::debug!(
                    space = space.as_str(),
                    events = pending.events,
                    rows = pending.rows,
                    position = %stats.position,
                    "projection batch committed"
                );
                Ok(true)
            }
            Committed::Conflict => {
                *conflicts += 1;
                tracing::debug!(
                    space = space.as_str(),
                    conflicts = *conflicts,
                    "checkpoint moved; retrying"
                );
                if *conflicts >= MAX_CONFLICTS {
                    return Err(ProjectorError::Contended(*conflicts));
                }
                Ok(false)
            }
        }
    }

    /// One row of the live views, typed.
    pub async fn get<T: ViewRow>(&self, key: &str) -> Result<Option<T>, ProjectorError> {
        match self.views.row(Space::Live, T::KIND, key).await? {
            None => Ok(None),
            Some(stored) => decode_row(&stored).map(Some),
        }
    }

    /// Calls `each` for every live row of `T`'s kind matching `filter`, in
    /// key order, a page at a time (flat memory however many rows match).
    pub async fn for_each<T: ViewRow>(
        &self,
        filter: &RowFilter,
        mut each: impl FnMut(T) + Send,
    ) -> Result<(), ProjectorError> {
        const PAGE: usize = 500;
        let mut after: Option<String> = None;
        loop {
            let page = self
                .views
                .list(Space::Live, T::KIND, filter, after.as_deref(), PAGE)
                .await?;
            let Some(last) = page.last().map(|r| r.key.clone()) else {
                return Ok(());
            };
            let full = page.len() == PAGE;
            for stored in &page {
                each(decode_row(stored)?);
            }
            if !full {
                return Ok(());
            }
            after = Some(last);
        }
    }

    /// Every fund's balance row (all four, empty ones included).
    pub async fn funds(
        &self,
    ) -> Result<Vec<projections::views::funds::FundBalanceRow>, ProjectorError> {
        let mut rows = Vec::new();
        self.for_each(&RowFilter::default(), |r| rows.push(r))
            .await?;
        Ok(projections::views::funds::all_funds(rows))
    }
}

fn decode_row<T: ViewRow>(stored: &StoredRow) -> Result<T, ProjectorError> {
    serde_json::from_str(&stored.doc).map_err(|e| {
        ProjectorError::Row(ProjectionError::CorruptRow {
            kind: T::KIND.as_str(),
            message: e.to_string(),
        })
    })
}

/// A page of the log after `after`, decoded: up to `limit` events, read
/// in sub-pages of [`READ_SUB_PAGE`] and stopping early once the payloads
/// reach [`PAGE_BYTES`] (memory stays bounded however large the events).
async fn read_decoded(
    log: &dyn LogReader,
    after: LogPosition,
    limit: usize,
) -> Result<Vec<Recorded>, ProjectorError> {
    let mut events = Vec::with_capacity(limit.min(READ_SUB_PAGE * 8));
    let mut from = after;
    let mut bytes = 0usize;
    while events.len() < limit && bytes < PAGE_BYTES {
        let want = (limit - events.len()).min(READ_SUB_PAGE);
        let page = log.read_page(from, want).await?;
        let short = page.len() < want;
        for e in page {
            from = e.log_position;
            bytes = bytes.saturating_add(e.payload.len());
            events.push(recorded(e)?);
        }
        if short {
            break;
        }
    }
    Ok(events)
}

/// The lowest checkpoint among `cursors`: where the next page starts.
fn lowest_cursor(cursors: &[Cursor]) -> LogPosition {
    cursors
        .iter()
        .map(|c| c.checkpoint)
        .min()
        .unwrap_or_default()
}

/// A page's commit, running in its own task.
struct PendingCommit {
    /// The checkpoints the page was applied from.
    before: Vec<Cursor>,
    /// The checkpoints it sets.
    after: Vec<Cursor>,
    /// Events and rows it carries, counted once it commits.
    events: u64,
    rows: u64,
    /// Aborted (rolled back by the database) if the run stops first.
    task: tokio_util::task::AbortOnDropHandle<Result<Committed, ProjectorError>>,
}

/// The next page, being read by its own task.
struct ReadAhead {
    /// Where the page starts (exclusive): it is only used by a run that
    /// continues from exactly there.
    after: LogPosition,
    /// Aborted if the run ends or drops the page.
    task: tokio_util::task::AbortOnDropHandle<Result<Vec<Recorded>, ProjectorError>>,
}

/// The rows a run's committed pages left behind, for its next pages: each
/// row as committed, or known to be absent. Two generations bound it: rows
/// go into the young one, which becomes the old one (dropping the previous
/// old one) when it holds [`CACHED_ROWS`]; a row used again moves back to
/// the young one. Valid only while the views' checkpoints are the ones
/// this run's last commit set.
#[derive(Default)]
struct RowCache {
    young: HashMap<RowKey, Option<(Row, LogPosition)>>,
    old: HashMap<RowKey, Option<(Row, LogPosition)>>,
    /// The checkpoints the cached rows are as of.
    checkpoints: Vec<Cursor>,
}

impl RowCache {
    fn clear(&mut self) {
        self.young.clear();
        self.old.clear();
        self.checkpoints.clear();
    }

    /// True if the cached rows are the stored rows at `cursors`.
    fn valid_for(&self, cursors: &[Cursor]) -> bool {
        !self.checkpoints.is_empty() && self.checkpoints == cursors
    }

    /// Takes a row out: `Some(Some(..))` present, `Some(None)` absent,
    /// `None` not known here.
    fn take(&mut self, key: &RowKey) -> Option<Option<(Row, LogPosition)>> {
        self.young.remove(key).or_else(|| self.old.remove(key))
    }

    /// Keeps a committed page's rows, as of the checkpoints it set.
    fn keep(
        &mut self,
        rows: impl Iterator<Item = (RowKey, Option<(Row, LogPosition)>)>,
        checkpoints: Vec<Cursor>,
    ) {
        for (key, row) in rows {
            self.young.insert(key, row);
        }
        if self.young.len() >= CACHED_ROWS {
            self.old = std::mem::take(&mut self.young);
        }
        self.checkpoints = checkpoints;
    }
}

/// A log event as projections read it.
fn recorded(e: LogEvent) -> Result<Recorded, ProjectorError> {
    let event = decode(
        &e.aggregate_type,
        &e.event_type,
        &e.event_version,
        &e.payload,
    )
    .map_err(|source| ProjectorError::Projection {
        position: e.log_position,
        source: source.into(),
    })?;
    Ok(Recorded {
        position: e.log_position,
        aggregate_id: e.aggregate_id,
        sequence: e.sequence,
        event,
        actor: e.actor,
        recorded_at: e.recorded_at,
    })
}

fn lowest(checkpoints: &BTreeMap<ViewName, LogPosition>, views: &[ViewName]) -> LogPosition {
    views
        .iter()
        .map(|v| checkpoints.get(v).copied().unwrap_or_default())
        .min()
        .unwrap_or_default()
}

/// Views grouped by their checkpoint, lowest first.
fn group_by_checkpoint(
    checkpoints: &BTreeMap<ViewName, LogPosition>,
) -> Vec<(LogPosition, Vec<ViewName>)> {
    let mut groups: BTreeMap<LogPosition, Vec<ViewName>> = BTreeMap::new();
    for v in ViewName::ALL {
        groups
            .entry(checkpoints.get(&v).copied().unwrap_or_default())
            .or_default()
            .push(v);
    }
    groups.into_iter().collect()
}
