"""JUnit XML: a testcase per check id, a testsuite per area (perf.* are the latency verdicts)."""

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

from reports.fmt import AREAS, mask_dsn, pretty, xml_safe
from reports.result import CheckResult, RunResult


def _timestamp(started_at: str) -> str | None:
    """ISO 8601 without zone (what the JUnit schema wants), in UTC."""
    try:
        when = datetime.fromisoformat(started_at)
    except ValueError:
        return None
    if when.tzinfo is not None:
        when = when.astimezone(UTC).replace(tzinfo=None)
    return when.isoformat(timespec="seconds")


def _counts(checks: list[CheckResult]) -> dict[str, str]:
    return {
        "tests": str(len(checks)),
        "failures": str(sum(c.status == "fail" for c in checks)),
        "errors": str(sum(c.status == "error" for c in checks)),
        "skipped": str(sum(c.status == "skip" for c in checks)),
        "time": f"{sum(c.duration_ms for c in checks) / 1000:.3f}",
    }


def _body(check: CheckResult) -> str:
    lines = [f"[{check.severity}] {check.summary}"]
    if check.details:
        lines += ["", pretty(check.details)]
    return xml_safe("\n".join(lines))


def _testcase(parent: ET.Element, check: CheckResult) -> None:
    case = ET.SubElement(
        parent,
        "testcase",
        classname=xml_safe(check.area),
        name=xml_safe(check.id),
        time=f"{check.duration_ms / 1000:.3f}",
    )
    message = xml_safe(check.summary)
    if check.status in ("fail", "error"):
        tag = "failure" if check.status == "fail" else "error"
        ET.SubElement(case, tag, message=message, type=check.severity).text = _body(check)
    elif check.status == "skip":
        ET.SubElement(case, "skipped", message=message)


def _properties(parent: ET.Element, result: RunResult) -> None:
    props = ET.SubElement(parent, "properties")
    t = result.target
    pairs = {
        "command": result.command,
        "verdict": result.verdict,
        "profile": result.profile,
        "strict": str(result.strict).lower(),
        "target": mask_dsn(t.dsn),
        "server_version": t.server_version,
        "pooled": str(t.pooled).lower(),
        "tls": str(t.tls).lower(),
        "statement_mode": t.statement_mode,
        **{f"harness.{k}": str(v) for k, v in result.harness.items()},
    }
    for name, value in pairs.items():
        ET.SubElement(props, "property", name=xml_safe(name), value=xml_safe(str(value)))


def _areas(result: RunResult) -> list[str]:
    seen = [a for a in AREAS if any(c.area == a for c in result.checks)]
    return seen + sorted({c.area for c in result.checks} - set(seen))


def render_junit(result: RunResult) -> str:
    """The JUnit XML document as text."""
    root = ET.Element(
        "testsuites", {"name": f"chatgate {result.command}", **_counts(result.checks)}
    )
    stamp = _timestamp(result.started_at)
    for area in _areas(result):
        checks = [c for c in result.checks if c.area == area]
        suite = ET.SubElement(root, "testsuite", {"name": f"chatgate.{area}", **_counts(checks)})
        if stamp:
            suite.set("timestamp", stamp)
        _properties(suite, result)
        for check in checks:
            _testcase(suite, check)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def write_junit(result: RunResult, path: str | Path) -> Path:
    """Write the JUnit XML file; returns the path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_junit(result), encoding="utf-8")
    return out
