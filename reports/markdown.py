"""Compact Markdown for PR comments and GitHub job summaries."""

import os
from pathlib import Path

from reports.compare import Comparison, PercentileDelta, compare
from reports.fmt import PERCENTILES, length_of, mask_dsn, ms, pct_change, sort_key
from reports.result import STATUSES, CheckResult, RunResult

ICON = {"pass": "✅", "fail": "❌", "error": "⚠️", "skip": "⏭️"}
MAX_SUMMARY = 200


def cell(text: str) -> str:
    """Text safe inside a table cell: one line, no pipes, no HTML."""
    flat = " ".join(str(text).split())
    if len(flat) > MAX_SUMMARY:
        flat = flat[: MAX_SUMMARY - 1] + "…"
    return flat.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")


def _code(text: str) -> str:
    safe = cell(text).replace("`", "'")
    return f"`{safe}`"


def render_markdown(
    result: RunResult, baseline: RunResult | None = None, comparison: Comparison | None = None
) -> str:
    """The verdict, failing checks first, all checks collapsed, and a latency table."""
    if comparison is None and baseline is not None:
        comparison = compare(baseline, result)
    parts = [_headline(result), _failing(result), _all_checks(result)]
    if result.latency:
        parts.append(_latency(result, baseline, comparison))
    return "\n\n".join(p for p in parts if p) + "\n"


def _headline(result: RunResult) -> str:
    icon = "✅" if result.verdict == "pass" else "❌"
    t = result.target
    facts = [
        _code(mask_dsn(t.dsn)),
        cell(t.server_version),
        "pooled" if t.pooled else "direct",
        "TLS" if t.tls else "no TLS",
        cell(result.started_at),
        f"{result.duration_s:,.0f} s",
    ]
    counts = result.counts()
    tally = " · ".join(f"**{counts[s]}** {s}" for s in STATUSES if counts[s])
    title = f"### {icon} chatgate {cell(result.command)}: {result.verdict.upper()}"
    return f"{title}\n\n{' · '.join(f for f in facts if f)}\n\n{tally or 'no checks ran'}"


def _rows(checks: list[CheckResult]) -> str:
    head = "| | check | sev | summary |\n|---|---|---|---|"
    body = [
        f"| {ICON.get(c.status, '')} {cell(c.status)} | {_code(c.id)} | {cell(c.severity)} | "
        f"{cell(c.summary)} |"
        for c in checks
    ]
    return "\n".join([head, *body])


def _failing(result: RunResult) -> str:
    bad = [c for c in result.checks if c.status in ("fail", "error")]
    return f"**Failing or erroring checks**\n\n{_rows(bad)}" if bad else ""


def _all_checks(result: RunResult) -> str:
    if not result.checks:
        return ""
    n = len(result.checks)
    return f"<details><summary>All {n} checks</summary>\n\n{_rows(result.checks)}\n\n</details>"


def _delta(d: PercentileDelta) -> str:
    if d.verdict == "slower":
        return f" ▲{pct_change(d.ratio)}"
    if d.verdict == "faster":
        return f" ▼{pct_change(d.ratio)}"
    return " ≈" if d.verdict == "no change" else ""


def _latency(result: RunResult, baseline: RunResult | None, cmp: Comparison | None) -> str:
    head = "| operation | length | n | p50 | p95 | p99 | errors |\n|---|--:|--:|--:|--:|--:|--:|"
    rows = []
    for key, s in sorted(result.latency.items(), key=sort_key):
        op = cmp.get(key) if cmp else None
        length = length_of(s)
        pcts = [ms(getattr(s, p)) + (_delta(op.deltas[p]) if op else "") for p in PERCENTILES]
        rows.append(
            f"| {_code(s.operation)} | {f'{length:,}' if length is not None else ''} | "
            f"{s.count:,} | {' | '.join(pcts)} | {s.errors:,} |"
        )
    title = "**Latency (ms)**"
    if cmp is not None and baseline is not None:
        title += (
            f" vs baseline {_code(baseline.run_id or 'baseline')}: ▲ slower / ▼ faster when the "
            f"bootstrap {cmp.confidence * 100:g}% interval clears ±{cmp.threshold * 100:g}% noise; "
            "≈ no significant change"
        )
    return "\n".join([title, "", head, *rows])


def append_step_summary(text: str) -> Path | None:
    """Append to $GITHUB_STEP_SUMMARY when set; the file written, or None."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    path = Path(target)
    with path.open("a", encoding="utf-8", errors="replace") as fh:
        fh.write(text if text.endswith("\n") else text + "\n")
    return path


def write_markdown(
    result: RunResult,
    path: str | Path,
    baseline: RunResult | None = None,
    comparison: Comparison | None = None,
) -> Path:
    """Write the Markdown report, and append it to the GitHub job summary when there is one."""
    text = render_markdown(result, baseline, comparison)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8", errors="replace")
    append_step_summary(text)
    return out
