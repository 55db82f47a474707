"""The whole suite through the Neon-like stack: pooled (PgBouncer) first, then direct.

Issue acceptance: `check --profile quick` and `bench --scale small` exit 0 through both
endpoints with zero prepared-statement errors, `load` too, the result records the statement
mode, and the history latency through the RTT proxy sits about one RTT above a connection
that bypasses it. A 5 ms RTT keeps the run short; latency budgets are raised because an
append needs several round trips (the budget verdicts are tested elsewhere).
"""

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chatgate.dsn import parse_dsn
from chatgate.neon import NeonStack
from tests.neon.conftest import running_stack

pytestmark = [pytest.mark.neon, pytest.mark.slow, pytest.mark.db]
RTT_MS = 5.0
CLI = [sys.executable, "-c", "from chatgate.cli import main; main()"]
BUDGETS = ["--history-target-ms", "1000", "--append-target-ms", "1000"]


@pytest.fixture(scope="module")
def stack5() -> Iterator[NeonStack]:
    """A stack with a 5 ms RTT and no scale-to-zero."""
    with running_stack(rtt_ms=RTT_MS, suspend_after=0) as neon:
        yield neon


def chatgate(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout)


def ok(*args: str) -> subprocess.CompletedProcess[str]:
    proc = chatgate(*args)
    assert proc.returncode == 0, f"chatgate {args[0]}: {proc.stderr[-1500:]}{proc.stdout[-3000:]}"
    assert "prepared statement" not in (proc.stdout + proc.stderr).lower()
    return proc


def result(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def no_errors(doc: dict[str, Any]) -> None:
    assert all(v["errors"] == 0 for v in doc["latency"].values()), doc["latency"]
    assert all(c["status"] != "error" for c in doc["checks"]), doc["checks"]


def test_suite_through_pooled_then_direct(stack5: NeonStack, tmp_path: Path) -> None:
    pooled, direct = stack5.dsn(pooled=True), stack5.dsn(pooled=False)
    ok("init", "--dsn", pooled)
    for name, dsn in (("pooled", pooled), ("direct", direct)):
        ok("check", "--profile", "quick", "--dsn", dsn, "--json", str(tmp_path / f"c{name}.json"))
        checked = result(tmp_path / f"c{name}.json")
        assert checked["target"]["pooled"] is (name == "pooled")
        args = ["--scale", "small", "--samples", "30", *BUDGETS, "--dsn", dsn]
        ok("bench", *args, "--json", str(tmp_path / f"b{name}.json"))
        benched = result(tmp_path / f"b{name}.json")
        no_errors(benched)
        mode = "unprepared" if name == "pooled" else "prepared"
        assert benched["target"]["statement_mode"] == mode
    ok(
        "load",
        "--dsn",
        pooled,
        "--users",
        "4",
        "--duration",
        "5s",
        *BUDGETS,
        "--json",
        str(tmp_path / "load.json"),
    )
    assert result(tmp_path / "load.json")["harness"]["load"]["failures"] == 0
    ok("clean", "--dsn", direct)


def test_history_latency_through_the_proxy_is_about_one_rtt_above(
    stack5: NeonStack, tmp_path: Path
) -> None:
    """Same server, same data: via the RTT proxy vs straight to PostgreSQL's own port."""
    direct = stack5.dsn(pooled=False)
    ok("init", "--dsn", direct)
    raw = parse_dsn(direct).with_params(port=str(_pg_port(direct))).url()
    p50 = {}
    for name, dsn in (("proxy", direct), ("raw", raw)):
        ok(
            "bench",
            "--scale",
            "tiny",
            "--samples",
            "60",
            *BUDGETS,
            "--dsn",
            dsn,
            "--json",
            str(tmp_path / f"{name}.json"),
        )
        latency = result(tmp_path / f"{name}.json")["latency"]
        p50[name] = min(v["p50"] for k, v in latency.items() if k.startswith("history.latest50"))
    gap = p50["proxy"] - p50["raw"]
    assert 0.5 * RTT_MS <= gap <= 3 * RTT_MS, f"gap {gap:.2f} ms for RTT {RTT_MS} ms: {p50}"
    ok("clean", "--dsn", direct)


def _pg_port(direct_dsn: str) -> int:
    """The stack's PostgreSQL port: the direct proxy's port minus two (see neon.config)."""
    return int(parse_dsn(direct_dsn).params["port"]) - 2
