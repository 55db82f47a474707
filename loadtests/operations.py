"""The benchmarked operations as SQL for any discovered design (asyncpg and pgbench share it).

Reads are scoped the way the harness reads: by conversation, and also by user when
messages.user_id exists (the scoped form is what falls into the generic-plan trap).
Writes follow the reference's append: bump the conversation's updated_at (its row lock orders
concurrent appenders) and insert with seq = max(seq) + k, in one transaction.
"""

from dataclasses import dataclass
from typing import Any, Literal

from conformance.design import Design, quote_ident

LATEST = 50
FULL_LIMIT = 1_000
RECENT = 20
USER_TEXT = "How do I page through a long conversation without OFFSET? Keep it short please."
ASSISTANT_TEXT = (
    "Use keyset pagination: remember the last seq you showed and ask for the rows "
    "before it, ordered by seq descending, with a LIMIT. "
) * 4

Kind = Literal["read", "write"]
SYNTHETIC_SQL = {
    "integer": "1 + floor(random() * 2000000000)::bigint",  # unique enough for a unique column
    "boolean": "false",
    "timestamp": "now()",
    "uuid": "gen_random_uuid()",
    "json": "'{}'",
    "text": "md5(random()::text || clock_timestamp()::text)",
}


@dataclass(frozen=True)
class Operation:
    """One benchmarked operation: statements run in order (in one transaction when a write)."""

    name: str
    kind: Kind
    statements: tuple[str, ...]
    args: tuple[tuple[str, ...], ...]  # per statement: names of the Subject fields it binds
    description: str = ""


@dataclass(frozen=True)
class Subject:
    """What an operation runs against: one conversation of one user, and a keyset cursor."""

    conversation_id: Any
    user_id: Any
    length: int
    cursor: tuple[Any, ...] = ()
    user_role: str = "user"
    assistant_role: str = "assistant"
    user_text: str = USER_TEXT
    assistant_text: str = ASSISTANT_TEXT

    def values(self, names: tuple[str, ...]) -> list[Any]:
        """The bind values for `names` (cursor0, cursor1 index into the cursor)."""
        out: list[Any] = []
        for n in names:
            out.append(self.cursor[int(n[6:])] if n.startswith("cursor") else getattr(self, n))
        return out


class SqlBuilder:
    """Builds the operations' SQL for one design."""

    def __init__(self, design: Design) -> None:
        self.d = design
        self.m = design.table("messages").sql
        self.c = design.table("conversations").sql
        mc = design.columns["messages"]
        self.conv = mc["conversation_id"].sql
        self.user = mc["user_id"].sql if "user_id" in mc else None
        self.order = [f'"{k}"' for k in design.order_key]
        wanted = [mc[n].sql for n in ("id", "role", "content", "created_at") if n in mc]
        self.select = ", ".join(dict.fromkeys([*wanted, *self.order]))

    def scope(self) -> tuple[str, tuple[str, ...]]:
        """WHERE conversation (and user, when messages carry it)."""
        if self.user:
            return f"{self.conv} = $1 AND {self.user} = $2", ("conversation_id", "user_id")
        return f"{self.conv} = $1", ("conversation_id",)

    def history(
        self, *, desc: bool, limit: int, keyset: bool = False
    ) -> tuple[str, tuple[str, ...]]:
        where, names = self.scope()
        if keyset:
            k = len(names)
            cols = ", ".join(self.order)
            params = ", ".join(f"${k + 1 + i}" for i in range(len(self.order)))
            where += f" AND ({cols}) < ({params})"
            names += tuple(f"cursor{i}" for i in range(len(self.order)))
        direction = " DESC" if desc else ""
        order = ", ".join(o + direction for o in self.order)
        return (
            f"SELECT {self.select} FROM {self.m} WHERE {where} ORDER BY {order} LIMIT {limit}",
            names,
        )

    def touch(self) -> tuple[str, tuple[str, ...]] | None:
        cc = self.d.columns["conversations"]
        if "updated_at" not in cc:
            return None
        return (
            f"UPDATE {self.c} SET {cc['updated_at'].sql} = now() WHERE {cc['id'].sql} = $1",
            ("conversation_id",),
        )

    def insert(self, count: int) -> tuple[str, tuple[str, ...]]:
        """INSERT of `count` messages (user then assistant) with the next seq values."""
        mc = self.d.columns["messages"]
        cols = [self.conv]
        exprs = ["$1"]
        names: list[str] = ["conversation_id"]
        if self.user:
            cols.append(self.user)
            exprs.append("$2")
            names.append("user_id")
        seq = self.d.seq_column
        if seq:
            cols.append(f'"{seq}"')
            exprs.append("n.s + v.k")
        for logical in ("role", "content"):
            if logical in mc:
                cols.append(mc[logical].sql)
                value = f"v.{logical}"
                if logical == "content" and self.d.content_is_json:
                    value = "json_build_object('type', 'text', 'text', v.content)"
                exprs.append(f"{value}::{mc[logical].type}")
        if "created_at" in mc:
            cols.append(mc["created_at"].sql)
            exprs.append(f"clock_timestamp()::{mc['created_at'].type}")
        self.add_fills(cols, exprs)
        rows = []
        for k in range(1, count + 1):
            p = len(names)
            rows.append(f"({k}, ${p + 1}::text, ${p + 2}::text)")
            who = "user" if k % 2 else "assistant"
            names += [f"{who}_role", f"{who}_text"]
        last = (
            f'(SELECT coalesce(max("{seq}"), 0) AS s FROM {self.m} WHERE {self.conv} = $1)'
            if seq
            else "(SELECT 0 AS s)"
        )
        sql = (
            f"INSERT INTO {self.m} ({', '.join(cols)}) SELECT {', '.join(exprs)} "
            f"FROM {last} n, (VALUES {', '.join(rows)}) v(k, role, content)"
        )
        return sql, tuple(names)

    def add_fills(self, cols: list[str], exprs: list[str]) -> None:
        """Values for required unknown message columns, made in SQL (unique where needed)."""
        infos = {c.name: c for c in self.d.extra_required.get("messages", ())}
        id_col = self.d.col("messages", "id")
        for f in self.d.fills:
            name = quote_ident(f.column)
            if f.table != "messages" or name in cols:
                continue
            col = infos.get(f.column)
            if f.sql is not None:
                expr = f"({f.sql})"
            elif id_col is not None and f.column == id_col.name and f.synthetic == "integer":
                expr = f"(SELECT coalesce(max({name}), 0) FROM {self.m}) + v.k"
            elif col is not None and col.base == "int2" and f.synthetic == "integer":
                expr = "1 + floor(random() * 32000)::int"
            else:
                expr = SYNTHETIC_SQL.get(f.synthetic or "", "NULL")
            if col is not None and col.max_length and f.synthetic == "text":
                expr = f"left({expr}, {col.max_length})"
            cols.append(name)
            exprs.append(f"({expr})::{col.type}" if col is not None else expr)

    def recent(self) -> tuple[str, tuple[str, ...]]:
        cc = self.d.columns["conversations"]
        by = cc.get("updated_at") or cc.get("created_at") or cc["id"]
        cols = ", ".join(dict.fromkeys(cc[n].sql for n in ("id", "title", "updated_at") if n in cc))
        live = f" AND {cc['deleted_at'].sql} IS NULL" if "deleted_at" in cc else ""
        return (
            f"SELECT {cols} FROM {self.c} WHERE {cc['user_id'].sql} = $1{live} "
            f"ORDER BY {by.sql} DESC LIMIT {RECENT}",
            ("user_id",),
        )

    def write(self, name: str, count: int, description: str) -> Operation:
        parts = [p for p in (self.touch(), self.insert(count)) if p is not None]
        return Operation(
            name, "write", tuple(s for s, _ in parts), tuple(a for _, a in parts), description
        )


def operations(design: Design) -> dict[str, Operation]:
    """Every benchmarked operation for `design`, by name."""
    b = SqlBuilder(design)

    def read(name: str, sql_args: tuple[str, tuple[str, ...]], text: str) -> Operation:
        return Operation(name, "read", (sql_args[0],), (sql_args[1],), text)

    ops = [
        read("history.latest50", b.history(desc=True, limit=LATEST), "latest 50 messages"),
        read(
            "history.full_short",
            b.history(desc=False, limit=FULL_LIMIT),
            "full history of a short conversation",
        ),
        read(
            "history.page_deep",
            b.history(desc=True, limit=LATEST, keyset=True),
            "keyset page of 50 in the middle of a long conversation",
        ),
        read("conversations.recent", b.recent(), "the user's 20 most recent conversations"),
        b.write("append.message", 1, "append one message (bump conversation + insert)"),
        b.write("append.turn", 2, "append a user+assistant turn in one transaction"),
    ]
    return {o.name: o for o in ops}
