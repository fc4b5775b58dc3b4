//! What an auditor takes away, over a real server (issue 13: every
//! capability on the CLI and over HTTP): the public key, the chain export
//! and the independent verifier, downloaded and run — the script checks the
//! downloaded chain against a seal taken over HTTP; the case roles are
//! refused.

use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;

use super::edge::{get, start};
use super::http::{api, staff, views_scenario};

async fn post_seal(addr: std::net::SocketAddr, token: &str) -> (StatusCode, serde_json::Value) {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<axum::body::Bytes>>();
    let request = Request::post(format!("http://{addr}/v1/audit/seals"))
        .header("authorization", format!("Bearer {token}"))
        .body(http_body_util::Full::new(axum::body::Bytes::new()))
        .expect("request");
    let response = client.request(request).await.expect("response");
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, serde_json::from_slice(&body).expect("json"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auditor_downloads_key_chain_and_verifier_and_checks_a_seal_without_bangfu() {
    let api = api().await;
    let staff = staff(&api).await;
    views_scenario(&api, &staff).await;
    let server = start(&api).await;
    let addr = server.addr;
    let (status, seal) = post_seal(addr, &staff.auditor).await;
    assert_eq!(status, StatusCode::CREATED, "{seal}");

    let (status, _, key) = get(addr, "/v1/audit/public-key", Some(&staff.auditor)).await;
    assert_eq!(status, StatusCode::OK, "{key}");
    let key: serde_json::Value = serde_json::from_str(&key).expect("json");
    let key = key["public_key"].as_str().expect("hex").to_string();
    assert_eq!(key.len(), 64);
    let (status, headers, chain) = get(addr, "/v1/audit/chain", Some(&staff.auditor)).await;
    assert_eq!(status, StatusCode::OK, "{chain}");
    assert_eq!(headers["content-type"], "application/x-ndjson");
    let events = api.state.app().store.count_events().await.expect("count");
    assert_eq!(chain.lines().count() as u64, events);
    let (status, headers, script) = get(addr, "/v1/audit/verifier", Some(&staff.auditor)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/x-python"));

    let dir = tempfile::tempdir().expect("dir");
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        path
    };
    let script = write("verify_seal.py", &script);
    let export = write("chain.jsonl", &chain);
    let seal_file = write("seal.txt", seal["text"].as_str().expect("seal text"));
    let run = |export: &std::path::Path| {
        std::process::Command::new("python3")
            .arg(&script)
            .arg("--export")
            .arg(export)
            .arg("--seal")
            .arg(&seal_file)
            .args(["--public-key", &key])
            .output()
            .expect("python3 runs")
    };
    let out = run(&export);
    let said =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(
        said.contains(&format!("OK {events} events, 1 seal(s)")),
        "{said}"
    );
    // One amount changed in the downloaded copy: the script fails it.
    let line = chain
        .lines()
        .find(|l| l.contains("_fen\":"))
        .expect("an amount");
    let altered = line.replacen("_fen\":", "_fen\":1", 1);
    let tampered = write("tampered.jsonl", &chain.replacen(line, &altered, 1));
    let out = run(&tampered);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    for path in [
        "/v1/audit/public-key",
        "/v1/audit/chain",
        "/v1/audit/verifier",
    ] {
        let (status, _, body) = get(addr, path, Some(&staff.finance)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
    }
}
