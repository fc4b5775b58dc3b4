//! A table of typed cells with Chinese and English headings, rendered as CSV
//! (UTF-8 with BOM, or GBK) or as an XLSX workbook.
//!
//! **Money in XLSX is numeric** (the cell holds the yuan value, shown with
//! the `0.00` format), so a finance officer can sum and filter it and a bank
//! importer reads a number. This is exact: the number is parsed from the
//! two-decimal text (never computed in floating point), and any decimal of
//! at most 15 significant digits round-trips through an IEEE double and
//! back through its shortest representation — which is how [`super::result`]
//! reads it. Amounts of 10¹⁵ fen or more (far above any one payout or batch)
//! are written as text so nothing is ever rounded. In CSV money is
//! `1234.50`: yuan, two decimals, no separators.
//!
//! **Deterministic.** The same table renders to byte-identical files: CSV
//! trivially; XLSX because the document's creation time is fixed
//! ([`FIXED_CREATED`]) and the ZIP entries carry the writer's fixed
//! timestamp. Reports carry their own "as of" in their content.

use chrono::{Datelike, NaiveDate};
use domain::i18n::Lang;
use domain::values::Fen;
use encoding_rs::GBK;
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format as XFormat, Workbook, Worksheet};

use super::{Column, CsvEncoding, FileBytes, FileError, FileErrorKind, Format};

/// The creation time written into every XLSX (`docProps/core.xml`), so the
/// same table gives the same bytes: 2000-01-01T00:00:00Z.
pub const FIXED_CREATED: (u16, u8, u8) = (2000, 1, 1);

/// The UTF-8 byte-order mark.
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// The largest fen amount written as an XLSX number (15 significant digits).
const XLSX_MONEY_MAX: i64 = 999_999_999_999_999;
/// The largest integer written as an XLSX number (2⁵³).
const XLSX_INT_MAX: i64 = 1 << 53;

/// A column heading in both languages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Heading {
    /// Chinese heading.
    pub zh: String,
    /// English heading.
    pub en: String,
}

impl Heading {
    /// A heading from its two texts.
    pub fn new(zh: impl Into<String>, en: impl Into<String>) -> Heading {
        Heading {
            zh: zh.into(),
            en: en.into(),
        }
    }

    /// The heading in `lang`.
    pub fn text(&self, lang: Lang) -> &str {
        lang.pick(&self.zh, &self.en)
    }
}

/// One typed cell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cell {
    /// Text, written as is.
    Text(String),
    /// Money: yuan with two decimals.
    Money(Fen),
    /// A whole number.
    Int(i64),
    /// A date, `YYYY-MM-DD`.
    Date(NaiveDate),
    /// Nothing.
    Empty,
}

impl Cell {
    /// A text cell.
    pub fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }

    /// The cell as CSV writes it.
    pub fn to_text(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Money(f) => f.to_string(),
            Cell::Int(i) => i.to_string(),
            Cell::Date(d) => d.format("%Y-%m-%d").to_string(),
            Cell::Empty => String::new(),
        }
    }
}

/// A table: a sheet name, headings and rows of cells.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    /// The XLSX sheet name (at most 31 characters; `[]:*?/\` are replaced).
    pub sheet: Heading,
    /// The column headings.
    pub headings: Vec<Heading>,
    /// The rows; each has at most `headings.len()` cells (missing ones are empty).
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// An empty table with these headings.
    pub fn new(sheet: Heading, headings: Vec<Heading>) -> Table {
        Table {
            sheet,
            headings,
            rows: Vec::new(),
        }
    }

    /// Appends a row.
    pub fn push(&mut self, row: Vec<Cell>) {
        self.rows.push(row);
    }

    /// Renders the table in `format`, headings in `lang`.
    pub fn render(&self, format: Format, lang: Lang) -> Result<FileBytes, FileError> {
        let bytes = match format {
            Format::Csv(enc) => self.to_csv(enc, lang)?,
            Format::Xlsx => self.to_xlsx(lang)?,
        };
        Ok(FileBytes::new(format, bytes))
    }

    /// CSV with CRLF line ends, in `enc`.
    pub fn to_csv(&self, enc: CsvEncoding, lang: Lang) -> Result<Vec<u8>, FileError> {
        let rows = self
            .rows
            .iter()
            .map(|r| r.iter().map(Cell::to_text).collect());
        write_csv(&self.headings_texts(lang), rows, enc)
    }

    fn headings_texts(&self, lang: Lang) -> Vec<String> {
        self.headings
            .iter()
            .map(|h| h.text(lang).to_string())
            .collect()
    }

    /// An XLSX workbook of one sheet: bold frozen headings, typed cells.
    pub fn to_xlsx(&self, lang: Lang) -> Result<Vec<u8>, FileError> {
        let mut book = new_workbook()?;
        let sheet = book.add_worksheet();
        sheet
            .set_name(sheet_name(self.sheet.text(lang)))
            .map_err(xlsx_err)?;
        write_headings(sheet, &self.headings_texts(lang))?;
        let styles = Styles::new();
        for (r, row) in self.rows.iter().enumerate() {
            let r = u32::try_from(r + 1).map_err(|_| xlsx_err("too many rows"))?;
            for (c, cell) in row.iter().enumerate() {
                write_cell(sheet, r, col_num(c)?, cell, &styles)?;
            }
        }
        book.save_to_buffer().map_err(xlsx_err)
    }
}

/// Writes CSV (CRLF, minimal quoting) in `enc`. For GBK, every cell is
/// checked first: a character GBK lacks is an error naming its line (the
/// heading row is line 1) and column.
pub(crate) fn write_csv(
    headings: &[String],
    rows: impl Iterator<Item = Vec<String>>,
    enc: CsvEncoding,
) -> Result<Vec<u8>, FileError> {
    let mut out = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .flexible(true)
        .from_writer(Vec::new());
    let csv_err = |e: csv::Error| FileError::file(FileErrorKind::Write(e.to_string()));
    let gbk = enc == CsvEncoding::Gbk;
    let check = |line: usize, row: &[String]| -> Result<(), FileError> {
        if gbk {
            check_gbk(line, row, headings)?;
        }
        Ok(())
    };
    check(1, headings)?;
    out.write_record(headings).map_err(csv_err)?;
    for (i, row) in rows.enumerate() {
        check(i + 2, &row)?;
        out.write_record(&row).map_err(csv_err)?;
    }
    let utf8 = out
        .into_inner()
        .map_err(|e| FileError::file(FileErrorKind::Write(e.to_string())))?;
    Ok(match enc {
        CsvEncoding::Utf8Bom => [UTF8_BOM, &utf8].concat(),
        CsvEncoding::Gbk => {
            // Every cell was checked above, so this cannot meet an unmappable character.
            let text = String::from_utf8(utf8).map_err(|e| xlsx_err(e.to_string()))?;
            GBK.encode(&text).0.into_owned()
        }
    })
}

fn check_gbk(line: usize, row: &[String], headings: &[String]) -> Result<(), FileError> {
    for (c, cell) in row.iter().enumerate() {
        if cell.is_ascii() {
            continue;
        }
        let (_, _, bad) = GBK.encode(cell);
        if !bad {
            continue;
        }
        let mut buf = [0u8; 4];
        let ch = cell
            .chars()
            .find(|ch| GBK.encode(ch.encode_utf8(&mut buf)).2)
            .unwrap_or(char::REPLACEMENT_CHARACTER);
        let heading = headings.get(c).cloned().unwrap_or_default();
        let column = Column {
            number: c + 1,
            heading,
        };
        return Err(FileError::at(line, column, FileErrorKind::NotInGbk { ch }));
    }
    Ok(())
}

pub(crate) fn xlsx_err(e: impl ToString) -> FileError {
    FileError::file(FileErrorKind::Write(e.to_string()))
}

pub(crate) fn col_num(c: usize) -> Result<u16, FileError> {
    u16::try_from(c).map_err(|_| xlsx_err("too many columns"))
}

/// A workbook with the fixed creation time.
pub(crate) fn new_workbook() -> Result<Workbook, FileError> {
    let (y, m, d) = FIXED_CREATED;
    let created = ExcelDateTime::from_ymd(y, m, d).map_err(xlsx_err)?;
    let mut book = Workbook::new();
    book.set_properties(&DocProperties::new().set_creation_datetime(&created));
    Ok(book)
}

/// Excel's sheet-name rules: at most 31 characters, none of `[]:*?/\`.
pub(crate) fn sheet_name(name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { '_' } else { c })
        .take(31)
        .collect();
    if clean.is_empty() {
        "Sheet1".to_string()
    } else {
        clean
    }
}

pub(crate) fn write_headings(sheet: &mut Worksheet, headings: &[String]) -> Result<(), FileError> {
    let bold = XFormat::new().set_bold();
    for (c, h) in headings.iter().enumerate() {
        let c = col_num(c)?;
        sheet
            .write_string_with_format(0, c, h, &bold)
            .map_err(xlsx_err)?;
        let width = (h.chars().count() * 2 + 4).clamp(10, 40);
        sheet.set_column_width(c, width as f64).map_err(xlsx_err)?;
    }
    sheet.set_freeze_panes(1, 0).map_err(xlsx_err)?;
    Ok(())
}

/// The number formats cells are written with.
pub(crate) struct Styles {
    money: XFormat,
    date: XFormat,
}

impl Styles {
    pub(crate) fn new() -> Styles {
        Styles {
            money: XFormat::new().set_num_format("0.00"),
            date: XFormat::new().set_num_format("yyyy-mm-dd"),
        }
    }
}

pub(crate) fn write_cell(
    sheet: &mut Worksheet,
    r: u32,
    c: u16,
    cell: &Cell,
    styles: &Styles,
) -> Result<(), FileError> {
    let res = match cell {
        Cell::Text(s) => sheet.write_string(r, c, s),
        Cell::Money(f) if f.fen() <= XLSX_MONEY_MAX => {
            // Parsed from the exact decimal text: the nearest double, no arithmetic.
            let v: f64 = f.to_string().parse().map_err(xlsx_err)?;
            sheet.write_number_with_format(r, c, v, &styles.money)
        }
        Cell::Money(f) => sheet.write_string(r, c, f.to_string()),
        Cell::Int(i) if i.unsigned_abs() <= XLSX_INT_MAX as u64 => {
            sheet.write_number(r, c, *i as f64)
        }
        Cell::Int(i) => sheet.write_string(r, c, i.to_string()),
        Cell::Date(d) => {
            let (y, m, day) = (d.year(), d.month(), d.day());
            let y = u16::try_from(y).map_err(xlsx_err)?;
            let date = ExcelDateTime::from_ymd(y, m as u8, day as u8).map_err(xlsx_err)?;
            sheet.write_date_with_format(r, c, &date, &styles.date)
        }
        Cell::Empty => return Ok(()),
    };
    res.map(|_| ()).map_err(xlsx_err)
}
