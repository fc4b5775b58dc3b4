//! The per-stream hash chain: what is hashed, and the canonical JSON it is
//! hashed in.
//!
//! An auditor must be able to recompute every hash from the stored columns
//! alone, with any JSON library, years later. So the hashed bytes cannot depend
//! on serde_json's map order (which changes with its `preserve_order` feature)
//! or on whitespace: [`canonical_json`] sorts object keys recursively and writes
//! no whitespace.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// `prev_hash` of a stream's first event.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The columns of one event that its hash covers. Everything but `position`
/// (assigned by SQLite), `recorded_at` (a copy of a metadata field) and the
/// hashes themselves.
#[derive(Clone, Copy, Debug)]
pub struct HashedEvent<'a> {
    /// `A::TYPE`.
    pub aggregate_type: &'a str,
    /// The stream.
    pub aggregate_id: &'a str,
    /// Position in the stream, from 1.
    pub sequence: u64,
    /// Stable event type name.
    pub event_type: &'a str,
    /// Event schema version.
    pub event_version: &'a str,
    /// The event as stored.
    pub payload: &'a Value,
    /// The metadata as stored, including `event_id`.
    pub metadata: &'a Value,
}

/// `SHA-256(prev_hash || canonical JSON of the event)` as lowercase hex, where
/// `prev_hash` is the previous event's hash as its 64 hex characters and the
/// event is the object
/// `{aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata}`.
pub fn event_hash(prev_hash: &str, event: &HashedEvent<'_>) -> String {
    chain_hash(prev_hash, &canonical_event(event))
}

/// The canonical JSON of the event object that [`event_hash`] hashes. Split
/// out so the store can compute it before it knows `prev_hash` (outside its
/// single writer), leaving only [`chain_hash`] for the serialised part.
pub fn canonical_event(event: &HashedEvent<'_>) -> String {
    let document = serde_json::json!({
        "aggregate_type": event.aggregate_type,
        "aggregate_id": event.aggregate_id,
        "sequence": event.sequence,
        "event_type": event.event_type,
        "event_version": event.event_version,
        "payload": event.payload,
        "metadata": event.metadata,
    });
    canonical_json(&document)
}

/// `SHA-256(prev_hash || canonical)` as lowercase hex.
pub fn chain_hash(prev_hash: &str, canonical: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(canonical.as_bytes());
    hex::encode(hasher.finalize())
}

/// `value` as JSON with object keys sorted (by their UTF-8 bytes, i.e. by
/// code point) at every depth and no whitespace. Strings and numbers are
/// written as serde_json writes them, which is deterministic for a given value.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => {
            out.push_str(&value.to_string());
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                // A key is a JSON string; Value::String's Display escapes it.
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(item, out);
            }
            out.push('}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_are_sorted_and_whitespace_dropped() {
        let value = json!({ "b": 1, "a": [true, null, "x"], "c": { "z": 1.5, "y": "é\"" } });
        assert_eq!(
            canonical_json(&value),
            r#"{"a":[true,null,"x"],"b":1,"c":{"y":"é\"","z":1.5}}"#
        );
    }

    #[test]
    fn insertion_order_does_not_matter() {
        // Built from text in two key orders, so the result would differ if
        // canonical_json followed the map's iteration order (as it would with
        // serde_json's `preserve_order`).
        let one: Value =
            serde_json::from_str(r#"{"x":{"m":1,"n":[{"q":1,"p":2}]},"a":"s"}"#).unwrap();
        let two: Value =
            serde_json::from_str(r#"{"a":"s","x":{"n":[{"p":2,"q":1}],"m":1}}"#).unwrap();
        assert_eq!(canonical_json(&one), canonical_json(&two));
        assert_eq!(
            canonical_json(&one),
            r#"{"a":"s","x":{"m":1,"n":[{"p":2,"q":1}]}}"#
        );
    }

    #[test]
    fn array_order_is_kept() {
        assert_eq!(canonical_json(&json!([3, 1, 2])), "[3,1,2]");
        assert_ne!(
            canonical_json(&json!([1, 2])),
            canonical_json(&json!([2, 1]))
        );
    }

    #[test]
    fn scalars_and_escapes() {
        assert_eq!(canonical_json(&json!(null)), "null");
        assert_eq!(canonical_json(&json!(-12)), "-12");
        assert_eq!(canonical_json(&json!("a\nb\u{1}")), r#""a\nb\u0001""#);
        assert_eq!(canonical_json(&json!({"k\"ey": {}})), r#"{"k\"ey":{}}"#);
        assert_eq!(canonical_json(&json!({"e": []})), r#"{"e":[]}"#);
    }

    #[test]
    fn hash_depends_on_every_field_and_on_prev_hash() {
        let payload = json!({"n": 1});
        let metadata = json!({"event_id": "x"});
        let event = HashedEvent {
            aggregate_type: "t",
            aggregate_id: "a",
            sequence: 1,
            event_type: "E",
            event_version: "1.0",
            payload: &payload,
            metadata: &metadata,
        };
        let base = event_hash(GENESIS_HASH, &event);
        assert_eq!(base.len(), 64);
        assert_eq!(base, event_hash(GENESIS_HASH, &event), "deterministic");
        let other_payload = json!({"n": 2});
        let variants = [
            HashedEvent {
                aggregate_id: "b",
                ..event
            },
            HashedEvent {
                sequence: 2,
                ..event
            },
            HashedEvent {
                payload: &other_payload,
                ..event
            },
        ];
        for variant in &variants {
            assert_ne!(base, event_hash(GENESIS_HASH, variant));
        }
        assert_ne!(base, event_hash(&"1".repeat(64), &event));
    }
}
