//! Pure tests of the views: the Putian-shaped plan period to the fen, each
//! view on hand-checked histories, decoding, undeclared rows, overdrawn funds,
//! and the property that how a log is cut into batches never changes a view.

use chrono::{TimeZone, Utc};
use domain::donation::{AllocationTarget, DonationCampaignEvent};
use domain::fund::account::FundAccountEvent;
use domain::fund::Fund;
use domain::mutual_aid::claim::ClaimStatus;
use domain::values::{Code, Fen, OrgName, ShortText};
use proptest::prelude::*;

use crate::event::{aggregate_types, decode, CaseEvent, DecodeError, Recorded};
use crate::rows::{ProjectionError, RowKey, RowKind, RowSet};
use crate::testing::{self, putian_period_7, recorded, Stream};
use crate::views::funds::{all_funds, balance_key, FundBalanceRow};
use crate::views::household::{key as file_key, FileState, GrantState, HouseholdFileRow};
use crate::views::ledger::{LedgerTotals, PayoutRow, PayoutState};
use crate::views::ViewName;
use crate::{LogPosition, MemoryViews};

fn fen(n: i64) -> Fen {
    Fen::new(n).unwrap()
}

fn yuan(n: i64) -> Fen {
    Fen::from_yuan(n).unwrap()
}

fn code(s: &str) -> Code {
    Code::parse(s).unwrap()
}

fn stream(aggregate_type: &'static str, id: &str, events: Vec<CaseEvent>) -> Stream {
    Stream {
        aggregate_type,
        aggregate_id: id.to_string(),
        events,
    }
}

fn build(streams: &[Stream]) -> MemoryViews {
    let mut views = MemoryViews::new();
    views.apply(&recorded(streams)).unwrap();
    views
}

// ---------------------------------------------------------------- Putian period 7

#[test]
fn a_period_shaped_like_putian_period_7_shows_its_figures_to_the_fen() {
    let streams = putian_period_7("putian-07");
    let log = recorded(&streams);
    // Applied in pages of 500 events, as a projector would.
    let mut views = MemoryViews::new();
    for page in log.chunks(500) {
        views.apply(page).unwrap();
    }
    let report = views.plan_period("putian-07").unwrap();

    assert_eq!(report.period.policy.version.as_str(), "putian-07-proj");
    assert_eq!(report.period.units, 125);
    assert_eq!(report.period.members, 13_805);
    assert_eq!(report.period.contributions_fen, fen(59_643_600)); // 596,436.00 yuan
    assert_eq!(report.units.len(), 125);
    assert_eq!(report.units_members(), 13_805);
    assert_eq!(report.units_contribution_fen(), fen(59_643_600));

    assert_eq!(report.claims, 203 + 9 + 4);
    assert_eq!(report.claims_with_subsidy, 203);
    assert_eq!(report.claims_in(ClaimStatus::Paid), 203);
    assert_eq!(report.claims_in(ClaimStatus::Rejected), 9);
    assert_eq!(report.claims_in(ClaimStatus::Submitted), 4);
    assert_eq!(report.claims_in(ClaimStatus::Approved), 0);
    // 58,917.86 yuan, assessed by the policy, approved and paid.
    assert_eq!(report.subsidies_assessed_fen, fen(5_891_786));
    assert_eq!(report.subsidies_approved_fen, fen(5_891_786));
    assert_eq!(report.subsidies_paid_fen, fen(5_891_786));
    assert_eq!(report.period_net_fen, fen(59_643_600 - 5_891_786));
    assert_eq!(report.period_shortfall_fen, Fen::ZERO);
    assert_eq!(report.subsidies_paid_fen.to_yuan_grouped(), "58,917.86");
    assert_eq!(
        report.period.contributions_fen.to_yuan_grouped(),
        "596,436.00"
    );

    // Per unit: the first unit has 111 members and 4,440 + 353.88 yuan; the
    // last is sponsored and got the extra yuan.
    let first = &report.units[0];
    assert_eq!(first.unit.unit_id, "PT7-U001");
    assert_eq!(first.unit.members, 111);
    assert_eq!(first.unit.contribution_fen, fen(111 * 4_000 + 35_388));
    let last = &report.units[124];
    assert_eq!(last.unit.members, 110);
    assert_eq!(last.unit.contribution_fen, fen(110 * 4_000 + 35_488));
    assert!(last.unit.sponsor.is_some());
    let per_unit_paid = report.units.iter().fold(Fen::ZERO, |s, u| {
        s.checked_add(u.subsidies_paid_fen).unwrap()
    });
    assert_eq!(per_unit_paid, fen(5_891_786));
    let per_unit_claims: u64 = report.units.iter().map(|u| u.claims).sum();
    assert_eq!(per_unit_claims, 216);

    // The mutual-aid fund and the ledger agree.
    let fund = views
        .get::<FundBalanceRow>(&balance_key(Fund::MutualAid))
        .unwrap();
    assert_eq!(fund.contributions_fen, fen(59_643_600));
    assert_eq!(fund.claims_paid_fen, fen(5_891_786));
    assert_eq!(fund.balance_fen, fen(53_751_814));
    assert!(!fund.overdrawn);
    let mut totals = LedgerTotals::default();
    for p in views.all::<PayoutRow>() {
        totals.add(p);
    }
    let mutual = &totals.by_fund["mutual_aid"];
    assert_eq!(mutual.paid_fen, fen(5_891_786));
    assert_eq!(mutual.payouts, 216);
    assert_eq!(mutual.requested_fen, Fen::ZERO);
    assert_eq!(mutual.declined_fen, Fen::ZERO);
    assert_eq!(testing::PAID_FEN, 5_891_786);
}

// ---------------------------------------------------------------- household file

#[test]
fn the_sample_hardship_file_reads_as_worked_out_by_hand() {
    let events = domain::hardship::sample_events()
        .into_iter()
        .map(CaseEvent::HardshipFile)
        .collect();
    let views = build(&[stream(aggregate_types::HARDSHIP_FILE, "HF-1", events)]);
    let file = views.get::<HouseholdFileRow>(&file_key("HF-1")).unwrap();
    assert_eq!(file.status, FileState::Closed);
    assert_eq!(file.reopenings.len(), 1);
    assert!(file.head.resident_id_masked.contains("**********"));
    assert!(!file.head.phone_masked.is_empty());
    let plan = file.plan.as_ref().unwrap();
    assert_eq!(plan.revision, 2);
    assert_eq!(plan.revisions.len(), 2);
    assert!(plan.revisions[1].reason.is_some());
    let m = |id: &str| file.measures().iter().find(|m| m.measure_id == id).unwrap();
    // M-01: 6,000 requested, approved and paid; planned raised to 15,000.
    assert_eq!(m("M-01").planned_fen, yuan(15_000));
    assert_eq!(m("M-01").requested_fen, yuan(6_000));
    assert_eq!(m("M-01").approved_fen, yuan(6_000));
    assert_eq!(m("M-01").paid_fen, yuan(6_000));
    assert_eq!(m("M-01").remaining_fen(), yuan(9_000));
    // M-02: 3,000 asked and declined, so nothing requested.
    assert_eq!(m("M-02").requested_fen, Fen::ZERO);
    assert_eq!(m("M-02").declined_fen, yuan(3_000));
    // M-03: 800 paid in cash at a visit, completed.
    assert_eq!(m("M-03").paid_fen, yuan(800));
    assert!(m("M-03").completed);
    assert_eq!(file.paid_total_fen(), yuan(6_800));
    let states: Vec<GrantState> = file.grants.iter().map(|g| g.state).collect();
    assert_eq!(
        states,
        [GrantState::Paid, GrantState::Declined, GrantState::Paid]
    );
    let cash = &file.grants[2];
    assert!(cash.cash);
    assert_eq!(cash.paid_reference.as_deref(), Some("V-2027-001"));
    assert_eq!(file.reviews, 1);
    assert_eq!(
        file.next_review_on().map(|d| d.to_string()).as_deref(),
        Some("2027-07-25")
    );

    // The ledger lists the three grants with the head as beneficiary, masked.
    let payouts = views.all::<PayoutRow>();
    assert_eq!(payouts.len(), 3);
    for p in &payouts {
        assert_eq!(p.beneficiary.name.as_deref(), Some(file.head.name.as_str()));
        assert_eq!(
            p.beneficiary.resident_id_masked.as_deref(),
            Some(file.head.resident_id_masked.as_str())
        );
    }
    let mut totals = LedgerTotals::default();
    payouts.iter().for_each(|p| totals.add(p));
    assert_eq!(totals.by_fund["special_assistance"].paid_fen, yuan(6_000));
    assert_eq!(totals.by_fund["donation"].declined_fen, yuan(3_000));
    assert_eq!(totals.by_fund["festival"].paid_fen, yuan(800));
    assert_eq!(totals.by_month["2027-01"].paid_fen, yuan(800));
    assert_eq!(totals.all.payouts, 3);
}

// ---------------------------------------------------------------- funds

fn appropriated(fund: Fund, amount: Fen, id: &str) -> CaseEvent {
    CaseEvent::FundAccount(FundAccountEvent::Appropriated {
        appropriation_id: code(id),
        fund,
        amount_fen: amount,
        source: OrgName::parse("福建省总工会").unwrap(),
        received_on: chrono::NaiveDate::from_ymd_opt(2026, 1, 5).unwrap(),
        note: None,
        recorded_by: code("wu.haiyan"),
        recorded_at: Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0).unwrap(),
    })
}

/// A fund total past i64 is a broken invariant (amounts are bounded at
/// input, so accepted events cannot get here): the view stops with the
/// invariant's message instead of showing a saturated balance.
#[test]
#[should_panic(expected = "view totals stay inside i64")]
fn a_fund_total_that_would_overflow_stops_the_view_instead_of_saturating() {
    build(&[
        stream(
            aggregate_types::FUND_ACCOUNT,
            "fe-1",
            vec![appropriated(Fund::Festival, Fen::MAX, "BK-1")],
        ),
        stream(
            aggregate_types::FUND_ACCOUNT,
            "fe-2",
            vec![appropriated(Fund::Festival, yuan(1), "BK-2")],
        ),
    ]);
}

#[test]
fn a_fund_paying_more_than_it_received_is_flagged_not_negative() {
    // The sample file pays 6,000 from special assistance and 800 from the
    // festival fund; only 5,000 and 800 were appropriated.
    let file_events: Vec<CaseEvent> = domain::hardship::sample_events()
        .into_iter()
        .map(CaseEvent::HardshipFile)
        .collect();
    let views = build(&[
        stream(
            aggregate_types::FUND_ACCOUNT,
            "sa-2026",
            vec![appropriated(Fund::SpecialAssistance, yuan(5_000), "BK-1")],
        ),
        stream(
            aggregate_types::FUND_ACCOUNT,
            "fe-2026",
            vec![appropriated(Fund::Festival, yuan(800), "BK-2")],
        ),
        stream(aggregate_types::HARDSHIP_FILE, "HF-1", file_events),
    ]);
    let funds = all_funds(views.all::<FundBalanceRow>().into_iter().cloned());
    let sa = &funds[0];
    assert_eq!(sa.fund, Fund::SpecialAssistance);
    assert_eq!(sa.inflow_fen, yuan(5_000));
    assert_eq!(sa.outflow_fen, yuan(6_000));
    assert_eq!(sa.balance_fen, Fen::ZERO);
    assert_eq!(sa.overdrawn_fen, yuan(1_000));
    assert!(sa.overdrawn);
    let festival = &funds[3];
    assert_eq!(festival.balance_fen, Fen::ZERO);
    assert!(!festival.overdrawn);
    // Funds without events are shown, empty.
    assert_eq!(funds[1].fund, Fund::MutualAid);
    assert_eq!(funds[1].balance_fen, Fen::ZERO);
}

#[test]
fn allocations_move_money_between_funds_once() {
    let file_events: Vec<CaseEvent> = domain::hardship::sample_events()
        .into_iter()
        .take(7) // opened … plan adopted: M-01 special assistance, M-02 donation
        .map(CaseEvent::HardshipFile)
        .collect();
    let approved = |id: &str, target: AllocationTarget, amount: Fen| {
        CaseEvent::DonationCampaign(DonationCampaignEvent::AllocationApproved {
            allocation_id: code(id),
            amount_fen: amount,
            target,
            approved_by: code("huang.min"),
            approved_at: Utc.with_ymd_and_hms(2026, 6, 1, 9, 0, 0).unwrap(),
        })
    };
    let measure = |m: &str| AllocationTarget::HardshipMeasure {
        file_id: code("HF-1"),
        measure_id: code(m),
    };
    let views = build(&[
        stream(aggregate_types::HARDSHIP_FILE, "HF-1", file_events),
        stream(
            aggregate_types::DONATION_CAMPAIGN,
            "yrj-2026",
            vec![
                approved("A1", measure("M-01"), yuan(100)),
                approved("A2", measure("M-02"), yuan(20)),
                approved(
                    "A3",
                    AllocationTarget::Claim {
                        claim_id: code("C-1"),
                    },
                    yuan(7),
                ),
                approved("A4", AllocationTarget::DesignatedBeneficiary, yuan(3)),
            ],
        ),
    ]);
    let funds = all_funds(views.all::<FundBalanceRow>().into_iter().cloned());
    let (sa, mutual, donation) = (&funds[0], &funds[1], &funds[2]);
    assert_eq!(sa.transfers_in_fen, yuan(100));
    assert_eq!(mutual.transfers_in_fen, yuan(7));
    // A2 stays inside the donation fund; A4 is owed to the beneficiary
    // (committed until the bank pays it).
    assert_eq!(donation.transfers_out_fen, yuan(107));
    assert_eq!(donation.designated_approved_fen, yuan(3));
    assert_eq!(donation.designated_paid_fen, Fen::ZERO);
    assert_eq!(donation.committed_fen, yuan(3));
    assert_eq!(donation.outflow_fen, yuan(107));
    assert!(donation.overdrawn, "no donations were recorded");
}

// ---------------------------------------------------------------- decoding and rows

#[test]
fn decode_refuses_what_it_cannot_read() {
    let event = CaseEvent::FundAccount(FundAccountEvent::AppropriationReversed {
        appropriation_id: code("BK-1"),
        fund: Fund::Festival,
        amount_fen: yuan(1),
        reason: ShortText::parse("重复").unwrap(),
        reversed_by: code("wu.haiyan"),
        reversed_at: Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0).unwrap(),
    });
    let payload = event.to_payload().to_string();
    let ty = event.type_name();
    assert_eq!(ty, "AppropriationReversed");
    assert_eq!(
        decode(aggregate_types::FUND_ACCOUNT, &ty, "1.0", &payload),
        Ok(event)
    );
    assert_eq!(
        decode("grant_ledger", &ty, "1.0", &payload),
        Err(DecodeError::UnknownAggregateType("grant_ledger".into()))
    );
    assert!(matches!(
        decode(aggregate_types::FUND_ACCOUNT, &ty, "2.0", &payload),
        Err(DecodeError::UnsupportedVersion { .. })
    ));
    assert!(matches!(
        decode(
            aggregate_types::FUND_ACCOUNT,
            "Appropriated",
            "1.0",
            &payload
        ),
        Err(DecodeError::TypeMismatch { .. })
    ));
    assert!(matches!(
        decode(aggregate_types::HARDSHIP_FILE, &ty, "1.0", &payload),
        Err(DecodeError::Payload { .. })
    ));
}

#[test]
fn decode_upcasts_an_approval_stored_at_version_1_0() {
    // The golden files of both versions: 1.0 has no `fund`, 2.0 does.
    let v1 = include_str!("../../domain/tests/golden/mutual_aid_claim/ClaimApproved@1.0.json");
    let v2 = include_str!("../../domain/tests/golden/mutual_aid_claim/ClaimApproved.json");
    let claim = aggregate_types::MUTUAL_AID_CLAIM;
    let current = decode(claim, "ClaimApproved", "2.0", v2).unwrap();
    let CaseEvent::MutualAidClaim(domain::mutual_aid::MutualAidClaimEvent::ClaimApproved {
        fund,
        ..
    }) = &current
    else {
        panic!("not an approval: {current:?}")
    };
    assert_eq!(*fund, Fund::MutualAid);
    assert_eq!(decode(claim, "ClaimApproved", "1.0", v1), Ok(current));
    // Without the upcaster the 1.0 text is not a 2.0 event.
    assert!(matches!(
        decode(claim, "ClaimApproved", "2.0", v1),
        Err(DecodeError::Payload { .. })
    ));
    // A newer version than this build knows stops, and says which.
    let newer = decode(claim, "ClaimApproved", "3.0", v2).unwrap_err();
    assert!(matches!(newer, DecodeError::UnsupportedVersion { .. }));
    let message = newer.to_string();
    assert!(
        message.contains("version 3.0") && message.contains("reads version 2.0"),
        "{message}"
    );
    // The old path still checks the tag against the stored type.
    assert!(matches!(
        decode(claim, "ClaimApproved", "1.0", "\"ClaimApproved\""),
        Err(DecodeError::Payload { .. })
    ));
    assert_eq!(
        decode("grant_ledger", "ClaimApproved", "1.0", v1),
        Err(DecodeError::UnknownAggregateType("grant_ledger".into()))
    );
}

#[test]
fn decode_reads_the_payload_text_however_it_is_spaced() {
    // SQLite keeps the text as written; PostgreSQL's jsonb prints spaces.
    let event = appropriated(Fund::Festival, yuan(12), "BK-7");
    let compact = event.to_payload().to_string();
    let spaced = serde_json::to_string_pretty(&event.to_payload()).unwrap();
    assert_ne!(compact, spaced);
    for text in [&compact, &spaced] {
        assert_eq!(
            decode(aggregate_types::FUND_ACCOUNT, "Appropriated", "1.0", text),
            Ok(event.clone())
        );
    }
    assert!(matches!(
        decode(
            aggregate_types::FUND_ACCOUNT,
            "Appropriated",
            "1.0",
            "{not json"
        ),
        Err(DecodeError::Payload { .. })
    ));
}

#[test]
fn touching_an_undeclared_row_is_an_error_not_a_fresh_row() {
    let ev = Recorded {
        position: LogPosition::at(1),
        aggregate_id: "fe-2026".into(),
        sequence: 1,
        event: appropriated(Fund::Festival, yuan(1), "BK-1"),
        actor: None,
        recorded_at: None,
    };
    let mut rows = RowSet::new();
    assert_eq!(
        ViewName::FundBalances.apply(&ev, &mut rows),
        Err(ProjectionError::Undeclared(
            balance_key(Fund::Festival).to_string()
        ))
    );
    let mut keys = Vec::new();
    ViewName::FundBalances.keys(&ev, &mut keys);
    for k in keys {
        rows.declare(k);
    }
    ViewName::FundBalances.apply(&ev, &mut rows).unwrap();
    let changed: Vec<&RowKey> = rows.changed().map(|(k, _, _)| k).collect();
    assert_eq!(changed, [&RowKey::new(RowKind::FundBalance, "festival")]);
    assert_eq!(
        rows.changed().next().map(|(_, _, p)| p),
        Some(LogPosition::at(1))
    );
}

#[test]
fn every_kind_round_trips_through_its_stored_form() {
    let mut streams = putian_period_7("p7");
    streams.truncate(3);
    streams.push(stream(
        aggregate_types::HARDSHIP_FILE,
        "HF-1",
        domain::hardship::sample_events()
            .into_iter()
            .map(CaseEvent::HardshipFile)
            .collect(),
    ));
    streams.push(stream(
        aggregate_types::DONATION_CAMPAIGN,
        "yrj",
        domain::donation::sample_events()
            .into_iter()
            .map(CaseEvent::DonationCampaign)
            .collect(),
    ));
    streams.push(stream(
        aggregate_types::PAYOUT_BATCH,
        "PB-1",
        domain::finance::batch::sample_events()
            .into_iter()
            .map(CaseEvent::PayoutBatch)
            .collect(),
    ));
    let views = build(&streams);
    let stored = views.stored().unwrap();
    let kinds: std::collections::BTreeSet<RowKind> = stored.iter().map(|r| r.kind).collect();
    assert_eq!(kinds.len(), RowKind::ALL.len(), "every kind is exercised");
    for r in stored {
        let row = crate::rows::Row::from_doc(r.kind, &r.doc).unwrap();
        assert_eq!(row.to_doc().unwrap(), r.doc);
        assert_eq!(row.parent(), r.parent);
        assert_eq!(row.tag(), r.tag);
        assert_eq!(RowKind::parse(r.kind.as_str()), Some(r.kind));
        assert!(r.kind.view().kinds().contains(&r.kind));
    }
    for v in ViewName::ALL {
        assert_eq!(ViewName::parse(v.cli_name()), Some(v));
        assert_eq!(ViewName::parse(v.as_str()), Some(v));
    }
}

#[test]
fn a_claims_payout_row_follows_it_through_rejection_and_appeal() {
    let claim: Vec<CaseEvent> = domain::mutual_aid::claim::sample_events()
        .into_iter()
        .map(CaseEvent::MutualAidClaim)
        .collect();
    let log = recorded(&[stream(aggregate_types::MUTUAL_AID_CLAIM, "C-1", claim)]);
    let subsidy = match &log[5].event {
        CaseEvent::MutualAidClaim(domain::mutual_aid::MutualAidClaimEvent::ClaimAssessed {
            outcome,
            ..
        }) => outcome.subsidy_fen(),
        other => panic!("the sample's 6th event is the assessment, not {other:?}"),
    };
    assert!(!subsidy.is_zero());
    // submitted, reviewed, rejected, appealed, reviewed, assessed, approved, paid
    let expected = [
        (PayoutState::Requested, Fen::ZERO),
        (PayoutState::Requested, Fen::ZERO),
        (PayoutState::Declined, Fen::ZERO),
        (PayoutState::Requested, Fen::ZERO),
        (PayoutState::Requested, Fen::ZERO),
        (PayoutState::Requested, subsidy),
        (PayoutState::Approved, subsidy),
        (PayoutState::Paid, subsidy),
    ];
    assert_eq!(log.len(), expected.len());
    let mut views = MemoryViews::new();
    for (ev, (state, amount)) in log.iter().zip(expected) {
        views.apply(std::slice::from_ref(ev)).unwrap();
        let p = views.all::<PayoutRow>()[0].clone();
        assert_eq!(
            (p.state, p.amount_fen),
            (state, amount),
            "after {}",
            ev.event.type_name()
        );
        assert_eq!(p.payout_id, "claim:C-1");
        assert_eq!(p.fund, Fund::MutualAid);
    }
    let p = views.all::<PayoutRow>()[0].clone();
    assert!(p
        .beneficiary
        .resident_id_masked
        .unwrap()
        .contains("**********"));
    assert!(p.paid_on.is_some() && p.approved_by.is_some() && p.decline_reason.is_none());
}

// ---------------------------------------------------------------- batching property

fn mixed_history() -> Vec<Recorded> {
    let mut streams = putian_period_7("p7");
    streams.truncate(6); // the plan and five claims
    streams.push(stream(
        aggregate_types::HARDSHIP_FILE,
        "HF-1",
        domain::hardship::sample_events()
            .into_iter()
            .map(CaseEvent::HardshipFile)
            .collect(),
    ));
    streams.push(stream(
        aggregate_types::DONATION_CAMPAIGN,
        "yrj",
        domain::donation::sample_events()
            .into_iter()
            .map(CaseEvent::DonationCampaign)
            .collect(),
    ));
    streams.push(stream(
        aggregate_types::FUND_ACCOUNT,
        "sa",
        domain::fund::account::sample_events()
            .into_iter()
            .map(CaseEvent::FundAccount)
            .collect(),
    ));
    // Interleave the streams as concurrent commits would: round robin.
    let per_stream: Vec<Vec<Recorded>> = streams
        .iter()
        .map(|s| recorded(std::slice::from_ref(s)))
        .collect();
    let mut out = Vec::new();
    let longest = per_stream.iter().map(Vec::len).max().unwrap_or(0);
    for i in 0..longest {
        for s in &per_stream {
            if let Some(e) = s.get(i) {
                out.push(e.clone());
            }
        }
    }
    for (i, e) in out.iter_mut().enumerate() {
        e.position = LogPosition::at(i as u64 + 1);
    }
    out
}

/// The same log with positions shaped like PostgreSQL's: three events per
/// transaction, transaction ids rising, row positions rising within a
/// transaction but *falling* from one transaction to the next (positions are
/// taken in insertion order, transactions commit in another), so only the
/// whole `(commit, position)` pair follows the log.
fn pg_shaped(mut log: Vec<Recorded>) -> Vec<Recorded> {
    let transactions = (log.len() as u64).div_ceil(3);
    for (i, e) in log.iter_mut().enumerate() {
        let (tx, within) = (i as u64 / 3, i as u64 % 3);
        e.position = LogPosition {
            commit: 1_000 + tx,
            position: (transactions - tx) * 3 + within,
        };
    }
    assert!(log.windows(2).all(|w| w[0].position < w[1].position));
    log
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// However the log is cut into batches, the views come out the same as
    /// one rebuild from scratch — row for row, positions included.
    #[test]
    fn batches_never_change_the_views(
        cuts in proptest::collection::vec(1usize..40, 1..30),
        postgres_positions in proptest::bool::ANY,
    ) {
        let log = if postgres_positions { pg_shaped(mixed_history()) } else { mixed_history() };
        let mut whole = MemoryViews::new();
        whole.apply(&log).unwrap();
        let mut pieces = MemoryViews::new();
        let mut rest = log.as_slice();
        let mut cuts = cuts.into_iter().cycle();
        while !rest.is_empty() {
            let n = cuts.next().unwrap_or(1).min(rest.len());
            let (page, tail) = rest.split_at(n);
            pieces.apply(page).unwrap();
            rest = tail;
        }
        prop_assert_eq!(whole.stored().unwrap(), pieces.stored().unwrap());
        prop_assert_eq!(Some(whole.position()), log.last().map(|e| e.position));
    }
}
