//! One error for every file problem, naming where it is: the line as a
//! spreadsheet or text editor numbers it (1-based, the heading row is line 1)
//! and the column by number and heading.

use std::fmt;

use domain::i18n::{default_lang, Lang, Localize};

/// A column of a file: its 1-based number and its heading (empty when the
/// file has no heading for it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    /// 1-based column number (A = 1).
    pub number: usize,
    /// The heading, as written in the file or expected by the template.
    pub heading: String,
}

/// What is wrong with a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileErrorKind {
    /// The file has no bytes, or no lines after the heading.
    Empty,
    /// More than `max` data lines; refused before reading the rest.
    TooManyLines { max: usize },
    /// More than `max` bytes; refused before reading any.
    TooLarge { max: usize },
    /// Neither UTF-8 nor GBK, or not a readable XLSX workbook.
    Encoding,
    /// An XLSX workbook that could not be read.
    Xlsx(String),
    /// Writing the file failed (an XLSX writer error).
    Write(String),
    /// A character GBK cannot encode (export to GBK).
    NotInGbk { ch: char },
    /// A heading the template requires is not in the file.
    MissingColumn,
    /// A heading the template does not know, or a cell beyond the headings.
    ExtraColumn,
    /// A heading that appears twice.
    DuplicateColumn,
    /// A data line with fewer cells than headings.
    MissingCell,
    /// An amount with more than two decimals.
    AmountDecimals { value: String },
    /// A negative amount.
    AmountNegative { value: String },
    /// An amount that is not a number, or too large.
    AmountNotNumber { value: String },
    /// A cell that must be a whole number (e.g. 序号).
    NotInteger { value: String },
    /// A required cell is empty.
    EmptyCell,
    /// A status other than 成功/失败/SUCCESS/FAILED.
    BadStatus { value: String },
    /// A failed line without a reason.
    MissingReason,
    /// The file belongs to another batch.
    WrongBatch { expected: String, found: String },
    /// The totals line does not add up.
    TotalsMismatch { stated: String, computed: String },
    /// A line after the totals line.
    AfterTotals,
    /// The bank template itself is invalid.
    Template(String),
    /// A text cell bangfu cannot record (too long, or invisible or
    /// direction-changing characters).
    BadText { value: String },
}

/// A file problem and where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileError {
    /// The 1-based line (row) of the file, if the problem has one.
    pub line: Option<usize>,
    /// The column, if the problem has one.
    pub column: Option<Column>,
    /// What is wrong.
    pub kind: FileErrorKind,
}

impl FileError {
    /// An error about the whole file.
    pub fn file(kind: FileErrorKind) -> FileError {
        FileError {
            line: None,
            column: None,
            kind,
        }
    }

    /// An error on one line.
    pub fn at_line(line: usize, kind: FileErrorKind) -> FileError {
        FileError {
            line: Some(line),
            column: None,
            kind,
        }
    }

    /// An error in one cell.
    pub fn at(line: usize, column: Column, kind: FileErrorKind) -> FileError {
        FileError {
            line: Some(line),
            column: Some(column),
            kind,
        }
    }

    /// A stable machine code (`file.amount_decimals` …) for API clients.
    pub fn code(&self) -> &'static str {
        use FileErrorKind as K;
        match self.kind {
            K::Empty => "file.empty",
            K::TooManyLines { .. } => "file.too_many_lines",
            K::TooLarge { .. } => "file.too_large",
            K::Encoding => "file.encoding",
            K::Xlsx(_) => "file.xlsx",
            K::Write(_) => "file.write",
            K::NotInGbk { .. } => "file.not_in_gbk",
            K::MissingColumn => "file.missing_column",
            K::ExtraColumn => "file.extra_column",
            K::DuplicateColumn => "file.duplicate_column",
            K::MissingCell => "file.missing_cell",
            K::AmountDecimals { .. } => "file.amount_decimals",
            K::AmountNegative { .. } => "file.amount_negative",
            K::AmountNotNumber { .. } => "file.amount_not_number",
            K::NotInteger { .. } => "file.not_integer",
            K::EmptyCell => "file.empty_cell",
            K::BadStatus { .. } => "file.bad_status",
            K::MissingReason => "file.missing_reason",
            K::WrongBatch { .. } => "file.wrong_batch",
            K::TotalsMismatch { .. } => "file.totals_mismatch",
            K::AfterTotals => "file.after_totals",
            K::Template(_) => "file.template",
            K::BadText { .. } => "file.bad_text",
        }
    }

    fn place(&self, lang: Lang) -> String {
        let col = |c: &Column| match (lang, c.heading.is_empty()) {
            (Lang::Zh, true) => format!("第 {} 列", c.number),
            (Lang::Zh, false) => format!("第 {} 列（{}）", c.number, c.heading),
            (Lang::En, true) => format!("column {}", c.number),
            (Lang::En, false) => format!("column {} ({})", c.number, c.heading),
        };
        match (lang, self.line, &self.column) {
            (_, None, None) => String::new(),
            (Lang::Zh, Some(l), None) => format!("第 {l} 行："),
            (Lang::Zh, Some(l), Some(c)) => format!("第 {l} 行{}：", col(c)),
            (Lang::Zh, None, Some(c)) => format!("{}：", col(c)),
            (Lang::En, Some(l), None) => format!("line {l}: "),
            (Lang::En, Some(l), Some(c)) => format!("line {l}, {}: ", col(c)),
            (Lang::En, None, Some(c)) => format!("{}: ", col(c)),
        }
    }
}

fn what(kind: &FileErrorKind, lang: Lang) -> String {
    use FileErrorKind as K;
    let zh = lang == Lang::Zh;
    let pick = |z: String, e: String| if zh { z } else { e };
    match kind {
        K::Empty => pick(
            "文件为空（没有数据行）".into(),
            "the file is empty (no data lines)".into(),
        ),
        K::TooManyLines { max } => pick(
            format!("数据行超过上限 {max} 行，未读取其余部分"),
            format!("more than {max} data lines; the rest was not read"),
        ),
        K::TooLarge { max } => pick(
            format!("文件超过 {max} 字节上限"),
            format!("the file is larger than {max} bytes"),
        ),
        K::Encoding => pick(
            "编码错误：既不是 UTF-8 也不是 GBK".into(),
            "wrong encoding: neither UTF-8 nor GBK".into(),
        ),
        K::Xlsx(e) => pick(
            format!("无法读取 XLSX 工作簿：{e}"),
            format!("unreadable XLSX workbook: {e}"),
        ),
        K::Write(e) => pick(
            format!("生成文件失败：{e}"),
            format!("writing the file failed: {e}"),
        ),
        K::NotInGbk { ch } => pick(
            format!(
                "字符“{ch}”（U+{:04X}）无法用 GBK 编码，请改用 UTF-8 或 XLSX",
                *ch as u32
            ),
            format!(
                "the character '{ch}' (U+{:04X}) cannot be encoded in GBK; use UTF-8 or XLSX",
                *ch as u32
            ),
        ),
        K::MissingColumn => pick("缺少此列".into(), "this column is missing".into()),
        K::ExtraColumn => pick(
            "多出的列（模板中没有）".into(),
            "an extra column (not in the template)".into(),
        ),
        K::DuplicateColumn => pick("列名重复".into(), "a duplicate column heading".into()),
        K::MissingCell => pick(
            "此行缺少此列的单元格".into(),
            "this line has no cell for this column".into(),
        ),
        K::AmountDecimals { value } => pick(
            format!("金额“{value}”超过两位小数"),
            format!("the amount '{value}' has more than two decimals"),
        ),
        K::AmountNegative { value } => pick(
            format!("金额“{value}”为负数"),
            format!("the amount '{value}' is negative"),
        ),
        K::AmountNotNumber { value } => pick(
            format!("金额“{value}”不是有效数字（或超过一亿元）"),
            format!("the amount '{value}' is not a valid number (or above 100,000,000 yuan)"),
        ),
        K::NotInteger { value } => pick(
            format!("“{value}”不是整数"),
            format!("'{value}' is not a whole number"),
        ),
        K::EmptyCell => pick("单元格为空".into(), "the cell is empty".into()),
        K::BadStatus { value } => pick(
            format!("状态“{value}”无效，应为 成功/失败（或 SUCCESS/FAILED）"),
            format!("the status '{value}' is invalid; expected 成功/失败 (or SUCCESS/FAILED)"),
        ),
        K::MissingReason => pick(
            "失败行缺少原因".into(),
            "a failed line needs a reason".into(),
        ),
        K::WrongBatch { expected, found } => pick(
            format!("批次号“{found}”不是本批次“{expected}”"),
            format!("the batch id '{found}' is not this batch's '{expected}'"),
        ),
        K::TotalsMismatch { stated, computed } => pick(
            format!("合计行金额 {stated} 与各行之和 {computed} 不符"),
            format!("the totals line says {stated} but the lines add up to {computed}"),
        ),
        K::AfterTotals => pick(
            "合计行之后不应再有数据行".into(),
            "a data line after the totals line".into(),
        ),
        K::BadText { value } => pick(
            format!("文本“{value}”无法记录（过长或含不可见字符）"),
            format!("the text '{value}' cannot be recorded (too long, or invisible characters)"),
        ),
        K::Template(e) => pick(
            format!("银行模板无效：{e}"),
            format!("invalid bank template: {e}"),
        ),
    }
}

impl Localize for FileError {
    fn localize(&self, lang: Lang) -> String {
        format!("{}{}", self.place(lang), what(&self.kind, lang))
    }
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.localize(default_lang()))
    }
}

impl std::error::Error for FileError {}
