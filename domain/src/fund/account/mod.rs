//! The fund account (资金账户): money appropriated into a fund from outside
//! bangfu's three kinds of casework — a higher union's special-assistance
//! allocation, a festival-condolence budget, a government subsidy.
//!
//! It exists because a fund's balance must be the sum of its events and may
//! not go negative: contributions and donations flow in through plan periods
//! and campaigns, but the special-assistance and festival funds are fed by
//! appropriations, which need events of their own. The rules are few:
//!
//! - an account holds one fund, fixed by its first appropriation;
//! - an appropriation is above zero, not dated in the future, and its id is
//!   never reused (not even after a reversal);
//! - a mistaken appropriation is reversed (never deleted), once.
//!
//! Whether a reversal would overdraw the fund is not known here (outflows are
//! other aggregates' events): a reversal declares a debit of the fund
//! (`crate::money`) and the store refuses it if the fund's available money
//! does not cover it.
//!
//! Aggregate id: chosen by the caller, e.g. `special_assistance-2026`.

mod commands;
mod error;
mod events;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};

pub use commands::{FundAccountCommand, MAX_APPROPRIATIONS};
pub use error::FundAccountError;
#[cfg(any(test, feature = "testing"))]
pub use events::sample_events;
pub use events::FundAccountEvent;

use crate::command::Cmd;
use crate::fund::Fund;
use crate::values::{Code, Fen};

/// The aggregate type name, stable forever.
pub const TYPE: &str = "fund_account";

/// One recorded appropriation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AppropriationEntry {
    /// Amount.
    pub amount_fen: Fen,
    /// Whether it has been reversed.
    pub reversed: bool,
}

/// A fund account: see the module docs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FundAccount {
    fund: Option<Fund>,
    appropriations: BTreeMap<Code, AppropriationEntry>,
    appropriated_fen: Fen,
    reversed_fen: Fen,
}

impl FundAccount {
    /// The account's fund; `None` before its first appropriation.
    pub fn fund(&self) -> Option<Fund> {
        self.fund
    }

    /// Everything appropriated, reversals not deducted.
    pub fn appropriated_fen(&self) -> Fen {
        self.appropriated_fen
    }

    /// Everything reversed.
    pub fn reversed_fen(&self) -> Fen {
        self.reversed_fen
    }

    /// Appropriated net of reversals.
    pub fn net_fen(&self) -> Fen {
        self.appropriated_fen.sub_asserted(
            self.reversed_fen,
            "an account reverses only what was appropriated",
        )
    }

    /// One appropriation.
    pub fn appropriation(&self, id: &Code) -> Option<&AppropriationEntry> {
        self.appropriations.get(id)
    }

    /// All appropriations, in id order.
    pub fn appropriations(&self) -> impl Iterator<Item = (&Code, &AppropriationEntry)> {
        self.appropriations.iter()
    }
}

impl Aggregate for FundAccount {
    const TYPE: &'static str = TYPE;
    type Command = Cmd<FundAccountCommand>;
    type Event = FundAccountEvent;
    type Error = FundAccountError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        use FundAccountError as E;
        let Cmd { ctx, body } = command;
        let event = match body {
            FundAccountCommand::Appropriate {
                appropriation_id,
                fund,
                amount_fen,
                source,
                received_on,
                note,
            } => {
                if let Some(account) = self.fund {
                    if account != fund {
                        return Err(E::FundMismatch {
                            account,
                            given: fund,
                        });
                    }
                }
                if amount_fen.is_zero() {
                    return Err(E::AmountMustBePositive);
                }
                if received_on > ctx.business_date() {
                    return Err(E::ReceivedInFuture { received_on });
                }
                if self.appropriations.contains_key(&appropriation_id) {
                    return Err(E::DuplicateAppropriation { appropriation_id });
                }
                if self.appropriations.len() >= MAX_APPROPRIATIONS {
                    return Err(E::TooManyAppropriations);
                }
                self.appropriated_fen
                    .checked_add(amount_fen)
                    .map_err(|_| E::AmountOverflow)?;
                FundAccountEvent::Appropriated {
                    appropriation_id,
                    fund,
                    amount_fen,
                    source,
                    received_on,
                    note,
                    recorded_by: ctx.actor.id,
                    recorded_at: ctx.recorded_at,
                }
            }
            FundAccountCommand::ReverseAppropriation {
                appropriation_id,
                reason,
            } => {
                let (Some(fund), Some(entry)) =
                    (self.fund, self.appropriations.get(&appropriation_id))
                else {
                    return Err(E::UnknownAppropriation { appropriation_id });
                };
                if entry.reversed {
                    return Err(E::AlreadyReversed { appropriation_id });
                }
                FundAccountEvent::AppropriationReversed {
                    amount_fen: entry.amount_fen,
                    appropriation_id,
                    fund,
                    reason,
                    reversed_by: ctx.actor.id,
                    reversed_at: ctx.recorded_at,
                }
            }
        };
        sink.write(event, self).await;
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            FundAccountEvent::Appropriated {
                appropriation_id,
                fund,
                amount_fen,
                ..
            } => {
                self.fund = Some(fund);
                self.appropriated_fen = self.appropriated_fen.add_asserted(
                    amount_fen,
                    "handle refuses an appropriation that overflows the account",
                );
                self.appropriations.insert(
                    appropriation_id,
                    AppropriationEntry {
                        amount_fen,
                        reversed: false,
                    },
                );
            }
            FundAccountEvent::AppropriationReversed {
                appropriation_id,
                amount_fen,
                ..
            } => {
                self.reversed_fen = self.reversed_fen.add_asserted(
                    amount_fen,
                    "reversals never exceed the appropriations they reverse",
                );
                let entry = self
                    .appropriations
                    .get_mut(&appropriation_id)
                    .expect("invariant: a reversal names a recorded appropriation");
                entry.reversed = true;
            }
        }
    }
}
