//! The read side's queries, shared by every interface: the views' rows a
//! page at a time and the reports built from them (plan period, campaign,
//! payout ledger). The CLI prints them ([`crate::cli::views`]), the HTTP
//! API serves them ([`crate::http::reports`]); neither computes its own.
//!
//! **One balance.** A fund's balance is computed in one place, the
//! fund-balance view ([`projections::views::funds`]); a report that shows a
//! fund's balance (the plan period's mutual-aid fund, the payout ledger's
//! funds) quotes that view's row, read in the same request.

use domain::fund::Fund;
use projections::rows::{fund_code, ProjectionError, ViewRow};
use projections::views::campaign::{self, CampaignReport, CampaignRow, CampaignUnitRow};
use projections::views::funds::FundBalanceRow;
use projections::views::ledger::{LedgerTotals, PayoutRow};
use projections::views::plan::{PlanClaimRow, PlanPeriodReport, PlanPeriodRow, PlanUnitRow};

use crate::app::App;
use crate::projector::{ProjectorError, RowFilter, Space};

/// Whether `s` is a month as the payout ledger names them: `YYYY-MM`.
pub fn is_month(s: &str) -> bool {
    s.len() == 7
        && s.as_bytes().get(4) == Some(&b'-')
        && s.is_char_boundary(4)
        && s[..4].bytes().all(|b| b.is_ascii_digit())
        && s[5..].bytes().all(|b| b.is_ascii_digit())
        && s[5..].parse::<u8>().is_ok_and(|m| (1..=12).contains(&m))
}

/// Up to `limit` live rows of `T` matching `filter` with keys after
/// `after_key`, in key order, and whether more follow. One indexed read.
pub async fn rows_page<T: ViewRow>(
    app: &App,
    filter: &RowFilter,
    after_key: Option<&str>,
    limit: usize,
) -> Result<(Vec<T>, bool), ProjectorError> {
    let limit = limit.max(1);
    let stored = app
        .projector
        .views()
        .list(
            Space::Live,
            T::KIND,
            filter,
            after_key,
            limit.saturating_add(1),
        )
        .await?;
    let more = stored.len() > limit;
    let rows = stored
        .iter()
        .take(limit)
        .map(|r| {
            serde_json::from_str(&r.doc).map_err(|e| {
                ProjectorError::Row(ProjectionError::CorruptRow {
                    kind: T::KIND.as_str(),
                    message: e.to_string(),
                })
            })
        })
        .collect::<Result<Vec<T>, _>>()?;
    Ok((rows, more))
}

/// `fund`'s row of the fund-balance view (empty if nothing moved yet): the
/// one place a fund's balance is computed.
pub async fn fund_row(app: &App, fund: Fund) -> Result<FundBalanceRow, ProjectorError> {
    Ok(app
        .projector
        .funds()
        .await?
        .into_iter()
        .find(|r| r.fund == fund)
        .unwrap_or_else(|| FundBalanceRow::empty(fund)))
}

fn children(parent: &str) -> RowFilter {
    RowFilter {
        parent: Some(parent.to_string()),
        tag: None,
    }
}

/// The plan-period report of `plan_id` with one page of its units: the
/// `limit` units after unit `after` (in unit-id order). Every total covers
/// the whole period; each listed unit carries its own claims. Also returns
/// the unit id to pass as `after` for the next page, if any.
pub async fn plan_period_report_page(
    app: &App,
    plan_id: &str,
    after: Option<&str>,
    limit: usize,
) -> Result<Option<(PlanPeriodReport, Option<String>)>, ProjectorError> {
    let Some(period) = app.projector.get::<PlanPeriodRow>(plan_id).await? else {
        return Ok(None);
    };
    let after_key = after.map(|u| projections::views::plan::unit_key(plan_id, u).key);
    let (units, more) =
        rows_page::<PlanUnitRow>(app, &children(plan_id), after_key.as_deref(), limit).await?;
    let next = if more {
        units.last().map(|u| u.unit_id.clone())
    } else {
        None
    };
    let mut report = PlanPeriodReport::new(period, units);
    app.projector
        .for_each::<PlanClaimRow>(&children(plan_id), |c| report.add_claim(&c))
        .await?;
    report.mutual_aid_fund = Some(fund_row(app, Fund::MutualAid).await?);
    Ok(Some((report, next)))
}

/// The campaign report of `campaign_id` with one page of its units (the
/// `limit` after unit `after`, in unit-id order; the totals are the
/// campaign's), and the unit id that starts the next page, if any.
pub async fn campaign_report_page(
    app: &App,
    campaign_id: &str,
    after: Option<&str>,
    limit: usize,
) -> Result<Option<(CampaignReport, Option<String>)>, ProjectorError> {
    let Some(campaign) = app.projector.get::<CampaignRow>(campaign_id).await? else {
        return Ok(None);
    };
    let after_key = after.map(|u| campaign::unit_key(campaign_id, u).key);
    let (units, more) =
        rows_page::<CampaignUnitRow>(app, &children(campaign_id), after_key.as_deref(), limit)
            .await?;
    let next = if more {
        units.last().map(|u| u.unit_id.clone())
    } else {
        None
    };
    Ok(Some((CampaignReport::new(campaign, units), next)))
}

/// One page of the payout ledger and the totals of every matching row.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LedgerPage {
    /// The payouts after the one asked for, in payout-id order.
    pub payouts: Vec<PayoutRow>,
    /// The payout id that starts the next page, if any.
    pub next_after: Option<String>,
    /// Rows matching the filter (transfers included).
    pub matching: u64,
    /// Totals by fund and by month over every matching row.
    pub totals: LedgerTotals,
    /// The balances of the funds listed (the one fund asked for, or all
    /// four), quoted from the fund-balance view.
    pub funds: Vec<FundBalanceRow>,
}

/// The payouts of `fund` (all funds if `None`) whose state last changed in
/// `month` (`YYYY-MM`; all months if `None`): up to `limit` after payout
/// `after`, with totals over every matching row. One pass over the matching
/// rows, a page at a time (flat memory).
pub async fn payout_ledger_page(
    app: &App,
    fund: Option<Fund>,
    month: Option<&str>,
    after: Option<&str>,
    limit: usize,
) -> Result<LedgerPage, ProjectorError> {
    let filter = RowFilter {
        parent: fund.map(|f| fund_code(f).to_string()),
        tag: month.map(str::to_string),
    };
    // A payout's row key is its payout id.
    let mut page = LedgerPage::default();
    let mut more = false;
    app.projector
        .for_each::<PayoutRow>(&filter, |row| {
            page.matching += 1;
            page.totals.add(&row);
            if after.is_none_or(|a| row.payout_id.as_str() > a) {
                if page.payouts.len() < limit {
                    page.payouts.push(row);
                } else {
                    more = true;
                }
            }
        })
        .await?;
    if more {
        page.next_after = page.payouts.last().map(|p| p.payout_id.clone());
    }
    page.funds = app
        .projector
        .funds()
        .await?
        .into_iter()
        .filter(|r| fund.is_none_or(|f| f == r.fund))
        .collect();
    Ok(page)
}

/// The plan-period report of `plan_id` from the live views.
pub async fn plan_period_report(
    app: &App,
    plan_id: &str,
) -> Result<Option<PlanPeriodReport>, ProjectorError> {
    let Some(period) = app.projector.get::<PlanPeriodRow>(plan_id).await? else {
        return Ok(None);
    };
    let by_plan = RowFilter {
        parent: Some(plan_id.to_string()),
        tag: None,
    };
    let mut units = Vec::new();
    app.projector
        .for_each::<PlanUnitRow>(&by_plan, |u| units.push(u))
        .await?;
    let mut report = PlanPeriodReport::new(period, units);
    app.projector
        .for_each::<PlanClaimRow>(&by_plan, |c| report.add_claim(&c))
        .await?;
    report.mutual_aid_fund = Some(fund_row(app, Fund::MutualAid).await?);
    Ok(Some(report))
}

/// The campaign report of `campaign_id` from the live views.
pub async fn campaign_report(
    app: &App,
    campaign_id: &str,
) -> Result<Option<CampaignReport>, ProjectorError> {
    let Some(campaign) = app.projector.get::<CampaignRow>(campaign_id).await? else {
        return Ok(None);
    };
    let mut units = Vec::new();
    app.projector
        .for_each::<CampaignUnitRow>(
            &RowFilter {
                parent: Some(campaign_id.to_string()),
                tag: None,
            },
            |u| units.push(u),
        )
        .await?;
    units.sort_by(|a, b| a.unit_id.cmp(&b.unit_id));
    Ok(Some(campaign::CampaignReport::new(campaign, units)))
}
