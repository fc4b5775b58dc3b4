//! `bangfu view journal`: the books' journal (记账凭证) printed, or exported
//! as CSV (UTF-8 with BOM, or GBK) or XLSX with `--out` — the same table
//! `GET /v1/views/journal` serves ([`crate::finance::journal_file`]).

use std::path::{Path, PathBuf};

use super::*;
use crate::files::{CsvEncoding, Format};
use crate::finance::journal_file::journal_table;

/// `--format`: csv (UTF-8 with BOM), csv-gbk, xlsx.
pub(super) fn parse_format(s: &str) -> Result<Format, String> {
    match s.to_ascii_lowercase().as_str() {
        "csv" => Ok(Format::Csv(CsvEncoding::Utf8Bom)),
        "csv-gbk" | "gbk" => Ok(Format::Csv(CsvEncoding::Gbk)),
        "xlsx" => Ok(Format::Xlsx),
        _ => Err(format!("unknown format `{s}` (csv, csv-gbk, xlsx)")),
    }
}

/// The format a file name asks for: `.xlsx`, else CSV (UTF-8 with BOM).
fn format_of(path: &Path) -> Format {
    match path.extension().and_then(|e| e.to_str()) {
        Some(e) if e.eq_ignore_ascii_case("xlsx") => Format::Xlsx,
        _ => Format::Csv(CsvEncoding::Utf8Bom),
    }
}

fn input(message: String) -> Failure {
    Failure {
        code: Some("view.bad_argument"),
        message,
        exit: ExitKind::Input,
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn journal(
    app: &App,
    month: Option<String>,
    format: Option<Format>,
    path: Option<PathBuf>,
    json: bool,
    lang: Lang,
    position: LogPosition,
    out: &mut dyn std::io::Write,
) -> Result<(), Failure> {
    let entries = crate::finance::journal(app, month.as_deref())
        .await
        .map_err(storage(lang))?;
    let table = journal_table(&entries, lang);
    let Some(path) = path else {
        if format.is_some() {
            return Err(input(
                lang.pick(
                    "--format 需与 --out 文件路径同用",
                    "--format needs --out FILE",
                )
                .to_string(),
            ));
        }
        if json {
            return print_json(
                out,
                json!({"views_position": position, "month": month, "entries": entries}),
            );
        }
        return print_table(&table, lang, position, out);
    };
    let format = format.unwrap_or_else(|| format_of(&path));
    let file = table
        .render(format, lang)
        .map_err(|e| input(domain::i18n::Localize::localize(&e, lang)))?;
    std::fs::write(&path, &file.bytes).map_err(|e| {
        Failure::other(match lang {
            Lang::Zh => format!("无法写入 {}：{e}", path.display()),
            Lang::En => format!("cannot write {}: {e}", path.display()),
        })
    })?;
    match lang {
        Lang::Zh => writeln!(
            out,
            "已导出记账凭证 {} 行至 {}（SHA-256 {}）",
            table.rows.len(),
            path.display(),
            file.sha256
        ),
        Lang::En => writeln!(
            out,
            "journal exported: {} rows to {} (SHA-256 {})",
            table.rows.len(),
            path.display(),
            file.sha256
        ),
    }
    .map_err(io_failure)?;
    footer(out, lang, position)
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
