//! Test helpers shared by the plan and claim tests: golden event files and
//! error-code checks.

use std::collections::BTreeSet;
use std::path::PathBuf;

use cqrs_es::DomainEvent;

/// Checks (or, with `BANGFU_UPDATE_GOLDEN=1`, writes) one golden JSON file per
/// event type: the first event of each type in `events` must serialize exactly
/// as `domain/tests/golden/<aggregate_type>/<EventType>.json` and deserialize
/// back to itself. Every name in `all_types` must have an event in `events`
/// and a file; no stray files may lie in the folder.
pub(crate) fn check_golden<E: DomainEvent>(aggregate_type: &str, events: &[E], all_types: &[&str]) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(aggregate_type);
    let update = std::env::var("BANGFU_UPDATE_GOLDEN").as_deref() == Ok("1");
    if update {
        std::fs::create_dir_all(&dir).unwrap();
    }
    let mut seen = BTreeSet::new();
    for event in events {
        let ty = event.event_type();
        assert!(
            all_types.contains(&ty.as_str()),
            "{ty} is missing from EVENT_TYPES"
        );
        if !seen.insert(ty.clone()) {
            continue;
        }
        let path = dir.join(format!("{ty}.json"));
        let json = serde_json::to_string_pretty(event).unwrap();
        if update {
            std::fs::write(&path, format!("{json}\n")).unwrap();
        }
        let golden = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!("{}: {e} (run with BANGFU_UPDATE_GOLDEN=1)", path.display())
        });
        assert_eq!(
            golden.trim_end(),
            json,
            "{ty} no longer matches {}",
            path.display()
        );
        let back: E = serde_json::from_str(&golden).unwrap();
        assert_eq!(&back, event, "{ty} does not deserialize back");
        assert_eq!(
            event.event_version(),
            crate::upcast::current_version(aggregate_type, &ty),
            "{ty}: event_version() is not where its upcaster chain ends"
        );
    }
    let expected: BTreeSet<String> = all_types.iter().map(|t| t.to_string()).collect();
    assert_eq!(
        seen, expected,
        "sample_events must contain every event type"
    );
    let old_versions = check_old_versions(aggregate_type, &dir);
    let expected: BTreeSet<String> = expected.into_iter().chain(old_versions).collect();
    let on_disk: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| {
            e.unwrap()
                .path()
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(
        on_disk,
        expected,
        "stray or missing golden files in {}",
        dir.display()
    );
}

/// Codes are unique, namespaced `<aggregate_type>.<rule>` with `[a-z_]` rules,
/// and exactly the ones the error values report.
pub(crate) fn check_codes(aggregate_type: &str, declared: &[&str], reported: &[&str]) {
    let unique: BTreeSet<&str> = declared.iter().copied().collect();
    assert_eq!(unique.len(), declared.len(), "duplicate error code");
    for code in declared {
        let rule = code
            .strip_prefix(aggregate_type)
            .and_then(|r| r.strip_prefix('.'))
            .unwrap_or_else(|| panic!("{code} is not namespaced by {aggregate_type}"));
        assert!(
            !rule.is_empty() && rule.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
            "{code} does not match ^{aggregate_type}\\.[a-z_]+$"
        );
    }
    let reported: BTreeSet<&str> = reported.iter().copied().collect();
    assert_eq!(reported, unique, "CODES and code() disagree");
}

/// Every upcaster of `aggregate_type` keeps the golden file of the version
/// it reads, `<EventType>@<from>.json`, and turns it into the next version —
/// through the whole chain, into the current golden file
/// `<EventType>.json`. Returns the old versions' file stems.
fn check_old_versions(aggregate_type: &str, dir: &std::path::Path) -> Vec<String> {
    let read = |stem: &str| -> serde_json::Value {
        let path = dir.join(format!("{stem}.json"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (keep the old version's golden file)",
                path.display()
            )
        });
        serde_json::from_str(&text).unwrap()
    };
    let mut stems = Vec::new();
    for u in crate::upcast::UPCASTERS
        .iter()
        .filter(|u| u.aggregate_type == aggregate_type)
    {
        let stem = format!("{}@{}", u.event_type, u.from);
        let upcast = crate::upcast::upcast(aggregate_type, u.event_type, u.from, read(&stem))
            .unwrap_or_else(|e| panic!("{stem}: {e}"));
        assert_eq!(
            upcast,
            read(u.event_type),
            "{stem} does not upcast to the current {}",
            u.event_type
        );
        stems.push(stem);
    }
    stems
}
