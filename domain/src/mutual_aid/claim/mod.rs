//! The mutual-aid claim aggregate: one serious-illness subsidy claim (大病补助)
//! for one hospital stay, from submission to payment.
//!
//! Life: submitted → documents reviewed → assessed by the period's policy →
//! approved by a second person → paid; or rejected with a reason before
//! approval, and appealed (at most twice), after which the claim is reviewed
//! and assessed afresh.
//!
//! Facts outside the claim — the plan's terms and roster, the member's other
//! claims — come through [`MutualAidClaimServices`]. "One live claim per stay"
//! is also declared as a `claimed_stay` reservation (see [`crate::reservation`])
//! so the store refuses a racing second claim. The `ClaimAssessed` event
//! carries the policy and every input, so an auditor re-derives the subsidy
//! from that one event with [`crate::mutual_aid::policy::assess`].

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};

use crate::command::Cmd;
use crate::fund::Fund;
use crate::i18n::Lang;
use crate::mutual_aid::policy::{assess, Assessment, AssessmentFacts, Policy, RejectReason};
use crate::values::{BankCard, Code, Fen, ResidentId, ShortText};

mod commands;
mod error;
mod events;
mod services;
#[cfg(test)]
mod tests;

pub use commands::{MutualAidClaimCommand, MAX_APPEALS, MAX_DOCUMENTS};
pub use error::MutualAidClaimError;
pub use events::{ClaimSubmission, MutualAidClaimEvent, EVENT_TYPES};
pub use services::{MutualAidClaimServices, PlanFacts};

/// The dates a payment may carry: not before the stay began, not before the
/// day the claim was approved (in the command's business time zone), and not
/// after today.
fn check_paid_on(
    ctx: &crate::command::CommandContext,
    paid_on: NaiveDate,
    admitted_on: NaiveDate,
    approved_at: DateTime<Utc>,
) -> Result<(), MutualAidClaimError> {
    if paid_on < admitted_on {
        return Err(MutualAidClaimError::PaidBeforeStay {
            paid_on,
            admitted_on,
        });
    }
    let approved_on = ctx.date_of(approved_at);
    if paid_on < approved_on {
        return Err(MutualAidClaimError::PaidBeforeApproval {
            paid_on,
            approved_on,
        });
    }
    if paid_on > ctx.business_date() {
        return Err(MutualAidClaimError::PaidInFuture { paid_on });
    }
    Ok(())
}

/// The `claimed_stay` reservation key of a stay: `{resident ID}/{admission date}`.
pub fn stay_key(member: &ResidentId, admitted_on: NaiveDate) -> String {
    format!("{}/{}", member.expose(), admitted_on)
}

/// Where a claim stands.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ClaimStatus {
    /// 已提交: waiting for the document review.
    Submitted,
    /// 材料已审核: reviewed (complete or not).
    DocumentsReviewed,
    /// 已核定: assessed, waiting for approval.
    Assessed,
    /// 已批准: approved, waiting for payment.
    Approved,
    /// 已驳回: rejected; may be appealed.
    Rejected,
    /// 已申诉: appealed; to be reviewed again.
    Appealed,
    /// 已发放: paid. Final.
    Paid,
}

impl ClaimStatus {
    /// All statuses, in life order.
    pub const ALL: [ClaimStatus; 7] = [
        ClaimStatus::Submitted,
        ClaimStatus::DocumentsReviewed,
        ClaimStatus::Assessed,
        ClaimStatus::Approved,
        ClaimStatus::Rejected,
        ClaimStatus::Appealed,
        ClaimStatus::Paid,
    ];

    /// Stable name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            ClaimStatus::Submitted => "submitted",
            ClaimStatus::DocumentsReviewed => "documents_reviewed",
            ClaimStatus::Assessed => "assessed",
            ClaimStatus::Approved => "approved",
            ClaimStatus::Rejected => "rejected",
            ClaimStatus::Appealed => "appealed",
            ClaimStatus::Paid => "paid",
        }
    }

    /// The status for people.
    pub fn label(self, lang: Lang) -> &'static str {
        let (zh, en) = match self {
            ClaimStatus::Submitted => ("已提交", "submitted"),
            ClaimStatus::DocumentsReviewed => ("材料已审核", "documents reviewed"),
            ClaimStatus::Assessed => ("已核定", "assessed"),
            ClaimStatus::Approved => ("已批准", "approved"),
            ClaimStatus::Rejected => ("已驳回", "rejected"),
            ClaimStatus::Appealed => ("已申诉", "appealed"),
            ClaimStatus::Paid => ("已发放", "paid"),
        };
        lang.pick(zh, en)
    }
}

/// The latest assessment of the current round.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct AssessmentRecord {
    /// The policy that decided.
    pub policy: Policy,
    /// The facts it was applied to.
    pub inputs: AssessmentFacts,
    /// The result.
    pub outcome: Assessment,
    /// Who assessed (the approver must be someone else).
    pub assessed_by: Code,
    /// When.
    pub assessed_at: DateTime<Utc>,
}

/// The approval.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Approval {
    /// Approved subsidy.
    pub subsidy_fen: Fen,
    /// Policy version that decided it.
    pub policy_version: Code,
    /// Who.
    pub approved_by: Code,
    /// When.
    pub approved_at: DateTime<Utc>,
}

/// A rejection.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Rejection {
    /// Why.
    pub reason: RejectReason,
    /// Details.
    pub note: ShortText,
    /// Who.
    pub rejected_by: Code,
    /// When.
    pub rejected_at: DateTime<Utc>,
}

/// The payment.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Payment {
    /// Amount paid.
    pub amount_fen: Fen,
    /// Bank or voucher reference.
    pub reference: Code,
    /// Card paid to.
    pub card: Option<BankCard>,
    /// Date of payment.
    pub paid_on: NaiveDate,
    /// Who recorded it.
    pub recorded_by: Code,
    /// When.
    pub recorded_at: DateTime<Utc>,
}

/// A claim: see the module docs.
#[derive(Default, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct MutualAidClaim {
    submission: Option<ClaimSubmission>,
    status: Option<ClaimStatus>,
    /// Result of the latest document review of the current round.
    documents_complete: Option<bool>,
    assessment: Option<AssessmentRecord>,
    approval: Option<Approval>,
    last_rejection: Option<Rejection>,
    appeals: u32,
    payment: Option<Payment>,
}

impl Aggregate for MutualAidClaim {
    const TYPE: &'static str = "mutual_aid_claim";
    type Command = Cmd<MutualAidClaimCommand>;
    type Event = MutualAidClaimEvent;
    type Error = MutualAidClaimError;
    type Services = Arc<dyn MutualAidClaimServices>;

    async fn handle(
        &mut self,
        command: Self::Command,
        services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        use ClaimStatus as S;
        use MutualAidClaimError as E;
        let Cmd { ctx, body } = command;
        let by = ctx.actor.id.clone();
        let at = ctx.recorded_at;

        if let MutualAidClaimCommand::Submit {
            claim_id,
            plan_id,
            member,
            member_name,
            hospital,
            admitted_on,
            discharged_on,
            diagnosis,
            total_cost_fen,
            basic_insurance_fen,
            other_reimbursement_fen,
            documents,
        } = body
        {
            if self.submission.is_some() {
                return Err(E::AlreadySubmitted);
            }
            if discharged_on < admitted_on {
                return Err(E::BadStayDates);
            }
            let reimbursed = basic_insurance_fen
                .checked_add(other_reimbursement_fen)
                .map_err(|_| E::ReimbursementsExceedCost)?;
            if reimbursed > total_cost_fen {
                return Err(E::ReimbursementsExceedCost);
            }
            if documents.len() > MAX_DOCUMENTS {
                return Err(E::TooManyDocuments {
                    count: documents.len(),
                });
            }
            if services.plan_period(&plan_id).await?.is_none() {
                return Err(E::PlanNotFound(plan_id));
            }
            let Some(enrolment) = services.enrolment(&plan_id, &member).await? else {
                return Err(E::NotEnrolled);
            };
            if let Some(other_claim) = services.stay_claimed_by(&member, admitted_on).await? {
                if other_claim != claim_id.as_str() {
                    return Err(E::StayAlreadyClaimed { other_claim });
                }
            }
            let event = MutualAidClaimEvent::ClaimSubmitted(ClaimSubmission {
                claim_id,
                plan_id,
                member,
                member_name,
                hospital,
                admitted_on,
                discharged_on,
                diagnosis,
                total_cost_fen,
                basic_insurance_fen,
                other_reimbursement_fen,
                documents,
                unit_id: enrolment.unit_id,
                migrant_worker: enrolment.migrant_worker,
                submitted_by: by,
                submitted_at: at,
            });
            sink.write(event, self).await;
            return Ok(());
        }

        let (Some(claim), Some(status)) = (&self.submission, self.status) else {
            return Err(E::NotSubmitted);
        };
        let event = match body {
            // Handled above.
            MutualAidClaimCommand::Submit { .. } => return Err(E::AlreadySubmitted),
            MutualAidClaimCommand::ReviewDocuments { complete, note } => {
                // A review may be repeated until assessment, e.g. once the
                // member hands in what was missing.
                if !matches!(status, S::Submitted | S::Appealed | S::DocumentsReviewed) {
                    return Err(E::WrongState(status));
                }
                MutualAidClaimEvent::DocumentsReviewed {
                    complete,
                    note,
                    reviewed_by: by,
                    reviewed_at: at,
                }
            }
            MutualAidClaimCommand::Assess {} => {
                match status {
                    S::Submitted | S::Appealed => return Err(E::NotReviewed),
                    S::DocumentsReviewed if self.documents_complete != Some(true) => {
                        return Err(E::DocumentsIncomplete)
                    }
                    // Re-assessing an assessed claim picks up changed facts
                    // (e.g. another claim of the member approved meanwhile).
                    S::DocumentsReviewed | S::Assessed => {}
                    S::Approved | S::Rejected | S::Paid => return Err(E::WrongState(status)),
                }
                let Some(plan) = services.plan_period(&claim.plan_id).await? else {
                    return Err(E::PlanNotFound(claim.plan_id.clone()));
                };
                let enrolment = services.enrolment(&claim.plan_id, &claim.member).await?;
                let already = services
                    .subsidies_in_period(&claim.plan_id, &claim.member, claim.claim_id.as_str())
                    .await?;
                let inputs = AssessmentFacts {
                    total_cost_fen: claim.total_cost_fen,
                    basic_insurance_fen: claim.basic_insurance_fen,
                    other_reimbursement_fen: claim.other_reimbursement_fen,
                    migrant_worker: enrolment
                        .as_ref()
                        .map_or(claim.migrant_worker, |e| e.migrant_worker),
                    stay_within_period: plan.starts_on <= claim.admitted_on
                        && claim.admitted_on <= plan.ends_on,
                    enrolled: enrolment.is_some(),
                    already_subsidised_in_period_fen: already,
                };
                let outcome = assess(&plan.policy, &inputs).map_err(|_| E::AmountOverflow)?;
                MutualAidClaimEvent::ClaimAssessed {
                    plan_id: claim.plan_id.clone(),
                    member: claim.member.clone(),
                    policy_version: plan.policy.version.clone(),
                    policy: plan.policy,
                    admitted_on: claim.admitted_on,
                    period_starts_on: plan.starts_on,
                    period_ends_on: plan.ends_on,
                    inputs,
                    outcome,
                    assessed_by: by,
                    assessed_at: at,
                }
            }
            MutualAidClaimCommand::Approve {} => {
                let record = match (status, &self.assessment) {
                    (S::Assessed, Some(record)) => record,
                    (S::Submitted | S::DocumentsReviewed | S::Appealed | S::Assessed, _) => {
                        return Err(E::NotAssessed)
                    }
                    (S::Approved | S::Rejected | S::Paid, _) => return Err(E::WrongState(status)),
                };
                let subsidy = match &record.outcome {
                    Assessment::Eligible { subsidy_fen, .. } => *subsidy_fen,
                    Assessment::Ineligible { reason } => {
                        return Err(E::AssessedIneligible(*reason))
                    }
                };
                // Four-eyes holds for every role, admin included.
                if record.assessed_by == by {
                    return Err(E::FourEyes);
                }
                // Another claim of the member may have been approved since the
                // assessment; never approve past the cap.
                let already = services
                    .subsidies_in_period(&claim.plan_id, &claim.member, claim.claim_id.as_str())
                    .await?;
                let remaining = record.policy.cap_per_member_fen.room_after(already);
                if subsidy > remaining {
                    return Err(E::CapExceeded {
                        cap_remaining_fen: remaining,
                        subsidy_fen: subsidy,
                    });
                }
                MutualAidClaimEvent::ClaimApproved {
                    plan_id: claim.plan_id.clone(),
                    member: claim.member.clone(),
                    subsidy_fen: subsidy,
                    fund: Fund::MutualAid,
                    policy_version: record.policy.version.clone(),
                    approved_by: by,
                    approved_at: at,
                }
            }
            MutualAidClaimCommand::Reject { reason, note } => {
                if !matches!(
                    status,
                    S::Submitted | S::DocumentsReviewed | S::Assessed | S::Appealed
                ) {
                    return Err(E::WrongState(status));
                }
                MutualAidClaimEvent::ClaimRejected {
                    plan_id: claim.plan_id.clone(),
                    member: claim.member.clone(),
                    admitted_on: claim.admitted_on,
                    reason,
                    note,
                    rejected_by: by,
                    rejected_at: at,
                }
            }
            MutualAidClaimCommand::Appeal { grounds } => {
                if status != S::Rejected {
                    return Err(E::WrongState(status));
                }
                if self.appeals >= MAX_APPEALS {
                    return Err(E::TooManyAppeals);
                }
                // The stay was released on rejection; someone may have
                // claimed it since. The reservation would refuse the commit
                // anyway; asking first gives a clear error.
                if let Some(other_claim) = services
                    .stay_claimed_by(&claim.member, claim.admitted_on)
                    .await?
                {
                    if other_claim != claim.claim_id.as_str() {
                        return Err(E::StayAlreadyClaimed { other_claim });
                    }
                }
                MutualAidClaimEvent::ClaimAppealed {
                    plan_id: claim.plan_id.clone(),
                    member: claim.member.clone(),
                    admitted_on: claim.admitted_on,
                    grounds,
                    appeal_no: self.appeals.saturating_add(1),
                    appealed_by: by,
                    appealed_at: at,
                }
            }
            MutualAidClaimCommand::MarkPaid {
                paid_on,
                reference,
                card,
            } => {
                let approval = match (status, &self.approval) {
                    (S::Approved, Some(approval)) => approval,
                    (S::Paid, _) => return Err(E::AlreadyPaid),
                    _ => return Err(E::WrongState(status)),
                };
                check_paid_on(&ctx, paid_on, claim.admitted_on, approval.approved_at)?;
                MutualAidClaimEvent::ClaimPaid {
                    plan_id: claim.plan_id.clone(),
                    member: claim.member.clone(),
                    amount_fen: approval.subsidy_fen,
                    fund: Fund::MutualAid,
                    reference,
                    card,
                    paid_on,
                    recorded_by: by,
                    recorded_at: at,
                }
            }
        };
        sink.write(event, self).await;
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        use ClaimStatus as S;
        match event {
            MutualAidClaimEvent::ClaimSubmitted(submission) => {
                self.submission = Some(submission);
                self.status = Some(S::Submitted);
            }
            MutualAidClaimEvent::DocumentsReviewed { complete, .. } => {
                self.documents_complete = Some(complete);
                self.assessment = None;
                self.status = Some(S::DocumentsReviewed);
            }
            MutualAidClaimEvent::ClaimAssessed {
                policy,
                inputs,
                outcome,
                assessed_by,
                assessed_at,
                ..
            } => {
                self.assessment = Some(AssessmentRecord {
                    policy,
                    inputs,
                    outcome,
                    assessed_by,
                    assessed_at,
                });
                self.status = Some(S::Assessed);
            }
            MutualAidClaimEvent::ClaimApproved {
                subsidy_fen,
                policy_version,
                approved_by,
                approved_at,
                ..
            } => {
                self.approval = Some(Approval {
                    subsidy_fen,
                    policy_version,
                    approved_by,
                    approved_at,
                });
                self.status = Some(S::Approved);
            }
            MutualAidClaimEvent::ClaimRejected {
                reason,
                note,
                rejected_by,
                rejected_at,
                ..
            } => {
                self.last_rejection = Some(Rejection {
                    reason,
                    note,
                    rejected_by,
                    rejected_at,
                });
                self.status = Some(S::Rejected);
            }
            MutualAidClaimEvent::ClaimAppealed { appeal_no, .. } => {
                // A new round: the earlier review and assessment no longer count.
                self.appeals = appeal_no;
                self.documents_complete = None;
                self.assessment = None;
                self.status = Some(S::Appealed);
            }
            MutualAidClaimEvent::ClaimPaid {
                amount_fen,
                reference,
                card,
                paid_on,
                recorded_by,
                recorded_at,
                ..
            } => {
                self.payment = Some(Payment {
                    amount_fen,
                    reference,
                    card,
                    paid_on,
                    recorded_by,
                    recorded_at,
                });
                self.status = Some(S::Paid);
            }
        }
    }
}

impl MutualAidClaim {
    /// The submitted facts.
    pub fn submission(&self) -> Option<&ClaimSubmission> {
        self.submission.as_ref()
    }

    /// `None` before submission.
    pub fn status(&self) -> Option<ClaimStatus> {
        self.status
    }

    /// This claim's id.
    pub fn claim_id(&self) -> Option<&Code> {
        self.submission.as_ref().map(|s| &s.claim_id)
    }

    /// The plan period claimed against.
    pub fn plan_id(&self) -> Option<&Code> {
        self.submission.as_ref().map(|s| &s.plan_id)
    }

    /// The hospitalised member.
    pub fn member(&self) -> Option<&ResidentId> {
        self.submission.as_ref().map(|s| &s.member)
    }

    /// Admission date of the stay.
    pub fn admitted_on(&self) -> Option<NaiveDate> {
        self.submission.as_ref().map(|s| s.admitted_on)
    }

    /// The `claimed_stay` key of this claim's stay.
    pub fn stay_key(&self) -> Option<String> {
        self.submission
            .as_ref()
            .map(|s| stay_key(&s.member, s.admitted_on))
    }

    /// True while the claim holds its stay (everything but rejected).
    pub fn holds_stay(&self) -> bool {
        matches!(self.status, Some(s) if s != ClaimStatus::Rejected)
    }

    /// Result of the latest document review of the current round.
    pub fn documents_complete(&self) -> Option<bool> {
        self.documents_complete
    }

    /// The latest assessment of the current round.
    pub fn assessment(&self) -> Option<&AssessmentRecord> {
        self.assessment.as_ref()
    }

    /// The approval.
    pub fn approval(&self) -> Option<&Approval> {
        self.approval.as_ref()
    }

    /// The latest rejection (kept after an appeal, for the record).
    pub fn last_rejection(&self) -> Option<&Rejection> {
        self.last_rejection.as_ref()
    }

    /// Appeals made so far.
    pub fn appeals(&self) -> u32 {
        self.appeals
    }

    /// The payment.
    pub fn payment(&self) -> Option<&Payment> {
        self.payment.as_ref()
    }

    /// The subsidy counted against the member's cap: the approved amount once
    /// approved or paid, else zero. What `subsidies_in_period` sums.
    pub fn decided_subsidy_fen(&self) -> Fen {
        match (self.status, &self.approval) {
            (Some(ClaimStatus::Approved | ClaimStatus::Paid), Some(a)) => a.subsidy_fen,
            _ => Fen::ZERO,
        }
    }
}

/// A realistic `Submit` body: claim `claim-2026-0001` against plan
/// `putian-07` for `testing::nth_resident_id(2)` (enrolled as a migrant
/// worker in `plan::sample_events`): 38,000 yuan total, 22,000 basic
/// insurance, 3,000 other → 13,000 net self-paid → tier 2 → 520 yuan, 676
/// with the migrant uplift under `policy::sample_policy`.
#[cfg(any(test, feature = "testing"))]
pub fn sample_submit() -> MutualAidClaimCommand {
    use crate::values::{OrgName, PersonName};
    let text = |s: &str| ShortText::parse(s).expect("valid text");
    let yuan = |y| Fen::from_yuan(y).expect("valid amount");
    MutualAidClaimCommand::Submit {
        claim_id: Code::parse("claim-2026-0001").expect("valid code"),
        plan_id: Code::parse("putian-07").expect("valid code"),
        member: crate::testing::nth_resident_id(2),
        member_name: PersonName::parse("陈美华").expect("valid name"),
        hospital: OrgName::parse("莆田学院附属医院").expect("valid name"),
        admitted_on: NaiveDate::from_ymd_opt(2026, 2, 10).expect("valid date"),
        discharged_on: NaiveDate::from_ymd_opt(2026, 2, 24).expect("valid date"),
        diagnosis: text("急性心肌梗死，行冠脉支架植入术"),
        total_cost_fen: yuan(38_000),
        basic_insurance_fen: yuan(22_000),
        other_reimbursement_fen: yuan(3_000),
        documents: vec![text("住院费用发票"), text("出院小结"), text("费用明细清单")],
    }
}

/// A realistic history containing every event: the claim is submitted with a
/// document missing, rejected, appealed once the document is in, reviewed,
/// assessed (eligible, migrant uplift), approved by a second person and paid.
#[cfg(any(test, feature = "testing"))]
pub fn sample_events() -> Vec<MutualAidClaimEvent> {
    use crate::mutual_aid::policy::sample_policy;
    use crate::testing::at;
    let code = |s: &str| Code::parse(s).expect("valid code");
    let text = |s: &str| ShortText::parse(s).expect("valid text");
    let MutualAidClaimCommand::Submit {
        claim_id,
        plan_id,
        member,
        member_name,
        hospital,
        admitted_on,
        discharged_on,
        diagnosis,
        total_cost_fen,
        basic_insurance_fen,
        other_reimbursement_fen,
        documents,
    } = sample_submit()
    else {
        unreachable!("sample_submit returns Submit")
    };
    let policy = sample_policy();
    let inputs = AssessmentFacts {
        total_cost_fen,
        basic_insurance_fen,
        other_reimbursement_fen,
        migrant_worker: true,
        stay_within_period: true,
        enrolled: true,
        already_subsidised_in_period_fen: Fen::ZERO,
    };
    let outcome = assess(&policy, &inputs).expect("sample assessment");
    let subsidy_fen = outcome.subsidy_fen();
    vec![
        MutualAidClaimEvent::ClaimSubmitted(ClaimSubmission {
            claim_id,
            plan_id: plan_id.clone(),
            member: member.clone(),
            member_name,
            hospital,
            admitted_on,
            discharged_on,
            diagnosis,
            total_cost_fen,
            basic_insurance_fen,
            other_reimbursement_fen,
            documents,
            unit_id: code("unit-ptcx-0012"),
            migrant_worker: true,
            submitted_by: code("wang.fang"),
            submitted_at: at(0),
        }),
        MutualAidClaimEvent::DocumentsReviewed {
            complete: false,
            note: text("缺基本医保结算单"),
            reviewed_by: code("li.ming"),
            reviewed_at: at(60),
        },
        MutualAidClaimEvent::ClaimRejected {
            plan_id: plan_id.clone(),
            member: member.clone(),
            admitted_on,
            reason: RejectReason::DocumentsIncomplete,
            note: text("请补交基本医保结算单后申诉"),
            rejected_by: code("li.ming"),
            rejected_at: at(70),
        },
        MutualAidClaimEvent::ClaimAppealed {
            plan_id: plan_id.clone(),
            member: member.clone(),
            admitted_on,
            grounds: text("已补交基本医保结算单"),
            appeal_no: 1,
            appealed_by: code("wang.fang"),
            appealed_at: at(1_440),
        },
        MutualAidClaimEvent::DocumentsReviewed {
            complete: true,
            note: text("材料齐全"),
            reviewed_by: code("li.ming"),
            reviewed_at: at(1_500),
        },
        MutualAidClaimEvent::ClaimAssessed {
            plan_id: plan_id.clone(),
            member: member.clone(),
            policy_version: policy.version.clone(),
            policy,
            admitted_on,
            period_starts_on: NaiveDate::from_ymd_opt(2026, 1, 1).expect("valid date"),
            period_ends_on: NaiveDate::from_ymd_opt(2026, 12, 31).expect("valid date"),
            inputs,
            outcome,
            assessed_by: code("li.ming"),
            assessed_at: at(1_510),
        },
        MutualAidClaimEvent::ClaimApproved {
            plan_id: plan_id.clone(),
            member: member.clone(),
            subsidy_fen,
            fund: Fund::MutualAid,
            policy_version: code("putian-07-v1"),
            approved_by: code("zhao.qiang"),
            approved_at: at(2_880),
        },
        MutualAidClaimEvent::ClaimPaid {
            plan_id,
            member,
            amount_fen: subsidy_fen,
            fund: Fund::MutualAid,
            reference: code("MA-2026-000123"),
            card: Some(BankCard::parse("6228480012345678903").expect("valid card")),
            paid_on: NaiveDate::from_ymd_opt(2026, 3, 6).expect("valid date"),
            recorded_by: code("sun.hong"),
            recorded_at: at(7_200),
        },
    ]
}
