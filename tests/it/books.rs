//! One set of books (issue 12, items 1 and 6), on SQLite and PostgreSQL with
//! the same code:
//!
//! - every view that shows a fund's balance shows the same numbers — the
//!   fund-balance view, the plan period's mutual-aid fund, the payout
//!   ledger's funds, the books' trial balance, the journal summed line by
//!   line, and the store's money balances — after every step of a month
//!   with grants, claims, allocations to a claim, to a measure and to a
//!   designated beneficiary, direct payments and batch payments;
//! - allocations appear in the ledger's totals and on the household file
//!   they paid for; bank results show on the ledger and the household file;
//! - a payout is paid at most once, ever: paid directly it cannot be
//!   batched, batched it cannot be paid directly (grants and claims, and a
//!   race between the two);
//! - cash handed over at a home visit is one payout row, paid, never due
//!   and never batchable.

use std::collections::BTreeMap;

use bangfu::app::{App, AppError};
use domain::finance::{PayeeAccount, PayoutLine, SourceKind};
use domain::fund::Fund;
use domain::i18n::ErrorCode;
use domain::reservation::Scope;
use projections::views::household::{GrantState, HouseholdFileRow};
use projections::views::ledger::{PayoutRow, PayoutState};
use serde_json::{json, Value};

use crate::finance::{
    approved_allocations, approved_claims, approved_grant, approved_grant_to,
    authorised_and_exported, card, line, result, run, try_run, yuan, World, APPROVER, CASEWORKER,
    FINANCE,
};

pub(crate) use crate::finance::{postgres_world, sqlite_world};

/// Every view that shows a fund's balance, compared: the store's balance =
/// the fund view's `available_fen` = the books' `fund:{fund}` = the plan
/// period's and the ledger's quotes; the fund view's `balance_fen` = the
/// books' `bank:{fund}`; `committed_fen` = `payable:{fund}`; and the trial
/// balance equals the journal summed line by line.
pub(crate) async fn one_balance(app: &App, step: &str) {
    caught_up(app).await;
    let tb = bangfu::finance::trial_balance(app).await.unwrap();
    assert!(tb.balances(), "{step}: {tb:?}");
    let account = |name: &str| {
        tb.accounts
            .iter()
            .find(|a| a.account == name)
            .map_or(0, |a| a.debit_fen.fen() - a.credit_fen.fen())
    };
    // The journal, summed on its own, gives the trial balance.
    let mut summed: BTreeMap<String, i64> = BTreeMap::new();
    for e in bangfu::finance::journal(app, None).await.unwrap() {
        let (d, c): (i64, i64) = e.lines.iter().fold((0, 0), |(d, c), l| {
            (d + l.debit_fen.fen(), c + l.credit_fen.fen())
        });
        assert_eq!(d, c, "{step}: entry {} balances", e.entry_id);
        for l in &e.lines {
            *summed.entry(l.account.clone()).or_default() += l.debit_fen.fen() - l.credit_fen.fen();
        }
    }
    for a in &tb.accounts {
        let journal = summed.get(&a.account).copied().unwrap_or(0);
        assert_eq!(
            journal,
            account(&a.account),
            "{step}: {} journal vs trial balance",
            a.account
        );
    }
    let store = app.store.money_balances().await.unwrap();
    let plan = bangfu::read::reports::plan_period_report(app, "P7")
        .await
        .unwrap()
        .and_then(|p| p.mutual_aid_fund);
    let ledger = bangfu::read::reports::payout_ledger_page(app, None, None, None, 1)
        .await
        .unwrap();
    for row in app.projector.funds().await.unwrap() {
        let code = domain::money::fund_code(row.fund);
        let stored = store
            .iter()
            .find(|(k, key, _)| k == "fund" && key == code)
            .map_or(0, |b| b.2);
        let books = projections::views::books::fund_account(row.fund);
        let bank = projections::views::books::bank(row.fund);
        let payable = projections::views::books::payable(row.fund);
        assert!(!row.overdrawn, "{step}: {code} overdrawn");
        assert_eq!(
            row.available_fen.fen(),
            stored,
            "{step}: {code} view vs store"
        );
        assert_eq!(-account(&books), stored, "{step}: {code} books vs store");
        assert_eq!(
            row.balance_fen.fen(),
            account(&bank),
            "{step}: {code} balance vs bank"
        );
        assert_eq!(
            row.committed_fen.fen(),
            -account(&payable),
            "{step}: {code} committed vs payable"
        );
        assert_eq!(row.unapproved_settled_fen.fen(), 0, "{step}: {code}");
        let quoted = ledger.funds.iter().find(|f| f.fund == row.fund);
        assert_eq!(quoted, Some(&row), "{step}: {code} ledger's quote");
        if let Some(plan) = plan.as_ref().filter(|_| row.fund == Fund::MutualAid) {
            assert_eq!(plan, &row, "{step}: plan period's quote");
        }
    }
}

async fn caught_up(app: &App) {
    crate::finance::settled(app).await;
}

async fn ledger_row(app: &App, payout: &str) -> PayoutRow {
    caught_up(app).await;
    app.projector.get(payout).await.unwrap().expect(payout)
}

async fn household(app: &App, id: &str) -> HouseholdFileRow {
    caught_up(app).await;
    app.projector.get(id).await.unwrap().expect(id)
}

fn refused_by(r: Result<usize, AppError>, scope: Scope, holder: &str) {
    match r {
        Err(AppError::Reservation(c)) => {
            assert_eq!((c.scope, c.held_by.as_str()), (scope, holder));
        }
        other => panic!("refused by {scope:?} held by {holder}, not {other:?}"),
    }
}

fn draft(fund: Fund, lines: &[PayoutLine]) -> Value {
    json!({"Draft": {"fund": fund, "lines": lines, "signing": null, "note": null}})
}

/// A month's money: appropriations, grants, claims, a donation allocated to
/// a claim, to a measure (HF-00's M1) and to a designated beneficiary.
pub(crate) async fn a_month_approved(app: &App) {
    run(&app.funds, "SA", FINANCE, "2026-03-01", json!({"Appropriate": {"appropriation_id": "BK-1", "fund": "special_assistance",
        "amount_fen": yuan(100_000), "source": "莆田市总工会", "received_on": "2026-03-01", "note": null}})).await;
    run(&app.funds, "MA", FINANCE, "2026-03-01", json!({"Appropriate": {"appropriation_id": "BK-M", "fund": "mutual_aid",
        "amount_fen": yuan(2_000), "source": "莆田市总工会", "received_on": "2026-03-01", "note": null}})).await;
    for n in 0..4 {
        approved_grant(app, n, 300 + i64::from(n)).await;
    }
    approved_claims(app).await;
    approved_allocations(app).await;
    let c = &app.campaigns;
    run(c, "YRJ", CASEWORKER, "2026-03-06", json!({"RecordDonation": {"receipt_no": "R2", "unit_id": "D1", "donor": null, "donor_count": 5, "amount_fen": yuan(1_000), "channel": "bank_transfer", "donated_on": "2026-03-06"}})).await;
    run(c, "YRJ", CASEWORKER, "2026-03-06", json!({"ProposeAllocation": {"allocation_id": "A3", "target": {"hardship_measure": {"file_id": "HF-00", "measure_id": "M1"}}, "amount_fen": yuan(200), "note": "困难帮扶"}})).await;
    run(
        c,
        "YRJ",
        APPROVER,
        "2026-03-06",
        json!({"ApproveAllocation": {"allocation_id": "A3"}}),
    )
    .await;
}

async fn every_view_shows_one_balance(w: World) {
    let app = &w.app;
    a_month_approved(app).await;
    one_balance(app, "approved").await;

    // The allocations are in the ledger's totals: the donation fund spent
    // what it moved to the claim's and the measure's funds, and owes the
    // designated beneficiary.
    let page = bangfu::read::reports::payout_ledger_page(app, None, None, None, 100)
        .await
        .unwrap();
    let donation = &page.totals.by_fund["donation"];
    assert_eq!(donation.transferred_fen.fen(), yuan(500 + 200));
    assert_eq!(donation.approved_fen.fen(), yuan(300));
    assert_eq!(donation.spent_fen().fen(), yuan(1_000));
    assert_eq!(page.totals.all.transferred_fen.fen(), yuan(700));
    // … and on the household file they paid for.
    let file = household(app, "HF-00").await;
    assert_eq!(file.allocations.len(), 1);
    assert_eq!(file.allocations[0].allocation_id, "A3");
    assert_eq!(file.allocations[0].fund, Fund::SpecialAssistance);
    assert_eq!(file.measures()[0].allocated_fen.fen(), yuan(200));

    // The plan period counts the donation money allocated to its claims in
    // its own net (not a fund balance: the fund's is quoted beside it).
    let plan = bangfu::read::reports::plan_period_report(app, "P7")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(plan.donations_allocated_fen.fen(), yuan(500));
    assert_eq!(plan.period_net_fen.fen(), yuan(5_000 + 500));

    // HF-01's grant and claim C1 are paid directly.
    run(&app.files, "HF-01", FINANCE, "2026-03-09", json!({"RecordGrantPaid": {"grant_id": "G1", "paid_on": "2026-03-09", "reference": "BOC-0309-1"}})).await;
    run(
        &app.claims,
        "C1",
        FINANCE,
        "2026-03-09",
        json!({"MarkPaid": {"paid_on": "2026-03-09", "reference": "HZ-0309-1", "card": card(601)}}),
    )
    .await;
    one_balance(app, "paid directly").await;

    // The other grants, claim C0 and the designated allocation go by batch.
    let due = bangfu::finance::due_payouts(app, Fund::SpecialAssistance)
        .await
        .unwrap();
    let ids: Vec<&str> = due.iter().map(|d| d.payout_id.as_str()).collect();
    assert_eq!(ids, ["grant:HF-00:G1", "grant:HF-02:G1", "grant:HF-03:G1"]);
    let (grants, _) = bangfu::finance::lines_from_due(app, &due).await.unwrap();
    authorised_and_exported(app, "PB-SA", Fund::SpecialAssistance, &grants).await;
    one_balance(app, "exported").await;
    let results: Vec<Value> = grants
        .iter()
        .enumerate()
        .map(|(i, l)| result(i as u32 + 1, l, true, "2026-03-12"))
        .collect();
    run(
        &app.batches,
        "PB-SA",
        FINANCE,
        "2026-03-12",
        json!({"RecordResults": {"sha256": crate::finance::sha("sa.csv"), "results": results}}),
    )
    .await;
    one_balance(app, "grants paid by the bank").await;
    let c0 = vec![line(
        "claim:C0",
        SourceKind::Claim,
        Fund::MutualAid,
        600,
        1_040,
    )];
    authorised_and_exported(app, "PB-MA", Fund::MutualAid, &c0).await;
    run(&app.batches, "PB-MA", FINANCE, "2026-03-13", json!({"RecordResults": {"sha256": crate::finance::sha("ma.csv"), "results": [result(1, &c0[0], true, "2026-03-13")]}})).await;
    let dx = vec![line(
        "allocation:DX:A2",
        SourceKind::Allocation,
        Fund::Donation,
        700,
        300,
    )];
    authorised_and_exported(app, "PB-DN", Fund::Donation, &dx).await;
    one_balance(app, "designated exported").await;
    run(&app.batches, "PB-DN", FINANCE, "2026-03-14", json!({"RecordResults": {"sha256": crate::finance::sha("dn.csv"), "results": [result(1, &dx[0], true, "2026-03-14")]}})).await;
    one_balance(app, "all paid").await;

    // Bank results show on the ledger and on the household file.
    let paid = ledger_row(app, "grant:HF-00:G1").await;
    assert_eq!(
        (paid.state, paid.paid_on.map(|d| d.to_string())),
        (PayoutState::Paid, Some("2026-03-12".into()))
    );
    assert_eq!(paid.paid_reference.as_deref(), Some("PB-SA/grant:HF-00:G1"));
    assert_eq!(
        ledger_row(app, "allocation:DX:A2").await.state,
        PayoutState::Paid
    );
    assert_eq!(ledger_row(app, "claim:C0").await.state, PayoutState::Paid);
    let file = household(app, "HF-00").await;
    assert_eq!(file.grants[0].state, GrantState::Paid);
    assert_eq!(file.measures()[0].paid_fen.fen(), yuan(300));
    let page = bangfu::read::reports::payout_ledger_page(app, None, None, None, 100)
        .await
        .unwrap();
    let donation = &page.totals.by_fund["donation"];
    assert_eq!(
        (donation.paid_fen.fen(), donation.approved_fen.fen()),
        (yuan(300), 0)
    );
    assert_eq!(
        page.totals.by_fund["special_assistance"].paid_fen.fen(),
        yuan(300 + 301 + 302 + 303)
    );
    assert!(app.projector.verify(&|_, _| {}).await.unwrap().is_ok());
}

async fn a_payout_is_paid_once_either_way(w: World) {
    let app = &w.app;
    run(&app.funds, "SA", FINANCE, "2026-03-01", json!({"Appropriate": {"appropriation_id": "BK-1", "fund": "special_assistance",
        "amount_fen": yuan(100_000), "source": "莆田市总工会", "received_on": "2026-03-01", "note": null}})).await;
    for n in 0..3 {
        approved_grant(app, n, 300).await;
    }
    approved_claims(app).await;
    let sa = |n: u32| {
        line(
            &format!("grant:HF-{n:02}:G1"),
            SourceKind::Grant,
            Fund::SpecialAssistance,
            n,
            300,
        )
    };
    let ma = |i: u32| {
        line(
            &format!("claim:C{i}"),
            SourceKind::Claim,
            Fund::MutualAid,
            600 + i,
            1_040,
        )
    };
    let pay_grant = json!({"RecordGrantPaid": {"grant_id": "G1", "paid_on": "2026-03-09", "reference": "BOC-1"}});
    let pay_claim =
        json!({"MarkPaid": {"paid_on": "2026-03-09", "reference": "HZ-1", "card": null}});

    // Batched first: the direct payment is refused; once the batch is
    // discarded it goes through, and then no batch can take the payout.
    run(
        &app.batches,
        "PB-1",
        FINANCE,
        "2026-03-09",
        draft(Fund::SpecialAssistance, &[sa(0)]),
    )
    .await;
    refused_by(
        try_run(
            &app.files,
            "HF-00",
            FINANCE,
            "2026-03-09",
            pay_grant.clone(),
        )
        .await,
        Scope::PayoutBatched,
        "PB-1",
    );
    run(
        &app.batches,
        "PB-1",
        FINANCE,
        "2026-03-09",
        json!({"Discard": {"reason": "重做"}}),
    )
    .await;
    run(
        &app.files,
        "HF-00",
        FINANCE,
        "2026-03-09",
        pay_grant.clone(),
    )
    .await;
    refused_by(
        try_run(
            &app.batches,
            "PB-2",
            FINANCE,
            "2026-03-09",
            draft(Fund::SpecialAssistance, &[sa(0)]),
        )
        .await,
        Scope::PayoutBatched,
        "HF-00",
    );
    // Claims alike, both ways.
    run(&app.claims, "C0", FINANCE, "2026-03-09", pay_claim.clone()).await;
    refused_by(
        try_run(
            &app.batches,
            "PB-3",
            FINANCE,
            "2026-03-09",
            draft(Fund::MutualAid, &[ma(0)]),
        )
        .await,
        Scope::PayoutBatched,
        "C0",
    );
    run(
        &app.batches,
        "PB-4",
        FINANCE,
        "2026-03-09",
        draft(Fund::MutualAid, &[ma(1)]),
    )
    .await;
    refused_by(
        try_run(&app.claims, "C1", FINANCE, "2026-03-09", pay_claim.clone()).await,
        Scope::PayoutBatched,
        "PB-4",
    );

    // A direct payment and a draft race for HF-01's grant: exactly one wins.
    let (direct, batched) = tokio::join!(
        try_run(
            &app.files,
            "HF-01",
            FINANCE,
            "2026-03-09",
            pay_grant.clone()
        ),
        try_run(
            &app.batches,
            "PB-5",
            FINANCE,
            "2026-03-09",
            draft(Fund::SpecialAssistance, &[sa(1)])
        ),
    );
    match (&direct, &batched) {
        (Ok(_), Err(AppError::Reservation(c))) => assert_eq!(c.held_by, "HF-01"),
        (Err(AppError::Reservation(c)), Ok(_)) => assert_eq!(c.held_by, "PB-5"),
        other => panic!("exactly one of the two must win: {other:?}"),
    }
    one_balance(app, "paid once").await;
}

async fn cash_at_a_visit_is_one_paid_payout(w: World) {
    let app = &w.app;
    run(&app.funds, "SA", FINANCE, "2026-03-01", json!({"Appropriate": {"appropriation_id": "BK-1", "fund": "special_assistance",
        "amount_fen": yuan(10_000), "source": "莆田市总工会", "received_on": "2026-03-01", "note": null}})).await;
    approved_grant_to(app, 5, 500, json!("cash")).await;
    let id = "grant:HF-05:G1";
    let row = ledger_row(app, id).await;
    assert!(row.cash && row.state == PayoutState::Approved);
    // Never due, never batchable: a cash line is refused by the batch.
    assert!(bangfu::finance::due_payouts(app, Fund::SpecialAssistance)
        .await
        .unwrap()
        .is_empty());
    let mut cash_line = line(id, SourceKind::Grant, Fund::SpecialAssistance, 5, 500);
    cash_line.account = PayeeAccount::Cash;
    let refused = try_run(
        &app.batches,
        "PB-C",
        FINANCE,
        "2026-03-09",
        draft(Fund::SpecialAssistance, &[cash_line]),
    )
    .await;
    assert_eq!(refused.unwrap_err().code(), "payout_batch.cash_line");
    one_balance(app, "cash grant approved").await;

    // Handed over at a follow-up visit: one payout row, paid in cash.
    run(&app.files, "HF-05", CASEWORKER, "2026-03-10", json!({"LogVisit": {"visit_id": "V2", "visited_on": "2026-03-10", "kind": "follow_up",
        "caseworkers": ["林晓梅"], "findings": "已当面发放", "facts_verified": [], "contact_card_issued": false,
        "cash_handover": {"grant_id": "G1", "amount_fen": yuan(500), "signed_by": "陈建国"}}})).await;
    one_balance(app, "cash handed over").await;
    let page = bangfu::read::reports::payout_ledger_page(app, None, None, None, 100)
        .await
        .unwrap();
    let rows: Vec<&PayoutRow> = page
        .payouts
        .iter()
        .filter(|p| p.source_id == "HF-05")
        .collect();
    assert_eq!(rows.len(), 1, "exactly one payout row");
    let row = rows[0];
    assert!(row.cash);
    assert_eq!(
        (row.state, row.paid_reference.as_deref()),
        (PayoutState::Paid, Some("V2"))
    );
    assert_eq!(
        page.totals.by_fund["special_assistance"].paid_fen.fen(),
        yuan(500)
    );
    // In the books: approved (fund → payable), then paid (payable → bank).
    let journal = bangfu::finance::journal(app, None).await.unwrap();
    let entries: Vec<&str> = journal
        .iter()
        .filter(|e| e.reference == id)
        .map(|e| e.event_type.as_str())
        .collect();
    assert_eq!(entries, ["GrantApproved", "GrantPaid"]);
    // Paid once: not even a batch line with a bank card can take it now.
    let bank_line = line(id, SourceKind::Grant, Fund::SpecialAssistance, 5, 500);
    refused_by(
        try_run(
            &app.batches,
            "PB-D",
            FINANCE,
            "2026-03-11",
            draft(Fund::SpecialAssistance, &[bank_line]),
        )
        .await,
        Scope::PayoutBatched,
        "HF-05",
    );
    assert!(bangfu::finance::due_payouts(app, Fund::SpecialAssistance)
        .await
        .unwrap()
        .is_empty());
}

on_every_store!(
    "books", 4, sqlite_world;
    every_view_shows_one_balance,
    a_payout_is_paid_once_either_way,
    cash_at_a_visit_is_one_paid_payout,
);
