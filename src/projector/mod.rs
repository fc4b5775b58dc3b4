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
pub mod sqlite;

use std::collections::BTreeMap;
use std::sync::Arc;

use projections::batch::{apply, declare, Cursor};
use projections::rows::{ProjectionError, Row, RowKey, RowKind, RowSet, ViewRow};
use projections::{decode, Recorded, StoredRow, ViewName};

use crate::store::{AnyStore, LogPosition, SqliteStore, StoredEvent};

pub use postgres::PgViews;
pub use sqlite::SqliteViews;

/// Events per page (and per transaction) unless told otherwise. Small enough
/// that a page of the largest events (a 20,000-member enrolment) stays a few
/// hundred megabytes at worst, large enough to amortise the commit.
pub const DEFAULT_BATCH_EVENTS: usize = 256;
/// Most differing rows a verification names.
pub const MAX_NAMED_DIFFERENCES: usize = 200;
/// Times in a row a run may lose the checkpoint race before giving up.
const MAX_CONFLICTS: u32 = 50;
/// How long [`Projector::catch_up_to`] waits for a committed position to
/// become readable. SQLite: never needed. PostgreSQL: the log is readable
/// only below the oldest transaction still running anywhere in the cluster,
/// so a command's events may become readable a moment after it returns.
pub const READ_YOUR_WRITES_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Which set of tables: the live views, or the scratch copy that rebuilds
/// and verification use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Space {
    /// What `bangfu view` reads.
    Live,
    /// Where views are rebuilt from position zero.
    Scratch,
}

impl Space {
    /// Stable name, as stored with checkpoints.
    pub fn as_str(self) -> &'static str {
        match self {
            Space::Live => "live",
            Space::Scratch => "scratch",
        }
    }
}

/// Why the projector stopped. Views stay at their last committed checkpoint.
#[derive(Debug, thiserror::Error)]
pub enum ProjectorError {
    /// The database failed.
    #[error("storage: {0}")]
    Storage(String),
    /// An event could not be decoded or applied; the views stop before it.
    #[error("the event at position {position} cannot be projected: {source}")]
    Projection {
        /// Its position.
        position: LogPosition,
        /// Why.
        source: ProjectionError,
    },
    /// A stored row does not decode.
    #[error("{0}")]
    Row(ProjectionError),
    /// Other projectors kept moving the checkpoints first.
    #[error("gave up after losing the checkpoint race {0} times in a row")]
    Contended(u32),
    /// A fault injected by a test (see [`SqliteViews::with_failpoint`],
    /// [`PgViews::with_failpoint`]).
    #[error("injected failure: {0}")]
    Injected(String),
}

/// The global log, as projectors read it.
#[async_trait::async_trait]
pub trait LogReader: Send + Sync {
    /// Up to `limit` events after `after`, in log order. Must never return
    /// an event while an event that sorts before it can still commit (the
    /// store's log must be gap-safe: see `PgStore::read_all`).
    async fn read_page(
        &self,
        after: LogPosition,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, ProjectorError>;
    /// The position of the last event readable now ([`LogPosition::START`]
    /// for an empty log).
    async fn head(&self) -> Result<LogPosition, ProjectorError>;
    /// How many events the log holds (for progress bars only).
    async fn count(&self) -> Result<u64, ProjectorError>;
}

fn storage_error(e: crate::store::StoreError) -> ProjectorError {
    ProjectorError::Storage(e.to_string())
}

#[async_trait::async_trait]
impl LogReader for SqliteStore {
    async fn read_page(
        &self,
        after: LogPosition,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, ProjectorError> {
        self.read_log(after, limit).await.map_err(storage_error)
    }

    async fn head(&self) -> Result<LogPosition, ProjectorError> {
        self.head_position()
            .await
            .map(LogPosition::at)
            .map_err(storage_error)
    }

    async fn count(&self) -> Result<u64, ProjectorError> {
        self.count_events().await.map_err(storage_error)
    }
}

/// Any store's log; on PostgreSQL gap-safe (`PgStore::read_all`,
/// `PgStore::log_head`).
#[async_trait::async_trait]
impl LogReader for AnyStore {
    async fn read_page(
        &self,
        after: LogPosition,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, ProjectorError> {
        self.read_all(after, limit).await.map_err(storage_error)
    }

    async fn head(&self) -> Result<LogPosition, ProjectorError> {
        self.log_head().await.map_err(storage_error)
    }

    async fn count(&self) -> Result<u64, ProjectorError> {
        self.count_events().await.map_err(storage_error)
    }
}

/// A checkpoint to move in a commit: from what was read to the batch's end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckpointMove {
    /// The view.
    pub view: ViewName,
    /// The value read before the batch (the commit fails if it changed).
    pub from: LogPosition,
    /// The last position of the batch.
    pub to: LogPosition,
}

/// What one transaction writes: changed rows and checkpoint moves.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CommitBatch {
    /// Rows to insert or replace.
    pub rows: Vec<StoredRow>,
    /// Checkpoints to move.
    pub checkpoints: Vec<CheckpointMove>,
}

/// A fault to inject into a [`ViewStore`]'s commits, for crash-safety
/// tests: called after the batch's rows and checkpoints are written and
/// before the transaction commits; an `Err` rolls the transaction back as a
/// crash would.
pub type Failpoint = Arc<dyn Fn(&CommitBatch) -> Result<(), String> + Send + Sync>;

/// Whether a commit went through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Committed {
    /// Rows and checkpoints are written.
    Done,
    /// A checkpoint was not what was read: another projector got there
    /// first. Nothing was written.
    Conflict,
}

/// Which rows of a kind to list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RowFilter {
    /// Only rows listed under this parent.
    pub parent: Option<String>,
    /// Only rows with this tag.
    pub tag: Option<String>,
}

/// A row that differs between the live views and a rebuild.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowDiff {
    /// The row's kind (as stored; a kind unknown to this code shows as is).
    pub kind: String,
    /// The row's key.
    pub key: String,
    /// The live row's document and position (`None`: missing from the live views).
    pub live: Option<(String, LogPosition)>,
    /// The rebuilt row's document and position (`None`: the live row should not exist).
    pub rebuilt: Option<(String, LogPosition)>,
}

/// A comparison of live and scratch, read in one snapshot.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diff {
    /// Live checkpoints.
    pub live: BTreeMap<ViewName, LogPosition>,
    /// Scratch checkpoints.
    pub scratch: BTreeMap<ViewName, LogPosition>,
    /// Differing rows, in kind and key order, at most the limit asked for.
    pub rows: Vec<RowDiff>,
    /// Differing rows beyond the limit.
    pub omitted: u64,
}

/// Rows and checkpoints of the views: the small interface a database
/// implements to hold bangfu's views (SQLite: [`SqliteViews`]; PostgreSQL:
/// [`PgViews`]).
#[async_trait::async_trait]
pub trait ViewStore: Send + Sync {
    /// Every view's checkpoint in `space` ([`LogPosition::START`] for a
    /// view never projected).
    async fn checkpoints(
        &self,
        space: Space,
    ) -> Result<BTreeMap<ViewName, LogPosition>, ProjectorError>;
    /// The stored rows among `keys` (absent keys are left out).
    async fn load(&self, space: Space, keys: &[RowKey]) -> Result<Vec<StoredRow>, ProjectorError>;
    /// Writes `batch` in one transaction, if every checkpoint still has its
    /// `from` value; otherwise writes nothing and returns `Conflict`.
    async fn commit(&self, space: Space, batch: &CommitBatch) -> Result<Committed, ProjectorError>;
    /// Deletes the views' rows in `space` and sets their checkpoints to
    /// [`LogPosition::START`].
    async fn reset(&self, space: Space, views: &[ViewName]) -> Result<(), ProjectorError>;
    /// Replaces the views' live rows and checkpoints with the scratch ones,
    /// and empties scratch, in one transaction.
    async fn promote(&self, views: &[ViewName]) -> Result<(), ProjectorError>;
    /// One row.
    async fn row(
        &self,
        space: Space,
        kind: RowKind,
        key: &str,
    ) -> Result<Option<StoredRow>, ProjectorError>;
    /// Up to `limit` rows of `kind` matching `filter`, with keys above
    /// `after_key`, in key order.
    async fn list(
        &self,
        space: Space,
        kind: RowKind,
        filter: &RowFilter,
        after_key: Option<&str>,
        limit: usize,
    ) -> Result<Vec<StoredRow>, ProjectorError>;
    /// Compares the views' live and scratch rows and checkpoints in one
    /// consistent read, naming at most `limit` differing rows.
    async fn diff(&self, views: &[ViewName], limit: usize) -> Result<Diff, ProjectorError>;
}

/// How a run went.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunStats {
    /// Events read and applied.
    pub events: u64,
    /// Transactions committed.
    pub batches: u64,
    /// Rows written.
    pub rows: u64,
    /// The lowest checkpoint of the views run, at the end.
    pub position: LogPosition,
}

/// Progress of a run, for a progress bar: events done so far, and the
/// events in the log when the run began (an estimate of the total).
pub type Progress<'a> = &'a (dyn Fn(u64, u64) + Send + Sync);

fn no_progress(_: u64, _: u64) {}

/// What `verify` found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VerifyReport {
    /// The position the views were compared at (the lowest live checkpoint).
    pub position: LogPosition,
    /// Events the rebuild applied.
    pub events: u64,
    /// The comparison.
    pub diff: Diff,
    /// Funds whose outflows exceed their inflows.
    pub overdrawn: Vec<projections::views::funds::FundBalanceRow>,
    /// True when live and rebuilt checkpoints matched for the comparison.
    pub same_position: bool,
}

impl VerifyReport {
    /// True when the live views equal a rebuild and no fund is overdrawn.
    pub fn is_ok(&self) -> bool {
        self.same_position
            && self.diff.rows.is_empty()
            && self.diff.omitted == 0
            && self.overdrawn.is_empty()
    }
}

/// Builds and reads the views. Share it (`Arc`); runs within one process
/// are serialised, runs in other processes are kept apart by the checkpoints.
pub struct Projector {
    log: Arc<dyn LogReader>,
    views: Arc<dyn ViewStore>,
    batch_events: usize,
    running: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Projector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Projector")
            .field("batch_events", &self.batch_events)
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
            running: tokio::sync::Mutex::new(()),
        }
    }

    /// The projector of the embedded store: its log, views in the same file.
    pub fn sqlite(store: &SqliteStore) -> Projector {
        Projector::new(
            Arc::new(store.clone()),
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

    /// Events per page and transaction (at least 1, at most the store's page cap).
    pub fn with_batch_events(self, batch_events: usize) -> Projector {
        Projector {
            batch_events: batch_events.clamp(1, crate::store::READ_ALL_MAX),
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
    async fn run(
        &self,
        space: Space,
        views: &[ViewName],
        until: Option<LogPosition>,
        progress: Progress<'_>,
        total: u64,
    ) -> Result<RunStats, ProjectorError> {
        let mut stats = RunStats::default();
        let mut conflicts = 0u32;
        // The lowest checkpoint after the last successful commit: it must
        // have moved, or the run would read the same page forever.
        let mut committed_from: Option<LogPosition> = None;
        loop {
            let checkpoints = self.views.checkpoints(space).await?;
            let cursors: Vec<Cursor> = views
                .iter()
                .map(|v| Cursor {
                    view: *v,
                    checkpoint: checkpoints.get(v).copied().unwrap_or_default(),
                })
                .collect();
            let from = cursors
                .iter()
                .map(|c| c.checkpoint)
                .min()
                .unwrap_or_default();
            if committed_from.is_some_and(|before| from <= before) {
                return Err(ProjectorError::Storage(format!(
                    "the checkpoints did not move past position {from} after a commit"
                )));
            }
            stats.position = from;
            if until.is_some_and(|u| from >= u) {
                break;
            }
            let mut page = self.log.read_page(from, self.batch_events).await?;
            if let Some(u) = until {
                page.retain(|e| e.log_position <= u);
            }
            let Some(last) = page.last().map(|e| e.log_position) else {
                break;
            };
            let events = page.iter().map(recorded).collect::<Result<Vec<_>, _>>()?;
            drop(page);

            let mut rows = RowSet::new();
            declare(&cursors, &events, &mut rows);
            let keys: Vec<RowKey> = rows.keys().cloned().collect();
            for stored in self.views.load(space, &keys).await? {
                let key = RowKey::new(stored.kind, stored.key);
                let row = Row::from_doc(stored.kind, &stored.doc).map_err(ProjectorError::Row)?;
                rows.load(key, row, stored.position);
            }
            for ev in &events {
                apply(&cursors, std::slice::from_ref(ev), &mut rows).map_err(|source| {
                    ProjectorError::Projection {
                        position: ev.position,
                        source,
                    }
                })?;
            }
            let batch = CommitBatch {
                rows: rows
                    .changed()
                    .map(|(key, row, position)| {
                        Ok(StoredRow {
                            kind: key.kind,
                            key: key.key.clone(),
                            parent: row.parent(),
                            tag: row.tag(),
                            doc: row.to_doc()?,
                            position,
                        })
                    })
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
            match self.views.commit(space, &batch).await? {
                Committed::Done => {
                    conflicts = 0;
                    committed_from = Some(from);
                    let applied = events.len();
                    stats.events += u64::try_from(applied).unwrap_or(u64::MAX);
                    stats.batches += 1;
                    stats.rows += u64::try_from(batch.rows.len()).unwrap_or(u64::MAX);
                    stats.position = cursors
                        .iter()
                        .map(|c| c.checkpoint.max(last))
                        .min()
                        .unwrap_or(last);
                    progress(stats.events, total);
                    tracing::debug!(
                        space = space.as_str(),
                        events = applied,
                        rows = batch.rows.len(),
                        position = %last,
                        "projection batch committed"
                    );
                }
                Committed::Conflict => {
                    conflicts += 1;
                    tracing::debug!(
                        space = space.as_str(),
                        conflicts,
                        "checkpoint moved; retrying"
                    );
                    if conflicts >= MAX_CONFLICTS {
                        return Err(ProjectorError::Contended(conflicts));
                    }
                }
            }
        }
        Ok(stats)
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

/// A stored event as projections read it.
fn recorded(e: &StoredEvent) -> Result<Recorded, ProjectorError> {
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
        aggregate_id: e.aggregate_id.clone(),
        sequence: u64::try_from(e.sequence).unwrap_or(u64::MAX),
        event,
        actor: e
            .metadata
            .get(domain::command::metadata_keys::ACTOR_ID)
            .cloned(),
        recorded_at: e.recorded_at.clone(),
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

/// Rebuilds every view of the store at `store` into scratch tables and
/// returns the number of events processed: the hook the rebuild-throughput
/// benchmark calls (time it, and measure memory, around this call).
pub async fn rebuild_throughput(store: &SqliteStore) -> Result<u64, ProjectorError> {
    Ok(Projector::sqlite(store)
        .rebuild_scratch(&no_progress)
        .await?
        .events)
}

/// Views on a store that does not hold them yet: every read and write of the
/// views fails with a clear message; the events themselves are unaffected.
pub struct Unavailable(pub String);

impl Unavailable {
    fn err(&self) -> ProjectorError {
        ProjectorError::Storage(self.0.clone())
    }
}

#[async_trait::async_trait]
impl LogReader for Unavailable {
    async fn read_page(
        &self,
        _: LogPosition,
        _: usize,
    ) -> Result<Vec<StoredEvent>, ProjectorError> {
        Err(self.err())
    }
    async fn head(&self) -> Result<LogPosition, ProjectorError> {
        Err(self.err())
    }
    async fn count(&self) -> Result<u64, ProjectorError> {
        Err(self.err())
    }
}

#[async_trait::async_trait]
impl ViewStore for Unavailable {
    async fn checkpoints(
        &self,
        _: Space,
    ) -> Result<BTreeMap<ViewName, LogPosition>, ProjectorError> {
        Err(self.err())
    }
    async fn load(&self, _: Space, _: &[RowKey]) -> Result<Vec<StoredRow>, ProjectorError> {
        Err(self.err())
    }
    async fn commit(&self, _: Space, _: &CommitBatch) -> Result<Committed, ProjectorError> {
        Err(self.err())
    }
    async fn reset(&self, _: Space, _: &[ViewName]) -> Result<(), ProjectorError> {
        Err(self.err())
    }
    async fn promote(&self, _: &[ViewName]) -> Result<(), ProjectorError> {
        Err(self.err())
    }
    async fn row(
        &self,
        _: Space,
        _: RowKind,
        _: &str,
    ) -> Result<Option<StoredRow>, ProjectorError> {
        Err(self.err())
    }
    async fn list(
        &self,
        _: Space,
        _: RowKind,
        _: &RowFilter,
        _: Option<&str>,
        _: usize,
    ) -> Result<Vec<StoredRow>, ProjectorError> {
        Err(self.err())
    }
    async fn diff(&self, _: &[ViewName], _: usize) -> Result<Diff, ProjectorError> {
        Err(self.err())
    }
}

/// Why there are no views on a KurrentDB store.
pub const NO_VIEWS_ON_KURRENTDB: &str = "views need a SQL database beside the events \
     (SQLite or PostgreSQL); bangfu keeps no views on a KurrentDB store";

impl Projector {
    /// A projector for `store`, its views in the same database as the events:
    /// the SQLite file, or the PostgreSQL database. A KurrentDB store has no
    /// SQL database to keep views and checkpoints in transactionally, so its
    /// views are [`Unavailable`] and every view read says so.
    pub fn for_store(store: &AnyStore) -> Projector {
        match store {
            AnyStore::Sqlite(sqlite) => Projector::sqlite(sqlite),
            AnyStore::Postgres(pg) => Projector::postgres(pg),
            AnyStore::Kurrent(_) => {
                let why = Arc::new(Unavailable(NO_VIEWS_ON_KURRENTDB.into()));
                Projector::new(why.clone(), why)
            }
        }
    }
}
