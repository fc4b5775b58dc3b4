//! What happened to a hardship file: the facts its history is made of.
//!
//! Events are never edited; a mistake is corrected by a later event. Each
//! records who acted and when (copied from the command's context) and the
//! amounts and funds projections need, so read models never have to look
//! back at earlier events to make sense of one.

use chrono::{DateTime, NaiveDate, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};

use super::commands::{
    CashHandover, ClosureReason, Household, MeasureSpec, Payee, ReviewOutcome, VerifiedFact,
    VisitKind,
};
use crate::fund::Fund;
use crate::i18n::Lang;
use crate::reservation::{Reservation, Reserves, Scope};
use crate::values::{Code, Fen, LongText, PersonName, ResidentId, ShortText};

/// How a grant reached the household.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum PaymentMethod {
    /// Paid by the bank.
    BankTransfer {
        /// The bank's or batch's reference.
        reference: Code,
    },
    /// Handed over in cash at a visit.
    Cash {
        /// The visit.
        visit_id: Code,
        /// Who signed for the household.
        signed_by: PersonName,
    },
}

impl PaymentMethod {
    /// 银行转账 / 现金.
    pub fn label(&self, lang: Lang) -> &'static str {
        match self {
            PaymentMethod::BankTransfer { .. } => lang.pick("银行转账", "bank transfer"),
            PaymentMethod::Cash { .. } => lang.pick("现场发放现金", "cash at a visit"),
        }
    }
}

/// Everything that can happen to a hardship file.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub enum HardshipFileEvent {
    /// 已建档. Takes the head's resident ID in `open_file_by_resident`.
    FileOpened {
        /// The household as recorded.
        household: Household,
        /// The date on the paper file.
        opened_on: NaiveDate,
        /// Who opened it.
        opened_by: Code,
        /// When it was recorded.
        opened_at: DateTime<Utc>,
    },
    /// 已入户走访.
    VisitLogged {
        /// Unique within the file.
        visit_id: Code,
        /// The day of the visit.
        visited_on: NaiveDate,
        /// Verification, follow-up or festival condolence.
        kind: VisitKind,
        /// Who went.
        caseworkers: Vec<PersonName>,
        /// What was found.
        findings: LongText,
        /// What was checked.
        facts_verified: Vec<VerifiedFact>,
        /// Whether a contact card was handed over.
        contact_card_issued: bool,
        /// Cash handed over, if any (a `GrantPaid` follows).
        cash_handover: Option<CashHandover>,
        /// Who recorded it.
        logged_by: Code,
        /// When it was recorded.
        logged_at: DateTime<Utc>,
    },
    /// 已核实.
    FileVerified {
        /// Remark.
        note: ShortText,
        /// The approver.
        verified_by: Code,
        /// When.
        verified_at: DateTime<Utc>,
    },
    /// 核查未通过: the file closes as not eligible and releases the resident ID.
    VerificationRejected {
        /// Why.
        reason: ShortText,
        /// The head's resident ID, released from `open_file_by_resident`.
        resident_id: ResidentId,
        /// The approver.
        rejected_by: Code,
        /// When.
        rejected_at: DateTime<Utc>,
    },
    /// 已制定帮扶计划 (revision 1).
    PlanAdopted {
        /// Always 1.
        revision: u32,
        /// What the plan is meant to achieve.
        goal: ShortText,
        /// The measures.
        measures: Vec<MeasureSpec>,
        /// Who adopted it.
        adopted_by: Code,
        /// When.
        adopted_at: DateTime<Utc>,
    },
    /// 已调整帮扶计划: the full measure set after the revision.
    PlanRevised {
        /// Previous revision + 1.
        revision: u32,
        /// Why.
        reason: ShortText,
        /// The goal after the revision.
        goal: ShortText,
        /// All measures after the revision.
        measures: Vec<MeasureSpec>,
        /// Who revised it.
        revised_by: Code,
        /// When.
        revised_at: DateTime<Utc>,
    },
    /// 已申请发放.
    GrantRequested {
        /// Unique within the file.
        grant_id: Code,
        /// The measure it is for.
        measure_id: Code,
        /// How much.
        amount_fen: Fen,
        /// The measure's fund at the time of the request.
        fund: Fund,
        /// Who receives it and how.
        payee: Payee,
        /// Who asked.
        requested_by: Code,
        /// When.
        requested_at: DateTime<Utc>,
        /// Remark.
        note: Option<ShortText>,
    },
    /// 已审批发放.
    GrantApproved {
        /// The grant.
        grant_id: Code,
        /// Its measure.
        measure_id: Code,
        /// Its amount.
        amount_fen: Fen,
        /// Its fund.
        fund: Fund,
        /// The approver (never the requester).
        approved_by: Code,
        /// When.
        approved_at: DateTime<Utc>,
    },
    /// 不予发放: the amount returns to the measure.
    GrantDeclined {
        /// The grant.
        grant_id: Code,
        /// Its measure.
        measure_id: Code,
        /// Its amount.
        amount_fen: Fen,
        /// Why.
        reason: ShortText,
        /// Who declined it.
        declined_by: Code,
        /// When.
        declined_at: DateTime<Utc>,
    },
    /// 已发放. At most once per grant.
    GrantPaid {
        /// The grant.
        grant_id: Code,
        /// Its measure.
        measure_id: Code,
        /// The amount paid (the grant's amount).
        amount_fen: Fen,
        /// The fund it was paid from.
        fund: Fund,
        /// Bank transfer or cash at a visit.
        method: PaymentMethod,
        /// The day the household received it.
        paid_on: NaiveDate,
        /// Who recorded the payment.
        recorded_by: Code,
        /// When.
        recorded_at: DateTime<Utc>,
    },
    /// 措施已办结.
    MeasureCompleted {
        /// The measure.
        measure_id: Code,
        /// What was done.
        note: ShortText,
        /// Its planned amount at completion.
        planned_amount_fen: Fen,
        /// What was paid under it in total.
        paid_fen: Fen,
        /// Who marked it.
        completed_by: Code,
        /// When.
        completed_at: DateTime<Utc>,
    },
    /// 已复核 (动态管理).
    ReviewRecorded {
        /// The day of the review.
        reviewed_on: NaiveDate,
        /// The finding.
        outcome: ReviewOutcome,
        /// Details.
        note: LongText,
        /// When to review next.
        next_review_on: NaiveDate,
        /// Who reviewed.
        reviewed_by: Code,
        /// When it was recorded.
        recorded_at: DateTime<Utc>,
    },
    /// 已结档. Releases the resident ID.
    FileClosed {
        /// Why.
        reason: ClosureReason,
        /// Details.
        note: ShortText,
        /// The head's resident ID, released from `open_file_by_resident`.
        resident_id: ResidentId,
        /// Who closed it.
        closed_by: Code,
        /// When.
        closed_at: DateTime<Utc>,
    },
    /// 已重新建档: open again, to be verified again. Takes the resident ID.
    FileReopened {
        /// Why.
        reason: ShortText,
        /// The head's resident ID, taken again in `open_file_by_resident`.
        resident_id: ResidentId,
        /// Who reopened it.
        reopened_by: Code,
        /// When.
        reopened_at: DateTime<Utc>,
    },
}

impl HardshipFileEvent {
    /// Every event type name, for the golden-file check.
    pub const TYPES: [&'static str; 14] = [
        "FileOpened",
        "VisitLogged",
        "FileVerified",
        "VerificationRejected",
        "PlanAdopted",
        "PlanRevised",
        "GrantRequested",
        "GrantApproved",
        "GrantDeclined",
        "GrantPaid",
        "MeasureCompleted",
        "ReviewRecorded",
        "FileClosed",
        "FileReopened",
    ];

    /// The stable type name (also the JSON tag).
    pub fn type_name(&self) -> &'static str {
        use HardshipFileEvent::*;
        match self {
            FileOpened { .. } => "FileOpened",
            VisitLogged { .. } => "VisitLogged",
            FileVerified { .. } => "FileVerified",
            VerificationRejected { .. } => "VerificationRejected",
            PlanAdopted { .. } => "PlanAdopted",
            PlanRevised { .. } => "PlanRevised",
            GrantRequested { .. } => "GrantRequested",
            GrantApproved { .. } => "GrantApproved",
            GrantDeclined { .. } => "GrantDeclined",
            GrantPaid { .. } => "GrantPaid",
            MeasureCompleted { .. } => "MeasureCompleted",
            ReviewRecorded { .. } => "ReviewRecorded",
            FileClosed { .. } => "FileClosed",
            FileReopened { .. } => "FileReopened",
        }
    }

    /// The event's name for people: 已建档 / file opened.
    pub fn label(&self, lang: Lang) -> &'static str {
        use HardshipFileEvent::*;
        let (zh, en) = match self {
            FileOpened { .. } => ("已建档", "file opened"),
            VisitLogged { .. } => ("已入户走访", "home visit logged"),
            FileVerified { .. } => ("已核实", "file verified"),
            VerificationRejected { .. } => ("核查未通过", "verification rejected"),
            PlanAdopted { .. } => ("已制定帮扶计划", "plan adopted"),
            PlanRevised { .. } => ("已调整帮扶计划", "plan revised"),
            GrantRequested { .. } => ("已申请发放", "grant requested"),
            GrantApproved { .. } => ("已审批发放", "grant approved"),
            GrantDeclined { .. } => ("不予发放", "grant declined"),
            GrantPaid { .. } => ("已发放", "grant paid"),
            MeasureCompleted { .. } => ("措施已办结", "measure completed"),
            ReviewRecorded { .. } => ("已复核", "review recorded"),
            FileClosed { .. } => ("已结档", "file closed"),
            FileReopened { .. } => ("已重新建档", "file reopened"),
        };
        lang.pick(zh, en)
    }

    /// A one-line summary for `bangfu history`. Amounts in yuan; resident
    /// IDs and card numbers masked (their `Display`).
    pub fn describe(&self, lang: Lang) -> String {
        use HardshipFileEvent::*;
        let zh = lang == Lang::Zh;
        let sep = if zh { "、" } else { ", " };
        match self {
            FileOpened {
                household,
                opened_on,
                opened_by,
                ..
            } => {
                let causes = household
                    .causes
                    .iter()
                    .map(|c| c.label(lang))
                    .collect::<Vec<_>>()
                    .join(sep);
                let people = household.members.len().saturating_add(1);
                let head = &household.head;
                if zh {
                    format!(
                        "{opened_by} 于 {opened_on} 为户主 {}（{}）建档，家庭 {people} 人，致困原因：{causes}",
                        head.name, head.resident_id
                    )
                } else {
                    format!(
                        "{opened_by} opened the file on {opened_on} for head of household {} ({}), {people} people, causes: {causes}",
                        head.name, head.resident_id
                    )
                }
            }
            VisitLogged {
                visit_id,
                visited_on,
                kind,
                caseworkers,
                contact_card_issued,
                cash_handover,
                ..
            } => {
                let who = caseworkers
                    .iter()
                    .map(PersonName::as_str)
                    .collect::<Vec<_>>()
                    .join(sep);
                let mut s = if zh {
                    format!(
                        "{visited_on} {}（{visit_id}），走访人：{who}",
                        kind.label(lang)
                    )
                } else {
                    format!(
                        "{visited_on} {} visit ({visit_id}) by {who}",
                        kind.label(lang)
                    )
                };
                if *contact_card_issued {
                    s.push_str(if zh {
                        "，发放联系卡"
                    } else {
                        ", contact card issued"
                    });
                }
                if let Some(c) = cash_handover {
                    if zh {
                        s.push_str(&format!(
                            "，现场发放 {} 元（{}，{} 签收）",
                            c.amount_fen, c.grant_id, c.signed_by
                        ));
                    } else {
                        s.push_str(&format!(
                            ", handed over {} yuan in cash ({}, signed by {})",
                            c.amount_fen, c.grant_id, c.signed_by
                        ));
                    }
                }
                s
            }
            FileVerified {
                note, verified_by, ..
            } => {
                if zh {
                    format!("{verified_by} 核实档案：{note}")
                } else {
                    format!("{verified_by} verified the file: {note}")
                }
            }
            VerificationRejected {
                reason,
                resident_id,
                rejected_by,
                ..
            } => {
                if zh {
                    format!("{rejected_by} 核查不予认定（{resident_id}），档案关闭：{reason}")
                } else {
                    format!("{rejected_by} rejected the household ({resident_id}); file closed: {reason}")
                }
            }
            PlanAdopted {
                revision,
                goal,
                measures,
                adopted_by,
                ..
            } => {
                let total = planned_total(measures);
                if zh {
                    format!(
                        "{adopted_by} 制定帮扶计划（第 {revision} 版）：{goal}；措施 {} 项，计划金额 {total} 元",
                        measures.len()
                    )
                } else {
                    format!(
                        "{adopted_by} adopted plan revision {revision}: {goal}; {} measures, {total} yuan planned",
                        measures.len()
                    )
                }
            }
            PlanRevised {
                revision,
                reason,
                measures,
                revised_by,
                ..
            } => {
                let total = planned_total(measures);
                if zh {
                    format!(
                        "{revised_by} 调整帮扶计划为第 {revision} 版：{reason}；措施 {} 项，计划金额 {total} 元",
                        measures.len()
                    )
                } else {
                    format!(
                        "{revised_by} revised the plan to revision {revision}: {reason}; {} measures, {total} yuan planned",
                        measures.len()
                    )
                }
            }
            GrantRequested {
                grant_id,
                measure_id,
                amount_fen,
                fund,
                payee,
                requested_by,
                ..
            } => {
                let to = match payee {
                    Payee::BankTransfer { card, .. } => format!("{} {card}", payee.label(lang)),
                    Payee::Cash => payee.label(lang).to_string(),
                };
                if zh {
                    format!(
                        "{requested_by} 申请发放 {grant_id}：措施 {measure_id}，{amount_fen} 元，{}，{to}",
                        fund.label(lang)
                    )
                } else {
                    format!(
                        "{requested_by} requested grant {grant_id}: measure {measure_id}, {amount_fen} yuan from the {}, {to}",
                        fund.label(lang)
                    )
                }
            }
            GrantApproved {
                grant_id,
                amount_fen,
                approved_by,
                ..
            } => {
                if zh {
                    format!("{approved_by} 审批同意发放 {grant_id}，{amount_fen} 元")
                } else {
                    format!("{approved_by} approved grant {grant_id}, {amount_fen} yuan")
                }
            }
            GrantDeclined {
                grant_id,
                amount_fen,
                reason,
                declined_by,
                ..
            } => {
                if zh {
                    format!("{declined_by} 不予发放 {grant_id}（{amount_fen} 元）：{reason}")
                } else {
                    format!("{declined_by} declined grant {grant_id} ({amount_fen} yuan): {reason}")
                }
            }
            GrantPaid {
                grant_id,
                amount_fen,
                fund,
                method,
                paid_on,
                ..
            } => {
                let how = match method {
                    PaymentMethod::BankTransfer { reference } => {
                        format!("{}，{reference}", method.label(lang))
                    }
                    PaymentMethod::Cash {
                        visit_id,
                        signed_by,
                    } => {
                        if zh {
                            format!("{}（{visit_id}），{signed_by} 签收", method.label(lang))
                        } else {
                            format!("{} ({visit_id}), signed by {signed_by}", method.label(lang))
                        }
                    }
                };
                if zh {
                    format!(
                        "{paid_on} 发放 {grant_id}：{amount_fen} 元，{}，{how}",
                        fund.label(lang)
                    )
                } else {
                    format!(
                        "{paid_on} paid grant {grant_id}: {amount_fen} yuan from the {}, {how}",
                        fund.label(lang)
                    )
                }
            }
            MeasureCompleted {
                measure_id,
                note,
                paid_fen,
                completed_by,
                ..
            } => {
                if zh {
                    format!("{completed_by} 办结措施 {measure_id}，累计发放 {paid_fen} 元：{note}")
                } else {
                    format!(
                        "{completed_by} completed measure {measure_id}, {paid_fen} yuan paid in total: {note}"
                    )
                }
            }
            ReviewRecorded {
                reviewed_on,
                outcome,
                next_review_on,
                reviewed_by,
                ..
            } => {
                if zh {
                    format!(
                        "{reviewed_by} 于 {reviewed_on} 复核：{}，下次复核 {next_review_on}",
                        outcome.label(lang)
                    )
                } else {
                    format!(
                        "{reviewed_by} reviewed on {reviewed_on}: {}, next review {next_review_on}",
                        outcome.label(lang)
                    )
                }
            }
            FileClosed {
                reason,
                note,
                closed_by,
                ..
            } => {
                let why = match reason {
                    ClosureReason::Merged { into_file_id } => {
                        format!("{} {into_file_id}", reason.label(lang))
                    }
                    other => other.label(lang).to_string(),
                };
                if zh {
                    format!("{closed_by} 结档（{why}）：{note}")
                } else {
                    format!("{closed_by} closed the file ({why}): {note}")
                }
            }
            FileReopened {
                reason,
                reopened_by,
                ..
            } => {
                if zh {
                    format!("{reopened_by} 重新建档，待重新核实：{reason}")
                } else {
                    format!("{reopened_by} reopened the file, to be verified again: {reason}")
                }
            }
        }
    }
}

/// The plan total for a summary line. Bounded: at most `MAX_MEASURES`
/// measures of at most [`crate::values::MAX_AMOUNT_FEN`] each.
fn planned_total(measures: &[MeasureSpec]) -> Fen {
    Fen::checked_sum(measures.iter().map(|m| m.planned_amount_fen))
        .expect("invariant broken: a plan's measures are bounded amounts, few of them")
}

impl DomainEvent for HardshipFileEvent {
    fn event_type(&self) -> String {
        self.type_name().to_string()
    }

    /// Where this type's upcaster chain ends ([`crate::upcast`]).
    fn event_version(&self) -> String {
        crate::upcast::current_version(super::TYPE, &self.event_type()).to_string()
    }
}

impl Reserves for HardshipFileEvent {
    fn reservations(&self) -> Vec<Reservation> {
        use HardshipFileEvent::*;
        match self {
            FileOpened { household, .. } => vec![Reservation::Take {
                scope: Scope::OpenFileByResident,
                key: household.head.resident_id.expose().to_string(),
            }],
            FileReopened { resident_id, .. } => vec![Reservation::Take {
                scope: Scope::OpenFileByResident,
                key: resident_id.expose().to_string(),
            }],
            VerificationRejected { resident_id, .. } | FileClosed { resident_id, .. } => {
                vec![Reservation::Release {
                    scope: Scope::OpenFileByResident,
                    key: resident_id.expose().to_string(),
                }]
            }
            VisitLogged { .. }
            | FileVerified { .. }
            | PlanAdopted { .. }
            | PlanRevised { .. }
            | GrantRequested { .. }
            | GrantApproved { .. }
            | GrantDeclined { .. }
            | GrantPaid { .. }
            | MeasureCompleted { .. }
            | ReviewRecorded { .. } => vec![],
        }
    }
}
