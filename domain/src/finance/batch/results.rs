//! Matching a bank's result file against the batch: which lines it settles
//! and what does not match (the exceptions of reconciliation).
//!
//! Rules, per line of the file in order:
//! - a payout id not in the batch: `UnknownLine`;
//! - a payout already named earlier in the file: `DuplicateLine`;
//! - an amount or (bank) account other than the line's: `AmountMismatch`,
//!   `AccountMismatch`; the line stays as it was;
//! - a line already paid by an earlier file and reported paid again:
//!   `PaidTwice`; reported otherwise than before: `Contradicts`;
//! - else the line is paid or failed as reported.
//!
//! After the file, every line still pending that the file did not name is
//! `MissingFromFile`. After the batch is closed, every line is `AfterClose`
//! and nothing is settled. A file already recorded (same SHA-256) records
//! nothing: importing the same file twice changes nothing.

use std::collections::BTreeSet;

use super::{
    check_sha256, BankResult, BatchState, LineOutcome, LineStatus, PayoutBatch, PayoutBatchError,
    PayoutBatchEvent, ResultException, MAX_RESULT_LINES,
};
use crate::command::CommandContext;
use crate::finance::{PayoutId, PayoutLine};
use crate::values::Code;

impl PayoutBatch {
    pub(super) fn record_results(
        &self,
        ctx: &CommandContext,
        sha256: Code,
        results: Vec<BankResult>,
    ) -> Result<Option<PayoutBatchEvent>, PayoutBatchError> {
        let ok = matches!(self.state, BatchState::Exported | BatchState::Closed);
        self.require(ok, "record results")?;
        check_sha256(&sha256)?;
        if results.is_empty() || results.len() > MAX_RESULT_LINES {
            return Err(PayoutBatchError::ResultCount);
        }
        if self.result_files.contains(&sha256) {
            return Ok(None);
        }
        let (outcomes, exceptions) = if self.state == BatchState::Closed {
            let after = results
                .iter()
                .map(|r| ResultException::AfterClose {
                    line: r.line,
                    payout_id: r.payout_id.to_string(),
                })
                .collect();
            (Vec::new(), after)
        } else {
            self.match_results(&results)
        };
        Ok(Some(PayoutBatchEvent::BankResultsRecorded {
            sha256,
            outcomes,
            exceptions,
            recorded_by: ctx.actor.id.clone(),
            recorded_at: ctx.recorded_at,
        }))
    }

    fn match_results(&self, results: &[BankResult]) -> (Vec<LineOutcome>, Vec<ResultException>) {
        let mut outcomes = Vec::new();
        let mut exceptions = Vec::new();
        let mut named = BTreeSet::new();
        for r in results {
            let name = r.payout_id.to_string();
            let known = PayoutId::parse(&name)
                .ok()
                .and_then(|id| self.lines.get(&id).map(|l| (id, l)));
            let Some((id, (line, status))) = known else {
                exceptions.push(ResultException::UnknownLine {
                    line: r.line,
                    payout_id: name,
                });
                continue;
            };
            if !named.insert(id.clone()) {
                exceptions.push(ResultException::DuplicateLine {
                    line: r.line,
                    payout_id: name,
                });
                continue;
            }
            match judge(r, line, status) {
                Ok(()) => outcomes.push(LineOutcome {
                    payout_id: id,
                    source: line.source,
                    fund: line.fund,
                    amount_fen: line.amount_fen,
                    paid: r.paid,
                    reason: r.reason.clone(),
                    value_date: r.value_date,
                }),
                Err(Some(e)) => exceptions.push(e),
                Err(None) => {}
            }
        }
        for (id, (_, status)) in &self.lines {
            if *status == LineStatus::Pending && !named.contains(id) {
                exceptions.push(ResultException::MissingFromFile {
                    payout_id: id.to_string(),
                });
            }
        }
        (outcomes, exceptions)
    }
}

/// Whether result `r` settles `line` (standing at `status`): `Ok` settles
/// it; `Err(Some)` is an exception; `Err(None)` repeats what is known.
fn judge(
    r: &BankResult,
    line: &PayoutLine,
    status: &LineStatus,
) -> Result<(), Option<ResultException>> {
    let (at, id) = (r.line, line.payout_id.to_string());
    if r.amount_fen != line.amount_fen {
        return Err(Some(ResultException::AmountMismatch {
            line: at,
            payout_id: id,
            expected_fen: line.amount_fen,
            reported_fen: r.amount_fen,
        }));
    }
    let account = line.account.card().unwrap_or("");
    if digits(&r.account) != account {
        return Err(Some(ResultException::AccountMismatch {
            line: at,
            payout_id: id,
        }));
    }
    match (status, r.paid) {
        (LineStatus::Pending, _) => Ok(()),
        (LineStatus::Paid, true) => Err(Some(ResultException::PaidTwice {
            line: at,
            payout_id: id,
        })),
        (LineStatus::Failed | LineStatus::Reissued(_) | LineStatus::Cancelled, false) => Err(None),
        _ => Err(Some(ResultException::Contradicts {
            line: at,
            payout_id: id,
        })),
    }
}

/// The account as digits (banks print cards with spaces).
fn digits(account: &str) -> String {
    account.chars().filter(|c| !c.is_whitespace()).collect()
}
