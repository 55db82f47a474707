"""One self-contained HTML report: verdict, filterable checks, latency charts, environment.

Charts are inline SVG drawn in Python (reports.charts); the page embeds its CSS and a small
script (filters, tooltips, copy); nothing is fetched when the file is viewed.
"""

import json
from html import escape
from importlib.resources import files
from typing import Any

from reports.compare import Comparison, compare
from reports.fmt import AREAS, mask_dsn, pretty
from reports.html_perf import latency_section, load_section
from reports.result import STATUSES, CheckResult, RunResult


def _asset(name: str) -> str:
    return files("reports").joinpath(name).read_text(encoding="utf-8")


def render_html(
    result: RunResult, baseline: RunResult | None = None, comparison: Comparison | None = None
) -> str:
    """The whole report as one HTML document (baseline overlaid when given)."""
    cmp = comparison
    if cmp is None and baseline is not None:
        cmp = compare(baseline, result)
    title = f"chatgate {result.command}: {result.verdict.upper()}"
    body = "".join(
        [
            _header(result, baseline, cmp),
            _checks(result),
            latency_section(result, baseline, cmp),
            load_section(result, baseline),
            _environment(result),
            _reproduce(result),
            _footer(result),
        ]
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_asset('report.css')}</style></head>"
        f"<body><main>{body}</main><script>{_asset('report.js')}</script></body></html>\n"
    )


def _header(result: RunResult, baseline: RunResult | None, cmp: Comparison | None) -> str:
    counts = result.counts()
    pills = "".join(
        f'<span class="pill st-{s}">{counts[s]} {s}</span>' for s in STATUSES if counts[s]
    )
    gating = [c.id for c in result.checks if c.gates(strict=result.strict)]
    lines = [
        f"<strong>chatgate {escape(result.command)}</strong> against "
        f"<code>{escape(mask_dsn(result.target.dsn))}</code>",
        " · ".join(
            escape(x)
            for x in (result.started_at, f"{result.duration_s:,.0f} s", f"profile {result.profile}")
            if x
        )
        + (" · strict" if result.strict else ""),
    ]
    if gating:
        lines.append("gating: " + ", ".join(f"<code>{escape(g)}</code>" for g in gating))
    if cmp is not None and baseline is not None:
        lines.append(
            f"vs baseline <code>{escape(baseline.run_id or 'baseline')}</code>: " + _tally(cmp)
        )
    what = "".join(f"<p>{x}</p>" for x in lines)
    return (
        "<header><h1>chatgate report</h1>"
        f'<section class="banner {result.verdict}" aria-label="verdict">'
        f'<div class="verdict">{result.verdict.upper()}</div>'
        f'<div class="what">{what}<div class="pills">{pills}</div></div></section></header>'
        '<nav><a href="#checks">Checks</a><a href="#latency">Latency</a><a href="#load">Load</a>'
        '<a href="#environment">Environment</a><a href="#reproduce">Reproduce</a></nav>'
    )


def _tally(cmp: Comparison) -> str:
    verdicts = [d.verdict for op in cmp.operations for d in op.deltas.values()]
    parts = [f"{verdicts.count(v)} {v}" for v in ("slower", "faster", "no change") if v in verdicts]
    n = len(cmp.operations)
    return escape(f"{n} series × p50/p95/p99: " + (", ".join(parts) or "nothing to compare"))


def _checks(result: RunResult) -> str:
    checks = sorted(result.checks, key=lambda c: c.status not in ("fail", "error"))
    areas = [a for a in AREAS if any(c.area == a for c in checks)]
    areas += sorted({c.area for c in checks} - set(areas))
    counts = result.counts()
    area_btns = _buttons("area", [(a, sum(c.area == a for c in checks)) for a in areas])
    status_btns = _buttons("status", [(s, counts[s]) for s in STATUSES if counts[s]])
    rows = "".join(_check(c) for c in checks) or '<p class="muted">no checks ran</p>'
    return (
        '<h2 id="checks">Checks</h2><div class="filters">'
        f'<div class="group" role="group" aria-label="area">{area_btns}</div>'
        f'<div class="group" role="group" aria-label="status">{status_btns}</div>'
        f'<span class="shown" id="shown">{len(checks)} shown</span></div>'
        f'<div class="checks">{rows}</div>'
    )


def _buttons(kind: str, items: list[tuple[str, int]]) -> str:
    total = sum(n for _, n in items)
    allb = f'<button data-filter="{kind}" data-value="all" aria-pressed="true">all {total}</button>'
    return allb + "".join(
        f'<button data-filter="{kind}" data-value="{escape(v)}" aria-pressed="false">'
        f"{escape(v)} {n}</button>"
        for v, n in items
    )


def _check(c: CheckResult) -> str:
    row = (
        f'<span class="badge st-{escape(c.status)}">{escape(c.status)}</span>'
        f'<span class="cid">{escape(c.id).replace(".", ".<wbr>")}</span>'
        f'<span class="sev {escape(c.severity)}">{escape(c.severity)}</span>'
        f'<span class="sum">{escape(c.summary)}</span>'
        f'<span class="dur">{c.duration_ms / 1000:.2f} s</span>'
    )
    attrs = f'data-area="{escape(c.area)}" data-status="{escape(c.status)}"'
    if not c.details:
        return f'<div class="check" {attrs}><div class="row">{row}</div></div>'
    return (
        f'<details class="check" {attrs}><summary class="row">{row}</summary>'
        f'<div class="evidence">{render_details(c.details)}</div></details>'
    )


def render_details(details: dict[str, Any]) -> str:
    """Evidence as a definition list: scalars inline, text blocks and nested data as <pre>."""
    items = "".join(f"<dt>{escape(str(k))}</dt><dd>{_value(v)}</dd>" for k, v in details.items())
    return f"<dl>{items}</dl>"


def _value(v: Any) -> str:
    if isinstance(v, dict | list | tuple):
        flat = json.dumps(v, ensure_ascii=False, default=str)
        return (
            f"<code>{escape(flat)}</code>" if len(flat) <= 90 else f"<pre>{escape(pretty(v))}</pre>"
        )
    if isinstance(v, str) and ("\n" in v or len(v) > 100):
        return f"<pre>{escape(v)}</pre>"
    if isinstance(v, bool | int | float) or v is None:
        return f"<code>{escape(pretty(v))}</code>"
    return escape(str(v))


def _dl(pairs: list[tuple[str, Any]]) -> str:
    items = "".join(
        f"<dt>{escape(k)}</dt><dd>{_value(v)}</dd>" for k, v in pairs if v not in ("", None)
    )
    return f"<dl>{items}</dl>"


def _environment(result: RunResult) -> str:
    t = result.target
    target = [
        ("DSN", mask_dsn(t.dsn)),
        ("kind", t.kind),
        ("server", t.server_version),
        ("connection", "pooled" if t.pooled else "direct"),
        ("TLS", "on" if t.tls else "off"),
        ("statement mode", t.statement_mode),
        ("RTT", f"{t.rtt_ms:.2f} ms" if t.rtt_ms is not None else None),
    ]
    run = [
        ("command", result.command),
        ("run id", result.run_id),
        ("started", result.started_at),
        ("duration", f"{result.duration_s:,.1f} s"),
        ("profile", result.profile),
        ("strict", result.strict),
    ]
    harness = [(str(k), v) for k, v in result.harness.items() if k != "command_line"]
    clients = _client_params(result)
    parts = [("Target", _dl(target)), ("Run", _dl(run)), ("Harness", _dl(harness))]
    if clients:
        parts.append(("Client (from latency params)", _dl(clients)))
    cards = "".join(f'<section class="card"><h3>{escape(h)}</h3>{b}</section>' for h, b in parts)
    disc = ""
    if result.discovery:
        found = render_details(result.discovery)
        disc = f'<details class="card"><summary>Discovery</summary>{found}</details>'
    return f'<h2 id="environment">Environment</h2><div class="env">{cards}</div>{disc}'


def _client_params(result: RunResult) -> list[tuple[str, Any]]:
    values: dict[str, set[str]] = {}
    for stats in result.latency.values():
        for k, v in stats.params.items():
            if k != "conversation_length":
                values.setdefault(str(k), set()).add(str(v))
    return [(k, ", ".join(sorted(v))) for k, v in sorted(values.items())]


def _reproduce(result: RunResult) -> str:
    given = result.harness.get("command_line")
    cmd = str(given) if given else _guess_command(result)
    note = (
        ""
        if given
        else '<p class="muted">reconstructed: the run did not record its command line</p>'
    )
    replays = [
        (c.id, c.details["replay"])
        for c in result.checks
        if isinstance(c.details.get("replay"), dict)
    ]
    extra = "".join(
        f"<p><code>{escape(i)}</code> replay: <code>{escape(json.dumps(r, default=str))}</code></p>"
        for i, r in replays
    )
    return (
        f'<h2 id="reproduce">Reproduce</h2><div class="cmd"><pre>{escape(cmd)}</pre>'
        f'<button class="copy" type="button">copy</button></div>{note}{extra}'
    )


def _guess_command(result: RunResult) -> str:
    strict = " --strict" if result.strict else ""
    return f'chatgate {result.command} --dsn "$DATABASE_URL" --profile {result.profile}{strict}'


def _footer(result: RunResult) -> str:
    version = escape(str(result.harness.get("version", "?")))
    return f"<footer>chatgate {version} · chatgate-result v1 · self-contained report</footer>"
