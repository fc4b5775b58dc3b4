//! `cargo bench --bench workload -- --scale city`: bangfu's standard
//! workload, measured against a raw baseline in the same run.
//!
//! Parses the command line, starts a throwaway PostgreSQL cluster for the
//! PostgreSQL phases (`--store`), records the machine and versions, runs
//! [`harness::run`], prints every figure (engine next to baseline, as ratios)
//! and writes the whole report as JSON. Method and results: BENCHMARKS.md.

mod harness;
mod spans;
// The tests' throwaway PostgreSQL cluster (initdb/pg_ctl as `postgres`, Unix
// socket, a watchdog that stops it when this process exits), reused here.
#[allow(dead_code)]
#[path = "../../tests/it/pg.rs"]
mod pg;

use std::path::PathBuf;
use std::process::Command as Process;
use std::time::Instant;

use clap::Parser;
use serde_json::json;

/// The allocator the `bangfu` binary uses (src/main.rs), so the engine is
/// measured as it ships.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(about = "bangfu's standard workload benchmark")]
struct Args {
    /// tiny, smoke, city, province or rebuild.
    #[arg(long, default_value = "smoke")]
    scale: String,
    /// Seed of the workload generator.
    #[arg(long, default_value_t = 20_260_301)]
    seed: u64,
    /// Repetitions of the write and load phases (populate runs once).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Override the scale's number of households written by each write phase.
    #[arg(long)]
    measured_households: Option<usize>,
    /// Phases after populate, comma-separated: write, http, userpath, load,
    /// rebuild.
    #[arg(long, value_delimiter = ',', default_value = "write,load")]
    phases: Vec<String>,
    /// Write variants, comma-separated: engine1, engine8, baseline1, baseline8;
    /// and for the HTTP phase (all six unless one is named) inprocess1,
    /// http1, http_idempotent1, inprocess16, http16, http_idempotent16; and
    /// for the userpath phase (all unless one is named) user_{variant}{n},
    /// variant inprocess, raw, http, http_idempotent or framework, n 1, 8
    /// or 16 (e.g. user_inprocess1,user_http_idempotent1).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "engine1,engine8,baseline1,baseline8"
    )]
    variants: Vec<String>,
    /// Where the databases go.
    #[arg(long, default_value = "target/bench-data")]
    dir: PathBuf,
    /// Where the JSON report goes.
    #[arg(long, default_value = "target/bench-results")]
    out: PathBuf,
    /// Keep the populated database.
    #[arg(long)]
    keep: bool,
    /// Override the scale's number of households populated (e.g. `--scale
    /// city --households 5000` for a ~100k-event log).
    #[arg(long)]
    households: Option<usize>,
    /// Internal: rebuild the views of this database copy, print the figures
    /// as one JSON line and exit (the rebuild phase's child process).
    #[arg(long)]
    rebuild_file: Option<PathBuf>,
    /// Stores to measure: sqlite, postgres or both. PostgreSQL runs on a
    /// throwaway cluster this bench starts (or on `DATABASE_URL`'s server);
    /// if none can be had, its phases report "not run" and SQLite's still run.
    #[arg(long, default_value = "both", value_parser = ["sqlite", "postgres", "both"])]
    store: String,
    /// Internal: the PostgreSQL rebuild phase's child process (a database URL).
    #[arg(long)]
    rebuild_url: Option<String>,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let Some(mut scale) = harness::Scale::named(&args.scale) else {
        eprintln!(
            "unknown scale {:?}: tiny, smoke, city, province, rebuild",
            args.scale
        );
        return std::process::ExitCode::from(2);
    };
    if let Some(n) = args.measured_households {
        scale.measured_households = n;
    }
    if let Some(n) = args.households {
        scale.households = n;
    }
    if let Some(path) = &args.rebuild_file {
        return rebuild_child(harness::rebuild_file(path));
    }
    if let Some(url) = &args.rebuild_url {
        return rebuild_child(harness::rebuild_url(url));
    }
    let postgres = if args.store == "sqlite" {
        harness::Postgres::Off
    } else {
        postgres_server()
    };
    let config = harness::Config {
        dir: args.dir.join(&scale.name),
        scale,
        seed: args.seed,
        runs: args.runs.max(1),
        phases: args.phases.clone(),
        variants: args.variants.clone(),
        keep: args.keep,
        rebuild_exe: std::env::current_exe().ok(),
        sqlite: args.store != "postgres",
        postgres,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    // The command profile, only when asked for (BANGFU_BENCH_SPANS=1).
    let profile = spans::Profile::install();
    let machine = machine(&config.dir);
    println!("machine: {machine}");
    let started = Instant::now();
    let report = runtime.block_on(async {
        harness::run(&config, &mut |line| {
            println!("[{:>7.1}s] {line}", started.elapsed().as_secs_f64())
        })
        .await
    });
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            eprintln!("benchmark failed: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    summarise(&report);
    if let Some(profile) = &profile {
        profile.print();
    }
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let file = args.out.join(format!("{}-{stamp}.json", report.scale.name));
    let document = json!({
        "machine": machine,
        "versions": versions(),
        "durability": "SQLite WAL, synchronous=FULL; PostgreSQL fsync=on, synchronous_commit=on, full_page_writes=on (engine and baseline)",
        "postgres_cluster_settings": BENCH_PG_SETTINGS,
        "report": report,
    });
    let written = std::fs::create_dir_all(&args.out).and_then(|()| {
        std::fs::write(
            &file,
            serde_json::to_vec_pretty(&document).unwrap_or_default(),
        )
    });
    match written {
        Ok(()) => println!("report: {}", file.display()),
        Err(e) => eprintln!("cannot write {}: {e}", file.display()),
    }
    std::process::ExitCode::SUCCESS
}

/// A rebuild phase's child (`--rebuild-file` or `--rebuild-url`): one
/// rebuild, its figures on stdout as JSON.
fn rebuild_child(
    rebuild: impl std::future::Future<Output = Result<harness::Rebuild, String>>,
) -> std::process::ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(rebuild) {
        Ok(figures) => {
            println!("{}", serde_json::to_string(&figures).unwrap_or_default());
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("rebuild failed: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Settings of the bench's throwaway PostgreSQL cluster, beyond the fixed
/// durability ones (fsync, synchronous_commit, full_page_writes on): what a
/// server dedicated to bangfu would set. shared_buffers holds the city data
/// set; max_wal_size and checkpoint_timeout keep checkpoints out of the
/// measured slices (the copies' FILE_COPY checkpoints happen between them);
/// track_wal_io_timing makes pg_stat_wal report fsync time.
/// max_connections: the userpath phase holds 15 sides' pools at once
/// (nine engines × 10, the framework's three × 10, the raw baselines' 25).
/// `BANGFU_BENCH_PG_SETTINGS` appends more (for profiling).
const BENCH_PG_SETTINGS: &str = "-c max_connections=300 -c shared_buffers=1GB \
     -c max_wal_size=8GB -c checkpoint_timeout=30min -c track_wal_io_timing=on";

/// The bench's PostgreSQL server: `DATABASE_URL`'s, or a throwaway cluster.
fn postgres_server() -> harness::Postgres {
    let extra = std::env::var("BANGFU_BENCH_PG_SETTINGS").unwrap_or_default();
    match pg::server(&format!("{BENCH_PG_SETTINGS} {extra}")) {
        Ok(server) => harness::Postgres::On(harness::PgServer {
            admin_url: server.admin_url().to_string(),
            url_of: std::sync::Arc::new(|name| server.url_of(name)),
            prefix: server.prefix().to_string(),
        }),
        Err(reason) => {
            eprintln!("PostgreSQL phases will not run: {reason}");
            harness::Postgres::Unavailable(reason)
        }
    }
}

/// min / median / max over the runs, per figure, and the ratios.
fn summarise(report: &harness::Report) {
    let stats = |mut v: Vec<f64>| -> String {
        v.sort_by(|a, b| a.total_cmp(b));
        match v.len() {
            0 => "-".to_string(),
            n => format!("{:.2} / {:.2} / {:.2}", v[0], v[n / 2], v[n - 1]),
        }
    };
    println!(
        "\nfigure (min / median / max over {} runs)",
        report.runs.len()
    );
    let mut keys: Vec<String> = report
        .runs
        .iter()
        .flat_map(|r| r.write.keys().cloned())
        .collect();
    keys.sort();
    keys.dedup();
    for k in &keys {
        let per_s = report
            .runs
            .iter()
            .filter_map(|r| r.write.get(k))
            .map(|t| t.per_second)
            .collect();
        let p50 = report
            .runs
            .iter()
            .filter_map(|r| r.write.get(k))
            .map(|t| t.latency_ms_p50)
            .collect();
        let p99 = report
            .runs
            .iter()
            .filter_map(|r| r.write.get(k))
            .map(|t| t.latency_ms_p99)
            .collect();
        println!(
            "write {k}: commands/s {} | p50 ms {} | p99 ms {}",
            stats(per_s),
            stats(p50),
            stats(p99)
        );
    }
    let mut keys: Vec<String> = report
        .runs
        .iter()
        .flat_map(|r| r.load.keys().cloned())
        .collect();
    keys.sort();
    keys.dedup();
    for k in &keys {
        let per_s = report
            .runs
            .iter()
            .filter_map(|r| r.load.get(k))
            .map(|t| t.per_second)
            .collect();
        let p50 = report
            .runs
            .iter()
            .filter_map(|r| r.load.get(k))
            .map(|t| t.latency_ms_p50)
            .collect();
        println!("load {k}: loads/s {} | p50 ms {}", stats(per_s), stats(p50));
    }
    let mut keys: Vec<String> = report
        .runs
        .iter()
        .flat_map(|r| r.ratios.keys().cloned())
        .collect();
    keys.sort();
    keys.dedup();
    for k in &keys {
        let v = report
            .runs
            .iter()
            .filter_map(|r| r.ratios.get(k))
            .copied()
            .collect();
        println!("ratio {k}: {}", stats(v));
    }
    let rebuilds: Vec<&harness::Rebuild> = report
        .runs
        .iter()
        .filter_map(|r| r.rebuild.as_ref())
        .collect();
    if !rebuilds.is_empty() {
        println!(
            "rebuild ({} events): events/s {} | peak RSS MB {}",
            rebuilds[0].events,
            stats(rebuilds.iter().map(|r| r.events_per_second).collect()),
            stats(
                rebuilds
                    .iter()
                    .map(|r| r.peak_rss_kb as f64 / 1024.0)
                    .collect()
            )
        );
    }
    // The HTTP phase's checks: every request acknowledged, same events as in-process.
    let mut keys: Vec<String> = report
        .runs
        .iter()
        .flat_map(|r| r.http_checks.keys().cloned())
        .collect();
    keys.sort();
    keys.dedup();
    for k in &keys {
        let checks: Vec<&harness::HttpCheck> = report
            .runs
            .iter()
            .filter_map(|r| r.http_checks.get(k))
            .collect();
        println!(
            "http {k}: {} of {} commands acknowledged, {} of {} events as in-process, over {} runs",
            checks.iter().map(|c| c.acknowledged).sum::<usize>(),
            checks.iter().map(|c| c.commands).sum::<usize>(),
            checks.iter().map(|c| c.events_written).sum::<u64>(),
            checks
                .iter()
                .map(|c| c.inprocess_events_written)
                .sum::<u64>(),
            checks.len()
        );
    }
    let pg_rebuilds: Vec<&harness::Rebuild> = report
        .runs
        .iter()
        .filter_map(|r| r.postgres_rebuild.as_ref())
        .collect();
    if !pg_rebuilds.is_empty() {
        let rates: Vec<f64> = pg_rebuilds.iter().map(|r| r.events_per_second).collect();
        println!(
            "postgres rebuild ({} events): events/s {} | peak RSS MB {} | ÷ target 100k/s: {}",
            pg_rebuilds[0].events,
            stats(rates.clone()),
            stats(
                pg_rebuilds
                    .iter()
                    .map(|r| r.peak_rss_kb as f64 / 1024.0)
                    .collect()
            ),
            stats(rates.iter().map(|r| r / 100_000.0).collect())
        );
    }
    // The userpath phase's file-cache use: min / median / max hit rate.
    let mut keys: Vec<String> = report
        .runs
        .iter()
        .flat_map(|r| r.userpath_cache.keys().cloned())
        .collect();
    keys.sort();
    keys.dedup();
    for k in &keys {
        let rates = report
            .runs
            .iter()
            .filter_map(|r| r.userpath_cache.get(k))
            .map(|c| c.hit_rate)
            .collect();
        println!("cache {k}: file-cache hit rate {}", stats(rates));
    }
    for (phase, why) in &report.pending {
        println!("not run: {phase} — {why}");
    }
}

fn command_output(program: &str, args: &[&str]) -> String {
    Process::new(program)
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|e| format!("unavailable: {e}"))
}

fn machine(dir: &std::path::Path) -> serde_json::Value {
    let _ = std::fs::create_dir_all(dir);
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let field = |text: &str, key: &str| {
        text.lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split(':').nth(1))
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    json!({
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "cpu": field(&cpuinfo, "model name"),
        "memory": field(&meminfo, "MemTotal"),
        "disk": command_output("df", &["-h", &dir.display().to_string()]),
        "fsync_ms": fsync_ms(dir),
        "kernel": command_output("uname", &["-sr"]),
        "load_average": std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim(),
    })
}

/// Mean time of a 4 KiB write + fsync in `dir`: the floor under every durable commit.
fn fsync_ms(dir: &std::path::Path) -> f64 {
    use std::io::Write;
    let path = dir.join("fsync-probe");
    let Ok(mut file) = std::fs::File::create(&path) else {
        return f64::NAN;
    };
    let started = Instant::now();
    let n = 100;
    for _ in 0..n {
        if file
            .write_all(&[0u8; 4096])
            .and_then(|()| file.sync_data())
            .is_err()
        {
            return f64::NAN;
        }
    }
    let ms = started.elapsed().as_secs_f64() * 1e3 / f64::from(n);
    let _ = std::fs::remove_file(&path);
    ms
}

fn versions() -> serde_json::Value {
    let lock = std::fs::read_to_string("Cargo.lock").unwrap_or_default();
    let version_of = |name: &str| {
        let marker = format!("name = \"{name}\"\nversion = \"");
        lock.find(&marker)
            .map(|i| {
                let rest = &lock[i + marker.len()..];
                rest[..rest.find('"').unwrap_or(0)].to_string()
            })
            .unwrap_or_default()
    };
    json!({
        "bangfu": env!("CARGO_PKG_VERSION"),
        "rustc": command_output("rustc", &["--version"]),
        "git": command_output("git", &["rev-parse", "--short", "HEAD"]),
        "sqlx": version_of("sqlx"),
        "libsqlite3-sys": version_of("libsqlite3-sys"),
        "cqrs-es": version_of("cqrs-es"),
        "tokio": version_of("tokio"),
    })
}
