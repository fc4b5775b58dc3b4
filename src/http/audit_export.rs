//! What an auditor takes away to check bangfu without bangfu, over HTTP as
//! on the CLI: `GET /v1/audit/public-key` (`bangfu audit key`),
//! `GET /v1/audit/chain` (`bangfu audit export-chain`: the log as JSON
//! lines; 409 `audit.altered` when the events table holds rows the log read
//! does not return, since the export would silently leave them out) and
//! `GET /v1/audit/verifier` (`bangfu audit verifier`: the Python script).
//! Auditors and admins (`permissions::VERIFIERS`).

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access::permissions::Action;
use crate::audit::key::SealKey;
use crate::http::error::{ApiError, Problem};
use crate::http::{ApiState, Caller};

/// The installation's seal key, public half.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PublicKeyDoc {
    /// Ed25519 public key, 64 hex digits (as in every seal's text).
    pub public_key: String,
}

/// The public key seals are signed with (created on first use).
#[utoipa::path(get, path = "/v1/audit/public-key", tag = "audit",
    summary = "审计封印公钥 The public key seals are signed with",
    responses(
        (status = 200, body = PublicKeyDoc),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn public_key(State(state): State<ApiState>, caller: Caller) -> Response {
    let lang = caller.lang;
    let run = || {
        caller.require(Action::Verify, "audit public key")?;
        let path = crate::audit::schedule::key_path(state.app());
        let key = SealKey::load_or_create(&path).map_err(|e| ApiError::unavailable(lang, &e))?;
        Ok::<_, ApiError>(Json(PublicKeyDoc {
            public_key: key.public_hex(),
        }))
    };
    run().map_or_else(IntoResponse::into_response, IntoResponse::into_response)
}

/// The whole log as JSON lines, for an outside verifier.
#[utoipa::path(get, path = "/v1/audit/chain", tag = "audit",
    summary = "导出全部事件哈希链（JSON Lines） The log's hash chains as JSON lines",
    responses(
        (status = 200, content_type = "application/x-ndjson", body = String),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn chain(State(state): State<ApiState>, caller: Caller) -> Response {
    let lang = caller.lang;
    let run = async {
        caller.require(Action::Verify, "audit chain export")?;
        let chain = crate::audit::chain::export(&state.app().store)
            .await
            .map_err(|e| ApiError::unavailable(lang, &e))?;
        if let (true, Some(held)) = (chain.incomplete(), chain.held) {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "audit.altered",
                lang,
                match lang {
                    domain::i18n::Lang::Zh => format!("事件表存有 {held} 行，可读日志只有 {} 行：有事件被放在日志读取不到的位置；请运行审计核验", chain.exported),
                    domain::i18n::Lang::En => format!("the events table holds {held} rows, the readable log {}: events were placed where the log is not read; run the audit verification", chain.exported),
                },
            ));
        }
        Ok::<_, ApiError>(
            (
                [
                    (header::CONTENT_TYPE, "application/x-ndjson"),
                    (
                        header::CONTENT_DISPOSITION,
                        "attachment; filename=\"bangfu-chain.jsonl\"",
                    ),
                ],
                chain.text,
            )
                .into_response(),
        )
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

/// The standard-library Python script that checks an exported chain and
/// seals without bangfu.
#[utoipa::path(get, path = "/v1/audit/verifier", tag = "audit",
    summary = "独立核验脚本（Python 标准库） The independent verifier (Python, standard library only)",
    responses(
        (status = 200, content_type = "text/x-python", body = String),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn verifier(caller: Caller) -> Response {
    match caller.require(Action::Verify, "audit verifier") {
        Err(e) => e.into_response(),
        Ok(()) => (
            [
                (header::CONTENT_TYPE, "text/x-python; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"verify_seal.py\"",
                ),
            ],
            crate::audit::VERIFIER_PY,
        )
            .into_response(),
    }
}

/// The routes.
pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(public_key))
        .routes(routes!(chain))
        .routes(routes!(verifier))
}
