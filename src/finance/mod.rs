//! Finance over the views and the engines: due payouts, lines for a new
//! batch, reconciliation, the books' trial balance and journal, lineage.
//! The CLI (`bangfu payouts`, `bangfu batch`, `bangfu view reconciliation`,
//! `bangfu view ledger`) and HTTP read through here.

pub mod bankfile;

use std::collections::BTreeMap;

use domain::finance::{PayeeAccount, PayoutId, PayoutLine, SourceKind};
use domain::fund::Fund;
use domain::hardship::Payee;
use domain::values::{Fen, ShortText};
use projections::rows::fund_code;
use projections::views::books::{BookAccountRow, JournalEntryRow};
use projections::views::ledger::{PayoutRow, PayoutSource, PayoutState};
use projections::views::lineage::{trace, LineagePiece};
use projections::views::recon::{BatchReconRow, BatchedState, FundRecon, PayoutStatusRow};
use serde::Serialize;

pub mod journal_file;

use crate::app::App;
use crate::projector::{ProjectorError, RowFilter};

/// A payout approved and in no live batch.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DuePayout {
    /// The payout.
    pub payout_id: String,
    /// What it settles.
    pub source: SourceKind,
    /// Its fund.
    pub fund: Fund,
    /// Amount.
    pub amount_fen: Fen,
    /// The payee, when known.
    pub payee: Option<String>,
    /// The account, masked.
    pub account_masked: Option<String>,
    /// The failed payout it re-issues.
    pub reissue_of: Option<String>,
}

fn source_kind(s: PayoutSource) -> SourceKind {
    match s {
        PayoutSource::Grant => SourceKind::Grant,
        PayoutSource::Claim => SourceKind::Claim,
        PayoutSource::Allocation => SourceKind::Allocation,
    }
}

/// Every due payout of `fund`: approved obligations (the payout ledger)
/// never batched or released by a discarded batch, and re-issues. Cash
/// grants (handed over at a visit) and transfers are never due.
pub async fn due_payouts(app: &App, fund: Fund) -> Result<Vec<DuePayout>, ProjectorError> {
    let p = &app.projector;
    p.catch_up_committed().await?;
    let by_fund = RowFilter {
        parent: Some(fund_code(fund).to_string()),
        tag: None,
    };
    let mut statuses: BTreeMap<String, PayoutStatusRow> = BTreeMap::new();
    p.for_each::<PayoutStatusRow>(&by_fund, |r| {
        statuses.insert(r.payout_id.clone(), r);
    })
    .await?;
    let mut due = Vec::new();
    p.for_each::<PayoutRow>(&by_fund, |r| {
        let open = statuses
            .get(&r.payout_id)
            .is_none_or(|s| s.state == BatchedState::Due);
        // Cash is handed over at a home visit, never through a bank batch.
        if r.state == PayoutState::Approved && !r.transfer && !r.cash && open {
            due.push(DuePayout {
                payout_id: r.payout_id.clone(),
                source: source_kind(r.source),
                fund: r.fund,
                amount_fen: r.amount_fen,
                payee: r.beneficiary.account_name.or(r.beneficiary.name),
                account_masked: r.beneficiary.card_masked,
                reissue_of: None,
            });
        }
    })
    .await?;
    due.extend(
        statuses
            .into_values()
            .filter(|s| s.state == BatchedState::Due && s.reissue_of.is_some())
            .map(|s| DuePayout {
                payout_id: s.payout_id,
                source: s.source,
                fund: s.fund,
                amount_fen: s.amount_fen,
                payee: Some(s.payee),
                account_masked: Some(s.account_masked),
                reissue_of: s.reissue_of,
            }),
    );
    due.sort_by(|a, b| a.payout_id.cmp(&b.payout_id));
    Ok(due)
}

/// Lines for a new batch from due payouts whose account is on record: a
/// grant's payee (bank card) from its hardship file, a re-issue's corrected
/// account from the batch that re-issued it. The rest are returned as
/// skipped (their lines are given explicitly, e.g. a claim's card).
pub async fn lines_from_due(
    app: &App,
    due: &[DuePayout],
) -> Result<(Vec<PayoutLine>, Vec<String>), String> {
    let mut lines = Vec::new();
    let mut skipped = Vec::new();
    for d in due {
        match line_of(app, d).await? {
            Some(line) => lines.push(line),
            None => skipped.push(d.payout_id.clone()),
        }
    }
    Ok((lines, skipped))
}

async fn line_of(app: &App, d: &DuePayout) -> Result<Option<PayoutLine>, String> {
    let id = PayoutId::parse(&d.payout_id).map_err(|e| e.to_string())?;
    if let Some(original) = &d.reissue_of {
        let status: Option<PayoutStatusRow> = app
            .projector
            .get(original)
            .await
            .map_err(|e| e.to_string())?;
        let Some(batch) = status.and_then(|s| s.batch_id) else {
            return Ok(None);
        };
        let loaded = app.batches.load(&batch).await.map_err(|e| e.to_string())?;
        return Ok(loaded.aggregate.reissued_line(&id).cloned());
    }
    let Some(rest) = d.payout_id.strip_prefix("grant:") else {
        return Ok(None);
    };
    let Some((file_id, grant_id)) = rest.split_once(':') else {
        return Ok(None);
    };
    let file = app.files.load(file_id).await.map_err(|e| e.to_string())?;
    let grant = file
        .aggregate
        .grants()
        .iter()
        .find(|g| g.grant_id.as_str() == grant_id);
    let Some(grant) = grant else {
        return Ok(None);
    };
    let Payee::BankTransfer { card, account_name } = &grant.payee else {
        return Ok(None);
    };
    Ok(Some(PayoutLine {
        payout_id: id,
        source: SourceKind::Grant,
        payee: account_name.clone(),
        account: PayeeAccount::Bank {
            card: card.clone(),
            bank: None,
        },
        amount_fen: grant.amount_fen,
        fund: grant.fund,
        purpose: ShortText::parse(&format!("帮扶发放 {}", grant.measure_id))
            .map_err(|e| e.to_string())?,
    }))
}

/// One batch's reconciliation row.
pub async fn batch_recon(app: &App, batch: &str) -> Result<Option<BatchReconRow>, ProjectorError> {
    app.projector.catch_up_committed().await?;
    app.projector.get(batch).await
}

/// Every batch row, and per fund their sums.
pub async fn fund_recon(
    app: &App,
) -> Result<(Vec<BatchReconRow>, BTreeMap<Fund, FundRecon>), ProjectorError> {
    app.projector.catch_up_committed().await?;
    let mut batches = Vec::new();
    app.projector
        .for_each::<BatchReconRow>(&RowFilter::default(), |r| batches.push(r))
        .await?;
    let funds = Fund::ALL
        .into_iter()
        .map(|f| (f, FundRecon::of(batches.iter().filter(|b| b.fund == f))))
        .collect();
    Ok((batches, funds))
}

/// The trial balance: every account of the books and the two totals.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TrialBalance {
    /// The accounts, in chart order.
    pub accounts: Vec<BookAccountRow>,
    /// Σ debits.
    pub debit_fen: Fen,
    /// Σ credits.
    pub credit_fen: Fen,
}

impl TrialBalance {
    /// Σ debits = Σ credits.
    pub fn balances(&self) -> bool {
        self.debit_fen == self.credit_fen
    }

    /// A fund's available money by the books: the credit balance of
    /// `fund:{fund}` (credits − debits; negative only if overdrawn).
    pub fn fund_available_fen(&self, fund: Fund) -> i64 {
        let name = projections::views::books::fund_account(fund);
        self.accounts
            .iter()
            .find(|a| a.account == name)
            .map_or(0, |a| a.credit_fen.fen() - a.debit_fen.fen())
    }
}

/// The books' trial balance.
pub async fn trial_balance(app: &App) -> Result<TrialBalance, ProjectorError> {
    app.projector.catch_up_committed().await?;
    let mut rows: BTreeMap<String, BookAccountRow> = BTreeMap::new();
    app.projector
        .for_each::<BookAccountRow>(&RowFilter::default(), |r| {
            rows.insert(r.account.clone(), r);
        })
        .await?;
    let accounts: Vec<BookAccountRow> = projections::views::books::chart()
        .into_iter()
        .map(|a| {
            rows.remove(&a).unwrap_or(BookAccountRow {
                account: a,
                debit_fen: Fen::ZERO,
                credit_fen: Fen::ZERO,
            })
        })
        .collect();
    let total = |f: fn(&BookAccountRow) -> Fen| {
        Fen::checked_sum(accounts.iter().map(f)).expect("totals are bounded (values::money)")
    };
    Ok(TrialBalance {
        debit_fen: total(|a| a.debit_fen),
        credit_fen: total(|a| a.credit_fen),
        accounts,
    })
}

/// The journal, in log order; one month's entries when `month` is given.
/// Entries that move no money (kept for lineage) are left out.
pub async fn journal(
    app: &App,
    month: Option<&str>,
) -> Result<Vec<JournalEntryRow>, ProjectorError> {
    let mut entries = entries(app, month).await?;
    entries.retain(|e| !e.lines.is_empty());
    Ok(entries)
}

/// Every entry of the books (one month's when `month` is given), in log order.
async fn entries(app: &App, month: Option<&str>) -> Result<Vec<JournalEntryRow>, ProjectorError> {
    app.projector.catch_up_committed().await?;
    let filter = RowFilter {
        parent: month.map(str::to_string),
        tag: None,
    };
    let mut entries = Vec::new();
    app.projector
        .for_each::<JournalEntryRow>(&filter, |r| entries.push(r))
        .await?;
    entries.sort_by_key(|e| (e.log_commit, e.log_position));
    Ok(entries)
}

/// Every payout's lineage (see `projections::views::lineage`).
pub async fn lineage(app: &App) -> Result<Vec<LineagePiece>, ProjectorError> {
    Ok(trace(&entries(app, None).await?))
}

/// The lineage pieces of one payout (which inflows paid for it; a
/// re-issue's pieces are its original's) and/or of one inflow (which
/// payouts it ended up in); every piece when neither is given.
pub async fn lineage_of(
    app: &App,
    payout: Option<&str>,
    inflow: Option<&str>,
) -> Result<Vec<LineagePiece>, ProjectorError> {
    let original = payout.map(|p| p.split_once("~r").map_or(p, |(head, _)| head));
    let mut pieces = lineage(app).await?;
    pieces.retain(|p| {
        original.is_none_or(|o| p.payout_id == o) && inflow.is_none_or(|i| p.inflow_id == i)
    });
    Ok(pieces)
}
