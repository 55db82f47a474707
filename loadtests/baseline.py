"""The seeding yardstick: server-side INSERT ... SELECT generate_series of the same rows.

Same conversations (a sample of the shape, harness-tagged), same columns, same role pattern
and content-size distribution (log-normal via random_normal()), generated inside the server
with no client round trips. COPY from the client should beat it (goal >= 1.2x); both are
measured in the same run on the same server, then the sample rows are deleted.
"""

import time
from dataclasses import dataclass
from typing import Any

import asyncpg

from conformance.design import ColumnInfo, Design
from conformance.tagging import RunTag, new_run_id
from loadtests import shape
from loadtests.seed import Seeder, map_role, seed_design

SAMPLE_ROWS = 50_000
_SYNTHETIC_SQL = {
    "integer": "(c.ord * 100000 + g)",
    "boolean": "false",
    "timestamp": "now()",
    "uuid": "gen_random_uuid()",
    "json": "'{}'",
}


@dataclass
class RateComparison:
    """Rows per second of COPY and of INSERT ... SELECT for the same sample."""

    rows: int
    copy_rate: float
    insert_select_rate: float

    @property
    def ratio(self) -> float:
        """COPY rate / INSERT ... SELECT rate (goal >= 1.2)."""
        return self.copy_rate / self.insert_select_rate if self.insert_select_rate else 0.0

    def to_dict(self) -> dict[str, float]:
        return {
            "rows": self.rows,
            "copy_rows_per_s": round(self.copy_rate),
            "insert_select_rows_per_s": round(self.insert_select_rate),
            "ratio": round(self.ratio, 2),
        }


def sample_scale(scale: shape.Scale, rows: int = SAMPLE_ROWS) -> shape.Scale:
    """A scale with the same shape of ordinary conversations and about `rows` messages."""
    per_conv = scale.approx_messages / max(scale.conversations, 1) if not scale.anchors else 16.4
    conversations = max(1, int(rows / per_conv))
    return shape.Scale(f"{scale.name}-sample", min(scale.users, 16), conversations, ())


def content_sql(design: Design, corpus_param: str) -> str:
    """Server-side content of the shape's size distribution for user/assistant turns."""
    u, a = shape.CONTENT_SIZES["user"], shape.CONTENT_SIZES["assistant"]
    size = (
        f"least(CASE WHEN g % 2 = 1 THEN {u[2]} ELSE {a[2]} END, greatest(1, exp("
        f"ln(CASE WHEN g % 2 = 1 THEN {u[0]} ELSE {a[0]} END) + random_normal() * "
        f"CASE WHEN g % 2 = 1 THEN {u[1]} ELSE {a[1]} END)::int))"
    )
    text = f"substr({corpus_param}, 1 + (random() * 1000)::int, {size})"
    col = design.col("messages", "content")
    if design.content_is_json:
        return f"json_build_object('type', 'text', 'text', {text})::{col.type if col else 'jsonb'}"
    if col is not None and col.max_length:
        return f"left({text}, {col.max_length})"
    return text


def insert_select_sql(design: Design, roles: tuple[str, str]) -> tuple[str, list[str]]:
    """The INSERT ... SELECT statement ($1 ids, $2 users, $3 lengths, $4 starts, $5 corpus)."""
    m = design.columns["messages"]
    conv = design.col("conversations", "id")
    user = design.col("users", "id") or design.col("conversations", "user_id")
    assert conv is not None and user is not None
    exprs: dict[str, str] = {}
    exprs[m["conversation_id"].name] = "c.id"
    if "user_id" in m:
        exprs[m["user_id"].name] = "c.uid"
    if design.seq_column:
        exprs[design.seq_column] = "g"
    if "role" in m:
        exprs[m["role"].name] = (
            f"(CASE WHEN g % 2 = 1 THEN '{roles[0]}' ELSE '{roles[1]}' END)::{m['role'].type}"
        )
    if "content" in m:
        exprs[m["content"].name] = content_sql(design, "$5")
    if "created_at" in m:
        exprs[m["created_at"].name] = (
            f"(c.start + g * interval '7 seconds')::{m['created_at'].type}"
        )
    extra = {c.name: c for c in design.extra_required.get("messages", ())}
    for f in design.fills:
        if f.table == "messages" and f.column not in exprs:
            col: ColumnInfo | None = extra.get(f.column)
            kind = f.synthetic or "text"
            expr = f"({f.sql})" if f.sql else _SYNTHETIC_SQL.get(kind, "'cg-' || c.ord || '-' || g")
            exprs[f.column] = f"({expr})::{col.type}" if col else expr
    cols = ", ".join(f'"{k}"' for k in exprs)
    sql = (
        f"INSERT INTO {design.table('messages').sql} ({cols}) SELECT {', '.join(exprs.values())} "
        f"FROM unnest($1::{conv.type}[], $2::{user.type}[], $3::int[], $4::timestamptz[]) "
        f"WITH ORDINALITY AS c(id, uid, n, start, ord), generate_series(1, c.n) AS g"
    )
    return sql, list(exprs)


async def insert_select(
    conn: asyncpg.Connection, design: Design, plans: list[shape.ConversationPlan], *, seed: int
) -> tuple[RunTag, int, float]:
    """Write users/conversations for `plans` then their messages by INSERT ... SELECT."""
    tag = RunTag(new_run_id())
    seeder = Seeder(design, tag, seed=seed)
    users = seeder.user_ids(max(p.user for p in plans) + 1)
    await seeder.users(conn, users)
    ids = await seeder.conversations(conn, plans, users)
    roles = (map_role("user", design.roles), map_role("assistant", design.roles))
    sql, _ = insert_select_sql(design, roles)
    text = shape.corpus(seed=seed) * 2
    args: list[Any] = [
        ids,
        [users[p.user] for p in plans],
        [p.length for p in plans],
        [p.started_at for p in plans],
        text,
    ]
    t0 = time.perf_counter()
    await conn.execute(sql, *args)
    return tag, shape.total_messages(plans), time.perf_counter() - t0


async def delete_run(conn: asyncpg.Connection, design: Design, tag: RunTag) -> None:
    """Remove one run's messages and conversations (its few users stay for `chatgate clean`).

    Users are left alone on purpose: deleting them makes every ON DELETE CASCADE foreign key
    without an index (messages.user_id often) scan the whole messages table once per user.
    """
    from loadtests.rows import user_kind

    conv = design.table("conversations").sql
    cuser = design.col("conversations", "user_id")
    cid = design.col("conversations", "id")
    mconv = design.col("messages", "conversation_id")
    assert cuser and cid and mconv
    pred, params = tag.predicate(cuser.sql, user_kind(design))
    await conn.execute(
        f"DELETE FROM {design.table('messages').sql} WHERE {mconv.sql} IN "
        f"(SELECT {cid.sql} FROM {conv} WHERE {pred})",
        *params,
    )
    await conn.execute(f"DELETE FROM {conv} WHERE {pred}", *params)


async def compare_rates(
    conns: list[asyncpg.Connection],
    design: Design,
    scale: shape.Scale,
    *,
    seed: int = 0,
    rows: int = SAMPLE_ROWS,
    rounds: int = 2,
) -> RateComparison:
    """COPY vs INSERT ... SELECT of the same sample, in this run; sample rows deleted after."""
    sample = sample_scale(scale, rows)
    plans = shape.conversations(sample, seed)
    copy_rates: list[float] = []
    is_rates: list[float] = []
    n = 0
    for _ in range(rounds):  # alternate, keep the best of each: other load only slows things
        copy_tag = RunTag(new_run_id())
        copied = await seed_design(conns, design, scale=sample, tag=copy_tag, seed=seed)
        is_tag, n, seconds = await insert_select(conns[0], design, plans, seed=seed)
        copy_rates.append(copied.rate)
        is_rates.append(n / seconds if seconds else 0.0)
        for tag in (copy_tag, is_tag):
            await delete_run(conns[0], design, tag)
    return RateComparison(n, max(copy_rates), max(is_rates))
