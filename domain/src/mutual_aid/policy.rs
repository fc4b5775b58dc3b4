//! The subsidy policy of a mutual-aid plan period and the pure assessment that
//! applies it to one hospital stay.
//!
//! The serious-illness subsidy (大病补助) is a *tiered fixed amount* (分档定额补助):
//! once a member's net self-paid cost (净自付 = total cost − basic medical
//! insurance − other reimbursements) reaches the threshold (起点), the member
//! gets the fixed amount of the tier the cost falls in. Periods raise every
//! tier by a percentage (Putian period 7: +30%), migrant workers (农民工) get a
//! further uplift, and a member's subsidies within one period are capped.
//!
//! All of that is *data that changes between periods*, so it lives in a
//! versioned [`Policy`] carried by the plan period, and every assessment
//! records the policy it used. [`assess`] is a pure function of the policy and
//! the [`AssessmentFacts`]: an auditor holding the `ClaimAssessed` event can
//! call it again and must get the same [`Assessment`].
//!
//! Percentages go through [`Fen::uplifted`] — the one rounding rule of bangfu
//! (half up to the fen) — and nowhere else.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::i18n::{Lang, Localize};
use crate::values::{BasisPoints, Code, Fen, MoneyError};

/// Most tiers a policy may have. Real tables have four to six.
pub const MAX_TIERS: usize = 20;

/// One row of the tier table: from `from_fen` of net self-paid cost
/// (inclusive) up to the next tier's `from_fen` (exclusive; the last tier is
/// open-ended), the subsidy is `amount_fen` before uplifts.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Tier {
    /// Lower bound of net self-paid cost, inclusive.
    #[serde(deserialize_with = "crate::values::amount")]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::values::schema::amount))]
    pub from_fen: Fen,
    /// Fixed subsidy of this tier, before uplifts.
    #[serde(deserialize_with = "crate::values::amount")]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::values::schema::amount))]
    pub amount_fen: Fen,
}

impl Tier {
    /// The tier's amount raised by `uplift` (rounded by [`Fen::uplifted`]).
    pub fn uplifted(&self, uplift: BasisPoints) -> Result<Fen, MoneyError> {
        self.amount_fen.uplifted(uplift)
    }
}

/// The subsidy rules of one plan period, identified by `version`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Stable identifier of these terms (e.g. `putian-07-v1`), recorded by every assessment.
    pub version: Code,
    /// 起点: the net self-paid cost from which a subsidy is paid. Equals the first tier's `from_fen`.
    #[serde(deserialize_with = "crate::values::amount")]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::values::schema::amount))]
    pub threshold_fen: Fen,
    /// The tier table, ascending by `from_fen`.
    pub tiers: Vec<Tier>,
    /// Uplift of every tier for this period (3 000 bp = +30%).
    pub period_uplift_bp: BasisPoints,
    /// Further uplift for migrant workers (农民工), applied after the period uplift.
    pub migrant_uplift_bp: BasisPoints,
    /// Most one member may receive from this period, over all their claims.
    #[serde(deserialize_with = "crate::values::amount")]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::values::schema::amount))]
    pub cap_per_member_fen: Fen,
}

/// Why a [`Policy`] cannot be used. The detail of `mutual_aid_plan.invalid_policy`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The tier table is empty.
    #[error("the policy has no tiers")]
    NoTiers,
    /// More than [`MAX_TIERS`] tiers.
    #[error("the policy has {count} tiers; at most {MAX_TIERS} are allowed")]
    TooManyTiers {
        /// Tiers given.
        count: usize,
    },
    /// The first tier must start at the threshold, so every eligible cost has a tier.
    #[error(
        "the first tier starts at {first_from_fen} yuan but the threshold is {threshold_fen} yuan"
    )]
    FirstTierNotAtThreshold {
        /// Where the first tier starts.
        first_from_fen: Fen,
        /// The threshold.
        threshold_fen: Fen,
    },
    /// Tier `index` does not start above the previous one.
    #[error("tier {index} does not start above the previous tier")]
    TiersNotAscending {
        /// Zero-based index of the offending tier.
        index: usize,
    },
    /// Tier `index` pays less than the previous one (higher costs must never pay less).
    #[error("tier {index} pays less than the previous tier")]
    AmountDecreases {
        /// Zero-based index of the offending tier.
        index: usize,
    },
    /// Tier `index` pays nothing.
    #[error("tier {index} pays nothing")]
    ZeroAmount {
        /// Zero-based index of the offending tier.
        index: usize,
    },
    /// The per-member cap is zero.
    #[error("the cap per member is zero")]
    ZeroCap,
    /// The largest tier, after both uplifts, is not a representable amount.
    #[error("the largest tier overflows after uplifts")]
    AmountOverflow,
}

impl Localize for PolicyError {
    fn localize(&self, lang: Lang) -> String {
        use PolicyError::*;
        // Tiers are numbered from 1 for people.
        match (self, lang) {
            (NoTiers, Lang::Zh) => "补助档次表为空".into(),
            (TooManyTiers { count }, Lang::Zh) => {
                format!("补助档次过多：{count} 档，最多 {MAX_TIERS} 档")
            }
            (
                FirstTierNotAtThreshold {
                    first_from_fen,
                    threshold_fen,
                },
                Lang::Zh,
            ) => format!("第一档起点 {first_from_fen} 元与补助起点 {threshold_fen} 元不一致"),
            (TiersNotAscending { index }, Lang::Zh) => {
                format!("第 {} 档的起点未高于上一档", index + 1)
            }
            (AmountDecreases { index }, Lang::Zh) => {
                format!("第 {} 档的补助金额低于上一档", index + 1)
            }
            (ZeroAmount { index }, Lang::Zh) => format!("第 {} 档的补助金额为零", index + 1),
            (ZeroCap, Lang::Zh) => "每人封顶金额为零".into(),
            (AmountOverflow, Lang::Zh) => "最高档补助加上上浮后超出金额范围".into(),
            (TooManyTiers { count }, Lang::En) => {
                format!("the policy has {count} tiers; at most {MAX_TIERS} are allowed")
            }
            (TiersNotAscending { index }, Lang::En) => {
                format!("tier {} does not start above the previous tier", index + 1)
            }
            (AmountDecreases { index }, Lang::En) => {
                format!("tier {} pays less than the previous tier", index + 1)
            }
            (ZeroAmount { index }, Lang::En) => format!("tier {} pays nothing", index + 1),
            (other, Lang::En) => other.to_string(),
        }
    }
}

impl Policy {
    /// Checks the policy before a period may use it: 1..=[`MAX_TIERS`] tiers,
    /// the first starting at the threshold, strictly ascending starts,
    /// non-decreasing non-zero amounts, a non-zero cap, and amounts that stay
    /// representable after both uplifts.
    ///
    /// A policy that passes is one [`assess`] can never fail on.
    pub fn validate(&self) -> Result<(), PolicyError> {
        let Some(first) = self.tiers.first() else {
            return Err(PolicyError::NoTiers);
        };
        if self.tiers.len() > MAX_TIERS {
            return Err(PolicyError::TooManyTiers {
                count: self.tiers.len(),
            });
        }
        if first.from_fen != self.threshold_fen {
            return Err(PolicyError::FirstTierNotAtThreshold {
                first_from_fen: first.from_fen,
                threshold_fen: self.threshold_fen,
            });
        }
        if first.amount_fen.is_zero() {
            return Err(PolicyError::ZeroAmount { index: 0 });
        }
        for (i, pair) in self.tiers.windows(2).enumerate() {
            let (prev, next) = match pair {
                [p, n] => (p, n),
                _ => continue,
            };
            let index = i + 1;
            if next.from_fen <= prev.from_fen {
                return Err(PolicyError::TiersNotAscending { index });
            }
            if next.amount_fen.is_zero() {
                return Err(PolicyError::ZeroAmount { index });
            }
            if next.amount_fen < prev.amount_fen {
                return Err(PolicyError::AmountDecreases { index });
            }
        }
        if self.cap_per_member_fen.is_zero() {
            return Err(PolicyError::ZeroCap);
        }
        // Amounts are non-decreasing and uplifting is monotone, so the last
        // tier with both uplifts is the largest amount `assess` can compute.
        let largest = self.tiers.last().unwrap_or(first);
        largest
            .uplifted(self.period_uplift_bp)
            .and_then(|a| a.uplifted(self.migrant_uplift_bp))
            .map_err(|_| PolicyError::AmountOverflow)?;
        Ok(())
    }

    /// The index and tier that `net_self_paid` falls in: the tier with the
    /// highest `from_fen` not above it. `None` below the first tier.
    pub fn tier_for(&self, net_self_paid: Fen) -> Option<(usize, &Tier)> {
        // Scanning all tiers (at most MAX_TIERS) rather than stopping early
        // keeps the answer well-defined even for an unvalidated table.
        self.tiers
            .iter()
            .enumerate()
            .filter(|(_, t)| t.from_fen <= net_self_paid)
            .max_by_key(|(i, t)| (t.from_fen, *i))
    }
}

/// Why a claim is refused (or assessed ineligible). Closed; the snake_case
/// names are stable and stored in events.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// 未达起付线: net self-paid cost below the threshold.
    BelowThreshold,
    /// 未参加本期互助: the member is not enrolled in the period.
    NotEnrolled,
    /// 住院不在互助期内: admission date outside the period.
    StayOutsidePeriod,
    /// 该次住院已申请: another claim covers the same stay.
    StayAlreadyClaimed,
    /// 已达年度封顶: the member's subsidies reached the period cap.
    CapReached,
    /// 材料不全: documents incomplete.
    DocumentsIncomplete,
    /// 其他: see the note.
    Other,
}

impl RejectReason {
    /// All reasons, in display order.
    pub const ALL: [RejectReason; 7] = [
        RejectReason::BelowThreshold,
        RejectReason::NotEnrolled,
        RejectReason::StayOutsidePeriod,
        RejectReason::StayAlreadyClaimed,
        RejectReason::CapReached,
        RejectReason::DocumentsIncomplete,
        RejectReason::Other,
    ];

    /// Stable name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::BelowThreshold => "below_threshold",
            RejectReason::NotEnrolled => "not_enrolled",
            RejectReason::StayOutsidePeriod => "stay_outside_period",
            RejectReason::StayAlreadyClaimed => "stay_already_claimed",
            RejectReason::CapReached => "cap_reached",
            RejectReason::DocumentsIncomplete => "documents_incomplete",
            RejectReason::Other => "other",
        }
    }

    /// The reason for people.
    pub fn label(self, lang: Lang) -> &'static str {
        let (zh, en) = match self {
            RejectReason::BelowThreshold => ("未达起付线", "below the threshold"),
            RejectReason::NotEnrolled => ("未参加本期互助", "not enrolled in this period"),
            RejectReason::StayOutsidePeriod => {
                ("住院不在互助期内", "hospital stay outside the period")
            }
            RejectReason::StayAlreadyClaimed => ("该次住院已申请", "stay already claimed"),
            RejectReason::CapReached => ("已达年度封顶", "cap reached"),
            RejectReason::DocumentsIncomplete => ("材料不全", "documents incomplete"),
            RejectReason::Other => ("其他", "other"),
        };
        lang.pick(zh, en)
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything [`assess`] looks at besides the policy. Recorded verbatim in the
/// `ClaimAssessed` event.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AssessmentFacts {
    /// Total medical cost of the stay.
    pub total_cost_fen: Fen,
    /// Paid by basic medical insurance.
    pub basic_insurance_fen: Fen,
    /// Other reimbursements (commercial insurance, other aid).
    pub other_reimbursement_fen: Fen,
    /// The member is enrolled as a migrant worker (农民工).
    pub migrant_worker: bool,
    /// The admission date lies within the period.
    pub stay_within_period: bool,
    /// The member is enrolled in the period.
    pub enrolled: bool,
    /// The member's approved and paid subsidies from other claims in this period.
    pub already_subsidised_in_period_fen: Fen,
}

impl AssessmentFacts {
    /// 净自付: total − basic insurance − other reimbursements.
    /// `Underflow` when reimbursements exceed the cost, `Overflow` when they
    /// cannot even be added up.
    pub fn net_self_paid(&self) -> Result<Fen, MoneyError> {
        let reimbursed = self
            .basic_insurance_fen
            .checked_add(self.other_reimbursement_fen)?;
        self.total_cost_fen.checked_sub(reimbursed)
    }
}

/// The outcome of [`assess`], with every intermediate figure so the subsidy
/// can be followed step by step.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub enum Assessment {
    /// A subsidy is due.
    Eligible {
        /// 净自付.
        net_self_paid_fen: Fen,
        /// Zero-based index of the tier in the policy's table.
        tier_index: u32,
        /// Where that tier starts.
        tier_from_fen: Fen,
        /// The tier's amount before uplifts.
        tier_amount_fen: Fen,
        /// The period's uplift.
        period_uplift_bp: BasisPoints,
        /// The tier's amount after the period uplift.
        after_period_uplift_fen: Fen,
        /// The migrant-worker uplift applied (zero if not a migrant worker).
        migrant_uplift_bp: BasisPoints,
        /// After the migrant-worker uplift.
        after_migrant_uplift_fen: Fen,
        /// Cap per member minus what the member already got this period.
        cap_remaining_fen: Fen,
        /// True when the cap cut the amount.
        capped: bool,
        /// The subsidy: `min(after_migrant_uplift_fen, cap_remaining_fen)`.
        subsidy_fen: Fen,
    },
    /// No subsidy is due.
    Ineligible {
        /// The first rule that failed.
        reason: RejectReason,
    },
}

impl Assessment {
    /// The subsidy due: zero when ineligible.
    pub fn subsidy_fen(&self) -> Fen {
        match self {
            Assessment::Eligible { subsidy_fen, .. } => *subsidy_fen,
            Assessment::Ineligible { .. } => Fen::ZERO,
        }
    }

    /// True when a subsidy is due.
    pub fn is_eligible(&self) -> bool {
        matches!(self, Assessment::Eligible { .. })
    }

    /// Why not, when ineligible.
    pub fn reason(&self) -> Option<RejectReason> {
        match self {
            Assessment::Eligible { .. } => None,
            Assessment::Ineligible { reason } => Some(*reason),
        }
    }
}

/// Applies `policy` to `facts`. Pure and deterministic; never panics.
///
/// Checks, in order, each failing one giving [`Assessment::Ineligible`]:
/// not enrolled → `not_enrolled`; admission outside the period →
/// `stay_outside_period`; net self-paid below the threshold (or below the
/// first tier) → `below_threshold`; nothing left under the cap →
/// `cap_reached`. Otherwise the tier amount is raised by the period uplift,
/// then by the migrant uplift for migrant workers, and cut to the cap left.
///
/// Errors (the function is total; these are the only failures):
/// - [`MoneyError::Underflow`] when reimbursements exceed the total cost
///   (refused at submission, so never seen for a recorded claim);
/// - [`MoneyError::Overflow`] when reimbursements cannot be added up, or when
///   an uplifted amount is not representable — impossible for a policy that
///   passes [`Policy::validate`].
pub fn assess(policy: &Policy, facts: &AssessmentFacts) -> Result<Assessment, MoneyError> {
    let net = facts.net_self_paid()?;
    let ineligible = |reason| Ok(Assessment::Ineligible { reason });
    if !facts.enrolled {
        return ineligible(RejectReason::NotEnrolled);
    }
    if !facts.stay_within_period {
        return ineligible(RejectReason::StayOutsidePeriod);
    }
    if net < policy.threshold_fen {
        return ineligible(RejectReason::BelowThreshold);
    }
    let Some((index, tier)) = policy.tier_for(net) else {
        // Only an unvalidated table starts above the threshold.
        return ineligible(RejectReason::BelowThreshold);
    };
    let cap_remaining = policy
        .cap_per_member_fen
        .room_after(facts.already_subsidised_in_period_fen);
    if cap_remaining.is_zero() {
        return ineligible(RejectReason::CapReached);
    }
    let after_period = tier.uplifted(policy.period_uplift_bp)?;
    let migrant_uplift = if facts.migrant_worker {
        policy.migrant_uplift_bp
    } else {
        BasisPoints::ZERO
    };
    let after_migrant = after_period.uplifted(migrant_uplift)?;
    let subsidy = after_migrant.min(cap_remaining);
    Ok(Assessment::Eligible {
        net_self_paid_fen: net,
        tier_index: u32::try_from(index).unwrap_or(u32::MAX),
        tier_from_fen: tier.from_fen,
        tier_amount_fen: tier.amount_fen,
        period_uplift_bp: policy.period_uplift_bp,
        after_period_uplift_fen: after_period,
        migrant_uplift_bp: migrant_uplift,
        after_migrant_uplift_fen: after_migrant,
        cap_remaining_fen: cap_remaining,
        capped: subsidy < after_migrant,
        subsidy_fen: subsidy,
    })
}

/// An illustrative Putian-like policy for tests and fixtures — **not** the
/// real table, which the seed does not give. What the seed does give: the
/// threshold is 5,000 yuan net self-paid, every tier and the migrant-worker
/// amounts were raised 30% in period 7, and 58,917.86 yuan went to 203
/// workers (≈290 yuan each), so the base amounts here are a few hundred yuan.
///
/// | net self-paid from | base | +30% | migrant (+30% again) |
/// |---|---|---|---|
/// | 5,000 | 200 | 260 | 338 |
/// | 10,000 | 400 | 520 | 676 |
/// | 20,000 | 800 | 1,040 | 1,352 |
/// | 50,000 | 1,500 | 1,950 | 2,535 |
/// | 100,000 | 2,500 | 3,250 | 4,225 |
///
/// Cap: 6,000 yuan per member per period.
#[cfg(any(test, feature = "testing"))]
pub fn sample_policy() -> Policy {
    let yuan = |y| Fen::from_yuan(y).expect("valid amount");
    let tier = |from, amount| Tier {
        from_fen: yuan(from),
        amount_fen: yuan(amount),
    };
    Policy {
        version: Code::parse("putian-07-v1").expect("valid code"),
        threshold_fen: yuan(5_000),
        tiers: vec![
            tier(5_000, 200),
            tier(10_000, 400),
            tier(20_000, 800),
            tier(50_000, 1_500),
            tier(100_000, 2_500),
        ],
        period_uplift_bp: BasisPoints::new(3_000).expect("valid rate"),
        migrant_uplift_bp: BasisPoints::new(3_000).expect("valid rate"),
        cap_per_member_fen: yuan(6_000),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fen(v: i64) -> Fen {
        Fen::new(v).unwrap()
    }

    fn yuan(v: i64) -> Fen {
        Fen::from_yuan(v).unwrap()
    }

    fn facts(total_yuan: i64, basic_yuan: i64) -> AssessmentFacts {
        AssessmentFacts {
            total_cost_fen: yuan(total_yuan),
            basic_insurance_fen: yuan(basic_yuan),
            other_reimbursement_fen: Fen::ZERO,
            migrant_worker: false,
            stay_within_period: true,
            enrolled: true,
            already_subsidised_in_period_fen: Fen::ZERO,
        }
    }

    #[test]
    fn sample_policy_is_valid() {
        assert_eq!(sample_policy().validate(), Ok(()));
    }

    #[test]
    fn worked_example_with_every_step() {
        // 38,000 total, 22,000 from basic insurance, 3,000 other: net 13,000 → tier 2 (10,000+).
        let mut f = facts(38_000, 22_000);
        f.other_reimbursement_fen = yuan(3_000);
        f.migrant_worker = true;
        let a = assess(&sample_policy(), &f).unwrap();
        assert_eq!(
            a,
            Assessment::Eligible {
                net_self_paid_fen: yuan(13_000),
                tier_index: 1,
                tier_from_fen: yuan(10_000),
                tier_amount_fen: yuan(400),
                period_uplift_bp: BasisPoints::new(3_000).unwrap(),
                after_period_uplift_fen: yuan(520),
                migrant_uplift_bp: BasisPoints::new(3_000).unwrap(),
                after_migrant_uplift_fen: yuan(676),
                cap_remaining_fen: yuan(6_000),
                capped: false,
                subsidy_fen: yuan(676),
            }
        );
    }

    #[test]
    fn threshold_is_inclusive_and_tiers_are_half_open() {
        let p = sample_policy();
        let at = |net| assess(&p, &facts(net, 0)).unwrap();
        assert_eq!(
            assess(
                &p,
                &AssessmentFacts {
                    total_cost_fen: fen(499_999),
                    ..facts(0, 0)
                }
            )
            .unwrap()
            .reason(),
            Some(RejectReason::BelowThreshold)
        );
        assert_eq!(at(5_000).subsidy_fen(), yuan(260));
        assert_eq!(at(9_999).subsidy_fen(), yuan(260));
        assert_eq!(at(10_000).subsidy_fen(), yuan(520));
        assert_eq!(at(1_000_000).subsidy_fen(), yuan(3_250));
    }

    #[test]
    fn rounding_goes_through_the_one_rule() {
        // 333.33 yuan × 1.3 = 433.329 → 433.33; × 1.3 = 563.329 → 563.33 (half up).
        let mut p = sample_policy();
        p.tiers = vec![Tier {
            from_fen: p.threshold_fen,
            amount_fen: fen(33_333),
        }];
        let mut f = facts(6_000, 0);
        f.migrant_worker = true;
        match assess(&p, &f).unwrap() {
            Assessment::Eligible {
                after_period_uplift_fen,
                after_migrant_uplift_fen,
                ..
            } => {
                assert_eq!(after_period_uplift_fen, fen(43_333));
                assert_eq!(after_migrant_uplift_fen, fen(56_333));
            }
            other => panic!("expected eligible, got {other:?}"),
        }
    }

    #[test]
    fn checks_run_in_the_documented_order() {
        let p = sample_policy();
        let mut f = facts(1_000, 0); // below threshold too
        f.already_subsidised_in_period_fen = yuan(6_000); // and capped
        f.stay_within_period = false;
        f.enrolled = false;
        assert_eq!(
            assess(&p, &f).unwrap().reason(),
            Some(RejectReason::NotEnrolled)
        );
        f.enrolled = true;
        assert_eq!(
            assess(&p, &f).unwrap().reason(),
            Some(RejectReason::StayOutsidePeriod)
        );
        f.stay_within_period = true;
        assert_eq!(
            assess(&p, &f).unwrap().reason(),
            Some(RejectReason::BelowThreshold)
        );
        f.total_cost_fen = yuan(50_000);
        assert_eq!(
            assess(&p, &f).unwrap().reason(),
            Some(RejectReason::CapReached)
        );
        f.already_subsidised_in_period_fen = yuan(5_000);
        match assess(&p, &f).unwrap() {
            Assessment::Eligible {
                capped,
                subsidy_fen,
                cap_remaining_fen,
                ..
            } => {
                assert!(capped);
                assert_eq!(subsidy_fen, yuan(1_000));
                assert_eq!(cap_remaining_fen, yuan(1_000));
            }
            other => panic!("expected eligible, got {other:?}"),
        }
    }

    #[test]
    fn failures_are_errors_not_panics() {
        let p = sample_policy();
        assert_eq!(assess(&p, &facts(1_000, 2_000)), Err(MoneyError::Underflow));
        let mut f = facts(0, 0);
        f.basic_insurance_fen = Fen::MAX;
        f.other_reimbursement_fen = fen(1);
        assert_eq!(assess(&p, &f), Err(MoneyError::Overflow));
        let mut huge = p.clone();
        huge.tiers = vec![Tier {
            from_fen: huge.threshold_fen,
            amount_fen: Fen::MAX,
        }];
        huge.cap_per_member_fen = Fen::MAX;
        assert_eq!(huge.validate(), Err(PolicyError::AmountOverflow));
        assert_eq!(assess(&huge, &facts(6_000, 0)), Err(MoneyError::Overflow));
        // A table starting above the threshold (unvalidated) pays nothing in the gap.
        let mut gap = p.clone();
        gap.threshold_fen = yuan(1_000);
        assert_eq!(
            assess(&gap, &facts(2_000, 0)).unwrap().reason(),
            Some(RejectReason::BelowThreshold)
        );
    }

    #[test]
    fn validate_names_each_problem() {
        let ok = sample_policy();
        let with = |f: &dyn Fn(&mut Policy)| {
            let mut p = ok.clone();
            f(&mut p);
            p.validate()
        };
        assert_eq!(with(&|p| p.tiers.clear()), Err(PolicyError::NoTiers));
        assert_eq!(
            with(&|p| {
                p.tiers = (0..21)
                    .map(|i| Tier {
                        from_fen: yuan(5_000 + i * 1_000),
                        amount_fen: yuan(100 + i),
                    })
                    .collect()
            }),
            Err(PolicyError::TooManyTiers { count: 21 })
        );
        assert_eq!(
            with(&|p| p.threshold_fen = yuan(4_000)),
            Err(PolicyError::FirstTierNotAtThreshold {
                first_from_fen: yuan(5_000),
                threshold_fen: yuan(4_000)
            })
        );
        assert_eq!(
            with(&|p| p.tiers[2].from_fen = yuan(10_000)),
            Err(PolicyError::TiersNotAscending { index: 2 })
        );
        assert_eq!(
            with(&|p| p.tiers[3].amount_fen = yuan(100)),
            Err(PolicyError::AmountDecreases { index: 3 })
        );
        assert_eq!(
            with(&|p| p.tiers[0].amount_fen = Fen::ZERO),
            Err(PolicyError::ZeroAmount { index: 0 })
        );
        assert_eq!(
            with(&|p| p.cap_per_member_fen = Fen::ZERO),
            Err(PolicyError::ZeroCap)
        );
        for e in [
            PolicyError::NoTiers,
            PolicyError::TooManyTiers { count: 21 },
            PolicyError::ZeroAmount { index: 0 },
        ] {
            assert!(!e.localize(Lang::Zh).is_empty());
            assert!(!e.localize(Lang::En).is_empty());
        }
        assert_eq!(
            PolicyError::ZeroAmount { index: 0 }.localize(Lang::Zh),
            "第 1 档的补助金额为零"
        );
    }

    #[test]
    fn reject_reasons_serialize_as_their_stable_names() {
        for r in RejectReason::ALL {
            assert_eq!(
                serde_json::to_string(&r).unwrap(),
                format!("\"{}\"", r.as_str())
            );
            assert!(!r.label(Lang::Zh).is_empty());
        }
        assert_eq!(RejectReason::CapReached.label(Lang::Zh), "已达年度封顶");
    }

    /// A valid policy: ascending starts from the threshold, non-decreasing
    /// non-zero amounts, realistic uplifts and cap.
    fn arb_policy() -> impl Strategy<Value = Policy> {
        (
            1i64..2_000_000,
            prop::collection::vec((1i64..5_000_000, 0i64..500_000), 1..=MAX_TIERS),
            1i64..100_000,
            0u32..20_000,
            0u32..20_000,
            1i64..10_000_000,
        )
            .prop_map(|(threshold, steps, first_amount, period, migrant, cap)| {
                let mut from = threshold;
                let mut amount = first_amount;
                let mut tiers = Vec::new();
                for (i, (gap, raise)) in steps.into_iter().enumerate() {
                    if i > 0 {
                        from += gap;
                        amount += raise;
                    }
                    tiers.push(Tier {
                        from_fen: Fen::new(from).unwrap(),
                        amount_fen: Fen::new(amount).unwrap(),
                    });
                }
                Policy {
                    version: Code::parse("prop-v1").unwrap(),
                    threshold_fen: Fen::new(threshold).unwrap(),
                    tiers,
                    period_uplift_bp: BasisPoints::new(period).unwrap(),
                    migrant_uplift_bp: BasisPoints::new(migrant).unwrap(),
                    cap_per_member_fen: Fen::new(cap).unwrap(),
                }
            })
    }

    fn arb_facts() -> impl Strategy<Value = AssessmentFacts> {
        (
            0i64..200_000_000,
            0i64..100_000_000,
            0i64..100_000_000,
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            0i64..20_000_000,
        )
            .prop_map(|(net, basic, other, migrant, within, enrolled, already)| {
                AssessmentFacts {
                    // Built from the net so reimbursements never exceed the total.
                    total_cost_fen: Fen::new(net + basic + other).unwrap(),
                    basic_insurance_fen: Fen::new(basic).unwrap(),
                    other_reimbursement_fen: Fen::new(other).unwrap(),
                    migrant_worker: migrant,
                    stay_within_period: within,
                    enrolled,
                    already_subsidised_in_period_fen: Fen::new(already).unwrap(),
                }
            })
    }

    proptest! {
        #[test]
        fn generated_policies_are_valid(p in arb_policy()) {
            prop_assert_eq!(p.validate(), Ok(()));
        }

        #[test]
        fn never_pays_below_threshold(p in arb_policy(), f in arb_facts()) {
            let a = assess(&p, &f).unwrap();
            if f.net_self_paid().unwrap() < p.threshold_fen {
                prop_assert!(!a.is_eligible());
                prop_assert_eq!(a.subsidy_fen(), Fen::ZERO);
            }
        }

        #[test]
        fn subsidy_never_decreases_as_net_self_paid_rises(
            p in arb_policy(), f in arb_facts(), more in 0i64..100_000_000,
        ) {
            let mut richer = f.clone();
            richer.total_cost_fen = f.total_cost_fen.checked_add(Fen::new(more).unwrap()).unwrap();
            let low = assess(&p, &f).unwrap().subsidy_fen();
            let high = assess(&p, &richer).unwrap().subsidy_fen();
            prop_assert!(low <= high, "{low} > {high}");
        }

        #[test]
        fn subsidy_never_exceeds_cap_remaining(p in arb_policy(), f in arb_facts()) {
            let a = assess(&p, &f).unwrap();
            let remaining = p.cap_per_member_fen.room_after(f.already_subsidised_in_period_fen);
            prop_assert!(a.subsidy_fen() <= remaining);
            if let Assessment::Eligible { subsidy_fen, after_migrant_uplift_fen, capped, .. } = a {
                prop_assert!(!subsidy_fen.is_zero());
                prop_assert_eq!(subsidy_fen, after_migrant_uplift_fen.min(remaining));
                prop_assert_eq!(capped, subsidy_fen < after_migrant_uplift_fen);
            }
        }

        #[test]
        fn assessment_is_deterministic(p in arb_policy(), f in arb_facts()) {
            let first = assess(&p, &f);
            prop_assert_eq!(&first, &assess(&p.clone(), &f.clone()));
            // and survives the round trip through the event log
            let a = first.unwrap();
            let json = serde_json::to_string(&a).unwrap();
            prop_assert_eq!(serde_json::from_str::<Assessment>(&json).unwrap(), a);
        }
    }
}
