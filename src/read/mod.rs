//! The read side shared by the CLI, the HTTP API and (later) the web pages:
//! queries over the views ([`reports`]) and how personal data is shown
//! ([`mask`]). Reads only; below the interfaces, above the projector.

pub mod mask;
pub mod reports;
