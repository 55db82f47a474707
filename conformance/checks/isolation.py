"""Isolation checks: scoped reads, cross-tenant writes, owner consistency, RLS (behavioural)."""

import itertools
from typing import Any

import asyncpg  # type: ignore[import-untyped,unused-ignore]
from hypothesis import given
from hypothesis import seed as hypothesis_seed

from conformance.access import NewMessage
from conformance.cleanup import remove_made_rows
from conformance.context import CheckContext
from conformance.harness import (
    Harness,
    harness_session,
    property_failure,
    row_image,
    setup_error,
    verdict,
)
from conformance.registry import Outcome, check, failed, passed
from conformance.rls import rls_enabled, run_rls_probe
from conformance.runner import Counterexample, Facade, falsify, hypothesis_settings
from conformance.shape import error_text
from conformance.stateful import MachineEnv, run_machine
from conformance.strategies import turns


@check(
    "isolation.scoped_reads",
    "must",
    "for generated multi-user data, every read path (history, recent conversations, one "
    "conversation) asked as user U returns exactly U's rows",
    writes=True,
)
async def scoped_reads(ctx: CheckContext) -> Outcome:
    async with harness_session(ctx) as h:

        def body(facade: Facade, conn: Any, seed: int) -> Counterexample | None:
            env = MachineEnv(h.access, facade, conn, h.limits)
            return run_machine(env, profile=h.profile, seed=seed)

        found = await property_failure(h, body)
        return verdict(
            h,
            "isolation.scoped_reads",
            found,
            "every read path returned exactly the asking user's rows",
            "a read path returned rows that are not the asking user's",
        )


async def _cross_tenant_example(
    h: Harness, conn: Any, n: int, victim_turns: list[list[NewMessage]], attack: list[NewMessage]
) -> None:
    """User B attacks A's conversation through the user-scoped write path; nothing may change."""
    a = h.access
    victim, attacker = await a.create_user(conn, n=n), await a.create_user(conn, n=n + 1)
    conv = (await a.create_conversation(conn, user_id=victim, title="victim"))["id"]
    mids = [
        r["id"]
        for t in victim_turns
        for r in await a.append_turn(conn, conversation_id=conv, user_id=victim, messages=t)
    ]
    own = (await a.create_conversation(conn, user_id=attacker, title="own"))["id"]
    image = await _image(h, conn, conv)
    wrote = await a.append_turn(conn, conversation_id=conv, user_id=attacker, messages=attack)
    renamed = await a.update_conversation(
        conn, conversation_id=conv, user_id=attacker, title="pwned", deleted=True
    )
    edited = [
        await a.edit_message(conn, message_id=m, user_id=attacker, content="pwned") for m in mids
    ]
    gone = await a.delete_conversation(conn, conversation_id=conv, user_id=attacker)
    after = await _image(h, conn, conv)
    assert after == image, (
        f"user {attacker} changed user {victim}'s conversation: append wrote {len(wrote)}, "
        f"update {renamed}, edits {edited}, delete {gone}; rows before {image}, after {after}"
    )
    control = await a.append_turn(conn, conversation_id=own, user_id=attacker, messages=attack)
    assert len(control) == len(attack), "the scoped write path cannot write the user's own rows"


async def _image(h: Harness, conn: Any, conv: Any) -> list[str]:
    d = h.design
    convs = await row_image(
        conn, d.table("conversations").sql, f"x.{d.columns['conversations']['id'].sql} = $1", conv
    )
    msgs = await row_image(
        conn,
        d.table("messages").sql,
        f"x.{d.columns['messages']['conversation_id'].sql} = $1",
        conv,
    )
    return convs + msgs


@check(
    "isolation.cross_tenant_write",
    "must",
    "appending to, editing or deleting another user's conversation through the user-scoped "
    "write path changes nothing",
    writes=True,
)
async def cross_tenant_write(ctx: CheckContext) -> Outcome:
    async with harness_session(ctx) as h:
        limits = h.limits
        numbers = itertools.count(1, 2)

        def body(facade: Facade, conn: Any, seed: int) -> Counterexample | None:
            @hypothesis_seed(seed)
            @hypothesis_settings(h.profile)
            @given(victim=turns(limits).map(lambda t: [t]), attack=turns(limits))
            def prop(victim: list[list[NewMessage]], attack: list[NewMessage]) -> None:
                try:
                    facade.run(_cross_tenant_example(h, conn, next(numbers), victim, attack))
                finally:
                    facade.run(remove_made_rows(conn, h.access))

            return falsify(prop, seed=seed)

        found = await property_failure(h, body)
        return verdict(
            h,
            "isolation.cross_tenant_write",
            found,
            "another user's append, edit and delete changed nothing",
            "another user's write changed a conversation",
        )


@check(
    "isolation.owner_consistency",
    "should",
    "the database rejects a message whose user_id differs from its conversation's owner "
    "(pass: messages has no user_id)",
    writes=True,
)
async def owner_consistency(ctx: CheckContext) -> Outcome:
    if ctx.design is not None and not ctx.design.has("messages", "user_id"):
        return passed("messages has no user_id: ownership comes only through the conversation")
    async with harness_session(ctx) as h:
        a, conn = h.access, h.conn
        tx = conn.transaction()
        await tx.start()
        try:
            try:
                owner, other = await a.create_user(conn, n=1), await a.create_user(conn, n=2)
                conv = (await a.create_conversation(conn, user_id=owner))["id"]
            except asyncpg.PostgresError as exc:
                return setup_error(exc)
            try:
                async with conn.transaction():
                    await a.append_in_tx(
                        conn,
                        conversation_id=conv,
                        user_id=other,
                        scoped=False,
                        messages=[NewMessage(a.roles[0], "not yours")],
                    )
            except asyncpg.PostgresError as exc:
                return passed(
                    "a message owned by another user was rejected", database_said=error_text(exc)
                )
            return failed(
                "the database accepted a message whose user_id is not the conversation's owner",
                conversation_owner=str(owner),
                message_user_id=str(other),
                fix="add a composite FOREIGN KEY (conversation_id, user_id) "
                "REFERENCES conversations (id, user_id)",
            )
        finally:
            await tx.rollback()


@check(
    "isolation.rls",
    "must",
    "skip unless RLS is enabled on a chat table; then, as a role that does not bypass RLS "
    "(`--rls-role`, or a temporary role the harness creates when it may) with `app.user_id` "
    "set by `set_config(..., true)` (setting name configurable), unfiltered reads show only "
    "that user's rows and writes for another user are rejected",
    writes=True,
)
async def rls(ctx: CheckContext) -> Outcome:
    if ctx.design is not None and not rls_enabled(ctx.design):
        return Outcome("skip", "row-level security is not enabled on any chat table")
    async with harness_session(ctx) as h:
        return await run_rls_probe(h)
