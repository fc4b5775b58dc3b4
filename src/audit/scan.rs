//! One pass over the global log that yields what seals state — the event
//! count, the stream count and the two Merkle roots — at any number of log
//! positions, and the order problems a seal cannot miss either: a stream
//! whose events do not appear in the log in sequence order (two events'
//! global positions swapped, or a sequence missing).

use std::collections::BTreeMap;

use super::merkle::{self, Digest32};
use crate::store::{EventStore, LogPosition, StoreError, StoredEvent, MAX_READ_PAGE};

/// What the log held up to a position: what a seal states.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// Events up to the position.
    pub events: u64,
    /// Streams with an event up to the position.
    pub streams: u64,
    /// Merkle root over every stream's (type, id, version, head hash).
    pub streams_root: Digest32,
    /// Merkle root over the log order (position, event hash).
    pub log_root: Digest32,
}

/// A stream's event met in the log out of its sequence order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderProblem {
    /// The stream's aggregate type.
    pub aggregate_type: String,
    /// The stream.
    pub aggregate_id: String,
    /// The event's sequence.
    pub sequence: u64,
    /// The stream's previous sequence met in the log (0: none).
    pub after: u64,
    /// The event's place in the log.
    pub log_position: LogPosition,
}

/// The result of a scan.
#[derive(Debug)]
pub struct Scan {
    /// One snapshot per position asked for, in the order asked.
    pub at: Vec<(LogPosition, Snapshot)>,
    /// The whole log as read: its last position and what it holds.
    pub total: (LogPosition, Snapshot),
    /// Streams met out of sequence order (at most 1,000 kept).
    pub order: Vec<OrderProblem>,
}

#[derive(Default)]
struct Acc {
    heads: BTreeMap<(String, String), (u64, String)>,
    leaves: Vec<Digest32>,
    last: LogPosition,
}

impl Acc {
    fn snapshot(&self) -> Snapshot {
        let streams: Vec<Digest32> = self
            .heads
            .iter()
            .map(|((t, i), (version, hash))| merkle::stream_leaf(t, i, *version, hash))
            .collect();
        Snapshot {
            events: self.leaves.len() as u64,
            streams: streams.len() as u64,
            streams_root: merkle::root(&streams),
            log_root: merkle::root(&self.leaves),
        }
    }

    fn add(&mut self, e: StoredEvent, order: &mut Vec<OrderProblem>) {
        let sequence = e.sequence as u64;
        let key = (e.aggregate_type, e.aggregate_id);
        let after = self.heads.get(&key).map_or(0, |(s, _)| *s);
        if sequence != after + 1 && order.len() < 1_000 {
            order.push(OrderProblem {
                aggregate_type: key.0.clone(),
                aggregate_id: key.1.clone(),
                sequence,
                after,
                log_position: e.log_position,
            });
        }
        self.leaves.push(merkle::log_leaf(e.position, &e.hash));
        self.heads.insert(key, (sequence, e.hash));
        self.last = e.log_position;
    }
}

/// Reads the whole log once; snapshots at every position in `at` (a
/// position beyond the log's end gets the whole log's).
pub async fn scan(store: &dyn EventStore, at: &[LogPosition]) -> Result<Scan, StoreError> {
    let mut wanted: Vec<(usize, LogPosition)> = at.iter().copied().enumerate().collect();
    wanted.sort_by_key(|(_, p)| *p);
    let mut wanted = wanted.into_iter().peekable();
    let mut found: Vec<Option<Snapshot>> = vec![None; at.len()];
    let mut acc = Acc::default();
    let mut order = Vec::new();
    let mut after = LogPosition::START;
    loop {
        let page = store.read_all(after, MAX_READ_PAGE).await?;
        let full = page.len() == MAX_READ_PAGE;
        for event in page {
            while let Some((i, _)) = wanted.next_if(|(_, p)| *p < event.log_position) {
                found[i] = Some(acc.snapshot());
            }
            after = event.log_position;
            acc.add(event, &mut order);
        }
        if !full {
            break;
        }
    }
    let total = acc.snapshot();
    for (i, _) in wanted {
        found[i] = Some(total);
    }
    Ok(Scan {
        at: at
            .iter()
            .copied()
            .zip(found.into_iter().map(|s| s.unwrap_or(total)))
            .collect(),
        total: (acc.last, total),
        order,
    })
}
