"""Control of the stack's PostgreSQL cluster and PgBouncer (initdb, pg_ctl, pgbouncer -d)."""

import contextlib
import signal
import socket
import time
from pathlib import Path

import psutil

from chatgate.errors import SetupError
from chatgate.neon.config import (
    APP_DB,
    APP_USER,
    Layout,
    StackConfig,
    pg_hba,
    postgres_conf,
)
from chatgate.neon.tools import Tools

INCLUDE = "include_if_exists = 'chatgate.conf'"


def init_cluster(layout: Layout, cfg: StackConfig, tools: Tools) -> None:
    """initdb once (as the server user), then (re)write chatgate.conf and pg_hba.conf."""
    pgdata = layout.pgdata
    if not (pgdata / "PG_VERSION").exists():
        pgdata.mkdir(exist_ok=True)
        pgdata.chmod(0o700)
        tools.own(pgdata)
        tools.run(
            tools.pg(
                "initdb",
                "-D",
                pgdata,
                "-E",
                "UTF8",
                "--locale=C",
                "--no-instructions",
                "--auth-local=peer",
                "--auth-host=scram-sha-256",
            ),
            timeout=120,
            what="initdb",
        )
        conf = pgdata / "postgresql.conf"
        conf.write_text(conf.read_text() + f"\n{INCLUDE}\n")
    (pgdata / "chatgate.conf").write_text(postgres_conf(layout, cfg))
    (pgdata / "pg_hba.conf").write_text(pg_hba())
    tools.own(pgdata / "chatgate.conf", pgdata / "pg_hba.conf")


def pg_running(layout: Layout) -> bool:
    """Whether a postmaster for the stack's data directory is alive."""
    return _pid_from(layout.pgdata / "postmaster.pid", "postgres") is not None


def pg_start(layout: Layout, tools: Tools) -> None:
    """Start postgres and wait until it accepts connections."""
    tools.run(
        tools.pg("pg_ctl", "-D", layout.pgdata, "-l", layout.pg_log, "-w", "-t", "60", "start"),
        timeout=90,
        what=f"pg_ctl start (see {layout.pg_log})",
    )


def pg_stop(layout: Layout, tools: Tools) -> bool:
    """Stop postgres (fast mode); True if it was running."""
    if not pg_running(layout):
        return False
    tools.run(
        tools.pg("pg_ctl", "-D", layout.pgdata, "-m", "fast", "-w", "stop"),
        timeout=90,
        what="pg_ctl stop",
    )
    return True


def ensure_app_role(layout: Layout, cfg: StackConfig, tools: Tools) -> None:
    """The non-superuser role neon_app (SCRAM password) owning database neondb."""
    password = layout.password()
    role_sql = (
        f"DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_USER}') THEN "
        f"CREATE ROLE {APP_USER} LOGIN; END IF; END$$;\n"
        f"ALTER ROLE {APP_USER} LOGIN NOSUPERUSER NOCREATEROLE PASSWORD '{password}';\n"
    )
    admin_sql(layout, cfg, tools, role_sql)
    exists = admin_sql(layout, cfg, tools, f"SELECT 1 FROM pg_database WHERE datname = '{APP_DB}';")
    if exists.strip() != "1":
        admin_sql(layout, cfg, tools, f"CREATE DATABASE {APP_DB} OWNER {APP_USER};")


def admin_sql(layout: Layout, cfg: StackConfig, tools: Tools, sql: str) -> str:
    """Run SQL as the cluster's superuser over the stack's own unix socket (peer auth)."""
    argv = tools.pg(
        "psql",
        "-X",
        "-q",
        "-tA",
        "-v",
        "ON_ERROR_STOP=1",
        "-h",
        layout.sockets,
        "-p",
        str(cfg.pg_port),
        "-d",
        "postgres",
        "-f",
        "-",
    )
    return tools.run(argv, stdin=sql, what="psql (setup)")


def bouncer_start(layout: Layout, cfg: StackConfig, tools: Tools) -> None:
    """Start pgbouncer as a daemon (as the server user) and wait for its port."""
    if bouncer_pid(layout) is not None:
        return
    tools.run(tools.cmd(tools.pgbouncer, "-d", layout.bouncer_ini), what="pgbouncer")
    wait_port(cfg.bouncer_port, 10, what="pgbouncer")


def bouncer_pid(layout: Layout) -> int | None:
    """The running pgbouncer's pid, if any."""
    return _pid_from(layout.bouncer_pid, "pgbouncer")


def bouncer_stop(layout: Layout) -> bool:
    """Stop pgbouncer; True if it was running."""
    return terminate(bouncer_pid(layout))


def terminate(pid: int | None, timeout: float = 5.0) -> bool:
    """SIGTERM one process we started, SIGKILL it if it lingers; True if it was alive."""
    if pid is None:
        return False
    try:
        proc = psutil.Process(pid)
        proc.send_signal(signal.SIGTERM)
    except psutil.NoSuchProcess:
        return False
    deadline = time.monotonic() + timeout
    while _alive(proc):
        if time.monotonic() > deadline:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()
            break
        time.sleep(0.02)
    return True


def _alive(proc: psutil.Process) -> bool:
    """Running and not a zombie (an orphan's zombie waits for init to reap it)."""
    try:
        return bool(proc.status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def port_free(port: int) -> bool:
    """Whether 127.0.0.1:port can be bound."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_port(port: int, timeout: float, *, what: str) -> None:
    """Wait until something accepts TCP connections on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SetupError(f"{what} did not listen on 127.0.0.1:{port} within {timeout:g} s")


def _pid_from(pid_file: Path, name: str) -> int | None:
    """The pid in a pid file when that process is alive and is `name`."""
    try:
        pid = int(pid_file.read_text().split()[0])
        alive = psutil.Process(pid)
        return pid if name in alive.name() or name in " ".join(alive.cmdline()) else None
    except (OSError, ValueError, IndexError, psutil.Error):
        return None
