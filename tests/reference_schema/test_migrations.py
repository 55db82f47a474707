"""Migrations: round trips, idempotence, any schema, the optional row-level-security branch."""

import asyncio

import psycopg
import pytest
from psycopg import sql

from reference_schema.migrations import (
    VERSION_TABLE,
    apply_schema,
    downgrade_schema,
)
from tests.reference_schema.helpers import CHAT_SCHEMA, connect

pytestmark = pytest.mark.db
CHAT_TABLES = {"users", "tasks", "conversations", "messages"}

CATALOG = """
SELECT c.relname, c.relkind::text, c.relrowsecurity, c.relforcerowsecurity,
       coalesce(pg_get_indexdef(c.oid), ''),
       ARRAY(SELECT pg_get_constraintdef(k.oid) FROM pg_constraint k
             WHERE k.conrelid = c.oid ORDER BY 1)::text,
       ARRAY(SELECT p.polname || ' ' || pg_get_expr(p.polqual, p.polrelid)
             FROM pg_policy p WHERE p.polrelid = c.oid ORDER BY 1)::text,
       (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'i', 'S')
ORDER BY 1
"""


def catalog(dsn: str, schema: str) -> list[tuple[object, ...]]:
    """Everything migrations create in `schema`: relations, constraints, indexes, policies."""
    with connect(dsn) as conn:
        return conn.execute(CATALOG, [schema]).fetchall()


def tables(dsn: str, schema: str) -> set[str]:
    return {row[0] for row in catalog(dsn, schema) if row[1] == "r"} - {VERSION_TABLE}


def versions(dsn: str, schema: str) -> list[str]:
    table = sql.Identifier(schema, VERSION_TABLE)
    with connect(dsn) as conn:
        rows = conn.execute(sql.SQL("SELECT version_num FROM {} ORDER BY 1").format(table))
        return [r[0] for r in rows]


def rls_flags(dsn: str, schema: str) -> dict[str, tuple[bool, bool, int]]:
    """table -> (RLS enabled, RLS forced, number of policies)."""
    return {r[0]: (r[2], r[3], r[7]) for r in catalog(dsn, schema) if r[1] == "r"}


def test_upgrade_downgrade_upgrade_round_trips(empty_db: str) -> None:
    apply_schema(empty_db, rls=True)
    first = catalog(empty_db, "public")
    assert tables(empty_db, "public") == CHAT_TABLES
    downgrade_schema(empty_db)
    assert tables(empty_db, "public") == set() and versions(empty_db, "public") == []
    apply_schema(empty_db, rls=True)
    assert catalog(empty_db, "public") == first


def test_applying_twice_leaves_one_identical_schema(empty_db: str) -> None:
    apply_schema(empty_db, schema=CHAT_SCHEMA)
    first = catalog(empty_db, CHAT_SCHEMA)
    apply_schema(empty_db, schema=CHAT_SCHEMA, connect_kwargs={"statement_cache_size": 0})
    assert catalog(empty_db, CHAT_SCHEMA) == first
    assert versions(empty_db, CHAT_SCHEMA) == ["0001"]
    with connect(empty_db) as conn:
        names = conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname = %s", [CHAT_SCHEMA])
        assert names.fetchone() == (1,)


def test_a_named_schema_leaves_public_alone(empty_db: str) -> None:
    apply_schema(empty_db, schema=CHAT_SCHEMA)
    assert tables(empty_db, CHAT_SCHEMA) == CHAT_TABLES
    assert [r[0] for r in catalog(empty_db, "public")] == []
    downgrade_schema(empty_db, schema="no such schema")  # nothing to do, and no error
    downgrade_schema(empty_db, schema=CHAT_SCHEMA)
    assert tables(empty_db, CHAT_SCHEMA) == set()


def test_rls_is_a_branch_applied_only_when_asked(empty_db: str) -> None:
    apply_schema(empty_db, schema=CHAT_SCHEMA)
    assert rls_flags(empty_db, CHAT_SCHEMA)["messages"] == (False, False, 0)
    apply_schema(empty_db, schema=CHAT_SCHEMA, rls=True)
    flags = rls_flags(empty_db, CHAT_SCHEMA)
    assert flags["conversations"] == flags["messages"] == (True, True, 1)
    assert flags["users"] == flags["tasks"] == (False, False, 0)
    apply_schema(empty_db, schema=CHAT_SCHEMA)  # rls=False never removes security
    assert rls_flags(empty_db, CHAT_SCHEMA)["messages"] == (True, True, 1)
    downgrade_schema(empty_db, schema=CHAT_SCHEMA, revision="rls@base")
    assert rls_flags(empty_db, CHAT_SCHEMA)["messages"] == (False, False, 0)
    assert tables(empty_db, CHAT_SCHEMA) == CHAT_TABLES


def test_apply_schema_works_inside_a_running_event_loop(empty_db: str) -> None:
    async def inside() -> None:
        apply_schema(empty_db, schema=CHAT_SCHEMA)

    asyncio.run(inside())
    assert tables(empty_db, CHAT_SCHEMA) == CHAT_TABLES


def test_rls_shows_each_user_only_their_rows(empty_db: str, app_role: str) -> None:
    apply_schema(empty_db, schema=CHAT_SCHEMA, rls=True)
    s, r = sql.Identifier(CHAT_SCHEMA), sql.Identifier(app_role)
    with connect(empty_db) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(s))
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(s, r))
        conn.execute(sql.SQL("GRANT ALL ON ALL TABLES IN SCHEMA {} TO {}").format(s, r))
        conn.execute("INSERT INTO users (id) VALUES ('alice'), ('bob')")
        conn.execute("INSERT INTO conversations (user_id) VALUES ('alice'), ('bob')")
        with conn.transaction():
            conn.execute(sql.SQL("SET LOCAL ROLE {}").format(r))
            conn.execute("SELECT set_config('app.user_id', 'alice', true)")
            seen = conn.execute("SELECT user_id FROM conversations").fetchall()
            assert seen == [("alice",)]
            assert conn.execute("DELETE FROM conversations WHERE user_id = 'bob'").rowcount == 0
        with conn.transaction():
            conn.execute(sql.SQL("SET LOCAL ROLE {}").format(r))
            assert conn.execute("SELECT count(*) FROM conversations").fetchone() == (0,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
            conn.execute(sql.SQL("SET LOCAL ROLE {}").format(r))
            conn.execute("SELECT set_config('app.user_id', 'alice', true)")
            conn.execute("INSERT INTO conversations (user_id) VALUES ('bob')")
        assert conn.execute("SELECT count(*) FROM conversations").fetchone() == (2,)
