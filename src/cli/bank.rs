//! `bangfu bank export|import`: a batch's bank file made and its export
//! recorded in one step, and the bank's result file read and recorded
//! (`finance::bankfile`); and the batch's life after the draft —
//! `bangfu batch lock|authorise|discard|reissue|cancel|close`.
//!
//! Exit statuses ([`super::ExitKind`]): a malformed result file or template
//! is 3 (input; the message names line and column), a batch in the wrong
//! state or a rule's refusal 4, a lost race 5, an unknown batch 8. Nothing
//! is written on any of them; `export` writes no file either.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use clap::Subcommand;
use domain::command::{Actor, CommandContext, Role};
use domain::finance::batch::{FileFormat, PayoutBatch, PayoutBatchCommand};
use domain::finance::{PayeeAccount, PayoutId};
use domain::i18n::{ErrorCode, Lang, Localize};
use domain::values::{BankCard, Code, OrgName, ShortText, ValueError};

use super::{print_committed, ExitKind, Failure};
use crate::app::input::InputError;
use crate::app::{execute, App, AppError};
use crate::files::bank::BankTemplate;
use crate::finance::bankfile::{self, BankFileError};

/// Who acts (`--actor`, `--role`; or `BANGFU_ACTOR`, `BANGFU_ROLE`).
#[derive(Debug, Clone, clap::Args)]
pub struct ActAs {
    /// Acting user id.
    #[arg(long, env = "BANGFU_ACTOR")]
    pub actor: String,
    /// Acting role (finance; approver may authorise).
    #[arg(long, env = "BANGFU_ROLE", value_parser = parse_role)]
    pub role: Role,
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| format!("unknown role `{s}`"))
}

fn parse_format(s: &str) -> Result<FileFormat, String> {
    bankfile::parse_format(s).ok_or_else(|| format!("unknown format `{s}` (csv, csv-gbk, xlsx)"))
}

fn parse_date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| format!("`{s}` is not YYYY-MM-DD"))
}

/// `bangfu bank …`.
#[derive(Debug, Subcommand)]
pub enum BankCommand {
    /// 导出银行文件: write the authorised batch's bank file and record the
    /// export (format, template, SHA-256, who, when) in one step.
    Export {
        /// The batch.
        batch: String,
        /// csv (UTF-8 with BOM), csv-gbk or xlsx.
        #[arg(long, value_parser = parse_format)]
        format: FileFormat,
        /// The bank's column template (TOML or JSON); the default otherwise.
        #[arg(long)]
        template: Option<PathBuf>,
        /// Where to write the file.
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        act: ActAs,
    },
    /// 导入银行回单: read the bank's result file (CSV UTF-8/GBK or XLSX) and
    /// record each line's outcome; the same file twice changes nothing.
    Import {
        /// The batch.
        batch: String,
        /// The result file.
        file: PathBuf,
        /// The bank's column template (TOML or JSON); the default otherwise.
        #[arg(long)]
        template: Option<PathBuf>,
        /// The day the bank booked the transfers (YYYY-MM-DD); today otherwise.
        #[arg(long, value_parser = parse_date)]
        value_date: Option<NaiveDate>,
        #[command(flatten)]
        act: ActAs,
    },
}

/// `bangfu batch …` after the draft.
#[derive(Debug, Subcommand)]
pub enum BatchLifeCommand {
    /// 锁定: no more changes; ready for authorisation.
    Lock {
        /// The batch.
        id: String,
        #[command(flatten)]
        act: ActAs,
    },
    /// 审批签发: one signature (never the drafter's).
    Authorise {
        /// The batch.
        id: String,
        /// Remark.
        #[arg(long)]
        note: Option<String>,
        #[command(flatten)]
        act: ActAs,
    },
    /// 作废: discard a batch not yet exported; its payouts are due again.
    Discard {
        /// The batch.
        id: String,
        /// Why.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        act: ActAs,
    },
    /// 重新发放: a failed payout becomes a new payout to a corrected card.
    Reissue {
        /// The batch.
        id: String,
        /// The failed payout.
        payout: String,
        /// The corrected bank card.
        #[arg(long)]
        card: String,
        /// Its bank.
        #[arg(long)]
        bank: Option<String>,
        /// Why.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        act: ActAs,
    },
    /// 取消发放: a failed payout is cancelled; its money returns to the fund.
    Cancel {
        /// The batch.
        id: String,
        /// The failed payout.
        payout: String,
        /// Why.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        act: ActAs,
    },
    /// 关闭批次: every line is settled.
    Close {
        /// The batch.
        id: String,
        #[command(flatten)]
        act: ActAs,
    },
}

fn io(e: std::io::Error) -> Failure {
    Failure::other(e.to_string())
}

fn invalid(field: &str, error: ValueError, lang: Lang) -> Failure {
    let e = AppError::Input(InputError::Value {
        field: field.into(),
        error,
    });
    Failure::app(e, lang)
}

fn input_failure(code: &'static str, message: String) -> Failure {
    Failure {
        code: Some(code),
        message,
        exit: ExitKind::Input,
    }
}

/// A bank-file error as a failure with its exit status.
pub fn bank_failure(e: BankFileError, lang: Lang) -> Failure {
    let exit = match &e {
        BankFileError::File(_) => ExitKind::Input,
        BankFileError::NotFound(_) => ExitKind::NotFound,
        BankFileError::NotAuthorised { .. }
        | BankFileError::NotExported { .. }
        | BankFileError::CashLine(_) => ExitKind::Rejected,
        BankFileError::App(a) => ExitKind::of(a),
    };
    Failure {
        code: Some(e.code()),
        message: e.localize(lang),
        exit,
    }
}

fn context(app: &App, act: &ActAs, lang: Lang) -> Result<CommandContext, Failure> {
    let id = Code::parse(&act.actor).map_err(|e| invalid("actor", e, lang))?;
    Ok(app.clock.context(Actor { id, role: act.role }, None, None))
}

fn template(path: Option<&Path>, lang: Lang) -> Result<BankTemplate, Failure> {
    let Some(path) = path else {
        return Ok(BankTemplate::default());
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        input_failure(
            "input.unreadable_file",
            match lang {
                Lang::Zh => format!("无法读取模板 {}：{e}", path.display()),
                Lang::En => format!("cannot read the template {}: {e}", path.display()),
            },
        )
    })?;
    bankfile::read_template(&text).map_err(|e| bank_failure(BankFileError::File(e), lang))
}

/// Runs `bangfu bank …`.
pub async fn run(
    app: &App,
    command: BankCommand,
    lang: Lang,
    out: &mut dyn std::io::Write,
) -> Result<(), Failure> {
    match command {
        BankCommand::Export {
            batch,
            format,
            template: t,
            out: path,
            act,
        } => {
            let template = template(t.as_deref(), lang)?;
            let ctx = context(app, &act, lang)?;
            export(app, (&batch, format, &template, &path), ctx, lang, out).await
        }
        BankCommand::Import {
            batch,
            file,
            template: t,
            value_date,
            act,
        } => {
            let template = template(t.as_deref(), lang)?;
            let ctx = context(app, &act, lang)?;
            let bytes = std::fs::read(&file).map_err(|e| {
                input_failure(
                    "input.unreadable_file",
                    match lang {
                        Lang::Zh => format!("无法读取回单文件 {}：{e}", file.display()),
                        Lang::En => format!("cannot read the result file {}: {e}", file.display()),
                    },
                )
            })?;
            let imported = bankfile::import(app, &batch, &bytes, &template, value_date, ctx)
                .await
                .map_err(|e| bank_failure(e, lang))?;
            print_import(&batch, &file, &imported, lang, out).map_err(io)
        }
    }
}

/// Writes next to `path` first, so a refused export leaves no file and a
/// path that cannot be written records no export.
async fn export(
    app: &App,
    (batch, format, template, path): (&str, FileFormat, &BankTemplate, &Path),
    ctx: CommandContext,
    lang: Lang,
    out: &mut dyn std::io::Write,
) -> Result<(), Failure> {
    let mut part = path.as_os_str().to_owned();
    part.push(".part");
    let part = PathBuf::from(part);
    std::fs::File::create(&part).map_err(|e| {
        Failure::other(match lang {
            Lang::Zh => format!("无法写入 {}：{e}", path.display()),
            Lang::En => format!("cannot write {}: {e}", path.display()),
        })
    })?;
    let (rendered, committed) = match bankfile::export(app, batch, format, template, ctx).await {
        Ok(done) => done,
        Err(e) => {
            let _ = std::fs::remove_file(&part);
            return Err(bank_failure(e, lang));
        }
    };
    std::fs::write(&part, &rendered.file.bytes)
        .and_then(|()| std::fs::rename(&part, path))
        .map_err(io)?;
    let total = rendered.total.to_yuan_grouped();
    let (n, sha) = (rendered.lines, &rendered.file.sha256);
    match lang {
        Lang::Zh => writeln!(
            out,
            "✓ 已导出批次 {batch} 的银行文件 {}：{n} 笔，合计 {total} 元\n  SHA-256 {sha}\n  已记录导出事件（版本 {}）",
            path.display(),
            committed.version
        ),
        Lang::En => writeln!(
            out,
            "✓ exported batch {batch}'s bank file {}: {n} payouts, total {total} yuan\n  SHA-256 {sha}\n  export recorded (version {})",
            path.display(),
            committed.version
        ),
    }
    .map_err(io)
}

fn print_import(
    batch: &str,
    file: &Path,
    imported: &bankfile::Imported,
    lang: Lang,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let (f, sha) = (file.display(), &imported.sha256);
    if imported.committed.is_none() {
        return match lang {
            Lang::Zh => writeln!(
                out,
                "回单 {f} 此前已导入批次 {batch}（SHA-256 {sha} 相同），未作任何更改"
            ),
            Lang::En => writeln!(
                out,
                "the result file {f} was already imported into batch {batch} (same SHA-256 {sha}); nothing changed"
            ),
        };
    }
    let (paid, failed, n) = (imported.paid, imported.failed, imported.exceptions.len());
    match lang {
        Lang::Zh => writeln!(out, "✓ 已导入回单 {f}（{} 行）到批次 {batch}：成功 {paid} 笔，失败 {failed} 笔，异常 {n} 条\n  SHA-256 {sha}", imported.lines)?,
        Lang::En => writeln!(out, "✓ imported the result file {f} ({} lines) into batch {batch}: {paid} paid, {failed} failed, {n} exceptions\n  SHA-256 {sha}", imported.lines)?,
    }
    for (payout, reason) in &imported.failures {
        match lang {
            Lang::Zh => writeln!(out, "  失败 {payout}：{reason}")?,
            Lang::En => writeln!(out, "  failed {payout}: {reason}")?,
        }
    }
    for e in &imported.exceptions {
        let line = serde_json::to_value(e)
            .ok()
            .and_then(|v| v.get("line")?.as_u64());
        let at = match (line, lang) {
            (Some(l), Lang::Zh) => format!("第 {l} 行 "),
            (Some(l), Lang::En) => format!("line {l}: "),
            (None, _) => String::new(),
        };
        writeln!(out, "  {at}{} {}", e.label(lang), e.payout_id())?;
    }
    Ok(())
}

/// Runs `bangfu batch lock|authorise|…`.
pub async fn life(
    app: &App,
    command: BatchLifeCommand,
    lang: Lang,
    out: &mut dyn std::io::Write,
) -> Result<(), Failure> {
    use BatchLifeCommand as B;
    use PayoutBatchCommand as C;
    let text = |field: &str, s: &str| ShortText::parse(s).map_err(|e| invalid(field, e, lang));
    let payout = |s: &str| PayoutId::parse(s).map_err(|e| invalid("payout_id", e, lang));
    let (id, act, body) = match command {
        B::Lock { id, act } => (id, act, C::Lock),
        B::Authorise { id, note, act } => {
            let note = note.as_deref().map(|n| text("note", n)).transpose()?;
            (id, act, C::Authorise { note })
        }
        B::Discard { id, reason, act } => {
            let reason = text("reason", &reason)?;
            (id, act, C::Discard { reason })
        }
        B::Reissue {
            id,
            payout: p,
            card,
            bank,
            reason,
            act,
        } => {
            let card = BankCard::parse(&card).map_err(|e| invalid("card", e, lang))?;
            let bank = bank
                .as_deref()
                .map(|b| OrgName::parse(b).map_err(|e| invalid("bank", e, lang)))
                .transpose()?;
            let body = C::Reissue {
                payout_id: payout(&p)?,
                account: PayeeAccount::Bank { card, bank },
                reason: text("reason", &reason)?,
            };
            (id, act, body)
        }
        B::Cancel {
            id,
            payout: p,
            reason,
            act,
        } => {
            let body = C::CancelPayout {
                payout_id: payout(&p)?,
                reason: text("reason", &reason)?,
            };
            (id, act, body)
        }
        B::Close { id, act } => (id, act, C::Close),
    };
    let ctx = context(app, &act, lang)?;
    let committed = execute::<PayoutBatch>(&app.batches, &id, domain::command::Cmd { ctx, body })
        .await
        .map_err(|e| Failure::app(e, lang))?;
    print_committed(&committed, false, lang, out).map_err(io)
}
