"""User-scoped async queries: each function is one transaction acting as one user.

Every function takes an AsyncEngine (from `reference_schema.db.make_engine`) as its only
positional argument and the acting `user_id` by keyword; it never reads or changes another
user's rows. Each call opens its own session and transaction, sets `app.user_id`
transaction-locally (so the RLS revision works, also behind a transaction pooler), commits,
and returns detached model instances with every column loaded.
"""

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, exists, func, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from reference_schema.models import Conversation, Message, MessageCreate, User

SETTING = "app.user_id"
DEFAULT_PAGE = 50

RecentCursor = tuple[datetime, uuid.UUID]


class ConversationNotFound(LookupError):
    """The conversation does not exist, is soft-deleted, or belongs to another user."""


@asynccontextmanager
async def acting_as(engine: AsyncEngine, user_id: str) -> AsyncIterator[AsyncSession]:
    """A session in one transaction, with app.user_id set for that transaction only."""
    async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
        await session.exec(select(func.set_config(SETTING, user_id, True)))
        yield session


def _owned(
    user_id: str, conversation_id: uuid.UUID, *, live: bool = True
) -> list[ColumnElement[bool]]:
    """The conditions for a conversation of `user_id` (only a live one, unless `live=False`)."""
    conditions = [col(Conversation.id) == conversation_id, col(Conversation.user_id) == user_id]
    return [*conditions, col(Conversation.deleted_at).is_(None)] if live else conditions


async def create_user(engine: AsyncEngine, *, user_id: str) -> User:
    """Create the user if missing (idempotent) and return it."""
    async with acting_as(engine, user_id) as session:
        await session.exec(insert(User).values(id=user_id).on_conflict_do_nothing())
        return (await session.exec(select(User).where(User.id == user_id))).one()


async def delete_user(engine: AsyncEngine, *, user_id: str) -> bool:
    """Delete the user; their conversations, messages and tasks go with them (cascade)."""
    async with acting_as(engine, user_id) as session:
        result = await session.exec(delete(User).where(col(User.id) == user_id))
        return bool(result.rowcount)


async def create_conversation(
    engine: AsyncEngine,
    *,
    user_id: str,
    title: str | None = None,
    meta: dict[str, Any] | None = None,
) -> Conversation:
    """Start a conversation owned by `user_id`."""
    values: dict[str, Any] = {"user_id": user_id, "title": title, "meta": meta or {}}
    async with acting_as(engine, user_id) as session:
        stmt = insert(Conversation).values(**values).returning(Conversation)
        created: Conversation = (await session.exec(stmt)).scalars().one()
        return created


async def get_conversation(
    engine: AsyncEngine,
    *,
    user_id: str,
    conversation_id: uuid.UUID,
    include_deleted: bool = False,
) -> Conversation | None:
    """One of the user's conversations; None if missing, not theirs, or soft-deleted."""
    stmt = select(Conversation).where(*_owned(user_id, conversation_id, live=not include_deleted))
    async with acting_as(engine, user_id) as session:
        return (await session.exec(stmt)).first()


async def list_recent_conversations(
    engine: AsyncEngine,
    *,
    user_id: str,
    limit: int = 20,
    before: RecentCursor | None = None,
) -> list[Conversation]:
    """The user's live conversations, newest activity first, keyset-paged on (updated_at, id).

    Pass the last item's `(updated_at, id)` as `before` to get the next page.
    """
    stmt = select(Conversation).where(
        col(Conversation.user_id) == user_id, col(Conversation.deleted_at).is_(None)
    )
    if before is not None:
        stmt = stmt.where(tuple_(Conversation.updated_at, Conversation.id) < tuple_(*before))
    order = (col(Conversation.updated_at).desc(), col(Conversation.id).desc())
    async with acting_as(engine, user_id) as session:
        return list(await session.exec(stmt.order_by(*order).limit(limit)))


async def _set_deleted(engine: AsyncEngine, user_id: str, cid: uuid.UUID, deleted: bool) -> bool:
    """Set or clear deleted_at on one of the user's conversations; True if it changed."""
    was_deleted = col(Conversation.deleted_at).is_not(None)
    stmt = (
        update(Conversation)
        .where(col(Conversation.id) == cid, col(Conversation.user_id) == user_id)
        .where(was_deleted if not deleted else ~was_deleted)
        .values(deleted_at=func.now() if deleted else None)
    )
    async with acting_as(engine, user_id) as session:
        return bool((await session.exec(stmt)).rowcount)


async def soft_delete_conversation(
    engine: AsyncEngine, *, user_id: str, conversation_id: uuid.UUID
) -> bool:
    """Hide a conversation (deleted_at = now()); True if it was live and is now hidden."""
    return await _set_deleted(engine, user_id, conversation_id, True)


async def restore_conversation(
    engine: AsyncEngine, *, user_id: str, conversation_id: uuid.UUID
) -> bool:
    """Undo a soft delete; True if the conversation was hidden and is live again."""
    return await _set_deleted(engine, user_id, conversation_id, False)


async def delete_conversation(
    engine: AsyncEngine, *, user_id: str, conversation_id: uuid.UUID
) -> bool:
    """Delete a conversation for good (live or soft-deleted); its messages cascade."""
    stmt = delete(Conversation).where(*_owned(user_id, conversation_id, live=False))
    async with acting_as(engine, user_id) as session:
        return bool((await session.exec(stmt)).rowcount)


async def append_turn(
    engine: AsyncEngine,
    *,
    user_id: str,
    conversation_id: uuid.UUID,
    messages: Sequence[MessageCreate],
) -> list[Message]:
    """Append messages in order, atomically; returns them with their seq values.

    The UPDATE that bumps updated_at also takes the conversation's row lock (it conflicts
    with itself and with FOR UPDATE), so concurrent appenders queue there; the next seq is
    read by a later statement, whose snapshot sees every earlier appender's commit.
    Raises ConversationNotFound (and writes nothing) for a conversation not live and owned,
    ValueError for an empty turn.
    """
    if not messages:
        raise ValueError("a turn needs at least one message")
    bump = (
        update(Conversation).where(*_owned(user_id, conversation_id)).values(updated_at=func.now())
    )
    last = select(func.coalesce(func.max(Message.seq), 0)).where(
        Message.conversation_id == conversation_id
    )
    async with acting_as(engine, user_id) as session:
        if not (await session.exec(bump.returning(col(Conversation.id)))).first():
            raise ConversationNotFound(str(conversation_id))
        base = (await session.exec(last)).one()
        rows = [
            {
                **m.model_dump(),
                "conversation_id": conversation_id,
                "user_id": user_id,
                "seq": base + i,
            }
            for i, m in enumerate(messages, start=1)
        ]
        stmt = insert(Message).returning(Message, sort_by_parameter_order=True)
        return list((await session.exec(stmt, params=rows)).scalars())


async def fetch_history(
    engine: AsyncEngine,
    *,
    user_id: str,
    conversation_id: uuid.UUID,
    limit: int | None = DEFAULT_PAGE,
    before_seq: int | None = None,
    after_seq: int | None = None,
) -> list[Message]:
    """Messages of one of the user's live conversations, always in ascending seq order.

    Default: the latest `limit`. `before_seq`: the latest `limit` older than it (page back).
    `after_seq`: the first `limit` newer than it (page forward). `limit=None`: no limit.
    Ownership is checked on the conversation row (an uncorrelated EXISTS, evaluated once),
    so the messages are reached only through the (conversation_id, seq) index, whatever
    plan a prepared statement settles on. Empty when the conversation is not visible.
    """
    owned = exists().where(*_owned(user_id, conversation_id))
    stmt = select(Message).where(Message.conversation_id == conversation_id, owned)
    if before_seq is not None:
        stmt = stmt.where(Message.seq < before_seq)
    if after_seq is not None:
        stmt = stmt.where(Message.seq > after_seq)
    forward = after_seq is not None or limit is None
    stmt = stmt.order_by(col(Message.seq) if forward else col(Message.seq).desc()).limit(limit)
    async with acting_as(engine, user_id) as session:
        found = list(await session.exec(stmt))
    return found if forward else found[::-1]
