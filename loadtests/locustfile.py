"""Chat users against PostgreSQL: `locust -f loadtests/locustfile.py --host DSN` (or CHATGATE_DSN).

A user opens a conversation, fetches its history, appends a user message and, after a think
time, the assistant's reply; sometimes it lists its conversations or starts a new one. User ids
carry the run's tag (conformance/tagging.py), so `chatgate clean` finds every row; the rows of
the run are removed when it ends unless `--cg-keep-data`.

Closed loop by default. `--cg-rate OPS` is open loop: each user gets an equal share of a fixed
arrival rate, and latency counts from each operation's intended start (coordinated omission
corrected), so a slow database shows as queueing delay instead of fewer requests.
Exact latencies (microseconds) go to `--cg-out PATH` as JSON, merged across workers.
"""

import logging
import os
import random
import re
import subprocess
import sys
import time
from functools import cache
from pathlib import Path
from typing import Any

from locust import constant, events, task
from locust.env import Environment
from locust.runners import STATE_RUNNING, STATE_SPAWNING

from chatgate.dsn import parse_dsn
from conformance.design import Design
from conformance.tagging import RunTag, new_run_id
from loadtests import chatsql
from loadtests.chatops import ChatOps
from loadtests.collect import Merger, write_json
from loadtests.designfile import design_from_json
from loadtests.histogram import Recorder
from loadtests.pguser import COLLECTOR, PostgresUser, hooks, install_collection

EVENTS: Any = events  # Locust's hooks are untyped
log = logging.getLogger("chatgate.load")
logging.getLogger("psycopg").setLevel(logging.ERROR)  # rollbacks of users killed at the end
USERS_PER_WORKER = 1000
REPR = re.compile(r"^(\w+)\((['\"])(.*)\2\)$", re.S)  # Name('message') -> Name: message
# Operation names, as `chatgate bench` names the same statements (loadtests/operations.py).
HISTORY, APPEND = "history.latest50", "append.message"
OPEN, RECENT, NEW = "conversation.open", "conversations.recent", "conversation.new"


def _arguments(parser: Any, **_kw: Any) -> None:
    group = parser.add_argument_group("chatgate")
    group.add_argument("--cg-out", default="", help="write the exact merged latencies here (JSON)")
    group.add_argument("--cg-design", default="", help="design JSON (default: discover)")
    group.add_argument("--cg-run-id", default=new_run_id(), help="run tag for harness rows")
    group.add_argument("--cg-rate", type=float, default=0.0, help="open loop: total ops/s")
    group.add_argument("--cg-users", type=int, default=0, help="total users (open-loop share)")
    group.add_argument("--cg-think", type=float, default=1.0, help="think-time scale (s)")
    group.add_argument("--cg-test-sleep-ms", type=float, default=0.0, help="test hook: pg_sleep")
    group.add_argument("--cg-rls-setting", default="app.user_id", help="setting RLS reads")
    group.add_argument("--cg-keep-data", action="store_true", help="keep this run's rows")


def _opt(environment: Environment, name: str) -> Any:
    return getattr(environment.parsed_options, name, None)


@cache
def load_sql(design_path: str, dsn: str) -> tuple[Design, chatsql.ChatSql]:
    """The design (from the file, else discovered in a subprocess) and its statements."""
    if design_path and Path(design_path).is_file():
        text = Path(design_path).read_text()
    else:
        cmd = [sys.executable, "-m", "loadtests.designfile"]  # the DSN goes in the environment
        env = {**os.environ, "CHATGATE_DSN": dsn}
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"design discovery failed: {done.stderr.strip()[-500:]}")
        text = done.stdout
    design = design_from_json(text)
    return design, chatsql.build(design)


class ChatUser(PostgresUser):
    """One chat app user (closed loop with think times, or paced by `--cg-rate`)."""

    wait_time = constant(0)
    counter = 0

    def on_start(self) -> None:
        env = self.environment
        self.sleep_ms = float(_opt(env, "cg_test_sleep_ms") or 0.0)
        self.client.sleep_s = self.sleep_ms / 1000.0
        self.design, self.sql = load_sql(_opt(env, "cg_design") or "", self.host or _dsn())
        self.tag = RunTag(_opt(env, "cg_run_id") or new_run_id())
        self.think = float(_opt(env, "cg_think") if _opt(env, "cg_think") is not None else 1.0)
        self.interval = _interval(env)
        self.next_at = time.perf_counter() + random.uniform(0, self.interval or 0)
        ChatUser.counter += 1
        index = getattr(env.runner, "worker_index", 0) * USERS_PER_WORKER + ChatUser.counter
        user_id = self.tag.user_id(index, chatsql.user_kind(self.design))
        rls_setting = _opt(env, "cg_rls_setting") or "app.user_id"
        self.ops = ChatOps(self.design, user_id, self.sql, rls_setting=rls_setting)
        self.client.call("setup", self.ops.setup)

    @task
    def session(self) -> None:
        """One visit: pick a conversation, open it, read it, talk for a few turns."""
        conv = self._pick()
        if conv is None:
            return
        ops = self.ops
        self._step(OPEN, lambda c: ops.open(c, conv), self.think * 0.5)
        self._step(HISTORY, lambda c: ops.history(c, conv), 0.0)
        for _ in range(random.randint(1, 3)):
            typing = self.think * random.uniform(1.0, 3.0)
            self._step(APPEND, lambda c: ops.append(c, conv, "user"), typing)
            reply = self.think * random.uniform(0.5, 1.5)
            self._step(APPEND, lambda c: ops.append(c, conv, "assistant"), reply)

    def _pick(self) -> Any:
        """Sometimes list conversations or start a new one; else one of ours."""
        roll = random.random()
        ops = self.ops
        if roll < 0.15:
            self._step(RECENT, ops.recent, 0.0)
        if roll > 0.9 or not ops.conversations:
            self._step(
                "new_conversation", lambda c: int(bool(ops.new_conversation(c))), self.think * 0.5
            )
        return random.choice(ops.conversations) if ops.conversations else None

    def _step(self, op: str, fn: Any, pause_s: float) -> None:
        """Wait (think time, or the open-loop schedule) and run one timed operation."""
        intended = None
        if self.interval:
            self.next_at += self.interval
            intended = self.next_at
            delay = intended - time.perf_counter()
        else:
            delay = pause_s
        if delay > 0:
            time.sleep(delay)
        self.client.call(op, fn, intended=intended)


def _dsn() -> str:
    return os.environ.get("CHATGATE_DSN", "")


def _interval(env: Environment) -> float:
    """Seconds between one user's operations in open loop (0: closed loop)."""
    rate = float(_opt(env, "cg_rate") or 0.0)
    users = int(_opt(env, "cg_users") or 0) or int(_opt(env, "num_users") or 1)
    return users / rate if rate > 0 else 0.0


def _on_init(environment: Environment, **_kw: Any) -> None:
    install_collection(environment, lambda merger: _finish(environment, merger))
    _quit_with_parent(environment)
    if _opt(environment, "cg_out") and not _opt(environment, "worker"):
        hooks(environment).test_start.add_listener(lambda **_k: _start_progress(environment))


def _finish(environment: Environment, merger: Merger) -> None:
    """Write the merged result, print the exact percentiles, remove this run's rows."""
    runner = environment.runner
    if runner is not None and runner.state in (STATE_SPAWNING, STATE_RUNNING):
        runner.stop()  # quitting mid-run (SIGTERM): no user may write after the cleanup
    meta = {
        "run_id": _opt(environment, "cg_run_id"),
        "rate": _opt(environment, "cg_rate"),
        "users": _opt(environment, "cg_users") or _opt(environment, "num_users"),
        "locust": {
            "requests": environment.stats.total.num_requests,
            "failures": environment.stats.total.num_failures,
        },
        "errors": first_errors(environment),
    }
    doc = merger.document(meta)
    if out := _opt(environment, "cg_out"):
        write_json(Path(out), doc)
    for op, text in sorted(doc["operations"].items()):
        log.info("exact %s: %s", op, Recorder.decode(text).summary())
    if not _opt(environment, "cg_keep_data"):
        _cleanup(environment)


def first_errors(environment: Environment) -> dict[str, str]:
    """Per operation, the first error message Locust recorded (earliest first)."""
    out: dict[str, str] = {}
    for err in sorted(environment.stats.errors.values(), key=lambda e: e.first_seen or 0.0):
        exc = err.error  # an exception here; the repr() text a worker shipped
        if isinstance(exc, BaseException):
            text = f"{type(exc).__name__}: {exc}"
        else:
            text = REPR.sub(r"\1: \3", str(exc))
        out.setdefault(err.name, (text.strip().splitlines() or [""])[0][:500])
    return out


def _cleanup(environment: Environment) -> None:
    """Delete the rows this run's users wrote (logged, never raised)."""
    dsn = environment.host or _dsn()
    try:
        design, _ = load_sql(_opt(environment, "cg_design") or "", dsn)
        import psycopg

        parsed = parse_dsn(dsn)
        with psycopg.Connection.connect(
            parsed.psycopg_conninfo(), autocommit=True, cursor_factory=psycopg.RawCursor
        ) as conn:
            tag = RunTag(_opt(environment, "cg_run_id"))
            for sql, params in chatsql.cleanup_statements(design, tag):
                conn.execute(sql, params)
    except Exception as exc:  # cleanup must not hide the result
        log.warning("could not remove this run's rows (use `chatgate clean`): %s", exc)


def _quit_with_parent(environment: Environment) -> None:
    """Quit (stop users, write, clean up) once the process that started this one is gone."""
    import gevent

    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            gevent.sleep(1.0)
        log.warning("parent process %d is gone; quitting", parent)
        if environment.runner is not None:
            environment.runner.quit()

    gevent.spawn(watch)


def _start_progress(environment: Environment) -> None:
    """Write a small progress file every second (the runner shows it)."""
    import gevent

    path = Path(str(_opt(environment, "cg_out")) + ".progress")
    started = time.time()

    def loop() -> None:
        while True:
            total = environment.stats.total
            write_json(
                path,
                {
                    "elapsed": time.time() - started,
                    "requests": total.num_requests,
                    "failures": total.num_failures,
                    "users": getattr(environment.runner, "user_count", 0),
                },
            )
            gevent.sleep(1.0)

    gevent.spawn(loop)


EVENTS.init_command_line_parser.add_listener(_arguments)
EVENTS.init.add_listener(_on_init)

__all__ = ["COLLECTOR", "ChatUser", "PostgresUser"]
