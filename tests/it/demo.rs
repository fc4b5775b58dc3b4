//! `bangfu demo` — README's first command — runs on a fresh store, prints the
//! figures its scenario implies, leaves intact hash chains, and can run again
//! on the same store as an independent second scenario.

use assert_cmd::Command;
use bangfu::store::{EventStore, SqliteStore};

fn demo(db: &std::path::Path, lang: &str) -> String {
    let out = Command::cargo_bin("bangfu")
        .expect("bangfu binary")
        .args(["--db"])
        .arg(db)
        .args(["--lang", lang, "demo"])
        .output()
        .expect("run demo");
    let stdout = String::from_utf8(out.stdout).expect("utf-8 output");
    assert!(
        out.status.success(),
        "demo failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[tokio::test]
async fn demo_runs_twice_and_its_figures_add_up() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("demo.db");

    let first = demo(&db, "zh");
    // Grants 5,000 + 3,000 + 3,000 + 1,000 yuan paid; the file closes lifted out.
    assert!(first.contains("已发放 12,000.00 元"), "{first}");
    assert!(first.contains("已结档（解困脱困）"), "{first}");
    // Claim 1: tier 400 × 1.3 × 1.3 = 676.00 paid; claim 4: 1,500 × 1.3 = 1,950.00 approved.
    assert!(
        first.contains("已批准补助 2,626.00 元，已发放 676.00 元"),
        "{first}"
    );
    // 330 members; contributions 120×40 + 80×60 + 60×40 + 40×40 + 30×30 yuan.
    assert!(
        first.contains("参保职工 330 人，收缴互助金 14,500.00 元"),
        "{first}"
    );
    // Donations 205,900 received, 20,100 reversed; 3,000 + 1,950 allocated.
    assert!(
        first.contains("到账 185,800.00 元（冲销 20,100.00 元）"),
        "{first}"
    );
    assert!(first.contains("已拨付 4,950.00 元"), "{first}");
    // Every rule the demo exercises refused what it forbids.
    for code in [
        "hardship_file.resident_has_open_file",
        "hardship_file.not_verified",
        "hardship_file.four_eyes",
        "hardship_file.exceeds_measure_remaining",
        "mutual_aid_claim.stay_already_claimed",
        "mutual_aid_claim.four_eyes",
        "mutual_aid_claim.not_enrolled",
        "donation_campaign.four_eyes",
        "donation_campaign.exceeds_available",
    ] {
        assert!(first.contains(code), "demo did not show {code}");
    }
    assert!(first.contains("哈希链完整"), "{first}");

    let store = SqliteStore::open(&db, domain::reservations_of)
        .await
        .expect("open");
    let after_first = store.count_events().await.expect("count");
    store.close().await;

    let second = demo(&db, "en");
    assert!(second.contains("run 2"), "{second}");
    assert!(second.contains("12,000.00 yuan paid out"), "{second}");
    assert!(second.contains("hash chains intact"), "{second}");

    let store = SqliteStore::open(&db, domain::reservations_of)
        .await
        .expect("open");
    assert_eq!(store.count_events().await.expect("count"), 2 * after_first);
    assert!(store.verify_chains().await.expect("verify").is_ok());
}
