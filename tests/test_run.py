"""`chatgate run`, the main job: every artefact written, exit 0 on the reference schema."""

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from chatgate.job import combine
from reports.result import CheckResult, RunResult, TargetInfo

CLI = [sys.executable, "-c", "from chatgate.cli import main; main()"]


def _result(*checks: CheckResult) -> RunResult:
    return RunResult(target=TargetInfo(dsn="postgresql://x@h/d"), checks=list(checks))


def test_combine_keeps_one_verdict_per_id_and_the_worse_one() -> None:
    checked = _result(CheckResult("structure.tables", "must", "pass", "ok"))
    benched = _result(CheckResult("perf.history_p95", "must", "pass", "bench ok"))
    loaded = _result(CheckResult("perf.history_p95", "must", "fail", "load too slow"))
    merged = combine(checked, benched, loaded)
    ids = [c.id for c in merged.checks]
    assert ids == ["structure.tables", "perf.history_p95"]
    p95 = merged.check("perf.history_p95")
    assert p95 is not None and p95.status == "fail" and "load too slow" in p95.summary
    assert set(p95.details) >= {"bench", "load"}
    assert merged.verdict == "fail" and merged.command == "run"


@pytest.mark.db
@pytest.mark.slow
def test_run_on_the_embedded_default_writes_every_report(tmp_path: Path) -> None:
    out = tmp_path / "report"
    baseline = _result().write(tmp_path / "old.json")  # a result baseline, not a snapshot
    proc = subprocess.run(
        [
            *CLI,
            "run",
            "--out",
            str(out),
            "--load-seconds",
            "4",
            "--load-users",
            "4",
            "--profile",
            "quick",
            "--baseline",
            str(baseline),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:] + proc.stdout[-2000:]
    data = json.loads((out / "result.json").read_text())
    assert data["format"] == "chatgate-result" and data["verdict"] == "pass"
    ids = {c["id"] for c in data["checks"]}
    assert {"structure.tables", "isolation.scoped_reads", "perf.history_p95"} <= ids
    assert any(k.startswith("load.") for k in data["latency"])
    assert "<svg" in (out / "report.html").read_text()
    assert "PASS" in (out / "summary.md").read_text().upper()
    suites = ET.parse(out / "junit.xml").getroot()
    assert len(suites.findall(".//testcase")) == len(data["checks"])
    assert "report.html" in proc.stdout
