"""`chatgate check` and `chatgate snapshot`: output, reports and exit codes (0/1/2)."""

import json
from pathlib import Path

import pytest

import chatgate.cli.checking  # noqa: F401  (registers the commands)
from chatgate.cli import main
from tests.conformance.structure.helpers import apply_sql
from tests.variants import variants

BY_NAME = {v.name: v for v in variants()}


def cli(*args: str) -> int:
    """Run the CLI in-process; the exit code the console script would exit with."""
    try:
        returned = main(list(args))
    except SystemExit as exc:
        return int(exc.code or 0)
    return int(returned or 0)


@pytest.mark.db
def test_reference_passes_with_reports(
    empty_db: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    apply_sql(empty_db, BY_NAME["reference"].sql)
    out = tmp_path / "out"
    code = cli(
        "check",
        "--dsn",
        empty_db,
        "--only",
        "structure,perf",
        "--json",
        str(out / "r.json"),
        "--md",
        str(out / "r.md"),
        "--junit",
        str(out / "r.xml"),
        "--html",
        str(out / "r.html"),
    )
    text = capsys.readouterr().out
    assert code == 0, text
    assert "verdict: PASS" in text and "structure.history_index" in text
    data = json.loads((out / "r.json").read_text())
    assert data["verdict"] == "pass" and len(data["checks"]) == 16
    assert all((out / f"r.{ext}").stat().st_size > 0 for ext in ("md", "xml", "html"))


@pytest.mark.db
def test_must_failure_exits_1_and_should_only_with_strict(
    make_db: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    bad, serial = make_db(), make_db()  # type: ignore[operator]
    apply_sql(bad, BY_NAME["missing_history_index"].sql)
    apply_sql(serial, BY_NAME["serial_keys"].sql)
    assert cli("check", "--dsn", bad, "--only", "structure") == 1
    assert cli("check", "--dsn", serial, "--only", "structure") == 0
    assert cli("check", "--dsn", serial, "--only", "structure", "--strict") == 1


@pytest.mark.db
def test_setup_problems_exit_2_with_one_line(
    empty_db: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli("check", "--dsn", empty_db) == 2
    err = capsys.readouterr().err
    assert "no conversations/messages tables in schema public" in err
    assert len(err.strip().splitlines()) <= 3  # one logical line (rich may wrap)
    assert cli("check", "--dsn", "postgresql://u:pw@127.0.0.1:1/x") == 2
    apply_sql(empty_db, BY_NAME["reference"].sql)
    assert cli("check", "--dsn", empty_db, "--map", "conversations=Nope") == 2


@pytest.mark.db
def test_snapshot_then_baseline(
    empty_db: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    apply_sql(empty_db, BY_NAME["reference"].sql + "CREATE TABLE billing (id int PRIMARY KEY);")
    snap = tmp_path / "snap.json"
    assert cli("snapshot", "--dsn", empty_db, "-o", str(snap)) == 0
    assert json.loads(snap.read_text())["format"] == "chatgate-snapshot"
    args = ("check", "--dsn", empty_db, "--only", "structure.protected", "--baseline", str(snap))
    assert cli(*args) == 0
    apply_sql(empty_db, "ALTER TABLE billing ADD COLUMN amount int;")
    capsys.readouterr()
    assert cli(*args) == 1
    assert "billing" in capsys.readouterr().out


@pytest.mark.db
def test_camel_case_through_map(
    empty_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    variant = BY_NAME["camel_case"]
    apply_sql(empty_db, variant.sql)
    assert cli("check", "--dsn", empty_db, "--only", "structure,perf") == 2
    assert cli("check", "--dsn", empty_db, "--only", "structure,perf", *variant.args) == 0


@pytest.mark.db
def test_without_dsn_checks_the_reference_schema_on_embedded(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    from tests.pg import TEST_HOME

    env = {k: v for k, v in os.environ.items() if k not in ("CHATGATE_DSN", "CHATGATE_TEST_DSN")}
    env["CHATGATE_HOME"] = str(TEST_HOME)
    code = "import sys, chatgate.cli.checking; from chatgate.cli import main; sys.exit(main())"
    out = tmp_path / "r.json"
    proc = subprocess.run(
        [sys.executable, "-c", code, "check", "--only", "structure,perf", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env=env,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(out.read_text())
    assert data["target"]["kind"] == "embedded"
    assert {c["status"] for c in data["checks"]} == {"pass", "skip"}
