//! Facts a claim needs from outside itself: the plan period's terms and
//! roster, and the member's other claims. Implemented by the store.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::mutual_aid::policy::Policy;
use crate::mutual_aid::Enrolment;
use crate::services::ServiceError;
use crate::values::{Code, Fen, ResidentId};

/// What a claim needs to know about its plan period.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct PlanFacts {
    /// First day of cover.
    pub starts_on: NaiveDate,
    /// Last day of cover.
    pub ends_on: NaiveDate,
    /// Still open for enrolment. Informational: a closed period still pays
    /// claims for stays inside it.
    pub open: bool,
    /// The period's policy.
    pub policy: Policy,
}

/// Lookups behind [`super::MutualAidClaim`]'s commands.
#[async_trait::async_trait]
pub trait MutualAidClaimServices: Send + Sync {
    /// The plan period `plan_id`, if it has been opened.
    async fn plan_period(&self, plan_id: &Code) -> Result<Option<PlanFacts>, ServiceError>;

    /// The member's current enrolment in `plan_id`, if any.
    async fn enrolment(
        &self,
        plan_id: &Code,
        member: &ResidentId,
    ) -> Result<Option<Enrolment>, ServiceError>;

    /// The id of the live claim (not finally rejected) holding this member's
    /// stay admitted on `admitted_on`, if any (the `claimed_stay` reservation).
    async fn stay_claimed_by(
        &self,
        member: &ResidentId,
        admitted_on: NaiveDate,
    ) -> Result<Option<String>, ServiceError>;

    /// The member's approved and paid subsidies in `plan_id`, over all their
    /// claims except `except_claim`.
    async fn subsidies_in_period(
        &self,
        plan_id: &Code,
        member: &ResidentId,
        except_claim: &str,
    ) -> Result<Fen, ServiceError>;
}
