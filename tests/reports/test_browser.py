"""The HTML report in headless Chromium: no console errors, every chart drew, filters work.

Screenshots (desktop, phone, dark) go to artifacts/reports/ for a human to look at.
"""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from reports.result import RunResult
from reports.writer import write_html
from tests.reports.cdp import Browser, chromium_path

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "reports"

CHARTS_JS = """JSON.stringify([...document.querySelectorAll('svg.chart')].map(svg => {
  const marks = [...svg.querySelectorAll('.mark')];
  const drawn = marks.filter(m => { const b = m.getBBox();
    return (b.width > 0 || b.height > 0) && Number.isFinite(b.x + b.y); });
  return {label: svg.getAttribute('aria-label'), marks: marks.length, drawn: drawn.length,
          width: svg.getBoundingClientRect().width};
}))"""

FILTER_JS = """(() => {
  const click = (f, v) => document.querySelector(
    `.filters button[data-filter="${f}"][data-value="${v}"]`).click();
  const shown = () => [...document.querySelectorAll('.check')].filter(c => !c.hidden)
    .map(c => c.dataset.area + ':' + c.dataset.status);
  click('status', 'fail'); const fails = shown();
  click('area', 'perf'); const perfFails = shown();
  click('status', 'all'); click('area', 'all'); const all = shown();
  return JSON.stringify({fails, perfFails, all: all.length});
})()"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    binary = chromium_path()
    if binary is None:
        pytest.skip("chromium is not installed (apt-get install chromium; see .ci/system-deps)")
    b = Browser(binary)
    yield b
    b.close()


@pytest.fixture(scope="module")
def page(run: RunResult, baseline: RunResult) -> Path:
    return write_html(run, ARTIFACTS / "report.html", baseline)


def test_charts_draw_without_errors(browser: Browser, page: Path, run: RunResult) -> None:
    browser.open(page, 1280, 900)
    charts = json.loads(browser.evaluate(CHARTS_JS))
    ops = {s.operation for s in run.latency.values()}
    assert len(charts) == 2 * len(ops) + 3
    for chart in charts:
        assert chart["marks"] > 0 and chart["drawn"] == chart["marks"], chart
        assert chart["width"] > 300, chart
    assert browser.evaluate("performance.getEntriesByType('resource').length") == 0
    assert browser.errors() == []
    browser.screenshot(ARTIFACTS / "report-desktop.png")


def test_filters(browser: Browser, page: Path, run: RunResult) -> None:
    browser.open(page, 1280, 900)
    got = json.loads(browser.evaluate(FILTER_JS))
    assert sorted(got["fails"]) == sorted(
        f"{c.area}:fail" for c in run.checks if c.status == "fail"
    )
    assert got["perfFails"] == ["perf:fail"]
    assert got["all"] == len(run.checks)
    assert browser.errors() == []


def test_phone_layout(browser: Browser, page: Path) -> None:
    browser.open(page, 390, 844, mobile=True)
    overflow = browser.evaluate("document.documentElement.scrollWidth - innerWidth")
    assert overflow <= 1, f"page is {overflow}px wider than a phone screen"
    charts = json.loads(browser.evaluate(CHARTS_JS))
    assert all(c["drawn"] > 0 and c["width"] > 250 for c in charts)
    browser.evaluate("document.querySelectorAll('details.check').forEach(d => d.open = true)")
    browser.screenshot(ARTIFACTS / "report-phone.png")
    assert browser.errors() == []


def test_dark_mode_screenshot(browser: Browser, page: Path) -> None:
    browser.call(
        "Emulation.setEmulatedMedia", features=[{"name": "prefers-color-scheme", "value": "dark"}]
    )
    browser.open(page, 1280, 900)
    bg = browser.evaluate("getComputedStyle(document.body).backgroundColor")
    assert bg != "rgb(247, 247, 248)"
    browser.screenshot(ARTIFACTS / "report-dark.png")
    browser.call("Emulation.setEmulatedMedia", features=[])
