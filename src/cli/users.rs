//! `bangfu users …`: the command line over [`crate::access::users`].

use std::path::Path;

use domain::command::Role;
use domain::values::Code;

use crate::access::users::{normalise_roles, print_bootstrap, Users, UsersError};
use crate::cli::{ExitKind, Failure};

/// `bangfu users …`.
#[derive(Clone, Debug, PartialEq, Eq, clap::Subcommand)]
pub enum UsersCommand {
    /// Add a user and print their token (shown this once). On a fresh
    /// database it first creates the `admin` user and prints its token too.
    Add {
        /// User id (1–64 of A–Z a–z 0–9 . _ / -), e.g. lin.xiaomei.
        user_id: String,
        /// A role the user may act in; repeat for several.
        #[arg(long = "role", required = true, value_parser = parse_role_arg)]
        roles: Vec<Role>,
        /// Days the token stays valid (unset: it does not expire).
        #[arg(long, env = "BANGFU_TOKEN_LIFETIME_DAYS")]
        expires_in_days: Option<u32>,
    },
    /// List users and their roles.
    List,
    /// Revoke a user: their token stops working at once.
    Revoke {
        /// The user.
        user_id: String,
    },
    /// Issue a new token (shown this once) and re-enable a revoked user; the
    /// old token stops working at once.
    ResetToken {
        /// The user.
        user_id: String,
        /// Days the new token stays valid (unset: it does not expire).
        #[arg(long, env = "BANGFU_TOKEN_LIFETIME_DAYS")]
        expires_in_days: Option<u32>,
    },
    /// Replace a user's roles (the token stays).
    Roles {
        /// The user.
        user_id: String,
        /// A role the user may act in from now on; repeat for several.
        #[arg(long = "role", required = true, value_parser = parse_role_arg)]
        roles: Vec<Role>,
    },
}

fn parse_role_arg(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| {
        format!("unknown role `{s}` (caseworker, approver, finance, auditor, admin)")
    })
}

/// Runs a `bangfu users` command against the database file `db` (the event
/// store must already be open on it, so its migrations have run).
pub async fn run_cli(
    db: &Path,
    command: UsersCommand,
    lang: domain::i18n::Lang,
    out: &mut dyn std::io::Write,
) -> Result<(), Failure> {
    let lifetime = match &command {
        UsersCommand::Add {
            expires_in_days, ..
        }
        | UsersCommand::ResetToken {
            expires_in_days, ..
        } => *expires_in_days,
        _ => None,
    };
    let users = Users::open(db)
        .await
        .map_err(|e| users_failure(e, lang))?
        .with_token_lifetime(lifetime);
    let result = run_users_command(&users, command, lang, out).await;
    users.close().await;
    result
}

async fn run_users_command(
    users: &Users,
    command: UsersCommand,
    lang: domain::i18n::Lang,
    out: &mut dyn std::io::Write,
) -> Result<(), Failure> {
    let io = |e: std::io::Error| Failure::other(e.to_string());
    match command {
        UsersCommand::Add { user_id, roles, .. } => {
            let id = Code::parse(&user_id).map_err(|e| Failure {
                code: Some(domain::i18n::ErrorCode::code(&e)),
                message: format!("user_id: {}", domain::i18n::Localize::localize(&e, lang)),
                exit: ExitKind::Input,
            })?;
            let roles = normalise_roles(roles);
            compatible(&roles, lang)?;
            if !roles.contains(&Role::Admin) {
                let bootstrapped = users
                    .bootstrap_admin("bangfu users add (first use)")
                    .await
                    .map_err(|e| users_failure(e, lang))?;
                if let Some((admin, token)) = bootstrapped {
                    print_bootstrap(out, &admin, &token, lang).map_err(io)?;
                }
            }
            let token = users
                .add(&id, &roles, "bangfu users add")
                .await
                .map_err(|e| users_failure(e, lang))?;
            let names = role_list(&roles, lang);
            // The token on a line of its own, last: `| tail -n 1` takes it.
            match lang {
                domain::i18n::Lang::Zh => writeln!(
                    out,
                    "已添加用户 {id}（{names}）。访问令牌只显示这一次：\n{}",
                    token.expose()
                ),
                domain::i18n::Lang::En => writeln!(
                    out,
                    "added user {id} ({names}). The token is shown this once:\n{}",
                    token.expose()
                ),
            }
            .map_err(io)
        }
        UsersCommand::List => {
            let mut text = String::new();
            for u in users.list().await.map_err(|e| users_failure(e, lang))? {
                let names: Vec<&str> = u.roles.iter().map(|r| r.as_str()).collect();
                let revoked = match (&u.revoked_at, &u.token_expires_at) {
                    (Some(at), _) => format!("  {} {at}", lang.pick("已吊销", "revoked")),
                    (None, Some(at)) => {
                        format!(
                            "  {} {}",
                            lang.pick("令牌有效期至", "token expires"),
                            at.get(..19).unwrap_or(at)
                        )
                    }
                    (None, None) => String::new(),
                };
                text.push_str(&format!(
                    "{}\t{}\t{}{revoked}\n",
                    u.id,
                    names.join(","),
                    u.created_at.get(..19).unwrap_or(&u.created_at)
                ));
            }
            out.write_all(text.as_bytes()).map_err(io)
        }
        UsersCommand::Revoke { user_id } => {
            users
                .revoke(&user_id)
                .await
                .map_err(|e| users_failure(e, lang))?;
            writeln!(out, "{} {user_id}", lang.pick("已吊销用户", "revoked user")).map_err(io)
        }
        UsersCommand::ResetToken { user_id, .. } => {
            let token = users
                .reset_token(&user_id)
                .await
                .map_err(|e| users_failure(e, lang))?;
            let head = lang.pick(
                "已为用户重新签发访问令牌（旧令牌立即失效，用户如已吊销则恢复）。新令牌只显示这一次：",
                "issued a new token (the old one stops working at once; a revoked user is re-enabled). It is shown this once:",
            );
            writeln!(out, "{user_id}: {head}\n{}", token.expose()).map_err(io)
        }
        UsersCommand::Roles { user_id, roles } => {
            let roles = normalise_roles(roles);
            compatible(&roles, lang)?;
            users
                .set_roles(&user_id, &roles)
                .await
                .map_err(|e| users_failure(e, lang))?;
            let names = role_list(&roles, lang);
            match lang {
                domain::i18n::Lang::Zh => writeln!(out, "用户 {user_id} 的角色现为：{names}"),
                domain::i18n::Lang::En => writeln!(out, "user {user_id} now holds: {names}"),
            }
            .map_err(io)
        }
    }
}

/// Segregation of duties (`audit::sod`): roles that perform an incompatible
/// pair of duties are refused (exit 3), on `add` and `roles` alike.
fn compatible(roles: &[Role], lang: domain::i18n::Lang) -> Result<(), Failure> {
    crate::audit::sod::check_new_user(roles, lang).map_err(|message| Failure {
        code: Some("users.incompatible_roles"),
        message,
        exit: ExitKind::Input,
    })
}

fn role_list(roles: &[Role], lang: domain::i18n::Lang) -> String {
    let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    names.join(lang.pick("、", ", "))
}

/// The exit status a user-directory error means: an existing id is a held
/// key (5), a missing user is not found (8), no roles is invalid input (3);
/// only the database failing is a storage failure (1).
fn users_failure(e: UsersError, lang: domain::i18n::Lang) -> Failure {
    use ExitKind;
    let (code, exit) = match &e {
        UsersError::Exists(_) => ("users.exists", ExitKind::Conflict),
        UsersError::NotFound(_) => ("users.not_found", ExitKind::NotFound),
        UsersError::NoRoles => ("users.no_roles", ExitKind::Input),
        UsersError::Random(_) | UsersError::Database(_) | UsersError::Store(_) => {
            ("users.unavailable", ExitKind::Failure)
        }
    };
    Failure {
        code: Some(code),
        message: e.message(lang),
        exit,
    }
}
