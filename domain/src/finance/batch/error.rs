//! Why a command to a payout batch was refused: one variant per business
//! rule, each with a stable code (`payout_batch.<rule>`).

use super::commands::{MAX_LINES, MAX_RESULT_LINES, MAX_SIGNERS};
use crate::finance::PayoutId;
use crate::fund::Fund;
use crate::i18n::{ErrorCode, Lang, Localize};

/// A refused command of a [`super::PayoutBatch`].
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum PayoutBatchError {
    /// Draft of a batch that exists.
    #[error("the batch has already been drafted")]
    AlreadyDrafted,
    /// Any other command before the draft.
    #[error("no such batch has been drafted")]
    NotDrafted,
    /// No lines, or more than allowed.
    #[error("a batch has 1 to {MAX_LINES} payouts")]
    LineCount,
    /// The same payout twice.
    #[error("payout {0} appears twice in the batch")]
    DuplicatePayout(PayoutId),
    /// A line of another fund.
    #[error("payout {payout_id} is owed by the {} (the batch pays from the {})", line.label(Lang::En), batch.label(Lang::En))]
    WrongFund {
        /// The payout.
        payout_id: PayoutId,
        /// The line's fund.
        line: Fund,
        /// The batch's.
        batch: Fund,
    },
    /// A zero amount.
    #[error("payout {0} is of zero yuan")]
    ZeroAmount(PayoutId),
    /// A cash payout: it is handed over at a home visit, never sent to the bank.
    #[error("payout {0} is paid in cash at a visit and cannot go to the bank in a batch")]
    CashLine(PayoutId),
    /// A signing rule outside 1–5 signers.
    #[error("a batch needs 1 to {MAX_SIGNERS} signers")]
    SignerCount,
    /// The command does not fit where the batch stands.
    #[error("the batch is {state}: {action} is not possible now")]
    WrongState {
        /// Where it stands.
        state: &'static str,
        /// What was asked.
        action: &'static str,
    },
    /// The drafter signing.
    #[error("the drafter of a batch may not authorise it")]
    DrafterMayNotSign,
    /// A second signature of one person.
    #[error("you have already signed this batch")]
    AlreadySigned,
    /// An export that is not the batch.
    #[error("the file does not match the batch (lines or total differ)")]
    ExportMismatch,
    /// Not a SHA-256.
    #[error("a SHA-256 is 64 lowercase hexadecimal digits")]
    BadSha256,
    /// Too many result lines.
    #[error("a result file has 1 to {MAX_RESULT_LINES} lines")]
    ResultCount,
    /// A payout not in the batch.
    #[error("payout {0} is not in this batch")]
    UnknownPayout(PayoutId),
    /// Follow-up of a line that did not fail.
    #[error("payout {0} has not failed (or has been followed up)")]
    NotFailed(PayoutId),
    /// Close with lines unsettled.
    #[error("{0} payouts are not settled yet")]
    Unsettled(usize),
    /// A total that does not fit.
    #[error("amount overflow")]
    AmountOverflow,
}

impl Localize for PayoutBatchError {
    fn localize(&self, lang: Lang) -> String {
        use PayoutBatchError::*;
        if lang == Lang::En {
            return self.to_string();
        }
        match self {
            AlreadyDrafted => "批次已编制".into(),
            NotDrafted => "批次不存在（尚未编制）".into(),
            LineCount => format!("一个批次含 1 至 {MAX_LINES} 笔发放"),
            DuplicatePayout(id) => format!("发放 {id} 在批次中重复出现"),
            WrongFund {
                payout_id,
                line,
                batch,
            } => format!(
                "发放 {payout_id} 由{}支付，本批次从{}支付",
                line.label(lang),
                batch.label(lang)
            ),
            ZeroAmount(id) => format!("发放 {id} 金额为 0"),
            CashLine(id) => format!("发放 {id} 为入户现金发放，不能编入银行批次"),
            SignerCount => format!("签发人数须为 1 至 {MAX_SIGNERS} 人"),
            WrongState { state, action } => {
                format!(
                    "批次当前状态为「{}」，不能{}",
                    zh_state(state),
                    zh_action(action)
                )
            }
            DrafterMayNotSign => "编制人不能签发自己编制的批次".into(),
            AlreadySigned => "您已签发过本批次".into(),
            ExportMismatch => "导出文件与批次不符（笔数或合计不同）".into(),
            BadSha256 => "SHA-256 须为 64 位小写十六进制".into(),
            ResultCount => format!("回单须含 1 至 {MAX_RESULT_LINES} 行"),
            UnknownPayout(id) => format!("发放 {id} 不在本批次中"),
            NotFailed(id) => format!("发放 {id} 未失败（或已处理）"),
            Unsettled(n) => format!("尚有 {n} 笔发放未结清"),
            AmountOverflow => "金额超出可表示的范围".into(),
        }
    }
}

fn zh_state(state: &str) -> &'static str {
    match state {
        "drafted" => "已编制",
        "locked" => "已锁定",
        "authorised" => "已签发",
        "exported" => "已导出",
        "closed" => "已关闭",
        _ => "已作废",
    }
}

fn zh_action(action: &str) -> &'static str {
    match action {
        "lock" => "锁定",
        "authorise" => "签发",
        "discard" => "作废",
        "export" => "导出",
        "record results" => "导入回单",
        "follow up" => "处理失败发放",
        _ => "关闭",
    }
}

impl ErrorCode for PayoutBatchError {
    fn code(&self) -> &'static str {
        use PayoutBatchError::*;
        match self {
            AlreadyDrafted => "payout_batch.already_drafted",
            NotDrafted => "payout_batch.not_drafted",
            LineCount => "payout_batch.line_count",
            DuplicatePayout(_) => "payout_batch.duplicate_payout",
            WrongFund { .. } => "payout_batch.wrong_fund",
            ZeroAmount(_) => "payout_batch.zero_amount",
            CashLine(_) => "payout_batch.cash_line",
            SignerCount => "payout_batch.signer_count",
            WrongState { .. } => "payout_batch.wrong_state",
            DrafterMayNotSign => "payout_batch.drafter_may_not_sign",
            AlreadySigned => "payout_batch.already_signed",
            ExportMismatch => "payout_batch.export_mismatch",
            BadSha256 => "payout_batch.bad_sha256",
            ResultCount => "payout_batch.result_count",
            UnknownPayout(_) => "payout_batch.unknown_payout",
            NotFailed(_) => "payout_batch.not_failed",
            Unsettled(_) => "payout_batch.unsettled",
            AmountOverflow => "payout_batch.amount_overflow",
        }
    }
}
