"""What behavioural checks share: the access layer for the run, connections, and cleanup.

`harness_session` yields a `Harness` and removes the run's rows however the check ends
(failure, error, cancellation); `property_failure` runs a Hypothesis property in its own thread.
"""

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg  # type: ignore[import-untyped,unused-ignore]

from chatgate.target import Target
from conformance.access import ChatAccess, NewMessage
from conformance.cleanup import close_quietly, remove_made_rows
from conformance.context import CheckContext
from conformance.design import Design
from conformance.registry import Outcome, errored, failed, passed
from conformance.runner import Counterexample, Facade, in_thread, run_seed
from conformance.strategies import Limits
from conformance.tagging import RunTag


@dataclass
class Harness:
    """One check's view: context, access layer and an open connection."""

    ctx: CheckContext
    access: ChatAccess
    conn: asyncpg.Connection
    limits: Limits

    @property
    def design(self) -> Design:
        return self.access.d

    @property
    def profile(self) -> str:
        return self.ctx.settings.profile


def access_for(ctx: CheckContext) -> ChatAccess:
    """The run's access layer (the design must exist: the engine checks it first)."""
    if ctx.design is None:
        raise RuntimeError(ctx.discovery_error or "no design")
    return ChatAccess(ctx.design, RunTag(ctx.run_id), rls_setting=ctx.settings.rls_setting)


@contextlib.asynccontextmanager
async def harness_session(ctx: CheckContext) -> AsyncIterator[Harness]:
    """A connection and access layer; the run's rows are removed on the way out."""
    access = access_for(ctx)
    conn = await ctx.target.connect()
    try:
        limits = Limits.of(access.d, empty_content=await accepts_empty(access, conn))
        yield Harness(ctx, access, conn, limits)
    finally:
        try:
            await close_quietly(conn)
        finally:
            await clean_run(ctx.target, access)


async def accepts_empty(access: ChatAccess, conn: asyncpg.Connection) -> bool:
    """Whether the schema stores an empty message (probed in a rolled-back transaction)."""
    tx = conn.transaction()
    await tx.start()
    try:
        user = await access.create_user(conn, n=0)
        conv = (await access.create_conversation(conn, user_id=user))["id"]
        async with conn.transaction():
            await access.append_in_tx(
                conn, conversation_id=conv, user_id=user, messages=[NewMessage(access.roles[0], "")]
            )
        return True
    except asyncpg.CheckViolationError:
        return False
    except asyncpg.PostgresError:
        return True
    finally:
        await tx.rollback()


async def clean_run(target: Target, access: ChatAccess) -> None:
    """Remove the run's rows on a fresh connection (the check's may be mid-query)."""
    conn = await target.connect()
    try:
        await remove_made_rows(conn, access)
    finally:
        await close_quietly(conn)


async def property_failure(
    h: Harness, body: Callable[[Facade, Any, int], Counterexample | None]
) -> Counterexample | None:
    """Run `body(facade, conn, seed)` in a thread with its own connection and event loop."""
    seed = run_seed(h.ctx)

    def work(facade: Facade) -> Counterexample | None:
        conn = facade.run(h.ctx.target.connect())
        try:
            return body(facade, conn, seed)
        finally:
            with contextlib.suppress(Exception):
                facade.loop.run_until_complete(close_quietly(conn))

    return await in_thread(work)


def verdict(
    h: Harness, check_id: str, found: Counterexample | None, ok: str, bad: str, **details: Any
) -> Outcome:
    """pass, or fail with the counterexample, seed and replay command."""
    if found is None:
        return passed(ok, seed=run_seed(h.ctx), profile=h.profile, **details)
    if found.refused:
        return errored(
            f"the database refused a harness write: {found.error}"[:400],
            **found.details(h.ctx, check_id),
            **details,
        )
    return failed(f"{bad}: {found.error}"[:400], **found.details(h.ctx, check_id), **details)


async def row_image(conn: asyncpg.Connection, table: str, where: str, *args: Any) -> list[str]:
    """Every column of the matching rows as sorted JSON texts (for before/after comparisons)."""
    rows = await conn.fetch(f"SELECT to_jsonb(x)::text FROM {table} x WHERE {where}", *args)
    return sorted(str(r[0]) for r in rows)


def setup_error(exc: BaseException) -> Outcome:
    """An error outcome naming what the database refused during setup."""
    text = " ".join(str(exc).split())
    return errored(f"could not write the check's rows: {type(exc).__name__}: {text}")
