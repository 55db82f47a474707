"""perf.history_plan: judge the shape of the history query's plan (EXPLAIN only, nothing runs).

Custom and generic plans (plan_cache_mode) of the plain and the user-scoped history query are
judged with seqscan and sort penalised (SET LOCAL), so the verdict does not depend on table
size; everything happens in one read-only transaction that is rolled back.
"""

import json
import re
from dataclasses import dataclass
from typing import Any

import asyncpg

from conformance.context import CheckContext
from conformance.design import Design, quote_ident
from conformance.registry import Outcome, check, errored, failed, passed
from conformance.snapshot import Snapshot

HISTORY_LIMIT = 50
PENALTIES = ("SET LOCAL enable_seqscan = off", "SET LOCAL enable_sort = off")
PLAN_MODES = ("force_custom_plan", "force_generic_plan")
SAMPLE = {"uuid": "00000000-0000-0000-0000-000000000000", "integer": "0", "text": "x"}
SCANS = (
    "Seq Scan",
    "Index Scan",
    "Index Only Scan",
    "Bitmap Heap Scan",
    "Tid Scan",
    "Tid Range Scan",
    "Sample Scan",
)


def history_sql(design: Design, *, scoped: bool, limit: int = HISTORY_LIMIT) -> str:
    """The latest-`limit` history query ($1 conversation id, $2 user id when scoped)."""
    msgs = design.table("messages")
    conv = design.col("messages", "conversation_id")
    assert conv is not None
    where = f"m.{conv.sql} = $1"
    if scoped:
        owner = design.col("messages", "user_id")
        if owner is not None:
            where += f" AND m.{owner.sql} = $2"
        else:
            c_id, c_user = design.col("conversations", "id"), design.col("conversations", "user_id")
            assert c_id is not None and c_user is not None
            where += (
                f" AND EXISTS (SELECT 1 FROM {design.table('conversations').sql} c"
                f" WHERE c.{c_id.sql} = m.{conv.sql} AND c.{c_user.sql} = $2)"
            )
    order = ", ".join(f"m.{quote_ident(k)} DESC" for k in design.order_key)
    return f"SELECT m.* FROM {msgs.sql} m WHERE {where} ORDER BY {order} LIMIT {limit}"


@dataclass(frozen=True)
class Verdict:
    """One plan's judgement: the problems found (empty = good) and the plan as text."""

    name: str
    problems: tuple[str, ...]
    plan: tuple[str, ...]


async def explain_history(conn: asyncpg.Connection, design: Design, *, name: str) -> dict[str, Any]:
    """EXPLAIN (FORMAT JSON) plans keyed '<plain|scoped> <custom|generic>'."""
    plans: dict[str, Any] = {}
    tr = conn.transaction(readonly=True)
    await tr.start()
    try:
        for stmt in PENALTIES:
            await conn.execute(stmt)
        for scoped in (False, True):
            if scoped and not (
                design.has("messages", "user_id") or design.has("conversations", "user_id")
            ):
                continue
            plans.update(await _explain_variants(conn, design, name=name, scoped=scoped))
    finally:
        await tr.rollback()
    return plans


async def _explain_variants(
    conn: asyncpg.Connection, design: Design, *, name: str, scoped: bool
) -> dict[str, Any]:
    types = [_param_type(design, "messages", "conversation_id")]
    values = [SAMPLE[design.key_kinds.get("conversations", "text")]]
    if scoped:
        types.append(_param_type(design, "conversations", "user_id"))
        values.append(
            SAMPLE[design.key_kinds.get("users", _kind(design, "conversations", "user_id"))]
        )
    stmt = f"{name}_{'s' if scoped else 'p'}"
    await conn.execute(
        f"PREPARE {stmt}({', '.join(types)}) AS {history_sql(design, scoped=scoped)}"
    )
    out: dict[str, Any] = {}
    try:
        args = ", ".join("'" + v.replace("'", "''") + "'" for v in values)
        for mode in PLAN_MODES:
            await conn.execute(f"SET LOCAL plan_cache_mode = {mode}")
            raw = await conn.fetchval(f"EXPLAIN (FORMAT JSON) EXECUTE {stmt}({args})")
            key = f"{'scoped' if scoped else 'plain'} {mode.split('_')[1]}"
            out[key] = (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]
    finally:
        await conn.execute(f"DEALLOCATE {stmt}")
    return out


def _param_type(design: Design, table: str, logical: str) -> str:
    col = design.col(table, logical)
    return col.type if col else "text"


def _kind(design: Design, table: str, logical: str) -> str:
    col = design.col(table, logical)
    base = col.base if col else "text"
    return "uuid" if base == "uuid" else "integer" if base.startswith("int") else "text"


def judge(name: str, plan: dict[str, Any], design: Design, relations: set[str]) -> Verdict:
    """Problems of one plan: Seq Scan or non-index access on messages, or a full Sort."""
    conv = design.col("messages", "conversation_id")
    assert conv is not None
    problems: list[str] = []
    reached = False
    for node in _walk(plan):
        kind = node.get("Node Type", "")
        if kind == "Sort":
            problems.append(f"full Sort on {', '.join(node.get('Sort Key', []))}")
        elif kind == "Incremental Sort":
            presorted = node.get("Presorted Key", [])
            if not presorted or not _mentions(presorted[0], design.order_key[0]):
                problems.append(f"Incremental Sort not presorted by {design.order_key[0]}")
        if kind not in SCANS or node.get("Relation Name") not in relations:
            continue
        if kind == "Seq Scan":
            problems.append(f"Seq Scan on {node['Relation Name']}")
        elif _index_reaches(node, conv.name):
            reached = True
        else:
            how = node.get("Index Name") or kind
            problems.append(
                f"{kind} on {node['Relation Name']} ({how}) without an index "
                f"condition on {conv.name}; Filter: {node.get('Filter', '-')}"
            )
    if not reached and not problems:
        problems.append(f"no scan of messages reached by an index condition on {conv.name}")
    return Verdict(name, tuple(problems), tuple(render(plan)))


def _index_reaches(node: dict[str, Any], column: str) -> bool:
    conds = [node.get("Index Cond", "")] + [
        n.get("Index Cond", "") for n in _walk(node) if n.get("Node Type") == "Bitmap Index Scan"
    ]
    return any(c and _compares(c, column) for c in conds)


def _compares(cond: str, column: str) -> bool:
    """Whether an index condition compares `column` (maybe cast) with `=`."""
    name = re.escape(quote_ident(column)) + (f"|{re.escape(column)}" if column.islower() else "")
    cast = r"\)?(?:::[\w ]+(?:\[\])?\)?)*"
    return re.search(rf"(?:^|[\s(.])(?:{name}){cast}\s*=", cond) is not None


def _mentions(text: str, column: str) -> bool:
    return column in text


def _indexes(plan: dict[str, Any]) -> list[str]:
    return [n["Index Name"] for n in _walk(plan) if n.get("Index Name")]


def _walk(node: dict[str, Any]) -> list[dict[str, Any]]:
    out = [node]
    for child in node.get("Plans", []):
        out.extend(_walk(child))
    return out


def render(node: dict[str, Any], depth: int = 0) -> list[str]:
    """The plan as indented one-line nodes (type, relation, index, conditions)."""
    bits = [node.get("Node Type", "?")]
    if node.get("Scan Direction") == "Backward":
        bits.append("Backward")
    for key, label in (("Index Name", "using"), ("Relation Name", "on")):
        if node.get(key):
            bits.append(f"{label} {node[key]}")
    for key in ("Index Cond", "Recheck Cond", "Filter", "Sort Key", "Presorted Key"):
        if node.get(key):
            bits.append(f"[{key}: {node[key]}]")
    lines = ["  " * depth + " ".join(str(b) for b in bits)]
    for child in node.get("Plans", []):
        lines.extend(render(child, depth + 1))
    return lines


def message_relations(snapshot: Snapshot, design: Design) -> set[str]:
    """The messages table's name and its partitions' names (EXPLAIN's Relation Name)."""
    key = str(design.table("messages"))
    names, keys = {design.table("messages").name}, {key}
    for _ in range(4):  # sub-partitions, a few levels deep
        for t in snapshot.tables:
            if t.partition_of in keys:
                names.add(t.name)
                keys.add(t.key)
    return names


@check(
    "perf.history_plan",
    "must",
    "EXPLAIN of the history query (latest N messages of one conversation, by the order key) "
    "reaches the conversation's messages through an index condition on conversation_id (not a "
    "Filter over another index, not a Seq Scan) and has no full Sort of them (an Incremental "
    "Sort of rows the index already orders by its leading order column passes). The verdict "
    "must not depend on table size: judge the plan shape with seqscan and sort penalised for "
    "the session. It runs in `chatgate check` too.",
)
async def history_plan(ctx: CheckContext) -> Outcome:
    design = ctx.design
    if design is None or not isinstance(ctx.snapshot, Snapshot):
        return errored(ctx.discovery_error or "discovery did not run")
    if not design.has("messages", "conversation_id"):
        return failed("messages has no conversation_id column")
    conn = await ctx.target.connect()
    try:
        plans = await explain_history(conn, design, name=f"cg_hist_{ctx.run_id}")
    finally:
        await conn.close()
    rels = message_relations(ctx.snapshot, design)
    verdicts = [judge(k, p, design, rels) for k, p in plans.items()]
    details = {
        "query": history_sql(design, scoped=True),
        "order_key": list(design.order_key),
        "plans": {v.name: list(v.plan) for v in verdicts},
        "problems": {v.name: list(v.problems) for v in verdicts if v.problems},
    }
    bad = [v for v in verdicts if v.problems]
    if bad:
        return failed(f"{bad[0].name} plan: {bad[0].problems[0]}", **details)
    used = sorted({i for v in verdicts for i in _indexes(plans[v.name])})
    return passed(
        f"{len(verdicts)} plans (custom, generic) reach messages through {', '.join(used)}; "
        "no full Sort",
        **details,
    )
