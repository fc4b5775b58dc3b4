-- The HTTP service's own tables, in the event store's database file: users
-- with their roles and bearer-token hashes, and the idempotency keys of
-- commands. Numbered 0010 to leave room for the event store's and the
-- projections' migrations; sqlx applies migrations it has not seen yet
-- whatever their number.

-- One row per person who may call the API. Tokens are never stored: only the
-- SHA-256 of the 256-bit random token, compared in constant time.
CREATE TABLE users
(
  user_id      TEXT NOT NULL PRIMARY KEY,
  token_sha256 TEXT NOT NULL UNIQUE CHECK (length(token_sha256) = 64),
  created_at   TEXT NOT NULL,
  created_by   TEXT NOT NULL,
  -- Set once; a revoked user's token is refused from then on.
  revoked_at   TEXT
) STRICT;

-- The roles a user may act in; each request names one (or the only one).
CREATE TABLE user_roles
(
  user_id TEXT NOT NULL REFERENCES users (user_id),
  role    TEXT NOT NULL CHECK (role IN ('caseworker', 'approver', 'finance', 'auditor', 'admin')),
  PRIMARY KEY (user_id, role)
) STRICT;

-- A command sent with an Idempotency-Key. The row is taken (state 'pending',
-- with the command id the command will carry) before the command runs, and
-- completed with the response after; a retry with the same key and body gets
-- that response back, one with another body is refused. A 'pending' row left
-- by a crash is resolved by looking for events carrying its command id.
CREATE TABLE idempotency_keys
(
  user_id        TEXT    NOT NULL,
  idem_key       TEXT    NOT NULL,
  request_sha256 TEXT    NOT NULL CHECK (length(request_sha256) = 64),
  command_id     TEXT    NOT NULL,
  aggregate_type TEXT    NOT NULL,
  aggregate_id   TEXT    NOT NULL,
  state          TEXT    NOT NULL CHECK (state IN ('pending', 'done')),
  status         INTEGER,
  response       TEXT CHECK (response IS NULL OR json_valid(response)),
  created_at     TEXT    NOT NULL,
  PRIMARY KEY (user_id, idem_key)
) STRICT;
