//! The per-stream hash chain: what is hashed, and the canonical JSON it is
//! hashed in.
//!
//! An auditor must be able to recompute every hash from the stored columns
//! alone, with any JSON library, years later. So the hashed bytes are the JSON
//! Canonicalization Scheme of RFC 8785 ([`canonical_json`], by the
//! `serde_json_canonicalizer` crate): keys sorted by UTF-16 code units, no
//! whitespace, ECMAScript number and string forms — a published standard
//! with implementations in many languages.
//!
//! Chains written before bangfu used RFC 8785 were hashed over
//! [`legacy_canonical_json`] (keys sorted by UTF-8 bytes, serde_json's number
//! and string output). The two are the same bytes for every value whose
//! numbers are integers of magnitude below 2^53 and whose object keys hold
//! no character above U+FFFF (UTF-8 and UTF-16 order then agree); bangfu's
//! events are such values (money is integer fen, at most 10^18 in a total,
//! but no event carries a total; keys are field names and ids). A test
//! checks this for generated values and for every event the demo writes.
//! Verification therefore recomputes with RFC 8785 and, only where that
//! differs and the legacy form is different bytes, also accepts the legacy
//! hash ([`hash_matches`]), so an old chain holding some unusual value still
//! verifies. ARCHITECTURE.md, "Seals and the hash chain", has the full
//! specification and test vectors.

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

/// Whether `stored` is the hash of `event` after `prev_hash`: in the RFC 8785
/// form, or (a chain written before it) in the legacy form where that is
/// different bytes. `Err` carries the expected (RFC 8785) hash.
pub fn hash_matches(prev_hash: &str, event: &HashedEvent<'_>, stored: &str) -> Result<(), String> {
    let document = event_document(event);
    let canonical = canonical_json(&document);
    let expected = chain_hash(prev_hash, &canonical);
    if expected == stored {
        return Ok(());
    }
    let legacy = legacy_canonical_json(&document);
    if legacy != canonical && chain_hash(prev_hash, &legacy) == stored {
        return Ok(());
    }
    Err(expected)
}

fn event_document(event: &HashedEvent<'_>) -> Value {
    serde_json::json!({
        "aggregate_type": event.aggregate_type,
        "aggregate_id": event.aggregate_id,
        "sequence": event.sequence,
        "event_type": event.event_type,
        "event_version": event.event_version,
        "payload": event.payload,
        "metadata": event.metadata,
    })
}

/// The canonical JSON of the event object that [`event_hash`] hashes. Split
/// out so the store can compute it before it knows `prev_hash` (outside its
/// single writer), leaving only [`chain_hash`] for the serialised part.
pub fn canonical_event(event: &HashedEvent<'_>) -> String {
    canonical_json(&event_document(event))
}

/// `SHA-256(prev_hash || canonical)` as lowercase hex.
pub fn chain_hash(prev_hash: &str, canonical: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(canonical.as_bytes());
    hex::encode(hasher.finalize())
}

/// `value` in the JSON Canonicalization Scheme (RFC 8785).
pub fn canonical_json(value: &Value) -> String {
    // Serialising a `Value` fails only for a non-finite number, which a
    // `Value` cannot hold; the legacy form is the same bytes for such values
    // anyway.
    serde_json_canonicalizer::to_string(value).unwrap_or_else(|_| legacy_canonical_json(value))
}

/// The form chains were hashed in before RFC 8785: object keys sorted by
/// their UTF-8 bytes at every depth, no whitespace, strings and numbers as
/// serde_json writes them. Kept to verify those chains (see the module docs).
pub fn legacy_canonical_json(value: &Value) -> String {
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

    /// The event-hash test vector of ARCHITECTURE.md ("Seals and the hash
    /// chain"), also checked by tools/verify_seal.py's self-test.
    #[test]
    fn event_hash_test_vector() {
        let payload = json!({"FileOpened": {"b": 2, "a": "陈"}});
        let metadata = json!({"event_id": "x", "actor_id": "lin"});
        let event = HashedEvent {
            aggregate_type: "hardship_file",
            aggregate_id: "HF-1",
            sequence: 1,
            event_type: "FileOpened",
            event_version: "1.0",
            payload: &payload,
            metadata: &metadata,
        };
        assert_eq!(
            canonical_event(&event),
            r#"{"aggregate_id":"HF-1","aggregate_type":"hardship_file","event_type":"FileOpened","event_version":"1.0","metadata":{"actor_id":"lin","event_id":"x"},"payload":{"FileOpened":{"a":"陈","b":2}},"sequence":1}"#
        );
        assert_eq!(
            event_hash(GENESIS_HASH, &event),
            "b141f6eef6dec8be3eae0b48c4d79fd2f2b6f571c05e607d02b0e4d2c917e4d5"
        );
    }

    /// RFC 8785 and the legacy form are the same bytes for the values bangfu
    /// writes: integers below 2^53, strings with any characters (escapes
    /// included), keys of the Basic Multilingual Plane, nesting.
    #[test]
    fn rfc8785_equals_the_legacy_form_for_bangfu_values() {
        let samples = [
            json!({"amount_fen": 1_000_000_000_000_000_i64, "neg": -9_007_199_254_740_991_i64, "z": 0}),
            json!({"text": "陈建国\n\t\u{1}\"\\/\u{7f}\u{2028}😀", "list": [null, true, false, [], {}]}),
            json!({"é": 1, "e": 2, "Z": 3, "_": 4, "中": 5, "ａ": 6}),
            json!({"deep": {"b": [{"y": 1, "x": 2}], "a": {"k": "v"}}}),
        ];
        for v in &samples {
            assert_eq!(canonical_json(v), legacy_canonical_json(v), "{v}");
        }
        // Where they differ (floats), verification still accepts a chain
        // hashed in the legacy form.
        let float = json!({"x": 1.0});
        assert_ne!(canonical_json(&float), legacy_canonical_json(&float));
        let metadata = json!({});
        let event = HashedEvent {
            aggregate_type: "t",
            aggregate_id: "a",
            sequence: 1,
            event_type: "E",
            event_version: "1.0",
            payload: &float,
            metadata: &metadata,
        };
        let legacy = chain_hash(
            GENESIS_HASH,
            &legacy_canonical_json(&event_document(&event)),
        );
        assert!(hash_matches(GENESIS_HASH, &event, &legacy).is_ok());
        assert!(hash_matches(GENESIS_HASH, &event, &"0".repeat(64)).is_err());
    }
}
