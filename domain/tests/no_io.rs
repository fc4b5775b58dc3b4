//! The domain crate does no I/O. This test fails if it ever gains an I/O
//! dependency (database, network, HTTP, event-store client), or if its source
//! reaches for the clock, randomness, files, the network or processes.
//!
//! Time and ids come in with commands; facts outside an aggregate come through
//! `Services` implemented in the `bangfu` crate. See ARCHITECTURE.md.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::process::Command;

/// Direct normal dependencies the domain may have. Adding one means editing
/// this list on purpose, in review.
const ALLOWED_DIRECT: &[&str] = &[
    "async-trait",
    "chrono",
    "cqrs-es",
    "serde",
    "serde_json",
    "thiserror",
    // Optional (feature `openapi`): derives schema descriptions, does no I/O.
    "utoipa",
    "unicode-properties",
    "uuid",
];

/// Crates that do I/O for a living; none may be reachable from `domain`.
const FORBIDDEN_ANYWHERE: &[&str] = &[
    "sqlx",
    "sqlx-core",
    "sqlx-sqlite",
    "sqlx-postgres",
    "libsqlite3-sys",
    "rusqlite",
    "postgres",
    "tokio-postgres",
    "postgres-es",
    "sqlite-es",
    "axum",
    "hyper",
    "reqwest",
    "tonic",
    "eventstore",
    "kurrentdb",
    "tower",
    "tokio-util",
];

fn metadata() -> serde_json::Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--manifest-path"])
        .arg(&manifest)
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("cargo metadata JSON")
}

#[test]
fn domain_has_only_allowed_direct_dependencies() {
    let meta = metadata();
    let pkg = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "domain")
        .expect("domain package");
    let direct: BTreeSet<&str> = pkg["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["kind"].is_null()) // normal deps only; dev-deps may do anything
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    let unexpected: Vec<_> = direct
        .iter()
        .filter(|d| !ALLOWED_DIRECT.contains(d))
        .collect();
    assert!(
        unexpected.is_empty(),
        "domain gained dependencies {unexpected:?}; the domain must do no I/O (ARCHITECTURE.md)"
    );
}

#[test]
fn no_io_crate_is_reachable_from_domain() {
    let meta = metadata();
    let nodes = meta["resolve"]["nodes"].as_array().unwrap();
    let by_id: HashMap<&str, &serde_json::Value> = nodes
        .iter()
        .map(|n| (n["id"].as_str().unwrap(), n))
        .collect();
    let name_of = |id: &str| -> String {
        meta["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == id)
            .map(|p| p["name"].as_str().unwrap().to_string())
            .unwrap_or_default()
    };
    let root = nodes
        .iter()
        .find(|n| name_of(n["id"].as_str().unwrap()) == "domain")
        .unwrap()["id"]
        .as_str()
        .unwrap();
    let mut seen = BTreeSet::new();
    let mut stack = vec![root];
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        for dep in by_id[id]["deps"].as_array().unwrap() {
            let normal = dep["dep_kinds"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k["kind"].is_null());
            if normal {
                stack.push(dep["pkg"].as_str().unwrap());
            }
        }
    }
    let reached: Vec<String> = seen.iter().map(|id| name_of(id)).collect();
    let bad: Vec<_> = reached
        .iter()
        .filter(|n| FORBIDDEN_ANYWHERE.contains(&n.as_str()))
        .collect();
    assert!(bad.is_empty(), "domain reaches I/O crates {bad:?}");
}

/// Files compiled only for tests (declared behind `#[cfg(test)]`; checked
/// below), which may read and write golden files.
fn is_test_only(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if !matches!(name, "tests.rs" | "test_support.rs") {
        return false;
    }
    let module = name.trim_end_matches(".rs");
    let parent = path.parent().unwrap();
    let decl = std::fs::read_to_string(parent.join("mod.rs")).unwrap_or_default();
    decl.contains(&format!("#[cfg(test)]\nmod {module};"))
}

#[test]
fn domain_source_reads_no_clock_randomness_files_or_network() {
    const FORBIDDEN: &[&str] = &[
        "std::fs",
        "std::net",
        "std::process",
        "std::env",
        "tokio::fs",
        "tokio::net",
        "Utc::now",
        "Local::now",
        "SystemTime::now",
        "Instant::now",
        "thread_rng",
        "rand::",
        "new_v4",
        "now_v7",
        "println!",
        "eprintln!",
    ];
    let mut offenders = Vec::new();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut dirs = vec![src];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") && !is_test_only(&path) {
                let text = std::fs::read_to_string(&path).unwrap();
                // Inline `#[cfg(test)] mod tests` blocks close each file by
                // convention; test code may read golden files.
                let product = text.split("#[cfg(test)]\nmod tests").next().unwrap_or("");
                for (no, line) in product.lines().enumerate() {
                    let code = line.split("//").next().unwrap_or("");
                    for f in FORBIDDEN {
                        if code.contains(f) {
                            offenders.push(format!("{}:{}: {f}", path.display(), no + 1));
                        }
                    }
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "domain source does I/O or reads the clock:\n{}",
        offenders.join("\n")
    );
}
