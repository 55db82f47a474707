"""Alembic environment: async (asyncpg), schema-aware, configured in code by the package."""

import asyncio
from typing import Any

from alembic import context
from sqlalchemy import Connection
from sqlalchemy.pool import NullPool

from reference_schema.db import create_engine
from reference_schema.migrations import VERSION_TABLE, include_name_in
from reference_schema.models import ChatModel

config = context.config
SCHEMA: str = config.attributes.get("schema") or config.get_main_option("schema") or "public"


def _configure(**kwargs: Any) -> None:
    context.configure(
        target_metadata=ChatModel.metadata,
        version_table=VERSION_TABLE,
        version_table_schema=SCHEMA,
        include_schemas=SCHEMA != "public",
        include_name=include_name_in(SCHEMA),
        **kwargs,
    )


def run_offline() -> None:
    """Emit SQL text instead of running it (`alembic upgrade --sql`)."""
    _configure(url="postgresql://", literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_on(connection: Connection) -> None:
    """Run the migrations on an open connection (joins its transaction, if any)."""
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


async def run_async() -> None:
    """Connect with asyncpg to the URL given in the config and run the migrations."""
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL: set sqlalchemy.url or use apply_schema()")
    engine = create_engine(url, pooled=True, connect_kwargs=None, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            await conn.run_sync(run_on)
            await conn.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    run_offline()
elif (shared := config.attributes.get("connection")) is not None:
    run_on(shared)
else:
    asyncio.run(run_async())
