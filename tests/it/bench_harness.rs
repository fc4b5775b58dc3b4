//! Runs the benchmark harness (benches/workload/harness.rs) at its `tiny`
//! scale through the same code path as `cargo bench --bench workload`, so the
//! workload stays valid (every generated command is accepted by the domain)
//! and the harness keeps compiling as the engine changes. No timings are
//! asserted: only that every phase ran and wrote what it should — on SQLite
//! and, through the tests' PostgreSQL harness (tests/it/pg.rs), on PostgreSQL.

#[path = "../../benches/workload/harness.rs"]
mod harness;

use harness::{
    Config, Generator, PgServer, Postgres, Report, RunResult, Scale, COMMANDS_PER_HOUSEHOLD,
    HTTP_CLIENTS, HTTP_VARIANTS, MANY_CLIENTS, USER_CLIENTS, USER_STEPS, USER_VARIANTS,
};

/// The userpath phase's checks on one store (`prefix`: "" or "postgres."):
/// every side at every client count sent every household's ten commands;
/// the HTTP sides and the framework wrote the same events as in-process (the
/// harness compares them and fails otherwise); the engines counted their
/// cache lookups (each new file is a miss); the targets' ratios exist.
fn check_userpath(report: &Report, run: &RunResult, prefix: &str) {
    let households = report.scale.measured_households;
    let commands = households * USER_STEPS;
    for clients in USER_CLIENTS {
        for variant in USER_VARIANTS {
            let key = format!("{prefix}userpath.{variant}.clients_{clients}");
            assert_eq!(run.write[&key].commands, commands, "{key}");
            assert_eq!(run.write[&key].clients, clients, "{key}");
            if matches!(variant, "http" | "http_idempotent" | "framework") {
                let check = &run.http_checks[&key];
                assert_eq!(check.commands, commands, "{key}");
                assert_eq!(check.events_written, commands as u64, "{key}");
                assert_eq!(
                    check.events_written, check.inprocess_events_written,
                    "{key}"
                );
                // The framework's store has its own schema: counts only.
                assert_eq!(
                    check.same_events_as_inprocess,
                    variant != "framework",
                    "{key}"
                );
            }
            if matches!(variant, "inprocess" | "http" | "http_idempotent") {
                let cache = &run.userpath_cache[&key];
                assert!(cache.misses >= households as u64, "{key}: {cache:?}");
                assert!(
                    cache.hits + cache.misses >= commands as u64,
                    "{key}: {cache:?}"
                );
            }
        }
        for ratio in [
            "http_idempotent_over_framework.rate",
            "http_idempotent_over_raw.rate",
            "http_idempotent_over_http.rate",
        ] {
            let key = format!("{prefix}userpath.{ratio}.clients_{clients}");
            assert!(run.ratios[&key] > 0.0, "{key}");
        }
    }
    let key = format!("{prefix}userpath.http_idempotent_8_over_http_idempotent_1.rate");
    assert!(run.ratios[&key] > 0.0, "{key}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_workload_runs_end_to_end_at_the_tiny_scale() {
    let dir = tempfile::tempdir().expect("temp dir");
    let scale = Scale::named("tiny").expect("tiny scale");
    let config = Config {
        scale: scale.clone(),
        seed: 7,
        runs: 1,
        dir: dir.path().join("bench"),
        phases: vec![
            "write".into(),
            "http".into(),
            "userpath".into(),
            "load".into(),
            "rebuild".into(),
        ],
        variants: ["engine1", "engine8", "baseline1", "baseline8"]
            .map(String::from)
            .to_vec(),
        keep: false,
        rebuild_exe: None,
        sqlite: true,
        postgres: match crate::pg::server_or_skip("bench_harness (PostgreSQL phases)") {
            Some(server) => Postgres::On(PgServer {
                admin_url: server.admin_url().to_string(),
                url_of: std::sync::Arc::new(|name| server.url_of(name)),
                prefix: server.prefix().to_string(),
            }),
            None => Postgres::Unavailable("no PostgreSQL for the tests".into()),
        },
    };
    let mut lines = Vec::new();
    let report = harness::run(&config, &mut |line| lines.push(line))
        .await
        .expect("the workload runs");

    let populate = |k: &str| report.populate[k].commands;
    assert_eq!(
        populate("households"),
        scale.households * COMMANDS_PER_HOUSEHOLD
    );
    // Open the period, enrol each unit, open the fresh plan.
    assert_eq!(populate("plan_enrolment"), scale.plan_units + 2);
    assert_eq!(populate("claims"), scale.claims * 4);
    assert_eq!(populate("campaign"), scale.donations + 1);
    assert_eq!(report.populate["households"].clients, MANY_CLIENTS);
    assert!(
        report.events_after_populate
            >= report
                .populate
                .iter()
                .filter(|(k, _)| !k.starts_with("postgres."))
                .map(|(_, t)| t.commands as u64)
                .sum::<u64>()
    );

    let run = &report.runs[0];
    let measured = scale.measured_households * COMMANDS_PER_HOUSEHOLD;
    for key in [
        "engine.clients_1",
        "engine.clients_8",
        "baseline.clients_1",
        "baseline.clients_8",
    ] {
        assert_eq!(run.write[key].commands, measured, "{key}");
    }
    // Group commit ran: the engine counted its transactions.
    let batches = run.write["engine.clients_8"].batches.expect("batches");
    assert!((1..=measured as u64).contains(&batches));
    for key in [
        "engine_over_baseline.clients_1",
        "engine_over_baseline.clients_8",
        "engine_8_over_engine_1",
        "plan_big_over_fresh.cached_shared",
    ] {
        assert!(run.ratios[key] > 0.0, "{key}");
    }
    for key in [
        "file.store",
        "file.cached",
        "plan.big.snapshot",
        "plan.fresh.cached_shared",
    ] {
        assert!(run.load[key].loads > 0, "{key}");
    }
    // The HTTP phase: every variant at both client counts wrote every
    // command; each request was acknowledged (200, the expected aggregate and
    // versions), and the service's store gained the same events as the
    // in-process one (the harness compares the streams and fails otherwise).
    for clients in HTTP_CLIENTS {
        for variant in HTTP_VARIANTS {
            let key = format!("{variant}.clients_{clients}");
            assert_eq!(run.write[&key].commands, measured, "{key}");
            assert_eq!(run.write[&key].clients, clients, "{key}");
            if variant == "inprocess" {
                continue;
            }
            let check = &run.http_checks[&key];
            assert_eq!(check.commands, measured, "{key}");
            assert_eq!(check.acknowledged, measured, "{key}");
            assert!(check.events_written >= measured as u64, "{key}");
            assert_eq!(
                check.events_written, check.inprocess_events_written,
                "{key}"
            );
            assert!(check.same_events_as_inprocess, "{key}");
            for figure in ["p50", "rate"] {
                let ratio = format!("{variant}_over_inprocess.{figure}.clients_{clients}");
                assert!(run.ratios[&ratio] > 0.0, "{ratio}");
            }
        }
    }
    assert!(lines
        .iter()
        .any(|l| l.contains("http_idempotent.clients_16")));
    check_userpath(&report, run, "");
    // The rebuild read every event of the populated log.
    let rebuild = run.rebuild.as_ref().expect("the rebuild ran");
    assert_eq!(rebuild.events, report.events_after_populate);
    assert!(rebuild.peak_rss_kb > 0);
    assert!(lines.iter().any(|l| l.contains("baseline 8 client(s)")));
    // The databases were removed.
    assert!(!dir.path().join("bench").join("populated").exists());

    // ---- PostgreSQL: the same phases on PgStore, if there is a server.
    let Postgres::On(server) = &config.postgres else {
        assert!(report
            .pending
            .iter()
            .any(|(p, why)| p == "postgres.*" && why.starts_with("not run")));
        return;
    };
    assert!(
        !report
            .pending
            .iter()
            .any(|(p, _)| p.starts_with("postgres")),
        "{:?}",
        report.pending
    );
    let pg = report
        .postgres
        .as_ref()
        .expect("the PostgreSQL populate ran");
    // The same workload wrote the same events on both stores.
    assert_eq!(pg.events_after_populate, report.events_after_populate);
    assert_eq!(pg.settings["fsync"], "on");
    assert_eq!(pg.settings["synchronous_commit"], "on");
    for (key, commands) in [
        (
            "postgres.households",
            scale.households * COMMANDS_PER_HOUSEHOLD,
        ),
        ("postgres.plan_enrolment", scale.plan_units + 2),
        ("postgres.claims", scale.claims * 4),
        ("postgres.campaign", scale.donations + 1),
    ] {
        assert_eq!(report.populate[key].commands, commands, "{key}");
    }
    // Every variant wrote the measured households (the harness also checked
    // that each baseline copy holds as many events as its engine's copy).
    for key in [
        "postgres.engine.clients_1",
        "postgres.engine.clients_8",
        "postgres.baseline.clients_1",
        "postgres.baseline.clients_8",
    ] {
        assert_eq!(run.write[key].commands, measured, "{key}");
        assert_eq!(
            run.write[key].clients,
            if key.ends_with('8') { 8 } else { 1 }
        );
    }
    for key in [
        "postgres.engine_over_baseline.clients_1",
        "postgres.engine_over_baseline.clients_8",
        "postgres.engine_8_over_engine_1",
        "postgres.plan_big_over_fresh.cached_shared",
    ] {
        assert!(run.ratios[key] > 0.0, "{key}");
    }
    for key in [
        "postgres.file.store",
        "postgres.file.cached",
        "postgres.plan.big.snapshot",
        "postgres.plan.fresh.cached_shared",
    ] {
        assert!(run.load[key].loads > 0, "{key}");
    }
    let rebuild = run
        .postgres_rebuild
        .as_ref()
        .expect("the PostgreSQL rebuild ran");
    assert_eq!(rebuild.events, pg.events_after_populate);
    assert!(lines
        .iter()
        .any(|l| l.contains("postgres baseline 8 client(s)")));
    // The HTTP phase on PostgreSQL: the same checks as on SQLite.
    for clients in HTTP_CLIENTS {
        for variant in HTTP_VARIANTS {
            let key = format!("postgres.{variant}.clients_{clients}");
            assert_eq!(run.write[&key].commands, measured, "{key}");
            if variant == "inprocess" {
                continue;
            }
            let check = &run.http_checks[&key];
            assert_eq!(check.acknowledged, measured, "{key}");
            assert_eq!(
                check.events_written, check.inprocess_events_written,
                "{key}"
            );
            assert!(check.same_events_as_inprocess, "{key}");
            let ratio = format!("postgres.{variant}_over_inprocess.p50.clients_{clients}");
            assert!(run.ratios[&ratio] > 0.0, "{ratio}");
        }
    }
    check_userpath(&report, run, "postgres.");
    // No database of the bench is left on the server.
    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(server.admin_url.as_str())
        .await
        .expect("connect to the test server");
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pg_database WHERE datname LIKE $1")
        .bind(format!("{}\\_bench\\_%", server.prefix))
        .fetch_one(&mut admin)
        .await
        .expect("count databases");
    assert_eq!(left, 0, "the bench's databases were dropped");
}

#[test]
fn the_generator_is_deterministic_from_its_seed() {
    let json = |g: &Generator, h| {
        g.household(h)
            .into_iter()
            .map(|c| match c {
                harness::Command::File(id, cmd) => {
                    format!("{id} {}", serde_json::to_string(&cmd).unwrap())
                }
                _ => unreachable!("households are hardship files"),
            })
            .collect::<Vec<_>>()
    };
    let one = Generator::new(1, "t");
    assert_eq!(json(&one, 3), json(&Generator::new(1, "t"), 3));
    assert_ne!(json(&one, 3), json(&Generator::new(2, "t"), 3));
    assert_ne!(json(&one, 3), json(&one, 4));
    let commands = json(&one, 3);
    assert_eq!(commands.len(), COMMANDS_PER_HOUSEHOLD);
    // Five visits with about 200 Chinese characters of findings each.
    let visits: Vec<_> = one
        .household(3)
        .into_iter()
        .filter_map(|c| match c {
            harness::Command::File(_, cmd) => match cmd.body {
                domain::hardship::HardshipFileCommand::LogVisit { findings, .. } => {
                    Some(findings.as_str().chars().count())
                }
                _ => None,
            },
            _ => None,
        })
        .collect();
    assert_eq!(visits.len(), 5);
    assert!(
        visits.iter().all(|&n| (200..300).contains(&n)),
        "{visits:?}"
    );
}
