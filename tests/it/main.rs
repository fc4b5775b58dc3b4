//! bangfu's integration tests: one binary, one module per area, shared
//! helpers in `support`.

mod app;
mod backends;
mod bench_harness;
mod bounds;
mod cli;
mod concurrency;
mod conformance;
mod demo;
mod evolve;
mod http;
mod inputs;
mod money;
mod ops;
mod pg;
mod postgres;
mod projections;
mod readme;
mod store;
mod store_copy;
mod support;
