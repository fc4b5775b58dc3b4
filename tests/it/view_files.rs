//! View pages as files over a real server (issue 12 item 5, issue 13 item
//! 6): `Accept: text/csv` (UTF-8 with BOM, or GBK) and XLSX give the rows
//! the JSON answer carries, read back with the csv crate and calamine; the
//! same position gives the same bytes.

use std::io::Cursor;
use std::time::Duration;

use axum::http::{HeaderMap, Method, Request, StatusCode};
use calamine::{Data, Reader, Xlsx};
use http_body_util::BodyExt;
use serde_json::Value;

use super::http::{api, staff, views_scenario};

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// GET over a socket: status, headers, raw body.
async fn get_in(
    lang: &str,
    addr: std::net::SocketAddr,
    path: &str,
    token: &str,
    accept: &str,
) -> (StatusCode, HeaderMap, Vec<u8>) {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<axum::body::Bytes>>();
    let request = Request::builder()
        .method(Method::GET)
        .uri(format!("http://{addr}{path}"))
        .header("authorization", format!("Bearer {token}"))
        .header("accept", accept)
        .header("accept-language", lang)
        .body(http_body_util::Full::new(axum::body::Bytes::new()))
        .expect("request");
    let response = tokio::time::timeout(Duration::from_secs(60), client.request(request))
        .await
        .expect("in time")
        .expect("response");
    let (status, headers) = (response.status(), response.headers().clone());
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
        .to_vec();
    (status, headers, body)
}

async fn get(
    addr: std::net::SocketAddr,
    path: &str,
    token: &str,
    accept: &str,
) -> (StatusCode, HeaderMap, Vec<u8>) {
    get_in("zh-CN", addr, path, token, accept).await
}

pub(super) fn csv_rows(text: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.expect("record").iter().map(str::to_string).collect())
        .collect()
}

pub(super) fn xlsx_rows(bytes: &[u8]) -> Vec<Vec<String>> {
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
                    Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.0}"),
                    Data::Empty => String::new(),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect()
}

/// The JSON value of the file cell under `heading`, compared as text: money
/// in yuan, the rest as JSON shows it.
pub(super) fn expect_cell(json: &Value, key: &str) -> String {
    match json.pointer(&format!("/{}", key.replace('.', "/"))) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) if key.ends_with("_fen") => {
            let f = n.as_i64().expect("fen");
            format!("{}.{:02}", f / 100, f % 100)
        }
        Some(other) => other.to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn views_come_as_csv_gbk_and_xlsx_equal_to_the_json() {
    let api = api().await;
    let staff = staff(&api).await;
    views_scenario(&api, &staff).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(bangfu::http::run(listener, api.state.clone(), async {
        let _ = stopped.await;
    }));

    for (path, list) in [
        ("/v1/views/fund-balances", "/funds"),
        ("/v1/views/payout-ledger?limit=500", "/payouts"),
    ] {
        let (status, _, json) = get(addr, path, &staff.finance, "application/json").await;
        assert_eq!(status, StatusCode::OK);
        let json: Value = serde_json::from_slice(&json).expect("json");
        let rows = json
            .pointer(list)
            .and_then(Value::as_array)
            .expect("rows")
            .clone();
        assert!(!rows.is_empty(), "{path}");

        let (status, headers, csv) = get(addr, path, &staff.finance, "text/csv").await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&csv));
        assert_eq!(headers["content-type"], "text/csv; charset=utf-8");
        let disposition = headers["content-disposition"].to_str().expect("ascii");
        assert!(
            disposition.starts_with("attachment; filename=\""),
            "{disposition}"
        );
        assert!(disposition.contains("filename*=UTF-8''%E"), "{disposition}");
        assert!(csv.starts_with(b"\xEF\xBB\xBF"));
        let from_csv = csv_rows(std::str::from_utf8(&csv[3..]).expect("utf-8"));

        let (status, headers, gbk) = get(addr, path, &staff.finance, "text/csv; charset=gbk").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers["content-type"], "text/csv; charset=gbk");
        let (text, _, bad) = encoding_rs::GBK.decode(&gbk);
        assert!(!bad);
        assert_eq!(
            csv_rows(&text),
            from_csv,
            "{path}: GBK and UTF-8 carry the same rows"
        );

        let (status, headers, xlsx) = get(addr, path, &staff.finance, XLSX).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers["content-type"], XLSX);
        let from_xlsx = xlsx_rows(&xlsx);
        assert_eq!(from_xlsx.len(), rows.len() + 1, "{path}");

        // English headings are the JSON keys; every cell equals the JSON.
        let (_, _, en) = get_in("en", addr, path, &staff.finance, "text/csv").await;
        let en_rows = csv_rows(std::str::from_utf8(&en[3..]).expect("utf-8"));
        let keys = &en_rows[0];
        assert_eq!(from_csv.len(), rows.len() + 1);
        assert_ne!(&from_csv[0], keys, "Chinese headings by default");
        for (i, row) in rows.iter().enumerate() {
            for (c, key) in keys.iter().enumerate() {
                let want = expect_cell(row, key);
                assert_eq!(from_csv[i + 1][c], want, "{path} row {i} {key} (csv)");
                let got = &from_xlsx[i + 1][c];
                if key.ends_with("_fen") {
                    let got: f64 = got.parse().expect("money is numeric");
                    assert_eq!(format!("{got:.2}"), want, "{path} row {i} {key} (xlsx)");
                } else {
                    assert_eq!(got, &want, "{path} row {i} {key} (xlsx)");
                }
            }
        }
        // Same position, same bytes.
        let (_, _, again) = get(addr, path, &staff.finance, XLSX).await;
        assert_eq!(again, xlsx, "{path}: byte-identical XLSX");
        let (_, _, again) = get(addr, path, &staff.finance, "text/csv").await;
        assert_eq!(again, csv, "{path}: byte-identical CSV");
    }
    let _ = stop.send(());
    server.await.expect("task").expect("served");
}
