"""Catalog facts the harness's structural checks rely on, read straight from pg_catalog."""

from typing import Any

import pytest

from reference_schema.migrations import apply_schema
from tests.reference_schema.helpers import CHAT_SCHEMA, connect

pytestmark = pytest.mark.db

CONSTRAINTS = """
SELECT c.relname, k.contype::text,
       ARRAY(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY u(n, o)
             JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY u.o),
       rc.relname,
       ARRAY(SELECT a.attname::text FROM unnest(k.confkey) WITH ORDINALITY u(n, o)
             JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n ORDER BY u.o),
       k.confdeltype::text, pg_get_constraintdef(k.oid)
FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_class rc ON rc.oid = k.confrelid
WHERE n.nspname = %s
"""
INDEXES = """
SELECT c.relname, am.amname, i.indisvalid, i.indpred IS NULL,
       ARRAY(SELECT a.attname::text FROM unnest(i.indkey::int2[]) WITH ORDINALITY u(n, o)
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = u.n ORDER BY u.o)
FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_am am ON am.oid = ic.relam JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %s
"""
TYPES = """
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod)
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %s AND a.attnum > 0 AND NOT a.attisdropped AND c.relkind = 'r'
"""


@pytest.fixture(scope="module")
def catalog(make_db: Any) -> dict[str, list[tuple[Any, ...]]]:
    dsn = make_db()
    apply_schema(dsn, schema=CHAT_SCHEMA)
    with connect(dsn) as conn:
        return {
            name: conn.execute(query, [CHAT_SCHEMA]).fetchall()
            for name, query in (("cons", CONSTRAINTS), ("idx", INDEXES), ("types", TYPES))
        }


def leading(catalog: dict[str, Any], table: str, columns: list[str]) -> bool:
    """A valid, non-partial btree index on `table` leads with `columns`."""
    return any(
        t == table and am == "btree" and valid and full and cols[: len(columns)] == columns
        for t, am, valid, full, cols in catalog["idx"]
    )


def test_conversation_fk_cascades(catalog: dict[str, Any]) -> None:
    fks = [c for c in catalog["cons"] if c[0] == "messages" and c[1] == "f"]
    assert [(c[2], c[3], c[4], c[5]) for c in fks] == [
        (["conversation_id", "user_id"], "conversations", ["id", "user_id"], "c")
    ]


def test_user_fks_cascade(catalog: dict[str, Any]) -> None:
    fks = {(c[0], c[3], c[5]) for c in catalog["cons"] if c[1] == "f" and c[2] == ["user_id"]}
    assert fks == {("conversations", "users", "c"), ("tasks", "users", "c")}


def test_role_check_and_order_key(catalog: dict[str, Any]) -> None:
    checks = [c[6] for c in catalog["cons"] if c[0] == "messages" and c[1] == "c"]
    assert any("'user'" in d and "'assistant'" in d and "role" in d for d in checks)
    uniques = [c[2] for c in catalog["cons"] if c[0] == "messages" and c[1] == "u"]
    assert ["conversation_id", "seq"] in uniques


def test_indexes_for_history_owner_and_recent(catalog: dict[str, Any]) -> None:
    assert leading(catalog, "messages", ["conversation_id", "seq"])
    assert leading(catalog, "messages", ["conversation_id", "user_id", "seq"])
    assert leading(catalog, "messages", ["user_id", "created_at"])
    assert leading(catalog, "conversations", ["user_id", "updated_at"])


def test_types(catalog: dict[str, Any]) -> None:
    types = {(t, c): ty for t, c, ty in catalog["types"]}
    assert types[("conversations", "id")] == types[("messages", "id")] == "uuid"
    assert types[("messages", "seq")] == "bigint"
    times = {k: v for k, v in types.items() if k[1] in ("created_at", "updated_at", "deleted_at")}
    assert set(times.values()) == {"timestamp with time zone"} and len(times) == 7
