//! Offline checks of the KurrentDB store: the record mapping, URLs, errors.

use super::*;
use crate::store::hash::{event_hash, HashedEvent};
use kurrentdb::CurrentRevision;
use serde_json::json;
use std::collections::HashMap;
use uuid::Uuid;

#[test]
fn money_that_is_spent_is_refused_and_money_that_comes_in_is_not() {
    let prepared = |aggregate_type: &str, event_type: &str, payload: Value| {
        let event = SerializedEvent::new(
            "S-1".to_string(),
            1,
            aggregate_type.to_string(),
            event_type.to_string(),
            "1.0".to_string(),
            payload,
            json!({"actor_id": "a"}),
        );
        PreparedCommit::prepare(aggregate_type, &[event], None, domain::reservations_of)
            .expect("prepares")
            .expect("one event")
    };
    let approved = prepared(
        "hardship_file",
        "GrantApproved",
        json!({"GrantApproved": {
        "grant_id": "g1", "measure_id": "m1", "amount_fen": 500, "fund": "festival",
        "approved_by": "a", "approved_at": "2026-01-01T00:00:00Z"}}),
    );
    let refused = refuse_debits(&approved).unwrap_err();
    assert!(refused.to_string().contains("GrantApproved"), "{refused}");

    let appropriated = prepared(
        "fund_account",
        "Appropriated",
        json!({"Appropriated": {
        "appropriation_id": "a1", "fund": "festival", "amount_fen": 500,
        "source": "市总工会", "received_on": "2026-01-01", "note": null,
        "recorded_by": "a", "recorded_at": "2026-01-01T00:00:00Z"}}),
    );
    assert!(refuse_debits(&appropriated).is_ok());
}

fn sample() -> StoredEvent {
    let event_id = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001);
    let mut metadata = HashMap::new();
    metadata.insert("actor_id".to_string(), "zhang.wei".to_string());
    metadata.insert("event_id".to_string(), event_id.to_string());
    metadata.insert(
        "recorded_at".to_string(),
        "2026-03-01T09:00:00.000000Z".to_string(),
    );
    let payload = json!({"FileOpened": {"file_id": "HF-1", "amount_fen": 150000}});
    let metadata_value = serde_json::to_value(&metadata).unwrap();
    let hash = event_hash(
        GENESIS_HASH,
        &HashedEvent {
            aggregate_type: "hardship_file",
            aggregate_id: "HF-2026-0001",
            sequence: 3,
            event_type: "FileOpened",
            event_version: "1.0",
            payload: &payload,
            metadata: &metadata_value,
        },
    );
    StoredEvent {
        position: 4_096,
        log_position: LogPosition {
            commit: 4_200,
            position: 4_096,
        },
        event_id,
        aggregate_type: "hardship_file".into(),
        aggregate_id: "HF-2026-0001".into(),
        sequence: 3,
        event_type: "FileOpened".into(),
        event_version: "1.0".into(),
        payload,
        metadata,
        recorded_at: Some("2026-03-01T09:00:00.000000Z".into()),
        prev_hash: GENESIS_HASH.into(),
        hash,
    }
}

#[test]
fn an_event_maps_to_a_record_and_back_unchanged() {
    let event = sample();
    let record = KurrentRecord::from_stored(&event).unwrap();
    assert_eq!(record.stream_id, "hardship_file-HF-2026-0001");
    assert_eq!(record.revision, 2, "sequence 3 is revision 2");
    assert_eq!(record.id, event.event_id);
    assert_eq!(record.event_type, "FileOpened");
    assert_eq!(record.data, event.payload.to_string().into_bytes());
    assert_eq!(
        record.position,
        Position {
            commit: 4_200,
            prepare: 4_096
        }
    );
    let metadata: Value = serde_json::from_slice(&record.custom_metadata).unwrap();
    assert_eq!(metadata["hash"], json!(event.hash));
    assert_eq!(metadata["metadata"]["actor_id"], json!("zhang.wei"));
    assert_eq!(record.to_stored().unwrap(), event);
    // And the event data for the client builds from it.
    assert!(record.event_data().is_ok());
}

#[test]
fn records_that_bangfu_did_not_write_or_that_moved_are_refused() {
    let mut foreign = KurrentRecord::from_stored(&sample()).unwrap();
    foreign.custom_metadata = b"{\"$correlationId\":\"x\"}".to_vec();
    assert!(matches!(foreign.to_stored(), Err(StoreError::Corrupt(_))));

    let mut moved = KurrentRecord::from_stored(&sample()).unwrap();
    moved.stream_id = "hardship_file-HF-2026-0002".into();
    assert!(matches!(moved.to_stored(), Err(StoreError::Corrupt(_))));

    let mut renumbered = KurrentRecord::from_stored(&sample()).unwrap();
    renumbered.revision = 7;
    assert!(matches!(
        renumbered.to_stored(),
        Err(StoreError::Corrupt(_))
    ));

    let mut garbled = KurrentRecord::from_stored(&sample()).unwrap();
    garbled.data = b"not json".to_vec();
    assert!(matches!(garbled.to_stored(), Err(StoreError::Corrupt(_))));
}

#[test]
fn reservation_streams_do_not_contain_the_key() {
    let stream = reservation_stream(Scope::OpenFileByResident, "110101199003071234");
    assert!(stream.starts_with("bangfu-reservation-"));
    assert!(!stream.contains("110101199003071234"));
    assert_ne!(
        stream,
        reservation_stream(Scope::OpenFileByResident, "110101199003071235")
    );
    assert_ne!(
        stream,
        reservation_stream(Scope::ClaimedStay, "110101199003071234")
    );
}

#[test]
fn expected_revision_continues_the_stream() {
    assert_eq!(expected_state(None), StreamState::NoStream);
    assert_eq!(expected_state(Some(4)), StreamState::StreamRevision(4));
}

#[test]
fn connection_strings_in_both_schemes_parse_and_garbage_does_not() {
    for url in [
        "esdb://localhost:2113?tls=false",
        "kurrentdb://admin:changeit@localhost:2113",
        "esdb+discover://cluster.example:2113",
        "kurrentdb://node1:2113,node2:2113,node3:2113?tls=false",
    ] {
        assert!(KurrentUrl::parse(url).is_ok(), "{url}");
    }
    for url in [
        "postgres://localhost/x",
        "esdb://",
        "kurrentdb://host:notaport",
    ] {
        assert!(
            matches!(KurrentUrl::parse(url), Err(StoreError::Kurrent(_))),
            "{url}"
        );
    }
    let parsed = KurrentUrl::parse("kurrentdb://admin:changeit@localhost:2113").unwrap();
    assert!(!parsed.redacted.contains("changeit"));
}

#[test]
fn client_errors_map_to_cqrs_kinds() {
    let wrong = kurrentdb::Error::WrongExpectedVersion {
        expected: StreamState::StreamRevision(3),
        current: CurrentRevision::Current(4),
    };
    assert!(matches!(
        persistence_error(wrong),
        PersistenceError::OptimisticLockError
    ));
    assert!(matches!(
        persistence_error(kurrentdb::Error::ConnectionClosed),
        PersistenceError::ConnectionError(_)
    ));
    assert!(matches!(
        persistence_error(kurrentdb::Error::DeadlineExceeded),
        PersistenceError::ConnectionError(_)
    ));
    assert!(matches!(
        persistence_error(kurrentdb::Error::AccessDenied),
        PersistenceError::UnknownError(_)
    ));
    assert!(matches!(
        persistence_error(kurrentdb::Error::InternalParsingError("x".into())),
        PersistenceError::DeserializationError(_)
    ));
}
