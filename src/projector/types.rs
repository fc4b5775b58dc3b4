//! The projector's vocabulary: which tables, what a run reports, the
//! errors, the filters and differences views are read and compared with.

use std::collections::BTreeMap;
use std::sync::Arc;

use projections::rows::{ProjectionError, RowKey, RowKind};
use projections::{StoredRow, ViewName};

use crate::store::{AnyStore, LogEvent, LogPosition};

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
    /// store's log must be gap-safe: see `EventStore::read_all`).
    async fn read_page(
        &self,
        after: LogPosition,
        limit: usize,
    ) -> Result<Vec<LogEvent>, ProjectorError>;
    /// The position of the last event readable now ([`LogPosition::START`]
    /// for an empty log).
    async fn head(&self) -> Result<LogPosition, ProjectorError>;
    /// The position of the last committed event, readable or not yet (on
    /// PostgreSQL a commit becomes readable once every transaction that
    /// began before it has ended). Defaults to [`LogReader::head`].
    async fn committed_head(&self) -> Result<LogPosition, ProjectorError> {
        self.head().await
    }
    /// How many events the log holds (for progress bars only).
    async fn count(&self) -> Result<u64, ProjectorError>;
}

pub(super) fn storage_error(e: crate::store::StoreError) -> ProjectorError {
    ProjectorError::Storage(e.to_string())
}

/// Any store's log, one trait call per page; on PostgreSQL gap-safe
/// (`EventStore::read_all`, `EventStore::log_head`).
#[async_trait::async_trait]
impl LogReader for AnyStore {
    async fn read_page(
        &self,
        after: LogPosition,
        limit: usize,
    ) -> Result<Vec<LogEvent>, ProjectorError> {
        self.read_log_events(after, limit)
            .await
            .map_err(storage_error)
    }

    async fn head(&self) -> Result<LogPosition, ProjectorError> {
        self.log_head().await.map_err(storage_error)
    }

    async fn committed_head(&self) -> Result<LogPosition, ProjectorError> {
        let last = self.last_event().await.map_err(storage_error)?;
        Ok(last.map_or(LogPosition::START, |e| e.log_position))
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

pub(super) fn no_progress(_: u64, _: u64) {}

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
