"""The reference schema passes every must and should behavioural check."""

import time
from collections.abc import Callable

import pytest

from tests.conformance.behaviour.support import BEHAVIOUR_IDS, run_checks

QUICK_BUDGET_S = 15.0


@pytest.mark.db
@pytest.mark.parametrize("rls", [False, True], ids=["plain", "rls"])
def test_reference_passes_at_quick(reference_db: Callable[..., str], rls: bool) -> None:
    dsn = reference_db(rls=rls)
    t0 = time.perf_counter()
    results = run_checks(dsn, profile="quick")
    elapsed = time.perf_counter() - t0
    want = {cid: "pass" for cid in BEHAVIOUR_IDS}
    if not rls:
        want["isolation.rls"] = "skip"
    assert {cid: r.status for cid, r in results.items()} == want, {
        cid: r.summary for cid, r in results.items() if r.status != want[cid]
    }
    assert elapsed < QUICK_BUDGET_S


@pytest.mark.db
def test_reference_passes_at_ci(reference_db: Callable[..., str]) -> None:
    dsn = reference_db(rls=True)
    t0 = time.perf_counter()
    results = run_checks(dsn, profile="ci")
    assert all(r.status == "pass" for r in results.values()), {
        cid: r.summary for cid, r in results.items() if r.status != "pass"
    }
    assert time.perf_counter() - t0 < 60.0
