//! bangfu's integration tests: one binary, one module per area, shared
//! helpers in `support`.

mod http;
mod store;
mod support;
