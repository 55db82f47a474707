"""Data safety: harness rows carry the run's mark and go away; nothing else is ever touched."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

import pytest

from tests.conformance.behaviour.support import (
    checksums,
    execute,
    harness_rows,
    run,
    run_checks,
)

CLI = (
    "import chatgate.cli.checking, chatgate.cli.cleaning\n"
    "from chatgate.cli import main\n"
    "from conformance.cleanup import sigterm_as_interrupt\n"
    "with sigterm_as_interrupt():\n"
    "    main()"
)
PREEXISTING = """
INSERT INTO users (id) SELECT gen_random_uuid() FROM generate_series(1, 100);
INSERT INTO conversations (user_id, title)
    SELECT u.id, 'real ' || g FROM users u, generate_series(1, 9) g;
INSERT INTO messages (conversation_id, user_id, seq, role, content)
    SELECT c.id, c.user_id, g, CASE WHEN g % 2 = 0 THEN 'assistant' ELSE 'user' END,
           'real message ' || g
    FROM conversations c, generate_series(1, 10) g;
"""  # 100 users + 900 conversations + 9,000 messages = 10,000 rows


def seeded(make: Callable[..., str]) -> str:
    dsn = make()
    run(execute(dsn, PREEXISTING))
    return dsn


def cli(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-c", CLI, *args],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def wait_for_rows(dsn: str, proc: subprocess.Popen[str], timeout: float = 60.0) -> int:
    """Poll until the running command has written harness rows."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[0]
        if n := run(harness_rows(dsn)):
            return n
        time.sleep(0.05)
    raise AssertionError("the check wrote no harness rows in time")


@pytest.mark.db
def test_full_check_leaves_preexisting_rows_untouched(reference_db: Callable[..., str]) -> None:
    dsn = seeded(reference_db)
    before = checksums(dsn)
    from conformance.engine import import_checks
    from conformance.registry import REGISTRY

    import_checks()
    ids = tuple(c for c in REGISTRY if not c.startswith("perf.") or c == "perf.history_plan")
    results = run_checks(dsn, ids, profile="quick")
    assert all(r.status in ("pass", "skip") for r in results.values()), {
        c: r.summary for c, r in results.items() if r.status not in ("pass", "skip")
    }
    assert checksums(dsn) == before
    assert run(harness_rows(dsn)) == 0
    assert sum(int(n) for n in run_count(dsn)) == 10_000


def run_count(dsn: str) -> list[int]:
    from tests.conformance.behaviour.support import fetch

    sql = (
        "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM conversations), "
        "(SELECT count(*) FROM messages)"
    )
    return list(run(fetch(dsn, sql))[0])


@pytest.mark.db
@pytest.mark.slow
def test_sigint_cleans_up(reference_db: Callable[..., str]) -> None:
    dsn = seeded(reference_db)
    before = checksums(dsn)
    proc = cli("check", "--dsn", dsn, "--profile", "thorough", "--only", "isolation,cascade")
    wait_for_rows(dsn, proc)
    proc.send_signal(signal.SIGINT)
    out = proc.communicate(timeout=90)[0]
    assert proc.returncode == 130, out
    assert run(harness_rows(dsn)) == 0, out
    assert checksums(dsn) == before


@pytest.mark.db
@pytest.mark.slow
def test_sigterm_cleans_up(reference_db: Callable[..., str]) -> None:
    dsn = seeded(reference_db)
    before = checksums(dsn)
    proc = cli("check", "--dsn", dsn, "--profile", "thorough", "--only", "ordering,cascade")
    wait_for_rows(dsn, proc)
    proc.send_signal(signal.SIGTERM)
    out = proc.communicate(timeout=90)[0]
    assert proc.returncode == 130, out
    assert run(harness_rows(dsn)) == 0, out
    assert checksums(dsn) == before


@pytest.mark.db
@pytest.mark.slow
def test_clean_after_sigkill(reference_db: Callable[..., str]) -> None:
    dsn = seeded(reference_db)
    before = checksums(dsn)
    left = 0
    for _ in range(5):  # the kill may land just after a per-example cleanup: try again
        proc = cli("check", "--dsn", dsn, "--profile", "thorough", "--only", "ordering.history")
        wait_for_rows(dsn, proc)
        proc.kill()
        proc.communicate(timeout=30)
        if left := run(harness_rows(dsn)):
            break
    cleaner = cli("clean", "--dsn", dsn)
    out = cleaner.communicate(timeout=60)[0]
    assert cleaner.returncode == 0, out
    assert "removed harness rows" in out
    assert run(harness_rows(dsn)) == 0
    assert checksums(dsn) == before
    assert left > 0  # the kill left rows behind; clean removed them
