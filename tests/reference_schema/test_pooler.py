"""Through a PgBouncer transaction pooler (the local Neon-like stack): migrations, pooled
engines under concurrency, and RLS enforced for the non-superuser application role."""

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest

from chatgate.dsn import parse_dsn
from reference_schema import MessageCreate
from reference_schema import queries as q
from reference_schema.db import make_engine
from reference_schema.migrations import apply_schema
from tests.neon.conftest import running_stack
from tests.reference_schema.helpers import Run, new_user

pytestmark = [pytest.mark.db, pytest.mark.neon]
Endpoint = tuple[str, dict[str, Any]]


@pytest.fixture(scope="module")
def stack() -> Iterator[Any]:
    """A Neon-like stack without injected latency (skipped when pgbouncer etc. are missing)."""
    with running_stack(rtt_ms=0, suspend_after=600) as neon:
        yield neon


def endpoint(stack: Any, pooled: bool) -> Endpoint:
    """An asyncpg URL and connect kwargs for the stack's pooled or direct endpoint."""
    dsn = parse_dsn(stack.dsn(pooled=pooled))
    return dsn.asyncpg_url(), dsn.asyncpg_kwargs()


async def _chat(url: str, kwargs: dict[str, Any], schema: str, turns: int) -> None:
    engine = make_engine(url, schema=schema, pooled=True, connect_kwargs=kwargs)
    try:
        user, other = await new_user(engine), await new_user(engine)
        conv = await q.create_conversation(engine, user_id=user)
        for i in range(turns):
            turn = [MessageCreate(role="user", content=str(i))]
            await q.append_turn(engine, user_id=user, conversation_id=conv.id, messages=turn)
            history = await q.fetch_history(engine, user_id=user, conversation_id=conv.id)
            assert [m.content for m in history] == [str(k) for k in range(i + 1)]
        assert await q.fetch_history(engine, user_id=other, conversation_id=conv.id) == []
    finally:
        await engine.dispose()


async def _clients(url: str, kwargs: dict[str, Any], schema: str, clients: int) -> None:
    await asyncio.gather(*(_chat(url, kwargs, schema, turns=8) for _ in range(clients)))


async def _unscoped_count(url: str, kwargs: dict[str, Any], schema: str) -> int:
    conn = await asyncpg.connect(url, **kwargs)
    try:
        return int(await conn.fetchval(f'SELECT count(*) FROM "{schema}".conversations'))
    finally:
        await conn.close()


def test_pooled_engines_and_rls_through_pgbouncer(stack: Any, run: Run) -> None:
    url, kwargs = endpoint(stack, pooled=True)
    schema = f"rs_{uuid.uuid4().hex[:8]}"
    apply_schema(url, schema=schema, rls=True, connect_kwargs=kwargs)
    apply_schema(url, schema=schema, rls=True, connect_kwargs=kwargs)
    run(_clients(url, kwargs, schema, clients=6))
    direct_url, direct_kwargs = endpoint(stack, pooled=False)
    # neon_app owns the tables but FORCE RLS applies: without app.user_id it sees nothing.
    assert run(_unscoped_count(direct_url, direct_kwargs, schema)) == 0
