//! Facts a donation campaign needs from outside itself: whether the hardship
//! measure or mutual-aid claim an allocation names exists. Implemented in the
//! `bangfu` crate over the projections; an in-memory stub in tests.

use super::commands::AllocationTarget;
use crate::services::ServiceError;

/// Lookups behind [`super::DonationCampaign`]'s commands.
#[async_trait::async_trait]
pub trait DonationCampaignServices: Send + Sync {
    /// Whether `target` names an existing hardship measure or claim. Never
    /// asked about [`AllocationTarget::DesignatedBeneficiary`]: the campaign
    /// itself names that beneficiary.
    async fn allocation_target_exists(
        &self,
        target: &AllocationTarget,
    ) -> Result<bool, ServiceError>;
}
