"""The adaptive data access layer: the spec's reference write path and read paths for a Design.

Every query is built from the discovered names (see `conformance.shape`), so one `ChatAccess`
serves any design the structural checks accept. Writes follow the reference algorithm: one
transaction per turn; with an integer order key, lock the conversation row, take the next value,
insert, bump `updated_at`; otherwise insert and rely on the schema's defaults. Every write is
user-scoped unless `scoped=False`. Rows come back as dicts keyed by logical names.
"""

from collections.abc import Sequence
from typing import Any

import asyncpg  # type: ignore[import-untyped,unused-ignore]

from conformance.reads import ChatReads
from conformance.shape import (
    AccessSetupError,
    DeleteOutcome,
    NewMessage,
    error_text,
    norm_id,
    now_sql,
)

__all__ = ["AccessSetupError", "ChatAccess", "DeleteOutcome", "NewMessage", "norm_id"]


class ChatAccess(ChatReads):
    """Reads and writes chat rows of one design on behalf of one harness run."""

    # -- users and conversations ---------------------------------------------------------------
    async def create_user(self, conn: asyncpg.Connection, *, n: int) -> Any:
        """Insert harness user n (when a users table exists); returns its id."""
        uid = self.user_id(n)
        self.users_made.add(uid)
        if not self.d.has("users"):
            return uid
        cols, exprs, params = self._row("users", {"id": uid})
        col = self.d.col("users", "id")
        override = " OVERRIDING SYSTEM VALUE" if col is not None and col.identity else ""
        async with conn.transaction():
            await self.set_user(conn, uid)
            await conn.execute(
                f"INSERT INTO {self.t('users')} ({', '.join(cols)}){override} "
                f"VALUES ({', '.join(exprs)})",
                *params,
            )
        return uid

    async def create_conversation(
        self, conn: asyncpg.Connection, *, user_id: Any, title: str | None = None
    ) -> dict[str, Any]:
        """Insert a conversation owned by `user_id`; returns the stored row."""
        values: dict[str, Any] = {"user_id": user_id}
        id_col = self.d.col("conversations", "id")
        if id_col is not None and not (id_col.has_default or id_col.identity):
            values["id"] = self.fresh_id("conversations")
        if title is not None and self.d.has("conversations", "title"):
            values["title"] = title
        values.update(self._time_values("conversations", "created_at", "updated_at"))
        cols, exprs, params = self._row("conversations", values)
        sql = (
            f"INSERT INTO {self.t('conversations')} AS c ({', '.join(cols)}) "
            f"VALUES ({', '.join(exprs)})"
        )
        async with conn.transaction():
            await self.set_user(conn, user_id)
            if not self.returning:
                await conn.execute(sql, *params)
                return {"inserted": True}
            rec = await conn.fetchrow(
                f"{sql} RETURNING {self.select_list('conversations', 'c')}", *params
            )
        return self.conversation(rec)

    async def update_conversation(
        self, conn: asyncpg.Connection, *, conversation_id: Any, user_id: Any, **changes: Any
    ) -> bool:
        """Change title and/or soft-delete state (`deleted=True/False`) as `user_id`."""
        sets: list[str] = []
        params: list[Any] = [conversation_id, user_id]
        if "title" in changes and self.d.has("conversations", "title"):
            params.append(changes["title"])
            sets.append(f"{self.c('conversations', 'title')} = ${len(params)}")
        if "deleted" in changes and self.d.has("conversations", "deleted_at"):
            col = self.d.col("conversations", "deleted_at")
            sets.append(
                f"{self.c('conversations', 'deleted_at')} = "
                + (now_sql(col) if changes["deleted"] else "NULL")
            )
        if not sets:
            return False
        async with conn.transaction():
            await self.set_user(conn, user_id)
            status = await conn.execute(
                f"UPDATE {self.t('conversations')} SET {', '.join(sets)} "
                f"WHERE {self.c('conversations', 'id')} = $1 "
                f"AND {self.c('conversations', 'user_id')} = $2",
                *params,
            )
        return bool(status.endswith(" 1"))

    # -- the turn ------------------------------------------------------------------------------
    async def append_turn(
        self,
        conn: asyncpg.Connection,
        *,
        conversation_id: Any,
        user_id: Any,
        messages: Sequence[NewMessage],
        scoped: bool = True,
    ) -> list[dict[str, Any]]:
        """Append one turn in one transaction; [] when `user_id` does not own the conversation."""
        async with conn.transaction():
            return await self.append_in_tx(
                conn,
                conversation_id=conversation_id,
                user_id=user_id,
                messages=messages,
                scoped=scoped,
            )

    async def append_in_tx(
        self,
        conn: asyncpg.Connection,
        *,
        conversation_id: Any,
        user_id: Any,
        messages: Sequence[NewMessage],
        scoped: bool = True,
    ) -> list[dict[str, Any]]:
        """The turn's statements, inside a transaction the caller holds open."""
        await self.set_user(conn, user_id)
        owned = await self._lock(conn, conversation_id, user_id, lock=self.seq is not None)
        if scoped and not owned:
            return []
        base = 0
        if self.seq is not None:
            base = await conn.fetchval(
                f"SELECT coalesce(max({self.seq.sql}), 0) FROM {self.t('messages')} "
                f"WHERE {self.c('messages', 'conversation_id')} = $1",
                conversation_id,
            )
        rows = [
            await self._insert_message(conn, conversation_id, user_id, m, base + i + 1)
            for i, m in enumerate(messages)
        ]
        if self.seq is not None and self.d.has("conversations", "updated_at") and owned:
            col = self.d.col("conversations", "updated_at")
            await conn.execute(
                f"UPDATE {self.t('conversations')} SET "
                f"{self.c('conversations', 'updated_at')} = {now_sql(col)} "
                f"WHERE {self.c('conversations', 'id')} = $1",
                conversation_id,
            )
        return rows

    async def _lock(self, conn: asyncpg.Connection, conv: Any, user: Any, *, lock: bool) -> bool:
        tail = " FOR UPDATE" if lock else ""
        found = await conn.fetchval(
            f"SELECT 1 FROM {self.t('conversations')} WHERE {self.c('conversations', 'id')} = $1 "
            f"AND {self.c('conversations', 'user_id')} = $2{tail}",
            conv,
            user,
        )
        return found is not None

    async def _insert_message(
        self, conn: asyncpg.Connection, conv: Any, user: Any, msg: NewMessage, seq: int
    ) -> dict[str, Any]:
        values: dict[str, Any] = {
            "conversation_id": conv,
            "user_id": user,
            "role": msg.role,
            "content": self.content_param(msg.content),
        }
        id_col = self.d.col("messages", "id")
        if id_col is not None and not (id_col.has_default or id_col.identity):
            values["id"] = self.fresh_id("messages")
        values.update(self._time_values("messages", "created_at"))
        cols, exprs, params = self._row("messages", values)
        if self.seq is not None:
            cols.append(self.seq.sql)
            params.append(seq)
            exprs.append(f"${len(params)}")
        sql = (
            f"INSERT INTO {self.t('messages')} AS m ({', '.join(cols)}) VALUES ({', '.join(exprs)})"
        )
        if not self.returning:
            await conn.execute(sql, *params)
            return {"inserted": True}
        rec = await conn.fetchrow(f"{sql} RETURNING {self.select_list('messages', 'm')}", *params)
        return self.message(rec)

    async def edit_message(
        self, conn: asyncpg.Connection, *, message_id: Any, user_id: Any, content: str
    ) -> bool:
        """Change a message's content, only inside `user_id`'s conversations."""
        async with conn.transaction():
            await self.set_user(conn, user_id)
            status = await conn.execute(
                f"UPDATE {self.t('messages')} AS m SET {self.c('messages', 'content')} = $3 "
                f"FROM {self.t('conversations')} AS c WHERE m.{self.c('messages', 'id')} = $1 "
                f"AND c.{self.c('conversations', 'id')} = "
                f"m.{self.c('messages', 'conversation_id')} "
                f"AND c.{self.c('conversations', 'user_id')} = $2",
                message_id,
                user_id,
                self.content_param(content),
            )
        return not status.endswith(" 0")

    # -- deletes -------------------------------------------------------------------------------
    async def delete_conversation(
        self,
        conn: asyncpg.Connection,
        *,
        conversation_id: Any,
        user_id: Any,
        explicit: bool = False,
        keep_orphans: bool = False,
    ) -> DeleteOutcome:
        """Delete as `user_id`, relying on the cascade; undone if it would leave orphans."""
        where = (
            f"WHERE {self.c('conversations', 'id')} = $1 "
            f"AND {self.c('conversations', 'user_id')} = $2"
        )
        msgs = f"{self.t('messages')} WHERE {self.c('messages', 'conversation_id')} = $1"
        tx = conn.transaction()
        await tx.start()
        try:
            await self.set_user(conn, user_id)
            if explicit and await self._lock(conn, conversation_id, user_id, lock=True):
                await conn.execute(f"DELETE FROM {msgs}", conversation_id)
            status = await conn.execute(
                f"DELETE FROM {self.t('conversations')} {where}", conversation_id, user_id
            )
            deleted = not status.endswith(" 0")
            left = await conn.fetchval(f"SELECT count(*) FROM {msgs}", conversation_id)
        except asyncpg.PostgresError as exc:
            await tx.rollback()
            return DeleteOutcome(False, {}, error_text(exc))
        if deleted and left and not keep_orphans:
            await tx.rollback()
            return DeleteOutcome(False, {"messages": left}, "undone: it would leave orphans")
        await tx.commit()
        return DeleteOutcome(deleted, {"messages": left} if left else {})

    async def delete_user(
        self, conn: asyncpg.Connection, *, user_id: Any, explicit: bool = False
    ) -> DeleteOutcome:
        """Delete a user relying on the cascade; undone if conversations or messages remain."""
        convs = f"{self.t('conversations')} WHERE {self.c('conversations', 'user_id')} = $1"
        msgs = (
            f"{self.t('messages')} WHERE {self.c('messages', 'conversation_id')}::text "
            f"= ANY($1::text[])"
        )
        tx = conn.transaction()
        await tx.start()
        try:
            await self.set_user(conn, user_id)
            ids = [
                str(r[0])
                for r in await conn.fetch(
                    f"SELECT {self.c('conversations', 'id')} FROM {convs}", user_id
                )
            ]
            if explicit:
                await conn.execute(f"DELETE FROM {msgs}", ids)
                await conn.execute(f"DELETE FROM {convs}", user_id)
            status = await conn.execute(
                f"DELETE FROM {self.t('users')} WHERE {self.c('users', 'id')} = $1", user_id
            )
            left = {
                "conversations": await conn.fetchval(f"SELECT count(*) FROM {convs}", user_id),
                "messages": await conn.fetchval(f"SELECT count(*) FROM {msgs}", ids),
            }
        except asyncpg.PostgresError as exc:
            await tx.rollback()
            return DeleteOutcome(False, {}, error_text(exc))
        left = {k: v for k, v in left.items() if v}
        if left:
            await tx.rollback()
            return DeleteOutcome(False, left, "undone: it would leave orphans")
        await tx.commit()
        return DeleteOutcome(not status.endswith(" 0"))


def missing_conversation_id(access: ChatAccess) -> Any:
    """A tagged conversation id no row has (for orphan probes; cleanup finds it by its mark)."""
    return access.tag.user_id(99_999, access.d.key_kinds.get("conversations", "uuid"))
