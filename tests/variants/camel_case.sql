-- variant: quoted camelCase names reached through --map ("Chat", "Message_v2", "chatId")
-- args: --map conversations=Chat --map messages=Message_v2 --map users=AppUser
-- args: --map messages.conversation_id=chatId --map messages.content=body
CREATE TABLE "AppUser" ("id" uuid PRIMARY KEY DEFAULT gen_random_uuid());
CREATE TABLE "Chat" (
    "id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    "userId" uuid NOT NULL REFERENCES "AppUser" ON DELETE CASCADE,
    "title" text,
    "createdAt" timestamptz NOT NULL DEFAULT now(),
    "updatedAt" timestamptz NOT NULL DEFAULT now(),
    UNIQUE ("id", "userId")
);
CREATE INDEX "Chat_userId_updatedAt_idx" ON "Chat" ("userId", "updatedAt" DESC);
CREATE TABLE "Message_v2" (
    "id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    "chatId" uuid NOT NULL,
    "userId" uuid NOT NULL,
    "turnIndex" integer NOT NULL,
    "role" text NOT NULL CHECK ("role" IN ('user', 'assistant')),
    "body" text NOT NULL,
    "createdAt" timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY ("chatId", "userId") REFERENCES "Chat" ("id", "userId") ON DELETE CASCADE,
    UNIQUE ("chatId", "turnIndex")
);
