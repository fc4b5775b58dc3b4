//! bangfu's integration tests: one binary, one module per area, shared
//! helpers in `support`.

mod app;
mod backends;
mod bench_harness;
mod cli;
mod concurrency;
mod conformance;
mod demo;
mod http;
mod inputs;
mod pg;
mod postgres;
mod projections;
mod store;
mod store_copy;
mod support;
