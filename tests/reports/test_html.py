"""The HTML report: self-contained, escaped, every section present, small."""

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from reports import default_paths, write_reports
from reports.html import render_details, render_html
from reports.result import CheckResult, LatencyStats, RunResult, TargetInfo

VOID = {"meta", "br", "wbr", "path", "circle", "line", "rect", "input", "img", "hr"}


class _Balance(HTMLParser):
    """Tracks open elements; unbalanced markup leaves something on the stack."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: object) -> None:
        """`<path ... />`: opens and closes at once."""

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        assert self.stack and self.stack[-1] == tag, (tag, self.stack[-5:])
        self.stack.pop()


@pytest.fixture(scope="module")
def page(run: RunResult, baseline: RunResult) -> str:
    """The sample report with its baseline overlaid."""
    return render_html(run, baseline)


def test_self_contained_and_balanced(page: str) -> None:
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "<link" not in page and "@import" not in page and "url(" not in page
    parser = _Balance()
    parser.feed(page)
    assert parser.stack == ["html"] or parser.stack == []


def test_text_is_escaped(run: RunResult) -> None:
    page = render_html(run)
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_sections_checks_and_charts(run: RunResult, page: str) -> None:
    for section in ("checks", "latency", "load", "environment", "reproduce"):
        assert f'id="{section}"' in page
    for c in run.checks:
        assert f'data-status="{c.status}"' in page and c.id.split(".")[0] in page
    ops = {s.operation for s in run.latency.values()}
    assert page.count('<svg class="chart"') == 2 * len(ops) + 3
    assert run.harness["command_line"].replace('"', "&quot;") in page
    assert 'class="banner fail"' in page and "vs baseline" in page


def test_size_is_reasonable(run: RunResult, page: str) -> None:
    assert len(render_html(run).encode()) < 120_000
    assert len(page.encode()) < 180_000


def test_details_rendering() -> None:
    html = render_details({"plan": "a\nb", "n": 3, "nested": {"k": [1, 2]}, "s": "x<y"})
    assert "<pre>a\nb</pre>" in html and "<code>3</code>" in html
    assert "<code>{&quot;k&quot;: [1, 2]}</code>" in html and "x&lt;y" in html


def test_minimal_run_renders() -> None:
    bare = RunResult(target=TargetInfo(dsn="postgresql://u:secret@h/db"))
    page = render_html(bare)
    assert "no checks ran" in page and "no latency measured" in page and "secret" not in page
    one = LatencyStats("append.single", 1, 1.0, 1.0, 1.0, 1.0, histogram=[[1.0, 1]])
    bare.latency = {"append.single": one}
    bare.checks = [CheckResult("perf.append_p95", "must", "pass", "ok")]
    assert render_html(bare, bare).count('<svg class="chart"') == 1


def test_write_reports_paths(run: RunResult, tmp_path: Path) -> None:
    paths = default_paths(tmp_path / "out" / "result.json")
    assert [p.name for p in paths.values()] == ["result.html", "result.md", "result.junit.xml"]
    written = write_reports(run, html=paths["html"], junit=paths["junit"])
    assert set(written) == {"html", "junit"} and all(p.exists() for p in written.values())
