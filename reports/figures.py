"""The report's latency figures: distribution (CDF), percentiles vs length, load timeline."""

import math
from collections import defaultdict
from typing import Any

from reports.charts import Chart, Series, figure
from reports.fmt import PERCENTILES, length_of, ms, sort_key
from reports.result import LatencyStats, RunResult

CDF_POINTS = 90
TAIL = (0.0, 0.5, 0.9, 0.99, 0.999)


def nines(q: float, top: float = 3.0) -> float:
    """The tail scale: 0.9 -> 1, 0.99 -> 2, 0.999 -> 3 (capped at `top`)."""
    return min(-math.log10(max(1.0 - q, 1e-12)), top)


def _tail_label(v: float) -> str:
    return f"{(1 - 10**-v) * 100:.4g}%"


def by_operation(result: RunResult) -> dict[str, list[tuple[str, LatencyStats]]]:
    """Latency entries grouped by operation, each group ordered by conversation length."""
    groups: dict[str, list[tuple[str, LatencyStats]]] = defaultdict(list)
    for key, stats in sorted(result.latency.items(), key=sort_key):
        groups[stats.operation].append((key, stats))
    return dict(groups)


def cdf_points(histogram: list[list[float]]) -> list[tuple[float, float]]:
    """The empirical CDF sampled at log-spaced values (a compact curve)."""
    pairs = sorted((float(v), float(c)) for v, c in histogram if c > 0 and v > 0)
    if not pairs:
        return []
    total, lo, hi = sum(c for _, c in pairs), pairs[0][0], pairs[-1][0]
    if hi <= lo:
        return [(lo, 1.0)]
    grid = [lo * (hi / lo) ** (i / (CDF_POINTS - 1)) for i in range(CDF_POINTS)]
    out, cum, i = [], 0.0, 0
    for x in grid:
        while i < len(pairs) and pairs[i][0] <= x * (1 + 1e-9):
            cum += pairs[i][1]
            i += 1
        out.append((x, cum / total))
    return out


def _name(key: str, stats: LatencyStats) -> str:
    length = length_of(stats)
    return f"length {length:,}" if length is not None else key


def _cdf_series(key: str, stats: LatencyStats, color: int, baseline: bool) -> Series | None:
    pts = cdf_points(stats.histogram)
    if not pts:
        return None
    qs = (0.5, 0.95, 0.99)
    marks = [(float(getattr(stats, p)), nines(q)) for p, q in zip(PERCENTILES, qs, strict=True)]
    tips = [f"{p} {ms(x)} ms" for p, (x, _) in zip(PERCENTILES, marks, strict=True)]
    name = _name(key, stats) + (" baseline" if baseline else "")
    return Series(name, [(x, nines(q)) for x, q in pts], color, baseline, marks=marks, tips=tips)


def cdf_figure(op: str, entries: list[tuple[str, LatencyStats]], base: RunResult | None) -> str:
    """The latency distribution of one operation at each length, baseline dashed."""
    series = []
    for i, (key, stats) in enumerate(entries):
        series.append(_cdf_series(key, stats, i, False))
        if base is not None and key in base.latency:
            series.append(_cdf_series(key, base.latency[key], i, True))
    drawn = [s for s in series if s is not None]
    if not drawn:
        return ""
    xs = [x for s in drawn for x, _ in s.points + s.marks]
    chart = Chart(xs, [0.0, 3.0], xlog=True, ylog=False, label=f"{op} latency distribution")
    chart.yhi = 3.0
    ticks = [nines(q) for q in TAIL]
    chart.axes("latency (ms, log scale)", "percentile", yfmt=_tail_label, yticks=ticks)
    for s in drawn:
        chart.line(s)
    return figure("Distribution (CDF, tail-stretched)", chart, drawn)


def _pct_series(
    entries: list[tuple[str, LatencyStats]], pct: str, color: int, baseline: bool
) -> Series:
    pts = [(float(length_of(s) or 0), float(getattr(s, pct))) for _, s in entries]
    tips = [f"length {int(x):,}: {ms(y)} ms" for x, y in pts]
    return Series(pct + (" baseline" if baseline else ""), pts, color, baseline, tips=tips)


def scaling_figure(op: str, entries: list[tuple[str, LatencyStats]], base: RunResult | None) -> str:
    """p50/p95/p99 against conversation length (log-log), baseline dashed."""
    entries = [(k, s) for k, s in entries if length_of(s)]
    if len(entries) < 2:
        return ""
    series = [_pct_series(entries, p, i, False) for i, p in enumerate(PERCENTILES)]
    if base is not None:
        old = [(k, base.latency[k]) for k, _ in entries if k in base.latency]
        if len(old) >= 2:
            series += [_pct_series(old, p, i, True) for i, p in enumerate(PERCENTILES)]
    xs = [x for s in series for x, _ in s.points]
    ys = [y for s in series for _, y in s.points]
    chart = Chart(xs, ys, xlog=True, ylog=True, label=f"{op} percentiles by conversation length")
    chart.axes("conversation length (messages)", "latency (ms)")
    for s in series:
        chart.line(s)
    return figure("Percentiles vs conversation length", chart, series)


def overview_figure(result: RunResult, base: RunResult | None) -> str:
    """p95 of every operation against conversation length: which reads grow with history."""
    series = []
    for i, (op, entries) in enumerate(by_operation(result).items()):
        pts = [(float(length_of(s) or 0), s.p95) for _, s in entries if length_of(s)]
        if len(pts) >= 2:
            tips = [f"length {int(x):,}: p95 {ms(y)} ms" for x, y in pts]
            series.append(Series(op, pts, i % 6, tips=tips))
    if not series:
        return ""
    xs = [x for s in series for x, _ in s.points]
    ys = [y for s in series for _, y in s.points]
    chart = Chart(xs, ys, xlog=True, ylog=True, label="p95 of every operation by length")
    chart.axes("conversation length (messages)", "p95 latency (ms)")
    for s in series:
        chart.line(s)
    return figure("p95 by conversation length, all operations", chart, series)


def _timeline_series(
    points: list[dict[str, Any]], field: str, color: int, baseline: bool
) -> Series:
    pts = [
        (float(p["t"]), float(p[field])) for p in points if _num(p.get(field)) and _num(p.get("t"))
    ]
    unit = "ops/s" if field == "ops" else "ms"
    tips = [f"t={x:g}s: {y:,.1f} {unit}" for x, y in pts]
    label = {"ops": "throughput"}.get(field, field)
    dots = not baseline and len(pts) <= 60
    return Series(label + (" baseline" if baseline else ""), pts, color, baseline, dots, tips)


def _num(v: Any) -> bool:
    return isinstance(v, int | float) and math.isfinite(v)


def timeline_figures(result: RunResult, base: RunResult | None) -> list[str]:
    """Throughput (with failures) and latency over time, for load runs."""
    now = result.series.get("load_timeline") or []
    old = (base.series.get("load_timeline") or []) if base else []
    thr = [_timeline_series(now, "ops", 0, False)] + (
        [_timeline_series(old, "ops", 0, True)] if old else []
    )
    lat = [
        _timeline_series(pts, f, i + 1, b)
        for pts, b in ((now, False), (old, True))
        if pts
        for i, f in enumerate(("p50", "p95"))
    ]
    figs = [_throughput(thr, now), _latency_over_time(lat)]
    return [f for f in figs if f]


def _throughput(series: list[Series], points: list[dict[str, Any]]) -> str:
    series = [s for s in series if s.points]
    if not series:
        return ""
    xs = [x for s in series for x, _ in s.points]
    chart = Chart(
        xs,
        [y for s in series for _, y in s.points],
        xlog=False,
        ylog=False,
        label="throughput over time",
    )
    chart.xlo = 0.0
    chart.axes("time (s)", "operations / s")
    fails = [
        (float(p["t"]), float(p["failures"]))
        for p in points
        if _num(p.get("failures")) and p["failures"] > 0
    ]
    if fails:
        top = max(f for _, f in fails)
        scale = chart.yhi * 0.25 / top
        chart.bars(
            [(x, f * scale) for x, f in fails],
            5.0,
            [f"t={x:g}s: {f:g} failures" for x, f in fails],
            "fail",
        )
    for s in series:
        chart.line(s)
    note = (
        f"red bars: failures (tallest = {max(f for _, f in fails):g}/s)" if fails else "no failures"
    )
    return figure("Throughput over time", chart, series, note)


def _latency_over_time(series: list[Series]) -> str:
    series = [s for s in series if s.points]
    if not series:
        return ""
    xs = [x for s in series for x, _ in s.points]
    chart = Chart(
        xs,
        [y for s in series for _, y in s.points],
        xlog=False,
        ylog=False,
        label="latency over time",
    )
    chart.xlo = 0.0
    chart.axes("time (s)", "latency (ms)")
    for s in series:
        chart.line(s)
    return figure("Latency over time", chart, series)
