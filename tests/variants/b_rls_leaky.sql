-- variant: behaviour: leaky row-level security: a SELECT policy USING (true) on conversations
-- and an INSERT policy WITH CHECK (true) on messages, next to the owner policies
-- behaviour: isolation.rls=fail
CREATE TABLE users (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email text UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE conversations (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz,
    UNIQUE (id, user_id)
);
CREATE INDEX conversations_user_recent ON conversations (user_id, updated_at DESC);
CREATE TABLE messages (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    conversation_id uuid NOT NULL,
    user_id uuid NOT NULL,
    seq bigint NOT NULL,
    role text NOT NULL CHECK (role IN ('system', 'user', 'assistant', 'tool')),
    content text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (conversation_id, user_id) REFERENCES conversations (id, user_id)
        ON DELETE CASCADE,
    UNIQUE (conversation_id, seq)
);
ALTER TABLE conversations ENABLE ROW LEVEL SECURITY;
ALTER TABLE messages ENABLE ROW LEVEL SECURITY;
CREATE POLICY owner_only ON conversations
    USING (user_id = nullif(current_setting('app.user_id', true), '')::uuid);
CREATE POLICY everyone_reads ON conversations FOR SELECT USING (true);
CREATE POLICY owner_only ON messages
    USING (user_id = nullif(current_setting('app.user_id', true), '')::uuid);
CREATE POLICY anyone_inserts ON messages FOR INSERT WITH CHECK (true);
