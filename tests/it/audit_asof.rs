//! Audit (issue 13, items 3, 4, 5, 7) on SQLite and PostgreSQL: the past
//! as known and as true (they differ for a payment recorded after the day
//! it was made), aggregates and views as of a log position, over the
//! library, the CLI and HTTP; re-derivation clean on an honest store and
//! failing (exit 9) on a planted self-approval; what-if under another
//! policy; segregation of duties; the read-access log, append-only.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use bangfu::access::users::Users;
use bangfu::app::App;
use bangfu::audit::asof::{self, AsOf};
use bangfu::audit::{access_log, rederive, sod};
use bangfu::http::{ApiState, Limits};
use bangfu::store::{LogPosition, StoredEvent};
use cqrs_es::persist::SerializedEvent;
use domain::command::Role;
use domain::hardship::HardshipFile;
use domain::i18n::Lang;
use domain::testing::nth_resident_id;
use domain::values::Code;
use http_body_util::BodyExt;
use projections::views::funds::FundBalanceRow;
use projections::ViewName;
use serde_json::{json, Value};
use tempfile::TempDir;
use tower::ServiceExt;

use crate::support::run;

const LIN: (&str, Role) = ("lin.xiaomei", Role::Caseworker);
const HUANG: (&str, Role) = ("huang.zhiqiang", Role::Approver);
const WU: (&str, Role) = ("wu.haiyan", Role::Finance);

struct World {
    app: Arc<App>,
    url: String,
    dir: TempDir,
}

async fn sqlite_world() -> World {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("bangfu.db").display());
    World {
        app: Arc::new(App::open_url(&url).await.expect("open app")),
        url,
        dir,
    }
}

async fn postgres_world(test: &str) -> Option<World> {
    let url = crate::pg::fresh_database(test).await?;
    Some(World {
        app: Arc::new(App::open_url(&url).await.expect("open app")),
        url,
        dir: tempfile::tempdir().expect("temp dir"),
    })
}

impl World {
    /// `bangfu --store URL …`.
    fn cli(&self) -> assert_cmd::Command {
        let mut c = assert_cmd::Command::cargo_bin("bangfu").unwrap();
        for var in [
            "BANGFU_DB",
            "BANGFU_LANG",
            "BANGFU_TZ",
            "BANGFU_SOD_PAIRS",
            "RUST_LOG",
        ] {
            c.env_remove(var);
        }
        c.args(["--store", &self.url]);
        c
    }

    async fn history(&self, id: &str) -> Vec<StoredEvent> {
        self.app.store.history("hardship_file", id).await.unwrap()
    }

    /// The API on this store (users in a SQLite file beside it) and a token
    /// per role: caseworker, approver, finance, auditor.
    async fn api(&self) -> (axum::Router, Vec<String>) {
        let users = Users::open(&self.dir.path().join("users.db"))
            .await
            .unwrap();
        let mut tokens = Vec::new();
        for (id, role) in [LIN, HUANG, WU, ("zhou.shenji", Role::Auditor)] {
            let token = users
                .add(&Code::parse(id).unwrap(), &[role], "test")
                .await
                .unwrap();
            tokens.push(token.expose().to_string());
        }
        let state = ApiState::new(Arc::clone(&self.app), users, Limits::default());
        (bangfu::http::router(state), tokens)
    }
}

async fn get(router: &axum::Router, token: &str, uri: &str) -> (StatusCode, Value) {
    let request = Request::builder()
        .method(Method::GET)
        .uri(uri)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// A bank card number that passes the Luhn check.
fn card() -> String {
    (0..10)
        .map(|d| format!("622202123456789012{d}"))
        .find(|c| domain::values::BankCard::parse(c).is_ok())
        .expect("a valid card")
}

/// The body of a GET asking for `accept`.
async fn file(router: &axum::Router, token: &str, uri: &str, accept: &str) -> Vec<u8> {
    let request = Request::builder()
        .method(Method::GET)
        .uri(uri)
        .header("authorization", format!("Bearer {token}"))
        .header("accept", accept)
        .body(Body::empty())
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{uri} as {accept}");
    response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec()
}

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

fn yuan(y: i64) -> i64 {
    y * 100
}

/// 1,200 yuan appropriated into the festival fund; file HF-1 verified with
/// one festival measure of 1,000 yuan; grant G1 of 400 requested (Lin),
/// approved (Huang) on June 20, and paid by the bank on June 28 — but
/// recorded only on July 10 (Wu). Returns the log position of the approval.
async fn scenario(app: &App) -> LogPosition {
    run(
        &app.funds,
        "FE",
        WU,
        "2026-06-01",
        json!({"Appropriate": {
        "appropriation_id": "BK-1", "fund": "festival", "amount_fen": yuan(1_200),
        "source": "莆田市总工会", "received_on": "2026-06-01", "note": null}}),
    )
    .await;
    let household = json!({
        "head": {"name": "陈建国", "resident_id": nth_resident_id(7).expose(), "phone": "13905941234", "employer_unit": "振兴", "grassroots_union": "振兴工会", "migrant_worker": false, "mobile_member": false},
        "members": [], "monthly_income_per_capita_fen": yuan(620), "local_minimum_standard_fen": yuan(800), "causes": ["illness"]
    });
    let f = &app.files;
    run(
        f,
        "HF-1",
        LIN,
        "2026-06-02",
        json!({"OpenFile": {"household": household, "opened_on": "2026-06-02"}}),
    )
    .await;
    run(f, "HF-1", LIN, "2026-06-03", json!({"LogVisit": {"visit_id": "V1", "visited_on": "2026-06-03", "kind": "verification", "caseworkers": ["林晓梅"], "findings": "属实", "facts_verified": [], "contact_card_issued": false, "cash_handover": null}})).await;
    run(
        f,
        "HF-1",
        HUANG,
        "2026-06-04",
        json!({"Verify": {"outcome": {"confirmed": {"note": "属实"}}}}),
    )
    .await;
    run(f, "HF-1", LIN, "2026-06-05", json!({"AdoptPlan": {"goal": "慰问", "measures": [
        {"measure_id": "M1", "kind": "festival_condolence", "description": "送温暖慰问金", "planned_amount_fen": yuan(1_000), "fund": "festival", "due_on": "2026-09-30"}]}})).await;
    let payee = json!({"bank_transfer": {"card": card(), "account_name": "陈建国"}});
    run(f, "HF-1", LIN, "2026-06-06", json!({"RequestGrant": {"grant_id": "G1", "measure_id": "M1", "amount_fen": yuan(400), "payee": payee, "note": null}})).await;
    let approved = run(
        f,
        "HF-1",
        HUANG,
        "2026-06-20",
        json!({"ApproveGrant": {"grant_id": "G1"}}),
    )
    .await;
    run(f, "HF-1", WU, "2026-07-10", json!({"RecordGrantPaid": {"grant_id": "G1", "paid_on": "2026-06-28", "reference": "BANK-628"}})).await;
    approved.last_log_position.expect("committed")
}

fn festival(funds: &[FundBalanceRow]) -> &FundBalanceRow {
    funds
        .iter()
        .find(|f| f.fund == domain::fund::Fund::Festival)
        .expect("festival fund")
}

fn festival_json(doc: &Value) -> &Value {
    doc["funds"]
        .as_array()
        .and_then(|funds| funds.iter().find(|f| f["fund"] == "festival"))
        .unwrap_or(&Value::Null)
}

async fn funds_as_of(app: &App, point: AsOf) -> (Vec<FundBalanceRow>, LogPosition) {
    let (past, at) = asof::app_as_of(app, ViewName::FundBalances, &point)
        .await
        .unwrap();
    (past.projector.funds().await.unwrap(), at)
}

// ---------------------------------------------------------------- as of

async fn the_past_as_known_and_as_true_differ(w: World) {
    let approval = scenario(&w.app).await;
    // "What was true on June 30": the bank paid on June 28.
    let june_30 = AsOf::parse_point("2026-06-30").unwrap();
    let (true_then, _) = funds_as_of(&w.app, june_30).await;
    assert_eq!(festival(&true_then).grants_paid_fen.fen(), yuan(400));
    // "What we knew at the end of June 30" (Beijing): nothing paid yet.
    let known = AsOf::parse_point("2026-06-30T23:59:59+08:00").unwrap();
    let (known_then, at) = funds_as_of(&w.app, known).await;
    assert_eq!(festival(&known_then).grants_paid_fen.fen(), 0);
    assert_eq!(festival(&known_then).grants_approved_fen.fen(), yuan(400));
    assert_eq!(at, approval, "the last event known then is the approval");
    // Today both are known; the live views are untouched by reading the past.
    w.app.projector.catch_up().await.unwrap();
    let today = w.app.projector.funds().await.unwrap();
    assert_eq!(festival(&today).grants_paid_fen.fen(), yuan(400));
    assert!(w.app.projector.verify(&|_, _| {}).await.unwrap().is_ok());

    // An aggregate as of a log position folds only the events up to it.
    let events = w.history("HF-1").await;
    let third = AsOf::Position(events[2].log_position);
    let tz = w.app.clock.tz();
    let past = asof::load_as_of::<HardshipFile>(&w.app.store, "HF-1", &third, tz)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((past.version, past.position), (3, events[2].log_position));
    let whole =
        asof::load_as_of::<HardshipFile>(&w.app.store, "HF-1", &AsOf::Position(approval), tz)
            .await
            .unwrap()
            .unwrap();
    assert_eq!(whole.version, events.len() - 1);
    let before = AsOf::parse_point("2026-05-31").unwrap();
    assert!(
        asof::load_as_of::<HardshipFile>(&w.app.store, "HF-1", &before, tz)
            .await
            .unwrap()
            .is_none()
    );

    // The same over HTTP, and on the command line.
    let (api, tokens) = w.api().await;
    let base = "/v1/views/fund-balances";
    let (status, body) = get(&api, &tokens[3], &format!("{base}?as_of=2026-06-30")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(festival_json(&body)["grants_paid_fen"], yuan(400), "{body}");
    let (_, body) = get(
        &api,
        &tokens[3],
        &format!("{base}?as_of=2026-06-30T15:59:59Z"),
    )
    .await;
    assert_eq!(festival_json(&body)["grants_paid_fen"], 0, "{body}");
    let uri = format!(
        "/v1/hardship-files/HF-1/state?as_of_position={}",
        events[2].log_position
    );
    let (status, body) = get(&api, &tokens[3], &uri).await;
    assert_eq!(
        (status, body["version"].clone()),
        (StatusCode::OK, json!(3)),
        "{body}"
    );
    for bad in [
        "?as_of=2026-13-01",
        "?as_of=yesterday",
        "?as_of_position=-1",
        "?as_of=2026-06-30&as_of_position=3",
        "?when=2026-06-30",
    ] {
        let (status, body) = get(&api, &tokens[3], &format!("{base}{bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
    let out = w
        .cli()
        .args([
            "--lang",
            "en",
            "view",
            "fund-balances",
            "--json",
            "--as-of",
            "2026-06-30T15:59:59Z",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(festival_json(&doc)["grants_paid_fen"], 0, "{doc}");
    let out = w
        .cli()
        .args([
            "show",
            "hardship-file",
            "HF-1",
            "--as-of-position",
            &events[2].log_position.to_string(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["version"], 3, "{doc}");
    let out = w
        .cli()
        .args(["view", "fund-balances", "--as-of", "30/06/2026"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "a bad point is an input error");
}

// ---------------------------------------------------------------- re-derivation

/// Appends, straight through the store, an approval of HF-2's grant G1 by
/// its own requester — what an insider writing events past the aggregate
/// (which refuses it) would do.
async fn plant_self_approval(w: &World) {
    let template = w
        .history("HF-1")
        .await
        .into_iter()
        .find(|e| e.event_type == "GrantApproved")
        .unwrap();
    let next = w.history("HF-2").await.len() + 1;
    let mut payload = template.payload.clone();
    payload["GrantApproved"]["approved_by"] = json!("lin.xiaomei");
    let mut metadata = template.metadata.clone();
    metadata.insert("actor_id".into(), "lin.xiaomei".into());
    metadata.insert("actor_role".into(), "approver".into());
    let forged = SerializedEvent {
        aggregate_id: "HF-2".into(),
        sequence: next,
        aggregate_type: "hardship_file".into(),
        event_type: template.event_type,
        event_version: template.event_version,
        payload,
        metadata: serde_json::to_value(metadata).unwrap(),
    };
    w.app
        .store
        .append("hardship_file", &[forged], None)
        .await
        .unwrap();
}

/// HF-2: a second household with grant G1 of 400 requested by Lin, pending.
async fn second_file(app: &App) {
    let household = json!({
        "head": {"name": "林秀英", "resident_id": nth_resident_id(8).expose(), "phone": "13905940000", "employer_unit": "振兴", "grassroots_union": "振兴工会", "migrant_worker": false, "mobile_member": false},
        "members": [], "monthly_income_per_capita_fen": yuan(500), "local_minimum_standard_fen": yuan(800), "causes": ["illness"]
    });
    let f = &app.files;
    run(
        f,
        "HF-2",
        LIN,
        "2026-06-02",
        json!({"OpenFile": {"household": household, "opened_on": "2026-06-02"}}),
    )
    .await;
    run(f, "HF-2", LIN, "2026-06-03", json!({"LogVisit": {"visit_id": "V1", "visited_on": "2026-06-03", "kind": "verification", "caseworkers": ["林晓梅"], "findings": "属实", "facts_verified": [], "contact_card_issued": false, "cash_handover": null}})).await;
    run(
        f,
        "HF-2",
        HUANG,
        "2026-06-04",
        json!({"Verify": {"outcome": {"confirmed": {"note": "属实"}}}}),
    )
    .await;
    run(f, "HF-2", LIN, "2026-06-05", json!({"AdoptPlan": {"goal": "慰问", "measures": [
        {"measure_id": "M1", "kind": "festival_condolence", "description": "送温暖慰问金", "planned_amount_fen": yuan(500), "fund": "festival", "due_on": "2026-09-30"}]}})).await;
    run(f, "HF-2", LIN, "2026-06-06", json!({"RequestGrant": {"grant_id": "G1", "measure_id": "M1", "amount_fen": yuan(400), "payee": "cash", "note": null}})).await;
}

async fn rederive_is_clean_when_honest_and_finds_what_was_planted(w: World) {
    let mut sink = Vec::new();
    bangfu::cli::demo::run(&w.app, Lang::En, &mut sink)
        .await
        .unwrap();
    scenario(&w.app).await;
    second_file(&w.app).await;
    let honest = rederive::rederive(&w.app.store, Lang::En).await.unwrap();
    assert!(honest.is_ok(), "{:#?}", honest.findings);
    assert!(honest.assessments >= 3 && honest.payouts >= 3, "{honest:?}");
    let out = w.cli().args(["audit", "rederive"]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    plant_self_approval(&w).await;
    let report = rederive::rederive(&w.app.store, Lang::En).await.unwrap();
    let codes: Vec<(&str, &str)> = report
        .findings
        .iter()
        .map(|f| (f.code.as_str(), f.aggregate_id.as_str()))
        .collect();
    assert_eq!(
        codes,
        vec![("rederive.self_approved", "HF-2")],
        "{report:#?}"
    );
    let out = w
        .cli()
        .args(["--lang", "en", "audit", "rederive", "--json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(10),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["findings"][0]["code"], "rederive.self_approved");
    let (api, tokens) = w.api().await;
    let (status, body) = get(&api, &tokens[3], "/v1/audit/rederive").await;
    assert_eq!(
        (status, body["findings"][0]["aggregate_id"].clone()),
        (StatusCode::OK, json!("HF-2"))
    );
    let (status, _) = get(&api, &tokens[0], "/v1/audit/rederive").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "auditors only");
}

async fn what_if_prices_a_period_under_another_policy(w: World) {
    let mut sink = Vec::new();
    bangfu::cli::demo::run(&w.app, Lang::En, &mut sink)
        .await
        .unwrap();
    let plan = "demo-1-mutual-07";
    let opened = w.app.store.history("mutual_aid_plan", plan).await.unwrap();
    let mut policy = opened[0].payload["PeriodOpened"]["policy"].clone();
    // The same terms: no difference, claim by claim.
    let same: domain::mutual_aid::policy::Policy = serde_json::from_value(policy.clone()).unwrap();
    let report = rederive::what_if(&w.app.store, plan, &same).await.unwrap();
    assert!(!report.claims.is_empty());
    assert!(
        report.claims.iter().all(|c| c.difference_fen == 0),
        "{report:?}"
    );
    // Every tier 50% higher than before the period uplift: never less.
    policy["version"] = json!("what-if-v2");
    policy["period_uplift_bp"] = json!(policy["period_uplift_bp"].as_u64().unwrap() + 5_000);
    let file = w.dir.path().join("policy.json");
    std::fs::write(&file, serde_json::to_vec(&policy).unwrap()).unwrap();
    let out = w
        .cli()
        .args(["audit", "what-if", "--json", "--period", plan, "--policy"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let claims = doc["claims"].as_array().unwrap();
    let sum: i64 = claims
        .iter()
        .map(|c| c["difference_fen"].as_i64().unwrap())
        .sum();
    assert_eq!(doc["difference_fen"].as_i64().unwrap(), sum, "{doc}");
    assert!(
        claims
            .iter()
            .all(|c| c["difference_fen"].as_i64().unwrap() >= 0),
        "{doc}"
    );
    assert!(sum > 0, "a higher uplift pays more somewhere: {doc}");
    std::fs::write(&file, b"{\"version\": \"x\"}").unwrap();
    let out = w
        .cli()
        .args(["audit", "what-if", "--period", plan, "--policy"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "a bad policy file is an input error"
    );
}

// ---------------------------------------------------------------- duties

async fn segregation_of_duties_is_reported_over_the_whole_history(w: World) {
    scenario(&w.app).await;
    second_file(&w.app).await;
    let pairs = sod::Pairs::parse(sod::DEFAULT_PAIRS).unwrap();
    let honest = sod::report(&w.app.store, &pairs, Lang::En).await.unwrap();
    assert!(honest.findings.is_empty(), "{honest:#?}");
    plant_self_approval(&w).await;
    let report = sod::report(&w.app.store, &pairs, Lang::En).await.unwrap();
    let mut codes: Vec<&str> = report.findings.iter().map(|f| f.code.as_str()).collect();
    codes.sort();
    assert_eq!(
        codes,
        vec![
            "sod.incompatible_duties",
            "sod.role_changed",
            "sod.self_approved"
        ],
        "{report:#?}"
    );
    assert!(report.findings.iter().all(|f| f.aggregate_id == "HF-2"));
    // Configured pairs: with verify+pay only, requesting and approving one
    // case is no incompatible pair (self-approval and role changes remain).
    let out = w
        .cli()
        .args(["audit", "sod", "--json", "--pairs", "verify+pay"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(10));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut codes: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    codes.sort();
    assert_eq!(
        codes,
        vec!["sod.role_changed", "sod.self_approved"],
        "{doc}"
    );
    let out = w.cli().args(["audit", "sod"]).output().unwrap();
    assert_eq!(out.status.code(), Some(10));
    assert!(String::from_utf8_lossy(&out.stdout).contains("审批了本人的申请"));
    let out = w
        .cli()
        .args(["audit", "sod", "--pairs", "pay+nap"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn users_add_refuses_incompatible_roles() {
    let db = crate::support::db();
    let out = crate::support::bangfu(&db)
        .args([
            "users",
            "add",
            "lin",
            "--role",
            "caseworker",
            "--role",
            "finance",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("职责分离"));
    let out = crate::support::bangfu(&db)
        .env(sod::PAIRS_ENV, "request+approve")
        .args([
            "users",
            "add",
            "lin",
            "--role",
            "caseworker",
            "--role",
            "finance",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "the pairs are configurable");
    let out = crate::support::bangfu(&db)
        .args([
            "users", "add", "zhou", "--role", "auditor", "--role", "approver",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    // `users roles` refuses the same pairs, and the roles stay as they were.
    let out = crate::support::bangfu(&db)
        .args([
            "users", "roles", "zhou", "--role", "approver", "--role", "finance",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("职责分离") && stderr.contains("users.incompatible_roles"),
        "{stderr}"
    );
    let out = crate::support::bangfu(&db)
        .args(["users", "list"])
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&out.stdout);
    let zhou = list
        .lines()
        .find(|l| l.contains("zhou"))
        .expect("zhou listed");
    assert!(
        zhou.contains("auditor") && !zhou.contains("finance"),
        "{list}"
    );
    let out = crate::support::bangfu(&db)
        .env(sod::PAIRS_ENV, "request+approve")
        .args([
            "users", "roles", "zhou", "--role", "approver", "--role", "finance",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "the pairs are configurable");
}

// ---------------------------------------------------------------- access log

async fn reads_of_personal_data_are_logged_append_only(w: World) {
    scenario(&w.app).await;
    let (api, tokens) = w.api().await;
    let (status, _) = get(&api, &tokens[0], "/v1/hardship-files/HF-1/state").await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = get(
        &api,
        &tokens[2],
        "/v1/hardship-files/HF-1/events?as_of=2026-06-10",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // Auditors read masked data: not logged.
    let (status, body) = get(&api, &tokens[3], "/v1/hardship-files/HF-1/state").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !body.to_string().contains(nth_resident_id(7).expose()),
        "masked for auditors"
    );
    // A masked `show` reads no personal data and is not logged; `--unmasked` is.
    let out = w
        .cli()
        .args(["show", "hardship-file", "HF-1"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stdout).contains(nth_resident_id(7).expose()));
    let out = w
        .cli()
        .args(["show", "hardship-file", "HF-1", "--unmasked"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains(nth_resident_id(7).expose()));

    let all = access_log::list(
        &w.app.store,
        &access_log::AccessFilter {
            limit: 100,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let seen: Vec<(&str, &str, &str)> = all
        .iter()
        .map(|e| (e.actor_id.as_str(), e.actor_role.as_str(), e.route.as_str()))
        .collect();
    assert_eq!(
        seen[..2],
        [
            (
                "lin.xiaomei",
                "caseworker",
                "GET /v1/hardship-files/{id}/state"
            ),
            ("wu.haiyan", "finance", "GET /v1/hardship-files/{id}/events"),
        ]
    );
    assert_eq!(
        (seen.len(), seen[2].1, seen[2].2),
        (3, "cli", "cli show --unmasked"),
        "{all:?}"
    );
    assert!(all[1].as_of.as_deref().unwrap().contains("2026-06-10"));
    assert!(all.iter().all(|e| e.aggregate_id == "HF-1"));

    let (status, body) = get(&api, &tokens[3], "/v1/audit/access-log?actor=wu.haiyan").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body.as_array().map(Vec::len), Some(1), "{body}");
    let (status, _) = get(&api, &tokens[0], "/v1/audit/access-log").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let out = w
        .cli()
        .args(["--lang", "en", "audit", "access-log", "--id", "HF-1"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("reads of unmasked personal data: 3"));

    // Append-only, like the events.
    for statement in [
        "UPDATE access_log SET actor_id = 'nobody'",
        "DELETE FROM access_log",
    ] {
        assert!(
            raw_sql(&w.url, statement).await.is_err(),
            "{statement} must be refused"
        );
    }
}

async fn raw_sql(url: &str, statement: &str) -> Result<u64, sqlx::Error> {
    use sqlx::Connection;
    if url.starts_with("sqlite") {
        let mut conn = sqlx::SqliteConnection::connect(url).await?;
        Ok(sqlx::query(statement)
            .execute(&mut conn)
            .await?
            .rows_affected())
    } else {
        let mut conn = sqlx::PgConnection::connect(url).await?;
        Ok(sqlx::query(statement)
            .execute(&mut conn)
            .await?
            .rows_affected())
    }
}

// ---------------------------------------------------------------- files

async fn history_and_views_as_of_a_point_are_byte_identical_files(w: World) {
    let approval = scenario(&w.app).await;
    let (api, tokens) = w.api().await;
    let auditor = &tokens[3];
    let events = format!("/v1/hardship-files/HF-1/events?as_of_position={approval}");
    let csv = file(&api, auditor, &events, "text/csv").await;
    assert!(
        csv.starts_with(b"\xEF\xBB\xBF"),
        "UTF-8 with a byte-order mark"
    );
    let text = String::from_utf8_lossy(&csv);
    assert_eq!(
        text.lines().count(),
        1 + 6,
        "a heading line and the 6 events up to the approval: {text}"
    );
    assert!(
        text.contains("GrantApproved") && !text.contains("GrantPaid"),
        "{text}"
    );
    // More events later do not change the file of that point.
    run(&w.app.files, "HF-1", LIN, "2026-07-11", json!({"RecordReview": {"reviewed_on": "2026-07-11", "outcome": "improving", "note": "复核", "next_review_on": "2026-12-31"}})).await;
    assert_eq!(file(&api, auditor, &events, "text/csv").await, csv);
    let xlsx = file(&api, auditor, &events, XLSX).await;
    assert!(xlsx.starts_with(b"PK"), "a ZIP container");
    assert_eq!(file(&api, auditor, &events, XLSX).await, xlsx);
    // The state as of that point: the same file over HTTP and from `bangfu
    // show --unmasked` (a role that sees personal data).
    let state = format!("/v1/hardship-files/HF-1/state?as_of_position={approval}");
    let over_http = file(&api, &tokens[0], &state, "text/csv").await;
    let position = approval.to_string();
    let out = w
        .cli()
        .args([
            "show",
            "hardship-file",
            "HF-1",
            "--as-of-position",
            &position,
            "--unmasked",
        ])
        .args(["--format", "csv"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, over_http, "one code path, the same bytes");
    let text = String::from_utf8_lossy(&over_http);
    assert!(text.starts_with("\u{feff}字段,值"), "{text}");
    assert!(text.contains("\nchain.ok,true"), "{text}");
    assert!(text.contains("\nversion,6"), "{text}");
    let view = "/v1/views/fund-balances?as_of=2026-06-30";
    let first = file(&api, auditor, view, XLSX).await;
    assert_eq!(file(&api, auditor, view, XLSX).await, first);
    let gbk = file(&api, auditor, view, "text/csv; charset=gbk").await;
    assert_eq!(
        file(&api, auditor, view, "text/csv; charset=gbk").await,
        gbk
    );
    assert_ne!(
        file(
            &api,
            auditor,
            "/v1/views/fund-balances?as_of=2026-06-01",
            XLSX
        )
        .await,
        first
    );
}

on_every_store!(
    "audit_asof", 2, sqlite_world;
    the_past_as_known_and_as_true_differ,
    rederive_is_clean_when_honest_and_finds_what_was_planted,
    what_if_prices_a_period_under_another_policy,
    segregation_of_duties_is_reported_over_the_whole_history,
    reads_of_personal_data_are_logged_append_only,
    history_and_views_as_of_a_point_are_byte_identical_files,
);
