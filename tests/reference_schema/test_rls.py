"""The query layer as an application role under the row-level-security revision."""

import pytest
from psycopg import sql
from sqlalchemy.ext.asyncio import AsyncEngine

from reference_schema import MessageCreate
from reference_schema import queries as q
from reference_schema.db import make_engine
from reference_schema.migrations import apply_schema
from tests.reference_schema.helpers import (
    CHAT_SCHEMA,
    Run,
    assert_isolated,
    connect,
    grant_app_role,
    new_user,
)

pytestmark = pytest.mark.db
TURNS = [[MessageCreate(role="user", content="hi")], [MessageCreate(role="tool", content="{}")]]


def owners(dsn: str) -> list[tuple[str, int]]:
    """(owner, messages) per conversation, read by the superuser (RLS does not apply)."""
    query = sql.SQL(
        "SELECT c.user_id, count(m.id) FROM {}.conversations c"
        " LEFT JOIN {}.messages m ON m.conversation_id = c.id GROUP BY c.id ORDER BY 1"
    ).format(sql.Identifier(CHAT_SCHEMA), sql.Identifier(CHAT_SCHEMA))
    with connect(dsn) as conn:
        return [(str(u), int(n)) for u, n in conn.execute(query).fetchall()]


async def _scenario(engine: AsyncEngine, dsn: str) -> None:
    await assert_isolated(engine, TURNS, TURNS)
    alice = await new_user(engine)
    conv = await q.create_conversation(engine, user_id=alice)
    await q.append_turn(engine, user_id=alice, conversation_id=conv.id, messages=TURNS[0])
    assert len(await q.fetch_history(engine, user_id=alice, conversation_id=conv.id)) == 1
    assert (alice, 1) in owners(dsn)
    assert await q.delete_user(engine, user_id=alice)
    assert all(owner != alice for owner, _ in owners(dsn))


def test_query_layer_under_rls_as_an_app_role(empty_db: str, app_role: str, run: Run) -> None:
    apply_schema(empty_db, schema=CHAT_SCHEMA, rls=True)
    grant_app_role(empty_db, app_role)
    settings = {"server_settings": {"role": app_role}}
    engine = make_engine(empty_db, schema=CHAT_SCHEMA, connect_kwargs=settings)
    try:
        run(_scenario(engine, empty_db))
    finally:
        run(engine.dispose())
