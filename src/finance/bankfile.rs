//! A batch's bank files through the write side: the export (the file made
//! with [`crate::files::bank`] and `RecordExport` with its SHA-256, in one
//! step) and the import of the bank's result file (parsed strictly with
//! [`crate::files::result`], then `RecordResults`). The CLI (`bangfu bank
//! export|import`) and HTTP (`POST /v1/payout-batches/{id}/exports`,
//! `POST /v1/payout-batches/{id}/bank-results`) both go through here.
//!
//! - Lines go into the file in the batch's order (by payout id), 序号 1…n;
//!   a result line is matched back by its 支付编号 when the template has
//!   that column, else by its 序号 (a 序号 not in the batch is named
//!   `seq:N`, an unknown line).
//! - Export only from an authorised (or already exported) batch; every
//!   export is an event. The file is rendered from the version it records
//!   (`If-Match` on the engine), so a concurrent change cannot slip in.
//! - A malformed result file is refused whole, naming line and column, and
//!   nothing is written; the same file twice is recognised by its SHA-256
//!   and records nothing.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use domain::command::{Cmd, CommandContext};
use domain::finance::batch::{
    BankResult, BatchState, FileFormat, PayoutBatch, PayoutBatchCommand, PayoutBatchEvent,
    ResultException,
};
use domain::i18n::{ErrorCode, Lang, Localize};
use domain::values::{Code, Fen, ShortText};

use crate::app::engine::{Committed, ExecError};
use crate::app::{App, AppError};
use crate::files::bank::{export_batch, BankTemplate, PayoutLine as BankLine};
use crate::files::result::{parse_result, ResultLine, ResultStatus};
use crate::files::{sha256_hex, CsvEncoding, FileBytes, FileError, FileErrorKind, Format};

/// Times an export is rendered again, or an import run again, after
/// losing a race for the batch.
const RETRIES: usize = 3;

/// Why a bank file could not be made or read. Nothing was written.
#[derive(Debug)]
pub enum BankFileError {
    /// The file or the template is malformed (line and column named).
    File(FileError),
    /// No such batch.
    NotFound(String),
    /// Export needs an authorised batch.
    NotAuthorised { state: &'static str },
    /// Results need an exported batch.
    NotExported { state: &'static str },
    /// A cash payout has no place in a bank file.
    CashLine(String),
    /// The command was refused, or the store failed.
    App(AppError),
}

impl From<FileError> for BankFileError {
    fn from(e: FileError) -> Self {
        BankFileError::File(e)
    }
}

impl From<AppError> for BankFileError {
    fn from(e: AppError) -> Self {
        BankFileError::App(e)
    }
}

impl ErrorCode for BankFileError {
    fn code(&self) -> &'static str {
        match self {
            BankFileError::File(e) => e.code(),
            BankFileError::NotFound(_) => "bank.batch_not_found",
            BankFileError::NotAuthorised { .. } => "bank.not_authorised",
            BankFileError::NotExported { .. } => "bank.not_exported",
            BankFileError::CashLine(_) => "bank.cash_line",
            BankFileError::App(e) => e.code(),
        }
    }
}

impl Localize for BankFileError {
    fn localize(&self, lang: Lang) -> String {
        match (self, lang) {
            (BankFileError::File(e), _) => e.localize(lang),
            (BankFileError::App(e), _) => e.localize(lang),
            (BankFileError::NotFound(id), Lang::Zh) => format!("没有发放批次 {id}"),
            (BankFileError::NotFound(id), Lang::En) => format!("no payout batch {id}"),
            (BankFileError::NotAuthorised { state }, Lang::Zh) => format!(
                "批次尚未审批签发（当前状态：{}），不能导出银行文件；未生成文件",
                state_label(state, lang)
            ),
            (BankFileError::NotAuthorised { state }, Lang::En) => format!(
                "the batch is not authorised (it is {}); no bank file was made",
                state_label(state, lang)
            ),
            (BankFileError::NotExported { state }, Lang::Zh) => format!(
                "批次尚未导出银行文件（当前状态：{}），不能导入回单；未作任何记录",
                state_label(state, lang)
            ),
            (BankFileError::NotExported { state }, Lang::En) => format!(
                "the batch has not been exported (it is {}); nothing was recorded",
                state_label(state, lang)
            ),
            (BankFileError::CashLine(id), Lang::Zh) => {
                format!("批次含现金发放 {id}，不能写入银行文件；请作废批次后重编")
            }
            (BankFileError::CashLine(id), Lang::En) => format!(
                "the batch holds the cash payout {id}, which cannot go in a bank file; discard and redraft"
            ),
        }
    }
}

impl std::fmt::Display for BankFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.localize(domain::i18n::default_lang()))
    }
}

/// A batch state for people.
pub fn state_label(state: &str, lang: Lang) -> &'static str {
    match state {
        "drafted" => lang.pick("已编制", "drafted"),
        "locked" => lang.pick("已锁定", "locked"),
        "authorised" => lang.pick("已签发", "authorised"),
        "exported" => lang.pick("已导出", "exported"),
        "closed" => lang.pick("已关闭", "closed"),
        "discarded" => lang.pick("已作废", "discarded"),
        _ => lang.pick("未编制", "not drafted"),
    }
}

/// `csv` (UTF-8 with BOM), `csv-gbk`, `xlsx` (also `csv_utf8`, `csv_gbk`).
pub fn parse_format(s: &str) -> Option<FileFormat> {
    match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
        "csv" | "csv-utf8" => Some(FileFormat::CsvUtf8),
        "csv-gbk" | "gbk" => Some(FileFormat::CsvGbk),
        "xlsx" => Some(FileFormat::Xlsx),
        _ => None,
    }
}

/// The files crate's format of a recorded format.
pub fn file_format(f: FileFormat) -> Format {
    match f {
        FileFormat::CsvUtf8 => Format::Csv(CsvEncoding::Utf8Bom),
        FileFormat::CsvGbk => Format::Csv(CsvEncoding::Gbk),
        FileFormat::Xlsx => Format::Xlsx,
    }
}

/// The template's name in the export event: `default`, or `tpl-` and the
/// first 16 hex digits of the SHA-256 of its JSON (the same template, the
/// same code).
pub fn template_code(t: &BankTemplate) -> String {
    if *t == BankTemplate::default() {
        return "default".into();
    }
    let json = serde_json::to_vec(t).unwrap_or_default();
    format!("tpl-{}", &sha256_hex(&json)[..16])
}

/// Reads a template file: JSON when it starts with `{`, else TOML.
pub fn read_template(text: &str) -> Result<BankTemplate, FileError> {
    if text.trim_start().starts_with('{') {
        BankTemplate::from_json(text)
    } else {
        BankTemplate::from_toml(text)
    }
}

/// The batch's lines as the bank gets them, 序号 1… in the batch's order.
pub fn bank_lines(batch: &PayoutBatch) -> Result<Vec<BankLine>, BankFileError> {
    batch
        .lines()
        .enumerate()
        .map(|(i, (line, _))| {
            let domain::finance::PayeeAccount::Bank { card, bank } = &line.account else {
                return Err(BankFileError::CashLine(line.payout_id.to_string()));
            };
            Ok(BankLine {
                seq: i as u32 + 1,
                payout_id: line.payout_id.to_string(),
                name: line.payee.as_str().to_string(),
                account: card.expose().to_string(),
                bank_name: bank.as_ref().map_or("", |b| b.as_str()).to_string(),
                amount: line.amount_fen,
                purpose: line.purpose.as_str().to_string(),
            })
        })
        .collect()
}

/// A file name for the batch's bank file (`/` in an id becomes `_`).
pub fn file_name(batch_id: &str, format: FileFormat) -> String {
    let id = batch_id.replace('/', "_");
    match format {
        FileFormat::CsvUtf8 => format!("{id}-银行代发.csv"),
        FileFormat::CsvGbk => format!("{id}-银行代发-GBK.csv"),
        FileFormat::Xlsx => format!("{id}-银行代发.xlsx"),
    }
}

/// A rendered bank file and what its export records.
#[derive(Clone, Debug)]
pub struct Rendered {
    /// The bytes and their SHA-256.
    pub file: FileBytes,
    /// A file name to save it under.
    pub file_name: String,
    /// The template's code.
    pub template: String,
    /// Lines in the file (the totals line not counted).
    pub lines: usize,
    /// Their sum.
    pub total: Fen,
}

/// Renders the bank file of `batch` (loaded as `batch_id`), refusing a
/// batch that is not authorised.
pub fn render(
    batch_id: &str,
    batch: &PayoutBatch,
    format: FileFormat,
    template: &BankTemplate,
) -> Result<Rendered, BankFileError> {
    match batch.state() {
        BatchState::New => return Err(BankFileError::NotFound(batch_id.to_string())),
        BatchState::Authorised | BatchState::Exported => {}
        other => {
            return Err(BankFileError::NotAuthorised {
                state: other.as_str(),
            })
        }
    }
    render_file(batch_id, batch, format, template)
}

/// The bank file of `batch` whatever its state: what an export recorded,
/// made again (the same lines give the same bytes).
pub fn render_file(
    batch_id: &str,
    batch: &PayoutBatch,
    format: FileFormat,
    template: &BankTemplate,
) -> Result<Rendered, BankFileError> {
    let lines = bank_lines(batch)?;
    let file = export_batch(template, batch_id, &lines, file_format(format))?;
    Ok(Rendered {
        file,
        file_name: file_name(batch_id, format),
        template: template_code(template),
        lines: lines.len(),
        total: batch.total_fen(),
    })
}

/// Renders the bank file and records its export, in one step: the event is
/// written only for the bytes returned (rendered from the version it is
/// recorded on).
pub async fn export(
    app: &App,
    batch_id: &str,
    format: FileFormat,
    template: &BankTemplate,
    ctx: CommandContext,
) -> Result<(Rendered, Committed<PayoutBatch>), BankFileError> {
    crate::app::check_aggregate_id(batch_id)?;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let loaded = app.batches.load(batch_id).await.map_err(AppError::from)?;
        let rendered = render(batch_id, &loaded.aggregate, format, template)?;
        let body = PayoutBatchCommand::RecordExport {
            format,
            template: code(&rendered.template)?,
            sha256: code(&rendered.file.sha256)?,
            lines: rendered.lines as u32,
            total_fen: rendered.total,
        };
        let cmd = Cmd {
            ctx: ctx.clone(),
            body,
        };
        let metadata = ctx.metadata();
        match app
            .batches
            .execute_expecting(batch_id, cmd, metadata, Some(loaded.version))
            .await
        {
            Ok(committed) => return Ok((rendered, committed)),
            Err(ExecError::Conflict) if attempt <= RETRIES => continue,
            Err(e) => return Err(AppError::from(e).into()),
        }
    }
}

fn code(s: &str) -> Result<Code, BankFileError> {
    Code::parse(s).map_err(|e| BankFileError::App(AppError::Storage(e.to_string())))
}

/// What an import did.
#[derive(Debug)]
pub struct Imported {
    /// SHA-256 of the file.
    pub sha256: String,
    /// Data lines read.
    pub lines: usize,
    /// What was recorded; `None` when the file was already imported.
    pub committed: Option<Committed<PayoutBatch>>,
    /// Lines settled as paid.
    pub paid: usize,
    /// Lines settled as failed.
    pub failed: usize,
    /// The failed payouts and the bank's reasons, to follow up.
    pub failures: Vec<(String, String)>,
    /// What did not match.
    pub exceptions: Vec<ResultException>,
}

/// The result file's lines as the batch's command takes them, matched by
/// 支付编号 or 序号; `value_date` is the day the bank booked them.
pub fn results_of(
    batch_id: &str,
    batch: &PayoutBatch,
    template: &BankTemplate,
    bytes: &[u8],
    value_date: NaiveDate,
) -> Result<Vec<BankResult>, BankFileError> {
    let parsed = parse_result(template, batch_id, bytes)?;
    let lines = bank_lines(batch)?;
    let by_seq: BTreeMap<u32, &str> = lines
        .iter()
        .map(|l| (l.seq, l.payout_id.as_str()))
        .collect();
    parsed
        .iter()
        .map(|r| bank_result(r, &by_seq, value_date))
        .collect()
}

fn bad_text(line: usize, value: &str) -> FileError {
    let value: String = value.chars().take(40).collect();
    FileError::at_line(line, FileErrorKind::BadText { value })
}

fn bank_result(
    r: &ResultLine,
    by_seq: &BTreeMap<u32, &str>,
    value_date: NaiveDate,
) -> Result<BankResult, BankFileError> {
    let named = match &r.payout_id {
        Some(id) => id.clone(),
        None => by_seq
            .get(&r.seq)
            .map_or_else(|| format!("seq:{}", r.seq), |id| id.to_string()),
    };
    let payout_id = ShortText::parse(&named).map_err(|_| bad_text(r.line, &named))?;
    let reason = match r.reason.trim() {
        "" => None,
        text => Some(ShortText::parse(text).map_err(|_| bad_text(r.line, text))?),
    };
    Ok(BankResult {
        line: u32::try_from(r.line).unwrap_or(u32::MAX),
        payout_id,
        account: r.account.clone(),
        amount_fen: r.amount,
        paid: r.status == ResultStatus::Success,
        reason,
        value_date,
    })
}

/// Parses the bank's result file for the batch and records it. The same
/// file again records nothing (`committed` is `None`).
pub async fn import(
    app: &App,
    batch_id: &str,
    bytes: &[u8],
    template: &BankTemplate,
    value_date: Option<NaiveDate>,
    ctx: CommandContext,
) -> Result<Imported, BankFileError> {
    crate::app::check_aggregate_id(batch_id)?;
    let loaded = app.batches.load(batch_id).await.map_err(AppError::from)?;
    match loaded.aggregate.state() {
        BatchState::New => return Err(BankFileError::NotFound(batch_id.to_string())),
        BatchState::Exported | BatchState::Closed => {}
        other => {
            return Err(BankFileError::NotExported {
                state: other.as_str(),
            })
        }
    }
    let value_date = value_date.unwrap_or_else(|| ctx.business_date());
    let results = results_of(batch_id, &loaded.aggregate, template, bytes, value_date)?;
    let sha256 = sha256_hex(bytes);
    let lines = results.len();
    let body = PayoutBatchCommand::RecordResults {
        sha256: code(&sha256)?,
        results,
    };
    // Two imports of one file at once race on the batch's version; the
    // loser runs again, finds the file recorded and records nothing.
    let mut attempt = 0;
    let committed = loop {
        attempt += 1;
        let cmd = Cmd {
            ctx: ctx.clone(),
            body: body.clone(),
        };
        match crate::app::execute(&app.batches, batch_id, cmd).await {
            Err(AppError::Conflict) if attempt <= RETRIES => continue,
            other => break other?,
        }
    };
    let mut imported = Imported {
        sha256,
        lines,
        committed: None,
        paid: 0,
        failed: 0,
        failures: Vec::new(),
        exceptions: Vec::new(),
    };
    for e in &committed.events {
        if let PayoutBatchEvent::BankResultsRecorded {
            outcomes,
            exceptions,
            ..
        } = &e.payload
        {
            imported.paid = outcomes.iter().filter(|o| o.paid).count();
            imported.failed = outcomes.len() - imported.paid;
            imported.failures = outcomes
                .iter()
                .filter(|o| !o.paid)
                .map(|o| {
                    let reason = o.reason.as_ref().map_or("", |r| r.as_str());
                    (o.payout_id.to_string(), reason.to_string())
                })
                .collect();
            imported.exceptions = exceptions.clone();
        }
    }
    if !committed.events.is_empty() {
        imported.committed = Some(committed);
    }
    Ok(imported)
}

#[cfg(test)]
mod tests {
    use cqrs_es::Aggregate;
    use domain::finance::batch::{sample_events, PayoutBatchEvent};
    use domain::finance::PayeeAccount;

    use super::*;

    /// The sample batch after its first `n` events (3: authorised).
    fn batch(n: usize, cash: bool) -> PayoutBatch {
        let mut b = PayoutBatch::default();
        for mut e in sample_events().into_iter().take(n) {
            if let (true, PayoutBatchEvent::BatchDrafted { lines, .. }) = (cash, &mut e) {
                lines[1].account = PayeeAccount::Cash;
            }
            b.apply(e);
        }
        b
    }

    #[test]
    fn only_an_authorised_batch_of_bank_lines_is_rendered() {
        let t = BankTemplate::default();
        let ok = render("PB-1", &batch(3, false), FileFormat::CsvUtf8, &t).unwrap();
        assert_eq!((ok.lines, ok.template.as_str()), (2, "default"));
        assert_eq!(ok.file_name, "PB-1-银行代发.csv");
        let locked = render("PB-1", &batch(2, false), FileFormat::Xlsx, &t).unwrap_err();
        assert_eq!(locked.code(), "bank.not_authorised");
        assert!(locked.localize(Lang::Zh).contains("已锁定"));
        let new = render("PB-1", &batch(0, false), FileFormat::Xlsx, &t).unwrap_err();
        assert_eq!(new.code(), "bank.batch_not_found");
        let cash = render("PB-1", &batch(3, true), FileFormat::Xlsx, &t).unwrap_err();
        assert_eq!(cash.code(), "bank.cash_line");
    }

    #[test]
    fn formats_templates_and_names() {
        assert_eq!(parse_format("CSV"), Some(FileFormat::CsvUtf8));
        assert_eq!(parse_format("csv_gbk"), Some(FileFormat::CsvGbk));
        assert_eq!(parse_format("xlsx"), Some(FileFormat::Xlsx));
        assert_eq!(parse_format("pdf"), None);
        let t = BankTemplate {
            totals_label: "总计".into(),
            ..BankTemplate::default()
        };
        let code = template_code(&t);
        assert!(code.starts_with("tpl-") && code.len() == 20, "{code}");
        assert_eq!(template_code(&t), code, "the same template, the same code");
        assert_eq!(
            file_name("PB/3", FileFormat::CsvGbk),
            "PB_3-银行代发-GBK.csv"
        );
    }

    #[test]
    fn result_lines_are_matched_back_by_seq_and_bad_text_is_named() {
        let b = batch(4, false);
        let t = BankTemplate::default();
        let lines = bank_lines(&b).unwrap();
        let rl = |seq: u32, reason: &str| ResultLine {
            line: seq as usize + 1,
            seq,
            payout_id: None,
            name: "陈建国".into(),
            account: lines[0].account.clone(),
            amount: lines[0].amount,
            status: ResultStatus::Failed,
            reason: reason.into(),
        };
        let table =
            crate::files::result::result_table(&t, "PB-1", &[rl(1, "销户"), rl(7, "无此户")])
                .unwrap();
        let bytes = table.render(Format::Xlsx, Lang::Zh).unwrap().bytes;
        let day = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        let got = results_of("PB-1", &b, &t, &bytes, day).unwrap();
        assert_eq!(got[0].payout_id.as_str(), lines[0].payout_id);
        assert_eq!((got[1].payout_id.as_str(), got[1].line), ("seq:7", 3));
        let long = "很长的原因".repeat(50);
        let table = crate::files::result::result_table(&t, "PB-1", &[rl(1, &long)]).unwrap();
        let bytes = table.render(Format::Xlsx, Lang::Zh).unwrap().bytes;
        let e = results_of("PB-1", &b, &t, &bytes, day).unwrap_err();
        assert_eq!(
            (e.code(), e.localize(Lang::En).starts_with("line 2: ")),
            ("file.bad_text", true)
        );
    }
}
