//! What happened to a payout batch. Each event carries what a view needs
//! (fund, amounts, payout ids), so views read no earlier event.

use chrono::{DateTime, NaiveDate, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};

use super::commands::FileFormat;
use crate::finance::{PayoutId, PayoutLine, SourceKind};
use crate::fund::Fund;
use crate::i18n::Lang;
use crate::reservation::{Reservation, Reserves, Scope};
use crate::values::{Code, Fen, ShortText};

/// How the bank settled one line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineOutcome {
    /// The payout.
    pub payout_id: PayoutId,
    /// What it settles.
    pub source: SourceKind,
    /// Its fund.
    pub fund: Fund,
    /// Its amount.
    pub amount_fen: Fen,
    /// Paid (成功) or failed (失败).
    pub paid: bool,
    /// The bank's reason for a failure.
    pub reason: Option<ShortText>,
    /// The day the bank booked it.
    pub value_date: NaiveDate,
}

/// Something in a result file that does not settle a line as it stands.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ResultException {
    /// A line naming no payout of this batch.
    UnknownLine {
        /// File line.
        line: u32,
        /// What the bank named.
        payout_id: String,
    },
    /// A payout named a second time in the same file.
    DuplicateLine {
        /// File line.
        line: u32,
        /// The payout.
        payout_id: String,
    },
    /// An amount other than the payout's.
    AmountMismatch {
        /// File line.
        line: u32,
        /// The payout.
        payout_id: String,
        /// The payout's amount.
        expected_fen: Fen,
        /// The bank's.
        reported_fen: Fen,
    },
    /// An account other than the payout's.
    AccountMismatch {
        /// File line.
        line: u32,
        /// The payout.
        payout_id: String,
    },
    /// A payout reported paid again (an earlier file already did).
    PaidTwice {
        /// File line.
        line: u32,
        /// The payout.
        payout_id: String,
    },
    /// A result contradicting an earlier file's (failed, then paid, …).
    Contradicts {
        /// File line.
        line: u32,
        /// The payout.
        payout_id: String,
    },
    /// A payout still pending that the file does not name.
    MissingFromFile {
        /// The payout.
        payout_id: String,
    },
    /// A result arriving after the batch was closed.
    AfterClose {
        /// File line.
        line: u32,
        /// What the bank named.
        payout_id: String,
    },
}

impl ResultException {
    /// Stable kind name.
    pub fn kind(&self) -> &'static str {
        use ResultException::*;
        match self {
            UnknownLine { .. } => "unknown_line",
            DuplicateLine { .. } => "duplicate_line",
            AmountMismatch { .. } => "amount_mismatch",
            AccountMismatch { .. } => "account_mismatch",
            PaidTwice { .. } => "paid_twice",
            Contradicts { .. } => "contradicts",
            MissingFromFile { .. } => "missing_from_file",
            AfterClose { .. } => "after_close",
        }
    }

    /// For people.
    pub fn label(&self, lang: Lang) -> &'static str {
        use ResultException::*;
        match self {
            UnknownLine { .. } => lang.pick("回单行不属于本批次", "line not in the batch"),
            DuplicateLine { .. } => lang.pick("重复行", "duplicate line"),
            AmountMismatch { .. } => lang.pick("金额不符", "amount mismatch"),
            AccountMismatch { .. } => lang.pick("账号不符", "account mismatch"),
            PaidTwice { .. } => lang.pick("重复支付", "reported paid twice"),
            Contradicts { .. } => lang.pick("与先前回单矛盾", "contradicts an earlier file"),
            MissingFromFile { .. } => lang.pick("回单缺少该笔", "missing from the file"),
            AfterClose { .. } => lang.pick("批次关闭后收到回单", "result after the batch closed"),
        }
    }

    /// The payout (or text) the exception names.
    pub fn payout_id(&self) -> &str {
        use ResultException::*;
        match self {
            UnknownLine { payout_id, .. }
            | DuplicateLine { payout_id, .. }
            | AmountMismatch { payout_id, .. }
            | AccountMismatch { payout_id, .. }
            | PaidTwice { payout_id, .. }
            | Contradicts { payout_id, .. }
            | MissingFromFile { payout_id }
            | AfterClose { payout_id, .. } => payout_id,
        }
    }
}

/// An event of a [`super::PayoutBatch`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum PayoutBatchEvent {
    /// 已编制.
    BatchDrafted {
        /// The fund.
        fund: Fund,
        /// The payouts.
        lines: Vec<PayoutLine>,
        /// Their total.
        total_fen: Fen,
        /// Distinct signers needed.
        signers_required: u8,
        /// Remark.
        note: Option<ShortText>,
        /// Who.
        drafted_by: Code,
        /// When.
        drafted_at: DateTime<Utc>,
    },
    /// 已锁定.
    BatchLocked {
        /// Who.
        locked_by: Code,
        /// When.
        locked_at: DateTime<Utc>,
    },
    /// 已签发 (one signature).
    BatchSigned {
        /// The signer.
        signer: Code,
        /// Signatures so far, this one included.
        signatures: u8,
        /// Signatures needed.
        required: u8,
        /// Remark.
        note: Option<ShortText>,
        /// When.
        signed_at: DateTime<Utc>,
    },
    /// 已作废: its payouts are due again.
    BatchDiscarded {
        /// The payouts released.
        payout_ids: Vec<PayoutId>,
        /// Why.
        reason: ShortText,
        /// Who.
        discarded_by: Code,
        /// When.
        discarded_at: DateTime<Utc>,
    },
    /// 已导出银行文件.
    BatchExported {
        /// Format.
        format: FileFormat,
        /// Column template.
        template: Code,
        /// SHA-256 of the file.
        sha256: Code,
        /// Lines.
        lines: u32,
        /// Total.
        total_fen: Fen,
        /// Who.
        exported_by: Code,
        /// When.
        exported_at: DateTime<Utc>,
    },
    /// 已导入银行回单.
    BankResultsRecorded {
        /// SHA-256 of the file.
        sha256: Code,
        /// Lines settled by this file.
        outcomes: Vec<LineOutcome>,
        /// What did not match.
        exceptions: Vec<ResultException>,
        /// Who.
        recorded_by: Code,
        /// When.
        recorded_at: DateTime<Utc>,
    },
    /// 已重新发放: a new payout, due for a later batch.
    PayoutReissued {
        /// The failed payout.
        payout_id: PayoutId,
        /// The new payout.
        line: PayoutLine,
        /// Why.
        reason: ShortText,
        /// Who.
        reissued_by: Code,
        /// When.
        reissued_at: DateTime<Utc>,
    },
    /// 已取消发放: the money returns to the fund.
    PayoutCancelled {
        /// The failed payout.
        payout_id: PayoutId,
        /// What it settled.
        source: SourceKind,
        /// Its fund.
        fund: Fund,
        /// Its amount.
        amount_fen: Fen,
        /// Why.
        reason: ShortText,
        /// The day it is booked.
        booked_on: NaiveDate,
        /// Who.
        cancelled_by: Code,
        /// When.
        cancelled_at: DateTime<Utc>,
    },
    /// 已关闭.
    BatchClosed {
        /// Paid in all.
        paid_fen: Fen,
        /// Re-issued or cancelled in all.
        unpaid_fen: Fen,
        /// Who.
        closed_by: Code,
        /// When.
        closed_at: DateTime<Utc>,
    },
}

impl PayoutBatchEvent {
    /// Every event type.
    pub const EVENT_TYPES: [&'static str; 9] = [
        "BatchDrafted",
        "BatchLocked",
        "BatchSigned",
        "BatchDiscarded",
        "BatchExported",
        "BankResultsRecorded",
        "PayoutReissued",
        "PayoutCancelled",
        "BatchClosed",
    ];

    /// The stable type name (also the JSON tag).
    pub fn type_name(&self) -> &'static str {
        use PayoutBatchEvent::*;
        match self {
            BatchDrafted { .. } => "BatchDrafted",
            BatchLocked { .. } => "BatchLocked",
            BatchSigned { .. } => "BatchSigned",
            BatchDiscarded { .. } => "BatchDiscarded",
            BatchExported { .. } => "BatchExported",
            BankResultsRecorded { .. } => "BankResultsRecorded",
            PayoutReissued { .. } => "PayoutReissued",
            PayoutCancelled { .. } => "PayoutCancelled",
            BatchClosed { .. } => "BatchClosed",
        }
    }

    /// Short name of what happened.
    pub fn label(&self, lang: Lang) -> &'static str {
        use PayoutBatchEvent::*;
        let (zh, en) = match self {
            BatchDrafted { .. } => ("已编制发放批次", "batch drafted"),
            BatchLocked { .. } => ("批次已锁定", "batch locked"),
            BatchSigned { .. } => ("批次已签发", "batch signed"),
            BatchDiscarded { .. } => ("批次已作废", "batch discarded"),
            BatchExported { .. } => ("已导出银行文件", "bank file exported"),
            BankResultsRecorded { .. } => ("已导入银行回单", "bank results recorded"),
            PayoutReissued { .. } => ("已重新发放", "payout re-issued"),
            PayoutCancelled { .. } => ("已取消发放", "payout cancelled"),
            BatchClosed { .. } => ("批次已关闭", "batch closed"),
        };
        lang.pick(zh, en)
    }

    /// One line for `bangfu history`.
    pub fn describe(&self, lang: Lang) -> String {
        use PayoutBatchEvent::*;
        let zh = lang == Lang::Zh;
        match self {
            BatchDrafted {
                lines, total_fen, ..
            } if zh => format!("{} 笔，合计 {total_fen} 元", lines.len()),
            BatchDrafted {
                lines, total_fen, ..
            } => format!("{} payouts, {total_fen} yuan in all", lines.len()),
            BatchSigned {
                signer,
                signatures,
                required,
                ..
            } => format!("{signer} ({signatures}/{required})"),
            BatchExported { sha256, .. } => format!("SHA-256 {sha256}"),
            BankResultsRecorded {
                outcomes,
                exceptions,
                ..
            } if zh => format!("{} 笔结果，{} 项异常", outcomes.len(), exceptions.len()),
            BankResultsRecorded {
                outcomes,
                exceptions,
                ..
            } => format!(
                "{} results, {} exceptions",
                outcomes.len(),
                exceptions.len()
            ),
            PayoutReissued {
                payout_id, line, ..
            } => format!("{payout_id} → {}", line.payout_id),
            PayoutCancelled {
                payout_id,
                amount_fen,
                ..
            } => format!("{payout_id}: {amount_fen}"),
            other => other.label(lang).to_string(),
        }
    }
}

impl DomainEvent for PayoutBatchEvent {
    fn event_type(&self) -> String {
        self.type_name().to_string()
    }

    fn event_version(&self) -> String {
        crate::upcast::current_version(super::TYPE, &self.event_type()).to_string()
    }
}

/// A payout is batched once (released only by discarding its batch) and
/// paid once, ever.
impl Reserves for PayoutBatchEvent {
    fn reservations(&self) -> Vec<Reservation> {
        let take = |scope, id: &PayoutId| Reservation::Take {
            scope,
            key: id.as_str().to_string(),
        };
        match self {
            PayoutBatchEvent::BatchDrafted { lines, .. } => lines
                .iter()
                .map(|l| take(Scope::PayoutBatched, &l.payout_id))
                .collect(),
            PayoutBatchEvent::BatchDiscarded { payout_ids, .. } => payout_ids
                .iter()
                .map(|id| Reservation::Release {
                    scope: Scope::PayoutBatched,
                    key: id.as_str().to_string(),
                })
                .collect(),
            PayoutBatchEvent::BankResultsRecorded { outcomes, .. } => outcomes
                .iter()
                .filter(|o| o.paid)
                .map(|o| take(Scope::PayoutPaid, &o.payout_id))
                .collect(),
            _ => Vec::new(),
        }
    }
}
