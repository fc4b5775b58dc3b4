//! # bangfu domain
//!
//! The aggregates, commands, events, policy and value types of bangfu, the
//! event-sourced case-management engine for trade-union hardship assistance.
//!
//! This crate does no I/O: no clock, no randomness, no files, no network, no
//! database (a test in `tests/no_io.rs` fails if `Cargo.toml` gains an I/O crate).
//! Time and ids come in with each command ([`command::CommandContext`]);
//! facts outside one aggregate come through each aggregate's `Services` trait,
//! implemented in the `bangfu` crate.
//!
//! - [`values`]: money in fen, basis points, resident IDs, bank cards, phones, bounded text.
//! - [`hardship`]: the hardship file (困难职工档案), one per household.
//! - [`mutual_aid`]: medical mutual-aid plan periods and claims (职工医疗互助).
//! - [`donation`]: one-day-donation campaigns (一日捐).
//! - [`finance`]: payouts, payout batches, accounting periods (财务).
//! - [`upcast`]: how stored events of older versions are read in today's shape.

#![forbid(unsafe_code)]

pub mod command;
pub mod donation;
pub mod finance;
pub mod fund;
pub mod hardship;
pub mod i18n;
pub mod money;
pub mod mutual_aid;
pub mod reservation;
pub mod services;
pub mod upcast;
pub mod values;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

/// The version string every event type starts at. Changing an event's shape
/// bumps its version by adding an upcaster to [`upcast::UPCASTERS`].
pub const EVENT_VERSION_1: &str = "1.0";

pub use money::movements_of;

/// The keys an event takes or releases, read from its stored JSON (brought
/// to its current shape first: [`upcast`]): the store's
/// `ReservationExtractor`. Only hardship files, claims and payout batches reserve keys; other
/// aggregates' events reserve nothing. An `Err` means the payload is not an
/// event of that aggregate type (or of a version this build reads), and
/// fails the commit.
///
/// A grant or claim subsidy paid outside a batch (`GrantPaid`, including
/// cash handed over at a visit, and `ClaimPaid`) also takes its payout's
/// `payout_batched` and `payout_paid` keys, named from the aggregate id
/// ([`finance::paid_directly`]): a payout paid directly cannot be batched,
/// one in a live batch cannot be paid directly, and neither is paid twice.
pub fn reservations_of(
    aggregate_type: &str,
    aggregate_id: &str,
    event_type: &str,
    event_version: &str,
    payload: &serde_json::Value,
) -> Result<Vec<reservation::Reservation>, String> {
    use cqrs_es::Aggregate;
    use reservation::Reserves;
    use serde::Deserialize;
    fn read<E: for<'de> Deserialize<'de> + Reserves>(
        payload: &serde_json::Value,
    ) -> Result<Vec<reservation::Reservation>, String> {
        E::deserialize(payload)
            .map(|e| e.reservations())
            .map_err(|e| e.to_string())
    }
    let reserves = [
        hardship::HardshipFile::TYPE,
        mutual_aid::MutualAidClaim::TYPE,
        finance::batch::TYPE,
    ];
    if !reserves.contains(&aggregate_type) {
        return Ok(Vec::new());
    }
    let upcast;
    let payload = if upcast::is_current(aggregate_type, event_type, event_version) {
        payload
    } else {
        upcast = upcast::upcast(aggregate_type, event_type, event_version, payload.clone())
            .map_err(|e| e.to_string())?;
        &upcast
    };
    match aggregate_type {
        hardship::HardshipFile::TYPE => {
            let event =
                hardship::HardshipFileEvent::deserialize(payload).map_err(|e| e.to_string())?;
            let mut keys = event.reservations();
            if let hardship::HardshipFileEvent::GrantPaid { grant_id, .. } = &event {
                keys.extend(finance::paid_directly(&finance::payout_id(
                    &finance::PayoutSource::Grant {
                        file_id: aggregate_id,
                        grant_id: grant_id.as_str(),
                    },
                )));
            }
            Ok(keys)
        }
        finance::batch::TYPE => read::<finance::batch::PayoutBatchEvent>(payload),
        _ => {
            let event =
                mutual_aid::MutualAidClaimEvent::deserialize(payload).map_err(|e| e.to_string())?;
            let mut keys = event.reservations();
            if let mutual_aid::MutualAidClaimEvent::ClaimPaid { .. } = &event {
                keys.extend(finance::paid_directly(&finance::payout_id(
                    &finance::PayoutSource::Claim {
                        claim_id: aggregate_id,
                    },
                )));
            }
            Ok(keys)
        }
    }
}
