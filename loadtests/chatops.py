"""One chat user's database operations on any design (plain psycopg; Locust-free, testable).

`conn` is a psycopg connection in autocommit mode with `cursor_factory=psycopg.RawCursor`
(the statements use `$n` placeholders). Each method returns a size for Locust's statistics.
"""

import contextlib
import random
from collections.abc import Iterator
from typing import Any

from conformance.design import Design
from loadtests.chatsql import ChatSql, Stmt, build

SEED_CONVERSATIONS = 2
SEED_MESSAGES = 20


class NotOwned(Exception):
    """The conversation is not the user's (or is gone): the write path refused it."""


def allowed_role(wanted: str, allowed: tuple[str, ...] | None) -> str:
    """`wanted` when the design allows it, else the closest allowed role."""
    if allowed is None or wanted in allowed:
        return wanted
    fallback = [r for r in allowed if r not in ("system", "tool")] or list(allowed)
    return fallback[0 if wanted == "user" else -1]


class ChatOps:
    """The statements of one design, run as one harness user."""

    def __init__(
        self,
        design: Design,
        user_id: Any,
        sql: ChatSql | None = None,
        *,
        rls_setting: str | None = "app.user_id",
    ) -> None:
        self.design = design
        self.sql = sql or build(design)
        self.user_id = user_id
        self.conversations: list[Any] = []
        rls = any(flags.get("enabled") for flags in design.rls.values())
        self.rls_setting = rls_setting if rls else None

    @contextlib.contextmanager
    def scope(self, conn: Any) -> Iterator[None]:
        """A transaction; under RLS with the user's id set transaction-locally, as apps do."""
        with conn.transaction():
            if self.rls_setting:
                conn.execute(
                    "SELECT set_config($1, $2, true)", [self.rls_setting, str(self.user_id)]
                )
            yield

    def values(self, conv: Any = None, **more: Any) -> dict[str, Any]:
        """Named parameter values for this user."""
        return {"user": self.user_id, "conv": conv, **more}

    def setup(self, conn: Any) -> int:
        """Create the user (when there is a users table) and a few conversations with history."""
        if self.sql.create_user is not None:
            with self.scope(conn):
                stmt = self.sql.create_user
                conn.execute(stmt.sql, stmt.params(self.values()))
        for n in range(SEED_CONVERSATIONS):
            conv = self.new_conversation(conn, f"seed {n}")
            for i in range(SEED_MESSAGES):
                self.append(conn, conv, "user" if i % 2 == 0 else "assistant")
        return 0

    def rows(self, conn: Any, stmt: Stmt, conv: Any = None) -> int:
        """Run a read (alone, or in a scope under RLS); the number of rows."""
        with self.scope(conn) if self.rls_setting else contextlib.nullcontext():
            return len(conn.execute(stmt.sql, stmt.params(self.values(conv))).fetchall())

    def open(self, conn: Any, conv: Any) -> int:
        return self.rows(conn, self.sql.open, conv)

    def history(self, conn: Any, conv: Any) -> int:
        return self.rows(conn, self.sql.history, conv)

    def recent(self, conn: Any) -> int:
        return self.rows(conn, self.sql.recent)

    def new_conversation(self, conn: Any, title: str = "load test") -> Any:
        """Insert a conversation of this user; its id."""
        stmt = self.sql.new_conversation
        with self.scope(conn) if self.rls_setting else contextlib.nullcontext():
            row = conn.execute(stmt.sql, stmt.params(self.values(title=title))).fetchone()
        self.conversations.append(row[0])
        return row[0]

    def append(self, conn: Any, conv: Any, role: str, text: str | None = None) -> int:
        """The reference write path: one transaction; lock the conversation, then insert."""
        text = text or f"{role} message {random.getrandbits(48):x} " * random.randint(1, 8)
        with self.scope(conn):
            lock = self.sql.lock
            if conn.execute(lock.sql, lock.params(self.values(conv))).fetchone() is None:
                raise NotOwned(f"conversation {conv} is not user {self.user_id}'s")
            ins = self.sql.insert_message
            role = allowed_role(role, self.design.roles)
            conn.execute(ins.sql, ins.params(self.values(conv, role=role, content=text)))
        return len(text)
