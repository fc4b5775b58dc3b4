//! Files people take away and bring back: tabular exports (CSV and XLSX with
//! Chinese headings) and bank batch files (issue 12, items 3–5; issue 13,
//! item 6).
//!
//! Pure bytes in, bytes out: nothing here touches a store, the clock or the
//! network, so the same input always gives byte-identical output and every
//! function is testable on its own. Formats come from well-kept crates:
//! [`csv`] for CSV, [`encoding_rs`] for GBK, [`rust_xlsxwriter`] to write
//! XLSX and [`calamine`] to read it.
//!
//! - [`table`]: a [`table::Table`] of typed cells rendered as CSV (UTF-8 with
//!   BOM, or GBK) or XLSX.
//! - [`bank`]: the bank column template, a batch's [`bank::PayoutLine`]s
//!   exported with a totals line and the batch id, plus the file's SHA-256.
//! - [`result`]: strict parsing of the bank's result file into
//!   [`result::ResultLine`]s; a malformed file is one [`FileError`] naming
//!   the line and the column.
//! - [`reconcile`]: matching a batch against its result lines (pure).
//! - [`negotiate`]: `Accept` → [`Format`], and a `Content-Disposition`
//!   that carries a Chinese file name (RFC 6266 / RFC 5987).

pub mod bank;
mod error;
pub mod negotiate;
pub mod reconcile;
pub mod result;
pub mod table;

pub use error::{Column, FileError, FileErrorKind};

use sha2::{Digest, Sha256};

/// The character encoding of a CSV file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CsvEncoding {
    /// UTF-8 with a byte-order mark, so spreadsheet programs on Windows read
    /// the Chinese text right.
    Utf8Bom,
    /// GBK, which many Chinese bank batch systems require. A character GBK
    /// cannot encode is an error naming its row and column, never a `?`.
    Gbk,
}

/// A file format bangfu writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// Comma-separated values in the given encoding.
    Csv(CsvEncoding),
    /// An Office Open XML workbook with one sheet.
    Xlsx,
}

impl Format {
    /// The media type for a `Content-Type` header.
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Csv(CsvEncoding::Utf8Bom) => "text/csv; charset=utf-8",
            Format::Csv(CsvEncoding::Gbk) => "text/csv; charset=gbk",
            Format::Xlsx => negotiate::XLSX_MEDIA_TYPE,
        }
    }

    /// The file name extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv(_) => "csv",
            Format::Xlsx => "xlsx",
        }
    }
}

/// A rendered file: its bytes and their SHA-256 (lower-case hex), the value
/// an export event records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileBytes {
    /// The format the bytes are in.
    pub format: Format,
    /// The file's content.
    pub bytes: Vec<u8>,
    /// SHA-256 of `bytes`, 64 lower-case hex digits.
    pub sha256: String,
}

impl FileBytes {
    /// Wraps `bytes`, computing their SHA-256.
    pub fn new(format: Format, bytes: Vec<u8>) -> FileBytes {
        let sha256 = sha256_hex(&bytes);
        FileBytes {
            format,
            bytes,
            sha256,
        }
    }
}

/// SHA-256 of `bytes`, lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests;
