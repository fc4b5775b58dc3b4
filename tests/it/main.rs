//! bangfu's integration tests: one binary, one module per area, shared
//! helpers in `support`.

mod projections;
mod store;
mod support;
