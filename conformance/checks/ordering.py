"""Ordering checks: history order, concurrent appends, visible prefix (spec: behavioural)."""

import itertools
import random
from typing import Any

from hypothesis import given
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from conformance.access import NewMessage
from conformance.cleanup import remove_made_rows
from conformance.concurrency import (
    SCRIPTS,
    Findings,
    Plan,
    Scene,
    judge_appends,
    prefix_violation,
    run_writers,
    watch,
)
from conformance.context import CheckContext
from conformance.harness import Harness, harness_session, property_failure, verdict
from conformance.registry import Outcome, check, failed, passed
from conformance.runner import Counterexample, Facade, falsify, hypothesis_settings, run_seed
from conformance.strategies import turns

# Fresh conversations per example: with a timestamp order key, ties fall to the tie-break
# column (maybe random), so one turn of two messages passes by luck with p = 2**-REPEATS.
REPEATS = 12
ROUNDS = {"quick": 1, "ci": 3, "thorough": 10}


async def _history_example(
    h: Harness, conn: Any, n: int, batch: list[list[NewMessage]], size: int
) -> None:
    """Append the turns to fresh conversations; history and pages must be the append order."""
    a = h.access
    user = await a.create_user(conn, n=n)
    for _ in range(1 if a.seq is not None else REPEATS):
        conv = (await a.create_conversation(conn, user_id=user))["id"]
        appended: list[Any] = []
        for turn in batch:
            appended += [
                r["id"]
                for r in await a.append_turn(
                    conn, conversation_id=conv, user_id=user, messages=turn
                )
            ]
        rows = await a.history(conn, conversation_id=conv, user_id=user)
        got = [r["id"] for r in rows]
        assert got == appended, (
            f"history by {a.d.order_key} returned ids {got} with order keys "
            f"{[r['order'] for r in rows]}; appended {appended}"
        )
        pages = await a.pages(conn, conversation_id=conv, user_id=user, size=size)
        flat = [r["id"] for p in pages for r in p]
        assert flat == appended, f"keyset pages of {size} returned {flat}; appended {appended}"


def _history_body(h: Harness) -> Any:
    limits = h.limits
    numbers = itertools.count(1)

    def body(facade: Facade, conn: Any, seed: int) -> Counterexample | None:
        @hypothesis_seed(seed)
        @hypothesis_settings(h.profile)
        @given(batch=st.lists(turns(limits), min_size=1, max_size=5), size=st.integers(1, 5))
        def prop(batch: list[list[NewMessage]], size: int) -> None:
            try:
                facade.run(_history_example(h, conn, next(numbers), batch, size))
            finally:
                facade.run(remove_made_rows(conn, h.access))

        return falsify(prop, seed=seed)

    return body


@check(
    "ordering.history_order",
    "must",
    "for generated turns, including several messages written in one transaction, reading "
    "the history by the order key returns exactly the appended messages in append order; "
    "keyset pages of any size return each message once, in order",
    writes=True,
)
async def history_order(ctx: CheckContext) -> Outcome:
    async with harness_session(ctx) as h:
        found = await property_failure(h, _history_body(h))
        return verdict(
            h,
            "ordering.history_order",
            found,
            f"history by {h.design.order_key} keeps append order",
            "history order differs from append order",
            order_key=list(h.design.order_key),
            order_rule=h.design.order_rule,
        )


async def _scene(h: Harness, n: int) -> Scene:
    user = await h.access.create_user(h.conn, n=n)
    conv = await h.access.create_conversation(h.conn, user_id=user)
    return Scene(h.access, h.ctx.target, user, conv["id"])


@check(
    "ordering.concurrent_appends",
    "must",
    "concurrent writers on one conversation lose nothing, duplicate nothing, and each "
    "writer's messages keep their relative order",
    writes=True,
)
async def concurrent_appends(ctx: CheckContext) -> Outcome:
    seed = run_seed(ctx)
    rng = random.Random(seed)
    async with harness_session(ctx) as h:
        for round_no in range(ROUNDS.get(h.profile, 3)):
            scene = await _scene(h, round_no + 1)
            plan = Plan.random(rng, writers=4, turns=5)
            findings = Findings()
            await run_writers(scene, plan, findings)
            history = await scene.read(h.conn)
            problems = findings.errors + judge_appends(history, plan)
            if problems:
                return failed(
                    f"concurrent appends: {problems[0]}"[:400],
                    round=round_no,
                    problems=problems,
                    plan=plan.sizes,
                    history=history[:200],
                    seed=seed,
                    replay=_replay(h, "ordering.concurrent_appends", seed),
                )
        return passed(
            "4 concurrent writers lost, duplicated and reordered nothing",
            rounds=ROUNDS.get(h.profile, 3),
            seed=seed,
        )


@check(
    "ordering.visible_prefix",
    "should",
    "while writers append concurrently, every history a reader sees is a prefix of every "
    "later one (messages only ever appear at the end), including scripted schedules: a "
    "transaction that began first appends last; a writer keeps its transaction open after "
    "appending while another appends and commits",
    writes=True,
)
async def visible_prefix(ctx: CheckContext) -> Outcome:
    seed = run_seed(ctx)
    rng = random.Random(seed)
    async with harness_session(ctx) as h:
        n = itertools.count(1)
        for name, script in SCRIPTS.items():
            seen = await script(await _scene(h, next(n)))
            if problem := prefix_violation(seen):
                return failed(
                    f"schedule {name}: {problem}"[:400],
                    schedule=name,
                    observations=seen,
                    order_key=list(h.design.order_key),
                    replay=_replay(h, "ordering.visible_prefix", seed),
                )
        for round_no in range(ROUNDS.get(h.profile, 3)):
            plan = Plan.random(rng, writers=3, turns=4)
            findings = Findings()
            seen = await watch(await _scene(h, next(n)), plan, findings)
            problem = prefix_violation(seen) or (findings.errors[0] if findings.errors else None)
            if problem:
                return failed(
                    f"random schedule {round_no}: {problem}"[:400],
                    plan=plan.sizes,
                    observations=seen[-20:],
                    seed=seed,
                    replay=_replay(h, "ordering.visible_prefix", seed),
                )
        return passed(
            "readers only ever saw messages appear at the end",
            schedules=[*SCRIPTS, "random"],
            seed=seed,
        )


def _replay(h: Harness, check_id: str, seed: int) -> str:
    from conformance.runner import replay_command

    return replay_command(h.ctx, check_id, seed)
