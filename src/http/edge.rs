//! The HTTP edge, as a reviewer of an internet-facing service expects it:
//!
//! - **Connections** ([`serve_connections`]): HTTP/1.1 only (no cleartext
//!   HTTP/2: a reverse proxy in front speaks HTTP/2 to browsers); a client
//!   must send a request's whole header within `header_read_timeout`, and
//!   the same bound closes a keep-alive connection left idle (hyper starts
//!   the header timer as soon as it waits for the next request); a header
//!   larger than `max_header_bytes` is answered 431 and the connection closed.
//! - **Security headers** on every response ([`secure_headers`]):
//!   `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`,
//!   `Referrer-Policy: no-referrer`, a Content-Security-Policy (HTML pages
//!   name the hash of their one style block; no `unsafe-inline`), and
//!   `Cache-Control: no-store` on every answer to a request that carried
//!   credentials or reached the API (answers hold unmasked personal data).
//! - **Load shedding** ([`shed`]): at most `max_concurrent_requests` are
//!   handled at once; a request that waited `queue_wait` for a slot is
//!   answered 503 with `Retry-After` instead of queueing without bound.
//!   `/health` and `/ready` are routed outside this queue.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::Engine as _;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use sha2::Digest as _;
use tokio::sync::Semaphore;
use tower::ServiceExt as _;

use super::error::ApiError;
use super::{request_lang, Limits};

/// The policy of every non-HTML answer: nothing may load, nothing may frame.
pub const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";

/// Most header fields in one request.
const MAX_HEADERS: usize = 100;

/// Serves `app` on `listener` until `shutdown` completes, then stops
/// accepting and waits for the open connections to finish their requests.
pub async fn serve_connections(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: &Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut http1 = hyper::server::conn::http1::Builder::new();
    http1
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_header_size(limits.max_header_bytes)
        .max_headers(MAX_HEADERS);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(&e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = app
            .clone()
            .map_request(move |request: Request<hyper::body::Incoming>| {
                let mut request = request.map(axum::body::Body::new);
                request.extensions_mut().insert(ConnectInfo(remote));
                request
            });
        let service = hyper_util::service::TowerToHyperService::new(service);
        let connection = graceful.watch(http1.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                // Header timeouts and clients that go away end up here.
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// A failed accept: per-connection errors are the client's; anything else
/// (out of file descriptors) is logged and the loop pauses before retrying,
/// as hyper's and axum's own loops do.
async fn accept_failed(e: &std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    ) {
        return;
    }
    tracing::warn!(error = %e, "accept failed; pausing");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// The Content-Security-Policy of an HTML page whose only inline content is
/// its `<style>` blocks: each allowed by its SHA-256, nothing else.
pub fn html_csp(html: &str) -> String {
    let mut hashes = String::new();
    let mut rest = html;
    while let Some(start) = rest.find("<style>") {
        let body = &rest[start + "<style>".len()..];
        let Some(end) = body.find("</style>") else {
            break;
        };
        let digest = sha2::Sha256::digest(&body.as_bytes()[..end]);
        let b64 = base64::engine::general_purpose::STANDARD.encode(digest);
        hashes.push_str(&format!(" 'sha256-{b64}'"));
        rest = &body[end..];
    }
    format!(
        "default-src 'none'; style-src{}; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        if hashes.is_empty() { " 'none'" } else { &hashes }
    )
}

/// Adds the security headers to every response (see the module docs).
pub async fn secure_headers(request: Request, next: Next) -> Response {
    let private = request.headers().contains_key(header::AUTHORIZATION)
        || request.headers().contains_key(header::COOKIE)
        || request.uri().path().starts_with("/v1/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let fixed = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(API_CSP));
    if private {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// The request queue: slots, and how long a request may wait for one.
#[derive(Clone, Debug)]
pub struct Queue {
    slots: Arc<Semaphore>,
    wait: Duration,
}

impl Queue {
    /// A queue of `slots` requests at once, waiting at most `wait`.
    pub fn new(slots: usize, wait: Duration) -> Queue {
        Queue {
            slots: Arc::new(Semaphore::new(slots.max(1))),
            wait,
        }
    }
}

/// Runs the request when a slot is free within the queue's wait; otherwise
/// answers 503 `http.overloaded` with `Retry-After` and does nothing.
pub async fn shed(State(queue): State<Queue>, request: Request, next: Next) -> Response {
    let waited = tokio::time::timeout(queue.wait, queue.slots.clone().acquire_owned()).await;
    let Ok(Ok(_slot)) = waited else {
        metrics::counter!("bangfu_http_shed_total").increment(1);
        return overloaded(request_lang(request.headers()), queue.wait);
    };
    next.run(request).await
}

/// The 503 of a shed request.
fn overloaded(lang: domain::i18n::Lang, wait: Duration) -> Response {
    let mut error = ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "http.overloaded",
        lang,
        lang.pick(
            "服务繁忙，请求排队超时未处理（未做任何更改），请稍后重试",
            "the server is busy: the request waited too long for a slot and was not run (nothing changed); retry later",
        )
        .to_string(),
    );
    error.retry_after = Some(wait.as_secs().max(1));
    error.into_response()
}
