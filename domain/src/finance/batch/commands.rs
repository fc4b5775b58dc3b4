//! What finance staff can ask of a payout batch.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::finance::{PayeeAccount, PayoutId, PayoutLine};
use crate::fund::Fund;
use crate::values::{Code, Fen, ShortText};

/// Most lines one batch may carry (a 20,000-household drive is one batch).
pub const MAX_LINES: usize = 50_000;
/// Most result lines one bank file may carry.
pub const MAX_RESULT_LINES: usize = 60_000;
/// Most signers a batch can require.
pub const MAX_SIGNERS: u8 = 5;

/// Who must authorise a batch: one signer (not the drafter); above
/// `threshold_fen`, `signers_above` distinct signers (none of them the drafter).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SigningRule {
    /// Totals above this need more signers.
    #[serde(deserialize_with = "crate::values::amount")]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::values::schema::amount))]
    pub threshold_fen: Fen,
    /// How many distinct signers above the threshold (1–5).
    pub signers_above: u8,
}

impl Default for SigningRule {
    /// Above 100,000.00 yuan, two signers.
    fn default() -> Self {
        SigningRule {
            threshold_fen: Fen::new(10_000_000).expect("a valid amount"),
            signers_above: 2,
        }
    }
}

impl SigningRule {
    /// Signers a batch of `total` needs.
    pub fn required(&self, total: Fen) -> u8 {
        if total > self.threshold_fen {
            self.signers_above.max(1)
        } else {
            1
        }
    }
}

/// The bank file formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FileFormat {
    /// CSV, UTF-8 with a byte-order mark.
    CsvUtf8,
    /// CSV in GBK.
    CsvGbk,
    /// Office Open XML workbook.
    Xlsx,
}

/// One line of a bank's result file, as read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BankResult {
    /// The line in the file. `bangfu bank import` and the result upload
    /// number it as a spreadsheet does (the heading row is line 1).
    pub line: u32,
    /// The payout id the bank echoed (not necessarily one of this batch).
    pub payout_id: ShortText,
    /// The account the bank paid to (digits; empty for cash).
    pub account: String,
    /// The amount the bank reports.
    #[serde(deserialize_with = "crate::values::amount")]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::values::schema::amount))]
    pub amount_fen: Fen,
    /// 成功 (true) or 失败 (false).
    pub paid: bool,
    /// The bank's reason for a failure.
    pub reason: Option<ShortText>,
    /// The day the bank booked it.
    #[serde(deserialize_with = "crate::values::plausible_date")]
    pub value_date: NaiveDate,
}

/// A command to a [`super::PayoutBatch`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub enum PayoutBatchCommand {
    /// 编制批次: a batch of due payouts of one fund.
    Draft {
        /// The fund every line is paid from.
        fund: Fund,
        /// The payouts (1–50,000, distinct, each above zero, all of `fund`).
        lines: Vec<PayoutLine>,
        /// Who must authorise; the default: above 100,000.00 yuan, two signers.
        signing: Option<SigningRule>,
        /// Remark.
        note: Option<ShortText>,
    },
    /// 锁定: no more changes; ready for authorisation.
    Lock,
    /// 审批签发: one signature (never the drafter's; each signer once).
    Authorise {
        /// Remark.
        note: Option<ShortText>,
    },
    /// 作废: a batch not yet exported is discarded; its payouts are due again.
    Discard {
        /// Why.
        reason: ShortText,
    },
    /// 导出银行文件: a bank file was made from the authorised batch.
    RecordExport {
        /// Its format.
        format: FileFormat,
        /// The column template used.
        template: Code,
        /// SHA-256 of the file, 64 lowercase hex digits.
        sha256: Code,
        /// Lines in the file (must be the batch's).
        lines: u32,
        /// The file's total (must be the batch's).
        #[serde(deserialize_with = "crate::values::amount")]
        #[cfg_attr(feature = "openapi", schema(schema_with = crate::values::schema::amount))]
        total_fen: Fen,
    },
    /// 导入银行回单: the bank's results; the same file twice changes nothing.
    RecordResults {
        /// SHA-256 of the file, 64 lowercase hex digits.
        sha256: Code,
        /// The file's lines.
        results: Vec<BankResult>,
    },
    /// 重新发放: a failed payout becomes a new payout to a corrected account.
    Reissue {
        /// The failed payout.
        payout_id: PayoutId,
        /// The corrected account.
        account: PayeeAccount,
        /// Why.
        reason: ShortText,
    },
    /// 取消发放: a failed payout is cancelled; its money returns to the fund.
    CancelPayout {
        /// The failed payout.
        payout_id: PayoutId,
        /// Why.
        reason: ShortText,
    },
    /// 关闭批次: every line is settled.
    Close,
}
