//! `bangfu view …` and `bangfu projections …`: the views as tables for people
//! (Chinese by default, `--lang en`) or JSON for programs, and the rebuild and
//! verification of the views.
//!
//! Every `view` first catches the projector up to the head of the log, so it
//! shows every committed command, and says which log position it reflects.
//! Rows are read through [`crate::projector::Projector`]; nothing here knows SQL.
//! The report functions (`plan_period_report`, `campaign_report`, the paged
//! `*_page` ones, `payout_ledger_page`) are shared with the HTTP API's views.

use std::io::IsTerminal;

use clap::Subcommand;
use comfy_table::{presets, CellAlignment, ContentArrangement, Table};
use domain::fund::Fund;
use domain::i18n::Lang;
use domain::values::Fen;
use projections::rows::{fund_code, parse_fund};
use projections::views::funds::FundBalanceRow;
use projections::views::household::{GrantState, HouseholdFileRow};
use projections::views::ledger::StateSums;
use projections::ViewName;
use serde_json::json;

mod campaign;
mod funds;
mod household;
mod journal;
mod ledger;
mod plan;
mod upkeep;

use campaign::campaign;
use funds::fund_balances;
pub use funds::fund_table;
use household::household_file;
use ledger::payout_ledger;
use plan::plan_period;
pub use upkeep::projections;

use crate::app::{App, AppError};
use crate::cli::{io_failure, ExitKind, Failure};
use crate::projector::{ProjectorError, VerifyReport};
use crate::read::reports::{
    campaign_report, is_month, payout_ledger_page, plan_period_report, LedgerPage,
};
use crate::store::LogPosition;

/// Most payout rows `view payout-ledger` prints (totals cover every row).
pub const MAX_LEDGER_ROWS: usize = 10_000;

/// The views `bangfu view` prints.
#[derive(Debug, Subcommand)]
pub enum ViewCommand {
    /// 一户一档: one hardship file — household, visits, plan, measures, grants.
    HouseholdFile {
        /// The file id.
        id: String,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// One mutual-aid plan period: units, members, contributions, claims, subsidies.
    PlanPeriod {
        /// The plan id.
        id: String,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Every payout obligation, with totals by fund and by month.
    PayoutLedger {
        /// Only this fund: special_assistance, mutual_aid, donation, festival.
        #[arg(long, value_parser = parse_fund_arg)]
        fund: Option<Fund>,
        /// Only this month (of each payout's latest change of state): YYYY-MM.
        #[arg(long, value_parser = parse_month)]
        month: Option<String>,
        /// Most rows to list (totals cover every matching row).
        #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        limit: u32,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// One one-day-donation campaign: per unit, donors, participation, allocations.
    Campaign {
        /// The campaign id.
        id: String,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Every fund's inflows, outflows and balance.
    FundBalances {
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// 发放对账: payout batches against the bank's results, per batch and fund.
    Reconciliation {
        /// Only this batch (with its exceptions).
        #[arg(long)]
        batch: Option<String>,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// 记账凭证: the books' journal (date, entry, account debited and
    /// credited, amount, fund, source, event position); with --format/--out,
    /// a CSV or XLSX file with Chinese headings, one row per debit–credit pair.
    Journal {
        /// Only this month: YYYY-MM.
        #[arg(long, value_parser = parse_month)]
        month: Option<String>,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// 资金溯源: which inflows paid for a payout (--payout), or which payouts
    /// an inflow ended up in (--inflow), to the fen; every piece without
    /// either. Rule: explicit allocations first, then first in, first out
    /// within the fund.
    Lineage {
        /// A payout id (grant:FILE:GRANT, claim:CLAIM, allocation:CAMPAIGN:ID).
        #[arg(long)]
        payout: Option<String>,
        /// An inflow id (donation:CAMPAIGN:RECEIPT, contribution:PLAN:UNIT,
        /// appropriation:ACCOUNT:ID).
        #[arg(long)]
        inflow: Option<String>,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// 资金账簿: the double-entry books' trial balance; with --month, that
    /// month's journal.
    Ledger {
        /// The journal of this month: YYYY-MM.
        #[arg(long, value_parser = parse_month)]
        month: Option<String>,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// What `bangfu projections` does.
#[derive(Debug, Subcommand)]
pub enum ProjectionsCommand {
    /// Rebuild views from position zero (all, or one), then swap them in.
    Rebuild {
        /// Only this view: household-file, plan-period, payout-ledger, campaign, fund-balances.
        #[arg(long, value_parser = parse_view)]
        view: Option<ViewName>,
    },
    /// Rebuild every view into scratch tables and compare with the live ones;
    /// non-zero exit naming the rows on any difference, or on an overdrawn fund.
    Verify {
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

fn parse_fund_arg(s: &str) -> Result<Fund, String> {
    parse_fund(&s.replace('-', "_")).ok_or_else(|| {
        format!("unknown fund `{s}` (special_assistance, mutual_aid, donation, festival)")
    })
}

fn parse_month(s: &str) -> Result<String, String> {
    if is_month(s) {
        Ok(s.to_string())
    } else {
        Err(format!("`{s}` is not a month (YYYY-MM)"))
    }
}

fn parse_view(s: &str) -> Result<ViewName, String> {
    ViewName::parse(s).ok_or_else(|| {
        format!("unknown view `{s}` (household-file, plan-period, payout-ledger, campaign, fund-balances)")
    })
}

fn storage(lang: Lang) -> impl Fn(ProjectorError) -> Failure {
    move |e| Failure::app(AppError::Storage(e.to_string()), lang)
}

fn not_found(lang: Lang, what: &str, id: &str) -> Failure {
    Failure {
        code: Some("view.not_found"),
        message: match lang {
            Lang::Zh => format!("没有找到{what} {id}"),
            Lang::En => format!("no {what} {id}"),
        },
        exit: ExitKind::NotFound,
    }
}

fn y(f: Fen) -> String {
    f.to_yuan_grouped()
}

fn new_table(header: Vec<&str>) -> Table {
    let mut t = Table::new();
    t.load_preset(presets::UTF8_HORIZONTAL_ONLY)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(160)
        .set_header(header);
    t
}

fn align_right(t: &mut Table, columns: std::ops::Range<usize>) {
    for (i, col) in t.column_iter_mut().enumerate() {
        if columns.contains(&i) {
            col.set_cell_alignment(CellAlignment::Right);
        }
    }
}

fn print_json(out: &mut dyn std::io::Write, doc: serde_json::Value) -> Result<(), Failure> {
    writeln!(
        out,
        "{}",
        serde_json::to_string_pretty(&doc).unwrap_or_default()
    )
    .map_err(io_failure)
}

fn footer(out: &mut dyn std::io::Write, lang: Lang, position: LogPosition) -> Result<(), Failure> {
    match lang {
        Lang::Zh => writeln!(out, "（视图反映事件日志至位置 {position}）"),
        Lang::En => writeln!(
            out,
            "(views reflect the event log up to position {position})"
        ),
    }
    .map_err(io_failure)
}

/// `bangfu view …`.
pub async fn view(
    app: &App,
    command: ViewCommand,
    lang: Lang,
    out: &mut dyn std::io::Write,
) -> Result<(), Failure> {
    let position = app
        .projector
        .catch_up_committed()
        .await
        .map_err(storage(lang))?;
    view_at(app, command, lang, position, out).await
}

/// Prints a view from `app`'s projector, which reflects `position`.
pub(crate) async fn view_at(
    app: &App,
    command: ViewCommand,
    lang: Lang,
    position: LogPosition,
    out: &mut dyn std::io::Write,
) -> Result<(), Failure> {
    match command {
        ViewCommand::HouseholdFile { id, json } => {
            household_file(app, &id, json, lang, position, out).await
        }
        ViewCommand::PlanPeriod { id, json } => {
            plan_period(app, &id, json, lang, position, out).await
        }
        ViewCommand::PayoutLedger {
            fund,
            month,
            limit,
            json,
        } => {
            let limit = usize::try_from(limit)
                .unwrap_or(MAX_LEDGER_ROWS)
                .min(MAX_LEDGER_ROWS);
            payout_ledger(app, fund, month, limit, json, lang, position, out).await
        }
        ViewCommand::Campaign { id, json } => campaign(app, &id, json, lang, position, out).await,
        ViewCommand::Reconciliation { batch, json } => {
            crate::cli::finance::reconciliation(app, batch, json, lang, out).await
        }
        ViewCommand::Ledger { month, json } => {
            crate::cli::finance::ledger(app, month, json, lang, out).await
        }
        ViewCommand::FundBalances { json } => fund_balances(app, json, lang, position, out).await,
        ViewCommand::Journal { month, json } => {
            journal::journal(app, month, json, lang, position, out).await
        }
        ViewCommand::Lineage {
            payout,
            inflow,
            json,
        } => journal::lineage(app, payout, inflow, json, lang, position, out).await,
    }
}
