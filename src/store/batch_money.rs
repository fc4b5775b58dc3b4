//! The SQLite writer's batch-local balances: money checked at commit without
//! leaving the group commit's fast path.
//!
//! The writer is the only connection that writes the SQLite file, and it
//! holds the write lock for the whole batch, so inside a batch it can keep
//! the balances, caps and measure funds its commands touch in memory: each is
//! read from the database at most once per batch, every one-event command
//! that moves money is checked against those values *before* its row is
//! inserted (a refusal writes nothing, so it needs no savepoint), and each
//! touched row is written once, just before the batch's `COMMIT` — in the
//! same transaction as the events, so the balances are exactly as durable as
//! they are. The check itself is `money::apply`, the same code as on
//! PostgreSQL and the savepoint path: same order, same checked arithmetic,
//! same refusal.
//!
//! A command's changes are staged apart and kept only if the whole command
//! passes. Before a command that takes the savepoint path (several events,
//! reservations, a snapshot) the batch's changes are written and the memory
//! forgotten, since that command reads and writes the tables directly.

use std::collections::BTreeMap;

use domain::fund::Fund;
use domain::money::{fund_code, Account, Movement};
use sqlx::sqlite::SqliteConnection;

use super::money::{self, Ledger, MoneyConn, MoneyError};

const BALANCE: &str = "SELECT balance_fen FROM money_accounts WHERE kind = $1 AND key = $2";
const CAP: &str = "SELECT cap_fen FROM money_caps WHERE plan_id = $1";
const MEASURE_FUND: &str =
    "SELECT fund FROM money_measure_funds WHERE file_id = $1 AND measure_id = $2";
/// Rows per write-back statement (3 parameters each, far below SQLite's
/// limit on bound parameters).
const ROWS_PER_STATEMENT: usize = 256;

/// Balances (`None`: no row), caps and measure funds.
#[derive(Default)]
struct Tables {
    balances: BTreeMap<Account, Option<i64>>,
    caps: BTreeMap<String, Option<i64>>,
    measures: BTreeMap<(String, String), Option<Fund>>,
}

impl Tables {
    fn is_empty(&self) -> bool {
        self.balances.is_empty() && self.caps.is_empty() && self.measures.is_empty()
    }

    /// Moves every entry of `other` over this one's.
    fn absorb(&mut self, other: Tables) {
        self.balances.extend(other.balances);
        self.caps.extend(other.caps);
        self.measures.extend(other.measures);
    }
}

/// One batch's money, between the batch's `BEGIN IMMEDIATE` and `COMMIT`.
#[derive(Default)]
pub(super) struct BatchMoney {
    /// As read from the database in this transaction.
    read: Tables,
    /// Written by the batch's accepted commands, not yet in the database.
    dirty: Tables,
}

impl BatchMoney {
    /// Checks one command's movements against the batch's balances and, if
    /// it passes, keeps its changes (written by [`Self::write_back`]). A
    /// refused command changes nothing.
    pub async fn check(
        &mut self,
        conn: &mut SqliteConnection,
        movements: &[Movement],
    ) -> Result<(), MoneyError> {
        let mut staged = Staged {
            batch: self,
            conn,
            staged: Tables::default(),
        };
        money::apply(&mut staged, movements, true).await?;
        let changes = staged.staged;
        self.dirty.absorb(changes);
        Ok(())
    }

    /// Writes what the batch changed (one statement per table at most) and
    /// forgets everything: afterwards the database is the only truth again.
    pub async fn write_back(&mut self, conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
        let dirty = std::mem::take(&mut self.dirty);
        self.read = Tables::default();
        if dirty.is_empty() {
            return Ok(());
        }
        let balances: Vec<(&'static str, String, i64)> = dirty
            .balances
            .iter()
            .filter_map(|(account, balance)| balance.map(|b| (account.kind(), account.key(), b)))
            .collect();
        for rows in balances.chunks(ROWS_PER_STATEMENT) {
            let sql = upsert(
                "money_accounts (kind, key, balance_fen)",
                "(?, ?, ?)",
                rows.len(),
                "(kind, key) DO UPDATE SET balance_fen = excluded.balance_fen",
            );
            let mut query = sqlx::query(&sql);
            for (kind, key, balance) in rows {
                query = query.bind(*kind).bind(key).bind(*balance);
            }
            query.execute(&mut *conn).await?;
        }
        let caps: Vec<(&String, i64)> = dirty
            .caps
            .iter()
            .filter_map(|(plan, cap)| cap.map(|c| (plan, c)))
            .collect();
        for rows in caps.chunks(ROWS_PER_STATEMENT) {
            let sql = upsert(
                "money_caps (plan_id, cap_fen)",
                "(?, ?)",
                rows.len(),
                "(plan_id) DO UPDATE SET cap_fen = excluded.cap_fen",
            );
            let mut query = sqlx::query(&sql);
            for (plan, cap) in rows {
                query = query.bind(plan.as_str()).bind(*cap);
            }
            query.execute(&mut *conn).await?;
        }
        write_measures(conn, &dirty.measures).await
    }
}

/// Writes the measure funds the batch declared.
async fn write_measures(
    conn: &mut SqliteConnection,
    measures: &BTreeMap<(String, String), Option<Fund>>,
) -> Result<(), sqlx::Error> {
    let rows: Vec<(&String, &String, Fund)> = measures
        .iter()
        .filter_map(|((file, measure), fund)| fund.map(|f| (file, measure, f)))
        .collect();
    for rows in rows.chunks(ROWS_PER_STATEMENT) {
        let sql = upsert(
            "money_measure_funds (file_id, measure_id, fund)",
            "(?, ?, ?)",
            rows.len(),
            "(file_id, measure_id) DO UPDATE SET fund = excluded.fund",
        );
        let mut query = sqlx::query(&sql);
        for (file, measure, fund) in rows {
            query = query
                .bind(file.as_str())
                .bind(measure.as_str())
                .bind(fund_code(*fund));
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// `INSERT INTO {table} VALUES {row}, … ON CONFLICT {conflict}` for `rows` rows.
fn upsert(table: &str, row: &str, rows: usize, conflict: &str) -> String {
    let values = vec![row; rows].join(", ");
    format!("INSERT INTO {table} VALUES {values} ON CONFLICT {conflict}")
}

/// The value for `key`: the command's staged change, else the batch's, else
/// what was read (`None` if none of them knows it).
fn known<K: Ord, V: Clone>(
    staged: &BTreeMap<K, Option<V>>,
    dirty: &BTreeMap<K, Option<V>>,
    read: &BTreeMap<K, Option<V>>,
    key: &K,
) -> Option<Option<V>> {
    staged
        .get(key)
        .or_else(|| dirty.get(key))
        .or_else(|| read.get(key))
        .cloned()
}

/// One command's view while it is checked: its own staged changes over the
/// batch's, over the database.
struct Staged<'a> {
    batch: &'a mut BatchMoney,
    conn: &'a mut SqliteConnection,
    staged: Tables,
}

#[async_trait::async_trait]
impl Ledger for Staged<'_> {
    async fn set_cap(&mut self, plan_id: &str, cap_fen: i64) -> Result<(), sqlx::Error> {
        self.staged.caps.insert(plan_id.to_string(), Some(cap_fen));
        Ok(())
    }

    async fn set_measure_fund(
        &mut self,
        file_id: &str,
        measure_id: &str,
        fund: Fund,
    ) -> Result<(), sqlx::Error> {
        let key = (file_id.to_string(), measure_id.to_string());
        self.staged.measures.insert(key, Some(fund));
        Ok(())
    }

    async fn measure_fund(
        &mut self,
        file_id: &str,
        measure_id: &str,
    ) -> Result<Option<Fund>, sqlx::Error> {
        let key = (file_id.to_string(), measure_id.to_string());
        let (batch, staged) = (&self.batch, &self.staged);
        if let Some(fund) = known(
            &staged.measures,
            &batch.dirty.measures,
            &batch.read.measures,
            &key,
        ) {
            return Ok(fund);
        }
        let code = self.conn.text(MEASURE_FUND, &[file_id, measure_id]).await?;
        let fund = code.and_then(|code| domain::money::fund_of_code(&code));
        self.batch.read.measures.insert(key, fund);
        Ok(fund)
    }

    async fn cap(&mut self, plan_id: &str) -> Result<Option<i64>, sqlx::Error> {
        let key = plan_id.to_string();
        let (batch, staged) = (&self.batch, &self.staged);
        if let Some(cap) = known(&staged.caps, &batch.dirty.caps, &batch.read.caps, &key) {
            return Ok(cap);
        }
        let cap = self.conn.int(CAP, &[plan_id]).await?;
        self.batch.read.caps.insert(key, cap);
        Ok(cap)
    }

    async fn open(&mut self, account: &Account, opening: i64) -> Result<i64, sqlx::Error> {
        let (batch, staged) = (&self.batch, &self.staged);
        let balance = match known(
            &staged.balances,
            &batch.dirty.balances,
            &batch.read.balances,
            account,
        ) {
            Some(balance) => balance,
            None => {
                let key = account.key();
                let balance = self.conn.int(BALANCE, &[account.kind(), &key]).await?;
                self.batch.read.balances.insert(account.clone(), balance);
                balance
            }
        };
        match balance {
            Some(balance) => Ok(balance),
            // A new account is created at its opening balance, as the
            // database ledger's upsert does, even if nothing then moves.
            None => {
                self.staged.balances.insert(account.clone(), Some(opening));
                Ok(opening)
            }
        }
    }

    async fn set_balance(&mut self, account: &Account, balance: i64) -> Result<(), sqlx::Error> {
        self.staged.balances.insert(account.clone(), Some(balance));
        Ok(())
    }
}
