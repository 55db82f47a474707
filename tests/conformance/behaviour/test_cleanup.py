"""Cleanup removes exactly the harness's rows, without relying on cascades."""

from collections.abc import Callable
from typing import Any

import asyncpg
import pytest
from click.testing import CliRunner

from chatgate.dsn import parse_dsn
from conformance.access import ChatAccess, NewMessage, missing_conversation_id
from conformance.cleanup import count_rows, remove_rows
from conformance.design import Design
from conformance.tagging import RunTag, new_run_id
from tests.conformance.behaviour.support import VARIANTS, checksums, design_of, execute, run

FOREIGN = """
INSERT INTO users (id) VALUES ('00000000-0000-0000-0000-0000000000aa');
INSERT INTO conversations (id, user_id) VALUES
    ('00000000-0000-0000-0000-0000000000bb', '00000000-0000-0000-0000-0000000000aa');
INSERT INTO messages (conversation_id, user_id, seq, role, content) VALUES
    ('00000000-0000-0000-0000-0000000000bb', '00000000-0000-0000-0000-0000000000aa', 1,
     'user', 'not the harness''s');
"""


async def write_harness_rows(dsn: str, design: Design, tag: RunTag) -> None:
    """Users, conversations and messages of one run, plus an orphan message (no FK here)."""
    a = ChatAccess(design, tag)
    conn = await asyncpg.connect(parse_dsn(dsn).asyncpg_url())
    try:
        for n in (1, 2):
            user = await a.create_user(conn, n=n)
            conv = (await a.create_conversation(conn, user_id=user, title="t"))["id"]
            await a.append_turn(
                conn,
                conversation_id=conv,
                user_id=user,
                messages=[NewMessage("user", "a"), NewMessage("assistant", "b")],
            )
        await a.append_turn(
            conn,
            conversation_id=missing_conversation_id(a),
            user_id=user,
            messages=[NewMessage("user", "orphan")],
            scoped=False,
        )
    finally:
        await conn.close()


async def counts(dsn: str, design: Design, tag: RunTag | None) -> dict[str, int]:
    conn = await asyncpg.connect(parse_dsn(dsn).asyncpg_url())
    try:
        return (await count_rows(conn, design=design, tag=tag)).as_dict()
    finally:
        await conn.close()


async def remove(dsn: str, design: Design, tag: RunTag | None) -> dict[str, int]:
    conn = await asyncpg.connect(parse_dsn(dsn).asyncpg_url())
    try:
        return (await remove_rows(conn, design=design, tag=tag)).as_dict()
    finally:
        await conn.close()


@pytest.mark.db
def test_run_cleanup_without_cascade(variant_db: Callable[[str], str]) -> None:
    dsn = variant_db("b_no_fk")
    run(execute(dsn, FOREIGN))
    before = checksums(dsn)
    d = design_of(dsn)
    mine, other = RunTag(new_run_id()), RunTag(new_run_id())
    run(write_harness_rows(dsn, d, mine))
    run(write_harness_rows(dsn, d, other))
    assert run(counts(dsn, d, mine)) == {"messages": 5, "conversations": 2, "users": 2}
    assert run(remove(dsn, d, mine)) == {"messages": 5, "conversations": 2, "users": 2}
    assert run(counts(dsn, d, mine)) == {"messages": 0, "conversations": 0, "users": 0}
    assert run(counts(dsn, d, other))["messages"] == 5  # another run's rows stay its own
    assert run(remove(dsn, d, None))["users"] == 2
    assert checksums(dsn) == before


@pytest.mark.db
@pytest.mark.parametrize("variant", ["text_keys", "serial_keys", "no_users", "camel_case"])
def test_clean_command_on_key_kinds(variant: str, variant_db: Callable[[str], str]) -> None:
    import chatgate.cli.cleaning  # noqa: F401  (registers the command)
    from chatgate.cli.app import app
    from tests.variants import load

    dsn = variant_db(variant)
    options: dict[str, Any] = load(VARIANTS / f"{variant}.sql").options()
    args = [f"--map={m}" for m in options.get("map", [])]
    design = design_of(dsn, **options)
    a = ChatAccess(design, RunTag(new_run_id()))

    async def write() -> None:
        conn = await asyncpg.connect(parse_dsn(dsn).asyncpg_url())
        try:
            user = await a.create_user(conn, n=1)
            conv = (await a.create_conversation(conn, user_id=user))["id"]
            await a.append_turn(
                conn, conversation_id=conv, user_id=user, messages=[NewMessage(a.roles[0], "x")]
            )
        finally:
            await conn.close()

    run(write())
    dry = CliRunner().invoke(app, ["clean", "--dsn", dsn, "--dry-run", *args])
    assert dry.exit_code == 0, dry.output
    assert "would remove harness rows: 1 messages, 1 conversations" in dry.output
    done = CliRunner().invoke(app, ["clean", "--dsn", dsn, *args])
    assert done.exit_code == 0, done.output
    assert "removed harness rows: 1 messages, 1 conversations" in done.output
    again = CliRunner().invoke(app, ["clean", "--dsn", dsn, *args])
    assert "removed harness rows: 0 messages, 0 conversations" in again.output
