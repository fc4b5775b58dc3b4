//! What an operator relies on: users managed from the CLI and over HTTP
//! (the admin bootstrapped by whichever comes first, revoked users
//! re-enabled with a new token, roles replaced), `/ready` and `/metrics`
//! on a real router, and `bangfu backup` taken while commands are being
//! written, restored into a new file and verified.

use std::path::Path;
use std::process::Output;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use bangfu::access::users::Users;
use bangfu::app::{execute_json, App};
use bangfu::http::{ApiState, Limits};
use domain::command::{Actor, Role};
use domain::values::Code;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

/// Runs the `bangfu` binary on the database `db`.
fn bangfu(db: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_bangfu"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env_remove("BANGFU_STORE")
        .env("BANGFU_LANG", "en")
        .output()
        .expect("run bangfu")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn tokens(output: &Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .filter(|w| w.starts_with("bf_"))
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_add_bootstraps_the_admin_and_reset_and_roles_work_on_the_cli() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("bangfu.db");
    // Before any serve: the first `users add` also creates the admin.
    let first = bangfu(
        &db,
        &["users", "add", "lin.xiaomei", "--role", "caseworker"],
    );
    assert!(first.status.success(), "{}", text(&first));
    let issued = tokens(&first);
    assert_eq!(
        issued.len(),
        2,
        "admin's token, then the user's: {}",
        text(&first)
    );
    let second = bangfu(&db, &["users", "add", "wu.haiyan", "--role", "finance"]);
    assert_eq!(tokens(&second).len(), 1, "the admin is created once");

    let users = Users::open(&db).await.expect("users");
    let admin = users.authenticate(&issued[0]).await.expect("auth");
    assert_eq!(admin.map(|u| u.roles), Some(vec![Role::Admin]));
    let lin = &issued[1];
    assert!(users.authenticate(lin).await.expect("auth").is_some());

    // Revoked, then re-enabled with a new token; the old one stays dead.
    assert!(bangfu(&db, &["users", "revoke", "lin.xiaomei"])
        .status
        .success());
    assert!(users.authenticate(lin).await.expect("auth").is_none());
    let reset = bangfu(&db, &["users", "reset-token", "lin.xiaomei"]);
    assert!(reset.status.success(), "{}", text(&reset));
    let fresh = tokens(&reset);
    assert_eq!(fresh.len(), 1);
    assert!(users.authenticate(lin).await.expect("auth").is_none());
    let back = users.authenticate(&fresh[0]).await.expect("auth");
    assert_eq!(back.as_ref().map(|u| u.id.as_str()), Some("lin.xiaomei"));

    // Roles replaced, token kept; unknown users and no roles refused.
    let roles = bangfu(
        &db,
        &[
            "users",
            "roles",
            "lin.xiaomei",
            "--role",
            "auditor",
            "--role",
            "caseworker",
        ],
    );
    assert!(roles.status.success(), "{}", text(&roles));
    let now = users.authenticate(&fresh[0]).await.expect("auth");
    assert_eq!(
        now.map(|u| u.roles),
        Some(vec![Role::Caseworker, Role::Auditor])
    );
    // Segregation of duties: one who requests may not also approve.
    let refused = bangfu(
        &db,
        &[
            "users",
            "roles",
            "lin.xiaomei",
            "--role",
            "approver",
            "--role",
            "caseworker",
        ],
    );
    assert_eq!(refused.status.code(), Some(3), "{}", text(&refused));
    assert!(!bangfu(&db, &["users", "reset-token", "nobody"])
        .status
        .success());
    assert!(
        !bangfu(&db, &["users", "roles", "nobody", "--role", "auditor"])
            .status
            .success()
    );
    assert!(!bangfu(&db, &["users", "roles", "lin.xiaomei"])
        .status
        .success());
    users.close().await;

    // A later first serve finds the admin there and prints no new token.
    let serve_users = Users::open(&db).await.expect("users");
    assert!(serve_users
        .bootstrap_admin("test serve")
        .await
        .expect("bootstrap")
        .is_none());
    serve_users.close().await;
}

/// A router on a fresh store; the admin's token.
struct Api {
    router: axum::Router,
    state: ApiState,
    admin: String,
    _dir: tempfile::TempDir,
}

/// Tokens can expire and be rotated: a token issued with a lifetime is
/// listed with its expiry and refused once it has passed (the expiry is
/// moved into the past in the table, standing in for the days going by);
/// `reset-token` issues a new one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_with_a_lifetime_expire_and_reset_token_rotates_them() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("bangfu.db");
    let added = bangfu(
        &db,
        &[
            "users",
            "add",
            "wu.haiyan",
            "--role",
            "finance",
            "--expires-in-days",
            "30",
        ],
    );
    assert!(added.status.success(), "{}", text(&added));
    let issued = tokens(&added);
    let (admin, wu) = (&issued[0], &issued[1]);
    let in_30_days = (chrono::Utc::now() + chrono::Duration::days(30))
        .format("%Y-%m-%d")
        .to_string();
    let list = bangfu(&db, &["users", "list"]);
    let listed = text(&list);
    let line = listed
        .lines()
        .find(|l| l.starts_with("wu.haiyan"))
        .expect("listed");
    assert!(
        line.contains(&format!("token expires {in_30_days}")),
        "{listed}"
    );

    let users = Users::open(&db).await.expect("users");
    assert!(users.authenticate(wu).await.expect("auth").is_some());
    sqlx::query("UPDATE users SET token_expires_at = '2020-01-01T00:00:00.000000Z' WHERE user_id = 'wu.haiyan'")
        .execute(users.pool())
        .await
        .expect("age the token");
    assert!(
        users.authenticate(wu).await.expect("auth").is_none(),
        "expired"
    );
    // The admin created on first use got its token from the same command,
    // with the same lifetime; not yet passed, it still works.
    assert!(listed
        .lines()
        .any(|l| l.starts_with("admin") && l.contains(&in_30_days)));
    assert!(users.authenticate(admin).await.expect("auth").is_some());

    let reset = bangfu(
        &db,
        &[
            "users",
            "reset-token",
            "wu.haiyan",
            "--expires-in-days",
            "7",
        ],
    );
    assert!(reset.status.success(), "{}", text(&reset));
    let fresh = tokens(&reset);
    assert!(users.authenticate(&fresh[0]).await.expect("auth").is_some());
    assert!(users.authenticate(wu).await.expect("auth").is_none());
    let expiry: Option<String> =
        sqlx::query_scalar("SELECT token_expires_at FROM users WHERE user_id = 'wu.haiyan'")
            .fetch_one(users.pool())
            .await
            .expect("expiry");
    let in_7_days = (chrono::Utc::now() + chrono::Duration::days(7))
        .format("%Y-%m-%d")
        .to_string();
    assert!(expiry.is_some_and(|e| e.starts_with(&in_7_days)));
}

async fn api() -> Api {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("bangfu.db");
    let app = Arc::new(App::open(&path).await.expect("app"));
    let users = Users::open(&path).await.expect("users");
    let (_, admin) = users
        .bootstrap_admin("test")
        .await
        .expect("bootstrap")
        .expect("fresh database");
    let state = ApiState::new(app, users, Limits::default());
    Api {
        router: bangfu::http::router(state.clone()),
        state,
        admin: admin.expose().to_string(),
        _dir: dir,
    }
}

impl Api {
    async fn call(
        &self,
        method: Method,
        uri: &str,
        token: &str,
        body: Value,
    ) -> (StatusCode, String) {
        let mut builder = Request::builder().method(method).uri(uri);
        if !token.is_empty() {
            builder = builder.header("authorization", format!("Bearer {token}"));
        }
        let body = if body.is_null() {
            Body::empty()
        } else {
            Body::from(body.to_string())
        };
        let response = self
            .router
            .clone()
            .oneshot(builder.body(body).expect("request"))
            .await
            .expect("infallible");
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    async fn json(
        &self,
        method: Method,
        uri: &str,
        token: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        let (status, text) = self.call(method, uri, token, body).await;
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_reset_tokens_and_replace_roles_over_http() {
    let api = api().await;
    let (status, added) = api
        .json(
            Method::POST,
            "/v1/users",
            &api.admin,
            json!({"user_id": "lin.xiaomei", "roles": ["caseworker"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    let old = added["token"].as_str().expect("token").to_string();
    let (status, _) = api
        .call(
            Method::POST,
            "/v1/users/lin.xiaomei/revoke",
            &api.admin,
            Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        api.call(Method::GET, "/v1/me", &old, Value::Null).await.0,
        StatusCode::UNAUTHORIZED
    );

    // A new token re-enables the user; the old one stays refused.
    let (status, issued) = api
        .json(
            Method::POST,
            "/v1/users/lin.xiaomei/token",
            &api.admin,
            Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{issued}");
    assert_eq!(issued["roles"], json!(["caseworker"]));
    let new = issued["token"].as_str().expect("token").to_string();
    assert_ne!(new, old);
    assert_eq!(
        api.call(Method::GET, "/v1/me", &old, Value::Null).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, me) = api.json(Method::GET, "/v1/me", &new, Value::Null).await;
    assert_eq!(
        (status, &me["acting_role"]),
        (StatusCode::OK, &json!("caseworker"))
    );

    // Roles replaced.
    let (status, _) = api
        .call(
            Method::PUT,
            "/v1/users/lin.xiaomei/roles",
            &api.admin,
            json!({"roles": ["auditor"]}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, me) = api.json(Method::GET, "/v1/me", &new, Value::Null).await;
    assert_eq!(me["roles"], json!(["auditor"]));
    // Segregation of duties, as on adding a user: a caseworker who also pays
    // is refused, and the roles stay as they were.
    let (status, problem) = api
        .json(
            Method::PUT,
            "/v1/users/lin.xiaomei/roles",
            &api.admin,
            json!({"roles": ["caseworker", "finance"]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["code"], "users.incompatible_roles", "{problem}");
    let (_, me) = api.json(Method::GET, "/v1/me", &new, Value::Null).await;
    assert_eq!(me["roles"], json!(["auditor"]));
    // Refusals: no roles, an unknown role, an unknown user, a non-admin.
    for (uri, body, expected) in [
        (
            "/v1/users/lin.xiaomei/roles",
            json!({"roles": []}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/v1/users/lin.xiaomei/roles",
            json!({"roles": ["boss"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/v1/users/nobody/roles",
            json!({"roles": ["auditor"]}),
            StatusCode::NOT_FOUND,
        ),
    ] {
        let (status, problem) = api.json(Method::PUT, uri, &api.admin, body).await;
        assert_eq!(status, expected, "{uri}: {problem}");
    }
    let (status, _) = api
        .call(
            Method::POST,
            "/v1/users/nobody/token",
            &api.admin,
            Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = api
        .call(Method::POST, "/v1/users/admin/token", &new, Value::Null)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, me) = api.json(Method::GET, "/v1/me", &new, Value::Null).await;
    assert_eq!(
        me["roles"],
        json!(["auditor"]),
        "a refused change changes nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_and_metrics_answer_and_a_command_shows_in_the_series() {
    let api = api().await;
    let (status, ready) = api.json(Method::GET, "/ready", "", Value::Null).await;
    assert_eq!(
        (status, ready),
        (StatusCode::OK, json!({"status": "ready"}))
    );

    let (_, added) = api
        .json(
            Method::POST,
            "/v1/users",
            &api.admin,
            json!({"user_id": "wu.haiyan", "roles": ["finance"]}),
        )
        .await;
    let finance = added["token"].as_str().expect("token").to_string();
    let body = json!({"Appropriate": {"appropriation_id": "BK-M-1", "fund": "festival",
        "amount_fen": 100000, "source": "莆田市总工会", "received_on": "2026-01-05", "note": null}});
    let (status, done) = api
        .json(
            Method::POST,
            "/v1/fund-accounts/METRICS-1/commands",
            &finance,
            body.clone(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    // The same appropriation again: refused by a rule.
    let (status, _) = api
        .call(
            Method::POST,
            "/v1/fund-accounts/METRICS-1/commands",
            &finance,
            body,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = api
        .call(
            Method::GET,
            "/v1/views/fund-balances",
            &finance,
            Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let (status, scraped) = api.call(Method::GET, "/metrics", "", Value::Null).await;
    assert_eq!(status, StatusCode::OK);
    let series =
        |prefix: &str| -> Vec<&str> { scraped.lines().filter(|l| l.starts_with(prefix)).collect() };
    let ok =
        r#"bangfu_commands_total{aggregate="fund_account",command="Appropriate",outcome="ok"}"#;
    let rejected = r#"bangfu_commands_total{aggregate="fund_account",command="Appropriate",outcome="rejected"}"#;
    // The recorder is process-wide: other tests' commands may be counted too.
    for line in [ok, rejected] {
        let found = series(line);
        assert_eq!(found.len(), 1, "{line} in:\n{scraped}");
        let count: f64 = found[0]
            .rsplit(' ')
            .next()
            .and_then(|v| v.parse().ok())
            .expect("value");
        assert!(count >= 1.0, "{}", found[0]);
    }
    for prefix in [
        "bangfu_command_duration_seconds_bucket{",
        r#"bangfu_http_requests_total{method="POST",route="/v1/fund-accounts/{id}/commands",status="200"}"#,
        "bangfu_http_request_duration_seconds_bucket{",
        "bangfu_view_wait_seconds_bucket{",
        "bangfu_projector_lag_events ",
        "bangfu_store_commit_batches_total ",
        "bangfu_store_commit_batch_commands ",
        "bangfu_store_commit_micros_total ",
    ] {
        assert!(!series(prefix).is_empty(), "{prefix} in:\n{scraped}");
    }
    assert!(!scraped.contains("METRICS-1"), "no ids in labels");
    assert_eq!(api.state.panics_caught(), 0);
}

/// An appropriation body numbered `n`.
fn appropriation(n: u32) -> Vec<u8> {
    json!({"Appropriate": {"appropriation_id": format!("BK-{n:05}"), "fund": "festival",
        "amount_fen": 10000 + i64::from(n), "source": "莆田市总工会", "received_on": "2026-01-05",
        "note": null}})
    .to_string()
    .into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_writing_restores_to_a_verified_prefix_of_the_log() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("live.db");
    let app = Arc::new(App::open(&db).await.expect("app"));
    let actor = Actor {
        id: Code::parse("wu.haiyan").expect("code"),
        role: Role::Finance,
    };
    for n in 0..20 {
        let ctx = app.clock.context(actor.clone(), None, None);
        execute_json(&app.funds, &format!("F-{}", n % 3), &appropriation(n), ctx)
            .await
            .expect("command");
    }
    // Keep writing while the backup runs in another process.
    let writer = {
        let app = app.clone();
        let actor = actor.clone();
        tokio::spawn(async move {
            for n in 20..220 {
                let ctx = app.clock.context(actor.clone(), None, None);
                execute_json(&app.funds, &format!("F-{}", n % 3), &appropriation(n), ctx)
                    .await
                    .expect("command while backing up");
            }
        })
    };
    let backup = dir.path().join("backup.db");
    let db_for_backup = db.clone();
    let backup_path = backup.clone();
    let taken = tokio::task::spawn_blocking(move || {
        bangfu(
            &db_for_backup,
            &["backup", backup_path.to_str().expect("utf-8")],
        )
    })
    .await
    .expect("backup");
    writer.await.expect("writer");
    assert!(taken.status.success(), "{}", text(&taken));
    assert!(
        text(&taken).contains("hash chains intact"),
        "{}",
        text(&taken)
    );

    // Restore into a new file: verified chains and views, exit 0.
    let restored = dir.path().join("restored").join("bangfu.db");
    let done = bangfu(&restored, &["restore", backup.to_str().expect("utf-8")]);
    assert!(done.status.success(), "{}", text(&done));
    assert!(text(&done).contains("views verified"), "{}", text(&done));

    // The restored log is a prefix of the live one, event for event.
    let live = app
        .store
        .read_all(bangfu::store::LogPosition::START, 10_000)
        .await
        .expect("live");
    let copy = App::open(&restored).await.expect("restored");
    let back = copy
        .store
        .read_all(bangfu::store::LogPosition::START, 10_000)
        .await
        .expect("copy");
    assert!(
        back.len() >= 20 && back.len() <= live.len(),
        "{} of {}",
        back.len(),
        live.len()
    );
    for (a, b) in back.iter().zip(&live) {
        assert_eq!(
            (&a.event_id, &a.hash, a.position),
            (&b.event_id, &b.hash, b.position)
        );
    }
    copy.store.close().await;

    // Refusals: an existing target, a PostgreSQL store, a missing backup.
    let again = bangfu(&db, &["backup", backup.to_str().expect("utf-8")]);
    assert_eq!(again.status.code(), Some(3), "{}", text(&again));
    let over = bangfu(&restored, &["restore", backup.to_str().expect("utf-8")]);
    assert_eq!(over.status.code(), Some(3), "{}", text(&over));
    let pg = bangfu(
        &db,
        &[
            "--store",
            "postgres://bangfu@localhost/bangfu",
            "backup",
            "x.db",
        ],
    );
    assert_eq!(pg.status.code(), Some(3));
    assert!(text(&pg).contains("pg_dump"), "{}", text(&pg));
    let missing = bangfu(
        &dir.path().join("new.db"),
        &["restore", "no-such-backup.db"],
    );
    assert_eq!(missing.status.code(), Some(3));
    app.store.close().await;
}

/// Parses an example body as its route's command type.
fn parse_example(path: &str, body: &str) -> Result<(), String> {
    use bangfu::app::input::parse_json;
    let bytes = body.as_bytes();
    let parsed = match path {
        "/v1/hardship-files/{id}/commands" => {
            parse_json::<domain::hardship::HardshipFileCommand>(bytes).map(drop)
        }
        "/v1/mutual-aid-plans/{id}/commands" => {
            parse_json::<domain::mutual_aid::plan::MutualAidPlanCommand>(bytes).map(drop)
        }
        "/v1/mutual-aid-claims/{id}/commands" => {
            parse_json::<domain::mutual_aid::claim::MutualAidClaimCommand>(bytes).map(drop)
        }
        "/v1/donation-campaigns/{id}/commands" => {
            parse_json::<domain::donation::DonationCampaignCommand>(bytes).map(drop)
        }
        "/v1/payout-batches/{id}/commands" => {
            parse_json::<domain::finance::batch::PayoutBatchCommand>(bytes).map(drop)
        }
        "/v1/accounting-periods/{id}/commands" => {
            parse_json::<domain::finance::period::AccountingPeriodCommand>(bytes).map(drop)
        }
        "/v1/fund-accounts/{id}/commands" => {
            parse_json::<domain::fund::account::FundAccountCommand>(bytes).map(drop)
        }
        other => return Err(format!("no command route {other}")),
    };
    parsed.map_err(|e| e.to_string())
}

#[test]
fn every_command_has_an_example_that_parses_and_is_in_the_api_document() {
    use bangfu::http::examples::EXAMPLES;
    for (path, name, body) in EXAMPLES {
        parse_example(path, body).unwrap_or_else(|e| panic!("{name}: {e}"));
        let doc: Value = serde_json::from_str(body).expect("json");
        assert_eq!(
            doc.as_object()
                .map(|o| o.keys().map(String::as_str).collect::<Vec<_>>()),
            Some(vec![*name])
        );
    }
    // One per command of the permission table, no more.
    let commands = bangfu::access::permissions::COMMANDS;
    assert_eq!(EXAMPLES.len(), commands.len());
    for (kind, name, _) in commands {
        let path = format!(
            "/v1/{}/{{id}}/commands",
            bangfu::access::permissions::plural(*kind)
        );
        assert!(
            EXAMPLES.iter().any(|(p, n, _)| *p == path && n == name),
            "no example for {path} {name}"
        );
    }
    let doc = serde_json::to_value(bangfu::http::openapi()).expect("openapi");
    for (path, name, body) in EXAMPLES {
        let example = &doc["paths"][*path]["post"]["requestBody"]["content"]["application/json"]
            ["examples"][*name]["value"];
        assert_eq!(
            example,
            &serde_json::from_str::<Value>(body).expect("json"),
            "{path} {name}"
        );
    }
    // The docs page shows them, and the limits as numbers.
    let html = bangfu::http::docs::render(&bangfu::http::openapi());
    assert!(
        html.contains("ApproveGrant") && html.contains("&quot;grant_id&quot;: &quot;G-1&quot;")
    );
    for limit in ["8388608", "4096", "500", "4000"] {
        assert!(html.contains(limit), "limit {limit} on /docs");
    }
    assert!(html.contains("name=\"viewport\""), "readable on a phone");
}
