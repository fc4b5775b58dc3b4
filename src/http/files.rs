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
    rendered_response(lang, file, format, &name)
}

/// A rendered file as a download: its media type, a `Content-Disposition`
/// with `name`, and `X-Content-SHA256`.
pub(crate) fn rendered_response(
    lang: Lang,
    file: crate::files::FileBytes,
    format: Format,
    name: &str,
) -> Result<Response, ApiError> {
    let header = |v: &str| HeaderValue::from_str(v).map_err(|e| ApiError::unavailable(lang, &e));
    let mut response = file.bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(format.media_type()));
    headers.insert(CONTENT_DISPOSITION, header(&content_disposition(name))?);
    headers.insert("x-content-sha256", header(&file.sha256)?);
    Ok(response)
}
