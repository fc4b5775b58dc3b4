//! `bangfu audit rederive | what-if | sod | access-log`: the auditor's
//! reviews on the command line (tables in Chinese by default, `--lang en`,
//! or `--json`), and the `--as-of` / `--as-of-position` options of `view`,
//! `show` and `history`.
//!
//! Exit statuses: 0 nothing found; 10 ([`ExitKind::Findings`]) `rederive`
//! or `sod` found something; 3 a bad argument or policy file; 1 storage.

use std::path::PathBuf;

use clap::Subcommand;
use comfy_table::{presets, ContentArrangement, Table};
use domain::i18n::Lang;
use domain::mutual_aid::policy::Policy;
use serde::Serialize;

use crate::app::{AggregateKind, App, AppError};
use crate::audit::access_log::{self, AccessFilter};
use crate::audit::asof::AsOf;
use crate::audit::rederive::{self, Finding};
use crate::audit::sod::{self, Pairs};
use crate::cli::{io_failure, ExitKind, Failure};

/// The reviews `bangfu audit` runs.
#[derive(Debug, Subcommand)]
pub enum ReviewCommand {
    /// Recompute every claim subsidy and check every payout; exit 10 listing
    /// each discrepancy.
    Rederive {
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Re-assess a plan period's claims under another policy (a JSON file
    /// shaped like a period's `policy`); per-claim and total difference.
    WhatIf {
        /// The policy file.
        #[arg(long)]
        policy: PathBuf,
        /// The plan period id.
        #[arg(long)]
        period: String,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Segregation of duties over the whole history; exit 10 listing each breach.
    Sod {
        /// Incompatible duties, `request+approve,request+pay,…` (default:
        /// BANGFU_SOD_PAIRS, else request+approve,request+pay,approve+pay,assess+approve).
        #[arg(long)]
        pairs: Option<String>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Every recorded read of unmasked personal data, oldest first.
    AccessLog {
        /// Only reads of this aggregate type.
        #[arg(long)]
        kind: Option<AggregateKind>,
        /// Only reads of this record.
        #[arg(long)]
        id: Option<String>,
        /// Only reads by this user.
        #[arg(long)]
        actor: Option<String>,
        /// Only entries after this number.
        #[arg(long, default_value_t = 0)]
        after: i64,
        /// Most entries to print.
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        limit: u32,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
}

fn storage(lang: Lang) -> impl Fn(String) -> Failure {
    move |e| Failure::app(AppError::Storage(e), lang)
}

fn input(message: String) -> Failure {
    Failure {
        code: Some("input.invalid_value"),
        message,
        exit: ExitKind::Input,
    }
}

/// The point `--as-of` / `--as-of-position` name, if any.
pub fn point(
    as_of: Option<&str>,
    as_of_position: Option<&str>,
    lang: Lang,
) -> Result<Option<AsOf>, Failure> {
    AsOf::from_options(as_of, as_of_position).map_err(|bad| input(bad.message(lang)))
}

fn print_json(out: &mut dyn std::io::Write, doc: &impl Serialize) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(doc).unwrap_or_default();
    writeln!(out, "{text}").map_err(io_failure)
}

fn table(header: Vec<&str>) -> Table {
    let mut t = Table::new();
    t.load_preset(presets::UTF8_HORIZONTAL_ONLY)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(160)
        .set_header(header);
    t
}

/// Runs one review.
pub async fn run(
    app: &App,
    command: ReviewCommand,
    lang: Lang,
    out: &mut dyn std::io::Write,
) -> Result<(), Failure> {
    match command {
        ReviewCommand::Rederive { json } => {
            let report = rederive::rederive(&app.store, lang)
                .await
                .map_err(storage(lang))?;
            if json {
                print_json(out, &report)?;
            } else {
                let summary = match lang {
                    Lang::Zh => format!(
                        "重算补助评估 {} 次，核对发放 {} 笔，按日志顺序累计资金事件 {} 个：发现 {} 处不符",
                        report.assessments, report.payouts, report.events, report.findings.len()
                    ),
                    Lang::En => format!(
                        "{} assessments recomputed, {} payouts checked, {} events folded for the funds: {} discrepancies",
                        report.assessments, report.payouts, report.events, report.findings.len()
                    ),
                };
                print_findings(out, &summary, &report.findings, lang)?;
            }
            findings_exit(report.findings.len(), lang)
        }
        ReviewCommand::WhatIf {
            policy,
            period,
            json,
        } => what_if(app, &policy, &period, json, lang, out).await,
        ReviewCommand::Sod { pairs, json } => {
            let pairs = match pairs {
                Some(p) => Pairs::parse(&p),
                None => Pairs::configured(),
            }
            .map_err(input)?;
            let report = sod::report(&app.store, &pairs, lang)
                .await
                .map_err(storage(lang))?;
            if json {
                print_json(out, &report)?;
            } else {
                let summary = match lang {
                    Lang::Zh => format!(
                        "职责分离检查（不相容职责：{}）：{} 个案件、{} 个事件，发现 {} 处",
                        report.pairs.join("，"), report.streams, report.events, report.findings.len()
                    ),
                    Lang::En => format!(
                        "segregation of duties (incompatible: {}): {} cases, {} events, {} breaches",
                        report.pairs.join(", "), report.streams, report.events, report.findings.len()
                    ),
                };
                print_findings(out, &summary, &report.findings, lang)?;
            }
            findings_exit(report.findings.len(), lang)
        }
        ReviewCommand::AccessLog {
            kind,
            id,
            actor,
            after,
            limit,
            json,
        } => {
            let filter = AccessFilter {
                aggregate_type: kind.map(|k| k.aggregate_type().to_string()),
                aggregate_id: id,
                actor_id: actor,
                after,
                limit: limit as usize,
            };
            print_access_log(app, &filter, json, lang, out).await
        }
    }
}

fn findings_exit(found: usize, lang: Lang) -> Result<(), Failure> {
    if found == 0 {
        return Ok(());
    }
    Err(Failure {
        code: Some("audit.findings"),
        message: match lang {
            Lang::Zh => format!("审计发现 {found} 处问题"),
            Lang::En => format!("the audit found {found} problems"),
        },
        exit: ExitKind::Findings,
    })
}

fn print_findings(
    out: &mut dyn std::io::Write,
    summary: &str,
    findings: &[Finding],
    lang: Lang,
) -> Result<(), Failure> {
    writeln!(out, "{summary}").map_err(io_failure)?;
    if findings.is_empty() {
        return Ok(());
    }
    let mut t = table(match lang {
        Lang::Zh => vec!["代码", "案件", "序号", "说明"],
        Lang::En => vec!["code", "case", "seq", "what"],
    });
    for f in findings {
        t.add_row(vec![
            f.code.clone(),
            format!("{} {}", f.aggregate_type, f.aggregate_id),
            f.sequence.map(|s| s.to_string()).unwrap_or_default(),
            f.message.clone(),
        ]);
    }
    writeln!(out, "{t}").map_err(io_failure)
}

async fn what_if(
    app: &App,
    file: &std::path::Path,
    period: &str,
    json: bool,
    lang: Lang,
    out: &mut dyn std::io::Write,
) -> Result<(), Failure> {
    let text = std::fs::read(file).map_err(|e| input(format!("{}: {e}", file.display())))?;
    let policy: Policy =
        serde_json::from_slice(&text).map_err(|e| input(format!("{}: {e}", file.display())))?;
    policy
        .validate()
        .map_err(|e| input(format!("{}: {e}", file.display())))?;
    let report = rederive::what_if(&app.store, period, &policy)
        .await
        .map_err(storage(lang))?;
    if json {
        return print_json(out, &report);
    }
    let mut t = table(match lang {
        Lang::Zh => vec!["申请", "记录的补助（元）", "按新政策（元）", "差额（元）"],
        Lang::En => vec![
            "claim",
            "recorded (yuan)",
            "what-if (yuan)",
            "difference (yuan)",
        ],
    });
    let signed = |fen: i64| {
        let abs = domain::values::Fen::new(fen.abs()).map(|f| f.to_yuan_grouped());
        let abs = abs.unwrap_or_else(|_| fen.abs().to_string());
        if fen < 0 {
            format!("-{abs}")
        } else {
            abs
        }
    };
    for c in &report.claims {
        t.add_row(vec![
            c.claim_id.clone(),
            c.recorded_fen.to_yuan_grouped(),
            c.what_if_fen.to_yuan_grouped(),
            signed(c.difference_fen),
        ]);
    }
    t.add_row(vec![
        lang.pick("合计", "total").to_string(),
        report.recorded_total_fen.to_yuan_grouped(),
        report.what_if_total_fen.to_yuan_grouped(),
        signed(report.difference_fen),
    ]);
    let head = match lang {
        Lang::Zh => format!(
            "互助期 {period} 按政策 {} 重新评估：",
            report.policy_version
        ),
        Lang::En => format!(
            "period {period} re-assessed under policy {}:",
            report.policy_version
        ),
    };
    writeln!(out, "{head}\n{t}").map_err(io_failure)
}

async fn print_access_log(
    app: &App,
    filter: &AccessFilter,
    json: bool,
    lang: Lang,
    out: &mut dyn std::io::Write,
) -> Result<(), Failure> {
    let entries = access_log::list(&app.store, filter)
        .await
        .map_err(|e| storage(lang)(e.to_string()))?;
    if json {
        return print_json(out, &entries);
    }
    let mut t = table(match lang {
        Lang::Zh => vec!["编号", "时间 (UTC)", "用户", "角色", "途径", "记录", "时点"],
        Lang::En => vec![
            "no",
            "read (UTC)",
            "user",
            "role",
            "route",
            "record",
            "as of",
        ],
    });
    for e in &entries {
        t.add_row(vec![
            e.id.to_string(),
            e.read_at.get(..19).unwrap_or(&e.read_at).replace('T', " "),
            e.actor_id.clone(),
            e.actor_role.clone(),
            e.route.clone(),
            format!("{} {}", e.aggregate_type, e.aggregate_id),
            e.as_of.clone().unwrap_or_default(),
        ]);
    }
    let head = match lang {
        Lang::Zh => format!("个人信息明文读取记录：{} 条", entries.len()),
        Lang::En => format!("reads of unmasked personal data: {}", entries.len()),
    };
    writeln!(out, "{head}\n{t}").map_err(io_failure)
}

/// Records a command-line read (`show`, `history`) of a record in the access
/// log; the read is refused if it cannot be recorded (a store without the
/// log, KurrentDB, reads unlogged).
pub async fn record_cli_read(
    app: &App,
    route: &str,
    aggregate_type: &str,
    aggregate_id: &str,
    point: Option<&AsOf>,
    lang: Lang,
) -> Result<(), Failure> {
    let user = access_log::os_user();
    let as_of = point.map(|p| p.describe(Lang::En));
    let record = access_log::AccessRecord {
        read_at: app.clock.now(),
        actor_id: &user,
        actor_role: "cli",
        route,
        aggregate_type,
        aggregate_id,
        as_of: as_of.as_deref(),
    };
    match access_log::record(&app.store, &record).await {
        Ok(()) | Err(access_log::AccessLogError::Unavailable) => Ok(()),
        Err(e) => Err(storage(lang)(e.to_string())),
    }
}

/// `bangfu view … --as-of …`: the view folded in memory from the log up to
/// `point` (`audit::asof`), printed like the live one.
pub async fn view_as_of(
    app: &App,
    command: crate::cli::views::ViewCommand,
    point: &crate::audit::asof::AsOf,
    lang: Lang,
    out: &mut dyn std::io::Write,
) -> Result<(), Failure> {
    let view = match &command {
        crate::cli::views::ViewCommand::HouseholdFile { .. } => {
            projections::ViewName::HouseholdFile
        }
        crate::cli::views::ViewCommand::PlanPeriod { .. } => projections::ViewName::PlanPeriod,
        crate::cli::views::ViewCommand::PayoutLedger { .. } => projections::ViewName::PayoutLedger,
        crate::cli::views::ViewCommand::Campaign { .. } => projections::ViewName::Campaign,
        crate::cli::views::ViewCommand::FundBalances { .. } => projections::ViewName::FundBalances,
        crate::cli::views::ViewCommand::Reconciliation { .. } => {
            projections::ViewName::Reconciliation
        }
        crate::cli::views::ViewCommand::Ledger { .. }
        | crate::cli::views::ViewCommand::Journal { .. }
        | crate::cli::views::ViewCommand::Lineage { .. } => projections::ViewName::Books,
    };
    let (past, position) = crate::audit::asof::app_as_of(app, view, point)
        .await
        .map_err(|e| storage(lang)(e.to_string()))?;
    let json = match &command {
        crate::cli::views::ViewCommand::HouseholdFile { json, .. }
        | crate::cli::views::ViewCommand::PlanPeriod { json, .. }
        | crate::cli::views::ViewCommand::PayoutLedger { json, .. }
        | crate::cli::views::ViewCommand::Campaign { json, .. }
        | crate::cli::views::ViewCommand::Reconciliation { json, .. }
        | crate::cli::views::ViewCommand::Ledger { json, .. }
        | crate::cli::views::ViewCommand::Journal { json, .. }
        | crate::cli::views::ViewCommand::Lineage { json, .. }
        | crate::cli::views::ViewCommand::FundBalances { json } => *json,
    };
    if !json {
        let line = match lang {
            Lang::Zh => format!("截至{}", point.describe(lang)),
            Lang::En => format!("as of {}", point.describe(lang)),
        };
        writeln!(out, "{line}").map_err(io_failure)?;
    }
    crate::cli::views::view_at(&past, command, lang, position, out).await
}
