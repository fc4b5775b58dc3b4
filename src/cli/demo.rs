//! `bangfu demo`: a realistic year of casework, loaded into the store through
//! the same path a client uses (JSON command bodies → parse → aggregate →
//! commit), then summarised from the views (the projector catches up first).
//!
//! The scenario is modelled on the seeds' Putian figures: money appropriated
//! into the special-assistance and festival funds; a migrant worker's
//! household from opening through visits, plan, paid grants and closure; a
//! mutual-aid plan period with five units (one sponsored for gig workers) and
//! claims accepted and rejected; a one-day-donation campaign with donations, a
//! reversal and allocations. It also shows the rules at work — four-eyes, one
//! open file per person, one claim per stay, money spent at most once — by
//! attempting what they forbid and printing the refusal.
//!
//! Each run is independent: ids are prefixed `demo-N-` and the people are new,
//! so `bangfu demo` can run again on the same store. Commands carry a simulated
//! 2026 timeline as their `recorded_at`, so the history reads like the year it
//! depicts and the run is reproducible.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use domain::command::{Actor, CommandContext, Role};
use domain::donation::DonationCampaign;
use domain::i18n::{ErrorCode, Lang, Localize};
use domain::values::{Code, Fen, ResidentId};
use projections::views::household::HouseholdFileRow;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::app::engine::Engine;
use crate::app::{execute, App, AppError, CaseAggregate};
use crate::cli::{ExitKind, Failure};

/// Who does what in the scenario.
const CASEWORKER: (&str, Role) = ("lin.xiaomei", Role::Caseworker);
const CASEWORKER_2: (&str, Role) = ("zheng.wenbin", Role::Caseworker);
const APPROVER: (&str, Role) = ("huang.zhiqiang", Role::Approver);
const APPROVER_2: (&str, Role) = ("chen.lijuan", Role::Approver);
const FINANCE: (&str, Role) = ("wu.haiyan", Role::Finance);

/// A unit of the plan period: id, name, members, migrant workers among them,
/// contribution per member in yuan, sponsor (None = the unit pays).
type DemoUnit = (
    &'static str,
    &'static str,
    u32,
    u32,
    i64,
    Option<&'static str>,
);

const UNITS: [DemoUnit; 5] = [
    (
        "u-zhenxing",
        "莆田市城厢区振兴鞋服有限公司",
        120,
        45,
        40,
        None,
    ),
    ("u-renmin", "莆田市荔城区人民医院", 80, 0, 60, None),
    ("u-huashun", "莆田市涵江区华顺电子厂", 60, 20, 40, None),
    ("u-hongmu", "仙游县红木家具行业协会", 40, 12, 40, None),
    (
        "u-qishou",
        "莆田市快递外卖骑手（新就业形态）",
        30,
        30,
        30,
        Some("莆田市职工互助保障基金会"),
    ),
];

struct Run {
    n: u32,
    lang: Lang,
    correlation_id: Uuid,
}

impl Run {
    fn id(&self, suffix: &str) -> String {
        format!("demo-{}-{suffix}", self.n)
    }

    /// A valid, run-specific resident ID: region 350302 (莆田城厢区), a birth
    /// date and sequence that differ per run and per `i`.
    fn resident_id(&self, i: u32) -> String {
        let base = NaiveDate::from_ymd_opt(1962, 1, 1).unwrap_or_default();
        let born = base + Duration::days(i64::from(self.n % 20) * 997 + i64::from(i));
        let first17 = format!(
            "350302{}{:03}",
            born.format("%Y%m%d"),
            (self.n / 20 + i) % 1000
        );
        let check = ResidentId::check_char(first17.as_bytes()) as char;
        format!("{first17}{check}")
    }

    fn ctx(&self, who: (&str, Role), when: &str) -> Result<CommandContext, Failure> {
        let id = Code::parse(who.0).map_err(|e| fail(self.lang, &e.localize(self.lang)))?;
        let recorded_at = at(when).ok_or_else(|| fail(self.lang, "bad scenario time"))?;
        Ok(CommandContext {
            actor: Actor { id, role: who.1 },
            recorded_at,
            utc_offset_seconds: crate::app::clock::BusinessClock::default().offset_at(recorded_at),
            command_id: Uuid::now_v7(),
            correlation_id: self.correlation_id,
        })
    }

    /// Runs one command of the scenario; any refusal is a failure of the demo.
    async fn step<A>(
        &self,
        engine: &Engine<A>,
        id: &str,
        who: (&str, Role),
        when: &str,
        body: Value,
    ) -> Result<(), Failure>
    where
        A: CaseAggregate,
        A::Error: ErrorCode,
    {
        self.try_step(engine, id, who, when, body)
            .await
            .map_err(|e| {
                fail(
                    self.lang,
                    &format!(
                        "{} {id}: [{}] {}",
                        A::KIND.label(self.lang),
                        e.code(),
                        e.localize(self.lang)
                    ),
                )
            })
    }

    /// Attempts what a rule forbids and prints the refusal; accepting it (or
    /// refusing it for another reason) is a failure of the demo.
    #[allow(clippy::too_many_arguments)] // `step`'s arguments plus where to print and what to expect
    async fn refused<A>(
        &self,
        out: &mut dyn std::io::Write,
        engine: &Engine<A>,
        id: &str,
        who: (&str, Role),
        when: &str,
        body: Value,
        expected_code: &str,
    ) -> Result<(), Failure>
    where
        A: CaseAggregate,
        A::Error: ErrorCode,
    {
        match self.try_step(engine, id, who, when, body).await {
            Err(e) if e.code() == expected_code => {
                let label = self.lang.pick("按规则拒绝", "refused by rule");
                writeln!(
                    out,
                    "    ✗ {label} [{}] {}",
                    e.code(),
                    e.localize(self.lang)
                )
                .map_err(|e| fail(self.lang, &e.to_string()))
            }
            Err(e) => Err(fail(
                self.lang,
                &format!(
                    "expected {expected_code}, got [{}] {}",
                    e.code(),
                    e.localize(self.lang)
                ),
            )),
            Ok(()) => Err(fail(
                self.lang,
                &format!("expected {expected_code}, but it was accepted"),
            )),
        }
    }

    async fn try_step<A>(
        &self,
        engine: &Engine<A>,
        id: &str,
        who: (&str, Role),
        when: &str,
        body: Value,
    ) -> Result<(), AppError>
    where
        A: CaseAggregate,
        A::Error: ErrorCode,
    {
        let ctx = self
            .ctx(who, when)
            .map_err(|f| AppError::Storage(f.message))?;
        let bytes = serde_json::to_vec(&body).map_err(|e| AppError::Storage(e.to_string()))?;
        let body: A::Body = crate::app::input::parse_json(&bytes)?;
        execute(engine, id, domain::command::Cmd { ctx, body }).await?;
        Ok(())
    }
}

/// `2026-03-02 09:30` (Beijing time) as a UTC instant.
fn at(when: &str) -> Option<DateTime<Utc>> {
    let local = chrono::NaiveDateTime::parse_from_str(when, "%Y-%m-%d %H:%M").ok()?;
    let beijing = chrono::FixedOffset::east_opt(8 * 3600)?;
    beijing
        .from_local_datetime(&local)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

fn fail(lang: Lang, message: &str) -> Failure {
    Failure {
        code: Some("demo.failed"),
        message: format!("{}: {message}", lang.pick("演示失败", "demo failed")),
        exit: ExitKind::Failure,
    }
}

fn yuan(y: i64) -> i64 {
    y * 100
}

/// Loads the scenario and prints its summary.
pub async fn run(app: &App, lang: Lang, out: &mut dyn std::io::Write) -> Result<(), Failure> {
    let existing = app
        .store
        .streams(<DonationCampaign as cqrs_es::Aggregate>::TYPE)
        .await
        .map_err(|e| fail(lang, &e.to_string()))?;
    let n = 1 + existing.iter().filter(|id| id.starts_with("demo-")).count() as u32;
    let run = Run {
        n,
        lang,
        correlation_id: Uuid::now_v7(),
    };
    let io = |e: std::io::Error| fail(lang, &e.to_string());

    writeln!(
        out,
        "{}",
        match lang {
            Lang::Zh => format!(
                "帮扶 bangfu 演示（第 {n} 轮，模拟 2026 年的案卷工作；数据库 {}）",
                app.store.path().display()
            ),
            Lang::En => format!(
                "bangfu demo (run {n}, a simulated year of 2026 casework; database {})",
                app.store.path().display()
            ),
        }
    )
    .map_err(io)?;

    writeln!(
        out,
        "\n▶ {}",
        lang.pick(
            "资金拨入：帮扶专项资金、送温暖资金与上年结转捐赠资金",
            "Appropriations into the special-assistance and festival funds, and last year's donations carried over"
        )
    )
    .map_err(io)?;
    appropriations(app, &run, out).await?;
    writeln!(
        out,
        "\n▶ {}",
        lang.pick(
            "困难职工档案：一户一档案、一户一计划、一户一措施",
            "Hardship file: one file, one plan, one set of measures per household"
        )
    )
    .map_err(io)?;
    household(app, &run, out).await?;
    writeln!(
        out,
        "\n▶ {}",
        lang.pick("职工医疗互助：第七期", "Medical mutual aid: period 7")
    )
    .map_err(io)?;
    mutual_aid(app, &run, out).await?;
    writeln!(
        out,
        "\n▶ {}",
        lang.pick("“一日捐”活动", "One-day-donation campaign")
    )
    .map_err(io)?;
    campaign(app, &run, out).await?;
    summary(app, &run, out).await
}

async fn appropriations(app: &App, run: &Run, out: &mut dyn std::io::Write) -> Result<(), Failure> {
    let e = &app.funds;
    let special = run.id("fund-special-2026");
    run.step(e, &special, FINANCE, "2026-01-06 10:00", json!({"Appropriate": {
        "appropriation_id": "BK-2026-001", "fund": "special_assistance", "amount_fen": yuan(50_000),
        "source": "福建省总工会", "received_on": "2026-01-05", "note": "2026年困难职工帮扶专项资金"
    }})).await?;
    // An account holds one fund: festival money goes to its own account.
    run.refused(
        out,
        e,
        &special,
        FINANCE,
        "2026-01-06 10:05",
        json!({"Appropriate": {
            "appropriation_id": "BK-2026-002", "fund": "festival", "amount_fen": yuan(20_000),
            "source": "莆田市总工会", "received_on": "2026-01-05", "note": null
        }}),
        "fund_account.fund_mismatch",
    )
    .await?;
    run.step(
        e,
        &run.id("fund-festival-2026"),
        FINANCE,
        "2026-01-06 10:10",
        json!({"Appropriate": {
            "appropriation_id": "BK-2026-002", "fund": "festival", "amount_fen": yuan(20_000),
            "source": "莆田市总工会", "received_on": "2026-01-05", "note": "2026年送温暖资金"
        }}),
    )
    .await?;
    // The store counts a grant against its fund when it is approved: the
    // education grant from the donation fund (August) comes before this
    // year's campaign, so last year's donations are carried over first.
    run.step(
        e,
        &run.id("fund-donation-2026"),
        FINANCE,
        "2026-01-06 10:20",
        json!({"Appropriate": {
            "appropriation_id": "JZ-2025-001", "fund": "donation", "amount_fen": yuan(10_000),
            "source": "莆田市总工会", "received_on": "2026-01-05", "note": "2025年“一日捐”结转资金"
        }}),
    )
    .await
}

async fn household(app: &App, run: &Run, out: &mut dyn std::io::Write) -> Result<(), Failure> {
    let file = run.id("hf-chen");
    let e = &app.files;
    let head_id = run.resident_id(900);
    let household = json!({
        "head": {
            "name": "陈建国", "resident_id": head_id, "phone": "13905941234",
            "employer_unit": "莆田市城厢区振兴鞋服有限公司",
            "grassroots_union": "莆田市城厢区振兴鞋服有限公司工会委员会",
            "migrant_worker": true, "mobile_member": false
        },
        "members": [
            {"name": "林秀英", "relation": "spouse", "birth_year": 1980, "health": "serious_illness", "schooling": "none"},
            {"name": "陈志鹏", "relation": "child", "birth_year": 2009, "health": "healthy", "schooling": "senior_secondary"},
            {"name": "黄玉兰", "relation": "parent", "birth_year": 1951, "health": "chronic_illness", "schooling": "none"}
        ],
        "monthly_income_per_capita_fen": yuan(620),
        "local_minimum_standard_fen": yuan(800),
        "causes": ["illness", "children_schooling"]
    });
    run.step(
        e,
        &file,
        CASEWORKER,
        "2026-03-02 09:30",
        json!({"OpenFile": {"household": household.clone(), "opened_on": "2026-03-02"}}),
    )
    .await?;
    // One open file per person: a second file for the same head is refused.
    run.refused(
        out,
        e,
        &run.id("hf-chen-dup"),
        CASEWORKER_2,
        "2026-03-02 10:00",
        json!({"OpenFile": {"household": household, "opened_on": "2026-03-02"}}),
        "hardship_file.resident_has_open_file",
    )
    .await?;
    // No plan before a verification visit.
    let plan_measures = json!([
        {"measure_id": "M1", "kind": "medical_relief", "description": "林秀英尿毒症透析自付部分医疗救助", "planned_amount_fen": yuan(8000), "fund": "special_assistance", "due_on": "2026-09-30"},
        {"measure_id": "M2", "kind": "education_aid", "description": "金秋助学：陈志鹏高中学费", "planned_amount_fen": yuan(3000), "fund": "donation", "due_on": "2026-09-15"},
        {"measure_id": "M3", "kind": "festival_condolence", "description": "中秋送温暖慰问金", "planned_amount_fen": yuan(1000), "fund": "festival", "due_on": "2026-09-30"},
        {"measure_id": "M4", "kind": "employment_assistance", "description": "为户主推荐园区稳定岗位", "planned_amount_fen": 0, "fund": "special_assistance", "due_on": "2026-12-31"}
    ]);
    run.refused(out, e, &file, CASEWORKER, "2026-03-02 11:00",
        json!({"AdoptPlan": {"goal": "因病致困：减轻医疗负担，保障子女就学", "measures": plan_measures.clone()}}),
        "hardship_file.not_verified").await?;
    run.step(e, &file, CASEWORKER, "2026-03-05 16:40", json!({"LogVisit": {
        "visit_id": "V1", "visited_on": "2026-03-05", "kind": "verification",
        "caseworkers": ["林晓梅", "郑文斌"],
        "findings": "入户核查：户主陈建国在振兴鞋服公司从事裁剪工作，月工资约2600元，为家庭唯一劳动力。妻子林秀英患尿毒症，每周透析三次，医保报销后每月自付约1800元。儿子陈志鹏就读高二，成绩良好。母亲黄玉兰患高血压、糖尿病，需长期服药。家庭人均月收入620元，低于当地低保标准800元。住房为租住的两室一厅，家具陈旧。已核对病历、收入证明与户口簿，情况属实。向户主发放工会联系卡并讲解帮扶政策。",
        "facts_verified": ["income", "members", "causes", "medical_records", "housing"],
        "contact_card_issued": true, "cash_handover": null
    }})).await?;
    run.step(e, &file, APPROVER, "2026-03-09 10:15", json!({"Verify": {"outcome": {"confirmed": {"note": "经入户核查情况属实，列入困难职工档案"}}}})).await?;
    run.step(e, &file, CASEWORKER, "2026-03-12 09:00", json!({"AdoptPlan": {"goal": "因病致困：减轻医疗负担，保障子女就学", "measures": plan_measures}})).await?;

    let card = "6222021234567890128";
    let bank = json!({"bank_transfer": {"card": valid_card(card), "account_name": "陈建国"}});
    run.step(e, &file, CASEWORKER, "2026-03-20 14:00", json!({"RequestGrant": {"grant_id": "G1", "measure_id": "M1", "amount_fen": yuan(5000), "payee": bank.clone(), "note": "第一季度透析自付费用"}})).await?;
    // Four-eyes: the requester cannot approve their own request, whatever their role.
    run.refused(
        out,
        e,
        &file,
        (CASEWORKER.0, Role::Approver),
        "2026-03-20 14:05",
        json!({"ApproveGrant": {"grant_id": "G1"}}),
        "hardship_file.four_eyes",
    )
    .await?;
    run.step(
        e,
        &file,
        APPROVER,
        "2026-03-23 11:20",
        json!({"ApproveGrant": {"grant_id": "G1"}}),
    )
    .await?;
    run.step(e, &file, FINANCE, "2026-03-27 15:00", json!({"RecordGrantPaid": {"grant_id": "G1", "paid_on": "2026-03-27", "reference": "BOC-20260327-0001"}})).await?;
    // Never more than the measure has left: 8,000 planned, 5,000 paid.
    run.refused(out, e, &file, CASEWORKER, "2026-06-18 10:00",
        json!({"RequestGrant": {"grant_id": "G2", "measure_id": "M1", "amount_fen": yuan(4000), "payee": bank.clone(), "note": null}}),
        "hardship_file.exceeds_measure_remaining").await?;
    run.step(e, &file, CASEWORKER, "2026-06-18 10:10", json!({"RequestGrant": {"grant_id": "G2", "measure_id": "M1", "amount_fen": yuan(3000), "payee": bank.clone(), "note": "第二季度透析自付费用"}})).await?;
    run.step(
        e,
        &file,
        APPROVER_2,
        "2026-06-19 09:40",
        json!({"ApproveGrant": {"grant_id": "G2"}}),
    )
    .await?;
    run.step(e, &file, FINANCE, "2026-06-24 15:30", json!({"RecordGrantPaid": {"grant_id": "G2", "paid_on": "2026-06-24", "reference": "BOC-20260624-0007"}})).await?;
    run.step(e, &file, CASEWORKER, "2026-08-25 09:00", json!({"RequestGrant": {"grant_id": "G3", "measure_id": "M2", "amount_fen": yuan(3000), "payee": bank, "note": "金秋助学"}})).await?;
    run.step(
        e,
        &file,
        APPROVER,
        "2026-08-26 16:00",
        json!({"ApproveGrant": {"grant_id": "G3"}}),
    )
    .await?;
    run.step(e, &file, FINANCE, "2026-08-31 10:00", json!({"RecordGrantPaid": {"grant_id": "G3", "paid_on": "2026-08-31", "reference": "BOC-20260831-0003"}})).await?;
    run.step(
        e,
        &file,
        CASEWORKER,
        "2026-08-31 11:00",
        json!({"CompleteMeasure": {"measure_id": "M2", "note": "学费已足额资助"}}),
    )
    .await?;
    run.step(e, &file, CASEWORKER, "2026-09-20 09:00", json!({"RequestGrant": {"grant_id": "G4", "measure_id": "M3", "amount_fen": yuan(1000), "payee": "cash", "note": "中秋慰问金，入户现金发放"}})).await?;
    run.step(
        e,
        &file,
        APPROVER,
        "2026-09-21 10:00",
        json!({"ApproveGrant": {"grant_id": "G4"}}),
    )
    .await?;
    run.step(e, &file, CASEWORKER, "2026-09-24 15:20", json!({"LogVisit": {
        "visit_id": "V2", "visited_on": "2026-09-24", "kind": "festival_condolence",
        "caseworkers": ["林晓梅"],
        "findings": "中秋前入户慰问，送去慰问金和月饼。林秀英透析情况稳定；陈建国经工会推荐已转入园区稳定岗位，月收入提高到4200元。",
        "facts_verified": ["income", "employment"], "contact_card_issued": false,
        "cash_handover": {"grant_id": "G4", "amount_fen": yuan(1000), "signed_by": "陈建国"}
    }})).await?;
    run.step(
        e,
        &file,
        CASEWORKER,
        "2026-09-30 09:00",
        json!({"CompleteMeasure": {"measure_id": "M4", "note": "户主已在园区企业稳定就业"}}),
    )
    .await?;
    run.step(e, &file, CASEWORKER_2, "2026-10-15 10:00", json!({"LogVisit": {
        "visit_id": "V3", "visited_on": "2026-10-15", "kind": "follow_up",
        "caseworkers": ["郑文斌"],
        "findings": "回访：户主就业稳定，家庭人均月收入约1050元，已高于当地低保标准；妻子透析费用纳入大病保险后自付明显下降。",
        "facts_verified": ["income"], "contact_card_issued": false, "cash_handover": null
    }})).await?;
    run.step(
        e,
        &file,
        CASEWORKER_2,
        "2026-10-20 10:00",
        json!({"RecordReview": {
            "reviewed_on": "2026-10-20", "outcome": "lifted_out_recommended",
            "note": "动态管理复核：收入已稳定高于低保标准，建议解困脱困，继续保持联系。",
            "next_review_on": "2027-04-20"
        }}),
    )
    .await?;
    run.step(
        e,
        &file,
        APPROVER,
        "2026-10-28 09:30",
        json!({"CloseFile": {"reason": "lifted_out", "note": "经复核已解困脱困"}}),
    )
    .await?;
    Ok(())
}

/// A valid (Luhn) card number from `prefix`'s first 18 digits.
fn valid_card(prefix: &str) -> String {
    let body: String = prefix.chars().take(18).collect();
    (0..10)
        .map(|d| format!("{body}{d}"))
        .find(|c| domain::values::BankCard::parse(c).is_ok())
        .unwrap_or_default()
}

async fn mutual_aid(app: &App, run: &Run, out: &mut dyn std::io::Write) -> Result<(), Failure> {
    let plan = run.id("mutual-07");
    let policy = json!({
        "version": "putian-07-v1",
        "threshold_fen": yuan(5000),
        "tiers": [
            {"from_fen": yuan(5000), "amount_fen": yuan(200)},
            {"from_fen": yuan(10000), "amount_fen": yuan(400)},
            {"from_fen": yuan(20000), "amount_fen": yuan(800)},
            {"from_fen": yuan(50000), "amount_fen": yuan(1500)},
            {"from_fen": yuan(100000), "amount_fen": yuan(2500)}
        ],
        "period_uplift_bp": 3000,
        "migrant_uplift_bp": 3000,
        "cap_per_member_fen": yuan(6000)
    });
    run.step(
        &app.plans,
        &plan,
        APPROVER,
        "2026-01-05 09:00",
        json!({"OpenPeriod": {
            "name": "莆田市职工医疗互助第七期", "period_no": 7,
            "starts_on": "2026-01-01", "ends_on": "2026-12-31", "policy": policy
        }}),
    )
    .await?;

    let surnames = [
        "陈", "林", "黄", "郑", "吴", "王", "李", "张", "刘", "蔡", "许", "方",
    ];
    let given = [
        "志强", "秀英", "建华", "丽娟", "海燕", "文斌", "美华", "国平", "晓梅", "春生",
    ];
    let mut seq = 0u32;
    let mut first_member_of = Vec::new();
    for (unit_id, unit_name, members, migrants, per_member_yuan, sponsor) in UNITS {
        let roster: Vec<Value> = (0..members)
            .map(|i| {
                seq += 1;
                json!({
                    "resident_id": run.resident_id(seq),
                    "name": format!("{}{}", surnames[(seq as usize) % surnames.len()], given[(seq as usize / 3) % given.len()]),
                    "migrant_worker": i < migrants,
                })
            })
            .collect();
        first_member_of.push((roster[0].clone(), unit_id));
        let paid_by = match sponsor {
            Some(name) => json!({"sponsor": {"name": name}}),
            None => json!("unit"),
        };
        run.step(
            &app.plans,
            &plan,
            CASEWORKER,
            "2026-01-20 10:00",
            json!({"EnrolUnit": {
                "unit_id": unit_id, "unit_name": unit_name, "members": roster,
                "contribution_fen": yuan(per_member_yuan) * i64::from(members), "paid_by": paid_by
            }}),
        )
        .await?;
    }

    let claims = &app.claims;
    let member = |k: usize| first_member_of[k].0.clone();
    let submit = |claim: &str,
                  m: &Value,
                  admitted: &str,
                  discharged: &str,
                  hospital: &str,
                  diagnosis: &str,
                  total: i64,
                  basic: i64,
                  other: i64| {
        json!({"Submit": {
            "claim_id": claim, "plan_id": plan, "member": m["resident_id"], "member_name": m["name"],
            "hospital": hospital, "admitted_on": admitted, "discharged_on": discharged, "diagnosis": diagnosis,
            "total_cost_fen": yuan(total), "basic_insurance_fen": yuan(basic), "other_reimbursement_fen": yuan(other),
            "documents": ["住院费用发票", "出院小结", "费用明细清单"]
        }})
    };

    // C1: a migrant worker, net self-paid 13,000 → tier 10,000 (400) +30% +30% = 676.
    let c1 = run.id("claim-01");
    run.step(
        claims,
        &c1,
        CASEWORKER,
        "2026-03-03 09:00",
        submit(
            &c1,
            &member(0),
            "2026-02-10",
            "2026-02-24",
            "莆田学院附属医院",
            "急性心肌梗死，行冠脉支架植入术",
            38000,
            22000,
            3000,
        ),
    )
    .await?;
    // One claim per hospital stay.
    let dup = run.id("claim-01-dup");
    run.refused(
        out,
        claims,
        &dup,
        CASEWORKER_2,
        "2026-03-04 09:00",
        submit(
            &dup,
            &member(0),
            "2026-02-10",
            "2026-02-24",
            "莆田学院附属医院",
            "急性心肌梗死",
            38000,
            22000,
            3000,
        ),
        "mutual_aid_claim.stay_already_claimed",
    )
    .await?;
    run.step(
        claims,
        &c1,
        CASEWORKER,
        "2026-03-05 10:00",
        json!({"ReviewDocuments": {"complete": true, "note": "材料齐全"}}),
    )
    .await?;
    run.step(
        claims,
        &c1,
        APPROVER,
        "2026-03-06 10:00",
        json!({"Assess": {}}),
    )
    .await?;
    run.refused(
        out,
        claims,
        &c1,
        APPROVER,
        "2026-03-06 10:05",
        json!({"Approve": {}}),
        "mutual_aid_claim.four_eyes",
    )
    .await?;
    run.step(
        claims,
        &c1,
        APPROVER_2,
        "2026-03-09 15:00",
        json!({"Approve": {}}),
    )
    .await?;
    run.step(claims, &c1, FINANCE, "2026-03-16 11:00", json!({"MarkPaid": {"paid_on": "2026-03-16", "reference": "HZ7-20260316-001", "card": null}})).await?;

    // C2: net self-paid 3,200 — below the 5,000 threshold; assessed ineligible and rejected.
    let c2 = run.id("claim-02");
    run.step(
        claims,
        &c2,
        CASEWORKER,
        "2026-04-08 09:00",
        submit(
            &c2,
            &member(1),
            "2026-03-28",
            "2026-04-02",
            "莆田市第一医院",
            "肺炎",
            9000,
            5800,
            0,
        ),
    )
    .await?;
    run.step(
        claims,
        &c2,
        CASEWORKER,
        "2026-04-09 09:00",
        json!({"ReviewDocuments": {"complete": true, "note": "材料齐全"}}),
    )
    .await?;
    run.step(
        claims,
        &c2,
        APPROVER,
        "2026-04-10 09:00",
        json!({"Assess": {}}),
    )
    .await?;
    run.step(
        claims,
        &c2,
        APPROVER_2,
        "2026-04-10 14:00",
        json!({"Reject": {"reason": "below_threshold", "note": "净自付3200元，未达5000元起付线"}}),
    )
    .await?;

    // C3: not enrolled in this period — refused at submission.
    let outsider = json!({"resident_id": run.resident_id(990), "name": "张明"});
    let c3 = run.id("claim-03");
    run.refused(
        out,
        claims,
        &c3,
        CASEWORKER,
        "2026-05-11 09:00",
        submit(
            &c3,
            &outsider,
            "2026-05-01",
            "2026-05-09",
            "仙游县医院",
            "腰椎间盘突出手术",
            30000,
            15000,
            0,
        ),
        "mutual_aid_claim.not_enrolled",
    )
    .await?;

    // C4: net self-paid 56,000 → tier 50,000 (1,500) +30% = 1,950; approved, payment pending.
    let c4 = run.id("claim-04");
    run.step(
        claims,
        &c4,
        CASEWORKER_2,
        "2026-07-14 09:00",
        submit(
            &c4,
            &member(1),
            "2026-06-20",
            "2026-07-08",
            "福建医科大学附属协和医院",
            "结肠癌根治术",
            120000,
            60000,
            4000,
        ),
    )
    .await?;
    run.step(
        claims,
        &c4,
        CASEWORKER_2,
        "2026-07-15 09:00",
        json!({"ReviewDocuments": {"complete": true, "note": "材料齐全"}}),
    )
    .await?;
    run.step(
        claims,
        &c4,
        APPROVER_2,
        "2026-07-16 09:00",
        json!({"Assess": {}}),
    )
    .await?;
    run.step(
        claims,
        &c4,
        APPROVER,
        "2026-07-17 10:00",
        json!({"Approve": {}}),
    )
    .await?;
    Ok(())
}

async fn campaign(app: &App, run: &Run, out: &mut dyn std::io::Write) -> Result<(), Failure> {
    let id = run.id("yirijuan-2026");
    let e = &app.campaigns;
    run.step(
        e,
        &id,
        APPROVER,
        "2026-04-01 09:00",
        json!({"Launch": {
            "name": "2026年莆田市“一日捐”活动", "year": 2026,
            "co_issuers": ["中共莆田市委组织部", "莆田市直机关工委"],
            "units": [
                {"unit_id": "d-zonggong", "name": "莆田市总工会机关", "headcount": 85},
                {"unit_id": "d-jiguan", "name": "莆田市直机关", "headcount": 1200},
                {"unit_id": "d-yiyuan", "name": "莆田市第一医院", "headcount": 1450},
                {"unit_id": "d-jiaoyu", "name": "城厢区教育局", "headcount": 960},
                {"unit_id": "d-zhenxing", "name": "莆田市城厢区振兴鞋服有限公司", "headcount": 600}
            ],
            "starts_on": "2026-04-01", "ends_on": "2026-06-30",
            "purpose": "general_fund"
        }}),
    )
    .await?;
    // receipt, unit, named donor, donors, yuan, channel, date
    type Donation = (
        &'static str,
        &'static str,
        Option<&'static str>,
        u32,
        i64,
        &'static str,
        &'static str,
    );
    let donations: [Donation; 9] = [
        (
            "R-0001",
            "d-zonggong",
            None,
            82,
            4_100,
            "bank_transfer",
            "2026-04-10",
        ),
        (
            "R-0002",
            "d-jiguan",
            None,
            1030,
            51_500,
            "payroll_deduction",
            "2026-04-30",
        ),
        (
            "R-0003",
            "d-yiyuan",
            None,
            1211,
            60_550,
            "bank_transfer",
            "2026-05-12",
        ),
        (
            "R-0004",
            "d-yiyuan",
            Some("郑医生"),
            1,
            2_000,
            "online",
            "2026-05-13",
        ),
        (
            "R-0005",
            "d-jiaoyu",
            None,
            845,
            42_250,
            "bank_transfer",
            "2026-05-20",
        ),
        (
            "R-0006",
            "d-zhenxing",
            None,
            402,
            20_100,
            "cash",
            "2026-05-28",
        ),
        (
            "R-0007",
            "d-zhenxing",
            None,
            402,
            20_100,
            "cash",
            "2026-05-28",
        ),
        (
            "R-0008",
            "d-zonggong",
            Some("林晓梅"),
            1,
            500,
            "online",
            "2026-06-02",
        ),
        (
            "R-0009",
            "d-jiguan",
            None,
            96,
            4_800,
            "payroll_deduction",
            "2026-06-20",
        ),
    ];
    for (receipt, unit, donor, count, amount_yuan, channel, on) in donations {
        run.step(
            e,
            &id,
            CASEWORKER,
            &format!("{on} 17:00"),
            json!({"RecordDonation": {
                "receipt_no": receipt, "unit_id": unit, "donor": donor, "donor_count": count,
                "amount_fen": yuan(amount_yuan), "channel": channel, "donated_on": on
            }}),
        )
        .await?;
    }
    // R-0007 was the same lump sum keyed twice: reversed, never deleted.
    run.step(
        e,
        &id,
        FINANCE,
        "2026-06-05 10:00",
        json!({"ReverseDonation": {"receipt_no": "R-0007", "reason": "同一笔汇款重复登记"}}),
    )
    .await?;
    run.step(
        e,
        &id,
        APPROVER,
        "2026-07-01 09:00",
        json!({"Close": {"note": "活动结束，款项全部到账"}}),
    )
    .await?;
    let file = run.id("hf-chen");
    run.step(e, &id, CASEWORKER, "2026-07-06 10:00", json!({"ProposeAllocation": {
        "allocation_id": "A1", "target": {"hardship_measure": {"file_id": file, "measure_id": "M2"}},
        "amount_fen": yuan(3000), "note": "金秋助学：陈志鹏高中学费"
    }})).await?;
    run.refused(
        out,
        e,
        &id,
        (CASEWORKER.0, Role::Approver),
        "2026-07-06 10:05",
        json!({"ApproveAllocation": {"allocation_id": "A1"}}),
        "donation_campaign.four_eyes",
    )
    .await?;
    run.step(
        e,
        &id,
        APPROVER,
        "2026-07-07 09:00",
        json!({"ApproveAllocation": {"allocation_id": "A1"}}),
    )
    .await?;
    run.step(
        e,
        &id,
        CASEWORKER_2,
        "2026-07-20 10:00",
        json!({"ProposeAllocation": {
            "allocation_id": "A2", "target": {"claim": {"claim_id": run.id("claim-04")}},
            "amount_fen": yuan(1950), "note": "大病补助资金补充"
        }}),
    )
    .await?;
    run.step(
        e,
        &id,
        APPROVER_2,
        "2026-07-21 09:00",
        json!({"ApproveAllocation": {"allocation_id": "A2"}}),
    )
    .await?;
    // Money is spent at most once: nothing beyond what was received is allocated.
    run.refused(out, e, &id, CASEWORKER, "2026-07-22 10:00", json!({"ProposeAllocation": {
        "allocation_id": "A3", "target": {"hardship_measure": {"file_id": file, "measure_id": "M1"}},
        "amount_fen": yuan(200_000), "note": "超额拨付尝试"
    }}), "donation_campaign.exceeds_available").await?;
    Ok(())
}

async fn summary(app: &App, run: &Run, out: &mut dyn std::io::Write) -> Result<(), Failure> {
    let lang = run.lang;
    let io = |e: std::io::Error| fail(lang, &e.to_string());
    let load_err = |e: String| fail(lang, &e);
    // Everything below is read from the views, caught up to the last command
    // (on PostgreSQL that may mean waiting a moment for it to be readable).
    let last = app
        .store
        .last_event()
        .await
        .map_err(|e| load_err(e.to_string()))?
        .map_or(crate::store::LogPosition::START, |e| e.log_position);
    let position = app
        .projector
        .catch_up_to(last)
        .await
        .map_err(|e| load_err(e.to_string()))?;
    let file: HouseholdFileRow = app
        .projector
        .get(&run.id("hf-chen"))
        .await
        .map_err(|e| load_err(e.to_string()))?
        .ok_or_else(|| load_err("household file view missing".into()))?;
    let plan = crate::read::reports::plan_period_report(app, &run.id("mutual-07"))
        .await
        .map_err(|e| load_err(e.to_string()))?
        .ok_or_else(|| load_err("plan-period view missing".into()))?;
    let campaign = crate::read::reports::campaign_report(app, &run.id("yirijuan-2026"))
        .await
        .map_err(|e| load_err(e.to_string()))?
        .ok_or_else(|| load_err("campaign view missing".into()))?
        .campaign;
    let funds = app
        .projector
        .funds()
        .await
        .map_err(|e| load_err(e.to_string()))?;

    let y = |f: Fen| f.to_yuan_grouped();
    writeln!(
        out,
        "\n══ {} ══",
        lang.pick("汇总（读自视图）", "Summary (read from the views)")
    )
    .map_err(io)?;

    // Household.
    let head = match lang {
        Lang::Zh => format!("{}（{}）", file.head.name, file.head.resident_id_masked),
        Lang::En => format!("{} ({})", file.head.name, file.head.resident_id_masked),
    };
    let status = match file.closure.as_ref().and_then(|c| c.reason.as_ref()) {
        Some(reason) => match lang {
            Lang::Zh => format!("{}（{}）", file.status.label(lang), reason.label(lang)),
            Lang::En => format!("{} ({})", file.status.label(lang), reason.label(lang)),
        },
        None => file.status.label(lang).to_string(),
    };
    let revision = file.plan.as_ref().map_or(0, |p| p.revision);
    match lang {
        Lang::Zh => writeln!(out, "困难职工档案 {}：户主 {head}，状态 {status}；入户走访 {} 次，计划第 {} 版，已发放 {} 元",
            file.file_id, file.visits.len(), revision, y(file.paid_total_fen())),
        Lang::En => writeln!(out, "Hardship file {}: head {head}, {status}; {} home visits, plan revision {}, {} yuan paid out",
            file.file_id, file.visits.len(), revision, y(file.paid_total_fen())),
    }.map_err(io)?;
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::UTF8_HORIZONTAL_ONLY);
    table.set_header(match lang {
        Lang::Zh => [
            "措施",
            "类别",
            "资金来源",
            "计划",
            "已申请",
            "已批准",
            "已发放",
            "余额",
            "状态",
        ],
        Lang::En => [
            "measure",
            "kind",
            "fund",
            "planned",
            "requested",
            "approved",
            "paid",
            "remaining",
            "status",
        ],
    });
    for m in file.measures() {
        table.add_row(vec![
            m.measure_id.clone(),
            m.kind.label(lang).to_string(),
            m.fund.label(lang).to_string(),
            y(m.planned_fen),
            y(m.requested_fen),
            y(m.approved_fen),
            y(m.paid_fen),
            y(m.remaining_fen()),
            if m.completed {
                lang.pick("已完成", "completed")
            } else {
                lang.pick("进行中", "open")
            }
            .to_string(),
        ]);
    }
    for (i, col) in table.column_iter_mut().enumerate() {
        if (3..8).contains(&i) {
            col.set_cell_alignment(comfy_table::CellAlignment::Right);
        }
    }
    writeln!(out, "{table}").map_err(io)?;

    // Plan period and claims.
    let sep = lang.pick("、", ", ");
    let states: Vec<String> = plan
        .claims_by_state
        .iter()
        .filter(|s| s.claims > 0)
        .map(|s| format!("{} {}", s.status.label(lang), s.claims))
        .collect();
    let p = &plan.period;
    match lang {
        Lang::Zh => writeln!(out, "\n{}：政策版本 {}；参加单位 {} 家，参保职工 {} 人，收缴互助金 {} 元\n  补助申请：{}；已批准补助 {} 元，已发放 {} 元，基金结余 {} 元",
            p.name, p.policy.version, p.units, p.members, y(p.contributions_fen), states.join(sep), y(plan.subsidies_approved_fen), y(plan.subsidies_paid_fen), y(plan.fund_balance_fen)),
        Lang::En => writeln!(out, "\n{}: policy {}; {} units, {} members enrolled, {} yuan contributions\n  claims: {}; subsidies approved {} yuan, paid {} yuan, fund balance {} yuan",
            p.name, p.policy.version, p.units, p.members, y(p.contributions_fen), states.join(sep), y(plan.subsidies_approved_fen), y(plan.subsidies_paid_fen), y(plan.fund_balance_fen)),
    }.map_err(io)?;

    // Campaign.
    let c = &campaign;
    match lang {
        Lang::Zh => writeln!(out, "\n{}：到账 {} 元（冲销 {} 元），捐款 {} 人 / 应参与 {} 人，参与率 {}；已拨付 {} 元，可拨付 {} 元",
            c.name, y(c.net_received_fen()), y(c.reversed_fen), c.donors, c.headcount, c.participation(), y(c.allocated_fen()), y(c.unallocated_fen())),
        Lang::En => writeln!(out, "\n{}: {} yuan received net ({} reversed), {} donors of {} staff, participation {}; {} yuan allocated, {} available",
            c.name, y(c.net_received_fen()), y(c.reversed_fen), c.donors, c.headcount, c.participation(), y(c.allocated_fen()), y(c.unallocated_fen())),
    }.map_err(io)?;

    // Funds (all runs of the demo on this database together).
    writeln!(
        out,
        "\n{}",
        lang.pick(
            "资金余额（本数据库全部数据）",
            "Fund balances (everything in this database)"
        )
    )
    .map_err(io)?;
    writeln!(out, "{}", crate::cli::views::fund_table(&funds, lang)).map_err(io)?;

    // The log itself.
    let report = app
        .store
        .verify_chains()
        .await
        .map_err(|e| load_err(e.to_string()))?;
    let events = app
        .store
        .count_events()
        .await
        .map_err(|e| load_err(e.to_string()))?;
    let chain = if report.is_ok() {
        lang.pick("哈希链完整", "hash chains intact")
    } else {
        lang.pick("哈希链断裂！", "HASH CHAINS BROKEN!")
    };
    match lang {
        Lang::Zh => writeln!(out, "\n事件日志：共 {events} 个事件，{} 个案卷流，{chain}；视图反映至位置 {position}。\n查看完整历史：bangfu history hardship-file {}\n查看视图：bangfu view household-file {}", report.streams, file.file_id, file.file_id),
        Lang::En => writeln!(out, "\nEvent log: {events} events in {} streams, {chain}; views reflect position {position}.\nFull history: bangfu --lang en history hardship-file {}\nThe view: bangfu --lang en view household-file {}", report.streams, file.file_id, file.file_id),
    }.map_err(io)?;
    if report.is_ok() {
        Ok(())
    } else {
        Err(fail(lang, chain))
    }
}
