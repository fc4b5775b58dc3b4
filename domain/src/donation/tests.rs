//! Tests of the one-day-donation campaign: every command accepted and every
//! refusal (given/when/then), the sample history replayed through the
//! handler, golden JSON of every event type, error codes and labels, and
//! property tests of the money invariant over random command sequences.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::NaiveDate;
use cqrs_es::event_sink::EventSink;
use cqrs_es::test::TestFramework;
use cqrs_es::{Aggregate, DomainEvent};
use proptest::prelude::*;

use super::*;
use crate::command::Role;
use crate::i18n::{ErrorCode, Localize};
use crate::reservation::Reserves;
use crate::services::ServiceError;
use crate::testing::{at, cmd};
use crate::values::ResidentId;

use DonationCampaignCommand as C;
use DonationCampaignEvent as Ev;

// ---------------------------------------------------------------- fixtures

/// Knows the sample's hardship measure and claim; or is down.
struct Targets {
    known: Vec<AllocationTarget>,
    down: bool,
}

#[async_trait::async_trait]
impl DonationCampaignServices for Targets {
    async fn allocation_target_exists(
        &self,
        target: &AllocationTarget,
    ) -> Result<bool, ServiceError> {
        if self.down {
            return Err(ServiceError("target index offline".into()));
        }
        Ok(self.known.contains(target))
    }
}

fn measure() -> AllocationTarget {
    AllocationTarget::HardshipMeasure {
        file_id: code("PT-2026-0137"),
        measure_id: code("M-2"),
    }
}

fn claim() -> AllocationTarget {
    AllocationTarget::Claim {
        claim_id: code("HZ7-2026-0058"),
    }
}

fn unknown_claim() -> AllocationTarget {
    AllocationTarget::Claim {
        claim_id: code("HZ7-2026-9999"),
    }
}

fn services() -> Arc<dyn DonationCampaignServices> {
    Arc::new(Targets {
        known: vec![measure(), claim()],
        down: false,
    })
}

fn services_down() -> Arc<dyn DonationCampaignServices> {
    Arc::new(Targets {
        known: vec![],
        down: true,
    })
}

fn framework() -> TestFramework<DonationCampaign> {
    TestFramework::with(services())
}

fn code(s: &str) -> Code {
    Code::parse(s).unwrap()
}

fn text(s: &str) -> ShortText {
    ShortText::parse(s).unwrap()
}

fn yuan(s: &str) -> Fen {
    Fen::from_yuan_str(s).unwrap()
}

fn day(m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, m, d).unwrap()
}

const LAUNCHER: &str = "lin.hong";
const CASEWORKER: &str = "chen.li";
const APPROVER: &str = "huang.min";

/// The first `n` events of [`sample_events`]:
/// 1 launched, 2–6 five donations (the fifth a duplicate entry), 7 its
/// reversal, 8–9 BF2026-001 proposed and approved, 10–11 BF2026-002 proposed
/// and rejected, 12 closed, 13 BF2026-003 proposed (pending).
fn history(n: usize) -> Vec<Ev> {
    sample_events().into_iter().take(n).collect()
}

/// Launched, no donations.
fn opened() -> Vec<Ev> {
    history(1)
}

/// Launched with five donations, 175,136.50 yuan, nothing allocated.
fn funded() -> Vec<Ev> {
    history(6)
}

fn fold(events: impl IntoIterator<Item = Ev>) -> DonationCampaign {
    let mut campaign = DonationCampaign::default();
    for e in events {
        campaign.apply(e);
    }
    campaign
}

fn designated_opened() -> Vec<Ev> {
    let C::Launch {
        name,
        year,
        co_issuers,
        units,
        starts_on,
        ends_on,
        purpose,
    } = sample_designated_launch()
    else {
        unreachable!("sample_designated_launch is a Launch")
    };
    vec![
        Ev::CampaignLaunched {
            name,
            year,
            co_issuers,
            units,
            starts_on,
            ends_on,
            purpose,
            launched_by: code(LAUNCHER),
            launched_at: at(0),
        },
        Ev::DonationRecorded {
            receipt_no: code("DX-0001"),
            unit_id: code("PT-SHZ"),
            donor: None,
            donor_count: 213,
            amount_fen: yuan("30000"),
            channel: Channel::Online,
            donated_on: day(4, 12),
            recorded_by: code(CASEWORKER),
            recorded_at: at(30),
        },
    ]
}

fn record(
    receipt: &str,
    unit: &str,
    donor: Option<&str>,
    donor_count: u32,
    amount: &str,
    donated_on: NaiveDate,
) -> C {
    C::RecordDonation {
        receipt_no: code(receipt),
        unit_id: code(unit),
        donor: donor.map(|d| PersonName::parse(d).unwrap()),
        donor_count,
        amount_fen: yuan(amount),
        channel: Channel::BankTransfer,
        donated_on,
    }
}

fn lump_sum(receipt: &str, amount: &str) -> C {
    record(receipt, "PT-XYXX", None, 10, amount, day(4, 1))
}

fn reverse(receipt: &str) -> C {
    C::ReverseDonation {
        receipt_no: code(receipt),
        reason: text("录入错误"),
    }
}

fn propose(id: &str, target: AllocationTarget, amount: &str) -> C {
    C::ProposeAllocation {
        allocation_id: code(id),
        target,
        amount_fen: yuan(amount),
        note: text("困难职工帮扶"),
    }
}

fn approve(id: &str) -> C {
    C::ApproveAllocation {
        allocation_id: code(id),
    }
}

fn reject(id: &str) -> C {
    C::RejectAllocation {
        allocation_id: code(id),
        reason: text("材料不全"),
    }
}

fn close() -> C {
    C::Close {
        note: text("活动结束"),
    }
}

/// `sample_launch()` with one field replaced.
macro_rules! launch_with {
    ($field:ident = $value:expr) => {{
        // Evaluated first: `$value` may name a variable called like the field.
        let value = $value;
        let mut body = sample_launch();
        if let C::Launch { ref mut $field, .. } = body {
            *$field = value;
        }
        body
    }};
}

/// Runs `body` as `user` on `given` and asserts it is refused with `code`,
/// producing no events. Returns the error for further checks.
#[track_caller]
fn assert_refused(given: Vec<Ev>, user: &str, body: C, code: &str) -> DonationCampaignError {
    assert_refused_with(services(), given, user, body, code)
}

#[track_caller]
fn assert_refused_with(
    services: Arc<dyn DonationCampaignServices>,
    given: Vec<Ev>,
    user: &str,
    body: C,
    code: &str,
) -> DonationCampaignError {
    let result = TestFramework::<DonationCampaign>::with(services)
        .given(given)
        .when(cmd(user, Role::Caseworker, body))
        .inspect_result();
    match result {
        Ok(events) => panic!("expected refusal {code}, got events {events:?}"),
        Err(err) => {
            assert_eq!(err.code(), code, "{err}");
            err
        }
    }
}

/// Runs `body` as `user` on `given`; returns the events.
#[track_caller]
fn accepted(given: Vec<Ev>, user: &str, body: C) -> Vec<Ev> {
    framework()
        .given(given)
        .when(cmd(user, Role::Caseworker, body))
        .inspect_result()
        .unwrap_or_else(|e| panic!("expected acceptance, got {e}"))
}

/// Runs one command directly on `campaign` (as the store would).
fn run(
    rt: &tokio::runtime::Runtime,
    campaign: &mut DonationCampaign,
    services: &Arc<dyn DonationCampaignServices>,
    command: Cmd<C>,
) -> Result<Vec<Ev>, DonationCampaignError> {
    let sink = EventSink::default();
    let result = rt.block_on(campaign.handle(command, services, &sink));
    let events = rt.block_on(sink.collect());
    result.map(|()| events)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

// ---------------------------------------------------------------- Launch

#[test]
fn launch_is_accepted() {
    framework()
        .given_no_previous_events()
        .when(cmd(LAUNCHER, Role::Admin, sample_launch()))
        .then_expect_events(opened());
}

#[test]
fn launch_of_a_designated_campaign_is_accepted() {
    let events = accepted(vec![], LAUNCHER, sample_designated_launch());
    assert_eq!(events, designated_opened()[..1].to_vec());
}

#[test]
fn launch_accepts_the_limits_exactly() {
    let units = (0..MAX_UNITS)
        .map(|i| ParticipatingUnit {
            unit_id: code(&format!("U{i:05}")),
            name: OrgName::parse(&format!("单位{i}")).unwrap(),
            headcount: 1,
        })
        .collect();
    accepted(vec![], LAUNCHER, launch_with!(units = units));
    let co = vec![OrgName::parse("莆田市总工会").unwrap(); MAX_CO_ISSUERS];
    accepted(vec![], LAUNCHER, launch_with!(co_issuers = co));
    accepted(vec![], LAUNCHER, launch_with!(ends_on = day(3, 1)));
    accepted(vec![], LAUNCHER, launch_with!(year = 2000));
    accepted(vec![], LAUNCHER, launch_with!(year = 2100));
}

#[test]
fn launch_twice_is_refused() {
    assert_refused(
        opened(),
        LAUNCHER,
        sample_launch(),
        "donation_campaign.already_launched",
    );
}

#[test]
fn launch_with_a_bad_year_is_refused() {
    for year in [0, 1999, 2101] {
        let err = assert_refused(
            vec![],
            LAUNCHER,
            launch_with!(year = year),
            "donation_campaign.bad_year",
        );
        assert_eq!(err, DonationCampaignError::BadYear { year });
    }
}

#[test]
fn launch_ending_before_it_starts_is_refused() {
    assert_refused(
        vec![],
        LAUNCHER,
        launch_with!(ends_on = day(2, 28)),
        "donation_campaign.bad_dates",
    );
}

#[test]
fn launch_without_units_is_refused() {
    assert_refused(
        vec![],
        LAUNCHER,
        launch_with!(units = vec![]),
        "donation_campaign.no_units",
    );
}

#[test]
fn launch_with_too_many_units_is_refused() {
    let units = (0..=MAX_UNITS)
        .map(|i| ParticipatingUnit {
            unit_id: code(&format!("U{i:05}")),
            name: OrgName::parse("单位").unwrap(),
            headcount: 1,
        })
        .collect();
    let err = assert_refused(
        vec![],
        LAUNCHER,
        launch_with!(units = units),
        "donation_campaign.too_many_units",
    );
    assert_eq!(
        err,
        DonationCampaignError::TooManyUnits {
            count: MAX_UNITS + 1
        }
    );
}

#[test]
fn launch_with_a_unit_twice_is_refused() {
    let C::Launch { mut units, .. } = sample_launch() else {
        unreachable!()
    };
    units.push(units[0].clone());
    let err = assert_refused(
        vec![],
        LAUNCHER,
        launch_with!(units = units),
        "donation_campaign.duplicate_unit",
    );
    assert_eq!(
        err,
        DonationCampaignError::DuplicateUnit {
            unit_id: code("PT-ZGH")
        }
    );
}

#[test]
fn launch_with_too_many_co_issuers_is_refused() {
    let co = vec![OrgName::parse("莆田市总工会").unwrap(); MAX_CO_ISSUERS + 1];
    assert_refused(
        vec![],
        LAUNCHER,
        launch_with!(co_issuers = co),
        "donation_campaign.too_many_co_issuers",
    );
}

#[test]
fn launch_with_a_unit_without_staff_is_refused() {
    let C::Launch { mut units, .. } = sample_launch() else {
        unreachable!()
    };
    units[2].headcount = 0;
    let err = assert_refused(
        vec![],
        LAUNCHER,
        launch_with!(units = units),
        "donation_campaign.bad_headcount",
    );
    assert_eq!(
        err,
        DonationCampaignError::BadHeadcount {
            unit_id: code("PT-JYJ")
        }
    );
}

// ---------------------------------------------------------------- RecordDonation

#[test]
fn a_unit_lump_sum_is_recorded() {
    framework()
        .given(opened())
        .when(cmd(
            CASEWORKER,
            Role::Caseworker,
            record("YRJ2026-0100", "PT-WJW", None, 170, "48120.00", day(3, 28)),
        ))
        .then_expect_events(vec![Ev::DonationRecorded {
            receipt_no: code("YRJ2026-0100"),
            unit_id: code("PT-WJW"),
            donor: None,
            donor_count: 170,
            amount_fen: yuan("48120.00"),
            channel: Channel::BankTransfer,
            donated_on: day(3, 28),
            recorded_by: code(CASEWORKER),
            recorded_at: at(0),
        }]);
}

#[test]
fn a_named_donation_is_recorded_on_the_first_and_last_day() {
    for on in [day(3, 1), day(5, 31)] {
        let events = accepted(
            opened(),
            CASEWORKER,
            record("YRJ2026-0101", "PT-JYJ", Some("郑丽华"), 1, "300", on),
        );
        assert!(matches!(
            &events[..],
            [Ev::DonationRecorded { donor: Some(_), donor_count: 1, donated_on, .. }] if *donated_on == on
        ));
    }
}

#[test]
fn a_donation_before_launch_is_refused() {
    assert_refused(
        vec![],
        CASEWORKER,
        lump_sum("R-1", "100"),
        "donation_campaign.not_launched",
    );
}

#[test]
fn a_donation_after_close_is_refused() {
    assert_refused(
        history(12),
        CASEWORKER,
        lump_sum("R-1", "100"),
        "donation_campaign.campaign_closed",
    );
}

#[test]
fn a_donation_from_an_outside_unit_is_refused() {
    let err = assert_refused(
        opened(),
        CASEWORKER,
        record("R-1", "PT-NOPE", None, 3, "100", day(3, 2)),
        "donation_campaign.unknown_unit",
    );
    assert_eq!(
        err,
        DonationCampaignError::UnknownUnit {
            unit_id: code("PT-NOPE")
        }
    );
}

#[test]
fn a_receipt_number_is_used_once_even_after_reversal() {
    assert_refused(
        funded(),
        CASEWORKER,
        lump_sum("YRJ2026-0001", "100"),
        "donation_campaign.duplicate_receipt",
    );
    // YRJ2026-0005 was reversed in history(7); its number stays taken.
    assert_refused(
        history(7),
        CASEWORKER,
        lump_sum("YRJ2026-0005", "500"),
        "donation_campaign.duplicate_receipt",
    );
}

#[test]
fn a_zero_donation_is_refused() {
    assert_refused(
        opened(),
        CASEWORKER,
        lump_sum("R-1", "0"),
        "donation_campaign.amount_must_be_positive",
    );
}

#[test]
fn a_donation_with_a_bad_donor_count_is_refused() {
    assert_refused(
        opened(),
        CASEWORKER,
        record("R-1", "PT-ZGH", None, 0, "100", day(3, 2)),
        "donation_campaign.bad_donor_count",
    );
    let err = assert_refused(
        opened(),
        CASEWORKER,
        record("R-1", "PT-ZGH", Some("郑丽华"), 2, "100", day(3, 2)),
        "donation_campaign.bad_donor_count",
    );
    assert_eq!(err, DonationCampaignError::BadDonorCount { donor_count: 2 });
}

#[test]
fn a_donation_outside_the_period_is_refused() {
    for on in [day(2, 28), day(6, 1)] {
        let err = assert_refused(
            opened(),
            CASEWORKER,
            record("R-1", "PT-ZGH", None, 3, "100", on),
            "donation_campaign.donation_outside_period",
        );
        assert_eq!(
            err,
            DonationCampaignError::DonationOutsidePeriod {
                donated_on: on,
                starts_on: day(3, 1),
                ends_on: day(5, 31)
            }
        );
    }
}

#[test]
fn a_donation_overflowing_the_total_is_refused() {
    let mut given = opened();
    given.extend(accepted(
        opened(),
        CASEWORKER,
        C::RecordDonation {
            receipt_no: code("R-BIG"),
            unit_id: code("PT-ZGH"),
            donor: None,
            donor_count: 1,
            amount_fen: Fen::MAX,
            channel: Channel::BankTransfer,
            donated_on: day(3, 2),
        },
    ));
    assert_refused(
        given,
        CASEWORKER,
        record("R-2", "PT-ZZB", None, 1, "0.01", day(3, 2)),
        "donation_campaign.amount_overflow",
    );
}

#[test]
fn receipts_beyond_the_limit_are_refused() {
    let mut campaign = fold(opened());
    let entry = DonationEntry {
        unit_id: code("PT-ZGH"),
        amount_fen: Fen::new(1).unwrap(),
        donor_count: 1,
        reversed: false,
    };
    campaign.donations = (0..MAX_DONATIONS)
        .map(|i| (code(&format!("R{i:07}")), entry.clone()))
        .collect();
    let rt = runtime();
    let before = campaign.clone();
    let err = run(
        &rt,
        &mut campaign,
        &services(),
        cmd(CASEWORKER, Role::Caseworker, lump_sum("R-NEXT", "1")),
    )
    .unwrap_err();
    assert_eq!(err.code(), "donation_campaign.too_many_donations");
    assert_eq!(campaign, before);
}

// ---------------------------------------------------------------- ReverseDonation

#[test]
fn a_mistaken_donation_is_reversed() {
    framework()
        .given(funded())
        .when(cmd(CASEWORKER, Role::Caseworker, reverse("YRJ2026-0003")))
        .then_expect_events(vec![Ev::DonationReversed {
            receipt_no: code("YRJ2026-0003"),
            unit_id: code("PT-GDJ"),
            amount_fen: yuan("143040.00"),
            donor_count: 596,
            reason: text("录入错误"),
            reversed_by: code(CASEWORKER),
            reversed_at: at(0),
        }]);
}

#[test]
fn a_reversal_after_close_is_accepted() {
    // history(12): closed, 174,636.50 net, 6,000 approved: plenty unallocated.
    let events = accepted(history(12), CASEWORKER, reverse("YRJ2026-0002"));
    assert_eq!(events.len(), 1);
}

#[test]
fn a_reversal_of_exactly_the_unallocated_amount_is_accepted() {
    // Allocate all but YRJ2026-0001 (13,860.00) of the 175,136.50.
    let mut given = funded();
    given.extend(accepted(
        funded(),
        CASEWORKER,
        propose("A-1", measure(), "161276.50"),
    ));
    let campaign = fold(given.clone());
    assert_eq!(campaign.available_fen(), yuan("13860.00"));
    accepted(given.clone(), CASEWORKER, reverse("YRJ2026-0001"));
    // one fen more would not be: YRJ2026-0002 is 17,236.50
    let err = assert_refused(
        given,
        CASEWORKER,
        reverse("YRJ2026-0002"),
        "donation_campaign.reversal_exceeds_unallocated",
    );
    assert_eq!(
        err,
        DonationCampaignError::ReversalExceedsUnallocated {
            amount_fen: yuan("17236.50"),
            unallocated_fen: yuan("13860.00")
        }
    );
}

#[test]
fn a_reversal_is_refused_while_approved_money_depends_on_it_and_allowed_after_a_rejection() {
    // Approved 6,000 and pending 160,000 leave 9,136.50 unallocated.
    fn step(given: &mut Vec<Ev>, user: &str, body: C) {
        let events = accepted(given.clone(), user, body);
        given.extend(events);
    }
    let mut given = funded();
    step(&mut given, CASEWORKER, propose("A-1", measure(), "6000"));
    step(&mut given, APPROVER, approve("A-1"));
    step(&mut given, CASEWORKER, propose("A-2", claim(), "160000"));
    assert_refused(
        given.clone(),
        CASEWORKER,
        reverse("YRJ2026-0001"),
        "donation_campaign.reversal_exceeds_unallocated",
    );
    step(&mut given, APPROVER, reject("A-2"));
    accepted(given, CASEWORKER, reverse("YRJ2026-0001"));
}

#[test]
fn a_reversal_before_launch_is_refused() {
    assert_refused(
        vec![],
        CASEWORKER,
        reverse("YRJ2026-0001"),
        "donation_campaign.not_launched",
    );
}

#[test]
fn a_reversal_of_an_unknown_receipt_is_refused() {
    assert_refused(
        funded(),
        CASEWORKER,
        reverse("YRJ2026-9999"),
        "donation_campaign.unknown_receipt",
    );
}

#[test]
fn a_second_reversal_is_refused() {
    assert_refused(
        history(7),
        CASEWORKER,
        reverse("YRJ2026-0005"),
        "donation_campaign.already_reversed",
    );
}

// ---------------------------------------------------------------- Close

#[test]
fn close_fixes_the_totals() {
    framework()
        .given(history(7))
        .when(cmd(LAUNCHER, Role::Admin, close()))
        .then_expect_events(vec![Ev::CampaignClosed {
            received_fen: yuan("175136.50"),
            reversed_fen: yuan("500"),
            donor_count: 700,
            note: text("活动结束"),
            closed_by: code(LAUNCHER),
            closed_at: at(0),
        }]);
}

#[test]
fn close_before_launch_is_refused() {
    assert_refused(vec![], LAUNCHER, close(), "donation_campaign.not_launched");
}

#[test]
fn close_twice_is_refused() {
    assert_refused(
        history(12),
        LAUNCHER,
        close(),
        "donation_campaign.already_closed",
    );
}

// ---------------------------------------------------------------- ProposeAllocation

#[test]
fn an_allocation_to_a_hardship_measure_is_proposed() {
    framework()
        .given(funded())
        .when(cmd(
            CASEWORKER,
            Role::Caseworker,
            propose("A-1", measure(), "6000"),
        ))
        .then_expect_events(vec![Ev::AllocationProposed {
            allocation_id: code("A-1"),
            target: measure(),
            amount_fen: yuan("6000"),
            note: text("困难职工帮扶"),
            fund: Fund::Donation,
            proposed_by: code(CASEWORKER),
            proposed_at: at(0),
        }]);
}

#[test]
fn an_allocation_of_everything_available_to_a_claim_is_proposed_after_close() {
    // history(12): closed; 174,636.50 net, 6,000 approved.
    let events = accepted(
        history(12),
        CASEWORKER,
        propose("A-9", claim(), "168636.50"),
    );
    let mut given = history(12);
    given.extend(events);
    assert_eq!(fold(given).available_fen(), Fen::ZERO);
}

#[test]
fn a_designated_campaign_allocates_to_its_beneficiary_without_a_lookup() {
    // The lookup service is down: the designated beneficiary needs none.
    let result = TestFramework::<DonationCampaign>::with(services_down())
        .given(designated_opened())
        .when(cmd(
            CASEWORKER,
            Role::Caseworker,
            propose("DX-A1", AllocationTarget::DesignatedBeneficiary, "30000"),
        ))
        .inspect_result();
    assert!(matches!(
        result.as_deref(),
        Ok([Ev::AllocationProposed {
            target: AllocationTarget::DesignatedBeneficiary,
            ..
        }])
    ));
}

#[test]
fn an_allocation_before_launch_is_refused() {
    assert_refused(
        vec![],
        CASEWORKER,
        propose("A-1", measure(), "1"),
        "donation_campaign.not_launched",
    );
}

#[test]
fn an_allocation_id_is_used_once() {
    // BF2026-002 was rejected in history(11); its id stays taken.
    assert_refused(
        history(11),
        CASEWORKER,
        propose("BF2026-002", claim(), "1"),
        "donation_campaign.duplicate_allocation",
    );
}

#[test]
fn a_zero_allocation_is_refused() {
    assert_refused(
        funded(),
        CASEWORKER,
        propose("A-1", measure(), "0"),
        "donation_campaign.amount_must_be_positive",
    );
}

#[test]
fn targets_must_match_the_campaign_purpose() {
    let err = assert_refused(
        funded(),
        CASEWORKER,
        propose("A-1", AllocationTarget::DesignatedBeneficiary, "100"),
        "donation_campaign.target_not_allowed",
    );
    assert_eq!(
        err,
        DonationCampaignError::TargetNotAllowed {
            designated_campaign: false
        }
    );
    let err = assert_refused(
        designated_opened(),
        CASEWORKER,
        propose("A-1", claim(), "100"),
        "donation_campaign.target_not_allowed",
    );
    assert_eq!(
        err,
        DonationCampaignError::TargetNotAllowed {
            designated_campaign: true
        }
    );
}

#[test]
fn an_allocation_above_what_is_available_is_refused() {
    // Nothing received yet.
    assert_refused(
        opened(),
        CASEWORKER,
        propose("A-1", measure(), "0.01"),
        "donation_campaign.exceeds_available",
    );
    // history(13): net 174,636.50, approved 6,000, pending 12,000.
    let err = assert_refused(
        history(13),
        CASEWORKER,
        propose("A-1", measure(), "156636.51"),
        "donation_campaign.exceeds_available",
    );
    assert_eq!(
        err,
        DonationCampaignError::ExceedsAvailable {
            requested_fen: yuan("156636.51"),
            available_fen: yuan("156636.50")
        }
    );
    accepted(
        history(13),
        CASEWORKER,
        propose("A-1", measure(), "156636.50"),
    );
}

#[test]
fn a_rejected_allocation_frees_its_amount() {
    let mut given = funded();
    given.extend(accepted(
        funded(),
        CASEWORKER,
        propose("A-1", claim(), "175136.50"),
    ));
    assert_refused(
        given.clone(),
        CASEWORKER,
        propose("A-2", measure(), "0.01"),
        "donation_campaign.exceeds_available",
    );
    given.extend(accepted(given.clone(), APPROVER, reject("A-1")));
    accepted(given, CASEWORKER, propose("A-2", measure(), "175136.50"));
}

#[test]
fn an_allocation_to_an_unknown_target_is_refused() {
    assert_refused(
        funded(),
        CASEWORKER,
        propose("A-1", unknown_claim(), "100"),
        "donation_campaign.unknown_target",
    );
}

#[test]
fn an_allocation_is_refused_when_the_lookup_is_down() {
    let err = assert_refused_with(
        services_down(),
        funded(),
        CASEWORKER,
        propose("A-1", measure(), "100"),
        "donation_campaign.service_unavailable",
    );
    assert_eq!(
        err,
        DonationCampaignError::ServiceUnavailable("target index offline".into())
    );
}

#[test]
fn allocations_beyond_the_limit_are_refused() {
    let mut events = funded();
    events.extend((0..MAX_ALLOCATIONS).map(|i| Ev::AllocationProposed {
        allocation_id: code(&format!("A{i:06}")),
        target: measure(),
        amount_fen: Fen::new(1).unwrap(),
        note: text("拆分拨付"),
        fund: Fund::Donation,
        proposed_by: code(CASEWORKER),
        proposed_at: at(1),
    }));
    let mut campaign = fold(events);
    let rt = runtime();
    let before = campaign.clone();
    let err = run(
        &rt,
        &mut campaign,
        &services(),
        cmd(
            CASEWORKER,
            Role::Caseworker,
            propose("A-NEXT", measure(), "1"),
        ),
    )
    .unwrap_err();
    assert_eq!(err.code(), "donation_campaign.too_many_allocations");
    assert_eq!(campaign, before);
}

// ---------------------------------------------------------------- Approve / Reject

#[test]
fn an_allocation_is_approved_by_a_second_person() {
    framework()
        .given(history(8))
        .when(cmd(APPROVER, Role::Approver, approve("BF2026-001")))
        .then_expect_events(vec![Ev::AllocationApproved {
            allocation_id: code("BF2026-001"),
            amount_fen: yuan("6000"),
            target: measure(),
            approved_by: code(APPROVER),
            approved_at: at(0),
        }]);
}

#[test]
fn the_proposer_cannot_approve_even_as_admin() {
    let result = framework()
        .given(history(8))
        .when(cmd(CASEWORKER, Role::Admin, approve("BF2026-001")))
        .inspect_result();
    assert_eq!(result, Err(DonationCampaignError::FourEyes));
    assert_refused(
        history(8),
        CASEWORKER,
        approve("BF2026-001"),
        "donation_campaign.four_eyes",
    );
}

#[test]
fn approve_and_reject_need_a_pending_allocation() {
    for body in [approve("BF2026-001"), reject("BF2026-001")] {
        assert_refused(
            vec![],
            APPROVER,
            body.clone(),
            "donation_campaign.not_launched",
        );
        assert_refused(
            funded(),
            APPROVER,
            body.clone(),
            "donation_campaign.unknown_allocation",
        );
        let err = assert_refused(
            history(9),
            APPROVER,
            body,
            "donation_campaign.allocation_not_pending",
        );
        assert_eq!(
            err,
            DonationCampaignError::AllocationNotPending {
                allocation_id: code("BF2026-001"),
                status: AllocationStatus::Approved
            }
        );
    }
    for body in [approve("BF2026-002"), reject("BF2026-002")] {
        assert_refused(
            history(11),
            APPROVER,
            body,
            "donation_campaign.allocation_not_pending",
        );
    }
}

#[test]
fn an_allocation_is_rejected() {
    framework()
        .given(history(10))
        .when(cmd(APPROVER, Role::Approver, reject("BF2026-002")))
        .then_expect_events(vec![Ev::AllocationRejected {
            allocation_id: code("BF2026-002"),
            amount_fen: yuan("150000"),
            reason: text("材料不全"),
            rejected_by: code(APPROVER),
            rejected_at: at(0),
        }]);
    // The proposer may withdraw their own proposal: rejection is not four-eyes.
    accepted(history(10), CASEWORKER, reject("BF2026-002"));
}

// ---------------------------------------------------------------- samples and accessors

/// The commands (with user and minute) that produce [`sample_events`].
fn sample_commands() -> Vec<(&'static str, i64, C)> {
    const DAY: i64 = 24 * 60;
    let donation =
        |receipt: &str, unit: &str, donor: Option<&str>, count, amount: &str, channel, on| {
            C::RecordDonation {
                receipt_no: code(receipt),
                unit_id: code(unit),
                donor: donor.map(|d| PersonName::parse(d).unwrap()),
                donor_count: count,
                amount_fen: yuan(amount),
                channel,
                donated_on: on,
            }
        };
    vec![
        (LAUNCHER, 0, sample_launch()),
        (
            CASEWORKER,
            5 * DAY,
            donation(
                "YRJ2026-0001",
                "PT-ZGH",
                None,
                45,
                "13860.00",
                Channel::BankTransfer,
                day(3, 5),
            ),
        ),
        (
            CASEWORKER,
            9 * DAY,
            donation(
                "YRJ2026-0002",
                "PT-ZZB",
                None,
                58,
                "17236.50",
                Channel::BankTransfer,
                day(3, 9),
            ),
        ),
        (
            CASEWORKER,
            20 * DAY,
            donation(
                "YRJ2026-0003",
                "PT-GDJ",
                None,
                596,
                "143040.00",
                Channel::PayrollDeduction,
                day(3, 20),
            ),
        ),
        (
            CASEWORKER,
            20 * DAY + 120,
            donation(
                "YRJ2026-0004",
                "PT-JYJ",
                Some("王秀英"),
                1,
                "500.00",
                Channel::Cash,
                day(3, 21),
            ),
        ),
        (
            CASEWORKER,
            20 * DAY + 125,
            donation(
                "YRJ2026-0005",
                "PT-JYJ",
                Some("王秀英"),
                1,
                "500.00",
                Channel::Cash,
                day(3, 21),
            ),
        ),
        (
            CASEWORKER,
            21 * DAY,
            C::ReverseDonation {
                receipt_no: code("YRJ2026-0005"),
                reason: text("重复录入，与收据 YRJ2026-0004 为同一笔捐款"),
            },
        ),
        (
            CASEWORKER,
            40 * DAY,
            C::ProposeAllocation {
                allocation_id: code("BF2026-001"),
                target: measure(),
                amount_fen: yuan("6000"),
                note: text("困难职工子女金秋助学"),
            },
        ),
        (APPROVER, 41 * DAY, approve("BF2026-001")),
        (
            CASEWORKER,
            45 * DAY,
            C::ProposeAllocation {
                allocation_id: code("BF2026-002"),
                target: claim(),
                amount_fen: yuan("150000"),
                note: text("大病补助差额补足"),
            },
        ),
        (
            APPROVER,
            46 * DAY,
            C::RejectAllocation {
                allocation_id: code("BF2026-002"),
                reason: text("金额超出该申请的补助标准，请核减后重新提出"),
            },
        ),
        (
            LAUNCHER,
            92 * DAY,
            C::Close {
                note: text("各单位捐款已全部汇缴，活动结束"),
            },
        ),
        (
            CASEWORKER,
            100 * DAY,
            C::ProposeAllocation {
                allocation_id: code("BF2026-003"),
                target: claim(),
                amount_fen: yuan("12000"),
                note: text("大病补助差额补足（核减后）"),
            },
        ),
    ]
}

#[test]
fn the_sample_history_is_what_the_handler_produces() {
    let expected = sample_events();
    let commands = sample_commands();
    assert_eq!(commands.len(), expected.len());
    for (i, ((user, minute, body), event)) in commands.into_iter().zip(&expected).enumerate() {
        let mut command = cmd(user, Role::Caseworker, body);
        command.ctx.recorded_at = at(minute);
        framework()
            .given(expected[..i].to_vec())
            .when(command)
            .then_expect_events(vec![event.clone()]);
    }
}

#[test]
fn accessors_report_the_sample_campaign() {
    let c = fold(sample_events());
    assert_eq!(c.status(), CampaignStatus::Closed);
    assert_eq!(c.received_fen(), yuan("175136.50"));
    assert_eq!(c.reversed_fen(), yuan("500"));
    assert_eq!(c.net_received_fen(), yuan("174636.50"));
    assert_eq!(c.donor_count(), 700);
    assert_eq!(c.total_headcount(), 48 + 62 + 215 + 183 + 640 + 1_120);
    // 700 / 2268 = 30.864…% → 3 086 bp
    assert_eq!(c.participation().bp(), 3_086);
    assert_eq!(c.approved_fen(), yuan("6000"));
    assert_eq!(c.pending_fen(), yuan("12000"));
    assert_eq!(c.allocated_fen(), yuan("18000"));
    assert_eq!(c.available_fen(), yuan("156636.50"));

    let zgh = c.unit(&code("PT-ZGH")).unwrap();
    assert_eq!((zgh.donor_count, zgh.headcount), (45, 48));
    assert_eq!(zgh.participation().bp(), 9_375);
    let jyj = c.unit(&code("PT-JYJ")).unwrap();
    assert_eq!(jyj.received_fen, yuan("1000"));
    assert_eq!(jyj.reversed_fen, yuan("500"));
    assert_eq!(jyj.net_received_fen(), yuan("500"));
    assert_eq!(jyj.donor_count, 1);
    // 1 / 215 = 0.4651…% → 47 bp (46.51 rounds half up to 47)
    assert_eq!(jyj.participation().bp(), 47);
    assert_eq!(
        c.unit(&code("PT-XYXX")).unwrap().participation(),
        BasisPoints::ZERO
    );
    assert_eq!(c.units().count(), 6);

    assert!(c.donation(&code("YRJ2026-0005")).unwrap().reversed);
    assert_eq!(c.donations().count(), 5);
    let statuses: Vec<_> = c.allocations().map(|a| a.status).collect();
    assert_eq!(
        statuses,
        [
            AllocationStatus::Approved,
            AllocationStatus::Rejected,
            AllocationStatus::Pending
        ]
    );
    let bf1 = c.allocation(&code("BF2026-001")).unwrap();
    assert_eq!(bf1.decided_by, Some(code(APPROVER)));
    assert_eq!(c.closing().unwrap().closed_by, code(LAUNCHER));
    assert_eq!(c.profile().unwrap().year, 2026);

    let fresh = DonationCampaign::default();
    assert_eq!(fresh.status(), CampaignStatus::NotLaunched);
    assert_eq!(fresh.participation(), BasisPoints::ZERO);
    assert_eq!(fold(opened()).status(), CampaignStatus::Open);
}

#[test]
fn participation_rate_rounds_half_up_and_caps() {
    assert_eq!(participation_rate(0, 0), BasisPoints::ZERO);
    assert_eq!(participation_rate(1, 3).bp(), 3_333);
    assert_eq!(participation_rate(2, 3).bp(), 6_667);
    assert_eq!(participation_rate(1, 20_000).bp(), 1);
    assert_eq!(participation_rate(120, 100).bp(), 12_000);
    assert_eq!(participation_rate(u64::MAX, 1).bp(), BasisPoints::MAX);
}

// ---------------------------------------------------------------- serde, golden, codes, labels

fn golden_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(DonationCampaign::TYPE)
}

#[test]
fn events_match_their_golden_json() {
    let dir = golden_dir();
    let update = std::env::var("BANGFU_UPDATE_GOLDEN").as_deref() == Ok("1");
    if update {
        std::fs::create_dir_all(&dir).unwrap();
    }
    let mut seen = BTreeSet::new();
    for event in sample_events() {
        let ty = event.event_type();
        if !seen.insert(ty.clone()) {
            continue;
        }
        let path = dir.join(format!("{ty}.json"));
        let json = serde_json::to_string_pretty(&event).unwrap();
        if update {
            std::fs::write(&path, format!("{json}\n")).unwrap();
        }
        let golden = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("missing golden {}: {e}", path.display()));
        assert_eq!(golden.trim_end(), json, "{ty} changed shape");
        let back: Ev = serde_json::from_str(&golden).unwrap();
        assert_eq!(back, event);
        assert_eq!(back.event_version(), crate::EVENT_VERSION_1);
    }
}

/// Exhaustive: a new event variant fails to compile here until it gets an index.
fn event_index(e: &Ev) -> usize {
    match e {
        Ev::CampaignLaunched { .. } => 0,
        Ev::DonationRecorded { .. } => 1,
        Ev::DonationReversed { .. } => 2,
        Ev::CampaignClosed { .. } => 3,
        Ev::AllocationProposed { .. } => 4,
        Ev::AllocationApproved { .. } => 5,
        Ev::AllocationRejected { .. } => 6,
    }
}

#[test]
fn every_event_type_has_a_sample_and_a_golden_file() {
    let samples = sample_events();
    let indices: BTreeSet<usize> = samples.iter().map(event_index).collect();
    assert_eq!(indices, (0..Ev::EVENT_TYPES.len()).collect());
    for e in &samples {
        assert_eq!(e.event_type(), Ev::EVENT_TYPES[event_index(e)]);
        assert!(e.reservations().is_empty());
    }
    for ty in Ev::EVENT_TYPES {
        assert!(
            golden_dir().join(format!("{ty}.json")).is_file(),
            "no golden file for {ty}"
        );
    }
    let files = std::fs::read_dir(golden_dir()).unwrap().count();
    assert_eq!(files, Ev::EVENT_TYPES.len(), "stale golden files");
}

fn all_errors() -> Vec<DonationCampaignError> {
    use DonationCampaignError::*;
    vec![
        AlreadyLaunched,
        NotLaunched,
        BadYear { year: 1999 },
        BadDates {
            starts_on: day(3, 2),
            ends_on: day(3, 1),
        },
        NoUnits,
        TooManyUnits { count: 10_001 },
        DuplicateUnit {
            unit_id: code("U1"),
        },
        TooManyCoIssuers { count: 11 },
        BadHeadcount {
            unit_id: code("U1"),
        },
        CampaignClosed,
        UnknownUnit {
            unit_id: code("U1"),
        },
        DuplicateReceipt {
            receipt_no: code("R1"),
        },
        AmountMustBePositive,
        BadDonorCount { donor_count: 0 },
        DonationOutsidePeriod {
            donated_on: day(6, 1),
            starts_on: day(3, 1),
            ends_on: day(5, 31),
        },
        TooManyDonations,
        UnknownReceipt {
            receipt_no: code("R1"),
        },
        AlreadyReversed {
            receipt_no: code("R1"),
        },
        ReversalExceedsUnallocated {
            amount_fen: yuan("2"),
            unallocated_fen: yuan("1"),
        },
        AlreadyClosed,
        DuplicateAllocation {
            allocation_id: code("A1"),
        },
        UnknownAllocation {
            allocation_id: code("A1"),
        },
        AllocationNotPending {
            allocation_id: code("A1"),
            status: AllocationStatus::Rejected,
        },
        ExceedsAvailable {
            requested_fen: yuan("2"),
            available_fen: yuan("1"),
        },
        TargetNotAllowed {
            designated_campaign: true,
        },
        TargetNotAllowed {
            designated_campaign: false,
        },
        UnknownTarget,
        FourEyes,
        TooManyAllocations,
        AmountOverflow,
        ServiceUnavailable("down".into()),
    ]
}

/// Exhaustive: a new error variant fails to compile here until it gets an index.
fn error_index(e: &DonationCampaignError) -> usize {
    use DonationCampaignError::*;
    match e {
        AlreadyLaunched => 0,
        NotLaunched => 1,
        BadYear { .. } => 2,
        BadDates { .. } => 3,
        NoUnits => 4,
        TooManyUnits { .. } => 5,
        DuplicateUnit { .. } => 6,
        TooManyCoIssuers { .. } => 7,
        BadHeadcount { .. } => 8,
        CampaignClosed => 9,
        UnknownUnit { .. } => 10,
        DuplicateReceipt { .. } => 11,
        AmountMustBePositive => 12,
        BadDonorCount { .. } => 13,
        DonationOutsidePeriod { .. } => 14,
        TooManyDonations => 15,
        UnknownReceipt { .. } => 16,
        AlreadyReversed { .. } => 17,
        ReversalExceedsUnallocated { .. } => 18,
        AlreadyClosed => 19,
        DuplicateAllocation { .. } => 20,
        UnknownAllocation { .. } => 21,
        AllocationNotPending { .. } => 22,
        ExceedsAvailable { .. } => 23,
        TargetNotAllowed { .. } => 24,
        UnknownTarget => 25,
        FourEyes => 26,
        TooManyAllocations => 27,
        AmountOverflow => 28,
        ServiceUnavailable(_) => 29,
    }
}

#[test]
fn error_codes_are_unique_stable_and_localized() {
    let errors = all_errors();
    let indices: BTreeSet<usize> = errors.iter().map(error_index).collect();
    assert_eq!(indices, (0..30).collect(), "all_errors misses a variant");
    let mut codes = BTreeMap::new();
    for e in &errors {
        let code = e.code();
        let rule = code
            .strip_prefix("donation_campaign.")
            .unwrap_or_else(|| panic!("{code} lacks the prefix"));
        assert!(
            !rule.is_empty() && rule.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
            "{code} is not snake_case"
        );
        if let Some(other) = codes.insert(code, error_index(e)) {
            assert_eq!(other, error_index(e), "{code} used by two variants");
        }
        let (zh, en) = (e.localize(Lang::Zh), e.localize(Lang::En));
        assert!(!zh.is_empty() && !en.is_empty());
        assert_ne!(zh, en, "{code} has no Chinese message");
        assert_eq!(en, e.to_string());
    }
    assert_eq!(codes.len(), 30);
}

#[test]
fn labels_and_descriptions_are_localized_and_mask_ids() {
    for lang in [Lang::Zh, Lang::En] {
        for c in Channel::ALL {
            assert!(!c.label(lang).is_empty());
        }
        for s in [
            CampaignStatus::NotLaunched,
            CampaignStatus::Open,
            CampaignStatus::Closed,
        ] {
            assert!(!s.label(lang).is_empty());
        }
        for s in [
            AllocationStatus::Pending,
            AllocationStatus::Approved,
            AllocationStatus::Rejected,
        ] {
            assert!(!s.label(lang).is_empty());
        }
        for t in [measure(), claim(), AllocationTarget::DesignatedBeneficiary] {
            assert!(!t.describe(lang).is_empty());
        }
        for e in sample_events().iter().chain(&designated_opened()) {
            assert!(!e.label(lang).is_empty());
            assert!(!e.describe(lang).is_empty());
        }
    }
    assert_eq!(Channel::PayrollDeduction.label(Lang::Zh), "工资代扣");
    assert_eq!(Purpose::GeneralFund.label(Lang::Zh), "帮扶资金");
    assert_eq!(sample_events()[0].label(Lang::Zh), "已发起活动");
    assert_eq!(
        sample_events()[1].describe(Lang::Zh),
        "收据 YRJ2026-0001：单位 PT-ZGH（单位汇总 45 人）捐款 13860.00 元，银行转账，2026-03-05"
    );
    let launched = designated_opened()[0].describe(Lang::Zh);
    let C::Launch {
        purpose:
            Purpose::Designated {
                beneficiary_id: Some(id),
                ..
            },
        ..
    } = sample_designated_launch()
    else {
        unreachable!()
    };
    assert!(!launched.contains(id.expose()), "{launched}");
    assert!(launched.contains(&id.masked()), "{launched}");
}

#[test]
fn commands_have_a_strict_json_shape() {
    let json = r#"{"RecordDonation": {"receipt_no": "YRJ2026-0100", "unit_id": "PT-WJW",
        "donor": null, "donor_count": 170, "amount_fen": 4812000, "channel": "bank_transfer",
        "donated_on": "2026-03-28"}}"#;
    let body: C = serde_json::from_str(json).unwrap();
    assert_eq!(
        body,
        record("YRJ2026-0100", "PT-WJW", None, 170, "48120.00", day(3, 28))
    );
    let extra = json.replace("\"donor\": null", "\"donor\": null, \"memo\": 1");
    assert!(serde_json::from_str::<C>(&extra).is_err());
    let negative = json.replace("4812000", "-1");
    assert!(serde_json::from_str::<C>(&negative).is_err());

    let round = serde_json::to_value(sample_designated_launch()).unwrap();
    assert!(round["Launch"]["purpose"]["designated"]["beneficiary_id"].is_string());
    assert_eq!(
        serde_json::from_value::<C>(round.clone()).unwrap(),
        sample_designated_launch()
    );
    assert_eq!(
        serde_json::to_value(Purpose::GeneralFund).unwrap(),
        serde_json::json!("general_fund")
    );
    let target: AllocationTarget =
        serde_json::from_str(r#"{"hardship_measure": {"file_id": "F-1", "measure_id": "M-1"}}"#)
            .unwrap();
    assert_eq!(
        target,
        AllocationTarget::HardshipMeasure {
            file_id: code("F-1"),
            measure_id: code("M-1")
        }
    );
    assert!(serde_json::from_str::<AllocationTarget>(
        r#"{"claim": {"claim_id": "C-1", "file_id": "F-1"}}"#
    )
    .is_err());
    // A resident ID with a wrong check character never reaches the aggregate.
    let good = round["Launch"]["purpose"]["designated"]["beneficiary_id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut bad = good.clone();
    let last = bad.pop().unwrap();
    bad.push(if last == '0' { '1' } else { '0' });
    assert!(ResidentId::parse(&bad).is_err());
    let bad_json = serde_json::to_string(&sample_designated_launch())
        .unwrap()
        .replace(&good, &bad);
    assert!(serde_json::from_str::<C>(&bad_json).is_err());
}

// ---------------------------------------------------------------- properties

/// The money invariants, checked against the detailed records.
fn check_invariants(c: &DonationCampaign) -> Result<(), TestCaseError> {
    prop_assert!(
        c.allocated_fen() <= c.net_received_fen(),
        "allocated above net"
    );
    prop_assert_eq!(
        c.available_fen().checked_add(c.allocated_fen()).unwrap(),
        c.net_received_fen()
    );
    let sum = |status| {
        Fen::checked_sum(
            c.allocations()
                .filter(|a| a.status == status)
                .map(|a| a.amount_fen),
        )
        .unwrap()
    };
    prop_assert_eq!(c.pending_fen(), sum(AllocationStatus::Pending));
    prop_assert_eq!(c.approved_fen(), sum(AllocationStatus::Approved));
    for a in c.allocations() {
        if a.status == AllocationStatus::Approved {
            prop_assert_ne!(a.decided_by.as_ref(), Some(&a.proposed_by), "four-eyes");
        }
    }
    let entries: Vec<_> = c.donations().map(|(_, d)| d).collect();
    let received = Fen::checked_sum(entries.iter().map(|d| d.amount_fen)).unwrap();
    let reversed =
        Fen::checked_sum(entries.iter().filter(|d| d.reversed).map(|d| d.amount_fen)).unwrap();
    let donors: u64 = entries
        .iter()
        .filter(|d| !d.reversed)
        .map(|d| u64::from(d.donor_count))
        .sum();
    prop_assert_eq!(c.received_fen(), received);
    prop_assert_eq!(c.reversed_fen(), reversed);
    prop_assert_eq!(c.donor_count(), donors);
    let unit_received = Fen::checked_sum(c.units().map(|u| u.received_fen)).unwrap();
    let unit_reversed = Fen::checked_sum(c.units().map(|u| u.reversed_fen)).unwrap();
    let unit_donors: u64 = c.units().map(|u| u.donor_count).sum();
    prop_assert_eq!(unit_received, received);
    prop_assert_eq!(unit_reversed, reversed);
    prop_assert_eq!(unit_donors, donors);
    Ok(())
}

#[derive(Clone, Debug)]
enum Op {
    Record {
        receipt: u8,
        unit: usize,
        named: bool,
        donors: u32,
        amount_fen: i64,
        day_offset: i64,
    },
    Reverse {
        /// Picks among the receipts recorded so far.
        receipt: u8,
    },
    Propose {
        allocation: u8,
        target: u8,
        amount_fen: i64,
        by: usize,
    },
    /// Propose all that is available (or one fen more): the boundary of
    /// `exceeds_available`, and what makes later reversals collide with allocations.
    ProposeRest {
        allocation: u8,
        one_fen_more: bool,
    },
    Approve {
        allocation: u8,
        by: usize,
    },
    Reject {
        allocation: u8,
        by: usize,
    },
    Close,
}

const USERS: [&str; 3] = [CASEWORKER, APPROVER, "admin.wu"];

/// Mostly ordinary amounts; now and then zero (refused) or half of `i64::MAX`
/// (so totals overflow and must be refused, never wrap).
fn amount(max_fen: i64) -> impl Strategy<Value = i64> {
    prop_oneof![
        40 => 1i64..=max_fen,
        1 => Just(0i64),
        1 => Just(i64::MAX / 2),
    ]
}

/// Weighted so that a sequence usually records a few dozen donations before
/// (rarely) closing, and ids collide often enough to reach every rule.
fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        30 => (0u8..30, 0usize..8, prop::bool::weighted(0.3), prop_oneof![1 => Just(0u32), 1 => Just(2u32), 20 => 1u32..600], amount(5_000_000), 0i64..1_000)
            .prop_map(|(receipt, unit, named, donors, amount_fen, day_offset)| Op::Record {
                receipt, unit, named, donors, amount_fen, day_offset
            }),
        10 => any::<u8>().prop_map(|receipt| Op::Reverse { receipt }),
        25 => (0u8..40, 0u8..10, amount(3_000_000), 0usize..3).prop_map(|(allocation, target, amount_fen, by)| {
            Op::Propose { allocation, target, amount_fen, by }
        }),
        5 => (0u8..40, prop::bool::weighted(0.2)).prop_map(|(allocation, one_fen_more)| {
            Op::ProposeRest { allocation, one_fen_more }
        }),
        15 => (any::<u8>(), 0usize..3).prop_map(|(allocation, by)| Op::Approve { allocation, by }),
        8 => (any::<u8>(), 0usize..3).prop_map(|(allocation, by)| Op::Reject { allocation, by }),
        1 => Just(Op::Close),
    ]
}

/// The nth allocation proposed so far, or one never proposed.
fn nth_allocation(campaign: &DonationCampaign, n: u8) -> String {
    let ids: Vec<&Code> = campaign.allocations().map(|a| &a.allocation_id).collect();
    ids.get(usize::from(n) % (ids.len() + 1))
        .map_or_else(|| "A-NONE".to_string(), |id| id.to_string())
}

/// The command an [`Op`] stands for, and the index of the user who sends it.
/// Indices past the end (units, receipts, allocations) exercise refusals.
fn body_of(op: &Op, campaign: &DonationCampaign, units: &[Code]) -> (usize, C) {
    let Some(profile) = campaign.profile() else {
        unreachable!("launched first")
    };
    match op {
        Op::Record {
            receipt,
            unit,
            named,
            donors,
            amount_fen,
            day_offset,
        } => {
            // Two days either side of the period, so both edges are crossed.
            let span = (profile.ends_on - profile.starts_on).num_days() + 5;
            let donated_on = profile.starts_on + chrono::Duration::days(day_offset % span - 2);
            // A named donor is one person, except for the refused 0 and 2.
            let donor_count = if *named && *donors > 2 { 1 } else { *donors };
            (
                0,
                C::RecordDonation {
                    receipt_no: code(&format!("R-{receipt}")),
                    unit_id: units
                        .get(unit % (units.len() + 1))
                        .cloned()
                        .unwrap_or_else(|| code("PT-NOPE")),
                    donor: named.then(|| PersonName::parse("陈志强").unwrap()),
                    donor_count,
                    amount_fen: Fen::new(*amount_fen).unwrap(),
                    channel: Channel::Cash,
                    donated_on,
                },
            )
        }
        Op::Reverse { receipt } => {
            // The nth receipt recorded so far, or one never recorded.
            let receipts: Vec<&Code> = campaign.donations().map(|(r, _)| r).collect();
            let receipt_no = receipts
                .get(usize::from(*receipt) % (receipts.len() + 1))
                .map_or_else(|| "R-NONE".to_string(), |r| r.to_string());
            (0, reverse(&receipt_no))
        }
        Op::Propose {
            allocation,
            target,
            amount_fen,
            by,
        } => {
            // Mostly a target the campaign's purpose allows; sometimes not,
            // sometimes one that does not exist.
            let designated = profile.purpose.is_designated();
            let target = match (designated, target) {
                (true, 0..=7) | (false, 9) => AllocationTarget::DesignatedBeneficiary,
                (false, 0..=3) | (true, 8) => measure(),
                (false, 4..=7) => claim(),
                _ => unknown_claim(),
            };
            (
                *by,
                C::ProposeAllocation {
                    allocation_id: code(&format!("A-{allocation}")),
                    target,
                    amount_fen: Fen::new(*amount_fen).unwrap(),
                    note: text("帮扶"),
                },
            )
        }
        Op::ProposeRest {
            allocation,
            one_fen_more,
        } => {
            let rest = campaign.available_fen();
            let amount_fen = if *one_fen_more {
                rest.checked_add(Fen::new(1).unwrap()).unwrap_or(rest)
            } else {
                rest
            };
            let target = if profile.purpose.is_designated() {
                AllocationTarget::DesignatedBeneficiary
            } else {
                measure()
            };
            (
                0,
                C::ProposeAllocation {
                    allocation_id: code(&format!("A-{allocation}")),
                    target,
                    amount_fen,
                    note: text("余额拨付"),
                },
            )
        }
        Op::Approve { allocation, by } => (*by, approve(&nth_allocation(campaign, *allocation))),
        Op::Reject { allocation, by } => (*by, reject(&nth_allocation(campaign, *allocation))),
        Op::Close => (2, close()),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any sequence of commands: every refusal leaves the state untouched and
    /// writes nothing; after every step allocated ≤ received − reversed; and
    /// folding the accepted events from scratch gives the handler's state.
    #[test]
    fn money_is_spent_at_most_once(designated in any::<bool>(), ops in prop::collection::vec(op(), 0..80)) {
        let rt = runtime();
        let svc = services();
        let launch = if designated { sample_designated_launch() } else { sample_launch() };
        let mut campaign = DonationCampaign::default();
        let mut log = run(&rt, &mut campaign, &svc, cmd(LAUNCHER, Role::Admin, launch)).unwrap();
        let units: Vec<Code> = campaign.units().map(|u| u.unit_id.clone()).collect();
        for (i, op) in ops.iter().enumerate() {
            let (user, body) = body_of(op, &campaign, &units);
            let mut command = cmd(USERS[user % USERS.len()], Role::Approver, body);
            command.ctx.recorded_at = at(i64::try_from(i).unwrap() + 1);
            let before = campaign.clone();
            match run(&rt, &mut campaign, &svc, command) {
                Ok(events) => {
                    prop_assert_eq!(events.len(), 1);
                    log.extend(events);
                }
                Err(_) => prop_assert_eq!(&campaign, &before, "a refusal changed the state"),
            }
            check_invariants(&campaign)?;
        }
        let folded = fold(log.clone());
        prop_assert_eq!(&folded, &campaign);
        let snapshot: DonationCampaign =
            serde_json::from_str(&serde_json::to_string(&campaign).unwrap()).unwrap();
        prop_assert_eq!(&snapshot, &campaign);
        // And the log itself survives its JSON form.
        let relog: Vec<Ev> = serde_json::from_str(&serde_json::to_string(&log).unwrap()).unwrap();
        prop_assert_eq!(relog, log);
    }

    /// Replaying the same events twice gives the same state, and a snapshot
    /// round trip gives it back.
    #[test]
    fn replay_is_deterministic(n in 0usize..=13) {
        let a = fold(history(n));
        let b = fold(history(n));
        prop_assert_eq!(&a, &b);
        check_invariants(&a)?;
        let snapshot: DonationCampaign =
            serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
        prop_assert_eq!(snapshot, a);
    }
}
