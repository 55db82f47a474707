"""Async SQLAlchemy engines over asyncpg for the reference schema, pooler-safe on request."""

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

CONNECT_TIMEOUT_S = 10.0
COMMAND_TIMEOUT_S = 120.0


def unique_statement_name() -> str:
    """A prepared-statement name unique across processes (needed behind PgBouncer)."""
    return f"__rs_{uuid.uuid4().hex}__"


def asyncpg_connector(
    url: str, connect_kwargs: dict[str, Any] | None = None, *, pooled: bool = False
) -> Callable[[], Awaitable[Any]]:
    """An async creator: asyncpg.connect(url) with timeouts and, if pooled, no statement cache."""
    kwargs: dict[str, Any] = {"timeout": CONNECT_TIMEOUT_S, "command_timeout": COMMAND_TIMEOUT_S}
    if pooled:
        kwargs["statement_cache_size"] = 0
    kwargs.update(connect_kwargs or {})

    async def connect() -> Any:
        return await asyncpg.connect(url, **kwargs)

    return connect


def _adapter_kwargs(pooled: bool) -> dict[str, Any]:
    """SQLAlchemy's own asyncpg statement cache and names: off and unique when pooled."""
    if not pooled:
        return {}
    return {
        "prepared_statement_cache_size": 0,
        "prepared_statement_name_func": unique_statement_name,
    }


def create_engine(
    url: str, *, pooled: bool, connect_kwargs: dict[str, Any] | None, **engine_kwargs: Any
) -> AsyncEngine:
    """An AsyncEngine whose connections come from asyncpg.connect(url) (see make_engine)."""
    connect = asyncpg_connector(url, connect_kwargs, pooled=pooled)
    adapter = _adapter_kwargs(pooled)
    engine: AsyncEngine

    def creator() -> Any:
        # SQLAlchemy's async_creator= path cannot pass the adapter options above; this is the
        # call it makes (see sqlalchemy.ext.asyncio.create_async_engine), plus them.
        dbapi: Any = engine.sync_engine.dialect.dbapi
        return dbapi.connect(async_creator_fn=connect, **adapter)

    engine = create_async_engine("postgresql+asyncpg://", creator=creator, **engine_kwargs)
    return engine


def make_engine(
    url: str,
    *,
    schema: str = "public",
    pooled: bool = False,
    connect_kwargs: dict[str, Any] | None = None,
) -> AsyncEngine:
    """An AsyncEngine on `url`, a plain postgresql:// URL that asyncpg uses unchanged.

    Tables resolve to `schema` through schema_translate_map, so no session-level
    `SET search_path` can leak through a transaction pooler. With `pooled`, both asyncpg's
    and SQLAlchemy's statement caches are off and statement names are unique per process.
    """
    translate = {"schema_translate_map": {None: schema}}
    return create_engine(
        url, pooled=pooled, connect_kwargs=connect_kwargs, execution_options=translate
    )
