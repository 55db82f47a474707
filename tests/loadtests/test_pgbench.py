"""pgbench as the physical-limit reference: scripts from the same SQL, logs into a Recorder."""

from collections.abc import Callable
from datetime import UTC, datetime

import asyncpg
import pytest

from chatgate.dsn import parse_dsn
from loadtests.bench import BenchConfig, find_subjects
from loadtests.calibrate import ratio_rows
from loadtests.operations import Operation, operations
from loadtests.pgbench import (
    define,
    parse_log,
    pgbench_binary,
    pgbench_measurements,
    run_pgbench,
    script,
)
from tests.loadtests.perfkit import CHAT_SQL, apply_sql, design_of, run, seed_tiny, url

READ = Operation(
    "history.page_deep",
    "read",
    ("SELECT * FROM m WHERE c = $1 AND u = $2 AND (s) < ($3) ORDER BY s DESC LIMIT 50",),
    (("conversation_id", "user_id", "cursor0"),),
)
WRITE = Operation(
    "append.message",
    "write",
    ("UPDATE c SET t = now() WHERE id = $1", "INSERT INTO m SELECT $1, $2, $3::text"),
    (("conversation_id",), ("conversation_id", "user_id", "user_text")),
)


def test_script_turns_parameters_into_variables() -> None:
    text, names = script(READ)
    assert text == (
        "SELECT * FROM m WHERE c = :conversation_id AND u = :user_id AND (s) < (:cursor0) "
        "ORDER BY s DESC LIMIT 50;\n"
    )
    assert names == ["conversation_id", "user_id", "cursor0"]
    text, names = script(WRITE)
    assert text.splitlines()[0] == "BEGIN;" and text.splitlines()[-1] == "END;"
    assert "INSERT INTO m SELECT :conversation_id, :user_id, :user_text::text;" in text
    assert names == ["conversation_id", "user_id", "user_text"]


def test_define_formats_values() -> None:
    assert define("cursor0", 7) == "cursor0=7"
    stamp = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert define("cursor0", stamp) == "cursor0=2026-01-01 12:00:00+00:00"


def test_parse_log_skips_warmup_and_counts_failures() -> None:
    lines = [f"0 {i} {100 + i} 0 1795348670 814510" for i in range(1, 21)]
    lines.append("0 21 failed 0 1795348670 814510")
    rec = parse_log("\n".join(lines), skip=12)
    assert rec.count == 8 and rec.errors == 1
    assert rec.min_ms == pytest.approx(0.113, abs=0.001)


def test_pgbench_binary_exists() -> None:
    assert pgbench_binary().exists()


@pytest.mark.db
def test_pgbench_runs_the_bench_statements(make_db: Callable[[], str]) -> None:
    dsn = make_db()
    run(apply_sql(dsn, CHAT_SQL.read_text()))
    design = run(design_of(dsn))
    run(seed_tiny(dsn, design))

    async def go() -> None:
        conn = await asyncpg.connect(url(dsn))
        try:
            subjects = await find_subjects(conn, design)
        finally:
            await conn.close()
        ops = operations(design)
        one = await run_pgbench(
            parse_dsn(dsn), ops["append.turn"], subjects["append"], transactions=15
        )
        assert one.recorder.count == 15 and one.recorder.errors == 0
        config = BenchConfig(read_samples=20, write_samples=10)
        ms = await pgbench_measurements(parse_dsn(dsn), design, subjects, config)
        keys = {m.key for m in ms}
        assert {"history.latest50@100", "history.page_deep@4000", "append.message"} <= keys
        assert all(m.recorder.count >= 10 and m.params["client"] == "pgbench" for m in ms)
        rows = ratio_rows(ms, ms)
        assert rows and all(r["ratio"] == 1.0 and r["met"] for r in rows)

    run(go())
