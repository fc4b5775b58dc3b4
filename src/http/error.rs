//! [`ApiError`]: every failure of the API as an RFC 9457 problem document
//! (`application/problem+json`) with bangfu's stable rule code and, for bad
//! input, the offending field.
//!
//! | status | when |
//! |---|---|
//! | 400 | malformed JSON, empty body, bad header or path value, unknown command |
//! | 401 | no token, or an unknown or revoked one |
//! | 403 | the role may not do this; the user does not hold the role asked for |
//! | 404 | no such aggregate or route |
//! | 409 | version conflict (with `current_version`), a key held elsewhere, an idempotency key reused for another request |
//! | 413 | body over the limit |
//! | 422 | well-formed JSON with an invalid field, or a business rule refused the command (also the store's money check: `money.*`, with `money`) |
//! | 503 | the store or the views are unavailable, the views did not reach `min_position` in time, the server is busy or shutting down |
//!
//! Titles and details are Chinese unless the request asked for English
//! (`Accept-Language: en`). A 500 is only ever produced by the panic guard of
//! last resort, and the tests check bad input never reaches it.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::i18n::{ErrorCode, Lang, Localize};
use serde::Serialize;
use utoipa::ToSchema;

use crate::app::input::InputError;
use crate::app::AppError;

/// The media type of problem documents.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// A problem document (RFC 9457) with bangfu's extensions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem: `urn:bangfu:problem:<code>`.
    #[serde(rename = "type")]
    pub type_uri: String,
    /// A short summary of the kind of problem, in the request's language.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What exactly went wrong, in the request's language.
    pub detail: String,
    /// Stable machine-readable code (`hardship_file.four_eyes`, `input.invalid_field`).
    pub code: String,
    /// The offending field (dotted path in the body, or a header or path parameter).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// On a version conflict: the aggregate's current version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_version: Option<usize>,
    /// On a refusal for want of money: which account, what it holds, what was asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub money: Option<MoneyProblem>,
}

/// The account a command would have overdrawn (`money.*` codes).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize, ToSchema)]
pub struct MoneyProblem {
    /// `fund`, `member_cap` or `campaign`.
    pub account: String,
    /// The fund's code, for a fund (`special_assistance`, `mutual_aid`, `donation`, `festival`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fund: Option<String>,
    /// The campaign or plan period (a member's resident ID is never shown).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub of: Option<String>,
    /// What the account holds, in fen (the command's own credits included).
    pub available_fen: i64,
    /// What the command's debits add up to, in fen.
    pub asked_fen: i64,
}

impl MoneyProblem {
    fn of(refused: &domain::money::InsufficientFunds) -> MoneyProblem {
        use domain::money::Account;
        let (fund, of) = match &refused.account {
            Account::Fund(f) => (Some(domain::money::fund_code(*f).to_string()), None),
            Account::Measure { file_id, .. } => (None, Some(file_id.clone())),
            Account::MemberCap { plan_id, .. } => (None, Some(plan_id.clone())),
            Account::Campaign { campaign_id } => (None, Some(campaign_id.clone())),
            Account::Period { month } => (None, Some(month.clone())),
        };
        MoneyProblem {
            account: refused.account.kind().to_string(),
            fund,
            of,
            available_fen: refused.available_fen,
            asked_fen: refused.asked_fen,
        }
    }
}

/// An error response: status, code and messages already in the request's language.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// The status.
    pub status: StatusCode,
    /// The problem document (boxed: errors travel in `Result`s, keep them small).
    pub problem: Box<Problem>,
    /// Seconds for a `Retry-After` header (429, 503), if any.
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// A problem with `status`, `code`, and a detail in `lang`.
    pub fn new(status: StatusCode, code: &str, lang: Lang, detail: String) -> ApiError {
        ApiError {
            status,
            problem: Box::new(Problem {
                type_uri: format!("urn:bangfu:problem:{code}"),
                title: status_title(status, lang).to_string(),
                status: status.as_u16(),
                detail,
                code: code.to_string(),
                field: None,
                current_version: None,
                money: None,
            }),
            retry_after: None,
        }
    }

    /// The same, naming the offending field.
    pub fn with_field(mut self, field: impl Into<String>) -> ApiError {
        self.problem.field = Some(field.into());
        self
    }

    /// The same, with the aggregate's current version.
    pub fn with_version(mut self, version: usize) -> ApiError {
        self.problem.current_version = Some(version);
        self
    }

    /// 400 for a header, path or query value, naming it.
    pub fn bad_value(field: &str, lang: Lang, zh: &str, en: &str) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "input.invalid_value",
            lang,
            lang.pick(zh, en).to_string(),
        )
        .with_field(field)
    }

    /// 401: no usable credentials.
    pub fn unauthenticated(lang: Lang) -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "auth.unauthenticated",
            lang,
            lang.pick(
                "需要有效的访问令牌（Authorization: Bearer <令牌>）",
                "a valid bearer token is required (Authorization: Bearer <token>)",
            )
            .to_string(),
        )
    }

    /// 429: too many failed sign-ins from this address; retry after `wait`.
    pub fn too_many_sign_ins(lang: Lang, wait: std::time::Duration) -> ApiError {
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "auth.throttled",
            lang,
            match lang {
                Lang::Zh => format!("登录失败次数过多，请 {secs} 秒后重试"),
                Lang::En => format!("too many failed sign-ins; retry in {secs} s"),
            },
        );
        e.retry_after = Some(secs);
        e
    }

    /// 403: the role may not do this.
    pub fn forbidden(lang: Lang, role: domain::command::Role, what: &str) -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "auth.forbidden",
            lang,
            match lang {
                Lang::Zh => format!("{}角色无权执行此操作：{what}", role.label(lang)),
                Lang::En => format!("the {} role may not do this: {what}", role.label(lang)),
            },
        )
    }

    /// 404 for an aggregate that has no events.
    pub fn not_found(lang: Lang, kind_label: &str, id: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "store.not_found",
            lang,
            match lang {
                Lang::Zh => format!("没有找到{kind_label} {id}"),
                Lang::En => format!("no {kind_label} {id}"),
            },
        )
    }

    /// 503: the store failed. The cause goes to the log, not to the client.
    pub fn unavailable(lang: Lang, cause: &dyn std::fmt::Display) -> ApiError {
        tracing::error!(error = %cause, "store unavailable");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "store.unavailable",
            lang,
            lang.pick(
                "存储暂时不可用，请稍后重试",
                "the store is unavailable; retry later",
            )
            .to_string(),
        )
    }

    /// Bad command input.
    pub fn input(e: &InputError, lang: Lang) -> ApiError {
        let (status, field) = match e {
            InputError::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, None),
            InputError::Empty => (StatusCode::BAD_REQUEST, None),
            InputError::Syntax { .. } => (StatusCode::BAD_REQUEST, None),
            InputError::UnknownCommand { .. } => (StatusCode::UNPROCESSABLE_ENTITY, None),
            InputError::Value { field, .. } => (StatusCode::BAD_REQUEST, Some(field.clone())),
            // serde names an unknown command (`unknown variant`) at the root;
            // everything else is a field of a well-formed body.
            InputError::Field { field, .. }
            | InputError::IdMismatch { field, .. }
            | InputError::Missing { field, .. } => {
                (StatusCode::UNPROCESSABLE_ENTITY, Some(field.clone()))
            }
        };
        let error = ApiError::new(status, e.code(), lang, e.localize(lang));
        match field {
            Some(field) => error.with_field(field),
            None => error,
        }
    }

    /// A command that did not commit.
    pub fn app(e: &AppError, lang: Lang) -> ApiError {
        match e {
            AppError::Input(input) => ApiError::input(input, lang),
            AppError::Rejected { code, .. } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                code,
                lang,
                e.localize(lang),
            ),
            AppError::Conflict => {
                ApiError::new(StatusCode::CONFLICT, e.code(), lang, e.localize(lang))
            }
            AppError::Reservation(_) => {
                ApiError::new(StatusCode::CONFLICT, e.code(), lang, e.localize(lang))
            }
            AppError::InsufficientFunds(refused) => {
                let mut error = ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    e.code(),
                    lang,
                    e.localize(lang),
                );
                error.problem.money = Some(MoneyProblem::of(refused));
                error
            }
            AppError::Storage(cause) => ApiError::unavailable(lang, cause),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = problem_response(self.status, &self.problem);
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// A problem document as a response.
pub fn problem_response(status: StatusCode, problem: &Problem) -> Response {
    let body = serde_json::to_vec(problem).unwrap_or_default();
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    response
}

/// The title of each status, in both languages.
pub fn status_title(status: StatusCode, lang: Lang) -> &'static str {
    let (zh, en) = match status.as_u16() {
        400 => ("请求无效", "Bad request"),
        401 => ("未认证", "Unauthenticated"),
        403 => ("无权操作", "Forbidden"),
        404 => ("未找到", "Not found"),
        405 => ("不支持的请求方法", "Method not allowed"),
        408 => ("请求超时", "Request timeout"),
        409 => ("冲突", "Conflict"),
        413 => ("请求内容过大", "Payload too large"),
        415 => ("不支持的内容类型", "Unsupported media type"),
        422 => ("内容无法处理", "Unprocessable content"),
        429 => ("请求过多", "Too many requests"),
        503 => ("服务暂不可用", "Service unavailable"),
        500 => ("服务器内部错误", "Internal server error"),
        _ => ("请求失败", "Request failed"),
    };
    lang.pick(zh, en)
}
