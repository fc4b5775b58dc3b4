//! What aggregates' `Services` have in common.

/// A lookup behind an aggregate's `Services` could not be answered (store down,
/// timeout). The command is refused with the aggregate's `service_unavailable`
/// error; nothing is written.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("service unavailable: {0}")]
pub struct ServiceError(pub String);
