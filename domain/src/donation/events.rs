//! What happened to a one-day-donation campaign. Each event records everything
//! a projection or an auditor needs later (amounts, units, who and when), so a
//! fund view can be rebuilt from the log alone.

use chrono::{DateTime, NaiveDate, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};

use super::commands::{AllocationTarget, Channel, ParticipatingUnit, Purpose};
use crate::fund::Fund;
use crate::i18n::Lang;
use crate::reservation::{Reservation, Reserves};
use crate::values::{Code, Fen, OrgName, PersonName, ShortText};

/// An event of a [`super::DonationCampaign`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum DonationCampaignEvent {
    /// 已发起活动.
    CampaignLaunched {
        /// Campaign name.
        name: OrgName,
        /// Campaign year.
        year: u16,
        /// Co-issuing organisations.
        co_issuers: Vec<OrgName>,
        /// Participating units with their headcounts.
        units: Vec<ParticipatingUnit>,
        /// First day of the period.
        starts_on: NaiveDate,
        /// Last day of the period.
        ends_on: NaiveDate,
        /// What the money is for.
        purpose: Purpose,
        /// Who launched it.
        launched_by: Code,
        /// When.
        launched_at: DateTime<Utc>,
    },
    /// 已登记捐款.
    DonationRecorded {
        /// Receipt number.
        receipt_no: Code,
        /// Collecting unit.
        unit_id: Code,
        /// Named donor, or `None` for a unit lump sum.
        donor: Option<PersonName>,
        /// Number of donors the amount covers.
        donor_count: u32,
        /// Amount received.
        amount_fen: Fen,
        /// How it came in.
        channel: Channel,
        /// Day given.
        donated_on: NaiveDate,
        /// Who recorded it.
        recorded_by: Code,
        /// When.
        recorded_at: DateTime<Utc>,
    },
    /// 已冲销捐款: the whole donation is taken back out of the totals.
    DonationReversed {
        /// The reversed receipt.
        receipt_no: Code,
        /// Its unit.
        unit_id: Code,
        /// Its amount.
        amount_fen: Fen,
        /// Its donor count.
        donor_count: u32,
        /// Why.
        reason: ShortText,
        /// Who reversed it.
        reversed_by: Code,
        /// When.
        reversed_at: DateTime<Utc>,
    },
    /// 活动已结束: totals as they stood at close.
    CampaignClosed {
        /// Total received (before reversals).
        received_fen: Fen,
        /// Total reversed.
        reversed_fen: Fen,
        /// Donors, net of reversals.
        donor_count: u64,
        /// Closing note.
        note: ShortText,
        /// Who closed it.
        closed_by: Code,
        /// When.
        closed_at: DateTime<Utc>,
    },
    /// 已提出拨付: the amount is set aside until approved or rejected.
    AllocationProposed {
        /// Allocation id.
        allocation_id: Code,
        /// Where the money goes.
        target: AllocationTarget,
        /// Amount.
        amount_fen: Fen,
        /// What for.
        note: ShortText,
        /// The fund the money is drawn from (always the donation fund).
        fund: Fund,
        /// Who proposed it.
        proposed_by: Code,
        /// When.
        proposed_at: DateTime<Utc>,
    },
    /// 已批准拨付.
    AllocationApproved {
        /// Allocation id.
        allocation_id: Code,
        /// Amount.
        amount_fen: Fen,
        /// Where the money goes.
        target: AllocationTarget,
        /// Who approved it (never the proposer).
        approved_by: Code,
        /// When.
        approved_at: DateTime<Utc>,
    },
    /// 已驳回拨付: the amount is available again.
    AllocationRejected {
        /// Allocation id.
        allocation_id: Code,
        /// Amount freed.
        amount_fen: Fen,
        /// Why.
        reason: ShortText,
        /// Who rejected it.
        rejected_by: Code,
        /// When.
        rejected_at: DateTime<Utc>,
    },
}

impl DonationCampaignEvent {
    /// Every event type, as [`DomainEvent::event_type`] spells it.
    pub const EVENT_TYPES: [&'static str; 7] = [
        "CampaignLaunched",
        "DonationRecorded",
        "DonationReversed",
        "CampaignClosed",
        "AllocationProposed",
        "AllocationApproved",
        "AllocationRejected",
    ];

    /// Short name of what happened.
    pub fn label(&self, lang: Lang) -> &'static str {
        use DonationCampaignEvent::*;
        let (zh, en) = match self {
            CampaignLaunched { .. } => ("已发起活动", "campaign launched"),
            DonationRecorded { .. } => ("已登记捐款", "donation recorded"),
            DonationReversed { .. } => ("已冲销捐款", "donation reversed"),
            CampaignClosed { .. } => ("活动已结束", "campaign closed"),
            AllocationProposed { .. } => ("已提出拨付", "allocation proposed"),
            AllocationApproved { .. } => ("已批准拨付", "allocation approved"),
            AllocationRejected { .. } => ("已驳回拨付", "allocation rejected"),
        };
        lang.pick(zh, en)
    }

    /// One line for `bangfu history`. Resident IDs appear only masked.
    pub fn describe(&self, lang: Lang) -> String {
        use DonationCampaignEvent::*;
        match (self, lang) {
            (
                CampaignLaunched {
                    name,
                    year,
                    units,
                    starts_on,
                    ends_on,
                    purpose,
                    ..
                },
                Lang::Zh,
            ) => {
                let headcount: u64 = units.iter().map(|u| u64::from(u.headcount)).sum();
                format!(
                    "发起{year}年度活动“{name}”：{}，参与单位 {} 个、职工 {headcount} 人，{starts_on} 至 {ends_on}",
                    describe_purpose(purpose, lang),
                    units.len()
                )
            }
            (
                CampaignLaunched {
                    name,
                    year,
                    units,
                    starts_on,
                    ends_on,
                    purpose,
                    ..
                },
                Lang::En,
            ) => {
                let headcount: u64 = units.iter().map(|u| u64::from(u.headcount)).sum();
                format!(
                    "launched {year} campaign \"{name}\": {}, {} units, {headcount} staff, {starts_on} to {ends_on}",
                    describe_purpose(purpose, lang),
                    units.len()
                )
            }
            (
                DonationRecorded {
                    receipt_no,
                    unit_id,
                    donor,
                    donor_count,
                    amount_fen,
                    channel,
                    donated_on,
                    ..
                },
                Lang::Zh,
            ) => {
                let who = match donor {
                    Some(name) => name.to_string(),
                    None => format!("单位汇总 {donor_count} 人"),
                };
                format!(
                    "收据 {receipt_no}：单位 {unit_id}（{who}）捐款 {amount_fen} 元，{}，{donated_on}",
                    channel.label(lang)
                )
            }
            (
                DonationRecorded {
                    receipt_no,
                    unit_id,
                    donor,
                    donor_count,
                    amount_fen,
                    channel,
                    donated_on,
                    ..
                },
                Lang::En,
            ) => {
                let who = match donor {
                    Some(name) => name.to_string(),
                    None => format!("unit lump sum, {donor_count} donors"),
                };
                format!(
                    "receipt {receipt_no}: unit {unit_id} ({who}) gave {amount_fen} yuan by {} on {donated_on}",
                    channel.label(lang)
                )
            }
            (
                DonationReversed {
                    receipt_no,
                    amount_fen,
                    donor_count,
                    reason,
                    ..
                },
                Lang::Zh,
            ) => format!(
                "冲销收据 {receipt_no}：{amount_fen} 元、{donor_count} 人，原因：{reason}"
            ),
            (
                DonationReversed {
                    receipt_no,
                    amount_fen,
                    donor_count,
                    reason,
                    ..
                },
                Lang::En,
            ) => format!(
                "reversed receipt {receipt_no}: {amount_fen} yuan, {donor_count} donors; reason: {reason}"
            ),
            (
                CampaignClosed {
                    received_fen,
                    reversed_fen,
                    donor_count,
                    note,
                    ..
                },
                Lang::Zh,
            ) => format!(
                "结束活动：收到 {received_fen} 元，冲销 {reversed_fen} 元，捐款 {donor_count} 人；{note}"
            ),
            (
                CampaignClosed {
                    received_fen,
                    reversed_fen,
                    donor_count,
                    note,
                    ..
                },
                Lang::En,
            ) => format!(
                "closed: {received_fen} yuan received, {reversed_fen} yuan reversed, {donor_count} donors; {note}"
            ),
            (
                AllocationProposed {
                    allocation_id,
                    target,
                    amount_fen,
                    note,
                    ..
                },
                Lang::Zh,
            ) => format!(
                "提出拨付 {allocation_id}：{amount_fen} 元拨付{}，{note}",
                target.describe(lang)
            ),
            (
                AllocationProposed {
                    allocation_id,
                    target,
                    amount_fen,
                    note,
                    ..
                },
                Lang::En,
            ) => format!(
                "proposed allocation {allocation_id}: {amount_fen} yuan to {}; {note}",
                target.describe(lang)
            ),
            (
                AllocationApproved {
                    allocation_id,
                    amount_fen,
                    approved_by,
                    ..
                },
                Lang::Zh,
            ) => format!("{approved_by} 批准拨付 {allocation_id}：{amount_fen} 元"),
            (
                AllocationApproved {
                    allocation_id,
                    amount_fen,
                    approved_by,
                    ..
                },
                Lang::En,
            ) => format!("{approved_by} approved allocation {allocation_id}: {amount_fen} yuan"),
            (
                AllocationRejected {
                    allocation_id,
                    amount_fen,
                    reason,
                    ..
                },
                Lang::Zh,
            ) => format!("驳回拨付 {allocation_id}（{amount_fen} 元），原因：{reason}"),
            (
                AllocationRejected {
                    allocation_id,
                    amount_fen,
                    reason,
                    ..
                },
                Lang::En,
            ) => format!(
                "rejected allocation {allocation_id} ({amount_fen} yuan); reason: {reason}"
            ),
        }
    }
}

fn describe_purpose(purpose: &Purpose, lang: Lang) -> String {
    match purpose {
        Purpose::GeneralFund => purpose.label(lang).to_string(),
        Purpose::Designated {
            beneficiary_name,
            beneficiary_id,
            ..
        } => {
            // Display of a resident ID is its masked form.
            let id = beneficiary_id
                .as_ref()
                .map(|id| format!(" {id}"))
                .unwrap_or_default();
            match lang {
                Lang::Zh => format!("{}（{beneficiary_name}{id}）", purpose.label(lang)),
                Lang::En => format!("{} ({beneficiary_name}{id})", purpose.label(lang)),
            }
        }
    }
}

impl DomainEvent for DonationCampaignEvent {
    fn event_type(&self) -> String {
        use DonationCampaignEvent::*;
        let t = match self {
            CampaignLaunched { .. } => "CampaignLaunched",
            DonationRecorded { .. } => "DonationRecorded",
            DonationReversed { .. } => "DonationReversed",
            CampaignClosed { .. } => "CampaignClosed",
            AllocationProposed { .. } => "AllocationProposed",
            AllocationApproved { .. } => "AllocationApproved",
            AllocationRejected { .. } => "AllocationRejected",
        };
        t.to_string()
    }

    /// Where this type's upcaster chain ends ([`crate::upcast`]).
    fn event_version(&self) -> String {
        crate::upcast::current_version(
            <super::DonationCampaign as cqrs_es::Aggregate>::TYPE,
            &self.event_type(),
        )
        .to_string()
    }
}

/// Receipt numbers and allocation ids are unique within one campaign, which
/// the aggregate checks itself; nothing is unique across campaigns.
impl Reserves for DonationCampaignEvent {
    fn reservations(&self) -> Vec<Reservation> {
        vec![]
    }
}

/// A realistic, valid history of the sample campaign
/// ([`super::commands::sample_launch`]) with every event type: launch, unit
/// lump sums and a named donation, a mistaken entry reversed, allocations
/// proposed, approved and rejected, and the close.
#[cfg(any(test, feature = "testing"))]
pub fn sample_events() -> Vec<DonationCampaignEvent> {
    use super::commands::{sample_launch, DonationCampaignCommand};
    use crate::testing::at;
    use DonationCampaignEvent::*;

    let code = |s: &str| Code::parse(s).expect("valid sample code");
    let text = |s: &str| ShortText::parse(s).expect("valid sample text");
    let fen = |yuan: &str| Fen::from_yuan_str(yuan).expect("valid sample amount");
    let day = |m, d| NaiveDate::from_ymd_opt(2026, m, d).expect("valid sample date");
    let caseworker = || code("chen.li");
    // Minutes per day, for `at`: entries are keyed in after the day given.
    const DAY: i64 = 24 * 60;

    let mut events = Vec::new();
    if let DonationCampaignCommand::Launch {
        name,
        year,
        co_issuers,
        units,
        starts_on,
        ends_on,
        purpose,
    } = sample_launch()
    {
        events.push(CampaignLaunched {
            name,
            year,
            co_issuers,
            units,
            starts_on,
            ends_on,
            purpose,
            launched_by: code("lin.hong"),
            launched_at: at(0),
        });
    }
    let donation = |n: i64,
                    receipt: &str,
                    unit: &str,
                    donor: Option<&str>,
                    count,
                    amount: &str,
                    channel,
                    on| {
        DonationRecorded {
            receipt_no: code(receipt),
            unit_id: code(unit),
            donor: donor.map(|d| PersonName::parse(d).expect("valid sample name")),
            donor_count: count,
            amount_fen: fen(amount),
            channel,
            donated_on: on,
            recorded_by: caseworker(),
            recorded_at: at(n),
        }
    };
    events.extend([
        donation(
            5 * DAY,
            "YRJ2026-0001",
            "PT-ZGH",
            None,
            45,
            "13860.00",
            Channel::BankTransfer,
            day(3, 5),
        ),
        donation(
            9 * DAY,
            "YRJ2026-0002",
            "PT-ZZB",
            None,
            58,
            "17236.50",
            Channel::BankTransfer,
            day(3, 9),
        ),
        donation(
            20 * DAY,
            "YRJ2026-0003",
            "PT-GDJ",
            None,
            596,
            "143040.00",
            Channel::PayrollDeduction,
            day(3, 20),
        ),
        donation(
            20 * DAY + 120,
            "YRJ2026-0004",
            "PT-JYJ",
            Some("王秀英"),
            1,
            "500.00",
            Channel::Cash,
            day(3, 21),
        ),
        // Keyed in twice by mistake; reversed below.
        donation(
            20 * DAY + 125,
            "YRJ2026-0005",
            "PT-JYJ",
            Some("王秀英"),
            1,
            "500.00",
            Channel::Cash,
            day(3, 21),
        ),
    ]);
    events.push(DonationReversed {
        receipt_no: code("YRJ2026-0005"),
        unit_id: code("PT-JYJ"),
        amount_fen: fen("500.00"),
        donor_count: 1,
        reason: text("重复录入，与收据 YRJ2026-0004 为同一笔捐款"),
        reversed_by: caseworker(),
        reversed_at: at(21 * DAY),
    });
    events.push(AllocationProposed {
        allocation_id: code("BF2026-001"),
        target: AllocationTarget::HardshipMeasure {
            file_id: code("PT-2026-0137"),
            measure_id: code("M-2"),
        },
        amount_fen: fen("6000.00"),
        note: text("困难职工子女金秋助学"),
        fund: Fund::Donation,
        proposed_by: caseworker(),
        proposed_at: at(40 * DAY),
    });
    events.push(AllocationApproved {
        allocation_id: code("BF2026-001"),
        amount_fen: fen("6000.00"),
        target: AllocationTarget::HardshipMeasure {
            file_id: code("PT-2026-0137"),
            measure_id: code("M-2"),
        },
        approved_by: code("huang.min"),
        approved_at: at(41 * DAY),
    });
    events.push(AllocationProposed {
        allocation_id: code("BF2026-002"),
        target: AllocationTarget::Claim {
            claim_id: code("HZ7-2026-0058"),
        },
        amount_fen: fen("150000.00"),
        note: text("大病补助差额补足"),
        fund: Fund::Donation,
        proposed_by: caseworker(),
        proposed_at: at(45 * DAY),
    });
    events.push(AllocationRejected {
        allocation_id: code("BF2026-002"),
        amount_fen: fen("150000.00"),
        reason: text("金额超出该申请的补助标准，请核减后重新提出"),
        rejected_by: code("huang.min"),
        rejected_at: at(46 * DAY),
    });
    events.push(CampaignClosed {
        received_fen: fen("175136.50"),
        reversed_fen: fen("500.00"),
        donor_count: 700,
        note: text("各单位捐款已全部汇缴，活动结束"),
        closed_by: code("lin.hong"),
        closed_at: at(92 * DAY),
    });
    events.push(AllocationProposed {
        allocation_id: code("BF2026-003"),
        target: AllocationTarget::Claim {
            claim_id: code("HZ7-2026-0058"),
        },
        amount_fen: fen("12000.00"),
        note: text("大病补助差额补足（核减后）"),
        fund: Fund::Donation,
        proposed_by: caseworker(),
        proposed_at: at(100 * DAY),
    });
    events
}
