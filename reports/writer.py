"""Write a run's reports (HTML, Markdown, JUnit) in one call; what check/bench/run use."""

from pathlib import Path

from reports.compare import Comparison, compare
from reports.html import render_html
from reports.junit import write_junit
from reports.markdown import write_markdown
from reports.result import RunResult

SUFFIXES = {"html": ".html", "md": ".md", "junit": ".junit.xml"}


def write_html(
    result: RunResult,
    path: str | Path,
    baseline: RunResult | None = None,
    comparison: Comparison | None = None,
) -> Path:
    """Write the self-contained HTML report; returns the path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    text = render_html(result, baseline, comparison)
    out.write_text(text, encoding="utf-8", errors="replace")
    return out


def write_reports(
    result: RunResult,
    *,
    html: str | Path | None = None,
    md: str | Path | None = None,
    junit: str | Path | None = None,
    baseline: RunResult | None = None,
) -> dict[str, Path]:
    """Write the reports whose paths are given; returns {"html"|"md"|"junit": path}.

    The Markdown is also appended to $GITHUB_STEP_SUMMARY when that variable is set.
    """
    written: dict[str, Path] = {}
    cmp = compare(baseline, result) if baseline is not None and (html or md) else None
    if html is not None:
        written["html"] = write_html(result, html, baseline, cmp)
    if md is not None:
        written["md"] = write_markdown(result, md, baseline, cmp)
    if junit is not None:
        written["junit"] = write_junit(result, junit)
    return written


def default_paths(json_path: str | Path) -> dict[str, Path]:
    """Report paths next to a result JSON: result.json -> result.html, .md, .junit.xml."""
    base = Path(json_path)
    stem = base.with_suffix("") if base.suffix == ".json" else base
    return {kind: stem.with_name(stem.name + suffix) for kind, suffix in SUFFIXES.items()}
