"""`chatgate doctor`: one-line masked failures, and reports on the embedded and TCP servers."""

import os
import socket
import subprocess
import sys

import pytest

from chatgate.doctor import DoctorReport, client_settings
from chatgate.dsn import parse_dsn
from tests.pg import TEST_HOME

CLI = [sys.executable, "-c", "import chatgate.cli.doctor; from chatgate.cli import main; main()"]
LOCAL_TCP = "postgresql://postgres@127.0.0.1:5432/postgres"


def _doctor(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k != "CHATGATE_DSN"}
    return subprocess.run(
        [*CLI, "doctor", *args],
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "dsn",
    ["postgresql://u:hunter2@127.0.0.1:1/x", "postgresql://u:hunter2@127.0.0.1:notaport/x"],
    ids=["refused", "malformed"],
)
def test_connection_failure_is_one_masked_line_exit_2(dsn: str) -> None:
    out = _doctor("--dsn", dsn)
    assert out.returncode == 2
    assert "hunter2" not in out.stderr + out.stdout and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and out.stderr.startswith("chatgate: error:")


def test_report_lines_name_every_measurement() -> None:
    dsn = parse_dsn("postgresql://a:pw@ep-x-pooler.example/db?sslmode=require")
    report = DoctorReport(
        dsn.masked,
        True,
        "host contains -pooler",
        server_version="17.2",
        pooled_detected=True,
        detection="shared pid 7",
        first_connect_ms=900,
        connect_ms=130,
        tcp_ms=20,
        tls_ms=40,
        first_query_ms=42,
        simple_ms=21,
        extended_ms=42,
        samples=20,
        client=client_settings(dsn, dsn.asyncpg_kwargs()),
    )
    text = "\n".join(report.lines())
    assert "endpoint: pooled (DSN: host contains -pooler; detected: shared pid 7)" in text
    assert "statement_cache_size=0" in text and "prepare_threshold=None" in text
    assert "tcp 20.0 + tls 40.0 + startup/auth 70.0 ms" in text
    assert "cold start: first connect 900.0 ms vs warm 130.0 ms: +770.0 ms" in text
    assert ":pw@" not in text and ":***@" in text


@pytest.mark.db
def test_doctor_on_the_embedded_default() -> None:
    out = _doctor(env={"CHATGATE_HOME": str(TEST_HOME)})  # shares the suite's embedded cluster
    assert out.returncode == 0, out.stderr
    assert "endpoint: direct" in out.stdout and "unix socket" in out.stdout
    assert "server: PostgreSQL" in out.stdout and "tls (client): off" in out.stdout


def _tcp_postgres_answers() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.mark.db
@pytest.mark.skipif(not _tcp_postgres_answers(), reason="no PostgreSQL on 127.0.0.1:5432")
def test_doctor_on_local_tcp_postgres() -> None:
    out = _doctor("--dsn", LOCAL_TCP, "--samples", "5")
    if out.returncode == 2 and "authentication" in out.stderr:
        pytest.skip(f"127.0.0.1:5432 wants a password: {out.stderr.strip()}")
    assert out.returncode == 0, out.stderr
    assert "endpoint: direct" in out.stdout and "= tcp " in out.stdout
    assert "SELECT 1 round trip: median" in out.stdout
