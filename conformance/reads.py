"""Read paths of the access layer: history by the order key, keyset pages, recent conversations,
one conversation. Every read can be scoped to the asking user through the conversation's owner.
"""

from typing import Any

import asyncpg  # type: ignore[import-untyped,unused-ignore]

from conformance.shape import Shape


class ChatReads(Shape):
    """The read paths for one design."""

    async def _fetch(self, conn: asyncpg.Connection, user_id: Any, sql: str, *args: Any) -> Any:
        """Rows of `sql`; under RLS inside a transaction that sets the asking user."""
        if not (self.rls_on and self.rls_setting and user_id is not None):
            return await conn.fetch(sql, *args)
        async with conn.transaction():
            await self.set_user(conn, user_id)
            return await conn.fetch(sql, *args)

    def _history_sql(self, *, scoped: bool, after: bool, desc: bool = False) -> str:
        m, cid = "m", self.c("messages", "conversation_id")
        sql = f"SELECT {self.select_list('messages', m)} FROM {self.t('messages')} AS m "
        if scoped:
            sql += (
                f"JOIN {self.t('conversations')} AS c ON c.{self.c('conversations', 'id')} "
                f"= m.{cid} AND c.{self.c('conversations', 'user_id')} = $2 "
            )
        sql += f"WHERE m.{cid} = $1 "
        if after:
            keys = ", ".join(f'm."{k}"' for k in self.d.order_key)
            marks = ", ".join(f"${i + 3}" for i in range(len(self.d.order_key)))
            sql += f"AND ({keys}) > ({marks}) "
        return sql + f"ORDER BY {self.order_by(m, desc=desc)}"

    async def history(
        self, conn: asyncpg.Connection, *, conversation_id: Any, user_id: Any = None
    ) -> list[dict[str, Any]]:
        """All messages of a conversation by the order key (scoped to `user_id` when given)."""
        scoped = user_id is not None
        sql = self._history_sql(scoped=scoped, after=False)
        args = [conversation_id, user_id] if scoped else [conversation_id]
        return [self.message(r) for r in await self._fetch(conn, user_id, sql, *args)]

    async def page(
        self,
        conn: asyncpg.Connection,
        *,
        conversation_id: Any,
        user_id: Any,
        after: tuple[Any, ...] | None,
        size: int,
    ) -> list[dict[str, Any]]:
        """One keyset page of `user_id`'s history after the order-key value `after`."""
        sql = self._history_sql(scoped=True, after=after is not None) + f" LIMIT {int(size)}"
        rows = await self._fetch(conn, user_id, sql, conversation_id, user_id, *(after or ()))
        return [self.message(r) for r in rows]

    async def pages(
        self, conn: asyncpg.Connection, *, conversation_id: Any, user_id: Any, size: int
    ) -> list[list[dict[str, Any]]]:
        """The whole history as keyset pages of `size`."""
        out: list[list[dict[str, Any]]] = []
        after: tuple[Any, ...] | None = None
        while True:
            chunk = await self.page(
                conn, conversation_id=conversation_id, user_id=user_id, after=after, size=size
            )
            if not chunk:
                return out
            out.append(chunk)
            after = chunk[-1]["order"]
            if len(chunk) < size or len(out) > 10_000:
                return out

    async def recent(
        self, conn: asyncpg.Connection, *, user_id: Any, limit: int = 50
    ) -> list[dict[str, Any]]:
        """`user_id`'s conversations, most recently updated first (soft-deleted ones hidden)."""
        when = "updated_at" if self.d.has("conversations", "updated_at") else "created_at"
        hide = (
            f"AND c.{self.c('conversations', 'deleted_at')} IS NULL "
            if self.d.has("conversations", "deleted_at")
            else ""
        )
        rows = await self._fetch(
            conn,
            user_id,
            f"SELECT {self.select_list('conversations', 'c')} FROM {self.t('conversations')} c "
            f"WHERE c.{self.c('conversations', 'user_id')} = $1 {hide}"
            f"ORDER BY c.{self.c('conversations', when)} DESC NULLS LAST, "
            f"c.{self.c('conversations', 'id')} DESC LIMIT {int(limit)}",
            user_id,
        )
        return [self.conversation(r) for r in rows]

    async def get_conversation(
        self, conn: asyncpg.Connection, *, conversation_id: Any, user_id: Any
    ) -> dict[str, Any] | None:
        """One conversation, only if `user_id` owns it."""
        recs = await self._fetch(
            conn,
            user_id,
            f"SELECT {self.select_list('conversations', 'c')} FROM {self.t('conversations')} c "
            f"WHERE c.{self.c('conversations', 'id')} = $1 "
            f"AND c.{self.c('conversations', 'user_id')} = $2",
            conversation_id,
            user_id,
        )
        return self.conversation(recs[0]) if recs else None
