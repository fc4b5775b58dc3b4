//! `bangfu serve`: settings (flags, environment, an optional TOML file),
//! the first start's admin token, binding, and serving until Ctrl-C/SIGTERM.
//!
//! Precedence: a flag or its environment variable, then the config file, then
//! the default. The database is the global `--db` / `BANGFU_DB`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use domain::i18n::Lang;
use serde::Deserialize;

use super::{ApiState, Limits};
use crate::access::users::Users;
use crate::app::App;

/// Where the server listens unless told otherwise: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// `bangfu serve`'s options.
#[derive(Clone, Debug, Default, PartialEq, Eq, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "BANGFU_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// TOML file with `listen` and a `[limits]` table.
    #[arg(long, env = "BANGFU_CONFIG")]
    pub config: Option<PathBuf>,
    /// Largest request body in bytes [default: 8 MiB].
    #[arg(long, env = "BANGFU_MAX_BODY_BYTES")]
    pub max_body_bytes: Option<usize>,
    /// Requests handled at once [default: 64].
    #[arg(long, env = "BANGFU_MAX_CONCURRENT_REQUESTS")]
    pub max_concurrent_requests: Option<usize>,
    /// Seconds a request may take [default: 30].
    #[arg(long, env = "BANGFU_REQUEST_TIMEOUT_SECS")]
    pub request_timeout_secs: Option<u64>,
    /// Milliseconds a request may wait for a slot before a 503 [default: 2000].
    #[arg(long, env = "BANGFU_QUEUE_WAIT_MS")]
    pub queue_wait_ms: Option<u64>,
    /// Seconds a client may take to send a request's header; also the idle
    /// keep-alive limit [default: 10].
    #[arg(long, env = "BANGFU_HEADER_READ_TIMEOUT_SECS")]
    pub header_read_timeout_secs: Option<u64>,
    /// Largest request header in bytes [default: 16384].
    #[arg(long, env = "BANGFU_MAX_HEADER_BYTES")]
    pub max_header_bytes: Option<usize>,
    /// Days a token issued by this server (new users, reset tokens) stays
    /// valid; unset: tokens do not expire.
    #[arg(long, env = "BANGFU_TOKEN_LIFETIME_DAYS")]
    pub token_lifetime_days: Option<u32>,
    /// Failed sign-ins a client address may make a minute, then 429 [default: 10].
    #[arg(long, env = "BANGFU_SIGN_IN_FAILURES_PER_MINUTE")]
    pub sign_in_failures_per_minute: Option<u32>,
    /// Scheduled audit seals.
    #[command(flatten)]
    pub seal: crate::audit::schedule::SealSchedule,
}

/// The config file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Address to listen on.
    pub listen: Option<SocketAddr>,
    /// Limits.
    #[serde(default)]
    pub limits: LimitsFile,
}

/// `[limits]` of the config file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsFile {
    /// Largest request body, bytes.
    pub max_body_bytes: Option<usize>,
    /// Requests handled at once.
    pub max_concurrent_requests: Option<usize>,
    /// Seconds a request may take.
    pub request_timeout_secs: Option<u64>,
    /// Milliseconds a request may wait for a slot.
    pub queue_wait_ms: Option<u64>,
    /// Seconds a client may take to send a header (and idle keep-alive).
    pub header_read_timeout_secs: Option<u64>,
    /// Largest request header, bytes.
    pub max_header_bytes: Option<usize>,
    /// Failed sign-ins a client address may make a minute.
    pub sign_in_failures_per_minute: Option<u32>,
    /// Items per page by default.
    pub default_page_size: Option<usize>,
    /// Most items per page.
    pub max_page_size: Option<usize>,
    /// Seconds a view read may wait for the views to catch up.
    pub view_wait_secs: Option<u64>,
}

/// The smallest header limit accepted: below it ordinary requests fail.
const MIN_HEADER_BYTES: usize = 1024;

/// Largest config file read.
const MAX_CONFIG_BYTES: u64 = 64 * 1024;

/// Reads a config file.
pub fn read_config(path: &Path) -> Result<ConfigFile, String> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_CONFIG_BYTES).read_to_string(&mut text))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The settings in force: flags and environment over the file over defaults.
pub fn settle(args: &ServeArgs, file: &ConfigFile) -> Result<(SocketAddr, Limits), String> {
    let default = Limits::default();
    let listen = match args.listen.or(file.listen) {
        Some(addr) => addr,
        None => DEFAULT_LISTEN
            .parse()
            .map_err(|e| format!("default listen address: {e}"))?,
    };
    let limits = Limits {
        max_body_bytes: args
            .max_body_bytes
            .or(file.limits.max_body_bytes)
            .unwrap_or(default.max_body_bytes),
        max_concurrent_requests: args
            .max_concurrent_requests
            .or(file.limits.max_concurrent_requests)
            .unwrap_or(default.max_concurrent_requests),
        request_timeout: args
            .request_timeout_secs
            .or(file.limits.request_timeout_secs)
            .map(Duration::from_secs)
            .unwrap_or(default.request_timeout),
        queue_wait: args
            .queue_wait_ms
            .or(file.limits.queue_wait_ms)
            .map(Duration::from_millis)
            .unwrap_or(default.queue_wait),
        header_read_timeout: args
            .header_read_timeout_secs
            .or(file.limits.header_read_timeout_secs)
            .map(Duration::from_secs)
            .unwrap_or(default.header_read_timeout),
        max_header_bytes: args
            .max_header_bytes
            .or(file.limits.max_header_bytes)
            .unwrap_or(default.max_header_bytes),
        sign_in_failures_per_minute: args
            .sign_in_failures_per_minute
            .or(file.limits.sign_in_failures_per_minute)
            .unwrap_or(default.sign_in_failures_per_minute),
        default_page_size: file
            .limits
            .default_page_size
            .unwrap_or(default.default_page_size),
        max_page_size: file.limits.max_page_size.unwrap_or(default.max_page_size),
        view_wait: file
            .limits
            .view_wait_secs
            .map(Duration::from_secs)
            .unwrap_or(default.view_wait),
    };
    if limits.max_body_bytes == 0
        || limits.max_concurrent_requests == 0
        || limits.request_timeout.is_zero()
        || limits.queue_wait.is_zero()
        || limits.header_read_timeout.is_zero()
        || limits.max_header_bytes < MIN_HEADER_BYTES
        || limits.sign_in_failures_per_minute == 0
        || limits.max_page_size == 0
        || !(1..=limits.max_page_size).contains(&limits.default_page_size)
        || limits.view_wait.is_zero()
        || limits.view_wait > limits.request_timeout
    {
        return Err("limits must be positive (max_header_bytes at least 1024), default_page_size at most max_page_size, and view_wait_secs at most the request timeout".into());
    }
    Ok((listen, limits))
}

/// Runs the server on `app` (whose store is the file `db`) until Ctrl-C or
/// SIGTERM. Writes the address, and on the first start the admin token, to `out`.
pub async fn serve(
    app: Arc<App>,
    db: &Path,
    args: ServeArgs,
    lang: Lang,
    out: &mut dyn std::io::Write,
) -> Result<(), String> {
    let file = match &args.config {
        Some(path) => read_config(path)?,
        None => ConfigFile::default(),
    };
    let (listen, limits) = settle(&args, &file)?;
    let users = Users::open(db)
        .await
        .map_err(|e| e.to_string())?
        .with_token_lifetime(args.token_lifetime_days);
    let bootstrapped = users
        .bootstrap_admin("bangfu serve (first start)")
        .await
        .map_err(|e| e.to_string())?;
    if let Some((id, token)) = bootstrapped {
        let _ = crate::access::users::print_bootstrap(out, &id, &token, lang);
    }
    match super::idempotency::carry_over(users.pool(), &app.store).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(keys = n, "idempotency keys carried over into the store"),
        Err(e) => return Err(format!("idempotency keys: {e}")),
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("{listen}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    let _ = match lang {
        Lang::Zh => writeln!(
            out,
            "bangfu 正在监听 http://{local} （接口文档 http://{local}/docs ，按 Ctrl-C 停止）"
        ),
        Lang::En => writeln!(
            out,
            "bangfu listening on http://{local} (API docs at http://{local}/docs; Ctrl-C to stop)"
        ),
    };
    let _ = out.flush();
    tracing::info!(%local, "serving");
    let sealer = crate::audit::schedule::start(app.clone(), &args.seal)?;
    let state = ApiState::new(app, users.clone(), limits);
    let served = super::run(listener, state, super::shutdown_signal()).await;
    sealer.abort();
    served.map_err(|e| e.to_string())?;
    users.close().await;
    let _ = writeln!(out, "{}", lang.pick("已停止", "stopped"));
    Ok(())
}
