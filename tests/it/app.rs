//! The application in-process: the four real aggregates, the store-backed
//! services and one SQLite file, driven through `bangfu::app::execute` with
//! typed commands. These are the rules that span aggregates — one open file
//! per resident ID (also under a race), claims against a plan's roster and
//! policy and a member's cap, donations allocated to hardship measures that
//! exist — and what every committed event must carry.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;

use bangfu::app::engine::Engine;
use bangfu::app::services::StoreServices;
use bangfu::app::{execute, AggregateKind, App, AppError};
use bangfu::store::{AnyStore, ReservationConflict};
use chrono::{Duration, NaiveDate, TimeZone, Utc};
use cqrs_es::persist::PersistedEventRepository;
use cqrs_es::Aggregate;
use domain::command::{metadata_keys, Actor, Cmd, CommandContext, Role};
use domain::donation::{sample_launch, AllocationTarget, Channel, DonationCampaignCommand};
use domain::fund::Fund;
use domain::hardship::{
    sample_household, ClosureReason, HardshipFile, HardshipFileCommand, HardshipFileServices,
    MeasureKind, MeasureSpec, VerificationOutcome, VisitKind,
};
use domain::i18n::ErrorCode;
use domain::mutual_aid::claim::{sample_submit, ClaimStatus};
use domain::mutual_aid::plan::{sample_open_period, Enrolee, Payer};
use domain::mutual_aid::policy::{sample_policy, Assessment, RejectReason};
use domain::mutual_aid::{MutualAidClaimCommand, MutualAidPlan, MutualAidPlanCommand};
use domain::reservation::Scope;
use domain::services::ServiceError;
use domain::testing::nth_resident_id;
use domain::values::{Code, Fen, LongText, OrgName, PersonName, ResidentId, ShortText};
use tempfile::TempDir;
use tokio::sync::Barrier;
use uuid::Uuid;

// ---------------------------------------------------------------- helpers

const CASEWORKER: &str = "lin.xiaomei";
const APPROVER: &str = "zheng.hua";
const ASSESSOR: &str = "li.ming";
const FINANCE: &str = "wu.jing";

/// The app on a fresh file in its own temporary directory.
struct TestApp {
    app: App,
    _path: PathBuf,
    _dir: TempDir,
}

async fn test_app() -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bangfu.db");
    let app = App::open(&path).await.expect("open app");
    TestApp {
        app,
        _path: path,
        _dir: dir,
    }
}

/// A context for `user` as `role`, with fresh ids, recorded on 2026-06-01.
fn ctx(user: &str, role: Role) -> CommandContext {
    let command_id = Uuid::now_v7();
    CommandContext {
        actor: Actor {
            id: code(user),
            role,
        },
        recorded_at: Utc.with_ymd_and_hms(2026, 6, 1, 9, 0, 0).unwrap(),
        utc_offset_seconds: 0,
        command_id,
        correlation_id: command_id,
    }
}

fn cmd<C>(user: &str, role: Role, body: C) -> Cmd<C> {
    Cmd {
        ctx: ctx(user, role),
        body,
    }
}

fn code(s: &str) -> Code {
    Code::parse(s).expect("valid code")
}

fn short(s: &str) -> ShortText {
    ShortText::parse(s).expect("valid text")
}

fn name(s: &str) -> PersonName {
    PersonName::parse(s).expect("valid name")
}

fn yuan(y: i64) -> Fen {
    Fen::from_yuan(y).expect("valid amount")
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

/// The stable code of a business-rule refusal; anything else fails the test.
#[track_caller]
fn refused<T: std::fmt::Debug>(result: Result<T, AppError>) -> &'static str {
    match result {
        Err(e @ AppError::Rejected { .. }) => e.code(),
        other => panic!("expected a business-rule refusal, got {other:?}"),
    }
}

/// Every event carries who, when and which command, and every chain verifies.
async fn assert_attributed_and_chained(store: &AnyStore) {
    let mut seen = 0;
    for kind in AggregateKind::ALL {
        for id in store.streams(kind.aggregate_type()).await.unwrap() {
            for event in store.history(kind.aggregate_type(), &id).await.unwrap() {
                for key in [
                    metadata_keys::EVENT_ID,
                    metadata_keys::ACTOR_ID,
                    metadata_keys::ACTOR_ROLE,
                    metadata_keys::COMMAND_ID,
                    metadata_keys::CORRELATION_ID,
                    metadata_keys::RECORDED_AT,
                ] {
                    assert!(
                        event.metadata.get(key).is_some_and(|v| !v.is_empty()),
                        "{id} #{} lacks {key}: {:?}",
                        event.sequence,
                        event.metadata
                    );
                }
                assert_eq!(
                    event.metadata[metadata_keys::EVENT_ID],
                    event.event_id.to_string()
                );
                assert!(Role::parse(&event.metadata[metadata_keys::ACTOR_ROLE]).is_some());
                for key in [metadata_keys::COMMAND_ID, metadata_keys::CORRELATION_ID] {
                    Uuid::parse_str(&event.metadata[key]).expect("a UUID");
                }
                assert_eq!(
                    event.recorded_at.as_deref(),
                    Some(event.metadata[metadata_keys::RECORDED_AT].as_str())
                );
                seen += 1;
            }
        }
    }
    assert_eq!(
        seen,
        store.count_events().await.unwrap(),
        "every event seen"
    );
    let report = store.verify_chains().await.unwrap();
    assert!(report.is_ok(), "{report:?}");
}

// ---------------------------------------------------------------- hardship files

/// The sample household, headed by `head`.
fn open_file(head: &ResidentId) -> HardshipFileCommand {
    let mut household = sample_household();
    household.head.resident_id = head.clone();
    HardshipFileCommand::OpenFile {
        household,
        opened_on: date(2026, 3, 1),
    }
}

fn verification_visit() -> HardshipFileCommand {
    HardshipFileCommand::LogVisit {
        visit_id: code("V-1"),
        visited_on: date(2026, 3, 5),
        kind: VisitKind::Verification,
        caseworkers: vec![name("林晓梅")],
        findings: LongText::parse("入户核实收入与病情").expect("valid text"),
        facts_verified: vec![],
        contact_card_issued: true,
        cash_handover: None,
    }
}

fn close_file() -> HardshipFileCommand {
    HardshipFileCommand::CloseFile {
        reason: ClosureReason::MovedAway,
        note: short("迁往外地"),
    }
}

async fn file(app: &App, id: &str, user: &str, role: Role, body: HardshipFileCommand) {
    execute(&app.files, id, cmd(user, role, body))
        .await
        .unwrap_or_else(|e| panic!("{id}: {e}"));
}

/// Opens, verifies and plans file `id` with a donation-funded education measure `M-02`.
async fn planned_file(app: &App, id: &str, head: &ResidentId) {
    file(app, id, CASEWORKER, Role::Caseworker, open_file(head)).await;
    file(app, id, CASEWORKER, Role::Caseworker, verification_visit()).await;
    let verify = HardshipFileCommand::Verify {
        outcome: VerificationOutcome::Confirmed {
            note: short("情况属实"),
        },
    };
    file(app, id, APPROVER, Role::Approver, verify).await;
    let plan = HardshipFileCommand::AdoptPlan {
        goal: short("支持子女完成学业"),
        measures: vec![MeasureSpec {
            measure_id: code("M-02"),
            kind: MeasureKind::EducationAid,
            description: short("金秋助学"),
            planned_amount_fen: yuan(3_000),
            fund: Fund::Donation,
            due_on: date(2026, 9, 30),
        }],
    };
    file(app, id, CASEWORKER, Role::Caseworker, plan).await;
}

#[tokio::test]
async fn one_open_file_per_resident_id_across_files() {
    let t = test_app().await;
    let app = &t.app;
    let head = sample_household().head.resident_id;
    let holder = || async {
        app.store
            .reservation_holder(Scope::OpenFileByResident, head.expose())
            .await
            .unwrap()
    };

    let opening = cmd(CASEWORKER, Role::Caseworker, open_file(&head));
    let opening_ctx = opening.ctx.clone();
    let committed = execute(&app.files, "HF-A", opening).await.unwrap();
    assert_eq!(committed.version, 1);
    let stored = &app.store.history("hardship_file", "HF-A").await.unwrap()[0];
    assert_eq!(stored.metadata["actor_id"], CASEWORKER);
    assert_eq!(stored.metadata["actor_role"], "caseworker");
    assert_eq!(
        stored.metadata["command_id"],
        opening_ctx.command_id.to_string()
    );
    assert_eq!(
        committed.events[0].metadata["event_id"],
        stored.event_id.to_string()
    );
    assert_eq!(holder().await.as_deref(), Some("HF-A"));

    // A second file for the same head is refused and writes nothing.
    let second = execute(
        &app.files,
        "HF-B",
        cmd(CASEWORKER, Role::Caseworker, open_file(&head)),
    )
    .await;
    match &second {
        Err(AppError::Rejected { en, zh, .. }) => {
            assert!(en.contains("HF-A"), "{en}");
            assert!(zh.contains("HF-A"), "{zh}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(refused(second), "hardship_file.resident_has_open_file");
    assert_eq!(app.files.load("HF-B").await.unwrap().version, 0);
    assert_eq!(app.store.count_events().await.unwrap(), 1);

    // Closing the file frees the person.
    file(app, "HF-A", CASEWORKER, Role::Caseworker, close_file()).await;
    assert_eq!(holder().await, None);
    file(app, "HF-B", CASEWORKER, Role::Caseworker, open_file(&head)).await;
    assert_eq!(holder().await.as_deref(), Some("HF-B"));

    // So does a rejection at verification.
    file(
        app,
        "HF-B",
        CASEWORKER,
        Role::Caseworker,
        verification_visit(),
    )
    .await;
    let reject = HardshipFileCommand::Verify {
        outcome: VerificationOutcome::Rejected {
            reason: short("收入高于当地低保标准"),
        },
    };
    file(app, "HF-B", APPROVER, Role::Approver, reject).await;
    assert_eq!(holder().await, None);
    file(app, "HF-C", CASEWORKER, Role::Caseworker, open_file(&head)).await;

    // Reopening an old file while another is open is refused.
    let reopen = || {
        cmd(
            CASEWORKER,
            Role::Caseworker,
            HardshipFileCommand::ReopenFile {
                reason: short("家庭再次陷入困难"),
            },
        )
    };
    let events_before = app.store.count_events().await.unwrap();
    assert_eq!(
        refused(execute(&app.files, "HF-A", reopen()).await),
        "hardship_file.resident_has_open_file"
    );
    assert_eq!(app.store.count_events().await.unwrap(), events_before);
    assert!(!app.files.load("HF-A").await.unwrap().aggregate.is_open());

    // Once that one is closed, the old file reopens and holds the person again.
    file(app, "HF-C", CASEWORKER, Role::Caseworker, close_file()).await;
    execute(&app.files, "HF-A", reopen()).await.unwrap();
    assert!(app.files.load("HF-A").await.unwrap().aggregate.is_open());
    assert_eq!(holder().await.as_deref(), Some("HF-A"));
    assert_eq!(
        refused(
            execute(
                &app.files,
                "HF-D",
                cmd(CASEWORKER, Role::Caseworker, open_file(&head)),
            )
            .await
        ),
        "hardship_file.resident_has_open_file"
    );

    assert_attributed_and_chained(&app.store).await;
}

/// Whether a racing opening lost in the right way: refused by the services
/// check, or by the store's reservation held by the winner.
#[track_caller]
fn assert_lost_to(loser: &AppError, winner: &str, head: &ResidentId) {
    match loser {
        AppError::Rejected { code, .. } => {
            assert_eq!(*code, "hardship_file.resident_has_open_file")
        }
        AppError::Reservation(ReservationConflict {
            scope,
            key,
            held_by,
        }) => {
            assert_eq!(*scope, Scope::OpenFileByResident);
            assert_eq!(key, head.expose());
            assert_eq!(held_by, winner);
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_files_for_one_head_opened_at_once_yield_one_file() {
    const ROUNDS: u32 = 25;
    let t = test_app().await;
    let app = Arc::new(t.app);
    for round in 0..ROUNDS {
        let head = nth_resident_id(round);
        let start = Arc::new(Barrier::new(2));
        let tasks: Vec<_> = ["a", "b"]
            .into_iter()
            .map(|side| {
                let (app, start, head) = (Arc::clone(&app), Arc::clone(&start), head.clone());
                let id = format!("HF-{round}-{side}");
                tokio::spawn(async move {
                    let body = cmd(CASEWORKER, Role::Caseworker, open_file(&head));
                    start.wait().await;
                    (id.clone(), execute(&app.files, &id, body).await)
                })
            })
            .collect();
        let mut winners = Vec::new();
        let mut losers = Vec::new();
        for task in tasks {
            match task.await.unwrap() {
                (id, Ok(_)) => winners.push(id),
                (_, Err(e)) => losers.push(e),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: {losers:?}");
        assert_eq!(losers.len(), 1);
        assert_lost_to(&losers[0], &winners[0], &head);
        assert_eq!(
            app.store
                .reservation_holder(Scope::OpenFileByResident, head.expose())
                .await
                .unwrap()
                .as_ref(),
            Some(&winners[0])
        );
    }
    // Exactly one FileOpened per head, and nothing else.
    assert_eq!(app.store.count_events().await.unwrap(), u64::from(ROUNDS));
    assert_eq!(
        app.store.streams("hardship_file").await.unwrap().len(),
        ROUNDS as usize
    );
    assert_attributed_and_chained(&app.store).await;
}

/// Real store services whose resident-ID lookup waits until both racing
/// commands have looked: both see the person free, so only the store's
/// reservation can stop the second file.
struct LookThenWait {
    inner: StoreServices,
    both_looked: Barrier,
}

#[async_trait::async_trait]
impl HardshipFileServices for LookThenWait {
    async fn open_file_for_resident(
        &self,
        resident: &ResidentId,
    ) -> Result<Option<String>, ServiceError> {
        let answer = self.inner.open_file_for_resident(resident).await;
        self.both_looked.wait().await;
        answer
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_both_openings_pass_the_lookup_the_store_refuses_the_second() {
    let t = test_app().await;
    let store = t.app.store.clone();
    let services = Arc::new(LookThenWait {
        inner: StoreServices::new(store.clone()),
        both_looked: Barrier::new(2),
    });
    let files = Arc::new(Engine::<HardshipFile>::new(
        store.clone(),
        services as Arc<dyn HardshipFileServices>,
        None,
    ));
    let head = sample_household().head.resident_id;
    let tasks: Vec<_> = ["HF-1", "HF-2"]
        .into_iter()
        .map(|id| {
            let (files, head) = (Arc::clone(&files), head.clone());
            tokio::spawn(async move {
                let body = cmd(CASEWORKER, Role::Caseworker, open_file(&head));
                (id, execute(&files, id, body).await)
            })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    let winners: Vec<_> = results.iter().filter(|(_, r)| r.is_ok()).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    let winner = winners[0].0;
    let loser = results
        .iter()
        .find_map(|(_, r)| r.as_ref().err())
        .expect("one lost");
    assert!(
        matches!(loser, AppError::Reservation(_)),
        "the lookup saw the person free, so the store refused: {loser:?}"
    );
    assert_lost_to(loser, winner, &head);
    assert_eq!(store.count_events().await.unwrap(), 1);
    assert_attributed_and_chained(&store).await;
}

// ---------------------------------------------------------------- mutual aid

const PLAN: &str = "putian-07";

fn enrolee(n: u32, who: &str, migrant_worker: bool) -> Enrolee {
    Enrolee {
        resident_id: nth_resident_id(n),
        name: name(who),
        migrant_worker,
    }
}

fn enrol(unit_id: &str, members: Vec<Enrolee>) -> MutualAidPlanCommand {
    let contribution = Fen::new(4_320 * members.len() as i64).expect("valid amount");
    MutualAidPlanCommand::EnrolUnit {
        unit_id: code(unit_id),
        unit_name: OrgName::parse("莆田市城厢区环境卫生管理处").expect("valid name"),
        members,
        contribution_fen: contribution,
        paid_by: Payer::Unit,
    }
}

async fn plan(app: &App, body: MutualAidPlanCommand) {
    execute(&app.plans, PLAN, cmd("chen.li", Role::Admin, body))
        .await
        .expect("plan command accepted");
}

/// Period 7 with one unit: members 1 (local), 2 and 3 (migrant workers).
/// The mutual-aid fund gets 100,000 yuan first: the store counts every
/// approved subsidy against it, and the unit's contribution is small.
async fn small_plan(app: &App) {
    let appropriate = domain::fund::account::FundAccountCommand::Appropriate {
        appropriation_id: code("BK-MA-1"),
        fund: Fund::MutualAid,
        amount_fen: yuan(100_000),
        source: OrgName::parse("莆田市总工会").expect("valid name"),
        received_on: date(2026, 1, 5),
        note: None,
    };
    execute(
        &app.funds,
        "fund-ma",
        cmd("wu.haiyan", Role::Finance, appropriate),
    )
    .await
    .expect("appropriation accepted");
    plan(app, sample_open_period()).await;
    plan(
        app,
        enrol(
            "unit-ptcx-0012",
            vec![
                enrolee(1, "林志强", false),
                enrolee(2, "陈美华", true),
                enrolee(3, "黄建国", true),
            ],
        ),
    )
    .await;
}

/// A hospital stay to claim for.
struct Stay {
    claim_id: &'static str,
    plan_id: &'static str,
    member: ResidentId,
    admitted_on: NaiveDate,
    total_yuan: i64,
    basic_insurance_yuan: i64,
}

impl Stay {
    fn submit(&self) -> MutualAidClaimCommand {
        let MutualAidClaimCommand::Submit {
            member_name,
            hospital,
            diagnosis,
            documents,
            ..
        } = sample_submit()
        else {
            unreachable!("sample_submit is a Submit")
        };
        MutualAidClaimCommand::Submit {
            claim_id: code(self.claim_id),
            plan_id: code(self.plan_id),
            member: self.member.clone(),
            member_name,
            hospital,
            admitted_on: self.admitted_on,
            discharged_on: self.admitted_on + Duration::days(12),
            diagnosis,
            total_cost_fen: yuan(self.total_yuan),
            basic_insurance_fen: yuan(self.basic_insurance_yuan),
            other_reimbursement_fen: Fen::ZERO,
            documents,
        }
    }
}

async fn claim(
    app: &App,
    id: &str,
    user: &str,
    body: MutualAidClaimCommand,
) -> Result<(), AppError> {
    let role = match body {
        MutualAidClaimCommand::Submit { .. } | MutualAidClaimCommand::ReviewDocuments { .. } => {
            Role::Caseworker
        }
        MutualAidClaimCommand::MarkPaid { .. } => Role::Finance,
        _ => Role::Approver,
    };
    execute(&app.claims, id, cmd(user, role, body))
        .await
        .map(drop)
}

fn review() -> MutualAidClaimCommand {
    MutualAidClaimCommand::ReviewDocuments {
        complete: true,
        note: short("材料齐全"),
    }
}

fn mark_paid(reference: &str) -> MutualAidClaimCommand {
    MutualAidClaimCommand::MarkPaid {
        paid_on: date(2026, 6, 1),
        reference: code(reference),
        card: None,
    }
}

/// The subsidy worked out by hand from the sample policy's tier table: the
/// tier the net self-paid cost falls in, raised by the period uplift and (for
/// migrant workers) again by the migrant uplift, each step rounded half up
/// to the fen, then cut to what is left under the member's cap.
fn subsidy_by_hand_fen(net_fen: i64, migrant: bool, already_fen: i64) -> i64 {
    let policy = sample_policy();
    let tier_amount = policy
        .tiers
        .iter()
        .rev()
        .find(|t| t.from_fen.fen() <= net_fen)
        .expect("net is above the threshold")
        .amount_fen
        .fen();
    let raise = |fen: i64, bp: u32| (fen * (10_000 + i64::from(bp)) + 5_000) / 10_000;
    let mut amount = raise(tier_amount, policy.period_uplift_bp.bp());
    if migrant {
        amount = raise(amount, policy.migrant_uplift_bp.bp());
    }
    amount.min(policy.cap_per_member_fen.fen() - already_fen)
}

fn assessed_subsidy(claim: &domain::mutual_aid::MutualAidClaim) -> Fen {
    claim.assessment().expect("assessed").outcome.subsidy_fen()
}

#[tokio::test]
async fn a_mutual_aid_claim_from_submission_to_payment() {
    let t = test_app().await;
    let app = &t.app;
    small_plan(app).await;

    // The sample claim: member 2, a migrant worker, 13,000 yuan net self-paid.
    let id = "claim-2026-0001";
    claim(app, id, "wang.fang", sample_submit()).await.unwrap();
    let submitted = app.claims.load(id).await.unwrap().aggregate;
    let submission = submitted.submission().unwrap();
    assert_eq!(
        submission.unit_id,
        code("unit-ptcx-0012"),
        "from the roster"
    );
    assert!(submission.migrant_worker, "from the roster");

    let stay = |claim_id, plan_id, member| Stay {
        claim_id,
        plan_id,
        member,
        admitted_on: date(2026, 2, 10),
        total_yuan: 38_000,
        basic_insurance_yuan: 22_000,
    };
    let before = app.store.count_events().await.unwrap();
    for (stay, expected) in [
        (
            stay("claim-2026-0002", PLAN, nth_resident_id(999)),
            "mutual_aid_claim.not_enrolled",
        ),
        (
            stay("claim-2026-0002", "putian-99", nth_resident_id(2)),
            "mutual_aid_claim.plan_not_found",
        ),
        (
            stay("claim-2026-0002", PLAN, nth_resident_id(2)),
            "mutual_aid_claim.stay_already_claimed",
        ),
    ] {
        let result = claim(app, stay.claim_id, "wang.fang", stay.submit()).await;
        assert_eq!(refused(result), expected);
    }
    assert_eq!(app.store.count_events().await.unwrap(), before);
    assert_eq!(app.claims.load("claim-2026-0002").await.unwrap().version, 0);

    // Assessment needs a complete review first.
    let assess = || MutualAidClaimCommand::Assess {};
    assert_eq!(
        refused(claim(app, id, ASSESSOR, assess()).await),
        "mutual_aid_claim.not_reviewed"
    );
    claim(app, id, ASSESSOR, review()).await.unwrap();
    claim(app, id, ASSESSOR, assess()).await.unwrap();

    // 38,000 − 22,000 − 3,000 = 13,000 yuan net: tier 400 → 520 → 676 yuan.
    let expected = subsidy_by_hand_fen(1_300_000, true, 0);
    assert_eq!(expected, 67_600);
    let assessed = app.claims.load(id).await.unwrap().aggregate;
    assert_eq!(assessed_subsidy(&assessed), Fen::new(expected).unwrap());
    let record = assessed.assessment().unwrap();
    assert_eq!(
        record.policy,
        sample_policy(),
        "the plan's policy, recorded"
    );
    assert!(record.inputs.enrolled && record.inputs.stay_within_period);

    // Four-eyes: the assessor cannot approve.
    assert_eq!(
        refused(claim(app, id, ASSESSOR, MutualAidClaimCommand::Approve {}).await),
        "mutual_aid_claim.four_eyes"
    );
    claim(app, id, "zhao.qiang", MutualAidClaimCommand::Approve {})
        .await
        .unwrap();
    claim(app, id, FINANCE, mark_paid("MA-2026-000123"))
        .await
        .unwrap();
    let before = app.store.count_events().await.unwrap();
    assert_eq!(
        refused(claim(app, id, FINANCE, mark_paid("MA-2026-000124")).await),
        "mutual_aid_claim.already_paid"
    );
    assert_eq!(app.store.count_events().await.unwrap(), before);

    let paid = app.claims.load(id).await.unwrap().aggregate;
    assert_eq!(paid.status(), Some(ClaimStatus::Paid));
    assert_eq!(paid.payment().unwrap().amount_fen.fen(), expected);
    assert_eq!(paid.decided_subsidy_fen().fen(), expected);

    assert_attributed_and_chained(&app.store).await;
}

#[tokio::test]
async fn a_members_subsidies_in_a_period_stop_at_the_cap() {
    let t = test_app().await;
    let app = &t.app;
    small_plan(app).await;
    let member = nth_resident_id(3);
    let services = app.claims.services();
    let subsidised = || async {
        services
            .subsidies_in_period(&code(PLAN), &member, "")
            .await
            .unwrap()
            .fen()
    };

    // Two stays of 120,000 yuan net each: top tier, 2,500 → 3,250 → 4,225 yuan.
    let stay = |claim_id, month| Stay {
        claim_id,
        plan_id: PLAN,
        member: member.clone(),
        admitted_on: date(2026, month, 1),
        total_yuan: 150_000,
        basic_insurance_yuan: 30_000,
    };
    let full = subsidy_by_hand_fen(12_000_000, true, 0);
    assert_eq!(full, 422_500);
    for (id, month) in [("claim-a", 4), ("claim-b", 7)] {
        claim(app, id, "wang.fang", stay(id, month).submit())
            .await
            .unwrap();
        claim(app, id, ASSESSOR, review()).await.unwrap();
        claim(app, id, ASSESSOR, MutualAidClaimCommand::Assess {})
            .await
            .unwrap();
        // Neither is approved yet, so each is assessed in full.
        let assessed = app.claims.load(id).await.unwrap().aggregate;
        assert_eq!(assessed_subsidy(&assessed).fen(), full);
    }
    assert_eq!(subsidised().await, 0, "assessed is not yet decided");

    claim(app, "claim-a", APPROVER, MutualAidClaimCommand::Approve {})
        .await
        .unwrap();
    assert_eq!(subsidised().await, full);

    // B's assessment predates A's approval: approving it would pass the cap.
    assert_eq!(
        refused(claim(app, "claim-b", APPROVER, MutualAidClaimCommand::Approve {}).await),
        "mutual_aid_claim.cap_exceeded"
    );
    // Reassessed, B gets what is left under the cap.
    claim(app, "claim-b", ASSESSOR, MutualAidClaimCommand::Assess {})
        .await
        .unwrap();
    let reassessed = app.claims.load("claim-b").await.unwrap().aggregate;
    let record = reassessed.assessment().unwrap();
    assert_eq!(record.inputs.already_subsidised_in_period_fen.fen(), full);
    let left = subsidy_by_hand_fen(12_000_000, true, full);
    assert_eq!(left, 600_000 - 422_500);
    match &record.outcome {
        Assessment::Eligible {
            subsidy_fen,
            capped,
            after_migrant_uplift_fen,
            ..
        } => {
            assert_eq!(subsidy_fen.fen(), left);
            assert!(*capped);
            assert_eq!(after_migrant_uplift_fen.fen(), full);
        }
        other => panic!("{other:?}"),
    }
    claim(app, "claim-b", APPROVER, MutualAidClaimCommand::Approve {})
        .await
        .unwrap();
    claim(app, "claim-a", FINANCE, mark_paid("MA-1"))
        .await
        .unwrap();
    assert_eq!(subsidised().await, 600_000, "paid and approved both count");
    assert_eq!(
        services
            .subsidies_in_period(&code(PLAN), &member, "claim-b")
            .await
            .unwrap()
            .fen(),
        full,
        "a claim leaves itself out"
    );

    // A third stay finds the cap reached.
    claim(app, "claim-c", "wang.fang", stay("claim-c", 10).submit())
        .await
        .unwrap();
    claim(app, "claim-c", ASSESSOR, review()).await.unwrap();
    claim(app, "claim-c", ASSESSOR, MutualAidClaimCommand::Assess {})
        .await
        .unwrap();
    let third = app.claims.load("claim-c").await.unwrap().aggregate;
    assert_eq!(
        third.assessment().unwrap().outcome.reason(),
        Some(RejectReason::CapReached)
    );
    assert_eq!(
        refused(claim(app, "claim-c", APPROVER, MutualAidClaimCommand::Approve {}).await),
        "mutual_aid_claim.assessed_ineligible"
    );

    assert_attributed_and_chained(&app.store).await;
}

#[tokio::test]
async fn a_claim_whose_body_names_another_claim_is_refused() {
    // A claim leaves its own id out of "the member's other claims". If the
    // body could name another claim, naming the member's approved claim
    // would hide that claim's subsidy from the cap.
    let t = test_app().await;
    let app = &t.app;
    small_plan(app).await;
    let member = nth_resident_id(3);
    let stay = |claim_id, month| Stay {
        claim_id,
        plan_id: PLAN,
        member: member.clone(),
        admitted_on: date(2026, month, 1),
        total_yuan: 150_000,
        basic_insurance_yuan: 30_000,
    };
    claim(app, "claim-a", "wang.fang", stay("claim-a", 4).submit())
        .await
        .unwrap();
    claim(app, "claim-a", ASSESSOR, review()).await.unwrap();
    claim(app, "claim-a", ASSESSOR, MutualAidClaimCommand::Assess {})
        .await
        .unwrap();
    claim(app, "claim-a", APPROVER, MutualAidClaimCommand::Approve {})
        .await
        .unwrap();

    let before = app.store.count_events().await.unwrap();
    let result = claim(app, "claim-x", "wang.fang", stay("claim-a", 7).submit()).await;
    match &result {
        Err(e @ AppError::Input(_)) => {
            assert_eq!(e.code(), "input.id_mismatch");
            assert!(e.to_string().contains("claim_id"), "{e}");
            assert!(e.to_string().contains("claim-x"), "{e}");
        }
        other => panic!("expected an input error, got {other:?}"),
    }
    assert_eq!(app.store.count_events().await.unwrap(), before);
    assert_eq!(app.claims.load("claim-x").await.unwrap().version, 0);
}

#[tokio::test]
async fn a_city_scale_roster_is_snapshotted_and_loads_like_a_replay() {
    const ROSTER: u32 = 14_000;
    const FIRST: u32 = 1_000;
    let t = test_app().await;
    let app = &t.app;
    assert_eq!(
        bangfu::app::PLAN_SNAPSHOT_EVERY,
        20,
        "the counts below assume it"
    );

    // Event 1 opens the period; events 2–19 enrol 18 small units.
    plan(app, sample_open_period()).await;
    for n in 1..=18 {
        let unit = format!("unit-{n:02}");
        plan(
            app,
            enrol(&unit, vec![enrolee(n, "郑丽萍", n.is_multiple_of(2))]),
        )
        .await;
    }
    assert!(app
        .store
        .get_snapshot::<MutualAidPlan>(PLAN)
        .await
        .unwrap()
        .is_none());

    // Event 20: a university's 14,000 staff in one roster. `nth_resident_id`
    // varies the birth day every 1,000 and the month every 28,000, so these
    // are distinct valid IDs; checked rather than trusted.
    let roster: Vec<Enrolee> = (FIRST..FIRST + ROSTER)
        .map(|n| enrolee(n, "职工", n.is_multiple_of(3)))
        .collect();
    let distinct: HashSet<&str> = roster.iter().map(|e| e.resident_id.expose()).collect();
    assert_eq!(distinct.len(), ROSTER as usize);
    plan(app, enrol("unit-ptxy", roster)).await;

    let snapshot = app
        .store
        .get_snapshot::<MutualAidPlan>(PLAN)
        .await
        .unwrap()
        .expect("a snapshot at the 20th event");
    assert_eq!(snapshot.current_sequence, 20);
    assert_eq!(snapshot.current_snapshot, 1);
    let from_snapshot: MutualAidPlan = serde_json::from_value(snapshot.aggregate).unwrap();
    assert_eq!(from_snapshot.member_count(), 18 + ROSTER as usize);

    // One more event after the snapshot.
    plan(
        app,
        MutualAidPlanCommand::AmendRoster {
            unit_id: code("unit-ptxy"),
            add: vec![enrolee(FIRST + ROSTER, "新职工", false)],
            remove: vec![nth_resident_id(FIRST)],
            additional_contribution_fen: Fen::new(4_320).unwrap(),
            reason: short("人员调整"),
        },
    )
    .await;

    // Loading (snapshot + 1 event) equals replaying all 21 events.
    let loaded = app.plans.load(PLAN).await.unwrap();
    let replayer = Engine::<MutualAidPlan>::new(app.store.clone(), (), None);
    let replayed = replayer.load(PLAN).await.unwrap();
    assert_eq!(loaded.version, 21);
    assert_eq!(replayed.version, 21);
    assert_eq!(loaded.aggregate.member_count(), 18 + ROSTER as usize);
    assert_eq!(
        loaded.aggregate.member_count(),
        replayed.aggregate.member_count()
    );
    assert_eq!(loaded.aggregate, replayed.aggregate);
    assert_eq!(
        loaded
            .aggregate
            .unit(&code("unit-ptxy"))
            .unwrap()
            .member_count,
        ROSTER as usize
    );
    // And the snapshot itself is the state after exactly its 20 events.
    let mut first_twenty = MutualAidPlan::default();
    for event in replayer.events(PLAN).await.unwrap().into_iter().take(20) {
        first_twenty.apply(event.payload);
    }
    assert_eq!(from_snapshot, first_twenty);

    // Claims read the roster through the snapshot.
    let stay = |claim_id, member| Stay {
        claim_id,
        plan_id: PLAN,
        member,
        admitted_on: date(2026, 5, 3),
        total_yuan: 30_000,
        basic_insurance_yuan: 18_000,
    };
    let member = nth_resident_id(FIRST + ROSTER - 1);
    claim(
        app,
        "claim-big-1",
        "wang.fang",
        stay("claim-big-1", member).submit(),
    )
    .await
    .unwrap();
    let submitted = app.claims.load("claim-big-1").await.unwrap().aggregate;
    assert_eq!(submitted.submission().unwrap().unit_id, code("unit-ptxy"));
    assert_eq!(
        submitted.submission().unwrap().migrant_worker,
        (FIRST + ROSTER - 1).is_multiple_of(3)
    );
    for removed_or_never in [nth_resident_id(FIRST), nth_resident_id(FIRST + ROSTER + 1)] {
        assert_eq!(
            refused(
                claim(
                    app,
                    "claim-big-2",
                    "wang.fang",
                    stay("claim-big-2", removed_or_never).submit()
                )
                .await
            ),
            "mutual_aid_claim.not_enrolled"
        );
    }

    assert_attributed_and_chained(&app.store).await;
}

// ---------------------------------------------------------------- donations

const CAMPAIGN: &str = "PT-2026";

async fn campaign(app: &App, user: &str, body: DonationCampaignCommand) -> Result<(), AppError> {
    execute(&app.campaigns, CAMPAIGN, cmd(user, Role::Caseworker, body))
        .await
        .map(drop)
}

fn donation(receipt: &str, unit: &str, donors: u32, amount_yuan: i64) -> DonationCampaignCommand {
    DonationCampaignCommand::RecordDonation {
        receipt_no: code(receipt),
        unit_id: code(unit),
        donor: None,
        donor_count: donors,
        amount_fen: yuan(amount_yuan),
        channel: Channel::BankTransfer,
        donated_on: date(2026, 3, 20),
    }
}

fn propose(allocation: &str, target: AllocationTarget, amount: Fen) -> DonationCampaignCommand {
    DonationCampaignCommand::ProposeAllocation {
        allocation_id: code(allocation),
        target,
        amount_fen: amount,
        note: short("金秋助学"),
    }
}

fn measure(file_id: &str, measure_id: &str) -> AllocationTarget {
    AllocationTarget::HardshipMeasure {
        file_id: code(file_id),
        measure_id: code(measure_id),
    }
}

#[tokio::test]
async fn donations_are_allocated_only_to_measures_that_exist_and_never_beyond_receipts() {
    let t = test_app().await;
    let app = &t.app;
    planned_file(app, "HF-1", &sample_household().head.resident_id).await;

    campaign(app, "chen.li", sample_launch()).await.unwrap();
    for body in [
        donation("R-001", "PT-ZGH", 48, 4_800),
        donation("R-002", "PT-JYJ", 215, 21_500),
        donation("R-003", "PT-GDJ", 1, 1_000),
    ] {
        campaign(app, "chen.li", body).await.unwrap();
    }
    campaign(
        app,
        "chen.li",
        DonationCampaignCommand::ReverseDonation {
            receipt_no: code("R-003"),
            reason: short("误录，应为其他活动款项"),
        },
    )
    .await
    .unwrap();
    let available = || async {
        app.campaigns
            .load(CAMPAIGN)
            .await
            .unwrap()
            .aggregate
            .available_fen()
    };
    assert_eq!(
        available().await,
        yuan(26_300),
        "the reversal is not available"
    );

    // To a measure that exists: proposed, then approved by someone else.
    campaign(
        app,
        "chen.li",
        propose("A-1", measure("HF-1", "M-02"), yuan(3_000)),
    )
    .await
    .unwrap();

    let before = app.store.count_events().await.unwrap();
    for target in [
        measure("HF-1", "M-99"),
        measure("HF-9", "M-02"),
        AllocationTarget::Claim {
            claim_id: code("claim-nowhere"),
        },
    ] {
        assert_eq!(
            refused(campaign(app, "chen.li", propose("A-2", target, yuan(100))).await),
            "donation_campaign.unknown_target"
        );
    }
    let approve = || DonationCampaignCommand::ApproveAllocation {
        allocation_id: code("A-1"),
    };
    assert_eq!(
        refused(campaign(app, "chen.li", approve()).await),
        "donation_campaign.four_eyes"
    );
    assert_eq!(app.store.count_events().await.unwrap(), before);
    campaign(app, APPROVER, approve()).await.unwrap();
    assert_eq!(available().await, yuan(23_300));

    // Everything that is left may be allocated; one fen more may not.
    let left = available().await;
    let one_fen_more = left.checked_add(Fen::new(1).unwrap()).unwrap();
    assert_eq!(
        refused(
            campaign(
                app,
                "chen.li",
                propose("A-3", measure("HF-1", "M-02"), one_fen_more)
            )
            .await
        ),
        "donation_campaign.exceeds_available"
    );
    campaign(
        app,
        "chen.li",
        propose("A-3", measure("HF-1", "M-02"), left),
    )
    .await
    .unwrap();
    assert_eq!(available().await, Fen::ZERO, "pending allocations count");
    assert_eq!(
        refused(
            campaign(
                app,
                "chen.li",
                propose("A-4", measure("HF-1", "M-02"), Fen::new(1).unwrap())
            )
            .await
        ),
        "donation_campaign.exceeds_available"
    );

    assert_attributed_and_chained(&app.store).await;
}
