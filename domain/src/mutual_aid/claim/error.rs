//! Why a command on a mutual-aid claim was refused.

use crate::i18n::{ErrorCode, Lang, Localize};
use crate::mutual_aid::policy::RejectReason;
use crate::values::{Code, Fen};

use super::commands::{MAX_APPEALS, MAX_DOCUMENTS};
use super::ClaimStatus;

/// Every business rule of [`super::MutualAidClaim`] that a command can break.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum MutualAidClaimError {
    /// Submit on a claim that exists.
    #[error("the claim has already been submitted")]
    AlreadySubmitted,
    /// Any other command before Submit.
    #[error("the claim has not been submitted")]
    NotSubmitted,
    /// The plan period does not exist (or was never opened).
    #[error("plan period {0} not found")]
    PlanNotFound(Code),
    /// Claims only for members enrolled in that period.
    #[error("the member is not enrolled in this plan period")]
    NotEnrolled,
    /// Another live claim holds the same stay.
    #[error("this hospital stay is already claimed by claim {other_claim}")]
    StayAlreadyClaimed {
        /// The claim holding the stay.
        other_claim: String,
    },
    /// Discharged before admitted.
    #[error("the discharge date is before the admission date")]
    BadStayDates,
    /// A payment dated before the hospital stay began.
    #[error("the payment date {paid_on} is before the hospital stay began ({admitted_on})")]
    PaidBeforeStay {
        /// The payment date given.
        paid_on: chrono::NaiveDate,
        /// The admission date.
        admitted_on: chrono::NaiveDate,
    },
    /// A payment dated before the claim was approved (in business time).
    #[error("the payment date {paid_on} is before the claim was approved ({approved_on})")]
    PaidBeforeApproval {
        /// The payment date given.
        paid_on: chrono::NaiveDate,
        /// The day of the approval.
        approved_on: chrono::NaiveDate,
    },
    /// A payment dated after the day it is recorded.
    #[error("the payment date {paid_on} is after today")]
    PaidInFuture {
        /// The payment date given.
        paid_on: chrono::NaiveDate,
    },
    /// Basic insurance plus other reimbursements exceed the total cost.
    #[error("reimbursements exceed the total cost")]
    ReimbursementsExceedCost,
    /// More than [`MAX_DOCUMENTS`] documents.
    #[error("{count} documents listed; at most {MAX_DOCUMENTS} are allowed")]
    TooManyDocuments {
        /// Documents given.
        count: usize,
    },
    /// The command does not apply in the claim's current state.
    #[error("not possible while the claim is {}", .0.label(Lang::En))]
    WrongState(ClaimStatus),
    /// Assess before the documents were reviewed.
    #[error("the documents have not been reviewed")]
    NotReviewed,
    /// Assess after a review found the documents incomplete.
    #[error("the documents are incomplete")]
    DocumentsIncomplete,
    /// Approve before an assessment.
    #[error("the claim has not been assessed")]
    NotAssessed,
    /// Approve an assessment that found no subsidy due.
    #[error("the claim was assessed ineligible ({})", .0.label(Lang::En))]
    AssessedIneligible(RejectReason),
    /// The approver assessed the claim themselves.
    #[error("the approver must not be the assessor")]
    FourEyes,
    /// Subsidies approved for the member since the assessment leave less
    /// under the cap than this claim's subsidy: assess again.
    #[error("only {cap_remaining_fen} yuan remain under the member's cap, less than the assessed {subsidy_fen} yuan; assess again")]
    CapExceeded {
        /// What remains under the cap now.
        cap_remaining_fen: Fen,
        /// The assessed subsidy.
        subsidy_fen: Fen,
    },
    /// MarkPaid on a paid claim: a subsidy is paid at most once.
    #[error("the subsidy has already been paid")]
    AlreadyPaid,
    /// More than [`MAX_APPEALS`] appeals.
    #[error("at most {MAX_APPEALS} appeals are allowed")]
    TooManyAppeals,
    /// An amount is not representable (a policy or facts beyond any real figure).
    #[error("amount overflow")]
    AmountOverflow,
    /// A lookup failed; nothing was written. Try again.
    #[error("service unavailable: {0}")]
    ServiceUnavailable(String),
}

impl From<crate::services::ServiceError> for MutualAidClaimError {
    fn from(e: crate::services::ServiceError) -> Self {
        MutualAidClaimError::ServiceUnavailable(e.0)
    }
}

impl MutualAidClaimError {
    /// Every code, for uniqueness checks.
    pub const CODES: [&'static str; 22] = [
        "mutual_aid_claim.already_submitted",
        "mutual_aid_claim.not_submitted",
        "mutual_aid_claim.plan_not_found",
        "mutual_aid_claim.not_enrolled",
        "mutual_aid_claim.stay_already_claimed",
        "mutual_aid_claim.bad_stay_dates",
        "mutual_aid_claim.reimbursements_exceed_cost",
        "mutual_aid_claim.too_many_documents",
        "mutual_aid_claim.wrong_state",
        "mutual_aid_claim.not_reviewed",
        "mutual_aid_claim.documents_incomplete",
        "mutual_aid_claim.not_assessed",
        "mutual_aid_claim.assessed_ineligible",
        "mutual_aid_claim.four_eyes",
        "mutual_aid_claim.cap_exceeded",
        "mutual_aid_claim.already_paid",
        "mutual_aid_claim.too_many_appeals",
        "mutual_aid_claim.amount_overflow",
        "mutual_aid_claim.service_unavailable",
        "mutual_aid_claim.paid_before_stay",
        "mutual_aid_claim.paid_before_approval",
        "mutual_aid_claim.paid_in_future",
    ];
}

impl ErrorCode for MutualAidClaimError {
    fn code(&self) -> &'static str {
        use MutualAidClaimError::*;
        match self {
            AlreadySubmitted => "mutual_aid_claim.already_submitted",
            NotSubmitted => "mutual_aid_claim.not_submitted",
            PlanNotFound(_) => "mutual_aid_claim.plan_not_found",
            NotEnrolled => "mutual_aid_claim.not_enrolled",
            StayAlreadyClaimed { .. } => "mutual_aid_claim.stay_already_claimed",
            BadStayDates => "mutual_aid_claim.bad_stay_dates",
            PaidBeforeStay { .. } => "mutual_aid_claim.paid_before_stay",
            PaidBeforeApproval { .. } => "mutual_aid_claim.paid_before_approval",
            PaidInFuture { .. } => "mutual_aid_claim.paid_in_future",
            ReimbursementsExceedCost => "mutual_aid_claim.reimbursements_exceed_cost",
            TooManyDocuments { .. } => "mutual_aid_claim.too_many_documents",
            WrongState(_) => "mutual_aid_claim.wrong_state",
            NotReviewed => "mutual_aid_claim.not_reviewed",
            DocumentsIncomplete => "mutual_aid_claim.documents_incomplete",
            NotAssessed => "mutual_aid_claim.not_assessed",
            AssessedIneligible(_) => "mutual_aid_claim.assessed_ineligible",
            FourEyes => "mutual_aid_claim.four_eyes",
            CapExceeded { .. } => "mutual_aid_claim.cap_exceeded",
            AlreadyPaid => "mutual_aid_claim.already_paid",
            TooManyAppeals => "mutual_aid_claim.too_many_appeals",
            AmountOverflow => "mutual_aid_claim.amount_overflow",
            ServiceUnavailable(_) => "mutual_aid_claim.service_unavailable",
        }
    }
}

impl Localize for MutualAidClaimError {
    fn localize(&self, lang: Lang) -> String {
        use MutualAidClaimError::*;
        if lang == Lang::En {
            return self.to_string();
        }
        match self {
            AlreadySubmitted => "该申请已提交".into(),
            NotSubmitted => "该申请尚未提交".into(),
            PlanNotFound(plan) => format!("互助期 {plan} 不存在"),
            NotEnrolled => "该成员未参加本期互助".into(),
            StayAlreadyClaimed { other_claim } => {
                format!("该次住院已由申请 {other_claim} 申请补助")
            }
            BadStayDates => "出院日期早于入院日期".into(),
            PaidBeforeStay {
                paid_on,
                admitted_on,
            } => format!("发放日期 {paid_on} 早于入院日期 {admitted_on}"),
            PaidBeforeApproval {
                paid_on,
                approved_on,
            } => format!("发放日期 {paid_on} 早于批准日期 {approved_on}"),
            PaidInFuture { paid_on } => format!("发放日期 {paid_on} 晚于今天"),
            ReimbursementsExceedCost => "医保及其他报销合计超过总费用".into(),
            TooManyDocuments { count } => {
                format!("材料过多：{count} 份，最多 {MAX_DOCUMENTS} 份")
            }
            WrongState(status) => format!("申请处于「{}」状态，不能执行此操作", status.label(lang)),
            NotReviewed => "材料尚未审核".into(),
            DocumentsIncomplete => "材料不全，不能核定补助".into(),
            NotAssessed => "补助尚未核定".into(),
            AssessedIneligible(reason) => {
                format!("核定结果为不予补助（{}），不能批准", reason.label(lang))
            }
            FourEyes => "审批人不能是核定人本人".into(),
            CapExceeded {
                cap_remaining_fen,
                subsidy_fen,
            } => format!(
                "该成员本期封顶余额仅 {cap_remaining_fen} 元，少于核定的 {subsidy_fen} 元，请重新核定"
            ),
            AlreadyPaid => "补助已发放，不能重复发放".into(),
            TooManyAppeals => format!("申诉次数已达上限（{MAX_APPEALS} 次）"),
            AmountOverflow => "金额超出允许范围".into(),
            ServiceUnavailable(detail) => format!("服务暂不可用，请稍后重试：{detail}"),
        }
    }
}
