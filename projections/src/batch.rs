//! Applying a batch of events to the views: the pure half of a projector.
//!
//! A projector (in the `bangfu` crate) reads a page of the global log,
//! asks [`declare`] which rows the page touches, loads those rows into a
//! [`RowSet`], calls [`apply`], and writes the changed rows together with
//! each view's new checkpoint in one transaction. Each view only sees the
//! events after its own checkpoint, so views at different checkpoints can
//! share one read of the log.
//!
//! [`MemoryViews`] does the same entirely in memory: the reference the
//! stored views are tested against.

use std::collections::BTreeMap;

use crate::event::Recorded;
use crate::position::LogPosition;
use crate::rows::{ProjectionError, Row, RowKey, RowKind, RowSet, ViewRow};
use crate::views::plan::{PlanClaimRow, PlanPeriodReport, PlanPeriodRow, PlanUnitRow};
use crate::views::ViewName;

/// A view and the position it has applied up to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    /// The view.
    pub view: ViewName,
    /// The last position applied ([`LogPosition::START`] before any).
    pub checkpoint: LogPosition,
}

/// Declares in `rows` every row the `events` may touch in the `views`
/// (each view only for events after its checkpoint).
pub fn declare(views: &[Cursor], events: &[Recorded], rows: &mut RowSet) {
    let mut keys = Vec::new();
    for ev in events {
        for cursor in views.iter().filter(|c| ev.position > c.checkpoint) {
            cursor.view.keys(ev, &mut keys);
        }
        for key in keys.drain(..) {
            rows.declare(key);
        }
    }
}

/// Applies `events`, in order, to the `views` (each only after its checkpoint).
pub fn apply(
    views: &[Cursor],
    events: &[Recorded],
    rows: &mut RowSet,
) -> Result<(), ProjectionError> {
    for ev in events {
        for cursor in views.iter().filter(|c| ev.position > c.checkpoint) {
            cursor.view.apply(ev, rows)?;
        }
    }
    Ok(())
}

/// Every view, held in memory: the reference implementation of the stored
/// views (same code path as a projector, no storage).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MemoryViews {
    rows: BTreeMap<RowKey, (Row, LogPosition)>,
    position: LogPosition,
}

impl MemoryViews {
    /// No events applied.
    pub fn new() -> MemoryViews {
        MemoryViews::default()
    }

    /// Applies events after the current position, as one batch.
    pub fn apply(&mut self, events: &[Recorded]) -> Result<(), ProjectionError> {
        let views: Vec<Cursor> = ViewName::ALL
            .into_iter()
            .map(|view| Cursor {
                view,
                checkpoint: self.position,
            })
            .collect();
        let mut set = RowSet::new();
        declare(&views, events, &mut set);
        let declared: Vec<RowKey> = set.keys().cloned().collect();
        for key in declared {
            if let Some((row, position)) = self.rows.get(&key) {
                set.load(key, row.clone(), *position);
            }
        }
        apply(&views, events, &mut set)?;
        for (key, row, position) in set.changed() {
            self.rows.insert(key.clone(), (row.clone(), position));
        }
        if let Some(last) = events.iter().map(|e| e.position).max() {
            self.position = self.position.max(last);
        }
        Ok(())
    }

    /// The last position applied.
    pub fn position(&self) -> LogPosition {
        self.position
    }

    /// One row.
    pub fn get<T: ViewRow>(&self, key: &RowKey) -> Option<&T> {
        self.rows.get(key).and_then(|(row, _)| T::of(row))
    }

    /// The rows of `T`'s kind listed under `parent`, in key order.
    pub fn children<T: ViewRow>(&self, parent: &str) -> Vec<&T> {
        self.rows
            .iter()
            .filter(|(k, _)| k.kind == T::KIND)
            .filter_map(|(_, (row, _))| T::of(row))
            .filter(|r| r.parent() == parent)
            .collect()
    }

    /// Every row of `T`'s kind, in key order.
    pub fn all<T: ViewRow>(&self) -> Vec<&T> {
        self.rows
            .iter()
            .filter(|(k, _)| k.kind == T::KIND)
            .filter_map(|(_, (row, _))| T::of(row))
            .collect()
    }

    /// Every row as stored: kind, key, parent, tag, JSON document, position.
    pub fn stored(&self) -> Result<Vec<StoredRow>, ProjectionError> {
        self.rows
            .iter()
            .map(|(key, (row, position))| StoredRow::of(key, row, *position))
            .collect()
    }

    /// The plan-period report of `plan_id`.
    pub fn plan_period(&self, plan_id: &str) -> Option<PlanPeriodReport> {
        let period = self
            .get::<PlanPeriodRow>(&crate::views::plan::period_key(plan_id))?
            .clone();
        let units = self
            .children::<PlanUnitRow>(plan_id)
            .into_iter()
            .cloned()
            .collect::<Vec<_>>();
        let mut report = PlanPeriodReport::new(period, units);
        for claim in self.children::<PlanClaimRow>(plan_id) {
            report.add_claim(claim);
        }
        Some(report)
    }
}

/// A row in its stored form.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct StoredRow {
    /// Its kind.
    pub kind: RowKind,
    /// Its key.
    pub key: String,
    /// The row it is listed under.
    pub parent: String,
    /// Its filter tag.
    pub tag: String,
    /// Its JSON document.
    pub doc: String,
    /// The last event that changed it.
    pub position: LogPosition,
}

impl StoredRow {
    /// `row`, at `key`, last changed at `position`, in its stored form.
    pub fn of(
        key: &RowKey,
        row: &Row,
        position: LogPosition,
    ) -> Result<StoredRow, ProjectionError> {
        Ok(StoredRow {
            kind: key.kind,
            key: key.key.clone(),
            parent: row.parent(),
            tag: row.tag(),
            doc: row.to_doc()?,
            position,
        })
    }
}
