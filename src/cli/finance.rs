//! `bangfu payouts …`, `bangfu batch draft …`, `bangfu view reconciliation`
//! and `bangfu view ledger`: finance on the command line. The rest of a
//! batch's life (`bangfu batch lock|authorise|discard|reissue|cancel|close`)
//! and its bank files (`bangfu bank export|import`) are in `cli/bank.rs`;
//! month-end close is `bangfu run accounting-period YYYY-MM`
//! (`{"Close": {…}}`).

use clap::Subcommand;
use comfy_table::{presets, ContentArrangement, Table};
use domain::command::{Actor, Cmd, Role};
use domain::finance::batch::PayoutBatchCommand;
use domain::fund::Fund;
use domain::i18n::Lang;
use domain::values::{Code, Fen};
use projections::rows::parse_fund;

use super::{ExitKind, Failure};
use crate::app::{execute, App, AppError};

/// `bangfu payouts …`.
#[derive(Debug, Subcommand)]
pub enum PayoutsCommand {
    /// 待发放: approved payouts of a fund in no live batch (re-issues included).
    Due {
        /// The fund: special_assistance, mutual_aid, donation, festival.
        #[arg(long, value_parser = parse_fund_arg)]
        fund: Fund,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `bangfu batch …`.
#[derive(Debug, Subcommand)]
pub enum BatchCommand {
    /// 编制批次: a batch of every due payout of the fund whose account is on
    /// record (grants paid by card, re-issues); the others are listed.
    Draft {
        /// The new batch's id.
        id: String,
        /// The fund.
        #[arg(long, value_parser = parse_fund_arg)]
        fund: Fund,
        /// Acting user id.
        #[arg(long, env = "BANGFU_ACTOR")]
        actor: String,
        /// Acting role (finance).
        #[arg(long, env = "BANGFU_ROLE", value_parser = parse_role)]
        role: Role,
    },
    /// Lock, authorise, discard, re-issue, cancel, close.
    #[command(flatten)]
    Life(crate::cli::bank::BatchLifeCommand),
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| format!("unknown role `{s}`"))
}

fn parse_fund_arg(s: &str) -> Result<Fund, String> {
    parse_fund(&s.replace('-', "_")).ok_or_else(|| {
        format!("unknown fund `{s}` (special_assistance, mutual_aid, donation, festival)")
    })
}

fn io(e: std::io::Error) -> Failure {
    Failure::other(e.to_string())
}

fn storage(lang: Lang) -> impl Fn(crate::projector::ProjectorError) -> Failure {
    move |e| Failure::app(AppError::Storage(e.to_string()), lang)
}

fn table(header: Vec<&str>) -> Table {
    let mut t = Table::new();
    t.load_preset(presets::UTF8_HORIZONTAL_ONLY)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(160)
        .set_header(header);
    t
}

fn y(f: Fen) -> String {
    f.to_yuan_grouped()
}

/// Runs `bangfu payouts …`.
pub async fn payouts(
    app: &App,
    command: PayoutsCommand,
    lang: Lang,
    out: &mut dyn std::io::Write,
) -> Result<(), Failure> {
    let PayoutsCommand::Due { fund, json } = command;
    let due = crate::finance::due_payouts(app, fund)
        .await
        .map_err(storage(lang))?;
    if json {
        let doc = serde_json::to_string_pretty(&due).map_err(|e| Failure::other(e.to_string()))?;
        return writeln!(out, "{doc}").map_err(io);
    }
    let mut t = table(match lang {
        Lang::Zh => vec!["发放编号", "来源", "收款人", "账号", "金额（元）", "重发自"],
        Lang::En => vec![
            "payout",
            "source",
            "payee",
            "account",
            "amount (yuan)",
            "re-issues",
        ],
    });
    for d in &due {
        t.add_row(vec![
            d.payout_id.clone(),
            d.source.label(lang).to_string(),
            d.payee.clone().unwrap_or_default(),
            d.account_masked.clone().unwrap_or_else(|| "—".into()),
            y(d.amount_fen),
            d.reissue_of.clone().unwrap_or_default(),
        ]);
    }
    writeln!(
        out,
        "{} — {}",
        fund.label(lang),
        lang.pick("待发放", "due payouts")
    )
    .map_err(io)?;
    writeln!(out, "{t}").map_err(io)
}

/// Runs `bangfu batch draft …`.
pub async fn batch(
    app: &App,
    command: BatchCommand,
    lang: Lang,
    out: &mut dyn std::io::Write,
) -> Result<(), Failure> {
    let (id, fund, actor, role) = match command {
        BatchCommand::Draft {
            id,
            fund,
            actor,
            role,
        } => (id, fund, actor, role),
        BatchCommand::Life(life) => return crate::cli::bank::life(app, life, lang, out).await,
    };
    let due = crate::finance::due_payouts(app, fund)
        .await
        .map_err(storage(lang))?;
    let (lines, skipped) = crate::finance::lines_from_due(app, &due)
        .await
        .map_err(Failure::other)?;
    if lines.is_empty() {
        return Err(Failure {
            code: Some("payout_batch.nothing_due"),
            message: lang
                .pick(
                    "没有可编入批次的待发放款项（或其账号未登记）",
                    "no due payout with an account on record",
                )
                .to_string(),
            exit: ExitKind::Failure,
        });
    }
    let actor_id = Code::parse(&actor).map_err(|e| Failure::other(e.to_string()))?;
    let ctx = app.clock.context(Actor { id: actor_id, role }, None, None);
    let n = lines.len();
    let body = PayoutBatchCommand::Draft {
        fund,
        lines,
        signing: None,
        note: None,
    };
    execute(&app.batches, &id, Cmd { ctx, body })
        .await
        .map_err(|e| Failure::app(e, lang))?;
    match lang {
        Lang::Zh => writeln!(
            out,
            "已编制批次 {id}：{n} 笔；未编入（账号未登记）{} 笔",
            skipped.len()
        ),
        Lang::En => writeln!(
            out,
            "drafted batch {id}: {n} payouts; {} left out (no account on record)",
            skipped.len()
        ),
    }
    .map_err(io)?;
    for s in skipped {
        writeln!(out, "  {s}").map_err(io)?;
    }
    Ok(())
}

/// `bangfu view reconciliation`: every batch, per fund sums, and one
/// batch's exceptions when named.
pub async fn reconciliation(
    app: &App,
    batch: Option<String>,
    json: bool,
    lang: Lang,
    out: &mut dyn std::io::Write,
) -> Result<(), Failure> {
    let (batches, funds) = crate::finance::fund_recon(app)
        .await
        .map_err(storage(lang))?;
    let shown: Vec<_> = batches
        .iter()
        .filter(|b| batch.as_ref().is_none_or(|id| &b.batch_id == id))
        .collect();
    if json {
        let doc = serde_json::json!({"batches": shown, "funds": funds.iter().map(|(f, r)| (domain::money::fund_code(*f), r)).collect::<std::collections::BTreeMap<_, _>>()});
        return writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&doc).unwrap_or_default()
        )
        .map_err(io);
    }
    let header = match lang {
        Lang::Zh => vec![
            "批次/资金",
            "状态",
            "应付",
            "已付",
            "失败",
            "已重发",
            "已取消",
            "待回单",
            "异常",
        ],
        Lang::En => vec![
            "batch/fund",
            "state",
            "expected",
            "paid",
            "failed",
            "re-issued",
            "cancelled",
            "pending",
            "exceptions",
        ],
    };
    let mut t = table(header);
    for b in &shown {
        t.add_row(vec![
            b.batch_id.clone(),
            b.state.clone(),
            y(b.expected_fen),
            y(b.paid_fen),
            y(b.failed_fen),
            y(b.reissued_fen),
            y(b.cancelled_fen),
            y(b.pending_fen),
            b.exceptions.len().to_string(),
        ]);
    }
    if batch.is_none() {
        for (f, r) in &funds {
            t.add_row(vec![
                f.label(lang).to_string(),
                String::new(),
                y(r.expected_fen),
                y(r.paid_fen),
                y(r.failed_fen),
                y(r.reissued_fen),
                y(r.cancelled_fen),
                y(r.pending_fen),
                r.exceptions.to_string(),
            ]);
        }
    }
    writeln!(out, "{t}").map_err(io)?;
    for b in shown {
        for e in &b.exceptions {
            writeln!(
                out,
                "{} {} {}",
                b.batch_id,
                e.exception.label(lang),
                e.exception.payout_id()
            )
            .map_err(io)?;
        }
    }
    Ok(())
}

/// `bangfu view ledger`: the trial balance, and the journal of a month.
pub async fn ledger(
    app: &App,
    month: Option<String>,
    json: bool,
    lang: Lang,
    out: &mut dyn std::io::Write,
) -> Result<(), Failure> {
    let tb = crate::finance::trial_balance(app)
        .await
        .map_err(storage(lang))?;
    let journal = match &month {
        Some(m) => crate::finance::journal(app, Some(m))
            .await
            .map_err(storage(lang))?,
        None => Vec::new(),
    };
    if json {
        let doc =
            serde_json::json!({"trial_balance": tb, "balanced": tb.balances(), "journal": journal});
        return writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&doc).unwrap_or_default()
        )
        .map_err(io);
    }
    let mut t = table(match lang {
        Lang::Zh => vec!["科目", "借方", "贷方"],
        Lang::En => vec!["account", "debit", "credit"],
    });
    for a in &tb.accounts {
        t.add_row(vec![a.account.clone(), y(a.debit_fen), y(a.credit_fen)]);
    }
    t.add_row(vec![
        lang.pick("合计", "total").to_string(),
        y(tb.debit_fen),
        y(tb.credit_fen),
    ]);
    writeln!(out, "{}", lang.pick("试算平衡表", "Trial balance")).map_err(io)?;
    writeln!(out, "{t}").map_err(io)?;
    let verdict = match (tb.balances(), lang) {
        (true, Lang::Zh) => "借贷平衡",
        (true, Lang::En) => "debits equal credits",
        (false, Lang::Zh) => "借贷不平衡！",
        (false, Lang::En) => "debits and credits differ!",
    };
    writeln!(out, "{verdict}").map_err(io)?;
    if journal.is_empty() {
        return Ok(());
    }
    let mut j = table(match lang {
        Lang::Zh => vec!["凭证", "日期", "事件", "摘要", "科目", "借方", "贷方"],
        Lang::En => vec![
            "entry",
            "date",
            "event",
            "reference",
            "account",
            "debit",
            "credit",
        ],
    });
    for e in &journal {
        for l in &e.lines {
            j.add_row(vec![
                e.entry_id.clone(),
                e.date.to_string(),
                e.event_type.clone(),
                e.reference.clone(),
                l.account.clone(),
                y(l.debit_fen),
                y(l.credit_fen),
            ]);
        }
    }
    writeln!(out, "{}", lang.pick("\n记账凭证", "\nJournal")).map_err(io)?;
    writeln!(out, "{j}").map_err(io)
}
