//! The `bangfu` binary: parses the command line, sets up logging (to stderr,
//! `RUST_LOG` to tune; request logs by default under `serve`), and maps
//! failures to exit statuses.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

/// mimalloc rather than the system allocator: a rebuild allocates and frees
/// millions of short strings and rows, and glibc's malloc spent a fifth of
/// its CPU on that (profiled; see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = bangfu::cli::Cli::parse();
    // The server logs each request (with its request id) by default; the
    // one-shot commands only warnings.
    let default_filter = match cli.command {
        bangfu::cli::Command::Serve(_) => "info",
        _ => "warn",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter)),
        )
        // Through `PipeOut`, and no internal-error report (an `eprintln!`,
        // which panics on a closed stderr): a log line written after the
        // reader of `bangfu verify 2>&1 | head -1` left must not turn exit 6
        // into a panic's 101.
        .with_writer(|| bangfu::cli::PipeOut::new(std::io::stderr()))
        .log_internal_errors(false)
        // Colour only for a person at a terminal; log files get plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let lang = cli.lang;
    // Both streams through `PipeOut`: a reader that closes the pipe early
    // neither changes the exit status nor causes a panic.
    let mut stdout = bangfu::cli::PipeOut::new(std::io::stdout().lock());
    let result = bangfu::cli::run(cli, &mut stdout).await;
    let _ = std::io::Write::flush(&mut stdout);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) if failure.exit == bangfu::cli::ExitKind::Ok => ExitCode::SUCCESS,
        Err(failure) => {
            let prefix = lang.pick("错误", "error");
            let mut stderr = bangfu::cli::PipeOut::new(std::io::stderr().lock());
            let line = match failure.code {
                Some(code) => format!("{prefix} [{code}]: {}", failure.message),
                None => format!("{prefix}: {}", failure.message),
            };
            // Nothing more can be told if stderr is gone; the status still is.
            let _ = writeln!(stderr, "{line}");
            ExitCode::from(failure.exit as u8)
        }
    }
}
