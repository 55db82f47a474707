"""structure.protected_tables: compare the target with a baseline snapshot.

Fails when a table other than the chat tables changed, or when a `must` structural check that
passed on the baseline no longer passes (something it relied on was removed or changed).
"""

import dataclasses
from collections.abc import Mapping

from chatgate.errors import SetupError
from conformance.changes import Change, diff
from conformance.context import CheckContext
from conformance.design import Design
from conformance.discovery import discover
from conformance.registry import CheckFn, Outcome, failed, passed
from conformance.snapshot import Snapshot


def chat_tables(snapshot: Snapshot, designs: list[Design]) -> set[str]:
    """Keys of the chat tables of every design, and of their partitions."""
    keys = {str(ref) for d in designs for ref in d.tables.values()}
    keys |= {t.key for t in snapshot.tables if t.partition_of in keys}
    return keys


def chat_enums(snapshot: Snapshot, tables: set[str]) -> set[str]:
    """Enum types ("schema.name") that columns of the chat tables use."""
    return {
        f"{c.type_schema}.{c.base}"
        for t in snapshot.tables
        if t.key in tables
        for c in t.columns
        if c.is_enum
    }


async def compare_baseline(
    ctx: CheckContext, baseline: Snapshot, must_checks: Mapping[str, CheckFn]
) -> Outcome:
    """The verdict of structure.protected_tables against `baseline`."""
    assert isinstance(ctx.snapshot, Snapshot) and ctx.design is not None
    current = restrict(ctx.snapshot, baseline.schemas)
    old_ctx = _context(ctx, baseline)
    designs = [ctx.design] + ([old_ctx.design] if old_ctx and old_ctx.design else [])
    chat = chat_tables(baseline, designs) | chat_tables(current, designs)
    enums = chat_enums(baseline, chat) | chat_enums(current, chat)
    changes = diff(baseline, current)
    outside = [c for c in changes if not _is_chat(c, chat, enums)]
    regressed = await _regressions(old_ctx, ctx, must_checks) if old_ctx else {}
    details = {
        "baseline_taken_at": baseline.taken_at,
        "changes": [str(c) for c in changes],
        "outside_chat_tables": [str(c) for c in outside],
        "regressed": regressed,
    }
    problems = []
    if outside:
        problems.append(f"{len(outside)} change(s) outside the chat tables: {outside[0]}")
    if regressed:
        first = next(iter(regressed.items()))
        problems.append(f"{len(regressed)} must check(s) lost: {first[0]} ({first[1]})")
    if problems:
        return failed("; ".join(problems), **details)
    return passed(
        f"{len(changes)} change(s), all within the chat tables; no must check lost", **details
    )


def restrict(snapshot: Snapshot, schemas: tuple[str, ...]) -> Snapshot:
    """Only the tables and enums of `schemas` (a baseline may cover fewer schemas)."""
    return dataclasses.replace(
        snapshot,
        schemas=tuple(s for s in snapshot.schemas if s in schemas),
        tables=tuple(t for t in snapshot.tables if t.schema in schemas),
        enums=tuple(e for e in snapshot.enums if e.schema in schemas),
    )


def _is_chat(change: Change, chat: set[str], enums: set[str]) -> bool:
    if change.kind == "enum":
        return change.name in enums
    return change.table in chat


def _context(ctx: CheckContext, baseline: Snapshot) -> CheckContext | None:
    try:
        design = discover(baseline, ctx.settings)
    except SetupError:
        return None
    return dataclasses.replace(ctx, snapshot=baseline, design=design, extras={})


async def _regressions(
    old: CheckContext, new: CheckContext, must_checks: Mapping[str, CheckFn]
) -> dict[str, str]:
    out: dict[str, str] = {}
    for check_id, fn in must_checks.items():
        before = await fn(old)
        if before.status != "pass":
            continue
        after = await fn(new)
        if after.status != "pass":
            out[check_id] = after.summary
    return out
