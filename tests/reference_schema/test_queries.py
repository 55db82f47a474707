"""Property tests of the user-scoped query layer: isolation, cascade, order, keyset pages."""

from collections.abc import Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from reference_schema import MessageCreate
from reference_schema import queries as q
from tests.reference_schema.helpers import (
    Run,
    add_task,
    assert_isolated,
    conversation_with,
    counts,
    dumps,
    fields,
    new_user,
    sent,
    turns,
)

pytestmark = pytest.mark.db
shared_fixtures = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
Turns = Sequence[Sequence[MessageCreate]]


@shared_fixtures
@given(a_turns=turns, b_turns=turns)
def test_a_user_never_sees_or_changes_another_users_rows(
    engine: AsyncEngine, run: Run, a_turns: Turns, b_turns: Turns
) -> None:
    run(assert_isolated(engine, a_turns, b_turns))


async def _soft_deleted_is_private(engine: AsyncEngine) -> None:
    a, b = await new_user(engine), await new_user(engine)
    ca = await conversation_with(engine, a, [[MessageCreate(role="user", content="x")]])
    assert await q.soft_delete_conversation(engine, user_id=a, conversation_id=ca.id)
    assert await q.restore_conversation(engine, user_id=b, conversation_id=ca.id) is False
    assert await q.get_conversation(engine, user_id=a, conversation_id=ca.id) is None
    assert await q.fetch_history(engine, user_id=a, conversation_id=ca.id) == []
    assert await q.list_recent_conversations(engine, user_id=a) == []
    assert await q.restore_conversation(engine, user_id=a, conversation_id=ca.id)
    assert len(await q.fetch_history(engine, user_id=a, conversation_id=ca.id)) == 1


def test_soft_delete_hides_and_restore_brings_back(engine: AsyncEngine, run: Run) -> None:
    run(_soft_deleted_is_private(engine))


async def _delete_user(engine: AsyncEngine, chats: list[Turns], b_turns: Turns) -> None:
    a, b = await new_user(engine), await new_user(engine)
    for chat in chats:
        await conversation_with(engine, a, chat)
    await conversation_with(engine, b, b_turns)
    for user in (a, b, b):
        await add_task(engine, user)
    b_before = await counts(engine, b)
    assert await q.delete_user(engine, user_id=a)
    # The host app's own FK takes a's tasks; chat rows go by the chat tables' cascades.
    assert await counts(engine, a) == (0, 0, 0)
    assert await counts(engine, b) == b_before == (1, len(sent(b_turns)), 2)
    assert await q.delete_user(engine, user_id=a) is False


@shared_fixtures
@given(chats=st.lists(turns, min_size=1, max_size=3), b_turns=turns)
def test_delete_user_cascades_to_their_chat_rows_only(
    engine: AsyncEngine, run: Run, chats: list[Turns], b_turns: Turns
) -> None:
    run(_delete_user(engine, chats, b_turns))


async def _delete_conversation(engine: AsyncEngine, a_turns: Turns) -> None:
    a = await new_user(engine)
    keep = await conversation_with(engine, a, a_turns)
    gone = await conversation_with(engine, a, a_turns)
    assert await q.delete_conversation(engine, user_id=a, conversation_id=gone.id)
    assert await counts(engine, a) == (1, len(sent(a_turns)), 0)
    assert await q.get_conversation(engine, user_id=a, conversation_id=keep.id) is not None


@shared_fixtures
@given(a_turns=turns)
def test_delete_conversation_removes_its_messages_only(
    engine: AsyncEngine, run: Run, a_turns: Turns
) -> None:
    run(_delete_conversation(engine, a_turns))


async def _append_order(engine: AsyncEngine, chat: Turns) -> None:
    a = await new_user(engine)
    conv = await q.create_conversation(engine, user_id=a)
    for turn in chat:
        added = await q.append_turn(engine, user_id=a, conversation_id=conv.id, messages=turn)
        assert [fields(m) for m in added] == sent([turn])
    history = await q.fetch_history(engine, user_id=a, conversation_id=conv.id, limit=None)
    assert [fields(m) for m in history] == sent(chat)
    assert [m.seq for m in history] == list(range(1, len(history) + 1))
    latest = await q.fetch_history(engine, user_id=a, conversation_id=conv.id, limit=2)
    assert dumps(latest) == dumps(history[-2:])


@shared_fixtures
@given(chat=turns)
def test_history_returns_messages_in_append_order(
    engine: AsyncEngine, run: Run, chat: Turns
) -> None:
    run(_append_order(engine, chat))
