//! Summaries of the finance aggregates: a payout batch and an accounting
//! period at a glance (the `Summary` of `GET /v1/…/{id}` and lists).

use domain::finance::batch::{LineStatus, PayoutBatch};
use domain::finance::period::AccountingPeriod;
use domain::fund::Fund;
use domain::i18n::Lang;
use domain::values::Fen;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::views::{Summarise, Summary};

/// 发放批次摘要: a payout batch at a glance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BatchSummary {
    /// The batch id.
    pub aggregate_id: String,
    /// Its version.
    pub version: usize,
    /// `drafted`, `locked`, `authorised`, `exported`, `closed`, `discarded`.
    pub state: String,
    /// The fund it pays from.
    pub fund: Option<Fund>,
    /// Lines.
    pub lines: usize,
    /// Total.
    pub total_fen: Fen,
    /// Signatures given.
    pub signatures: usize,
    /// Signatures needed.
    pub signers_required: u8,
    /// Lines paid.
    pub paid: usize,
    /// Lines failed and not yet followed up.
    pub failed: usize,
    /// Lines the bank has not reported.
    pub pending: usize,
}

/// 会计期间摘要.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PeriodSummary {
    /// The month.
    pub aggregate_id: String,
    /// Its version.
    pub version: usize,
    /// Closed (月结).
    pub closed: bool,
    /// For people.
    pub label: String,
}

impl Summarise for PayoutBatch {
    fn summarise(&self, id: &str, version: usize, _lang: Lang) -> Summary {
        let count = |f: fn(&LineStatus) -> bool| self.lines().filter(|(_, s)| f(s)).count();
        Summary::PayoutBatch(BatchSummary {
            aggregate_id: id.to_string(),
            version,
            state: self.state().as_str().to_string(),
            fund: self.fund(),
            lines: self.lines().count(),
            total_fen: self.total_fen(),
            signatures: self.signers().len(),
            signers_required: self.signers_required(),
            paid: count(|s| *s == LineStatus::Paid),
            failed: count(|s| *s == LineStatus::Failed),
            pending: count(|s| *s == LineStatus::Pending),
        })
    }
}

impl Summarise for AccountingPeriod {
    fn summarise(&self, id: &str, version: usize, lang: Lang) -> Summary {
        Summary::AccountingPeriod(PeriodSummary {
            aggregate_id: id.to_string(),
            version,
            closed: self.closed(),
            label: if self.closed() {
                lang.pick("已月结", "closed")
            } else {
                lang.pick("未结账", "open")
            }
            .to_string(),
        })
    }
}
