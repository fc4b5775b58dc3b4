-- Views' positions become log positions: `LogPosition { commit, position }`,
-- compared in that order. On SQLite the commit part is always 0 (writes are
-- serialised, so `position` alone follows commits), which makes every row
-- and checkpoint written before this migration already correct with
-- `log_commit = 0`. The column exists so the views' tables have the same
-- shape on every SQL store: on PostgreSQL the commit part is the writing
-- transaction's id (migrations/postgres/0002_projections.sql).

ALTER TABLE view_rows ADD COLUMN log_commit BIGINT NOT NULL DEFAULT 0;
ALTER TABLE view_rows_scratch ADD COLUMN log_commit BIGINT NOT NULL DEFAULT 0;
ALTER TABLE projection_checkpoints ADD COLUMN log_commit BIGINT NOT NULL DEFAULT 0;
