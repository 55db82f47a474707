-- variant: the history index is partial and the owner index is invalid (neither counts)
-- args: --order-key seq
-- expect: structure.history_index=fail structure.owner_index=fail structure.recent_index=fail
-- expect: perf.history_plan=fail
CREATE TABLE users (id uuid PRIMARY KEY DEFAULT gen_random_uuid());
CREATE TABLE conversations (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users ON DELETE CASCADE,
    title text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz,
    UNIQUE (id, user_id)
);
CREATE INDEX conversations_owner_recent ON conversations (user_id, updated_at DESC);
CREATE TABLE messages (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    conversation_id uuid NOT NULL,
    user_id uuid NOT NULL,
    seq bigint NOT NULL,
    role text NOT NULL CHECK (role IN ('user', 'assistant')),
    content text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (conversation_id, user_id) REFERENCES conversations (id, user_id)
        ON DELETE CASCADE
);
CREATE INDEX messages_history_visible ON messages (conversation_id, seq) WHERE role <> 'system';
-- what a failed CREATE INDEX CONCURRENTLY leaves behind
UPDATE pg_index SET indisvalid = false
WHERE indexrelid = 'conversations_owner_recent'::regclass;
