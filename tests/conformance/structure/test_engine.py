"""The engine: error capture, --read-only, --only, unfillable columns, baselines, timing."""

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from chatgate.dsn import parse_dsn
from chatgate.errors import SetupError
from chatgate.target import Target
from conformance import engine
from conformance.context import CheckContext
from conformance.registry import REGISTRY, Check, Outcome, check, passed
from conformance.snapshot import take_snapshot
from tests.conformance.structure.helpers import apply_sql, run_checks, settings_for, statuses
from tests.variants import variants

REFERENCE = next(v for v in variants() if v.name == "reference")
EXTRA = next(v for v in variants() if v.name == "extra_columns")


@pytest.fixture
def scratch_checks() -> Iterator[None]:
    """Register two throw-away checks (one raising, one writing) for the duration of a test."""

    @check("zz_scratch.raises", "must", "always raises")
    async def raises(ctx: CheckContext) -> Outcome:
        raise RuntimeError("boom\nsecond line")

    @check("zz_scratch.writes", "must", "inserts a row", writes=True)
    async def writes(ctx: CheckContext) -> Outcome:
        conn = await ctx.target.connect()
        try:
            await conn.execute("CREATE TABLE zz_scratch_written (id int)")
        finally:
            await conn.close()
        return passed("wrote")

    yield
    REGISTRY.pop("zz_scratch.raises")
    REGISTRY.pop("zz_scratch.writes")


@pytest.mark.db
def test_exceptions_become_one_line_errors(
    empty_db: str, tmp_path: Path, scratch_checks: None
) -> None:
    apply_sql(empty_db, REFERENCE.sql)
    result = run_checks(empty_db, settings_for(tmp_path, only="zz_scratch.raises"))
    [res] = result.checks
    assert (res.status, res.summary) == ("error", "RuntimeError: boom second line")
    assert result.exit_code == 1


@pytest.mark.db
def test_read_only_skips_writing_checks(
    empty_db: str, tmp_path: Path, scratch_checks: None
) -> None:
    apply_sql(empty_db, REFERENCE.sql)
    result = run_checks(empty_db, settings_for(tmp_path, only="zz_scratch.writes", read_only=True))
    assert [(c.status, c.summary) for c in result.checks] == [("skip", engine.READ_ONLY_REASON)]


@pytest.mark.db
def test_unfillable_column_errors_writing_checks_only(
    empty_db: str, tmp_path: Path, scratch_checks: None
) -> None:
    apply_sql(empty_db, EXTRA.sql)
    result = run_checks(empty_db, settings_for(tmp_path, only="zz_scratch,structure.tables"))
    by_id = {c.id: c for c in result.checks}
    assert by_id["structure.tables"].status == "pass"
    writer = by_id["zz_scratch.writes"]
    assert writer.status == "error"
    assert "messages.model_id" in writer.summary
    assert "--fill messages.model_id=SQL_EXPRESSION" in writer.summary
    fixed = run_checks(
        empty_db, settings_for(tmp_path, only="zz_scratch.writes", fill=["messages.model_id=1"])
    )
    assert fixed.checks[0].status == "pass"


@pytest.mark.db
def test_only_prefixes_and_catalogue_order(empty_db: str, tmp_path: Path) -> None:
    apply_sql(empty_db, REFERENCE.sql)
    result = run_checks(empty_db, settings_for(tmp_path, only="structure.owner,perf"))
    assert [c.id for c in result.checks] == [
        "structure.owner_index",
        "structure.owner_fk",
        "perf.history_plan",
    ]


@pytest.mark.db
def test_result_sections(empty_db: str, tmp_path: Path) -> None:
    apply_sql(empty_db, REFERENCE.sql)
    dsn = parse_dsn(empty_db).with_params(password="s3cret-pw").url()
    result = asyncio.run(
        engine.check_target(Target("dsn", parse_dsn(dsn)), settings_for(tmp_path, only="structure"))
    )
    data = result.to_dict()
    assert data["format"] == "chatgate-result" and data["verdict"] == "pass"
    assert "s3cret-pw" not in str(data) and "***" in data["target"]["dsn"]
    assert data["target"]["server_version"] and data["target"]["tls"] is False
    assert data["discovery"]["order_key"] == ("seq",)
    assert data["discovery"]["snapshot"]["tables"] == 3
    assert set(data["harness"]) >= {"chatgate", "git_commit", "python", "command_line"}


@pytest.mark.db
def test_missing_tables_is_a_setup_error(empty_db: str, tmp_path: Path) -> None:
    apply_sql(
        empty_db,
        "CREATE SCHEMA app; CREATE TABLE app.conversations (id int);"
        "CREATE TABLE app.messages (id int);",
    )
    with pytest.raises(SetupError, match=r"found in: app"):
        run_checks(empty_db, settings_for(tmp_path))
    ok = run_checks(empty_db, settings_for(tmp_path, schema="app", only="structure.tables"))
    assert ok.checks[0].status == "pass"


@pytest.mark.db
def test_structural_run_is_fast(empty_db: str, tmp_path: Path) -> None:
    apply_sql(empty_db, REFERENCE.sql)
    t0 = time.perf_counter()
    result = run_checks(empty_db, settings_for(tmp_path, only="structure,perf.history_plan"))
    assert time.perf_counter() - t0 < 3.0
    assert result.verdict == "pass"


@pytest.mark.db
def test_read_only_run_as_a_role_that_cannot_write(empty_db: str, tmp_path: Path) -> None:
    """The whole --read-only catalogue runs as a role with SELECT only, in read-only sessions."""
    apply_sql(empty_db, REFERENCE.sql)
    role = f"cg_ro_{uuid.uuid4().hex[:8]}"
    db = parse_dsn(empty_db).params["dbname"]
    apply_sql(
        empty_db,
        f"""
        CREATE ROLE {role} LOGIN;
        ALTER ROLE {role} SET default_transaction_read_only = on;
        GRANT CONNECT ON DATABASE "{db}" TO {role};
        GRANT USAGE ON SCHEMA public TO {role};
        GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role};""",
    )
    before = _row_counts(empty_db)
    try:
        ro = parse_dsn(empty_db).with_params(user=role, password=None).url()
        result = run_checks(ro, settings_for(tmp_path, read_only=True))
        assert {c.status for c in result.checks} <= {"pass", "skip"}, statuses(result, ("",))
        writers = [c for c in result.checks if engine_check(c.id).writes]
        assert all(c.status == "skip" for c in writers)
    finally:
        apply_sql(empty_db, f"DROP OWNED BY {role}; DROP ROLE {role};")
    assert _row_counts(empty_db) == before


def engine_check(check_id: str) -> Check:
    return REGISTRY[check_id]


def _row_counts(dsn: str) -> dict[str, int]:
    async def go() -> dict[str, int]:
        conn = await asyncpg.connect(parse_dsn(dsn).asyncpg_url())
        try:
            snap = await take_snapshot(conn, schemas=["public"])
            return {
                t.name: await conn.fetchval(f'SELECT count(*) FROM "{t.name}"') for t in snap.tables
            }
        finally:
            await conn.close()

    return asyncio.run(go())


@pytest.mark.db
def test_only_prefix_that_matches_nothing_is_a_setup_error(empty_db: str, tmp_path: Path) -> None:
    apply_sql(empty_db, REFERENCE.sql)
    with pytest.raises(SetupError, match="--only bogus selects no check"):
        run_checks(empty_db, settings_for(tmp_path, only="structure,bogus"))
