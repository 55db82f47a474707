"""Compare two runs' latencies with a noise-aware rule, never a single-number difference.

For each operation and percentile the ratio new/old gets a bootstrap confidence interval:
both histograms are resampled (exactly: the k-th order statistic of n draws from a histogram
is its inverse CDF at a Beta(k, n-k+1) variate), and a change counts only when the whole
interval lies beyond the threshold. A Mann-Whitney U test over the buckets adds P(new > old).
"""

import math
import random
import re
from bisect import bisect_left
from dataclasses import asdict, dataclass, field
from itertools import accumulate
from typing import Any, Literal

from reports.fmt import PERCENTILES, sort_key
from reports.result import LatencyStats, RunResult

Verdict = Literal["faster", "slower", "no change", "n/a"]
QUANTILES = {"p50": 0.50, "p95": 0.95, "p99": 0.99}
_RULE = re.compile(r"^(?:(?P<op>[^:]+):)?(?P<pct>p\d\d(?:\.\d+)?):\+?(?P<num>\d+(?:\.\d+)?)%$")


@dataclass(frozen=True)
class FailRule:
    """`--fail-on [OP:]pNN:+X%`: fail when pNN is significantly more than X% slower."""

    percentile: str
    threshold: float
    operation: str | None = None

    def __str__(self) -> str:
        op = f"{self.operation}:" if self.operation else ""
        return f"{op}{self.percentile}:+{self.threshold * 100:g}%"


def parse_rule(text: str) -> FailRule:
    """Parse `p95:+10%` or `history.full:p99:+20%`; ValueError when malformed."""
    match = _RULE.match(text.strip())
    if not match or match["pct"] not in QUANTILES:
        raise ValueError(f"bad rule {text!r}: use pNN:+X% with pNN one of p50, p95, p99")
    return FailRule(match["pct"], float(match["num"]) / 100, match["op"])


@dataclass
class PercentileDelta:
    """One percentile of one operation: point values, ratio and its confidence interval."""

    percentile: str
    old: float
    new: float
    ratio: float
    low: float
    high: float
    verdict: Verdict

    def beyond(self, threshold: float) -> bool:
        """Whether the whole interval lies above 1 + threshold (significantly slower)."""
        return self.verdict != "n/a" and self.low > 1 + threshold


@dataclass
class OperationDelta:
    """One latency key present in both runs."""

    key: str
    operation: str
    params: dict[str, Any]
    old_count: int
    new_count: int
    deltas: dict[str, PercentileDelta]
    superiority: float | None = None
    mw_p: float | None = None


@dataclass
class Comparison:
    """Every matched operation, plus the keys only one side measured."""

    operations: list[OperationDelta] = field(default_factory=list)
    only_old: list[str] = field(default_factory=list)
    only_new: list[str] = field(default_factory=list)
    threshold: float = 0.05
    confidence: float = 0.95
    resamples: int = 2000
    seed: int = 0

    def get(self, key: str) -> OperationDelta | None:
        """The comparison of one latency key."""
        return next((o for o in self.operations if o.key == key), None)

    def violations(self, rules: list[FailRule]) -> list[tuple[FailRule, OperationDelta]]:
        """The (rule, operation) pairs where a rule is violated."""
        return [
            (rule, op)
            for rule in rules
            for op in self.operations
            if rule.operation in (None, op.operation, op.key)
            and op.deltas[rule.percentile].beyond(rule.threshold)
        ]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Dist:
    """A histogram as sorted values and cumulative fractions."""

    def __init__(self, histogram: list[list[float]]) -> None:
        merged: dict[float, float] = {}
        for value, count in histogram:
            if count > 0:
                merged[float(value)] = merged.get(float(value), 0.0) + float(count)
        self.values = sorted(merged)
        self.counts = [merged[v] for v in self.values]
        self.n = round(sum(self.counts))
        self.cum = [c / sum(self.counts) for c in accumulate(self.counts)] if self.counts else []

    def quantile(self, u: float) -> float:
        """The smallest value whose cumulative fraction reaches u."""
        return self.values[min(bisect_left(self.cum, u), len(self.values) - 1)]

    def resampled(self, q: float, rng: random.Random) -> float:
        """The q-quantile of one bootstrap resample of n draws."""
        k = max(1, math.ceil(q * self.n))
        return self.quantile(rng.betavariate(k, self.n - k + 1))


def _interval(old: _Dist, new: _Dist, q: float, rng: random.Random, b: int, conf: float) -> Any:
    ratios = sorted(new.resampled(q, rng) / max(old.resampled(q, rng), 1e-9) for _ in range(b))
    tail = (1 - conf) / 2
    return ratios[int(tail * b)], ratios[max(int((1 - tail) * b) - 1, 0)]


def _verdict(low: float, high: float, threshold: float) -> Verdict:
    if low > 1 + threshold:
        return "slower"
    if high < 1 / (1 + threshold):
        return "faster"
    return "no change"


def mann_whitney(old: _Dist, new: _Dist) -> tuple[float, float]:
    """P(new > old) (ties count half) and the two-sided p-value, tie-corrected."""
    n1, n2 = sum(old.counts), sum(new.counts)
    a, b = (
        dict(zip(old.values, old.counts, strict=True)),
        dict(zip(new.values, new.counts, strict=True)),
    )
    below, u, ties = 0.0, 0.0, 0.0
    for v in sorted(set(a) | set(b)):
        ca, cb = a.get(v, 0.0), b.get(v, 0.0)
        u += cb * (below + ca / 2)
        below += ca
        ties += (ca + cb) ** 3 - (ca + cb)
    total = n1 + n2
    var = n1 * n2 / 12 * ((total + 1) - ties / (total * (total - 1)))
    z = (u - n1 * n2 / 2) / math.sqrt(var) if var > 0 else 0.0
    return u / (n1 * n2), math.erfc(abs(z) / math.sqrt(2))


def _percentile(
    old: LatencyStats, new: LatencyStats, name: str, cmp: Comparison
) -> PercentileDelta:
    po, pn = float(getattr(old, name)), float(getattr(new, name))
    ratio = pn / po if po > 0 else math.inf
    do, dn = _Dist(old.histogram), _Dist(new.histogram)
    if do.n < 2 or dn.n < 2:
        return PercentileDelta(name, po, pn, ratio, math.nan, math.nan, "n/a")
    rng = random.Random(f"{cmp.seed}:{old.operation}:{old.params}:{name}")
    low, high = _interval(do, dn, QUANTILES[name], rng, cmp.resamples, cmp.confidence)
    return PercentileDelta(name, po, pn, ratio, low, high, _verdict(low, high, cmp.threshold))


def _operation(key: str, old: LatencyStats, new: LatencyStats, cmp: Comparison) -> OperationDelta:
    deltas = {p: _percentile(old, new, p, cmp) for p in PERCENTILES}
    op = OperationDelta(key, new.operation, dict(new.params), old.count, new.count, deltas)
    do, dn = _Dist(old.histogram), _Dist(new.histogram)
    if do.n >= 2 and dn.n >= 2:
        op.superiority, op.mw_p = mann_whitney(do, dn)
    return op


def compare(
    old: RunResult,
    new: RunResult,
    *,
    threshold: float = 0.05,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> Comparison:
    """Compare every latency key both runs measured (deterministic for a given seed)."""
    cmp = Comparison(threshold=threshold, confidence=confidence, resamples=resamples, seed=seed)
    for key, stats in sorted(new.latency.items(), key=sort_key):
        if key in old.latency:
            cmp.operations.append(_operation(key, old.latency[key], stats, cmp))
    cmp.only_old = sorted(set(old.latency) - set(new.latency))
    cmp.only_new = sorted(set(new.latency) - set(old.latency))
    return cmp
