-- bangfu's event store on PostgreSQL: the event log, aggregate snapshots and
-- cross-aggregate reservations. Column names of `events` and `snapshots` are
-- postgres-es's, so its SELECTs run unchanged on these tables; everything else
-- is bangfu's.
--
-- The global order. Concurrent transactions take `position` values in the
-- order they insert, not the order they commit, so a reader following
-- `position` alone could pass a gap that a slower transaction fills later and
-- never see that event. Each row therefore also records the id of the
-- transaction that wrote it (`transaction_id`, xid8, never wraps), and the log
-- is read ordered by (transaction_id, position) and only below
-- pg_snapshot_xmin(pg_current_snapshot()): every transaction with a smaller id
-- has finished, so nothing can appear later behind a reader's checkpoint. (The
-- technique Emmett and Marten use.)

CREATE TABLE events
(
  -- Insertion order; unique, never reused, may have gaps (rolled-back commits).
  position       bigint GENERATED ALWAYS AS IDENTITY,
  -- The writing transaction; all of one commit's events share it.
  transaction_id xid8   NOT NULL DEFAULT pg_current_xact_id(),
  -- UUID v7 assigned when the event is persisted; also copied into `metadata`.
  event_id       uuid   NOT NULL UNIQUE,
  aggregate_type text   NOT NULL,
  aggregate_id   text   NOT NULL,
  -- bigint end to end: postgres-es binds sequences as 32-bit, bangfu does not.
  sequence       bigint NOT NULL CHECK (sequence >= 1),
  event_type     text   NOT NULL,
  event_version  text   NOT NULL,
  -- `json`, not `jsonb`: the text is kept exactly as written, so a history
  -- copied between stores stays byte-identical.
  payload        json   NOT NULL,
  metadata       json   NOT NULL,
  -- Copied from metadata.recorded_at (RFC 3339) so the log can be read by time.
  recorded_at    text,
  -- Hash chain per stream: hash = SHA-256(prev_hash || canonical JSON of the
  -- event), prev_hash of a stream's first event is 64 zeros.
  prev_hash      text   NOT NULL CHECK (length(prev_hash) = 64),
  hash           text   NOT NULL CHECK (length(hash) = 64),
  CONSTRAINT events_stream_sequence PRIMARY KEY (aggregate_type, aggregate_id, sequence),
  CONSTRAINT events_position UNIQUE (position)
);

-- The global log, in the order readers follow it.
CREATE INDEX events_log_order ON events (transaction_id, position);
-- Replays of one aggregate type in log order (`stream_all_events`).
CREATE INDEX events_by_type_log_order ON events (aggregate_type, transaction_id, position);

-- The past is corrected by new events, never edited. The trigger stops
-- accidents; deliberate tampering is what the hash chain detects.
CREATE FUNCTION events_append_only() RETURNS trigger
  LANGUAGE plpgsql AS
$$
BEGIN
  RAISE EXCEPTION 'events are append-only';
END
$$;

CREATE TRIGGER events_no_update_or_delete
  BEFORE UPDATE OR DELETE ON events
  FOR EACH ROW EXECUTE FUNCTION events_append_only();

CREATE TRIGGER events_no_truncate
  BEFORE TRUNCATE ON events
  FOR EACH STATEMENT EXECUTE FUNCTION events_append_only();

-- One snapshot per aggregate, replaced in place (postgres-es keys by
-- last_sequence as well and so would keep every snapshot ever taken).
CREATE TABLE snapshots
(
  aggregate_type   text   NOT NULL,
  aggregate_id     text   NOT NULL,
  last_sequence    bigint NOT NULL CHECK (last_sequence >= 0),
  current_snapshot bigint NOT NULL CHECK (current_snapshot >= 1),
  payload          json   NOT NULL,
  PRIMARY KEY (aggregate_type, aggregate_id)
);

-- Keys unique across aggregates (one open hardship file per resident ID, one
-- claim per hospital stay). Taken and released by events, in the events'
-- transaction, so a race ends in a refused commit.
CREATE TABLE reservations
(
  scope          text   NOT NULL,
  key            text   NOT NULL,
  aggregate_type text   NOT NULL,
  aggregate_id   text   NOT NULL,
  -- The event that took the key.
  position       bigint NOT NULL REFERENCES events (position),
  PRIMARY KEY (scope, key)
);
