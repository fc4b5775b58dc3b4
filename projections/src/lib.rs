//! # bangfu projections
//!
//! The read models of bangfu — the views auditors, caseworkers and finance
//! staff read — and the pure logic that builds them from the global event log.
//!
//! This crate does no I/O (like `domain`): it is handed decoded events with
//! their global position and metadata, and rows loaded by the caller, and
//! says which rows change. The `bangfu` crate owns the projector that reads
//! the log, loads and writes rows and checkpoints in one transaction.
//!
//! - [`event`]: events as projections see them; [`event::decode`].
//! - [`rows`]: the storage model — `(kind, key, parent, tag, doc, position)`
//!   rows — and [`rows::RowSet`], the working set of a batch.
//! - [`views`]: the five views — [`views::household`] (一户一档),
//!   [`views::plan`] (plan period), [`views::ledger`] (payout ledger),
//!   [`views::campaign`] (一日捐), [`views::funds`] (fund balances).
//! - [`position`]: [`LogPosition`], a place in the global log (views'
//!   checkpoints and rows' last change).
//! - [`batch`]: applying a page of the log to views at their checkpoints;
//!   [`batch::MemoryViews`], the in-memory reference.

#![forbid(unsafe_code)]

pub mod batch;
pub mod event;
pub mod position;
pub mod rows;
pub mod views;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

#[cfg(test)]
mod tests;

pub use batch::{Cursor, MemoryViews, StoredRow};
pub use event::{decode, CaseEvent, DecodeError, Recorded};
pub use position::LogPosition;
pub use rows::{ProjectionError, Row, RowKey, RowKind, RowSet, ViewRow};
pub use views::ViewName;
