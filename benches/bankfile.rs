//! Bank files at drive scale (BENCHMARKS.md "Bank files"): export a batch of
//! 20,000 payouts as CSV (UTF-8 with BOM), CSV (GBK) and XLSX, then parse
//! the bank's result file (CSV and XLSX) and match it to the batch.
//!
//! `cargo bench --bench bankfile` — each step run 3 times, the median
//! printed, with the file size. Pure CPU: no store, no disk.
//!
//! Then the path finance staff take (`finance::bankfile`, what `bangfu bank
//! export|import` and the HTTP routes run) on an embedded SQLite store in a
//! temporary directory: the batch drafted, locked and authorised through
//! the engine, then the export (render + `RecordExport` committed) and the
//! import (parse + the aggregate's matching + `RecordResults` committed,
//! 20,000 `payout_paid` reservations), each once, since each changes the
//! batch; and the same file again (recognised, nothing written).

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
            account: luhn(&format!("6222{:014}", u64::from(i) * 7_919)),
            bank_name: "中国工商银行股份有限公司北京分行".into(),
            amount: Fen::new(i64::from(i % 500 + 1) * 1_000 + i64::from(i % 100)).expect("fen"),
            purpose: "困难职工帮扶金".into(),
        })
        .collect()
}

/// `body` with its Luhn check digit (real card numbers: the store path parses them).
fn luhn(body: &str) -> String {
    let sum: u32 = body
        .chars()
        .rev()
        .enumerate()
        .map(|(i, c)| {
            let d = c.to_digit(10).expect("digit");
            match (i % 2 == 0, d * 2) {
                (true, dd) if dd > 9 => dd - 9,
                (true, dd) => dd,
                _ => d,
            }
        })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
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
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(store_path(&lines, &table));
}

fn as_domain(l: &PayoutLine) -> domain::finance::PayoutLine {
    use domain::values::{BankCard, OrgName, PersonName, ShortText};
    domain::finance::PayoutLine {
        payout_id: domain::finance::PayoutId::parse(&l.payout_id).expect("id"),
        source: domain::finance::SourceKind::Grant,
        payee: PersonName::parse(&l.name).expect("name"),
        account: domain::finance::PayeeAccount::Bank {
            card: BankCard::parse(&l.account).expect("card"),
            bank: Some(OrgName::parse(&l.bank_name).expect("bank")),
        },
        amount_fen: l.amount,
        fund: domain::fund::Fund::SpecialAssistance,
        purpose: ShortText::parse(&l.purpose).expect("purpose"),
    }
}

/// The store path, on SQLite (see the module docs).
async fn store_path(lines: &[PayoutLine], results: &bangfu::files::table::Table) {
    use bangfu::finance::bankfile;
    use domain::command::{Actor, Cmd, Role};
    use domain::finance::batch::{FileFormat, PayoutBatchCommand as C};
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let app = bangfu::app::App::open_url(&url).await.expect("open");
    let ctx = |who: &str, role| {
        let id = domain::values::Code::parse(who).expect("actor");
        app.clock.context(Actor { id, role }, None, None)
    };
    let run = |who: &'static str, role, body| {
        let cmd = Cmd {
            ctx: ctx(who, role),
            body,
        };
        let engine = &app.batches;
        async move {
            bangfu::app::execute(engine, BATCH, cmd)
                .await
                .expect("command");
        }
    };
    let draft = C::Draft {
        fund: domain::fund::Fund::SpecialAssistance,
        lines: lines.iter().map(as_domain).collect(),
        signing: None,
        note: None,
    };
    let start = Instant::now();
    run("wu.haiyan", Role::Finance, draft).await;
    let drafted = start.elapsed();
    run("wu.haiyan", Role::Finance, C::Lock).await;
    for signer in ["huang.zhiqiang", "zheng.lihua"] {
        run(signer, Role::Approver, C::Authorise { note: None }).await;
    }
    println!("\nthe store path (SQLite, temporary file), each step once");
    println!(
        "{:<34} {:>10}",
        "draft (20,000 lines, one event)",
        ms(drafted)
    );
    let template = BankTemplate::default();
    for (name, format) in [
        ("export CSV + RecordExport", FileFormat::CsvUtf8),
        ("export XLSX + RecordExport", FileFormat::Xlsx),
    ] {
        let start = Instant::now();
        let ctx = ctx("wu.haiyan", Role::Finance);
        let (file, _) = bankfile::export(&app, BATCH, format, &template, ctx)
            .await
            .expect("export");
        let t = start.elapsed();
        println!("{name:<34} {:>10} {:>12}", ms(t), file.file.bytes.len());
    }
    let file = results
        .render(Format::Csv(CsvEncoding::Utf8Bom), Lang::Zh)
        .expect("render");
    for name in ["import CSV + RecordResults", "the same file again"] {
        let start = Instant::now();
        let ctx = ctx("wu.haiyan", Role::Finance);
        let done = bankfile::import(&app, BATCH, &file.bytes, &template, None, ctx)
            .await
            .expect("import");
        let t = start.elapsed();
        assert_eq!(done.committed.is_some(), name.starts_with("import"));
        println!("{name:<34} {:>10} {:>12}", ms(t), file.bytes.len());
    }
    app.store.close().await;
}

fn ms(t: Duration) -> String {
    format!("{:.1}", t.as_secs_f64() * 1e3)
}
