//! Lineage (资金溯源): which inflows paid for which payouts, to the fen.
//!
//! The rule, in the union's terms:
//!
//! 1. **Explicit allocations first.** Donation money a campaign allocated to
//!    a claim or to a hardship measure is that claim's or measure's money: a
//!    payout of that claim (its subsidy) or measure (its grants) draws on it
//!    before anything else. Which donation receipts make up an allocation is
//!    decided by rule 2 within the donation fund.
//! 2. **Then first in, first out within a fund.** Every other payout draws
//!    on the oldest inflow of its fund that still has money left
//!    (appropriations, contributions, donations, in the order they were
//!    recorded). A reversed inflow gives back what it had not yet paid for.
//! 3. A payout that finds its fund empty (possible only in imported history)
//!    shows the shortfall as `unfunded`.
//!
//! Computed when read, from the books' journal entries in log order
//! ([`super::books::JournalEntryRow::lineage`]), so it is the same on every
//! store and needs no table of its own.

use std::collections::{BTreeMap, VecDeque};

use domain::fund::Fund;
use domain::values::Fen;
use serde::{Deserialize, Serialize};

use super::books::{JournalEntryRow, LineageTag};

/// The name lineage gives money no inflow covers.
pub const UNFUNDED: &str = "unfunded";

/// Part of a payout paid by part of an inflow.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LineagePiece {
    /// The payout.
    pub payout_id: String,
    /// The inflow (or [`UNFUNDED`]).
    pub inflow_id: String,
    /// How much of it.
    pub amount_fen: Fen,
}

#[derive(Default)]
struct Pool {
    /// Inflow id and what is left of it, oldest first.
    queue: VecDeque<(String, Fen)>,
}

impl Pool {
    /// Takes up to `amount`, oldest first.
    fn take(&mut self, mut amount: Fen) -> (Vec<(String, Fen)>, Fen) {
        let mut taken = Vec::new();
        while !amount.is_zero() {
            let Some((id, left)) = self.queue.front_mut() else {
                break;
            };
            let part = (*left).min(amount);
            *left = left.sub_asserted(part, "part is at most what is left");
            amount = amount.sub_asserted(part, "part is at most what is asked");
            if !part.is_zero() {
                taken.push((id.clone(), part));
            }
            if left.is_zero() {
                self.queue.pop_front();
            }
        }
        (taken, amount)
    }

    fn reverse(&mut self, inflow_id: &str) {
        self.queue.retain(|(id, _)| id != inflow_id);
    }
}

/// Every payout's lineage, from journal entries in any order (they are
/// sorted into log order here).
pub fn trace(entries: &[JournalEntryRow]) -> Vec<LineagePiece> {
    let mut sorted: Vec<&JournalEntryRow> = entries.iter().collect();
    sorted.sort_by_key(|e| (e.log_commit, e.log_position));
    let mut pools: BTreeMap<Fund, Pool> = BTreeMap::new();
    let mut earmarks: BTreeMap<String, Pool> = BTreeMap::new();
    let mut pieces = Vec::new();
    for tag in sorted.iter().flat_map(|e| e.lineage.iter()) {
        match tag {
            LineageTag::Inflow {
                inflow_id,
                fund,
                amount_fen,
            } => pools
                .entry(*fund)
                .or_default()
                .queue
                .push_back((inflow_id.clone(), *amount_fen)),
            LineageTag::InflowReversed { inflow_id } => {
                pools.values_mut().for_each(|p| p.reverse(inflow_id))
            }
            LineageTag::Earmark { target, amount_fen } => {
                let (taken, _) = pools.entry(Fund::Donation).or_default().take(*amount_fen);
                earmarks.entry(target.clone()).or_default().queue.extend(taken);
            }
            LineageTag::Payout {
                payout_id,
                earmark,
                fund,
                amount_fen,
            } => {
                let mut left = *amount_fen;
                let mut taken = Vec::new();
                if let Some(pool) = earmark.as_ref().and_then(|k| earmarks.get_mut(k)) {
                    let (t, rest) = pool.take(left);
                    taken.extend(t);
                    left = rest;
                }
                let (t, rest) = pools.entry(*fund).or_default().take(left);
                taken.extend(t);
                if !rest.is_zero() {
                    taken.push((UNFUNDED.to_string(), rest));
                }
                pieces.extend(taken.into_iter().map(|(inflow_id, amount_fen)| LineagePiece {
                    payout_id: payout_id.clone(),
                    inflow_id,
                    amount_fen,
                }));
            }
        }
    }
    pieces
}
