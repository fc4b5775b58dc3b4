//! `bangfu backup` and `bangfu restore` for the embedded (SQLite) store.
//!
//! A backup is SQLite's `VACUUM INTO`: it reads the database in one read
//! transaction, so the copy is one consistent snapshot of everything in the
//! file — events, views with their checkpoints, users, idempotency keys —
//! while the server goes on writing (WAL readers do not block the writer).
//! The copy's hash chains are verified before the command says it is done.
//!
//! A restore copies a backup to a path that does not exist yet, then
//! verifies the restored store as an auditor would: every hash chain, and
//! the views against a rebuild from the log. PostgreSQL and KurrentDB have
//! their own tools (`pg_dump`, `pg_basebackup`; KurrentDB's backups); for
//! them these commands refuse and say so.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use domain::i18n::Lang;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

use crate::app::App;
use crate::cli::{ExitKind, Failure};
use crate::store::StoreUrl;

/// `bangfu backup`'s arguments.
#[derive(Clone, Debug, PartialEq, Eq, clap::Args)]
pub struct BackupArgs {
    /// The backup file to write (must not exist).
    pub to: PathBuf,
}

/// `bangfu restore`'s arguments.
#[derive(Clone, Debug, PartialEq, Eq, clap::Args)]
pub struct RestoreArgs {
    /// The backup file to restore into the store named by --db (which must
    /// not exist yet).
    pub from: PathBuf,
}

fn input(message: String) -> Failure {
    Failure {
        code: Some("backup.invalid"),
        message,
        exit: ExitKind::Input,
    }
}

/// The SQLite file the global options name, or why there is none.
fn sqlite_path(store: Option<&str>, db: &Path, lang: Lang) -> Result<PathBuf, Failure> {
    let Some(url) = store else {
        return Ok(db.to_path_buf());
    };
    match StoreUrl::parse(url) {
        Ok(StoreUrl::Sqlite(path)) => Ok(path),
        Ok(StoreUrl::Postgres(_)) => Err(input(lang.pick(
            "PostgreSQL 存储请用其自带工具备份与恢复：pg_dump -Fc（逻辑备份）或 pg_basebackup 加 WAL 归档（时间点恢复）；恢复后运行 bangfu verify 和 bangfu projections verify",
            "back up and restore a PostgreSQL store with its own tools: pg_dump -Fc (logical) or pg_basebackup with WAL archiving (point in time); after a restore run bangfu verify and bangfu projections verify",
        ).to_string())),
        Ok(StoreUrl::Kurrent(_)) => Err(input(lang.pick(
            "KurrentDB 存储请用 KurrentDB 自带的备份方式",
            "back up a KurrentDB store with KurrentDB's own backups",
        ).to_string())),
        Err(e) => Err(input(e.to_string())),
    }
}

/// `bangfu backup TO`: an online, consistent copy of the embedded store.
pub async fn backup(
    store: Option<&str>,
    db: &Path,
    args: BackupArgs,
    lang: Lang,
    out: &mut dyn std::io::Write,
) -> Result<(), Failure> {
    let source = sqlite_path(store, db, lang)?;
    if !source.is_file() {
        return Err(input(match lang {
            Lang::Zh => format!("没有数据库文件 {}", source.display()),
            Lang::En => format!("no database file {}", source.display()),
        }));
    }
    refuse_existing(&args.to, lang)?;
    let mut conn = SqliteConnectOptions::new()
        .filename(&source)
        .read_only(true)
        .busy_timeout(std::time::Duration::from_secs(30))
        .connect()
        .await
        .map_err(|e| Failure::other(format!("{}: {e}", source.display())))?;
    let target = args.to.to_string_lossy().into_owned();
    let vacuumed = sqlx::query("VACUUM INTO ?")
        .bind(&target)
        .execute(&mut conn)
        .await;
    let _ = conn.close().await;
    vacuumed.map_err(|e| Failure::other(format!("VACUUM INTO {target}: {e}")))?;
    // The copy must hold an intact history before anyone relies on it.
    let app = open(&args.to, lang).await?;
    let chains = app.store.verify_chains().await;
    app.store.close().await;
    let report = chains.map_err(|e| Failure::other(e.to_string()))?;
    if !report.is_ok() {
        return Err(Failure {
            code: Some("store.chain_broken"),
            message: lang
                .pick("备份中的哈希链断裂", "a hash chain is broken in the backup")
                .to_string(),
            exit: ExitKind::Tampered,
        });
    }
    match lang {
        Lang::Zh => writeln!(
            out,
            "✓ 已备份至 {}：{} 个案卷流、{} 个事件，哈希链完整",
            args.to.display(),
            report.streams,
            report.events
        ),
        Lang::En => writeln!(
            out,
            "✓ backed up to {}: {} streams, {} events, hash chains intact",
            args.to.display(),
            report.streams,
            report.events
        ),
    }
    .map_err(crate::cli::io_failure)
}

/// `bangfu --db PATH restore FROM`: the backup into place, then verified.
pub async fn restore(
    store: Option<&str>,
    db: &Path,
    args: RestoreArgs,
    lang: Lang,
    out: &mut dyn std::io::Write,
) -> Result<(), Failure> {
    let target = sqlite_path(store, db, lang)?;
    if !args.from.is_file() {
        return Err(input(match lang {
            Lang::Zh => format!("没有备份文件 {}", args.from.display()),
            Lang::En => format!("no backup file {}", args.from.display()),
        }));
    }
    refuse_existing(&target, lang)?;
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| Failure::other(format!("{}: {e}", dir.display())))?;
    }
    std::fs::copy(&args.from, &target)
        .map_err(|e| Failure::other(format!("{}: {e}", target.display())))?;
    let app = Arc::new(open(&target, lang).await?);
    let verified = verify_restored(&app, lang, out).await;
    app.store.close().await;
    verified?;
    match lang {
        Lang::Zh => writeln!(out, "✓ 已恢复至 {}，哈希链与视图均已核验", target.display()),
        Lang::En => writeln!(
            out,
            "✓ restored to {}; hash chains and views verified",
            target.display()
        ),
    }
    .map_err(crate::cli::io_failure)
}

async fn verify_restored(
    app: &Arc<App>,
    lang: Lang,
    out: &mut dyn std::io::Write,
) -> Result<(), Failure> {
    crate::cli::verify(app, false, lang, out).await?;
    let command = crate::cli::views::ProjectionsCommand::Verify { json: false };
    crate::cli::views::projections(app, command, lang, out).await
}

fn refuse_existing(path: &Path, lang: Lang) -> Result<(), Failure> {
    if path.exists() {
        return Err(input(match lang {
            Lang::Zh => format!("{} 已存在，不会覆盖", path.display()),
            Lang::En => format!("{} exists; it is not overwritten", path.display()),
        }));
    }
    Ok(())
}

async fn open(path: &Path, lang: Lang) -> Result<App, Failure> {
    App::open(path).await.map_err(|e| {
        Failure::other(match lang {
            Lang::Zh => format!("无法打开数据库 {}：{e}", path.display()),
            Lang::En => format!("cannot open the database {}: {e}", path.display()),
        })
    })
}
