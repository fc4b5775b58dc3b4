//! Bank batch files: the column template a union agrees with its bank, the
//! lines of a payout batch, and their export with a totals line and the
//! batch id.
//!
//! A template is a small TOML (or JSON) file (README "Bank files"):
//!
//! ```toml
//! name = "代发工资明细"       # the XLSX sheet name
//! totals_label = "合计"       # first cell of the totals line
//! max_result_lines = 50000    # result files with more data lines are refused
//! status_heading = "状态"     # result files: 成功/失败 (SUCCESS/FAILED)
//! reason_heading = "原因"
//! [[columns]]
//! field = "seq"               # seq, name, account, bank_name, amount,
//! heading = "序号"            # purpose, batch_id, payout_id
//! ```
//!
//! `seq`, `name`, `account`, `amount` and `batch_id` are required, each
//! field at most once; the first column must not be `amount` or `batch_id`
//! (it carries the totals label).

use std::collections::BTreeSet;

use domain::i18n::Lang;
use domain::values::Fen;
use serde::{Deserialize, Serialize};

use super::table::{Cell, Heading, Table};
use super::{FileBytes, FileError, FileErrorKind, Format};

/// The default largest number of data lines in a result file.
pub const DEFAULT_MAX_RESULT_LINES: usize = 50_000;

/// What a template column holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// 序号: the line's number within the batch (1, 2, …).
    Seq,
    /// 收款人姓名: the beneficiary's name.
    Name,
    /// 收款账号: the account (bank card) number.
    Account,
    /// 开户行: the beneficiary's bank.
    BankName,
    /// 金额: yuan, two decimals.
    Amount,
    /// 用途: the purpose shown on the beneficiary's statement.
    Purpose,
    /// 批次号: the batch id, on every line and on the totals line.
    BatchId,
    /// 支付编号: bangfu's payout id.
    PayoutId,
}

impl Field {
    /// The default heading (zh) and its English alias. A result file may
    /// use either, or the template's own heading.
    pub fn default_heading(self) -> Heading {
        let (zh, en) = match self {
            Field::Seq => ("序号", "Seq"),
            Field::Name => ("收款人姓名", "Beneficiary"),
            Field::Account => ("收款账号", "Account"),
            Field::BankName => ("开户行", "Bank"),
            Field::Amount => ("金额", "Amount"),
            Field::Purpose => ("用途", "Purpose"),
            Field::BatchId => ("批次号", "Batch"),
            Field::PayoutId => ("支付编号", "Payout"),
        };
        Heading::new(zh, en)
    }

    const REQUIRED: [Field; 5] = [
        Field::Seq,
        Field::Name,
        Field::Account,
        Field::Amount,
        Field::BatchId,
    ];
}

/// One column of a template.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateColumn {
    /// What it holds.
    pub field: Field,
    /// Its heading in the file, as the bank wants it.
    pub heading: String,
}

/// The columns a bank takes, and how its result files look.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BankTemplate {
    /// The XLSX sheet name.
    #[serde(default = "default_name")]
    pub name: String,
    /// The columns, in file order.
    pub columns: Vec<TemplateColumn>,
    /// The first cell of the totals line.
    #[serde(default = "default_totals_label")]
    pub totals_label: String,
    /// The status column of a result file.
    #[serde(default = "default_status_heading")]
    pub status_heading: String,
    /// The reason column of a result file.
    #[serde(default = "default_reason_heading")]
    pub reason_heading: String,
    /// Result files with more data lines are refused.
    #[serde(default = "default_max_lines")]
    pub max_result_lines: usize,
}

fn default_name() -> String {
    "代发明细".to_string()
}
fn default_totals_label() -> String {
    "合计".to_string()
}
fn default_status_heading() -> String {
    "状态".to_string()
}
fn default_reason_heading() -> String {
    "原因".to_string()
}
fn default_max_lines() -> usize {
    DEFAULT_MAX_RESULT_LINES
}

impl Default for BankTemplate {
    /// 序号, 收款人姓名, 收款账号, 开户行, 金额, 用途, 批次号.
    fn default() -> BankTemplate {
        let columns = [
            Field::Seq,
            Field::Name,
            Field::Account,
            Field::BankName,
            Field::Amount,
            Field::Purpose,
            Field::BatchId,
        ]
        .into_iter()
        .map(|field| TemplateColumn {
            field,
            heading: field.default_heading().zh,
        })
        .collect();
        BankTemplate {
            name: default_name(),
            columns,
            totals_label: default_totals_label(),
            status_heading: default_status_heading(),
            reason_heading: default_reason_heading(),
            max_result_lines: DEFAULT_MAX_RESULT_LINES,
        }
    }
}

impl BankTemplate {
    /// Parses a template from TOML.
    pub fn from_toml(text: &str) -> Result<BankTemplate, FileError> {
        let t: BankTemplate = toml::from_str(text).map_err(|e| template_err(e.message()))?;
        t.validate()?;
        Ok(t)
    }

    /// Parses a template from JSON.
    pub fn from_json(text: &str) -> Result<BankTemplate, FileError> {
        let t: BankTemplate =
            serde_json::from_str(text).map_err(|e| template_err(&e.to_string()))?;
        t.validate()?;
        Ok(t)
    }

    /// Checks the rules in the module docs.
    pub fn validate(&self) -> Result<(), FileError> {
        let mut seen = BTreeSet::new();
        let mut headings = BTreeSet::new();
        for c in &self.columns {
            if !seen.insert(c.field) {
                return Err(template_err(&format!("field {:?} appears twice", c.field)));
            }
            if c.heading.trim().is_empty() || !headings.insert(c.heading.trim()) {
                return Err(template_err(&format!(
                    "heading '{}' is empty or repeated",
                    c.heading
                )));
            }
        }
        if let Some(f) = Field::REQUIRED.iter().find(|f| !seen.contains(f)) {
            return Err(template_err(&format!("required field {f:?} is missing")));
        }
        if matches!(self.columns[0].field, Field::Amount | Field::BatchId) {
            return Err(template_err(
                "the first column carries the totals label; it cannot be amount or batch_id",
            ));
        }
        let extra = [
            &self.status_heading,
            &self.reason_heading,
            &self.totals_label,
        ];
        if extra
            .iter()
            .any(|h| h.trim().is_empty() || headings.contains(h.trim()))
        {
            return Err(template_err(
                "status, reason and totals labels must be non-empty and differ from the columns",
            ));
        }
        if self.max_result_lines == 0 {
            return Err(template_err("max_result_lines must be at least 1"));
        }
        Ok(())
    }

    /// The export headings, in order.
    pub fn headings(&self) -> Vec<String> {
        self.columns.iter().map(|c| c.heading.clone()).collect()
    }
}

fn template_err(msg: &str) -> FileError {
    FileError::file(FileErrorKind::Template(msg.to_string()))
}

/// One line of a payout batch as the bank gets it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayoutLine {
    /// 序号: 1-based, unique within the batch.
    pub seq: u32,
    /// bangfu's payout id.
    pub payout_id: String,
    /// 收款人姓名.
    pub name: String,
    /// 收款账号 (bank card number), unmasked: the bank needs it.
    pub account: String,
    /// 开户行.
    pub bank_name: String,
    /// 金额.
    pub amount: Fen,
    /// 用途.
    pub purpose: String,
}

impl PayoutLine {
    fn cell(&self, field: Field, batch_id: &str) -> Cell {
        match field {
            Field::Seq => Cell::Int(i64::from(self.seq)),
            Field::Name => Cell::text(&self.name),
            Field::Account => Cell::text(&self.account),
            Field::BankName => Cell::text(&self.bank_name),
            Field::Amount => Cell::Money(self.amount),
            Field::Purpose => Cell::text(&self.purpose),
            Field::BatchId => Cell::text(batch_id),
            Field::PayoutId => Cell::text(&self.payout_id),
        }
    }
}

/// The batch as a [`Table`] in the template's columns: one row per line,
/// then the totals line (label, sum of amounts, batch id).
pub fn batch_table(
    template: &BankTemplate,
    batch_id: &str,
    lines: &[PayoutLine],
) -> Result<Table, FileError> {
    template.validate()?;
    let mut seqs = BTreeSet::new();
    if let Some(dup) = lines.iter().find(|l| !seqs.insert(l.seq)) {
        return Err(FileError::file(FileErrorKind::Write(format!(
            "seq {} appears twice in the batch",
            dup.seq
        ))));
    }
    let total = Fen::checked_sum(lines.iter().map(|l| l.amount))
        .map_err(|e| FileError::file(FileErrorKind::Write(e.to_string())))?;
    let headings = template
        .columns
        .iter()
        .map(|c| Heading::new(c.heading.clone(), c.heading.clone()))
        .collect();
    let sheet = Heading::new(template.name.clone(), template.name.clone());
    let mut table = Table::new(sheet, headings);
    for line in lines {
        table.push(
            template
                .columns
                .iter()
                .map(|c| line.cell(c.field, batch_id))
                .collect(),
        );
    }
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
    table.push(totals.collect());
    Ok(table)
}

/// Exports a batch in `format` with the template's headings: the bytes and
/// their SHA-256. The same batch always gives the same bytes.
pub fn export_batch(
    template: &BankTemplate,
    batch_id: &str,
    lines: &[PayoutLine],
    format: Format,
) -> Result<FileBytes, FileError> {
    // The template's headings are the bank's; the language only picks
    // between identical texts.
    batch_table(template, batch_id, lines)?.render(format, Lang::Zh)
}
