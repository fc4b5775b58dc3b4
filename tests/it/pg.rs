//! PostgreSQL for the integration tests: a fresh database per test, on the
//! server `DATABASE_URL` names or else on a throwaway cluster this test binary
//! starts once from the installed binaries.
//!
//! The throwaway cluster: `initdb` into a temporary directory (owned by the
//! `postgres` user when the tests run as root, since PostgreSQL refuses to run
//! as root), listening only on a Unix socket inside that directory (no port to
//! collide on), with fsync on as in production. It is started by a small
//! watchdog shell whose stdin is a pipe this process holds and never writes:
//! when this process exits — normally, by panic or by a kill — the kernel
//! closes the pipe, the watchdog's `cat` sees end-of-file, and the watchdog
//! stops the server and removes the directory. No test has to remember to
//! clean up, and no server outlives the tests.
//!
//! Each test gets its own database, copied from a template that already has
//! the migrations applied, so tests run in parallel without seeing each other.
//!
//! No PostgreSQL to be had: with `CI` set the tests fail and say how to
//! install it; otherwise each PostgreSQL test prints a loud SKIPPED banner and
//! returns.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use sqlx::Connection;

/// A PostgreSQL server the tests (and the workload benchmark) may create
/// databases on.
pub struct Server {
    /// URL of a database to run CREATE DATABASE from.
    admin_url: String,
    /// Makes the URL of database `name`.
    url_of: Box<dyn Fn(&str) -> String + Send + Sync>,
    /// Names of databases made here start with this (unique per test process).
    prefix: String,
}

/// The watchdog of the throwaway cluster. Held until the process exits: its
/// stdin pipe is what keeps the server alive.
static WATCHDOG: Mutex<Option<Child>> = Mutex::new(None);
static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();
static DATABASES: AtomicU64 = AtomicU64::new(0);

const INSTALL_HINT: &str = "install PostgreSQL (Debian/Ubuntu: `apt-get install -y postgresql`) \
                            or set DATABASE_URL to a server where this user may CREATE DATABASE";

/// Settings of the tests' throwaway cluster (beyond the fixed durability
/// ones in [`start_cluster`]): small, many tests' databases at once.
pub const TEST_SETTINGS: &str = "-c max_connections=200 -c shared_buffers=32MB";

impl Server {
    /// URL of a database to run CREATE/DROP DATABASE from.
    pub fn admin_url(&self) -> &str {
        &self.admin_url
    }

    /// The URL of database `name` on this server.
    pub fn url_of(&self, name: &str) -> String {
        (self.url_of)(name)
    }

    /// Databases made by this process start with this (unique per process).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }
}

/// The server of this process: `DATABASE_URL`'s, or a throwaway cluster
/// started on first use with `settings` (later calls get the same server,
/// whatever they pass). `Err` says why there is none.
pub fn server(settings: &str) -> Result<&'static Server, String> {
    let settings = settings.to_string();
    // Started on a plain thread: the setup blocks, and runs its own runtime.
    SERVER
        .get_or_init(|| {
            std::thread::spawn(move || start_server(&settings))
                .join()
                .unwrap_or_else(|_| Err("the PostgreSQL setup panicked".into()))
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// The tests' server; `None` (after a loud banner naming `test`) if no
/// PostgreSQL is available and `CI` is not set — with `CI` set, a panic.
pub fn server_or_skip(test: &str) -> Option<&'static Server> {
    match server(TEST_SETTINGS) {
        Ok(server) => Some(server),
        Err(reason) => {
            if std::env::var_os("CI").is_some() {
                panic!(
                    "PostgreSQL is required in CI but cannot be started: {reason}\n{INSTALL_HINT}"
                );
            }
            loud(&format!(
                "\n==================== SKIPPED: {test} ====================\n\
                 PostgreSQL tests did not run: {reason}\n{INSTALL_HINT}\n\
                 ==========================================================\n"
            ));
            None
        }
    }
}

/// The URL of a new, migrated, empty database; `None` (after a loud banner)
/// if no PostgreSQL is available and `CI` is not set.
pub async fn fresh_database(test: &str) -> Option<String> {
    let server = server_or_skip(test)?;
    let name = format!(
        "{}_{}",
        server.prefix,
        DATABASES.fetch_add(1, Ordering::Relaxed)
    );
    let mut admin = sqlx::PgConnection::connect(&server.admin_url)
        .await
        .expect("connect to the PostgreSQL test server");
    sqlx::query(&format!(
        "CREATE DATABASE \"{name}\" TEMPLATE \"{}_template\"",
        server.prefix
    ))
    .execute(&mut admin)
    .await
    .expect("create a test database");
    admin.close().await.ok();
    Some((server.url_of)(&name))
}

/// Writes to the real stderr. `eprintln!` inside a test is captured by the
/// test harness and shown only if the test fails; a skip must be seen.
pub fn loud(message: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{message}");
}

/// Finds or starts a server and prepares the template database.
fn start_server(settings: &str) -> Result<Server, String> {
    let prefix = format!("bangfu_test_{}", std::process::id());
    let server = match std::env::var("DATABASE_URL") {
        Ok(url) => given_server(&url, prefix)?,
        Err(_) => throwaway_cluster(prefix, settings)?,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let template = format!("{}_template", server.prefix);
        let mut admin = sqlx::PgConnection::connect(&server.admin_url)
            .await
            .map_err(|e| format!("cannot connect to {}: {e}", server.admin_url))?;
        sqlx::query(&format!("CREATE DATABASE \"{template}\""))
            .execute(&mut admin)
            .await
            .map_err(|e| format!("cannot create databases: {e}"))?;
        admin.close().await.ok();
        let store = bangfu::store::PgStore::open(
            &(server.url_of)(&template),
            bangfu::store::no_reservations,
        )
        .await
        .map_err(|e| format!("cannot migrate the template database: {e}"))?;
        bangfu::store::EventStore::close(&store).await;
        Ok::<_, String>(())
    })?;
    Ok(server)
}

/// A server given by `DATABASE_URL`: databases are made beside the one it names.
fn given_server(url: &str, prefix: String) -> Result<Server, String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("DATABASE_URL: {e}"))?;
    let base = parsed.clone();
    Ok(Server {
        admin_url: url.to_string(),
        url_of: Box::new(move |name| {
            let mut url = base.clone();
            url.set_path(&format!("/{name}"));
            url.to_string()
        }),
        prefix,
    })
}

/// `initdb` and `pg_ctl`: on PATH, or in Debian's /usr/lib/postgresql/N/bin
/// (the newest N), which Debian's `postgresql` package does not put on PATH.
fn find_binaries() -> Option<PathBuf> {
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            if dir.join("initdb").is_file() && dir.join("pg_ctl").is_file() {
                return Some(dir);
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// The uid and gid of the `postgres` user.
fn postgres_user() -> Result<(u32, u32), String> {
    let id = |flag: &str| -> Result<u32, String> {
        let out = Command::new("id")
            .args([flag, "postgres"])
            .output()
            .map_err(|e| e.to_string())?;
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .map_err(|_| {
                "running as root and there is no `postgres` user to run PostgreSQL as".to_string()
            })
    };
    Ok((id("-u")?, id("-g")?))
}

/// A command run as the `postgres` user when we are root (PostgreSQL refuses
/// root), as ourselves otherwise.
fn as_server_user(root: bool, program: &str) -> Command {
    if root {
        // runuser lives in sbin, which a non-login PATH may lack.
        let runuser = ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"]
            .into_iter()
            .find(|p| Path::new(p).is_file())
            .unwrap_or("runuser");
        let mut command = Command::new(runuser);
        command.args(["-u", "postgres", "--", program]);
        command
    } else {
        Command::new(program)
    }
}

fn throwaway_cluster(prefix: String, settings: &str) -> Result<Server, String> {
    let bin =
        find_binaries().ok_or("no `initdb`/`pg_ctl` on PATH or in /usr/lib/postgresql/*/bin")?;
    let root = is_root();
    let dir = std::env::temp_dir().join(format!("bangfu-pg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let started = start_cluster(&bin, root, &dir, prefix, settings);
    if started.is_err() {
        // The watchdog was not started, so nothing else will remove it.
        let _ = std::fs::remove_dir_all(&dir);
    }
    started
}

/// initdb in `dir`, then the watchdog; the server's URLs once it is ready.
/// `settings` (`-c name=value …`) come after the durability settings, which
/// they must not weaken.
fn start_cluster(
    bin: &Path,
    root: bool,
    dir: &Path,
    prefix: String,
    settings: &str,
) -> Result<Server, String> {
    for weakened in ["fsync", "synchronous_commit", "full_page_writes"] {
        if settings.contains(weakened) {
            return Err(format!(
                "{weakened} is fixed on; settings may not change it"
            ));
        }
    }
    if root {
        let (uid, gid) = postgres_user()?;
        std::os::unix::fs::chown(dir, Some(uid), Some(gid))
            .map_err(|e| format!("chown {}: {e}", dir.display()))?;
    }
    let data = dir.join("data");
    let initdb = as_server_user(root, &bin.join("initdb").to_string_lossy())
        .args(["-D", &data.to_string_lossy()])
        .args([
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
        ])
        // Skips only initdb's own final flush of the new files; the server
        // below runs with fsync on.
        .arg("--no-sync")
        .output()
        .map_err(|e| format!("cannot run initdb: {e}"))?;
    if !initdb.status.success() {
        return Err(format!(
            "initdb failed: {}",
            String::from_utf8_lossy(&initdb.stderr).trim()
        ));
    }
    let pg_ctl = bin.join("pg_ctl");
    let options = format!(
        "-c listen_addresses='' -k {} -c fsync=on -c synchronous_commit=on \
         -c full_page_writes=on {settings}",
        dir.display()
    );
    // Ignores the terminal's signals (so Ctrl-C on `cargo test` still ends in
    // a clean stop), says "ready" once the server accepts connections, then
    // waits for its stdin to close — which happens when this process exits.
    // The stop is `immediate`: the cluster is deleted next, so the shutdown
    // checkpoint (tens of seconds of fsync after a test run) would be waste.
    let script = format!(
        r#"trap '' INT TERM HUP
"{pg_ctl}" -D "{data}" -l "{dir}/server.log" -o "{options}" -w -t 60 start >/dev/null 2>&1 || {{ cat "{dir}/server.log" >&2; rm -rf "{dir}"; exit 1; }}
echo ready
cat >/dev/null
"{pg_ctl}" -D "{data}" -m immediate -w stop >/dev/null 2>&1
rm -rf "{dir}""#,
        pg_ctl = pg_ctl.display(),
        data = data.display(),
        dir = dir.display(),
    );
    let mut child = as_server_user(root, "sh")
        .args(["-c", &script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start the watchdog: {e}"))?;
    let mut ready = String::new();
    if let Some(stdout) = child.stdout.take() {
        BufReader::new(stdout)
            .read_line(&mut ready)
            .map_err(|e| e.to_string())?;
    }
    if ready.trim() != "ready" {
        let mut log = String::new();
        if let Some(mut stderr) = child.stderr.take() {
            let _ = stderr.read_to_string(&mut log);
        }
        let _ = child.wait();
        return Err(format!("PostgreSQL did not start: {}", log.trim()));
    }
    *WATCHDOG.lock().unwrap_or_else(|p| p.into_inner()) = Some(child);
    let socket_dir = dir.to_path_buf();
    Ok(Server {
        admin_url: url_for(&socket_dir, "postgres"),
        url_of: Box::new(move |name| url_for(&socket_dir, name)),
        prefix,
    })
}

fn url_for(socket_dir: &Path, database: &str) -> String {
    format!(
        "postgres://postgres@localhost/{database}?host={}",
        socket_dir.display()
    )
}
