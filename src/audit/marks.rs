//! Chain marks for `history` and `show`: which rows of one stream do not
//! recompute, so a reader sees an altered row where it is printed, not only
//! in `bangfu verify`.

use domain::i18n::Lang;

use crate::store::hash::{hash_matches, HashedEvent, GENESIS_HASH};
use crate::store::{ChainProblem, StoredEvent};

/// For each event of one stream (in sequence order), the first thing wrong
/// with it: its hash does not recompute, it does not link to the previous
/// event, or a sequence is missing before it.
pub fn row_marks(events: &[StoredEvent]) -> Vec<Option<ChainProblem>> {
    let mut previous = GENESIS_HASH;
    let mut marks = Vec::with_capacity(events.len());
    for (i, e) in events.iter().enumerate() {
        let metadata = serde_json::to_value(&e.metadata).unwrap_or_default();
        let hashed = HashedEvent {
            aggregate_type: &e.aggregate_type,
            aggregate_id: &e.aggregate_id,
            sequence: e.sequence as u64,
            event_type: &e.event_type,
            event_version: &e.event_version,
            payload: &e.payload,
            metadata: &metadata,
        };
        let mark = if hash_matches(&e.prev_hash, &hashed, &e.hash).is_err() {
            Some(ChainProblem::Hash)
        } else if e.prev_hash != previous {
            Some(ChainProblem::PrevHash)
        } else if e.sequence != i + 1 {
            Some(ChainProblem::Sequence)
        } else {
            None
        };
        marks.push(mark);
        previous = &e.hash;
    }
    marks
}

/// The marker printed on a row.
pub fn label(problem: ChainProblem, lang: Lang) -> &'static str {
    match problem {
        ChainProblem::Hash => lang.pick(
            "✗ 哈希不符：记录后被改动",
            "✗ hash mismatch: altered after recording",
        ),
        ChainProblem::PrevHash => lang.pick(
            "✗ 链接断开：前一事件被删改",
            "✗ link broken: an earlier event was removed or rewritten",
        ),
        ChainProblem::Sequence => lang.pick(
            "✗ 序号缺失：有事件被删除",
            "✗ sequence gap: an event was removed",
        ),
        ChainProblem::Unreadable => lang.pick("✗ 无法读取", "✗ unreadable"),
    }
}

/// The line printed under a history with broken rows.
pub fn warning(broken: usize, lang: Lang) -> String {
    match lang {
        Lang::Zh => format!("⚠ 本案卷流有 {broken} 行哈希链核验失败（标 ✗ 者），历史可能被篡改；请运行 bangfu audit verify"),
        Lang::En => format!("⚠ {broken} row(s) of this stream fail the hash chain (marked ✗): history may have been altered; run bangfu audit verify"),
    }
}
