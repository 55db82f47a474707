"""Fixtures for the hardening suite: the CLI as a bounded subprocess, servers that misbehave,
roles with passwords and limited rights, and row accounting (harness rows, checksums).

Commands are discovered, not listed: every registered command with a `--dsn` option is
covered, so the suite grows as commands land. CHATGATE_HARDENING_MODULES=checking,load,...
also imports not-yet-registered `chatgate.cli.<module>`s (in discovery and in every run).
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import psycopg
import pytest

from chatgate.dsn import parse_dsn

EXTRA_ENV = "CHATGATE_HARDENING_MODULES"
# The server the DB rows use: TCP, so roles, pg_hba and TLS behave as on a real host.
PG_ENV = "CHATGATE_HARDENING_DSN"
PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/postgres"
PASSWORD = "Zq7-Hx:S3cret/@%&pw"  # distinctive, and every part of it needs URL-encoding
# Commands that do not need the chat tables (init creates them; the others only read).
NO_TABLES_NEEDED = {"init", "doctor", "snapshot"}
WRITERS = {"check", "seed", "bench", "load", "run"}
# Commands every default run covers; the others run in the slow (CI) selection.
CORE = {"init", "doctor", "check", "run"}
PROGRESS = "> "  # stderr progress lines (`chatgate run`), allowed before the one error line
POOL_WORKERS = int(os.environ.get("CHATGATE_HARDENING_WORKERS", "4"))


def extra_modules() -> list[str]:
    return [m.strip() for m in os.environ.get(EXTRA_ENV, "").split(",") if m.strip()]


def cli_code() -> str:
    imports = "".join(f"import chatgate.cli.{m}; " for m in extra_modules())
    return f"{imports}from chatgate.cli import main; main()"


def registered() -> dict[str, click.Command]:
    """The top-level commands a `chatgate` run would have (plus CHATGATE_HARDENING_MODULES)."""
    import importlib

    from chatgate.cli import app

    for m in extra_modules():
        importlib.import_module(f"chatgate.cli.{m}")
    return dict(app.commands)


def dsn_commands() -> list[str]:
    """Every registered command that takes --dsn, sorted."""
    return sorted(
        name for name, cmd in registered().items() if any(p.name == "dsn" for p in cmd.params)
    )


def command_params(*, core: set[str] | None = None) -> list[Any]:
    """DSN commands as pytest params; outside `core` they are marked slow (the default suite
    covers the commands people run first, CI covers all of them)."""
    keep = CORE if core is None else core
    return [pytest.param(c, marks=() if c in keep else pytest.mark.slow) for c in dsn_commands()]


def selected(request: pytest.FixtureRequest, *names: str) -> list[dict[str, Any]]:
    """callspec params of the collected tests called `names` (what -m/-k kept)."""
    return [
        {"test": item.originalname, **item.callspec.params}
        for item in request.session.items
        if getattr(item, "originalname", None) in names and hasattr(item, "callspec")
    ]


def has_option(command: str, option: str) -> bool:
    cmd = registered().get(command)
    return cmd is not None and any(p.name == option for p in cmd.params)


def minimal_args(command: str, tmp: Path) -> list[str]:
    """The smallest, quickest arguments a command needs besides --dsn (found by introspection)."""
    cmd = registered()[command]
    out: list[str] = []
    quick = {
        "profile": "quick",
        "duration": "2s",
        "users": "2",
        "samples": "50",
        "scale": "tiny",
        "think": "0.1",
        "load_seconds": "2",
        "load_users": "2",
    }
    for p in cmd.params:
        if not isinstance(p, click.Option) or p.name is None:
            continue
        flag = max(p.opts, key=len)
        if p.name in quick:
            value = quick[p.name]
            if isinstance(p.type, click.Choice) and value not in p.type.choices:
                value = str(p.type.choices[0])
            out += [flag, value]
        elif p.required:
            if isinstance(p.type, click.Path):
                out += [flag, str(tmp / f"{command}-{p.name}.out")]
            elif isinstance(p.type, click.Choice):
                out += [flag, str(p.type.choices[0])]
            else:
                raise AssertionError(f"{command}: cannot guess a value for required {flag}")
    return out


@dataclass
class Run:
    args: list[str]
    rc: int
    out: str
    err: str
    seconds: float

    @property
    def err_lines(self) -> list[str]:
        return [ln for ln in self.err.splitlines() if ln.strip()]

    def __str__(self) -> str:
        return (
            f"chatgate {' '.join(self.args)}\n-> rc={self.rc} in {self.seconds:.1f} s\n"
            f"--- stdout\n{self.out[-3000:]}\n--- stderr\n{self.err[-3000:]}"
        )


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CHATGATE_DSN", "CHATGATE_TIMEOUT")}
    env.update({"COLUMNS": "200", "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"})
    env.update(extra)
    return env


def start_cli(
    args: list[str], *, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    """The CLI as a subprocess in its own process group (so a test can signal or kill it)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", cli_code(), *args],
        cwd=cwd,
        env=env or base_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    proc.cg_cwd = str(cwd)  # type: ignore[attr-defined]
    return proc


def finish(proc: subprocess.Popen[str], args: list[str], t0: float, timeout: float) -> Run:
    """Wait for a started CLI; on timeout kill its whole group and fail (a hang is a bug)."""
    try:
        out, err = proc.communicate(timeout=max(timeout - (time.monotonic() - t0), 0.1))
    except subprocess.TimeoutExpired:
        kill_group(proc)
        out, err = proc.communicate()
        raise AssertionError(
            f"chatgate {' '.join(args)} hung for more than {timeout:g} s\n"
            f"--- stdout\n{out[-2000:]}\n--- stderr\n{err[-2000:]}"
        ) from None
    run = Run(args, proc.returncode, out, err, time.monotonic() - t0)
    if log := os.environ.get("CHATGATE_HARDENING_LOG"):  # the observed-results table
        import json

        last = run.err_lines[-1] if run.err_lines else ""
        entry = {"cwd": getattr(proc, "cg_cwd", ""), "args": args, "rc": run.rc}
        entry.update(seconds=round(run.seconds, 2), stderr=last)
        with open(log, "a") as fh:
            fh.write(json.dumps(entry) + "\n")
    return run


def run_cli(
    args: list[str], *, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60
) -> Run:
    t0 = time.monotonic()
    return finish(start_cli(args, cwd=cwd, env=env), args, t0, timeout)


def kill_group(proc: subprocess.Popen[str], sig: int = signal.SIGKILL) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)


def assert_one_line_error(
    run: Run, *words: str, code: int = 2, within: float = 10.0, need_fix: bool = True
) -> str:
    """Exit `code`, exactly one stderr line naming the problem and a fix, no traceback."""
    assert run.rc == code, f"expected exit {code}\n{run}"
    assert "Traceback" not in run.err + run.out, f"traceback without --debug\n{run}"
    errors = [ln for ln in run.err_lines if not ln.startswith(PROGRESS)]
    assert len(errors) == 1, f"expected one stderr line\n{run}"
    line = errors[0]
    assert run.err_lines[-1] == line, f"the error is not the last stderr line\n{run}"
    for w in words:
        assert w.lower() in line.lower(), f"stderr does not name {w!r}\n{run}"
    if need_fix:
        assert "fix:" in line, f"stderr names no fix\n{run}"
    assert run.seconds < within, f"took {run.seconds:.1f} s (limit {within:g} s)\n{run}"
    return line


# --- servers ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class FakeServer:
    """A TCP server on 127.0.0.1 that is not PostgreSQL: http | garbage | silent | close."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = int(self.sock.getsockname()[1])
        self.closing = threading.Event()
        self.clients: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.closing.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.clients.append(conn)
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            if self.mode == "http":
                conn.recv(1024)
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            elif self.mode == "garbage":
                conn.recv(1024)
                conn.sendall(b"\x00\xffnot-postgres\x13\x37" * 8)
            elif self.mode == "silent":
                self.closing.wait(60)
            conn.close()

    def close(self) -> None:
        self.closing.set()
        self.sock.close()
        for c in self.clients:
            with contextlib.suppress(OSError):
                c.close()


@pytest.fixture(scope="session")
def fake_servers() -> Iterator[dict[str, FakeServer]]:
    servers = {m: FakeServer(m) for m in ("http", "garbage", "silent", "close")}
    yield servers
    for s in servers.values():
        s.close()


@pytest.fixture(scope="session")
def pool() -> Iterator[ThreadPoolExecutor]:
    """Runs many short CLI subprocesses at once (each test then reads its own result)."""
    with ThreadPoolExecutor(max_workers=POOL_WORKERS) as executor:
        yield executor


@pytest.fixture(scope="session")
def refused_port() -> int:
    return free_port()


# --- the TCP PostgreSQL server ---------------------------------------------------------


@pytest.fixture(scope="session")
def pg_admin() -> str:
    """Superuser DSN of a TCP PostgreSQL (CHATGATE_HARDENING_DSN or 127.0.0.1:5432)."""
    dsn = os.environ.get(PG_ENV, PG_DEFAULT)
    try:
        with psycopg.connect(parse_dsn(dsn).psycopg_conninfo(), connect_timeout=3) as c:
            c.execute("SELECT 1")
    except psycopg.Error as exc:
        pytest.skip(f"no TCP PostgreSQL at {parse_dsn(dsn).masked}: {exc}")
    return dsn


def admin_exec(admin: str, *sql: str, dbname: str | None = None) -> None:
    dsn = parse_dsn(admin)
    if dbname:
        dsn = dsn.with_params(dbname=dbname)
    with psycopg.connect(dsn.psycopg_conninfo(), autocommit=True) as conn:
        for stmt in sql:
            conn.execute(stmt)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def pg_dbs(pg_admin: str) -> Iterator[Callable[[], str]]:
    """Factory of fresh databases on the TCP server (dropped at the end)."""
    made: list[str] = []

    def make() -> str:
        name = f"hx_{uuid.uuid4().hex[:10]}"
        admin_exec(pg_admin, f'CREATE DATABASE "{name}"')
        made.append(name)
        return parse_dsn(pg_admin).with_params(dbname=name).url()

    yield make
    for name in made:
        with contextlib.suppress(psycopg.Error):
            admin_exec(pg_admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def apply_reference(dsn: str, schema: str = "public") -> None:
    """The reference schema, in-process (what `chatgate init` does)."""
    from chatgate.reference import ensure_reference_schema
    from chatgate.target import Target

    ensure_reference_schema(Target("dsn", parse_dsn(dsn)), schema=schema)


@pytest.fixture(scope="session")
def chat_db(pg_dbs: Callable[[], str]) -> str:
    """A database with the reference schema in public (shared, read-mostly)."""
    dsn = pg_dbs()
    apply_reference(dsn)
    return dsn


@pytest.fixture(scope="session")
def roles(pg_admin: str, chat_db: str) -> Iterator[dict[str, str]]:
    """Login roles on the chat database: password, no privileges, read-only, timeouts."""
    suffix = uuid.uuid4().hex[:6]
    names = {k: f"hx_{k}_{suffix}" for k in ("secret", "nopriv", "readonly", "rotx", "stmt")}
    db = parse_dsn(chat_db).params["dbname"]
    pw = PASSWORD.replace("'", "''")
    admin_exec(
        pg_admin,
        f"CREATE ROLE {names['secret']} LOGIN SUPERUSER PASSWORD '{pw}'",
        f"CREATE ROLE {names['nopriv']} LOGIN",
        f"CREATE ROLE {names['readonly']} LOGIN",
        f"CREATE ROLE {names['rotx']} LOGIN",
        f"CREATE ROLE {names['stmt']} LOGIN SUPERUSER",
        f"ALTER ROLE {names['rotx']} SET default_transaction_read_only = on",
        f"ALTER ROLE {names['stmt']} SET statement_timeout = 1",
    )
    admin_exec(
        pg_admin,
        "REVOKE ALL ON SCHEMA public FROM PUBLIC",
        f"GRANT USAGE ON SCHEMA public TO {names['readonly']}, {names['rotx']}",
        f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {names['readonly']}",
        f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {names['rotx']}",
        dbname=db,
    )
    base = parse_dsn(chat_db)
    out = {k: base.with_params(user=v).url() for k, v in names.items()}
    out["secret"] = base.with_params(user=names["secret"], password=PASSWORD).url()
    yield out
    for name in names.values():
        with contextlib.suppress(psycopg.Error):
            admin_exec(pg_admin, f"DROP OWNED BY {name}", dbname=db)
        with contextlib.suppress(psycopg.Error):
            admin_exec(pg_admin, f"DROP ROLE IF EXISTS {name}")


# --- the Neon-like stack (TLS-only, SCRAM, PgBouncer): shared, never broken on purpose ---


@pytest.fixture(scope="session")
def neon_stack() -> Iterator[Any]:
    """A running stack with the reference schema (skipped without postgres/pgbouncer)."""
    from tests.neon.conftest import running_stack

    with running_stack(rtt_ms=1.0, suspend_after=0) as stack:
        apply_reference(stack.dsn(pooled=False))
        yield stack


@pytest.fixture
def own_neon_stack() -> Iterator[Any]:
    """A stack of this test's own, for faults that stop, freeze or restart its parts."""
    from tests.neon.conftest import running_stack

    with running_stack(rtt_ms=1.0, suspend_after=0) as stack:
        apply_reference(stack.dsn(pooled=False))
        yield stack


# --- row accounting --------------------------------------------------------------------


def harness_rows(dsn: str, schema: str = "public") -> dict[str, int]:
    """Rows of any harness run per chat table (conformance.tagging.any_run_predicate)."""
    from conformance.tagging import any_run_predicate

    out: dict[str, int] = {}
    conninfo = parse_dsn(dsn).psycopg_conninfo()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for table, col in (
            ("users", "id"),
            ("conversations", "user_id"),
            ("messages", "user_id"),
        ):
            sql, params = any_run_predicate(f"{col}", "text")
            sql = sql.replace("$1", "%s").replace("$2", "%s")
            q = f'SELECT count(*) FROM "{schema}"."{table}" WHERE {sql}'
            row = conn.execute(q, params).fetchone()  # type: ignore[call-overload]
            out[table] = int(row[0]) if row else 0
        # messages of harness conversations, whoever they claim to belong to
        row = conn.execute(
            f'SELECT count(*) FROM "{schema}".messages m JOIN "{schema}".conversations c '
            f"ON c.id = m.conversation_id WHERE c.user_id ~ %s",
            ["^cg-[0-9a-f]{8}-[0-9]+$"],
        ).fetchone()
        out["messages_of_harness_conversations"] = int(row[0]) if row else 0
    return out


def checksums(dsn: str, tables: list[str]) -> dict[str, tuple[int, str]]:
    """(row count, md5 of all rows in primary-key order) per table: byte-identical or not."""
    out: dict[str, tuple[int, str]] = {}
    with psycopg.connect(parse_dsn(dsn).psycopg_conninfo(), autocommit=True) as conn:
        for table in tables:
            row = conn.execute(
                f"SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) "
                f"FROM {table} t"
            ).fetchone()
            assert row is not None
            out[table] = (int(row[0]), str(row[1]))
    return out


def clean_rows(dsn: str, cwd: Path, schema: str = "public") -> Run | None:
    """`chatgate clean` when registered; else the same removal in-process (None returned)."""
    if "clean" in registered():
        run = run_cli(["clean", "--dsn", dsn, "--schema", schema], cwd=cwd, timeout=60)
        assert run.rc == 0, str(run)
        return run
    import asyncio

    from chatgate.options import Settings
    from chatgate.target import Target
    from conformance.cleanup import remove_rows
    from conformance.engine import prepare

    async def go() -> None:
        target = Target("dsn", parse_dsn(dsn))
        ctx = await prepare(target, Settings(schema=schema))
        assert ctx.design is not None
        conn = await target.connect()
        try:
            await remove_rows(conn, design=ctx.design, tag=None)
        finally:
            await conn.close()

    asyncio.run(go())
    return None


def chatgate_backends(admin: str, dbname: str) -> list[int]:
    """pids of chatgate's sessions on a database (application_name starts with chatgate)."""
    with psycopg.connect(parse_dsn(admin).psycopg_conninfo(), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid() "
            "AND (application_name LIKE 'chatgate%%' OR application_name LIKE 'locust%%')",
            [dbname],
        ).fetchall()
    return [int(r[0]) for r in rows]


def wait_for(pred: Callable[[], Any], timeout: float, what: str, step: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


# --- known bugs in files this suite's owner does not own -------------------------------
# (item-name pattern, reason). xfail(strict=False): the row keeps running and shows XPASS
# once the fix lands; then delete the entry. Each is listed with its fix in docs/safety.md.
KNOWN_BUGS: list[tuple[str, str]] = []


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    import fnmatch

    for item in items:
        if "tests/hardening" not in str(item.path).replace(os.sep, "/"):
            continue
        for pattern, reason in KNOWN_BUGS:
            if fnmatch.fnmatchcase(item.name, pattern.replace("[", "[[]")):
                item.add_marker(pytest.mark.xfail(strict=False, reason=f"known bug: {reason}"))
