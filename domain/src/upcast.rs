//! Events evolve: the upcaster chain that turns a stored event of an older
//! version into the shape the current code reads.
//!
//! History is never edited, so an event written as version `1.0` stays
//! `1.0` in the store forever (its hash covers that JSON). When an event
//! type changes shape, its `event_version()` is bumped and one [`Upcaster`]
//! is added to [`UPCASTERS`]: a pure, deterministic function from the old
//! payload to the new one, using nothing but the event itself. Readers —
//! aggregate loading in the engine (through cqrs-es's `EventUpcaster`) and
//! the projections' `decode` — run the chain *on read*, one step at a time,
//! until the event is at its type's current version. A version the chain
//! cannot reach (a newer build wrote it, or nobody wrote an upcaster) is an
//! error, never a guess.
//!
//! The registry is keyed by (aggregate type, event type, from-version). The
//! current version of an event type is where its chain ends, starting from
//! [`crate::EVENT_VERSION_1`]; `domain`'s golden tests check that every
//! event's `event_version()` agrees, and that every upcaster turns its
//! golden file of the old version into the golden file of the new one.

use serde_json::Value;

use crate::fund::Fund;

/// One step of an event type's chain: `from` → `to`.
#[derive(Clone, Copy, Debug)]
pub struct Upcaster {
    /// The stored aggregate type (`Aggregate::TYPE`).
    pub aggregate_type: &'static str,
    /// The event type (`DomainEvent::event_type`).
    pub event_type: &'static str,
    /// The version this step reads.
    pub from: &'static str,
    /// The version it produces.
    pub to: &'static str,
    /// Rewrites the event's fields (the object inside the variant tag).
    /// Deterministic, from the event alone.
    pub fields: fn(&mut serde_json::Map<String, Value>),
}

/// Every upcaster, in no particular order (the chain is followed by version).
pub const UPCASTERS: &[Upcaster] = &[Upcaster {
    aggregate_type: "mutual_aid_claim",
    event_type: "ClaimApproved",
    from: "1.0",
    to: "2.0",
    fields: claim_approved_gains_fund,
}];

/// `ClaimApproved` 1.0 → 2.0: the approval names the fund that owes the
/// subsidy (as `ClaimPaid` always did), so an approved-but-unpaid claim can
/// count against its fund. A mutual-aid claim is only ever paid from the
/// mutual-aid fund, so every 1.0 approval is [`Fund::MutualAid`].
fn claim_approved_gains_fund(fields: &mut serde_json::Map<String, Value>) {
    let fund = serde_json::to_value(Fund::MutualAid).expect("a Fund serializes");
    fields.insert("fund".to_string(), fund);
}

/// Why a stored event cannot be brought to its current shape.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UpcastError {
    /// No chain leads from this version to the current one (a newer build
    /// wrote it, or an upcaster is missing).
    #[error(
        "{aggregate_type} event {event_type} has version {version}, which this build cannot read \
         (it reads version {current})"
    )]
    UnsupportedVersion {
        /// The aggregate type.
        aggregate_type: String,
        /// The event type.
        event_type: String,
        /// The stored version.
        version: String,
        /// The version this build reads.
        current: &'static str,
    },
    /// The payload is not `{"<event_type>": {…}}`, so no field can be added.
    #[error("{aggregate_type} event {event_type} version {version} is not an object tagged {event_type}")]
    NotTagged {
        /// The aggregate type.
        aggregate_type: String,
        /// The event type.
        event_type: String,
        /// The version being upcast.
        version: String,
    },
}

fn step(aggregate_type: &str, event_type: &str, from: &str) -> Option<&'static Upcaster> {
    UPCASTERS.iter().find(|u| {
        u.aggregate_type == aggregate_type && u.event_type == event_type && u.from == from
    })
}

/// The version the current code writes and reads for this event type: the
/// end of its chain from version 1.0.
pub fn current_version(aggregate_type: &str, event_type: &str) -> &'static str {
    let mut version = crate::EVENT_VERSION_1;
    // Each step leads to a later version; the chain is acyclic by
    // construction (checked by `the_chains_end`), and short.
    while let Some(next) = step(aggregate_type, event_type, version) {
        version = next.to;
    }
    version
}

/// True when a stored event of this version needs no upcasting.
pub fn is_current(aggregate_type: &str, event_type: &str, version: &str) -> bool {
    version == current_version(aggregate_type, event_type)
}

/// True when the chain leads from `version` to the current version (a
/// current version included): an event of this version can be read.
pub fn can_read(aggregate_type: &str, event_type: &str, version: &str) -> bool {
    let current = current_version(aggregate_type, event_type);
    let mut at = version;
    while at != current {
        match step(aggregate_type, event_type, at) {
            Some(next) => at = next.to,
            None => return false,
        }
    }
    true
}

/// Brings a stored event's payload from `version` to its type's current
/// version. A current payload is returned unchanged.
pub fn upcast(
    aggregate_type: &str,
    event_type: &str,
    version: &str,
    mut payload: Value,
) -> Result<Value, UpcastError> {
    let current = current_version(aggregate_type, event_type);
    let mut at = version;
    while at != current {
        let unsupported = || UpcastError::UnsupportedVersion {
            aggregate_type: aggregate_type.to_string(),
            event_type: event_type.to_string(),
            version: version.to_string(),
            current,
        };
        let next = step(aggregate_type, event_type, at).ok_or_else(unsupported)?;
        let fields = payload
            .get_mut(event_type)
            .and_then(Value::as_object_mut)
            .ok_or_else(|| UpcastError::NotTagged {
                aggregate_type: aggregate_type.to_string(),
                event_type: event_type.to_string(),
                version: at.to_string(),
            })?;
        (next.fields)(fields);
        at = next.to;
    }
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_chains_end() {
        // Every step starts from a version its chain reaches, and no two
        // steps start from the same (type, version): the chain is a line.
        for u in UPCASTERS {
            let twins = UPCASTERS
                .iter()
                .filter(|o| {
                    (o.aggregate_type, o.event_type, o.from)
                        == (u.aggregate_type, u.event_type, u.from)
                })
                .count();
            assert_eq!(twins, 1, "two upcasters from {} {}", u.event_type, u.from);
            assert_ne!(
                u.from, u.to,
                "{} upcasts {} to itself",
                u.event_type, u.from
            );
            assert_eq!(current_version(u.aggregate_type, u.event_type), u.to);
        }
    }

    #[test]
    fn claim_approved_1_0_gains_the_mutual_aid_fund() {
        let v1 = json!({"ClaimApproved": {"plan_id": "p", "subsidy_fen": 100}});
        let v2 = upcast("mutual_aid_claim", "ClaimApproved", "1.0", v1).unwrap();
        assert_eq!(
            v2,
            json!({"ClaimApproved": {"plan_id": "p", "subsidy_fen": 100, "fund": "mutual_aid"}})
        );
        assert_eq!(current_version("mutual_aid_claim", "ClaimApproved"), "2.0");
        // Already current: unchanged.
        assert_eq!(
            upcast("mutual_aid_claim", "ClaimApproved", "2.0", v2.clone()).unwrap(),
            v2
        );
    }

    #[test]
    fn a_version_without_a_chain_is_refused() {
        let err = upcast("mutual_aid_claim", "ClaimApproved", "3.0", json!({})).unwrap_err();
        assert!(
            matches!(&err, UpcastError::UnsupportedVersion { version, current: "2.0", .. } if version == "3.0"),
            "{err:?}"
        );
        assert!(err.to_string().contains("version 3.0"), "{err}");
        // Types that never changed are at 1.0 and read nothing else.
        assert_eq!(current_version("hardship_file", "FileOpened"), "1.0");
        assert!(upcast("hardship_file", "FileOpened", "2.0", json!({})).is_err());
        assert!(can_read("mutual_aid_claim", "ClaimApproved", "1.0"));
        assert!(can_read("mutual_aid_claim", "ClaimApproved", "2.0"));
        assert!(!can_read("mutual_aid_claim", "ClaimApproved", "3.0"));
        assert!(!can_read("hardship_file", "FileOpened", "0.9"));
        // An old payload that is not tagged as its type cannot be upcast.
        let err = upcast(
            "mutual_aid_claim",
            "ClaimApproved",
            "1.0",
            json!("ClaimApproved"),
        );
        assert!(matches!(err, Err(UpcastError::NotTagged { .. })), "{err:?}");
    }
}
