"""Secrets: a distinctive password flows through every registered command; it must appear in
no output: stdout, stderr, result JSON, HTML, Markdown, JUnit, logs, Locust's files, the
state directories, nor any process's command line. Reports show the target as a masked DSN.
"""

import contextlib
import json
import threading
import time
from pathlib import Path
from urllib.parse import quote, quote_plus

import psutil
import pytest

from chatgate.dsn import parse_dsn
from tests.hardening.conftest import (
    PASSWORD,
    Run,
    base_env,
    command_params,
    dsn_commands,
    finish,
    has_option,
    minimal_args,
    start_cli,
)

PARAMS = command_params()
# On the stack: the steps of `run` that open their own connections (asyncpg, SQLAlchemy,
# Locust/psycopg); the rest share their code path and are covered on the TCP server.
NEON_POOLED = {"init", "doctor", "check", "load", "clean"}


def forms(secret: str) -> set[str]:
    """The password as it could be written: raw and URL-encoded in each usual way."""
    return {secret, quote(secret, safe=""), quote(secret), quote_plus(secret)}


class CmdlineWatch:
    """Polls the command lines of everything a run starts (ps must not show secrets)."""

    def __init__(self, pid: int, secrets: set[str]) -> None:
        self.pid = pid
        self.secrets = secrets
        self.found: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        while not self.stop.is_set():
            try:
                procs = psutil.Process(self.pid).children(recursive=True)
            except psutil.Error:
                return
            for proc in procs:
                with contextlib.suppress(psutil.Error):
                    cmd = " ".join(proc.cmdline())
                    if any(s in cmd for s in self.secrets) and cmd[:300] not in self.found:
                        self.found.append(cmd[:300])
            time.sleep(0.1)

    def __enter__(self) -> "CmdlineWatch":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(5)


def output_args(command: str, tmp: Path) -> list[str]:
    """Every report output the command can write, into tmp/out."""
    out = tmp / "out"
    out.mkdir(exist_ok=True)
    args: list[str] = []
    for opt, name in (("json", "r.json"), ("md", "r.md"), ("html", "r.html"), ("junit", "r.xml")):
        if has_option(command, opt):
            args += [f"--{opt}", str(out / name)]
    if has_option(command, "out"):
        args += ["--out", str(out / "run")]
    return args


def run_with_secret(
    command: str, dsn: str, tmp: Path, *extra: str, timeout: float = 240
) -> tuple[Run, list[str]]:
    """Run with the DSN in CHATGATE_DSN; the run and the child command lines showing it."""
    home, tmpdir = tmp / "home", tmp / "tmp"
    home.mkdir(exist_ok=True)
    tmpdir.mkdir(exist_ok=True)
    # the DSN goes in the environment (as users should pass it), so a command line that shows
    # the password is one chatgate itself made (pgbench, Locust, psql ...)
    env = base_env(CHATGATE_HOME=str(home), TMPDIR=str(tmpdir), CHATGATE_DSN=dsn)
    args = [command, *minimal_args(command, tmp), *output_args(command, tmp), *extra]
    t0 = time.monotonic()
    proc = start_cli(args, cwd=tmp, env=env)
    try:
        secret = parse_dsn(dsn).password or PASSWORD
    except Exception:
        secret = PASSWORD
    with CmdlineWatch(proc.pid, forms(secret)) as ps:
        run = finish(proc, args, t0, timeout)
    return run, ps.found


def leaks(secret: str, run: Run, *dirs: Path, skip: tuple[Path, ...] = ()) -> list[str]:
    """Where any form of `secret` shows up: the run's output and every file under `dirs`."""
    found = []
    needles = forms(secret)
    for name, text in (("stdout", run.out), ("stderr", run.err)):
        found += [f"{name} ({n!r})" for n in needles if n in text]
    for d in dirs:
        for path in d.rglob("*"):
            if not path.is_file() or any(path == s or s in path.parents for s in skip):
                continue
            with contextlib.suppress(OSError):
                data = path.read_bytes().decode("utf-8", "replace")
                found += [f"{path} ({n!r})" for n in needles if n in data]
    return found


def assert_masked_target(tmp: Path, secret: str) -> None:
    """Every result JSON written records the target as a masked DSN."""
    for path in (tmp / "out").rglob("*.json"):
        with contextlib.suppress(ValueError):
            doc = json.loads(path.read_text())
            if isinstance(doc, dict) and doc.get("format") == "chatgate-result":
                dsn = doc["target"]["dsn"]
                assert "***" in dsn and secret not in dsn, f"{path}: target {dsn!r}"


@pytest.mark.db
@pytest.mark.parametrize("command", PARAMS)
def test_password_never_written(command: str, roles: dict[str, str], tmp_path: Path) -> None:
    """A role with a password on the TCP server (trust auth ignores it; it still flows)."""
    dsn = roles["secret"]
    assert parse_dsn(dsn).password == PASSWORD
    run, cmdlines = run_with_secret(command, dsn, tmp_path)
    assert "Traceback" not in run.out + run.err, str(run)
    assert run.rc in (0, 1), str(run)
    assert not cmdlines, f"password on a command line: {cmdlines}"
    assert not leaks(PASSWORD, run, tmp_path), str(run)
    assert_masked_target(tmp_path, PASSWORD)


@pytest.mark.parametrize(
    "debug", [False, pytest.param(True, marks=pytest.mark.slow)], ids=["plain", "debug"]
)
@pytest.mark.parametrize("command", PARAMS)
def test_password_not_in_errors(
    command: str, debug: bool, refused_port: int, tmp_path: Path
) -> None:
    """Failing runs (bad port, bad DSN) too, and --debug tracebacks."""
    extra = ["--debug"] if debug and has_option(command, "debug") else []
    bad = [
        f"postgresql://u:{quote(PASSWORD, safe='')}@127.0.0.1:{refused_port}/db",
        f"postgresql://u:{quote(PASSWORD, safe='')}@127.0.0.1:notaport/db",
        f"host=127.0.0.1 port={refused_port} user=u password='{PASSWORD}'",
    ]
    for dsn in bad:
        run, cmdlines = run_with_secret(command, dsn, tmp_path, *extra, timeout=60)
        assert run.rc == 2, str(run)
        assert not cmdlines, f"password on a command line: {cmdlines}"
        assert not leaks(PASSWORD, run, tmp_path), str(run)


# --- the Neon-like stack: real SCRAM passwords, TLS, PgBouncer -------------------------


@pytest.mark.neon
@pytest.mark.slow
@pytest.mark.parametrize(
    ("command", "pooled"),
    [(c, True) for c in dsn_commands() if c in NEON_POOLED]
    + [(c, False) for c in ("init", "doctor", "check") if c in dsn_commands()],
    ids=lambda v: v if isinstance(v, str) else ("pooled" if v else "direct"),
)
def test_neon_password_never_written(
    command: str, pooled: bool, neon_stack: object, tmp_path: Path
) -> None:
    """SCRAM + TLS, direct and through PgBouncer (`run` = these steps; it is covered on the
    TCP server, where it takes a tenth of the time)."""
    dsn = neon_stack.dsn(pooled=pooled)  # type: ignore[attr-defined]
    secret = parse_dsn(dsn).password
    assert secret
    layout = neon_stack.layout  # type: ignore[attr-defined]
    run, cmdlines = run_with_secret(command, dsn, tmp_path)
    assert "Traceback" not in run.out + run.err, str(run)
    assert run.rc in (0, 1), str(run)
    assert not cmdlines, f"password on a command line: {cmdlines}"
    # the stack's own secret files hold it by design (0600); everything else must not
    own = (layout.password_file, layout.bouncer / "userlist.txt")
    assert not leaks(secret, run, tmp_path, layout.base, skip=own), str(run)
    assert_masked_target(tmp_path, secret)
    for path in own:
        assert path.stat().st_mode & 0o077 == 0, f"{path} is readable by others"
