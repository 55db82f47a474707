-- variant: text keys without defaults (the app generates ids; the harness fills them)
-- expect: structure.owner_fk=skip
CREATE TABLE users (id text PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE conversations (
    id varchar(32) PRIMARY KEY,
    user_id text NOT NULL REFERENCES users ON DELETE CASCADE,
    title text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX conversations_by_owner ON conversations (user_id, updated_at);
CREATE TABLE messages (
    id text PRIMARY KEY,
    conversation_id varchar(32) NOT NULL REFERENCES conversations ON DELETE CASCADE,
    seq int NOT NULL,
    role text NOT NULL CHECK (role = ANY (ARRAY['user', 'assistant'])),
    content jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT one_seq_per_conversation UNIQUE (conversation_id, seq)
);
