"""`chatgate load`'s runner: Locust headless in a subprocess, exact merged latencies back.

The runner discovers the design (asyncpg, outside gevent), writes it to a file, and starts
`locust -f loadtests/locustfile.py` in its own process group with the DSN in the environment
(never on the command line). `workers > 0` adds `--processes N`: a master bound to 127.0.0.1
on a free port, and N forked workers. The master (or the single process) writes the merged
exact histograms to a JSON file, which this module turns into `LatencyStats`, a timeline and
the perf.history_p95 / perf.append_p95 verdicts.
"""

import asyncio
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chatgate.errors import SetupError
from chatgate.options import Settings
from chatgate.target import Target
from conformance.design import Design
from conformance.tagging import new_run_id
from loadtests.designfile import discover_design, write_design
from loadtests.loadresult import MergedLoad, build_result, read_merged
from reports.result import RunResult

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
GRACE_S = 90.0  # startup (workers, discovery, users' setup) and shutdown beyond the run time
CALIBRATE_S, CALIBRATE_USERS = 10.0, 20
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
WARMUP_S = 3.0  # measure_throughput: time for the users' setup before the measured seconds
Progress = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class LoadConfig:
    """What to run: closed loop unless `rate` (total ops/s, open loop) is set."""

    users: int = 20
    duration_s: float = 30.0
    spawn_rate: float | None = None  # users/s; default: all within one second
    rate: float | None = None
    workers: int = 0
    web: bool = False
    think_s: float = 1.0
    test_sleep_ms: float = 0.0  # test hook: pg_sleep in every operation
    keep_data: bool = False
    rls_setting: str = "app.user_id"
    web_port: int = 0  # with `web`; 0 picks a free one
    run_id: str = field(default_factory=new_run_id)

    @property
    def mode(self) -> str:
        return "open" if self.rate else "closed"


def parse_duration(text: str) -> float:
    """`30s`, `2m`, `1h30m` or plain seconds -> seconds."""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0}
    total, num = 0.0, ""
    for ch in text.strip().lower():
        if ch.isdigit() or ch == ".":
            num += ch
        elif ch in units and num:
            total, num = total + float(num) * units[ch], ""
        else:
            raise SetupError(f"bad duration {text!r}", fix="write e.g. 30s, 2m or 1h30m")
    total += float(num) if num else 0.0
    if total <= 0:
        raise SetupError(f"bad duration {text!r}", fix="give a positive duration, e.g. 30s")
    return total


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def locust_command(cfg: LoadConfig, design_path: Path, out: Path) -> list[str]:
    """The Locust command line (the DSN goes in the environment, not here)."""
    cmd = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "-u",
        str(cfg.users),
        "-r",
        str(cfg.spawn_rate or max(cfg.users, 1)),
        "-t",
        f"{math.ceil(cfg.duration_s)}s",
        "--stop-timeout",
        "0",
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--cg-out",
        str(out),
        "--cg-design",
        str(design_path),
        "--cg-run-id",
        cfg.run_id,
        "--cg-users",
        str(cfg.users),
        "--cg-think",
        str(cfg.think_s),
        "--cg-rls-setting",
        cfg.rls_setting,
    ]
    if cfg.rate:
        cmd += ["--cg-rate", str(cfg.rate)]
    if cfg.test_sleep_ms:
        cmd += ["--cg-test-sleep-ms", str(cfg.test_sleep_ms)]
    if cfg.keep_data:
        cmd.append("--cg-keep-data")
    if cfg.workers > 0:
        port = str(free_port())
        cmd += [
            "--processes",
            str(cfg.workers),
            "--master-bind-host",
            "127.0.0.1",
            "--master-bind-port",
            port,
            "--master-host",
            "127.0.0.1",
            "--master-port",
            port,
        ]
    if cfg.web:
        cmd += [
            "--web-host",
            "127.0.0.1",
            "--web-port",
            str(cfg.web_port or free_port()),
            "--autostart",
            "--autoquit",
            "5",
        ]
    else:
        cmd.append("--headless")
    return cmd


def run_locust(
    cmd: list[str], dsn: str, out: Path, *, timeout_s: float, progress: Progress | None = None
) -> int:
    """Run Locust in its own process group; poll progress; kill the group on timeout."""
    env = {**os.environ, "CHATGATE_DSN": dsn, "PYTHONUNBUFFERED": "1"}
    log = out.with_suffix(".log")
    with open(log, "w") as fh:
        proc = subprocess.Popen(
            cmd,
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=die_with_parent(),
        )
        try:
            return _wait(proc, out, timeout_s, progress)
        finally:
            _stop_group(proc)


def die_with_parent() -> Callable[[], None] | None:
    """A preexec_fn giving the child SIGTERM when we die, even by SIGKILL (Linux only)."""
    # PDEATHSIG fires when the creating thread ends: run_locust waits for the child in that
    # thread. Locust's forked workers do not inherit it; the locustfile watches their parent.
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM))
        if os.getppid() != parent:  # we died before the prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec


def _wait(
    proc: subprocess.Popen[bytes], out: Path, timeout_s: float, progress: Progress | None
) -> int:
    deadline = time.monotonic() + timeout_s
    status = Path(str(out) + ".progress")
    while (code := proc.poll()) is None:
        if time.monotonic() > deadline:
            raise SetupError(
                f"Locust did not finish within {timeout_s:.0f} s; stopped it",
                fix=f"see {out.with_suffix('.log')}",
            )
        if progress is not None and status.exists():
            progress(_read_progress(status))
        time.sleep(0.25)
    return code


def _read_progress(path: Path) -> dict[str, Any]:
    import json

    try:
        data: dict[str, Any] = json.loads(path.read_text())
        return data
    except (OSError, ValueError):
        return {}


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL, the process group we started (master and forked workers)."""
    for sig, wait_s in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            continue
        if not _group_alive(proc.pid):
            return


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def run_load(
    target: Target,
    settings: Settings,
    cfg: LoadConfig,
    *,
    design: Design | None = None,
    progress: Progress | None = None,
) -> RunResult:
    """Discover (unless given), run Locust, merge, and build the `RunResult` with verdicts."""
    started = datetime.now(UTC)
    found, version = asyncio.run(discover_design(target, settings))
    design = design or found
    merged = run_merged(target, design, cfg, progress=progress)
    duration = (datetime.now(UTC) - started).total_seconds()
    result = build_result(
        target, settings, design, cfg, merged, started_at=started.isoformat(), duration_s=duration
    )
    result.target.server_version = version
    return result


def run_merged(
    target: Target, design: Design, cfg: LoadConfig, *, progress: Progress | None = None
) -> MergedLoad:
    """Run Locust for `cfg` and return the merged exact recordings."""
    with tempfile.TemporaryDirectory(prefix="chatgate-load-") as tmp:
        design_path = write_design(design, Path(tmp) / "design.json")
        out = Path(tmp) / "load.json"
        cmd = locust_command(cfg, design_path, out)
        code = run_locust(
            cmd, target.dsn.url(), out, progress=progress, timeout_s=cfg.duration_s + GRACE_S
        )
        if not out.exists():
            tail = out.with_suffix(".log").read_text(errors="replace")[-1500:]
            raise SetupError(f"Locust ended (exit {code}) without a result: {tail.strip()}")
        return read_merged(out)


def measure_throughput(
    target: Target, *, seconds: float, users: int = 20, design: Design | None = None
) -> float:
    """Completed ops/s of one Locust process on the chat mix with no think time.

    The run lasts `seconds` plus a warm-up for the users' setup; the rate is the mean of the
    whole seconds of the timeline (setup is not on it; partial first and last seconds dropped).
    """
    design = design or asyncio.run(discover_design(target, Settings()))[0]
    cfg = LoadConfig(users=users, duration_s=seconds + WARMUP_S, think_s=0.0)
    merged = run_merged(target, design, cfg)
    return merged.steady_ops_per_s()


async def calibration_hook(target: Target, design: Design, _subjects: Any) -> dict[str, Any]:
    """For `calibrate.register_hook("locust", ...)`: one Locust process's ops/s on the mix."""
    ops = await asyncio.to_thread(
        measure_throughput, target, seconds=CALIBRATE_S, users=CALIBRATE_USERS, design=design
    )
    return {"locust_ops_per_s": round(ops, 1), "seconds": CALIBRATE_S, "users": CALIBRATE_USERS}


__all__ = ["LoadConfig", "MergedLoad", "calibration_hook", "measure_throughput", "run_load"]
