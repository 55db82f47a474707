"""The result model every command produces and every report reads (format chatgate-result v1).

`reports` depends only on this module: the harness builds a `RunResult`, writes it as JSON, and
renderers read it back. Later versions only add fields; readers ignore what they do not know.
"""

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

FORMAT = "chatgate-result"
VERSION = 1
Status = Literal["pass", "fail", "skip", "error"]
Severity = Literal["must", "should", "info"]
STATUSES = ("pass", "fail", "skip", "error")


class ResultFileError(ValueError):
    """A result or baseline file that cannot be read; the message is one line."""


@dataclass
class CheckResult:
    """One check's verdict. `details` holds evidence: counterexamples, plans, differences."""

    id: str
    severity: Severity
    status: Status
    summary: str
    details: dict[str, Any] = field(default_factory=dict)
    duration_ms: float = 0.0

    @property
    def area(self) -> str:
        """The id's prefix: structure, isolation, cascade, ordering, time, perf."""
        return self.id.split(".", 1)[0]

    def gates(self, *, strict: bool) -> bool:
        """Whether this result fails the run (must, or should under --strict)."""
        bad = self.status in ("fail", "error")
        return bad and (self.severity == "must" or (strict and self.severity == "should"))


@dataclass
class LatencyStats:
    """Exact latencies of one operation (ms); `histogram` is [[value_ms, count], ...]."""

    operation: str
    count: int
    p50: float
    p95: float
    p99: float
    max: float
    min: float = 0.0
    mean: float = 0.0
    errors: int = 0
    histogram: list[list[float]] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class TargetInfo:
    """The target as it may be shown: masked DSN and what was learned about it."""

    dsn: str
    kind: str = "dsn"
    server_version: str = ""
    pooled: bool = False
    tls: bool = False
    statement_mode: str = "prepared"  # or "unprepared" (statement cache off, behind a pooler)
    rtt_ms: float | None = None


@dataclass
class RunResult:
    """Everything a run found; `verdict` derives from the gating checks."""

    target: TargetInfo
    command: str = "check"
    run_id: str = ""
    started_at: str = ""
    duration_s: float = 0.0
    strict: bool = False
    profile: str = "ci"
    harness: dict[str, Any] = field(default_factory=dict)
    discovery: dict[str, Any] = field(default_factory=dict)
    checks: list[CheckResult] = field(default_factory=list)
    latency: dict[str, LatencyStats] = field(default_factory=dict)
    series: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    artifacts: dict[str, str] = field(default_factory=dict)

    @property
    def verdict(self) -> Literal["pass", "fail"]:
        return "fail" if any(c.gates(strict=self.strict) for c in self.checks) else "pass"

    @property
    def exit_code(self) -> int:
        return 1 if self.verdict == "fail" else 0

    def check(self, check_id: str) -> CheckResult | None:
        """The result for one id, if it ran."""
        return next((c for c in self.checks if c.id == check_id), None)

    def counts(self) -> dict[str, int]:
        """How many checks ended in each status."""
        return {s: sum(1 for c in self.checks if c.status == s) for s in STATUSES}

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        return {"format": FORMAT, "version": VERSION, "verdict": self.verdict, **data}

    def write(self, path: str | Path) -> Path:
        """Write the JSON document; returns the path."""
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(self.to_dict(), indent=2, default=str) + "\n")
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RunResult":
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ResultFileError(f"not a {FORMAT} document (no 'format': '{FORMAT}')")
        if not isinstance(data.get("version"), int) or data["version"] < 1:
            raise ResultFileError("result document has no integer 'version'")
        try:
            return cls(
                target=_build(TargetInfo, data["target"]),
                checks=[_build(CheckResult, c) for c in data.get("checks", [])],
                latency={k: _build(LatencyStats, v) for k, v in data.get("latency", {}).items()},
                **{
                    f.name: data[f.name]
                    for f in fields(cls)
                    if f.name in data and f.name not in ("target", "checks", "latency")
                },
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ResultFileError(f"malformed result document: {exc}") from None

    @classmethod
    def read(cls, path: str | Path) -> "RunResult":
        """Read a result JSON file; ResultFileError (one line, naming the file) when unusable."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise ResultFileError(f"{path} is not a text file (not UTF-8)") from None
        except OSError as exc:
            raise ResultFileError(f"cannot read {path}: {exc.strerror or exc}") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ResultFileError(f"{path} is not valid JSON (line {exc.lineno})") from None
        try:
            return cls.from_dict(data)
        except ResultFileError as exc:
            raise ResultFileError(f"{path}: {exc}") from None


def _build(cls: Any, data: Any) -> Any:
    """Build a dataclass from a dict, ignoring keys a later version added."""
    if not isinstance(data, dict):
        raise TypeError(f"{cls.__name__} must be an object")
    known = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in known})
