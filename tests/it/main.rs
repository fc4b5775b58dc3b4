//! bangfu's integration tests: one binary, one module per area, shared
//! helpers in `support`.

mod app;
mod cli;
mod demo;
mod store;
mod support;
