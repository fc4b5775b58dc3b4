//! Wiring: one event store, one [`Engine`] per aggregate type, and the
//! aggregates' `Services` answered from that store.
//!
//! [`CaseAggregate`] is what the CLI (and later the API) needs from every
//! aggregate beyond `cqrs_es::Aggregate`: the shape of its command body, and
//! how its events and errors read in each language. It lets one generic code
//! path run, print and explain all four aggregates.

pub mod clock;
pub mod engine;
pub mod input;
pub mod required;
pub mod services;

use std::path::Path;
use std::sync::Arc;

use cqrs_es::Aggregate;
use domain::command::{Cmd, CommandContext};
use domain::donation::{DonationCampaign, DonationCampaignServices};
use domain::finance::batch::PayoutBatch;
use domain::finance::period::AccountingPeriod;
use domain::fund::account::FundAccount;
use domain::hardship::{HardshipFile, HardshipFileServices};
use domain::i18n::{ErrorCode, Lang, Localize};
use domain::mutual_aid::claim::MutualAidClaimServices;
use domain::mutual_aid::{MutualAidClaim, MutualAidPlan};
use serde::de::DeserializeOwned;

use crate::app::clock::BusinessClock;
use crate::app::engine::{Committed, Engine, ExecError};
use crate::app::input::InputError;
use crate::app::services::StoreServices;
use crate::projector::Projector;
use crate::store::{AnyStore, SqliteStore, StoreError};

/// Events between snapshots of a mutual-aid plan (its roster can hold tens of
/// thousands of members; loading it must not replay every enrolment).
pub const PLAN_SNAPSHOT_EVERY: usize = 20;

/// Streams each engine keeps in memory (`Engine::with_cache`). Files and
/// claims are small (kilobytes) and many are in progress at once; plans and
/// campaigns are few but large (a 20,000-member roster, up to a million
/// donation receipts), so only a handful are kept.
pub const FILE_CACHE_STREAMS: usize = 1_024;
/// See [`FILE_CACHE_STREAMS`].
pub const CLAIM_CACHE_STREAMS: usize = 1_024;
/// See [`FILE_CACHE_STREAMS`].
pub const PLAN_CACHE_STREAMS: usize = 8;
/// See [`FILE_CACHE_STREAMS`].
pub const CAMPAIGN_CACHE_STREAMS: usize = 8;

/// What every aggregate offers the CLI and API beyond `cqrs_es::Aggregate`.
pub trait CaseAggregate: Aggregate<Command = Cmd<Self::Body>> + Clone + 'static
where
    Self::Error: ErrorCode,
{
    /// The command body (what a client sends as JSON).
    type Body: DeserializeOwned + utoipa::ToSchema + Send + Clone;
    /// Which aggregate this is.
    const KIND: AggregateKind;
    /// The event's name for people (已建档 / file opened).
    fn event_label(event: &Self::Event, lang: Lang) -> &'static str;
    /// A one-line summary of the event for people, personal data masked.
    fn event_describe(event: &Self::Event, lang: Lang) -> String;
    /// Checks that a body agrees with the aggregate id it is sent to. Most
    /// bodies do not repeat the id; a claim's `Submit` does.
    fn check_body(_aggregate_id: &str, _body: &Self::Body) -> Result<(), InputError> {
        Ok(())
    }
}

macro_rules! case_aggregate {
    ($agg:ty, $body:ty, $kind:expr $(, check_body = $check:path)?) => {
        impl CaseAggregate for $agg {
            type Body = $body;
            const KIND: AggregateKind = $kind;
            fn event_label(event: &Self::Event, lang: Lang) -> &'static str {
                event.label(lang)
            }
            fn event_describe(event: &Self::Event, lang: Lang) -> String {
                event.describe(lang)
            }
            $(
                fn check_body(aggregate_id: &str, body: &Self::Body) -> Result<(), InputError> {
                    $check(aggregate_id, body)
                }
            )?
        }
    };
}

case_aggregate!(
    HardshipFile,
    domain::hardship::HardshipFileCommand,
    AggregateKind::HardshipFile
);
case_aggregate!(
    MutualAidPlan,
    domain::mutual_aid::MutualAidPlanCommand,
    AggregateKind::MutualAidPlan
);
case_aggregate!(
    MutualAidClaim,
    domain::mutual_aid::MutualAidClaimCommand,
    AggregateKind::MutualAidClaim,
    check_body = claim_id_is_aggregate_id
);

/// A claim leaves its own `claim_id` out of "the member's other claims" when
/// it checks the cap, so a `Submit` naming another claim (say, the member's
/// approved one) would hide that claim's subsidy. The id must be the stream's.
fn claim_id_is_aggregate_id(
    aggregate_id: &str,
    body: &domain::mutual_aid::MutualAidClaimCommand,
) -> Result<(), InputError> {
    match body {
        domain::mutual_aid::MutualAidClaimCommand::Submit { claim_id, .. }
            if claim_id.as_str() != aggregate_id =>
        {
            Err(InputError::IdMismatch {
                field: "Submit.claim_id".into(),
                value: claim_id.as_str().into(),
                aggregate_id: aggregate_id.into(),
            })
        }
        _ => Ok(()),
    }
}

case_aggregate!(
    DonationCampaign,
    domain::donation::DonationCampaignCommand,
    AggregateKind::DonationCampaign
);
case_aggregate!(
    FundAccount,
    domain::fund::account::FundAccountCommand,
    AggregateKind::FundAccount
);

case_aggregate!(
    PayoutBatch,
    domain::finance::batch::PayoutBatchCommand,
    AggregateKind::PayoutBatch
);
case_aggregate!(
    AccountingPeriod,
    domain::finance::period::AccountingPeriodCommand,
    AggregateKind::AccountingPeriod,
    check_body = month_is_aggregate_id
);

/// A period's aggregate id is its month: the close names the same month.
fn month_is_aggregate_id(
    aggregate_id: &str,
    body: &domain::finance::period::AccountingPeriodCommand,
) -> Result<(), InputError> {
    let domain::finance::period::AccountingPeriodCommand::Close { month, .. } = body;
    if month.as_str() == aggregate_id {
        return Ok(());
    }
    Err(InputError::IdMismatch {
        field: "Close.month".into(),
        value: month.as_str().into(),
        aggregate_id: aggregate_id.into(),
    })
}

/// The aggregate types, as named on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum AggregateKind {
    /// 困难职工档案
    HardshipFile,
    /// 医疗互助期
    MutualAidPlan,
    /// 医疗互助补助申请
    MutualAidClaim,
    /// 一日捐活动
    DonationCampaign,
    /// 资金账户 (appropriations into a fund)
    FundAccount,
    /// 发放批次 (payout batch)
    PayoutBatch,
    /// 会计期间 (accounting period: month-end close)
    AccountingPeriod,
}

impl AggregateKind {
    /// All kinds.
    pub const ALL: [AggregateKind; 7] = [
        AggregateKind::HardshipFile,
        AggregateKind::MutualAidPlan,
        AggregateKind::MutualAidClaim,
        AggregateKind::DonationCampaign,
        AggregateKind::FundAccount,
        AggregateKind::PayoutBatch,
        AggregateKind::AccountingPeriod,
    ];

    /// The stored aggregate type (`Aggregate::TYPE`).
    pub fn aggregate_type(self) -> &'static str {
        match self {
            AggregateKind::HardshipFile => HardshipFile::TYPE,
            AggregateKind::MutualAidPlan => MutualAidPlan::TYPE,
            AggregateKind::MutualAidClaim => MutualAidClaim::TYPE,
            AggregateKind::DonationCampaign => DonationCampaign::TYPE,
            AggregateKind::FundAccount => FundAccount::TYPE,
            AggregateKind::PayoutBatch => PayoutBatch::TYPE,
            AggregateKind::AccountingPeriod => AccountingPeriod::TYPE,
        }
    }

    /// The name on the command line.
    pub fn cli_name(self) -> &'static str {
        match self {
            AggregateKind::HardshipFile => "hardship-file",
            AggregateKind::MutualAidPlan => "mutual-aid-plan",
            AggregateKind::MutualAidClaim => "mutual-aid-claim",
            AggregateKind::DonationCampaign => "donation-campaign",
            AggregateKind::FundAccount => "fund-account",
            AggregateKind::PayoutBatch => "payout-batch",
            AggregateKind::AccountingPeriod => "accounting-period",
        }
    }

    /// The kind's name for people.
    pub fn label(self, lang: Lang) -> &'static str {
        let (zh, en) = match self {
            AggregateKind::HardshipFile => ("困难职工档案", "hardship file"),
            AggregateKind::MutualAidPlan => ("医疗互助期", "mutual-aid plan period"),
            AggregateKind::MutualAidClaim => ("医疗互助补助申请", "mutual-aid claim"),
            AggregateKind::DonationCampaign => ("一日捐活动", "one-day-donation campaign"),
            AggregateKind::FundAccount => ("资金账户", "fund account"),
            AggregateKind::PayoutBatch => ("发放批次", "payout batch"),
            AggregateKind::AccountingPeriod => ("会计期间", "accounting period"),
        };
        lang.pick(zh, en)
    }
}

/// The engine: a store, one [`Engine`] per aggregate type, and the
/// projector that keeps the views.
pub struct App {
    /// The event store all engines share.
    pub store: AnyStore,
    /// Hardship files.
    pub files: Engine<HardshipFile>,
    /// Mutual-aid plan periods (snapshotted).
    pub plans: Engine<MutualAidPlan>,
    /// Mutual-aid claims.
    pub claims: Engine<MutualAidClaim>,
    /// One-day-donation campaigns.
    pub campaigns: Engine<DonationCampaign>,
    /// Fund accounts (appropriations).
    pub funds: Engine<FundAccount>,
    /// Payout batches.
    pub batches: Engine<PayoutBatch>,
    /// Accounting periods (month-end close).
    pub periods: Engine<AccountingPeriod>,
    /// Builds and reads the views, in the same database as the events
    /// (unavailable on KurrentDB).
    pub projector: Arc<Projector>,
    /// Now, and the time zone of business dates (Beijing unless configured).
    pub clock: BusinessClock,
}

impl App {
    /// Opens (creating and migrating if needed) the embedded store at `path`.
    pub async fn open(path: &Path) -> Result<App, StoreError> {
        let store = SqliteStore::open(path, domain::reservations_of).await?;
        Ok(App::on(store))
    }

    /// Opens the store a URL names — `sqlite://PATH` (or a bare path),
    /// `postgres://…`, `esdb://…`/`kurrentdb://…` — creating and migrating
    /// its schema if needed.
    pub async fn open_url(url: &str) -> Result<App, StoreError> {
        let store = AnyStore::open(url, domain::reservations_of).await?;
        Ok(App::on(store))
    }

    /// Builds the engines on an open store (any of bangfu's).
    pub fn on(store: impl Into<AnyStore>) -> App {
        let store: AnyStore = store.into();
        let plans = Engine::new(store.clone(), (), Some(PLAN_SNAPSHOT_EVERY))
            .with_cache(PLAN_CACHE_STREAMS);
        let services = Arc::new(StoreServices::new(store.clone()));
        let file_services: Arc<dyn HardshipFileServices> = services.clone();
        let claim_services: Arc<dyn MutualAidClaimServices> = services.clone();
        App {
            files: Engine::new(store.clone(), file_services, None).with_cache(FILE_CACHE_STREAMS),
            claims: Engine::new(store.clone(), claim_services, None)
                .with_cache(CLAIM_CACHE_STREAMS),
            campaigns: Engine::new(
                store.clone(),
                services as Arc<dyn DonationCampaignServices>,
                None,
            )
            .with_cache(CAMPAIGN_CACHE_STREAMS),
            funds: Engine::new(store.clone(), (), None),
            batches: Engine::new(store.clone(), (), None),
            periods: Engine::new(store.clone(), (), None),
            projector: Arc::new(Projector::for_store(&store)),
            clock: BusinessClock::default(),
            plans,
            store,
        }
    }

    /// The same engines with another clock or time zone.
    pub fn with_clock(mut self, clock: BusinessClock) -> App {
        self.clock = clock;
        self
    }
}

/// Why a command failed, ready to show a person.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The command body was not valid input.
    #[error("{0}")]
    Input(#[from] crate::app::input::InputError),
    /// A business rule refused the command.
    #[error("{code}: {en}")]
    Rejected {
        /// Stable rule code.
        code: &'static str,
        /// Chinese message.
        zh: String,
        /// English message.
        en: String,
    },
    /// Someone else changed the aggregate first.
    #[error("conflict: the aggregate was changed by another command; reload and retry")]
    Conflict,
    /// A key (resident ID of an open file, a hospital stay) is held by another aggregate.
    #[error("{0}")]
    Reservation(crate::store::ReservationConflict),
    /// The store refused the command: it would take a fund, a member's cap or
    /// a campaign's unallocated money below zero. A business rule.
    #[error("{0}")]
    InsufficientFunds(domain::money::InsufficientFunds),
    /// The store failed.
    #[error("storage: {0}")]
    Storage(String),
}

impl ErrorCode for AppError {
    fn code(&self) -> &'static str {
        match self {
            AppError::Input(e) => e.code(),
            AppError::Rejected { code, .. } => code,
            AppError::Conflict => "store.conflict",
            AppError::Reservation(_) => "store.reservation_conflict",
            AppError::InsufficientFunds(refused) => refused.code(),
            AppError::Storage(_) => "store.unavailable",
        }
    }
}

impl Localize for AppError {
    fn localize(&self, lang: Lang) -> String {
        match (self, lang) {
            (AppError::Input(e), _) => e.localize(lang),
            (AppError::Rejected { zh, .. }, Lang::Zh) => zh.clone(),
            (AppError::Rejected { en, .. }, Lang::En) => en.clone(),
            (AppError::Conflict, Lang::Zh) => {
                "并发冲突：该案卷已被其他操作修改，请重新加载后重试".into()
            }
            (AppError::Reservation(c), Lang::Zh) => {
                let what = match c.scope {
                    domain::reservation::Scope::OpenFileByResident => "该身份证号已有未结档案",
                    domain::reservation::Scope::ClaimedStay => "该次住院已有补助申请",
                    domain::reservation::Scope::PayoutBatched => {
                        "该笔发放已在其他批次中或已直接支付"
                    }
                    domain::reservation::Scope::PayoutPaid => "该笔发放已支付过",
                };
                format!("{what}（{}）", c.held_by)
            }
            (AppError::InsufficientFunds(refused), _) => refused.localize(lang),
            (AppError::Storage(e), Lang::Zh) => format!("存储不可用：{e}"),
            (e, Lang::En) => e.to_string(),
        }
    }
}

impl<E: ErrorCode + std::error::Error> From<ExecError<E>> for AppError {
    fn from(e: ExecError<E>) -> Self {
        match e {
            ExecError::Rejected(e) => AppError::Rejected {
                code: e.code(),
                zh: e.localize(Lang::Zh),
                en: e.localize(Lang::En),
            },
            // Another command took the key meanwhile: a retry finds it and
            // gets that command's answer.
            ExecError::Conflict | ExecError::KeyTaken => AppError::Conflict,
            ExecError::Reservation(c) => AppError::Reservation(c),
            ExecError::InsufficientFunds(refused) => AppError::InsufficientFunds(refused),
            ExecError::Storage(s) | ExecError::Corrupt(s) => AppError::Storage(s),
        }
    }
}

/// Parses `json` as a command body for `A` and executes it as `ctx`.
pub async fn execute_json<A>(
    engine: &Engine<A>,
    aggregate_id: &str,
    json: &[u8],
    ctx: CommandContext,
) -> Result<Committed<A>, AppError>
where
    A: CaseAggregate,
    A::Error: ErrorCode,
{
    // The id first: a command for a malformed id is wrong whatever its body.
    check_aggregate_id(aggregate_id)?;
    let body: A::Body = crate::app::input::parse_command(json, ctx.business_date())?;
    execute(engine, aggregate_id, Cmd { ctx, body }).await
}

/// Executes a typed command.
pub async fn execute<A>(
    engine: &Engine<A>,
    aggregate_id: &str,
    cmd: Cmd<A::Body>,
) -> Result<Committed<A>, AppError>
where
    A: CaseAggregate,
    A::Error: ErrorCode,
{
    check_aggregate_id(aggregate_id)?;
    A::check_body(aggregate_id, &cmd.body)?;
    let metadata = cmd.ctx.metadata();
    Ok(engine.execute(aggregate_id, cmd, metadata).await?)
}

/// The aggregate id rule ([`domain::values::check_aggregate_id`]), for
/// exactly the string that will be stored: nothing is trimmed.
pub fn check_aggregate_id(id: &str) -> Result<(), AppError> {
    domain::values::check_aggregate_id(id).map_err(|error| {
        AppError::Input(crate::app::input::InputError::Value {
            field: "aggregate_id".into(),
            error,
        })
    })
}
