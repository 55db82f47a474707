"""The temporary RLS probe role exists only inside the probe's rolled-back transaction."""

from collections.abc import Callable
from typing import Any

import pytest

from conformance import rls
from tests.conformance.behaviour.support import fetch, run, run_checks

ROLE_SQL = "SELECT count(*) FROM pg_roles WHERE rolname = $1"


@pytest.mark.db
def test_temporary_rls_role_is_never_committed(
    reference_db: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Mid-probe the role is invisible to other sessions, so kill -9 cannot leave it behind."""
    dsn = reference_db(rls=True)
    seen: dict[str, Any] = {}
    real = rls.bypass_reason

    async def spy(conn: Any, design: Any, role: str) -> str | None:
        seen["role"] = role
        seen["inside"] = await conn.fetchval(ROLE_SQL, role)
        seen["outside"] = (await fetch(dsn, ROLE_SQL, role))[0][0]
        return await real(conn, design, role)

    monkeypatch.setattr(rls, "bypass_reason", spy)
    [result] = run_checks(dsn, ("isolation.rls",), profile="quick", seed=7).values()
    assert result.status == "pass", result.summary
    assert seen["role"].startswith("cg_rls_")
    assert (seen["inside"], seen["outside"]) == (1, 0)
    assert run(fetch(dsn, ROLE_SQL, seen["role"]))[0][0] == 0
