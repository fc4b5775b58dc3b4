//! HTTP content negotiation for files: which [`Format`] an `Accept` header
//! asks for, and a `Content-Disposition` that carries a Chinese file name.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::{CsvEncoding, Format};

/// The XLSX media type.
pub const XLSX_MEDIA_TYPE: &str =
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// RFC 5987 `attr-char`: ALPHA / DIGIT / `!#$&+-.^_`|~` stay, the rest is %-encoded.
const ATTR_CHAR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// The file format an `Accept` header prefers, or `None` for JSON (no
/// header, `application/json`, `*/*`, or nothing bangfu writes). Ranges are
/// weighed by `q`; on a tie the first listed wins. `text/csv` is UTF-8 with
/// BOM unless it says `charset=gbk` (or `gb2312`, `gb18030`).
pub fn format_from_accept(accept: Option<&str>) -> Option<Format> {
    let mut best: Option<(u16, Option<Format>)> = None;
    for range in accept?.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or("").to_ascii_lowercase();
        let mut q = 1000u16;
        let mut gbk = false;
        for p in parts {
            let Some((k, v)) = p.split_once('=') else {
                continue;
            };
            let v = v.trim().trim_matches('"').to_ascii_lowercase();
            match k.trim().to_ascii_lowercase().as_str() {
                "q" => q = parse_q(&v),
                "charset" => gbk = matches!(v.as_str(), "gbk" | "gb2312" | "gb18030"),
                _ => {}
            }
        }
        let format = match media.as_str() {
            "text/csv" => Some(Format::Csv(if gbk {
                CsvEncoding::Gbk
            } else {
                CsvEncoding::Utf8Bom
            })),
            XLSX_MEDIA_TYPE => Some(Format::Xlsx),
            "application/json" | "*/*" | "application/*" => None,
            _ => continue,
        };
        if q > 0 && best.is_none_or(|(b, _)| q > b) {
            best = Some((q, format));
        }
    }
    best.and_then(|(_, f)| f)
}

/// `q` in thousandths; malformed is 0 (not acceptable).
fn parse_q(v: &str) -> u16 {
    v.parse::<f32>()
        .ok()
        .filter(|q| (0.0..=1.0).contains(q))
        .map_or(0, |q| (q * 1000.0).round() as u16)
}

/// `attachment; filename="<ASCII fallback>"; filename*=UTF-8''<percent-encoded>`
/// (RFC 6266 §4.3 with RFC 5987): browsers use the UTF-8 name, old clients
/// the ASCII one (non-ASCII characters and quotes become `_`).
pub fn content_disposition(file_name: &str) -> String {
    let fallback: String = file_name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded = utf8_percent_encode(file_name, ATTR_CHAR);
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}
