"""Every variant schema gets its expected behavioural verdicts (the checks adapt to the design).

Behaviour-defect variants (`b_*.sql`) state their verdicts in `-- behaviour:` header lines; the
structure variants' behavioural verdicts are listed here. Checks not named must pass, except
isolation.rls, which skips where RLS is off.
"""

import time
from collections.abc import Callable

import pytest

from tests.conformance.behaviour.support import (
    BEHAVIOUR_IDS,
    VARIANTS,
    behaviour_expectations,
    run_checks,
)
from tests.variants import load

SEED = 20261122
WRITES_ERROR = dict.fromkeys(BEHAVIOUR_IDS, "error")  # an unfillable required column
STRUCTURE_VARIANTS: dict[str, dict[str, str]] = {
    "reference": {},
    "camel_case": {},
    "no_message_user": {},
    "no_users": {"cascade.user_delete": "skip"},
    "naive_timestamps": {"time.session_timezone": "fail"},
    "no_cascade": {"cascade.conversation_delete": "fail", "cascade.user_delete": "fail"},
    "other_names": {"isolation.owner_consistency": "fail"},
    "timestamp_order": {
        "ordering.history_order": "fail",
        "ordering.concurrent_appends": "fail",
        "ordering.visible_prefix": "fail",
    },
    "partitioned": {},
    "serial_keys": {},
    "text_keys": {},
    "role_enum": {},
    "no_role_check": {},
    "generic_plan_trap": {},
    "partial_invalid_index": {},
    "extra_columns": WRITES_ERROR,
}
DEFAULT_SUITE = {
    "reference",
    "camel_case",
    "no_message_user",
    "no_users",
    "naive_timestamps",
    "no_cascade",
    "timestamp_order",
    "partitioned",
    "text_keys",
}
B_VARIANTS = sorted(p.stem for p in VARIANTS.glob("b_*.sql"))


def expected(name: str) -> dict[str, str]:
    want = dict.fromkeys(BEHAVIOUR_IDS, "pass")
    want["isolation.rls"] = "skip"
    want.update(STRUCTURE_VARIANTS.get(name) or behaviour_expectations(name))
    return want


def params() -> list[object]:
    out: list[object] = []
    for name in [*B_VARIANTS, *STRUCTURE_VARIANTS]:
        slow = not name.startswith("b_") and name not in DEFAULT_SUITE
        marks = [pytest.mark.slow] if slow else []
        out.append(pytest.param(name, marks=marks, id=name))
    return out


@pytest.mark.db
@pytest.mark.parametrize("name", params())
def test_variant_behaviour(name: str, variant_db: Callable[[str], str]) -> None:
    dsn = variant_db(name)
    options = load(VARIANTS / f"{name}.sql").options()
    t0 = time.perf_counter()
    results = run_checks(dsn, profile="quick", seed=SEED, **options)
    got = {cid: r.status for cid, r in results.items()}
    want = expected(name)
    wrong = {
        cid: (want[cid], got[cid], results[cid].summary)
        for cid in BEHAVIOUR_IDS
        if got[cid] != want[cid]
    }
    assert not wrong, wrong
    assert time.perf_counter() - t0 < 30.0  # generous: CI machines are shared
