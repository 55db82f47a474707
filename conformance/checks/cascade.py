"""Cascade checks: conversation delete, user delete, no orphans (behavioural).

Deletes are observed inside a transaction that is then rolled back, so a schema without a
cascade never leaves orphans behind; the harness's own cleanup removes the rest.
"""

import itertools
from typing import Any

import asyncpg  # type: ignore[import-untyped,unused-ignore]
from hypothesis import given
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from conformance.access import ChatAccess, NewMessage, missing_conversation_id
from conformance.cleanup import remove_made_rows
from conformance.context import CheckContext
from conformance.harness import Harness, harness_session, property_failure, verdict
from conformance.registry import Outcome, check, failed, skipped
from conformance.runner import Counterexample, Facade, falsify, hypothesis_settings
from conformance.shape import error_text
from conformance.stateful import MachineEnv, run_machine
from conformance.strategies import turns

MAX_EXAMPLES = {"quick": 2, "ci": 5, "thorough": 25}
Turns = list[list[NewMessage]]


async def totals(a: ChatAccess, conn: Any) -> dict[str, int]:
    """Row counts of the chat tables (every row, the harness's or not: read only)."""
    out = {}
    for table in ("users", "conversations", "messages"):
        if a.d.has(table):
            out[table] = await conn.fetchval(f"SELECT count(*) FROM {a.t(table)}")
    return out


async def _build(a: ChatAccess, conn: Any, user: Any, batches: list[Turns]) -> dict[Any, int]:
    """Conversations of `user` holding the turns; conversation id -> message count."""
    out = {}
    for batch in batches:
        conv = (await a.create_conversation(conn, user_id=user))["id"]
        out[conv] = sum(
            [
                len(await a.append_turn(conn, conversation_id=conv, user_id=user, messages=t))
                for t in batch
            ]
        )
    return out


async def _observe(
    conn: Any, sql: str, arg: Any, a: ChatAccess, user: Any
) -> tuple[dict[str, int], dict[str, int], str]:
    """Totals before and after `sql`, run as `user` in a rolled-back transaction; or the error.

    REPEATABLE READ: one snapshot, so other sessions writing meanwhile cannot skew the counts.
    """
    tx = conn.transaction(isolation="repeatable_read")
    await tx.start()
    try:
        await a.set_user(conn, user)
        before = await totals(a, conn)
        await conn.execute(sql, arg)
        return before, await totals(a, conn), ""
    except asyncpg.PostgresError as exc:
        return {}, {}, error_text(exc)
    finally:
        await tx.rollback()


async def _conversation_example(h: Harness, conn: Any, n: int, mine: Turns, other: Turns) -> None:
    a = h.access
    owner, stranger = await a.create_user(conn, n=n), await a.create_user(conn, n=n + 1)
    convs = await _build(a, conn, owner, [mine, other])
    await _build(a, conn, stranger, [other])
    target, count = next(iter(convs.items()))
    sql = f"DELETE FROM {a.t('conversations')} WHERE {a.c('conversations', 'id')} = $1"
    before, after, error = await _observe(conn, sql, target, a, owner)
    assert not error, f"deleting a conversation with {count} messages was rejected: {error}"
    want = {
        **before,
        "conversations": before["conversations"] - 1,
        "messages": before["messages"] - count,
    }
    assert after == want, (
        f"deleting a conversation with {count} messages changed row counts "
        f"from {before} to {after}, expected {want}"
    )


async def _user_example(h: Harness, conn: Any, n: int, mine: Turns, other: Turns) -> None:
    a = h.access
    owner, stranger = await a.create_user(conn, n=n), await a.create_user(conn, n=n + 1)
    convs = await _build(a, conn, owner, [mine, other])
    await _build(a, conn, stranger, [other])
    sql = f"DELETE FROM {a.t('users')} WHERE {a.c('users', 'id')} = $1"
    before, after, error = await _observe(conn, sql, owner, a, owner)
    assert not error, f"deleting a user with {len(convs)} conversations was rejected: {error}"
    want = {
        "users": before["users"] - 1,
        "conversations": before["conversations"] - len(convs),
        "messages": before["messages"] - sum(convs.values()),
    }
    assert after == want, (
        f"deleting a user with conversations {list(convs.values())} changed "
        f"row counts from {before} to {after}, expected {want}"
    )


async def _run_deletes(h: Harness, example: Any) -> Counterexample | None:
    limits = h.limits
    numbers = itertools.count(1, 2)
    batch = st.lists(turns(limits, max_messages=3), min_size=1, max_size=3)

    def body(facade: Facade, conn: Any, seed: int) -> Counterexample | None:
        @hypothesis_seed(seed)
        @hypothesis_settings(h.profile, max_examples=MAX_EXAMPLES.get(h.profile, 5))
        @given(mine=batch, other=batch)
        def prop(mine: Turns, other: Turns) -> None:
            try:
                facade.run(example(h, conn, next(numbers), mine, other))
            finally:
                facade.run(remove_made_rows(conn, h.access))

        return falsify(prop, seed=seed)

    return await property_failure(h, body)


@check(
    "cascade.conversation_delete",
    "must",
    "deleting a conversation removes all its messages and no other row",
    writes=True,
)
async def conversation_delete(ctx: CheckContext) -> Outcome:
    async with harness_session(ctx) as h:
        found = await _run_deletes(h, _conversation_example)
        return verdict(
            h,
            "cascade.conversation_delete",
            found,
            "deleting a conversation removed exactly its messages",
            "deleting a conversation did not remove exactly its messages",
        )


@check(
    "cascade.user_delete",
    "must",
    "deleting a user removes their conversations and messages and no other user's rows "
    "(skip: no users table)",
    writes=True,
)
async def user_delete(ctx: CheckContext) -> Outcome:
    if ctx.design is not None and not ctx.design.has("users"):
        return skipped("no users table")
    async with harness_session(ctx) as h:
        found = await _run_deletes(h, _user_example)
        return verdict(
            h,
            "cascade.user_delete",
            found,
            "deleting a user removed exactly their conversations and messages",
            "deleting a user did not remove exactly their rows",
        )


async def orphan_probe(h: Harness) -> str | None:
    """None when a message for a missing conversation is rejected; else what happened."""
    a, conn = h.access, h.conn
    tx = conn.transaction()
    await tx.start()
    try:
        user = await a.create_user(conn, n=1)
        async with conn.transaction():
            rows = await a.append_in_tx(
                conn,
                conversation_id=missing_conversation_id(a),
                user_id=user,
                scoped=False,
                messages=[NewMessage(a.roles[0], "orphan")],
            )
        return f"accepted a message for a missing conversation ({len(rows)} row)"
    except asyncpg.ForeignKeyViolationError:
        return None
    finally:
        await tx.rollback()


@check(
    "cascade.no_orphans",
    "must",
    "a message for a missing conversation is rejected, and no generated sequence of "
    "operations leaves an orphan",
    writes=True,
)
async def no_orphans(ctx: CheckContext) -> Outcome:
    async with harness_session(ctx) as h:
        if problem := await orphan_probe(h):
            return failed(
                f"the database {problem}",
                fix="add FOREIGN KEY (conversation_id) REFERENCES conversations ON DELETE CASCADE",
            )

        def body(facade: Facade, conn: Any, seed: int) -> Counterexample | None:
            env = MachineEnv(h.access, facade, conn, h.limits, strict_orphans=True)
            return run_machine(env, profile=h.profile, seed=seed)

        found = await property_failure(h, body)
        return verdict(
            h,
            "cascade.no_orphans",
            found,
            "messages for missing conversations are rejected; no operation sequence left an orphan",
            "an operation sequence left an orphan",
        )
