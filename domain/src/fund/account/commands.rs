//! What finance staff can ask of a fund account: record money appropriated
//! into the fund, and reverse an appropriation recorded by mistake.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::fund::Fund;
use crate::values::{Code, Fen, OrgName, ShortText};

/// Most appropriations one account may record (reversed ones included: an id
/// stays taken). A fund receives a few appropriations a month.
pub const MAX_APPROPRIATIONS: usize = 100_000;

/// A command to a [`super::FundAccount`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub enum FundAccountCommand {
    /// 资金拨入: money was appropriated into the fund (a higher union's
    /// allocation, a government subsidy, a transfer from the general budget).
    Appropriate {
        /// Unique within the account forever (even after reversal).
        appropriation_id: Code,
        /// The fund the money goes into. The first appropriation fixes the
        /// account's fund; later ones must name the same fund.
        fund: Fund,
        /// More than zero.
        #[serde(deserialize_with = "crate::values::amount")]
        #[cfg_attr(feature = "openapi", schema(schema_with = crate::values::schema::amount))]
        amount_fen: Fen,
        /// Who appropriated it (上级工会, 财政…).
        source: OrgName,
        /// The day the money arrived (not after the day the command is recorded).
        #[serde(deserialize_with = "crate::values::plausible_date")]
        received_on: NaiveDate,
        /// Remark (document number of the allocation notice…).
        note: Option<ShortText>,
    },
    /// 冲销拨款: an appropriation recorded by mistake is reversed, never deleted.
    ReverseAppropriation {
        /// The appropriation.
        appropriation_id: Code,
        /// Why.
        reason: ShortText,
    },
}
