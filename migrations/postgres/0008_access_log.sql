-- Read-access log (issue 13, item 7): every read of unmasked personal data
-- — who, which record, when, through which route. Append-only like the
-- events. Text columns so reports read the same on SQLite.
CREATE TABLE access_log
(
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    read_at        TEXT NOT NULL,
    actor_id       TEXT NOT NULL,
    actor_role     TEXT NOT NULL,
    route          TEXT NOT NULL,
    aggregate_type TEXT NOT NULL COLLATE "C",
    aggregate_id   TEXT NOT NULL COLLATE "C",
    as_of          TEXT
);

CREATE INDEX access_log_by_record ON access_log (aggregate_type, aggregate_id, id);
CREATE INDEX access_log_by_actor ON access_log (actor_id, id);

CREATE FUNCTION access_log_append_only() RETURNS trigger
  LANGUAGE plpgsql AS
$$
BEGIN
  RAISE EXCEPTION 'the access log is append-only';
END
$$;

CREATE TRIGGER access_log_no_update_or_delete
  BEFORE UPDATE OR DELETE ON access_log
  FOR EACH ROW EXECUTE FUNCTION access_log_append_only();

CREATE TRIGGER access_log_no_truncate
  BEFORE TRUNCATE ON access_log
  FOR EACH STATEMENT EXECUTE FUNCTION access_log_append_only();
