//! The money on a household file that comes from outside the file's own
//! events: donation-campaign allocations approved to one of its measures,
//! and grants paid by the bank in a payout batch. Part of the household-file
//! view ([`super::household`]); the same row.
//!
//! - An **allocation** (捐款拨付) approved to a measure is listed on the
//!   file ([`AllocationView`]) and added to the measure's `allocated_fen`:
//!   the donation money that paid for that measure's grants (the grants
//!   themselves are paid from the measure's fund, which the allocation
//!   moved the money into — see [`super::funds`]).
//! - A grant whose batch line the bank reported **paid** is paid on the file
//!   (paid on the value date, reference `{batch}/{payout}`), as if recorded
//!   directly: a payout is paid once, either way (the store's `payout_paid`
//!   and `payout_batched` reservations).

use chrono::{DateTime, Utc};
use domain::donation::{AllocationTarget, DonationCampaignEvent};
use domain::finance::batch::PayoutBatchEvent;
use domain::fund::Fund;
use domain::values::Fen;
use serde::{Deserialize, Serialize};

use super::household::{add, key, GrantState, HouseholdFileRow};
use crate::event::{CaseEvent, Recorded};
use crate::rows::{ProjectionError, RowKey, RowSet};

/// One allocation approved to a measure of the file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AllocationView {
    /// The campaign (一日捐活动).
    pub campaign_id: String,
    /// The allocation.
    pub allocation_id: String,
    /// The measure it pays for.
    pub measure_id: String,
    /// Amount.
    pub amount_fen: Fen,
    /// The fund it moved into (the measure's fund; the donation fund itself
    /// when the measure draws on it).
    pub fund: Fund,
    /// Who approved it.
    pub approved_by: String,
    /// When.
    pub approved_at: DateTime<Utc>,
}

/// The file and grant a batch line pays: `grant:{file}:{grant}` (a re-issue
/// `~r{n}` pays its original).
fn grant_of(payout_id: &domain::finance::PayoutId) -> Option<(String, String)> {
    let original = payout_id.original();
    let rest = original.as_str().strip_prefix("grant:")?;
    let (file, grant) = rest.rsplit_once(':')?;
    Some((file.to_string(), grant.to_string()))
}

pub(crate) fn keys(ev: &Recorded, out: &mut Vec<RowKey>) {
    match &ev.event {
        CaseEvent::DonationCampaign(DonationCampaignEvent::AllocationApproved {
            target: AllocationTarget::HardshipMeasure { file_id, .. },
            ..
        }) => out.push(key(file_id.as_str())),
        CaseEvent::PayoutBatch(PayoutBatchEvent::BankResultsRecorded { outcomes, .. }) => {
            for o in outcomes.iter().filter(|o| o.paid) {
                if let Some((file, _)) = grant_of(&o.payout_id) {
                    out.push(key(&file));
                }
            }
        }
        _ => {}
    }
}

pub(crate) fn apply(ev: &Recorded, rows: &mut RowSet) -> Result<(), ProjectionError> {
    match &ev.event {
        CaseEvent::DonationCampaign(DonationCampaignEvent::AllocationApproved {
            allocation_id,
            amount_fen,
            target:
                AllocationTarget::HardshipMeasure {
                    file_id,
                    measure_id,
                },
            approved_by,
            approved_at,
            ..
        }) => {
            let Some(file) = rows.get_mut::<HouseholdFileRow>(&key(file_id.as_str()))? else {
                return Ok(());
            };
            let mut fund = Fund::Donation;
            if let Some(m) = file.measure_mut(measure_id.as_str()) {
                m.allocated_fen = add(m.allocated_fen, *amount_fen);
                fund = m.fund;
            }
            file.allocations.push(AllocationView {
                campaign_id: ev.aggregate_id.clone(),
                allocation_id: allocation_id.to_string(),
                measure_id: measure_id.to_string(),
                amount_fen: *amount_fen,
                fund,
                approved_by: approved_by.to_string(),
                approved_at: *approved_at,
            });
            Ok(())
        }
        CaseEvent::PayoutBatch(PayoutBatchEvent::BankResultsRecorded { outcomes, .. }) => {
            for o in outcomes.iter().filter(|o| o.paid) {
                let Some((file_id, grant_id)) = grant_of(&o.payout_id) else {
                    continue;
                };
                let Some(file) = rows.get_mut::<HouseholdFileRow>(&key(&file_id))? else {
                    continue;
                };
                let Some(g) = file.grant_mut(&grant_id) else {
                    continue;
                };
                if g.state == GrantState::Paid {
                    continue;
                }
                g.state = GrantState::Paid;
                g.paid_on = Some(o.value_date);
                g.paid_reference = Some(format!("{}/{}", ev.aggregate_id, o.payout_id));
                let (measure, amount) = (g.measure_id.clone(), g.amount_fen);
                if let Some(m) = file.measure_mut(&measure) {
                    m.paid_fen = add(m.paid_fen, amount);
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}
