//! Finance end to end, on SQLite and PostgreSQL with the same code: one
//! month of grants, claim subsidies and allocations approved → payout
//! batches drafted (two finance users racing for the same payouts),
//! authorised by someone else, exported → bank results with a failure, a
//! duplicate line, an unknown line and an amount mismatch (imported twice at
//! once) → the exceptions exactly as expected → the failure re-issued and
//! paid in a second batch, a claim's failure cancelled (money back to the
//! fund) → everything reconciled → the month closed (a later entry dated into
//! it refused). After every step the books' trial balance balances and every
//! fund shows one balance (store, fund view, books); lineage is checked both
//! ways; `projections verify` agrees.

use std::sync::Arc;

use bangfu::app::engine::Engine;
use bangfu::app::{execute_json, App, AppError, CaseAggregate};
use chrono::{NaiveDate, TimeZone, Utc};
use domain::command::{Actor, CommandContext, Role};
use domain::finance::batch::{LineStatus, ResultException};
use domain::finance::{PayeeAccount, PayoutId, PayoutLine, SourceKind};
use domain::fund::Fund;
use domain::i18n::ErrorCode;
use domain::reservation::Scope;
use domain::testing::nth_resident_id;
use domain::values::{BankCard, Code, Fen, PersonName, ShortText};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tempfile::TempDir;
use uuid::Uuid;

pub(crate) struct World {
    pub(crate) app: Arc<App>,
    _dir: Option<TempDir>,
}

pub(crate) async fn sqlite_world() -> World {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("bangfu.db").display());
    World {
        app: Arc::new(App::open_url(&url).await.expect("open app")),
        _dir: Some(dir),
    }
}

pub(crate) async fn postgres_world(test: &str) -> Option<World> {
    let url = crate::pg::fresh_database(test).await?;
    Some(World {
        app: Arc::new(App::open_url(&url).await.expect("open app")),
        _dir: None,
    })
}

pub(crate) const FINANCE: &str = "wu.haiyan";
pub(crate) const FINANCE2: &str = "chen.hong";
pub(crate) const APPROVER: &str = "huang.zhiqiang";
pub(crate) const CASEWORKER: &str = "lin.xiaomei";
const GRANTS: u32 = 34;

fn role(who: &str) -> Role {
    match who {
        APPROVER | "zheng.lihua" => Role::Approver,
        FINANCE | FINANCE2 => Role::Finance,
        _ => Role::Caseworker,
    }
}

fn ctx(who: &str, day: &str) -> CommandContext {
    let d = NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap();
    CommandContext {
        actor: Actor {
            id: Code::parse(who).unwrap(),
            role: role(who),
        },
        recorded_at: Utc.from_utc_datetime(&d.and_hms_opt(9, 0, 0).unwrap()),
        utc_offset_seconds: 0,
        command_id: Uuid::now_v7(),
        correlation_id: Uuid::now_v7(),
    }
}

pub(crate) async fn try_run<A>(
    engine: &Engine<A>,
    id: &str,
    who: &str,
    day: &str,
    body: Value,
) -> Result<usize, AppError>
where
    A: CaseAggregate,
    A::Error: ErrorCode,
{
    let bytes = serde_json::to_vec(&body).unwrap();
    execute_json(engine, id, &bytes, ctx(who, day))
        .await
        .map(|c| c.events.len())
}

pub(crate) async fn run<A>(engine: &Engine<A>, id: &str, who: &str, day: &str, body: Value)
where
    A: CaseAggregate,
    A::Error: ErrorCode,
{
    try_run(engine, id, who, day, body.clone())
        .await
        .unwrap_or_else(|e| panic!("{id} {body}: [{}] {e}", e.code()));
}

pub(crate) fn yuan(n: i64) -> i64 {
    n * 100
}

/// A Luhn-valid 19-digit card numbered `n`.
pub(crate) fn card(n: u32) -> String {
    let body = format!("622202150{n:09}");
    let sum: u32 = body
        .chars()
        .rev()
        .enumerate()
        .map(|(i, c)| {
            let d = c.to_digit(10).unwrap();
            if i % 2 == 0 {
                let d = d * 2;
                if d > 9 {
                    d - 9
                } else {
                    d
                }
            } else {
                d
            }
        })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

pub(crate) fn sha(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// A verified file with a grant of `amount` yuan to a bank card, approved.
pub(crate) async fn approved_grant(app: &App, n: u32, amount: i64) {
    let payee = json!({"bank_transfer": {"card": card(n), "account_name": "陈建国"}});
    approved_grant_to(app, n, amount, payee).await;
}

/// A verified file `HF-{n}` with grant G1 of `amount` yuan to `payee`, approved.
pub(crate) async fn approved_grant_to(app: &App, n: u32, amount: i64, payee: Value) {
    let id = format!("HF-{n:02}");
    let household = json!({
        "head": {"name": "陈建国", "resident_id": nth_resident_id(n).expose(), "phone": "13905941234", "employer_unit": "振兴", "grassroots_union": "振兴工会", "migrant_worker": false, "mobile_member": false},
        "members": [], "monthly_income_per_capita_fen": yuan(620), "local_minimum_standard_fen": yuan(800), "causes": ["illness"]
    });
    let f = &app.files;
    let day = "2026-03-02";
    run(
        f,
        &id,
        CASEWORKER,
        day,
        json!({"OpenFile": {"household": household, "opened_on": day}}),
    )
    .await;
    run(f, &id, CASEWORKER, day, json!({"LogVisit": {"visit_id": "V1", "visited_on": day, "kind": "verification", "caseworkers": ["林晓梅"], "findings": "属实", "facts_verified": [], "contact_card_issued": false, "cash_handover": null}})).await;
    run(
        f,
        &id,
        APPROVER,
        day,
        json!({"Verify": {"outcome": {"confirmed": {"note": "属实"}}}}),
    )
    .await;
    run(f, &id, CASEWORKER, day, json!({"AdoptPlan": {"goal": "帮扶", "measures": [
        {"measure_id": "M1", "kind": "living_relief", "description": "生活救助", "planned_amount_fen": yuan(5_000), "fund": "special_assistance", "due_on": "2026-09-30"}]}})).await;
    run(f, &id, CASEWORKER, day, json!({"RequestGrant": {"grant_id": "G1", "measure_id": "M1", "amount_fen": yuan(amount), "payee": payee, "note": null}})).await;
    run(
        f,
        &id,
        APPROVER,
        "2026-03-05",
        json!({"ApproveGrant": {"grant_id": "G1"}}),
    )
    .await;
}

/// A plan period with four members and their claims approved (1,040 yuan each).
pub(crate) async fn approved_claims(app: &App) {
    let p = &app.plans;
    let day = "2026-03-02";
    run(p, "P7", APPROVER, day, json!({"OpenPeriod": {"name": "测试互助第七期", "period_no": 7, "starts_on": "2026-01-01", "ends_on": "2026-12-31", "policy": {
        "version": "test-v1", "threshold_fen": yuan(5000),
        "tiers": [{"from_fen": yuan(5000), "amount_fen": yuan(200)}, {"from_fen": yuan(20000), "amount_fen": yuan(800)}],
        "period_uplift_bp": 3000, "migrant_uplift_bp": 3000, "cap_per_member_fen": yuan(3000)}}})).await;
    let members: Vec<Value> = (0..4)
        .map(|i| json!({"resident_id": nth_resident_id(500 + i).expose(), "name": "职工甲", "migrant_worker": false}))
        .collect();
    run(p, "P7", CASEWORKER, day, json!({"EnrolUnit": {"unit_id": "U1", "unit_name": "振兴鞋服", "members": members, "contribution_fen": yuan(5_000), "paid_by": "unit"}})).await;
    for i in 0..4u32 {
        let id = format!("C{i}");
        run(&app.claims, &id, CASEWORKER, "2026-03-03", json!({"Submit": {
            "claim_id": id, "plan_id": "P7", "member": nth_resident_id(500 + i).expose(), "member_name": "职工甲",
            "hospital": "莆田学院附属医院", "admitted_on": "2026-02-10", "discharged_on": "2026-02-20",
            "diagnosis": "住院治疗", "total_cost_fen": yuan(40_000), "basic_insurance_fen": yuan(10_000),
            "other_reimbursement_fen": 0, "documents": ["住院发票"]}})).await;
        run(
            &app.claims,
            &id,
            CASEWORKER,
            "2026-03-03",
            json!({"ReviewDocuments": {"complete": true, "note": "齐全"}}),
        )
        .await;
        run(
            &app.claims,
            &id,
            "zheng.lihua",
            "2026-03-04",
            json!({"Assess": {}}),
        )
        .await;
        run(
            &app.claims,
            &id,
            APPROVER,
            "2026-03-05",
            json!({"Approve": {}}),
        )
        .await;
    }
}

/// A general campaign allocating 500 yuan to claim C0 (explicit), and a
/// designated one allocating 300 yuan to its beneficiary (a payout).
pub(crate) async fn approved_allocations(app: &App) {
    let c = &app.campaigns;
    let day = "2026-03-06";
    run(c, "YRJ", APPROVER, day, json!({"Launch": {"name": "2026年一日捐", "year": 2026, "co_issuers": [], "units": [{"unit_id": "D1", "name": "市直机关", "headcount": 100}], "starts_on": "2026-03-01", "ends_on": "2026-06-30", "purpose": "general_fund"}})).await;
    run(c, "YRJ", CASEWORKER, day, json!({"RecordDonation": {"receipt_no": "R1", "unit_id": "D1", "donor": null, "donor_count": 10, "amount_fen": yuan(800), "channel": "bank_transfer", "donated_on": day}})).await;
    run(c, "YRJ", CASEWORKER, day, json!({"ProposeAllocation": {"allocation_id": "A1", "target": {"claim": {"claim_id": "C0"}}, "amount_fen": yuan(500), "note": "补助"}})).await;
    run(
        c,
        "YRJ",
        APPROVER,
        day,
        json!({"ApproveAllocation": {"allocation_id": "A1"}}),
    )
    .await;
    run(c, "DX", APPROVER, day, json!({"Launch": {"name": "定向捐助", "year": 2026, "co_issuers": [], "units": [{"unit_id": "D1", "name": "市直机关", "headcount": 100}], "starts_on": "2026-03-01", "ends_on": "2026-06-30", "purpose": {"designated": {"beneficiary_name": "陈建国", "beneficiary_id": null, "reason": "重病"}}}})).await;
    run(c, "DX", CASEWORKER, day, json!({"RecordDonation": {"receipt_no": "R1", "unit_id": "D1", "donor": null, "donor_count": 10, "amount_fen": yuan(400), "channel": "bank_transfer", "donated_on": day}})).await;
    run(c, "DX", CASEWORKER, day, json!({"ProposeAllocation": {"allocation_id": "A2", "target": "designated_beneficiary", "amount_fen": yuan(300), "note": "拨付"}})).await;
    run(
        c,
        "DX",
        APPROVER,
        day,
        json!({"ApproveAllocation": {"allocation_id": "A2"}}),
    )
    .await;
}

/// Waits until the views hold the newest committed event (see
/// [`crate::support::patient_catch_up`]), then the test reads.
pub(crate) async fn settled(app: &App) {
    let Some(last) = app.store.last_event().await.unwrap() else {
        return;
    };
    let at = crate::support::patient_catch_up(app, last.log_position)
        .await
        .unwrap();
    assert!(at >= last.log_position, "the views never reached {last:?}");
}

/// The books balance, and every fund shows one available balance: the
/// store's, the fund view's and the books'.
pub(crate) async fn one_set_of_books(app: &App, step: &str) {
    settled(app).await;
    let tb = bangfu::finance::trial_balance(app).await.unwrap();
    assert!(tb.balances(), "{step}: {tb:?}");
    let store = app.store.money_balances().await.unwrap();
    let funds = app.projector.funds().await.unwrap();
    for row in funds {
        let code = domain::money::fund_code(row.fund);
        let stored = store
            .iter()
            .find(|(k, key, _)| k == "fund" && key == code)
            .map_or(0, |b| b.2);
        assert_eq!(
            row.available_fen.fen(),
            stored,
            "{step}: {code} view vs store"
        );
        assert_eq!(
            tb.fund_available_fen(row.fund),
            stored,
            "{step}: {code} books vs store"
        );
    }
}

pub(crate) fn line(
    payout: &str,
    source: SourceKind,
    fund: Fund,
    n: u32,
    amount: i64,
) -> PayoutLine {
    PayoutLine {
        payout_id: PayoutId::parse(payout).unwrap(),
        source,
        payee: PersonName::parse("职工甲").unwrap(),
        account: PayeeAccount::Bank {
            card: BankCard::parse(&card(n)).unwrap(),
            bank: None,
        },
        amount_fen: Fen::new(yuan(amount)).unwrap(),
        fund,
        purpose: ShortText::parse("补助").unwrap(),
    }
}

pub(crate) fn result(no: u32, l: &PayoutLine, paid: bool, day: &str) -> Value {
    json!({"line": no, "payout_id": l.payout_id.as_str(), "account": l.account.card().unwrap(),
        "amount_fen": l.amount_fen.fen(), "paid": paid,
        "reason": if paid { Value::Null } else { json!("户名与账号不符") }, "value_date": day})
}

/// Draft → lock → authorise (someone else) → export; returns the lines.
pub(crate) async fn authorised_and_exported(app: &App, id: &str, fund: Fund, lines: &[PayoutLine]) {
    let b = &app.batches;
    run(
        b,
        id,
        FINANCE,
        "2026-03-10",
        json!({"Draft": {"fund": fund, "lines": lines, "signing": null, "note": null}}),
    )
    .await;
    run(b, id, FINANCE, "2026-03-10", json!("Lock")).await;
    let own = try_run(
        b,
        id,
        FINANCE,
        "2026-03-10",
        json!({"Authorise": {"note": null}}),
    )
    .await;
    assert_eq!(own.unwrap_err().code(), "payout_batch.drafter_may_not_sign");
    run(
        b,
        id,
        APPROVER,
        "2026-03-10",
        json!({"Authorise": {"note": "同意"}}),
    )
    .await;
    let total: i64 = lines.iter().map(|l| l.amount_fen.fen()).sum();
    run(
        b,
        id,
        FINANCE,
        "2026-03-10",
        json!({"RecordExport": {"format": "csv_gbk", "template": "icbc",
        "sha256": sha(&format!("{id}{lines:?}")), "lines": lines.len(), "total_fen": total}}),
    )
    .await;
}

async fn a_month_of_payouts_reconciles_and_closes(w: World) {
    let app = &w.app;
    run(&app.funds, "SA", FINANCE, "2026-03-01", json!({"Appropriate": {"appropriation_id": "BK-1", "fund": "special_assistance",
        "amount_fen": yuan(500_000), "source": "莆田市总工会", "received_on": "2026-03-01", "note": null}})).await;
    for n in 0..GRANTS {
        approved_grant(app, n, 300 + i64::from(n)).await;
    }
    approved_claims(app).await;
    approved_allocations(app).await;
    one_set_of_books(app, "approved").await;

    // Due: every grant, with its card on record.
    settled(app).await;
    let due = bangfu::finance::due_payouts(app, Fund::SpecialAssistance)
        .await
        .unwrap();
    assert_eq!(due.len(), GRANTS as usize);
    let (lines, skipped) = bangfu::finance::lines_from_due(app, &due).await.unwrap();
    assert!(skipped.is_empty(), "{skipped:?}");

    // Two finance users batch the same payouts at once: one wins.
    let body = json!({"Draft": {"fund": "special_assistance", "lines": lines, "signing": null, "note": null}});
    let (a, b) = tokio::join!(
        try_run(&app.batches, "PB-A", FINANCE, "2026-03-10", body.clone()),
        try_run(&app.batches, "PB-B", FINANCE2, "2026-03-10", body.clone()),
    );
    let (winner, loser) = match (&a, &b) {
        (Ok(_), Err(e)) => ("PB-A", e),
        (Err(e), Ok(_)) => ("PB-B", e),
        other => panic!("exactly one draft must win: {other:?}"),
    };
    let AppError::Reservation(conflict) = loser else {
        panic!("refused by the store's reservation, not {loser:?}");
    };
    assert_eq!(conflict.scope, Scope::PayoutBatched);
    assert_eq!(conflict.held_by, winner);
    let drafter = if winner == "PB-A" { FINANCE } else { FINANCE2 };
    run(&app.batches, winner, drafter, "2026-03-10", json!("Lock")).await;
    run(
        &app.batches,
        winner,
        APPROVER,
        "2026-03-10",
        json!({"Authorise": {"note": null}}),
    )
    .await;
    let total: i64 = lines.iter().map(|l| l.amount_fen.fen()).sum();
    run(
        &app.batches,
        winner,
        drafter,
        "2026-03-10",
        json!({"RecordExport": {"format": "xlsx", "template": "icbc",
        "sha256": sha("batch-1.xlsx"), "lines": lines.len(), "total_fen": total}}),
    )
    .await;
    settled(app).await;
    assert!(bangfu::finance::due_payouts(app, Fund::SpecialAssistance)
        .await
        .unwrap()
        .is_empty());

    // The bank's file: line 5 failed (≈3%), line 7's amount wrong, line 0
    // twice, one line not ours.
    let mut file = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let mut r = result(i as u32 + 1, l, i != 5, "2026-03-12");
        if i == 7 {
            r["amount_fen"] = json!(l.amount_fen.fen() + 1);
        }
        file.push(r);
    }
    file.push(result(GRANTS + 1, &lines[0], true, "2026-03-12"));
    let stranger = line(
        "grant:HF-99:G1",
        SourceKind::Grant,
        Fund::SpecialAssistance,
        99,
        10,
    );
    file.push(result(GRANTS + 2, &stranger, true, "2026-03-12"));
    let import = json!({"RecordResults": {"sha256": sha("result-1.csv"), "results": file}});
    // The same file imported twice at once records it once.
    let (x, y) = tokio::join!(
        try_run(&app.batches, winner, FINANCE, "2026-03-12", import.clone()),
        try_run(&app.batches, winner, FINANCE2, "2026-03-12", import.clone()),
    );
    let written: usize = [x, y]
        .into_iter()
        .map(|r| match r {
            Ok(n) => n,
            Err(AppError::Conflict) => 0,
            Err(e) => panic!("{e}"),
        })
        .sum();
    let again = try_run(&app.batches, winner, FINANCE, "2026-03-12", import).await;
    let batch = app.batches.load(winner).await.unwrap().aggregate;
    assert!(written <= 1 && again.is_ok());
    settled(app).await;
    let recon = bangfu::finance::batch_recon(app, winner)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        recon.result_files.len(),
        1,
        "the same file twice changes nothing"
    );
    let kinds: Vec<ResultException> = recon
        .exceptions
        .iter()
        .map(|e| e.exception.clone())
        .collect();
    assert_eq!(
        kinds,
        vec![
            ResultException::AmountMismatch {
                line: 8,
                payout_id: lines[7].payout_id.to_string(),
                expected_fen: lines[7].amount_fen,
                reported_fen: Fen::new(lines[7].amount_fen.fen() + 1).unwrap(),
            },
            ResultException::DuplicateLine {
                line: GRANTS + 1,
                payout_id: lines[0].payout_id.to_string(),
            },
            ResultException::UnknownLine {
                line: GRANTS + 2,
                payout_id: "grant:HF-99:G1".into(),
            },
        ]
    );
    assert_eq!(recon.failed_fen, lines[5].amount_fen);
    assert_eq!(recon.pending_fen, lines[7].amount_fen);
    assert_eq!(
        batch
            .lines()
            .filter(|(_, s)| **s == LineStatus::Paid)
            .count(),
        GRANTS as usize - 2
    );
    one_set_of_books(app, "first results").await;
    let early = try_run(&app.batches, winner, FINANCE, "2026-03-12", json!("Close")).await;
    assert_eq!(early.unwrap_err().code(), "payout_batch.unsettled");

    // The failure is re-issued to a corrected card; the bank confirms line 7.
    run(&app.batches, winner, FINANCE, "2026-03-13", json!({"Reissue": {"payout_id": lines[5].payout_id.as_str(),
        "account": {"bank": {"card": card(1005), "bank": "中国农业银行莆田分行"}}, "reason": "原卡已销户"}})).await;
    let fixed = vec![result(1, &lines[7], true, "2026-03-13")];
    run(
        &app.batches,
        winner,
        FINANCE,
        "2026-03-13",
        json!({"RecordResults": {"sha256": sha("result-2.csv"), "results": fixed}}),
    )
    .await;
    run(&app.batches, winner, FINANCE, "2026-03-13", json!("Close")).await;

    // The re-issue is due, and goes out in a second batch.
    settled(app).await;
    let due = bangfu::finance::due_payouts(app, Fund::SpecialAssistance)
        .await
        .unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(
        due[0].reissue_of.as_deref(),
        Some(lines[5].payout_id.as_str())
    );
    let (second, _) = bangfu::finance::lines_from_due(app, &due).await.unwrap();
    assert_eq!(second[0].account.card(), Some(card(1005).as_str()));
    authorised_and_exported(app, "PB-2", Fund::SpecialAssistance, &second).await;
    run(
        &app.batches,
        "PB-2",
        FINANCE,
        "2026-03-20",
        json!({"RecordResults": {"sha256": sha("result-3.csv"),
        "results": [result(1, &second[0], true, "2026-03-20")]}}),
    )
    .await;
    run(&app.batches, "PB-2", FINANCE, "2026-03-20", json!("Close")).await;

    // Claims (cards given by finance): one fails and is cancelled.
    let claims: Vec<PayoutLine> = (0..4)
        .map(|i| {
            line(
                &format!("claim:C{i}"),
                SourceKind::Claim,
                Fund::MutualAid,
                600 + i,
                1_040,
            )
        })
        .collect();
    authorised_and_exported(app, "PB-MA", Fund::MutualAid, &claims).await;
    let results: Vec<Value> = claims
        .iter()
        .enumerate()
        .map(|(i, l)| result(i as u32 + 1, l, i != 3, "2026-03-21"))
        .collect();
    run(
        &app.batches,
        "PB-MA",
        FINANCE,
        "2026-03-21",
        json!({"RecordResults": {"sha256": sha("result-ma.csv"), "results": results}}),
    )
    .await;
    let before = app.projector.funds().await.unwrap();
    run(
        &app.batches,
        "PB-MA",
        FINANCE,
        "2026-03-22",
        json!({"CancelPayout": {"payout_id": "claim:C3", "reason": "职工放弃"}}),
    )
    .await;
    one_set_of_books(app, "cancelled").await;
    let after = app.projector.funds().await.unwrap();
    let ma = |rows: &[projections::views::funds::FundBalanceRow]| {
        rows.iter()
            .find(|r| r.fund == Fund::MutualAid)
            .unwrap()
            .available_fen
            .fen()
    };
    assert_eq!(
        ma(&after) - ma(&before),
        yuan(1_040),
        "the money is back in the fund"
    );
    run(&app.batches, "PB-MA", FINANCE, "2026-03-22", json!("Close")).await;

    // The designated allocation.
    let designated = vec![line(
        "allocation:DX:A2",
        SourceKind::Allocation,
        Fund::Donation,
        700,
        300,
    )];
    authorised_and_exported(app, "PB-DN", Fund::Donation, &designated).await;
    run(
        &app.batches,
        "PB-DN",
        FINANCE,
        "2026-03-23",
        json!({"RecordResults": {"sha256": sha("result-dn.csv"),
        "results": [result(1, &designated[0], true, "2026-03-23")]}}),
    )
    .await;
    run(&app.batches, "PB-DN", FINANCE, "2026-03-23", json!("Close")).await;

    // Everything reconciled.
    settled(app).await;
    let (_, per_fund) = bangfu::finance::fund_recon(app).await.unwrap();
    for (fund, r) in &per_fund {
        assert_eq!(
            (r.pending_fen, r.failed_fen),
            (Fen::ZERO, Fen::ZERO),
            "{fund:?}"
        );
    }
    let sa = &per_fund[&Fund::SpecialAssistance];
    assert_eq!(sa.batches, 2);
    assert_eq!(
        sa.paid_fen.fen(),
        total,
        "every grant paid once, the re-issue included"
    );
    assert_eq!(sa.reissued_fen, lines[5].amount_fen);
    one_set_of_books(app, "reconciled").await;

    // Lineage, both ways, to the fen.
    settled(app).await;
    let pieces = bangfu::finance::lineage(app).await.unwrap();
    let of = |payout: &str| -> Vec<(String, i64)> {
        pieces
            .iter()
            .filter(|p| p.payout_id == payout)
            .map(|p| (p.inflow_id.clone(), p.amount_fen.fen()))
            .collect()
    };
    assert_eq!(
        of("grant:HF-00:G1"),
        vec![("appropriation:SA:BK-1".to_string(), yuan(300))]
    );
    // Claim C0 draws on its explicit allocation first (500 of the receipt),
    // then on the mutual-aid fund's contributions.
    assert_eq!(
        of("claim:C0"),
        vec![
            ("donation:YRJ:R1".to_string(), yuan(500)),
            ("contribution:P7:U1".to_string(), yuan(540)),
        ]
    );
    let from_receipt: Vec<&str> = pieces
        .iter()
        .filter(|p| p.inflow_id == "donation:YRJ:R1")
        .map(|p| p.payout_id.as_str())
        .collect();
    assert_eq!(from_receipt, ["claim:C0"]);
    for payout in ["grant:HF-07:G1", "claim:C1", "allocation:DX:A2"] {
        let sum: i64 = of(payout).iter().map(|p| p.1).sum();
        assert!(
            sum > 0
                && of(payout)
                    .iter()
                    .all(|p| p.0 != projections::views::lineage::UNFUNDED),
            "{payout}"
        );
    }

    // Month end: March closes; an entry dated into it is refused, one dated
    // in April is not.
    run(
        &app.periods,
        "2026-03",
        FINANCE,
        "2026-04-02",
        json!({"Close": {"month": "2026-03", "note": "三月月结"}}),
    )
    .await;
    let late = try_run(&app.funds, "SA", FINANCE, "2026-04-02", json!({"Appropriate": {"appropriation_id": "BK-2", "fund": "special_assistance",
        "amount_fen": yuan(1_000), "source": "莆田市总工会", "received_on": "2026-03-31", "note": null}})).await;
    assert_eq!(late.unwrap_err().code(), "money.period_closed");
    run(&app.funds, "SA", FINANCE, "2026-04-02", json!({"Appropriate": {"appropriation_id": "BK-3", "fund": "special_assistance",
        "amount_fen": yuan(1_000), "source": "莆田市总工会", "received_on": "2026-04-01", "note": null}})).await;
    let twice = try_run(
        &app.periods,
        "2026-03",
        FINANCE,
        "2026-04-02",
        json!({"Close": {"month": "2026-03", "note": null}}),
    )
    .await;
    assert_eq!(
        twice.unwrap_err().code(),
        "accounting_period.already_closed"
    );
    one_set_of_books(app, "closed").await;
    assert!(app.projector.verify(&|_, _| {}).await.unwrap().is_ok());
}

on_every_store!(
    "finance", 4, sqlite_world;
    a_month_of_payouts_reconciles_and_closes,
);
