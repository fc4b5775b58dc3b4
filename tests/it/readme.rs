//! README.md's shell examples, run the way a reader pastes them: every
//! ```` ```sh ```` block in order, in one shell, in an empty directory (a
//! fresh store), with the built `bangfu` on `PATH`. The ```` ```sh serve ````
//! block is where the reader starts the server: the test starts the real
//! binary there, on a free port, and hands its address to the later blocks
//! as `BANGFU_URL`. Blocks marked ```` ```sh no-run ```` (building, other
//! stores' URLs) are skipped. An example that fails fails the test, naming
//! its line in README.md.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const README: &str = include_str!("../../README.md");

/// How long the server may take to print its address.
const PATIENCE: Duration = Duration::from_secs(60);

/// What the test does with a fenced block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Run it.
    Run,
    /// Start the server here.
    Serve,
}

/// A fenced shell block: where it starts in README.md, and its text.
#[derive(Clone, Debug)]
struct Block {
    line: usize,
    kind: Kind,
    text: String,
}

/// The shell blocks of `readme` in order (`sh`, `sh serve`); other fences
/// (`toml`, `sh no-run`) are left out.
fn shell_blocks(readme: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<(usize, Option<Kind>, String)> = None;
    for (i, line) in readme.lines().enumerate() {
        let Some(info) = line.strip_prefix("```") else {
            if let Some((_, _, text)) = open.as_mut() {
                text.push_str(line);
                text.push('\n');
            }
            continue;
        };
        match open.take() {
            Some((start, Some(kind), text)) => blocks.push(Block {
                line: start,
                kind,
                text,
            }),
            Some((_, None, _)) => {}
            None => {
                let kind = match info.trim() {
                    "sh" => Some(Kind::Run),
                    "sh serve" => Some(Kind::Serve),
                    "sh no-run" => None,
                    other => {
                        assert!(
                            !other.starts_with("sh"),
                            "README.md line {}: unknown shell fence `{other}` (sh, sh serve, sh no-run)",
                            i + 1
                        );
                        None
                    }
                };
                open = Some((i + 1, kind, String::new()));
            }
        }
    }
    assert!(open.is_none(), "README.md ends inside a fenced block");
    blocks
}

/// One bash script of `blocks`, each announced on stderr with its line.
fn script(blocks: &[Block]) -> String {
    let mut script = String::from("set -euo pipefail\n");
    for block in blocks {
        script.push_str(&format!("echo '>>> README.md line {}' >&2\n", block.line));
        script.push_str(&block.text);
    }
    script.push_str("echo '>>> README.md: all examples done' >&2\n");
    script
}

/// A command in `dir` with `bangfu` on PATH and no `BANGFU_*` settings
/// from the environment the tests run in.
fn command_in(dir: &Path, program: &str) -> Command {
    let bin = Path::new(env!("CARGO_BIN_EXE_bangfu"))
        .parent()
        .expect("binary directory")
        .to_path_buf();
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![bin];
    dirs.extend(std::env::split_paths(&path));
    let mut command = Command::new(program);
    command
        .current_dir(dir)
        .env("PATH", std::env::join_paths(dirs).expect("PATH"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("BANGFU_") {
            command.env_remove(name);
        }
    }
    command
}

/// Runs `blocks` as one script; panics with the failing example's line.
fn run_blocks(dir: &Path, blocks: &[Block], url: Option<&str>) -> String {
    let mut command = command_in(dir, "bash");
    command.arg("-c").arg(script(blocks));
    if let Some(url) = url {
        command.env("BANGFU_URL", url);
    }
    let output = command.output().expect("bash");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let failed_at = stderr
        .lines()
        .rfind(|l| l.starts_with(">>> README.md"))
        .unwrap_or("(before the first example)");
    assert!(
        output.status.success(),
        "a README example failed at {failed_at} ({}):\n--- stderr ---\n{stderr}\n--- stdout (tail) ---\n{}",
        output.status,
        tail(&stdout, 40)
    );
    assert!(
        stderr.contains(">>> README.md: all examples done"),
        "{stderr}"
    );
    stdout
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// `bangfu serve` on a free loopback port in `dir`; its base URL.
fn start_server(dir: &Path) -> (Child, String) {
    let mut child = command_in(dir, env!("CARGO_BIN_EXE_bangfu"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn bangfu serve");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let deadline = Instant::now() + PATIENCE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(line) = rx.recv_timeout(left) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the server did not print its address in time");
        };
        if let Some(url) = line.split_whitespace().find(|w| w.starts_with("http://")) {
            return (child, url.to_string());
        }
    }
}

fn stop_server(mut child: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().expect("server exit");
    assert!(status.success(), "the server stopped with {status}");
}

#[test]
fn the_fences_are_read_as_documented() {
    let blocks = shell_blocks(
        "x\n```sh\na\n```\n```sh no-run\nb\n```\n```toml\nc\n```\n```sh serve\nd\n```\n",
    );
    let got: Vec<(usize, Kind, &str)> = blocks
        .iter()
        .map(|b| (b.line, b.kind, b.text.as_str()))
        .collect();
    assert_eq!(got, vec![(2, Kind::Run, "a\n"), (11, Kind::Serve, "d\n")]);
}

#[test]
fn every_shell_example_in_the_readme_works_when_pasted_in_order() {
    let blocks = shell_blocks(README);
    let serve = blocks
        .iter()
        .position(|b| b.kind == Kind::Serve)
        .expect("README.md shows how to start the server (```sh serve)");
    assert!(blocks[serve].text.contains("bangfu serve"));
    assert!(
        blocks.iter().filter(|b| b.kind == Kind::Serve).count() == 1,
        "one server"
    );
    let (before, after) = (&blocks[..serve], &blocks[serve + 1..]);
    assert!(before.len() >= 3 && after.len() >= 3, "{blocks:?}");
    assert!(
        after.iter().any(|b| b.text.contains("curl ")),
        "the HTTP examples run against the server"
    );

    let dir = tempfile::tempdir().expect("dir");
    let cli_output = run_blocks(dir.path(), before, None);
    assert!(cli_output.contains("HF-2026-0001"), "{cli_output}");

    let (server, url) = start_server(dir.path());
    // Stop the server whatever happens to the examples.
    let outcome = std::panic::catch_unwind(|| run_blocks(dir.path(), after, Some(&url)));
    stop_server(server);
    let http_output = outcome.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    // What the examples claim, checked on what they printed.
    assert!(http_output.contains("\"status\":\"ok\""), "/health");
    assert!(http_output.contains("\"status\":\"ready\""), "/ready");
    assert!(
        http_output.contains("bangfu_commands_total{"),
        "/metrics counts commands"
    );
    assert!(
        http_output.contains("\"views_position\":{\"commit\":0,\"position\":"),
        "views_position is the documented object"
    );
    assert!(dir.path().join("restored/bangfu.db").exists());
}
