"""Seeding: binary COPY of a realistic shape into any discovered design, harness-tagged.

Every row belongs to a harness user (conformance.tagging), so `chatgate clean` removes it.
Users and conversations go first (their keys are made client-side or reserved from the
table's sequence), then messages in chunks of COPY, several connections in parallel so that
the server's work overlaps with the client's row encoding.
"""

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from conformance.design import Design
from conformance.tagging import RunTag
from loadtests import shape
from loadtests.rows import KeyMaker, TableRows, fill_makers, fit, user_kind

CHUNK_ROWS = 20_000
WORKERS = 2
Progress = Callable[[int], None]


@dataclass
class SeedResult:
    """What a seeding wrote and how fast; `anchors` maps anchor length -> conversation id."""

    run_id: str
    scale: str
    users: int = 0
    conversations: int = 0
    messages: int = 0
    seconds: float = 0.0
    message_seconds: float = 0.0
    anchors: dict[int, Any] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        """Messages per second during the message COPY."""
        return self.messages / self.message_seconds if self.message_seconds else 0.0

    @property
    def rows(self) -> int:
        return self.users + self.conversations + self.messages


def map_role(role: str, allowed: tuple[str, ...] | None) -> str:
    """The shape's role in the design's vocabulary (system/tool fall back when not allowed)."""
    if allowed is None:
        return role
    lower = {a.lower(): a for a in allowed}
    fallbacks = {
        "system": ("system", "developer", "user"),
        "tool": ("tool", "function", "assistant"),
    }
    for name in fallbacks.get(role, (role,)):
        if name in lower:
            return lower[name]
    return allowed[0]


class Seeder:
    """Writes a shape into one design with one run tag."""

    def __init__(self, design: Design, tag: RunTag, *, seed: int = 0) -> None:
        self.d = design
        self.tag = tag
        self.seed = seed
        self.maker = shape.ContentMaker(seed)
        self.roles = {r: map_role(r, design.roles) for r in shape.CONTENT_SIZES}

    def user_ids(self, count: int) -> list[Any]:
        """The harness user ids of this run, typed for the user column."""
        col = self.d.col("users", "id") or self.d.col("conversations", "user_id")
        assert col is not None
        return [fit(col, self.tag.user_id(n, user_kind(self.d))) for n in range(count)]

    async def copy(self, conn: asyncpg.Connection, table: str, cols: list[str], rows: Any) -> None:
        ref = self.d.table(table)
        await conn.copy_records_to_table(
            ref.name, records=rows, columns=cols, schema_name=ref.schema
        )

    async def users(self, conn: asyncpg.Connection, ids: list[Any]) -> None:
        if "users" not in self.d.tables:
            return
        id_col = self.d.col("users", "id")
        assert id_col is not None
        extra, makers = await fill_makers(conn, self.d, "users", {id_col.name}, self.tag.run_id)
        spec = TableRows([id_col.name, *extra], makers)
        await self.copy(conn, "users", spec.columns, [spec.row((u,), n) for n, u in enumerate(ids)])

    async def conversations(
        self, conn: asyncpg.Connection, plans: list[shape.ConversationPlan], users: list[Any]
    ) -> list[Any]:
        """COPY the conversations; returns their ids in plan order."""
        ids = await KeyMaker(conn, self.d, self.tag).make("conversations", len(plans), "c")
        c = self.d.columns["conversations"]
        names = ["id", "user_id", "title", "created_at", "updated_at"]
        present = [n for n in names if n in c]
        extra, makers = await fill_makers(
            conn, self.d, "conversations", {c[n].name for n in present}, self.tag.run_id
        )
        spec = TableRows([c[n].name for n in present] + extra, makers)

        def values(p: shape.ConversationPlan, cid: Any) -> list[Any]:
            raw = {
                "id": cid,
                "user_id": users[p.user],
                "title": p.title,
                "created_at": p.started_at,
                "updated_at": p.last_at,
            }
            return [fit(c[n], raw[n]) for n in present]

        rows = [spec.row(values(p, i), n) for n, (p, i) in enumerate(zip(plans, ids, strict=True))]
        await self.copy(conn, "conversations", spec.columns, rows)
        return ids

    async def message_spec(self, conn: asyncpg.Connection) -> tuple[TableRows, list[str]]:
        """The messages' written columns (logical names, seq as '_seq') and fill makers."""
        m = self.d.columns["messages"]
        logical: list[str] = [
            n for n in ("conversation_id", "user_id", "role", "content", "created_at") if n in m
        ]
        actual = [m[n].name for n in logical]
        seq = self.d.seq_column
        if seq is not None and seq not in actual:
            logical.append("_seq")
            actual.append(seq)
        extra, makers = await fill_makers(conn, self.d, "messages", set(actual), self.tag.run_id)
        return TableRows(actual + extra, makers), logical

    def message_rows(
        self,
        spec: TableRows,
        logical: list[str],
        batch: list[tuple[shape.ConversationPlan, Any, Any]],
        first: int,
    ) -> Iterator[tuple[Any, ...]]:
        """Records for the conversations in `batch` ((plan, conversation id, user id))."""
        m = self.d.columns["messages"]
        json_content = self.d.content_is_json
        content_len = m["content"].max_length if "content" in m else None
        naive = "created_at" in m and m["created_at"].base == "timestamp"
        n = first
        for plan, cid, uid in batch:
            for msg in shape.messages(plan, self.seed, self.maker):
                text = msg.content[:content_len] if content_len else msg.content
                at = msg.created_at.replace(tzinfo=None) if naive else msg.created_at
                raw = {
                    "conversation_id": cid,
                    "user_id": uid,
                    "role": self.roles[msg.role],
                    "content": f'{{"type":"text","text":"{text}"}}' if json_content else text,
                    "created_at": at,
                    "_seq": msg.seq,
                }
                yield spec.row([raw[k] for k in logical], n)
                n += 1

    async def messages(
        self,
        conns: list[asyncpg.Connection],
        plans: list[shape.ConversationPlan],
        conv_ids: list[Any],
        users: list[Any],
        progress: Progress | None = None,
    ) -> None:
        """COPY every message; each connection owns the conversations of its users.

        Splitting by owner keeps two transactions from key-share locking the same user row
        (which would create MultiXacts and serialize the foreign-key checks).
        """
        spec, logical = await self.message_spec(conns[0])
        lanes: list[list[list[tuple[shape.ConversationPlan, Any, Any]]]] = [[[]] for _ in conns]
        sizes = [0] * len(conns)
        first = 0
        starts: dict[int, int] = {}
        lane_of = balance(plans, len(conns))
        for p, cid in zip(plans, conv_ids, strict=True):
            lane = lane_of[p.user]
            if sizes[lane] >= CHUNK_ROWS:
                lanes[lane].append([])
                sizes[lane] = 0
            lanes[lane][-1].append((p, cid, users[p.user]))
            sizes[lane] += p.length
        for batch in (b for lane_batches in lanes for b in lane_batches):
            starts[id(batch)] = first  # row numbers unique across batches (fill values)
            first += sum(p.length for p, _, _ in batch)

        async def work(conn: asyncpg.Connection, batches: list[list[Any]]) -> None:
            for batch in batches:
                if not batch:
                    continue
                rows = self.message_rows(spec, logical, batch, starts[id(batch)])
                await self.copy(conn, "messages", spec.columns, rows)
                if progress:
                    progress(sum(p.length for p, _, _ in batch))

        await asyncio.gather(*(work(c, b) for c, b in zip(conns, lanes, strict=True)))


def balance(plans: list[shape.ConversationPlan], lanes: int) -> dict[int, int]:
    """Assign users to lanes so that each lane gets about the same number of messages."""
    per_user: dict[int, int] = {}
    for p in plans:
        per_user[p.user] = per_user.get(p.user, 0) + p.length
    load = [0] * lanes
    out: dict[int, int] = {}
    for user, n in sorted(per_user.items(), key=lambda kv: -kv[1]):
        lane = load.index(min(load))
        out[user] = lane
        load[lane] += n
    return out


async def seed_design(
    conns: list[asyncpg.Connection],
    design: Design,
    *,
    scale: shape.Scale,
    tag: RunTag,
    seed: int = 0,
    progress: Progress | None = None,
) -> SeedResult:
    """Seed `scale` into `design` over `conns` (one or more connections to the same target)."""
    t0 = time.perf_counter()
    seeder = Seeder(design, tag, seed=seed)
    plans = shape.conversations(scale, seed)
    users = seeder.user_ids(scale.users)
    await seeder.users(conns[0], users)
    conv_ids = await seeder.conversations(conns[0], plans, users)
    t1 = time.perf_counter()
    await seeder.messages(conns, plans, conv_ids, users, progress)
    t2 = time.perf_counter()
    return SeedResult(
        run_id=tag.run_id,
        scale=scale.name,
        users=len(users) if "users" in design.tables else 0,
        conversations=len(plans),
        messages=shape.total_messages(plans),
        seconds=t2 - t0,
        message_seconds=t2 - t1,
        anchors={p.length: cid for p, cid in zip(plans, conv_ids, strict=False) if p.anchor},
    )
