//! What happened to a fund account. Each event carries the fund and the
//! amount, so a fund-balance view needs no earlier event to use one.

use chrono::{DateTime, NaiveDate, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};

use crate::fund::Fund;
use crate::i18n::Lang;
use crate::reservation::{Reservation, Reserves};
use crate::values::{Code, Fen, OrgName, ShortText};

/// An event of a [`super::FundAccount`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum FundAccountEvent {
    /// 资金已拨入.
    Appropriated {
        /// Unique within the account.
        appropriation_id: Code,
        /// The fund the money went into.
        fund: Fund,
        /// Amount.
        amount_fen: Fen,
        /// Who appropriated it.
        source: OrgName,
        /// The day the money arrived.
        received_on: NaiveDate,
        /// Remark.
        note: Option<ShortText>,
        /// Who recorded it.
        recorded_by: Code,
        /// When.
        recorded_at: DateTime<Utc>,
    },
    /// 拨款已冲销: the whole appropriation is taken back out of the fund.
    AppropriationReversed {
        /// The appropriation.
        appropriation_id: Code,
        /// Its fund.
        fund: Fund,
        /// Its amount.
        amount_fen: Fen,
        /// Why.
        reason: ShortText,
        /// Who reversed it.
        reversed_by: Code,
        /// When.
        reversed_at: DateTime<Utc>,
    },
}

impl FundAccountEvent {
    /// Every event type, as [`DomainEvent::event_type`] spells it.
    pub const EVENT_TYPES: [&'static str; 2] = ["Appropriated", "AppropriationReversed"];

    /// The stable type name (also the JSON tag).
    pub fn type_name(&self) -> &'static str {
        match self {
            FundAccountEvent::Appropriated { .. } => "Appropriated",
            FundAccountEvent::AppropriationReversed { .. } => "AppropriationReversed",
        }
    }

    /// Short name of what happened.
    pub fn label(&self, lang: Lang) -> &'static str {
        let (zh, en) = match self {
            FundAccountEvent::Appropriated { .. } => ("资金已拨入", "appropriation recorded"),
            FundAccountEvent::AppropriationReversed { .. } => {
                ("拨款已冲销", "appropriation reversed")
            }
        };
        lang.pick(zh, en)
    }

    /// One line for `bangfu history`.
    pub fn describe(&self, lang: Lang) -> String {
        match (self, lang) {
            (
                FundAccountEvent::Appropriated {
                    appropriation_id,
                    fund,
                    amount_fen,
                    source,
                    received_on,
                    ..
                },
                Lang::Zh,
            ) => format!(
                "{received_on} {source} 拨入{} {amount_fen} 元（{appropriation_id}）",
                fund.label(lang)
            ),
            (
                FundAccountEvent::Appropriated {
                    appropriation_id,
                    fund,
                    amount_fen,
                    source,
                    received_on,
                    ..
                },
                Lang::En,
            ) => format!(
                "{amount_fen} yuan appropriated into the {} by {source} on {received_on} ({appropriation_id})",
                fund.label(lang)
            ),
            (
                FundAccountEvent::AppropriationReversed {
                    appropriation_id,
                    fund,
                    amount_fen,
                    reason,
                    ..
                },
                Lang::Zh,
            ) => format!(
                "冲销{}拨款 {appropriation_id}（{amount_fen} 元）：{reason}",
                fund.label(lang)
            ),
            (
                FundAccountEvent::AppropriationReversed {
                    appropriation_id,
                    fund,
                    amount_fen,
                    reason,
                    ..
                },
                Lang::En,
            ) => format!(
                "reversed appropriation {appropriation_id} ({amount_fen} yuan) of the {}: {reason}",
                fund.label(lang)
            ),
        }
    }
}

impl DomainEvent for FundAccountEvent {
    fn event_type(&self) -> String {
        self.type_name().to_string()
    }

    /// Where this type's upcaster chain ends ([`crate::upcast`]).
    fn event_version(&self) -> String {
        crate::upcast::current_version(super::TYPE, &self.event_type()).to_string()
    }
}

/// Fund accounts reserve no keys: appropriation ids are unique within the account.
impl Reserves for FundAccountEvent {
    fn reservations(&self) -> Vec<Reservation> {
        vec![]
    }
}

/// One event of each type, in a valid order: 2026 special-assistance money
/// from the provincial federation, then a duplicate entry reversed.
#[cfg(any(test, feature = "testing"))]
pub fn sample_events() -> Vec<FundAccountEvent> {
    use crate::testing::at;
    let code = |s: &str| Code::parse(s).expect("valid sample code");
    vec![
        FundAccountEvent::Appropriated {
            appropriation_id: code("BK-2026-001"),
            fund: Fund::SpecialAssistance,
            amount_fen: Fen::from_yuan(300_000).expect("valid sample amount"),
            source: OrgName::parse("福建省总工会").expect("valid sample org"),
            received_on: NaiveDate::from_ymd_opt(2026, 2, 27).expect("valid date"),
            note: Some(ShortText::parse("闽工〔2026〕12号 帮扶专项资金").expect("valid text")),
            recorded_by: code("wu.haiyan"),
            recorded_at: at(0),
        },
        FundAccountEvent::AppropriationReversed {
            appropriation_id: code("BK-2026-001"),
            fund: Fund::SpecialAssistance,
            amount_fen: Fen::from_yuan(300_000).expect("valid sample amount"),
            reason: ShortText::parse("同一拨款通知重复登记").expect("valid text"),
            reversed_by: code("wu.haiyan"),
            reversed_at: at(60),
        },
    ]
}
