"""The merged load file read back: exact stats per operation, the timeline, the verdicts."""

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chatgate.options import Settings
from chatgate.target import Target
from conformance.design import Design
from loadtests.histogram import Recorder
from reports.result import CheckResult, LatencyStats, RunResult, TargetInfo

if TYPE_CHECKING:
    from loadtests.load import LoadConfig


@dataclass
class MergedLoad:
    """What the Locust master merged: per operation, latency from intended start and service."""

    operations: dict[str, Recorder]
    service: dict[str, Recorder]
    workers: dict[str, dict[str, dict[str, int]]]
    timeline: list[dict[str, Any]]
    locust: dict[str, int]
    complete: bool
    run_id: str
    errors: dict[str, str] = field(default_factory=dict)  # operation -> first error message

    @property
    def requests(self) -> int:
        """Completed plus failed requests, as our recorders counted them."""
        return sum(r.count + r.errors for r in self.operations.values())

    @property
    def failures(self) -> int:
        return sum(r.errors for r in self.operations.values())

    def steady_ops_per_s(self) -> float:
        """Mean completed ops/s over the timeline, without its first and last (partial) second."""
        rows = self.timeline[1:-1] if len(self.timeline) > 2 else self.timeline
        return sum(r["ops"] for r in rows) / len(rows) if rows else 0.0


def read_merged(path: Path) -> MergedLoad:
    """Decode the master's JSON file."""
    d: dict[str, Any] = json.loads(path.read_text())
    return MergedLoad(
        operations={op: Recorder.decode(t) for op, t in d["operations"].items()},
        service={op: Recorder.decode(t) for op, t in d.get("service", {}).items()},
        workers=d.get("workers", {}),
        timeline=d.get("timeline", []),
        locust=d.get("locust", {}),
        complete=bool(d.get("complete")),
        run_id=str(d.get("run_id", "")),
        errors={str(k): str(v) for k, v in d.get("errors", {}).items()},
    )


def latency_stats(merged: MergedLoad, params: dict[str, Any]) -> dict[str, LatencyStats]:
    """Exact `LatencyStats` per operation; open loop adds the service-time percentiles."""
    out: dict[str, LatencyStats] = {}
    for op, rec in sorted(merged.operations.items()):
        extra = dict(params)
        if (svc := merged.service.get(op)) is not None and params.get("mode") == "open":
            extra.update(
                service_p50_ms=round(svc.percentile_ms(50), 4),
                service_p95_ms=round(svc.percentile_ms(95), 4),
            )
        out[op] = rec.to_stats(op, params=extra)
    return out


def verdicts(
    latency: dict[str, LatencyStats], settings: Settings, errors: dict[str, str] | None = None
) -> list[CheckResult]:
    """perf.history_p95 and perf.append_p95 for the load run, gated on failed requests too."""
    from loadtests.verdicts import HISTORY, append_p95, failed_requests, history_p95

    checks = [
        failed_requests(history_p95(latency, settings), latency, HISTORY, errors or {}),
        failed_requests(append_p95(latency, settings), latency, "append.", errors or {}),
    ]
    for check in checks:
        check.details["source"] = "load"
    return checks


def build_result(
    target: Target,
    settings: Settings,
    design: Design,
    cfg: "LoadConfig",
    merged: MergedLoad,
    *,
    started_at: str,
    duration_s: float,
) -> RunResult:
    """The `RunResult` of a load run: exact latencies, timeline, verdicts, harness facts."""
    params = {
        "source": "load",
        "mode": cfg.mode,
        "users": cfg.users,
        "workers": cfg.workers,
        "rate": cfg.rate,
        "think_s": cfg.think_s,
        "duration_s": cfg.duration_s,
    }
    latency = latency_stats(merged, params)
    harness = {
        "load": {
            **params,
            "requests": merged.requests,
            "failures": merged.failures,
            "first_errors": merged.errors,
            "locust": merged.locust,
            "complete": merged.complete,
            "workers_totals": merged.workers,
            "ops_per_s": round(merged.steady_ops_per_s(), 1),
        }
    }
    return RunResult(
        target=TargetInfo(
            dsn=target.masked,
            kind=target.kind,
            pooled=target.pooled,
            statement_mode="unprepared" if target.pooled else "prepared",
        ),
        command="load",
        run_id=merged.run_id or cfg.run_id,
        started_at=started_at,
        duration_s=round(duration_s, 3),
        strict=settings.strict,
        profile=settings.profile,
        harness=harness,
        discovery=design.to_dict(),
        checks=verdicts(latency, settings, merged.errors),
        latency=latency,
        series={"load_timeline": merged.timeline},
    )
