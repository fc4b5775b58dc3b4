//! The payout batch (发放批次): what finance sends to the bank in one file.
//!
//! Life: drafted (from due payouts of one fund) → locked → authorised (by
//! signers other than the drafter; above the signing rule's threshold, by
//! several distinct signers) → exported (each export an event with the
//! file's SHA-256) → bank results recorded (per line paid or failed; the
//! same file twice changes nothing) → each failed line followed up
//! (re-issued to a corrected account as a new payout, or cancelled with
//! its money back to the fund) → closed, once every line is settled.
//! Before export a batch may be discarded; its payouts are due again.
//!
//! The store holds what spans batches: a payout is batched once and paid
//! once, ever (reservations taken by the events), and a cancellation
//! credits the fund (`crate::money`).
//!
//! Aggregate id: chosen by finance, e.g. `PB-2026-11-01`.

mod commands;
mod error;
mod events;
mod results;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};

pub use commands::{
    BankResult, FileFormat, PayoutBatchCommand, SigningRule, MAX_LINES, MAX_RESULT_LINES,
    MAX_SIGNERS,
};
pub use error::PayoutBatchError;
pub use events::{LineOutcome, PayoutBatchEvent, ResultException};

use crate::command::{Cmd, CommandContext};
use crate::finance::{PayeeAccount, PayoutId, PayoutLine};
use crate::fund::Fund;
use crate::values::{Code, Fen, ShortText};

/// The aggregate type name, stable forever.
pub const TYPE: &str = "payout_batch";

/// Where a batch stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchState {
    /// Not drafted.
    #[default]
    New,
    /// Drafted, still changeable.
    Drafted,
    /// Locked, awaiting signatures.
    Locked,
    /// Fully signed.
    Authorised,
    /// A bank file was made.
    Exported,
    /// Every line settled.
    Closed,
    /// Discarded before export.
    Discarded,
}

impl BatchState {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            BatchState::New => "new",
            BatchState::Drafted => "drafted",
            BatchState::Locked => "locked",
            BatchState::Authorised => "authorised",
            BatchState::Exported => "exported",
            BatchState::Closed => "closed",
            BatchState::Discarded => "discarded",
        }
    }
}

/// Where one line stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineStatus {
    /// Not yet reported by the bank.
    Pending,
    /// Paid.
    Paid,
    /// Failed, not followed up.
    Failed,
    /// Failed and re-issued as a new payout.
    Reissued(PayoutId),
    /// Failed and cancelled.
    Cancelled,
}

impl LineStatus {
    /// Paid, re-issued or cancelled: nothing more to do in this batch.
    pub fn settled(&self) -> bool {
        !matches!(self, LineStatus::Pending | LineStatus::Failed)
    }
}

/// A payout batch: see the module docs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PayoutBatch {
    state: BatchState,
    fund: Option<Fund>,
    drafted_by: Option<Code>,
    lines: BTreeMap<PayoutId, (PayoutLine, LineStatus)>,
    total_fen: Fen,
    signers_required: u8,
    signers: Vec<Code>,
    result_files: BTreeSet<Code>,
    reissued: BTreeMap<PayoutId, PayoutLine>,
}

impl PayoutBatch {
    /// Where it stands.
    pub fn state(&self) -> BatchState {
        self.state
    }
    /// The fund.
    pub fn fund(&self) -> Option<Fund> {
        self.fund
    }
    /// The total.
    pub fn total_fen(&self) -> Fen {
        self.total_fen
    }
    /// The lines, by payout id, with where each stands.
    pub fn lines(&self) -> impl Iterator<Item = (&PayoutLine, &LineStatus)> {
        self.lines.values().map(|(l, s)| (l, s))
    }
    /// Who signed, in order.
    pub fn signers(&self) -> &[Code] {
        &self.signers
    }
    /// Signatures needed.
    pub fn signers_required(&self) -> u8 {
        self.signers_required
    }
    /// The new payout a failed line was re-issued as, by the new id.
    pub fn reissued_line(&self, new_id: &PayoutId) -> Option<&PayoutLine> {
        self.reissued.get(new_id)
    }
    /// The drafter.
    pub fn drafted_by(&self) -> Option<&Code> {
        self.drafted_by.as_ref()
    }

    fn require(&self, ok: bool, action: &'static str) -> Result<(), PayoutBatchError> {
        if self.state == BatchState::New {
            return Err(PayoutBatchError::NotDrafted);
        }
        if ok {
            Ok(())
        } else {
            Err(PayoutBatchError::WrongState {
                state: self.state.as_str(),
                action,
            })
        }
    }

    fn failed_line(&self, id: &PayoutId) -> Result<&PayoutLine, PayoutBatchError> {
        self.require(
            matches!(self.state, BatchState::Exported | BatchState::Closed),
            "follow up",
        )?;
        match self.lines.get(id) {
            None => Err(PayoutBatchError::UnknownPayout(id.clone())),
            Some((line, LineStatus::Failed)) => Ok(line),
            Some(_) => Err(PayoutBatchError::NotFailed(id.clone())),
        }
    }
}

fn check_sha256(sha: &Code) -> Result<(), PayoutBatchError> {
    let s = sha.as_str();
    if s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        Ok(())
    } else {
        Err(PayoutBatchError::BadSha256)
    }
}

fn draft(
    ctx: &CommandContext,
    fund: Fund,
    lines: Vec<PayoutLine>,
    signing: Option<SigningRule>,
    note: Option<ShortText>,
) -> Result<PayoutBatchEvent, PayoutBatchError> {
    use PayoutBatchError as E;
    if lines.is_empty() || lines.len() > MAX_LINES {
        return Err(E::LineCount);
    }
    let signing = signing.unwrap_or_default();
    if signing.signers_above == 0 || signing.signers_above > MAX_SIGNERS {
        return Err(E::SignerCount);
    }
    let mut seen = BTreeSet::new();
    let mut total = Fen::default();
    for line in &lines {
        if !seen.insert(&line.payout_id) {
            return Err(E::DuplicatePayout(line.payout_id.clone()));
        }
        if line.fund != fund {
            return Err(E::WrongFund {
                payout_id: line.payout_id.clone(),
                line: line.fund,
                batch: fund,
            });
        }
        if line.amount_fen.is_zero() {
            return Err(E::ZeroAmount(line.payout_id.clone()));
        }
        if line.account == PayeeAccount::Cash {
            return Err(E::CashLine(line.payout_id.clone()));
        }
        total = total
            .checked_add(line.amount_fen)
            .map_err(|_| E::AmountOverflow)?;
    }
    Ok(PayoutBatchEvent::BatchDrafted {
        fund,
        signers_required: signing.required(total),
        lines,
        total_fen: total,
        note,
        drafted_by: ctx.actor.id.clone(),
        drafted_at: ctx.recorded_at,
    })
}

impl PayoutBatch {
    fn decide(
        &self,
        ctx: &CommandContext,
        body: PayoutBatchCommand,
    ) -> Result<Option<PayoutBatchEvent>, PayoutBatchError> {
        use PayoutBatchCommand as C;
        use PayoutBatchEvent as Ev;
        let (by, at) = (ctx.actor.id.clone(), ctx.recorded_at);
        Ok(Some(match body {
            C::Draft {
                fund,
                lines,
                signing,
                note,
            } => {
                if self.state != BatchState::New {
                    return Err(PayoutBatchError::AlreadyDrafted);
                }
                draft(ctx, fund, lines, signing, note)?
            }
            C::Lock => {
                self.require(self.state == BatchState::Drafted, "lock")?;
                Ev::BatchLocked {
                    locked_by: by,
                    locked_at: at,
                }
            }
            C::Authorise { note } => self.authorise(by, at, note)?,
            C::Discard { reason } => {
                let ok = matches!(
                    self.state,
                    BatchState::Drafted | BatchState::Locked | BatchState::Authorised
                );
                self.require(ok, "discard")?;
                Ev::BatchDiscarded {
                    payout_ids: self.lines.keys().cloned().collect(),
                    reason,
                    discarded_by: by,
                    discarded_at: at,
                }
            }
            C::RecordExport {
                format,
                template,
                sha256,
                lines,
                total_fen,
            } => {
                let ok = matches!(self.state, BatchState::Authorised | BatchState::Exported);
                self.require(ok, "export")?;
                check_sha256(&sha256)?;
                if lines as usize != self.lines.len() || total_fen != self.total_fen {
                    return Err(PayoutBatchError::ExportMismatch);
                }
                Ev::BatchExported {
                    format,
                    template,
                    sha256,
                    lines,
                    total_fen,
                    exported_by: by,
                    exported_at: at,
                }
            }
            C::RecordResults { sha256, results } => {
                return self.record_results(ctx, sha256, results);
            }
            C::Reissue {
                payout_id,
                account,
                reason,
            } => {
                if account == PayeeAccount::Cash {
                    return Err(PayoutBatchError::CashLine(payout_id));
                }
                self.reissue(ctx, payout_id, account, reason)?
            }
            C::CancelPayout { payout_id, reason } => {
                let line = self.failed_line(&payout_id)?;
                Ev::PayoutCancelled {
                    source: line.source,
                    fund: line.fund,
                    amount_fen: line.amount_fen,
                    payout_id,
                    reason,
                    booked_on: ctx.business_date(),
                    cancelled_by: by,
                    cancelled_at: at,
                }
            }
            C::Close => self.close(by, at)?,
        }))
    }

    fn authorise(
        &self,
        by: Code,
        at: chrono::DateTime<chrono::Utc>,
        note: Option<ShortText>,
    ) -> Result<PayoutBatchEvent, PayoutBatchError> {
        self.require(self.state == BatchState::Locked, "authorise")?;
        if self.drafted_by.as_ref() == Some(&by) {
            return Err(PayoutBatchError::DrafterMayNotSign);
        }
        if self.signers.contains(&by) {
            return Err(PayoutBatchError::AlreadySigned);
        }
        Ok(PayoutBatchEvent::BatchSigned {
            signer: by,
            signatures: self.signers.len() as u8 + 1,
            required: self.signers_required,
            note,
            signed_at: at,
        })
    }

    fn reissue(
        &self,
        ctx: &CommandContext,
        payout_id: PayoutId,
        account: PayeeAccount,
        reason: ShortText,
    ) -> Result<PayoutBatchEvent, PayoutBatchError> {
        let failed = self.failed_line(&payout_id)?;
        let line = PayoutLine {
            payout_id: payout_id.next_reissue(),
            account,
            ..failed.clone()
        };
        Ok(PayoutBatchEvent::PayoutReissued {
            payout_id,
            line,
            reason,
            reissued_by: ctx.actor.id.clone(),
            reissued_at: ctx.recorded_at,
        })
    }

    fn close(
        &self,
        by: Code,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<PayoutBatchEvent, PayoutBatchError> {
        self.require(self.state == BatchState::Exported, "close")?;
        let open = self.lines.values().filter(|(_, s)| !s.settled()).count();
        if open > 0 {
            return Err(PayoutBatchError::Unsettled(open));
        }
        let (mut paid, mut unpaid) = (Fen::default(), Fen::default());
        for (line, status) in self.lines.values() {
            let sum = if *status == LineStatus::Paid {
                &mut paid
            } else {
                &mut unpaid
            };
            *sum = sum.add_asserted(line.amount_fen, "line amounts add up to the batch total");
        }
        Ok(PayoutBatchEvent::BatchClosed {
            paid_fen: paid,
            unpaid_fen: unpaid,
            closed_by: by,
            closed_at: at,
        })
    }
}

impl Aggregate for PayoutBatch {
    const TYPE: &'static str = TYPE;
    type Command = Cmd<PayoutBatchCommand>;
    type Event = PayoutBatchEvent;
    type Error = PayoutBatchError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        let Cmd { ctx, body } = command;
        if let Some(event) = self.decide(&ctx, body)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        use PayoutBatchEvent as Ev;
        match event {
            Ev::BatchDrafted {
                fund,
                lines,
                total_fen,
                signers_required,
                drafted_by,
                ..
            } => {
                self.state = BatchState::Drafted;
                self.fund = Some(fund);
                self.drafted_by = Some(drafted_by);
                self.total_fen = total_fen;
                self.signers_required = signers_required;
                self.lines = lines
                    .into_iter()
                    .map(|l| (l.payout_id.clone(), (l, LineStatus::Pending)))
                    .collect();
            }
            Ev::BatchLocked { .. } => self.state = BatchState::Locked,
            Ev::BatchSigned {
                signer,
                signatures,
                required,
                ..
            } => {
                self.signers.push(signer);
                if signatures >= required {
                    self.state = BatchState::Authorised;
                }
            }
            Ev::BatchDiscarded { .. } => self.state = BatchState::Discarded,
            Ev::BatchExported { .. } => self.state = BatchState::Exported,
            Ev::BankResultsRecorded {
                sha256, outcomes, ..
            } => {
                self.result_files.insert(sha256);
                for o in outcomes {
                    let status = if o.paid {
                        LineStatus::Paid
                    } else {
                        LineStatus::Failed
                    };
                    self.set_status(&o.payout_id, status);
                }
            }
            Ev::PayoutReissued {
                payout_id, line, ..
            } => {
                self.set_status(&payout_id, LineStatus::Reissued(line.payout_id.clone()));
                self.reissued.insert(line.payout_id.clone(), line);
            }
            Ev::PayoutCancelled { payout_id, .. } => {
                self.set_status(&payout_id, LineStatus::Cancelled)
            }
            Ev::BatchClosed { .. } => self.state = BatchState::Closed,
        }
    }
}

impl PayoutBatch {
    fn set_status(&mut self, id: &PayoutId, status: LineStatus) {
        let entry = self
            .lines
            .get_mut(id)
            .expect("invariant: an outcome names a line of the batch");
        entry.1 = status;
    }
}

/// A valid life of a batch (two designated allocations of the donation
/// fund): drafted with two lines, locked, signed,
/// exported, one line paid and one failed, the failure re-issued.
#[cfg(any(test, feature = "testing"))]
pub fn sample_events() -> Vec<PayoutBatchEvent> {
    use crate::finance::SourceKind;
    use crate::testing::at;
    use crate::values::{BankCard, PersonName};
    let code = |s: &str| Code::parse(s).expect("valid sample code");
    let line = |n: u32, card: &str| PayoutLine {
        payout_id: PayoutId::parse(&format!("allocation:yrj:A{n}")).expect("valid id"),
        source: SourceKind::Allocation,
        payee: PersonName::parse("陈建国").expect("valid name"),
        account: PayeeAccount::Bank {
            card: BankCard::parse(card).expect("valid card"),
            bank: None,
        },
        amount_fen: Fen::from_yuan(500).expect("valid amount"),
        fund: Fund::Donation,
        purpose: ShortText::parse("定向捐助拨付").expect("valid text"),
    };
    let lines = vec![
        line(1, "6228480012345678903"),
        line(2, "6222021234567890128"),
    ];
    let outcome = |l: &PayoutLine, paid: bool| LineOutcome {
        payout_id: l.payout_id.clone(),
        source: l.source,
        fund: l.fund,
        amount_fen: l.amount_fen,
        paid,
        reason: (!paid).then(|| ShortText::parse("账户已销户").expect("valid text")),
        value_date: chrono::NaiveDate::from_ymd_opt(2026, 3, 2).expect("valid date"),
    };
    let sha = code(&"ab".repeat(32));
    let mut reissued = lines[1].clone();
    reissued.payout_id = lines[1].payout_id.next_reissue();
    vec![
        PayoutBatchEvent::BatchDrafted {
            fund: Fund::Donation,
            total_fen: Fen::from_yuan(1_000).expect("valid amount"),
            signers_required: 1,
            lines: lines.clone(),
            note: None,
            drafted_by: code("wu.haiyan"),
            drafted_at: at(0),
        },
        PayoutBatchEvent::BatchLocked {
            locked_by: code("wu.haiyan"),
            locked_at: at(1),
        },
        PayoutBatchEvent::BatchSigned {
            signer: code("huang.zhiqiang"),
            signatures: 1,
            required: 1,
            note: None,
            signed_at: at(2),
        },
        PayoutBatchEvent::BatchExported {
            format: FileFormat::CsvGbk,
            template: code("icbc"),
            sha256: sha.clone(),
            lines: 2,
            total_fen: Fen::from_yuan(1_000).expect("valid amount"),
            exported_by: code("wu.haiyan"),
            exported_at: at(3),
        },
        PayoutBatchEvent::BankResultsRecorded {
            sha256: code(&"cd".repeat(32)),
            outcomes: vec![outcome(&lines[0], true), outcome(&lines[1], false)],
            exceptions: vec![],
            recorded_by: code("wu.haiyan"),
            recorded_at: at(60),
        },
        PayoutBatchEvent::PayoutReissued {
            payout_id: lines[1].payout_id.clone(),
            line: reissued,
            reason: ShortText::parse("原卡已销户").expect("valid text"),
            reissued_by: code("wu.haiyan"),
            reissued_at: at(61),
        },
    ]
}
