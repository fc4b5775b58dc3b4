//! Documents as files for auditors to take away (issue 12 item 5, issue 13
//! item 6), shared by the HTTP API (`Accept: text/csv`, XLSX) and the CLI
//! (`--format csv|csv-gbk|xlsx --out FILE`), so both give the same bytes.
//!
//! A file holds the rows of one list in a JSON document (a view's `funds`,
//! `payouts`, `units`, `measures`; a history's `events`), flattened: nested
//! objects become `parent.child` columns, lists their JSON text. A `*_fen`
//! number is money (yuan, two decimals), other whole numbers are numbers,
//! the rest text. Columns are in first-seen order over the rows (each
//! row's keys sorted), so the same document gives byte-identical files.
//! Headings are Chinese where the glossary below knows the key (else the
//! key); English headings are the keys.

use std::collections::BTreeMap;

use domain::i18n::Lang;
use domain::values::Fen;
use serde_json::Value;

use crate::files::table::{Cell, Heading, Table};
use crate::files::{CsvEncoding, FileBytes, FileError, Format};

/// A document that can be a file: its name and where its rows are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ViewFile {
    /// Chinese name (sheet and file name).
    pub zh: &'static str,
    /// English name.
    pub en: &'static str,
    /// JSON pointer to the list of rows.
    pub rows: &'static str,
}

/// 一户一档: a household file's measures.
pub const HOUSEHOLD_FILE: ViewFile = ViewFile {
    zh: "一户一档-帮扶措施",
    en: "household-file-measures",
    rows: "/file/plan/measures",
};
/// A plan period's units.
pub const PLAN_PERIOD: ViewFile = ViewFile {
    zh: "计划期-单位",
    en: "plan-period-units",
    rows: "/plan_period/units",
};
/// The payout ledger's payouts.
pub const PAYOUT_LEDGER: ViewFile = ViewFile {
    zh: "支付台账",
    en: "payout-ledger",
    rows: "/payouts",
};
/// A campaign's units.
pub const CAMPAIGN: ViewFile = ViewFile {
    zh: "一日捐-单位",
    en: "campaign-units",
    rows: "/campaign/units",
};
/// The four funds.
pub const FUND_BALANCES: ViewFile = ViewFile {
    zh: "基金余额",
    en: "fund-balances",
    rows: "/funds",
};
/// A stream's history: one row per event.
pub const HISTORY: ViewFile = ViewFile {
    zh: "事件历史",
    en: "history",
    rows: "/events",
};
/// Payout batches against the bank's results (`view reconciliation`).
pub const RECONCILIATION: ViewFile = ViewFile {
    zh: "发放对账",
    en: "reconciliation",
    rows: "/batches",
};
/// The books' trial balance, one row per account (`view ledger`).
pub const TRIAL_BALANCE: ViewFile = ViewFile {
    zh: "试算平衡表",
    en: "trial-balance",
    rows: "/trial_balance/accounts",
};
/// One month's journal (`view ledger --month`).
pub const JOURNAL: ViewFile = ViewFile {
    zh: "资金日记账",
    en: "journal",
    rows: "/journal",
};
/// An aggregate's state: one row per (flattened) field.
pub const STATE: ViewFile = ViewFile {
    zh: "案卷状态",
    en: "state",
    rows: "/fields",
};

/// The format a command-line name gives: `csv` (UTF-8 with BOM), `csv-gbk`,
/// `xlsx` — the formats `Accept` negotiates over HTTP.
pub fn format_named(name: &str) -> Option<Format> {
    match name.to_ascii_lowercase().as_str() {
        "csv" => Some(Format::Csv(CsvEncoding::Utf8Bom)),
        "csv-gbk" | "gbk" => Some(Format::Csv(CsvEncoding::Gbk)),
        "xlsx" => Some(Format::Xlsx),
        _ => None,
    }
}

/// The format a file name's extension implies (`.csv`: UTF-8, `.xlsx`).
pub fn format_of_path(path: &std::path::Path) -> Option<Format> {
    let ext = path.extension()?.to_str()?;
    match ext.to_ascii_lowercase().as_str() {
        "csv" => Some(Format::Csv(CsvEncoding::Utf8Bom)),
        "xlsx" => Some(Format::Xlsx),
        _ => None,
    }
}

/// The document's rows as a file in `format`.
pub fn render(
    view: &ViewFile,
    doc: &Value,
    format: Format,
    lang: Lang,
) -> Result<(FileBytes, usize), FileError> {
    let rows = doc
        .pointer(view.rows)
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    let file = table(view, rows).render(format, lang)?;
    Ok((file, rows.len()))
}

/// The file name a download carries: the document's name, its log position
/// (when it says one) and the format's extension.
pub fn file_name(view: &ViewFile, doc: &Value, format: Format, lang: Lang) -> String {
    let position = doc
        .get("views_position")
        .map_or_else(String::new, |p| match p {
            Value::String(s) => format!("-{s}"),
            other => format!("-{other}"),
        });
    format!(
        "{}{position}.{}",
        lang.pick(view.zh, view.en),
        format.extension()
    )
}

/// The document `bangfu show` prints and a state file (CLI `show --format`,
/// HTTP `…/state` with `Accept`) holds: the state, its version, whether its
/// stream's chain recomputes, and the point it is as of (described, with
/// the log position it reflects).
pub fn state_doc(
    (aggregate_type, aggregate_id): (&str, &str),
    version: usize,
    state: Value,
    chain: &crate::store::ChainReport,
    as_of: Option<(String, crate::store::LogPosition)>,
) -> Value {
    let broken: Vec<u64> = chain.breaks.iter().map(|b| b.sequence).collect();
    let mut doc = serde_json::json!({
        "aggregate_type": aggregate_type, "aggregate_id": aggregate_id,
        "version": version, "state": state,
        "chain": { "ok": chain.is_ok(), "broken_sequences": broken },
    });
    if let Some((described, at)) = as_of {
        doc["as_of"] = Value::String(described);
        doc["as_of_log_position"] = serde_json::json!(at);
    }
    doc
}

/// An object (an aggregate's state) as the `{"fields": [...]}` document
/// [`STATE`] reads: one `{"field", "value"}` row per flattened key, in key
/// order; money stays a `*_fen` number so it is written as yuan.
pub fn fields_doc(state: &Value) -> Value {
    let mut flat = BTreeMap::new();
    flatten_json(&mut flat, String::new(), state);
    let fields: Vec<Value> = flat
        .into_iter()
        .map(|(k, v)| {
            let money = k.ends_with("_fen");
            let mut row = serde_json::Map::new();
            row.insert("field".into(), Value::String(k));
            row.insert(if money { "value_fen" } else { "value" }.into(), v);
            Value::Object(row)
        })
        .collect();
    serde_json::json!({ "fields": fields })
}

fn flatten_json(out: &mut BTreeMap<String, Value>, key: String, v: &Value) {
    match v {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                let key = if key.is_empty() {
                    k.clone()
                } else {
                    format!("{key}.{k}")
                };
                flatten_json(out, key, v);
            }
        }
        Value::Array(_) | Value::Object(_) => {
            out.insert(key, Value::String(v.to_string()));
        }
        other => {
            out.insert(key, other.clone());
        }
    }
}

/// The rows as a table with both languages' headings.
pub fn table(view: &ViewFile, rows: &[Value]) -> Table {
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

/// The Chinese heading of a column key: each part (a nested object's key
/// and its parents') in the glossary's word, a part it does not know (an
/// event type, a rare field) as it is.
pub fn heading_zh(key: &str) -> String {
    key.split('.')
        .map(|part| glossary(part).unwrap_or(part))
        .collect::<Vec<_>>()
        .join(".")
}

/// Chinese words for the keys the views, histories and states use most.
fn glossary(key: &str) -> Option<&'static str> {
    Some(match key {
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
        "transferred_fen" => "调出（元）",
        "allocated_fen" => "捐款拨付（元）",
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
        // A history's events.
        "position" => "日志位置",
        "event_id" => "事件编号",
        "sequence" => "序号",
        "event_type" => "事件类型",
        "event_version" => "事件版本",
        "label" => "事件",
        "summary" => "摘要",
        "actor_id" => "操作人",
        "actor_role" => "操作角色",
        "recorded_at" => "记录时间",
        "command_id" => "命令编号",
        "correlation_id" => "关联编号",
        "payload" => "事件内容",
        "prev_hash" => "前一哈希",
        "hash" => "哈希",
        "chain_ok" => "哈希链完好",
        "chain_problem" => "哈希链问题",
        // A state's fields, and what `show` adds.
        "field" => "字段",
        "value" => "值",
        "value_fen" => "金额值（元）",
        "aggregate_type" => "案卷类型",
        "aggregate_id" => "案卷编号",
        "version" => "版本",
        "chain" => "哈希链",
        "ok" => "完好",
        "broken_sequences" => "断链序号",
        "as_of" => "截至",
        "as_of_log_position" => "截至日志位置",
        // The books, the journal, reconciliation.
        "account" => "科目",
        "debit_fen" => "借方（元）",
        "credit_fen" => "贷方（元）",
        "date" => "日期",
        "entry_id" => "分录编号",
        "lineage" => "来源明细",
        "lines" => "分录行",
        "log_commit" => "日志提交号",
        "log_position" => "日志位置",
        "reference" => "参考号",
        "available_fen" => "可用（元）",
        "bank_paid_fen" => "银行已付（元）",
        "cancelled_fen" => "已取消（元）",
        "claims_approved_fen" => "已批理赔（元）",
        "committed_fen" => "已批未付（元）",
        "inflow_fen" => "流入（元）",
        "outflow_fen" => "流出（元）",
        "overdrawn" => "超支",
        "overdrawn_fen" => "超支金额（元）",
        "returned_fen" => "退回（元）",
        "totals" => "合计",
        // People and payees (masked where the view stores them so).
        "account_name" => "户名",
        "card" => "银行卡号",
        "card_masked" => "银行卡号（脱敏）",
        "resident_id" => "身份证号",
        "resident_id_masked" => "身份证号（脱敏）",
        "phone" => "手机号",
        "phone_masked" => "手机号（脱敏）",
        "payee" => "收款方",
        "bank_transfer" => "银行转账",
        "cash" => "现金",
        "method" => "支付方式",
        "signed_by" => "签收人",
        // Measures, plan periods, campaigns.
        "approved_fen" => "已批（元）",
        "completed" => "已完成",
        "declined_fen" => "已驳回（元）",
        "description" => "说明",
        "due_on" => "到期日",
        "kind" => "类别",
        "measure_id" => "措施编号",
        "paid_fen" => "已付（元）",
        "planned_fen" => "计划（元）",
        "planned_amount_fen" => "计划金额（元）",
        "requested_fen" => "已申请（元）",
        "amendments" => "名单变更",
        "claims" => "理赔",
        "contribution_fen" => "缴费（元）",
        "enrolled_at" => "入册时间",
        "members" => "成员",
        "plan_id" => "计划编号",
        "sponsor" => "承办单位",
        "subsidies_paid_fen" => "已付补助（元）",
        "unit_name" => "单位名称",
        "campaign_id" => "活动编号",
        "donations" => "捐款笔数",
        "net_received_fen" => "净收到（元）",
        "over_headcount" => "超出职工人数",
        "participation_bp" => "参与率（基点）",
        "reversals" => "冲回笔数",
        "reversed_fen" => "冲回（元）",
        // Event payloads: the words most events carry.
        "household" => "家庭",
        "head" => "户主",
        "causes" => "致困原因",
        "employer_unit" => "工作单位",
        "grassroots_union" => "基层工会",
        "migrant_worker" => "农民工",
        "mobile_member" => "流动会员",
        "local_minimum_standard_fen" => "当地低保标准（元）",
        "monthly_income_per_capita_fen" => "家庭人均月收入（元）",
        "opened_at" => "建档时间",
        "opened_by" => "建档人",
        "opened_on" => "建档日期",
        "visit_id" => "走访编号",
        "visited_on" => "走访日期",
        "caseworkers" => "走访人员",
        "findings" => "走访发现",
        "facts_verified" => "核实事项",
        "contact_card_issued" => "已发联系卡",
        "cash_handover" => "现金交付",
        "logged_at" => "登记时间",
        "logged_by" => "登记人",
        "verified_at" => "核实时间",
        "verified_by" => "核实人",
        "adopted_at" => "制定时间",
        "adopted_by" => "制定人",
        "goal" => "目标",
        "revision" => "修订号",
        "grant_id" => "帮扶金编号",
        "recorded_by" => "记录人",
        "completed_at" => "完成时间",
        "completed_by" => "完成人",
        "reviewed_by" => "复核人",
        "reviewed_on" => "复核日期",
        "next_review_on" => "下次复核日期",
        "outcome" => "复核结果",
        "closed_at" => "结案时间",
        "closed_by" => "结案人",
        "reason" => "原因",
        "note" => "备注",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_are_chinese_for_known_keys_and_keep_parents() {
        assert_eq!(heading_zh("amount_fen"), "金额（元）");
        assert_eq!(heading_zh("totals.amount_fen"), "合计.金额（元）");
        assert_eq!(
            heading_zh("payload.GrantPaid.amount_fen"),
            "事件内容.GrantPaid.金额（元）"
        );
        assert_eq!(heading_zh("unknown_key"), "unknown_key");
        assert_eq!(heading_zh("sequence"), "序号");
    }

    #[test]
    fn formats_by_name_and_by_extension() {
        assert_eq!(format_named("CSV"), Some(Format::Csv(CsvEncoding::Utf8Bom)));
        assert_eq!(format_named("csv-gbk"), Some(Format::Csv(CsvEncoding::Gbk)));
        assert_eq!(format_named("xlsx"), Some(Format::Xlsx));
        assert_eq!(format_named("pdf"), None);
        let p = std::path::Path::new("a/报表.XLSX");
        assert_eq!(format_of_path(p), Some(Format::Xlsx));
        assert_eq!(format_of_path(std::path::Path::new("a.txt")), None);
    }

    #[test]
    fn a_state_becomes_one_row_per_field_in_key_order() {
        let doc = fields_doc(&serde_json::json!({
            "b": {"amount_fen": 150, "list": [1, 2]}, "a": "陈", "empty": {}
        }));
        assert_eq!(
            doc,
            serde_json::json!({"fields": [
                {"field": "a", "value": "陈"},
                {"field": "b.amount_fen", "value_fen": 150},
                {"field": "b.list", "value": "[1,2]"},
                {"field": "empty", "value": "{}"},
            ]})
        );
        let (file, rows) =
            render(&STATE, &doc, Format::Csv(CsvEncoding::Utf8Bom), Lang::Zh).expect("renders");
        assert_eq!(rows, 4);
        let text = String::from_utf8(file.bytes[3..].to_vec()).expect("utf-8");
        assert!(text.starts_with("字段,值,金额值（元）"), "{text}");
        assert!(text.contains("b.amount_fen,,1.50"), "{text}");
    }
}
