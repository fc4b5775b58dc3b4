//! The plan-period view: what an auditor expects of one mutual-aid period —
//! the policy version; units and members enrolled; contributions per unit and
//! in total; claims by state; subsidies assessed, approved and paid; the
//! period's own net (contributions and donations allocated to its claims,
//! minus subsidies paid) beside the
//! mutual-aid fund's balance as the fund-balance view states it (the one
//! balance; see [`super::funds`]); a per-unit breakdown.
//!
//! Three row kinds: the period ([`PlanPeriodRow`], its terms and enrolment
//! totals), one row per unit ([`PlanUnitRow`]) and one per claim
//! ([`PlanClaimRow`], masked). The report ([`PlanPeriodReport`]) is composed
//! from them when read, so a claim event only ever touches its own row — a
//! claim's document review does not even name its period.
//!
//! Subsidy figures are cumulative stages: `assessed` sums the standing
//! eligible assessment of every claim assessed, approved or paid; `approved`
//! the approved subsidy of every claim approved or paid; `paid` what was paid.

use chrono::{DateTime, NaiveDate, Utc};
use domain::donation::{AllocationTarget, DonationCampaignEvent};
use domain::i18n::Lang;
use domain::mutual_aid::claim::ClaimStatus;
use domain::mutual_aid::plan::Payer;
use domain::mutual_aid::policy::{Assessment, Policy, RejectReason};
use domain::mutual_aid::{MutualAidClaimEvent, MutualAidPlanEvent};
use domain::values::Fen;
use serde::{Deserialize, Serialize};

use super::household::{add, sum};
use crate::event::{CaseEvent, Recorded};
use crate::rows::{ProjectionError, RowKey, RowKind, RowSet};

/// Open for enrolment or closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PeriodState {
    /// 进行中.
    Open,
    /// 已结束.
    Closed,
}

impl PeriodState {
    /// For people.
    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            PeriodState::Open => lang.pick("进行中", "open"),
            PeriodState::Closed => lang.pick("已结束", "closed"),
        }
    }
}

/// A plan period's terms and enrolment totals.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlanPeriodRow {
    /// The plan id.
    pub plan_id: String,
    /// e.g. 莆田市职工医疗互助第七期.
    pub name: String,
    /// 第七期 → 7.
    pub period_no: u32,
    /// First day of cover.
    pub starts_on: NaiveDate,
    /// Last day of cover.
    pub ends_on: NaiveDate,
    /// The policy the period was opened with (its `version` decides claims).
    pub policy: Policy,
    /// Open or closed.
    pub status: PeriodState,
    /// Units enrolled.
    pub units: u64,
    /// Members currently enrolled.
    pub members: u64,
    /// Contributions collected, amendments included.
    pub contributions_fen: Fen,
    /// Roster amendments.
    pub amendments: u64,
    /// Who opened it.
    pub opened_by: String,
    /// When.
    pub opened_at: DateTime<Utc>,
    /// Who closed it.
    pub closed_by: Option<String>,
    /// When.
    pub closed_at: Option<DateTime<Utc>>,
}

crate::view_row_impl!(PlanPeriodRow, PlanPeriod);

/// One unit of a period.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlanUnitRow {
    /// The period.
    pub plan_id: String,
    /// The unit.
    pub unit_id: String,
    /// Its name.
    pub unit_name: String,
    /// Members currently enrolled through it.
    pub members: u64,
    /// Contributions paid for it, amendments included.
    pub contribution_fen: Fen,
    /// The sponsor who paid, when not the unit (free cover for gig workers).
    pub sponsor: Option<String>,
    /// Roster amendments.
    pub amendments: u64,
    /// When it enrolled.
    pub enrolled_at: DateTime<Utc>,
}

crate::view_row_impl!(PlanUnitRow, PlanUnit, parent = |r| r.plan_id.clone());

/// A claim's standing assessment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AssessmentView {
    /// The policy version that decided.
    pub policy_version: String,
    /// The subsidy due (zero when ineligible).
    pub subsidy_fen: Fen,
    /// Zero-based tier, when eligible.
    pub tier_index: Option<u32>,
    /// Why not, when ineligible.
    pub ineligible: Option<RejectReason>,
    /// Whether the per-member cap cut the amount.
    pub capped: bool,
}

/// One claim as its period counts it. No diagnosis; the member's ID masked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlanClaimRow {
    /// The claim id.
    pub claim_id: String,
    /// The period.
    pub plan_id: String,
    /// The enrolling unit at submission.
    pub unit_id: String,
    /// The member's name.
    pub member_name: String,
    /// The member's resident ID, masked.
    pub member_masked: String,
    /// Enrolled as a migrant worker.
    pub migrant_worker: bool,
    /// Hospital.
    pub hospital: String,
    /// Admission.
    pub admitted_on: NaiveDate,
    /// Discharge.
    pub discharged_on: NaiveDate,
    /// Total medical cost.
    pub total_cost_fen: Fen,
    /// 净自付: total minus reimbursements.
    pub net_self_paid_fen: Fen,
    /// Where it stands.
    pub status: ClaimStatus,
    /// The latest document review of the current round.
    pub documents_complete: Option<bool>,
    /// The standing assessment of the current round.
    pub assessment: Option<AssessmentView>,
    /// The approved subsidy.
    pub approved_fen: Option<Fen>,
    /// What was paid.
    pub paid_fen: Option<Fen>,
    /// The latest rejection's reason.
    pub rejection: Option<RejectReason>,
    /// Appeals made.
    pub appeals: u32,
    /// Who submitted it.
    pub submitted_by: String,
    /// When.
    pub submitted_at: DateTime<Utc>,
    /// Who approved it.
    pub approved_by: Option<String>,
    /// The day it was paid.
    pub paid_on: Option<NaiveDate>,
    /// Donation money allocated to the claim (approved allocations, moved
    /// from the donation fund into the mutual-aid fund).
    #[serde(default)]
    pub allocated_fen: Fen,
}

crate::view_row_impl!(PlanClaimRow, PlanClaim, parent = |r| r.plan_id.clone());

/// The key of a period's row.
pub fn period_key(plan_id: &str) -> RowKey {
    RowKey::new(RowKind::PlanPeriod, plan_id)
}

/// The key of a unit's row.
pub fn unit_key(plan_id: &str, unit_id: &str) -> RowKey {
    RowKey::child(RowKind::PlanUnit, plan_id, unit_id)
}

/// The key of a claim's row.
pub fn claim_key(claim_id: &str) -> RowKey {
    RowKey::new(RowKind::PlanClaim, claim_id)
}

pub(crate) fn keys(ev: &Recorded, out: &mut Vec<RowKey>) {
    match &ev.event {
        CaseEvent::MutualAidPlan(e) => {
            out.push(period_key(&ev.aggregate_id));
            match e {
                MutualAidPlanEvent::UnitEnrolled { unit_id, .. }
                | MutualAidPlanEvent::RosterAmended { unit_id, .. } => {
                    out.push(unit_key(&ev.aggregate_id, unit_id.as_str()));
                }
                MutualAidPlanEvent::PeriodOpened { .. }
                | MutualAidPlanEvent::PeriodClosed { .. } => {}
            }
        }
        CaseEvent::MutualAidClaim(_) => out.push(claim_key(&ev.aggregate_id)),
        CaseEvent::DonationCampaign(DonationCampaignEvent::AllocationApproved {
            target: AllocationTarget::Claim { claim_id },
            ..
        }) => out.push(claim_key(claim_id.as_str())),
        _ => {}
    }
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

pub(crate) fn apply(ev: &Recorded, rows: &mut RowSet) -> Result<(), ProjectionError> {
    match &ev.event {
        CaseEvent::MutualAidPlan(e) => apply_plan(ev, e, rows),
        CaseEvent::MutualAidClaim(e) => apply_claim(ev, e, rows),
        CaseEvent::DonationCampaign(DonationCampaignEvent::AllocationApproved {
            target: AllocationTarget::Claim { claim_id },
            amount_fen,
            ..
        }) => {
            if let Some(c) = rows.get_mut::<PlanClaimRow>(&claim_key(claim_id.as_str()))? {
                c.allocated_fen = add(c.allocated_fen, *amount_fen);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn apply_plan(
    ev: &Recorded,
    event: &MutualAidPlanEvent,
    rows: &mut RowSet,
) -> Result<(), ProjectionError> {
    use MutualAidPlanEvent as Ev;
    let plan_id = ev.aggregate_id.as_str();
    let pkey = period_key(plan_id);
    match event {
        Ev::PeriodOpened {
            name,
            period_no,
            starts_on,
            ends_on,
            policy,
            opened_by,
            opened_at,
        } => rows.put(
            &pkey,
            PlanPeriodRow {
                plan_id: plan_id.to_string(),
                name: name.to_string(),
                period_no: *period_no,
                starts_on: *starts_on,
                ends_on: *ends_on,
                policy: policy.clone(),
                status: PeriodState::Open,
                units: 0,
                members: 0,
                contributions_fen: Fen::ZERO,
                amendments: 0,
                opened_by: opened_by.to_string(),
                opened_at: *opened_at,
                closed_by: None,
                closed_at: None,
            },
        ),
        Ev::UnitEnrolled {
            unit_id,
            unit_name,
            members,
            contribution_fen,
            paid_by,
            enrolled_at,
            ..
        } => {
            if let Some(p) = rows.get_mut::<PlanPeriodRow>(&pkey)? {
                p.units = p.units.checked_add(1).expect(crate::views::COUNTED);
                p.members = p
                    .members
                    .checked_add(count(members.len()))
                    .expect(crate::views::COUNTED);
                p.contributions_fen = add(p.contributions_fen, *contribution_fen);
            }
            rows.put(
                &unit_key(plan_id, unit_id.as_str()),
                PlanUnitRow {
                    plan_id: plan_id.to_string(),
                    unit_id: unit_id.to_string(),
                    unit_name: unit_name.to_string(),
                    members: count(members.len()),
                    contribution_fen: *contribution_fen,
                    sponsor: match paid_by {
                        Payer::Unit => None,
                        Payer::Sponsor { name } => Some(name.to_string()),
                    },
                    amendments: 0,
                    enrolled_at: *enrolled_at,
                },
            )
        }
        Ev::RosterAmended {
            unit_id,
            added,
            removed,
            additional_contribution_fen,
            ..
        } => {
            if let Some(p) = rows.get_mut::<PlanPeriodRow>(&pkey)? {
                p.members = p
                    .members
                    .checked_add(count(added.len()))
                    .expect(crate::views::COUNTED)
                    .checked_sub(count(removed.len()))
                    .expect(crate::views::COUNTED);
                p.contributions_fen = add(p.contributions_fen, *additional_contribution_fen);
                p.amendments = p.amendments.checked_add(1).expect(crate::views::COUNTED);
            }
            if let Some(u) = rows.get_mut::<PlanUnitRow>(&unit_key(plan_id, unit_id.as_str()))? {
                u.members = u
                    .members
                    .checked_add(count(added.len()))
                    .expect(crate::views::COUNTED)
                    .checked_sub(count(removed.len()))
                    .expect(crate::views::COUNTED);
                u.contribution_fen = add(u.contribution_fen, *additional_contribution_fen);
                u.amendments = u.amendments.checked_add(1).expect(crate::views::COUNTED);
            }
            Ok(())
        }
        Ev::PeriodClosed {
            closed_by,
            closed_at,
            ..
        } => {
            if let Some(p) = rows.get_mut::<PlanPeriodRow>(&pkey)? {
                p.status = PeriodState::Closed;
                p.closed_by = Some(closed_by.to_string());
                p.closed_at = Some(*closed_at);
            }
            Ok(())
        }
    }
}

fn apply_claim(
    ev: &Recorded,
    event: &MutualAidClaimEvent,
    rows: &mut RowSet,
) -> Result<(), ProjectionError> {
    use MutualAidClaimEvent as Ev;
    let key = claim_key(&ev.aggregate_id);
    if let Ev::ClaimSubmitted(s) = event {
        let reimbursed = add(s.basic_insurance_fen, s.other_reimbursement_fen);
        return rows.put(
            &key,
            PlanClaimRow {
                claim_id: ev.aggregate_id.clone(),
                plan_id: s.plan_id.to_string(),
                unit_id: s.unit_id.to_string(),
                member_name: s.member_name.to_string(),
                member_masked: s.member.masked(),
                migrant_worker: s.migrant_worker,
                hospital: s.hospital.to_string(),
                admitted_on: s.admitted_on,
                discharged_on: s.discharged_on,
                total_cost_fen: s.total_cost_fen,
                net_self_paid_fen: s.total_cost_fen.room_after(reimbursed),
                status: ClaimStatus::Submitted,
                documents_complete: None,
                assessment: None,
                approved_fen: None,
                paid_fen: None,
                rejection: None,
                appeals: 0,
                submitted_by: s.submitted_by.to_string(),
                submitted_at: s.submitted_at,
                approved_by: None,
                paid_on: None,
                allocated_fen: Fen::ZERO,
            },
        );
    }
    let Some(c) = rows.get_mut::<PlanClaimRow>(&key)? else {
        return Ok(());
    };
    match event {
        Ev::ClaimSubmitted(_) => {}
        Ev::DocumentsReviewed { complete, .. } => {
            c.documents_complete = Some(*complete);
            c.assessment = None;
            c.status = ClaimStatus::DocumentsReviewed;
        }
        Ev::ClaimAssessed {
            policy_version,
            outcome,
            ..
        } => {
            let (tier_index, capped) = match outcome {
                Assessment::Eligible {
                    tier_index, capped, ..
                } => (Some(*tier_index), *capped),
                Assessment::Ineligible { .. } => (None, false),
            };
            c.assessment = Some(AssessmentView {
                policy_version: policy_version.to_string(),
                subsidy_fen: outcome.subsidy_fen(),
                tier_index,
                ineligible: outcome.reason(),
                capped,
            });
            c.status = ClaimStatus::Assessed;
        }
        Ev::ClaimApproved {
            subsidy_fen,
            approved_by,
            ..
        } => {
            c.approved_fen = Some(*subsidy_fen);
            c.approved_by = Some(approved_by.to_string());
            c.status = ClaimStatus::Approved;
        }
        Ev::ClaimRejected { reason, .. } => {
            c.rejection = Some(*reason);
            c.status = ClaimStatus::Rejected;
        }
        Ev::ClaimAppealed { appeal_no, .. } => {
            c.appeals = *appeal_no;
            c.documents_complete = None;
            c.assessment = None;
            c.status = ClaimStatus::Appealed;
        }
        Ev::ClaimPaid {
            amount_fen,
            paid_on,
            ..
        } => {
            c.paid_fen = Some(*amount_fen);
            c.paid_on = Some(*paid_on);
            c.status = ClaimStatus::Paid;
        }
    }
    Ok(())
}

/// One unit in the report: its row and its claims.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnitReport {
    /// The unit's row.
    #[serde(flatten)]
    pub unit: PlanUnitRow,
    /// Claims of its members.
    pub claims: u64,
    /// Subsidies paid to its members.
    pub subsidies_paid_fen: Fen,
}

/// Claims in one state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StateCount {
    /// The state.
    pub status: ClaimStatus,
    /// How many claims are in it.
    pub claims: u64,
}

/// The plan-period view as read: the period, its units and its claims summed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlanPeriodReport {
    /// The period's row.
    pub period: PlanPeriodRow,
    /// Claims per state, every state listed (in life order).
    pub claims_by_state: Vec<StateCount>,
    /// All claims.
    pub claims: u64,
    /// Claims approved or paid: workers with a subsidy decided (one claim per stay).
    pub claims_with_subsidy: u64,
    /// Σ standing eligible assessments of claims assessed, approved or paid.
    pub subsidies_assessed_fen: Fen,
    /// Σ approved subsidies of claims approved or paid.
    pub subsidies_approved_fen: Fen,
    /// Σ subsidies paid.
    pub subsidies_paid_fen: Fen,
    /// Σ donation money allocated to the period's claims (捐款拨付).
    #[serde(default)]
    pub donations_allocated_fen: Fen,
    /// The period's own net: its contributions and the donation money
    /// allocated to its claims, minus its subsidies paid (never below zero;
    /// see `period_shortfall_fen`). Not a fund balance:
    /// the mutual-aid fund also holds appropriations, donation money
    /// allocated to claims and other periods' money — see `mutual_aid_fund`.
    pub period_net_fen: Fen,
    /// Subsidies paid beyond the period's contributions and allocations
    /// (covered by the fund's other money); zero unless the period spent
    /// more than it raised.
    pub period_shortfall_fen: Fen,
    /// The mutual-aid fund's row of the fund-balance view, added when read:
    /// the fund's balance, committed and available money, the same numbers
    /// every view shows.
    #[serde(default)]
    pub mutual_aid_fund: Option<super::funds::FundBalanceRow>,
    /// Per unit, in unit-id order.
    pub units: Vec<UnitReport>,
}

impl PlanPeriodReport {
    /// Starts a report from the period and its units; add claims with
    /// [`PlanPeriodReport::add_claim`] (they can be streamed: the report
    /// keeps sums, not claims).
    pub fn new(period: PlanPeriodRow, units: impl IntoIterator<Item = PlanUnitRow>) -> Self {
        let mut units: Vec<UnitReport> = units
            .into_iter()
            .map(|unit| UnitReport {
                unit,
                claims: 0,
                subsidies_paid_fen: Fen::ZERO,
            })
            .collect();
        units.sort_by(|a, b| a.unit.unit_id.cmp(&b.unit.unit_id));
        let mut report = PlanPeriodReport {
            claims_by_state: ClaimStatus::ALL
                .iter()
                .map(|s| StateCount {
                    status: *s,
                    claims: 0,
                })
                .collect(),
            claims: 0,
            claims_with_subsidy: 0,
            subsidies_assessed_fen: Fen::ZERO,
            subsidies_approved_fen: Fen::ZERO,
            subsidies_paid_fen: Fen::ZERO,
            donations_allocated_fen: Fen::ZERO,
            period_net_fen: Fen::ZERO,
            period_shortfall_fen: Fen::ZERO,
            mutual_aid_fund: None,
            units,
            period,
        };
        report.settle();
        report
    }

    /// Counts one claim of the period.
    pub fn add_claim(&mut self, claim: &PlanClaimRow) {
        use ClaimStatus as S;
        self.claims = self.claims.checked_add(1).expect(crate::views::COUNTED);
        if let Some(s) = self
            .claims_by_state
            .iter_mut()
            .find(|s| s.status == claim.status)
        {
            s.claims = s.claims.checked_add(1).expect(crate::views::COUNTED);
        }
        if matches!(claim.status, S::Assessed | S::Approved | S::Paid) {
            if let Some(a) = &claim.assessment {
                self.subsidies_assessed_fen = add(self.subsidies_assessed_fen, a.subsidy_fen);
            }
        }
        if matches!(claim.status, S::Approved | S::Paid) {
            self.claims_with_subsidy = self
                .claims_with_subsidy
                .checked_add(1)
                .expect(crate::views::COUNTED);
            self.subsidies_approved_fen = add(
                self.subsidies_approved_fen,
                claim.approved_fen.unwrap_or(Fen::ZERO),
            );
        }
        let paid = claim.paid_fen.unwrap_or(Fen::ZERO);
        self.subsidies_paid_fen = add(self.subsidies_paid_fen, paid);
        self.donations_allocated_fen = add(self.donations_allocated_fen, claim.allocated_fen);
        if let Ok(i) = self
            .units
            .binary_search_by(|u| u.unit.unit_id.as_str().cmp(claim.unit_id.as_str()))
        {
            if let Some(u) = self.units.get_mut(i) {
                u.claims = u.claims.checked_add(1).expect(crate::views::COUNTED);
                u.subsidies_paid_fen = add(u.subsidies_paid_fen, paid);
            }
        }
        self.settle();
    }

    fn settle(&mut self) {
        let raised = add(self.period.contributions_fen, self.donations_allocated_fen);
        self.period_net_fen = raised.room_after(self.subsidies_paid_fen);
        self.period_shortfall_fen = self.subsidies_paid_fen.room_after(raised);
    }

    /// Claims in `status`.
    pub fn claims_in(&self, status: ClaimStatus) -> u64 {
        self.claims_by_state
            .iter()
            .find(|s| s.status == status)
            .map_or(0, |s| s.claims)
    }

    /// Σ contributions over the unit rows (equals the period's total for a
    /// consistent view; the report shows both).
    pub fn units_contribution_fen(&self) -> Fen {
        sum(self.units.iter().map(|u| u.unit.contribution_fen))
    }

    /// Σ members over the unit rows.
    pub fn units_members(&self) -> u64 {
        self.units.iter().fold(0u64, |n, u| {
            n.checked_add(u.unit.members).expect(crate::views::COUNTED)
        })
    }
}
