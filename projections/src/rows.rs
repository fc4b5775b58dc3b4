//! The storage model of every view: rows addressed by a kind and a key,
//! stored as JSON documents beside the events.
//!
//! A view is a set of row kinds ([`RowKind`]); a row is one serde struct
//! ([`Row`]). The store only sees `(kind, key, parent, tag, doc, position)`:
//! `parent` groups rows for listing (a plan period's units, a fund's
//! payouts), `tag` is one more filter (a payout's month), `position` is the
//! last event that changed the row. Keeping the storage this plain is what
//! lets the same views live in SQLite today and PostgreSQL later.
//!
//! [`RowSet`] is the in-memory working set a projector applies a batch of
//! events to: the rows the events declared (loaded, or absent), and which of
//! them changed. Touching a row that was not declared is an error, never a
//! silent fresh row, so a projection that forgets a key fails loudly.

use std::collections::BTreeMap;

use domain::fund::Fund;
use serde::{de::DeserializeOwned, Serialize};

use crate::position::LogPosition;
use crate::views::{
    books::{BookAccountRow, BookMeasuresRow, JournalEntryRow},
    campaign::{CampaignRow, CampaignUnitRow},
    funds::{FundBalanceRow, FundMeasuresRow},
    household::HouseholdFileRow,
    ledger::{LedgerPartyRow, PayoutRow},
    plan::{PlanClaimRow, PlanPeriodRow, PlanUnitRow},
    recon::{BatchReconRow, PayoutStatusRow},
    ViewName,
};

/// The kinds of rows, each owned by one view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RowKind {
    /// One hardship file (一户一档).
    HouseholdFile,
    /// One mutual-aid plan period's terms and totals.
    PlanPeriod,
    /// One unit enrolled in a plan period.
    PlanUnit,
    /// One mutual-aid claim, as the plan period counts it.
    PlanClaim,
    /// One payout obligation (grant, claim subsidy, campaign allocation).
    Payout,
    /// Who a hardship file's or designated campaign's payouts go to.
    LedgerParty,
    /// One donation campaign's totals.
    Campaign,
    /// One unit of a donation campaign.
    CampaignUnit,
    /// One fund's inflows and outflows.
    FundBalance,
    /// Which fund each measure of a hardship file draws on.
    FundMeasures,
    /// One payout batch's reconciliation.
    BatchRecon,
    /// One payout's place in the batches.
    PayoutStatus,
    /// One journal entry of the books.
    JournalEntry,
    /// One account of the books (trial-balance line).
    BookAccount,
    /// The books' copy of a file's measure → fund.
    BookMeasures,
}

impl RowKind {
    /// Every kind.
    pub const ALL: [RowKind; 15] = [
        RowKind::HouseholdFile,
        RowKind::PlanPeriod,
        RowKind::PlanUnit,
        RowKind::PlanClaim,
        RowKind::Payout,
        RowKind::LedgerParty,
        RowKind::Campaign,
        RowKind::CampaignUnit,
        RowKind::FundBalance,
        RowKind::FundMeasures,
        RowKind::BatchRecon,
        RowKind::PayoutStatus,
        RowKind::JournalEntry,
        RowKind::BookAccount,
        RowKind::BookMeasures,
    ];

    /// Stable name, as stored in the `kind` column.
    pub fn as_str(self) -> &'static str {
        match self {
            RowKind::HouseholdFile => "household_file",
            RowKind::PlanPeriod => "plan_period",
            RowKind::PlanUnit => "plan_unit",
            RowKind::PlanClaim => "plan_claim",
            RowKind::Payout => "payout",
            RowKind::LedgerParty => "ledger_party",
            RowKind::Campaign => "campaign",
            RowKind::CampaignUnit => "campaign_unit",
            RowKind::FundBalance => "fund_balance",
            RowKind::FundMeasures => "fund_measures",
            RowKind::BatchRecon => "batch_recon",
            RowKind::PayoutStatus => "payout_status",
            RowKind::JournalEntry => "journal_entry",
            RowKind::BookAccount => "book_account",
            RowKind::BookMeasures => "book_measures",
        }
    }

    /// Parses [`RowKind::as_str`].
    pub fn parse(s: &str) -> Option<RowKind> {
        RowKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The view the kind belongs to.
    pub fn view(self) -> ViewName {
        match self {
            RowKind::HouseholdFile => ViewName::HouseholdFile,
            RowKind::PlanPeriod | RowKind::PlanUnit | RowKind::PlanClaim => ViewName::PlanPeriod,
            RowKind::Payout | RowKind::LedgerParty => ViewName::PayoutLedger,
            RowKind::Campaign | RowKind::CampaignUnit => ViewName::Campaign,
            RowKind::FundBalance | RowKind::FundMeasures => ViewName::FundBalances,
            RowKind::BatchRecon | RowKind::PayoutStatus => ViewName::Reconciliation,
            RowKind::JournalEntry | RowKind::BookAccount | RowKind::BookMeasures => ViewName::Books,
        }
    }
}

/// The address of a row: its kind and its key within the kind.
///
/// Keys of child rows join the parent's id and the child's with `|`, which
/// no code-like id (`[A-Za-z0-9._/-]`) contains.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RowKey {
    /// The kind.
    pub kind: RowKind,
    /// The key within the kind.
    pub key: String,
}

impl RowKey {
    /// A key of `kind`.
    pub fn new(kind: RowKind, key: impl Into<String>) -> RowKey {
        RowKey {
            kind,
            key: key.into(),
        }
    }

    /// A child row's key: `parent|child`.
    pub fn child(kind: RowKind, parent: &str, child: &str) -> RowKey {
        RowKey::new(kind, format!("{parent}|{child}"))
    }
}

impl std::fmt::Display for RowKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.kind.as_str(), self.key)
    }
}

/// The stable snake_case name of a fund (as serde spells it).
pub fn fund_code(fund: Fund) -> &'static str {
    match fund {
        Fund::SpecialAssistance => "special_assistance",
        Fund::MutualAid => "mutual_aid",
        Fund::Donation => "donation",
        Fund::Festival => "festival",
    }
}

/// Parses [`fund_code`].
pub fn parse_fund(s: &str) -> Option<Fund> {
    Fund::ALL.into_iter().find(|f| fund_code(*f) == s)
}

/// Any row of any view.
#[derive(Clone, Debug, PartialEq)]
pub enum Row {
    /// [`HouseholdFileRow`].
    HouseholdFile(Box<HouseholdFileRow>),
    /// [`PlanPeriodRow`].
    PlanPeriod(Box<PlanPeriodRow>),
    /// [`PlanUnitRow`].
    PlanUnit(Box<PlanUnitRow>),
    /// [`PlanClaimRow`].
    PlanClaim(Box<PlanClaimRow>),
    /// [`PayoutRow`].
    Payout(Box<PayoutRow>),
    /// [`LedgerPartyRow`].
    LedgerParty(Box<LedgerPartyRow>),
    /// [`CampaignRow`].
    Campaign(Box<CampaignRow>),
    /// [`CampaignUnitRow`].
    CampaignUnit(Box<CampaignUnitRow>),
    /// [`FundBalanceRow`].
    FundBalance(Box<FundBalanceRow>),
    /// [`FundMeasuresRow`].
    FundMeasures(Box<FundMeasuresRow>),
    /// [`BatchReconRow`].
    BatchRecon(Box<BatchReconRow>),
    /// [`PayoutStatusRow`].
    PayoutStatus(Box<PayoutStatusRow>),
    /// [`JournalEntryRow`].
    JournalEntry(Box<JournalEntryRow>),
    /// [`BookAccountRow`].
    BookAccount(Box<BookAccountRow>),
    /// [`BookMeasuresRow`].
    BookMeasures(Box<BookMeasuresRow>),
}

/// A row type: its kind, and how it sits in [`Row`].
pub trait ViewRow: Serialize + DeserializeOwned + Sized {
    /// The kind of row this type is.
    const KIND: RowKind;
    /// Borrows `self` out of a [`Row`] of the same kind.
    fn of(row: &Row) -> Option<&Self>;
    /// Mutably borrows `self` out of a [`Row`] of the same kind.
    fn of_mut(row: &mut Row) -> Option<&mut Self>;
    /// Wraps `self`.
    fn into_row(self) -> Row;
    /// The `parent` column: the row this one is listed under ("" if none).
    fn parent(&self) -> String {
        String::new()
    }
    /// The `tag` column: one more filter value ("" if none).
    fn tag(&self) -> String {
        String::new()
    }
}

macro_rules! view_rows {
    ($($variant:ident => $t:ty),+ $(,)?) => {
        impl Row {
            /// The row's kind.
            pub fn kind(&self) -> RowKind {
                match self {
                    $(Row::$variant(_) => RowKind::$variant),+
                }
            }

            /// The JSON document stored in the `doc` column.
            pub fn to_doc(&self) -> Result<String, ProjectionError> {
                let doc = match self {
                    $(Row::$variant(r) => serde_json::to_string(r.as_ref())),+
                };
                doc.map_err(|e| ProjectionError::Encode(e.to_string()))
            }

            /// Reads a stored document of `kind`.
            pub fn from_doc(kind: RowKind, doc: &str) -> Result<Row, ProjectionError> {
                let bad = |e: serde_json::Error| ProjectionError::CorruptRow {
                    kind: kind.as_str(),
                    message: e.to_string(),
                };
                Ok(match kind {
                    $(RowKind::$variant => Row::$variant(Box::new(serde_json::from_str(doc).map_err(bad)?))),+
                })
            }

            /// The `parent` column.
            pub fn parent(&self) -> String {
                match self {
                    $(Row::$variant(r) => r.parent()),+
                }
            }

            /// The `tag` column.
            pub fn tag(&self) -> String {
                match self {
                    $(Row::$variant(r) => r.tag()),+
                }
            }
        }
    };
}

view_rows!(
    HouseholdFile => HouseholdFileRow,
    PlanPeriod => PlanPeriodRow,
    PlanUnit => PlanUnitRow,
    PlanClaim => PlanClaimRow,
    Payout => PayoutRow,
    LedgerParty => LedgerPartyRow,
    Campaign => CampaignRow,
    CampaignUnit => CampaignUnitRow,
    FundBalance => FundBalanceRow,
    FundMeasures => FundMeasuresRow,
    BatchRecon => BatchReconRow,
    PayoutStatus => PayoutStatusRow,
    JournalEntry => JournalEntryRow,
    BookAccount => BookAccountRow,
    BookMeasures => BookMeasuresRow,
);

/// Implements [`ViewRow`]'s plumbing for a row struct; the view module adds
/// `parent`/`tag` by passing closures.
#[macro_export]
#[doc(hidden)]
macro_rules! view_row_impl {
    ($t:ty, $variant:ident $(, parent = $parent:expr)? $(, tag = $tag:expr)?) => {
        impl $crate::rows::ViewRow for $t {
            const KIND: $crate::rows::RowKind = $crate::rows::RowKind::$variant;
            fn of(row: &$crate::rows::Row) -> Option<&Self> {
                match row {
                    $crate::rows::Row::$variant(r) => Some(r.as_ref()),
                    _ => None,
                }
            }
            fn of_mut(row: &mut $crate::rows::Row) -> Option<&mut Self> {
                match row {
                    $crate::rows::Row::$variant(r) => Some(r.as_mut()),
                    _ => None,
                }
            }
            fn into_row(self) -> $crate::rows::Row {
                $crate::rows::Row::$variant(Box::new(self))
            }
            $(fn parent(&self) -> String {
                let f: fn(&Self) -> String = $parent;
                f(self)
            })?
            $(fn tag(&self) -> String {
                let f: fn(&Self) -> String = $tag;
                f(self)
            })?
        }
    };
}

/// Why a batch could not be applied. Each one stops the projector: a view
/// never moves past an event it could not apply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProjectionError {
    /// A projection touched a row it did not declare for the event: a bug in
    /// its `keys`, caught instead of writing a fresh row over a stored one.
    Undeclared(String),
    /// A row held a different kind than its key says.
    KindMismatch(String),
    /// A stored row does not decode.
    CorruptRow {
        /// Its kind.
        kind: &'static str,
        /// serde's message.
        message: String,
    },
    /// A row could not be serialized.
    Encode(String),
    /// The event could not be decoded.
    Decode(crate::event::DecodeError),
}

impl std::fmt::Display for ProjectionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProjectionError::Undeclared(key) => {
                write!(f, "a projection touched row `{key}` without declaring it")
            }
            ProjectionError::KindMismatch(key) => write!(f, "row `{key}` holds another kind"),
            ProjectionError::CorruptRow { kind, message } => {
                write!(f, "a stored {kind} row does not decode: {message}")
            }
            ProjectionError::Encode(e) => write!(f, "a row does not encode: {e}"),
            ProjectionError::Decode(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ProjectionError {}

impl From<crate::event::DecodeError> for ProjectionError {
    fn from(e: crate::event::DecodeError) -> Self {
        ProjectionError::Decode(e)
    }
}

/// One declared row of a [`RowSet`].
#[derive(Clone, Debug, PartialEq)]
struct Slot {
    row: Option<Row>,
    /// Position of the last event that changed the row.
    position: LogPosition,
    dirty: bool,
}

/// The rows a batch of events may read and write, and which changed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RowSet {
    slots: BTreeMap<RowKey, Slot>,
    /// The position of the event being applied: what a changed row records.
    current: LogPosition,
}

impl RowSet {
    /// An empty set.
    pub fn new() -> RowSet {
        RowSet::default()
    }

    /// Declares `key`, absent until [`RowSet::load`] says otherwise. A key
    /// declared twice keeps its slot.
    pub fn declare(&mut self, key: RowKey) {
        self.slots.entry(key).or_insert(Slot {
            row: None,
            position: LogPosition::START,
            dirty: false,
        });
    }

    /// Puts a stored row (and the position it was stored with) into its
    /// declared slot, or declares it.
    pub fn load(&mut self, key: RowKey, row: Row, position: LogPosition) {
        self.slots.insert(
            key,
            Slot {
                row: Some(row),
                position,
                dirty: false,
            },
        );
    }

    /// The declared keys, in order.
    pub fn keys(&self) -> impl Iterator<Item = &RowKey> {
        self.slots.keys()
    }

    /// How many rows are declared.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// True when no row is declared.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Sets the position changed rows record (the event being applied).
    pub fn at(&mut self, position: LogPosition) {
        self.current = position;
    }

    /// The row at `key`, if present.
    pub fn get<T: ViewRow>(&self, key: &RowKey) -> Result<Option<&T>, ProjectionError> {
        let slot = self
            .slots
            .get(key)
            .ok_or_else(|| ProjectionError::Undeclared(key.to_string()))?;
        match &slot.row {
            None => Ok(None),
            Some(row) => T::of(row)
                .map(Some)
                .ok_or_else(|| ProjectionError::KindMismatch(key.to_string())),
        }
    }

    /// The row at `key` for changing, if present; marks it changed.
    pub fn get_mut<T: ViewRow>(&mut self, key: &RowKey) -> Result<Option<&mut T>, ProjectionError> {
        let current = self.current;
        let slot = self
            .slots
            .get_mut(key)
            .ok_or_else(|| ProjectionError::Undeclared(key.to_string()))?;
        match &mut slot.row {
            None => Ok(None),
            Some(row) => {
                slot.dirty = true;
                slot.position = current;
                T::of_mut(row)
                    .map(Some)
                    .ok_or_else(|| ProjectionError::KindMismatch(key.to_string()))
            }
        }
    }

    /// The row at `key` for changing, created with `init` if absent; marks it changed.
    pub fn upsert<T: ViewRow>(
        &mut self,
        key: &RowKey,
        init: impl FnOnce() -> T,
    ) -> Result<&mut T, ProjectionError> {
        let current = self.current;
        let slot = self
            .slots
            .get_mut(key)
            .ok_or_else(|| ProjectionError::Undeclared(key.to_string()))?;
        slot.dirty = true;
        slot.position = current;
        let row = slot.row.get_or_insert_with(|| init().into_row());
        T::of_mut(row).ok_or_else(|| ProjectionError::KindMismatch(key.to_string()))
    }

    /// Replaces (or creates) the row at `key`; marks it changed.
    pub fn put<T: ViewRow>(&mut self, key: &RowKey, value: T) -> Result<(), ProjectionError> {
        let current = self.current;
        let slot = self
            .slots
            .get_mut(key)
            .ok_or_else(|| ProjectionError::Undeclared(key.to_string()))?;
        slot.dirty = true;
        slot.position = current;
        slot.row = Some(value.into_row());
        Ok(())
    }

    /// Every declared row as it now stands — present (`Some`, with the
    /// position it records) or absent (`None`) — consuming the set. What a
    /// projector keeps for the next batch once this one is committed.
    pub fn into_slots(self) -> impl Iterator<Item = (RowKey, Option<(Row, LogPosition)>)> {
        self.slots
            .into_iter()
            .map(|(k, s)| (k, s.row.map(|row| (row, s.position))))
    }

    /// The changed rows with the position each records.
    pub fn changed(&self) -> impl Iterator<Item = (&RowKey, &Row, LogPosition)> {
        self.slots
            .iter()
            .filter_map(|(k, s)| match (&s.row, s.dirty) {
                (Some(row), true) => Some((k, row, s.position)),
                _ => None,
            })
    }

    /// Every present row with its position (changed or not).
    pub fn rows(&self) -> impl Iterator<Item = (&RowKey, &Row, LogPosition)> {
        self.slots
            .iter()
            .filter_map(|(k, s)| s.row.as_ref().map(|r| (k, r, s.position)))
    }

    /// Takes every present row out, with its position.
    pub fn into_rows(self) -> impl Iterator<Item = (RowKey, Row, LogPosition)> {
        self.slots
            .into_iter()
            .filter_map(|(k, s)| s.row.map(|r| (k, r, s.position)))
    }
}
