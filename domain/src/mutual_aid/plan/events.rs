//! What happened to a mutual-aid plan period.

use chrono::{DateTime, NaiveDate, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};

use super::commands::{Enrolee, Payer};
use crate::i18n::Lang;
use crate::mutual_aid::policy::Policy;
use crate::reservation::{Reservation, Reserves};
use crate::values::{Code, Fen, OrgName, ResidentId, ShortText};

/// Events of [`super::MutualAidPlan`].
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub enum MutualAidPlanEvent {
    /// The period was opened with its policy.
    PeriodOpened {
        /// e.g. 莆田市职工医疗互助第七期.
        name: OrgName,
        /// 第七期 → 7.
        period_no: u32,
        /// First day of cover.
        starts_on: NaiveDate,
        /// Last day of cover.
        ends_on: NaiveDate,
        /// The subsidy policy, in full: claims are assessed by it.
        policy: Policy,
        /// Who opened it.
        opened_by: Code,
        /// When.
        opened_at: DateTime<Utc>,
    },
    /// A unit enrolled with its full roster.
    UnitEnrolled {
        /// The unit's stable id.
        unit_id: Code,
        /// The unit's name.
        unit_name: OrgName,
        /// The full roster.
        members: Vec<Enrolee>,
        /// Contribution paid.
        contribution_fen: Fen,
        /// Who paid it.
        paid_by: Payer,
        /// Who recorded the enrolment.
        enrolled_by: Code,
        /// When.
        enrolled_at: DateTime<Utc>,
    },
    /// A unit's roster changed.
    RosterAmended {
        /// The unit.
        unit_id: Code,
        /// Members added.
        added: Vec<Enrolee>,
        /// Members removed.
        removed: Vec<ResidentId>,
        /// Contribution paid for the change.
        additional_contribution_fen: Fen,
        /// Why.
        reason: ShortText,
        /// Who.
        amended_by: Code,
        /// When.
        amended_at: DateTime<Utc>,
    },
    /// The period was closed to enrolment.
    PeriodClosed {
        /// Closing note.
        note: ShortText,
        /// Who.
        closed_by: Code,
        /// When.
        closed_at: DateTime<Utc>,
    },
}

/// Every event type name, for golden-file completeness checks.
pub const EVENT_TYPES: [&str; 4] = [
    "PeriodOpened",
    "UnitEnrolled",
    "RosterAmended",
    "PeriodClosed",
];

impl DomainEvent for MutualAidPlanEvent {
    fn event_type(&self) -> String {
        let t = match self {
            MutualAidPlanEvent::PeriodOpened { .. } => "PeriodOpened",
            MutualAidPlanEvent::UnitEnrolled { .. } => "UnitEnrolled",
            MutualAidPlanEvent::RosterAmended { .. } => "RosterAmended",
            MutualAidPlanEvent::PeriodClosed { .. } => "PeriodClosed",
        };
        t.to_string()
    }

    /// Where this type's upcaster chain ends ([`crate::upcast`]).
    fn event_version(&self) -> String {
        crate::upcast::current_version(
            <super::MutualAidPlan as cqrs_es::Aggregate>::TYPE,
            &self.event_type(),
        )
        .to_string()
    }
}

/// Plan events reserve nothing: a member's uniqueness within the period is
/// checked inside the aggregate, which holds the whole roster.
impl Reserves for MutualAidPlanEvent {
    fn reservations(&self) -> Vec<Reservation> {
        vec![]
    }
}

impl MutualAidPlanEvent {
    /// What happened, in a few words.
    pub fn label(&self, lang: Lang) -> &'static str {
        let (zh, en) = match self {
            MutualAidPlanEvent::PeriodOpened { .. } => ("互助期已开启", "period opened"),
            MutualAidPlanEvent::UnitEnrolled { .. } => ("单位已参加", "unit enrolled"),
            MutualAidPlanEvent::RosterAmended { .. } => ("名单已调整", "roster amended"),
            MutualAidPlanEvent::PeriodClosed { .. } => ("互助期已结束", "period closed"),
        };
        lang.pick(zh, en)
    }

    /// One line for `bangfu history`. Names no member.
    pub fn describe(&self, lang: Lang) -> String {
        match (self, lang) {
            (
                MutualAidPlanEvent::PeriodOpened {
                    name,
                    period_no,
                    starts_on,
                    ends_on,
                    policy,
                    ..
                },
                Lang::Zh,
            ) => format!(
                "开启「{name}」第{period_no}期，{starts_on} 至 {ends_on}，补助政策 {}（起点 {} 元，{} 档）",
                policy.version,
                policy.threshold_fen,
                policy.tiers.len()
            ),
            (
                MutualAidPlanEvent::PeriodOpened {
                    name,
                    period_no,
                    starts_on,
                    ends_on,
                    policy,
                    ..
                },
                Lang::En,
            ) => format!(
                "opened \"{name}\" period {period_no}, {starts_on} to {ends_on}, policy {} (threshold {} yuan, {} tiers)",
                policy.version,
                policy.threshold_fen,
                policy.tiers.len()
            ),
            (
                MutualAidPlanEvent::UnitEnrolled {
                    unit_id,
                    unit_name,
                    members,
                    contribution_fen,
                    paid_by,
                    ..
                },
                _,
            ) => {
                let payer = match paid_by {
                    Payer::Unit => paid_by.label(lang).to_string(),
                    Payer::Sponsor { name } => format!("{}: {name}", paid_by.label(lang)),
                };
                match lang {
                    Lang::Zh => format!(
                        "单位「{unit_name}」（{unit_id}）参加互助：{} 人，互助金 {contribution_fen} 元（{payer}）",
                        members.len()
                    ),
                    Lang::En => format!(
                        "unit \"{unit_name}\" ({unit_id}) enrolled {} members, contribution {contribution_fen} yuan ({payer})",
                        members.len()
                    ),
                }
            }
            (
                MutualAidPlanEvent::RosterAmended {
                    unit_id,
                    added,
                    removed,
                    additional_contribution_fen,
                    reason,
                    ..
                },
                Lang::Zh,
            ) => format!(
                "调整单位 {unit_id} 名单：增加 {} 人，减少 {} 人，补缴互助金 {additional_contribution_fen} 元；原因：{reason}",
                added.len(),
                removed.len()
            ),
            (
                MutualAidPlanEvent::RosterAmended {
                    unit_id,
                    added,
                    removed,
                    additional_contribution_fen,
                    reason,
                    ..
                },
                Lang::En,
            ) => format!(
                "amended unit {unit_id} roster: {} added, {} removed, additional contribution {additional_contribution_fen} yuan; reason: {reason}",
                added.len(),
                removed.len()
            ),
            (MutualAidPlanEvent::PeriodClosed { note, .. }, Lang::Zh) => {
                format!("互助期结束：{note}")
            }
            (MutualAidPlanEvent::PeriodClosed { note, .. }, Lang::En) => {
                format!("period closed: {note}")
            }
        }
    }
}
