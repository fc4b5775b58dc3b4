-- Idempotency keys kept by the event store itself (issue 16): a keyed
-- command's row is inserted in the same transaction as its events, so a
-- committed command and its key are durable together and a retry finds both
-- or neither. A committed command's response is rebuilt from the events
-- carrying its `command_id`; `status` and `response` hold the answer only
-- when no event carries it: a refusal by a business rule (422), or a command
-- that changed nothing. Before this table the keys lived in the users'
-- SQLite file (`idempotency_keys`), which is still read for older keys.
CREATE TABLE command_keys
(
    user_id        TEXT   NOT NULL COLLATE "C",
    idem_key       TEXT   NOT NULL COLLATE "C",
    request_sha256 TEXT   NOT NULL CHECK (length(request_sha256) = 64),
    command_id     TEXT   NOT NULL,
    aggregate_type TEXT   NOT NULL,
    aggregate_id   TEXT   NOT NULL,
    created_at     TEXT   NOT NULL,
    status         BIGINT,
    response       TEXT,
    PRIMARY KEY (user_id, idem_key)
);
