//! The campaign view: for one one-day-donation campaign, money received per
//! unit, the number of donors, the participation rate (donors ÷ headcount),
//! reversals, and what is allocated and still unallocated.
//!
//! One row for the campaign's totals ([`CampaignRow`]) and one per
//! participating unit ([`CampaignUnitRow`]); every figure is net of
//! reversals where it says so. Rates are basis points, rounded half up
//! (`domain::donation::participation_rate`).

use chrono::{DateTime, NaiveDate, Utc};
use domain::donation::{participation_rate, DonationCampaignEvent, Purpose};
use domain::i18n::Lang;
use domain::values::{BasisPoints, Fen};
use serde::{Deserialize, Serialize};

use super::household::add;
use crate::event::{CaseEvent, Recorded};
use crate::rows::{ProjectionError, RowKey, RowKind, RowSet};

/// Open or closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CampaignState {
    /// 进行中.
    Open,
    /// 已结束.
    Closed,
}

impl CampaignState {
    /// For people.
    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            CampaignState::Open => lang.pick("进行中", "open"),
            CampaignState::Closed => lang.pick("已结束", "closed"),
        }
    }
}

/// One campaign's totals.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CampaignRow {
    /// The campaign id.
    pub campaign_id: String,
    /// Its name.
    pub name: String,
    /// Its year.
    pub year: u16,
    /// Co-issuing organisations.
    pub co_issuers: Vec<String>,
    /// A designated (定向) campaign's beneficiary name.
    pub designated_for: Option<String>,
    /// Their resident ID, masked.
    pub designated_for_masked: Option<String>,
    /// First day.
    pub starts_on: NaiveDate,
    /// Last day.
    pub ends_on: NaiveDate,
    /// Open or closed.
    pub status: CampaignState,
    /// Who launched it.
    pub launched_by: String,
    /// When.
    pub launched_at: DateTime<Utc>,
    /// When it closed.
    pub closed_at: Option<DateTime<Utc>>,
    /// Participating units.
    pub units: u64,
    /// Their staff.
    pub headcount: u64,
    /// Receipts recorded (reversed ones included).
    pub donations: u64,
    /// Received, reversals not deducted.
    pub received_fen: Fen,
    /// Receipts reversed.
    pub reversals: u64,
    /// Reversed.
    pub reversed_fen: Fen,
    /// Donors, net of reversals.
    pub donors: u64,
    /// Allocations proposed (all outcomes).
    pub allocations: u64,
    /// Proposed and pending.
    pub pending_fen: Fen,
    /// Approved.
    pub approved_fen: Fen,
    /// Rejected.
    pub rejected_fen: Fen,
}

impl CampaignRow {
    /// Received net of reversals.
    pub fn net_received_fen(&self) -> Fen {
        self.received_fen
            .sub_asserted(self.reversed_fen, "reversals never exceed receipts")
    }

    /// Donors ÷ headcount.
    pub fn participation(&self) -> BasisPoints {
        participation_rate(self.donors, self.headcount)
    }

    /// Pending plus approved allocations.
    pub fn allocated_fen(&self) -> Fen {
        add(self.pending_fen, self.approved_fen)
    }

    /// Net received minus allocated.
    pub fn unallocated_fen(&self) -> Fen {
        self.net_received_fen().sub_asserted(
            self.allocated_fen(),
            "allocations never exceed net receipts",
        )
    }
}

crate::view_row_impl!(CampaignRow, Campaign);

/// One participating unit's totals.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CampaignUnitRow {
    /// The campaign.
    pub campaign_id: String,
    /// The unit.
    pub unit_id: String,
    /// Its name.
    pub name: String,
    /// Its staff at launch.
    pub headcount: u64,
    /// Receipts recorded.
    pub donations: u64,
    /// Received, reversals not deducted.
    pub received_fen: Fen,
    /// Receipts reversed.
    pub reversals: u64,
    /// Reversed.
    pub reversed_fen: Fen,
    /// Donors, net of reversals.
    pub donors: u64,
}

impl CampaignUnitRow {
    /// Received net of reversals.
    pub fn net_received_fen(&self) -> Fen {
        self.received_fen
            .sub_asserted(self.reversed_fen, "reversals never exceed receipts")
    }

    /// Donors ÷ headcount.
    pub fn participation(&self) -> BasisPoints {
        participation_rate(self.donors, self.headcount)
    }
}

crate::view_row_impl!(
    CampaignUnitRow,
    CampaignUnit,
    parent = |r| r.campaign_id.clone()
);

/// The campaign view as read: the rows and every figure the text view
/// prints, so a program reading the JSON need not derive them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CampaignReport {
    /// Totals.
    pub campaign: CampaignTotals,
    /// Units, in unit-id order.
    pub units: Vec<CampaignUnitTotals>,
}

impl CampaignReport {
    /// The report of a campaign row and (a page of) its unit rows.
    pub fn new(campaign: CampaignRow, units: Vec<CampaignUnitRow>) -> CampaignReport {
        CampaignReport {
            campaign: CampaignTotals::from(campaign),
            units: units.into_iter().map(CampaignUnitTotals::from).collect(),
        }
    }
}

/// A campaign's totals and the figures derived from them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CampaignTotals {
    /// The row's own fields.
    #[serde(flatten)]
    pub row: CampaignRow,
    /// Received net of reversals.
    pub net_received_fen: Fen,
    /// Donors ÷ headcount, in basis points (10,000 = 100%).
    pub participation_bp: BasisPoints,
    /// Pending plus approved allocations.
    pub allocated_fen: Fen,
    /// Net received minus allocated.
    pub unallocated_fen: Fen,
    /// More donors counted than the units' headcount (a unit recorded
    /// donations from people outside its staff at launch, or a wrong count):
    /// the participation rate is then above 100% and says so.
    pub over_headcount: bool,
}

impl From<CampaignRow> for CampaignTotals {
    fn from(row: CampaignRow) -> Self {
        CampaignTotals {
            net_received_fen: row.net_received_fen(),
            participation_bp: row.participation(),
            allocated_fen: row.allocated_fen(),
            unallocated_fen: row.unallocated_fen(),
            over_headcount: row.donors > row.headcount,
            row,
        }
    }
}

impl std::ops::Deref for CampaignTotals {
    type Target = CampaignRow;
    fn deref(&self) -> &CampaignRow {
        &self.row
    }
}

/// One unit's totals and the figures derived from them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CampaignUnitTotals {
    /// The row's own fields.
    #[serde(flatten)]
    pub row: CampaignUnitRow,
    /// Received net of reversals.
    pub net_received_fen: Fen,
    /// Donors ÷ headcount, in basis points (10,000 = 100%).
    pub participation_bp: BasisPoints,
    /// More donors counted than the unit's headcount.
    pub over_headcount: bool,
}

impl From<CampaignUnitRow> for CampaignUnitTotals {
    fn from(row: CampaignUnitRow) -> Self {
        CampaignUnitTotals {
            net_received_fen: row.net_received_fen(),
            participation_bp: row.participation(),
            over_headcount: row.donors > row.headcount,
            row,
        }
    }
}

impl std::ops::Deref for CampaignUnitTotals {
    type Target = CampaignUnitRow;
    fn deref(&self) -> &CampaignUnitRow {
        &self.row
    }
}

/// The key of a campaign's row.
pub fn campaign_key(campaign_id: &str) -> RowKey {
    RowKey::new(RowKind::Campaign, campaign_id)
}

/// The key of a campaign unit's row.
pub fn unit_key(campaign_id: &str, unit_id: &str) -> RowKey {
    RowKey::child(RowKind::CampaignUnit, campaign_id, unit_id)
}

pub(crate) fn keys(ev: &Recorded, out: &mut Vec<RowKey>) {
    use DonationCampaignEvent as Ev;
    let CaseEvent::DonationCampaign(e) = &ev.event else {
        return;
    };
    let id = ev.aggregate_id.as_str();
    out.push(campaign_key(id));
    match e {
        Ev::CampaignLaunched { units, .. } => {
            out.extend(units.iter().map(|u| unit_key(id, u.unit_id.as_str())));
        }
        Ev::DonationRecorded { unit_id, .. } | Ev::DonationReversed { unit_id, .. } => {
            out.push(unit_key(id, unit_id.as_str()));
        }
        _ => {}
    }
}

pub(crate) fn apply(ev: &Recorded, rows: &mut RowSet) -> Result<(), ProjectionError> {
    use DonationCampaignEvent as Ev;
    let CaseEvent::DonationCampaign(event) = &ev.event else {
        return Ok(());
    };
    let id = ev.aggregate_id.as_str();
    let ckey = campaign_key(id);
    match event {
        Ev::CampaignLaunched {
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
            let (designated_for, designated_for_masked) = match purpose {
                Purpose::GeneralFund => (None, None),
                Purpose::Designated {
                    beneficiary_name,
                    beneficiary_id,
                    ..
                } => (
                    Some(beneficiary_name.to_string()),
                    beneficiary_id.as_ref().map(|r| r.masked()),
                ),
            };
            for u in units {
                rows.put(
                    &unit_key(id, u.unit_id.as_str()),
                    CampaignUnitRow {
                        campaign_id: id.to_string(),
                        unit_id: u.unit_id.to_string(),
                        name: u.name.to_string(),
                        headcount: u64::from(u.headcount),
                        donations: 0,
                        received_fen: Fen::ZERO,
                        reversals: 0,
                        reversed_fen: Fen::ZERO,
                        donors: 0,
                    },
                )?;
            }
            rows.put(
                &ckey,
                CampaignRow {
                    campaign_id: id.to_string(),
                    name: name.to_string(),
                    year: *year,
                    co_issuers: co_issuers.iter().map(ToString::to_string).collect(),
                    designated_for,
                    designated_for_masked,
                    starts_on: *starts_on,
                    ends_on: *ends_on,
                    status: CampaignState::Open,
                    launched_by: launched_by.to_string(),
                    launched_at: *launched_at,
                    closed_at: None,
                    units: u64::try_from(units.len()).unwrap_or(u64::MAX),
                    headcount: units.iter().fold(0u64, |n, u| {
                        n.checked_add(u64::from(u.headcount))
                            .expect(crate::views::COUNTED)
                    }),
                    donations: 0,
                    received_fen: Fen::ZERO,
                    reversals: 0,
                    reversed_fen: Fen::ZERO,
                    donors: 0,
                    allocations: 0,
                    pending_fen: Fen::ZERO,
                    approved_fen: Fen::ZERO,
                    rejected_fen: Fen::ZERO,
                },
            )
        }
        Ev::DonationRecorded {
            unit_id,
            donor_count,
            amount_fen,
            ..
        } => {
            let donors = u64::from(*donor_count);
            if let Some(c) = rows.get_mut::<CampaignRow>(&ckey)? {
                c.donations = c.donations.checked_add(1).expect(crate::views::COUNTED);
                c.received_fen = add(c.received_fen, *amount_fen);
                c.donors = c.donors.checked_add(donors).expect(crate::views::COUNTED);
            }
            if let Some(u) = rows.get_mut::<CampaignUnitRow>(&unit_key(id, unit_id.as_str()))? {
                u.donations = u.donations.checked_add(1).expect(crate::views::COUNTED);
                u.received_fen = add(u.received_fen, *amount_fen);
                u.donors = u.donors.checked_add(donors).expect(crate::views::COUNTED);
            }
            Ok(())
        }
        Ev::DonationReversed {
            unit_id,
            amount_fen,
            donor_count,
            ..
        } => {
            let donors = u64::from(*donor_count);
            if let Some(c) = rows.get_mut::<CampaignRow>(&ckey)? {
                c.reversals = c.reversals.checked_add(1).expect(crate::views::COUNTED);
                c.reversed_fen = add(c.reversed_fen, *amount_fen);
                c.donors = c.donors.checked_sub(donors).expect(crate::views::COUNTED);
            }
            if let Some(u) = rows.get_mut::<CampaignUnitRow>(&unit_key(id, unit_id.as_str()))? {
                u.reversals = u.reversals.checked_add(1).expect(crate::views::COUNTED);
                u.reversed_fen = add(u.reversed_fen, *amount_fen);
                u.donors = u.donors.checked_sub(donors).expect(crate::views::COUNTED);
            }
            Ok(())
        }
        Ev::CampaignClosed { closed_at, .. } => {
            if let Some(c) = rows.get_mut::<CampaignRow>(&ckey)? {
                c.status = CampaignState::Closed;
                c.closed_at = Some(*closed_at);
            }
            Ok(())
        }
        Ev::AllocationProposed { amount_fen, .. } => {
            if let Some(c) = rows.get_mut::<CampaignRow>(&ckey)? {
                c.allocations = c.allocations.checked_add(1).expect(crate::views::COUNTED);
                c.pending_fen = add(c.pending_fen, *amount_fen);
            }
            Ok(())
        }
        Ev::AllocationApproved { amount_fen, .. } => {
            if let Some(c) = rows.get_mut::<CampaignRow>(&ckey)? {
                c.pending_fen = c
                    .pending_fen
                    .sub_asserted(*amount_fen, "a pending allocation is in the pending total");
                c.approved_fen = add(c.approved_fen, *amount_fen);
            }
            Ok(())
        }
        Ev::AllocationRejected { amount_fen, .. } => {
            if let Some(c) = rows.get_mut::<CampaignRow>(&ckey)? {
                c.pending_fen = c
                    .pending_fen
                    .sub_asserted(*amount_fen, "a pending allocation is in the pending total");
                c.rejected_fen = add(c.rejected_fen, *amount_fen);
            }
            Ok(())
        }
    }
}
