//! Money enforced at commit, on both SQL stores with the same code: racing
//! approvals against a fund and against a member's cap — exactly as many
//! commit as the money covers, the rest are refused with the store's error
//! and the balance is what the accepted ones leave — a backfill of a store
//! made before balances existed, and `store copy` replaying movements.

use std::sync::Arc;

use bangfu::app::engine::Engine;
use bangfu::app::services::StoreServices;
use bangfu::app::{execute_json, App, AppError, CaseAggregate};
use bangfu::store::{LogPosition, StoredEvent};
use chrono::{NaiveDate, TimeZone, Utc};
use domain::command::{Actor, CommandContext, Role};
use domain::fund::Fund;
use domain::i18n::ErrorCode;
use domain::money::Account;
use domain::mutual_aid::claim::{MutualAidClaimServices, PlanFacts};
use domain::mutual_aid::{Enrolment, MutualAidClaim};
use domain::services::ServiceError;
use domain::testing::nth_resident_id;
use domain::values::{Code, Fen, ResidentId};
use serde_json::{json, Value};
use tempfile::TempDir;
use tokio::sync::Barrier;
use uuid::Uuid;

use crate::backends::{read_until, Backend};

/// Approvals racing in each test.
const RACERS: usize = 6;

struct World {
    app: Arc<App>,
    url: String,
    backend: Backend,
    _dir: Option<TempDir>,
}

async fn sqlite_world() -> World {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("bangfu.db").display());
    World {
        app: Arc::new(App::open_url(&url).await.expect("open app")),
        url,
        backend: Backend::Sqlite,
        _dir: Some(dir),
    }
}

async fn postgres_world(test: &str) -> Option<World> {
    let url = crate::pg::fresh_database(test).await?;
    Some(World {
        app: Arc::new(App::open_url(&url).await.expect("open app")),
        url,
        backend: Backend::Postgres,
        _dir: None,
    })
}

impl World {
    async fn balance(&self, kind: &str, key: &str) -> Option<i64> {
        let balances = self.app.store.money_balances().await.unwrap();
        balances
            .into_iter()
            .find(|(k, key2, _)| k == kind && key2 == key)
            .map(|b| b.2)
    }

    /// Runs statements behind bangfu's back (one round trip each).
    async fn sql(&self, statements: &[&str]) {
        use sqlx::Connection;
        match self.backend {
            Backend::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&self.url).await.unwrap();
                for s in statements {
                    sqlx::query(s).execute(&mut conn).await.unwrap();
                }
                conn.close().await.unwrap();
            }
            Backend::Postgres => {
                let mut conn = sqlx::PgConnection::connect(&self.url).await.unwrap();
                for s in statements {
                    sqlx::query(s).execute(&mut conn).await.unwrap();
                }
                conn.close().await.unwrap();
            }
            Backend::Kurrent => unreachable!("no SQL on KurrentDB"),
        }
    }
}

fn ctx(who: &str, role: Role) -> CommandContext {
    CommandContext {
        actor: Actor {
            id: Code::parse(who).unwrap(),
            role,
        },
        recorded_at: Utc.with_ymd_and_hms(2026, 6, 1, 9, 0, 0).unwrap(),
        utc_offset_seconds: 0,
        command_id: Uuid::now_v7(),
        correlation_id: Uuid::now_v7(),
    }
}

async fn try_run<A>(engine: &Engine<A>, id: &str, who: &str, body: Value) -> Result<(), AppError>
where
    A: CaseAggregate,
    A::Error: ErrorCode,
{
    let role = match who {
        "huang.zhiqiang" | "zheng.lihua" => Role::Approver,
        "wu.haiyan" => Role::Finance,
        _ => Role::Caseworker,
    };
    let bytes = serde_json::to_vec(&body).unwrap();
    execute_json(engine, id, &bytes, ctx(who, role))
        .await
        .map(drop)
}

async fn run<A>(engine: &Engine<A>, id: &str, who: &str, body: Value)
where
    A: CaseAggregate,
    A::Error: ErrorCode,
{
    try_run(engine, id, who, body)
        .await
        .unwrap_or_else(|e| panic!("{id}: [{}] {e}", e.code()));
}

fn yuan(n: i64) -> i64 {
    n * 100
}

async fn appropriate(app: &App, account: &str, fund: &str, id: &str, amount_fen: i64) {
    run(
        &app.funds,
        account,
        "wu.haiyan",
        json!({"Appropriate": {
        "appropriation_id": id, "fund": fund, "amount_fen": amount_fen,
        "source": "莆田市总工会", "received_on": "2026-01-05", "note": null}}),
    )
    .await;
}

/// A verified file with a plan (one festival measure) and a pending grant of
/// 400 yuan from the festival fund.
async fn file_with_pending_grant(app: &App, id: &str, person: u32) {
    let household = json!({
        "head": {"name": "陈建国", "resident_id": nth_resident_id(person).expose(), "phone": "13905941234", "employer_unit": "振兴", "grassroots_union": "振兴工会", "migrant_worker": false, "mobile_member": false},
        "members": [], "monthly_income_per_capita_fen": yuan(620), "local_minimum_standard_fen": yuan(800), "causes": ["illness"]
    });
    let files = &app.files;
    run(
        files,
        id,
        "lin.xiaomei",
        json!({"OpenFile": {"household": household, "opened_on": "2026-03-02"}}),
    )
    .await;
    run(files, id, "lin.xiaomei", json!({"LogVisit": {"visit_id": "V1", "visited_on": "2026-03-03", "kind": "verification", "caseworkers": ["林晓梅"], "findings": "属实", "facts_verified": [], "contact_card_issued": false, "cash_handover": null}})).await;
    run(
        files,
        id,
        "huang.zhiqiang",
        json!({"Verify": {"outcome": {"confirmed": {"note": "属实"}}}}),
    )
    .await;
    run(files, id, "lin.xiaomei", json!({"AdoptPlan": {"goal": "慰问", "measures": [
        {"measure_id": "M1", "kind": "festival_condolence", "description": "送温暖慰问金", "planned_amount_fen": yuan(1_000), "fund": "festival", "due_on": "2026-09-30"}]}})).await;
    run(files, id, "lin.xiaomei", json!({"RequestGrant": {"grant_id": "G1", "measure_id": "M1", "amount_fen": yuan(400), "payee": "cash", "note": null}})).await;
}

/// Starts every racer at once and collects the outcomes.
async fn race<F, Fut>(racers: usize, start: F) -> Vec<Result<(), AppError>>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Result<(), AppError>> + Send + 'static,
{
    let barrier = Arc::new(Barrier::new(racers));
    let tasks: Vec<_> = (0..racers)
        .map(|i| {
            let (barrier, work) = (Arc::clone(&barrier), start(i));
            tokio::spawn(async move {
                barrier.wait().await;
                work.await
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }
    outcomes
}

// ---------------------------------------------------------------- a fund

async fn racing_grant_approvals_take_only_what_the_fund_holds(w: World) {
    // 1,200 yuan covers three of six grants of 400.
    appropriate(&w.app, "FE", "festival", "BK-1", yuan(1_200)).await;
    for i in 0..RACERS {
        file_with_pending_grant(&w.app, &format!("HF-{i}"), i as u32).await;
    }
    let before = w.app.store.count_events().await.unwrap();
    let app = Arc::clone(&w.app);
    let outcomes = race(RACERS, |i| {
        let app = Arc::clone(&app);
        async move {
            let body = json!({"ApproveGrant": {"grant_id": "G1"}});
            try_run(&app.files, &format!("HF-{i}"), "huang.zhiqiang", body).await
        }
    })
    .await;
    let accepted = outcomes.iter().filter(|o| o.is_ok()).count();
    assert_eq!(accepted, 3, "{outcomes:?}");
    for refused in outcomes.iter().filter_map(|o| o.as_ref().err()) {
        let AppError::InsufficientFunds(refused) = refused else {
            panic!("refused by the store's check, not {refused:?}");
        };
        assert_eq!(refused.account, Account::Fund(Fund::Festival));
        assert_eq!(refused.asked_fen, yuan(400));
        assert!(refused.available_fen < yuan(400), "{refused:?}");
        assert_eq!(refused.code(), "money.insufficient_funds");
    }
    // Nothing of a refused command was written.
    assert_eq!(w.app.store.count_events().await.unwrap(), before + 3);
    assert_eq!(w.balance("fund", "festival").await, Some(0));

    // The view agrees: 1,200 committed, nothing available, not overdrawn.
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
            festival.grants_approved_fen.fen(),
            festival.committed_fen.fen(),
            festival.available_fen.fen(),
            festival.balance_fen.fen(),
            festival.overdrawn
        ),
        (yuan(1_200), yuan(1_200), 0, yuan(1_200), false)
    );
    assert!(w.app.projector.verify(&|_, _| {}).await.unwrap().is_ok());

    // Paying moves nothing more: the money was taken at approval.
    let (winner, _) = outcomes
        .iter()
        .enumerate()
        .find(|(_, o)| o.is_ok())
        .unwrap();
    let visit = json!({"LogVisit": {"visit_id": "V2", "visited_on": "2026-06-01", "kind": "festival_condolence", "caseworkers": ["林晓梅"], "findings": "慰问", "facts_verified": [], "contact_card_issued": false, "cash_handover": {"grant_id": "G1", "amount_fen": yuan(400), "signed_by": "陈建国"}}});
    run(&w.app.files, &format!("HF-{winner}"), "lin.xiaomei", visit).await;
    assert_eq!(w.balance("fund", "festival").await, Some(0));
}

// ---------------------------------------------------------------- a member's cap

/// Store services that never see a member's earlier subsidies, so every
/// claim passes the aggregate's own cap check and only the store's stands.
struct BlindToTheCap(StoreServices);

#[async_trait::async_trait]
impl MutualAidClaimServices for BlindToTheCap {
    async fn plan_period(&self, plan_id: &Code) -> Result<Option<PlanFacts>, ServiceError> {
        self.0.plan_period(plan_id).await
    }
    async fn enrolment(
        &self,
        plan_id: &Code,
        member: &ResidentId,
    ) -> Result<Option<Enrolment>, ServiceError> {
        self.0.enrolment(plan_id, member).await
    }
    async fn stay_claimed_by(
        &self,
        member: &ResidentId,
        admitted_on: NaiveDate,
    ) -> Result<Option<String>, ServiceError> {
        self.0.stay_claimed_by(member, admitted_on).await
    }
    async fn subsidies_in_period(
        &self,
        _plan_id: &Code,
        _member: &ResidentId,
        _except_claim: &str,
    ) -> Result<Fen, ServiceError> {
        Ok(Fen::ZERO)
    }
}

async fn racing_claim_approvals_stop_at_the_members_cap(w: World) {
    // Cap 3,000 yuan; each stay is top tier: 800 × 1.3 = 1,040 yuan, so two fit.
    appropriate(&w.app, "MA", "mutual_aid", "BK-1", yuan(100_000)).await;
    let plans = &w.app.plans;
    run(plans, "P7", "lin.xiaomei", json!({"OpenPeriod": {"name": "测试互助第七期", "period_no": 7, "starts_on": "2026-01-01", "ends_on": "2026-12-31", "policy": {
        "version": "test-v1", "threshold_fen": yuan(5000),
        "tiers": [{"from_fen": yuan(5000), "amount_fen": yuan(200)}, {"from_fen": yuan(20000), "amount_fen": yuan(800)}],
        "period_uplift_bp": 3000, "migrant_uplift_bp": 3000, "cap_per_member_fen": yuan(3000)}}})).await;
    let member = nth_resident_id(1);
    run(plans, "P7", "lin.xiaomei", json!({"EnrolUnit": {"unit_id": "U1", "unit_name": "振兴鞋服", "members": [{"resident_id": member.expose(), "name": "职工甲", "migrant_worker": false}], "contribution_fen": yuan(40), "paid_by": "unit"}})).await;
    let claims = Arc::new(Engine::<MutualAidClaim>::new(
        w.app.store.clone(),
        Arc::new(BlindToTheCap(StoreServices::new(w.app.store.clone())))
            as Arc<dyn MutualAidClaimServices>,
        None,
    ));
    for i in 0..RACERS {
        let id = format!("C{i}");
        let day = format!("2026-03-{:02}", i + 1);
        run(&claims, &id, "lin.xiaomei", json!({"Submit": {
            "claim_id": id, "plan_id": "P7", "member": member.expose(), "member_name": "职工甲",
            "hospital": "莆田学院附属医院", "admitted_on": day, "discharged_on": day,
            "diagnosis": "住院治疗", "total_cost_fen": yuan(40_000), "basic_insurance_fen": yuan(10_000),
            "other_reimbursement_fen": 0, "documents": ["住院发票"]}})).await;
        run(
            &claims,
            &id,
            "lin.xiaomei",
            json!({"ReviewDocuments": {"complete": true, "note": "齐全"}}),
        )
        .await;
        run(&claims, &id, "zheng.lihua", json!({"Assess": {}})).await;
    }
    let outcomes = race(RACERS, |i| {
        let claims = Arc::clone(&claims);
        async move {
            try_run(
                &claims,
                &format!("C{i}"),
                "huang.zhiqiang",
                json!({"Approve": {}}),
            )
            .await
        }
    })
    .await;
    assert_eq!(
        outcomes.iter().filter(|o| o.is_ok()).count(),
        2,
        "{outcomes:?}"
    );
    let key = format!("P7/{}", member.expose());
    for refused in outcomes.iter().filter_map(|o| o.as_ref().err()) {
        let AppError::InsufficientFunds(refused) = refused else {
            panic!("refused by the store's check, not {refused:?}");
        };
        assert_eq!(refused.code(), "money.cap_exceeded");
        assert_eq!(refused.account.key(), key);
        assert_eq!(
            (refused.available_fen, refused.asked_fen),
            (yuan(3_000 - 2 * 1_040), yuan(1_040))
        );
        // The member's resident ID is never in the message.
        let message = refused.localize(domain::i18n::Lang::Zh);
        assert!(!message.contains(member.expose()), "{message}");
        assert!(message.contains("封顶"), "{message}");
    }
    assert_eq!(
        w.balance("member_cap", &key).await,
        Some(yuan(3_000 - 2 * 1_040))
    );
    assert_eq!(
        w.balance("fund", "mutual_aid").await,
        Some(yuan(100_000 + 40 - 2 * 1_040))
    );
}

// ---------------------------------------------------------------- a campaign

/// The campaign refuses an allocation beyond its money itself (one stream,
/// so optimistic concurrency already makes that race-free); the store keeps
/// the same account, credited and debited as the events say.
async fn a_campaigns_unallocated_money_is_kept_with_its_allocations(w: World) {
    let campaigns = &w.app.campaigns;
    run(campaigns, "YRJ", "lin.xiaomei", json!({"Launch": {"name": "2026年一日捐", "year": 2026, "co_issuers": [], "units": [{"unit_id": "D1", "name": "市直机关", "headcount": 100}], "starts_on": "2026-04-01", "ends_on": "2026-06-30", "purpose": {"designated": {"beneficiary_name": "陈建国", "beneficiary_id": null, "reason": "重病"}}}})).await;
    run(campaigns, "YRJ", "lin.xiaomei", json!({"RecordDonation": {"receipt_no": "R1", "unit_id": "D1", "donor": null, "donor_count": 10, "amount_fen": yuan(500), "channel": "bank_transfer", "donated_on": "2026-04-10"}})).await;
    run(campaigns, "YRJ", "lin.xiaomei", json!({"ProposeAllocation": {"allocation_id": "A1", "target": "designated_beneficiary", "amount_fen": yuan(300), "note": "拨付"}})).await;
    assert_eq!(w.balance("campaign", "YRJ").await, Some(yuan(200)));
    run(
        campaigns,
        "YRJ",
        "huang.zhiqiang",
        json!({"ApproveAllocation": {"allocation_id": "A1"}}),
    )
    .await;
    // The donation fund paid the designated beneficiary at approval.
    assert_eq!(w.balance("fund", "donation").await, Some(yuan(200)));
    run(campaigns, "YRJ", "lin.xiaomei", json!({"ProposeAllocation": {"allocation_id": "A2", "target": "designated_beneficiary", "amount_fen": yuan(150), "note": "拨付"}})).await;
    run(
        campaigns,
        "YRJ",
        "huang.zhiqiang",
        json!({"RejectAllocation": {"allocation_id": "A2", "reason": "重复"}}),
    )
    .await;
    assert_eq!(w.balance("campaign", "YRJ").await, Some(yuan(200)));
}

// ---------------------------------------------------------------- a store from before balances

async fn a_store_from_before_balances_is_backfilled_once_from_its_log(w: World) {
    appropriate(&w.app, "FE", "festival", "BK-1", yuan(1_000)).await;
    file_with_pending_grant(&w.app, "HF-0", 0).await;
    run(
        &w.app.files,
        "HF-0",
        "huang.zhiqiang",
        json!({"ApproveGrant": {"grant_id": "G1"}}),
    )
    .await;
    let before = w.app.store.money_balances().await.unwrap();
    assert!(before.contains(&("fund".into(), "festival".into(), yuan(600))));
    w.app.store.close().await;
    // What an earlier version left: the events, no money tables, the
    // migration that makes them not yet run.
    let version = match w.backend {
        Backend::Sqlite => 12,
        _ => 3,
    };
    let forget = format!("DELETE FROM _sqlx_migrations WHERE version = {version}");
    w.sql(&[
        "DROP TABLE money_accounts",
        "DROP TABLE money_caps",
        "DROP TABLE money_measure_funds",
        "DROP TABLE money_backfill",
        &forget,
    ])
    .await;

    let app = App::open_url(&w.url).await.unwrap();
    assert_eq!(app.store.money_balances().await.unwrap(), before);
    // The backfilled balance is enforced: 600 left, 400 more fits once.
    file_with_pending_grant(&app, "HF-1", 1).await;
    file_with_pending_grant(&app, "HF-2", 2).await;
    let approve = json!({"ApproveGrant": {"grant_id": "G1"}});
    run(&app.files, "HF-1", "huang.zhiqiang", approve.clone()).await;
    let refused = try_run(&app.files, "HF-2", "huang.zhiqiang", approve).await;
    assert!(
        matches!(&refused, Err(AppError::InsufficientFunds(r)) if r.available_fen == yuan(200)),
        "{refused:?}"
    );
    // Opened again, nothing is replayed twice.
    app.store.close().await;
    let again = App::open_url(&w.url).await.unwrap();
    let festival = again.store.money_balances().await.unwrap();
    assert!(festival.contains(&("fund".into(), "festival".into(), yuan(200))));
}

// ---------------------------------------------------------------- copies

async fn a_copy_replays_the_movements_to_the_same_balances(w: World) {
    appropriate(&w.app, "FE", "festival", "BK-1", yuan(1_000)).await;
    file_with_pending_grant(&w.app, "HF-0", 0).await;
    run(
        &w.app.files,
        "HF-0",
        "huang.zhiqiang",
        json!({"ApproveGrant": {"grant_id": "G1"}}),
    )
    .await;
    let n = w.app.store.count_events().await.unwrap() as usize;
    let log: Vec<StoredEvent> = read_until(&w.app.store, LogPosition::START, n, 256).await;
    let target = sqlite_world().await;
    target.app.store.import(&log).await.unwrap();
    assert_eq!(
        target.app.store.money_balances().await.unwrap(),
        w.app.store.money_balances().await.unwrap()
    );
}

on_every_store!(
    "money", 4, sqlite_world;
    racing_grant_approvals_take_only_what_the_fund_holds,
    racing_claim_approvals_stop_at_the_members_cap,
    a_campaigns_unallocated_money_is_kept_with_its_allocations,
    a_store_from_before_balances_is_backfilled_once_from_its_log,
    a_copy_replays_the_movements_to_the_same_balances,
);
