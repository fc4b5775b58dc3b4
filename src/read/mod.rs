//! The read side shared by the CLI, the HTTP API and (later) the web pages:
//! queries over the views ([`reports`]), how personal data is shown
//! ([`mask`]) and documents as CSV/XLSX files ([`export`]). Reads only;
//! below the interfaces, above the projector.

pub mod export;
pub mod mask;
pub mod reports;
