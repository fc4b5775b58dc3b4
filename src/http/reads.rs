//! Reading case data: summaries (paginated lists and one aggregate, through
//! [`super::views::CaseViews`]), an aggregate's full current state, its
//! stream's history with the hash chain, and the auditor's chain check.
//!
//! Personal data (resident IDs, bank cards, phones) in states and event
//! payloads is masked for roles that do not need it
//! ([`crate::access::permissions::SEES_PERSONAL_DATA`]).

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::donation::DonationCampaign;
use domain::fund::account::FundAccount;
use domain::hardship::HardshipFile;
use domain::i18n::{ErrorCode, Lang};
use domain::mutual_aid::{MutualAidClaim, MutualAidPlan};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::commands::Served;
use super::error::{ApiError, Problem};
use super::params::Params;
use super::views::{CampaignSummary, ClaimSummary, FileSummary, FundAccountSummary, PlanSummary};
use super::{ApiState, Caller};
use crate::access::permissions::{self, Action};
use crate::app::{check_aggregate_id, AppError};
use crate::read::mask::mask_json;

/// An aggregate's current state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StateDoc {
    /// `hardship_file`, …
    pub aggregate_type: String,
    /// The aggregate.
    pub aggregate_id: String,
    /// Its version (also the `ETag`; send it as `If-Match`).
    pub version: usize,
    /// The state as the aggregate keeps it (personal data masked for roles that do not need it).
    #[schema(value_type = Object)]
    pub state: Value,
}

pub use crate::audit::history::EventDoc;

/// A page of a stream's history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HistoryPage {
    /// The aggregate type.
    pub aggregate_type: String,
    /// The aggregate.
    pub aggregate_id: String,
    /// Events, oldest first.
    pub events: Vec<EventDoc>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next_after: Option<usize>,
}

/// The result of recomputing every hash chain.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ChainCheck {
    /// No link broken.
    pub ok: bool,
    /// Streams checked.
    pub streams: u64,
    /// Events checked.
    pub events: u64,
    /// Broken links (at most 1,000 listed).
    pub breaks: Vec<ChainBreakDoc>,
    /// Breaks beyond those listed.
    pub breaks_omitted: u64,
    /// The log order and the stored audit seals (`crate::audit`).
    pub audit: crate::http::audit::AuditCheckDoc,
}

/// One broken link.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ChainBreakDoc {
    /// The stream's type.
    pub aggregate_type: String,
    /// The stream.
    pub aggregate_id: String,
    /// Where.
    pub sequence: u64,
    /// `Hash`, `PrevHash`, `Sequence` or `Unreadable`.
    pub problem: String,
}

macro_rules! page_schema {
    ($name:ident, $item:ty) => {
        /// A page of summaries.
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
        pub struct $name {
            /// The summaries, in id order.
            pub items: Vec<$item>,
            /// Pass as `after` for the next page; absent on the last page.
            pub next_after: Option<String>,
        }
    };
}
page_schema!(FilePage, FileSummary);
page_schema!(PlanPage, PlanSummary);
page_schema!(ClaimPage, ClaimSummary);
page_schema!(CampaignPage, CampaignSummary);
page_schema!(FundAccountPage, FundAccountSummary);
page_schema!(BatchPage, super::finance_summary::BatchSummary);
page_schema!(PeriodPage, super::finance_summary::PeriodSummary);

fn not_found<A: Served>(lang: Lang, id: &str) -> ApiError
where
    A::Error: ErrorCode,
{
    ApiError::not_found(lang, A::KIND.label(lang), id)
}

async fn list<A: Served>(
    state: ApiState,
    caller: Caller,
    query: BTreeMap<String, String>,
) -> Result<Response, ApiError>
where
    A::Error: ErrorCode,
{
    let lang = caller.lang;
    caller.require(Action::Read, A::PLURAL)?;
    let params = Params::check(&query, &["limit", "after", "min_position"], lang)?;
    let limit = params.limit(state.limits())?;
    let after = params.after()?;
    let min_position = params.min_position()?;
    if state.views().projected() {
        // The page's ids come from the views: bring them up to date first
        // (read-your-writes with `min_position`).
        super::reports::views_at(&state, min_position, lang).await?;
    }
    let page = state
        .views()
        .list(A::KIND, after, limit, lang)
        .await
        .map_err(|e| ApiError::unavailable(lang, &e))?;
    Ok(Json(page).into_response())
}

async fn summary<A: Served>(
    state: ApiState,
    caller: Caller,
    id: String,
) -> Result<Response, ApiError>
where
    A::Error: ErrorCode,
{
    let lang = caller.lang;
    caller.require(Action::Read, A::PLURAL)?;
    check_aggregate_id(&id).map_err(|e| ApiError::app(&e, lang))?;
    match state
        .views()
        .get(A::KIND, &id, lang)
        .await
        .map_err(|e| ApiError::unavailable(lang, &e))?
    {
        Some(summary) => Ok(Json(summary).into_response()),
        None => Err(not_found::<A>(lang, &id)),
    }
}

async fn current_state<A: Served>(
    state: ApiState,
    caller: Caller,
    id: String,
    (query, headers): (BTreeMap<String, String>, axum::http::HeaderMap),
) -> Result<Response, ApiError>
where
    A::Error: ErrorCode,
{
    let lang = caller.lang;
    caller.require(Action::Read, A::PLURAL)?;
    check_aggregate_id(&id).map_err(|e| ApiError::app(&e, lang))?;
    let point = Params::check(&query, &["as_of", "as_of_position"], lang)?.as_of()?;
    let (aggregate, version, at) = match &point {
        None => {
            let loaded = A::engine(state.app())
                .load(&id)
                .await
                .map_err(|e| ApiError::app(&AppError::from(e), lang))?;
            (
                serde_json::to_value(&loaded.aggregate),
                loaded.version,
                None,
            )
        }
        Some(p) => {
            let past = crate::audit::asof::load_as_of::<A>(
                &state.app().store,
                &id,
                p,
                state.app().clock.tz(),
            )
            .await
            .map_err(|e| ApiError::unavailable(lang, &e))?;
            match past {
                Some(l) => (
                    serde_json::to_value(&l.aggregate),
                    l.version,
                    Some(l.position),
                ),
                None => (Ok(Value::Null), 0, None),
            }
        }
    };
    if version == 0 {
        return Err(not_found::<A>(lang, &id));
    }
    let route = format!("GET /v1/{}/{{id}}/state", A::PLURAL);
    super::audit_review::record_read(&state, &caller, &route, (A::TYPE, &id), point.as_ref())
        .await?;
    let mut value = aggregate.map_err(|e| ApiError::unavailable(lang, &e))?;
    if !permissions::sees_personal_data(caller.role) {
        mask_json(&mut value);
    }
    if let Some(format) = super::files::wanted(&headers) {
        // The state as a file (`bangfu show --format`'s): one row per field.
        let chain = state
            .app()
            .store
            .verify_chain(A::TYPE, &id)
            .await
            .map_err(|e| ApiError::unavailable(lang, &e))?;
        let as_of = point.zip(at).map(|(p, at)| (p.describe(lang), at));
        let doc = crate::read::export::state_doc((A::TYPE, &id), version, value, &chain, as_of);
        let fields = crate::read::export::fields_doc(&doc);
        return super::files::file_response(lang, &crate::read::export::STATE, &fields, format);
    }
    let mut response = Json(StateDoc {
        aggregate_type: A::TYPE.to_string(),
        aggregate_id: id,
        version,
        state: value,
    })
    .into_response();
    if let Ok(etag) = format!("\"{}\"", version).parse() {
        response
            .headers_mut()
            .insert(axum::http::header::ETAG, etag);
    }
    Ok(response)
}

async fn history<A: Served>(
    state: ApiState,
    caller: Caller,
    id: String,
    (query, headers): (BTreeMap<String, String>, axum::http::HeaderMap),
) -> Result<Response, ApiError>
where
    A::Error: ErrorCode,
{
    let lang = caller.lang;
    caller.require(Action::Read, A::PLURAL)?;
    check_aggregate_id(&id).map_err(|e| ApiError::app(&e, lang))?;
    let params = Params::check(&query, &["limit", "after", "as_of", "as_of_position"], lang)?;
    let point = params.as_of()?;
    let limit = params.limit(state.limits())?;
    let after: usize = match params.after()? {
        None => 0,
        Some(v) => v.parse().map_err(|_| {
            ApiError::bad_value(
                "after",
                lang,
                "after 须为事件序号（整数）",
                "after must be an event sequence number",
            )
        })?,
    };
    let mut events = state
        .app()
        .store
        .history(A::TYPE, &id)
        .await
        .map_err(|e| ApiError::unavailable(lang, &e))?;
    if let Some(p) = &point {
        events.retain(|e| p.includes_stored(e, state.app().clock.tz()));
    }
    if events.is_empty() {
        return Err(not_found::<A>(lang, &id));
    }
    let route = format!("GET /v1/{}/{{id}}/events", A::PLURAL);
    super::audit_review::record_read(&state, &caller, &route, (A::TYPE, &id), point.as_ref())
        .await?;
    let mask = !permissions::sees_personal_data(caller.role);
    let total_after = events.iter().filter(|e| e.sequence > after).count();
    // Chain marks need the stream from its start: computed first, then paged.
    let page: Vec<EventDoc> = crate::audit::history::event_docs::<A>(events, lang, mask)
        .into_iter()
        .filter(|e| e.sequence > after)
        .take(limit)
        .collect();
    let next_after = (total_after > page.len())
        .then(|| page.last().map(|e| e.sequence))
        .flatten();
    let doc = HistoryPage {
        aggregate_type: A::TYPE.to_string(),
        aggregate_id: id,
        events: page,
        next_after,
    };
    match super::files::wanted(&headers) {
        // A stream's history as a file (issue 13, item 6): one row per event.
        Some(format) => {
            let value = serde_json::to_value(&doc).map_err(|e| ApiError::unavailable(lang, &e))?;
            super::files::file_response(lang, &crate::read::export::HISTORY, &value, format)
        }
        None => Ok(Json(doc).into_response()),
    }
}

macro_rules! read_routes {
    (
        $agg:ty, $page:ty, $summary:ty, $tag:tt,
        $list:ident = $list_path:tt,
        $one:ident = $one_path:tt,
        $state:ident = $state_path:tt,
        $events:ident = $events_path:tt
    ) => {
        #[utoipa::path(get, path = $list_path, tag = $tag,
            summary = "摘要列表（分页）List summaries, paginated",
            description = "Summaries in id order. On the embedded store the page's ids come from the \
views (brought up to date first, or to `min_position`); each summary is computed from its aggregate.",
            params(
                ("limit" = Option<usize>, Query, description = "Items per page (default 50, at most 500)"),
                ("after" = Option<String>, Query, description = "next_after of the previous page"),
                ("min_position" = Option<u64>, Query, description = "Wait (bounded) until the views reflect this log position: a command's last_position"),
            ),
            responses(
                (status = 200, body = $page),
                (status = 400, body = Problem, content_type = "application/problem+json"),
                (status = 401, body = Problem, content_type = "application/problem+json"),
                (status = 403, body = Problem, content_type = "application/problem+json"),
                (status = 503, body = Problem, content_type = "application/problem+json"),
            ),
            security(("bearer" = [])))]
        async fn $list(
            State(state): State<ApiState>,
            caller: Caller,
            Query(query): Query<BTreeMap<String, String>>,
        ) -> Response {
            list::<$agg>(state, caller, query).await.unwrap_or_else(IntoResponse::into_response)
        }

        #[utoipa::path(get, path = $one_path, tag = $tag,
            summary = "摘要 Summary",
            params(("id" = String, Path, description = "Aggregate id")),
            responses(
                (status = 200, body = $summary),
                (status = 401, body = Problem, content_type = "application/problem+json"),
                (status = 403, body = Problem, content_type = "application/problem+json"),
                (status = 404, body = Problem, content_type = "application/problem+json"),
            ),
            security(("bearer" = [])))]
        async fn $one(
            State(state): State<ApiState>,
            caller: Caller,
            Path(id): Path<String>,
        ) -> Response {
            summary::<$agg>(state, caller, id).await.unwrap_or_else(IntoResponse::into_response)
        }

        #[utoipa::path(get, path = $state_path, tag = $tag,
            summary = "当前状态 Current state",
            params(
                ("id" = String, Path, description = "Aggregate id"),
                ("as_of" = Option<String>, Query, description = "As of a business date (YYYY-MM-DD: what was true then) or a recorded time (RFC 3339: what was known then)"),
                ("as_of_position" = Option<String>, Query, description = "As of a log position (N, or commit/N)"),
            ),
            responses(
                (status = 200, body = StateDoc),
                (status = 400, body = Problem, content_type = "application/problem+json"),
                (status = 401, body = Problem, content_type = "application/problem+json"),
                (status = 403, body = Problem, content_type = "application/problem+json"),
                (status = 404, body = Problem, content_type = "application/problem+json"),
            ),
            security(("bearer" = [])))]
        async fn $state(
            State(state): State<ApiState>,
            caller: Caller,
            Path(id): Path<String>,
            Query(query): Query<BTreeMap<String, String>>,
            headers: axum::http::HeaderMap,
        ) -> Response {
            current_state::<$agg>(state, caller, id, (query, headers)).await.unwrap_or_else(IntoResponse::into_response)
        }

        #[utoipa::path(get, path = $events_path, tag = $tag,
            summary = "历史事件（分页，含哈希链）History with the hash chain, paginated",
            params(
                ("id" = String, Path, description = "Aggregate id"),
                ("limit" = Option<usize>, Query, description = "Events per page (default 50, at most 500)"),
                ("after" = Option<usize>, Query, description = "Sequence to start after (next_after of the previous page)"),
                ("as_of" = Option<String>, Query, description = "Only the events of that past: a business date (YYYY-MM-DD) or a recorded time (RFC 3339)"),
                ("as_of_position" = Option<String>, Query, description = "Only the events up to this log position"),
            ),
            responses(
                (status = 200, body = HistoryPage),
                (status = 400, body = Problem, content_type = "application/problem+json"),
                (status = 401, body = Problem, content_type = "application/problem+json"),
                (status = 403, body = Problem, content_type = "application/problem+json"),
                (status = 404, body = Problem, content_type = "application/problem+json"),
            ),
            security(("bearer" = [])))]
        async fn $events(
            State(state): State<ApiState>,
            caller: Caller,
            Path(id): Path<String>,
            Query(query): Query<BTreeMap<String, String>>,
            headers: axum::http::HeaderMap,
        ) -> Response {
            history::<$agg>(state, caller, id, (query, headers)).await.unwrap_or_else(IntoResponse::into_response)
        }
    };
}

read_routes!(
    HardshipFile,
    FilePage,
    FileSummary,
    "hardship-files",
    list_files = "/v1/hardship-files",
    get_file = "/v1/hardship-files/{id}",
    file_state = "/v1/hardship-files/{id}/state",
    file_events = "/v1/hardship-files/{id}/events"
);
read_routes!(
    MutualAidPlan,
    PlanPage,
    PlanSummary,
    "mutual-aid-plans",
    list_plans = "/v1/mutual-aid-plans",
    get_plan = "/v1/mutual-aid-plans/{id}",
    plan_state = "/v1/mutual-aid-plans/{id}/state",
    plan_events = "/v1/mutual-aid-plans/{id}/events"
);
read_routes!(
    MutualAidClaim,
    ClaimPage,
    ClaimSummary,
    "mutual-aid-claims",
    list_claims = "/v1/mutual-aid-claims",
    get_claim = "/v1/mutual-aid-claims/{id}",
    claim_state = "/v1/mutual-aid-claims/{id}/state",
    claim_events = "/v1/mutual-aid-claims/{id}/events"
);
read_routes!(
    DonationCampaign,
    CampaignPage,
    CampaignSummary,
    "donation-campaigns",
    list_campaigns = "/v1/donation-campaigns",
    get_campaign = "/v1/donation-campaigns/{id}",
    campaign_state = "/v1/donation-campaigns/{id}/state",
    campaign_events = "/v1/donation-campaigns/{id}/events"
);
read_routes!(
    FundAccount,
    FundAccountPage,
    FundAccountSummary,
    "fund-accounts",
    list_fund_accounts = "/v1/fund-accounts",
    get_fund_account = "/v1/fund-accounts/{id}",
    fund_account_state = "/v1/fund-accounts/{id}/state",
    fund_account_events = "/v1/fund-accounts/{id}/events"
);

read_routes!(
    domain::finance::batch::PayoutBatch,
    BatchPage,
    super::finance_summary::BatchSummary,
    "payout-batches",
    list_batches = "/v1/payout-batches",
    get_batch = "/v1/payout-batches/{id}",
    batch_state = "/v1/payout-batches/{id}/state",
    batch_events = "/v1/payout-batches/{id}/events"
);
read_routes!(
    domain::finance::period::AccountingPeriod,
    PeriodPage,
    super::finance_summary::PeriodSummary,
    "accounting-periods",
    list_periods = "/v1/accounting-periods",
    get_period = "/v1/accounting-periods/{id}",
    period_state = "/v1/accounting-periods/{id}/state",
    period_events = "/v1/accounting-periods/{id}/events"
);

/// Recomputes every stream's hash chain, checks the log order and every
/// stored audit seal.
#[utoipa::path(get, path = "/v1/audit/verify", tag = "audit",
    summary = "核验全部哈希链、日志顺序与审计封印 Recompute every hash chain, check the log order and every seal",
    responses(
        (status = 200, body = ChainCheck),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn verify(State(state): State<ApiState>, caller: Caller) -> Response {
    let lang = caller.lang;
    let run = async {
        caller.require(Action::Verify, "audit verify")?;
        let full = crate::http::audit::full_report(&state)
            .await
            .map_err(|e| ApiError::unavailable(lang, &e))?;
        Ok::<_, ApiError>(Json(chain_check(&full)).into_response())
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

/// The answer of `GET` and `POST /v1/audit/verify`.
pub(crate) fn chain_check(full: &crate::audit::verify::AuditReport) -> ChainCheck {
    let report = &full.chains;
    ChainCheck {
        ok: !full.altered() && !full.forged(),
        streams: report.streams,
        events: report.events,
        breaks: report
            .breaks
            .iter()
            .map(|b| ChainBreakDoc {
                aggregate_type: b.aggregate_type.clone(),
                aggregate_id: b.aggregate_id.clone(),
                sequence: b.sequence,
                problem: format!("{:?}", b.problem),
            })
            .collect(),
        breaks_omitted: report.breaks_omitted,
        audit: crate::http::audit::check_doc(full),
    }
}

/// The read routes.
pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(list_files))
        .routes(routes!(get_file))
        .routes(routes!(file_state))
        .routes(routes!(file_events))
        .routes(routes!(list_plans))
        .routes(routes!(get_plan))
        .routes(routes!(plan_state))
        .routes(routes!(plan_events))
        .routes(routes!(list_claims))
        .routes(routes!(get_claim))
        .routes(routes!(claim_state))
        .routes(routes!(claim_events))
        .routes(routes!(list_campaigns))
        .routes(routes!(get_campaign))
        .routes(routes!(campaign_state))
        .routes(routes!(campaign_events))
        .routes(routes!(list_fund_accounts))
        .routes(routes!(get_fund_account))
        .routes(routes!(fund_account_state))
        .routes(routes!(fund_account_events))
        .routes(routes!(list_batches))
        .routes(routes!(get_batch))
        .routes(routes!(batch_state))
        .routes(routes!(batch_events))
        .routes(routes!(list_periods))
        .routes(routes!(get_period))
        .routes(routes!(period_state))
        .routes(routes!(period_events))
        .routes(routes!(verify))
}
