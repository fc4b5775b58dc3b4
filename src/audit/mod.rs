//! Audit (issue 13): seals that catch every alteration, the past as it
//! stood (`asof.rs`), payouts re-derived (`rederive.rs`), segregation of
//! duties (`sod.rs`) and the read-access log (`access_log.rs`).
//!
//! Seals: tamper evidence beyond the hash chain.
//!
//! The per-stream hash chain (`store::hash`) shows an edited event, but not
//! a stream cut short, a stream removed, two events' places in the log
//! swapped, or a tail rewritten with recomputed hashes. A seal does: it
//! states, signed with the installation's Ed25519 key, how many events the
//! log held up to a position and two Merkle roots over them — every
//! stream's (type, id, version, head hash) and the log order (position,
//! event hash). Published outside the database, it lets anyone recompute and
//! compare (`src/audit/verify_seal.py` does so without bangfu).
//!
//! - `merkle.rs` — RFC 6962 Merkle tree hash, the leaves.
//! - `key.rs` — the installation's key file (0600, created on first use).
//! - `seal.rs` — the seal's text, signing and parsing.
//! - `scan.rs` — one pass over the log: snapshots at positions, order checks.
//! - `verify.rs` — chains, order and every seal checked together.
//! - `schedule.rs` — the seals `bangfu serve` takes by itself.
//! - `history.rs` — a stream's history with its chain marks, for the CLI
//!   and HTTP alike (JSON and files).
//!
//! Its doors are above it: `cli/audit.rs` (`bangfu audit …`) and
//! `http/audit.rs` (`/v1/audit/…`).

pub mod access_log;
pub mod asof;
pub mod history;
pub mod key;
pub mod marks;
pub mod merkle;
pub mod rederive;
pub mod scan;
pub mod schedule;
pub mod seal;
pub mod sod;
pub mod verify;

use std::path::PathBuf;

use domain::i18n::Lang;

use crate::store::{AnyStore, SealRecord, StoreError};
use key::SealKey;
use seal::Seal;
use verify::AuditReport;

/// What can go wrong in auditing.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The key file cannot be read or written.
    #[error("seal key {0}: {1}")]
    Key(PathBuf, String),
    /// A seal's text is malformed.
    #[error("not a bangfu seal: {0}")]
    SealFormat(String),
    /// The history does not verify, so it is not sealed.
    #[error("history does not verify; not sealed")]
    NotSealable(Box<AuditReport>),
}

impl AuditError {
    /// The message in `lang`.
    pub fn localize(&self, lang: Lang) -> String {
        match (self, lang) {
            (AuditError::Store(e), Lang::Zh) => format!("存储错误：{e}"),
            (AuditError::Key(path, why), Lang::Zh) => {
                format!("封印密钥 {}：{why}", path.display())
            }
            (AuditError::SealFormat(why), Lang::Zh) => format!("不是有效的 bangfu 封印：{why}"),
            (AuditError::NotSealable(_), Lang::Zh) => {
                "历史未通过核验（哈希链、顺序或已有封印不符），不予封印".into()
            }
            (e, Lang::En) => e.to_string(),
        }
    }
}

/// Verifies the history with the stored seals, then — only if nothing is
/// wrong — seals the log as read, keeps the seal in the store and returns it.
pub async fn seal_now(
    store: &AnyStore,
    key: &SealKey,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Seal, AuditError> {
    wait_for_log(store).await?;
    let report = verify::verify(store.kernel().as_ref(), Vec::new(), Some(&key.public())).await?;
    if report.altered() || report.forged() {
        return Err(AuditError::NotSealable(Box::new(report)));
    }
    let (position, snapshot) = report.total;
    let seal = Seal::sign(key, now, position, snapshot);
    store
        .add_seal(&SealRecord {
            sealed_at: seal.sealed_at.clone(),
            log_position: position.to_string(),
            events: snapshot.events,
            text: seal.to_text(),
        })
        .await?;
    Ok(seal)
}

/// How long a seal waits for the log to become readable up to the newest
/// committed event.
const LOG_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// On PostgreSQL the log is readable only below the oldest transaction
/// running anywhere in the cluster, so an event committed a moment ago may
/// not be readable yet: wait (up to [`LOG_WAIT`]) until it is, so that a
/// seal covers everything committed before it was asked for. After that,
/// it seals what is readable (still a true statement, only a shorter one).
async fn wait_for_log(store: &AnyStore) -> Result<(), StoreError> {
    let Some(newest) = store.last_event().await? else {
        return Ok(());
    };
    let deadline = tokio::time::Instant::now() + LOG_WAIT;
    while store.log_head().await? < newest.log_position {
        if tokio::time::Instant::now() >= deadline {
            tracing::warn!(newest = %newest.log_position, "sealing before the newest event is readable");
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    Ok(())
}
