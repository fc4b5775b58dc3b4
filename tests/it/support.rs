//! Helpers shared by the integration tests: a fresh store per test in its own
//! temporary directory, command metadata, and a raw connection for tests that
//! play the tamperer.

use std::collections::HashMap;
use std::path::PathBuf;

use assert_cmd::Command;
use bangfu::app::engine::{Committed, Engine};
use bangfu::app::{execute_json, CaseAggregate};
use bangfu::store::{AnyStore, ReservationExtractor, SqliteStore};
use chrono::{NaiveDate, TimeZone, Utc};
use domain::command::{Actor, CommandContext, Role};
use domain::i18n::ErrorCode;
use domain::values::Code;
use serde_json::Value;
use sqlx::Connection;
use tempfile::TempDir;
use uuid::Uuid;

/// A store on a file in a temporary directory, deleted when this is dropped.
pub struct TestStore {
    pub store: SqliteStore,
    pub path: PathBuf,
    _dir: TempDir,
}

impl TestStore {
    /// The store as the trait object, with cqrs-es's repository over it.
    pub fn any(&self) -> AnyStore {
        AnyStore::from(self.store.clone())
    }
}

/// Opens a fresh store in a directory that does not exist yet, so every test
/// also exercises `open` creating it.
pub async fn temp_store(reservations: ReservationExtractor) -> TestStore {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("data").join("bangfu.db");
    let store = SqliteStore::open(&path, reservations)
        .await
        .expect("open store");
    TestStore {
        store,
        path,
        _dir: dir,
    }
}

/// The context every test command runs in.
pub fn context() -> CommandContext {
    CommandContext {
        actor: Actor {
            id: Code::parse("zhang.wei").expect("valid code"),
            role: Role::Caseworker,
        },
        recorded_at: Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap(),
        utc_offset_seconds: 0,
        command_id: Uuid::from_u128(1),
        correlation_id: Uuid::from_u128(2),
    }
}

/// The metadata of [`context`], as callers build it.
pub fn metadata() -> HashMap<String, String> {
    context().metadata()
}

/// A second connection to the database file, outside the store, for tests
/// that edit rows the way an attacker with the file would.
pub async fn raw_connection(path: &std::path::Path) -> sqlx::SqliteConnection {
    let url = format!("sqlite://{}", path.display());
    sqlx::SqliteConnection::connect(&url)
        .await
        .expect("raw connection")
}

/// 09:00 UTC on `day` (YYYY-MM-DD): every date in the scenario is a UTC day.
pub fn ctx(who: (&str, Role), day: &str) -> CommandContext {
    let d = NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap();
    CommandContext {
        actor: Actor {
            id: Code::parse(who.0).unwrap(),
            role: who.1,
        },
        recorded_at: Utc.from_utc_datetime(&d.and_hms_opt(9, 0, 0).unwrap()),
        utc_offset_seconds: 0,
        command_id: Uuid::now_v7(),
        correlation_id: Uuid::now_v7(),
    }
}

/// Runs one command; refusal fails the test.
pub async fn run<A>(
    engine: &Engine<A>,
    id: &str,
    who: (&str, Role),
    day: &str,
    body: Value,
) -> Committed<A>
where
    A: CaseAggregate,
    A::Error: ErrorCode,
{
    let bytes = serde_json::to_vec(&body).unwrap();
    execute_json(engine, id, &bytes, ctx(who, day))
        .await
        .unwrap_or_else(|e| panic!("{id} {body}: [{}] {e}", e.code()))
}

/// A database path in a fresh temporary directory.
pub struct Db {
    pub path: PathBuf,
    _dir: TempDir,
}

pub fn db() -> Db {
    let dir = tempfile::tempdir().expect("temp dir");
    Db {
        path: dir.path().join("x.db"),
        _dir: dir,
    }
}

/// `bangfu --db <db>`, with the environment that would change its behaviour cleared.
pub fn bangfu(db: &Db) -> Command {
    let mut cmd = Command::cargo_bin("bangfu").expect("the bangfu binary");
    for var in [
        "BANGFU_DB",
        "BANGFU_LANG",
        "BANGFU_ACTOR",
        "BANGFU_ROLE",
        "BANGFU_TZ",
        "RUST_LOG",
    ] {
        cmd.env_remove(var);
    }
    cmd.arg("--db").arg(&db.path);
    cmd
}

/// `catch_up_to`, repeated while the views fall short of `position` (up to
/// two minutes). On PostgreSQL a commit becomes readable once every older
/// transaction in the cluster has ended; the test cluster is shared by
/// every test (each creating its database meanwhile), so under load that
/// can take longer than the product's own 10 s read-your-writes wait, which
/// then answers with what it has. Returns the position the views reached.
pub async fn patient_catch_up(
    app: &bangfu::app::App,
    position: bangfu::store::LogPosition,
) -> Result<bangfu::store::LogPosition, bangfu::projector::ProjectorError> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let at = app.projector.catch_up_to(position).await?;
        if at >= position || std::time::Instant::now() >= deadline {
            return Ok(at);
        }
    }
}
