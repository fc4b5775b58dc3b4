//! `bangfu view journal`: the books' journal (记账凭证) printed (with
//! `--format`/`--out`, `crate::cli::export` writes it as CSV or XLSX) — the
//! same table `GET /v1/views/journal` serves ([`crate::finance::journal_file`]);
//! and `bangfu view lineage`.

use super::*;
use crate::finance::journal_file::journal_table;

pub(super) async fn journal(
    app: &App,
    month: Option<String>,
    json: bool,
    lang: Lang,
    position: LogPosition,
    out: &mut dyn std::io::Write,
) -> Result<(), Failure> {
    let entries = crate::finance::journal(app, month.as_deref())
        .await
        .map_err(storage(lang))?;
    if json {
        return print_json(
            out,
            json!({"views_position": position, "month": month, "entries": entries}),
        );
    }
    print_table(&journal_table(&entries, lang), lang, position, out)
}

fn print_table(
    table: &crate::files::table::Table,
    lang: Lang,
    position: LogPosition,
    out: &mut dyn std::io::Write,
) -> Result<(), Failure> {
    let headings: Vec<&str> = table.headings.iter().map(|h| h.text(lang)).collect();
    let mut t = new_table(headings);
    for row in &table.rows {
        t.add_row(row.iter().map(|c| c.to_text()).collect::<Vec<_>>());
    }
    align_right(&mut t, 6..7);
    writeln!(out, "{t}").map_err(io_failure)?;
    footer(out, lang, position)
}

/// `bangfu view lineage`: which inflows paid for a payout, or which payouts
/// an inflow (a donation receipt, a contribution, an appropriation) ended
/// up in, to the fen.
pub(super) async fn lineage(
    app: &App,
    payout: Option<String>,
    inflow: Option<String>,
    json: bool,
    lang: Lang,
    position: LogPosition,
    out: &mut dyn std::io::Write,
) -> Result<(), Failure> {
    let pieces = crate::finance::lineage_of(app, payout.as_deref(), inflow.as_deref())
        .await
        .map_err(storage(lang))?;
    let total = Fen::checked_sum(pieces.iter().map(|p| p.amount_fen))
        .map_err(|e| Failure::other(e.to_string()))?;
    if json {
        return print_json(
            out,
            json!({"views_position": position, "payout": payout, "inflow": inflow,
                   "pieces": pieces, "total_fen": total}),
        );
    }
    let mut t = new_table(match lang {
        Lang::Zh => vec!["发放编号", "资金来源（收入）", "金额"],
        Lang::En => vec!["payout", "inflow", "amount"],
    });
    for p in &pieces {
        let inflow = if p.inflow_id == projections::views::lineage::UNFUNDED {
            lang.pick("无资金来源", "unfunded").to_string()
        } else {
            p.inflow_id.clone()
        };
        t.add_row(vec![p.payout_id.clone(), inflow, y(p.amount_fen)]);
    }
    t.add_row(vec![
        lang.pick("合计", "total").to_string(),
        String::new(),
        y(total),
    ]);
    align_right(&mut t, 2..3);
    writeln!(out, "{t}").map_err(io_failure)?;
    footer(out, lang, position)
}
