"""A Neon-like stack per test module: free loopback ports, 20 ms RTT, 3 s scale-to-zero."""

import random
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import pytest

from chatgate.neon import NeonStack, missing
from chatgate.neon.server import port_free

RTT_MS = 20.0
SUSPEND_S = 3.0


def free_port_base() -> int:
    """A port N with N..N+3 free on 127.0.0.1."""
    for _ in range(200):
        base = random.randrange(20000, 60000)
        if all(port_free(p) for p in range(base, base + 4)):
            return base
    raise RuntimeError("no four consecutive free ports")


def state_dir() -> Path:
    """A 0755 directory the `postgres` user can reach (pytest's tmp_path is 0700)."""
    path = Path(tempfile.mkdtemp(prefix="cg-neon-", dir="/tmp"))
    path.chmod(0o755)
    return path


def leftovers(base: Path) -> list[str]:
    """Processes still running from a stack directory (postgres, pgbouncer, daemon)."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmd = " ".join(proc.info["cmdline"] or [])
        if str(base) in cmd:
            found.append(f"{proc.pid}: {cmd}")
    return found


@contextmanager
def running_stack(*, rtt_ms: float, suspend_after: float) -> Iterator[NeonStack]:
    """Start a stack in a fresh directory; stop it and prove nothing is left running."""
    reason = missing()
    if reason:
        pytest.skip(reason)
    base = state_dir()
    neon = NeonStack(base / "neon")
    try:
        neon.start(rtt_ms=rtt_ms, suspend_after=suspend_after, port_base=free_port_base())
        yield neon
    finally:
        neon.stop()
        time.sleep(0.2)
        left = leftovers(base)
        shutil.rmtree(base, ignore_errors=True)
        assert not left, f"processes left running: {left}"


@pytest.fixture(scope="module")
def stack() -> Iterator[NeonStack]:
    """A running stack (skipped cleanly when postgres server binaries or pgbouncer are missing)."""
    with running_stack(rtt_ms=RTT_MS, suspend_after=SUSPEND_S) as neon:
        yield neon


@pytest.fixture(scope="module")
def direct_dsn(stack: NeonStack) -> str:
    return stack.dsn(pooled=False)


@pytest.fixture(scope="module")
def pooled_dsn(stack: NeonStack) -> str:
    return stack.dsn(pooled=True)


def wait_suspended(neon: NeonStack, timeout: float = SUSPEND_S + 10) -> None:
    """Wait until scale-to-zero has stopped postgres."""
    deadline = time.monotonic() + timeout
    while neon.status().postgres:
        assert time.monotonic() < deadline, "postgres did not suspend"
        time.sleep(0.1)
