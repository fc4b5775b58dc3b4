//! Tests of the payout batch: its life, four-eyes and signers, result
//! matching (every exception kind), idempotent imports, follow-ups and
//! close; what its events reserve and move.

use chrono::NaiveDate;
use cqrs_es::test::TestFramework;
use cqrs_es::Aggregate;

use super::*;
use crate::command::Role;
use crate::finance::{PayeeAccount, PayoutId, PayoutLine, SourceKind};
use crate::i18n::{ErrorCode, Lang, Localize};
use crate::money::{Account, Movement, Moves};
use crate::reservation::{Reservation, Reserves, Scope};
use crate::testing::cmd;
use crate::values::{BankCard, OrgName, PersonName};

use PayoutBatchCommand as C;
use PayoutBatchEvent as Ev;

const DRAFTER: &str = "wu.haiyan";
const SIGNER: &str = "lin.feng";
const SIGNER2: &str = "chen.li";
const SHA_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const SHA_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

/// A Luhn-valid card ending in `n`'s digits.
fn card(n: u32) -> String {
    let body = format!("62220215{n:010}");
    let digits: Vec<u32> = body.chars().map(|c| c.to_digit(10).unwrap()).collect();
    let mut sum = 0;
    for (i, d) in digits.iter().rev().enumerate() {
        let mut d = *d;
        if i % 2 == 0 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    format!("{body}{}", (10 - sum % 10) % 10)
}

fn line(n: u32, yuan: i64) -> PayoutLine {
    PayoutLine {
        payout_id: PayoutId::parse(&format!("grant:HF-{n}:G1")).unwrap(),
        source: SourceKind::Grant,
        payee: PersonName::parse("张三").unwrap(),
        account: PayeeAccount::Bank {
            card: BankCard::parse(&card(n)).unwrap(),
            bank: Some(OrgName::parse("中国工商银行莆田分行").unwrap()),
        },
        amount_fen: Fen::from_yuan(yuan).unwrap(),
        fund: Fund::SpecialAssistance,
        purpose: ShortText::parse("困难职工帮扶").unwrap(),
    }
}

fn run(given: &[Ev], who: &str, body: C) -> Result<Vec<Ev>, PayoutBatchError> {
    TestFramework::<PayoutBatch>::with(())
        .given(given.to_vec())
        .when(cmd(who, Role::Finance, body))
        .inspect_result()
}

fn ok(given: &mut Vec<Ev>, who: &str, body: C) -> Vec<Ev> {
    let events = run(given, who, body).unwrap_or_else(|e| panic!("refused: {e}"));
    given.extend(events.clone());
    events
}

fn refused(given: &[Ev], who: &str, body: C, code: &str) {
    let e = run(given, who, body).expect_err("expected a refusal");
    assert_eq!(e.code(), code, "{e}");
    assert!(!e.localize(Lang::Zh).is_empty());
}

fn draft(lines: Vec<PayoutLine>) -> C {
    C::Draft {
        fund: Fund::SpecialAssistance,
        lines,
        signing: None,
        note: None,
    }
}

fn result(line_no: u32, l: &PayoutLine, paid: bool) -> BankResult {
    BankResult {
        line: line_no,
        payout_id: ShortText::parse(l.payout_id.as_str()).unwrap(),
        account: l.account.card().unwrap().to_string(),
        amount_fen: l.amount_fen,
        paid,
        reason: (!paid).then(|| ShortText::parse("账户已销户").unwrap()),
        value_date: NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
    }
}

fn exported(lines: Vec<PayoutLine>) -> Vec<Ev> {
    let total = Fen::checked_sum(lines.iter().map(|l| l.amount_fen)).unwrap();
    let n = lines.len() as u32;
    let mut given = Vec::new();
    ok(&mut given, DRAFTER, draft(lines));
    ok(&mut given, DRAFTER, C::Lock);
    ok(&mut given, SIGNER, C::Authorise { note: None });
    ok(
        &mut given,
        DRAFTER,
        C::RecordExport {
            format: FileFormat::CsvUtf8,
            template: Code::parse("icbc").unwrap(),
            sha256: Code::parse(SHA_A).unwrap(),
            lines: n,
            total_fen: total,
        },
    );
    given
}

fn results(sha: &str, results: Vec<BankResult>) -> C {
    C::RecordResults {
        sha256: Code::parse(sha).unwrap(),
        results,
    }
}

#[test]
fn a_draft_checks_its_lines_and_reserves_each_payout() {
    let mut given = Vec::new();
    let events = ok(&mut given, DRAFTER, draft(vec![line(1, 500), line(2, 800)]));
    assert_eq!(
        events[0].reservations(),
        vec![
            Reservation::Take {
                scope: Scope::PayoutBatched,
                key: "grant:HF-1:G1".into()
            },
            Reservation::Take {
                scope: Scope::PayoutBatched,
                key: "grant:HF-2:G1".into()
            },
        ]
    );
    refused(&[], DRAFTER, draft(vec![]), "payout_batch.line_count");
    refused(
        &[],
        DRAFTER,
        draft(vec![line(1, 5), line(1, 5)]),
        "payout_batch.duplicate_payout",
    );
    let mut other = line(3, 5);
    other.fund = Fund::Donation;
    refused(&[], DRAFTER, draft(vec![other]), "payout_batch.wrong_fund");
    refused(
        &given,
        DRAFTER,
        draft(vec![line(9, 1)]),
        "payout_batch.already_drafted",
    );
    refused(&[], DRAFTER, C::Lock, "payout_batch.not_drafted");
}

#[test]
fn four_eyes_and_distinct_signers_above_the_threshold() {
    let mut given = Vec::new();
    // 200,000 yuan: above the default threshold, two signers.
    ok(&mut given, DRAFTER, draft(vec![line(1, 200_000)]));
    refused(
        &given,
        SIGNER,
        C::Authorise { note: None },
        "payout_batch.wrong_state",
    );
    ok(&mut given, DRAFTER, C::Lock);
    refused(
        &given,
        DRAFTER,
        C::Authorise { note: None },
        "payout_batch.drafter_may_not_sign",
    );
    ok(&mut given, SIGNER, C::Authorise { note: None });
    refused(
        &given,
        SIGNER,
        C::Authorise { note: None },
        "payout_batch.already_signed",
    );
    let export = C::RecordExport {
        format: FileFormat::Xlsx,
        template: Code::parse("icbc").unwrap(),
        sha256: Code::parse(SHA_A).unwrap(),
        lines: 1,
        total_fen: Fen::from_yuan(200_000).unwrap(),
    };
    refused(&given, DRAFTER, export.clone(), "payout_batch.wrong_state");
    ok(&mut given, SIGNER2, C::Authorise { note: None });
    let batch = fold(&given);
    assert_eq!(batch.state(), BatchState::Authorised);
    let wrong_total = C::RecordExport {
        format: FileFormat::Xlsx,
        template: Code::parse("icbc").unwrap(),
        sha256: Code::parse(SHA_A).unwrap(),
        lines: 1,
        total_fen: Fen::from_yuan(1).unwrap(),
    };
    refused(&given, DRAFTER, wrong_total, "payout_batch.export_mismatch");
    ok(&mut given, DRAFTER, export);
    refused(
        &given,
        DRAFTER,
        C::Discard {
            reason: ShortText::parse("x").unwrap(),
        },
        "payout_batch.wrong_state",
    );
}

#[test]
fn results_settle_lines_and_name_every_exception() {
    let lines: Vec<PayoutLine> = (1..=5).map(|n| line(n, 100 * n as i64)).collect();
    let mut given = exported(lines.clone());
    let mut wrong_amount = result(4, &lines[3], true);
    wrong_amount.amount_fen = Fen::from_yuan(1).unwrap();
    let mut wrong_account = result(5, &lines[4], true);
    wrong_account.account = card(99);
    let mut unknown = result(6, &lines[0], true);
    unknown.payout_id = ShortText::parse("grant:HF-77:G1").unwrap();
    let file = vec![
        result(1, &lines[0], true),
        result(2, &lines[1], false),
        result(3, &lines[0], true),
        wrong_amount,
        wrong_account,
        unknown,
    ];
    let events = ok(&mut given, DRAFTER, results(SHA_B, file.clone()));
    let Ev::BankResultsRecorded {
        outcomes,
        exceptions,
        ..
    } = &events[0]
    else {
        panic!("{events:?}")
    };
    assert_eq!(outcomes.len(), 2);
    assert!(outcomes[0].paid && !outcomes[1].paid);
    let kinds: Vec<&str> = exceptions.iter().map(|e| e.kind()).collect();
    assert_eq!(
        kinds,
        [
            "duplicate_line",
            "amount_mismatch",
            "account_mismatch",
            "unknown_line",
            "missing_from_file"
        ]
    );
    assert_eq!(exceptions[4].payout_id(), "grant:HF-3:G1");
    // Only the paid line takes the paid-once key; the value date is an entry.
    assert_eq!(
        events[0].reservations(),
        vec![Reservation::Take {
            scope: Scope::PayoutPaid,
            key: "grant:HF-1:G1".into()
        }]
    );
    assert_eq!(
        events[0].movements("B"),
        vec![Movement::InPeriod {
            month: "2026-03".into()
        }]
    );
    // The same file again changes nothing.
    assert_eq!(run(&given, DRAFTER, results(SHA_B, file)).unwrap(), vec![]);
    // Another file reporting line 1 paid again: paid twice.
    let again = ok(
        &mut given,
        DRAFTER,
        results(SHA_A, vec![result(1, &lines[0], true)]),
    );
    let Ev::BankResultsRecorded { exceptions, .. } = &again[0] else {
        panic!()
    };
    assert_eq!(exceptions[0].kind(), "paid_twice");
}

#[test]
fn failures_are_reissued_or_cancelled_before_the_batch_closes() {
    let lines = vec![line(1, 300), line(2, 400), line(3, 500)];
    let mut given = exported(lines.clone());
    ok(
        &mut given,
        DRAFTER,
        results(
            SHA_B,
            vec![
                result(1, &lines[0], true),
                result(2, &lines[1], false),
                result(3, &lines[2], false),
            ],
        ),
    );
    refused(&given, DRAFTER, C::Close, "payout_batch.unsettled");
    let reason = || ShortText::parse("户名与账号不符").unwrap();
    refused(
        &given,
        DRAFTER,
        C::CancelPayout {
            payout_id: lines[0].payout_id.clone(),
            reason: reason(),
        },
        "payout_batch.not_failed",
    );
    let new_account = PayeeAccount::Bank {
        card: BankCard::parse(&card(42)).unwrap(),
        bank: Some(OrgName::parse("中国农业银行").unwrap()),
    };
    let reissued = ok(
        &mut given,
        DRAFTER,
        C::Reissue {
            payout_id: lines[1].payout_id.clone(),
            account: new_account.clone(),
            reason: reason(),
        },
    );
    let Ev::PayoutReissued { line: new, .. } = &reissued[0] else {
        panic!()
    };
    assert_eq!(new.payout_id.as_str(), "grant:HF-2:G1~r1");
    assert_eq!(new.payout_id.next_reissue().as_str(), "grant:HF-2:G1~r2");
    assert_eq!(new.account, new_account);
    let cancelled = ok(
        &mut given,
        DRAFTER,
        C::CancelPayout {
            payout_id: lines[2].payout_id.clone(),
            reason: reason(),
        },
    );
    // The money goes back to the fund.
    assert!(cancelled[0].movements("B").contains(&Movement::Credit {
        account: Account::Fund(Fund::SpecialAssistance),
        amount_fen: Fen::from_yuan(500).unwrap(),
    }));
    let closed = ok(&mut given, DRAFTER, C::Close);
    assert_eq!(
        closed,
        vec![Ev::BatchClosed {
            paid_fen: Fen::from_yuan(300).unwrap(),
            unpaid_fen: Fen::from_yuan(900).unwrap(),
            closed_by: Code::parse(DRAFTER).unwrap(),
            closed_at: crate::testing::at(0),
        }]
    );
    // A result after the close is recorded as an exception only.
    let late = ok(
        &mut given,
        DRAFTER,
        results(SHA_A, vec![result(1, &lines[0], true)]),
    );
    let Ev::BankResultsRecorded {
        outcomes,
        exceptions,
        ..
    } = &late[0]
    else {
        panic!()
    };
    assert!(outcomes.is_empty());
    assert_eq!(exceptions[0].kind(), "after_close");
}

#[test]
fn a_discarded_batch_releases_its_payouts() {
    let mut given = Vec::new();
    ok(&mut given, DRAFTER, draft(vec![line(1, 5)]));
    let events = ok(
        &mut given,
        DRAFTER,
        C::Discard {
            reason: ShortText::parse("重编").unwrap(),
        },
    );
    assert_eq!(
        events[0].reservations(),
        vec![Reservation::Release {
            scope: Scope::PayoutBatched,
            key: "grant:HF-1:G1".into()
        }]
    );
    assert_eq!(fold(&given).state(), BatchState::Discarded);
}

#[test]
fn every_event_round_trips_and_has_labels() {
    let lines = vec![line(1, 300)];
    let given = exported(lines);
    for e in &given {
        let json = serde_json::to_value(e).unwrap();
        let back: Ev = serde_json::from_value(json).unwrap();
        assert_eq!(&back, e);
        assert!(PayoutBatchEvent::EVENT_TYPES.contains(&e.type_name()));
        assert!(!e.label(Lang::Zh).is_empty() && !e.describe(Lang::En).is_empty());
    }
}

fn fold(events: &[Ev]) -> PayoutBatch {
    let mut batch = PayoutBatch::default();
    for e in events {
        batch.apply(e.clone());
    }
    batch
}
