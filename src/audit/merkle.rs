//! The Merkle trees a seal commits to: RFC 6962's Merkle Tree Hash (the one
//! Certificate Transparency publishes signed tree heads of) over SHA-256,
//! with leaves that are RFC 8785 JSON arrays.
//!
//! - `MTH({})` = SHA-256 of the empty string;
//! - `MTH({d})` = SHA-256(0x00 ‖ d);
//! - `MTH(D[0..n])` = SHA-256(0x01 ‖ MTH(D[0..k]) ‖ MTH(D[k..n])), k the
//!   largest power of two below n.
//!
//! Two trees: the streams (`["hardship_file","HF-1",3,"<head hash>"]` per
//! stream, sorted by aggregate type then id, byte order) and the log
//! (`[position,"<event hash>"]` per event, in log order).

use sha2::{Digest, Sha256};

/// A SHA-256 digest.
pub type Digest32 = [u8; 32];

/// The leaf hash `SHA-256(0x00 ‖ data)`.
pub fn leaf_hash(data: &[u8]) -> Digest32 {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

fn node_hash(left: &Digest32, right: &Digest32) -> Digest32 {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// RFC 6962's Merkle Tree Hash of the leaves whose leaf hashes are given.
pub fn root(leaves: &[Digest32]) -> Digest32 {
    match leaves.len() {
        0 => Sha256::digest([]).into(),
        1 => leaves[0],
        n => {
            let k = largest_power_of_two_below(n);
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

fn largest_power_of_two_below(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// The leaf data of one stream: `["type","id",version,"head hash"]`, RFC 8785.
pub fn stream_leaf(aggregate_type: &str, aggregate_id: &str, version: u64, head: &str) -> Digest32 {
    let data = serde_json::json!([aggregate_type, aggregate_id, version, head]);
    leaf_hash(crate::store::hash::canonical_json(&data).as_bytes())
}

/// The leaf data of one event of the log: `[position,"hash"]`, RFC 8785.
pub fn log_leaf(position: u64, hash: &str) -> Digest32 {
    let data = serde_json::json!([position, hash]);
    leaf_hash(crate::store::hash::canonical_json(&data).as_bytes())
}

/// Test vector: `log_leaf(1, "a"×64)`.
pub const VECTOR_LOG_LEAF_1: &str =
    "448488c04eae0d6c758974a5ec23384209f6c254c7065a8fddbbd6ff0ca568e0";
/// Test vector: the root of log leaves 1→"a"×64, 2→"b"×64, 3→"c"×64.
pub const VECTOR_LOG_ROOT_3: &str =
    "01a3fa3d62022049aba5c1971a63000e1cc305e3262210a0fd245e5541ddaa9f";
/// Test vector: `stream_leaf("hardship_file", "HF-1", 3, "d"×64)`.
pub const VECTOR_STREAM_LEAF: &str =
    "b62934a4b80dec21723c4b5679870b98d3bc229ca145275fb6106ce032d7ca77";

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(d: Digest32) -> String {
        hex::encode(d)
    }

    /// The vectors ARCHITECTURE.md ("Seals and the hash chain") prints, and
    /// tools/verify_seal.py's self-test checks.
    #[test]
    fn test_vectors() {
        assert_eq!(
            hex(root(&[])),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let a = log_leaf(1, &"a".repeat(64));
        let b = log_leaf(2, &"b".repeat(64));
        let c = log_leaf(3, &"c".repeat(64));
        assert_eq!(hex(root(&[a])), hex(a));
        assert_eq!(root(&[a, b]), node_hash(&a, &b));
        assert_eq!(root(&[a, b, c]), node_hash(&node_hash(&a, &b), &c));
        let s = stream_leaf("hardship_file", "HF-1", 3, &"d".repeat(64));
        let vectors = [
            (hex(a), VECTOR_LOG_LEAF_1),
            (hex(root(&[a, b, c])), VECTOR_LOG_ROOT_3),
            (hex(s), VECTOR_STREAM_LEAF),
        ];
        for (got, want) in vectors {
            assert_eq!(got, want);
        }
    }

    #[test]
    fn order_and_content_matter() {
        let a = log_leaf(1, &"a".repeat(64));
        let b = log_leaf(2, &"b".repeat(64));
        assert_ne!(root(&[a, b]), root(&[b, a]));
        assert_ne!(root(&[a]), root(&[a, a]));
        assert_ne!(log_leaf(1, "x"), log_leaf(2, "x"));
        assert_eq!(largest_power_of_two_below(5), 4);
        assert_eq!(largest_power_of_two_below(4), 2);
        assert_eq!(largest_power_of_two_below(2), 1);
    }
}
