//! bangfu's integration tests: one binary, one module per area, shared
//! helpers in `support`.

mod bench_harness;
mod concurrency;
mod store;
mod support;
