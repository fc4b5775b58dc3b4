//! The views against real stores — a SQLite file and a PostgreSQL
//! database, the same test code for both (`on_every_store!`, in main.rs, at
//! the bottom of the generic cases): a scripted scenario whose every figure
//! is worked out by hand below; random command sequences whose
//! incrementally updated views must equal a rebuild (and the in-memory
//! reference); a projector that fails between writing rows and committing;
//! `verify` catching rows altered behind its back; two projectors on one
//! store; the Putian-shaped period through the store. Then what only one
//! store has: SQLite's gapless positions and the CLI's read-your-writes;
//! on PostgreSQL, a projector following the log while concurrent writers
//! commit out of order.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use bangfu::app::engine::Engine;
use bangfu::app::{execute_json, App, CaseAggregate};
use bangfu::projector::{
    Failpoint, PgViews, Projector, ProjectorError, RowFilter, Space, SqliteViews, ViewStore,
};
use bangfu::store::{LogPosition, StoredEvent};
use domain::command::Role;
use domain::fund::Fund;
use domain::i18n::ErrorCode;
use domain::mutual_aid::claim::ClaimStatus;
use domain::values::{BankCard, Fen, ResidentId};
use projections::views::household::{FileState, GrantState, HouseholdFileRow};
use projections::views::ledger::{LedgerTotals, PayoutRow, PayoutState};
use projections::{MemoryViews, RowKind, StoredRow, ViewName};
use proptest::prelude::*;
use serde_json::{json, Value};
use tempfile::TempDir;
use uuid::Uuid;

use crate::backends::{read_until, Backend};
use crate::support::{ctx, run};

// ---------------------------------------------------------------- fixtures

const LIN: (&str, Role) = ("lin.xiaomei", Role::Caseworker);
const HUANG: (&str, Role) = ("huang.zhiqiang", Role::Approver);
const WU: (&str, Role) = ("wu.haiyan", Role::Finance);

/// An app on a fresh store: a SQLite file in its own temporary directory,
/// or a fresh PostgreSQL database (see `pg::fresh_database`).
struct World {
    app: App,
    /// The store's URL, for reopening it and for the command line.
    url: String,
    backend: Backend,
    _dir: Option<TempDir>,
}

async fn world() -> World {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("bangfu.db").display());
    let app = App::open_url(&url).await.expect("open app");
    World {
        app,
        url,
        backend: Backend::Sqlite,
        _dir: Some(dir),
    }
}

/// `None` (after a loud banner) when no PostgreSQL can be had.
async fn postgres_world(test: &str) -> Option<World> {
    let url = crate::pg::fresh_database(test).await?;
    let app = App::open_url(&url).await.expect("open app");
    Some(World {
        app,
        url,
        backend: Backend::Postgres,
        _dir: None,
    })
}

impl World {
    /// The same store opened again, as another process (or a restarted one) would.
    async fn reopen(&self) -> App {
        App::open_url(&self.url).await.expect("reopen app")
    }

    /// Another projector on this store, `batch` events per transaction.
    fn projector(&self, batch: usize) -> Projector {
        Projector::for_store(&self.app.store).with_batch_events(batch)
    }

    /// A projector on this store whose commits go through `failpoint`.
    fn crashing_projector(&self, failpoint: Failpoint, batch: usize) -> Projector {
        let views: Arc<dyn ViewStore> = match self.backend {
            Backend::Sqlite => Arc::new(
                SqliteViews::new(self.app.store.as_sqlite().unwrap().clone())
                    .with_failpoint(failpoint),
            ),
            Backend::Postgres => Arc::new(
                PgViews::new(self.app.store.as_postgres().unwrap().clone())
                    .with_failpoint(failpoint),
            ),
            Backend::Kurrent => unreachable!("no views on KurrentDB"),
        };
        Projector::new(Arc::new(self.app.store.clone()), views).with_batch_events(batch)
    }

    /// Runs one statement on the store's database behind bangfu's back, as
    /// someone with database access would; the rows it affected.
    async fn sql(&self, statement: &str) -> u64 {
        use sqlx::Connection;
        match self.backend {
            Backend::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&self.url).await.unwrap();
                let done = sqlx::query(statement).execute(&mut conn).await.unwrap();
                conn.close().await.unwrap();
                done.rows_affected()
            }
            Backend::Postgres => {
                let mut conn = sqlx::PgConnection::connect(&self.url).await.unwrap();
                let done = sqlx::query(statement).execute(&mut conn).await.unwrap();
                conn.close().await.unwrap();
                done.rows_affected()
            }
            Backend::Kurrent => unreachable!("no SQL on KurrentDB"),
        }
    }

    /// `bangfu --store URL …`.
    fn cli(&self) -> assert_cmd::Command {
        let mut c = assert_cmd::Command::cargo_bin("bangfu").unwrap();
        c.args(["--store", &self.url]);
        c
    }

    /// The whole log in log order, once every committed event is readable.
    /// On PostgreSQL the log is readable only below the oldest transaction
    /// running in the cluster (other tests write to it too), so this waits
    /// for the events already committed rather than assuming they are there.
    async fn settled_log(&self) -> Vec<StoredEvent> {
        let n = self.app.store.count_events().await.unwrap();
        read_until(&self.app.store, LogPosition::START, n as usize, 256).await
    }

    /// The log position of the `n`th event (from 1) in log order.
    async fn nth(&self, n: usize) -> LogPosition {
        self.settled_log().await[n - 1].log_position
    }
}

fn fen(n: i64) -> Fen {
    Fen::new(n).unwrap()
}

fn yuan(n: i64) -> i64 {
    n * 100
}

fn y(n: i64) -> Fen {
    fen(yuan(n))
}

/// The `n`th valid resident ID (region 350302, born in 1980).
fn rid(n: u32) -> String {
    let first17 = format!(
        "3503021980{:02}{:02}{:03}",
        1 + n / 28 % 12,
        1 + n % 28,
        n % 1000
    );
    let check = ResidentId::check_char(first17.as_bytes()) as char;
    format!("{first17}{check}")
}

fn card() -> String {
    (0..10)
        .map(|d| format!("622202140000123456{d}"))
        .find(|c| BankCard::parse(c).is_ok())
        .unwrap()
}

/// Runs one command and catches the views up to it, as `bangfu run` does.
macro_rules! step {
    ($app:expr, $engine:ident, $id:expr, $who:expr, $day:expr, $body:expr $(,)?) => {{
        let committed = run(&$app.$engine, $id, $who, $day, $body).await;
        let last = committed.last_log_position.expect("events written");
        let at = $app
            .projector
            .catch_up_to(last)
            .await
            .expect("views caught up");
        assert!(at >= last, "views at {at} after a command at {last}");
    }};
}

fn policy() -> Value {
    json!({
        "version": "test-v1", "threshold_fen": yuan(5000),
        "tiers": [
            {"from_fen": yuan(5000), "amount_fen": yuan(200)},
            {"from_fen": yuan(10000), "amount_fen": yuan(400)},
            {"from_fen": yuan(20000), "amount_fen": yuan(800)}
        ],
        "period_uplift_bp": 3000, "migrant_uplift_bp": 3000, "cap_per_member_fen": yuan(6000)
    })
}

fn enrolee(n: u32, name: &str, migrant: bool) -> Value {
    json!({"resident_id": rid(n), "name": name, "migrant_worker": migrant})
}

fn claim(id: &str, member: u32, name: &str, total: i64, basic: i64, day: &str) -> Value {
    json!({"Submit": {
        "claim_id": id, "plan_id": "P7", "member": rid(member), "member_name": name,
        "hospital": "莆田学院附属医院", "admitted_on": day, "discharged_on": day,
        "diagnosis": "住院治疗", "total_cost_fen": yuan(total), "basic_insurance_fen": yuan(basic),
        "other_reimbursement_fen": 0, "documents": ["住院发票"]
    }})
}

fn measures(m1_yuan: i64) -> Value {
    json!([
        {"measure_id": "M1", "kind": "medical_relief", "description": "透析自付医疗救助", "planned_amount_fen": yuan(m1_yuan), "fund": "special_assistance", "due_on": "2026-12-31"},
        {"measure_id": "M2", "kind": "education_aid", "description": "子女高中学费", "planned_amount_fen": yuan(3000), "fund": "donation", "due_on": "2026-09-15"},
        {"measure_id": "M3", "kind": "festival_condolence", "description": "送温暖慰问金", "planned_amount_fen": yuan(800), "fund": "festival", "due_on": "2026-09-30"}
    ])
}

/// A bank grant (G9, 500 from M1) paid through a payout batch: drafted,
/// locked, authorised by someone else, exported, and reported paid.
async fn payout_batch(app: &App) {
    let bank = json!({"bank_transfer": {"card": card(), "account_name": "陈建国"}});
    run(&app.files, "HF-1", LIN, "2026-05-10", json!({"RequestGrant": {"grant_id": "G9", "measure_id": "M1", "amount_fen": yuan(500), "payee": bank, "note": null}})).await;
    run(
        &app.files,
        "HF-1",
        HUANG,
        "2026-05-11",
        json!({"ApproveGrant": {"grant_id": "G9"}}),
    )
    .await;
    let line = json!({"payout_id": "grant:HF-1:G9", "source": "grant", "payee": "陈建国",
        "account": {"bank": {"card": card(), "bank": null}}, "amount_fen": yuan(500),
        "fund": "special_assistance", "purpose": "透析自付医疗救助"});
    run(&app.batches, "PB-1", WU, "2026-05-12", json!({"Draft": {"fund": "special_assistance", "lines": [line], "signing": null, "note": null}})).await;
    run(&app.batches, "PB-1", WU, "2026-05-12", json!("Lock")).await;
    run(
        &app.batches,
        "PB-1",
        HUANG,
        "2026-05-12",
        json!({"Authorise": {"note": null}}),
    )
    .await;
    let sha = "ab".repeat(32);
    run(&app.batches, "PB-1", WU, "2026-05-12", json!({"RecordExport": {"format": "xlsx", "template": "default", "sha256": sha, "lines": 1, "total_fen": yuan(500)}})).await;
    let result = json!({"line": 1, "payout_id": "grant:HF-1:G9", "account": card(), "amount_fen": yuan(500), "paid": true, "reason": null, "value_date": "2026-05-13"});
    run(
        &app.batches,
        "PB-1",
        WU,
        "2026-05-13",
        json!({"RecordResults": {"sha256": "cd".repeat(32), "results": [result]}}),
    )
    .await;
}

/// The scripted scenario. With `catch_up`, the views are caught up after
/// every command (as the CLI does); without, they are left behind.
async fn scenario(app: &App, catch_up: bool) {
    macro_rules! go {
        ($engine:ident, $id:expr, $who:expr, $day:expr, $body:expr $(,)?) => {
            if catch_up {
                step!(app, $engine, $id, $who, $day, $body);
            } else {
                run(&app.$engine, $id, $who, $day, $body).await;
            }
        };
    }
    // Funds: 10,000 into special assistance; 2,000 + 500 into festival, the 500 reversed.
    go!(
        funds,
        "SA",
        WU,
        "2026-01-05",
        json!({"Appropriate": {"appropriation_id": "BK-1", "fund": "special_assistance", "amount_fen": yuan(10_000), "source": "福建省总工会", "received_on": "2026-01-05", "note": null}})
    );
    go!(
        funds,
        "FE",
        WU,
        "2026-01-05",
        json!({"Appropriate": {"appropriation_id": "BK-2", "fund": "festival", "amount_fen": yuan(2_000), "source": "莆田市总工会", "received_on": "2026-01-05", "note": null}})
    );
    go!(
        funds,
        "FE",
        WU,
        "2026-01-05",
        json!({"Appropriate": {"appropriation_id": "BK-3", "fund": "festival", "amount_fen": yuan(500), "source": "莆田市总工会", "received_on": "2026-01-05", "note": null}})
    );
    go!(
        funds,
        "FE",
        WU,
        "2026-01-06",
        json!({"ReverseAppropriation": {"appropriation_id": "BK-3", "reason": "重复登记"}})
    );

    // Plan period: U1 with A, B (migrant), C for 150.00; U2 (sponsored) with D, E for 100.00;
    // U1 amended: F in, C out, 50.00 more.
    go!(
        plans,
        "P7",
        LIN,
        "2026-01-10",
        json!({"OpenPeriod": {"name": "测试互助第七期", "period_no": 7, "starts_on": "2026-01-01", "ends_on": "2026-12-31", "policy": policy()}})
    );
    go!(
        plans,
        "P7",
        LIN,
        "2026-01-11",
        json!({"EnrolUnit": {"unit_id": "U1", "unit_name": "振兴鞋服", "members": [enrolee(1, "职工甲", false), enrolee(2, "职工乙", true), enrolee(3, "职工丙", false)], "contribution_fen": yuan(150), "paid_by": "unit"}})
    );
    go!(
        plans,
        "P7",
        LIN,
        "2026-01-11",
        json!({"EnrolUnit": {"unit_id": "U2", "unit_name": "外卖骑手", "members": [enrolee(4, "职工丁", false), enrolee(5, "职工戊", false)], "contribution_fen": yuan(100), "paid_by": {"sponsor": {"name": "互助保障基金会"}}}})
    );
    go!(
        plans,
        "P7",
        LIN,
        "2026-01-20",
        json!({"AmendRoster": {"unit_id": "U1", "add": [enrolee(6, "职工己", false)], "remove": [rid(3)], "additional_contribution_fen": yuan(50), "reason": "人员变动"}})
    );

    // Hardship file HF-1: opened, visited, verified, plan of three measures.
    let household = json!({
        "head": {"name": "陈建国", "resident_id": rid(100), "phone": "13905941234", "employer_unit": "振兴鞋服", "grassroots_union": "振兴鞋服工会", "migrant_worker": true, "mobile_member": false},
        "members": [{"name": "林秀英", "relation": "spouse", "birth_year": 1980, "health": "serious_illness", "schooling": "none"}],
        "monthly_income_per_capita_fen": yuan(620), "local_minimum_standard_fen": yuan(800), "causes": ["illness"]
    });
    go!(
        files,
        "HF-1",
        LIN,
        "2026-03-02",
        json!({"OpenFile": {"household": household, "opened_on": "2026-03-02"}})
    );
    go!(
        files,
        "HF-1",
        LIN,
        "2026-03-03",
        json!({"LogVisit": {"visit_id": "V1", "visited_on": "2026-03-03", "kind": "verification", "caseworkers": ["林晓梅"], "findings": "情况属实", "facts_verified": ["income"], "contact_card_issued": true, "cash_handover": null}})
    );
    go!(
        files,
        "HF-1",
        HUANG,
        "2026-03-04",
        json!({"Verify": {"outcome": {"confirmed": {"note": "属实"}}}})
    );
    go!(
        files,
        "HF-1",
        LIN,
        "2026-03-05",
        json!({"AdoptPlan": {"goal": "减轻医疗负担", "measures": measures(6_000)}})
    );
    let bank = json!({"bank_transfer": {"card": card(), "account_name": "陈建国"}});
    // G1: 2,500 from M1, approved and paid on 03-12.
    go!(
        files,
        "HF-1",
        LIN,
        "2026-03-10",
        json!({"RequestGrant": {"grant_id": "G1", "measure_id": "M1", "amount_fen": yuan(2_500), "payee": bank.clone(), "note": null}})
    );
    go!(
        files,
        "HF-1",
        HUANG,
        "2026-03-11",
        json!({"ApproveGrant": {"grant_id": "G1"}})
    );
    go!(
        files,
        "HF-1",
        WU,
        "2026-03-12",
        json!({"RecordGrantPaid": {"grant_id": "G1", "paid_on": "2026-03-12", "reference": "BOC-1"}})
    );

    // Claims. C1: A, net 8,000 → tier 1: 200 × 1.3 = 260.00, paid 04-20.
    go!(
        claims,
        "C1",
        LIN,
        "2026-03-15",
        claim("C1", 1, "职工甲", 20_000, 12_000, "2026-03-01")
    );
    go!(
        claims,
        "C1",
        LIN,
        "2026-03-16",
        json!({"ReviewDocuments": {"complete": true, "note": "齐全"}})
    );
    go!(claims, "C1", LIN, "2026-03-17", json!({"Assess": {}}));
    go!(claims, "C1", HUANG, "2026-03-18", json!({"Approve": {}}));
    // C2: B (migrant), net 15,000 → tier 2: 400 × 1.3 × 1.3 = 676.00, approved, unpaid.
    go!(
        claims,
        "C2",
        LIN,
        "2026-03-15",
        claim("C2", 2, "职工乙", 30_000, 15_000, "2026-03-02")
    );
    go!(
        claims,
        "C2",
        LIN,
        "2026-03-16",
        json!({"ReviewDocuments": {"complete": true, "note": "齐全"}})
    );
    go!(claims, "C2", LIN, "2026-03-17", json!({"Assess": {}}));
    // 1,000 appropriated into the mutual-aid fund first: the store counts C2's
    // 676 against the fund at approval, and 300 − 260 would not cover it.
    go!(
        funds,
        "MA",
        WU,
        "2026-03-18",
        json!({"Appropriate": {"appropriation_id": "BK-4", "fund": "mutual_aid", "amount_fen": yuan(1_000), "source": "莆田市总工会", "received_on": "2026-03-18", "note": null}})
    );
    go!(claims, "C2", HUANG, "2026-03-18", json!({"Approve": {}}));
    // C3: D, net 2,000: below the threshold, rejected.
    go!(
        claims,
        "C3",
        LIN,
        "2026-03-20",
        claim("C3", 4, "职工丁", 6_000, 4_000, "2026-03-03")
    );
    go!(
        claims,
        "C3",
        LIN,
        "2026-03-21",
        json!({"ReviewDocuments": {"complete": true, "note": "齐全"}})
    );
    go!(claims, "C3", LIN, "2026-03-22", json!({"Assess": {}}));
    go!(
        claims,
        "C3",
        HUANG,
        "2026-03-23",
        json!({"Reject": {"reason": "below_threshold", "note": "未达起付线"}})
    );
    // C4: E, submitted only.
    go!(
        claims,
        "C4",
        LIN,
        "2026-03-25",
        claim("C4", 5, "职工戊", 9_000, 1_000, "2026-03-04")
    );

    // G2: 1,000 from M1, declined. G3: 800 cash from M3, handed over at a visit.
    go!(
        files,
        "HF-1",
        LIN,
        "2026-04-01",
        json!({"RequestGrant": {"grant_id": "G2", "measure_id": "M1", "amount_fen": yuan(1_000), "payee": bank.clone(), "note": null}})
    );
    go!(
        files,
        "HF-1",
        HUANG,
        "2026-04-02",
        json!({"DeclineGrant": {"grant_id": "G2", "reason": "已由医保覆盖"}})
    );
    go!(
        files,
        "HF-1",
        LIN,
        "2026-04-05",
        json!({"RequestGrant": {"grant_id": "G3", "measure_id": "M3", "amount_fen": yuan(800), "payee": "cash", "note": null}})
    );
    go!(
        files,
        "HF-1",
        HUANG,
        "2026-04-06",
        json!({"ApproveGrant": {"grant_id": "G3"}})
    );
    go!(
        files,
        "HF-1",
        LIN,
        "2026-04-07",
        json!({"LogVisit": {"visit_id": "V2", "visited_on": "2026-04-07", "kind": "festival_condolence", "caseworkers": ["林晓梅"], "findings": "慰问", "facts_verified": [], "contact_card_issued": false, "cash_handover": {"grant_id": "G3", "amount_fen": yuan(800), "signed_by": "陈建国"}}})
    );
    go!(
        claims,
        "C1",
        WU,
        "2026-04-20",
        json!({"MarkPaid": {"paid_on": "2026-04-20", "reference": "HZ-1", "card": null}})
    );

    // Campaign: D1 (100 staff), D2 (50 staff).
    go!(
        campaigns,
        "YRJ",
        LIN,
        "2026-04-01",
        json!({"Launch": {"name": "2026年一日捐", "year": 2026, "co_issuers": [], "units": [{"unit_id": "D1", "name": "市直机关", "headcount": 100}, {"unit_id": "D2", "name": "教育局", "headcount": 50}], "starts_on": "2026-04-01", "ends_on": "2026-06-30", "purpose": "general_fund"}})
    );
    let donation = |receipt: &str, unit: &str, donor: Option<&str>, count: u32, amount: i64| json!({"RecordDonation": {"receipt_no": receipt, "unit_id": unit, "donor": donor, "donor_count": count, "amount_fen": yuan(amount), "channel": "bank_transfer", "donated_on": "2026-04-10"}});
    go!(
        campaigns,
        "YRJ",
        LIN,
        "2026-04-10",
        donation("R1", "D1", None, 80, 4_000)
    );
    go!(
        campaigns,
        "YRJ",
        LIN,
        "2026-04-10",
        donation("R2", "D2", None, 30, 1_500)
    );
    go!(
        campaigns,
        "YRJ",
        LIN,
        "2026-04-10",
        donation("R3", "D1", Some("王芳"), 1, 200)
    );
    go!(
        campaigns,
        "YRJ",
        LIN,
        "2026-04-10",
        donation("R4", "D2", None, 30, 1_500)
    );
    go!(
        campaigns,
        "YRJ",
        WU,
        "2026-04-11",
        json!({"ReverseDonation": {"receipt_no": "R4", "reason": "重复登记"}})
    );

    // G4: 1,200 from M2 (donation fund), pending. The plan is revised (M1 to 8,000) and reviewed.
    go!(
        files,
        "HF-1",
        LIN,
        "2026-05-01",
        json!({"RequestGrant": {"grant_id": "G4", "measure_id": "M2", "amount_fen": yuan(1_200), "payee": bank, "note": null}})
    );
    go!(
        files,
        "HF-1",
        LIN,
        "2026-05-05",
        json!({"RevisePlan": {"reason": "透析费用上涨", "goal": "减轻医疗负担", "measures": measures(8_000)}})
    );
    go!(
        files,
        "HF-1",
        LIN,
        "2026-05-10",
        json!({"RecordReview": {"reviewed_on": "2026-05-10", "outcome": "improving", "note": "好转", "next_review_on": "2026-11-10"}})
    );

    go!(
        campaigns,
        "YRJ",
        HUANG,
        "2026-07-01",
        json!({"Close": {"note": "结束"}})
    );
    // A1: 1,000 to HF-1/M1 (special assistance): a transfer. A2: 676 to C2: a transfer to
    // the mutual-aid fund. A3: 300 to M2, rejected. A4: 500 to M2, pending.
    let alloc = |id: &str, target: Value, amount: i64| json!({"ProposeAllocation": {"allocation_id": id, "target": target, "amount_fen": yuan(amount), "note": "拨付"}});
    let m = |measure: &str| json!({"hardship_measure": {"file_id": "HF-1", "measure_id": measure}});
    go!(
        campaigns,
        "YRJ",
        LIN,
        "2026-07-05",
        alloc("A1", m("M1"), 1_000)
    );
    go!(
        campaigns,
        "YRJ",
        HUANG,
        "2026-07-06",
        json!({"ApproveAllocation": {"allocation_id": "A1"}})
    );
    go!(
        campaigns,
        "YRJ",
        LIN,
        "2026-07-05",
        alloc("A2", json!({"claim": {"claim_id": "C2"}}), 676)
    );
    go!(
        campaigns,
        "YRJ",
        HUANG,
        "2026-07-06",
        json!({"ApproveAllocation": {"allocation_id": "A2"}})
    );
    go!(
        campaigns,
        "YRJ",
        LIN,
        "2026-07-05",
        alloc("A3", m("M2"), 300)
    );
    go!(
        campaigns,
        "YRJ",
        HUANG,
        "2026-07-06",
        json!({"RejectAllocation": {"allocation_id": "A3", "reason": "重复"}})
    );
    go!(
        campaigns,
        "YRJ",
        LIN,
        "2026-07-07",
        alloc("A4", m("M2"), 500)
    );
}

/// Events the scenario writes: funds 4, plan 4, file 4 + G1 3, claims 13, G2 2,
/// G3 2 + its cash visit 2, C1 paid 1, campaign 6, G4 + revision + review 3,
/// close 1, allocations 7.
const SCENARIO_EVENTS: u64 = 53;

async fn ledger(app: &App, filter: RowFilter) -> (Vec<PayoutRow>, LedgerTotals) {
    let mut rows = Vec::new();
    let mut totals = LedgerTotals::default();
    app.projector
        .for_each::<PayoutRow>(&filter, |r| {
            totals.add(&r);
            rows.push(r);
        })
        .await
        .unwrap();
    (rows, totals)
}

/// Every figure of every view after [`scenario`], worked out by hand (see
/// the comments in the scenario).
async fn assert_hand_figures(app: &App) {
    assert_eq!(app.store.count_events().await.unwrap(), SCENARIO_EVENTS);
    let last = app.store.last_event().await.unwrap().unwrap().log_position;
    assert_eq!(app.projector.position().await.unwrap(), last);

    // Household file: visits 2, plan revision 2.
    let file: HouseholdFileRow = app.projector.get("HF-1").await.unwrap().unwrap();
    assert_eq!(file.status, FileState::OpenVerified);
    assert_eq!(file.head.name, "陈建国");
    assert_eq!(
        file.head.resident_id_masked,
        format!("3503**********{}", &rid(100)[14..])
    );
    assert!(!file.head.phone_masked.contains("05941234"));
    assert_eq!(file.visits.len(), 2);
    assert_eq!(file.visits[1].cash_amount_fen, Some(y(800)));
    let plan = file.plan.as_ref().unwrap();
    assert_eq!((plan.revision, plan.revisions.len()), (2, 2));
    assert_eq!(plan.revisions[0].planned_fen, y(6_000 + 3_000 + 800));
    assert_eq!(plan.revisions[1].planned_fen, y(8_000 + 3_000 + 800));
    let m = |id: &str| plan.measures.iter().find(|m| m.measure_id == id).unwrap();
    // M1: planned 8,000; G1 2,500 paid; G2 1,000 declined.
    let m1 = m("M1");
    assert_eq!(
        (
            m1.planned_fen,
            m1.requested_fen,
            m1.approved_fen,
            m1.paid_fen,
            m1.declined_fen
        ),
        (y(8_000), y(2_500), y(2_500), y(2_500), y(1_000))
    );
    assert_eq!(m1.remaining_fen(), y(5_500));
    // M2: G4 1,200 pending.
    let m2 = m("M2");
    assert_eq!(
        (
            m2.requested_fen,
            m2.approved_fen,
            m2.paid_fen,
            m2.remaining_fen()
        ),
        (y(1_200), Fen::ZERO, Fen::ZERO, y(1_800))
    );
    // M3: G3 800 in cash.
    let m3 = m("M3");
    assert_eq!((m3.paid_fen, m3.remaining_fen()), (y(800), Fen::ZERO));
    let states: Vec<GrantState> = file.grants.iter().map(|g| g.state).collect();
    assert_eq!(
        states,
        [
            GrantState::Paid,
            GrantState::Declined,
            GrantState::Paid,
            GrantState::Pending
        ]
    );
    assert_eq!(file.paid_total_fen(), y(3_300));
    assert_eq!(file.next_review_on().unwrap().to_string(), "2026-11-10");
    assert!(file.grants[0]
        .card_masked
        .as_ref()
        .unwrap()
        .contains("****"));

    // Plan period: units 2; members 3 + 2 + 1 − 1 = 5; contributions 150 + 100 + 50 = 300.
    let report = bangfu::read::reports::plan_period_report(app, "P7")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(report.period.policy.version.as_str(), "test-v1");
    assert_eq!((report.period.units, report.period.members), (2, 5));
    assert_eq!(report.period.contributions_fen, y(300));
    assert_eq!(report.claims, 4);
    for (status, n) in [
        (ClaimStatus::Submitted, 1),
        (ClaimStatus::Rejected, 1),
        (ClaimStatus::Approved, 1),
        (ClaimStatus::Paid, 1),
        (ClaimStatus::Assessed, 0),
    ] {
        assert_eq!(report.claims_in(status), n, "{status:?}");
    }
    // Assessed 260 + 676 (C3's ineligible assessment is rejected); approved the
    // same; paid 260; A2 allocated 676 to C2; the period's net 300 + 676 − 260.
    assert_eq!(report.subsidies_assessed_fen, y(936));
    assert_eq!(report.subsidies_approved_fen, y(936));
    assert_eq!(report.subsidies_paid_fen, y(260));
    assert_eq!(report.claims_with_subsidy, 2);
    assert_eq!(report.donations_allocated_fen, y(676));
    assert_eq!(report.period_net_fen, y(716));
    let units: Vec<(String, u64, Fen, u64, Fen, bool)> = report
        .units
        .iter()
        .map(|u| {
            (
                u.unit.unit_id.clone(),
                u.unit.members,
                u.unit.contribution_fen,
                u.claims,
                u.subsidies_paid_fen,
                u.unit.sponsor.is_some(),
            )
        })
        .collect();
    assert_eq!(
        units,
        [
            ("U1".to_string(), 3, y(200), 2, y(260), false),
            ("U2".to_string(), 2, y(100), 2, Fen::ZERO, true)
        ]
    );

    // Campaign: received 4,000 + 1,500 + 200 + 1,500 = 7,200, 1,500 reversed;
    // donors 80 + 30 + 1 + 30 − 30 = 111 of 150 staff = 74.00%; approved 1,000 + 676,
    // pending 500, rejected 300; unallocated 5,700 − 2,176 = 3,524.
    let campaign = bangfu::read::reports::campaign_report(app, "YRJ")
        .await
        .unwrap()
        .unwrap();
    let c = &campaign.campaign;
    assert_eq!(
        (c.received_fen, c.reversed_fen, c.net_received_fen()),
        (y(7_200), y(1_500), y(5_700))
    );
    assert_eq!(
        (c.donations, c.reversals, c.donors, c.headcount),
        (4, 1, 111, 150)
    );
    assert_eq!(c.participation().bp(), 7_400);
    assert_eq!(
        (c.approved_fen, c.pending_fen, c.rejected_fen),
        (y(1_676), y(500), y(300))
    );
    assert_eq!(
        (c.allocated_fen(), c.unallocated_fen()),
        (y(2_176), y(3_524))
    );
    let d1 = &campaign.units[0];
    assert_eq!(
        (
            d1.unit_id.as_str(),
            d1.received_fen,
            d1.donors,
            d1.participation().bp()
        ),
        ("D1", y(4_200), 81, 8_100)
    );
    let d2 = &campaign.units[1];
    assert_eq!(
        (
            d2.net_received_fen(),
            d2.reversed_fen,
            d2.donors,
            d2.participation().bp()
        ),
        (y(1_500), y(1_500), 30, 6_000)
    );

    // Funds.
    let funds = app.projector.funds().await.unwrap();
    let f = |fund: Fund| funds.iter().find(|r| r.fund == fund).unwrap().clone();
    // Special assistance: 10,000 in + 1,000 from A1 − 2,500 (G1) = 8,500.
    let sa = f(Fund::SpecialAssistance);
    assert_eq!(
        (
            sa.appropriations_fen,
            sa.transfers_in_fen,
            sa.grants_paid_fen,
            sa.balance_fen
        ),
        (y(10_000), y(1_000), y(2_500), y(8_500))
    );
    // Mutual aid: 300 + 1,000 (BK-4) + 676 from A2 − 260 (C1) = 1,716; C2's
    // 676 is approved and unpaid, so 1,040 is available.
    let ma = f(Fund::MutualAid);
    assert_eq!(
        (
            ma.contributions_fen,
            ma.appropriations_fen,
            ma.transfers_in_fen,
            ma.claims_paid_fen,
            ma.balance_fen
        ),
        (y(300), y(1_000), y(676), y(260), y(1_716))
    );
    assert_eq!(
        (ma.claims_approved_fen, ma.committed_fen, ma.available_fen),
        (y(936), y(676), y(1_040))
    );
    // Donation: 7,200 − 1,500 − 1,000 − 676 = 4,024 (A3 rejected, A4 pending, G4 unpaid).
    let dn = f(Fund::Donation);
    assert_eq!(
        (
            dn.inflow_fen,
            dn.transfers_out_fen,
            dn.outflow_fen,
            dn.balance_fen
        ),
        (y(5_700), y(1_676), y(1_676), y(4_024))
    );
    // Festival: 2,000 + 500 − 500 − 800 (G3) = 1,200.
    let fe = f(Fund::Festival);
    assert_eq!(
        (
            fe.appropriations_fen,
            fe.appropriations_reversed_fen,
            fe.grants_paid_fen,
            fe.balance_fen
        ),
        (y(2_500), y(500), y(800), y(1_200))
    );
    assert!(funds.iter().all(|f| !f.overdrawn));
    // G4 (donation fund) is pending: nothing committed but C2.
    assert_eq!(
        funds.iter().map(|f| f.committed_fen).collect::<Vec<_>>(),
        [Fen::ZERO, y(676), Fen::ZERO, Fen::ZERO]
    );
    // What each fund has available is the store's balance, which commits check.
    let balances = app.store.money_balances().await.unwrap();
    for row in &funds {
        let code = domain::money::fund_code(row.fund);
        let stored = balances
            .iter()
            .find(|(kind, key, _)| kind == "fund" && key == code)
            .map_or(0, |b| b.2);
        assert_eq!(row.available_fen.fen(), stored, "{code}");
    }

    // Ledger: 4 grants + 4 claims + 4 allocations (transfers, not in totals).
    let (rows, totals) = ledger(app, RowFilter::default()).await;
    assert_eq!(rows.len(), 12);
    assert_eq!(totals.transfers, 4);
    let state = |id: &str| {
        let r = rows.iter().find(|r| r.payout_id == id).unwrap();
        (r.state, r.amount_fen)
    };
    assert_eq!(state("grant:HF-1:G1"), (PayoutState::Paid, y(2_500)));
    assert_eq!(state("grant:HF-1:G2"), (PayoutState::Declined, y(1_000)));
    assert_eq!(state("grant:HF-1:G3"), (PayoutState::Paid, y(800)));
    assert_eq!(state("grant:HF-1:G4"), (PayoutState::Requested, y(1_200)));
    assert_eq!(state("claim:C1"), (PayoutState::Paid, y(260)));
    assert_eq!(state("claim:C2"), (PayoutState::Approved, y(676)));
    assert_eq!(state("claim:C3"), (PayoutState::Declined, Fen::ZERO));
    assert_eq!(state("claim:C4"), (PayoutState::Requested, Fen::ZERO));
    assert_eq!(state("allocation:YRJ:A4"), (PayoutState::Requested, y(500)));
    let g1 = rows
        .iter()
        .find(|r| r.payout_id == "grant:HF-1:G1")
        .unwrap();
    assert_eq!(
        (g1.requested_by.as_str(), g1.approved_by.as_deref()),
        ("lin.xiaomei", Some("huang.zhiqiang"))
    );
    assert_eq!(g1.beneficiary.name.as_deref(), Some("陈建国"));
    assert_eq!(
        g1.beneficiary.resident_id_masked,
        Some(file.head.resident_id_masked.clone())
    );
    let a2 = rows
        .iter()
        .find(|r| r.payout_id == "allocation:YRJ:A2")
        .unwrap();
    assert_eq!(a2.beneficiary.name.as_deref(), Some("职工乙"));
    let sums = |k: &str| totals.by_fund.get(k).cloned().unwrap_or_default();
    let sa = sums("special_assistance");
    assert_eq!(
        (sa.payouts, sa.paid_fen, sa.declined_fen),
        (2, y(2_500), y(1_000))
    );
    assert_eq!(sums("festival").paid_fen, y(800));
    assert_eq!(
        (sums("donation").payouts, sums("donation").requested_fen),
        (1, y(1_200))
    );
    let ma = sums("mutual_aid");
    assert_eq!(
        (ma.payouts, ma.paid_fen, ma.approved_fen, ma.requested_fen),
        (4, y(260), y(676), Fen::ZERO)
    );
    assert_eq!((totals.all.payouts, totals.all.paid_fen), (8, y(3_560)));
    // By month of the latest change: March G1 paid, C2 approved, C3 declined, C4
    // submitted; April G2 declined, G3 and C1 paid; May G4 requested.
    let month = |m: &str| totals.by_month.get(m).cloned().unwrap_or_default();
    assert_eq!(
        (
            month("2026-03").payouts,
            month("2026-03").paid_fen,
            month("2026-03").approved_fen
        ),
        (4, y(2_500), y(676))
    );
    assert_eq!(
        (
            month("2026-04").payouts,
            month("2026-04").paid_fen,
            month("2026-04").declined_fen
        ),
        (3, y(1_060), y(1_000))
    );
    assert_eq!(
        (month("2026-05").payouts, month("2026-05").requested_fen),
        (1, y(1_200))
    );
    // Filters: the festival fund, and one month (transfers listed, not summed).
    let (festival, _) = ledger(
        app,
        RowFilter {
            parent: Some("festival".into()),
            tag: None,
        },
    )
    .await;
    assert_eq!(festival.len(), 1);
    let (july, july_totals) = ledger(
        app,
        RowFilter {
            parent: None,
            tag: Some("2026-07".into()),
        },
    )
    .await;
    assert_eq!(
        (july.len(), july_totals.transfers, july_totals.all.payouts),
        (4, 4, 0)
    );
}

// ---------------------------------------------------------------- the scripted scenario

async fn a_scripted_scenario_shows_every_figure_worked_out_by_hand(w: World) {
    scenario(&w.app, true).await;
    assert_hand_figures(&w.app).await;
    let report = w.app.projector.verify(&|_, _| {}).await.unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.events, SCENARIO_EVENTS);
    // A rebuild from position zero (all views, then one) changes nothing.
    let stats = w
        .app
        .projector
        .rebuild(&ViewName::ALL, &|_, _| {})
        .await
        .unwrap();
    assert_eq!(
        (stats.events, stats.position),
        (SCENARIO_EVENTS, w.nth(SCENARIO_EVENTS as usize).await)
    );
    w.app
        .projector
        .rebuild(&[ViewName::PayoutLedger], &|_, _| {})
        .await
        .unwrap();
    assert_hand_figures(&w.app).await;
}

async fn views_left_behind_catch_up_by_themselves_in_small_batches(w: World) {
    scenario(&w.app, false).await;
    assert_eq!(
        w.app.projector.position().await.unwrap(),
        LogPosition::START
    );
    w.settled_log().await;
    let stats = w.projector(3).catch_up().await.unwrap();
    assert_eq!(stats.events, SCENARIO_EVENTS);
    assert_eq!(stats.batches, SCENARIO_EVENTS.div_ceil(3));
    assert_hand_figures(&w.app).await;
}

// ---------------------------------------------------------------- crash safety

fn fail_at(commit: u32) -> (Failpoint, Arc<AtomicU32>) {
    let seen = Arc::new(AtomicU32::new(0));
    let counter = seen.clone();
    let failpoint: Failpoint = Arc::new(move |batch| {
        assert!(!batch.rows.is_empty() || !batch.checkpoints.is_empty());
        if counter.fetch_add(1, Ordering::SeqCst) + 1 == commit {
            Err(format!("crash before commit {commit}"))
        } else {
            Ok(())
        }
    });
    (failpoint, seen)
}

async fn a_projector_stopped_between_writing_rows_and_committing_loses_nothing(w: World) {
    scenario(&w.app, false).await;
    let fifteenth = w.nth(15).await;
    // The fourth commit writes its rows and checkpoints, then fails before COMMIT.
    let (failpoint, commits) = fail_at(4);
    let crashing = w.crashing_projector(failpoint, 5);
    let error = crashing.catch_up().await.unwrap_err();
    assert!(matches!(error, ProjectorError::Injected(_)), "{error}");
    assert_eq!(commits.load(Ordering::SeqCst), 4);
    // Three batches of five are in; the fourth left no trace.
    assert_eq!(w.app.projector.position().await.unwrap(), fifteenth);
    let checkpoints = w
        .app
        .projector
        .views()
        .checkpoints(Space::Live)
        .await
        .unwrap();
    assert!(
        checkpoints.values().all(|p| *p == fifteenth),
        "{checkpoints:?}"
    );
    let mut newest = LogPosition::START;
    for kind in RowKind::ALL {
        for r in w
            .app
            .projector
            .views()
            .list(Space::Live, kind, &RowFilter::default(), None, 1_000)
            .await
            .unwrap()
        {
            newest = newest.max(r.position);
        }
    }
    assert!(
        newest <= fifteenth,
        "a row from the failed batch survived: position {newest}"
    );
    drop(crashing);

    // "Restart": a new process opens the store; its projector catches up alone.
    w.app.store.close().await;
    let app = w.reopen().await;
    let stats = app.projector.catch_up().await.unwrap();
    assert_eq!(stats.events, SCENARIO_EVENTS - 15);
    // Nothing doubled, nothing missing: the hand-worked figures, and a clean rebuild.
    assert_hand_figures(&app).await;
    let report = app.projector.verify(&|_, _| {}).await.unwrap();
    assert!(report.is_ok(), "{report:?}");
}

async fn a_rebuild_that_fails_midway_leaves_the_live_views_untouched(w: World) {
    scenario(&w.app, true).await;
    let (failpoint, _) = fail_at(2);
    let crashing = w.crashing_projector(failpoint, 10);
    assert!(crashing.rebuild(&ViewName::ALL, &|_, _| {}).await.is_err());
    assert_hand_figures(&w.app).await;
    let report = w.app.projector.verify(&|_, _| {}).await.unwrap();
    assert!(report.is_ok(), "{report:?}");
}

/// An event no view can read stops the views right after the last page
/// before it — including a page whose commit is still in flight when the
/// bad event is met (commits run beside the next page's work) — and the
/// error names the event's position.
async fn an_unreadable_event_stops_the_views_after_the_page_before_it(w: World) {
    scenario(&w.app, false).await;
    w.sql(&format!(
        "INSERT INTO events (event_id, aggregate_type, aggregate_id, sequence, event_type,
                             event_version, payload, metadata, prev_hash, hash)
         VALUES ('{}', 'payout_batch', 'PB-1', 1, 'BatchPaid', '1.0',
                 '{{\"BatchPaid\": {{}}}}', '{{}}', '{zeros}', '{zeros}')",
        Uuid::now_v7(),
        zeros = "0".repeat(64)
    ))
    .await;
    let log = w.settled_log().await;
    assert_eq!(log.len() as u64, SCENARIO_EVENTS + 1);
    let bad = log[SCENARIO_EVENTS as usize].log_position;
    // Pages of five: 50 events in ten pages, then the page holding 51–53.
    let error = w.projector(5).catch_up().await.unwrap_err();
    match error {
        ProjectorError::Projection { position, .. } => assert_eq!(position, bad),
        other => panic!("expected the bad event to be named, got {other}"),
    }
    let fiftieth = log[49].log_position;
    assert_eq!(w.app.projector.position().await.unwrap(), fiftieth);
    // Nothing of the events after the fiftieth reached a row.
    for kind in RowKind::ALL {
        for r in w
            .app
            .projector
            .views()
            .list(Space::Live, kind, &RowFilter::default(), None, 1_000)
            .await
            .unwrap()
        {
            assert!(
                r.position <= fiftieth,
                "{} {} at {}",
                kind.as_str(),
                r.key,
                r.position
            );
        }
    }
}

// ---------------------------------------------------------------- verify catches tampering

async fn verify_fails_naming_rows_altered_behind_its_back(w: World) {
    scenario(&w.app, true).await;
    assert!(w.app.projector.verify(&|_, _| {}).await.unwrap().is_ok());

    // 8,500.00 becomes 9,500.00 in the special-assistance balance.
    let changed = w
        .sql(
            "UPDATE view_rows SET doc = replace(doc, '\"balance_fen\":850000', '\"balance_fen\":950000')
              WHERE kind = 'fund_balance' AND key = 'special_assistance'",
        )
        .await;
    assert_eq!(changed, 1);
    // A claim row disappears; a payout appears from nowhere.
    assert_eq!(
        w.sql("DELETE FROM view_rows WHERE kind = 'plan_claim' AND key = 'C3'")
            .await,
        1
    );
    assert_eq!(
        w.sql(
            "INSERT INTO view_rows (kind, key, parent, tag, doc, log_commit, position)
             SELECT kind, 'grant:HF-1:G9', parent, tag, doc, log_commit, position
               FROM view_rows WHERE kind = 'payout' AND key = 'grant:HF-1:G1'"
        )
        .await,
        1
    );

    let report = w.app.projector.verify(&|_, _| {}).await.unwrap();
    assert!(!report.is_ok());
    assert!(report.same_position);
    let named: Vec<(String, String, bool, bool)> = report
        .diff
        .rows
        .iter()
        .map(|d| {
            (
                d.kind.clone(),
                d.key.clone(),
                d.live.is_some(),
                d.rebuilt.is_some(),
            )
        })
        .collect();
    assert_eq!(
        named,
        [
            (
                "fund_balance".into(),
                "special_assistance".into(),
                true,
                true
            ),
            ("payout".into(), "grant:HF-1:G9".into(), true, false),
            ("plan_claim".into(), "C3".into(), false, true),
        ]
    );

    // The command line says the same, names the rows and exits 7.
    let output = w
        .cli()
        .args(["--lang", "en", "projections", "verify"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(7));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("fund_balance special_assistance"),
        "{stdout}"
    );
    assert!(stdout.contains("balance_fen: 950000 ≠ 850000"), "{stdout}");
    assert!(stdout.contains("payout grant:HF-1:G9"), "{stdout}");
    assert!(stdout.contains("plan_claim C3"), "{stdout}");

    // A rebuild repairs the views.
    w.app
        .projector
        .rebuild(&ViewName::ALL, &|_, _| {})
        .await
        .unwrap();
    assert!(w.app.projector.verify(&|_, _| {}).await.unwrap().is_ok());
    assert_hand_figures(&w.app).await;
}

async fn an_overdrawn_fund_is_flagged_and_fails_verify(w: World) {
    // The store refuses to overdraw a fund, so an overdrawn one can only come
    // from history written before it checked: here, a log copied without the
    // festival fund's appropriation (its own stream, so every chain holds).
    let source = world().await;
    let app = &source.app;
    run(&app.funds, "SA", WU, "2026-01-05", json!({"Appropriate": {"appropriation_id": "BK-1", "fund": "special_assistance", "amount_fen": yuan(100), "source": "上级工会", "received_on": "2026-01-05", "note": null}})).await;
    run(&app.funds, "FE", WU, "2026-01-05", json!({"Appropriate": {"appropriation_id": "BK-2", "fund": "festival", "amount_fen": yuan(300), "source": "上级工会", "received_on": "2026-01-05", "note": null}})).await;
    let household = json!({
        "head": {"name": "陈建国", "resident_id": rid(100), "phone": "13905941234", "employer_unit": "振兴", "grassroots_union": "振兴工会", "migrant_worker": false, "mobile_member": false},
        "members": [], "monthly_income_per_capita_fen": yuan(620), "local_minimum_standard_fen": yuan(800), "causes": ["illness"]
    });
    run(
        &app.files,
        "HF-1",
        LIN,
        "2026-03-02",
        json!({"OpenFile": {"household": household, "opened_on": "2026-03-02"}}),
    )
    .await;
    run(&app.files, "HF-1", LIN, "2026-03-03", json!({"LogVisit": {"visit_id": "V1", "visited_on": "2026-03-03", "kind": "verification", "caseworkers": ["林晓梅"], "findings": "属实", "facts_verified": [], "contact_card_issued": false, "cash_handover": null}})).await;
    run(
        &app.files,
        "HF-1",
        HUANG,
        "2026-03-04",
        json!({"Verify": {"outcome": {"confirmed": {"note": "属实"}}}}),
    )
    .await;
    run(
        &app.files,
        "HF-1",
        LIN,
        "2026-03-05",
        json!({"AdoptPlan": {"goal": "慰问", "measures": measures(1_000)}}),
    )
    .await;
    run(&app.files, "HF-1", LIN, "2026-03-06", json!({"RequestGrant": {"grant_id": "G1", "measure_id": "M3", "amount_fen": yuan(300), "payee": {"bank_transfer": {"card": card(), "account_name": "陈建国"}}, "note": null}})).await;
    run(
        &app.files,
        "HF-1",
        HUANG,
        "2026-03-07",
        json!({"ApproveGrant": {"grant_id": "G1"}}),
    )
    .await;
    run(&app.files, "HF-1", WU, "2026-03-08", json!({"RecordGrantPaid": {"grant_id": "G1", "paid_on": "2026-03-08", "reference": "BOC-1"}})).await;
    let history: Vec<StoredEvent> = source
        .settled_log()
        .await
        .into_iter()
        .filter(|e| e.aggregate_id != "FE")
        .collect();
    // An import never refuses history; it records the balance as it comes out.
    w.app.store.import(&history).await.unwrap();
    let balances = w.app.store.money_balances().await.unwrap();
    assert!(balances.contains(&("fund".into(), "festival".into(), -yuan(300))));
    let last = w
        .app
        .store
        .last_event()
        .await
        .unwrap()
        .unwrap()
        .log_position;
    assert!(w.app.projector.catch_up_to(last).await.unwrap() >= last);

    let funds = w.app.projector.funds().await.unwrap();
    let festival = funds.iter().find(|f| f.fund == Fund::Festival).unwrap();
    assert_eq!(
        (
            festival.balance_fen,
            festival.overdrawn_fen,
            festival.overdrawn
        ),
        (Fen::ZERO, y(300), true)
    );
    let sa = funds
        .iter()
        .find(|f| f.fund == Fund::SpecialAssistance)
        .unwrap();
    assert_eq!((sa.balance_fen, sa.overdrawn), (y(100), false));

    let report = w.app.projector.verify(&|_, _| {}).await.unwrap();
    assert!(
        report.diff.rows.is_empty(),
        "the views themselves are right"
    );
    assert_eq!(
        report.overdrawn.iter().map(|f| f.fund).collect::<Vec<_>>(),
        [Fund::Festival]
    );
    assert!(!report.is_ok());
    let output = w.cli().args(["view", "fund-balances"]).output().unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("送温暖资金超支 300.00 元"), "{stdout}");
}

// ---------------------------------------------------------------- two projectors, one store

async fn two_projectors_on_one_store_never_apply_a_batch_twice(w: World) {
    // A second app on the same store: another process, as far as the database knows.
    let other = w.reopen().await;
    let a = w.projector(2);
    let b = Projector::for_store(&other.store).with_batch_events(3);
    let mut last = LogPosition::START;
    for i in 0..40u32 {
        let engine = if i % 2 == 0 {
            &w.app.funds
        } else {
            &other.funds
        };
        let fund = if i % 3 == 0 { "festival" } else { "donation" };
        let committed = run(engine, &format!("F-{fund}"), WU, "2026-01-05", json!({"Appropriate": {"appropriation_id": format!("BK-{i}"), "fund": fund, "amount_fen": yuan(i64::from(i) + 1), "source": "上级工会", "received_on": "2026-01-05", "note": null}})).await;
        last = last.max(committed.last_log_position.unwrap());
        let (ra, rb) = tokio::join!(a.catch_up(), b.catch_up());
        ra.unwrap();
        rb.unwrap();
    }
    // A third projector (the app's own) finishes whatever the log had not
    // made readable yet (PostgreSQL) — the same checkpoints again.
    assert!(w.app.projector.catch_up_to(last).await.unwrap() >= last);
    let funds = w.app.projector.funds().await.unwrap();
    let total = |fund: Fund| {
        funds
            .iter()
            .find(|f| f.fund == fund)
            .unwrap()
            .appropriations_fen
    };
    // Σ (i + 1) over i ≡ 0 (mod 3) in 0..40, and over the others.
    let festival: i64 = (0..40).filter(|i| i % 3 == 0).map(|i| i + 1).sum();
    let donation: i64 = (0..40).filter(|i| i % 3 != 0).map(|i| i + 1).sum();
    assert_eq!(total(Fund::Festival), y(festival));
    assert_eq!(total(Fund::Donation), y(donation));
    assert!(w
        .app
        .projector
        .verify(&|_, _| {})
        .await
        .unwrap()
        .diff
        .rows
        .is_empty());
}

// ---------------------------------------------------------------- Putian period 7 through the store

async fn a_putian_shaped_period_in_the_store_shows_its_figures_to_the_fen(w: World) {
    use cqrs_es::persist::SerializedEvent;
    let mut last = LogPosition::START;
    for stream in projections::testing::putian_period_7("putian-07") {
        let events: Vec<SerializedEvent> = stream
            .events
            .iter()
            .enumerate()
            .map(|(i, e)| SerializedEvent {
                aggregate_id: stream.aggregate_id.clone(),
                sequence: i + 1,
                aggregate_type: stream.aggregate_type.to_string(),
                event_type: e.type_name(),
                event_version: "1.0".into(),
                payload: e.to_payload(),
                metadata: json!({"actor_id": "lin.hong"}),
            })
            .collect();
        let appended = w
            .app
            .store
            .append(stream.aggregate_type, &events, None)
            .await
            .unwrap();
        last = last.max(appended.last().unwrap().log_position);
    }
    assert!(w.app.projector.catch_up_to(last).await.unwrap() >= last);
    let report = bangfu::read::reports::plan_period_report(&w.app, "putian-07")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((report.period.units, report.period.members), (125, 13_805));
    assert_eq!(
        report.period.contributions_fen.to_yuan_grouped(),
        "596,436.00"
    );
    assert_eq!(report.claims_with_subsidy, 203);
    assert_eq!(report.subsidies_paid_fen.to_yuan_grouped(), "58,917.86");
    assert_eq!(report.subsidies_approved_fen, fen(5_891_786));
    assert_eq!(report.units.len(), 125);
    assert_eq!(report.units_contribution_fen(), fen(59_643_600));

    let output = w
        .cli()
        .args(["view", "plan-period", "putian-07"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("参加单位 125 家，参保职工 13805 人，收缴互助金 596,436.00 元"),
        "{stdout}"
    );
    assert!(
        stdout.contains("批准补助 203 人 58,917.86 元，已发放 58,917.86 元"),
        "{stdout}"
    );
}

async fn every_row_kind_is_written_by_the_scenario(w: World) {
    scenario(&w.app, false).await;
    w.settled_log().await;
    w.app.projector.catch_up().await.unwrap();
    payout_batch(&w.app).await;
    w.settled_log().await;
    w.app.projector.catch_up().await.unwrap();
    let rows = live_rows(&w.app.projector).await;
    for kind in RowKind::ALL {
        assert!(rows.iter().any(|r| r.kind == kind), "{kind:?}");
    }
    // Personal data in rows is masked: no full resident ID or card number anywhere.
    let everything: String = rows.iter().map(|r| r.doc.as_str()).collect();
    for n in [1, 2, 4, 5, 100] {
        assert!(
            !everything.contains(&rid(n)),
            "resident ID {n} unmasked in a view"
        );
    }
    assert!(!everything.contains(&card()), "card unmasked in a view");
    assert!(!everything.contains("住院治疗"), "diagnosis in a view");
    assert!(!everything.contains("情况属实"), "visit findings in a view");
}

// ---------------------------------------------------------------- the matrix

on_every_store!(
    "projections", 2, world;
    a_scripted_scenario_shows_every_figure_worked_out_by_hand,
    views_left_behind_catch_up_by_themselves_in_small_batches,
    a_projector_stopped_between_writing_rows_and_committing_loses_nothing,
    a_rebuild_that_fails_midway_leaves_the_live_views_untouched,
    verify_fails_naming_rows_altered_behind_its_back,
    an_overdrawn_fund_is_flagged_and_fails_verify,
    two_projectors_on_one_store_never_apply_a_batch_twice,
    an_unreadable_event_stops_the_views_after_the_page_before_it,
    a_putian_shaped_period_in_the_store_shows_its_figures_to_the_fen,
    every_row_kind_is_written_by_the_scenario,
);

// ---------------------------------------------------------------- SQLite's global order

#[tokio::test]
async fn read_all_pages_through_the_global_log_in_commit_order() {
    let w = world().await;
    scenario(&w.app, false).await;
    let mut after = 0;
    let mut seen = 0;
    loop {
        let page = w
            .app
            .store
            .as_sqlite()
            .unwrap()
            .read_log(LogPosition::at(after), 7)
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 7);
        for e in &page {
            assert_eq!(e.position, after + 1, "positions run 1, 2, 3… with no gap");
            assert_eq!(e.log_position, LogPosition::at(e.position));
            after = e.position;
            seen += 1;
        }
    }
    assert_eq!(seen, SCENARIO_EVENTS);
    assert_eq!(
        w.app
            .store
            .as_sqlite()
            .unwrap()
            .head_position()
            .await
            .unwrap(),
        SCENARIO_EVENTS
    );
}

// ---------------------------------------------------------------- the command line

#[test]
fn the_cli_reads_its_own_writes_and_prints_the_views() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bangfu.db");
    let bangfu = || {
        let mut c = assert_cmd::Command::cargo_bin("bangfu").unwrap();
        c.arg("--db").arg(&db);
        c
    };
    let body = json!({"Appropriate": {"appropriation_id": "BK-1", "fund": "festival", "amount_fen": 123456, "source": "莆田市总工会", "received_on": "2026-01-05", "note": null}});
    let out = bangfu()
        .args([
            "run",
            "fund-account",
            "FE-2026",
            "--actor",
            "wu.haiyan",
            "--role",
            "finance",
        ])
        .write_stdin(body.to_string())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("视图已更新至事件位置 1"));

    let body = json!({"ReverseAppropriation": {"appropriation_id": "BK-1", "reason": "重复"}});
    let out = bangfu()
        .args([
            "run",
            "fund-account",
            "FE-2026",
            "--actor",
            "wu.haiyan",
            "--role",
            "finance",
            "--json",
        ])
        .write_stdin(body.to_string())
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    // A log position: on SQLite its commit part is always 0.
    assert_eq!(doc["views_position"], json!({"commit": 0, "position": 2}));
    assert_eq!(doc["views_error"], Value::Null);

    let out = bangfu()
        .args(["view", "fund-balances", "--json"])
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["views_position"], json!({"commit": 0, "position": 2}));
    let festival = doc["funds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["fund"] == "festival")
        .unwrap()
        .clone();
    assert_eq!(festival["appropriations_fen"], json!(123456));
    assert_eq!(festival["appropriations_reversed_fen"], json!(123456));
    assert_eq!(festival["balance_fen"], json!(0));

    let out = bangfu()
        .args(["--lang", "en", "view", "fund-balances"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("festival condolence fund") && text.contains("position 2"),
        "{text}"
    );

    // Unknown ids and bad filters are refused clearly.
    let out = bangfu()
        .args(["view", "household-file", "HF-404"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(8));
    assert!(String::from_utf8_lossy(&out.stderr).contains("没有找到一户一档 HF-404"));
    let out = bangfu()
        .args(["view", "payout-ledger", "--month", "2026-13"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = bangfu()
        .args(["view", "payout-ledger", "--fund", "lottery"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));

    let out = bangfu()
        .args(["projections", "rebuild", "--view", "fund-balances"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("处理事件 2 个"));
    // Not a terminal: no progress bar on stderr.
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = bangfu().args(["projections", "verify"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

// ---------------------------------------------------------------- random command sequences

/// One step of a random history over a small fixed world. Steps that take
/// something through its life (a grant, a claim, an allocation) run its
/// commands up to `until`; a refusal on the way is fine (random histories
/// break rules), whatever was accepted stays.
#[derive(Clone, Debug)]
enum Op {
    Appropriate {
        festival: bool,
        amount: i64,
    },
    Donate {
        unit: u8,
        donors: u32,
        amount: i64,
    },
    Reverse {
        receipt: usize,
    },
    Allocation {
        target: u8,
        amount: i64,
        until: u8,
    },
    Grant {
        measure: u8,
        amount: i64,
        cash: bool,
        until: u8,
    },
    Revise {
        m1: i64,
    },
    Amend {
        add: bool,
    },
    Claim {
        member: u8,
        net: i64,
        until: u8,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => (any::<bool>(), 1i64..3_000).prop_map(|(festival, amount)| Op::Appropriate { festival, amount }),
        3 => (0u8..2, 1u32..40, 1i64..2_000).prop_map(|(unit, donors, amount)| Op::Donate { unit, donors, amount }),
        1 => (0usize..40).prop_map(|receipt| Op::Reverse { receipt }),
        2 => (0u8..4, 1i64..800, 0u8..3).prop_map(|(target, amount, until)| Op::Allocation { target, amount, until }),
        3 => (0u8..3, 1i64..600, any::<bool>(), 0u8..4).prop_map(|(measure, amount, cash, until)| Op::Grant { measure, amount, cash, until }),
        1 => (2_000i64..9_000).prop_map(|m1| Op::Revise { m1 }),
        1 => any::<bool>().prop_map(|add| Op::Amend { add }),
        3 => (0u8..6, 1_000i64..40_000, 0u8..7).prop_map(|(member, net, until)| Op::Claim { member, net, until }),
    ]
}

/// Runs one random op (the `i`th).
async fn apply_op(app: &App, op: &Op, i: usize) {
    async fn attempt<A>(engine: &Engine<A>, id: &str, who: (&str, Role), body: Value) -> bool
    where
        A: CaseAggregate,
        A::Error: ErrorCode,
    {
        let bytes = serde_json::to_vec(&body).unwrap();
        execute_json(engine, id, &bytes, ctx(who, "2026-07-10"))
            .await
            .is_ok()
    }
    match op {
        Op::Appropriate { festival, amount } => {
            let (id, fund) = if *festival {
                ("FE", "festival")
            } else {
                ("SA", "special_assistance")
            };
            attempt(&app.funds, id, WU, json!({"Appropriate": {"appropriation_id": format!("BK-{i}"), "fund": fund, "amount_fen": yuan(*amount), "source": "上级工会", "received_on": "2026-07-01", "note": null}})).await;
        }
        Op::Donate {
            unit,
            donors,
            amount,
        } => {
            attempt(&app.campaigns, "YRJ", LIN, json!({"RecordDonation": {"receipt_no": format!("R{i}"), "unit_id": format!("D{unit}"), "donor": null, "donor_count": donors, "amount_fen": yuan(*amount), "channel": "cash", "donated_on": "2026-07-01"}})).await;
        }
        Op::Reverse { receipt } => {
            attempt(&app.campaigns, "YRJ", WU, json!({"ReverseDonation": {"receipt_no": format!("R{}", receipt % i.max(1)), "reason": "冲销"}})).await;
        }
        Op::Allocation {
            target,
            amount,
            until,
        } => {
            let target = match target {
                0 => json!({"hardship_measure": {"file_id": "HF-1", "measure_id": "M1"}}),
                1 => json!({"hardship_measure": {"file_id": "HF-1", "measure_id": "M2"}}),
                2 => json!({"hardship_measure": {"file_id": "HF-1", "measure_id": "M3"}}),
                _ => json!({"claim": {"claim_id": "C0"}}),
            };
            let id = format!("A{i}");
            if attempt(&app.campaigns, "YRJ", LIN, json!({"ProposeAllocation": {"allocation_id": id, "target": target, "amount_fen": yuan(*amount), "note": "拨付"}})).await {
                match until {
                    0 => {}
                    1 => { attempt(&app.campaigns, "YRJ", HUANG, json!({"ApproveAllocation": {"allocation_id": id}})).await; }
                    _ => { attempt(&app.campaigns, "YRJ", HUANG, json!({"RejectAllocation": {"allocation_id": id, "reason": "不符"}})).await; }
                }
            }
        }
        Op::Grant {
            measure,
            amount,
            cash,
            until,
        } => {
            let payee = if *cash {
                json!("cash")
            } else {
                json!({"bank_transfer": {"card": card(), "account_name": "陈建国"}})
            };
            let id = format!("G{i}");
            let f = |body: Value| attempt(&app.files, "HF-1", LIN, body);
            if !f(json!({"RequestGrant": {"grant_id": id, "measure_id": format!("M{}", measure + 1), "amount_fen": yuan(*amount), "payee": payee, "note": null}})).await || *until == 0 {
                return;
            }
            if *until == 1 {
                attempt(
                    &app.files,
                    "HF-1",
                    HUANG,
                    json!({"DeclineGrant": {"grant_id": id, "reason": "不符"}}),
                )
                .await;
                return;
            }
            if !attempt(
                &app.files,
                "HF-1",
                HUANG,
                json!({"ApproveGrant": {"grant_id": id}}),
            )
            .await
                || *until == 2
            {
                return;
            }
            if *cash {
                f(json!({"LogVisit": {"visit_id": format!("V{i}"), "visited_on": "2026-07-10", "kind": "festival_condolence", "caseworkers": ["林晓梅"], "findings": "慰问", "facts_verified": [], "contact_card_issued": false, "cash_handover": {"grant_id": id, "amount_fen": yuan(*amount), "signed_by": "陈建国"}}})).await;
            } else {
                attempt(&app.files, "HF-1", WU, json!({"RecordGrantPaid": {"grant_id": id, "paid_on": "2026-07-10", "reference": format!("BOC-{i}")}})).await;
            }
        }
        Op::Revise { m1 } => {
            attempt(&app.files, "HF-1", LIN, json!({"RevisePlan": {"reason": "调整", "goal": "减轻负担", "measures": measures(*m1)}})).await;
        }
        Op::Amend { add } => {
            let body = if *add {
                json!({"AmendRoster": {"unit_id": "U0", "add": [enrolee(300 + i as u32, "新职工", false)], "remove": [], "additional_contribution_fen": yuan(40), "reason": "入职"}})
            } else {
                json!({"AmendRoster": {"unit_id": "U0", "add": [], "remove": [rid(205)], "additional_contribution_fen": 0, "reason": "离职"}})
            };
            attempt(&app.plans, "P7", LIN, body).await;
        }
        Op::Claim { member, net, until } => {
            // Claim ids C0, C1…: an allocation may target C0.
            let id = format!("C{i}");
            let day = format!("2026-{:02}-{:02}", 1 + i % 12, 1 + i % 28);
            let submit = claim(
                &id,
                200 + u32::from(*member),
                "职工",
                net + 1_000,
                1_000,
                &day,
            );
            if !attempt(&app.claims, &id, LIN, submit).await {
                return;
            }
            let steps = [
                (
                    LIN,
                    json!({"ReviewDocuments": {"complete": true, "note": "齐全"}}),
                ),
                (LIN, json!({"Assess": {}})),
                (HUANG, json!({"Approve": {}})),
                (
                    WU,
                    json!({"MarkPaid": {"paid_on": "2026-07-10", "reference": format!("HZ-{i}"), "card": null}}),
                ),
            ];
            let rejected = [
                (
                    LIN,
                    json!({"ReviewDocuments": {"complete": false, "note": "缺发票"}}),
                ),
                (
                    HUANG,
                    json!({"Reject": {"reason": "documents_incomplete", "note": "缺发票"}}),
                ),
                (LIN, json!({"Appeal": {"grounds": "已补交"}})),
                (
                    LIN,
                    json!({"ReviewDocuments": {"complete": true, "note": "齐全"}}),
                ),
                (LIN, json!({"Assess": {}})),
                (HUANG, json!({"Approve": {}})),
            ];
            let path: &[((&str, Role), Value)] = if *until < 5 {
                &steps[..usize::from(*until).min(4)]
            } else {
                &rejected[..usize::from(*until - 3).min(6)]
            };
            for (who, body) in path {
                if !attempt(&app.claims, &id, *who, body.clone()).await {
                    return;
                }
            }
        }
    }
}

/// The fixed world random histories run in: a verified file with a plan, an
/// open period, a launched campaign.
async fn prologue(app: &App) {
    let household = json!({
        "head": {"name": "陈建国", "resident_id": rid(100), "phone": "13905941234", "employer_unit": "振兴", "grassroots_union": "振兴工会", "migrant_worker": true, "mobile_member": false},
        "members": [], "monthly_income_per_capita_fen": yuan(620), "local_minimum_standard_fen": yuan(800), "causes": ["illness"]
    });
    run(
        &app.files,
        "HF-1",
        LIN,
        "2026-03-02",
        json!({"OpenFile": {"household": household, "opened_on": "2026-03-02"}}),
    )
    .await;
    run(&app.files, "HF-1", LIN, "2026-03-03", json!({"LogVisit": {"visit_id": "V0", "visited_on": "2026-03-03", "kind": "verification", "caseworkers": ["林晓梅"], "findings": "属实", "facts_verified": [], "contact_card_issued": true, "cash_handover": null}})).await;
    run(
        &app.files,
        "HF-1",
        HUANG,
        "2026-03-04",
        json!({"Verify": {"outcome": {"confirmed": {"note": "属实"}}}}),
    )
    .await;
    run(
        &app.files,
        "HF-1",
        LIN,
        "2026-03-05",
        json!({"AdoptPlan": {"goal": "减轻负担", "measures": measures(5_000)}}),
    )
    .await;
    run(&app.plans, "P7", LIN, "2026-01-10", json!({"OpenPeriod": {"name": "测试互助期", "period_no": 7, "starts_on": "2026-01-01", "ends_on": "2026-12-31", "policy": policy()}})).await;
    let roster: Vec<Value> = (200..206).map(|n| enrolee(n, "职工", n % 2 == 0)).collect();
    run(&app.plans, "P7", LIN, "2026-01-11", json!({"EnrolUnit": {"unit_id": "U0", "unit_name": "单位", "members": roster, "contribution_fen": yuan(600), "paid_by": "unit"}})).await;
    run(&app.campaigns, "YRJ", LIN, "2026-06-01", json!({"Launch": {"name": "一日捐", "year": 2026, "co_issuers": [], "units": [{"unit_id": "D0", "name": "甲", "headcount": 60}, {"unit_id": "D1", "name": "乙", "headcount": 40}], "starts_on": "2026-06-01", "ends_on": "2026-12-31", "purpose": "general_fund"}})).await;
}

/// Every live row, as stored.
async fn live_rows(projector: &Projector) -> Vec<StoredRow> {
    let mut rows = Vec::new();
    for kind in RowKind::ALL {
        let mut after: Option<String> = None;
        loop {
            let page = projector
                .views()
                .list(
                    Space::Live,
                    kind,
                    &RowFilter::default(),
                    after.as_deref(),
                    100,
                )
                .await
                .unwrap();
            let Some(last) = page.last().map(|r| r.key.clone()) else {
                break;
            };
            rows.extend(page);
            after = Some(last);
        }
    }
    rows.sort();
    rows
}

/// Views updated after every command, in batches of `batch` events, equal
/// views rebuilt from scratch — and the in-memory reference.
async fn incremental_views_equal_a_rebuild(
    w: World,
    ops: &[Op],
    batch: usize,
) -> Result<(), TestCaseError> {
    prologue(&w.app).await;
    let incremental = w.projector(batch);
    incremental.catch_up().await.unwrap();
    for (i, op) in ops.iter().enumerate() {
        apply_op(&w.app, op, i).await;
        incremental.catch_up().await.unwrap();
    }
    // Whatever PostgreSQL had not made readable yet is read now.
    let log = w.settled_log().await;
    let last = log.last().unwrap().log_position;
    assert!(incremental.catch_up_to(last).await.unwrap() >= last);
    let report = w.app.projector.verify(&|_, _| {}).await.unwrap();
    prop_assert!(report.same_position, "{report:?}");
    prop_assert_eq!(report.position, last);
    prop_assert!(
        report.diff.rows.is_empty() && report.diff.omitted == 0,
        "{:?}",
        report.diff
    );

    // The same log through the pure in-memory reference, in one batch.
    let mut reference = MemoryViews::new();
    let recorded: Vec<projections::Recorded> = log
        .iter()
        .map(|e| projections::Recorded {
            position: e.log_position,
            aggregate_id: e.aggregate_id.clone(),
            sequence: e.sequence as u64,
            event: projections::decode(
                &e.aggregate_type,
                &e.event_type,
                &e.event_version,
                &e.payload.to_string(),
            )
            .unwrap(),
            actor: None,
            recorded_at: None,
        })
        .collect();
    reference.apply(&recorded).unwrap();
    let mut expected = reference.stored().unwrap();
    expected.sort();
    prop_assert_eq!(live_rows(&incremental).await, expected);
    Ok(())
}

fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn incremental_views_equal_a_rebuild_on_sqlite(ops in proptest::collection::vec(op(), 5..45), batch in 1usize..5) {
        block_on(async { incremental_views_equal_a_rebuild(world().await, &ops, batch).await })?;
    }
}

proptest! {
    // Fewer cases: each is a fresh PostgreSQL database.
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    #[test]
    fn incremental_views_equal_a_rebuild_on_postgres(ops in proptest::collection::vec(op(), 5..45), batch in 1usize..5) {
        block_on(async {
            match postgres_world("projections::incremental_views_equal_a_rebuild_on_postgres").await {
                Some(w) => incremental_views_equal_a_rebuild(w, &ops, batch).await,
                None => Ok(()),
            }
        })?;
    }
}

// ---------------------------------------------------------------- PostgreSQL: out-of-order commits

/// Writes one `Appropriated` event of a new fund-account stream directly,
/// with a valid hash, inside `conn`'s open transaction — as a writer whose
/// transaction began early and commits late would.
async fn insert_raw_appropriation(conn: &mut sqlx::PgConnection, account: &str, amount_fen: i64) {
    use bangfu::store::hash::{event_hash, HashedEvent, GENESIS_HASH};
    let event_id = Uuid::now_v7();
    let payload = json!({"Appropriated": {
        "appropriation_id": format!("{account}-1"), "fund": "festival", "amount_fen": amount_fen,
        "source": "上级工会", "received_on": "2026-01-05", "note": null,
        "recorded_by": "wu.haiyan", "recorded_at": "2026-01-05T09:00:00Z"
    }});
    let metadata = json!({"event_id": event_id.to_string(), "actor_id": "wu.haiyan"});
    let hash = event_hash(
        GENESIS_HASH,
        &HashedEvent {
            aggregate_type: "fund_account",
            aggregate_id: account,
            sequence: 1,
            event_type: "Appropriated",
            event_version: "1.0",
            payload: &payload,
            metadata: &metadata,
        },
    );
    sqlx::query(
        "INSERT INTO events (event_id, aggregate_type, aggregate_id, sequence, event_type,
                             event_version, payload, metadata, prev_hash, hash)
         VALUES (CAST($1 AS uuid), 'fund_account', $2, 1, 'Appropriated', '1.0',
                 CAST($3 AS json), CAST($4 AS json), $5, $6)",
    )
    .bind(event_id.to_string())
    .bind(account)
    .bind(payload.to_string())
    .bind(metadata.to_string())
    .bind(GENESIS_HASH)
    .bind(&hash)
    .execute(&mut *conn)
    .await
    .unwrap();
}

/// A projector follows PostgreSQL's log while writers commit concurrently
/// and, each round, a transaction that took its id early writes its event
/// late (a position above the others') and commits last. The views never
/// miss or double an event: the festival fund's appropriations equal the
/// sum worked out here, and the views equal a rebuild.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_projector_following_postgres_under_out_of_order_commits_misses_and_doubles_nothing() {
    use sqlx::Connection;
    let Some(w) = postgres_world("projections::a_projector_following_postgres").await else {
        return;
    };
    const WRITERS: u32 = 4;
    const ROUNDS: u32 = 4;
    const COMMITS: u32 = 3;
    let app = Arc::new(w.reopen().await);
    let follower = Arc::new(w.projector(2));
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let follow = {
        let (follower, done) = (Arc::clone(&follower), Arc::clone(&done));
        tokio::spawn(async move {
            let mut runs = 0u32;
            while !done.load(Ordering::SeqCst) {
                follower.catch_up().await.expect("follower run");
                runs += 1;
                tokio::task::yield_now().await;
            }
            runs
        })
    };

    let mut expected_fen = 0i64;
    let mut held: Option<(u32, sqlx::PgConnection)> = None;
    for round in 0..ROUNDS {
        // A slow transaction takes its id now…
        let mut slow = sqlx::PgConnection::connect(&w.url).await.unwrap();
        sqlx::query("BEGIN").execute(&mut slow).await.unwrap();
        sqlx::query("SELECT pg_current_xact_id()")
            .execute(&mut slow)
            .await
            .unwrap();
        // …writers commit around it…
        let mut writers = Vec::new();
        for writer in 0..WRITERS {
            let app = Arc::clone(&app);
            writers.push(tokio::spawn(async move {
                for c in 0..COMMITS {
                    let amount = i64::from(1 + round * 100 + writer * 10 + c);
                    run(&app.funds, &format!("F-{writer}"), WU, "2026-01-05", json!({"Appropriate": {"appropriation_id": format!("BK-{round}-{c}"), "fund": "festival", "amount_fen": amount, "source": "上级工会", "received_on": "2026-01-05", "note": null}})).await;
                }
            }));
            for c in 0..COMMITS {
                expected_fen += i64::from(1 + round * 100 + writer * 10 + c);
            }
        }
        for writer in writers {
            writer.await.unwrap();
        }
        // …and the previous round's slow transaction writes its event only
        // now and commits.
        if let Some((r, mut conn)) = held.take() {
            let amount = 100_000 * i64::from(r + 1);
            insert_raw_appropriation(&mut conn, &format!("F-slow{r}"), amount).await;
            sqlx::query("COMMIT").execute(&mut conn).await.unwrap();
            expected_fen += amount;
        }
        held = Some((round, slow));
    }
    if let Some((r, mut conn)) = held.take() {
        let amount = 100_000 * i64::from(r + 1);
        insert_raw_appropriation(&mut conn, &format!("F-slow{r}"), amount).await;
        sqlx::query("COMMIT").execute(&mut conn).await.unwrap();
        expected_fen += amount;
    }
    done.store(true, Ordering::SeqCst);
    assert!(follow.await.unwrap() > 0);

    let log = w.settled_log().await;
    let total = (WRITERS * ROUNDS * COMMITS + ROUNDS) as usize;
    assert_eq!(log.len(), total);
    // The slow events sit early in the log with late positions: a follower
    // ordering by position alone would have passed them before they committed.
    assert!(
        log.windows(2).any(|p| p[0].position > p[1].position),
        "log order differs from position order"
    );
    let last = log.last().unwrap().log_position;
    assert!(follower.catch_up_to(last).await.unwrap() >= last);
    let festival = follower
        .funds()
        .await
        .unwrap()
        .into_iter()
        .find(|f| f.fund == Fund::Festival)
        .unwrap();
    assert_eq!(festival.appropriations_fen, fen(expected_fen));
    let report = w.app.projector.verify(&|_, _| {}).await.unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.position, last);
}
