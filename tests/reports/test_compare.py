"""`chatgate compare`: noise-aware verdicts from histograms, rules, exit codes."""

import io
import random
from pathlib import Path

import pytest
from rich.console import Console

from reports.compare import FailRule, compare, mann_whitney, parse_rule
from reports.compare import _Dist as Dist
from reports.console import print_comparison, run_compare
from reports.result import ResultFileError, RunResult, TargetInfo
from tests.reports.sample import sample_result, stats_from


def _run(seed: int, factor: float = 1.0, n: int = 2000) -> RunResult:
    """One operation measured n times: lognormal latencies from `random` (no numpy)."""
    rng = random.Random(seed)
    samples = [factor * rng.lognormvariate(1.0, 0.4) for _ in range(n)]
    stats = stats_from("history.latest_50", samples, conversation_length=10_000)
    return RunResult(target=TargetInfo(dsn="postgresql://h/db"), latency={"h@10000": stats})


def _quiet() -> Console:
    return Console(file=io.StringIO(), width=120)


def test_same_distribution_is_no_change() -> None:
    cmp = compare(_run(1), _run(2))
    assert {d.verdict for d in cmp.operations[0].deltas.values()} == {"no change"}
    for d in cmp.operations[0].deltas.values():
        assert d.low < 1 < d.high
    full = compare(sample_result(seed=11), sample_result(seed=12))
    assert {d.verdict for op in full.operations for d in op.deltas.values()} == {"no change"}
    assert print_comparison(full, [parse_rule("p95:+10%"), parse_rule("p99:+10%")], _quiet()) == 0


def test_twofold_slowdown_is_slower_and_fails_the_rule() -> None:
    cmp = compare(_run(1), _run(2, factor=2.0))
    deltas = cmp.operations[0].deltas
    assert {d.verdict for d in deltas.values()} == {"slower"}
    assert deltas["p95"].low > 1.5 and 1.8 < deltas["p95"].ratio < 2.3
    assert cmp.violations([parse_rule("p95:+10%")])
    assert print_comparison(cmp, [parse_rule("p95:+10%")], _quiet()) == 1
    assert print_comparison(cmp, [parse_rule("p95:+150%")], _quiet()) == 0


def test_faster_is_detected() -> None:
    deltas = compare(_run(1), _run(3, factor=0.5)).operations[0].deltas
    assert {d.verdict for d in deltas.values()} == {"faster"}


def test_deterministic() -> None:
    a, b = _run(1), _run(2, factor=1.04)
    assert compare(a, b).to_dict() == compare(a, b).to_dict()
    assert compare(a, b, seed=1).to_dict() != compare(a, b, seed=2).to_dict()


def test_mann_whitney_from_buckets() -> None:
    same = mann_whitney(
        Dist(_run(1).latency["h@10000"].histogram), Dist(_run(2).latency["h@10000"].histogram)
    )
    slow = mann_whitney(
        Dist(_run(1).latency["h@10000"].histogram), Dist(_run(2, 2.0).latency["h@10000"].histogram)
    )
    assert 0.45 < same[0] < 0.55 and same[1] > 0.01
    assert 0.85 < slow[0] < 0.93 and slow[1] < 1e-6  # theory: Φ(ln 2 / (0.4·√2)) = 0.89


def test_missing_histogram_and_unmatched_keys() -> None:
    old, new = _run(1), _run(2, factor=2.0)
    new.latency["h@10000"].histogram = []
    new.latency["extra"] = old.latency["h@10000"]
    cmp = compare(old, new)
    assert cmp.get("h@10000").deltas["p95"].verdict == "n/a"  # type: ignore[union-attr]
    assert cmp.only_new == ["extra"] and cmp.violations([parse_rule("p95:+1%")]) == []


def test_rule_parsing() -> None:
    assert parse_rule("p95:+10%") == FailRule("p95", 0.10)
    assert parse_rule("history.full:p99:20%") == FailRule("p99", 0.20, "history.full")
    assert str(parse_rule("p50:+2.5%")) == "p50:+2.5%"
    for bad in ("p97:+10%", "p95", "p95:+x%", "p95:10"):
        with pytest.raises(ValueError):
            parse_rule(bad)


def test_rule_scoped_to_an_operation() -> None:
    cmp = compare(_run(1), _run(2, factor=2.0))
    assert cmp.violations([parse_rule("history.latest_50:p95:+10%")])
    assert not cmp.violations([parse_rule("append.single:p95:+10%")])


def test_run_compare_reads_files(tmp_path: Path) -> None:
    old, new = _run(1).write(tmp_path / "old.json"), _run(2, 2.0).write(tmp_path / "new.json")
    assert run_compare(old, new, [parse_rule("p99:+10%")], _quiet()) == 1
    (tmp_path / "bad.json").write_text('{"format": "other"}')
    with pytest.raises(ResultFileError):
        run_compare(old, tmp_path / "bad.json", [], _quiet())
