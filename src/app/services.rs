//! The aggregates' `Services`, answered from the event store.
//!
//! Each lookup reads committed state: reservations for "is this key taken",
//! aggregates loaded from their streams for enrolment and plan terms. The plan
//! is read through its own cached [`Engine`] (a claim's submission asks about
//! the plan twice; deserializing a 14,000-member roster each time would cost
//! more than the rest of the command). A lookup is advisory — it lets a command be
//! refused with a precise error — while the store's reservations make the
//! uniqueness rules hold even under races.

use std::sync::Arc;

use chrono::NaiveDate;
use cqrs_es::persist::PersistedEventStore;
use cqrs_es::EventStore;
use domain::donation::{AllocationTarget, DonationCampaignServices};
use domain::hardship::{HardshipFile, HardshipFileServices};
use domain::mutual_aid::claim::{stay_key, MutualAidClaimServices, PlanFacts};
use domain::mutual_aid::{Enrolment, MutualAidClaim, MutualAidPlan};
use domain::reservation::Scope;
use domain::services::ServiceError;
use domain::values::{Code, Fen, ResidentId};

use crate::app::engine::{self, Engine};
use crate::app::{PLAN_CACHE_STREAMS, PLAN_SNAPSHOT_EVERY};
use crate::store::AnyStore;

/// `Services` for every aggregate, over one store.
pub struct StoreServices {
    store: AnyStore,
    plans: Engine<MutualAidPlan>,
    files: PersistedEventStore<AnyStore, HardshipFile>,
    claims: PersistedEventStore<AnyStore, MutualAidClaim>,
}

impl StoreServices {
    /// Services reading `store` (any of bangfu's stores).
    pub fn new(store: impl Into<AnyStore>) -> Self {
        let store: AnyStore = store.into();
        StoreServices {
            plans: Engine::new(store.clone(), (), Some(PLAN_SNAPSHOT_EVERY))
                .with_cache(PLAN_CACHE_STREAMS),
            files: engine::loader(store.clone()),
            claims: engine::loader(store.clone()),
            store,
        }
    }

    async fn plan(&self, plan_id: &Code) -> Result<Option<Arc<MutualAidPlan>>, ServiceError> {
        let plan = self
            .plans
            .load_shared(plan_id.as_str())
            .await
            .map_err(unavailable)?;
        Ok((plan.version > 0).then_some(plan.aggregate))
    }
}

fn unavailable(e: impl std::fmt::Display) -> ServiceError {
    ServiceError(e.to_string())
}

#[async_trait::async_trait]
impl HardshipFileServices for StoreServices {
    async fn open_file_for_resident(
        &self,
        resident: &ResidentId,
    ) -> Result<Option<String>, ServiceError> {
        self.store
            .reservation_holder(Scope::OpenFileByResident, resident.expose())
            .await
            .map_err(unavailable)
    }
}

#[async_trait::async_trait]
impl MutualAidClaimServices for StoreServices {
    async fn plan_period(&self, plan_id: &Code) -> Result<Option<PlanFacts>, ServiceError> {
        Ok(self.plan(plan_id).await?.and_then(|p| p.plan_facts()))
    }

    async fn enrolment(
        &self,
        plan_id: &Code,
        member: &ResidentId,
    ) -> Result<Option<Enrolment>, ServiceError> {
        Ok(self.plan(plan_id).await?.and_then(|p| p.enrolment(member)))
    }

    async fn stay_claimed_by(
        &self,
        member: &ResidentId,
        admitted_on: NaiveDate,
    ) -> Result<Option<String>, ServiceError> {
        self.store
            .reservation_holder(Scope::ClaimedStay, &stay_key(member, admitted_on))
            .await
            .map_err(unavailable)
    }

    /// Advisory, for the precise early refusal (and the assessment's input):
    /// two approvals racing could both pass it. The store's member-cap
    /// account (`domain::money`) is the guarantee.
    async fn subsidies_in_period(
        &self,
        plan_id: &Code,
        member: &ResidentId,
        except_claim: &str,
    ) -> Result<Fen, ServiceError> {
        let claim_ids = self
            .store
            .streams_with_event(
                <MutualAidClaim as cqrs_es::Aggregate>::TYPE,
                "ClaimSubmitted",
                &[("plan_id", plan_id.as_str()), ("member", member.expose())],
            )
            .await
            .map_err(unavailable)?;
        let mut total = Fen::ZERO;
        for id in claim_ids.iter().filter(|id| id.as_str() != except_claim) {
            let claim = self.claims.load_aggregate(id).await.map_err(unavailable)?;
            total = total
                .checked_add(claim.aggregate.decided_subsidy_fen())
                .map_err(unavailable)?;
        }
        Ok(total)
    }
}

#[async_trait::async_trait]
impl DonationCampaignServices for StoreServices {
    async fn allocation_target_exists(
        &self,
        target: &AllocationTarget,
    ) -> Result<bool, ServiceError> {
        match target {
            AllocationTarget::HardshipMeasure {
                file_id,
                measure_id,
            } => {
                let file = self
                    .files
                    .load_aggregate(file_id.as_str())
                    .await
                    .map_err(unavailable)?;
                Ok(file.current_sequence > 0 && file.aggregate.measure(measure_id).is_some())
            }
            AllocationTarget::Claim { claim_id } => {
                let claim = self
                    .claims
                    .load_aggregate(claim_id.as_str())
                    .await
                    .map_err(unavailable)?;
                Ok(claim.current_sequence > 0)
            }
            AllocationTarget::DesignatedBeneficiary => Ok(true),
        }
    }
}
