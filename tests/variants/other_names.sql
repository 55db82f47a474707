-- variant: unusual constraint/index names, varchar role with IN, OR-chain check, seq first key
-- expect: structure.owner_fk=fail
CREATE TABLE users (id uuid CONSTRAINT "User PK" PRIMARY KEY DEFAULT gen_random_uuid());
CREATE TABLE conversations (
    id uuid DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL,
    title text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT "conv: pk" PRIMARY KEY (id),
    CONSTRAINT "belongs to" FOREIGN KEY (user_id) REFERENCES users ON DELETE CASCADE
);
CREATE INDEX "Recent Conversations!" ON conversations (user_id, updated_at DESC, id);
CREATE TABLE messages (
    id uuid DEFAULT gen_random_uuid(),
    conversation_id uuid NOT NULL,
    user_id uuid NOT NULL REFERENCES users ON DELETE CASCADE,
    seq smallint NOT NULL,
    role varchar(20) NOT NULL,
    content varchar(4000) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT "msg.pk" PRIMARY KEY (id),
    CONSTRAINT "msg -> conv" FOREIGN KEY (conversation_id) REFERENCES conversations
        ON DELETE CASCADE,
    CONSTRAINT "Allowed Roles" CHECK (role IN ('user', 'assistant', 'system')),
    CONSTRAINT "not blank" CHECK (content <> '')
);
CREATE UNIQUE INDEX "History (per chat)" ON messages (conversation_id, seq DESC);
