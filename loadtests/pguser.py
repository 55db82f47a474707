"""A Locust `User` for PostgreSQL: psycopg 3 under gevent, exact latencies, Locust events.

Import order matters: `locust` monkey-patches the standard library first, then psycopg (which
detects gevent's patching and waits cooperatively). Every call fires `events.request` (so the
web UI and Locust's own stats see it) and records its exact latency in microseconds in this
process's `Collector` (Locust's own percentiles round sub-100 ms times to whole ms).
"""

import os
import time
from collections.abc import Callable
from typing import Any

import locust  # noqa: F401  (first: gevent's monkey-patching must precede psycopg)
import psycopg
from locust import User
from locust.env import Environment
from locust.runners import LocalRunner, MasterRunner, WorkerRunner

from chatgate.dsn import parse_dsn
from loadtests.collect import KEY, Collector, Merger

COLLECTOR = Collector()
FLUSH_MESSAGE = "chatgate_flush"
FLUSH_TIMEOUT_S = 15.0
Conn = psycopg.Connection[Any]


class PgClient:
    """One psycopg connection whose calls are timed, recorded and reported to Locust."""

    def __init__(self, environment: Environment, dsn: str, *, sleep_ms: float = 0.0) -> None:
        parsed = parse_dsn(dsn)
        self.environment = environment
        self.conninfo = parsed.psycopg_conninfo()
        self.kwargs = parsed.psycopg_kwargs()
        self.sleep_s = sleep_ms / 1000.0  # test hook: an artificially slow operation
        self.conn: Conn | None = None

    def connect(self) -> Conn:
        """The connection, (re)opened when needed; autocommit, `$n` placeholders."""
        if self.conn is None or self.conn.closed:
            self.conn = psycopg.Connection.connect(
                self.conninfo, autocommit=True, cursor_factory=psycopg.RawCursor, **self.kwargs
            )
        return self.conn

    def call(self, op: str, fn: Callable[[Conn], int], *, intended: float | None = None) -> bool:
        """Run `fn` as operation `op`; latency counts from `intended` (a perf_counter time)."""
        start = time.perf_counter()
        origin = min(intended, start) if intended is not None else start
        exc: Exception | None = None
        length = 0
        try:
            conn = self.connect()
            if self.sleep_s:
                conn.execute("SELECT pg_sleep($1)", [self.sleep_s])
            length = fn(conn)
        except Exception as error:  # any failure counts (GreenletExit is not an Exception)
            exc = error
            self._drop_if_broken()
        end = time.perf_counter()
        COLLECTOR.record(op, end - origin, end - start, ok=exc is None)
        hooks(self.environment).request.fire(
            request_type="pg",
            name=op,
            response_time=(end - origin) * 1000.0,
            response_length=length,
            exception=exc,
            context={},
        )
        return exc is None

    def close(self) -> None:
        """Close the connection (idempotent)."""
        if self.conn is not None and not self.conn.closed:
            self.conn.close()
        self.conn = None

    def _drop_if_broken(self) -> None:
        if self.conn is not None and (self.conn.broken or self.conn.closed):
            self.conn = None


class PostgresUser(User):
    """Base for users that talk to PostgreSQL; `host` is the DSN (or CHATGATE_DSN)."""

    abstract = True
    sleep_ms = 0.0

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        dsn = self.host or os.environ.get("CHATGATE_DSN") or ""
        if not dsn:
            raise ValueError("no DSN: pass --host postgresql://... or set CHATGATE_DSN")
        self.client = PgClient(environment, dsn, sleep_ms=self.sleep_ms)

    def on_stop(self) -> None:
        self.client.close()


def hooks(environment: Environment) -> Any:
    """Locust's event hooks (untyped in Locust, hence Any)."""
    return environment.events


def install_collection(environment: Environment, on_done: Callable[[Merger], None]) -> None:
    """Wire shipping and merging for this process's role; `on_done` gets the final merge."""
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        _install_worker(environment, runner)
    elif isinstance(runner, MasterRunner):
        _install_master(environment, runner, on_done)
    elif isinstance(runner, LocalRunner):
        _install_local(environment, on_done)


def _install_worker(environment: Environment, runner: WorkerRunner) -> None:
    def report(client_id: str, data: dict[str, Any], **_kw: Any) -> None:
        data[KEY] = COLLECTOR.payload()

    def flush(environment: Environment, msg: Any, **_kw: Any) -> None:
        runner.stop()  # stop the users, so nothing is recorded after the final report
        COLLECTOR.final = True
        data: dict[str, Any] = {}
        hooks(environment).report_to_master.fire(client_id=runner.client_id, data=data)
        runner.send_message("stats", data)

    hooks(environment).report_to_master.add_listener(report)
    runner.register_message(FLUSH_MESSAGE, flush)


def _install_master(
    environment: Environment, runner: MasterRunner, on_done: Callable[[Merger], None]
) -> None:
    merger = Merger()

    def report(client_id: str, data: dict[str, Any], **_kw: Any) -> None:
        if KEY in data:
            merger.add(client_id, data[KEY])

    def stopping(**_kw: Any) -> None:
        expected = {c.id for c in runner.clients.all}
        runner.send_message(FLUSH_MESSAGE, None)
        deadline = time.monotonic() + FLUSH_TIMEOUT_S
        while not expected <= merger.finals() and time.monotonic() < deadline:
            time.sleep(0.05)

    hooks(environment).worker_report.add_listener(report)
    hooks(environment).test_stopping.add_listener(stopping)
    hooks(environment).quitting.add_listener(lambda **_kw: on_done(merger))


def _install_local(environment: Environment, on_done: Callable[[Merger], None]) -> None:
    def quitting(**_kw: Any) -> None:
        merger = Merger()
        merger.add("local", COLLECTOR.payload(final=True))
        on_done(merger)

    hooks(environment).quitting.add_listener(quitting)
