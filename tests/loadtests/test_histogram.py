"""The exact-latency recorder: percentiles, merging, shipping, compact buckets."""

import random

from loadtests.histogram import Recorder, merged


def test_percentiles_in_ms() -> None:
    rec = Recorder()
    for us in range(1, 1001):
        rec.record_us(us)
    assert rec.count == 1000
    assert abs(rec.percentile_ms(50) - 0.5) < 0.001
    assert abs(rec.percentile_ms(99) - 0.99) < 0.002
    assert abs(rec.max_ms - 1.0) < 0.002


def test_record_s_and_clamping() -> None:
    rec = Recorder()
    rec.record_s(0.000080)
    rec.record_s(0.0)
    rec.record_s(120.0)
    assert rec.count == 3
    assert rec.min_ms == 0.001
    assert 59_900 <= rec.max_ms <= 60_100


def test_merge_and_encode_round_trip() -> None:
    a, b = Recorder(), Recorder()
    for v in (100, 200, 300):
        a.record_us(v)
    b.record_us(28_000)
    b.record_error()
    text = b.encode()
    back = Recorder.decode(text)
    assert back.count == 1 and back.errors == 1
    a.merge(back)
    assert a.count == 4 and a.errors == 1
    assert abs(a.max_ms - 28.0) < 0.05
    assert merged([Recorder.decode(a.encode()), Recorder()]).count == 4


def test_empty_recorder_is_zero() -> None:
    rec = Recorder()
    stats = rec.to_stats("noop", params={})
    assert stats.count == 0 and stats.p95 == 0.0 and stats.histogram == []


def test_to_stats_compact_histogram_sums_to_count() -> None:
    rnd = random.Random(7)
    rec = Recorder()
    for _ in range(20_000):
        rec.record_us(int(rnd.lognormvariate(5, 1.2)) + 1)
    stats = rec.to_stats("history.latest50", params={"client": "asyncpg"}, errors=2)
    assert stats.count == 20_000 and stats.errors == 2
    assert stats.params == {"client": "asyncpg"}
    assert len(stats.histogram) <= 200
    assert sum(c for _, c in stats.histogram) == 20_000
    values = [v for v, _ in stats.histogram]
    assert values == sorted(values)
    assert stats.p50 <= stats.p95 <= stats.p99 <= stats.max
