"""Timeouts and the circuit breaker: whose limit ran out; checks not run on a dead server."""

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from chatgate.errors import SetupError
from conformance import engine
from conformance.cleanup import connection_error
from conformance.context import CheckContext
from conformance.registry import REGISTRY, Outcome, check, passed
from tests.conformance.structure.helpers import apply_sql, run_checks, settings_for
from tests.variants import variants

REFERENCE = next(v for v in variants() if v.name == "reference")
RAN: list[str] = []


@pytest.fixture
def scratch() -> Iterator[None]:
    """zz_brk.first raises asyncpg-style TimeoutError; zz_brk.second records that it ran."""

    @check("zz_brk.first", "must", "a statement timeout inside the check")
    async def first(ctx: CheckContext) -> Outcome:
        raise TimeoutError

    @check("zz_brk.second", "must", "runs only when the server answers", writes=True)
    async def second(ctx: CheckContext) -> Outcome:
        RAN.append("second")
        return passed("ran")

    @check("zz_brk.slow", "must", "outlives its own limit")
    async def slow(ctx: CheckContext) -> Outcome:
        await asyncio.sleep(30)
        return passed("slept")

    RAN.clear()
    yield
    for cid in ("zz_brk.first", "zz_brk.second", "zz_brk.slow"):
        REGISTRY.pop(cid)


@pytest.mark.db
def test_statement_timeout_is_not_the_check_limit(
    empty_db: str, tmp_path: Path, scratch: None
) -> None:
    apply_sql(empty_db, REFERENCE.sql)
    result = run_checks(empty_db, settings_for(tmp_path, only="zz_brk.first,zz_brk.second"))
    first, second = result.checks
    assert first.status == "error" and "did not answer" in first.summary
    assert "timed out after" not in first.summary
    assert (second.status, RAN) == ("pass", ["second"])  # the probe found the server up


@pytest.mark.db
def test_check_limit_expiry(
    empty_db: str, tmp_path: Path, scratch: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    apply_sql(empty_db, REFERENCE.sql)
    monkeypatch.setattr(engine, "TIMEOUT_S", {"quick": 1.0})
    result = run_checks(empty_db, settings_for(tmp_path, only="zz_brk.slow", profile="quick"))
    assert (result.checks[0].status, result.checks[0].summary) == ("error", "timed out after 1 s")


@pytest.mark.db
def test_unreachable_server_stops_the_run(
    empty_db: str,
    tmp_path: Path,
    scratch: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    apply_sql(empty_db, REFERENCE.sql)

    async def hung(target: object) -> Exception:
        return TimeoutError()

    monkeypatch.setattr(engine, "unreachable", hung)
    result = run_checks(empty_db, settings_for(tmp_path, only="zz_brk.first,zz_brk.second"))
    second = result.checks[1]
    assert (second.status, RAN) == ("error", [])
    assert second.summary == "not run: server unreachable after zz_brk.first"
    assert "could not clean up" in capsys.readouterr().err  # hung: no final pass attempted


def test_connection_errors_are_retried_but_hangs_are_not() -> None:
    try:
        try:
            raise ConnectionRefusedError("refused")
        except OSError:
            raise SetupError("cannot connect") from None
    except SetupError as wrapped:
        assert connection_error(wrapped)
    assert connection_error(ConnectionResetError())
    assert not connection_error(TimeoutError())
    assert not connection_error(RuntimeError("boom"))
