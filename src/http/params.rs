//! Query parameters of the read endpoints, checked in one place.
//!
//! Each endpoint names the parameters it knows; any other name, and any value
//! out of range, is a 400 problem naming the parameter — a typo (`?limt=5`)
//! must not silently return the default page.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use domain::fund::Fund;
use domain::i18n::Lang;

use crate::store::LogPosition;

use super::error::ApiError;
use super::{Limits, ReqLang};

/// A log position as the API shows a view's `views_position`: the object
/// `{"commit": …, "position": …}`, the same shape `bangfu view … --json`
/// prints (commit 0 on SQLite). Kept behind this one alias and
/// [`Params::min_position`] so that a change of the projector's position
/// type stays at this edge.
pub type WirePosition = LogPosition;

/// Longest `after` value: ids and codes are at most 64 characters.
const MAX_AFTER_BYTES: usize = 64;

/// A request's query, checked against the names an endpoint knows.
pub struct Params<'a> {
    query: &'a BTreeMap<String, String>,
    lang: Lang,
}

/// 400 for a query parameter `name` that is not among `known`.
fn unknown_parameter<S: AsRef<str>>(name: &str, known: &[S], lang: Lang) -> ApiError {
    let list = if known.is_empty() {
        lang.pick("无", "none").to_string()
    } else {
        let names: Vec<&str> = known.iter().map(AsRef::as_ref).collect();
        names.join(lang.pick("、", ", "))
    };
    // The name is the client's own; cap what is echoed back.
    let shown: String = name.chars().take(64).collect();
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "input.unknown_parameter",
        lang,
        match lang {
            Lang::Zh => format!("未知的查询参数 {shown}（可用：{list}）"),
            Lang::En => format!("unknown query parameter {shown} (known: {list})"),
        },
    )
    .with_field(shown)
}

/// The query parameters each route declares in the OpenAPI document, by
/// method and route template. The one place unknown parameters are refused:
/// [`refuse_undeclared`] runs in front of every route, so an endpoint
/// accepts exactly the parameters its document lists — none for a route the
/// document does not describe (`/health`, `/docs`, `/openapi.json`).
#[derive(Clone, Debug, Default)]
pub struct DeclaredQueries(Arc<HashMap<(Method, String), Vec<String>>>);

impl DeclaredQueries {
    /// Reads the declarations from the document.
    pub fn from_openapi(doc: &utoipa::openapi::OpenApi) -> DeclaredQueries {
        use utoipa::openapi::path::{Operation, ParameterIn};
        let mut map = HashMap::new();
        for (path, item) in &doc.paths.paths {
            let shared = item.parameters.iter().flatten();
            let ops: [(Method, &Option<Operation>); 5] = [
                (Method::GET, &item.get),
                (Method::POST, &item.post),
                (Method::PUT, &item.put),
                (Method::PATCH, &item.patch),
                (Method::DELETE, &item.delete),
            ];
            for (method, op) in ops {
                let Some(op) = op else { continue };
                let names = shared
                    .clone()
                    .chain(op.parameters.iter().flatten())
                    .filter(|p| matches!(p.parameter_in, ParameterIn::Query))
                    .map(|p| p.name.clone())
                    .collect();
                map.insert((method, path.clone()), names);
            }
        }
        DeclaredQueries(Arc::new(map))
    }

    /// The names `method` on `route` declares (HEAD as GET).
    fn known(&self, method: &Method, route: &str) -> &[String] {
        let method = if method == Method::HEAD {
            Method::GET
        } else {
            method.clone()
        };
        self.0
            .get(&(method, route.to_string()))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
}

/// Middleware (a route layer, so the route is known): 400 for a query
/// parameter the route does not declare, or a query that does not parse.
pub async fn refuse_undeclared(
    State(declared): State<DeclaredQueries>,
    ReqLang(lang): ReqLang,
    route: Option<MatchedPath>,
    request: Request,
    next: Next,
) -> Response {
    let Some(query) = request.uri().query() else {
        return next.run(request).await;
    };
    let pairs: Vec<(String, String)> = match serde_urlencoded_pairs(query) {
        Some(pairs) => pairs,
        None => {
            return ApiError::bad_value(
                "query",
                lang,
                "查询字符串格式不正确",
                "the query string is malformed",
            )
            .into_response()
        }
    };
    let route = route.as_ref().map(MatchedPath::as_str).unwrap_or("");
    let known = declared.known(request.method(), route);
    if let Some((name, _)) = pairs.iter().find(|(k, _)| !known.contains(k)) {
        return unknown_parameter(name, known, lang).into_response();
    }
    next.run(request).await
}

/// The name/value pairs of a query string, as axum's `Query` reads them.
fn serde_urlencoded_pairs(query: &str) -> Option<Vec<(String, String)>> {
    let uri: axum::http::Uri = format!("/?{query}").parse().ok()?;
    axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&uri)
        .ok()
        .map(|q| q.0)
}

impl<'a> Params<'a> {
    /// 400 naming the first parameter not among `known` (also refused, for
    /// every route, by [`refuse_undeclared`]; kept so a handler's reads and
    /// its list cannot drift apart).
    pub fn check(
        query: &'a BTreeMap<String, String>,
        known: &[&str],
        lang: Lang,
    ) -> Result<Params<'a>, ApiError> {
        if let Some(name) = query.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(unknown_parameter(name, known, lang));
        }
        Ok(Params { query, lang })
    }

    fn get(&self, name: &str) -> Option<&'a str> {
        self.query.get(name).map(String::as_str)
    }

    /// `limit`: 1 to the maximum page size; the default page size if absent.
    pub fn limit(&self, limits: &Limits) -> Result<usize, ApiError> {
        let Some(v) = self.get("limit") else {
            return Ok(limits.default_page_size);
        };
        let max = limits.max_page_size;
        v.parse::<usize>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "input.invalid_value",
                    self.lang,
                    match self.lang {
                        Lang::Zh => format!("limit 须为 1 至 {max} 的整数"),
                        Lang::En => format!("limit must be an integer from 1 to {max}"),
                    },
                )
                .with_field("limit")
            })
    }

    /// `after`: the `next_after` of the previous page (1–64 bytes).
    pub fn after(&self) -> Result<Option<&'a str>, ApiError> {
        match self.get("after") {
            None => Ok(None),
            Some(v) if !v.is_empty() && v.len() <= MAX_AFTER_BYTES => Ok(Some(v)),
            Some(_) => Err(ApiError::bad_value(
                "after",
                self.lang,
                "after 须为上一页返回的 next_after",
                "after must be the next_after of the previous page",
            )),
        }
    }

    /// `min_position`: the log position the views must reflect before
    /// answering — a command's `log_position` (`commit/position`), or on the
    /// embedded store simply its `last_position` (a bare number is commit 0).
    pub fn min_position(&self) -> Result<Option<LogPosition>, ApiError> {
        let Some(v) = self.get("min_position") else {
            return Ok(None);
        };
        let number = |s: &str| {
            (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse::<u64>().ok())
                .flatten()
        };
        let parsed = match v.split_once('/') {
            Some((commit, position)) => number(commit)
                .zip(number(position))
                .map(|(commit, position)| LogPosition { commit, position }),
            None => number(v).map(LogPosition::at),
        };
        parsed.map(Some).ok_or_else(|| {
            ApiError::bad_value(
                "min_position",
                self.lang,
                "min_position 须为事件日志位置（命令返回的 log_position，如 0/42；嵌入式存储也可用 last_position）",
                "min_position must be a log position (a command's log_position, such as 0/42; on the embedded store also its last_position)",
            )
        })
    }

    /// `fund`: `special_assistance`, `mutual_aid`, `donation` or `festival`.
    pub fn fund(&self) -> Result<Option<Fund>, ApiError> {
        match self.get("fund") {
            None => Ok(None),
            Some(v) => projections::rows::parse_fund(&v.replace('-', "_"))
                .map(Some)
                .ok_or_else(|| {
                    ApiError::bad_value(
                        "fund",
                        self.lang,
                        "fund 须为 special_assistance、mutual_aid、donation 或 festival",
                        "fund must be special_assistance, mutual_aid, donation or festival",
                    )
                }),
        }
    }

    /// `month`: `YYYY-MM`.
    pub fn month(&self) -> Result<Option<&'a str>, ApiError> {
        match self.get("month") {
            None => Ok(None),
            Some(v) if crate::read::reports::is_month(v) => Ok(Some(v)),
            Some(_) => Err(ApiError::bad_value(
                "month",
                self.lang,
                "month 须为月份（YYYY-MM）",
                "month must be a month (YYYY-MM)",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn min_position(value: &str) -> Option<LogPosition> {
        let query = BTreeMap::from([("min_position".to_string(), value.to_string())]);
        let params = Params::check(&query, &["min_position"], Lang::En).ok()?;
        params.min_position().ok().flatten()
    }

    #[test]
    fn min_position_takes_a_log_position_or_a_bare_row_position() {
        assert_eq!(min_position("42"), Some(LogPosition::at(42)));
        assert_eq!(
            min_position("7301/42"),
            Some(LogPosition {
                commit: 7301,
                position: 42
            })
        );
        for bad in ["", "-1", "1.5", "x", "1/", "/2", "1/2/3", "+1"] {
            assert_eq!(min_position(bad), None, "{bad:?} should be refused");
        }
    }
}
