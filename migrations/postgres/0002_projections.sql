-- bangfu's views (read models) on PostgreSQL, beside the events, so a view's
-- rows and its projector's checkpoint commit in one transaction with nothing
-- between. The same tables as on SQLite (migrations/sqlite/0002 and 0011).
--
-- Every view is rows of (kind, key) with a JSON document; `parent` groups
-- rows for listing (a plan period's units, a fund's payouts), `tag` is one
-- more filter (a payout's month). `(log_commit, position)` is the log
-- position of the last event that changed the row: the writing
-- transaction's id (xid8, stored as bigint; it never wraps) and the event's
-- position, compared in that order, as the log is read (0001: gap-safe order).
--
-- `doc` is text, not jsonb: kept exactly as written, so the same history
-- gives byte-identical rows here and on SQLite. Text columns use the "C"
-- collation so that keys sort (and page) in byte order, as on SQLite,
-- whatever the database's locale.
--
-- `view_rows_scratch` has the same shape: `bangfu projections rebuild` and
-- `verify` build views there from position zero, then swap them in or
-- compare them with the live rows.

CREATE TABLE view_rows
(
  kind       text COLLATE "C" NOT NULL,
  key        text COLLATE "C" NOT NULL,
  parent     text COLLATE "C" NOT NULL,
  tag        text COLLATE "C" NOT NULL,
  doc        text             NOT NULL,
  log_commit bigint           NOT NULL CHECK (log_commit >= 0),
  position   bigint           NOT NULL CHECK (position >= 0),
  PRIMARY KEY (kind, key)
);

CREATE INDEX view_rows_by_parent ON view_rows (kind, parent, tag, key);

CREATE TABLE view_rows_scratch
(
  kind       text COLLATE "C" NOT NULL,
  key        text COLLATE "C" NOT NULL,
  parent     text COLLATE "C" NOT NULL,
  tag        text COLLATE "C" NOT NULL,
  doc        text             NOT NULL,
  log_commit bigint           NOT NULL CHECK (log_commit >= 0),
  position   bigint           NOT NULL CHECK (position >= 0),
  PRIMARY KEY (kind, key)
);

CREATE INDEX view_rows_scratch_by_parent ON view_rows_scratch (kind, parent, tag, key);

-- One checkpoint per (space, view): the log position of the last event whose
-- effects the view's rows include. Space 'live' or 'scratch'. A projector
-- moves it only from the value it read (optimistic; a second projector
-- blocks on the row lock, then finds the value changed and retries), so two
-- projectors never apply a batch twice.
CREATE TABLE projection_checkpoints
(
  space      text   NOT NULL,
  view       text   NOT NULL,
  log_commit bigint NOT NULL CHECK (log_commit >= 0),
  position   bigint NOT NULL CHECK (position >= 0),
  PRIMARY KEY (space, view)
);
