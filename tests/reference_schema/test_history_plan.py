"""The generic-plan trap: history reads stay on the history index as prepared statements."""

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import event

from reference_schema import queries as q
from reference_schema.db import make_engine
from reference_schema.migrations import apply_schema
from tests.reference_schema.helpers import CHAT_SCHEMA, Run, connect, grant_app_role, temp_role

pytestmark = pytest.mark.db
BIG = 120_000  # messages in the one long conversation
HISTORY_INDEX = "messages_conversation_id_seq_key"
SCOPED_INDEX = "ix_messages_conversation_id_user_id_seq"
NAIVE = (
    "SELECT * FROM messages WHERE conversation_id = $1 AND user_id = $2 ORDER BY seq DESC LIMIT 50"
)
SEED = f"""
INSERT INTO users (id) SELECT 'u' || i FROM generate_series(1, 50) i;
INSERT INTO conversations (user_id) SELECT 'u' || (1 + i % 50) FROM generate_series(1, 499) i;
INSERT INTO conversations (user_id, title) VALUES ('u1', 'big');
INSERT INTO messages (conversation_id, user_id, seq, role, content)
SELECT c.id, c.user_id, g, 'user', 'message ' || g
FROM conversations c, generate_series(1, CASE WHEN c.title = 'big' THEN {BIG} ELSE 20 END) g;
ANALYZE;
"""
Seeded = tuple[str, uuid.UUID]


@pytest.fixture(scope="module")
def seeded(make_db: Callable[[], str]) -> Seeded:
    """A database (RLS applied) with one 120k-message conversation among 499 short ones."""
    dsn = make_db()
    apply_schema(dsn, schema=CHAT_SCHEMA, rls=True)
    with connect(dsn) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(CHAT_SCHEMA)))
        conn.execute(SEED)
        row = conn.execute("SELECT id FROM conversations WHERE title = 'big'").fetchone()
    assert row is not None
    return dsn, row[0]


def captured_history_sql(dsn: str, cid: uuid.UUID, run: Run) -> tuple[str, list[Any]]:
    """The SQL text and parameters fetch_history sends (schema-qualified, $n placeholders)."""
    engine = make_engine(dsn, schema=CHAT_SCHEMA)
    seen: list[tuple[str, list[Any]]] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def keep(conn: Any, cursor: Any, statement: str, params: Any, *args: Any) -> None:
        if "messages" in statement:
            seen.append((statement, list(params)))

    run(q.fetch_history(engine, user_id="u1", conversation_id=cid))
    run(engine.dispose())
    assert len(seen) == 1
    return seen[0]


def prepare(conn: psycopg.Connection, query: str) -> None:
    """PREPARE `query` as the statement `hist`, replacing an earlier one."""
    conn.execute("DEALLOCATE ALL")
    conn.execute(sql.SQL("PREPARE hist AS {}").format(sql.SQL(query)))


def execute(conn: psycopg.Connection, params: list[Any], explain: str = "") -> Any:
    """EXECUTE hist with `params` as literals, under EXPLAIN `explain` when given."""
    args = sql.SQL(", ").join(sql.Literal(p) for p in params)
    prefix = sql.SQL(f"EXPLAIN ({explain}) " if explain else "")
    return conn.execute(sql.SQL("{}EXECUTE hist({})").format(prefix, args)).fetchall()


def explain(conn: psycopg.Connection, query: str, params: list[Any], analyze: bool = False) -> Any:
    """The JSON plan of EXECUTE of `query` prepared, with `params` as literals."""
    prepare(conn, query)
    return plan_of(execute(conn, params, "FORMAT JSON, ANALYZE" if analyze else "FORMAT JSON"))


def plan_of(rows: list[Any]) -> Any:
    """The top plan node of EXPLAIN (FORMAT JSON) output rows."""
    doc = rows[0][0]
    return (json.loads(doc) if isinstance(doc, str) else doc)[0]["Plan"]


def nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


def messages_scan(plan: dict[str, Any], generic: bool = True) -> dict[str, Any]:
    """The one scan of messages, by an index on conversation_id; no Sort anywhere."""
    assert not [n["Node Type"] for n in nodes(plan) if "Sort" in n["Node Type"]]
    scans = [n for n in nodes(plan) if n.get("Relation Name") == "messages"]
    assert len(scans) == 1
    assert scans[0]["Node Type"] == "Index Scan"
    assert ("conversation_id = $" if generic else "conversation_id = ") in scans[0]["Index Cond"]
    return scans[0]


@pytest.fixture
def generic(seeded: Seeded) -> Iterator[psycopg.Connection]:
    """A session that plans every prepared statement generically."""
    with connect(seeded[0]) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(CHAT_SCHEMA)))
        conn.execute("SET plan_cache_mode = force_generic_plan")
        yield conn


def test_query_layer_history_uses_the_history_index(seeded: Seeded, generic: Any, run: Run) -> None:
    query, params = captured_history_sql(*seeded, run)
    scan = messages_scan(explain(generic, query, params, analyze=True))
    assert scan["Index Name"] == HISTORY_INDEX and scan["Scan Direction"] == "Backward"
    assert scan["Actual Rows"] == 50  # stops after the page: no 120k-row bitmap


def test_naive_scoped_history_uses_an_index_leading_with_conversation(
    seeded: Seeded, generic: Any
) -> None:
    scan = messages_scan(explain(generic, NAIVE, [seeded[1], "u1"], analyze=True))
    assert scan["Index Name"] in (HISTORY_INDEX, SCOPED_INDEX)
    assert scan["Actual Rows"] == 50


def test_without_the_scoped_index_the_naive_query_falls_into_the_trap(
    seeded: Seeded, generic: Any
) -> None:
    with generic.transaction(force_rollback=True):
        generic.execute(f"DROP INDEX {SCOPED_INDEX}")
        plan = explain(generic, NAIVE, [seeded[1], "u1"])
        assert [n for n in nodes(plan) if n["Node Type"] == "Sort"]  # BitmapAnd + Sort


def test_history_under_rls_uses_an_index_leading_with_conversation(
    seeded: Seeded, generic: Any, run: Run
) -> None:
    query, params = captured_history_sql(*seeded, run)
    with temp_role(seeded[0]) as role:
        grant_app_role(seeded[0], role)
        with generic.transaction(force_rollback=True):
            generic.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))
            generic.execute("SELECT set_config('app.user_id', 'u1', true)")
            scan = messages_scan(explain(generic, query, params, analyze=True))
            assert scan["Actual Rows"] == 50


@pytest.mark.parametrize("form", ["query layer", "naive"])
def test_history_after_short_conversations_warmed_the_statement(
    seeded: Seeded, run: Run, form: str
) -> None:
    """plan_cache_mode auto: 8 short conversations first (PostgreSQL may then go generic)."""
    dsn, big = seeded
    query, params = (NAIVE, [big, "u1"])
    if form == "query layer":
        query, params = captured_history_sql(dsn, big, run)
    with connect(dsn) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(CHAT_SCHEMA)))
        small = conn.execute(
            "SELECT id FROM conversations WHERE user_id = 'u1' AND id <> %s LIMIT 8", [big]
        ).fetchall()
        prepare(conn, query)
        for (cid,) in small:
            execute(conn, [cid if p == big else p for p in params])
        plan = plan_of(execute(conn, params, "FORMAT JSON, ANALYZE"))
        scan = messages_scan(plan, generic=False)
        assert scan["Actual Rows"] == 50
