//! A payout batch's bank files over HTTP (`finance::bankfile`, the CLI's
//! path):
//!
//! - `POST /v1/payout-batches/{id}/exports` — recording an export is a state
//!   change, so it is a POST: the body names the format (and optionally the
//!   bank's column template); the answer is the file itself, with
//!   `Content-Disposition`, its SHA-256 (`X-Bangfu-Sha256`), the batch's new
//!   version (`ETag`) and log position. With `Idempotency-Key`, a retry gets
//!   the same file (made again: the same lines give the same bytes) and
//!   records nothing twice.
//! - `POST /v1/payout-batches/{id}/bank-results` — the body is the bank's
//!   result file as it came (`text/csv` UTF-8/GBK, or the XLSX type); a
//!   malformed file is a problem document naming line and column (`file`),
//!   nothing written; the same file again is 200 with `recorded: false`.
//!
//! Checks come in the order of the command routes: token (401), role (403),
//! id (400), media type (415), body (400/422); only then does anything run,
//! in a task of its own.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use domain::command::Actor;
use domain::i18n::{ErrorCode, Lang, Localize};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::commands::{read_body, REPLAYED_HEADER};
use super::error::{ApiError, FileProblem, Problem};
use super::{idempotency, ApiState, Caller};
use crate::access::permissions::Action;
use crate::app::{check_aggregate_id, AggregateKind};
use crate::files::bank::BankTemplate;
use crate::files::negotiate::{content_disposition, XLSX_MEDIA_TYPE};
use crate::files::FileError;
use crate::finance::bankfile::{self, BankFileError, Rendered};

/// What to export.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"format": "xlsx", "template": {"columns": [
    {"field": "seq", "heading": "序号"}, {"field": "name", "heading": "户名"},
    {"field": "account", "heading": "账号"}, {"field": "amount", "heading": "金额"},
    {"field": "purpose", "heading": "摘要"}, {"field": "batch_id", "heading": "批次号"}]}}))]
pub struct ExportRequest {
    /// `csv` (UTF-8 with BOM), `csv_gbk` or `xlsx`.
    pub format: String,
    /// The bank's column template (README "Bank files"); the default
    /// (序号, 收款人姓名, 收款账号, 开户行, 金额, 用途, 批次号) when absent.
    #[schema(value_type = Option<Object>)]
    pub template: Option<serde_json::Value>,
}

/// What an import of a result file did.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ImportOutcome {
    /// The batch.
    pub batch_id: String,
    /// SHA-256 of the file.
    pub sha256: String,
    /// Data lines read.
    pub lines: usize,
    /// `false`: the same file was imported before; nothing changed.
    pub recorded: bool,
    /// Lines settled as paid.
    pub paid: usize,
    /// Lines settled as failed.
    pub failed: usize,
    /// The failed payouts (`payout_id`, `reason`), to re-issue or cancel.
    #[schema(value_type = Vec<Object>)]
    pub failures: Vec<serde_json::Value>,
    /// What did not match (`kind`, `line`, `payout_id`, …).
    #[schema(value_type = Vec<Object>)]
    pub exceptions: Vec<serde_json::Value>,
    /// The batch's version after the import.
    pub version: Option<usize>,
    /// Log position of the event written (for `min_position`).
    pub log_position: Option<String>,
    /// What happened, in the request's language.
    pub message: String,
}

/// A bank-file error as a problem document.
pub fn api_error(e: &BankFileError, lang: Lang) -> ApiError {
    match e {
        BankFileError::File(f) => file_problem(f, lang),
        BankFileError::NotFound(_) => {
            ApiError::new(StatusCode::NOT_FOUND, e.code(), lang, e.localize(lang))
        }
        BankFileError::App(a) => ApiError::app(a, lang),
        _ => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            e.code(),
            lang,
            e.localize(lang),
        ),
    }
}

/// 400 for an empty file, else 422; `file` names line and column.
fn file_problem(f: &FileError, lang: Lang) -> ApiError {
    let status = if f.code() == "file.empty" {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut e = ApiError::new(status, f.code(), lang, f.localize(lang));
    if f.line.is_some() || f.column.is_some() {
        e.problem.file = Some(FileProblem {
            line: f.line,
            column: f.column.as_ref().map(|c| c.number),
            heading: f
                .column
                .as_ref()
                .map(|c| c.heading.clone())
                .filter(|h| !h.is_empty()),
        });
    }
    e
}

fn internal(lang: Lang) -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "http.internal",
        lang,
        lang.pick(
            "服务器内部错误，请求未完成",
            "internal error; the request did not complete",
        )
        .to_string(),
    )
}

#[utoipa::path(post, path = "/v1/payout-batches/{id}/exports", tag = "payout-batches",
    summary = "导出银行文件（记录导出事件）Export the bank file (recorded)",
    description = "Makes the authorised batch's bank file (CSV UTF-8 with BOM, CSV GBK or XLSX, \
in the template's columns, a totals line, the batch id) and records the export (format, template, \
SHA-256, who, when) as an event in the same step; the answer is the file. A batch not authorised \
is refused (422 `bank.not_authorised`) and no file is made. `Idempotency-Key`: a retry returns the \
same file and records nothing twice.",
    request_body(content = ExportRequest, content_type = "application/json"),
    params(
        ("id" = String, Path, description = "The batch id"),
        ("Idempotency-Key" = Option<String>, Header, description = "1–200 visible ASCII characters"),
        ("X-Bangfu-Role" = Option<String>, Header, description = "Role to act in, when the user holds several"),
        ("Accept-Language" = Option<String>, Header, description = "zh (default) or en"),
    ),
    responses(
        (status = 200, description = "The file (text/csv or the XLSX type); headers Content-Disposition, X-Bangfu-Sha256, ETag (version), X-Bangfu-Log-Position", body = Vec<u8>, content_type = "application/octet-stream"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not authorised, bad format or template", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn export(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let lang = caller.lang;
    let job = match ExportJob::check(state.clone(), caller, id, &headers, body).await {
        Ok(job) => job,
        Err(e) => return e.into_response(),
    };
    match state.tasks().spawn(job.run()).await {
        Ok(Ok(response)) => response,
        Ok(Err(e)) => e.into_response(),
        Err(_) => internal(lang).into_response(),
    }
}

/// A checked export request.
struct ExportJob {
    state: ApiState,
    caller: Caller,
    id: String,
    format: domain::finance::batch::FileFormat,
    template: BankTemplate,
    key: Option<(String, String)>,
}

/// What an export's idempotency key says to do.
enum Taken {
    /// The export was recorded: answer with its file again.
    Replay(Kept),
    /// Record it, under this command id.
    Run(Uuid),
}

/// What an idempotency key keeps of an export.
#[derive(Serialize, Deserialize)]
struct Kept {
    sha256: String,
    version: usize,
    log_position: Option<String>,
}

impl ExportJob {
    async fn check(
        state: ApiState,
        caller: Caller,
        id: String,
        headers: &HeaderMap,
        body: Body,
    ) -> Result<ExportJob, ApiError> {
        let lang = caller.lang;
        let kind = AggregateKind::PayoutBatch;
        caller.require(
            Action::Command(kind, "RecordExport"),
            "payout-batch exports",
        )?;
        check_aggregate_id(&id).map_err(|e| ApiError::app(&e, lang))?;
        let bytes = read_body(body, state.limits().max_body_bytes, lang).await?;
        let req: ExportRequest = serde_json::from_slice(&bytes).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "input.malformed",
                lang,
                match lang {
                    Lang::Zh => format!("请求体须为 {{\"format\": \"xlsx\"}} 形式的 JSON：{e}"),
                    Lang::En => format!("the body must be JSON like {{\"format\": \"xlsx\"}}: {e}"),
                },
            )
        })?;
        let format = bankfile::parse_format(&req.format).ok_or_else(|| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "input.invalid_field",
                lang,
                lang.pick(
                    "format 须为 csv、csv_gbk 或 xlsx",
                    "format must be csv, csv_gbk or xlsx",
                )
                .to_string(),
            )
            .with_field("format")
        })?;
        let template = match &req.template {
            Some(t) => BankTemplate::from_json(&t.to_string())
                .map_err(|e| file_problem(&e, lang).with_field("template"))?,
            None => BankTemplate::default(),
        };
        let key = idempotency::key_of(headers, lang)?.map(|key| {
            let print = idempotency::fingerprint(&[
                b"export",
                id.as_bytes(),
                caller.role.as_str().as_bytes(),
                &bytes,
            ]);
            (key, hex::encode(print))
        });
        Ok(ExportJob {
            state,
            caller,
            id,
            format,
            template,
            key,
        })
    }

    async fn run(self) -> Result<Response, ApiError> {
        let Some((key, request_sha256)) = self.key.clone() else {
            return self.execute(Uuid::now_v7()).await.map(|(r, _)| r);
        };
        let user = self.caller.user.id.as_str().to_string();
        let lock_id = idempotency::fingerprint(&[user.as_bytes(), key.as_bytes()]);
        let _guard = self.state.key_lock(&lock_id).lock().await;
        let pool = self.state.users().pool().clone();
        let command_id = match self.take(&pool, &user, &key, &request_sha256).await? {
            Taken::Replay(kept) => return self.replay(&kept).await,
            Taken::Run(command_id) => command_id,
        };
        match self.execute(command_id).await {
            Ok((response, kept)) => {
                let body = serde_json::to_string(&kept).unwrap_or_default();
                if let Err(e) = idempotency::complete(&pool, &user, &key, 200, &body).await {
                    tracing::warn!(error = %e, "could not record the idempotency outcome");
                }
                Ok(response)
            }
            Err(e) => {
                if let Err(e) = idempotency::release(&pool, &user, &key).await {
                    tracing::warn!(error = %e, "could not release the idempotency key");
                }
                Err(e)
            }
        }
    }

    /// What the key says: replay a recorded export, or run (a new key is
    /// reserved; a pending one whose command recorded nothing runs again).
    async fn take(
        &self,
        pool: &sqlx::SqlitePool,
        user: &str,
        key: &str,
        request_sha256: &str,
    ) -> Result<Taken, ApiError> {
        let lang = self.caller.lang;
        let unavailable = |e: sqlx::Error| ApiError::unavailable(lang, &e);
        let conflict = |code: &str, zh: &str, en: &str| {
            ApiError::new(
                StatusCode::CONFLICT,
                code,
                lang,
                lang.pick(zh, en).to_string(),
            )
            .with_field("Idempotency-Key")
        };
        let row = idempotency::lookup(pool, user, key)
            .await
            .map_err(unavailable)?;
        match row {
            Some(row) if row.request_sha256 != request_sha256 => Err(conflict(
                "idempotency.key_reused",
                "该 Idempotency-Key 已用于另一个请求（内容不同）；新请求请使用新的键",
                "this Idempotency-Key was used for a different request; use a new key for a new request",
            )),
            Some(row) if row.done => serde_json::from_str(row.response.as_deref().unwrap_or(""))
                .map(Taken::Replay)
                .map_err(|_| internal(lang)),
            Some(row) => match self.recorded_by(row.command_id).await? {
                Some(kept) => {
                    let body = serde_json::to_string(&kept).unwrap_or_default();
                    idempotency::complete(pool, user, key, 200, &body)
                        .await
                        .map_err(unavailable)?;
                    Ok(Taken::Replay(kept))
                }
                None => Ok(Taken::Run(row.command_id)),
            },
            None => {
                let command_id = Uuid::now_v7();
                let aggregate = (domain::finance::batch::TYPE, self.id.as_str());
                let reserved =
                    idempotency::reserve(pool, user, key, request_sha256, command_id, aggregate)
                        .await
                        .map_err(unavailable)?;
                if !reserved {
                    return Err(conflict(
                        "idempotency.in_progress",
                        "使用该 Idempotency-Key 的请求正在处理，请稍后重试",
                        "a request with this Idempotency-Key is in progress; retry shortly",
                    ));
                }
                Ok(Taken::Run(command_id))
            }
        }
    }

    async fn execute(&self, command_id: Uuid) -> Result<(Response, Kept), ApiError> {
        let lang = self.caller.lang;
        let app = self.state.app();
        let actor = Actor {
            id: self.caller.user.id.clone(),
            role: self.caller.role,
        };
        let ctx = app.clock.context(actor, Some(command_id), None);
        let (rendered, committed) =
            bankfile::export(app, &self.id, self.format, &self.template, ctx)
                .await
                .map_err(|e| api_error(&e, lang))?;
        let kept = Kept {
            sha256: rendered.file.sha256.clone(),
            version: committed.version,
            log_position: committed.last_log_position.map(|p| p.to_string()),
        };
        Ok((file_response(&rendered, &kept, false), kept))
    }

    /// The export a pending key's command recorded, if it did.
    async fn recorded_by(&self, command_id: Uuid) -> Result<Option<Kept>, ApiError> {
        let lang = self.caller.lang;
        let history = self
            .state
            .app()
            .store
            .history(domain::finance::batch::TYPE, &self.id)
            .await
            .map_err(|e| ApiError::unavailable(lang, &e))?;
        let id = command_id.to_string();
        Ok(history
            .iter()
            .rev()
            .find(|e| {
                e.event_type == "BatchExported"
                    && e.metadata.get(domain::command::metadata_keys::COMMAND_ID) == Some(&id)
            })
            .and_then(|e| {
                let body = e.payload.get("BatchExported").unwrap_or(&e.payload);
                Some(Kept {
                    sha256: body.get("sha256")?.as_str()?.into(),
                    version: e.sequence,
                    log_position: Some(e.log_position.to_string()),
                })
            }))
    }

    /// The file the key's export recorded, made again and checked by SHA-256.
    async fn replay(&self, kept: &Kept) -> Result<Response, ApiError> {
        let lang = self.caller.lang;
        let loaded = self
            .state
            .app()
            .batches
            .load(&self.id)
            .await
            .map_err(|e| ApiError::app(&e.into(), lang))?;
        let rendered =
            bankfile::render_file(&self.id, &loaded.aggregate, self.format, &self.template)
                .map_err(|e| api_error(&e, lang))?;
        if rendered.file.sha256 != kept.sha256 {
            tracing::error!("a replayed export does not match the recorded SHA-256");
            return Err(internal(lang));
        }
        Ok(file_response(&rendered, kept, true))
    }
}

fn file_response(rendered: &Rendered, kept: &Kept, replayed: bool) -> Response {
    let format = rendered.file.format;
    let mut response = (StatusCode::OK, rendered.file.bytes.clone()).into_response();
    let h = response.headers_mut();
    let mut set = |name: &'static str, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(name, v);
        }
    };
    set("content-type", format.media_type());
    set(
        "content-disposition",
        &content_disposition(&rendered.file_name),
    );
    set("x-bangfu-sha256", &rendered.file.sha256);
    set("etag", &format!("\"{}\"", kept.version));
    if let Some(p) = &kept.log_position {
        set("x-bangfu-log-position", p);
    }
    if replayed {
        set(REPLAYED_HEADER, "true");
    }
    response
}

#[utoipa::path(post, path = "/v1/payout-batches/{id}/bank-results", tag = "payout-batches",
    summary = "导入银行回单 Upload the bank's result file",
    description = "The body is the bank's result file as it came: the default template's columns \
plus 状态 (成功/失败) and 原因, as CSV (UTF-8, with or without BOM, or GBK) or XLSX (detected from \
the bytes). Each line is matched to its payout by 序号; the outcomes and the exceptions are \
recorded as one event. A malformed file is refused whole (400 empty, else 422; `file` names \
line and column) and nothing is written. The same file again: 200, `recorded: false`.",
    request_body(content = Vec<u8>, content_type = "text/csv", description = "The file; or application/vnd.openxmlformats-officedocument.spreadsheetml.sheet, or application/octet-stream"),
    params(
        ("id" = String, Path, description = "The batch id"),
        ("value_date" = Option<String>, Query, description = "The day the bank booked the transfers (YYYY-MM-DD); today otherwise"),
        ("X-Bangfu-Role" = Option<String>, Header, description = "Role to act in, when the user holds several"),
        ("Accept-Language" = Option<String>, Header, description = "zh (default) or en"),
    ),
    responses(
        (status = 200, body = ImportOutcome),
        (status = 400, description = "Empty file, bad value_date", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not CSV or XLSX", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A malformed file (file.line, file.column), or the batch not exported", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn import(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match import_checked(state, caller, id, query, headers, body).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

fn media_ok(headers: &HeaderMap) -> bool {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let base = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    matches!(
        base.as_str(),
        "text/csv" | "application/octet-stream" | "application/vnd.ms-excel"
    ) || base == XLSX_MEDIA_TYPE
}

async fn import_checked(
    state: ApiState,
    caller: Caller,
    id: String,
    query: BTreeMap<String, String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let lang = caller.lang;
    let kind = AggregateKind::PayoutBatch;
    caller.require(
        Action::Command(kind, "RecordResults"),
        "payout-batch bank-results",
    )?;
    check_aggregate_id(&id).map_err(|e| ApiError::app(&e, lang))?;
    if !media_ok(&headers) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "input.unsupported_media_type",
            lang,
            lang.pick(
                "回单须以 text/csv 或 XLSX（application/vnd.openxmlformats-officedocument.spreadsheetml.sheet）上传",
                "send the result file as text/csv or XLSX (application/vnd.openxmlformats-officedocument.spreadsheetml.sheet)",
            )
            .to_string(),
        )
        .with_field("Content-Type"));
    }
    let value_date = match query.get("value_date") {
        Some(d) => Some(NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| {
            ApiError::bad_value(
                "value_date",
                lang,
                "value_date 须为 YYYY-MM-DD",
                "value_date must be YYYY-MM-DD",
            )
        })?),
        None => None,
    };
    let bytes = read_body(body, state.limits().max_body_bytes, lang).await?;
    let actor = Actor {
        id: caller.user.id.clone(),
        role: caller.role,
    };
    let app = state.app().clone();
    let ctx = app.clock.context(actor, None, None);
    let task = state.tasks().spawn(async move {
        let template = BankTemplate::default();
        bankfile::import(&app, &id, &bytes, &template, value_date, ctx)
            .await
            .map(|imported| outcome(&id, imported, lang))
    });
    let outcome = task
        .await
        .map_err(|_| internal(lang))?
        .map_err(|e| api_error(&e, lang))?;
    Ok(axum::Json(outcome).into_response())
}

fn outcome(batch_id: &str, i: bankfile::Imported, lang: Lang) -> ImportOutcome {
    let recorded = i.committed.is_some();
    let message = match (recorded, lang) {
        (false, Lang::Zh) => "该回单此前已导入（SHA-256 相同），未作任何更改".to_string(),
        (false, Lang::En) => {
            "this file was imported before (same SHA-256); nothing changed".to_string()
        }
        (true, Lang::Zh) => format!(
            "已导入回单：成功 {} 笔，失败 {} 笔，异常 {} 条",
            i.paid,
            i.failed,
            i.exceptions.len()
        ),
        (true, Lang::En) => format!(
            "imported: {} paid, {} failed, {} exceptions",
            i.paid,
            i.failed,
            i.exceptions.len()
        ),
    };
    ImportOutcome {
        batch_id: batch_id.to_string(),
        sha256: i.sha256,
        lines: i.lines,
        recorded,
        paid: i.paid,
        failed: i.failed,
        failures: i
            .failures
            .iter()
            .map(|(p, r)| serde_json::json!({"payout_id": p, "reason": r}))
            .collect(),
        exceptions: i
            .exceptions
            .iter()
            .filter_map(|e| serde_json::to_value(e).ok())
            .collect(),
        version: i.committed.as_ref().map(|c| c.version),
        log_position: i
            .committed
            .as_ref()
            .and_then(|c| c.last_log_position.map(|p| p.to_string())),
        message,
    }
}

/// The bank-file routes.
pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(export))
        .routes(routes!(import))
}
