//! The audit endpoints: `POST /v1/audit/seals` (seal now: auditor, admin),
//! `GET /v1/audit/seals` (every stored seal), and the report behind
//! `GET /v1/audit/verify` (chains, log order, stored seals).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access::permissions::Action;
use crate::audit::key::SealKey;
use crate::audit::verify::{AuditReport, SealFinding};
use crate::audit::AuditError;
use crate::http::error::{ApiError, Problem};
use crate::http::{ApiState, Caller};

/// One seal as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SealDoc {
    /// When it was sealed (RFC 3339, UTC).
    pub sealed_at: String,
    /// The log position it seals.
    pub log_position: String,
    /// Events up to there.
    pub events: u64,
    /// The seal's text exactly as signed: publish this.
    pub text: String,
}

/// Every stored seal, oldest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SealList {
    /// The seals.
    pub seals: Vec<SealDoc>,
}

/// One seal's check in [`AuditCheckDoc`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SealCheckDoc {
    /// `store #n`.
    pub origin: String,
    /// The log position it seals, if readable.
    pub log_position: Option<String>,
    /// True when the seal is genuine and the log still matches it.
    pub ok: bool,
    /// What is wrong (English).
    pub findings: Vec<String>,
}

/// A stream's event met in the log out of sequence order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OrderProblemDoc {
    /// Aggregate type.
    pub aggregate_type: String,
    /// Aggregate id.
    pub aggregate_id: String,
    /// The event's sequence.
    pub sequence: u64,
    /// The sequence it followed in the log.
    pub after: u64,
}

/// The order and seal parts of `GET /v1/audit/verify`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditCheckDoc {
    /// A chain break, an order problem or a seal the log no longer matches.
    pub altered: bool,
    /// A stored seal whose signature does not verify against the key.
    pub forged: bool,
    /// Streams met out of order.
    pub order_problems: Vec<OrderProblemDoc>,
    /// Rows the events table holds that reading the log did not return
    /// (absent when none): `[held, read]`.
    pub unread_rows: Option<[u64; 2]>,
    /// Every stored seal.
    pub seals: Vec<SealCheckDoc>,
}

/// The seal and order part of the audit report.
pub fn check_doc(report: &AuditReport) -> AuditCheckDoc {
    AuditCheckDoc {
        altered: report.altered(),
        forged: report.forged(),
        order_problems: report
            .order
            .iter()
            .map(|o| OrderProblemDoc {
                aggregate_type: o.aggregate_type.clone(),
                aggregate_id: o.aggregate_id.clone(),
                sequence: o.sequence,
                after: o.after,
            })
            .collect(),
        unread_rows: report.unread.map(|u| [u.held, u.read]),
        seals: report
            .seals
            .iter()
            .map(|s| SealCheckDoc {
                origin: s.origin.clone(),
                log_position: s.seal.as_ref().map(|x| x.log_position.to_string()),
                ok: s.findings.is_empty(),
                findings: s.findings.iter().map(finding_en).collect(),
            })
            .collect(),
    }
}

fn finding_en(f: &SealFinding) -> String {
    match f {
        SealFinding::Unreadable(why) => format!("unreadable: {why}"),
        SealFinding::BadSignature => "signature does not verify".into(),
        SealFinding::OtherKey(k) => format!("signed by another key {k}"),
        SealFinding::Differs { sealed, found } => format!(
            "log differs from the seal: events {} / {}, streams {} / {}",
            sealed.events, found.events, sealed.streams, found.streams
        ),
    }
}

/// The full audit verification for `GET /v1/audit/verify`, with the
/// installation's key as the trusted one when its file is here.
pub async fn full_report(state: &ApiState) -> Result<AuditReport, AuditError> {
    let app = state.app();
    let path = crate::audit::schedule::key_path(app);
    let trusted = match path.exists() {
        true => Some(SealKey::load(&path)?.public()),
        false => None,
    };
    Ok(
        crate::audit::verify::verify(app.store.kernel().as_ref(), Vec::new(), trusted.as_ref())
            .await?,
    )
}

fn doc(r: &crate::store::SealRecord) -> SealDoc {
    SealDoc {
        sealed_at: r.sealed_at.clone(),
        log_position: r.log_position.clone(),
        events: r.events,
        text: r.text.clone(),
    }
}

/// Every stored seal.
#[utoipa::path(get, path = "/v1/audit/seals", tag = "audit",
    summary = "全部审计封印 Every stored audit seal",
    responses(
        (status = 200, body = SealList),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn list_seals(State(state): State<ApiState>, caller: Caller) -> Response {
    let lang = caller.lang;
    let run = async {
        caller.require(Action::ReadSeals, "audit seals")?;
        let records = state
            .app()
            .store
            .seals()
            .await
            .map_err(|e| ApiError::unavailable(lang, &e))?;
        let seals = records.iter().map(doc).collect();
        Ok::<_, ApiError>(Json(SealList { seals }).into_response())
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

/// Verifies the history, then seals it and keeps the seal.
#[utoipa::path(post, path = "/v1/audit/seals", tag = "audit",
    summary = "核验并封印日志 Verify the history, then seal it",
    responses(
        (status = 201, body = SealDoc),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn create_seal(State(state): State<ApiState>, caller: Caller) -> Response {
    let lang = caller.lang;
    let run = async {
        caller.require(Action::Seal, "audit seal")?;
        let app = state.app();
        let fail = |e: AuditError| match e {
            AuditError::NotSealable(_) => ApiError::new(
                StatusCode::CONFLICT,
                "audit.not_sealable",
                lang,
                e.localize(lang),
            ),
            other => ApiError::unavailable(lang, &other),
        };
        let key = SealKey::load_or_create(&crate::audit::schedule::key_path(app)).map_err(fail)?;
        let seal = crate::audit::seal_now(&app.store, &key, app.clock.now())
            .await
            .map_err(fail)?;
        let body = SealDoc {
            sealed_at: seal.sealed_at.clone(),
            log_position: seal.log_position.to_string(),
            events: seal.snapshot.events,
            text: seal.to_text(),
        };
        Ok::<_, ApiError>((StatusCode::CREATED, Json(body)).into_response())
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

/// The audit seal routes.
pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(list_seals, create_seal))
}
