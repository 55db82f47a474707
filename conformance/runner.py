"""Running Hypothesis properties against a live database, outside pytest.

A property runs in its own thread with a private event loop (`Facade`), so synchronous
Hypothesis code can drive the async access layer while the engine's loop stays free. A failure
comes back as a `Counterexample`: the shrunk example (Hypothesis's own report), what the database
did, the seed and the command that replays it. Profiles map to Hypothesis settings here.
"""

import asyncio
import random
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from hypothesis import HealthCheck, Phase, Verbosity, settings
from hypothesis.reporting import with_reporter

from conformance.context import CheckContext

T = TypeVar("T")
EFFORT: dict[str, dict[str, int]] = {
    "quick": {"max_examples": 4, "stateful_step_count": 8},
    "ci": {"max_examples": 15, "stateful_step_count": 15},
    "thorough": {"max_examples": 100, "stateful_step_count": 25},
}


class Interrupted(KeyboardInterrupt):
    """The run was cancelled (Ctrl-C, timeout): the property stops at its next database call."""


def hypothesis_settings(profile: str, **overrides: Any) -> settings:
    """Settings for one property at a profile: no example database, no deadline, seedable."""
    effort = {**EFFORT.get(profile, EFFORT["ci"]), **overrides}
    return settings(
        database=None,
        deadline=None,
        derandomize=False,
        print_blob=False,
        verbosity=Verbosity.normal,
        phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
        **effort,
    )


def run_seed(ctx: CheckContext) -> int:
    """The run's Hypothesis seed: --seed, else one random seed shared by the run's checks."""
    if ctx.settings.seed is not None:
        return ctx.settings.seed
    seed: int = ctx.extras.setdefault("hypothesis_seed", random.SystemRandom().getrandbits(32))
    return seed


def replay_command(ctx: CheckContext, check_id: str, seed: int) -> str:
    """The command line that replays one check with the same seed."""
    parts = [
        "chatgate check",
        f"--only {check_id}",
        f"--seed {seed}",
        f"--profile {ctx.settings.profile}",
    ]
    if ctx.settings.dsn:
        parts.append(f"--dsn '{ctx.target.masked}'")
    if ctx.settings.schema:
        parts.append(f"--schema {ctx.settings.schema}")
    parts += [f"--map {k}={v}" for k, v in ctx.settings.map.items()]
    parts += [f"--fill '{k}={v}'" for k, v in ctx.settings.fill.items()]
    if ctx.settings.order_key:
        parts.append(f"--order-key {','.join(ctx.settings.order_key)}")
    return " ".join(parts)


@dataclass
class Counterexample:
    """A falsified property: the minimal example Hypothesis found and what went wrong."""

    error: str
    example: list[str] = field(default_factory=list)
    seed: int = 0
    refused: bool = False  # the database refused a write (not a violated property)

    def details(self, ctx: CheckContext, check_id: str) -> dict[str, Any]:
        return {
            "counterexample": self.example,
            "database_did": self.error,
            "seed": self.seed,
            "replay": replay_command(ctx, check_id, self.seed),
        }


class Facade:
    """Synchronous access to coroutines on a private event loop owned by the current thread."""

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop
        self.loop = asyncio.new_event_loop()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run one coroutine to completion; Interrupted when the run was cancelled."""
        if self.stop.is_set():
            coro.close()
            raise Interrupted("run cancelled")
        return self.loop.run_until_complete(coro)

    def close(self) -> None:
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()


def falsify(test: Callable[[], None], *, seed: int) -> Counterexample | None:
    """Run a Hypothesis test (already seeded); the counterexample if it fails, else None."""
    lines: list[str] = []

    def keep(value: object) -> None:
        lines.append(str(value))

    with with_reporter(keep):
        try:
            test()
        except Interrupted:
            raise
        except Exception as exc:
            notes = [n for n in getattr(exc, "__notes__", []) if n not in lines]
            example = [ln for chunk in lines + notes for ln in str(chunk).splitlines() if ln]
            return Counterexample(_describe(exc), example, seed, _refused(exc))
    return None


def _refused(exc: BaseException) -> bool:
    """Whether the failure is a database error rather than a falsified assertion."""
    inner = getattr(exc, "exceptions", None)
    first = inner[0] if inner else exc
    return not isinstance(first, AssertionError) and hasattr(first, "sqlstate")


def _describe(exc: BaseException) -> str:
    inner = getattr(exc, "exceptions", None)
    if inner:
        exc = inner[0]
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def in_thread(work: Callable[[Facade], T]) -> T:
    """Run `work(facade)` in a dedicated thread; on cancellation stop it and wait for it."""
    stop = threading.Event()
    loop = asyncio.get_running_loop()
    done: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if done.done():
            return
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(result)  # type: ignore[arg-type]

    def body() -> None:
        facade = Facade(stop)
        outcome: tuple[T | None, BaseException | None] = (None, None)
        try:
            outcome = (work(facade), None)
        except BaseException as exc:
            outcome = (None, exc)
        finally:
            facade.close()
            if not loop.is_closed():
                loop.call_soon_threadsafe(settle, *outcome)

    thread = threading.Thread(target=body, name="chatgate-property", daemon=True)
    thread.start()
    try:
        return await done
    except asyncio.CancelledError:
        stop.set()
        thread.join(timeout=60)
        raise
