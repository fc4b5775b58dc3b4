//! `GET /v1/views/journal`: the books' accounting journal (记账凭证) — as
//! JSON (the journal entries and the trial balance), or with `Accept:
//! text/csv` (`; charset=gbk`) or the XLSX media type as the journal file
//! the CLI writes (`bangfu view journal --out …`), one row per debit–credit
//! pair with Chinese headings ([`crate::finance::journal_file`]). The
//! journal holds accounts, amounts and payout ids, no personal data.
//!
//! `GET /v1/views/lineage?payout=|inflow=`: lineage both ways, to the fen.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::i18n::Localize;
use projections::views::books::{BookAccountRow, JournalEntryRow};
use projections::views::lineage::LineagePiece;
use projections::ViewName;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, Problem};
use super::params::WirePosition;
use super::reports::{begin, view_unavailable};
use super::{ApiState, Caller};
use crate::finance::journal_file::journal_table;

/// The journal of the books and their trial balance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct JournalView {
    /// The log position the views reflect.
    pub views_position: WirePosition,
    /// The month asked for, `YYYY-MM` (every month if absent).
    pub month: Option<String>,
    /// The entries, in log order; each balances (Σ debits = Σ credits).
    pub entries: Vec<JournalEntryRow>,
    /// Every account of the chart with its debits and credits (all months).
    pub trial_balance: Vec<BookAccountRow>,
    /// Σ debits = Σ credits over the trial balance.
    pub balanced: bool,
}

/// The journal.
#[utoipa::path(get, path = "/v1/views/journal", tag = "views",
    summary = "记账凭证 Accounting journal",
    description = "The double-entry books: every money event is one journal entry (accounts \
bank:{fund}, payable:{fund}, fund:{fund}), in log order, with the trial balance. With Accept: \
text/csv (UTF-8 with BOM; charset=gbk for GBK) or the XLSX media type, the journal as a file: \
one row per debit-credit pair — date, entry id, account debited, account credited, amount in \
yuan (two decimals), fund, source, event position — Chinese headings (English with \
Accept-Language: en).",
    params(
        ("month" = Option<String>, Query, description = "Only this month's entries (YYYY-MM)"),
        ("min_position" = Option<u64>, Query, description = "Wait (bounded) until the views reflect this log position"),
        ("as_of" = Option<String>, Query, description = "As of a business date (YYYY-MM-DD) or a recorded time (RFC 3339), folded from the log"),
        ("as_of_position" = Option<String>, Query, description = "As of a log position (N, or commit/N)"),
    ),
    responses(
        (status = 200, body = JournalView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 406, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn journal(
    State(state): State<ApiState>,
    caller: Caller,
    headers: HeaderMap,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    let run = async {
        let lang = caller.lang;
        let known = ["month", "min_position", "as_of", "as_of_position"];
        let params = begin(&caller, "views journal", &query, &known, None)?;
        let month = params.month()?;
        let (app, at) =
            super::audit_review::view_source(&state, &params, ViewName::Books, lang).await?;
        let entries = crate::finance::journal(&app, month)
            .await
            .map_err(|e| view_unavailable(lang, &e))?;
        if let Some(format) = super::files::wanted(&headers) {
            let file = journal_table(&entries, lang)
                .render(format, lang)
                .map_err(|e| {
                    ApiError::new(StatusCode::NOT_ACCEPTABLE, e.code(), lang, e.localize(lang))
                })?;
            let name = format!(
                "{}{}-{}.{}",
                lang.pick("记账凭证", "journal"),
                month.map(|m| format!("-{m}")).unwrap_or_default(),
                at,
                format.extension()
            );
            return super::files::rendered_response(lang, file, format, &name);
        }
        let tb = crate::finance::trial_balance(&app)
            .await
            .map_err(|e| view_unavailable(lang, &e))?;
        Ok::<_, ApiError>(
            Json(JournalView {
                views_position: at,
                month: month.map(str::to_string),
                entries,
                balanced: tb.balances(),
                trial_balance: tb.accounts,
            })
            .into_response(),
        )
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

/// Which inflows paid for which payouts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LineageView {
    /// The log position the views reflect.
    pub views_position: WirePosition,
    /// The payout asked for.
    pub payout: Option<String>,
    /// The inflow asked for.
    pub inflow: Option<String>,
    /// Part of a payout paid by part of an inflow, in log order.
    pub pieces: Vec<LineagePiece>,
    /// Σ pieces.
    pub total_fen: i64,
}

/// Lineage, both ways.
#[utoipa::path(get, path = "/v1/views/lineage", tag = "views",
    summary = "资金溯源 Lineage",
    description = "For a payout (?payout=), which inflows — donation receipts, contributions, \
appropriations — paid for it; for an inflow (?inflow=), which payouts it ended up in; to the fen. \
Rule: explicit allocations first (an allocation is made of its own campaign's receipts, oldest \
first; a claim's subsidy, a measure's grants or a designated payout draws on its allocation \
first), then first in, first out within the fund; money no inflow covers is `unfunded`.",
    params(
        ("payout" = Option<String>, Query, description = "A payout id"),
        ("inflow" = Option<String>, Query, description = "An inflow id (donation:CAMPAIGN:RECEIPT, contribution:PLAN:UNIT, appropriation:ACCOUNT:ID)"),
        ("min_position" = Option<u64>, Query, description = "Wait (bounded) until the views reflect this log position"),
        ("as_of" = Option<String>, Query, description = "As of a business date (YYYY-MM-DD) or a recorded time (RFC 3339), folded from the log"),
        ("as_of_position" = Option<String>, Query, description = "As of a log position (N, or commit/N)"),
    ),
    responses(
        (status = 200, body = LineageView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn lineage(
    State(state): State<ApiState>,
    caller: Caller,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    let run = async {
        let lang = caller.lang;
        let known = [
            "payout",
            "inflow",
            "min_position",
            "as_of",
            "as_of_position",
        ];
        let params = begin(&caller, "views lineage", &query, &known, None)?;
        let id = |name: &'static str| -> Result<Option<String>, ApiError> {
            match query.get(name) {
                Some(v) if v.is_empty() || v.len() > 200 => Err(ApiError::bad_value(
                    name,
                    lang,
                    "编号须为 1 至 200 个字符",
                    "the id must be 1 to 200 characters",
                )),
                other => Ok(other.cloned()),
            }
        };
        let (payout, inflow) = (id("payout")?, id("inflow")?);
        let (app, at) =
            super::audit_review::view_source(&state, &params, ViewName::Books, lang).await?;
        let pieces = crate::finance::lineage_of(&app, payout.as_deref(), inflow.as_deref())
            .await
            .map_err(|e| view_unavailable(lang, &e))?;
        let total_fen = pieces.iter().map(|p| p.amount_fen.fen()).sum();
        Ok::<_, ApiError>(
            Json(LineageView {
                views_position: at,
                payout,
                inflow,
                pieces,
                total_fen,
            })
            .into_response(),
        )
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

/// The books' routes.
pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(journal))
        .routes(routes!(lineage))
}
