"""The load users' SQL works on every schema variant discovery accepts, and cleans up."""

import asyncio
import shlex
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from chatgate.dsn import parse_dsn
from chatgate.options import build_settings
from chatgate.target import Target
from conformance.tagging import RunTag, new_run_id
from loadtests.chatops import ChatOps, NotOwned, allowed_role
from loadtests.chatsql import cleanup_statements, user_kind
from loadtests.designfile import design_from_json, design_to_json, discover_design

VARIANTS = Path(__file__).parents[1] / "variants"
# What a variant needs beyond its own `-- args:` lines to be writable.
EXTRA = {
    "extra_columns": (
        ["--fill", "messages.model_id=(SELECT min(id) FROM models)"],
        "INSERT INTO models VALUES (1)",
    ),
}


# Variants broken on purpose, and how the load users' write path notices.
BROKEN = {"b_owner_trigger": NotOwned}


def variant_args(path: Path) -> list[str]:
    """The CLI arguments a variant file declares in `-- args:` lines."""
    lines = [
        ln[len("-- args:") :] for ln in path.read_text().splitlines() if ln.startswith("-- args:")
    ]
    return shlex.split(" ".join(lines))


def settings_for(args: list[str]) -> dict[str, list[str] | str]:
    values: dict[str, list[str] | str] = {"map": [], "fill": []}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        key = flag.lstrip("-").replace("-", "_")
        if key in ("map", "fill"):
            values[key].append(value)  # type: ignore[union-attr]
        else:
            values[key] = value
    return values


def conn_of(dsn: str) -> psycopg.Connection:
    return psycopg.connect(
        parse_dsn(dsn).psycopg_conninfo(), autocommit=True, cursor_factory=psycopg.RawCursor
    )


def test_allowed_role() -> None:
    assert allowed_role("user", None) == "user"
    assert allowed_role("assistant", ("system", "human", "ai")) == "ai"
    assert allowed_role("user", ("system", "human", "ai")) == "human"


@pytest.mark.db
@pytest.mark.parametrize("variant", sorted(p.stem for p in VARIANTS.glob("*.sql")))
def test_chat_operations_on_variant(variant: str, make_db: Callable[[], str]) -> None:
    path = VARIANTS / f"{variant}.sql"
    extra_args, extra_sql = EXTRA.get(variant, ([], ""))
    dsn = make_db()
    with conn_of(dsn) as conn:
        conn.execute(path.read_text())
        if extra_sql:
            conn.execute(extra_sql)
    settings = build_settings(settings_for(variant_args(path) + extra_args))
    with Target("dsn", parse_dsn(dsn)) as target:
        design, _ = asyncio.run(discover_design(target, settings))
    design = design_from_json(design_to_json(design))  # what Locust processes read
    tag = RunTag(new_run_id())
    me = ChatOps(design, tag.user_id(1, user_kind(design)))
    other = ChatOps(design, tag.user_id(2, user_kind(design)))
    with conn_of(dsn) as conn:
        if variant in BROKEN:
            with pytest.raises(BROKEN[variant]):
                me.setup(conn)
                other.setup(conn)
            return
        me.setup(conn)
        other.setup(conn)
        conv = me.new_conversation(conn)
        for i in range(3):
            me.append(conn, conv, "user" if i % 2 == 0 else "assistant", f"turn {i}")
        assert me.open(conn, conv) == 1
        assert me.history(conn, conv) == 3
        assert me.history(conn, me.conversations[0]) == 20
        assert me.recent(conn) == 3
        assert other.open(conn, conv) == 0 and other.history(conn, conv) == 0
        with pytest.raises(NotOwned):
            other.append(conn, conv, "user")
        for sql, params in cleanup_statements(design, tag):
            conn.execute(sql, params)
        assert me.recent(conn) == 0 and other.recent(conn) == 0


@pytest.mark.db
def test_chat_operations_under_forced_rls(make_db: Callable[[], str]) -> None:
    """With RLS forced and a role that does not bypass it, the user's id is set per transaction."""
    from chatgate.reference import ensure_reference_schema

    dsn = make_db()
    ensure_reference_schema(Target("dsn", parse_dsn(dsn)), rls=True)
    role = f"cg_load_{new_run_id()}"
    with conn_of(dsn) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN NOBYPASSRLS")
        conn.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}")
    try:
        with Target("dsn", parse_dsn(dsn)) as target:
            design, _ = asyncio.run(discover_design(target, build_settings({})))
        tag = RunTag(new_run_id())
        me = ChatOps(design, tag.user_id(1, user_kind(design)))
        assert me.rls_setting == "app.user_id"
        with conn_of(parse_dsn(dsn).with_params(user=role).url()) as conn:
            me.setup(conn)
            conv = me.conversations[0]
            assert me.history(conn, conv) == 20 and me.recent(conn) == 2
            unscoped = ChatOps(design, me.user_id, rls_setting=None)
            assert unscoped.history(conn, conv) == 0  # fail closed without the setting
        with conn_of(dsn) as conn:  # the owner (superuser) removes the run's rows
            for sql, params in cleanup_statements(design, tag):
                conn.execute(sql, params)
    finally:
        with conn_of(dsn) as conn:
            conn.execute(f"DROP OWNED BY {role}")
            conn.execute(f"DROP ROLE {role}")
