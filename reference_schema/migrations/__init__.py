"""Alembic migrations shipped in the package, configured in code (no alembic.ini needed).

Two branches: `schema` (the tables) and `rls` (row-level security, depends on `schema`,
applied only when asked). The version table lives in the target schema.
"""

import asyncio
import concurrent.futures
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from alembic import command, op
from alembic.config import Config
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.pool import NullPool

from reference_schema.db import create_engine

HERE = Path(__file__).resolve().parent
VERSION_TABLE = "reference_schema_version"
SCHEMA_HEAD = "schema@head"
ALL_HEADS = "heads"

Action = Callable[[Config], None]


def alembic_config(schema: str = "public", url: str | None = None) -> Config:
    """An Alembic Config for these migrations targeting `schema` (and `url` for env.py)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.set_main_option("path_separator", "os")
    cfg.attributes["schema"] = schema
    if url is not None:
        cfg.attributes["url"] = url
    return cfg


def include_name_in(schema: str) -> Callable[[str | None, str, Any], bool]:
    """An autogenerate `include_name` hook: `schema`'s objects only, not the version table."""

    def include_name(name: str | None, kind: str, parents: Any) -> bool:
        if kind == "schema":
            return name in (None, schema)
        return not (kind == "table" and name == VERSION_TABLE)

    return include_name


def target_schema() -> str:
    """The schema the running migration targets (env.py puts it in the version table's)."""
    return op.get_context().version_table_schema or "public"


def quote_ident(conn: Connection | AsyncConnection, name: str) -> str:
    """`name` quoted as a PostgreSQL identifier when it needs quoting."""
    return str(conn.dialect.identifier_preparer.quote(name))


def _run_blocking(coro: Coroutine[Any, Any, None]) -> None:
    """asyncio.run(coro), from a worker thread when this thread already runs a loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(coro)
        return
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, coro).result()


async def _migrate(
    url: str, schema: str, connect_kwargs: dict[str, Any] | None, action: Action, create: bool
) -> None:
    """Run `action` in one transaction, serialised per schema by an advisory lock."""
    engine = create_engine(url, pooled=True, connect_kwargs=connect_kwargs, poolclass=NullPool)
    try:
        async with engine.begin() as conn:
            key = f"reference_schema:{schema}"
            await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": key})
            if create:
                await conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(conn, schema)}"))
            elif not await _schema_exists(conn, schema):
                return
            await conn.run_sync(_run_action, schema, action)
    finally:
        await engine.dispose()


async def _schema_exists(conn: AsyncConnection, schema: str) -> bool:
    found = await conn.scalar(text("SELECT 1 FROM pg_namespace WHERE nspname = :s"), {"s": schema})
    return found is not None


def _run_action(connection: Connection, schema: str, action: Action) -> None:
    cfg = alembic_config(schema)
    cfg.attributes["connection"] = connection
    action(cfg)


def apply_schema(
    url: str,
    *,
    schema: str = "public",
    rls: bool = False,
    connect_kwargs: dict[str, Any] | None = None,
) -> None:
    """Create `schema` if missing and upgrade it to the newest schema revision (idempotent).

    With `rls`, the row-level-security branch is applied too. Without it, RLS already in
    place is left alone (remove it with downgrade_schema(..., revision="rls@base")).
    """
    target = ALL_HEADS if rls else SCHEMA_HEAD
    _run_blocking(
        _migrate(url, schema, connect_kwargs, lambda cfg: command.upgrade(cfg, target), True)
    )


def downgrade_schema(
    url: str,
    *,
    schema: str = "public",
    connect_kwargs: dict[str, Any] | None = None,
    revision: str = "base",
) -> None:
    """Downgrade `schema` to `revision` ("base" removes everything, "rls@base" only RLS)."""
    _run_blocking(
        _migrate(url, schema, connect_kwargs, lambda cfg: command.downgrade(cfg, revision), False)
    )
