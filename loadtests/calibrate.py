"""`chatgate bench --calibrate`: how close the harness gets to the physical limit, in one run.

On one server, in one run: asyncpg p50 vs pgbench p50 for the same statements (goals: reads
<= 1.5x, append <= 1.1x), and the seeding rate (COPY) vs a server-side INSERT ... SELECT of
the same rows (goal >= 1.2x). Other engines (Locust vs pgbench throughput, the load helper's)
plug in with `register_hook`.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from chatgate.target import Target
from conformance.design import Design
from loadtests import shape
from loadtests.baseline import compare_rates
from loadtests.bench import BenchConfig, Measurement
from loadtests.operations import Subject
from loadtests.pgbench import pgbench_measurements

READ_GOAL = 1.5
APPEND_GOAL = 1.1
SEED_GOAL = 1.2
Hook = Callable[[Target, Design, dict[str, Subject]], Awaitable[dict[str, Any]]]
HOOKS: dict[str, Hook] = {}


def register_hook(name: str, hook: Hook) -> None:
    """Add a calibration step (e.g. "locust": Locust vs pgbench throughput on the same mix)."""
    HOOKS[name] = hook


def builtin_hooks() -> None:
    """Register the Locust throughput step when the load package provides it."""
    if "locust" in HOOKS:
        return
    try:
        from loadtests.load import calibration_hook
    except ImportError:
        return
    register_hook("locust", calibration_hook)


@dataclass
class Calibration:
    """Ratios measured in one run; `rows` for the result's series["calibration"]."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    seeding: dict[str, Any] = field(default_factory=dict)
    hooks: dict[str, Any] = field(default_factory=dict)
    pgbench: list[Measurement] = field(default_factory=list)

    @property
    def met(self) -> bool:
        return all(r["met"] for r in self.rows) and bool(self.seeding.get("met", True))


def ratio_rows(ours: list[Measurement], ref: list[Measurement]) -> list[dict[str, Any]]:
    """asyncpg p50 / pgbench p50 per operation key, with its goal."""
    by_key = {m.key: m for m in ref}
    rows = []
    for m in ours:
        other = by_key.get(m.key)
        if other is None or not other.recorder.count or not m.recorder.count:
            continue
        a, b = m.recorder.percentile_ms(50), other.recorder.percentile_ms(50)
        goal = APPEND_GOAL if m.operation.startswith("append") else READ_GOAL
        ratio = a / b if b else float("inf")
        rows.append(
            {
                "operation": m.key,
                "client_p50": round(a, 4),
                "pgbench_p50": round(b, 4),
                "ratio": round(ratio, 2),
                "goal": goal,
                "met": ratio <= goal,
            }
        )
    return rows


async def calibrate(
    target: Target,
    design: Design,
    subjects: dict[str, Subject],
    ours: list[Measurement],
    config: BenchConfig,
    *,
    scale: shape.Scale,
    seed: int = 0,
) -> Calibration:
    """pgbench on the same statements, the seeding yardstick, and any registered hooks."""
    ref = await pgbench_measurements(target.dsn, design, subjects, config)
    out = Calibration(ratio_rows(ours, ref), pgbench=ref)
    conns = [await target.connect() for _ in range(2)]
    try:
        rates = await compare_rates(conns, design, scale, seed=seed)
    finally:
        for c in conns:
            await c.close()
    out.seeding = {**rates.to_dict(), "goal": SEED_GOAL, "met": rates.ratio >= SEED_GOAL}
    builtin_hooks()
    for name, hook in HOOKS.items():
        try:
            out.hooks[name] = await hook(target, design, subjects)
        except Exception as exc:  # a hook's failure is reported, never fatal to calibration
            out.hooks[name] = {"error": f"{type(exc).__name__}: {exc}"}
    return out
