-- The generic-plan trap (field notes): UNIQUE (conversation_id, seq) plus an index on
-- (user_id, created_at). The scoped history read
--   WHERE conversation_id = $1 AND user_id = $2 ORDER BY seq DESC LIMIT 50
-- is fast for the first 5 executions of a prepared statement, then the generic plan turns into
-- a BitmapAnd of both indexes plus a Sort of the whole conversation: slow on long ones.
CREATE TABLE users (
    id text PRIMARY KEY
);
CREATE TABLE conversations (
    id bigserial PRIMARY KEY,
    user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX conversations_user ON conversations (user_id);
CREATE TABLE messages (
    id bigserial PRIMARY KEY,
    conversation_id bigint NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    seq integer NOT NULL,
    role text NOT NULL,
    content text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (conversation_id, seq)
);
CREATE INDEX messages_user_created ON messages (user_id, created_at);
