//! # bangfu
//!
//! The wiring around the domain crate: the embedded event store and the
//! command engine (and, later, the CLI and HTTP service). This crate is the
//! only place that knows SQL; `domain` does no I/O and `projections` only
//! reads events it is given.
//!
//! - [`store`]: the event log, snapshots and reservations in one SQLite file
//!   ([`store::SqliteStore`], a cqrs-es `PersistedEventRepository` built on
//!   sqlite-es), with a per-stream hash chain an auditor can recompute.
//! - [`engine`]: runs an aggregate's commands — load, handle, commit — and
//!   returns what was committed or exactly why not ([`engine::ExecError`]).

#![forbid(unsafe_code)]

pub mod engine;
pub mod store;
