"""The SQLModel models and the migrated database agree (Alembic autogenerate finds nothing)."""

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, MetaData

from reference_schema import ChatModel
from reference_schema.db import create_engine
from reference_schema.migrations import VERSION_TABLE, apply_schema, include_name_in
from tests.reference_schema.helpers import CHAT_SCHEMA, Run

pytestmark = pytest.mark.db


def metadata_in(schema: str) -> MetaData:
    """The models' MetaData, moved to `schema` when it is not public."""
    if schema == "public":
        return ChatModel.metadata
    moved = MetaData(naming_convention=ChatModel.metadata.naming_convention)
    for table in ChatModel.metadata.sorted_tables:
        table.to_metadata(moved, schema=schema)
    return moved


def differences(conn: Connection, schema: str) -> list[Any]:
    opts = {
        "compare_type": True,
        "compare_server_default": True,
        "version_table": VERSION_TABLE,
        "version_table_schema": schema,
        "include_schemas": schema != "public",
        "include_name": include_name_in(schema),
    }
    context = MigrationContext.configure(conn, opts=opts)
    return list(compare_metadata(context, metadata_in(schema)))


async def _diff(dsn: str, schema: str) -> list[Any]:
    engine = create_engine(dsn, pooled=False, connect_kwargs=None)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(differences, schema)
    finally:
        await engine.dispose()


@pytest.mark.parametrize("schema", ["public", CHAT_SCHEMA])
def test_autogenerate_finds_no_difference(empty_db: str, run: Run, schema: str) -> None:
    apply_schema(empty_db, schema=schema, rls=True)
    assert run(_diff(empty_db, schema)) == []


def test_autogenerate_sees_a_real_difference(empty_db: str, run: Run) -> None:
    apply_schema(empty_db)
    run(_drop_user_messages_index(empty_db))
    diffs = run(_diff(empty_db, "public"))
    assert [(d[0], d[1].name) for d in diffs] == [("add_index", "ix_messages_user_id_created_at")]


async def _drop_user_messages_index(dsn: str) -> None:
    engine = create_engine(dsn, pooled=False, connect_kwargs=None)
    try:
        async with engine.begin() as conn:
            await conn.exec_driver_sql("DROP INDEX ix_messages_user_id_created_at")
    finally:
        await engine.dispose()
