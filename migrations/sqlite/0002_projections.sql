-- bangfu's views (read models), stored beside the events so a view's rows and
-- its projector's checkpoint commit in one transaction with nothing between.
--
-- Every view is rows of (kind, key) with a JSON document; `parent` groups rows
-- for listing (a plan period's units, a fund's payouts), `tag` is one more
-- filter (a payout's month), `position` is the global position of the last
-- event that changed the row. Plain tables, TEXT and BIGINT, no
-- SQLite-specific features: the same DDL runs on PostgreSQL (where `doc`
-- may become JSONB).
--
-- `view_rows_scratch` has the same shape: `bangfu projections rebuild` and
-- `verify` build views there from position zero, then swap them in or
-- compare them with the live rows.

CREATE TABLE view_rows
(
  kind     TEXT   NOT NULL,
  key      TEXT   NOT NULL,
  parent   TEXT   NOT NULL,
  tag      TEXT   NOT NULL,
  doc      TEXT   NOT NULL,
  position BIGINT NOT NULL,
  PRIMARY KEY (kind, key)
);

CREATE INDEX view_rows_by_parent ON view_rows (kind, parent, tag, key);

CREATE TABLE view_rows_scratch
(
  kind     TEXT   NOT NULL,
  key      TEXT   NOT NULL,
  parent   TEXT   NOT NULL,
  tag      TEXT   NOT NULL,
  doc      TEXT   NOT NULL,
  position BIGINT NOT NULL,
  PRIMARY KEY (kind, key)
);

CREATE INDEX view_rows_scratch_by_parent ON view_rows_scratch (kind, parent, tag, key);

-- One checkpoint per (space, view): the last global position whose events the
-- view's rows include. Space 'live' or 'scratch'. A projector moves it only
-- from the value it read (optimistic), so two projectors — two processes on
-- one file — never apply a batch twice.
CREATE TABLE projection_checkpoints
(
  space    TEXT   NOT NULL,
  view     TEXT   NOT NULL,
  position BIGINT NOT NULL,
  PRIMARY KEY (space, view)
);
