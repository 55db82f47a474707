"""Shared helpers for the structure tests: load a variant into a fresh database and check it."""

import asyncio
from pathlib import Path
from typing import Any

import asyncpg

from chatgate.dsn import parse_dsn
from chatgate.options import build_settings
from chatgate.target import Target
from conformance import engine
from reports.result import RunResult


def apply_sql(dsn: str, sql: str) -> None:
    """Run a script on a database."""

    async def go() -> None:
        conn = await asyncpg.connect(parse_dsn(dsn).asyncpg_url())
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(go())


def settings_for(tmp: Path, **values: Any) -> Any:
    """Settings from option values, ignoring any config file in the working directory."""
    return build_settings(values, config_dir=tmp)


def run_checks(dsn: str, settings: Any, command: str = "check") -> RunResult:
    """What `chatgate check` does on a DSN target."""
    target = Target("dsn", parse_dsn(dsn))
    return asyncio.run(engine.check_target(target, settings, command=command))


def statuses(
    result: RunResult, prefixes: tuple[str, ...] = ("structure.", "perf.")
) -> dict[str, str]:
    return {c.id: c.status for c in result.checks if c.id.startswith(prefixes)}
