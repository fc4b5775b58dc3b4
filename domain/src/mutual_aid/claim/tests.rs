//! Given/when/then tests of the claim, golden events, replay properties.

use std::sync::Arc;

use chrono::NaiveDate;
use cqrs_es::test::TestFramework;
use cqrs_es::{Aggregate, DomainEvent};
use proptest::prelude::*;

use super::*;
use crate::command::Role;
use crate::i18n::{ErrorCode, Lang, Localize};
use crate::mutual_aid::policy::{sample_policy, Tier};
use crate::mutual_aid::test_support::{check_codes, check_golden};
use crate::mutual_aid::Enrolment;
use crate::reservation::{Reservation, Reserves, Scope};
use crate::services::ServiceError;
use crate::testing::{at, cmd, nth_resident_id};

type E = MutualAidClaimEvent;
type C = MutualAidClaimCommand;
type Err = MutualAidClaimError;

fn code(s: &str) -> Code {
    Code::parse(s).unwrap()
}

fn text(s: &str) -> ShortText {
    ShortText::parse(s).unwrap()
}

fn yuan(v: i64) -> Fen {
    Fen::from_yuan(v).unwrap()
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// In-memory answers to the claim's lookups.
#[derive(Clone)]
struct Fake {
    plan: Option<PlanFacts>,
    enrolment: Option<Enrolment>,
    stay_claimed_by: Option<String>,
    already: Fen,
    down: bool,
}

impl Default for Fake {
    /// Period 7 of 2026 under the sample policy; the member enrolled as a migrant worker.
    fn default() -> Self {
        Fake {
            plan: Some(PlanFacts {
                starts_on: date(2026, 1, 1),
                ends_on: date(2026, 12, 31),
                open: true,
                policy: sample_policy(),
            }),
            enrolment: Some(Enrolment {
                unit_id: code("unit-ptcx-0012"),
                migrant_worker: true,
            }),
            stay_claimed_by: None,
            already: Fen::ZERO,
            down: false,
        }
    }
}

impl Fake {
    fn check(&self) -> Result<(), ServiceError> {
        if self.down {
            Err(ServiceError("store offline".into()))
        } else {
            Ok(())
        }
    }
}

#[async_trait::async_trait]
impl MutualAidClaimServices for Fake {
    async fn plan_period(&self, plan_id: &Code) -> Result<Option<PlanFacts>, ServiceError> {
        self.check()?;
        Ok(self
            .plan
            .clone()
            .filter(|_| plan_id.as_str() == "putian-07"))
    }
    async fn enrolment(
        &self,
        _plan_id: &Code,
        _member: &ResidentId,
    ) -> Result<Option<Enrolment>, ServiceError> {
        self.check()?;
        Ok(self.enrolment.clone())
    }
    async fn stay_claimed_by(
        &self,
        _member: &ResidentId,
        _admitted_on: NaiveDate,
    ) -> Result<Option<String>, ServiceError> {
        self.check()?;
        Ok(self.stay_claimed_by.clone())
    }
    async fn subsidies_in_period(
        &self,
        _plan_id: &Code,
        _member: &ResidentId,
        except_claim: &str,
    ) -> Result<Fen, ServiceError> {
        self.check()?;
        assert_eq!(
            except_claim, "claim-2026-0001",
            "the claim leaves itself out"
        );
        Ok(self.already)
    }
}

fn when_by(fake: Fake, given: Vec<E>, user: &str, role: Role, body: C) -> Result<Vec<E>, Err> {
    TestFramework::<MutualAidClaim>::with(Arc::new(fake))
        .given(given)
        .when(cmd(user, role, body))
        .inspect_result()
}

/// Minutes after `at(0)` of a command on 2026-03-06, the day of the sample payment.
const PAY_DAY: i64 = 7_200;

/// [`when`], the command recorded `minutes` after `at(0)`.
fn when_at(given: Vec<E>, body: C, minutes: i64) -> Result<Vec<E>, Err> {
    let mut command = cmd("li.ming", Role::Approver, body);
    command.ctx.recorded_at = at(minutes);
    TestFramework::<MutualAidClaim>::with(Arc::new(Fake::default()))
        .given(given)
        .when(command)
        .inspect_result()
}

fn when(given: Vec<E>, body: C) -> Result<Vec<E>, Err> {
    when_by(Fake::default(), given, "li.ming", Role::Approver, body)
}

/// Asserts the command is refused with `expected_code` and produces nothing.
fn refused_with(fake: Fake, given: Vec<E>, body: C, expected_code: &str) -> Err {
    match when_by(fake, given, "li.ming", Role::Approver, body) {
        Ok(events) => panic!("expected {expected_code}, got events {events:?}"),
        Err(e) => {
            assert_eq!(e.code(), expected_code, "{e}");
            e
        }
    }
}

fn refused(given: Vec<E>, body: C, expected_code: &str) -> Err {
    refused_with(Fake::default(), given, body, expected_code)
}

fn fold(events: &[E]) -> MutualAidClaim {
    let mut claim = MutualAidClaim::default();
    for e in events {
        claim.apply(e.clone());
    }
    claim
}

fn submit_with(f: impl FnOnce(&mut C)) -> C {
    let mut body = sample_submit();
    f(&mut body);
    body
}

// ---- histories ----

fn submitted() -> Vec<E> {
    sample_events()[..1].to_vec()
}

fn reviewed(complete: bool) -> Vec<E> {
    let mut h = submitted();
    h.push(E::DocumentsReviewed {
        complete,
        note: text("审核"),
        reviewed_by: code("li.ming"),
        reviewed_at: at(0),
    });
    h
}

fn assessed() -> Vec<E> {
    let mut h = reviewed(true);
    h.push(sample_events()[5].clone());
    h
}

fn assessed_ineligible() -> Vec<E> {
    let mut h = reviewed(true);
    let Some(E::ClaimAssessed {
        plan_id,
        member,
        policy_version,
        policy,
        admitted_on,
        period_starts_on,
        period_ends_on,
        mut inputs,
        assessed_by,
        assessed_at,
        ..
    }) = sample_events().into_iter().nth(5)
    else {
        unreachable!()
    };
    inputs.enrolled = false;
    h.push(E::ClaimAssessed {
        plan_id,
        member,
        policy_version,
        policy,
        admitted_on,
        period_starts_on,
        period_ends_on,
        inputs,
        outcome: Assessment::Ineligible {
            reason: RejectReason::NotEnrolled,
        },
        assessed_by,
        assessed_at,
    });
    h
}

fn approved() -> Vec<E> {
    let mut h = assessed();
    h.push(sample_events()[6].clone());
    h
}

fn paid() -> Vec<E> {
    let mut h = approved();
    h.push(sample_events()[7].clone());
    h
}

fn rejected() -> Vec<E> {
    sample_events()[..3].to_vec()
}

fn appealed() -> Vec<E> {
    sample_events()[..4].to_vec()
}

fn reject() -> C {
    C::Reject {
        reason: RejectReason::Other,
        note: text("不符合条件"),
    }
}

fn appeal() -> C {
    C::Appeal {
        grounds: text("补交材料"),
    }
}

fn mark_paid() -> C {
    C::MarkPaid {
        paid_on: date(2026, 3, 6),
        reference: code("MA-2026-000123"),
        card: None,
    }
}

/// Every command other than Submit.
fn later_commands() -> Vec<C> {
    vec![
        C::ReviewDocuments {
            complete: true,
            note: text("齐全"),
        },
        C::Assess {},
        C::Approve {},
        reject(),
        appeal(),
        mark_paid(),
    ]
}

// ---- Submit ----

#[test]
fn submit_records_facts_and_enrolment_snapshot() {
    TestFramework::<MutualAidClaim>::with(Arc::new(Fake::default()))
        .given_no_previous_events()
        .when(cmd("wang.fang", Role::Caseworker, sample_submit()))
        .then_expect_events(submitted());
    let claim = fold(&submitted());
    assert_eq!(claim.status(), Some(ClaimStatus::Submitted));
    assert_eq!(claim.claim_id(), Some(&code("claim-2026-0001")));
    assert_eq!(claim.plan_id(), Some(&code("putian-07")));
    assert_eq!(claim.member(), Some(&nth_resident_id(2)));
    assert_eq!(claim.admitted_on(), Some(date(2026, 2, 10)));
    assert!(claim.holds_stay());
    assert_eq!(claim.submission().unwrap().unit_id, code("unit-ptcx-0012"));
    assert_eq!(
        claim.stay_key(),
        Some(format!("{}/2026-02-10", nth_resident_id(2).expose()))
    );
}

#[test]
fn submit_accepts_a_claim_against_a_closed_period_and_a_same_day_stay() {
    let mut fake = Fake::default();
    if let Some(p) = fake.plan.as_mut() {
        p.open = false;
    }
    let body = submit_with(|c| {
        if let C::Submit {
            discharged_on,
            admitted_on,
            documents,
            other_reimbursement_fen,
            ..
        } = c
        {
            *discharged_on = *admitted_on;
            documents.clear();
            // reimbursements equal to the cost are fine
            *other_reimbursement_fen = yuan(16_000);
        }
    });
    assert!(when_by(fake, vec![], "wang.fang", Role::Caseworker, body).is_ok());
}

#[test]
fn submit_refusals() {
    refused(
        submitted(),
        sample_submit(),
        "mutual_aid_claim.already_submitted",
    );
    refused(
        vec![],
        submit_with(|c| {
            if let C::Submit { discharged_on, .. } = c {
                *discharged_on = date(2026, 2, 9);
            }
        }),
        "mutual_aid_claim.bad_stay_dates",
    );
    refused(
        vec![],
        submit_with(|c| {
            if let C::Submit {
                other_reimbursement_fen,
                ..
            } = c
            {
                *other_reimbursement_fen = Fen::new(1_600_001).unwrap();
            }
        }),
        "mutual_aid_claim.reimbursements_exceed_cost",
    );
    refused(
        vec![],
        submit_with(|c| {
            if let C::Submit {
                other_reimbursement_fen,
                ..
            } = c
            {
                *other_reimbursement_fen = Fen::MAX;
            }
        }),
        "mutual_aid_claim.reimbursements_exceed_cost",
    );
    let err = refused(
        vec![],
        submit_with(|c| {
            if let C::Submit { documents, .. } = c {
                *documents = vec![text("发票"); MAX_DOCUMENTS + 1];
            }
        }),
        "mutual_aid_claim.too_many_documents",
    );
    assert_eq!(err, Err::TooManyDocuments { count: 31 });
    let err = refused(
        vec![],
        submit_with(|c| {
            if let C::Submit { plan_id, .. } = c {
                *plan_id = code("putian-99");
            }
        }),
        "mutual_aid_claim.plan_not_found",
    );
    assert_eq!(err, Err::PlanNotFound(code("putian-99")));
    refused_with(
        Fake {
            enrolment: None,
            ..Fake::default()
        },
        vec![],
        sample_submit(),
        "mutual_aid_claim.not_enrolled",
    );
    let err = refused_with(
        Fake {
            stay_claimed_by: Some("claim-2026-0007".into()),
            ..Fake::default()
        },
        vec![],
        sample_submit(),
        "mutual_aid_claim.stay_already_claimed",
    );
    assert_eq!(
        err.localize(Lang::Zh),
        "该次住院已由申请 claim-2026-0007 申请补助"
    );
    let err = refused_with(
        Fake {
            down: true,
            ..Fake::default()
        },
        vec![],
        sample_submit(),
        "mutual_aid_claim.service_unavailable",
    );
    assert_eq!(err, Err::ServiceUnavailable("store offline".into()));
}

#[test]
fn nothing_but_submit_before_submission() {
    for body in later_commands() {
        refused(vec![], body, "mutual_aid_claim.not_submitted");
    }
}

// ---- ReviewDocuments ----

#[test]
fn review_documents_after_submission_appeal_or_an_earlier_review() {
    let body = C::ReviewDocuments {
        complete: false,
        note: text("缺基本医保结算单"),
    };
    let expected = vec![E::DocumentsReviewed {
        complete: false,
        note: text("缺基本医保结算单"),
        reviewed_by: code("li.ming"),
        reviewed_at: at(0),
    }];
    for given in [submitted(), appealed(), reviewed(false), reviewed(true)] {
        assert_eq!(when(given, body.clone()).unwrap(), expected);
    }
    let claim = fold(&reviewed(false));
    assert_eq!(claim.status(), Some(ClaimStatus::DocumentsReviewed));
    assert_eq!(claim.documents_complete(), Some(false));
}

#[test]
fn review_documents_refusals() {
    let body = C::ReviewDocuments {
        complete: true,
        note: text("齐全"),
    };
    for (given, status) in [
        (assessed(), ClaimStatus::Assessed),
        (approved(), ClaimStatus::Approved),
        (rejected(), ClaimStatus::Rejected),
        (paid(), ClaimStatus::Paid),
    ] {
        let err = refused(given, body.clone(), "mutual_aid_claim.wrong_state");
        assert_eq!(err, Err::WrongState(status));
    }
}

// ---- Assess ----

/// The event of assessing `sample_submit` with `fake`, at `at(0)` by li.ming.
fn assess_with(fake: Fake, given: Vec<E>) -> E {
    let mut events = when_by(fake, given, "li.ming", Role::Approver, C::Assess {}).unwrap();
    assert_eq!(events.len(), 1);
    events.remove(0)
}

fn outcome_of(e: &E) -> &Assessment {
    match e {
        E::ClaimAssessed { outcome, .. } => outcome,
        other => panic!("not an assessment: {other:?}"),
    }
}

#[test]
fn assess_records_policy_inputs_and_outcome() {
    let mut expected = sample_events()[5].clone();
    if let E::ClaimAssessed { assessed_at, .. } = &mut expected {
        *assessed_at = at(0);
    }
    assert_eq!(assess_with(Fake::default(), reviewed(true)), expected);
    // 13,000 net → tier 2: 400 → 520 (+30%) → 676 (migrant +30%).
    assert_eq!(outcome_of(&expected).subsidy_fen(), yuan(676));
    let claim = fold(&assessed());
    assert_eq!(claim.status(), Some(ClaimStatus::Assessed));
    assert_eq!(claim.assessment().unwrap().assessed_by, code("li.ming"));
    // Re-assessing picks up facts that changed meanwhile.
    let again = assess_with(
        Fake {
            already: yuan(5_500),
            ..Fake::default()
        },
        assessed(),
    );
    assert_eq!(outcome_of(&again).subsidy_fen(), yuan(500));
}

#[test]
fn the_assessment_event_alone_re_derives_the_subsidy() {
    for fake in [
        Fake::default(),
        Fake {
            already: yuan(6_000),
            ..Fake::default()
        },
        Fake {
            enrolment: Some(Enrolment {
                unit_id: code("unit-a"),
                migrant_worker: false,
            }),
            ..Fake::default()
        },
    ] {
        let event = assess_with(fake, reviewed(true));
        let E::ClaimAssessed {
            policy_version,
            policy,
            admitted_on,
            period_starts_on,
            period_ends_on,
            inputs,
            outcome,
            ..
        } = event
        else {
            unreachable!()
        };
        assert_eq!(policy_version, policy.version);
        assert_eq!(
            inputs.stay_within_period,
            period_starts_on <= admitted_on && admitted_on <= period_ends_on
        );
        assert_eq!(assess(&policy, &inputs), Ok(outcome));
    }
}

#[test]
fn assess_finds_ineligibility_from_current_facts() {
    // Removed from the roster since submission.
    let e = assess_with(
        Fake {
            enrolment: None,
            ..Fake::default()
        },
        reviewed(true),
    );
    assert_eq!(outcome_of(&e).reason(), Some(RejectReason::NotEnrolled));
    // Admitted before the period starts.
    let mut fake = Fake::default();
    if let Some(p) = fake.plan.as_mut() {
        p.starts_on = date(2026, 2, 11);
    }
    let e = assess_with(fake, reviewed(true));
    assert_eq!(
        outcome_of(&e).reason(),
        Some(RejectReason::StayOutsidePeriod)
    );
    // Admitted on the last day still counts.
    let mut fake = Fake::default();
    if let Some(p) = fake.plan.as_mut() {
        p.ends_on = date(2026, 2, 10);
    }
    assert!(outcome_of(&assess_with(fake, reviewed(true))).is_eligible());
    // Cap reached by other claims.
    let e = assess_with(
        Fake {
            already: yuan(6_000),
            ..Fake::default()
        },
        reviewed(true),
    );
    assert_eq!(outcome_of(&e).reason(), Some(RejectReason::CapReached));
    // Below the threshold.
    let mut small = submitted();
    if let E::ClaimSubmitted(s) = &mut small[0] {
        s.total_cost_fen = yuan(29_999);
    }
    small.extend(reviewed(true).into_iter().skip(1));
    let e = assess_with(Fake::default(), small);
    assert_eq!(outcome_of(&e).reason(), Some(RejectReason::BelowThreshold));
}

#[test]
fn assess_refusals() {
    for given in [submitted(), appealed()] {
        refused(given, C::Assess {}, "mutual_aid_claim.not_reviewed");
    }
    refused(
        reviewed(false),
        C::Assess {},
        "mutual_aid_claim.documents_incomplete",
    );
    for given in [approved(), rejected(), paid()] {
        refused(given, C::Assess {}, "mutual_aid_claim.wrong_state");
    }
    refused_with(
        Fake {
            plan: None,
            ..Fake::default()
        },
        reviewed(true),
        C::Assess {},
        "mutual_aid_claim.plan_not_found",
    );
    refused_with(
        Fake {
            down: true,
            ..Fake::default()
        },
        reviewed(true),
        C::Assess {},
        "mutual_aid_claim.service_unavailable",
    );
    // A policy no period would accept (refused by Policy::validate) cannot
    // crash the handler.
    let mut fake = Fake::default();
    if let Some(p) = fake.plan.as_mut() {
        p.policy.tiers = vec![Tier {
            from_fen: p.policy.threshold_fen,
            amount_fen: Fen::MAX,
        }];
        p.policy.cap_per_member_fen = Fen::MAX;
    }
    refused_with(
        fake,
        reviewed(true),
        C::Assess {},
        "mutual_aid_claim.amount_overflow",
    );
}

// ---- Approve ----

#[test]
fn approve_by_a_second_person() {
    let events = when_by(
        Fake::default(),
        assessed(),
        "zhao.qiang",
        Role::Approver,
        C::Approve {},
    )
    .unwrap();
    let mut expected = sample_events()[6].clone();
    if let E::ClaimApproved { approved_at, .. } = &mut expected {
        *approved_at = at(0);
    }
    assert_eq!(events, vec![expected]);
    let claim = fold(&approved());
    assert_eq!(claim.status(), Some(ClaimStatus::Approved));
    assert_eq!(claim.decided_subsidy_fen(), yuan(676));
    assert_eq!(
        claim.approval().unwrap().policy_version,
        code("putian-07-v1")
    );
    // Exactly at the cap is fine.
    assert!(when_by(
        Fake {
            already: yuan(6_000 - 676),
            ..Fake::default()
        },
        assessed(),
        "zhao.qiang",
        Role::Approver,
        C::Approve {},
    )
    .is_ok());
}

#[test]
fn approve_refusals() {
    let approve = |fake: Fake, given: Vec<E>, user: &str, role: Role, expected: &str| match when_by(
        fake,
        given,
        user,
        role,
        C::Approve {},
    ) {
        Ok(events) => panic!("expected {expected}, got {events:?}"),
        Err(e) => {
            assert_eq!(e.code(), expected, "{e}");
            e
        }
    };
    let z = "zhao.qiang";
    for given in [submitted(), reviewed(true), appealed()] {
        approve(
            Fake::default(),
            given,
            z,
            Role::Approver,
            "mutual_aid_claim.not_assessed",
        );
    }
    let err = approve(
        Fake::default(),
        assessed_ineligible(),
        z,
        Role::Approver,
        "mutual_aid_claim.assessed_ineligible",
    );
    assert_eq!(err, Err::AssessedIneligible(RejectReason::NotEnrolled));
    // The assessor cannot approve, whatever role they act in.
    for role in [Role::Approver, Role::Admin] {
        approve(
            Fake::default(),
            assessed(),
            "li.ming",
            role,
            "mutual_aid_claim.four_eyes",
        );
    }
    let err = approve(
        Fake {
            already: yuan(5_500),
            ..Fake::default()
        },
        assessed(),
        z,
        Role::Approver,
        "mutual_aid_claim.cap_exceeded",
    );
    assert_eq!(
        err,
        Err::CapExceeded {
            cap_remaining_fen: yuan(500),
            subsidy_fen: yuan(676)
        }
    );
    for given in [approved(), rejected(), paid()] {
        approve(
            Fake::default(),
            given,
            z,
            Role::Approver,
            "mutual_aid_claim.wrong_state",
        );
    }
    approve(
        Fake {
            down: true,
            ..Fake::default()
        },
        assessed(),
        z,
        Role::Approver,
        "mutual_aid_claim.service_unavailable",
    );
}

// ---- Reject ----

#[test]
fn reject_before_approval_releases_the_stay() {
    for given in [submitted(), reviewed(false), assessed(), appealed()] {
        let events = when(given, reject()).unwrap();
        assert_eq!(
            events,
            vec![E::ClaimRejected {
                plan_id: code("putian-07"),
                member: nth_resident_id(2),
                admitted_on: date(2026, 2, 10),
                reason: RejectReason::Other,
                note: text("不符合条件"),
                rejected_by: code("li.ming"),
                rejected_at: at(0),
            }]
        );
    }
    let claim = fold(&rejected());
    assert_eq!(claim.status(), Some(ClaimStatus::Rejected));
    assert!(!claim.holds_stay());
    assert_eq!(
        claim.last_rejection().unwrap().reason,
        RejectReason::DocumentsIncomplete
    );
}

#[test]
fn reject_refusals() {
    for (given, status) in [
        (rejected(), ClaimStatus::Rejected),
        (approved(), ClaimStatus::Approved),
        (paid(), ClaimStatus::Paid),
    ] {
        let err = refused(given, reject(), "mutual_aid_claim.wrong_state");
        assert_eq!(err, Err::WrongState(status));
    }
}

// ---- Appeal ----

#[test]
fn appeal_reopens_a_rejected_claim_for_a_fresh_round() {
    let events = when(rejected(), appeal()).unwrap();
    assert_eq!(
        events,
        vec![E::ClaimAppealed {
            plan_id: code("putian-07"),
            member: nth_resident_id(2),
            admitted_on: date(2026, 2, 10),
            grounds: text("补交材料"),
            appeal_no: 1,
            appealed_by: code("li.ming"),
            appealed_at: at(0),
        }]
    );
    // Assessed, rejected, appealed: the old review and assessment are gone.
    let mut h = assessed();
    h.extend(when(assessed(), reject()).unwrap());
    let mut after = h.clone();
    after.extend(when(h, appeal()).unwrap());
    let claim = fold(&after);
    assert_eq!(claim.status(), Some(ClaimStatus::Appealed));
    assert_eq!(claim.appeals(), 1);
    assert_eq!(claim.assessment(), None);
    assert_eq!(claim.documents_complete(), None);
    assert!(claim.holds_stay());
    refused(after.clone(), C::Assess {}, "mutual_aid_claim.not_reviewed");
    // A second appeal after a second rejection.
    after.extend(when(after.clone(), reject()).unwrap());
    let second = when(after, appeal()).unwrap();
    assert!(matches!(
        second[..],
        [E::ClaimAppealed { appeal_no: 2, .. }]
    ));
    // The stay is still ours: the store reports this claim holding it.
    assert!(when_by(
        Fake {
            stay_claimed_by: Some("claim-2026-0001".into()),
            ..Fake::default()
        },
        rejected(),
        "li.ming",
        Role::Approver,
        appeal(),
    )
    .is_ok());
}

#[test]
fn appeal_refusals() {
    for given in [submitted(), assessed(), approved(), appealed(), paid()] {
        refused(given, appeal(), "mutual_aid_claim.wrong_state");
    }
    let mut twice = rejected();
    for _ in 0..MAX_APPEALS {
        twice.extend(when(twice.clone(), appeal()).unwrap());
        twice.extend(when(twice.clone(), reject()).unwrap());
    }
    refused(twice, appeal(), "mutual_aid_claim.too_many_appeals");
    refused_with(
        Fake {
            stay_claimed_by: Some("claim-2026-0042".into()),
            ..Fake::default()
        },
        rejected(),
        appeal(),
        "mutual_aid_claim.stay_already_claimed",
    );
    refused_with(
        Fake {
            down: true,
            ..Fake::default()
        },
        rejected(),
        appeal(),
        "mutual_aid_claim.service_unavailable",
    );
}

// ---- MarkPaid ----

#[test]
fn mark_paid_records_the_payout_from_the_mutual_aid_fund() {
    let card = BankCard::parse("6228480012345678903").unwrap();
    let events = when_at(
        approved(),
        C::MarkPaid {
            paid_on: date(2026, 3, 6),
            reference: code("MA-2026-000123"),
            card: Some(card.clone()),
        },
        PAY_DAY,
    )
    .unwrap();
    assert_eq!(
        events,
        vec![E::ClaimPaid {
            plan_id: code("putian-07"),
            member: nth_resident_id(2),
            amount_fen: yuan(676),
            fund: Fund::MutualAid,
            reference: code("MA-2026-000123"),
            card: Some(card),
            paid_on: date(2026, 3, 6),
            recorded_by: code("li.ming"),
            recorded_at: at(PAY_DAY),
        }]
    );
    let claim = fold(&paid());
    assert_eq!(claim.status(), Some(ClaimStatus::Paid));
    assert_eq!(claim.payment().unwrap().amount_fen, yuan(676));
    assert_eq!(claim.decided_subsidy_fen(), yuan(676));
    assert!(claim.holds_stay());
}

#[test]
fn a_payment_is_dated_within_the_record() {
    let pay = |paid_on| C::MarkPaid {
        paid_on,
        reference: code("MA-2026-000123"),
        card: None,
    };
    let code_of = |r: Result<Vec<E>, Err>| r.map_err(|e| e.code()).map(|_| "accepted");
    // Admitted 2026-02-10, approved 2026-03-03 09:00 UTC, paid as of 2026-03-06.
    for (paid_on, expected) in [
        (date(2026, 2, 9), "mutual_aid_claim.paid_before_stay"),
        (date(2026, 3, 2), "mutual_aid_claim.paid_before_approval"),
        (date(2026, 3, 7), "mutual_aid_claim.paid_in_future"),
        (date(2026, 3, 3), "accepted"),
        (date(2026, 3, 6), "accepted"),
    ] {
        let got = code_of(when_at(approved(), pay(paid_on), PAY_DAY));
        if expected == "accepted" {
            assert!(got.is_ok(), "{paid_on}: {got:?}");
        } else {
            assert_eq!(got, Err(expected), "{paid_on}");
        }
    }
    // The approval's day is taken in the command's time zone: approved
    // 2026-03-03 09:00 UTC is 2026-03-03 in Beijing but 2026-03-02 in
    // Honolulu (UTC−10), where a payment dated 03-02 is not before it.
    let mut command = cmd("li.ming", Role::Approver, pay(date(2026, 3, 2)));
    command.ctx.recorded_at = at(PAY_DAY);
    command.ctx.utc_offset_seconds = -10 * 3600;
    let result = TestFramework::<MutualAidClaim>::with(Arc::new(Fake::default()))
        .given(approved())
        .when(command)
        .inspect_result();
    assert!(result.is_ok(), "{result:?}");
}

#[test]
fn mark_paid_refusals() {
    refused(paid(), mark_paid(), "mutual_aid_claim.already_paid");
    for given in [submitted(), assessed(), rejected(), appealed()] {
        refused(given, mark_paid(), "mutual_aid_claim.wrong_state");
    }
}

// ---- Reservations ----

#[test]
fn events_take_and_release_the_stay() {
    let key = format!("{}/2026-02-10", nth_resident_id(2).expose());
    let take = vec![Reservation::Take {
        scope: Scope::ClaimedStay,
        key: key.clone(),
    }];
    let release = vec![Reservation::Release {
        scope: Scope::ClaimedStay,
        key,
    }];
    for e in sample_events() {
        let expected = match e.event_type().as_str() {
            "ClaimSubmitted" | "ClaimAppealed" => take.clone(),
            "ClaimRejected" => release.clone(),
            _ => vec![],
        };
        assert_eq!(e.reservations(), expected, "{}", e.event_type());
    }
}

// ---- The sample, labels, serde ----

#[test]
fn sample_history_folds_to_a_paid_claim() {
    let claim = fold(&sample_events());
    assert_eq!(claim.status(), Some(ClaimStatus::Paid));
    assert_eq!(claim.appeals(), 1);
    assert_eq!(claim.payment().unwrap().amount_fen, yuan(676));
    assert_eq!(claim.approval().unwrap().approved_by, code("zhao.qiang"));
    assert_ne!(
        claim.approval().unwrap().approved_by,
        claim.assessment().unwrap().assessed_by
    );
}

#[test]
fn events_have_labels_and_masked_descriptions() {
    let secrets = [
        nth_resident_id(2).expose().to_string(),
        "6228480012345678903".to_string(),
        "急性心肌梗死".to_string(),
    ];
    for e in sample_events() {
        // ClaimApproved gained `fund` in 2.0; every other type is at 1.0.
        let version = match e {
            E::ClaimApproved { .. } => "2.0",
            _ => crate::EVENT_VERSION_1,
        };
        assert_eq!(e.event_version(), version);
        for lang in [Lang::Zh, Lang::En] {
            assert!(!e.label(lang).is_empty());
            let line = e.describe(lang);
            for s in &secrets {
                assert!(!line.contains(s.as_str()), "{line} leaks {s}");
            }
        }
    }
    let events = sample_events();
    assert_eq!(
        events[5].describe(Lang::Zh),
        "按政策 putian-07-v1 核定：净自付 13000.00 元，第 2 档，补助 676.00 元"
    );
    assert_eq!(
        events[7].describe(Lang::En),
        "paid 676.00 yuan (mutual-aid fund) to member 3501**********002X on 2026-03-06, reference MA-2026-000123, card 6228***********8903"
    );
    for s in ClaimStatus::ALL {
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            format!("\"{}\"", s.as_str())
        );
        assert!(!s.label(Lang::Zh).is_empty() && !s.label(Lang::En).is_empty());
    }
    assert_eq!(ClaimStatus::DocumentsReviewed.label(Lang::Zh), "材料已审核");
}

#[test]
fn commands_are_closed_and_strict() {
    for ok in [r#"{"Assess":{}}"#, r#"{"Approve":{}}"#] {
        assert!(serde_json::from_str::<C>(ok).is_ok(), "{ok}");
    }
    for bad in [
        r#"{"Assess":{"subsidy_fen":100}}"#,
        r#"{"Reject":{"reason":"too_poor","note":"x"}}"#,
        r#"{"Appeal":{"grounds":"x","extra":true}}"#,
        r#"{"MarkPaid":{"paid_on":"2026-03-06","reference":"R1","card":"4111111111111112"}}"#,
        r#"{"Delete":{}}"#,
    ] {
        assert!(serde_json::from_str::<C>(bad).is_err(), "{bad} accepted");
    }
    let body = serde_json::to_value(sample_submit()).unwrap();
    assert_eq!(serde_json::from_value::<C>(body).unwrap(), sample_submit());
}

// ---- Golden files, codes ----

#[test]
fn golden_events() {
    check_golden(MutualAidClaim::TYPE, &sample_events(), &EVENT_TYPES);
}

fn every_error() -> Vec<Err> {
    vec![
        Err::AlreadySubmitted,
        Err::NotSubmitted,
        Err::PlanNotFound(code("p")),
        Err::NotEnrolled,
        Err::StayAlreadyClaimed {
            other_claim: "c".into(),
        },
        Err::BadStayDates,
        Err::ReimbursementsExceedCost,
        Err::TooManyDocuments { count: 31 },
        Err::WrongState(ClaimStatus::Paid),
        Err::NotReviewed,
        Err::DocumentsIncomplete,
        Err::NotAssessed,
        Err::AssessedIneligible(RejectReason::CapReached),
        Err::FourEyes,
        Err::CapExceeded {
            cap_remaining_fen: Fen::ZERO,
            subsidy_fen: Fen::ZERO,
        },
        Err::AlreadyPaid,
        Err::TooManyAppeals,
        Err::AmountOverflow,
        Err::ServiceUnavailable("x".into()),
        Err::PaidBeforeStay {
            paid_on: NaiveDate::from_ymd_opt(2026, 2, 1).unwrap(),
            admitted_on: NaiveDate::from_ymd_opt(2026, 2, 10).unwrap(),
        },
        Err::PaidBeforeApproval {
            paid_on: NaiveDate::from_ymd_opt(2026, 2, 11).unwrap(),
            approved_on: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
        },
        Err::PaidInFuture {
            paid_on: NaiveDate::from_ymd_opt(2030, 1, 1).unwrap(),
        },
    ]
}

/// Adding a variant breaks this match, pointing here.
fn variant_index(e: &Err) -> usize {
    match e {
        Err::AlreadySubmitted => 0,
        Err::NotSubmitted => 1,
        Err::PlanNotFound(_) => 2,
        Err::NotEnrolled => 3,
        Err::StayAlreadyClaimed { .. } => 4,
        Err::BadStayDates => 5,
        Err::ReimbursementsExceedCost => 6,
        Err::TooManyDocuments { .. } => 7,
        Err::WrongState(_) => 8,
        Err::NotReviewed => 9,
        Err::DocumentsIncomplete => 10,
        Err::NotAssessed => 11,
        Err::AssessedIneligible(_) => 12,
        Err::FourEyes => 13,
        Err::CapExceeded { .. } => 14,
        Err::AlreadyPaid => 15,
        Err::TooManyAppeals => 16,
        Err::AmountOverflow => 17,
        Err::ServiceUnavailable(_) => 18,
        Err::PaidBeforeStay { .. } => 19,
        Err::PaidBeforeApproval { .. } => 20,
        Err::PaidInFuture { .. } => 21,
    }
}

#[test]
fn error_codes_are_unique_namespaced_and_localized() {
    let errors = every_error();
    let indices: Vec<usize> = errors.iter().map(variant_index).collect();
    assert_eq!(indices, (0..Err::CODES.len()).collect::<Vec<_>>());
    let reported: Vec<&str> = errors.iter().map(|e| e.code()).collect();
    check_codes(MutualAidClaim::TYPE, &Err::CODES, &reported);
    for e in errors {
        let zh = e.localize(Lang::Zh);
        let en = e.localize(Lang::En);
        assert!(!zh.is_empty() && !en.is_empty() && zh != en, "{e:?}");
    }
    assert_eq!(
        Err::WrongState(ClaimStatus::Paid).localize(Lang::Zh),
        "申请处于「已发放」状态，不能执行此操作"
    );
}

// ---- Replay ----

proptest! {
    #[test]
    fn replay_is_deterministic_and_snapshots_round_trip(n in 0..=8usize) {
        let events = &sample_events()[..n];
        let (a, b) = (fold(events), fold(events));
        prop_assert_eq!(&a, &b);
        let json = serde_json::to_string(&a).unwrap();
        prop_assert_eq!(serde_json::from_str::<MutualAidClaim>(&json).unwrap(), a);
    }

    /// Random command sequences by random users against random facts: the
    /// live state equals the replayed state, refusals write nothing, and a
    /// paid amount is always an approved, eligible, capped assessment.
    #[test]
    fn live_state_equals_replayed_state(
        already in 0i64..700_000,
        steps in prop::collection::vec((0u8..7, 0u8..3, any::<bool>()), 1..30),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let services: Arc<dyn MutualAidClaimServices> = Arc::new(Fake {
            already: Fen::new(already).unwrap(),
            ..Fake::default()
        });
        let mut live = MutualAidClaim::default();
        let mut log = Vec::new();
        for (kind, user, flag) in steps {
            let body = match kind {
                0 => sample_submit(),
                1 => C::ReviewDocuments { complete: flag, note: text("审核") },
                2 => C::Assess {},
                3 => C::Approve {},
                4 => reject(),
                5 => appeal(),
                _ => mark_paid(),
            };
            let user = ["wang.fang", "li.ming", "zhao.qiang"][usize::from(user)];
            let sink = cqrs_es::event_sink::EventSink::default();
            let result = rt.block_on(live.handle(cmd(user, Role::Approver, body), &services, &sink));
            let produced = rt.block_on(sink.collect());
            prop_assert_eq!(result.is_err(), produced.is_empty());
            log.extend(produced);
            prop_assert_eq!(&live, &fold(&log));
        }
        if let Some(payment) = live.payment() {
            let record = live.assessment().unwrap();
            prop_assert!(record.outcome.is_eligible());
            prop_assert_eq!(payment.amount_fen, record.outcome.subsidy_fen());
            prop_assert!(payment.amount_fen <= yuan(6_000).room_after(Fen::new(already).unwrap()));
            prop_assert_ne!(&live.approval().unwrap().approved_by, &record.assessed_by);
        }
    }
}
