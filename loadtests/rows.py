"""Row building for any discovered design: columns, Python values per type, keys, fills."""

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from conformance.design import ColumnInfo, Design, KeyKind
from conformance.tagging import RunTag
from loadtests.shape import BASE_TIME

INTEGER_BASES = frozenset({"int2", "int4", "int8", "numeric"})
ValueFn = Callable[[int], Any]


def user_kind(design: Design) -> KeyKind:
    """The kind of user ids: the users key, else the type of conversations.user_id."""
    if "users" in design.tables:
        return design.key_kinds["users"]
    col = design.col("conversations", "user_id")
    base = col.base if col else "text"
    return "uuid" if base == "uuid" else "integer" if base in INTEGER_BASES else "text"


def fit(col: ColumnInfo, value: Any) -> Any:
    """Adapt a Python value to a column's type (naive timestamps, varchar lengths, text ids)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        if col.base == "timestamp":
            return value.replace(tzinfo=None)
        if col.base == "date":
            return value.date()
        if col.base in ("text", "varchar"):
            return value.isoformat()
        return value
    if isinstance(value, str):
        if col.base == "uuid":
            return uuid.UUID(value)
        if col.max_length is not None:
            return value[: col.max_length]
    if col.base in ("text", "varchar", "bpchar") and not isinstance(value, str):
        return str(value)
    return value


def synthetic(kind: str | None, col: ColumnInfo, run_id: str) -> ValueFn:
    """A per-row value maker for a synthetic fill kind (unique where the type allows)."""
    if kind == "integer":
        return lambda n: n + 1
    if kind == "boolean":
        return lambda n: False
    if kind == "timestamp":
        stamp: Any = BASE_TIME.date() if col.base == "date" else fit(col, BASE_TIME)
        return lambda n: stamp
    if kind == "uuid":
        base = uuid.UUID(f"c6a7e001-{run_id[:4]}-{run_id[4:]}-8000-000000000000").int
        return lambda n: uuid.UUID(int=base + n)
    if kind == "json":
        return lambda n: "{}"
    limit = col.max_length or 0

    def text(n: int) -> str:
        value = f"cg-{run_id}-{n}"
        return value[-limit:] if limit and len(value) > limit else value  # keep n: unique

    return text


class KeyMaker:
    """Primary-key values for rows the harness writes (conversations, key-less messages)."""

    def __init__(self, conn: asyncpg.Connection, design: Design, tag: RunTag) -> None:
        self.conn = conn
        self.design = design
        self.tag = tag

    async def make(self, table: str, count: int, label: str) -> list[Any]:
        """`count` fresh key values for `table`'s id column."""
        col = self.design.col(table, "id")
        if col is None:
            raise ValueError(f"{table} has no id column")
        kind = self.design.key_kinds.get(table, "integer")
        if kind == "uuid":
            prefix = f"c6a7e002-{self.tag.run_id[:4]}-{self.tag.run_id[4:]}-8{label[:1]}00-"
            base = uuid.UUID(prefix + "000000000000").int
            return [uuid.UUID(int=base + i) for i in range(count)]
        if kind == "text":
            return [fit(col, f"cg-{self.tag.run_id}-{label}{i}") for i in range(count)]
        table_sql = self.design.table(table).sql
        seq = await self.conn.fetchval("SELECT pg_get_serial_sequence($1, $2)", table_sql, col.name)
        if seq is not None:
            rows = await self.conn.fetch(
                "SELECT nextval($1::regclass) AS v FROM generate_series(1, $2)", seq, count
            )
            return [r["v"] for r in rows]
        top = await self.conn.fetchval(f"SELECT coalesce(max({col.sql}), 0) FROM {table_sql}")
        return [int(top) + 1 + i for i in range(count)]


@dataclass
class TableRows:
    """The columns the harness writes into one table, and fill makers for the extra ones."""

    columns: list[str]
    fills: list[ValueFn]

    def row(self, known: Sequence[Any], n: int) -> tuple[Any, ...]:
        """A record: the known values then one value per fill column."""
        return (*known, *(f(n) for f in self.fills))


def constant(value: Any) -> ValueFn:
    """A value maker that always gives `value`."""
    return lambda n: value


async def fill_makers(
    conn: asyncpg.Connection, design: Design, table: str, taken: set[str], run_id: str
) -> tuple[list[str], list[ValueFn]]:
    """Value makers for `table`'s required unknown columns (SQL fills evaluated once)."""
    names: list[str] = []
    makers: list[ValueFn] = []
    infos = {c.name: c for c in design.extra_required.get(table, ())}
    for f in design.fills:
        if f.table != table or f.column in taken or f.column in names:
            continue
        col = infos.get(f.column) or ColumnInfo(f.column, "text", "text", True, False)
        if f.sql is not None:
            value = await conn.fetchval(f"SELECT ({f.sql})::{col.type}")
            makers.append(constant(value))
        elif f.synthetic is not None:
            makers.append(synthetic(f.synthetic, col, run_id))
        else:
            raise ValueError(f"{table}.{f.column} is required and has no fill (use --fill)")
        names.append(f.column)
    return names, makers
