//! Bank files over a real HTTP server, on SQLite and PostgreSQL: the export
//! is a POST that records the event and answers with the file (read back
//! and compared with the batch); `Idempotency-Key` gives the same file and
//! no second event; result uploads answer problem documents naming line and
//! column (`file.line`, `file.column`) with nothing written; the same file
//! twice is 200 "no change".

use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, Method, Request, StatusCode};
use bangfu::access::users::Users;
use bangfu::app::App;
use bangfu::files::bank::BankTemplate;
use bangfu::files::result::result_table;
use bangfu::files::Format;
use bangfu::http::{ApiState, Limits};
use domain::command::Role;
use domain::fund::Fund;
use domain::i18n::Lang;
use domain::values::Code;
use http_body_util::BodyExt;
use serde_json::{json, Value};

use crate::bankfile::{approved_grants, bad_files, bank_answer, csv_of, read_back, World};

const PATIENCE: Duration = Duration::from_secs(60);
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

async fn sqlite_world() -> World {
    crate::bankfile::sqlite_world().await
}

async fn postgres_world(test: &str) -> Option<World> {
    crate::bankfile::postgres_world(test).await
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    bytes: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or(Value::Null)
    }
}

async fn send(
    addr: std::net::SocketAddr,
    path: &str,
    token: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Reply {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<axum::body::Bytes>>();
    let mut b = Request::builder()
        .method(Method::POST)
        .uri(format!("http://{addr}{path}"))
        .header("authorization", format!("Bearer {token}"));
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let req = b
        .body(http_body_util::Full::new(axum::body::Bytes::from(body)))
        .unwrap();
    let resp = tokio::time::timeout(PATIENCE, client.request(req))
        .await
        .expect("in time")
        .expect("response");
    let (status, headers) = (resp.status(), resp.headers().clone());
    let bytes = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    Reply {
        status,
        headers,
        bytes,
    }
}

/// The batch PB-1 of every due grant, drafted (not yet locked).
async fn drafted(app: &App) -> Vec<Vec<String>> {
    approved_grants(app, 6).await;
    let due = bangfu::finance::due_payouts(app, Fund::SpecialAssistance)
        .await
        .unwrap();
    let (lines, _) = bangfu::finance::lines_from_due(app, &due).await.unwrap();
    let body = json!({"Draft": {"fund": "special_assistance", "lines": lines, "signing": null, "note": null}});
    cmd(app, "wu.haiyan", Role::Finance, body).await;
    let b = app.batches.load("PB-1").await.unwrap().aggregate;
    b.lines()
        .enumerate()
        .map(|(i, (l, _))| {
            vec![
                (i + 1).to_string(),
                l.payee.as_str().to_string(),
                l.account.card().unwrap().to_string(),
                l.amount_fen.to_string(),
                "PB-1".to_string(),
            ]
        })
        .collect()
}

async fn cmd(app: &App, who: &str, role: Role, body: Value) {
    let ctx = app.clock.context(
        domain::command::Actor {
            id: Code::parse(who).unwrap(),
            role,
        },
        None,
        None,
    );
    let bytes = serde_json::to_vec(&body).unwrap();
    bangfu::app::execute_json(&app.batches, "PB-1", &bytes, ctx)
        .await
        .unwrap_or_else(|e| panic!("{body}: {e}"));
}

struct Served {
    app: Arc<App>,
    addr: std::net::SocketAddr,
    fin: String,
    appr: String,
    expected: Vec<Vec<String>>,
}

fn hdr(r: &Reply, n: &str) -> String {
    r.headers
        .get(n)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

async fn bank_files_over_http(w: World) {
    let app = Arc::new(App::open_url(&w.url).await.expect("open"));
    let expected = drafted(&app).await;
    let users = Users::open(&w.dir.path().join("users.db")).await.unwrap();
    let mut tokens = Vec::new();
    for (id, role) in [
        ("wu.haiyan", Role::Finance),
        ("huang.zhiqiang", Role::Approver),
    ] {
        let id = Code::parse(id).unwrap();
        tokens.push(
            users
                .add(&id, &[role], "test")
                .await
                .unwrap()
                .expose()
                .to_string(),
        );
    }
    let (fin, appr) = (tokens[0].as_str(), tokens[1].as_str());
    let state = ApiState::new(app.clone(), users, Limits::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(bangfu::http::run(listener, state.clone(), async {
        let _ = stopped.await;
    }));
    let t = Served {
        app: app.clone(),
        addr,
        fin: fin.to_string(),
        appr: appr.to_string(),
        expected,
    };
    not_authorised_then_authorised(&t).await;
    exports_and_replays(&t).await;
    the_banks_own_columns(&t).await;
    bad_uploads_change_nothing(&t).await;
    the_answer_once(&t).await;
    assert_eq!(state.panics_caught(), 0);

    let _ = stop.send(());
    tokio::time::timeout(PATIENCE, server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    app.store.close().await;
}

async fn not_authorised_then_authorised(t: &Served) {
    let app = &t.app;
    let addr = t.addr;
    let fin = t.fin.as_str();
    let appr = t.appr.as_str();
    let events = || async { app.store.count_events().await.unwrap() };
    let exports = "/v1/payout-batches/PB-1/exports";
    let json_ct = ("content-type", "application/json");
    // Not authorised yet: 422, no file, nothing written; an approver may not export.
    let before = events().await;
    let r = send(
        addr,
        exports,
        fin,
        &[json_ct],
        br#"{"format":"csv"}"#.to_vec(),
    )
    .await;
    assert_eq!(
        (r.status, r.json()["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("bank.not_authorised")
        )
    );
    let r = send(
        addr,
        exports,
        appr,
        &[json_ct],
        br#"{"format":"csv"}"#.to_vec(),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(events().await, before);
    cmd(app, "wu.haiyan", Role::Finance, json!("Lock")).await;
    cmd(
        app,
        "huang.zhiqiang",
        Role::Approver,
        json!({"Authorise": {"note": null}}),
    )
    .await;
}

async fn exports_and_replays(t: &Served) {
    let app = &t.app;
    let addr = t.addr;
    let fin = t.fin.as_str();
    let expected = &t.expected;
    let events = || async { app.store.count_events().await.unwrap() };
    let exports = "/v1/payout-batches/PB-1/exports";
    let json_ct = ("content-type", "application/json");
    // The export: the file, its SHA-256 and name; one event; a retry with
    // the key gets the same bytes and records nothing.
    let before = events().await;
    let key = ("idempotency-key", "export-PB-1-csv");
    let r = send(
        addr,
        exports,
        fin,
        &[json_ct, key],
        br#"{"format":"csv"}"#.to_vec(),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&r.bytes)
    );
    assert_eq!(hdr(&r, "content-type"), "text/csv; charset=utf-8");
    assert!(
        hdr(&r, "content-disposition").contains("filename*=UTF-8''PB-1-%E9%93%B6"),
        "{}",
        hdr(&r, "content-disposition")
    );
    assert_eq!(
        hdr(&r, "x-bangfu-sha256"),
        bangfu::files::sha256_hex(&r.bytes)
    );
    let mut rows = read_back(&r.bytes, false, false);
    rows.pop();
    assert_eq!(&rows, expected);
    assert_eq!(events().await, before + 1);
    let again = send(
        addr,
        exports,
        fin,
        &[json_ct, key],
        br#"{"format":"csv"}"#.to_vec(),
    )
    .await;
    assert_eq!(
        (again.status, hdr(&again, "idempotent-replayed")),
        (StatusCode::OK, "true".into())
    );
    assert_eq!(again.bytes, r.bytes);
    assert_eq!(events().await, before + 1, "a replay records nothing");
    let reused = send(
        addr,
        exports,
        fin,
        &[json_ct, key],
        br#"{"format":"xlsx"}"#.to_vec(),
    )
    .await;
    assert_eq!(reused.json()["code"], "idempotency.key_reused");
    let x = send(
        addr,
        exports,
        fin,
        &[json_ct],
        br#"{"format":"xlsx"}"#.to_vec(),
    )
    .await;
    assert_eq!(hdr(&x, "content-type"), XLSX);
    let mut rows = read_back(&x.bytes, true, false);
    rows.pop();
    assert_eq!(&rows, expected);
    let bad = send(
        addr,
        exports,
        fin,
        &[json_ct],
        br#"{"format":"pdf"}"#.to_vec(),
    )
    .await;
    assert_eq!(
        (bad.status, bad.json()["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("format"))
    );
}

async fn the_banks_own_columns(t: &Served) {
    let app = &t.app;
    let addr = t.addr;
    let fin = t.fin.as_str();
    let events = || async { app.store.count_events().await.unwrap() };
    let exports = "/v1/payout-batches/PB-1/exports";
    let json_ct = ("content-type", "application/json");
    let before = events().await;
    // The bank's own columns: the example of the API document, recorded
    // under the template's code.
    let doc = serde_json::to_value(bangfu::http::openapi()).unwrap();
    let example = doc["components"]["schemas"]["ExportRequest"]["example"].clone();
    assert_eq!(example["format"], "xlsx", "{example}");
    let mut own = example.clone();
    own["format"] = json!("csv");
    let r = send(addr, exports, fin, &[json_ct], own.to_string().into_bytes()).await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&r.bytes)
    );
    let text = String::from_utf8(r.bytes[3..].to_vec()).unwrap();
    assert!(
        text.starts_with("序号,户名,账号,金额,摘要,批次号\r\n1,"),
        "{text}"
    );
    let state_now = app.batches.load("PB-1").await.unwrap();
    assert_eq!(state_now.version, 3 + 3, "three exports recorded");
    let history = app.store.history("payout_batch", "PB-1").await.unwrap();
    let last = history.last().unwrap();
    assert!(
        last.payload.to_string().contains("\"template\":\"tpl-"),
        "{}",
        last.payload
    );
    assert_eq!(events().await, before + 1);
}

async fn bad_uploads_change_nothing(t: &Served) {
    let app = &t.app;
    let addr = t.addr;
    let fin = t.fin.as_str();
    let expected = &t.expected;
    let events = || async { app.store.count_events().await.unwrap() };
    // Bad result files: a problem naming line and column, nothing written.
    let results = "/v1/payout-batches/PB-1/bank-results";
    let answer = bank_answer(expected, 1, usize::MAX);
    let csv = ("content-type", "text/csv");
    let before = events().await;
    for (name, bytes, code, _) in bad_files(&csv_of("PB-1", &answer)) {
        let r = send(addr, results, fin, &[csv], bytes).await;
        let p = r.json();
        assert_eq!(p["code"], code, "{name}: {p}");
        assert_eq!(hdr(&r, "content-type"), "application/problem+json");
        if code == "file.empty" {
            assert_eq!(r.status, StatusCode::BAD_REQUEST);
        } else {
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{name}");
            assert!(p["file"]["line"].as_u64().is_some(), "{name}: {p}");
        }
    }
    let r = send(
        addr,
        results,
        fin,
        &[csv],
        csv_of("PB-1", &answer)
            .replacen(",300.00,", ",300.001,", 1)
            .into_bytes(),
    )
    .await;
    assert_eq!(
        r.json()["file"],
        json!({"line": 2, "column": 5, "heading": "金额"})
    );
    let r = send(
        addr,
        results,
        fin,
        &[("content-type", "application/json")],
        b"{}".to_vec(),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(events().await, before, "bad files wrote events");
}

async fn the_answer_once(t: &Served) {
    let app = &t.app;
    let addr = t.addr;
    let fin = t.fin.as_str();
    let events = || async { app.store.count_events().await.unwrap() };
    let results = "/v1/payout-batches/PB-1/bank-results";
    let answer = bank_answer(&t.expected, 1, usize::MAX);
    let before = events().await;
    // The bank's answer as XLSX: recorded once; the same file again: no change.
    let t = result_table(&BankTemplate::default(), "PB-1", &answer).unwrap();
    let xlsx = t.render(Format::Xlsx, Lang::Zh).unwrap().bytes;
    let path = format!("{results}?value_date=2026-03-12");
    let r = send(addr, &path, fin, &[("content-type", XLSX)], xlsx.clone()).await;
    let o = r.json();
    assert_eq!(r.status, StatusCode::OK, "{o}");
    assert_eq!(
        (
            o["recorded"].as_bool(),
            o["paid"].as_u64(),
            o["failed"].as_u64()
        ),
        (Some(true), Some(5), Some(1))
    );
    let kinds: Vec<&str> = o["exceptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["duplicate_line", "unknown_line"]);
    assert_eq!(
        o["failures"],
        json!([{"payout_id": "grant:HF-01:G1", "reason": "户名与账号不符"}])
    );
    assert_eq!(events().await, before + 1);
    let r = send(
        addr,
        &path,
        fin,
        &[("content-type", XLSX), ("accept-language", "en")],
        xlsx,
    )
    .await;
    assert_eq!(
        (r.status, r.json()["recorded"].as_bool()),
        (StatusCode::OK, Some(false))
    );
    assert!(r.json()["message"]
        .as_str()
        .unwrap()
        .contains("nothing changed"));
    assert_eq!(events().await, before + 1);
}

on_every_store!(
    "bankfile_http", 2, sqlite_world;
    bank_files_over_http,
);
