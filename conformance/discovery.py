"""Discovery: map a `Snapshot` onto the logical chat design (the spec's discovery rules).

Nothing is guessed silently: every decision is written to `Design.notes`. Required columns the
spec does not name are filled by `conformance.fills`.
"""

import re
from collections.abc import Mapping
from typing import TypeVar

from chatgate.errors import SetupError
from chatgate.options import Settings
from conformance.design import (
    LOGICAL_COLUMNS,
    ColumnInfo,
    Design,
    KeyKind,
    OrderRule,
    TableRef,
)
from conformance.snapshot import Column, Snapshot, Table

INTEGER_TYPES = frozenset({"int2", "int4", "int8"})
TEXT_TYPES = frozenset({"text", "varchar", "bpchar", "name", "citext"})
TIME_TYPES = frozenset({"timestamp", "timestamptz"})
JSON_TYPES = frozenset({"json", "jsonb"})
T = TypeVar("T")
CHAT_TABLES = ("users", "conversations", "messages")
_LITERAL = re.compile(r"'((?:[^']|'')*)'")
_CAST = re.compile(r'::\s*(?:"[^"]+"|[a-z_][a-z0-9_ ]*)(?:\(\d+\))?(?:\[\])?', re.I)
_ROLE_WORDS = re.compile(r"\b(?:CHECK|ANY|ARRAY|IN|OR)\b|[=()\[\],\s]", re.I)


def normalize(name: str) -> str:
    """The snake_case, lower-case form: createdAt, CreatedAt and created_at are equivalent."""
    snake = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name)
    return snake.lower()


def split_qualified(value: str) -> tuple[str | None, str]:
    """`auth.users` -> ("auth", "users"); quoted parts may hold dots; bare names keep case."""
    parts = re.findall(r'"((?:[^"]|"")*)"|([^."]+)', value.strip())
    names = [q.replace('""', '"') if q else b for q, b in parts]
    if len(names) >= 2:
        return names[0], names[1]
    return None, names[0] if names else value


def discover(snapshot: Snapshot, settings: Settings) -> Design:
    """Find the chat tables, columns, keys, order key, roles, RLS and fills in `snapshot`."""
    from conformance.fills import required_fills  # fills builds on this module's name rules

    notes: list[str] = []
    schema = _schema(snapshot, settings, notes)
    table_map, column_map = _parse_map(settings.map)
    tables = _find_tables(snapshot, schema, table_map, notes)
    _readable(snapshot, tables)
    columns: dict[str, dict[str, ColumnInfo]] = {}
    for logical, table in tables.items():
        columns[logical] = _find_columns(logical, table, column_map.get(logical, {}), notes)
    refs = {k: TableRef(t.schema, t.name) for k, t in tables.items()}
    key_kinds = {k: _key_kind(k, t, notes) for k, t in tables.items()}
    order_key, rule = _order_key(tables["messages"], columns["messages"], settings, notes)
    roles = _roles(snapshot, tables["messages"], columns["messages"].get("role"), notes)
    rls = {k: _rls(t) for k, t in tables.items()}
    extra, fills = required_fills(tables, columns, order_key, settings.fill, notes)
    return Design(
        schema=schema,
        tables=refs,
        columns=columns,
        key_kinds=key_kinds,
        order_key=order_key,
        order_rule=rule,
        roles=roles,
        rls=rls,
        fills=fills,
        extra_required=extra,
        notes=tuple(notes),
    )


def _schema(snapshot: Snapshot, settings: Settings, notes: list[str]) -> str:
    if settings.schema:
        if settings.schema not in snapshot.schemas:
            raise SetupError(
                f"schema {settings.schema!r} does not exist",
                fix=f"use one of: {', '.join(snapshot.schemas) or 'none'}",
            )
        _usable(snapshot, settings.schema)
        notes.append(f"schema {settings.schema} (from --schema)")
        return settings.schema
    if not snapshot.default_schema:
        for name in _search_path(snapshot):
            if name in snapshot.schemas:
                _usable(snapshot, name)
        raise SetupError(
            f"no schema of search_path ({snapshot.search_path}) exists",
            fix="pass --schema SCHEMA",
        )
    notes.append(
        f"schema {snapshot.default_schema} (first existing schema of search_path "
        f"{snapshot.search_path})"
    )
    return snapshot.default_schema


def _search_path(snapshot: Snapshot) -> list[str]:
    names = [p.strip().strip('"') for p in snapshot.search_path.split(",")]
    return [snapshot.user if n == "$user" else n for n in names if n]


def _usable(snapshot: Snapshot, schema: str) -> None:
    """SetupError naming the missing right when the role lacks USAGE on `schema`."""
    if schema in snapshot.no_usage:
        role = snapshot.user or "the connecting role"
        raise SetupError(
            f"permission denied for schema {schema}: {role} lacks USAGE on it",
            fix=f"GRANT USAGE ON SCHEMA {schema} TO {role}, or connect as another role",
        )


def _readable(snapshot: Snapshot, tables: dict[str, Table]) -> None:
    """SetupError when the role may not SELECT from a chat table."""
    for table in tables.values():
        _usable(snapshot, table.schema)
        if not table.readable:
            role = snapshot.user or "the connecting role"
            raise SetupError(
                f"permission denied for table {table.key}: {role} cannot SELECT from it",
                fix=f"GRANT SELECT ON {table.key} TO {role}, or connect as another role",
            )


def _parse_map(
    mapping: Mapping[str, str],
) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    tables: dict[str, str] = {}
    columns: dict[str, dict[str, str]] = {}
    for key, value in mapping.items():
        table, dot, col = key.partition(".")
        if table not in LOGICAL_COLUMNS:
            raise SetupError(
                f"--map {key}={value}: unknown logical table {table!r}",
                fix=f"use one of {', '.join(LOGICAL_COLUMNS)}",
            )
        if not dot:
            tables[table] = value
            continue
        if col not in LOGICAL_COLUMNS[table]:
            raise SetupError(
                f"--map {key}={value}: {table} has no logical column {col!r}",
                fix=f"use one of {', '.join(LOGICAL_COLUMNS[table])}",
            )
        columns.setdefault(table, {})[col] = split_qualified(value)[1]
    return tables, columns


def _find_tables(
    snapshot: Snapshot, schema: str, mapped: dict[str, str], notes: list[str]
) -> dict[str, Table]:
    found: dict[str, Table] = {}
    candidates = [t for t in snapshot.tables_in(schema) if t.partition_of is None]
    for logical in CHAT_TABLES:
        if logical in mapped:
            qual, name = split_qualified(mapped[logical])
            table = snapshot.table(qual or schema, name)
            if table is None:
                raise SetupError(
                    f"--map {logical}={mapped[logical]}: no table {qual or schema}.{name}",
                    fix="check the mapped name",
                )
            notes.append(f"{logical} -> {table.key} (mapped)")
            found[logical] = table
            continue
        hit, how = _match(logical, {t.name: t for t in candidates})
        if hit is not None:
            notes.append(f"{logical} -> {hit.key} ({how})")
            found[logical] = hit
        elif logical == "users":
            notes.append(f"no users table in schema {schema}: user-level checks skip")
    missing = [t for t in ("conversations", "messages") if t not in found]
    if missing:
        elsewhere = sorted(
            {
                t.schema
                for t in snapshot.tables
                if t.schema != schema and normalize(t.name) in missing
            }
        )
        raise SetupError(
            f"no {'/'.join(missing)} table{'s' if len(missing) > 1 else ''} in schema {schema}"
            f" (found in: {', '.join(elsewhere) or 'no other schema'})",
            fix="pass --schema SCHEMA, or --map conversations=ACTUAL --map messages=ACTUAL",
        )
    return found


def _by_name(table: Table) -> dict[str, Column]:
    return {c.name: c for c in table.columns}


def _match(logical: str, items: dict[str, T]) -> tuple[T, str] | tuple[None, str]:
    """Exact name, else one case-insensitive / snake-camel equivalent; ambiguity is an error."""
    if logical in items:
        return items[logical], "exact name"
    loose = [name for name in items if normalize(name) == normalize(logical)]
    if len(loose) > 1:
        names = ", ".join(f'"{n}"' for n in loose)
        raise SetupError(
            f"{logical} is ambiguous: {names} all match",
            fix=f"pick one with --map {logical}=ACTUAL",
        )
    if loose:
        return items[loose[0]], f"equivalent name {loose[0]!r}"
    return None, ""


def _find_columns(
    logical: str, table: Table, mapped: dict[str, str], notes: list[str]
) -> dict[str, ColumnInfo]:
    out: dict[str, ColumnInfo] = {}
    for lc in LOGICAL_COLUMNS[logical]:
        if lc in mapped:
            col = table.column(mapped[lc])
            if col is None:
                raise SetupError(
                    f"--map {logical}.{lc}={mapped[lc]}: {table.key} has no column {mapped[lc]!r}",
                    fix=f"columns: {', '.join(c.name for c in table.columns)}",
                )
            notes.append(f"{logical}.{lc} -> {col.name} (mapped)")
        else:
            near, how = _match(lc, _by_name(table))
            if near is None:
                notes.append(f"{logical}.{lc}: not found in {table.key}")
                continue
            col = near
            if how != "exact name":
                notes.append(f"{logical}.{lc} -> {col.name} ({how})")
        out[lc] = column_info(col)
    return out


def column_info(col: Column) -> ColumnInfo:
    """The Design's view of a snapshot column."""
    return ColumnInfo(
        name=col.name,
        type=col.type,
        base=col.base,
        nullable=col.nullable,
        has_default=col.default is not None,
        max_length=col.max_length,
        identity=bool(col.identity),
        generated=bool(col.generated),
    )


def key_kind_of(base: str) -> KeyKind | None:
    """uuid, integer or text for a key column's base type; None for anything else."""
    if base == "uuid":
        return "uuid"
    if base in INTEGER_TYPES:
        return "integer"
    return "text" if base in TEXT_TYPES else None


def _key_kind(logical: str, table: Table, notes: list[str]) -> KeyKind:
    pk = table.primary_key
    cols = pk.columns if pk else ("id",)
    col = table.column(cols[0]) if len(cols) == 1 else None
    kind = key_kind_of(col.base) if col else None
    if kind is None:
        notes.append(
            f"{logical}: primary key {cols} is not a single uuid/integer/text column; "
            "treated as text"
        )
        return "text"
    return kind


def _order_key(
    table: Table, cols: dict[str, ColumnInfo], settings: Settings, notes: list[str]
) -> tuple[tuple[str, ...], OrderRule]:
    if settings.order_key:
        actual = []
        for name in settings.order_key:
            col, _ = _match(name, _by_name(table))
            if col is None:
                raise SetupError(f"--order-key {name}: {table.key} has no such column")
            actual.append(col.name)
        notes.append(f"order key {tuple(actual)} (rule 1: --order-key)")
        return tuple(actual), "option"
    conv = cols.get("conversation_id")
    if conv is not None:
        seq = unique_seq_column(table, conv.name)
        if seq is not None:
            seq_name, evidence = seq
            notes.append(f"order key ({seq_name},) (rule 2: {evidence})")
            return (seq_name,), "unique_index"
    pk = table.primary_key.columns if table.primary_key else ()
    created = cols.get("created_at")
    key = ((created.name,) if created else ()) + tuple(pk)
    notes.append(f"order key {key} (rule 3: no unique (conversation_id, integer) key)")
    return key, "timestamp"


def unique_seq_column(table: Table, conversation_col: str) -> tuple[str, str] | None:
    """(c, evidence) for a unique constraint/index on exactly (conversation_id, integer c)."""
    for idx in table.indexes:
        if not (idx.unique and idx.usable and len(idx.columns) == 2):
            continue
        if idx.columns[0] != conversation_col:
            continue
        col = table.column(idx.columns[1])
        if col is not None and col.base in INTEGER_TYPES:
            return col.name, f"unique index {idx.name} on ({conversation_col}, {col.name})"
    return None


def _roles(
    snapshot: Snapshot, table: Table, role: ColumnInfo | None, notes: list[str]
) -> tuple[str, ...] | None:
    if role is None:
        return None
    found = role_restriction(snapshot, table, role.name)
    if found is None:
        notes.append(f"messages.{role.name}: no CHECK or enum restricts roles (any text)")
        return None
    roles, evidence = found
    notes.append(f"roles {list(roles)} ({evidence})")
    return roles


def role_restriction(
    snapshot: Snapshot, table: Table, role_col: str
) -> tuple[tuple[str, ...], str] | None:
    """Allowed roles and where they come from: an enum type or a CHECK constraint."""
    col = table.column(role_col)
    if col is not None and col.is_enum:
        enum = snapshot.enum(col.type_schema, col.base)
        if enum is not None:
            return enum.labels, f"enum type {enum.schema}.{enum.name}"
    for con in table.constraints_of("check"):
        if con.columns != (role_col,):
            continue
        labels = check_labels(con.definition, role_col)
        if labels:
            return labels, f"CHECK constraint {con.name}: {con.definition}"
    return None


def check_labels(definition: str, column: str) -> tuple[str, ...] | None:
    """The literals of `col IN (...)` / `col = ANY (ARRAY[...])` / `col = 'a' OR ...` checks."""
    labels = tuple(m.replace("''", "'") for m in _LITERAL.findall(definition))
    rest = _CAST.sub("", _LITERAL.sub("", definition))
    for name in (f'"{column}"', column):
        rest = rest.replace(name, "")
    if not labels or _ROLE_WORDS.sub("", rest).strip():
        return None
    return labels


def _rls(table: Table) -> dict[str, object]:
    return {
        "table": table.key,
        "enabled": table.rls_enabled,
        "forced": table.rls_forced,
        "policies": [
            {
                "name": p.name,
                "command": p.command,
                "roles": list(p.roles),
                "using": p.using,
                "with_check": p.with_check,
            }
            for p in table.policies
        ],
    }
