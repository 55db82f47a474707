"""The index checks of the structure area: the indexes the history, owner and recent reads need.

They sit between structure.role_check and structure.timestamptz in the catalogue (`after=`).
"""

import dataclasses
from typing import Any

from conformance.checks.structure import _col, _tables
from conformance.context import CheckContext
from conformance.discovery import INTEGER_TYPES
from conformance.registry import Outcome, check, failed, passed
from conformance.snapshot import Index, Table


def _index_text(i: Index) -> dict[str, Any]:
    return {
        "name": i.name,
        "definition": i.definition,
        "valid": i.valid,
        "partial": i.predicate is not None,
    }


def _leading(table: Table, *cols: str) -> tuple[Index | None, list[dict[str, Any]]]:
    """A usable btree index leading with `cols`, and every near miss with its reason."""
    misses = []
    for idx in table.indexes:
        if not idx.leads_with(*cols):
            continue
        if idx.usable and idx.method == "btree":
            return idx, []
        why = "invalid" if not idx.valid else "partial" if idx.predicate else idx.method
        misses.append({**_index_text(idx), "rejected": why})
    return None, misses


def _index_outcome(table: Table, cols: tuple[str, ...], what: str) -> Outcome:
    idx, misses = _leading(table, *cols)
    lead = ", ".join(cols)
    if idx is not None:
        return passed(f"{idx.name} leads with ({lead})", index=_index_text(idx))
    found = [_index_text(i) for i in table.indexes]
    return failed(
        f"no valid btree index on {table.key} leads with ({lead}) {what}",
        rejected=misses,
        indexes=found,
    )


@check(
    "structure.history_index",
    "must",
    "a valid btree index on messages leads with (conversation_id, first column of the order key)",
    after="structure.role_check",
)
async def history_index(ctx: CheckContext) -> Outcome:
    design, _, msgs = _tables(ctx)
    cols = (_col(design, "messages", "conversation_id"), design.order_key[0])
    out = _index_outcome(msgs, cols, "(the history read)")
    return dataclasses.replace(out, details={**out.details, "order_key": list(design.order_key)})


@check(
    "structure.order_key",
    "should",
    "the order key is a unique per-conversation integer (--order-key, or a unique "
    "(conversation_id, integer) key), not a timestamp",
    after="structure.history_index",
)
async def order_key(ctx: CheckContext) -> Outcome:
    design, _, msgs = _tables(ctx)
    key = list(design.order_key)
    rule = next((n for n in design.notes if n.startswith("order key")), "")
    first = msgs.column(design.order_key[0])
    if design.order_rule == "timestamp" or first is None or first.base not in INTEGER_TYPES:
        return failed(
            f"history order falls back to {tuple(key)}: no unique (conversation_id, integer) key",
            order_key=key,
            rule=rule,
        )
    how = "--order-key" if design.order_rule == "option" else "unique (conversation_id, key)"
    return passed(f"{first.name} ({first.type}) from {how}", order_key=key, rule=rule)


@check(
    "structure.owner_index",
    "must",
    "an index on conversations leads with user_id",
    after="structure.order_key",
)
async def owner_index(ctx: CheckContext) -> Outcome:
    design, conv, _ = _tables(ctx)
    return _index_outcome(conv, (_col(design, "conversations", "user_id"),), "(owner lookups)")


@check(
    "structure.recent_index",
    "should",
    "an index on conversations leads with (user_id, updated_at)",
    after="structure.owner_index",
)
async def recent_index(ctx: CheckContext) -> Outcome:
    design, conv, _ = _tables(ctx)
    if not design.has("conversations", "updated_at"):
        return failed(f"{conv.key} has no updated_at column")
    cols = (_col(design, "conversations", "user_id"), _col(design, "conversations", "updated_at"))
    return _index_outcome(conv, cols, "(recent conversations)")
