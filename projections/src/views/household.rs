//! The household file view (一户一档): everything a caseworker or auditor
//! reads about one hardship file on one page — the household (IDs and phone
//! masked), status, causes, the visits timeline, the plan and its revisions,
//! each measure's planned / requested / approved / paid amounts, the grants,
//! the next review date and the closure.
//!
//! One row per file, built only from that file's events. A visit's findings
//! stay in the history: they are free text about health and income, and the
//! timeline needs only when, who, what kind, and what was handed over.
//!
//! Amounts per measure are cumulative stages of the same money: `requested`
//! is every grant asked for and not declined, `approved` every grant
//! approved (paid ones included), `paid` every grant paid; so
//! `requested ≥ approved ≥ paid`, and `remaining = planned − requested`.

use chrono::{DateTime, NaiveDate, Utc};
use domain::fund::Fund;
use domain::hardship::{
    ClosureReason, HardshipCause, HardshipFileEvent, Health, MeasureKind, MeasureSpec, Payee,
    PaymentMethod, Relation, ReviewOutcome, Schooling, VerifiedFact, VisitKind,
};
use domain::i18n::Lang;
use domain::values::Fen;
use serde::{Deserialize, Serialize};

use crate::event::{CaseEvent, Recorded};
use crate::rows::{ProjectionError, RowKey, RowKind, RowSet};

/// Where a file stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FileState {
    /// 在档待核实.
    OpenUnverified,
    /// 在档已核实.
    OpenVerified,
    /// 核查未通过.
    ClosedNotEligible,
    /// 已结档.
    Closed,
}

impl FileState {
    /// For people.
    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            FileState::OpenUnverified => lang.pick("在档待核实", "open, to be verified"),
            FileState::OpenVerified => lang.pick("在档已核实", "open, verified"),
            FileState::ClosedNotEligible => lang.pick("核查未通过", "closed: not eligible"),
            FileState::Closed => lang.pick("已结档", "closed"),
        }
    }
}

/// Where a grant stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum GrantState {
    /// 待审批.
    Pending,
    /// 已审批待发放.
    Approved,
    /// 不予发放.
    Declined,
    /// 已发放.
    Paid,
}

impl GrantState {
    /// For people.
    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            GrantState::Pending => lang.pick("待审批", "pending approval"),
            GrantState::Approved => lang.pick("已审批待发放", "approved, unpaid"),
            GrantState::Declined => lang.pick("不予发放", "declined"),
            GrantState::Paid => lang.pick("已发放", "paid"),
        }
    }
}

/// The head of household, identifiers masked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HeadView {
    /// 姓名.
    pub name: String,
    /// 身份证号, masked (`3503**********1234`).
    pub resident_id_masked: String,
    /// 手机号, masked.
    pub phone_masked: String,
    /// 工作单位.
    pub employer_unit: String,
    /// 所在基层工会.
    pub grassroots_union: String,
    /// 农民工.
    pub migrant_worker: bool,
    /// 流动会员.
    pub mobile_member: bool,
}

/// A household member other than the head.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberView {
    /// 姓名.
    pub name: String,
    /// 与户主关系.
    pub relation: Relation,
    /// 出生年份.
    pub birth_year: u16,
    /// 健康状况 (kept: it is what the file is about; health details stay in the history).
    pub health: Health,
    /// 就学情况.
    pub schooling: Schooling,
}

/// A decision by an approver.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Decision {
    /// Confirmed (true) or rejected.
    pub confirmed: bool,
    /// Remark or reason.
    pub note: String,
    /// Who.
    pub by: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// One home visit on the timeline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VisitView {
    /// Unique within the file.
    pub visit_id: String,
    /// The day of the visit.
    pub visited_on: NaiveDate,
    /// Verification, follow-up, festival condolence.
    pub kind: VisitKind,
    /// Who went.
    pub caseworkers: Vec<String>,
    /// What was checked at the door.
    pub facts_verified: Vec<VerifiedFact>,
    /// Whether a contact card was handed over.
    pub contact_card_issued: bool,
    /// The cash grant handed over, if any.
    pub cash_grant_id: Option<String>,
    /// Its amount.
    pub cash_amount_fen: Option<Fen>,
    /// Who recorded it.
    pub logged_by: String,
}

/// One revision of the plan (adoption is revision 1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevisionView {
    /// 1, 2, 3…
    pub revision: u32,
    /// Why (none for the adoption).
    pub reason: Option<String>,
    /// The goal after the revision.
    pub goal: String,
    /// Measures in the revision.
    pub measures: u32,
    /// Their planned total.
    pub planned_fen: Fen,
    /// Who.
    pub by: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// One measure of the current plan and the money against it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MeasureView {
    /// Unique within the plan.
    pub measure_id: String,
    /// What kind of help.
    pub kind: MeasureKind,
    /// What exactly.
    pub description: String,
    /// Where the money comes from.
    pub fund: Fund,
    /// When it is due.
    pub due_on: NaiveDate,
    /// Planned.
    pub planned_fen: Fen,
    /// Asked for and not declined (pending + approved + paid).
    pub requested_fen: Fen,
    /// Approved (approved-unpaid + paid).
    pub approved_fen: Fen,
    /// Paid.
    pub paid_fen: Fen,
    /// Declined.
    pub declined_fen: Fen,
    /// Donation money allocated to the measure (approved allocations).
    #[serde(default)]
    pub allocated_fen: Fen,
    /// 已办结.
    pub completed: bool,
}

impl MeasureView {
    /// Planned minus requested: what new grants may still ask for.
    pub fn remaining_fen(&self) -> Fen {
        self.planned_fen.room_after(self.requested_fen)
    }

    fn from_spec(spec: &MeasureSpec) -> MeasureView {
        MeasureView {
            measure_id: spec.measure_id.to_string(),
            kind: spec.kind,
            description: spec.description.to_string(),
            fund: spec.fund,
            due_on: spec.due_on,
            planned_fen: spec.planned_amount_fen,
            requested_fen: Fen::ZERO,
            approved_fen: Fen::ZERO,
            paid_fen: Fen::ZERO,
            declined_fen: Fen::ZERO,
            allocated_fen: Fen::ZERO,
            completed: false,
        }
    }
}

/// The plan in its latest revision, with the revisions before it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlanView {
    /// Current revision.
    pub revision: u32,
    /// Current goal.
    pub goal: String,
    /// The measures of the current revision.
    pub measures: Vec<MeasureView>,
    /// Every revision, adoption first.
    pub revisions: Vec<RevisionView>,
}

/// One grant (发放) and where it stands.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GrantView {
    /// Unique within the file.
    pub grant_id: String,
    /// Its measure.
    pub measure_id: String,
    /// Amount.
    pub amount_fen: Fen,
    /// Fund.
    pub fund: Fund,
    /// Paid in cash at a visit (true) or by bank transfer.
    pub cash: bool,
    /// The card paid to, masked.
    pub card_masked: Option<String>,
    /// The account holder.
    pub account_name: Option<String>,
    /// Where it stands.
    pub state: GrantState,
    /// Who asked.
    pub requested_by: String,
    /// When.
    pub requested_at: DateTime<Utc>,
    /// Who approved.
    pub approved_by: Option<String>,
    /// When.
    pub approved_at: Option<DateTime<Utc>>,
    /// Who declined, and why.
    pub declined_by: Option<String>,
    /// Why it was declined.
    pub decline_reason: Option<String>,
    /// The day the household received it.
    pub paid_on: Option<NaiveDate>,
    /// Bank reference, or the visit it was handed over at.
    pub paid_reference: Option<String>,
    /// Who signed for cash.
    pub signed_by: Option<String>,
}

/// The latest periodic review.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewView {
    /// The day.
    pub reviewed_on: NaiveDate,
    /// The finding.
    pub outcome: ReviewOutcome,
    /// Next review.
    pub next_review_on: NaiveDate,
    /// Who.
    pub reviewed_by: String,
}

/// How the file is closed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClosureView {
    /// The closure reason (none when rejected at verification).
    pub reason: Option<ClosureReason>,
    /// Note or rejection reason.
    pub note: String,
    /// Who.
    pub by: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// A reopening.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReopeningView {
    /// Why.
    pub reason: String,
    /// Who.
    pub by: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// One hardship file, as the household-file view shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HouseholdFileRow {
    /// The file id.
    pub file_id: String,
    /// Where it stands.
    pub status: FileState,
    /// 户主.
    pub head: HeadView,
    /// The other members.
    pub members: Vec<MemberView>,
    /// 家庭人均月收入.
    pub monthly_income_per_capita_fen: Fen,
    /// 当地最低生活保障标准.
    pub local_minimum_standard_fen: Fen,
    /// 致困原因.
    pub causes: Vec<HardshipCause>,
    /// The date on the paper file.
    pub opened_on: NaiveDate,
    /// Who opened it.
    pub opened_by: String,
    /// When.
    pub opened_at: DateTime<Utc>,
    /// The latest verification decision.
    pub verification: Option<Decision>,
    /// Visits, in the order logged.
    pub visits: Vec<VisitView>,
    /// The plan, once adopted.
    pub plan: Option<PlanView>,
    /// Grants, in request order.
    pub grants: Vec<GrantView>,
    /// Reviews recorded.
    pub reviews: u32,
    /// The latest review.
    pub last_review: Option<ReviewView>,
    /// The current closure, while closed.
    pub closure: Option<ClosureView>,
    /// Reopenings, oldest first.
    pub reopenings: Vec<ReopeningView>,
    /// Donation-campaign allocations approved to the file's measures
    /// (捐款拨付), oldest first.
    #[serde(default)]
    pub allocations: Vec<super::household_money::AllocationView>,
}

impl HouseholdFileRow {
    /// When to review next (from the latest review).
    pub fn next_review_on(&self) -> Option<NaiveDate> {
        self.last_review.as_ref().map(|r| r.next_review_on)
    }

    /// Everything paid on the file.
    pub fn paid_total_fen(&self) -> Fen {
        sum(self
            .grants
            .iter()
            .filter(|g| g.state == GrantState::Paid)
            .map(|g| g.amount_fen))
    }

    /// The measures of the current plan (none without a plan).
    pub fn measures(&self) -> &[MeasureView] {
        self.plan.as_ref().map_or(&[], |p| p.measures.as_slice())
    }

    pub(crate) fn measure_mut(&mut self, measure_id: &str) -> Option<&mut MeasureView> {
        self.plan
            .as_mut()
            .and_then(|p| p.measures.iter_mut().find(|m| m.measure_id == measure_id))
    }

    pub(crate) fn grant_mut(&mut self, grant_id: &str) -> Option<&mut GrantView> {
        self.grants.iter_mut().find(|g| g.grant_id == grant_id)
    }
}

crate::view_row_impl!(HouseholdFileRow, HouseholdFile);

/// The invariant every sum in a view relies on: each amount is at most
/// `MAX_AMOUNT_FEN` (10¹⁰ fen, refused at input beyond) and a store holds at
/// most `MAX_EVENTS` (10⁸) of them, so no total reaches `i64::MAX`
/// (`domain::values` module docs). A sum that overflows means that broke:
/// the projector stops with this message rather than store a wrong total.
pub(crate) const BOUNDED: &str =
    "view totals stay inside i64 (every amount ≤ 10^10 fen, at most 10^8 events)";

/// Sums amounts, asserting [`BOUNDED`].
#[track_caller]
pub(crate) fn sum(amounts: impl IntoIterator<Item = Fen>) -> Fen {
    amounts
        .into_iter()
        .fold(Fen::ZERO, |total, a| total.add_asserted(a, BOUNDED))
}

/// `a + b`, asserting [`BOUNDED`].
#[track_caller]
pub(crate) fn add(a: Fen, b: Fen) -> Fen {
    a.add_asserted(b, BOUNDED)
}

/// The key of a file's row.
pub fn key(file_id: &str) -> RowKey {
    RowKey::new(RowKind::HouseholdFile, file_id)
}

pub(crate) fn keys(ev: &Recorded, out: &mut Vec<RowKey>) {
    if let CaseEvent::HardshipFile(_) = ev.event {
        out.push(key(&ev.aggregate_id));
    }
    super::household_money::keys(ev, out);
}

pub(crate) fn apply(ev: &Recorded, rows: &mut RowSet) -> Result<(), ProjectionError> {
    use HardshipFileEvent as Ev;
    let CaseEvent::HardshipFile(event) = &ev.event else {
        return super::household_money::apply(ev, rows);
    };
    let key = key(&ev.aggregate_id);
    if let Ev::FileOpened {
        household,
        opened_on,
        opened_by,
        opened_at,
    } = event
    {
        let head = &household.head;
        return rows.put(
            &key,
            HouseholdFileRow {
                file_id: ev.aggregate_id.clone(),
                status: FileState::OpenUnverified,
                head: HeadView {
                    name: head.name.to_string(),
                    resident_id_masked: head.resident_id.masked(),
                    phone_masked: head.phone.masked(),
                    employer_unit: head.employer_unit.to_string(),
                    grassroots_union: head.grassroots_union.to_string(),
                    migrant_worker: head.migrant_worker,
                    mobile_member: head.mobile_member,
                },
                members: household
                    .members
                    .iter()
                    .map(|m| MemberView {
                        name: m.name.to_string(),
                        relation: m.relation,
                        birth_year: m.birth_year,
                        health: m.health,
                        schooling: m.schooling,
                    })
                    .collect(),
                monthly_income_per_capita_fen: household.monthly_income_per_capita_fen,
                local_minimum_standard_fen: household.local_minimum_standard_fen,
                causes: household.causes.clone(),
                opened_on: *opened_on,
                opened_by: opened_by.to_string(),
                opened_at: *opened_at,
                verification: None,
                visits: Vec::new(),
                plan: None,
                grants: Vec::new(),
                reviews: 0,
                last_review: None,
                closure: None,
                reopenings: Vec::new(),
                allocations: Vec::new(),
            },
        );
    }
    // Every other event changes an existing file; a valid history never
    // produces one before `FileOpened`.
    let Some(file) = rows.get_mut::<HouseholdFileRow>(&key)? else {
        return Ok(());
    };
    match event {
        Ev::FileOpened { .. } => {}
        Ev::VisitLogged {
            visit_id,
            visited_on,
            kind,
            caseworkers,
            facts_verified,
            contact_card_issued,
            cash_handover,
            logged_by,
            ..
        } => file.visits.push(VisitView {
            visit_id: visit_id.to_string(),
            visited_on: *visited_on,
            kind: *kind,
            caseworkers: caseworkers.iter().map(ToString::to_string).collect(),
            facts_verified: facts_verified.clone(),
            contact_card_issued: *contact_card_issued,
            cash_grant_id: cash_handover.as_ref().map(|c| c.grant_id.to_string()),
            cash_amount_fen: cash_handover.as_ref().map(|c| c.amount_fen),
            logged_by: logged_by.to_string(),
        }),
        Ev::FileVerified {
            note,
            verified_by,
            verified_at,
        } => {
            file.status = FileState::OpenVerified;
            file.verification = Some(Decision {
                confirmed: true,
                note: note.to_string(),
                by: verified_by.to_string(),
                at: *verified_at,
            });
        }
        Ev::VerificationRejected {
            reason,
            rejected_by,
            rejected_at,
            ..
        } => {
            file.status = FileState::ClosedNotEligible;
            file.verification = Some(Decision {
                confirmed: false,
                note: reason.to_string(),
                by: rejected_by.to_string(),
                at: *rejected_at,
            });
            file.closure = Some(ClosureView {
                reason: None,
                note: reason.to_string(),
                by: rejected_by.to_string(),
                at: *rejected_at,
            });
        }
        Ev::PlanAdopted {
            revision,
            goal,
            measures,
            adopted_by,
            adopted_at,
        } => {
            file.plan = Some(PlanView {
                revision: *revision,
                goal: goal.to_string(),
                measures: measures.iter().map(MeasureView::from_spec).collect(),
                revisions: vec![revision_view(
                    *revision, None, goal, measures, adopted_by, adopted_at,
                )],
            });
        }
        Ev::PlanRevised {
            revision,
            reason,
            goal,
            measures,
            revised_by,
            revised_at,
        } => {
            let (old, mut revisions) = file
                .plan
                .take()
                .map(|p| (p.measures, p.revisions))
                .unwrap_or_default();
            // A revision restates every measure; money already against a
            // kept measure stays with it (as in the aggregate).
            let measures_now = measures
                .iter()
                .map(|spec| {
                    let fresh = MeasureView::from_spec(spec);
                    match old
                        .iter()
                        .find(|m| m.measure_id == spec.measure_id.as_str())
                    {
                        Some(prev) => MeasureView {
                            requested_fen: prev.requested_fen,
                            approved_fen: prev.approved_fen,
                            paid_fen: prev.paid_fen,
                            declined_fen: prev.declined_fen,
                            allocated_fen: prev.allocated_fen,
                            completed: prev.completed,
                            ..fresh
                        },
                        None => fresh,
                    }
                })
                .collect();
            revisions.push(revision_view(
                *revision,
                Some(reason.to_string()),
                goal,
                measures,
                revised_by,
                revised_at,
            ));
            file.plan = Some(PlanView {
                revision: *revision,
                goal: goal.to_string(),
                measures: measures_now,
                revisions,
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
            ..
        } => {
            if let Some(m) = file.measure_mut(measure_id.as_str()) {
                m.requested_fen = add(m.requested_fen, *amount_fen);
            }
            let (cash, card_masked, account_name) = match payee {
                Payee::Cash => (true, None, None),
                Payee::BankTransfer { card, account_name } => {
                    (false, Some(card.masked()), Some(account_name.to_string()))
                }
            };
            file.grants.push(GrantView {
                grant_id: grant_id.to_string(),
                measure_id: measure_id.to_string(),
                amount_fen: *amount_fen,
                fund: *fund,
                cash,
                card_masked,
                account_name,
                state: GrantState::Pending,
                requested_by: requested_by.to_string(),
                requested_at: *requested_at,
                approved_by: None,
                approved_at: None,
                declined_by: None,
                decline_reason: None,
                paid_on: None,
                paid_reference: None,
                signed_by: None,
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
            if let Some(m) = file.measure_mut(measure_id.as_str()) {
                m.approved_fen = add(m.approved_fen, *amount_fen);
            }
            if let Some(g) = file.grant_mut(grant_id.as_str()) {
                g.state = GrantState::Approved;
                g.approved_by = Some(approved_by.to_string());
                g.approved_at = Some(*approved_at);
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
            if let Some(m) = file.measure_mut(measure_id.as_str()) {
                m.requested_fen = m
                    .requested_fen
                    .sub_asserted(*amount_fen, "a declined grant was requested");
                m.declined_fen = add(m.declined_fen, *amount_fen);
            }
            if let Some(g) = file.grant_mut(grant_id.as_str()) {
                g.state = GrantState::Declined;
                g.declined_by = Some(declined_by.to_string());
                g.decline_reason = Some(reason.to_string());
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
            if let Some(m) = file.measure_mut(measure_id.as_str()) {
                m.paid_fen = add(m.paid_fen, *amount_fen);
            }
            if let Some(g) = file.grant_mut(grant_id.as_str()) {
                g.state = GrantState::Paid;
                g.paid_on = Some(*paid_on);
                match method {
                    PaymentMethod::BankTransfer { reference } => {
                        g.paid_reference = Some(reference.to_string());
                    }
                    PaymentMethod::Cash {
                        visit_id,
                        signed_by,
                    } => {
                        g.paid_reference = Some(visit_id.to_string());
                        g.signed_by = Some(signed_by.to_string());
                    }
                }
            }
        }
        Ev::MeasureCompleted { measure_id, .. } => {
            if let Some(m) = file.measure_mut(measure_id.as_str()) {
                m.completed = true;
            }
        }
        Ev::ReviewRecorded {
            reviewed_on,
            outcome,
            next_review_on,
            reviewed_by,
            ..
        } => {
            file.reviews = file.reviews.checked_add(1).expect(crate::views::COUNTED);
            file.last_review = Some(ReviewView {
                reviewed_on: *reviewed_on,
                outcome: *outcome,
                next_review_on: *next_review_on,
                reviewed_by: reviewed_by.to_string(),
            });
        }
        Ev::FileClosed {
            reason,
            note,
            closed_by,
            closed_at,
            ..
        } => {
            file.status = FileState::Closed;
            file.closure = Some(ClosureView {
                reason: Some(reason.clone()),
                note: note.to_string(),
                by: closed_by.to_string(),
                at: *closed_at,
            });
        }
        Ev::FileReopened {
            reason,
            reopened_by,
            reopened_at,
            ..
        } => {
            file.status = FileState::OpenUnverified;
            file.closure = None;
            file.reopenings.push(ReopeningView {
                reason: reason.to_string(),
                by: reopened_by.to_string(),
                at: *reopened_at,
            });
        }
    }
    Ok(())
}

fn revision_view(
    revision: u32,
    reason: Option<String>,
    goal: &domain::values::ShortText,
    measures: &[MeasureSpec],
    by: &domain::values::Code,
    at: &DateTime<Utc>,
) -> RevisionView {
    RevisionView {
        revision,
        reason,
        goal: goal.to_string(),
        measures: u32::try_from(measures.len()).unwrap_or(u32::MAX),
        planned_fen: sum(measures.iter().map(|m| m.planned_amount_fen)),
        by: by.to_string(),
        at: *at,
    }
}
