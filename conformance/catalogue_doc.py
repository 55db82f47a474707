"""Generate docs/checks.md (the check catalogue) from the registry.

python -m conformance.catalogue_doc          # rewrite docs/checks.md
python -m conformance.catalogue_doc --check  # exit 1 when docs/checks.md is stale
"""

import sys
from pathlib import Path

from conformance.registry import Check

DOC_PATH = Path(__file__).resolve().parent.parent / "docs" / "checks.md"
AREA_TITLES = {
    "structure": "Structural checks (read-only: they never write)",
    "isolation": "Isolation checks",
    "cascade": "Cascade checks",
    "ordering": "Ordering checks",
    "time": "Time checks",
    "perf": "Performance checks",
}
HEADER = """# The check catalogue

Generated from the check registry by `python -m conformance.catalogue_doc`: do not edit by
hand. Ids are stable; `must` checks decide the exit code, `should` checks only with `--strict`.
A check that writes is skipped under `--read-only`. `chatgate check` runs every area below
except the performance checks, of which it runs `perf.history_plan`.
"""


def render(checks: list[Check] | None = None) -> str:
    """The Markdown catalogue of `checks` (default: every registered check)."""
    from conformance.engine import catalogue

    checks = catalogue() if checks is None else checks
    out = [HEADER]
    areas = list(dict.fromkeys(c.area for c in checks))
    for area in areas:
        out.append(f"## {AREA_TITLES.get(area, area)}\n")
        out.append("| id | severity | writes | passes when |")
        out.append("|---|---|---|---|")
        for c in (c for c in checks if c.area == area):
            doc = " ".join(c.doc.split()).replace("|", "\\|")
            out.append(f"| `{c.id}` | {c.severity} | {'yes' if c.writes else 'no'} | {doc} |")
        out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """Write docs/checks.md, or with --check report whether it is current."""
    args = sys.argv[1:] if argv is None else argv
    text = render()
    if "--check" in args:
        current = DOC_PATH.read_text() if DOC_PATH.exists() else ""
        if current != text:
            print(f"{DOC_PATH} is stale: run python -m conformance.catalogue_doc")
            return 1
        return 0
    DOC_PATH.parent.mkdir(parents=True, exist_ok=True)
    DOC_PATH.write_text(text)
    print(f"wrote {DOC_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
