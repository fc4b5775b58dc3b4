//! A seal: a signed statement of what the log held at one position, in a
//! short text fit to publish (a monthly report, a message to the higher
//! federation). Lines starting with `#` are comments for people and are not
//! signed; the signed message is the exact bytes of the field lines from
//! `bangfu-seal:` to `public_key:`, each ending in `\n`:
//!
//! ```text
//! bangfu-seal: 1
//! sealed_at: 2026-12-02T14:00:00Z
//! log_position: 1234
//! events: 1234
//! streams: 56
//! streams_root: <64 hex>
//! log_root: <64 hex>
//! public_key: <64 hex, Ed25519>
//! signature: <128 hex, Ed25519 over the lines above>
//! ```

use ed25519_dalek::{Signature, VerifyingKey};

use super::scan::Snapshot;
use super::{key::SealKey, AuditError};
use crate::store::LogPosition;

/// The fields, in the order they are written and signed.
const FIELDS: [&str; 8] = [
    "bangfu-seal",
    "sealed_at",
    "log_position",
    "events",
    "streams",
    "streams_root",
    "log_root",
    "public_key",
];

/// One seal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seal {
    /// When it was made, RFC 3339 UTC.
    pub sealed_at: String,
    /// The last event it covers (`START` for an empty log).
    pub log_position: LogPosition,
    /// What the log held up to there.
    pub snapshot: Snapshot,
    /// The signer's public key, hex.
    pub public_key: String,
    /// Ed25519 signature of [`Seal::signed_body`], hex.
    pub signature: String,
    /// The signed lines exactly as read or written.
    signed_body: String,
}

impl Seal {
    /// Makes and signs a seal.
    pub fn sign(
        key: &SealKey,
        sealed_at: chrono::DateTime<chrono::Utc>,
        log_position: LogPosition,
        snapshot: Snapshot,
    ) -> Seal {
        let sealed_at = sealed_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let public_key = key.public_hex();
        let values = [
            "1".to_string(),
            sealed_at.clone(),
            log_position.to_string(),
            snapshot.events.to_string(),
            snapshot.streams.to_string(),
            hex::encode(snapshot.streams_root),
            hex::encode(snapshot.log_root),
            public_key.clone(),
        ];
        let signed_body: String = FIELDS
            .iter()
            .zip(values.iter())
            .map(|(name, value)| format!("{name}: {value}\n"))
            .collect();
        let signature = hex::encode(key.sign(signed_body.as_bytes()));
        Seal {
            sealed_at,
            log_position,
            snapshot,
            public_key,
            signature,
            signed_body,
        }
    }

    /// The bytes the signature covers.
    pub fn signed_body(&self) -> &str {
        &self.signed_body
    }

    /// The seal as text to publish: two comment lines for people, then the
    /// signed lines and the signature.
    pub fn to_text(&self) -> String {
        format!(
            "# 帮扶 bangfu 审计封印 / audit seal\n# 截至日志位置 {} 共 {} 个事件、{} 个案卷流 / {} events in {} streams up to log position {}\n{}signature: {}\n",
            self.log_position,
            self.snapshot.events,
            self.snapshot.streams,
            self.snapshot.events,
            self.snapshot.streams,
            self.log_position,
            self.signed_body,
            self.signature
        )
    }

    /// Whether the signature is a valid Ed25519 signature by `key` (strict
    /// verification) and `key` is the one the seal names.
    pub fn signed_by(&self, key: &VerifyingKey) -> bool {
        if hex::encode(key.to_bytes()) != self.public_key {
            return false;
        }
        let Some(bytes) = hex::decode(&self.signature)
            .ok()
            .and_then(|b| <[u8; 64]>::try_from(b).ok())
        else {
            return false;
        };
        key.verify_strict(self.signed_body.as_bytes(), &Signature::from_bytes(&bytes))
            .is_ok()
    }

    /// Every seal in `text` (one file may hold several), in order.
    pub fn parse_all(text: &str) -> Result<Vec<Seal>, AuditError> {
        let lines: Vec<&str> = text
            .lines()
            .map(|l| l.trim_end_matches('\r'))
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .collect();
        let mut seals = Vec::new();
        for block in lines.chunks(FIELDS.len() + 1) {
            seals.push(Seal::parse_block(block)?);
        }
        if seals.is_empty() {
            return Err(AuditError::SealFormat("no seal found".into()));
        }
        Ok(seals)
    }

    fn parse_block(block: &[&str]) -> Result<Seal, AuditError> {
        let bad = |why: String| AuditError::SealFormat(why);
        let mut values = Vec::with_capacity(FIELDS.len() + 1);
        let names = FIELDS.iter().chain(std::iter::once(&"signature"));
        for (i, name) in names.enumerate() {
            let line = block
                .get(i)
                .ok_or_else(|| bad(format!("`{name}:` missing")))?;
            let value = line
                .strip_prefix(name)
                .and_then(|rest| rest.strip_prefix(": "))
                .ok_or_else(|| bad(format!("expected `{name}: …`, found `{line}`")))?;
            values.push(value);
        }
        if values[0] != "1" {
            return Err(bad(format!("unknown seal format {}", values[0])));
        }
        let number = |i: usize| {
            values[i]
                .parse::<u64>()
                .map_err(|_| bad(format!("`{}` is not a count", FIELDS[i])))
        };
        let digest = |i: usize| {
            hex::decode(values[i])
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or_else(|| bad(format!("`{}` is not 64 hex digits", FIELDS[i])))
        };
        let snapshot = Snapshot {
            events: number(3)?,
            streams: number(4)?,
            streams_root: digest(5)?,
            log_root: digest(6)?,
        };
        let signed_body: String = block[..FIELDS.len()]
            .iter()
            .map(|l| format!("{l}\n"))
            .collect();
        Ok(Seal {
            sealed_at: values[1].to_string(),
            log_position: parse_position(values[2])
                .ok_or_else(|| bad(format!("`{}` is not a log position", values[2])))?,
            snapshot,
            public_key: values[7].to_string(),
            signature: values[8].to_string(),
            signed_body,
        })
    }
}

/// `N` or `C/N`, as [`LogPosition`] displays.
pub fn parse_position(text: &str) -> Option<LogPosition> {
    match text.split_once('/') {
        Some((commit, position)) => Some(LogPosition {
            commit: commit.parse().ok()?,
            position: position.parse().ok()?,
        }),
        None => text.parse().ok().map(LogPosition::at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seal(key: &SealKey) -> Seal {
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-02T14:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let snapshot = Snapshot {
            events: 3,
            streams: 2,
            streams_root: [7; 32],
            log_root: [9; 32],
        };
        Seal::sign(
            key,
            at,
            LogPosition {
                commit: 12,
                position: 3,
            },
            snapshot,
        )
    }

    #[test]
    fn text_round_trips_and_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let key = SealKey::load_or_create(&dir.path().join("k")).unwrap();
        let made = seal(&key);
        let text = made.to_text();
        let read = Seal::parse_all(&format!("{text}\n{text}")).unwrap();
        assert_eq!(read, vec![made.clone(), made.clone()]);
        assert!(read[0].signed_by(&key.public()));
        assert!(text.contains("log_position: 12/3\n"), "{text}");
    }

    #[test]
    fn any_altered_field_or_other_key_fails() {
        let dir = tempfile::tempdir().unwrap();
        let key = SealKey::load_or_create(&dir.path().join("k")).unwrap();
        let other = SealKey::load_or_create(&dir.path().join("o")).unwrap();
        let text = seal(&key).to_text();
        let altered = text.replace("events: 3", "events: 4");
        let read = Seal::parse_all(&altered).unwrap();
        assert!(!read[0].signed_by(&key.public()));
        assert!(!seal(&key).signed_by(&other.public()));
        assert!(Seal::parse_all("bangfu-seal: 1\n").is_err());
        assert!(Seal::parse_all("# only a comment\n").is_err());
        assert_eq!(parse_position("7"), Some(LogPosition::at(7)));
        assert_eq!(parse_position("x/7"), None);
    }
}
