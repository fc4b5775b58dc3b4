-- Read-access log (issue 13, item 7): every read of unmasked personal data
-- — who, which record, when, through which route. Append-only like the
-- events: the triggers stop accidents (and make deliberate removal visible
-- as a dropped trigger).
CREATE TABLE access_log
(
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    read_at        TEXT    NOT NULL,
    actor_id       TEXT    NOT NULL,
    actor_role     TEXT    NOT NULL,
    route          TEXT    NOT NULL,
    aggregate_type TEXT    NOT NULL,
    aggregate_id   TEXT    NOT NULL,
    as_of          TEXT
);

CREATE INDEX access_log_by_record ON access_log (aggregate_type, aggregate_id, id);
CREATE INDEX access_log_by_actor ON access_log (actor_id, id);

CREATE TRIGGER access_log_no_update BEFORE UPDATE ON access_log
BEGIN
  SELECT RAISE(ABORT, 'the access log is append-only');
END;

CREATE TRIGGER access_log_no_delete BEFORE DELETE ON access_log
BEGIN
  SELECT RAISE(ABORT, 'the access log is append-only');
END;
