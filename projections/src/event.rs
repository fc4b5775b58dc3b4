//! Events as projections see them: one typed domain event with its place in
//! the global log and the metadata every event carries.
//!
//! [`decode`] turns a stored row (aggregate type, event type, version, JSON
//! payload) into a [`CaseEvent`]. It refuses what it does not know — an
//! unknown aggregate type, an event version without an upcaster — rather than
//! skipping it: a projector that skipped an event would be silently wrong, so
//! it stops and says why instead.

use domain::donation::DonationCampaignEvent;
use domain::finance::batch::PayoutBatchEvent;
use domain::finance::period::AccountingPeriodEvent;
use domain::fund::account::FundAccountEvent;
use domain::hardship::HardshipFileEvent;
use domain::mutual_aid::{MutualAidClaimEvent, MutualAidPlanEvent};
use serde::Deserialize;

/// The stored aggregate type names (`Aggregate::TYPE`) projections read.
pub mod aggregate_types {
    /// [`domain::hardship::HardshipFile`].
    pub const HARDSHIP_FILE: &str = "hardship_file";
    /// [`domain::mutual_aid::MutualAidPlan`].
    pub const MUTUAL_AID_PLAN: &str = "mutual_aid_plan";
    /// [`domain::mutual_aid::MutualAidClaim`].
    pub const MUTUAL_AID_CLAIM: &str = "mutual_aid_claim";
    /// [`domain::donation::DonationCampaign`].
    pub const DONATION_CAMPAIGN: &str = "donation_campaign";
    /// [`domain::fund::account::FundAccount`].
    pub const FUND_ACCOUNT: &str = "fund_account";
    /// [`domain::finance::batch::PayoutBatch`].
    pub const PAYOUT_BATCH: &str = "payout_batch";
    /// [`domain::finance::period::AccountingPeriod`].
    pub const ACCOUNTING_PERIOD: &str = "accounting_period";
    /// Every one of them.
    pub const ALL: [&str; 7] = [
        HARDSHIP_FILE,
        MUTUAL_AID_PLAN,
        MUTUAL_AID_CLAIM,
        DONATION_CAMPAIGN,
        FUND_ACCOUNT,
        PAYOUT_BATCH,
        ACCOUNTING_PERIOD,
    ];
}

/// An event of any aggregate bangfu projects.
#[derive(Clone, Debug, PartialEq)]
pub enum CaseEvent {
    /// 困难职工档案.
    HardshipFile(HardshipFileEvent),
    /// 医疗互助期.
    MutualAidPlan(MutualAidPlanEvent),
    /// 医疗互助补助申请.
    MutualAidClaim(MutualAidClaimEvent),
    /// 一日捐活动.
    DonationCampaign(DonationCampaignEvent),
    /// 资金账户.
    FundAccount(FundAccountEvent),
    /// 发放批次.
    PayoutBatch(PayoutBatchEvent),
    /// 会计期间.
    AccountingPeriod(AccountingPeriodEvent),
}

/// One event of the global log, decoded, with what projections need besides
/// the event itself.
#[derive(Clone, Debug, PartialEq)]
pub struct Recorded {
    /// Place in the global log (the order events are applied in).
    pub position: crate::LogPosition,
    /// The stream (aggregate id).
    pub aggregate_id: String,
    /// Position in the stream, from 1.
    pub sequence: u64,
    /// The event.
    pub event: CaseEvent,
    /// `metadata.actor_id`, when present.
    pub actor: Option<String>,
    /// `metadata.recorded_at` (RFC 3339), when present.
    pub recorded_at: Option<String>,
}

/// Why a stored event could not be decoded. The projector stops on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// No projection knows this aggregate type: whoever added the aggregate
    /// must decide what the views do with it.
    UnknownAggregateType(String),
    /// An event version this code has no upcaster for.
    UnsupportedVersion {
        /// The aggregate type.
        aggregate_type: String,
        /// The event type.
        event_type: String,
        /// The stored version.
        event_version: String,
    },
    /// The payload is not an event of its aggregate type.
    Payload {
        /// The aggregate type.
        aggregate_type: String,
        /// The event type.
        event_type: String,
        /// serde's message.
        message: String,
    },
    /// The stored event type is not the payload's.
    TypeMismatch {
        /// The stored `event_type` column.
        stored: String,
        /// The payload's tag.
        payload: String,
    },
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::UnknownAggregateType(t) => {
                write!(f, "no projection knows aggregate type `{t}`")
            }
            DecodeError::UnsupportedVersion {
                aggregate_type,
                event_type,
                event_version,
            } => write!(
                f,
                "{aggregate_type} event {event_type} has version {event_version}, which projections cannot read (this build reads version {}; no upcaster leads from {event_version})",
                domain::upcast::current_version(aggregate_type, event_type)
            ),
            DecodeError::Payload {
                aggregate_type,
                event_type,
                message,
            } => write!(
                f,
                "{aggregate_type} event {event_type} does not decode: {message}"
            ),
            DecodeError::TypeMismatch { stored, payload } => {
                write!(f, "stored event type {stored} but the payload is {payload}")
            }
        }
    }
}

impl std::error::Error for DecodeError {}

/// Decodes one stored event from its JSON text (the payload column as
/// stored). An event of an older version is first brought to its type's
/// current shape by the domain's upcaster chain ([`domain::upcast`], the one
/// aggregate loading uses too); a version the chain cannot reach is
/// [`DecodeError::UnsupportedVersion`].
///
/// A current payload is deserialised straight into the typed event, without
/// an intermediate `serde_json::Value`: a rebuild decodes every event of the
/// log, and the tree of maps and strings a `Value` allocates cost more than
/// the decoding itself. Only old versions take the `Value` path.
pub fn decode(
    aggregate_type: &str,
    event_type: &str,
    event_version: &str,
    payload: &str,
) -> Result<CaseEvent, DecodeError> {
    use aggregate_types::*;
    if !domain::upcast::is_current(aggregate_type, event_type, event_version) {
        return decode_old(aggregate_type, event_type, event_version, payload);
    }
    fn read<E: for<'de> Deserialize<'de>>(
        aggregate_type: &str,
        event_type: &str,
        payload: &str,
    ) -> Result<E, DecodeError> {
        let event = serde_json::from_str(payload).map_err(|e| DecodeError::Payload {
            aggregate_type: aggregate_type.to_string(),
            event_type: event_type.to_string(),
            message: e.to_string(),
        })?;
        // The tag is the payload's single top-level key (or the payload
        // itself, for a unit variant); checking it catches a row whose
        // columns disagree.
        let tag = payload_tag(payload).unwrap_or_default();
        if tag != event_type {
            return Err(DecodeError::TypeMismatch {
                stored: event_type.to_string(),
                payload: tag.to_string(),
            });
        }
        Ok(event)
    }
    Ok(match aggregate_type {
        HARDSHIP_FILE => CaseEvent::HardshipFile(read(aggregate_type, event_type, payload)?),
        MUTUAL_AID_PLAN => CaseEvent::MutualAidPlan(read(aggregate_type, event_type, payload)?),
        MUTUAL_AID_CLAIM => CaseEvent::MutualAidClaim(read(aggregate_type, event_type, payload)?),
        DONATION_CAMPAIGN => {
            CaseEvent::DonationCampaign(read(aggregate_type, event_type, payload)?)
        }
        FUND_ACCOUNT => CaseEvent::FundAccount(read(aggregate_type, event_type, payload)?),
        PAYOUT_BATCH => CaseEvent::PayoutBatch(read(aggregate_type, event_type, payload)?),
        ACCOUNTING_PERIOD => {
            CaseEvent::AccountingPeriod(read(aggregate_type, event_type, payload)?)
        }
        other => return Err(DecodeError::UnknownAggregateType(other.to_string())),
    })
}

/// [`decode`] for an event stored at an older version: upcast to the
/// current shape, then decoded as a current event (tag checks included).
fn decode_old(
    aggregate_type: &str,
    event_type: &str,
    event_version: &str,
    payload: &str,
) -> Result<CaseEvent, DecodeError> {
    if !aggregate_types::ALL.contains(&aggregate_type) {
        return Err(DecodeError::UnknownAggregateType(
            aggregate_type.to_string(),
        ));
    }
    // An unknown version says so, whatever its payload.
    if !domain::upcast::can_read(aggregate_type, event_type, event_version) {
        return Err(DecodeError::UnsupportedVersion {
            aggregate_type: aggregate_type.to_string(),
            event_type: event_type.to_string(),
            event_version: event_version.to_string(),
        });
    }
    let payload_error = |message: String| DecodeError::Payload {
        aggregate_type: aggregate_type.to_string(),
        event_type: event_type.to_string(),
        message,
    };
    let value: serde_json::Value =
        serde_json::from_str(payload).map_err(|e| payload_error(e.to_string()))?;
    let upcast = domain::upcast::upcast(aggregate_type, event_type, event_version, value)
        .map_err(|e| payload_error(e.to_string()))?;
    let current = domain::upcast::current_version(aggregate_type, event_type);
    decode(aggregate_type, event_type, current, &upcast.to_string())
}

/// The variant tag of an externally tagged event's JSON text: the first key
/// of the top-level object, or the top-level string. Only called on text
/// that has just deserialised as an event, whose tags are plain ASCII
/// identifiers (no escapes), so reading up to the next quote is exact.
fn payload_tag(payload: &str) -> Option<&str> {
    let rest = payload.trim_start();
    let rest = match rest.strip_prefix('{') {
        Some(inner) => inner.trim_start(),
        None => rest,
    };
    let quoted = rest.strip_prefix('"')?;
    quoted.split_once('"').map(|(tag, _)| tag)
}

impl CaseEvent {
    /// The event's type name, as stored (its JSON tag).
    pub fn type_name(&self) -> String {
        match self.to_payload() {
            serde_json::Value::Object(map) => map.keys().next().cloned().unwrap_or_default(),
            serde_json::Value::String(s) => s,
            _ => String::new(),
        }
    }

    /// The stored aggregate type of the event's stream.
    pub fn aggregate_type(&self) -> &'static str {
        use aggregate_types::*;
        match self {
            CaseEvent::HardshipFile(_) => HARDSHIP_FILE,
            CaseEvent::MutualAidPlan(_) => MUTUAL_AID_PLAN,
            CaseEvent::MutualAidClaim(_) => MUTUAL_AID_CLAIM,
            CaseEvent::DonationCampaign(_) => DONATION_CAMPAIGN,
            CaseEvent::FundAccount(_) => FUND_ACCOUNT,
            CaseEvent::PayoutBatch(_) => PAYOUT_BATCH,
            CaseEvent::AccountingPeriod(_) => ACCOUNTING_PERIOD,
        }
    }

    /// The event's JSON as the store keeps it.
    pub fn to_payload(&self) -> serde_json::Value {
        let value = match self {
            CaseEvent::HardshipFile(e) => serde_json::to_value(e),
            CaseEvent::MutualAidPlan(e) => serde_json::to_value(e),
            CaseEvent::MutualAidClaim(e) => serde_json::to_value(e),
            CaseEvent::DonationCampaign(e) => serde_json::to_value(e),
            CaseEvent::FundAccount(e) => serde_json::to_value(e),
            CaseEvent::PayoutBatch(e) => serde_json::to_value(e),
            CaseEvent::AccountingPeriod(e) => serde_json::to_value(e),
        };
        value.unwrap_or(serde_json::Value::Null)
    }
}
