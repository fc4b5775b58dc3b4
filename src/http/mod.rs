//! `bangfu serve`: the HTTP API over the engine.
//!
//! - [`router`] builds the axum application (routes, OpenAPI document, limits,
//!   request ids and logs, the panic guard of last resort); tests drive it
//!   without a socket with `oneshot`.
//! - [`run`] serves it on a listener until a shutdown signal, then lets
//!   in-flight commands finish (mini-redis's listener-passing `run`).
//! - Commands ([`commands`]) parse through the CLI's path (`input::parse_json`),
//!   run as the authenticated user in the role the request names, honour
//!   `Idempotency-Key` and `If-Match`, and answer with what was committed.
//! - Reads ([`reads`]) serve stream history and aggregate state straight from
//!   the store, and summaries through [`views::CaseViews`] (lists paged over
//!   the projector's views).
//! - The five views of the projections ([`reports`]: household file, plan
//!   period, payout ledger, campaign, fund balances) under `/v1/views/…`,
//!   brought up to date before each read, or to the `min_position` a client
//!   names (read-your-writes after a command).
//! - Every error is a problem document ([`error`]), in Chinese unless the
//!   request asks for English.

pub mod audit;
pub mod audit_export;
pub mod audit_review;
pub mod audit_verify;
pub mod bank;
pub mod books;
pub mod commands;
pub mod docs;
pub mod edge;
pub mod error;
pub mod examples;
mod files;
pub mod finance_summary;
pub mod idempotency;
pub mod metrics;
pub mod params;
pub mod reads;
pub mod reports;
pub mod serve;
pub mod signin;
pub mod users;
pub mod views;

use std::future::Future;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use domain::command::Role;
use domain::i18n::Lang;
use tokio_util::task::TaskTracker;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::access::permissions;
use crate::access::users::{User, Users};
use crate::app::App;
use error::{problem_response, status_title, ApiError, Problem, PROBLEM_JSON};

/// The header that names the role a request acts in.
pub const ROLE_HEADER: &str = "x-bangfu-role";
/// The request-id header, set on every request and echoed on every response.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Limits on what one request may ask of the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// Requests handled at once; more wait up to `queue_wait` for a slot.
    pub max_concurrent_requests: usize,
    /// Longest a request waits for a slot before it is answered 503 with
    /// `Retry-After` (load shedding; `/health` and `/ready` never wait).
    pub queue_wait: Duration,
    /// Longest a client may take to send a request's header; also how long
    /// an idle keep-alive connection stays open.
    pub header_read_timeout: Duration,
    /// Largest request header (all fields), bytes; larger is answered 431.
    pub max_header_bytes: usize,
    /// Failed sign-ins (unknown tokens) a client address may make a minute,
    /// as a burst; then 429 with `Retry-After` (see [`signin`]).
    pub sign_in_failures_per_minute: u32,
    /// Longest a request may take, waiting for a slot included. A command
    /// still running then completes; a retry with its idempotency key gets
    /// its response.
    pub request_timeout: Duration,
    /// Items per page when the request does not say.
    pub default_page_size: usize,
    /// Most items per page.
    pub max_page_size: usize,
    /// Longest a view read waits for the views to reach the position it
    /// names (`min_position`) or to catch up; then 503 `view.behind`.
    pub view_wait: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: crate::app::input::MAX_COMMAND_BYTES,
            max_concurrent_requests: 64,
            queue_wait: Duration::from_secs(2),
            header_read_timeout: Duration::from_secs(10),
            max_header_bytes: 16 * 1024,
            sign_in_failures_per_minute: 10,
            request_timeout: Duration::from_secs(30),
            default_page_size: 50,
            max_page_size: 500,
            view_wait: Duration::from_secs(5),
        }
    }
}

/// Everything the handlers share. Cheap to clone.
#[derive(Clone)]
pub struct ApiState {
    inner: Arc<Inner>,
}

struct Inner {
    app: Arc<App>,
    users: Users,
    views: Arc<dyn views::CaseViews>,
    limits: Limits,
    tasks: TaskTracker,
    key_locks: Box<[tokio::sync::Mutex<()>]>,
    panics: AtomicU64,
    sign_ins: signin::SignIns,
}

/// Stripes of the in-process idempotency-key lock: two requests with the same
/// key always meet on the same stripe; different keys rarely do.
const KEY_LOCK_STRIPES: usize = 1024;

impl ApiState {
    /// State over an open engine and user directory. Lists page over the
    /// projector's views where the store keeps them (the embedded SQLite
    /// store, so far), else over the store's stream ids.
    pub fn new(app: Arc<App>, users: Users, limits: Limits) -> ApiState {
        // When the projector keeps views on the other stores too, this
        // becomes `ProjectedViews` everywhere.
        let views: Arc<dyn views::CaseViews> = if app.store.as_sqlite().is_some() {
            Arc::new(views::ProjectedViews::new(app.clone()))
        } else {
            Arc::new(views::StreamViews::new(app.clone()))
        };
        ApiState::with_views(app, users, limits, views)
    }

    /// State with another source of summaries (the projections' views).
    pub fn with_views(
        app: Arc<App>,
        users: Users,
        limits: Limits,
        views: Arc<dyn views::CaseViews>,
    ) -> ApiState {
        ApiState {
            inner: Arc::new(Inner {
                app,
                users,
                views,
                tasks: TaskTracker::new(),
                key_locks: (0..KEY_LOCK_STRIPES)
                    .map(|_| tokio::sync::Mutex::new(()))
                    .collect(),
                panics: AtomicU64::new(0),
                sign_ins: signin::SignIns::new(limits.sign_in_failures_per_minute),
                limits,
            }),
        }
    }

    /// The engine.
    pub fn app(&self) -> &Arc<App> {
        &self.inner.app
    }

    /// The user directory.
    pub fn users(&self) -> &Users {
        &self.inner.users
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// How many requests the panic guard caught since start. Bad input must
    /// never get there; the tests check this stays zero.
    pub fn panics_caught(&self) -> u64 {
        self.inner.panics.load(Ordering::Relaxed)
    }

    /// Waits for commands still running (those whose client went away or
    /// timed out included).
    pub async fn drain(&self) {
        self.inner.tasks.close();
        self.inner.tasks.wait().await;
    }

    pub(crate) fn tasks(&self) -> &TaskTracker {
        &self.inner.tasks
    }

    pub(crate) fn views(&self) -> &dyn views::CaseViews {
        self.inner.views.as_ref()
    }

    pub(crate) fn key_lock(&self, fingerprint: &[u8]) -> &tokio::sync::Mutex<()> {
        let mut n = 0usize;
        for b in fingerprint.iter().take(8) {
            n = (n << 8) | usize::from(*b);
        }
        &self.inner.key_locks[n % self.inner.key_locks.len()]
    }
}

/// The language a request asked for (`Accept-Language`), Chinese by default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReqLang(pub Lang);

/// The first language range of `Accept-Language` bangfu speaks, else Chinese.
pub fn request_lang(headers: &HeaderMap) -> Lang {
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split(',')
                .map(|range| range.split(';').next().unwrap_or("").trim())
                .find_map(Lang::parse)
        })
        .unwrap_or_default()
}

impl<S: Send + Sync> FromRequestParts<S> for ReqLang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ReqLang(request_lang(&parts.headers)))
    }
}

/// The authenticated user and the role this request acts in.
#[derive(Clone, Debug)]
pub struct Caller {
    /// Who.
    pub user: User,
    /// In which role: the `X-Bangfu-Role` header, or the user's only role.
    pub role: Role,
    /// The request's language.
    pub lang: Lang,
}

impl FromRequestParts<ApiState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ApiState,
    ) -> Result<Self, Self::Rejection> {
        let lang = request_lang(&parts.headers);
        let client = signin::client(parts);
        if let Some(wait) = state.inner.sign_ins.throttled(client) {
            signin::log(client, parts, "throttled");
            return Err(ApiError::too_many_sign_ins(lang, wait));
        }
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, token) = v.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .filter(|t| !t.is_empty() && t.len() <= 256)
            .ok_or_else(|| ApiError::unauthenticated(lang))?;
        let user = state
            .users()
            .authenticate(token)
            .instrument(tracing::debug_span!("bf.authenticate"))
            .await
            .map_err(|e| ApiError::unavailable(lang, &e))?;
        let Some(user) = user else {
            signin::log(client, parts, "unknown_token");
            return Err(match state.inner.sign_ins.failed(client) {
                Some(wait) => ApiError::too_many_sign_ins(lang, wait),
                None => ApiError::unauthenticated(lang),
            });
        };
        let role = match parts.headers.get(ROLE_HEADER) {
            Some(value) => {
                let role = value.to_str().ok().and_then(Role::parse).ok_or_else(|| {
                    ApiError::bad_value(
                        "X-Bangfu-Role",
                        lang,
                        "角色无效（caseworker、approver、finance、auditor、admin）",
                        "unknown role (caseworker, approver, finance, auditor, admin)",
                    )
                })?;
                if !user.holds(role) {
                    return Err(ApiError::new(
                        StatusCode::FORBIDDEN,
                        "auth.role_not_held",
                        lang,
                        match lang {
                            Lang::Zh => format!("用户 {} 没有{}角色", user.id, role.label(lang)),
                            Lang::En => format!("user {} does not hold the {} role", user.id, role.label(lang)),
                        },
                    )
                    .with_field("X-Bangfu-Role"));
                }
                role
            }
            None => match user.roles.as_slice() {
                [only] => *only,
                _ => {
                    return Err(ApiError::bad_value(
                        "X-Bangfu-Role",
                        lang,
                        "该用户有多个角色，请用 X-Bangfu-Role 请求头指明本次以哪个角色操作",
                        "this user holds several roles; name the one to act in with the X-Bangfu-Role header",
                    ))
                }
            },
        };
        Ok(Caller { user, role, lang })
    }
}

impl Caller {
    /// 403 unless the role may do `action`.
    pub fn require(&self, action: permissions::Action<'_>, what: &str) -> Result<(), ApiError> {
        if permissions::allows(self.role, action) {
            Ok(())
        } else {
            Err(ApiError::forbidden(self.lang, self.role, what))
        }
    }
}

/// The OpenAPI document: routes, schemas, the bearer scheme.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "bangfu 帮扶 API",
        description = "工会困难帮扶案件管理（事件溯源）的 HTTP 接口。Event-sourced case management for \
trade-union hardship assistance.\n\nAuthenticate with `Authorization: Bearer <token>`; a user holding \
several roles names the one to act in with `X-Bangfu-Role`. Commands accept `Idempotency-Key` and \
`If-Match: <version>`. Errors are `application/problem+json`; Chinese unless `Accept-Language: en`. \
Money is integer fen. The permission matrix is on the docs page (`/docs`) and in README.md.",
        license(name = "Apache-2.0")
    ),
    modifiers(&BearerScheme),
    components(schemas(Problem)),
    tags(
        (name = "hardship-files", description = "困难职工档案 Hardship files"),
        (name = "mutual-aid-plans", description = "医疗互助期 Mutual-aid plan periods"),
        (name = "mutual-aid-claims", description = "医疗互助补助申请 Mutual-aid claims"),
        (name = "donation-campaigns", description = "一日捐活动 One-day-donation campaigns"),
        (name = "fund-accounts", description = "资金账户（资金拨入）Fund accounts: appropriations into the funds"),
        (name = "views", description = "视图（一户一档、互助期汇总、发放台账、一日捐活动汇总、资金余额）The views: household file, plan period, payout ledger, campaign, fund balances"),
        (name = "audit", description = "审计 Audit"),
        (name = "users", description = "用户 Users"),
    )
)]
struct ApiDoc;

struct BearerScheme;

impl utoipa::Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

fn api_routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(commands::routes())
        .merge(bank::routes())
        .merge(reads::routes())
        .merge(reports::routes())
        .merge(books::routes())
        .merge(audit_review::routes())
        .merge(users::routes())
        .merge(crate::http::audit::routes())
        .merge(audit_verify::routes())
        .merge(audit_export::routes())
}

/// The OpenAPI document of the API (what `/openapi.json` serves).
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut openapi = api_routes().split_for_parts().1;
    examples::attach(&mut openapi);
    openapi
}

/// The whole application: API routes, `/openapi.json`, `/docs`, `/health`,
/// and the layers every request goes through.
pub fn router(state: ApiState) -> Router {
    // The recorder first: what is recorded before it exists is lost.
    crate::http::metrics::handle();
    let (api, mut openapi) = api_routes().split_for_parts();
    examples::attach(&mut openapi);
    let openapi_json: Arc<str> = openapi.to_json().unwrap_or_default().into();
    let docs_html: Arc<str> = docs::render_with(&openapi, state.limits()).into();
    let docs_csp = HeaderValue::from_str(&edge::html_csp(&docs_html))
        .unwrap_or(HeaderValue::from_static(edge::API_CSP));
    let declared = params::DeclaredQueries::from_openapi(&openapi);
    let limits = state.limits().clone();
    let panics = state.clone();
    let probes = Router::new()
        .route(
            "/health",
            axum::routing::get(|| async { axum::Json(serde_json::json!({"status": "ok"})) }),
        )
        .route("/ready", axum::routing::get(ready))
        .route_layer(axum::middleware::from_fn_with_state(
            declared.clone(),
            params::refuse_undeclared,
        ))
        .with_state(state.clone());
    api.route(
        "/openapi.json",
        axum::routing::get(move || {
            let body = openapi_json.clone();
            async move {
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    body.to_string(),
                )
            }
        }),
    )
    .route(
        "/docs",
        axum::routing::get(move || {
            let body = docs_html.clone();
            let csp = docs_csp.clone();
            async move {
                (
                    [(header::CONTENT_SECURITY_POLICY, csp)],
                    axum::response::Html(body.to_string()),
                )
            }
        }),
    )
    .route("/metrics", axum::routing::get(metrics))
    // Unknown query parameters are refused on every route, from the
    // parameters the OpenAPI document declares for it.
    .route_layer(axum::middleware::from_fn_with_state(
        declared.clone(),
        params::refuse_undeclared,
    ))
    .fallback(|ReqLang(lang): ReqLang| async move {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "http.not_found",
            lang,
            lang.pick("没有这个接口", "no such endpoint").to_string(),
        )
    })
    .with_state(state)
    // Router::layer wraps every route; the last added is the outermost.
    .layer(tower_http::limit::RequestBodyLimitLayer::new(
        limits.max_body_bytes,
    ))
    // Global: one queue shared by every route but the probes, merged after
    // it so a liveness check never waits behind the queue.
    .layer(axum::middleware::from_fn_with_state(
        edge::Queue::new(limits.max_concurrent_requests, limits.queue_wait),
        edge::shed,
    ))
    .merge(probes)
    .layer(tower_http::timeout::TimeoutLayer::with_status_code(
        StatusCode::REQUEST_TIMEOUT,
        limits.request_timeout,
    ))
    .layer(CatchPanicLayer::custom(
        move |_panic: Box<dyn std::any::Any + Send>| {
            // The payload may quote input; it is not logged.
            panics.inner.panics.fetch_add(1, Ordering::Relaxed);
            tracing::error!("a request panicked; answered 500");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        },
    ))
    .layer(axum::middleware::from_fn(problemize))
    .layer(axum::middleware::from_fn(edge::secure_headers))
    .layer(axum::middleware::from_fn(crate::http::metrics::track_http))
    .layer(PropagateRequestIdLayer::new(HeaderName::from_static(
        REQUEST_ID_HEADER,
    )))
    .layer(
        TraceLayer::new_for_http()
            .make_span_with(|request: &Request| {
                // The route template, never the concrete path: ids in paths are
                // chosen by callers and could hold anything.
                let route = request
                    .extensions()
                    .get::<MatchedPath>()
                    .map(MatchedPath::as_str)
                    .unwrap_or("unmatched");
                let id = request
                    .headers()
                    .get(REQUEST_ID_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!("request", request_id = %id, method = %request.method(), route)
            })
            .on_request(tower_http::trace::DefaultOnRequest::new().level(tracing::Level::DEBUG))
            .on_response(tower_http::trace::DefaultOnResponse::new().level(tracing::Level::INFO))
            .on_failure(tower_http::trace::DefaultOnFailure::new().level(tracing::Level::WARN)),
    )
    .layer(SetRequestIdLayer::new(
        HeaderName::from_static(REQUEST_ID_HEADER),
        MakeRequestUuidV7,
    ))
}

/// `GET /ready`: 200 when the event store (the views' checkpoint) and the
/// users' table answer a query, else 503 `service.not_ready`.
async fn ready(State(state): State<ApiState>, ReqLang(lang): ReqLang) -> Response {
    let store = state.app().projector.position().await.map(|_| ());
    let users = sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM users")
        .fetch_one(state.users().pool())
        .await
        .map(|_| ());
    match (store, users) {
        (Ok(()), Ok(())) => axum::Json(serde_json::json!({"status": "ready"})).into_response(),
        (store, users) => {
            let store = store.err().map(|e| e.to_string());
            let users = users.err().map(|e| e.to_string());
            tracing::warn!(?store, ?users, "not ready");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "service.not_ready",
                lang,
                lang.pick(
                    "服务尚未就绪：事件存储或用户表无法访问",
                    "not ready: the event store or the users' table does not answer",
                )
                .to_string(),
            )
            .into_response()
        }
    }
}

/// `GET /metrics`: Prometheus text (see [`crate::http::metrics`]).
async fn metrics(State(state): State<ApiState>) -> Response {
    let body = crate::http::metrics::render(state.app()).await;
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

/// Request ids are UUID v7: unique, and sortable by arrival.
#[derive(Clone, Copy, Debug)]
struct MakeRequestUuidV7;

impl MakeRequestId for MakeRequestUuidV7 {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        uuid::Uuid::now_v7()
            .to_string()
            .parse()
            .ok()
            .map(RequestId::new)
    }
}

/// Turns every error response not already a problem document (axum's own
/// 405, the body limit's 413, the timeout's 408, the panic guard's 500) into
/// one, in the request's language.
async fn problemize(request: Request, next: Next) -> Response {
    let lang = request_lang(request.headers());
    let response = next.run(request).await;
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == PROBLEM_JSON.as_bytes());
    if !(status.is_client_error() || status.is_server_error()) || is_problem {
        return response;
    }
    let (code, zh, en) = match status.as_u16() {
        404 => ("http.not_found", "没有这个接口", "no such endpoint"),
        405 => ("http.method_not_allowed", "该接口不支持此请求方法", "this endpoint does not accept this method"),
        408 => ("http.timeout", "请求超时；如为命令，可用同一 Idempotency-Key 重试以获取结果", "the request timed out; retry a command with the same Idempotency-Key to get its outcome"),
        413 => ("input.too_large", "请求内容超过上限", "the request body exceeds the limit"),
        500 => ("http.internal", "服务器内部错误，请求未完成", "internal error; the request did not complete"),
        503 => ("http.unavailable", "服务繁忙或正在停止，请稍后重试", "the server is busy or stopping; retry later"),
        _ => ("http.error", "请求失败", "the request failed"),
    };
    let mut out = problem_response(
        status,
        &Problem {
            type_uri: format!("urn:bangfu:problem:{code}"),
            title: status_title(status, lang).to_string(),
            status: status.as_u16(),
            detail: lang.pick(zh, en).to_string(),
            code: code.to_string(),
            field: None,
            current_version: None,
            money: None,
            file: None,
        },
    );
    for (name, value) in response.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out
}

/// Serves `router(state)` on `listener` until `shutdown` completes, then stops
/// accepting, lets requests in flight finish and waits for running commands.
pub async fn run(
    listener: tokio::net::TcpListener,
    state: ApiState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state.clone());
    edge::serve_connections(listener, app, state.limits(), shutdown).await?;
    state.drain().await;
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received; finishing requests in flight");
}
