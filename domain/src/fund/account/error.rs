//! Why a command to a fund account was refused: one variant per business
//! rule, each with a stable code (`fund_account.<rule>`).

use chrono::NaiveDate;

use super::commands::MAX_APPROPRIATIONS;
use crate::fund::Fund;
use crate::i18n::{ErrorCode, Lang, Localize};
use crate::values::Code;

/// A refused command of a [`super::FundAccount`].
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum FundAccountError {
    /// A zero amount.
    #[error("the amount must be above zero")]
    AmountMustBePositive,
    /// Money that arrives after the day the command is recorded.
    #[error("the appropriation is dated {received_on}, in the future")]
    ReceivedInFuture {
        /// The date given.
        received_on: NaiveDate,
    },
    /// An appropriation id already used (reversed ones included).
    #[error("appropriation {appropriation_id} has already been recorded")]
    DuplicateAppropriation {
        /// The id.
        appropriation_id: Code,
    },
    /// An appropriation into another fund than the account's.
    #[error("this account holds the {} (not the {})", account.label(Lang::En), given.label(Lang::En))]
    FundMismatch {
        /// The account's fund, fixed by its first appropriation.
        account: Fund,
        /// The fund the command named.
        given: Fund,
    },
    /// More than [`MAX_APPROPRIATIONS`] appropriations.
    #[error("the account already has the most appropriations allowed ({max})", max = MAX_APPROPRIATIONS)]
    TooManyAppropriations,
    /// A reversal of an appropriation never recorded.
    #[error("appropriation {appropriation_id} has not been recorded")]
    UnknownAppropriation {
        /// The id.
        appropriation_id: Code,
    },
    /// A reversal of an appropriation already reversed.
    #[error("appropriation {appropriation_id} has already been reversed")]
    AlreadyReversed {
        /// The id.
        appropriation_id: Code,
    },
    /// The account's total would not be a representable amount.
    #[error("amount overflow")]
    AmountOverflow,
}

impl Localize for FundAccountError {
    fn localize(&self, lang: Lang) -> String {
        use FundAccountError::*;
        if lang == Lang::En {
            return self.to_string();
        }
        match self {
            AmountMustBePositive => "金额必须大于 0".into(),
            ReceivedInFuture { received_on } => format!("到账日期 {received_on} 晚于今天"),
            DuplicateAppropriation { appropriation_id } => {
                format!("拨款编号 {appropriation_id} 已登记（已冲销的编号也不能再用）")
            }
            FundMismatch { account, given } => format!(
                "本账户为{}，不能登记{}的拨款",
                account.label(lang),
                given.label(lang)
            ),
            TooManyAppropriations => {
                format!("本账户的拨款已达上限（{MAX_APPROPRIATIONS} 笔）")
            }
            UnknownAppropriation { appropriation_id } => {
                format!("拨款编号 {appropriation_id} 未登记")
            }
            AlreadyReversed { appropriation_id } => {
                format!("拨款 {appropriation_id} 已冲销")
            }
            AmountOverflow => "金额超出可表示的范围".into(),
        }
    }
}

impl ErrorCode for FundAccountError {
    fn code(&self) -> &'static str {
        use FundAccountError::*;
        match self {
            AmountMustBePositive => "fund_account.amount_must_be_positive",
            ReceivedInFuture { .. } => "fund_account.received_in_future",
            DuplicateAppropriation { .. } => "fund_account.duplicate_appropriation",
            FundMismatch { .. } => "fund_account.fund_mismatch",
            TooManyAppropriations => "fund_account.too_many_appropriations",
            UnknownAppropriation { .. } => "fund_account.unknown_appropriation",
            AlreadyReversed { .. } => "fund_account.already_reversed",
            AmountOverflow => "fund_account.amount_overflow",
        }
    }
}
