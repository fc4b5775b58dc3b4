//! One-day-donation campaigns (一日捐 / 一日助): the yearly call, issued by the
//! city federation with the Party organisation department and the organs'
//! work committee, for every unit's staff to give one day's pay.
//!
//! The aggregate is one campaign (id = campaign id, e.g. `putian-2026`). It
//! keeps the money honest: every receipt is recorded once, a mistaken entry is
//! reversed (never deleted, and its receipt number stays used), and money is
//! spent only once — allocations, pending and approved together, never exceed
//! what was received net of reversals, at every point of the history. A
//! reversal that would break that is refused; the allocation must be rejected
//! first. Approving an allocation needs a second person (four-eyes).
//!
//! It also keeps the numbers a federation reports on: money received per unit
//! and the participation rate (donors ÷ staff).

mod commands;
mod error;
mod events;
mod services;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};

#[cfg(any(test, feature = "testing"))]
pub use commands::{sample_designated_launch, sample_launch};
pub use commands::{
    AllocationTarget, Channel, DonationCampaignCommand, ParticipatingUnit, Purpose,
    MAX_ALLOCATIONS, MAX_CO_ISSUERS, MAX_DONATIONS, MAX_UNITS, YEARS,
};
pub use error::DonationCampaignError;
#[cfg(any(test, feature = "testing"))]
pub use events::sample_events;
pub use events::DonationCampaignEvent;
pub use services::DonationCampaignServices;

use crate::command::{Cmd, CommandContext};
use crate::fund::Fund;
use crate::i18n::Lang;
use crate::values::{BasisPoints, Code, Fen, OrgName, PersonName, ShortText};

use DonationCampaignError as E;

/// Where a campaign stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignStatus {
    /// No Launch yet.
    #[default]
    NotLaunched,
    /// 进行中: donations are being recorded.
    Open,
    /// 已结束: no more donations; reversals and allocations go on.
    Closed,
}

impl CampaignStatus {
    /// The status for people.
    pub fn label(self, lang: Lang) -> &'static str {
        let (zh, en) = match self {
            CampaignStatus::NotLaunched => ("未发起", "not launched"),
            CampaignStatus::Open => ("进行中", "open"),
            CampaignStatus::Closed => ("已结束", "closed"),
        };
        lang.pick(zh, en)
    }
}

/// Where an allocation stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AllocationStatus {
    /// 待审批: the amount is set aside.
    Pending,
    /// 已批准: the amount is spent.
    Approved,
    /// 已驳回: the amount is free again.
    Rejected,
}

impl AllocationStatus {
    /// The status for people.
    pub fn label(self, lang: Lang) -> &'static str {
        let (zh, en) = match self {
            AllocationStatus::Pending => ("待审批", "pending"),
            AllocationStatus::Approved => ("已批准", "approved"),
            AllocationStatus::Rejected => ("已驳回", "rejected"),
        };
        lang.pick(zh, en)
    }
}

/// What the campaign was launched as.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CampaignProfile {
    /// Campaign name.
    pub name: OrgName,
    /// Campaign year.
    pub year: u16,
    /// Co-issuing organisations.
    pub co_issuers: Vec<OrgName>,
    /// First day of the period.
    pub starts_on: NaiveDate,
    /// Last day of the period.
    pub ends_on: NaiveDate,
    /// What the money is for.
    pub purpose: Purpose,
    /// Who launched it.
    pub launched_by: Code,
    /// When.
    pub launched_at: DateTime<Utc>,
}

/// How the campaign was closed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClosingRecord {
    /// Closing note.
    pub note: ShortText,
    /// Who closed it.
    pub closed_by: Code,
    /// When.
    pub closed_at: DateTime<Utc>,
}

/// One participating unit's running totals.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UnitTally {
    /// The unit's id.
    pub unit_id: Code,
    /// The unit's name.
    pub name: OrgName,
    /// Staff count at launch.
    pub headcount: u32,
    /// Received, reversals not deducted.
    pub received_fen: Fen,
    /// Reversed.
    pub reversed_fen: Fen,
    /// Donors, net of reversals.
    pub donor_count: u64,
}

impl UnitTally {
    /// Received net of reversals.
    pub fn net_received_fen(&self) -> Fen {
        self.received_fen.sub_asserted(
            self.reversed_fen,
            "a unit's reversals never exceed its receipts",
        )
    }

    /// Donors ÷ headcount, see [`participation_rate`].
    pub fn participation(&self) -> BasisPoints {
        participation_rate(self.donor_count, u64::from(self.headcount))
    }
}

/// One recorded receipt.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DonationEntry {
    /// The collecting unit.
    pub unit_id: Code,
    /// Amount.
    pub amount_fen: Fen,
    /// Donors it covers.
    pub donor_count: u32,
    /// Whether it has been reversed.
    pub reversed: bool,
}

/// One proposed allocation and its fate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Allocation {
    /// Allocation id.
    pub allocation_id: Code,
    /// Where the money goes.
    pub target: AllocationTarget,
    /// Amount.
    pub amount_fen: Fen,
    /// What for.
    pub note: ShortText,
    /// Pending, approved or rejected.
    pub status: AllocationStatus,
    /// Who proposed it.
    pub proposed_by: Code,
    /// When.
    pub proposed_at: DateTime<Utc>,
    /// Who approved or rejected it.
    pub decided_by: Option<Code>,
    /// When.
    pub decided_at: Option<DateTime<Utc>>,
    /// Why it was rejected.
    pub rejection_reason: Option<ShortText>,
}

/// `donors ÷ headcount` in basis points, rounded half up to the basis point by
/// [`BasisPoints::from_ratio`] (45 of 48 staff = 9 375 bp = 93.75%). Zero when
/// there is no headcount; capped at [`BasisPoints::MAX`] (a lump sum may
/// cover retirees and others beyond the staff count, so above 100% is possible).
pub fn participation_rate(donors: u64, headcount: u64) -> BasisPoints {
    if headcount == 0 {
        return BasisPoints::ZERO;
    }
    BasisPoints::from_ratio(donors, headcount)
        .unwrap_or_else(|_| BasisPoints::new(BasisPoints::MAX).unwrap_or(BasisPoints::ZERO))
}

/// A one-day-donation campaign. See the module docs for its rules.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DonationCampaign {
    profile: Option<CampaignProfile>,
    closing: Option<ClosingRecord>,
    units: BTreeMap<Code, UnitTally>,
    donations: BTreeMap<Code, DonationEntry>,
    allocations: BTreeMap<Code, Allocation>,
    received_fen: Fen,
    reversed_fen: Fen,
    donor_count: u64,
    pending_fen: Fen,
    approved_fen: Fen,
}

impl DonationCampaign {
    /// Not launched, open or closed.
    pub fn status(&self) -> CampaignStatus {
        match (&self.profile, &self.closing) {
            (None, _) => CampaignStatus::NotLaunched,
            (Some(_), None) => CampaignStatus::Open,
            (Some(_), Some(_)) => CampaignStatus::Closed,
        }
    }

    /// What the campaign was launched as.
    pub fn profile(&self) -> Option<&CampaignProfile> {
        self.profile.as_ref()
    }

    /// How it was closed.
    pub fn closing(&self) -> Option<&ClosingRecord> {
        self.closing.as_ref()
    }

    /// Total received, reversals not deducted.
    pub fn received_fen(&self) -> Fen {
        self.received_fen
    }

    /// Total reversed.
    pub fn reversed_fen(&self) -> Fen {
        self.reversed_fen
    }

    /// Received net of reversals: the money the campaign actually has.
    pub fn net_received_fen(&self) -> Fen {
        self.received_fen
            .sub_asserted(self.reversed_fen, "reversals never exceed receipts")
    }

    /// Donors, net of reversals.
    pub fn donor_count(&self) -> u64 {
        self.donor_count
    }

    /// Staff of all participating units.
    pub fn total_headcount(&self) -> u64 {
        self.units.values().map(|u| u64::from(u.headcount)).sum()
    }

    /// Donors ÷ staff over all units, see [`participation_rate`].
    pub fn participation(&self) -> BasisPoints {
        participation_rate(self.donor_count, self.total_headcount())
    }

    /// Participating units in id order, with their totals.
    pub fn units(&self) -> impl Iterator<Item = &UnitTally> {
        self.units.values()
    }

    /// One unit's totals.
    pub fn unit(&self, unit_id: &Code) -> Option<&UnitTally> {
        self.units.get(unit_id)
    }

    /// Receipts recorded, reversed ones included, in receipt-number order.
    pub fn donations(&self) -> impl Iterator<Item = (&Code, &DonationEntry)> {
        self.donations.iter()
    }

    /// One receipt.
    pub fn donation(&self, receipt_no: &Code) -> Option<&DonationEntry> {
        self.donations.get(receipt_no)
    }

    /// Allocations proposed and still pending.
    pub fn pending_fen(&self) -> Fen {
        self.pending_fen
    }

    /// Allocations approved.
    pub fn approved_fen(&self) -> Fen {
        self.approved_fen
    }

    /// Allocated: pending plus approved. Never above [`Self::net_received_fen`].
    pub fn allocated_fen(&self) -> Fen {
        self.pending_fen.add_asserted(
            self.approved_fen,
            "handle refuses an allocation that overflows the campaign",
        )
    }

    /// What may still be allocated: net received minus allocated.
    pub fn available_fen(&self) -> Fen {
        self.net_received_fen().sub_asserted(
            self.allocated_fen(),
            "allocations never exceed net receipts (reversals are refused past them)",
        )
    }

    /// All allocations, rejected ones included, in id order.
    pub fn allocations(&self) -> impl Iterator<Item = &Allocation> {
        self.allocations.values()
    }

    /// One allocation.
    pub fn allocation(&self, allocation_id: &Code) -> Option<&Allocation> {
        self.allocations.get(allocation_id)
    }

    fn launched(&self) -> Result<&CampaignProfile, DonationCampaignError> {
        self.profile.as_ref().ok_or(E::NotLaunched)
    }

    /// Net received minus allocated, checked: the handler's view of "available".
    fn unallocated(&self) -> Result<Fen, DonationCampaignError> {
        let allocated = self
            .pending_fen
            .checked_add(self.approved_fen)
            .map_err(|_| E::AmountOverflow)?;
        self.received_fen
            .checked_sub(self.reversed_fen)
            .and_then(|net| net.checked_sub(allocated))
            // Unreachable while the invariant holds; refuse rather than guess.
            .map_err(|_| E::AmountOverflow)
    }

    #[allow(clippy::too_many_arguments)]
    fn launch(
        &self,
        ctx: &CommandContext,
        name: OrgName,
        year: u16,
        co_issuers: Vec<OrgName>,
        units: Vec<ParticipatingUnit>,
        starts_on: NaiveDate,
        ends_on: NaiveDate,
        purpose: Purpose,
    ) -> Result<DonationCampaignEvent, DonationCampaignError> {
        if self.profile.is_some() {
            return Err(E::AlreadyLaunched);
        }
        if !YEARS.contains(&year) {
            return Err(E::BadYear { year });
        }
        if ends_on < starts_on {
            return Err(E::BadDates { starts_on, ends_on });
        }
        if co_issuers.len() > MAX_CO_ISSUERS {
            return Err(E::TooManyCoIssuers {
                count: co_issuers.len(),
            });
        }
        if units.is_empty() {
            return Err(E::NoUnits);
        }
        if units.len() > MAX_UNITS {
            return Err(E::TooManyUnits { count: units.len() });
        }
        let mut seen = BTreeSet::new();
        for unit in &units {
            if !seen.insert(&unit.unit_id) {
                return Err(E::DuplicateUnit {
                    unit_id: unit.unit_id.clone(),
                });
            }
            if unit.headcount == 0 {
                return Err(E::BadHeadcount {
                    unit_id: unit.unit_id.clone(),
                });
            }
        }
        Ok(DonationCampaignEvent::CampaignLaunched {
            name,
            year,
            co_issuers,
            units,
            starts_on,
            ends_on,
            purpose,
            launched_by: ctx.actor.id.clone(),
            launched_at: ctx.recorded_at,
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn record_donation(
        &self,
        ctx: &CommandContext,
        receipt_no: Code,
        unit_id: Code,
        donor: Option<PersonName>,
        donor_count: u32,
        amount_fen: Fen,
        channel: Channel,
        donated_on: NaiveDate,
    ) -> Result<DonationCampaignEvent, DonationCampaignError> {
        let profile = self.launched()?;
        if self.closing.is_some() {
            return Err(E::CampaignClosed);
        }
        if self.donations.contains_key(&receipt_no) {
            return Err(E::DuplicateReceipt { receipt_no });
        }
        if self.donations.len() >= MAX_DONATIONS {
            return Err(E::TooManyDonations);
        }
        let unit = self.units.get(&unit_id).ok_or_else(|| E::UnknownUnit {
            unit_id: unit_id.clone(),
        })?;
        if amount_fen.is_zero() {
            return Err(E::AmountMustBePositive);
        }
        if donor_count == 0 || (donor.is_some() && donor_count != 1) {
            return Err(E::BadDonorCount { donor_count });
        }
        if donated_on < profile.starts_on || donated_on > profile.ends_on {
            return Err(E::DonationOutsidePeriod {
                donated_on,
                starts_on: profile.starts_on,
                ends_on: profile.ends_on,
            });
        }
        // Totals must stay representable; the unit's share is never above the total.
        self.received_fen
            .checked_add(amount_fen)
            .and_then(|_| unit.received_fen.checked_add(amount_fen))
            .map_err(|_| E::AmountOverflow)?;
        Ok(DonationCampaignEvent::DonationRecorded {
            receipt_no,
            unit_id,
            donor,
            donor_count,
            amount_fen,
            channel,
            donated_on,
            recorded_by: ctx.actor.id.clone(),
            recorded_at: ctx.recorded_at,
        })
    }

    fn reverse_donation(
        &self,
        ctx: &CommandContext,
        receipt_no: Code,
        reason: ShortText,
    ) -> Result<DonationCampaignEvent, DonationCampaignError> {
        self.launched()?;
        let entry = self
            .donations
            .get(&receipt_no)
            .ok_or_else(|| E::UnknownReceipt {
                receipt_no: receipt_no.clone(),
            })?;
        if entry.reversed {
            return Err(E::AlreadyReversed { receipt_no });
        }
        let unallocated = self.unallocated()?;
        if entry.amount_fen > unallocated {
            return Err(E::ReversalExceedsUnallocated {
                amount_fen: entry.amount_fen,
                unallocated_fen: unallocated,
            });
        }
        self.reversed_fen
            .checked_add(entry.amount_fen)
            .map_err(|_| E::AmountOverflow)?;
        Ok(DonationCampaignEvent::DonationReversed {
            receipt_no,
            unit_id: entry.unit_id.clone(),
            amount_fen: entry.amount_fen,
            donor_count: entry.donor_count,
            reason,
            reversed_by: ctx.actor.id.clone(),
            reversed_at: ctx.recorded_at,
        })
    }

    fn close(
        &self,
        ctx: &CommandContext,
        note: ShortText,
    ) -> Result<DonationCampaignEvent, DonationCampaignError> {
        self.launched()?;
        if self.closing.is_some() {
            return Err(E::AlreadyClosed);
        }
        Ok(DonationCampaignEvent::CampaignClosed {
            received_fen: self.received_fen,
            reversed_fen: self.reversed_fen,
            donor_count: self.donor_count,
            note,
            closed_by: ctx.actor.id.clone(),
            closed_at: ctx.recorded_at,
        })
    }

    /// Everything about a proposal that the campaign alone can check; the
    /// target lookup comes after, in `handle`.
    fn propose_allocation(
        &self,
        ctx: &CommandContext,
        allocation_id: Code,
        target: AllocationTarget,
        amount_fen: Fen,
        note: ShortText,
    ) -> Result<DonationCampaignEvent, DonationCampaignError> {
        let profile = self.launched()?;
        if self.allocations.contains_key(&allocation_id) {
            return Err(E::DuplicateAllocation { allocation_id });
        }
        if self.allocations.len() >= MAX_ALLOCATIONS {
            return Err(E::TooManyAllocations);
        }
        if amount_fen.is_zero() {
            return Err(E::AmountMustBePositive);
        }
        let designated_campaign = profile.purpose.is_designated();
        let to_beneficiary = target == AllocationTarget::DesignatedBeneficiary;
        if designated_campaign != to_beneficiary {
            return Err(E::TargetNotAllowed {
                designated_campaign,
            });
        }
        let available = self.unallocated()?;
        if amount_fen > available {
            return Err(E::ExceedsAvailable {
                requested_fen: amount_fen,
                available_fen: available,
            });
        }
        Ok(DonationCampaignEvent::AllocationProposed {
            allocation_id,
            target,
            amount_fen,
            note,
            fund: Fund::Donation,
            proposed_by: ctx.actor.id.clone(),
            proposed_at: ctx.recorded_at,
        })
    }

    fn pending_allocation(
        &self,
        allocation_id: &Code,
    ) -> Result<&Allocation, DonationCampaignError> {
        self.launched()?;
        let allocation =
            self.allocations
                .get(allocation_id)
                .ok_or_else(|| E::UnknownAllocation {
                    allocation_id: allocation_id.clone(),
                })?;
        if allocation.status != AllocationStatus::Pending {
            return Err(E::AllocationNotPending {
                allocation_id: allocation_id.clone(),
                status: allocation.status,
            });
        }
        Ok(allocation)
    }

    fn approve_allocation(
        &self,
        ctx: &CommandContext,
        allocation_id: Code,
    ) -> Result<DonationCampaignEvent, DonationCampaignError> {
        let allocation = self.pending_allocation(&allocation_id)?;
        // Four-eyes holds for every role, admin included.
        if allocation.proposed_by == ctx.actor.id {
            return Err(E::FourEyes);
        }
        Ok(DonationCampaignEvent::AllocationApproved {
            amount_fen: allocation.amount_fen,
            target: allocation.target.clone(),
            allocation_id,
            approved_by: ctx.actor.id.clone(),
            approved_at: ctx.recorded_at,
        })
    }

    fn reject_allocation(
        &self,
        ctx: &CommandContext,
        allocation_id: Code,
        reason: ShortText,
    ) -> Result<DonationCampaignEvent, DonationCampaignError> {
        let allocation = self.pending_allocation(&allocation_id)?;
        Ok(DonationCampaignEvent::AllocationRejected {
            amount_fen: allocation.amount_fen,
            allocation_id,
            reason,
            rejected_by: ctx.actor.id.clone(),
            rejected_at: ctx.recorded_at,
        })
    }

    /// Checks every rule and returns the one event the command produces.
    async fn decide(
        &self,
        ctx: &CommandContext,
        body: DonationCampaignCommand,
        services: &dyn DonationCampaignServices,
    ) -> Result<DonationCampaignEvent, DonationCampaignError> {
        use DonationCampaignCommand::*;
        match body {
            Launch {
                name,
                year,
                co_issuers,
                units,
                starts_on,
                ends_on,
                purpose,
            } => self.launch(
                ctx, name, year, co_issuers, units, starts_on, ends_on, purpose,
            ),
            RecordDonation {
                receipt_no,
                unit_id,
                donor,
                donor_count,
                amount_fen,
                channel,
                donated_on,
            } => self.record_donation(
                ctx,
                receipt_no,
                unit_id,
                donor,
                donor_count,
                amount_fen,
                channel,
                donated_on,
            ),
            ReverseDonation { receipt_no, reason } => {
                self.reverse_donation(ctx, receipt_no, reason)
            }
            Close { note } => self.close(ctx, note),
            ProposeAllocation {
                allocation_id,
                target,
                amount_fen,
                note,
            } => {
                let event =
                    self.propose_allocation(ctx, allocation_id, target.clone(), amount_fen, note)?;
                // The campaign names its own designated beneficiary; only
                // measures and claims live elsewhere.
                if target != AllocationTarget::DesignatedBeneficiary
                    && !services
                        .allocation_target_exists(&target)
                        .await
                        .map_err(|e| E::ServiceUnavailable(e.0))?
                {
                    return Err(E::UnknownTarget);
                }
                Ok(event)
            }
            ApproveAllocation { allocation_id } => self.approve_allocation(ctx, allocation_id),
            RejectAllocation {
                allocation_id,
                reason,
            } => self.reject_allocation(ctx, allocation_id, reason),
        }
    }
}

/// `a + b` in `apply`: the handlers refused every command that could
/// overflow a campaign's totals, so overflow is a broken invariant.
#[track_caller]
fn add(a: Fen, b: Fen) -> Fen {
    a.add_asserted(
        b,
        "handle refuses amounts that overflow the campaign's totals",
    )
}

/// `count ± n` in `apply`: donor counts are bounded by the donations'
/// `u32` counts and never go below zero (a reversal removes what its
/// donation added).
#[track_caller]
fn count(total: u64, n: u32, add: bool) -> u64 {
    let n = u64::from(n);
    let next = if add {
        total.checked_add(n)
    } else {
        total.checked_sub(n)
    };
    next.expect("invariant broken: a donor count overflows or goes below zero")
}

impl Aggregate for DonationCampaign {
    const TYPE: &'static str = "donation_campaign";
    type Command = Cmd<DonationCampaignCommand>;
    type Event = DonationCampaignEvent;
    type Error = DonationCampaignError;
    type Services = std::sync::Arc<dyn DonationCampaignServices>;

    async fn handle(
        &mut self,
        command: Self::Command,
        services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        let Cmd { ctx, body } = command;
        let event = self.decide(&ctx, body, services.as_ref()).await?;
        sink.write(event, self).await;
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        use DonationCampaignEvent::*;
        match event {
            CampaignLaunched {
                name,
                year,
                co_issuers,
                units,
                starts_on,
                ends_on,
                purpose,
                launched_by,
                launched_at,
            } => {
                self.units = units
                    .into_iter()
                    .map(|u| {
                        let tally = UnitTally {
                            unit_id: u.unit_id.clone(),
                            name: u.name,
                            headcount: u.headcount,
                            received_fen: Fen::ZERO,
                            reversed_fen: Fen::ZERO,
                            donor_count: 0,
                        };
                        (u.unit_id, tally)
                    })
                    .collect();
                self.profile = Some(CampaignProfile {
                    name,
                    year,
                    co_issuers,
                    starts_on,
                    ends_on,
                    purpose,
                    launched_by,
                    launched_at,
                });
            }
            DonationRecorded {
                receipt_no,
                unit_id,
                donor_count,
                amount_fen,
                ..
            } => {
                self.received_fen = add(self.received_fen, amount_fen);
                self.donor_count = count(self.donor_count, donor_count, true);
                if let Some(unit) = self.units.get_mut(&unit_id) {
                    unit.received_fen = add(unit.received_fen, amount_fen);
                    unit.donor_count = count(unit.donor_count, donor_count, true);
                }
                self.donations.insert(
                    receipt_no,
                    DonationEntry {
                        unit_id,
                        amount_fen,
                        donor_count,
                        reversed: false,
                    },
                );
            }
            DonationReversed {
                receipt_no,
                unit_id,
                amount_fen,
                donor_count,
                ..
            } => {
                if let Some(entry) = self.donations.get_mut(&receipt_no) {
                    entry.reversed = true;
                }
                self.reversed_fen = add(self.reversed_fen, amount_fen);
                self.donor_count = count(self.donor_count, donor_count, false);
                if let Some(unit) = self.units.get_mut(&unit_id) {
                    unit.reversed_fen = add(unit.reversed_fen, amount_fen);
                    unit.donor_count = count(unit.donor_count, donor_count, false);
                }
            }
            CampaignClosed {
                note,
                closed_by,
                closed_at,
                ..
            } => {
                self.closing = Some(ClosingRecord {
                    note,
                    closed_by,
                    closed_at,
                });
            }
            AllocationProposed {
                allocation_id,
                target,
                amount_fen,
                note,
                proposed_by,
                proposed_at,
                ..
            } => {
                self.pending_fen = add(self.pending_fen, amount_fen);
                self.allocations.insert(
                    allocation_id.clone(),
                    Allocation {
                        allocation_id,
                        target,
                        amount_fen,
                        note,
                        status: AllocationStatus::Pending,
                        proposed_by,
                        proposed_at,
                        decided_by: None,
                        decided_at: None,
                        rejection_reason: None,
                    },
                );
            }
            AllocationApproved {
                allocation_id,
                approved_by,
                approved_at,
                ..
            } => {
                if let Some(a) = self.allocations.get_mut(&allocation_id) {
                    if a.status == AllocationStatus::Pending {
                        a.status = AllocationStatus::Approved;
                        a.decided_by = Some(approved_by);
                        a.decided_at = Some(approved_at);
                        self.pending_fen = self.pending_fen.sub_asserted(
                            a.amount_fen,
                            "a pending allocation is in the pending total",
                        );
                        self.approved_fen = add(self.approved_fen, a.amount_fen);
                    }
                }
            }
            AllocationRejected {
                allocation_id,
                reason,
                rejected_by,
                rejected_at,
                ..
            } => {
                if let Some(a) = self.allocations.get_mut(&allocation_id) {
                    if a.status == AllocationStatus::Pending {
                        a.status = AllocationStatus::Rejected;
                        a.decided_by = Some(rejected_by);
                        a.decided_at = Some(rejected_at);
                        a.rejection_reason = Some(reason);
                        self.pending_fen = self.pending_fen.sub_asserted(
                            a.amount_fen,
                            "a pending allocation is in the pending total",
                        );
                    }
                }
            }
        }
    }
}
