"""Shared Hypothesis strategies and small async helpers for the query-layer tests."""

import uuid
from collections.abc import Callable, Coroutine, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from hypothesis import strategies as st
from psycopg import sql
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from chatgate.dsn import parse_dsn
from reference_schema import ROLES, Conversation, Message, MessageCreate, Task
from reference_schema import queries as q

CHAT_SCHEMA = "Chat App"  # mixed case with a space: every name must be quoted right
Run = Callable[[Coroutine[Any, Any, Any]], Any]
Turns = Sequence[Sequence[MessageCreate]]


def connect(dsn: str) -> psycopg.Connection:
    """A psycopg autocommit connection for catalog checks and setup."""
    return psycopg.connect(parse_dsn(dsn).psycopg_conninfo(), autocommit=True)


@contextmanager
def temp_role(dsn: str) -> Iterator[str]:
    """A role that neither owns the tables nor bypasses RLS; dropped (with its grants) after."""
    role = f"rs_app_{uuid.uuid4().hex[:8]}"
    ident = sql.Identifier(role)
    with connect(dsn) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} NOSUPERUSER NOBYPASSRLS").format(ident))
    try:
        yield role
    finally:
        with connect(dsn) as conn:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(ident))
            conn.execute(sql.SQL("DROP ROLE {}").format(ident))


def grant_app_role(dsn: str, role: str) -> None:
    """Let `role` use the chat schema and all its tables."""
    s, r = sql.Identifier(CHAT_SCHEMA), sql.Identifier(role)
    with connect(dsn) as conn:
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(s, r))
        conn.execute(sql.SQL("GRANT ALL ON ALL TABLES IN SCHEMA {} TO {}").format(s, r))


text = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=20)
messages = st.builds(
    MessageCreate,
    role=st.sampled_from(ROLES),
    content=text,
    tool_calls=st.none() | st.lists(st.dictionaries(text, st.integers() | text), max_size=2),
    tokens_used=st.none() | st.integers(0, 10_000),
)
turns = st.lists(st.lists(messages, min_size=1, max_size=3), min_size=1, max_size=4)


async def new_user(engine: AsyncEngine) -> str:
    """A fresh user with a unique id (examples share one database)."""
    user_id = f"u-{uuid.uuid4().hex[:12]}"
    await q.create_user(engine, user_id=user_id)
    return user_id


async def conversation_with(
    engine: AsyncEngine, user_id: str, turns: Sequence[Sequence[MessageCreate]]
) -> Conversation:
    """A new conversation of `user_id` holding `turns`, one append_turn each."""
    conv = await q.create_conversation(engine, user_id=user_id, title="t")
    for turn in turns:
        await q.append_turn(engine, user_id=user_id, conversation_id=conv.id, messages=turn)
    return conv


async def add_task(engine: AsyncEngine, user_id: str) -> None:
    """A row in the host application's tasks table."""
    async with AsyncSession(engine) as session:
        session.add(Task(user_id=user_id, title="host task"))
        await session.commit()


async def counts(engine: AsyncEngine, user_id: str) -> tuple[int, int, int]:
    """(conversations, messages, tasks) rows of `user_id`, read without any scoping."""
    async with AsyncSession(engine) as session:
        found = []
        for model in (Conversation, Message, Task):
            stmt = select(func.count()).select_from(model).where(model.user_id == user_id)
            found.append((await session.exec(stmt)).one())
        return found[0], found[1], found[2]


def dumps(rows: Sequence[Message]) -> list[dict[str, object]]:
    """Comparable plain forms of messages."""
    return [m.model_dump() for m in rows]


def fields(message: MessageCreate | Message) -> tuple[object, ...]:
    """What the application wrote: role, content, tool calls, tokens."""
    return (message.role, message.content, message.tool_calls, message.tokens_used)


def sent(turns: Sequence[Sequence[MessageCreate]]) -> list[tuple[object, ...]]:
    """The fields of every message of `turns`, in append order."""
    return [fields(m) for turn in turns for m in turn]


async def assert_isolated(engine: AsyncEngine, a_turns: Turns, b_turns: Turns) -> None:
    """Every read and write as user b on user a's conversation sees and changes nothing."""
    a, b = await new_user(engine), await new_user(engine)
    ca = await conversation_with(engine, a, a_turns)
    cb = await conversation_with(engine, b, b_turns)
    snapshot = await q.fetch_history(engine, user_id=a, conversation_id=ca.id, limit=None)
    conv = await q.get_conversation(engine, user_id=a, conversation_id=ca.id)
    for include_deleted in (False, True):
        assert (
            await q.get_conversation(
                engine, user_id=b, conversation_id=ca.id, include_deleted=include_deleted
            )
            is None
        )
    assert await q.fetch_history(engine, user_id=b, conversation_id=ca.id, limit=None) == []
    assert await q.fetch_history(engine, user_id=b, conversation_id=ca.id, after_seq=0) == []
    recent = await q.list_recent_conversations(engine, user_id=b, limit=100)
    assert [c.id for c in recent] == [cb.id]
    with pytest.raises(q.ConversationNotFound):
        await q.append_turn(engine, user_id=b, conversation_id=ca.id, messages=b_turns[0])
    for write in (q.soft_delete_conversation, q.restore_conversation, q.delete_conversation):
        assert await write(engine, user_id=b, conversation_id=ca.id) is False
    after = await q.fetch_history(engine, user_id=a, conversation_id=ca.id, limit=None)
    assert dumps(after) == dumps(snapshot)
    assert await q.get_conversation(engine, user_id=a, conversation_id=ca.id) == conv
