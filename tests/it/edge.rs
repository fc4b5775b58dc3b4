//! The HTTP edge against a real server (issue 14 item 6): security headers
//! on every answer, `no-store` on authenticated ones, the docs page's CSP
//! naming its style's hash, a slow-header client and an idle keep-alive
//! connection cut off, an oversized header refused, load shed with 503 and
//! `Retry-After` while `/health` still answers.

use std::net::SocketAddr;
use std::time::Duration;

use axum::http::{HeaderMap, Request, StatusCode};
use bangfu::http::Limits;
use base64::Engine as _;
use http_body_util::BodyExt;
use sha2::Digest as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::http::{api_with, staff, TestApi};

/// Bounds every wait: a hung server fails the test, never hangs it.
const PATIENCE: Duration = Duration::from_secs(60);

/// A running server on a loopback port; stopped when dropped.
struct Server {
    addr: SocketAddr,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn start(api: &TestApi) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(bangfu::http::run(listener, api.state.clone(), async {
        let _ = stopped.await;
    }));
    Server { addr, _stop: stop }
}

/// GET over a new connection: status, headers, body as text.
async fn get(addr: SocketAddr, path: &str, token: Option<&str>) -> (StatusCode, HeaderMap, String) {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<axum::body::Bytes>>();
    let mut request = Request::get(format!("http://{addr}{path}"));
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let request = request
        .body(http_body_util::Full::new(axum::body::Bytes::new()))
        .expect("request");
    let response = tokio::time::timeout(PATIENCE, client.request(request))
        .await
        .expect("in time")
        .expect("response");
    let (status, headers) = (response.status(), response.headers().clone());
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

fn limits() -> Limits {
    Limits {
        max_concurrent_requests: 1,
        queue_wait: Duration::from_millis(200),
        header_read_timeout: Duration::from_secs(1),
        view_wait: Duration::from_secs(4),
        ..Limits::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_carries_the_security_headers_and_authenticated_ones_no_store() {
    let api = api_with(Limits::default()).await;
    let staff = staff(&api).await;
    let server = start(&api).await;
    let answers = [
        ("/health", None, StatusCode::OK),
        ("/openapi.json", None, StatusCode::OK),
        ("/nowhere", None, StatusCode::NOT_FOUND),
        ("/v1/views/fund-balances", None, StatusCode::UNAUTHORIZED),
        (
            "/v1/views/fund-balances",
            Some(staff.finance.as_str()),
            StatusCode::OK,
        ),
    ];
    for (path, token, status) in answers {
        let (got, headers, body) = get(server.addr, path, token).await;
        assert_eq!(got, status, "{path}: {body}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
        let csp = headers["content-security-policy"].to_str().expect("ascii");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        let no_store = headers
            .get("cache-control")
            .is_some_and(|v| v == "no-store");
        assert_eq!(
            no_store,
            token.is_some() || path.starts_with("/v1/"),
            "{path}"
        );
    }
    // The docs page allows its one style block by hash, nothing inline else.
    let (status, headers, html) = get(server.addr, "/docs", None).await;
    assert_eq!(status, StatusCode::OK);
    let csp = headers["content-security-policy"].to_str().expect("ascii");
    let style = html
        .split("<style>")
        .nth(1)
        .and_then(|s| s.split("</style>").next())
        .expect("a style block");
    let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(style));
    assert!(csp.contains(&format!("style-src 'sha256-{hash}'")), "{csp}");
    assert!(!html.contains("<script") && !html.contains(" style="));
}

/// Reads until the server closes the connection; returns how long it took.
async fn closed_within(stream: &mut tokio::net::TcpStream, trickle: bool) -> Duration {
    let started = tokio::time::Instant::now();
    let mut buf = [0u8; 512];
    loop {
        if trickle {
            // A header field a second, never the blank line that ends it.
            if stream.write_all(b"X-Slow: a\r\n").await.is_err() {
                return started.elapsed();
            }
        }
        match tokio::time::timeout(Duration::from_millis(300), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return started.elapsed(),
            Ok(Ok(_)) | Err(_) => {}
        }
        assert!(
            started.elapsed() < PATIENCE,
            "the server never closed the connection"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_and_idle_connections_are_cut_off_and_big_headers_refused() {
    let api = api_with(limits()).await;
    let server = start(&api).await;
    // Slowloris: the header never completes; the connection is closed
    // after the header timeout (1 s here), not held while bytes trickle.
    let mut slow = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    slow.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("write");
    let took = closed_within(&mut slow, true).await;
    assert!(
        took < Duration::from_secs(5),
        "slow header held for {took:?}"
    );

    // Idle keep-alive: one request answered, then closed when idle.
    let mut idle = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let mut first = [0u8; 15];
    idle.read_exact(&mut first).await.expect("an answer");
    assert_eq!(&first, b"HTTP/1.1 200 OK");
    let took = closed_within(&mut idle, false).await;
    assert!(
        took < Duration::from_secs(5),
        "idle connection held for {took:?}"
    );

    // A header over the limit (16 KiB by default) is refused with 431.
    let mut big = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    let field = "a".repeat(20 * 1024);
    big.write_all(format!("GET /health HTTP/1.1\r\nHost: x\r\nX-Big: {field}\r\n\r\n").as_bytes())
        .await
        .expect("write");
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(PATIENCE, big.read_to_end(&mut answer)).await;
    assert!(
        answer.starts_with(b"HTTP/1.1 431"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_past_the_queue_is_shed_with_retry_after_while_health_answers() {
    let api = api_with(limits()).await;
    let staff = staff(&api).await;
    let server = start(&api).await;
    let addr = server.addr;
    // One slot; a view read waiting for a position nobody wrote holds it
    // for the view wait (4 s) and then answers 503 view.behind.
    let token = staff.auditor.clone();
    let holder = tokio::spawn(async move {
        get(
            addr,
            "/v1/views/fund-balances?min_position=999999",
            Some(&token),
        )
        .await
    });
    // Until the holder has the slot, a request may still get through.
    let shed = loop {
        let burst: Vec<_> = (0..4)
            .map(|_| {
                let token = staff.finance.clone();
                tokio::spawn(
                    async move { get(addr, "/v1/views/fund-balances", Some(&token)).await },
                )
            })
            .collect();
        let mut answers = Vec::new();
        for b in burst {
            answers.push(b.await.expect("request task"));
        }
        if let Some(shed) = answers
            .into_iter()
            .find(|(s, _, _)| *s == StatusCode::SERVICE_UNAVAILABLE)
        {
            break shed;
        }
        assert!(
            !holder.is_finished(),
            "no request was shed while the slot was held"
        );
    };
    let (_, headers, body) = shed;
    assert_eq!(headers["retry-after"], "1", "{body}");
    let problem: serde_json::Value = serde_json::from_str(&body).expect("problem json");
    assert_eq!(problem["code"], "http.overloaded");
    // The probes are outside the queue: answered while the slot is held.
    let (status, _, _) = get(addr, "/health", None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, body) = get(addr, "/ready", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(!holder.is_finished(), "the probes waited for the slot");
    let (status, _, body) = holder.await.expect("holder");
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body.contains("view.behind"), "{body}");
    // The slot is free again.
    let (status, _, body) = get(addr, "/v1/views/fund-balances", Some(&staff.finance)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
