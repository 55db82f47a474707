"""Exact latency recording: an HdrHistogram in microseconds, mergeable across processes.

Locust rounds sub-100 ms times to whole milliseconds and database calls take tenths of one, so
every benchmark and load worker records here instead, ships `encode()` to the collector, and the
collector `merge`s and turns the whole into a `LatencyStats` for the result.
"""

from typing import Any

from hdrh.histogram import HdrHistogram

from reports.result import LatencyStats

LOWEST_US = 1
HIGHEST_US = 60_000_000  # 60 s
SIGNIFICANT_DIGITS = 3
MAX_BUCKETS = 200  # compact histogram in the result: at most this many [value_ms, count] rows


class Recorder:
    """Latencies of one operation, in microseconds (1 us .. 60 s, 3 significant digits)."""

    def __init__(self, histogram: HdrHistogram | None = None) -> None:
        self.hist = histogram or HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)
        self.errors = 0

    def record_us(self, value: int) -> None:
        """Record one latency in microseconds (clamped to the trackable range)."""
        self.hist.record_value(min(max(int(value), LOWEST_US), HIGHEST_US))

    def record_s(self, seconds: float) -> None:
        """Record one latency given in seconds (e.g. a perf_counter difference)."""
        self.record_us(round(seconds * 1_000_000))

    def record_error(self) -> None:
        """Count one failed call (not a latency)."""
        self.errors += 1

    def merge(self, other: "Recorder") -> "Recorder":
        """Add another recorder's values and errors into this one; returns self."""
        self.hist.add(other.hist)
        self.errors += other.errors
        return self

    def encode(self) -> str:
        """A compact base64 text form (HdrHistogram's V2 compressed encoding) for shipping."""
        payload = self.hist.encode()
        text = payload.decode("ascii") if isinstance(payload, bytes) else str(payload)
        return f"{self.errors}:{text}" if self.errors else text

    @classmethod
    def decode(cls, text: str) -> "Recorder":
        """The recorder `encode()` produced."""
        errors = 0
        head, sep, rest = text.partition(":")
        if sep and head.isdigit():
            errors, text = int(head), rest
        rec = cls(HdrHistogram.decode(text.encode("ascii")))
        rec.errors = errors
        return rec

    @property
    def count(self) -> int:
        """How many latencies were recorded."""
        return int(self.hist.get_total_count())

    def percentile_ms(self, p: float) -> float:
        """The p-th percentile (0..100) in milliseconds; 0.0 when empty."""
        if not self.count:
            return 0.0
        return float(self.hist.get_value_at_percentile(p)) / 1000.0

    @property
    def max_ms(self) -> float:
        return float(self.hist.get_max_value()) / 1000.0 if self.count else 0.0

    @property
    def min_ms(self) -> float:
        return float(self.hist.get_min_value()) / 1000.0 if self.count else 0.0

    @property
    def mean_ms(self) -> float:
        return float(self.hist.get_mean_value()) / 1000.0 if self.count else 0.0

    def buckets(self, max_buckets: int = MAX_BUCKETS) -> list[list[float]]:
        """Recorded values as [[value_ms, count], ...], coarsened to at most `max_buckets` rows."""
        rows = [
            (int(it.value_iterated_to), int(it.count_added_in_this_iter_step))
            for it in self.hist.get_recorded_iterator()
        ]
        digits = SIGNIFICANT_DIGITS
        while len(rows) > max_buckets and digits > 1:
            digits -= 1
            rows = _coarsen(rows, digits)
        return [[round(v / 1000.0, 3), float(c)] for v, c in rows]

    def summary(self) -> dict[str, Any]:
        """count, p50, p95, p99, max in ms (for printing)."""
        return {
            "count": self.count,
            **{f"p{p}": round(self.percentile_ms(p), 3) for p in (50, 95, 99)},
            "max": round(self.max_ms, 3),
        }

    def to_stats(self, operation: str, *, params: dict[str, Any], errors: int = 0) -> LatencyStats:
        """The result model's `LatencyStats` for this operation (ms, compact histogram)."""
        return LatencyStats(
            operation=operation,
            count=self.count,
            p50=round(self.percentile_ms(50), 4),
            p95=round(self.percentile_ms(95), 4),
            p99=round(self.percentile_ms(99), 4),
            max=round(self.max_ms, 4),
            min=round(self.min_ms, 4),
            mean=round(self.mean_ms, 4),
            errors=errors + self.errors,
            histogram=self.buckets(),
            params=dict(params),
        )


def _coarsen(rows: list[tuple[int, int]], digits: int) -> list[tuple[int, int]]:
    """Merge rows whose values agree to `digits` significant digits (value: bucket top)."""
    out: dict[int, int] = {}
    for value, count in rows:
        key = _round_up(value, digits)
        out[key] = out.get(key, 0) + count
    return sorted(out.items())


def _round_up(value: int, digits: int) -> int:
    """`value` rounded up to `digits` significant digits."""
    if value <= 0:
        return 0
    scale: int = 10 ** max(len(str(value)) - digits, 0)
    return -(-value // scale) * scale


def merged(recorders: list[Recorder]) -> Recorder:
    """One recorder holding all the given ones."""
    out = Recorder()
    for rec in recorders:
        out.merge(rec)
    return out
