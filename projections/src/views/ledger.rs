//! The payout ledger: one row per payout obligation from any source — a
//! hardship-file grant, a mutual-aid claim's subsidy, a campaign's
//! allocation — with the beneficiary (masked), the amount, the fund, who
//! requested and approved it and when, and where it stands; totals by fund
//! and by month ([`LedgerTotals`]).
//!
//! A row's `state_on` is the day of its latest change of state (requested,
//! approved, paid, declined); its month is the ledger's month. So the totals
//! of a month are the obligations whose latest state change fell in it — each
//! row counted once, in one month and one state.
//!
//! Allocations to a hardship measure or a claim are *transfers*: the money
//! leaves the donation fund at approval for the fund that pays the measure's
//! grant or the claim's subsidy, which have rows of their own. Their rows are
//! listed (`transfer: true`) and, once approved, counted in their fund's and
//! month's `transferred_fen` — the donation fund's spending — never in
//! `approved_fen` or `paid_fen`, so no payment to a person is counted twice.
//! An allocation to a designated campaign's beneficiary is a payout in its
//! own right.
//!
//! Cash handed over at a home visit is the grant's own row (`cash: true`,
//! paid at the visit): one payout, never batched.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use domain::donation::{AllocationTarget, DonationCampaignEvent, Purpose};
use domain::finance::batch::PayoutBatchEvent;
use domain::fund::Fund;
use domain::hardship::{HardshipFileEvent, Payee, PaymentMethod};
use domain::i18n::Lang;
use domain::mutual_aid::MutualAidClaimEvent;
use domain::values::Fen;
use serde::{Deserialize, Serialize};

use super::household::add;
use crate::event::{CaseEvent, Recorded};
use crate::rows::{fund_code, ProjectionError, RowKey, RowKind, RowSet};

/// Where a payout comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PayoutSource {
    /// A hardship-file grant (帮扶发放).
    Grant,
    /// A mutual-aid claim's subsidy (大病补助).
    Claim,
    /// A donation campaign's allocation (捐款拨付).
    Allocation,
}

impl PayoutSource {
    /// For people.
    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            PayoutSource::Grant => lang.pick("帮扶发放", "hardship grant"),
            PayoutSource::Claim => lang.pick("大病补助", "claim subsidy"),
            PayoutSource::Allocation => lang.pick("捐款拨付", "campaign allocation"),
        }
    }
}

/// Where a payout stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PayoutState {
    /// Asked for, not yet approved (a claim: submitted, reviewed, assessed or appealed).
    Requested,
    /// Approved, not yet paid.
    Approved,
    /// Paid.
    Paid,
    /// Declined or rejected.
    Declined,
}

impl PayoutState {
    /// Every state, in life order.
    pub const ALL: [PayoutState; 4] = [
        PayoutState::Requested,
        PayoutState::Approved,
        PayoutState::Paid,
        PayoutState::Declined,
    ];

    /// For people.
    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            PayoutState::Requested => lang.pick("待审批", "requested"),
            PayoutState::Approved => lang.pick("已批准待发放", "approved, unpaid"),
            PayoutState::Paid => lang.pick("已发放", "paid"),
            PayoutState::Declined => lang.pick("不予发放", "declined"),
        }
    }
}

/// Who receives the money, identifiers masked.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Beneficiary {
    /// The person's name, when known.
    pub name: Option<String>,
    /// Their resident ID, masked.
    pub resident_id_masked: Option<String>,
    /// The card paid to, masked.
    pub card_masked: Option<String>,
    /// The account holder, when paid by transfer.
    pub account_name: Option<String>,
}

/// One payout obligation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PayoutRow {
    /// `grant:{file}:{grant}`, `claim:{claim}` or `allocation:{campaign}:{allocation}`.
    pub payout_id: String,
    /// Where it comes from.
    pub source: PayoutSource,
    /// The aggregate it belongs to (file, claim or campaign id).
    pub source_id: String,
    /// The grant's measure, the claim's period, or the allocation's target.
    pub detail: String,
    /// The fund it is drawn from.
    pub fund: Fund,
    /// Amount: the grant's, the claim's standing assessed or approved
    /// subsidy (zero before assessment), the allocation's.
    pub amount_fen: Fen,
    /// Who receives it.
    pub beneficiary: Beneficiary,
    /// Where it stands.
    pub state: PayoutState,
    /// The day of the latest change of state.
    pub state_on: NaiveDate,
    /// An allocation funding another row's payout (counted as transferred).
    pub transfer: bool,
    /// Paid in cash at a home visit (account = cash): never batched.
    #[serde(default)]
    pub cash: bool,
    /// Who asked (caseworker, claim submitter, allocation proposer).
    pub requested_by: String,
    /// When.
    pub requested_at: DateTime<Utc>,
    /// Who approved.
    pub approved_by: Option<String>,
    /// When.
    pub approved_at: Option<DateTime<Utc>>,
    /// Who declined or rejected.
    pub declined_by: Option<String>,
    /// Why.
    pub decline_reason: Option<String>,
    /// The day it was paid.
    pub paid_on: Option<NaiveDate>,
    /// Bank or voucher reference, the visit cash was handed over at, or
    /// `{batch}/{payout}` when a payout batch's bank result paid it.
    pub paid_reference: Option<String>,
}

impl PayoutRow {
    /// The ledger month of the row: `YYYY-MM` of [`PayoutRow::state_on`].
    pub fn month(&self) -> String {
        self.state_on.format("%Y-%m").to_string()
    }
}

crate::view_row_impl!(
    PayoutRow,
    Payout,
    parent = |r| fund_code(r.fund).to_string(),
    tag = |r| r.month()
);

/// Whom the payouts of a hardship file or a designated campaign go to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LedgerPartyRow {
    /// The name.
    pub name: Option<String>,
    /// The resident ID, masked.
    pub resident_id_masked: Option<String>,
}

crate::view_row_impl!(LedgerPartyRow, LedgerParty);

/// The key of a payout row.
pub fn payout_key(payout_id: &str) -> RowKey {
    RowKey::new(RowKind::Payout, payout_id)
}

/// The payout id of a grant.
pub fn grant_payout_id(file_id: &str, grant_id: &str) -> String {
    format!("grant:{file_id}:{grant_id}")
}

/// The payout id of a claim.
pub fn claim_payout_id(claim_id: &str) -> String {
    format!("claim:{claim_id}")
}

/// The payout id of an allocation.
pub fn allocation_payout_id(campaign_id: &str, allocation_id: &str) -> String {
    format!("allocation:{campaign_id}:{allocation_id}")
}

fn file_party(file_id: &str) -> RowKey {
    RowKey::new(RowKind::LedgerParty, format!("file:{file_id}"))
}

fn campaign_party(campaign_id: &str) -> RowKey {
    RowKey::new(RowKind::LedgerParty, format!("campaign:{campaign_id}"))
}

pub(crate) fn keys(ev: &Recorded, out: &mut Vec<RowKey>) {
    let id = ev.aggregate_id.as_str();
    match &ev.event {
        CaseEvent::HardshipFile(e) => {
            use HardshipFileEvent as Ev;
            match e {
                Ev::FileOpened { .. } => out.push(file_party(id)),
                Ev::GrantRequested { grant_id, .. } => {
                    out.push(file_party(id));
                    out.push(payout_key(&grant_payout_id(id, grant_id.as_str())));
                }
                Ev::GrantApproved { grant_id, .. }
                | Ev::GrantDeclined { grant_id, .. }
                | Ev::GrantPaid { grant_id, .. } => {
                    out.push(payout_key(&grant_payout_id(id, grant_id.as_str())));
                }
                _ => {}
            }
        }
        CaseEvent::MutualAidClaim(_) => out.push(payout_key(&claim_payout_id(id))),
        CaseEvent::DonationCampaign(e) => {
            use DonationCampaignEvent as Ev;
            match e {
                Ev::CampaignLaunched { .. } => out.push(campaign_party(id)),
                Ev::AllocationProposed {
                    allocation_id,
                    target,
                    ..
                } => {
                    out.push(payout_key(&allocation_payout_id(
                        id,
                        allocation_id.as_str(),
                    )));
                    out.push(match target {
                        AllocationTarget::HardshipMeasure { file_id, .. } => {
                            file_party(file_id.as_str())
                        }
                        AllocationTarget::Claim { claim_id } => {
                            payout_key(&claim_payout_id(claim_id.as_str()))
                        }
                        AllocationTarget::DesignatedBeneficiary => campaign_party(id),
                    });
                }
                Ev::AllocationApproved { allocation_id, .. }
                | Ev::AllocationRejected { allocation_id, .. } => out.push(payout_key(
                    &allocation_payout_id(id, allocation_id.as_str()),
                )),
                _ => {}
            }
        }
        CaseEvent::PayoutBatch(e) => out.extend(batch_payouts(e).map(|id| payout_key(&id))),
        CaseEvent::MutualAidPlan(_)
        | CaseEvent::FundAccount(_)
        | CaseEvent::AccountingPeriod(_) => {}
    }
}

/// The ledger rows a batch event settles: the original payout of every line
/// the bank paid, or of a cancelled line.
fn batch_payouts(e: &PayoutBatchEvent) -> impl Iterator<Item = String> + '_ {
    let (paid, cancelled) = match e {
        PayoutBatchEvent::BankResultsRecorded { outcomes, .. } => (Some(outcomes), None),
        PayoutBatchEvent::PayoutCancelled { payout_id, .. } => (None, Some(payout_id)),
        _ => (None, None),
    };
    paid.into_iter()
        .flatten()
        .filter(|o| o.paid)
        .map(|o| &o.payout_id)
        .chain(cancelled)
        .map(|id| id.original().as_str().to_string())
}

pub(crate) fn apply(ev: &Recorded, rows: &mut RowSet) -> Result<(), ProjectionError> {
    match &ev.event {
        CaseEvent::HardshipFile(e) => apply_grant(ev, e, rows),
        CaseEvent::MutualAidClaim(e) => apply_claim(ev, e, rows),
        CaseEvent::DonationCampaign(e) => apply_allocation(ev, e, rows),
        CaseEvent::PayoutBatch(e) => apply_batch(ev, e, rows),
        CaseEvent::MutualAidPlan(_)
        | CaseEvent::FundAccount(_)
        | CaseEvent::AccountingPeriod(_) => Ok(()),
    }
}

/// A line the bank paid is paid (a re-issue pays its original's row); a
/// cancelled line is no longer owed (declined, with the reason).
fn apply_batch(
    ev: &Recorded,
    e: &PayoutBatchEvent,
    rows: &mut RowSet,
) -> Result<(), ProjectionError> {
    match e {
        PayoutBatchEvent::BankResultsRecorded { outcomes, .. } => {
            for o in outcomes.iter().filter(|o| o.paid) {
                let key = payout_key(o.payout_id.original().as_str());
                if let Some(p) = rows.get_mut::<PayoutRow>(&key)? {
                    p.state = PayoutState::Paid;
                    p.state_on = o.value_date;
                    p.paid_on = Some(o.value_date);
                    p.paid_reference = Some(format!("{}/{}", ev.aggregate_id, o.payout_id));
                }
            }
            Ok(())
        }
        PayoutBatchEvent::PayoutCancelled {
            payout_id,
            reason,
            booked_on,
            cancelled_by,
            ..
        } => {
            let key = payout_key(payout_id.original().as_str());
            if let Some(p) = rows.get_mut::<PayoutRow>(&key)? {
                p.state = PayoutState::Declined;
                p.state_on = *booked_on;
                p.declined_by = Some(cancelled_by.to_string());
                p.decline_reason = Some(format!("{}: {reason}", ev.aggregate_id));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn party(rows: &RowSet, key: &RowKey) -> Result<Beneficiary, ProjectionError> {
    Ok(match rows.get::<LedgerPartyRow>(key)? {
        Some(p) => Beneficiary {
            name: p.name.clone(),
            resident_id_masked: p.resident_id_masked.clone(),
            ..Beneficiary::default()
        },
        None => Beneficiary::default(),
    })
}

fn apply_grant(
    ev: &Recorded,
    event: &HardshipFileEvent,
    rows: &mut RowSet,
) -> Result<(), ProjectionError> {
    use HardshipFileEvent as Ev;
    let file_id = ev.aggregate_id.as_str();
    match event {
        Ev::FileOpened { household, .. } => rows.put(
            &file_party(file_id),
            LedgerPartyRow {
                name: Some(household.head.name.to_string()),
                resident_id_masked: Some(household.head.resident_id.masked()),
            },
        ),
        Ev::GrantRequested {
            grant_id,
            measure_id,
            amount_fen,
            fund,
            payee,
            requested_by,
            requested_at,
            ..
        } => {
            let mut beneficiary = party(rows, &file_party(file_id))?;
            if let Payee::BankTransfer { card, account_name } = payee {
                beneficiary.card_masked = Some(card.masked());
                beneficiary.account_name = Some(account_name.to_string());
            }
            let payout_id = grant_payout_id(file_id, grant_id.as_str());
            rows.put(
                &payout_key(&payout_id),
                PayoutRow {
                    payout_id: payout_id.clone(),
                    source: PayoutSource::Grant,
                    source_id: file_id.to_string(),
                    detail: measure_id.to_string(),
                    fund: *fund,
                    amount_fen: *amount_fen,
                    beneficiary,
                    state: PayoutState::Requested,
                    state_on: requested_at.date_naive(),
                    transfer: false,
                    cash: *payee == Payee::Cash,
                    requested_by: requested_by.to_string(),
                    requested_at: *requested_at,
                    approved_by: None,
                    approved_at: None,
                    declined_by: None,
                    decline_reason: None,
                    paid_on: None,
                    paid_reference: None,
                },
            )
        }
        Ev::GrantApproved {
            grant_id,
            approved_by,
            approved_at,
            ..
        } => {
            let key = payout_key(&grant_payout_id(file_id, grant_id.as_str()));
            if let Some(p) = rows.get_mut::<PayoutRow>(&key)? {
                p.state = PayoutState::Approved;
                p.state_on = approved_at.date_naive();
                p.approved_by = Some(approved_by.to_string());
                p.approved_at = Some(*approved_at);
            }
            Ok(())
        }
        Ev::GrantDeclined {
            grant_id,
            reason,
            declined_by,
            declined_at,
            ..
        } => {
            let key = payout_key(&grant_payout_id(file_id, grant_id.as_str()));
            if let Some(p) = rows.get_mut::<PayoutRow>(&key)? {
                p.state = PayoutState::Declined;
                p.state_on = declined_at.date_naive();
                p.declined_by = Some(declined_by.to_string());
                p.decline_reason = Some(reason.to_string());
            }
            Ok(())
        }
        Ev::GrantPaid {
            grant_id,
            method,
            paid_on,
            ..
        } => {
            let key = payout_key(&grant_payout_id(file_id, grant_id.as_str()));
            if let Some(p) = rows.get_mut::<PayoutRow>(&key)? {
                p.state = PayoutState::Paid;
                p.state_on = *paid_on;
                p.paid_on = Some(*paid_on);
                p.paid_reference = Some(match method {
                    PaymentMethod::BankTransfer { reference } => reference.to_string(),
                    PaymentMethod::Cash { visit_id, .. } => visit_id.to_string(),
                });
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn apply_claim(
    ev: &Recorded,
    event: &MutualAidClaimEvent,
    rows: &mut RowSet,
) -> Result<(), ProjectionError> {
    use MutualAidClaimEvent as Ev;
    let claim_id = ev.aggregate_id.as_str();
    let payout_id = claim_payout_id(claim_id);
    let key = payout_key(&payout_id);
    if let Ev::ClaimSubmitted(s) = event {
        return rows.put(
            &key,
            PayoutRow {
                payout_id: payout_id.clone(),
                source: PayoutSource::Claim,
                source_id: claim_id.to_string(),
                detail: s.plan_id.to_string(),
                fund: Fund::MutualAid,
                amount_fen: Fen::ZERO,
                beneficiary: Beneficiary {
                    name: Some(s.member_name.to_string()),
                    resident_id_masked: Some(s.member.masked()),
                    ..Beneficiary::default()
                },
                state: PayoutState::Requested,
                state_on: s.submitted_at.date_naive(),
                transfer: false,
                cash: false,
                requested_by: s.submitted_by.to_string(),
                requested_at: s.submitted_at,
                approved_by: None,
                approved_at: None,
                declined_by: None,
                decline_reason: None,
                paid_on: None,
                paid_reference: None,
            },
        );
    }
    let Some(p) = rows.get_mut::<PayoutRow>(&key)? else {
        return Ok(());
    };
    match event {
        Ev::ClaimSubmitted(_) => {}
        // A new document review starts the assessment over.
        Ev::DocumentsReviewed { .. } => p.amount_fen = Fen::ZERO,
        Ev::ClaimAssessed { outcome, .. } => p.amount_fen = outcome.subsidy_fen(),
        Ev::ClaimApproved {
            subsidy_fen,
            approved_by,
            approved_at,
            ..
        } => {
            p.amount_fen = *subsidy_fen;
            p.state = PayoutState::Approved;
            p.state_on = approved_at.date_naive();
            p.approved_by = Some(approved_by.to_string());
            p.approved_at = Some(*approved_at);
        }
        Ev::ClaimRejected {
            reason,
            rejected_by,
            rejected_at,
            ..
        } => {
            p.state = PayoutState::Declined;
            p.state_on = rejected_at.date_naive();
            p.declined_by = Some(rejected_by.to_string());
            p.decline_reason = Some(reason.as_str().to_string());
        }
        Ev::ClaimAppealed { appealed_at, .. } => {
            p.amount_fen = Fen::ZERO;
            p.state = PayoutState::Requested;
            p.state_on = appealed_at.date_naive();
            p.declined_by = None;
            p.decline_reason = None;
        }
        Ev::ClaimPaid {
            amount_fen,
            reference,
            card,
            paid_on,
            ..
        } => {
            p.amount_fen = *amount_fen;
            p.state = PayoutState::Paid;
            p.state_on = *paid_on;
            p.paid_on = Some(*paid_on);
            p.paid_reference = Some(reference.to_string());
            p.beneficiary.card_masked = card.as_ref().map(|c| c.masked());
        }
    }
    Ok(())
}

fn apply_allocation(
    ev: &Recorded,
    event: &DonationCampaignEvent,
    rows: &mut RowSet,
) -> Result<(), ProjectionError> {
    use DonationCampaignEvent as Ev;
    let campaign_id = ev.aggregate_id.as_str();
    match event {
        Ev::CampaignLaunched { purpose, .. } => {
            let (name, resident_id_masked) = match purpose {
                Purpose::GeneralFund => (None, None),
                Purpose::Designated {
                    beneficiary_name,
                    beneficiary_id,
                    ..
                } => (
                    Some(beneficiary_name.to_string()),
                    beneficiary_id.as_ref().map(|id| id.masked()),
                ),
            };
            rows.put(
                &campaign_party(campaign_id),
                LedgerPartyRow {
                    name,
                    resident_id_masked,
                },
            )
        }
        Ev::AllocationProposed {
            allocation_id,
            target,
            amount_fen,
            fund,
            proposed_by,
            proposed_at,
            ..
        } => {
            let (beneficiary, detail) = match target {
                AllocationTarget::HardshipMeasure {
                    file_id,
                    measure_id,
                } => (
                    party(rows, &file_party(file_id.as_str()))?,
                    format!("grant:{file_id}/{measure_id}"),
                ),
                AllocationTarget::Claim { claim_id } => {
                    let payout = claim_payout_id(claim_id.as_str());
                    let beneficiary = rows
                        .get::<PayoutRow>(&payout_key(&payout))?
                        .map(|p| Beneficiary {
                            name: p.beneficiary.name.clone(),
                            resident_id_masked: p.beneficiary.resident_id_masked.clone(),
                            ..Beneficiary::default()
                        })
                        .unwrap_or_default();
                    (beneficiary, payout)
                }
                AllocationTarget::DesignatedBeneficiary => (
                    party(rows, &campaign_party(campaign_id))?,
                    "designated".to_string(),
                ),
            };
            let payout_id = allocation_payout_id(campaign_id, allocation_id.as_str());
            rows.put(
                &payout_key(&payout_id),
                PayoutRow {
                    payout_id: payout_id.clone(),
                    source: PayoutSource::Allocation,
                    source_id: campaign_id.to_string(),
                    detail,
                    fund: *fund,
                    amount_fen: *amount_fen,
                    beneficiary,
                    state: PayoutState::Requested,
                    state_on: proposed_at.date_naive(),
                    transfer: *target != AllocationTarget::DesignatedBeneficiary,
                    cash: false,
                    requested_by: proposed_by.to_string(),
                    requested_at: *proposed_at,
                    approved_by: None,
                    approved_at: None,
                    declined_by: None,
                    decline_reason: None,
                    paid_on: None,
                    paid_reference: None,
                },
            )
        }
        Ev::AllocationApproved {
            allocation_id,
            approved_by,
            approved_at,
            ..
        } => {
            let key = payout_key(&allocation_payout_id(campaign_id, allocation_id.as_str()));
            if let Some(p) = rows.get_mut::<PayoutRow>(&key)? {
                p.state = PayoutState::Approved;
                p.state_on = approved_at.date_naive();
                p.approved_by = Some(approved_by.to_string());
                p.approved_at = Some(*approved_at);
            }
            Ok(())
        }
        Ev::AllocationRejected {
            allocation_id,
            reason,
            rejected_by,
            rejected_at,
            ..
        } => {
            let key = payout_key(&allocation_payout_id(campaign_id, allocation_id.as_str()));
            if let Some(p) = rows.get_mut::<PayoutRow>(&key)? {
                p.state = PayoutState::Declined;
                p.state_on = rejected_at.date_naive();
                p.declined_by = Some(rejected_by.to_string());
                p.decline_reason = Some(reason.to_string());
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Amounts and counts of payouts per state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StateSums {
    /// Requested, not yet approved.
    pub requested_fen: Fen,
    /// Approved, not yet paid.
    pub approved_fen: Fen,
    /// Paid.
    pub paid_fen: Fen,
    /// Declined.
    pub declined_fen: Fen,
    /// Approved allocations moved out of the fund to the fund that pays
    /// their target (a claim's subsidy, a measure's grants).
    #[serde(default)]
    pub transferred_fen: Fen,
    /// Rows counted (transfers not included).
    pub payouts: u64,
}

impl StateSums {
    /// What left the fund or is owed from it: approved, paid and
    /// transferred out.
    pub fn spent_fen(&self) -> Fen {
        super::household::sum([self.approved_fen, self.paid_fen, self.transferred_fen])
    }

    fn add(&mut self, row: &PayoutRow) {
        if row.transfer {
            if row.state == PayoutState::Approved {
                self.transferred_fen = add(self.transferred_fen, row.amount_fen);
            }
            return;
        }
        let slot = match row.state {
            PayoutState::Requested => &mut self.requested_fen,
            PayoutState::Approved => &mut self.approved_fen,
            PayoutState::Paid => &mut self.paid_fen,
            PayoutState::Declined => &mut self.declined_fen,
        };
        *slot = add(*slot, row.amount_fen);
        self.payouts = self.payouts.checked_add(1).expect(crate::views::COUNTED);
    }

    /// The amount in `state`.
    pub fn in_state(&self, state: PayoutState) -> Fen {
        match state {
            PayoutState::Requested => self.requested_fen,
            PayoutState::Approved => self.approved_fen,
            PayoutState::Paid => self.paid_fen,
            PayoutState::Declined => self.declined_fen,
        }
    }
}

/// Totals of a set of ledger rows by fund and by month. Approved transfers
/// are in `transferred_fen` of the fund they left, never in the other sums.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LedgerTotals {
    /// Per fund (snake_case name).
    pub by_fund: BTreeMap<String, StateSums>,
    /// Per month (`YYYY-MM`).
    pub by_month: BTreeMap<String, StateSums>,
    /// All payouts counted.
    pub all: StateSums,
    /// Transfer rows seen.
    pub transfers: u64,
}

impl LedgerTotals {
    /// Counts one row.
    pub fn add(&mut self, row: &PayoutRow) {
        if row.transfer {
            self.transfers = self.transfers.checked_add(1).expect(crate::views::COUNTED);
        }
        self.by_fund
            .entry(fund_code(row.fund).to_string())
            .or_default()
            .add(row);
        self.by_month.entry(row.month()).or_default().add(row);
        self.all.add(row);
    }
}
