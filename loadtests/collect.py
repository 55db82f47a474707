"""Exact latencies across Locust processes: record per worker, ship encoded, merge on master.

Each process keeps a `Collector`: one HdrHistogram (`Recorder`, microseconds) per operation for
latency from the intended start, one for service time, and per-second timeline buckets. A
worker's `report_to_master` payload carries its cumulative histograms (encoded; the master
keeps each worker's latest) and the timeline buckets filled since the last report (deltas; the
master adds them). When the test stops, the master asks every worker to stop its users and send
a final report, and waits for them all, so the merged result holds every recorded request.
"""

import json
import time
from pathlib import Path
from typing import Any

from loadtests.histogram import Recorder

KEY = "chatgate"
OFF_TIMELINE = frozenset({"setup"})  # per-user preparation, not part of the steady mix


class Collector:
    """One process's exact recordings."""

    def __init__(self) -> None:
        self.ops: dict[str, Recorder] = {}
        self.service: dict[str, Recorder] = {}
        self.timeline: dict[int, Recorder] = {}
        self.final = False

    def record(self, op: str, latency_s: float, service_s: float, *, ok: bool) -> None:
        """One finished operation: latency from its intended start, and its service time."""
        rec = self.ops.setdefault(op, Recorder())
        second = int(time.time())
        bucket = Recorder() if op in OFF_TIMELINE else self.timeline.setdefault(second, Recorder())
        if ok:
            rec.record_s(latency_s)
            self.service.setdefault(op, Recorder()).record_s(service_s)
            bucket.record_s(latency_s)
        else:
            rec.record_error()
            bucket.record_error()

    def payload(self, *, final: bool = False) -> dict[str, Any]:
        """Cumulative histograms, own totals (for the exactness check) and new timeline buckets."""
        timeline = {str(s): r.encode() for s, r in self.timeline.items()}
        self.timeline = {}
        return {
            "final": final or self.final,
            "ops": {op: r.encode() for op, r in self.ops.items()},
            "service": {op: r.encode() for op, r in self.service.items()},
            "totals": {op: _totals(r) for op, r in self.ops.items()},
            "timeline": timeline,
        }


def _totals(rec: Recorder) -> dict[str, int]:
    """A worker's own count, max (us) and errors for one operation."""
    return {
        "count": rec.count,
        "max_us": int(rec.hist.get_max_value()) if rec.count else 0,
        "errors": rec.errors,
    }


class Merger:
    """The master's merge of every worker's payloads (or the local process's own)."""

    def __init__(self) -> None:
        self.workers: dict[str, dict[str, Any]] = {}
        self.timeline: dict[int, Recorder] = {}

    def add(self, worker: str, payload: dict[str, Any]) -> None:
        """Take one report: replace the worker's cumulative part, add its timeline deltas."""
        self.workers[worker] = {k: payload[k] for k in ("final", "ops", "service", "totals")}
        for second, text in payload.get("timeline", {}).items():
            self.timeline.setdefault(int(second), Recorder()).merge(Recorder.decode(text))

    def finals(self) -> set[str]:
        """Workers whose final report arrived."""
        return {w for w, p in self.workers.items() if p["final"]}

    def merged(self, part: str = "ops") -> dict[str, Recorder]:
        """Per operation, all workers' recorders added together."""
        out: dict[str, Recorder] = {}
        for payload in self.workers.values():
            for op, text in payload[part].items():
                out.setdefault(op, Recorder()).merge(Recorder.decode(text))
        return out

    def timeline_rows(self) -> list[dict[str, Any]]:
        """Per second: t, ops (completed), failures, p50 and p95 (ms)."""
        if not self.timeline:
            return []
        first = min(self.timeline)
        return [
            {
                "t": s - first,
                "ops": r.count,
                "failures": r.errors,
                "p50": round(r.percentile_ms(50), 4),
                "p95": round(r.percentile_ms(95), 4),
            }
            for s, r in sorted(self.timeline.items())
        ]

    def document(self, meta: dict[str, Any]) -> dict[str, Any]:
        """The merged result the runner reads: encoded histograms, per-worker totals, timeline."""
        ops, service = self.merged("ops"), self.merged("service")
        return {
            "format": "chatgate-load",
            **meta,
            "complete": all(p["final"] for p in self.workers.values()),
            "operations": {op: r.encode() for op, r in ops.items()},
            "service": {op: r.encode() for op, r in service.items()},
            "workers": {w: p["totals"] for w, p in self.workers.items()},
            "timeline": self.timeline_rows(),
            "timeline_start": min(self.timeline, default=0),
        }


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write atomically (the runner may be polling the path)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data))
    tmp.replace(path)
