"""The import rules of ARCHITECTURE.md, enforced."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HARNESS = {"chatgate", "conformance", "loadtests", "reports", "reference_schema"}
ALLOWED = {
    "reference_schema": {"reference_schema"},
    "reports": {"reports"},
    "conformance": {"conformance", "chatgate", "reports"},
    "loadtests": {"loadtests", "conformance", "chatgate", "reports", "reference_schema"},
}
CORE = ["dsn.py", "target.py", "embedded.py", "options.py", "errors.py"]


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names & HARNESS


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_what_it_may(package: str) -> None:
    for path in (ROOT / package).rglob("*.py"):
        bad = imported_packages(path) - ALLOWED[package]
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_core_imports_no_higher_layer() -> None:
    for name in CORE:
        bad = imported_packages(ROOT / "chatgate" / name) - {"chatgate"}
        assert not bad, f"chatgate/{name} imports {sorted(bad)}"
