"""The HTML report's performance sections: latency per operation and the load timeline."""

from html import escape

from reports.compare import Comparison, PercentileDelta
from reports.figures import (
    by_operation,
    cdf_figure,
    overview_figure,
    scaling_figure,
    timeline_figures,
)
from reports.fmt import PERCENTILES, length_of, ms, pct_change, short_count
from reports.result import LatencyStats, RunResult

DELTA_CLASS = {"slower": "slower", "faster": "faster", "no change": "same", "n/a": "na"}


def latency_section(result: RunResult, baseline: RunResult | None, cmp: Comparison | None) -> str:
    """Overview, then per operation: stats table (with deltas), CDF, percentiles by length."""
    groups = by_operation(result)
    if not groups:
        return '<h2 id="latency">Latency</h2><p class="muted">no latency measured in this run</p>'
    cards = "".join(
        '<section class="card">'
        f'<h3 class="op">{escape(op)}</h3>'
        f"{_stats_table(entries, cmp)}"
        f"{cdf_figure(op, entries, baseline)}{scaling_figure(op, entries, baseline)}</section>"
        for op, entries in groups.items()
    )
    note = "Hover or tap a point for its value."
    if cmp:
        note += (
            " Dashed lines: the baseline. Under each percentile, the change vs the baseline, in "
            f"colour only when the bootstrap {cmp.confidence * 100:g}% interval clears "
            f"±{cmp.threshold * 100:g}% noise (≈: no significant change)."
        )
    overview = overview_figure(result, baseline)
    head = f'<h2 id="latency">Latency</h2><p class="muted">{escape(note)}</p>'
    top = f'<section class="card wide">{overview}{_glance(groups)}</section>' if overview else ""
    return f'{head}{top}<div class="cards">{cards}</div>'


def _glance(groups: dict[str, list[tuple[str, LatencyStats]]]) -> str:
    """p95 at the shortest and longest conversation, and the growth between them."""
    rows = []
    for op, entries in groups.items():
        sized = [s for _, s in entries if length_of(s)]
        if len(sized) < 2:
            continue
        first, last = sized[0], sized[-1]
        growth = last.p95 / first.p95 if first.p95 > 0 else float("inf")
        cls = ' class="grow"' if growth > 1.5 else ""
        rows.append(
            f"<tr><td><code>{escape(op)}</code></td><td>{ms(first.p95)}</td>"
            f"<td>{ms(last.p95)}</td><td{cls}>×{growth:.2f}</td></tr>"
        )
    lo = min(length_of(s) or 0 for e in groups.values() for _, s in e if length_of(s))
    hi = max(length_of(s) or 0 for e in groups.values() for _, s in e)
    lo_s, hi_s = short_count(lo), short_count(hi)
    head = (
        f"<tr><th>operation</th><th>p95 ms<br>@{lo_s}</th><th>p95 ms<br>@{hi_s}</th>"
        "<th>growth</th></tr>"
    )
    note = (
        '<p class="note">growth above ×1.5 is highlighted: '
        "the perf.history_scaling bound for history.latest_50</p>"
    )
    return f'<div class="scroll"><table>{head}{"".join(rows)}</table>{note}</div>'


def _stats_table(entries: list[tuple[str, LatencyStats]], cmp: Comparison | None) -> str:
    errors = any(s.errors for _, s in entries)
    cols = ("length", "n", *PERCENTILES, "max") + (("errors",) if errors else ())
    head = "".join(f"<th>{h}</th>" for h in cols)
    rows = []
    for key, s in entries:
        length = length_of(s)
        op = cmp.get(key) if cmp else None
        cells = [f"{length:,}" if length is not None else escape(key), f"{s.count:,}"]
        cells += [ms(getattr(s, p)) + (_delta(op.deltas[p]) if op else "") for p in PERCENTILES]
        cells += [ms(s.max)] + ([f"{s.errors:,}"] if errors else [])
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return f'<div class="scroll"><table><tr>{head}</tr>{"".join(rows)}</table></div>'


def _delta(d: PercentileDelta) -> str:
    if d.verdict == "n/a":
        return '<span class="delta na" data-tip="no histogram to judge noise">n/a</span>'
    ci = f"[{pct_change(d.low)}, {pct_change(d.high)}]"
    tip = escape(f"{d.verdict}: {ms(d.old)} → {ms(d.new)} ms, 95% CI {ci}")
    text = "≈" if d.verdict == "no change" else pct_change(d.ratio)
    return f'<span class="delta {DELTA_CLASS[d.verdict]}" data-tip="{tip}">{escape(text)}</span>'


def load_section(result: RunResult, baseline: RunResult | None) -> str:
    """Throughput and latency over time, for load runs."""
    figs = timeline_figures(result, baseline)
    if not figs:
        return '<h2 id="load">Load</h2><p class="muted">no load timeline in this run</p>'
    cards = "".join(f'<section class="card">{f}</section>' for f in figs)
    return f'<h2 id="load">Load</h2><div class="cards">{cards}</div>'
