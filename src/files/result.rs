//! The bank's result file, parsed strictly: the template's columns plus a
//! status (成功/失败, also SUCCESS/FAILED) and a reason, as CSV (UTF-8 with
//! or without BOM, or GBK — sniffed) or XLSX (recognised by its ZIP magic
//! bytes). A malformed file is refused as a whole with one [`FileError`]
//! naming the line and the column; nothing is half-read.
//!
//! Bounded: a file above [`MAX_RESULT_BYTES`] is refused before reading, and
//! reading stops at the first line past the template's `max_result_lines`
//! (an XLSX whose declared dimensions exceed it is refused before any cell
//! is read).

use std::collections::BTreeMap;
use std::io::Cursor;

use calamine::{DataRef, Reader, Xlsx};
use domain::values::Fen;
use encoding_rs::GBK;
use serde::{Deserialize, Serialize};

use super::bank::{BankTemplate, Field};
use super::table::UTF8_BOM;
use super::{Column, FileError, FileErrorKind};

/// The largest result file read, in bytes (64 MiB).
pub const MAX_RESULT_BYTES: usize = 64 << 20;

/// The bank's verdict on one line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResultStatus {
    /// 成功 / SUCCESS: the money reached the account.
    Success,
    /// 失败 / FAILED: it did not; the reason says why.
    Failed,
}

/// One data line of a result file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultLine {
    /// The line in the file (1-based; the heading row is line 1).
    pub line: usize,
    /// 序号.
    pub seq: u32,
    /// 支付编号, if the template has the column.
    pub payout_id: Option<String>,
    /// 收款人姓名.
    pub name: String,
    /// 收款账号.
    pub account: String,
    /// 金额.
    pub amount: Fen,
    /// 状态.
    pub status: ResultStatus,
    /// 原因 (required when failed; may be empty on success).
    pub reason: String,
}

/// A column of the result file: a template field, the status or the reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Col {
    Field(Field),
    Status,
    Reason,
}

/// A raw row: its line number and its cells as text.
type Row = (usize, Vec<String>);

/// Parses a result file for batch `batch_id`.
pub fn parse_result(
    template: &BankTemplate,
    batch_id: &str,
    bytes: &[u8],
) -> Result<Vec<ResultLine>, FileError> {
    template.validate()?;
    if bytes.is_empty() {
        return Err(FileError::file(FileErrorKind::Empty));
    }
    if bytes.len() > MAX_RESULT_BYTES {
        let max = MAX_RESULT_BYTES;
        return Err(FileError::file(FileErrorKind::TooLarge { max }));
    }
    // Heading + one data line past the maximum (so the parser names it) + totals.
    let max_rows = template.max_result_lines + 3;
    let rows = if bytes.starts_with(b"PK\x03\x04") {
        let mut rows = xlsx_rows(bytes, max_rows, template.max_result_lines)?;
        // An XLSX row simply has no cell where the value is empty.
        let width = rows.first().map_or(0, |r| r.1.len());
        for row in &mut rows {
            if row.1.len() < width {
                row.1.resize(width, String::new());
            }
        }
        rows
    } else {
        csv_rows(&decode(bytes)?, max_rows, template.max_result_lines)?
    };
    Parser::new(template, batch_id, &rows)?.parse(&rows)
}

/// UTF-8 (with or without BOM) or GBK; anything else is an encoding error
/// on the line of the first undecodable byte.
fn decode(bytes: &[u8]) -> Result<String, FileError> {
    let line_of = |b: &[u8], at: usize| b[..at].iter().filter(|&&c| c == b'\n').count() + 1;
    let bad = |line| FileError::at_line(line, FileErrorKind::Encoding);
    if let Some(rest) = bytes.strip_prefix(UTF8_BOM) {
        return String::from_utf8(rest.to_vec())
            .map_err(|e| bad(line_of(rest, e.utf8_error().valid_up_to())));
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Ok(s.to_string());
    }
    if let Some(s) = GBK.decode_without_bom_handling_and_without_replacement(bytes) {
        return Ok(s.into_owned());
    }
    let (lossy, _) = GBK.decode_without_bom_handling(bytes);
    let at = lossy.find(char::REPLACEMENT_CHARACTER).unwrap_or(0);
    Err(bad(lossy[..at].matches('\n').count() + 1))
}

fn too_many(line: usize, max: usize) -> FileError {
    FileError::at_line(line, FileErrorKind::TooManyLines { max })
}

/// Reading stopped with `max_lines + 3` rows (heading, the maximum, one
/// more, a totals line) and more to come: the error names the first data
/// line past the maximum, as the parser would.
fn past_the_maximum(rows: &[Row], max_lines: usize) -> FileError {
    let line = rows.get(max_lines + 1).map_or(0, |r| r.0);
    too_many(line, max_lines)
}

fn is_blank(cells: &[String]) -> bool {
    cells.iter().all(|c| c.trim().is_empty())
}

/// The CSV's non-blank rows, stopping past `max_rows`.
fn csv_rows(text: &str, max_rows: usize, max_lines: usize) -> Result<Vec<Row>, FileError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    // Lines counted from byte offsets (quoted cells may span lines).
    let (mut seen, mut line) = (0usize, 1usize);
    for record in reader.records() {
        let record = record.map_err(|e| {
            let byte = e.position().map_or(0, |p| p.byte() as usize);
            let line = text.as_bytes()[..byte]
                .iter()
                .filter(|&&c| c == b'\n')
                .count()
                + 1;
            FileError::at_line(line, FileErrorKind::Encoding)
        })?;
        // After a CR the reader's offset points at the LF of the line before.
        let mut byte = record.position().map_or(seen, |p| p.byte() as usize);
        if text.as_bytes().get(byte) == Some(&b'\n') {
            byte += 1;
        }
        line += text.as_bytes()[seen..byte]
            .iter()
            .filter(|&&c| c == b'\n')
            .count();
        seen = byte;
        let cells: Vec<String> = record.iter().map(str::to_string).collect();
        if is_blank(&cells) {
            continue;
        }
        if rows.len() == max_rows {
            return Err(past_the_maximum(&rows, max_lines));
        }
        rows.push((line, cells));
    }
    Ok(rows)
}

fn xlsx_err(e: impl ToString) -> FileError {
    FileError::file(FileErrorKind::Xlsx(e.to_string()))
}

/// The first sheet's non-blank rows, streamed, stopping past `max_rows`.
fn xlsx_rows(bytes: &[u8], max_rows: usize, max_lines: usize) -> Result<Vec<Row>, FileError> {
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(xlsx_err)?;
    let sheet = book
        .sheet_names()
        .first()
        .cloned()
        .ok_or_else(|| xlsx_err("no sheet"))?;
    let mut cells = book.worksheet_cells_reader(&sheet).map_err(xlsx_err)?;
    let declared = cells.dimensions().end.0 as usize + 1;
    if declared > max_rows {
        // The first data line past the maximum (line 1 is the heading).
        return Err(too_many(max_lines + 2, max_lines));
    }
    let mut rows: Vec<Row> = Vec::new();
    let mut current: Option<Row> = None;
    while let Some(cell) = cells.next_cell().map_err(xlsx_err)? {
        let (r, c) = cell.get_position();
        let (line, col) = (r as usize + 1, c as usize);
        if current.as_ref().is_some_and(|(l, _)| *l != line) {
            push_row(&mut rows, current.take(), max_rows, max_lines)?;
        }
        let row = current.get_or_insert_with(|| (line, Vec::new()));
        if col >= 1024 {
            return Err(FileError::at(
                line,
                Column {
                    number: col + 1,
                    heading: String::new(),
                },
                FileErrorKind::ExtraColumn,
            ));
        }
        if row.1.len() <= col {
            row.1.resize(col + 1, String::new());
        }
        row.1[col] = cell_text(cell.get_value());
    }
    push_row(&mut rows, current, max_rows, max_lines)?;
    Ok(rows)
}

fn push_row(
    rows: &mut Vec<Row>,
    row: Option<Row>,
    max_rows: usize,
    max_lines: usize,
) -> Result<(), FileError> {
    let Some(row) = row.filter(|r| !is_blank(&r.1)) else {
        return Ok(());
    };
    if rows.len() == max_rows {
        return Err(past_the_maximum(rows, max_lines));
    }
    rows.push(row);
    Ok(())
}

/// A cell as text. Numbers use Rust's shortest round-trip form, so a money
/// cell written from `1234.5` reads back as `1234.5` and a value with more
/// than two decimals stays visibly so.
fn cell_text(v: &DataRef<'_>) -> String {
    match v {
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) => format!("{f}"),
        DataRef::String(s) => s.clone(),
        DataRef::SharedString(s) => (*s).to_string(),
        DataRef::Bool(b) => b.to_string(),
        DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
        DataRef::DateTime(d) => d.as_f64().to_string(),
        DataRef::Error(e) => format!("#{e}"),
        DataRef::Empty => String::new(),
    }
}

/// The heading row mapped to columns, and the batch being read.
struct Parser<'a> {
    template: &'a BankTemplate,
    batch_id: &'a str,
    /// Column index → what it holds.
    cols: Vec<Col>,
    /// What → column index.
    index: BTreeMap<Col, usize>,
    headings: Vec<String>,
}

impl<'a> Parser<'a> {
    /// Maps the heading row: every heading known (template heading, default
    /// zh or en name; status; reason), none twice, none missing.
    fn new(template: &'a BankTemplate, batch_id: &'a str, rows: &[Row]) -> Result<Self, FileError> {
        let Some((line, heads)) = rows.first() else {
            return Err(FileError::file(FileErrorKind::Empty));
        };
        let heads: Vec<String> = heads.iter().map(|h| h.trim().to_string()).collect();
        let mut cols = Vec::with_capacity(heads.len());
        let mut index = BTreeMap::new();
        let expected = expected_columns(template);
        for (i, h) in heads.iter().enumerate() {
            let at = Column {
                number: i + 1,
                heading: h.clone(),
            };
            let col = expected
                .iter()
                .find(|(_, names)| names.iter().any(|n| n.eq_ignore_ascii_case(h)))
                .map(|(c, _)| *c);
            let Some(col) = col else {
                return Err(FileError::at(*line, at, FileErrorKind::ExtraColumn));
            };
            if index.insert(col, i).is_some() {
                return Err(FileError::at(*line, at, FileErrorKind::DuplicateColumn));
            }
            cols.push(col);
        }
        if let Some(pos) = expected.iter().position(|(c, _)| !index.contains_key(c)) {
            let heading = expected[pos].1[0].clone();
            let at = Column {
                number: pos + 1,
                heading,
            };
            return Err(FileError::at(*line, at, FileErrorKind::MissingColumn));
        }
        Ok(Parser {
            template,
            batch_id,
            cols,
            index,
            headings: heads,
        })
    }

    fn column(&self, i: usize) -> Column {
        Column {
            number: i + 1,
            heading: self.headings.get(i).cloned().unwrap_or_default(),
        }
    }

    /// The cell of `col` on a row (present: the row was checked for width).
    fn get<'r>(&self, cells: &'r [String], col: Col) -> (&'r str, usize) {
        let i = self.index.get(&col).copied().unwrap_or(usize::MAX);
        (cells.get(i).map_or("", |s| s.trim()), i)
    }

    fn parse(&self, rows: &[Row]) -> Result<Vec<ResultLine>, FileError> {
        let max = self.template.max_result_lines;
        let mut lines = Vec::new();
        let mut totals: Option<(usize, Fen, usize)> = None;
        for (line, cells) in &rows[1..] {
            self.check_width(*line, cells)?;
            if totals.is_some() {
                return Err(FileError::at_line(*line, FileErrorKind::AfterTotals));
            }
            if self.is_totals(cells) {
                let (amount, i) = self.get(cells, Col::Field(Field::Amount));
                let stated = self.amount(*line, i, amount)?;
                self.check_batch(*line, cells, true)?;
                totals = Some((*line, stated, i));
                continue;
            }
            if lines.len() == max {
                return Err(too_many(*line, max));
            }
            lines.push(self.line(*line, cells)?);
        }
        if lines.is_empty() {
            return Err(FileError::file(FileErrorKind::Empty));
        }
        if let Some((line, stated, i)) = totals {
            self.check_totals(line, stated, i, &lines)?;
        }
        Ok(lines)
    }

    fn check_width(&self, line: usize, cells: &[String]) -> Result<(), FileError> {
        let n = self.cols.len();
        if cells.len() < n {
            return Err(FileError::at(
                line,
                self.column(cells.len()),
                FileErrorKind::MissingCell,
            ));
        }
        if let Some(extra) = cells[n..].iter().position(|c| !c.trim().is_empty()) {
            let at = Column {
                number: n + extra + 1,
                heading: String::new(),
            };
            return Err(FileError::at(line, at, FileErrorKind::ExtraColumn));
        }
        Ok(())
    }

    fn is_totals(&self, cells: &[String]) -> bool {
        let first = cells.first().map_or("", |s| s.trim());
        first == self.template.totals_label.trim()
            || first == "合计"
            || first.eq_ignore_ascii_case("total")
    }

    fn check_batch(
        &self,
        line: usize,
        cells: &[String],
        may_be_empty: bool,
    ) -> Result<(), FileError> {
        let (found, i) = self.get(cells, Col::Field(Field::BatchId));
        if found == self.batch_id || (may_be_empty && found.is_empty()) {
            return Ok(());
        }
        let kind = if found.is_empty() {
            FileErrorKind::EmptyCell
        } else {
            FileErrorKind::WrongBatch {
                expected: self.batch_id.to_string(),
                found: found.to_string(),
            }
        };
        Err(FileError::at(line, self.column(i), kind))
    }

    fn check_totals(
        &self,
        line: usize,
        stated: Fen,
        i: usize,
        lines: &[ResultLine],
    ) -> Result<(), FileError> {
        let computed = Fen::checked_sum(lines.iter().map(|l| l.amount));
        if computed == Ok(stated) {
            return Ok(());
        }
        let computed = computed.map_or_else(|e| e.to_string(), |f| f.to_string());
        let kind = FileErrorKind::TotalsMismatch {
            stated: stated.to_string(),
            computed,
        };
        Err(FileError::at(line, self.column(i), kind))
    }

    fn required(&self, line: usize, cells: &[String], field: Field) -> Result<String, FileError> {
        let (v, i) = self.get(cells, Col::Field(field));
        if v.is_empty() {
            return Err(FileError::at(
                line,
                self.column(i),
                FileErrorKind::EmptyCell,
            ));
        }
        Ok(v.to_string())
    }

    fn line(&self, line: usize, cells: &[String]) -> Result<ResultLine, FileError> {
        let (seq, i) = self.get(cells, Col::Field(Field::Seq));
        let seq = self.seq(line, i, seq)?;
        let (amount, i) = self.get(cells, Col::Field(Field::Amount));
        let amount = self.amount(line, i, amount)?;
        self.check_batch(line, cells, false)?;
        let name = self.required(line, cells, Field::Name)?;
        let account = self.required(line, cells, Field::Account)?;
        let payout_id = match self.index.contains_key(&Col::Field(Field::PayoutId)) {
            true => Some(self.required(line, cells, Field::PayoutId)?),
            false => None,
        };
        let (status, i) = self.get(cells, Col::Status);
        let status = parse_status(status).ok_or_else(|| {
            FileError::at(
                line,
                self.column(i),
                FileErrorKind::BadStatus {
                    value: status.to_string(),
                },
            )
        })?;
        let (reason, i) = self.get(cells, Col::Reason);
        if status == ResultStatus::Failed && reason.is_empty() {
            return Err(FileError::at(
                line,
                self.column(i),
                FileErrorKind::MissingReason,
            ));
        }
        let reason = reason.to_string();
        Ok(ResultLine {
            line,
            seq,
            payout_id,
            name,
            account,
            amount,
            status,
            reason,
        })
    }

    fn seq(&self, line: usize, i: usize, v: &str) -> Result<u32, FileError> {
        if v.is_empty() {
            return Err(FileError::at(
                line,
                self.column(i),
                FileErrorKind::EmptyCell,
            ));
        }
        v.parse::<u32>().ok().filter(|&n| n > 0).ok_or_else(|| {
            FileError::at(
                line,
                self.column(i),
                FileErrorKind::NotInteger {
                    value: v.to_string(),
                },
            )
        })
    }

    fn amount(&self, line: usize, i: usize, v: &str) -> Result<Fen, FileError> {
        parse_amount(v).map_err(|kind| FileError::at(line, self.column(i), kind))
    }
}

/// The columns a result file must have, each with the names it may carry:
/// the template's heading first (used in errors), then the defaults.
fn expected_columns(template: &BankTemplate) -> Vec<(Col, Vec<String>)> {
    let mut out: Vec<(Col, Vec<String>)> = template
        .columns
        .iter()
        .map(|c| {
            let d = c.field.default_heading();
            (
                Col::Field(c.field),
                vec![c.heading.trim().to_string(), d.zh, d.en],
            )
        })
        .collect();
    out.push((
        Col::Status,
        vec![
            template.status_heading.clone(),
            "状态".into(),
            "Status".into(),
        ],
    ));
    out.push((
        Col::Reason,
        vec![
            template.reason_heading.clone(),
            "原因".into(),
            "Reason".into(),
        ],
    ));
    out
}

fn parse_status(v: &str) -> Option<ResultStatus> {
    match v.to_ascii_uppercase().as_str() {
        "成功" | "SUCCESS" => Some(ResultStatus::Success),
        "失败" | "FAILED" | "FAILURE" => Some(ResultStatus::Failed),
        _ => None,
    }
}

/// Yuan, at most two decimals, not negative, at most 一亿元.
pub fn parse_amount(v: &str) -> Result<Fen, FileErrorKind> {
    let value = v.to_string();
    if v.is_empty() {
        return Err(FileErrorKind::EmptyCell);
    }
    if v.starts_with('-') {
        return Err(FileErrorKind::AmountNegative { value });
    }
    if let Ok(f) = Fen::from_yuan_str(v) {
        return Ok(f);
    }
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match v.split_once('.') {
        Some((int, frac)) if digits(int) && digits(frac) && frac.len() > 2 => {
            Err(FileErrorKind::AmountDecimals { value })
        }
        _ => Err(FileErrorKind::AmountNotNumber { value }),
    }
}

/// A result file as a bank would return it for `lines`: the template's
/// columns (开户行 and 用途 left empty), then 状态 and 原因, then a totals
/// line. For tests, benchmarks and demos of the import.
pub fn result_table(
    template: &BankTemplate,
    batch_id: &str,
    lines: &[ResultLine],
) -> Result<super::table::Table, FileError> {
    use super::table::{Cell, Heading, Table};
    let mut headings: Vec<Heading> = template
        .columns
        .iter()
        .map(|c| Heading::new(c.heading.clone(), c.heading.clone()))
        .collect();
    headings.push(Heading::new(
        template.status_heading.clone(),
        template.status_heading.clone(),
    ));
    headings.push(Heading::new(
        template.reason_heading.clone(),
        template.reason_heading.clone(),
    ));
    let sheet = Heading::new(template.name.clone(), template.name.clone());
    let mut table = Table::new(sheet, headings);
    for l in lines {
        let mut row: Vec<Cell> = template
            .columns
            .iter()
            .map(|c| match c.field {
                Field::Seq => Cell::Int(i64::from(l.seq)),
                Field::Name => Cell::text(&l.name),
                Field::Account => Cell::text(&l.account),
                Field::Amount => Cell::Money(l.amount),
                Field::BatchId => Cell::text(batch_id),
                Field::PayoutId => Cell::text(l.payout_id.clone().unwrap_or_default()),
                Field::BankName | Field::Purpose => Cell::Empty,
            })
            .collect();
        let status = match l.status {
            ResultStatus::Success => "成功",
            ResultStatus::Failed => "失败",
        };
        row.push(Cell::text(status));
        row.push(Cell::text(&l.reason));
        table.push(row);
    }
    let total = Fen::checked_sum(lines.iter().map(|l| l.amount))
        .map_err(|e| FileError::file(FileErrorKind::Write(e.to_string())))?;
    let totals = template
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| match c.field {
            _ if i == 0 => Cell::text(&template.totals_label),
            Field::Amount => Cell::Money(total),
            Field::BatchId => Cell::text(batch_id),
            _ => Cell::Empty,
        });
    table.push(totals.chain([Cell::Empty, Cell::Empty]).collect());
    Ok(table)
}
