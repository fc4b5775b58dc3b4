-- Money enforced at commit (domain/src/money.rs, src/store/money.rs): the
-- balances events move, kept in the same transaction as the events so a
-- commit that would take one below zero is refused with nothing written.
-- The same tables as on SQLite (migrations/sqlite/0012_money.sql).
--
-- Amounts are whole fen, written only from Rust's checked i64 arithmetic.
-- Concurrent commits lock the account rows they move (an upsert's row lock,
-- in sorted order), so two racing debits are checked one after the other.

-- One row per account: kind `fund` (key: the fund's code), `member_cap`
-- (`{plan_id}/{resident ID}`), `campaign` (the campaign's id). The balance is
-- negative only where an imported history overdrew it.
CREATE TABLE money_accounts
(
  kind        text   NOT NULL,
  key         text   NOT NULL,
  balance_fen bigint NOT NULL,
  PRIMARY KEY (kind, key)
);

-- Each plan period's cap per member: where a member's cap account starts.
CREATE TABLE money_caps
(
  plan_id text   NOT NULL PRIMARY KEY,
  cap_fen bigint NOT NULL CHECK (cap_fen >= 0)
);

-- The fund each hardship measure draws on, as its file's plan last declared
-- it: an allocation to a measure credits that fund.
CREATE TABLE money_measure_funds
(
  file_id    text NOT NULL,
  measure_id text NOT NULL,
  fund       text NOT NULL,
  PRIMARY KEY (file_id, measure_id)
);

-- Whether the balances above were computed from the events already in the
-- log. A store made by an earlier version has events but no balances; the
-- first open after this migration replays its log once and sets `done`.
CREATE TABLE money_backfill
(
  id   integer NOT NULL PRIMARY KEY CHECK (id = 1),
  done integer NOT NULL
);
INSERT INTO money_backfill (id, done) VALUES (1, 0);
