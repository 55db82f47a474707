"""The row-level-security probe: act as a role RLS applies to, and see what leaks.

The role is --rls-role, or a temporary NOLOGIN role the harness creates when the connecting
role may. Every probe runs in one transaction that is rolled back (the temporary role with it):
SET LOCAL ROLE, the user setting via set_config(..., true), unfiltered reads, then writes for
another user.
"""

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg  # type: ignore[import-untyped,unused-ignore]

from conformance.access import ChatAccess, NewMessage
from conformance.design import Design, quote_ident
from conformance.harness import Harness, setup_error
from conformance.registry import Outcome, errored, failed, passed
from conformance.shape import error_text

RLS_DENIED = "42501"  # insufficient_privilege: "new row violates row-level security policy"


def rls_enabled(design: Design) -> bool:
    """Whether RLS is enabled on any chat table."""
    return any(bool(f.get("enabled")) for f in design.rls.values())


@contextlib.asynccontextmanager
async def probe_role(h: Harness) -> AsyncIterator[str]:
    """--rls-role, or a temporary role, inside a transaction rolled back on exit.

    CREATE ROLE is transactional: the temporary role and its grants vanish with the rollback,
    so not even kill -9 can leave it behind.
    """
    conn = h.conn
    tx = conn.transaction()
    await tx.start()
    try:
        name = h.ctx.settings.rls_role or f"cg_rls_{h.access.tag.run_id}"
        if not h.ctx.settings.rls_role:
            await conn.execute(f"CREATE ROLE {quote_ident(name)} NOLOGIN")
            with contextlib.suppress(asyncpg.PostgresError):
                async with conn.transaction():  # a savepoint: a refusal keeps the tx usable
                    await conn.execute(f"GRANT {quote_ident(name)} TO CURRENT_USER")
            for stmt in _grants(h.design, quote_ident(name)):
                await conn.execute(stmt)
        yield name
    finally:
        if not conn.is_closed():
            await tx.rollback()


def _grants(design: Design, role: str) -> list[str]:
    schemas = sorted({t.schema for t in design.tables.values()})
    out = [f"GRANT USAGE ON SCHEMA {quote_ident(s)} TO {role}" for s in schemas]
    out += [
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {quote_ident(s)} TO {role}"
        for s in schemas
    ]
    out += [
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON {t.sql} TO {role}" for t in design.tables.values()
    ]
    return out


async def bypass_reason(conn: asyncpg.Connection, design: Design, role: str) -> str | None:
    """Why `role` would bypass RLS (superuser, BYPASSRLS, owner of an unforced table)."""
    rec = await conn.fetchrow(
        "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = $1", role
    )
    if rec is None:
        return f"role {role!r} does not exist"
    if rec["rolsuper"] or rec["rolbypassrls"]:
        return f"role {role!r} is a superuser or has BYPASSRLS"
    for logical, flags in design.rls.items():
        if not flags.get("enabled") or flags.get("forced"):
            continue
        owns = await conn.fetchval(
            "SELECT pg_has_role($1, c.relowner, 'USAGE') FROM pg_class c "
            "WHERE c.oid = $2::regclass",
            role,
            design.table(logical).sql,
        )
        if owns:
            return f"role {role!r} owns {design.table(logical)} (RLS not forced)"
    return None


async def _seed(h: Harness) -> dict[str, Any]:
    """Users A and B; A's conversation with messages, B's with messages and an empty one."""
    a, conn = h.access, h.conn
    ua, ub = await a.create_user(conn, n=1), await a.create_user(conn, n=2)
    convs = {}
    for key, user in (("a", ua), ("b", ub)):
        convs[key] = (await a.create_conversation(conn, user_id=user))["id"]
        await a.append_turn(
            conn,
            conversation_id=convs[key],
            user_id=user,
            messages=[NewMessage(a.roles[0], "hello"), NewMessage(a.roles[-1], "hi")],
        )
    empty_b = (await a.create_conversation(conn, user_id=ub))["id"]
    return {"a": ua, "b": ub, "conv_a": convs["a"], "conv_b": convs["b"], "empty_b": empty_b}


async def _reads(h: Harness, ids: dict[str, Any]) -> list[str]:
    """Rows of other users visible to the probe role (it acts as user A)."""
    d, conn, leaks = h.design, h.conn, []
    conv = d.columns["conversations"]
    owners = await conn.fetch(
        f"SELECT {conv['user_id'].sql}::text AS u FROM {d.table('conversations').sql}"
    )
    if bad := [r["u"] for r in owners if r["u"] != str(ids["a"])]:
        leaks.append(f"conversations of {len(set(bad))} other users visible ({len(bad)} rows)")
    mc = d.columns["messages"]["conversation_id"].sql
    seen = await conn.fetch(f"SELECT {mc}::text AS c FROM {d.table('messages').sql}")
    if bad := [r["c"] for r in seen if r["c"] != str(ids["conv_a"])]:
        leaks.append(f"{len(bad)} messages of other conversations visible")
    if d.has("users") and d.rls.get("users", {}).get("enabled"):
        uid = d.columns["users"]["id"].sql
        users = await conn.fetch(f"SELECT {uid}::text AS u FROM {d.table('users').sql}")
        if bad := [r["u"] for r in users if r["u"] != str(ids["a"])]:
            leaks.append(f"{len(bad)} other users' rows visible in users")
    return leaks


async def _attempt(
    conn: asyncpg.Connection, what: str, op: Callable[[], Awaitable[Any]]
) -> str | None:
    """Run one write in a savepoint; a description when it was not rejected."""
    try:
        async with conn.transaction():
            changed = await op()
    except asyncpg.PostgresError as exc:
        if exc.sqlstate == RLS_DENIED:
            return None
        raise
    if changed in (None, False, 0, [], "UPDATE 0", "DELETE 0"):
        return None
    return f"{what}: not rejected ({changed!r})"


async def _writes(h: Harness, ids: dict[str, Any]) -> list[str]:
    """Writes for user B while acting as user A; each must be rejected or change nothing."""
    d, conn = h.design, h.conn
    raw = ChatAccess(d, h.access.tag, rls_setting=None)
    raw.returning = False  # RETURNING would need SELECT rights on the new row
    t, c = d.table("conversations").sql, d.columns["conversations"]
    msgs = d.table("messages").sql
    mconv = d.columns["messages"]["conversation_id"].sql
    attempts: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
        ("insert a conversation for B", lambda: raw.create_conversation(conn, user_id=ids["b"])),
        (
            "append to B's conversation",
            lambda: raw.append_in_tx(
                conn,
                conversation_id=ids["empty_b"],
                user_id=ids["b"],
                scoped=False,
                messages=[NewMessage(raw.roles[0], "intruder")],
            ),
        ),
        (
            "update B's conversation",
            lambda: conn.execute(
                f"UPDATE {t} SET {c['user_id'].sql} = {c['user_id'].sql} WHERE {c['id'].sql} = $1",
                ids["conv_b"],
            ),
        ),
        (
            "give A's conversation to B",
            lambda: conn.execute(
                f"UPDATE {t} SET {c['user_id'].sql} = $2 WHERE {c['id'].sql} = $1",
                ids["conv_a"],
                ids["b"],
            ),
        ),
        (
            "delete B's messages",
            lambda: conn.execute(f"DELETE FROM {msgs} WHERE {mconv} = $1", ids["conv_b"]),
        ),
        (
            "delete B's conversation",
            lambda: conn.execute(f"DELETE FROM {t} WHERE {c['id'].sql} = $1", ids["conv_b"]),
        ),
    ]
    out = []
    for what, op in attempts:
        if problem := await _attempt(conn, what, op):
            out.append(problem)
    return out


async def run_rls_probe(h: Harness) -> Outcome:
    """The isolation.rls verdict for an RLS-enabled design."""
    try:
        ids = await _seed(h)
    except asyncpg.PostgresError as exc:
        return setup_error(exc)
    setting = h.ctx.settings.rls_setting
    try:
        async with probe_role(h) as role:
            if reason := await bypass_reason(h.conn, h.design, role):
                return errored(
                    f"cannot probe RLS: {reason}",
                    fix="pass --rls-role ROLE (a role RLS applies to)",
                )
            await h.conn.execute(f"SET LOCAL ROLE {quote_ident(role)}")
            await h.conn.execute("SELECT set_config($1, $2, true)", setting, str(ids["a"]))
            leaks = await _reads(h, ids)
            writes = await _writes(h, ids)
    except asyncpg.PostgresError as exc:
        return errored(
            f"RLS probe could not run: {error_text(exc)}",
            fix="pass --rls-role ROLE, or connect as a role that may create roles",
        )
    details = {"role": role, "setting": setting, "acting_user": str(ids["a"])}
    if leaks or writes:
        return failed(
            f"RLS lets user A {(leaks + writes)[0]}",
            leaks=leaks,
            writes_not_rejected=writes,
            **details,
        )
    return passed(
        "as a non-bypassing role, reads showed only the user's rows and writes for "
        "another user were rejected",
        **details,
    )
