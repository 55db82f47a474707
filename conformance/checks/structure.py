"""The structural checks: read-only verdicts on the snapshot and the discovered design.

Every outcome's details name the evidence: the index or constraint that satisfied the check,
or what was found instead. The index checks of this area are in `conformance.checks.indexes`.
"""

from typing import Any

from chatgate.errors import SetupError
from conformance.context import CheckContext
from conformance.design import Design
from conformance.discovery import (
    JSON_TYPES,
    TEXT_TYPES,
    TIME_TYPES,
    key_kind_of,
    normalize,
    role_restriction,
)
from conformance.registry import REGISTRY, Outcome, check, failed, passed, skipped
from conformance.snapshot import Constraint, Snapshot, Table

REQUIRED = {
    "conversations": ("id", "user_id", "created_at"),
    "messages": ("id", "conversation_id", "role", "content", "created_at"),
}


def _setup(ctx: CheckContext) -> tuple[Design, Snapshot]:
    if ctx.design is None or not isinstance(ctx.snapshot, Snapshot):
        raise SetupError(ctx.discovery_error or "discovery did not run")
    return ctx.design, ctx.snapshot


def _table(ctx: CheckContext, logical: str) -> Table | None:
    design, snap = _setup(ctx)
    ref = design.tables.get(logical)
    return snap.table(ref.schema, ref.name) if ref else None


def _tables(ctx: CheckContext) -> tuple[Design, Table, Table]:
    design, _ = _setup(ctx)
    conv, msgs = _table(ctx, "conversations"), _table(ctx, "messages")
    if conv is None or msgs is None:
        raise SetupError("the chat tables vanished from the snapshot")
    return design, conv, msgs


def _col(design: Design, table: str, logical: str) -> str:
    col = design.col(table, logical)
    return col.name if col else f"<no {table}.{logical}>"


def _fks_to(table: Table, target: Table, column: str) -> list[Constraint]:
    return [
        c
        for c in table.constraints_of("foreign key")
        if c.ref_table == target.key and column in c.columns
    ]


def _fk_short(c: Constraint) -> str:
    ref = c.ref_table.split(".", 1)[-1] if c.ref_table else "?"
    rule = f" ON DELETE {c.on_delete.upper()}" if c.on_delete else ""
    return f"{c.name}: ({', '.join(c.columns)}) -> {ref}({', '.join(c.ref_columns)}){rule}"


def _fk_text(c: Constraint) -> dict[str, Any]:
    return {"name": c.name, "definition": c.definition, "on_delete": c.on_delete}


@check(
    "structure.tables", "must", "`conversations` and `messages` exist (plain or partitioned tables)"
)
async def tables(ctx: CheckContext) -> Outcome:
    design, conv, msgs = _tables(ctx)
    found = {k: str(v) for k, v in design.tables.items()}
    kinds = {"conversations": conv.kind, "messages": msgs.kind}
    return passed(f"{conv.key} ({conv.kind}), {msgs.key} ({msgs.kind})", tables=found, kinds=kinds)


def _compatible(design: Design, table: str, logical: str, enums: set[str]) -> str | None:
    """Why a column's type does not fit its role, or None when it does."""
    col = design.col(table, logical)
    if col is None:
        return None
    base = col.base
    if logical in ("id", "user_id", "conversation_id"):
        if key_kind_of(base) is None:
            return f"{table}.{col.name} is {col.type}: keys must be uuid, integer or text"
        ref = {"conversation_id": ("conversations", "id"), "user_id": ("users", "id")}.get(logical)
        if table == "messages" and logical == "user_id":
            ref = ("conversations", "user_id")
        other = design.col(*ref) if ref else None
        if ref and other and key_kind_of(other.base) != key_kind_of(base):
            mine, theirs = f"{table}.{col.name} ({col.type})", f"{ref[0]}.{other.name}"
            return f"{mine} does not match {theirs} ({other.type})"
    if logical == "created_at" and base not in TIME_TYPES:
        return f"{table}.{col.name} is {col.type}, not a timestamp"
    if logical == "role" and base not in TEXT_TYPES and col.name not in enums:
        return f"messages.{col.name} is {col.type}, not text-like or an enum"
    if logical == "content" and base not in TEXT_TYPES | JSON_TYPES:
        return f"messages.{col.name} is {col.type}, not text-like or json"
    return None


@check(
    "structure.columns",
    "must",
    "conversations(id, user_id, created_at) and messages(id, conversation_id, role, content, "
    "created_at) exist with compatible types",
)
async def columns(ctx: CheckContext) -> Outcome:
    design, _, msgs = _tables(ctx)
    missing = [f"{t}.{c}" for t, cols in REQUIRED.items() for c in cols if not design.has(t, c)]
    enums = {c.name for c in msgs.columns if c.is_enum}
    problems = [
        why
        for t, cols in design.columns.items()
        for lc in cols
        if (why := _compatible(design, t, lc, enums))
    ]
    found = {
        t: {lc: f"{c.name} {c.type}" for lc, c in cols.items()}
        for t, cols in design.columns.items()
    }
    if missing or problems:
        summary = "; ".join(([f"missing: {', '.join(missing)}"] if missing else []) + problems)
        return failed(summary, missing=missing, incompatible=problems, columns=found)
    return passed("all required columns present with compatible types", columns=found)


@check("structure.primary_keys", "must", "both tables have a primary key")
async def primary_keys(ctx: CheckContext) -> Outcome:
    _, conv, msgs = _tables(ctx)
    keys = {t.key: (t.primary_key.definition if t.primary_key else None) for t in (conv, msgs)}
    lacking = [k for k, v in keys.items() if v is None]
    if lacking:
        return failed(f"no primary key on {', '.join(lacking)}", primary_keys=keys)
    text = ", ".join(
        f"{t.name} ({', '.join(t.primary_key.columns)})" for t in (conv, msgs) if t.primary_key
    )
    return passed(text, primary_keys=keys)


@check(
    "structure.conversation_fk",
    "must",
    "a foreign key leads from messages.conversation_id to conversations",
)
async def conversation_fk(ctx: CheckContext) -> Outcome:
    design, conv, msgs = _tables(ctx)
    col = _col(design, "messages", "conversation_id")
    fks = _fks_to(msgs, conv, col)
    if not fks:
        others = [_fk_text(c) for c in msgs.constraints_of("foreign key")]
        return failed(f"no foreign key from {msgs.key}.{col} to {conv.key}", foreign_keys=others)
    return passed(_fk_short(fks[0]), foreign_keys=[_fk_text(c) for c in fks])


@check("structure.cascade_rule", "must", "that foreign key is ON DELETE CASCADE")
async def cascade_rule(ctx: CheckContext) -> Outcome:
    design, conv, msgs = _tables(ctx)
    fks = _fks_to(msgs, conv, _col(design, "messages", "conversation_id"))
    evidence = [_fk_text(c) for c in fks]
    if not fks:
        return failed("no foreign key from messages to conversations", foreign_keys=evidence)
    bad = [c for c in fks if c.on_delete != "cascade"]
    if bad:
        text = ", ".join(
            f"{c.name} is ON DELETE {c.on_delete.upper() if c.on_delete else '?'}" for c in bad
        )
        return failed(text, foreign_keys=evidence)
    return passed(f"{', '.join(c.name for c in fks)}: ON DELETE CASCADE", foreign_keys=evidence)


@check(
    "structure.user_fk",
    "should",
    "conversations.user_id references the users table ON DELETE CASCADE (skip: no users table)",
)
async def user_fk(ctx: CheckContext) -> Outcome:
    design, conv, _ = _tables(ctx)
    users = _table(ctx, "users")
    if users is None:
        return skipped("no users table")
    fks = _fks_to(conv, users, _col(design, "conversations", "user_id"))
    evidence = [_fk_text(c) for c in fks]
    if not fks:
        return failed(
            f"no foreign key from {conv.key}.user_id to {users.key}",
            foreign_keys=[_fk_text(c) for c in conv.constraints_of("foreign key")],
        )
    if any(c.on_delete != "cascade" for c in fks):
        return failed(
            f"{fks[0].name} is ON DELETE {str(fks[0].on_delete).upper()}", foreign_keys=evidence
        )
    return passed(_fk_short(fks[0]), foreign_keys=evidence)


@check(
    "structure.role_check",
    "must",
    "role is restricted by a CHECK constraint or an enum, and 'user' and 'assistant' are allowed",
)
async def role_check(ctx: CheckContext) -> Outcome:
    design, _, msgs = _tables(ctx)
    role = design.col("messages", "role")
    if role is None:
        return failed("messages has no role column")
    found = role_restriction(ctx.snapshot, msgs, role.name)
    if found is None:
        checks = [c.definition for c in msgs.constraints_of("check")]
        return failed(
            f"nothing restricts {msgs.key}.{role.name} ({role.type})", check_constraints=checks
        )
    roles, evidence = found
    lacking = [r for r in ("user", "assistant") if r not in roles]
    if lacking:
        return failed(f"{evidence} does not allow {', '.join(lacking)}", roles=list(roles))
    short = evidence.split(":", 1)[0]
    return passed(f"roles {', '.join(roles)} from {short}", roles=list(roles), source=evidence)


@check(
    "structure.timestamptz",
    "should",
    "every created_at/updated_at column of the chat tables (and users) is timestamp with time zone",
)
async def timestamptz(ctx: CheckContext) -> Outcome:
    design, _ = _setup(ctx)
    seen, naive = {}, []
    for logical in design.tables:
        table = _table(ctx, logical)
        for col in table.columns if table else ():
            if normalize(col.name) in ("created_at", "updated_at") or col.name in (
                _col(design, logical, "created_at"),
                _col(design, logical, "updated_at"),
            ):
                seen[f"{logical}.{col.name}"] = col.type
                if col.base != "timestamptz":
                    naive.append(f"{logical}.{col.name} ({col.type})")
    if naive:
        return failed(f"not timestamp with time zone: {', '.join(naive)}", columns=seen)
    return passed(f"{len(seen)} time columns are timestamptz", columns=seen)


@check(
    "structure.owner_fk",
    "should",
    "messages.user_id is tied to its conversation's owner by a composite foreign key "
    "(conversation_id, user_id) -> conversations(id, user_id) (skip: no messages.user_id)",
)
async def owner_fk(ctx: CheckContext) -> Outcome:
    design, conv, msgs = _tables(ctx)
    if not design.has("messages", "user_id"):
        return skipped("messages has no user_id column")
    want = {
        _col(design, "messages", "conversation_id"): _col(design, "conversations", "id"),
        _col(design, "messages", "user_id"): _col(design, "conversations", "user_id"),
    }
    for fk in msgs.constraints_of("foreign key"):
        pairs = dict(zip(fk.columns, fk.ref_columns, strict=False))
        if fk.ref_table == conv.key and len(pairs) == 2 and pairs == want:
            return passed(_fk_short(fk), foreign_key=_fk_text(fk))
    fks = [_fk_text(c) for c in msgs.constraints_of("foreign key")]
    return failed(
        "no composite foreign key (conversation_id, user_id) -> conversations(id, user_id)",
        foreign_keys=fks,
    )


@check(
    "structure.id_enumeration",
    "should",
    "conversation ids are not sequential integers (uuid or other non-guessable keys)",
)
async def id_enumeration(ctx: CheckContext) -> Outcome:
    design, conv, _ = _tables(ctx)
    kind = design.key_kinds.get("conversations")
    idc = conv.column(_col(design, "conversations", "id"))
    source = {
        "type": idc.type if idc else None,
        "default": idc.default if idc else None,
        "identity": bool(idc and idc.identity),
    }
    if kind == "integer":
        return failed(f"conversation ids are integers ({source['type']}): guessable", id=source)
    return passed(f"conversation ids are {kind} ({source['type']})", id=source)


@check(
    "structure.protected_tables",
    "must",
    "only with `--baseline SNAPSHOT`: tables other than the chat tables are unchanged, and "
    "nothing a `must` check relies on was removed",
)
async def protected_tables(ctx: CheckContext) -> Outcome:
    from conformance.checks.baseline import compare_baseline

    if ctx.settings.baseline is None:
        return skipped("no --baseline snapshot given")
    baseline = ctx.extras.get("baseline")
    if not isinstance(baseline, Snapshot):
        baseline = Snapshot.read(ctx.settings.baseline)
    must_checks = {cid: REGISTRY[cid].fn for cid in MUST_CHECKS}
    return await compare_baseline(ctx, baseline, must_checks)


MUST_CHECKS = (
    "structure.tables",
    "structure.columns",
    "structure.primary_keys",
    "structure.conversation_fk",
    "structure.cascade_rule",
    "structure.role_check",
    "structure.history_index",
    "structure.owner_index",
)
