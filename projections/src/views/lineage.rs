//! Lineage (资金溯源): which inflows paid for which payouts, to the fen.
//!
//! The rule, in the union's terms:
//!
//! 1. **Explicit allocations first.** Donation money a campaign allocated —
//!    to a claim, to a hardship measure, or to its designated beneficiary —
//!    is that target's money: the claim's subsidy, the measure's grants or
//!    the designated payout draws on it before anything else. An allocation
//!    is made of its own campaign's receipts, first in, first out.
//! 2. **Then first in, first out within a fund.** Every other payout draws
//!    on the oldest inflow of its fund that still has money left
//!    (appropriations, contributions, donations, in the order they were
//!    recorded). A reversed inflow gives back what it had not yet paid for.
//! 3. A payout that finds its fund empty (possible only in imported history)
//!    shows the shortfall as `unfunded`.
//! 4. A cancelled payout paid for nothing: what it drew goes back, first in
//!    line, to the earmark or the fund it came from, for later payouts.
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
/// sorted into log order here). Two passes: the earmarks take their
/// donation money first (rule 1, whenever the allocation came), then every
/// payout draws on its earmark and on what is left of its fund (rule 2).
pub fn trace(entries: &[JournalEntryRow]) -> Vec<LineagePiece> {
    let mut sorted: Vec<&JournalEntryRow> = entries.iter().collect();
    sorted.sort_by_key(|e| (e.log_commit, e.log_position));
    let tags: Vec<&LineageTag> = sorted.iter().flat_map(|e| e.lineage.iter()).collect();
    let (mut earmarks, earmarked) = earmark_pass(&tags);
    let mut pools: BTreeMap<Fund, Pool> = BTreeMap::new();
    let mut pieces: Vec<LineagePiece> = Vec::new();
    let mut drawn: BTreeMap<String, Drawn> = BTreeMap::new();
    let mut reversed: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
    for tag in tags {
        match tag {
            LineageTag::Inflow {
                inflow_id,
                fund,
                amount_fen,
            } => {
                let left =
                    amount_fen.room_after(earmarked.get(inflow_id).copied().unwrap_or_default());
                pools
                    .entry(*fund)
                    .or_default()
                    .queue
                    .push_back((inflow_id.clone(), left));
            }
            LineageTag::InflowReversed { inflow_id } => {
                reversed.insert(inflow_id);
                pools.values_mut().for_each(|p| p.reverse(inflow_id))
            }
            LineageTag::Earmark { .. } => {}
            LineageTag::PayoutCancelled { payout_id } => {
                if let Some(d) = drawn.remove(payout_id) {
                    d.give_back(&reversed, &mut earmarks, &mut pools);
                    pieces.retain(|p| &p.payout_id != payout_id);
                }
            }
            LineageTag::Payout {
                payout_id,
                earmark,
                fund,
                amount_fen,
            } => {
                let mut left = *amount_fen;
                let mut taken = Vec::new();
                let mut d = Drawn {
                    earmark: earmark.clone(),
                    fund: *fund,
                    from_earmark: Vec::new(),
                    from_fund: Vec::new(),
                };
                if let Some(pool) = earmark.as_ref().and_then(|k| earmarks.get_mut(k)) {
                    let (t, rest) = pool.take(left);
                    d.from_earmark.clone_from(&t);
                    taken.extend(t);
                    left = rest;
                }
                let (t, rest) = pools.entry(*fund).or_default().take(left);
                d.from_fund.clone_from(&t);
                taken.extend(t);
                drawn.insert(payout_id.clone(), d);
                if !rest.is_zero() {
                    taken.push((UNFUNDED.to_string(), rest));
                }
                pieces.extend(
                    taken
                        .into_iter()
                        .map(|(inflow_id, amount_fen)| LineagePiece {
                            payout_id: payout_id.clone(),
                            inflow_id,
                            amount_fen,
                        }),
                );
            }
        }
    }
    pieces
}

/// What one payout drew, and from where (to give it back on cancellation).
struct Drawn {
    earmark: Option<String>,
    fund: Fund,
    from_earmark: Vec<(String, Fen)>,
    from_fund: Vec<(String, Fen)>,
}

impl Drawn {
    /// Puts the money back at the front of the queues it came from, in its
    /// original order (never to an inflow reversed since).
    fn give_back(
        self,
        reversed: &std::collections::BTreeSet<&str>,
        earmarks: &mut BTreeMap<String, Pool>,
        pools: &mut BTreeMap<Fund, Pool>,
    ) {
        let live = |(id, _): &(String, Fen)| !reversed.contains(id.as_str());
        if let Some(pool) = self.earmark.and_then(|k| earmarks.get_mut(&k)) {
            for piece in self.from_earmark.into_iter().filter(live).rev() {
                pool.queue.push_front(piece);
            }
        }
        let pool = pools.entry(self.fund).or_default();
        for piece in self.from_fund.into_iter().filter(live).rev() {
            pool.queue.push_front(piece);
        }
    }
}

/// The campaign of a donation inflow id `donation:{campaign}:{receipt}`.
fn campaign_of(inflow_id: &str) -> String {
    let rest = inflow_id.strip_prefix("donation:").unwrap_or(inflow_id);
    rest.split(':').next().unwrap_or_default().to_string()
}

/// Pass 1: each earmark takes donation receipts first in, first out; what
/// each receipt gave to earmarks.
fn earmark_pass(tags: &[&LineageTag]) -> (BTreeMap<String, Pool>, BTreeMap<String, Fen>) {
    let mut campaigns: BTreeMap<String, Pool> = BTreeMap::new();
    let mut earmarks: BTreeMap<String, Pool> = BTreeMap::new();
    let mut given: BTreeMap<String, Fen> = BTreeMap::new();
    for tag in tags {
        match tag {
            LineageTag::Inflow {
                inflow_id,
                fund: Fund::Donation,
                amount_fen,
            } => campaigns
                .entry(campaign_of(inflow_id))
                .or_default()
                .queue
                .push_back((inflow_id.clone(), *amount_fen)),
            LineageTag::InflowReversed { inflow_id } => campaigns
                .entry(campaign_of(inflow_id))
                .or_default()
                .reverse(inflow_id),
            LineageTag::Earmark {
                campaign_id,
                target,
                amount_fen,
            } => {
                let pool = campaigns.entry(campaign_id.clone()).or_default();
                let (taken, _) = pool.take(*amount_fen);
                for (id, part) in &taken {
                    let g = given.entry(id.clone()).or_default();
                    *g = g.add_asserted(*part, "parts of a receipt add up to at most the receipt");
                }
                earmarks
                    .entry(target.clone())
                    .or_default()
                    .queue
                    .extend(taken);
            }
            _ => {}
        }
    }
    (earmarks, given)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: u64, tag: LineageTag) -> JournalEntryRow {
        JournalEntryRow {
            entry_id: format!("x#{n}"),
            log_commit: 0,
            log_position: n,
            date: chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
            event_type: "test".into(),
            reference: String::new(),
            lines: Vec::new(),
            lineage: vec![tag],
        }
    }

    fn fen(n: i64) -> Fen {
        Fen::new(n).unwrap()
    }

    fn payout(n: u64, id: &str, amount: i64) -> JournalEntryRow {
        entry(
            n,
            LineageTag::Payout {
                payout_id: id.into(),
                earmark: None,
                fund: Fund::MutualAid,
                amount_fen: fen(amount),
            },
        )
    }

    #[test]
    fn a_cancelled_payout_gives_its_money_back_first_in_line() {
        let inflow = |n, id: &str, amount| {
            entry(
                n,
                LineageTag::Inflow {
                    inflow_id: id.into(),
                    fund: Fund::MutualAid,
                    amount_fen: fen(amount),
                },
            )
        };
        let cancelled = entry(
            5,
            LineageTag::PayoutCancelled {
                payout_id: "p1".into(),
            },
        );
        let pieces = trace(&[
            inflow(1, "a", 100),
            inflow(2, "b", 100),
            payout(3, "p1", 60),
            payout(4, "p2", 30),
            cancelled,
            payout(6, "p3", 70),
        ]);
        let got: Vec<(&str, &str, i64)> = pieces
            .iter()
            .map(|p| {
                (
                    p.payout_id.as_str(),
                    p.inflow_id.as_str(),
                    p.amount_fen.fen(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [("p2", "a", 30), ("p3", "a", 60), ("p3", "a", 10)],
            "p1 paid for nothing; its 60 went to p3 before the rest of a and before b"
        );
    }
}
