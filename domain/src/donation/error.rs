//! Why a command to a one-day-donation campaign was refused: one variant per
//! business rule, each with a stable code (`donation_campaign.<rule>`) that
//! API clients and tests match on, and a message in Chinese and English.

use chrono::NaiveDate;

use super::commands::{MAX_ALLOCATIONS, MAX_CO_ISSUERS, MAX_DONATIONS, MAX_UNITS};
use super::AllocationStatus;
use crate::i18n::{ErrorCode, Lang, Localize};
use crate::values::{Code, Fen};

/// A refused command of a [`super::DonationCampaign`].
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum DonationCampaignError {
    /// Launch on a campaign that already exists.
    #[error("the campaign has already been launched")]
    AlreadyLaunched,
    /// Any command but Launch before the campaign exists.
    #[error("the campaign has not been launched")]
    NotLaunched,
    /// Year outside 2000–2100.
    #[error("campaign year {year} is not between 2000 and 2100")]
    BadYear {
        /// The year given.
        year: u16,
    },
    /// The period ends before it starts.
    #[error("the campaign ends on {ends_on}, before it starts on {starts_on}")]
    BadDates {
        /// First day given.
        starts_on: NaiveDate,
        /// Last day given.
        ends_on: NaiveDate,
    },
    /// No participating unit.
    #[error("a campaign needs at least one participating unit")]
    NoUnits,
    /// More than [`MAX_UNITS`] units.
    #[error("too many participating units: at most {max}, got {count}", max = MAX_UNITS)]
    TooManyUnits {
        /// Units given.
        count: usize,
    },
    /// A unit id listed twice.
    #[error("participating unit {unit_id} is listed twice")]
    DuplicateUnit {
        /// The repeated id.
        unit_id: Code,
    },
    /// More than [`MAX_CO_ISSUERS`] co-issuers.
    #[error("too many co-issuers: at most {max}, got {count}", max = MAX_CO_ISSUERS)]
    TooManyCoIssuers {
        /// Co-issuers given.
        count: usize,
    },
    /// A unit with no staff.
    #[error("unit {unit_id} must have a headcount above zero")]
    BadHeadcount {
        /// The unit.
        unit_id: Code,
    },
    /// A donation after the campaign closed.
    #[error("the campaign is closed: no more donations can be recorded")]
    CampaignClosed,
    /// A donation from a unit not in the campaign.
    #[error("unit {unit_id} does not take part in this campaign")]
    UnknownUnit {
        /// The unit.
        unit_id: Code,
    },
    /// A receipt number already used (reversed ones included).
    #[error(
        "receipt {receipt_no} has already been recorded (a reversed receipt's number stays used)"
    )]
    DuplicateReceipt {
        /// The receipt.
        receipt_no: Code,
    },
    /// A zero amount.
    #[error("the amount must be above zero")]
    AmountMustBePositive,
    /// Zero donors, or a named donor counted as more than one.
    #[error("donor count {donor_count} is not valid: at least 1, and exactly 1 for a named donor")]
    BadDonorCount {
        /// The count given.
        donor_count: u32,
    },
    /// A donation dated outside the campaign period.
    #[error("donation date {donated_on} is outside the campaign period {starts_on} to {ends_on}")]
    DonationOutsidePeriod {
        /// The date given.
        donated_on: NaiveDate,
        /// First day of the period.
        starts_on: NaiveDate,
        /// Last day of the period.
        ends_on: NaiveDate,
    },
    /// More than [`MAX_DONATIONS`] receipts.
    #[error("the campaign already has the most receipts allowed ({max})", max = MAX_DONATIONS)]
    TooManyDonations,
    /// Reversal of a receipt that was never recorded.
    #[error("receipt {receipt_no} has not been recorded")]
    UnknownReceipt {
        /// The receipt.
        receipt_no: Code,
    },
    /// Reversal of a receipt already reversed.
    #[error("receipt {receipt_no} has already been reversed")]
    AlreadyReversed {
        /// The receipt.
        receipt_no: Code,
    },
    /// A reversal that would take back money already allocated.
    #[error(
        "reversing {amount_fen} yuan would exceed the {unallocated_fen} yuan not yet allocated"
    )]
    ReversalExceedsUnallocated {
        /// The donation's amount.
        amount_fen: Fen,
        /// Net received minus pending and approved allocations.
        unallocated_fen: Fen,
    },
    /// Close on a closed campaign.
    #[error("the campaign is already closed")]
    AlreadyClosed,
    /// An allocation id already used.
    #[error("allocation {allocation_id} already exists")]
    DuplicateAllocation {
        /// The id.
        allocation_id: Code,
    },
    /// An allocation id never proposed.
    #[error("allocation {allocation_id} does not exist")]
    UnknownAllocation {
        /// The id.
        allocation_id: Code,
    },
    /// Approve or reject of an allocation already decided.
    #[error("allocation {allocation_id} is not pending (it is {})", status.label(Lang::En))]
    AllocationNotPending {
        /// The id.
        allocation_id: Code,
        /// Its status.
        status: AllocationStatus,
    },
    /// An allocation above what is left.
    #[error("allocating {requested_fen} yuan exceeds the {available_fen} yuan available")]
    ExceedsAvailable {
        /// Amount asked for.
        requested_fen: Fen,
        /// Net received minus pending and approved allocations.
        available_fen: Fen,
    },
    /// A designated campaign allocating elsewhere, or a general one to a designated beneficiary.
    #[error("{}", if *designated_campaign {
        "a designated campaign may allocate only to its designated beneficiary"
    } else {
        "a general-fund campaign has no designated beneficiary to allocate to"
    })]
    TargetNotAllowed {
        /// Whether the campaign is designated.
        designated_campaign: bool,
    },
    /// The hardship measure or claim does not exist.
    #[error("the allocation target does not exist")]
    UnknownTarget,
    /// Approval by the proposer.
    #[error("an allocation must be approved by someone other than its proposer")]
    FourEyes,
    /// More than [`MAX_ALLOCATIONS`] allocations.
    #[error("the campaign already has the most allocations allowed ({max})", max = MAX_ALLOCATIONS)]
    TooManyAllocations,
    /// A total beyond the largest representable amount.
    #[error("amount overflow")]
    AmountOverflow,
    /// The target lookup could not be answered.
    #[error("service unavailable: {0}")]
    ServiceUnavailable(String),
}

impl Localize for DonationCampaignError {
    fn localize(&self, lang: Lang) -> String {
        use DonationCampaignError::*;
        if lang == Lang::En {
            return self.to_string();
        }
        match self {
            AlreadyLaunched => "该活动已发起".into(),
            NotLaunched => "该活动尚未发起".into(),
            BadYear { year } => format!("活动年度 {year} 无效，应在 2000 至 2100 之间"),
            BadDates { starts_on, ends_on } => {
                format!("结束日期 {ends_on} 早于开始日期 {starts_on}")
            }
            NoUnits => "至少需要一个参与单位".into(),
            TooManyUnits { count } => {
                format!("参与单位过多：最多 {MAX_UNITS} 个，实际 {count} 个")
            }
            DuplicateUnit { unit_id } => format!("参与单位编号 {unit_id} 重复"),
            TooManyCoIssuers { count } => {
                format!("联合发文单位过多：最多 {MAX_CO_ISSUERS} 个，实际 {count} 个")
            }
            BadHeadcount { unit_id } => format!("单位 {unit_id} 的职工人数必须大于 0"),
            CampaignClosed => "活动已结束，不能再登记捐款".into(),
            UnknownUnit { unit_id } => format!("单位 {unit_id} 不是本次活动的参与单位"),
            DuplicateReceipt { receipt_no } => {
                format!("收据号 {receipt_no} 已登记（已冲销的收据号也不能再用）")
            }
            AmountMustBePositive => "金额必须大于 0".into(),
            BadDonorCount { donor_count } => format!(
                "捐款人数 {donor_count} 无效：至少 1 人，登记捐款人姓名时只能为 1 人"
            ),
            DonationOutsidePeriod {
                donated_on,
                starts_on,
                ends_on,
            } => format!("捐款日期 {donated_on} 不在活动期间 {starts_on} 至 {ends_on} 内"),
            TooManyDonations => format!("本次活动的收据已达上限（{MAX_DONATIONS} 张）"),
            UnknownReceipt { receipt_no } => format!("收据号 {receipt_no} 未登记"),
            AlreadyReversed { receipt_no } => format!("收据号 {receipt_no} 的捐款已冲销"),
            ReversalExceedsUnallocated {
                amount_fen,
                unallocated_fen,
            } => format!(
                "冲销 {amount_fen} 元将超过尚未拨付的 {unallocated_fen} 元：已拨付或待审批的资金不能冲销"
            ),
            AlreadyClosed => "活动已结束".into(),
            DuplicateAllocation { allocation_id } => format!("拨付编号 {allocation_id} 已存在"),
            UnknownAllocation { allocation_id } => format!("拨付编号 {allocation_id} 不存在"),
            AllocationNotPending {
                allocation_id,
                status,
            } => format!(
                "拨付 {allocation_id} 不是待审批状态（当前：{}）",
                status.label(lang)
            ),
            ExceedsAvailable {
                requested_fen,
                available_fen,
            } => format!("拨付金额 {requested_fen} 元超过可用余额 {available_fen} 元"),
            TargetNotAllowed {
                designated_campaign: true,
            } => "定向捐助的资金只能拨付给指定的受助人".into(),
            TargetNotAllowed {
                designated_campaign: false,
            } => "帮扶资金类活动没有定向受助人，不能按定向受助人拨付".into(),
            UnknownTarget => "拨付对象不存在".into(),
            FourEyes => "不能审批自己提出的拨付（须由另一人审批）".into(),
            TooManyAllocations => format!("本次活动的拨付已达上限（{MAX_ALLOCATIONS} 笔）"),
            AmountOverflow => "金额超出可表示的范围".into(),
            ServiceUnavailable(why) => format!("查询服务暂不可用：{why}"),
        }
    }
}

impl ErrorCode for DonationCampaignError {
    fn code(&self) -> &'static str {
        use DonationCampaignError::*;
        match self {
            AlreadyLaunched => "donation_campaign.already_launched",
            NotLaunched => "donation_campaign.not_launched",
            BadYear { .. } => "donation_campaign.bad_year",
            BadDates { .. } => "donation_campaign.bad_dates",
            NoUnits => "donation_campaign.no_units",
            TooManyUnits { .. } => "donation_campaign.too_many_units",
            DuplicateUnit { .. } => "donation_campaign.duplicate_unit",
            TooManyCoIssuers { .. } => "donation_campaign.too_many_co_issuers",
            BadHeadcount { .. } => "donation_campaign.bad_headcount",
            CampaignClosed => "donation_campaign.campaign_closed",
            UnknownUnit { .. } => "donation_campaign.unknown_unit",
            DuplicateReceipt { .. } => "donation_campaign.duplicate_receipt",
            AmountMustBePositive => "donation_campaign.amount_must_be_positive",
            BadDonorCount { .. } => "donation_campaign.bad_donor_count",
            DonationOutsidePeriod { .. } => "donation_campaign.donation_outside_period",
            TooManyDonations => "donation_campaign.too_many_donations",
            UnknownReceipt { .. } => "donation_campaign.unknown_receipt",
            AlreadyReversed { .. } => "donation_campaign.already_reversed",
            ReversalExceedsUnallocated { .. } => "donation_campaign.reversal_exceeds_unallocated",
            AlreadyClosed => "donation_campaign.already_closed",
            DuplicateAllocation { .. } => "donation_campaign.duplicate_allocation",
            UnknownAllocation { .. } => "donation_campaign.unknown_allocation",
            AllocationNotPending { .. } => "donation_campaign.allocation_not_pending",
            ExceedsAvailable { .. } => "donation_campaign.exceeds_available",
            TargetNotAllowed { .. } => "donation_campaign.target_not_allowed",
            UnknownTarget => "donation_campaign.unknown_target",
            FourEyes => "donation_campaign.four_eyes",
            TooManyAllocations => "donation_campaign.too_many_allocations",
            AmountOverflow => "donation_campaign.amount_overflow",
            ServiceUnavailable(_) => "donation_campaign.service_unavailable",
        }
    }
}
