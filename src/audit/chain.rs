//! The chain export: every event of the log, one JSON object a line (the
//! fields an outside verifier recomputes hashes and seals from), and whether
//! the events table holds rows the log read did not return (then the export
//! is incomplete and the history altered). `bangfu audit export-chain` and
//! `GET /v1/audit/chain` both write it; `verify_seal.py` reads it.

use serde_json::json;

use super::AuditError;
use crate::store::{AnyStore, LogPosition, MAX_READ_PAGE};

/// The exported log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainExport {
    /// The lines, each ending in `\n`.
    pub text: String,
    /// Events exported.
    pub exported: u64,
    /// Rows the events table holds up to the last exported event (`None`
    /// when the store cannot tell). Differs from `exported` only when rows
    /// were placed where the log is not read.
    pub held: Option<u64>,
}

impl ChainExport {
    /// True when the table holds rows the export does not.
    pub fn incomplete(&self) -> bool {
        self.held.is_some_and(|held| held != self.exported)
    }
}

/// Reads the whole log into an export.
pub async fn export(store: &AnyStore) -> Result<ChainExport, AuditError> {
    let mut text = String::new();
    let mut after = LogPosition::START;
    let mut exported = 0u64;
    loop {
        let page = store.read_all(after, MAX_READ_PAGE).await?;
        let full = page.len() == MAX_READ_PAGE;
        for e in page {
            after = e.log_position;
            let line = json!({
                "position": e.position, "log_position": e.log_position.to_string(),
                "aggregate_type": e.aggregate_type, "aggregate_id": e.aggregate_id,
                "sequence": e.sequence, "event_type": e.event_type,
                "event_version": e.event_version, "payload": e.payload,
                "metadata": e.metadata, "prev_hash": e.prev_hash, "hash": e.hash,
            });
            text.push_str(&line.to_string());
            text.push('\n');
            exported += 1;
        }
        if !full {
            break;
        }
    }
    let held = store.kernel().count_through(after).await?;
    Ok(ChainExport {
        text,
        exported,
        held,
    })
}
