"""An immutable, JSON-able picture of the catalogue (`chatgate snapshot`).

The differences between two snapshots are `conformance.changes`.

Index and constraint columns are actual column names; an index expression is kept as
"(<expression>)". `on_delete` uses the words of SQL: cascade, restrict, no action, ...
"""

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import asyncpg

from chatgate.errors import SetupError
from conformance.introspect import fetch_catalogue, server_facts

FORMAT = "chatgate-snapshot"
VERSION = 1
ON_DELETE = {"a": "no action", "r": "restrict", "c": "cascade", "n": "set null", "d": "set default"}
CONSTRAINT_TYPES = {
    "p": "primary key",
    "u": "unique",
    "f": "foreign key",
    "c": "check",
    "x": "exclusion",
}


@dataclass(frozen=True)
class Column:
    """One column of a table."""

    name: str
    type: str
    base: str
    nullable: bool
    default: str | None = None
    identity: str = ""
    generated: str = ""
    max_length: int | None = None
    is_enum: bool = False
    type_schema: str = "pg_catalog"


@dataclass(frozen=True)
class Constraint:
    """A primary key, unique, foreign key, check or exclusion constraint."""

    name: str
    type: str  # primary key | unique | foreign key | check | exclusion
    columns: tuple[str, ...]
    definition: str
    ref_table: str | None = None  # "schema.name" of a foreign key's target
    ref_columns: tuple[str, ...] = ()
    on_delete: str | None = None
    validated: bool = True


@dataclass(frozen=True)
class Index:
    """An index; `columns` are its key columns only (INCLUDE columns are dropped)."""

    name: str
    columns: tuple[str, ...]
    descending: tuple[bool, ...]
    unique: bool
    primary: bool
    valid: bool
    method: str
    definition: str
    predicate: str | None = None

    @property
    def usable(self) -> bool:
        """Valid and not partial: the only kind that can satisfy an index check."""
        return self.valid and self.predicate is None

    def leads_with(self, *cols: str) -> bool:
        """Whether the key starts with exactly these columns, in this order."""
        return self.columns[: len(cols)] == cols


@dataclass(frozen=True)
class Policy:
    """A row-level security policy."""

    name: str
    permissive: str
    roles: tuple[str, ...]
    command: str
    using: str | None
    with_check: str | None


@dataclass(frozen=True)
class Table:
    """A plain or partitioned table with everything chatgate reads about it."""

    schema: str
    name: str
    kind: Literal["table", "partitioned"]
    columns: tuple[Column, ...]
    constraints: tuple[Constraint, ...] = ()
    indexes: tuple[Index, ...] = ()
    policies: tuple[Policy, ...] = ()
    rls_enabled: bool = False
    rls_forced: bool = False
    partition_of: str | None = None
    readable: bool = True  # the connecting role may SELECT from it

    @property
    def key(self) -> str:
        return f"{self.schema}.{self.name}"

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)

    def constraints_of(self, kind: str) -> tuple[Constraint, ...]:
        return tuple(c for c in self.constraints if c.type == kind)

    @property
    def primary_key(self) -> Constraint | None:
        return next(iter(self.constraints_of("primary key")), None)


@dataclass(frozen=True)
class EnumType:
    """An enum type and its labels in sort order."""

    schema: str
    name: str
    labels: tuple[str, ...]


@dataclass(frozen=True)
class Snapshot:
    """The catalogue of some schemas at one moment."""

    server_version: str
    default_schema: str | None
    search_path: str
    schemas: tuple[str, ...]
    tables: tuple[Table, ...]
    enums: tuple[EnumType, ...] = ()
    database: str = ""
    taken_at: str = ""
    user: str = ""
    no_usage: tuple[str, ...] = ()  # schemas the connecting role lacks USAGE on

    def table(self, schema: str, name: str) -> Table | None:
        return next((t for t in self.tables if t.schema == schema and t.name == name), None)

    def tables_in(self, schema: str) -> tuple[Table, ...]:
        return tuple(t for t in self.tables if t.schema == schema)

    def enum(self, schema: str, name: str) -> EnumType | None:
        return next((e for e in self.enums if e.schema == schema and e.name == name), None)

    def summary(self) -> dict[str, Any]:
        """Counts for the report's discovery section."""
        return {
            "server_version": self.server_version,
            "default_schema": self.default_schema,
            "schemas": list(self.schemas),
            "tables": len(self.tables),
            "indexes": sum(len(t.indexes) for t in self.tables),
            "constraints": sum(len(t.constraints) for t in self.tables),
        }

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": VERSION, **asdict(self)}

    def write(self, path: str | Path) -> Path:
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n")
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Snapshot":
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise SetupError(f"not a {FORMAT} document", fix="write one with `chatgate snapshot`")
        try:
            return cls(
                server_version=data["server_version"],
                default_schema=data.get("default_schema"),
                search_path=data.get("search_path", ""),
                schemas=tuple(data.get("schemas", ())),
                tables=tuple(_table(t) for t in data["tables"]),
                enums=tuple(
                    EnumType(e["schema"], e["name"], tuple(e["labels"]))
                    for e in data.get("enums", ())
                ),
                database=data.get("database", ""),
                taken_at=data.get("taken_at", ""),
                user=data.get("user", ""),
                no_usage=tuple(data.get("no_usage", ())),
            )
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise SetupError(f"malformed snapshot document: missing {exc}") from None

    @classmethod
    def read(cls, path: str | Path) -> "Snapshot":
        """Read a snapshot file; SetupError (one line) when unreadable."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise SetupError(f"cannot read snapshot {path}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise SetupError(f"snapshot {path} is not text (binary file?)") from None
        except json.JSONDecodeError as exc:
            raise SetupError(f"snapshot {path} is not valid JSON (line {exc.lineno})") from None
        try:
            return cls.from_dict(data)
        except SetupError as exc:
            raise SetupError(f"{path}: {exc.message}", fix=exc.fix) from None


def _tuples(cls: Any, data: dict[str, Any]) -> Any:
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


def _table(d: dict[str, Any]) -> Table:
    return Table(
        schema=d["schema"],
        name=d["name"],
        kind=d["kind"],
        columns=tuple(_tuples(Column, c) for c in d["columns"]),
        constraints=tuple(_tuples(Constraint, c) for c in d.get("constraints", ())),
        indexes=tuple(_tuples(Index, i) for i in d.get("indexes", ())),
        policies=tuple(_tuples(Policy, p) for p in d.get("policies", ())),
        rls_enabled=d.get("rls_enabled", False),
        rls_forced=d.get("rls_forced", False),
        partition_of=d.get("partition_of"),
        readable=d.get("readable", True),
    )


async def take_snapshot(
    conn: asyncpg.Connection, *, schemas: Sequence[str] | None = None
) -> Snapshot:
    """Read the catalogue of `schemas` (default: every non-system schema)."""
    import datetime as dt

    facts = await server_facts(conn)
    rows = await fetch_catalogue(conn, schemas=schemas)
    return build_snapshot(facts, rows, taken_at=dt.datetime.now(dt.UTC).isoformat())


def build_snapshot(facts: dict[str, Any], rows: dict[str, Any], *, taken_at: str = "") -> Snapshot:
    """Assemble a Snapshot from `server_facts` and `fetch_catalogue` rows."""
    by_table: dict[tuple[str, str], dict[str, list[Any]]] = {}

    def bucket(r: dict[str, Any], kind: str) -> list[Any]:
        slot = by_table.setdefault((r["schema"], r["table"]), {})
        return slot.setdefault(kind, [])

    for r in rows["columns"]:
        bucket(r, "columns").append(_column(r))
    for r in rows["constraints"]:
        bucket(r, "constraints").append(_constraint(r))
    for r in rows["indexes"]:
        bucket(r, "indexes").append(_index(r))
    for r in rows["policies"]:
        bucket(r, "policies").append(
            Policy(
                r["name"],
                r["permissive"],
                tuple(r["roles"] or ()),
                r["command"],
                r["using"],
                r["with_check"],
            )
        )
    tables = []
    for r in rows["tables"]:
        parts = by_table.get((r["schema"], r["name"]), {})
        parent = f"{r['parent_schema']}.{r['parent_name']}" if r["parent_name"] else None
        tables.append(
            Table(
                schema=r["schema"],
                name=r["name"],
                kind="partitioned" if r["kind"] == "p" else "table",
                columns=tuple(parts.get("columns", ())),
                constraints=tuple(parts.get("constraints", ())),
                indexes=tuple(parts.get("indexes", ())),
                policies=tuple(parts.get("policies", ())),
                rls_enabled=r["rls_enabled"],
                rls_forced=r["rls_forced"],
                partition_of=parent,
                readable=r["readable"],
            )
        )
    enums = tuple(EnumType(e["schema"], e["name"], tuple(e["labels"])) for e in rows["enums"])
    return Snapshot(
        server_version=facts.get("server_version", ""),
        default_schema=facts.get("default_schema"),
        search_path=facts.get("search_path", ""),
        schemas=tuple(r["name"] for r in rows["schemas"]),
        tables=tuple(tables),
        enums=enums,
        database=facts.get("database", ""),
        taken_at=taken_at,
        user=facts.get("user", ""),
        no_usage=tuple(r["name"] for r in rows["schemas"] if not r["usage"]),
    )


def _column(r: dict[str, Any]) -> Column:
    return Column(
        name=r["name"],
        type=r["type"],
        base=r["base"],
        nullable=r["nullable"],
        default=r["default"],
        identity=r["identity"] or "",
        generated=r["generated"] or "",
        max_length=r["max_length"],
        is_enum=r["typtype"] == "e",
        type_schema=r["type_schema"],
    )


def _constraint(r: dict[str, Any]) -> Constraint:
    ref = f"{r['ref_schema']}.{r['ref_table']}" if r["ref_table"] else None
    return Constraint(
        name=r["name"],
        type=CONSTRAINT_TYPES[r["type"]],
        columns=tuple(r["columns"]),
        definition=r["definition"],
        ref_table=ref,
        ref_columns=tuple(r["ref_columns"] or ()),
        on_delete=ON_DELETE.get(r["on_delete"]) if r["type"] == "f" else None,
        validated=r["validated"],
    )


def _index(r: dict[str, Any]) -> Index:
    nkeys = r["nkeys"]
    return Index(
        name=r["name"],
        columns=tuple(r["columns"][:nkeys]),
        descending=tuple(r["descending"][:nkeys]),
        unique=r["is_unique"],
        primary=r["is_primary"],
        valid=r["valid"],
        method=r["method"],
        definition=r["definition"],
        predicate=r["predicate"],
    )
