//! Query parameters of the read endpoints, checked in one place.
//!
//! Each endpoint names the parameters it knows; any other name, and any value
//! out of range, is a 400 problem naming the parameter — a typo (`?limt=5`)
//! must not silently return the default page.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use domain::fund::Fund;
use domain::i18n::Lang;

use crate::store::LogPosition;

use super::error::ApiError;
use super::Limits;

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

impl<'a> Params<'a> {
    /// 400 naming the first parameter not among `known`.
    pub fn check(
        query: &'a BTreeMap<String, String>,
        known: &[&str],
        lang: Lang,
    ) -> Result<Params<'a>, ApiError> {
        if let Some(name) = query.keys().find(|k| !known.contains(&k.as_str())) {
            let list = known.join(lang.pick("、", ", "));
            // The name is the client's own; cap what is echoed back.
            let shown: String = name.chars().take(64).collect();
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "input.invalid_value",
                lang,
                match lang {
                    Lang::Zh => format!("未知的查询参数（可用：{list}）"),
                    Lang::En => format!("unknown query parameter (known: {list})"),
                },
            )
            .with_field(shown));
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
            Some(v) if crate::views::is_month(v) => Ok(Some(v)),
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
