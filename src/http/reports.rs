//! `GET /v1/views/…`: the five views of the projections (issue 3) over HTTP —
//! household file (一户一档), plan period, payout ledger, campaign, fund
//! balances — read through `app.projector` with the same rows and report
//! functions `bangfu view` prints ([`crate::cli::views`]), so the API and the CLI
//! give the same figures.
//!
//! **Read-your-writes.** Every read first brings the projector up to the
//! head of the log; with `?min_position=N` (a command's `last_position`) it
//! waits until the views reflect at least N. Either wait is bounded by
//! [`super::Limits::view_wait`]; views that do not get there answer 503
//! `view.behind`. Each answer says which position it reflects
//! (`views_position`). Positions cross this edge only as [`WirePosition`].
//!
//! **Pages.** The ledger's payouts and the units of a plan period or a
//! campaign are paged (`limit`, `after`) like every list of the API; totals
//! always cover every matching row. A household file and the four funds are
//! one document each.
//!
//! **Personal data.** View rows store resident IDs, cards and phones masked
//! already; the same value masking as every other read is applied on top for
//! roles outside [`crate::access::permissions::SEES_PERSONAL_DATA`].

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::fund::Fund;
use domain::i18n::Lang;
use projections::views::campaign::CampaignReport;
use projections::views::funds::FundBalanceRow;
use projections::views::household::HouseholdFileRow;
use projections::views::ledger::{LedgerTotals, PayoutRow};
use projections::views::plan::PlanPeriodReport;
use projections::ViewName;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, Problem};
use super::files::{self, ViewFile};
use super::params::{Params, WirePosition};
use super::{ApiState, Caller};
use crate::access::permissions::{self, Action};
use crate::app::check_aggregate_id;
use crate::projector::ProjectorError;
use crate::read::export::{CAMPAIGN, FUND_BALANCES, HOUSEHOLD_FILE, PAYOUT_LEDGER, PLAN_PERIOD};
use crate::read::mask::mask_json;

/// 一户一档: one hardship file as its view holds it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HouseholdFileView {
    /// The log position the views reflect.
    pub views_position: WirePosition,
    /// The file: household (identifiers masked), visits, plan and
    /// revisions, measures with planned / requested / approved / paid,
    /// grants, next review, closure.
    pub file: HouseholdFileRow,
}

/// A plan period: terms, totals, claims by state, subsidies, the fund
/// balance, and one page of its units.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PlanPeriodView {
    /// The log position the views reflect.
    pub views_position: WirePosition,
    /// The report. Every total covers the whole period; `units` is one page,
    /// in unit-id order, each unit with its own claims and subsidies paid.
    pub plan_period: PlanPeriodReport,
    /// Pass as `after` for the next page of units; absent on the last page.
    pub units_next_after: Option<String>,
}

/// The payout ledger: one page of payouts, totals over every matching one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PayoutLedgerView {
    /// The log position the views reflect.
    pub views_position: WirePosition,
    /// The fund asked for (all funds if absent).
    pub fund: Option<Fund>,
    /// The month asked for, `YYYY-MM` (of each payout's latest change of state).
    pub month: Option<String>,
    /// The page of payouts, in payout-id order (beneficiaries masked).
    pub payouts: Vec<PayoutRow>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next_after: Option<String>,
    /// Payouts matching the filter, on every page (transfers included).
    pub matching: u64,
    /// Totals by fund and by month of every matching payout (approved
    /// transfers in `transferred_fen` of the fund they left).
    pub totals: LedgerTotals,
    /// The balances of the funds listed (the fund asked for, or all four),
    /// quoted from the fund-balance view: the same numbers every view shows.
    pub funds: Vec<FundBalanceRow>,
}

/// A one-day-donation campaign: totals and one page of its units.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CampaignView {
    /// The log position the views reflect.
    pub views_position: WirePosition,
    /// The report: totals of the campaign; `units` is one page, in unit-id order.
    pub campaign: CampaignReport,
    /// Pass as `after` for the next page of units; absent on the last page.
    pub units_next_after: Option<String>,
}

/// Every fund's inflows, outflows and balance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FundBalancesView {
    /// The log position the views reflect.
    pub views_position: WirePosition,
    /// The four funds, in display order (empty ones included).
    pub funds: Vec<FundBalanceRow>,
}

/// 503: the views could not be read or brought up to date. The cause goes to
/// the log, not to the client.
pub(super) fn view_unavailable(lang: Lang, cause: &ProjectorError) -> ApiError {
    tracing::error!(error = %cause, "views unavailable");
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "view.unavailable",
        lang,
        lang.pick(
            "视图暂不可用（本存储尚不保存视图，或更新视图失败），请稍后重试",
            "the views are unavailable (this store does not keep views yet, or bringing them up to date failed); retry later",
        )
        .to_string(),
    )
}

/// Brings the views up to date for a read — to the head of the log, or to at
/// least `min` — within the wait limit, and returns the position they reflect.
pub(crate) async fn views_at(
    state: &ApiState,
    min: Option<crate::store::LogPosition>,
    lang: Lang,
) -> Result<WirePosition, ApiError> {
    let projector = &state.app().projector;
    let catch_up = async {
        match min {
            None => projector.catch_up_committed().await,
            Some(min) => {
                // A position a command of this process returned is committed,
                // so one catch-up reaches it; one written through another
                // process (or not yet readable on PostgreSQL) may not be:
                // poll, backing off.
                let mut pause = std::time::Duration::from_millis(5);
                loop {
                    let at = projector.catch_up_to(min).await?;
                    if at >= min {
                        return Ok(at);
                    }
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(std::time::Duration::from_millis(200));
                }
            }
        }
    };
    let started = std::time::Instant::now();
    let waited = tokio::time::timeout(state.limits().view_wait, catch_up).await;
    crate::http::metrics::view_waited(started.elapsed());
    match waited {
        Ok(Ok(at)) => Ok(at),
        Ok(Err(e)) => Err(view_unavailable(lang, &e)),
        Err(_) => {
            let at = projector.position().await.ok();
            let at_text = at.map_or_else(|| "?".to_string(), |p| p.to_string());
            let error = ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "view.behind",
                lang,
                match (lang, min) {
                    (Lang::Zh, Some(min)) => format!(
                        "视图在等待时限内未更新到位置 {min}（当前位置 {at_text}），请稍后重试"
                    ),
                    (Lang::En, Some(min)) => format!(
                        "the views did not reach position {min} in time (they reflect {at_text}); retry later"
                    ),
                    (Lang::Zh, None) => format!(
                        "视图正在追赶事件日志（当前位置 {at_text}），请稍后重试"
                    ),
                    (Lang::En, None) => format!(
                        "the views are still catching up with the log (at {at_text}); retry later"
                    ),
                },
            );
            Err(match min {
                Some(_) => error.with_field("min_position"),
                None => error,
            })
        }
    }
}

fn view_not_found(lang: Lang, view: ViewName, id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "view.not_found",
        lang,
        match lang {
            Lang::Zh => format!("{}中没有 {id}", view.label(lang)),
            Lang::En => format!("no {id} in the {} view", view.label(lang)),
        },
    )
}

/// The document as JSON, personal data masked for roles that do not need
/// it — or, when `Accept` asks for CSV or XLSX, the same masked document's
/// rows as a file ([`super::files`]).
fn respond<T: Serialize>(
    caller: &Caller,
    headers: &HeaderMap,
    view: &ViewFile,
    doc: &T,
) -> Result<Response, ApiError> {
    let mut value =
        serde_json::to_value(doc).map_err(|e| ApiError::unavailable(caller.lang, &e))?;
    if !permissions::sees_personal_data(caller.role) {
        mask_json(&mut value);
    }
    match files::wanted(headers) {
        Some(format) => files::file_response(caller.lang, view, &value, format),
        None => Ok(Json(value).into_response()),
    }
}

/// The checks every view read starts with, in the API's fixed order: the
/// role reads case data (403), the query holds only `known` parameters and
/// the id is well-formed (400). The caller parses its values next and only
/// then waits for the views ([`views_at`]).
pub(super) fn begin<'q>(
    caller: &Caller,
    what: &str,
    query: &'q BTreeMap<String, String>,
    known: &[&str],
    id: Option<&str>,
) -> Result<Params<'q>, ApiError> {
    caller.require(Action::Read, what)?;
    let params = Params::check(query, known, caller.lang)?;
    if let Some(id) = id {
        check_aggregate_id(id).map_err(|e| ApiError::app(&e, caller.lang))?;
    }
    Ok(params)
}

/// 一户一档: one hardship file.
#[utoipa::path(get, path = "/v1/views/household-files/{id}", tag = "views",
    summary = "一户一档 Household file view",
    description = "Household (identifiers masked), status, causes, visits timeline, current plan and \
its revisions, each measure's planned / requested / approved / paid, grants, next review, closure.",
    params(
        ("id" = String, Path, description = "The file id"),
        ("min_position" = Option<u64>, Query, description = "Wait (bounded) until the views reflect this log position: a command's last_position"),
        ("as_of" = Option<String>, Query, description = "As of a business date (YYYY-MM-DD: what was true then) or a recorded time (RFC 3339: what was known then), folded from the log"),
        ("as_of_position" = Option<String>, Query, description = "As of a log position (N, or commit/N)"),
    ),
    responses(
        (status = 200, body = HouseholdFileView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Views unavailable, or not at min_position in time (view.behind)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn household_file(
    State(state): State<ApiState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    let run = async {
        let lang = caller.lang;
        let params = begin(
            &caller,
            "views household-file",
            &query,
            &["min_position", "as_of", "as_of_position"],
            Some(&id),
        )?;
        let (app, at) =
            super::audit_review::view_source(&state, &params, ViewName::HouseholdFile, lang)
                .await?;
        let file = app
            .projector
            .get::<HouseholdFileRow>(&id)
            .await
            .map_err(|e| view_unavailable(lang, &e))?
            .ok_or_else(|| view_not_found(lang, ViewName::HouseholdFile, &id))?;
        respond(
            &caller,
            &headers,
            &HOUSEHOLD_FILE,
            &HouseholdFileView {
                views_position: at,
                file,
            },
        )
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

/// One plan period, its units paged.
#[utoipa::path(get, path = "/v1/views/plan-periods/{id}", tag = "views",
    summary = "互助期汇总 Plan period view (units paged)",
    description = "Policy version; units and members enrolled; contributions; claims by state; \
subsidies assessed, approved and paid; the fund balance; one page of the per-unit breakdown.",
    params(
        ("id" = String, Path, description = "The plan id"),
        ("limit" = Option<usize>, Query, description = "Units per page (default 50, at most 500)"),
        ("after" = Option<String>, Query, description = "units_next_after of the previous page"),
        ("min_position" = Option<u64>, Query, description = "Wait (bounded) until the views reflect this log position"),
        ("as_of" = Option<String>, Query, description = "As of a business date (YYYY-MM-DD: what was true then) or a recorded time (RFC 3339: what was known then), folded from the log"),
        ("as_of_position" = Option<String>, Query, description = "As of a log position (N, or commit/N)"),
    ),
    responses(
        (status = 200, body = PlanPeriodView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn plan_period(
    State(state): State<ApiState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    let run = async {
        let lang = caller.lang;
        let params = begin(
            &caller,
            "views plan-period",
            &query,
            &["limit", "after", "min_position", "as_of", "as_of_position"],
            Some(&id),
        )?;
        let limit = params.limit(state.limits())?;
        let after = params.after()?;
        let (app, at) =
            super::audit_review::view_source(&state, &params, ViewName::PlanPeriod, lang).await?;
        let (report, next) = crate::read::reports::plan_period_report_page(&app, &id, after, limit)
            .await
            .map_err(|e| view_unavailable(lang, &e))?
            .ok_or_else(|| view_not_found(lang, ViewName::PlanPeriod, &id))?;
        respond(
            &caller,
            &headers,
            &PLAN_PERIOD,
            &PlanPeriodView {
                views_position: at,
                plan_period: report,
                units_next_after: next,
            },
        )
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

/// The payout ledger, paged, with totals.
#[utoipa::path(get, path = "/v1/views/payout-ledger", tag = "views",
    summary = "发放台账 Payout ledger (paged; totals by fund and month)",
    description = "One row per payout obligation — hardship-file grant, claim subsidy, campaign \
allocation — with beneficiary (masked), amount, fund, who requested and approved it and when, and its \
state. Totals cover every payout matching the filter, on every page.",
    params(
        ("fund" = Option<String>, Query, description = "special_assistance, mutual_aid, donation or festival"),
        ("month" = Option<String>, Query, description = "YYYY-MM: payouts whose state last changed that month"),
        ("limit" = Option<usize>, Query, description = "Payouts per page (default 50, at most 500)"),
        ("after" = Option<String>, Query, description = "next_after of the previous page"),
        ("min_position" = Option<u64>, Query, description = "Wait (bounded) until the views reflect this log position"),
        ("as_of" = Option<String>, Query, description = "As of a business date (YYYY-MM-DD: what was true then) or a recorded time (RFC 3339: what was known then), folded from the log"),
        ("as_of_position" = Option<String>, Query, description = "As of a log position (N, or commit/N)"),
    ),
    responses(
        (status = 200, body = PayoutLedgerView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn payout_ledger(
    State(state): State<ApiState>,
    caller: Caller,
    headers: HeaderMap,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    let run = async {
        let lang = caller.lang;
        let params = begin(
            &caller,
            "views payout-ledger",
            &query,
            &[
                "fund",
                "month",
                "limit",
                "after",
                "min_position",
                "as_of",
                "as_of_position",
            ],
            None,
        )?;
        let fund = params.fund()?;
        let month = params.month()?;
        let limit = params.limit(state.limits())?;
        let after = params.after()?;
        let (app, at) =
            super::audit_review::view_source(&state, &params, ViewName::PayoutLedger, lang).await?;
        let page = crate::read::reports::payout_ledger_page(&app, fund, month, after, limit)
            .await
            .map_err(|e| view_unavailable(lang, &e))?;
        respond(
            &caller,
            &headers,
            &PAYOUT_LEDGER,
            &PayoutLedgerView {
                views_position: at,
                fund,
                month: month.map(str::to_string),
                payouts: page.payouts,
                next_after: page.next_after,
                matching: page.matching,
                totals: page.totals,
                funds: page.funds,
            },
        )
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

/// One campaign, its units paged.
#[utoipa::path(get, path = "/v1/views/campaigns/{id}", tag = "views",
    summary = "一日捐活动汇总 Campaign view (units paged)",
    description = "Received per unit, donors, participation rate (donors ÷ headcount), reversals, \
allocated and unallocated.",
    params(
        ("id" = String, Path, description = "The campaign id"),
        ("limit" = Option<usize>, Query, description = "Units per page (default 50, at most 500)"),
        ("after" = Option<String>, Query, description = "units_next_after of the previous page"),
        ("min_position" = Option<u64>, Query, description = "Wait (bounded) until the views reflect this log position"),
        ("as_of" = Option<String>, Query, description = "As of a business date (YYYY-MM-DD: what was true then) or a recorded time (RFC 3339: what was known then), folded from the log"),
        ("as_of_position" = Option<String>, Query, description = "As of a log position (N, or commit/N)"),
    ),
    responses(
        (status = 200, body = CampaignView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn campaign(
    State(state): State<ApiState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    let run = async {
        let lang = caller.lang;
        let params = begin(
            &caller,
            "views campaign",
            &query,
            &["limit", "after", "min_position", "as_of", "as_of_position"],
            Some(&id),
        )?;
        let limit = params.limit(state.limits())?;
        let after = params.after()?;
        let (app, at) =
            super::audit_review::view_source(&state, &params, ViewName::Campaign, lang).await?;
        let (report, next) = crate::read::reports::campaign_report_page(&app, &id, after, limit)
            .await
            .map_err(|e| view_unavailable(lang, &e))?
            .ok_or_else(|| view_not_found(lang, ViewName::Campaign, &id))?;
        respond(
            &caller,
            &headers,
            &CAMPAIGN,
            &CampaignView {
                views_position: at,
                campaign: report,
                units_next_after: next,
            },
        )
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

/// Every fund's balance.
#[utoipa::path(get, path = "/v1/views/fund-balances", tag = "views",
    summary = "资金余额 Fund balances",
    description = "Inflows (contributions, donations, appropriations, transfers in) and outflows \
(grants and subsidies paid, designated allocations, transfers out) per fund; committed_fen is \
approved and not yet paid, available_fen what new approvals may still take (the store refuses \
any that would overdraw it). A balance is never negative: an overdrawn fund (only possible in \
history imported from before that check) shows zero with overdrawn_fen and overdrawn = true.",
    params(
        ("min_position" = Option<u64>, Query, description = "Wait (bounded) until the views reflect this log position"),
        ("as_of" = Option<String>, Query, description = "As of a business date (YYYY-MM-DD: what was true then) or a recorded time (RFC 3339: what was known then), folded from the log"),
        ("as_of_position" = Option<String>, Query, description = "As of a log position (N, or commit/N)"),
    ),
    responses(
        (status = 200, body = FundBalancesView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn fund_balances(
    State(state): State<ApiState>,
    caller: Caller,
    headers: HeaderMap,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    let run = async {
        let lang = caller.lang;
        let params = begin(
            &caller,
            "views fund-balances",
            &query,
            &["min_position", "as_of", "as_of_position"],
            None,
        )?;
        let (app, at) =
            super::audit_review::view_source(&state, &params, ViewName::FundBalances, lang).await?;
        let funds = app
            .projector
            .funds()
            .await
            .map_err(|e| view_unavailable(lang, &e))?;
        respond(
            &caller,
            &headers,
            &FUND_BALANCES,
            &FundBalancesView {
                views_position: at,
                funds,
            },
        )
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

/// The view routes.
pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(household_file))
        .routes(routes!(plan_period))
        .routes(routes!(payout_ledger))
        .routes(routes!(campaign))
        .routes(routes!(fund_balances))
}
