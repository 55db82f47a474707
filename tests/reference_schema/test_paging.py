"""Keyset pages, concurrent appends and the pooler-safe engine mode of the query layer."""

import asyncio
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from reference_schema import Message, MessageCreate
from reference_schema import queries as q
from reference_schema.db import make_engine
from tests.reference_schema.helpers import CHAT_SCHEMA, Run, new_user

pytestmark = pytest.mark.db
shared_fixtures = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])


def _numbered(n: int, tag: str = "m") -> list[MessageCreate]:
    return [MessageCreate(role="user", content=f"{tag}{i}") for i in range(1, n + 1)]


async def _pages(
    engine: AsyncEngine, user: str, cid: uuid.UUID, size: int, back: bool
) -> list[Message]:
    """Every message, read page by page with before_seq (back) or after_seq (forward)."""
    found: list[Message] = []
    cursor: int | None = None if back else 0
    key = "before_seq" if back else "after_seq"
    while True:
        page = await q.fetch_history(
            engine, user_id=user, conversation_id=cid, limit=size, **{key: cursor}
        )
        assert len(page) <= size
        assert [m.seq for m in page] == sorted(m.seq for m in page)
        if not page:
            return found
        found = page + found if back else found + page
        cursor = page[0].seq if back else page[-1].seq


async def _history_pages(engine: AsyncEngine, n: int, size: int) -> None:
    user = await new_user(engine)
    conv = await q.create_conversation(engine, user_id=user)
    if n:
        await q.append_turn(engine, user_id=user, conversation_id=conv.id, messages=_numbered(n))
    for back in (True, False):
        found = await _pages(engine, user, conv.id, size, back)
        assert [m.content for m in found] == [f"m{i}" for i in range(1, n + 1)]


@shared_fixtures
@given(n=st.integers(0, 30), size=st.integers(1, 12))
def test_history_pages_return_each_message_once_in_order(
    engine: AsyncEngine, run: Run, n: int, size: int
) -> None:
    run(_history_pages(engine, n, size))


async def _recent_pages(engine: AsyncEngine, n: int, size: int, touched: list[int]) -> None:
    user = await new_user(engine)
    convs = [await q.create_conversation(engine, user_id=user, title=str(i)) for i in range(n)]
    for i in touched:
        if i < n:
            await q.append_turn(
                engine, user_id=user, conversation_id=convs[i].id, messages=_numbered(1)
            )
    seen: list[tuple[object, uuid.UUID]] = []
    before = None
    while page := await q.list_recent_conversations(
        engine, user_id=user, limit=size, before=before
    ):
        assert len(page) <= size
        seen += [(c.updated_at, c.id) for c in page]
        last = page[-1]
        assert last.updated_at is not None
        before = (last.updated_at, last.id)
    assert len(seen) == n and {cid for _, cid in seen} == {c.id for c in convs}
    assert seen == sorted(seen, key=lambda key: (key[0], key[1]), reverse=True)


@shared_fixtures
@given(n=st.integers(0, 8), size=st.integers(1, 4), touched=st.lists(st.integers(0, 7), max_size=4))
def test_recent_conversation_pages_are_complete_and_newest_first(
    engine: AsyncEngine, run: Run, n: int, size: int, touched: list[int]
) -> None:
    run(_recent_pages(engine, n, size, touched))


async def _concurrent(engine: AsyncEngine, writers: int, per_turn: int) -> None:
    user = await new_user(engine)
    conv = await q.create_conversation(engine, user_id=user)
    turns = [_numbered(per_turn, tag=f"w{w}-") for w in range(writers)]
    await asyncio.gather(
        *(q.append_turn(engine, user_id=user, conversation_id=conv.id, messages=t) for t in turns)
    )
    history = await q.fetch_history(engine, user_id=user, conversation_id=conv.id, limit=None)
    assert [m.seq for m in history] == list(range(1, writers * per_turn + 1))
    contents = [m.content for m in history]
    for w in range(writers):  # each turn is contiguous and in its own order
        start = contents.index(f"w{w}-1")
        assert contents[start : start + per_turn] == [f"w{w}-{i}" for i in range(1, per_turn + 1)]


def test_concurrent_appends_lose_and_duplicate_nothing(engine: AsyncEngine, run: Run) -> None:
    run(_concurrent(engine, writers=8, per_turn=3))


async def _pooled_round(chat_db: str) -> None:
    engine = make_engine(chat_db, schema=CHAT_SCHEMA, pooled=True)
    try:
        user = await new_user(engine)
        conv = await q.create_conversation(engine, user_id=user)
        for _ in range(8):  # past the generic-plan switch, on unnamed/unique statements
            await q.append_turn(
                engine, user_id=user, conversation_id=conv.id, messages=_numbered(1)
            )
            await q.fetch_history(engine, user_id=user, conversation_id=conv.id)
        assert len(await q.fetch_history(engine, user_id=user, conversation_id=conv.id)) == 8
    finally:
        await engine.dispose()


def test_pooled_engine_runs_every_statement_repeatedly(chat_db: str, run: Run) -> None:
    run(_pooled_round(chat_db))
