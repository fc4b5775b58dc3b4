//! The accounting journal as a file (issue 12, item 6), through the paths
//! people take: a real server (`GET /v1/views/journal` as JSON, CSV in
//! UTF-8 and GBK, XLSX read back with calamine) and the real `bangfu`
//! binary (`bangfu view journal --out …`), on the same SQLite file. The rows
//! equal the journal's entries pair by pair; the CLI's file and the
//! server's are the same bytes; bad arguments are refused and write nothing.

use std::io::Cursor;
use std::path::Path;
use std::time::Duration;

use axum::http::{Method, Request, StatusCode};
use calamine::{Data, Reader, Xlsx};
use http_body_util::BodyExt;
use serde_json::Value;

use super::http::{api, staff};
use super::view_files::csv_rows;

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

async fn get(
    addr: std::net::SocketAddr,
    path: &str,
    token: &str,
    accept: &str,
) -> (StatusCode, Vec<u8>) {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<axum::body::Bytes>>();
    let request = Request::builder()
        .method(Method::GET)
        .uri(format!("http://{addr}{path}"))
        .header("authorization", format!("Bearer {token}"))
        .header("accept", accept)
        .header("accept-language", "zh-CN")
        .body(http_body_util::Full::new(axum::body::Bytes::new()))
        .expect("request");
    let response = tokio::time::timeout(Duration::from_secs(60), client.request(request))
        .await
        .expect("in time")
        .expect("response");
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
        .to_vec();
    (status, body)
}

/// An XLSX sheet's cells as text, numbers with two decimals (amounts).
pub(crate) fn xlsx_rows(bytes: &[u8]) -> Vec<Vec<String>> {
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes.to_vec())).expect("xlsx");
    let range = book
        .worksheet_range_at(0)
        .expect("a sheet")
        .expect("readable");
    range
        .rows()
        .map(|r| {
            r.iter()
                .map(|c| match c {
                    Data::Float(f) => format!("{f:.2}"),
                    Data::Int(i) => i.to_string(),
                    Data::Empty => String::new(),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect()
}

fn cli(db: &Path, args: &[&str]) -> std::process::Output {
    let mut cmd = assert_cmd::Command::cargo_bin("bangfu").expect("the bangfu binary");
    for var in [
        "BANGFU_DB",
        "BANGFU_LANG",
        "BANGFU_ACTOR",
        "BANGFU_ROLE",
        "RUST_LOG",
    ] {
        cmd.env_remove(var);
    }
    cmd.arg("--db")
        .arg(db)
        .args(args)
        .timeout(Duration::from_secs(120))
        .output()
        .expect("run bangfu")
}

fn yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_journal_comes_as_csv_and_xlsx_from_the_server_and_the_cli() {
    let api = api().await;
    let staff = staff(&api).await;
    let app = api.state.app().clone();
    crate::books::a_month_approved(&app).await;
    crate::books::one_balance(&app, "before export").await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(bangfu::http::run(listener, api.state.clone(), async {
        let _ = stopped.await;
    }));
    let path = "/v1/views/journal?month=2026-03";

    // JSON: entries that balance, and the trial balance.
    let (status, json) = get(addr, path, &staff.auditor, "application/json").await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&json));
    let json: Value = serde_json::from_slice(&json).expect("json");
    assert_eq!(json["balanced"], true);
    let entries = json["entries"].as_array().expect("entries").clone();
    assert!(entries.len() > 10, "{}", entries.len());
    // Each pair of lines is one row: (entry, debit account, credit account, amount).
    let mut want: Vec<(String, String, String, String)> = Vec::new();
    for e in &entries {
        let lines = e["lines"].as_array().expect("lines");
        for pair in lines.chunks(2) {
            let (d, c) = (&pair[0], &pair[1]);
            assert_eq!(d["debit_fen"], c["credit_fen"]);
            want.push((
                e["entry_id"].as_str().unwrap().to_string(),
                d["account"].as_str().unwrap().to_string(),
                c["account"].as_str().unwrap().to_string(),
                yuan(d["debit_fen"].as_i64().unwrap()),
            ));
        }
    }

    // CSV (UTF-8 with BOM): Chinese headings, one row per pair.
    let (status, csv) = get(addr, path, &staff.auditor, "text/csv").await;
    assert_eq!(status, StatusCode::OK);
    assert!(csv.starts_with(b"\xEF\xBB\xBF"));
    let rows = csv_rows(std::str::from_utf8(&csv[3..]).expect("utf-8"));
    assert_eq!(
        rows[0],
        [
            "日期",
            "凭证号",
            "借方科目",
            "借方科目代码",
            "贷方科目",
            "贷方科目代码",
            "金额（元）",
            "基金",
            "业务",
            "摘要",
            "事件位置"
        ]
    );
    let got: Vec<(String, String, String, String)> = rows[1..]
        .iter()
        .map(|r| (r[1].clone(), r[3].clone(), r[5].clone(), r[6].clone()))
        .collect();
    assert_eq!(got, want);
    assert!(rows[1..]
        .iter()
        .all(|r| r[0].starts_with("2026-03-") && !r[10].is_empty()));
    let appropriation = rows
        .iter()
        .find(|r| r[9] == "appropriation:SA:BK-1")
        .expect("the appropriation");
    assert_eq!(
        (
            appropriation[2].as_str(),
            appropriation[6].as_str(),
            appropriation[8].as_str()
        ),
        (
            "银行存款（含库存现金）-帮扶专项资金",
            "100000.00",
            "拨款收入"
        )
    );
    let transfer = rows
        .iter()
        .find(|r| r[3] == "fund:donation" && r[5] == "fund:mutual_aid")
        .expect("a transfer");
    assert_eq!(transfer[7], "捐赠资金→互助金");

    // GBK carries the same rows; XLSX too, money as numbers.
    let (status, gbk) = get(addr, path, &staff.auditor, "text/csv; charset=gbk").await;
    assert_eq!(status, StatusCode::OK);
    let (text, _, bad) = encoding_rs::GBK.decode(&gbk);
    assert!(!bad);
    assert_eq!(csv_rows(&text), rows);
    let (status, xlsx) = get(addr, path, &staff.auditor, XLSX).await;
    assert_eq!(status, StatusCode::OK);
    let sheet = xlsx_rows(&xlsx);
    assert_eq!(sheet.len(), rows.len());
    for (x, c) in sheet.iter().zip(&rows) {
        assert_eq!(x[1..6], c[1..6]);
        assert_eq!(x[6], c[6], "money to the fen");
    }

    // The CLI writes the same bytes (same log position, same table).
    let dir = tempfile::tempdir().expect("temp dir");
    let out_csv = dir.path().join("凭证.csv");
    let out_xlsx = dir.path().join("凭证.xlsx");
    let db = api.path.clone();
    let a = cli(
        &db,
        &[
            "view",
            "journal",
            "--month",
            "2026-03",
            "--format",
            "csv",
            "--out",
            out_csv.to_str().unwrap(),
        ],
    );
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    assert!(String::from_utf8_lossy(&a.stdout).contains("已导出记账凭证"));
    assert_eq!(std::fs::read(&out_csv).expect("csv written"), csv);
    let b = cli(
        &db,
        &[
            "view",
            "journal",
            "--month",
            "2026-03",
            "--out",
            out_xlsx.to_str().unwrap(),
        ],
    );
    assert!(b.status.success(), "{}", String::from_utf8_lossy(&b.stderr));
    assert_eq!(
        xlsx_rows(&std::fs::read(&out_xlsx).expect("xlsx written")),
        sheet
    );

    // To standard output, the same bytes; bad arguments refused (exit 3),
    // nothing written.
    let nowhere = dir.path().join("nothing.csv");
    let c = cli(
        &db,
        &["view", "journal", "--month", "2026-03", "--format", "csv"],
    );
    assert!(c.status.success(), "{}", String::from_utf8_lossy(&c.stderr));
    assert_eq!(c.stdout, csv);
    let d = cli(
        &db,
        &[
            "view",
            "journal",
            "--format",
            "pdf",
            "--out",
            nowhere.to_str().unwrap(),
        ],
    );
    assert_eq!(d.status.code(), Some(3));
    assert!(!nowhere.exists());
    let (status, _) = get(
        addr,
        "/v1/views/journal?month=2026-13",
        &staff.auditor,
        "text/csv",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // The allocation to HF-00's measure is on its household file, in the
    // CLI's table and in the HTTP view.
    let f = cli(&db, &["view", "household-file", "HF-00"]);
    let text = String::from_utf8_lossy(&f.stdout);
    assert!(
        f.status.success() && text.contains("捐款拨付") && text.contains("A3"),
        "{text}"
    );
    let (status, body) = get(
        addr,
        "/v1/views/household-files/HF-00",
        &staff.auditor,
        "application/json",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let file: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(file["file"]["allocations"][0]["amount_fen"], 20_000);
    assert_eq!(file["file"]["plan"]["measures"][0]["allocated_fen"], 20_000);

    // Lineage, both ways, over HTTP and the CLI.
    let (status, body) = get(
        addr,
        "/v1/views/lineage?payout=claim:C0",
        &staff.auditor,
        "application/json",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let lineage: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(
        lineage["total_fen"], 104_000,
        "the whole subsidy, to the fen"
    );
    assert_eq!(lineage["pieces"][0]["inflow_id"], "donation:YRJ:R1");
    assert_eq!(
        lineage["pieces"][0]["amount_fen"], 50_000,
        "its allocation first"
    );
    let e = cli(
        &db,
        &["view", "lineage", "--inflow", "donation:YRJ:R1", "--json"],
    );
    assert!(e.status.success(), "{}", String::from_utf8_lossy(&e.stderr));
    let from_cli: Value = serde_json::from_slice(&e.stdout).expect("json");
    let pieces = from_cli["pieces"].as_array().expect("pieces");
    assert!(pieces
        .iter()
        .any(|p| p["payout_id"] == "claim:C0" && p["amount_fen"] == 50_000));
    assert!(
        from_cli["total_fen"].as_i64().unwrap() <= 80_000,
        "never more than the receipt"
    );
    let (status, _) = get(
        addr,
        "/v1/views/lineage?payout=",
        &staff.auditor,
        "application/json",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let _ = stop.send(());
    server.await.expect("task").expect("served");
}
