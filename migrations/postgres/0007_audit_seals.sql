-- Audit seals (`bangfu audit seal`): signed statements of what the log held
-- at a position — its event count and two Merkle roots (ARCHITECTURE.md,
-- "Seals"). `text` is the seal exactly as signed and published; the other
-- columns are copied out of it for listing. Seals are only ever added.
CREATE TABLE audit_seals
(
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  sealed_at    text   NOT NULL,
  log_position text   NOT NULL,
  events       bigint NOT NULL CHECK (events >= 0),
  text         text   NOT NULL UNIQUE
);

CREATE FUNCTION audit_seals_append_only() RETURNS trigger
  LANGUAGE plpgsql AS
$$
BEGIN
  RAISE EXCEPTION 'audit seals are append-only';
END
$$;

CREATE TRIGGER audit_seals_no_update_or_delete
  BEFORE UPDATE OR DELETE ON audit_seals
  FOR EACH ROW EXECUTE FUNCTION audit_seals_append_only();
