//! Store URLs, and [`AnyStore`]: whichever store a URL names, as the
//! [`EventStore`] trait object, so the engine, the services, the CLI and the
//! conformance tests are written once.

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cqrs_es::persist::{
    PersistedEventRepository, PersistenceError, ReplayStream, SerializedEvent, SerializedSnapshot,
};
use cqrs_es::Aggregate;
use serde_json::Value;

use super::{EventStore, KurrentStore, PgStore, ReservationExtractor, SqliteStore, StoreError};

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

/// Whichever store a URL names: a cheap handle (an `Arc`) on the
/// [`EventStore`] trait object, which it dereferences to. It also implements
/// cqrs-es's `PersistedEventRepository` (generic methods, so not on the trait
/// object itself) for `PersistedEventStore`'s loading and upcasting.
#[derive(Clone, Debug)]
pub struct AnyStore(Arc<dyn EventStore>);

impl<S: EventStore> From<S> for AnyStore {
    fn from(store: S) -> Self {
        AnyStore(Arc::new(store))
    }
}

impl From<Arc<dyn EventStore>> for AnyStore {
    fn from(store: Arc<dyn EventStore>) -> Self {
        AnyStore(store)
    }
}

impl Deref for AnyStore {
    type Target = dyn EventStore;

    fn deref(&self) -> &Self::Target {
        &*self.0
    }
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

    /// The trait object.
    pub fn kernel(&self) -> &Arc<dyn EventStore> {
        &self.0
    }

    /// Where the store is (see [`EventStore::location`]).
    pub fn path(&self) -> &Path {
        self.0.location()
    }

    /// The SQLite store, if this is one.
    pub fn as_sqlite(&self) -> Option<&SqliteStore> {
        self.0.as_any().downcast_ref()
    }

    /// The PostgreSQL store, if this is one.
    pub fn as_postgres(&self) -> Option<&PgStore> {
        self.0.as_any().downcast_ref()
    }
}

/// cqrs-es's repository over the trait object: `A::TYPE` names the stream's
/// aggregate type; `persist` is [`EventStore::append`].
/// cqrs-es's repository over the trait object. Its methods are generic over
/// the aggregate, so here — and only here — the framework's own readers can
/// serve: a stream's events and its snapshot come from sqlite-es or
/// postgres-es on those stores (as the design has it), from the trait
/// elsewhere; so do the events after a cached version on PostgreSQL
/// (postgres-es binds that sequence `as i32`: fine below 2³¹ events in one
/// stream, which the domain's limits keep far away). On SQLite that read is
/// bangfu's: sqlite-es writes the sequence into the SQL text, a new
/// statement to prepare per call.
impl PersistedEventRepository for AnyStore {
    async fn get_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        if let Some(sqlite) = self.as_sqlite() {
            return sqlite.sqlite_es().get_events::<A>(aggregate_id).await;
        }
        if let Some(pg) = self.as_postgres() {
            return pg.postgres_es().get_events::<A>(aggregate_id).await;
        }
        self.0.stream_events_after(A::TYPE, aggregate_id, 0).await
    }

    async fn get_last_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
        last_sequence: usize,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        if let Some(pg) = self.as_postgres() {
            return pg
                .postgres_es()
                .get_last_events::<A>(aggregate_id, last_sequence)
                .await;
        }
        self.0
            .stream_events_after(A::TYPE, aggregate_id, last_sequence)
            .await
    }

    async fn get_snapshot<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<Option<SerializedSnapshot>, PersistenceError> {
        if let Some(sqlite) = self.as_sqlite() {
            return sqlite.sqlite_es().get_snapshot::<A>(aggregate_id).await;
        }
        if let Some(pg) = self.as_postgres() {
            return pg.postgres_es().get_snapshot::<A>(aggregate_id).await;
        }
        self.0.snapshot(A::TYPE, aggregate_id).await
    }

    async fn persist<A: Aggregate>(
        &self,
        events: &[SerializedEvent],
        snapshot_update: Option<(String, Value, usize)>,
    ) -> Result<(), PersistenceError> {
        self.0
            .append(A::TYPE, events, snapshot_update)
            .await
            .map(drop)
    }

    async fn stream_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<ReplayStream, PersistenceError> {
        self.0.replay(A::TYPE, Some(aggregate_id)).await
    }

    async fn stream_all_events<A: Aggregate>(&self) -> Result<ReplayStream, PersistenceError> {
        self.0.replay(A::TYPE, None).await
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
