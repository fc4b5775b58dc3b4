//! `POST /v1/{aggregates}/{id}/commands`: every command of every aggregate.
//!
//! The body is the CLI's (`{"OpenFile": {...}}`), parsed by the same
//! `input::parse_json`, so the API and the CLI accept and refuse exactly the
//! same input and name the same field. The order of checks is fixed so that
//! nothing a client sends can write anything it should not:
//!
//! 1. token → 401; role header → 400/403; aggregate id → 400;
//! 2. the role may send this command (named by the body's single key) → 403;
//! 3. the body parses → 400 (not JSON) / 422 (a field, named) / 413 (size);
//! 4. `If-Match`, `Idempotency-Key`, `X-Correlation-Id` are well-formed → 400;
//! 5. the command runs in a task of its own, so a client that disconnects or
//!    times out cannot cut it between commit and recording its outcome.
//!
//! The command runs as the authenticated user in the request's role: every
//! event records both. A version conflict without `If-Match` is retried (the
//! client did not ask for a version); with it, it is the client's 409.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{SecondsFormat, Utc};
use cqrs_es::DomainEvent;
use domain::command::{metadata_keys, Actor, Cmd};
use domain::donation::{DonationCampaign, DonationCampaignCommand};
use domain::finance::batch::{PayoutBatch, PayoutBatchCommand};
use domain::finance::period::{AccountingPeriod, AccountingPeriodCommand};
use domain::fund::account::{FundAccount, FundAccountCommand};
use domain::hardship::{HardshipFile, HardshipFileCommand};
use domain::i18n::{ErrorCode, Lang};
use domain::mutual_aid::{
    MutualAidClaim, MutualAidClaimCommand, MutualAidPlan, MutualAidPlanCommand,
};
use serde::{Deserialize, Serialize};
use tracing::Instrument;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::error::{ApiError, Problem, PROBLEM_JSON};
use super::{idempotency, ApiState, Caller};
use crate::access::permissions;
use crate::app::engine::{Committed, Engine, ExecError};
use crate::app::{check_aggregate_id, App, AppError, CaseAggregate};
use crate::store::{CommandKey, KeyRecord};

/// Times a command is retried after losing an optimistic-concurrency race,
/// when the client did not ask for a version.
const CONFLICT_RETRIES: usize = 5;

/// The header that tells a replayed response from a fresh one.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";

/// What a command committed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CommandOutcome {
    /// `hardship_file`, `mutual_aid_plan`, `mutual_aid_claim`, `donation_campaign`, `fund_account`.
    pub aggregate_type: String,
    /// The aggregate.
    pub aggregate_id: String,
    /// Its version after the command (also the `ETag`).
    pub version: usize,
    /// Global position of the last event written. Pass it as `min_position`
    /// to a view or list to read this command's own writes.
    pub last_position: Option<u64>,
    /// The same event's log position (`commit/position`; `0/…` on the
    /// embedded store): what `min_position` takes on every store.
    #[serde(default)]
    pub log_position: Option<String>,
    /// The command's id, recorded in each event's metadata.
    pub command_id: Uuid,
    /// The events written, oldest first.
    pub events: Vec<CommittedEvent>,
}

/// One event a command wrote.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CommittedEvent {
    /// Its sequence in the stream.
    pub sequence: usize,
    /// Stable event type name (`FileOpened`).
    pub event_type: String,
    /// The event's id.
    pub event_id: Option<String>,
    /// Its name for people, in the request's language.
    pub label: String,
    /// A one-line summary, personal data masked.
    pub summary: String,
}

/// An aggregate the API serves: where its engine is, how its routes are named.
pub trait Served: CaseAggregate<Body: Clone + Sync, Error: Send + Sync>
where
    Self::Error: ErrorCode,
{
    /// The path segment (`hardship-files`).
    const PLURAL: &'static str;
    /// This aggregate's engine in the app.
    fn engine(app: &App) -> &Engine<Self>;
}

impl Served for HardshipFile {
    const PLURAL: &'static str = "hardship-files";
    fn engine(app: &App) -> &Engine<Self> {
        &app.files
    }
}
impl Served for MutualAidPlan {
    const PLURAL: &'static str = "mutual-aid-plans";
    fn engine(app: &App) -> &Engine<Self> {
        &app.plans
    }
}
impl Served for MutualAidClaim {
    const PLURAL: &'static str = "mutual-aid-claims";
    fn engine(app: &App) -> &Engine<Self> {
        &app.claims
    }
}
impl Served for DonationCampaign {
    const PLURAL: &'static str = "donation-campaigns";
    fn engine(app: &App) -> &Engine<Self> {
        &app.campaigns
    }
}
impl Served for PayoutBatch {
    const PLURAL: &'static str = "payout-batches";
    fn engine(app: &App) -> &Engine<Self> {
        &app.batches
    }
}
impl Served for AccountingPeriod {
    const PLURAL: &'static str = "accounting-periods";
    fn engine(app: &App) -> &Engine<Self> {
        &app.periods
    }
}
impl Served for FundAccount {
    const PLURAL: &'static str = "fund-accounts";
    fn engine(app: &App) -> &Engine<Self> {
        &app.funds
    }
}

macro_rules! command_route {
    ($name:ident, $agg:ty, $body:ty, $path:tt, $tag:tt, $summary:tt) => {
        #[utoipa::path(
            post,
            path = $path,
            tag = $tag,
            summary = $summary,
            description = "Body: one command, named by its single key (`{\"CommandName\": {...}}`), \
as the CLI's `bangfu run` takes it. Which role may send which command: see the permission matrix.",
            request_body(content = $body, content_type = "application/json"),
            params(
                ("id" = String, Path, description = "Aggregate id: 1–64 of A–Z a–z 0–9 . _ / -"),
                ("Idempotency-Key" = Option<String>, Header, description = "1–200 visible ASCII characters; a retry with the same key returns the first response and applies nothing twice"),
                ("If-Match" = Option<String>, Header, description = "Expected current version (as in ETag); 409 with current_version when stale"),
                ("X-Bangfu-Role" = Option<String>, Header, description = "Role to act in, when the user holds several"),
                ("X-Correlation-Id" = Option<String>, Header, description = "UUID tying this command to others"),
                ("Accept-Language" = Option<String>, Header, description = "zh (default) or en"),
            ),
            responses(
                (status = 200, description = "Committed (or replayed: header Idempotent-Replayed)", body = CommandOutcome),
                (status = 400, description = "Malformed JSON, bad header or id", body = Problem, content_type = "application/problem+json"),
                (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
                (status = 403, description = "The role may not send this command", body = Problem, content_type = "application/problem+json"),
                (status = 409, description = "Version conflict (current_version), key held by another aggregate, idempotency key reused", body = Problem, content_type = "application/problem+json"),
                (status = 413, description = "Body over the limit", body = Problem, content_type = "application/problem+json"),
                (status = 422, description = "Invalid field (named), or refused by a business rule (code)", body = Problem, content_type = "application/problem+json"),
                (status = 503, description = "Store unavailable", body = Problem, content_type = "application/problem+json"),
            ),
            security(("bearer" = []))
        )]
        async fn $name(
            State(state): State<ApiState>,
            caller: Caller,
            Path(id): Path<String>,
            headers: HeaderMap,
            body: Body,
        ) -> Response {
            match handle::<$agg>(state, caller, id, headers, body).await {
                Ok(response) => response,
                Err(error) => error.into_response(),
            }
        }
    };
}

command_route!(
    file_command,
    HardshipFile,
    HardshipFileCommand,
    "/v1/hardship-files/{id}/commands",
    "hardship-files",
    "对困难职工档案执行命令 Run a hardship-file command"
);
command_route!(
    plan_command,
    MutualAidPlan,
    MutualAidPlanCommand,
    "/v1/mutual-aid-plans/{id}/commands",
    "mutual-aid-plans",
    "对医疗互助期执行命令 Run a mutual-aid plan command"
);
command_route!(
    claim_command,
    MutualAidClaim,
    MutualAidClaimCommand,
    "/v1/mutual-aid-claims/{id}/commands",
    "mutual-aid-claims",
    "对医疗互助补助申请执行命令 Run a mutual-aid claim command"
);
command_route!(
    campaign_command,
    DonationCampaign,
    DonationCampaignCommand,
    "/v1/donation-campaigns/{id}/commands",
    "donation-campaigns",
    "对一日捐活动执行命令 Run a donation-campaign command"
);
command_route!(
    fund_command,
    FundAccount,
    FundAccountCommand,
    "/v1/fund-accounts/{id}/commands",
    "fund-accounts",
    "对资金账户执行命令（资金拨入、冲销）Run a fund-account command (appropriations)"
);

command_route!(
    batch_command,
    PayoutBatch,
    PayoutBatchCommand,
    "/v1/payout-batches/{id}/commands",
    "payout-batches",
    "对发放批次执行命令（编制、锁定、签发、导出、回单、重发、取消、关闭）Run a payout-batch command"
);
command_route!(
    period_command,
    AccountingPeriod,
    AccountingPeriodCommand,
    "/v1/accounting-periods/{id}/commands",
    "accounting-periods",
    "对会计期间执行命令（月结）Run an accounting-period command (month-end close)"
);

/// The command routes.
pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(file_command))
        .routes(routes!(plan_command))
        .routes(routes!(claim_command))
        .routes(routes!(campaign_command))
        .routes(routes!(fund_command))
        .routes(routes!(batch_command))
        .routes(routes!(period_command))
}

/// Reads a body of at most `max` bytes; 413 beyond.
pub(crate) async fn read_body(body: Body, max: usize, lang: Lang) -> Result<Vec<u8>, ApiError> {
    axum::body::to_bytes(body, max)
        .await
        .map(|b| b.to_vec())
        .map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "input.too_large",
                lang,
                match lang {
                    Lang::Zh => format!("请求内容超过上限 {max} 字节"),
                    Lang::En => format!("the request body exceeds the limit of {max} bytes"),
                },
            )
        })
}

/// The command's name: the body's single top-level key, if it has exactly one.
fn command_name(bytes: &[u8]) -> Option<String> {
    let map: std::collections::BTreeMap<String, serde::de::IgnoredAny> =
        serde_json::from_slice(bytes).ok()?;
    let mut keys = map.into_keys();
    match (keys.next(), keys.next()) {
        (Some(name), None) => Some(name),
        _ => None,
    }
}

/// `If-Match: 3`, `"3"` or `W/"3"` → 3.
fn expected_version(headers: &HeaderMap, lang: Lang) -> Result<Option<usize>, ApiError> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .map(|v| v.trim().trim_start_matches("W/").trim_matches('"'))
        .and_then(|v| v.parse::<usize>().ok())
        .map(Some)
        .ok_or_else(|| {
            ApiError::bad_value(
                "If-Match",
                lang,
                "If-Match 须为案卷版本号（如 3）",
                "If-Match must be the aggregate's version (e.g. 3)",
            )
        })
}

fn correlation_id(headers: &HeaderMap, lang: Lang) -> Result<Option<Uuid>, ApiError> {
    let Some(value) = headers.get("x-correlation-id") else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(|v| Uuid::parse_str(v.trim()).ok())
        .map(Some)
        .ok_or_else(|| {
            ApiError::bad_value(
                "X-Correlation-Id",
                lang,
                "X-Correlation-Id 须为 UUID",
                "X-Correlation-Id must be a UUID",
            )
        })
}

/// Everything a command needs once the request has been checked.
struct Job<A: Served>
where
    A::Error: ErrorCode,
{
    state: ApiState,
    caller: Caller,
    id: String,
    body: A::Body,
    expected: Option<usize>,
    correlation: Option<Uuid>,
    /// The idempotency key and the request's fingerprint.
    key: Option<(String, [u8; 32])>,
}

async fn handle<A: Served>(
    state: ApiState,
    caller: Caller,
    id: String,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError>
where
    A::Error: ErrorCode,
{
    let lang = caller.lang;
    let what = |name: &str| format!("{} {name}", A::KIND.cli_name());
    if !permissions::writes_any(caller.role, A::KIND) {
        return Err(ApiError::forbidden(lang, caller.role, &what("*")));
    }
    check_aggregate_id(&id).map_err(|e| ApiError::app(&e, lang))?;
    let bytes = read_body(body, state.limits().max_body_bytes, lang)
        .instrument(tracing::debug_span!("bf.read_body"))
        .await?;
    // Spans named `bf.*` time the parts of a command (the benchmark's
    // profile, BENCHMARKS.md); without a subscriber they cost nothing.
    let parsing = tracing::debug_span!("bf.parse").entered();
    let name = command_name(&bytes);
    if let Some(name) = &name {
        caller.require(permissions::Action::Command(A::KIND, name), &what(name))?;
    }
    let today = state.app().clock.date_of(state.app().clock.now());
    let parsed: A::Body =
        domain::i18n::with_lang(lang, || crate::app::input::parse_command(&bytes, today))
            .map_err(|e| ApiError::input(&e, lang))?;
    let expected = expected_version(&headers, lang)?;
    let correlation = correlation_id(&headers, lang)?;
    let key = idempotency::key_of(&headers, lang)?.map(|key| {
        let fingerprint = idempotency::fingerprint(&[
            A::TYPE.as_bytes(),
            id.as_bytes(),
            caller.role.as_str().as_bytes(),
            expected
                .map(|v| v.to_string())
                .unwrap_or_default()
                .as_bytes(),
            &bytes,
        ]);
        (key, fingerprint)
    });
    drop(parsing);
    let job = Job::<A> {
        state: state.clone(),
        caller,
        id,
        body: parsed,
        expected,
        correlation,
        key,
    };
    // Run to completion whatever happens to this request.
    let started = std::time::Instant::now();
    let task = state.tasks().spawn(
        job.run()
            .instrument(tracing::debug_span!("bf.command_task")),
    );
    match task
        .instrument(tracing::debug_span!("bf.spawn_and_wait"))
        .await
    {
        Ok(response) => {
            let name = name.as_deref().unwrap_or("unknown");
            crate::http::metrics::command_done(A::TYPE, name, response.status(), started.elapsed());
            Ok(response)
        }
        Err(join) => {
            if join.is_panic() {
                state
                    .inner
                    .panics
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tracing::error!("a command task panicked");
            }
            Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "http.internal",
                lang,
                lang.pick(
                    "服务器内部错误，命令未完成",
                    "internal error; the command did not complete",
                )
                .to_string(),
            ))
        }
    }
}

/// A finished command: status and JSON body, and whether an idempotency key
/// keeps it for replay.
struct Outcome {
    status: StatusCode,
    body: String,
    version: Option<usize>,
    keep: bool,
    /// Events carry this answer (a replay rebuilds it from them).
    in_events: bool,
}

impl Outcome {
    fn committed(outcome: &CommandOutcome) -> Outcome {
        Outcome {
            status: StatusCode::OK,
            body: serde_json::to_string(outcome).unwrap_or_default(),
            version: Some(outcome.version),
            keep: true,
            in_events: !outcome.events.is_empty(),
        }
    }

    /// An answer kept beside its key.
    fn kept(status: u16, body: String) -> Outcome {
        let version = serde_json::from_str::<CommandOutcome>(&body)
            .ok()
            .map(|o| o.version);
        Outcome {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
            body,
            version,
            keep: true,
            in_events: false,
        }
    }

    fn failed(error: &ApiError) -> Outcome {
        let status = error.status;
        Outcome {
            status,
            body: serde_json::to_string(&error.problem).unwrap_or_default(),
            version: None,
            // A business rule's refusal is this command's outcome; a conflict
            // or an outage is not, and a retry should run it again.
            keep: status == StatusCode::UNPROCESSABLE_ENTITY,
            in_events: false,
        }
    }

    fn into_response(self, replayed: bool) -> Response {
        let content_type = if self.status.is_success() {
            "application/json"
        } else {
            PROBLEM_JSON
        };
        let mut response = (self.status, self.body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        if let Some(version) = self.version {
            if let Ok(etag) = HeaderValue::from_str(&format!("\"{version}\"")) {
                headers.insert(header::ETAG, etag);
            }
        }
        if replayed {
            headers.insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
        }
        response
    }
}

impl<A: Served> Job<A>
where
    A::Error: ErrorCode,
{
    async fn run(self) -> Response {
        let Some((key, fingerprint)) = self.key.clone() else {
            return self
                .execute(Uuid::now_v7(), None)
                .await
                .into_response(false);
        };
        let user = self.caller.user.id.as_str().to_string();
        let lock_id = idempotency::fingerprint(&[user.as_bytes(), key.as_bytes()]);
        let _guard = self
            .state
            .key_lock(&lock_id)
            .lock()
            .instrument(tracing::debug_span!("bf.idem_lock"))
            .await;
        let key = CommandKey {
            user_id: user,
            idem_key: key,
            request_sha256: hex::encode(fingerprint),
            command_id: Uuid::now_v7(),
            aggregate_type: A::TYPE.to_string(),
            aggregate_id: self.id.clone(),
            created_at: Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true),
        };
        match self.held(key).await {
            Held::Answer(outcome) => outcome.into_response(true),
            Held::Refused(error) => error.into_response(),
            Held::Run(key, insert) => self.run_keyed(key, insert).await,
        }
    }

    /// What the store holds for the request's key: an answer to replay, a
    /// refusal, or the command to run — with a new key to insert, or with the
    /// command id of a key taken before whose events were never written.
    async fn held(&self, mut key: CommandKey) -> Held {
        let lang = self.caller.lang;
        let held = self
            .state
            .app()
            .store
            .command_key(&key.user_id, &key.idem_key)
            .instrument(tracing::debug_span!("bf.idem_lookup"))
            .await;
        match held {
            Err(e) => Held::Refused(ApiError::unavailable(lang, &e)),
            Ok(None) => Held::Run(key, true),
            Ok(Some(held)) if held.request_sha256 != key.request_sha256 => {
                Held::Refused(key_error(lang, "idempotency.key_reused"))
            }
            Ok(Some(KeyRecord {
                answer: Some((status, body)),
                ..
            })) => Held::Answer(Outcome::kept(status, body)),
            Ok(Some(held)) => match self.recover(held.command_id).await {
                Ok(Some(outcome)) => Held::Answer(Outcome::committed(&outcome)),
                Ok(None) => {
                    key.command_id = held.command_id;
                    Held::Run(key, false)
                }
                Err(error) => Held::Refused(error),
            },
        }
    }

    /// Runs the command with its key (committed with its events if
    /// `insert`); an answer no event carries is kept beside the key.
    async fn run_keyed(&self, key: CommandKey, insert: bool) -> Response {
        let outcome = self.execute(key.command_id, insert.then_some(&key)).await;
        if outcome.keep && !outcome.in_events {
            let kept = self
                .state
                .app()
                .store
                .keep_key(&key, Some((outcome.status.as_u16(), &outcome.body)))
                .instrument(tracing::debug_span!("bf.idem_keep"))
                .await;
            if let Err(e) = kept {
                // The answer stands; a retry runs the command again, which
                // (having written nothing) answers the same.
                tracing::warn!(error = %e, "could not keep the idempotency answer");
            }
        }
        outcome.into_response(false)
    }

    /// The events a key's command wrote, as its outcome, if it wrote any.
    async fn recover(&self, command_id: Uuid) -> Result<Option<CommandOutcome>, ApiError> {
        let lang = self.caller.lang;
        let history = self
            .state
            .app()
            .store
            .history(A::TYPE, &self.id)
            .await
            .map_err(|e| ApiError::unavailable(lang, &e))?;
        let command_id_text = command_id.to_string();
        let mine: Vec<_> = history
            .iter()
            .filter(|e| e.metadata.get(metadata_keys::COMMAND_ID) == Some(&command_id_text))
            .collect();
        let Some(last) = mine.last() else {
            return Ok(None);
        };
        Ok(Some(CommandOutcome {
            aggregate_type: A::TYPE.to_string(),
            aggregate_id: self.id.clone(),
            version: last.sequence,
            last_position: Some(last.position),
            log_position: Some(last.log_position.to_string()),
            command_id,
            events: mine
                .iter()
                .map(|e| {
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
                    CommittedEvent {
                        sequence: e.sequence,
                        event_type: e.event_type.clone(),
                        event_id: Some(e.event_id.to_string()),
                        label,
                        summary,
                    }
                })
                .collect(),
        }))
    }

    async fn execute(&self, command_id: Uuid, key: Option<&CommandKey>) -> Outcome {
        let lang = self.caller.lang;
        let ctx = self.state.app().clock.context(
            Actor {
                id: self.caller.user.id.clone(),
                role: self.caller.role,
            },
            Some(command_id),
            self.correlation,
        );
        let engine = A::engine(self.state.app());
        let mut attempt = 0;
        let result = loop {
            attempt += 1;
            let command = Cmd {
                ctx: ctx.clone(),
                body: self.body.clone(),
            };
            match engine
                .execute_keyed(&self.id, command, ctx.metadata(), self.expected, key)
                .instrument(tracing::debug_span!("bf.engine_execute"))
                .await
            {
                Err(ExecError::Conflict)
                    if self.expected.is_none() && attempt <= CONFLICT_RETRIES =>
                {
                    continue
                }
                other => break other,
            }
        };
        match result {
            Ok(committed) => {
                let _body = tracing::debug_span!("bf.response_body").entered();
                Outcome::committed(&outcome_of::<A>(&committed, command_id, lang))
            }
            Err(ExecError::Conflict) => {
                let error = ApiError::app(&AppError::Conflict, lang);
                let error = match engine.load(&self.id).await {
                    Ok(loaded) => error.with_version(loaded.version),
                    Err(_) => error,
                };
                Outcome::failed(&error)
            }
            // Another command took the key meanwhile: its answer is there
            // for a retry.
            Err(ExecError::KeyTaken) => {
                Outcome::failed(&key_error(lang, "idempotency.in_progress"))
            }
            Err(e) => Outcome::failed(&ApiError::app(&AppError::from(e), lang)),
        }
    }
}

/// What [`Job::held`] found.
enum Held {
    Answer(Outcome),
    Refused(ApiError),
    Run(CommandKey, bool),
}

/// 409 for a key used for another request, or held by a command still running.
fn key_error(lang: Lang, code: &'static str) -> ApiError {
    let (zh, en) = match code {
        "idempotency.key_reused" => (
            "该 Idempotency-Key 已用于另一个请求（内容不同）；新请求请使用新的键",
            "this Idempotency-Key was used for a different request; use a new key for a new request",
        ),
        _ => (
            "使用该 Idempotency-Key 的请求正在处理，请稍后重试",
            "a request with this Idempotency-Key is in progress; retry shortly",
        ),
    };
    ApiError::new(
        StatusCode::CONFLICT,
        code,
        lang,
        lang.pick(zh, en).to_string(),
    )
    .with_field("Idempotency-Key")
}

fn outcome_of<A: Served>(committed: &Committed<A>, command_id: Uuid, lang: Lang) -> CommandOutcome
where
    A::Error: ErrorCode,
{
    CommandOutcome {
        aggregate_type: A::TYPE.to_string(),
        aggregate_id: committed.aggregate_id.clone(),
        version: committed.version,
        last_position: committed.last_position,
        log_position: committed.last_log_position.map(|p| p.to_string()),
        command_id,
        events: committed
            .events
            .iter()
            .map(|e| CommittedEvent {
                sequence: e.sequence,
                event_type: e.payload.event_type(),
                event_id: e.metadata.get(metadata_keys::EVENT_ID).cloned(),
                label: A::event_label(&e.payload, lang).to_string(),
                summary: A::event_describe(&e.payload, lang),
            })
            .collect(),
    }
}
