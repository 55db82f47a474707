"""Benchmarks: operations for any design, verdicts, the generic-plan trap, the bench command."""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from chatgate.dsn import parse_dsn
from chatgate.options import Settings
from chatgate.target import Target
from loadtests.bench import AsyncpgClient, BenchConfig, find_subjects, run_bench, scaling_series
from loadtests.histogram import Recorder
from loadtests.operations import operations
from loadtests.verdicts import append_p95, history_p95, history_scaling
from tests.loadtests.perfkit import CHAT_SQL, TRAP_SQL, apply_sql, design_of, run, seed_tiny, url

PERF_IDS = {"perf.history_scaling", "perf.history_p95", "perf.append_p95", "perf.connect"}


def _series(short: float, long: float) -> list[dict[str, Any]]:
    return [
        {"operation": "history.latest50", "conversation_length": 100, "p50": 0, "p95": short},
        {"operation": "history.latest50", "conversation_length": 100_000, "p50": 0, "p95": long},
    ]


def test_scaling_verdict_ratio_and_noise_floor() -> None:
    assert history_scaling(_series(0.10, 0.14)).status == "pass"
    bad = history_scaling(_series(0.10, 28.0))
    assert bad.status == "fail" and bad.details["ratio"] == 280.0
    assert history_scaling(_series(0.02, 0.05)).status == "pass"  # 2.5x but 0.03 ms: noise
    assert history_scaling(_series(0.10, 0.16)).status == "fail"
    assert history_scaling(_series(0.1, 0.1)[:1]).status == "skip"


def test_p95_verdicts_use_settings_targets() -> None:
    rec = Recorder()
    for us in range(100, 1100):
        rec.record_us(us * 10)  # 1 .. 11 ms
    stats = {
        "history.latest50@100": rec.to_stats("history.latest50", params={}),
        "append.message": rec.to_stats("append.message", params={}),
    }
    assert history_p95(stats, Settings()).status == "pass"
    assert history_p95(stats, Settings(history_target_ms=5.0)).status == "fail"
    assert append_p95(stats, Settings(append_target_ms=50.0)).status == "pass"
    failed = append_p95(stats, Settings(append_target_ms=2.0))
    assert failed.status == "fail" and failed.details["target_ms"] == 2.0
    assert append_p95({}, Settings()).status == "skip"


@pytest.mark.db
def test_operations_sql_is_scoped_and_keyset(make_db: Callable[[], str]) -> None:
    dsn = make_db()
    run(apply_sql(dsn, CHAT_SQL.read_text()))
    ops = operations(run(design_of(dsn)))
    latest = ops["history.latest50"].statements[0]
    assert '"conversation_id" = $1 AND "user_id" = $2' in latest
    assert latest.endswith('ORDER BY "seq" DESC LIMIT 50')
    assert '("seq") < ($3)' in ops["history.page_deep"].statements[0]
    turn = ops["append.turn"]
    assert turn.statements[0].startswith('UPDATE "public"."conversations"')
    assert "VALUES (1, $3::text, $4::text), (2, $5::text, $6::text)" in turn.statements[1]
    assert "json_build_object" in turn.statements[1]  # jsonb content


async def _scaling(dsn: str, samples: int) -> tuple[list[dict[str, Any]], str]:
    design = await design_of(dsn)
    conn = await asyncpg.connect(url(dsn))
    try:
        subjects = await find_subjects(conn, design)
        config = BenchConfig(read_samples=samples, write_samples=5, warmup=12)
        series = scaling_series(await run_bench(AsyncpgClient(conn), design, subjects, config))
        longest = subjects["longest"]
        sql = operations(design)["history.latest50"].statements[0]
        await conn.execute("SET plan_cache_mode = force_generic_plan")
        await conn.execute(f"PREPARE latest AS {sql}")
        cid, uid = longest.conversation_id, longest.user_id
        rows = await conn.fetch(f"EXPLAIN EXECUTE latest({cid}, '{uid}')")
        return series, "\n".join(r[0] for r in rows)
    finally:
        await conn.close()


@pytest.mark.db
@pytest.mark.slow
def test_generic_plan_trap_is_flagged_and_reference_like_is_not(
    make_db: Callable[[], str],
) -> None:
    good, trap = make_db(), make_db()
    run(apply_sql(good, CHAT_SQL.read_text()))
    run(apply_sql(trap, TRAP_SQL.read_text()))
    for dsn in (good, trap):
        run(seed_tiny(dsn, run(design_of(dsn))))
    trap_series, trap_plan = run(_scaling(trap, 300))
    good_series, good_plan = run(_scaling(good, 300))
    assert "BitmapAnd" in trap_plan and "Sort" in trap_plan  # the field notes' generic plan
    assert "BitmapAnd" not in good_plan
    trap_verdict = history_scaling(trap_series)
    assert trap_verdict.status == "fail", trap_verdict.summary
    # Medians, not the verdict's p95: at this tiny scale a loaded machine's p95 is noise.
    sql = operations(run(design_of(good)))["history.latest50"].statements[0]
    assert p50_growth(trap_series) > 2 * p50_growth(good_series), (trap_series, good_series, sql)
    assert [r["conversation_length"] for r in trap_series] == [100, 1_000, 4_000]


def p50_growth(series: list[dict[str, Any]]) -> float:
    """Median latency of the longest conversation over the shortest's."""
    rows = sorted(series, key=lambda r: r["conversation_length"])
    return float(rows[-1]["p50"]) / float(rows[0]["p50"])


@pytest.mark.db
@pytest.mark.slow
def test_orm_client_on_reference_schema(make_db: Callable[[], str]) -> None:
    from chatgate.reference import ensure_reference_schema
    from loadtests.orm_client import OrmClient

    dsn = make_db()
    target = Target("dsn", parse_dsn(dsn))
    ensure_reference_schema(target)
    design = run(design_of(dsn))
    run(seed_tiny(dsn, design))

    async def go() -> None:
        conn = await asyncpg.connect(url(dsn))
        orm = OrmClient(target, design)
        try:
            subjects = await find_subjects(conn, design)
            config = BenchConfig("orm", read_samples=3, write_samples=2, warmup=1)
            out = await run_bench(orm, design, subjects, config)
            assert all(m.recorder.count and not m.recorder.errors for m in out)
            assert out[0].params["client"] == "orm"
        finally:
            await orm.close()
            await conn.close()

    run(go())


@pytest.mark.db
@pytest.mark.parametrize("engine", ["python", "pgbench"])
def test_bench_command_writes_result(
    engine: str, make_db: Callable[[], str], tmp_path: Path
) -> None:
    import chatgate.cli.perf  # noqa: F401  (registers seed and bench)
    from chatgate.cli import main

    dsn = make_db()
    run(apply_sql(dsn, CHAT_SQL.read_text()))
    out = tmp_path / "bench.json"
    args = [
        "bench",
        "--dsn",
        dsn,
        "--scale",
        "tiny",
        "--samples",
        "60",
        "--engine",
        engine,
        "--json",
        str(out),
    ]
    try:
        code = main(args) or 0
    except SystemExit as exc:
        code = exc.code
    data = json.loads(out.read_text())
    assert code == (0 if data["verdict"] == "pass" else 1)  # timing decides which, not the test
    assert data["command"] == "bench" and data["harness"]["seeding"]["messages"] > 5_000
    latency = data["latency"]
    expected = {
        "history.latest50@100",
        "history.latest50@1000",
        "history.latest50@4000",
        "history.full_short@100",
        "history.page_deep@4000",
        "conversations.recent",
        "append.message",
        "append.turn",
    }
    assert set(latency) == expected
    for stats in latency.values():
        assert stats["count"] >= 20 and stats["errors"] == 0
        assert 0 < stats["p50"] <= stats["p95"] <= stats["p99"] <= stats["max"]
        assert sum(c for _, c in stats["histogram"]) == stats["count"]
    assert {c["id"] for c in data["checks"]} == PERF_IDS
    assert [r["conversation_length"] for r in data["series"]["scaling"]] == [100, 1_000, 4_000]


@pytest.mark.db
def test_bench_keeps_seeded_rows_unless_clean_after(
    make_db: Callable[[], str], tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """Seeded rows stay (one stderr line says so), --clean-after removes them; result baseline."""
    import chatgate.cli.perf  # noqa: F401  (registers seed and bench)
    from chatgate.cli import main
    from conformance.cleanup import count_rows

    dsn = make_db()
    run(apply_sql(dsn, CHAT_SQL.read_text()))
    design = run(design_of(dsn))

    async def rows() -> int:
        conn = await asyncpg.connect(url(dsn))
        try:
            return (await count_rows(conn, design=design, tag=None)).total
        finally:
            await conn.close()

    def bench(*extra: str) -> str:
        args = ["bench", "--dsn", dsn, "--scale", "tiny", "--samples", "20", *extra]
        try:
            main(args)
        except SystemExit as exc:
            assert exc.code in (0, 1, None)
        return capfd.readouterr().err

    err = bench("--json", str(tmp_path / "a.json"))
    kept = run(rows())
    assert kept > 5_000
    assert f"kept {kept} seeded harness rows for the next bench" in err, err
    assert "chatgate clean" in err
    md = tmp_path / "b.md"
    err = bench(
        "--clean-after",
        "--json",
        str(tmp_path / "b.json"),
        "--baseline",
        str(tmp_path / "a.json"),
        "--md",
        str(md),
    )
    assert run(rows()) == 0 and "kept" not in err, err
    assert "vs baseline" in md.read_text()  # the result JSON baseline reached the report
    data = json.loads((tmp_path / "b.json").read_text())
    assert "seeding" not in data["harness"]  # the second bench reused the first one's rows
    assert sum(data["harness"]["harness_rows"]["removed"].values()) >= kept  # + appends
