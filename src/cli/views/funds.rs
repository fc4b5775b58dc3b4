//! `bangfu view fund-balances`: every fund's flows and balance printed.

use super::*;

pub(super) async fn fund_balances(
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
