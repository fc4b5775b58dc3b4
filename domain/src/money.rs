//! Money movements: what each event does to the limits the store enforces.
//!
//! Some money rules span aggregates — a fund pays grants of many files and
//! subsidies of many claims; a member's subsidies in one plan period come
//! from several claims — so no aggregate can decide them alone, and a
//! `Services` check before the command is racy. As with
//! [`crate::reservation`], events therefore *declare* what they move, and the
//! store applies the declarations in the same transaction as the events,
//! refusing a commit that would take an account below zero.
//!
//! Three kinds of account, each a balance that must not go negative:
//!
//! - [`Account::Fund`]: a fund's **available** money. Inflows are credits
//!   (contributions, donations, appropriations, transfers in); an obligation
//!   is a debit **when it is approved** (a grant, a claim's subsidy, an
//!   allocation), not when it is paid, so approved-but-unpaid money counts
//!   against the fund. Payment moves nothing more. Reversals are debits.
//! - [`Account::MemberCap`]: a member's headroom under the plan period's cap.
//!   It starts at the cap the period's `PeriodOpened` declares
//!   ([`Movement::Cap`]); each approved subsidy is a debit.
//! - [`Account::Campaign`]: a donation campaign's unallocated money: donations
//!   are credits; reversals and proposed allocations debits; a rejected
//!   allocation is a credit again.
//!
//! An allocation to a hardship measure moves money from the donation fund to
//! the measure's fund, which the allocation event does not name: hardship plans
//! declare each measure's fund ([`Movement::MeasureFund`]) and the store keeps
//! that table, so the credit goes to [`Account::Measure`], resolved there
//! (unknown measure: the donation fund, as in the fund-balance view).
//!
//! Everything is derived from one event (its aggregate type and id, event type
//! and payload), so an import or a backfill replays an old log to the same
//! balances.

use serde::{Deserialize, Serialize};

use crate::donation::{AllocationTarget, DonationCampaignEvent};
use crate::finance::batch::PayoutBatchEvent;
use crate::finance::period::AccountingPeriodEvent;
use crate::fund::account::FundAccountEvent;
use crate::fund::Fund;
use crate::hardship::HardshipFileEvent;
use crate::i18n::Lang;
use crate::mutual_aid::{MutualAidClaimEvent, MutualAidPlanEvent};
use crate::values::{Fen, ResidentId};

/// A balance the store keeps and never lets a command take below zero.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Account {
    /// A fund's available money (committed obligations deducted).
    Fund(Fund),
    /// The fund a hardship measure draws on (resolved by the store).
    Measure {
        /// The hardship file.
        file_id: String,
        /// The measure.
        measure_id: String,
    },
    /// A member's subsidy headroom in one plan period.
    MemberCap {
        /// The plan period.
        plan_id: String,
        /// The member's resident ID (personal data: never in logs or messages).
        member: String,
    },
    /// A donation campaign's money not yet allocated.
    Campaign {
        /// The campaign (its aggregate id).
        campaign_id: String,
    },
    /// An accounting month, `YYYY-MM`: zero while open, below zero once
    /// closed ([`Movement::ClosePeriod`]), so an entry dated into it
    /// ([`Movement::InPeriod`]) is refused.
    Period {
        /// `YYYY-MM`.
        month: String,
    },
}

impl Account {
    /// Stable kind name, as stored.
    pub fn kind(&self) -> &'static str {
        match self {
            Account::Fund(_) => "fund",
            Account::Measure { .. } => "measure",
            Account::MemberCap { .. } => "member_cap",
            Account::Campaign { .. } => "campaign",
            Account::Period { .. } => "period",
        }
    }

    /// The key within its kind, as stored (`plan/member` for a cap).
    pub fn key(&self) -> String {
        match self {
            Account::Fund(fund) => fund_code(*fund).to_string(),
            Account::Measure {
                file_id,
                measure_id,
            } => format!("{file_id}/{measure_id}"),
            Account::MemberCap { plan_id, member } => format!("{plan_id}/{member}"),
            Account::Campaign { campaign_id } => campaign_id.clone(),
            Account::Period { month } => month.clone(),
        }
    }

    /// The account for people; a member's resident ID appears masked.
    pub fn describe(&self, lang: Lang) -> String {
        match (self, lang) {
            (Account::Fund(fund), _) => fund.label(lang).to_string(),
            (Account::Measure { measure_id, .. }, Lang::Zh) => format!("措施 {measure_id} 的资金"),
            (Account::Measure { measure_id, .. }, Lang::En) => {
                format!("the fund of measure {measure_id}")
            }
            (Account::MemberCap { plan_id, member }, Lang::Zh) => {
                format!("互助期 {plan_id} 职工 {} 的年度封顶余额", mask(member))
            }
            (Account::MemberCap { plan_id, member }, Lang::En) => format!(
                "the cap left to member {} in plan period {plan_id}",
                mask(member)
            ),
            (Account::Campaign { campaign_id }, Lang::Zh) => {
                format!("活动 {campaign_id} 的可拨付捐款")
            }
            (Account::Campaign { campaign_id }, Lang::En) => {
                format!("the unallocated donations of campaign {campaign_id}")
            }
            (Account::Period { month }, Lang::Zh) => format!("会计期间 {month}（已月结）"),
            (Account::Period { month }, Lang::En) => format!("accounting period {month} (closed)"),
        }
    }
}

/// A resident ID as people may see it; anything that does not parse is hidden.
fn mask(member: &str) -> String {
    ResidentId::parse(member)
        .map(|id| id.to_string())
        .unwrap_or_else(|_| "***".to_string())
}

/// The stable code of a fund (its serde name).
pub fn fund_code(fund: Fund) -> &'static str {
    match fund {
        Fund::SpecialAssistance => "special_assistance",
        Fund::MutualAid => "mutual_aid",
        Fund::Donation => "donation",
        Fund::Festival => "festival",
    }
}

/// The fund a stable code names.
pub fn fund_of_code(code: &str) -> Option<Fund> {
    Fund::ALL.into_iter().find(|f| fund_code(*f) == code)
}

/// What one event does to the store's accounts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Movement {
    /// Money into an account.
    Credit {
        /// The account.
        account: Account,
        /// How much.
        amount_fen: Fen,
    },
    /// Money out of an account; refused if the account would go below zero.
    Debit {
        /// The account.
        account: Account,
        /// How much.
        amount_fen: Fen,
    },
    /// The per-member cap of a plan period: where every
    /// [`Account::MemberCap`] of that period starts.
    Cap {
        /// The plan period.
        plan_id: String,
        /// The cap.
        cap_fen: Fen,
    },
    /// Which fund a hardship measure draws on (latest declaration wins).
    MeasureFund {
        /// The hardship file.
        file_id: String,
        /// The measure.
        measure_id: String,
        /// Its fund.
        fund: Fund,
    },
    /// An entry dated into `month`: refused once the month is closed (a
    /// credit and a debit of one fen of [`Account::Period`], which a closed
    /// month's negative balance cannot cover).
    InPeriod {
        /// `YYYY-MM`.
        month: String,
    },
    /// Closes `month`: an unchecked debit of one fen of [`Account::Period`].
    ClosePeriod {
        /// `YYYY-MM`.
        month: String,
    },
}

/// An entry dated `date` (see [`Movement::InPeriod`]).
pub fn in_period(date: chrono::NaiveDate) -> Movement {
    Movement::InPeriod {
        month: crate::finance::month_of(date),
    }
}

fn credit(account: Account, amount_fen: Fen) -> Movement {
    Movement::Credit {
        account,
        amount_fen,
    }
}

fn debit(account: Account, amount_fen: Fen) -> Movement {
    Movement::Debit {
        account,
        amount_fen,
    }
}

/// Events that move money implement this.
pub trait Moves {
    /// What this event of aggregate `aggregate_id` moves, in order.
    fn movements(&self, aggregate_id: &str) -> Vec<Movement>;
}

impl Moves for FundAccountEvent {
    fn movements(&self, _aggregate_id: &str) -> Vec<Movement> {
        match self {
            FundAccountEvent::Appropriated {
                fund,
                amount_fen,
                received_on,
                ..
            } => vec![
                credit(Account::Fund(*fund), *amount_fen),
                in_period(*received_on),
            ],
            FundAccountEvent::AppropriationReversed {
                fund, amount_fen, ..
            } => vec![debit(Account::Fund(*fund), *amount_fen)],
        }
    }
}

impl Moves for HardshipFileEvent {
    fn movements(&self, aggregate_id: &str) -> Vec<Movement> {
        match self {
            HardshipFileEvent::PlanAdopted { measures, .. }
            | HardshipFileEvent::PlanRevised { measures, .. } => measures
                .iter()
                .map(|m| Movement::MeasureFund {
                    file_id: aggregate_id.to_string(),
                    measure_id: m.measure_id.to_string(),
                    fund: m.fund,
                })
                .collect(),
            // Debited at approval; a grant is declined only while pending,
            // and its payment (by bank, or cash at a visit) moves nothing more.
            HardshipFileEvent::GrantApproved {
                fund, amount_fen, ..
            } => vec![debit(Account::Fund(*fund), *amount_fen)],
            HardshipFileEvent::GrantPaid { paid_on, .. } => vec![in_period(*paid_on)],
            _ => Vec::new(),
        }
    }
}

impl Moves for MutualAidPlanEvent {
    fn movements(&self, aggregate_id: &str) -> Vec<Movement> {
        match self {
            MutualAidPlanEvent::PeriodOpened { policy, .. } => vec![Movement::Cap {
                plan_id: aggregate_id.to_string(),
                cap_fen: policy.cap_per_member_fen,
            }],
            MutualAidPlanEvent::UnitEnrolled {
                contribution_fen, ..
            } => vec![credit(Account::Fund(Fund::MutualAid), *contribution_fen)],
            MutualAidPlanEvent::RosterAmended {
                additional_contribution_fen,
                ..
            } => vec![credit(
                Account::Fund(Fund::MutualAid),
                *additional_contribution_fen,
            )],
            MutualAidPlanEvent::PeriodClosed { .. } => Vec::new(),
        }
    }
}

impl Moves for MutualAidClaimEvent {
    fn movements(&self, _aggregate_id: &str) -> Vec<Movement> {
        match self {
            // The subsidy counts against the member's cap and the fund at
            // approval; `ClaimPaid` moves nothing more.
            MutualAidClaimEvent::ClaimApproved {
                plan_id,
                member,
                subsidy_fen,
                fund,
                ..
            } => vec![
                debit(
                    Account::MemberCap {
                        plan_id: plan_id.to_string(),
                        member: member.expose().to_string(),
                    },
                    *subsidy_fen,
                ),
                debit(Account::Fund(*fund), *subsidy_fen),
            ],
            MutualAidClaimEvent::ClaimPaid { paid_on, .. } => vec![in_period(*paid_on)],
            _ => Vec::new(),
        }
    }
}

impl Moves for DonationCampaignEvent {
    fn movements(&self, aggregate_id: &str) -> Vec<Movement> {
        let campaign = || Account::Campaign {
            campaign_id: aggregate_id.to_string(),
        };
        let donation = Account::Fund(Fund::Donation);
        match self {
            DonationCampaignEvent::DonationRecorded {
                amount_fen,
                donated_on,
                ..
            } => vec![
                credit(campaign(), *amount_fen),
                credit(donation, *amount_fen),
                in_period(*donated_on),
            ],
            DonationCampaignEvent::DonationReversed { amount_fen, .. } => {
                vec![debit(campaign(), *amount_fen), debit(donation, *amount_fen)]
            }
            DonationCampaignEvent::AllocationProposed { amount_fen, .. } => {
                vec![debit(campaign(), *amount_fen)]
            }
            DonationCampaignEvent::AllocationRejected { amount_fen, .. } => {
                vec![credit(campaign(), *amount_fen)]
            }
            DonationCampaignEvent::AllocationApproved {
                amount_fen, target, ..
            } => {
                let to = match target {
                    AllocationTarget::DesignatedBeneficiary => None,
                    AllocationTarget::Claim { .. } => Some(Account::Fund(Fund::MutualAid)),
                    AllocationTarget::HardshipMeasure {
                        file_id,
                        measure_id,
                    } => Some(Account::Measure {
                        file_id: file_id.to_string(),
                        measure_id: measure_id.to_string(),
                    }),
                };
                let mut moves = vec![debit(donation, *amount_fen)];
                moves.extend(to.map(|to| credit(to, *amount_fen)));
                moves
            }
            DonationCampaignEvent::CampaignLaunched { .. }
            | DonationCampaignEvent::CampaignClosed { .. } => Vec::new(),
        }
    }
}

impl Moves for PayoutBatchEvent {
    fn movements(&self, _aggregate_id: &str) -> Vec<Movement> {
        match self {
            // The bank's booking days are entries of their months.
            PayoutBatchEvent::BankResultsRecorded { outcomes, .. } => {
                let months: std::collections::BTreeSet<String> = outcomes
                    .iter()
                    .map(|o| crate::finance::month_of(o.value_date))
                    .collect();
                months
                    .into_iter()
                    .map(|month| Movement::InPeriod { month })
                    .collect()
            }
            // A cancelled payout's obligation ends: its money is the fund's again.
            PayoutBatchEvent::PayoutCancelled {
                fund,
                amount_fen,
                booked_on,
                ..
            } => vec![
                credit(Account::Fund(*fund), *amount_fen),
                in_period(*booked_on),
            ],
            _ => Vec::new(),
        }
    }
}

impl Moves for AccountingPeriodEvent {
    fn movements(&self, _aggregate_id: &str) -> Vec<Movement> {
        let AccountingPeriodEvent::PeriodClosed { month, .. } = self;
        vec![Movement::ClosePeriod {
            month: month.to_string(),
        }]
    }
}

/// The `(aggregate type, event type)`s that move money; every other event
/// moves nothing and is not even parsed (a roster of 14,000 members is
/// read once per commit, not twice). A test checks it against `Moves`.
pub const MONEY_EVENTS: [(&str, &str); 19] = [
    ("fund_account", "Appropriated"),
    ("fund_account", "AppropriationReversed"),
    ("hardship_file", "PlanAdopted"),
    ("hardship_file", "PlanRevised"),
    ("hardship_file", "GrantApproved"),
    ("hardship_file", "GrantPaid"),
    ("mutual_aid_plan", "PeriodOpened"),
    ("mutual_aid_plan", "UnitEnrolled"),
    ("mutual_aid_plan", "RosterAmended"),
    ("mutual_aid_claim", "ClaimApproved"),
    ("mutual_aid_claim", "ClaimPaid"),
    ("donation_campaign", "DonationRecorded"),
    ("donation_campaign", "DonationReversed"),
    ("donation_campaign", "AllocationProposed"),
    ("donation_campaign", "AllocationRejected"),
    ("donation_campaign", "AllocationApproved"),
    ("payout_batch", "BankResultsRecorded"),
    ("payout_batch", "PayoutCancelled"),
    ("accounting_period", "PeriodClosed"),
];

/// What an event moves, read from its stored JSON: the store's extractor, as
/// [`crate::reservations_of`] is for keys. Events outside [`MONEY_EVENTS`]
/// move nothing. An `Err` means the payload is not an event of that type.
pub fn movements_of(
    aggregate_type: &str,
    aggregate_id: &str,
    event_type: &str,
    event_version: &str,
    payload: &serde_json::Value,
) -> Result<Vec<Movement>, String> {
    if !MONEY_EVENTS.contains(&(aggregate_type, event_type)) {
        return Ok(Vec::new());
    }
    // Imports and the backfill read stored events of any version: bring them
    // to today's shape first (the same chain loading uses).
    let upcast;
    let payload = if crate::upcast::is_current(aggregate_type, event_type, event_version) {
        payload
    } else {
        upcast = crate::upcast::upcast(aggregate_type, event_type, event_version, payload.clone())
            .map_err(|e| e.to_string())?;
        &upcast
    };
    use crate::donation::DonationCampaign;
    use crate::fund::account::FundAccount;
    use crate::hardship::HardshipFile;
    use crate::mutual_aid::{MutualAidClaim, MutualAidPlan};
    use cqrs_es::Aggregate;
    fn read<E: for<'de> Deserialize<'de> + Moves>(
        payload: &serde_json::Value,
        aggregate_id: &str,
    ) -> Result<Vec<Movement>, String> {
        E::deserialize(payload)
            .map(|e| e.movements(aggregate_id))
            .map_err(|e| e.to_string())
    }
    match aggregate_type {
        FundAccount::TYPE => read::<FundAccountEvent>(payload, aggregate_id),
        HardshipFile::TYPE => read::<HardshipFileEvent>(payload, aggregate_id),
        MutualAidPlan::TYPE => read::<MutualAidPlanEvent>(payload, aggregate_id),
        MutualAidClaim::TYPE => read::<MutualAidClaimEvent>(payload, aggregate_id),
        DonationCampaign::TYPE => read::<DonationCampaignEvent>(payload, aggregate_id),
        crate::finance::batch::TYPE => read::<PayoutBatchEvent>(payload, aggregate_id),
        crate::finance::period::TYPE => read::<AccountingPeriodEvent>(payload, aggregate_id),
        _ => Ok(Vec::new()),
    }
}

/// A commit refused by the store: it would take `account` below zero.
/// Nothing of the commit was written.
///
/// `available_fen` is what the account held, with the commit's own credits
/// (negative only for an account that an imported history overdrew);
/// `asked_fen` is what the commit's debits add up to.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.localize(Lang::En))]
pub struct InsufficientFunds {
    /// The account.
    pub account: Account,
    /// What it held, credits of the commit included.
    pub available_fen: i64,
    /// What the commit's debits add up to.
    pub asked_fen: i64,
}

impl InsufficientFunds {
    /// The stable code of this refusal, per kind of account.
    pub fn code(&self) -> &'static str {
        match self.account {
            Account::Fund(_) | Account::Measure { .. } => "money.insufficient_funds",
            Account::MemberCap { .. } => "money.cap_exceeded",
            Account::Campaign { .. } => "money.exceeds_unallocated",
            Account::Period { .. } => "money.period_closed",
        }
    }

    /// The refusal for people, naming the account, what it holds and what was asked.
    pub fn localize(&self, lang: Lang) -> String {
        let available = yuan(self.available_fen);
        let asked = yuan(self.asked_fen);
        let account = self.account.describe(lang);
        if let Account::Period { month } = &self.account {
            return match lang {
                Lang::Zh => format!("会计期间 {month} 已月结，不能再登记该月的账目；未作任何变更"),
                Lang::En => format!(
                    "accounting period {month} is closed: no entry may be dated into it; nothing was changed"
                ),
            };
        }
        match lang {
            Lang::Zh => format!("{account}不足：可用 {available} 元，本次需要 {asked} 元，未作任何变更"),
            Lang::En => format!(
                "not enough in {account}: {available} yuan available, {asked} yuan asked; nothing was changed"
            ),
        }
    }
}

/// Signed fen as yuan with two decimals (an imported overdraft can be negative).
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fen(n: i64) -> Fen {
        Fen::new(n).unwrap()
    }

    fn code(s: &str) -> crate::values::Code {
        crate::values::Code::parse(s).unwrap()
    }

    #[test]
    fn a_grant_counts_against_its_fund_at_approval_not_at_payment() {
        let approved = serde_json::json!({"GrantApproved": {
            "grant_id": "g1", "measure_id": "m1", "amount_fen": 500, "fund": "festival",
            "approved_by": "a", "approved_at": "2026-01-01T00:00:00Z"}});
        let moves = movements_of("hardship_file", "f1", "GrantApproved", "1.0", &approved).unwrap();
        assert_eq!(moves, vec![debit(Account::Fund(Fund::Festival), fen(500))]);
    }

    #[test]
    fn an_allocation_to_a_measure_credits_the_measure_account() {
        let ev = DonationCampaignEvent::AllocationApproved {
            allocation_id: code("a1"),
            amount_fen: fen(300),
            target: AllocationTarget::HardshipMeasure {
                file_id: code("f1"),
                measure_id: code("m1"),
            },
            approved_by: code("x"),
            approved_at: "2026-01-01T00:00:00Z".parse().unwrap(),
        };
        assert_eq!(
            ev.movements("c1"),
            vec![
                debit(Account::Fund(Fund::Donation), fen(300)),
                credit(
                    Account::Measure {
                        file_id: "f1".into(),
                        measure_id: "m1".into()
                    },
                    fen(300)
                ),
            ]
        );
    }

    #[test]
    fn other_aggregates_move_nothing_and_a_bad_payload_is_an_error() {
        let any = serde_json::json!({"x": 1});
        assert_eq!(movements_of("other", "o", "X", "1.0", &any), Ok(Vec::new()));
        assert!(movements_of("fund_account", "o", "Appropriated", "1.0", &any).is_err());
        assert_eq!(
            movements_of("fund_account", "o", "X", "1.0", &any),
            Ok(Vec::new())
        );
    }

    #[test]
    fn a_refusal_names_the_account_what_is_available_and_what_was_asked() {
        let refused = InsufficientFunds {
            account: Account::Fund(Fund::Festival),
            available_fen: 100_000,
            asked_fen: 500_000,
        };
        assert_eq!(refused.code(), "money.insufficient_funds");
        assert_eq!(
            refused.localize(Lang::Zh),
            "送温暖资金不足：可用 1000.00 元，本次需要 5000.00 元，未作任何变更"
        );
        assert!(refused
            .localize(Lang::En)
            .contains("festival condolence fund"));
        assert_eq!(yuan(-5), "-0.05");
    }

    #[test]
    fn every_event_that_moves_money_is_listed() {
        use cqrs_es::DomainEvent;
        fn check<E: Moves + DomainEvent>(aggregate_type: &str, events: Vec<E>) {
            for e in events {
                let listed = MONEY_EVENTS.contains(&(aggregate_type, e.event_type().as_str()));
                assert!(listed || e.movements("x").is_empty(), "{}", e.event_type());
            }
        }
        check("fund_account", crate::fund::account::sample_events());
        check("hardship_file", crate::hardship::sample_events());
        check("mutual_aid_plan", crate::mutual_aid::plan::sample_events());
        check(
            "mutual_aid_claim",
            crate::mutual_aid::claim::sample_events(),
        );
        check("donation_campaign", crate::donation::sample_events());
    }

    #[test]
    fn account_keys_are_stable() {
        assert_eq!(Account::Fund(Fund::MutualAid).key(), "mutual_aid");
        assert_eq!(fund_of_code("donation"), Some(Fund::Donation));
        for f in Fund::ALL {
            assert_eq!(
                serde_json::to_value(f).unwrap(),
                serde_json::Value::String(fund_code(f).into())
            );
        }
    }
}
