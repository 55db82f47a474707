"""The check registry: a new check is one decorated function in its area's module.

    @check("structure.tables", "must", "conversations and messages exist")
    async def tables(ctx: CheckContext) -> Outcome: ...

Checks are in catalogue order: registration order, except that `after=` places a check right
after an already registered one (an area split over several modules keeps the spec's order).
`checks.md` (the catalogue) is generated from this registry: see `conformance.catalogue_doc`.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from reports.result import Severity, Status

if TYPE_CHECKING:
    from conformance.context import CheckContext


@dataclass(frozen=True)
class Outcome:
    """What a check function returns; the engine adds id, severity and timing."""

    status: Status
    summary: str
    details: dict[str, Any] = field(default_factory=dict)


def passed(summary: str, **details: Any) -> Outcome:
    return Outcome("pass", summary, details)


def failed(summary: str, **details: Any) -> Outcome:
    return Outcome("fail", summary, details)


def skipped(reason: str, **details: Any) -> Outcome:
    return Outcome("skip", reason, details)


def errored(reason: str, **details: Any) -> Outcome:
    return Outcome("error", reason, details)


CheckFn = Callable[["CheckContext"], Awaitable[Outcome]]


@dataclass(frozen=True)
class Check:
    """A registered check: spec id, severity, the spec's 'passes when' text, and its function."""

    id: str
    severity: Severity
    doc: str
    fn: CheckFn
    writes: bool = False
    order: int = 0

    @property
    def area(self) -> str:
        return self.id.split(".", 1)[0]


REGISTRY: dict[str, Check] = {}


def check(
    check_id: str, severity: Severity, doc: str, *, writes: bool = False, after: str = ""
) -> Callable[[CheckFn], CheckFn]:
    """Register `fn` as `check_id`: last in catalogue order, or right after check `after`."""

    def register(fn: CheckFn) -> CheckFn:
        if check_id in REGISTRY:
            raise ValueError(f"check {check_id} registered twice")
        _place(Check(check_id, severity, doc, fn, writes), after)
        return fn

    return register


def _place(new: Check, after: str) -> None:
    """Insert `new` into REGISTRY (kept in catalogue order) and renumber `order`."""
    if after and after not in REGISTRY:
        raise ValueError(f"check {new.id} is placed after {after}, which is not registered")
    checks = list(REGISTRY.values())
    at = list(REGISTRY).index(after) + 1 if after else len(checks)
    checks.insert(at, new)
    REGISTRY.clear()
    REGISTRY.update({c.id: replace(c, order=i) for i, c in enumerate(checks)})
