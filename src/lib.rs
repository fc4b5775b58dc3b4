//! # bangfu
//!
//! The wiring around the domain crate: the embedded event store, the command
//! engine, the aggregates' services and the `bangfu` command line. This crate
//! is the only place that knows SQL, files and the clock; `domain` does no
//! I/O and `projections` only reads events it is given.
//!
//! Rooms along the data path, bottom to top; each imports only from rooms
//! below it:
//!
//! - [`store`]: the event log, snapshots, reservations and money balances in
//!   one SQLite file ([`store::SqliteStore`], on sqlite-es's schema), in
//!   PostgreSQL ([`store::PgStore`], on postgres-es's) or in KurrentDB
//!   ([`store::KurrentStore`]), each a [`store::EventStore`], chosen by URL
//!   ([`store::AnyStore`]), with a per-stream hash chain an auditor can
//!   recompute.
//! - [`projector`]: builds the views of the `projections` crate from the
//!   global log — rows and checkpoint in one transaction — and reads them.
//! - [`app`]: the write side — one store, one [`app::engine::Engine`] per
//!   aggregate, the services, JSON command bodies ([`app::input`]) and the
//!   business clock ([`app::clock`]).
//! - [`access`]: the API's users, roles and hashed bearer tokens, and the
//!   permission matrix.
//! - [`read`]: the read side every interface shares: reports over the views,
//!   masking of personal data.
//! - [`files`]: files people take away and bring back — tables as CSV
//!   (UTF-8 with BOM, GBK) and XLSX, bank batch files, result-file import
//!   and matching; pure bytes in and out.
//! - [`cli`]: the `bangfu` command line (views, users, store copy, backup,
//!   the demonstration scenario).
//! - [`http`]: `bangfu serve`, the HTTP API (axum): roles, idempotent
//!   commands, problem+json errors, OpenAPI at `/openapi.json`, metrics.

#![forbid(unsafe_code)]

pub mod access;
pub mod app;
pub mod audit;
pub mod cli;
pub mod files;
pub mod http;
pub mod projector;
pub mod read;
pub mod store;
