"""The Neon-like local stack: start, stop, status and the endpoints' DSNs."""

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from chatgate.embedded import home
from chatgate.errors import SetupError
from chatgate.neon import config as c
from chatgate.neon import server as s
from chatgate.neon.tools import Tools, find_tools

DEFAULT_PORT_BASE = 54330
DEFAULT_RTT_MS = 20.0
DEFAULT_SUSPEND_S = 300.0
DAEMON_MODULE = "chatgate.neon.daemon"


@dataclass(frozen=True)
class Status:
    """What runs now: postgres, pgbouncer, the proxy daemon, and the daemon's counters."""

    config: c.StackConfig | None
    postgres: bool
    pgbouncer: int | None
    daemon: int | None
    runtime: dict[str, Any]

    @property
    def running(self) -> bool:
        return self.daemon is not None and self.pgbouncer is not None


class NeonStack:
    """One stack in `<chatgate home>/neon` (or `base`)."""

    def __init__(self, base: Path | None = None) -> None:
        self.layout = c.Layout((base or home() / "neon").resolve())

    def start(
        self,
        *,
        rtt_ms: float = DEFAULT_RTT_MS,
        suspend_after: float = DEFAULT_SUSPEND_S,
        port_base: int = DEFAULT_PORT_BASE,
    ) -> c.StackConfig:
        """Start everything (idempotent when already running with the same settings)."""
        tools = find_tools()
        cfg = c.StackConfig(port_base, rtt_ms, suspend_after)
        current = self.status()
        if current.running:
            if current.config != cfg:
                raise SetupError(
                    f"the neon stack already runs with {current.config}",
                    fix="run `chatgate db stop --profile neon` first to change its settings",
                )
            return cfg
        if current.postgres or current.pgbouncer or current.daemon:
            self.stop()  # a partial stack (say, the daemon was killed): start afresh
        self._check_ports(cfg)
        try:
            self._bring_up(cfg, tools)
        except BaseException:
            self.stop()
            raise
        return cfg

    def _bring_up(self, cfg: c.StackConfig, tools: Tools) -> None:
        """Cluster, role, pgbouncer and the proxy daemon, in that order."""
        c.make_dirs(self.layout, tools)
        self.layout.save(cfg)
        c.make_certificate(self.layout, tools)
        s.init_cluster(self.layout, cfg, tools)
        if not s.pg_running(self.layout):
            s.pg_start(self.layout, tools)
        s.ensure_app_role(self.layout, cfg, tools)
        c.write_bouncer_files(self.layout, cfg, tools)
        s.bouncer_start(self.layout, cfg, tools)
        self._spawn_daemon(cfg)

    def _check_ports(self, cfg: c.StackConfig) -> None:
        """All four ports must be free; say which is taken."""
        for port in range(cfg.port_base, cfg.port_base + 4):
            if not s.port_free(port):
                raise SetupError(
                    f"port {port} on 127.0.0.1 is in use (the neon stack needs "
                    f"{cfg.port_base}-{cfg.port_base + 3})",
                    fix="pass --port-base N with four free ports from N",
                )

    def _spawn_daemon(self, cfg: c.StackConfig) -> None:
        """Start the proxy/suspend daemon in its own session and wait for its ports."""
        self.layout.daemon_pid.unlink(missing_ok=True)
        with open(self.layout.daemon_log, "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", DAEMON_MODULE, str(self.layout.base)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
                cwd="/",
            )
        deadline = time.monotonic() + 15
        while self._daemon_pid() is None:
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = self._log_tail()
                raise SetupError(
                    f"the neon proxy daemon did not start: {tail}",
                    fix=f"see {self.layout.daemon_log}",
                )
            time.sleep(0.05)
        s.wait_port(cfg.pooled_port, 5, what="the pooled endpoint proxy")

    def stop(self) -> list[str]:
        """Stop the daemon, pgbouncer and postgres; the names of what was running."""
        stopped = []
        if s.terminate(self._daemon_pid()):
            stopped.append("proxies")
        self.layout.daemon_state.unlink(missing_ok=True)
        if s.bouncer_stop(self.layout):
            stopped.append("pgbouncer")
        if s.pg_running(self.layout) and s.pg_stop(self.layout, find_tools()):
            stopped.append("postgres")
        return stopped

    def status(self) -> Status:
        """Look at pid files and processes (no connection is made: it would wake postgres)."""
        runtime: dict[str, Any] = {}
        daemon = self._daemon_pid()
        if daemon is not None:
            try:
                runtime = json.loads(self.layout.daemon_state.read_text())
            except (OSError, ValueError):
                runtime = {}
        return Status(
            self.layout.load(),
            s.pg_running(self.layout),
            s.bouncer_pid(self.layout),
            daemon,
            runtime,
        )

    def dsn(self, *, pooled: bool) -> str:
        """The endpoint's URL with the real password (pooled: the -pooler host, see docs)."""
        cfg = self.layout.load()
        if cfg is None or not self.layout.password_file.exists():
            raise SetupError(
                "the neon stack was never started here",
                fix="run `chatgate db start --profile neon`",
            )
        pw = self.layout.password()
        if pooled:
            return (
                f"postgresql://{c.APP_USER}:{pw}@{c.POOLER_HOST}:{cfg.pooled_port}/"
                f"{c.APP_DB}?hostaddr={c.LOOPBACK}&sslmode=require"
            )
        return f"postgresql://{c.APP_USER}:{pw}@{c.LOOPBACK}:{cfg.direct_port}/{c.APP_DB}?sslmode=require"

    def _daemon_pid(self) -> int | None:
        """The proxy daemon's pid when it is alive and really ours."""
        try:
            pid = int(self.layout.daemon_pid.read_text().split()[0])
            cmd = psutil.Process(pid).cmdline()
        except (OSError, ValueError, IndexError, psutil.Error):
            return None
        return pid if DAEMON_MODULE in cmd and str(self.layout.base) in cmd else None

    def _log_tail(self) -> str:
        try:
            lines = self.layout.daemon_log.read_text().strip().splitlines()
        except OSError:
            return "no log"
        return lines[-1] if lines else "no output"
