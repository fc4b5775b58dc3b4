//! `POST /v1/audit/verify`: the full audit verification of `GET
//! /v1/audit/verify` plus published seals the auditor brings (the text of
//! one or more seals, as `bangfu audit seal --out` writes them), checked
//! against a public key the auditor names or the installation's — what
//! `bangfu audit verify --seal FILE --public-key KEY` does on the CLI.
//! Auditors and admins only (`permissions::VERIFIERS`).

use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::i18n::Lang;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access::permissions::Action;
use crate::audit::key::SealKey;
use crate::audit::seal::Seal;
use crate::audit::verify::SealSource;
use crate::http::error::{ApiError, Problem};
use crate::http::reads::ChainCheck;
use crate::http::{ApiState, Caller};

/// Largest body: many months of seals fit in far less.
const MAX_SEALS_BYTES: usize = 1 << 20;

/// Published seals to check with the stored ones.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"seals": "bangfu-seal: 1\nsealed_at: …\n…\nsignature: …\n", "public_key": "5e0a…"}))]
pub struct GivenSeals {
    /// The text of one or more seals, one after another (`#` lines ignored).
    pub seals: String,
    /// The public key (64 hex digits) the seals must be signed with;
    /// default: the installation's key, if its file is here.
    pub public_key: Option<String>,
}

fn unprocessable(lang: Lang, code: &'static str, field: &'static str, message: String) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, lang, message).with_field(field)
}

/// Checks every chain, the log order, every stored seal and the given ones.
#[utoipa::path(post, path = "/v1/audit/verify", tag = "audit",
    summary = "核验哈希链、日志顺序、存储的与提交的审计封印 Verify the chains, the log order, the stored and the given seals",
    request_body(content = GivenSeals, content_type = "application/json"),
    responses(
        (status = 200, body = ChainCheck),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn verify_given(State(state): State<ApiState>, caller: Caller, body: Body) -> Response {
    let lang = caller.lang;
    let run = async {
        caller.require(Action::Verify, "audit verify")?;
        let bytes = super::commands::read_body(body, MAX_SEALS_BYTES, lang).await?;
        let given: GivenSeals =
            domain::i18n::with_lang(lang, || crate::app::input::parse_json(&bytes))
                .map_err(|e| ApiError::input(&e, lang))?;
        let seals = Seal::parse_all(&given.seals)
            .map_err(|e| unprocessable(lang, "audit.seal_format", "seals", e.localize(lang)))?;
        let trusted = match &given.public_key {
            Some(hex) => Some(crate::audit::key::parse_public(hex).ok_or_else(|| {
                unprocessable(
                    lang,
                    "audit.bad_public_key",
                    "public_key",
                    lang.pick(
                        "公钥须为 64 位十六进制的 Ed25519 公钥",
                        "public_key must be an Ed25519 public key, 64 hex digits",
                    )
                    .to_string(),
                )
            })?),
            None => {
                let path = crate::audit::schedule::key_path(state.app());
                match path.exists() {
                    true => Some(
                        SealKey::load(&path)
                            .map_err(|e| ApiError::unavailable(lang, &e))?
                            .public(),
                    ),
                    false => None,
                }
            }
        };
        let sources = seals
            .into_iter()
            .enumerate()
            .map(|(i, seal)| SealSource {
                origin: format!("given #{}", i + 1),
                seal: Ok(seal),
            })
            .collect();
        let store = state.app().store.kernel();
        let full = crate::audit::verify::verify(store.as_ref(), sources, trusted.as_ref())
            .await
            .map_err(|e| ApiError::unavailable(lang, &e))?;
        Ok::<_, ApiError>(Json(crate::http::reads::chain_check(&full)).into_response())
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

/// The route.
pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(verify_given))
}
