"""The main job behind `chatgate run`: check, seed, bench, a short load run, every report.

Each phase produces its own `RunResult`; `combine` folds them into one, with one verdict per
check id (a perf verdict measured by both bench and load passes only if both pass).
"""

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import asyncpg

from chatgate.errors import SetupError
from chatgate.options import Settings
from chatgate.reference import ensure_reference_schema
from chatgate.target import Target, open_target
from reports.result import CheckResult, RunResult

Say = Callable[[str], None]


@dataclass(frozen=True)
class JobPlan:
    """What `chatgate run` does besides the shared settings."""

    out: Path = Path("chatgate-report")
    scale: str = "small"
    load_users: int = 10
    load_seconds: float = 15.0
    load: bool = True
    keep_data: bool = False


def run_job(settings: Settings, plan: JobPlan, *, say: Say) -> RunResult:
    """Run every phase against the target (a fresh embedded database by default)."""
    started = time.perf_counter()
    settings = replace(settings, baseline=None)  # run's baseline is a result, not a snapshot
    with _job_target(settings, say=say) as target:
        say(f"target: {target.masked} (PostgreSQL {target.server_version})")
        say("1/4 conformance checks")
        checked = asyncio.run(_check(target, settings))
        say("2/4 seeding and benchmarks")
        benched = _bench(target, settings, plan)
        loaded = None
        if plan.load:
            say(f"3/4 load: {plan.load_users} users for {plan.load_seconds:g} s")
            loaded = _load(target, settings, plan)
        if not plan.keep_data and target.kind == "dsn":
            say("cleaning up the harness's rows")
            _clean(target, settings)
    result = combine(checked, benched, loaded)
    result.duration_s = round(time.perf_counter() - started, 1)
    return result


@contextmanager
def _job_target(settings: Settings, *, say: Say) -> Iterator[Target]:
    """The user's target, or a fresh embedded database with the reference schema."""
    target = open_target(settings.dsn, target=settings.target, pooled=settings.pooled or None)
    try:
        if target.kind == "dsn":
            yield target
            return
        name = f"chatgate_run_{uuid.uuid4().hex[:8]}"
        asyncio.run(_admin(target, f'CREATE DATABASE "{name}"'))
        fresh = replace(target, dsn=target.dsn.with_params(dbname=name), _cleanup=[])
        say(f"fresh database {name} on the {target.kind} server, reference schema applied")
        try:
            ensure_reference_schema(fresh, schema=settings.schema)
            yield fresh
        finally:
            asyncio.run(_admin(target, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        target.close()


async def _admin(target: Target, sql: str) -> None:
    conn: asyncpg.Connection = await target.connect()
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _check(target: Target, settings: Settings) -> RunResult:
    from conformance.engine import check_target

    return await check_target(target, settings, command="run")


def _bench(target: Target, settings: Settings, plan: JobPlan) -> RunResult:
    from loadtests.perfrun import BenchOptions, bench_target

    return asyncio.run(bench_target(target, settings, BenchOptions(scale=plan.scale)))


def _load(target: Target, settings: Settings, plan: JobPlan) -> RunResult:
    from loadtests.load import LoadConfig, run_load

    cfg = LoadConfig(users=plan.load_users, duration_s=plan.load_seconds)
    return run_load(target, settings, cfg)


def _clean(target: Target, settings: Settings) -> None:
    from conformance.cleanup import clean_blocking
    from conformance.engine import prepare

    ctx = asyncio.run(prepare(target, settings))
    if ctx.design is None:
        raise SetupError("cannot clean up: the chat tables are gone")
    clean_blocking(target, ctx.design, None)


def combine(checked: RunResult, benched: RunResult, loaded: RunResult | None) -> RunResult:
    """One result: checks by id (bench and load perf verdicts merged), all latencies, series."""
    result = replace(checked, command="run", latency=dict(benched.latency), series={})
    by_id = {c.id: c for c in result.checks}
    for phase, part in (("bench", benched), ("load", loaded)):
        if part is None:
            continue
        for c in part.checks:
            by_id[c.id] = _merge_check(by_id.get(c.id), c, phase)
        if phase == "load":
            result.latency.update({f"load.{k}": v for k, v in part.latency.items()})
        result.series.update(part.series)
        result.harness.setdefault("phases", {})[phase] = part.harness
    result.checks = list(by_id.values())
    result.target = replace(checked.target, rtt_ms=benched.target.rtt_ms)
    return result


def _merge_check(old: CheckResult | None, new: CheckResult, phase: str) -> CheckResult:
    """The stricter of two verdicts for one id, keeping both phases' evidence."""
    if old is None:
        return replace(new, details={phase: new.details, "phase": phase})
    rank = {"error": 3, "fail": 2, "pass": 1, "skip": 0}
    worst = old if rank[old.status] >= rank[new.status] else new
    summary = worst.summary if worst is new else old.summary
    if old.status == new.status:
        summary = f"{old.summary}; {phase}: {new.summary}"
    details = {**old.details, phase: new.details}
    return replace(worst, summary=summary, details=details)
