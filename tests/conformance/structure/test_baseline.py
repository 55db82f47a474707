"""structure.protected_tables against a `chatgate snapshot` baseline."""

import asyncio
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from chatgate.dsn import parse_dsn
from conformance.snapshot import take_snapshot
from tests.conformance.structure.helpers import apply_sql, run_checks, settings_for
from tests.variants import variants

REFERENCE = next(v for v in variants() if v.name == "reference")
AUDIT = "CREATE TABLE audit_log (id bigint PRIMARY KEY, what text NOT NULL);"


def snapshot_to(dsn: str, path: Path) -> Path:
    async def go() -> Path:
        conn = await asyncpg.connect(parse_dsn(dsn).asyncpg_url())
        try:
            return (await take_snapshot(conn)).write(path)
        finally:
            await conn.close()

    return asyncio.run(go())


def protected(dsn: str, tmp: Path, baseline: Path | None) -> tuple[str, str, dict[str, Any]]:
    result = run_checks(
        dsn, settings_for(tmp, only="structure.protected_tables", baseline=baseline)
    )
    c = result.checks[0]
    return c.status, c.summary, c.details


@pytest.mark.db
def test_without_baseline_it_skips(empty_db: str, tmp_path: Path) -> None:
    apply_sql(empty_db, REFERENCE.sql)
    assert protected(empty_db, tmp_path, None)[0] == "skip"


@pytest.mark.db
def test_changes_to_chat_tables_only_pass(empty_db: str, tmp_path: Path) -> None:
    apply_sql(empty_db, REFERENCE.sql + AUDIT)
    base = snapshot_to(empty_db, tmp_path / "base.json")
    apply_sql(
        empty_db,
        "ALTER TABLE messages ADD COLUMN tokens int;"
        "CREATE INDEX messages_created ON messages (created_at);",
    )
    status, _, details = protected(empty_db, tmp_path, base)
    assert status == "pass"
    assert details["changes"] == [
        "column public.messages.tokens added",
        "index public.messages.messages_created added",
    ]


@pytest.mark.db
def test_other_tables_and_lost_must_checks_fail(empty_db: str, tmp_path: Path) -> None:
    apply_sql(empty_db, REFERENCE.sql + AUDIT)
    base = snapshot_to(empty_db, tmp_path / "base.json")
    apply_sql(
        empty_db,
        "ALTER TABLE audit_log ALTER COLUMN what DROP NOT NULL;"
        "DROP INDEX conversations_user_recent;",
    )
    status, summary, details = protected(empty_db, tmp_path, base)
    assert status == "fail"
    assert "outside the chat tables" in summary and "structure.owner_index" in summary
    assert details["outside_chat_tables"] == [
        "column public.audit_log.what changed: nullable=False -> nullable=True"
    ]
    assert list(details["regressed"]) == ["structure.owner_index"]
    assert "index public.conversations.conversations_user_recent removed" in details["changes"]
