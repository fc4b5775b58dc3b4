//! Tests of the fund account: every command accepted and every refusal
//! (given/when/then), golden JSON of every event type (compiled in), error
//! codes and labels, and a replay property.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use cqrs_es::test::TestFramework;
use cqrs_es::{Aggregate, DomainEvent};
use proptest::prelude::*;

use super::*;
use crate::command::Role;
use crate::i18n::{ErrorCode, Lang, Localize};
use crate::reservation::Reserves;
use crate::testing::{at, cmd};
use crate::values::{OrgName, ShortText};

use FundAccountCommand as C;
use FundAccountEvent as Ev;

const FINANCE: &str = "wu.haiyan";

fn code(s: &str) -> Code {
    Code::parse(s).unwrap()
}

fn yuan(n: i64) -> Fen {
    Fen::from_yuan(n).unwrap()
}

fn day(m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, m, d).unwrap()
}

fn appropriate(id: &str, fund: Fund, amount: Fen, received_on: NaiveDate) -> C {
    C::Appropriate {
        appropriation_id: code(id),
        fund,
        amount_fen: amount,
        source: OrgName::parse("福建省总工会").unwrap(),
        received_on,
        note: None,
    }
}

fn reverse(id: &str) -> C {
    C::ReverseAppropriation {
        appropriation_id: code(id),
        reason: ShortText::parse("重复登记").unwrap(),
    }
}

fn appropriated(id: &str, fund: Fund, amount: Fen) -> Ev {
    Ev::Appropriated {
        appropriation_id: code(id),
        fund,
        amount_fen: amount,
        source: OrgName::parse("福建省总工会").unwrap(),
        received_on: day(2, 27),
        note: None,
        recorded_by: code(FINANCE),
        recorded_at: at(0),
    }
}

#[track_caller]
fn accepted(given: Vec<Ev>, body: C) -> Vec<Ev> {
    TestFramework::<FundAccount>::with(())
        .given(given)
        .when(cmd(FINANCE, Role::Finance, body))
        .inspect_result()
        .unwrap_or_else(|e| panic!("expected acceptance, got {e}"))
}

#[track_caller]
fn refused(given: Vec<Ev>, body: C, code: &str) -> FundAccountError {
    match TestFramework::<FundAccount>::with(())
        .given(given)
        .when(cmd(FINANCE, Role::Finance, body))
        .inspect_result()
    {
        Ok(events) => panic!("expected refusal {code}, got {events:?}"),
        Err(e) => {
            assert_eq!(e.code(), code, "{e}");
            e
        }
    }
}

fn fold(events: impl IntoIterator<Item = Ev>) -> FundAccount {
    let mut account = FundAccount::default();
    for e in events {
        account.apply(e);
    }
    account
}

// ---------------------------------------------------------------- Appropriate

#[test]
fn appropriate_on_a_new_account_is_accepted_and_fixes_the_fund() {
    let events = accepted(
        vec![],
        appropriate("BK-1", Fund::Festival, yuan(50_000), day(3, 1)),
    );
    assert_eq!(
        events,
        vec![Ev::Appropriated {
            appropriation_id: code("BK-1"),
            fund: Fund::Festival,
            amount_fen: yuan(50_000),
            source: OrgName::parse("福建省总工会").unwrap(),
            received_on: day(3, 1),
            note: None,
            recorded_by: code(FINANCE),
            recorded_at: at(0),
        }]
    );
    let account = fold(events);
    assert_eq!(account.fund(), Some(Fund::Festival));
    assert_eq!(account.net_fen(), yuan(50_000));
}

#[test]
fn a_second_appropriation_into_the_same_fund_is_accepted() {
    let given = vec![appropriated("BK-1", Fund::SpecialAssistance, yuan(10))];
    let events = accepted(
        given.clone(),
        appropriate("BK-2", Fund::SpecialAssistance, yuan(20), day(3, 1)),
    );
    let account = fold(given.into_iter().chain(events));
    assert_eq!(account.appropriated_fen(), yuan(30));
    assert_eq!(account.appropriations().count(), 2);
}

#[test]
fn appropriate_of_zero_is_refused() {
    refused(
        vec![],
        appropriate("BK-1", Fund::Festival, Fen::ZERO, day(3, 1)),
        "fund_account.amount_must_be_positive",
    );
}

#[test]
fn appropriate_dated_after_today_is_refused() {
    // The test context records commands on 2026-03-01.
    refused(
        vec![],
        appropriate("BK-1", Fund::Festival, yuan(1), day(3, 2)),
        "fund_account.received_in_future",
    );
}

#[test]
fn appropriate_with_a_used_id_is_refused_even_after_reversal() {
    let given = vec![appropriated("BK-1", Fund::Festival, yuan(10))];
    refused(
        given.clone(),
        appropriate("BK-1", Fund::Festival, yuan(1), day(3, 1)),
        "fund_account.duplicate_appropriation",
    );
    let mut reversed = given;
    reversed.extend(accepted(reversed.clone(), reverse("BK-1")));
    refused(
        reversed,
        appropriate("BK-1", Fund::Festival, yuan(1), day(3, 1)),
        "fund_account.duplicate_appropriation",
    );
}

#[test]
fn appropriate_into_another_fund_is_refused() {
    let e = refused(
        vec![appropriated("BK-1", Fund::Festival, yuan(10))],
        appropriate("BK-2", Fund::Donation, yuan(1), day(3, 1)),
        "fund_account.fund_mismatch",
    );
    assert_eq!(
        e,
        FundAccountError::FundMismatch {
            account: Fund::Festival,
            given: Fund::Donation
        }
    );
}

#[test]
fn appropriate_beyond_the_largest_amount_is_refused() {
    refused(
        vec![appropriated("BK-1", Fund::Festival, Fen::MAX)],
        appropriate("BK-2", Fund::Festival, yuan(1), day(3, 1)),
        "fund_account.amount_overflow",
    );
}

/// `apply` asserts rather than clamps: a total past i64 (which the handler
/// refuses, above) is a broken invariant, not a saturated balance.
#[test]
#[should_panic(expected = "invariant broken: handle refuses an appropriation that overflows")]
fn apply_asserts_instead_of_saturating() {
    fold([
        appropriated("BK-1", Fund::Festival, Fen::MAX),
        appropriated("BK-2", Fund::Festival, yuan(1)),
    ]);
}

#[test]
fn appropriate_beyond_the_most_appropriations_is_refused() {
    let given: Vec<Ev> = (0..MAX_APPROPRIATIONS)
        .map(|i| appropriated(&format!("BK-{i}"), Fund::Festival, Fen::new(1).unwrap()))
        .collect();
    refused(
        given,
        appropriate("BK-X", Fund::Festival, yuan(1), day(3, 1)),
        "fund_account.too_many_appropriations",
    );
}

// ---------------------------------------------------------------- ReverseAppropriation

#[test]
fn reverse_is_accepted_and_takes_the_amount_back() {
    let given = vec![
        appropriated("BK-1", Fund::Festival, yuan(10)),
        appropriated("BK-2", Fund::Festival, yuan(25)),
    ];
    let events = accepted(given.clone(), reverse("BK-2"));
    assert_eq!(
        events,
        vec![Ev::AppropriationReversed {
            appropriation_id: code("BK-2"),
            fund: Fund::Festival,
            amount_fen: yuan(25),
            reason: ShortText::parse("重复登记").unwrap(),
            reversed_by: code(FINANCE),
            reversed_at: at(0),
        }]
    );
    let account = fold(given.into_iter().chain(events));
    assert_eq!(account.net_fen(), yuan(10));
    assert_eq!(account.reversed_fen(), yuan(25));
    assert!(account.appropriation(&code("BK-2")).unwrap().reversed);
}

#[test]
fn reverse_of_an_unknown_appropriation_is_refused() {
    refused(
        vec![],
        reverse("BK-1"),
        "fund_account.unknown_appropriation",
    );
    refused(
        vec![appropriated("BK-1", Fund::Festival, yuan(10))],
        reverse("BK-2"),
        "fund_account.unknown_appropriation",
    );
}

#[test]
fn reverse_twice_is_refused() {
    let mut given = vec![appropriated("BK-1", Fund::Festival, yuan(10))];
    given.extend(accepted(given.clone(), reverse("BK-1")));
    refused(given, reverse("BK-1"), "fund_account.already_reversed");
}

// ---------------------------------------------------------------- replay

proptest! {
    /// Folding the same events twice gives the same state, and the net is
    /// what was appropriated minus what was reversed.
    #[test]
    fn replay_is_deterministic(amounts in proptest::collection::vec((1i64..1_000_000, any::<bool>()), 0..20)) {
        let mut events = Vec::new();
        let mut expected = 0i64;
        for (i, (amount, reverse)) in amounts.iter().enumerate() {
            let id = format!("BK-{i}");
            events.push(appropriated(&id, Fund::SpecialAssistance, Fen::new(*amount).unwrap()));
            expected += amount;
            if *reverse {
                events.push(Ev::AppropriationReversed {
                    appropriation_id: code(&id),
                    fund: Fund::SpecialAssistance,
                    amount_fen: Fen::new(*amount).unwrap(),
                    reason: ShortText::parse("冲销").unwrap(),
                    reversed_by: code(FINANCE),
                    reversed_at: at(1),
                });
                expected -= amount;
            }
        }
        let a = fold(events.clone());
        let b = fold(events);
        prop_assert_eq!(&a, &b);
        prop_assert_eq!(a.net_fen().fen(), expected);
    }
}

// ---------------------------------------------------------------- golden, codes, labels

/// The golden files, compiled in: a missing file fails the build, and this
/// test reads no files at run time (the domain's source does no I/O, tests
/// included — see `tests/no_io.rs`). To change an event's shape on purpose,
/// write the new JSON into the file by hand and bump the event's version.
const GOLDEN: [(&str, &str); 2] = [
    (
        "Appropriated",
        include_str!("../../../tests/golden/fund_account/Appropriated.json"),
    ),
    (
        "AppropriationReversed",
        include_str!("../../../tests/golden/fund_account/AppropriationReversed.json"),
    ),
];

#[test]
fn events_match_their_golden_json() {
    let samples = sample_events();
    let types: BTreeSet<String> = samples.iter().map(|e| e.event_type()).collect();
    let expected: BTreeSet<String> = Ev::EVENT_TYPES.iter().map(|t| t.to_string()).collect();
    assert_eq!(types, expected, "sample_events must hold every event type");
    assert_eq!(GOLDEN.len(), Ev::EVENT_TYPES.len());
    for event in samples {
        let ty = event.event_type();
        let golden = GOLDEN
            .iter()
            .find(|(t, _)| *t == ty)
            .map(|(_, json)| *json)
            .unwrap_or_else(|| panic!("no golden file for {ty}"));
        let json = serde_json::to_string_pretty(&event).unwrap();
        assert_eq!(golden.trim_end(), json, "{ty} changed shape");
        let back: Ev = serde_json::from_str(golden).unwrap();
        assert_eq!(back, event);
        assert_eq!(back.event_version(), crate::EVENT_VERSION_1);
        assert!(back.reservations().is_empty());
    }
}

#[test]
fn the_sample_history_replays_through_the_handler() {
    let samples = sample_events();
    let first = accepted(
        vec![],
        C::Appropriate {
            appropriation_id: code("BK-2026-001"),
            fund: Fund::SpecialAssistance,
            amount_fen: yuan(300_000),
            source: OrgName::parse("福建省总工会").unwrap(),
            received_on: day(2, 27),
            note: Some(ShortText::parse("闽工〔2026〕12号 帮扶专项资金").unwrap()),
        },
    );
    assert_eq!(first, samples[..1]);
    let Ev::AppropriationReversed { reason, .. } = &samples[1] else {
        unreachable!("the second sample is a reversal")
    };
    let second = accepted(
        first,
        C::ReverseAppropriation {
            appropriation_id: code("BK-2026-001"),
            reason: reason.clone(),
        },
    );
    // The handler stamps the test context's time; the sample is an hour later.
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].event_type(), "AppropriationReversed");
}

fn all_errors() -> Vec<FundAccountError> {
    use FundAccountError::*;
    vec![
        AmountMustBePositive,
        ReceivedInFuture {
            received_on: day(3, 2),
        },
        DuplicateAppropriation {
            appropriation_id: code("BK-1"),
        },
        FundMismatch {
            account: Fund::Festival,
            given: Fund::Donation,
        },
        TooManyAppropriations,
        UnknownAppropriation {
            appropriation_id: code("BK-1"),
        },
        AlreadyReversed {
            appropriation_id: code("BK-1"),
        },
        AmountOverflow,
    ]
}

/// Exhaustive: a new variant fails to compile here until it gets an index.
fn error_index(e: &FundAccountError) -> usize {
    use FundAccountError::*;
    match e {
        AmountMustBePositive => 0,
        ReceivedInFuture { .. } => 1,
        DuplicateAppropriation { .. } => 2,
        FundMismatch { .. } => 3,
        TooManyAppropriations => 4,
        UnknownAppropriation { .. } => 5,
        AlreadyReversed { .. } => 6,
        AmountOverflow => 7,
    }
}

#[test]
fn error_codes_are_unique_stable_and_localized() {
    let errors = all_errors();
    let indices: BTreeSet<usize> = errors.iter().map(error_index).collect();
    assert_eq!(indices, (0..8).collect(), "all_errors misses a variant");
    let mut codes = BTreeMap::new();
    for e in &errors {
        let code = e.code();
        let rule = code
            .strip_prefix("fund_account.")
            .unwrap_or_else(|| panic!("{code} lacks the prefix"));
        assert!(
            !rule.is_empty() && rule.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
            "{code} is not snake_case"
        );
        assert!(
            codes.insert(code, error_index(e)).is_none(),
            "{code} reused"
        );
        let (zh, en) = (e.localize(Lang::Zh), e.localize(Lang::En));
        assert!(!zh.is_empty() && !en.is_empty());
        assert_ne!(zh, en, "{code} has no Chinese message");
        assert_eq!(en, e.to_string());
    }
}

#[test]
fn labels_and_descriptions_are_localized() {
    for e in sample_events() {
        assert_ne!(e.label(Lang::Zh), e.label(Lang::En));
        let (zh, en) = (e.describe(Lang::Zh), e.describe(Lang::En));
        assert!(
            zh.contains("300000.00") && en.contains("300000.00"),
            "{zh} / {en}"
        );
        assert_ne!(zh, en);
    }
}
