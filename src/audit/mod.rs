//! Audit: the past as it stood, payouts re-derived, segregation of duties,
//! the read-access log.

pub mod access_log;
pub mod asof;
pub mod rederive;
pub mod sod;
