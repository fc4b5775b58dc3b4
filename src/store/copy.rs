//! `bangfu store copy`: moves a whole event history from one store to
//! another — a city outgrowing its laptop moves to PostgreSQL — without
//! re-running a single command.
//!
//! Events are copied as stored (ids, metadata, hashes), in the source's log
//! order, a batch per target transaction (`import`, which also rebuilds the
//! reservations and replays money movements, unchecked: history is never
//! refused). Snapshots are not copied: they are caches, taken again at
//! the next boundary.
//!
//! Resuming needs no bookkeeping of its own: batches commit in source order,
//! so after an interruption the target holds a prefix of the source. The copy
//! counts the target's events, reads that many from the source, checks that
//! every stream's head (last sequence and hash) in the target is the head it
//! has in that prefix, and carries on after it. A target holding anything
//! else is refused before anything is written. The check does not ask the
//! target which event is its "last": each store orders its log its own way
//! (transaction ids on PostgreSQL), and the hash chains already say whether
//! the target holds exactly the prefix's events.
//!
//! At the end it verifies: the same number of events, every stream's head
//! (last sequence and hash) the same on both sides, and every chain in the
//! target recomputing. Copy a store nobody is writing to: events committed
//! during the copy make the counts differ and the verification fail.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{AnyStore, ChainReport, LogPosition, StoreError, StreamHead, MAX_READ_PAGE};

/// How the copy runs.
#[derive(Clone, Copy, Debug)]
pub struct CopyOptions {
    /// Events per target transaction (at most [`MAX_READ_PAGE`]).
    pub batch_size: usize,
    /// Stop after copying this many events in this run, as an interruption
    /// would (for tests of resuming; `None` in normal use).
    pub stop_after: Option<u64>,
}

impl Default for CopyOptions {
    fn default() -> Self {
        CopyOptions {
            batch_size: 500,
            stop_after: None,
        }
    }
}

/// What a finished copy did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyReport {
    /// Events in the source (and now in the target).
    pub total: u64,
    /// Events the target already held from an earlier run.
    pub resumed_after: u64,
    /// Events copied by this run.
    pub copied: u64,
    /// Streams compared.
    pub streams: u64,
}

/// How a copy ended without error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CopyOutcome {
    /// Everything copied and verified.
    Complete(CopyReport),
    /// Stopped by [`CopyOptions::stop_after`]; run again to resume.
    Interrupted {
        /// Events the target holds now.
        copied: u64,
    },
}

/// Why a copy failed.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// The source could not be read.
    #[error("source: {0}")]
    Source(StoreError),
    /// The target could not be read or written.
    #[error("target: {0}")]
    Target(StoreError),
    /// The target holds events that are not the start of the source's history.
    #[error("the target is not an earlier copy of this source: {0}")]
    NotAPrefix(String),
    /// After copying, the two stores disagree.
    #[error("verification failed: {}", .0.join("; "))]
    Mismatch(Vec<String>),
    /// After copying, the target's hash chains do not recompute.
    #[error("the target's hash chains are broken ({} breaks)", .0.breaks.len() as u64 + .0.breaks_omitted)]
    Chains(ChainReport),
}

/// Differences listed in a [`CopyError::Mismatch`], at most.
const MAX_MISMATCHES: usize = 20;

/// Copies `from` into `to`; `progress(done, total)` is called after each
/// batch (and once before the first, with what an earlier run copied).
pub async fn copy(
    from: &AnyStore,
    to: &AnyStore,
    options: CopyOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<CopyOutcome, CopyError> {
    let batch = options.batch_size.clamp(1, MAX_READ_PAGE);
    let total = from.count_events().await.map_err(CopyError::Source)?;
    let already = to.count_events().await.map_err(CopyError::Target)?;
    if already > total {
        return Err(CopyError::NotAPrefix(format!(
            "it holds {already} events, the source {total}"
        )));
    }

    // Find where the earlier run stopped: skip `already` source events,
    // noting each stream's head in that prefix, and check the target holds
    // exactly those streams at exactly those heads.
    let mut after = LogPosition::START;
    let mut skipped = 0u64;
    let mut prefix_heads: BTreeMap<(String, String), (u64, String)> = BTreeMap::new();
    while skipped < already {
        let want = usize::try_from(already - skipped)
            .unwrap_or(batch)
            .min(batch);
        let page = read_expected(from, after, want).await?;
        let Some(last) = page.last() else {
            return Err(CopyError::NotAPrefix(
                "the source ended before the target's events".into(),
            ));
        };
        after = last.log_position;
        skipped += page.len() as u64;
        for event in &page {
            prefix_heads.insert(
                (event.aggregate_type.clone(), event.aggregate_id.clone()),
                (event.sequence as u64, event.hash.clone()),
            );
        }
    }
    if already > 0 {
        // In byte order of (type, id), as `stream_heads` returns them.
        let expected: Vec<StreamHead> = prefix_heads
            .into_iter()
            .map(
                |((aggregate_type, aggregate_id), (sequence, hash))| StreamHead {
                    aggregate_type,
                    aggregate_id,
                    sequence,
                    hash,
                },
            )
            .collect();
        let target_heads = to.stream_heads().await.map_err(CopyError::Target)?;
        let mut problems = Vec::new();
        compare_heads(&expected, &target_heads, &mut problems);
        if !problems.is_empty() {
            return Err(CopyError::NotAPrefix(format!(
                "its {already} events are not the source's first {already}: {}",
                problems.join("; ")
            )));
        }
    }
    progress(already, total);

    let mut copied = 0u64;
    loop {
        let mut want = batch;
        if let Some(stop) = options.stop_after {
            if copied >= stop {
                return Ok(CopyOutcome::Interrupted {
                    copied: already + copied,
                });
            }
            want = want.min(usize::try_from(stop - copied).unwrap_or(batch));
        }
        let page = if already + copied < total {
            read_expected(from, after, want).await?
        } else {
            // Past the count taken at the start: whatever else is there now.
            from.read_all(after, want)
                .await
                .map_err(CopyError::Source)?
        };
        let Some(last) = page.last() else {
            break;
        };
        after = last.log_position;
        to.import(&page).await.map_err(CopyError::Target)?;
        copied += page.len() as u64;
        progress(already + copied, total.max(already + copied));
    }

    let streams = verify(from, to).await?;
    Ok(CopyOutcome::Complete(CopyReport {
        total,
        resumed_after: already,
        copied,
        streams,
    }))
}

/// How long the copy waits for events it has counted to become readable.
const READABLE_DEADLINE: Duration = Duration::from_secs(60);
/// Between looks while waiting.
const READABLE_RETRY: Duration = Duration::from_millis(50);

/// A page of events the caller knows exist. On PostgreSQL the log is
/// readable only below the oldest transaction running anywhere in the
/// cluster (see `EventStore::read_all`), so an empty page there means "not yet",
/// not "the end": wait for the events, up to [`READABLE_DEADLINE`].
async fn read_expected(
    from: &AnyStore,
    after: LogPosition,
    want: usize,
) -> Result<Vec<super::StoredEvent>, CopyError> {
    let deadline = tokio::time::Instant::now() + READABLE_DEADLINE;
    loop {
        let page = from
            .read_all(after, want)
            .await
            .map_err(CopyError::Source)?;
        if !page.is_empty() || tokio::time::Instant::now() >= deadline {
            return Ok(page);
        }
        tokio::time::sleep(READABLE_RETRY).await;
    }
}

/// Compares counts and stream heads, and recomputes the target's chains.
/// Returns the number of streams.
pub async fn verify(from: &AnyStore, to: &AnyStore) -> Result<u64, CopyError> {
    let mut problems = Vec::new();
    let source_count = from.count_events().await.map_err(CopyError::Source)?;
    let target_count = to.count_events().await.map_err(CopyError::Target)?;
    if source_count != target_count {
        problems.push(format!(
            "the source holds {source_count} events, the target {target_count}"
        ));
    }
    let source_heads = from.stream_heads().await.map_err(CopyError::Source)?;
    let target_heads = to.stream_heads().await.map_err(CopyError::Target)?;
    compare_heads(&source_heads, &target_heads, &mut problems);
    if !problems.is_empty() {
        return Err(CopyError::Mismatch(problems));
    }
    let report = to.verify_chains().await.map_err(CopyError::Target)?;
    if !report.is_ok() {
        return Err(CopyError::Chains(report));
    }
    Ok(source_heads.len() as u64)
}

fn compare_heads(source: &[StreamHead], target: &[StreamHead], problems: &mut Vec<String>) {
    let name = |h: &StreamHead| format!("{} {}", h.aggregate_type, h.aggregate_id);
    let (mut s, mut t) = (source.iter().peekable(), target.iter().peekable());
    let mut note = |problem: String| {
        if problems.len() < MAX_MISMATCHES {
            problems.push(problem);
        }
    };
    let key = |h: &StreamHead| (h.aggregate_type.clone(), h.aggregate_id.clone());
    loop {
        match (s.peek(), t.peek()) {
            (None, None) => return,
            (Some(a), Some(b)) if key(a) == key(b) => {
                if (a.sequence, &a.hash) != (b.sequence, &b.hash) {
                    note(format!(
                        "{}: source head #{} {}, target head #{} {}",
                        name(a),
                        a.sequence,
                        a.hash,
                        b.sequence,
                        b.hash
                    ));
                }
                s.next();
                t.next();
            }
            (Some(a), Some(b)) if key(a) > key(b) => {
                note(format!("{}: only in the target", name(b)));
                t.next();
            }
            (None, Some(b)) => {
                note(format!("{}: only in the target", name(b)));
                t.next();
            }
            (Some(a), _) => {
                note(format!("{}: missing from the target", name(a)));
                s.next();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(t: &str, id: &str, sequence: u64, hash: &str) -> StreamHead {
        StreamHead {
            aggregate_type: t.into(),
            aggregate_id: id.into(),
            sequence,
            hash: hash.into(),
        }
    }

    #[test]
    fn head_comparison_names_every_kind_of_difference() {
        let source = [
            head("a", "1", 2, "x"),
            head("a", "2", 1, "y"),
            head("b", "1", 5, "z"),
        ];
        let mut problems = Vec::new();
        compare_heads(&source, &source, &mut problems);
        assert!(problems.is_empty());

        let target = [
            head("a", "1", 2, "other"),
            head("a", "3", 1, "y"),
            head("b", "1", 5, "z"),
        ];
        compare_heads(&source, &target, &mut problems);
        assert_eq!(
            problems,
            [
                "a 1: source head #2 x, target head #2 other",
                "a 2: missing from the target",
                "a 3: only in the target",
            ]
        );
    }
}
