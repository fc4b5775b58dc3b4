//! `bangfu view payout-ledger`: the payouts and their totals printed.

use super::*;

pub(super) fn sums_row(label: String, s: &StateSums) -> Vec<String> {
    vec![
        label,
        s.payouts.to_string(),
        y(s.requested_fen),
        y(s.approved_fen),
        y(s.paid_fen),
        y(s.transferred_fen),
        y(s.declined_fen),
    ]
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn payout_ledger(
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
        funds,
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
                "funds": funds,
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
            "调出",
            "不予发放",
        ]
    } else {
        vec![
            "totals",
            "payouts",
            "requested",
            "approved",
            "paid",
            "transferred",
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
    align_right(&mut by_fund, 1..7);
    writeln!(out, "{}\n{by_fund}", lang.pick("\n按资金来源", "\nBy fund")).map_err(io)?;
    let mut by_month = new_table(header);
    for (m, s) in &totals.by_month {
        by_month.add_row(sums_row(m.clone(), s));
    }
    align_right(&mut by_month, 1..7);
    writeln!(out, "{}\n{by_month}", lang.pick("\n按月份", "\nBy month")).map_err(io)?;
    if totals.transfers > 0 {
        match lang {
            Lang::Zh => writeln!(
                out,
                "资金划转 {} 笔：捐款拨付至帮扶措施或互助申请，批准时从捐款基金调出（计入「调出」），由对应发放支付给个人",
                totals.transfers
            ),
            Lang::En => writeln!(
                out,
                "{} transfers: allocations to measures or claims leave the donation fund at approval (\"transferred\"); the person is paid through those payouts",
                totals.transfers
            ),
        }
        .map_err(io)?;
    }
    let mut balances = new_table(if zh {
        vec!["基金", "余额", "已批未付", "可用余额"]
    } else {
        vec!["fund", "balance", "committed", "available"]
    });
    for f in &funds {
        balances.add_row(vec![
            f.fund.label(lang).to_string(),
            y(f.balance_fen),
            y(f.committed_fen),
            y(f.available_fen),
        ]);
    }
    align_right(&mut balances, 1..4);
    writeln!(
        out,
        "{}\n{balances}",
        lang.pick(
            "\n基金余额（与基金余额表、账簿一致）",
            "\nFund balances (as the fund-balance view and the books state them)"
        )
    )
    .map_err(io)?;
    footer(out, lang, position)
}
