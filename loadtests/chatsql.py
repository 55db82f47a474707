"""SQL of the chat operations the load users run, built from a discovered `Design`.

Statements use `$n` placeholders (psycopg's RawCursor, like asyncpg) and name their parameters,
so a statement never carries a parameter it does not use. Every value is cast to its column's
type, which makes uuid, integer and text keys, enums and json content work alike.
"""

from dataclasses import dataclass
from typing import Any

from conformance.design import ColumnInfo, Design, Fill, KeyKind
from conformance.tagging import RunTag

HISTORY_LIMIT = 50
RECENT_LIMIT = 20
TOKEN_SQL = "substr(md5(random()::text || clock_timestamp()::text), 1, {n})"
INTEGER_BASES = frozenset({"int2", "int4", "int8"})
# random rather than 0: a required integer column may be UNIQUE (seeding does the same)
INTEGER_SQL = {"int2": "floor(random() * 32000)", "int4": "floor(random() * 2000000000)"}
SYNTHETIC_SQL = {
    "integer": "floor(random() * 9000000000000000000)",
    "boolean": "false",
    "timestamp": "now()",
    "uuid": "gen_random_uuid()",
    "json": "'{{}}'",
}


@dataclass(frozen=True)
class Stmt:
    """One statement and the names of its parameters, in `$1, $2, ...` order."""

    sql: str
    names: tuple[str, ...]

    def params(self, values: dict[str, Any]) -> list[Any]:
        """The positional parameters for `values`."""
        return [values[n] for n in self.names]


@dataclass(frozen=True)
class ChatSql:
    """The statements of one design; `create_user` is None without a users table."""

    create_user: Stmt | None
    new_conversation: Stmt
    open: Stmt
    history: Stmt
    recent: Stmt
    lock: Stmt
    insert_message: Stmt
    content_json: bool


class _Params:
    """Collects `$n` placeholders in first-use order."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def __call__(self, name: str, col: ColumnInfo | None = None) -> str:
        if name not in self.names:
            self.names.append(name)
        ref = f"${self.names.index(name) + 1}"
        return f"{ref}::{col.type}" if col is not None else ref

    def stmt(self, sql: str) -> Stmt:
        return Stmt(sql, tuple(self.names))


def build(design: Design) -> ChatSql:
    """All chat statements for `design`."""
    return ChatSql(
        create_user=_create_user(design) if design.has("users") else None,
        new_conversation=_new_conversation(design),
        open=_open(design),
        history=_history(design),
        recent=_recent(design),
        lock=_lock(design),
        insert_message=_insert_message(design),
        content_json=design.content_is_json,
    )


def _c(design: Design, table: str, logical: str) -> ColumnInfo:
    col = design.col(table, logical)
    if col is None:
        raise ValueError(f"the design has no {table}.{logical} column")
    return col


def _owner(design: Design, p: _Params) -> str:
    """`id = $conv AND user_id = $user` on conversations (and not soft-deleted)."""
    cid, uid = _c(design, "conversations", "id"), _c(design, "conversations", "user_id")
    sql = f"{cid.sql} = {p('conv', cid)} AND {uid.sql} = {p('user', uid)}"
    deleted = design.col("conversations", "deleted_at")
    return sql + (f" AND {deleted.sql} IS NULL" if deleted else "")


def _open(design: Design) -> Stmt:
    p = _Params()
    cols = [c.sql for lc in ("id", "title", "updated_at") if (c := design.col("conversations", lc))]
    table = design.table("conversations").sql
    return p.stmt(f"SELECT {', '.join(cols)} FROM {table} WHERE {_owner(design, p)}")


def _history(design: Design) -> Stmt:
    p = _Params()
    conv_col = _c(design, "messages", "conversation_id")
    where = f"m.{conv_col.sql} = {p('conv', design.col('conversations', 'id'))}"
    if (muid := design.col("messages", "user_id")) is not None:
        where += f" AND m.{muid.sql} = {p('user', muid)}"
    else:
        where += f" AND EXISTS (SELECT 1 FROM {design.table('conversations').sql} WHERE "
        where += _owner(design, p) + ")"
    cols = [
        f"m.{c.sql}"
        for lc in ("id", "role", "content", "created_at")
        if (c := design.col("messages", lc))
    ]
    order = ", ".join(f'm."{k}" DESC' for k in (k.replace('"', '""') for k in design.order_key))
    table = design.table("messages").sql
    return p.stmt(
        f"SELECT {', '.join(cols)} FROM {table} m WHERE {where} "
        f"ORDER BY {order} LIMIT {HISTORY_LIMIT}"
    )


def _recent(design: Design) -> Stmt:
    p = _Params()
    uid = _c(design, "conversations", "user_id")
    when = design.col("conversations", "updated_at") or _c(design, "conversations", "created_at")
    cols = [c.sql for lc in ("id", "title") if (c := design.col("conversations", lc))]
    where = f"{uid.sql} = {p('user', uid)}"
    if (deleted := design.col("conversations", "deleted_at")) is not None:
        where += f" AND {deleted.sql} IS NULL"
    table = design.table("conversations").sql
    return p.stmt(
        f"SELECT {', '.join(cols)} FROM {table} WHERE {where} "
        f"ORDER BY {when.sql} DESC LIMIT {RECENT_LIMIT}"
    )


def _lock(design: Design) -> Stmt:
    """Lock the user's conversation row (bumping updated_at when the design has it)."""
    p = _Params()
    table = design.table("conversations").sql
    cid = _c(design, "conversations", "id")
    where = _owner(design, p)
    if (upd := design.col("conversations", "updated_at")) is not None:
        return p.stmt(f"UPDATE {table} SET {upd.sql} = now() WHERE {where} RETURNING {cid.sql}")
    return p.stmt(f"SELECT {cid.sql} FROM {table} WHERE {where} FOR UPDATE")


def _insert(design: Design, table: str, values: dict[str, str], extra: str = "") -> str:
    """INSERT of `values` (actual column SQL -> expression) plus the design's fills."""
    for name, expr in fill_values(design, table).items():
        values.setdefault(name, expr)
    for logical in ("created_at", "updated_at"):
        col = design.col(table, logical)
        if col is not None and not col.has_default:
            values.setdefault(col.sql, "now()")
    cols, exprs = ", ".join(values), ", ".join(values.values())
    # harness user ids go into identity keys too (GENERATED ALWAYS needs the override)
    key = design.col(table, "id")
    over = (
        " OVERRIDING SYSTEM VALUE" if key is not None and key.identity and key.sql in values else ""
    )
    return f"INSERT INTO {design.table(table).sql} ({cols}){over} VALUES ({exprs}){extra}"


def _create_user(design: Design) -> Stmt:
    p = _Params()
    uid = _c(design, "users", "id")
    return p.stmt(_insert(design, "users", {uid.sql: p("user", uid)}, " ON CONFLICT DO NOTHING"))


def _new_conversation(design: Design) -> Stmt:
    p = _Params()
    uid, cid = _c(design, "conversations", "user_id"), _c(design, "conversations", "id")
    values = {uid.sql: p("user", uid)}
    if (title := design.col("conversations", "title")) is not None:
        values[title.sql] = p("title", title)
    return p.stmt(_insert(design, "conversations", values, f" RETURNING {cid.sql}"))


def _insert_message(design: Design) -> Stmt:
    p = _Params()
    conv = _c(design, "messages", "conversation_id")
    role, content = _c(design, "messages", "role"), _c(design, "messages", "content")
    values = {conv.sql: p("conv", conv), role.sql: p("role", role)}
    if (muid := design.col("messages", "user_id")) is not None:
        values[muid.sql] = p("user", muid)
    text = p("content")
    values[content.sql] = (
        f"to_json({text}::text)::{content.type}"
        if design.content_is_json
        else f"{text}::{content.type}"
    )
    seq = _seq_column(design)
    if seq is not None:
        table = design.table("messages").sql
        values[seq.sql] = (
            f"(SELECT coalesce(max({seq.sql}), 0) + 1 FROM {table} "
            f"WHERE {conv.sql} = {p('conv', conv)})"
        )
    return p.stmt(_insert(design, "messages", values))


def _seq_column(design: Design) -> ColumnInfo | None:
    """The integer order column the harness numbers itself (no default, no identity)."""
    name = design.seq_column
    if name is None:
        return None
    col = next((c for c in design.columns["messages"].values() if c.name == name), None)
    if col is None:
        col = next((c for c in design.extra_required.get("messages", ()) if c.name == name), None)
    if col is None:
        return ColumnInfo(name, "bigint", "int8", False, False)
    if (
        col.has_default
        or col.identity
        or col.generated
        or col.base not in INTEGER_SQL | {"int8": ""}
    ):
        return None
    return col


def fill_values(design: Design, table: str) -> dict[str, str]:
    """Actual column SQL -> SQL expression for the required columns the harness fills."""
    cols = {c.name: c for c in design.extra_required.get(table, ())}
    out: dict[str, str] = {}
    for fill in design.fills:
        if fill.table == table:
            col = cols.get(fill.column)
            out['"' + fill.column.replace('"', '""') + '"'] = fill_expr(fill, col)
    return out


def fill_expr(fill: Fill, col: ColumnInfo | None) -> str:
    """The SQL expression filling one required column."""
    if fill.sql is not None:
        expr = fill.sql
    elif fill.synthetic == "text":
        expr = TOKEN_SQL.format(n=min(col.max_length or 32, 32) if col else 32)
    elif fill.synthetic == "integer" and col is not None and col.base in INTEGER_SQL:
        expr = INTEGER_SQL[col.base]
    elif fill.synthetic in SYNTHETIC_SQL:
        expr = SYNTHETIC_SQL[fill.synthetic].format()
    else:
        raise ValueError(f"{fill.table}.{fill.column} needs --fill {fill.table}.{fill.column}=SQL")
    return f"({expr})::{col.type}" if col is not None else f"({expr})"


def user_kind(design: Design) -> KeyKind:
    """The kind of the user ids: from conversations.user_id's type (text when unusual)."""
    from conformance.discovery import key_kind_of

    return key_kind_of(_c(design, "conversations", "user_id").base) or "text"


def cleanup_statements(design: Design, tag: RunTag) -> list[tuple[str, list[Any]]]:
    """DELETEs removing this run's rows: messages, conversations, then users."""
    kind = user_kind(design)
    uid = _c(design, "conversations", "user_id")
    owned, params = tag.predicate(uid.sql, kind)
    conv, msg = design.table("conversations").sql, design.table("messages").sql
    mconv, cid = _c(design, "messages", "conversation_id"), _c(design, "conversations", "id")
    out = [
        (
            f"DELETE FROM {msg} WHERE {mconv.sql} IN (SELECT {cid.sql} FROM {conv} WHERE {owned})",
            params,
        ),
        (f"DELETE FROM {conv} WHERE {owned}", params),
    ]
    if design.has("users"):
        pred, uparams = tag.predicate(_c(design, "users", "id").sql, kind)
        out.append((f"DELETE FROM {design.table('users').sql} WHERE {pred}", uparams))
    return out
