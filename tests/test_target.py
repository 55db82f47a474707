"""Targets: embedded server lifecycle, the docker target's fast clean failure, DSN probing."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chatgate.embedded import EmbeddedServer
from chatgate.errors import SetupError
from chatgate.target import docker_engine_available, open_target

CLI = [sys.executable, "-c", "from chatgate.cli import main; main()"]


def test_docker_target_fails_fast_and_clearly_without_engine(tmp_path: Path) -> None:
    env = {**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock"}
    t0 = time.monotonic()
    out = subprocess.run(
        [*CLI, "init", "--target", "docker"], env=env, capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 2
    assert "no Docker engine" in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert time.monotonic() - t0 < 10  # includes interpreter start; the check itself is ~ms


def test_docker_ping_is_false_for_a_missing_socket(tmp_path: Path) -> None:
    t0 = time.monotonic()
    assert not docker_engine_available(str(tmp_path / "none.sock"))
    assert time.monotonic() - t0 < 1.0


def test_unreachable_dsn_fails_at_open_with_setup_error() -> None:
    with pytest.raises(SetupError, match="connection refused"):
        open_target("postgresql://u:hunter2@127.0.0.1:1/x")


@pytest.mark.db
def test_embedded_server_last_holder_stops_it(tmp_path: Path) -> None:
    server = EmbeddedServer(tmp_path / "emb")
    uri = server.start()
    assert server.running() and "host=" in uri
    server.release()
    assert not server.running()


@pytest.mark.db
def test_embedded_survives_a_killed_holder(tmp_path: Path) -> None:
    """A SIGKILLed run leaves its pid registered; the next run still stops the server."""
    base = tmp_path / "emb"
    code = (
        "import os, sys; from pathlib import Path; from chatgate.embedded import EmbeddedServer;"
        f"EmbeddedServer(Path({str(base)!r})).start(); print('up', flush=True);"
        "os.kill(os.getpid(), 9)"
    )
    subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    server = EmbeddedServer(base)
    assert server.running()  # the orphan runs on
    server.start()
    server.release()
    assert not server.running()


@pytest.mark.db
def test_kept_server_stays_until_stop(tmp_path: Path) -> None:
    server = EmbeddedServer(tmp_path / "emb")
    server.start(keep=True)
    server.release()
    assert server.running()
    assert server.stop()
    assert not server.running()
