//! Prometheus metrics for `bangfu serve`, through the `metrics` facade and
//! `metrics-exporter-prometheus`'s recorder (rendered by `GET /metrics`).
//!
//! Recorded at the edges: the HTTP layer (every request by route template
//! and status; every command by aggregate, command and outcome, with its
//! latency), view reads (how long they waited for the views), and, when
//! scraped, gauges read from the parts that already count: the projector's
//! lag behind the log and the SQLite writer's group-commit counters
//! ([`crate::store::SqliteStore::write_stats`]). No label carries an id or
//! personal data: routes are templates, commands are names.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::app::App;

/// Commands run, by `aggregate`, `command` and `outcome`.
pub const COMMANDS_TOTAL: &str = "bangfu_commands_total";
/// A command's time from its checks passed to its answer, seconds.
pub const COMMAND_DURATION: &str = "bangfu_command_duration_seconds";
/// HTTP requests, by `method`, `route` (the template) and `status`.
pub const HTTP_REQUESTS_TOTAL: &str = "bangfu_http_requests_total";
/// HTTP request latency, by `method` and `route`, seconds.
pub const HTTP_DURATION: &str = "bangfu_http_request_duration_seconds";
/// How long view reads waited for the views, seconds.
pub const VIEW_WAIT: &str = "bangfu_view_wait_seconds";
/// Events in the log not yet applied to the views (at each scrape).
pub const PROJECTOR_LAG: &str = "bangfu_projector_lag_events";
/// Group-commit transactions of the embedded store's writer.
pub const COMMIT_BATCHES: &str = "bangfu_store_commit_batches_total";
/// Commands per group commit, mean since start.
pub const COMMIT_BATCH_COMMANDS: &str = "bangfu_store_commit_batch_commands";
/// Time in the group commits' final round trip (COMMIT and its fsync),
/// microseconds, summed since start.
pub const COMMIT_MICROS: &str = "bangfu_store_commit_micros_total";

/// Latency buckets, seconds: 1 ms to 30 s (the request timeout).
const BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The process-wide recorder, installed on first use (one per process: a
/// test binary builds many routers).
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &BUCKETS)
            .unwrap_or_else(|_| PrometheusBuilder::new());
        match builder.install_recorder() {
            Ok(handle) => handle,
            // Another recorder is installed already: render our own
            // (empty) one rather than fail the service.
            Err(error) => {
                tracing::warn!(%error, "metrics recorder not installed");
                PrometheusBuilder::new().build_recorder().handle()
            }
        }
    })
}

/// The outcome label of a command's HTTP answer.
pub fn outcome_of(status: StatusCode) -> &'static str {
    match status.as_u16() {
        200..=299 => "ok",
        409 => "conflict",
        422 => "rejected",
        400..=499 => "invalid",
        _ => "failed",
    }
}

/// Counts one command and records its latency.
pub fn command_done(aggregate: &'static str, command: &str, status: StatusCode, took: Duration) {
    let outcome = outcome_of(status);
    let command = command.to_string();
    metrics::counter!(COMMANDS_TOTAL, "aggregate" => aggregate, "command" => command.clone(), "outcome" => outcome)
        .increment(1);
    metrics::histogram!(COMMAND_DURATION, "aggregate" => aggregate, "command" => command)
        .record(took.as_secs_f64());
}

/// Records how long a view read waited for the views.
pub fn view_waited(took: Duration) {
    metrics::histogram!(VIEW_WAIT).record(took.as_secs_f64());
}

/// Middleware: counts every request by route template and status.
pub async fn track_http(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let method = request.method().as_str().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::histogram!(HTTP_DURATION, "method" => method.clone(), "route" => route.clone())
        .record(started.elapsed().as_secs_f64());
    metrics::counter!(HTTP_REQUESTS_TOTAL, "method" => method, "route" => route, "status" => status)
        .increment(1);
    response
}

/// The text `GET /metrics` serves: the gauges read now, then everything.
pub async fn render(app: &App) -> String {
    if let (Ok(head), Ok(at)) = (app.store.log_head().await, app.projector.position().await) {
        // Positions count events on SQLite; on PostgreSQL identity gaps
        // (rolled-back inserts) make this an upper bound.
        let lag = if at >= head {
            0
        } else {
            head.position.saturating_sub(at.position)
        };
        metrics::gauge!(PROJECTOR_LAG).set(lag as f64);
    }
    if let Some(sqlite) = app.store.as_sqlite() {
        let stats = sqlite.write_stats();
        metrics::counter!(COMMIT_BATCHES).absolute(stats.batches);
        if stats.batches > 0 {
            metrics::gauge!(COMMIT_BATCH_COMMANDS)
                .set(stats.commands as f64 / stats.batches as f64);
        }
        metrics::counter!(COMMIT_MICROS).absolute(stats.commit_micros);
    }
    handle().render()
}
