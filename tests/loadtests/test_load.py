"""`chatgate load`: Locust users on the reference schema, exact merged latencies, verdicts."""

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import psycopg
import pytest
from click.testing import CliRunner

from chatgate.dsn import parse_dsn
from chatgate.errors import SetupError
from chatgate.options import Settings
from chatgate.reference import ensure_reference_schema
from chatgate.target import Target
from conformance.tagging import RunTag
from loadtests.collect import Collector, Merger
from loadtests.histogram import Recorder
from loadtests.load import (
    LOCUSTFILE,
    LoadConfig,
    free_port,
    measure_throughput,
    parse_duration,
    run_load,
    run_locust,
)
from loadtests.loadresult import verdicts
from reports.result import LatencyStats, RunResult
from tests.pg import TEST_HOME

db_load = [pytest.mark.load, pytest.mark.db]


def locust_processes() -> list[psutil.Process]:
    """Running processes of our locustfile (none may outlive a test)."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmd = proc.info.get("cmdline") or []
        if any(str(LOCUSTFILE) in part for part in cmd):
            found.append(proc)
    return found


@pytest.fixture(autouse=True)
def no_locust_left() -> Iterator[None]:
    """No Locust process started during a test outlives it (others' runs are not ours)."""
    before = {p.pid for p in locust_processes()}
    yield
    assert [p for p in locust_processes() if p.pid not in before] == []


@pytest.fixture(scope="module")
def ref_dsn(make_db: Callable[[], str]) -> str:
    """A database with the reference schema."""
    dsn = make_db()
    ensure_reference_schema(Target("dsn", parse_dsn(dsn)))
    return dsn


def run(dsn: str, **cfg: object) -> RunResult:
    with Target("dsn", parse_dsn(dsn)) as target:
        return run_load(target, Settings(), LoadConfig(**cfg))  # type: ignore[arg-type]


def harness_rows(dsn: str, run_id: str) -> int:
    pred, params = RunTag(run_id).predicate("user_id", "uuid")
    sql = f"SELECT count(*) FROM conversations WHERE {pred.replace('$1', '%s')}"
    with psycopg.connect(parse_dsn(dsn).psycopg_conninfo()) as conn:
        row = conn.execute(sql, params).fetchone()
    return int(row[0]) if row else -1


def test_merge_is_exact() -> None:
    """Two workers' shipped histograms merge into exactly what one recorder would hold."""
    rnd = random.Random(7)
    workers, single, merger = [Collector(), Collector()], Recorder(), Merger()
    for i, col in enumerate(workers):
        for _ in range(5000):
            s = rnd.lognormvariate(-7.5, 1.2)
            col.record("history", s, s, ok=True)
            single.record_s(s)
        col.record("history", 0.0, 0.0, ok=False)
        merger.add(f"w{i}", col.payload(final=True))
    merged = merger.merged()["history"]
    totals = [w["history"] for w in merger.document({})["workers"].values()]
    assert merged.count == sum(t["count"] for t in totals) == single.count == 10_000
    assert merged.hist.get_max_value() == max(t["max_us"] for t in totals)
    assert merged.errors == 2
    for p in (50, 95, 99, 99.9):
        assert merged.percentile_ms(p) == single.percentile_ms(p)
    assert sum(r["ops"] for r in merger.timeline_rows()) == 10_000


def _stats(op: str, count: int, errors: int) -> LatencyStats:
    return LatencyStats(op, count, 1.0, 2.0, 3.0, 4.0, errors=errors)


def test_failed_requests_gate_the_load_verdicts() -> None:
    """All of a group failed: error with the first message; more than 1% failed: fail."""
    denied = {"setup": "InsufficientPrivilege: permission denied for table users"}
    nothing = {"setup": _stats("setup", 0, 2), "new_conversation": _stats("x", 0, 9)}
    history, append = verdicts(nothing, Settings(), denied)
    assert history.status == append.status == "error"
    assert "permission denied for table users" in history.summary, history.summary
    latency = {
        "history.latest50": _stats("history.latest50", 288, 12),
        "append.message": _stats("append.message", 0, 5),
    }
    history, append = verdicts(latency, Settings(), {"append.message": "boom"})
    assert history.status == "fail"
    assert "12 of 300 history requests failed (4.0% > 1%)" in history.summary
    assert append.status == "error" and append.summary.endswith("(append.message): boom")
    latency["history.latest50"] = _stats("history.latest50", 297, 3)
    assert verdicts(latency, Settings())[0].status == "pass"  # exactly 1% is allowed
    assert verdicts({}, Settings())[0].status == "skip"


def test_parse_duration() -> None:
    assert parse_duration("30s") == 30 and parse_duration("1m30s") == 90
    assert parse_duration("8") == 8
    with pytest.raises(SetupError):
        parse_duration("soon")


@pytest.mark.load
def test_timeout_kills_the_process_group(tmp_path: Path) -> None:
    """A Locust run past its deadline is stopped, workers included."""
    port = str(free_port())
    cmd = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "-u",
        "1",
        "-t",
        "60s",
        "--processes",
        "2",
        "--master-bind-host",
        "127.0.0.1",
        "--master-bind-port",
        port,
        "--master-port",
        port,
    ]
    with pytest.raises(SetupError, match="did not finish"):
        run_locust(cmd, "postgresql://nobody@127.0.0.1:1/x", tmp_path / "o.json", timeout_s=3)


@pytest.mark.load
@pytest.mark.db
def test_closed_loop_single_process(ref_dsn: str) -> None:
    result = run(ref_dsn, users=20, duration_s=8, think_s=0.2)
    load = result.harness["load"]
    assert load["failures"] == 0 and load["complete"]
    assert load["requests"] == load["locust"]["requests"]
    assert {"history.latest50", "append.message", "conversation.open"} <= set(result.latency)
    # microsecond resolution, not Locust's whole milliseconds
    assert any(st.p50 != int(st.p50) or st.p50 < 1 for st in result.latency.values())
    assert [c.id for c in result.checks] == ["perf.history_p95", "perf.append_p95"]
    assert result.verdict == "pass", [c.summary for c in result.checks]
    assert result.series["load_timeline"] and result.target.server_version
    assert harness_rows(ref_dsn, result.run_id) == 0


@pytest.mark.load
@pytest.mark.db
def test_two_workers_merge_exactly(ref_dsn: str) -> None:
    result = run(ref_dsn, users=10, duration_s=8, think_s=0.2, workers=2)
    load = result.harness["load"]
    workers = load["workers_totals"]
    assert len(workers) == 2 and load["complete"] and load["failures"] == 0
    assert load["requests"] == load["locust"]["requests"]
    for op, st in result.latency.items():
        parts = [w[op] for w in workers.values() if op in w]
        assert st.count == sum(p["count"] for p in parts)
        assert st.max == round(max(p["max_us"] for p in parts) / 1000.0, 4)
    assert any(st.p50 != int(st.p50) for st in result.latency.values())


@pytest.mark.load
@pytest.mark.db
def test_open_loop_counts_queueing_delay(ref_dsn: str) -> None:
    """100 ms operations scheduled every 50 ms: latency from intended start keeps growing."""
    result = run(ref_dsn, users=1, duration_s=6, rate=20, test_sleep_ms=100)
    for op in ("history.latest50", "append.message"):
        st = result.latency[op]
        assert st.params["mode"] == "open"
        assert st.params["service_p50_ms"] >= 100
        assert st.p50 > 3 * st.params["service_p50_ms"], (op, st.p50, st.params)
    assert result.harness["load"]["failures"] == 0


@pytest.mark.load
@pytest.mark.db
def test_measure_throughput(ref_dsn: str) -> None:
    with Target("dsn", parse_dsn(ref_dsn)) as target:
        ops = measure_throughput(target, seconds=5)
    assert ops > 50


@pytest.mark.load
@pytest.mark.db
def test_cli_writes_result(ref_dsn: str, tmp_path: Path) -> None:
    import chatgate.cli.load  # noqa: F401  (registers the command)
    from chatgate.cli.app import app

    out = tmp_path / "load.json"
    args = [
        "load",
        "--dsn",
        ref_dsn,
        "--users",
        "5",
        "--duration",
        "6s",
        "--think",
        "0.2",
        "--json",
        str(out),
    ]
    res = CliRunner().invoke(app, args, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "p50 ms" in res.output
    doc = json.loads(out.read_text())
    assert doc["command"] == "load" and doc["verdict"] == "pass"
    assert {c["id"] for c in doc["checks"]} == {"perf.history_p95", "perf.append_p95"}
    assert set(doc["series"]["load_timeline"][0]) == {"t", "ops", "failures", "p50", "p95"}


CLI = "import chatgate.cli.load; from chatgate.cli import main; main()"


@pytest.mark.slow
@pytest.mark.load
@pytest.mark.db
@pytest.mark.parametrize(("workers", "duration"), [(0, "12s"), (2, "30s")])
def test_acceptance_embedded_default(workers: int, duration: str, tmp_path: Path) -> None:
    """`chatgate load --users 20 --duration 30s --workers 2` (and a shorter single process)."""
    env = {**os.environ, "CHATGATE_HOME": str(TEST_HOME / "load-home")}
    env.pop("CHATGATE_DSN", None)
    out = tmp_path / "r.json"
    cmd = [
        sys.executable,
        "-c",
        CLI,
        "load",
        "--users",
        "20",
        "--duration",
        duration,
        "--workers",
        str(workers),
        "--json",
        str(out),
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads(out.read_text())
    assert doc["harness"]["load"]["failures"] == 0
    assert any(v["p50"] != int(v["p50"]) for v in doc["latency"].values())


@pytest.mark.load
@pytest.mark.db
def test_load_on_a_mapped_design(make_db: Callable[[], str]) -> None:
    """Quoted camelCase tables reached through --map work under Locust too."""
    from chatgate.options import build_settings

    variant = Path(__file__).parents[1] / "variants" / "camel_case.sql"
    dsn = make_db()
    with psycopg.connect(parse_dsn(dsn).psycopg_conninfo(), autocommit=True) as conn:
        conn.execute(variant.read_text())
    maps = [
        "conversations=Chat",
        "messages=Message_v2",
        "users=AppUser",
        "messages.conversation_id=chatId",
        "messages.content=body",
    ]
    settings = build_settings({"map": maps})
    with Target("dsn", parse_dsn(dsn)) as target:
        result = run_load(target, settings, LoadConfig(users=3, duration_s=4, think_s=0.1))
    assert result.harness["load"]["failures"] == 0
    assert result.latency["append.message"].count > 0 and result.verdict == "pass"


@pytest.mark.load
@pytest.mark.db
def test_calibration_hook(ref_dsn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The hook calibrate.py registers: Locust ops/s on the mix, from inside an event loop."""
    import asyncio

    from loadtests import load
    from loadtests.designfile import discover_design

    monkeypatch.setattr(load, "CALIBRATE_S", 3.0)
    with Target("dsn", parse_dsn(ref_dsn)) as target:
        design, _ = asyncio.run(discover_design(target, Settings()))
        out = asyncio.run(load.calibration_hook(target, design, {}))
    assert out["locust_ops_per_s"] > 0 and out["seconds"] == 3.0


def _harness_rows(dsn: str) -> int:
    """Every harness row (any run) in the database."""
    from conformance.cleanup import count_rows
    from loadtests.designfile import discover_design

    async def count() -> int:
        with Target("dsn", parse_dsn(dsn)) as target:
            design, _ = await discover_design(target, Settings())
            conn = await target.connect()
            try:
                return (await count_rows(conn, design=design, tag=None)).total
            finally:
                await conn.close()

    return asyncio.run(count())


def _gone(pids: list[int]) -> bool:
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                return False
        except psutil.NoSuchProcess:
            continue
    return True


@pytest.mark.slow
@pytest.mark.load
@pytest.mark.db
def test_locust_dies_with_a_killed_chatgate(make_db: Callable[[], str], tmp_path: Path) -> None:
    """`kill -9` of chatgate mid-run: no Locust process survives it; `clean` removes the rest."""
    dsn = make_db()
    ensure_reference_schema(Target("dsn", parse_dsn(dsn)))
    code = "from chatgate.cli import main; main()"
    cmd = [sys.executable, "-c", code, "load", "--dsn", dsn, "--users", "3", "--duration", "60s"]
    cmd += ["--think", "0.2", "--workers", "1"]
    with open(tmp_path / "out.log", "w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while _harness_rows(dsn) == 0:  # the users are writing: Locust runs
            assert proc.poll() is None and time.monotonic() < deadline, (
                tmp_path / "out.log"
            ).read_text()
            time.sleep(0.5)
        locust = [p.pid for p in psutil.Process(proc.pid).children(recursive=True)]
        assert len(locust) >= 2, locust  # the master and its worker
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while not _gone(locust):
            assert time.monotonic() < deadline, f"Locust outlived chatgate: {locust}"
            time.sleep(0.2)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    clean = subprocess.run(
        [sys.executable, "-c", code, "clean", "--dsn", dsn],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert _harness_rows(dsn) == 0
