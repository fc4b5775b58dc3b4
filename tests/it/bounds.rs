//! Every single amount has an upper bound (100,000,000.00 yuan = 10¹⁰ fen,
//! `domain::values::MAX_AMOUNT_FEN`): larger amounts are refused at parse,
//! with the field named and nothing written, over the CLI and over HTTP; the
//! bound itself is accepted; the OpenAPI document states it.

use std::io::Write;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use bangfu::access::users::Users;
use bangfu::app::App;
use bangfu::http::{ApiState, Limits};
use domain::command::Role;
use domain::values::MAX_AMOUNT_FEN;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

fn appropriate(id: &str, amount: &str) -> String {
    format!(
        r#"{{"Appropriate": {{"appropriation_id": "{id}", "fund": "festival", "amount_fen": {amount}, "source": "上级工会", "received_on": "2026-01-05", "note": null}}}}"#
    )
}

/// Too large: one fen above the bound, i64::MAX (accepted before the bound
/// existed; the fund view then showed a saturated balance), and beyond i64.
const TOO_LARGE: [&str; 3] = ["10000000001", "9223372036854775807", "92233720368547758070"];

#[tokio::test]
async fn amounts_above_the_bound_are_refused_over_http_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bangfu.db");
    let app = Arc::new(App::open(&path).await.unwrap());
    let users = Users::open(&path).await.unwrap();
    let id = domain::values::Code::parse("wu.haiyan").unwrap();
    let token = users.add(&id, &[Role::Finance], "test").await.unwrap();
    let token = token.expose().to_string();
    let state = ApiState::new(app, users, Limits::default());
    let router = bangfu::http::router(state.clone());
    let send = |uri: String, method: Method, body: String, lang: &'static str| {
        let router = router.clone();
        let token = token.clone();
        async move {
            let request = Request::builder()
                .method(method)
                .uri(uri)
                .header("authorization", format!("Bearer {token}"))
                .header("accept-language", lang)
                .body(Body::from(body))
                .unwrap();
            let response = router.oneshot(request).await.unwrap();
            let status = response.status();
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            (
                status,
                serde_json::from_slice::<Value>(&bytes).unwrap_or(Value::Null),
            )
        }
    };
    let events = || async { state.app().store.count_events().await.unwrap() };
    let uri = "/v1/fund-accounts/FE/commands".to_string();

    for (i, amount) in TOO_LARGE.iter().enumerate() {
        let before = events().await;
        let (status, body) = send(
            uri.clone(),
            Method::POST,
            appropriate(&format!("BK-{i}"), amount),
            "en",
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{amount}: {body}");
        assert!(
            body["field"].as_str().unwrap_or("").contains("amount_fen"),
            "{amount}: {body}"
        );
        assert_eq!(events().await, before, "{amount} wrote events");
        if i < 2 {
            // In range for i64: the message names the bound.
            let detail = body["detail"].as_str().unwrap_or("");
            assert!(detail.contains("100,000,000.00"), "{amount}: {body}");
        }
    }
    // Chinese by default.
    let (status, body) = send(
        uri.clone(),
        Method::POST,
        appropriate("BK-Z", TOO_LARGE[0]),
        "zh",
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or("")
            .contains("金额超过上限"),
        "{body}"
    );

    // The bound itself is an amount.
    let before = events().await;
    let (status, body) = send(
        uri.clone(),
        Method::POST,
        appropriate("BK-MAX", &MAX_AMOUNT_FEN.to_string()),
        "en",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(events().await, before + 1);

    // The OpenAPI document states the maximum for amounts.
    let (status, doc) = send("/openapi.json".into(), Method::GET, String::new(), "en").await;
    assert_eq!(status, StatusCode::OK);
    let text = doc.to_string();
    assert!(
        text.contains(&format!("\"maximum\":{MAX_AMOUNT_FEN}")),
        "no amount maximum in the OpenAPI document"
    );
}

#[tokio::test]
async fn amounts_above_the_bound_are_refused_on_the_cli_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bangfu.db").display());
    let count = || async {
        let app = App::open_url(&url).await.unwrap();
        let n = app.store.count_events().await.unwrap();
        app.store.close().await;
        n
    };
    let run = |body: String| {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(body.as_bytes()).unwrap();
        let output = assert_cmd::Command::cargo_bin("bangfu")
            .unwrap()
            .args(["--store", &url, "--lang", "en", "run", "fund-account", "FE"])
            .args(["--actor", "wu.haiyan", "--role", "finance", "--file"])
            .arg(file.path())
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned()
                + &String::from_utf8_lossy(&output.stderr),
        )
    };
    for (i, amount) in TOO_LARGE.iter().enumerate() {
        let before = count().await;
        let (exit, out) = run(appropriate(&format!("BK-{i}"), amount));
        assert_ne!(exit, Some(0), "{amount} accepted: {out}");
        assert!(
            out.contains("amount_fen"),
            "{amount}: field not named: {out}"
        );
        assert_eq!(count().await, before, "{amount} wrote events");
    }
    let before = count().await;
    let (exit, out) = run(appropriate("BK-MAX", &MAX_AMOUNT_FEN.to_string()));
    assert_eq!(exit, Some(0), "{out}");
    assert_eq!(count().await, before + 1);
}
