//! The `bangfu` command line: run any command of any aggregate from JSON,
//! print a stream's history, verify the hash chains, print, rebuild and
//! verify the views, and load the demo.
//!
//! Output is for people (Chinese by default, `--lang en`) or, with `--json`,
//! for programs. Errors go to stderr with their stable code; the exit status
//! says what kind of failure it was (see [`ExitKind`]).

pub mod audit;
pub mod audit_review;
pub mod backup;
pub mod bank;
pub mod demo;
pub mod export;
pub mod finance;
pub mod store;
pub mod users;
pub mod views;

use std::io::Read;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use comfy_table::{presets, ContentArrangement, Table};
use domain::command::{Actor, Role};
use domain::i18n::{ErrorCode, Lang, Localize};
use domain::values::Code;
use serde_json::json;
use uuid::Uuid;

use crate::app::engine::{Committed, Engine};
use crate::app::{execute_json, AggregateKind, App, AppError, CaseAggregate};
use crate::audit::asof::AsOf;
use crate::store::DEFAULT_DB_PATH;

/// 帮扶 bangfu — 工会困难帮扶案件管理（事件溯源）
/// Event-sourced case management for trade-union hardship assistance.
#[derive(Debug, Parser)]
#[command(name = "bangfu", version, about, long_about = None)]
pub struct Cli {
    /// Embedded store: the SQLite database file (created on first use).
    #[arg(long, global = true, env = "BANGFU_DB", default_value = DEFAULT_DB_PATH)]
    pub db: PathBuf,
    /// The store as a URL: sqlite://PATH, postgres://…, esdb://… or
    /// kurrentdb://… (overrides --db).
    #[arg(long, global = true, env = "BANGFU_STORE")]
    pub store: Option<String>,
    /// Language of the output: zh (default) or en.
    #[arg(long, global = true, env = "BANGFU_LANG", default_value = "zh", value_parser = parse_lang)]
    pub lang: Lang,
    /// Time zone of business dates ("today" for "not dated after today"), an
    /// IANA name.
    #[arg(long, global = true, env = "BANGFU_TZ", default_value = "Asia/Shanghai", value_parser = crate::app::clock::parse_tz)]
    pub tz: chrono_tz::Tz,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

fn parse_lang(s: &str) -> Result<Lang, String> {
    Lang::parse(s).ok_or_else(|| format!("unknown language `{s}` (zh, en)"))
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| {
        format!("unknown role `{s}` (caseworker, approver, finance, auditor, admin)")
    })
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one command (JSON body from --file or stdin) against an aggregate.
    Run {
        /// Aggregate type.
        kind: AggregateKind,
        /// Aggregate id (1–64 of A–Z a–z 0–9 . _ / -).
        id: String,
        /// JSON file with the command body; stdin when absent or `-`.
        #[arg(long, short)]
        file: Option<PathBuf>,
        /// Acting user id.
        #[arg(long, env = "BANGFU_ACTOR")]
        actor: String,
        /// Acting role: caseworker, approver, finance, auditor, admin.
        #[arg(long, env = "BANGFU_ROLE", value_parser = parse_role)]
        role: Role,
        /// Correlation id tying this command to others (defaults to the command id).
        #[arg(long)]
        correlation_id: Option<Uuid>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print a stream's full history: every event, who, when, hash chain.
    History {
        /// Aggregate type.
        kind: AggregateKind,
        /// Aggregate id.
        id: String,
        /// Print as JSON (full payloads and metadata).
        #[arg(long)]
        json: bool,
        /// Show resident IDs, bank cards and phones in full (recorded in
        /// the read-access log); by default they are masked.
        #[arg(long)]
        unmasked: bool,
        #[command(flatten)]
        as_of: AsOfArgs,
        #[command(flatten)]
        export: crate::cli::export::ExportArgs,
    },
    /// Print an aggregate's current state as JSON.
    Show {
        /// Aggregate type.
        kind: AggregateKind,
        /// Aggregate id.
        id: String,
        /// Show resident IDs, bank cards and phones in full (recorded in
        /// the read-access log); by default they are masked.
        #[arg(long)]
        unmasked: bool,
        #[command(flatten)]
        as_of: AsOfArgs,
        #[command(flatten)]
        export: crate::cli::export::ExportArgs,
    },
    /// List the ids of one aggregate type.
    Streams {
        /// Aggregate type.
        kind: AggregateKind,
    },
    /// Recompute every stream's hash chain; non-zero exit if any link is broken.
    Verify {
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print a view (caught up to the latest event first).
    View {
        #[command(flatten)]
        as_of: AsOfArgs,
        #[command(flatten)]
        export: crate::cli::export::ExportArgs,
        /// Which view.
        #[command(subcommand)]
        view: crate::cli::views::ViewCommand,
    },
    /// Rebuild or verify the views.
    Projections {
        /// What to do.
        #[command(subcommand)]
        command: crate::cli::views::ProjectionsCommand,
    },
    /// Load a realistic scenario (household, plan period with claims, campaign) and summarise it.
    Demo,
    /// Move the event history between stores.
    #[command(subcommand)]
    Store(crate::cli::store::StoreCommand),
    /// Run the HTTP API (the main job): 127.0.0.1:8080 unless told otherwise.
    Serve(crate::http::serve::ServeArgs),
    /// Manage the API's users: add (prints a token once), list, revoke,
    /// reset-token, roles.
    #[command(subcommand)]
    Users(crate::cli::users::UsersCommand),
    /// 发放款项: due payouts of a fund.
    #[command(subcommand)]
    Payouts(crate::cli::finance::PayoutsCommand),
    /// 发放批次: draft, lock, authorise, discard, re-issue, cancel, close.
    #[command(subcommand)]
    Batch(crate::cli::finance::BatchCommand),
    /// 银行文件: export a batch's bank file (recorded), import the bank's results.
    #[command(subcommand)]
    Bank(crate::cli::bank::BankCommand),
    /// Copy the embedded store to a new file, online and consistent, and
    /// verify the copy's hash chains.
    Backup(crate::cli::backup::BackupArgs),
    /// Restore a backup into the (new) file --db names, then verify its hash
    /// chains and views.
    Restore(crate::cli::backup::RestoreArgs),
    /// Audit: seals (key, seal, seals, verify, export-chain, verifier) and
    /// reviews (rederive, what-if, sod, access-log).
    Audit(crate::cli::audit::AuditArgs),
}

/// `--as-of` / `--as-of-position`: read the past (see `audit::asof`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct AsOfArgs {
    /// As of a business date (YYYY-MM-DD: what was true then) or a recorded
    /// time (RFC 3339: what was known then).
    #[arg(long, global = true)]
    pub as_of: Option<String>,
    /// As of a log position (N, or commit/N on PostgreSQL).
    #[arg(long, global = true)]
    pub as_of_position: Option<String>,
}

impl AsOfArgs {
    fn point(&self, lang: Lang) -> Result<Option<crate::audit::asof::AsOf>, Failure> {
        crate::cli::audit_review::point(self.as_of.as_deref(), self.as_of_position.as_deref(), lang)
    }
}

/// Exit statuses, stable for scripts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitKind {
    /// Done.
    Ok = 0,
    /// Storage or internal failure.
    Failure = 1,
    /// Bad command line (clap's own).
    Usage = 2,
    /// The command body or an argument was invalid; nothing was written.
    Input = 3,
    /// A business rule refused the command; nothing was written.
    Rejected = 4,
    /// A concurrent change or a held key; nothing was written.
    Conflict = 5,
    /// The hash-chain verification found a break.
    Tampered = 6,
    /// The live views differ from a rebuild, or a fund is overdrawn.
    ViewsDiffer = 7,
    /// What was asked for (a stream, a view row, a user) does not exist.
    NotFound = 8,
    /// An audit seal is not genuine: its signature does not verify, or
    /// another key signed it (`bangfu audit verify`).
    SealForged = 9,
    /// `audit rederive` or `audit sod` found a discrepancy or a breach.
    Findings = 10,
}

impl ExitKind {
    /// The exit kind for an error.
    pub fn of(e: &AppError) -> ExitKind {
        match e {
            AppError::Input(_) => ExitKind::Input,
            AppError::Rejected { .. } | AppError::InsufficientFunds(_) => ExitKind::Rejected,
            AppError::Conflict | AppError::Reservation(_) => ExitKind::Conflict,
            AppError::Storage(_) => ExitKind::Failure,
        }
    }
}

/// A failure to report: the message (already localised) and the exit status.
#[derive(Debug)]
pub struct Failure {
    /// Stable code, when there is one.
    pub code: Option<&'static str>,
    /// What to tell the person.
    pub message: String,
    /// How to exit.
    pub exit: ExitKind,
}

impl From<String> for Failure {
    fn from(message: String) -> Failure {
        Failure::other(message)
    }
}

impl Failure {
    pub(crate) fn app(e: AppError, lang: Lang) -> Failure {
        Failure {
            code: Some(e.code()),
            message: e.localize(lang),
            exit: ExitKind::of(&e),
        }
    }

    pub fn other(message: String) -> Failure {
        Failure {
            code: None,
            message,
            exit: ExitKind::Failure,
        }
    }
}

/// Runs the parsed command line, writing results to `out`.
pub async fn run(cli: Cli, out: &mut dyn std::io::Write) -> Result<(), Failure> {
    let lang = cli.lang;
    domain::i18n::set_default_lang(lang);
    // These need no open store (or must not create one).
    match cli.command {
        Command::Store(command) => return crate::cli::store::run(command, lang, out).await,
        Command::Backup(args) => {
            return crate::cli::backup::backup(cli.store.as_deref(), &cli.db, args, lang, out).await
        }
        Command::Restore(args) => {
            return crate::cli::backup::restore(cli.store.as_deref(), &cli.db, args, lang, out)
                .await
        }
        _ => {}
    }
    let opened = match &cli.store {
        Some(url) => App::open_url(url).await,
        None => App::open(&cli.db).await,
    };
    let app = opened.map_err(|e| {
        let shown = match &cli.store {
            Some(url) => crate::store::redact_url(url),
            None => cli.db.display().to_string(),
        };
        Failure::other(match lang {
            Lang::Zh => format!("无法打开数据库 {shown}：{e}"),
            Lang::En => format!("cannot open the database {shown}: {e}"),
        })
    })?;
    let app = std::sync::Arc::new(app.with_clock(crate::app::clock::BusinessClock::system(cli.tz)));
    let result = dispatch(&app, &cli.db, cli.command, lang, out).await;
    app.store.close().await;
    result
}

async fn dispatch(
    app: &std::sync::Arc<App>,
    db: &std::path::Path,
    command: Command,
    lang: Lang,
    out: &mut dyn std::io::Write,
) -> Result<(), Failure> {
    match command {
        Command::Run {
            kind,
            id,
            file,
            actor,
            role,
            correlation_id,
            json,
        } => {
            let body = read_body(file.as_ref(), lang)?;
            let actor_id = Code::parse(&actor).map_err(|error| {
                Failure::app(
                    AppError::Input(crate::app::input::InputError::Value {
                        field: "actor".into(),
                        error,
                    }),
                    lang,
                )
            })?;
            let ctx = app
                .clock
                .context(Actor { id: actor_id, role }, None, correlation_id);
            let args = RunArgs {
                id: &id,
                body: &body,
                ctx,
                json,
                lang,
                app,
            };
            match kind {
                AggregateKind::HardshipFile => run_json(&app.files, args, out).await,
                AggregateKind::MutualAidPlan => run_json(&app.plans, args, out).await,
                AggregateKind::MutualAidClaim => run_json(&app.claims, args, out).await,
                AggregateKind::DonationCampaign => run_json(&app.campaigns, args, out).await,
                AggregateKind::FundAccount => run_json(&app.funds, args, out).await,
                AggregateKind::PayoutBatch => run_json(&app.batches, args, out).await,
                AggregateKind::AccountingPeriod => run_json(&app.periods, args, out).await,
            }
        }
        Command::History {
            kind,
            id,
            json,
            unmasked,
            as_of,
            export,
        } => {
            let point = as_of.point(lang)?;
            let target = export.target(lang)?;
            let args = (id.as_str(), json, unmasked, point, target, lang);
            match kind {
                AggregateKind::HardshipFile => history(app, &app.files, args, out).await,
                AggregateKind::MutualAidPlan => history(app, &app.plans, args, out).await,
                AggregateKind::MutualAidClaim => history(app, &app.claims, args, out).await,
                AggregateKind::DonationCampaign => history(app, &app.campaigns, args, out).await,
                AggregateKind::FundAccount => history(app, &app.funds, args, out).await,
                AggregateKind::PayoutBatch => history(app, &app.batches, args, out).await,
                AggregateKind::AccountingPeriod => history(app, &app.periods, args, out).await,
            }
        }
        Command::Show {
            kind,
            id,
            unmasked,
            as_of,
            export,
        } => {
            let point = as_of.point(lang)?;
            let target = export.target(lang)?;
            let args = (id.as_str(), unmasked, point, target, lang);
            match kind {
                AggregateKind::HardshipFile => show(app, &app.files, args, out).await,
                AggregateKind::MutualAidPlan => show(app, &app.plans, args, out).await,
                AggregateKind::MutualAidClaim => show(app, &app.claims, args, out).await,
                AggregateKind::DonationCampaign => show(app, &app.campaigns, args, out).await,
                AggregateKind::FundAccount => show(app, &app.funds, args, out).await,
                AggregateKind::PayoutBatch => show(app, &app.batches, args, out).await,
                AggregateKind::AccountingPeriod => show(app, &app.periods, args, out).await,
            }
        }
        Command::Streams { kind } => {
            let ids = app
                .store
                .streams(kind.aggregate_type())
                .await
                .map_err(|e| Failure::app(AppError::Storage(e.to_string()), lang))?;
            for id in ids {
                writeln!(out, "{id}").map_err(io_failure)?;
            }
            Ok(())
        }
        Command::Verify { json } => verify(app, json, lang, out).await,
        Command::View {
            view,
            as_of,
            export,
        } => match (as_of.point(lang)?, export.target(lang)?) {
            (point, Some(target)) => {
                crate::cli::export::view(app, view, point, target, lang, out).await
            }
            (None, None) => crate::cli::views::view(app, view, lang, out).await,
            (Some(point), None) => {
                crate::cli::audit_review::view_as_of(app, view, &point, lang, out).await
            }
        },
        Command::Projections { command } => {
            crate::cli::views::projections(app, command, lang, out).await
        }
        Command::Demo => crate::cli::demo::run(app, lang, out).await,
        // Handled in `run` before a store is opened.
        Command::Store(_) | Command::Backup(_) | Command::Restore(_) => Ok(()),
        Command::Serve(args) => crate::http::serve::serve(app.clone(), db, args, lang, out)
            .await
            .map_err(Failure::other),
        Command::Users(command) => crate::cli::users::run_cli(db, command, lang, out).await,
        Command::Audit(args) => crate::cli::audit::run(app, args, lang, out).await,
        Command::Payouts(command) => crate::cli::finance::payouts(app, command, lang, out).await,
        Command::Batch(command) => crate::cli::finance::batch(app, command, lang, out).await,
        Command::Bank(command) => crate::cli::bank::run(app, command, lang, out).await,
    }
}

/// Standard output or error for a reader that may go away: once the pipe
/// is closed (`bangfu verify | head -1`), writes are dropped rather than
/// failing, so the command runs to its end and exits with the status it
/// means — a broken chain still exits 6 — and nothing panics (`println!`
/// panics on a closed pipe). Other write errors are reported as they are.
#[derive(Debug)]
pub struct PipeOut<W> {
    inner: W,
    closed: bool,
}

impl<W: std::io::Write> PipeOut<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> PipeOut<W> {
        PipeOut {
            inner,
            closed: false,
        }
    }
}

impl<W: std::io::Write> std::io::Write for PipeOut<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.closed {
            return Ok(buf.len());
        }
        match self.inner.write(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(buf.len())
            }
            other => other,
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.closed {
            return Ok(());
        }
        match self.inner.flush() {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(())
            }
            other => other,
        }
    }
}

/// Output failed. A closed pipe (`bangfu history … | head`) is how a reader
/// says "enough": stop quietly, as other Unix tools do.
pub(crate) fn io_failure(e: std::io::Error) -> Failure {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        return Failure {
            code: None,
            message: String::new(),
            exit: ExitKind::Ok,
        };
    }
    Failure::other(format!("output: {e}"))
}

fn read_body(file: Option<&PathBuf>, lang: Lang) -> Result<Vec<u8>, Failure> {
    let limit = crate::app::input::MAX_COMMAND_BYTES as u64 + 1;
    let mut buf = Vec::new();
    let result = match file {
        Some(path) if path.as_os_str() != "-" => std::fs::File::open(path)
            .and_then(|f| f.take(limit).read_to_end(&mut buf))
            .map_err(|e| match lang {
                Lang::Zh => format!("无法读取文件 {}：{e}", path.display()),
                Lang::En => format!("cannot read {}: {e}", path.display()),
            }),
        _ => std::io::stdin()
            .take(limit)
            .read_to_end(&mut buf)
            .map_err(|e| format!("stdin: {e}")),
    };
    result.map_err(|message| Failure {
        code: None,
        message,
        exit: ExitKind::Input,
    })?;
    Ok(buf)
}

struct RunArgs<'a> {
    id: &'a str,
    body: &'a [u8],
    ctx: domain::command::CommandContext,
    json: bool,
    lang: Lang,
    app: &'a App,
}

async fn run_json<A>(
    engine: &Engine<A>,
    args: RunArgs<'_>,
    out: &mut dyn std::io::Write,
) -> Result<(), Failure>
where
    A: CaseAggregate,
    A::Error: ErrorCode,
{
    let lang = args.lang;
    let committed = execute_json(engine, args.id, args.body, args.ctx)
        .await
        .map_err(|e| Failure::app(e, lang))?;
    // Read-your-writes: the views are brought up to the command's last
    // event before returning, and the output says which position they
    // reflect. The command is committed whatever happens here.
    let views = match committed.last_log_position {
        None => args.app.projector.position().await,
        Some(position) => args.app.projector.catch_up_to(position).await,
    };
    if let Err(e) = &views {
        tracing::warn!(error = %e, "views not brought up to date after a command");
    }
    print_committed_with_views(&committed, Some(&views), args.json, lang, out).map_err(io_failure)
}

/// Prints what a command committed and, when given, where the views stand.
fn print_committed_with_views<A: CaseAggregate>(
    committed: &Committed<A>,
    views: Option<&Result<crate::store::LogPosition, crate::projector::ProjectorError>>,
    json: bool,
    lang: Lang,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()>
where
    A::Error: ErrorCode,
{
    if json {
        let mut doc = committed_json(committed, lang);
        if let (Some(views), Some(fields)) = (views, doc.as_object_mut()) {
            let (position, error) = match views {
                Ok(p) => (json!(p), serde_json::Value::Null),
                Err(e) => (serde_json::Value::Null, json!(e.to_string())),
            };
            fields.insert("views_position".into(), position);
            fields.insert("views_error".into(), error);
        }
        return writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&doc).unwrap_or_default()
        );
    }
    print_committed(committed, false, lang, out)?;
    match views {
        None => Ok(()),
        Some(Ok(position)) => match lang {
            Lang::Zh => writeln!(out, "  视图已更新至事件位置 {position}"),
            Lang::En => writeln!(out, "  views reflect the log up to position {position}"),
        },
        Some(Err(e)) => match lang {
            Lang::Zh => writeln!(
                out,
                "  ⚠ 命令已提交，但视图未能更新：{e}（可运行 bangfu projections verify）"
            ),
            Lang::En => writeln!(
                out,
                "  ⚠ the command is committed but the views could not be updated: {e} (run bangfu projections verify)"
            ),
        },
    }
}

fn committed_json<A: CaseAggregate>(committed: &Committed<A>, lang: Lang) -> serde_json::Value
where
    A::Error: ErrorCode,
{
    let events: Vec<_> = committed
        .events
        .iter()
        .map(|e| {
            json!({
                "sequence": e.sequence,
                "event_type": cqrs_es::DomainEvent::event_type(&e.payload),
                "event_id": e.metadata.get(domain::command::metadata_keys::EVENT_ID),
                "label": A::event_label(&e.payload, lang),
                "summary": A::event_describe(&e.payload, lang),
            })
        })
        .collect();
    json!({
        "aggregate_type": A::TYPE,
        "aggregate_id": committed.aggregate_id,
        "version": committed.version,
        "last_position": committed.last_position,
        "events": events,
    })
}

/// Prints what a command committed.
pub fn print_committed<A: CaseAggregate>(
    committed: &Committed<A>,
    json: bool,
    lang: Lang,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()>
where
    A::Error: ErrorCode,
{
    if json {
        return writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&committed_json(committed, lang)).unwrap_or_default()
        );
    }
    let kind = A::KIND.label(lang);
    match lang {
        Lang::Zh => writeln!(
            out,
            "✓ {kind} {}：记录 {} 个事件，当前版本 {}",
            committed.aggregate_id,
            committed.events.len(),
            committed.version
        )?,
        Lang::En => writeln!(
            out,
            "✓ {kind} {}: {} event(s) recorded, now at version {}",
            committed.aggregate_id,
            committed.events.len(),
            committed.version
        )?,
    }
    for e in &committed.events {
        writeln!(
            out,
            "  #{:<3} {}  {}",
            e.sequence,
            A::event_label(&e.payload, lang),
            A::event_describe(&e.payload, lang)
        )?;
    }
    Ok(())
}

type HistoryArgs<'a> = (
    &'a str,
    bool,
    bool,
    Option<AsOf>,
    Option<crate::cli::export::Target>,
    Lang,
);

async fn history<A>(
    app: &App,
    _engine: &Engine<A>,
    (id, json, unmasked, point, target, lang): HistoryArgs<'_>,
    out: &mut dyn std::io::Write,
) -> Result<(), Failure>
where
    A: CaseAggregate,
    A::Error: ErrorCode,
{
    let mut events = app
        .store
        .history(A::TYPE, id)
        .await
        .map_err(|e| Failure::app(AppError::Storage(e.to_string()), lang))?;
    if let Some(point) = &point {
        events.retain(|e| point.includes_stored(e, app.clock.tz()));
    }
    if !events.is_empty() && unmasked {
        crate::cli::audit_review::record_cli_read(
            app,
            "cli history --unmasked",
            A::TYPE,
            id,
            point.as_ref(),
            lang,
        )
        .await?;
    }
    if events.is_empty() {
        return Err(Failure {
            code: Some("store.not_found"),
            message: match lang {
                Lang::Zh => format!("没有找到{} {id}", A::KIND.label(lang)),
                Lang::En => format!("no {} {id}", A::KIND.label(lang)),
            },
            exit: ExitKind::NotFound,
        });
    }
    if let Some(target) = &target {
        return crate::cli::export::history::<A>(events, id, !unmasked, target, lang, out);
    }
    let marks = crate::audit::marks::row_marks(&events);
    let broken = marks.iter().flatten().count();
    if json {
        let doc: Vec<_> = events
            .iter()
            .zip(&marks)
            .map(|(e, mark)| {
                let (mut payload, mut metadata) = (e.payload.clone(), json!(e.metadata));
                if !unmasked {
                    crate::read::mask::mask_json(&mut payload);
                    crate::read::mask::mask_json(&mut metadata);
                }
                json!({
                    "position": e.position,
                    "event_id": e.event_id,
                    "sequence": e.sequence,
                    "event_type": e.event_type,
                    "event_version": e.event_version,
                    "payload": payload,
                    "metadata": metadata,
                    "prev_hash": e.prev_hash,
                    "hash": e.hash,
                    "chain_ok": mark.is_none(),
                    "chain_problem": mark.map(|p| format!("{p:?}")),
                })
            })
            .collect();
        return writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&doc).unwrap_or_default()
        )
        .map_err(io_failure);
    }
    let mut table = Table::new();
    table
        .load_preset(presets::UTF8_HORIZONTAL_ONLY)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(160);
    let headers = match lang {
        Lang::Zh => ["序号", "时间 (UTC)", "操作人", "事件", "摘要", "哈希"],
        Lang::En => ["seq", "recorded (UTC)", "actor", "event", "summary", "hash"],
    };
    table.set_header(headers);
    for (e, mark) in events.iter().zip(&marks) {
        let read =
            domain::upcast::upcast(A::TYPE, &e.event_type, &e.event_version, e.payload.clone())
                .map_err(|err| err.to_string())
                .and_then(|v| serde_json::from_value::<A::Event>(v).map_err(|err| err.to_string()));
        let (label, summary) = match read {
            Ok(ev) => (
                A::event_label(&ev, lang).to_string(),
                A::event_describe(&ev, lang),
            ),
            Err(err) => (e.event_type.clone(), format!("(unreadable: {err})")),
        };
        let actor = format!(
            "{} ({})",
            e.metadata
                .get("actor_id")
                .map(String::as_str)
                .unwrap_or("?"),
            e.metadata
                .get("actor_role")
                .and_then(|r| Role::parse(r))
                .map(|r| r.label(lang))
                .unwrap_or("?")
        );
        let when = e
            .recorded_at
            .as_deref()
            .map(|t| t.get(..19).unwrap_or(t).replace('T', " "))
            .unwrap_or_default();
        table.add_row(vec![
            e.sequence.to_string(),
            when,
            actor,
            label,
            summary,
            match mark {
                None => e.hash.get(..12).unwrap_or(&e.hash).to_string(),
                Some(p) => crate::audit::marks::label(*p, lang).to_string(),
            },
        ]);
    }
    writeln!(out, "{} {}", A::KIND.label(lang), id).map_err(io_failure)?;
    writeln!(out, "{table}").map_err(io_failure)?;
    if broken > 0 {
        writeln!(out, "{}", crate::audit::marks::warning(broken, lang)).map_err(io_failure)?;
    }
    Ok(())
}

type ShowArgs<'a> = (
    &'a str,
    bool,
    Option<AsOf>,
    Option<crate::cli::export::Target>,
    Lang,
);

async fn show<A>(
    app: &App,
    engine: &Engine<A>,
    (id, unmasked, point, target, lang): ShowArgs<'_>,
    out: &mut dyn std::io::Write,
) -> Result<(), Failure>
where
    A: CaseAggregate,
    A::Error: ErrorCode,
{
    let (state, version, at) = match &point {
        None => {
            let loaded = engine
                .load(id)
                .await
                .map_err(|e| Failure::app(AppError::from(e), lang))?;
            (
                serde_json::to_value(&loaded.aggregate).ok(),
                loaded.version,
                None,
            )
        }
        Some(p) => {
            let past = crate::audit::asof::load_as_of::<A>(&app.store, id, p, app.clock.tz())
                .await
                .map_err(|e| Failure::app(AppError::Storage(e), lang))?;
            match past {
                Some(l) => (
                    serde_json::to_value(&l.aggregate).ok(),
                    l.version,
                    Some(l.position),
                ),
                None => (None, 0, None),
            }
        }
    };
    if version == 0 {
        return Err(Failure {
            code: Some("store.not_found"),
            message: match lang {
                Lang::Zh => format!("没有找到{} {id}", A::KIND.label(lang)),
                Lang::En => format!("no {} {id}", A::KIND.label(lang)),
            },
            exit: ExitKind::NotFound,
        });
    }
    if unmasked {
        let route = "cli show --unmasked";
        crate::cli::audit_review::record_cli_read(app, route, A::TYPE, id, point.as_ref(), lang)
            .await?;
    }
    let chain = app
        .store
        .verify_chain(A::TYPE, id)
        .await
        .map_err(|e| Failure::app(AppError::Storage(e.to_string()), lang))?;
    let as_of = point.zip(at).map(|(p, at)| (p.describe(lang), at));
    let mut state = state.unwrap_or_default();
    if !unmasked {
        crate::read::mask::mask_json(&mut state);
    }
    let doc = crate::read::export::state_doc((A::TYPE, id), version, state, &chain, as_of);
    if !chain.is_ok() {
        // On stderr: stdout stays one JSON document (its `chain` says it too).
        let mut stderr = PipeOut::new(std::io::stderr());
        let _ = std::io::Write::write_fmt(
            &mut stderr,
            format_args!(
                "{}\n",
                crate::audit::marks::warning(chain.breaks.len(), lang)
            ),
        );
    }
    if let Some(target) = &target {
        return crate::cli::export::show(&doc, target, lang, out);
    }
    writeln!(
        out,
        "{}",
        serde_json::to_string_pretty(&doc).unwrap_or_default()
    )
    .map_err(io_failure)
}

/// `bangfu verify`: every hash chain recomputed; exit 6 on a break.
pub(crate) async fn verify(
    app: &App,
    json: bool,
    lang: Lang,
    out: &mut dyn std::io::Write,
) -> Result<(), Failure> {
    let report = app
        .store
        .verify_chains()
        .await
        .map_err(|e| Failure::app(AppError::Storage(e.to_string()), lang))?;
    if json {
        let breaks: Vec<_> = report
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
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&json!({
                "ok": report.is_ok(), "streams": report.streams, "events": report.events,
                "breaks": breaks, "breaks_omitted": report.breaks_omitted,
            }))
            .unwrap_or_default()
        )
        .map_err(io_failure)?;
    } else {
        match lang {
            Lang::Zh => writeln!(
                out,
                "已核验 {} 个案卷流、{} 个事件的哈希链",
                report.streams, report.events
            ),
            Lang::En => writeln!(
                out,
                "verified the hash chains of {} streams, {} events",
                report.streams, report.events
            ),
        }
        .map_err(io_failure)?;
        for b in &report.breaks {
            writeln!(
                out,
                "  ✗ {} {} #{}: {:?} expected {} stored {}",
                b.aggregate_type, b.aggregate_id, b.sequence, b.problem, b.expected, b.stored
            )
            .map_err(io_failure)?;
        }
    }
    if report.is_ok() {
        if !json {
            writeln!(
                out,
                "{}",
                lang.pick(
                    "✓ 历史完整，未发现篡改",
                    "✓ history intact, no alteration found"
                )
            )
            .map_err(io_failure)?;
        }
        Ok(())
    } else {
        Err(Failure {
            code: Some("store.chain_broken"),
            message: format!(
                "{}: {}",
                lang.pick(
                    "哈希链断裂，历史可能被篡改",
                    "hash chain broken: history may have been altered"
                ),
                report.breaks.len() as u64 + report.breaks_omitted
            ),
            exit: ExitKind::Tampered,
        })
    }
}
