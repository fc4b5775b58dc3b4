//! Inputs a careless or hostile user sends (issue 11's corpus categories,
//! and more): each is refused on the CLI and over HTTP with its code and the
//! field named, and nothing is written — events are counted before and
//! after. Also: business dates in the configured time zone, unknown query
//! parameters on every route, exit statuses on closed pipes, the campaign
//! view's figures.

use std::process::Output;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use axum::Router;
use bangfu::access::users::Users;
use bangfu::app::clock::BusinessClock;
use bangfu::app::App;
use bangfu::cli::ExitKind;
use bangfu::http::{ApiState, Limits};
use bangfu::store::EventStore;
use chrono::{DateTime, Utc};
use domain::command::Role;
use domain::hardship::sample_open_file;
use domain::values::{Code, ResidentId};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tempfile::TempDir;
use tower::ServiceExt;

use crate::support::{bangfu, db, Db};

// ---- the corpus --------------------------------------------------------------

/// One bad command: where it goes, what it is, how it must be refused.
struct Case {
    what: &'static str,
    id: &'static str,
    body: Value,
    /// The stable code (the same on the CLI and over HTTP).
    code: &'static str,
    /// Text the message must contain (the field, the character, the date).
    says: &'static str,
}

fn open_with(pointer: &str, value: Value) -> Value {
    let mut body = serde_json::to_value(sample_open_file()).expect("serializes");
    *body.pointer_mut(pointer).expect("pointer exists") = value;
    body
}

/// A resident ID with a correct check character, born on `yyyymmdd`.
fn resident_id_born(yyyymmdd: &str) -> String {
    let first17 = format!("350102{yyyymmdd}123");
    let check = ResidentId::check_char(first17.as_bytes()) as char;
    format!("{first17}{check}")
}

fn corpus() -> Vec<Case> {
    let head = "/OpenFile/household/head";
    let text_case = |what, pointer: &str, text: &str, says| Case {
        what,
        id: "HF-1",
        body: open_with(pointer, json!(text)),
        code: "input.invalid_field",
        says,
    };
    let mut cases = vec![
        text_case(
            "zero-width space in a name",
            &format!("{head}/name"),
            "陈\u{200B}建国",
            "U+200B",
        ),
        text_case(
            "zero-width joiner in a name",
            &format!("{head}/name"),
            "陈\u{200D}建国",
            "U+200D",
        ),
        text_case(
            "non-joiner",
            &format!("{head}/name"),
            "陈\u{200C}建国",
            "U+200C",
        ),
        text_case(
            "word joiner",
            &format!("{head}/name"),
            "陈\u{2060}建国",
            "U+2060",
        ),
        text_case(
            "byte-order mark",
            &format!("{head}/name"),
            "\u{FEFF}陈建国",
            "U+FEFF",
        ),
        text_case(
            "right-to-left override in a unit",
            &format!("{head}/employer_unit"),
            "莆田\u{202E}纺织厂",
            "U+202E",
        ),
        text_case(
            "bidi isolate in a union",
            &format!("{head}/grassroots_union"),
            "工会\u{2066}x\u{2069}",
            "U+2066",
        ),
        text_case(
            "left-to-right mark",
            &format!("{head}/employer_unit"),
            "a\u{200E}b",
            "U+200E",
        ),
        text_case(
            "Arabic letter mark",
            &format!("{head}/employer_unit"),
            "a\u{061C}b",
            "U+061C",
        ),
        text_case(
            "tag characters",
            &format!("{head}/employer_unit"),
            "a\u{E0041}\u{E0042}",
            "U+E0041",
        ),
        text_case(
            "soft hyphen",
            &format!("{head}/name"),
            "陈\u{00AD}建国",
            "U+00AD",
        ),
        text_case(
            "stray variation selector",
            &format!("{head}/name"),
            "陈\u{FE0F}建国",
            "U+FE0F",
        ),
        text_case(
            "NUL",
            &format!("{head}/name"),
            "陈\u{0}建国",
            "household.head.name",
        ),
        text_case(
            "C1 control",
            &format!("{head}/name"),
            "陈\u{85}建国",
            "household.head.name",
        ),
        text_case(
            "escape sequence",
            &format!("{head}/employer_unit"),
            "\u{1B}[31m红字",
            "household.head.employer_unit",
        ),
        text_case(
            "newline in a one-line name",
            &format!("{head}/name"),
            "陈\n建国",
            "household.head.name",
        ),
        text_case(
            "full-width digits in a resident ID",
            &format!("{head}/resident_id"),
            "３５０１０２１９８００５０１１２３Ｘ",
            "household.head.resident_id",
        ),
        text_case(
            "a member's name",
            "/OpenFile/household/members/0/name",
            "林\u{200B}秀英",
            "household.members[0].name",
        ),
        Case {
            what: "resident ID born in the future (check digit correct)",
            id: "HF-1",
            body: open_with(
                &format!("{head}/resident_id"),
                json!(resident_id_born("20990101")),
            ),
            code: "input.invalid_field",
            says: "2099-01-01",
        },
    ];
    let mut missing = serde_json::to_value(sample_open_file()).expect("serializes");
    let head_obj = missing
        .pointer_mut("/OpenFile/household/head")
        .and_then(Value::as_object_mut)
        .expect("head");
    head_obj.remove("name");
    head_obj.remove("phone");
    cases.push(Case {
        what: "two missing fields, both named with their paths",
        id: "HF-1",
        body: missing,
        code: "input.invalid_field",
        says: "OpenFile.household.head.name、OpenFile.household.head.phone",
    });
    // Missing in two different objects: both named at once, not one per try.
    let mut apart = serde_json::to_value(sample_open_file()).expect("serializes");
    apart
        .pointer_mut("/OpenFile")
        .and_then(Value::as_object_mut)
        .expect("body")
        .remove("opened_on");
    apart
        .pointer_mut("/OpenFile/household/head")
        .and_then(Value::as_object_mut)
        .expect("head")
        .remove("name");
    cases.push(Case {
        what: "fields missing in two objects, all named at once",
        id: "HF-1",
        body: apart,
        code: "input.invalid_field",
        says: "OpenFile.opened_on、OpenFile.household.head.name",
    });
    for (date, says) in [
        ("0000-01-01", "0000-01-01"),
        ("1899-12-31", "1899-12-31"),
        ("9999-12-31", "9999-12-31"),
        ("2200-01-01", "2200-01-01"),
    ] {
        cases.push(Case {
            what: "implausible opening date",
            id: "HF-1",
            body: open_with("/OpenFile/opened_on", json!(date)),
            code: "input.invalid_field",
            says,
        });
    }
    for (id, what) in [
        (" HF-1", "leading space"),
        ("HF-1\n", "trailing newline"),
        ("HF-1\r\n", "CRLF"),
        (".", "dot"),
        ("..", "dot dot"),
        ("a/../b", "a dot-dot part"),
        ("HF\u{200B}1", "zero-width space"),
        ("ＨＦ-１", "full-width letters"),
    ] {
        cases.push(Case {
            what,
            id,
            body: serde_json::to_value(sample_open_file()).expect("serializes"),
            code: "input.invalid_value",
            says: "aggregate_id",
        });
    }
    cases
}

/// Text that must stay accepted in a name and a unit.
const GOOD_TEXT: [&str; 5] = [
    "歐陽詩涵",
    "Zoë O'Brien",
    "陈建国 👍🏽",
    "一家 👨\u{200D}👩\u{200D}👧",
    "❤\u{FE0F} 工会",
];

// ---- the CLI ----------------------------------------------------------------

fn cli_run(db: &Db, extra: &[&str], kind: &str, id: &str, body: &Value) -> Output {
    bangfu(db)
        .args(extra)
        .args([
            "run",
            kind,
            id,
            "--actor",
            "lin.xiaomei",
            "--role",
            "caseworker",
        ])
        .write_stdin(body.to_string())
        .output()
        .expect("bangfu runs")
}

async fn count(path: &std::path::Path) -> u64 {
    let store = bangfu::store::SqliteStore::open(path, domain::reservations_of)
        .await
        .expect("open store");
    let n = store.count_events().await.expect("count");
    store.close().await;
    n
}

#[tokio::test]
async fn the_cli_refuses_the_corpus_and_writes_nothing() {
    let db = db();
    for case in corpus() {
        let out = cli_run(&db, &[], "hardship-file", case.id, &case.body);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(ExitKind::Input as i32),
            "{}: {stderr}",
            case.what
        );
        assert!(
            stderr.contains(&format!("[{}]", case.code)),
            "{}: {stderr}",
            case.what
        );
        assert!(stderr.contains(case.says), "{}: {stderr}", case.what);
        assert_eq!(count(&db.path).await, 0, "{} wrote", case.what);
    }
    // Ordinary Chinese, Latin and emoji are accepted (each its own resident).
    for (i, text) in GOOD_TEXT.iter().enumerate() {
        let mut body = open_with("/OpenFile/household/head/name", json!(text));
        let rid = resident_id_born(&format!("1980050{}", i + 1));
        *body
            .pointer_mut("/OpenFile/household/head/resident_id")
            .unwrap() = json!(rid);
        let out = cli_run(&db, &[], "hardship-file", &format!("HF-{i}"), &body);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{text}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(count(&db.path).await, GOOD_TEXT.len() as u64);
}

#[tokio::test]
async fn dates_that_contradict_the_record_are_refused_on_the_cli() {
    let db = db();
    let out = cli_run(
        &db,
        &[],
        "hardship-file",
        "HF-1",
        &serde_json::to_value(sample_open_file()).unwrap(),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let visit = json!({"LogVisit": {
        "visit_id": "V1", "visited_on": "2026-02-28", "kind": "verification",
        "caseworkers": ["林晓梅"], "findings": "入户核实。", "facts_verified": [],
        "contact_card_issued": false, "cash_handover": null
    }});
    let out = cli_run(&db, &[], "hardship-file", "HF-1", &visit);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(ExitKind::Rejected as i32),
        "{stderr}"
    );
    assert!(
        stderr.contains("[hardship_file.visit_before_opening]"),
        "{stderr}"
    );
    assert!(stderr.contains("早于建档日期 2026-03-01"), "{stderr}");
    assert_eq!(count(&db.path).await, 1);
}

/// The business date follows `--tz`: a file opened "today" in Kiritimati
/// (UTC+14) is always at least a day ahead of today at UTC−12, whatever
/// the real clock says, so the same body is accepted in one zone and
/// refused in the other.
#[tokio::test]
async fn today_is_taken_in_the_configured_time_zone_on_the_cli() {
    let kiritimati: chrono_tz::Tz = "Pacific/Kiritimati".parse().unwrap();
    let today_there = Utc::now().with_timezone(&kiritimati).date_naive();
    let body = open_with("/OpenFile/opened_on", json!(today_there.to_string()));
    let behind = db();
    let out = cli_run(
        &behind,
        &["--tz", "Etc/GMT+12"],
        "hardship-file",
        "HF-1",
        &body,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(ExitKind::Rejected as i32),
        "{stderr}"
    );
    assert!(
        stderr.contains("[hardship_file.opened_in_future]"),
        "{stderr}"
    );
    assert_eq!(count(&behind.path).await, 0);
    let ahead = db();
    let out = cli_run(
        &ahead,
        &["--tz", "Pacific/Kiritimati"],
        "hardship-file",
        "HF-1",
        &body,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = cli_run(
        &ahead,
        &["--tz", "Mars/Olympus"],
        "hardship-file",
        "HF-2",
        &body,
    );
    assert_eq!(out.status.code(), Some(ExitKind::Usage as i32));
}

/// `bangfu --db <db> <args> 2>&1 | head -0`: both streams a pipe whose
/// reader is already gone, so the first write fails with EPIPE.
fn closed_pipe_status(db: &Db, args: &[&str]) -> Option<i32> {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let err = writer.try_clone().expect("clone");
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("bangfu"));
    for var in ["BANGFU_DB", "BANGFU_LANG", "BANGFU_TZ", "RUST_LOG"] {
        cmd.env_remove(var);
    }
    cmd.arg("--db")
        .arg(&db.path)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(writer)
        .stderr(err)
        .status()
        .expect("bangfu runs")
        .code()
}

#[tokio::test]
async fn exit_statuses_are_kept_when_the_reader_is_gone() {
    let db = db();
    let out = cli_run(
        &db,
        &[],
        "hardship-file",
        "HF-1",
        &serde_json::to_value(sample_open_file()).unwrap(),
    );
    assert_eq!(out.status.code(), Some(0));
    // Not found is 8, not "invalid input", also with nobody reading.
    let out = bangfu(&db)
        .args(["show", "hardship-file", "HF-404"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(ExitKind::NotFound as i32));
    assert_eq!(
        closed_pipe_status(&db, &["show", "hardship-file", "HF-404"]),
        Some(ExitKind::NotFound as i32)
    );
    // Output that cannot be written is not a failure of the command.
    assert_eq!(closed_pipe_status(&db, &["verify"]), Some(0));
    assert_eq!(
        closed_pipe_status(&db, &["history", "hardship-file", "HF-1"]),
        Some(0)
    );
    // An invalid id with nobody reading stderr: still 3, no panic (101).
    let bad = [
        "run",
        "hardship-file",
        ".",
        "--actor",
        "a",
        "--role",
        "caseworker",
        "--file",
        "/dev/null",
    ];
    assert_eq!(closed_pipe_status(&db, &bad), Some(ExitKind::Input as i32));
    // An existing user is a held key (5); revoking a missing one is not found (8).
    let out = bangfu(&db)
        .args(["users", "add", "lin", "--role", "caseworker"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = bangfu(&db)
        .args(["users", "add", "lin", "--role", "caseworker"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(ExitKind::Conflict as i32),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Chinese by default, as every message people read.
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("用户 lin 已存在"), "{said}");
    let out = bangfu(&db)
        .args(["users", "revoke", "nobody"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(ExitKind::NotFound as i32),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("没有用户 nobody"), "{said}");
    let out = bangfu(&db)
        .args(["--lang", "en", "users", "revoke", "nobody"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("no user nobody"), "{said}");
}

// ---- HTTP ---------------------------------------------------------------------

struct Api {
    router: Router,
    state: ApiState,
    caseworker: String,
    _dir: TempDir,
}

async fn api_at(clock: Option<BusinessClock>) -> Api {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bangfu.db");
    let mut app = App::open(&path).await.expect("open app");
    if let Some(clock) = clock {
        app = app.with_clock(clock);
    }
    let users = Users::open(&path).await.expect("open users");
    let caseworker = users
        .add(
            &Code::parse("lin.xiaomei").unwrap(),
            &[Role::Caseworker, Role::Approver],
            "test",
        )
        .await
        .expect("add user")
        .expose()
        .to_string();
    let state = ApiState::new(Arc::new(app), users, Limits::default());
    Api {
        router: bangfu::http::router(state.clone()),
        state,
        caseworker,
        _dir: dir,
    }
}

impl Api {
    async fn send(&self, method: Method, uri: &str, body: Option<&Value>) -> (StatusCode, Value) {
        self.send_as("caseworker", method, uri, body).await
    }

    async fn send_as(
        &self,
        role: &str,
        method: Method,
        uri: &str,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", format!("Bearer {}", self.caseworker))
            .header("x-bangfu-role", role)
            .header("content-type", "application/json")
            .body(Body::from(body.map(Value::to_string).unwrap_or_default()))
            .expect("request");
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn command(&self, id: &str, body: &Value) -> (StatusCode, Value) {
        // Percent-encode all but unreserved ASCII, as a client library would.
        let id: String = id
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    char::from(b).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect();
        self.send(
            Method::POST,
            &format!("/v1/hardship-files/{id}/commands"),
            Some(body),
        )
        .await
    }

    async fn events(&self) -> u64 {
        self.state.app().store.count_events().await.expect("count")
    }
}

#[tokio::test]
async fn the_api_refuses_the_corpus_and_writes_nothing() {
    let api = api_at(None).await;
    for case in corpus() {
        // `a/../b` is three path segments over HTTP: a route that does not exist.
        if case.id.contains('/') {
            continue;
        }
        let (status, body) = api.command(case.id, &case.body).await;
        assert!(status.is_client_error(), "{}: {status} {body}", case.what);
        assert_eq!(body["code"], case.code, "{}: {body}", case.what);
        let text = format!("{} {}", body["detail"], body["field"]);
        assert!(text.contains(case.says), "{}: {body}", case.what);
        assert_eq!(api.events().await, 0, "{} wrote", case.what);
    }
    // `.` and `..` spelled as percent escapes reach the router as ids.
    for id in ["%2E", "%2E%2E", "%2e%2E"] {
        let uri = format!("/v1/hardship-files/{id}/commands");
        let body = serde_json::to_value(sample_open_file()).unwrap();
        let (status, problem) = api.send(Method::POST, &uri, Some(&body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{id}: {problem}");
        assert_eq!(problem["code"], "input.invalid_value", "{id}: {problem}");
    }
    assert_eq!(api.events().await, 0);
    for (i, text) in GOOD_TEXT.iter().enumerate() {
        let mut body = open_with("/OpenFile/household/head/employer_unit", json!(text));
        let rid = resident_id_born(&format!("1980050{}", i + 1));
        *body
            .pointer_mut("/OpenFile/household/head/resident_id")
            .unwrap() = json!(rid);
        let (status, problem) = api.command(&format!("HF-{i}"), &body).await;
        assert_eq!(status, StatusCode::OK, "{text}: {problem}");
    }
}

/// 23:30 UTC is 07:30 the next morning in Beijing: a file opened "today"
/// (Beijing) is accepted, not refused as dated in the future.
#[tokio::test]
async fn today_is_the_beijing_date_before_eight_in_the_morning() {
    let at: DateTime<Utc> = "2026-03-09T23:30:00Z".parse().unwrap();
    let beijing = api_at(Some(BusinessClock::fixed(
        bangfu::app::clock::DEFAULT_TZ,
        at,
    )))
    .await;
    let today = open_with("/OpenFile/opened_on", json!("2026-03-10"));
    let (status, body) = beijing.command("HF-1", &today).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let tomorrow = open_with("/OpenFile/opened_on", json!("2026-03-11"));
    let (status, body) = beijing.command("HF-2", &tomorrow).await;
    assert_eq!(
        body["code"], "hardship_file.opened_in_future",
        "{status} {body}"
    );
    // A resident ID born on the Beijing "today" is no longer in the future.
    let mut born_today = open_with("/OpenFile/opened_on", json!("2026-03-10"));
    *born_today
        .pointer_mut("/OpenFile/household/head/resident_id")
        .unwrap() = json!(resident_id_born("20260310"));
    let (status, body) = beijing.command("HF-3", &born_today).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(beijing.events().await, 2);

    let utc = api_at(Some(BusinessClock::fixed(chrono_tz::UTC, at))).await;
    let (status, body) = utc.command("HF-1", &today).await;
    assert_eq!(
        body["code"], "hardship_file.opened_in_future",
        "{status} {body}"
    );
    assert_eq!(utc.events().await, 0);
}

/// Every route of the OpenAPI document, and the routes outside it, answer
/// an undeclared query parameter with 400 and a problem code — before
/// anything runs.
#[tokio::test]
async fn unknown_query_parameters_are_refused_on_every_route() {
    let api = api_at(None).await;
    let doc = serde_json::to_value(bangfu::http::openapi()).expect("document");
    let paths = doc["paths"].as_object().expect("paths");
    let mut routes: Vec<(Method, String)> = Vec::new();
    for (path, item) in paths {
        let concrete = path
            .replace("{id}", "HF-1")
            .replace("{user_id}", "lin.xiaomei");
        for (name, method) in [
            ("get", Method::GET),
            ("post", Method::POST),
            ("put", Method::PUT),
            ("patch", Method::PATCH),
            ("delete", Method::DELETE),
        ] {
            if item.get(name).is_some() {
                routes.push((method, concrete.clone()));
            }
        }
    }
    assert!(routes.len() > 20, "{routes:?}");
    for extra in ["/health", "/docs", "/openapi.json"] {
        routes.push((Method::GET, extra.to_string()));
    }
    let body = serde_json::to_value(sample_open_file()).unwrap();
    for (method, path) in &routes {
        for query in ["foo=1", "as_of=2026-01-01", "limit=5&limt=5"] {
            let uri = format!("{path}?{query}");
            let (status, problem) = api.send(method.clone(), &uri, Some(&body)).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{method} {uri}: {problem}");
            assert_eq!(
                problem["code"], "input.unknown_parameter",
                "{method} {uri}: {problem}"
            );
        }
    }
    assert_eq!(api.events().await, 0);
    // Declared parameters still work.
    let (status, body) = api
        .send(Method::GET, "/v1/hardship-files?limit=5", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn the_campaign_view_carries_every_figure_and_flags_donors_over_headcount() {
    let api = api_at(None).await;
    let api = &api;
    let post = |role: &'static str, body: Value| async move {
        let (status, problem) = api
            .send_as(
                role,
                Method::POST,
                "/v1/donation-campaigns/yrj/commands",
                Some(&body),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}: {problem}");
    };
    post(
        "approver",
        json!({"Launch": {
            "name": "一日捐", "year": 2026, "co_issuers": [],
            "units": [{"unit_id": "d-1", "name": "机关", "headcount": 10},
                      {"unit_id": "d-2", "name": "纺织厂", "headcount": 100}],
            "starts_on": "2026-04-01", "ends_on": "2026-06-30", "purpose": "general_fund"
        }}),
    )
    .await;
    for (receipt, unit, donors, fen) in [("R-1", "d-1", 12, 120000), ("R-2", "d-2", 50, 500000)] {
        post(
            "caseworker",
            json!({"RecordDonation": {
                "receipt_no": receipt, "unit_id": unit, "donor": null, "donor_count": donors,
                "amount_fen": fen, "channel": "bank_transfer", "donated_on": "2026-04-10"
            }}),
        )
        .await;
    }
    let request = Request::builder()
        .uri("/v1/views/campaigns/yrj")
        .header("authorization", format!("Bearer {}", api.caseworker))
        .header("x-bangfu-role", "approver")
        .body(Body::empty())
        .unwrap();
    let response = api.router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let view: Value = serde_json::from_slice(&bytes).unwrap();
    let c = &view["campaign"]["campaign"];
    assert_eq!(c["net_received_fen"], 620000, "{view}");
    assert_eq!(c["allocated_fen"], 0);
    assert_eq!(c["unallocated_fen"], 620000);
    // 62 donors of 110 staff: 5,636 bp, not over.
    assert_eq!(c["participation_bp"], 5636);
    assert_eq!(c["over_headcount"], false);
    let units = &view["campaign"]["units"];
    assert_eq!(units[0]["unit_id"], "d-1");
    assert_eq!(units[0]["participation_bp"], 12000);
    assert_eq!(units[0]["over_headcount"], true);
    assert_eq!(units[0]["net_received_fen"], 120000);
    assert_eq!(units[1]["over_headcount"], false);
    assert_eq!(units[1]["participation_bp"], 5000);
}
