"""`pytest --chatgate-dsn DSN`: one item per check id, pytest's verdicts and JUnit."""

import xml.etree.ElementTree as ET

import pytest

from tests.conformance.structure.helpers import apply_sql
from tests.variants import variants

pytest_plugins = ["pytester"]
BY_NAME = {v.name: v for v in variants()}


@pytest.mark.db
def test_reference_catalogue_as_items(empty_db: str, pytester: pytest.Pytester) -> None:
    apply_sql(empty_db, BY_NAME["reference"].sql)
    junit = pytester.path / "j.xml"
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "--chatgate-dsn",
        empty_db,
        "--chatgate-only",
        "structure,perf",
        f"--junitxml={junit}",
        "-v",
    )
    result.assert_outcomes(passed=15, skipped=1)
    result.stdout.fnmatch_lines(
        ["*chatgate::structure.tables PASSED*", "*chatgate::structure.protected_tables SKIPPED*"]
    )
    names = {case.get("name") for case in ET.parse(junit).getroot().iter("testcase")}
    assert {"structure.tables", "perf.history_plan"} <= names


@pytest.mark.db
def test_failures_show_summary_and_details(empty_db: str, pytester: pytest.Pytester) -> None:
    apply_sql(empty_db, BY_NAME["missing_history_index"].sql)
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "--chatgate-dsn",
        empty_db,
        "--chatgate-only",
        "structure.history_index,structure.order_key",
    )
    result.assert_outcomes(failed=1, xfailed=1)
    result.stdout.fnmatch_lines(
        ["*structure.history_index (must) fail: no valid btree index*", '*"rejected"*']
    )


@pytest.mark.db
def test_setup_error_fails_items(empty_db: str, pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "--chatgate-dsn",
        empty_db,
        "--chatgate-only",
        "structure.t",
    )
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*chatgate could not start: no conversations/messages*"])
