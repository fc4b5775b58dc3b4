//! Audit seals catch every alteration (issue 13): on SQLite and PostgreSQL,
//! a history is sealed, then attacked directly in the database by an insider
//! who dropped the append-only guard — an edited payload or metadata, a
//! deleted middle event, tail or whole stream, swapped global positions or
//! sequence numbers, an inserted event, a rewrite with recomputed hashes,
//! an altered view row — and `bangfu audit verify` (or `projections
//! verify` for the view) exits with its documented status. A seal stays
//! valid as the log grows; a forged seal is told apart; the exit status
//! survives a closed pipe; `src/audit/verify_seal.py` recomputes chains and
//! seals without bangfu.

use std::path::PathBuf;
use std::process::Output;

use bangfu::app::App;
use bangfu::cli::ExitKind;
use bangfu::store::hash::event_hash;
use bangfu::store::hash::HashedEvent;
use bangfu::store::StoredEvent;
use domain::command::Role;
use domain::values::ResidentId;
use serde_json::json;
use sqlx::Connection;
use tempfile::TempDir;

use crate::support::run;

const LIN: (&str, Role) = ("lin.xiaomei", Role::Caseworker);
const HUANG: (&str, Role) = ("huang.zhiqiang", Role::Approver);

struct World {
    app: App,
    url: String,
    pg: bool,
    dir: TempDir,
}

async fn sqlite_world() -> World {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("bangfu.db").display());
    let app = App::open_url(&url).await.expect("open app");
    World {
        app,
        url,
        pg: false,
        dir,
    }
}

async fn postgres_world(test: &str) -> Option<World> {
    let url = crate::pg::fresh_database(test).await?;
    let app = App::open_url(&url).await.expect("open app");
    Some(World {
        app,
        url,
        pg: true,
        dir: tempfile::tempdir().expect("temp dir"),
    })
}

fn rid(n: u32) -> String {
    let first17 = format!("350302198001{:02}{:03}", n % 28 + 1, n % 1000);
    let check = ResidentId::check_char(first17.as_bytes()) as char;
    format!("{first17}{check}")
}

fn submit(claim: &str, member: u32) -> serde_json::Value {
    json!({"Submit": {
        "claim_id": claim, "plan_id": "P7", "member": rid(member), "member_name": "职工甲",
        "hospital": "莆田学院附属医院", "admitted_on": "2026-03-01", "discharged_on": "2026-03-01",
        "diagnosis": "住院治疗", "total_cost_fen": 2_000_000, "basic_insurance_fen": 1_200_000,
        "other_reimbursement_fen": 0, "documents": ["住院发票"]
    }})
}

fn enrol(unit: &str, member: u32) -> serde_json::Value {
    json!({"EnrolUnit": {"unit_id": unit, "unit_name": "振兴鞋服", "members": [{"resident_id": rid(member), "name": "职工甲", "migrant_worker": false}], "contribution_fen": 15_000, "paid_by": "unit"}})
}

/// Plan P7 (3 events), claims C1 and C2 (1 event each).
async fn populate(app: &App) {
    let policy = json!({
        "version": "test-v1", "threshold_fen": 500_000,
        "tiers": [{"from_fen": 500_000, "amount_fen": 20_000}],
        "period_uplift_bp": 3000, "migrant_uplift_bp": 3000, "cap_per_member_fen": 600_000
    });
    run(&app.plans, "P7", HUANG, "2026-01-10", json!({"OpenPeriod": {"name": "测试互助第七期", "period_no": 7, "starts_on": "2026-01-01", "ends_on": "2026-12-31", "policy": policy}})).await;
    run(&app.plans, "P7", LIN, "2026-01-11", enrol("U1", 1)).await;
    run(&app.plans, "P7", LIN, "2026-01-12", enrol("U2", 2)).await;
    run(&app.claims, "C1", LIN, "2026-03-15", submit("C1", 1)).await;
    run(&app.claims, "C2", LIN, "2026-03-15", submit("C2", 2)).await;
}

impl World {
    fn key(&self) -> PathBuf {
        self.dir.path().join("seal.key")
    }

    fn seal_file(&self) -> PathBuf {
        self.dir.path().join("seal.txt")
    }

    fn cli(&self, args: &[&str]) -> Output {
        let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("bangfu"));
        for var in [
            "BANGFU_DB",
            "BANGFU_LANG",
            "BANGFU_TZ",
            "RUST_LOG",
            "BANGFU_SEAL_KEY",
        ] {
            c.env_remove(var);
        }
        c.args(["--store", &self.url]).args(args);
        c.output().expect("bangfu runs")
    }

    fn audit(&self, args: &[&str]) -> Output {
        let key = self.key().display().to_string();
        let mut all = vec!["--lang", "en", "audit", "--key", &key];
        all.extend_from_slice(args);
        self.cli(&all)
    }

    fn verify_with_file(&self) -> Output {
        let file = self.seal_file().display().to_string();
        self.audit(&["verify", "--seal", &file])
    }

    async fn sql(&self, statements: &[&str]) -> u64 {
        let mut affected = 0;
        if self.pg {
            let mut conn = sqlx::PgConnection::connect(&self.url).await.unwrap();
            for s in statements {
                affected += sqlx::query(s)
                    .execute(&mut conn)
                    .await
                    .unwrap()
                    .rows_affected();
            }
        } else {
            let mut conn = self.sqlite().await;
            for s in statements {
                affected += sqlx::query(s)
                    .execute(&mut conn)
                    .await
                    .unwrap()
                    .rows_affected();
            }
        }
        affected
    }

    /// The insider's SQLite connection: foreign keys (reservations refer
    /// to events) not enforced.
    async fn sqlite(&self) -> sqlx::SqliteConnection {
        let mut conn = sqlx::SqliteConnection::connect(&self.url).await.unwrap();
        sqlx::query("PRAGMA foreign_keys = OFF")
            .execute(&mut conn)
            .await
            .unwrap();
        conn
    }

    async fn position(&self, id: &str, sequence: i64) -> i64 {
        let q = format!(
            "SELECT position FROM events WHERE aggregate_id = '{id}' AND sequence = {sequence}"
        );
        if self.pg {
            let mut conn = sqlx::PgConnection::connect(&self.url).await.unwrap();
            sqlx::query_scalar(&q).fetch_one(&mut conn).await.unwrap()
        } else {
            let mut conn = sqlx::SqliteConnection::connect(&self.url).await.unwrap();
            sqlx::query_scalar(&q).fetch_one(&mut conn).await.unwrap()
        }
    }

    /// What an insider does first: switch the append-only guard off.
    async fn unguard(&self) {
        if self.pg {
            self.sql(&[
                "ALTER TABLE events DISABLE TRIGGER events_no_update_or_delete",
                "ALTER TABLE events ALTER COLUMN position SET GENERATED BY DEFAULT",
                "ALTER TABLE reservations DROP CONSTRAINT reservations_position_fkey",
            ])
            .await;
        } else {
            self.sql(&[
                "DROP TRIGGER events_no_update",
                "DROP TRIGGER events_no_delete",
            ])
            .await;
        }
    }

    /// Replaces one stream's rows by `events`, keeping their positions.
    async fn rewrite_stream(&self, aggregate_type: &str, id: &str, events: &[StoredEvent]) {
        let delete = format!("DELETE FROM events WHERE aggregate_type = '{aggregate_type}' AND aggregate_id = '{id}'");
        self.sql(&[&delete]).await;
        for e in events {
            let insert = if self.pg {
                "INSERT INTO events (position, event_id, aggregate_type, aggregate_id, sequence, event_type,
                   event_version, payload, metadata, recorded_at, prev_hash, hash)
                 VALUES ($1, CAST($2 AS uuid), $3, $4, $5, $6, $7, CAST($8 AS json), CAST($9 AS json), $10, $11, $12)"
            } else {
                "INSERT INTO events (position, event_id, aggregate_type, aggregate_id, sequence, event_type,
                   event_version, payload, metadata, recorded_at, prev_hash, hash)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            };
            macro_rules! bind_all {
                ($q:expr) => {
                    $q.bind(e.position as i64)
                        .bind(e.event_id.to_string())
                        .bind(&e.aggregate_type)
                        .bind(&e.aggregate_id)
                        .bind(e.sequence as i64)
                        .bind(&e.event_type)
                        .bind(&e.event_version)
                        .bind(e.payload.to_string())
                        .bind(serde_json::to_string(&e.metadata).unwrap())
                        .bind(&e.recorded_at)
                        .bind(&e.prev_hash)
                        .bind(&e.hash)
                };
            }
            if self.pg {
                let mut conn = sqlx::PgConnection::connect(&self.url).await.unwrap();
                bind_all!(sqlx::query(insert))
                    .execute(&mut conn)
                    .await
                    .unwrap();
            } else {
                let mut conn = self.sqlite().await;
                bind_all!(sqlx::query(insert))
                    .execute(&mut conn)
                    .await
                    .unwrap();
            }
        }
    }
}

/// Recomputes every hash of a stream so that its chain verifies again.
fn rechain(events: &mut [StoredEvent]) {
    let mut prev = bangfu::store::hash::GENESIS_HASH.to_string();
    for (i, e) in events.iter_mut().enumerate() {
        e.sequence = i + 1;
        let metadata = serde_json::to_value(&e.metadata).unwrap();
        e.prev_hash = prev.clone();
        e.hash = event_hash(
            &prev,
            &HashedEvent {
                aggregate_type: &e.aggregate_type,
                aggregate_id: &e.aggregate_id,
                sequence: e.sequence as u64,
                event_type: &e.event_type,
                event_version: &e.event_version,
                payload: &e.payload,
                metadata: &metadata,
            },
        );
        prev = e.hash.clone();
    }
}

fn status(out: &Output) -> Option<i32> {
    out.status.code()
}

fn text(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Populates, seals (to the store and a file), and checks it all verifies.
async fn sealed(w: &World) {
    populate(&w.app).await;
    let file = w.seal_file().display().to_string();
    let out = w.audit(&["seal", "--out", &file]);
    assert_eq!(status(&out), Some(0), "{}", text(&out));
    let seal = std::fs::read_to_string(w.seal_file()).unwrap();
    assert!(
        seal.contains("events: 5\n") && seal.contains("streams: 3\n"),
        "{seal}"
    );
    let out = w.verify_with_file();
    assert_eq!(status(&out), Some(0), "{}", text(&out));
    assert!(text(&out).contains("✓ history intact"), "{}", text(&out));
}

/// After `attack`, `audit verify` exits 6 (with the seal from the store and
/// from the file); `chain_sees_it` says whether plain `verify` does too.
async fn detected(w: &World, chain_sees_it: bool) {
    let out = w.verify_with_file();
    assert_eq!(
        status(&out),
        Some(ExitKind::Tampered as i32),
        "{}",
        text(&out)
    );
    assert!(text(&out).contains("[audit.altered]"), "{}", text(&out));
    let out = w.cli(&["verify"]);
    let expected = if chain_sees_it {
        ExitKind::Tampered
    } else {
        ExitKind::Ok
    };
    assert_eq!(status(&out), Some(expected as i32), "{}", text(&out));
}

async fn edit_payload(w: World) {
    sealed(&w).await;
    w.unguard().await;
    let sql = if w.pg {
        "UPDATE events SET payload = CAST(replace(payload::text, '2000000', '2900000') AS json) WHERE aggregate_id = 'C1'"
    } else {
        "UPDATE events SET payload = replace(payload, '2000000', '2900000') WHERE aggregate_id = 'C1'"
    };
    assert_eq!(w.sql(&[sql]).await, 1);
    detected(&w, true).await;
    // `history` marks the row.
    let out = w.cli(&["--lang", "en", "history", "mutual-aid-claim", "C1"]);
    assert!(text(&out).contains("✗ hash mismatch"), "{}", text(&out));
    // So does the file an auditor takes away (chain_ok, chain_problem).
    let out = w.cli(&[
        "--lang",
        "en",
        "history",
        "mutual-aid-claim",
        "C1",
        "--format",
        "csv",
    ]);
    let csv = String::from_utf8_lossy(&out.stdout);
    assert!(
        csv.contains("chain_ok") && csv.contains(",false,✗ hash mismatch"),
        "{csv}"
    );
    // `show` says so in its JSON, and warns on stderr.
    let out = w.cli(&["--lang", "en", "show", "mutual-aid-claim", "C1"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["chain"], json!({"ok": false, "broken_sequences": [1]}));
    assert!(String::from_utf8_lossy(&out.stderr).contains("marked ✗"));
}

async fn edit_metadata(w: World) {
    sealed(&w).await;
    w.unguard().await;
    let sql = if w.pg {
        "UPDATE events SET metadata = CAST(jsonb_set(metadata::jsonb, '{actor_id}', '\"mallory\"')::text AS json) WHERE aggregate_id = 'C1'"
    } else {
        "UPDATE events SET metadata = json_set(metadata, '$.actor_id', 'mallory') WHERE aggregate_id = 'C1'"
    };
    assert_eq!(w.sql(&[sql]).await, 1);
    detected(&w, true).await;
}

async fn delete_middle(w: World) {
    sealed(&w).await;
    w.unguard().await;
    let n = w
        .sql(&["DELETE FROM events WHERE aggregate_id = 'P7' AND sequence = 2"])
        .await;
    assert_eq!(n, 1);
    detected(&w, true).await;
}

async fn delete_tail(w: World) {
    sealed(&w).await;
    w.unguard().await;
    let n = w
        .sql(&["DELETE FROM events WHERE aggregate_id = 'P7' AND sequence = 3"])
        .await;
    assert_eq!(n, 1);
    detected(&w, false).await;
}

async fn delete_stream(w: World) {
    sealed(&w).await;
    w.unguard().await;
    assert_eq!(
        w.sql(&["DELETE FROM events WHERE aggregate_id = 'C2'"])
            .await,
        1
    );
    detected(&w, false).await;
}

async fn swap_positions(w: World) {
    sealed(&w).await;
    w.unguard().await;
    let (a, b) = (w.position("C1", 1).await, w.position("C2", 1).await);
    let parked = a + 1_000_000;
    let statements = [
        format!("UPDATE events SET position = {parked} WHERE position = {a}"),
        format!("UPDATE events SET position = {a} WHERE position = {b}"),
        format!("UPDATE events SET position = {b} WHERE position = {parked}"),
    ];
    let refs: Vec<&str> = statements.iter().map(String::as_str).collect();
    assert_eq!(w.sql(&refs).await, 3);
    detected(&w, false).await;
}

async fn swap_positions_in_a_stream(w: World) {
    sealed(&w).await;
    w.unguard().await;
    let (a, b) = (w.position("P7", 2).await, w.position("P7", 3).await);
    let parked = a + 1_000_000;
    let statements = [
        format!("UPDATE events SET position = {parked} WHERE position = {a}"),
        format!("UPDATE events SET position = {a} WHERE position = {b}"),
        format!("UPDATE events SET position = {b} WHERE position = {parked}"),
    ];
    let refs: Vec<&str> = statements.iter().map(String::as_str).collect();
    assert_eq!(w.sql(&refs).await, 3);
    // Also without any seal: the stream's events are out of order in the log.
    // (PostgreSQL orders its log by transaction first, so there the swap
    // changes the sealed leaves but not the order.)
    if !w.pg {
        let none = w.cli(&["--lang", "en", "audit", "--key", "/nonexistent/k", "verify"]);
        assert_eq!(status(&none), Some(6), "{}", text(&none));
        assert!(text(&none).contains("order altered"), "{}", text(&none));
    }
    detected(&w, false).await;
}

async fn swap_sequences(w: World) {
    sealed(&w).await;
    w.unguard().await;
    let n = w
        .sql(&[
            "UPDATE events SET sequence = 1000 WHERE aggregate_id = 'P7' AND sequence = 1",
            "UPDATE events SET sequence = 1 WHERE aggregate_id = 'P7' AND sequence = 2",
            "UPDATE events SET sequence = 2 WHERE aggregate_id = 'P7' AND sequence = 1000",
        ])
        .await;
    assert_eq!(n, 3);
    detected(&w, true).await;
}

/// An event inserted into the middle of P7, every later hash recomputed so
/// that the chain verifies: only the seal sees it.
async fn insert(w: World) {
    sealed(&w).await;
    let mut events = w.app.store.history("mutual_aid_plan", "P7").await.unwrap();
    let mut forged = events[1].clone();
    forged.event_id = uuid::Uuid::now_v7();
    forged
        .metadata
        .insert("event_id".into(), forged.event_id.to_string());
    forged.position = 1_000_000;
    events.insert(1, forged);
    rechain(&mut events);
    w.unguard().await;
    w.rewrite_stream("mutual_aid_plan", "P7", &events).await;
    detected(&w, false).await;
}

/// A whole stream forged with a valid chain and put where reading the log
/// does not look — on SQLite at a position ≤ 0, on PostgreSQL under a
/// transaction id not yet issued: the chains verify and the seal's part of
/// the log reads as before, but the store holds rows the log read did not
/// return.
async fn insert_where_the_log_is_not_read(w: World) {
    sealed(&w).await;
    let mut events = w.app.store.history("mutual_aid_claim", "C1").await.unwrap();
    let mut forged = events.remove(0);
    forged.aggregate_id = "C9".into();
    forged.event_id = uuid::Uuid::now_v7();
    forged
        .metadata
        .insert("event_id".into(), forged.event_id.to_string());
    forged.position = if w.pg { 2_000_000 } else { 0 };
    let mut forged = vec![forged];
    rechain(&mut forged);
    w.unguard().await;
    w.rewrite_stream("mutual_aid_claim", "C9", &forged).await;
    if w.pg {
        let future = "UPDATE events SET transaction_id = CAST(CAST(CAST(CAST(pg_current_xact_id() AS text) AS bigint) + 1000000 AS text) AS xid8) WHERE aggregate_id = 'C9'";
        assert_eq!(w.sql(&[future]).await, 1);
    }
    detected(&w, false).await;
    let out = w.verify_with_file();
    assert!(
        text(&out).contains("holds 6 rows where reading the log returns 5"),
        "{}",
        text(&out)
    );
    let out = w.audit(&["verify", "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["unread_rows"], json!({"held": 6, "read": 5}), "{doc}");
    // The export for outside verifiers is the log as read, and says it is
    // not the whole table.
    let export = w.dir.path().join("chain.jsonl").display().to_string();
    let out = w.audit(&["export-chain", "--out", &export]);
    assert_eq!(
        status(&out),
        Some(ExitKind::Tampered as i32),
        "{}",
        text(&out)
    );
    assert!(
        text(&out).contains("holds 6 rows, the exported log 5"),
        "{}",
        text(&out)
    );
    // A new seal is refused: the history does not verify.
    let out = w.audit(&["seal"]);
    assert_eq!(
        status(&out),
        Some(ExitKind::Tampered as i32),
        "{}",
        text(&out)
    );
    if !w.pg {
        // Below zero too.
        w.sql(&["UPDATE events SET position = -7 WHERE aggregate_id = 'C9'"])
            .await;
        let out = w.verify_with_file();
        assert_eq!(
            status(&out),
            Some(ExitKind::Tampered as i32),
            "{}",
            text(&out)
        );
    }
}

/// C1's amount rewritten with its hash recomputed: the chain verifies, the
/// seal does not.
async fn consistent_rewrite(w: World) {
    sealed(&w).await;
    let mut events = w.app.store.history("mutual_aid_claim", "C1").await.unwrap();
    let text_before = events[0].payload.to_string();
    let rewritten = text_before.replace("2000000", "2900000");
    assert_ne!(text_before, rewritten);
    events[0].payload = serde_json::from_str(&rewritten).unwrap();
    rechain(&mut events);
    w.unguard().await;
    w.rewrite_stream("mutual_aid_claim", "C1", &events).await;
    detected(&w, false).await;
    // The Python verifier agrees: the chain recomputes, the seal does not.
    if !w.pg {
        let out = python(&w, &[]);
        assert_eq!(status(&out), Some(1), "{}", text(&out));
        assert!(text(&out).contains("root"), "{}", text(&out));
    }
}

async fn alter_view_row(w: World) {
    sealed(&w).await;
    let out = w.cli(&["projections", "rebuild"]);
    assert_eq!(status(&out), Some(0), "{}", text(&out));
    let n = w
        .sql(&["DELETE FROM view_rows WHERE kind = 'plan_claim' AND key = 'C1'"])
        .await;
    assert_eq!(n, 1);
    let out = w.cli(&["projections", "verify"]);
    assert_eq!(
        status(&out),
        Some(ExitKind::ViewsDiffer as i32),
        "{}",
        text(&out)
    );
    // The log itself is untouched, and the seal still holds.
    let out = w.verify_with_file();
    assert_eq!(status(&out), Some(0), "{}", text(&out));
}

/// A seal stays valid as the log grows; then an attack on its part fails.
async fn seal_then_more_events(w: World) {
    sealed(&w).await;
    run(
        &w.app.claims,
        "C1",
        LIN,
        "2026-03-16",
        json!({"ReviewDocuments": {"complete": true, "note": "齐全"}}),
    )
    .await;
    run(
        &w.app.claims,
        "C2",
        LIN,
        "2026-03-16",
        json!({"ReviewDocuments": {"complete": true, "note": "齐全"}}),
    )
    .await;
    let out = w.verify_with_file();
    assert_eq!(status(&out), Some(0), "{}", text(&out));
    // A second seal, listed with the first.
    let out = w.audit(&["seal"]);
    assert_eq!(status(&out), Some(0), "{}", text(&out));
    assert!(text(&out).contains("events: 7\n"), "{}", text(&out));
    let out = w.audit(&["seals", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2, "{list}");
    // The tail deleted back to the first seal: the chain cannot tell, the
    // second seal can, the first still holds.
    w.unguard().await;
    let n = w
        .sql(&["DELETE FROM events WHERE aggregate_id IN ('C1', 'C2') AND sequence = 2"])
        .await;
    assert_eq!(n, 2);
    assert_eq!(status(&w.cli(&["verify"])), Some(0));
    let out = w.verify_with_file();
    assert_eq!(status(&out), Some(6), "{}", text(&out));
    let report = text(&out);
    assert!(report.contains("✓ seal store #1"), "{report}");
    assert!(report.contains("✗ seal store #2"), "{report}");
}

/// `bangfu serve` seals by itself every N events (`--seal-every-events`),
/// with the installation's key; the seal verifies.
async fn serve_seals_every_n_events(w: World) {
    use std::io::{BufRead, BufReader};
    populate(&w.app).await;
    let key = w.key().display().to_string();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("bangfu"))
        .env_remove("BANGFU_LANG")
        .env_remove("RUST_LOG")
        .args(["--store", &w.url, "serve", "--listen", "127.0.0.1:0"])
        .args(["--seal-key", &key, "--seal-daily-at", "off"])
        .args(["--seal-every-events", "3", "--seal-check-every", "1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn bangfu serve");
    // Started once it prints its address; no seal yet, so it may seal the 5
    // events there at once, and seals again once 3 more are added.
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    assert!(
        lines.any(|l| l.is_ok_and(|l| l.contains("http://127.0.0.1:"))),
        "the server prints its address"
    );
    let review = json!({"ReviewDocuments": {"complete": true, "note": "齐全"}});
    run(&w.app.claims, "C1", LIN, "2026-03-16", review.clone()).await;
    run(&w.app.claims, "C2", LIN, "2026-03-16", review).await;
    run(&w.app.plans, "P7", LIN, "2026-01-13", enrol("U3", 3)).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let seals = loop {
        let out = w.audit(&["seals", "--json"]);
        let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let newest = list.as_array().unwrap().last().map(|s| s["events"].clone());
        if newest == Some(json!(8)) || std::time::Instant::now() > deadline {
            break list;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    child.kill().expect("stop the server");
    child.wait().expect("the server ends");
    let seals = seals.as_array().unwrap();
    assert!(matches!(seals.len(), 1 | 2), "{seals:?}");
    assert_eq!(seals.last().unwrap()["events"], 8, "{seals:?}");
    let out = w.audit(&["verify"]);
    assert_eq!(status(&out), Some(0), "{}", text(&out));
    assert!(text(&out).contains("✓ history intact"), "{}", text(&out));
}

/// A seal altered, or signed with another key, exits 9; a corrupt seal
/// file is bad input (3).
async fn forged_seal(w: World) {
    sealed(&w).await;
    let genuine = std::fs::read_to_string(w.seal_file()).unwrap();
    std::fs::write(w.seal_file(), genuine.replace("events: 5", "events: 4")).unwrap();
    let out = w.verify_with_file();
    assert_eq!(
        status(&out),
        Some(ExitKind::SealForged as i32),
        "{}",
        text(&out)
    );
    assert!(
        text(&out).contains("signature does not verify"),
        "{}",
        text(&out)
    );
    // The same statement signed by someone else's key.
    let signing = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
    let public = hex::encode(signing.verifying_key().to_bytes());
    let body: String = genuine
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("signature:"))
        .map(|l| match l.starts_with("public_key: ") {
            true => format!("public_key: {public}\n"),
            false => format!("{l}\n"),
        })
        .collect();
    let signature = ed25519_dalek::Signer::sign(&signing, body.as_bytes());
    let forged = format!("{body}signature: {}\n", hex::encode(signature.to_bytes()));
    std::fs::write(w.seal_file(), forged).unwrap();
    let out = w.verify_with_file();
    assert_eq!(status(&out), Some(9), "{}", text(&out));
    assert!(
        text(&out).contains("signed by another key"),
        "{}",
        text(&out)
    );
    // Not a seal at all: bad input.
    std::fs::write(w.seal_file(), "bangfu-seal: 1\n").unwrap();
    assert_eq!(status(&w.verify_with_file()), Some(ExitKind::Input as i32));
    std::fs::write(w.seal_file(), genuine).unwrap();
}

/// `bangfu verify` and `bangfu audit verify` on a tampered store keep exit 6
/// when nobody reads their output any more.
async fn exit_status_through_a_closed_pipe(w: World) {
    sealed(&w).await;
    w.unguard().await;
    w.sql(&["DELETE FROM events WHERE aggregate_id = 'P7' AND sequence = 2"])
        .await;
    for args in [
        vec!["verify"],
        vec!["audit", "--key", "/nonexistent/k", "verify"],
    ] {
        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        let err = writer.try_clone().unwrap();
        let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("bangfu"));
        c.env_remove("RUST_LOG").env_remove("BANGFU_LANG");
        let code = c
            .args(["--store", &w.url])
            .args(&args)
            .stdout(writer)
            .stderr(err)
            .status()
            .unwrap()
            .code();
        assert_eq!(code, Some(6), "{args:?}");
    }
}

fn python(w: &World, extra: &[&str]) -> Output {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/src/audit/verify_seal.py");
    let mut c = std::process::Command::new("python3");
    c.arg(script);
    if w.pg {
        let export = w.dir.path().join("chain.jsonl");
        let out = w.audit(&["export-chain", "--out", &export.display().to_string()]);
        assert_eq!(status(&out), Some(0), "{}", text(&out));
        c.arg("--export").arg(export);
    } else {
        c.arg("--sqlite").arg(w.url.trim_start_matches("sqlite://"));
    }
    let public = w.audit(&["key"]);
    let public = String::from_utf8(public.stdout).unwrap();
    c.arg("--seal")
        .arg(w.seal_file())
        .args(["--public-key", public.trim()])
        .args(extra);
    c.output().expect("python3 runs")
}

/// The independent verifier passes an honest store and fails a tampered one.
async fn python_verifier(w: World) {
    sealed(&w).await;
    let out = python(&w, &[]);
    assert_eq!(status(&out), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("OK 5 events, 1 seal(s)"),
        "{}",
        text(&out)
    );
    w.unguard().await;
    let sql = if w.pg {
        "UPDATE events SET payload = CAST(replace(payload::text, '2000000', '2900000') AS json) WHERE aggregate_id = 'C1'"
    } else {
        "UPDATE events SET payload = replace(payload, '2000000', '2900000') WHERE aggregate_id = 'C1'"
    };
    w.sql(&[sql]).await;
    let out = python(&w, &[]);
    assert_eq!(status(&out), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("hash does not recompute"),
        "{}",
        text(&out)
    );
}

/// Every event the demo writes hashes to the same bytes in RFC 8785 and in
/// the form chains were hashed in before (src/store/hash.rs), so stores
/// written before RFC 8785 verify unchanged; the self-test of the Python
/// verifier checks the documented test vectors.
#[tokio::test]
async fn demo_events_are_the_same_in_both_canonical_forms() {
    let w = sqlite_world().await;
    let out = w.cli(&["demo"]);
    assert_eq!(status(&out), Some(0), "{}", text(&out));
    let events = w
        .app
        .store
        .read_all(bangfu::store::LogPosition::START, 10_000)
        .await
        .unwrap();
    assert!(events.len() > 20, "{}", events.len());
    for e in &events {
        for v in [&e.payload, &serde_json::to_value(&e.metadata).unwrap()] {
            assert_eq!(
                bangfu::store::hash::canonical_json(v),
                bangfu::store::hash::legacy_canonical_json(v),
                "{} #{}",
                e.aggregate_id,
                e.sequence
            );
        }
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/src/audit/verify_seal.py");
    let out = std::process::Command::new("python3")
        .args([script, "--self-test"])
        .output()
        .unwrap();
    assert_eq!(status(&out), Some(0), "{}", text(&out));
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg("--sqlite")
        .arg(w.url.trim_start_matches("sqlite://"))
        .output()
        .unwrap();
    assert_eq!(status(&out), Some(0), "{}", text(&out));
}

on_every_store!(
    "audit_seal", 2, sqlite_world;
    edit_payload,
    edit_metadata,
    delete_middle,
    delete_tail,
    delete_stream,
    swap_positions,
    swap_positions_in_a_stream,
    swap_sequences,
    insert,
    insert_where_the_log_is_not_read,
    consistent_rewrite,
    alter_view_row,
    seal_then_more_events,
    serve_seals_every_n_events,
    forged_seal,
    exit_status_through_a_closed_pipe,
    python_verifier,
);
