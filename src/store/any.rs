//! [`AnyStore`]: whichever store a URL names, behind one type, so the engine,
//! the services, the CLI and the conformance tests are written once.
//!
//! An enum rather than a trait object: cqrs-es's `PersistedEventRepository`
//! has generic methods (not object-safe), and three known variants are the
//! whole story. Every method delegates to the variant.

use std::path::{Path, PathBuf};

use cqrs_es::persist::{
    PersistedEventRepository, PersistenceError, ReplayStream, SerializedEvent, SerializedSnapshot,
};
use cqrs_es::Aggregate;
use domain::reservation::Scope;
use serde_json::Value;

use super::{
    Appended, ChainReport, KurrentStore, LogEvent, LogPosition, PgStore, ReservationExtractor,
    SqliteStore, StoreError, StoredEvent, StreamHead,
};

/// A store location, parsed from a URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreUrl {
    /// `sqlite://PATH` (`sqlite:///abs/path`), `sqlite:PATH`, or a bare path.
    Sqlite(PathBuf),
    /// `postgres://…` or `postgresql://…`, passed to the driver as given.
    Postgres(String),
    /// `esdb://…`, `esdb+discover://…`, `kurrentdb://…`,
    /// `kurrentdb+discover://…`, `kurrent://…`, `kurrent+discover://…`.
    Kurrent(String),
}

/// A URL bangfu cannot open.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// Empty, or a scheme with nothing after it.
    #[error("empty store URL")]
    Empty,
    /// A scheme bangfu has no store for.
    #[error("unknown store scheme `{0}` (sqlite://, postgres://, esdb://, kurrentdb://)")]
    UnknownScheme(String),
}

impl StoreUrl {
    /// Parses a store URL. Anything without a `scheme://` is a SQLite path,
    /// so `--store ./data/bangfu.db` keeps working.
    pub fn parse(url: &str) -> Result<StoreUrl, UrlError> {
        let url = url.trim();
        if url.is_empty() {
            return Err(UrlError::Empty);
        }
        let Some((scheme, rest)) = url.split_once("://") else {
            if let Some(path) = url.strip_prefix("sqlite:") {
                return non_empty(path).map(|p| StoreUrl::Sqlite(PathBuf::from(p)));
            }
            return Ok(StoreUrl::Sqlite(PathBuf::from(url)));
        };
        match scheme.to_ascii_lowercase().as_str() {
            "sqlite" => non_empty(rest).map(|p| StoreUrl::Sqlite(PathBuf::from(p))),
            "postgres" | "postgresql" => {
                non_empty(rest)?;
                Ok(StoreUrl::Postgres(url.to_string()))
            }
            "esdb" | "esdb+discover" | "kurrentdb" | "kurrentdb+discover" | "kurrent"
            | "kurrent+discover" => {
                non_empty(rest)?;
                Ok(StoreUrl::Kurrent(url.to_string()))
            }
            other => Err(UrlError::UnknownScheme(other.to_string())),
        }
    }
}

fn non_empty(s: &str) -> Result<&str, UrlError> {
    if s.is_empty() {
        Err(UrlError::Empty)
    } else {
        Ok(s)
    }
}

/// One of bangfu's stores, chosen at run time. Cheap to clone.
#[derive(Clone, Debug)]
pub enum AnyStore {
    /// The embedded SQLite file.
    Sqlite(SqliteStore),
    /// PostgreSQL.
    Postgres(PgStore),
    /// KurrentDB.
    Kurrent(KurrentStore),
}

impl From<SqliteStore> for AnyStore {
    fn from(store: SqliteStore) -> Self {
        AnyStore::Sqlite(store)
    }
}

impl From<PgStore> for AnyStore {
    fn from(store: PgStore) -> Self {
        AnyStore::Postgres(store)
    }
}

impl From<KurrentStore> for AnyStore {
    fn from(store: KurrentStore) -> Self {
        AnyStore::Kurrent(store)
    }
}

/// Delegates a method call to whichever store this is.
/// Calls the same method on whichever store this is. The PostgreSQL and
/// KurrentDB futures are boxed: inline, the largest variant (KurrentDB's gRPC
/// calls) made every `AnyStore` future — and every future awaiting one, up to
/// a projector run — large enough to overflow a 2 MiB thread stack in debug
/// builds, even on SQLite.
macro_rules! delegate {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            AnyStore::Sqlite($store) => $call,
            AnyStore::Postgres($store) => Box::pin(async move { $call }).await,
            AnyStore::Kurrent($store) => Box::pin(async move { $call }).await,
        }
    };
}

impl AnyStore {
    /// Opens the store `url` names (see [`StoreUrl::parse`]), creating and
    /// migrating its schema if needed.
    pub async fn open(url: &str, reservations: ReservationExtractor) -> Result<Self, StoreError> {
        Ok(match StoreUrl::parse(url)? {
            StoreUrl::Sqlite(path) => SqliteStore::open(path, reservations).await?.into(),
            StoreUrl::Postgres(url) => PgStore::open(&url, reservations).await?.into(),
            StoreUrl::Kurrent(url) => KurrentStore::open(&url, reservations).await?.into(),
        })
    }

    /// Where the store is: the SQLite file, or the server's URL without its
    /// password.
    pub fn path(&self) -> &Path {
        match self {
            AnyStore::Sqlite(s) => s.path(),
            AnyStore::Postgres(s) => s.location(),
            AnyStore::Kurrent(s) => s.location(),
        }
    }

    /// The SQLite store, if this is one.
    pub fn as_sqlite(&self) -> Option<&SqliteStore> {
        match self {
            AnyStore::Sqlite(s) => Some(s),
            _ => None,
        }
    }

    /// The PostgreSQL store, if this is one.
    pub fn as_postgres(&self) -> Option<&PgStore> {
        match self {
            AnyStore::Postgres(s) => Some(s),
            _ => None,
        }
    }

    /// Closes the store's connections.
    pub async fn close(&self) {
        delegate!(self, s => s.close().await)
    }

    /// See [`SqliteStore::append`].
    pub async fn append(
        &self,
        aggregate_type: &str,
        events: &[SerializedEvent],
        snapshot: Option<(String, Value, usize)>,
    ) -> Result<Vec<Appended>, PersistenceError> {
        delegate!(self, s => s.append(aggregate_type, events, snapshot).await)
    }

    /// See [`SqliteStore::money_balances`].
    pub async fn money_balances(&self) -> Result<Vec<(String, String, i64)>, StoreError> {
        delegate!(self, s => s.money_balances().await)
    }

    /// See [`SqliteStore::reservation_holder`].
    pub async fn reservation_holder(
        &self,
        scope: Scope,
        key: &str,
    ) -> Result<Option<String>, StoreError> {
        delegate!(self, s => s.reservation_holder(scope, key).await)
    }

    /// See [`SqliteStore::history`].
    pub async fn history(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        delegate!(self, s => s.history(aggregate_type, aggregate_id).await)
    }

    /// Up to `limit` events after `after`, in log order: what projectors
    /// follow. See [`PgStore::read_all`] for why this is gap-safe.
    pub async fn read_all(
        &self,
        after: LogPosition,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.read_log(after, limit).await,
            AnyStore::Postgres(s) => Box::pin(s.read_all(after, limit)).await,
            AnyStore::Kurrent(s) => Box::pin(s.read_all(after, limit)).await,
        }
    }

    /// [`AnyStore::read_all`] as [`LogEvent`]s, what projectors read.
    pub async fn read_log_events(
        &self,
        after: LogPosition,
        limit: usize,
    ) -> Result<Vec<LogEvent>, StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.read_log_events(after, limit).await,
            AnyStore::Postgres(s) => Box::pin(s.read_log_events(after, limit)).await,
            AnyStore::Kurrent(s) => {
                Box::pin(async move {
                    Ok(s.read_all(after, limit)
                        .await?
                        .into_iter()
                        .map(LogEvent::from)
                        .collect())
                })
                .await
            }
        }
    }

    /// The position of the last event a reader of [`AnyStore::read_all`] can
    /// read now ([`LogPosition::START`] for an empty log). On PostgreSQL
    /// this lags the newest event while older transactions run (see
    /// [`PgStore::log_head`]).
    pub async fn log_head(&self) -> Result<LogPosition, StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.head_position().await.map(LogPosition::at),
            AnyStore::Postgres(s) => Box::pin(s.log_head()).await,
            AnyStore::Kurrent(s) => {
                Box::pin(async move {
                    Ok(s.last_event()
                        .await?
                        .map_or(LogPosition::START, |e| e.log_position))
                })
                .await
            }
        }
    }

    /// The newest event in log order.
    pub async fn last_event(&self) -> Result<Option<StoredEvent>, StoreError> {
        delegate!(self, s => s.last_event().await)
    }

    /// See [`SqliteStore::count_events`].
    pub async fn count_events(&self) -> Result<u64, StoreError> {
        delegate!(self, s => s.count_events().await)
    }

    /// See [`SqliteStore::streams`].
    pub async fn streams(&self, aggregate_type: &str) -> Result<Vec<String>, StoreError> {
        delegate!(self, s => s.streams(aggregate_type).await)
    }

    /// See [`SqliteStore::streams_with_event`].
    pub async fn streams_with_event(
        &self,
        aggregate_type: &str,
        event_type: &str,
        fields: &[(&str, &str)],
    ) -> Result<Vec<String>, StoreError> {
        delegate!(self, s => s.streams_with_event(aggregate_type, event_type, fields).await)
    }

    /// Every stream's head, sorted by aggregate type and id (byte order).
    pub async fn stream_heads(&self) -> Result<Vec<StreamHead>, StoreError> {
        delegate!(self, s => s.stream_heads().await)
    }

    /// See [`SqliteStore::import`].
    pub async fn import(&self, events: &[StoredEvent]) -> Result<(), StoreError> {
        delegate!(self, s => s.import(events).await)
    }

    /// See [`SqliteStore::verify_chains`].
    pub async fn verify_chains(&self) -> Result<ChainReport, StoreError> {
        delegate!(self, s => s.verify_chains().await)
    }

    /// See [`SqliteStore::verify_chain`].
    pub async fn verify_chain(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
    ) -> Result<ChainReport, StoreError> {
        delegate!(self, s => s.verify_chain(aggregate_type, aggregate_id).await)
    }
}

impl PersistedEventRepository for AnyStore {
    async fn get_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        delegate!(self, s => s.get_events::<A>(aggregate_id).await)
    }

    async fn get_last_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
        last_sequence: usize,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        delegate!(self, s => s.get_last_events::<A>(aggregate_id, last_sequence).await)
    }

    async fn get_snapshot<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<Option<SerializedSnapshot>, PersistenceError> {
        delegate!(self, s => s.get_snapshot::<A>(aggregate_id).await)
    }

    async fn persist<A: Aggregate>(
        &self,
        events: &[SerializedEvent],
        snapshot_update: Option<(String, Value, usize)>,
    ) -> Result<(), PersistenceError> {
        delegate!(self, s => s.persist::<A>(events, snapshot_update).await)
    }

    async fn stream_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<ReplayStream, PersistenceError> {
        delegate!(self, s => s.stream_events::<A>(aggregate_id).await)
    }

    async fn stream_all_events<A: Aggregate>(&self) -> Result<ReplayStream, PersistenceError> {
        delegate!(self, s => s.stream_all_events::<A>().await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_choose_the_store() {
        let sqlite = |p: &str| Ok(StoreUrl::Sqlite(PathBuf::from(p)));
        assert_eq!(StoreUrl::parse("sqlite://data/b.db"), sqlite("data/b.db"));
        assert_eq!(
            StoreUrl::parse("sqlite:///var/lib/b.db"),
            sqlite("/var/lib/b.db")
        );
        assert_eq!(StoreUrl::parse("sqlite:b.db"), sqlite("b.db"));
        assert_eq!(
            StoreUrl::parse("./bangfu-data/bangfu.db"),
            sqlite("./bangfu-data/bangfu.db")
        );
        for url in [
            "postgres://u@h/db",
            "postgresql://u:p@h:5432/db?sslmode=require",
        ] {
            assert_eq!(StoreUrl::parse(url), Ok(StoreUrl::Postgres(url.into())));
        }
        for url in [
            "esdb://localhost:2113?tls=false",
            "kurrentdb://admin:changeit@n1:2113",
            "esdb+discover://cluster:2113",
        ] {
            assert_eq!(StoreUrl::parse(url), Ok(StoreUrl::Kurrent(url.into())));
        }
        assert_eq!(
            StoreUrl::parse("mysql://h/db"),
            Err(UrlError::UnknownScheme("mysql".into()))
        );
        assert_eq!(StoreUrl::parse(""), Err(UrlError::Empty));
        assert_eq!(StoreUrl::parse("sqlite://"), Err(UrlError::Empty));
        assert_eq!(StoreUrl::parse("postgres://"), Err(UrlError::Empty));
    }
}
