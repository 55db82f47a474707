"""Removing harness rows: by the run's mark (conformance.tagging), never anything else.

One transaction: messages of harness conversations (and harness-marked messages), then harness
conversations, then harness users. It does not rely on ON DELETE CASCADE. Checks clean up in
`finally` blocks (Ctrl-C cancels them through asyncio.run); `sigterm_as_interrupt` gives SIGTERM
the same path; the engine's `final_cleanup` sweeps a whole check run.
"""

import asyncio
import contextlib
import signal
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, Any

import asyncpg  # type: ignore[import-untyped,unused-ignore]

from chatgate.dsn import command_timeout
from chatgate.target import Target
from conformance.design import Design
from conformance.tagging import RunTag, any_run_predicate

if TYPE_CHECKING:
    from conformance.shape import Shape

# How long clean_target retries a refused or lost connection (a restarting server).
RETRY_S = 15.0
# Per DELETE: removing a big run's rows may take longer than one statement's usual limit.
DELETE_TIMEOUT_S = 300.0
_LOST_STATES = ("57P01", "57P02", "57P03")
CLOSE_TIMEOUT_S = 1.0


@dataclass(frozen=True)
class Removed:
    """How many harness rows one cleanup removed, per logical table."""

    messages: int = 0
    conversations: int = 0
    users: int = 0

    @property
    def total(self) -> int:
        return self.messages + self.conversations + self.users

    def as_dict(self) -> dict[str, int]:
        return {"messages": self.messages, "conversations": self.conversations, "users": self.users}


def _predicate(
    design: Design, column_sql: str, kind_of: str, tag: RunTag | None, offset: int
) -> tuple[str, list[Any]]:
    """The mark predicate for `column_sql`, with $n numbered from offset + 1."""
    kind = design.key_kinds.get(kind_of, "text")
    sql, params = tag.predicate(column_sql, kind) if tag else any_run_predicate(column_sql, kind)
    for i in range(len(params), 0, -1):
        sql = sql.replace(f"${i}", f"${i + offset}")
    return sql, params


def _statements(design: Design, tag: RunTag | None) -> list[tuple[str, str, list[Any]]]:
    """(table, DELETE statement, parameters) in the order that needs no cascade."""
    conv, msgs = design.table("conversations").sql, design.table("messages").sql
    c = {k: v.sql for k, v in design.columns["conversations"].items()}
    m = {k: v.sql for k, v in design.columns["messages"].items()}
    owner, p1 = _predicate(design, f"c.{c['user_id']}", "users", tag, 0)
    by_conv, p2 = _predicate(design, f"x.{m['conversation_id']}", "conversations", tag, len(p1))
    clauses = [
        f"x.{m['conversation_id']} IN (SELECT c.{c['id']} FROM {conv} c WHERE {owner})",
        by_conv,
    ]
    params = p1 + p2
    if "user_id" in m:
        by_user, p3 = _predicate(design, f"x.{m['user_id']}", "users", tag, len(params))
        clauses.append(by_user)
        params += p3
    out = [("messages", f"DELETE FROM {msgs} x WHERE {' OR '.join(clauses)}", params)]
    owner_c, pc = _predicate(design, f"c.{c['user_id']}", "users", tag, 0)
    out.append(("conversations", f"DELETE FROM {conv} c WHERE {owner_c}", pc))
    if design.has("users"):
        uid = design.columns["users"]["id"].sql
        by_id, pu = _predicate(design, f"u.{uid}", "users", tag, 0)
        out.append(("users", f"DELETE FROM {design.table('users').sql} u WHERE {by_id}", pu))
    return out


async def remove_rows(
    conn: asyncpg.Connection,
    *,
    design: Design,
    tag: RunTag | None,
    as_users: Sequence[Any] = (),
    setting: str | None = None,
) -> Removed:
    """Delete one run's rows (`tag`), or every harness run's rows (`tag=None`), in one tx.

    Under row-level security that applies to the connecting role, pass the run's user ids and
    the RLS setting: each user's rows are then deleted with that user set, then the rest.
    """
    counts: dict[str, int] = {"messages": 0, "conversations": 0, "users": 0}
    passes: list[Any] = [*as_users, None] if setting else [None]
    async with conn.transaction():
        for uid in passes:
            if uid is not None:
                await conn.execute("SELECT set_config($1, $2, true)", setting, str(uid))
            for table, sql, params in _statements(design, tag):
                if table == "users" and uid is not None:
                    continue
                status = await conn.execute(sql, *params, timeout=delete_timeout())
                counts[table] += int(status.split()[-1])
    return Removed(**counts)


async def remove_made_rows(conn: asyncpg.Connection, access: "Shape") -> Removed:
    """Delete the rows of `access`'s run (RLS-aware: as each user it made, then the rest)."""
    rls = access.rls_on and access.rls_setting
    return await remove_rows(
        conn,
        design=access.d,
        tag=access.tag,
        as_users=sorted(access.users_made, key=str) if rls else (),
        setting=access.rls_setting if rls else None,
    )


async def count_rows(conn: asyncpg.Connection, *, design: Design, tag: RunTag | None) -> Removed:
    """How many rows `remove_rows` would delete (nothing is changed)."""
    counts: dict[str, int] = {}
    for table, sql, params in _statements(design, tag):
        where = sql.split(" WHERE ", 1)[1]
        source = sql.split("DELETE FROM ", 1)[1].split(" WHERE ", 1)[0]
        query = f"SELECT count(*) FROM {source} WHERE {where}"
        counts[table] = await conn.fetchval(query, *params, timeout=delete_timeout())
    return Removed(**counts)


async def clean_target(
    target: Target,
    design: Design,
    tag: RunTag | None,
    *,
    as_users: Sequence[Any] = (),
    setting: str | None = None,
    retry_s: float = RETRY_S,
) -> Removed:
    """Open a connection and remove the rows; refused or lost connections retried for retry_s."""
    deadline = time.monotonic() + retry_s
    while True:
        try:
            conn = await target.connect()
            try:
                return await remove_rows(
                    conn, design=design, tag=tag, as_users=as_users, setting=setting
                )
            finally:
                await close_quietly(conn)
        except Exception as exc:
            if not connection_error(exc) or time.monotonic() >= deadline:
                raise
        await asyncio.sleep(0.5)


def delete_timeout() -> float:
    """Seconds one cleanup statement may take: generous, DELETEs on big tables are slow."""
    return max(command_timeout(), DELETE_TIMEOUT_S)


def connection_error(exc: BaseException) -> bool:
    """Whether `exc` (or what it wraps) is a refused or lost connection; a timeout (a hung
    server, where retrying only waits longer) is not."""
    seen: BaseException | None = exc
    for _ in range(10):  # the cause/context chain, bounded (it may loop)
        if seen is None:
            break
        if isinstance(seen, TimeoutError):
            return False
        state = getattr(seen, "sqlstate", None)
        if isinstance(state, str) and (state.startswith("08") or state in _LOST_STATES):
            return True
        if isinstance(seen, (OSError, EOFError, asyncpg.ConnectionDoesNotExistError)):
            return True
        text = str(seen).lower()
        if isinstance(seen, asyncpg.InterfaceError) and ("closed" in text or "connection" in text):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


async def close_quietly(conn: asyncpg.Connection) -> None:
    """Close within 1 s, else drop the socket (after a timeout, a graceful close waits for the
    cancel request, which a hung server never answers)."""
    try:
        await conn.close(timeout=CLOSE_TIMEOUT_S)
    except Exception:
        conn.terminate()


def clean_blocking(target: Target, design: Design, tag: RunTag | None) -> Removed:
    """`clean_target` from synchronous code, even while another event loop runs here."""
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["ok"] = asyncio.run(clean_target(target, design, tag))
        except BaseException as exc:  # reported to the caller below
            box["err"] = exc

    thread = threading.Thread(target=work, name="chatgate-cleanup")
    thread.start()
    thread.join()
    if "err" in box:
        raise box["err"]
    result: Removed = box["ok"]
    return result


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM behaves like Ctrl-C meanwhile, so running checks clean up before exiting."""
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _raise_interrupt) if main else None
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")
