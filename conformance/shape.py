"""SQL shapes of one Design: quoted names, insert values, fills, and decoding of rows.

`conformance.access.ChatAccess` builds its queries on this; nothing here talks to a server
except `set_user`.
"""

import itertools
import json
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

import asyncpg  # type: ignore[import-untyped,unused-ignore]

from conformance.design import ColumnInfo, Design, KeyKind, quote_ident
from conformance.tagging import RunTag

INT_BASES = frozenset({"int2", "int4", "int8", "smallint", "integer", "bigint"})
DEFAULT_ROLES = ("user", "assistant", "system")
_COUNTERS: dict[str, Any] = {}


class AccessSetupError(Exception):
    """The design cannot be written by the harness (e.g. a required column it cannot fill)."""


@dataclass(frozen=True)
class NewMessage:
    """One message of a turn, as the harness writes it."""

    role: str
    content: str


@dataclass(frozen=True)
class DeleteOutcome:
    """What a delete did: whether the row went, rows it left behind, or the database's error."""

    deleted: bool
    leftover: dict[str, int] = field(default_factory=dict)
    error: str | None = None


def norm_id(value: Any) -> Any:
    """A key value comparable across drivers (uuid objects become strings)."""
    return value if isinstance(value, (int, str)) or value is None else str(value)


def is_integer(col: ColumnInfo | None) -> bool:
    return col is not None and col.base in INT_BASES


def is_naive(col: ColumnInfo | None) -> bool:
    return col is not None and col.base == "timestamp"


def now_sql(col: ColumnInfo | None) -> str:
    """SQL for the current instant in the column's type (naive columns get UTC wall time)."""
    return "timezone('UTC', now())" if is_naive(col) else "now()"


def error_text(exc: BaseException) -> str:
    """One line naming what the database said."""
    name = type(exc).__name__
    return f"{name}: {' '.join(str(exc).split())}"


class Shape:
    """Names, values and row decoding for one design and one harness run."""

    def __init__(
        self, design: Design, tag: RunTag, *, rls_setting: str | None = "app.user_id"
    ) -> None:
        self.d = design
        self.tag = tag
        self.rls_setting = rls_setting
        self.returning = True  # False: inserts without RETURNING (as an app might write)
        self.users_made: set[Any] = set()  # for cleanup under row-level security
        self.users_kind: KeyKind = design.key_kinds.get("users", "text")
        self._ids = _COUNTERS.setdefault(tag.run_id, itertools.count(50_000))
        self._check_fills()

    # -- names ------------------------------------------------------------------------------
    def t(self, table: str) -> str:
        return self.d.table(table).sql

    def c(self, table: str, logical: str) -> str:
        col = self.d.col(table, logical)
        if col is None:
            raise KeyError(f"{table}.{logical} is not in the design")
        return col.sql

    @property
    def seq(self) -> ColumnInfo | None:
        """The integer per-conversation order column the write path assigns, if any."""
        if self.d.order_rule == "timestamp" or not self.d.order_key:
            return None
        name = self.d.order_key[0]
        col = _find_column(self.d, name)
        if col is None:  # not a logical column: rule 2 proved it integer; --order-key trusted
            return ColumnInfo(name, "bigint", "int8", False, False)
        return col if is_integer(col) and not (col.identity or col.generated) else None

    @property
    def roles(self) -> tuple[str, ...]:
        return self.d.roles or DEFAULT_ROLES

    @property
    def rls_on(self) -> bool:
        return any(bool(flags.get("enabled")) for flags in self.d.rls.values())

    def user_id(self, n: int) -> Any:
        """The n-th harness user id of this run."""
        return self.tag.user_id(n, self.users_kind)

    def fresh_id(self, table: str) -> Any:
        """A new key for a table whose id has no default (tagged where the kind allows)."""
        kind = self.d.key_kinds.get(table, "uuid")
        n = next(self._ids)
        if kind == "uuid":
            return str(uuid.uuid4()) if table == "messages" else self.tag.user_id(n, "uuid")
        if kind == "integer":
            return self.tag.user_id(n, "integer")
        col = self.d.col(table, "id")
        text = str(self.tag.user_id(n, "text"))
        limit = col.max_length if col else None
        return text if limit is None or len(text) <= limit else secrets.token_hex(16)[:limit]

    # -- value building -----------------------------------------------------------------------
    def _check_fills(self) -> None:
        for fill in self.d.fills:
            if fill.sql is None and fill.synthetic is None:
                raise AccessSetupError(
                    f"cannot fill required column {fill.table}.{fill.column}; supply it with "
                    f"--fill {fill.table}.{fill.column}=SQL_EXPRESSION"
                )

    def _row(self, table: str, values: dict[str, Any]) -> tuple[list[str], list[str], list[Any]]:
        """Column SQL, value SQL and parameters for an insert of logical `values` plus fills."""
        cols: list[str] = []
        exprs: list[str] = []
        params: list[Any] = []
        for logical, value in values.items():
            col = self.d.col(table, logical)
            if col is None:
                continue
            cols.append(col.sql)
            if isinstance(value, _Sql):
                exprs.append(value.text)
            else:
                params.append(value)
                exprs.append(f"${len(params)}")
        for fill in self.d.fills:
            if fill.table != table:
                continue
            info = _find_column(self.d, fill.column, table)
            name = quote_ident(fill.column)
            if name in cols:  # a key the harness makes itself; only --fill SQL overrides it
                if fill.sql is not None:
                    exprs[cols.index(name)] = f"({fill.sql})"
                continue
            cols.append(name)
            if fill.sql is not None:
                exprs.append(f"({fill.sql})")
            else:
                params.append(_synthetic(fill.synthetic or "", info))
                exprs.append(f"${len(params)}")
        return cols, exprs, _renumber(exprs, params)

    def _time_values(self, table: str, *logicals: str) -> dict[str, Any]:
        """Harness-supplied times for time columns without a default."""
        out: dict[str, Any] = {}
        for logical in logicals:
            col = self.d.col(table, logical)
            if col is not None and not col.has_default:
                out[logical] = _Sql(now_sql(col))
        return out

    def content_param(self, content: str) -> str:
        """The content as the column stores it (json/jsonb: a JSON string value)."""
        return json.dumps(content) if self.d.content_is_json else content

    def content_value(self, raw: Any) -> str:
        if raw is None:
            return ""
        if self.d.content_is_json:
            value = json.loads(raw) if isinstance(raw, str) else raw
            return value if isinstance(value, str) else json.dumps(value)
        return str(raw)

    async def set_user(self, conn: asyncpg.Connection, user_id: Any) -> None:
        """Set the RLS user setting for the current transaction (when RLS is on)."""
        if self.rls_on and self.rls_setting:
            await conn.execute("SELECT set_config($1, $2, true)", self.rls_setting, str(user_id))

    # -- selects -------------------------------------------------------------------------------
    def select_list(self, table: str, alias: str) -> str:
        parts = [f'{alias}.{c.sql} AS "{logical}"' for logical, c in self.d.columns[table].items()]
        if table == "messages":
            parts += [f'{alias}."{k}" AS "_ord{i}"' for i, k in enumerate(self.d.order_key)]
        return ", ".join(parts)

    def order_by(self, alias: str, *, desc: bool = False) -> str:
        way = " DESC" if desc else ""
        return ", ".join(f'{alias}."{k}"{way}' for k in self.d.order_key)

    def message(self, rec: Any) -> dict[str, Any]:
        """A message record as a dict of logical names (content decoded, ids normalised)."""
        row = {k: rec[k] for k in self.d.columns["messages"]}
        for key in ("id", "conversation_id", "user_id"):
            if key in row:
                row[key] = norm_id(row[key])
        row["content"] = self.content_value(row.get("content"))
        row["order"] = tuple(rec[f"_ord{i}"] for i in range(len(self.d.order_key)))
        return row

    def conversation(self, rec: Any) -> dict[str, Any]:
        row = {k: rec[k] for k in self.d.columns["conversations"]}
        for key in ("id", "user_id"):
            row[key] = norm_id(row[key])
        return row


@dataclass(frozen=True)
class _Sql:
    """A SQL expression to put in a VALUES list instead of a parameter."""

    text: str


def _renumber(exprs: list[str], params: list[Any]) -> list[Any]:
    """Drop parameters no expression uses any more and renumber the $n marks in `exprs`."""
    used = [int(e[1:]) for e in exprs if e.startswith("$") and e[1:].isdigit()]
    kept = [params[i - 1] for i in used]
    renumber = {i: n + 1 for n, i in enumerate(used)}
    for pos, e in enumerate(exprs):
        if e.startswith("$") and e[1:].isdigit():
            exprs[pos] = f"${renumber[int(e[1:])]}"
    return kept


def _find_column(design: Design, name: str, table: str = "messages") -> ColumnInfo | None:
    for info in design.extra_required.get(table, ()):
        if info.name == name:
            return info
    return next((c for c in design.columns.get(table, {}).values() if c.name == name), None)


def _synthetic(kind: str, info: ColumnInfo | None) -> Any:
    """A synthetic value for a required unknown column (spec: discovery rules)."""
    if kind == "integer":
        return 0
    if kind == "boolean":
        return False
    if kind == "uuid":
        return str(uuid.uuid4())
    if kind == "json":
        return "{}"
    if kind == "timestamp":
        import datetime as dt

        now = dt.datetime.now(dt.UTC)
        return now.replace(tzinfo=None) if is_naive(info) else now
    limit = info.max_length if info and info.max_length else 32
    return secrets.token_hex(16)[:limit]
