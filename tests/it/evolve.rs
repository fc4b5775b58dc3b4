//! Events evolve: a claim approval stored at version 1.0 (before
//! `ClaimApproved` gained `fund` in 2.0), written as a raw row into a real
//! SQLite file and a real PostgreSQL database, is read in today's shape
//! everywhere — loading and folding the claim, a command decided on it, the
//! projector, `projections verify` — while the stored row keeps its 1.0 JSON
//! and `bangfu verify` still passes (the hash chain covers what was stored).
//! A version newer than this build knows stops loading and projecting, with
//! a message naming it.

use bangfu::app::engine::ExecError;
use bangfu::app::App;
use bangfu::projector::ProjectorError;
use cqrs_es::persist::SerializedEvent;
use domain::command::Role;
use domain::fund::Fund;
use domain::mutual_aid::claim::ClaimStatus;
use domain::mutual_aid::MutualAidClaimEvent;
use domain::values::{Fen, ResidentId};
use serde_json::{json, Value};
use tempfile::TempDir;

use crate::support::{ctx, patient_catch_up, run};

const LIN: (&str, Role) = ("lin.xiaomei", Role::Caseworker);
const HUANG: (&str, Role) = ("huang.zhiqiang", Role::Approver);
const WU: (&str, Role) = ("wu.haiyan", Role::Finance);

/// 1.0's subsidy for the claim below: tier 1, 200.00 × 1.3 = 260.00 yuan.
const SUBSIDY_FEN: i64 = 26_000;

struct World {
    app: App,
    url: String,
    _dir: Option<TempDir>,
}

async fn sqlite_world() -> World {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("bangfu.db").display());
    let app = App::open_url(&url).await.expect("open app");
    World {
        app,
        url,
        _dir: Some(dir),
    }
}

async fn postgres_world(test: &str) -> Option<World> {
    let url = crate::pg::fresh_database(test).await?;
    let app = App::open_url(&url).await.expect("open app");
    Some(World {
        app,
        url,
        _dir: None,
    })
}

fn rid(n: u32) -> String {
    let first17 = format!("350302198001{:02}{:03}", n % 28 + 1, n % 1000);
    let check = ResidentId::check_char(first17.as_bytes()) as char;
    format!("{first17}{check}")
}

/// A plan period and claim `claim_id` of member 1, assessed (260.00 yuan)
/// but not approved.
async fn assessed_claim(app: &App, claim_id: &str) {
    let policy = json!({
        "version": "test-v1", "threshold_fen": 500_000,
        "tiers": [{"from_fen": 500_000, "amount_fen": 20_000}, {"from_fen": 1_000_000, "amount_fen": 40_000}],
        "period_uplift_bp": 3000, "migrant_uplift_bp": 3000, "cap_per_member_fen": 600_000
    });
    run(&app.plans, "P7", LIN, "2026-01-10", json!({"OpenPeriod": {"name": "测试互助第七期", "period_no": 7, "starts_on": "2026-01-01", "ends_on": "2026-12-31", "policy": policy}})).await;
    run(&app.plans, "P7", LIN, "2026-01-11", json!({"EnrolUnit": {"unit_id": "U1", "unit_name": "振兴鞋服", "members": [{"resident_id": rid(1), "name": "职工甲", "migrant_worker": false}], "contribution_fen": 15_000, "paid_by": "unit"}})).await;
    run(&app.claims, claim_id, LIN, "2026-03-15", json!({"Submit": {
        "claim_id": claim_id, "plan_id": "P7", "member": rid(1), "member_name": "职工甲",
        "hospital": "莆田学院附属医院", "admitted_on": "2026-03-01", "discharged_on": "2026-03-01",
        "diagnosis": "住院治疗", "total_cost_fen": 2_000_000, "basic_insurance_fen": 1_200_000,
        "other_reimbursement_fen": 0, "documents": ["住院发票"]
    }}))
    .await;
    run(
        &app.claims,
        claim_id,
        LIN,
        "2026-03-16",
        json!({"ReviewDocuments": {"complete": true, "note": "齐全"}}),
    )
    .await;
    run(
        &app.claims,
        claim_id,
        LIN,
        "2026-03-17",
        json!({"Assess": {}}),
    )
    .await;
}

/// An approval as an older build wrote it: `version`, and the fields of
/// 1.0 (no `fund`).
async fn old_approval(app: &App, claim_id: &str, version: &str) -> SerializedEvent {
    let sequence = app.claims.load(claim_id).await.unwrap().version + 1;
    let payload = json!({"ClaimApproved": {
        "plan_id": "P7", "member": rid(1), "subsidy_fen": SUBSIDY_FEN,
        "policy_version": "test-v1", "approved_by": HUANG.0, "approved_at": "2026-03-18T09:00:00Z"
    }});
    let metadata = serde_json::to_value(ctx(HUANG, "2026-03-18").metadata()).unwrap();
    SerializedEvent::new(
        claim_id.to_string(),
        sequence,
        "mutual_aid_claim".to_string(),
        "ClaimApproved".to_string(),
        version.to_string(),
        payload,
        metadata,
    )
}

/// Appends [`old_approval`] through the store's ordinary commit, so the
/// row is chained like any other.
async fn append_old_approval(app: &App, claim_id: &str, version: &str) {
    let event = old_approval(app, claim_id, version).await;
    app.store
        .append("mutual_aid_claim", &[event], None)
        .await
        .expect("append the old approval");
}

/// A 1.0 approval is loaded, folded, decided on, projected and verified.
async fn a_version_1_approval_is_read_in_todays_shape(w: World) {
    let app = &w.app;
    run(&app.funds, "MA", WU, "2026-01-05", json!({"Appropriate": {"appropriation_id": "BK-1", "fund": "mutual_aid", "amount_fen": 1_000_000, "source": "上级工会", "received_on": "2026-01-05", "note": null}})).await;
    assessed_claim(app, "C1").await;
    append_old_approval(app, "C1", "1.0").await;

    // Stored as written: version 1.0, no `fund`.
    let stored = app.store.history("mutual_aid_claim", "C1").await.unwrap();
    let approval = stored.last().unwrap();
    assert_eq!(
        (
            approval.event_type.as_str(),
            approval.event_version.as_str()
        ),
        ("ClaimApproved", "1.0")
    );
    assert!(approval.payload["ClaimApproved"].get("fund").is_none());

    // Loading and folding: upcast to 2.0.
    let loaded = app.claims.load("C1").await.unwrap();
    assert_eq!(loaded.aggregate.status(), Some(ClaimStatus::Approved));
    assert_eq!(
        loaded.aggregate.decided_subsidy_fen(),
        Fen::new(SUBSIDY_FEN).unwrap()
    );
    let events = app.claims.events("C1").await.unwrap();
    match &events.last().unwrap().payload {
        MutualAidClaimEvent::ClaimApproved {
            fund, subsidy_fen, ..
        } => {
            assert_eq!(*fund, Fund::MutualAid);
            assert_eq!(subsidy_fen.fen(), SUBSIDY_FEN);
        }
        other => panic!("not an approval: {other:?}"),
    }

    // A command decided on the folded state: paying the approved subsidy.
    let paid = run(
        &app.claims,
        "C1",
        WU,
        "2026-04-20",
        json!({"MarkPaid": {"paid_on": "2026-04-20", "reference": "BOC-9", "card": null}}),
    )
    .await;
    let last = paid.last_log_position.expect("events written");
    let paid = app.claims.load("C1").await.unwrap();
    assert_eq!(paid.aggregate.status(), Some(ClaimStatus::Paid));

    // Projecting: the claim's approval and payment reach the views.
    // On PostgreSQL a commit becomes readable once older transactions in
    // the cluster end: wait for this one, as `bangfu run` does (again while
    // the shared test cluster's other transactions hold it back).
    let at = patient_catch_up(app, last).await.expect("views catch up");
    assert!(at >= last, "views at {at}, the payment at {last}");
    let report = app.projector.verify(&|_, _| {}).await.unwrap();
    assert!(report.is_ok(), "projections verify: {report:?}");

    // The CLI: the views show the paid subsidy; both verifications pass.
    let cli = |args: &[&str]| {
        let mut c = assert_cmd::Command::cargo_bin("bangfu").unwrap();
        c.args(["--store", &w.url, "--lang", "en"]).args(args);
        c.assert().success().get_output().stdout.clone()
    };
    let ledger: Value = serde_json::from_slice(&cli(&[
        "view",
        "payout-ledger",
        "--fund",
        "mutual_aid",
        "--json",
    ]))
    .unwrap();
    let text = ledger.to_string();
    assert!(text.contains("C1") && text.contains("\"paid\""), "{text}");
    assert!(text.contains(&SUBSIDY_FEN.to_string()), "{text}");
    cli(&["projections", "verify"]);
    cli(&["verify"]);
    let history = String::from_utf8(cli(&["history", "mutual-aid-claim", "C1"])).unwrap();
    assert!(history.contains("claim approved"), "{history}");
    assert!(!history.contains("unreadable"), "{history}");
}

/// A version no upcaster reaches: the store refuses to commit it where it
/// must read it (a claim's reservations), and where an older build's row is
/// there anyway (a campaign's closing, which the store does not read), loading and the
/// projector stop, naming it.
async fn a_newer_version_stops_loading_and_projecting(w: World) {
    let app = &w.app;
    assessed_claim(app, "C9").await;
    let before = app.store.count_events().await.unwrap();
    let refused = app
        .store
        .append(
            "mutual_aid_claim",
            &[old_approval(app, "C9", "3.0").await],
            None,
        )
        .await
        .expect_err("a version this build cannot read is not committed");
    assert!(refused.to_string().contains("version 3.0"), "{refused}");
    assert_eq!(app.store.count_events().await.unwrap(), before);

    // Money events are read at commit too (their movements): refused.
    let unreadable_money = SerializedEvent::new(
        "MA".to_string(),
        1,
        "fund_account".to_string(),
        "Appropriated".to_string(),
        "2.0".to_string(),
        json!({"Appropriated": {"appropriation_id": "BK-2"}}),
        serde_json::to_value(ctx(WU, "2026-01-06").metadata()).unwrap(),
    );
    let refused = app
        .store
        .append("fund_account", &[unreadable_money], None)
        .await
        .expect_err("a money event this build cannot read is not committed");
    assert!(refused.to_string().contains("version 2.0"), "{refused}");
    assert_eq!(app.store.count_events().await.unwrap(), before);

    run(&app.campaigns, "YRJ", LIN, "2026-04-01", json!({"Launch": {"name": "2026年一日捐", "year": 2026, "co_issuers": [], "units": [{"unit_id": "D1", "name": "市直机关", "headcount": 100}], "starts_on": "2026-04-01", "ends_on": "2026-06-30", "purpose": "general_fund"}})).await;
    app.projector.catch_up().await.expect("views catch up");
    // A campaign's closing moves no money and takes no key: the store does
    // not read it, so an older build's row can be there.
    let newer = SerializedEvent::new(
        "YRJ".to_string(),
        2,
        "donation_campaign".to_string(),
        "CampaignClosed".to_string(),
        "2.0".to_string(),
        json!({"CampaignClosed": {"note": "x"}}),
        serde_json::to_value(ctx(WU, "2026-07-01").metadata()).unwrap(),
    );
    let appended = app
        .store
        .append("donation_campaign", &[newer], None)
        .await
        .expect("a campaign's closing is not read at commit");
    let newer_at = appended[0].log_position;

    match app.campaigns.load("YRJ").await {
        Err(ExecError::Corrupt(message)) => {
            assert!(message.contains("version 2.0"), "{message}")
        }
        other => panic!("expected a corrupt-data error, got {other:?}"),
    }
    match patient_catch_up(app, newer_at).await {
        Err(ProjectorError::Projection { source, position }) => {
            assert_eq!(position, newer_at);
            let message = source.to_string();
            assert!(
                message.contains("version 2.0") && message.contains("reads version 1.0"),
                "{message}"
            );
        }
        other => panic!("expected the projector to stop, got {other:?}"),
    }
    // The chain still verifies: nothing was rewritten.
    let mut c = assert_cmd::Command::cargo_bin("bangfu").unwrap();
    c.args(["--store", &w.url, "verify"]).assert().success();
}

on_every_store!(
    "evolve", 2, sqlite_world;
    a_version_1_approval_is_read_in_todays_shape,
    a_newer_version_stops_loading_and_projecting,
);
