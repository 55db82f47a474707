"""The changes between two snapshots: added, removed and changed catalogue objects."""

from dataclasses import asdict, dataclass
from typing import Any, Literal

from conformance.snapshot import Index, Snapshot, Table


@dataclass(frozen=True)
class Change:
    """One difference between two snapshots."""

    change: Literal["added", "removed", "changed"]
    kind: Literal["table", "column", "constraint", "index", "policy", "rls", "enum"]
    table: str  # "schema.name" ("" for enums)
    name: str
    before: Any = None
    after: Any = None

    def __str__(self) -> str:
        where = f"{self.table}." if self.table and self.kind != "table" else ""
        text = f"{self.kind} {where}{self.name} {self.change}"
        if self.change == "changed":
            text += f": {self.before} -> {self.after}"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "text": str(self)}


def diff(old: Snapshot, new: Snapshot) -> tuple[Change, ...]:
    """Every added, removed or changed table, column, constraint, index, policy and enum."""
    out: list[Change] = []
    olds = {t.key: t for t in old.tables}
    news = {t.key: t for t in new.tables}
    for key in sorted(olds.keys() - news.keys()):
        out.append(Change("removed", "table", key, key))
    for key in sorted(news.keys() - olds.keys()):
        out.append(Change("added", "table", key, key))
    for key in sorted(olds.keys() & news.keys()):
        out.extend(_table_diff(olds[key], news[key]))
    oe = {f"{e.schema}.{e.name}": e.labels for e in old.enums}
    ne = {f"{e.schema}.{e.name}": e.labels for e in new.enums}
    out.extend(_named_diff("enum", "", oe, ne))
    return tuple(out)


def _table_diff(a: Table, b: Table) -> list[Change]:
    out: list[Change] = []
    parts: list[tuple[Any, dict[str, Any], dict[str, Any]]] = [
        ("column", {c.name: _facts(c) for c in a.columns}, {c.name: _facts(c) for c in b.columns}),
        (
            "constraint",
            {c.name: c.definition for c in a.constraints},
            {c.name: c.definition for c in b.constraints},
        ),
        (
            "index",
            {i.name: _index_facts(i) for i in a.indexes},
            {i.name: _index_facts(i) for i in b.indexes},
        ),
        (
            "policy",
            {p.name: _facts(p) for p in a.policies},
            {p.name: _facts(p) for p in b.policies},
        ),
    ]
    for kind, before, after in parts:
        out.extend(_named_diff(kind, a.key, before, after))
    flags_a, flags_b = (a.rls_enabled, a.rls_forced), (b.rls_enabled, b.rls_forced)
    if flags_a != flags_b:
        out.append(
            Change(
                "changed",
                "rls",
                a.key,
                "row level security",
                _rls_text(*flags_a),
                _rls_text(*flags_b),
            )
        )
    if a.kind != b.kind:
        out.append(Change("changed", "table", a.key, a.key, a.kind, b.kind))
    return out


def _named_diff(
    kind: Any, table: str, before: dict[str, Any], after: dict[str, Any]
) -> list[Change]:
    out = [Change("removed", kind, table, n, before=before[n]) for n in before if n not in after]
    out += [Change("added", kind, table, n, after=after[n]) for n in after if n not in before]
    for n in before:
        if n in after and before[n] != after[n]:
            old, new = _changed_part(before[n], after[n])
            out.append(Change("changed", kind, table, n, old, new))
    return out


def _changed_part(old: Any, new: Any) -> tuple[Any, Any]:
    """For dict facts, only the keys that differ, as "k=v" text."""
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return old, new
    keys = [k for k in {**old, **new} if old.get(k) != new.get(k)]
    text = [", ".join(f"{k}={d.get(k)}" for k in keys) for d in (old, new)]
    return text[0], text[1]


def _facts(obj: Any) -> dict[str, Any]:
    data = asdict(obj)
    data.pop("name", None)
    return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}


def _index_facts(i: Index) -> str:
    text = i.definition.split(" USING ", 1)[-1]
    return text + ("" if i.valid else " (INVALID)")


def _rls_text(enabled: bool, forced: bool) -> str:
    return "forced" if forced else "enabled" if enabled else "disabled"
