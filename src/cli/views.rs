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
        .catch_up()
        .await
        .map_err(storage(lang))?
        .position;
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
        ViewCommand::FundBalances { json } => fund_balances(app, json, lang, position, out).await,
    }
}

async fn household_file(
    app: &App,
    id: &str,
    json: bool,
    lang: Lang,
    position: LogPosition,
    out: &mut dyn std::io::Write,
) -> Result<(), Failure> {
    let file: HouseholdFileRow = app
        .projector
        .get(id)
        .await
        .map_err(storage(lang))?
        .ok_or_else(|| not_found(lang, ViewName::HouseholdFile.label(lang), id))?;
    if json {
        return print_json(out, json!({"views_position": position, "file": file}));
    }
    let zh = lang == Lang::Zh;
    let io = io_failure;
    let h = &file.head;
    let flags: Vec<&str> = [
        (h.migrant_worker, lang.pick("农民工", "migrant worker")),
        (h.mobile_member, lang.pick("流动会员", "mobile member")),
    ]
    .into_iter()
    .filter_map(|(on, s)| on.then_some(s))
    .collect();
    let sep = lang.pick("、", ", ");
    if zh {
        writeln!(
            out,
            "一户一档 {}：{}",
            file.file_id,
            file.status.label(lang)
        )
        .map_err(io)?;
        writeln!(
            out,
            "户主 {}（{}），手机 {}，{}，{}{}",
            h.name,
            h.resident_id_masked,
            h.phone_masked,
            h.employer_unit,
            h.grassroots_union,
            if flags.is_empty() {
                String::new()
            } else {
                format!("，{}", flags.join(sep))
            }
        )
        .map_err(io)?;
        writeln!(
            out,
            "家庭人均月收入 {} 元，当地低保标准 {} 元；致困原因：{}",
            y(file.monthly_income_per_capita_fen),
            y(file.local_minimum_standard_fen),
            file.causes
                .iter()
                .map(|c| c.label(lang))
                .collect::<Vec<_>>()
                .join(sep)
        )
        .map_err(io)?;
        writeln!(
            out,
            "建档 {}（{}）；复核 {} 次，下次复核 {}",
            file.opened_on,
            file.opened_by,
            file.reviews,
            file.next_review_on()
                .map_or("—".to_string(), |d| d.to_string())
        )
        .map_err(io)?;
    } else {
        writeln!(
            out,
            "Household file {}: {}",
            file.file_id,
            file.status.label(lang)
        )
        .map_err(io)?;
        writeln!(
            out,
            "Head {} ({}), phone {}, {}, {}{}",
            h.name,
            h.resident_id_masked,
            h.phone_masked,
            h.employer_unit,
            h.grassroots_union,
            if flags.is_empty() {
                String::new()
            } else {
                format!(", {}", flags.join(sep))
            }
        )
        .map_err(io)?;
        writeln!(
            out,
            "Income per capita {} yuan/month, local minimum {} yuan; causes: {}",
            y(file.monthly_income_per_capita_fen),
            y(file.local_minimum_standard_fen),
            file.causes
                .iter()
                .map(|c| c.label(lang))
                .collect::<Vec<_>>()
                .join(sep)
        )
        .map_err(io)?;
        writeln!(
            out,
            "Opened {} by {}; {} reviews, next review {}",
            file.opened_on,
            file.opened_by,
            file.reviews,
            file.next_review_on()
                .map_or("—".to_string(), |d| d.to_string())
        )
        .map_err(io)?;
    }
    if !file.members.is_empty() {
        let mut t = new_table(if zh {
            vec!["家庭成员", "关系", "出生年份", "健康", "就学"]
        } else {
            vec!["member", "relation", "born", "health", "schooling"]
        });
        for m in &file.members {
            t.add_row(vec![
                m.name.clone(),
                m.relation.label(lang).to_string(),
                m.birth_year.to_string(),
                m.health.label(lang).to_string(),
                m.schooling.label(lang).to_string(),
            ]);
        }
        writeln!(out, "{t}").map_err(io)?;
    }
    if !file.visits.is_empty() {
        writeln!(out, "{}", lang.pick("\n入户走访", "\nHome visits")).map_err(io)?;
        let mut t = new_table(if zh {
            vec!["日期", "编号", "类型", "走访人", "联系卡", "现场发放"]
        } else {
            vec!["date", "visit", "kind", "caseworkers", "card", "cash"]
        });
        for v in &file.visits {
            t.add_row(vec![
                v.visited_on.to_string(),
                v.visit_id.clone(),
                v.kind.label(lang).to_string(),
                v.caseworkers.join(sep),
                if v.contact_card_issued { "✓" } else { "" }.to_string(),
                v.cash_amount_fen.map(y).unwrap_or_default(),
            ]);
        }
        writeln!(out, "{t}").map_err(io)?;
    }
    if let Some(plan) = &file.plan {
        match lang {
            Lang::Zh => writeln!(out, "\n帮扶计划 第 {} 版：{}", plan.revision, plan.goal),
            Lang::En => writeln!(out, "\nPlan revision {}: {}", plan.revision, plan.goal),
        }
        .map_err(io)?;
        for r in &plan.revisions {
            let why = r
                .reason
                .clone()
                .unwrap_or_else(|| lang.pick("制定", "adopted").into());
            writeln!(
                out,
                "  v{} {} {}：{}（{} {}，{} {}）",
                r.revision,
                r.at.date_naive(),
                r.by,
                why,
                r.measures,
                lang.pick("项措施", "measures"),
                y(r.planned_fen),
                lang.pick("元", "yuan")
            )
            .map_err(io)?;
        }
        let mut t = new_table(if zh {
            vec![
                "措施",
                "类别",
                "资金来源",
                "计划",
                "已申请",
                "已批准",
                "已发放",
                "余额",
                "状态",
            ]
        } else {
            vec![
                "measure",
                "kind",
                "fund",
                "planned",
                "requested",
                "approved",
                "paid",
                "remaining",
                "status",
            ]
        });
        for m in &plan.measures {
            t.add_row(vec![
                m.measure_id.clone(),
                m.kind.label(lang).to_string(),
                m.fund.label(lang).to_string(),
                y(m.planned_fen),
                y(m.requested_fen),
                y(m.approved_fen),
                y(m.paid_fen),
                y(m.remaining_fen()),
                if m.completed {
                    lang.pick("已办结", "completed")
                } else {
                    lang.pick("进行中", "open")
                }
                .to_string(),
            ]);
        }
        align_right(&mut t, 3..8);
        writeln!(out, "{t}").map_err(io)?;
    }
    if !file.grants.is_empty() {
        writeln!(out, "{}", lang.pick("\n发放", "\nGrants")).map_err(io)?;
        let mut t = new_table(if zh {
            vec![
                "发放",
                "措施",
                "金额",
                "资金来源",
                "方式",
                "状态",
                "申请人",
                "审批人",
                "发放日期",
            ]
        } else {
            vec![
                "grant",
                "measure",
                "amount",
                "fund",
                "method",
                "state",
                "requested by",
                "approved by",
                "paid on",
            ]
        });
        for g in &file.grants {
            let method = if g.cash {
                lang.pick("现金", "cash").to_string()
            } else {
                format!(
                    "{} {}",
                    lang.pick("银行转账", "bank transfer"),
                    g.card_masked.clone().unwrap_or_default()
                )
            };
            t.add_row(vec![
                g.grant_id.clone(),
                g.measure_id.clone(),
                y(g.amount_fen),
                g.fund.label(lang).to_string(),
                method,
                g.state.label(lang).to_string(),
                g.requested_by.clone(),
                g.approved_by.clone().unwrap_or_default(),
                g.paid_on.map(|d| d.to_string()).unwrap_or_default(),
            ]);
        }
        align_right(&mut t, 2..3);
        writeln!(out, "{t}").map_err(io)?;
        let paid = file
            .grants
            .iter()
            .filter(|g| g.state == GrantState::Paid)
            .count();
        match lang {
            Lang::Zh => writeln!(out, "已发放 {paid} 笔，共 {} 元", y(file.paid_total_fen())),
            Lang::En => writeln!(out, "{paid} grants paid, {} yuan", y(file.paid_total_fen())),
        }
        .map_err(io)?;
    }
    if let Some(c) = &file.closure {
        let reason = c
            .reason
            .as_ref()
            .map(|r| r.label(lang).to_string())
            .unwrap_or_else(|| lang.pick("核查未通过", "not eligible").into());
        match lang {
            Lang::Zh => writeln!(
                out,
                "\n结档：{reason}（{}，{}）：{}",
                c.by,
                c.at.date_naive(),
                c.note
            ),
            Lang::En => writeln!(
                out,
                "\nClosed: {reason} ({}, {}): {}",
                c.by,
                c.at.date_naive(),
                c.note
            ),
        }
        .map_err(io)?;
    }
    for r in &file.reopenings {
        match lang {
            Lang::Zh => writeln!(
                out,
                "重新建档 {}（{}）：{}",
                r.at.date_naive(),
                r.by,
                r.reason
            ),
            Lang::En => writeln!(
                out,
                "Reopened {} by {}: {}",
                r.at.date_naive(),
                r.by,
                r.reason
            ),
        }
        .map_err(io)?;
    }
    footer(out, lang, position)
}

async fn plan_period(
    app: &App,
    id: &str,
    json: bool,
    lang: Lang,
    position: LogPosition,
    out: &mut dyn std::io::Write,
) -> Result<(), Failure> {
    let report = plan_period_report(app, id)
        .await
        .map_err(storage(lang))?
        .ok_or_else(|| not_found(lang, ViewName::PlanPeriod.label(lang), id))?;
    if json {
        return print_json(
            out,
            json!({"views_position": position, "plan_period": report}),
        );
    }
    let io = io_failure;
    let p = &report.period;
    let sep = lang.pick("、", ", ");
    let states: Vec<String> = report
        .claims_by_state
        .iter()
        .filter(|s| s.claims > 0)
        .map(|s| format!("{} {}", s.status.label(lang), s.claims))
        .collect();
    match lang {
        Lang::Zh => {
            writeln!(
                out,
                "{}（第{}期，{} 至 {}，{}）",
                p.name,
                p.period_no,
                p.starts_on,
                p.ends_on,
                p.status.label(lang)
            )
            .map_err(io)?;
            writeln!(
                out,
                "补助政策 {}：起点 {} 元，{} 档，本期上浮 {}，农民工再上浮 {}，每人封顶 {} 元",
                p.policy.version,
                y(p.policy.threshold_fen),
                p.policy.tiers.len(),
                p.policy.period_uplift_bp,
                p.policy.migrant_uplift_bp,
                y(p.policy.cap_per_member_fen)
            )
            .map_err(io)?;
            writeln!(
                out,
                "参加单位 {} 家，参保职工 {} 人，收缴互助金 {} 元",
                p.units,
                p.members,
                y(p.contributions_fen)
            )
            .map_err(io)?;
            writeln!(
                out,
                "补助申请 {} 件：{}",
                report.claims,
                if states.is_empty() {
                    "—".into()
                } else {
                    states.join(sep)
                }
            )
            .map_err(io)?;
            writeln!(
                out,
                "核定补助 {} 元，批准补助 {} 人 {} 元，已发放 {} 元",
                y(report.subsidies_assessed_fen),
                report.claims_with_subsidy,
                y(report.subsidies_approved_fen),
                y(report.subsidies_paid_fen)
            )
            .map_err(io)?;
            writeln!(
                out,
                "互助金结余 {} 元{}",
                y(report.fund_balance_fen),
                if report.overdrawn_fen.is_zero() {
                    String::new()
                } else {
                    format!("（超支 {} 元！）", y(report.overdrawn_fen))
                }
            )
            .map_err(io)?;
        }
        Lang::En => {
            writeln!(
                out,
                "{} (period {}, {} to {}, {})",
                p.name,
                p.period_no,
                p.starts_on,
                p.ends_on,
                p.status.label(lang)
            )
            .map_err(io)?;
            writeln!(out, "Policy {}: threshold {} yuan, {} tiers, period uplift {}, migrant uplift {}, cap {} yuan per member",
                p.policy.version, y(p.policy.threshold_fen), p.policy.tiers.len(), p.policy.period_uplift_bp, p.policy.migrant_uplift_bp, y(p.policy.cap_per_member_fen)).map_err(io)?;
            writeln!(
                out,
                "{} units, {} members enrolled, {} yuan contributions",
                p.units,
                p.members,
                y(p.contributions_fen)
            )
            .map_err(io)?;
            writeln!(
                out,
                "{} claims: {}",
                report.claims,
                if states.is_empty() {
                    "—".into()
                } else {
                    states.join(sep)
                }
            )
            .map_err(io)?;
            writeln!(
                out,
                "Subsidies assessed {} yuan, approved for {} claims {} yuan, paid {} yuan",
                y(report.subsidies_assessed_fen),
                report.claims_with_subsidy,
                y(report.subsidies_approved_fen),
                y(report.subsidies_paid_fen)
            )
            .map_err(io)?;
            writeln!(
                out,
                "Fund balance {} yuan{}",
                y(report.fund_balance_fen),
                if report.overdrawn_fen.is_zero() {
                    String::new()
                } else {
                    format!(" (OVERDRAWN by {} yuan!)", y(report.overdrawn_fen))
                }
            )
            .map_err(io)?;
        }
    }
    let mut t = new_table(match lang {
        Lang::Zh => vec![
            "单位",
            "名称",
            "参保人数",
            "互助金",
            "缴费方",
            "申请",
            "已发放补助",
        ],
        Lang::En => vec![
            "unit",
            "name",
            "members",
            "contribution",
            "paid by",
            "claims",
            "subsidies paid",
        ],
    });
    for u in &report.units {
        t.add_row(vec![
            u.unit.unit_id.clone(),
            u.unit.unit_name.clone(),
            u.unit.members.to_string(),
            y(u.unit.contribution_fen),
            u.unit
                .sponsor
                .clone()
                .unwrap_or_else(|| lang.pick("单位", "unit").into()),
            u.claims.to_string(),
            y(u.subsidies_paid_fen),
        ]);
    }
    align_right(&mut t, 2..7);
    writeln!(out, "{t}").map_err(io)?;
    footer(out, lang, position)
}

fn sums_row(label: String, s: &StateSums) -> Vec<String> {
    vec![
        label,
        s.payouts.to_string(),
        y(s.requested_fen),
        y(s.approved_fen),
        y(s.paid_fen),
        y(s.declined_fen),
    ]
}

#[allow(clippy::too_many_arguments)]
async fn payout_ledger(
    app: &App,
    fund: Option<Fund>,
    month: Option<String>,
    limit: usize,
    json: bool,
    lang: Lang,
    position: LogPosition,
    out: &mut dyn std::io::Write,
) -> Result<(), Failure> {
    let LedgerPage {
        payouts: rows,
        matching,
        totals,
        ..
    } = payout_ledger_page(app, fund, month.as_deref(), None, limit)
        .await
        .map_err(storage(lang))?;
    let omitted = matching.saturating_sub(u64::try_from(rows.len()).unwrap_or(0));
    if json {
        return print_json(
            out,
            json!({
                "views_position": position,
                "fund": fund.map(fund_code),
                "month": month,
                "payouts": rows,
                "omitted": omitted,
                "totals": totals,
            }),
        );
    }
    let io = io_failure;
    let zh = lang == Lang::Zh;
    let mut t = new_table(if zh {
        vec![
            "发放",
            "来源",
            "受益人",
            "金额",
            "资金来源",
            "状态",
            "日期",
            "申请人",
            "审批人",
        ]
    } else {
        vec![
            "payout",
            "source",
            "beneficiary",
            "amount",
            "fund",
            "state",
            "on",
            "requested by",
            "approved by",
        ]
    });
    for r in &rows {
        let who = [
            r.beneficiary.name.clone(),
            r.beneficiary.resident_id_masked.clone(),
            r.beneficiary.card_masked.clone(),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
        let mut state = r.state.label(lang).to_string();
        if r.transfer {
            state.push_str(lang.pick("（资金划转）", " (transfer)"));
        }
        t.add_row(vec![
            r.payout_id.clone(),
            r.source.label(lang).to_string(),
            who,
            y(r.amount_fen),
            r.fund.label(lang).to_string(),
            state,
            r.state_on.to_string(),
            r.requested_by.clone(),
            r.approved_by.clone().unwrap_or_default(),
        ]);
    }
    align_right(&mut t, 3..4);
    writeln!(out, "{t}").map_err(io)?;
    if omitted > 0 {
        match lang {
            Lang::Zh => writeln!(out, "……另有 {omitted} 条未列出（--limit），合计包含全部"),
            Lang::En => writeln!(
                out,
                "… {omitted} more not listed (--limit); totals include them"
            ),
        }
        .map_err(io)?;
    }
    let header = if zh {
        vec![
            "合计",
            "笔数",
            "待审批",
            "已批准待发放",
            "已发放",
            "不予发放",
        ]
    } else {
        vec![
            "totals",
            "payouts",
            "requested",
            "approved",
            "paid",
            "declined",
        ]
    };
    let mut by_fund = new_table(header.clone());
    for f in Fund::ALL {
        if let Some(s) = totals.by_fund.get(fund_code(f)) {
            by_fund.add_row(sums_row(f.label(lang).to_string(), s));
        }
    }
    by_fund.add_row(sums_row(lang.pick("全部", "all").to_string(), &totals.all));
    align_right(&mut by_fund, 1..6);
    writeln!(out, "{}\n{by_fund}", lang.pick("\n按资金来源", "\nBy fund")).map_err(io)?;
    let mut by_month = new_table(header);
    for (m, s) in &totals.by_month {
        by_month.add_row(sums_row(m.clone(), s));
    }
    align_right(&mut by_month, 1..6);
    writeln!(out, "{}\n{by_month}", lang.pick("\n按月份", "\nBy month")).map_err(io)?;
    if totals.transfers > 0 {
        match lang {
            Lang::Zh => writeln!(
                out,
                "资金划转 {} 笔（拨付至帮扶措施或互助申请，由对应发放计入合计）",
                totals.transfers
            ),
            Lang::En => writeln!(
                out,
                "{} transfers (allocations to measures or claims; counted through those payouts)",
                totals.transfers
            ),
        }
        .map_err(io)?;
    }
    footer(out, lang, position)
}

async fn campaign(
    app: &App,
    id: &str,
    json: bool,
    lang: Lang,
    position: LogPosition,
    out: &mut dyn std::io::Write,
) -> Result<(), Failure> {
    let report = campaign_report(app, id)
        .await
        .map_err(storage(lang))?
        .ok_or_else(|| not_found(lang, ViewName::Campaign.label(lang), id))?;
    if json {
        return print_json(out, json!({"views_position": position, "campaign": report}));
    }
    let io = io_failure;
    let c = &report.campaign;
    match lang {
        Lang::Zh => {
            writeln!(
                out,
                "{}（{} 年，{} 至 {}，{}）",
                c.name,
                c.year,
                c.starts_on,
                c.ends_on,
                c.status.label(lang)
            )
            .map_err(io)?;
            if let Some(name) = &c.designated_for {
                writeln!(
                    out,
                    "定向捐助：{name}（{}）",
                    c.designated_for_masked.clone().unwrap_or_default()
                )
                .map_err(io)?;
            }
            writeln!(
                out,
                "到账 {} 元（收据 {} 张；冲销 {} 笔 {} 元），净额 {} 元",
                y(c.received_fen),
                c.donations,
                c.reversals,
                y(c.reversed_fen),
                y(c.net_received_fen())
            )
            .map_err(io)?;
            writeln!(
                out,
                "捐款 {} 人 / 应参与 {} 人，参与率 {}{}",
                c.donors,
                c.headcount,
                c.participation(),
                if c.over_headcount {
                    "（注意：捐款人数超过职工人数）"
                } else {
                    ""
                }
            )
            .map_err(io)?;
            writeln!(
                out,
                "已拨付 {} 元（已批准 {} 元，待审批 {} 元；驳回 {} 元），未拨付 {} 元",
                y(c.allocated_fen()),
                y(c.approved_fen),
                y(c.pending_fen),
                y(c.rejected_fen),
                y(c.unallocated_fen())
            )
            .map_err(io)?;
        }
        Lang::En => {
            writeln!(
                out,
                "{} ({}, {} to {}, {})",
                c.name,
                c.year,
                c.starts_on,
                c.ends_on,
                c.status.label(lang)
            )
            .map_err(io)?;
            if let Some(name) = &c.designated_for {
                writeln!(
                    out,
                    "Designated for {name} ({})",
                    c.designated_for_masked.clone().unwrap_or_default()
                )
                .map_err(io)?;
            }
            writeln!(
                out,
                "Received {} yuan ({} receipts; {} reversed, {} yuan), net {} yuan",
                y(c.received_fen),
                c.donations,
                c.reversals,
                y(c.reversed_fen),
                y(c.net_received_fen())
            )
            .map_err(io)?;
            writeln!(
                out,
                "{} donors of {} staff, participation {}{}",
                c.donors,
                c.headcount,
                c.participation(),
                if c.over_headcount {
                    " (note: more donors than staff)"
                } else {
                    ""
                }
            )
            .map_err(io)?;
            writeln!(
                out,
                "Allocated {} yuan ({} approved, {} pending; {} rejected), unallocated {} yuan",
                y(c.allocated_fen()),
                y(c.approved_fen),
                y(c.pending_fen),
                y(c.rejected_fen),
                y(c.unallocated_fen())
            )
            .map_err(io)?;
        }
    }
    let mut t = new_table(match lang {
        Lang::Zh => vec![
            "单位",
            "名称",
            "职工",
            "捐款人数",
            "参与率",
            "到账",
            "冲销",
            "净额",
        ],
        Lang::En => vec![
            "unit",
            "name",
            "staff",
            "donors",
            "participation",
            "received",
            "reversed",
            "net",
        ],
    });
    for u in &report.units {
        t.add_row(vec![
            u.unit_id.clone(),
            u.name.clone(),
            u.headcount.to_string(),
            u.donors.to_string(),
            if u.over_headcount {
                format!("{} *", u.participation())
            } else {
                u.participation().to_string()
            },
            y(u.received_fen),
            y(u.reversed_fen),
            y(u.net_received_fen()),
        ]);
    }
    align_right(&mut t, 2..8);
    writeln!(out, "{t}").map_err(io)?;
    if report.units.iter().any(|u| u.over_headcount) {
        let note = lang.pick(
            "* 捐款人数超过该单位职工人数，请核对",
            "* more donors than the unit's staff: please check",
        );
        writeln!(out, "{note}").map_err(io)?;
    }
    footer(out, lang, position)
}

async fn fund_balances(
    app: &App,
    json: bool,
    lang: Lang,
    position: LogPosition,
    out: &mut dyn std::io::Write,
) -> Result<(), Failure> {
    let funds = app.projector.funds().await.map_err(storage(lang))?;
    if json {
        return print_json(out, json!({"views_position": position, "funds": funds}));
    }
    let io = io_failure;
    writeln!(out, "{}", fund_table(&funds, lang)).map_err(io)?;
    for f in funds.iter().filter(|f| f.overdrawn) {
        match lang {
            Lang::Zh => writeln!(
                out,
                "✗ {}超支 {} 元：支出与已批未付超过收入",
                f.fund.label(lang),
                y(f.overdrawn_fen)
            ),
            Lang::En => writeln!(
                out,
                "✗ the {} is overdrawn by {} yuan: outflows and approved, unpaid obligations exceed inflows",
                f.fund.label(lang),
                y(f.overdrawn_fen)
            ),
        }
        .map_err(io)?;
    }
    footer(out, lang, position)
}

/// The fund-balance table (also printed by the demo).
pub fn fund_table(funds: &[FundBalanceRow], lang: Lang) -> Table {
    let mut t = new_table(match lang {
        Lang::Zh => vec![
            "资金",
            "互助金",
            "捐款净额",
            "拨入净额",
            "划入",
            "发放",
            "补助",
            "定向拨付",
            "划出",
            "余额",
            "已批未付",
            "可用",
            "超支",
        ],
        Lang::En => vec![
            "fund",
            "contributions",
            "donations (net)",
            "appropriations (net)",
            "transfers in",
            "grants paid",
            "claims paid",
            "designated",
            "transfers out",
            "balance",
            "approved, unpaid",
            "available",
            "overdrawn",
        ],
    });
    for f in funds {
        t.add_row(vec![
            f.fund.label(lang).to_string(),
            y(f.contributions_fen),
            y(f.donations_fen
                .sub_asserted(f.donations_reversed_fen, "reversals never exceed donations")),
            y(f.appropriations_fen.sub_asserted(
                f.appropriations_reversed_fen,
                "reversals never exceed appropriations",
            )),
            y(f.transfers_in_fen),
            y(f.grants_paid_fen),
            y(f.claims_paid_fen),
            y(f.designated_paid_fen),
            y(f.transfers_out_fen),
            y(f.balance_fen),
            y(f.committed_fen),
            y(f.available_fen),
            if f.overdrawn {
                y(f.overdrawn_fen)
            } else {
                String::new()
            },
        ]);
    }
    align_right(&mut t, 1..13);
    // Twelve columns of figures: wrapping the fund names would help nobody.
    t.set_content_arrangement(ContentArrangement::Disabled);
    t
}

/// `bangfu projections …`.
pub async fn projections(
    app: &App,
    command: ProjectionsCommand,
    lang: Lang,
    out: &mut dyn std::io::Write,
) -> Result<(), Failure> {
    let bar = progress_bar(lang);
    let tick = |done: u64, target: u64| {
        bar.set_length(target);
        bar.set_position(done.min(target));
    };
    match command {
        ProjectionsCommand::Rebuild { view } => {
            let views: Vec<ViewName> = match view {
                Some(v) => vec![v],
                None => ViewName::ALL.to_vec(),
            };
            let stats = app
                .projector
                .rebuild(&views, &tick)
                .await
                .map_err(storage(lang))?;
            bar.finish_and_clear();
            let names: Vec<&str> = views.iter().map(|v| v.label(lang)).collect();
            match lang {
                Lang::Zh => writeln!(
                    out,
                    "✓ 已重建视图（{}）：处理事件 {} 个，写入 {} 行，视图反映事件日志至位置 {}",
                    names.join("、"),
                    stats.events,
                    stats.rows,
                    stats.position
                ),
                Lang::En => writeln!(
                    out,
                    "✓ rebuilt ({}): {} events applied, {} rows written; views reflect the log up to position {}",
                    names.join(", "),
                    stats.events,
                    stats.rows,
                    stats.position
                ),
            }
            .map_err(io_failure)
        }
        ProjectionsCommand::Verify { json } => {
            let report = app.projector.verify(&tick).await.map_err(storage(lang))?;
            bar.finish_and_clear();
            print_verify(&report, json, lang, out)?;
            if report.is_ok() {
                Ok(())
            } else {
                Err(Failure {
                    code: Some("view.differs"),
                    message: lang
                        .pick(
                            "视图与重建结果不一致，或有资金超支",
                            "the views differ from a rebuild, or a fund is overdrawn",
                        )
                        .to_string(),
                    exit: ExitKind::ViewsDiffer,
                })
            }
        }
    }
}

/// A progress bar on stderr, hidden when stderr is not a terminal.
fn progress_bar(lang: Lang) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar =
        indicatif::ProgressBar::with_draw_target(Some(0), indicatif::ProgressDrawTarget::stderr());
    let template = match lang {
        Lang::Zh => "{spinner} 重建视图 [{bar:40}] {pos}/{len} 个事件 ({per_sec}, 剩余 {eta})",
        Lang::En => "{spinner} rebuilding [{bar:40}] {pos}/{len} events ({per_sec}, {eta} left)",
    };
    if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// The top-level fields of two JSON documents that differ (at most five).
fn differing_fields(live: &str, rebuilt: &str) -> Vec<String> {
    let (Ok(serde_json::Value::Object(a)), Ok(serde_json::Value::Object(b))) = (
        serde_json::from_str::<serde_json::Value>(live),
        serde_json::from_str::<serde_json::Value>(rebuilt),
    ) else {
        return vec!["doc".into()];
    };
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .take(5)
        .map(|k| {
            let show = |v: Option<&serde_json::Value>| {
                let s = v.map_or("—".to_string(), ToString::to_string);
                if s.chars().count() > 40 {
                    format!("{}…", s.chars().take(40).collect::<String>())
                } else {
                    s
                }
            };
            format!("{k}: {} ≠ {}", show(a.get(k)), show(b.get(k)))
        })
        .collect()
}

fn print_verify(
    report: &VerifyReport,
    json: bool,
    lang: Lang,
    out: &mut dyn std::io::Write,
) -> Result<(), Failure> {
    let io = io_failure;
    if json {
        let rows: Vec<_> = report
            .diff
            .rows
            .iter()
            .map(|d| {
                json!({
                    "kind": d.kind, "key": d.key,
                    "live": d.live.as_ref().map(|(doc, p)| json!({"doc": doc, "position": p})),
                    "rebuilt": d.rebuilt.as_ref().map(|(doc, p)| json!({"doc": doc, "position": p})),
                })
            })
            .collect();
        return print_json(
            out,
            json!({
                "ok": report.is_ok(),
                "position": report.position,
                "events": report.events,
                "same_position": report.same_position,
                "differences": rows,
                "differences_omitted": report.diff.omitted,
                "overdrawn": report.overdrawn,
            }),
        );
    }
    match lang {
        Lang::Zh => writeln!(out, "已从位置 0 重建全部视图（{} 个事件）并与现有视图比对，位置 {}", report.events, report.position),
        Lang::En => writeln!(out, "rebuilt every view from position 0 ({} events) and compared it with the live views at position {}", report.events, report.position),
    }
    .map_err(io)?;
    if !report.same_position {
        writeln!(
            out,
            "{}",
            lang.pick(
                "  ✗ 比对期间视图位置发生变化，请重试",
                "  ✗ the views moved during the comparison; run again"
            )
        )
        .map_err(io)?;
    }
    for d in &report.diff.rows {
        let what = match (&d.live, &d.rebuilt) {
            (Some(_), None) => lang
                .pick("多余（重建中不存在）", "extra (not in the rebuild)")
                .to_string(),
            (None, Some(_)) => lang
                .pick("缺失（重建中存在）", "missing (present in the rebuild)")
                .to_string(),
            (Some((l, lp)), Some((r, rp))) => {
                let mut fields = differing_fields(l, r);
                if lp != rp {
                    fields.push(format!("position: {lp} ≠ {rp}"));
                }
                format!(
                    "{}{}",
                    lang.pick("不一致：", "differs: "),
                    fields.join("; ")
                )
            }
            (None, None) => String::new(),
        };
        writeln!(out, "  ✗ {} {}：{what}", d.kind, d.key).map_err(io)?;
    }
    if report.diff.omitted > 0 {
        match lang {
            Lang::Zh => writeln!(out, "  ……另有 {} 行不一致", report.diff.omitted),
            Lang::En => writeln!(out, "  … and {} more differing rows", report.diff.omitted),
        }
        .map_err(io)?;
    }
    for f in &report.overdrawn {
        match lang {
            Lang::Zh => writeln!(
                out,
                "  ✗ {}超支 {} 元",
                f.fund.label(lang),
                y(f.overdrawn_fen)
            ),
            Lang::En => writeln!(
                out,
                "  ✗ the {} is overdrawn by {} yuan",
                f.fund.label(lang),
                y(f.overdrawn_fen)
            ),
        }
        .map_err(io)?;
    }
    if report.is_ok() {
        writeln!(
            out,
            "{}",
            lang.pick(
                "✓ 视图与重建结果一致，资金无超支",
                "✓ the views equal a rebuild; no fund is overdrawn"
            )
        )
        .map_err(io)?;
    }
    Ok(())
}
