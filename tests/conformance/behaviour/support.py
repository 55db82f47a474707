"""Helpers for behavioural tests: databases holding a variant schema and the checks run on them."""

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import asyncpg

from chatgate.dsn import parse_dsn
from chatgate.options import build_settings
from chatgate.target import Target
from conformance.context import CheckContext
from conformance.design import Design
from conformance.engine import import_checks, prepare, run_check
from conformance.registry import REGISTRY
from reports.result import CheckResult

T = TypeVar("T")
VARIANTS = Path(__file__).resolve().parents[2] / "variants"
BEHAVIOUR_IDS = (
    "isolation.scoped_reads",
    "isolation.cross_tenant_write",
    "isolation.owner_consistency",
    "isolation.rls",
    "cascade.conversation_delete",
    "cascade.user_delete",
    "cascade.no_orphans",
    "ordering.history_order",
    "ordering.concurrent_appends",
    "ordering.visible_prefix",
    "time.session_timezone",
)


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


async def execute(dsn: str, sql: str) -> None:
    conn = await asyncpg.connect(parse_dsn(dsn).asyncpg_url())
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def fetch(dsn: str, sql: str, *args: Any) -> list[Any]:
    conn = await asyncpg.connect(parse_dsn(dsn).asyncpg_url())
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


def load_variant(dsn: str, name: str) -> str:
    """Apply tests/variants/<name>.sql to the database; returns the DSN."""
    run(execute(dsn, (VARIANTS / f"{name}.sql").read_text()))
    return dsn


def behaviour_expectations(name: str) -> dict[str, str]:
    """The `-- behaviour: ID=STATUS` lines of a variant file."""
    out: dict[str, str] = {}
    for line in (VARIANTS / f"{name}.sql").read_text().splitlines():
        if line.startswith("-- behaviour:"):
            for pair in line.split(":", 1)[1].split():
                key, _, status = pair.partition("=")
                out[key] = status
    return out


async def context(dsn: str, **settings: Any) -> CheckContext:
    """A check context (snapshot + discovery) for the database."""
    target = Target("dsn", parse_dsn(dsn, pooled=False))
    values = {"dsn": dsn, **settings}
    return await prepare(target, build_settings(values, config_dir=VARIANTS))


def design_of(dsn: str, **settings: Any) -> Design:
    ctx = run(context(dsn, **settings))
    assert ctx.design is not None
    return ctx.design


def run_checks(
    dsn: str, ids: tuple[str, ...] = BEHAVIOUR_IDS, **settings: Any
) -> dict[str, CheckResult]:
    """Run checks through the engine's per-check path (preconditions included)."""
    import_checks()

    async def go() -> dict[str, CheckResult]:
        ctx = await context(dsn, **settings)
        return {cid: await run_check(ctx, REGISTRY[cid]) for cid in ids}

    return run(go())


async def harness_rows(dsn: str, **settings: Any) -> int:
    """How many rows of any harness run the database holds."""
    from conformance.cleanup import count_rows

    ctx = await context(dsn, **settings)
    assert ctx.design is not None
    conn = await asyncpg.connect(parse_dsn(dsn).asyncpg_url())
    try:
        return (await count_rows(conn, design=ctx.design, tag=None)).total
    finally:
        await conn.close()


CHECKSUM_SQL = "SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {} t"


def checksums(
    dsn: str, tables: tuple[str, ...] = ("users", "conversations", "messages")
) -> dict[str, str]:
    """md5 of each table's ordered rows."""
    return {t: run(fetch(dsn, CHECKSUM_SQL.format(t)))[0][0] for t in tables}
