"""What `chatgate seed` and `chatgate bench` do once the target is open."""

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from chatgate.options import Settings
from chatgate.target import Target
from conformance.design import Design
from conformance.engine import discovery_info, harness_info, prepare, target_info
from conformance.tagging import RunTag, new_run_id
from loadtests import shape
from loadtests.bench import (
    AsyncpgClient,
    BenchConfig,
    Call,
    Client,
    Measurement,
    find_subjects,
    run_bench,
    scaling_series,
)
from loadtests.calibrate import Calibration, calibrate
from loadtests.connect import measure_connect
from loadtests.seed import WORKERS, Progress, SeedResult, seed_design
from loadtests.verdicts import verdicts
from reports.result import RunResult

Engine = Literal["python", "pgbench"]
ProgressFactory = Callable[[int], Progress]


@dataclass
class BenchOptions:
    """Everything `chatgate bench` decides besides the shared settings."""

    scale: str = "small"
    client: Client = "asyncpg"
    engine: Engine = "python"
    calibrate: bool = False
    read_samples: int = 1_000
    write_samples: int = 300
    progress: ProgressFactory | None = None
    notes: list[str] = field(default_factory=list)
    clean_after: bool = False  # remove every harness row at the end
    count_kept: bool = False  # count the harness rows left for the next bench


async def seed_target(
    target: Target,
    design: Design,
    *,
    scale: shape.Scale,
    seed: int = 0,
    progress: Progress | None = None,
) -> SeedResult:
    """Seed `scale` into the target under a fresh run tag, then ANALYZE the chat tables."""
    conns = [await target.connect() for _ in range(WORKERS)]
    try:
        tag = RunTag(new_run_id())
        result = await seed_design(
            conns, design, scale=scale, tag=tag, seed=seed, progress=progress
        )
        for t in design.tables.values():  # an app's autovacuum would soon do the same
            await conns[0].execute(f"ANALYZE {t.sql}")
        return result
    finally:
        for c in conns:
            await c.close()


def needs_seed(longest: int, scale: shape.Scale) -> bool:
    """Whether harness data of this scale is missing (its longest anchor not there)."""
    return longest < 0.9 * max(scale.anchors)


async def bench_target(target: Target, settings: Settings, opts: BenchOptions) -> RunResult:
    """Seed if needed, measure, judge; the whole RunResult of a bench run."""
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    # bench's --baseline is a result JSON (read by the CLI), not the snapshot prepare() reads
    ctx = await prepare(target, replace(settings, baseline=None))
    assert ctx.design is not None
    design = ctx.design
    scale = shape.get_scale(opts.scale)
    seed = settings.seed or 0
    conn = await target.connect()
    seeded: SeedResult | None = None
    try:
        subjects = await find_subjects(conn, design)
        longest = subjects["longest"].length if subjects else 0
        if needs_seed(longest, scale):
            bar = opts.progress(scale.approx_messages) if opts.progress else None
            seeded = await seed_target(target, design, scale=scale, seed=seed, progress=bar)
            subjects = await find_subjects(conn, design)
        prepared = not target.pooled
        config = BenchConfig(
            opts.client,
            opts.read_samples,
            opts.write_samples,
            statement_mode="prepared" if prepared else "unprepared",
        )
        measurements, orm = await measure(target, design, subjects, config, opts, conn)
    finally:
        await conn.close()
    connect = await measure_connect(target)
    cal: Calibration | None = None
    if opts.calibrate:
        cal = await calibrate(
            target, design, subjects, measurements, config, scale=scale, seed=seed
        )
    rows = await harness_rows(target, design, opts)
    result = build_result(
        ctx,
        settings,
        opts,
        measurements,
        connect,
        seeded,
        cal,
        orm,
        started=started,
        seconds=time.perf_counter() - t0,
    )
    if rows:
        result.harness["harness_rows"] = rows
    return result


async def harness_rows(target: Target, design: Design, opts: BenchOptions) -> dict[str, Any]:
    """With clean_after the harness rows removed, with count_kept those left; else nothing."""
    from conformance.cleanup import clean_target, count_rows

    if opts.clean_after:
        return {"removed": (await clean_target(target, design, None)).as_dict()}
    if not opts.count_kept:
        return {}
    conn = await target.connect()
    try:
        return {"kept": (await count_rows(conn, design=design, tag=None)).as_dict()}
    finally:
        await conn.close()


async def measure(
    target: Target,
    design: Design,
    subjects: dict[str, Any],
    config: BenchConfig,
    opts: BenchOptions,
    conn: Any,
) -> tuple[list[Measurement], bool]:
    """The measurements of the chosen engine and client."""
    if opts.engine == "pgbench":
        from loadtests.pgbench import pgbench_measurements

        config.client = "asyncpg"
        return await pgbench_measurements(target.dsn, design, subjects, config), False
    if opts.client == "orm":
        from loadtests.orm_client import OrmClient

        orm = OrmClient(target, design)
        try:
            return await run_bench(orm, design, subjects, config), True
        finally:
            await orm.close()
    call: Call = AsyncpgClient(conn, prepared=config.statement_mode == "prepared")
    return await run_bench(call, design, subjects, config), False


def build_result(
    ctx: Any,
    settings: Settings,
    opts: BenchOptions,
    measurements: list[Measurement],
    connect: Any,
    seeded: SeedResult | None,
    cal: Calibration | None,
    orm: bool,
    *,
    started: datetime,
    seconds: float,
) -> RunResult:
    """The RunResult: latency per key, verdicts, scaling series, calibration, harness facts."""
    latency = {m.key: m.recorder.to_stats(m.operation, params=m.params) for m in measurements}
    series = scaling_series(measurements)
    info = target_info(ctx)
    harness: dict[str, Any] = {
        **harness_info(),
        "scale": opts.scale,
        "client": "orm" if orm else opts.client,
        "engine": opts.engine,
        "seed": settings.seed or 0,
        "benchmark_stats": {m.key: m.benchmark_stats() for m in measurements if m.samples},
    }
    if seeded is not None:
        harness["seeding"] = {
            "run_id": seeded.run_id,
            "messages": seeded.messages,
            "conversations": seeded.conversations,
            "users": seeded.users,
            "seconds": round(seeded.seconds, 2),
            "messages_per_s": round(seeded.rate),
        }
    result = RunResult(
        target=info,
        command="bench",
        run_id=ctx.run_id,
        started_at=started.isoformat(),
        duration_s=round(seconds, 2),
        strict=settings.strict,
        profile=settings.profile,
        harness=harness,
        discovery=discovery_info(ctx),
        checks=verdicts(latency, series, settings, connect),
        latency=latency,
        series={"scaling": series},
    )
    if cal is not None:
        result.series["calibration"] = cal.rows
        harness["calibration"] = {"seeding": cal.seeding, "hooks": cal.hooks, "met": cal.met}
    return result
