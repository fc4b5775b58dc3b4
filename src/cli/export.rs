//! `--format csv|csv-gbk|xlsx` and `--out FILE` on `bangfu view …`,
//! `history` and `show` (issue 13 item 6): the document `--json` prints,
//! its rows written as a file by [`crate::read::export`] — the same rows,
//! columns and Chinese headings the HTTP API gives for `Accept: text/csv`
//! or XLSX. With `--as-of …` the file is of that past; the same position
//! gives byte-identical files.
//!
//! Bad arguments (an unknown format, a file name whose format cannot be
//! told, a directory that does not exist, XLSX to a terminal) exit 3
//! before anything is read or written. The file is written beside its
//! final name and renamed into place, so a failure leaves nothing behind.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use domain::i18n::{ErrorCode, Lang, Localize};
use serde_json::Value;

use crate::app::{App, CaseAggregate};
use crate::audit::asof::AsOf;
use crate::cli::views::ViewCommand;
use crate::cli::{io_failure, ExitKind, Failure};
use crate::files::{CsvEncoding, Format};
use crate::read::export::{self, ViewFile};
use crate::store::StoredEvent;

/// `--format` / `--out`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ExportArgs {
    /// Write the rows as a file: csv (UTF-8 with BOM), csv-gbk or xlsx
    /// (default: from --out's extension).
    #[arg(long, global = true)]
    pub format: Option<String>,
    /// The file to write (standard output when absent).
    #[arg(long, global = true)]
    pub out: Option<PathBuf>,
}

/// Where and how to write a file.
#[derive(Debug, Clone)]
pub struct Target {
    format: Format,
    out: Option<PathBuf>,
}

fn bad(code: &'static str, message: String) -> Failure {
    Failure {
        code: Some(code),
        message,
        exit: ExitKind::Input,
    }
}

impl ExportArgs {
    /// The file asked for, if any, checked before anything runs.
    pub fn target(&self, lang: Lang) -> Result<Option<Target>, Failure> {
        let format = match (&self.format, &self.out) {
            (None, None) => return Ok(None),
            (Some(name), _) => export::format_named(name).ok_or_else(|| {
                bad(
                    "export.unknown_format",
                    match lang {
                        Lang::Zh => format!("未知的文件格式 `{name}`（可用：csv、csv-gbk、xlsx）"),
                        Lang::En => format!("unknown file format `{name}` (csv, csv-gbk, xlsx)"),
                    },
                )
            })?,
            (None, Some(path)) => export::format_of_path(path).ok_or_else(|| {
                bad(
                    "export.unknown_format",
                    match lang {
                        Lang::Zh => format!(
                            "无法从文件名 {} 判断格式，请加 --format csv|csv-gbk|xlsx",
                            path.display()
                        ),
                        Lang::En => format!(
                            "cannot tell the format from the name {}; add --format csv|csv-gbk|xlsx",
                            path.display()
                        ),
                    },
                )
            })?,
        };
        if let Some(path) = &self.out {
            check_out(path, lang)?;
        } else if format == Format::Xlsx && std::io::stdout().is_terminal() {
            return Err(bad(
                "export.binary_to_terminal",
                lang.pick(
                    "XLSX 是二进制文件，请用 --out 指定要写入的文件",
                    "XLSX is a binary file: name the file to write with --out",
                )
                .to_string(),
            ));
        }
        Ok(Some(Target {
            format,
            out: self.out.clone(),
        }))
    }
}

/// The output file's directory must exist and the name must not be one.
fn check_out(path: &Path, lang: Lang) -> Result<(), Failure> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(bad(
            "export.no_directory",
            match lang {
                Lang::Zh => format!("目录 {} 不存在，未写入任何文件", dir.display()),
                Lang::En => format!(
                    "the directory {} does not exist; nothing was written",
                    dir.display()
                ),
            },
        ));
    }
    if path.is_dir() || path.file_name().is_none() {
        return Err(bad(
            "export.out_is_directory",
            match lang {
                Lang::Zh => format!("{} 是目录，请给出文件名", path.display()),
                Lang::En => format!("{} is a directory; name a file", path.display()),
            },
        ));
    }
    Ok(())
}

/// Writes `doc`'s rows (`view.rows`) as the target file, or to `out`.
pub fn write(
    target: &Target,
    view: &ViewFile,
    doc: &Value,
    lang: Lang,
    out: &mut dyn std::io::Write,
) -> Result<(), Failure> {
    let (file, rows) = export::render(view, doc, target.format, lang).map_err(|e| Failure {
        code: Some(e.code()),
        message: e.localize(lang),
        exit: ExitKind::Input,
    })?;
    write_bytes(target, view, &file, rows, lang, out)
}

/// `bangfu view journal --format …`: the books' journal, one row per
/// debit–credit pair ([`crate::finance::journal_file`], the same table
/// `GET /v1/views/journal` serves).
async fn journal(
    app: &App,
    month: Option<&str>,
    target: &Target,
    lang: Lang,
    out: &mut dyn std::io::Write,
) -> Result<(), Failure> {
    let storage = |e: crate::projector::ProjectorError| {
        Failure::app(crate::app::AppError::Storage(e.to_string()), lang)
    };
    let entries = crate::finance::journal(app, month).await.map_err(storage)?;
    let table = crate::finance::journal_file::journal_table(&entries, lang);
    let file = table.render(target.format, lang).map_err(|e| Failure {
        code: Some(e.code()),
        message: e.localize(lang),
        exit: ExitKind::Input,
    })?;
    let view = ViewFile {
        zh: "记账凭证",
        en: "journal",
        rows: "/entries",
    };
    write_bytes(target, &view, &file, table.rows.len(), lang, out)
}

/// Writes rendered bytes to the target file (or `out`) and says so.
fn write_bytes(
    target: &Target,
    view: &ViewFile,
    file: &crate::files::FileBytes,
    rows: usize,
    lang: Lang,
    out: &mut dyn std::io::Write,
) -> Result<(), Failure> {
    let Some(path) = &target.out else {
        return out.write_all(&file.bytes).map_err(io_failure);
    };
    write_replacing(path, &file.bytes).map_err(|e| {
        Failure::other(match lang {
            Lang::Zh => format!("无法写入 {}：{e}", path.display()),
            Lang::En => format!("cannot write {}: {e}", path.display()),
        })
    })?;
    let kind = match target.format {
        Format::Csv(CsvEncoding::Utf8Bom) => "CSV UTF-8",
        Format::Csv(CsvEncoding::Gbk) => "CSV GBK",
        Format::Xlsx => "XLSX",
    };
    match lang {
        Lang::Zh => writeln!(
            out,
            "✓ 已导出{} {rows} 行至 {}（{kind}，SHA-256 {}）",
            view.zh,
            path.display(),
            file.sha256
        ),
        Lang::En => writeln!(
            out,
            "✓ {} exported, {rows} row(s), to {} ({kind}, SHA-256 {})",
            view.en,
            path.display(),
            file.sha256
        ),
    }
    .map_err(io_failure)
}

/// Writes `bytes` beside `path` and renames them into place.
fn write_replacing(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let part = path.with_file_name(format!(
        ".{}.{}.part",
        name.unwrap_or_default(),
        std::process::id()
    ));
    let written = std::fs::write(&part, bytes).and_then(|()| std::fs::rename(&part, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&part);
    }
    written
}

/// The file a view command writes, and the command made to print JSON.
fn view_file_of(command: &mut ViewCommand) -> ViewFile {
    let (json, file) = match command {
        ViewCommand::HouseholdFile { json, .. } => (json, export::HOUSEHOLD_FILE),
        ViewCommand::PlanPeriod { json, .. } => (json, export::PLAN_PERIOD),
        ViewCommand::PayoutLedger { json, .. } => (json, export::PAYOUT_LEDGER),
        ViewCommand::Campaign { json, .. } => (json, export::CAMPAIGN),
        ViewCommand::FundBalances { json } => (json, export::FUND_BALANCES),
        ViewCommand::Reconciliation { json, .. } => (json, export::RECONCILIATION),
        ViewCommand::Ledger { json, month } => match month {
            Some(_) => (json, export::JOURNAL),
            None => (json, export::TRIAL_BALANCE),
        },
        // Written by `journal` above; the JSON's entries otherwise.
        ViewCommand::Journal { json, .. } => (
            json,
            ViewFile {
                zh: "记账凭证",
                en: "journal",
                rows: "/entries",
            },
        ),
        ViewCommand::Lineage { json, .. } => (
            json,
            ViewFile {
                zh: "资金溯源",
                en: "lineage",
                rows: "/pieces",
            },
        ),
    };
    *json = true;
    file
}

/// `bangfu view … --format …`: the view's JSON document (now, or as of
/// `point`), its rows written as a file.
pub async fn view(
    app: &App,
    mut command: ViewCommand,
    point: Option<AsOf>,
    target: Target,
    lang: Lang,
    out: &mut dyn std::io::Write,
) -> Result<(), Failure> {
    if let ViewCommand::Journal { month, .. } = &command {
        return match &point {
            None => journal(app, month.as_deref(), &target, lang, out).await,
            Some(p) => {
                let (past, _) = crate::audit::asof::app_as_of(app, projections::ViewName::Books, p)
                    .await
                    .map_err(|e| Failure::other(e.to_string()))?;
                journal(&past, month.as_deref(), &target, lang, out).await
            }
        };
    }
    let file = view_file_of(&mut command);
    let mut json = Vec::new();
    match &point {
        None => crate::cli::views::view(app, command, lang, &mut json).await?,
        Some(p) => crate::cli::audit_review::view_as_of(app, command, p, lang, &mut json).await?,
    }
    let doc: Value =
        serde_json::from_slice(&json).map_err(|e| Failure::other(format!("view JSON: {e}")))?;
    write(&target, &file, &doc, lang, out)
}

/// `bangfu history … --format …`: the stream's events (as of a point, if
/// given) with their chain marks, one row each.
pub fn history<A>(
    events: Vec<StoredEvent>,
    id: &str,
    mask: bool,
    target: &Target,
    lang: Lang,
    out: &mut dyn std::io::Write,
) -> Result<(), Failure>
where
    A: CaseAggregate,
    A::Error: ErrorCode,
{
    let doc = serde_json::json!({
        "aggregate_type": A::TYPE,
        "aggregate_id": id,
        "events": crate::audit::history::event_docs::<A>(events, lang, mask),
    });
    write(target, &export::HISTORY, &doc, lang, out)
}

/// `bangfu show … --format …`: the document `show` prints, one row per field.
pub fn show(
    doc: &Value,
    target: &Target,
    lang: Lang,
    out: &mut dyn std::io::Write,
) -> Result<(), Failure> {
    write(target, &export::STATE, &export::fields_doc(doc), lang, out)
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use crate::cli::{Cli, Command};

    #[test]
    fn the_command_line_holds_together() {
        Cli::command().debug_assert();
    }

    #[test]
    fn format_and_out_go_before_or_after_the_view() {
        for args in [
            &[
                "bangfu",
                "view",
                "fund-balances",
                "--format",
                "xlsx",
                "--out",
                "a.xlsx",
            ][..],
            &[
                "bangfu",
                "view",
                "--format",
                "xlsx",
                "--out",
                "a.xlsx",
                "fund-balances",
            ][..],
        ] {
            let cli = Cli::try_parse_from(args).expect("parses");
            let Command::View { export, .. } = cli.command else {
                panic!("not a view");
            };
            assert_eq!(export.format.as_deref(), Some("xlsx"));
            assert_eq!(export.out.as_deref(), Some(std::path::Path::new("a.xlsx")));
        }
        let cli = Cli::try_parse_from([
            "bangfu",
            "history",
            "hardship-file",
            "HF-1",
            "--out",
            "h.csv",
        ])
        .expect("parses");
        assert!(matches!(cli.command, Command::History { .. }));
    }
}
