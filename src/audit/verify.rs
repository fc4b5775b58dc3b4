//! `bangfu audit verify`: every hash chain recomputed, the log's order
//! checked, and every seal — those the store keeps and those given as files
//! — checked against the log: its signature, then its event count, stream
//! count and both Merkle roots recomputed at its log position.

use ed25519_dalek::VerifyingKey;

use super::scan::{scan, OrderProblem, Snapshot};
use super::seal::Seal;
use crate::store::{ChainReport, EventStore, LogPosition, StoreError};

/// A seal to check and where it came from.
#[derive(Clone, Debug)]
pub struct SealSource {
    /// `store #n` or the file's path.
    pub origin: String,
    /// The seal, or why it could not be read.
    pub seal: Result<Seal, String>,
}

/// What is wrong with one seal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SealFinding {
    /// The text is not a seal (a stored seal that was altered unreadably).
    Unreadable(String),
    /// The signature does not verify: the seal was altered or forged.
    BadSignature,
    /// Signed by a key other than the trusted one.
    OtherKey(String),
    /// The log up to the seal's position no longer has what it sealed.
    Differs {
        /// What the seal states.
        sealed: Snapshot,
        /// What the log has now.
        found: Snapshot,
    },
}

/// One seal's check.
#[derive(Clone, Debug)]
pub struct SealCheck {
    /// Where it came from.
    pub origin: String,
    /// The seal (absent if unreadable).
    pub seal: Option<Seal>,
    /// Empty when the seal holds.
    pub findings: Vec<SealFinding>,
}

/// Everything `audit verify` found.
#[derive(Debug)]
pub struct AuditReport {
    /// The hash chains.
    pub chains: ChainReport,
    /// Streams met in the log out of sequence order.
    pub order: Vec<OrderProblem>,
    /// Every seal, stored ones first.
    pub seals: Vec<SealCheck>,
    /// The key signatures were checked against (`None`: each seal's own).
    pub trusted_key: Option<String>,
    /// The whole log as read: its last position and what it holds.
    pub total: (LogPosition, Snapshot),
    /// Rows the store holds that the log read did not return (`Some((held,
    /// read))` when they differ): placed where the reader does not look — a
    /// SQLite position ≤ 0, a PostgreSQL transaction id not yet issued — so
    /// no seal would count them.
    pub unread: Option<Unread>,
}

/// The store holds rows at or before the log's end that reading the log
/// did not return.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unread {
    /// Rows the store counts up to the last position read (and any it can
    /// never return).
    pub held: u64,
    /// Events the log read returned.
    pub read: u64,
}

impl AuditReport {
    /// History was altered: a chain break, a stream out of order, or a
    /// genuine seal the log no longer matches.
    pub fn altered(&self) -> bool {
        !self.chains.is_ok()
            || !self.order.is_empty()
            || self.unread.is_some()
            || self.seals.iter().any(|s| {
                s.findings
                    .iter()
                    .any(|f| matches!(f, SealFinding::Differs { .. }))
            })
    }

    /// A seal is not genuine (unreadable, bad signature, another key).
    pub fn forged(&self) -> bool {
        self.seals.iter().any(|s| {
            s.findings
                .iter()
                .any(|f| !matches!(f, SealFinding::Differs { .. }))
        })
    }
}

/// The seals the store keeps, as sources.
pub async fn stored_seals(store: &dyn EventStore) -> Result<Vec<SealSource>, StoreError> {
    let records = store.seals().await?;
    Ok(records
        .into_iter()
        .enumerate()
        .map(|(i, r)| SealSource {
            origin: format!("store #{}", i + 1),
            seal: Seal::parse_all(&r.text)
                .and_then(|mut seals| match seals.len() {
                    1 => Ok(seals.remove(0)),
                    _ => Err(super::AuditError::SealFormat(
                        "several seals in one row".into(),
                    )),
                })
                .map_err(|e| e.to_string()),
        })
        .collect())
}

/// Checks the chains, the order and every seal in `given` plus the stored ones.
pub async fn verify(
    store: &dyn EventStore,
    given: Vec<SealSource>,
    trusted: Option<&VerifyingKey>,
) -> Result<AuditReport, StoreError> {
    let mut sources = stored_seals(store).await?;
    sources.extend(given);
    let chains = store.verify_chains().await?;
    let positions: Vec<LogPosition> = sources
        .iter()
        .filter_map(|s| s.seal.as_ref().ok().map(|seal| seal.log_position))
        .collect();
    let scanned = scan(store, &positions).await?;
    let read = scanned.total.1.events;
    let unread = store
        .count_through(scanned.total.0)
        .await?
        .filter(|held| *held != read)
        .map(|held| Unread { held, read });
    let mut found = scanned.at.into_iter();
    let seals = sources
        .into_iter()
        .map(|source| check_one(source, trusted, &mut found))
        .collect();
    Ok(AuditReport {
        chains,
        order: scanned.order,
        seals,
        trusted_key: trusted.map(|k| hex::encode(k.to_bytes())),
        total: scanned.total,
        unread,
    })
}

fn check_one(
    source: SealSource,
    trusted: Option<&VerifyingKey>,
    found: &mut impl Iterator<Item = (LogPosition, Snapshot)>,
) -> SealCheck {
    let seal = match source.seal {
        Ok(seal) => seal,
        Err(why) => {
            return SealCheck {
                origin: source.origin,
                seal: None,
                findings: vec![SealFinding::Unreadable(why)],
            }
        }
    };
    let mut findings = Vec::new();
    let own = super::key::parse_public(&seal.public_key);
    match (trusted, own) {
        (Some(key), _) if hex::encode(key.to_bytes()) != seal.public_key => {
            findings.push(SealFinding::OtherKey(seal.public_key.clone()));
        }
        (_, Some(key)) if seal.signed_by(&key) => {}
        _ => findings.push(SealFinding::BadSignature),
    }
    // Every readable seal has its snapshot in `found`, in order; what a
    // seal that is not genuine states is not compared.
    let now = found.next();
    if let (true, Some((_, now))) = (findings.is_empty(), now) {
        if now != seal.snapshot {
            findings.push(SealFinding::Differs {
                sealed: seal.snapshot,
                found: now,
            });
        }
    }
    SealCheck {
        origin: source.origin,
        seal: Some(seal),
        findings,
    }
}
