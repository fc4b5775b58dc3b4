//! The HTTP API: router tests without a socket (`oneshot`), and a suite
//! against the real server on 127.0.0.1:0 (restart included).
//!
//! Covered: the permission matrix exactly as README.md prints it, four-eyes for
//! grants, claim subsidies and allocations for every role, a bad-input corpus
//! that must answer 4xx and write nothing, idempotency (sequential, concurrent,
//! across a restart, after a crash left a key pending), If-Match, masking of
//! personal data, who-acted metadata, languages, and the OpenAPI document.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::Router;
use bangfu::access::users::Users;
use bangfu::app::App;
use bangfu::http::{ApiState, Limits};
use domain::command::Role;
use domain::values::ResidentId;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tempfile::TempDir;
use tower::ServiceExt;

/// Bounds every wait in this file: a hung server fails the test, never hangs it.
const PATIENCE: Duration = Duration::from_secs(60);

// ---- fixtures --------------------------------------------------------------

pub(super) struct TestApi {
    pub(super) state: ApiState,
    router: Router,
    pub(super) path: PathBuf,
    admin: String,
    _dir: TempDir,
}

struct Resp {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

impl Resp {
    fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
}

pub(super) async fn api() -> TestApi {
    api_with(Limits::default()).await
}

pub(super) async fn api_with(limits: Limits) -> TestApi {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("data").join("bangfu.db");
    let (state, admin) = open_state(&path, limits).await;
    TestApi {
        router: bangfu::http::router(state.clone()),
        state,
        path,
        admin,
        _dir: dir,
    }
}

/// Opens the engine and users on `path`; the admin token on a first start.
async fn open_state(path: &Path, limits: Limits) -> (ApiState, String) {
    let app = Arc::new(App::open(path).await.expect("open app"));
    let users = Users::open(path).await.expect("open users");
    let admin = users
        .bootstrap_admin("test")
        .await
        .expect("bootstrap")
        .map(|(_, token)| token.expose().to_string())
        .unwrap_or_default();
    (ApiState::new(app, users, limits), admin)
}

impl TestApi {
    async fn user(&self, id: &str, roles: &[Role]) -> String {
        let id = domain::values::Code::parse(id).expect("user id");
        self.state
            .users()
            .add(&id, roles, "test")
            .await
            .expect("add user")
            .expose()
            .to_string()
    }

    async fn events(&self) -> u64 {
        self.state.app().store.count_events().await.expect("count")
    }

    async fn send(&self, request: Request<Body>) -> Resp {
        let response = tokio::time::timeout(PATIENCE, self.router.clone().oneshot(request))
            .await
            .expect("in time")
            .expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if status.is_client_error() || status.is_server_error() {
            assert_eq!(
                headers.get("content-type").and_then(|v| v.to_str().ok()),
                Some("application/problem+json"),
                "{status}: {}",
                String::from_utf8_lossy(&bytes)
            );
            for field in ["type", "title", "status", "detail", "code"] {
                assert!(!body[field].is_null(), "problem without {field}: {body}");
            }
        }
        Resp {
            status,
            headers,
            body,
        }
    }

    async fn get(&self, token: &str, role: Option<Role>, uri: &str) -> Resp {
        self.send(request(Method::GET, uri, token, role, &[], Vec::new()))
            .await
    }

    async fn cmd(
        &self,
        token: &str,
        role: Option<Role>,
        plural: &str,
        id: &str,
        body: Value,
    ) -> Resp {
        self.cmd_with(token, role, plural, id, &[], body.to_string().into_bytes())
            .await
    }

    async fn cmd_with(
        &self,
        token: &str,
        role: Option<Role>,
        plural: &str,
        id: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Resp {
        self.send(request(
            Method::POST,
            &format!("/v1/{plural}/{id}/commands"),
            token,
            role,
            headers,
            body,
        ))
        .await
    }

    /// Runs a command that must succeed.
    async fn ok(
        &self,
        token: &str,
        role: Option<Role>,
        plural: &str,
        id: &str,
        body: Value,
    ) -> Value {
        let r = self.cmd(token, role, plural, id, body.clone()).await;
        assert_eq!(r.status, StatusCode::OK, "{body}\n→ {}", r.body);
        r.body
    }
}

fn request(
    method: Method,
    uri: &str,
    token: &str,
    role: Option<Role>,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(uri);
    if !token.is_empty() {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    if let Some(role) = role {
        builder = builder.header("x-bangfu-role", role.as_str());
    }
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Body::from(body)).expect("request")
}

/// A valid resident ID (GB 11643 check character) for person `n`.
fn resident_id(n: u32) -> String {
    let first17 = format!("35030219800101{:03}", n % 1000);
    let check = ResidentId::check_char(first17.as_bytes()) as char;
    format!("{first17}{check}")
}

/// Person `n`'s resident ID with a wrong check character.
fn bad_resident_id(n: u32) -> String {
    let mut id = resident_id(n);
    let wrong = if id.ends_with('0') { "1" } else { "0" };
    id.replace_range(17.., wrong);
    id
}

/// A valid (Luhn) bank card number.
fn card() -> String {
    (0..10)
        .map(|d| format!("622202123456789012{d}"))
        .find(|c| domain::values::BankCard::parse(c).is_ok())
        .expect("a check digit fits")
}

fn open_file(n: u32) -> Value {
    json!({"OpenFile": {"household": {
        "head": {
            "name": "陈建国", "resident_id": resident_id(n), "phone": "13905941234",
            "employer_unit": "莆田市城厢区振兴鞋服有限公司",
            "grassroots_union": "莆田市城厢区振兴鞋服有限公司工会委员会",
            "migrant_worker": true, "mobile_member": false
        },
        "members": [
            {"name": "林秀英", "relation": "spouse", "birth_year": 1980, "health": "serious_illness", "schooling": "none"}
        ],
        "monthly_income_per_capita_fen": 62000,
        "local_minimum_standard_fen": 80000,
        "causes": ["illness"]
    }, "opened_on": "2026-03-02"}})
}

fn verification_visit() -> Value {
    json!({"LogVisit": {
        "visit_id": "V1", "visited_on": "2026-03-05", "kind": "verification",
        "caseworkers": ["林晓梅"], "findings": "入户核查，情况属实。",
        "facts_verified": ["income", "members", "causes"],
        "contact_card_issued": true, "cash_handover": null
    }})
}

fn plan() -> Value {
    json!({"AdoptPlan": {"goal": "减轻医疗负担", "measures": [
        {"measure_id": "M1", "kind": "medical_relief", "description": "透析自付部分医疗救助",
         "planned_amount_fen": 800000, "fund": "special_assistance", "due_on": "2099-09-30"}
    ]}})
}

fn request_grant(grant: &str) -> Value {
    json!({"RequestGrant": {"grant_id": grant, "measure_id": "M1", "amount_fen": 10000,
        "payee": {"bank_transfer": {"card": card(), "account_name": "陈建国"}}, "note": "透析自付费用"}})
}

/// Users every test needs: one per role, plus the admin.
pub(super) struct Staff {
    caseworker: String,
    approver: String,
    pub(super) finance: String,
    pub(super) auditor: String,
}

pub(super) async fn staff(api: &TestApi) -> Staff {
    Staff {
        caseworker: api.user("lin.xiaomei", &[Role::Caseworker]).await,
        approver: api.user("huang.zhiqiang", &[Role::Approver]).await,
        finance: api.user("wu.haiyan", &[Role::Finance]).await,
        auditor: api.user("zhou.shenji", &[Role::Auditor]).await,
    }
}

const FILES: &str = "hardship-files";
const PLANS: &str = "mutual-aid-plans";
const CLAIMS: &str = "mutual-aid-claims";
const CAMPAIGNS: &str = "donation-campaigns";

/// A verified file with a plan (measure M1 of 8,000 yuan).
async fn file_with_plan(api: &TestApi, staff: &Staff, id: &str, person: u32) {
    api.ok(&staff.caseworker, None, FILES, id, open_file(person))
        .await;
    api.ok(&staff.caseworker, None, FILES, id, verification_visit())
        .await;
    api.ok(
        &staff.approver,
        None,
        FILES,
        id,
        json!({"Verify": {"outcome": {"confirmed": {"note": "属实"}}}}),
    )
    .await;
    api.ok(&staff.caseworker, None, FILES, id, plan()).await;
}

/// An open plan period with one unit of three members (people 1–3).
async fn plan_period(api: &TestApi, staff: &Staff, id: &str) {
    api.ok(&staff.approver, None, PLANS, id, json!({"OpenPeriod": {
        "name": "莆田市职工医疗互助第七期", "period_no": 7,
        "starts_on": "2026-01-01", "ends_on": "2026-12-31",
        "policy": {
            "version": "putian-07-v1", "threshold_fen": 500000,
            "tiers": [{"from_fen": 500000, "amount_fen": 20000}, {"from_fen": 1000000, "amount_fen": 40000}],
            "period_uplift_bp": 3000, "migrant_uplift_bp": 3000, "cap_per_member_fen": 600000
        }
    }})).await;
    let members: Vec<Value> = (1..=3)
        .map(|n| json!({"resident_id": resident_id(n), "name": "陈志强", "migrant_worker": n == 1}))
        .collect();
    api.ok(
        &staff.caseworker,
        None,
        PLANS,
        id,
        json!({"EnrolUnit": {
            "unit_id": "U1", "unit_name": "莆田学院", "members": members,
            "contribution_fen": 30000, "paid_by": "unit"
        }}),
    )
    .await;
}

/// A claim by person `person`, submitted and its documents reviewed.
async fn reviewed_claim(api: &TestApi, staff: &Staff, plan: &str, id: &str, person: u32, day: u32) {
    api.ok(&staff.caseworker, None, CLAIMS, id, json!({"Submit": {
        "claim_id": id, "plan_id": plan, "member": resident_id(person), "member_name": "陈志强",
        "hospital": "莆田学院附属医院", "admitted_on": format!("2026-02-{:02}", day), "discharged_on": format!("2026-02-{:02}", day + 5),
        "diagnosis": "急性心肌梗死", "total_cost_fen": 3800000, "basic_insurance_fen": 2200000,
        "other_reimbursement_fen": 300000, "documents": ["住院费用发票", "出院小结"]
    }})).await;
    api.ok(
        &staff.caseworker,
        None,
        CLAIMS,
        id,
        json!({"ReviewDocuments": {"complete": true, "note": "材料齐全"}}),
    )
    .await;
}

/// A closed campaign with 5,000 yuan received.
async fn campaign(api: &TestApi, staff: &Staff, id: &str) {
    api.ok(
        &staff.approver,
        None,
        CAMPAIGNS,
        id,
        json!({"Launch": {
            "name": "2026年莆田市“一日捐”活动", "year": 2026, "co_issuers": [],
            "units": [{"unit_id": "d-1", "name": "莆田市总工会机关", "headcount": 85}],
            "starts_on": "2026-04-01", "ends_on": "2026-06-30", "purpose": "general_fund"
        }}),
    )
    .await;
    api.ok(
        &staff.caseworker,
        None,
        CAMPAIGNS,
        id,
        json!({"RecordDonation": {
            "receipt_no": "R-1", "unit_id": "d-1", "donor": null, "donor_count": 80,
            "amount_fen": 500000, "channel": "bank_transfer", "donated_on": "2026-04-10"
        }}),
    )
    .await;
    api.ok(
        &staff.approver,
        None,
        CAMPAIGNS,
        id,
        json!({"Close": {"note": "活动结束"}}),
    )
    .await;
}

/// Today's date in Beijing, the default business time zone.
fn beijing_today() -> String {
    chrono::Utc::now()
        .with_timezone(&bangfu::app::clock::DEFAULT_TZ)
        .date_naive()
        .to_string()
}

// ---- OpenAPI and docs ------------------------------------------------------

#[tokio::test]
async fn openapi_document_is_3_1_and_describes_every_command_body() {
    let api = api().await;
    let r = api
        .send(request(
            Method::GET,
            "/openapi.json",
            "",
            None,
            &[],
            Vec::new(),
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body["openapi"].as_str().unwrap_or("").starts_with("3.1"));
    let schemas = &r.body["components"]["schemas"];
    for name in [
        "HardshipFileCommand",
        "MutualAidPlanCommand",
        "MutualAidClaimCommand",
        "DonationCampaignCommand",
        "Household",
        "ResidentId",
        "Fen",
        "Problem",
        "CommandOutcome",
        "FundAccountCommand",
        "FundAccountSummary",
        "HouseholdFileView",
        "HouseholdFileRow",
        "PlanPeriodView",
        "PlanPeriodReport",
        "PayoutLedgerView",
        "PayoutRow",
        "LedgerTotals",
        "CampaignView",
        "CampaignReport",
        "FundBalancesView",
        "FundBalanceRow",
    ] {
        assert!(schemas[name].is_object(), "schema {name} missing");
    }
    // Limits in the schema are the ones parsing enforces.
    assert_eq!(schemas["PersonName"]["maxLength"], 50);
    assert_eq!(schemas["Fen"]["minimum"], 0);
    // Every command of every aggregate is a variant of its body schema.
    for (kind, name, _) in bangfu::access::permissions::COMMANDS {
        let body = match kind {
            bangfu::app::AggregateKind::HardshipFile => "HardshipFileCommand",
            bangfu::app::AggregateKind::MutualAidPlan => "MutualAidPlanCommand",
            bangfu::app::AggregateKind::MutualAidClaim => "MutualAidClaimCommand",
            bangfu::app::AggregateKind::DonationCampaign => "DonationCampaignCommand",
            bangfu::app::AggregateKind::FundAccount => "FundAccountCommand",
            bangfu::app::AggregateKind::PayoutBatch => "PayoutBatchCommand",
            bangfu::app::AggregateKind::AccountingPeriod => "AccountingPeriodCommand",
        };
        let text = schemas[body].to_string();
        assert!(text.contains(&format!("\"{name}\"")), "{body} lacks {name}");
    }
    let docs = api
        .router
        .clone()
        .oneshot(request(Method::GET, "/docs", "", None, &[], Vec::new()))
        .await
        .expect("docs");
    assert_eq!(docs.status(), StatusCode::OK);
    let html = docs.into_body().collect().await.expect("html").to_bytes();
    let html = String::from_utf8_lossy(&html);
    assert!(html.contains("Permission matrix") && html.contains("HardshipFileCommand"));
    assert!(!html.contains("<script"), "the docs page fetches nothing");
}

// ---- permissions -----------------------------------------------------------

/// README.md's permission matrix, as (endpoint, allowed per role in ROLES order).
fn readme_matrix() -> Vec<(String, Vec<bool>)> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    readme
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|line| {
            let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
            let endpoint = cells[0].trim_matches('`').to_string();
            let allowed = cells[1..].iter().map(|c| *c == "✓").collect();
            (endpoint, allowed)
        })
        .collect()
}

#[tokio::test]
async fn readme_matrix_is_the_one_in_force_and_covers_every_route() {
    let rows = readme_matrix();
    let code: Vec<(String, Vec<bool>)> = bangfu::access::permissions::matrix()
        .into_iter()
        .map(|(endpoint, roles)| {
            let allowed = bangfu::access::users::ROLES
                .iter()
                .map(|r| roles.contains(r))
                .collect();
            (endpoint, allowed)
        })
        .collect();
    assert_eq!(
        rows, code,
        "README.md's permission matrix differs from the code"
    );
    // Every route of the OpenAPI document has a row.
    let doc = serde_json::to_value(bangfu::http::openapi()).expect("json");
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("item").keys() {
            let prefix = format!("{} {path}", method.to_uppercase());
            assert!(
                rows.iter()
                    .any(|(e, _)| *e == prefix || e.starts_with(&format!("{prefix} "))),
                "{prefix} is not in the permission matrix"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_times_every_role_is_allowed_or_403_as_documented() {
    let api = api().await;
    let roles = bangfu::access::users::ROLES;
    let mut tokens = Vec::new();
    for role in roles {
        tokens.push(api.user(&format!("only.{}", role.as_str()), &[role]).await);
    }
    let before = api.events().await;
    let mut checked = 0;
    for (endpoint, allowed) in readme_matrix() {
        let mut words = endpoint.split(' ');
        let method: Method = words.next().and_then(|m| m.parse().ok()).expect("method");
        let path = words
            .next()
            .expect("path")
            .replace("{id}", "PERM-1")
            .replace("{user_id}", "nobody");
        let command = words.next();
        for (i, role) in roles.iter().enumerate() {
            // A body that names the command but is otherwise empty: an allowed
            // role gets past the permission check to a 422 naming the missing
            // field; nothing can be written.
            let body = match (command, path.as_str()) {
                (Some(name), _) => json!({ name: {} }).to_string().into_bytes(),
                (None, "/v1/users") if method == Method::POST => {
                    json!({"user_id": format!("new.{}", role.as_str()), "roles": ["auditor"]})
                        .to_string()
                        .into_bytes()
                }
                _ => Vec::new(),
            };
            let r = api
                .send(request(method.clone(), &path, &tokens[i], None, &[], body))
                .await;
            if allowed[i] {
                assert_ne!(
                    r.status,
                    StatusCode::FORBIDDEN,
                    "{endpoint} as {role:?}: {}",
                    r.body
                );
                assert!(
                    r.status != StatusCode::UNAUTHORIZED && r.status.as_u16() < 500,
                    "{endpoint} as {role:?}: {}",
                    r.body
                );
            } else {
                assert_eq!(
                    r.status,
                    StatusCode::FORBIDDEN,
                    "{endpoint} as {role:?}: {}",
                    r.body
                );
                assert_eq!(r.code(), "auth.forbidden");
            }
            checked += 1;
        }
    }
    assert!(checked >= 50 * roles.len(), "only {checked} checks");
    assert_eq!(api.events().await, before, "the matrix test wrote events");
}

#[tokio::test]
async fn tokens_and_roles_are_checked() {
    let api = api().await;
    let dual = api.user("dual", &[Role::Caseworker, Role::Approver]).await;
    // No token, a wrong one, a malformed header.
    for auth in [
        None,
        Some("Bearer bf_0000"),
        Some("Basic abc"),
        Some("Bearer "),
    ] {
        let mut builder = Request::builder().uri("/v1/me");
        if let Some(a) = auth {
            builder = builder.header("authorization", a);
        }
        let r = api.send(builder.body(Body::empty()).expect("req")).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{auth:?}");
    }
    // Several roles: the request must name one, and only one the user holds.
    assert_eq!(
        api.get(&dual, None, "/v1/me").await.status,
        StatusCode::BAD_REQUEST
    );
    let me = api.get(&dual, Some(Role::Approver), "/v1/me").await;
    assert_eq!(me.body["acting_role"], "approver");
    let r = api.get(&dual, Some(Role::Finance), "/v1/me").await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "auth.role_not_held")
    );
    // Revoked: refused at once.
    let r = api
        .send(request(
            Method::POST,
            "/v1/users/dual/revoke",
            &api.admin,
            None,
            &[],
            Vec::new(),
        ))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        api.get(&dual, Some(Role::Approver), "/v1/me").await.status,
        StatusCode::UNAUTHORIZED
    );
    // Only hashes are stored.
    let mut conn = crate::support::raw_connection(&api.path).await;
    let stored: Vec<String> = sqlx::query_scalar("SELECT token_sha256 FROM users")
        .fetch_all(&mut conn)
        .await
        .expect("users");
    assert!(stored.iter().all(|h| h.len() == 64 && !h.contains("bf_")));
    assert!(stored.contains(&bangfu::access::users::token_hash(&dual)));
}

// ---- four-eyes -------------------------------------------------------------

/// A user holding `first` and `second` (one role if equal).
async fn two_role_user(api: &TestApi, id: &str, first: Role, second: Role) -> String {
    let roles = if first == second {
        vec![first]
    } else {
        vec![first, second]
    };
    api.user(id, &roles).await
}

fn refused_as(r: &Resp, role: Role, four_eyes_code: &str) {
    if role == Role::Approver {
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::UNPROCESSABLE_ENTITY, four_eyes_code),
            "{}",
            r.body
        );
    } else {
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::FORBIDDEN, "auth.forbidden"),
            "{}",
            r.body
        );
    }
}

#[tokio::test]
async fn nobody_approves_their_own_grant_whatever_their_roles() {
    let api = api().await;
    let staff = staff(&api).await;
    // Money for every approval below (the store checks the fund).
    api.ok(
        &staff.finance,
        None,
        FUNDS,
        "special-2026",
        appropriate("BK-1", 5_000_000),
    )
    .await;
    file_with_plan(&api, &staff, "HF-4E", 11).await;
    for role in bangfu::access::users::ROLES {
        let grant = format!("G-{}", role.as_str());
        let token = two_role_user(
            &api,
            &format!("grant.{}", role.as_str()),
            Role::Caseworker,
            role,
        )
        .await;
        api.ok(
            &token,
            Some(Role::Caseworker),
            FILES,
            "HF-4E",
            request_grant(&grant),
        )
        .await;
        let before = api.events().await;
        let r = api
            .cmd(
                &token,
                Some(role),
                FILES,
                "HF-4E",
                json!({"ApproveGrant": {"grant_id": grant}}),
            )
            .await;
        refused_as(&r, role, "hardship_file.four_eyes");
        assert_eq!(api.events().await, before);
        // Someone else may.
        api.ok(
            &staff.approver,
            None,
            FILES,
            "HF-4E",
            json!({"ApproveGrant": {"grant_id": grant}}),
        )
        .await;
    }
}

#[tokio::test]
async fn an_approval_the_fund_cannot_cover_is_422_naming_the_fund_and_writes_nothing() {
    let api = api().await;
    let staff = staff(&api).await;
    file_with_plan(&api, &staff, "HF-M", 12).await;
    api.ok(&staff.caseworker, None, FILES, "HF-M", request_grant("G1"))
        .await;
    let before = api.events().await;
    let approve = json!({"ApproveGrant": {"grant_id": "G1"}});
    let r = api
        .cmd(&staff.approver, None, FILES, "HF-M", approve.clone())
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "money.insufficient_funds"),
        "{}",
        r.body
    );
    assert_eq!(
        r.body["money"],
        json!({"account": "fund", "fund": "special_assistance", "available_fen": 0, "asked_fen": 10000})
    );
    let detail = r.body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("帮扶专项资金不足"), "{detail}");
    assert_eq!(api.events().await, before);
    // Once the money is there, the same approval commits.
    api.ok(
        &staff.finance,
        None,
        FUNDS,
        "special-2026",
        appropriate("BK-1", 10_000),
    )
    .await;
    api.ok(&staff.approver, None, FILES, "HF-M", approve).await;
}

#[tokio::test]
async fn nobody_approves_a_claim_subsidy_they_assessed_whatever_their_roles() {
    let api = api().await;
    let staff = staff(&api).await;
    plan_period(&api, &staff, "putian-07").await;
    for (n, role) in bangfu::access::users::ROLES.into_iter().enumerate() {
        let claim = format!("claim-{}", role.as_str());
        reviewed_claim(
            &api,
            &staff,
            "putian-07",
            &claim,
            n as u32 % 3 + 1,
            2 + 3 * n as u32,
        )
        .await;
        let token = two_role_user(
            &api,
            &format!("claim.{}", role.as_str()),
            Role::Approver,
            role,
        )
        .await;
        api.ok(
            &token,
            Some(Role::Approver),
            CLAIMS,
            &claim,
            json!({"Assess": {}}),
        )
        .await;
        let before = api.events().await;
        let r = api
            .cmd(&token, Some(role), CLAIMS, &claim, json!({"Approve": {}}))
            .await;
        refused_as(&r, role, "mutual_aid_claim.four_eyes");
        assert_eq!(api.events().await, before);
        api.ok(
            &staff.approver,
            None,
            CLAIMS,
            &claim,
            json!({"Reject": {"reason": "other", "note": "测试结束"}}),
        )
        .await;
    }
}

#[tokio::test]
async fn nobody_approves_their_own_allocation_whatever_their_roles() {
    let api = api().await;
    let staff = staff(&api).await;
    file_with_plan(&api, &staff, "HF-ALLOC", 21).await;
    campaign(&api, &staff, "yirijuan").await;
    for role in bangfu::access::users::ROLES {
        let allocation = format!("A-{}", role.as_str());
        let token = two_role_user(
            &api,
            &format!("alloc.{}", role.as_str()),
            Role::Caseworker,
            role,
        )
        .await;
        api.ok(
            &token,
            Some(Role::Caseworker),
            CAMPAIGNS,
            "yirijuan",
            json!({"ProposeAllocation": {
                "allocation_id": allocation,
                "target": {"hardship_measure": {"file_id": "HF-ALLOC", "measure_id": "M1"}},
                "amount_fen": 1000, "note": "医疗救助"
            }}),
        )
        .await;
        let before = api.events().await;
        let r = api
            .cmd(
                &token,
                Some(role),
                CAMPAIGNS,
                "yirijuan",
                json!({"ApproveAllocation": {"allocation_id": allocation}}),
            )
            .await;
        refused_as(&r, role, "donation_campaign.four_eyes");
        assert_eq!(api.events().await, before);
        api.ok(
            &staff.approver,
            None,
            CAMPAIGNS,
            "yirijuan",
            json!({"ApproveAllocation": {"allocation_id": allocation}}),
        )
        .await;
    }
}

// ---- bad input -------------------------------------------------------------

#[tokio::test]
async fn bad_input_is_a_clear_4xx_and_writes_nothing() {
    let limits = Limits {
        max_body_bytes: 64 * 1024,
        ..Limits::default()
    };
    let api = api_with(limits).await;
    let staff = staff(&api).await;
    api.ok(&staff.caseworker, None, FILES, "HF-BAD", open_file(31))
        .await;
    let good = open_file(32);
    let with = |pointer: &str, value: Value| {
        let mut body = good.clone();
        *body.pointer_mut(pointer).expect("pointer") = value;
        body.to_string().into_bytes()
    };
    let bad_id = bad_resident_id(33);
    let nested = format!(
        "{{\"OpenFile\": {{\"household\": {}{}}}}}",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    /// (what, body, status (0: any 4xx), code, field named)
    type Case<'a> = (&'a str, Vec<u8>, u16, &'a str, Option<&'a str>);
    let corpus: Vec<Case<'_>> = vec![
        (
            "malformed JSON",
            b"{\"OpenFile\": ".to_vec(),
            400,
            "input.malformed_json",
            None,
        ),
        (
            "trailing garbage",
            [good.to_string().as_bytes(), b" x"].concat(),
            400,
            "input.malformed_json",
            None,
        ),
        ("empty body", Vec::new(), 400, "input.empty", None),
        (
            "invalid UTF-8",
            vec![b'{', b'"', 0xff, 0xfe, b'"', b':', b'1', b'}'],
            400,
            "input.malformed_json",
            None,
        ),
        ("deep nesting", nested.into_bytes(), 0, "", None),
        (
            "array root",
            b"[]".to_vec(),
            400,
            "input.malformed_json",
            None,
        ),
        (
            "unknown command",
            br#"{"Explode": {}}"#.to_vec(),
            422,
            "input.unknown_command",
            None,
        ),
        (
            "wrong type",
            with("/OpenFile/opened_on", json!(5)),
            422,
            "input.invalid_field",
            Some("OpenFile.opened_on"),
        ),
        (
            "bad date",
            with("/OpenFile/opened_on", json!("2026-02-30")),
            422,
            "input.invalid_field",
            Some("OpenFile.opened_on"),
        ),
        (
            "unknown field",
            {
                let mut body = good.clone();
                body["OpenFile"]["household"]["head"]["nickname"] = json!("x");
                body.to_string().into_bytes()
            },
            422,
            "input.invalid_field",
            Some("OpenFile.household.head"),
        ),
        (
            "bad check digit",
            with("/OpenFile/household/head/resident_id", json!(bad_id)),
            422,
            "input.invalid_field",
            Some("OpenFile.household.head.resident_id"),
        ),
        (
            "negative fen",
            with(
                "/OpenFile/household/monthly_income_per_capita_fen",
                json!(-1),
            ),
            422,
            "input.invalid_field",
            Some("OpenFile.household.monthly_income_per_capita_fen"),
        ),
        (
            "fractional fen",
            with(
                "/OpenFile/household/monthly_income_per_capita_fen",
                json!(620.5),
            ),
            422,
            "input.invalid_field",
            Some("OpenFile.household.monthly_income_per_capita_fen"),
        ),
        (
            "fen as string",
            with(
                "/OpenFile/household/monthly_income_per_capita_fen",
                json!("620"),
            ),
            422,
            "input.invalid_field",
            Some("OpenFile.household.monthly_income_per_capita_fen"),
        ),
        (
            "huge number",
            good.to_string().replace("62000", "1e400").into_bytes(),
            0,
            "",
            None,
        ),
        (
            "fen beyond i64",
            good.to_string()
                .replace("62000", "99999999999999999999")
                .into_bytes(),
            0,
            "",
            None,
        ),
        (
            "huge string",
            with("/OpenFile/household/head/name", json!("张".repeat(10_000))),
            422,
            "input.invalid_field",
            Some("OpenFile.household.head.name"),
        ),
        (
            "empty string",
            with("/OpenFile/household/head/name", json!("   ")),
            422,
            "input.invalid_field",
            Some("OpenFile.household.head.name"),
        ),
        (
            "control character",
            with("/OpenFile/household/head/name", json!("陈\u{0007}建国")),
            422,
            "input.invalid_field",
            Some("OpenFile.household.head.name"),
        ),
        (
            "bad phone",
            with("/OpenFile/household/head/phone", json!("12345")),
            422,
            "input.invalid_field",
            Some("OpenFile.household.head.phone"),
        ),
        (
            "bad enum",
            with("/OpenFile/household/causes", json!(["boredom"])),
            422,
            "input.invalid_field",
            Some("OpenFile.household.causes[0]"),
        ),
        (
            "missing field",
            br#"{"OpenFile": {"opened_on": "2026-03-02"}}"#.to_vec(),
            422,
            "input.invalid_field",
            Some("OpenFile"),
        ),
        (
            "oversized body",
            vec![b' '; 64 * 1024 + 1],
            413,
            "input.too_large",
            None,
        ),
        (
            "business rule: second open file for one head",
            open_file(31).to_string().into_bytes(),
            422,
            "hardship_file.resident_has_open_file",
            None,
        ),
    ];
    let before = api.events().await;
    for (what, body, status, code, field) in corpus {
        let id = if what.starts_with("business") {
            "HF-BAD-2"
        } else {
            "HF-BAD-3"
        };
        let r = api
            .cmd_with(&staff.caseworker, None, FILES, id, &[], body)
            .await;
        if status == 0 {
            assert!(
                r.status.is_client_error(),
                "{what}: {} {}",
                r.status,
                r.body
            );
        } else {
            assert_eq!(r.status.as_u16(), status, "{what}: {}", r.body);
            assert_eq!(r.code(), code, "{what}: {}", r.body);
        }
        if let Some(field) = field {
            let named = r.body["field"].as_str().unwrap_or("");
            assert!(
                named.starts_with(field),
                "{what}: field {named}, expected {field}"
            );
        }
        let detail = r.body["detail"].as_str().unwrap_or("");
        assert!(!detail.is_empty(), "{what}: no detail");
        assert!(
            detail
                .chars()
                .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
            "{what}: detail not Chinese: {detail}"
        );
    }
    // Bad values outside the body.
    /// (what, aggregate id in the path, headers, field named)
    type HeaderCase<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>, &'a str);
    let headers_corpus: Vec<HeaderCase<'_>> = vec![
        ("bad aggregate id", "bad%20id!", vec![], "aggregate_id"),
        (
            "bad If-Match",
            "HF-BAD",
            vec![("if-match", "soon")],
            "If-Match",
        ),
        (
            "bad Idempotency-Key",
            "HF-BAD",
            vec![("idempotency-key", "  ")],
            "Idempotency-Key",
        ),
        (
            "bad correlation id",
            "HF-BAD",
            vec![("x-correlation-id", "not-a-uuid")],
            "X-Correlation-Id",
        ),
    ];
    for (what, id, headers, field) in headers_corpus {
        let body = json!({"RecordReview": {"reviewed_on": "2026-03-03", "outcome": "improving", "note": "好转", "next_review_on": "2026-09-03"}});
        let r = api
            .cmd_with(
                &staff.caseworker,
                None,
                FILES,
                id,
                &headers,
                body.to_string().into_bytes(),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{what}: {}", r.body);
        assert_eq!(r.body["field"], field, "{what}");
    }
    // Unknown routes, methods and query parameters.
    assert_eq!(
        api.get(&staff.auditor, None, "/v1/nothing").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        api.get(&staff.auditor, None, "/v1/hardship-files?limit=0")
            .await
            .body["field"],
        "limit"
    );
    assert_eq!(
        api.get(&staff.auditor, None, "/v1/hardship-files?limit=100000")
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        api.get(&staff.auditor, None, "/v1/hardship-files?colour=red")
            .await
            .body["field"],
        "colour"
    );
    assert_eq!(
        api.get(&staff.auditor, None, "/v1/hardship-files/nope")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        api.get(
            &staff.auditor,
            None,
            "/v1/hardship-files/HF-BAD/events?after=x"
        )
        .await
        .status,
        StatusCode::BAD_REQUEST
    );
    let r = api
        .send(request(
            Method::DELETE,
            "/v1/hardship-files/HF-BAD/commands",
            &staff.caseworker,
            None,
            &[],
            Vec::new(),
        ))
        .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);

    assert_eq!(api.events().await, before, "bad input wrote events");
    assert_eq!(
        api.state.panics_caught(),
        0,
        "bad input reached the panic guard"
    );
}

#[tokio::test]
async fn english_on_request_and_field_errors_in_that_language() {
    let api = api().await;
    let staff = staff(&api).await;
    let mut body = open_file(41);
    body["OpenFile"]["household"]["head"]["resident_id"] = json!(bad_resident_id(41));
    let r = api
        .cmd_with(
            &staff.caseworker,
            None,
            FILES,
            "HF-EN",
            &[("accept-language", "en-GB,en;q=0.9")],
            body.to_string().into_bytes(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["title"], "Unprocessable content");
    let detail = r.body["detail"].as_str().unwrap_or("");
    assert!(detail.is_ascii(), "{detail}");
    let r = api.cmd(&staff.caseworker, None, FILES, "HF-EN", body).await;
    assert!(!r.body["detail"].as_str().unwrap_or("").is_ascii());
}

// ---- idempotency and concurrency ------------------------------------------

#[tokio::test]
async fn the_same_command_sent_twice_applies_once() {
    let api = api().await;
    let staff = staff(&api).await;
    let key = [("idempotency-key", "open-HF-IDEM-1")];
    let body = open_file(51).to_string().into_bytes();
    let first = api
        .cmd_with(
            &staff.caseworker,
            None,
            FILES,
            "HF-IDEM",
            &key,
            body.clone(),
        )
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let after_first = api.events().await;
    let second = api
        .cmd_with(
            &staff.caseworker,
            None,
            FILES,
            "HF-IDEM",
            &key,
            body.clone(),
        )
        .await;
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(second.body, first.body);
    assert_eq!(
        second
            .headers
            .get("idempotent-replayed")
            .map(|v| v.as_bytes()),
        Some(&b"true"[..])
    );
    assert_eq!(api.events().await, after_first);
    // The same key with another body is a client error, not a replay.
    let other = api
        .cmd_with(
            &staff.caseworker,
            None,
            FILES,
            "HF-IDEM",
            &key,
            verification_visit().to_string().into_bytes(),
        )
        .await;
    assert_eq!(
        (other.status, other.code()),
        (StatusCode::CONFLICT, "idempotency.key_reused")
    );
    // Keys belong to their user: another user's same key is a new command.
    let other_cw = api.user("zheng.wenbin", &[Role::Caseworker]).await;
    let r = api
        .cmd_with(
            &other_cw,
            None,
            FILES,
            "HF-IDEM",
            &key,
            verification_visit().to_string().into_bytes(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // A refusal by a business rule is an outcome too, replayed as such.
    let key2 = [("idempotency-key", "approve-nothing")];
    let refused = api
        .cmd_with(
            &staff.approver,
            None,
            FILES,
            "HF-IDEM",
            &key2,
            json!({"ApproveGrant": {"grant_id": "G9"}})
                .to_string()
                .into_bytes(),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let again = api
        .cmd_with(
            &staff.approver,
            None,
            FILES,
            "HF-IDEM",
            &key2,
            json!({"ApproveGrant": {"grant_id": "G9"}})
                .to_string()
                .into_bytes(),
        )
        .await;
    assert_eq!(again.body, refused.body);
    assert!(again.headers.contains_key("idempotent-replayed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_command_sent_concurrently_applies_once() {
    let api = Arc::new(api().await);
    let staff = staff(&api).await;
    let before = api.events().await;
    let body = open_file(61).to_string().into_bytes();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let api = api.clone();
        let token = staff.caseworker.clone();
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
            api.cmd_with(
                &token,
                None,
                FILES,
                "HF-CONC",
                &[("idempotency-key", "conc-1")],
                body,
            )
            .await
        }));
    }
    let mut bodies = Vec::new();
    for task in tasks {
        let r = tokio::time::timeout(PATIENCE, task)
            .await
            .expect("in time")
            .expect("task");
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        bodies.push(r.body);
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "responses differ");
    assert_eq!(api.events().await, before + 1, "applied more than once");

    // Without a key, concurrent different commands on one aggregate all land
    // (conflicts are retried), each exactly once.
    let mut tasks = Vec::new();
    for i in 0..4 {
        let api = api.clone();
        let token = staff.caseworker.clone();
        tasks.push(tokio::spawn(async move {
            let visit = json!({"LogVisit": {
                "visit_id": format!("V{i}"), "visited_on": "2026-03-05", "kind": "follow_up",
                "caseworkers": ["林晓梅"], "findings": "回访。", "facts_verified": [],
                "contact_card_issued": false, "cash_handover": null
            }});
            api.cmd(&token, None, FILES, "HF-CONC", visit).await
        }));
    }
    for task in tasks {
        let r = tokio::time::timeout(PATIENCE, task)
            .await
            .expect("in time")
            .expect("task");
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    let state = api
        .get(&staff.caseworker, None, "/v1/hardship-files/HF-CONC")
        .await;
    assert_eq!(state.body["visits"], 4);
    assert_eq!(state.body["version"], 5);
}

#[tokio::test]
async fn a_keyed_commands_answer_is_rebuilt_from_the_log() {
    let api = api().await;
    let staff = staff(&api).await;
    let key = [("idempotency-key", "crash-1")];
    let body = open_file(71).to_string().into_bytes();
    let first = api
        .cmd_with(
            &staff.caseworker,
            None,
            FILES,
            "HF-CRASH",
            &key,
            body.clone(),
        )
        .await;
    assert_eq!(first.status, StatusCode::OK);
    let events = api.events().await;
    // The key was committed with the events and keeps no answer of its own:
    // the events carry it.
    let mut conn = crate::support::raw_connection(&api.path).await;
    let kept: (String, Option<i64>, Option<String>) = sqlx::query_as(
        "SELECT command_id, status, response FROM command_keys
          WHERE user_id = 'lin.xiaomei' AND idem_key = 'crash-1'",
    )
    .fetch_one(&mut conn)
    .await
    .expect("the key is in the store");
    assert_eq!(Some(kept.0.as_str()), first.body["command_id"].as_str());
    assert_eq!((kept.1, kept.2), (None, None));
    let retry = api
        .cmd_with(
            &staff.caseworker,
            None,
            FILES,
            "HF-CRASH",
            &key,
            body.clone(),
        )
        .await;
    assert_eq!(retry.status, StatusCode::OK, "{}", retry.body);
    assert_eq!(
        retry
            .headers
            .get("idempotent-replayed")
            .map(|v| v.as_bytes()),
        Some(&b"true"[..])
    );
    assert_eq!(retry.body, first.body);
    assert_eq!(api.events().await, events);
    // A key held with no event carrying its command id (KurrentDB takes the
    // key before the append, and a key carried over from the users' table may
    // be one whose command never committed): the command runs now, once,
    // with the command id the key was taken with.
    let body = verification_visit().to_string().into_bytes();
    let fingerprint = bangfu::http::idempotency::fingerprint(&[
        b"hardship_file",
        b"HF-CRASH",
        b"caseworker",
        b"",
        &body,
    ]);
    let command_id = "0190a4c0-0000-7000-8000-000000000001";
    sqlx::query(
        "INSERT INTO command_keys (user_id, idem_key, request_sha256, command_id, aggregate_type,
                                   aggregate_id, created_at)
         VALUES ('lin.xiaomei', 'crash-2', ?, ?, 'hardship_file', 'HF-CRASH', '2026-01-01')",
    )
    .bind(hex::encode(fingerprint))
    .bind(command_id)
    .execute(&mut conn)
    .await
    .expect("held key");
    let key = [("idempotency-key", "crash-2")];
    let run = api
        .cmd_with(
            &staff.caseworker,
            None,
            FILES,
            "HF-CRASH",
            &key,
            body.clone(),
        )
        .await;
    assert_eq!(run.status, StatusCode::OK, "{}", run.body);
    assert_eq!(run.body["command_id"], command_id);
    assert_eq!(api.events().await, events + 1);
    let again = api
        .cmd_with(&staff.caseworker, None, FILES, "HF-CRASH", &key, body)
        .await;
    assert_eq!(again.body, run.body);
    assert_eq!(api.events().await, events + 1);
}

#[tokio::test]
async fn keys_from_the_users_table_are_carried_over_into_the_store() {
    let api = api().await;
    let staff = staff(&api).await;
    let body = open_file(72).to_string().into_bytes();
    let fingerprint = bangfu::http::idempotency::fingerprint(&[
        b"hardship_file",
        b"HF-CARRY",
        b"caseworker",
        b"",
        &body,
    ]);
    // As an older bangfu left it: a done key with its stored answer (a
    // refusal, so that replaying it is visible: the command itself would
    // succeed), recent; and one from two days ago, which is not carried.
    let answer =
        r#"{"type":"about:blank","title":"t","status":422,"detail":"kept","code":"kept.answer"}"#;
    let now = chrono::Utc::now();
    let mut conn = crate::support::raw_connection(&api.path).await;
    for (key, at) in [("old-1", now), ("old-2", now - chrono::Duration::hours(48))] {
        sqlx::query(
            "INSERT INTO idempotency_keys (user_id, idem_key, request_sha256, command_id,
                                           aggregate_type, aggregate_id, state, status, response,
                                           created_at)
             VALUES ('lin.xiaomei', ?, ?, '0190a4c0-0000-7000-8000-000000000002', 'hardship_file',
                     'HF-CARRY', 'done', 422, ?, ?)",
        )
        .bind(key)
        .bind(hex::encode(fingerprint))
        .bind(answer)
        .bind(at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
        .execute(&mut conn)
        .await
        .expect("legacy key");
    }
    let copied =
        bangfu::http::idempotency::carry_over(api.state.users().pool(), &api.state.app().store)
            .await
            .expect("carry over");
    assert_eq!(copied, 1);
    let replayed = api
        .cmd_with(
            &staff.caseworker,
            None,
            FILES,
            "HF-CARRY",
            &[("idempotency-key", "old-1")],
            body.clone(),
        )
        .await;
    assert_eq!(replayed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(replayed.code(), "kept.answer");
    // Carried over again (the next start): nothing new, nothing changed.
    let again =
        bangfu::http::idempotency::carry_over(api.state.users().pool(), &api.state.app().store)
            .await
            .expect("carry over");
    assert_eq!(again, 0);
    // The two-day-old key is not the store's: that request runs.
    let ran = api
        .cmd_with(
            &staff.caseworker,
            None,
            FILES,
            "HF-CARRY",
            &[("idempotency-key", "old-2")],
            body,
        )
        .await;
    assert_eq!(ran.status, StatusCode::OK, "{}", ran.body);
}

#[tokio::test]
async fn if_match_gives_optimistic_concurrency() {
    let api = api().await;
    let staff = staff(&api).await;
    let opened = api
        .ok(&staff.caseworker, None, FILES, "HF-IFM", open_file(81))
        .await;
    assert_eq!(opened["version"], 1);
    let stale = api
        .cmd_with(
            &staff.caseworker,
            None,
            FILES,
            "HF-IFM",
            &[("if-match", "\"0\"")],
            verification_visit().to_string().into_bytes(),
        )
        .await;
    assert_eq!(
        (stale.status, stale.code()),
        (StatusCode::CONFLICT, "store.conflict")
    );
    assert_eq!(stale.body["current_version"], 1);
    let fresh = api
        .cmd_with(
            &staff.caseworker,
            None,
            FILES,
            "HF-IFM",
            &[("if-match", "1")],
            verification_visit().to_string().into_bytes(),
        )
        .await;
    assert_eq!(fresh.status, StatusCode::OK);
    assert_eq!(
        fresh.headers.get("etag").map(|v| v.as_bytes()),
        Some(&b"\"2\""[..])
    );
}

// ---- reads, masking, metadata ---------------------------------------------

#[tokio::test]
async fn reads_mask_personal_data_for_auditors_and_record_who_acted() {
    let api = api().await;
    let staff = staff(&api).await;
    file_with_plan(&api, &staff, "HF-READ", 91).await;
    api.ok(
        &staff.caseworker,
        None,
        FILES,
        "HF-READ",
        request_grant("G1"),
    )
    .await;
    let id = resident_id(91);
    let card = card();

    let full = api
        .get(&staff.finance, None, "/v1/hardship-files/HF-READ/state")
        .await;
    assert_eq!(full.status, StatusCode::OK);
    assert!(full.body.to_string().contains(&id));
    let history = api
        .get(&staff.caseworker, None, "/v1/hardship-files/HF-READ/events")
        .await;
    assert!(history.body.to_string().contains(&card));

    let masked = api
        .get(&staff.auditor, None, "/v1/hardship-files/HF-READ/state")
        .await;
    let masked_history = api
        .get(&staff.auditor, None, "/v1/hardship-files/HF-READ/events")
        .await;
    for doc in [&masked.body, &masked_history.body] {
        let text = doc.to_string();
        assert!(
            !text.contains(&id) && !text.contains(&card) && !text.contains("13905941234"),
            "{text}"
        );
        assert!(text.contains("3503**********"), "masked form shown");
    }
    // Every event records who acted and in which role.
    let events = masked_history.body["events"].as_array().expect("events");
    assert_eq!(events.len(), 5);
    let actors: Vec<(&str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["actor_id"].as_str().unwrap_or(""),
                e["actor_role"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(actors[0], ("lin.xiaomei", "caseworker"));
    assert_eq!(actors[2], ("huang.zhiqiang", "approver"));
    // Pagination.
    let page = api
        .get(
            &staff.auditor,
            None,
            "/v1/hardship-files/HF-READ/events?limit=2",
        )
        .await;
    assert_eq!(page.body["events"].as_array().map(Vec::len), Some(2));
    assert_eq!(page.body["next_after"], 2);
    let rest = api
        .get(
            &staff.auditor,
            None,
            "/v1/hardship-files/HF-READ/events?after=4",
        )
        .await;
    assert_eq!(rest.body["events"].as_array().map(Vec::len), Some(1));
    assert_eq!(rest.body["next_after"], Value::Null);
    // Summaries and lists.
    let summary = api
        .get(&staff.auditor, None, "/v1/hardship-files/HF-READ")
        .await;
    assert_eq!(summary.body["status"], "verified");
    assert_eq!(summary.body["planned_fen"], 800000);
    file_with_plan(&api, &staff, "HF-READ-2", 92).await;
    let list = api
        .get(&staff.auditor, None, "/v1/hardship-files?limit=1")
        .await;
    assert_eq!(list.body["items"][0]["aggregate_id"], "HF-READ");
    assert_eq!(list.body["next_after"], "HF-READ");
    let next = api
        .get(
            &staff.auditor,
            None,
            "/v1/hardship-files?limit=1&after=HF-READ",
        )
        .await;
    assert_eq!(next.body["items"][0]["aggregate_id"], "HF-READ-2");
    assert_eq!(next.body["next_after"], Value::Null);
    // The chain check.
    let verify = api.get(&staff.auditor, None, "/v1/audit/verify").await;
    assert_eq!(verify.body["ok"], true);
    assert_eq!(verify.body["events"], 9);
}

const FUNDS: &str = "fund-accounts";

fn appropriate(id: &str, amount_fen: u64) -> Value {
    json!({"Appropriate": {
        "appropriation_id": id, "fund": "special_assistance", "amount_fen": amount_fen,
        "source": "福建省总工会", "received_on": "2026-01-05", "note": "闽工〔2026〕1号"
    }})
}

#[tokio::test]
async fn finance_records_and_reverses_appropriations_and_everyone_reads_them() {
    let api = api().await;
    let staff = staff(&api).await;
    let before = api.events().await;
    for token in [&staff.caseworker, &staff.approver, &staff.auditor] {
        let r = api
            .cmd(
                token,
                None,
                FUNDS,
                "special-2026",
                appropriate("BK-1", 5_000_000),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    }
    assert_eq!(
        api.events().await,
        before,
        "a refused appropriation wrote nothing"
    );
    let done = api
        .ok(
            &staff.finance,
            None,
            FUNDS,
            "special-2026",
            appropriate("BK-1", 5_000_000),
        )
        .await;
    assert_eq!(done["aggregate_type"], "fund_account");
    assert_eq!(done["version"], 1);
    api.ok(
        &staff.finance,
        None,
        FUNDS,
        "special-2026",
        appropriate("BK-2", 1_000_000),
    )
    .await;
    // A rule of the aggregate, over HTTP: an id is never reused.
    let again = api
        .cmd(
            &staff.finance,
            None,
            FUNDS,
            "special-2026",
            appropriate("BK-1", 10),
        )
        .await;
    assert_eq!(
        again.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        again.body
    );
    api.ok(
        &staff.finance,
        None,
        FUNDS,
        "special-2026",
        json!({"ReverseAppropriation": {"appropriation_id": "BK-2", "reason": "重复入账"}}),
    )
    .await;

    let summary = api
        .get(&staff.auditor, None, "/v1/fund-accounts/special-2026")
        .await;
    assert_eq!(summary.status, StatusCode::OK, "{}", summary.body);
    assert_eq!(summary.body["fund"], "special_assistance");
    assert_eq!(summary.body["appropriations"], 2);
    assert_eq!(summary.body["appropriated_fen"], 6_000_000);
    assert_eq!(summary.body["reversed_fen"], 1_000_000);
    assert_eq!(summary.body["net_fen"], 5_000_000);
    assert_eq!(summary.body["version"], 3);
    let list = api.get(&staff.caseworker, None, "/v1/fund-accounts").await;
    assert_eq!(list.body["items"][0]["aggregate_id"], "special-2026");
    let state = api
        .get(
            &staff.approver,
            None,
            "/v1/fund-accounts/special-2026/state",
        )
        .await;
    assert_eq!(state.body["version"], 3);
    let history = api
        .get(
            &staff.auditor,
            None,
            "/v1/fund-accounts/special-2026/events",
        )
        .await;
    let events = history.body["events"].as_array().expect("events");
    assert_eq!(events.len(), 3);
    assert_eq!(events[2]["actor_role"], "finance");
    let missing = api
        .get(&staff.auditor, None, "/v1/fund-accounts/nope")
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

// ---- views -----------------------------------------------------------------

/// `bangfu --db <path> view <args…> --json`: the CLI's figures, parsed.
fn cli_view(path: &Path, args: &[&str]) -> Value {
    let mut cmd = assert_cmd::Command::cargo_bin("bangfu").expect("the bangfu binary");
    for var in [
        "BANGFU_DB",
        "BANGFU_LANG",
        "BANGFU_ACTOR",
        "BANGFU_ROLE",
        "RUST_LOG",
    ] {
        cmd.env_remove(var);
    }
    let output = cmd
        .arg("--db")
        .arg(path)
        .arg("view")
        .args(args)
        .arg("--json")
        .timeout(PATIENCE)
        .output()
        .expect("run bangfu view");
    assert!(
        output.status.success(),
        "bangfu view {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let view: Value = serde_json::from_slice(&output.stdout).expect("JSON from bangfu view");
    // The CLI and the API print the same `views_position` object.
    if let Some(at) = view.get("views_position") {
        assert_eq!(at["commit"], 0, "SQLite log positions have commit 0");
    }
    view
}

/// A file with one grant paid (100 yuan) and one pending, 50,000 yuan
/// appropriated to special assistance, a plan period with one approved
/// claim, and a closed campaign (5,000 yuan) with 10 yuan allocated to the
/// file's measure. Returns the last command's outcome.
pub(super) async fn views_scenario(api: &TestApi, staff: &Staff) -> Value {
    // Money first: the store counts G1 against its fund when it is approved.
    api.ok(
        &staff.finance,
        None,
        FUNDS,
        "special-2026",
        appropriate("BK-1", 5_000_000),
    )
    .await;
    file_with_plan(api, staff, "HF-V", 41).await;
    api.ok(&staff.caseworker, None, FILES, "HF-V", request_grant("G1"))
        .await;
    api.ok(
        &staff.approver,
        None,
        FILES,
        "HF-V",
        json!({"ApproveGrant": {"grant_id": "G1"}}),
    )
    .await;
    api.ok(
        &staff.finance,
        None,
        FILES,
        "HF-V",
        // Paid today (Beijing): not before the approval just given.
        json!({"RecordGrantPaid": {"grant_id": "G1", "paid_on": beijing_today(), "reference": "BOC-1"}}),
    )
    .await;
    api.ok(&staff.caseworker, None, FILES, "HF-V", request_grant("G2"))
        .await;
    plan_period(api, staff, "putian-07").await;
    // C1's 676 yuan counts against the mutual-aid fund at approval; the
    // unit's 300 yuan contribution does not cover it.
    api.ok(
        &staff.finance,
        None,
        FUNDS,
        "mutual-aid-2026",
        json!({"Appropriate": {
            "appropriation_id": "BK-MA-1", "fund": "mutual_aid", "amount_fen": 100_000,
            "source": "莆田市总工会", "received_on": "2026-01-05", "note": null
        }}),
    )
    .await;
    reviewed_claim(api, staff, "putian-07", "C1", 1, 2).await;
    api.ok(&staff.approver, None, CLAIMS, "C1", json!({"Assess": {}}))
        .await;
    let second_approver = api.user("zheng.lihua", &[Role::Approver]).await;
    api.ok(&second_approver, None, CLAIMS, "C1", json!({"Approve": {}}))
        .await;
    campaign(api, staff, "yirijuan").await;
    api.ok(
        &staff.caseworker,
        None,
        CAMPAIGNS,
        "yirijuan",
        json!({"ProposeAllocation": {
            "allocation_id": "A1",
            "target": {"hardship_measure": {"file_id": "HF-V", "measure_id": "M1"}},
            "amount_fen": 1000, "note": "医疗救助"
        }}),
    )
    .await;
    api.ok(
        &staff.approver,
        None,
        CAMPAIGNS,
        "yirijuan",
        json!({"ApproveAllocation": {"allocation_id": "A1"}}),
    )
    .await
}

fn fund<'a>(funds: &'a Value, name: &str) -> &'a Value {
    funds
        .as_array()
        .and_then(|f| f.iter().find(|f| f["fund"] == name))
        .unwrap_or(&Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_view_gives_the_figures_the_cli_gives() {
    let api = api().await;
    let staff = staff(&api).await;
    let last = views_scenario(&api, &staff).await;
    let head = last["last_position"].as_u64().expect("last_position");

    // 一户一档: the same document as `bangfu view household-file --json`.
    let http = api
        .get(&staff.finance, None, "/v1/views/household-files/HF-V")
        .await;
    assert_eq!(http.status, StatusCode::OK, "{}", http.body);
    assert_eq!(
        http.body["views_position"],
        json!({"commit": 0, "position": head})
    );
    let cli = cli_view(&api.path, &["household-file", "HF-V"]);
    assert_eq!(http.body, cli);
    let measure = &http.body["file"]["plan"]["measures"][0];
    assert_eq!(
        (
            &measure["planned_fen"],
            &measure["requested_fen"],
            &measure["approved_fen"],
            &measure["paid_fen"]
        ),
        (&json!(800000), &json!(20000), &json!(10000), &json!(10000))
    );
    // Stored masked: an auditor reads the same document, and no role sees the ID.
    let audited = api
        .get(&staff.auditor, None, "/v1/views/household-files/HF-V")
        .await;
    assert_eq!(audited.body, http.body);
    let text = http.body.to_string();
    assert!(
        !text.contains(&resident_id(41)) && !text.contains(&card()),
        "{text}"
    );
    assert!(text.contains("3503**********"), "{text}");

    // Plan period: every figure of the CLI's report (one page holds all units).
    let http = api
        .get(
            &staff.auditor,
            None,
            "/v1/views/plan-periods/putian-07?limit=500",
        )
        .await;
    assert_eq!(http.status, StatusCode::OK, "{}", http.body);
    let cli = cli_view(&api.path, &["plan-period", "putian-07"]);
    assert_eq!(http.body["plan_period"], cli["plan_period"]);
    assert_eq!(http.body["units_next_after"], Value::Null);
    let report = &http.body["plan_period"];
    assert_eq!(report["period"]["units"], 1);
    assert_eq!(report["period"]["members"], 3);
    assert_eq!(report["period"]["contributions_fen"], 30000);
    assert_eq!(report["claims"], 1);
    assert_eq!(report["claims_with_subsidy"], 1);
    assert_eq!(report["units"][0]["claims"], 1);

    // Payout ledger: every payout and the totals, all funds and one fund.
    let http = api
        .get(&staff.caseworker, None, "/v1/views/payout-ledger?limit=500")
        .await;
    assert_eq!(http.status, StatusCode::OK, "{}", http.body);
    let cli = cli_view(&api.path, &["payout-ledger"]);
    assert_eq!(http.body["payouts"], cli["payouts"]);
    assert_eq!(http.body["totals"], cli["totals"]);
    assert_eq!(http.body["matching"], 4, "G1, G2, C1 and the allocation");
    assert_eq!(http.body["totals"]["all"]["payouts"], 3);
    assert_eq!(http.body["totals"]["transfers"], 1);
    assert_eq!(
        http.body["totals"]["by_fund"]["special_assistance"]["paid_fen"],
        10000
    );
    assert_eq!(
        http.body["totals"]["by_fund"]["special_assistance"]["requested_fen"],
        10000
    );
    assert_eq!(http.body["next_after"], Value::Null);
    let http = api
        .get(
            &staff.finance,
            None,
            "/v1/views/payout-ledger?fund=mutual_aid&limit=500",
        )
        .await;
    let cli = cli_view(&api.path, &["payout-ledger", "--fund", "mutual_aid"]);
    assert_eq!(http.body["payouts"], cli["payouts"]);
    assert_eq!(http.body["totals"], cli["totals"]);
    assert_eq!(http.body["fund"], "mutual_aid");
    assert_eq!(http.body["matching"], 1);
    let month = http.body["payouts"][0]["state_on"]
        .as_str()
        .map(|d| d[..7].to_string())
        .expect("a month");
    let http = api
        .get(
            &staff.finance,
            None,
            &format!("/v1/views/payout-ledger?month={month}&limit=500"),
        )
        .await;
    let cli = cli_view(&api.path, &["payout-ledger", "--month", &month]);
    assert_eq!(http.body["payouts"], cli["payouts"]);
    assert_eq!(http.body["totals"], cli["totals"]);

    // Campaign.
    let http = api
        .get(&staff.approver, None, "/v1/views/campaigns/yirijuan")
        .await;
    assert_eq!(http.status, StatusCode::OK, "{}", http.body);
    let cli = cli_view(&api.path, &["campaign", "yirijuan"]);
    assert_eq!(http.body["campaign"], cli["campaign"]);
    assert_eq!(http.body["campaign"]["campaign"]["received_fen"], 500000);
    assert_eq!(http.body["campaign"]["campaign"]["donors"], 80);
    assert_eq!(http.body["campaign"]["campaign"]["approved_fen"], 1000);
    assert_eq!(http.body["campaign"]["units"][0]["headcount"], 85);

    // Fund balances, worked out by hand: special assistance 50,000 yuan in
    // plus 10 yuan moved from donations, less the 100-yuan grant paid.
    let http = api
        .get(&staff.auditor, None, "/v1/views/fund-balances")
        .await;
    assert_eq!(http.status, StatusCode::OK, "{}", http.body);
    let cli = cli_view(&api.path, &["fund-balances"]);
    assert_eq!(http.body, cli);
    let funds = &http.body["funds"];
    assert_eq!(fund(funds, "special_assistance")["balance_fen"], 4_991_000);
    assert_eq!(fund(funds, "special_assistance")["transfers_in_fen"], 1000);
    assert_eq!(fund(funds, "donation")["balance_fen"], 499_000);
    // Mutual aid: 300 contributed + 1,000 appropriated; C1's 676 approved, unpaid.
    assert_eq!(fund(funds, "mutual_aid")["balance_fen"], 130000);
    assert_eq!(fund(funds, "mutual_aid")["committed_fen"], 67600);
    assert_eq!(fund(funds, "mutual_aid")["available_fen"], 62400);
    assert_eq!(fund(funds, "festival")["balance_fen"], 0);

    // Absent rows are 404 with the view named.
    let r = api
        .get(&staff.auditor, None, "/v1/views/campaigns/no-such")
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::NOT_FOUND, "view.not_found")
    );
    let r = api
        .get(&staff.auditor, None, "/v1/views/household-files/HF-NONE")
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::NOT_FOUND, "view.not_found")
    );
}

/// Follows `next_field` from page to page of `uri` (which takes `limit=1`),
/// collecting `items` of each page; at most `max_pages`.
async fn walk(
    api: &TestApi,
    token: &str,
    uri: &str,
    items: &str,
    next_field: &str,
    max_pages: usize,
) -> (Vec<Value>, Vec<Value>) {
    let mut all = Vec::new();
    let mut pages = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..max_pages {
        let sep = if uri.contains('?') { '&' } else { '?' };
        let page_uri = match &after {
            Some(a) => format!("{uri}{sep}limit=1&after={a}"),
            None => format!("{uri}{sep}limit=1"),
        };
        let r = api.get(token, None, &page_uri).await;
        assert_eq!(r.status, StatusCode::OK, "{page_uri}: {}", r.body);
        let page = r
            .body
            .pointer(items)
            .and_then(Value::as_array)
            .cloned()
            .expect(items);
        assert!(page.len() <= 1, "{page_uri} returned {} items", page.len());
        all.extend(page);
        after = r.body[next_field].as_str().map(str::to_string);
        pages.push(r.body);
        if after.is_none() {
            return (all, pages);
        }
    }
    panic!("{uri}: more than {max_pages} pages");
}

#[tokio::test]
async fn view_pages_walk_every_row_once_and_are_bounded() {
    let api = api().await;
    let staff = staff(&api).await;
    views_scenario(&api, &staff).await;
    // Two more units in the period, two more in a campaign.
    for (n, unit) in [(4u32, "U2"), (6, "U3")] {
        let members: Vec<Value> = (n..n + 2)
            .map(|m| json!({"resident_id": resident_id(m), "name": "陈志强", "migrant_worker": false}))
            .collect();
        api.ok(
            &staff.caseworker,
            None,
            PLANS,
            "putian-07",
            json!({"EnrolUnit": {
                "unit_id": unit, "unit_name": "莆田学院", "members": members,
                "contribution_fen": 20000, "paid_by": "unit"
            }}),
        )
        .await;
    }
    api.ok(
        &staff.approver,
        None,
        CAMPAIGNS,
        "yrj-3",
        json!({"Launch": {
            "name": "2026年一日捐（三个单位）", "year": 2026, "co_issuers": [],
            "units": [
                {"unit_id": "d-1", "name": "市直机关", "headcount": 10},
                {"unit_id": "d-2", "name": "教育局", "headcount": 20},
                {"unit_id": "d-3", "name": "卫健委", "headcount": 30}
            ],
            "starts_on": "2026-04-01", "ends_on": "2026-06-30", "purpose": "general_fund"
        }}),
    )
    .await;

    // Plan units: three pages of one, totals the whole period's on each.
    let (units, pages) = walk(
        &api,
        &staff.auditor,
        "/v1/views/plan-periods/putian-07",
        "/plan_period/units",
        "units_next_after",
        10,
    )
    .await;
    let ids: Vec<&str> = units.iter().filter_map(|u| u["unit_id"].as_str()).collect();
    assert_eq!(ids, ["U1", "U2", "U3"]);
    for page in &pages {
        assert_eq!(page["plan_period"]["period"]["members"], 7);
        assert_eq!(page["plan_period"]["period"]["contributions_fen"], 70000);
        assert_eq!(page["plan_period"]["claims"], 1);
    }
    let whole = api
        .get(&staff.auditor, None, "/v1/views/plan-periods/putian-07")
        .await;
    assert_eq!(whole.body["plan_period"]["units"], Value::Array(units));

    // Campaign units.
    let (units, _) = walk(
        &api,
        &staff.auditor,
        "/v1/views/campaigns/yrj-3",
        "/campaign/units",
        "units_next_after",
        10,
    )
    .await;
    let ids: Vec<&str> = units.iter().filter_map(|u| u["unit_id"].as_str()).collect();
    assert_eq!(ids, ["d-1", "d-2", "d-3"]);

    // Payouts: every one exactly once, the totals and count on every page.
    let whole = api
        .get(&staff.finance, None, "/v1/views/payout-ledger")
        .await;
    let (payouts, pages) = walk(
        &api,
        &staff.finance,
        "/v1/views/payout-ledger",
        "/payouts",
        "next_after",
        10,
    )
    .await;
    assert_eq!(pages.len(), 4);
    assert_eq!(Value::Array(payouts), whole.body["payouts"]);
    for page in &pages {
        assert_eq!(page["totals"], whole.body["totals"]);
        assert_eq!(page["matching"], 4);
    }
    // A filtered walk stays in its fund.
    let (payouts, _) = walk(
        &api,
        &staff.finance,
        "/v1/views/payout-ledger?fund=special_assistance",
        "/payouts",
        "next_after",
        10,
    )
    .await;
    assert_eq!(payouts.len(), 2);
    assert!(payouts.iter().all(|p| p["fund"] == "special_assistance"));

    // Lists of aggregates page over the views too.
    let (files, _) = walk(
        &api,
        &staff.auditor,
        "/v1/hardship-files",
        "/items",
        "next_after",
        10,
    )
    .await;
    assert_eq!(files.len(), 1);
    let (claims, _) = walk(
        &api,
        &staff.auditor,
        "/v1/mutual-aid-claims",
        "/items",
        "next_after",
        10,
    )
    .await;
    assert_eq!(claims[0]["status"], "approved");

    // Bounded: the page size is capped as on every list.
    for uri in [
        "/v1/views/payout-ledger?limit=501",
        "/v1/views/plan-periods/putian-07?limit=0",
        "/v1/views/campaigns/yrj-3?limit=100000",
    ] {
        let r = api.get(&staff.auditor, None, uri).await;
        assert_eq!(
            (r.status, r.body["field"].as_str()),
            (StatusCode::BAD_REQUEST, Some("limit")),
            "{uri}"
        );
    }
    let default_page = api
        .get(&staff.auditor, None, "/v1/views/payout-ledger?limit=2")
        .await;
    assert_eq!(
        default_page.body["payouts"].as_array().map(Vec::len),
        Some(2)
    );
    assert!(default_page.body["next_after"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_view_read_waits_for_the_position_a_command_returned() {
    let limits = Limits {
        view_wait: Duration::from_millis(300),
        ..Limits::default()
    };
    let api = api_with(limits).await;
    let staff = staff(&api).await;
    let opened = api
        .ok(&staff.caseworker, None, FILES, "HF-RYW", open_file(61))
        .await;
    let at = opened["last_position"].as_u64().expect("last_position");
    let r = api
        .get(
            &staff.auditor,
            None,
            &format!("/v1/views/household-files/HF-RYW?min_position={at}"),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body["views_position"]["position"].as_u64() >= Some(at));
    assert_eq!(r.body["file"]["status"], "open_unverified");

    // A read naming the next command's position waits for it: started
    // first, answered once the command is in the views.
    let wait_longer = Limits {
        view_wait: PATIENCE,
        ..Limits::default()
    };
    let waiting_api = bangfu::http::router(bangfu::http::ApiState::with_views(
        api.state.app().clone(),
        api.state.users().clone(),
        wait_longer,
        Arc::new(bangfu::http::views::ProjectedViews::new(
            api.state.app().clone(),
        )),
    ));
    let next = at + 1;
    let read = tokio::spawn(waiting_api.oneshot(request(
        Method::GET,
        &format!("/v1/views/household-files/HF-RYW?min_position={next}"),
        &staff.auditor,
        None,
        &[],
        Vec::new(),
    )));
    let visited = api
        .ok(
            &staff.caseworker,
            None,
            FILES,
            "HF-RYW",
            verification_visit(),
        )
        .await;
    assert_eq!(visited["last_position"], next);
    let response = tokio::time::timeout(PATIENCE, read)
        .await
        .expect("in time")
        .expect("joined")
        .expect("infallible");
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let body: Value = serde_json::from_slice(&bytes).expect("json");
    assert!(body["views_position"]["position"].as_u64() >= Some(next));
    assert_eq!(body["file"]["visits"].as_array().map(Vec::len), Some(1));

    // Lists take it too.
    let r = api
        .get(
            &staff.auditor,
            None,
            &format!("/v1/hardship-files?min_position={next}"),
        )
        .await;
    assert_eq!(r.body["items"][0]["visits"], 1);

    // A position the log never reaches: 503 after the bounded wait, naming it.
    let r = api
        .get(
            &staff.auditor,
            None,
            &format!("/v1/views/fund-balances?min_position={}", next + 1_000_000),
        )
        .await;
    assert_eq!(
        (r.status, r.code(), r.body["field"].as_str()),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "view.behind",
            Some("min_position")
        ),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn bad_view_query_parameters_are_400_naming_the_parameter() {
    let api = api().await;
    let staff = staff(&api).await;
    let before = api.events().await;
    for (uri, field) in [
        ("/v1/views/payout-ledger?fund=gold", "fund"),
        ("/v1/views/payout-ledger?month=2026-13", "month"),
        ("/v1/views/payout-ledger?month=2026-1", "month"),
        ("/v1/views/payout-ledger?month=%E5%B9%B41-01", "month"),
        ("/v1/views/payout-ledger?limit=x", "limit"),
        ("/v1/views/payout-ledger?after=", "after"),
        ("/v1/views/payout-ledger?colour=red", "colour"),
        ("/v1/views/fund-balances?min_position=-1", "min_position"),
        ("/v1/views/fund-balances?min_position=1.5", "min_position"),
        ("/v1/views/fund-balances?limit=5", "limit"),
        ("/v1/views/household-files/HF-1?after=x", "after"),
        ("/v1/views/household-files/bad%20id", "aggregate_id"),
        ("/v1/views/plan-periods/P7?min_position=soon", "min_position"),
        ("/v1/views/campaigns/C?after=01234567890123456789012345678901234567890123456789012345678901234", "after"),
        ("/v1/hardship-files?min_position=x", "min_position"),
        ("/v1/hardship-files/HF-1/events?min_position=1", "min_position"),
    ] {
        let r = api.get(&staff.auditor, None, uri).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{uri}: {}", r.body);
        assert_eq!(r.body["field"], field, "{uri}: {}", r.body);
    }
    let english = api
        .send(request(
            Method::GET,
            "/v1/views/payout-ledger?fund=gold",
            &staff.auditor,
            None,
            &[("accept-language", "en")],
            Vec::new(),
        ))
        .await;
    assert!(
        english.body["detail"]
            .as_str()
            .unwrap_or("")
            .contains("special_assistance"),
        "{}",
        english.body
    );
    assert_eq!(api.events().await, before);
    assert_eq!(api.state.panics_caught(), 0);
}

// ---- the real server -------------------------------------------------------

struct Server {
    addr: std::net::SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    done: tokio::task::JoinHandle<std::io::Result<()>>,
    state: ApiState,
}

async fn start(path: &Path) -> (Server, String) {
    let (state, admin) = open_state(path, Limits::default()).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let done = tokio::spawn(bangfu::http::run(listener, state.clone(), async {
        let _ = stopped.await;
    }));
    (
        Server {
            addr,
            stop,
            done,
            state,
        },
        admin,
    )
}

impl Server {
    async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(PATIENCE, self.done)
            .await
            .expect("stops in time")
            .expect("task")
            .expect("served");
        self.state.app().store.close().await;
        self.state.users().close().await;
    }
}

/// One request over a real socket.
async fn http(
    addr: std::net::SocketAddr,
    method: Method,
    path: &str,
    token: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> (StatusCode, HeaderMap, Value) {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<axum::body::Bytes>>();
    let mut builder = Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"));
    if !token.is_empty() {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let request = builder
        .body(http_body_util::Full::new(axum::body::Bytes::from(body)))
        .expect("request");
    let response = tokio::time::timeout(PATIENCE, client.request(request))
        .await
        .expect("in time")
        .expect("response");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (
        status,
        headers,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// Writes `request` to a fresh connection and reads until the server closes it.
async fn raw_exchange(addr: std::net::SocketAddr, request: String) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut response = Vec::new();
        // The server may close with the body unread; what it sent first is the answer.
        let _ = stream.read_to_end(&mut response).await;
        String::from_utf8_lossy(&response).into_owned()
    };
    tokio::time::timeout(PATIENCE, exchange)
        .await
        .expect("in time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_server_serves_commands_and_idempotency_survives_a_restart() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("bangfu.db");
    let (server, admin) = start(&path).await;
    assert!(!admin.is_empty(), "first start makes an admin");
    let addr = server.addr;

    let (status, headers, _) = http(addr, Method::GET, "/health", "", &[], Vec::new()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers.contains_key("x-request-id"),
        "every response carries its request id"
    );

    let (status, _, user) = http(
        addr,
        Method::POST,
        "/v1/users",
        &admin,
        &[("content-type", "application/json")],
        json!({"user_id": "lin.xiaomei", "roles": ["caseworker"]})
            .to_string()
            .into_bytes(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    let caseworker = user["token"].as_str().expect("token").to_string();

    let key = [("idempotency-key", "restart-1")];
    let body = open_file(101).to_string().into_bytes();
    let path_cmd = "/v1/hardship-files/HF-SOCK/commands";
    let (status, _, first) = http(
        addr,
        Method::POST,
        path_cmd,
        &caseworker,
        &key,
        body.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    // Oversized over the socket: refused on its Content-Length, before the body is read.
    let head = raw_exchange(
        addr,
        format!(
            "POST {path_cmd} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {caseworker}\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            9 * 1024 * 1024
        ),
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    assert!(
        head.contains("application/problem+json") && head.contains("input.too_large"),
        "{head}"
    );
    let events = server
        .state
        .app()
        .store
        .count_events()
        .await
        .expect("count");
    server.stop().await;

    // A new process on the same file: the key still answers with the first response.
    let (server, admin_again) = start(&path).await;
    assert!(
        admin_again.is_empty(),
        "the admin token is printed only on the very first start"
    );
    let (status, headers, replay) =
        http(server.addr, Method::POST, path_cmd, &caseworker, &key, body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(replay, first);
    assert!(headers.contains_key("idempotent-replayed"));
    assert_eq!(
        server
            .state
            .app()
            .store
            .count_events()
            .await
            .expect("count"),
        events
    );
    server.stop().await;
}

#[test]
fn the_binary_serves_on_port_0_prints_the_admin_token_and_stops_on_sigterm() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().expect("dir");
    let log_path = dir.path().join("stderr.log");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_bangfu"))
        .args(["--db"])
        .arg(dir.path().join("b.db"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env_remove("BANGFU_LANG")
        .env("RUST_LOG", "debug")
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&log_path).expect("log file"))
        .spawn()
        .expect("spawn bangfu serve");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let mut token = None;
    let mut addr = None;
    let deadline = std::time::Instant::now() + PATIENCE;
    while addr.is_none() {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let line = rx
            .recv_timeout(left)
            .expect("the server prints its address in time");
        if let Some(t) = line.split_whitespace().find(|w| w.starts_with("bf_")) {
            token = Some(t.to_string());
        }
        if let Some(url) = line.split_whitespace().find(|w| w.starts_with("http://")) {
            addr = url
                .trim_start_matches("http://")
                .parse::<std::net::SocketAddr>()
                .ok();
        }
    }
    let addr = addr.expect("address");
    assert!(addr.ip().is_loopback());
    let token = token.expect("first start prints the admin token");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (status, _, me) = rt.block_on(http(addr, Method::GET, "/v1/me", &token, &[], Vec::new()));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["acting_role"], "admin");
    // Requests carrying personal data: accepted, refused by a rule, refused as bad input.
    let (status, _, user) = rt.block_on(http(
        addr,
        Method::POST,
        "/v1/users",
        &token,
        &[],
        json!({"user_id": "lin.xiaomei", "roles": ["caseworker"]})
            .to_string()
            .into_bytes(),
    ));
    assert_eq!(status, StatusCode::CREATED);
    let caseworker = user["token"].as_str().expect("token").to_string();
    let person = resident_id(131);
    let mut bad = open_file(132);
    bad["OpenFile"]["household"]["head"]["phone"] = json!(person.clone());
    for (id, body, expected) in [
        ("HF-LOG", open_file(131), StatusCode::OK),
        ("HF-LOG-2", open_file(131), StatusCode::UNPROCESSABLE_ENTITY),
        ("HF-LOG-3", bad, StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let path = format!("/v1/hardship-files/{id}/commands");
        let (status, _, _) = rt.block_on(http(
            addr,
            Method::POST,
            &path,
            &caseworker,
            &[],
            body.to_string().into_bytes(),
        ));
        assert_eq!(status, expected, "{id}");
    }
    // Guessing tokens: ten failures a minute per address, then 429 with
    // Retry-After — for a right token from that address too.
    let guess = "bf_guessed0000000000000000000000000000000000000000000000000000000000";
    for attempt in 1..=11 {
        let (status, headers, body) =
            rt.block_on(http(addr, Method::GET, "/v1/me", guess, &[], Vec::new()));
        let expected = if attempt <= 10 {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::TOO_MANY_REQUESTS
        };
        assert_eq!(status, expected, "attempt {attempt}: {body}");
        if attempt == 11 {
            assert_eq!(body["code"], "auth.throttled");
            let wait: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
            assert!((1..=60).contains(&wait), "{wait}");
        }
    }
    let (status, _, _) = rt.block_on(http(addr, Method::GET, "/v1/me", &token, &[], Vec::new()));
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "throttled before the token is looked at"
    );
    // SIGTERM: a graceful stop, exit status 0.
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let (exited, exit) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = exited.send(child.wait());
    });
    let status = exit
        .recv_timeout(PATIENCE)
        .expect("stops on SIGTERM in time")
        .expect("exit status");
    assert!(status.success(), "{status}");
    let rest: Vec<String> = rx.try_iter().collect();
    assert!(rest.iter().any(|l| l.contains("已停止")), "{rest:?}");
    // The request log: one line per response with its request id; no personal data.
    let log = std::fs::read_to_string(&log_path).expect("log");
    assert!(log.contains("request_id="), "no request id in:\n{log}");
    assert!(
        log.contains("status=200") && log.contains("status=422"),
        "no response logs:\n{log}"
    );
    assert!(log.contains("events committed"), "debug logs on:\n{log}");
    // Failed sign-ins are security events with the client address.
    let security: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("sign-in refused"))
        .collect();
    assert_eq!(security.len(), 12, "{log}");
    assert!(
        security.iter().all(|l| l.contains("client=127.0.0.1")),
        "{security:?}"
    );
    assert_eq!(
        security
            .iter()
            .filter(|l| l.contains("reason=\"unknown_token\""))
            .count(),
        11
    );
    assert_eq!(
        security
            .iter()
            .filter(|l| l.contains("reason=\"throttled\""))
            .count(),
        1
    );
    for secret in [
        guess,
        person.as_str(),
        "13905941234",
        "陈建国",
        caseworker.as_str(),
        token.as_str(),
    ] {
        assert!(!log.contains(secret), "{secret} logged:\n{log}");
    }
}

// ---- outages and logs ------------------------------------------------------

#[tokio::test]
async fn a_store_that_is_gone_answers_503_not_500() {
    let api = api().await;
    let staff = staff(&api).await;
    api.ok(&staff.caseworker, None, FILES, "HF-503", open_file(111))
        .await;
    api.state.app().store.close().await;
    let r = api
        .cmd(
            &staff.caseworker,
            None,
            FILES,
            "HF-503",
            verification_visit(),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::SERVICE_UNAVAILABLE, "store.unavailable"),
        "{}",
        r.body
    );
    let r = api
        .get(&staff.auditor, None, "/v1/hardship-files/HF-503/events")
        .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        !r.body["detail"].as_str().unwrap_or("").contains("closed"),
        "causes stay in the log"
    );
    for uri in [
        "/v1/views/fund-balances",
        "/v1/views/household-files/HF-503",
        "/v1/hardship-files",
    ] {
        let r = api.get(&staff.auditor, None, uri).await;
        assert_eq!(
            r.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{uri}: {}",
            r.body
        );
        assert!(
            !r.body["detail"].as_str().unwrap_or("").contains("closed"),
            "causes stay in the log"
        );
    }
    assert_eq!(api.state.panics_caught(), 0);
}

/// `Users::authenticate` reads user and roles in one query and caches
/// nothing: every role comes back in order, and a revocation made through
/// another connection (as `bangfu users revoke` in another process) holds
/// from the next lookup on.
#[tokio::test]
async fn authentication_sees_every_role_and_a_revocation_from_another_connection() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bangfu.db");
    let _app = App::open(&path).await.expect("open app");
    let serving = Users::open(&path).await.expect("open users");
    let other = Users::open(&path).await.expect("open users again");
    let id = domain::values::Code::parse("lin.xiaomei").expect("user id");
    let token = serving
        .add(&id, &[Role::Approver, Role::Caseworker], "test")
        .await
        .expect("add user");
    let single = serving
        .add(
            &domain::values::Code::parse("chen.li").expect("user id"),
            &[Role::Finance],
            "test",
        )
        .await
        .expect("add user");

    let user = serving
        .authenticate(token.expose())
        .await
        .expect("lookup")
        .expect("active user");
    assert_eq!(user.id, id);
    assert_eq!(user.roles, vec![Role::Caseworker, Role::Approver]);
    let user = serving
        .authenticate(single.expose())
        .await
        .expect("lookup")
        .expect("active user");
    assert_eq!(user.roles, vec![Role::Finance]);
    assert!(serving
        .authenticate("bf_not-a-token")
        .await
        .expect("lookup")
        .is_none());

    other.revoke("lin.xiaomei").await.expect("revoke");
    assert!(serving
        .authenticate(token.expose())
        .await
        .expect("lookup")
        .is_none());
    assert!(serving
        .authenticate(single.expose())
        .await
        .expect("lookup")
        .is_some());
}

/// Audit seals over HTTP: an auditor seals (201), a caseworker may not
/// (403), auditors list the seals and verify them with a published one they
/// bring (`POST /v1/audit/verify`); once an insider deletes the sealed
/// tail of a stream, `/v1/audit/verify` says the seal no longer holds
/// (which the chains alone cannot tell) and a new seal is refused (409).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auditors_seal_and_verify_names_an_altered_sealed_log() {
    let api = api().await;
    let staff = staff(&api).await;
    file_with_plan(&api, &staff, "HF-SEAL", 41).await;
    let seal = |token: &str| {
        request(
            Method::POST,
            "/v1/audit/seals",
            token,
            None,
            &[],
            Vec::new(),
        )
    };
    let r = api.send(seal(&staff.caseworker)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = api.send(seal(&staff.auditor)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["events"], api.events().await);
    assert!(r.body["text"]
        .as_str()
        .unwrap()
        .contains("\nbangfu-seal: 1\n"));
    let list = api.get(&staff.auditor, None, "/v1/audit/seals").await;
    assert_eq!(
        list.body["seals"].as_array().unwrap().len(),
        1,
        "{}",
        list.body
    );
    let verify = api.get(&staff.auditor, None, "/v1/audit/verify").await;
    assert_eq!(verify.body["ok"], true, "{}", verify.body);
    assert_eq!(verify.body["audit"]["seals"][0]["ok"], true);
    // A published seal brought back: checked with the stored one; the case
    // roles may not verify.
    let published = r.body["text"].as_str().unwrap().to_string();
    let given = |token: &str, body: serde_json::Value| {
        request(
            Method::POST,
            "/v1/audit/verify",
            token,
            None,
            &[("content-type", "application/json")],
            body.to_string().into_bytes(),
        )
    };
    let r = api
        .send(given(&staff.auditor, json!({"seals": published})))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["ok"], true, "{}", r.body);
    assert_eq!(r.body["audit"]["seals"][1]["origin"], "given #1");
    assert_eq!(r.body["audit"]["seals"][1]["ok"], true);
    let r = api
        .send(given(&staff.finance, json!({"seals": published})))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = api
        .send(given(&staff.auditor, json!({"seals": "not a seal"})))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.body["code"], "audit.seal_format");
    let other = hex::encode(
        ed25519_dalek::SigningKey::from_bytes(&[7u8; 32])
            .verifying_key()
            .to_bytes(),
    );
    let r = api
        .send(given(
            &staff.auditor,
            json!({"seals": published, "public_key": other}),
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["audit"]["forged"], true, "another key: {}", r.body);

    let mut raw = crate::support::raw_connection(&api.path).await;
    for statement in [
        "PRAGMA foreign_keys = OFF",
        "DROP TRIGGER events_no_delete",
        "DELETE FROM events WHERE aggregate_id = 'HF-SEAL'
           AND sequence = (SELECT MAX(sequence) FROM events WHERE aggregate_id = 'HF-SEAL')",
    ] {
        sqlx::query(statement).execute(&mut raw).await.unwrap();
    }
    let verify = api.get(&staff.auditor, None, "/v1/audit/verify").await;
    assert_eq!(verify.body["ok"], false, "{}", verify.body);
    assert_eq!(verify.body["breaks"], json!([]), "{}", verify.body);
    assert_eq!(verify.body["audit"]["altered"], true);
    assert_eq!(verify.body["audit"]["seals"][0]["ok"], false);
    let r = api
        .send(given(&staff.auditor, json!({"seals": published})))
        .await;
    assert_eq!(r.body["audit"]["seals"][1]["ok"], false, "{}", r.body);
    let r = api.send(seal(&api.admin)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert_eq!(r.body["code"], "audit.not_sealable");
}
