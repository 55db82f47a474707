"""Helpers for the seed/bench tests: a database with a schema, its design, seeded tiny data."""

import asyncio
from pathlib import Path
from typing import Any

import asyncpg

from chatgate.dsn import parse_dsn
from chatgate.options import Settings, build_settings
from conformance.design import Design
from conformance.discovery import discover
from conformance.snapshot import take_snapshot
from conformance.tagging import RunTag, new_run_id
from loadtests import shape
from loadtests.seed import SeedResult, seed_design

HERE = Path(__file__).parent
CHAT_SQL = HERE / "chat_schema.sql"
TRAP_SQL = HERE / "generic_plan_trap.sql"


def url(dsn: str) -> str:
    """The asyncpg URL of a test DSN."""
    return parse_dsn(dsn).asyncpg_url()


async def apply_sql(dsn: str, sql: str) -> None:
    """Run a schema file's SQL on the database."""
    conn = await asyncpg.connect(url(dsn))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def design_of(dsn: str, settings: Settings | None = None) -> Design:
    """Discover the chat design of the database."""
    conn = await asyncpg.connect(url(dsn))
    try:
        return discover(await take_snapshot(conn), settings or Settings())
    finally:
        await conn.close()


async def seed_tiny(
    dsn: str, design: Design, *, scale: str = "tiny", seed: int = 0, workers: int = 2
) -> SeedResult:
    """Seed a scale with `workers` connections, then ANALYZE."""
    conns = [await asyncpg.connect(url(dsn)) for _ in range(workers)]
    try:
        result = await seed_design(
            conns, design, scale=shape.get_scale(scale), tag=RunTag(new_run_id()), seed=seed
        )
        await conns[0].execute("ANALYZE")
        return result
    finally:
        for c in conns:
            await c.close()


def settings_from(values: dict[str, Any]) -> Settings:
    """Settings from option values (no config files)."""
    return build_settings(values, config_dir=HERE)


def run(coro: Any) -> Any:
    """Run a coroutine in a fresh loop (tests are synchronous)."""
    return asyncio.run(coro)
