-- variant: behaviour: a buggy trigger gives every new conversation to the earliest user
-- behaviour: isolation.scoped_reads=fail isolation.cross_tenant_write=fail
-- behaviour: cascade.user_delete=fail cascade.no_orphans=fail
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
CREATE FUNCTION default_owner() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.user_id := (SELECT id FROM users ORDER BY id LIMIT 1);
    RETURN NEW;
END $$;
CREATE TRIGGER default_owner BEFORE INSERT ON conversations
    FOR EACH ROW EXECUTE FUNCTION default_owner();
