//! The fund-balance view: per fund, what came in and what went out.
//!
//! - **Inflows**: contributions (互助金, into the mutual-aid fund) from plan
//!   enrolments and roster amendments; donations (into the donation fund)
//!   net of reversals; appropriations (拨入, into the fund they name) net of
//!   reversals; transfers in.
//! - **Outflows**: hardship grants paid (from the grant's fund); claim
//!   subsidies paid (mutual-aid fund); allocations to a designated
//!   campaign's beneficiary paid by the bank (donation fund); transfers out.
//! - **Transfers**: an approved allocation to a mutual-aid claim moves money
//!   from the donation fund to the mutual-aid fund (which pays the claim); one
//!   to a hardship measure moves it to the measure's fund (which pays the
//!   grant) — nothing moves when that fund is the donation fund itself. So a
//!   payment is an outflow once, from the fund that paid it.
//!
//! - **Committed**: grants, claim subsidies and designated allocations
//!   approved and not yet paid (nor cancelled).
//!   They count against the fund from approval, as the store's money check
//!   counts them (`domain::money`): `available_fen` (inflows minus outflows
//!   minus committed) is the store's balance of the fund, which a commit may
//!   not take below zero.
//!
//! A balance is never shown negative: when outflows and commitments exceed
//! inflows the row shows zero available, the shortfall in `overdrawn_fen` and
//! `overdrawn: true`, and `bangfu projections verify` reports the fund (only
//! an imported history written before the store checked money can do that).

use std::collections::BTreeMap;

use domain::donation::{AllocationTarget, DonationCampaignEvent};
use domain::fund::account::FundAccountEvent;
use domain::fund::Fund;
use domain::hardship::HardshipFileEvent;
use domain::mutual_aid::{MutualAidClaimEvent, MutualAidPlanEvent};
use domain::values::Fen;
use serde::{Deserialize, Serialize};

use super::household::{add, sum};
use crate::event::{CaseEvent, Recorded};
use crate::rows::{fund_code, ProjectionError, RowKey, RowKind, RowSet};
use domain::finance::batch::PayoutBatchEvent;
use domain::finance::SourceKind;

/// One fund's flows and balance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FundBalanceRow {
    /// The fund.
    pub fund: Fund,
    /// Plan-period contributions (mutual-aid fund).
    pub contributions_fen: Fen,
    /// Donations received (donation fund).
    pub donations_fen: Fen,
    /// Donations reversed.
    pub donations_reversed_fen: Fen,
    /// Appropriated into the fund.
    pub appropriations_fen: Fen,
    /// Appropriations reversed.
    pub appropriations_reversed_fen: Fen,
    /// Moved in from another fund (allocations).
    pub transfers_in_fen: Fen,
    /// Hardship grants paid.
    pub grants_paid_fen: Fen,
    /// Claim subsidies paid.
    pub claims_paid_fen: Fen,
    /// Allocations to a designated beneficiary, paid by the bank.
    pub designated_paid_fen: Fen,
    /// Allocations to a designated beneficiary, approved (paid or not).
    #[serde(default)]
    pub designated_approved_fen: Fen,
    /// Moved out to another fund (allocations).
    pub transfers_out_fen: Fen,
    /// Hardship grants approved (paid or not).
    #[serde(default)]
    pub grants_approved_fen: Fen,
    /// Claim subsidies approved (paid or not).
    #[serde(default)]
    pub claims_approved_fen: Fen,
    /// Grants and claim subsidies paid by the bank in payout batches.
    #[serde(default)]
    pub bank_paid_fen: Fen,
    /// Grants and claim subsidies whose failed payout was cancelled: no
    /// longer owed.
    #[serde(default)]
    pub cancelled_fen: Fen,
    /// Kept for rows written before designated allocations were committed
    /// at approval (they then left the fund at approval and came back when
    /// cancelled); always zero in a rebuilt view.
    #[serde(default)]
    pub returned_fen: Fen,
    /// Σ inflows (reversals deducted).
    pub inflow_fen: Fen,
    /// Σ outflows.
    pub outflow_fen: Fen,
    /// Inflows minus outflows (money still in the fund), or zero when overdrawn.
    pub balance_fen: Fen,
    /// Approved and not yet paid: grants and claim subsidies.
    #[serde(default)]
    pub committed_fen: Fen,
    /// Balance minus committed: what a new obligation may still take (the
    /// store's balance of the fund), or zero when overdrawn.
    #[serde(default)]
    pub available_fen: Fen,
    /// Paid or cancelled beyond what was approved (a batch line for a
    /// payout never approved); zero in a consistent history.
    #[serde(default)]
    pub unapproved_settled_fen: Fen,
    /// Outflows and commitments beyond inflows; zero unless overdrawn.
    pub overdrawn_fen: Fen,
    /// True when outflows and commitments exceed inflows: never silently a
    /// negative balance.
    pub overdrawn: bool,
}

impl FundBalanceRow {
    /// A fund with no flows.
    pub fn empty(fund: Fund) -> FundBalanceRow {
        FundBalanceRow {
            fund,
            contributions_fen: Fen::ZERO,
            donations_fen: Fen::ZERO,
            donations_reversed_fen: Fen::ZERO,
            appropriations_fen: Fen::ZERO,
            appropriations_reversed_fen: Fen::ZERO,
            transfers_in_fen: Fen::ZERO,
            grants_paid_fen: Fen::ZERO,
            claims_paid_fen: Fen::ZERO,
            designated_paid_fen: Fen::ZERO,
            designated_approved_fen: Fen::ZERO,
            transfers_out_fen: Fen::ZERO,
            grants_approved_fen: Fen::ZERO,
            claims_approved_fen: Fen::ZERO,
            bank_paid_fen: Fen::ZERO,
            cancelled_fen: Fen::ZERO,
            returned_fen: Fen::ZERO,
            inflow_fen: Fen::ZERO,
            outflow_fen: Fen::ZERO,
            balance_fen: Fen::ZERO,
            committed_fen: Fen::ZERO,
            available_fen: Fen::ZERO,
            unapproved_settled_fen: Fen::ZERO,
            overdrawn_fen: Fen::ZERO,
            overdrawn: false,
        }
    }

    /// Recomputes the derived columns from the flows. More settled than
    /// approved shows in `unapproved_settled_fen`.
    fn settle(&mut self) -> Result<(), ProjectionError> {
        let gross_in = sum([
            self.contributions_fen,
            self.donations_fen,
            self.appropriations_fen,
            self.transfers_in_fen,
            self.returned_fen,
        ]);
        let reversed = add(
            self.donations_reversed_fen,
            self.appropriations_reversed_fen,
        );
        self.outflow_fen = sum([
            self.grants_paid_fen,
            self.claims_paid_fen,
            self.designated_paid_fen,
            self.transfers_out_fen,
            self.bank_paid_fen,
        ]);
        // A reversal takes back money that came in; were reversals ever to
        // exceed the gross inflow, the excess counts as an outflow so the
        // shortfall still shows.
        // Balance, available and overdraft are the signs of inflow − outflow
        // (− commitments), each kept non-negative (`room_after`): no amount is
        // lost, the shortfall is its own column. The sums assert they fit in i64.
        self.inflow_fen = gross_in.room_after(reversed);
        let out = add(self.outflow_fen, reversed.room_after(gross_in));
        let approved = sum([
            self.grants_approved_fen,
            self.claims_approved_fen,
            self.designated_approved_fen,
        ]);
        let settled = sum([
            self.grants_paid_fen,
            self.claims_paid_fen,
            self.bank_paid_fen,
            self.designated_paid_fen,
            self.cancelled_fen,
        ]);
        // Settled beyond approved: a batch line paid by the bank for a
        // payout this view never saw approved (batch lines are given by
        // finance), or a row from before approvals were counted. It is
        // shown, never silently netted: the payment is an outflow all the same.
        self.committed_fen = approved.room_after(settled);
        self.unapproved_settled_fen = settled.room_after(approved);
        let owed = add(out, self.committed_fen);
        self.balance_fen = self.inflow_fen.room_after(out);
        self.available_fen = self.inflow_fen.room_after(owed);
        self.overdrawn_fen = owed.room_after(self.inflow_fen);
        self.overdrawn = !self.overdrawn_fen.is_zero();
        Ok(())
    }
}

crate::view_row_impl!(FundBalanceRow, FundBalance);

/// Which fund each measure of one hardship file draws on (for allocations
/// to a measure). A measure dropped by a revision keeps its last fund.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FundMeasuresRow {
    /// The file.
    pub file_id: String,
    /// measure id → fund.
    pub measures: BTreeMap<String, Fund>,
}

crate::view_row_impl!(FundMeasuresRow, FundMeasures);

/// The key of a fund's row.
pub fn balance_key(fund: Fund) -> RowKey {
    RowKey::new(RowKind::FundBalance, fund_code(fund))
}

fn measures_key(file_id: &str) -> RowKey {
    RowKey::new(RowKind::FundMeasures, file_id)
}

pub(crate) fn keys(ev: &Recorded, out: &mut Vec<RowKey>) {
    match &ev.event {
        CaseEvent::MutualAidPlan(e) => match e {
            MutualAidPlanEvent::UnitEnrolled { .. } | MutualAidPlanEvent::RosterAmended { .. } => {
                out.push(balance_key(Fund::MutualAid));
            }
            MutualAidPlanEvent::PeriodOpened { .. } | MutualAidPlanEvent::PeriodClosed { .. } => {}
        },
        CaseEvent::MutualAidClaim(MutualAidClaimEvent::ClaimPaid { fund, .. }) => {
            out.push(balance_key(*fund));
        }
        CaseEvent::MutualAidClaim(MutualAidClaimEvent::ClaimApproved { .. }) => {
            out.push(balance_key(Fund::MutualAid));
        }
        CaseEvent::MutualAidClaim(_) => {}
        CaseEvent::HardshipFile(e) => match e {
            HardshipFileEvent::PlanAdopted { .. } | HardshipFileEvent::PlanRevised { .. } => {
                out.push(measures_key(&ev.aggregate_id));
            }
            HardshipFileEvent::GrantApproved { fund, .. }
            | HardshipFileEvent::GrantPaid { fund, .. } => out.push(balance_key(*fund)),
            _ => {}
        },
        CaseEvent::DonationCampaign(e) => match e {
            DonationCampaignEvent::DonationRecorded { .. }
            | DonationCampaignEvent::DonationReversed { .. } => {
                out.push(balance_key(Fund::Donation));
            }
            DonationCampaignEvent::AllocationApproved { target, .. } => {
                if let AllocationTarget::HardshipMeasure { file_id, .. } = target {
                    out.push(measures_key(file_id.as_str()));
                }
                // The target fund of a measure is known only once its row is
                // read; every fund is declared (four small rows).
                out.extend(Fund::ALL.into_iter().map(balance_key));
            }
            _ => {}
        },
        CaseEvent::FundAccount(e) => match e {
            FundAccountEvent::Appropriated { fund, .. }
            | FundAccountEvent::AppropriationReversed { fund, .. } => {
                out.push(balance_key(*fund));
            }
        },
        CaseEvent::PayoutBatch(PayoutBatchEvent::BankResultsRecorded { outcomes, .. }) => {
            let funds: std::collections::BTreeSet<Fund> = outcomes.iter().map(|o| o.fund).collect();
            out.extend(funds.into_iter().map(balance_key));
        }
        CaseEvent::PayoutBatch(PayoutBatchEvent::PayoutCancelled { fund, .. }) => {
            out.push(balance_key(*fund));
        }
        CaseEvent::PayoutBatch(_) | CaseEvent::AccountingPeriod(_) => {}
    }
}

/// Adds `amount` to one flow of `fund`'s row.
fn flow(
    rows: &mut RowSet,
    fund: Fund,
    amount: Fen,
    pick: impl FnOnce(&mut FundBalanceRow) -> &mut Fen,
) -> Result<(), ProjectionError> {
    let row = rows.upsert(&balance_key(fund), || FundBalanceRow::empty(fund))?;
    let slot = pick(row);
    *slot = add(*slot, amount);
    row.settle()
}

fn transfer(rows: &mut RowSet, from: Fund, to: Fund, amount: Fen) -> Result<(), ProjectionError> {
    if from == to {
        return Ok(());
    }
    flow(rows, from, amount, |r| &mut r.transfers_out_fen)?;
    flow(rows, to, amount, |r| &mut r.transfers_in_fen)
}

pub(crate) fn apply(ev: &Recorded, rows: &mut RowSet) -> Result<(), ProjectionError> {
    match &ev.event {
        CaseEvent::MutualAidPlan(MutualAidPlanEvent::UnitEnrolled {
            contribution_fen, ..
        }) => flow(rows, Fund::MutualAid, *contribution_fen, |r| {
            &mut r.contributions_fen
        }),
        CaseEvent::MutualAidPlan(MutualAidPlanEvent::RosterAmended {
            additional_contribution_fen,
            ..
        }) => flow(rows, Fund::MutualAid, *additional_contribution_fen, |r| {
            &mut r.contributions_fen
        }),
        CaseEvent::MutualAidClaim(MutualAidClaimEvent::ClaimApproved { subsidy_fen, .. }) => {
            flow(rows, Fund::MutualAid, *subsidy_fen, |r| {
                &mut r.claims_approved_fen
            })
        }
        CaseEvent::MutualAidClaim(MutualAidClaimEvent::ClaimPaid {
            fund, amount_fen, ..
        }) => flow(rows, *fund, *amount_fen, |r| &mut r.claims_paid_fen),
        CaseEvent::HardshipFile(
            HardshipFileEvent::PlanAdopted { measures, .. }
            | HardshipFileEvent::PlanRevised { measures, .. },
        ) => {
            let row = rows.upsert(&measures_key(&ev.aggregate_id), || FundMeasuresRow {
                file_id: ev.aggregate_id.clone(),
                measures: BTreeMap::new(),
            })?;
            for m in measures {
                row.measures.insert(m.measure_id.to_string(), m.fund);
            }
            Ok(())
        }
        CaseEvent::HardshipFile(HardshipFileEvent::GrantApproved {
            fund, amount_fen, ..
        }) => flow(rows, *fund, *amount_fen, |r| &mut r.grants_approved_fen),
        CaseEvent::HardshipFile(HardshipFileEvent::GrantPaid {
            fund, amount_fen, ..
        }) => flow(rows, *fund, *amount_fen, |r| &mut r.grants_paid_fen),
        CaseEvent::DonationCampaign(DonationCampaignEvent::DonationRecorded {
            amount_fen, ..
        }) => flow(rows, Fund::Donation, *amount_fen, |r| &mut r.donations_fen),
        CaseEvent::DonationCampaign(DonationCampaignEvent::DonationReversed {
            amount_fen, ..
        }) => flow(rows, Fund::Donation, *amount_fen, |r| {
            &mut r.donations_reversed_fen
        }),
        CaseEvent::DonationCampaign(DonationCampaignEvent::AllocationApproved {
            amount_fen,
            target,
            ..
        }) => match target {
            AllocationTarget::DesignatedBeneficiary => {
                flow(rows, Fund::Donation, *amount_fen, |r| {
                    &mut r.designated_approved_fen
                })
            }
            AllocationTarget::Claim { .. } => {
                transfer(rows, Fund::Donation, Fund::MutualAid, *amount_fen)
            }
            AllocationTarget::HardshipMeasure {
                file_id,
                measure_id,
            } => {
                // An unknown measure (impossible: the campaign checks its
                // target) keeps the money in the donation fund.
                let to = rows
                    .get::<FundMeasuresRow>(&measures_key(file_id.as_str()))?
                    .and_then(|r| r.measures.get(measure_id.as_str()).copied())
                    .unwrap_or(Fund::Donation);
                transfer(rows, Fund::Donation, to, *amount_fen)
            }
        },
        CaseEvent::FundAccount(FundAccountEvent::Appropriated {
            fund, amount_fen, ..
        }) => flow(rows, *fund, *amount_fen, |r| &mut r.appropriations_fen),
        CaseEvent::FundAccount(FundAccountEvent::AppropriationReversed {
            fund,
            amount_fen,
            ..
        }) => flow(rows, *fund, *amount_fen, |r| {
            &mut r.appropriations_reversed_fen
        }),
        CaseEvent::PayoutBatch(e) => apply_batch(e, rows),
        _ => Ok(()),
    }
}

/// A batch's bank results and cancellations: a payout the bank paid is no
/// longer committed but paid (an outflow: the same moment the books credit
/// the fund's bank account), one cancelled no longer owed.
fn apply_batch(event: &PayoutBatchEvent, rows: &mut RowSet) -> Result<(), ProjectionError> {
    match event {
        PayoutBatchEvent::BankResultsRecorded { outcomes, .. } => {
            for o in outcomes.iter().filter(|o| o.paid) {
                if o.source == SourceKind::Allocation {
                    flow(rows, o.fund, o.amount_fen, |r| &mut r.designated_paid_fen)?;
                } else {
                    flow(rows, o.fund, o.amount_fen, |r| &mut r.bank_paid_fen)?;
                }
            }
            Ok(())
        }
        PayoutBatchEvent::PayoutCancelled {
            fund, amount_fen, ..
        } => flow(rows, *fund, *amount_fen, |r| &mut r.cancelled_fen),
        _ => Ok(()),
    }
}

/// All four funds in display order, a fund without a row shown as empty.
pub fn all_funds(rows: impl IntoIterator<Item = FundBalanceRow>) -> Vec<FundBalanceRow> {
    let mut by_fund: BTreeMap<Fund, FundBalanceRow> =
        rows.into_iter().map(|r| (r.fund, r)).collect();
    Fund::ALL
        .into_iter()
        .map(|f| {
            by_fund
                .remove(&f)
                .unwrap_or_else(|| FundBalanceRow::empty(f))
        })
        .collect()
}
