//! The books (账簿): a double-entry fund ledger. Every event that moves
//! money is one journal entry whose lines debit and credit accounts of a
//! fixed chart, per fund:
//!
//! | account | kind | what it holds |
//! |---|---|---|
//! | `bank:{fund}` | asset | the fund's money at the bank (and cash on hand) |
//! | `payable:{fund}` | liability | approved obligations not yet paid |
//! | `fund:{fund}` | net assets | what the fund may still commit: the store's balance |
//!
//! | event | debit | credit |
//! |---|---|---|
//! | appropriation, contribution, donation | bank | fund |
//! | their reversal | fund | bank |
//! | grant or subsidy approved; designated allocation approved | fund | payable |
//! | allocation to a claim or a measure (a transfer) | fund (donation), bank (target) | fund (target), bank (donation) |
//! | payment (recorded, or a bank result "paid") | payable | bank |
//! | failed payout cancelled | payable | fund |
//!
//! Each entry balances by construction, so the trial balance (Σ debits =
//! Σ credits over [`BookAccountRow`]s) always balances; `fund:{fund}`'s
//! credit balance is the fund's available money, the same number as the
//! fund-balance view and the store. An entry also carries its lineage tag
//! ([`LineageTag`]), from which [`super::lineage`] traces payouts to inflows.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use domain::donation::{AllocationTarget, DonationCampaignEvent};
use domain::finance::batch::PayoutBatchEvent;
use domain::fund::account::FundAccountEvent;
use domain::fund::Fund;
use domain::hardship::HardshipFileEvent;
use domain::mutual_aid::{MutualAidClaimEvent, MutualAidPlanEvent};
use domain::values::Fen;
use serde::{Deserialize, Serialize};

use super::household::add;
use super::ledger::{allocation_payout_id, claim_payout_id, grant_payout_id};
use crate::event::{CaseEvent, Recorded};
use crate::rows::{fund_code, ProjectionError, RowKey, RowKind, RowSet};

/// One line of a journal entry: a debit or a credit of one account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JournalLine {
    /// `bank:{fund}`, `payable:{fund}` or `fund:{fund}`.
    pub account: String,
    /// Debit.
    pub debit_fen: Fen,
    /// Credit.
    pub credit_fen: Fen,
}

/// What an entry means for lineage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum LineageTag {
    /// Money came into `fund` (a donation receipt, a contribution, an appropriation).
    Inflow {
        /// `donation:{campaign}:{receipt}`, `contribution:{plan}:{unit}`, `appropriation:{account}:{id}`.
        inflow_id: String,
        /// The fund.
        fund: Fund,
        /// Amount.
        amount_fen: Fen,
    },
    /// An inflow was reversed.
    InflowReversed {
        /// The inflow.
        inflow_id: String,
    },
    /// Donation money a campaign allocated: earmarked for its target.
    Earmark {
        /// The campaign whose receipts it is.
        campaign_id: String,
        /// `claim:{claim}`, `measure:{file}:{measure}`, or the designated
        /// allocation's own payout id.
        target: String,
        /// Amount.
        amount_fen: Fen,
    },
    /// An obligation was approved: a payout drawing on `fund`.
    Payout {
        /// The payout.
        payout_id: String,
        /// The earmark it draws on first (`claim:{claim}`, `measure:{file}:{measure}`).
        earmark: Option<String>,
        /// The fund.
        fund: Fund,
        /// Amount.
        amount_fen: Fen,
    },
    /// A failed payout was cancelled: its money is back in the fund (and
    /// its earmark), and it paid for nothing.
    PayoutCancelled {
        /// The payout (a re-issue's original).
        payout_id: String,
    },
}

/// One journal entry (记账凭证).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JournalEntryRow {
    /// `{aggregate id}#{sequence}`: the event it books.
    pub entry_id: String,
    /// Log order (for lineage and the journal's order): commit group…
    pub log_commit: u64,
    /// …then position.
    pub log_position: u64,
    /// The day it is booked.
    pub date: NaiveDate,
    /// The event type.
    pub event_type: String,
    /// What it is about (payout id, receipt, appropriation…).
    pub reference: String,
    /// Its lines; Σ debits = Σ credits.
    pub lines: Vec<JournalLine>,
    /// For lineage.
    pub lineage: Vec<LineageTag>,
}

impl JournalEntryRow {
    /// `YYYY-MM`.
    pub fn month(&self) -> String {
        self.date.format("%Y-%m").to_string()
    }
}

crate::view_row_impl!(JournalEntryRow, JournalEntry, parent = |r| r.month());

/// One account's running totals (the trial balance's line).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BookAccountRow {
    /// The account.
    pub account: String,
    /// Σ debits.
    pub debit_fen: Fen,
    /// Σ credits.
    pub credit_fen: Fen,
}

crate::view_row_impl!(BookAccountRow, BookAccount);

/// Which fund each measure of a file draws on (the books' own copy).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BookMeasuresRow {
    /// measure id → fund.
    pub measures: BTreeMap<String, Fund>,
}

crate::view_row_impl!(BookMeasuresRow, BookMeasures);

/// The account names.
pub fn bank(fund: Fund) -> String {
    format!("bank:{}", fund_code(fund))
}
/// See [`bank`].
pub fn payable(fund: Fund) -> String {
    format!("payable:{}", fund_code(fund))
}
/// See [`bank`].
pub fn fund_account(fund: Fund) -> String {
    format!("fund:{}", fund_code(fund))
}

/// Every account of the chart.
pub fn chart() -> Vec<String> {
    Fund::ALL
        .into_iter()
        .flat_map(|f| [bank(f), payable(f), fund_account(f)])
        .collect()
}

fn entry_key(ev: &Recorded) -> RowKey {
    RowKey::new(
        RowKind::JournalEntry,
        format!("{}#{:010}", ev.aggregate_id, ev.sequence),
    )
}

fn measures_key(file_id: &str) -> RowKey {
    RowKey::new(RowKind::BookMeasures, file_id)
}

fn account_key(account: &str) -> RowKey {
    RowKey::new(RowKind::BookAccount, account)
}

pub(crate) fn keys(ev: &Recorded, out: &mut Vec<RowKey>) {
    if let CaseEvent::HardshipFile(
        HardshipFileEvent::PlanAdopted { .. } | HardshipFileEvent::PlanRevised { .. },
    ) = &ev.event
    {
        out.push(measures_key(&ev.aggregate_id));
        return;
    }
    if let CaseEvent::DonationCampaign(DonationCampaignEvent::AllocationApproved {
        target: AllocationTarget::HardshipMeasure { file_id, .. },
        ..
    }) = &ev.event
    {
        out.push(measures_key(file_id.as_str()));
        // The target fund is known once the row is read: every account.
        out.push(entry_key(ev));
        out.extend(chart().iter().map(|a| account_key(a)));
        return;
    }
    // Entries are derived from the event alone (the measure case aside).
    let pending = MeasureFunds::default();
    if let Some(entry) = entry_of(ev, &pending) {
        out.push(entry_key(ev));
        for line in &entry.lines {
            out.push(account_key(&line.account));
        }
    }
}

pub(crate) fn apply(ev: &Recorded, rows: &mut RowSet) -> Result<(), ProjectionError> {
    if let CaseEvent::HardshipFile(
        HardshipFileEvent::PlanAdopted { measures, .. }
        | HardshipFileEvent::PlanRevised { measures, .. },
    ) = &ev.event
    {
        let row = rows.upsert(&measures_key(&ev.aggregate_id), || BookMeasuresRow {
            measures: BTreeMap::new(),
        })?;
        for m in measures {
            row.measures.insert(m.measure_id.to_string(), m.fund);
        }
        return Ok(());
    }
    let mut funds = MeasureFunds::default();
    if let CaseEvent::DonationCampaign(DonationCampaignEvent::AllocationApproved {
        target: AllocationTarget::HardshipMeasure { file_id, .. },
        ..
    }) = &ev.event
    {
        if let Some(row) = rows.get::<BookMeasuresRow>(&measures_key(file_id.as_str()))? {
            funds.0 = row.measures.clone();
        }
    }
    let Some(entry) = entry_of(ev, &funds) else {
        return Ok(());
    };
    for line in &entry.lines {
        let row = rows.upsert(&account_key(&line.account), || BookAccountRow {
            account: line.account.clone(),
            debit_fen: Fen::ZERO,
            credit_fen: Fen::ZERO,
        })?;
        row.debit_fen = add(row.debit_fen, line.debit_fen);
        row.credit_fen = add(row.credit_fen, line.credit_fen);
    }
    rows.put(&entry_key(ev), entry)
}

/// The fund of each measure of the file an allocation targets.
#[derive(Default)]
struct MeasureFunds(BTreeMap<String, Fund>);

fn pair(debit: String, credit: String, amount: Fen) -> Vec<JournalLine> {
    vec![
        JournalLine {
            account: debit,
            debit_fen: amount,
            credit_fen: Fen::ZERO,
        },
        JournalLine {
            account: credit,
            debit_fen: Fen::ZERO,
            credit_fen: amount,
        },
    ]
}

/// What an entry is made of: date, reference, lines, lineage.
type Parts = (NaiveDate, String, Vec<JournalLine>, Vec<LineageTag>);

fn inflow(fund: Fund, id: String, amount: Fen, date: NaiveDate) -> Option<Parts> {
    let tag = LineageTag::Inflow {
        inflow_id: id.clone(),
        fund,
        amount_fen: amount,
    };
    Some((
        date,
        id,
        pair(bank(fund), fund_account(fund), amount),
        vec![tag],
    ))
}

fn reversal(fund: Fund, id: String, amount: Fen, date: NaiveDate) -> Option<Parts> {
    let tag = LineageTag::InflowReversed {
        inflow_id: id.clone(),
    };
    Some((
        date,
        id,
        pair(fund_account(fund), bank(fund), amount),
        vec![tag],
    ))
}

fn approval(
    fund: Fund,
    payout_id: String,
    earmark: Option<String>,
    amount: Fen,
    date: NaiveDate,
) -> Option<Parts> {
    let tag = LineageTag::Payout {
        payout_id: payout_id.clone(),
        earmark,
        fund,
        amount_fen: amount,
    };
    Some((
        date,
        payout_id,
        pair(fund_account(fund), payable(fund), amount),
        vec![tag],
    ))
}

fn payment(fund: Fund, payout_id: String, amount: Fen, date: NaiveDate) -> Option<Parts> {
    Some((
        date,
        payout_id,
        pair(payable(fund), bank(fund), amount),
        vec![],
    ))
}

fn entry_of(ev: &Recorded, measures: &MeasureFunds) -> Option<JournalEntryRow> {
    let (date, reference, lines, lineage) = match &ev.event {
        CaseEvent::FundAccount(e) => fund_entry(&ev.aggregate_id, e),
        CaseEvent::MutualAidPlan(e) => plan_entry(&ev.aggregate_id, e),
        CaseEvent::MutualAidClaim(e) => claim_entry(&ev.aggregate_id, e),
        CaseEvent::HardshipFile(e) => file_entry(&ev.aggregate_id, e),
        CaseEvent::DonationCampaign(e) => campaign_entry(&ev.aggregate_id, e, measures),
        CaseEvent::PayoutBatch(e) => batch_entry(e),
        CaseEvent::AccountingPeriod(_) => None,
    }?;
    // An entry that moves nothing is kept only for its lineage (an
    // allocation to a measure of the donation fund itself earmarks money
    // without moving it between funds).
    if lineage.is_empty()
        && lines
            .iter()
            .all(|l| l.debit_fen.is_zero() && l.credit_fen.is_zero())
    {
        return None;
    }
    Some(JournalEntryRow {
        entry_id: format!("{}#{}", ev.aggregate_id, ev.sequence),
        log_commit: ev.position.commit,
        log_position: ev.position.position,
        date,
        event_type: ev.event.type_name(),
        reference,
        lines,
        lineage,
    })
}

fn fund_entry(id: &str, e: &FundAccountEvent) -> Option<Parts> {
    match e {
        FundAccountEvent::Appropriated {
            appropriation_id,
            fund,
            amount_fen,
            received_on,
            ..
        } => inflow(
            *fund,
            format!("appropriation:{id}:{appropriation_id}"),
            *amount_fen,
            *received_on,
        ),
        FundAccountEvent::AppropriationReversed {
            appropriation_id,
            fund,
            amount_fen,
            reversed_at,
            ..
        } => reversal(
            *fund,
            format!("appropriation:{id}:{appropriation_id}"),
            *amount_fen,
            reversed_at.date_naive(),
        ),
    }
}

fn plan_entry(id: &str, e: &MutualAidPlanEvent) -> Option<Parts> {
    match e {
        MutualAidPlanEvent::UnitEnrolled {
            unit_id,
            contribution_fen,
            enrolled_at,
            ..
        } => inflow(
            Fund::MutualAid,
            format!("contribution:{id}:{unit_id}"),
            *contribution_fen,
            enrolled_at.date_naive(),
        ),
        MutualAidPlanEvent::RosterAmended {
            unit_id,
            additional_contribution_fen,
            amended_at,
            ..
        } => inflow(
            Fund::MutualAid,
            format!("contribution:{id}:{unit_id}:{}", amended_at.timestamp()),
            *additional_contribution_fen,
            amended_at.date_naive(),
        ),
        _ => None,
    }
}

fn claim_entry(id: &str, e: &MutualAidClaimEvent) -> Option<Parts> {
    let payout = claim_payout_id(id);
    match e {
        MutualAidClaimEvent::ClaimApproved {
            subsidy_fen,
            fund,
            approved_at,
            ..
        } => approval(
            *fund,
            payout.clone(),
            Some(payout),
            *subsidy_fen,
            approved_at.date_naive(),
        ),
        MutualAidClaimEvent::ClaimPaid {
            fund,
            amount_fen,
            paid_on,
            ..
        } => payment(*fund, payout, *amount_fen, *paid_on),
        _ => None,
    }
}

fn file_entry(id: &str, e: &HardshipFileEvent) -> Option<Parts> {
    match e {
        HardshipFileEvent::GrantApproved {
            grant_id,
            measure_id,
            amount_fen,
            fund,
            approved_at,
            ..
        } => approval(
            *fund,
            grant_payout_id(id, grant_id.as_str()),
            Some(format!("measure:{id}:{measure_id}")),
            *amount_fen,
            approved_at.date_naive(),
        ),
        HardshipFileEvent::GrantPaid {
            grant_id,
            amount_fen,
            fund,
            paid_on,
            ..
        } => payment(
            *fund,
            grant_payout_id(id, grant_id.as_str()),
            *amount_fen,
            *paid_on,
        ),
        _ => None,
    }
}

fn campaign_entry(id: &str, e: &DonationCampaignEvent, measures: &MeasureFunds) -> Option<Parts> {
    use DonationCampaignEvent as Ev;
    match e {
        Ev::DonationRecorded {
            receipt_no,
            amount_fen,
            donated_on,
            ..
        } => inflow(
            Fund::Donation,
            format!("donation:{id}:{receipt_no}"),
            *amount_fen,
            *donated_on,
        ),
        Ev::DonationReversed {
            receipt_no,
            amount_fen,
            reversed_at,
            ..
        } => reversal(
            Fund::Donation,
            format!("donation:{id}:{receipt_no}"),
            *amount_fen,
            reversed_at.date_naive(),
        ),
        Ev::AllocationApproved {
            allocation_id,
            amount_fen,
            target,
            approved_at,
            ..
        } => {
            let date = approved_at.date_naive();
            let payout = allocation_payout_id(id, allocation_id.as_str());
            let (to, earmark) = match target {
                AllocationTarget::DesignatedBeneficiary => {
                    let tag = LineageTag::Earmark {
                        campaign_id: id.to_string(),
                        target: payout.clone(),
                        amount_fen: *amount_fen,
                    };
                    let mut parts = approval(
                        Fund::Donation,
                        payout.clone(),
                        Some(payout),
                        *amount_fen,
                        date,
                    )?;
                    parts.3.insert(0, tag);
                    return Some(parts);
                }
                AllocationTarget::Claim { claim_id } => {
                    (Fund::MutualAid, claim_payout_id(claim_id.as_str()))
                }
                AllocationTarget::HardshipMeasure {
                    file_id,
                    measure_id,
                } => (
                    measures
                        .0
                        .get(measure_id.as_str())
                        .copied()
                        .unwrap_or(Fund::Donation),
                    format!("measure:{file_id}:{measure_id}"),
                ),
            };
            let tag = LineageTag::Earmark {
                campaign_id: id.to_string(),
                target: earmark,
                amount_fen: *amount_fen,
            };
            if to == Fund::Donation {
                // Nothing moves between funds; the earmark still counts.
                return Some((date, payout, Vec::new(), vec![tag]));
            }
            let mut lines = pair(fund_account(Fund::Donation), fund_account(to), *amount_fen);
            lines.extend(pair(bank(to), bank(Fund::Donation), *amount_fen));
            Some((date, payout, lines, vec![tag]))
        }
        _ => None,
    }
}

fn batch_entry(e: &PayoutBatchEvent) -> Option<Parts> {
    match e {
        PayoutBatchEvent::BankResultsRecorded { outcomes, .. } => {
            let paid: Vec<_> = outcomes.iter().filter(|o| o.paid).collect();
            let date = paid.iter().map(|o| o.value_date).max()?;
            let mut lines = Vec::new();
            for o in &paid {
                lines.extend(pair(payable(o.fund), bank(o.fund), o.amount_fen));
            }
            Some((date, format!("{} payouts", paid.len()), lines, vec![]))
        }
        PayoutBatchEvent::PayoutCancelled {
            payout_id,
            fund,
            amount_fen,
            booked_on,
            ..
        } => Some((
            *booked_on,
            payout_id.to_string(),
            pair(payable(*fund), fund_account(*fund), *amount_fen),
            vec![LineageTag::PayoutCancelled {
                payout_id: payout_id.original().as_str().to_string(),
            }],
        )),
        _ => None,
    }
}
