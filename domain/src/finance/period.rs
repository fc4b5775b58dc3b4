//! The accounting period (会计期间): a month of the books, closed once at
//! month end (月结). Closing is an event; from then on the store refuses
//! every entry dated into that month (an entry declares
//! [`crate::money::Movement::InPeriod`], the close
//! [`crate::money::Movement::ClosePeriod`]; both lock the period's row, so
//! an entry racing the close is either before it or refused).
//!
//! Aggregate id: the month, `YYYY-MM`.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};

use crate::command::Cmd;
use crate::i18n::{ErrorCode, Lang, Localize};
use crate::reservation::{Reservation, Reserves};
use crate::values::{Code, ShortText};

/// The aggregate type name, stable forever.
pub const TYPE: &str = "accounting_period";

/// A command to an [`AccountingPeriod`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub enum AccountingPeriodCommand {
    /// 月结: close the month; later entries dated into it are refused.
    Close {
        /// The month, `YYYY-MM` (the aggregate id); it must have ended.
        month: Code,
        /// Remark.
        note: Option<ShortText>,
    },
}

/// An event of an [`AccountingPeriod`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum AccountingPeriodEvent {
    /// 已月结.
    PeriodClosed {
        /// `YYYY-MM`.
        month: Code,
        /// Remark.
        note: Option<ShortText>,
        /// Who.
        closed_by: Code,
        /// When.
        closed_at: DateTime<Utc>,
    },
}

impl AccountingPeriodEvent {
    /// Every event type.
    pub const EVENT_TYPES: [&'static str; 1] = ["PeriodClosed"];

    /// Short name of what happened.
    pub fn label(&self, lang: Lang) -> &'static str {
        lang.pick("已月结", "period closed")
    }

    /// One line for `bangfu history`.
    pub fn describe(&self, lang: Lang) -> String {
        let AccountingPeriodEvent::PeriodClosed { month, .. } = self;
        match lang {
            Lang::Zh => format!("{month} 已结账"),
            Lang::En => format!("{month} closed"),
        }
    }
}

impl DomainEvent for AccountingPeriodEvent {
    fn event_type(&self) -> String {
        "PeriodClosed".to_string()
    }
    fn event_version(&self) -> String {
        crate::upcast::current_version(TYPE, "PeriodClosed").to_string()
    }
}

impl Reserves for AccountingPeriodEvent {
    fn reservations(&self) -> Vec<Reservation> {
        Vec::new()
    }
}

/// A refused command of an [`AccountingPeriod`].
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum AccountingPeriodError {
    /// Not `YYYY-MM`.
    #[error("a month is written YYYY-MM, e.g. 2026-11")]
    BadMonth,
    /// The month has not ended.
    #[error("{0} has not ended yet")]
    NotEnded(Code),
    /// Closed already.
    #[error("{0} is already closed")]
    AlreadyClosed(Code),
}

impl Localize for AccountingPeriodError {
    fn localize(&self, lang: Lang) -> String {
        match (self, lang) {
            (_, Lang::En) => self.to_string(),
            (AccountingPeriodError::BadMonth, _) => "月份格式为 YYYY-MM，例如 2026-11".into(),
            (AccountingPeriodError::NotEnded(m), _) => format!("{m} 尚未结束，不能月结"),
            (AccountingPeriodError::AlreadyClosed(m), _) => format!("{m} 已月结"),
        }
    }
}

impl ErrorCode for AccountingPeriodError {
    fn code(&self) -> &'static str {
        match self {
            AccountingPeriodError::BadMonth => "accounting_period.bad_month",
            AccountingPeriodError::NotEnded(_) => "accounting_period.not_ended",
            AccountingPeriodError::AlreadyClosed(_) => "accounting_period.already_closed",
        }
    }
}

/// The first day of a `YYYY-MM` month.
pub fn first_day(month: &str) -> Option<NaiveDate> {
    let (y, m) = month.split_once('-')?;
    if y.len() != 4 || m.len() != 2 {
        return None;
    }
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, 1)
}

/// An accounting period: open until closed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AccountingPeriod {
    closed: bool,
}

impl AccountingPeriod {
    /// Whether the month is closed.
    pub fn closed(&self) -> bool {
        self.closed
    }
}

impl Aggregate for AccountingPeriod {
    const TYPE: &'static str = TYPE;
    type Command = Cmd<AccountingPeriodCommand>;
    type Event = AccountingPeriodEvent;
    type Error = AccountingPeriodError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        let Cmd { ctx, body } = command;
        let AccountingPeriodCommand::Close { month, note } = body;
        let first = first_day(month.as_str()).ok_or(AccountingPeriodError::BadMonth)?;
        let today = ctx.business_date();
        if (first.year(), first.month()) >= (today.year(), today.month()) {
            return Err(AccountingPeriodError::NotEnded(month));
        }
        if self.closed {
            return Err(AccountingPeriodError::AlreadyClosed(month));
        }
        let event = AccountingPeriodEvent::PeriodClosed {
            month,
            note,
            closed_by: ctx.actor.id,
            closed_at: ctx.recorded_at,
        };
        sink.write(event, self).await;
        Ok(())
    }

    fn apply(&mut self, _event: Self::Event) {
        self.closed = true;
    }
}
