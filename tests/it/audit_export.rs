//! Files for auditors to take away from the command line (issue 13 item
//! 6), through the real binary on SQLite and PostgreSQL: `bangfu view …`,
//! `history` and `show` with `--format csv|csv-gbk|xlsx --out FILE` and
//! `--as-of-position`. The same position gives byte-identical files after
//! more events were appended; the XLSX read back with calamine has Chinese
//! headings and the rows `--json` prints; a bad format or a missing
//! directory exits 3 and writes nothing.

use std::path::{Path, PathBuf};
use std::process::Output;

use bangfu::app::App;
use bangfu::cli::ExitKind;
use domain::command::Role;
use domain::values::ResidentId;
use serde_json::{json, Value};
use tempfile::TempDir;

use super::view_files::{csv_rows, expect_cell, xlsx_rows};
use crate::support::run;

const LIN: (&str, Role) = ("lin.xiaomei", Role::Caseworker);
const HUANG: (&str, Role) = ("huang.zhiqiang", Role::Approver);

struct World {
    app: App,
    url: String,
    dir: TempDir,
}

async fn sqlite_world() -> World {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("bangfu.db").display());
    let app = App::open_url(&url).await.expect("open app");
    World { app, url, dir }
}

async fn postgres_world(test: &str) -> Option<World> {
    let url = crate::pg::fresh_database(test).await?;
    let app = App::open_url(&url).await.expect("open app");
    let dir = tempfile::tempdir().expect("temp dir");
    Some(World { app, url, dir })
}

fn rid(n: u32) -> String {
    let first17 = format!("350302198001{:02}{:03}", n % 28 + 1, n % 1000);
    let check = ResidentId::check_char(first17.as_bytes()) as char;
    format!("{first17}{check}")
}

fn enrol(unit: &str, member: u32) -> Value {
    json!({"EnrolUnit": {"unit_id": unit, "unit_name": "振兴鞋服", "members": [{"resident_id": rid(member), "name": "职工甲", "migrant_worker": false}], "contribution_fen": 15_050, "paid_by": "unit"}})
}

impl World {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn cli(&self, args: &[&str]) -> Output {
        let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("bangfu"));
        for var in ["BANGFU_DB", "BANGFU_LANG", "BANGFU_TZ", "RUST_LOG"] {
            c.env_remove(var);
        }
        c.args(["--store", &self.url]).args(args);
        c.output().expect("bangfu runs")
    }

    fn ok(&self, args: &[&str]) -> Output {
        let out = self.cli(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", text(&out));
        out
    }

    fn json(&self, args: &[&str]) -> Value {
        serde_json::from_slice(&self.ok(args).stdout).expect("json")
    }

    /// The file `args` write with `--out NAME`, its bytes.
    fn export(&self, name: &str, args: &[&str]) -> Vec<u8> {
        let path = self.path(name);
        let out = self.ok(&[args, &["--out", &path.display().to_string()]].concat());
        assert!(text(&out).contains("SHA-256"), "{}", text(&out));
        std::fs::read(&path).expect("file written")
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Plan P7 with two units (money: their contributions).
async fn populate(app: &App) {
    let policy = json!({
        "version": "test-v1", "threshold_fen": 500_000,
        "tiers": [{"from_fen": 500_000, "amount_fen": 20_000}],
        "period_uplift_bp": 3000, "migrant_uplift_bp": 3000, "cap_per_member_fen": 600_000
    });
    run(&app.plans, "P7", HUANG, "2026-01-10", json!({"OpenPeriod": {"name": "测试互助第七期", "period_no": 7, "starts_on": "2026-01-01", "ends_on": "2026-12-31", "policy": policy}})).await;
    run(&app.plans, "P7", LIN, "2026-01-11", enrol("U1", 1)).await;
    run(&app.plans, "P7", LIN, "2026-01-12", enrol("U2", 2)).await;
}

/// `LogPosition` JSON as `--as-of-position` takes it.
fn position_arg(p: &Value) -> String {
    match (p["commit"].as_u64(), p["position"].as_u64()) {
        (Some(0), Some(n)) => n.to_string(),
        (Some(c), Some(n)) => format!("{c}/{n}"),
        _ => panic!("not a position: {p}"),
    }
}

fn has_chinese(s: &str) -> bool {
    s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

/// Every cell of `file_rows` (heading row first) equals the JSON rows under
/// the English headings `keys` (money compared as yuan).
fn assert_rows_equal(what: &str, keys: &[String], file_rows: &[Vec<String>], json_rows: &[Value]) {
    assert_eq!(file_rows.len(), json_rows.len() + 1, "{what}: row count");
    for (i, row) in json_rows.iter().enumerate() {
        for (c, key) in keys.iter().enumerate() {
            let want = expect_cell(row, key);
            let got = &file_rows[i + 1][c];
            if key.ends_with("_fen") && !got.is_empty() {
                let got: f64 = got.parse().expect("money is numeric");
                assert_eq!(format!("{got:.2}"), want, "{what} row {i} {key}");
            } else {
                assert_eq!(got, &want, "{what} row {i} {key}");
            }
        }
    }
}

async fn same_position_same_bytes_and_rows_equal_the_json(w: World) {
    populate(&w.app).await;
    let now = w.json(&["view", "fund-balances", "--json"]);
    let at = position_arg(&now["views_position"]);
    let as_of = ["--as-of-position", at.as_str()];
    let plan = [&["view", "plan-period", "P7"][..], &as_of[..]].concat();
    let history = [&["history", "mutual-aid-plan", "P7"][..], &as_of[..]].concat();
    let show = [&["show", "mutual-aid-plan", "P7"][..], &as_of[..]].concat();
    let runs = |round: &str| -> Vec<Vec<u8>> {
        vec![
            w.export(&format!("{round}-plan.xlsx"), &plan),
            w.export(
                &format!("{round}-plan.csv"),
                &[&plan[..], &["--format", "csv-gbk"]].concat(),
            ),
            w.export(&format!("{round}-history.xlsx"), &history),
            w.export(&format!("{round}-show.csv"), &show),
            w.export(
                &format!("{round}-funds.xlsx"),
                &["view", "fund-balances", "--as-of-position", &at],
            ),
        ]
    };
    let first = runs("first");
    // More events, in the same stream and in the funds.
    run(&w.app.plans, "P7", LIN, "2026-01-13", enrol("U3", 3)).await;
    let second = runs("second");
    assert_eq!(first, second, "the same position gives the same bytes");
    // Without the position, the plan's file now has the third unit.
    let today = w.export("today-plan.xlsx", &["view", "plan-period", "P7"]);
    assert_ne!(today, first[0]);
    assert_eq!(xlsx_rows(&today).len(), 4, "heading and three units");

    // The plan-period file: Chinese headings, rows equal to --json's.
    let doc = w.json(&[&plan[..], &["--json"]].concat());
    let units = doc["plan_period"]["units"]
        .as_array()
        .expect("units")
        .clone();
    assert_eq!(units.len(), 2);
    let en = w.export("en-plan.csv", &[&["--lang", "en"][..], &plan[..]].concat());
    let keys = csv_rows(std::str::from_utf8(&en[3..]).expect("utf-8")).remove(0);
    let zh = xlsx_rows(&first[0]);
    assert_ne!(zh[0], keys, "Chinese headings by default");
    assert!(zh[0].iter().any(|h| has_chinese(h)), "{:?}", zh[0]);
    assert!(zh[0].iter().any(|h| h == "单位"), "{:?}", zh[0]);
    assert_rows_equal("plan xlsx", &keys, &zh, &units);
    let (gbk, _, bad) = encoding_rs::GBK.decode(&first[1]);
    assert!(!bad);
    let from_gbk = csv_rows(&gbk);
    assert_eq!(from_gbk[0], zh[0]);
    assert_rows_equal("plan csv-gbk", &keys, &from_gbk, &units);

    // The history file: one row per event, the --json's columns.
    let events = w.json(&[&history[..], &["--json"]].concat());
    let events = events.as_array().expect("events").clone();
    assert_eq!(events.len(), 3);
    let en = w.export(
        "en-history.csv",
        &[&["--lang", "en"][..], &history[..]].concat(),
    );
    let rows = csv_rows(std::str::from_utf8(&en[3..]).expect("utf-8"));
    let zh = xlsx_rows(&first[2]);
    assert!(zh[0].contains(&"序号".to_string()) && zh[0].contains(&"哈希".to_string()));
    let shared: Vec<String> = rows[0]
        .iter()
        .filter(|k| {
            [
                "position",
                "sequence",
                "event_type",
                "hash",
                "prev_hash",
                "chain_ok",
            ]
            .contains(&k.as_str())
                || k.starts_with("payload.")
        })
        .cloned()
        .collect();
    assert!(shared.len() > 6, "{shared:?}");
    assert_eq!(
        zh.len(),
        rows.len(),
        "the XLSX and the CSV hold the same rows"
    );
    for (i, event) in events.iter().enumerate() {
        for key in &shared {
            let c = rows[0].iter().position(|k| k == key).expect("column");
            assert_eq!(
                rows[i + 1][c],
                expect_cell(event, key),
                "history row {i} {key}"
            );
        }
    }

    // The state file: one row per field; the version is the one at the position.
    let state = String::from_utf8(first[3][3..].to_vec()).expect("utf-8");
    assert!(state.starts_with("字段,值"), "{state}");
    assert!(state.contains("\nversion,3"), "{state}");
}

async fn bad_format_or_missing_directory_writes_nothing(w: World) {
    populate(&w.app).await;
    let missing = w.path("no-such-dir").join("funds.xlsx");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "view".into(),
                "fund-balances".into(),
                "--format".into(),
                "pdf".into(),
                "--out".into(),
                w.path("f.pdf").display().to_string(),
            ],
            "export.unknown_format",
        ),
        (
            vec![
                "view".into(),
                "fund-balances".into(),
                "--out".into(),
                missing.display().to_string(),
            ],
            "export.no_directory",
        ),
        (
            vec![
                "history".into(),
                "mutual-aid-plan".into(),
                "P7".into(),
                "--format".into(),
                "xlsx".into(),
                "--out".into(),
                missing.display().to_string(),
            ],
            "export.no_directory",
        ),
        (
            vec![
                "show".into(),
                "mutual-aid-plan".into(),
                "P7".into(),
                "--out".into(),
                w.path("state.txt").display().to_string(),
            ],
            "export.unknown_format",
        ),
        (
            vec![
                "view".into(),
                "fund-balances".into(),
                "--format".into(),
                "csv".into(),
                "--out".into(),
                w.dir.path().display().to_string(),
            ],
            "export.out_is_directory",
        ),
    ];
    for (args, code) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = w.cli(&args);
        assert_eq!(
            out.status.code(),
            Some(ExitKind::Input as i32),
            "{args:?}: {}",
            text(&out)
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(code), "{args:?}: {stderr}");
        assert!(
            stderr.contains("未写入任何文件") || stderr.contains("格式") || stderr.contains("目录"),
            "{stderr}"
        );
    }
    assert!(!Path::new(&missing).exists() && !w.path("no-such-dir").exists());
    let left: Vec<_> = std::fs::read_dir(w.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with("bangfu.db"))
        .collect();
    assert!(left.is_empty(), "nothing written: {left:?}");
}

on_every_store!(
    "audit_export", 2, sqlite_world;
    same_position_same_bytes_and_rows_equal_the_json,
    bad_format_or_missing_directory_writes_nothing,
);
