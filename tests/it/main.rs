//! bangfu's integration tests: one binary, one module per area, shared
//! helpers in `support`.

mod backends;
mod conformance;
mod pg;
mod postgres;
mod store;
mod store_copy;
mod support;
