"""Seeding: a deterministic realistic shape, COPY into every variant design, harness-tagged."""

from collections.abc import Callable
from itertools import pairwise

import asyncpg
import pytest

from conformance.fills import fill_problems
from conformance.tagging import is_harness_id
from loadtests import shape
from loadtests.baseline import compare_rates, insert_select_sql
from loadtests.bench import AsyncpgClient, BenchConfig, find_subjects, run_bench
from loadtests.seed import map_role
from tests.loadtests.perfkit import (
    CHAT_SQL,
    apply_sql,
    design_of,
    run,
    seed_tiny,
    settings_from,
    url,
)
from tests.variants import Variant, variants


def test_shape_is_deterministic_and_heavy_tailed() -> None:
    scale = shape.get_scale("small")
    a, b = shape.conversations(scale, 3), shape.conversations(scale, 3)
    assert a == b
    assert shape.conversations(scale, 4) != a
    lengths = sorted(p.length for p in a if not p.anchor)
    median = lengths[len(lengths) // 2]
    assert 4 <= median <= 16 and lengths[-1] > 20 * median  # heavy tail
    assert {p.length for p in a if p.anchor} == {100, 10_000, 100_000}
    assert 150_000 < shape.total_messages(a) < 300_000


def test_messages_alternate_with_system_and_tool() -> None:
    plans = shape.conversations(shape.get_scale("tiny"), 0)
    maker = shape.ContentMaker(0)
    roles: dict[str, int] = {}
    sizes: dict[str, list[int]] = {}
    for p in plans:
        msgs = list(shape.messages(p, 0, maker))
        assert [m.seq for m in msgs] == list(range(1, p.length + 1))
        assert all(x.created_at < y.created_at for x, y in pairwise(msgs))
        for m in msgs:
            roles[m.role] = roles.get(m.role, 0) + 1
            sizes.setdefault(m.role, []).append(len(m.content))
    assert set(roles) == {"system", "user", "assistant", "tool"}
    assert roles["user"] > 10 * roles["tool"]
    med = {r: sorted(v)[len(v) // 2] for r, v in sizes.items()}
    assert med["user"] < med["assistant"]


def test_role_mapping() -> None:
    assert map_role("tool", None) == "tool"
    assert map_role("tool", ("user", "assistant")) == "assistant"
    assert map_role("system", ("USER", "ASSISTANT", "SYSTEM")) == "SYSTEM"


def _variant_settings(v: Variant) -> dict[str, object]:
    values = v.options()
    if v.name == "extra_columns":
        values["fill"] = [*values["fill"], "messages.model_id=1"]
    return values


# b_owner_trigger reassigns every new conversation to another user: a broken schema on purpose.
SEEDABLE = [v for v in variants() if v.name not in ("generic_plan_trap", "b_owner_trigger")]


@pytest.mark.db
@pytest.mark.parametrize("variant", SEEDABLE, ids=lambda v: v.name)
def test_seed_and_operations_on_every_variant(variant: Variant, make_db: Callable[[], str]) -> None:
    dsn = make_db()
    run(apply_sql(dsn, variant.sql))
    if variant.name == "extra_columns":
        run(apply_sql(dsn, "INSERT INTO models VALUES (1)"))
    design = run(design_of(dsn, settings_from(_variant_settings(variant))))
    assert not fill_problems(design)
    result = run(seed_tiny(dsn, design))
    assert result.messages == shape.total_messages(shape.conversations(shape.get_scale("tiny")))

    async def verify() -> None:
        conn = await asyncpg.connect(url(dsn))
        try:
            m, c = design.columns["messages"], design.columns["conversations"]
            count = await conn.fetchval(f"SELECT count(*) FROM {design.table('messages').sql}")
            assert count == result.messages
            owners = await conn.fetch(
                f"SELECT DISTINCT {c['user_id'].sql} AS u FROM {design.table('conversations').sql}"
            )
            assert owners and all(is_harness_id(r["u"]) for r in owners)
            if design.seq_column:
                seq, mt = design.seq_column, design.table("messages").sql
                bad = await conn.fetchval(
                    f'SELECT count(*) FROM (SELECT {m["conversation_id"].sql}, max("{seq}") AS hi,'
                    f" count(*) AS n FROM {mt} GROUP BY 1) t WHERE hi <> n"
                )
                assert bad == 0
            subjects = await find_subjects(conn, design)
            assert subjects["longest"].length == 4_000 and subjects["short"].length == 100
            config = BenchConfig(read_samples=3, write_samples=2, warmup=1)
            out = await run_bench(AsyncpgClient(conn), design, subjects, config)
            assert {x.key for x in out} >= {
                "append.message",
                "append.turn",
                "conversations.recent",
                "history.latest50@100",
            }
            assert all(x.recorder.errors == 0 and x.recorder.count for x in out), [
                (x.key, x.recorder.errors) for x in out
            ]
        finally:
            await conn.close()

    run(verify())


@pytest.mark.db
def test_copy_vs_insert_select_same_rows(make_db: Callable[[], str]) -> None:
    dsn = make_db()
    run(apply_sql(dsn, CHAT_SQL.read_text()))
    design = run(design_of(dsn))
    sql, cols = insert_select_sql(design, ("user", "assistant"))
    assert "generate_series(1, c.n)" in sql and "seq" in cols and "content" in cols

    async def go() -> None:
        conns = [await asyncpg.connect(url(dsn)) for _ in range(2)]
        try:
            rates = await compare_rates(
                conns, design, shape.get_scale("tiny"), rows=3_000, rounds=1
            )
            assert rates.rows > 2_000 and rates.copy_rate > 0 and rates.insert_select_rate > 0
            left = await conns[0].fetchval("SELECT count(*) FROM messages")
            assert left == 0  # the sample rows are removed again
        finally:
            for c in conns:
                await c.close()

    run(go())
