//! View pages as files (issue 12 item 5, issue 13 item 6): with `Accept:
//! text/csv` (`; charset=gbk` for GBK) or the XLSX media type, a view
//! answers with the rows of its main list as a file instead of JSON —
//! the same, already masked, document the JSON answer carries. The rows,
//! columns and headings are [`crate::read::export`]'s, which the CLI's
//! `--format` uses too.

use axum::http::header::{ACCEPT, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::i18n::{Lang, Localize};
use serde_json::Value;

use super::error::ApiError;
use crate::files::negotiate::{content_disposition, format_from_accept};
use crate::files::Format;
pub(crate) use crate::read::export::ViewFile;

/// The format the request's `Accept` asks for; `None` for JSON.
pub(crate) fn wanted(headers: &HeaderMap) -> Option<Format> {
    format_from_accept(headers.get(ACCEPT).and_then(|v| v.to_str().ok()))
}

/// The (masked) view document as a file in `format`.
pub(crate) fn file_response(
    lang: Lang,
    view: &ViewFile,
    doc: &Value,
    format: Format,
) -> Result<Response, ApiError> {
    let (file, _) = crate::read::export::render(view, doc, format, lang)
        .map_err(|e| ApiError::new(StatusCode::NOT_ACCEPTABLE, e.code(), lang, e.localize(lang)))?;
    let name = crate::read::export::file_name(view, doc, format, lang);
    let disposition = HeaderValue::from_str(&content_disposition(&name))
        .map_err(|e| ApiError::unavailable(lang, &e))?;
    let mut response = file.bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(format.media_type()));
    headers.insert(CONTENT_DISPOSITION, disposition);
    headers.insert(
        "x-content-sha256",
        HeaderValue::from_str(&file.sha256).map_err(|e| ApiError::unavailable(lang, &e))?,
    );
    Ok(response)
}
