//! Medical mutual aid (职工医疗互助).
//!
//! Units enrol their workers in a *plan period* (互助期) and pay a contribution
//! (互助金) for them; a member hospitalised with a serious illness claims a
//! tiered fixed subsidy (大病补助), assessed by the period's policy, approved by
//! a second person and paid from the mutual-aid fund.
//!
//! - [`policy`]: the versioned subsidy policy and the pure [`policy::assess`].
//! - [`plan`]: the [`plan::MutualAidPlan`] aggregate — one plan period, its
//!   policy and its roster of enrolled members (tens of thousands).
//! - [`claim`]: the [`claim::MutualAidClaim`] aggregate — one claim for one
//!   hospital stay, from submission to payment.
//!
//! Plans and claims are separate aggregates because a period lives for a year
//! with tens of thousands of members while claims are few and short; a claim
//! reads the plan's facts through its `Services`, and "one claim per stay" is
//! a store-enforced reservation.

use serde::{Deserialize, Serialize};

use crate::values::Code;

pub mod claim;
pub mod plan;
pub mod policy;

/// A member's enrolment in a plan period: through which unit, and whether as
/// a migrant worker (农民工, who get the migrant uplift).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Hash)]
#[serde(deny_unknown_fields)]
pub struct Enrolment {
    /// The enrolling unit.
    pub unit_id: Code,
    /// Enrolled as a migrant worker.
    pub migrant_worker: bool,
}

#[cfg(test)]
mod test_support;

pub use claim::{MutualAidClaim, MutualAidClaimCommand, MutualAidClaimError, MutualAidClaimEvent};
pub use plan::{MutualAidPlan, MutualAidPlanCommand, MutualAidPlanError, MutualAidPlanEvent};
