//! What can be asked of a mutual-aid plan period.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::i18n::Lang;
use crate::mutual_aid::policy::Policy;
use crate::values::{Code, Fen, OrgName, PersonName, ResidentId, ShortText};

/// Most members one roster (an enrolment, or one side of an amendment) may
/// list, and most members one unit may have in a period.
pub const MAX_ROSTER: usize = 20_000;

/// Commands of [`super::MutualAidPlan`].
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub enum MutualAidPlanCommand {
    /// Opens the plan period with its policy. Only on a new aggregate.
    OpenPeriod {
        /// e.g. 莆田市职工医疗互助第七期.
        name: OrgName,
        /// The period's number (第七期 → 7).
        period_no: u32,
        /// First day of cover.
        #[serde(deserialize_with = "crate::values::plausible_date")]
        starts_on: NaiveDate,
        /// Last day of cover; after `starts_on`.
        #[serde(deserialize_with = "crate::values::plausible_date")]
        ends_on: NaiveDate,
        /// The subsidy policy; must pass [`Policy::validate`].
        policy: Policy,
    },
    /// Enrols a unit with its roster and contribution.
    EnrolUnit {
        /// The unit's stable id.
        unit_id: Code,
        /// The unit's name.
        unit_name: OrgName,
        /// 1..=[`MAX_ROSTER`] members, none listed twice, none enrolled already.
        members: Vec<Enrolee>,
        /// Contribution (互助金) paid for the roster.
        #[serde(deserialize_with = "crate::values::amount")]
        #[cfg_attr(feature = "openapi", schema(schema_with = crate::values::schema::amount))]
        contribution_fen: Fen,
        /// Who paid it.
        paid_by: Payer,
    },
    /// Adds and removes members of an enrolled unit.
    AmendRoster {
        /// The enrolled unit.
        unit_id: Code,
        /// Members to add; none enrolled already.
        add: Vec<Enrolee>,
        /// Members to remove; all enrolled through this unit.
        remove: Vec<ResidentId>,
        /// Contribution paid for the change (may be zero).
        #[serde(deserialize_with = "crate::values::amount")]
        #[cfg_attr(feature = "openapi", schema(schema_with = crate::values::schema::amount))]
        additional_contribution_fen: Fen,
        /// Why.
        reason: ShortText,
    },
    /// Closes the period: no enrolment or amendment afterwards. Claims for
    /// stays inside the period remain possible.
    ClosePeriod {
        /// A closing note.
        note: ShortText,
    },
}

/// One member on a unit's roster.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Enrolee {
    /// 身份证号.
    pub resident_id: ResidentId,
    /// Name.
    pub name: PersonName,
    /// Enrolled as a migrant worker (农民工).
    pub migrant_worker: bool,
}

/// Who paid a unit's contribution. Free cover for gig workers is paid by a sponsor.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Payer {
    /// The unit itself.
    Unit,
    /// A sponsor (a union, a foundation), not the unit or the members.
    Sponsor {
        /// The sponsor's name.
        name: OrgName,
    },
}

impl Payer {
    /// Who paid, for people.
    pub fn label(&self, lang: Lang) -> &'static str {
        match self {
            Payer::Unit => lang.pick("单位缴纳", "paid by the unit"),
            Payer::Sponsor { .. } => lang.pick("赞助方缴纳", "paid by a sponsor"),
        }
    }
}
