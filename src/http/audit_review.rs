//! The auditor's reviews over HTTP — `GET /v1/audit/rederive`,
//! `POST /v1/audit/what-if/{id}`, `GET /v1/audit/sod`,
//! `GET /v1/audit/access-log` (auditors only) — and the pieces the state,
//! history and view reads use for `?as_of=` / `?as_of_position=` and for
//! the read-access log.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::i18n::Lang;
use domain::mutual_aid::policy::Policy;
use projections::ViewName;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, Problem};
use super::params::{Params, WirePosition};
use super::{ApiState, Caller};
use crate::access::permissions::{self, Action};
use crate::app::App;
use crate::audit::access_log::{self, AccessEntry, AccessFilter, AccessRecord};
use crate::audit::asof::{self, AsOf};
use crate::audit::rederive::{self, RederiveReport, WhatIfReport};
use crate::audit::sod::{self, Pairs, SodReport};

/// Largest policy body `what-if` reads.
const MAX_POLICY_BYTES: usize = 64 * 1024;

/// The app whose projector a view read uses and the position it reflects:
/// the live views (brought up to date, or to `min_position`), or — with
/// `as_of` / `as_of_position` — `view` folded in memory up to that point.
pub(crate) async fn view_source(
    state: &ApiState,
    params: &Params<'_>,
    view: ViewName,
    lang: Lang,
) -> Result<(Arc<App>, WirePosition), ApiError> {
    let min = params.min_position()?;
    match params.as_of()? {
        None => {
            let at = super::reports::views_at(state, min, lang).await?;
            Ok((Arc::clone(state.app()), at))
        }
        Some(_) if min.is_some() => Err(ApiError::bad_value(
            "min_position",
            lang,
            "min_position 不能与 as_of / as_of_position 同时使用",
            "min_position cannot be combined with as_of / as_of_position",
        )),
        Some(point) => {
            let (past, at) = asof::app_as_of(state.app(), view, &point)
                .await
                .map_err(|e| ApiError::unavailable(lang, &e))?;
            Ok((Arc::new(past), at))
        }
    }
}

/// Records a read of `aggregate_type`/`id` by `caller` through `route` if
/// the caller's role sees personal data unmasked; a read that cannot be
/// recorded is refused (503).
pub(crate) async fn record_read(
    state: &ApiState,
    caller: &Caller,
    route: &str,
    (aggregate_type, id): (&str, &str),
    point: Option<&AsOf>,
) -> Result<(), ApiError> {
    if !permissions::sees_personal_data(caller.role) {
        return Ok(());
    }
    let as_of = point.map(|p| p.describe(Lang::En));
    let record = AccessRecord {
        read_at: state.app().clock.now(),
        actor_id: caller.user.id.as_str(),
        actor_role: caller.role.as_str(),
        route,
        aggregate_type,
        aggregate_id: id,
        as_of: as_of.as_deref(),
    };
    match access_log::record(&state.app().store, &record).await {
        Ok(()) | Err(access_log::AccessLogError::Unavailable) => Ok(()),
        Err(e) => Err(ApiError::unavailable(caller.lang, &e)),
    }
}

fn begin<'q>(
    caller: &Caller,
    what: &str,
    query: &'q BTreeMap<String, String>,
    known: &[&str],
) -> Result<Params<'q>, ApiError> {
    caller.require(Action::Audit, what)?;
    Params::check(query, known, caller.lang)
}

/// 补助重算与发放核对.
#[utoipa::path(get, path = "/v1/audit/rederive", tag = "audit",
    summary = "补助重算与发放核对 Re-derive subsidies and check payouts",
    description = "Every claim subsidy recomputed from its recorded facts and policy; every payout \
traced to an approved obligation (same amount and fund), approved by someone other than the \
requester, within its measure, from a fund that had the money. `findings` is empty on an honest store.",
    responses(
        (status = 200, body = RederiveReport),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn rederive_report(
    State(state): State<ApiState>,
    caller: Caller,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    let run = async {
        begin(&caller, "audit rederive", &query, &[])?;
        let report = rederive::rederive(&state.app().store, caller.lang)
            .await
            .map_err(|e| ApiError::unavailable(caller.lang, &e))?;
        Ok::<_, ApiError>(Json(report).into_response())
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

/// 换一套政策重新评估.
#[utoipa::path(post, path = "/v1/audit/what-if/{id}", tag = "audit",
    summary = "按另一政策重新评估 Re-assess a period under another policy",
    description = "The body is a policy (the shape of a period's `policy`). Each assessed claim of \
the period is re-assessed from the facts its latest assessment recorded; nothing is written.",
    params(("id" = String, Path, description = "The plan period id")),
    request_body(content = Object, description = "The policy"),
    responses(
        (status = 200, body = WhatIfReport),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn what_if(
    State(state): State<ApiState>,
    caller: Caller,
    Path(period): Path<String>,
    body: Body,
) -> Response {
    let lang = caller.lang;
    let run = async {
        caller.require(Action::Audit, "audit what-if")?;
        crate::app::check_aggregate_id(&period).map_err(|e| ApiError::app(&e, lang))?;
        let bytes = super::commands::read_body(body, MAX_POLICY_BYTES, lang).await?;
        let policy: Policy =
            domain::i18n::with_lang(lang, || crate::app::input::parse_json(&bytes))
                .map_err(|e| ApiError::input(&e, lang))?;
        policy.validate().map_err(|e| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "audit.invalid_policy",
                lang,
                e.to_string(),
            )
        })?;
        let report = rederive::what_if(&state.app().store, &period, &policy)
            .await
            .map_err(|e| ApiError::unavailable(lang, &e))?;
        Ok::<_, ApiError>(Json(report).into_response())
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

/// 职责分离检查.
#[utoipa::path(get, path = "/v1/audit/sod", tag = "audit",
    summary = "职责分离检查 Segregation of duties over the whole history",
    params(("pairs" = Option<String>, Query, description = "Incompatible duties, request+approve,request+pay,… (default: the server's configuration)")),
    responses(
        (status = 200, body = SodReport),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn sod_report(
    State(state): State<ApiState>,
    caller: Caller,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    let lang = caller.lang;
    let run = async {
        begin(&caller, "audit sod", &query, &["pairs"])?;
        let pairs = match query.get("pairs") {
            Some(p) => Pairs::parse(p),
            None => Pairs::configured(),
        }
        .map_err(|e| {
            ApiError::new(StatusCode::BAD_REQUEST, "input.invalid_value", lang, e)
                .with_field("pairs")
        })?;
        let report = sod::report(&state.app().store, &pairs, lang)
            .await
            .map_err(|e| ApiError::unavailable(lang, &e))?;
        Ok::<_, ApiError>(Json(report).into_response())
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

/// 个人信息明文读取记录.
#[utoipa::path(get, path = "/v1/audit/access-log", tag = "audit",
    summary = "个人信息读取记录 Reads of unmasked personal data",
    params(
        ("aggregate_type" = Option<String>, Query, description = "Only reads of this aggregate type (hardship_file, …)"),
        ("aggregate_id" = Option<String>, Query, description = "Only reads of this record"),
        ("actor" = Option<String>, Query, description = "Only reads by this user"),
        ("after" = Option<i64>, Query, description = "Only entries after this number"),
        ("limit" = Option<usize>, Query, description = "Entries per page (default 50, at most 500)"),
    ),
    responses(
        (status = 200, body = [AccessEntry]),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn access_log_entries(
    State(state): State<ApiState>,
    caller: Caller,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    let lang = caller.lang;
    let run = async {
        let known = ["aggregate_type", "aggregate_id", "actor", "after", "limit"];
        let params = begin(&caller, "audit access-log", &query, &known)?;
        let after = match query.get("after") {
            None => 0,
            Some(v) => v.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                ApiError::bad_value(
                    "after",
                    lang,
                    "after 须为非负整数",
                    "after must be a non-negative integer",
                )
            })?,
        };
        let filter = AccessFilter {
            aggregate_type: query.get("aggregate_type").cloned(),
            aggregate_id: query.get("aggregate_id").cloned(),
            actor_id: query.get("actor").cloned(),
            after,
            limit: params.limit(state.limits())?,
        };
        let entries = access_log::list(&state.app().store, &filter)
            .await
            .map_err(|e| ApiError::unavailable(lang, &e))?;
        Ok::<_, ApiError>(Json(entries).into_response())
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

/// The audit review routes.
pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(rederive_report))
        .routes(routes!(what_if))
        .routes(routes!(sod_report))
        .routes(routes!(access_log_entries))
}
