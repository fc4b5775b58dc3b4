//! Bank files through the path finance staff take, on SQLite and
//! PostgreSQL: the real `bangfu` binary drafts, locks, authorises (someone
//! else), exports (CSV, GBK CSV and XLSX — read back with `csv`/`calamine`
//! and compared line by line with the batch) and imports the bank's result
//! file (≈3% failed, one duplicate, one unknown line, one amount mismatch;
//! the same file twice changes nothing); bad files are refused naming line
//! and column with exit status 3, and the event count does not move; the
//! failure is re-issued and paid in a second batch (an XLSX result), both
//! batches close. Over HTTP (a real server): the export is a POST that
//! answers with the file and honours `Idempotency-Key`; result uploads
//! answer problem documents naming line and column.

use std::process::Output;
use std::sync::Arc;

use assert_cmd::Command;
use bangfu::app::{execute_json, App};
use bangfu::files::bank::BankTemplate;
use bangfu::files::result::{result_table, ResultLine, ResultStatus};
use bangfu::files::{CsvEncoding, Format};
use chrono::{NaiveDate, TimeZone, Utc};
use domain::command::{Actor, CommandContext, Role};
use domain::finance::batch::{LineStatus, ResultException};
use domain::i18n::Lang;
use domain::testing::nth_resident_id;
use domain::values::{Code, Fen};
use serde_json::{json, Value};
use tempfile::TempDir;
use uuid::Uuid;

const GRANTS: u32 = 34;

pub(crate) struct World {
    pub(crate) url: String,
    pub(crate) dir: TempDir,
}

pub(crate) async fn sqlite_world() -> World {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("bangfu.db").display());
    World { url, dir }
}

pub(crate) async fn postgres_world(test: &str) -> Option<World> {
    let url = crate::pg::fresh_database(test).await?;
    let dir = tempfile::tempdir().expect("temp dir");
    Some(World { url, dir })
}

fn ctx(who: &str, role: Role) -> CommandContext {
    let d = NaiveDate::from_ymd_opt(2026, 3, 5).unwrap();
    CommandContext {
        actor: Actor {
            id: Code::parse(who).unwrap(),
            role,
        },
        recorded_at: Utc.from_utc_datetime(&d.and_hms_opt(9, 0, 0).unwrap()),
        utc_offset_seconds: 0,
        command_id: Uuid::now_v7(),
        correlation_id: Uuid::now_v7(),
    }
}

async fn run<A>(engine: &bangfu::app::engine::Engine<A>, id: &str, who: &str, body: Value)
where
    A: bangfu::app::CaseAggregate,
    A::Error: domain::i18n::ErrorCode,
{
    let role = match who {
        "huang.zhiqiang" => Role::Approver,
        "wu.haiyan" => Role::Finance,
        _ => Role::Caseworker,
    };
    let bytes = serde_json::to_vec(&body).unwrap();
    execute_json(engine, id, &bytes, ctx(who, role))
        .await
        .unwrap_or_else(|e| panic!("{id} {body}: {e}"));
}

/// A Luhn-valid 19-digit card numbered `n`.
pub(crate) fn card(n: u32) -> String {
    let body = format!("622202150{n:09}");
    let sum: u32 = body
        .chars()
        .rev()
        .enumerate()
        .map(|(i, c)| {
            let d = c.to_digit(10).unwrap();
            match (i % 2 == 0, d * 2) {
                (true, dd) if dd > 9 => dd - 9,
                (true, dd) => dd,
                _ => d,
            }
        })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

/// `count` verified files, each with a grant of 300 + n yuan to a card, approved.
pub(crate) async fn approved_grants(app: &App, count: u32) {
    run(
        &app.funds,
        "SA",
        "wu.haiyan",
        json!({"Appropriate": {"appropriation_id": "BK-1",
        "fund": "special_assistance", "amount_fen": 50_000_000, "source": "莆田市总工会",
        "received_on": "2026-03-01", "note": null}}),
    )
    .await;
    for n in 0..count {
        let id = format!("HF-{n:02}");
        let household = json!({
            "head": {"name": "陈建国", "resident_id": nth_resident_id(n).expose(), "phone": "13905941234", "employer_unit": "振兴", "grassroots_union": "振兴工会", "migrant_worker": false, "mobile_member": false},
            "members": [], "monthly_income_per_capita_fen": 62_000, "local_minimum_standard_fen": 80_000, "causes": ["illness"]
        });
        let f = &app.files;
        let cw = "lin.xiaomei";
        run(
            f,
            &id,
            cw,
            json!({"OpenFile": {"household": household, "opened_on": "2026-03-02"}}),
        )
        .await;
        run(f, &id, cw, json!({"LogVisit": {"visit_id": "V1", "visited_on": "2026-03-02", "kind": "verification", "caseworkers": ["林晓梅"], "findings": "属实", "facts_verified": [], "contact_card_issued": false, "cash_handover": null}})).await;
        run(
            f,
            &id,
            "huang.zhiqiang",
            json!({"Verify": {"outcome": {"confirmed": {"note": "属实"}}}}),
        )
        .await;
        run(f, &id, cw, json!({"AdoptPlan": {"goal": "帮扶", "measures": [
            {"measure_id": "M1", "kind": "living_relief", "description": "生活救助", "planned_amount_fen": 500_000, "fund": "special_assistance", "due_on": "2026-09-30"}]}})).await;
        run(f, &id, cw, json!({"RequestGrant": {"grant_id": "G1", "measure_id": "M1", "amount_fen": (300 + i64::from(n)) * 100, "payee": {"bank_transfer": {"card": card(n), "account_name": "陈建国"}}, "note": null}})).await;
        run(
            f,
            &id,
            "huang.zhiqiang",
            json!({"ApproveGrant": {"grant_id": "G1"}}),
        )
        .await;
    }
}

/// `bangfu --store <url> --lang <lang> args…`, the environment cleared.
fn bangfu(w: &World, lang: &str, args: &[&str]) -> Output {
    let mut cmd = Command::cargo_bin("bangfu").expect("the bangfu binary");
    for var in [
        "BANGFU_DB",
        "BANGFU_STORE",
        "BANGFU_LANG",
        "BANGFU_ACTOR",
        "BANGFU_ROLE",
        "RUST_LOG",
    ] {
        cmd.env_remove(var);
    }
    cmd.current_dir(w.dir.path())
        .args(["--store", &w.url, "--lang", lang])
        .args(args)
        .output()
        .expect("bangfu runs")
}

const FINANCE: [&str; 4] = ["--actor", "wu.haiyan", "--role", "finance"];

fn as_finance<'a>(args: &[&'a str]) -> Vec<&'a str> {
    args.iter().copied().chain(FINANCE).collect()
}

#[track_caller]
fn exit(o: &Output, code: i32) -> (String, String) {
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    );
    assert_eq!(o.status.code(), Some(code), "stdout: {out}\nstderr: {err}");
    (out, err)
}

async fn events(w: &World) -> u64 {
    let app = App::open_url(&w.url).await.expect("open");
    let n = app.store.count_events().await.expect("count");
    app.store.close().await;
    n
}

/// The batch as the bank file must show it: (序号, name, card, yuan, batch).
async fn expected_lines(w: &World, batch: &str) -> Vec<Vec<String>> {
    let app = App::open_url(&w.url).await.expect("open");
    let b = app.batches.load(batch).await.expect("load").aggregate;
    app.store.close().await;
    b.lines()
        .enumerate()
        .map(|(i, (l, _))| {
            vec![
                (i + 1).to_string(),
                l.payee.as_str().to_string(),
                l.account.card().unwrap().to_string(),
                l.amount_fen.to_string(),
                batch.to_string(),
            ]
        })
        .collect()
}

/// Rows of a bank file read back with a reader crate (序号, 姓名, 账号, 金额, 批次号).
pub(crate) fn read_back(bytes: &[u8], xlsx: bool, gbk: bool) -> Vec<Vec<String>> {
    let rows: Vec<Vec<String>> = if xlsx {
        crate::books_files::xlsx_rows(bytes)
    } else {
        let text = if gbk {
            let (t, _, bad) = encoding_rs::GBK.decode(bytes);
            assert!(!bad, "GBK decodes");
            t.into_owned()
        } else {
            let rest = bytes.strip_prefix(b"\xEF\xBB\xBF").expect("BOM");
            String::from_utf8(rest.to_vec()).expect("utf-8")
        };
        csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(text.as_bytes())
            .records()
            .map(|r| r.expect("csv").iter().map(str::to_string).collect())
            .collect()
    };
    assert_eq!(
        rows[0][..5],
        ["序号", "收款人姓名", "收款账号", "开户行", "金额"]
    );
    rows[1..]
        .iter()
        .map(|r| {
            let seq = r[0].trim_end_matches(".00").to_string();
            vec![seq, r[1].clone(), r[2].clone(), r[4].clone(), r[6].clone()]
        })
        .collect()
}

/// The bank's answer to the batch: line `fail` failed, `mismatch`'s amount
/// one fen more, the first line twice, and 序号 99 (not ours).
pub(crate) fn bank_answer(
    expected: &[Vec<String>],
    fail: usize,
    mismatch: usize,
) -> Vec<ResultLine> {
    let mut lines: Vec<ResultLine> = expected
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let mut amount = Fen::from_yuan_str(&row[3]).unwrap();
            if i == mismatch {
                amount = Fen::new(amount.fen() + 1).unwrap();
            }
            ResultLine {
                line: i + 2,
                seq: i as u32 + 1,
                payout_id: None,
                name: row[1].clone(),
                account: row[2].clone(),
                amount,
                status: if i == fail {
                    ResultStatus::Failed
                } else {
                    ResultStatus::Success
                },
                reason: if i == fail {
                    "户名与账号不符".into()
                } else {
                    String::new()
                },
            }
        })
        .collect();
    let mut dup = lines[0].clone();
    dup.line = lines.len() + 2;
    lines.push(dup);
    lines.push(ResultLine {
        line: lines.len() + 2,
        seq: 99,
        payout_id: None,
        name: "王五".into(),
        account: card(9_999),
        amount: Fen::from_yuan(10).unwrap(),
        status: ResultStatus::Success,
        reason: String::new(),
    });
    lines
}

pub(crate) fn csv_of(batch: &str, lines: &[ResultLine]) -> String {
    let t = result_table(&BankTemplate::default(), batch, lines).unwrap();
    let bytes = t.to_csv(CsvEncoding::Utf8Bom, Lang::Zh).unwrap();
    String::from_utf8(bytes[3..].to_vec()).unwrap()
}

/// The bad files of the issue: (name, bytes, code, where the message points).
pub(crate) fn bad_files(good: &str) -> Vec<(&'static str, Vec<u8>, &'static str, &'static str)> {
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(good.encode_utf16().flat_map(|u| u.to_le_bytes()))
        .collect();
    let no_reason = good
        .lines()
        .map(|l| l.rsplit_once(',').unwrap().0.to_string() + "\r\n")
        .collect::<String>();
    let extra = good
        .lines()
        .enumerate()
        .map(|(i, l)| format!("{l},{}\r\n", if i == 0 { "备注" } else { "x" }))
        .collect::<String>();
    let mut long = String::from("序号,收款人姓名,收款账号,开户行,金额,用途,批次号,状态,原因\r\n");
    for i in 1..=100_000 {
        long.push_str(&format!(
            "{i},张伟,6222021234567890128,,10.00,,PB-1,成功,\r\n"
        ));
    }
    let first = |from: &str, to: &str| good.replacen(from, to, 1).into_bytes();
    let amount = good
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .nth(4)
        .unwrap()
        .to_string();
    vec![
        ("utf-16", utf16, "file.encoding", "第 1 行"),
        (
            "missing column",
            no_reason.into_bytes(),
            "file.missing_column",
            "第 1 行第 9 列（原因）",
        ),
        (
            "extra column",
            extra.into_bytes(),
            "file.extra_column",
            "第 1 行第 10 列（备注）",
        ),
        (
            "three decimals",
            first(&format!(",{amount},"), &format!(",{amount}1,")),
            "file.amount_decimals",
            "第 2 行第 5 列（金额）",
        ),
        (
            "negative",
            first(&format!(",{amount},"), &format!(",-{amount},")),
            "file.amount_negative",
            "第 2 行第 5 列（金额）",
        ),
        (
            "another batch",
            first(",PB-1,", ",PB-2026-99,"),
            "file.wrong_batch",
            "第 2 行第 7 列（批次号）",
        ),
        ("empty", Vec::new(), "file.empty", "文件为空"),
        (
            "100,000 lines",
            long.into_bytes(),
            "file.too_many_lines",
            "第 50002 行",
        ),
    ]
}

async fn a_month_through_the_cli(w: World) {
    authorised_through_the_cli(&w).await;
    let expected = exports_read_back(&w).await;
    let good = csv_of("PB-1", &bank_answer(&expected, 5, 7));
    bad_files_change_nothing(&w, &good).await;
    let ids = the_banks_answer(&w, &expected, &good).await;
    follow_up(&w, &expected, &ids).await;
    the_second_batch(&w).await;
}

/// Grants approved in-process; the batch drafted, refused for export, locked and authorised.
async fn authorised_through_the_cli(w: &World) {
    let app = Arc::new(App::open_url(&w.url).await.expect("open"));
    approved_grants(&app, GRANTS).await;
    app.store.close().await;
    drop(app);
    let dir = w.dir.path().to_path_buf();
    exit(
        &bangfu(
            w,
            "zh",
            &as_finance(&["batch", "draft", "PB-1", "--fund", "special_assistance"]),
        ),
        0,
    );

    // Not authorised: refused, no file, nothing recorded.
    let before = events(w).await;
    let o = bangfu(
        w,
        "zh",
        &as_finance(&[
            "bank",
            "export",
            "PB-1",
            "--format",
            "csv",
            "--out",
            "early.csv",
        ]),
    );
    let (_, err) = exit(&o, 4);
    assert!(
        err.contains("bank.not_authorised") && err.contains("未生成文件"),
        "{err}"
    );
    assert!(!dir.join("early.csv").exists() && !dir.join("early.csv.part").exists());
    assert_eq!(events(w).await, before);

    exit(&bangfu(w, "zh", &as_finance(&["batch", "lock", "PB-1"])), 0);
    let own = bangfu(w, "zh", &as_finance(&["batch", "authorise", "PB-1"]));
    assert!(exit(&own, 4)
        .1
        .contains("payout_batch.drafter_may_not_sign"));
    let signer = [
        "batch",
        "authorise",
        "PB-1",
        "--note",
        "同意",
        "--actor",
        "huang.zhiqiang",
        "--role",
        "approver",
    ];
    exit(&bangfu(w, "zh", &signer), 0);
}

async fn exports_read_back(w: &World) -> Vec<Vec<String>> {
    let dir = w.dir.path().to_path_buf();
    // Export in every format; each read back equals the batch, and each is an event.
    let expected = expected_lines(w, "PB-1").await;
    assert_eq!(expected.len(), GRANTS as usize);
    for (format, file, xlsx, gbk) in [
        ("csv", "PB-1.csv", false, false),
        ("csv-gbk", "PB-1-gbk.csv", false, true),
        ("xlsx", "PB-1.xlsx", true, false),
    ] {
        let before = events(w).await;
        let o = bangfu(
            w,
            "zh",
            &as_finance(&["bank", "export", "PB-1", "--format", format, "--out", file]),
        );
        let (out, _) = exit(&o, 0);
        let bytes = std::fs::read(dir.join(file)).expect("written");
        let sha = bangfu::files::sha256_hex(&bytes);
        assert!(
            out.contains(&sha) && out.contains("已记录导出事件"),
            "{out}"
        );
        assert_eq!(events(w).await, before + 1, "{format}: one export event");
        let mut rows = read_back(&bytes, xlsx, gbk);
        let totals = rows.pop().expect("totals line");
        assert_eq!(rows, expected, "{format}");
        let total: i64 = (0..GRANTS).map(|n| (300 + i64::from(n)) * 100).sum();
        assert_eq!(
            (totals[0].as_str(), totals[3].clone()),
            ("合计", Fen::new(total).unwrap().to_string())
        );
    }
    expected
}

async fn bad_files_change_nothing(w: &World, good: &str) {
    let dir = w.dir.path().to_path_buf();
    // Bad result files: exit 3, line and column named, nothing written.
    for (name, bytes, code, place) in bad_files(good) {
        let path = dir.join("bad.csv");
        std::fs::write(&path, &bytes).unwrap();
        let before = events(w).await;
        let o = bangfu(
            w,
            "zh",
            &as_finance(&["bank", "import", "PB-1", path.to_str().unwrap()]),
        );
        let (_, err) = exit(&o, 3);
        assert!(err.contains(code) && err.contains(place), "{name}: {err}");
        assert_eq!(events(w).await, before, "{name} wrote events");
    }
    let o = bangfu(w, "en", &as_finance(&["bank", "import", "PB-1", "bad.csv"]));
    assert!(exit(&o, 3).1.contains("line 50002"), "English too");
}

/// Imports the bank's answer; the batch's payout ids, in line order.
async fn the_banks_answer(w: &World, expected: &[Vec<String>], good: &str) -> Vec<String> {
    let dir = w.dir.path().to_path_buf();
    // The bank's answer, imported twice at once (two processes): recorded
    // once, the other run says nothing changed; again later: the same.
    std::fs::write(dir.join("result-1.csv"), format!("\u{feff}{good}")).unwrap();
    let args = as_finance(&[
        "bank",
        "import",
        "PB-1",
        "result-1.csv",
        "--value-date",
        "2026-03-12",
    ]);
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| bangfu(w, "zh", &args));
        let b = s.spawn(|| bangfu(w, "zh", &args));
        (a.join().unwrap(), b.join().unwrap())
    });
    let mut outs = [exit(&a, 0).0, exit(&b, 0).0];
    outs.sort_by_key(|o| o.contains("未作任何更改"));
    assert!(
        outs[0].contains("成功 32 笔，失败 1 笔，异常 3 条")
            && outs[0].contains("失败 grant:HF-05:G1：户名与账号不符")
            && outs[0].contains("第 37 行 回单行不属于本批次 seq:99"),
        "{outs:?}"
    );
    assert!(outs[1].contains("未作任何更改"), "{outs:?}");
    let before = events(w).await;
    let (out, _) = exit(
        &bangfu(
            w,
            "zh",
            &as_finance(&["bank", "import", "PB-1", "result-1.csv"]),
        ),
        0,
    );
    assert!(out.contains("未作任何更改"), "{out}");
    assert_eq!(events(w).await, before);

    let app = App::open_url(&w.url).await.expect("open");
    let recon = bangfu::finance::batch_recon(&app, "PB-1")
        .await
        .unwrap()
        .unwrap();
    let b = app.batches.load("PB-1").await.unwrap().aggregate;
    app.store.close().await;
    let ids: Vec<String> = b.lines().map(|(l, _)| l.payout_id.to_string()).collect();
    let amount = |i: usize| Fen::from_yuan_str(&expected[i][3]).unwrap();
    let kinds: Vec<ResultException> = recon
        .exceptions
        .iter()
        .map(|e| e.exception.clone())
        .collect();
    assert_eq!(
        kinds,
        vec![
            ResultException::AmountMismatch {
                line: 9,
                payout_id: ids[7].clone(),
                expected_fen: amount(7),
                reported_fen: Fen::new(amount(7).fen() + 1).unwrap(),
            },
            ResultException::DuplicateLine {
                line: GRANTS + 2,
                payout_id: ids[0].clone()
            },
            ResultException::UnknownLine {
                line: GRANTS + 3,
                payout_id: "seq:99".into()
            },
        ]
    );
    assert_eq!(
        (recon.failed_fen, recon.pending_fen),
        (amount(5), amount(7))
    );
    assert_eq!(
        b.lines().filter(|(_, s)| **s == LineStatus::Paid).count(),
        GRANTS as usize - 2
    );
    ids
}

async fn follow_up(w: &World, expected: &[Vec<String>], ids: &[String]) {
    let dir = w.dir.path().to_path_buf();
    // Follow-up: the failure re-issued, line 8 confirmed, the batch closed.
    let reissue = [
        "batch",
        "reissue",
        "PB-1",
        &ids[5],
        "--card",
        &card(1_005),
        "--bank",
        "中国农业银行莆田分行",
        "--reason",
        "原卡已销户",
    ];
    exit(&bangfu(w, "zh", &as_finance(&reissue)), 0);
    let early = bangfu(w, "zh", &as_finance(&["batch", "close", "PB-1"]));
    assert!(exit(&early, 4).1.contains("payout_batch.unsettled"));
    let mut confirm = bank_answer(expected, usize::MAX, usize::MAX);
    confirm.truncate(GRANTS as usize);
    let confirm: Vec<ResultLine> = confirm.into_iter().skip(7).take(1).collect();
    std::fs::write(dir.join("result-2.csv"), csv_of("PB-1", &confirm)).unwrap();
    exit(
        &bangfu(
            w,
            "zh",
            &as_finance(&["bank", "import", "PB-1", "result-2.csv"]),
        ),
        0,
    );
    exit(
        &bangfu(w, "zh", &as_finance(&["batch", "close", "PB-1"])),
        0,
    );
}

async fn the_second_batch(w: &World) {
    let dir = w.dir.path().to_path_buf();
    // The re-issue in a second batch, exported and answered as XLSX.
    exit(
        &bangfu(
            w,
            "zh",
            &as_finance(&["batch", "draft", "PB-2", "--fund", "special_assistance"]),
        ),
        0,
    );
    exit(&bangfu(w, "zh", &as_finance(&["batch", "lock", "PB-2"])), 0);
    let signer = [
        "batch",
        "authorise",
        "PB-2",
        "--actor",
        "huang.zhiqiang",
        "--role",
        "approver",
    ];
    exit(&bangfu(w, "zh", &signer), 0);
    exit(
        &bangfu(
            w,
            "zh",
            &as_finance(&[
                "bank",
                "export",
                "PB-2",
                "--format",
                "xlsx",
                "--out",
                "PB-2.xlsx",
            ]),
        ),
        0,
    );
    let second = expected_lines(w, "PB-2").await;
    assert_eq!(second[0][2], card(1_005), "the corrected card");
    let mut answer = bank_answer(&second, usize::MAX, usize::MAX);
    answer.truncate(1);
    let t = result_table(&BankTemplate::default(), "PB-2", &answer).unwrap();
    let xlsx = t.render(Format::Xlsx, Lang::Zh).unwrap().bytes;
    std::fs::write(dir.join("result-3.xlsx"), xlsx).unwrap();
    let (out, _) = exit(
        &bangfu(
            w,
            "en",
            &as_finance(&["bank", "import", "PB-2", "result-3.xlsx"]),
        ),
        0,
    );
    assert!(out.contains("1 paid, 0 failed, 0 exceptions"), "{out}");
    exit(
        &bangfu(w, "zh", &as_finance(&["batch", "close", "PB-2"])),
        0,
    );

    let app = App::open_url(&w.url).await.expect("open");
    let (_, funds) = bangfu::finance::fund_recon(&app).await.unwrap();
    let sa = &funds[&domain::fund::Fund::SpecialAssistance];
    let total: i64 = (0..GRANTS).map(|n| (300 + i64::from(n)) * 100).sum();
    assert_eq!(
        (sa.pending_fen, sa.failed_fen, sa.paid_fen.fen()),
        (Fen::ZERO, Fen::ZERO, total)
    );
    let tb = bangfu::finance::trial_balance(&app).await.unwrap();
    assert!(tb.balances());
    app.store.close().await;
}

on_every_store!(
    "bankfile", 2, sqlite_world;
    a_month_through_the_cli,
);
