-- Tokens can expire: when set (RFC 3339, UTC, the same fixed format as the
-- other timestamps, so text order is time order), a token is refused from
-- that instant on; `bangfu users reset-token` issues a new one (rotation).
-- NULL: the token does not expire (tokens issued before this migration, or
-- with no lifetime configured).
ALTER TABLE users ADD COLUMN token_expires_at TEXT;
