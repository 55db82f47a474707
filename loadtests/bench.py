"""The latency benchmark: every operation timed one call at a time, every sample kept exactly.

Why not pytest-benchmark's `benchmark` fixture for the timing loop: it calls a synchronous
function per round, so an asyncpg call would pay an event-loop hop (tens of microseconds) on
top of a 0.1 ms query, and it cannot interleave subjects. We time inside the loop with
perf_counter_ns, record every sample into an HDR `Recorder` (exact percentiles, mergeable),
and run the same samples through pytest-benchmark's `Stats` so the result carries its familiar
summary (mean, stddev, IQR, outliers, ops) next to p50/p95/p99.

Prepared statements are warmed past PostgreSQL's generic-plan switch (5 custom plans) before
any sample counts, and the latest-50 read alternates between conversation lengths inside one
loop, so machine noise hits every length alike and only the ratio is judged.
"""

import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import asyncpg
from pytest_benchmark.stats import Stats

from conformance.design import Design
from conformance.tagging import any_run_predicate
from loadtests.histogram import Recorder
from loadtests.operations import Operation, Subject, operations
from loadtests.rows import user_kind
from loadtests.seed import map_role

Client = Literal["asyncpg", "orm"]
Call = Callable[[Operation, Subject], Awaitable[Any]]
SHORT = 100  # messages: the short conversation
MIDDLE = 10_000  # the middle one (or the geometric mean of short and longest when smaller)
WARMUP = 12  # > 5: past the switch to a generic plan
MIN_SAMPLES = 100
SCALING_SAMPLES = 300  # at least this many latest-50 reads per length: p95 needs a tail


@dataclass
class BenchConfig:
    """How many samples, which client, prepared or not."""

    client: Client = "asyncpg"
    read_samples: int = 1_000
    write_samples: int = 300
    warmup: int = WARMUP
    statement_mode: str = "prepared"  # "unprepared" behind a transaction pooler
    budget_s: float = 20.0  # per operation: sampling stops after this (once MIN_SAMPLES)


@dataclass
class Measurement:
    """One operation on one subject: its recorder, its raw samples (s) and parameters."""

    operation: str
    length: int
    recorder: Recorder = field(default_factory=Recorder)
    samples: list[float] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return (
            f"{self.operation}@{self.length}"
            if self.operation.startswith("history")
            else (self.operation)
        )

    def add(self, seconds: float) -> None:
        self.recorder.record_s(seconds)
        self.samples.append(seconds)

    def benchmark_stats(self) -> dict[str, Any]:
        """pytest-benchmark's summary of the samples (seconds)."""
        stats = Stats()  # type: ignore[no-untyped-call]
        for s in self.samples:
            stats.update(s)  # type: ignore[no-untyped-call]
        data: dict[str, Any] = stats.as_dict() if self.samples else {}  # type: ignore[no-untyped-call]
        return data


async def find_subjects(conn: asyncpg.Connection, design: Design) -> dict[str, Subject]:
    """Harness conversations to read: ~100, a middle length, the longest; one to append to."""
    c, m = design.columns["conversations"], design.columns["messages"]
    pred, params = any_run_predicate(f"c.{c['user_id'].sql}", user_kind(design))
    rows = await conn.fetch(
        f"SELECT id, uid, n, sum(n) OVER (PARTITION BY uid) AS owner_n FROM ("
        f"SELECT c.{c['id'].sql} AS id, c.{c['user_id'].sql} AS uid, count(*) AS n "
        f"FROM {design.table('conversations').sql} c JOIN {design.table('messages').sql} m "
        f"ON m.{m['conversation_id'].sql} = c.{c['id'].sql} WHERE {pred} GROUP BY 1, 2) t",
        *params,
    )
    if not rows:
        return {}
    roles = (map_role("user", design.roles), map_role("assistant", design.roles))
    ranked = sorted(rows, key=lambda r: r["n"])

    def subject(r: asyncpg.Record) -> Subject:
        return Subject(r["id"], r["uid"], int(r["n"]), (), *roles)

    def closest(target: float) -> asyncpg.Record:
        # log distance; among equals the lightest owner (a typical user, not a power user)
        return min(
            ranked, key=lambda r: (abs(math.log(r["n"] / target)), r["owner_n"], str(r["id"]))
        )

    top = ranked[-1]
    short = closest(SHORT)
    middle = MIDDLE if top["n"] >= 5 * MIDDLE else math.sqrt(SHORT * top["n"])
    out = {
        "short": subject(short),
        "middle": subject(closest(middle)),
        "longest": subject(top),
    }
    used = {s.conversation_id for s in out.values()}
    spare = [r for r in ranked if r["id"] not in used and r["n"] >= 10] or ranked
    out["append"] = subject(spare[len(spare) // 2])
    longest = out["longest"]
    order = ", ".join(f'"{k}"' for k in design.order_key)
    mid = await conn.fetchrow(
        f"SELECT {order} FROM {design.table('messages').sql} WHERE "
        f"{m['conversation_id'].sql} = $1 ORDER BY {order} OFFSET $2 LIMIT 1",
        longest.conversation_id,
        longest.length // 2,
    )
    out["longest"] = Subject(
        longest.conversation_id,
        longest.user_id,
        longest.length,
        tuple(mid.values()) if mid else (),
        *roles,
    )
    return out


def read_lengths(subjects: dict[str, Subject]) -> list[Subject]:
    """Distinct read subjects from shortest to longest."""
    seen: dict[Any, Subject] = {}
    for key in ("short", "middle", "longest"):
        s = subjects.get(key)
        if s is not None:
            seen.setdefault(s.conversation_id, s)
    return sorted(seen.values(), key=lambda s: s.length)


class AsyncpgClient:
    """Runs operations on one asyncpg connection, statements prepared once and reused."""

    def __init__(self, conn: asyncpg.Connection, *, prepared: bool = True) -> None:
        self.conn = conn
        self.prepared = prepared
        self._stmts: dict[str, Any] = {}

    async def _run(self, sql: str, args: list[Any]) -> Any:
        if not self.prepared:
            return await self.conn.fetch(sql, *args)
        stmt = self._stmts.get(sql)
        if stmt is None:
            stmt = self._stmts[sql] = await self.conn.prepare(sql)
        return await stmt.fetch(*args)

    async def __call__(self, op: Operation, subject: Subject) -> Any:
        if op.kind == "read":
            return await self._run(op.statements[0], subject.values(op.args[0]))
        async with self.conn.transaction():
            for sql, names in zip(op.statements, op.args, strict=True):
                await self._run(sql, subject.values(names))
        return None


async def timed(call: Call, op: Operation, subject: Subject, into: Measurement) -> None:
    """One call, timed; errors counted, not timed."""
    t0 = time.perf_counter_ns()
    try:
        await call(op, subject)
    except (asyncpg.PostgresError, OSError):
        into.recorder.record_error()
        return
    into.add((time.perf_counter_ns() - t0) / 1e9)


async def run_bench(
    call: Call, design: Design, subjects: dict[str, Subject], config: BenchConfig
) -> list[Measurement]:
    """Measure every operation; latest-50 interleaved across conversation lengths."""
    ops = operations(design)
    base = {"client": config.client, "statement_mode": config.statement_mode}
    out: list[Measurement] = []

    def meas(op: str, s: Subject) -> Measurement:
        m = Measurement(op, s.length, params={**base, "conversation_length": s.length})
        out.append(m)
        return m

    lengths = read_lengths(subjects)
    latest = ops["history.latest50"]
    series = [(s, meas(latest.name, s)) for s in lengths]
    for _ in range(config.warmup):
        for s, _m in series:
            await call(latest, s)
    deadline = time.monotonic() + config.budget_s
    for i in range(max(config.read_samples, SCALING_SAMPLES)):
        for s, m in series:
            await timed(call, latest, s, m)
        if i >= MIN_SAMPLES and time.monotonic() > deadline:
            break  # a trapped plan can take 100+ ms a call: keep the run bounded
    plan = [
        ("history.full_short", subjects["short"], config.read_samples),
        ("history.page_deep", subjects["longest"], config.read_samples),
        ("conversations.recent", subjects["longest"], config.read_samples),
        ("append.message", subjects["append"], config.write_samples),
        ("append.turn", subjects["append"], config.write_samples),
    ]
    for name, s, n in plan:
        if name == "history.page_deep" and not s.cursor:
            continue
        op, m = ops[name], meas(name, s)
        for _ in range(config.warmup):
            await call(op, s)
        deadline = time.monotonic() + config.budget_s
        for i in range(n):
            await timed(call, op, s, m)
            if i >= MIN_SAMPLES and time.monotonic() > deadline:
                break
    return out


def scaling_series(measurements: list[Measurement]) -> list[dict[str, Any]]:
    """[{"operation","conversation_length","p50","p95","p99"}] for the latest-50 read."""
    rows = [m for m in measurements if m.operation == "history.latest50"]
    return [
        {
            "operation": m.operation,
            "conversation_length": m.length,
            **{f"p{p}": round(m.recorder.percentile_ms(p), 4) for p in (50, 95, 99)},
        }
        for m in sorted(rows, key=lambda m: m.length)
    ]
