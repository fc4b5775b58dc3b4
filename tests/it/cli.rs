//! The real `bangfu` binary on a temporary database: bad input is refused
//! with the field named, its stable code and the right exit status, and
//! writes nothing; accepted commands, business-rule refusals, `history`,
//! `show`, `streams` and `verify` behave as the README says.
//!
//! Event counts are read by opening the store in-process between runs, so a
//! refusal that wrote something anyway cannot hide behind a correct message.

use std::path::Path;
use std::process::Output;

use bangfu::cli::ExitKind;
use bangfu::store::hash::GENESIS_HASH;
use bangfu::store::{EventStore, SqliteStore};
use chrono::NaiveDate;
use domain::hardship::{
    sample_household, sample_open_file, HardshipFileCommand, MeasureKind, MeasureSpec, Payee,
    VerificationOutcome, VisitKind,
};
use domain::values::{Code, Fen, LongText, PersonName, ShortText};
use serde_json::{json, Value};
use sqlx::Executor;

use crate::support::{bangfu, db, raw_connection, Db};

/// `bangfu run <kind> <id> --actor <actor> --role <role>` with `body` on stdin.
fn run(db: &Db, lang: &str, kind: &str, id: &str, actor: &str, role: &str, body: &[u8]) -> Output {
    bangfu(db)
        .args([
            "--lang", lang, "run", kind, id, "--actor", actor, "--role", role,
        ])
        .write_stdin(body.to_vec())
        .output()
        .expect("bangfu runs")
}

fn file(db: &Db, id: &str, actor: &str, role: &str, body: &HardshipFileCommand) -> Output {
    let json = serde_json::to_vec(body).expect("command serializes");
    run(db, "zh", "hardship-file", id, actor, role, &json)
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("stdout is UTF-8")
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("stderr is UTF-8")
}

#[track_caller]
fn assert_exit(output: &Output, expected: ExitKind) {
    assert_eq!(
        output.status.code(),
        Some(expected as i32),
        "expected exit {expected:?}\nstdout: {}\nstderr: {}",
        stdout(output),
        stderr(output)
    );
}

/// Events in the store, read in-process (opening creates the file if missing).
async fn count_events(path: &Path) -> u64 {
    let store = SqliteStore::open(path, domain::reservations_of)
        .await
        .expect("open store");
    let count = store.count_events().await.expect("count events");
    store.close().await;
    count
}

fn code(s: &str) -> Code {
    Code::parse(s).expect("valid code")
}

fn short(s: &str) -> ShortText {
    ShortText::parse(s).expect("valid text")
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

fn open_file_json() -> Value {
    serde_json::to_value(sample_open_file()).expect("command serializes")
}

/// The sample `OpenFile` with a different head of household.
fn open_file_for(first17: &str) -> HardshipFileCommand {
    let mut household = sample_household();
    household.head.resident_id = domain::testing::resident_id(first17);
    HardshipFileCommand::OpenFile {
        household,
        opened_on: date(2026, 3, 1),
    }
}

fn verification_visit(visit_id: &str) -> HardshipFileCommand {
    HardshipFileCommand::LogVisit {
        visit_id: code(visit_id),
        visited_on: date(2026, 3, 5),
        kind: VisitKind::Verification,
        caseworkers: vec![PersonName::parse("林晓梅").expect("valid name")],
        findings: LongText::parse("入户核实家庭收入与病情，情况属实").expect("valid text"),
        facts_verified: vec![],
        contact_card_issued: true,
        cash_handover: None,
    }
}

// ---------------------------------------------------------------- bad input

fn head(body: &mut Value) -> &mut Value {
    &mut body["OpenFile"]["household"]["head"]
}

/// One kind of bad input: what is sent, and what the person must be told.
struct BadInput {
    what: &'static str,
    kind: &'static str,
    id: &'static str,
    actor: &'static str,
    body: Vec<u8>,
    code: &'static str,
    /// Text both languages must show verbatim (the field, a value).
    field: &'static str,
    zh: &'static str,
    en: &'static str,
}

fn bad_inputs() -> Vec<BadInput> {
    let edited = |edit: &dyn Fn(&mut Value)| {
        let mut body = open_file_json();
        edit(&mut body);
        serde_json::to_vec(&body).expect("serializes")
    };
    let base = BadInput {
        what: "",
        kind: "hardship-file",
        id: "HF-2",
        actor: "lin.xiaomei",
        body: Vec::new(),
        code: "input.invalid_field",
        field: "",
        zh: "",
        en: "",
    };
    let mut long_findings = serde_json::to_value(verification_visit("V-9")).expect("serializes");
    long_findings["LogVisit"]["findings"] = json!("核".repeat(4_001));
    let mut invalid_utf8 = br#"{"OpenFile": {"household": {"head": {"name": ""#.to_vec();
    invalid_utf8.extend_from_slice(&[0xE9, 0x99, 0xFF, 0xFE]);
    invalid_utf8.extend_from_slice(br#""}}}}"#);
    let mut unknown_variant = open_file_json();
    unknown_variant = json!({ "OpenFiles": unknown_variant["OpenFile"].take() });

    vec![
        BadInput {
            what: "malformed JSON",
            body: br#"{"OpenFile": {"household": "#.to_vec(),
            code: "input.malformed_json",
            field: "1",
            zh: "JSON 格式错误（第 1 行",
            en: "malformed JSON at line 1",
            ..base
        },
        BadInput {
            what: "trailing characters",
            body: {
                let mut body = serde_json::to_vec(&open_file_json()).expect("serializes");
                body.extend_from_slice(b" {}");
                body
            },
            code: "input.malformed_json",
            field: "1",
            zh: "JSON 之后有多余字符",
            en: "trailing characters",
            ..base
        },
        BadInput {
            what: "missing field",
            body: edited(&|b| {
                b["OpenFile"]
                    .as_object_mut()
                    .expect("an object")
                    .remove("opened_on");
            }),
            field: "OpenFile.opened_on",
            zh: "缺少字段：OpenFile.opened_on",
            en: "missing fields: OpenFile.opened_on",
            ..base
        },
        BadInput {
            what: "empty body",
            body: Vec::new(),
            code: "input.empty",
            zh: "命令内容为空",
            en: "command body is empty",
            ..base
        },
        BadInput {
            what: "blank body",
            body: b" \n\t ".to_vec(),
            code: "input.empty",
            zh: "命令内容为空",
            en: "command body is empty",
            ..base
        },
        BadInput {
            what: "wrong resident-ID check digit",
            // The sample head is 350302197803120016; 7 is the wrong check digit.
            body: edited(&|b| head(b)["resident_id"] = json!("350302197803120017")),
            field: "OpenFile.household.head.resident_id",
            zh: "校验位不正确",
            en: "check digit is wrong",
            ..base
        },
        BadInput {
            what: "negative amount",
            body: edited(&|b| {
                b["OpenFile"]["household"]["monthly_income_per_capita_fen"] = json!(-1)
            }),
            field: "OpenFile.household.monthly_income_per_capita_fen",
            zh: "金额不能为负数",
            en: "amount must not be negative",
            ..base
        },
        BadInput {
            what: "fractional fen",
            body: edited(&|b| {
                b["OpenFile"]["household"]["monthly_income_per_capita_fen"] = json!(12.5)
            }),
            field: "OpenFile.household.monthly_income_per_capita_fen",
            zh: "金额应为以分为单位的非负整数",
            en: "an amount is a non-negative whole number of fen",
            ..base
        },
        BadInput {
            what: "unknown field",
            body: edited(&|b| head(b)["nickname"] = json!("老陈")),
            field: "OpenFile.household.head.nickname",
            zh: "未知字段 `nickname`",
            en: "unknown field `nickname`",
            ..base
        },
        BadInput {
            what: "51-character name",
            body: edited(&|b| head(b)["name"] = json!("陈".repeat(51))),
            field: "OpenFile.household.head.name",
            zh: "最多 50 个字符，实际 51 个",
            en: "at most 50 characters, got 51",
            ..base
        },
        BadInput {
            what: "4,001-character findings",
            id: "HF-1",
            body: serde_json::to_vec(&long_findings).expect("serializes"),
            field: "LogVisit.findings",
            zh: "最多 4000 个字符，实际 4001 个",
            en: "at most 4000 characters, got 4001",
            ..base
        },
        BadInput {
            what: "invalid UTF-8",
            body: invalid_utf8,
            code: "input.malformed_json",
            field: "1",
            zh: "无效的 Unicode 字符",
            en: "invalid unicode code point",
            ..base
        },
        BadInput {
            what: "unknown command",
            body: serde_json::to_vec(&unknown_variant).expect("serializes"),
            code: "input.unknown_command",
            field: "OpenFiles",
            zh: "未知命令 OpenFiles（可用：OpenFile, LogVisit",
            en: "unknown command OpenFiles (known: OpenFile, LogVisit",
            ..base
        },
        BadInput {
            what: "aggregate id with a space",
            id: "HF 2",
            body: serde_json::to_vec(&open_file_for("11010519800101123")).expect("serializes"),
            code: "input.invalid_value",
            field: "`aggregate_id`",
            zh: "无效",
            en: "invalid `aggregate_id`",
            ..base
        },
        BadInput {
            what: "actor id with a space",
            actor: "lin xiaomei",
            body: serde_json::to_vec(&open_file_for("11010519800101123")).expect("serializes"),
            code: "input.invalid_value",
            field: "`actor`",
            zh: "无效",
            en: "invalid `actor`",
            ..base
        },
        BadInput {
            what: "claim body naming another claim",
            kind: "mutual-aid-claim",
            id: "claim-x",
            body: serde_json::to_vec(&domain::mutual_aid::claim::sample_submit())
                .expect("serializes"),
            code: "input.id_mismatch",
            field: "`Submit.claim_id`",
            zh: "与命令发往的编号 `claim-x` 不一致",
            en: "is `claim-2026-0001` but the command is sent to `claim-x`",
            ..base
        },
        BadInput {
            what: "body over the size limit",
            body: {
                let mut big = serde_json::to_vec(&open_file_json()).expect("serializes");
                big.resize(bangfu::app::input::MAX_COMMAND_BYTES + 1, b' ');
                big
            },
            code: "input.too_large",
            field: "8388608",
            zh: "命令内容过大",
            en: "the limit is 8388608",
            ..base
        },
    ]
}

#[tokio::test]
async fn bad_input_is_refused_with_the_field_named_and_writes_nothing() {
    let db = db();
    // One file exists, so refused commands have a stream to (not) write to.
    let opened = file(
        &db,
        "HF-1",
        "lin.xiaomei",
        "caseworker",
        &sample_open_file(),
    );
    assert_exit(&opened, ExitKind::Ok);
    let before = count_events(&db.path).await;
    assert_eq!(before, 1);

    for case in bad_inputs() {
        for (lang, prefix, message) in [("zh", "错误 [", case.zh), ("en", "error [", case.en)] {
            let out = run(
                &db,
                lang,
                case.kind,
                case.id,
                case.actor,
                "caseworker",
                &case.body,
            );
            let err = stderr(&out);
            let context = format!("{} ({lang}): {err}", case.what);
            assert_eq!(out.status.code(), Some(ExitKind::Input as i32), "{context}");
            assert!(
                err.starts_with(&format!("{prefix}{}]", case.code)),
                "{context}"
            );
            assert!(err.contains(case.field), "{context}");
            assert!(err.contains(message), "{context}");
            assert!(out.stdout.is_empty(), "{context}");
            assert_eq!(count_events(&db.path).await, before, "{context}");
        }
    }
}

#[tokio::test]
async fn a_bad_role_or_missing_argument_is_a_usage_error_and_writes_nothing() {
    let db = db();
    let body = serde_json::to_vec(&sample_open_file()).expect("serializes");
    let out = run(
        &db,
        "zh",
        "hardship-file",
        "HF-1",
        "lin.xiaomei",
        "boss",
        &body,
    );
    assert_exit(&out, ExitKind::Usage);
    assert!(stderr(&out).contains("'boss'"), "{}", stderr(&out));
    assert!(stderr(&out).contains("--role"), "{}", stderr(&out));

    let out = bangfu(&db)
        .args(["run", "hardship-file", "HF-1", "--role", "caseworker"])
        .write_stdin(body.clone())
        .output()
        .unwrap();
    assert_exit(&out, ExitKind::Usage);
    assert!(stderr(&out).contains("--actor"), "{}", stderr(&out));

    let out = bangfu(&db)
        .args([
            "run",
            "no-such-kind",
            "HF-1",
            "--actor",
            "a",
            "--role",
            "caseworker",
        ])
        .write_stdin(body)
        .output()
        .unwrap();
    assert_exit(&out, ExitKind::Usage);

    assert_eq!(count_events(&db.path).await, 0);
}

#[tokio::test]
async fn a_missing_body_file_is_an_input_error() {
    let db = db();
    let out = bangfu(&db)
        .args([
            "--lang",
            "en",
            "run",
            "hardship-file",
            "HF-1",
            "--actor",
            "a",
        ])
        .args(["--role", "caseworker", "--file"])
        .arg(db.path.with_file_name("missing.json"))
        .output()
        .unwrap();
    assert_exit(&out, ExitKind::Input);
    assert!(stderr(&out).contains("missing.json"), "{}", stderr(&out));
    assert_eq!(count_events(&db.path).await, 0);
}

// ---------------------------------------------------------------- accepted commands

#[tokio::test]
async fn a_valid_open_file_is_accepted_from_a_file_and_from_stdin() {
    let db = db();
    let body_path = db.path.with_file_name("open.json");
    std::fs::write(
        &body_path,
        serde_json::to_vec_pretty(&sample_open_file()).unwrap(),
    )
    .unwrap();

    let out = bangfu(&db)
        .args([
            "run",
            "hardship-file",
            "HF-2026-0001",
            "--actor",
            "lin.xiaomei",
        ])
        .args(["--role", "caseworker", "--file"])
        .arg(&body_path)
        .output()
        .unwrap();
    assert_exit(&out, ExitKind::Ok);
    let text = stdout(&out);
    assert!(text.contains("HF-2026-0001"), "{text}");
    assert!(text.contains("已建档"), "{text}");
    // The resident ID is masked in what people read.
    assert!(!text.contains("350302197803120016"), "{text}");
    assert!(text.contains("3503**********0016"), "{text}");
    assert!(out.stderr.is_empty(), "{}", stderr(&out));

    // `--file -` and no --file both read stdin; --json is for programs.
    let body = serde_json::to_vec(&open_file_for("11010519800101123")).unwrap();
    let out = bangfu(&db)
        .args(["--lang", "en", "run", "hardship-file", "HF-2026-0002"])
        .args([
            "--actor",
            "lin.xiaomei",
            "--role",
            "caseworker",
            "--file",
            "-",
            "--json",
        ])
        .write_stdin(body)
        .output()
        .unwrap();
    assert_exit(&out, ExitKind::Ok);
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON output");
    assert_eq!(doc["aggregate_type"], "hardship_file");
    assert_eq!(doc["aggregate_id"], "HF-2026-0002");
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["events"][0]["event_type"], "FileOpened");
    assert_eq!(doc["events"][0]["label"], "file opened");
    assert!(doc["events"][0]["event_id"]
        .as_str()
        .is_some_and(|id| id.len() == 36));

    let body = serde_json::to_vec(&open_file_for("11010519800101107")).unwrap();
    let out = run(
        &db,
        "en",
        "hardship-file",
        "HF-2026-0003",
        "lin.xiaomei",
        "caseworker",
        &body,
    );
    assert_exit(&out, ExitKind::Ok);
    assert!(
        stdout(&out).contains("HF-2026-0003: 1 event(s) recorded"),
        "{}",
        stdout(&out)
    );

    assert_eq!(count_events(&db.path).await, 3);
}

// ---------------------------------------------------------------- business rules

#[tokio::test]
async fn business_rule_refusals_exit_4_with_their_code_and_write_nothing() {
    let db = db();
    assert_exit(
        &file(
            &db,
            "HF-1",
            "lin.xiaomei",
            "caseworker",
            &sample_open_file(),
        ),
        ExitKind::Ok,
    );

    // One open file per resident ID.
    for (lang, text) in [("zh", "已有在档档案（HF-1）"), ("en", "HF-1")] {
        let body = serde_json::to_vec(&sample_open_file()).unwrap();
        let out = run(
            &db,
            lang,
            "hardship-file",
            "HF-2",
            "lin.xiaomei",
            "caseworker",
            &body,
        );
        assert_exit(&out, ExitKind::Rejected);
        let err = stderr(&out);
        assert!(
            err.contains("[hardship_file.resident_has_open_file]"),
            "{err}"
        );
        assert!(err.contains(text), "{err}");
    }
    assert_eq!(count_events(&db.path).await, 1);

    // Carry the file to a pending grant.
    let measure = MeasureSpec {
        measure_id: code("M-01"),
        kind: MeasureKind::DialysisRelief,
        description: short("透析费用救助"),
        planned_amount_fen: Fen::from_yuan(6_000).unwrap(),
        fund: domain::fund::Fund::SpecialAssistance,
        due_on: date(2026, 12, 31),
    };
    for (actor, role, body) in [
        ("lin.xiaomei", "caseworker", verification_visit("V-1")),
        (
            "zheng.hua",
            "approver",
            HardshipFileCommand::Verify {
                outcome: VerificationOutcome::Confirmed {
                    note: short("情况属实"),
                },
            },
        ),
        (
            "lin.xiaomei",
            "caseworker",
            HardshipFileCommand::AdoptPlan {
                goal: short("保障透析治疗"),
                measures: vec![measure],
            },
        ),
        (
            "lin.xiaomei",
            "caseworker",
            HardshipFileCommand::RequestGrant {
                grant_id: code("G-1"),
                measure_id: code("M-01"),
                amount_fen: Fen::from_yuan(1_500).unwrap(),
                payee: Payee::Cash,
                note: None,
            },
        ),
    ] {
        assert_exit(&file(&db, "HF-1", actor, role, &body), ExitKind::Ok);
    }
    let before = count_events(&db.path).await;
    assert_eq!(before, 5);

    // Four-eyes: the requester cannot approve, whatever role they claim.
    let approve = HardshipFileCommand::ApproveGrant {
        grant_id: code("G-1"),
    };
    for role in ["approver", "admin"] {
        let out = file(&db, "HF-1", "lin.xiaomei", role, &approve);
        assert_exit(&out, ExitKind::Rejected);
        assert!(
            stderr(&out).contains("[hardship_file.four_eyes]"),
            "{}",
            stderr(&out)
        );
    }
    assert_eq!(count_events(&db.path).await, before);

    // Money: the fund holds nothing yet, so the store refuses the approval,
    // naming the fund, what it has and what was asked.
    let json = serde_json::to_vec(&approve).unwrap();
    for (lang, text) in [
        ("zh", "帮扶专项资金不足：可用 0.00 元，本次需要 1500.00 元"),
        (
            "en",
            "special assistance fund: 0.00 yuan available, 1500.00 yuan asked",
        ),
    ] {
        let out = run(
            &db,
            lang,
            "hardship-file",
            "HF-1",
            "zheng.hua",
            "approver",
            &json,
        );
        assert_exit(&out, ExitKind::Rejected);
        let err = stderr(&out);
        assert!(err.contains("[money.insufficient_funds]"), "{err}");
        assert!(err.contains(text), "{err}");
    }
    assert_eq!(count_events(&db.path).await, before);
    let appropriate = serde_json::json!({"Appropriate": {
        "appropriation_id": "BK-1", "fund": "special_assistance", "amount_fen": 150_000,
        "source": "莆田市总工会", "received_on": "2026-01-05", "note": null}});
    let out = run(
        &db,
        "zh",
        "fund-account",
        "FA-1",
        "wu.haiyan",
        "finance",
        &serde_json::to_vec(&appropriate).unwrap(),
    );
    assert_exit(&out, ExitKind::Ok);

    let out = file(&db, "HF-1", "zheng.hua", "approver", &approve);
    assert_exit(&out, ExitKind::Ok);
    assert_eq!(count_events(&db.path).await, before + 2);
}

// ---------------------------------------------------------------- reading

#[tokio::test]
async fn history_show_and_streams_print_the_record() {
    let db = db();
    assert_exit(
        &file(
            &db,
            "HF-1",
            "lin.xiaomei",
            "caseworker",
            &sample_open_file(),
        ),
        ExitKind::Ok,
    );
    assert_exit(
        &file(
            &db,
            "HF-1",
            "lin.xiaomei",
            "caseworker",
            &verification_visit("V-1"),
        ),
        ExitKind::Ok,
    );
    assert_exit(
        &file(
            &db,
            "HF-0",
            "lin.xiaomei",
            "caseworker",
            &open_file_for("11010519800101123"),
        ),
        ExitKind::Ok,
    );

    // Masked by default, in full with --unmasked (the read is logged).
    let out = bangfu(&db)
        .args(["history", "hardship-file", "HF-1", "--json"])
        .output()
        .unwrap();
    assert_exit(&out, ExitKind::Ok);
    let masked = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(masked.contains("3503**********0016"), "{masked}");
    assert!(!masked.contains("350302197803120016"), "{masked}");
    // Programs: every column, and a chain they can follow.
    let out = bangfu(&db)
        .args(["history", "hardship-file", "HF-1", "--json", "--unmasked"])
        .output()
        .unwrap();
    assert_exit(&out, ExitKind::Ok);
    let events: Vec<Value> = serde_json::from_slice(&out.stdout).expect("JSON history");
    assert_eq!(events.len(), 2);
    let mut prev = GENESIS_HASH.to_string();
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["sequence"], i + 1);
        assert_eq!(e["prev_hash"], prev.as_str());
        let hash = e["hash"].as_str().expect("hash");
        assert_eq!(hash.len(), 64);
        assert!(hash.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(e["metadata"]["actor_id"], "lin.xiaomei");
        assert_eq!(e["metadata"]["actor_role"], "caseworker");
        assert_eq!(e["metadata"]["event_id"], e["event_id"]);
        prev = hash.to_string();
    }
    assert_eq!(events[0]["event_type"], "FileOpened");
    assert_eq!(events[1]["event_type"], "VisitLogged");
    assert_eq!(
        events[0]["payload"]["FileOpened"]["household"]["head"]["resident_id"],
        "350302197803120016"
    );

    // People: a table with who, what and the start of each hash.
    for (lang, header, label, role) in [
        ("zh", "序号", "已建档", "工会专干"),
        ("en", "seq", "file opened", "caseworker"),
    ] {
        let out = bangfu(&db)
            .args(["--lang", lang, "history", "hardship-file", "HF-1"])
            .output()
            .unwrap();
        assert_exit(&out, ExitKind::Ok);
        let text = stdout(&out);
        assert!(text.contains(header), "{text}");
        assert!(text.contains(label), "{text}");
        assert!(text.contains(&format!("lin.xiaomei ({role})")), "{text}");
        for e in &events {
            assert!(text.contains(&e["hash"].as_str().unwrap()[..12]), "{text}");
        }
        assert!(
            !text.contains("350302197803120016"),
            "resident ID masked: {text}"
        );
    }

    let out = bangfu(&db)
        .args(["show", "hardship-file", "HF-1"])
        .output()
        .unwrap();
    assert_exit(&out, ExitKind::Ok);
    let shown: Value = serde_json::from_slice(&out.stdout).expect("JSON state");
    assert_eq!(shown["aggregate_id"], "HF-1");
    assert_eq!(shown["version"], 2);
    assert_eq!(shown["state"]["visits"][0]["visit_id"], "V-1");
    assert_eq!(
        shown["state"]["household"]["head"]["resident_id"], "3503**********0016",
        "masked unless --unmasked"
    );
    let out = bangfu(&db)
        .args(["show", "hardship-file", "HF-1", "--unmasked"])
        .output()
        .unwrap();
    assert_exit(&out, ExitKind::Ok);
    let shown: Value = serde_json::from_slice(&out.stdout).expect("JSON state");
    assert_eq!(
        shown["state"]["household"]["head"]["resident_id"],
        "350302197803120016"
    );

    let out = bangfu(&db)
        .args(["streams", "hardship-file"])
        .output()
        .unwrap();
    assert_exit(&out, ExitKind::Ok);
    assert_eq!(stdout(&out), "HF-1\nHF-0\n", "oldest first");
    let out = bangfu(&db)
        .args(["streams", "mutual-aid-claim"])
        .output()
        .unwrap();
    assert_exit(&out, ExitKind::Ok);
    assert_eq!(stdout(&out), "");

    for args in [
        ["history", "hardship-file", "HF-9"],
        ["show", "hardship-file", "HF-9"],
        ["show", "donation-campaign", "HF-1"],
    ] {
        let out = bangfu(&db).args(args).output().unwrap();
        assert_exit(&out, ExitKind::NotFound);
        assert!(
            stderr(&out).contains("[store.not_found]"),
            "{}",
            stderr(&out)
        );
    }
}

// ---------------------------------------------------------------- verify

#[tokio::test]
async fn verify_finds_a_payload_edited_in_the_database() {
    let db = db();
    assert_exit(
        &file(
            &db,
            "HF-1",
            "lin.xiaomei",
            "caseworker",
            &sample_open_file(),
        ),
        ExitKind::Ok,
    );
    assert_exit(
        &file(
            &db,
            "HF-1",
            "lin.xiaomei",
            "caseworker",
            &verification_visit("V-1"),
        ),
        ExitKind::Ok,
    );
    assert_exit(
        &file(
            &db,
            "HF-0",
            "lin.xiaomei",
            "caseworker",
            &open_file_for("11010519800101123"),
        ),
        ExitKind::Ok,
    );

    let out = bangfu(&db).args(["verify"]).output().unwrap();
    assert_exit(&out, ExitKind::Ok);
    assert!(
        stdout(&out).contains("2 个案卷流、3 个事件"),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("未发现篡改"), "{}", stdout(&out));

    // The attacker has the file: the trigger stops a plain UPDATE, so they drop it.
    let mut raw = raw_connection(&db.path).await;
    let edit = "UPDATE events
                   SET payload = json_set(payload,
                         '$.FileOpened.household.monthly_income_per_capita_fen', 30000)
                 WHERE aggregate_id = 'HF-1' AND sequence = 1";
    let refused = raw.execute(edit).await.expect_err("the trigger refuses");
    assert!(refused.to_string().contains("append-only"), "{refused}");
    raw.execute("DROP TRIGGER events_no_update").await.unwrap();
    assert_eq!(raw.execute(edit).await.unwrap().rows_affected(), 1);
    drop(raw);

    let out = bangfu(&db).args(["verify"]).output().unwrap();
    assert_exit(&out, ExitKind::Tampered);
    assert!(
        stdout(&out).contains("✗ hardship_file HF-1 #1: Hash"),
        "{}",
        stdout(&out)
    );
    assert!(!stdout(&out).contains("HF-0"), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("[store.chain_broken]"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("哈希链断裂"), "{}", stderr(&out));

    let out = bangfu(&db)
        .args(["--lang", "en", "verify", "--json"])
        .output()
        .unwrap();
    assert_exit(&out, ExitKind::Tampered);
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert_eq!(report["ok"], false);
    assert_eq!(report["streams"], 2);
    assert_eq!(report["events"], 3);
    let breaks = report["breaks"].as_array().unwrap();
    assert_eq!(breaks.len(), 1, "{report}");
    assert_eq!(breaks[0]["aggregate_type"], "hardship_file");
    assert_eq!(breaks[0]["aggregate_id"], "HF-1");
    assert_eq!(breaks[0]["sequence"], 1);
    assert_eq!(breaks[0]["problem"], "Hash");
    assert!(
        stderr(&out).contains("hash chain broken"),
        "{}",
        stderr(&out)
    );
}
