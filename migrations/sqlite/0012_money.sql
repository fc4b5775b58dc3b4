-- Money enforced at commit (domain/src/money.rs, src/store/money.rs): the
-- balances events move, kept in the same transaction as the events so a
-- commit that would take one below zero is refused with nothing written.
-- The same tables on PostgreSQL (migrations/postgres/0003_money.sql).
--
-- Amounts are whole fen, written only from Rust's checked i64 arithmetic
-- (no SQL arithmetic: it could overflow into REAL on SQLite).

-- One row per account: kind `fund` (key: the fund's code), `member_cap`
-- (`{plan_id}/{resident ID}`), `campaign` (the campaign's id). The balance is
-- negative only where an imported history overdrew it.
CREATE TABLE money_accounts
(
  kind        TEXT    NOT NULL,
  key         TEXT    NOT NULL,
  balance_fen INTEGER NOT NULL CHECK (typeof(balance_fen) = 'integer'),
  PRIMARY KEY (kind, key)
) WITHOUT ROWID;

-- Each plan period's cap per member: where a member's cap account starts.
CREATE TABLE money_caps
(
  plan_id TEXT    NOT NULL PRIMARY KEY,
  cap_fen INTEGER NOT NULL CHECK (typeof(cap_fen) = 'integer' AND cap_fen >= 0)
) WITHOUT ROWID;

-- The fund each hardship measure draws on, as its file's plan last declared
-- it: an allocation to a measure credits that fund.
CREATE TABLE money_measure_funds
(
  file_id    TEXT NOT NULL,
  measure_id TEXT NOT NULL,
  fund       TEXT NOT NULL,
  PRIMARY KEY (file_id, measure_id)
) WITHOUT ROWID;

-- Whether the balances above were computed from the events already in the
-- log. A store made by an earlier version has events but no balances; the
-- first open after this migration replays its log once and sets `done`.
CREATE TABLE money_backfill
(
  id   INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
  done INTEGER NOT NULL
);
INSERT INTO money_backfill (id, done) VALUES (1, 0);
