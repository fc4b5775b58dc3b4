//! `bangfu audit …`: key, seal, seals, verify, export-chain.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Subcommand;
use domain::i18n::Lang;
use serde_json::{json, Value};

use crate::app::App;
use crate::audit::key::{self, SealKey};
use crate::audit::seal::Seal;
use crate::audit::verify::{self, AuditReport, SealFinding, SealSource};
use crate::audit::AuditError;
use crate::cli::{io_failure, ExitKind, Failure};
use crate::store::{LogPosition, MAX_READ_PAGE};

/// `bangfu audit`'s arguments.
#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// The installation's seal key (Ed25519, created on first use, mode
    /// 0600). Default: next to a SQLite store (`<db>.seal-key`), else
    /// `bangfu-seal.key` in the working directory.
    #[arg(long, env = "BANGFU_SEAL_KEY", global = true)]
    pub key: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: AuditCommand,
}

/// The audit subcommands.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Print the installation's public key (creating the key pair on first use).
    Key,
    /// Verify the history, then seal it: event count and Merkle roots, signed.
    Seal {
        /// Also write the seal to this file, to publish.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the stored seals (or write them all to a file with --out).
    Seals {
        /// Write every seal's text to this file.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check every hash chain, the log order, and every stored and given seal.
    Verify {
        /// A published seal file to check as well (repeatable).
        #[arg(long = "seal")]
        seals: Vec<PathBuf>,
        /// The public key seals must be signed with (hex); default: the
        /// installation's key, if its file is here.
        #[arg(long)]
        public_key: Option<String>,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// The audit reviews: rederive, what-if, sod, access-log.
    #[command(flatten)]
    Review(crate::cli::audit_review::ReviewCommand),
    /// Print the independent verifier: a Python 3 script (standard library
    /// only) that recomputes every chain and seal from an export or the
    /// SQLite file, without bangfu.
    Verifier,
    /// Write every event's hashed columns as JSON Lines in log order, for an
    /// independent verifier (`bangfu audit verifier`).
    ExportChain {
        /// The file to write; stdout when absent.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// The independent verifier, shipped inside the binary so an auditor who
/// has only `bangfu` (or only its output) can still get it.
pub const VERIFIER: &str = include_str!("../audit/verify_seal.py");

fn audit_failure(e: AuditError, lang: Lang) -> Failure {
    let (code, exit) = match &e {
        AuditError::Store(_) => ("audit.store", ExitKind::Failure),
        AuditError::Key(..) => ("audit.key", ExitKind::Failure),
        AuditError::SealFormat(_) => ("audit.seal_format", ExitKind::Input),
        AuditError::NotSealable(_) => ("audit.not_sealable", ExitKind::Tampered),
    };
    Failure {
        code: Some(code),
        message: e.localize(lang),
        exit,
    }
}

fn key_path(app: &App, given: Option<PathBuf>) -> PathBuf {
    given.unwrap_or_else(|| key::default_path(&app.store))
}

/// Runs one audit subcommand.
pub async fn run(
    app: &App,
    args: AuditArgs,
    lang: Lang,
    out: &mut dyn Write,
) -> Result<(), Failure> {
    let fail = |e: AuditError| audit_failure(e, lang);
    match args.command {
        AuditCommand::Key => {
            let path = key_path(app, args.key);
            let key = SealKey::load_or_create(&path).map_err(fail)?;
            writeln!(out, "{}", key.public_hex()).map_err(io_failure)
        }
        AuditCommand::Seal { out: file, json } => {
            let key = SealKey::load_or_create(&key_path(app, args.key)).map_err(fail)?;
            let sealed = crate::audit::seal_now(&app.store, &key, app.clock.now()).await;
            let seal = match sealed {
                Err(AuditError::NotSealable(report)) => {
                    print_report(&report, lang, out)?;
                    return Err(fail(AuditError::NotSealable(report)));
                }
                other => other.map_err(fail)?,
            };
            if let Some(path) = &file {
                write_file(path, &seal.to_text(), lang)?;
            }
            if json {
                return print_json(out, &seal_json(&seal));
            }
            write!(out, "{}", seal.to_text()).map_err(io_failure)
        }
        AuditCommand::Seals { out: file, json } => seals(app, file, json, lang, out).await,
        AuditCommand::Verify {
            seals,
            public_key,
            json,
        } => {
            let trusted = trusted_key(app, args.key, public_key, lang)?;
            let given = read_seal_files(&seals, lang)?;
            let report = verify::verify(app.store.kernel().as_ref(), given, trusted.as_ref())
                .await
                .map_err(|e| fail(e.into()))?;
            if json {
                print_json(out, &report_json(&report))?;
            } else {
                print_report(&report, lang, out)?;
            }
            verdict(&report, lang)
        }
        AuditCommand::ExportChain { out: file } => export_chain(app, file, lang, out).await,
        AuditCommand::Review(command) => {
            crate::cli::audit_review::run(app, command, lang, out).await
        }
        AuditCommand::Verifier => out
            .write_all(VERIFIER.as_bytes())
            .map_err(|e| Failure::other(e.to_string())),
    }
}

fn write_file(path: &Path, text: &str, lang: Lang) -> Result<(), Failure> {
    std::fs::write(path, text).map_err(|e| {
        Failure::other(match lang {
            Lang::Zh => format!("无法写入 {}：{e}", path.display()),
            Lang::En => format!("cannot write {}: {e}", path.display()),
        })
    })
}

fn print_json(out: &mut dyn Write, value: &Value) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    writeln!(out, "{text}").map_err(io_failure)
}

fn seal_json(seal: &Seal) -> Value {
    json!({
        "sealed_at": seal.sealed_at,
        "log_position": seal.log_position,
        "events": seal.snapshot.events,
        "streams": seal.snapshot.streams,
        "streams_root": hex::encode(seal.snapshot.streams_root),
        "log_root": hex::encode(seal.snapshot.log_root),
        "public_key": seal.public_key,
        "signature": seal.signature,
        "text": seal.to_text(),
    })
}

async fn seals(
    app: &App,
    file: Option<PathBuf>,
    json: bool,
    lang: Lang,
    out: &mut dyn Write,
) -> Result<(), Failure> {
    let records = app
        .store
        .seals()
        .await
        .map_err(|e| audit_failure(e.into(), lang))?;
    if let Some(path) = &file {
        let all: Vec<&str> = records.iter().map(|r| r.text.as_str()).collect();
        write_file(path, &all.join("\n"), lang)?;
    }
    if json {
        let rows: Vec<Value> = records
            .iter()
            .map(|r| json!({"sealed_at": r.sealed_at, "log_position": r.log_position, "events": r.events, "text": r.text}))
            .collect();
        return print_json(out, &Value::Array(rows));
    }
    if records.is_empty() {
        let none = lang.pick("（尚无封印）", "(no seals yet)");
        return writeln!(out, "{none}").map_err(io_failure);
    }
    for (i, r) in records.iter().enumerate() {
        let line = match lang {
            Lang::Zh => format!(
                "#{}  {}  日志位置 {}  事件 {} 个",
                i + 1,
                r.sealed_at,
                r.log_position,
                r.events
            ),
            Lang::En => format!(
                "#{}  {}  log position {}  {} events",
                i + 1,
                r.sealed_at,
                r.log_position,
                r.events
            ),
        };
        writeln!(out, "{line}").map_err(io_failure)?;
    }
    Ok(())
}

fn trusted_key(
    app: &App,
    key_file: Option<PathBuf>,
    public_key: Option<String>,
    lang: Lang,
) -> Result<Option<ed25519_dalek::VerifyingKey>, Failure> {
    if let Some(text) = public_key {
        return key::parse_public(&text).map(Some).ok_or_else(|| Failure {
            code: Some("audit.public_key"),
            message: lang
                .pick(
                    "--public-key 不是 64 位十六进制的 Ed25519 公钥",
                    "--public-key is not a 64-hex-digit Ed25519 public key",
                )
                .to_string(),
            exit: ExitKind::Input,
        });
    }
    let path = key_path(app, key_file);
    if !path.exists() {
        return Ok(None);
    }
    let key = SealKey::load(&path).map_err(|e| audit_failure(e, lang))?;
    Ok(Some(key.public()))
}

fn read_seal_files(paths: &[PathBuf], lang: Lang) -> Result<Vec<SealSource>, Failure> {
    let mut sources = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(path).map_err(|e| Failure {
            code: Some("audit.seal_file"),
            message: match lang {
                Lang::Zh => format!("无法读取封印文件 {}：{e}", path.display()),
                Lang::En => format!("cannot read the seal file {}: {e}", path.display()),
            },
            exit: ExitKind::Input,
        })?;
        let seals = Seal::parse_all(&text).map_err(|e| {
            let mut failure = audit_failure(e, lang);
            failure.message = format!("{}: {}", path.display(), failure.message);
            failure
        })?;
        sources.extend(seals.into_iter().map(|seal| SealSource {
            origin: path.display().to_string(),
            seal: Ok(seal),
        }));
    }
    Ok(sources)
}

fn verdict(report: &AuditReport, lang: Lang) -> Result<(), Failure> {
    if report.altered() {
        return Err(Failure {
            code: Some("audit.altered"),
            message: lang
                .pick(
                    "历史已被改动：哈希链、日志顺序、日志行数或封印不符",
                    "history was altered: a hash chain, the log order, the log's rows or a seal does not match",
                )
                .to_string(),
            exit: ExitKind::Tampered,
        });
    }
    if report.forged() {
        return Err(Failure {
            code: Some("audit.seal_forged"),
            message: lang
                .pick(
                    "封印不可信：签名无效或并非本机构的密钥所签",
                    "a seal is not genuine: its signature does not verify or another key signed it",
                )
                .to_string(),
            exit: ExitKind::SealForged,
        });
    }
    Ok(())
}

fn report_json(report: &AuditReport) -> Value {
    let breaks: Vec<Value> = report
        .chains
        .breaks
        .iter()
        .map(|b| {
            json!({
                "aggregate_type": b.aggregate_type, "aggregate_id": b.aggregate_id,
                "sequence": b.sequence, "problem": format!("{:?}", b.problem),
                "expected": b.expected, "stored": b.stored,
            })
        })
        .collect();
    let order: Vec<Value> = report
        .order
        .iter()
        .map(|o| {
            json!({
                "aggregate_type": o.aggregate_type, "aggregate_id": o.aggregate_id,
                "sequence": o.sequence, "after": o.after, "log_position": o.log_position,
            })
        })
        .collect();
    let seals: Vec<Value> = report.seals.iter().map(|s| json!({
        "origin": s.origin,
        "log_position": s.seal.as_ref().map(|x| x.log_position),
        "sealed_at": s.seal.as_ref().map(|x| x.sealed_at.clone()),
        "ok": s.findings.is_empty(),
        "findings": s.findings.iter().map(|f| finding_text(f, Lang::En)).collect::<Vec<_>>(),
    })).collect();
    json!({
        "ok": !report.altered() && !report.forged(),
        "altered": report.altered(),
        "forged": report.forged(),
        "streams": report.chains.streams,
        "events": report.chains.events,
        "log_position": report.total.0,
        "chain_breaks": breaks,
        "chain_breaks_omitted": report.chains.breaks_omitted,
        "order_problems": order,
        "unread_rows": report.unread.map(|u| json!({"held": u.held, "read": u.read})),
        "seals": seals,
        "trusted_key": report.trusted_key,
    })
}

fn finding_text(f: &SealFinding, lang: Lang) -> String {
    match (f, lang) {
        (SealFinding::Unreadable(why), Lang::Zh) => format!("封印无法读取：{why}"),
        (SealFinding::Unreadable(why), Lang::En) => format!("unreadable seal: {why}"),
        (SealFinding::BadSignature, _) => lang.pick("签名无效", "signature does not verify").into(),
        (SealFinding::OtherKey(k), Lang::Zh) => format!("由其他密钥签名：{k}"),
        (SealFinding::OtherKey(k), Lang::En) => format!("signed by another key: {k}"),
        (SealFinding::Differs { sealed, found }, lang) => differs_text(sealed, found, lang),
    }
}

fn differs_text(
    sealed: &crate::audit::scan::Snapshot,
    found: &crate::audit::scan::Snapshot,
    lang: Lang,
) -> String {
    let mut parts = Vec::new();
    if sealed.events != found.events {
        parts.push(match lang {
            Lang::Zh => format!("事件数 封印 {} / 现有 {}", sealed.events, found.events),
            Lang::En => format!("events sealed {} / now {}", sealed.events, found.events),
        });
    }
    if sealed.streams != found.streams {
        parts.push(match lang {
            Lang::Zh => format!("案卷流数 封印 {} / 现有 {}", sealed.streams, found.streams),
            Lang::En => format!("streams sealed {} / now {}", sealed.streams, found.streams),
        });
    }
    if sealed.streams_root != found.streams_root {
        parts.push(lang.pick("案卷流根不符", "streams root differs").into());
    }
    if sealed.log_root != found.log_root {
        parts.push(lang.pick("日志根不符", "log root differs").into());
    }
    parts.join(lang.pick("；", "; "))
}

fn print_report(report: &AuditReport, lang: Lang, out: &mut dyn Write) -> Result<(), Failure> {
    let c = &report.chains;
    let head = match lang {
        Lang::Zh => format!(
            "已核验 {} 个案卷流、{} 个事件的哈希链与日志顺序，{} 个封印",
            c.streams,
            c.events,
            report.seals.len()
        ),
        Lang::En => format!(
            "verified the hash chains and log order of {} streams, {} events, and {} seals",
            c.streams,
            c.events,
            report.seals.len()
        ),
    };
    let mut lines = vec![head];
    for b in &c.breaks {
        lines.push(format!(
            "  ✗ {} {} #{}: {:?} expected {} stored {}",
            b.aggregate_type, b.aggregate_id, b.sequence, b.problem, b.expected, b.stored
        ));
    }
    for o in &report.order {
        lines.push(match lang {
            Lang::Zh => format!(
                "  ✗ {} {} #{} 在日志位置 {} 出现于 #{} 之后（顺序被改动）",
                o.aggregate_type, o.aggregate_id, o.sequence, o.log_position, o.after
            ),
            Lang::En => format!(
                "  ✗ {} {} #{} follows #{} in the log at {} (order altered)",
                o.aggregate_type, o.aggregate_id, o.sequence, o.after, o.log_position
            ),
        });
    }
    if let Some(u) = report.unread {
        lines.push(match lang {
            Lang::Zh => format!(
                "  ✗ 事件表存有 {} 行，按日志读取只得 {} 行：有事件被放在日志读取不到的位置（插入）",
                u.held, u.read
            ),
            Lang::En => format!(
                "  ✗ the events table holds {} rows where reading the log returns {}: events were placed where the log is not read (insertion)",
                u.held, u.read
            ),
        });
    }
    for s in &report.seals {
        let at = s.seal.as_ref().map_or(String::new(), |x| {
            format!(" {} @ {}", x.sealed_at, x.log_position)
        });
        if s.findings.is_empty() {
            lines.push(format!(
                "  ✓ {} {}{at}",
                lang.pick("封印", "seal"),
                s.origin
            ));
        }
        for f in &s.findings {
            lines.push(format!(
                "  ✗ {} {}{at}: {}",
                lang.pick("封印", "seal"),
                s.origin,
                finding_text(f, lang)
            ));
        }
    }
    if report.trusted_key.is_none() && !report.seals.is_empty() {
        lines.push(lang.pick("  ⚠ 未找到本机构公钥（--public-key），签名仅按封印自带的公钥核验", "  ⚠ no trusted public key (--public-key): signatures checked against each seal's own key").into());
    }
    if !report.altered() && !report.forged() {
        lines.push(
            lang.pick(
                "✓ 历史完整，与全部封印相符",
                "✓ history intact and matches every seal",
            )
            .into(),
        );
    }
    for line in lines {
        writeln!(out, "{line}").map_err(io_failure)?;
    }
    Ok(())
}

async fn export_chain(
    app: &App,
    file: Option<PathBuf>,
    lang: Lang,
    out: &mut dyn Write,
) -> Result<(), Failure> {
    let mut text = String::new();
    let mut after = LogPosition::START;
    let mut exported = 0u64;
    loop {
        let page = app
            .store
            .read_all(after, MAX_READ_PAGE)
            .await
            .map_err(|e| audit_failure(e.into(), lang))?;
        let full = page.len() == MAX_READ_PAGE;
        for e in page {
            after = e.log_position;
            let line = json!({
                "position": e.position, "log_position": e.log_position.to_string(),
                "aggregate_type": e.aggregate_type, "aggregate_id": e.aggregate_id,
                "sequence": e.sequence, "event_type": e.event_type,
                "event_version": e.event_version, "payload": e.payload,
                "metadata": e.metadata, "prev_hash": e.prev_hash, "hash": e.hash,
            });
            text.push_str(&line.to_string());
            text.push('\n');
            exported += 1;
        }
        if !full {
            break;
        }
    }
    match file {
        Some(path) => write_file(&path, &text, lang)?,
        None => out.write_all(text.as_bytes()).map_err(io_failure)?,
    }
    // Rows placed where the log is not read are not in the export: an
    // outside verifier would not see them, so say so (exit 6).
    let held = app
        .store
        .kernel()
        .count_through(after)
        .await
        .map_err(|e| audit_failure(e.into(), lang))?;
    match held {
        Some(held) if held != exported => Err(Failure {
            code: Some("audit.altered"),
            message: match lang {
                Lang::Zh => format!("事件表存有 {held} 行，导出的日志只有 {exported} 行：有事件被放在日志读取不到的位置；请运行 bangfu audit verify"),
                Lang::En => format!("the events table holds {held} rows, the exported log {exported}: events were placed where the log is not read; run bangfu audit verify"),
            },
            exit: ExitKind::Tampered,
        }),
        _ => Ok(()),
    }
}
