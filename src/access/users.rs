//! Users of the HTTP service, their roles and their bearer tokens.
//!
//! A token is 256 random bits from the operating system, shown once when it is
//! issued and stored only as its SHA-256; a presented token is hashed, looked
//! up, and compared with the stored hash in constant time. A user may hold
//! several roles (a union official can be a caseworker and an approver) and
//! acts in one per request; four-eyes is the aggregates' rule and holds
//! whichever roles a person has.
//!
//! The tables live in the event store's SQLite file (migration
//! `0010_users.sql`), reached through a small pool of their own so the store's
//! single writer connection stays the event log's.

use std::path::Path;
use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use domain::command::Role;
use domain::values::Code;
use sha2::{Digest, Sha256};
use sqlx::sqlite::SqliteSynchronous;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use sqlx::ConnectOptions;
use subtle::ConstantTimeEq;

/// Most users listed by one call (a federation's staff fits many times over).
pub const MAX_USERS_LISTED: i64 = 10_000;

/// A bearer token as issued: shown to the person once, never stored.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// A fresh token: `bf_` and 64 hex digits (256 bits from the OS).
    pub fn generate() -> Result<Token, UsersError> {
        let mut bytes = [0u8; 32];
        getrandom::getrandom(&mut bytes).map_err(|e| UsersError::Random(e.to_string()))?;
        Ok(Token(format!("bf_{}", hex::encode(bytes))))
    }

    /// The token text, to hand to its user.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Never print a token by accident.
impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(***)")
    }
}

/// SHA-256 of a token, hex: what the database keeps.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// An authenticated user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// Stable id, recorded in every event the user causes.
    pub id: Code,
    /// The roles the user may act in, in [`ROLES`] order.
    pub roles: Vec<Role>,
}

/// Every role, in the order they are listed.
pub const ROLES: [Role; 5] = [
    Role::Caseworker,
    Role::Approver,
    Role::Finance,
    Role::Auditor,
    Role::Admin,
];

/// Sorts and dedups roles into [`ROLES`] order.
pub fn normalise_roles(roles: impl IntoIterator<Item = Role>) -> Vec<Role> {
    let held: Vec<Role> = roles.into_iter().collect();
    ROLES.into_iter().filter(|r| held.contains(r)).collect()
}

impl User {
    /// Whether the user holds `role`.
    pub fn holds(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

/// One row of `bangfu users list`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserInfo {
    /// The user.
    pub id: String,
    /// Role names.
    pub roles: Vec<Role>,
    /// RFC 3339.
    pub created_at: String,
    /// Who added the user.
    pub created_by: String,
    /// RFC 3339, if revoked.
    pub revoked_at: Option<String>,
    /// RFC 3339, when the current token expires (none: it does not).
    pub token_expires_at: Option<String>,
}

/// Why a user operation failed.
#[derive(Debug, thiserror::Error)]
pub enum UsersError {
    /// The user id is already taken (revoked ids are not reused).
    #[error("user {0} already exists")]
    Exists(String),
    /// No such user.
    #[error("no user {0}")]
    NotFound(String),
    /// A user needs at least one role.
    #[error("a user needs at least one role")]
    NoRoles,
    /// The operating system's random source failed.
    #[error("random source: {0}")]
    Random(String),
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// The database file could not be created or migrated.
    #[error("database file: {0}")]
    Store(String),
}

impl UsersError {
    /// The message for people, Chinese first (the CLI's and the API's).
    pub fn message(&self, lang: domain::i18n::Lang) -> String {
        use domain::i18n::Lang;
        match (self, lang) {
            (UsersError::Exists(id), Lang::Zh) => format!("用户 {id} 已存在"),
            (UsersError::NotFound(id), Lang::Zh) => format!("没有用户 {id}"),
            (UsersError::NoRoles, Lang::Zh) => "用户至少需要一个角色".to_string(),
            (UsersError::Random(e), Lang::Zh) => format!("系统随机源不可用：{e}"),
            (UsersError::Database(e), Lang::Zh) => format!("用户库读写失败：{e}"),
            (UsersError::Store(e), Lang::Zh) => format!("用户库文件无法创建或升级：{e}"),
            (e, Lang::En) => e.to_string(),
        }
    }
}

/// The user directory over the database file.
#[derive(Clone, Debug)]
pub struct Users {
    pool: SqlitePool,
    /// How long a token issued from here is valid (`None`: no expiry).
    token_lifetime: Option<chrono::Duration>,
}

impl Users {
    /// Opens the directory in the database file at `path`, creating and
    /// migrating the file if needed: under `--store postgres://…` the `--db`
    /// file holds only the users and idempotency keys, and may not exist
    /// yet. Its tables come with the embedded store's migrations, which are
    /// a no-op check when the store has already opened the same file.
    pub async fn open(path: &Path) -> Result<Users, UsersError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| UsersError::Store(e.to_string()))?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true)
            .log_slow_statements(log::LevelFilter::Debug, Duration::from_secs(1));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&pool)
            .await
            .map_err(|e| UsersError::Store(e.to_string()))?;
        Ok(Users {
            pool,
            token_lifetime: None,
        })
    }

    /// The directory issuing tokens valid for `days` (none: no expiry).
    /// Expiry is checked on every request; `reset_token` rotates.
    pub fn with_token_lifetime(mut self, days: Option<u32>) -> Users {
        self.token_lifetime = days.map(|d| chrono::Duration::days(i64::from(d)));
        self
    }

    /// When a token issued now expires, in the stored format.
    fn expiry(&self) -> Option<String> {
        self.token_lifetime
            .map(|d| (Utc::now() + d).to_rfc3339_opts(SecondsFormat::Micros, true))
    }

    /// The pool, for the service's other small tables (idempotency keys).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Adds a user with `roles` and returns their token (shown once).
    pub async fn add(
        &self,
        id: &Code,
        roles: &[Role],
        created_by: &str,
    ) -> Result<Token, UsersError> {
        if roles.is_empty() {
            return Err(UsersError::NoRoles);
        }
        let token = Token::generate()?;
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO users (user_id, token_sha256, created_at, created_by, token_expires_at)
             VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id) DO NOTHING",
        )
        .bind(id.as_str())
        .bind(token_hash(token.expose()))
        .bind(now())
        .bind(created_by)
        .bind(self.expiry())
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(UsersError::Exists(id.as_str().to_string()));
        }
        for role in roles {
            sqlx::query("INSERT OR IGNORE INTO user_roles (user_id, role) VALUES (?, ?)")
                .bind(id.as_str())
                .bind(role.as_str())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        tracing::info!(user = id.as_str(), "user added");
        Ok(token)
    }

    /// Revokes a user: their token stops working at once.
    pub async fn revoke(&self, id: &str) -> Result<(), UsersError> {
        let done =
            sqlx::query("UPDATE users SET revoked_at = COALESCE(revoked_at, ?) WHERE user_id = ?")
                .bind(now())
                .bind(id)
                .execute(&self.pool)
                .await?;
        if done.rows_affected() == 0 {
            return Err(UsersError::NotFound(id.to_string()));
        }
        tracing::info!(user = id, "user revoked");
        Ok(())
    }

    /// Issues a new token for `id` and re-enables the user if revoked: the
    /// old token stops working at once, the new one is returned (shown once).
    pub async fn reset_token(&self, id: &str) -> Result<Token, UsersError> {
        let token = Token::generate()?;
        let done =
            sqlx::query("UPDATE users SET token_sha256 = ?, revoked_at = NULL, token_expires_at = ? WHERE user_id = ?")
                .bind(token_hash(token.expose()))
                .bind(self.expiry())
                .bind(id)
                .execute(&self.pool)
                .await?;
        if done.rows_affected() == 0 {
            return Err(UsersError::NotFound(id.to_string()));
        }
        tracing::info!(user = id, "token reset");
        Ok(token)
    }

    /// Replaces `id`'s roles with `roles` (at least one); the token stays.
    pub async fn set_roles(&self, id: &str, roles: &[Role]) -> Result<(), UsersError> {
        if roles.is_empty() {
            return Err(UsersError::NoRoles);
        }
        let mut tx = self.pool.begin().await?;
        let known: Option<String> =
            sqlx::query_scalar("SELECT user_id FROM users WHERE user_id = ?")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        if known.is_none() {
            return Err(UsersError::NotFound(id.to_string()));
        }
        sqlx::query("DELETE FROM user_roles WHERE user_id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        for role in roles {
            sqlx::query("INSERT INTO user_roles (user_id, role) VALUES (?, ?)")
                .bind(id)
                .bind(role.as_str())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        tracing::info!(user = id, "roles changed");
        Ok(())
    }

    /// Every user, oldest first (at most [`MAX_USERS_LISTED`]).
    pub async fn list(&self) -> Result<Vec<UserInfo>, UsersError> {
        type Row = (
            String,
            String,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT u.user_id, u.created_at, u.created_by, u.revoked_at, u.token_expires_at,
                    (SELECT group_concat(role, ',') FROM user_roles r WHERE r.user_id = u.user_id)
               FROM users u ORDER BY u.created_at, u.user_id LIMIT ?",
        )
        .bind(MAX_USERS_LISTED)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(id, created_at, created_by, revoked_at, token_expires_at, roles)| {
                    let roles = normalise_roles(
                        roles.unwrap_or_default().split(',').filter_map(Role::parse),
                    );
                    UserInfo {
                        id,
                        roles,
                        created_at,
                        created_by,
                        revoked_at,
                        token_expires_at,
                    }
                },
            )
            .collect())
    }

    /// The active user whose token this is, if any. One query (user and
    /// roles together): it runs on every request, and each query is a round
    /// trip to the pool's SQLite thread. Nothing is cached, so a revocation
    /// (from this process or `bangfu users revoke` in another) holds from the
    /// next request on.
    pub async fn authenticate(&self, token: &str) -> Result<Option<User>, UsersError> {
        let presented = token_hash(token);
        let row: Option<(String, String, Option<String>)> = sqlx::query_as(
            "SELECT u.user_id, u.token_sha256,
                    (SELECT group_concat(r.role, ',') FROM user_roles r WHERE r.user_id = u.user_id)
               FROM users u
              WHERE u.token_sha256 = ? AND u.revoked_at IS NULL
                AND (u.token_expires_at IS NULL OR u.token_expires_at > ?)",
        )
        .bind(&presented)
        .bind(now())
        .fetch_optional(&self.pool)
        .await?;
        let Some((id, stored, roles)) = row else {
            return Ok(None);
        };
        // The index lookup already matched; comparing again in constant time
        // keeps the decision itself free of timing differences.
        if !bool::from(stored.as_bytes().ct_eq(presented.as_bytes())) {
            return Ok(None);
        }
        let Ok(id) = Code::parse(&id) else {
            return Ok(None);
        };
        Ok(Some(User {
            id,
            roles: normalise_roles(roles.unwrap_or_default().split(',').filter_map(Role::parse)),
        }))
    }

    /// While no user holds the admin role (a fresh database), adds `admin`
    /// with that role and returns its token for the operator to note;
    /// afterwards `None`. Both `bangfu serve` and `bangfu users add` call it,
    /// so whichever runs first creates the admin, and only once. A revoked
    /// admin still holds the role: `bangfu users reset-token` re-enables it.
    pub async fn bootstrap_admin(
        &self,
        created_by: &str,
    ) -> Result<Option<(Code, Token)>, UsersError> {
        let admins: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM user_roles WHERE role = ?")
            .bind(Role::Admin.as_str())
            .fetch_one(&self.pool)
            .await?;
        if admins > 0 {
            return Ok(None);
        }
        let id = Code::parse("admin").map_err(|e| UsersError::NotFound(e.to_string()))?;
        match self.add(&id, &[Role::Admin], created_by).await {
            Ok(token) => Ok(Some((id, token))),
            // Another process bootstrapped at the same moment.
            Err(UsersError::Exists(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Tells the operator the admin token [`Users::bootstrap_admin`] issued.
pub fn print_bootstrap(
    out: &mut dyn std::io::Write,
    id: &Code,
    token: &Token,
    lang: domain::i18n::Lang,
) -> std::io::Result<()> {
    use domain::i18n::Lang;
    match lang {
        Lang::Zh => writeln!(
            out,
            "首次使用：已创建管理员用户 {id}。其访问令牌只显示这一次，请妥善保存：\n\n    {}\n\n\
             用它添加其他用户：bangfu users add <用户名> --role caseworker（或 POST /v1/users）",
            token.expose()
        ),
        Lang::En => writeln!(
            out,
            "First use: created the admin user {id}. Its token is shown this once; keep it safe:\n\n    {}\n\n\
             Add other users with it: bangfu users add <user> --role caseworker (or POST /v1/users)",
            token.expose()
        ),
    }
}
