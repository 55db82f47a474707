"""What every check function receives."""

from dataclasses import dataclass, field
from typing import Any

from chatgate.options import Settings
from chatgate.target import Target
from conformance.design import Design


@dataclass
class CheckContext:
    """The target, the options, what introspection and discovery found, and the run's id.

    `snapshot` is the catalogue snapshot (conformance.snapshot.Snapshot); `design` is None when
    discovery could not map the chat tables, with `discovery_error` saying why.
    """

    target: Target
    settings: Settings
    run_id: str
    snapshot: Any = None
    design: Design | None = None
    discovery_error: str | None = None
    extras: dict[str, Any] = field(default_factory=dict)
