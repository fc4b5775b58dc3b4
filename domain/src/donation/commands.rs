//! What people ask a one-day-donation campaign (一日捐) to do: launch it,
//! record and reverse donations, close it, and propose, approve or reject
//! allocations of the money received.
//!
//! Commands carry parsed values only, so a malformed receipt number or a
//! negative amount never reaches the handler; the handler checks the rules
//! that need the campaign's state.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::i18n::Lang;
use crate::values::{Code, Fen, OrgName, PersonName, ResidentId, ShortText};

/// Most participating units one campaign may list (a city has ~6,400 grassroots unions).
pub const MAX_UNITS: usize = 10_000;
/// Most co-issuing organisations on the campaign notice.
pub const MAX_CO_ISSUERS: usize = 10;
/// Most donation receipts one campaign may record (reversed ones included:
/// a receipt number stays taken). City scale is tens of thousands.
pub const MAX_DONATIONS: usize = 1_000_000;
/// Most allocations one campaign may propose (rejected ones included).
pub const MAX_ALLOCATIONS: usize = 100_000;
/// Earliest and latest campaign year accepted.
pub const YEARS: std::ops::RangeInclusive<u16> = 2000..=2100;

/// A command to a [`super::DonationCampaign`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub enum DonationCampaignCommand {
    /// 发起活动: the notice is issued; units may start collecting.
    Launch {
        /// Campaign name, e.g. `2026年莆田市“一日捐”活动`.
        name: OrgName,
        /// Campaign year, 2000–2100.
        year: u16,
        /// Organisations issuing the notice jointly with the federation
        /// (市委组织部, 市直机关工委…), at most [`MAX_CO_ISSUERS`].
        co_issuers: Vec<OrgName>,
        /// Units asked to take part, 1 to [`MAX_UNITS`], unique ids.
        units: Vec<ParticipatingUnit>,
        /// First day donations may be dated.
        #[serde(deserialize_with = "crate::values::plausible_date")]
        starts_on: NaiveDate,
        /// Last day donations may be dated (≥ `starts_on`).
        #[serde(deserialize_with = "crate::values::plausible_date")]
        ends_on: NaiveDate,
        /// What the money is for.
        purpose: Purpose,
    },
    /// 登记捐款: a unit remits a donation (a lump sum with a paper roster, or one named donor).
    RecordDonation {
        /// Receipt number, unique within the campaign forever (even after reversal).
        receipt_no: Code,
        /// The participating unit that collected the money.
        unit_id: Code,
        /// The named donor, or `None` for a unit lump sum whose roster is kept on paper.
        donor: Option<PersonName>,
        /// How many people gave: ≥ 1, and exactly 1 when `donor` is named.
        donor_count: u32,
        /// Amount received, > 0.
        #[serde(deserialize_with = "crate::values::amount")]
        #[cfg_attr(feature = "openapi", schema(schema_with = crate::values::schema::amount))]
        amount_fen: Fen,
        /// How the money came in.
        channel: Channel,
        /// Day given, within the campaign period.
        #[serde(deserialize_with = "crate::values::plausible_date")]
        donated_on: NaiveDate,
    },
    /// 冲销捐款: a mistaken entry is reversed, never deleted. Allowed after close.
    ReverseDonation {
        /// The receipt to reverse.
        receipt_no: Code,
        /// Why.
        reason: ShortText,
    },
    /// 结束活动: no more donations; the totals are fixed in the event.
    Close {
        /// Closing note.
        note: ShortText,
    },
    /// 提出拨付: propose spending part of the money received.
    ProposeAllocation {
        /// Allocation id, unique within the campaign.
        allocation_id: Code,
        /// Where the money goes.
        target: AllocationTarget,
        /// Amount, > 0 and ≤ what is still available.
        #[serde(deserialize_with = "crate::values::amount")]
        #[cfg_attr(feature = "openapi", schema(schema_with = crate::values::schema::amount))]
        amount_fen: Fen,
        /// What for.
        note: ShortText,
    },
    /// 批准拨付: a second person approves a pending allocation.
    ApproveAllocation {
        /// The allocation.
        allocation_id: Code,
    },
    /// 驳回拨付: a pending allocation is turned down; its amount is free again.
    RejectAllocation {
        /// The allocation.
        allocation_id: Code,
        /// Why.
        reason: ShortText,
    },
}

/// A unit asked to take part (机关、企事业单位).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ParticipatingUnit {
    /// The unit's id, unique within the campaign.
    pub unit_id: Code,
    /// The unit's name.
    pub name: OrgName,
    /// Staff count (在职职工人数), > 0: the denominator of the participation rate.
    pub headcount: u32,
}

/// What the money of a campaign is for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Purpose {
    /// 帮扶资金: into the fund that pays hardship aid.
    GeneralFund,
    /// 定向捐助: for one named person (e.g. a seriously ill migrant worker).
    Designated {
        /// The beneficiary's name.
        beneficiary_name: PersonName,
        /// The beneficiary's resident ID, when known.
        beneficiary_id: Option<ResidentId>,
        /// Why this person is helped.
        reason: ShortText,
    },
}

impl Purpose {
    /// True for a designated (定向) campaign.
    pub fn is_designated(&self) -> bool {
        matches!(self, Purpose::Designated { .. })
    }

    /// The kind of purpose for people.
    pub fn label(&self, lang: Lang) -> &'static str {
        match self {
            Purpose::GeneralFund => lang.pick("帮扶资金", "general assistance fund"),
            Purpose::Designated { .. } => lang.pick("定向捐助", "designated donation"),
        }
    }
}

/// How a donation came in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// 现金.
    Cash,
    /// 银行转账.
    BankTransfer,
    /// 工资代扣.
    PayrollDeduction,
    /// 网上捐款.
    Online,
}

impl Channel {
    /// All channels, in display order.
    pub const ALL: [Channel; 4] = [
        Channel::Cash,
        Channel::BankTransfer,
        Channel::PayrollDeduction,
        Channel::Online,
    ];

    /// The channel's name for people.
    pub fn label(self, lang: Lang) -> &'static str {
        let (zh, en) = match self {
            Channel::Cash => ("现金", "cash"),
            Channel::BankTransfer => ("银行转账", "bank transfer"),
            Channel::PayrollDeduction => ("工资代扣", "payroll deduction"),
            Channel::Online => ("网上捐款", "online"),
        };
        lang.pick(zh, en)
    }
}

/// Where allocated money goes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum AllocationTarget {
    /// A measure in a hardship file's assistance plan (帮扶措施).
    HardshipMeasure {
        /// The hardship file.
        file_id: Code,
        /// The measure within its plan.
        measure_id: Code,
    },
    /// A medical mutual-aid claim (大病补助申请).
    Claim {
        /// The claim.
        claim_id: Code,
    },
    /// The beneficiary named by a designated campaign.
    DesignatedBeneficiary,
}

impl AllocationTarget {
    /// The kind of target for people.
    pub fn label(&self, lang: Lang) -> &'static str {
        match self {
            AllocationTarget::HardshipMeasure { .. } => lang.pick("帮扶措施", "hardship measure"),
            AllocationTarget::Claim { .. } => lang.pick("医疗互助申请", "mutual-aid claim"),
            AllocationTarget::DesignatedBeneficiary => {
                lang.pick("定向受助人", "designated beneficiary")
            }
        }
    }

    /// `帮扶措施 F-1/M-2`, `医疗互助申请 C-7`, `定向受助人`.
    pub fn describe(&self, lang: Lang) -> String {
        match self {
            AllocationTarget::HardshipMeasure {
                file_id,
                measure_id,
            } => format!("{} {file_id}/{measure_id}", self.label(lang)),
            AllocationTarget::Claim { claim_id } => format!("{} {claim_id}", self.label(lang)),
            AllocationTarget::DesignatedBeneficiary => self.label(lang).to_string(),
        }
    }
}

/// A realistic, valid `Launch` body: Putian's 2026 one-day-donation campaign
/// for the hardship fund, with six units.
#[cfg(any(test, feature = "testing"))]
pub fn sample_launch() -> DonationCampaignCommand {
    let org = |s: &str| OrgName::parse(s).expect("valid sample org name");
    let unit = |id: &str, name: &str, headcount| ParticipatingUnit {
        unit_id: Code::parse(id).expect("valid sample unit id"),
        name: org(name),
        headcount,
    };
    DonationCampaignCommand::Launch {
        name: org("2026年莆田市“一日捐”活动"),
        year: 2026,
        co_issuers: vec![
            org("莆田市总工会"),
            org("中共莆田市委组织部"),
            org("中共莆田市直属机关工作委员会"),
        ],
        units: vec![
            unit("PT-ZGH", "莆田市总工会机关", 48),
            unit("PT-ZZB", "中共莆田市委组织部", 62),
            unit("PT-JYJ", "莆田市教育局", 215),
            unit("PT-WJW", "莆田市卫生健康委员会", 183),
            unit("PT-GDJ", "国网莆田供电公司", 640),
            unit("PT-XYXX", "莆田学院", 1_120),
        ],
        starts_on: NaiveDate::from_ymd_opt(2026, 3, 1).expect("valid date"),
        ends_on: NaiveDate::from_ymd_opt(2026, 5, 31).expect("valid date"),
        purpose: Purpose::GeneralFund,
    }
}

/// A valid `Launch` body for a designated (定向) campaign: fellow townspeople
/// raising money for one sanitation worker.
#[cfg(any(test, feature = "testing"))]
pub fn sample_designated_launch() -> DonationCampaignCommand {
    let org = |s: &str| OrgName::parse(s).expect("valid sample org name");
    DonationCampaignCommand::Launch {
        name: org("2026年莆田籍环卫工人定向捐助"),
        year: 2026,
        co_issuers: vec![],
        units: vec![ParticipatingUnit {
            unit_id: Code::parse("PT-SHZ").expect("valid sample unit id"),
            name: org("莆田市城市管理局环卫处"),
            headcount: 320,
        }],
        starts_on: NaiveDate::from_ymd_opt(2026, 4, 1).expect("valid date"),
        ends_on: NaiveDate::from_ymd_opt(2026, 4, 30).expect("valid date"),
        purpose: Purpose::Designated {
            beneficiary_name: PersonName::parse("林建国").expect("valid sample name"),
            beneficiary_id: Some(crate::testing::resident_id("35030219750812043")),
            reason: ShortText::parse("在京务工期间突发重病，家庭无力承担医疗费用")
                .expect("valid sample reason"),
        },
    }
}
