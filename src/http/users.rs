//! `/v1/me` for everyone, and user management for admins: add a user (the
//! token is in the response, once), list users, revoke one, issue a new
//! token (re-enabling a revoked user), replace a user's roles. The CLI's
//! `bangfu users add|list|revoke|reset-token|roles` does the same on the
//! database file.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::command::Role;
use domain::i18n::Lang;
use domain::values::Code;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, Problem};
use super::{ApiState, Caller};
use crate::access::permissions::Action;
use crate::access::users::{normalise_roles, UsersError};

/// Largest user-management request body.
pub const MAX_USER_BODY_BYTES: usize = 4 * 1024;

/// Who is calling.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Me {
    /// The user id.
    pub user_id: String,
    /// The roles the user holds.
    pub roles: Vec<String>,
    /// The role this request acts in.
    pub acting_role: String,
    /// Whether this role sees personal data unmasked.
    pub sees_personal_data: bool,
}

/// A user to add.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"user_id": "lin.xiaomei", "roles": ["caseworker"]}))]
pub struct NewUser {
    /// 1–64 of A–Z a–z 0–9 . _ / - (e.g. `lin.xiaomei`).
    pub user_id: String,
    /// At least one of caseworker, approver, finance, auditor, admin.
    pub roles: Vec<String>,
}

/// A user's new set of roles.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"roles": ["caseworker", "approver"]}))]
pub struct NewRoles {
    /// At least one of caseworker, approver, finance, auditor, admin.
    pub roles: Vec<String>,
}

/// A user just added, with the only copy of their token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IssuedToken {
    /// The user id.
    pub user_id: String,
    /// The roles.
    pub roles: Vec<String>,
    /// The bearer token. Shown this once; only its hash is kept.
    pub token: String,
}

/// A user as listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UserDoc {
    /// The user id.
    pub user_id: String,
    /// The roles.
    pub roles: Vec<String>,
    /// When added.
    pub created_at: String,
    /// By whom.
    pub created_by: String,
    /// When revoked, if revoked.
    pub revoked_at: Option<String>,
    /// When the current token expires (absent: it does not; see
    /// `bangfu serve --token-lifetime-days`).
    pub token_expires_at: Option<String>,
}

fn role_names(roles: &[Role]) -> Vec<String> {
    roles.iter().map(|r| r.as_str().to_string()).collect()
}

fn users_error(e: UsersError, lang: Lang) -> ApiError {
    match e {
        UsersError::Exists(id) => ApiError::new(
            StatusCode::CONFLICT,
            "users.exists",
            lang,
            UsersError::Exists(id.clone()).message(lang),
        )
        .with_field("user_id"),
        UsersError::NotFound(id) => ApiError::new(
            StatusCode::NOT_FOUND,
            "users.not_found",
            lang,
            UsersError::NotFound(id.clone()).message(lang),
        ),
        UsersError::NoRoles => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "users.no_roles",
            lang,
            UsersError::NoRoles.message(lang),
        )
        .with_field("roles"),
        other => ApiError::unavailable(lang, &other),
    }
}

/// Parses role names, 422 naming the first unknown one; sorted, deduplicated.
fn parse_roles(names: &[String], lang: Lang) -> Result<Vec<Role>, ApiError> {
    let mut roles = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let role = Role::parse(name).ok_or_else(|| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "input.invalid_field",
                lang,
                lang.pick(
                    "未知角色（caseworker、approver、finance、auditor、admin）",
                    "unknown role (caseworker, approver, finance, auditor, admin)",
                )
                .to_string(),
            )
            .with_field(format!("roles[{i}]"))
        })?;
        roles.push(role);
    }
    Ok(normalise_roles(roles))
}

/// The caller's identity and role.
#[utoipa::path(get, path = "/v1/me", tag = "users",
    summary = "当前用户 Who am I",
    responses(
        (status = 200, body = Me),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn me(caller: Caller) -> Json<Me> {
    Json(Me {
        user_id: caller.user.id.as_str().to_string(),
        roles: role_names(&caller.user.roles),
        acting_role: caller.role.as_str().to_string(),
        sees_personal_data: crate::access::permissions::sees_personal_data(caller.role),
    })
}

/// Every user (admins only).
#[utoipa::path(get, path = "/v1/users", tag = "users",
    summary = "用户列表 List users",
    responses(
        (status = 200, body = Vec<UserDoc>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn list_users(State(state): State<ApiState>, caller: Caller) -> Response {
    let lang = caller.lang;
    let run = async {
        caller.require(Action::ManageUsers, "users")?;
        let users = state
            .users()
            .list()
            .await
            .map_err(|e| users_error(e, lang))?;
        Ok::<_, ApiError>(
            Json(
                users
                    .into_iter()
                    .map(|u| UserDoc {
                        user_id: u.id,
                        roles: role_names(&u.roles),
                        created_at: u.created_at,
                        created_by: u.created_by,
                        revoked_at: u.revoked_at,
                        token_expires_at: u.token_expires_at,
                    })
                    .collect::<Vec<_>>(),
            )
            .into_response(),
        )
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

/// Adds a user and returns their token (admins only).
#[utoipa::path(post, path = "/v1/users", tag = "users",
    summary = "添加用户 Add a user",
    request_body(content = NewUser, content_type = "application/json"),
    responses(
        (status = 201, body = IssuedToken),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn add_user(State(state): State<ApiState>, caller: Caller, body: Body) -> Response {
    let lang = caller.lang;
    let run = async {
        caller.require(Action::ManageUsers, "users")?;
        let bytes = super::commands::read_body(body, MAX_USER_BODY_BYTES, lang).await?;
        let new: NewUser = domain::i18n::with_lang(lang, || crate::app::input::parse_json(&bytes))
            .map_err(|e| ApiError::input(&e, lang))?;
        let id = Code::parse(&new.user_id).map_err(|error| {
            ApiError::input(
                &crate::app::input::InputError::Field {
                    field: "user_id".into(),
                    message: domain::i18n::Localize::localize(&error, lang),
                },
                lang,
            )
        })?;
        let roles = parse_roles(&new.roles, lang)?;
        compatible(&roles, lang)?;
        let token = state
            .users()
            .add(&id, &roles, caller.user.id.as_str())
            .await
            .map_err(|e| users_error(e, lang))?;
        Ok::<_, ApiError>(
            (
                StatusCode::CREATED,
                Json(IssuedToken {
                    user_id: id.as_str().to_string(),
                    roles: role_names(&roles),
                    token: token.expose().to_string(),
                }),
            )
                .into_response(),
        )
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

/// Revokes a user: their token stops working (admins only).
#[utoipa::path(post, path = "/v1/users/{user_id}/revoke", tag = "users",
    summary = "吊销用户 Revoke a user",
    params(("user_id" = String, Path, description = "The user")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn revoke_user(
    State(state): State<ApiState>,
    caller: Caller,
    Path(user_id): Path<String>,
) -> Response {
    let lang = caller.lang;
    let run = async {
        caller.require(Action::ManageUsers, "users")?;
        state
            .users()
            .revoke(&user_id)
            .await
            .map_err(|e| users_error(e, lang))?;
        Ok::<_, ApiError>(StatusCode::NO_CONTENT.into_response())
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

/// Issues a new token for a user and re-enables them if revoked (admins
/// only); the old token stops working at once.
#[utoipa::path(post, path = "/v1/users/{user_id}/token", tag = "users",
    summary = "重新签发令牌 Issue a new token (re-enables a revoked user)",
    params(("user_id" = String, Path, description = "The user")),
    responses(
        (status = 200, body = IssuedToken),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn reset_token(
    State(state): State<ApiState>,
    caller: Caller,
    Path(user_id): Path<String>,
) -> Response {
    let lang = caller.lang;
    let run = async {
        caller.require(Action::ManageUsers, "users")?;
        let users = state.users();
        let token = users
            .reset_token(&user_id)
            .await
            .map_err(|e| users_error(e, lang))?;
        let roles = users
            .list()
            .await
            .map_err(|e| users_error(e, lang))?
            .into_iter()
            .find(|u| u.id == user_id)
            .map(|u| role_names(&u.roles))
            .unwrap_or_default();
        Ok::<_, ApiError>(
            Json(IssuedToken {
                user_id,
                roles,
                token: token.expose().to_string(),
            })
            .into_response(),
        )
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

/// Replaces a user's roles (admins only); the token stays.
#[utoipa::path(put, path = "/v1/users/{user_id}/roles", tag = "users",
    summary = "更改角色 Replace a user's roles",
    params(("user_id" = String, Path, description = "The user")),
    request_body(content = NewRoles, content_type = "application/json"),
    responses(
        (status = 204, description = "Roles replaced"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn set_roles(
    State(state): State<ApiState>,
    caller: Caller,
    Path(user_id): Path<String>,
    body: Body,
) -> Response {
    let lang = caller.lang;
    let run = async {
        caller.require(Action::ManageUsers, "users")?;
        let bytes = super::commands::read_body(body, MAX_USER_BODY_BYTES, lang).await?;
        let new: NewRoles = domain::i18n::with_lang(lang, || crate::app::input::parse_json(&bytes))
            .map_err(|e| ApiError::input(&e, lang))?;
        let roles = parse_roles(&new.roles, lang)?;
        compatible(&roles, lang)?;
        state
            .users()
            .set_roles(&user_id, &roles)
            .await
            .map_err(|e| users_error(e, lang))?;
        Ok::<_, ApiError>(StatusCode::NO_CONTENT.into_response())
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

/// Segregation of duties (`audit::sod`): 422 for roles that perform an
/// incompatible pair of duties, on adding a user and on changing roles alike.
fn compatible(roles: &[Role], lang: Lang) -> Result<(), ApiError> {
    crate::audit::sod::check_new_user(roles, lang).map_err(|message| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "users.incompatible_roles",
            lang,
            message,
        )
        .with_field("roles")
    })
}

/// The user routes.
pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(me))
        .routes(routes!(list_users, add_user))
        .routes(routes!(revoke_user))
        .routes(routes!(reset_token))
        .routes(routes!(set_roles))
}
