//! Event builders for tests (this crate's and, with the `testing` feature,
//! the `bangfu` crate's): a plan period shaped like Putian's period 7.
//!
//! Putian's period 7 (../shared/DOMAIN.md): 125 units, 13,805 workers
//! enrolled, 596,436.00 yuan of contributions, subsidies decided for 203
//! workers, 58,917.86 yuan paid. [`putian_period_7`] builds a history with
//! exactly those figures. The subsidies are *assessed* by
//! `domain::mutual_aid::policy::assess` under [`putian_policy`], not typed
//! in: 203 claims whose tiers and migrant status were chosen so that the
//! assessed subsidies sum to 5,891,786 fen:
//!
//! | tier (net self-paid) | base    | +30%      | +10% migrant | claims |
//! |----------------------|---------|-----------|--------------|--------|
//! | 1 (≥ 5,000)          | 185.17  | 240.72    | 264.79       | 89 + 54 |
//! | 2 (≥ 10,000)         | 273.11  | 355.04    | 390.54       | 41 + 12 |
//! | 3 (≥ 20,000)         | 400.00  | 520.00    | 572.00       | 1 + 6   |
//!
//! 89×240.72 + 41×355.04 + 1×520.00 + 54×264.79 + 12×390.54 + 6×572.00
//! = 58,917.86 yuan. Besides those, 9 claims are assessed below the
//! threshold and rejected, and 4 are still waiting for review.

use chrono::NaiveDate;
use domain::fund::Fund;
use domain::mutual_aid::claim::ClaimSubmission;
use domain::mutual_aid::plan::{Enrolee, Payer};
use domain::mutual_aid::policy::{assess, AssessmentFacts, Policy, RejectReason, Tier};
use domain::mutual_aid::{MutualAidClaimEvent, MutualAidPlanEvent};
use domain::testing::{at, nth_resident_id};
use domain::values::{BasisPoints, Code, Fen, OrgName, PersonName, ShortText};

use crate::event::{CaseEvent, Recorded};

/// Units in the period.
pub const UNITS: u32 = 125;
/// Workers enrolled.
pub const MEMBERS: u32 = 13_805;
/// Contributions, in fen (596,436.00 yuan).
pub const CONTRIBUTIONS_FEN: i64 = 59_643_600;
/// Claims with a subsidy approved and paid.
pub const SUBSIDISED: u32 = 203;
/// Subsidies paid, in fen (58,917.86 yuan).
pub const PAID_FEN: i64 = 5_891_786;
/// Claims assessed below the threshold and rejected.
pub const REJECTED: u32 = 9;
/// Claims submitted and not yet reviewed.
pub const WAITING: u32 = 4;

fn code(s: &str) -> Code {
    Code::parse(s).expect("valid test code")
}

fn yuan(s: &str) -> Fen {
    Fen::from_yuan_str(s).expect("valid test amount")
}

fn day(m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, m, d).expect("valid test date")
}

/// The period's policy: three tiers, +30% for the period, +10% more for
/// migrant workers, 6,000 yuan cap per member.
pub fn putian_policy() -> Policy {
    let tier = |from: &str, amount: &str| Tier {
        from_fen: yuan(from),
        amount_fen: yuan(amount),
    };
    Policy {
        version: code("putian-07-proj"),
        threshold_fen: yuan("5000"),
        tiers: vec![
            tier("5000", "185.17"),
            tier("10000", "273.11"),
            tier("20000", "400"),
        ],
        period_uplift_bp: BasisPoints::new(3_000).expect("valid rate"),
        migrant_uplift_bp: BasisPoints::new(1_000).expect("valid rate"),
        cap_per_member_fen: yuan("6000"),
    }
}

/// Members of unit `u` (0-based): 111 for the first 55 units, 110 after.
pub fn unit_members(u: u32) -> u32 {
    if u < 55 {
        111
    } else {
        110
    }
}

/// Contribution of unit `u`: 40 yuan per member plus 353.88 yuan, and one
/// more yuan for the last unit — 596,436.00 yuan in all.
pub fn unit_contribution_fen(u: u32) -> i64 {
    let extra = if u == UNITS - 1 { 35_488 } else { 35_388 };
    i64::from(unit_members(u)) * 4_000 + extra
}

/// The `n`th member overall (0-based) is a migrant worker every tenth.
fn is_migrant(n: u32) -> bool {
    n.is_multiple_of(10)
}

/// A claim of the period: what it is made of.
struct ClaimPlan {
    member: u32,
    unit: u32,
    total_yuan: &'static str,
    basic_yuan: &'static str,
    outcome: Fate,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Fate {
    Paid,
    RejectedBelowThreshold,
    Waiting,
}

/// The stream id of unit `u`.
pub fn unit_id(u: u32) -> String {
    format!("PT7-U{:03}", u + 1)
}

/// One stream's events, in order.
#[derive(Clone, Debug)]
pub struct Stream {
    /// `hardship_file`, `mutual_aid_plan`…
    pub aggregate_type: &'static str,
    /// The stream id.
    pub aggregate_id: String,
    /// Its events.
    pub events: Vec<CaseEvent>,
}

/// The period as streams, in the order to commit them: the plan first, then
/// each claim.
pub fn putian_period_7(plan_id: &str) -> Vec<Stream> {
    let policy = putian_policy();
    let mut plan_events = vec![MutualAidPlanEvent::PeriodOpened {
        name: OrgName::parse("莆田市职工医疗互助第七期").expect("valid name"),
        period_no: 7,
        starts_on: day(1, 1),
        ends_on: day(12, 31),
        policy: policy.clone(),
        opened_by: code("lin.hong"),
        opened_at: at(0),
    }];
    // Member index → unit, for the claims.
    let mut first_member = 0u32;
    let mut unit_of = Vec::with_capacity(MEMBERS as usize);
    for u in 0..UNITS {
        let n = unit_members(u);
        let members = (first_member..first_member + n)
            .map(|i| {
                unit_of.push(u);
                Enrolee {
                    resident_id: nth_resident_id(i),
                    name: PersonName::parse(&format!("职工{i:05}")).expect("valid name"),
                    migrant_worker: is_migrant(i),
                }
            })
            .collect();
        first_member += n;
        plan_events.push(MutualAidPlanEvent::UnitEnrolled {
            unit_id: code(&unit_id(u)),
            unit_name: OrgName::parse(&format!("莆田市参保单位{:03}", u + 1)).expect("valid"),
            members,
            contribution_fen: Fen::new(unit_contribution_fen(u)).expect("valid amount"),
            paid_by: if u == UNITS - 1 {
                Payer::Sponsor {
                    name: OrgName::parse("莆田市职工互助保障基金会").expect("valid"),
                }
            } else {
                Payer::Unit
            },
            enrolled_by: code("lin.hong"),
            enrolled_at: at(i64::from(u) + 1),
        });
    }

    // Claimants: migrant members are those with index % 10 == 0, others
    // are taken from the rest; each claimant claims once.
    let mut migrants = (0..MEMBERS).filter(|n| is_migrant(*n));
    let mut locals = (0..MEMBERS).filter(|n| !is_migrant(*n)).step_by(7);
    let mut plans = Vec::new();
    let mut push = |members: &mut dyn Iterator<Item = u32>,
                    count: u32,
                    total: &'static str,
                    basic: &'static str,
                    outcome: Fate| {
        for _ in 0..count {
            let member = members.next().expect("enough members");
            plans.push(ClaimPlan {
                member,
                unit: unit_of[member as usize],
                total_yuan: total,
                basic_yuan: basic,
                outcome,
            });
        }
    };
    // Net self-paid: tier 1 6,500; tier 2 14,000; tier 3 25,000; below 3,000 yuan.
    let (t1, t2, t3, low) = (
        ("12000", "5500"),
        ("30000", "16000"),
        ("60000", "35000"),
        ("8000", "5000"),
    );
    push(&mut locals, 89, t1.0, t1.1, Fate::Paid);
    push(&mut locals, 41, t2.0, t2.1, Fate::Paid);
    push(&mut locals, 1, t3.0, t3.1, Fate::Paid);
    push(&mut migrants, 54, t1.0, t1.1, Fate::Paid);
    push(&mut migrants, 12, t2.0, t2.1, Fate::Paid);
    push(&mut migrants, 6, t3.0, t3.1, Fate::Paid);
    push(
        &mut locals,
        REJECTED,
        low.0,
        low.1,
        Fate::RejectedBelowThreshold,
    );
    push(&mut locals, WAITING, t1.0, t1.1, Fate::Waiting);

    let mut streams = vec![Stream {
        aggregate_type: crate::event::aggregate_types::MUTUAL_AID_PLAN,
        aggregate_id: plan_id.to_string(),
        events: plan_events
            .into_iter()
            .map(CaseEvent::MutualAidPlan)
            .collect(),
    }];
    for (i, c) in plans.iter().enumerate() {
        let claim_id = format!("{plan_id}-C{:04}", i + 1);
        let minute = 1_000 + 10 * i64::try_from(i).unwrap_or(0);
        streams.push(Stream {
            aggregate_type: crate::event::aggregate_types::MUTUAL_AID_CLAIM,
            aggregate_id: claim_id.clone(),
            events: claim_events(plan_id, &claim_id, c, &policy, minute)
                .into_iter()
                .map(CaseEvent::MutualAidClaim)
                .collect(),
        });
    }
    streams
}

fn claim_events(
    plan_id: &str,
    claim_id: &str,
    c: &ClaimPlan,
    policy: &Policy,
    minute: i64,
) -> Vec<MutualAidClaimEvent> {
    use MutualAidClaimEvent as Ev;
    let member = nth_resident_id(c.member);
    let admitted_on = day(3, 1) + chrono::Duration::days(i64::from(c.member % 200));
    let submission = ClaimSubmission {
        claim_id: code(claim_id),
        plan_id: code(plan_id),
        member: member.clone(),
        member_name: PersonName::parse(&format!("职工{:05}", c.member)).expect("valid"),
        hospital: OrgName::parse("莆田学院附属医院").expect("valid"),
        admitted_on,
        discharged_on: admitted_on + chrono::Duration::days(12),
        diagnosis: ShortText::parse("住院治疗").expect("valid"),
        total_cost_fen: yuan(c.total_yuan),
        basic_insurance_fen: yuan(c.basic_yuan),
        other_reimbursement_fen: Fen::ZERO,
        documents: vec![ShortText::parse("住院发票").expect("valid")],
        unit_id: code(&unit_id(c.unit)),
        migrant_worker: is_migrant(c.member),
        submitted_by: code("chen.li"),
        submitted_at: at(minute),
    };
    let mut events = vec![Ev::ClaimSubmitted(submission.clone())];
    if c.outcome == Fate::Waiting {
        return events;
    }
    events.push(Ev::DocumentsReviewed {
        complete: true,
        note: ShortText::parse("材料齐全").expect("valid"),
        reviewed_by: code("chen.li"),
        reviewed_at: at(minute + 1),
    });
    let inputs = AssessmentFacts {
        total_cost_fen: submission.total_cost_fen,
        basic_insurance_fen: submission.basic_insurance_fen,
        other_reimbursement_fen: submission.other_reimbursement_fen,
        migrant_worker: submission.migrant_worker,
        stay_within_period: true,
        enrolled: true,
        already_subsidised_in_period_fen: Fen::ZERO,
    };
    let outcome = assess(policy, &inputs).expect("a validated policy assesses");
    let subsidy = outcome.subsidy_fen();
    events.push(Ev::ClaimAssessed {
        plan_id: code(plan_id),
        member: member.clone(),
        policy_version: policy.version.clone(),
        policy: policy.clone(),
        admitted_on,
        period_starts_on: day(1, 1),
        period_ends_on: day(12, 31),
        inputs,
        outcome,
        assessed_by: code("chen.li"),
        assessed_at: at(minute + 2),
    });
    match c.outcome {
        Fate::Waiting => {}
        Fate::RejectedBelowThreshold => events.push(Ev::ClaimRejected {
            plan_id: code(plan_id),
            member,
            admitted_on,
            reason: RejectReason::BelowThreshold,
            note: ShortText::parse("净自付未达起付线").expect("valid"),
            rejected_by: code("huang.min"),
            rejected_at: at(minute + 3),
        }),
        Fate::Paid => {
            events.push(Ev::ClaimApproved {
                plan_id: code(plan_id),
                member: member.clone(),
                subsidy_fen: subsidy,
                fund: Fund::MutualAid,
                policy_version: policy.version.clone(),
                approved_by: code("huang.min"),
                approved_at: at(minute + 3),
            });
            events.push(Ev::ClaimPaid {
                plan_id: code(plan_id),
                member,
                amount_fen: subsidy,
                fund: Fund::MutualAid,
                reference: code(&format!("HZ7-{claim_id}")),
                card: None,
                paid_on: admitted_on + chrono::Duration::days(30),
                recorded_by: code("wu.haiyan"),
                recorded_at: at(minute + 4),
            });
        }
    }
    events
}

/// The streams' events as one global log from position 1, stream after stream.
pub fn recorded(streams: &[Stream]) -> Vec<Recorded> {
    let mut position = 0u64;
    let mut out = Vec::new();
    for s in streams {
        for (i, event) in s.events.iter().enumerate() {
            position += 1;
            out.push(Recorded {
                position: crate::LogPosition::at(position),
                aggregate_id: s.aggregate_id.clone(),
                sequence: u64::try_from(i).unwrap_or(0) + 1,
                event: event.clone(),
                actor: None,
                recorded_at: None,
            });
        }
    }
    out
}
