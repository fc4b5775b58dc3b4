-- Audit seals (`bangfu audit seal`): signed statements of what the log held
-- at a position — its event count and two Merkle roots (ARCHITECTURE.md,
-- "Seals"). `text` is the seal exactly as signed and published; the other
-- columns are copied out of it for listing. Seals are only ever added.
CREATE TABLE audit_seals
(
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  sealed_at    TEXT    NOT NULL,
  log_position TEXT    NOT NULL,
  events       INTEGER NOT NULL CHECK (events >= 0),
  text         TEXT    NOT NULL UNIQUE
);

CREATE TRIGGER audit_seals_no_update BEFORE UPDATE ON audit_seals
BEGIN
  SELECT RAISE(ABORT, 'audit seals are append-only');
END;

CREATE TRIGGER audit_seals_no_delete BEFORE DELETE ON audit_seals
BEGIN
  SELECT RAISE(ABORT, 'audit seals are append-only');
END;
