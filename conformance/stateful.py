"""A state machine of chat operations checked against an in-memory model after every step.

Rules are synchronous and drive the async access layer through a `Facade`. After each step every
read path (history, keyset pages, recent conversations, one conversation), asked as every user,
must equal the model; with `strict_orphans`, no message may outlive its conversation.
"""

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from conformance.access import ChatAccess, NewMessage
from conformance.cleanup import remove_made_rows
from conformance.runner import Counterexample, Facade, falsify, hypothesis_settings
from conformance.strategies import Limits, titles, turns


@dataclass
class ConvModel:
    """What a conversation should hold."""

    owner: Any
    title: str | None
    deleted: bool = False
    messages: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class MachineEnv:
    """What the machine needs: the access layer, a connection on the facade's loop, options."""

    access: ChatAccess
    facade: Facade
    conn: Any
    limits: Limits | None = None
    strict_orphans: bool = False
    page_size: int = 2
    numbers: Any = field(default_factory=lambda: itertools.count(1))

    def run(self, coro: Any) -> Any:
        return self.facade.run(coro)


def machine_class(env: MachineEnv) -> type[RuleBasedStateMachine]:
    """A machine class bound to one environment (strategies fit its design)."""
    a = env.access
    limits = env.limits or Limits.of(a.d)
    has_users = a.d.has("users")
    soft = a.d.has("conversations", "deleted_at")

    class ChatMachine(RuleBasedStateMachine):
        users = Bundle("users")
        convs = Bundle("conversations")

        def __init__(self) -> None:
            super().__init__()
            self.owners: set[Any] = set()
            self.model: dict[Any, ConvModel] = {}
            self.made: list[Any] = []

        def _new_user(self) -> Any:
            uid = env.run(a.create_user(env.conn, n=next(env.numbers)))
            self.owners.add(uid)
            return uid

        @initialize(target=users)
        def first_user(self) -> Any:
            return self._new_user()

        @initialize(target=users)
        def second_user(self) -> Any:
            return self._new_user()

        @rule(target=users)
        def create_user(self) -> Any:
            return self._new_user()

        @rule(target=convs, owner=users, title=titles(limits))
        def create_conversation(self, owner: Any, title: str | None) -> Any:
            if owner not in self.owners:
                return None
            row = env.run(a.create_conversation(env.conn, user_id=owner, title=title))
            self.model[row["id"]] = ConvModel(owner, title)
            self.made.append(row["id"])
            return row["id"]

        @rule(conv=convs, turn=turns(limits), actor=users)
        def append_turn(self, conv: Any, turn: list[NewMessage], actor: Any) -> None:
            rows = env.run(
                a.append_turn(env.conn, conversation_id=conv, user_id=actor, messages=turn)
            )
            m = self.model.get(conv)
            if m is None or m.owner != actor:
                assert rows == [], f"appending as a non-owner wrote {len(rows)} rows"
                return
            assert len(rows) == len(turn), f"append wrote {len(rows)} of {len(turn)} messages"
            m.messages += [(x.role, x.content) for x in turn]

        @precondition(lambda self: soft)
        @rule(conv=convs, deleted=st.booleans())
        def soft_delete(self, conv: Any, deleted: bool) -> None:
            m = self.model.get(conv)
            if m is None:
                return
            env.run(
                a.update_conversation(
                    env.conn, conversation_id=conv, user_id=m.owner, deleted=deleted
                )
            )
            m.deleted = deleted

        @rule(conv=consumes(convs))
        def delete_conversation(self, conv: Any) -> None:
            m = self.model.pop(conv, None)
            if m is not None:
                self._delete(
                    lambda explicit: a.delete_conversation(
                        env.conn, conversation_id=conv, user_id=m.owner, explicit=explicit
                    ),
                    f"conversation {conv}",
                )

        @precondition(lambda self: has_users)
        @rule(user=consumes(users))
        def delete_user(self, user: Any) -> None:
            if user not in self.owners:
                return
            self.owners.discard(user)
            self._delete(
                lambda explicit: a.delete_user(env.conn, user_id=user, explicit=explicit),
                f"user {user}",
            )
            for cid in [k for k, v in self.model.items() if v.owner == user]:
                del self.model[cid]

        def _delete(self, op: Callable[[bool], Any], what: str) -> None:
            out = env.run(op(False))
            if out.leftover.get("messages") and env.strict_orphans:
                raise AssertionError(f"deleting {what} would leave orphans: {out.leftover}")
            if not out.deleted:
                out = env.run(op(True))
                assert out.deleted, f"deleting {what} failed: {out.error}"

        @invariant()
        def reads_match_model(self) -> None:
            check_reads(env, self.owners, self.model)
            if env.strict_orphans and self.made:
                n = env.run(count_orphans(a, env.conn, self.made))
                assert n == 0, f"{n} messages outlive their conversation"

        def teardown(self) -> None:
            env.run(remove_made_rows(env.conn, a))

    return ChatMachine


def check_reads(env: MachineEnv, owners: set[Any], model: dict[Any, ConvModel]) -> None:
    """Every read path, as every user, against the model."""
    a, conn = env.access, env.conn
    for user in owners:
        want = {cid for cid, m in model.items() if m.owner == user and not m.deleted}
        got = {r["id"] for r in env.run(a.recent(conn, user_id=user, limit=1000))}
        assert got == want, f"recent conversations of {user}: got {got}, expected {want}"
        for cid, m in model.items():
            _check_conversation(env, cid, m, user)


def _check_conversation(env: MachineEnv, cid: Any, m: ConvModel, user: Any) -> None:
    a, conn = env.access, env.conn
    one = env.run(a.get_conversation(conn, conversation_id=cid, user_id=user))
    hist = env.run(a.history(conn, conversation_id=cid, user_id=user))
    got = [(r["role"], r["content"]) for r in hist]
    if user != m.owner:
        assert one is None, f"user {user} reads conversation {cid} of {m.owner}"
        assert not got, f"user {user} reads {len(got)} messages of {m.owner}'s conversation"
        return
    assert one is not None, f"owner {user} cannot read conversation {cid}"
    if a.d.has("conversations", "title"):
        assert one["title"] == m.title, f"title {one['title']!r}, expected {m.title!r}"
    # Rows, not their order: ordering.history_order judges order (ties may break randomly).
    want = sorted(m.messages)
    assert sorted(got) == want, f"history of {cid}: got {got}, expected {m.messages}"
    pages = env.run(a.pages(conn, conversation_id=cid, user_id=user, size=env.page_size))
    flat = [(r["role"], r["content"]) for p in pages for r in p]
    assert sorted(flat) == want, f"keyset pages of {cid}: got {flat}, expected {m.messages}"


async def count_orphans(access: ChatAccess, conn: Any, conversation_ids: list[Any]) -> int:
    """Messages whose conversation (one of `conversation_ids`) no longer exists."""
    d = access.d
    mc = d.columns["messages"]["conversation_id"].sql
    cid = d.columns["conversations"]["id"].sql
    sql = (
        f"SELECT count(*) FROM {d.table('messages').sql} m WHERE m.{mc}::text = ANY($1) "
        f"AND NOT EXISTS (SELECT 1 FROM {d.table('conversations').sql} c "
        f"WHERE c.{cid} = m.{mc})"
    )
    n: int = await conn.fetchval(sql, [str(x) for x in conversation_ids])
    return n


def run_machine(env: MachineEnv, *, profile: str, seed: int) -> Counterexample | None:
    """Run the machine at a profile with a seed; the shrunk counterexample on failure."""
    cls = machine_class(env)
    seeded = hypothesis_seed(seed)(type("ChatMachine", (cls,), {}))
    config = hypothesis_settings(profile)
    return falsify(lambda: run_state_machine_as_test(seeded, settings=config), seed=seed)
