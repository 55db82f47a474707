"""Markdown for PR comments: verdict, failing checks first, collapsed list, latency deltas."""

from pathlib import Path

import pytest

from reports.markdown import append_step_summary, cell, render_markdown, write_markdown
from reports.result import CheckResult, RunResult, TargetInfo
from tests.reports.sample import sample_result


def test_verdict_counts_and_failures_first(run: RunResult) -> None:
    text = render_markdown(run)
    assert text.startswith("### ❌ chatgate run: FAIL")
    assert "**24** pass · **4** fail · **2** skip · **1** error" in text
    failing, rest = text.split("<details>", 1)
    for c in run.checks:
        assert f"`{c.id}`" in rest
        assert (f"`{c.id}`" in failing) == (c.status in ("fail", "error"))
    assert "</details>" in rest


def test_cells_are_escaped() -> None:
    assert cell("a|b\n<c>") == "a\\|b &lt;c&gt;"
    assert len(cell("x" * 500)) == 200


def test_latency_table_without_baseline(run: RunResult) -> None:
    text = render_markdown(run)
    assert "| operation | length | n | p50 | p95 | p99 | errors |" in text
    assert text.count("| `history.latest_50` |") == 3
    assert "▲" not in text and "≈" not in text


def test_latency_deltas_against_baseline(run: RunResult, baseline: RunResult) -> None:
    text = render_markdown(run, baseline)
    assert "vs baseline `sample-7`" in text
    row = next(line for line in text.splitlines() if line.startswith("| `history.full` | 10,000"))
    assert row.count("▲") == 3


def test_no_change_shows_as_approx() -> None:
    text = render_markdown(sample_result(seed=3), sample_result(seed=4))
    rows = [line for line in text.splitlines() if line.startswith("| `")][-18:]
    assert all(row.count("≈") == 3 and "▲" not in row and "▼" not in row for row in rows)


def test_passing_run_has_no_failure_table() -> None:
    ok = RunResult(
        target=TargetInfo(dsn="postgresql://h/db"),
        checks=[CheckResult("structure.tables", "must", "pass", "found")],
    )
    text = render_markdown(ok)
    assert text.startswith("### ✅") and "Failing" not in text and "Latency" not in text


def test_step_summary(tmp_path: Path, run: RunResult, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    assert append_step_summary("x") is None
    summary = tmp_path / "summary.md"
    summary.write_text("before\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    out = write_markdown(run, tmp_path / "r.md")
    assert out.read_text() in summary.read_text()
    assert summary.read_text().startswith("before\n### ❌")
