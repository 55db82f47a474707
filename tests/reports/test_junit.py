"""JUnit XML: counts, one testcase per check, failure bodies, characters XML cannot carry."""

import xml.etree.ElementTree as ET
from pathlib import Path

from reports.junit import render_junit, write_junit
from reports.result import CheckResult, RunResult, TargetInfo


def _parse(result: RunResult) -> ET.Element:
    return ET.fromstring(render_junit(result).encode())


def test_counts_match_the_run(run: RunResult) -> None:
    root = _parse(run)
    counts = run.counts()
    assert root.tag == "testsuites"
    assert int(root.get("tests", "")) == len(run.checks)
    assert int(root.get("failures", "")) == counts["fail"]
    assert int(root.get("errors", "")) == counts["error"]
    assert int(root.get("skipped", "")) == counts["skip"]
    suites = root.findall("testsuite")
    assert sum(int(s.get("tests", "")) for s in suites) == len(run.checks)
    assert sum(int(s.get("failures", "")) for s in suites) == counts["fail"]
    assert float(root.get("time", "")) > 0


def test_one_testcase_per_check_with_area_classname(run: RunResult) -> None:
    cases = _parse(run).findall("testsuite/testcase")
    assert [c.get("name") for c in cases] == [c.id for c in run.checks]
    assert all(c.get("classname") == c.get("name", "").split(".")[0] for c in cases)
    assert {c.get("classname") for c in cases} >= {"structure", "isolation", "perf"}


def test_failure_error_skip_elements(run: RunResult) -> None:
    cases = {c.get("name"): c for c in _parse(run).findall("testsuite/testcase")}
    failure = cases["isolation.scoped_reads"].find("failure")
    assert failure is not None and failure.get("type") == "must"
    assert failure.get("message") == run.check("isolation.scoped_reads").summary  # type: ignore[union-attr]
    assert "counterexample" in (failure.text or "")
    assert cases["isolation.cross_tenant_write"].find("error") is not None
    assert cases["isolation.rls"].find("skipped") is not None
    assert len(cases["structure.tables"]) == 0


def test_perf_checks_are_the_latency_verdicts(run: RunResult) -> None:
    suite = next(s for s in _parse(run).findall("testsuite") if s.get("name") == "chatgate.perf")
    assert {c.get("name") for c in suite.findall("testcase")} >= {
        "perf.history_p95",
        "perf.append_p95",
    }


def test_control_characters_are_replaced(tmp_path: Path) -> None:
    bad = CheckResult("time.session_timezone", "must", "fail", "nul\x00 here", {"x": "\ud800\x1b"})
    result = RunResult(target=TargetInfo(dsn="postgresql://h/db"), checks=[bad])
    path = write_junit(result, tmp_path / "out" / "r.xml")
    failure = ET.parse(path).getroot().find("testsuite/testcase/failure")
    assert failure is not None and "\ufffd" in failure.get("message", "")


def test_empty_run_is_valid() -> None:
    root = _parse(RunResult(target=TargetInfo(dsn="postgresql://h/db")))
    assert root.get("tests") == "0" and root.findall("testsuite") == []
