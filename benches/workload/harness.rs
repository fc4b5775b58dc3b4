//! The standard workload and the phases that measure bangfu against it.
//!
//! Shared by the `workload` bench (benches/workload/main.rs, which parses the
//! command line and prints) and by the integration test `bench_harness`, which
//! runs [`run`] at the `tiny` scale so this code cannot rot unnoticed.
//!
//! Everything is deterministic from the seed: household data, findings text,
//! resident IDs, command ids and times. Method, scales and phases are
//! described in BENCHMARKS.md; in short, per run:
//!
//! 1. **populate** — a fresh store is filled with the scale's data set by the
//!    engine with 8 clients: households (14 commands each), a plan period with
//!    its units' rosters and claims through approval, a campaign's donations.
//! 2. **write** — on fresh copies of the populated file (frozen with `VACUUM
//!    INTO`), the same set of new households is written by the engine with 1
//!    and 8 clients, and the same event rows by the raw baseline ("read the
//!    stream's events, insert the rows", plain sqlx, same durability) with 1
//!    and 8 clients, all four interleaved slice by slice.
//! 3. **http** — the same new households, on fresh copies, through the real
//!    service (`bangfu::http::run` on 127.0.0.1:0, one keep-alive HTTP/1.1
//!    connection per client) with 1 and 16 clients, with and without an
//!    `Idempotency-Key`, interleaved slice by slice with the engine
//!    in-process at the same client count ([`http_interleaved`]).
//! 4. **load** — aggregate loads on the populated data: files, the big plan
//!    and a freshly opened plan, from the store and through the cache.
//! 5. **rebuild** — every view rebuilt into scratch from a fresh copy of the
//!    frozen log ([`rebuild_file`]): events/s and peak RSS, in a child
//!    process of its own when [`Config::rebuild_exe`] names one, so the
//!    populate phase's memory does not count.
//!
//! The same phases run on PostgreSQL (`PgStore`, through the same `App` and
//! `app::execute`) when [`Config::postgres`] names a server: see the
//! "PostgreSQL" section at the end of this file.
//!
//! A phase that cannot run here (no PostgreSQL to start) is listed in
//! [`Report::pending`] with the reason, and the others still run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bangfu::app::engine::Engine;
use bangfu::app::{self, App, CaseAggregate};
use bangfu::store::{AnyStore, EventStore, SqliteStore};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use domain::command::{Actor, Cmd, CommandContext, Role};
use domain::donation::DonationCampaign;
use domain::fund::account::FundAccount;
use domain::hardship::HardshipFile;
use domain::i18n::ErrorCode;
use domain::mutual_aid::{MutualAidClaim, MutualAidPlan};
use domain::values::{Code, ResidentId};
use serde::Serialize;
use serde_json::{json, Value};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use uuid::Uuid;

// The users' path against the bare framework (issue 16): its own file.
#[path = "userpath.rs"]
mod userpath;
#[allow(unused_imports)] // USER_*: the tiny-scale test's.
pub use userpath::{userpath_phase, CacheUse, USER_CLIENTS, USER_STEPS, USER_VARIANTS};

/// Commands per household: open, 5 visits, verify, adopt a plan, 3 × (request, approve).
pub const COMMANDS_PER_HOUSEHOLD: usize = 14;
/// Concurrency of the "many clients" phases.
pub const MANY_CLIENTS: usize = 8;

/// How big a data set, and how much of it the write phases measure.
#[derive(Clone, Debug, Serialize)]
pub struct Scale {
    /// `tiny`, `smoke`, `city`, `province` or `rebuild`.
    pub name: String,
    /// Households written while populating.
    pub households: usize,
    /// Units enrolled in the big plan period.
    pub plan_units: usize,
    /// Members per unit (units × members = the plan's roster).
    pub members_per_unit: usize,
    /// Claims taken through submission, review, assessment and approval.
    pub claims: usize,
    /// Donations recorded in the campaign.
    pub donations: usize,
    /// New households written by each write phase (engine and baseline, 1 and 8 clients).
    pub measured_households: usize,
    /// Loads per load measurement.
    pub loads: usize,
}

impl Scale {
    /// A named scale.
    pub fn named(name: &str) -> Option<Scale> {
        let (households, plan_units, claims, donations, measured, loads) = match name {
            // For the test that keeps this harness compiling and correct.
            "tiny" => (4, 2, 2, 20, 4, 10),
            // A quick run: seconds.
            "smoke" => (40, 10, 20, 500, 40, 200),
            "city" => (10_000, 140, 300, 30_000, 400, 2_000),
            "province" => (100_000, 140, 300, 30_000, 400, 2_000),
            // ~1M events (14 per household) for the projection rebuild phase.
            "rebuild" => (71_000, 140, 300, 5_000, 100, 500),
            _ => return None,
        };
        Some(Scale {
            name: name.to_string(),
            households,
            plan_units,
            members_per_unit: 100,
            claims,
            donations,
            measured_households: measured,
            loads,
        })
    }
}

/// What to run.
#[derive(Clone, Debug)]
pub struct Config {
    pub scale: Scale,
    pub seed: u64,
    /// Repetitions of the write and load phases (populate runs once).
    pub runs: usize,
    /// Where the databases go (created; removed afterwards unless `keep`).
    pub dir: PathBuf,
    /// Phases to run: any of `populate` (always, it makes the data), `write`,
    /// `http`, `load`, `rebuild`.
    pub phases: Vec<String>,
    /// Write-phase variants: any of `engine1`, `engine8`, `baseline1`, `baseline8`.
    pub variants: Vec<String>,
    pub keep: bool,
    /// The rebuild phase runs `<rebuild_exe> --rebuild-file <copy>` and reads
    /// its last stdout line as a [`Rebuild`], so the peak RSS is the
    /// rebuild's alone; `None` rebuilds in this process (the test's tiny
    /// scale, where memory is not a figure).
    pub rebuild_exe: Option<PathBuf>,
    /// Run the SQLite phases (`--store sqlite` or `both`).
    pub sqlite: bool,
    /// Whether and where the PostgreSQL phases run.
    pub postgres: Postgres,
}

/// One full rebuild of every view into scratch.
#[derive(Clone, Debug, Default, Serialize, serde::Deserialize)]
pub struct Rebuild {
    pub events: u64,
    pub seconds: f64,
    pub events_per_second: f64,
    /// `VmHWM` of the process that rebuilt, in kB.
    pub peak_rss_kb: u64,
    /// Whether that process did nothing but the rebuild (else the peak
    /// includes the populate phase).
    pub own_process: bool,
}

// ---------------------------------------------------------------- results

/// Latency and throughput of one measured batch of commands.
#[derive(Clone, Debug, Serialize)]
pub struct Throughput {
    pub commands: usize,
    pub clients: usize,
    pub seconds: f64,
    pub per_second: f64,
    pub latency_ms_p50: f64,
    pub latency_ms_p99: f64,
    pub latency_ms_max: f64,
    /// Store transactions committed (engine only): commands ÷ batches is the
    /// mean group-commit batch size.
    pub batches: Option<u64>,
}

impl Throughput {
    fn from(mut latencies: Vec<Duration>, clients: usize, wall: Duration) -> Throughput {
        latencies.sort_unstable();
        let pick = |q: f64| -> f64 {
            if latencies.is_empty() {
                return 0.0;
            }
            let i = ((latencies.len() as f64 - 1.0) * q).round() as usize;
            latencies[i].as_secs_f64() * 1e3
        };
        let seconds = wall.as_secs_f64();
        Throughput {
            commands: latencies.len(),
            clients,
            seconds,
            per_second: latencies.len() as f64 / seconds.max(1e-9),
            latency_ms_p50: pick(0.5),
            latency_ms_p99: pick(0.99),
            latency_ms_max: pick(1.0),
            batches: None,
        }
    }
}

/// Loads of one kind.
#[derive(Clone, Debug, Serialize)]
pub struct LoadRate {
    pub loads: usize,
    pub per_second: f64,
    pub latency_ms_p50: f64,
    pub latency_ms_p99: f64,
}

/// One run of the write and load phases.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RunResult {
    pub write: BTreeMap<String, Throughput>,
    /// engine ÷ baseline at the same client count, and engine 8 ÷ engine 1.
    pub ratios: BTreeMap<String, f64>,
    pub load: BTreeMap<String, LoadRate>,
    pub rebuild: Option<Rebuild>,
    /// What the HTTP phase checked (its figures are in `write`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub http_checks: BTreeMap<String, HttpCheck>,
    /// The rebuild on PostgreSQL (the `postgres.*` write and load figures
    /// are in `write`, `load` and `ratios`).
    pub postgres_rebuild: Option<Rebuild>,
    /// The userpath phase's file-cache use per engine side (its figures are
    /// in `write`, its ratios in `ratios`, its checks in `http_checks`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub userpath_cache: BTreeMap<String, CacheUse>,
}

/// Everything one invocation measured.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub scale: Scale,
    pub seed: u64,
    pub events_after_populate: u64,
    pub database_bytes_after_populate: u64,
    pub populate: BTreeMap<String, Throughput>,
    pub runs: Vec<RunResult>,
    pub pending: Vec<(String, String)>,
    /// The PostgreSQL data set, if the PostgreSQL phases ran.
    pub postgres: Option<PgPopulated>,
}

// ---------------------------------------------------------------- deterministic data

/// SplitMix64: small, fast, and the same on every machine.
#[derive(Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const SURNAMES: &[&str] = &[
    "陈", "林", "黄", "郑", "吴", "王", "李", "张", "刘", "蔡", "许", "方", "杨", "朱",
];
const GIVEN: &[&str] = &[
    "志强", "秀英", "建华", "丽娟", "海燕", "文斌", "美华", "国平", "晓梅", "春生", "玉兰", "建国",
];
const FINDINGS: &[&str] = &[
    "户主在本市鞋服企业从事裁剪工作，月工资约二千六百元，为家庭唯一劳动力。",
    "配偶患尿毒症，每周透析三次，医保报销后每月自付约一千八百元。",
    "子女就读高中二年级，成绩良好，学费和住宿费负担较重。",
    "老人患高血压和糖尿病，需长期服药，每月药费约四百元。",
    "家庭人均月收入低于当地最低生活保障标准，生活十分拮据。",
    "住房为租住的两室一厅，家具陈旧，屋内潮湿，采光较差。",
    "已核对病历、收入证明与户口簿，情况属实，邻居和单位工会均予证实。",
    "向户主发放工会联系卡，讲解困难职工帮扶政策和申请流程。",
    "户主因企业停产待岗半年，目前靠打零工维持生活，收入很不稳定。",
    "家中有一名残疾子女需要长期康复训练，照护占用大量时间。",
    "回访时了解到医疗费用仍在增加，家庭已向亲友借款三万余元。",
    "社区居委会反映该户邻里关系和睦，户主积极寻找工作机会。",
];
const UNITS: &[&str] = &[
    "莆田市城厢区振兴鞋服有限公司",
    "莆田市荔城区人民医院",
    "莆田市涵江区华顺电子厂",
    "仙游县红木家具行业协会",
    "莆田市公共交通集团有限公司",
    "国网莆田供电公司",
    "莆田学院",
    "莆田市教育局",
];

/// ~`chars` Chinese characters of findings, from the rng.
fn findings(rng: &mut Rng, chars: usize) -> String {
    let mut text = String::from("入户走访：");
    while text.chars().count() < chars {
        text.push_str(rng.pick(FINDINGS));
    }
    text
}

fn name(rng: &mut Rng) -> String {
    format!("{}{}", rng.pick(SURNAMES), rng.pick(GIVEN))
}

/// The `n`th distinct valid resident ID in `region` (6 digits): births spread
/// over 1960–1999, a 3-digit sequence.
fn resident_id(region: u32, n: u64) -> String {
    let base = NaiveDate::from_ymd_opt(1960, 1, 1).unwrap_or_default();
    let born = base + chrono::Duration::days((n / 1000 % 14_600) as i64);
    let first17 = format!("{region:06}{}{:03}", born.format("%Y%m%d"), n % 1000);
    let check = ResidentId::check_char(first17.as_bytes()) as char;
    format!("{first17}{check}")
}

/// A Luhn-valid 19-digit card number derived from `n`.
fn card(n: u64) -> String {
    let body = format!("622202{:012}", n % 1_000_000_000_000);
    (0..10)
        .map(|d| format!("{body}{d}"))
        .find(|c| domain::values::BankCard::parse(c).is_ok())
        .unwrap_or_default()
}

fn yuan(y: i64) -> i64 {
    y * 100
}

/// One command of the workload, typed and ready to execute.
pub enum Command {
    File(String, Cmd<domain::hardship::HardshipFileCommand>),
    Plan(String, Cmd<domain::mutual_aid::MutualAidPlanCommand>),
    Claim(String, Cmd<domain::mutual_aid::MutualAidClaimCommand>),
    Campaign(String, Cmd<domain::donation::DonationCampaignCommand>),
    Fund(String, Cmd<domain::fund::account::FundAccountCommand>),
}

/// Builds commands deterministically: each command's context (actor, time,
/// ids) comes from the seed and the command's place in the workload.
pub struct Generator {
    seed: u64,
    tag: String,
}

impl Generator {
    pub fn new(seed: u64, tag: &str) -> Generator {
        Generator {
            seed,
            tag: tag.to_string(),
        }
    }

    fn ctx(&self, actor: &str, role: Role, at: DateTime<Utc>, key: (u64, u64)) -> CommandContext {
        let mut rng = Rng::new(self.seed ^ key.0.wrapping_mul(0x1000_0001) ^ key.1);
        let command_id = Uuid::from_u64_pair(rng.next(), rng.next());
        CommandContext {
            actor: Actor {
                id: Code::parse(actor).unwrap_or_else(|_| unreachable_code()),
                role,
            },
            recorded_at: at,
            utc_offset_seconds: 0,
            command_id,
            correlation_id: Uuid::from_u64_pair(self.seed, key.0),
        }
    }

    fn parse<A: CaseAggregate>(body: Value) -> A::Body
    where
        A::Error: ErrorCode,
    {
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        match bangfu::app::input::parse_json::<A::Body>(&bytes) {
            Ok(body) => body,
            // The generator's own output: a failure is a bug in this file.
            Err(e) => panic!("workload generated an invalid {} command: {e}", A::TYPE),
        }
    }

    pub fn file_id(&self, household: usize) -> String {
        format!("hf-{}-{household:07}", self.tag)
    }

    /// One appropriation into each fund, enough for everything `scale`
    /// approves (the store counts every approved grant and subsidy against
    /// its fund): run before the households.
    pub fn funding(&self, scale: &Scale) -> Vec<Command> {
        let households = scale.households + 8 * scale.measured_households;
        let approvals = (households + scale.claims + 1) as i64;
        ["special_assistance", "mutual_aid", "donation", "festival"]
            .into_iter()
            .enumerate()
            .map(|(i, fund)| {
                Command::Fund(
                    format!("fund-{}-{fund}", self.tag),
                    Cmd {
                        ctx: self.ctx("fin.01", Role::Finance, at(2026, 1, 5), (i as u64, 5)),
                        body: Self::parse::<FundAccount>(json!({"Appropriate": {
                            "appropriation_id": "BK-1", "fund": fund,
                            "amount_fen": yuan(10_000) * approvals,
                            "source": "福建省总工会", "received_on": "2026-01-05", "note": null}})),
                    },
                )
            })
            .collect()
    }

    /// The 14 commands of household `h`, in order.
    pub fn household(&self, h: usize) -> Vec<Command> {
        let mut rng = Rng::new(self.seed ^ (h as u64).wrapping_mul(0x9E37_79B9));
        let id = self.file_id(h);
        let day = |d: u32, hour: u32| {
            Utc.with_ymd_and_hms(2026, 3, 2, hour, 0, 0)
                .single()
                .unwrap_or_default()
                + chrono::Duration::days(i64::from(d))
        };
        let date = |d: u32| day(d, 0).date_naive().to_string();
        let caseworker = format!("cw.{:03}", h % 97);
        let approver = format!("ap.{:02}", h % 13);
        let key = (h as u64) << 8;
        let mut out = Vec::with_capacity(COMMANDS_PER_HOUSEHOLD);
        let mut step = 0u64;
        let mut file = |actor: &str, role, at, body: Value| {
            step += 1;
            Command::File(
                id.clone(),
                Cmd {
                    ctx: self.ctx(actor, role, at, (key | step, 1)),
                    body: Self::parse::<HardshipFile>(body),
                },
            )
        };

        let members: Vec<Value> = (0..1 + rng.below(3))
            .map(|i| {
                json!({"name": name(&mut rng), "relation": (["spouse", "child", "parent"][i % 3]),
                       "birth_year": 1950 + rng.below(60), "health": "chronic_illness", "schooling": "none"})
            })
            .collect();
        let head = name(&mut rng);
        out.push(file(&caseworker, Role::Caseworker, day(0, 9), json!({"OpenFile": {
            "household": {
                "head": {"name": head, "resident_id": resident_id(350302, h as u64),
                         "phone": format!("139{:08}", h % 100_000_000),
                         "employer_unit": rng.pick(UNITS), "grassroots_union": format!("{}工会委员会", rng.pick(UNITS)),
                         "migrant_worker": h.is_multiple_of(3), "mobile_member": false},
                "members": members,
                "monthly_income_per_capita_fen": yuan(400 + rng.below(400) as i64),
                "local_minimum_standard_fen": yuan(800),
                "causes": ["illness"]
            },
            "opened_on": date(0)
        }})));
        for v in 0..5u32 {
            out.push(file(
                &caseworker,
                Role::Caseworker,
                day(1 + v * 7, 15),
                json!({"LogVisit": {
                    "visit_id": format!("V{}", v + 1), "visited_on": date(1 + v * 7),
                    "kind": if v == 0 { "verification" } else { "follow_up" },
                    "caseworkers": [name(&mut rng)],
                    "findings": findings(&mut rng, 200),
                    "facts_verified": ["income", "members"],
                    "contact_card_issued": v == 0, "cash_handover": null
                }}),
            ));
        }
        out.push(file(
            &approver,
            Role::Approver,
            day(40, 10),
            json!({"Verify": {
            "outcome": {"confirmed": {"note": "经入户核查情况属实，列入困难职工档案"}}}}),
        ));
        out.push(file(&caseworker, Role::Caseworker, day(41, 9), json!({"AdoptPlan": {
            "goal": "因病致困：减轻医疗负担，保障子女就学",
            "measures": [
                {"measure_id": "M1", "kind": "medical_relief", "description": "透析自付部分医疗救助",
                 "planned_amount_fen": yuan(8000), "fund": "special_assistance", "due_on": "2026-12-31"},
                {"measure_id": "M2", "kind": "education_aid", "description": "金秋助学",
                 "planned_amount_fen": yuan(3000), "fund": "donation", "due_on": "2026-12-31"},
                {"measure_id": "M3", "kind": "festival_condolence", "description": "中秋送温暖慰问金",
                 "planned_amount_fen": yuan(1000), "fund": "festival", "due_on": "2026-12-31"}
            ]}})));
        let payee = json!({"bank_transfer": {"card": card(h as u64), "account_name": head}});
        for (g, (measure, amount)) in [("M1", 3000), ("M2", 2000), ("M3", 800)].iter().enumerate() {
            let grant = format!("G{}", g + 1);
            let d = 45 + g as u32 * 20;
            out.push(file(
                &caseworker,
                Role::Caseworker,
                day(d, 9),
                json!({"RequestGrant": {
                "grant_id": grant, "measure_id": measure, "amount_fen": yuan(*amount),
                "payee": payee, "note": null}}),
            ));
            out.push(file(
                &approver,
                Role::Approver,
                day(d + 1, 10),
                json!({"ApproveGrant": {"grant_id": grant}}),
            ));
        }
        out
    }

    pub fn plan_id(&self) -> String {
        format!("plan-{}-07", self.tag)
    }

    pub fn fresh_plan_id(&self) -> String {
        format!("plan-{}-fresh", self.tag)
    }

    fn member(&self, unit: usize, i: usize, members_per_unit: usize) -> (String, String, bool) {
        let n = (unit * members_per_unit + i) as u64;
        let mut rng = Rng::new(self.seed ^ n.wrapping_mul(0x5851_F42D));
        (resident_id(350303, n), name(&mut rng), i.is_multiple_of(5))
    }

    fn open_period(&self, plan_id: &str, key: u64) -> Command {
        Command::Plan(
            plan_id.to_string(),
            Cmd {
                ctx: self.ctx("ap.01", Role::Approver, at(2026, 1, 5), (key, 2)),
                body: Self::parse::<MutualAidPlan>(json!({"OpenPeriod": {
                "name": "莆田市职工医疗互助第七期", "period_no": 7,
                "starts_on": "2026-01-01", "ends_on": "2026-12-31",
                "policy": {
                    "version": "putian-07-v1", "threshold_fen": yuan(5000),
                    "tiers": [
                        {"from_fen": yuan(5000), "amount_fen": yuan(200)},
                        {"from_fen": yuan(10000), "amount_fen": yuan(400)},
                        {"from_fen": yuan(20000), "amount_fen": yuan(800)},
                        {"from_fen": yuan(50000), "amount_fen": yuan(1500)},
                        {"from_fen": yuan(100000), "amount_fen": yuan(2500)}
                    ],
                    "period_uplift_bp": 3000, "migrant_uplift_bp": 3000,
                    "cap_per_member_fen": yuan(6000)
                }}})),
            },
        )
    }

    /// Opens the big plan and enrols its units; then opens the fresh plan.
    pub fn plan(&self, scale: &Scale) -> Vec<Command> {
        let id = self.plan_id();
        let mut out = vec![self.open_period(&id, 1)];
        for unit in 0..scale.plan_units {
            let members: Vec<Value> = (0..scale.members_per_unit)
                .map(|i| {
                    let (rid, name, migrant) = self.member(unit, i, scale.members_per_unit);
                    json!({"resident_id": rid, "name": name, "migrant_worker": migrant})
                })
                .collect();
            out.push(Command::Plan(
                id.clone(),
                Cmd {
                    ctx: self.ctx(
                        "cw.001",
                        Role::Caseworker,
                        at(2026, 1, 20),
                        (2 + unit as u64, 2),
                    ),
                    body: Self::parse::<MutualAidPlan>(json!({"EnrolUnit": {
                        "unit_id": format!("U{unit:04}"),
                        "unit_name": format!("{}（{}）", UNITS[unit % UNITS.len()], unit),
                        "members": members,
                        "contribution_fen": yuan(40) * scale.members_per_unit as i64,
                        "paid_by": "unit"}})),
                },
            ));
        }
        out.push(self.open_period(&self.fresh_plan_id(), 1_000_000));
        out
    }

    /// Claim `c`'s four commands: submit, review, assess, approve.
    pub fn claim(&self, scale: &Scale, c: usize) -> Vec<Command> {
        let id = format!("claim-{}-{c:05}", self.tag);
        let units = scale.plan_units.max(1);
        let (rid, name, _) = self.member(c % units, c / units, scale.members_per_unit);
        let mut rng = Rng::new(self.seed ^ (c as u64).wrapping_mul(0x2545_F491));
        let total = 20_000 + rng.below(100_000) as i64;
        let key = 0x1_0000_0000 + ((c as u64) << 4);
        let admitted = NaiveDate::from_ymd_opt(2026, 2, 1).unwrap_or_default()
            + chrono::Duration::days((c % 200) as i64);
        let discharged = admitted + chrono::Duration::days(10);
        let cmd = |step: u64, actor: &str, role, body: Value| {
            Command::Claim(
                id.clone(),
                Cmd {
                    ctx: self.ctx(actor, role, at(2026, 9, 1), (key | step, 3)),
                    body: Self::parse::<MutualAidClaim>(body),
                },
            )
        };
        vec![
            cmd(
                1,
                "cw.002",
                Role::Caseworker,
                json!({"Submit": {
                "claim_id": id, "plan_id": self.plan_id(), "member": rid, "member_name": name,
                "hospital": "莆田学院附属医院", "admitted_on": admitted.to_string(),
                "discharged_on": discharged.to_string(), "diagnosis": "急性心肌梗死，行冠脉支架植入术",
                "total_cost_fen": yuan(total), "basic_insurance_fen": yuan(total / 2),
                "other_reimbursement_fen": 0,
                "documents": ["住院费用发票", "出院小结", "费用明细清单"]}}),
            ),
            cmd(
                2,
                "cw.002",
                Role::Caseworker,
                json!({"ReviewDocuments": {"complete": true, "note": "材料齐全"}}),
            ),
            cmd(3, "ap.01", Role::Approver, json!({"Assess": {}})),
            cmd(4, "ap.02", Role::Approver, json!({"Approve": {}})),
        ]
    }

    pub fn campaign_id(&self) -> String {
        format!("yrj-{}-2026", self.tag)
    }

    pub fn campaign_launch(&self) -> Command {
        let units: Vec<Value> = (0..200)
            .map(|u| json!({"unit_id": format!("U{u:04}"), "name": format!("{}（{}）", UNITS[u % UNITS.len()], u), "headcount": 300}))
            .collect();
        Command::Campaign(
            self.campaign_id(),
            Cmd {
                ctx: self.ctx("ap.01", Role::Approver, at(2026, 3, 1), (0, 4)),
                body: Self::parse::<DonationCampaign>(json!({"Launch": {
                    "name": "2026年莆田市“一日捐”活动", "year": 2026,
                    "co_issuers": ["莆田市总工会", "中共莆田市委组织部"],
                    "units": units, "starts_on": "2026-03-01", "ends_on": "2026-05-31",
                    "purpose": "general_fund"}})),
            },
        )
    }

    pub fn donation(&self, d: usize) -> Command {
        let mut rng = Rng::new(self.seed ^ (d as u64).wrapping_mul(0x7FB5_D329));
        let named = !d.is_multiple_of(4);
        Command::Campaign(
            self.campaign_id(),
            Cmd {
                ctx: self.ctx(
                    "cw.003",
                    Role::Caseworker,
                    at(2026, 6, 1),
                    (1 + d as u64, 4),
                ),
                body: Self::parse::<DonationCampaign>(json!({"RecordDonation": {
                    "receipt_no": format!("R{d:07}"), "unit_id": format!("U{:04}", d % 200),
                    "donor": if named { Some(name(&mut rng)) } else { None },
                    "donor_count": if named { 1 } else { 20 + rng.below(80) },
                    "amount_fen": yuan(100 + rng.below(400) as i64),
                    "channel": (["cash", "bank_transfer", "payroll_deduction", "online"][d % 4]),
                    "donated_on": (NaiveDate::from_ymd_opt(2026, 3, 1).unwrap_or_default()
                        + chrono::Duration::days((d % 90) as i64)).to_string()}})),
            },
        )
    }
}

fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 9, 0, 0)
        .single()
        .unwrap_or_default()
}

fn unreachable_code() -> Code {
    panic!("workload generated an invalid actor code")
}

// ---------------------------------------------------------------- targets

/// Where commands are executed. The embedded engine now; a PostgreSQL-backed
/// `App` and the HTTP service implement this when they land.
pub trait Target: Send + Sync {
    /// Executes one command; `Err` carries a stable error code and message.
    fn execute(
        &self,
        command: Command,
    ) -> impl std::future::Future<Output = Result<(), String>> + Send;
}

impl Target for App {
    async fn execute(&self, command: Command) -> Result<(), String> {
        async fn one<A>(engine: &Engine<A>, id: &str, cmd: Cmd<A::Body>) -> Result<(), String>
        where
            A: CaseAggregate,
            A::Error: ErrorCode,
        {
            app::execute(engine, id, cmd)
                .await
                .map(drop)
                .map_err(|e| format!("{} {id}: [{}] {e}", A::TYPE, e.code()))
        }
        match command {
            Command::File(id, cmd) => one(&self.files, &id, cmd).await,
            Command::Plan(id, cmd) => one(&self.plans, &id, cmd).await,
            Command::Claim(id, cmd) => one(&self.claims, &id, cmd).await,
            Command::Campaign(id, cmd) => one(&self.campaigns, &id, cmd).await,
            Command::Fund(id, cmd) => one(&self.funds, &id, cmd).await,
        }
    }
}

/// Runs `scripts` (each a stream's commands, in order) on `clients`
/// concurrent tasks that take the next script from a shared queue, timing
/// each command. Any refused command fails the phase: the workload is valid.
pub async fn drive<T: Target + 'static>(
    target: Arc<T>,
    scripts: Vec<Vec<Command>>,
    clients: usize,
) -> Result<Throughput, String> {
    Ok(drive_samples(target, scripts, clients)
        .await?
        .throughput(clients))
}

/// [`drive`], returning the raw samples.
pub async fn drive_samples<T: Target + 'static>(
    target: Arc<T>,
    scripts: Vec<Vec<Command>>,
    clients: usize,
) -> Result<Samples, String> {
    let queue: Arc<std::sync::Mutex<std::vec::IntoIter<Vec<Command>>>> =
        Arc::new(std::sync::Mutex::new(scripts.into_iter()));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let target = Arc::clone(&target);
        let queue = Arc::clone(&queue);
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let next = queue.lock().map_err(|e| e.to_string())?.next();
                let Some(script) = next else { break };
                for command in script {
                    let t = Instant::now();
                    target.execute(command).await?;
                    latencies.push(t.elapsed());
                }
            }
            Ok::<_, String>(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.map_err(|e| e.to_string())??);
    }
    Ok(Samples {
        latencies,
        wall: started.elapsed(),
    })
}

// ---------------------------------------------------------------- baseline

/// One command's rows as the engine stored them.
#[derive(Clone)]
pub struct RowSet {
    aggregate_type: String,
    aggregate_id: String,
    rows: Vec<[String; 9]>,
    sequences: Vec<i64>,
}

/// Event rows (in log order, with a `grp` column: the command, or on
/// PostgreSQL the transaction) grouped into one [`RowSet`] per group — what
/// the baselines insert per transaction.
fn group_rows<R>(rows: &[R]) -> Result<Vec<RowSet>, String>
where
    R: sqlx::Row,
    for<'c> &'c str: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let mut sets: Vec<RowSet> = Vec::new();
    let mut last_group: Option<String> = None;
    for row in rows {
        let get = |c: &str| row.try_get::<String, _>(c).map_err(|e| e.to_string());
        let group = get("grp")?;
        let sequence: i64 = row.try_get("sequence").map_err(|e| e.to_string())?;
        let fields = [
            get("event_id")?,
            get("event_type")?,
            get("event_version")?,
            get("payload")?,
            get("metadata")?,
            row.try_get::<Option<String>, _>("recorded_at")
                .map_err(|e| e.to_string())?
                .unwrap_or_default(),
            get("prev_hash")?,
            get("hash")?,
            String::new(),
        ];
        if last_group.as_deref() != Some(group.as_str()) {
            sets.push(RowSet {
                aggregate_type: get("aggregate_type")?,
                aggregate_id: get("aggregate_id")?,
                rows: Vec::new(),
                sequences: Vec::new(),
            });
            last_group = Some(group);
        }
        if let Some(set) = sets.last_mut() {
            set.rows.push(fields);
            set.sequences.push(sequence);
        }
    }
    Ok(sets)
}

/// The rows written after `after_position`, grouped by command (metadata
/// `command_id`), in commit order.
pub async fn rows_by_command(path: &Path, after_position: i64) -> Result<Vec<RowSet>, String> {
    let pool = sqlite_pool(path, 1).await?;
    let rows = sqlx::query(
        "SELECT event_id, aggregate_type, aggregate_id, sequence, event_type, event_version,
                payload, metadata, recorded_at, prev_hash, hash,
                json_extract(metadata, '$.command_id') AS grp
           FROM events WHERE position > ? ORDER BY position",
    )
    .bind(after_position)
    .fetch_all(&pool)
    .await
    .map_err(|e| e.to_string())?;
    pool.close().await;
    group_rows(&rows)
}

/// A pool on `path` with the store's durability: WAL, synchronous=FULL.
pub async fn sqlite_pool(path: &Path, connections: u32) -> Result<SqlitePool, String> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(30))
        .foreign_keys(true);
    SqlitePoolOptions::new()
        .max_connections(connections)
        // As the store's pools: no ping round trip before each transaction.
        .test_before_acquire(false)
        .connect_with(options)
        .await
        .map_err(|e| e.to_string())
}

/// The raw baseline: per command, in one transaction, read the stream's
/// events and insert the command's rows — what any event store must do at
/// least, with plain sqlx and no checks, hashing or aggregate logic.
pub async fn baseline(
    pool: &SqlitePool,
    commands: Vec<RowSet>,
    clients: usize,
) -> Result<Samples, String> {
    // Each client's commands, in order: a stream's commands stay on one client.
    let mut per_client: Vec<Vec<RowSet>> = vec![Vec::new(); clients];
    let mut owner: BTreeMap<String, usize> = BTreeMap::new();
    for set in commands {
        let next = owner.len() % clients;
        let client = *owner.entry(set.aggregate_id.clone()).or_insert(next);
        per_client[client].push(set);
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for sets in per_client {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(sets.len());
            for set in sets {
                let t = Instant::now();
                let mut tx = pool
                    .begin_with("BEGIN IMMEDIATE")
                    .await
                    .map_err(|e| e.to_string())?;
                let _events = sqlx::query(
                    "SELECT aggregate_type, aggregate_id, sequence, event_type, event_version,
                            payload, metadata
                       FROM events WHERE aggregate_type = ? AND aggregate_id = ?
                      ORDER BY sequence",
                )
                .bind(&set.aggregate_type)
                .bind(&set.aggregate_id)
                .fetch_all(&mut *tx)
                .await
                .map_err(|e| e.to_string())?;
                for (row, sequence) in set.rows.iter().zip(&set.sequences) {
                    sqlx::query(
                        "INSERT INTO events (event_id, aggregate_type, aggregate_id, sequence,
                                             event_type, event_version, payload, metadata,
                                             recorded_at, prev_hash, hash)
                         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    )
                    .bind(&row[0])
                    .bind(&set.aggregate_type)
                    .bind(&set.aggregate_id)
                    .bind(sequence)
                    .bind(&row[1])
                    .bind(&row[2])
                    .bind(&row[3])
                    .bind(&row[4])
                    .bind(&row[5])
                    .bind(&row[6])
                    .bind(&row[7])
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| e.to_string())?;
                }
                tx.commit().await.map_err(|e| e.to_string())?;
                latencies.push(t.elapsed());
            }
            Ok::<_, String>(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.map_err(|e| e.to_string())??);
    }
    Ok(Samples {
        latencies,
        wall: started.elapsed(),
    })
}

// ---------------------------------------------------------------- phases

fn db_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(name).join("bangfu.db")
}

/// Copies a database file that no connection has open (see [`freeze`]).
fn copy_db(from: &Path, to: &Path) -> Result<(), String> {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
    }
    std::fs::copy(from, to).map_err(|e| e.to_string())?;
    Ok(())
}

/// A self-contained copy of `path` at `to` (`VACUUM INTO`: no WAL to carry
/// along, whenever the pool's connections actually close), for the write
/// phases to copy from.
async fn freeze(path: &Path, to: &Path) -> Result<(), String> {
    let _ = std::fs::remove_file(to);
    let pool = sqlite_pool(path, 1).await?;
    sqlx::query("VACUUM INTO ?")
        .bind(to.display().to_string())
        .execute(&pool)
        .await
        .map_err(|e| e.to_string())?;
    pool.close().await;
    Ok(())
}

fn remove_db(path: &Path) {
    if let Some(dir) = path.parent() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

async fn max_position(store: &SqliteStore) -> Result<i64, String> {
    Ok(store.count_events().await.map_err(|e| e.to_string())? as i64)
}

/// Latencies and the wall time they were measured in.
#[derive(Default)]
pub struct Samples {
    latencies: Vec<Duration>,
    wall: Duration,
}

impl Samples {
    fn add(&mut self, other: Samples) {
        self.latencies.extend(other.latencies);
        self.wall += other.wall;
    }

    fn throughput(self, clients: usize) -> Throughput {
        Throughput::from(self.latencies, clients, self.wall)
    }
}

/// Slices a write phase is cut into. Every variant (engine and baseline, 1
/// and 8 clients) writes each slice before any writes the next, so a noisy
/// neighbour (a compile on a shared machine, a slow disk moment) weighs on
/// all sides of every ratio alike.
const WRITE_SLICES: usize = 10;

/// One client count's side of the write phase: the engine on its own copy of
/// the populated file and, if wanted, the baseline on another.
struct WriteSide {
    clients: usize,
    engine_path: PathBuf,
    app: Arc<App>,
    baseline: Option<(PathBuf, SqlitePool)>,
    engine: Samples,
    base: Samples,
    batches_before: u64,
    written: i64,
}

/// The engine and baseline variants `sides` ((clients, with baseline)) writing
/// the households `measured`, interleaved slice by slice. The baseline writes
/// the rows its engine just wrote for the same slice. Returns
/// `(clients, engine, baseline)` per side.
async fn interleaved_write(
    populated: &Path,
    dir: &Path,
    generator: &Generator,
    measured: std::ops::Range<usize>,
    sides: &[(usize, bool)],
) -> Result<Vec<(usize, Throughput, Option<Throughput>)>, String> {
    let mut state = Vec::new();
    for &(clients, with_baseline) in sides {
        let engine_path = db_path(dir, &format!("engine{clients}"));
        remove_db(&engine_path);
        copy_db(populated, &engine_path)?;
        let app = Arc::new(App::open(&engine_path).await.map_err(|e| e.to_string())?);
        let baseline = if with_baseline {
            let path = db_path(dir, &format!("baseline{clients}"));
            remove_db(&path);
            copy_db(populated, &path)?;
            let pool = sqlite_pool(&path, clients as u32).await?;
            Some((path, pool))
        } else {
            None
        };
        state.push(WriteSide {
            clients,
            batches_before: app
                .store
                .as_sqlite()
                .expect("the SQLite phases run on SQLite")
                .write_stats()
                .batches,
            written: max_position(app.store.as_sqlite().expect("SQLite")).await?,
            engine_path,
            app,
            baseline,
            engine: Samples::default(),
            base: Samples::default(),
        });
    }
    let households: Vec<usize> = measured.collect();
    let per_slice = households.len().div_ceil(WRITE_SLICES).max(1);
    for slice in households.chunks(per_slice) {
        for side in &mut state {
            // Generated before the clock starts, so the phase times the engine only.
            let scripts: Vec<Vec<Command>> =
                slice.iter().map(|&h| generator.household(h)).collect();
            side.engine
                .add(drive_samples(Arc::clone(&side.app), scripts, side.clients).await?);
            if let Some((_, pool)) = &side.baseline {
                let rows = rows_by_command(&side.engine_path, side.written).await?;
                side.base.add(baseline(pool, rows, side.clients).await?);
            }
            side.written = max_position(side.app.store.as_sqlite().expect("SQLite")).await?;
        }
    }
    let mut out = Vec::new();
    for side in state {
        let mut engine = side.engine.throughput(side.clients);
        engine.batches = Some(
            side.app
                .store
                .as_sqlite()
                .expect("the SQLite phases run on SQLite")
                .write_stats()
                .batches
                - side.batches_before,
        );
        side.app.store.close().await;
        remove_db(&side.engine_path);
        let base = match side.baseline {
            Some((path, pool)) => {
                pool.close().await;
                remove_db(&path);
                Some(side.base.throughput(side.clients))
            }
            None => None,
        };
        out.push((side.clients, engine, base));
    }
    Ok(out)
}

// ---------------------------------------------------------------- HTTP phase

/// Client counts of the HTTP phase (the issue's 1 and 16).
pub const HTTP_CLIENTS: [usize; 2] = [1, 16];

/// The HTTP phase's variants, in the order each slice runs them: the engine
/// in-process (`app::execute`), and the real service on 127.0.0.1 with
/// clients that send no `Idempotency-Key` and clients that send one per
/// command (what a client that retries safely does: it costs the service a
/// persisted key row per command).
pub const HTTP_VARIANTS: [&str; 3] = ["inprocess", "http", "http_idempotent"];

/// One command as an HTTP client sends it, serialised before the clock starts.
pub struct HttpCommand {
    aggregate_type: &'static str,
    aggregate_id: String,
    /// `/v1/{plural}/{id}/commands`.
    path: String,
    /// The user the command runs as (the generator's actor).
    actor: String,
    role: Role,
    /// `Idempotency-Key`: the generator's command id, if the variant sends one.
    key: Option<String>,
    /// The command body as the CLI and the API take it (`{"OpenFile": {…}}`).
    body: hyper::body::Bytes,
}

impl HttpCommand {
    /// `command` as a request: the body is the product's own serialisation
    /// of the typed command, which `input::parse_json` reads back.
    pub fn of(command: &Command, idempotent: bool) -> Result<HttpCommand, String> {
        fn one<A>(id: &str, cmd: &Cmd<A::Body>, idempotent: bool) -> Result<HttpCommand, String>
        where
            A: bangfu::http::commands::Served,
            A::Error: ErrorCode,
            A::Body: Serialize,
        {
            if id.contains('/') {
                return Err(format!("{id}: the HTTP phase sends ids without '/'"));
            }
            let body = serde_json::to_vec(&cmd.body).map_err(|e| format!("{id}: {e}"))?;
            Ok(HttpCommand {
                aggregate_type: A::TYPE,
                aggregate_id: id.to_string(),
                path: format!("/v1/{}/{id}/commands", A::PLURAL),
                actor: cmd.ctx.actor.id.as_str().to_string(),
                role: cmd.ctx.actor.role,
                key: idempotent.then(|| cmd.ctx.command_id.to_string()),
                body: body.into(),
            })
        }
        match command {
            Command::File(id, cmd) => one::<HardshipFile>(id, cmd, idempotent),
            Command::Plan(id, cmd) => one::<MutualAidPlan>(id, cmd, idempotent),
            Command::Claim(id, cmd) => one::<MutualAidClaim>(id, cmd, idempotent),
            Command::Campaign(id, cmd) => one::<DonationCampaign>(id, cmd, idempotent),
            Command::Fund(id, cmd) => one::<FundAccount>(id, cmd, idempotent),
        }
    }
}

/// A user's credentials as the clients send them.
#[derive(Clone)]
struct Credential {
    authorization: hyper::header::HeaderValue,
    /// Set when the user holds several roles: the role must then be named.
    several_roles: bool,
}

/// The bangfu service (`bangfu::http::run`: the router, state and middleware
/// `bangfu serve` uses) on 127.0.0.1:0, with one user per workload actor.
pub struct HttpService {
    addr: std::net::SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    users: bangfu::access::users::Users,
    credentials: Arc<BTreeMap<String, Credential>>,
}

impl HttpService {
    /// Adds, through the product's user directory, one user per actor in
    /// `actors` holding the roles they act in, and serves `app` with the
    /// default limits.
    pub async fn start(
        app: Arc<App>,
        users: bangfu::access::users::Users,
        actors: &BTreeMap<String, Vec<Role>>,
    ) -> Result<HttpService, String> {
        let mut credentials = BTreeMap::new();
        for (actor, roles) in actors {
            let id = Code::parse(actor).map_err(|e| format!("user {actor}: {e:?}"))?;
            let token = users
                .add(&id, roles, "bench")
                .await
                .map_err(|e| format!("user {actor}: {e}"))?;
            let authorization =
                hyper::header::HeaderValue::from_str(&format!("Bearer {}", token.expose()))
                    .map_err(|e| e.to_string())?;
            credentials.insert(
                actor.clone(),
                Credential {
                    authorization,
                    several_roles: roles.len() > 1,
                },
            );
        }
        let state =
            bangfu::http::ApiState::new(app, users.clone(), bangfu::http::Limits::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(bangfu::http::run(listener, state, async move {
            let _ = stopped.await;
        }));
        Ok(HttpService {
            addr,
            stop: Some(stop),
            task,
            users,
            credentials: Arc::new(credentials),
        })
    }

    /// Stops accepting, waits for requests in flight and running commands.
    pub async fn stop(mut self) -> Result<(), String> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let served = (&mut self.task).await;
        self.users.close().await;
        served
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())
    }
}

/// The users a set of scripts acts as, with the roles each acts in.
pub fn actors_of(scripts: &[Vec<HttpCommand>]) -> BTreeMap<String, Vec<Role>> {
    let mut out: BTreeMap<String, Vec<Role>> = BTreeMap::new();
    for command in scripts.iter().flatten() {
        let roles = out.entry(command.actor.clone()).or_default();
        if !roles.contains(&command.role) {
            roles.push(command.role);
        }
    }
    out
}

/// One keep-alive HTTP/1.1 connection (hyper's client, TCP_NODELAY as
/// common clients set it).
struct HttpConnection {
    send: hyper::client::conn::http1::SendRequest<http_body_util::Full<hyper::body::Bytes>>,
    host: hyper::header::HeaderValue,
    task: tokio::task::JoinHandle<()>,
}

impl HttpConnection {
    async fn open(addr: std::net::SocketAddr) -> Result<HttpConnection, String> {
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect {addr}: {e}"))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let (send, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(|e| format!("handshake {addr}: {e}"))?;
        let task = tokio::spawn(async move {
            let _ = connection.await;
        });
        let host =
            hyper::header::HeaderValue::from_str(&addr.to_string()).map_err(|e| e.to_string())?;
        Ok(HttpConnection { send, host, task })
    }

    /// Sends `command` and returns the status, whether the service says it
    /// replayed a stored response, and the body. Only this is timed.
    async fn post(
        &mut self,
        command: &HttpCommand,
        credential: &Credential,
    ) -> Result<(hyper::StatusCode, bool, hyper::body::Bytes), String> {
        use http_body_util::BodyExt;
        use hyper::header;
        let mut request = hyper::Request::post(command.path.as_str())
            .header(header::HOST, self.host.clone())
            .header(header::AUTHORIZATION, credential.authorization.clone())
            .header(header::CONTENT_TYPE, "application/json");
        if credential.several_roles {
            request = request.header(bangfu::http::ROLE_HEADER, command.role.as_str());
        }
        if let Some(key) = &command.key {
            request = request.header(bangfu::http::idempotency::HEADER, key.as_str());
        }
        let request = request
            .body(http_body_util::Full::new(command.body.clone()))
            .map_err(|e| e.to_string())?;
        self.send.ready().await.map_err(|e| e.to_string())?;
        let response = self
            .send
            .send_request(request)
            .await
            .map_err(|e| format!("{}: {e}", command.path))?;
        let status = response.status();
        let replayed = response
            .headers()
            .contains_key(bangfu::http::commands::REPLAYED_HEADER);
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("{}: {e}", command.path))?
            .to_bytes();
        Ok((status, replayed, body))
    }
}

impl Drop for HttpConnection {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Checks one response: 200, not a replay, the command's aggregate, and a
/// version that follows the stream's previous one by the events written.
/// Returns the stream's new version.
fn check_response(
    command: &HttpCommand,
    status: hyper::StatusCode,
    replayed: bool,
    body: &[u8],
    previous_version: usize,
) -> Result<usize, String> {
    let refused = || {
        format!(
            "{} {}: HTTP {status}: {}",
            command.aggregate_type,
            command.aggregate_id,
            String::from_utf8_lossy(body)
        )
    };
    if status != hyper::StatusCode::OK || replayed {
        return Err(refused());
    }
    let outcome: bangfu::http::commands::CommandOutcome =
        serde_json::from_slice(body).map_err(|e| format!("{}: {e}", refused()))?;
    let sequences: Vec<usize> = outcome.events.iter().map(|e| e.sequence).collect();
    let expected: Vec<usize> = (previous_version + 1..=outcome.version).collect();
    if outcome.aggregate_type != command.aggregate_type
        || outcome.aggregate_id != command.aggregate_id
        || sequences.is_empty()
        || sequences != expected
    {
        return Err(format!(
            "{}: unexpected outcome after version {previous_version}",
            refused()
        ));
    }
    Ok(outcome.version)
}

/// Runs `scripts` over `connections` (one client each), each client taking
/// the next script from a shared queue, timing each request from send to
/// the last byte of the response. Any refused or unexpected response fails
/// the phase. Gives the connections back for the next slice.
async fn drive_http(
    connections: Vec<HttpConnection>,
    credentials: Arc<BTreeMap<String, Credential>>,
    scripts: Vec<Vec<HttpCommand>>,
) -> Result<(Samples, usize, Vec<HttpConnection>), String> {
    let queue = Arc::new(std::sync::Mutex::new(scripts.into_iter()));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for mut connection in connections {
        let (queue, credentials) = (Arc::clone(&queue), Arc::clone(&credentials));
        tasks.push(tokio::spawn(async move {
            let (mut latencies, mut acknowledged) = (Vec::new(), 0usize);
            loop {
                let next = queue.lock().map_err(|e| e.to_string())?.next();
                let Some(script) = next else { break };
                // Each script is one new stream.
                let mut version = 0;
                for command in &script {
                    let credential = credentials
                        .get(&command.actor)
                        .ok_or_else(|| format!("no user for actor {}", command.actor))?;
                    let t = Instant::now();
                    let (status, replayed, body) = connection.post(command, credential).await?;
                    latencies.push(t.elapsed());
                    version = check_response(command, status, replayed, &body, version)?;
                    acknowledged += 1;
                }
            }
            Ok::<_, String>((latencies, acknowledged, connection))
        }));
    }
    let mut latencies = Vec::new();
    let mut acknowledged = 0;
    let mut connections = Vec::new();
    for task in tasks {
        let (mine, acked, connection) = task.await.map_err(|e| e.to_string())??;
        latencies.extend(mine);
        acknowledged += acked;
        connections.push(connection);
    }
    Ok((
        Samples {
            latencies,
            wall: started.elapsed(),
        },
        acknowledged,
        connections,
    ))
}

/// What the HTTP phase checked, per HTTP variant and client count.
#[derive(Clone, Debug, Serialize)]
pub struct HttpCheck {
    /// Commands sent.
    pub commands: usize,
    /// Answered 200 with the expected aggregate and versions.
    pub acknowledged: usize,
    /// Events the service's store gained during the phase.
    pub events_written: u64,
    /// Events the in-process store gained for the same commands.
    pub inprocess_events_written: u64,
    /// Every touched stream holds the same events as in-process (type,
    /// sequence, payload; times the server stamped itself left out).
    pub same_events_as_inprocess: bool,
}

/// One side of the HTTP phase: an engine (any store) driven in-process or
/// through the service.
pub struct HttpSide {
    /// One of [`HTTP_VARIANTS`].
    pub variant: &'static str,
    pub clients: usize,
    pub app: Arc<App>,
    service: Option<HttpService>,
    connections: Vec<HttpConnection>,
    samples: Samples,
    commands: usize,
    acknowledged: usize,
    events_before: u64,
}

impl HttpSide {
    /// `app` driven through `app::execute`.
    pub async fn in_process(app: Arc<App>, clients: usize) -> Result<HttpSide, String> {
        let events_before = app.store.count_events().await.map_err(|e| e.to_string())?;
        Ok(HttpSide {
            variant: "inprocess",
            clients,
            app,
            service: None,
            connections: Vec::new(),
            samples: Samples::default(),
            commands: 0,
            acknowledged: 0,
            events_before,
        })
    }

    /// `app` served over HTTP with `users` (the directory `bangfu serve`
    /// would use for this store) and `clients` open connections.
    pub async fn over_http(
        app: Arc<App>,
        users: bangfu::access::users::Users,
        clients: usize,
        idempotent: bool,
        actors: &BTreeMap<String, Vec<Role>>,
    ) -> Result<HttpSide, String> {
        let events_before = app.store.count_events().await.map_err(|e| e.to_string())?;
        let service = HttpService::start(Arc::clone(&app), users, actors).await?;
        let mut connections = Vec::with_capacity(clients);
        for _ in 0..clients {
            connections.push(HttpConnection::open(service.addr).await?);
        }
        Ok(HttpSide {
            variant: if idempotent {
                "http_idempotent"
            } else {
                "http"
            },
            clients,
            app,
            service: Some(service),
            connections,
            samples: Samples::default(),
            commands: 0,
            acknowledged: 0,
            events_before,
        })
    }

    fn idempotent(&self) -> bool {
        self.variant == "http_idempotent"
    }
}

/// The streams `scripts` write to.
fn streams_of(scripts: &[Vec<Command>]) -> Vec<(&'static str, String)> {
    let mut out: Vec<(&'static str, String)> = scripts
        .iter()
        .flatten()
        .map(|c| match c {
            Command::File(id, _) => (<HardshipFile as cqrs_es::Aggregate>::TYPE, id.clone()),
            Command::Plan(id, _) => (<MutualAidPlan as cqrs_es::Aggregate>::TYPE, id.clone()),
            Command::Claim(id, _) => (<MutualAidClaim as cqrs_es::Aggregate>::TYPE, id.clone()),
            Command::Campaign(id, _) => {
                (<DonationCampaign as cqrs_es::Aggregate>::TYPE, id.clone())
            }
            Command::Fund(id, _) => (<FundAccount as cqrs_es::Aggregate>::TYPE, id.clone()),
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// A stream's events as the comparison sees them: type, sequence and
/// payload, without the `…_at` times each side stamps from its own clock
/// (in-process: the generator's; over HTTP: the server's).
async fn stream_events(
    app: &App,
    kind: &str,
    id: &str,
) -> Result<Vec<(usize, String, Value)>, String> {
    fn strip_times(value: &mut Value) {
        match value {
            Value::Object(map) => {
                map.retain(|k, _| !k.ends_with("_at"));
                map.values_mut().for_each(strip_times);
            }
            Value::Array(items) => items.iter_mut().for_each(strip_times),
            _ => {}
        }
    }
    let history = app
        .store
        .history(kind, id)
        .await
        .map_err(|e| e.to_string())?;
    Ok(history
        .into_iter()
        .map(|mut e| {
            strip_times(&mut e.payload);
            (e.sequence, e.event_type, e.payload)
        })
        .collect())
}

/// The HTTP phase on `sides` (built by the caller over any store: in-process
/// and HTTP variants, at one or more client counts): the households
/// `measured`, in [`WRITE_SLICES`] slices, every side writing each slice
/// before any writes the next. Afterwards every HTTP side's streams are
/// compared with the in-process side's at the same client count; a
/// difference fails the phase. Returns the figures (`{variant}.clients_{n}`),
/// the p50 and rate ratios against in-process, and the checks; the sides'
/// services are stopped, their stores left open for the caller.
pub async fn http_interleaved(
    sides: &mut [HttpSide],
    generator: &Generator,
    measured: std::ops::Range<usize>,
) -> Result<
    (
        BTreeMap<String, Throughput>,
        BTreeMap<String, f64>,
        BTreeMap<String, HttpCheck>,
    ),
    String,
> {
    let households: Vec<usize> = measured.collect();
    let per_slice = households.len().div_ceil(WRITE_SLICES).max(1);
    for slice in households.chunks(per_slice) {
        for side in sides.iter_mut() {
            // Generated and serialised before the clock starts.
            let scripts: Vec<Vec<Command>> =
                slice.iter().map(|&h| generator.household(h)).collect();
            let commands: usize = scripts.iter().map(Vec::len).sum();
            match &side.service {
                None => {
                    let samples =
                        drive_samples(Arc::clone(&side.app), scripts, side.clients).await?;
                    side.samples.add(samples);
                }
                Some(service) => {
                    let requests = scripts
                        .iter()
                        .map(|s| {
                            s.iter()
                                .map(|c| HttpCommand::of(c, side.idempotent()))
                                .collect::<Result<Vec<_>, _>>()
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    let connections = std::mem::take(&mut side.connections);
                    let (samples, acknowledged, connections) =
                        drive_http(connections, Arc::clone(&service.credentials), requests)
                            .await
                            .map_err(|e| {
                                format!("{} {} client(s): {e}", side.variant, side.clients)
                            })?;
                    side.connections = connections;
                    side.samples.add(samples);
                    side.acknowledged += acknowledged;
                }
            }
            side.commands += commands;
        }
    }
    let scripts: Vec<Vec<Command>> = households.iter().map(|&h| generator.household(h)).collect();
    let streams = streams_of(&scripts);
    let mut figures = BTreeMap::new();
    let mut written = BTreeMap::new();
    for side in sides.iter_mut() {
        if let Some(service) = side.service.take() {
            side.connections.clear();
            service.stop().await?;
        }
        let after = side
            .app
            .store
            .count_events()
            .await
            .map_err(|e| e.to_string())?;
        written.insert((side.variant, side.clients), after - side.events_before);
        let samples = std::mem::take(&mut side.samples);
        figures.insert(
            format!("{}.clients_{}", side.variant, side.clients),
            samples.throughput(side.clients),
        );
    }
    let mut checks = BTreeMap::new();
    for side in sides.iter().filter(|s| s.variant != "inprocess") {
        let reference = sides
            .iter()
            .find(|s| s.variant == "inprocess" && s.clients == side.clients)
            .ok_or_else(|| format!("no in-process side at {} client(s)", side.clients))?;
        for (kind, id) in &streams {
            let (mine, theirs) = (
                stream_events(&side.app, kind, id).await?,
                stream_events(&reference.app, kind, id).await?,
            );
            if mine != theirs {
                return Err(format!(
                    "{} {} client(s): {kind} {id} holds other events than in-process ({} vs {})",
                    side.variant,
                    side.clients,
                    mine.len(),
                    theirs.len()
                ));
            }
        }
        let (events, reference_events) = (
            written[&(side.variant, side.clients)],
            written[&("inprocess", side.clients)],
        );
        if events != reference_events {
            return Err(format!(
                "{} {} client(s) wrote {events} events, in-process {reference_events}",
                side.variant, side.clients
            ));
        }
        checks.insert(
            format!("{}.clients_{}", side.variant, side.clients),
            HttpCheck {
                commands: side.commands,
                acknowledged: side.acknowledged,
                events_written: events,
                inprocess_events_written: reference_events,
                same_events_as_inprocess: true,
            },
        );
    }
    let mut ratios = BTreeMap::new();
    for (key, t) in &figures {
        let Some((variant, clients)) = key.split_once('.') else {
            continue;
        };
        if variant == "inprocess" {
            continue;
        }
        if let Some(reference) = figures.get(&format!("inprocess.{clients}")) {
            ratio(
                &mut ratios,
                &format!("{variant}_over_inprocess.p50.{clients}"),
                Some(t.latency_ms_p50),
                Some(reference.latency_ms_p50),
            );
            ratio(
                &mut ratios,
                &format!("{variant}_over_inprocess.rate.{clients}"),
                Some(t.per_second),
                Some(reference.per_second),
            );
        }
    }
    Ok((figures, ratios, checks))
}

/// Where the HTTP phase's sides live: a fresh copy of the populated store
/// each.
pub enum HttpStores<'a> {
    /// Copies of the frozen SQLite file; the service's users live in the
    /// copy, as `bangfu serve`'s do.
    Sqlite {
        /// The frozen file.
        populated: &'a Path,
    },
    /// `CREATE DATABASE … TEMPLATE` copies; the service's users in a SQLite
    /// file beside them — where `bangfu serve --store postgres://…` keeps
    /// them (its `--db`). Figures are keyed `postgres.…`.
    Postgres {
        /// The server.
        server: &'a PgServer,
        /// The populated database.
        populated: &'a str,
        /// Names a bench database.
        db: &'a dyn Fn(&str) -> String,
    },
}

/// One side's copy, to remove afterwards.
enum SideCopy {
    File(PathBuf),
    Database(String, PathBuf),
}

impl HttpStores<'_> {
    /// A fresh copy named `name`: the app over it, and the users file.
    async fn copy(
        &self,
        dir: &Path,
        name: &str,
        copies: &mut Vec<SideCopy>,
    ) -> Result<(Arc<App>, PathBuf), String> {
        match self {
            HttpStores::Sqlite { populated } => {
                let path = db_path(dir, name);
                remove_db(&path);
                copies.push(SideCopy::File(path.clone()));
                copy_db(populated, &path)?;
                let app = Arc::new(App::open(&path).await.map_err(|e| e.to_string())?);
                Ok((app, path))
            }
            HttpStores::Postgres {
                server,
                populated,
                db,
            } => {
                let copy = db(&format!("http_{name}"));
                let users = db_path(dir, &format!("pg_users_{name}"));
                remove_db(&users);
                copies.push(SideCopy::Database(copy.clone(), users.clone()));
                pg_copy(server, populated, &copy).await?;
                let app = Arc::new(App::on(pg_store(server, &copy).await?));
                Ok((app, users))
            }
        }
    }

    async fn remove(&self, copy: SideCopy) -> Result<(), String> {
        match (self, copy) {
            (_, SideCopy::File(path)) => remove_db(&path),
            (HttpStores::Postgres { server, .. }, SideCopy::Database(name, users)) => {
                pg_drop(server, &name).await?;
                remove_db(&users);
            }
            (HttpStores::Sqlite { .. }, SideCopy::Database(..)) => {}
        }
        Ok(())
    }

    fn key(&self, k: String) -> String {
        match self {
            HttpStores::Sqlite { .. } => k,
            HttpStores::Postgres { .. } => format!("postgres.{k}"),
        }
    }
}

/// The HTTP phase: per client count in [`HTTP_CLIENTS`], one fresh copy of
/// the populated store per variant in [`HTTP_VARIANTS`] that `wanted`
/// accepts (named `{variant}{clients}`: `http1`, `inprocess16`, …; an HTTP
/// side needs its in-process side), driven by [`http_interleaved`].
async fn http_phase(
    stores: HttpStores<'_>,
    dir: &Path,
    generator: &Generator,
    measured: std::ops::Range<usize>,
    wanted: &dyn Fn(&str) -> bool,
) -> Result<
    (
        BTreeMap<String, Throughput>,
        BTreeMap<String, f64>,
        BTreeMap<String, HttpCheck>,
    ),
    String,
> {
    let requests: Vec<Vec<HttpCommand>> = measured
        .clone()
        .map(|h| {
            generator
                .household(h)
                .iter()
                .map(|c| HttpCommand::of(c, false))
                .collect::<Result<Vec<_>, _>>()
        })
        .collect::<Result<_, _>>()?;
    let actors = actors_of(&requests);
    let mut sides = Vec::new();
    let mut copies = Vec::new();
    let mut opened: Result<(), String> = Ok(());
    'sides: for clients in HTTP_CLIENTS {
        for variant in HTTP_VARIANTS {
            let name = format!("{variant}{clients}");
            if !wanted(&name) {
                continue;
            }
            let side = async {
                let (app, users_file) = stores.copy(dir, &name, &mut copies).await?;
                match variant {
                    "inprocess" => HttpSide::in_process(app, clients).await,
                    _ => {
                        let users = bangfu::access::users::Users::open(&users_file)
                            .await
                            .map_err(|e| e.to_string())?;
                        HttpSide::over_http(
                            app,
                            users,
                            clients,
                            variant == "http_idempotent",
                            &actors,
                        )
                        .await
                    }
                }
            }
            .await;
            match side {
                Ok(side) => sides.push(side),
                Err(e) => {
                    opened = Err(e);
                    break 'sides;
                }
            }
        }
    }
    let result = match opened {
        Ok(()) => http_interleaved(&mut sides, generator, measured).await,
        Err(e) => Err(e),
    };
    for side in sides {
        side.app.store.close().await;
    }
    for copy in copies {
        stores.remove(copy).await?;
    }
    let (figures, ratios, checks) = result?;
    Ok((
        figures
            .into_iter()
            .map(|(k, v)| (stores.key(k), v))
            .collect(),
        ratios
            .into_iter()
            .map(|(k, v)| (stores.key(k), v))
            .collect(),
        checks
            .into_iter()
            .map(|(k, v)| (stores.key(k), v))
            .collect(),
    ))
}

/// Runs the userpath phase on `stores` into `result`, reporting each figure.
async fn userpath_run(
    config: &Config,
    stores: HttpStores<'_>,
    generator: &Generator,
    measured: std::ops::Range<usize>,
    run_no: usize,
    result: &mut RunResult,
    progress: &mut dyn FnMut(String),
) -> Result<(), String> {
    // `--variants` may pick sides (`user_inprocess1,user_http_idempotent1`);
    // without any, all of them run.
    let named = config.variants.iter().any(|v| v.starts_with("user_"));
    let wanted = |side: &str| !named || config.variants.iter().any(|v| v == side);
    let (figures, ratios, checks, cache) =
        userpath_phase(stores, &config.dir, generator, measured, &wanted).await?;
    for (k, t) in &figures {
        progress(format!(
            "run {run_no} {k}: {:.0}/s, p50 {:.2} ms, p99 {:.2} ms, max {:.1} ms, {} commands",
            t.per_second, t.latency_ms_p50, t.latency_ms_p99, t.latency_ms_max, t.commands
        ));
    }
    for (k, c) in &cache {
        progress(format!(
            "run {run_no} {k}: file cache {} hits, {} misses, hit rate {:.3} ({} streams cached at most, {} households)",
            c.hits, c.misses, c.hit_rate, c.capacity, c.households
        ));
    }
    for (k, v) in &ratios {
        progress(format!("run {run_no} ratio {k}: {v:.2}"));
    }
    result.write.extend(figures);
    result.ratios.extend(ratios);
    result.http_checks.extend(checks);
    result.userpath_cache.extend(cache);
    Ok(())
}

/// Times `loads` calls of `load` and returns the rate.
async fn time_loads<F, Fut>(loads: usize, mut load: F) -> Result<LoadRate, String>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let mut latencies = Vec::with_capacity(loads);
    let started = Instant::now();
    for i in 0..loads {
        let t = Instant::now();
        load(i).await?;
        latencies.push(t.elapsed());
    }
    let wall = started.elapsed();
    let t = Throughput::from(latencies, 1, wall);
    Ok(LoadRate {
        loads,
        per_second: t.per_second,
        latency_ms_p50: t.latency_ms_p50,
        latency_ms_p99: t.latency_ms_p99,
    })
}

async fn load_phase(
    path: &Path,
    generator: &Generator,
    scale: &Scale,
) -> Result<BTreeMap<String, LoadRate>, String> {
    let store = SqliteStore::open(path, domain::reservations_of)
        .await
        .map_err(|e| e.to_string())?;
    load_on(AnyStore::from(store), generator, scale).await
}

/// The load phase on an open store (closed at the end).
async fn load_on(
    store: AnyStore,
    generator: &Generator,
    scale: &Scale,
) -> Result<BTreeMap<String, LoadRate>, String> {
    let mut out = BTreeMap::new();
    let n = scale.loads;
    let households = scale.households.max(1);

    // Files: from the store every time (no cache), and through a warm cache.
    let cold: Engine<HardshipFile> = Engine::new(store.clone(), noop_file_services(&store), None);
    let mut rng = Rng::new(generator.seed ^ 0x10AD);
    out.insert(
        "file.store".into(),
        time_loads(n, |_| {
            let id = generator.file_id(rng.below(households));
            let cold = &cold;
            async move { cold.load(&id).await.map(drop).map_err(e) }
        })
        .await?,
    );
    let warm: Engine<HardshipFile> =
        Engine::new(store.clone(), noop_file_services(&store), None).with_cache(n);
    for i in 0..n.min(households) {
        warm.load_shared(&generator.file_id(i)).await.map_err(e)?;
    }
    out.insert(
        "file.cached".into(),
        time_loads(n, |i| {
            let id = generator.file_id(i % households.min(n).max(1));
            let warm = &warm;
            async move { warm.load_shared(&id).await.map(drop).map_err(e) }
        })
        .await?,
    );

    // Plans: the 14,000-member period and a freshly opened one, each from the
    // snapshot (no cache), through the cache shared (no copy), and through
    // the cache as an owned copy (`Engine::load`). Big and fresh alternate,
    // load by load, so both see the same machine.
    let plan_loads = (n / 10).max(5);
    let (big, fresh) = (generator.plan_id(), generator.fresh_plan_id());
    let cold: Engine<MutualAidPlan> =
        Engine::new(store.clone(), (), Some(app::PLAN_SNAPSHOT_EVERY));
    let warm: Engine<MutualAidPlan> =
        Engine::new(store.clone(), (), Some(app::PLAN_SNAPSHOT_EVERY)).with_cache(4);
    warm.load_shared(&big).await.map_err(e)?;
    warm.load_shared(&fresh).await.map_err(e)?;
    for (kind, loads) in [
        ("snapshot", plan_loads),
        ("cached_shared", n),
        ("cached_owned", plan_loads),
    ] {
        let mut samples = [Vec::with_capacity(loads), Vec::with_capacity(loads)];
        let mut walls = [Duration::ZERO; 2];
        for _ in 0..loads {
            for (side, id) in [&big, &fresh].into_iter().enumerate() {
                let t = Instant::now();
                match kind {
                    "snapshot" => cold.load(id).await.map(drop).map_err(e)?,
                    "cached_shared" => warm.load_shared(id).await.map(drop).map_err(e)?,
                    _ => warm.load(id).await.map(drop).map_err(e)?,
                }
                let took = t.elapsed();
                samples[side].push(took);
                walls[side] += took;
            }
        }
        for (side, label) in ["plan.big", "plan.fresh"].into_iter().enumerate() {
            let t = Throughput::from(std::mem::take(&mut samples[side]), 1, walls[side]);
            out.insert(
                format!("{label}.{kind}"),
                LoadRate {
                    loads,
                    per_second: t.per_second,
                    latency_ms_p50: t.latency_ms_p50,
                    latency_ms_p99: t.latency_ms_p99,
                },
            );
        }
    }
    store.close().await;
    Ok(out)
}

fn e<E: std::error::Error>(error: bangfu::app::engine::ExecError<E>) -> String {
    error.to_string()
}

/// File loads need no services; the engine's type still wants one.
fn noop_file_services(store: &AnyStore) -> Arc<dyn domain::hardship::HardshipFileServices> {
    Arc::new(bangfu::app::services::StoreServices::new(store.clone()))
}

fn ratio(out: &mut BTreeMap<String, f64>, name: &str, num: Option<f64>, den: Option<f64>) {
    if let (Some(n), Some(d)) = (num, den) {
        if d > 0.0 {
            out.insert(name.to_string(), n / d);
        }
    }
}

/// The SQLite phases of [`run`]: populate, then `runs` × write, load, rebuild.
async fn run_sqlite(config: &Config, progress: &mut dyn FnMut(String)) -> Result<Report, String> {
    let scale = &config.scale;
    let generator = Generator::new(config.seed, &scale.name);
    std::fs::create_dir_all(&config.dir).map_err(|e| e.to_string())?;
    let populated = db_path(&config.dir, "populated");
    remove_db(&populated);

    // ---- populate
    let mut populate = BTreeMap::new();
    let app = Arc::new(App::open(&populated).await.map_err(|e| e.to_string())?);
    let step = |name: &str, t: &Throughput, progress: &mut dyn FnMut(String)| {
        progress(format!(
            "populate {name}: {} commands, {} clients, {:.0}/s, p50 {:.2} ms, p99 {:.2} ms, max {:.1} ms, batches {:?}",
            t.commands, t.clients, t.per_second, t.latency_ms_p50, t.latency_ms_p99, t.latency_ms_max, t.batches
        ))
    };
    let with_batches = |mut t: Throughput, before: u64, app: &App| {
        t.batches = Some(
            app.store
                .as_sqlite()
                .expect("the SQLite phases run on SQLite")
                .write_stats()
                .batches
                - before,
        );
        t
    };
    // Money first: the store refuses approvals a fund cannot cover.
    drive(Arc::clone(&app), vec![generator.funding(scale)], 1).await?;
    // Households are generated by the clients as they go (a province's would
    // not fit in memory at once): one script per household, built lazily.
    let before = app
        .store
        .as_sqlite()
        .expect("the SQLite phases run on SQLite")
        .write_stats()
        .batches;
    let households =
        drive_lazy(Arc::clone(&app), &generator, scale.households, MANY_CLIENTS).await?;
    let households = with_batches(households, before, &app);
    step("households", &households, progress);
    populate.insert("households".to_string(), households);

    let before = app
        .store
        .as_sqlite()
        .expect("the SQLite phases run on SQLite")
        .write_stats()
        .batches;
    let plan = drive(Arc::clone(&app), vec![generator.plan(scale)], 1).await?;
    let plan = with_batches(plan, before, &app);
    step("plan", &plan, progress);
    populate.insert("plan_enrolment".to_string(), plan);

    let before = app
        .store
        .as_sqlite()
        .expect("the SQLite phases run on SQLite")
        .write_stats()
        .batches;
    let claims: Vec<Vec<Command>> = (0..scale.claims)
        .map(|c| generator.claim(scale, c))
        .collect();
    let claims = drive(Arc::clone(&app), claims, MANY_CLIENTS).await?;
    let claims = with_batches(claims, before, &app);
    step("claims", &claims, progress);
    populate.insert("claims".to_string(), claims);

    let before = app
        .store
        .as_sqlite()
        .expect("the SQLite phases run on SQLite")
        .write_stats()
        .batches;
    let mut campaign = vec![generator.campaign_launch()];
    campaign.extend((0..scale.donations).map(|d| generator.donation(d)));
    let campaign = drive(Arc::clone(&app), vec![campaign], 1).await?;
    let campaign = with_batches(campaign, before, &app);
    step("campaign", &campaign, progress);
    populate.insert("campaign".to_string(), campaign);

    let events_after_populate = app.store.count_events().await.map_err(|e| e.to_string())?;
    app.store.close().await;
    drop(app);
    let frozen = config.dir.join("populated").join("frozen.db");
    freeze(&populated, &frozen).await?;
    let database_bytes_after_populate = std::fs::metadata(&frozen).map(|m| m.len()).unwrap_or(0);
    progress(format!(
        "populated: {events_after_populate} events, {:.1} MB",
        database_bytes_after_populate as f64 / 1e6
    ));

    // ---- write and load, `runs` times
    let measured = scale.households..scale.households + scale.measured_households;
    let wants = |v: &str| config.variants.iter().any(|x| x == v);
    let mut runs = Vec::new();
    for run_no in 0..config.runs {
        let mut result = RunResult::default();
        if config.phases.iter().any(|p| p == "write") {
            let sides: Vec<(usize, bool)> = [1, MANY_CLIENTS]
                .into_iter()
                .filter(|c| wants(&format!("engine{c}")) || wants(&format!("baseline{c}")))
                .map(|c| (c, wants(&format!("baseline{c}"))))
                .collect();
            let written =
                interleaved_write(&frozen, &config.dir, &generator, measured.clone(), &sides)
                    .await?;
            for (clients, engine, base) in written {
                progress(format!(
                    "run {run_no} engine {clients} client(s): {:.0}/s, p50 {:.2} ms, p99 {:.2} ms, max {:.1} ms, {} commands in {:?} batches",
                    engine.per_second, engine.latency_ms_p50, engine.latency_ms_p99, engine.latency_ms_max, engine.commands, engine.batches
                ));
                result
                    .write
                    .insert(format!("engine.clients_{clients}"), engine);
                if let Some(t) = base {
                    progress(format!(
                        "run {run_no} baseline {clients} client(s): {:.0}/s, p50 {:.2} ms, p99 {:.2} ms, max {:.1} ms",
                        t.per_second, t.latency_ms_p50, t.latency_ms_p99, t.latency_ms_max
                    ));
                    result
                        .write
                        .insert(format!("baseline.clients_{clients}"), t);
                }
            }
            let rate = |k: &str| result.write.get(k).map(|t| t.per_second);
            let mut ratios = BTreeMap::new();
            for c in [1, MANY_CLIENTS] {
                ratio(
                    &mut ratios,
                    &format!("engine_over_baseline.clients_{c}"),
                    rate(&format!("engine.clients_{c}")),
                    rate(&format!("baseline.clients_{c}")),
                );
            }
            ratio(
                &mut ratios,
                "engine_8_over_engine_1",
                rate("engine.clients_8"),
                rate("engine.clients_1"),
            );
            for (k, v) in &ratios {
                progress(format!("run {run_no} ratio {k}: {v:.2}"));
            }
            result.ratios = ratios;
        }
        if config.phases.iter().any(|p| p == "http") {
            // `--variants` may pick HTTP sides (e.g. `inprocess1,http1`, to
            // profile one by difference); without any, all of them run.
            let named = config
                .variants
                .iter()
                .any(|v| HTTP_VARIANTS.iter().any(|h| v.starts_with(h)));
            let wanted = |side: &str| !named || wants(side);
            let (figures, ratios, checks) = http_phase(
                HttpStores::Sqlite { populated: &frozen },
                &config.dir,
                &generator,
                measured.clone(),
                &wanted,
            )
            .await?;
            for (k, t) in &figures {
                progress(format!(
                    "run {run_no} {k}: {:.0}/s, p50 {:.2} ms, p99 {:.2} ms, max {:.1} ms, {} commands",
                    t.per_second, t.latency_ms_p50, t.latency_ms_p99, t.latency_ms_max, t.commands
                ));
            }
            for (k, v) in &ratios {
                progress(format!("run {run_no} ratio {k}: {v:.2}"));
            }
            result.write.extend(figures);
            result.ratios.extend(ratios);
            result.http_checks = checks;
        }
        if config.phases.iter().any(|p| p == "userpath") {
            let stores = HttpStores::Sqlite { populated: &frozen };
            userpath_run(
                config,
                stores,
                &generator,
                measured.clone(),
                run_no,
                &mut result,
                progress,
            )
            .await?;
        }
        if config.phases.iter().any(|p| p == "load") {
            result.load = load_phase(&populated, &generator, scale).await?;
            for (k, v) in &result.load {
                progress(format!(
                    "run {run_no} load {k}: {:.0}/s, p50 {:.3} ms, p99 {:.3} ms",
                    v.per_second, v.latency_ms_p50, v.latency_ms_p99
                ));
            }
            let p50 = |k: &str| result.load.get(k).map(|l| l.latency_ms_p50);
            for kind in ["snapshot", "cached_shared", "cached_owned"] {
                ratio(
                    &mut result.ratios,
                    &format!("plan_big_over_fresh.{kind}"),
                    p50(&format!("plan.big.{kind}")),
                    p50(&format!("plan.fresh.{kind}")),
                );
            }
        }
        if config.phases.iter().any(|p| p == "rebuild") {
            let copy = db_path(&config.dir, "rebuild");
            remove_db(&copy);
            copy_db(&frozen, &copy)?;
            let figures = match &config.rebuild_exe {
                Some(exe) => rebuild_child(exe, "--rebuild-file", &copy)?,
                None => rebuild_file(&copy).await?,
            };
            remove_db(&copy);
            progress(format!(
                "run {run_no} rebuild: {} events in {:.2} s, {:.0} events/s, peak RSS {:.1} MB ({})",
                figures.events,
                figures.seconds,
                figures.events_per_second,
                figures.peak_rss_kb as f64 / 1024.0,
                if figures.own_process { "own process" } else { "includes populate" }
            ));
            result.rebuild = Some(figures);
        }
        runs.push(result);
    }
    if !config.keep {
        remove_db(&populated);
    }
    Ok(Report {
        scale: scale.clone(),
        seed: config.seed,
        events_after_populate,
        database_bytes_after_populate,
        populate,
        runs,
        pending: Vec::new(),
        postgres: None,
    })
}

/// Rebuilds every view into scratch on the database at `path` (which it
/// changes: run it on a copy) and measures it in this process.
pub async fn rebuild_file(path: &Path) -> Result<Rebuild, String> {
    let store = SqliteStore::open(path, domain::reservations_of)
        .await
        .map_err(|e| e.to_string())?;
    rebuild_store(AnyStore::from(store)).await
}

/// Times `Projector::rebuild_scratch` — every view rebuilt into scratch from
/// position zero — on `store`, then closes it.
async fn rebuild_store(store: AnyStore) -> Result<Rebuild, String> {
    let started = Instant::now();
    let stats = bangfu::projector::Projector::for_store(&store)
        .rebuild_scratch(&|_, _| {})
        .await
        .map_err(|e| e.to_string())?;
    let seconds = started.elapsed().as_secs_f64();
    store.close().await;
    Ok(Rebuild {
        events: stats.events,
        seconds,
        events_per_second: stats.events as f64 / seconds.max(1e-9),
        peak_rss_kb: peak_rss_kb(),
        own_process: false,
    })
}

/// `VmHWM` (peak resident set) of this process, in kB; 0 where unreadable.
pub fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// [`drive`] for households generated on the clients as they are taken.
async fn drive_lazy(
    app: Arc<App>,
    generator: &Generator,
    households: usize,
    clients: usize,
) -> Result<Throughput, String> {
    let next = Arc::new(AtomicUsize::new(0));
    let generator = Arc::new(Generator::new(generator.seed, &generator.tag));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (app, next, generator) = (Arc::clone(&app), Arc::clone(&next), Arc::clone(&generator));
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let h = next.fetch_add(1, Ordering::Relaxed);
                if h >= households {
                    break;
                }
                for command in generator.household(h) {
                    let t = Instant::now();
                    app.execute(command).await?;
                    latencies.push(t.elapsed());
                }
            }
            Ok::<_, String>(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.map_err(|e| e.to_string())??);
    }
    Ok(Throughput::from(latencies, clients, started.elapsed()))
}

// ---------------------------------------------------------------- PostgreSQL
//
// The same phases on PgStore, through `App` over `AnyStore::Postgres` and the
// same `app::execute` path, on a server the caller provides (the bench's
// throwaway cluster, or the tests'; see tests/it/pg.rs). Each phase works on
// its own database: the populated one is "frozen" by using it as a template —
// `CREATE DATABASE copy TEMPLATE populated` (STRATEGY FILE_COPY: a checkpoint,
// then a file-level copy of the database's directory, about as cheap as the
// SQLite file copy and WAL-logged as one record, so it is as durable as
// anything else on the server).

/// A PostgreSQL server the PostgreSQL phases may create and drop databases on.
#[derive(Clone)]
pub struct PgServer {
    /// URL of a database to run CREATE/DROP DATABASE from.
    pub admin_url: String,
    /// The URL of database `name`.
    pub url_of: Arc<dyn Fn(&str) -> String + Send + Sync>,
    /// Names of the databases made here start with this (unique per process).
    pub prefix: String,
}

impl std::fmt::Debug for PgServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgServer")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// Whether and where the PostgreSQL phases run.
#[derive(Clone, Debug)]
pub enum Postgres {
    /// Not asked for (`--store sqlite`).
    #[allow(dead_code)] // Built by the bench's command line, not by the test.
    Off,
    /// Asked for, but no server could be had: why.
    Unavailable(String),
    /// On this server.
    On(PgServer),
}

/// What the PostgreSQL populate phase made, and on what.
#[derive(Clone, Debug, Serialize)]
pub struct PgPopulated {
    pub events_after_populate: u64,
    pub database_bytes_after_populate: u64,
    pub server_version: String,
    /// The settings that decide durability and caching, as the server reports them.
    pub settings: BTreeMap<String, String>,
}

/// Settings recorded with the figures.
const PG_SETTINGS_REPORTED: &[&str] = &[
    "fsync",
    "synchronous_commit",
    "full_page_writes",
    "wal_sync_method",
    "wal_level",
    "commit_delay",
    "shared_buffers",
    "max_wal_size",
    "checkpoint_timeout",
    "max_connections",
    "track_wal_io_timing",
];

/// Copies of the populated database the phases make (dropped when done).
const PG_COPIES: &[&str] = &["engine1", "baseline1", "engine8", "baseline8", "rebuild"];

/// Runs the configured phases on the configured stores. `progress` receives
/// one line per finished step. PostgreSQL that cannot be had, or fails, is
/// reported in `pending` ("not run: …"); the SQLite figures stand.
pub async fn run(config: &Config, progress: &mut dyn FnMut(String)) -> Result<Report, String> {
    let mut report = if config.sqlite {
        run_sqlite(config, progress).await?
    } else {
        Report {
            scale: config.scale.clone(),
            seed: config.seed,
            events_after_populate: 0,
            database_bytes_after_populate: 0,
            populate: BTreeMap::new(),
            runs: vec![RunResult::default(); config.runs],
            pending: vec![("sqlite.*".into(), "not run: --store postgres".into())],
            postgres: None,
        }
    };
    match &config.postgres {
        Postgres::Off => report
            .pending
            .push(("postgres.*".into(), "not run: --store sqlite".into())),
        Postgres::Unavailable(reason) => report
            .pending
            .push(("postgres.*".into(), format!("not run: {reason}"))),
        Postgres::On(server) => {
            if let Err(e) = run_postgres(config, server, &mut report, progress).await {
                progress(format!("postgres phases FAILED: {e}"));
                report
                    .pending
                    .push(("postgres.*".into(), format!("failed: {e}")));
            }
        }
    }
    Ok(report)
}

/// One statement on the server's admin database (CREATE/DROP DATABASE
/// cannot run inside a transaction, so not on a pool's).
async fn pg_admin(server: &PgServer, sql: &str) -> Result<(), String> {
    use sqlx::Connection;
    let mut admin = sqlx::PgConnection::connect(&server.admin_url)
        .await
        .map_err(|e| format!("cannot connect to the PostgreSQL server: {e}"))?;
    let done = sqlx::query(sql)
        .execute(&mut admin)
        .await
        .map(drop)
        .map_err(|e| format!("{sql}: {e}"));
    admin.close().await.ok();
    done
}

/// A fresh copy of database `from` (no connection may be open on it).
async fn pg_copy(server: &PgServer, from: &str, to: &str) -> Result<(), String> {
    pg_drop(server, to).await?;
    let sql = format!("CREATE DATABASE \"{to}\" TEMPLATE \"{from}\" STRATEGY FILE_COPY");
    // A closed pool's server processes exit a moment after it closes; on a
    // loaded machine that can outlast the 5 s PostgreSQL itself waits for
    // them ("being accessed by other users"), so wait a little longer.
    let mut attempts = 0;
    loop {
        match pg_admin(server, &sql).await {
            Err(e) if e.contains("is being accessed by other users") && attempts < 5 => {
                attempts += 1;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) if e.contains("is being accessed by other users") => {
                return Err(format!(
                    "{e}; sessions on it: {}",
                    pg_sessions(server, from).await
                ));
            }
            done => return done,
        }
    }
}

/// The sessions open on database `name`, for an error message.
async fn pg_sessions(server: &PgServer, name: &str) -> String {
    use sqlx::Connection;
    let Ok(mut admin) = sqlx::PgConnection::connect(&server.admin_url).await else {
        return "(cannot connect to ask)".into();
    };
    // pid, backend type, state, start of the last query.
    type Session = (i32, Option<String>, Option<String>, Option<String>);
    let sessions: Vec<Session> = sqlx::query_as(
        "SELECT pid, backend_type, state, left(query, 80) FROM pg_stat_activity WHERE datname = $1",
    )
    .bind(name)
    .fetch_all(&mut admin)
    .await
    .unwrap_or_default();
    admin.close().await.ok();
    format!("{sessions:?}")
}

async fn pg_drop(server: &PgServer, name: &str) -> Result<(), String> {
    pg_admin(
        server,
        &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
    )
    .await
}

async fn pg_store(server: &PgServer, database: &str) -> Result<bangfu::store::PgStore, String> {
    bangfu::store::PgStore::open(&(server.url_of)(database), domain::reservations_of)
        .await
        .map_err(|e| format!("cannot open PostgreSQL database {database}: {e}"))
}

fn pg_pool_of(app: &App) -> Result<sqlx::PgPool, String> {
    app.store
        .as_postgres()
        .map(|s| s.pool().clone())
        .ok_or_else(|| "the PostgreSQL phases run on PgStore".to_string())
}

async fn pg_max_position(pool: &sqlx::PgPool) -> Result<i64, String> {
    sqlx::query_scalar("SELECT COALESCE(MAX(position), 0) FROM events")
        .fetch_one(pool)
        .await
        .map_err(|e| e.to_string())
}

async fn pg_count(pool: &sqlx::PgPool) -> Result<i64, String> {
    sqlx::query_scalar("SELECT COUNT(*) FROM events")
        .fetch_one(pool)
        .await
        .map_err(|e| e.to_string())
}

/// The PostgreSQL phases, their figures under `postgres.*` keys of `report`.
async fn run_postgres(
    config: &Config,
    server: &PgServer,
    report: &mut Report,
    progress: &mut dyn FnMut(String),
) -> Result<(), String> {
    let db = |name: &str| format!("{}_bench_{name}", server.prefix);
    let populated = db("populated");
    pg_drop(server, &populated).await?;
    pg_admin(server, &format!("CREATE DATABASE \"{populated}\"")).await?;
    let result = pg_phases(config, server, &populated, &db, report, progress).await;
    // Whatever happened, leave no database behind.
    for copy in PG_COPIES {
        let _ = pg_drop(server, &db(copy)).await;
    }
    if !config.keep {
        let _ = pg_drop(server, &populated).await;
    }
    result
}

async fn pg_phases(
    config: &Config,
    server: &PgServer,
    populated: &str,
    db: &dyn Fn(&str) -> String,
    report: &mut Report,
    progress: &mut dyn FnMut(String),
) -> Result<(), String> {
    let scale = &config.scale;
    let generator = Generator::new(config.seed, &scale.name);

    // ---- populate: the same data set, the same clients, as on SQLite.
    let app = Arc::new(App::on(pg_store(server, populated).await?));
    let mut step = |name: &str, t: Throughput, progress: &mut dyn FnMut(String)| {
        progress(format!(
            "postgres populate {name}: {} commands, {} clients, {:.0}/s, p50 {:.2} ms, p99 {:.2} ms, max {:.1} ms",
            t.commands, t.clients, t.per_second, t.latency_ms_p50, t.latency_ms_p99, t.latency_ms_max
        ));
        report.populate.insert(format!("postgres.{name}"), t);
    };
    // Money first: the store refuses approvals a fund cannot cover.
    drive(Arc::clone(&app), vec![generator.funding(scale)], 1).await?;
    let t = drive_lazy(Arc::clone(&app), &generator, scale.households, MANY_CLIENTS).await?;
    step("households", t, progress);
    let t = drive(Arc::clone(&app), vec![generator.plan(scale)], 1).await?;
    step("plan_enrolment", t, progress);
    let claims = (0..scale.claims)
        .map(|c| generator.claim(scale, c))
        .collect();
    let t = drive(Arc::clone(&app), claims, MANY_CLIENTS).await?;
    step("claims", t, progress);
    let mut campaign = vec![generator.campaign_launch()];
    campaign.extend((0..scale.donations).map(|d| generator.donation(d)));
    let t = drive(Arc::clone(&app), vec![campaign], 1).await?;
    step("campaign", t, progress);

    let pool = pg_pool_of(&app)?;
    let events_after_populate = app.store.count_events().await.map_err(|e| e.to_string())?;
    let bytes: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
        .fetch_one(&pool)
        .await
        .map_err(|e| e.to_string())?;
    let server_version: String = sqlx::query_scalar("SHOW server_version")
        .fetch_one(&pool)
        .await
        .map_err(|e| e.to_string())?;
    let mut settings = BTreeMap::new();
    for name in PG_SETTINGS_REPORTED {
        let value: String = sqlx::query_scalar("SELECT current_setting($1)")
            .bind(name)
            .fetch_one(&pool)
            .await
            .map_err(|e| e.to_string())?;
        settings.insert(name.to_string(), value);
    }
    app.store.close().await;
    // Every handle on the pool goes too: a connection still being returned
    // while `close` ran can land back among the idle ones and stay open
    // until the pool itself is dropped — and the copies need the database
    // to have no session.
    drop(pool);
    drop(app);
    progress(format!(
        "postgres populated: {events_after_populate} events, {:.1} MB, PostgreSQL {server_version}",
        bytes as f64 / 1e6
    ));
    report.postgres = Some(PgPopulated {
        events_after_populate,
        database_bytes_after_populate: u64::try_from(bytes).unwrap_or(0),
        server_version,
        settings,
    });

    // ---- write, load, rebuild: `runs` times.
    let measured = scale.households..scale.households + scale.measured_households;
    let wants = |v: &str| config.variants.iter().any(|x| x == v);
    for run_no in 0..config.runs {
        let result = &mut report.runs[run_no];
        if config.phases.iter().any(|p| p == "write") {
            let sides: Vec<(usize, bool)> = [1, MANY_CLIENTS]
                .into_iter()
                .filter(|c| wants(&format!("engine{c}")) || wants(&format!("baseline{c}")))
                .map(|c| (c, wants(&format!("baseline{c}"))))
                .collect();
            let written =
                pg_interleaved_write(server, populated, db, &generator, measured.clone(), &sides)
                    .await?;
            for (clients, engine, base) in written {
                progress(format!(
                    "run {run_no} postgres engine {clients} client(s): {:.0}/s, p50 {:.2} ms, p99 {:.2} ms, max {:.1} ms, {} commands",
                    engine.per_second, engine.latency_ms_p50, engine.latency_ms_p99, engine.latency_ms_max, engine.commands
                ));
                result
                    .write
                    .insert(format!("postgres.engine.clients_{clients}"), engine);
                if let Some(t) = base {
                    progress(format!(
                        "run {run_no} postgres baseline {clients} client(s): {:.0}/s, p50 {:.2} ms, p99 {:.2} ms, max {:.1} ms",
                        t.per_second, t.latency_ms_p50, t.latency_ms_p99, t.latency_ms_max
                    ));
                    result
                        .write
                        .insert(format!("postgres.baseline.clients_{clients}"), t);
                }
            }
            let rate = |k: &str| {
                result
                    .write
                    .get(&format!("postgres.{k}"))
                    .map(|t| t.per_second)
            };
            let mut ratios = BTreeMap::new();
            for c in [1, MANY_CLIENTS] {
                ratio(
                    &mut ratios,
                    &format!("postgres.engine_over_baseline.clients_{c}"),
                    rate(&format!("engine.clients_{c}")),
                    rate(&format!("baseline.clients_{c}")),
                );
            }
            ratio(
                &mut ratios,
                "postgres.engine_8_over_engine_1",
                rate("engine.clients_8"),
                rate("engine.clients_1"),
            );
            for (k, v) in ratios {
                progress(format!("run {run_no} ratio {k}: {v:.2}"));
                result.ratios.insert(k, v);
            }
        }
        if config.phases.iter().any(|p| p == "http") {
            let named = config
                .variants
                .iter()
                .any(|v| HTTP_VARIANTS.iter().any(|h| v.starts_with(h)));
            let wanted = |side: &str| !named || wants(side);
            let (figures, ratios, checks) = http_phase(
                HttpStores::Postgres {
                    server,
                    populated,
                    db,
                },
                &config.dir,
                &generator,
                measured.clone(),
                &wanted,
            )
            .await?;
            for (k, t) in &figures {
                progress(format!(
                    "run {run_no} {k}: {:.0}/s, p50 {:.2} ms, p99 {:.2} ms, max {:.1} ms, {} commands",
                    t.per_second, t.latency_ms_p50, t.latency_ms_p99, t.latency_ms_max, t.commands
                ));
            }
            for (k, v) in &ratios {
                progress(format!("run {run_no} ratio {k}: {v:.2}"));
            }
            result.write.extend(figures);
            result.ratios.extend(ratios);
            result.http_checks.extend(checks);
        }
        if config.phases.iter().any(|p| p == "userpath") {
            let stores = HttpStores::Postgres {
                server,
                populated,
                db,
            };
            userpath_run(
                config,
                stores,
                &generator,
                measured.clone(),
                run_no,
                result,
                progress,
            )
            .await?;
        }
        if config.phases.iter().any(|p| p == "load") {
            let store = AnyStore::from(pg_store(server, populated).await?);
            let loads = load_on(store, &generator, scale).await?;
            for (k, v) in &loads {
                progress(format!(
                    "run {run_no} postgres load {k}: {:.0}/s, p50 {:.3} ms, p99 {:.3} ms",
                    v.per_second, v.latency_ms_p50, v.latency_ms_p99
                ));
            }
            let p50 = |k: &str| loads.get(k).map(|l| l.latency_ms_p50);
            for kind in ["snapshot", "cached_shared", "cached_owned"] {
                ratio(
                    &mut result.ratios,
                    &format!("postgres.plan_big_over_fresh.{kind}"),
                    p50(&format!("plan.big.{kind}")),
                    p50(&format!("plan.fresh.{kind}")),
                );
            }
            result
                .load
                .extend(loads.into_iter().map(|(k, v)| (format!("postgres.{k}"), v)));
        }
        if config.phases.iter().any(|p| p == "rebuild") {
            let copy = db("rebuild");
            pg_copy(server, populated, &copy).await?;
            let url = (server.url_of)(&copy);
            let figures = match &config.rebuild_exe {
                Some(exe) => rebuild_child(exe, "--rebuild-url", &url)?,
                None => rebuild_url(&url).await?,
            };
            pg_drop(server, &copy).await?;
            progress(format!(
                "run {run_no} postgres rebuild: {} events in {:.2} s, {:.0} events/s, peak RSS {:.1} MB ({})",
                figures.events,
                figures.seconds,
                figures.events_per_second,
                figures.peak_rss_kb as f64 / 1024.0,
                if figures.own_process { "own process" } else { "includes populate" }
            ));
            result.postgres_rebuild = Some(figures);
        }
    }
    Ok(())
}

/// Rebuilds every view into scratch on the PostgreSQL database at `url`
/// and measures it in this process.
pub async fn rebuild_url(url: &str) -> Result<Rebuild, String> {
    let store = bangfu::store::PgStore::open(url, domain::reservations_of)
        .await
        .map_err(|e| e.to_string())?;
    rebuild_store(AnyStore::from(store)).await
}

/// A rebuild in a fresh process: `exe flag value`, figures on its last line.
fn rebuild_child(
    exe: &Path,
    flag: &str,
    value: impl AsRef<std::ffi::OsStr>,
) -> Result<Rebuild, String> {
    let out = std::process::Command::new(exe)
        .arg(flag)
        .arg(value)
        .output()
        .map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    let mut figures: Rebuild = serde_json::from_str(last).map_err(|e| {
        format!(
            "rebuild child: {e}; stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })?;
    figures.own_process = true;
    Ok(figures)
}

/// One client count's side of the PostgreSQL write phase.
struct PgWriteSide {
    clients: usize,
    engine_db: String,
    app: Arc<App>,
    engine_pool: sqlx::PgPool,
    baseline: Option<(String, sqlx::PgPool)>,
    engine: Samples,
    base: Samples,
    written: i64,
}

/// [`interleaved_write`] on PostgreSQL: each side's engine and baseline on
/// their own copies of the populated database, slice by slice.
async fn pg_interleaved_write(
    server: &PgServer,
    populated: &str,
    db: &dyn Fn(&str) -> String,
    generator: &Generator,
    measured: std::ops::Range<usize>,
    sides: &[(usize, bool)],
) -> Result<Vec<(usize, Throughput, Option<Throughput>)>, String> {
    let mut state = Vec::new();
    for &(clients, with_baseline) in sides {
        let engine_db = db(&format!("engine{clients}"));
        pg_copy(server, populated, &engine_db).await?;
        let app = Arc::new(App::on(pg_store(server, &engine_db).await?));
        let engine_pool = pg_pool_of(&app)?;
        let baseline = if with_baseline {
            let name = db(&format!("baseline{clients}"));
            pg_copy(server, populated, &name).await?;
            let options: sqlx::postgres::PgConnectOptions = (server.url_of)(&name)
                .parse()
                .map_err(|e: sqlx::Error| e.to_string())?;
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(clients as u32)
                // No ping round trip before each transaction (as the SQLite pools).
                .test_before_acquire(false)
                .connect_with(options)
                .await
                .map_err(|e| e.to_string())?;
            Some((name, pool))
        } else {
            None
        };
        state.push(PgWriteSide {
            clients,
            written: pg_max_position(&engine_pool).await?,
            engine_db,
            app,
            engine_pool,
            baseline,
            engine: Samples::default(),
            base: Samples::default(),
        });
    }
    let households: Vec<usize> = measured.collect();
    let per_slice = households.len().div_ceil(WRITE_SLICES).max(1);
    for slice in households.chunks(per_slice) {
        for side in &mut state {
            let scripts: Vec<Vec<Command>> =
                slice.iter().map(|&h| generator.household(h)).collect();
            side.engine
                .add(drive_samples(Arc::clone(&side.app), scripts, side.clients).await?);
            if let Some((_, pool)) = &side.baseline {
                let rows = pg_rows_by_command(&side.engine_pool, side.written).await?;
                side.base.add(pg_baseline(pool, rows, side.clients).await?);
            }
            side.written = pg_max_position(&side.engine_pool).await?;
        }
    }
    let mut out = Vec::new();
    for side in state {
        let engine_events = pg_count(&side.engine_pool).await?;
        side.app.store.close().await;
        pg_drop(server, &side.engine_db).await?;
        let base = match side.baseline {
            Some((name, pool)) => {
                // The baseline wrote every row the engine wrote.
                let events = pg_count(&pool).await?;
                pool.close().await;
                pg_drop(server, &name).await?;
                if events != engine_events {
                    return Err(format!(
                        "PostgreSQL baseline, {} client(s): {events} events, the engine's copy {engine_events}",
                        side.clients
                    ));
                }
                Some(side.base.throughput(side.clients))
            }
            None => None,
        };
        out.push((side.clients, side.engine.throughput(side.clients), base));
    }
    Ok(out)
}

/// [`rows_by_command`] on PostgreSQL: the rows after `after_position`, one
/// set per writing transaction (one command each), in log order.
async fn pg_rows_by_command(
    pool: &sqlx::PgPool,
    after_position: i64,
) -> Result<Vec<RowSet>, String> {
    let rows = sqlx::query(
        "SELECT event_id::text AS event_id, aggregate_type, aggregate_id, sequence, event_type,
                event_version, payload::text AS payload, metadata::text AS metadata,
                recorded_at, prev_hash, hash, transaction_id::text AS grp
           FROM events WHERE position > $1 ORDER BY transaction_id, position",
    )
    .bind(after_position)
    .fetch_all(pool)
    .await
    .map_err(|e| e.to_string())?;
    group_rows(&rows)
}

/// The raw baseline on PostgreSQL: per command, in one transaction, read the
/// stream's events and insert the command's rows (same table, same columns,
/// JSON sent as text cast to `json` as PgStore does), then COMMIT.
async fn pg_baseline(
    pool: &sqlx::PgPool,
    commands: Vec<RowSet>,
    clients: usize,
) -> Result<Samples, String> {
    // Each client's commands, in order: a stream's commands stay on one client.
    let mut per_client: Vec<Vec<RowSet>> = vec![Vec::new(); clients];
    let mut owner: BTreeMap<String, usize> = BTreeMap::new();
    for set in commands {
        let next = owner.len() % clients;
        let client = *owner.entry(set.aggregate_id.clone()).or_insert(next);
        per_client[client].push(set);
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for sets in per_client {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(sets.len());
            for set in sets {
                let t = Instant::now();
                let mut tx = pool.begin().await.map_err(|e| e.to_string())?;
                let _events = sqlx::query(
                    "SELECT aggregate_type, aggregate_id, sequence, event_type, event_version,
                            payload, metadata
                       FROM events WHERE aggregate_type = $1 AND aggregate_id = $2
                      ORDER BY sequence",
                )
                .bind(&set.aggregate_type)
                .bind(&set.aggregate_id)
                .fetch_all(&mut *tx)
                .await
                .map_err(|e| e.to_string())?;
                for (row, sequence) in set.rows.iter().zip(&set.sequences) {
                    sqlx::query(
                        "INSERT INTO events (event_id, aggregate_type, aggregate_id, sequence,
                                             event_type, event_version, payload, metadata,
                                             recorded_at, prev_hash, hash)
                         VALUES (CAST($1 AS uuid), $2, $3, $4, $5, $6, CAST($7 AS json),
                                 CAST($8 AS json), $9, $10, $11)",
                    )
                    .bind(&row[0])
                    .bind(&set.aggregate_type)
                    .bind(&set.aggregate_id)
                    .bind(sequence)
                    .bind(&row[1])
                    .bind(&row[2])
                    .bind(&row[3])
                    .bind(&row[4])
                    .bind((!row[5].is_empty()).then_some(row[5].as_str()))
                    .bind(&row[6])
                    .bind(&row[7])
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| e.to_string())?;
                }
                tx.commit().await.map_err(|e| e.to_string())?;
                latencies.push(t.elapsed());
            }
            Ok::<_, String>(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.map_err(|e| e.to_string())??);
    }
    Ok(Samples {
        latencies,
        wall: started.elapsed(),
    })
}
