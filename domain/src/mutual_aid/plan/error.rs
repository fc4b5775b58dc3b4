//! Why a command on a mutual-aid plan period was refused.

use crate::i18n::{ErrorCode, Lang, Localize};
use crate::mutual_aid::policy::PolicyError;
use crate::values::{Code, ResidentId};

use super::commands::MAX_ROSTER;

/// Every business rule of [`super::MutualAidPlan`] that a command can break.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum MutualAidPlanError {
    /// OpenPeriod on a period that is already open (or closed).
    #[error("the plan period has already been opened")]
    AlreadyOpened,
    /// Any other command before OpenPeriod.
    #[error("the plan period has not been opened")]
    NotOpened,
    /// `ends_on` is not after `starts_on`.
    #[error("the period must end after it starts")]
    BadPeriodDates,
    /// The policy fails [`crate::mutual_aid::policy::Policy::validate`].
    #[error("invalid policy: {0}")]
    InvalidPolicy(PolicyError),
    /// Enrolment, amendment or closing after the period was closed.
    #[error("the plan period is closed")]
    PeriodClosed,
    /// The unit is enrolled already; amend its roster instead.
    #[error("unit {0} is already enrolled in this period")]
    UnitAlreadyEnrolled(Code),
    /// The unit is not enrolled in this period.
    #[error("unit {0} is not enrolled in this period")]
    UnknownUnit(Code),
    /// An enrolment without members.
    #[error("the roster is empty")]
    EmptyRoster,
    /// More than [`MAX_ROSTER`] members in one roster or one unit.
    #[error("the roster has {count} members; at most {MAX_ROSTER} are allowed")]
    RosterTooLarge {
        /// Members the roster (or the unit after amendment) would have.
        count: usize,
    },
    /// The same member is listed twice in one command.
    #[error("member {0} is listed more than once")]
    DuplicateMember(ResidentId),
    /// The member is enrolled in this period already (through `unit_id`).
    #[error("member {member} is already enrolled in this period through unit {unit_id}")]
    MemberAlreadyEnrolled {
        /// The member (masked in messages).
        member: ResidentId,
        /// The unit they are enrolled through.
        unit_id: Code,
    },
    /// A removal names a member not enrolled through this unit.
    #[error("member {0} is not enrolled through this unit")]
    MemberNotInUnit(ResidentId),
    /// An amendment that neither adds nor removes anyone.
    #[error("the amendment adds and removes no one")]
    EmptyAmendment,
    /// Contributions would exceed the largest representable amount.
    #[error("contribution total overflows")]
    AmountOverflow,
}

impl MutualAidPlanError {
    /// Every code, for uniqueness checks.
    pub const CODES: [&'static str; 14] = [
        "mutual_aid_plan.already_opened",
        "mutual_aid_plan.not_opened",
        "mutual_aid_plan.bad_period_dates",
        "mutual_aid_plan.invalid_policy",
        "mutual_aid_plan.period_closed",
        "mutual_aid_plan.unit_already_enrolled",
        "mutual_aid_plan.unknown_unit",
        "mutual_aid_plan.empty_roster",
        "mutual_aid_plan.roster_too_large",
        "mutual_aid_plan.duplicate_member",
        "mutual_aid_plan.member_already_enrolled",
        "mutual_aid_plan.member_not_in_unit",
        "mutual_aid_plan.empty_amendment",
        "mutual_aid_plan.amount_overflow",
    ];
}

impl ErrorCode for MutualAidPlanError {
    fn code(&self) -> &'static str {
        use MutualAidPlanError::*;
        match self {
            AlreadyOpened => "mutual_aid_plan.already_opened",
            NotOpened => "mutual_aid_plan.not_opened",
            BadPeriodDates => "mutual_aid_plan.bad_period_dates",
            InvalidPolicy(_) => "mutual_aid_plan.invalid_policy",
            PeriodClosed => "mutual_aid_plan.period_closed",
            UnitAlreadyEnrolled(_) => "mutual_aid_plan.unit_already_enrolled",
            UnknownUnit(_) => "mutual_aid_plan.unknown_unit",
            EmptyRoster => "mutual_aid_plan.empty_roster",
            RosterTooLarge { .. } => "mutual_aid_plan.roster_too_large",
            DuplicateMember(_) => "mutual_aid_plan.duplicate_member",
            MemberAlreadyEnrolled { .. } => "mutual_aid_plan.member_already_enrolled",
            MemberNotInUnit(_) => "mutual_aid_plan.member_not_in_unit",
            EmptyAmendment => "mutual_aid_plan.empty_amendment",
            AmountOverflow => "mutual_aid_plan.amount_overflow",
        }
    }
}

impl Localize for MutualAidPlanError {
    fn localize(&self, lang: Lang) -> String {
        use MutualAidPlanError::*;
        match lang {
            Lang::En => match self {
                InvalidPolicy(detail) => format!("invalid policy: {}", detail.localize(lang)),
                other => other.to_string(),
            },
            Lang::Zh => match self {
                AlreadyOpened => "该互助期已开启".into(),
                NotOpened => "该互助期尚未开启".into(),
                BadPeriodDates => "互助期结束日期必须晚于开始日期".into(),
                InvalidPolicy(detail) => format!("补助政策无效：{}", detail.localize(lang)),
                PeriodClosed => "该互助期已结束，不能再参加或调整名单".into(),
                UnitAlreadyEnrolled(unit) => {
                    format!("单位 {unit} 已参加本期互助，请改为调整名单")
                }
                UnknownUnit(unit) => format!("单位 {unit} 未参加本期互助"),
                EmptyRoster => "参加名单为空".into(),
                RosterTooLarge { count } => {
                    format!("名单人数过多：{count} 人，最多 {MAX_ROSTER} 人")
                }
                DuplicateMember(member) => format!("成员 {member} 在名单中重复出现"),
                MemberAlreadyEnrolled { member, unit_id } => {
                    format!("成员 {member} 已通过单位 {unit_id} 参加本期互助")
                }
                MemberNotInUnit(member) => format!("成员 {member} 不在该单位名单中"),
                EmptyAmendment => "名单调整未增加也未减少任何人".into(),
                AmountOverflow => "互助金合计超出金额范围".into(),
            },
        }
    }
}
