//! A realistic household and history for tests, golden files and demos:
//! 户主陈建国, a shoe-factory worker in Putian (莆田) whose wife needs
//! dialysis. The file is rejected for incomplete medical records, reopened
//! with them, verified, carried through a plan (a bank transfer, a declined
//! request, a revision, festival cash at the door), reviewed and closed as
//! lifted out of hardship. Every event variant appears at least once.

use chrono::NaiveDate;

use super::*;
use crate::testing::{at, resident_id};
use crate::values::{BankCard, LongText, MobileNumber, OrgName, PersonName};

/// Minutes in a day, for [`at`].
const DAY: i64 = 24 * 60;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid sample date")
}

fn code(s: &str) -> Code {
    Code::parse(s).expect("valid sample code")
}

fn name(s: &str) -> PersonName {
    PersonName::parse(s).expect("valid sample name")
}

fn short(s: &str) -> ShortText {
    ShortText::parse(s).expect("valid sample text")
}

fn long(s: &str) -> LongText {
    LongText::parse(s).expect("valid sample text")
}

fn org(s: &str) -> OrgName {
    OrgName::parse(s).expect("valid sample organisation")
}

fn yuan(y: i64) -> Fen {
    Fen::from_yuan(y).expect("valid sample amount")
}

/// 户主陈建国's household: wife with uraemia, a son in senior secondary
/// school, a mother with a chronic illness; 620 yuan per person per month
/// against a local minimum standard of 800.
pub fn sample_household() -> Household {
    Household {
        head: HeadOfHousehold {
            name: name("陈建国"),
            resident_id: resident_id("35030219780312001"),
            phone: MobileNumber::parse("13905941234").expect("valid sample phone"),
            employer_unit: org("莆田市城厢区振兴鞋服有限公司"),
            grassroots_union: org("莆田市城厢区振兴鞋服有限公司工会委员会"),
            migrant_worker: true,
            mobile_member: false,
        },
        members: vec![
            HouseholdMember {
                name: name("林秀英"),
                relation: Relation::Spouse,
                birth_year: 1980,
                health: Health::SeriousIllness,
                schooling: Schooling::None,
            },
            HouseholdMember {
                name: name("陈志鹏"),
                relation: Relation::Child,
                birth_year: 2009,
                health: Health::Healthy,
                schooling: Schooling::SeniorSecondary,
            },
            HouseholdMember {
                name: name("黄玉兰"),
                relation: Relation::Parent,
                birth_year: 1951,
                health: Health::ChronicIllness,
                schooling: Schooling::None,
            },
        ],
        monthly_income_per_capita_fen: yuan(620),
        local_minimum_standard_fen: yuan(800),
        causes: vec![HardshipCause::Illness, HardshipCause::ChildrenSchooling],
    }
}

/// A valid `OpenFile` body for [`sample_household`], dated 2026-03-01: the
/// day of [`crate::testing::ctx`], so `testing::cmd(user, role, sample_open_file())`
/// is accepted as is.
pub fn sample_open_file() -> HardshipFileCommand {
    HardshipFileCommand::OpenFile {
        household: sample_household(),
        opened_on: date(2026, 3, 1),
    }
}

fn caseworker() -> Code {
    code("lin.xiaomei")
}

fn approver() -> Code {
    code("zheng.hua")
}

fn finance() -> Code {
    code("wu.jing")
}

fn measures(dialysis_yuan: i64) -> Vec<MeasureSpec> {
    vec![
        MeasureSpec {
            measure_id: code("M-01"),
            kind: MeasureKind::DialysisRelief,
            description: short("林秀英尿毒症血液透析费用救助"),
            planned_amount_fen: yuan(dialysis_yuan),
            fund: Fund::SpecialAssistance,
            due_on: date(2026, 12, 31),
        },
        MeasureSpec {
            measure_id: code("M-02"),
            kind: MeasureKind::EducationAid,
            description: short("金秋助学：陈志鹏高中学费"),
            planned_amount_fen: yuan(3_000),
            fund: Fund::Donation,
            due_on: date(2026, 9, 30),
        },
        MeasureSpec {
            measure_id: code("M-03"),
            kind: MeasureKind::FestivalCondolence,
            description: short("春节送温暖慰问金"),
            planned_amount_fen: yuan(800),
            fund: Fund::Festival,
            due_on: date(2027, 2, 10),
        },
        MeasureSpec {
            measure_id: code("M-04"),
            kind: MeasureKind::EmploymentAssistance,
            description: short("为户主推荐就近稳定就业岗位"),
            planned_amount_fen: Fen::ZERO,
            fund: Fund::SpecialAssistance,
            due_on: date(2026, 6, 30),
        },
    ]
}

fn bank_payee() -> Payee {
    Payee::BankTransfer {
        card: BankCard::parse("6217005901234567897").expect("valid sample card"),
        account_name: name("陈建国"),
    }
}

/// The full sample history, in order; every variant at least once.
pub fn sample_events() -> Vec<HardshipFileEvent> {
    use HardshipFileEvent as Ev;
    let household = sample_household();
    let rid = household.head.resident_id.clone();
    let goal = short("保障透析治疗，支持子女完成高中学业，力争两年内解困脱困");
    vec![
        Ev::FileOpened {
            household,
            opened_on: date(2026, 3, 1),
            opened_by: caseworker(),
            opened_at: at(0),
        },
        Ev::VisitLogged {
            visit_id: code("V-2026-001"),
            visited_on: date(2026, 3, 3),
            kind: VisitKind::Verification,
            caseworkers: vec![name("林晓梅"), name("黄志强")],
            findings: long(
                "一家四口租住城郊民房约40平方米。妻子长期在家休养，自述患肾病，但未能提供诊断证明。\n户主在鞋厂计件工作，月收入约2500元。",
            ),
            facts_verified: vec![
                VerifiedFact::Income,
                VerifiedFact::Members,
                VerifiedFact::Housing,
            ],
            contact_card_issued: true,
            cash_handover: None,
            logged_by: caseworker(),
            logged_at: at(2 * DAY),
        },
        Ev::VerificationRejected {
            reason: short("病历资料不全，暂无法认定因病致困，请补齐后重新申请"),
            resident_id: rid.clone(),
            rejected_by: approver(),
            rejected_at: at(4 * DAY),
        },
        Ev::FileReopened {
            reason: short("已补齐病历：妻子林秀英确诊尿毒症，需长期血液透析"),
            resident_id: rid.clone(),
            reopened_by: caseworker(),
            reopened_at: at(30 * DAY),
        },
        Ev::VisitLogged {
            visit_id: code("V-2026-002"),
            visited_on: date(2026, 4, 1),
            kind: VisitKind::Verification,
            caseworkers: vec![name("林晓梅")],
            findings: long(
                "查验莆田学院附属医院诊断证明及透析记录，每周透析三次，医保报销后自付约每月1800元。",
            ),
            facts_verified: vec![
                VerifiedFact::MedicalRecords,
                VerifiedFact::Income,
                VerifiedFact::Members,
                VerifiedFact::Causes,
            ],
            contact_card_issued: false,
            cash_handover: None,
            logged_by: caseworker(),
            logged_at: at(31 * DAY),
        },
        Ev::FileVerified {
            note: short("经入户核查，因病致困属实，符合建档条件"),
            verified_by: approver(),
            verified_at: at(32 * DAY),
        },
        Ev::PlanAdopted {
            revision: 1,
            goal: goal.clone(),
            measures: measures(12_000),
            adopted_by: approver(),
            adopted_at: at(33 * DAY),
        },
        Ev::GrantRequested {
            grant_id: code("G-2026-001"),
            measure_id: code("M-01"),
            amount_fen: yuan(6_000),
            fund: Fund::SpecialAssistance,
            payee: bank_payee(),
            requested_by: caseworker(),
            requested_at: at(34 * DAY),
            note: Some(short("第二季度透析费用")),
        },
        Ev::GrantApproved {
            grant_id: code("G-2026-001"),
            measure_id: code("M-01"),
            amount_fen: yuan(6_000),
            fund: Fund::SpecialAssistance,
            approved_by: approver(),
            approved_at: at(35 * DAY),
        },
        Ev::GrantPaid {
            grant_id: code("G-2026-001"),
            measure_id: code("M-01"),
            amount_fen: yuan(6_000),
            fund: Fund::SpecialAssistance,
            method: PaymentMethod::BankTransfer {
                reference: code("PAY-20260408-0012"),
            },
            paid_on: date(2026, 4, 8),
            recorded_by: finance(),
            recorded_at: at(38 * DAY),
        },
        Ev::GrantRequested {
            grant_id: code("G-2026-002"),
            measure_id: code("M-02"),
            amount_fen: yuan(3_000),
            fund: Fund::Donation,
            payee: bank_payee(),
            requested_by: caseworker(),
            requested_at: at(40 * DAY),
            note: None,
        },
        Ev::GrantDeclined {
            grant_id: code("G-2026-002"),
            measure_id: code("M-02"),
            amount_fen: yuan(3_000),
            reason: short("金秋助学须于秋季开学前统一申报，请届时重新申请"),
            declined_by: approver(),
            declined_at: at(41 * DAY),
        },
        Ev::PlanRevised {
            revision: 2,
            reason: short("透析自付费用高于预期，提高医疗救助额度"),
            goal,
            measures: measures(15_000),
            revised_by: approver(),
            revised_at: at(60 * DAY),
        },
        Ev::GrantRequested {
            grant_id: code("G-2026-003"),
            measure_id: code("M-03"),
            amount_fen: yuan(800),
            fund: Fund::Festival,
            payee: Payee::Cash,
            requested_by: caseworker(),
            requested_at: at(300 * DAY),
            note: Some(short("2027年春节送温暖")),
        },
        Ev::GrantApproved {
            grant_id: code("G-2026-003"),
            measure_id: code("M-03"),
            amount_fen: yuan(800),
            fund: Fund::Festival,
            approved_by: approver(),
            approved_at: at(301 * DAY),
        },
        Ev::VisitLogged {
            visit_id: code("V-2027-001"),
            visited_on: date(2027, 1, 20),
            kind: VisitKind::FestivalCondolence,
            caseworkers: vec![name("林晓梅"), name("黄志强")],
            findings: long("春节前入户慰问，妻子透析情况稳定，儿子在校成绩良好。"),
            facts_verified: vec![VerifiedFact::Members],
            contact_card_issued: false,
            cash_handover: Some(CashHandover {
                grant_id: code("G-2026-003"),
                amount_fen: yuan(800),
                signed_by: name("陈建国"),
            }),
            logged_by: caseworker(),
            logged_at: at(326 * DAY),
        },
        Ev::GrantPaid {
            grant_id: code("G-2026-003"),
            measure_id: code("M-03"),
            amount_fen: yuan(800),
            fund: Fund::Festival,
            method: PaymentMethod::Cash {
                visit_id: code("V-2027-001"),
                signed_by: name("陈建国"),
            },
            paid_on: date(2027, 1, 20),
            recorded_by: caseworker(),
            recorded_at: at(326 * DAY),
        },
        Ev::MeasureCompleted {
            measure_id: code("M-03"),
            note: short("春节慰问金已入户发放，户主签收"),
            planned_amount_fen: yuan(800),
            paid_fen: yuan(800),
            completed_by: caseworker(),
            completed_at: at(327 * DAY),
        },
        Ev::ReviewRecorded {
            reviewed_on: date(2027, 1, 25),
            outcome: ReviewOutcome::Improving,
            note: long("妻子已列入肾移植等待名单；户主经推荐转入园区稳定岗位，月收入提高到约3800元。"),
            next_review_on: date(2027, 7, 25),
            reviewed_by: caseworker(),
            recorded_at: at(330 * DAY),
        },
        Ev::FileClosed {
            reason: ClosureReason::LiftedOut,
            note: short("妻子肾移植术后康复良好，户主稳定就业，家庭人均收入超过低保标准"),
            resident_id: rid,
            closed_by: approver(),
            closed_at: at(500 * DAY),
        },
    ]
}
