//! View pages as files (issue 12 item 5, issue 13 item 6): with `Accept:
//! text/csv` (`; charset=gbk` for GBK) or the XLSX media type, a view
//! answers with the rows of its main list as a file instead of JSON —
//! the same, already masked, document the JSON answer carries.
//!
//! Each row is one element of the view's list (`funds`, `payouts`,
//! `units`, `measures`), flattened: nested objects become `parent.child`
//! columns, lists become their JSON text. A `*_fen` number is money (yuan,
//! two decimals), other whole numbers are numbers, the rest text. Columns
//! are in the document's (sorted) key order, so the same page at the same
//! log position gives byte-identical files. Headings are Chinese where the
//! glossary below knows the key, else the key; English headings are the keys.

use std::collections::BTreeMap;

use axum::http::header::{ACCEPT, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::i18n::{Lang, Localize};
use domain::values::Fen;
use serde_json::Value;

use super::error::ApiError;
use crate::files::negotiate::{content_disposition, format_from_accept};
use crate::files::table::{Cell, Heading, Table};
use crate::files::Format;

/// A view that can be a file: its name and where its rows are.
pub(crate) struct ViewFile {
    /// Chinese name (sheet and file name).
    pub zh: &'static str,
    /// English name.
    pub en: &'static str,
    /// JSON pointer to the list of rows.
    pub rows: &'static str,
}

/// The format the request's `Accept` asks for; `None` for JSON.
pub(crate) fn wanted(headers: &HeaderMap) -> Option<Format> {
    format_from_accept(headers.get(ACCEPT).and_then(|v| v.to_str().ok()))
}

/// The (masked) view document as a file in `format`.
pub(crate) fn file_response(
    lang: Lang,
    view: &ViewFile,
    doc: &Value,
    format: Format,
) -> Result<Response, ApiError> {
    let rows = doc
        .pointer(view.rows)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let table = table(view, &rows);
    let file = table
        .render(format, lang)
        .map_err(|e| ApiError::new(StatusCode::NOT_ACCEPTABLE, e.code(), lang, e.localize(lang)))?;
    let position = doc
        .get("views_position")
        .map_or_else(String::new, |p| format!("-{p}"));
    let name = format!(
        "{}{position}.{}",
        lang.pick(view.zh, view.en),
        format.extension()
    );
    let disposition = HeaderValue::from_str(&content_disposition(&name))
        .map_err(|e| ApiError::unavailable(lang, &e))?;
    let mut response = file.bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(format.media_type()));
    headers.insert(CONTENT_DISPOSITION, disposition);
    headers.insert(
        "x-content-sha256",
        HeaderValue::from_str(&file.sha256).map_err(|e| ApiError::unavailable(lang, &e))?,
    );
    Ok(response)
}

fn table(view: &ViewFile, rows: &[Value]) -> Table {
    let flat: Vec<BTreeMap<String, Cell>> = rows.iter().map(flatten).collect();
    // Columns in first-seen order over the rows (each row's keys sorted).
    let mut keys: Vec<String> = Vec::new();
    for row in &flat {
        for k in row.keys() {
            if !keys.contains(k) {
                keys.push(k.clone());
            }
        }
    }
    let headings = keys
        .iter()
        .map(|k| Heading::new(heading_zh(k), k.clone()))
        .collect();
    let mut table = Table::new(Heading::new(view.zh, view.en), headings);
    for mut row in flat {
        table.push(
            keys.iter()
                .map(|k| row.remove(k).unwrap_or(Cell::Empty))
                .collect(),
        );
    }
    table
}

/// One row's cells by column key.
fn flatten(row: &Value) -> BTreeMap<String, Cell> {
    let mut out = BTreeMap::new();
    flatten_into(&mut out, String::new(), row);
    out
}

fn flatten_into(out: &mut BTreeMap<String, Cell>, key: String, v: &Value) {
    let cell = match v {
        Value::Object(map) => {
            for (k, v) in map {
                let key = if key.is_empty() {
                    k.clone()
                } else {
                    format!("{key}.{k}")
                };
                flatten_into(out, key, v);
            }
            return;
        }
        Value::Null => Cell::Empty,
        Value::Bool(b) => Cell::Text(b.to_string()),
        Value::Number(n) => match (n.as_i64(), key.ends_with("_fen")) {
            (Some(f), true) if f >= 0 => Fen::new(f).map_or(Cell::Int(f), Cell::Money),
            (Some(i), _) => Cell::Int(i),
            _ => Cell::Text(n.to_string()),
        },
        Value::String(s) => Cell::Text(s.clone()),
        Value::Array(_) => Cell::Text(v.to_string()),
    };
    out.insert(if key.is_empty() { "value".into() } else { key }, cell);
}

/// Chinese headings for the keys the views use most; a key not listed
/// keeps its English name.
fn heading_zh(key: &str) -> String {
    let last = key.rsplit('.').next().unwrap_or(key);
    let zh = match last {
        "fund" => "基金",
        "balance_fen" => "余额（元）",
        "contributions_fen" => "缴费收入（元）",
        "donations_fen" => "捐款收入（元）",
        "donations_reversed_fen" => "捐款冲回（元）",
        "appropriations_fen" => "拨款收入（元）",
        "appropriations_reversed_fen" => "拨款冲回（元）",
        "transfers_in_fen" => "调入（元）",
        "transfers_out_fen" => "调出（元）",
        "grants_paid_fen" => "已付帮扶金（元）",
        "grants_approved_fen" => "已批帮扶金（元）",
        "claims_paid_fen" => "已付理赔（元）",
        "designated_paid_fen" => "定向拨付（元）",
        "designated_approved_fen" => "已批定向拨付（元）",
        "committed_fen" => "已批未付（元）",
        "available_fen" => "可用余额（元）",
        "transferred_fen" => "调出（元）",
        "allocated_fen" => "捐款拨付（元）",
        "cash" => "现金发放",
        "payout_id" => "支付编号",
        "source" => "来源",
        "source_id" => "来源编号",
        "detail" => "明细",
        "amount_fen" => "金额（元）",
        "state" => "状态",
        "state_on" => "状态日期",
        "transfer" => "基金间调拨",
        "requested_by" => "申请人",
        "requested_at" => "申请时间",
        "approved_by" => "批准人",
        "approved_at" => "批准时间",
        "declined_by" => "驳回人",
        "decline_reason" => "驳回原因",
        "paid_on" => "支付日期",
        "paid_reference" => "支付凭证",
        "beneficiary" => "收款人",
        "name" => "姓名",
        "unit" | "unit_id" => "单位",
        "headcount" => "职工人数",
        "donors" => "捐款人数",
        "received_fen" => "收到捐款（元）",
        _ => return key.to_string(),
    };
    match key.rsplit_once('.') {
        Some((parent, _)) => format!("{parent}.{zh}"),
        None => zh.to_string(),
    }
}
