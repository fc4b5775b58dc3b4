//! The hardship file (困难职工档案): one per household, opened by a
//! caseworker, verified after a home visit, carried out through a plan of
//! measures that grants are paid against, reviewed, closed and reopened.
//!
//! It exists so that aid is *targeted* rather than "sprinkled like sesame
//! salt" (撒芝麻盐): every payout traces to an approved grant, every grant
//! to a measure in the plan of a verified household, and every measure's
//! money is bounded by what the plan set aside. The rules:
//!
//! - one open file per head of household's resident ID (services check plus
//!   the store's `open_file_by_resident` reservation);
//! - no verification without a verification visit since the file was
//!   (re)opened, and not by whoever (re)opened it (four-eyes);
//! - no plan and no grant before verification; a reopened file must be
//!   verified again, and keeps its old plan as history;
//! - a grant is approved by someone other than its requester, paid at most
//!   once, by bank transfer or in cash at a visit against a signature;
//! - a file with grants pending or approved-unpaid cannot be closed.
//!
//! Aggregate id: the file id, chosen by the caller.

mod commands;
mod error;
mod events;
mod services;
#[cfg(test)]
mod tests;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};

pub use commands::*;
pub use error::HardshipFileError;
pub use events::{HardshipFileEvent, PaymentMethod};
pub use services::HardshipFileServices;

use crate::command::{Cmd, CommandContext};
use crate::fund::Fund;
use crate::i18n::Lang;
use crate::values::{Code, Fen, ResidentId, ShortText};

/// The aggregate type name, stable forever.
pub const TYPE: &str = "hardship_file";

/// Where a file stands.
#[derive(Default, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum FileStatus {
    /// No `FileOpened` yet.
    #[default]
    NotOpened,
    /// 在档: open; `verified` once an approver confirmed it (again, after a reopening).
    Open {
        /// Whether the household is verified since it was last (re)opened.
        verified: bool,
    },
    /// 已关闭: closed, either at verification or by a closure.
    Closed(Closure),
}

impl FileStatus {
    /// The status's name for people.
    pub fn label(&self, lang: Lang) -> &'static str {
        match self {
            FileStatus::NotOpened => lang.pick("未建档", "not opened"),
            FileStatus::Open { verified: false } => lang.pick("在档待核实", "open, to be verified"),
            FileStatus::Open { verified: true } => lang.pick("在档已核实", "open, verified"),
            FileStatus::Closed(Closure::NotEligible { .. }) => {
                lang.pick("核查未通过", "closed: not eligible")
            }
            FileStatus::Closed(Closure::Ended { .. }) => lang.pick("已结档", "closed"),
        }
    }
}

/// How a file came to be closed.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Closure {
    /// Rejected at verification: the household does not qualify.
    NotEligible {
        /// Why.
        reason: ShortText,
    },
    /// Closed by `CloseFile`.
    Ended {
        /// Why.
        reason: ClosureReason,
        /// Details.
        note: ShortText,
    },
}

/// What the file keeps of a visit (findings stay in the event, so a
/// snapshot of a file with hundreds of visits stays small).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct VisitSummary {
    /// Unique within the file.
    pub visit_id: Code,
    /// The day of the visit.
    pub visited_on: NaiveDate,
    /// Its kind.
    pub kind: VisitKind,
    /// Whether a contact card was handed over.
    pub contact_card_issued: bool,
    /// The cash grant paid at the visit, if any.
    pub cash_grant_id: Option<Code>,
}

/// The assistance plan (帮扶计划) in its latest revision.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Plan {
    /// 1 when adopted, +1 per revision.
    pub revision: u32,
    /// What the plan is meant to achieve.
    pub goal: ShortText,
    /// The measures of the latest revision, in the order given.
    pub measures: Vec<Measure>,
    /// When the plan was first adopted (absent in states saved before it was kept).
    #[serde(default)]
    pub adopted_at: Option<DateTime<Utc>>,
}

/// One measure of the plan and the money against it.
///
/// `pending_fen + approved_fen + paid_fen` is committed; the rest of
/// `planned_amount_fen` is what new grants may still ask for.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Measure {
    /// As adopted or last revised.
    pub spec: MeasureSpec,
    /// Requested, awaiting approval.
    pub pending_fen: Fen,
    /// Approved, not yet paid.
    pub approved_fen: Fen,
    /// Paid.
    pub paid_fen: Fen,
    /// 已办结.
    pub completed: bool,
}

impl Measure {
    fn new(spec: MeasureSpec) -> Measure {
        Measure {
            spec,
            pending_fen: Fen::ZERO,
            approved_fen: Fen::ZERO,
            paid_fen: Fen::ZERO,
            completed: false,
        }
    }

    /// The measure id.
    pub fn id(&self) -> &Code {
        &self.spec.measure_id
    }

    /// Planned amount.
    pub fn planned_fen(&self) -> Fen {
        self.spec.planned_amount_fen
    }

    fn try_committed(&self) -> Result<Fen, HardshipFileError> {
        Fen::checked_sum([self.pending_fen, self.approved_fen, self.paid_fen])
            .map_err(|_| HardshipFileError::AmountOverflow)
    }

    /// Pending + approved + paid.
    pub fn committed_fen(&self) -> Fen {
        self.try_committed()
            .expect("invariant broken: handle refuses grants that overflow a measure's commitments")
    }

    /// What new grants may still ask for: planned − committed (never below zero).
    pub fn remaining_fen(&self) -> Fen {
        self.planned_fen().room_after(self.committed_fen())
    }

    /// Whether grants are pending or approved but unpaid.
    pub fn has_outstanding_grants(&self) -> bool {
        !self.pending_fen.is_zero() || !self.approved_fen.is_zero()
    }
}

/// Where a grant stands.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum GrantStatus {
    /// 待审批.
    Pending,
    /// 已审批待发放.
    Approved {
        /// The approver.
        approved_by: Code,
        /// When (absent in states saved before it was kept).
        #[serde(default)]
        approved_at: Option<DateTime<Utc>>,
    },
    /// 不予发放.
    Declined {
        /// Why.
        reason: ShortText,
        /// Who declined it.
        declined_by: Code,
    },
    /// 已发放.
    Paid {
        /// The approver.
        approved_by: Code,
        /// How it was paid.
        method: PaymentMethod,
        /// When the household received it.
        paid_on: NaiveDate,
    },
}

impl GrantStatus {
    /// The status's name for people.
    pub fn label(&self, lang: Lang) -> &'static str {
        match self {
            GrantStatus::Pending => lang.pick("待审批", "pending approval"),
            GrantStatus::Approved { .. } => lang.pick("已审批待发放", "approved, unpaid"),
            GrantStatus::Declined { .. } => lang.pick("不予发放", "declined"),
            GrantStatus::Paid { .. } => lang.pick("已发放", "paid"),
        }
    }

    /// Pending, or approved and unpaid: blocks closing the file.
    pub fn is_outstanding(&self) -> bool {
        matches!(self, GrantStatus::Pending | GrantStatus::Approved { .. })
    }
}

/// A grant (发放) against one measure.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Grant {
    /// Unique within the file.
    pub grant_id: Code,
    /// The measure it is for.
    pub measure_id: Code,
    /// How much.
    pub amount_fen: Fen,
    /// The measure's fund at the time of the request.
    pub fund: Fund,
    /// Who receives it and how.
    pub payee: Payee,
    /// Remark.
    pub note: Option<ShortText>,
    /// Who asked.
    pub requested_by: Code,
    /// When.
    pub requested_at: DateTime<Utc>,
    /// Where it stands.
    pub status: GrantStatus,
}

/// The latest periodic review.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct ReviewSummary {
    /// The day of the review.
    pub reviewed_on: NaiveDate,
    /// The finding.
    pub outcome: ReviewOutcome,
    /// When to review next.
    pub next_review_on: NaiveDate,
}

/// A hardship file: the aggregate.
#[derive(Default, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct HardshipFile {
    status: FileStatus,
    household: Option<Household>,
    opened_on: Option<NaiveDate>,
    /// Who opened or last reopened the file: may not verify it.
    opened_by: Option<Code>,
    /// A verification visit was logged since the file was last (re)opened:
    /// a reopened household is verified afresh, not on an old visit.
    verification_visit_since_open: bool,
    visits: Vec<VisitSummary>,
    plan: Option<Plan>,
    grants: Vec<Grant>,
    reviews_count: usize,
    last_review: Option<ReviewSummary>,
    times_reopened: u32,
}

// ---- read accessors (CLI, demo, services) -------------------------------

impl HardshipFile {
    /// Where the file stands.
    pub fn status(&self) -> &FileStatus {
        &self.status
    }

    /// Open (verified or not).
    pub fn is_open(&self) -> bool {
        matches!(self.status, FileStatus::Open { .. })
    }

    /// Open and verified.
    pub fn is_verified(&self) -> bool {
        matches!(self.status, FileStatus::Open { verified: true })
    }

    /// The household as recorded at opening.
    pub fn household(&self) -> Option<&Household> {
        self.household.as_ref()
    }

    /// The head of household's resident ID.
    pub fn head_resident_id(&self) -> Option<&ResidentId> {
        self.household.as_ref().map(|h| &h.head.resident_id)
    }

    /// The opening date on the paper file.
    pub fn opened_on(&self) -> Option<NaiveDate> {
        self.opened_on
    }

    /// How many times the file was reopened.
    pub fn times_reopened(&self) -> u32 {
        self.times_reopened
    }

    /// The plan, if adopted.
    pub fn plan(&self) -> Option<&Plan> {
        self.plan.as_ref()
    }

    /// The plan's revision; 0 without a plan.
    pub fn plan_revision(&self) -> u32 {
        self.plan.as_ref().map_or(0, |p| p.revision)
    }

    /// The measures of the latest plan revision (empty without a plan).
    pub fn measures(&self) -> &[Measure] {
        self.plan.as_ref().map_or(&[], |p| p.measures.as_slice())
    }

    /// One measure of the latest plan revision.
    pub fn measure(&self, measure_id: &Code) -> Option<&Measure> {
        self.measures().iter().find(|m| m.id() == measure_id)
    }

    /// All grants, in request order.
    pub fn grants(&self) -> &[Grant] {
        &self.grants
    }

    /// One grant.
    pub fn grant(&self, grant_id: &Code) -> Option<&Grant> {
        self.grants.iter().find(|g| &g.grant_id == grant_id)
    }

    /// Grants pending or approved but unpaid.
    pub fn outstanding_grants_count(&self) -> usize {
        self.grants
            .iter()
            .filter(|g| g.status.is_outstanding())
            .count()
    }

    /// Everything paid on this file.
    pub fn paid_total_fen(&self) -> Fen {
        Fen::checked_sum(self.grants.iter().filter_map(|g| match g.status {
            GrantStatus::Paid { .. } => Some(g.amount_fen),
            _ => None,
        }))
        .expect("invariant broken: a file's payments are bounded by its measures' planned amounts")
    }

    /// The visits, in the order logged.
    pub fn visits(&self) -> &[VisitSummary] {
        &self.visits
    }

    /// How many visits were logged.
    pub fn visits_count(&self) -> usize {
        self.visits.len()
    }

    /// How many reviews were recorded.
    pub fn reviews_count(&self) -> usize {
        self.reviews_count
    }

    /// The latest review.
    pub fn last_review(&self) -> Option<&ReviewSummary> {
        self.last_review.as_ref()
    }

    fn measure_mut(&mut self, measure_id: &Code) -> Option<&mut Measure> {
        self.plan
            .as_mut()
            .and_then(|p| p.measures.iter_mut().find(|m| m.id() == measure_id))
    }

    fn grant_mut(&mut self, grant_id: &Code) -> Option<&mut Grant> {
        self.grants.iter_mut().find(|g| &g.grant_id == grant_id)
    }
}

// ---- rules ---------------------------------------------------------------

type E = HardshipFileError;

fn today(ctx: &CommandContext) -> NaiveDate {
    ctx.business_date()
}

/// A grant is paid on or after the day it was approved (business time).
fn check_paid_after_approval(
    ctx: &CommandContext,
    status: &GrantStatus,
    paid_on: NaiveDate,
) -> Result<(), E> {
    if let GrantStatus::Approved {
        approved_at: Some(approved_at),
        ..
    } = status
    {
        let approved_on = ctx.date_of(*approved_at);
        if paid_on < approved_on {
            return Err(E::PaidBeforeApproval {
                paid_on,
                approved_on,
            });
        }
    }
    Ok(())
}

/// No measure of a plan is due before the day the plan was adopted.
fn check_due_after_adoption(measures: &[MeasureSpec], adopted_on: NaiveDate) -> Result<(), E> {
    match measures.iter().find(|m| m.due_on < adopted_on) {
        Some(m) => Err(E::MeasureDueBeforeAdoption {
            measure_id: m.measure_id.clone(),
            due_on: m.due_on,
            adopted_on,
        }),
        None => Ok(()),
    }
}

impl HardshipFile {
    fn require_open(&self) -> Result<(), E> {
        match self.status {
            FileStatus::NotOpened => Err(E::NotOpened),
            FileStatus::Closed(_) => Err(E::FileClosed),
            FileStatus::Open { .. } => Ok(()),
        }
    }

    fn require_verified(&self) -> Result<(), E> {
        self.require_open()?;
        if self.is_verified() {
            Ok(())
        } else {
            Err(E::NotVerified)
        }
    }

    fn check_household(household: &Household, opened_on: NaiveDate) -> Result<(), E> {
        if household.causes.is_empty() {
            return Err(E::NoCauses);
        }
        if let Some(cause) = first_repeat(&household.causes) {
            return Err(E::DuplicateCause { cause: *cause });
        }
        if household.members.len() > MAX_MEMBERS {
            return Err(E::TooManyMembers {
                max: MAX_MEMBERS,
                actual: household.members.len(),
            });
        }
        let latest_year = u16::try_from(opened_on.year()).unwrap_or(u16::MAX);
        for (i, m) in household.members.iter().enumerate() {
            if m.birth_year < MIN_BIRTH_YEAR || m.birth_year > latest_year {
                return Err(E::BadBirthYear {
                    position: i.saturating_add(1),
                    birth_year: m.birth_year,
                });
            }
        }
        Ok(())
    }

    async fn ensure_resident_free(
        services: &dyn HardshipFileServices,
        resident_id: &ResidentId,
    ) -> Result<(), E> {
        match services.open_file_for_resident(resident_id).await? {
            Some(file_id) => Err(E::ResidentHasOpenFile { file_id }),
            None => Ok(()),
        }
    }

    /// Shape checks shared by adoption and revision.
    fn check_measures(measures: &[MeasureSpec]) -> Result<(), E> {
        if measures.is_empty() {
            return Err(E::NoMeasures);
        }
        if measures.len() > MAX_MEASURES {
            return Err(E::TooManyMeasures {
                max: MAX_MEASURES,
                actual: measures.len(),
            });
        }
        let ids: Vec<&Code> = measures.iter().map(|m| &m.measure_id).collect();
        if let Some(id) = first_repeat(&ids) {
            return Err(E::DuplicateMeasure {
                measure_id: (*id).clone(),
            });
        }
        if let Some(m) = measures
            .iter()
            .find(|m| m.kind.is_monetary() && m.planned_amount_fen.is_zero())
        {
            return Err(E::AmountMustBePositive {
                measure_id: m.measure_id.clone(),
            });
        }
        Fen::checked_sum(measures.iter().map(|m| m.planned_amount_fen))
            .map_err(|_| E::AmountOverflow)?;
        Ok(())
    }

    /// What a revision may not do to measures already carried out or paid from.
    fn check_revision_keeps_commitments(&self, new: &[MeasureSpec]) -> Result<(), E> {
        for old in self.measures() {
            let replacement = new.iter().find(|m| m.measure_id == *old.id());
            if old.completed {
                if replacement != Some(&old.spec) {
                    return Err(E::MeasureCompleted {
                        measure_id: old.id().clone(),
                    });
                }
                continue;
            }
            let committed = old.try_committed()?;
            if committed.is_zero() {
                continue;
            }
            let Some(spec) = replacement else {
                return Err(E::MeasureInUse {
                    measure_id: old.id().clone(),
                });
            };
            if spec.fund != old.spec.fund || spec.kind != old.spec.kind {
                return Err(E::MeasureInUse {
                    measure_id: old.id().clone(),
                });
            }
            if spec.planned_amount_fen < committed {
                return Err(E::PlannedBelowCommitted {
                    measure_id: old.id().clone(),
                    committed_fen: committed,
                });
            }
        }
        Ok(())
    }

    fn find_grant(&self, grant_id: &Code) -> Result<&Grant, E> {
        self.grant(grant_id).ok_or_else(|| E::UnknownGrant {
            grant_id: grant_id.clone(),
        })
    }

    fn find_measure(&self, measure_id: &Code) -> Result<&Measure, E> {
        self.measure(measure_id).ok_or_else(|| E::UnknownMeasure {
            measure_id: measure_id.clone(),
        })
    }

    /// Decides the events for one command. Pure except for the resident-ID
    /// lookup of opening and reopening, which runs after every other check.
    async fn decide(
        &self,
        ctx: &CommandContext,
        body: HardshipFileCommand,
        services: &dyn HardshipFileServices,
    ) -> Result<Vec<HardshipFileEvent>, E> {
        use HardshipFileCommand as C;
        use HardshipFileEvent as Ev;
        let actor = &ctx.actor.id;
        let now = ctx.recorded_at;
        Ok(match body {
            C::OpenFile {
                household,
                opened_on,
            } => {
                if self.status != FileStatus::NotOpened {
                    return Err(E::AlreadyOpened);
                }
                Self::check_household(&household, opened_on)?;
                if opened_on > today(ctx) {
                    return Err(E::OpenedInFuture { opened_on });
                }
                Self::ensure_resident_free(services, &household.head.resident_id).await?;
                vec![Ev::FileOpened {
                    household,
                    opened_on,
                    opened_by: actor.clone(),
                    opened_at: now,
                }]
            }

            C::LogVisit {
                visit_id,
                visited_on,
                kind,
                caseworkers,
                findings,
                facts_verified,
                contact_card_issued,
                cash_handover,
            } => {
                self.require_open()?;
                if self.visits.len() >= MAX_VISITS {
                    return Err(E::TooManyVisits { max: MAX_VISITS });
                }
                if self.visits.iter().any(|v| v.visit_id == visit_id) {
                    return Err(E::DuplicateVisit { visit_id });
                }
                if visited_on > today(ctx) {
                    return Err(E::VisitInFuture { visited_on });
                }
                if let Some(opened_on) = self.opened_on.filter(|o| visited_on < *o) {
                    return Err(E::VisitBeforeOpening {
                        visited_on,
                        opened_on,
                    });
                }
                if caseworkers.is_empty() {
                    return Err(E::NoCaseworkers);
                }
                if caseworkers.len() > MAX_CASEWORKERS {
                    return Err(E::TooManyCaseworkers {
                        max: MAX_CASEWORKERS,
                        actual: caseworkers.len(),
                    });
                }
                if let Some(position) = first_repeat_position(&caseworkers) {
                    return Err(E::DuplicateCaseworker { position });
                }
                if let Some(fact) = first_repeat(&facts_verified) {
                    return Err(E::DuplicateFact { fact: *fact });
                }
                let payment = match &cash_handover {
                    None => None,
                    Some(cash) => {
                        let grant = self.find_grant(&cash.grant_id)?;
                        match grant.status {
                            GrantStatus::Approved { .. } => {}
                            GrantStatus::Paid { .. } => {
                                return Err(E::GrantAlreadyPaid {
                                    grant_id: grant.grant_id.clone(),
                                })
                            }
                            GrantStatus::Pending | GrantStatus::Declined { .. } => {
                                return Err(E::GrantNotApproved {
                                    grant_id: grant.grant_id.clone(),
                                })
                            }
                        }
                        check_paid_after_approval(ctx, &grant.status, visited_on)?;
                        let payable_in_cash = grant.payee == Payee::Cash;
                        if !payable_in_cash || cash.amount_fen != grant.amount_fen {
                            return Err(E::CashGrantMismatch {
                                grant_id: grant.grant_id.clone(),
                                grant_amount_fen: grant.amount_fen,
                                payable_in_cash,
                            });
                        }
                        Some(Ev::GrantPaid {
                            grant_id: grant.grant_id.clone(),
                            measure_id: grant.measure_id.clone(),
                            amount_fen: grant.amount_fen,
                            fund: grant.fund,
                            method: PaymentMethod::Cash {
                                visit_id: visit_id.clone(),
                                signed_by: cash.signed_by.clone(),
                            },
                            paid_on: visited_on,
                            recorded_by: actor.clone(),
                            recorded_at: now,
                        })
                    }
                };
                let mut events = vec![Ev::VisitLogged {
                    visit_id,
                    visited_on,
                    kind,
                    caseworkers,
                    findings,
                    facts_verified,
                    contact_card_issued,
                    cash_handover,
                    logged_by: actor.clone(),
                    logged_at: now,
                }];
                events.extend(payment);
                events
            }

            C::Verify { outcome } => {
                self.require_open()?;
                if self.is_verified() {
                    return Err(E::AlreadyVerified);
                }
                if !self.verification_visit_since_open {
                    return Err(E::NoVerificationVisit);
                }
                if self.opened_by.as_ref() == Some(actor) {
                    return Err(E::FourEyes);
                }
                match outcome {
                    VerificationOutcome::Confirmed { note } => vec![Ev::FileVerified {
                        note,
                        verified_by: actor.clone(),
                        verified_at: now,
                    }],
                    VerificationOutcome::Rejected { reason } => {
                        let Some(resident_id) = self.head_resident_id().cloned() else {
                            return Err(E::NotOpened);
                        };
                        vec![Ev::VerificationRejected {
                            reason,
                            resident_id,
                            rejected_by: actor.clone(),
                            rejected_at: now,
                        }]
                    }
                }
            }

            C::AdoptPlan { goal, measures } => {
                self.require_verified()?;
                if self.plan.is_some() {
                    return Err(E::PlanExists);
                }
                Self::check_measures(&measures)?;
                check_due_after_adoption(&measures, today(ctx))?;
                vec![Ev::PlanAdopted {
                    revision: 1,
                    goal,
                    measures,
                    adopted_by: actor.clone(),
                    adopted_at: now,
                }]
            }

            C::RevisePlan {
                reason,
                goal,
                measures,
            } => {
                self.require_verified()?;
                let Some(plan) = &self.plan else {
                    return Err(E::NoPlan);
                };
                if plan.revision >= MAX_PLAN_REVISIONS {
                    return Err(E::TooManyRevisions {
                        max: MAX_PLAN_REVISIONS,
                    });
                }
                Self::check_measures(&measures)?;
                if let Some(adopted_at) = plan.adopted_at {
                    check_due_after_adoption(&measures, ctx.date_of(adopted_at))?;
                }
                self.check_revision_keeps_commitments(&measures)?;
                vec![Ev::PlanRevised {
                    revision: plan.revision.saturating_add(1),
                    reason,
                    goal,
                    measures,
                    revised_by: actor.clone(),
                    revised_at: now,
                }]
            }

            C::RequestGrant {
                grant_id,
                measure_id,
                amount_fen,
                payee,
                note,
            } => {
                self.require_verified()?;
                if self.grants.len() >= MAX_GRANTS {
                    return Err(E::TooManyGrants { max: MAX_GRANTS });
                }
                if self.grant(&grant_id).is_some() {
                    return Err(E::DuplicateGrant { grant_id });
                }
                let measure = self.find_measure(&measure_id)?;
                if measure.completed {
                    return Err(E::MeasureCompleted { measure_id });
                }
                if amount_fen.is_zero() {
                    return Err(E::AmountMustBePositive { measure_id });
                }
                let remaining = measure.planned_fen().room_after(measure.try_committed()?);
                if amount_fen > remaining {
                    return Err(E::ExceedsMeasureRemaining {
                        measure_id,
                        remaining_fen: remaining,
                    });
                }
                vec![Ev::GrantRequested {
                    grant_id,
                    fund: measure.spec.fund,
                    measure_id,
                    amount_fen,
                    payee,
                    requested_by: actor.clone(),
                    requested_at: now,
                    note,
                }]
            }

            C::ApproveGrant { grant_id } => {
                self.require_open()?;
                let grant = self.find_grant(&grant_id)?;
                if grant.status != GrantStatus::Pending {
                    return Err(E::GrantNotPending { grant_id });
                }
                if &grant.requested_by == actor {
                    return Err(E::FourEyes);
                }
                vec![Ev::GrantApproved {
                    measure_id: grant.measure_id.clone(),
                    amount_fen: grant.amount_fen,
                    fund: grant.fund,
                    grant_id,
                    approved_by: actor.clone(),
                    approved_at: now,
                }]
            }

            C::DeclineGrant { grant_id, reason } => {
                self.require_open()?;
                let grant = self.find_grant(&grant_id)?;
                if grant.status != GrantStatus::Pending {
                    return Err(E::GrantNotPending { grant_id });
                }
                vec![Ev::GrantDeclined {
                    measure_id: grant.measure_id.clone(),
                    amount_fen: grant.amount_fen,
                    grant_id,
                    reason,
                    declined_by: actor.clone(),
                    declined_at: now,
                }]
            }

            C::RecordGrantPaid {
                grant_id,
                paid_on,
                reference,
            } => {
                self.require_open()?;
                let grant = self.find_grant(&grant_id)?;
                match grant.status {
                    GrantStatus::Approved { .. } => {}
                    GrantStatus::Paid { .. } => return Err(E::GrantAlreadyPaid { grant_id }),
                    GrantStatus::Pending | GrantStatus::Declined { .. } => {
                        return Err(E::GrantNotApproved { grant_id })
                    }
                }
                if grant.payee == Payee::Cash {
                    return Err(E::CashGrantNeedsVisit { grant_id });
                }
                if paid_on > today(ctx) {
                    return Err(E::PaidInFuture { paid_on });
                }
                check_paid_after_approval(ctx, &grant.status, paid_on)?;
                vec![Ev::GrantPaid {
                    measure_id: grant.measure_id.clone(),
                    amount_fen: grant.amount_fen,
                    fund: grant.fund,
                    grant_id,
                    method: PaymentMethod::BankTransfer { reference },
                    paid_on,
                    recorded_by: actor.clone(),
                    recorded_at: now,
                }]
            }

            C::CompleteMeasure { measure_id, note } => {
                self.require_open()?;
                let measure = self.find_measure(&measure_id)?;
                if measure.completed {
                    return Err(E::MeasureCompleted { measure_id });
                }
                if measure.has_outstanding_grants() {
                    return Err(E::MeasureHasOutstandingGrants { measure_id });
                }
                vec![Ev::MeasureCompleted {
                    planned_amount_fen: measure.planned_fen(),
                    paid_fen: measure.paid_fen,
                    measure_id,
                    note,
                    completed_by: actor.clone(),
                    completed_at: now,
                }]
            }

            C::RecordReview {
                reviewed_on,
                outcome,
                note,
                next_review_on,
            } => {
                self.require_verified()?;
                if self.reviews_count >= MAX_REVIEWS {
                    return Err(E::TooManyReviews { max: MAX_REVIEWS });
                }
                if reviewed_on > today(ctx) {
                    return Err(E::ReviewInFuture { reviewed_on });
                }
                if next_review_on <= reviewed_on {
                    return Err(E::BadReviewDate);
                }
                vec![Ev::ReviewRecorded {
                    reviewed_on,
                    outcome,
                    note,
                    next_review_on,
                    reviewed_by: actor.clone(),
                    recorded_at: now,
                }]
            }

            C::CloseFile { reason, note } => {
                self.require_open()?;
                let count = self.outstanding_grants_count();
                if count > 0 {
                    return Err(E::OutstandingGrants { count });
                }
                let Some(resident_id) = self.head_resident_id().cloned() else {
                    return Err(E::NotOpened);
                };
                vec![Ev::FileClosed {
                    reason,
                    note,
                    resident_id,
                    closed_by: actor.clone(),
                    closed_at: now,
                }]
            }

            C::ReopenFile { reason } => {
                match self.status {
                    FileStatus::NotOpened => return Err(E::NotOpened),
                    FileStatus::Open { .. } => return Err(E::FileNotClosed),
                    FileStatus::Closed(_) => {}
                }
                let Some(resident_id) = self.head_resident_id().cloned() else {
                    return Err(E::NotOpened);
                };
                Self::ensure_resident_free(services, &resident_id).await?;
                vec![Ev::FileReopened {
                    reason,
                    resident_id,
                    reopened_by: actor.clone(),
                    reopened_at: now,
                }]
            }
        })
    }
}

/// The first element equal to an earlier one.
fn first_repeat<T: PartialEq>(items: &[T]) -> Option<&T> {
    first_repeat_position(items).and_then(|p| items.get(p.saturating_sub(1)))
}

/// Invariants of a measure's money, asserted in `apply`: a grant is pending,
/// then approved or declined, then paid; each step moves exactly its amount,
/// and the handler refused any grant that would overflow the measure.
const PENDING: &str = "a measure's pending total holds each pending grant once";
/// See [`PENDING`].
const APPROVED: &str = "a measure's approved total holds each approved, unpaid grant once";
/// See [`PENDING`].
const PAID: &str = "a measure's paid total is bounded by its planned amount";

/// The 1-based position of the first element equal to an earlier one.
fn first_repeat_position<T: PartialEq>(items: &[T]) -> Option<usize> {
    items
        .iter()
        .enumerate()
        .find(|(i, x)| items.iter().take(*i).any(|y| y == *x))
        .map(|(i, _)| i.saturating_add(1))
}

impl Aggregate for HardshipFile {
    const TYPE: &'static str = TYPE;
    type Command = Cmd<HardshipFileCommand>;
    type Event = HardshipFileEvent;
    type Error = HardshipFileError;
    type Services = std::sync::Arc<dyn HardshipFileServices>;

    async fn handle(
        &mut self,
        command: Self::Command,
        services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        let Cmd { ctx, body } = command;
        // Every rule is checked before the first event is written.
        let events = self.decide(&ctx, body, services.as_ref()).await?;
        for event in events {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        use HardshipFileEvent as Ev;
        // Events were validated by `handle`; a lookup that misses (which a
        // valid history never produces) leaves the state unchanged.
        match event {
            Ev::FileOpened {
                household,
                opened_on,
                opened_by,
                ..
            } => {
                self.status = FileStatus::Open { verified: false };
                self.household = Some(household);
                self.opened_on = Some(opened_on);
                self.opened_by = Some(opened_by);
                self.verification_visit_since_open = false;
            }
            Ev::VisitLogged {
                visit_id,
                visited_on,
                kind,
                contact_card_issued,
                cash_handover,
                ..
            } => {
                if kind == VisitKind::Verification {
                    self.verification_visit_since_open = true;
                }
                self.visits.push(VisitSummary {
                    visit_id,
                    visited_on,
                    kind,
                    contact_card_issued,
                    cash_grant_id: cash_handover.map(|c| c.grant_id),
                });
            }
            Ev::FileVerified { .. } => {
                self.status = FileStatus::Open { verified: true };
            }
            Ev::VerificationRejected { reason, .. } => {
                self.status = FileStatus::Closed(Closure::NotEligible { reason });
            }
            Ev::PlanAdopted {
                revision,
                goal,
                measures,
                adopted_at,
                ..
            } => {
                self.plan = Some(Plan {
                    revision,
                    goal,
                    measures: measures.into_iter().map(Measure::new).collect(),
                    adopted_at: Some(adopted_at),
                });
            }
            Ev::PlanRevised {
                revision,
                goal,
                measures,
                ..
            } => {
                let (old, adopted_at) = self
                    .plan
                    .take()
                    .map(|p| (p.measures, p.adopted_at))
                    .unwrap_or_default();
                let measures = measures
                    .into_iter()
                    .map(
                        |spec| match old.iter().find(|m| m.spec.measure_id == spec.measure_id) {
                            Some(prev) => Measure {
                                spec,
                                ..prev.clone()
                            },
                            None => Measure::new(spec),
                        },
                    )
                    .collect();
                self.plan = Some(Plan {
                    revision,
                    goal,
                    measures,
                    adopted_at,
                });
            }
            Ev::GrantRequested {
                grant_id,
                measure_id,
                amount_fen,
                fund,
                payee,
                requested_by,
                requested_at,
                note,
            } => {
                let m = self
                    .measure_mut(&measure_id)
                    .expect("invariant: a grant names a measure of the plan");
                m.pending_fen = m.pending_fen.add_asserted(amount_fen, PENDING);
                self.grants.push(Grant {
                    grant_id,
                    measure_id,
                    amount_fen,
                    fund,
                    payee,
                    note,
                    requested_by,
                    requested_at,
                    status: GrantStatus::Pending,
                });
            }
            Ev::GrantApproved {
                grant_id,
                measure_id,
                amount_fen,
                approved_by,
                approved_at,
                ..
            } => {
                let m = self
                    .measure_mut(&measure_id)
                    .expect("invariant: a grant names a measure of the plan");
                m.pending_fen = m.pending_fen.sub_asserted(amount_fen, PENDING);
                m.approved_fen = m.approved_fen.add_asserted(amount_fen, APPROVED);
                if let Some(g) = self.grant_mut(&grant_id) {
                    g.status = GrantStatus::Approved {
                        approved_by,
                        approved_at: Some(approved_at),
                    };
                }
            }
            Ev::GrantDeclined {
                grant_id,
                measure_id,
                amount_fen,
                reason,
                declined_by,
                ..
            } => {
                let m = self
                    .measure_mut(&measure_id)
                    .expect("invariant: a grant names a measure of the plan");
                m.pending_fen = m.pending_fen.sub_asserted(amount_fen, PENDING);
                if let Some(g) = self.grant_mut(&grant_id) {
                    g.status = GrantStatus::Declined {
                        reason,
                        declined_by,
                    };
                }
            }
            Ev::GrantPaid {
                grant_id,
                measure_id,
                amount_fen,
                method,
                paid_on,
                ..
            } => {
                let m = self
                    .measure_mut(&measure_id)
                    .expect("invariant: a grant names a measure of the plan");
                m.approved_fen = m.approved_fen.sub_asserted(amount_fen, APPROVED);
                m.paid_fen = m.paid_fen.add_asserted(amount_fen, PAID);
                if let Some(g) = self.grant_mut(&grant_id) {
                    let approved_by = match &g.status {
                        GrantStatus::Approved { approved_by, .. } => approved_by.clone(),
                        _ => g.requested_by.clone(),
                    };
                    g.status = GrantStatus::Paid {
                        approved_by,
                        method,
                        paid_on,
                    };
                }
            }
            Ev::MeasureCompleted { measure_id, .. } => {
                if let Some(m) = self.measure_mut(&measure_id) {
                    m.completed = true;
                }
            }
            Ev::ReviewRecorded {
                reviewed_on,
                outcome,
                next_review_on,
                ..
            } => {
                self.reviews_count = self
                    .reviews_count
                    .checked_add(1)
                    .expect("invariant broken: reviews are bounded by days");
                self.last_review = Some(ReviewSummary {
                    reviewed_on,
                    outcome,
                    next_review_on,
                });
            }
            Ev::FileClosed { reason, note, .. } => {
                self.status = FileStatus::Closed(Closure::Ended { reason, note });
            }
            Ev::FileReopened { reopened_by, .. } => {
                self.status = FileStatus::Open { verified: false };
                self.opened_by = Some(reopened_by);
                self.verification_visit_since_open = false;
                self.times_reopened = self
                    .times_reopened
                    .checked_add(1)
                    .expect("invariant broken: reopenings are bounded by closings");
            }
        }
    }
}

// ---- sample data for tests and demos --------------------------------------

#[cfg(any(test, feature = "testing"))]
mod samples;
#[cfg(any(test, feature = "testing"))]
pub use samples::{sample_events, sample_household, sample_open_file};
