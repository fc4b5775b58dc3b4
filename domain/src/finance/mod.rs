//! Finance (财务): payouts, payout batches and accounting periods.
//!
//! - A **payout** (发放款项) is one approved obligation to pay one person:
//!   a hardship grant, a claim's subsidy, a designated-beneficiary
//!   allocation, cash handed over at a visit, or the re-issue of a failed
//!   payout. Its id is derived from its source ([`payout_id`]), so the same
//!   obligation is always the same payout.
//! - A **payout batch** ([`batch::PayoutBatch`], 发放批次) is what finance
//!   sends to the bank: drafted from due payouts, locked, authorised by
//!   people other than the drafter, exported, reconciled against the bank's
//!   result file, and closed when every line is settled.
//! - An **accounting period** ([`period::AccountingPeriod`], 会计期间) is a
//!   month that can be closed (月结); entries dated into a closed month are
//!   refused by the store ([`crate::money::Movement::InPeriod`]).
//!
//! The store enforces what spans aggregates: a payout is batched once
//! ([`crate::reservation::Scope::PayoutBatched`]) and paid once, ever
//! ([`crate::reservation::Scope::PayoutPaid`]); a cancelled payout's money
//! goes back to its fund ([`crate::money`]).

pub mod batch;
pub mod period;

use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Deserializer, Serialize};

use crate::fund::Fund;
use crate::i18n::Lang;
use crate::values::{BankCard, Fen, OrgName, PersonName, ShortText, ValueError};

/// Longest payout id, in bytes.
pub const MAX_PAYOUT_ID_LEN: usize = 200;

/// A payout's id: `grant:{file}:{grant}`, `claim:{claim}`,
/// `allocation:{campaign}:{allocation}`, `visit:{file}:{visit}`; a re-issue
/// appends `~r{n}`. ASCII letters, digits and `._/:~-`, at most
/// [`MAX_PAYOUT_ID_LEN`] bytes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct PayoutId(String);

impl PayoutId {
    /// Parses a payout id.
    pub fn parse(s: &str) -> Result<PayoutId, ValueError> {
        let ok = !s.is_empty()
            && s.len() <= MAX_PAYOUT_ID_LEN
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._/:~-".contains(&b));
        if ok {
            Ok(PayoutId(s.to_string()))
        } else {
            Err(ValueError::BadFormat {
                what: "payout_id",
                expected: "1-200 characters of A-Z a-z 0-9 . _ / : ~ -",
            })
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id of the next re-issue: `{original}~r1`, then `~r2`, …
    pub fn next_reissue(&self) -> PayoutId {
        let n = match self.0.split_once("~r") {
            Some((_, n)) => n.parse::<u32>().unwrap_or(0).saturating_add(1),
            None => 1,
        };
        PayoutId(format!("{}~r{n}", self.original().0))
    }

    /// The payout this one ultimately re-issues (itself if none).
    pub fn original(&self) -> PayoutId {
        match self.0.split_once("~r") {
            Some((head, _)) => PayoutId(head.to_string()),
            None => self.clone(),
        }
    }
}

impl fmt::Display for PayoutId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for PayoutId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        PayoutId::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Where a payout comes from: the deterministic source of its id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PayoutSource<'a> {
    /// A hardship file's grant.
    Grant {
        /// The file.
        file_id: &'a str,
        /// The grant.
        grant_id: &'a str,
    },
    /// A mutual-aid claim's subsidy.
    Claim {
        /// The claim.
        claim_id: &'a str,
    },
    /// A campaign's allocation to a designated beneficiary.
    Allocation {
        /// The campaign.
        campaign_id: &'a str,
        /// The allocation.
        allocation_id: &'a str,
    },
}

/// The payout id of a source (the payout ledger's ids).
pub fn payout_id(source: &PayoutSource<'_>) -> String {
    match source {
        PayoutSource::Grant { file_id, grant_id } => format!("grant:{file_id}:{grant_id}"),
        PayoutSource::Claim { claim_id } => format!("claim:{claim_id}"),
        PayoutSource::Allocation {
            campaign_id,
            allocation_id,
        } => format!("allocation:{campaign_id}:{allocation_id}"),
    }
}

/// The keys a payout paid outside a batch takes (a grant recorded paid or
/// handed over in cash at a visit, a claim's subsidy marked paid): its
/// `payout_batched` key, so no batch can take it (and it cannot be paid
/// directly while a live batch holds it), and its `payout_paid` key, as a
/// bank result "paid" takes it — paid once, ever, whichever way.
pub fn paid_directly(payout_id: &str) -> Vec<crate::reservation::Reservation> {
    use crate::reservation::{Reservation, Scope};
    [Scope::PayoutBatched, Scope::PayoutPaid]
        .into_iter()
        .map(|scope| Reservation::Take {
            scope,
            key: payout_id.to_string(),
        })
        .collect()
}

/// The kind of obligation a payout settles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// A hardship grant (帮扶发放).
    Grant,
    /// A claim's subsidy (大病补助).
    Claim,
    /// A donation allocation (捐款拨付).
    Allocation,
}

impl SourceKind {
    /// For people.
    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            SourceKind::Grant => lang.pick("帮扶发放", "hardship grant"),
            SourceKind::Claim => lang.pick("大病补助", "claim subsidy"),
            SourceKind::Allocation => lang.pick("捐款拨付", "donation allocation"),
        }
    }
}

/// Where the money goes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum PayeeAccount {
    /// A bank card.
    Bank {
        /// The card (Luhn-checked).
        card: BankCard,
        /// The bank that holds it (开户行), when known.
        bank: Option<OrgName>,
    },
    /// Cash, handed over against a signature.
    Cash,
}

impl PayeeAccount {
    /// The card's digits, or `None` for cash.
    pub fn card(&self) -> Option<&str> {
        match self {
            PayeeAccount::Bank { card, .. } => Some(card.expose()),
            PayeeAccount::Cash => None,
        }
    }
}

/// One payout as a batch carries it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PayoutLine {
    /// The payout.
    pub payout_id: PayoutId,
    /// What it settles.
    pub source: SourceKind,
    /// The payee (收款人).
    pub payee: PersonName,
    /// Where the money goes.
    pub account: PayeeAccount,
    /// More than zero.
    #[serde(deserialize_with = "crate::values::amount")]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::values::schema::amount))]
    pub amount_fen: Fen,
    /// The fund that owes it.
    pub fund: Fund,
    /// What for (用途), printed on the bank file.
    pub purpose: ShortText,
}

/// A month, `YYYY-MM`: the unit of period close.
pub fn month_of(date: NaiveDate) -> String {
    format!("{:04}-{:02}", date.year(), date.month())
}
