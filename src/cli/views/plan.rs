//! `bangfu view plan-period`: a mutual-aid plan period printed.

use super::*;

pub(super) async fn plan_period(
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
                "捐款拨付本期补助 {} 元；本期结余（本期缴费加捐款拨付减本期已付补助）{} 元{}",
                y(report.donations_allocated_fen),
                y(report.period_net_fen),
                if report.period_shortfall_fen.is_zero() {
                    String::new()
                } else {
                    format!(
                        "（本期支出超出本期缴费 {} 元，由基金其他资金支付）",
                        y(report.period_shortfall_fen)
                    )
                }
            )
            .map_err(io)?;
            if let Some(f) = &report.mutual_aid_fund {
                writeln!(
                    out,
                    "互助基金余额 {} 元，已批未付 {} 元，可用余额 {} 元（与基金余额表、账簿一致）",
                    y(f.balance_fen),
                    y(f.committed_fen),
                    y(f.available_fen)
                )
                .map_err(io)?;
            }
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
                "Donations allocated to its claims {} yuan; period net (its contributions and allocations minus its subsidies paid) {} yuan{}",
                y(report.donations_allocated_fen),
                y(report.period_net_fen),
                if report.period_shortfall_fen.is_zero() {
                    String::new()
                } else {
                    format!(
                        " (paid {} yuan more than it raised, from the fund's other money)",
                        y(report.period_shortfall_fen)
                    )
                }
            )
            .map_err(io)?;
            if let Some(f) = &report.mutual_aid_fund {
                writeln!(
                    out,
                    "Mutual-aid fund balance {} yuan, committed {} yuan, available {} yuan (as the fund-balance view and the books state them)",
                    y(f.balance_fen),
                    y(f.committed_fen),
                    y(f.available_fen)
                )
                .map_err(io)?;
            }
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
