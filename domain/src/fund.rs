//! The funds money comes from. Every payout names one.
//!
//! [`account`] is the fund account aggregate: money appropriated into a fund
//! (拨入) from outside the three kinds of casework, so a fund's balance can be
//! the sum of its events.

pub mod account;

use serde::{Deserialize, Serialize};

use crate::i18n::Lang;

/// A fund that money is drawn from or paid into.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Fund {
    /// 帮扶专项资金: special assistance funds.
    SpecialAssistance,
    /// 互助金: the medical mutual-aid fund.
    MutualAid,
    /// 捐赠资金: one-day-donation money.
    Donation,
    /// 送温暖资金: festival condolence funds.
    Festival,
}

impl Fund {
    /// All funds, in display order.
    pub const ALL: [Fund; 4] = [
        Fund::SpecialAssistance,
        Fund::MutualAid,
        Fund::Donation,
        Fund::Festival,
    ];

    /// The fund's name for people.
    pub fn label(self, lang: Lang) -> &'static str {
        let (zh, en) = match self {
            Fund::SpecialAssistance => ("帮扶专项资金", "special assistance fund"),
            Fund::MutualAid => ("互助金", "mutual-aid fund"),
            Fund::Donation => ("捐赠资金", "donation fund"),
            Fund::Festival => ("送温暖资金", "festival condolence fund"),
        };
        lang.pick(zh, en)
    }
}
