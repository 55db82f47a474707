"""`chatgate db start|status|url|stop --profile neon` end to end, and its one-line failures."""

import os
import shutil
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from chatgate.cli import app
from chatgate.neon import missing
from tests.neon.conftest import free_port_base, leftovers, state_dir

pytestmark = pytest.mark.neon
CLI = [sys.executable, "-c", "import chatgate.cli.doctor; from chatgate.cli import main; main()"]


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=120)


def test_missing_server_binaries_say_what_to_install(tmp_path: object) -> None:
    env = {**os.environ, "CHATGATE_PG_BINDIR": "/nonexistent/bin", "CHATGATE_HOME": "/nonexistent"}
    out = _run("db", "start", "--profile", "neon", env=env)
    assert out.returncode == 2
    assert "apt-get install postgresql pgbouncer" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr


@pytest.mark.slow
def test_start_status_url_doctor_stop() -> None:
    reason = missing()
    if reason:
        pytest.skip(reason)
    home = state_dir()
    env = {**os.environ, "CHATGATE_HOME": str(home)}
    env.pop("CHATGATE_DSN", None)
    base = str(free_port_base())
    try:
        started = _run(
            "db",
            "start",
            "--profile",
            "neon",
            "--rtt",
            "5",
            "--suspend-after",
            "0",
            "--port-base",
            base,
            env=env,
        )
        assert started.returncode == 0, started.stderr
        password = (home / "neon" / "password").read_text().strip()
        assert "-pooler" in started.stdout and password not in started.stdout
        status = _run("db", "status", "--profile", "neon", env=env)
        assert status.returncode == 0 and "running" in status.stdout
        assert password not in status.stdout
        url = _run("db", "url", "--profile", "neon", "--pooled", env=env).stdout.strip()
        assert password in url and "-pooler" in url and "hostaddr=127.0.0.1" in url
        doctor = _run("doctor", "--dsn", url, "--samples", "3", env=env)
        assert doctor.returncode == 0, doctor.stderr
        assert "endpoint: pooled" in doctor.stdout and password not in doctor.stdout
        assert "tls (client): TLS" in doctor.stdout
        again = _run(
            "db", "start", "--profile", "neon", "--rtt", "50", "--port-base", base, env=env
        )
        assert again.returncode == 2 and "already runs" in again.stderr
    finally:
        stopped = _run("db", "stop", "--profile", "neon", env=env)
        time.sleep(0.2)
        left = leftovers(home)
        after = CliRunner().invoke(app, ["db", "status", "--profile", "neon"], env=env)
        shutil.rmtree(home, ignore_errors=True)
    assert "proxies, pgbouncer, postgres" in stopped.stdout
    assert not left, left
    assert after.exit_code == 3 and "neon: stopped" in after.output
