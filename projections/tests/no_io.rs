//! The projections crate is pure, like the domain: it is handed events and
//! rows and says which rows change. This test fails if it gains a direct
//! dependency beyond the allowed ones, or if its source reaches for the clock,
//! files, the network, processes or a database. See ARCHITECTURE.md.

use std::path::Path;
use std::process::Command;

/// Direct normal dependencies projections may have.
/// `utoipa` (optional, feature `openapi`) only describes the rows' shapes.
const ALLOWED_DIRECT: &[&str] = &["chrono", "domain", "serde", "serde_json", "utoipa"];

#[test]
fn projections_have_only_allowed_direct_dependencies() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--manifest-path",
        ])
        .arg(&manifest)
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata JSON");
    let pkg = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .find(|p| p["name"] == "projections")
        .expect("projections package");
    let unexpected: Vec<String> = pkg["dependencies"]
        .as_array()
        .expect("dependencies")
        .iter()
        .filter(|d| d["kind"].is_null())
        .map(|d| d["name"].as_str().unwrap_or_default().to_string())
        .filter(|d| !ALLOWED_DIRECT.contains(&d.as_str()))
        .collect();
    assert!(
        unexpected.is_empty(),
        "projections gained dependencies {unexpected:?}; it must do no I/O"
    );
}

#[test]
fn projections_source_reads_no_clock_files_network_or_database() {
    const FORBIDDEN: &[&str] = &[
        "std::fs",
        "std::net",
        "std::process",
        "std::env",
        "Utc::now",
        "Local::now",
        "SystemTime",
        "Instant::now",
        "sqlx",
        "tokio",
    ];
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut stack = vec![src];
    let mut files = 0;
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().and_then(|e| e.to_str()) != Some("rs") {
                continue;
            }
            files += 1;
            let text = std::fs::read_to_string(&path).expect("read source");
            for word in FORBIDDEN {
                assert!(
                    !text.contains(word),
                    "{} uses `{word}`: projections must do no I/O",
                    path.display()
                );
            }
        }
    }
    assert!(files >= 8, "the scan found the sources");
}
