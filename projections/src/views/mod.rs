//! The seven views and what each does with an event.
//!
//! Each view module has two pure functions the projector calls per event:
//! `keys` (which rows the event may read or write — derivable from the event
//! alone, so a batch's rows can be loaded before it is applied) and `apply`
//! (change those rows). They never look at the clock, at other events, or at
//! rows they did not declare.

pub mod books;
pub mod campaign;
pub mod funds;
pub mod household;
pub mod household_money;
pub mod ledger;
pub mod lineage;
pub mod plan;
pub mod recon;

use domain::i18n::Lang;

use crate::event::Recorded;
use crate::rows::{ProjectionError, RowKey, RowKind, RowSet};

/// A view, built by its own projector with its own checkpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ViewName {
    /// 一户一档: one hardship file.
    HouseholdFile,
    /// One mutual-aid plan period.
    PlanPeriod,
    /// Every payout obligation.
    PayoutLedger,
    /// One donation campaign.
    Campaign,
    /// Every fund's flows and balance.
    FundBalances,
    /// Payout batches against the bank's results.
    Reconciliation,
    /// The double-entry books.
    Books,
}

impl ViewName {
    /// Every view.
    pub const ALL: [ViewName; 7] = [
        ViewName::HouseholdFile,
        ViewName::PlanPeriod,
        ViewName::PayoutLedger,
        ViewName::Campaign,
        ViewName::FundBalances,
        ViewName::Reconciliation,
        ViewName::Books,
    ];

    /// Stable name, as stored with its checkpoint.
    pub fn as_str(self) -> &'static str {
        match self {
            ViewName::HouseholdFile => "household_file",
            ViewName::PlanPeriod => "plan_period",
            ViewName::PayoutLedger => "payout_ledger",
            ViewName::Campaign => "campaign",
            ViewName::FundBalances => "fund_balances",
            ViewName::Reconciliation => "reconciliation",
            ViewName::Books => "books",
        }
    }

    /// The name on the command line.
    pub fn cli_name(self) -> &'static str {
        match self {
            ViewName::HouseholdFile => "household-file",
            ViewName::PlanPeriod => "plan-period",
            ViewName::PayoutLedger => "payout-ledger",
            ViewName::Campaign => "campaign",
            ViewName::FundBalances => "fund-balances",
            ViewName::Reconciliation => "reconciliation",
            ViewName::Books => "books",
        }
    }

    /// Parses [`ViewName::as_str`] or [`ViewName::cli_name`].
    pub fn parse(s: &str) -> Option<ViewName> {
        ViewName::ALL
            .into_iter()
            .find(|v| v.as_str() == s || v.cli_name() == s)
    }

    /// For people.
    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            ViewName::HouseholdFile => lang.pick("一户一档", "household file"),
            ViewName::PlanPeriod => lang.pick("互助期汇总", "plan period"),
            ViewName::PayoutLedger => lang.pick("发放台账", "payout ledger"),
            ViewName::Campaign => lang.pick("一日捐活动汇总", "campaign"),
            ViewName::FundBalances => lang.pick("资金余额", "fund balances"),
            ViewName::Reconciliation => lang.pick("发放对账", "reconciliation"),
            ViewName::Books => lang.pick("资金账簿", "books"),
        }
    }

    /// The row kinds the view owns.
    pub fn kinds(self) -> &'static [RowKind] {
        match self {
            ViewName::HouseholdFile => &[RowKind::HouseholdFile],
            ViewName::PlanPeriod => &[RowKind::PlanPeriod, RowKind::PlanUnit, RowKind::PlanClaim],
            ViewName::PayoutLedger => &[RowKind::Payout, RowKind::LedgerParty],
            ViewName::Campaign => &[RowKind::Campaign, RowKind::CampaignUnit],
            ViewName::FundBalances => &[RowKind::FundBalance, RowKind::FundMeasures],
            ViewName::Reconciliation => &[RowKind::BatchRecon, RowKind::PayoutStatus],
            ViewName::Books => &[
                RowKind::JournalEntry,
                RowKind::BookAccount,
                RowKind::BookMeasures,
            ],
        }
    }

    /// Appends the rows `ev` may read or write in this view.
    pub fn keys(self, ev: &Recorded, out: &mut Vec<RowKey>) {
        match self {
            ViewName::HouseholdFile => household::keys(ev, out),
            ViewName::PlanPeriod => plan::keys(ev, out),
            ViewName::PayoutLedger => ledger::keys(ev, out),
            ViewName::Campaign => campaign::keys(ev, out),
            ViewName::FundBalances => funds::keys(ev, out),
            ViewName::Reconciliation => recon::keys(ev, out),
            ViewName::Books => books::keys(ev, out),
        }
    }

    /// Applies `ev` to this view's rows in `rows` (which must hold every key
    /// [`ViewName::keys`] named for it).
    pub fn apply(self, ev: &Recorded, rows: &mut RowSet) -> Result<(), ProjectionError> {
        rows.at(ev.position);
        match self {
            ViewName::HouseholdFile => household::apply(ev, rows),
            ViewName::PlanPeriod => plan::apply(ev, rows),
            ViewName::PayoutLedger => ledger::apply(ev, rows),
            ViewName::Campaign => campaign::apply(ev, rows),
            ViewName::FundBalances => funds::apply(ev, rows),
            ViewName::Reconciliation => recon::apply(ev, rows),
            ViewName::Books => books::apply(ev, rows),
        }
    }
}

impl std::fmt::Display for ViewName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.cli_name())
    }
}

/// The invariant behind every count in a view: counts go up by one event at
/// a time (bounded by the log, far below `u64::MAX`) and down only by what
/// an earlier event added (a reversal, a roster removal), so they never
/// overflow or go below zero. Asserted; a breach stops the projector.
pub(crate) const COUNTED: &str = "invariant broken: a view's count overflows or goes below zero";
