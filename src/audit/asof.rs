//! As of: an aggregate's state and any view as they stood at a point of the
//! past, folded from the event log in memory — never read from today's
//! tables.
//!
//! Three axes ([`AsOf`]):
//! - a **log position** (`--as-of-position`, `?as_of_position=`): every
//!   event up to and including it;
//! - a **recorded time** (`--as-of 2026-06-30T16:00:00Z`, RFC 3339): "what we
//!   knew then", the events recorded at or before it;
//! - a **business date** (`--as-of 2026-06-30`): "what was true then", the
//!   events whose business date is on or before it. An event's business date
//!   is the date it states for itself (a payment's `paid_on`, a visit's
//!   `visited_on`, a file's `opened_on`, a review's `reviewed_on`, a
//!   donation's `donated_on`, an appropriation's `received_on`), else the day it was recorded in the union's
//!   time zone. The two differ when a fact is recorded after the day it
//!   happened (a payment entered in July for June 28).
//!
//! Views are folded with the projections crate's own code: a
//! [`crate::projector::Projector`] reading a filtered log ([`AsOfLog`]) into
//! an in-memory [`MemoryViewStore`] that keeps one view's rows only (the
//! others' checkpoints stand past any event), so memory is one view's rows
//! plus a page of events. An aggregate is folded from its own stream.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use cqrs_es::Aggregate;
use domain::i18n::Lang;
use projections::rows::{RowKey, RowKind};
use projections::{StoredRow, ViewName};
use serde_json::Value;

use crate::app::App;
use crate::projector::{
    CommitBatch, Committed, Diff, LogReader, Projector, ProjectorError, RowFilter, Space, ViewStore,
};
use crate::store::{AnyStore, LogEvent, LogPosition, StoredEvent};

/// A point of the past.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AsOf {
    /// Every event up to and including this log position.
    Position(LogPosition),
    /// Every event recorded at or before this instant: what we knew then.
    Recorded(DateTime<Utc>),
    /// Every event whose business date is on or before this day: what was
    /// true then.
    Business(NaiveDate),
}

/// The payload fields that state an event's own business date.
const DATE_FIELDS: [&str; 6] = [
    "paid_on",
    "visited_on",
    "opened_on",
    "reviewed_on",
    "donated_on",
    "received_on",
];

/// Why a point could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadPoint {
    /// The parameter (`as_of`, `as_of_position`).
    pub field: &'static str,
    /// What it should be, in Chinese.
    pub zh: &'static str,
    /// What it should be, in English.
    pub en: &'static str,
}

impl BadPoint {
    /// The message in `lang`.
    pub fn message(&self, lang: Lang) -> String {
        lang.pick(self.zh, self.en).to_string()
    }
}

const BAD_AS_OF: BadPoint = BadPoint {
    field: "as_of",
    zh: "as_of 须为业务日期（YYYY-MM-DD）或记录时刻（RFC 3339，如 2026-06-30T16:00:00Z）",
    en: "as_of must be a business date (YYYY-MM-DD) or a recorded time (RFC 3339, such as 2026-06-30T16:00:00Z)",
};
const BAD_POSITION: BadPoint = BadPoint {
    field: "as_of_position",
    zh: "as_of_position 须为事件日志位置（如 42，或 PostgreSQL 上的 7301/42）",
    en: "as_of_position must be a log position (such as 42, or 7301/42 on PostgreSQL)",
};
const BOTH: BadPoint = BadPoint {
    field: "as_of",
    zh: "as_of 与 as_of_position 只能给一个",
    en: "give as_of or as_of_position, not both",
};

impl AsOf {
    /// `YYYY-MM-DD` (a business date) or RFC 3339 (a recorded time).
    pub fn parse_point(s: &str) -> Result<AsOf, BadPoint> {
        if s.len() == 10 {
            return NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(AsOf::Business)
                .map_err(|_| BAD_AS_OF);
        }
        DateTime::parse_from_rfc3339(s)
            .map(|t| AsOf::Recorded(t.with_timezone(&Utc)))
            .map_err(|_| BAD_AS_OF)
    }

    /// A log position: `N` (SQLite's bare row position) or `commit/N`.
    pub fn parse_position(s: &str) -> Result<AsOf, BadPoint> {
        let number = |s: &str| {
            (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse::<u64>().ok())
                .flatten()
        };
        let parsed = match s.split_once('/') {
            Some((commit, position)) => number(commit)
                .zip(number(position))
                .map(|(commit, position)| LogPosition { commit, position }),
            None => number(s).map(LogPosition::at),
        };
        parsed.map(AsOf::Position).ok_or(BAD_POSITION)
    }

    /// The point `as_of` or `as_of_position` names (at most one of them).
    pub fn from_options(
        as_of: Option<&str>,
        as_of_position: Option<&str>,
    ) -> Result<Option<AsOf>, BadPoint> {
        match (as_of, as_of_position) {
            (Some(_), Some(_)) => Err(BOTH),
            (Some(p), None) => AsOf::parse_point(p).map(Some),
            (None, Some(p)) => AsOf::parse_position(p).map(Some),
            (None, None) => Ok(None),
        }
    }

    /// The point for people: `位置 42`, `记录时刻 …`, `业务日期 …`.
    pub fn describe(&self, lang: Lang) -> String {
        match (self, lang) {
            (AsOf::Position(p), Lang::Zh) => format!("日志位置 {p}"),
            (AsOf::Position(p), Lang::En) => format!("log position {p}"),
            (AsOf::Recorded(t), Lang::Zh) => format!("记录时刻 {}（当时所知）", t.to_rfc3339()),
            (AsOf::Recorded(t), Lang::En) => {
                format!("recorded time {} (what we knew then)", t.to_rfc3339())
            }
            (AsOf::Business(d), Lang::Zh) => format!("业务日期 {d}（当时实情）"),
            (AsOf::Business(d), Lang::En) => format!("business date {d} (what was true then)"),
        }
    }

    /// Whether an event belongs to the past this point names. `payload` is
    /// only read on the business-date axis.
    pub fn includes(
        &self,
        position: LogPosition,
        recorded_at: Option<&str>,
        payload: impl FnOnce() -> Option<Value>,
        tz: Tz,
    ) -> bool {
        let recorded = || {
            recorded_at
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc))
        };
        match self {
            AsOf::Position(p) => position <= *p,
            // An event without a recorded time (imported) counts as known.
            AsOf::Recorded(t) => recorded().is_none_or(|r| r <= *t),
            AsOf::Business(d) => {
                let stated = payload().as_ref().and_then(stated_date);
                let date = stated.or_else(|| recorded().map(|r| r.with_timezone(&tz).date_naive()));
                date.is_none_or(|date| date <= *d)
            }
        }
    }

    /// Whether a stored event belongs to this past.
    pub fn includes_stored(&self, e: &StoredEvent, tz: Tz) -> bool {
        self.includes(
            e.log_position,
            e.recorded_at.as_deref(),
            || Some(e.payload.clone()),
            tz,
        )
    }

    /// Whether a log event belongs to this past.
    pub fn includes_log(&self, e: &LogEvent, tz: Tz) -> bool {
        self.includes(
            e.log_position,
            e.recorded_at.as_deref(),
            || serde_json::from_str(&e.payload).ok(),
            tz,
        )
    }
}

/// The business date an event states for itself, if any: a field of
/// [`DATE_FIELDS`] in the variant's object (`{"GrantPaid": {"paid_on": …}}`).
pub fn stated_date(payload: &Value) -> Option<NaiveDate> {
    let body = payload.as_object()?.values().next()?.as_object()?;
    DATE_FIELDS
        .iter()
        .find_map(|f| body.get(*f)?.as_str())
        .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
}

/// An aggregate as of a point: its state, the last sequence folded in, and
/// that event's log position. `None` if no event of the stream is in that
/// past (or the stream does not exist).
pub struct LoadedAsOf<A> {
    /// The state.
    pub aggregate: A,
    /// The number of events folded in.
    pub version: usize,
    /// The log position of the last one.
    pub position: LogPosition,
}

/// Folds one stream's events that belong to `point`'s past, oldest first,
/// with the aggregate's own `apply` (events read through the upcasters).
pub async fn load_as_of<A: Aggregate>(
    store: &AnyStore,
    id: &str,
    point: &AsOf,
    tz: Tz,
) -> Result<Option<LoadedAsOf<A>>, String> {
    let events = store
        .history(A::TYPE, id)
        .await
        .map_err(|e| e.to_string())?;
    let mut loaded: Option<LoadedAsOf<A>> = None;
    for e in events.iter().filter(|e| point.includes_stored(e, tz)) {
        let event =
            crate::app::engine::read_event::<A>(&e.event_type, &e.event_version, &e.payload)
                .ok_or_else(|| {
                    format!("event {} of {} {id} cannot be read", e.sequence, A::TYPE)
                })?;
        let l = loaded.get_or_insert_with(|| LoadedAsOf {
            aggregate: A::default(),
            version: 0,
            position: LogPosition::START,
        });
        l.aggregate.apply(event);
        l.version += 1;
        l.position = e.log_position;
    }
    Ok(loaded)
}

/// The store's log with only the events of one past.
pub struct AsOfLog {
    store: AnyStore,
    point: AsOf,
    tz: Tz,
}

impl AsOfLog {
    /// `store`'s log as of `point`.
    pub fn new(store: AnyStore, point: AsOf, tz: Tz) -> AsOfLog {
        AsOfLog { store, point, tz }
    }
}

fn storage(e: crate::store::StoreError) -> ProjectorError {
    ProjectorError::Storage(e.to_string())
}

#[async_trait::async_trait]
impl LogReader for AsOfLog {
    /// Up to `limit` included events after `after`; short only at the end
    /// of the log (or, by position, past the point).
    async fn read_page(
        &self,
        after: LogPosition,
        limit: usize,
    ) -> Result<Vec<LogEvent>, ProjectorError> {
        let mut out = Vec::new();
        let mut cursor = after;
        loop {
            let page = self
                .store
                .read_log_events(cursor, limit)
                .await
                .map_err(storage)?;
            let short = page.len() < limit;
            for e in page {
                cursor = e.log_position;
                if let AsOf::Position(p) = self.point {
                    if e.log_position > p {
                        return Ok(out);
                    }
                }
                if self.point.includes_log(&e, self.tz) {
                    out.push(e);
                    if out.len() >= limit {
                        return Ok(out);
                    }
                }
            }
            if short {
                return Ok(out);
            }
        }
    }

    async fn head(&self) -> Result<LogPosition, ProjectorError> {
        self.store.log_head().await.map_err(storage)
    }

    async fn count(&self) -> Result<u64, ProjectorError> {
        self.store.count_events().await.map_err(storage)
    }
}

/// Where the views that are not folded stand: past every event.
const NEVER: LogPosition = LogPosition {
    commit: u64::MAX,
    position: u64::MAX,
};

/// One view's rows in memory, for a fold as of a point: a
/// [`ViewStore`] with the live space only.
#[derive(Default)]
pub struct MemoryViewStore {
    views: Vec<ViewName>,
    state: Mutex<MemoryState>,
}

#[derive(Default)]
struct MemoryState {
    rows: BTreeMap<RowKey, StoredRow>,
    checkpoint: LogPosition,
}

impl MemoryViewStore {
    /// An empty store that folds `view` only — and the fund-balance view
    /// beside a view that quotes a fund's balance from it (plan period,
    /// payout ledger), folded to the same point.
    pub fn only(view: ViewName) -> MemoryViewStore {
        let mut views = vec![view];
        if matches!(view, ViewName::PlanPeriod | ViewName::PayoutLedger) {
            views.push(ViewName::FundBalances);
        }
        MemoryViewStore {
            views,
            state: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn not_here() -> ProjectorError {
        ProjectorError::Storage("views as of a point are read only".into())
    }
}

#[async_trait::async_trait]
impl ViewStore for MemoryViewStore {
    async fn checkpoints(
        &self,
        _: Space,
    ) -> Result<BTreeMap<ViewName, LogPosition>, ProjectorError> {
        let at = self.lock().checkpoint;
        Ok(ViewName::ALL
            .into_iter()
            .map(|v| (v, if self.views.contains(&v) { at } else { NEVER }))
            .collect())
    }

    async fn load(&self, _: Space, keys: &[RowKey]) -> Result<Vec<StoredRow>, ProjectorError> {
        let state = self.lock();
        Ok(keys
            .iter()
            .filter_map(|k| state.rows.get(k).cloned())
            .collect())
    }

    async fn commit(&self, _: Space, batch: &CommitBatch) -> Result<Committed, ProjectorError> {
        let mut state = self.lock();
        for m in &batch.checkpoints {
            // The views folded here move together from one checkpoint.
            if self.views.contains(&m.view) {
                if m.from != state.checkpoint && m.to != state.checkpoint {
                    return Ok(Committed::Conflict);
                }
                state.checkpoint = m.to;
            }
        }
        for row in &batch.rows {
            let key = RowKey::new(row.kind, row.key.clone());
            state.rows.insert(key, row.clone());
        }
        Ok(Committed::Done)
    }

    async fn reset(&self, _: Space, _: &[ViewName]) -> Result<(), ProjectorError> {
        Err(Self::not_here())
    }

    async fn promote(&self, _: &[ViewName]) -> Result<(), ProjectorError> {
        Err(Self::not_here())
    }

    async fn row(
        &self,
        _: Space,
        kind: RowKind,
        key: &str,
    ) -> Result<Option<StoredRow>, ProjectorError> {
        Ok(self.lock().rows.get(&RowKey::new(kind, key)).cloned())
    }

    async fn list(
        &self,
        _: Space,
        kind: RowKind,
        filter: &RowFilter,
        after_key: Option<&str>,
        limit: usize,
    ) -> Result<Vec<StoredRow>, ProjectorError> {
        let state = self.lock();
        let mut rows: Vec<StoredRow> = state
            .rows
            .values()
            .filter(|r| r.kind == kind)
            .filter(|r| filter.parent.as_ref().is_none_or(|p| &r.parent == p))
            .filter(|r| filter.tag.as_ref().is_none_or(|t| &r.tag == t))
            .filter(|r| after_key.is_none_or(|a| r.key.as_str() > a))
            .cloned()
            .collect();
        rows.sort_by(|a, b| a.key.as_bytes().cmp(b.key.as_bytes()));
        rows.truncate(limit);
        Ok(rows)
    }

    async fn diff(&self, _: &[ViewName], _: usize) -> Result<Diff, ProjectorError> {
        Err(Self::not_here())
    }
}

/// An [`App`] on the same store whose projector holds `view` as of
/// `point`, folded in memory, and the position of the last event folded in
/// ([`LogPosition::START`] if none). The report functions of
/// [`crate::read::reports`] read it exactly as they read the live views.
pub async fn app_as_of(
    app: &App,
    view: ViewName,
    point: &AsOf,
) -> Result<(App, LogPosition), ProjectorError> {
    settled(&app.store, point).await?;
    let log = Arc::new(AsOfLog::new(app.store.clone(), *point, app.clock.tz()));
    let views = Arc::new(MemoryViewStore::only(view));
    let projector = Projector::new(log, views);
    let at = projector.catch_up().await?.position;
    let mut past = App::on(app.store.clone()).with_clock(app.clock.clone());
    past.projector = Arc::new(projector);
    Ok((past, at))
}

/// Waits (at most [`crate::projector::READ_YOUR_WRITES_WAIT`]) until every
/// event committed before the read — up to the point, for a position — can
/// be read: on PostgreSQL a committed event becomes readable only once the
/// older transactions of the cluster have ended.
pub async fn settled(store: &AnyStore, point: &AsOf) -> Result<(), ProjectorError> {
    let newest = store.last_event().await.map_err(storage)?;
    let Some(mut target) = newest.map(|e| e.log_position) else {
        return Ok(());
    };
    if let AsOf::Position(p) = point {
        target = target.min(*p);
    }
    let deadline = tokio::time::Instant::now() + crate::projector::READ_YOUR_WRITES_WAIT;
    let mut pause = std::time::Duration::from_millis(2);
    while store.log_head().await.map_err(storage)? < target {
        if tokio::time::Instant::now() >= deadline {
            return Err(ProjectorError::Storage(format!(
                "the log is not readable up to position {target} yet; retry"
            )));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(std::time::Duration::from_millis(100));
    }
    Ok(())
}
