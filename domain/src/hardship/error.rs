//! Why a hardship-file command was refused: one variant per business rule,
//! each with a stable code (`hardship_file.<rule>`) that API clients and
//! tests match on, and a message in Chinese and English.

use chrono::NaiveDate;

use super::commands::{HardshipCause, VerifiedFact};
use crate::i18n::{ErrorCode, Lang, Localize};
use crate::values::{Code, Fen};

/// A refused hardship-file command. Nothing was written.
///
/// Fields name ids, positions and amounts, never personal identifiers, so an
/// error may be logged.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", self.localize(Lang::En))]
pub enum HardshipFileError {
    /// `OpenFile` on a file that already exists.
    AlreadyOpened,
    /// Any other command on a file never opened.
    NotOpened,
    /// The head's resident ID heads another open file.
    ResidentHasOpenFile {
        /// The other file.
        file_id: String,
    },
    /// No hardship cause given.
    NoCauses,
    /// A hardship cause listed twice.
    DuplicateCause {
        /// The repeated cause.
        cause: HardshipCause,
    },
    /// More members than [`super::MAX_MEMBERS`].
    TooManyMembers {
        /// The limit.
        max: usize,
        /// How many were given.
        actual: usize,
    },
    /// A member's birth year before 1900 or after the year of opening.
    BadBirthYear {
        /// 1-based position in the member list.
        position: usize,
        /// The year given.
        birth_year: u16,
    },
    /// `opened_on` after the day the command is recorded.
    OpenedInFuture {
        /// The date given.
        opened_on: NaiveDate,
    },
    /// The file is closed.
    FileClosed,
    /// `ReopenFile` on a file that is not closed.
    FileNotClosed,
    /// A visit id used before in this file.
    DuplicateVisit {
        /// The id.
        visit_id: Code,
    },
    /// `visited_on` after the day the command is recorded.
    VisitInFuture {
        /// The date given.
        visited_on: NaiveDate,
    },
    /// A visit dated before the file was opened.
    VisitBeforeOpening {
        /// The date given.
        visited_on: NaiveDate,
        /// The file's opening date.
        opened_on: NaiveDate,
    },
    /// A payment (bank or cash at a visit) dated before the grant's approval.
    PaidBeforeApproval {
        /// The date given.
        paid_on: NaiveDate,
        /// The day of the approval, in business time.
        approved_on: NaiveDate,
    },
    /// A measure due before the plan was adopted.
    MeasureDueBeforeAdoption {
        /// The measure.
        measure_id: Code,
        /// Its due date.
        due_on: NaiveDate,
        /// The day the plan was adopted, in business time.
        adopted_on: NaiveDate,
    },
    /// The file has [`super::MAX_VISITS`] visits.
    TooManyVisits {
        /// The limit.
        max: usize,
    },
    /// A visit with no caseworker.
    NoCaseworkers,
    /// More caseworkers than [`super::MAX_CASEWORKERS`].
    TooManyCaseworkers {
        /// The limit.
        max: usize,
        /// How many were given.
        actual: usize,
    },
    /// A caseworker named twice on one visit.
    DuplicateCaseworker {
        /// 1-based position of the repeat.
        position: usize,
    },
    /// A verified fact listed twice.
    DuplicateFact {
        /// The repeated fact.
        fact: VerifiedFact,
    },
    /// `Verify` before any verification visit since the file was (re)opened.
    NoVerificationVisit,
    /// `Verify` on a verified file.
    AlreadyVerified,
    /// Plan or grant work on a file not (or not again) verified.
    NotVerified,
    /// Approving one's own proposal (own grant request, own file opening).
    FourEyes,
    /// `AdoptPlan` when the file already has a plan.
    PlanExists,
    /// `RevisePlan` without a plan.
    NoPlan,
    /// A plan with no measures.
    NoMeasures,
    /// More measures than [`super::MAX_MEASURES`].
    TooManyMeasures {
        /// The limit.
        max: usize,
        /// How many were given.
        actual: usize,
    },
    /// A measure id listed twice.
    DuplicateMeasure {
        /// The id.
        measure_id: Code,
    },
    /// No such measure in the plan.
    UnknownMeasure {
        /// The id.
        measure_id: Code,
    },
    /// The measure is completed: no new grants, no changes.
    MeasureCompleted {
        /// The id.
        measure_id: Code,
    },
    /// A revision would remove a measure with grants, or change its kind or fund.
    MeasureInUse {
        /// The id.
        measure_id: Code,
    },
    /// A revision would plan less than is already committed to a measure.
    PlannedBelowCommitted {
        /// The id.
        measure_id: Code,
        /// Requested (pending) + approved + paid.
        committed_fen: Fen,
    },
    /// The plan has been revised [`super::MAX_PLAN_REVISIONS`] times.
    TooManyRevisions {
        /// The limit.
        max: u32,
    },
    /// A zero amount for a grant or for a monetary measure.
    AmountMustBePositive {
        /// The measure concerned.
        measure_id: Code,
    },
    /// A grant larger than what its measure has left.
    ExceedsMeasureRemaining {
        /// The measure.
        measure_id: Code,
        /// Planned − (pending + approved + paid).
        remaining_fen: Fen,
    },
    /// A grant id used before in this file.
    DuplicateGrant {
        /// The id.
        grant_id: Code,
    },
    /// The file has [`super::MAX_GRANTS`] grants.
    TooManyGrants {
        /// The limit.
        max: usize,
    },
    /// No such grant in this file.
    UnknownGrant {
        /// The id.
        grant_id: Code,
    },
    /// Approve/decline of a grant that is not awaiting approval.
    GrantNotPending {
        /// The id.
        grant_id: Code,
    },
    /// Payment of a grant that is not approved.
    GrantNotApproved {
        /// The id.
        grant_id: Code,
    },
    /// Payment of a grant already paid: a payout is made at most once.
    GrantAlreadyPaid {
        /// The id.
        grant_id: Code,
    },
    /// Cash at a visit against a grant not payable in cash, or for a different amount.
    CashGrantMismatch {
        /// The grant.
        grant_id: Code,
        /// The grant's amount.
        grant_amount_fen: Fen,
        /// Whether the grant is payable in cash.
        payable_in_cash: bool,
    },
    /// `RecordGrantPaid` for a cash grant: cash is paid at a visit.
    CashGrantNeedsVisit {
        /// The grant.
        grant_id: Code,
    },
    /// `paid_on` after the day the command is recorded.
    PaidInFuture {
        /// The date given.
        paid_on: NaiveDate,
    },
    /// Closing a file with grants pending or approved but unpaid.
    OutstandingGrants {
        /// How many.
        count: usize,
    },
    /// Completing a measure with grants pending or approved but unpaid.
    MeasureHasOutstandingGrants {
        /// The measure.
        measure_id: Code,
    },
    /// `next_review_on` not after `reviewed_on`.
    BadReviewDate,
    /// `reviewed_on` after the day the command is recorded.
    ReviewInFuture {
        /// The date given.
        reviewed_on: NaiveDate,
    },
    /// The file has [`super::MAX_REVIEWS`] reviews.
    TooManyReviews {
        /// The limit.
        max: usize,
    },
    /// A sum of amounts beyond the representable range.
    AmountOverflow,
    /// A lookup outside the file could not be answered; try again.
    ServiceUnavailable(String),
}

impl ErrorCode for HardshipFileError {
    fn code(&self) -> &'static str {
        use HardshipFileError::*;
        match self {
            AlreadyOpened => "hardship_file.already_opened",
            NotOpened => "hardship_file.not_opened",
            ResidentHasOpenFile { .. } => "hardship_file.resident_has_open_file",
            NoCauses => "hardship_file.no_causes",
            DuplicateCause { .. } => "hardship_file.duplicate_cause",
            TooManyMembers { .. } => "hardship_file.too_many_members",
            BadBirthYear { .. } => "hardship_file.bad_birth_year",
            OpenedInFuture { .. } => "hardship_file.opened_in_future",
            FileClosed => "hardship_file.file_closed",
            FileNotClosed => "hardship_file.file_not_closed",
            DuplicateVisit { .. } => "hardship_file.duplicate_visit",
            VisitInFuture { .. } => "hardship_file.visit_in_future",
            VisitBeforeOpening { .. } => "hardship_file.visit_before_opening",
            PaidBeforeApproval { .. } => "hardship_file.paid_before_approval",
            MeasureDueBeforeAdoption { .. } => "hardship_file.measure_due_before_adoption",
            TooManyVisits { .. } => "hardship_file.too_many_visits",
            NoCaseworkers => "hardship_file.no_caseworkers",
            TooManyCaseworkers { .. } => "hardship_file.too_many_caseworkers",
            DuplicateCaseworker { .. } => "hardship_file.duplicate_caseworker",
            DuplicateFact { .. } => "hardship_file.duplicate_fact",
            NoVerificationVisit => "hardship_file.no_verification_visit",
            AlreadyVerified => "hardship_file.already_verified",
            NotVerified => "hardship_file.not_verified",
            FourEyes => "hardship_file.four_eyes",
            PlanExists => "hardship_file.plan_exists",
            NoPlan => "hardship_file.no_plan",
            NoMeasures => "hardship_file.no_measures",
            TooManyMeasures { .. } => "hardship_file.too_many_measures",
            DuplicateMeasure { .. } => "hardship_file.duplicate_measure",
            UnknownMeasure { .. } => "hardship_file.unknown_measure",
            MeasureCompleted { .. } => "hardship_file.measure_completed",
            MeasureInUse { .. } => "hardship_file.measure_in_use",
            PlannedBelowCommitted { .. } => "hardship_file.planned_below_committed",
            TooManyRevisions { .. } => "hardship_file.too_many_revisions",
            AmountMustBePositive { .. } => "hardship_file.amount_must_be_positive",
            ExceedsMeasureRemaining { .. } => "hardship_file.exceeds_measure_remaining",
            DuplicateGrant { .. } => "hardship_file.duplicate_grant",
            TooManyGrants { .. } => "hardship_file.too_many_grants",
            UnknownGrant { .. } => "hardship_file.unknown_grant",
            GrantNotPending { .. } => "hardship_file.grant_not_pending",
            GrantNotApproved { .. } => "hardship_file.grant_not_approved",
            GrantAlreadyPaid { .. } => "hardship_file.grant_already_paid",
            CashGrantMismatch { .. } => "hardship_file.cash_grant_mismatch",
            CashGrantNeedsVisit { .. } => "hardship_file.cash_grant_needs_visit",
            PaidInFuture { .. } => "hardship_file.paid_in_future",
            OutstandingGrants { .. } => "hardship_file.outstanding_grants",
            MeasureHasOutstandingGrants { .. } => "hardship_file.measure_outstanding_grants",
            BadReviewDate => "hardship_file.bad_review_date",
            ReviewInFuture { .. } => "hardship_file.review_in_future",
            TooManyReviews { .. } => "hardship_file.too_many_reviews",
            AmountOverflow => "hardship_file.amount_overflow",
            ServiceUnavailable(_) => "hardship_file.service_unavailable",
        }
    }
}

impl Localize for HardshipFileError {
    fn localize(&self, lang: Lang) -> String {
        use HardshipFileError::*;
        let zh = lang == Lang::Zh;
        let pick = |z: String, e: String| if zh { z } else { e };
        match self {
            AlreadyOpened => pick(
                "该档案已建立，不能重复建档".into(),
                "this file is already open".into(),
            ),
            NotOpened => pick("该档案尚未建立".into(), "this file has not been opened".into()),
            ResidentHasOpenFile { file_id } => pick(
                format!("该户主身份证号已有在档档案（{file_id}），一户只能有一份在档档案"),
                format!(
                    "this head of household already heads open file {file_id}; one open file per household"
                ),
            ),
            NoCauses => pick(
                "至少填写一项致困原因".into(),
                "give at least one hardship cause".into(),
            ),
            DuplicateCause { cause } => pick(
                format!("致困原因“{}”重复", cause.label(Lang::Zh)),
                format!("hardship cause '{}' is listed twice", cause.label(Lang::En)),
            ),
            TooManyMembers { max, actual } => pick(
                format!("家庭成员最多 {max} 人，实际填写 {actual} 人"),
                format!("at most {max} household members, got {actual}"),
            ),
            BadBirthYear {
                position,
                birth_year,
            } => pick(
                format!("第 {position} 位家庭成员的出生年份 {birth_year} 不合理"),
                format!("household member {position}: birth year {birth_year} is not plausible"),
            ),
            OpenedInFuture { opened_on } => pick(
                format!("建档日期 {opened_on} 不能晚于今天"),
                format!("opening date {opened_on} is in the future"),
            ),
            FileClosed => pick(
                "档案已结档，如家庭再次致困请重新建档".into(),
                "the file is closed; reopen it if the household has fallen back into hardship"
                    .into(),
            ),
            FileNotClosed => pick(
                "档案未结档，无需重新建档".into(),
                "the file is not closed".into(),
            ),
            DuplicateVisit { visit_id } => pick(
                format!("走访编号 {visit_id} 已登记过"),
                format!("visit {visit_id} is already logged"),
            ),
            VisitInFuture { visited_on } => pick(
                format!("走访日期 {visited_on} 不能晚于今天"),
                format!("visit date {visited_on} is in the future"),
            ),
            VisitBeforeOpening {
                visited_on,
                opened_on,
            } => pick(
                format!("走访日期 {visited_on} 早于建档日期 {opened_on}"),
                format!("visit date {visited_on} is before the file was opened ({opened_on})"),
            ),
            PaidBeforeApproval {
                paid_on,
                approved_on,
            } => pick(
                format!("发放日期 {paid_on} 早于审批日期 {approved_on}"),
                format!("payment date {paid_on} is before the approval ({approved_on})"),
            ),
            MeasureDueBeforeAdoption {
                measure_id,
                due_on,
                adopted_on,
            } => pick(
                format!("措施 {measure_id} 的完成期限 {due_on} 早于计划制定日期 {adopted_on}"),
                format!(
                    "measure {measure_id} is due on {due_on}, before the plan was adopted ({adopted_on})"
                ),
            ),
            TooManyVisits { max } => pick(
                format!("一份档案最多登记 {max} 次走访"),
                format!("a file holds at most {max} visits"),
            ),
            NoCaseworkers => pick(
                "至少填写一名走访人".into(),
                "name at least one caseworker".into(),
            ),
            TooManyCaseworkers { max, actual } => pick(
                format!("走访人最多 {max} 名，实际填写 {actual} 名"),
                format!("at most {max} caseworkers per visit, got {actual}"),
            ),
            DuplicateCaseworker { position } => pick(
                format!("第 {position} 名走访人重复"),
                format!("caseworker {position} is named twice"),
            ),
            DuplicateFact { fact } => pick(
                format!("核查事项“{}”重复", fact.label(Lang::Zh)),
                format!("verified fact '{}' is listed twice", fact.label(Lang::En)),
            ),
            NoVerificationVisit => pick(
                "核实前须先进行入户识别核查走访".into(),
                "a verification home visit must be logged before the file can be verified".into(),
            ),
            AlreadyVerified => pick("档案已核实".into(), "the file is already verified".into()),
            NotVerified => pick(
                "档案尚未核实，不能制定或调整帮扶计划、申请发放".into(),
                "the file is not verified; plans and grants need a verified file".into(),
            ),
            FourEyes => pick(
                "不能审批本人提出的事项（双人审核）".into(),
                "you cannot approve what you proposed yourself (four-eyes rule)".into(),
            ),
            PlanExists => pick(
                "已有帮扶计划，请使用调整帮扶计划".into(),
                "the file already has a plan; revise it instead".into(),
            ),
            NoPlan => pick(
                "尚未制定帮扶计划".into(),
                "the file has no plan yet".into(),
            ),
            NoMeasures => pick(
                "帮扶计划至少包含一项措施".into(),
                "a plan needs at least one measure".into(),
            ),
            TooManyMeasures { max, actual } => pick(
                format!("帮扶措施最多 {max} 项，实际填写 {actual} 项"),
                format!("at most {max} measures per plan, got {actual}"),
            ),
            DuplicateMeasure { measure_id } => pick(
                format!("措施编号 {measure_id} 重复"),
                format!("measure {measure_id} is listed twice"),
            ),
            UnknownMeasure { measure_id } => pick(
                format!("帮扶计划中没有措施 {measure_id}"),
                format!("the plan has no measure {measure_id}"),
            ),
            MeasureCompleted { measure_id } => pick(
                format!("措施 {measure_id} 已办结，不能再变更或申请发放"),
                format!("measure {measure_id} is completed and cannot be changed or paid from"),
            ),
            MeasureInUse { measure_id } => pick(
                format!("措施 {measure_id} 已有发放记录，不能删除或更改类型、资金来源"),
                format!(
                    "measure {measure_id} has grants; it cannot be removed nor change kind or fund"
                ),
            ),
            PlannedBelowCommitted {
                measure_id,
                committed_fen,
            } => pick(
                format!("措施 {measure_id} 的计划金额不能低于已申请、已审批和已发放合计 {committed_fen} 元"),
                format!(
                    "measure {measure_id} cannot be planned below the {committed_fen} yuan already requested, approved or paid"
                ),
            ),
            TooManyRevisions { max } => pick(
                format!("帮扶计划最多调整 {max} 次"),
                format!("a plan can be revised at most {max} times"),
            ),
            AmountMustBePositive { measure_id } => pick(
                format!("措施 {measure_id} 的金额必须大于零"),
                format!("the amount for measure {measure_id} must be more than zero"),
            ),
            ExceedsMeasureRemaining {
                measure_id,
                remaining_fen,
            } => pick(
                format!("申请金额超过措施 {measure_id} 的剩余计划金额 {remaining_fen} 元"),
                format!(
                    "the amount exceeds the {remaining_fen} yuan left on measure {measure_id}"
                ),
            ),
            DuplicateGrant { grant_id } => pick(
                format!("发放编号 {grant_id} 已使用"),
                format!("grant {grant_id} already exists"),
            ),
            TooManyGrants { max } => pick(
                format!("一份档案最多 {max} 笔发放"),
                format!("a file holds at most {max} grants"),
            ),
            UnknownGrant { grant_id } => pick(
                format!("没有发放记录 {grant_id}"),
                format!("there is no grant {grant_id}"),
            ),
            GrantNotPending { grant_id } => pick(
                format!("发放 {grant_id} 不在待审批状态"),
                format!("grant {grant_id} is not awaiting approval"),
            ),
            GrantNotApproved { grant_id } => pick(
                format!("发放 {grant_id} 尚未审批同意"),
                format!("grant {grant_id} is not approved"),
            ),
            GrantAlreadyPaid { grant_id } => pick(
                format!("发放 {grant_id} 已发放，不能重复发放"),
                format!("grant {grant_id} is already paid; a payout is made at most once"),
            ),
            CashGrantMismatch {
                grant_id,
                grant_amount_fen,
                payable_in_cash,
            } => {
                if *payable_in_cash {
                    pick(
                        format!("现场发放金额须与发放 {grant_id} 的审批金额 {grant_amount_fen} 元一致"),
                        format!(
                            "cash handed over must equal grant {grant_id}'s approved {grant_amount_fen} yuan"
                        ),
                    )
                } else {
                    pick(
                        format!("发放 {grant_id} 须银行转账，不能现场发放现金"),
                        format!("grant {grant_id} is paid by bank transfer, not in cash"),
                    )
                }
            }
            CashGrantNeedsVisit { grant_id } => pick(
                format!("发放 {grant_id} 为现金发放，须在入户走访时登记签收"),
                format!("grant {grant_id} is paid in cash: record it with the visit where it was handed over"),
            ),
            PaidInFuture { paid_on } => pick(
                format!("发放日期 {paid_on} 不能晚于今天"),
                format!("payment date {paid_on} is in the future"),
            ),
            OutstandingGrants { count } => pick(
                format!("尚有 {count} 笔发放待审批或待发放，不能结档"),
                format!("{count} grants are still pending or approved but unpaid"),
            ),
            MeasureHasOutstandingGrants { measure_id } => pick(
                format!("措施 {measure_id} 尚有待审批或待发放的发放，不能办结"),
                format!("measure {measure_id} has grants pending or approved but unpaid"),
            ),
            BadReviewDate => pick(
                "下次复核日期须晚于本次复核日期".into(),
                "the next review date must be after the review date".into(),
            ),
            ReviewInFuture { reviewed_on } => pick(
                format!("复核日期 {reviewed_on} 不能晚于今天"),
                format!("review date {reviewed_on} is in the future"),
            ),
            TooManyReviews { max } => pick(
                format!("一份档案最多登记 {max} 次复核"),
                format!("a file holds at most {max} reviews"),
            ),
            AmountOverflow => pick(
                "金额合计超出允许范围".into(),
                "the amounts add up beyond the representable range".into(),
            ),
            ServiceUnavailable(detail) => pick(
                format!("暂时无法查询其他档案，请稍后重试（{detail}）"),
                format!("other files could not be checked; try again later ({detail})"),
            ),
        }
    }
}

impl From<crate::services::ServiceError> for HardshipFileError {
    fn from(e: crate::services::ServiceError) -> Self {
        HardshipFileError::ServiceUnavailable(e.0)
    }
}
