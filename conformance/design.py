"""What discovery found: the target's chat design in logical terms (the spec's discovery rules).

Everything that reads or writes chat rows (behavioural checks, seeding, benchmarks, load) works
from a `Design`, never from hard-coded names, so it serves any design the checks accept.
"""

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

KeyKind = Literal["uuid", "integer", "text"]
OrderRule = Literal["option", "unique_index", "timestamp"]
LOGICAL_COLUMNS: dict[str, tuple[str, ...]] = {
    "users": ("id",),
    "conversations": ("id", "user_id", "title", "created_at", "updated_at", "deleted_at"),
    "messages": ("id", "conversation_id", "user_id", "role", "content", "created_at"),
}


def quote_ident(name: str) -> str:
    """Quote one SQL identifier (works for mixed case and odd characters)."""
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class TableRef:
    """A table by schema and actual name."""

    schema: str
    name: str

    @property
    def sql(self) -> str:
        """The schema-qualified, quoted name for SQL text."""
        return f"{quote_ident(self.schema)}.{quote_ident(self.name)}"

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class ColumnInfo:
    """An actual column with what writers need to know about it."""

    name: str
    type: str  # format_type(), e.g. "timestamp with time zone", "character varying(200)"
    base: str  # the base type name: uuid, int8, text, varchar, jsonb, timestamptz, ...
    nullable: bool
    has_default: bool
    max_length: int | None = None
    identity: bool = False
    generated: bool = False

    @property
    def sql(self) -> str:
        return quote_ident(self.name)


@dataclass(frozen=True)
class Fill:
    """How the harness fills a required column it does not know."""

    table: str  # logical table
    column: str  # actual column
    sql: str | None = None  # user-given SQL expression (--fill)
    synthetic: str | None = None  # text | integer | boolean | timestamp | uuid | json


@dataclass(frozen=True)
class Design:
    """The discovered chat design. `columns[logical_table][logical_col]` is the actual column."""

    schema: str
    tables: dict[str, TableRef]  # "conversations", "messages", optionally "users"
    columns: dict[str, dict[str, ColumnInfo]]  # logical table -> logical column -> actual
    key_kinds: dict[str, KeyKind]  # logical table -> kind of its primary key
    order_key: tuple[str, ...]  # actual message columns, history order (ascending)
    order_rule: OrderRule
    roles: tuple[str, ...] | None = None  # allowed roles, None when unrestricted
    rls: dict[str, dict[str, Any]] = field(default_factory=dict)  # logical table -> flags
    fills: tuple[Fill, ...] = ()
    extra_required: dict[str, tuple[ColumnInfo, ...]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # what discovery decided and why, for the report

    def table(self, logical: str) -> TableRef:
        return self.tables[logical]

    def col(self, table: str, logical: str) -> ColumnInfo | None:
        """The actual column for a logical one, or None when the design lacks it."""
        return self.columns.get(table, {}).get(logical)

    def has(self, table: str, logical: str | None = None) -> bool:
        if logical is None:
            return table in self.tables
        return self.col(table, logical) is not None

    @property
    def seq_column(self) -> str | None:
        """The integer per-conversation order column (rules 1/2), if the design has one."""
        return self.order_key[0] if self.order_rule != "timestamp" else None

    @property
    def content_is_json(self) -> bool:
        content = self.col("messages", "content")
        return content is not None and content.base in ("json", "jsonb")

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form for the result's `discovery` section."""
        data = asdict(self)
        data["tables"] = {k: str(v) for k, v in self.tables.items()}
        data["columns"] = {
            t: {lc: c.name for lc, c in cols.items()} for t, cols in self.columns.items()
        }
        return data
