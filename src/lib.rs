//! # bangfu
//!
//! The wiring around the domain crate: the embedded event store, the command
//! engine, the aggregates' services and the `bangfu` command line. This crate
//! is the only place that knows SQL, files and the clock; `domain` does no
//! I/O and `projections` only reads events it is given.
//!
//! - [`store`]: the event log, snapshots and reservations in one SQLite file
//!   ([`store::SqliteStore`], on sqlite-es's schema), in PostgreSQL
//!   ([`store::PgStore`], on postgres-es's) or in KurrentDB
//!   ([`store::KurrentStore`]), each a [`store::EventStore`], chosen by URL
//!   ([`store::AnyStore`], the trait object and cqrs-es's repository over it),
//!   with a per-stream hash chain an auditor can recompute.
//! - [`engine`]: runs an aggregate's commands — load, handle, commit — and
//!   returns what was committed or exactly why not ([`engine::ExecError`]).
//! - [`app`]: one store, one engine per aggregate, the services; the generic
//!   "run this JSON command" path.
//! - [`services`]: the aggregates' `Services`, answered from the store.
//! - [`projector`]: builds the views of the `projections` crate from the
//!   global log — rows and checkpoint in one transaction — and reads them;
//!   [`views`] prints them.
//! - [`clock`]: now, and the time zone business dates are taken in.
//! - [`input`]: JSON command bodies, parsed at the boundary.
//! - [`cli`], [`demo`]: the command line and its demonstration scenario;
//!   [`store_cli`]: `bangfu store copy`.
//! - [`http`]: `bangfu serve`, the HTTP API (axum): roles, idempotent
//!   commands, problem+json errors, OpenAPI at `/openapi.json`.
//! - [`users`]: the API's users, roles and hashed bearer tokens.
//! - [`metrics`]: Prometheus metrics at `/metrics`; [`backup`]: `bangfu
//!   backup` and `bangfu restore`.

#![forbid(unsafe_code)]

pub mod app;
pub mod backup;
pub mod cli;
pub mod clock;
pub mod demo;
pub mod engine;
pub mod finance;
pub mod http;
pub mod input;
pub mod metrics;
pub mod projector;
pub mod required;
pub mod services;
pub mod store;
pub mod store_cli;
pub mod users;
pub mod views;
