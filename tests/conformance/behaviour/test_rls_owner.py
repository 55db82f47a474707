"""The checks and cleanup work when the connecting role is itself subject to RLS (FORCE)."""

import uuid
from collections.abc import Callable

import pytest

from chatgate.dsn import parse_dsn
from tests.conformance.behaviour.support import (
    BEHAVIOUR_IDS,
    VARIANTS,
    execute,
    harness_rows,
    run,
    run_checks,
)

FORCE = """
ALTER TABLE conversations FORCE ROW LEVEL SECURITY;
ALTER TABLE messages FORCE ROW LEVEL SECURITY;
"""
NO_CASCADE = """
ALTER TABLE conversations DROP CONSTRAINT conversations_user_id_fkey;
ALTER TABLE conversations ADD FOREIGN KEY (user_id) REFERENCES users;
"""


@pytest.mark.db
@pytest.mark.parametrize("cascade", [True, False], ids=["cascade", "no_user_cascade"])
def test_forced_rls_owner(make_db: Callable[[], str], cascade: bool) -> None:
    admin = make_db()
    role = f"cg_owner_{uuid.uuid4().hex[:8]}"
    run(
        execute(admin, f"CREATE ROLE {role} LOGIN CREATEROLE; GRANT ALL ON SCHEMA public TO {role}")
    )
    owner = parse_dsn(admin).with_params(user=role).url()
    try:
        body = (VARIANTS / "b_rls.sql").read_text() + FORCE + ("" if cascade else NO_CASCADE)
        run(execute(owner, body))
        results = run_checks(owner, profile="quick", seed=7)
        want = dict.fromkeys(BEHAVIOUR_IDS, "pass")
        if not cascade:
            want["cascade.user_delete"] = "fail"
        got = {cid: r.status for cid, r in results.items()}
        assert got == want, {c: r.summary for c, r in results.items() if got[c] != want[c]}
        assert run(harness_rows(admin)) == 0  # counted as the superuser: nothing left
    finally:
        run(
            execute(
                admin,
                f"REASSIGN OWNED BY {role} TO CURRENT_USER; DROP OWNED BY {role}; DROP ROLE {role}",
            )
        )
