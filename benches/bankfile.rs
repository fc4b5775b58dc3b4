//! Bank files at drive scale (BENCHMARKS.md "Bank files"): export a batch of
//! 20,000 payouts as CSV (UTF-8 with BOM), CSV (GBK) and XLSX, then parse
//! the bank's result file (CSV and XLSX) and match it to the batch.
//!
//! `cargo bench --bench bankfile` — each step run 3 times, the median
//! printed, with the file size. Pure CPU: no store, no disk.

use std::time::{Duration, Instant};

use bangfu::files::bank::{export_batch, BankTemplate, PayoutLine};
use bangfu::files::reconcile::reconcile;
use bangfu::files::result::{parse_result, result_table, ResultLine, ResultStatus};
use bangfu::files::{CsvEncoding, Format};
use domain::i18n::Lang;
use domain::values::Fen;

const LINES: u32 = 20_000;
const BATCH: &str = "PB-2026-06-001";
const SURNAMES: [&str; 8] = ["张", "王", "李", "赵", "刘", "陈", "杨", "黄"];

fn batch() -> Vec<PayoutLine> {
    (1..=LINES)
        .map(|i| PayoutLine {
            seq: i,
            payout_id: format!("grant:HF-{i:06}:G1"),
            name: format!(
                "{}{}",
                SURNAMES[i as usize % 8],
                ["伟", "芳", "娜", "敏"][i as usize % 4]
            ),
            account: format!("6222{:015}", u64::from(i) * 7_919),
            bank_name: "中国工商银行股份有限公司北京分行".into(),
            amount: Fen::new(i64::from(i % 500 + 1) * 1_000 + i64::from(i % 100)).expect("fen"),
            purpose: "困难职工帮扶金".into(),
        })
        .collect()
}

/// About 3% failed, as the month end.
fn results(lines: &[PayoutLine]) -> Vec<ResultLine> {
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let failed = l.seq % 33 == 0;
            ResultLine {
                line: i + 2,
                seq: l.seq,
                payout_id: None,
                name: l.name.clone(),
                account: l.account.clone(),
                amount: l.amount,
                status: if failed {
                    ResultStatus::Failed
                } else {
                    ResultStatus::Success
                },
                reason: if failed {
                    "户名与账号不符".into()
                } else {
                    String::new()
                },
            }
        })
        .collect()
}

fn median<T>(mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..3 {
        let start = Instant::now();
        last = Some(f());
        times.push(start.elapsed());
    }
    times.sort();
    (times[1], last.expect("ran"))
}

fn main() {
    let template = BankTemplate::default();
    let lines = batch();
    println!("bank files: a batch of {LINES} payouts, median of 3");
    println!("{:<34} {:>10} {:>12}", "step", "ms", "bytes");
    let formats = [
        ("export CSV (UTF-8 BOM)", Format::Csv(CsvEncoding::Utf8Bom)),
        ("export CSV (GBK)", Format::Csv(CsvEncoding::Gbk)),
        ("export XLSX", Format::Xlsx),
    ];
    for (name, format) in formats {
        let (t, file) = median(|| export_batch(&template, BATCH, &lines, format).expect("export"));
        println!(
            "{name:<34} {:>10.1} {:>12}",
            t.as_secs_f64() * 1e3,
            file.bytes.len()
        );
    }
    let res = results(&lines);
    let table = result_table(&template, BATCH, &res).expect("result table");
    for (name, format) in [
        (
            "import+match CSV (UTF-8 BOM)",
            Format::Csv(CsvEncoding::Utf8Bom),
        ),
        ("import+match CSV (GBK)", Format::Csv(CsvEncoding::Gbk)),
        ("import+match XLSX", Format::Xlsx),
    ] {
        let file = table.render(format, Lang::Zh).expect("render");
        let (t, rec) = median(|| {
            let parsed = parse_result(&template, BATCH, &file.bytes).expect("parse");
            reconcile(&lines, &parsed)
        });
        assert_eq!(rec.outcomes.len(), LINES as usize);
        assert!(rec.exceptions.is_empty());
        assert_eq!(rec.failed.count, u64::from(LINES / 33));
        println!(
            "{name:<34} {:>10.1} {:>12}",
            t.as_secs_f64() * 1e3,
            file.bytes.len()
        );
    }
}
