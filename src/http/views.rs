//! Case summaries for the list and summary endpoints, behind [`CaseViews`].
//!
//! A summary (`FileSummary`, …) is computed from the aggregate itself, loaded
//! through the same `Engine::load` the commands use, so it carries the
//! aggregate's version (the `ETag` for `If-Match`). What differs is how a
//! list finds the ids of its page:
//!
//! - [`ProjectedViews`] (the embedded store) pages over the views' rows — one
//!   indexed read of `limit + 1` keys — and loads only the page's aggregates;
//! - [`StreamViews`] (stores that do not keep views yet) pages over the
//!   store's list of stream ids, which it reads whole per page. Fund accounts
//!   have no view row of their own and are listed this way everywhere; a
//!   union keeps a handful.

use std::sync::Arc;

use chrono::NaiveDate;
use domain::donation::{CampaignStatus, DonationCampaign};
use domain::fund::account::FundAccount;
use domain::fund::Fund;
use domain::hardship::{FileStatus, HardshipFile};
use domain::i18n::{ErrorCode, Lang};
use domain::mutual_aid::claim::ClaimStatus;
use domain::mutual_aid::plan::PlanStatus;
use domain::mutual_aid::{MutualAidClaim, MutualAidPlan};
use domain::values::{BasisPoints, Code, Fen, OrgName};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use projections::rows::RowKind;

use super::commands::Served;
use crate::app::{AggregateKind, App};
use crate::projector::{RowFilter, Space};

/// A page of summaries, in id order.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Page<T> {
    /// The summaries.
    pub items: Vec<T>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next_after: Option<String>,
}

/// Why a view could not be read.
#[derive(Debug, thiserror::Error)]
#[error("view unavailable: {0}")]
pub struct ViewError(pub String);

/// One aggregate's summary, whichever kind it is.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Summary {
    /// A hardship file.
    File(FileSummary),
    /// A plan period.
    Plan(PlanSummary),
    /// A claim.
    Claim(ClaimSummary),
    /// A campaign.
    Campaign(CampaignSummary),
    /// A fund account.
    FundAccount(FundAccountSummary),
    /// A payout batch.
    PayoutBatch(super::finance_summary::BatchSummary),
    /// An accounting period.
    AccountingPeriod(super::finance_summary::PeriodSummary),
}

/// Where the summaries come from.
#[async_trait::async_trait]
pub trait CaseViews: Send + Sync {
    /// Summaries of `kind`, the `limit` streams after the one named `after`
    /// (from the first when `None`), labels in `lang`.
    async fn list(
        &self,
        kind: AggregateKind,
        after: Option<&str>,
        limit: usize,
        lang: Lang,
    ) -> Result<Page<Summary>, ViewError>;

    /// One aggregate's summary, `None` if it does not exist.
    async fn get(
        &self,
        kind: AggregateKind,
        id: &str,
        lang: Lang,
    ) -> Result<Option<Summary>, ViewError>;

    /// Whether lists read the projector's views (which the caller then
    /// brings up to date first).
    fn projected(&self) -> bool {
        false
    }
}

/// 困难职工档案摘要: a hardship file at a glance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FileSummary {
    /// The file id.
    pub aggregate_id: String,
    /// Its version.
    pub version: usize,
    /// `open`, `verified`, `not_eligible` or `closed`.
    pub status: String,
    /// The status for people.
    pub status_label: String,
    /// The date on the paper file.
    pub opened_on: Option<NaiveDate>,
    /// Times reopened.
    pub times_reopened: u32,
    /// Plan revision (0: no plan yet).
    pub plan_revision: u32,
    /// Measures in the plan.
    pub measures: usize,
    /// What the plan's measures set aside.
    pub planned_fen: Fen,
    /// What was paid out.
    pub paid_fen: Fen,
    /// Grants pending or approved but unpaid.
    pub outstanding_grants: usize,
    /// Home visits logged.
    pub visits: usize,
    /// Reviews recorded.
    pub reviews: usize,
}

/// 医疗互助期摘要: a plan period at a glance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PlanSummary {
    /// The plan id.
    pub aggregate_id: String,
    /// Its version.
    pub version: usize,
    /// `open` or `closed`.
    pub status: String,
    /// The status for people.
    pub status_label: String,
    /// The period's name.
    pub name: Option<OrgName>,
    /// Its number (第七期 = 7).
    pub period_no: Option<u32>,
    /// First day.
    pub starts_on: Option<NaiveDate>,
    /// Last day.
    pub ends_on: Option<NaiveDate>,
    /// Units enrolled.
    pub units: usize,
    /// Members enrolled.
    pub members: usize,
    /// Contributions collected.
    pub contributions_fen: Fen,
}

/// 医疗互助补助申请摘要: a claim at a glance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ClaimSummary {
    /// The claim id.
    pub aggregate_id: String,
    /// Its version.
    pub version: usize,
    /// `submitted`, `documents_reviewed`, `assessed`, `approved`, `rejected`, `appealed`, `paid`.
    pub status: String,
    /// The status for people.
    pub status_label: String,
    /// The plan period claimed against.
    pub plan_id: Option<Code>,
    /// The subsidy approved (zero until approved).
    pub decided_subsidy_fen: Fen,
    /// Appeals made.
    pub appeals: u32,
}

/// 一日捐活动摘要: a campaign at a glance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CampaignSummary {
    /// The campaign id.
    pub aggregate_id: String,
    /// Its version.
    pub version: usize,
    /// `open` or `closed`.
    pub status: String,
    /// The status for people.
    pub status_label: String,
    /// The campaign's name.
    pub name: Option<OrgName>,
    /// Received, before reversals.
    pub received_fen: Fen,
    /// Reversed.
    pub reversed_fen: Fen,
    /// Received less reversed.
    pub net_received_fen: Fen,
    /// Allocated (approved).
    pub allocated_fen: Fen,
    /// Still free to allocate.
    pub available_fen: Fen,
    /// Donors.
    pub donor_count: u64,
    /// Staff of the participating units.
    pub headcount: u64,
    /// Donors ÷ staff, in basis points.
    pub participation_bp: BasisPoints,
}

/// 资金账户摘要: a fund account at a glance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FundAccountSummary {
    /// The account id.
    pub aggregate_id: String,
    /// Its version.
    pub version: usize,
    /// The fund it holds (fixed by its first appropriation).
    pub fund: Option<Fund>,
    /// The fund for people.
    pub fund_label: Option<String>,
    /// Appropriations recorded (reversed ones included).
    pub appropriations: usize,
    /// Everything appropriated, reversals not deducted.
    pub appropriated_fen: Fen,
    /// Everything reversed.
    pub reversed_fen: Fen,
    /// Appropriated net of reversals.
    pub net_fen: Fen,
}

/// Summaries derived from the aggregates' own state, lists paged over the
/// store's stream ids.
pub struct StreamViews {
    app: Arc<App>,
}

impl StreamViews {
    /// Views over `app`'s store.
    pub fn new(app: Arc<App>) -> StreamViews {
        StreamViews { app }
    }

    async fn load<A: Served + Summarise>(
        &self,
        id: &str,
        lang: Lang,
    ) -> Result<Option<Summary>, ViewError>
    where
        A::Error: ErrorCode,
    {
        let loaded = A::engine(&self.app)
            .load(id)
            .await
            .map_err(|e| ViewError(e.to_string()))?;
        Ok((loaded.version > 0).then(|| loaded.aggregate.summarise(id, loaded.version, lang)))
    }

    async fn summary(
        &self,
        kind: AggregateKind,
        id: &str,
        lang: Lang,
    ) -> Result<Option<Summary>, ViewError> {
        match kind {
            AggregateKind::HardshipFile => self.load::<HardshipFile>(id, lang).await,
            AggregateKind::MutualAidPlan => self.load::<MutualAidPlan>(id, lang).await,
            AggregateKind::MutualAidClaim => self.load::<MutualAidClaim>(id, lang).await,
            AggregateKind::DonationCampaign => self.load::<DonationCampaign>(id, lang).await,
            AggregateKind::FundAccount => self.load::<FundAccount>(id, lang).await,
            AggregateKind::PayoutBatch => {
                self.load::<domain::finance::batch::PayoutBatch>(id, lang)
                    .await
            }
            AggregateKind::AccountingPeriod => {
                self.load::<domain::finance::period::AccountingPeriod>(id, lang)
                    .await
            }
        }
    }
}

#[async_trait::async_trait]
impl CaseViews for StreamViews {
    async fn list(
        &self,
        kind: AggregateKind,
        after: Option<&str>,
        limit: usize,
        lang: Lang,
    ) -> Result<Page<Summary>, ViewError> {
        let ids = self
            .app
            .store
            .streams(kind.aggregate_type())
            .await
            .map_err(|e| ViewError(e.to_string()))?;
        let start = match after {
            Some(after) => ids
                .iter()
                .position(|id| id == after)
                .map_or(ids.len(), |i| i + 1),
            None => 0,
        };
        let page: Vec<&String> = ids.iter().skip(start).take(limit).collect();
        let mut items = Vec::with_capacity(page.len());
        for id in &page {
            if let Some(summary) = self.summary(kind, id, lang).await? {
                items.push(summary);
            }
        }
        let next_after = (start + page.len() < ids.len())
            .then(|| page.last().map(|id| id.to_string()))
            .flatten();
        Ok(Page { items, next_after })
    }

    async fn get(
        &self,
        kind: AggregateKind,
        id: &str,
        lang: Lang,
    ) -> Result<Option<Summary>, ViewError> {
        self.summary(kind, id, lang).await
    }
}

/// Lists paged over the views' rows; summaries from the aggregates.
pub struct ProjectedViews {
    app: Arc<App>,
    streams: StreamViews,
}

impl ProjectedViews {
    /// Views over `app`'s projector (the caller keeps it up to date).
    pub fn new(app: Arc<App>) -> ProjectedViews {
        ProjectedViews {
            streams: StreamViews::new(app.clone()),
            app,
        }
    }

    /// The view row with one row per aggregate of `kind`, keyed by its id,
    /// written by the aggregate's first event.
    fn row_kind(kind: AggregateKind) -> Option<RowKind> {
        match kind {
            AggregateKind::HardshipFile => Some(RowKind::HouseholdFile),
            AggregateKind::MutualAidPlan => Some(RowKind::PlanPeriod),
            AggregateKind::MutualAidClaim => Some(RowKind::PlanClaim),
            AggregateKind::DonationCampaign => Some(RowKind::Campaign),
            AggregateKind::FundAccount
            | AggregateKind::PayoutBatch
            | AggregateKind::AccountingPeriod => None,
        }
    }
}

#[async_trait::async_trait]
impl CaseViews for ProjectedViews {
    async fn list(
        &self,
        kind: AggregateKind,
        after: Option<&str>,
        limit: usize,
        lang: Lang,
    ) -> Result<Page<Summary>, ViewError> {
        let Some(row_kind) = Self::row_kind(kind) else {
            return self.streams.list(kind, after, limit, lang).await;
        };
        let limit = limit.max(1);
        let rows = self
            .app
            .projector
            .views()
            .list(
                Space::Live,
                row_kind,
                &RowFilter::default(),
                after,
                limit.saturating_add(1),
            )
            .await
            .map_err(|e| ViewError(e.to_string()))?;
        let ids: Vec<&str> = rows.iter().take(limit).map(|r| r.key.as_str()).collect();
        let mut items = Vec::with_capacity(ids.len());
        for id in &ids {
            if let Some(summary) = self.streams.summary(kind, id, lang).await? {
                items.push(summary);
            }
        }
        let next_after = (rows.len() > limit)
            .then(|| ids.last().map(|id| id.to_string()))
            .flatten();
        Ok(Page { items, next_after })
    }

    async fn get(
        &self,
        kind: AggregateKind,
        id: &str,
        lang: Lang,
    ) -> Result<Option<Summary>, ViewError> {
        self.streams.summary(kind, id, lang).await
    }

    fn projected(&self) -> bool {
        true
    }
}

/// How an aggregate sums itself up.
pub trait Summarise {
    /// The summary of this state at `version`.
    fn summarise(&self, id: &str, version: usize, lang: Lang) -> Summary;
}

impl Summarise for HardshipFile {
    fn summarise(&self, id: &str, version: usize, lang: Lang) -> Summary {
        let status = match self.status() {
            FileStatus::NotOpened => "not_opened",
            FileStatus::Open { verified: false } => "open",
            FileStatus::Open { verified: true } => "verified",
            FileStatus::Closed(domain::hardship::Closure::NotEligible { .. }) => "not_eligible",
            FileStatus::Closed(_) => "closed",
        };
        Summary::File(FileSummary {
            aggregate_id: id.to_string(),
            version,
            status: status.to_string(),
            status_label: self.status().label(lang).to_string(),
            opened_on: self.opened_on(),
            times_reopened: self.times_reopened(),
            plan_revision: self.plan_revision(),
            measures: self.measures().len(),
            planned_fen: Fen::checked_sum(self.measures().iter().map(|m| m.planned_fen()))
                .expect("invariant broken: a plan's measures are few bounded amounts"),
            paid_fen: self.paid_total_fen(),
            outstanding_grants: self.outstanding_grants_count(),
            visits: self.visits_count(),
            reviews: self.reviews_count(),
        })
    }
}

impl Summarise for MutualAidPlan {
    fn summarise(&self, id: &str, version: usize, lang: Lang) -> Summary {
        let status = self.status();
        Summary::Plan(PlanSummary {
            aggregate_id: id.to_string(),
            version,
            status: match status {
                Some(PlanStatus::Open) => "open",
                Some(PlanStatus::Closed) => "closed",
                None => "not_opened",
            }
            .to_string(),
            status_label: status
                .map(|s| s.label(lang))
                .unwrap_or(lang.pick("未开启", "not opened"))
                .to_string(),
            name: self.name().cloned(),
            period_no: self.period_no(),
            starts_on: self.starts_on(),
            ends_on: self.ends_on(),
            units: self.unit_count(),
            members: self.member_count(),
            contributions_fen: self.total_contributions_fen(),
        })
    }
}

impl Summarise for MutualAidClaim {
    fn summarise(&self, id: &str, version: usize, lang: Lang) -> Summary {
        let status = self.status();
        Summary::Claim(ClaimSummary {
            aggregate_id: id.to_string(),
            version,
            status: status
                .map(ClaimStatus::as_str)
                .unwrap_or("not_submitted")
                .to_string(),
            status_label: status
                .map(|s| s.label(lang))
                .unwrap_or(lang.pick("未提交", "not submitted"))
                .to_string(),
            plan_id: self.plan_id().cloned(),
            decided_subsidy_fen: self.decided_subsidy_fen(),
            appeals: self.appeals(),
        })
    }
}

impl Summarise for DonationCampaign {
    fn summarise(&self, id: &str, version: usize, lang: Lang) -> Summary {
        let status = self.status();
        Summary::Campaign(CampaignSummary {
            aggregate_id: id.to_string(),
            version,
            status: match status {
                CampaignStatus::NotLaunched => "not_launched",
                CampaignStatus::Open => "open",
                CampaignStatus::Closed => "closed",
            }
            .to_string(),
            status_label: status.label(lang).to_string(),
            name: self.profile().map(|p| p.name.clone()),
            received_fen: self.received_fen(),
            reversed_fen: self.reversed_fen(),
            net_received_fen: self.net_received_fen(),
            allocated_fen: self.allocated_fen(),
            available_fen: self.available_fen(),
            donor_count: self.donor_count(),
            headcount: self.total_headcount(),
            participation_bp: self.participation(),
        })
    }
}

impl Summarise for FundAccount {
    fn summarise(&self, id: &str, version: usize, lang: Lang) -> Summary {
        Summary::FundAccount(FundAccountSummary {
            aggregate_id: id.to_string(),
            version,
            fund: self.fund(),
            fund_label: self.fund().map(|f| f.label(lang).to_string()),
            appropriations: self.appropriations().count(),
            appropriated_fen: self.appropriated_fen(),
            reversed_fen: self.reversed_fen(),
            net_fen: self.net_fen(),
        })
    }
}
