//! Matching a batch against the bank's result lines — pure, deterministic.
//!
//! A result line belongs to the batch line with the same 序号 (and, when the
//! template carries 支付编号, the same payout id; a line whose seq and
//! payout id disagree is "not in the batch"). Its amount and account must
//! equal the batch's (accounts compared without spaces). The first matching
//! line decides the payout's outcome; later lines for the same payout are
//! duplicates. A line whose amount or account differs settles nothing: the
//! payout is [`Outcome::Disputed`] until finance follows it up.
//!
//! Outcomes come in batch order (by seq); exceptions sorted by kind, then
//! file line, then seq.

use std::collections::BTreeMap;

use domain::values::Fen;
use serde::{Deserialize, Serialize};

use super::bank::PayoutLine;
use super::result::{ResultLine, ResultStatus};

/// What happened to one payout of the batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// Reported paid on `line`.
    Paid { line: usize },
    /// Reported failed on `line`, with the bank's reason.
    Failed { line: usize, reason: String },
    /// Reported on `line` with another amount or account: not settled.
    Disputed { line: usize },
    /// Not in the file.
    Missing,
}

/// One payout's outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayoutOutcome {
    /// 序号 in the batch.
    pub seq: u32,
    /// The payout.
    pub payout_id: String,
    /// Its amount in the batch.
    pub amount: Fen,
    /// What the file says.
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// A discrepancy between the batch and the file.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "exception", rename_all = "snake_case")]
pub enum Exception {
    /// A line whose seq (or seq + payout id) is not in the batch.
    NotInBatch {
        line: usize,
        seq: u32,
        payout_id: Option<String>,
    },
    /// A payout of the batch that no line reports.
    MissingFromFile { seq: u32, payout_id: String },
    /// A line whose amount differs from the batch's.
    AmountMismatch {
        line: usize,
        seq: u32,
        payout_id: String,
        expected: Fen,
        found: Fen,
    },
    /// A line whose account differs from the batch's.
    AccountMismatch {
        line: usize,
        seq: u32,
        payout_id: String,
        expected: String,
        found: String,
    },
    /// A second line for a payout already reported on `first_line`.
    Duplicate {
        line: usize,
        first_line: usize,
        seq: u32,
        payout_id: String,
        status: ResultStatus,
    },
}

/// Counts and sums of a group of payouts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// How many payouts.
    pub count: u64,
    /// Their amounts in the batch.
    pub amount: Fen,
}

impl Tally {
    fn add(&mut self, amount: Fen) {
        self.count += 1;
        // A batch's sum was checked at export; a batch line is at most 一亿元.
        self.amount = self
            .amount
            .add_asserted(amount, "a batch's total fits in i64");
    }
}

/// The batch against its result file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reconciliation {
    /// One per batch line, in seq order.
    pub outcomes: Vec<PayoutOutcome>,
    /// Every discrepancy, sorted.
    pub exceptions: Vec<Exception>,
    /// The whole batch.
    pub expected: Tally,
    /// Reported paid.
    pub paid: Tally,
    /// Reported failed.
    pub failed: Tally,
    /// Reported with another amount or account.
    pub disputed: Tally,
    /// Not reported.
    pub missing: Tally,
}

fn norm(account: &str) -> String {
    account.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Matches `results` against the batch `lines`.
pub fn reconcile(lines: &[PayoutLine], results: &[ResultLine]) -> Reconciliation {
    let by_seq: BTreeMap<u32, &PayoutLine> = lines.iter().map(|l| (l.seq, l)).collect();
    let mut decided: BTreeMap<u32, (usize, Outcome)> = BTreeMap::new();
    let mut rec = Reconciliation::default();
    for r in results {
        let Some(b) = by_seq
            .get(&r.seq)
            .filter(|b| r.payout_id.as_ref().is_none_or(|p| *p == b.payout_id))
        else {
            let payout_id = r.payout_id.clone();
            rec.exceptions.push(Exception::NotInBatch {
                line: r.line,
                seq: r.seq,
                payout_id,
            });
            continue;
        };
        let payout_id = b.payout_id.clone();
        if let Some((first_line, _)) = decided.get(&r.seq) {
            let (line, first_line, seq, status) = (r.line, *first_line, r.seq, r.status);
            rec.exceptions.push(Exception::Duplicate {
                line,
                first_line,
                seq,
                payout_id,
                status,
            });
            continue;
        }
        let mut disputed = false;
        if r.amount != b.amount {
            let (expected, found) = (b.amount, r.amount);
            let e = Exception::AmountMismatch {
                line: r.line,
                seq: r.seq,
                payout_id: payout_id.clone(),
                expected,
                found,
            };
            rec.exceptions.push(e);
            disputed = true;
        }
        if norm(&r.account) != norm(&b.account) {
            let (expected, found) = (b.account.clone(), r.account.clone());
            rec.exceptions.push(Exception::AccountMismatch {
                line: r.line,
                seq: r.seq,
                payout_id,
                expected,
                found,
            });
            disputed = true;
        }
        let outcome = match (disputed, r.status) {
            (true, _) => Outcome::Disputed { line: r.line },
            (false, ResultStatus::Success) => Outcome::Paid { line: r.line },
            (false, ResultStatus::Failed) => Outcome::Failed {
                line: r.line,
                reason: r.reason.clone(),
            },
        };
        decided.insert(r.seq, (r.line, outcome));
    }
    for (seq, b) in &by_seq {
        let outcome = decided.remove(seq).map_or(Outcome::Missing, |(_, o)| o);
        rec.expected.add(b.amount);
        let tally = match &outcome {
            Outcome::Paid { .. } => &mut rec.paid,
            Outcome::Failed { .. } => &mut rec.failed,
            Outcome::Disputed { .. } => &mut rec.disputed,
            Outcome::Missing => {
                let e = Exception::MissingFromFile {
                    seq: *seq,
                    payout_id: b.payout_id.clone(),
                };
                rec.exceptions.push(e);
                &mut rec.missing
            }
        };
        tally.add(b.amount);
        rec.outcomes.push(PayoutOutcome {
            seq: *seq,
            payout_id: b.payout_id.clone(),
            amount: b.amount,
            outcome,
        });
    }
    rec.exceptions.sort();
    rec
}
