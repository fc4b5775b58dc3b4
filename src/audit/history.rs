//! A stream's history as people and auditors read it, shared by `bangfu
//! history` and `GET /v1/{type}/{id}/events` (JSON and files): each stored
//! event with its label and summary, who acted, its hash chain, and the
//! chain mark of [`super::marks`] on a row that does not recompute.

use domain::command::metadata_keys as keys;
use domain::i18n::{ErrorCode, Lang};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::app::CaseAggregate;
use crate::read::mask::mask_json;
use crate::store::StoredEvent;

/// One stored event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EventDoc {
    /// Global position in commit order.
    pub position: u64,
    /// The event's id.
    pub event_id: String,
    /// Its sequence in the stream, from 1.
    pub sequence: usize,
    /// Stable type name.
    pub event_type: String,
    /// Schema version.
    pub event_version: String,
    /// Its name for people.
    pub label: String,
    /// One line for people, personal data masked.
    pub summary: String,
    /// Who acted.
    pub actor_id: Option<String>,
    /// In which role.
    pub actor_role: Option<String>,
    /// When (RFC 3339, UTC).
    pub recorded_at: Option<String>,
    /// The command that wrote it.
    pub command_id: Option<String>,
    /// Ties commands of one piece of work together.
    pub correlation_id: Option<String>,
    /// The event as stored (personal data masked for roles that do not need it).
    #[schema(value_type = Object)]
    pub payload: Value,
    /// The previous event's hash (64 zeros for the first).
    pub prev_hash: String,
    /// SHA-256 of `prev_hash` and this event.
    pub hash: String,
    /// Whether this row's link of the hash chain recomputes.
    pub chain_ok: bool,
    /// What is wrong with it, in the reader's language (absent when intact).
    pub chain_problem: Option<String>,
}

/// The events of one stream (in sequence order, the whole stream or its
/// past as of a point) as [`EventDoc`]s, payloads masked when `mask`.
/// Chain marks are computed over `events` as given.
pub fn event_docs<A>(events: Vec<StoredEvent>, lang: Lang, mask: bool) -> Vec<EventDoc>
where
    A: CaseAggregate,
    A::Error: ErrorCode,
{
    let marks = super::marks::row_marks(&events);
    events
        .into_iter()
        .zip(marks)
        .map(|(e, mark)| {
            let (label, summary) = match crate::app::engine::read_event::<A>(
                &e.event_type,
                &e.event_version,
                &e.payload,
            ) {
                Some(ev) => (
                    A::event_label(&ev, lang).to_string(),
                    A::event_describe(&ev, lang),
                ),
                None => (e.event_type.clone(), String::new()),
            };
            let mut payload = e.payload;
            if mask {
                mask_json(&mut payload);
            }
            let meta = |k: &str| e.metadata.get(k).cloned();
            EventDoc {
                position: e.position,
                event_id: e.event_id.to_string(),
                sequence: e.sequence,
                event_type: e.event_type,
                event_version: e.event_version,
                label,
                summary,
                actor_id: meta(keys::ACTOR_ID),
                actor_role: meta(keys::ACTOR_ROLE),
                recorded_at: e.recorded_at,
                command_id: meta(keys::COMMAND_ID),
                correlation_id: meta(keys::CORRELATION_ID),
                payload,
                prev_hash: e.prev_hash,
                hash: e.hash,
                chain_ok: mark.is_none(),
                chain_problem: mark.map(|p| super::marks::label(p, lang).to_string()),
            }
        })
        .collect()
}
