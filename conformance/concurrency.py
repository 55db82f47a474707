"""Writers on separate connections appending to one conversation, and readers watching them.

Each message's content names its writer, turn and position (`w1:3:0`), so the history shows who
wrote what. Schedules: free-running writers (randomised turn sizes and pauses from a seed), and
the spec's scripted ones for ordering.visible_prefix.
"""

import asyncio
import itertools
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from chatgate.target import Target
from conformance.access import ChatAccess, NewMessage


@dataclass
class Scene:
    """One conversation under test, and where to connect."""

    access: ChatAccess
    target: Target
    user_id: Any
    conversation_id: Any

    def turn(self, label: str, size: int) -> list[NewMessage]:
        roles = self.access.roles
        return [NewMessage(roles[j % len(roles)], f"{label}:{j}") for j in range(size)]

    async def read(self, conn: Any) -> list[str]:
        """The history as content labels, in order-key order."""
        rows = await self.access.history(
            conn, conversation_id=self.conversation_id, user_id=self.user_id
        )
        return [str(r["content"]) for r in rows]


@dataclass
class Plan:
    """Per writer, the sizes of its turns; plus pauses between them (seconds)."""

    sizes: list[list[int]]
    pauses: list[list[float]]

    @classmethod
    def random(cls, rng: random.Random, *, writers: int, turns: int) -> "Plan":
        sizes = [[rng.randint(1, 3) for _ in range(turns)] for _ in range(writers)]
        pauses = [[rng.random() * 0.003 for _ in range(turns)] for _ in range(writers)]
        return cls(sizes, pauses)

    def expected(self, writer: int) -> list[str]:
        return [f"w{writer}:{k}:{j}" for k, n in enumerate(self.sizes[writer]) for j in range(n)]


@dataclass
class Findings:
    """What went wrong in one schedule (empty when nothing did)."""

    problems: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and not self.errors


async def run_writers(scene: Scene, plan: Plan, findings: Findings) -> None:
    """Every writer appends its turns on its own connection, concurrently."""

    async def writer(i: int) -> None:
        conn = await scene.target.connect()
        try:
            for k, size in enumerate(plan.sizes[i]):
                try:
                    await scene.access.append_turn(
                        conn,
                        conversation_id=scene.conversation_id,
                        user_id=scene.user_id,
                        messages=scene.turn(f"w{i}:{k}", size),
                    )
                except Exception as exc:
                    findings.errors.append(f"writer {i} turn {k}: {type(exc).__name__}: {exc}")
                await asyncio.sleep(plan.pauses[i][k])
        finally:
            await conn.close()

    await asyncio.gather(*(writer(i) for i in range(len(plan.sizes))))


def judge_appends(history: list[str], plan: Plan) -> list[str]:
    """Lost, duplicated or foreign messages, and writers whose order was not kept."""
    problems: list[str] = []
    expected = {c for i in range(len(plan.sizes)) for c in plan.expected(i)}
    counts = Counter(history)
    if lost := sorted(expected - set(history)):
        problems.append(f"lost {len(lost)} messages: {lost[:10]}")
    if dup := sorted(c for c, n in counts.items() if n > 1):
        problems.append(f"duplicated: {dup[:10]}")
    if extra := sorted(set(history) - expected):
        problems.append(f"unexpected messages: {extra[:10]}")
    for i in range(len(plan.sizes)):
        mine = [c for c in history if c.startswith(f"w{i}:")]
        if mine != plan.expected(i):
            problems.append(
                f"writer {i}'s messages out of order: read {mine[:12]}, "
                f"appended {plan.expected(i)[:12]}"
            )
    return problems


def prefix_violation(seen: list[list[str]]) -> str | None:
    """The first observation that is not a prefix of a later one, described."""
    for before, after in itertools.pairwise(seen):
        if after[: len(before)] != before:
            return f"reader saw {before} and later {after}: a message appeared before the end"
    return None


async def watch(scene: Scene, plan: Plan, findings: Findings) -> list[list[str]]:
    """Run the writers while a reader polls the history; every observation, in order."""
    conn = await scene.target.connect()
    seen: list[list[str]] = []
    try:
        writers = asyncio.ensure_future(run_writers(scene, plan, findings))
        while not writers.done():
            seen.append(await scene.read(conn))
            await asyncio.sleep(0)
        await writers
        seen.append(await scene.read(conn))
    finally:
        await conn.close()
    return seen


async def began_first_appends_last(scene: Scene) -> list[list[str]]:
    """T1 begins; T2 appends and commits; then T1 appends and commits (Hermitage-style)."""
    a = scene.access
    c1, c2, reader = [await scene.target.connect() for _ in range(3)]
    seen: list[list[str]] = []
    try:
        tx = c1.transaction()
        await tx.start()
        await c1.execute("SELECT now()")
        await asyncio.sleep(0.01)
        await a.append_turn(
            c2,
            conversation_id=scene.conversation_id,
            user_id=scene.user_id,
            messages=scene.turn("T2", 1),
        )
        seen.append(await scene.read(reader))
        await a.append_in_tx(
            c1,
            conversation_id=scene.conversation_id,
            user_id=scene.user_id,
            messages=scene.turn("T1", 1),
        )
        await tx.commit()
        seen.append(await scene.read(reader))
    finally:
        for c in (c1, c2, reader):
            await c.close()
    return seen


async def open_writer(scene: Scene) -> list[list[str]]:
    """T1 appends and keeps its transaction open while T2 appends and commits; then T1 commits."""
    a = scene.access
    c1, c2, reader = [await scene.target.connect() for _ in range(3)]
    seen: list[list[str]] = []
    try:
        tx = c1.transaction()
        await tx.start()
        await a.append_in_tx(
            c1,
            conversation_id=scene.conversation_id,
            user_id=scene.user_id,
            messages=scene.turn("T1", 1),
        )
        await asyncio.sleep(0.01)
        second = asyncio.ensure_future(
            a.append_turn(
                c2,
                conversation_id=scene.conversation_id,
                user_id=scene.user_id,
                messages=scene.turn("T2", 1),
            )
        )
        await asyncio.wait({second}, timeout=0.3)  # it commits, or waits for T1's lock
        seen.append(await scene.read(reader))
        await tx.commit()
        await second
        seen.append(await scene.read(reader))
    finally:
        for c in (c1, c2, reader):
            await c.close()
    return seen


SCRIPTS = {"began_first_appends_last": began_first_appends_last, "open_writer": open_writer}
