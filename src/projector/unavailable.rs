//! Views on a store that keeps none (KurrentDB): every view read says why.

use std::sync::Arc;

use super::*;

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
    async fn read_page(&self, _: LogPosition, _: usize) -> Result<Vec<LogEvent>, ProjectorError> {
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
        if let Some(sqlite) = store.as_sqlite() {
            return Projector::sqlite(sqlite);
        }
        if let Some(pg) = store.as_postgres() {
            return Projector::postgres(pg);
        }
        let why = Arc::new(Unavailable(NO_VIEWS_ON_KURRENTDB.into()));
        Projector::new(why.clone(), why)
    }
}
