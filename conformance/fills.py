"""Fills: values for required columns the spec does not name (`--fill`, or synthetic values).

A required unknown column the harness cannot fill is a `Fill` with neither `sql` nor
`synthetic`; `fill_problems` turns those into the error the writing checks report.
"""

from collections.abc import Mapping

from chatgate.errors import SetupError
from conformance.design import ColumnInfo, Design, Fill
from conformance.discovery import (
    INTEGER_TYPES,
    JSON_TYPES,
    TEXT_TYPES,
    TIME_TYPES,
    _by_name,
    _match,
    column_info,
)
from conformance.snapshot import Column, Table

SYNTHETIC: dict[str, str] = {
    **dict.fromkeys(TEXT_TYPES, "text"),
    **dict.fromkeys(INTEGER_TYPES, "integer"),
    "bool": "boolean",
    "uuid": "uuid",
    "date": "timestamp",
    **dict.fromkeys(TIME_TYPES, "timestamp"),
    **dict.fromkeys(JSON_TYPES, "json"),
}


def fill_problems(design: Design) -> tuple[str, ...]:
    """One message per required column the harness cannot fill (writing checks error)."""
    out = []
    for f in design.fills:
        if f.sql is None and f.synthetic is None:
            col = next(c for c in design.extra_required.get(f.table, ()) if c.name == f.column)
            out.append(
                f"{f.table}.{f.column} ({col.type}) is NOT NULL without a default and "
                f"chatgate cannot make a value for it; supply one with "
                f"--fill {f.table}.{f.column}=SQL_EXPRESSION"
            )
    return tuple(out)


def required_fills(
    tables: dict[str, Table],
    columns: dict[str, dict[str, ColumnInfo]],
    order_key: tuple[str, ...],
    given: Mapping[str, str],
    notes: list[str],
) -> tuple[dict[str, tuple[ColumnInfo, ...]], tuple[Fill, ...]]:
    """The required columns discovery did not map, per table, and how each one is filled."""
    user_sql = _resolve_fills(tables, given)
    extra: dict[str, tuple[ColumnInfo, ...]] = {}
    fills: list[Fill] = []
    for logical, table in tables.items():
        known = {c.name for lc, c in columns[logical].items() if lc != "id"}
        if logical == "messages":
            known |= set(order_key)
        fk_cols = {c for con in table.constraints_of("foreign key") for c in con.columns}
        required = [c for c in table.columns if c.name not in known and _required(c)]
        extra[logical] = tuple(column_info(c) for c in required)
        for col in required:
            fills.append(_fill(logical, col, col.name in fk_cols, user_sql, notes))
        for (lt, cname), sql in user_sql.items():
            if lt == logical and cname not in {c.name for c in required}:
                fills.append(Fill(logical, cname, sql=sql))
                notes.append(f"{logical}.{cname} filled with {sql} (--fill)")
    return {k: v for k, v in extra.items() if v}, tuple(fills)


def _required(col: Column) -> bool:
    return not col.nullable and col.default is None and not col.identity and not col.generated


def _fill(
    logical: str,
    col: Column,
    is_fk: bool,
    user_sql: dict[tuple[str, str], str],
    notes: list[str],
) -> Fill:
    sql = user_sql.get((logical, col.name))
    if sql is not None:
        notes.append(f"{logical}.{col.name} filled with {sql} (--fill)")
        return Fill(logical, col.name, sql=sql)
    kind = SYNTHETIC.get(col.base)
    if kind is None or is_fk:
        why = "a foreign key" if is_fk else f"type {col.type}"
        notes.append(
            f"{logical}.{col.name} is required and cannot be synthesized ({why}): "
            f"writing checks error until --fill {logical}.{col.name}=SQL"
        )
        return Fill(logical, col.name)
    notes.append(
        f"{logical}.{col.name} ({col.type}) is required: filled with a synthetic {kind} value"
    )
    return Fill(logical, col.name, synthetic=kind)


def _resolve_fills(
    tables: dict[str, Table], given: Mapping[str, str]
) -> dict[tuple[str, str], str]:
    out: dict[tuple[str, str], str] = {}
    for key, sql in given.items():
        tname, dot, cname = key.rpartition(".")
        logical = next((lt for lt, t in tables.items() if tname in (lt, t.name, t.key)), None)
        if not dot or logical is None:
            raise SetupError(
                f"--fill {key}: unknown table {tname or key!r}",
                fix="write --fill TABLE.COLUMN=SQL with a chat table",
            )
        col, _ = _match(cname, _by_name(tables[logical]))
        if col is None:
            raise SetupError(f"--fill {key}: {tables[logical].key} has no column {cname!r}")
        out[(logical, col.name)] = sql
    return out
