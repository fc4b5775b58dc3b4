//! `bangfu store …`: commands on a whole store rather than on aggregates.
//! Today one: `store copy --from URL --to URL`, which moves an event history
//! between stores (see [`crate::store::copy`]) with a progress bar on stderr
//! and a verification at the end.

use domain::i18n::Lang;
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::{io_failure, ExitKind, Failure};
use crate::store::copy::{copy, CopyError, CopyOptions, CopyOutcome};
use crate::store::{redact_url, AnyStore, StoreUrl, MAX_READ_PAGE};

/// The `store` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum StoreCommand {
    /// Copy every event from one store to another, preserving ids, order,
    /// metadata and hash chains; resumes an interrupted copy; verifies at the end.
    Copy {
        /// Source store URL (sqlite://PATH, postgres://…, esdb://…, kurrentdb://…).
        #[arg(long)]
        from: String,
        /// Target store URL; empty, or holding an interrupted copy of the source.
        #[arg(long)]
        to: String,
        /// Events per target transaction.
        #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..=MAX_READ_PAGE as u64))]
        batch: u64,
    },
}

/// Runs a `store` subcommand.
pub async fn run(
    command: StoreCommand,
    lang: Lang,
    out: &mut dyn std::io::Write,
) -> Result<(), Failure> {
    match command {
        StoreCommand::Copy { from, to, batch } => copy_command(&from, &to, batch, lang, out).await,
    }
}

fn failure(message: String) -> Failure {
    Failure {
        code: None,
        message,
        exit: ExitKind::Failure,
    }
}

async fn open(url: &str, lang: Lang) -> Result<AnyStore, Failure> {
    AnyStore::open(url, domain::reservations_of)
        .await
        .map_err(|e| {
            let url = redact_url(url);
            failure(match lang {
                Lang::Zh => format!("无法打开存储 {url}：{e}"),
                Lang::En => format!("cannot open the store {url}: {e}"),
            })
        })
}

async fn copy_command(
    from_url: &str,
    to_url: &str,
    batch: u64,
    lang: Lang,
    out: &mut dyn std::io::Write,
) -> Result<(), Failure> {
    // Opening a SQLite path creates it: a mistyped source would "copy" an
    // empty store.
    if let Ok(StoreUrl::Sqlite(path)) = StoreUrl::parse(from_url) {
        if !path.exists() {
            return Err(failure(match lang {
                Lang::Zh => format!("源数据库不存在：{}", path.display()),
                Lang::En => format!("the source database does not exist: {}", path.display()),
            }));
        }
    }
    let from = open(from_url, lang).await?;
    let to = open(to_url, lang).await?;
    // indicatif hides itself when stderr is not a terminal.
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({per_sec}, {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(lang.pick("复制事件", "copying events"));
    let options = CopyOptions {
        batch_size: usize::try_from(batch).unwrap_or(MAX_READ_PAGE),
        stop_after: None,
    };
    let result = copy(&from, &to, options, &mut |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })
    .await;
    bar.finish_and_clear();
    from.close().await;
    to.close().await;
    match result {
        Ok(CopyOutcome::Complete(report)) => {
            let line = match lang {
                Lang::Zh => format!(
                    "✓ 已复制 {} 个事件（本次 {}，续传自 {}），{} 个案卷流的事件数与哈希链头一致",
                    report.total, report.copied, report.resumed_after, report.streams
                ),
                Lang::En => format!(
                    "✓ copied {} events ({} this run, resumed after {}); counts and the chain heads of {} streams match",
                    report.total, report.copied, report.resumed_after, report.streams
                ),
            };
            writeln!(out, "{line}").map_err(io_failure)
        }
        Ok(CopyOutcome::Interrupted { copied }) => Err(failure(format!(
            "{} {copied}",
            lang.pick(
                "复制中断，目标已有事件：",
                "copy interrupted; events in the target:"
            )
        ))),
        Err(error) => {
            let exit = match error {
                CopyError::Chains(_) => ExitKind::Tampered,
                _ => ExitKind::Failure,
            };
            Err(Failure {
                code: Some("store.copy_failed"),
                message: match lang {
                    Lang::Zh => format!("复制失败：{error}"),
                    Lang::En => format!("copy failed: {error}"),
                },
                exit,
            })
        }
    }
}
