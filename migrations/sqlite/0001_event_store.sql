-- bangfu's event store: the event log, aggregate snapshots and cross-aggregate
-- reservations. Column names of `events` and `snapshots` are sqlite-es's, so its
-- SELECTs run unchanged on these tables; everything else is bangfu's.
--
-- All writes go through one writer connection, one transaction per command, so
-- the order of `position` is the order of commits: projectors read the log by
-- position and never see a gap filled in later.

CREATE TABLE events
(
  -- Global position in commit order. AUTOINCREMENT so a position is never reused,
  -- even if the newest row were ever removed.
  position       INTEGER PRIMARY KEY AUTOINCREMENT,
  -- UUID v7 assigned when the event is persisted; also copied into `metadata`.
  event_id       TEXT    NOT NULL UNIQUE,
  aggregate_type TEXT    NOT NULL,
  aggregate_id   TEXT    NOT NULL,
  sequence       INTEGER NOT NULL CHECK (sequence >= 1),
  event_type     TEXT    NOT NULL,
  event_version  TEXT    NOT NULL,
  -- JSON as TEXT. The CHECKs keep undecodable rows out: sqlite-es panics on a
  -- row it cannot decode rather than returning an error.
  payload        TEXT    NOT NULL CHECK (json_valid(payload)),
  metadata       TEXT    NOT NULL CHECK (json_valid(metadata)),
  -- Copied from metadata.recorded_at (RFC 3339) so the log can be read by time.
  recorded_at    TEXT,
  -- Hash chain per stream: hash = SHA-256(prev_hash || canonical JSON of the
  -- event), prev_hash of a stream's first event is 64 zeros.
  prev_hash      TEXT    NOT NULL CHECK (length(prev_hash) = 64),
  hash           TEXT    NOT NULL CHECK (length(hash) = 64),
  UNIQUE (aggregate_type, aggregate_id, sequence)
) STRICT;

-- Replays of one aggregate type in commit order (`stream_all_events`, projectors).
CREATE INDEX events_by_type_position ON events (aggregate_type, position);

-- The past is corrected by new events, never edited. These triggers stop
-- accidents; deliberate tampering is what the hash chain detects.
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
  SELECT RAISE(ABORT, 'events are append-only');
END;

CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
  SELECT RAISE(ABORT, 'events are append-only');
END;

-- One snapshot per aggregate, replaced in place (sqlite-es keys by
-- last_sequence as well and so would keep every snapshot ever taken).
CREATE TABLE snapshots
(
  aggregate_type   TEXT    NOT NULL,
  aggregate_id     TEXT    NOT NULL,
  last_sequence    INTEGER NOT NULL CHECK (last_sequence >= 0),
  current_snapshot INTEGER NOT NULL CHECK (current_snapshot >= 1),
  payload          TEXT    NOT NULL CHECK (json_valid(payload)),
  PRIMARY KEY (aggregate_type, aggregate_id)
) STRICT;

-- Keys unique across aggregates (one open hardship file per resident ID, one
-- claim per hospital stay). Taken and released by events, in the events'
-- transaction, so a race ends in a refused commit.
CREATE TABLE reservations
(
  scope          TEXT    NOT NULL,
  key            TEXT    NOT NULL,
  aggregate_type TEXT    NOT NULL,
  aggregate_id   TEXT    NOT NULL,
  -- The event that took the key.
  position       INTEGER NOT NULL REFERENCES events (position),
  PRIMARY KEY (scope, key)
) STRICT;
