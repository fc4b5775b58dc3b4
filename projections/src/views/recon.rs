//! Reconciliation (对账): per payout batch, what was expected, paid, failed
//! and is pending, with the exceptions the bank's files raised; per payout,
//! where it stands in the batches (the "batched" half of due payouts).
//! Per fund, the batches' rows are summed when read ([`FundRecon`]).

use chrono::NaiveDate;
use domain::finance::batch::{PayoutBatchEvent, ResultException};
use domain::finance::{PayeeAccount, PayoutLine, SourceKind};
use domain::fund::Fund;
use domain::values::Fen;
use serde::{Deserialize, Serialize};

use super::household::add;
use crate::event::{CaseEvent, Recorded};
use crate::rows::{fund_code, ProjectionError, RowKey, RowKind, RowSet};

/// One bank file made from a batch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExportRecord {
    /// `csv_utf8`, `csv_gbk`, `xlsx`.
    pub format: String,
    /// SHA-256 of the file.
    pub sha256: String,
    /// Who.
    pub exported_by: String,
    /// When (RFC 3339).
    pub exported_at: String,
}

/// One exception, as listed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExceptionRecord {
    /// The result file (SHA-256).
    pub file: String,
    /// The exception.
    pub exception: ResultException,
}

/// One batch's reconciliation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BatchReconRow {
    /// The batch.
    pub batch_id: String,
    /// Its fund.
    pub fund: Fund,
    /// `drafted` … `closed`, `discarded`.
    pub state: String,
    /// Lines.
    pub lines: u64,
    /// Σ lines.
    pub expected_fen: Fen,
    /// Paid by the bank.
    pub paid_fen: Fen,
    /// Failed and not followed up.
    pub failed_fen: Fen,
    /// Failed and re-issued (in a later batch).
    pub reissued_fen: Fen,
    /// Failed and cancelled (back to the fund).
    pub cancelled_fen: Fen,
    /// Not yet reported by the bank.
    pub pending_fen: Fen,
    /// Signers so far.
    pub signers: Vec<String>,
    /// Bank files made.
    pub exports: Vec<ExportRecord>,
    /// Result files recorded (SHA-256).
    pub result_files: Vec<String>,
    /// Every exception, in the order found.
    pub exceptions: Vec<ExceptionRecord>,
}

crate::view_row_impl!(
    BatchReconRow,
    BatchRecon,
    parent = |r| fund_code(r.fund).to_string()
);

/// Where one payout stands in the batches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BatchedState {
    /// Due (a re-issue waiting for a batch).
    Due,
    /// In a live batch, not yet reported.
    Batched,
    /// Paid.
    Paid,
    /// Failed, not followed up.
    Failed,
    /// Failed, re-issued as another payout.
    Reissued,
    /// Failed, cancelled.
    Cancelled,
}

impl BatchedState {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            BatchedState::Due => "due",
            BatchedState::Batched => "batched",
            BatchedState::Paid => "paid",
            BatchedState::Failed => "failed",
            BatchedState::Reissued => "reissued",
            BatchedState::Cancelled => "cancelled",
        }
    }
}

/// One payout's place in the batches.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PayoutStatusRow {
    /// The payout.
    pub payout_id: String,
    /// What it settles.
    pub source: SourceKind,
    /// Its fund.
    pub fund: Fund,
    /// Amount.
    pub amount_fen: Fen,
    /// The payee's name.
    pub payee: String,
    /// The account, masked (`cash` for cash).
    pub account_masked: String,
    /// The batch it is (or was last) in.
    pub batch_id: Option<String>,
    /// Where it stands.
    pub state: BatchedState,
    /// The failed payout it re-issues.
    pub reissue_of: Option<String>,
    /// The payout that re-issues it.
    pub reissued_as: Option<String>,
    /// The bank's booking day.
    pub value_date: Option<NaiveDate>,
    /// The bank's reason for a failure.
    pub reason: Option<String>,
}

crate::view_row_impl!(
    PayoutStatusRow,
    PayoutStatus,
    parent = |r| fund_code(r.fund).to_string(),
    tag = |r| r.state.as_str().to_string()
);

/// The key of a batch's row.
pub fn batch_key(batch_id: &str) -> RowKey {
    RowKey::new(RowKind::BatchRecon, batch_id)
}

/// The key of a payout's status row.
pub fn status_key(payout_id: &str) -> RowKey {
    RowKey::new(RowKind::PayoutStatus, payout_id)
}

pub(crate) fn keys(ev: &Recorded, out: &mut Vec<RowKey>) {
    let CaseEvent::PayoutBatch(e) = &ev.event else {
        return;
    };
    out.push(batch_key(&ev.aggregate_id));
    use PayoutBatchEvent as Ev;
    match e {
        Ev::BatchDrafted { lines, .. } => {
            out.extend(lines.iter().map(|l| status_key(l.payout_id.as_str())));
        }
        Ev::BatchDiscarded { payout_ids, .. } => {
            out.extend(payout_ids.iter().map(|id| status_key(id.as_str())));
        }
        Ev::BankResultsRecorded { outcomes, .. } => {
            out.extend(outcomes.iter().map(|o| status_key(o.payout_id.as_str())));
        }
        Ev::PayoutReissued {
            payout_id, line, ..
        } => {
            out.push(status_key(payout_id.as_str()));
            out.push(status_key(line.payout_id.as_str()));
        }
        Ev::PayoutCancelled { payout_id, .. } => out.push(status_key(payout_id.as_str())),
        _ => {}
    }
}

fn status_of(line: &PayoutLine, batch_id: Option<&str>, state: BatchedState) -> PayoutStatusRow {
    PayoutStatusRow {
        payout_id: line.payout_id.to_string(),
        source: line.source,
        fund: line.fund,
        amount_fen: line.amount_fen,
        payee: line.payee.to_string(),
        account_masked: match &line.account {
            PayeeAccount::Bank { card, .. } => card.masked(),
            PayeeAccount::Cash => "cash".to_string(),
        },
        batch_id: batch_id.map(str::to_string),
        state,
        reissue_of: None,
        reissued_as: None,
        value_date: None,
        reason: None,
    }
}

fn batch_row<'a>(
    rows: &'a mut RowSet,
    batch_id: &str,
) -> Result<&'a mut BatchReconRow, ProjectionError> {
    rows.get_mut::<BatchReconRow>(&batch_key(batch_id))?
        .ok_or_else(|| ProjectionError::CorruptRow {
            kind: "batch_recon",
            message: format!("batch {batch_id} has events before its draft"),
        })
}

fn status_row<'a>(
    rows: &'a mut RowSet,
    payout_id: &str,
) -> Result<&'a mut PayoutStatusRow, ProjectionError> {
    rows.get_mut::<PayoutStatusRow>(&status_key(payout_id))?
        .ok_or_else(|| ProjectionError::CorruptRow {
            kind: "payout_status",
            message: format!("payout {payout_id} was never batched"),
        })
}

/// Moves `amount` from one of a batch's columns to another (asserted: a
/// line leaves a column only with what it brought in).
fn shift(from: &mut Fen, to: &mut Fen, amount: Fen) {
    *from = from.sub_asserted(amount, "a batch line leaves a column it is in");
    *to = add(*to, amount);
}

pub(crate) fn apply(ev: &Recorded, rows: &mut RowSet) -> Result<(), ProjectionError> {
    let CaseEvent::PayoutBatch(e) = &ev.event else {
        return Ok(());
    };
    let id = ev.aggregate_id.as_str();
    use PayoutBatchEvent as Ev;
    match e {
        Ev::BatchDrafted {
            fund,
            lines,
            total_fen,
            ..
        } => {
            for line in lines {
                rows.put(
                    &status_key(line.payout_id.as_str()),
                    status_of(line, Some(id), BatchedState::Batched),
                )?;
            }
            rows.put(
                &batch_key(id),
                BatchReconRow {
                    batch_id: id.to_string(),
                    fund: *fund,
                    state: "drafted".into(),
                    lines: lines.len() as u64,
                    expected_fen: *total_fen,
                    paid_fen: Fen::ZERO,
                    failed_fen: Fen::ZERO,
                    reissued_fen: Fen::ZERO,
                    cancelled_fen: Fen::ZERO,
                    pending_fen: *total_fen,
                    signers: Vec::new(),
                    exports: Vec::new(),
                    result_files: Vec::new(),
                    exceptions: Vec::new(),
                },
            )
        }
        Ev::BankResultsRecorded {
            sha256,
            outcomes,
            exceptions,
            ..
        } => apply_results(rows, id, sha256.as_str(), outcomes, exceptions),
        Ev::PayoutReissued {
            payout_id, line, ..
        } => {
            let old = status_row(rows, payout_id.as_str())?;
            old.state = BatchedState::Reissued;
            old.reissued_as = Some(line.payout_id.to_string());
            let mut new = status_of(line, None, BatchedState::Due);
            new.reissue_of = Some(payout_id.to_string());
            rows.put(&status_key(line.payout_id.as_str()), new)?;
            let b = batch_row(rows, id)?;
            shift(&mut b.failed_fen, &mut b.reissued_fen, line.amount_fen);
            Ok(())
        }
        Ev::PayoutCancelled {
            payout_id,
            amount_fen,
            ..
        } => {
            status_row(rows, payout_id.as_str())?.state = BatchedState::Cancelled;
            let b = batch_row(rows, id)?;
            shift(&mut b.failed_fen, &mut b.cancelled_fen, *amount_fen);
            Ok(())
        }
        other => apply_state(rows, id, other),
    }
}

fn apply_results(
    rows: &mut RowSet,
    id: &str,
    sha256: &str,
    outcomes: &[domain::finance::batch::LineOutcome],
    exceptions: &[ResultException],
) -> Result<(), ProjectionError> {
    for o in outcomes {
        let s = status_row(rows, o.payout_id.as_str())?;
        s.state = if o.paid {
            BatchedState::Paid
        } else {
            BatchedState::Failed
        };
        s.value_date = Some(o.value_date);
        s.reason = o.reason.as_ref().map(|r| r.to_string());
    }
    let b = batch_row(rows, id)?;
    b.result_files.push(sha256.to_string());
    for o in outcomes {
        let (pending, paid, failed) = (&mut b.pending_fen, &mut b.paid_fen, &mut b.failed_fen);
        shift(pending, if o.paid { paid } else { failed }, o.amount_fen);
    }
    b.exceptions
        .extend(exceptions.iter().map(|e| ExceptionRecord {
            file: sha256.to_string(),
            exception: e.clone(),
        }));
    Ok(())
}

fn apply_state(rows: &mut RowSet, id: &str, e: &PayoutBatchEvent) -> Result<(), ProjectionError> {
    use PayoutBatchEvent as Ev;
    if let Ev::BatchDiscarded { payout_ids, .. } = e {
        // Due again, in no batch.
        for p in payout_ids {
            let s = status_row(rows, p.as_str())?;
            s.state = BatchedState::Due;
            s.batch_id = None;
        }
    }
    let b = batch_row(rows, id)?;
    match e {
        Ev::BatchLocked { .. } => b.state = "locked".into(),
        Ev::BatchSigned {
            signer,
            signatures,
            required,
            ..
        } => {
            b.signers.push(signer.to_string());
            if signatures >= required {
                b.state = "authorised".into();
            }
        }
        Ev::BatchDiscarded { .. } => b.state = "discarded".into(),
        Ev::BatchExported {
            format,
            sha256,
            exported_by,
            exported_at,
            ..
        } => {
            b.state = "exported".into();
            b.exports.push(ExportRecord {
                format: serde_json::to_value(format)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                sha256: sha256.to_string(),
                exported_by: exported_by.to_string(),
                exported_at: exported_at.to_rfc3339(),
            });
        }
        Ev::BatchClosed { .. } => b.state = "closed".into(),
        _ => {}
    }
    Ok(())
}

/// One fund's reconciliation: its batches summed (discarded ones left out).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FundRecon {
    /// Batches.
    pub batches: u64,
    /// Σ expected.
    pub expected_fen: Fen,
    /// Σ paid.
    pub paid_fen: Fen,
    /// Σ failed, not followed up.
    pub failed_fen: Fen,
    /// Σ re-issued.
    pub reissued_fen: Fen,
    /// Σ cancelled.
    pub cancelled_fen: Fen,
    /// Σ pending.
    pub pending_fen: Fen,
    /// Σ exceptions.
    pub exceptions: u64,
}

impl FundRecon {
    /// Sums a fund's batch rows.
    pub fn of<'a>(rows: impl IntoIterator<Item = &'a BatchReconRow>) -> FundRecon {
        let mut f = FundRecon::default();
        for r in rows.into_iter().filter(|r| r.state != "discarded") {
            f.batches += 1;
            f.expected_fen = add(f.expected_fen, r.expected_fen);
            f.paid_fen = add(f.paid_fen, r.paid_fen);
            f.failed_fen = add(f.failed_fen, r.failed_fen);
            f.reissued_fen = add(f.reissued_fen, r.reissued_fen);
            f.cancelled_fen = add(f.cancelled_fen, r.cancelled_fen);
            f.pending_fen = add(f.pending_fen, r.pending_fen);
            f.exceptions += r.exceptions.len() as u64;
        }
        f
    }
}
