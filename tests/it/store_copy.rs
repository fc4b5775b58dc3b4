//! `bangfu store copy`: a history copied SQLite → PostgreSQL → SQLite comes
//! back byte-identical; an interrupted copy resumes to the same end; a target
//! that is not an earlier copy is refused; verification catches a difference.

use assert_cmd::Command;
use bangfu::store::copy::{copy, verify, CopyError, CopyOptions, CopyOutcome};
use bangfu::store::{AnyStore, LogPosition};
use sqlx::{Connection, Row};

use crate::backends::{add, CounterCommand, Fixture};
use crate::support::metadata;

/// Every portable column of every event, in log order, as stored text.
type Rows = Vec<Vec<Option<String>>>;

async fn sqlite_rows(url: &str) -> Rows {
    let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
    let rows = sqlx::query(
        "SELECT event_id, aggregate_type, aggregate_id, CAST(sequence AS TEXT), event_type,
                event_version, payload, metadata, recorded_at, prev_hash, hash
           FROM events ORDER BY position",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    rows.iter()
        .map(|r| (0..11).map(|i| r.get::<Option<String>, _>(i)).collect())
        .collect()
}

async fn postgres_rows(url: &str) -> Rows {
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    let rows = sqlx::query(
        "SELECT event_id::text, aggregate_type, aggregate_id, sequence::text, event_type,
                event_version, payload::text, metadata::text, recorded_at, prev_hash, hash
           FROM events ORDER BY transaction_id, position",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    rows.iter()
        .map(|r| (0..11).map(|i| r.get::<Option<String>, _>(i)).collect())
        .collect()
}

async fn reservations_sqlite(url: &str) -> Vec<(String, String, String)> {
    let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
    sqlx::query_as("SELECT scope, key, aggregate_id FROM reservations ORDER BY scope, key")
        .fetch_all(&mut conn)
        .await
        .unwrap()
}

/// A history with several streams, a snapshot, reservations taken and
/// released, and text that needs escaping.
async fn some_history(f: &Fixture) {
    let engine = f.engine(Some(3));
    for i in 0..4 {
        add(&engine, &format!("s{i}"), i + 1).await;
    }
    for key in ["困难职工-甲", "quote\"and\\newline\n", "k3"] {
        engine
            .execute(
                "holder",
                CounterCommand::Reserve { key: key.into() },
                metadata(),
            )
            .await
            .unwrap();
    }
    engine
        .execute(
            "holder",
            CounterCommand::Release { key: "k3".into() },
            metadata(),
        )
        .await
        .unwrap();
    add(&engine, "s0", 5).await;
}

async fn copy_all(from: &AnyStore, to: &AnyStore, batch_size: usize) -> CopyOutcome {
    let options = CopyOptions {
        batch_size,
        stop_after: None,
    };
    copy(from, to, options, &mut |_, _| {}).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_to_postgres_to_sqlite_is_byte_identical() {
    let Some(pg) =
        Fixture::postgres("store_copy::sqlite_to_postgres_to_sqlite_is_byte_identical").await
    else {
        return;
    };
    let source = Fixture::sqlite().await;
    some_history(&source).await;
    let original = sqlite_rows(&source.url).await;
    assert_eq!(original.len(), 1 + 2 + 3 + 4 + 3 + 1 + 5);

    let CopyOutcome::Complete(report) = copy_all(&source.store, &pg.store, 4).await else {
        panic!("not interrupted");
    };
    assert_eq!(
        (report.total, report.copied, report.resumed_after),
        (19, 19, 0)
    );
    assert_eq!(report.streams, 5);
    assert_eq!(postgres_rows(&pg.url).await, original, "in PostgreSQL");

    let back = Fixture::sqlite().await;
    copy_all(&pg.store, &back.store, 5).await;
    assert_eq!(sqlite_rows(&back.url).await, original, "back in SQLite");
    assert_eq!(
        reservations_sqlite(&back.url).await,
        reservations_sqlite(&source.url).await,
        "reservations rebuilt by replaying the events"
    );
    let held: Vec<_> = reservations_sqlite(&back.url)
        .await
        .into_iter()
        .map(|(_, key, _)| key)
        .collect();
    assert_eq!(held.len(), 2);
    assert_eq!(
        pg.store
            .reservation_holder(
                domain::reservation::Scope::OpenFileByResident,
                "困难职工-甲"
            )
            .await
            .unwrap()
            .as_deref(),
        Some("holder")
    );

    // The copies work as stores: commands continue the copied chains.
    let engine = back.engine(None);
    add(&engine, "s0", 1).await;
    assert_eq!(engine.load("s0").await.unwrap().aggregate.count, 1 + 5 + 1);
    assert!(back.store.verify_chains().await.unwrap().is_ok());
    add(&pg.engine(None), "s1", 1).await;
    assert!(pg.store.verify_chains().await.unwrap().is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_copy_resumes_to_the_same_end() {
    let Some(pg) =
        Fixture::postgres("store_copy::an_interrupted_copy_resumes_to_the_same_end").await
    else {
        return;
    };
    let source = Fixture::sqlite().await;
    some_history(&source).await;
    let original = sqlite_rows(&source.url).await;

    let interrupted = CopyOptions {
        batch_size: 3,
        stop_after: Some(7),
    };
    let mut seen = Vec::new();
    let first = copy(&source.store, &pg.store, interrupted, &mut |done, total| {
        seen.push((done, total))
    })
    .await
    .unwrap();
    assert_eq!(first, CopyOutcome::Interrupted { copied: 7 });
    assert_eq!(seen, [(0, 19), (3, 19), (6, 19), (7, 19)]);
    assert_eq!(pg.store.count_events().await.unwrap(), 7);
    assert_eq!(postgres_rows(&pg.url).await, original[..7]);

    // A second interruption, then the rest.
    let second = copy(&source.store, &pg.store, interrupted, &mut |_, _| {})
        .await
        .unwrap();
    assert_eq!(second, CopyOutcome::Interrupted { copied: 14 });
    let CopyOutcome::Complete(report) = copy_all(&source.store, &pg.store, 3).await else {
        panic!("not interrupted");
    };
    assert_eq!(
        (report.resumed_after, report.copied, report.total),
        (14, 5, 19)
    );
    assert_eq!(postgres_rows(&pg.url).await, original);

    // Running it again finds nothing to do and verifies again.
    let CopyOutcome::Complete(again) = copy_all(&source.store, &pg.store, 3).await else {
        panic!("not interrupted");
    };
    assert_eq!((again.resumed_after, again.copied), (19, 0));
}

#[tokio::test]
async fn a_target_with_other_history_is_refused_and_differences_are_caught() {
    let source = Fixture::sqlite().await;
    some_history(&source).await;

    // A target with events of its own is not an earlier copy.
    let other = Fixture::sqlite().await;
    add(&other.engine(None), "elsewhere", 2).await;
    let refused = copy(
        &source.store,
        &other.store,
        CopyOptions::default(),
        &mut |_, _| {},
    )
    .await;
    assert!(
        matches!(refused, Err(CopyError::NotAPrefix(_))),
        "{refused:?}"
    );
    assert_eq!(
        other.store.count_events().await.unwrap(),
        2,
        "nothing written"
    );

    // A finished copy verifies; an event added to the source afterwards is
    // a difference…
    let target = Fixture::sqlite().await;
    copy_all(&source.store, &target.store, 100).await;
    assert_eq!(verify(&source.store, &target.store).await.unwrap(), 5);
    add(&source.engine(None), "s3", 1).await;
    match verify(&source.store, &target.store).await {
        Err(CopyError::Mismatch(problems)) => {
            assert_eq!(problems.len(), 2, "{problems:?}");
            assert!(problems[0].contains("20 events, the target 19"));
            assert!(problems[1].starts_with("counter s3: source head #5"));
        }
        other => panic!("expected a mismatch, got {other:?}"),
    }
    // …and resuming copies just that event.
    let CopyOutcome::Complete(report) = copy_all(&source.store, &target.store, 100).await else {
        panic!("not interrupted");
    };
    assert_eq!((report.resumed_after, report.copied), (19, 1));

    // A target altered after the copy fails on its chains.
    target.tamper("s2", 1, r#"{"Incremented":{"by":9}}"#).await;
    assert!(matches!(
        verify(&source.store, &target.store).await,
        Err(CopyError::Chains(_))
    ));
}

/// Resuming checks the whole prefix, not "the target's last event": a target
/// holding as many events as the source's first eleven, ending in the source's
/// eleventh, but otherwise another history, is refused before anything is
/// written.
#[tokio::test]
async fn a_target_that_only_ends_like_the_source_is_refused_before_writing() {
    let source = Fixture::sqlite().await;
    some_history(&source).await;
    let eleventh = source.store.read_all(LogPosition::at(10), 1).await.unwrap();
    assert_eq!(
        (eleventh[0].aggregate_id.as_str(), eleventh[0].sequence),
        ("holder", 1),
        "a stream of its own, so it can follow another history"
    );
    let target = Fixture::sqlite().await;
    add(&target.engine(None), "elsewhere", 10).await;
    target.store.import(&eleventh).await.unwrap();
    assert_eq!(
        target.store.last_event().await.unwrap().map(|e| e.event_id),
        Some(eleventh[0].event_id)
    );

    // One event a batch: a copy that got past the check would write the
    // rest of `holder` before `s0 #2` failed to follow.
    let options = CopyOptions {
        batch_size: 1,
        stop_after: None,
    };
    match copy(&source.store, &target.store, options, &mut |_, _| {}).await {
        Err(CopyError::NotAPrefix(why)) => {
            assert!(
                why.contains("counter elsewhere: only in the target"),
                "{why}"
            );
            assert!(why.contains("counter s0: missing from the target"), "{why}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(
        target.store.count_events().await.unwrap(),
        11,
        "nothing written"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_copies_to_postgres_and_exits_non_zero_on_a_broken_target() {
    let Some(pg) = Fixture::postgres("store_copy::the_cli_copies_to_postgres").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("city.db");
    // The real domain's events — every aggregate, reservations, snapshots —
    // from the demo scenario.
    Command::cargo_bin("bangfu")
        .unwrap()
        .args(["--lang", "en", "--db"])
        .arg(&db)
        .arg("demo")
        .assert()
        .success();
    let source_url = format!("sqlite://{}", db.display());
    let source = AnyStore::open(&source_url, domain::reservations_of)
        .await
        .unwrap();
    let events = source.count_events().await.unwrap();
    source.close().await;

    let output = Command::cargo_bin("bangfu")
        .unwrap()
        .args([
            "--lang",
            "en",
            "store",
            "copy",
            "--from",
            &source_url,
            "--to",
            &pg.url,
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(&format!("copied {events} events")),
        "{stdout}"
    );
    assert!(events > 50, "the demo wrote {events} events");
    assert_eq!(pg.store.count_events().await.unwrap(), events);
    let pg_rows = postgres_rows(&pg.url).await;
    assert_eq!(pg_rows, sqlite_rows(&source_url).await);

    // The copy is a working store for every other command.
    Command::cargo_bin("bangfu")
        .unwrap()
        .args(["--lang", "en", "--store", &pg.url, "verify"])
        .assert()
        .success();

    // Tamper with the target: the copy's verification fails, exit 6.
    {
        let id: String = sqlx::query_scalar("SELECT aggregate_id FROM events LIMIT 1")
            .fetch_one(pg.store.as_postgres().unwrap().pool())
            .await
            .unwrap();
        assert!(pg.tamper(&id, 1, r#"{"altered":true}"#).await);
        Command::cargo_bin("bangfu")
            .unwrap()
            .args([
                "--lang",
                "en",
                "store",
                "copy",
                "--from",
                &source_url,
                "--to",
                &pg.url,
            ])
            .assert()
            .code(6);
    }
    // A source that does not exist is not created and copied as empty.
    let missing = dir.path().join("typo.db");
    Command::cargo_bin("bangfu")
        .unwrap()
        .args(["store", "copy", "--from"])
        .arg(format!("sqlite://{}", missing.display()))
        .args(["--to", &pg.url])
        .assert()
        .code(1);
    assert!(!missing.exists());
    // A URL bangfu does not know is a clear failure.
    Command::cargo_bin("bangfu")
        .unwrap()
        .args(["store", "copy", "--from", "mysql://x/y", "--to", &pg.url])
        .assert()
        .code(1);
}
