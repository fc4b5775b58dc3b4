//! The mutual-aid plan period aggregate (互助期): its policy and its roster.
//!
//! One aggregate per period (id e.g. `putian-07`). It holds every enrolled
//! member — Putian's period 7 had 13,805 — because "a member is enrolled at
//! most once per period" must be checked against the whole roster, and claims
//! need a fast `enrolment(id)` answer. The roster is a `BTreeMap` keyed by
//! resident ID: ordered, so snapshots serialize deterministically, and a
//! lookup is ~14 comparisons at city scale.
//!
//! No `Services`: every rule here is decided by the plan's own history.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};

use crate::command::Cmd;
use crate::i18n::Lang;
use crate::mutual_aid::claim::PlanFacts;
use crate::mutual_aid::policy::Policy;
use crate::mutual_aid::Enrolment;
use crate::values::{Code, Fen, OrgName, ResidentId, ShortText};

mod commands;
mod error;
mod events;
#[cfg(test)]
mod tests;

pub use commands::{Enrolee, MutualAidPlanCommand, Payer, MAX_ROSTER};
pub use error::MutualAidPlanError;
pub use events::{MutualAidPlanEvent, EVENT_TYPES};

/// Open for enrolment, or closed.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum PlanStatus {
    /// Units may enrol and amend rosters.
    Open,
    /// No more enrolment or amendment.
    Closed,
}

impl PlanStatus {
    /// The status for people.
    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            PlanStatus::Open => lang.pick("进行中", "open"),
            PlanStatus::Closed => lang.pick("已结束", "closed"),
        }
    }
}

/// The terms a period was opened with.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct PeriodTerms {
    /// e.g. 莆田市职工医疗互助第七期.
    pub name: OrgName,
    /// 第七期 → 7.
    pub period_no: u32,
    /// First day of cover.
    pub starts_on: NaiveDate,
    /// Last day of cover.
    pub ends_on: NaiveDate,
    /// The subsidy policy.
    pub policy: Policy,
    /// Who opened the period.
    pub opened_by: Code,
    /// When.
    pub opened_at: DateTime<Utc>,
}

/// One enrolled unit.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct UnitEnrolment {
    /// The unit's name.
    pub unit_name: OrgName,
    /// Members currently enrolled through the unit.
    pub member_count: usize,
    /// Contributions paid, including amendments.
    pub contribution_fen: Fen,
    /// Who paid the enrolment's contribution.
    pub paid_by: Payer,
    /// When the unit enrolled.
    pub enrolled_at: DateTime<Utc>,
}

/// How the period was closed.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Closure {
    /// Closing note.
    pub note: ShortText,
    /// Who.
    pub closed_by: Code,
    /// When.
    pub closed_at: DateTime<Utc>,
}

/// A plan period: see the module docs.
#[derive(Default, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct MutualAidPlan {
    terms: Option<PeriodTerms>,
    closure: Option<Closure>,
    units: BTreeMap<Code, UnitEnrolment>,
    members: BTreeMap<ResidentId, Enrolment>,
    total_contributions_fen: Fen,
}

impl Aggregate for MutualAidPlan {
    const TYPE: &'static str = "mutual_aid_plan";
    type Command = Cmd<MutualAidPlanCommand>;
    type Event = MutualAidPlanEvent;
    type Error = MutualAidPlanError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        let Cmd { ctx, body } = command;
        let by = ctx.actor.id;
        let at = ctx.recorded_at;
        let event = match body {
            MutualAidPlanCommand::OpenPeriod {
                name,
                period_no,
                starts_on,
                ends_on,
                policy,
            } => {
                if self.terms.is_some() {
                    return Err(MutualAidPlanError::AlreadyOpened);
                }
                if ends_on <= starts_on {
                    return Err(MutualAidPlanError::BadPeriodDates);
                }
                policy
                    .validate()
                    .map_err(MutualAidPlanError::InvalidPolicy)?;
                MutualAidPlanEvent::PeriodOpened {
                    name,
                    period_no,
                    starts_on,
                    ends_on,
                    policy,
                    opened_by: by,
                    opened_at: at,
                }
            }
            MutualAidPlanCommand::EnrolUnit {
                unit_id,
                unit_name,
                members,
                contribution_fen,
                paid_by,
            } => {
                self.ensure_open()?;
                if self.units.contains_key(&unit_id) {
                    return Err(MutualAidPlanError::UnitAlreadyEnrolled(unit_id));
                }
                if members.is_empty() {
                    return Err(MutualAidPlanError::EmptyRoster);
                }
                if members.len() > MAX_ROSTER {
                    return Err(MutualAidPlanError::RosterTooLarge {
                        count: members.len(),
                    });
                }
                ensure_distinct(members.iter().map(|m| &m.resident_id))?;
                self.ensure_not_enrolled(&members)?;
                self.total_contributions_fen
                    .checked_add(contribution_fen)
                    .map_err(|_| MutualAidPlanError::AmountOverflow)?;
                MutualAidPlanEvent::UnitEnrolled {
                    unit_id,
                    unit_name,
                    members,
                    contribution_fen,
                    paid_by,
                    enrolled_by: by,
                    enrolled_at: at,
                }
            }
            MutualAidPlanCommand::AmendRoster {
                unit_id,
                add,
                remove,
                additional_contribution_fen,
                reason,
            } => {
                self.ensure_open()?;
                let Some(unit) = self.units.get(&unit_id) else {
                    return Err(MutualAidPlanError::UnknownUnit(unit_id));
                };
                if add.is_empty() && remove.is_empty() {
                    return Err(MutualAidPlanError::EmptyAmendment);
                }
                for count in [add.len(), remove.len()] {
                    if count > MAX_ROSTER {
                        return Err(MutualAidPlanError::RosterTooLarge { count });
                    }
                }
                // One member may appear once across both lists: adding and
                // removing the same person in one command is a mistake.
                ensure_distinct(add.iter().map(|m| &m.resident_id).chain(remove.iter()))?;
                self.ensure_not_enrolled(&add)?;
                if let Some(stranger) = remove
                    .iter()
                    .find(|id| self.members.get(*id).map(|e| &e.unit_id) != Some(&unit_id))
                {
                    return Err(MutualAidPlanError::MemberNotInUnit(stranger.clone()));
                }
                // Both lists are distinct, adds are new and removes are in the
                // unit, so this is the exact size after the amendment.
                let count = unit.member_count + add.len() - remove.len();
                if count > MAX_ROSTER {
                    return Err(MutualAidPlanError::RosterTooLarge { count });
                }
                let overflow = |_| MutualAidPlanError::AmountOverflow;
                unit.contribution_fen
                    .checked_add(additional_contribution_fen)
                    .map_err(overflow)?;
                self.total_contributions_fen
                    .checked_add(additional_contribution_fen)
                    .map_err(overflow)?;
                MutualAidPlanEvent::RosterAmended {
                    unit_id,
                    added: add,
                    removed: remove,
                    additional_contribution_fen,
                    reason,
                    amended_by: by,
                    amended_at: at,
                }
            }
            MutualAidPlanCommand::ClosePeriod { note } => {
                self.ensure_open()?;
                MutualAidPlanEvent::PeriodClosed {
                    note,
                    closed_by: by,
                    closed_at: at,
                }
            }
        };
        sink.write(event, self).await;
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        // The handler refused anything that would overflow: overflow here is
        // a broken invariant, asserted, never a clamped total.
        let add = |a: Fen, b: Fen| {
            a.add_asserted(b, "handle refuses contributions that overflow the period")
        };
        match event {
            MutualAidPlanEvent::PeriodOpened {
                name,
                period_no,
                starts_on,
                ends_on,
                policy,
                opened_by,
                opened_at,
            } => {
                self.terms = Some(PeriodTerms {
                    name,
                    period_no,
                    starts_on,
                    ends_on,
                    policy,
                    opened_by,
                    opened_at,
                });
            }
            MutualAidPlanEvent::UnitEnrolled {
                unit_id,
                unit_name,
                members,
                contribution_fen,
                paid_by,
                enrolled_at,
                ..
            } => {
                let member_count = members.len();
                for m in members {
                    self.members.insert(
                        m.resident_id,
                        Enrolment {
                            unit_id: unit_id.clone(),
                            migrant_worker: m.migrant_worker,
                        },
                    );
                }
                self.total_contributions_fen = add(self.total_contributions_fen, contribution_fen);
                self.units.insert(
                    unit_id,
                    UnitEnrolment {
                        unit_name,
                        member_count,
                        contribution_fen,
                        paid_by,
                        enrolled_at,
                    },
                );
            }
            MutualAidPlanEvent::RosterAmended {
                unit_id,
                added,
                removed,
                additional_contribution_fen,
                ..
            } => {
                let mut removed_count = 0usize;
                for id in &removed {
                    if self.members.remove(id).is_some() {
                        removed_count += 1;
                    }
                }
                let added_count = added.len();
                for m in added {
                    self.members.insert(
                        m.resident_id,
                        Enrolment {
                            unit_id: unit_id.clone(),
                            migrant_worker: m.migrant_worker,
                        },
                    );
                }
                self.total_contributions_fen =
                    add(self.total_contributions_fen, additional_contribution_fen);
                if let Some(unit) = self.units.get_mut(&unit_id) {
                    unit.member_count = (unit.member_count + added_count)
                        .checked_sub(removed_count)
                        .expect("invariant broken: an amendment removes only members of the unit");
                    unit.contribution_fen = add(unit.contribution_fen, additional_contribution_fen);
                }
            }
            MutualAidPlanEvent::PeriodClosed {
                note,
                closed_by,
                closed_at,
            } => {
                self.closure = Some(Closure {
                    note,
                    closed_by,
                    closed_at,
                });
            }
        }
    }
}

/// Refuses the first resident ID that occurs twice.
fn ensure_distinct<'a>(
    ids: impl Iterator<Item = &'a ResidentId>,
) -> Result<(), MutualAidPlanError> {
    let mut seen = HashSet::new();
    for id in ids {
        if !seen.insert(id) {
            return Err(MutualAidPlanError::DuplicateMember(id.clone()));
        }
    }
    Ok(())
}

impl MutualAidPlan {
    fn ensure_open(&self) -> Result<(), MutualAidPlanError> {
        match self.status() {
            None => Err(MutualAidPlanError::NotOpened),
            Some(PlanStatus::Closed) => Err(MutualAidPlanError::PeriodClosed),
            Some(PlanStatus::Open) => Ok(()),
        }
    }

    fn ensure_not_enrolled(&self, enrolees: &[Enrolee]) -> Result<(), MutualAidPlanError> {
        for m in enrolees {
            if let Some(e) = self.members.get(&m.resident_id) {
                return Err(MutualAidPlanError::MemberAlreadyEnrolled {
                    member: m.resident_id.clone(),
                    unit_id: e.unit_id.clone(),
                });
            }
        }
        Ok(())
    }

    /// The member's enrolment in this period, if any.
    pub fn enrolment(&self, id: &ResidentId) -> Option<Enrolment> {
        self.members.get(id).cloned()
    }

    /// True once the period has been opened.
    pub fn is_opened(&self) -> bool {
        self.terms.is_some()
    }

    /// `None` before the period is opened.
    pub fn status(&self) -> Option<PlanStatus> {
        self.terms.as_ref().map(|_| match self.closure {
            Some(_) => PlanStatus::Closed,
            None => PlanStatus::Open,
        })
    }

    /// Open for enrolment.
    pub fn is_open(&self) -> bool {
        self.status() == Some(PlanStatus::Open)
    }

    /// The terms the period was opened with.
    pub fn terms(&self) -> Option<&PeriodTerms> {
        self.terms.as_ref()
    }

    /// The period's name.
    pub fn name(&self) -> Option<&OrgName> {
        self.terms.as_ref().map(|t| &t.name)
    }

    /// The period's number.
    pub fn period_no(&self) -> Option<u32> {
        self.terms.as_ref().map(|t| t.period_no)
    }

    /// The subsidy policy.
    pub fn policy(&self) -> Option<&Policy> {
        self.terms.as_ref().map(|t| &t.policy)
    }

    /// First day of cover.
    pub fn starts_on(&self) -> Option<NaiveDate> {
        self.terms.as_ref().map(|t| t.starts_on)
    }

    /// Last day of cover.
    pub fn ends_on(&self) -> Option<NaiveDate> {
        self.terms.as_ref().map(|t| t.ends_on)
    }

    /// How the period was closed, once it is.
    pub fn closure(&self) -> Option<&Closure> {
        self.closure.as_ref()
    }

    /// Units enrolled.
    pub fn unit_count(&self) -> usize {
        self.units.len()
    }

    /// Members currently enrolled.
    pub fn member_count(&self) -> usize {
        self.members.len()
    }

    /// Contributions collected, all units, including amendments.
    pub fn total_contributions_fen(&self) -> Fen {
        self.total_contributions_fen
    }

    /// One unit's enrolment.
    pub fn unit(&self, unit_id: &Code) -> Option<&UnitEnrolment> {
        self.units.get(unit_id)
    }

    /// One unit's contributions, including amendments.
    pub fn unit_contribution_fen(&self, unit_id: &Code) -> Option<Fen> {
        self.units.get(unit_id).map(|u| u.contribution_fen)
    }

    /// All units, ordered by id.
    pub fn units(&self) -> impl Iterator<Item = (&Code, &UnitEnrolment)> {
        self.units.iter()
    }

    /// The members enrolled through `unit_id`, ordered by resident ID.
    pub fn members_of<'a>(&'a self, unit_id: &'a Code) -> impl Iterator<Item = &'a ResidentId> {
        self.members
            .iter()
            .filter(move |(_, e)| &e.unit_id == unit_id)
            .map(|(id, _)| id)
    }

    /// What a claim needs to know about this period (for `MutualAidClaimServices`).
    pub fn plan_facts(&self) -> Option<PlanFacts> {
        self.terms.as_ref().map(|t| PlanFacts {
            starts_on: t.starts_on,
            ends_on: t.ends_on,
            open: self.closure.is_none(),
            policy: t.policy.clone(),
        })
    }
}

/// A realistic `OpenPeriod` body: Putian period 7 with the illustrative
/// [`crate::mutual_aid::policy::sample_policy`], covering calendar year 2026.
#[cfg(any(test, feature = "testing"))]
pub fn sample_open_period() -> MutualAidPlanCommand {
    MutualAidPlanCommand::OpenPeriod {
        name: OrgName::parse("莆田市职工医疗互助第七期").expect("valid name"),
        period_no: 7,
        starts_on: date(2026, 1, 1),
        ends_on: date(2026, 12, 31),
        policy: crate::mutual_aid::policy::sample_policy(),
    }
}

#[cfg(any(test, feature = "testing"))]
fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

/// A realistic history containing every event: the period opens, a unit and
/// a sponsored gig-worker group enrol, a roster is amended, the period closes.
/// Members are `testing::nth_resident_id(1..=6)`.
#[cfg(any(test, feature = "testing"))]
pub fn sample_events() -> Vec<MutualAidPlanEvent> {
    use crate::testing::{at, nth_resident_id};
    let code = |s: &str| Code::parse(s).expect("valid code");
    let org = |s: &str| OrgName::parse(s).expect("valid name");
    let text = |s: &str| ShortText::parse(s).expect("valid text");
    let fen = |f: i64| Fen::new(f).expect("valid amount");
    let enrolee = |n: u32, name: &str, migrant_worker: bool| Enrolee {
        resident_id: nth_resident_id(n),
        name: crate::values::PersonName::parse(name).expect("valid name"),
        migrant_worker,
    };
    let MutualAidPlanCommand::OpenPeriod {
        name,
        period_no,
        starts_on,
        ends_on,
        policy,
    } = sample_open_period()
    else {
        unreachable!("sample_open_period returns OpenPeriod")
    };
    vec![
        MutualAidPlanEvent::PeriodOpened {
            name,
            period_no,
            starts_on,
            ends_on,
            policy,
            opened_by: code("chen.li"),
            opened_at: at(0),
        },
        MutualAidPlanEvent::UnitEnrolled {
            unit_id: code("unit-ptcx-0012"),
            unit_name: org("莆田市城厢区环境卫生管理处"),
            members: vec![
                enrolee(1, "林志强", false),
                enrolee(2, "陈美华", true),
                enrolee(3, "黄建国", true),
            ],
            // 3 members × 43.20 yuan
            contribution_fen: fen(12_960),
            paid_by: Payer::Unit,
            enrolled_by: code("chen.li"),
            enrolled_at: at(30),
        },
        MutualAidPlanEvent::UnitEnrolled {
            unit_id: code("unit-gig-0001"),
            unit_name: org("莆田市外卖骑手联合工会"),
            members: vec![enrolee(4, "郑文斌", true), enrolee(5, "吴晓东", true)],
            contribution_fen: fen(8_640),
            paid_by: Payer::Sponsor {
                name: org("莆田市总工会"),
            },
            enrolled_by: code("chen.li"),
            enrolled_at: at(45),
        },
        MutualAidPlanEvent::RosterAmended {
            unit_id: code("unit-ptcx-0012"),
            added: vec![enrolee(6, "郑丽萍", false)],
            removed: vec![nth_resident_id(1)],
            additional_contribution_fen: fen(4_320),
            reason: text("林志强调离，郑丽萍新入职"),
            amended_by: code("chen.li"),
            amended_at: at(60),
        },
        MutualAidPlanEvent::PeriodClosed {
            note: text("第七期参加工作结束"),
            closed_by: code("chen.li"),
            closed_at: at(90),
        },
    ]
}
