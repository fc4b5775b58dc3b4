//! Unit tests of the file layer: every format written and read back, every
//! bad result file refused with its line and column, matching.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use domain::i18n::{Lang, Localize};
use domain::values::Fen;

use super::bank::{export_batch, BankTemplate, PayoutLine};
use super::negotiate::{content_disposition, format_from_accept};
use super::reconcile::{reconcile, Exception, Outcome};
use super::result::{parse_result, result_table, ResultLine, ResultStatus};
use super::table::{Cell, Heading, Table};
use super::{CsvEncoding, FileError, FileErrorKind, Format};

const BATCH: &str = "PB-2026-06-001";
const FORMATS: [Format; 3] = [
    Format::Csv(CsvEncoding::Utf8Bom),
    Format::Csv(CsvEncoding::Gbk),
    Format::Xlsx,
];

fn fen(f: i64) -> Fen {
    Fen::new(f).unwrap()
}

fn lines(n: u32) -> Vec<PayoutLine> {
    (1..=n)
        .map(|i| PayoutLine {
            seq: i,
            payout_id: format!("PO-{i:05}"),
            name: if i == 1 {
                "张三".into()
            } else {
                format!("李四{i}")
            },
            account: format!("62220212{i:011}"),
            bank_name: "中国工商银行北京分行".into(),
            amount: fen(i64::from(i) * 12_345 + 5),
            purpose: "困难帮扶金".into(),
        })
        .collect()
}

fn results(batch: &[PayoutLine]) -> Vec<ResultLine> {
    batch
        .iter()
        .enumerate()
        .map(|(i, l)| ResultLine {
            line: i + 2,
            seq: l.seq,
            payout_id: None,
            name: l.name.clone(),
            account: l.account.clone(),
            amount: l.amount,
            status: if l.seq % 3 == 0 {
                ResultStatus::Failed
            } else {
                ResultStatus::Success
            },
            reason: if l.seq % 3 == 0 {
                "账户已销户".into()
            } else {
                String::new()
            },
        })
        .collect()
}

/// Every row of a CSV or XLSX file as text cells.
fn read_back(format: Format, bytes: &[u8]) -> Vec<Vec<String>> {
    match format {
        Format::Xlsx => {
            let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).unwrap();
            let range = book.worksheet_range_at(0).unwrap().unwrap();
            range
                .rows()
                .map(|r| {
                    r.iter()
                        .map(|c| match c {
                            Data::Float(f) => format!("{f:.2}"),
                            Data::Empty => String::new(),
                            other => other.to_string(),
                        })
                        .collect()
                })
                .collect()
        }
        Format::Csv(enc) => {
            let text = match enc {
                CsvEncoding::Utf8Bom => {
                    assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
                    String::from_utf8(bytes[3..].to_vec()).unwrap()
                }
                CsvEncoding::Gbk => {
                    let (t, _, bad) = encoding_rs::GBK.decode(bytes);
                    assert!(!bad);
                    t.into_owned()
                }
            };
            let mut r = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(text.as_bytes());
            r.records()
                .map(|rec| rec.unwrap().iter().map(str::to_string).collect())
                .collect()
        }
    }
}

#[test]
fn batch_export_reads_back_line_by_line_in_every_format() {
    let batch = lines(5);
    for format in FORMATS {
        let file = export_batch(&BankTemplate::default(), BATCH, &batch, format).unwrap();
        assert_eq!(file.sha256, super::sha256_hex(&file.bytes));
        let rows = read_back(format, &file.bytes);
        assert_eq!(
            rows[0],
            [
                "序号",
                "收款人姓名",
                "收款账号",
                "开户行",
                "金额",
                "用途",
                "批次号"
            ],
            "{format:?}"
        );
        assert_eq!(rows.len(), 1 + 5 + 1, "{format:?}");
        for (row, l) in rows[1..6].iter().zip(&batch) {
            let seq = row[0].trim_end_matches(".00").to_string();
            let want = [
                l.seq.to_string(),
                l.name.clone(),
                l.account.clone(),
                l.bank_name.clone(),
                l.amount.to_string(),
                l.purpose.clone(),
                BATCH.to_string(),
            ];
            assert_eq!([&[seq][..], &row[1..]].concat(), want, "{format:?}");
        }
        let total = Fen::checked_sum(batch.iter().map(|l| l.amount)).unwrap();
        let last = &rows[6];
        assert_eq!(
            (last[0].as_str(), last[4].clone(), last[6].as_str()),
            ("合计", total.to_string(), BATCH)
        );
        // Same batch, same bytes.
        let again = export_batch(&BankTemplate::default(), BATCH, &batch, format).unwrap();
        assert_eq!(again.bytes, file.bytes, "{format:?}");
    }
}

#[test]
fn xlsx_is_byte_identical_across_time() {
    let batch = lines(3);
    let a = export_batch(&BankTemplate::default(), BATCH, &batch, Format::Xlsx).unwrap();
    // Past a second boundary: a writer stamping "now" would differ.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let b = export_batch(&BankTemplate::default(), BATCH, &batch, Format::Xlsx).unwrap();
    assert_eq!(a.sha256, b.sha256);
}

#[test]
fn xlsx_money_is_numeric_and_accounts_are_text() {
    let batch = lines(2);
    let file = export_batch(&BankTemplate::default(), BATCH, &batch, Format::Xlsx).unwrap();
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(file.bytes)).unwrap();
    let range = book.worksheet_range_at(0).unwrap().unwrap();
    assert_eq!(range.get((1, 4)), Some(&Data::Float(123.50)));
    assert_eq!(
        range.get((1, 2)),
        Some(&Data::String("6222021200000000001".into()))
    );
}

#[test]
fn result_files_round_trip_in_every_format() {
    let batch = lines(7);
    let want = results(&batch);
    let template = BankTemplate::default();
    for format in FORMATS {
        let file = result_table(&template, BATCH, &want)
            .unwrap()
            .render(format, Lang::Zh)
            .unwrap();
        let got = parse_result(&template, BATCH, &file.bytes).unwrap();
        assert_eq!(got, want, "{format:?}");
    }
}

#[test]
fn gbk_writes_zhang_san_and_refuses_a_character_outside_gbk() {
    let mut batch = lines(2);
    let file = export_batch(
        &BankTemplate::default(),
        BATCH,
        &batch,
        Format::Csv(CsvEncoding::Gbk),
    )
    .unwrap();
    let (zhang, _, _) = encoding_rs::GBK.encode("张三");
    assert!(file.bytes.windows(zhang.len()).any(|w| w == &*zhang));
    batch[1].name = "王𠀀".into();
    let err = export_batch(
        &BankTemplate::default(),
        BATCH,
        &batch,
        Format::Csv(CsvEncoding::Gbk),
    )
    .unwrap_err();
    assert_eq!(err.kind, FileErrorKind::NotInGbk { ch: '𠀀' });
    assert_eq!(
        (err.line, err.column.as_ref().map(|c| c.number)),
        (Some(3), Some(2))
    );
    assert!(
        err.localize(Lang::Zh)
            .starts_with("第 3 行第 2 列（收款人姓名）："),
        "{}",
        err.localize(Lang::Zh)
    );
    assert!(err
        .localize(Lang::En)
        .starts_with("line 3, column 2 (收款人姓名): "));
    // UTF-8 and XLSX carry it.
    for format in [Format::Csv(CsvEncoding::Utf8Bom), Format::Xlsx] {
        export_batch(&BankTemplate::default(), BATCH, &batch, format).unwrap();
    }
}

#[test]
fn tables_render_typed_cells_and_english_headings() {
    let mut t = Table::new(
        Heading::new("基金余额", "Fund balances"),
        vec![
            Heading::new("基金", "Fund"),
            Heading::new("余额", "Balance"),
            Heading::new("笔数", "Count"),
            Heading::new("日期", "Date"),
        ],
    );
    let date = chrono::NaiveDate::from_ymd_opt(2026, 6, 30).unwrap();
    t.push(vec![
        Cell::text("互助金"),
        Cell::Money(fen(53_751_814)),
        Cell::Int(42),
        Cell::Date(date),
    ]);
    let csv = t
        .render(Format::Csv(CsvEncoding::Utf8Bom), Lang::En)
        .unwrap();
    assert_eq!(
        csv.bytes,
        "\u{feff}Fund,Balance,Count,Date\r\n互助金,537518.14,42,2026-06-30\r\n".as_bytes()
    );
    let xlsx = t.render(Format::Xlsx, Lang::Zh).unwrap();
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(xlsx.bytes)).unwrap();
    assert_eq!(book.sheet_names(), ["基金余额"]);
    let range = book.worksheet_range_at(0).unwrap().unwrap();
    assert_eq!(range.get((0, 1)), Some(&Data::String("余额".into())));
    assert_eq!(range.get((1, 1)), Some(&Data::Float(537_518.14)));
    assert_eq!(range.get((1, 2)), Some(&Data::Float(42.0)));
    assert!(matches!(range.get((1, 3)), Some(Data::DateTime(_))));
}

// ---- bad result files -------------------------------------------------

/// The default result file of 4 lines as CSV text, for editing.
fn good_csv() -> String {
    let batch = lines(4);
    let file = result_table(&BankTemplate::default(), BATCH, &results(&batch))
        .unwrap()
        .render(Format::Csv(CsvEncoding::Utf8Bom), Lang::Zh)
        .unwrap();
    String::from_utf8(file.bytes[3..].to_vec()).unwrap()
}

fn refuse(bytes: &[u8]) -> FileError {
    parse_result(&BankTemplate::default(), BATCH, bytes).unwrap_err()
}

fn at(e: &FileError) -> (Option<usize>, Option<usize>) {
    (e.line, e.column.as_ref().map(|c| c.number))
}

/// Replaces cell `col` (1-based) on `line` (1-based) of a CSV text.
fn edit(text: &str, line: usize, col: usize, value: &str) -> String {
    let mut rows: Vec<Vec<String>> = text
        .lines()
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    rows[line - 1][col - 1] = value.to_string();
    rows.iter()
        .map(|r| r.join(","))
        .collect::<Vec<_>>()
        .join("\r\n")
}

#[test]
fn amounts_with_three_decimals_negative_or_not_numbers_are_refused_at_their_cell() {
    let cases = [
        (
            "12.345",
            FileErrorKind::AmountDecimals {
                value: "12.345".into(),
            },
        ),
        (
            "-12.30",
            FileErrorKind::AmountNegative {
                value: "-12.30".into(),
            },
        ),
        (
            "1e3",
            FileErrorKind::AmountNotNumber {
                value: "1e3".into(),
            },
        ),
        (
            "一百",
            FileErrorKind::AmountNotNumber {
                value: "一百".into(),
            },
        ),
    ];
    for (value, kind) in cases {
        let e = refuse(edit(&good_csv(), 3, 5, value).as_bytes());
        assert_eq!(e.kind, kind, "{value}");
        assert_eq!(at(&e), (Some(3), Some(5)), "{value}");
        assert_eq!(e.column.unwrap().heading, "金额");
    }
}

#[test]
fn xlsx_amount_with_three_decimals_is_refused() {
    let batch = lines(2);
    let mut res = results(&batch);
    res[1].amount = fen(1);
    let mut t = result_table(&BankTemplate::default(), BATCH, &res).unwrap();
    t.rows[1][4] = Cell::text("0.015");
    let file = t.render(Format::Xlsx, Lang::Zh).unwrap();
    let e = refuse(&file.bytes);
    assert_eq!(
        e.kind,
        FileErrorKind::AmountDecimals {
            value: "0.015".into()
        }
    );
    assert_eq!(at(&e), (Some(3), Some(5)));
}

#[test]
fn missing_extra_and_duplicate_columns_are_named() {
    let text = good_csv();
    let no_account = text.replace("收款账号", "卡号");
    let e = refuse(no_account.as_bytes());
    assert_eq!(
        (e.kind.clone(), at(&e)),
        (FileErrorKind::ExtraColumn, (Some(1), Some(3)))
    );
    let dropped: String = text
        .lines()
        .map(|l| {
            l.split(',')
                .filter(|_| true)
                .enumerate()
                .filter(|(i, _)| *i != 2)
                .map(|(_, c)| c)
                .collect::<Vec<_>>()
                .join(",")
                + "\r\n"
        })
        .collect();
    let e = refuse(dropped.as_bytes());
    assert_eq!(
        (e.kind.clone(), at(&e)),
        (FileErrorKind::MissingColumn, (Some(1), Some(3)))
    );
    assert_eq!(e.column.unwrap().heading, "收款账号");
    let dup = text.replacen("开户行", "收款账号", 1);
    assert_eq!(refuse(dup.as_bytes()).kind, FileErrorKind::DuplicateColumn);
    let short: String = text.lines().enumerate().map(|(i, l)| if i == 2 { l.rsplit_once(',').unwrap().0.to_string() } else { l.to_string() } + "\r\n").collect();
    let e = refuse(short.as_bytes());
    assert_eq!(
        (e.kind.clone(), at(&e)),
        (FileErrorKind::MissingCell, (Some(3), Some(9)))
    );
}

#[test]
fn another_batch_status_reason_and_totals_are_checked() {
    let text = good_csv();
    let e = refuse(edit(&text, 4, 7, "PB-OTHER").as_bytes());
    assert!(matches!(e.kind, FileErrorKind::WrongBatch { .. }));
    assert_eq!(at(&e), (Some(4), Some(7)));
    let e = refuse(edit(&text, 2, 8, "处理中").as_bytes());
    assert_eq!(at(&e), (Some(2), Some(8)));
    let e = refuse(edit(&text, 4, 9, "").as_bytes());
    assert_eq!(
        (e.kind.clone(), at(&e)),
        (FileErrorKind::MissingReason, (Some(4), Some(9)))
    );
    let e = refuse(edit(&text, 6, 5, "1.00").as_bytes());
    assert!(matches!(e.kind, FileErrorKind::TotalsMismatch { .. }));
    assert_eq!(at(&e), (Some(6), Some(5)));
    let after = format!("{text}1,x,1,,1.00,,{BATCH},成功,\r\n");
    assert_eq!(at(&refuse(after.as_bytes())), (Some(7), None));
    let e = refuse(edit(&text, 2, 1, "一").as_bytes());
    assert_eq!((at(&e), e.code()), ((Some(2), Some(1)), "file.not_integer"));
}

#[test]
fn empty_files_and_wrong_encodings_are_refused() {
    assert_eq!(refuse(b"").kind, FileErrorKind::Empty);
    let heading_only = good_csv().lines().next().unwrap().to_string();
    assert_eq!(refuse(heading_only.as_bytes()).kind, FileErrorKind::Empty);
    // Excel's "Unicode text": UTF-16LE with its BOM.
    let utf16: Vec<u8> = std::iter::once(0xFEFF_u16)
        .chain(good_csv().encode_utf16())
        .flat_map(u16::to_le_bytes)
        .collect();
    let e = refuse(&utf16);
    assert_eq!((e.kind, e.line), (FileErrorKind::Encoding, Some(1)));
    // A UTF-8 BOM followed by GBK bytes on line 3.
    let mut mixed = b"\xEF\xBB\xBF".to_vec();
    let text = good_csv();
    let (l1, rest) = text.split_at(text.find('\n').unwrap() + 1);
    let (l2, rest) = rest.split_at(rest.find('\n').unwrap() + 1);
    mixed.extend_from_slice(l1.as_bytes());
    mixed.extend_from_slice(l2.as_bytes());
    mixed.extend_from_slice(&encoding_rs::GBK.encode(rest).0);
    let e = refuse(&mixed);
    assert_eq!((e.kind, e.line), (FileErrorKind::Encoding, Some(3)));
    // Plain GBK without BOM is read.
    let gbk = encoding_rs::GBK.encode(&good_csv()).0.into_owned();
    assert_eq!(
        parse_result(&BankTemplate::default(), BATCH, &gbk)
            .unwrap()
            .len(),
        4
    );
}

#[test]
fn a_file_of_100000_lines_is_refused_at_the_first_line_past_the_maximum() {
    let template = BankTemplate::default();
    let batch = lines(100_000);
    let res = results(&batch);
    let table = result_table(&template, BATCH, &res).unwrap();
    for format in [Format::Csv(CsvEncoding::Utf8Bom), Format::Xlsx] {
        let file = table.render(format, Lang::Zh).unwrap();
        let e = parse_result(&template, BATCH, &file.bytes).unwrap_err();
        assert_eq!(
            e.kind,
            FileErrorKind::TooManyLines { max: 50_000 },
            "{format:?}"
        );
        assert_eq!(e.code(), "file.too_many_lines");
    }
    let small = BankTemplate {
        max_result_lines: 3,
        ..BankTemplate::default()
    };
    let e = parse_result(&small, BATCH, good_csv().as_bytes()).unwrap_err();
    assert_eq!(
        (e.kind, e.line),
        (FileErrorKind::TooManyLines { max: 3 }, Some(5))
    );
}

// ---- matching -----------------------------------------------------------

#[test]
fn matching_reports_outcomes_and_every_exception_in_order() {
    let batch = lines(6);
    let mut res = results(&batch);
    res.retain(|r| r.seq != 5); // missing from the file
    res[1].amount = fen(1); // seq 2: amount mismatch
    res[3].account = "6222 0000".into(); // seq 4: account mismatch
    let mut dup = res[0].clone();
    dup.line = 20;
    let mut unknown = res[0].clone();
    (unknown.line, unknown.seq) = (21, 99);
    res.extend([dup, unknown]);
    let rec = reconcile(&batch, &res);
    let outcomes: Vec<_> = rec
        .outcomes
        .iter()
        .map(|o| (o.seq, o.outcome.clone()))
        .collect();
    assert_eq!(
        outcomes,
        vec![
            (1, Outcome::Paid { line: 2 }),
            (2, Outcome::Disputed { line: 3 }),
            (
                3,
                Outcome::Failed {
                    line: 4,
                    reason: "账户已销户".into()
                }
            ),
            (4, Outcome::Disputed { line: 5 }),
            (5, Outcome::Missing),
            (
                6,
                Outcome::Failed {
                    line: 7,
                    reason: "账户已销户".into()
                }
            ),
        ]
    );
    let kinds: Vec<_> = rec
        .exceptions
        .iter()
        .map(|e| match e {
            Exception::NotInBatch { line, seq, .. } => format!("not_in_batch {line} {seq}"),
            Exception::MissingFromFile { seq, .. } => format!("missing {seq}"),
            Exception::AmountMismatch {
                line,
                expected,
                found,
                ..
            } => format!("amount {line} {expected} {found}"),
            Exception::AccountMismatch { line, .. } => format!("account {line}"),
            Exception::Duplicate {
                line, first_line, ..
            } => format!("duplicate {line} {first_line}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "not_in_batch 21 99",
            "missing 5",
            "amount 3 246.95 0.01",
            "account 5",
            "duplicate 20 2"
        ]
    );
    assert_eq!(
        (
            rec.paid.count,
            rec.failed.count,
            rec.disputed.count,
            rec.missing.count
        ),
        (1, 2, 2, 1)
    );
    assert_eq!(
        rec.expected.amount,
        Fen::checked_sum(batch.iter().map(|l| l.amount)).unwrap()
    );
    // Same input in another order: same answer.
    res.reverse();
    let again = reconcile(&batch, &res);
    assert_eq!(again.exceptions.len(), rec.exceptions.len());
    assert_eq!(again.expected, rec.expected);
}

// ---- templates and negotiation ----------------------------------------

#[test]
fn a_template_loads_from_toml_and_json_and_bad_ones_are_refused() {
    let toml = r#"
name = "农行代发"
totals_label = "总计"
[[columns]]
field = "seq"
heading = "编号"
[[columns]]
field = "account"
heading = "账号"
[[columns]]
field = "name"
heading = "户名"
[[columns]]
field = "amount"
heading = "金额(元)"
[[columns]]
field = "batch_id"
heading = "批次"
"#;
    let t = BankTemplate::from_toml(toml).unwrap();
    assert_eq!(t.headings(), ["编号", "账号", "户名", "金额(元)", "批次"]);
    let json = serde_json::to_string(&t).unwrap();
    assert_eq!(BankTemplate::from_json(&json).unwrap(), t);
    let batch = lines(3);
    let file = export_batch(&t, BATCH, &batch, Format::Csv(CsvEncoding::Gbk)).unwrap();
    let rows = read_back(file.format, &file.bytes);
    assert_eq!(rows[4][0], "总计");
    let no_amount = toml.replace("field = \"amount\"", "field = \"purpose\"");
    assert_eq!(
        BankTemplate::from_toml(&no_amount).unwrap_err().code(),
        "file.template"
    );
    assert!(BankTemplate::from_toml("columns = 3").is_err());
}

#[test]
fn accept_headers_pick_a_format() {
    let csv = Some(Format::Csv(CsvEncoding::Utf8Bom));
    assert_eq!(format_from_accept(None), None);
    assert_eq!(format_from_accept(Some("application/json")), None);
    assert_eq!(format_from_accept(Some("text/csv")), csv);
    assert_eq!(
        format_from_accept(Some("text/csv; charset=GBK")),
        Some(Format::Csv(CsvEncoding::Gbk))
    );
    assert_eq!(
        format_from_accept(Some(super::negotiate::XLSX_MEDIA_TYPE)),
        Some(Format::Xlsx)
    );
    assert_eq!(
        format_from_accept(Some("application/json;q=0.5, text/csv")),
        csv
    );
    assert_eq!(format_from_accept(Some("text/csv;q=0.2, */*")), None);
    assert_eq!(format_from_accept(Some("text/csv;q=0")), None);
    assert_eq!(
        content_disposition("基金余额 2026.csv"),
        "attachment; filename=\"____ 2026.csv\"; filename*=UTF-8''%E5%9F%BA%E9%87%91%E4%BD%99%E9%A2%9D%202026.csv"
    );
}
