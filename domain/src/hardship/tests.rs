//! Given/when/then tests of every command, accepted and refused; golden
//! JSON of every event type; replay and snapshot properties; error codes
//! and labels.
//!
//! Most histories are prefixes of [`sample_events`], so the fixtures are
//! the same realistic story the golden files and demos use.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::test::TestFramework;
use cqrs_es::{Aggregate, DomainEvent};
use proptest::prelude::*;

use super::*;
use crate::command::Role;
use crate::i18n::{ErrorCode, Lang, Localize};
use crate::reservation::{Reservation, Reserves, Scope};
use crate::testing::{at, ctx};
use crate::values::{BankCard, LongText, PersonName};

type C = HardshipFileCommand;
type Ev = HardshipFileEvent;

const DAY: i64 = 24 * 60;
/// A "now" after every date in the sample story (2027-10-23).
const LATE: i64 = 600 * DAY;

// ---- services ---------------------------------------------------------------

#[derive(Clone, Copy)]
enum Lookup {
    Free,
    Taken(&'static str),
    Down,
}

struct FakeServices(Lookup);

#[async_trait::async_trait]
impl HardshipFileServices for FakeServices {
    async fn open_file_for_resident(
        &self,
        _resident_id: &ResidentId,
    ) -> Result<Option<String>, crate::services::ServiceError> {
        match self.0 {
            Lookup::Free => Ok(None),
            Lookup::Taken(id) => Ok(Some(id.to_string())),
            Lookup::Down => Err(crate::services::ServiceError("timeout".into())),
        }
    }
}

fn services(lookup: Lookup) -> Arc<dyn HardshipFileServices> {
    Arc::new(FakeServices(lookup))
}

// ---- helpers ----------------------------------------------------------------

fn role_of(user: &str) -> Role {
    match user {
        "zheng.hua" | "li.na" => Role::Approver,
        "wu.jing" => Role::Finance,
        "admin" => Role::Admin,
        _ => Role::Caseworker,
    }
}

fn command(user: &str, minutes: i64, body: C) -> Cmd<C> {
    let mut c = ctx(user, role_of(user));
    c.recorded_at = at(minutes);
    Cmd { ctx: c, body }
}

fn run(lookup: Lookup, given: Vec<Ev>, user: &str, minutes: i64, body: C) -> Result<Vec<Ev>, E> {
    TestFramework::<HardshipFile>::with(services(lookup))
        .given(given)
        .when(command(user, minutes, body))
        .inspect_result()
}

fn accepts(given: Vec<Ev>, user: &str, minutes: i64, body: C) -> Vec<Ev> {
    run(Lookup::Free, given, user, minutes, body)
        .unwrap_or_else(|e| panic!("expected acceptance, got {}: {e}", e.code()))
}

/// Asserts the command is refused with `code`: `inspect_result` is an `Err`,
/// so no event was produced.
fn refuses_with(lookup: Lookup, given: Vec<Ev>, user: &str, minutes: i64, body: C, code: &str) {
    match run(lookup, given, user, minutes, body) {
        Ok(events) => panic!("expected {code}, got events {events:?}"),
        Err(e) => assert_eq!(e.code(), code, "{e}"),
    }
}

fn refuses(given: Vec<Ev>, user: &str, minutes: i64, body: C, code: &str) {
    refuses_with(Lookup::Free, given, user, minutes, body, code);
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}
fn code(s: &str) -> Code {
    Code::parse(s).unwrap()
}
fn name(s: &str) -> PersonName {
    PersonName::parse(s).unwrap()
}
fn short(s: &str) -> ShortText {
    ShortText::parse(s).unwrap()
}
fn long(s: &str) -> LongText {
    LongText::parse(s).unwrap()
}
fn yuan(y: i64) -> Fen {
    Fen::from_yuan(y).unwrap()
}

fn prefix(n: usize) -> Vec<Ev> {
    sample_events().into_iter().take(n).collect()
}

// Named points of the sample story (indices into `sample_events()`).
/// Open, no visit yet.
fn opened() -> Vec<Ev> {
    prefix(1)
}
/// Open, one verification visit, not yet verified.
fn visited() -> Vec<Ev> {
    prefix(2)
}
/// Closed at verification.
fn rejected() -> Vec<Ev> {
    prefix(3)
}
/// Reopened; the old verification visit no longer counts.
fn reopened() -> Vec<Ev> {
    prefix(4)
}
/// Verified again, no plan.
fn verified() -> Vec<Ev> {
    prefix(6)
}
/// Plan revision 1 (M-01 dialysis 12,000 yuan, M-02, M-03, M-04 at zero).
fn planned() -> Vec<Ev> {
    prefix(7)
}
/// G-2026-001 (6,000 yuan on M-01, bank) pending.
fn grant_pending() -> Vec<Ev> {
    prefix(8)
}
/// G-2026-001 approved.
fn grant_approved() -> Vec<Ev> {
    prefix(9)
}
/// G-2026-001 paid.
fn grant_paid() -> Vec<Ev> {
    prefix(10)
}
/// G-2026-003 (800 yuan on M-03, cash) approved, not yet handed over.
fn cash_approved() -> Vec<Ev> {
    prefix(15)
}
/// M-03 completed.
fn measure_done() -> Vec<Ev> {
    prefix(18)
}
/// The whole story: closed as lifted out.
fn closed() -> Vec<Ev> {
    sample_events()
}
/// Closed, reopened, visited and verified again: the old plan is kept.
fn reverified() -> Vec<Ev> {
    let mut events = closed();
    events.push(Ev::FileReopened {
        reason: short("妻子移植后出现排异反应，家庭再次致困"),
        resident_id: sample_household().head.resident_id,
        reopened_by: code("lin.xiaomei"),
        reopened_at: at(520 * DAY),
    });
    events.push(visit_event("V-2027-002", VisitKind::Verification, 520));
    events.push(Ev::FileVerified {
        note: short("复核属实"),
        verified_by: code("zheng.hua"),
        verified_at: at(521 * DAY),
    });
    events
}

fn visit_event(id: &str, kind: VisitKind, day: i64) -> Ev {
    Ev::VisitLogged {
        visit_id: code(id),
        visited_on: at(day * DAY).date_naive(),
        kind,
        caseworkers: vec![name("林晓梅")],
        findings: long("入户了解近况。"),
        facts_verified: vec![],
        contact_card_issued: false,
        cash_handover: None,
        logged_by: code("lin.xiaomei"),
        logged_at: at(day * DAY),
    }
}

fn visit(id: &str, kind: VisitKind) -> C {
    C::LogVisit {
        visit_id: code(id),
        visited_on: date(2027, 2, 1),
        kind,
        caseworkers: vec![name("林晓梅"), name("黄志强")],
        findings: long("入户了解近况。"),
        facts_verified: vec![VerifiedFact::Income],
        contact_card_issued: false,
        cash_handover: None,
    }
}

fn with_visit(f: impl FnOnce(&mut C)) -> C {
    let mut c = visit("V-NEW", VisitKind::FollowUp);
    f(&mut c);
    c
}

fn cash_visit(grant_id: &str, amount_fen: Fen) -> C {
    with_visit(|c| {
        if let C::LogVisit { cash_handover, .. } = c {
            *cash_handover = Some(CashHandover {
                grant_id: code(grant_id),
                amount_fen,
                signed_by: name("陈建国"),
            });
        }
    })
}

fn open_with(f: impl FnOnce(&mut Household)) -> C {
    let mut household = sample_household();
    f(&mut household);
    C::OpenFile {
        household,
        opened_on: date(2026, 3, 1),
    }
}

fn member(birth_year: u16) -> HouseholdMember {
    HouseholdMember {
        name: name("陈小红"),
        relation: Relation::Child,
        birth_year,
        health: Health::Healthy,
        schooling: Schooling::Primary,
    }
}

fn spec(id: &str, kind: MeasureKind, planned_fen: Fen, fund: Fund) -> MeasureSpec {
    MeasureSpec {
        measure_id: code(id),
        kind,
        description: short("帮扶措施"),
        planned_amount_fen: planned_fen,
        fund,
        due_on: date(2028, 12, 31),
    }
}

/// The measures of plan revision 1, as the sample adopted them.
fn plan_measures() -> Vec<MeasureSpec> {
    match &sample_events()[6] {
        Ev::PlanAdopted { measures, .. } => measures.clone(),
        other => panic!("sample event 6 is {other:?}"),
    }
}

fn revise(measures: Vec<MeasureSpec>) -> C {
    C::RevisePlan {
        reason: short("调整"),
        goal: short("目标"),
        measures,
    }
}

fn revised_measures(f: impl FnOnce(&mut Vec<MeasureSpec>)) -> C {
    let mut m = plan_measures();
    f(&mut m);
    revise(m)
}

fn request(grant_id: &str, measure_id: &str, amount_fen: Fen) -> C {
    C::RequestGrant {
        grant_id: code(grant_id),
        measure_id: code(measure_id),
        amount_fen,
        payee: Payee::Cash,
        note: None,
    }
}

fn approve(grant_id: &str) -> C {
    C::ApproveGrant {
        grant_id: code(grant_id),
    }
}

fn record_paid(grant_id: &str) -> C {
    C::RecordGrantPaid {
        grant_id: code(grant_id),
        paid_on: date(2026, 4, 8),
        reference: code("PAY-1"),
    }
}

fn decline(grant_id: &str) -> C {
    C::DeclineGrant {
        grant_id: code(grant_id),
        reason: short("材料不全"),
    }
}

fn complete(measure_id: &str) -> C {
    C::CompleteMeasure {
        measure_id: code(measure_id),
        note: short("已办结"),
    }
}

fn review(reviewed_on: NaiveDate, next_review_on: NaiveDate) -> C {
    C::RecordReview {
        reviewed_on,
        outcome: ReviewOutcome::StillInHardship,
        note: long("仍需透析。"),
        next_review_on,
    }
}

fn close() -> C {
    C::CloseFile {
        reason: ClosureReason::MovedAway,
        note: short("全家迁回原籍"),
    }
}

fn reopen() -> C {
    C::ReopenFile {
        reason: short("再次致困"),
    }
}

fn confirm() -> C {
    C::Verify {
        outcome: VerificationOutcome::Confirmed {
            note: short("属实"),
        },
    }
}

fn fold(events: &[Ev]) -> HardshipFile {
    let mut file = HardshipFile::default();
    for e in events {
        file.apply(e.clone());
    }
    file
}

// ---- the whole story, command by command ----------------------------------

fn minutes_of(t: DateTime<Utc>) -> i64 {
    (t - at(0)).num_minutes()
}

/// The command that produced `event`, with its actor and time; `None` for
/// a cash `GrantPaid`, which `LogVisit` writes together with the visit.
fn command_for(event: &Ev) -> Option<Cmd<C>> {
    let (who, when, body) = match event.clone() {
        Ev::FileOpened {
            household,
            opened_on,
            opened_by,
            opened_at,
        } => (
            opened_by,
            opened_at,
            C::OpenFile {
                household,
                opened_on,
            },
        ),
        Ev::VisitLogged {
            visit_id,
            visited_on,
            kind,
            caseworkers,
            findings,
            facts_verified,
            contact_card_issued,
            cash_handover,
            logged_by,
            logged_at,
        } => (
            logged_by,
            logged_at,
            C::LogVisit {
                visit_id,
                visited_on,
                kind,
                caseworkers,
                findings,
                facts_verified,
                contact_card_issued,
                cash_handover,
            },
        ),
        Ev::FileVerified {
            note,
            verified_by,
            verified_at,
        } => (
            verified_by,
            verified_at,
            C::Verify {
                outcome: VerificationOutcome::Confirmed { note },
            },
        ),
        Ev::VerificationRejected {
            reason,
            rejected_by,
            rejected_at,
            ..
        } => (
            rejected_by,
            rejected_at,
            C::Verify {
                outcome: VerificationOutcome::Rejected { reason },
            },
        ),
        Ev::PlanAdopted {
            goal,
            measures,
            adopted_by,
            adopted_at,
            ..
        } => (adopted_by, adopted_at, C::AdoptPlan { goal, measures }),
        Ev::PlanRevised {
            reason,
            goal,
            measures,
            revised_by,
            revised_at,
            ..
        } => (
            revised_by,
            revised_at,
            C::RevisePlan {
                reason,
                goal,
                measures,
            },
        ),
        Ev::GrantRequested {
            grant_id,
            measure_id,
            amount_fen,
            payee,
            requested_by,
            requested_at,
            note,
            ..
        } => (
            requested_by,
            requested_at,
            C::RequestGrant {
                grant_id,
                measure_id,
                amount_fen,
                payee,
                note,
            },
        ),
        Ev::GrantApproved {
            grant_id,
            approved_by,
            approved_at,
            ..
        } => (approved_by, approved_at, C::ApproveGrant { grant_id }),
        Ev::GrantDeclined {
            grant_id,
            reason,
            declined_by,
            declined_at,
            ..
        } => (
            declined_by,
            declined_at,
            C::DeclineGrant { grant_id, reason },
        ),
        Ev::GrantPaid {
            method: PaymentMethod::Cash { .. },
            ..
        } => return None,
        Ev::GrantPaid {
            grant_id,
            method: PaymentMethod::BankTransfer { reference },
            paid_on,
            recorded_by,
            recorded_at,
            ..
        } => (
            recorded_by,
            recorded_at,
            C::RecordGrantPaid {
                grant_id,
                paid_on,
                reference,
            },
        ),
        Ev::MeasureCompleted {
            measure_id,
            note,
            completed_by,
            completed_at,
            ..
        } => (
            completed_by,
            completed_at,
            C::CompleteMeasure { measure_id, note },
        ),
        Ev::ReviewRecorded {
            reviewed_on,
            outcome,
            note,
            next_review_on,
            reviewed_by,
            recorded_at,
        } => (
            reviewed_by,
            recorded_at,
            C::RecordReview {
                reviewed_on,
                outcome,
                note,
                next_review_on,
            },
        ),
        Ev::FileClosed {
            reason,
            note,
            closed_by,
            closed_at,
            ..
        } => (closed_by, closed_at, C::CloseFile { reason, note }),
        Ev::FileReopened {
            reason,
            reopened_by,
            reopened_at,
            ..
        } => (reopened_by, reopened_at, C::ReopenFile { reason }),
    };
    Some(command(who.as_str(), minutes_of(when), body))
}

#[test]
fn every_sample_event_is_what_its_command_produces() {
    let events = sample_events();
    let mut commands_run = BTreeSet::new();
    for (i, event) in events.iter().enumerate() {
        let Some(cmd) = command_for(event) else {
            continue;
        };
        commands_run.insert(
            format!("{:?}", cmd.body)
                .split([' ', '{'])
                .next()
                .unwrap()
                .to_string(),
        );
        let mut expected = vec![event.clone()];
        if let Ev::VisitLogged {
            cash_handover: Some(_),
            ..
        } = event
        {
            expected.push(events[i + 1].clone());
        }
        TestFramework::<HardshipFile>::with(services(Lookup::Free))
            .given(events[..i].to_vec())
            .when(cmd)
            .then_expect_events(expected);
    }
    // All thirteen commands are exercised by the story.
    assert_eq!(commands_run.len(), 13, "{commands_run:?}");
}

#[test]
fn the_story_leaves_the_file_as_a_caseworker_would_expect() {
    let file = fold(&sample_events());
    assert_eq!(
        file.status(),
        &FileStatus::Closed(Closure::Ended {
            reason: ClosureReason::LiftedOut,
            note: short("妻子肾移植术后康复良好，户主稳定就业，家庭人均收入超过低保标准"),
        })
    );
    assert_eq!(file.status().label(Lang::Zh), "已结档");
    assert_eq!(
        file.head_resident_id(),
        Some(&sample_household().head.resident_id)
    );
    assert_eq!(file.opened_on(), Some(date(2026, 3, 1)));
    assert_eq!(file.times_reopened(), 1);
    assert_eq!(file.plan_revision(), 2);
    assert_eq!(file.visits_count(), 3);
    assert_eq!(file.visits()[2].cash_grant_id, Some(code("G-2026-003")));
    assert_eq!(file.reviews_count(), 1);
    assert_eq!(
        file.last_review().map(|r| r.outcome),
        Some(ReviewOutcome::Improving)
    );
    assert_eq!(file.grants().len(), 3);
    assert_eq!(file.outstanding_grants_count(), 0);
    assert_eq!(file.paid_total_fen(), yuan(6_800));

    let m1 = file.measure(&code("M-01")).unwrap();
    assert_eq!(
        (m1.planned_fen(), m1.paid_fen, m1.remaining_fen()),
        (yuan(15_000), yuan(6_000), yuan(9_000))
    );
    // The declined request freed its amount.
    let m2 = file.measure(&code("M-02")).unwrap();
    assert_eq!((m2.pending_fen, m2.committed_fen()), (Fen::ZERO, Fen::ZERO));
    assert!(file.measure(&code("M-03")).unwrap().completed);
    assert!(matches!(
        file.grant(&code("G-2026-002")).unwrap().status,
        GrantStatus::Declined { .. }
    ));
    assert!(matches!(
        &file.grant(&code("G-2026-003")).unwrap().status,
        GrantStatus::Paid { method: PaymentMethod::Cash { .. }, approved_by, .. }
            if approved_by.as_str() == "zheng.hua"
    ));
}

#[test]
fn amounts_move_between_pending_approved_and_paid() {
    let m = |events: Vec<Ev>| fold(&events).measure(&code("M-01")).unwrap().clone();
    let p = m(grant_pending());
    assert_eq!(
        (p.pending_fen, p.approved_fen, p.paid_fen),
        (yuan(6_000), Fen::ZERO, Fen::ZERO)
    );
    let a = m(grant_approved());
    assert_eq!(
        (a.pending_fen, a.approved_fen, a.paid_fen),
        (Fen::ZERO, yuan(6_000), Fen::ZERO)
    );
    let d = m(grant_paid());
    assert_eq!(
        (d.pending_fen, d.approved_fen, d.paid_fen),
        (Fen::ZERO, Fen::ZERO, yuan(6_000))
    );
    assert_eq!(d.remaining_fen(), yuan(6_000));
}

// ---- OpenFile -------------------------------------------------------------

#[test]
fn sample_open_file_is_accepted_with_the_default_test_context() {
    let events = TestFramework::<HardshipFile>::with(services(Lookup::Free))
        .given_no_previous_events()
        .when(crate::testing::cmd(
            "lin.xiaomei",
            Role::Caseworker,
            sample_open_file(),
        ))
        .inspect_result()
        .unwrap();
    assert_eq!(events, prefix(1));
}

#[test]
fn open_file_accepted() {
    accepts(vec![], "lin.xiaomei", DAY, sample_open_file());
    // Exactly MAX_MEMBERS members is fine.
    let full = open_with(|h| h.members = vec![member(2010); MAX_MEMBERS]);
    let events = accepts(vec![], "lin.xiaomei", DAY, full);
    assert!(
        matches!(&events[..], [Ev::FileOpened { household, opened_by, opened_at, .. }]
        if household.members.len() == MAX_MEMBERS && opened_by.as_str() == "lin.xiaomei" && *opened_at == at(DAY))
    );
}

#[test]
fn open_file_refusals() {
    refuses(
        opened(),
        "lin.xiaomei",
        DAY,
        sample_open_file(),
        "hardship_file.already_opened",
    );
    refuses(
        rejected(),
        "lin.xiaomei",
        DAY,
        sample_open_file(),
        "hardship_file.already_opened",
    );
    refuses(
        vec![],
        "lin.xiaomei",
        DAY,
        open_with(|h| h.causes.clear()),
        "hardship_file.no_causes",
    );
    refuses(
        vec![],
        "lin.xiaomei",
        DAY,
        open_with(|h| {
            h.causes = vec![
                HardshipCause::Illness,
                HardshipCause::JobLoss,
                HardshipCause::Illness,
            ]
        }),
        "hardship_file.duplicate_cause",
    );
    refuses(
        vec![],
        "lin.xiaomei",
        DAY,
        open_with(|h| h.members = vec![member(2010); MAX_MEMBERS + 1]),
        "hardship_file.too_many_members",
    );
    for bad in [1899, 2027] {
        refuses(
            vec![],
            "lin.xiaomei",
            DAY,
            open_with(|h| h.members.push(member(bad))),
            "hardship_file.bad_birth_year",
        );
    }
    // Recorded on 2026-03-01, dated 2026-03-02.
    let tomorrow = C::OpenFile {
        household: sample_household(),
        opened_on: date(2026, 3, 2),
    };
    refuses(
        vec![],
        "lin.xiaomei",
        0,
        tomorrow,
        "hardship_file.opened_in_future",
    );
    refuses_with(
        Lookup::Taken("HF-2025-0042"),
        vec![],
        "lin.xiaomei",
        DAY,
        sample_open_file(),
        "hardship_file.resident_has_open_file",
    );
    refuses_with(
        Lookup::Down,
        vec![],
        "lin.xiaomei",
        DAY,
        sample_open_file(),
        "hardship_file.service_unavailable",
    );
}

#[test]
fn resident_conflict_names_the_other_file() {
    let err = run(
        Lookup::Taken("HF-2025-0042"),
        vec![],
        "lin.xiaomei",
        DAY,
        sample_open_file(),
    )
    .unwrap_err();
    assert_eq!(
        err,
        E::ResidentHasOpenFile {
            file_id: "HF-2025-0042".into()
        }
    );
    assert!(err.localize(Lang::Zh).contains("HF-2025-0042"));
}

// ---- LogVisit -------------------------------------------------------------

#[test]
fn log_visit_accepted_on_unverified_and_verified_files() {
    for given in [opened(), reopened(), planned()] {
        let events = accepts(
            given,
            "lin.xiaomei",
            LATE,
            visit("V-X", VisitKind::FollowUp),
        );
        assert!(matches!(
            &events[..],
            [Ev::VisitLogged {
                cash_handover: None,
                ..
            }]
        ));
    }
}

#[test]
fn log_visit_refusals() {
    let v = || visit("V-NEW", VisitKind::FollowUp);
    refuses(vec![], "lin.xiaomei", LATE, v(), "hardship_file.not_opened");
    refuses(
        rejected(),
        "lin.xiaomei",
        LATE,
        v(),
        "hardship_file.file_closed",
    );
    refuses(
        closed(),
        "lin.xiaomei",
        LATE,
        v(),
        "hardship_file.file_closed",
    );
    refuses(
        visited(),
        "lin.xiaomei",
        LATE,
        visit("V-2026-001", VisitKind::FollowUp),
        "hardship_file.duplicate_visit",
    );
    // 2027-02-01 visit recorded on 2027-01-31.
    refuses(
        opened(),
        "lin.xiaomei",
        336 * DAY,
        v(),
        "hardship_file.visit_in_future",
    );
    let no_one = with_visit(|c| {
        if let C::LogVisit { caseworkers, .. } = c {
            caseworkers.clear();
        }
    });
    refuses(
        opened(),
        "lin.xiaomei",
        LATE,
        no_one,
        "hardship_file.no_caseworkers",
    );
    let crowd = with_visit(|c| {
        if let C::LogVisit { caseworkers, .. } = c {
            *caseworkers = ["甲", "乙", "丙", "丁", "戊", "己"].map(name).to_vec();
        }
    });
    refuses(
        opened(),
        "lin.xiaomei",
        LATE,
        crowd,
        "hardship_file.too_many_caseworkers",
    );
    let twice = with_visit(|c| {
        if let C::LogVisit { caseworkers, .. } = c {
            caseworkers.push(name("林晓梅"));
        }
    });
    refuses(
        opened(),
        "lin.xiaomei",
        LATE,
        twice,
        "hardship_file.duplicate_caseworker",
    );
    let fact_twice = with_visit(|c| {
        if let C::LogVisit { facts_verified, .. } = c {
            *facts_verified = vec![
                VerifiedFact::Income,
                VerifiedFact::Housing,
                VerifiedFact::Income,
            ];
        }
    });
    refuses(
        opened(),
        "lin.xiaomei",
        LATE,
        fact_twice,
        "hardship_file.duplicate_fact",
    );

    let mut full = opened();
    full.extend((0..MAX_VISITS).map(|i| visit_event(&format!("V-{i}"), VisitKind::FollowUp, 2)));
    refuses(
        full,
        "lin.xiaomei",
        LATE,
        v(),
        "hardship_file.too_many_visits",
    );
}

#[test]
fn cash_at_the_door_needs_a_matching_approved_cash_grant() {
    let eight_hundred = yuan(800);
    refuses(
        cash_approved(),
        "lin.xiaomei",
        LATE,
        cash_visit("G-NOPE", eight_hundred),
        "hardship_file.unknown_grant",
    );
    // Requested but not yet approved.
    refuses(
        prefix(14),
        "lin.xiaomei",
        LATE,
        cash_visit("G-2026-003", eight_hundred),
        "hardship_file.grant_not_approved",
    );
    // Declined.
    refuses(
        cash_approved(),
        "lin.xiaomei",
        LATE,
        cash_visit("G-2026-002", yuan(3_000)),
        "hardship_file.grant_not_approved",
    );
    // Paid already: by bank, and (after the festival visit) in cash.
    refuses(
        cash_approved(),
        "lin.xiaomei",
        LATE,
        cash_visit("G-2026-001", yuan(6_000)),
        "hardship_file.grant_already_paid",
    );
    refuses(
        prefix(17),
        "lin.xiaomei",
        LATE,
        cash_visit("G-2026-003", eight_hundred),
        "hardship_file.grant_already_paid",
    );
    // Wrong amount on the receipt.
    let err = run(
        Lookup::Free,
        cash_approved(),
        "lin.xiaomei",
        LATE,
        cash_visit("G-2026-003", yuan(500)),
    )
    .unwrap_err();
    assert_eq!(
        err,
        E::CashGrantMismatch {
            grant_id: code("G-2026-003"),
            grant_amount_fen: eight_hundred,
            payable_in_cash: true
        }
    );
    // An approved bank-transfer grant cannot be handed over in cash.
    refuses(
        grant_approved(),
        "lin.xiaomei",
        LATE,
        cash_visit("G-2026-001", yuan(6_000)),
        "hardship_file.cash_grant_mismatch",
    );
}

#[test]
fn cash_at_the_door_writes_the_visit_then_the_payment() {
    let events = accepts(
        cash_approved(),
        "lin.xiaomei",
        LATE,
        cash_visit("G-2026-003", yuan(800)),
    );
    assert_eq!(events.len(), 2);
    assert!(matches!(&events[0], Ev::VisitLogged { visit_id, .. } if visit_id.as_str() == "V-NEW"));
    assert_eq!(
        events[1],
        Ev::GrantPaid {
            grant_id: code("G-2026-003"),
            measure_id: code("M-03"),
            amount_fen: yuan(800),
            fund: Fund::Festival,
            method: PaymentMethod::Cash {
                visit_id: code("V-NEW"),
                signed_by: name("陈建国")
            },
            paid_on: date(2027, 2, 1),
            recorded_by: code("lin.xiaomei"),
            recorded_at: at(LATE),
        }
    );
}

// ---- Verify ---------------------------------------------------------------

#[test]
fn verify_accepted() {
    let events = accepts(visited(), "zheng.hua", LATE, confirm());
    assert_eq!(
        events,
        vec![Ev::FileVerified {
            note: short("属实"),
            verified_by: code("zheng.hua"),
            verified_at: at(LATE)
        }]
    );
    assert!(fold(&[visited(), events].concat()).is_verified());
}

#[test]
fn rejection_closes_the_file_and_releases_the_resident_id() {
    let reject = C::Verify {
        outcome: VerificationOutcome::Rejected {
            reason: short("收入高于标准"),
        },
    };
    let events = accepts(visited(), "zheng.hua", LATE, reject);
    let rid = sample_household().head.resident_id;
    assert_eq!(
        events,
        vec![Ev::VerificationRejected {
            reason: short("收入高于标准"),
            resident_id: rid.clone(),
            rejected_by: code("zheng.hua"),
            rejected_at: at(LATE)
        }]
    );
    assert_eq!(
        events[0].reservations(),
        vec![Reservation::Release {
            scope: Scope::OpenFileByResident,
            key: rid.expose().to_string()
        }]
    );
    let file = fold(&[visited(), events].concat());
    assert!(!file.is_open());
    assert_eq!(file.status().label(Lang::En), "closed: not eligible");
}

#[test]
fn verify_refusals() {
    refuses(
        vec![],
        "zheng.hua",
        LATE,
        confirm(),
        "hardship_file.not_opened",
    );
    refuses(
        rejected(),
        "zheng.hua",
        LATE,
        confirm(),
        "hardship_file.file_closed",
    );
    refuses(
        verified(),
        "zheng.hua",
        LATE,
        confirm(),
        "hardship_file.already_verified",
    );
    refuses(
        opened(),
        "zheng.hua",
        LATE,
        confirm(),
        "hardship_file.no_verification_visit",
    );
    // A follow-up visit is not a verification visit.
    let mut followed = opened();
    followed.push(visit_event("V-F", VisitKind::FollowUp, 2));
    refuses(
        followed,
        "zheng.hua",
        LATE,
        confirm(),
        "hardship_file.no_verification_visit",
    );
    // After reopening, the visit before the rejection no longer counts.
    refuses(
        reopened(),
        "zheng.hua",
        LATE,
        confirm(),
        "hardship_file.no_verification_visit",
    );
    // Whoever opened (or reopened) the file cannot verify it, whatever the role.
    refuses(
        visited(),
        "lin.xiaomei",
        LATE,
        confirm(),
        "hardship_file.four_eyes",
    );
    refuses(
        prefix(5),
        "lin.xiaomei",
        LATE,
        confirm(),
        "hardship_file.four_eyes",
    );
}

// ---- AdoptPlan ------------------------------------------------------------

fn adopt(measures: Vec<MeasureSpec>) -> C {
    C::AdoptPlan {
        goal: short("两年内解困脱困"),
        measures,
    }
}

#[test]
fn dates_that_contradict_the_file_are_refused() {
    // Opened 2026-03-01: a visit dated the day before is refused, that day is not.
    let mut before = visit("V-EARLY", VisitKind::FollowUp);
    if let C::LogVisit { visited_on, .. } = &mut before {
        *visited_on = date(2026, 2, 28);
    }
    refuses(
        opened(),
        "lin.xiaomei",
        LATE,
        before,
        "hardship_file.visit_before_opening",
    );
    let mut same_day = visit("V-SAME", VisitKind::FollowUp);
    if let C::LogVisit { visited_on, .. } = &mut same_day {
        *visited_on = date(2026, 3, 1);
    }
    accepts(opened(), "lin.xiaomei", LATE, same_day);

    // G-2026-001 approved at(35 days) = 2026-04-05: paid 04-04 is before it.
    let approved_on = at(35 * DAY).date_naive();
    let pay = |paid_on| C::RecordGrantPaid {
        grant_id: code("G-2026-001"),
        paid_on,
        reference: code("PAY-1"),
    };
    let day_before = approved_on.pred_opt().unwrap();
    refuses(
        grant_approved(),
        "wu.jing",
        LATE,
        pay(day_before),
        "hardship_file.paid_before_approval",
    );
    accepts(grant_approved(), "wu.jing", LATE, pay(approved_on));

    // Cash handed over at a visit dated before the cash grant's approval.
    let approved_cash = match &cash_approved()[14] {
        Ev::GrantApproved { approved_at, .. } => approved_at.date_naive(),
        other => panic!("sample event 14 is {other:?}"),
    };
    let mut early_cash = cash_visit("G-2026-003", yuan(800));
    if let C::LogVisit { visited_on, .. } = &mut early_cash {
        *visited_on = approved_cash.pred_opt().unwrap();
    }
    refuses(
        cash_approved(),
        "lin.xiaomei",
        LATE,
        early_cash,
        "hardship_file.paid_before_approval",
    );

    // A measure due before the day the plan is adopted (LATE = 2027-10-22),
    // and on revision before the day it was first adopted (2026-04-03).
    let mut due = spec(
        "A",
        MeasureKind::LegalAid,
        Fen::ZERO,
        Fund::SpecialAssistance,
    );
    due.due_on = date(2027, 10, 21);
    refuses(
        verified(),
        "zheng.hua",
        LATE,
        adopt(vec![due.clone()]),
        "hardship_file.measure_due_before_adoption",
    );
    due.due_on = date(2027, 10, 22);
    accepts(verified(), "zheng.hua", LATE, adopt(vec![due]));
    refuses(
        planned(),
        "zheng.hua",
        LATE,
        revised_measures(|m| m[0].due_on = at(33 * DAY).date_naive().pred_opt().unwrap()),
        "hardship_file.measure_due_before_adoption",
    );
}

#[test]
fn adopt_plan_accepted_with_non_monetary_measures_at_zero() {
    let measures = vec![
        spec(
            "A",
            MeasureKind::LegalAid,
            Fen::ZERO,
            Fund::SpecialAssistance,
        ),
        spec(
            "B",
            MeasureKind::EmploymentAssistance,
            Fen::ZERO,
            Fund::SpecialAssistance,
        ),
        spec("C", MeasureKind::LoveCard, yuan(500), Fund::Donation),
    ];
    let events = accepts(verified(), "zheng.hua", LATE, adopt(measures.clone()));
    assert_eq!(
        events,
        vec![Ev::PlanAdopted {
            revision: 1,
            goal: short("两年内解困脱困"),
            measures,
            adopted_by: code("zheng.hua"),
            adopted_at: at(LATE)
        }]
    );
}

#[test]
fn adopt_plan_refusals() {
    let ok = plan_measures;
    refuses(
        vec![],
        "zheng.hua",
        LATE,
        adopt(ok()),
        "hardship_file.not_opened",
    );
    refuses(
        visited(),
        "zheng.hua",
        LATE,
        adopt(ok()),
        "hardship_file.not_verified",
    );
    refuses(
        rejected(),
        "zheng.hua",
        LATE,
        adopt(ok()),
        "hardship_file.file_closed",
    );
    refuses(
        planned(),
        "zheng.hua",
        LATE,
        adopt(ok()),
        "hardship_file.plan_exists",
    );
    // A reopened, re-verified file keeps its plan: revise it, don't adopt another.
    refuses(
        reverified(),
        "zheng.hua",
        LATE,
        adopt(ok()),
        "hardship_file.plan_exists",
    );
    refuses(
        verified(),
        "zheng.hua",
        LATE,
        adopt(vec![]),
        "hardship_file.no_measures",
    );
    let many = (0..=MAX_MEASURES)
        .map(|i| {
            spec(
                &format!("M{i}"),
                MeasureKind::LivingRelief,
                yuan(100),
                Fund::SpecialAssistance,
            )
        })
        .collect();
    refuses(
        verified(),
        "zheng.hua",
        LATE,
        adopt(many),
        "hardship_file.too_many_measures",
    );
    let dup = vec![
        spec(
            "M",
            MeasureKind::LivingRelief,
            yuan(100),
            Fund::SpecialAssistance,
        ),
        spec(
            "M",
            MeasureKind::MedicalRelief,
            yuan(100),
            Fund::SpecialAssistance,
        ),
    ];
    refuses(
        verified(),
        "zheng.hua",
        LATE,
        adopt(dup),
        "hardship_file.duplicate_measure",
    );
    let zero = vec![spec(
        "M",
        MeasureKind::MedicalRelief,
        Fen::ZERO,
        Fund::SpecialAssistance,
    )];
    refuses(
        verified(),
        "zheng.hua",
        LATE,
        adopt(zero),
        "hardship_file.amount_must_be_positive",
    );
    let huge = vec![
        spec(
            "M1",
            MeasureKind::LivingRelief,
            Fen::MAX,
            Fund::SpecialAssistance,
        ),
        spec(
            "M2",
            MeasureKind::LivingRelief,
            yuan(1),
            Fund::SpecialAssistance,
        ),
    ];
    refuses(
        verified(),
        "zheng.hua",
        LATE,
        adopt(huge),
        "hardship_file.amount_overflow",
    );
}

// ---- RevisePlan -----------------------------------------------------------

#[test]
fn revise_plan_accepted() {
    // Raise M-01 while 6,000 yuan is paid; drop M-02 (only a declined grant);
    // keep completed M-03 unchanged; add M-05.
    let measures = {
        let mut m = plan_measures();
        m[0].planned_amount_fen = yuan(20_000);
        m.remove(1);
        m.push(spec(
            "M-05",
            MeasureKind::CataractSurgery,
            yuan(2_000),
            Fund::SpecialAssistance,
        ));
        m
    };
    let events = accepts(measure_done(), "zheng.hua", LATE, revise(measures.clone()));
    assert_eq!(
        events,
        vec![Ev::PlanRevised {
            revision: 3,
            reason: short("调整"),
            goal: short("目标"),
            measures,
            revised_by: code("zheng.hua"),
            revised_at: at(LATE)
        }]
    );
    let file = fold(&[measure_done(), events].concat());
    let m1 = file.measure(&code("M-01")).unwrap();
    assert_eq!((m1.planned_fen(), m1.paid_fen), (yuan(20_000), yuan(6_000)));
    assert!(file.measure(&code("M-02")).is_none());
    assert!(file.measure(&code("M-03")).unwrap().completed);
    assert_eq!(
        file.measure(&code("M-05")).unwrap().committed_fen(),
        Fen::ZERO
    );
    // Lowering to exactly what is committed is fine.
    let to_committed = revised_measures(|m| m[0].planned_amount_fen = yuan(6_000));
    accepts(grant_pending(), "zheng.hua", LATE, to_committed);
    // A reopened file, once verified again, revises its old plan.
    let events = accepts(
        reverified(),
        "zheng.hua",
        LATE,
        revised_measures(|m| m[0].planned_amount_fen = yuan(15_000)),
    );
    assert!(matches!(&events[..], [Ev::PlanRevised { revision: 3, .. }]));
}

#[test]
fn revise_plan_refusals() {
    let same = || revise(plan_measures());
    refuses(
        verified(),
        "zheng.hua",
        LATE,
        same(),
        "hardship_file.no_plan",
    );
    refuses(
        visited(),
        "zheng.hua",
        LATE,
        same(),
        "hardship_file.not_verified",
    );
    refuses(
        closed(),
        "zheng.hua",
        LATE,
        same(),
        "hardship_file.file_closed",
    );
    let mut reopened_unverified = closed();
    reopened_unverified.extend(reverified().into_iter().skip(closed().len()).take(1));
    refuses(
        reopened_unverified,
        "zheng.hua",
        LATE,
        same(),
        "hardship_file.not_verified",
    );
    // Measures with money against them: pending, approved or paid.
    for given in [grant_pending(), grant_approved(), grant_paid()] {
        refuses(
            given.clone(),
            "zheng.hua",
            LATE,
            revised_measures(|m| {
                m.remove(0);
            }),
            "hardship_file.measure_in_use",
        );
        refuses(
            given.clone(),
            "zheng.hua",
            LATE,
            revised_measures(|m| m[0].fund = Fund::Donation),
            "hardship_file.measure_in_use",
        );
        refuses(
            given.clone(),
            "zheng.hua",
            LATE,
            revised_measures(|m| m[0].kind = MeasureKind::MedicalRelief),
            "hardship_file.measure_in_use",
        );
        let err = run(
            Lookup::Free,
            given,
            "zheng.hua",
            LATE,
            revised_measures(|m| m[0].planned_amount_fen = yuan(5_999)),
        )
        .unwrap_err();
        assert_eq!(
            err,
            E::PlannedBelowCommitted {
                measure_id: code("M-01"),
                committed_fen: yuan(6_000)
            }
        );
    }
    // A completed measure stays as it was.
    refuses(
        measure_done(),
        "zheng.hua",
        LATE,
        revised_measures(|m| m[2].planned_amount_fen = yuan(900)),
        "hardship_file.measure_completed",
    );
    refuses(
        measure_done(),
        "zheng.hua",
        LATE,
        revised_measures(|m| {
            m.remove(2);
        }),
        "hardship_file.measure_completed",
    );
    // Shape checks are the adoption's.
    refuses(
        planned(),
        "zheng.hua",
        LATE,
        revise(vec![]),
        "hardship_file.no_measures",
    );
    refuses(
        planned(),
        "zheng.hua",
        LATE,
        revised_measures(|m| m.push(m[0].clone())),
        "hardship_file.duplicate_measure",
    );
    refuses(
        planned(),
        "zheng.hua",
        LATE,
        revised_measures(|m| m[1].planned_amount_fen = Fen::ZERO),
        "hardship_file.amount_must_be_positive",
    );
    let many = revise(
        (0..=MAX_MEASURES)
            .map(|i| {
                spec(
                    &format!("M{i}"),
                    MeasureKind::LivingRelief,
                    yuan(1),
                    Fund::Festival,
                )
            })
            .collect(),
    );
    refuses(
        planned(),
        "zheng.hua",
        LATE,
        many,
        "hardship_file.too_many_measures",
    );
    let huge = revised_measures(|m| {
        m[1].planned_amount_fen = Fen::MAX;
    });
    refuses(
        planned(),
        "zheng.hua",
        LATE,
        huge,
        "hardship_file.amount_overflow",
    );
    // Revision limit.
    let mut worn = planned();
    worn.push(Ev::PlanRevised {
        revision: MAX_PLAN_REVISIONS,
        reason: short("调整"),
        goal: short("目标"),
        measures: plan_measures(),
        revised_by: code("zheng.hua"),
        revised_at: at(LATE),
    });
    refuses(
        worn,
        "zheng.hua",
        LATE,
        same(),
        "hardship_file.too_many_revisions",
    );
}

// ---- RequestGrant ---------------------------------------------------------

#[test]
fn request_grant_accepted_up_to_the_remaining_amount() {
    let body = C::RequestGrant {
        grant_id: code("G-9"),
        measure_id: code("M-01"),
        amount_fen: yuan(6_000),
        payee: Payee::BankTransfer {
            card: BankCard::parse("6217005901234567897").unwrap(),
            account_name: name("陈建国"),
        },
        note: Some(short("第三季度")),
    };
    let events = accepts(grant_paid(), "lin.xiaomei", LATE, body);
    assert_eq!(
        events,
        vec![Ev::GrantRequested {
            grant_id: code("G-9"),
            measure_id: code("M-01"),
            amount_fen: yuan(6_000),
            fund: Fund::SpecialAssistance,
            payee: Payee::BankTransfer {
                card: BankCard::parse("6217005901234567897").unwrap(),
                account_name: name("陈建国"),
            },
            requested_by: code("lin.xiaomei"),
            requested_at: at(LATE),
            note: Some(short("第三季度")),
        }]
    );
}

#[test]
fn request_grant_refusals() {
    let r = |amount| request("G-9", "M-01", amount);
    refuses(
        vec![],
        "lin.xiaomei",
        LATE,
        r(yuan(1)),
        "hardship_file.not_opened",
    );
    refuses(
        visited(),
        "lin.xiaomei",
        LATE,
        r(yuan(1)),
        "hardship_file.not_verified",
    );
    refuses(
        closed(),
        "lin.xiaomei",
        LATE,
        r(yuan(1)),
        "hardship_file.file_closed",
    );
    refuses(
        planned(),
        "lin.xiaomei",
        LATE,
        request("G-9", "M-99", yuan(1)),
        "hardship_file.unknown_measure",
    );
    refuses(
        verified(),
        "lin.xiaomei",
        LATE,
        r(yuan(1)),
        "hardship_file.unknown_measure",
    );
    refuses(
        grant_paid(),
        "lin.xiaomei",
        LATE,
        request("G-2026-001", "M-01", yuan(1)),
        "hardship_file.duplicate_grant",
    );
    // Declined ids stay used.
    refuses(
        prefix(12),
        "lin.xiaomei",
        LATE,
        request("G-2026-002", "M-02", yuan(1)),
        "hardship_file.duplicate_grant",
    );
    refuses(
        measure_done(),
        "lin.xiaomei",
        LATE,
        request("G-9", "M-03", yuan(1)),
        "hardship_file.measure_completed",
    );
    refuses(
        planned(),
        "lin.xiaomei",
        LATE,
        r(Fen::ZERO),
        "hardship_file.amount_must_be_positive",
    );
    // 12,000 planned, 6,000 paid: 6,000.01 is too much.
    let err = run(
        Lookup::Free,
        grant_paid(),
        "lin.xiaomei",
        LATE,
        r(Fen::new(600_001).unwrap()),
    )
    .unwrap_err();
    assert_eq!(
        err,
        E::ExceedsMeasureRemaining {
            measure_id: code("M-01"),
            remaining_fen: yuan(6_000)
        }
    );
    // Pending and approved amounts count as committed too.
    refuses(
        grant_pending(),
        "lin.xiaomei",
        LATE,
        r(Fen::new(600_001).unwrap()),
        "hardship_file.exceeds_measure_remaining",
    );
    refuses(
        grant_approved(),
        "lin.xiaomei",
        LATE,
        r(Fen::new(600_001).unwrap()),
        "hardship_file.exceeds_measure_remaining",
    );
    // A non-monetary measure planned at zero cannot be paid from.
    refuses(
        planned(),
        "lin.xiaomei",
        LATE,
        request("G-9", "M-04", yuan(1)),
        "hardship_file.exceeds_measure_remaining",
    );

    let mut busy = planned();
    busy.extend((0..MAX_GRANTS).map(|i| Ev::GrantRequested {
        grant_id: code(&format!("G-{i}")),
        measure_id: code("M-01"),
        amount_fen: Fen::new(1).unwrap(),
        fund: Fund::SpecialAssistance,
        payee: Payee::Cash,
        requested_by: code("lin.xiaomei"),
        requested_at: at(LATE),
        note: None,
    }));
    refuses(
        busy,
        "lin.xiaomei",
        LATE,
        r(yuan(1)),
        "hardship_file.too_many_grants",
    );
}

#[test]
fn committed_amounts_that_overflow_are_refused_not_wrapped() {
    // A history no handler would write (planned at the maximum, committed
    // twice over); `apply` saturates and `handle` refuses.
    let max_plan = vec![spec(
        "M",
        MeasureKind::LivingRelief,
        Fen::MAX,
        Fund::SpecialAssistance,
    )];
    let requested = |id: &str| Ev::GrantRequested {
        grant_id: code(id),
        measure_id: code("M"),
        amount_fen: Fen::MAX,
        fund: Fund::SpecialAssistance,
        payee: Payee::Cash,
        requested_by: code("lin.xiaomei"),
        requested_at: at(LATE),
        note: None,
    };
    let mut given = verified();
    given.push(Ev::PlanAdopted {
        revision: 1,
        goal: short("目标"),
        measures: max_plan,
        adopted_by: code("zheng.hua"),
        adopted_at: at(LATE),
    });
    given.push(requested("G-A"));
    given.push(Ev::GrantApproved {
        grant_id: code("G-A"),
        measure_id: code("M"),
        amount_fen: Fen::MAX,
        fund: Fund::SpecialAssistance,
        approved_by: code("zheng.hua"),
        approved_at: at(LATE),
    });
    given.push(requested("G-B"));
    refuses(
        given,
        "lin.xiaomei",
        LATE,
        request("G-C", "M", yuan(1)),
        "hardship_file.amount_overflow",
    );
}

// ---- ApproveGrant / DeclineGrant ------------------------------------------

#[test]
fn approve_grant_accepted_by_anyone_but_the_requester() {
    for approver in ["zheng.hua", "admin"] {
        let events = accepts(grant_pending(), approver, LATE, approve("G-2026-001"));
        assert_eq!(
            events,
            vec![Ev::GrantApproved {
                grant_id: code("G-2026-001"),
                measure_id: code("M-01"),
                amount_fen: yuan(6_000),
                fund: Fund::SpecialAssistance,
                approved_by: code(approver),
                approved_at: at(LATE)
            }]
        );
    }
}

#[test]
fn approve_grant_refusals() {
    refuses(
        vec![],
        "zheng.hua",
        LATE,
        approve("G-2026-001"),
        "hardship_file.not_opened",
    );
    refuses(
        closed(),
        "zheng.hua",
        LATE,
        approve("G-2026-001"),
        "hardship_file.file_closed",
    );
    refuses(
        grant_pending(),
        "zheng.hua",
        LATE,
        approve("G-NOPE"),
        "hardship_file.unknown_grant",
    );
    refuses(
        grant_approved(),
        "zheng.hua",
        LATE,
        approve("G-2026-001"),
        "hardship_file.grant_not_pending",
    );
    refuses(
        grant_paid(),
        "zheng.hua",
        LATE,
        approve("G-2026-001"),
        "hardship_file.grant_not_pending",
    );
    refuses(
        prefix(12),
        "zheng.hua",
        LATE,
        approve("G-2026-002"),
        "hardship_file.grant_not_pending",
    );
    // Four-eyes holds for every role: here the requester acts as admin.
    let mut c = command("lin.xiaomei", LATE, approve("G-2026-001"));
    c.ctx.actor.role = Role::Admin;
    let err = TestFramework::<HardshipFile>::with(services(Lookup::Free))
        .given(grant_pending())
        .when(c)
        .inspect_result()
        .unwrap_err();
    assert_eq!(err.code(), "hardship_file.four_eyes");
}

#[test]
fn decline_grant_accepted_and_frees_the_amount() {
    let events = accepts(grant_pending(), "zheng.hua", LATE, decline("G-2026-001"));
    assert_eq!(
        events,
        vec![Ev::GrantDeclined {
            grant_id: code("G-2026-001"),
            measure_id: code("M-01"),
            amount_fen: yuan(6_000),
            reason: short("材料不全"),
            declined_by: code("zheng.hua"),
            declined_at: at(LATE)
        }]
    );
    let file = fold(&[grant_pending(), events].concat());
    assert_eq!(
        file.measure(&code("M-01")).unwrap().remaining_fen(),
        yuan(12_000)
    );
}

#[test]
fn decline_grant_refusals() {
    refuses(
        vec![],
        "zheng.hua",
        LATE,
        decline("G-2026-001"),
        "hardship_file.not_opened",
    );
    refuses(
        closed(),
        "zheng.hua",
        LATE,
        decline("G-2026-001"),
        "hardship_file.file_closed",
    );
    refuses(
        grant_pending(),
        "zheng.hua",
        LATE,
        decline("G-NOPE"),
        "hardship_file.unknown_grant",
    );
    refuses(
        grant_approved(),
        "zheng.hua",
        LATE,
        decline("G-2026-001"),
        "hardship_file.grant_not_pending",
    );
    refuses(
        prefix(12),
        "zheng.hua",
        LATE,
        decline("G-2026-002"),
        "hardship_file.grant_not_pending",
    );
}

// ---- RecordGrantPaid ------------------------------------------------------

#[test]
fn record_grant_paid_accepted() {
    let events = accepts(grant_approved(), "wu.jing", LATE, record_paid("G-2026-001"));
    assert_eq!(
        events,
        vec![Ev::GrantPaid {
            grant_id: code("G-2026-001"),
            measure_id: code("M-01"),
            amount_fen: yuan(6_000),
            fund: Fund::SpecialAssistance,
            method: PaymentMethod::BankTransfer {
                reference: code("PAY-1")
            },
            paid_on: date(2026, 4, 8),
            recorded_by: code("wu.jing"),
            recorded_at: at(LATE)
        }]
    );
}

#[test]
fn record_grant_paid_refusals() {
    refuses(
        vec![],
        "wu.jing",
        LATE,
        record_paid("G-2026-001"),
        "hardship_file.not_opened",
    );
    refuses(
        closed(),
        "wu.jing",
        LATE,
        record_paid("G-2026-001"),
        "hardship_file.file_closed",
    );
    refuses(
        grant_approved(),
        "wu.jing",
        LATE,
        record_paid("G-NOPE"),
        "hardship_file.unknown_grant",
    );
    refuses(
        grant_pending(),
        "wu.jing",
        LATE,
        record_paid("G-2026-001"),
        "hardship_file.grant_not_approved",
    );
    refuses(
        prefix(12),
        "wu.jing",
        LATE,
        record_paid("G-2026-002"),
        "hardship_file.grant_not_approved",
    );
    // A payout is made at most once.
    refuses(
        grant_paid(),
        "wu.jing",
        LATE,
        record_paid("G-2026-001"),
        "hardship_file.grant_already_paid",
    );
    refuses(
        cash_approved(),
        "wu.jing",
        LATE,
        record_paid("G-2026-003"),
        "hardship_file.cash_grant_needs_visit",
    );
    // Paid on 2026-04-08, recorded on 2026-04-07.
    refuses(
        grant_approved(),
        "wu.jing",
        37 * DAY,
        record_paid("G-2026-001"),
        "hardship_file.paid_in_future",
    );
}

// ---- CompleteMeasure ------------------------------------------------------

#[test]
fn complete_measure_accepted() {
    let events = accepts(grant_paid(), "lin.xiaomei", LATE, complete("M-01"));
    assert_eq!(
        events,
        vec![Ev::MeasureCompleted {
            measure_id: code("M-01"),
            note: short("已办结"),
            planned_amount_fen: yuan(12_000),
            paid_fen: yuan(6_000),
            completed_by: code("lin.xiaomei"),
            completed_at: at(LATE)
        }]
    );
    // Non-monetary measures complete without any grant.
    accepts(planned(), "lin.xiaomei", LATE, complete("M-04"));
}

#[test]
fn complete_measure_refusals() {
    refuses(
        vec![],
        "lin.xiaomei",
        LATE,
        complete("M-01"),
        "hardship_file.not_opened",
    );
    refuses(
        closed(),
        "lin.xiaomei",
        LATE,
        complete("M-01"),
        "hardship_file.file_closed",
    );
    refuses(
        planned(),
        "lin.xiaomei",
        LATE,
        complete("M-99"),
        "hardship_file.unknown_measure",
    );
    refuses(
        measure_done(),
        "lin.xiaomei",
        LATE,
        complete("M-03"),
        "hardship_file.measure_completed",
    );
    refuses(
        grant_pending(),
        "lin.xiaomei",
        LATE,
        complete("M-01"),
        "hardship_file.measure_outstanding_grants",
    );
    refuses(
        grant_approved(),
        "lin.xiaomei",
        LATE,
        complete("M-01"),
        "hardship_file.measure_outstanding_grants",
    );
}

// ---- RecordReview ---------------------------------------------------------

#[test]
fn record_review_accepted() {
    let events = accepts(
        planned(),
        "lin.xiaomei",
        LATE,
        review(date(2026, 10, 1), date(2027, 4, 1)),
    );
    assert_eq!(
        events,
        vec![Ev::ReviewRecorded {
            reviewed_on: date(2026, 10, 1),
            outcome: ReviewOutcome::StillInHardship,
            note: long("仍需透析。"),
            next_review_on: date(2027, 4, 1),
            reviewed_by: code("lin.xiaomei"),
            recorded_at: at(LATE)
        }]
    );
}

#[test]
fn record_review_refusals() {
    let ok = || review(date(2026, 10, 1), date(2027, 4, 1));
    refuses(
        vec![],
        "lin.xiaomei",
        LATE,
        ok(),
        "hardship_file.not_opened",
    );
    refuses(
        closed(),
        "lin.xiaomei",
        LATE,
        ok(),
        "hardship_file.file_closed",
    );
    refuses(
        visited(),
        "lin.xiaomei",
        LATE,
        ok(),
        "hardship_file.not_verified",
    );
    refuses(
        planned(),
        "lin.xiaomei",
        LATE,
        review(date(2026, 10, 1), date(2026, 10, 1)),
        "hardship_file.bad_review_date",
    );
    refuses(
        planned(),
        "lin.xiaomei",
        LATE,
        review(date(2026, 10, 1), date(2026, 9, 1)),
        "hardship_file.bad_review_date",
    );
    refuses(
        planned(),
        "lin.xiaomei",
        100 * DAY,
        ok(),
        "hardship_file.review_in_future",
    );
    let mut many = planned();
    many.extend((0..MAX_REVIEWS).map(|_| Ev::ReviewRecorded {
        reviewed_on: date(2026, 5, 1),
        outcome: ReviewOutcome::StillInHardship,
        note: long("仍需透析。"),
        next_review_on: date(2026, 11, 1),
        reviewed_by: code("lin.xiaomei"),
        recorded_at: at(LATE),
    }));
    refuses(
        many,
        "lin.xiaomei",
        LATE,
        ok(),
        "hardship_file.too_many_reviews",
    );
}

// ---- CloseFile / ReopenFile -----------------------------------------------

#[test]
fn close_file_accepted_even_before_verification() {
    let merged = C::CloseFile {
        reason: ClosureReason::Merged {
            into_file_id: code("HF-2026-0007"),
        },
        note: short("与配偶档案合并"),
    };
    let events = accepts(opened(), "zheng.hua", LATE, merged);
    let rid = sample_household().head.resident_id;
    assert_eq!(
        events,
        vec![Ev::FileClosed {
            reason: ClosureReason::Merged {
                into_file_id: code("HF-2026-0007")
            },
            note: short("与配偶档案合并"),
            resident_id: rid.clone(),
            closed_by: code("zheng.hua"),
            closed_at: at(LATE)
        }]
    );
    assert_eq!(
        events[0].reservations(),
        vec![Reservation::Release {
            scope: Scope::OpenFileByResident,
            key: rid.expose().to_string()
        }]
    );
    // Paid grants do not block closing.
    accepts(grant_paid(), "zheng.hua", LATE, close());
}

#[test]
fn close_file_refusals() {
    refuses(
        vec![],
        "zheng.hua",
        LATE,
        close(),
        "hardship_file.not_opened",
    );
    refuses(
        closed(),
        "zheng.hua",
        LATE,
        close(),
        "hardship_file.file_closed",
    );
    refuses(
        rejected(),
        "zheng.hua",
        LATE,
        close(),
        "hardship_file.file_closed",
    );
    let err = run(Lookup::Free, grant_pending(), "zheng.hua", LATE, close()).unwrap_err();
    assert_eq!(err, E::OutstandingGrants { count: 1 });
    refuses(
        grant_approved(),
        "zheng.hua",
        LATE,
        close(),
        "hardship_file.outstanding_grants",
    );
}

#[test]
fn reopen_file_accepted_after_closure_and_after_rejection() {
    let rid = sample_household().head.resident_id;
    for given in [closed(), rejected()] {
        let events = accepts(given.clone(), "lin.xiaomei", LATE, reopen());
        assert_eq!(
            events,
            vec![Ev::FileReopened {
                reason: short("再次致困"),
                resident_id: rid.clone(),
                reopened_by: code("lin.xiaomei"),
                reopened_at: at(LATE)
            }]
        );
        assert_eq!(
            events[0].reservations(),
            vec![Reservation::Take {
                scope: Scope::OpenFileByResident,
                key: rid.expose().to_string()
            }]
        );
        let file = fold(&[given, events].concat());
        assert_eq!(file.status(), &FileStatus::Open { verified: false });
    }
    // The plan survives as history; grants wait for a new verification.
    let mut again = closed();
    again.extend(accepts(closed(), "lin.xiaomei", LATE, reopen()));
    assert_eq!(fold(&again).plan_revision(), 2);
    refuses(
        again,
        "lin.xiaomei",
        LATE,
        request("G-9", "M-01", yuan(1)),
        "hardship_file.not_verified",
    );
}

#[test]
fn reopen_file_refusals() {
    refuses(
        vec![],
        "lin.xiaomei",
        LATE,
        reopen(),
        "hardship_file.not_opened",
    );
    refuses(
        opened(),
        "lin.xiaomei",
        LATE,
        reopen(),
        "hardship_file.file_not_closed",
    );
    refuses(
        verified(),
        "lin.xiaomei",
        LATE,
        reopen(),
        "hardship_file.file_not_closed",
    );
    refuses_with(
        Lookup::Taken("HF-2026-0099"),
        closed(),
        "lin.xiaomei",
        LATE,
        reopen(),
        "hardship_file.resident_has_open_file",
    );
    refuses_with(
        Lookup::Down,
        closed(),
        "lin.xiaomei",
        LATE,
        reopen(),
        "hardship_file.service_unavailable",
    );
}

#[test]
fn only_opening_closing_and_reopening_touch_reservations() {
    let rid = sample_household().head.resident_id.expose().to_string();
    for event in sample_events() {
        let expected = match event.type_name() {
            "FileOpened" | "FileReopened" => vec![Reservation::Take {
                scope: Scope::OpenFileByResident,
                key: rid.clone(),
            }],
            "FileClosed" | "VerificationRejected" => vec![Reservation::Release {
                scope: Scope::OpenFileByResident,
                key: rid.clone(),
            }],
            _ => vec![],
        };
        assert_eq!(event.reservations(), expected, "{}", event.type_name());
    }
}

// ---- serialization: commands ---------------------------------------------

#[test]
fn commands_are_externally_tagged_and_closed() {
    let json = serde_json::to_value(sample_open_file()).unwrap();
    assert!(json.get("OpenFile").is_some(), "{json}");
    assert_eq!(json["OpenFile"]["household"]["causes"][0], "illness");
    assert_eq!(
        json["OpenFile"]["household"]["monthly_income_per_capita_fen"],
        62_000
    );
    let back: C = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(back, sample_open_file());

    let mut extra = json;
    extra["OpenFile"]["household"]["head"]["nickname"] = "老陈".into();
    assert!(serde_json::from_value::<C>(extra).is_err());

    let cash: C = serde_json::from_str(
        r#"{"RequestGrant":{"grant_id":"G-1","measure_id":"M-01","amount_fen":80000,"payee":"cash","note":null}}"#,
    )
    .unwrap();
    assert_eq!(cash, request("G-1", "M-01", yuan(800)));
    let bad_id = r#"{"ReopenFile":{"reason":"x","resident_id":"1"}}"#;
    assert!(serde_json::from_str::<C>(bad_id).is_err());
}

// ---- golden JSON ----------------------------------------------------------

fn golden_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/hardship_file")
}

#[test]
fn events_match_their_golden_json() {
    let update = std::env::var("BANGFU_UPDATE_GOLDEN").is_ok_and(|v| v == "1");
    let dir = golden_dir();
    if update {
        std::fs::create_dir_all(&dir).unwrap();
    }
    let mut seen: std::collections::BTreeMap<String, usize> = Default::default();
    for event in sample_events() {
        // Every sample event is pinned: the first of a type in `<Type>.json`,
        // later ones (other shapes: cash payments, cash payees) in `<Type>.<n>.json`.
        let n = seen.entry(event.event_type()).or_default();
        *n += 1;
        assert_eq!(event.event_version(), crate::EVENT_VERSION_1);
        let path = if *n == 1 {
            dir.join(format!("{}.json", event.event_type()))
        } else {
            dir.join(format!("{}.{n}.json", event.event_type()))
        };
        let json = serde_json::to_string_pretty(&event).unwrap() + "\n";
        if update {
            std::fs::write(&path, &json).unwrap();
        }
        let golden = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!("{}: {e} (run with BANGFU_UPDATE_GOLDEN=1)", path.display())
        });
        assert_eq!(json, golden, "{} changed shape", event.event_type());
        let back: Ev = serde_json::from_str(&golden).unwrap();
        assert_eq!(back, event);
    }
}

#[test]
fn every_event_type_has_a_sample_and_a_golden_file() {
    let sampled: BTreeSet<&str> = sample_events().iter().map(Ev::type_name).collect();
    let all: BTreeSet<&str> = Ev::TYPES.into_iter().collect();
    assert_eq!(sampled, all);
    for t in Ev::TYPES {
        assert!(
            golden_dir().join(format!("{t}.json")).is_file(),
            "no golden file for {t}"
        );
    }
    // Golden files for types that no longer exist are a mistake too.
    for entry in std::fs::read_dir(golden_dir()).unwrap() {
        let file = entry.unwrap().file_name().into_string().unwrap();
        let t = file.trim_end_matches(".json");
        let t = t.split_once('.').map_or(t, |(t, _)| t);
        assert!(all.contains(t), "stray golden file {file}");
    }
}

#[test]
fn event_type_is_the_json_tag() {
    for event in sample_events() {
        let json = serde_json::to_value(&event).unwrap();
        let tag = json.as_object().unwrap().keys().next().unwrap().clone();
        assert_eq!(tag, event.event_type());
    }
}

// ---- replay properties ----------------------------------------------------

proptest! {
    #[test]
    fn replaying_a_prefix_twice_gives_the_same_state(n in 0usize..=20) {
        let events = prefix(n);
        let a = fold(&events);
        let b = fold(&events);
        prop_assert_eq!(&a, &b);
        let snapshot = serde_json::to_string(&a).unwrap();
        let restored: HardshipFile = serde_json::from_str(&snapshot).unwrap();
        prop_assert_eq!(restored, a);
    }

    /// Random grant traffic against a plan: refused commands change nothing,
    /// no measure is ever committed beyond its plan, paid money only grows,
    /// and replaying the accepted events rebuilds the live state.
    #[test]
    fn grant_traffic_keeps_the_books(
        ops in prop::collection::vec((0u8..6, 0usize..4, 0i64..1_300_000, 0usize..3), 1..40)
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let svc = services(Lookup::Free);
        let mut history = planned();
        let mut file = fold(&history);
        let users = ["lin.xiaomei", "zheng.hua", "wu.jing"];
        let measure_ids = ["M-01", "M-02", "M-03", "M-04"];
        let mut paid_before = Fen::ZERO;
        for (i, (op, m, amount, u)) in ops.into_iter().enumerate() {
            let grant = format!("G-{}", i.saturating_sub(usize::from(op > 0)));
            let body = match op {
                0 => request(&grant, measure_ids[m], Fen::new(amount).unwrap()),
                1 => approve(&grant),
                2 => decline(&grant),
                3 => record_paid(&grant),
                4 => cash_visit(&grant, Fen::new(amount).unwrap()),
                _ => complete(measure_ids[m]),
            };
            let body = match (op, body) {
                (0, C::RequestGrant { grant_id, measure_id, amount_fen, note, .. }) if u == 0 => C::RequestGrant {
                    grant_id, measure_id, amount_fen, note,
                    payee: Payee::BankTransfer {
                        card: BankCard::parse("6217005901234567897").unwrap(),
                        account_name: name("陈建国"),
                    },
                },
                (4, C::LogVisit { visit_id: _, visited_on, kind, caseworkers, findings, facts_verified, contact_card_issued, cash_handover }) => C::LogVisit {
                    visit_id: code(&format!("V-{i}")), visited_on, kind, caseworkers, findings, facts_verified, contact_card_issued, cash_handover,
                },
                (_, b) => b,
            };
            let before = file.clone();
            let result = rt.block_on(async {
                let sink = EventSink::default();
                file.handle(command(users[u], LATE, body), &svc, &sink).await.map(|()| sink)
            });
            match result {
                Ok(sink) => history.extend(rt.block_on(sink.collect())),
                Err(_) => prop_assert_eq!(&file, &before),
            }
            for measure in file.measures() {
                prop_assert!(measure.committed_fen() <= measure.planned_fen());
            }
            prop_assert!(file.paid_total_fen() >= paid_before);
            paid_before = file.paid_total_fen();
        }
        prop_assert_eq!(fold(&history), file);
    }
}

// ---- error codes and labels -----------------------------------------------

/// One example of every error variant. `variant_index` is an exhaustive
/// match, so a new variant fails to compile until it is listed there, and
/// the test below fails until it is listed here.
fn every_error() -> Vec<E> {
    let id = code("X-1");
    vec![
        E::AlreadyOpened,
        E::NotOpened,
        E::ResidentHasOpenFile {
            file_id: "HF-1".into(),
        },
        E::NoCauses,
        E::DuplicateCause {
            cause: HardshipCause::Illness,
        },
        E::TooManyMembers {
            max: 20,
            actual: 21,
        },
        E::BadBirthYear {
            position: 2,
            birth_year: 1899,
        },
        E::OpenedInFuture {
            opened_on: date(2030, 1, 1),
        },
        E::FileClosed,
        E::FileNotClosed,
        E::DuplicateVisit {
            visit_id: id.clone(),
        },
        E::VisitInFuture {
            visited_on: date(2030, 1, 1),
        },
        E::TooManyVisits { max: MAX_VISITS },
        E::NoCaseworkers,
        E::TooManyCaseworkers { max: 5, actual: 6 },
        E::DuplicateCaseworker { position: 2 },
        E::DuplicateFact {
            fact: VerifiedFact::Income,
        },
        E::NoVerificationVisit,
        E::AlreadyVerified,
        E::NotVerified,
        E::FourEyes,
        E::PlanExists,
        E::NoPlan,
        E::NoMeasures,
        E::TooManyMeasures {
            max: 20,
            actual: 21,
        },
        E::DuplicateMeasure {
            measure_id: id.clone(),
        },
        E::UnknownMeasure {
            measure_id: id.clone(),
        },
        E::MeasureCompleted {
            measure_id: id.clone(),
        },
        E::MeasureInUse {
            measure_id: id.clone(),
        },
        E::PlannedBelowCommitted {
            measure_id: id.clone(),
            committed_fen: yuan(1),
        },
        E::TooManyRevisions {
            max: MAX_PLAN_REVISIONS,
        },
        E::AmountMustBePositive {
            measure_id: id.clone(),
        },
        E::ExceedsMeasureRemaining {
            measure_id: id.clone(),
            remaining_fen: yuan(1),
        },
        E::DuplicateGrant {
            grant_id: id.clone(),
        },
        E::TooManyGrants { max: MAX_GRANTS },
        E::UnknownGrant {
            grant_id: id.clone(),
        },
        E::GrantNotPending {
            grant_id: id.clone(),
        },
        E::GrantNotApproved {
            grant_id: id.clone(),
        },
        E::GrantAlreadyPaid {
            grant_id: id.clone(),
        },
        E::CashGrantMismatch {
            grant_id: id.clone(),
            grant_amount_fen: yuan(1),
            payable_in_cash: true,
        },
        E::CashGrantNeedsVisit {
            grant_id: id.clone(),
        },
        E::PaidInFuture {
            paid_on: date(2030, 1, 1),
        },
        E::OutstandingGrants { count: 1 },
        E::MeasureHasOutstandingGrants { measure_id: id },
        E::BadReviewDate,
        E::ReviewInFuture {
            reviewed_on: date(2030, 1, 1),
        },
        E::TooManyReviews { max: MAX_REVIEWS },
        E::AmountOverflow,
        E::ServiceUnavailable("down".into()),
        E::VisitBeforeOpening {
            visited_on: date(2026, 1, 1),
            opened_on: date(2026, 2, 1),
        },
        E::PaidBeforeApproval {
            paid_on: date(2026, 1, 1),
            approved_on: date(2026, 2, 1),
        },
        E::MeasureDueBeforeAdoption {
            measure_id: code("M-1"),
            due_on: date(2026, 1, 1),
            adopted_on: date(2026, 2, 1),
        },
    ]
}

const ERROR_VARIANTS: usize = 52;

fn variant_index(e: &E) -> usize {
    use HardshipFileError::*;
    match e {
        AlreadyOpened => 0,
        NotOpened => 1,
        ResidentHasOpenFile { .. } => 2,
        NoCauses => 3,
        DuplicateCause { .. } => 4,
        TooManyMembers { .. } => 5,
        BadBirthYear { .. } => 6,
        OpenedInFuture { .. } => 7,
        FileClosed => 8,
        FileNotClosed => 9,
        DuplicateVisit { .. } => 10,
        VisitInFuture { .. } => 11,
        TooManyVisits { .. } => 12,
        NoCaseworkers => 13,
        TooManyCaseworkers { .. } => 14,
        DuplicateCaseworker { .. } => 15,
        DuplicateFact { .. } => 16,
        NoVerificationVisit => 17,
        AlreadyVerified => 18,
        NotVerified => 19,
        FourEyes => 20,
        PlanExists => 21,
        NoPlan => 22,
        NoMeasures => 23,
        TooManyMeasures { .. } => 24,
        DuplicateMeasure { .. } => 25,
        UnknownMeasure { .. } => 26,
        MeasureCompleted { .. } => 27,
        MeasureInUse { .. } => 28,
        PlannedBelowCommitted { .. } => 29,
        TooManyRevisions { .. } => 30,
        AmountMustBePositive { .. } => 31,
        ExceedsMeasureRemaining { .. } => 32,
        DuplicateGrant { .. } => 33,
        TooManyGrants { .. } => 34,
        UnknownGrant { .. } => 35,
        GrantNotPending { .. } => 36,
        GrantNotApproved { .. } => 37,
        GrantAlreadyPaid { .. } => 38,
        CashGrantMismatch { .. } => 39,
        CashGrantNeedsVisit { .. } => 40,
        PaidInFuture { .. } => 41,
        OutstandingGrants { .. } => 42,
        MeasureHasOutstandingGrants { .. } => 43,
        BadReviewDate => 44,
        ReviewInFuture { .. } => 45,
        TooManyReviews { .. } => 46,
        AmountOverflow => 47,
        ServiceUnavailable(_) => 48,
        VisitBeforeOpening { .. } => 49,
        PaidBeforeApproval { .. } => 50,
        MeasureDueBeforeAdoption { .. } => 51,
    }
}

#[test]
fn error_codes_are_unique_stable_and_namespaced() {
    let errors = every_error();
    let indices: BTreeSet<usize> = errors.iter().map(variant_index).collect();
    assert_eq!(
        indices,
        (0..ERROR_VARIANTS).collect(),
        "every_error() must list each variant once"
    );
    let codes: BTreeSet<&str> = errors.iter().map(ErrorCode::code).collect();
    assert_eq!(codes.len(), ERROR_VARIANTS, "codes must be unique");
    for c in &codes {
        let rule = c
            .strip_prefix("hardship_file.")
            .unwrap_or_else(|| panic!("{c}"));
        assert!(
            !rule.is_empty() && rule.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
            "{c}"
        );
    }
    for e in &errors {
        let (zh, en) = (e.localize(Lang::Zh), e.localize(Lang::En));
        assert!(!zh.is_empty() && !en.is_empty() && zh != en, "{}", e.code());
        assert!(!zh.is_ascii(), "{}: Chinese message expected", e.code());
        assert_eq!(e.to_string(), en);
    }
    // The codes the brief asks for by name.
    for rule in [
        "already_opened",
        "not_opened",
        "resident_has_open_file",
        "no_causes",
        "duplicate_cause",
        "too_many_members",
        "file_closed",
        "file_not_closed",
        "duplicate_visit",
        "visit_in_future",
        "too_many_visits",
        "too_many_caseworkers",
        "no_caseworkers",
        "no_verification_visit",
        "already_verified",
        "not_verified",
        "plan_exists",
        "no_plan",
        "too_many_measures",
        "no_measures",
        "duplicate_measure",
        "unknown_measure",
        "measure_completed",
        "measure_in_use",
        "amount_must_be_positive",
        "exceeds_measure_remaining",
        "duplicate_grant",
        "unknown_grant",
        "grant_not_pending",
        "grant_not_approved",
        "grant_already_paid",
        "four_eyes",
        "cash_grant_mismatch",
        "outstanding_grants",
        "bad_review_date",
        "amount_overflow",
        "service_unavailable",
    ] {
        assert!(
            codes.contains(format!("hardship_file.{rule}").as_str()),
            "missing {rule}"
        );
    }
}

#[test]
fn every_label_is_given_in_both_languages() {
    fn both(zh: &str, en: &str) {
        assert!(
            !zh.is_empty() && !en.is_empty() && !zh.is_ascii() && en.is_ascii(),
            "{zh} / {en}"
        );
    }
    for x in Relation::ALL {
        both(x.label(Lang::Zh), x.label(Lang::En));
    }
    for x in Health::ALL {
        both(x.label(Lang::Zh), x.label(Lang::En));
    }
    for x in Schooling::ALL {
        both(x.label(Lang::Zh), x.label(Lang::En));
    }
    for x in HardshipCause::ALL {
        both(x.label(Lang::Zh), x.label(Lang::En));
    }
    for x in VisitKind::ALL {
        both(x.label(Lang::Zh), x.label(Lang::En));
    }
    for x in VerifiedFact::ALL {
        both(x.label(Lang::Zh), x.label(Lang::En));
    }
    for x in MeasureKind::ALL {
        both(x.label(Lang::Zh), x.label(Lang::En));
    }
    for x in ReviewOutcome::ALL {
        both(x.label(Lang::Zh), x.label(Lang::En));
    }
    let reasons = [
        ClosureReason::LiftedOut,
        ClosureReason::MovedAway,
        ClosureReason::Deceased,
        ClosureReason::Merged {
            into_file_id: code("HF-1"),
        },
    ];
    for x in &reasons {
        both(x.label(Lang::Zh), x.label(Lang::En));
    }
    let statuses = [
        FileStatus::NotOpened,
        FileStatus::Open { verified: false },
        FileStatus::Open { verified: true },
        FileStatus::Closed(Closure::NotEligible { reason: short("x") }),
        FileStatus::Closed(Closure::Ended {
            reason: ClosureReason::Deceased,
            note: short("x"),
        }),
    ];
    for x in &statuses {
        both(x.label(Lang::Zh), x.label(Lang::En));
    }
    for g in fold(&sample_events()).grants() {
        both(g.status.label(Lang::Zh), g.status.label(Lang::En));
        both(g.payee.label(Lang::Zh), g.payee.label(Lang::En));
    }
    assert_eq!(HardshipCause::Illness.label(Lang::Zh), "因病");
    assert_eq!(
        MeasureKind::CataractSurgery.label(Lang::Zh),
        "白内障光明工程"
    );
}

#[test]
fn history_lines_mask_personal_identifiers() {
    let household = sample_household();
    let full_id = household.head.resident_id.expose().to_string();
    let full_card = "6217005901234567897";
    for event in sample_events() {
        for lang in [Lang::Zh, Lang::En] {
            let line = event.describe(lang);
            assert!(!line.is_empty() && !event.label(lang).is_empty());
            assert!(!line.contains(&full_id), "{line}");
            assert!(!line.contains(full_card), "{line}");
            assert!(!line.contains(household.head.phone.expose()), "{line}");
        }
    }
    let opened = sample_events()[0].describe(Lang::Zh);
    assert!(
        opened.contains("陈建国") && opened.contains(&household.head.resident_id.masked()),
        "{opened}"
    );
    assert!(
        opened.contains("因病、子女就学") && opened.contains("家庭 4 人"),
        "{opened}"
    );
    let paid = sample_events()[9].describe(Lang::En);
    assert!(
        paid.contains("6000.00 yuan") && paid.contains("PAY-20260408-0012"),
        "{paid}"
    );
    let requested = sample_events()[7].describe(Lang::Zh);
    assert!(requested.contains("6217***********7897"), "{requested}");
}

#[test]
fn sample_household_is_realistic() {
    let h = sample_household();
    assert_eq!(h.head.name.as_str(), "陈建国");
    assert!(h.monthly_income_per_capita_fen < h.local_minimum_standard_fen);
    assert_eq!(h.members[1].age_in_year(2026), 17);
    assert_eq!(h.head.resident_id.birth_date(), date(1978, 3, 12));
}

#[test]
fn measure_kinds_know_whether_they_are_about_money() {
    assert!(!MeasureKind::LegalAid.is_monetary());
    assert!(!MeasureKind::EmploymentAssistance.is_monetary());
    assert!(MeasureKind::DialysisRelief.is_monetary());
    assert!(MeasureKind::LoveCard.is_monetary());
}
