//! Money enforced at commit: the store side of [`domain::money`].
//!
//! Events declare what they move ([`domain::movements_of`]); a store applies
//! a command's movements inside the transaction that inserts its events
//! (SQLite: the writer's batch-local balances for a one-event command, see
//! `batch_money`, else the writer's savepoint for the command; PostgreSQL:
//! the commit's transaction) and refuses the command if an account it debits would end
//! below zero — [`InsufficientFunds`], travelling like a reservation conflict
//! as `PersistenceError::UnknownError(Box<InsufficientFunds>)`, so nothing of
//! the command is written.
//!
//! Balances live in `money_accounts` (`migrations/sqlite/0012_money.sql`,
//! `migrations/postgres/0003_money.sql`). The arithmetic is Rust's checked
//! `i64`, except one sum on PostgreSQL: there an account is read and
//! written by one statement (`ADD_BALANCE`, `balance_fen + net`, the net
//! change itself checked in Rust), because its row stays locked until
//! COMMIT and every round trip inside that lock is paid by every racing
//! command of the fund; PostgreSQL's `bigint` raises an error rather than
//! wrap, which becomes [`MoneyError::Overflow`]. SQLite's `+` would turn
//! into a REAL, so SQLite reads and writes in two steps. The check is per command: an account's balance after
//! all of the command's credits and debits must not be negative if the
//! command debits it. Accounts are locked (an upsert's row lock on
//! PostgreSQL; the single writer on SQLite) in sorted order, so racing commands are checked
//! one after the other and cannot deadlock on each other's accounts.
//!
//! History is never refused: an import (`store copy`) and the one-time
//! backfill of a store made by an earlier version replay movements with the
//! check off, so an account an old version overdrew keeps its negative
//! balance — visible, and every later debit of it is refused until credits
//! bring it back above what is asked.

use std::collections::BTreeMap;

use cqrs_es::persist::PersistenceError;
use domain::fund::Fund;
use domain::money::{fund_code, fund_of_code, Account, InsufficientFunds, Movement};
use sqlx::postgres::PgConnection;
use sqlx::sqlite::SqliteConnection;

const SET_CAP: &str = "INSERT INTO money_caps (plan_id, cap_fen) VALUES ($1, $2)
     ON CONFLICT (plan_id) DO UPDATE SET cap_fen = excluded.cap_fen";
const CAP: &str = "SELECT cap_fen FROM money_caps WHERE plan_id = $1";
const SET_MEASURE_FUND: &str =
    "INSERT INTO money_measure_funds (file_id, measure_id, fund) VALUES ($1, $2, $3)
     ON CONFLICT (file_id, measure_id) DO UPDATE SET fund = excluded.fund";
const MEASURE_FUND: &str =
    "SELECT fund FROM money_measure_funds WHERE file_id = $1 AND measure_id = $2";
/// Creates the account at `$3` if it is new, and returns its balance with
/// the row locked until the transaction ends: PostgreSQL's `ON CONFLICT DO
/// UPDATE` locks the row and waits for, then reads, a concurrent commit's
/// version (a no-op update, no arithmetic); on SQLite the writer is alone.
/// One statement, the same on both stores.
const OPEN_BALANCE: &str = "INSERT INTO money_accounts (kind, key, balance_fen) VALUES ($1, $2, $3)
     ON CONFLICT (kind, key) DO UPDATE SET balance_fen = money_accounts.balance_fen
     RETURNING balance_fen";
const SET_BALANCE: &str = "UPDATE money_accounts SET balance_fen = $3 WHERE kind = $1 AND key = $2";
const BACKFILL_DONE: &str = "SELECT done FROM money_backfill WHERE id = 1";
const MARK_BACKFILLED: &str = "UPDATE money_backfill SET done = 1 WHERE id = 1";
/// Events after `$1` in log order, for the backfill (`$2` a page size).
const BACKFILL_PAGE_SQLITE: &str =
    "SELECT position, aggregate_type, aggregate_id, event_type, event_version, payload
       FROM events WHERE position > $1 ORDER BY position LIMIT $2";
/// All of PostgreSQL's rows, ordered by transaction then position (the log
/// order); the backfill runs while holding the lock no writer of this version
/// can pass, so every row there is committed.
const BACKFILL_PAGE_PG: &str =
    "SELECT position, aggregate_type, aggregate_id, event_type, event_version, payload::text,
            transaction_id::text FROM events
      WHERE (transaction_id, position) > (CAST($3 AS text)::xid8, $1)
      ORDER BY transaction_id, position LIMIT $2";
/// Events read per backfill page.
const BACKFILL_PAGE_EVENTS: i64 = 2_048;

/// The statements the check needs, on one connection. The SQL is the same
/// on both stores (`$n` placeholders, which SQLite accepts too).
#[async_trait::async_trait]
pub(crate) trait MoneyConn: Send {
    /// Runs a statement with text and integer parameters.
    async fn exec(
        &mut self,
        sql: &'static str,
        text: &[&str],
        int: Option<i64>,
    ) -> Result<(), sqlx::Error>;
    /// One integer, if a row matches.
    async fn int(&mut self, sql: &'static str, text: &[&str]) -> Result<Option<i64>, sqlx::Error>;
    /// One integer from a statement with text parameters and then `int`.
    async fn int_with(
        &mut self,
        sql: &'static str,
        text: &[&str],
        int: i64,
    ) -> Result<Option<i64>, sqlx::Error>;
    /// One text, if a row matches.
    async fn text(
        &mut self,
        sql: &'static str,
        text: &[&str],
    ) -> Result<Option<String>, sqlx::Error>;
    /// Whether [`ADD_BALANCE`] may do an account's read and write in one
    /// statement here: PostgreSQL, whose `bigint` arithmetic raises an error
    /// on overflow (SQLite's would turn into a REAL and fail the CHECK
    /// instead, a less clear error; its writer runs without round trips to
    /// spare anyway).
    fn adds_in_sql(&self) -> bool;
    /// One integer from a statement with text and then integer parameters.
    async fn ints(
        &mut self,
        sql: &'static str,
        text: &[&str],
        ints: &[i64],
    ) -> Result<Option<i64>, sqlx::Error>;
}

/// Creates the account at `$3` (its opening plus the net change) or adds
/// `$4` (the net change) to it, and returns the new balance; the row stays
/// locked until the transaction ends. The sum is checked: PostgreSQL raises
/// `numeric_value_out_of_range` rather than wrap, and [`OVERFLOW_SQLSTATE`]
/// turns that into [`MoneyError::Overflow`]. A refusal decided on the
/// returned balance rolls the transaction back.
const ADD_BALANCE: &str = "INSERT INTO money_accounts (kind, key, balance_fen) VALUES ($1, $2, $3)
     ON CONFLICT (kind, key) DO UPDATE SET balance_fen = money_accounts.balance_fen + $4
     RETURNING balance_fen";
/// PostgreSQL's `numeric_value_out_of_range`.
const OVERFLOW_SQLSTATE: &str = "22003";

/// Binds text parameters, then the integer, in `$n` order.
macro_rules! bound {
    ($query:expr, $text:expr, $int:expr) => {{
        let mut query = $query;
        for t in $text {
            query = query.bind(*t);
        }
        if let Some(i) = $int {
            query = query.bind(i);
        }
        query
    }};
}

macro_rules! money_conn {
    ($conn:ty, $adds_in_sql:expr) => {
        #[async_trait::async_trait]
        impl MoneyConn for $conn {
            async fn exec(
                &mut self,
                sql: &'static str,
                text: &[&str],
                int: Option<i64>,
            ) -> Result<(), sqlx::Error> {
                bound!(sqlx::query(sql), text, int)
                    .execute(&mut *self)
                    .await
                    .map(drop)
            }
            async fn int(
                &mut self,
                sql: &'static str,
                text: &[&str],
            ) -> Result<Option<i64>, sqlx::Error> {
                bound!(sqlx::query_scalar(sql), text, None::<i64>)
                    .fetch_optional(&mut *self)
                    .await
            }
            async fn int_with(
                &mut self,
                sql: &'static str,
                text: &[&str],
                int: i64,
            ) -> Result<Option<i64>, sqlx::Error> {
                bound!(sqlx::query_scalar(sql), text, Some(int))
                    .fetch_optional(&mut *self)
                    .await
            }
            async fn text(
                &mut self,
                sql: &'static str,
                text: &[&str],
            ) -> Result<Option<String>, sqlx::Error> {
                bound!(sqlx::query_scalar(sql), text, None::<i64>)
                    .fetch_optional(&mut *self)
                    .await
            }
            fn adds_in_sql(&self) -> bool {
                $adds_in_sql
            }
            async fn ints(
                &mut self,
                sql: &'static str,
                text: &[&str],
                ints: &[i64],
            ) -> Result<Option<i64>, sqlx::Error> {
                let mut query = bound!(sqlx::query_scalar(sql), text, None::<i64>);
                for i in ints {
                    query = query.bind(*i);
                }
                query.fetch_optional(&mut *self).await
            }
        }
    };
}

money_conn!(SqliteConnection, false);
money_conn!(PgConnection, true);

/// Why movements could not be applied.
#[derive(Debug)]
pub(super) enum MoneyError {
    /// The command would take an account below zero.
    Refused(InsufficientFunds),
    /// A balance would leave i64: impossible amounts, a clear error.
    Overflow(Account),
    /// The database failed.
    Database(sqlx::Error),
}

impl From<sqlx::Error> for MoneyError {
    fn from(e: sqlx::Error) -> Self {
        MoneyError::Database(e)
    }
}

impl std::fmt::Display for MoneyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MoneyError::Refused(r) => write!(f, "{r}"),
            MoneyError::Overflow(a) => write!(f, "a {} balance would overflow i64 fen", a.kind()),
            MoneyError::Database(e) => write!(f, "database: {e}"),
        }
    }
}

impl MoneyError {
    /// As the store's commit error; `database` maps the store's own SQL errors.
    pub(super) fn into_persistence(
        self,
        database: fn(sqlx::Error) -> PersistenceError,
    ) -> PersistenceError {
        match self {
            MoneyError::Refused(refused) => {
                tracing::debug!(
                    kind = refused.account.kind(),
                    "commit refused: not enough money"
                );
                PersistenceError::UnknownError(Box::new(refused))
            }
            MoneyError::Database(e) => database(e),
            other => PersistenceError::UnknownError(other.to_string().into()),
        }
    }
}

/// What one command does to each account it touches: credits and debits.
#[derive(Default)]
struct Flows {
    credit_fen: i64,
    debit_fen: i64,
    /// Debits never refused: a period's close.
    unchecked_fen: i64,
}

/// What [`apply`] needs of where balances live: the database directly (any
/// [`MoneyConn`], inside the caller's transaction) or the SQLite writer's
/// batch-local balances (`super::batch_money`), which write each touched
/// account once per batch.
#[async_trait::async_trait]
pub(super) trait Ledger: Send {
    /// Records the per-member cap of a plan period.
    async fn set_cap(&mut self, plan_id: &str, cap_fen: i64) -> Result<(), sqlx::Error>;
    /// Records the fund a measure draws on.
    async fn set_measure_fund(
        &mut self,
        file_id: &str,
        measure_id: &str,
        fund: Fund,
    ) -> Result<(), sqlx::Error>;
    /// The fund a measure draws on, if declared.
    async fn measure_fund(
        &mut self,
        file_id: &str,
        measure_id: &str,
    ) -> Result<Option<Fund>, sqlx::Error>;
    /// A plan period's cap, if declared.
    async fn cap(&mut self, plan_id: &str) -> Result<Option<i64>, sqlx::Error>;
    /// The account's balance, created at `opening` if it is new, and locked
    /// until the transaction ends.
    async fn open(&mut self, account: &Account, opening: i64) -> Result<i64, sqlx::Error>;
    /// Writes the account's new balance.
    async fn set_balance(&mut self, account: &Account, balance: i64) -> Result<(), sqlx::Error>;
    /// Adds `net` to the account (created at `opening` if new) and returns
    /// its balance before and after, the row locked until the transaction
    /// ends. A refusal decided on them must roll the transaction back.
    async fn add(
        &mut self,
        account: &Account,
        opening: i64,
        net: i64,
    ) -> Result<(i64, i64), MoneyError> {
        add_in_steps(self, account, opening, net).await
    }
}

/// [`Ledger::add`] as a read, checked `i64` arithmetic and a write.
async fn add_in_steps<L: Ledger + ?Sized>(
    ledger: &mut L,
    account: &Account,
    opening: i64,
    net: i64,
) -> Result<(i64, i64), MoneyError> {
    let balance = ledger.open(account, opening).await?;
    let after = balance
        .checked_add(net)
        .ok_or_else(|| MoneyError::Overflow(account.clone()))?;
    if after != balance {
        ledger.set_balance(account, after).await?;
    }
    Ok((balance, after))
}

#[async_trait::async_trait]
impl<C: MoneyConn + ?Sized> Ledger for C {
    async fn set_cap(&mut self, plan_id: &str, cap_fen: i64) -> Result<(), sqlx::Error> {
        self.exec(SET_CAP, &[plan_id], Some(cap_fen)).await
    }
    async fn set_measure_fund(
        &mut self,
        file_id: &str,
        measure_id: &str,
        fund: Fund,
    ) -> Result<(), sqlx::Error> {
        let fund = fund_code(fund);
        self.exec(SET_MEASURE_FUND, &[file_id, measure_id, fund], None)
            .await
    }
    async fn measure_fund(
        &mut self,
        file_id: &str,
        measure_id: &str,
    ) -> Result<Option<Fund>, sqlx::Error> {
        let code = self.text(MEASURE_FUND, &[file_id, measure_id]).await?;
        Ok(code.and_then(|code| fund_of_code(&code)))
    }
    async fn cap(&mut self, plan_id: &str) -> Result<Option<i64>, sqlx::Error> {
        self.int(CAP, &[plan_id]).await
    }
    async fn open(&mut self, account: &Account, opening: i64) -> Result<i64, sqlx::Error> {
        self.int_with(OPEN_BALANCE, &[account.kind(), &account.key()], opening)
            .await?
            .ok_or(sqlx::Error::RowNotFound)
    }
    async fn set_balance(&mut self, account: &Account, balance: i64) -> Result<(), sqlx::Error> {
        self.exec(
            SET_BALANCE,
            &[account.kind(), &account.key()],
            Some(balance),
        )
        .await
    }
    async fn add(
        &mut self,
        account: &Account,
        opening: i64,
        net: i64,
    ) -> Result<(i64, i64), MoneyError> {
        if !self.adds_in_sql() {
            return add_in_steps(self, account, opening, net).await;
        }
        let overflow = || MoneyError::Overflow(account.clone());
        let created = opening.checked_add(net).ok_or_else(overflow)?;
        let key = account.key();
        let after = self
            .ints(ADD_BALANCE, &[account.kind(), &key], &[created, net])
            .await
            .and_then(|row| row.ok_or(sqlx::Error::RowNotFound))
            .map_err(|e| match &e {
                sqlx::Error::Database(db) if db.code().as_deref() == Some(OVERFLOW_SQLSTATE) => {
                    overflow()
                }
                _ => MoneyError::Database(e),
            })?;
        let balance = after.checked_sub(net).ok_or_else(overflow)?;
        Ok((balance, after))
    }
}

/// Applies one command's movements (all its events', in order) to `ledger`,
/// inside the caller's transaction. With `enforce`, a debited account that
/// would end below zero refuses the command (roll the transaction or
/// savepoint back, or drop the batch ledger's staged changes); without
/// (imports, backfill), history is recorded as it is.
pub(super) async fn apply<L: Ledger + ?Sized>(
    ledger: &mut L,
    movements: &[Movement],
    enforce: bool,
) -> Result<(), MoneyError> {
    // Sorted by account: the order rows are locked in.
    let mut flows: BTreeMap<Account, Flows> = BTreeMap::new();
    for movement in movements {
        let (account, amount, is_credit) = match movement {
            Movement::Cap { plan_id, cap_fen } => {
                ledger.set_cap(plan_id, cap_fen.fen()).await?;
                continue;
            }
            Movement::MeasureFund {
                file_id,
                measure_id,
                fund,
            } => {
                ledger.set_measure_fund(file_id, measure_id, *fund).await?;
                continue;
            }
            // An entry dated into a month: one fen in and out of the
            // period's account, refused once the close took it below zero.
            Movement::InPeriod { month } => {
                let entry = flows
                    .entry(Account::Period {
                        month: month.clone(),
                    })
                    .or_default();
                entry.credit_fen = 1;
                entry.debit_fen = 1;
                continue;
            }
            Movement::ClosePeriod { month } => {
                let entry = flows
                    .entry(Account::Period {
                        month: month.clone(),
                    })
                    .or_default();
                entry.unchecked_fen = 1;
                continue;
            }
            Movement::Credit {
                account,
                amount_fen,
            } => (account, amount_fen.fen(), true),
            Movement::Debit {
                account,
                amount_fen,
            } => (account, amount_fen.fen(), false),
        };
        let account = resolve(ledger, account).await?;
        let entry = flows.entry(account.clone()).or_default();
        let slot = if is_credit {
            &mut entry.credit_fen
        } else {
            &mut entry.debit_fen
        };
        *slot = slot
            .checked_add(amount)
            .ok_or(MoneyError::Overflow(account))?;
    }
    for (account, flow) in flows {
        settle(ledger, account, flow, enforce).await?;
    }
    Ok(())
}

/// The account a movement names, as stored: a measure's account is its fund's.
async fn resolve<L: Ledger + ?Sized>(
    ledger: &mut L,
    account: &Account,
) -> Result<Account, MoneyError> {
    let Account::Measure {
        file_id,
        measure_id,
    } = account
    else {
        return Ok(account.clone());
    };
    let fund = ledger
        .measure_fund(file_id, measure_id)
        .await?
        // An unknown measure keeps the money in the donation fund, as the
        // fund-balance view does (the campaign checks its target exists).
        .unwrap_or(Fund::Donation);
    Ok(Account::Fund(fund))
}

/// Locks one account, checks and writes its new balance.
async fn settle<L: Ledger + ?Sized>(
    ledger: &mut L,
    account: Account,
    flow: Flows,
    enforce: bool,
) -> Result<(), MoneyError> {
    let opening = match &account {
        // A member's headroom starts at the period's cap (none known: zero).
        Account::MemberCap { plan_id, .. } => ledger.cap(plan_id).await?.unwrap_or(0),
        _ => 0,
    };
    let overflow = || MoneyError::Overflow(account.clone());
    let net = flow
        .credit_fen
        .checked_sub(flow.debit_fen)
        .and_then(|n| n.checked_sub(flow.unchecked_fen))
        .ok_or_else(overflow)?;
    let (balance, after) = ledger.add(&account, opening, net).await?;
    // Credits first, then debits, each checked: what the command had
    // available, and what it leaves (the same as `after`).
    let available = balance.checked_add(flow.credit_fen).ok_or_else(overflow)?;
    let left = available
        .checked_sub(flow.debit_fen)
        .and_then(|a| a.checked_sub(flow.unchecked_fen))
        .ok_or_else(overflow)?;
    debug_assert_eq!(left, after);
    if enforce && flow.debit_fen > 0 && left < 0 {
        return Err(MoneyError::Refused(InsufficientFunds {
            account,
            available_fen: available,
            asked_fen: flow.debit_fen,
        }));
    }
    Ok(())
}

/// The movements of one stored event, or a clear error naming it.
pub(super) fn movements_of(
    aggregate_type: &str,
    aggregate_id: &str,
    event_type: &str,
    event_version: &str,
    payload: &serde_json::Value,
) -> Result<Vec<Movement>, String> {
    domain::movements_of(
        aggregate_type,
        aggregate_id,
        event_type,
        event_version,
        payload,
    )
    .map_err(|reason| {
        format!("cannot read the money movements of {aggregate_type} event {event_type}: {reason}")
    })
}

/// Every stored balance, `(kind, key, balance_fen)` (for checks and tests).
pub(super) const BALANCES: &str =
    "SELECT kind, key, balance_fen FROM money_accounts ORDER BY kind, key";

/// Backfills the balances of a SQLite store made before they existed (once;
/// later opens find `done`). Runs in one write transaction.
pub(super) async fn backfill_sqlite(pool: &sqlx::SqlitePool) -> Result<u64, BackfillError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    if tx.int(BACKFILL_DONE, &[]).await? != Some(0) {
        return Ok(0);
    }
    let mut after = 0_i64;
    let mut replayed = 0_u64;
    loop {
        let rows: Vec<(i64, String, String, String, String, String)> =
            sqlx::query_as(BACKFILL_PAGE_SQLITE)
                .bind(after)
                .bind(BACKFILL_PAGE_EVENTS)
                .fetch_all(&mut *tx)
                .await?;
        let Some(last) = rows.last() else { break };
        after = last.0;
        let page = rows.into_iter().map(|(_, t, id, e, v, p)| (t, id, e, v, p));
        replayed += replay_page(&mut *tx, page).await?;
    }
    tx.exec(MARK_BACKFILLED, &[], None).await?;
    tx.commit().await?;
    Ok(replayed)
}

/// Backfills the balances of a PostgreSQL store made before they existed.
/// Holds the `money_backfill` row locked meanwhile, so a second process
/// opening the store waits and then finds it done.
pub(super) async fn backfill_pg(pool: &sqlx::PgPool) -> Result<u64, BackfillError> {
    let mut tx = pool.begin().await?;
    let done: Option<i32> = sqlx::query_scalar(concat!(
        "SELECT done FROM money_backfill WHERE id = 1",
        " FOR UPDATE"
    ))
    .fetch_optional(&mut *tx)
    .await?;
    if done != Some(0) {
        return Ok(0);
    }
    let (mut after_commit, mut after) = ("0".to_string(), 0_i64);
    let mut replayed = 0_u64;
    loop {
        let rows: Vec<(i64, String, String, String, String, String, String)> =
            sqlx::query_as(BACKFILL_PAGE_PG)
                .bind(after)
                .bind(BACKFILL_PAGE_EVENTS)
                .bind(&after_commit)
                .fetch_all(&mut *tx)
                .await?;
        let Some(last) = rows.last() else { break };
        (after, after_commit) = (last.0, last.6.clone());
        let page = rows
            .into_iter()
            .map(|(_, t, id, e, v, p, _)| (t, id, e, v, p));
        replayed += replay_page(&mut *tx, page).await?;
    }
    tx.exec(MARK_BACKFILLED, &[], None).await?;
    tx.commit().await?;
    Ok(replayed)
}

/// One backfill page's events: aggregate type, id, event type, version and
/// payload text, in log order.
type BackfillRow = (String, String, String, String, String);

/// Applies a page of stored events' movements without the check; returns
/// how many events it replayed.
async fn replay_page<C: MoneyConn + ?Sized>(
    conn: &mut C,
    page: impl Iterator<Item = BackfillRow>,
) -> Result<u64, BackfillError> {
    let mut replayed = 0;
    for (aggregate_type, aggregate_id, event_type, version, payload) in page {
        let payload: serde_json::Value =
            serde_json::from_str(&payload).map_err(|e| BackfillError::Event(e.to_string()))?;
        let movements = movements_of(
            &aggregate_type,
            &aggregate_id,
            &event_type,
            &version,
            &payload,
        )
        .map_err(BackfillError::Event)?;
        apply(conn, &movements, false)
            .await
            .map_err(|e| BackfillError::Event(e.to_string()))?;
        replayed += 1;
    }
    Ok(replayed)
}

/// Why a backfill stopped (nothing of it is kept).
#[derive(Debug, thiserror::Error)]
pub enum BackfillError {
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// A stored event could not be replayed.
    #[error("backfilling balances: {0}")]
    Event(String),
}

/// Applies an imported event's movements, unchecked (history is never
/// refused; see the module doc).
pub(super) async fn import_event<C: MoneyConn + ?Sized>(
    conn: &mut C,
    event: &super::StoredEvent,
) -> Result<(), super::StoreError> {
    let movements = movements_of(
        &event.aggregate_type,
        &event.aggregate_id,
        &event.event_type,
        &event.event_version,
        &event.payload,
    )
    .map_err(super::StoreError::Import)?;
    apply(conn, &movements, false)
        .await
        .map_err(|e| super::StoreError::Import(e.to_string()))
}
