"""Data safety under stress: 100,000 pre-existing chat rows (ordinary user ids, not harness
tagged) plus unrelated tables; a full run interrupted with SIGINT, and one killed with SIGKILL
(then `chatgate clean`), leave every pre-existing row byte-identical and no harness row.
"""

import contextlib
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import psycopg
import pytest

from chatgate.dsn import parse_dsn
from tests.hardening.conftest import (
    apply_reference,
    checksums,
    clean_rows,
    finish,
    harness_rows,
    minimal_args,
    registered,
    start_cli,
    wait_for,
)

pytestmark = [pytest.mark.db, pytest.mark.slow]

USERS, CONVERSATIONS, MESSAGES = 1_000, 9_000, 90_000  # 100,000 rows
TABLES = [
    "public.users",
    "public.conversations",
    "public.messages",
    "public.tasks",
    "billing.invoices",
    "public.audit_log",
]


def fill_production_like(dsn: str) -> None:
    """Ordinary rows: user ids like an app's, conversations, messages, unrelated tables."""
    with psycopg.connect(parse_dsn(dsn).psycopg_conninfo(), autocommit=True) as conn:
        conn.execute(
            f"INSERT INTO users (id, created_at) SELECT 'usr_' || lpad(g::text, 6, '0'), "
            f"timestamptz '2024-01-01' + g * interval '1 minute' "
            f"FROM generate_series(1, {USERS}) g"
        )
        conn.execute(
            f"INSERT INTO conversations (id, user_id, title, created_at, updated_at) "
            f"SELECT md5('c' || g)::uuid, 'usr_' || lpad((g % {USERS} + 1)::text, 6, '0'), "
            f"'conversation ' || g, timestamptz '2024-02-01' + g * interval '1 second', "
            f"timestamptz '2024-03-01' + g * interval '1 second' "
            f"FROM generate_series(1, {CONVERSATIONS}) g"
        )
        per = MESSAGES // CONVERSATIONS
        conn.execute(
            f"INSERT INTO messages (id, conversation_id, user_id, seq, role, content, created_at) "
            f"SELECT md5('m' || c.title || s)::uuid, c.id, c.user_id, s, "
            f"CASE WHEN s % 2 = 0 THEN 'assistant' ELSE 'user' END, "
            f"repeat('lorem ipsum ', 1 + s % 7) || c.title, c.created_at + s * interval '1 second' "
            f"FROM conversations c, generate_series(1, {per}) s"
        )
        conn.execute("CREATE SCHEMA billing")
        conn.execute(
            "CREATE TABLE billing.invoices (id bigint PRIMARY KEY, user_id text REFERENCES "
            "users(id), amount numeric(10,2) NOT NULL, issued date NOT NULL)"
        )
        conn.execute(
            f"INSERT INTO billing.invoices SELECT g, 'usr_' || lpad((g % {USERS} + 1)::text, "
            f"6, '0'), g * 1.25, date '2024-01-01' + g FROM generate_series(1, 1000) g"
        )
        conn.execute("CREATE TABLE audit_log (id serial PRIMARY KEY, what text, at timestamptz)")
        conn.execute(
            "INSERT INTO audit_log (what, at) SELECT 'event ' || g, "
            "timestamptz '2024-01-01' + g * interval '1 hour' FROM generate_series(1, 2000) g"
        )
        conn.execute("ANALYZE")


@pytest.fixture(scope="module")
def prod_db(pg_dbs: Callable[[], str]) -> str:
    dsn = pg_dbs()
    apply_reference(dsn)
    fill_production_like(dsn)
    return dsn


def full_run_args(dsn: str, tmp: Path) -> list[list[str]]:
    """`run` when registered, else check + bench (whatever exists)."""
    if "run" in registered():
        return [["run", "--dsn", dsn, *minimal_args("run", tmp)]]
    return [
        [c, "--dsn", dsn, *minimal_args(c, tmp)] for c in ("check", "bench") if c in registered()
    ]


def total_rows(dsn: str) -> int:
    return sum(v for k, v in harness_rows(dsn).items() if k != "messages_of_harness_conversations")


def descendants(pid: int) -> list[psutil.Process]:
    with contextlib.suppress(psutil.Error):
        return list(psutil.Process(pid).children(recursive=True))
    return []


def test_row_counts_are_as_intended(prod_db: str) -> None:
    counts = checksums(prod_db, ["public.users", "public.conversations", "public.messages"])
    assert sum(n for n, _ in counts.values()) == USERS + CONVERSATIONS + MESSAGES


@pytest.mark.parametrize("sig", ["SIGINT", "SIGKILL"])
def test_interrupted_full_run_leaves_data_intact(sig: str, prod_db: str, tmp_path: Path) -> None:
    before = checksums(prod_db, TABLES)
    steps = full_run_args(prod_db, tmp_path)
    if not steps:
        pytest.skip("neither run nor check/bench is registered")
    for args in steps:
        t0 = time.monotonic()
        proc = start_cli(args, cwd=tmp_path)
        try:
            wait_for(lambda: total_rows(prod_db) > 0, 120, "harness rows to appear", step=0.1)
        except AssertionError:
            run = finish(proc, args, t0, 300)
            pytest.fail(f"no harness rows ever appeared\n{run}")
        time.sleep(0.5)
        children = descendants(proc.pid)
        if sig == "SIGINT":
            os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: the whole foreground group
            run = finish(proc, args, t0, 120)
            assert "Traceback" not in run.out + run.err, str(run)
            assert run.rc in (1, 2, 130), str(run)
            left = harness_rows(prod_db)
            assert not any(left.values()), f"Ctrl-C left harness rows: {left}\n{run}"
        else:
            proc.send_signal(signal.SIGKILL)  # kill -9 of the chatgate process only
            finish(proc, args, t0, 30)
            orphans = [p for p in children if p.is_running()]
            clean_rows(prod_db, tmp_path)
            # whatever chatgate started must not outlive it and write after the clean
            gone, alive = psutil.wait_procs(orphans, timeout=30)
            for p in alive:
                with contextlib.suppress(psutil.Error):
                    p.kill()
            assert not alive, f"processes outlived kill -9 by 30 s: {[p.pid for p in alive]}"
            if gone:
                clean_rows(prod_db, tmp_path)
            left = harness_rows(prod_db)
            assert not any(left.values()), f"rows left after kill -9 and clean: {left}"
    assert checksums(prod_db, TABLES) == before, "pre-existing rows changed"


def test_killed_load_run_does_not_write_after_clean(prod_db: str, tmp_path: Path) -> None:
    """kill -9 of `chatgate load`: its Locust processes must not outlive it for long, or they
    write rows after `chatgate clean` has run."""
    if "load" not in registered():
        pytest.skip("no load command")
    before = checksums(prod_db, TABLES)
    args = ["load", "--dsn", prod_db, "--users", "4", "--duration", "8s", "--think", "0.05"]
    t0 = time.monotonic()
    proc = start_cli(args, cwd=tmp_path)
    wait_for(lambda: total_rows(prod_db) > 0, 120, "harness rows to appear", step=0.1)
    children = descendants(proc.pid)
    proc.send_signal(signal.SIGKILL)
    finish(proc, args, t0, 30)
    killed = time.monotonic()
    clean_rows(prod_db, tmp_path)
    orphans = [p for p in children if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    # Locust runs on in its own session until its -t; it must remove what it wrote then
    _, alive = psutil.wait_procs(orphans, timeout=60)
    lived = time.monotonic() - killed
    for p in alive:
        with contextlib.suppress(psutil.Error):
            p.kill()
    left = harness_rows(prod_db)
    print(f"{len(orphans)} Locust process(es) outlived kill -9 by {lived:.0f} s; left {left}")
    assert not alive, f"Locust still ran 60 s after kill -9 of chatgate: {alive}"
    assert not any(left.values()), f"rows written after `chatgate clean` were left: {left}"
    assert checksums(prod_db, TABLES) == before, "pre-existing rows changed"
