"""Variant chat schemas (SQL files here) with the structure verdicts each must get.

A file's header comments say what it is and what to expect:
    -- variant: one line of description
    -- args: --map conversations=Chat --order-key seq      (chatgate options; repeatable)
    -- expect: structure.order_key=fail perf.history_plan=fail   (repeatable)
    -- fills: messages.tokens=integer messages.model_id=none     (expected Design.fills)
    -- behaviour: isolation.rls=fail            (behavioural verdicts; unnamed ones: pass)
Checks not named in `expect` must pass, except structure.protected_tables (skip).
"""

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
DEFAULT_SKIP = ("structure.protected_tables",)
PLAN_CHECK = "perf.history_plan"


@dataclass(frozen=True)
class Variant:
    """One variant schema: its SQL, chatgate options, and expected verdicts."""

    name: str
    sql: str
    description: str
    args: tuple[str, ...] = ()
    expect: dict[str, str] = field(default_factory=dict)
    fills: dict[str, str] = field(default_factory=dict)
    behaviour: dict[str, str] = field(default_factory=dict)

    def options(self) -> dict[str, Any]:
        """The args as chatgate.options values (map/fill repeatable, others single)."""
        values: dict[str, Any] = {"map": [], "fill": []}
        it = iter(self.args)
        for flag in it:
            dest = flag.removeprefix("--").replace("-", "_")
            value = next(it)
            if dest in ("map", "fill"):
                values[dest].append(value)
            else:
                values[dest] = value
        return values

    def expected(self, check_ids: list[str]) -> dict[str, str]:
        """The status every given check must end with."""
        out = {c: ("skip" if c in DEFAULT_SKIP else "pass") for c in check_ids}
        out.update({k: v for k, v in self.expect.items() if k in out})
        return out


def load(path: Path) -> Variant:
    """Parse one variant file's header."""
    text = path.read_text()
    desc, args = "", []
    expect: dict[str, str] = {}
    fills: dict[str, str] = {}
    behaviour: dict[str, str] = {}
    pairs_of = {"expect": expect, "fills": fills, "behaviour": behaviour}
    for line in text.splitlines():
        if not line.startswith("-- "):
            continue
        key, _, rest = line[3:].partition(":")
        if key == "variant":
            desc = rest.strip()
        elif key == "args":
            args += shlex.split(rest)
        elif key in pairs_of:
            pairs_of[key].update({k: v for k, _, v in (p.partition("=") for p in rest.split())})
    return Variant(path.stem, text, desc, tuple(args), expect, fills, behaviour)


def variants() -> list[Variant]:
    """Every variant here, reference first."""
    files = sorted(HERE.glob("*.sql"), key=lambda p: (p.stem != "reference", p.stem))
    return [load(p) for p in files]
