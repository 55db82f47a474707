"""How the harness marks the rows it writes: every harness user id carries the run's id.

Cleanup finds harness rows through their owner (users.id / conversations.user_id) and never
touches a row whose owner id lacks the mark. Formats, by the kind of the user key:
- text:    ``cg-<run8>-<n>``                     (run8: 8 hex digits)
- uuid:    ``c6a7e000-<run[:4]>-<run[4:]>-8000-<n:012x>``
- integer: ``-(run_number * 100000 + n)``, run_number in 1..20000 (fits int4; negative ids)
"""

import secrets
from dataclasses import dataclass
from typing import Any

from conformance.design import KeyKind

TEXT_PREFIX = "cg-"
UUID_PREFIX = "c6a7e000-"
INT_SPAN = 100_000
INT_RUNS = 20_000


def new_run_id() -> str:
    """A fresh 8-hex-digit run id."""
    return secrets.token_hex(4)


@dataclass(frozen=True)
class RunTag:
    """The mark of one run; makes user ids and SQL predicates that find them."""

    run_id: str

    @property
    def run_number(self) -> int:
        return int(self.run_id, 16) % INT_RUNS + 1

    def user_id(self, n: int, kind: KeyKind) -> str | int:
        """The n-th harness user id of this run (uuid as text)."""
        if kind == "integer":
            return -(self.run_number * INT_SPAN + n % INT_SPAN)
        if kind == "uuid":
            return f"{UUID_PREFIX}{self.run_id[:4]}-{self.run_id[4:]}-8000-{n:012x}"
        return f"{TEXT_PREFIX}{self.run_id}-{n}"

    def predicate(self, column_sql: str, kind: KeyKind) -> tuple[str, list[Any]]:
        """SQL (with $1/$2 parameters) true for this run's user ids in `column_sql`."""
        if kind == "integer":
            low = -(self.run_number * INT_SPAN + INT_SPAN - 1)
            high = -(self.run_number * INT_SPAN)
            return f"{column_sql} BETWEEN $1 AND $2", [low, high]
        if kind == "uuid":
            prefix = f"{UUID_PREFIX}{self.run_id[:4]}-{self.run_id[4:]}-"
            return f"{column_sql}::text LIKE $1", [prefix + "%"]
        return f"{column_sql} LIKE $1", [f"{TEXT_PREFIX}{self.run_id}-%"]


def any_run_predicate(column_sql: str, kind: KeyKind) -> tuple[str, list[Any]]:
    """SQL true for the user ids of any harness run (what `chatgate clean` removes)."""
    if kind == "integer":
        return f"{column_sql} BETWEEN $1 AND $2", [-(INT_RUNS * INT_SPAN + INT_SPAN), -INT_SPAN]
    if kind == "uuid":
        return f"{column_sql}::text LIKE $1", [UUID_PREFIX + "%"]
    return f"{column_sql} ~ $1", ["^cg-[0-9a-f]{8}-[0-9]+$"]


def is_harness_id(value: object) -> bool:
    """Whether a user id value carries a harness mark (for tests and reports)."""
    if isinstance(value, int):
        return -(INT_RUNS * INT_SPAN + INT_SPAN) <= value <= -INT_SPAN
    text = str(value)
    return text.startswith(UUID_PREFIX) or (
        text.startswith(TEXT_PREFIX) and len(text.split("-")) == 3
    )
