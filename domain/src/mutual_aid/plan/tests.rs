//! Given/when/then tests of the plan period, golden events, replay properties.

use chrono::NaiveDate;
use cqrs_es::test::TestFramework;
use cqrs_es::{Aggregate, DomainEvent};
use proptest::prelude::*;

use super::*;
use crate::command::Role;
use crate::i18n::{ErrorCode, Lang, Localize};
use crate::mutual_aid::policy::{sample_policy, PolicyError};
use crate::mutual_aid::test_support::{check_codes, check_golden};
use crate::reservation::Reserves;
use crate::testing::{at, cmd, nth_resident_id};
use crate::values::PersonName;

type E = MutualAidPlanEvent;
type C = MutualAidPlanCommand;
type Err = MutualAidPlanError;

fn code(s: &str) -> Code {
    Code::parse(s).unwrap()
}

fn org(s: &str) -> OrgName {
    OrgName::parse(s).unwrap()
}

fn text(s: &str) -> ShortText {
    ShortText::parse(s).unwrap()
}

fn fen(v: i64) -> Fen {
    Fen::new(v).unwrap()
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn enrolee(n: u32, migrant_worker: bool) -> Enrolee {
    Enrolee {
        resident_id: nth_resident_id(n),
        name: PersonName::parse("林志强").unwrap(),
        migrant_worker,
    }
}

fn roster(range: std::ops::Range<u32>) -> Vec<Enrolee> {
    range.map(|n| enrolee(n, n % 3 == 0)).collect()
}

fn when(given: Vec<E>, body: C) -> Result<Vec<E>, Err> {
    TestFramework::<MutualAidPlan>::with(())
        .given(given)
        .when(cmd("chen.li", Role::Caseworker, body))
        .inspect_result()
}

/// Asserts the command is refused with `expected_code` and produces nothing.
fn refused(given: Vec<E>, body: C, expected_code: &str) -> Err {
    match when(given, body) {
        Ok(events) => panic!("expected {expected_code}, got events {events:?}"),
        Err(e) => {
            assert_eq!(e.code(), expected_code, "{e}");
            e
        }
    }
}

fn opened() -> Vec<E> {
    vec![sample_events().remove(0)]
}

/// Opened, with `unit-a` enrolling members 1..4 (3 is a migrant worker).
fn with_unit_a() -> Vec<E> {
    let mut h = opened();
    h.push(E::UnitEnrolled {
        unit_id: code("unit-a"),
        unit_name: org("莆田市某电子厂"),
        members: roster(1..4),
        contribution_fen: fen(12_960),
        paid_by: Payer::Unit,
        enrolled_by: code("chen.li"),
        enrolled_at: at(0),
    });
    h
}

fn closed(mut h: Vec<E>) -> Vec<E> {
    h.push(E::PeriodClosed {
        note: text("参加工作结束"),
        closed_by: code("chen.li"),
        closed_at: at(0),
    });
    h
}

fn enrol(unit: &str, members: Vec<Enrolee>, contribution_fen: Fen) -> C {
    C::EnrolUnit {
        unit_id: code(unit),
        unit_name: org("莆田市外卖骑手联合工会"),
        members,
        contribution_fen,
        paid_by: Payer::Sponsor {
            name: org("莆田市总工会"),
        },
    }
}

fn amend(unit: &str, add: Vec<Enrolee>, remove: Vec<ResidentId>) -> C {
    C::AmendRoster {
        unit_id: code(unit),
        add,
        remove,
        additional_contribution_fen: fen(4_320),
        reason: text("人员变动"),
    }
}

fn fold(events: &[E]) -> MutualAidPlan {
    let mut plan = MutualAidPlan::default();
    for e in events {
        plan.apply(e.clone());
    }
    plan
}

// ---- OpenPeriod ----

#[test]
fn open_period_records_terms_opener_and_time() {
    TestFramework::<MutualAidPlan>::with(())
        .given_no_previous_events()
        .when(cmd("chen.li", Role::Admin, sample_open_period()))
        .then_expect_events(opened());
    let plan = fold(&opened());
    assert_eq!(plan.status(), Some(PlanStatus::Open));
    assert_eq!(plan.period_no(), Some(7));
    assert_eq!(plan.starts_on(), Some(date(2026, 1, 1)));
    assert_eq!(plan.ends_on(), Some(date(2026, 12, 31)));
    assert_eq!(plan.policy(), Some(&sample_policy()));
    assert_eq!(plan.name().unwrap().as_str(), "莆田市职工医疗互助第七期");
    assert_eq!(plan.terms().unwrap().opened_by, code("chen.li"));
}

#[test]
fn open_period_refusals() {
    refused(
        opened(),
        sample_open_period(),
        "mutual_aid_plan.already_opened",
    );
    refused(
        closed(opened()),
        sample_open_period(),
        "mutual_aid_plan.already_opened",
    );
    let with = |f: &dyn Fn(&mut NaiveDate, &mut NaiveDate, &mut Policy)| {
        let C::OpenPeriod {
            name,
            period_no,
            mut starts_on,
            mut ends_on,
            mut policy,
        } = sample_open_period()
        else {
            unreachable!()
        };
        f(&mut starts_on, &mut ends_on, &mut policy);
        C::OpenPeriod {
            name,
            period_no,
            starts_on,
            ends_on,
            policy,
        }
    };
    refused(
        vec![],
        with(&|s, e, _| *e = *s),
        "mutual_aid_plan.bad_period_dates",
    );
    refused(
        vec![],
        with(&|s, e, _| std::mem::swap(s, e)),
        "mutual_aid_plan.bad_period_dates",
    );
    let err = refused(
        vec![],
        with(&|_, _, p| p.tiers.clear()),
        "mutual_aid_plan.invalid_policy",
    );
    assert_eq!(err, Err::InvalidPolicy(PolicyError::NoTiers));
    assert_eq!(err.localize(Lang::Zh), "补助政策无效：补助档次表为空");
    assert_eq!(
        err.localize(Lang::En),
        "invalid policy: the policy has no tiers"
    );
}

// ---- EnrolUnit ----

#[test]
fn enrol_unit_records_full_roster_and_contribution() {
    let members = roster(10..14);
    let events = when(opened(), enrol("unit-gig", members.clone(), fen(17_280))).unwrap();
    assert_eq!(
        events,
        vec![E::UnitEnrolled {
            unit_id: code("unit-gig"),
            unit_name: org("莆田市外卖骑手联合工会"),
            members,
            contribution_fen: fen(17_280),
            paid_by: Payer::Sponsor {
                name: org("莆田市总工会")
            },
            enrolled_by: code("chen.li"),
            enrolled_at: at(0),
        }]
    );
    let mut h = opened();
    h.extend(events);
    let plan = fold(&h);
    assert_eq!(plan.unit_count(), 1);
    assert_eq!(plan.member_count(), 4);
    assert_eq!(plan.total_contributions_fen(), fen(17_280));
    assert_eq!(
        plan.unit_contribution_fen(&code("unit-gig")),
        Some(fen(17_280))
    );
    assert_eq!(
        plan.enrolment(&nth_resident_id(12)),
        Some(Enrolment {
            unit_id: code("unit-gig"),
            migrant_worker: true
        })
    );
    assert_eq!(plan.enrolment(&nth_resident_id(9)), None);
    assert_eq!(plan.members_of(&code("unit-gig")).count(), 4);
}

#[test]
fn enrol_unit_refusals() {
    refused(
        vec![],
        enrol("unit-b", roster(10..12), fen(1)),
        "mutual_aid_plan.not_opened",
    );
    refused(
        closed(opened()),
        enrol("unit-b", roster(10..12), fen(1)),
        "mutual_aid_plan.period_closed",
    );
    let err = refused(
        with_unit_a(),
        enrol("unit-a", roster(10..12), fen(1)),
        "mutual_aid_plan.unit_already_enrolled",
    );
    assert_eq!(err, Err::UnitAlreadyEnrolled(code("unit-a")));
    refused(
        opened(),
        enrol("unit-b", vec![], fen(0)),
        "mutual_aid_plan.empty_roster",
    );
    let err = refused(
        opened(),
        enrol("unit-b", roster(0..MAX_ROSTER as u32 + 1), fen(1)),
        "mutual_aid_plan.roster_too_large",
    );
    assert_eq!(err, Err::RosterTooLarge { count: 20_001 });
    let mut twice = roster(10..13);
    twice.push(enrolee(11, false));
    let err = refused(
        opened(),
        enrol("unit-b", twice, fen(1)),
        "mutual_aid_plan.duplicate_member",
    );
    assert_eq!(err, Err::DuplicateMember(nth_resident_id(11)));
    // The message masks the resident ID.
    assert!(!err.to_string().contains(nth_resident_id(11).expose()));
    let err = refused(
        with_unit_a(),
        enrol("unit-b", roster(3..6), fen(1)),
        "mutual_aid_plan.member_already_enrolled",
    );
    assert_eq!(
        err,
        Err::MemberAlreadyEnrolled {
            member: nth_resident_id(3),
            unit_id: code("unit-a")
        }
    );
    refused(
        with_unit_a(),
        enrol("unit-b", roster(10..12), Fen::MAX),
        "mutual_aid_plan.amount_overflow",
    );
}

#[test]
fn a_city_sized_roster_answers_enrolment_lookups() {
    // Putian period 7 had 13,805 members; enrol 14,000 over two units.
    let mut h = opened();
    h.extend(
        when(
            opened(),
            enrol("unit-big", roster(0..MAX_ROSTER as u32), fen(1)),
        )
        .unwrap(),
    );
    assert_eq!(fold(&h).member_count(), MAX_ROSTER);
    let mut h = opened();
    for (unit, range) in [("unit-1", 0..9_000), ("unit-2", 9_000..14_000)] {
        let events = when(h.clone(), enrol(unit, roster(range), fen(432_000))).unwrap();
        h.extend(events);
    }
    let plan = fold(&h);
    assert_eq!(plan.member_count(), 14_000);
    assert_eq!(plan.unit(&code("unit-2")).unwrap().member_count, 5_000);
    assert_eq!(plan.total_contributions_fen(), fen(2 * 432_000));
    assert_eq!(
        plan.enrolment(&nth_resident_id(13_999)).unwrap().unit_id,
        code("unit-2")
    );
    // The roster survives a snapshot.
    let snapshot = serde_json::to_string(&plan).unwrap();
    assert_eq!(
        serde_json::from_str::<MutualAidPlan>(&snapshot).unwrap(),
        plan
    );
}

// ---- AmendRoster ----

#[test]
fn amend_roster_adds_removes_and_collects() {
    let events = when(
        with_unit_a(),
        amend("unit-a", vec![enrolee(7, true)], vec![nth_resident_id(1)]),
    )
    .unwrap();
    assert_eq!(
        events,
        vec![E::RosterAmended {
            unit_id: code("unit-a"),
            added: vec![enrolee(7, true)],
            removed: vec![nth_resident_id(1)],
            additional_contribution_fen: fen(4_320),
            reason: text("人员变动"),
            amended_by: code("chen.li"),
            amended_at: at(0),
        }]
    );
    let mut h = with_unit_a();
    h.extend(events);
    let plan = fold(&h);
    assert_eq!(plan.member_count(), 3);
    assert_eq!(plan.enrolment(&nth_resident_id(1)), None);
    assert!(plan.enrolment(&nth_resident_id(7)).unwrap().migrant_worker);
    let unit = plan.unit(&code("unit-a")).unwrap();
    assert_eq!(unit.member_count, 3);
    assert_eq!(unit.contribution_fen, fen(12_960 + 4_320));
    assert_eq!(plan.total_contributions_fen(), fen(12_960 + 4_320));
    // A removed member may be enrolled again, through another unit.
    assert!(when(h, enrol("unit-b", vec![enrolee(1, false)], fen(4_320))).is_ok());
}

#[test]
fn amend_roster_refusals() {
    let add = || vec![enrolee(9, false)];
    refused(
        vec![],
        amend("unit-a", add(), vec![]),
        "mutual_aid_plan.not_opened",
    );
    refused(
        closed(with_unit_a()),
        amend("unit-a", add(), vec![]),
        "mutual_aid_plan.period_closed",
    );
    refused(
        with_unit_a(),
        amend("unit-x", add(), vec![]),
        "mutual_aid_plan.unknown_unit",
    );
    refused(
        with_unit_a(),
        amend("unit-a", vec![], vec![]),
        "mutual_aid_plan.empty_amendment",
    );
    refused(
        with_unit_a(),
        amend("unit-a", roster(100..100 + MAX_ROSTER as u32 + 1), vec![]),
        "mutual_aid_plan.roster_too_large",
    );
    refused(
        with_unit_a(),
        amend(
            "unit-a",
            vec![],
            (0..MAX_ROSTER as u32 + 1).map(nth_resident_id).collect(),
        ),
        "mutual_aid_plan.roster_too_large",
    );
    // A full unit cannot grow.
    let mut full = opened();
    full.extend(
        when(
            opened(),
            enrol("unit-full", roster(0..MAX_ROSTER as u32), fen(1)),
        )
        .unwrap(),
    );
    let err = refused(
        full,
        amend("unit-full", vec![enrolee(25_000, false)], vec![]),
        "mutual_aid_plan.roster_too_large",
    );
    assert_eq!(err, Err::RosterTooLarge { count: 20_001 });
    // Listed twice: within adds, and across add and remove.
    refused(
        with_unit_a(),
        amend("unit-a", vec![enrolee(9, false), enrolee(9, true)], vec![]),
        "mutual_aid_plan.duplicate_member",
    );
    refused(
        with_unit_a(),
        amend("unit-a", vec![enrolee(2, false)], vec![nth_resident_id(2)]),
        "mutual_aid_plan.duplicate_member",
    );
    refused(
        with_unit_a(),
        amend(
            "unit-a",
            vec![],
            vec![nth_resident_id(1), nth_resident_id(1)],
        ),
        "mutual_aid_plan.duplicate_member",
    );
    refused(
        with_unit_a(),
        amend("unit-a", vec![enrolee(2, false)], vec![]),
        "mutual_aid_plan.member_already_enrolled",
    );
    // Not enrolled at all, or enrolled through another unit.
    refused(
        with_unit_a(),
        amend("unit-a", vec![], vec![nth_resident_id(50)]),
        "mutual_aid_plan.member_not_in_unit",
    );
    let mut two_units = with_unit_a();
    two_units.extend(when(with_unit_a(), enrol("unit-b", roster(10..12), fen(1))).unwrap());
    let err = refused(
        two_units,
        amend("unit-a", vec![], vec![nth_resident_id(10)]),
        "mutual_aid_plan.member_not_in_unit",
    );
    assert_eq!(err, Err::MemberNotInUnit(nth_resident_id(10)));
    refused(
        with_unit_a(),
        C::AmendRoster {
            unit_id: code("unit-a"),
            add: add(),
            remove: vec![],
            additional_contribution_fen: Fen::MAX,
            reason: text("人员变动"),
        },
        "mutual_aid_plan.amount_overflow",
    );
}

// ---- ClosePeriod ----

#[test]
fn close_period_stops_enrolment() {
    let body = C::ClosePeriod {
        note: text("参加工作结束"),
    };
    let events = when(with_unit_a(), body.clone()).unwrap();
    assert_eq!(events, closed(vec![]));
    let plan = fold(&closed(with_unit_a()));
    assert_eq!(plan.status(), Some(PlanStatus::Closed));
    assert!(!plan.is_open());
    assert_eq!(plan.closure().unwrap().closed_by, code("chen.li"));
    assert!(!plan.plan_facts().unwrap().open);
    refused(vec![], body.clone(), "mutual_aid_plan.not_opened");
    refused(closed(opened()), body, "mutual_aid_plan.period_closed");
}

// ---- The sample history, accessors, labels ----

#[test]
fn sample_history_is_accepted_command_by_command() {
    // Each sample event is what the matching command produces.
    let events = sample_events();
    let bodies = [
        sample_open_period(),
        C::EnrolUnit {
            unit_id: code("unit-ptcx-0012"),
            unit_name: org("莆田市城厢区环境卫生管理处"),
            members: match &events[1] {
                E::UnitEnrolled { members, .. } => members.clone(),
                _ => unreachable!(),
            },
            contribution_fen: fen(12_960),
            paid_by: Payer::Unit,
        },
        C::EnrolUnit {
            unit_id: code("unit-gig-0001"),
            unit_name: org("莆田市外卖骑手联合工会"),
            members: match &events[2] {
                E::UnitEnrolled { members, .. } => members.clone(),
                _ => unreachable!(),
            },
            contribution_fen: fen(8_640),
            paid_by: Payer::Sponsor {
                name: org("莆田市总工会"),
            },
        },
        C::AmendRoster {
            unit_id: code("unit-ptcx-0012"),
            add: match &events[3] {
                E::RosterAmended { added, .. } => added.clone(),
                _ => unreachable!(),
            },
            remove: vec![nth_resident_id(1)],
            additional_contribution_fen: fen(4_320),
            reason: text("林志强调离，郑丽萍新入职"),
        },
        C::ClosePeriod {
            note: text("第七期参加工作结束"),
        },
    ];
    for (i, body) in bodies.into_iter().enumerate() {
        let produced = when(events[..i].to_vec(), body).unwrap();
        let mut expected = events[i].clone();
        // Commands run at `at(0)`; the sample spreads them over the morning.
        match &mut expected {
            E::PeriodOpened { opened_at: t, .. }
            | E::UnitEnrolled { enrolled_at: t, .. }
            | E::RosterAmended { amended_at: t, .. }
            | E::PeriodClosed { closed_at: t, .. } => *t = at(0),
        }
        assert_eq!(produced, vec![expected], "event {i}");
    }
    let plan = fold(&events);
    assert_eq!(plan.unit_count(), 2);
    assert_eq!(plan.member_count(), 5);
    assert_eq!(plan.total_contributions_fen(), fen(12_960 + 8_640 + 4_320));
    assert_eq!(
        plan.unit_contribution_fen(&code("unit-ptcx-0012")),
        Some(fen(17_280))
    );
    assert_eq!(plan.enrolment(&nth_resident_id(1)), None);
    assert_eq!(
        plan.members_of(&code("unit-ptcx-0012"))
            .cloned()
            .collect::<Vec<_>>(),
        vec![nth_resident_id(2), nth_resident_id(3), nth_resident_id(6)]
    );
    let units: Vec<_> = plan.units().map(|(id, _)| id.as_str()).collect();
    assert_eq!(units, ["unit-gig-0001", "unit-ptcx-0012"]);
    let facts = plan.plan_facts().unwrap();
    assert_eq!(facts.policy, sample_policy());
    assert_eq!(facts.starts_on, date(2026, 1, 1));
}

#[test]
fn events_have_labels_descriptions_and_no_reservations() {
    for e in sample_events() {
        assert!(e.reservations().is_empty());
        assert_eq!(e.event_version(), crate::EVENT_VERSION_1);
        for lang in [Lang::Zh, Lang::En] {
            assert!(!e.label(lang).is_empty());
            let line = e.describe(lang);
            assert!(!line.is_empty());
            assert!(
                !(1..=6).any(|n| line.contains(nth_resident_id(n).expose())),
                "{line} shows a full resident ID"
            );
        }
    }
    let events = sample_events();
    assert_eq!(
        events[1].describe(Lang::Zh),
        "单位「莆田市城厢区环境卫生管理处」（unit-ptcx-0012）参加互助：3 人，互助金 129.60 元（单位缴纳）"
    );
    assert_eq!(
        events[0].describe(Lang::En),
        "opened \"莆田市职工医疗互助第七期\" period 7, 2026-01-01 to 2026-12-31, policy putian-07-v1 (threshold 5000.00 yuan, 5 tiers)"
    );
    assert_eq!(PlanStatus::Closed.label(Lang::Zh), "已结束");
    assert_eq!(Payer::Unit.label(Lang::En), "paid by the unit");
}

#[test]
fn commands_are_closed_and_strict() {
    let ok = r#"{"ClosePeriod":{"note":"结束"}}"#;
    assert!(serde_json::from_str::<C>(ok).is_ok());
    for bad in [
        r#"{"ClosePeriod":{"note":"结束","extra":1}}"#,
        r#"{"Reopen":{}}"#,
        r#"{"AmendRoster":{"unit_id":"u","add":[{"resident_id":"110105194912310021","name":"a","migrant_worker":false}],"remove":[],"additional_contribution_fen":0,"reason":"r"}}"#,
        r#"{"EnrolUnit":{"unit_id":"u","unit_name":"n","members":[],"contribution_fen":0,"paid_by":{"sponsor":{"name":"s","x":1}}}}"#,
    ] {
        assert!(serde_json::from_str::<C>(bad).is_err(), "{bad} accepted");
    }
    let body = serde_json::to_value(sample_open_period()).unwrap();
    assert_eq!(
        serde_json::from_value::<C>(body).unwrap(),
        sample_open_period()
    );
    assert_eq!(serde_json::to_string(&Payer::Unit).unwrap(), r#""unit""#);
}

// ---- Golden files, codes ----

#[test]
fn golden_events() {
    check_golden(MutualAidPlan::TYPE, &sample_events(), &EVENT_TYPES);
}

fn every_error() -> Vec<Err> {
    vec![
        Err::AlreadyOpened,
        Err::NotOpened,
        Err::BadPeriodDates,
        Err::InvalidPolicy(PolicyError::ZeroCap),
        Err::PeriodClosed,
        Err::UnitAlreadyEnrolled(code("u")),
        Err::UnknownUnit(code("u")),
        Err::EmptyRoster,
        Err::RosterTooLarge { count: 1 },
        Err::DuplicateMember(nth_resident_id(1)),
        Err::MemberAlreadyEnrolled {
            member: nth_resident_id(1),
            unit_id: code("u"),
        },
        Err::MemberNotInUnit(nth_resident_id(1)),
        Err::EmptyAmendment,
        Err::AmountOverflow,
    ]
}

/// Adding a variant breaks this match, pointing here.
fn variant_index(e: &Err) -> usize {
    match e {
        Err::AlreadyOpened => 0,
        Err::NotOpened => 1,
        Err::BadPeriodDates => 2,
        Err::InvalidPolicy(_) => 3,
        Err::PeriodClosed => 4,
        Err::UnitAlreadyEnrolled(_) => 5,
        Err::UnknownUnit(_) => 6,
        Err::EmptyRoster => 7,
        Err::RosterTooLarge { .. } => 8,
        Err::DuplicateMember(_) => 9,
        Err::MemberAlreadyEnrolled { .. } => 10,
        Err::MemberNotInUnit(_) => 11,
        Err::EmptyAmendment => 12,
        Err::AmountOverflow => 13,
    }
}

#[test]
fn error_codes_are_unique_namespaced_and_localized() {
    let errors = every_error();
    let indices: Vec<usize> = errors.iter().map(variant_index).collect();
    assert_eq!(indices, (0..Err::CODES.len()).collect::<Vec<_>>());
    let reported: Vec<&str> = errors.iter().map(|e| e.code()).collect();
    check_codes(MutualAidPlan::TYPE, &Err::CODES, &reported);
    for e in errors {
        let zh = e.localize(Lang::Zh);
        let en = e.localize(Lang::En);
        assert!(!zh.is_empty() && !en.is_empty() && zh != en, "{e:?}");
        assert!(!zh.contains(nth_resident_id(1).expose()));
        assert!(!en.contains(nth_resident_id(1).expose()));
    }
}

// ---- Replay ----

proptest! {
    #[test]
    fn replay_is_deterministic_and_snapshots_round_trip(n in 0..=5usize) {
        let events = &sample_events()[..n];
        let (a, b) = (fold(events), fold(events));
        prop_assert_eq!(&a, &b);
        let json = serde_json::to_string(&a).unwrap();
        prop_assert_eq!(serde_json::from_str::<MutualAidPlan>(&json).unwrap(), a);
    }

    /// Random enrolments and amendments: whatever the handler accepts, the
    /// state reached live equals the state replayed from the events, and the
    /// roster never lists a member twice.
    #[test]
    fn live_state_equals_replayed_state(
        steps in prop::collection::vec((0u8..3, 0u32..40, 1u32..6, 0u32..4), 1..25)
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let mut live = fold(&opened());
        let mut log = opened();
        for (kind, start, len, unit) in steps {
            let unit_id = format!("unit-{unit}");
            let body = match kind {
                0 => enrol(&unit_id, roster(start..start + len), fen(i64::from(len) * 4_320)),
                1 => amend(&unit_id, roster(start..start + len), vec![]),
                _ => amend(&unit_id, vec![], (start..start + len).map(nth_resident_id).collect()),
            };
            let sink = cqrs_es::event_sink::EventSink::default();
            let result = rt.block_on(live.handle(cmd("chen.li", Role::Caseworker, body), &(), &sink));
            let produced = rt.block_on(sink.collect());
            if result.is_err() {
                prop_assert!(produced.is_empty());
            }
            log.extend(produced);
            let replayed = fold(&log);
            prop_assert_eq!(&live, &replayed);
            let per_unit: usize = live.units().map(|(_, u)| u.member_count).sum();
            prop_assert_eq!(per_unit, live.member_count());
        }
    }
}
