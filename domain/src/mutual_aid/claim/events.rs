//! What happened to a mutual-aid claim.

use chrono::{DateTime, NaiveDate, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};

use super::stay_key;
use crate::fund::Fund;
use crate::i18n::Lang;
use crate::mutual_aid::policy::{Assessment, AssessmentFacts, Policy, RejectReason};
use crate::reservation::{Reservation, Reserves, Scope};
use crate::values::{BankCard, Code, Fen, OrgName, PersonName, ResidentId, ShortText};

/// The facts of a submitted claim, as recorded. Also the aggregate's view of them.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct ClaimSubmission {
    /// This claim's id (the aggregate id).
    pub claim_id: Code,
    /// The plan period.
    pub plan_id: Code,
    /// The hospitalised member.
    pub member: ResidentId,
    /// The member's name.
    pub member_name: PersonName,
    /// Hospital.
    pub hospital: OrgName,
    /// Admission date.
    pub admitted_on: NaiveDate,
    /// Discharge date.
    pub discharged_on: NaiveDate,
    /// Diagnosis (health data).
    pub diagnosis: ShortText,
    /// Total medical cost.
    pub total_cost_fen: Fen,
    /// Paid by basic medical insurance.
    pub basic_insurance_fen: Fen,
    /// Other reimbursements.
    pub other_reimbursement_fen: Fen,
    /// Documents handed in.
    pub documents: Vec<ShortText>,
    /// Enrolment snapshot at submission: the enrolling unit…
    pub unit_id: Code,
    /// …and whether enrolled as a migrant worker.
    pub migrant_worker: bool,
    /// Who submitted (the caseworker).
    pub submitted_by: Code,
    /// When.
    pub submitted_at: DateTime<Utc>,
}

/// Events of [`super::MutualAidClaim`].
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub enum MutualAidClaimEvent {
    /// A claim was submitted. Takes the `claimed_stay` key.
    ClaimSubmitted(ClaimSubmission),
    /// The documents were reviewed.
    DocumentsReviewed {
        /// All required documents present.
        complete: bool,
        /// Reviewer's note.
        note: ShortText,
        /// Who.
        reviewed_by: Code,
        /// When.
        reviewed_at: DateTime<Utc>,
    },
    /// The subsidy was assessed. Carries the policy and every input, so
    /// `policy::assess(&policy, &inputs)` re-derives `outcome`.
    ClaimAssessed {
        /// The plan period.
        plan_id: Code,
        /// The member.
        member: ResidentId,
        /// The version of the policy that decided (same as `policy.version`).
        policy_version: Code,
        /// The policy, in full.
        policy: Policy,
        /// Admission date of the stay…
        admitted_on: NaiveDate,
        /// …checked against the period's first…
        period_starts_on: NaiveDate,
        /// …and last day (giving `inputs.stay_within_period`).
        period_ends_on: NaiveDate,
        /// The facts passed to `assess`.
        inputs: AssessmentFacts,
        /// What `assess` returned.
        outcome: Assessment,
        /// Who.
        assessed_by: Code,
        /// When.
        assessed_at: DateTime<Utc>,
    },
    /// The assessed subsidy was approved by a second person.
    ClaimApproved {
        /// The plan period.
        plan_id: Code,
        /// The member.
        member: ResidentId,
        /// Approved subsidy.
        subsidy_fen: Fen,
        /// The fund that owes it: always [`Fund::MutualAid`]. Since version
        /// 2.0; a 1.0 approval is upcast with [`Fund::MutualAid`].
        fund: Fund,
        /// The policy version that decided it.
        policy_version: Code,
        /// Who.
        approved_by: Code,
        /// When.
        approved_at: DateTime<Utc>,
    },
    /// The claim was rejected. Releases the `claimed_stay` key.
    ClaimRejected {
        /// The plan period.
        plan_id: Code,
        /// The member.
        member: ResidentId,
        /// Admission date (with `member`, the stay key released).
        admitted_on: NaiveDate,
        /// Why.
        reason: RejectReason,
        /// Details.
        note: ShortText,
        /// Who.
        rejected_by: Code,
        /// When.
        rejected_at: DateTime<Utc>,
    },
    /// The rejection was appealed. Takes the `claimed_stay` key again.
    ClaimAppealed {
        /// The plan period.
        plan_id: Code,
        /// The member.
        member: ResidentId,
        /// Admission date (with `member`, the stay key taken).
        admitted_on: NaiveDate,
        /// Grounds.
        grounds: ShortText,
        /// 1 for the first appeal, 2 for the second.
        appeal_no: u32,
        /// Who.
        appealed_by: Code,
        /// When.
        appealed_at: DateTime<Utc>,
    },
    /// The approved subsidy was paid from the mutual-aid fund.
    ClaimPaid {
        /// The plan period.
        plan_id: Code,
        /// The member paid.
        member: ResidentId,
        /// Amount paid (the approved subsidy).
        amount_fen: Fen,
        /// Always [`Fund::MutualAid`].
        fund: Fund,
        /// Bank or voucher reference.
        reference: Code,
        /// Card paid to, when by transfer.
        card: Option<BankCard>,
        /// Date of payment.
        paid_on: NaiveDate,
        /// Who recorded it.
        recorded_by: Code,
        /// When.
        recorded_at: DateTime<Utc>,
    },
}

/// Every event type name, for golden-file completeness checks.
pub const EVENT_TYPES: [&str; 7] = [
    "ClaimSubmitted",
    "DocumentsReviewed",
    "ClaimAssessed",
    "ClaimApproved",
    "ClaimRejected",
    "ClaimAppealed",
    "ClaimPaid",
];

impl DomainEvent for MutualAidClaimEvent {
    fn event_type(&self) -> String {
        let t = match self {
            MutualAidClaimEvent::ClaimSubmitted(_) => "ClaimSubmitted",
            MutualAidClaimEvent::DocumentsReviewed { .. } => "DocumentsReviewed",
            MutualAidClaimEvent::ClaimAssessed { .. } => "ClaimAssessed",
            MutualAidClaimEvent::ClaimApproved { .. } => "ClaimApproved",
            MutualAidClaimEvent::ClaimRejected { .. } => "ClaimRejected",
            MutualAidClaimEvent::ClaimAppealed { .. } => "ClaimAppealed",
            MutualAidClaimEvent::ClaimPaid { .. } => "ClaimPaid",
        };
        t.to_string()
    }

    /// Where this type's upcaster chain ends ([`crate::upcast`]).
    fn event_version(&self) -> String {
        crate::upcast::current_version(
            <super::MutualAidClaim as cqrs_es::Aggregate>::TYPE,
            &self.event_type(),
        )
        .to_string()
    }
}

/// One live claim per stay: submission and appeal take the stay's key,
/// rejection gives it back. Approved and paid claims keep it for good.
impl Reserves for MutualAidClaimEvent {
    fn reservations(&self) -> Vec<Reservation> {
        let scope = Scope::ClaimedStay;
        match self {
            MutualAidClaimEvent::ClaimSubmitted(s) => vec![Reservation::Take {
                scope,
                key: stay_key(&s.member, s.admitted_on),
            }],
            MutualAidClaimEvent::ClaimAppealed {
                member,
                admitted_on,
                ..
            } => vec![Reservation::Take {
                scope,
                key: stay_key(member, *admitted_on),
            }],
            MutualAidClaimEvent::ClaimRejected {
                member,
                admitted_on,
                ..
            } => vec![Reservation::Release {
                scope,
                key: stay_key(member, *admitted_on),
            }],
            MutualAidClaimEvent::DocumentsReviewed { .. }
            | MutualAidClaimEvent::ClaimAssessed { .. }
            | MutualAidClaimEvent::ClaimApproved { .. }
            | MutualAidClaimEvent::ClaimPaid { .. } => vec![],
        }
    }
}

impl MutualAidClaimEvent {
    /// What happened, in a few words.
    pub fn label(&self, lang: Lang) -> &'static str {
        let (zh, en) = match self {
            MutualAidClaimEvent::ClaimSubmitted(_) => ("已提交申请", "claim submitted"),
            MutualAidClaimEvent::DocumentsReviewed { .. } => ("材料已审核", "documents reviewed"),
            MutualAidClaimEvent::ClaimAssessed { .. } => ("补助已核定", "subsidy assessed"),
            MutualAidClaimEvent::ClaimApproved { .. } => ("已批准", "claim approved"),
            MutualAidClaimEvent::ClaimRejected { .. } => ("已驳回", "claim rejected"),
            MutualAidClaimEvent::ClaimAppealed { .. } => ("已申诉", "claim appealed"),
            MutualAidClaimEvent::ClaimPaid { .. } => ("已发放", "subsidy paid"),
        };
        lang.pick(zh, en)
    }

    /// One line for `bangfu history`. Identifiers masked; no diagnosis.
    pub fn describe(&self, lang: Lang) -> String {
        use MutualAidClaimEvent::*;
        match (self, lang) {
            (ClaimSubmitted(s), Lang::Zh) => format!(
                "成员 {} 申请大病补助（{}）：{} 至 {} 住院于{}，总费用 {} 元，基本医保 {} 元，其他报销 {} 元，材料 {} 份",
                s.member,
                s.plan_id,
                s.admitted_on,
                s.discharged_on,
                s.hospital,
                s.total_cost_fen,
                s.basic_insurance_fen,
                s.other_reimbursement_fen,
                s.documents.len()
            ),
            (ClaimSubmitted(s), Lang::En) => format!(
                "member {} claimed a serious-illness subsidy ({}): in {} from {} to {}, total cost {} yuan, basic insurance {} yuan, other reimbursements {} yuan, {} documents",
                s.member,
                s.plan_id,
                s.hospital,
                s.admitted_on,
                s.discharged_on,
                s.total_cost_fen,
                s.basic_insurance_fen,
                s.other_reimbursement_fen,
                s.documents.len()
            ),
            (DocumentsReviewed { complete, note, .. }, Lang::Zh) => format!(
                "材料审核：{}；{note}",
                if *complete { "齐全" } else { "不全" }
            ),
            (DocumentsReviewed { complete, note, .. }, Lang::En) => format!(
                "documents reviewed: {}; {note}",
                if *complete { "complete" } else { "incomplete" }
            ),
            (
                ClaimAssessed {
                    policy_version,
                    outcome,
                    ..
                },
                _,
            ) => match (outcome, lang) {
                (
                    Assessment::Eligible {
                        net_self_paid_fen,
                        tier_index,
                        subsidy_fen,
                        capped,
                        ..
                    },
                    Lang::Zh,
                ) => format!(
                    "按政策 {policy_version} 核定：净自付 {net_self_paid_fen} 元，第 {} 档，补助 {subsidy_fen} 元{}",
                    u64::from(*tier_index) + 1,
                    if *capped { "（已按封顶削减）" } else { "" }
                ),
                (
                    Assessment::Eligible {
                        net_self_paid_fen,
                        tier_index,
                        subsidy_fen,
                        capped,
                        ..
                    },
                    Lang::En,
                ) => format!(
                    "assessed by policy {policy_version}: net self-paid {net_self_paid_fen} yuan, tier {}, subsidy {subsidy_fen} yuan{}",
                    u64::from(*tier_index) + 1,
                    if *capped { " (cut to the cap)" } else { "" }
                ),
                (Assessment::Ineligible { reason }, Lang::Zh) => format!(
                    "按政策 {policy_version} 核定：不予补助（{}）",
                    reason.label(lang)
                ),
                (Assessment::Ineligible { reason }, Lang::En) => format!(
                    "assessed by policy {policy_version}: no subsidy ({})",
                    reason.label(lang)
                ),
            },
            (
                ClaimApproved {
                    subsidy_fen,
                    policy_version,
                    ..
                },
                Lang::Zh,
            ) => format!("批准补助 {subsidy_fen} 元（政策 {policy_version}）"),
            (
                ClaimApproved {
                    subsidy_fen,
                    policy_version,
                    ..
                },
                Lang::En,
            ) => format!("approved a subsidy of {subsidy_fen} yuan (policy {policy_version})"),
            (ClaimRejected { reason, note, .. }, Lang::Zh) => {
                format!("驳回：{}；{note}", reason.label(lang))
            }
            (ClaimRejected { reason, note, .. }, Lang::En) => {
                format!("rejected: {}; {note}", reason.label(lang))
            }
            (
                ClaimAppealed {
                    grounds, appeal_no, ..
                },
                Lang::Zh,
            ) => format!("第 {appeal_no} 次申诉：{grounds}"),
            (
                ClaimAppealed {
                    grounds, appeal_no, ..
                },
                Lang::En,
            ) => format!("appeal no. {appeal_no}: {grounds}"),
            (
                ClaimPaid {
                    member,
                    amount_fen,
                    fund,
                    reference,
                    card,
                    paid_on,
                    ..
                },
                _,
            ) => {
                let card = card.as_ref().map(|c| c.to_string());
                match lang {
                    Lang::Zh => format!(
                        "{paid_on} 向成员 {member} 发放补助 {amount_fen} 元（{}），凭证 {reference}{}",
                        fund.label(lang),
                        card.map(|c| format!("，银行卡 {c}")).unwrap_or_default()
                    ),
                    Lang::En => format!(
                        "paid {amount_fen} yuan ({}) to member {member} on {paid_on}, reference {reference}{}",
                        fund.label(lang),
                        card.map(|c| format!(", card {c}")).unwrap_or_default()
                    ),
                }
            }
        }
    }
}
